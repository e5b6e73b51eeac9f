/*
 * engine.c - one partition's per-event logic (see engine.h and
 * docs/PROCESSOR.md).
 *
 * State:
 *   pending   join table: requests waiting for their response (ttl join window)
 *   orphans   join table: responses that came before their request
 *   awaiting  join table: outcomes waiting for feedback (ttl feedback window)
 *   panes     one window store of tumbling panes, keyed "route\0arm"; the
 *             pane is the gcd of every window spec's size and advance
 *   arms      (route, arm) -> detector bank, late counters and the closed
 *             panes still needed by a window that has not closed yet
 *
 * Windows are assembled from panes (the "panes" technique of Li et al.,
 * "No pane, no gain", 2005): an event touches one pane, not every hopping
 * window that contains it, and each window is the merge of its panes when
 * the watermark passes its end plus grace. Lateness is decided per pane: an
 * event whose pane has closed is late for every window spec.
 * Every payload in the join tables is an llmopt_jrec (outcome_pack.h): an
 * outcome whose strings live in the same allocation, read and changed in place.
 */
#include "processor/engine.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/join.h"
#include "processor/core/winagg.h"
#include "processor/outcome_pack.h"

static const char *const dlq_names[LLMOPT_DLQ_COUNT] = {
    "decode", "missing_field", "bad_value", "bad_timestamp", "duplicate", "late", "unmatched"};

const char *llmopt_dlq_reason_name(llmopt_dlq_reason r) {
    return (unsigned)r < LLMOPT_DLQ_COUNT ? dlq_names[r] : NULL;
}

/* ---- join payload: llmopt_jrec ---- */
/* The response fields an outcome takes from a response. */
typedef struct jresp {
    int64_t ts_ms;
    int64_t input_tokens, output_tokens;
    double latency_ms, ttft_ms, cost_usd, quality;
    int32_t status;
    uint8_t has_ttft, has_quality, cache_hit;
} jresp;

/* ---- (route, arm) state ---- */
typedef struct pane {
    int64_t start_ms;
    llmopt_winagg agg;
} pane;

typedef struct arm {
    char *key;              /* route NUL arm, owned */
    size_t keylen;
    size_t route_len;       /* route = key[0..route_len) */
    llmopt_detect *det;
    int64_t late_pending[LLMOPT_ENGINE_MAX_WINDOWS]; /* late events since the last close */
    pane *panes;            /* closed panes still in some open window, by start */
    uint32_t npanes, cap_panes;
    /* per spec: the first window end not yet emitted; INT64_MIN before the first */
    int64_t next_end[LLMOPT_ENGINE_MAX_WINDOWS];
    int64_t due_ms;         /* earliest pending window end; INT64_MAX: none */
} arm;

typedef struct due_ent {
    int64_t due_ms;
    arm *a;
} due_ent;

/* A window ready to emit, merged from its panes. */
typedef struct ready_win {
    int64_t start_ms, end_ms;
    int spec;
    arm *a;
    llmopt_winagg agg;
} ready_win;

struct llmopt_engine {
    llmopt_engine_config cfg;
    llmopt_engine_sink sink;
    int32_t partition;
    llmopt_join *pending, *orphans, *awaiting;
    llmopt_window_store *panes;
    int64_t pane_ms;
    due_ent *due;           /* min-heap on due_ms; stale entries skipped lazily */
    size_t ndue, cap_due;
    ready_win *ready;       /* scratch for one batch of closing windows */
    size_t nready, cap_ready;
    arm **arms;             /* open addressing, cap power of two */
    size_t arms_cap, arms_n;
    int64_t max_event_ms;   /* INT64_MIN before any event */
    int64_t watermark_ms;   /* INT64_MIN before any event */
    llmopt_engine_stats st;
    llmopt_err_t deferred;  /* NOMEM raised inside a callback */
    /* scratch records, reused (their arenas keep memory) */
    llmopt_outcome out;
    llmopt_window_metrics wm;
    llmopt_signal sig;
};

/* ---- configuration ---- */

void llmopt_engine_config_default(llmopt_engine_config *c) {
    memset(c, 0, sizeof(*c));
    c->join_window_ms = 10 * 60 * 1000;
    c->feedback_window_ms = 60 * 60 * 1000;
    c->join_max_bytes = (size_t)256 << 20;
    c->ooo_ms = 5000;
    c->grace_ms = 0;
    c->max_future_ms = 60 * 60 * 1000;
    c->max_past_ms = 7LL * 24 * 60 * 60 * 1000;
    c->nwindows = 2;
    c->windows[0] = (llmopt_window_config){.size_ms = 60000, .advance_ms = 60000};
    c->windows[1] = (llmopt_window_config){.size_ms = 300000, .advance_ms = 60000};
    c->digest_compression = 100;
    c->max_latency_ms = 3.6e6;
    c->max_cost_usd = 1000;
    c->max_tokens = 100000000;
    llmopt_detect_config_default(&c->detect);
    llmopt_reward_config_default(&c->reward);
}

llmopt_err_t llmopt_engine_config_check(const llmopt_engine_config *c, char *errstr,
                                        size_t errstr_size) {
    llmopt_err_t err;
    if (c->join_window_ms <= 0 || c->feedback_window_ms <= 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "join and feedback windows must be > 0 ms");
    if (c->ooo_ms < 0 || c->grace_ms < 0 || c->max_future_ms <= 0 || c->max_past_ms <= 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "out-of-orderness and grace must be >= 0, timestamp bounds > 0");
    if (c->nwindows < 1 || c->nwindows > LLMOPT_ENGINE_MAX_WINDOWS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "between 1 and %d window specs are allowed", LLMOPT_ENGINE_MAX_WINDOWS);
    for (int i = 0; i < c->nwindows; i++) {
        llmopt_window_config w = c->windows[i];
        w.ooo_ms = c->ooo_ms;
        w.grace_ms = c->grace_ms;
        if ((err = llmopt_window_config_check(&w, errstr, errstr_size)))
            return err;
        if (w.offset_ms != c->windows[0].offset_ms)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "every window spec must have the same offset (%lld ms)",
                               (long long)c->windows[0].offset_ms);
    }
    if (c->digest_compression < 10 || c->digest_compression > 10000)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "digest compression must be in [10, 10000]");
    if (!(c->max_latency_ms > 0) || !(c->max_cost_usd > 0) || c->max_tokens <= 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "absurd-value bounds must be > 0");
    if ((err = llmopt_detect_config_check(&c->detect, errstr, errstr_size)) ||
        (err = llmopt_reward_config_check(&c->reward, errstr, errstr_size)))
        return err;
    for (size_t i = 0; i < c->nroute_rewards; i++) {
        if (!c->route_rewards[i].route)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "route reward without a route");
        if ((err = llmopt_reward_config_check(&c->route_rewards[i].reward, errstr, errstr_size)))
            return err;
    }
    return LLMOPT_OK;
}

/* ---- small helpers ---- */

/* 64-bit FNV-1a over NUL-separated parts: the deterministic output ids. */
static uint64_t fnv_part(uint64_t h, const void *p, size_t n) {
    const unsigned char *s = p;
    for (size_t i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;
    }
    h ^= 0;
    h *= 0x100000001b3ULL; /* separator */
    return h;
}

static uint64_t fnv_i64(uint64_t h, int64_t v) {
    return fnv_part(h, &v, sizeof(v)); /* little-endian hosts only; asserted in tests */
}

#define FNV_INIT 0xcbf29ce484222325ULL

static int str_ok(llmopt_str s) {
    return s.ptr && s.len > 0;
}

static const llmopt_reward_config *reward_for(const llmopt_engine *e, llmopt_str route) {
    for (size_t i = 0; i < e->cfg.nroute_rewards; i++) {
        const char *r = e->cfg.route_rewards[i].route;
        if (strlen(r) == route.len && memcmp(r, route.ptr, route.len) == 0)
            return &e->cfg.route_rewards[i].reward;
    }
    return &e->cfg.reward;
}

static void dlq(llmopt_engine *e, const llmopt_engine_src *src, llmopt_dlq_reason reason,
                const char *detail) {
    e->st.dlq[reason]++;
    if (e->sink.dlq)
        e->sink.dlq(e->sink.ctx, src, reason, detail);
}

static void nomem(llmopt_engine *e) {
    e->deferred = LLMOPT_ERR_NOMEM;
}

/* ---- arms map ---- */

/* 8 bytes at a time (the join tables' hash); FNV-1a byte by byte cost
 * ~150 instructions per response here. Only the arms map's layout depends
 * on it: nothing iterates the map in an order that reaches the outputs or
 * the checkpoint (save sorts the arms). */
static uint64_t key_hash(const char *k, size_t n) {
    return llmopt_join_hash(k, n);
}

static arm **arm_slot(llmopt_engine *e, const char *key, size_t keylen) {
    size_t mask = e->arms_cap - 1;
    for (size_t i = key_hash(key, keylen) & mask;; i = (i + 1) & mask) {
        arm *a = e->arms[i];
        if (!a || (a->keylen == keylen && memcmp(a->key, key, keylen) == 0))
            return &e->arms[i];
    }
}

static int arms_grow(llmopt_engine *e) {
    size_t ncap = e->arms_cap ? e->arms_cap * 2 : 64;
    arm **na = calloc(ncap, sizeof(*na));
    if (!na)
        return 0;
    for (size_t i = 0; i < e->arms_cap; i++) {
        arm *a = e->arms[i];
        if (!a)
            continue;
        size_t k = key_hash(a->key, a->keylen) & (ncap - 1);
        while (na[k])
            k = (k + 1) & (ncap - 1);
        na[k] = a;
    }
    free(e->arms);
    e->arms = na;
    e->arms_cap = ncap;
    return 1;
}

static void arm_free(arm *a) {
    if (!a)
        return;
    for (uint32_t i = 0; i < a->npanes; i++)
        llmopt_winagg_release(&a->panes[i].agg);
    free(a->panes);
    llmopt_detect_destroy(a->det);
    free(a->key);
    free(a);
}

/* The arm for key (route NUL arm), created on first use; NULL on NOMEM. */
static arm *arm_get(llmopt_engine *e, const char *key, size_t keylen, size_t route_len) {
    if ((e->arms_n + 1) * 10 > e->arms_cap * 7 && !arms_grow(e))
        return NULL;
    arm **slot = arm_slot(e, key, keylen);
    if (*slot)
        return *slot;
    arm *a = calloc(1, sizeof(*a));
    if (!a || !(a->key = malloc(keylen)) || !(a->det = llmopt_detect_new(&e->cfg.detect))) {
        arm_free(a);
        return NULL;
    }
    memcpy(a->key, key, keylen);
    a->keylen = keylen;
    a->route_len = route_len;
    for (int i = 0; i < LLMOPT_ENGINE_MAX_WINDOWS; i++)
        a->next_end[i] = INT64_MIN;
    a->due_ms = INT64_MAX;
    *slot = a;
    e->arms_n++;
    return a;
}

/* route NUL arm into buf; returns its length or 0 when it does not fit. */
static size_t make_key(char *buf, size_t cap, llmopt_str route, llmopt_str armid) {
    size_t n = route.len + 1 + armid.len;
    if (n > cap)
        return 0;
    memcpy(buf, route.ptr, route.len);
    buf[route.len] = '\0';
    memcpy(buf + route.len + 1, armid.ptr, armid.len);
    return n;
}

/* ---- emitting ---- */

static void emit_outcome(llmopt_engine *e, const llmopt_outcome *o) {
    if (o->is_update)
        e->st.reward_updates++;
    else
        e->st.outcomes++;
    if (o->status == LLMOPT_STATUS_MISSING)
        e->st.missing++;
    if (e->sink.outcome)
        e->sink.outcome(e->sink.ctx, o);
}

typedef struct detect_ctx {
    llmopt_engine *e;
    const arm *a;
    int64_t ts_ms;
    int has_window_end;
    int64_t window_end_ms;
} detect_ctx;

static int detector_index(unsigned bit) {
    int i = 0;
    while (bit > 1) {
        bit >>= 1;
        i++;
    }
    return i; /* LLMOPT_DET_* bit order == llmopt_detector order */
}

static void on_detection(void *opaque, const llmopt_detect_event *ev) {
    detect_ctx *c = opaque;
    llmopt_engine *e = c->e;
    llmopt_signal *s = &e->sig;
    int det = detector_index(ev->detector);
    llmopt_record_clear(LLMOPT_REC_SIGNAL, s);
    llmopt_str route = {c->a->key, c->a->route_len};
    llmopt_str armid = {c->a->key + c->a->route_len + 1, c->a->keylen - c->a->route_len - 1};
    uint64_t h = fnv_part(FNV_INIT, c->a->key, c->a->keylen);
    h = fnv_i64(h, det);
    h = fnv_part(h, ev->metric, strlen(ev->metric));
    h = fnv_i64(h, (int64_t)ev->sample_index);
    h = fnv_i64(h, c->has_window_end ? c->window_end_ms : c->ts_ms);
    char id[24];
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)h);
    llmopt_arena *ar = llmopt_record_arena(s);
    if (llmopt_str_set(ar, &s->signal_id, id, strlen(id)) ||
        llmopt_str_set(ar, &s->route, route.ptr, route.len) ||
        llmopt_str_set(ar, &s->arm, armid.ptr, armid.len) ||
        llmopt_str_set(ar, &s->metric, ev->metric, strlen(ev->metric))) {
        nomem(e);
        return;
    }
    s->ts_ms = c->ts_ms;
    s->kind = ev->is_anomaly ? LLMOPT_SIGNAL_ANOMALY : LLMOPT_SIGNAL_DRIFT;
    s->detector = (llmopt_detector)det;
    s->direction = ev->direction > 0 ? LLMOPT_DIRECTION_UP : LLMOPT_DIRECTION_DOWN;
    s->magnitude = ev->magnitude;
    s->before = ev->before;
    s->after = ev->after;
    s->sample_index = (int64_t)ev->sample_index;
    s->severity = ev->severity;
    s->has_window_end_ms = c->has_window_end;
    s->window_end_ms = c->has_window_end ? c->window_end_ms : 0;
    if (ev->is_anomaly)
        e->st.signals_anomaly++;
    else
        e->st.signals_drift++;
    if (det >= 0 && det < 6)
        e->st.signals_by_detector[det]++;
    if (e->sink.signal)
        e->sink.signal(e->sink.ctx, s);
}

/* ---- window payload ops (the payload is a winagg) ---- */

static llmopt_err_t wop_init(void *p, void *ctx) {
    return llmopt_winagg_init(p, ((llmopt_engine *)ctx)->cfg.digest_compression);
}
static llmopt_err_t wop_add(void *p, const void *ev, void *ctx) {
    return llmopt_winagg_add(p, ev);
}
static void wop_release(void *p, void *ctx) {
    llmopt_winagg_release(p);
}
static void wop_serialize(const void *p, llmopt_wbuf *w, void *ctx) {
    llmopt_winagg_serialize(p, w);
}
static llmopt_err_t wop_deserialize(void *p, llmopt_rbuf *r, void *ctx) {
    llmopt_winagg *a = p;
    memset(a, 0, sizeof(*a));
    return llmopt_winagg_deserialize(a, r);
}

static void emit_window(llmopt_engine *e, ready_win *rw) {
    llmopt_winagg *agg = &rw->agg;
    int spec = rw->spec;
    const llmopt_window_config *wc = &e->cfg.windows[spec];
    arm *a = rw->a;
    const char *key = a->key;
    size_t route_len = a->route_len;
    agg->late_count += a->late_pending[spec];
    a->late_pending[spec] = 0;
    llmopt_winagg_summary s;
    llmopt_winagg_summarize(agg, &s);
    llmopt_window_metrics *m = &e->wm;
    llmopt_record_clear(LLMOPT_REC_WINDOW_METRICS, m);
    llmopt_arena *ar = llmopt_record_arena(m);
    uint64_t h = fnv_part(FNV_INIT, key, a->keylen);
    h = fnv_i64(h, wc->size_ms);
    h = fnv_i64(h, wc->advance_ms);
    h = fnv_i64(h, rw->start_ms);
    char id[24];
    snprintf(id, sizeof(id), "%016llx", (unsigned long long)h);
    char *digest = NULL, *tdigest = NULL;
    size_t dlen = 0, tlen = 0;
    if (llmopt_str_set(ar, &m->metrics_id, id, strlen(id)) ||
        llmopt_str_set(ar, &m->route, key, route_len) ||
        llmopt_str_set(ar, &m->arm, key + route_len + 1, a->keylen - route_len - 1)) {
        nomem(e);
        return;
    }
    m->window_start_ms = rw->start_ms;
    m->window_end_ms = rw->end_ms;
    m->window_kind = wc->size_ms == wc->advance_ms ? LLMOPT_WINDOW_TUMBLING : LLMOPT_WINDOW_HOPPING;
    m->size_ms = wc->size_ms;
    m->advance_ms = wc->advance_ms;
    m->count = agg->count;
    m->ok_count = agg->status[LLMOPT_WINAGG_OK];
    m->error_count = agg->status[LLMOPT_WINAGG_ERROR];
    m->timeout_count = agg->status[LLMOPT_WINAGG_TIMEOUT];
    m->rate_limited_count = agg->status[LLMOPT_WINAGG_RATE_LIMITED];
    m->filtered_count = agg->status[LLMOPT_WINAGG_FILTERED];
    m->error_rate = s.error_rate;
    m->has_latency_p50_ms = m->has_latency_p90_ms = m->has_latency_p95_ms =
        m->has_latency_p99_ms = s.has_latency;
    m->latency_p50_ms = s.latency_p50;
    m->latency_p90_ms = s.latency_p90;
    m->latency_p95_ms = s.latency_p95;
    m->latency_p99_ms = s.latency_p99;
    if (s.has_latency) {
        if (llmopt_tdigest_to_text(agg->latency, &digest, &dlen, NULL, 0)) {
            nomem(e);
            return;
        }
        m->latency_digest.ptr = digest;
        m->latency_digest.len = dlen;
    } else {
        m->latency_digest = llmopt_str_of("");
    }
    m->has_ttft_p50_ms = m->has_ttft_p90_ms = m->has_ttft_p95_ms = m->has_ttft_p99_ms = s.has_ttft;
    m->ttft_p50_ms = s.ttft_p50;
    m->ttft_p90_ms = s.ttft_p90;
    m->ttft_p95_ms = s.ttft_p95;
    m->ttft_p99_ms = s.ttft_p99;
    if (s.has_ttft) {
        if (llmopt_tdigest_to_text(agg->ttft, &tdigest, &tlen, NULL, 0)) {
            free(digest);
            nomem(e);
            return;
        }
        m->ttft_digest.ptr = tdigest;
        m->ttft_digest.len = tlen;
    }
    m->input_tokens = agg->input_tokens;
    m->output_tokens = agg->output_tokens;
    m->cost_usd = agg->cost_usd;
    m->cost_per_request = s.cost_per_request;
    m->quality_count = agg->quality.n;
    m->has_quality_mean = s.has_quality_mean;
    m->quality_mean = s.quality_mean;
    m->has_quality_variance = s.has_quality_var;
    m->quality_variance = s.quality_var;
    m->reward_count = agg->reward.n;
    m->has_reward_mean = s.has_reward_mean;
    m->reward_mean = s.reward_mean;
    m->has_reward_variance = s.has_reward_var;
    m->reward_variance = s.reward_var;
    m->cache_hits = agg->cache_hits;
    m->has_cache_hit_quality_mean = s.has_hit_quality;
    m->cache_hit_quality_mean = s.hit_quality_mean;
    m->has_cache_miss_quality_mean = s.has_miss_quality;
    m->cache_miss_quality_mean = s.miss_quality_mean;
    m->late_count = agg->late_count;
    m->has_batch_size_mean = s.has_batch_mean;
    m->batch_size_mean = s.batch_mean;
    e->st.metrics++;
    if (e->sink.metrics)
        e->sink.metrics(e->sink.ctx, m);
    free(digest);
    free(tdigest);

    /* anomaly detection runs on the primary window spec only */
    if (spec == 0 && agg->count > 0) {
        detect_ctx dc = {.e = e, .a = a, .ts_ms = rw->end_ms, .has_window_end = 1,
                         .window_end_ms = rw->end_ms};
        if (s.has_latency)
            llmopt_detect_anomaly(a->det, LLMOPT_AM_P95_LATENCY, s.latency_p95, on_detection, &dc);
        llmopt_detect_anomaly(a->det, LLMOPT_AM_ERROR_RATE, s.error_rate, on_detection, &dc);
        llmopt_detect_anomaly(a->det, LLMOPT_AM_COST_PER_REQUEST, s.cost_per_request, on_detection, &dc);
        if (s.has_quality_mean)
            llmopt_detect_anomaly(a->det, LLMOPT_AM_QUALITY, s.quality_mean, on_detection, &dc);
    }
}

/* ---- panes -> windows ---- */

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    return (a % b != 0 && ((a < 0) != (b < 0))) ? q - 1 : q;
}

/* Smallest end of a spec-i window that is > t. */
static int64_t end_after(const llmopt_engine *e, int spec, int64_t t) {
    const llmopt_window_config *w = &e->cfg.windows[spec];
    return w->offset_ms + (floor_div(t - w->offset_ms, w->advance_ms) + 1) * w->advance_ms;
}

/* The next window end of spec i that still has data for a: the first end
 * not yet emitted whose window overlaps a retained pane; INT64_MAX if none. */
static int64_t spec_candidate(const llmopt_engine *e, const arm *a, int spec) {
    if (a->npanes == 0)
        return INT64_MAX;
    const llmopt_window_config *w = &e->cfg.windows[spec];
    int64_t c = end_after(e, spec, a->panes[0].start_ms);
    if (a->next_end[spec] != INT64_MIN && a->next_end[spec] > c)
        c = a->next_end[spec];
    /* skip windows that hold no retained pane (gaps in a sparse key) */
    for (uint32_t k = 0; k < a->npanes; k++) {
        const pane *p = &a->panes[k];
        if (p->start_ms + e->pane_ms <= c - w->size_ms)
            continue; /* pane ends before this window starts */
        if (p->start_ms < c)
            return c; /* the window [c - size, c) contains p */
        c = end_after(e, spec, p->start_ms);
        return c; /* first window after the gap that contains p */
    }
    return INT64_MAX;
}

static void arm_due(llmopt_engine *e, arm *a) {
    int64_t due = INT64_MAX;
    for (int i = 0; i < e->cfg.nwindows; i++) {
        int64_t c = spec_candidate(e, a, i);
        if (c < due)
            due = c;
    }
    if (due == a->due_ms)
        return;
    a->due_ms = due;
    if (due == INT64_MAX)
        return;
    if (e->ndue == e->cap_due) {
        size_t nc = e->cap_due ? e->cap_due * 2 : 256;
        due_ent *nd = realloc(e->due, nc * sizeof(*nd));
        if (!nd) {
            nomem(e);
            return;
        }
        e->due = nd;
        e->cap_due = nc;
    }
    size_t i = e->ndue++;
    due_ent ent = {due, a};
    while (i > 0 && e->due[(i - 1) / 2].due_ms > due) {
        e->due[i] = e->due[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    e->due[i] = ent;
}

static due_ent due_pop(llmopt_engine *e) {
    due_ent top = e->due[0], last = e->due[--e->ndue];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        int64_t best = last.due_ms;
        if (l < e->ndue && e->due[l].due_ms < best) {
            m = l;
            best = e->due[l].due_ms;
        }
        if (l + 1 < e->ndue && e->due[l + 1].due_ms < best)
            m = l + 1;
        if (m == i)
            break;
        e->due[i] = e->due[m];
        i = m;
    }
    if (e->ndue)
        e->due[i] = last;
    return top;
}

/* A closed pane joins its arm's retained panes (ascending start). */
static void pane_closed(llmopt_engine *e, llmopt_window_closed *c) {
    arm *a = *arm_slot(e, (const char *)c->key, c->key_len);
    if (!a)
        return; /* cannot happen: the arm was made with the pane's first event */
    if (a->npanes == a->cap_panes) {
        uint32_t nc = a->cap_panes ? a->cap_panes * 2 : 4;
        pane *np = realloc(a->panes, nc * sizeof(*np));
        if (!np) {
            nomem(e);
            return;
        }
        a->panes = np;
        a->cap_panes = nc;
    }
    uint32_t i = a->npanes;
    while (i > 0 && a->panes[i - 1].start_ms > c->start_ms) {
        a->panes[i] = a->panes[i - 1];
        i--;
    }
    a->panes[i].start_ms = c->start_ms;
    a->panes[i].agg = *(llmopt_winagg *)c->payload;
    memset(c->payload, 0, sizeof(llmopt_winagg)); /* moved: the release frees nothing */
    llmopt_winagg_seal(&a->panes[i].agg); /* merged into every window that holds it */
    a->npanes++;
    arm_due(e, a);
}

static int ready_push(llmopt_engine *e, ready_win *rw) {
    if (e->nready == e->cap_ready) {
        size_t nc = e->cap_ready ? e->cap_ready * 2 : 64;
        ready_win *nr = realloc(e->ready, nc * sizeof(*nr));
        if (!nr)
            return 0;
        e->ready = nr;
        e->cap_ready = nc;
    }
    e->ready[e->nready++] = *rw;
    return 1;
}

/* Every window of a that closes by watermark wm goes to the ready list. */
static void arm_collect(llmopt_engine *e, arm *a, int64_t wm) {
    for (int i = 0; i < e->cfg.nwindows; i++) {
        const llmopt_window_config *w = &e->cfg.windows[i];
        for (;;) {
            int64_t end = spec_candidate(e, a, i);
            if (end == INT64_MAX || end > wm - e->cfg.grace_ms)
                break;
            ready_win rw = {.start_ms = end - w->size_ms, .end_ms = end, .spec = i, .a = a};
            if (llmopt_winagg_init(&rw.agg, e->cfg.digest_compression)) {
                nomem(e);
                return;
            }
            for (uint32_t k = 0; k < a->npanes; k++) {
                const pane *p = &a->panes[k];
                if (p->start_ms >= rw.start_ms && p->start_ms + e->pane_ms <= end &&
                    llmopt_winagg_merge(&rw.agg, &p->agg))
                    nomem(e);
            }
            if (!ready_push(e, &rw)) {
                llmopt_winagg_release(&rw.agg);
                nomem(e);
                return;
            }
            a->next_end[i] = end + w->advance_ms;
        }
    }
    /* drop the panes no future window of any spec contains */
    uint32_t keep = 0;
    for (uint32_t k = 0; k < a->npanes; k++) {
        int needed = 0;
        for (int i = 0; i < e->cfg.nwindows && !needed; i++) {
            int64_t next = a->next_end[i];
            needed = next == INT64_MIN ||
                     a->panes[k].start_ms + e->pane_ms > next - e->cfg.windows[i].size_ms;
        }
        if (needed)
            a->panes[keep++] = a->panes[k];
        else
            llmopt_winagg_release(&a->panes[k].agg);
    }
    a->npanes = keep;
    a->due_ms = INT64_MAX;
    arm_due(e, a);
}

static int cmp_ready(const void *x, const void *y) {
    const ready_win *a = x, *b = y;
    if (a->end_ms != b->end_ms)
        return a->end_ms < b->end_ms ? -1 : 1;
    if (a->start_ms != b->start_ms)
        return a->start_ms < b->start_ms ? -1 : 1;
    size_t n = a->a->keylen < b->a->keylen ? a->a->keylen : b->a->keylen;
    int c = memcmp(a->a->key, b->a->key, n);
    if (c)
        return c;
    return (a->a->keylen > b->a->keylen) - (a->a->keylen < b->a->keylen);
}

/* Closes panes and windows up to the current watermark and emits the windows
 * in (end, start, key) order. */
static void drain_windows(llmopt_engine *e) {
    llmopt_window_closed c;
    while (llmopt_window_pop(e->panes, &c)) {
        pane_closed(e, &c);
        llmopt_window_closed_release(e->panes, &c);
    }
    int64_t wm = llmopt_window_watermark(e->panes, 0);
    if (wm == INT64_MIN)
        return;
    e->nready = 0;
    while (e->ndue && e->due[0].due_ms <= wm - e->cfg.grace_ms) {
        due_ent d = due_pop(e);
        if (d.due_ms != d.a->due_ms)
            continue; /* stale: the arm was rescheduled */
        arm_collect(e, d.a, wm);
    }
    if (e->nready > 1)
        qsort(e->ready, e->nready, sizeof(*e->ready), cmp_ready);
    for (size_t i = 0; i < e->nready; i++) {
        emit_window(e, &e->ready[i]);
        llmopt_winagg_release(&e->ready[i].agg);
    }
    e->nready = 0;
}

/* ---- join expiry ---- */

static void free_jrec(void *p) {
    free(p);
}

static void resp_apply(const jresp *q, llmopt_outcome *o) {
    o->has_response_ts_ms = true;
    o->response_ts_ms = q->ts_ms;
    o->status = (llmopt_status)q->status;
    o->has_latency_ms = true;
    o->latency_ms = q->latency_ms;
    o->has_ttft_ms = q->has_ttft;
    o->ttft_ms = q->ttft_ms;
    o->input_tokens = q->input_tokens;
    o->output_tokens = q->output_tokens;
    o->cost_usd = q->cost_usd;
    o->has_quality = q->has_quality;
    o->quality = q->quality;
    o->cache_hit = q->cache_hit;
}

static void on_pending_expire(void *opaque, const void *key, size_t keylen, int64_t ts,
                              void *payload, llmopt_join_reason reason) {
    llmopt_engine *e = opaque;
    llmopt_jrec *p = payload;
    if (reason == LLMOPT_JOIN_EVICTED)
        e->st.join_evicted++;
    /* no response in time: the request's outcome is "missing" */
    llmopt_outcome *o = &p->o;
    o->status = LLMOPT_STATUS_MISSING;
    o->reward = o->reward_quality = o->reward_cost = o->reward_latency = 0;
    emit_outcome(e, o);
    free(p);
}

static void on_orphan_expire(void *opaque, const void *key, size_t keylen, int64_t ts,
                             void *payload, llmopt_join_reason reason) {
    llmopt_engine *e = opaque;
    e->st.orphan_responses++;
    if (reason == LLMOPT_JOIN_EVICTED)
        e->st.join_evicted++;
    free(payload);
}

static void on_awaiting_expire(void *opaque, const void *key, size_t keylen, int64_t ts,
                               void *payload, llmopt_join_reason reason) {
    llmopt_engine *e = opaque;
    if (reason == LLMOPT_JOIN_EVICTED)
        e->st.join_evicted++;
    free(payload);
}

/* Raise the watermark to wm and close what it reaches. */
static void raise_watermark(llmopt_engine *e, int64_t wm) {
    if (e->watermark_ms != INT64_MIN && wm <= e->watermark_ms)
        return;
    e->watermark_ms = wm;
    if (llmopt_window_advance(e->panes, 0, wm) != LLMOPT_OK)
        nomem(e);
    drain_windows(e);
    llmopt_join_expire(e->pending, wm);
    llmopt_join_expire(e->orphans, wm);
    llmopt_join_expire(e->awaiting, wm);
}

/* Validate ts against the partition's time and move time forward. Returns
 * 0 (and dead-letters) when the timestamp is unacceptable. */
static int accept_time(llmopt_engine *e, int64_t ts, const llmopt_engine_src *src) {
    char detail[128];
    if (ts <= 0 || ts >= LLMOPT_WINDOW_TS_MAX) {
        snprintf(detail, sizeof(detail), "ts_ms '%lld' is not a valid epoch time", (long long)ts);
        dlq(e, src, LLMOPT_DLQ_BAD_TIMESTAMP, detail);
        return 0;
    }
    if (e->max_event_ms != INT64_MIN) {
        if (ts > e->max_event_ms + e->cfg.max_future_ms) {
            snprintf(detail, sizeof(detail), "ts_ms '%lld' is %lld ms ahead of the partition",
                     (long long)ts, (long long)(ts - e->max_event_ms));
            dlq(e, src, LLMOPT_DLQ_BAD_TIMESTAMP, detail);
            return 0;
        }
        if (ts < e->watermark_ms - e->cfg.max_past_ms) {
            snprintf(detail, sizeof(detail), "ts_ms '%lld' is %lld ms behind the watermark",
                     (long long)ts, (long long)(e->watermark_ms - ts));
            dlq(e, src, LLMOPT_DLQ_BAD_TIMESTAMP, detail);
            return 0;
        }
    }
    return 1;
}

static void advance_time(llmopt_engine *e, int64_t ts) {
    if (e->max_event_ms == INT64_MIN || ts > e->max_event_ms) {
        e->max_event_ms = ts;
        raise_watermark(e, ts - e->cfg.ooo_ms);
    }
}

static int bad_num(double v, double max) {
    return !isfinite(v) || v < 0 || v > max;
}

/* ---- outcome assembly ---- */

static void set_reward(const llmopt_engine *e, llmopt_outcome *o) {
    llmopt_reward_input in = {
        .success = o->status == LLMOPT_STATUS_OK,
        .has_quality = o->has_quality,
        .quality = o->quality,
        .cost_usd = o->cost_usd,
        .latency_ms = o->has_latency_ms ? o->latency_ms : 0,
        .has_rating = o->has_rating,
        .rating = o->rating,
        .has_thumbs = o->has_thumbs,
        .thumbs = o->thumbs,
        .has_task_completed = o->has_task_completed,
        .task_completed = o->task_completed,
    };
    llmopt_reward r;
    llmopt_reward_compute(reward_for(e, o->route), &in, &r);
    o->reward_quality = r.quality;
    o->reward_cost = r.cost;
    o->reward_latency = r.latency;
    o->reward = r.reward;
}

/* Response fields into o. */
static jresp resp_of(const llmopt_response *r) {
    return (jresp){.ts_ms = r->ts_ms, .input_tokens = r->input_tokens,
                   .output_tokens = r->output_tokens, .latency_ms = r->latency_ms,
                   .ttft_ms = r->ttft_ms, .cost_usd = r->cost_usd, .quality = r->quality,
                   .status = (int32_t)r->status, .has_ttft = r->has_ttft_ms,
                   .has_quality = r->has_quality, .cache_hit = r->cache_hit};
}

static void fill_response(llmopt_outcome *o, const llmopt_response *r) {
    jresp q = resp_of(r);
    resp_apply(&q, o);
}

/* p's outcome is complete: emit it, then keep p awaiting feedback. */
static void complete_outcome(llmopt_engine *e, llmopt_jrec *p) {
    llmopt_outcome *o = &p->o;
    set_reward(e, o);
    o->is_update = false;
    emit_outcome(e, o);
    llmopt_err_t err = llmopt_join_put(e->awaiting, o->request_id.ptr, o->request_id.len, o->ts_ms,
                                       p, p->bytes);
    if (err) {
        free(p);
        if (err == LLMOPT_ERR_NOMEM)
            nomem(e);
    }
}

/* ---- public entry points ---- */

static llmopt_err_t finish(llmopt_engine *e) {
    llmopt_err_t err = e->deferred;
    e->deferred = LLMOPT_OK;
    return err;
}

llmopt_err_t llmopt_engine_on_request(llmopt_engine *e, const llmopt_request *r,
                                      const llmopt_engine_src *src) {
    char detail[256];
    const char *missing = !str_ok(r->request_id) ? "request_id"
                          : !str_ok(r->route)    ? "route"
                          : !str_ok(r->arm)      ? "arm"
                          : !r->provider.ptr     ? "provider"
                          : !r->model.ptr        ? "model"
                          : !r->task_type.ptr    ? "task_type"
                                                 : NULL;
    if (missing || r->request_id.len > LLMOPT_JOIN_MAX_KEY) {
        if (missing)
            snprintf(detail, sizeof(detail), "request field '%s' is missing or empty", missing);
        else
            snprintf(detail, sizeof(detail), "request_id longer than %d bytes", LLMOPT_JOIN_MAX_KEY);
        dlq(e, src, LLMOPT_DLQ_MISSING_FIELD, detail);
        return finish(e);
    }
    if (!(r->propensity > 0 && r->propensity <= 1) || r->decision_version < 0 ||
        r->input_tokens_est < 0 || r->input_tokens_est > e->cfg.max_tokens) {
        snprintf(detail, sizeof(detail),
                 "propensity '%g' must be in (0, 1], decision_version and input_tokens_est >= 0",
                 r->propensity);
        dlq(e, src, LLMOPT_DLQ_BAD_VALUE, detail);
        return finish(e);
    }
    for (size_t i = 0; r->has_context && i < r->context.count; i++) {
        if (!isfinite(r->context.items[i].value)) {
            snprintf(detail, sizeof(detail), "context feature '%.64s' is not finite",
                     r->context.items[i].key.ptr ? r->context.items[i].key.ptr : "");
            dlq(e, src, LLMOPT_DLQ_BAD_VALUE, detail);
            return finish(e);
        }
    }
    if (!accept_time(e, r->ts_ms, src))
        return finish(e);
    const char *id = r->request_id.ptr;
    size_t idlen = r->request_id.len;
    uint64_t h = llmopt_join_hash(id, idlen); /* once for the four lookups */
    if (llmopt_join_peek_h(e->pending, id, idlen, h, NULL) ||
        llmopt_join_peek_h(e->awaiting, id, idlen, h, NULL)) {
        snprintf(detail, sizeof(detail), "request_id '%.128s' already seen", id);
        dlq(e, src, LLMOPT_DLQ_DUPLICATE, detail);
        return finish(e);
    }
    if (e->watermark_ms != INT64_MIN && r->ts_ms <= e->watermark_ms - e->cfg.join_window_ms) {
        snprintf(detail, sizeof(detail), "request at %lld is past its join window",
                 (long long)r->ts_ms);
        dlq(e, src, LLMOPT_DLQ_LATE, detail);
        return finish(e);
    }
    e->st.requests++;
    int64_t ots = 0;
    llmopt_jrec *orphan = llmopt_join_take_h(e->orphans, id, idlen, h, &ots);
    llmopt_jrec *p = llmopt_jrec_of_request(r);
    if (!p) {
        free(orphan);
        nomem(e);
    } else if (orphan) {
        /* the response came first: complete the outcome from it */
        const llmopt_outcome *q = &orphan->o;
        llmopt_outcome *o = &p->o;
        o->has_response_ts_ms = q->has_response_ts_ms;
        o->response_ts_ms = q->response_ts_ms;
        o->status = q->status;
        o->has_latency_ms = q->has_latency_ms;
        o->latency_ms = q->latency_ms;
        o->has_ttft_ms = q->has_ttft_ms;
        o->ttft_ms = q->ttft_ms;
        o->input_tokens = q->input_tokens;
        o->output_tokens = q->output_tokens;
        o->cost_usd = q->cost_usd;
        o->has_quality = q->has_quality;
        o->quality = q->quality;
        o->cache_hit = q->cache_hit;
        free(orphan);
        complete_outcome(e, p);
    } else if (llmopt_join_put_h(e->pending, id, idlen, h, r->ts_ms, p, p->bytes)) {
        free(p);
        nomem(e);
    }
    advance_time(e, r->ts_ms);
    return finish(e);
}

/* A response rejected after its request was taken: the request waits on,
 * as if the response had never come. */
static llmopt_err_t unwind_response(llmopt_engine *e, const char *id, size_t idlen, int64_t rts,
                                    llmopt_jrec *req) {
    if (req && llmopt_join_put(e->pending, id, idlen, rts, req, req->bytes)) {
        free(req);
        nomem(e);
    }
    return finish(e);
}

llmopt_err_t llmopt_engine_on_response(llmopt_engine *e, const llmopt_response *r,
                                       const llmopt_engine_src *src) {
    char detail[256];
    const char *missing = !str_ok(r->request_id) ? "request_id"
                          : !str_ok(r->route)    ? "route"
                          : !str_ok(r->arm)      ? "arm"
                                                 : NULL;
    if (missing || r->request_id.len > LLMOPT_JOIN_MAX_KEY) {
        if (missing)
            snprintf(detail, sizeof(detail), "response field '%s' is missing or empty", missing);
        else
            snprintf(detail, sizeof(detail), "request_id longer than %d bytes", LLMOPT_JOIN_MAX_KEY);
        dlq(e, src, LLMOPT_DLQ_MISSING_FIELD, detail);
        return finish(e);
    }
    const char *bad = bad_num(r->latency_ms, e->cfg.max_latency_ms)                    ? "latency_ms"
                      : r->has_ttft_ms && bad_num(r->ttft_ms, e->cfg.max_latency_ms)   ? "ttft_ms"
                      : bad_num(r->cost_usd, e->cfg.max_cost_usd)                      ? "cost_usd"
                      : r->input_tokens < 0 || r->input_tokens > e->cfg.max_tokens     ? "input_tokens"
                      : r->output_tokens < 0 || r->output_tokens > e->cfg.max_tokens   ? "output_tokens"
                      : r->has_quality && !(r->quality >= 0 && r->quality <= 1)        ? "quality"
                      : r->has_batch_size && r->batch_size < 1                         ? "batch_size"
                      : (unsigned)r->status > LLMOPT_STATUS_FILTERED                   ? "status"
                                                                                       : NULL;
    if (bad) {
        snprintf(detail, sizeof(detail), "response field '%s' is NaN, negative or absurd", bad);
        dlq(e, src, LLMOPT_DLQ_BAD_VALUE, detail);
        return finish(e);
    }
    if (!accept_time(e, r->ts_ms, src))
        return finish(e);
    const char *id = r->request_id.ptr;
    size_t idlen = r->request_id.len;
    /* the common case, a request waiting for this response, needs no
     * duplicate check: a second response would find it gone */
    int64_t rts = 0;
    uint64_t h = llmopt_join_hash(id, idlen); /* once for the lookups and the put */
    llmopt_jrec *req = llmopt_join_take_h(e->pending, id, idlen, h, &rts);
    if (!req && (llmopt_join_peek_h(e->orphans, id, idlen, h, NULL) ||
                 llmopt_join_peek_h(e->awaiting, id, idlen, h, NULL))) {
        snprintf(detail, sizeof(detail), "response for request_id '%.128s' already seen", id);
        dlq(e, src, LLMOPT_DLQ_DUPLICATE, detail);
        return finish(e);
    }
    char keybuf[1024];
    size_t keylen = make_key(keybuf, sizeof(keybuf), r->route, r->arm);
    if (!keylen) {
        dlq(e, src, LLMOPT_DLQ_BAD_VALUE, "route and arm together exceed 1022 bytes");
        return unwind_response(e, id, idlen, rts, req);
    }
    arm *a = arm_get(e, keybuf, keylen, r->route.len);
    if (!a) {
        nomem(e);
        return unwind_response(e, id, idlen, rts, req);
    }
    /* windows first: an event none of whose windows is open is late */
    llmopt_reward_input rin = {.success = r->status == LLMOPT_STATUS_OK, .has_quality = r->has_quality,
                               .quality = r->quality, .cost_usd = r->cost_usd,
                               .latency_ms = r->latency_ms};
    llmopt_reward rw;
    const llmopt_reward_config *rcfg = reward_for(e, r->route);
    llmopt_reward_compute(rcfg, &rin, &rw);
    llmopt_winagg_event ev = {
        .status = (int)r->status, .latency_ms = r->latency_ms, .has_ttft = r->has_ttft_ms,
        .ttft_ms = r->ttft_ms, .input_tokens = r->input_tokens, .output_tokens = r->output_tokens,
        .cost_usd = r->cost_usd, .has_quality = r->has_quality, .quality = r->quality,
        .cache_hit = r->cache_hit, .has_batch_size = r->has_batch_size, .batch_size = r->batch_size,
        .reward = rw.reward};
    int late_all = 0;
    llmopt_err_t werr = llmopt_window_add(e->panes, 0, r->ts_ms, keybuf, keylen, &ev, &late_all);
    if (werr == LLMOPT_ERR_NOMEM) {
        nomem(e);
        return unwind_response(e, id, idlen, rts, req);
    }
    if (late_all)
        for (int i = 0; i < e->cfg.nwindows; i++)
            a->late_pending[i]++;
    if (late_all) {
        snprintf(detail, sizeof(detail), "response at %lld is behind the watermark %lld",
                 (long long)r->ts_ms, (long long)e->watermark_ms);
        dlq(e, src, LLMOPT_DLQ_LATE, detail);
        return unwind_response(e, id, idlen, rts, req);
    }
    e->st.responses++;
    /* drift detectors on per-event values. They watch the arm's model, so a
     * cache hit (answered by the gateway without calling it: ~0 cost, a few
     * ms) is left out: with it, the cache being turned on or off, or its
     * TTL changed, read as a latency and cost drift of every arm. Hits still
     * count in the windows (hit rate, hit quality, what users saw). */
    detect_ctx dc = {.e = e, .a = a, .ts_ms = r->ts_ms};
    int ok = r->status == LLMOPT_STATUS_OK;
    if (!r->cache_hit) {
        if (ok)
            llmopt_detect_drift(a->det, LLMOPT_DM_LATENCY, r->latency_ms, on_detection, &dc);
        if (r->status <= LLMOPT_STATUS_TIMEOUT)
            llmopt_detect_drift(a->det, LLMOPT_DM_ERROR, ok ? 0.0 : 1.0, on_detection, &dc);
        if (r->has_quality)
            llmopt_detect_drift(a->det, LLMOPT_DM_QUALITY, r->quality, on_detection, &dc);
        if (ok)
            llmopt_detect_drift(a->det, LLMOPT_DM_COST, r->cost_usd, on_detection, &dc);
        llmopt_detect_drift(a->det, LLMOPT_DM_REWARD, rw.reward, on_detection, &dc);
    }

    /* join */
    if (req) {
        /* the request's record becomes the outcome, emitted and then kept
         * awaiting feedback */
        llmopt_outcome *o = &req->o;
        fill_response(o, r);
        if (reward_for(e, o->route) == rcfg && !o->has_rating && !o->has_thumbs &&
            !o->has_task_completed) {
            /* set_reward() would compute it from the same inputs as rw above
             * (status, quality, cost, latency of this response; no feedback
             * yet; the same route's weights): reuse it */
            o->reward_quality = rw.quality;
            o->reward_cost = rw.cost;
            o->reward_latency = rw.latency;
            o->reward = rw.reward;
        } else {
            set_reward(e, o);
        }
        o->is_update = false;
        emit_outcome(e, o);
        llmopt_err_t perr = llmopt_join_put_h(e->awaiting, id, idlen, h, rts, req, req->bytes);
        if (perr) {
            free(req);
            if (perr == LLMOPT_ERR_NOMEM)
                nomem(e);
        }
    } else {
        /* keep it until its request shows up or the join window passes */
        llmopt_outcome o;
        memset(&o, 0, sizeof(o));
        o.outcome_id = o.request_id = r->request_id;
        o.route = r->route;
        o.arm = r->arm;
        o.ts_ms = r->ts_ms;
        fill_response(&o, r);
        llmopt_jrec *p = llmopt_jrec_of_outcome(&o, 0);
        if (!p || llmopt_join_put_h(e->orphans, id, idlen, h, r->ts_ms, p, p->bytes)) {
            free(p);
            nomem(e);
        }
    }
    drain_windows(e);
    advance_time(e, r->ts_ms);
    return finish(e);
}

llmopt_err_t llmopt_engine_on_feedback(llmopt_engine *e, const llmopt_feedback *f,
                                       const llmopt_engine_src *src) {
    char detail[256];
    if (!str_ok(f->request_id) || !str_ok(f->route) || f->request_id.len > LLMOPT_JOIN_MAX_KEY) {
        snprintf(detail, sizeof(detail), "feedback field '%s' is missing or empty",
                 !str_ok(f->request_id) ? "request_id" : !str_ok(f->route) ? "route" : "request_id");
        dlq(e, src, LLMOPT_DLQ_MISSING_FIELD, detail);
        return finish(e);
    }
    if ((f->has_rating && !(f->rating >= 0 && f->rating <= 1)) ||
        (f->has_thumbs && (f->thumbs < -1 || f->thumbs > 1))) {
        dlq(e, src, LLMOPT_DLQ_BAD_VALUE, "rating must be in [0, 1] and thumbs in {-1, 0, 1}");
        return finish(e);
    }
    if (!accept_time(e, f->ts_ms, src))
        return finish(e);
    const char *id = f->request_id.ptr;
    size_t idlen = f->request_id.len;
    llmopt_jrec *p;
    llmopt_join *table = NULL;
    if ((p = llmopt_join_peek(e->awaiting, id, idlen, NULL)))
        table = e->awaiting;
    else if ((p = llmopt_join_peek(e->pending, id, idlen, NULL)))
        table = e->pending;
    if (!table) {
        snprintf(detail, sizeof(detail), "feedback for unknown or expired request_id '%.100s'", id);
        dlq(e, src, LLMOPT_DLQ_UNMATCHED, detail);
        return finish(e);
    }
    e->st.feedback++;
    /* the feedback goes into the entry's record in place */
    llmopt_outcome *o = &p->o;
    if (f->has_rating) {
        o->has_rating = true;
        o->rating = f->rating;
    }
    if (f->has_thumbs) {
        o->has_thumbs = true;
        o->thumbs = f->thumbs;
    }
    if (f->has_task_completed) {
        o->has_task_completed = true;
        o->task_completed = f->task_completed;
    }
    o->has_feedback_ts_ms = true;
    o->feedback_ts_ms = f->ts_ms;
    if (table == e->awaiting) {
        /* the outcome was emitted: emit the reward update */
        p->updates++;
        set_reward(e, o);
        char uid[LLMOPT_JOIN_MAX_KEY + 16];
        int n = snprintf(uid, sizeof(uid), "%.*s#u%u", (int)idlen, id, p->updates);
        llmopt_str base = o->outcome_id;
        o->outcome_id = (llmopt_str){uid, (size_t)n};
        o->is_update = true;
        emit_outcome(e, o);
        o->outcome_id = base;
        o->is_update = false;
    }
    /* the entry goes to the back of its table's expiry order, as a
     * re-inserted entry (same event time, a new sequence number) */
    int64_t ts = 0;
    llmopt_join_take(table, id, idlen, &ts);
    if (llmopt_join_put(table, id, idlen, ts, p, p->bytes)) {
        free(p);
        nomem(e);
    }
    advance_time(e, f->ts_ms);
    return finish(e);
}

llmopt_err_t llmopt_engine_advance(llmopt_engine *e, int64_t watermark_ms) {
    if (watermark_ms > LLMOPT_WINDOW_TS_MAX)
        watermark_ms = LLMOPT_WINDOW_TS_MAX;
    raise_watermark(e, watermark_ms);
    return finish(e);
}

llmopt_err_t llmopt_engine_flush(llmopt_engine *e) {
    int64_t far = LLMOPT_WINDOW_TS_MAX - 1;
    raise_watermark(e, far);
    /* join entries expire at ts + ttl <= wm; make sure even the newest go */
    llmopt_join_expire(e->pending, INT64_MAX);
    llmopt_join_expire(e->orphans, INT64_MAX);
    llmopt_join_expire(e->awaiting, INT64_MAX);
    return finish(e);
}

/* ---- lifecycle ---- */

static int64_t gcd64(int64_t a, int64_t b) {
    while (b) {
        int64_t t = a % b;
        a = b;
        b = t;
    }
    return a;
}

llmopt_engine *llmopt_engine_new(const llmopt_engine_config *cfg, const llmopt_engine_sink *sink,
                                 int32_t partition, char *errstr, size_t errstr_size) {
    if (llmopt_engine_config_check(cfg, errstr, errstr_size) != LLMOPT_OK)
        return NULL;
    llmopt_engine *e = calloc(1, sizeof(*e));
    if (!e)
        goto nomem;
    e->cfg = *cfg;
    e->sink = *sink;
    e->partition = partition;
    e->max_event_ms = INT64_MIN;
    e->watermark_ms = INT64_MIN;
    llmopt_outcome_init(&e->out);
    llmopt_window_metrics_init(&e->wm);
    llmopt_signal_init(&e->sig);
    /* the join budget is split: requests 1/2, awaiting feedback 3/8, orphans 1/8 */
    size_t b = cfg->join_max_bytes;
    llmopt_join_config jc = {.ttl_ms = cfg->join_window_ms, .max_bytes = b / 2,
                             .on_expire = on_pending_expire, .free_payload = free_jrec, .opaque = e};
    e->pending = llmopt_join_new(&jc);
    jc.max_bytes = b / 8;
    jc.on_expire = on_orphan_expire;
    e->orphans = llmopt_join_new(&jc);
    jc.ttl_ms = cfg->feedback_window_ms;
    jc.max_bytes = b / 8 * 3;
    jc.on_expire = on_awaiting_expire;
    e->awaiting = llmopt_join_new(&jc);
    if (!e->pending || !e->orphans || !e->awaiting || !arms_grow(e))
        goto nomem;
    llmopt_window_ops ops = {.payload_size = sizeof(llmopt_winagg), .init = wop_init, .add = wop_add,
                             .release = wop_release, .serialize = wop_serialize,
                             .deserialize = wop_deserialize, .ctx = e};
    int64_t g = 0;
    for (int i = 0; i < cfg->nwindows; i++) {
        g = gcd64(g, cfg->windows[i].size_ms);
        g = gcd64(g, cfg->windows[i].advance_ms);
    }
    e->pane_ms = g;
    llmopt_window_config pc = {.size_ms = g, .advance_ms = g, .offset_ms = cfg->windows[0].offset_ms,
                               .ooo_ms = cfg->ooo_ms, .grace_ms = cfg->grace_ms};
    if (!(e->panes = llmopt_window_store_new(&pc, &ops, errstr, errstr_size)))
        goto fail;
    return e;
nomem:
    llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
fail:
    llmopt_engine_destroy(e);
    return NULL;
}

void llmopt_engine_destroy(llmopt_engine *e) {
    if (!e)
        return;
    llmopt_join_destroy(e->pending);
    llmopt_join_destroy(e->orphans);
    llmopt_join_destroy(e->awaiting);
    llmopt_window_store_destroy(e->panes);
    for (size_t i = 0; i < e->arms_cap; i++)
        arm_free(e->arms[i]);
    free(e->arms);
    free(e->due);
    free(e->ready);
    llmopt_outcome_release(&e->out);
    llmopt_window_metrics_release(&e->wm);
    llmopt_signal_release(&e->sig);
    free(e);
}

int64_t llmopt_engine_max_event_ms(const llmopt_engine *e) {
    return e->max_event_ms;
}

void llmopt_engine_get_stats(const llmopt_engine *e, llmopt_engine_stats *st) {
    *st = e->st;
    llmopt_join_stats js;
    size_t bytes = 0;
    llmopt_join_get_stats(e->pending, &js);
    bytes += js.bytes;
    llmopt_join_get_stats(e->orphans, &js);
    bytes += js.bytes;
    llmopt_join_get_stats(e->awaiting, &js);
    bytes += js.bytes;
    llmopt_window_stats ws;
    llmopt_window_get_stats(e->panes, &ws);
    st->open_windows = ws.open_windows; /* open panes */
    bytes += ws.store_bytes;
    /* each open or retained pane holds two digests the store does not see */
    size_t digest_bytes = 2 * (16 * (size_t)e->cfg.digest_compression);
    bytes += ws.open_windows * digest_bytes;
    for (size_t i = 0; i < e->arms_cap; i++) {
        const arm *a = e->arms[i];
        if (a)
            bytes += sizeof(arm) + a->keylen + llmopt_detect_bytes(a->det) +
                     a->cap_panes * sizeof(pane) + a->npanes * digest_bytes;
    }
    st->state_bytes = bytes;
    st->arms = e->arms_n;
    st->watermark_ms = e->watermark_ms;
    st->max_event_ms = e->max_event_ms;
}

/* ---- checkpoint ---- */

/* 2: the join payloads are llmopt_jrec (updates + the whole outcome packed);
 * 1 held a packed request blob with the response fields beside it. */
#define ENGINE_CKPT_VERSION 2

static void write_jrec(void *opaque, llmopt_wbuf *w, const void *payload) {
    llmopt_jrec_write(payload, w);
}

static void *read_jrec(void *opaque, llmopt_rbuf *r, size_t *bytes) {
    llmopt_jrec *p = llmopt_jrec_read(r, opaque);
    if (p)
        *bytes = p->bytes;
    return p;
}

/* The config values the state depends on; a checkpoint only loads into an
 * engine configured the same way. */
static void write_config(const llmopt_engine_config *c, llmopt_wbuf *w) {
    llmopt_wbuf_i64(w, c->join_window_ms);
    llmopt_wbuf_i64(w, c->feedback_window_ms);
    llmopt_wbuf_i64(w, c->ooo_ms);
    llmopt_wbuf_i64(w, c->grace_ms);
    llmopt_wbuf_u32(w, (uint32_t)c->nwindows);
    for (int i = 0; i < c->nwindows; i++) {
        llmopt_wbuf_i64(w, c->windows[i].size_ms);
        llmopt_wbuf_i64(w, c->windows[i].advance_ms);
        llmopt_wbuf_i64(w, c->windows[i].offset_ms);
    }
    llmopt_wbuf_u32(w, c->digest_compression);
    for (int m = 0; m < LLMOPT_DM_COUNT; m++)
        llmopt_wbuf_u8(w, (uint8_t)c->detect.drift_mask[m]);
    for (int m = 0; m < LLMOPT_AM_COUNT; m++)
        llmopt_wbuf_u8(w, (uint8_t)c->detect.anomaly_mask[m]);
}

static int cmp_arm(const void *x, const void *y) {
    const arm *a = *(const arm *const *)x, *b = *(const arm *const *)y;
    size_t n = a->keylen < b->keylen ? a->keylen : b->keylen;
    int c = memcmp(a->key, b->key, n);
    return c ? c : (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

static void frame_begin(llmopt_wbuf *w, size_t *at) {
    *at = w->len;
    llmopt_wbuf_u32(w, 0);
}

static void frame_end(llmopt_wbuf *w, size_t at) {
    if (w->err)
        return;
    uint32_t n = (uint32_t)(w->len - at - 4);
    for (int i = 0; i < 4; i++)
        w->data[at + i] = (uint8_t)(n >> (8 * i));
}

void llmopt_engine_save(const llmopt_engine *e, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "ENGN", ENGINE_CKPT_VERSION);
    write_config(&e->cfg, w);
    llmopt_wbuf_i64(w, e->max_event_ms);
    llmopt_wbuf_i64(w, e->watermark_ms);
    const llmopt_engine_stats *s = &e->st;
    llmopt_wbuf_u64(w, s->requests);
    llmopt_wbuf_u64(w, s->responses);
    llmopt_wbuf_u64(w, s->feedback);
    for (int i = 0; i < LLMOPT_DLQ_COUNT; i++)
        llmopt_wbuf_u64(w, s->dlq[i]);
    llmopt_wbuf_u64(w, s->outcomes);
    llmopt_wbuf_u64(w, s->reward_updates);
    llmopt_wbuf_u64(w, s->missing);
    llmopt_wbuf_u64(w, s->metrics);
    llmopt_wbuf_u64(w, s->signals_drift);
    llmopt_wbuf_u64(w, s->signals_anomaly);
    for (int i = 0; i < 6; i++)
        llmopt_wbuf_u64(w, s->signals_by_detector[i]);
    llmopt_wbuf_u64(w, s->join_evicted);
    llmopt_wbuf_u64(w, s->orphan_responses);
    llmopt_join_serialize(e->pending, w, write_jrec, NULL);
    llmopt_join_serialize(e->orphans, w, write_jrec, NULL);
    llmopt_join_serialize(e->awaiting, w, write_jrec, NULL);
    size_t at;
    frame_begin(w, &at);
    llmopt_window_store_save(e->panes, w);
    frame_end(w, at);
    arm **sorted = malloc((e->arms_n ? e->arms_n : 1) * sizeof(*sorted));
    if (!sorted) {
        w->err = LLMOPT_ERR_NOMEM;
        return;
    }
    size_t n = 0;
    for (size_t i = 0; i < e->arms_cap; i++)
        if (e->arms[i])
            sorted[n++] = e->arms[i];
    qsort(sorted, n, sizeof(*sorted), cmp_arm);
    llmopt_wbuf_u32(w, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        const arm *a = sorted[i];
        llmopt_wbuf_u32(w, (uint32_t)a->keylen);
        llmopt_wbuf_bytes(w, a->key, a->keylen);
        for (int k = 0; k < e->cfg.nwindows; k++) {
            llmopt_wbuf_i64(w, a->late_pending[k]);
            llmopt_wbuf_i64(w, a->next_end[k]);
        }
        llmopt_wbuf_u32(w, a->npanes);
        for (uint32_t k = 0; k < a->npanes; k++) {
            llmopt_wbuf_i64(w, a->panes[k].start_ms);
            llmopt_winagg_serialize(&a->panes[k].agg, w);
        }
        llmopt_detect_serialize(a->det, w);
    }
    free(sorted);
}

llmopt_err_t llmopt_engine_load(llmopt_engine *e, const void *data, size_t len, char *errstr,
                                size_t errstr_size) {
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    if (len >= 5 && memcmp(data, "ENGN", 4) == 0 && ((const uint8_t *)data)[4] != ENGINE_CKPT_VERSION)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "engine checkpoint version %u, this build reads only version %u (the join "
                           "state's layout changed): start from an empty state or replay",
                           (unsigned)((const uint8_t *)data)[4], (unsigned)ENGINE_CKPT_VERSION);
    if (llmopt_rbuf_header(&r, "ENGN", ENGINE_CKPT_VERSION) != ENGINE_CKPT_VERSION)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "not an engine checkpoint");
    llmopt_wbuf mine;
    llmopt_wbuf_init(&mine);
    write_config(&e->cfg, &mine);
    if (mine.err || mine.len > r.left || memcmp(mine.data, r.p, mine.len) != 0) {
        llmopt_wbuf_release(&mine);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint was written with a different window, join or detector configuration");
    }
    r.p += mine.len;
    r.left -= mine.len;
    llmopt_wbuf_release(&mine);
    e->max_event_ms = llmopt_rbuf_i64(&r);
    e->watermark_ms = llmopt_rbuf_i64(&r);
    llmopt_engine_stats *s = &e->st;
    s->requests = llmopt_rbuf_u64(&r);
    s->responses = llmopt_rbuf_u64(&r);
    s->feedback = llmopt_rbuf_u64(&r);
    for (int i = 0; i < LLMOPT_DLQ_COUNT; i++)
        s->dlq[i] = llmopt_rbuf_u64(&r);
    s->outcomes = llmopt_rbuf_u64(&r);
    s->reward_updates = llmopt_rbuf_u64(&r);
    s->missing = llmopt_rbuf_u64(&r);
    s->metrics = llmopt_rbuf_u64(&r);
    s->signals_drift = llmopt_rbuf_u64(&r);
    s->signals_anomaly = llmopt_rbuf_u64(&r);
    for (int i = 0; i < 6; i++)
        s->signals_by_detector[i] = llmopt_rbuf_u64(&r);
    s->join_evicted = llmopt_rbuf_u64(&r);
    s->orphan_responses = llmopt_rbuf_u64(&r);
    if (r.err)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "truncated engine checkpoint");
    llmopt_outcome tmp;
    llmopt_outcome_init(&tmp);
    int bad = llmopt_join_deserialize(e->pending, &r, read_jrec, &tmp) ||
              llmopt_join_deserialize(e->orphans, &r, read_jrec, &tmp) ||
              llmopt_join_deserialize(e->awaiting, &r, read_jrec, &tmp);
    llmopt_outcome_release(&tmp);
    if (bad)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad join state in checkpoint");
    {
        uint32_t n = llmopt_rbuf_u32(&r);
        if (r.err || n > r.left)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "truncated window state");
        char why[160] = "";
        if (llmopt_window_store_load(e->panes, r.p, n, why, sizeof(why)))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad window state: %s", why);
        r.p += n;
        r.left -= n;
    }
    uint32_t narms = llmopt_rbuf_count(&r, 1u << 24, 8);
    for (uint32_t i = 0; i < narms && !r.err; i++) {
        uint32_t kl = llmopt_rbuf_u32(&r);
        if (r.err || kl == 0 || kl > 1024 || kl > r.left)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad arm key in checkpoint");
        const char *key = (const char *)r.p;
        size_t route_len = strnlen(key, kl);
        if (route_len >= kl)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad arm key in checkpoint");
        if (*arm_slot(e, key, kl))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "duplicate arm in checkpoint");
        arm *a = arm_get(e, key, kl, route_len);
        if (!a)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        r.p += kl;
        r.left -= kl;
        for (int k = 0; k < e->cfg.nwindows; k++) {
            a->late_pending[k] = llmopt_rbuf_i64(&r);
            a->next_end[k] = llmopt_rbuf_i64(&r);
            if (!r.err && a->late_pending[k] < 0)
                r.err = LLMOPT_ERR_INVALID;
        }
        uint32_t np = llmopt_rbuf_count(&r, 1u << 20, 16);
        if (r.err)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad arm state in checkpoint");
        if (np) {
            a->panes = calloc(np, sizeof(*a->panes));
            if (!a->panes)
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            a->cap_panes = np;
        }
        for (uint32_t k = 0; k < np; k++) {
            int64_t ps = llmopt_rbuf_i64(&r);
            if (r.err || (k > 0 && ps <= a->panes[k - 1].start_ms) ||
                llmopt_winagg_deserialize(&a->panes[k].agg, &r))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad pane in checkpoint");
            a->panes[k].start_ms = ps;
            a->npanes = k + 1;
        }
        arm_due(e, a);
        if (llmopt_detect_deserialize(a->det, &r))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad detector state in checkpoint");
    }
    if (r.err || r.left)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           r.left ? "trailing bytes in checkpoint" : "truncated checkpoint");
    return LLMOPT_OK;
}
