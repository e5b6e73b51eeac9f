/* test_engine.c - CUnit suite for processor/engine: the per-partition logic
 * on hand-made streams with known answers (join, missing, orphans, feedback,
 * window counts, every dead-letter class, drift), and exact checkpoint
 * round trips: a run interrupted by save/load emits what an uninterrupted
 * run emits, byte for byte. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/engine.h"
#include "processor/outcome_pack.h"

/* ---- output capture: one text line per emitted record ---- */
typedef struct cap {
    char *buf;
    size_t len, cap;
    int outcomes, updates, missing, metrics, signals, drift, anomalies;
    int dlq[LLMOPT_DLQ_COUNT];
    int64_t metrics_count_sum;
    double last_reward;
    int64_t tumbling_counts[16];
    int ntumbling;
} cap;

static void capf(cap *c, const char *fmt, ...) {
    char *line = NULL;
    va_list ap;
    va_start(ap, fmt);
    int n = vasprintf(&line, fmt, ap);
    va_end(ap);
    if (n < 0)
        abort();
    if (c->len + (size_t)n + 1 > c->cap) {
        c->cap = (c->cap + (size_t)n + 1) * 2;
        c->buf = realloc(c->buf, c->cap);
    }
    memcpy(c->buf + c->len, line, (size_t)n + 1);
    c->len += (size_t)n;
    free(line);
}

static void s_outcome(void *ctx, const llmopt_outcome *o) {
    cap *c = ctx;
    if (o->is_update)
        c->updates++;
    else
        c->outcomes++;
    if (o->status == LLMOPT_STATUS_MISSING)
        c->missing++;
    c->last_reward = o->reward;
    capf(c, "O %s %s %s %d %.17g %.17g %d %lld\n", o->outcome_id.ptr, o->route.ptr, o->arm.ptr,
         (int)o->status, o->reward, o->latency_ms, (int)o->is_update, (long long)o->ts_ms);
}

static void s_metrics(void *ctx, const llmopt_window_metrics *m) {
    cap *c = ctx;
    c->metrics++;
    c->metrics_count_sum += m->count;
    if (m->window_kind == LLMOPT_WINDOW_TUMBLING && c->ntumbling < 16)
        c->tumbling_counts[c->ntumbling++] = m->count;
    capf(c, "M %s %s %s %lld %lld %lld %lld %.17g %.17g %.17g %lld %s\n", m->metrics_id.ptr,
         m->route.ptr, m->arm.ptr, (long long)m->window_start_ms, (long long)m->window_end_ms,
         (long long)m->count, (long long)m->error_count, m->error_rate, m->latency_p95_ms,
         m->cost_usd, (long long)m->late_count, m->latency_digest.ptr);
}

static void s_signal(void *ctx, const llmopt_signal *s) {
    cap *c = ctx;
    c->signals++;
    if (s->kind == LLMOPT_SIGNAL_DRIFT)
        c->drift++;
    else
        c->anomalies++;
    capf(c, "S %s %s %s %d %s %d %.17g %.17g %lld %lld\n", s->signal_id.ptr, s->route.ptr,
         s->arm.ptr, (int)s->detector, s->metric.ptr, (int)s->direction, s->before, s->after,
         (long long)s->sample_index, (long long)s->ts_ms);
}

static void s_dlq(void *ctx, const llmopt_engine_src *src, llmopt_dlq_reason reason,
                  const char *detail) {
    cap *c = ctx;
    c->dlq[reason]++;
    capf(c, "D %lld %s %s\n", (long long)src->offset, llmopt_dlq_reason_name(reason), detail);
}

static llmopt_engine *mk(cap *c, const llmopt_engine_config *cfg) {
    llmopt_engine_sink sink = {s_outcome, s_metrics, s_signal, s_dlq, c};
    char err[256];
    llmopt_engine *e = llmopt_engine_new(cfg, &sink, 0, err, sizeof(err));
    if (!e)
        fprintf(stderr, "engine_new: %s\n", err);
    return e;
}

/* ---- record builders (borrowed strings) ---- */

static llmopt_request req(const char *id, int64_t ts, const char *route, const char *armid) {
    llmopt_request r;
    llmopt_request_init(&r);
    r.request_id = llmopt_str_of(id);
    r.ts_ms = ts;
    r.gateway = llmopt_str_of("gw1");
    r.route = llmopt_str_of(route);
    r.task_type = llmopt_str_of("chat");
    r.arm = llmopt_str_of(armid);
    r.provider = llmopt_str_of("prov");
    r.model = llmopt_str_of("m");
    r.decision_version = 1;
    r.propensity = 0.5;
    return r;
}

static llmopt_response resp(const char *id, int64_t ts, const char *route, const char *armid,
                            llmopt_status st, double lat) {
    llmopt_response r;
    llmopt_response_init(&r);
    r.request_id = llmopt_str_of(id);
    r.ts_ms = ts;
    r.route = llmopt_str_of(route);
    r.arm = llmopt_str_of(armid);
    r.status = st;
    r.latency_ms = lat;
    r.input_tokens = 100;
    r.output_tokens = 10;
    r.cost_usd = 0.002;
    r.has_quality = true;
    r.quality = 0.8;
    return r;
}

static llmopt_engine_src src_at(int64_t off) {
    llmopt_engine_src s = {"t", 0, off};
    return s;
}

#define T0 1699999980000LL /* a minute boundary */

/* The outcome's reward uses its request's route's weights, also when the
 * response names another route (the engine reuses the reward it computed
 * for the windows only when both routes have the same weights). */
static void test_route_reward(void) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    llmopt_engine_route_reward rr = {.route = "A"};
    llmopt_reward_config_default(&rr.reward);
    rr.reward.w_quality = 1;
    rr.reward.w_cost = 0;
    rr.reward.w_latency = 0;
    cfg.route_rewards = &rr;
    cfg.nroute_rewards = 1;
    llmopt_engine *e = mk(&c, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    llmopt_engine_src s = src_at(0);
    const double dflt = 0.6 * 0.8 + 0.3 * 0.8 + 0.1 * 0.99, only_q = 0.8;
    const char *routes[3][2] = {{"A", "A"}, {"B", "A"}, {"A", "B"}}; /* request, response */
    const double want[3] = {only_q, dflt, only_q};
    char id[8];
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "q%d", i);
        llmopt_request r = req(id, T0 + 10 * i, routes[i][0], "x");
        llmopt_response p = resp(id, T0 + 10 * i + 5, routes[i][1], "x", LLMOPT_STATUS_OK, 100);
        CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &r, &s), LLMOPT_OK);
        CU_ASSERT_EQUAL(llmopt_engine_on_response(e, &p, &s), LLMOPT_OK);
        CU_ASSERT_EQUAL(c.outcomes, i + 1);
        if (fabs(c.last_reward - want[i]) > 1e-12)
            printf("\nroute_reward case %d: reward %.17g, want %.17g\n", i, c.last_reward, want[i]);
        CU_ASSERT(fabs(c.last_reward - want[i]) < 1e-12);
    }
    llmopt_engine_destroy(e);
    free(c.buf);
}

static void test_join_missing_orphan(void) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    cfg.join_window_ms = 60000;
    cfg.ooo_ms = 0;
    llmopt_engine *e = mk(&c, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    llmopt_engine_src s = src_at(0);
    llmopt_request r1 = req("a", T0, "r", "x"), r2 = req("b", T0 + 10, "r", "x");
    llmopt_response p1 = resp("a", T0 + 100, "r", "x", LLMOPT_STATUS_OK, 100);
    llmopt_response p3 = resp("c", T0 + 200, "r", "x", LLMOPT_STATUS_OK, 100);
    llmopt_request r3 = req("c", T0 + 150, "r", "x");
    CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &r1, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &r2, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_engine_on_response(e, &p1, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(c.outcomes, 1);
    /* reward: 0.6*0.8 + 0.3*(1 - 0.002/0.01) + 0.1*(1 - 100/10000) */
    CU_ASSERT(fabs(c.last_reward - (0.6 * 0.8 + 0.3 * 0.8 + 0.1 * 0.99)) < 1e-12);
    /* the response to "c" comes before its request: joined when it arrives */
    CU_ASSERT_EQUAL(llmopt_engine_on_response(e, &p3, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(c.outcomes, 1);
    CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &r3, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(c.outcomes, 2);
    /* "b" never gets a response: missing once the watermark passes ts + 60 s */
    CU_ASSERT_EQUAL(llmopt_engine_advance(e, T0 + 10 + 59999), LLMOPT_OK);
    CU_ASSERT_EQUAL(c.missing, 0);
    CU_ASSERT_EQUAL(llmopt_engine_advance(e, T0 + 10 + 60000), LLMOPT_OK);
    CU_ASSERT_EQUAL(c.missing, 1);
    CU_ASSERT_EQUAL(c.outcomes, 3);
    /* a response whose request never comes is counted in windows only */
    llmopt_response p9 = resp("zz", T0 + 61000, "r", "x", LLMOPT_STATUS_ERROR, 50);
    CU_ASSERT_EQUAL(llmopt_engine_on_response(e, &p9, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_engine_flush(e), LLMOPT_OK);
    llmopt_engine_stats st;
    llmopt_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.orphan_responses, 1);
    CU_ASSERT_EQUAL(c.outcomes, 3);
    /* 1-minute tumbling windows saw 3 responses in [T0, T0+60s) (T0 is a
     * minute boundary) and the orphan error in the next one */
    CU_ASSERT_EQUAL(T0 % 60000, 0);
    CU_ASSERT_EQUAL(c.ntumbling, 2);
    CU_ASSERT_EQUAL(c.tumbling_counts[0], 2);
    CU_ASSERT_EQUAL(c.tumbling_counts[1], 1);
    llmopt_engine_destroy(e);
    free(c.buf);
}

static void test_feedback(void) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    llmopt_engine *e = mk(&c, &cfg);
    llmopt_engine_src s = src_at(0);
    llmopt_request r1 = req("a", T0, "r", "x");
    llmopt_response p1 = resp("a", T0 + 100, "r", "x", LLMOPT_STATUS_OK, 100);
    llmopt_feedback f;
    llmopt_feedback_init(&f);
    f.request_id = llmopt_str_of("a");
    f.route = llmopt_str_of("r");
    f.ts_ms = T0 + 5000;
    f.has_thumbs = true;
    f.thumbs = -1;
    llmopt_engine_on_request(e, &r1, &s);
    llmopt_engine_on_response(e, &p1, &s);
    CU_ASSERT_EQUAL(llmopt_engine_on_feedback(e, &f, &s), LLMOPT_OK);
    CU_ASSERT_EQUAL(c.updates, 1);
    /* thumbs down replaces quality with 0 */
    CU_ASSERT(fabs(c.last_reward - (0.6 * 0 + 0.3 * 0.8 + 0.1 * 0.99)) < 1e-12);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "O a#u1 r x"));
    /* feedback before the response is kept and used when the outcome completes */
    llmopt_request r2 = req("b", T0 + 6000, "r", "x");
    llmopt_response p2 = resp("b", T0 + 7000, "r", "x", LLMOPT_STATUS_OK, 100);
    f.request_id = llmopt_str_of("b");
    f.thumbs = 1;
    f.ts_ms = T0 + 6500;
    llmopt_engine_on_request(e, &r2, &s);
    llmopt_engine_on_feedback(e, &f, &s);
    CU_ASSERT_EQUAL(c.updates, 1);
    llmopt_engine_on_response(e, &p2, &s);
    CU_ASSERT_EQUAL(c.outcomes, 2);
    CU_ASSERT(fabs(c.last_reward - (0.6 * 1 + 0.3 * 0.8 + 0.1 * 0.99)) < 1e-12);
    /* feedback for nobody */
    f.request_id = llmopt_str_of("nobody");
    llmopt_engine_on_feedback(e, &f, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_UNMATCHED], 1);
    llmopt_engine_destroy(e);
    free(c.buf);
}

static void test_dlq_classes(void) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    cfg.ooo_ms = 1000;
    llmopt_engine *e = mk(&c, &cfg);
    llmopt_engine_src s = src_at(7);
    llmopt_request r = req("a", T0, "r", "x");
    CU_ASSERT_EQUAL(llmopt_engine_on_request(e, &r, &s), LLMOPT_OK);
    /* duplicate request_id */
    llmopt_engine_on_request(e, &r, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_DUPLICATE], 1);
    /* missing field */
    llmopt_request bad = req("", T0, "r", "x");
    llmopt_engine_on_request(e, &bad, &s);
    bad = req("q", T0, "r", "x");
    bad.route.ptr = NULL;
    bad.route.len = 0;
    llmopt_engine_on_request(e, &bad, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_MISSING_FIELD], 2);
    /* bad values */
    llmopt_response p = resp("a", T0 + 10, "r", "x", LLMOPT_STATUS_OK, NAN);
    llmopt_engine_on_response(e, &p, &s);
    p = resp("a", T0 + 10, "r", "x", LLMOPT_STATUS_OK, 10);
    p.cost_usd = -1;
    llmopt_engine_on_response(e, &p, &s);
    bad = req("q", T0, "r", "x");
    bad.propensity = 0;
    llmopt_engine_on_request(e, &bad, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_BAD_VALUE], 3);
    /* timestamps */
    bad = req("f", T0 + cfg.max_future_ms + 1, "r", "x");
    llmopt_engine_on_request(e, &bad, &s);
    bad = req("g", -5, "r", "x");
    llmopt_engine_on_request(e, &bad, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_BAD_TIMESTAMP], 2);
    /* late: move time 3 minutes on, then a response for the first minute.
     * Lateness is decided per pane (the 1-minute gcd of the window specs):
     * the response's pane has closed, so it is late for every window spec
     * even though the 5-minute hopping windows around it are still open. */
    llmopt_request later = req("h", T0 + 180000, "r", "x");
    llmopt_engine_on_request(e, &later, &s);
    p = resp("a", T0 + 20, "r", "x", LLMOPT_STATUS_OK, 10);
    llmopt_engine_on_response(e, &p, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_LATE], 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "D 7 late"));
    /* a response inside the still-open pane is on time */
    p = resp("a", T0 + 179000, "r", "x", LLMOPT_STATUS_OK, 10);
    llmopt_engine_on_response(e, &p, &s);
    CU_ASSERT_EQUAL(c.dlq[LLMOPT_DLQ_LATE], 1);
    llmopt_engine_stats st;
    llmopt_engine_get_stats(e, &st);
    CU_ASSERT_EQUAL(st.dlq[LLMOPT_DLQ_LATE], 1);
    /* the late event is counted in the next window of its key to close */
    llmopt_engine_flush(e);
    int with_late = 0;
    for (const char *l = c.buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        long long st0, en, cnt, errs, late;
        double er, p95, cost;
        char id[32], route[16], armid[16];
        if (sscanf(l, "M %31s %15s %15s %lld %lld %lld %lld %lf %lf %lf %lld", id, route, armid, &st0,
                   &en, &cnt, &errs, &er, &p95, &cost, &late) == 11 && late == 1)
            with_late++;
    }
    /* one tumbling window and one hopping window take the late count */
    CU_ASSERT_EQUAL(with_late, 2);
    llmopt_engine_flush(e);
    llmopt_engine_destroy(e);
    free(c.buf);
}

/* ---- a longer stream for drift and checkpoints ---- */
static uint64_t rs;
static double unif(void) {
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return ((double)(z >> 11) + 0.5) / 9007199254740992.0;
}

typedef struct ev {
    int kind; /* 0 request, 1 response, 2 feedback */
    char id[24];
    char arm[8];
    int64_t ts;
    double lat;
    int status;
} ev;

/* n requests over 3 arms, responses 50..1500 ms later (so the topics
 * interleave out of order), a few without response, a latency shift on arm
 * "b" at the middle, feedback on every 10th. Sorted by ts. */
static ev *make_stream(int n, size_t *count) {
    ev *v = calloc((size_t)n * 3, sizeof(ev));
    size_t k = 0;
    rs = 11;
    for (int i = 0; i < n; i++) {
        int64_t ts = T0 + (int64_t)i * 20;
        const char *armid = i % 3 == 0 ? "a" : i % 3 == 1 ? "b" : "c";
        ev *q = &v[k++];
        q->kind = 0;
        snprintf(q->id, sizeof(q->id), "req%d", i);
        strcpy(q->arm, armid);
        q->ts = ts;
        if (i % 97 == 5)
            continue; /* no response: becomes missing */
        ev *p = &v[k++];
        *p = *q;
        p->kind = 1;
        double base = armid[0] == 'b' && i > n / 2 ? 900 : 300;
        p->lat = base * (0.8 + 0.4 * unif());
        p->ts = ts + 50 + (int64_t)(unif() * 1450);
        p->status = unif() < 0.03 ? LLMOPT_STATUS_ERROR : LLMOPT_STATUS_OK;
        if (i % 10 == 0) {
            ev *f = &v[k++];
            *f = *p;
            f->kind = 2;
            f->ts = p->ts + 3000;
        }
    }
    /* stable sort by ts, so processing order is deterministic */
    for (size_t i = 1; i < k; i++) {
        ev t = v[i];
        size_t j = i;
        while (j > 0 && v[j - 1].ts > t.ts) {
            v[j] = v[j - 1];
            j--;
        }
        v[j] = t;
    }
    *count = k;
    return v;
}

static void feed(llmopt_engine *e, const ev *v, size_t from, size_t to) {
    for (size_t i = from; i < to; i++) {
        llmopt_engine_src s = src_at((int64_t)i);
        if (v[i].kind == 0) {
            llmopt_request r = req(v[i].id, v[i].ts, "route1", v[i].arm);
            CU_ASSERT_EQUAL_FATAL(llmopt_engine_on_request(e, &r, &s), LLMOPT_OK);
        } else if (v[i].kind == 1) {
            llmopt_response r = resp(v[i].id, v[i].ts, "route1", v[i].arm, v[i].status, v[i].lat);
            CU_ASSERT_EQUAL_FATAL(llmopt_engine_on_response(e, &r, &s), LLMOPT_OK);
        } else {
            llmopt_feedback f;
            llmopt_feedback_init(&f);
            f.request_id = llmopt_str_of(v[i].id);
            f.route = llmopt_str_of("route1");
            f.ts_ms = v[i].ts;
            f.has_rating = true;
            f.rating = 0.25;
            CU_ASSERT_EQUAL_FATAL(llmopt_engine_on_feedback(e, &f, &s), LLMOPT_OK);
        }
    }
}

static void test_stream_drift_and_counts(void) {
    size_t n;
    int nreq = getenv("LLMOPT_SKIP_SLOW") ? 6000 : 30000;
    ev *v = make_stream(nreq, &n);
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    llmopt_engine *e = mk(&c, &cfg);
    feed(e, v, 0, n);
    llmopt_engine_flush(e);
    int no_resp = 0;
    for (int i = 0; i < nreq; i++)
        no_resp += i % 97 == 5;
    CU_ASSERT_EQUAL(c.missing, no_resp);
    CU_ASSERT_EQUAL(c.outcomes, nreq);
    /* feedback on every 10th request that got a response */
    int fb = 0;
    for (int i = 0; i < nreq; i += 10)
        fb += i % 97 != 5;
    CU_ASSERT_EQUAL(c.updates, fb);
    /* every response is in exactly one tumbling window and 5 hopping ones */
    int64_t responses = nreq - no_resp;
    CU_ASSERT_EQUAL(c.metrics_count_sum, responses * 6);
    /* a drift signal on arm b's latency, up */
    CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "route1 b 0 latency_ms 0"));
    CU_ASSERT_PTR_NOT_NULL(strstr(c.buf, "route1 b 1 latency_ms 0"));
    CU_ASSERT(c.drift > 0);
    llmopt_engine_destroy(e);
    free(c.buf);
    free(v);
}

/* The cache is turned on half-way: 40 % of the responses become hits
 * (5 ms, no cost) while the model itself stays the same. Drift detectors
 * watch the model, so no drift may fire; the same fast, free responses
 * without the cache_hit flag are a real shift and must fire (so the test can
 * fail). */
static int run_cache_on(bool flagged, int *hits_out) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    llmopt_engine *e = mk(&c, &cfg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(e);
    rs = 5;
    int n = 12000, hits = 0;
    for (int i = 0; i < n; i++) {
        char id[24];
        snprintf(id, sizeof(id), "q%d", i);
        int64_t ts = T0 + (int64_t)i * 20;
        llmopt_engine_src s = src_at(2 * (int64_t)i);
        llmopt_request q = req(id, ts, "route1", "a");
        CU_ASSERT_EQUAL_FATAL(llmopt_engine_on_request(e, &q, &s), LLMOPT_OK);
        llmopt_response r = resp(id, ts + 10, "route1", "a", LLMOPT_STATUS_OK,
                                 300 * (0.8 + 0.4 * unif()));
        if (i > n / 2 && unif() < 0.4) {
            r.latency_ms = 5;
            r.cost_usd = 0;
            r.cache_hit = flagged;
            hits++;
        }
        s = src_at(2 * (int64_t)i + 1);
        CU_ASSERT_EQUAL_FATAL(llmopt_engine_on_response(e, &r, &s), LLMOPT_OK);
    }
    llmopt_engine_flush(e);
    *hits_out = hits;
    int drift = c.drift;
    llmopt_engine_destroy(e);
    free(c.buf);
    return drift;
}

static void test_cache_hits_not_drift(void) {
    int hits;
    int d1 = run_cache_on(true, &hits);
    CU_ASSERT_EQUAL(d1, 0);
    CU_ASSERT(hits > 1000);
    CU_ASSERT(run_cache_on(false, &hits) > 0);
}

static void test_checkpoint_equivalence(void) {
    size_t n;
    int nreq = getenv("LLMOPT_SKIP_SLOW") ? 4000 : 12000;
    ev *v = make_stream(nreq, &n);
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    cap whole = {0};
    llmopt_engine *e = mk(&whole, &cfg);
    feed(e, v, 0, n);
    llmopt_engine_flush(e);
    llmopt_engine_destroy(e);

    /* the same stream, saved and restored at three points */
    cap parts = {0};
    size_t cuts[] = {n / 5, n / 2, n * 4 / 5, n};
    size_t from = 0;
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    e = mk(&parts, &cfg);
    for (int k = 0; k < 4; k++) {
        feed(e, v, from, cuts[k]);
        from = cuts[k];
        if (k == 3)
            break;
        w.len = 0;
        llmopt_engine_save(e, &w);
        CU_ASSERT_EQUAL_FATAL(w.err, 0);
        /* canonical: saving again gives the same bytes */
        llmopt_wbuf w2;
        llmopt_wbuf_init(&w2);
        llmopt_engine_save(e, &w2);
        CU_ASSERT_EQUAL(w2.len, w.len);
        CU_ASSERT(w2.len == w.len && memcmp(w.data, w2.data, w.len) == 0);
        llmopt_wbuf_release(&w2);
        llmopt_engine_destroy(e);
        e = mk(&parts, &cfg);
        char err[256] = "";
        CU_ASSERT_EQUAL_FATAL(llmopt_engine_load(e, w.data, w.len, err, sizeof(err)), LLMOPT_OK);
    }
    llmopt_engine_flush(e);
    CU_ASSERT_EQUAL(parts.len, whole.len);
    CU_ASSERT(parts.len == whole.len && memcmp(parts.buf, whole.buf, whole.len) == 0);

    llmopt_engine_destroy(e);

    /* every truncation of a checkpoint is refused */
    int refused = 0, tried = 0;
    for (size_t cut = 0; cut < w.len; cut += 1 + w.len / 50) {
        cap x = {0};
        llmopt_engine *f = mk(&x, &cfg);
        tried++;
        refused += llmopt_engine_load(f, w.data, cut, NULL, 0) != LLMOPT_OK;
        llmopt_engine_destroy(f);
        free(x.buf);
    }
    CU_ASSERT_EQUAL(refused, tried);
    /* and a different configuration is refused */
    llmopt_engine_config other = cfg;
    other.windows[0].size_ms = 30000;
    other.windows[0].advance_ms = 30000;
    cap y = {0};
    llmopt_engine *g = mk(&y, &other);
    char err[256] = "";
    CU_ASSERT_NOT_EQUAL(llmopt_engine_load(g, w.data, w.len, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "different"));
    llmopt_engine_destroy(g);
    llmopt_wbuf_release(&w);
    free(whole.buf);
    free(parts.buf);
    free(v);
}

/* Hopping windows are assembled from panes: a known-answer check of every
 * window's bounds, count and emission order. */
static void test_hopping_from_panes(void) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg); /* 1-min tumbling + 5-min hopping by 1 min */
    cfg.ooo_ms = 0;
    llmopt_engine *e = mk(&c, &cfg);
    llmopt_engine_src s = src_at(0);
    int64_t at[] = {10000, 70000, 250000, 400000};
    for (int i = 0; i < 4; i++) {
        char id[8];
        snprintf(id, sizeof(id), "q%d", i);
        llmopt_response p = resp(id, T0 + at[i], "r", "x", LLMOPT_STATUS_OK, 100);
        CU_ASSERT_EQUAL(llmopt_engine_on_response(e, &p, &s), LLMOPT_OK);
    }
    llmopt_engine_flush(e);
    /* expected (start, end, count) in emission order: end, then start */
    struct { int64_t start, end, count; } want[] = {
        {-240000, 60000, 1}, {0, 60000, 1},
        {-180000, 120000, 2}, {60000, 120000, 1},
        {-120000, 180000, 2},
        {-60000, 240000, 2},
        {0, 300000, 3}, {240000, 300000, 1},
        {60000, 360000, 2},
        {120000, 420000, 2}, {360000, 420000, 1},
        {180000, 480000, 2},
        {240000, 540000, 2},
        {300000, 600000, 1},
        {360000, 660000, 1},
    };
    size_t nwant = sizeof(want) / sizeof(want[0]), k = 0;
    for (const char *l = c.buf; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL) {
        long long st0, en, cnt;
        char id[32], route[16], armid[16];
        if (sscanf(l, "M %31s %15s %15s %lld %lld %lld", id, route, armid, &st0, &en, &cnt) != 6)
            continue;
        CU_ASSERT_FATAL(k < nwant);
        CU_ASSERT_EQUAL(st0 - T0, want[k].start);
        CU_ASSERT_EQUAL(en - T0, want[k].end);
        CU_ASSERT_EQUAL(cnt, want[k].count);
        k++;
    }
    CU_ASSERT_EQUAL(k, nwant);
    llmopt_engine_destroy(e);
    free(c.buf);
}

static void test_join_memory_bound(void) {
    cap c = {0};
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    cfg.join_max_bytes = 64 * 1024;
    llmopt_engine *e = mk(&c, &cfg);
    llmopt_engine_src s = src_at(0);
    char id[32];
    for (int i = 0; i < 5000; i++) {
        snprintf(id, sizeof(id), "r%d", i);
        llmopt_request r = req(id, T0 + i, "r", "x");
        llmopt_engine_on_request(e, &r, &s);
    }
    llmopt_engine_stats st;
    llmopt_engine_get_stats(e, &st);
    CU_ASSERT(st.join_evicted > 4000);
    CU_ASSERT_EQUAL((uint64_t)c.missing, st.join_evicted);
    CU_ASSERT(st.state_bytes < 64 * 1024 + 400 * 1024);
    llmopt_engine_destroy(e);
    free(c.buf);
}

/* A waiting request's join record holds the outcome the engine used to
 * fill from the request (required strings never NULL, optionals NULL when
 * absent, context only with has_context), in one allocation that
 * survives the request, and round-trips through its checkpoint form. */
static void test_jrec_of_request(void) {
    llmopt_kv_double ctx[2] = {{llmopt_str_of("len"), 12.5}, {{NULL, 0}, -1}};
    for (int variant = 0; variant < 2; variant++) {
        llmopt_request r;
        llmopt_request_init(&r);
        char idbuf[16];
        strcpy(idbuf, "req-42");
        r.request_id = llmopt_str_of(idbuf);
        r.ts_ms = 1764000000123;
        r.route = llmopt_str_of("chat");
        r.arm = llmopt_str_of("a1");
        r.provider = variant ? (llmopt_str){NULL, 0} : llmopt_str_of("p");
        r.model = llmopt_str_of("m");
        r.task_type = llmopt_str_of("qa");
        r.user = variant ? llmopt_str_of("u7") : (llmopt_str){NULL, 0};
        r.variant = llmopt_str_of("B");
        r.propensity = 0.25;
        r.decision_version = 9;
        r.has_context = variant == 1;
        r.context.items = ctx;
        r.context.count = 2;
        /* expected: the outcome fill_request made */
        llmopt_outcome o;
        llmopt_outcome_init(&o);
        o.outcome_id = o.request_id = r.request_id;
        o.route = r.route;
        o.arm = r.arm;
        o.provider = variant ? llmopt_str_of("") : r.provider;
        o.model = r.model;
        o.task_type = r.task_type;
        o.user = r.user;
        o.variant = r.variant;
        o.ts_ms = r.ts_ms;
        o.propensity = r.propensity;
        o.decision_version = r.decision_version;
        llmopt_kv_double octx[2] = {{llmopt_str_of("len"), 12.5}, {llmopt_str_of(""), -1}};
        if (r.has_context) {
            o.context.items = octx;
            o.context.count = 2;
        }
        llmopt_jrec *j = llmopt_jrec_of_request(&r);
        CU_ASSERT_PTR_NOT_NULL_FATAL(j);
        strcpy(idbuf, "XXXXXX"); /* the record owns its copies */
        CU_ASSERT(j->o.request_id.len == 6 && memcmp(j->o.outcome_id.ptr, "req-42", 7) == 0);
        CU_ASSERT(j->o.outcome_id.ptr != idbuf);
        CU_ASSERT_EQUAL(j->o.tenant.ptr, NULL);
        CU_ASSERT(j->o.provider.ptr != NULL && j->o.provider.len == (variant ? 0u : 1u));
        CU_ASSERT_EQUAL(j->o.context.count, variant ? 2u : 0u);
        CU_ASSERT_EQUAL(j->o.decision_version, 9);
        CU_ASSERT_EQUAL(j->updates, 0u);
        CU_ASSERT(j->bytes >= sizeof(*j) + 7);
        strcpy(idbuf, "req-42");
        llmopt_wbuf a, b;
        llmopt_wbuf_init(&a);
        llmopt_wbuf_init(&b);
        llmopt_outcome_pack(&o, &a);
        llmopt_outcome_pack(&j->o, &b);
        CU_ASSERT_EQUAL(a.len, b.len);
        CU_ASSERT(a.len == b.len && memcmp(a.data, b.data, a.len) == 0);
        /* checkpoint form: read back to an equal record, canonically */
        j->updates = 3;
        j->o.has_rating = true;
        j->o.rating = 0.75;
        llmopt_wbuf c, d;
        llmopt_wbuf_init(&c);
        llmopt_wbuf_init(&d);
        llmopt_jrec_write(j, &c);
        llmopt_outcome tmp;
        llmopt_outcome_init(&tmp);
        llmopt_rbuf rb;
        llmopt_rbuf_init(&rb, c.data, c.len);
        llmopt_jrec *k = llmopt_jrec_read(&rb, &tmp);
        CU_ASSERT_EQUAL(rb.err, 0);
        CU_ASSERT_EQUAL(rb.left, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(k);
        CU_ASSERT_EQUAL(k->updates, 3u);
        CU_ASSERT_EQUAL(k->bytes, j->bytes);
        CU_ASSERT(k->o.has_rating && k->o.rating == 0.75);
        llmopt_jrec_write(k, &d);
        CU_ASSERT(c.len == d.len && memcmp(c.data, d.data, c.len) == 0);
        /* a truncated form is refused */
        llmopt_rbuf_init(&rb, c.data, c.len - 1);
        CU_ASSERT_PTR_NULL(llmopt_jrec_read(&rb, &tmp));
        CU_ASSERT(rb.err != 0);
        free(k);
        free(j);
        llmopt_outcome_release(&tmp);
        llmopt_outcome_release(&o); /* strings point at literals: frees the empty arena */
        llmopt_wbuf_release(&a);
        llmopt_wbuf_release(&b);
        llmopt_wbuf_release(&c);
        llmopt_wbuf_release(&d);
        llmopt_request_release(&r); /* its strings are literals: frees the empty arena */
    }
}

/* A checkpoint of the previous layout (version 1) is refused with a clear
 * error naming the version. */
static void test_old_checkpoint_refused(void) {
    llmopt_engine_config cfg;
    llmopt_engine_config_default(&cfg);
    cap c = {0};
    llmopt_engine *e = mk(&c, &cfg);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_engine_save(e, &w);
    CU_ASSERT_EQUAL_FATAL(w.err, 0);
    CU_ASSERT(w.len > 5 && memcmp(w.data, "ENGN", 4) == 0 && w.data[4] == 2);
    llmopt_engine *f = mk(&c, &cfg);
    char err[256] = "";
    CU_ASSERT_EQUAL(llmopt_engine_load(f, w.data, w.len, err, sizeof(err)), LLMOPT_OK);
    llmopt_engine_destroy(f);
    w.data[4] = 1;
    f = mk(&c, &cfg);
    CU_ASSERT_EQUAL(llmopt_engine_load(f, w.data, w.len, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT(strstr(err, "engine checkpoint version 1") != NULL);
    llmopt_engine_destroy(f);
    llmopt_engine_destroy(e);
    llmopt_wbuf_release(&w);
    free(c.buf);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("engine", NULL, NULL);
    CU_add_test(s, "join_missing_orphan", test_join_missing_orphan);
    CU_add_test(s, "route_reward", test_route_reward);
    CU_add_test(s, "feedback", test_feedback);
    CU_add_test(s, "dlq_classes", test_dlq_classes);
    CU_add_test(s, "stream_drift_and_counts", test_stream_drift_and_counts);
    CU_add_test(s, "cache_hits_not_drift", test_cache_hits_not_drift);
    CU_add_test(s, "checkpoint_equivalence", test_checkpoint_equivalence);
    CU_add_test(s, "hopping_from_panes", test_hopping_from_panes);
    CU_add_test(s, "join_memory_bound", test_join_memory_bound);
    CU_add_test(s, "jrec_of_request", test_jrec_of_request);
    CU_add_test(s, "old_checkpoint_refused", test_old_checkpoint_refused);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
