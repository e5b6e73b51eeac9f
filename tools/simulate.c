/*
 * simulate.c - `llmopt simulate` (simulate.h): the event loop that drives
 * simulated gateways (libllmopt-gateway) and backends (arm profiles) through
 * a scenario, writes the oracle and the share timeline, and prints the
 * summary.
 *
 * One thread. Responses and feedback wait in a binary heap ordered by their
 * own event time and are reported when the arrival process reaches it, so
 * the three topics interleave as a real gateway's would. The same seed with
 * the same decisions gives the same records; the decisions themselves come
 * from the live controller, so a closed-loop run is not reproducible bit for
 * bit (the open-loop parts are).
 */
#include "tools/simulate.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "common/cli.h"
#include "common/log.h"
#include "common/records.h"
#include "common/signals.h"
#include "gateway/include/llmopt_gateway.h"
#include "processor/core/reward.h"
#include "tools/simulate_conf.h"
#include "tools/simulate_oracle.h"
#include "tools/simulate_scenario.h"
#include "tools/simulate_quality.h"
#include "tools/simulate_stats.h"

static const llmopt_logger lg = LLMOPT_LOGGER("simulate");

#define MAX_GW 16

/* ---- randomness (xoshiro256** through the gateway's RNG type) ----------- */

static double unif(llmopt_gw_rng *r) {
    /* (0, 1): never 0, so log() is safe */
    double u;
    do
        u = llmopt_gw_rng_uniform(r);
    while (u <= 0);
    return u;
}

static double normal(llmopt_gw_rng *r) {
    return sqrt(-2 * log(unif(r))) * cos(2 * M_PI * unif(r));
}

static int64_t unif_int(llmopt_gw_rng *r, int64_t lo, int64_t hi) {
    return lo + (int64_t)(llmopt_gw_rng_uniform(r) * (double)(hi - lo + 1));
}

static size_t pick_mix(llmopt_gw_rng *r, const llmopt_sim_mix *m, size_t n) {
    double tot = 0;
    for (size_t i = 0; i < n; i++)
        tot += m[i].weight;
    double u = llmopt_gw_rng_uniform(r) * tot, c = 0;
    for (size_t i = 0; i < n; i++) {
        c += m[i].weight;
        if (u < c)
            return i;
    }
    return n - 1;
}

/* ---- pending responses and feedback ------------------------------------ */

typedef struct pend {
    int64_t ts_ms;
    uint64_t seq;
    int gw;
    bool feedback;
    llmopt_response r;
    llmopt_feedback f;
    char id[48], route[192], arm[LLMOPT_GW_NAME_MAX], provider[LLMOPT_GW_NAME_MAX];
    /* a request waiting in a batcher: what its backend answer needs */
    size_t ri, ti;
    int ai;
    int64_t arrival_ms;
    double qshift;               /* quality shift of the chosen parameters / template */
    bool has_ckey;
    char ckey[LLMOPT_GW_CACHE_KEY_LEN + 1];
    struct pend *next;           /* the batcher queue's FIFO */
} pend;

typedef struct heap {
    pend **v;
    size_t n, cap;
} heap;

static bool older(const pend *a, const pend *b) {
    return a->ts_ms < b->ts_ms || (a->ts_ms == b->ts_ms && a->seq < b->seq);
}

static bool heap_push(heap *h, pend *p) {
    if (h->n == h->cap) {
        size_t nc = h->cap ? h->cap * 2 : 1024;
        pend **nv = realloc(h->v, nc * sizeof(*nv));
        if (!nv)
            return false;
        h->v = nv;
        h->cap = nc;
    }
    size_t i = h->n++;
    while (i > 0 && older(p, h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = p;
    return true;
}

static pend *heap_pop(heap *h) {
    pend *top = h->v[0], *last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        const pend *best = last;
        if (l < h->n && older(h->v[l], best)) {
            m = l;
            best = h->v[l];
        }
        if (l + 1 < h->n && older(h->v[l + 1], best))
            m = l + 1;
        if (m == i)
            break;
        h->v[i] = h->v[m];
        i = m;
    }
    if (h->n)
        h->v[i] = last;
    return top;
}

/* ---- clocks ------------------------------------------------------------- */

static int64_t wall_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- the simulation ----------------------------------------------------- */

struct sim;

/* One gateway's batcher for one (route, arm) with batch_latency: the real
 * libllmopt-gateway batcher (parameters from the route's decision) and, in
 * the same order, the requests it holds. */
typedef struct bqueue {
    struct sim *m;
    llmopt_gw_batcher *b;
    int gw;
    size_t ri;
    int ai;
    pend *head, *tail;
    size_t n;
    int64_t polled_ms;           /* event time of the last poll */
} bqueue;

typedef struct sim {
    const llmopt_simulate_conf *conf;
    llmopt_sim_scenario *s;
    llmopt_sim_state state;
    llmopt_sim_oracle_route oracle[LLMOPT_SIM_MAX_ROUTES];
    char wire_route[LLMOPT_SIM_MAX_ROUTES][192];
    llmopt_gw *gw[MAX_GW];
    int n_gw;
    char gw_id[MAX_GW][64];
    llmopt_gw_rng rng, choose_rng;
    heap h;
    uint64_t seq, n_req, n_fail_report, n_fallback, n_denied, n_unknown;
    llmopt_sim_stats *stats;
    FILE *oracle_f;
    double speed, wall0;
    int64_t start_ms, duration_ms;
    /* backends' capacity: GCRA theoretical arrival time, event-time ms */
    double cap_tat_ms[LLMOPT_SIM_MAX_ROUTES][LLMOPT_SIM_MAX_ARMS];
    /* repeated prompts: cumulative Zipf weights of each route (NULL: none) */
    double *zipf_cdf[LLMOPT_SIM_MAX_ROUTES];
    /* batching: queues by (gateway, route, arm), created on first use */
    bqueue *bq[MAX_GW][LLMOPT_SIM_MAX_ROUTES][LLMOPT_SIM_MAX_ARMS];
    bqueue **bq_list;
    size_t n_bq;
    int64_t batch_now_ms;        /* event time of the batcher call in progress */
    uint64_t n_batch_lost;       /* batcher items not matching the queue (a bug) */
    bool oom;                    /* an allocation failed inside a batcher callback */
} sim;

/* Cumulative Zipf(s) weights of ranks 1..n, normalised to end at 1. */
static double *zipf_cdf_new(uint32_t n, double s) {
    double *c = malloc(sizeof(double) * n);
    if (!c)
        return NULL;
    double acc = 0;
    for (uint32_t k = 0; k < n; k++)
        c[k] = acc += pow((double)(k + 1), -s);
    for (uint32_t k = 0; k < n; k++)
        c[k] /= acc;
    return c;
}

/* Rank 0..n-1 of a Zipf draw: the first rank whose cumulative weight
 * exceeds u. */
static uint32_t zipf_draw(const double *cdf, uint32_t n, double u) {
    uint32_t lo = 0, hi = n - 1;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cdf[mid] > u)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* The backend's capacity (a token bucket of capacity_rps, capacity_burst
 * in event time): true when it takes one more request at ts. */
static bool capacity_take(sim *m, size_t ri, int ai, const llmopt_sim_profile *pf, int64_t ts) {
    if (pf->capacity_rps <= 0)
        return true;
    double t_ms = 1000.0 / pf->capacity_rps, now = (double)ts;
    double *tat = &m->cap_tat_ms[ri][ai];
    double next = (*tat > now ? *tat : now) + t_ms;
    if (next - now > pf->capacity_burst * t_ms)
        return false;
    *tat = next;
    return true;
}

static void pace(const sim *m, int64_t ts) {
    if (m->speed <= 0)
        return;
    double due = m->wall0 + (double)(ts - m->start_ms) / 1000.0 / m->speed;
    double now = mono_s();
    if (due > now + 0.0005)
        usleep((useconds_t)((due - now) * 1e6));
}

static void write_oracle(sim *m, int64_t ts, const char *reason) {
    if (!m->oracle_f)
        return;
    for (size_t ri = 0; ri < m->s->n_routes; ri++) {
        const llmopt_sim_route *r = &m->s->routes[ri];
        const llmopt_sim_oracle_route *o = &m->oracle[ri];
        fprintf(m->oracle_f,
                "{\"ts_ms\":%" PRId64 ",\"t_s\":%.3f,\"reason\":\"%s\",\"route\":\"%s\","
                "\"best_arm\":%s%s%s,\"best_reward\":%.6f,\"uniform_reward\":%.6f,\"arms\":{",
                ts, (double)(ts - m->start_ms) / 1000.0, reason, m->wire_route[ri],
                o->best >= 0 ? "\"" : "", o->best >= 0 ? r->arms[o->best].id : "null",
                o->best >= 0 ? "\"" : "", o->best_reward, o->uniform_reward);
        for (size_t ai = 0; ai < r->n_arms; ai++)
            fprintf(m->oracle_f,
                    "%s\"%s\":{\"reward\":%.6f,\"quality\":%.6f,\"cost\":%.6f,"
                    "\"latency\":%.6f,\"available\":%s}",
                    ai ? "," : "", r->arms[ai].id, o->arm[ai].reward, o->arm[ai].quality,
                    o->arm[ai].cost, o->arm[ai].latency,
                    m->state.p[ri][ai].available ? "true" : "false");
        fprintf(m->oracle_f, "}}\n");
    }
    fflush(m->oracle_f);
}

static void recompute_oracles(sim *m) {
    for (size_t ri = 0; ri < m->s->n_routes; ri++)
        llmopt_sim_oracle(m->s, &m->state, ri, &m->oracle[ri]);
}

static void emit(sim *m, pend *p) {
    char err[256];
    llmopt_err_t e = p->feedback ? llmopt_gw_report_feedback(m->gw[p->gw], &p->f, err, sizeof(err))
                                 : llmopt_gw_report_response(m->gw[p->gw], &p->r, err, sizeof(err));
    if (e) {
        if (m->n_fail_report++ < 5)
            llmopt_log_warn(&lg, "report %s '%s': %s", p->feedback ? "feedback" : "response", p->id,
                            e == LLMOPT_ERR_NOMEM ? "producer queue full (dropped)" : err);
    }
}

static void drain_due(sim *m, int64_t ts) {
    while (m->h.n && m->h.v[0]->ts_ms <= ts) {
        pend *p = heap_pop(&m->h);
        pace(m, p->ts_ms);
        emit(m, p);
        free(p);
    }
}

/* Completes request p (route p->ri, arm p->ai, arrived at p->arrival_ms):
 * its response comes back lat ms after the arrival. Records the realised
 * reward, queues the response and maybe a feedback for their event time.
 * Frees p on failure. */
static llmopt_err_t finish(sim *m, pend *p, double lat, bool ok, double quality) {
    size_t ri = p->ri;
    int ai = p->ai;
    int64_t ts = p->arrival_ms;
    int g = p->gw;
    const llmopt_sim_route *r = &m->s->routes[ri];
    const llmopt_sim_oracle_route *o = &m->oracle[ri];
    llmopt_response *s = &p->r;
    s->latency_ms = lat;
    s->ts_ms = ts + (int64_t)lat;
    llmopt_sim_stats_count(m->stats, ri, s->ts_ms - m->start_ms, LLMOPT_SIM_RESPONSES);
    if (s->has_batch_size) {
        llmopt_sim_stats_count(m->stats, ri, s->ts_ms - m->start_ms, LLMOPT_SIM_BATCHED);
        llmopt_sim_stats_add(m->stats, ri, s->ts_ms - m->start_ms, LLMOPT_SIM_BATCH_ITEMS,
                             (uint32_t)s->batch_size);
    }
    p->ts_ms = s->ts_ms;
    p->seq = m->seq++;

    llmopt_reward_input rin = {.success = ok, .has_quality = ok, .quality = quality,
                               .cost_usd = s->cost_usd, .latency_ms = lat};
    llmopt_reward rw;
    llmopt_reward_compute(&r->reward, &rin, &rw);
    llmopt_sim_stats_record(m->stats, ri, ai, ts - m->start_ms, rw.reward,
                            ai >= 0 ? o->arm[ai].reward : 0, o->best_reward, o->uniform_reward);

    /* feedback: the application's rating equals the judged quality, so the
     * reward (and the oracle) is unchanged by it; it exercises the path */
    pend *fb = NULL;
    if (ok && r->feedback_fraction > 0 && llmopt_gw_rng_uniform(&m->rng) < r->feedback_fraction) {
        fb = calloc(1, sizeof(*fb));
        if (!fb) {
            free(p);
            return LLMOPT_ERR_NOMEM;
        }
        memcpy(fb->id, p->id, sizeof(fb->id));
        memcpy(fb->route, p->route, sizeof(fb->route));
        fb->gw = g;
        fb->feedback = true;
        llmopt_feedback_init(&fb->f);
        fb->f.request_id = llmopt_str_of(fb->id);
        fb->f.route = llmopt_str_of(fb->route);
        fb->f.ts_ms = s->ts_ms + r->feedback_delay_ms;
        fb->f.has_rating = true;
        fb->f.rating = quality;
        fb->ts_ms = fb->f.ts_ms;
        fb->seq = m->seq++;
    }
    if (!heap_push(&m->h, p)) {
        free(p);
        free(fb);
        return LLMOPT_ERR_NOMEM;
    }
    if (fb && !heap_push(&m->h, fb)) {
        free(fb);
        return LLMOPT_ERR_NOMEM;
    }
    return LLMOPT_OK;
}


/* ---- batching ----------------------------------------------------------- */

/* The backend answers batched request p: the batch of n closed at event
 * time t and is served in lat_b ms; the request waited t - arrival in the
 * batcher, and that wait is part of its latency. Errors, tokens and
 * quality are drawn per item as for an unbatched request. */
static void serve_batched(sim *m, pend *p, const llmopt_sim_profile *pf, int64_t t,
                          double lat_b, size_t n) {
    const llmopt_sim_route *r = &m->s->routes[p->ri];
    llmopt_response *s = &p->r;
    double wait = (double)(t - p->arrival_ms), lat, quality = 0;
    bool ok = false;
    s->has_batch_size = true;
    s->batch_size = (int32_t)n;
    if (!pf->available) {
        lat = wait + 20;
        s->status = LLMOPT_STATUS_ERROR;
        s->http_status = 503;
        s->error_type = llmopt_str_of("unavailable");
    } else if (!capacity_take(m, p->ri, p->ai, pf, t)) {
        lat = wait + 30;
        s->status = LLMOPT_STATUS_RATE_LIMITED;
        s->http_status = 429;
        s->error_type = llmopt_str_of("rate_limited");
        llmopt_sim_stats_count(m->stats, p->ri, p->arrival_ms + (int64_t)lat - m->start_ms,
                               LLMOPT_SIM_LIMITED);
    } else {
        bool failed = unif(&m->rng) < pf->error_rate;
        int64_t out_tok = unif_int(&m->rng, pf->output_tokens_min, pf->output_tokens_max);
        double qv = pf->quality_mean + p->qshift + pf->quality_sd * normal(&m->rng);
        quality = qv < 0 ? 0 : qv > 1 ? 1 : qv;
        if (failed) {
            lat = wait + lat_b * 0.3;
            s->status = LLMOPT_STATUS_ERROR;
            s->http_status = 500;
            s->error_type = llmopt_str_of("server_error");
        } else {
            ok = true;
            lat = wait + lat_b;
            s->status = LLMOPT_STATUS_OK;
            s->http_status = 200;
            s->has_ttft_ms = true;
            s->ttft_ms = wait + lat_b * pf->ttft_fraction;
            s->output_tokens = out_tok;
            s->cost_usd = (double)s->input_tokens / 1000.0 * pf->price_in_per_1k +
                          (double)out_tok / 1000.0 * pf->price_out_per_1k;
            s->has_quality = true;
            s->quality = quality;
            if (p->has_ckey)
                llmopt_gw_cache_put(m->gw[p->gw], p->route, r->tasks[p->ti].name, p->ckey,
                                    &quality, sizeof(quality), p->arrival_ms + (int64_t)lat);
        }
    }
    if (finish(m, p, lat, ok, quality))
        m->oom = true;
}

/* Batch latency of n items (docs/SIMULATOR.md): one lognormal draw of the
 * arm's latency, plus per_item_ms for each item beyond the first, plus
 * per_item_above_knee_ms for each item beyond the knee. */
static double batch_latency(sim *m, const llmopt_sim_profile *pf, size_t n) {
    double lat = pf->latency_median_ms * exp(pf->latency_sigma * normal(&m->rng));
    lat += pf->batch_per_item_ms * (double)(n - 1);
    if (pf->batch_knee > 0 && (int64_t)n > pf->batch_knee)
        lat += pf->batch_above_knee_ms * (double)((int64_t)n - pf->batch_knee);
    return lat;
}

/* The batcher's callback (its lock held): the closed batch's items are the
 * first n requests of the queue, in order. */
static void batch_closed(void *ctx, const llmopt_gw_batch_item *items, size_t n) {
    bqueue *q = ctx;
    sim *m = q->m;
    int64_t t = m->batch_now_ms;
    const llmopt_sim_profile *pf = &m->state.p[q->ri][q->ai];
    double lat_b = batch_latency(m, pf, n);
    llmopt_sim_stats_count(m->stats, q->ri, t - m->start_ms, LLMOPT_SIM_BATCHES);
    for (size_t i = 0; i < n; i++) {
        pend *p = q->head;
        if (!p || strcmp(p->id, items[i].request_id)) {
            if (m->n_batch_lost++ < 5)
                llmopt_log_error(&lg, "batcher emitted '%s', expected '%s'",
                                 items[i].request_id, p ? p->id : "(nothing)");
            continue;
        }
        q->head = p->next;
        if (!q->head)
            q->tail = NULL;
        q->n--;
        p->next = NULL;
        serve_batched(m, p, pf, t, lat_b, n);
    }
}

/* Queues request p into its (gateway, route, arm) batcher at event time ts. */
static llmopt_err_t batch_enqueue(sim *m, pend *p, int64_t tokens, int64_t ts) {
    bqueue *q = m->bq[p->gw][p->ri][p->ai];
    if (!q) {
        bqueue **nl = realloc(m->bq_list, (m->n_bq + 1) * sizeof(*nl));
        if (!nl || !(q = calloc(1, sizeof(*q)))) {
            if (nl)
                m->bq_list = nl;
            free(p);
            return LLMOPT_ERR_NOMEM;
        }
        m->bq_list = nl;
        *q = (bqueue){.m = m, .gw = p->gw, .ri = p->ri, .ai = p->ai, .polled_ms = ts};
        /* parameters from the route's decision (batching off or absent:
         * batches of one, closed at once) */
        if (!(q->b = llmopt_gw_batcher_new(m->gw[p->gw], p->route, 1, 0, 0, batch_closed, q))) {
            free(q);
            free(p);
            return LLMOPT_ERR_NOMEM;
        }
        m->bq_list[m->n_bq++] = q;
        m->bq[p->gw][p->ri][p->ai] = q;
    }
    /* in the queue first: the add may close a batch holding it */
    if (q->tail)
        q->tail->next = p;
    else
        q->head = p;
    q->tail = p;
    q->n++;
    m->batch_now_ms = ts;
    llmopt_err_t e = llmopt_gw_batcher_add(q->b, p->id, tokens, ts);
    if (q->polled_ms < ts)
        q->polled_ms = ts;
    return e ? e : m->oom ? LLMOPT_ERR_NOMEM : LLMOPT_OK;
}

/* A gateway polls its batchers: every ms of event time up to ts while they
 * hold requests, so a batch closes when its oldest request has waited
 * max_wait_ms (to the ms), as a gateway's timer would close it. */
static llmopt_err_t batch_poll(sim *m, int64_t ts) {
    for (size_t i = 0; i < m->n_bq; i++) {
        bqueue *q = m->bq_list[i];
        if (q->n && q->polled_ms < q->head->arrival_ms)
            q->polled_ms = q->head->arrival_ms;
        while (q->n && q->polled_ms < ts) {
            int64_t t = ++q->polled_ms;
            m->batch_now_ms = t;
            llmopt_gw_batcher_poll(q->b, t);
        }
        if (q->polled_ms < ts)
            q->polled_ms = ts;
    }
    return m->oom ? LLMOPT_ERR_NOMEM : LLMOPT_OK;
}

/* End of the run: what the batchers still hold goes out at ts. */
static llmopt_err_t batch_flush(sim *m, int64_t ts) {
    for (size_t i = 0; i < m->n_bq; i++) {
        m->batch_now_ms = ts;
        llmopt_gw_batcher_flush(m->bq_list[i]->b);
    }
    return m->oom ? LLMOPT_ERR_NOMEM : LLMOPT_OK;
}

static void batch_release(sim *m) {
    for (size_t i = 0; i < m->n_bq; i++) {
        bqueue *q = m->bq_list[i];
        m->batch_now_ms = q->polled_ms;
        llmopt_gw_batcher_destroy(q->b); /* emits what is pending */
        while (q->head) {
            pend *p = q->head;
            q->head = p->next;
            free(p);
        }
        m->bq[q->gw][q->ri][q->ai] = NULL;
        free(q);
    }
    free(m->bq_list);
    m->bq_list = NULL;
    m->n_bq = 0;
}

/* One request of route ri at event time ts. */
static llmopt_err_t request(sim *m, size_t ri, int64_t ts) {
    const llmopt_sim_route *r = &m->s->routes[ri];
    const char *route = m->wire_route[ri];
    int g = (int)(llmopt_gw_rng_uniform(&m->rng) * m->n_gw);
    llmopt_gw *gw = m->gw[g];
    size_t ti = pick_mix(&m->rng, r->tasks, r->n_tasks);
    const char *tenant = r->n_tenants ? r->tenants[pick_mix(&m->rng, r->tenants, r->n_tenants)].name
                                      : NULL;
    int64_t now = wall_ms();
    llmopt_gw_choice ch;
    llmopt_gw_choose_args ca = {.now_ms = now, .u = -1, .rng = &m->choose_rng};
    llmopt_gw_choose(gw, route, &ca, &ch);
    if (ch.flags & LLMOPT_GW_CHOICE_FALLBACK) {
        /* no decision yet: the route's first arm, as a gateway's configured default */
        m->n_fallback++;
        snprintf(ch.arm_id, sizeof(ch.arm_id), "%s", r->arms[0].id);
        snprintf(ch.provider, sizeof(ch.provider), "%s", r->arms[0].provider);
        snprintf(ch.model, sizeof(ch.model), "%s", r->arms[0].model);
    }
    int64_t in_tok = 0;
    int ai = llmopt_sim_arm_index(r, ch.arm_id);
    const llmopt_sim_profile *pf = ai >= 0 ? &m->state.p[ri][ai] : NULL;
    if (pf)
        in_tok = unif_int(&m->rng, pf->input_tokens_min, pf->input_tokens_max);
    /* repeated prompts: the gateway's cache is asked first (event time) */
    char ckey[LLMOPT_GW_CACHE_KEY_LEN + 1];
    bool cached = false;
    double cached_q = 0;
    if (m->zipf_cdf[ri]) {
        uint32_t k = zipf_draw(m->zipf_cdf[ri], r->prompts_distinct, unif(&m->rng));
        char prompt[64];
        int plen = snprintf(prompt, sizeof(prompt), "prompt %u", k);
        llmopt_gw_cache_key(route, prompt, (size_t)plen, ckey);
        void *v = NULL;
        size_t vlen = 0;
        if (llmopt_gw_cache_get(gw, route, r->tasks[ti].name, ckey, ts, &v, &vlen)) {
            if (vlen == sizeof(double)) {
                memcpy(&cached_q, v, sizeof(double));
                cached = true;
            }
            free(v);
        }
    }
    llmopt_gw_admission adm;
    llmopt_gw_admit_args aa = {.tenant = tenant, .priority = LLMOPT_GW_PRIO_MEDIUM,
                               .tokens = (double)in_tok, .now_us = ts * 1000};
    if (cached)
        adm = (llmopt_gw_admission){.verdict = LLMOPT_GW_ADMIT};
    else
        llmopt_gw_admit(gw, route, &aa, &adm);
    const llmopt_sim_oracle_route *o = &m->oracle[ri];
    if (adm.verdict == LLMOPT_GW_DENY) {
        /* never sent to a backend, so nothing is reported: the gateway's
         * own refusals must not count as the backend's rate limiting */
        m->n_denied++;
        llmopt_sim_stats_count(m->stats, ri, ts - m->start_ms, LLMOPT_SIM_DENIED);
        llmopt_sim_stats_record(m->stats, ri, ai, ts - m->start_ms, 0,
                                ai >= 0 ? o->arm[ai].reward : 0, o->best_reward,
                                o->uniform_reward);
        return LLMOPT_OK;
    }
    if (adm.verdict == LLMOPT_GW_DEGRADE) {
        int di = llmopt_sim_arm_index(r, adm.degrade_arm_id);
        if (di >= 0) {
            ai = di;
            pf = &m->state.p[ri][ai];
            snprintf(ch.arm_id, sizeof(ch.arm_id), "%s", r->arms[ai].id);
            snprintf(ch.provider, sizeof(ch.provider), "%s", r->arms[ai].provider);
            snprintf(ch.model, sizeof(ch.model), "%s", r->arms[ai].model);
            ch.propensity = 1;
        }
    }
    pend *p = calloc(1, sizeof(*p));
    if (!p)
        return LLMOPT_ERR_NOMEM;
    snprintf(p->id, sizeof(p->id), "sim-%" PRIu64 "-%" PRIu64, m->s->seed, m->n_req++);
    snprintf(p->route, sizeof(p->route), "%s", route);
    snprintf(p->arm, sizeof(p->arm), "%s", ch.arm_id);
    snprintf(p->provider, sizeof(p->provider), "%s", ch.provider);
    p->gw = g;
    p->ri = ri;
    p->ai = ai;
    p->ti = ti;
    p->arrival_ms = ts;
    if (m->zipf_cdf[ri]) {
        p->has_ckey = true;
        memcpy(p->ckey, ckey, sizeof(p->ckey));
    }

    llmopt_request q;
    llmopt_request_init(&q);
    llmopt_gw_request_fill(gw, route, &ch, &q);
    q.request_id = llmopt_str_of(p->id);
    q.ts_ms = ts;
    q.tenant = llmopt_str_of(tenant);
    q.task_type = llmopt_str_of(r->tasks[ti].name);
    q.input_tokens_est = in_tok;
    char err[256];
    llmopt_err_t e = llmopt_gw_report_request(gw, &q, err, sizeof(err));
    if (e && m->n_fail_report++ < 5)
        llmopt_log_warn(&lg, "report request '%s': %s", p->id,
                        e == LLMOPT_ERR_NOMEM ? "producer queue full (dropped)" : err);

    llmopt_response *s = &p->r;
    llmopt_response_init(s);
    s->request_id = llmopt_str_of(p->id);
    s->route = llmopt_str_of(p->route);
    s->arm = llmopt_str_of(p->arm);
    s->provider = llmopt_str_of(p->provider);
    s->input_tokens = in_tok;
    s->has_http_status = true;
    /* parameters and template of the chosen arm move its quality */
    const char *pn[LLMOPT_GW_MAX_PARAMS];
    double pv[LLMOPT_GW_MAX_PARAMS];
    for (size_t i = 0; i < ch.n_params && i < LLMOPT_GW_MAX_PARAMS; i++)
        pn[i] = ch.params[i].name, pv[i] = ch.params[i].value;
    if (ai >= 0)
        p->qshift = llmopt_sim_qmodel_shift(r->arms[ai].qmodel, ch.n_params, pn, pv,
                                            ch.prompt_template_id);
    /* a fresh request to a batching backend waits in the gateway's batcher */
    if (!cached && pf && pf->available && pf->batched)
        return batch_enqueue(m, p, in_tok, ts);
    double lat = 0, quality = 0;
    bool ok = false;
    if (cached) {
        /* the cached answer, judged cached_quality_penalty lower */
        ok = true;
        lat = r->cached_latency_ms;
        double qv = cached_q - r->cached_quality_penalty;
        quality = qv < 0 ? 0 : qv > 1 ? 1 : qv;
        s->status = LLMOPT_STATUS_OK;
        s->http_status = 200;
        s->cache_hit = true;
        s->has_ttft_ms = true;
        s->ttft_ms = lat;
        s->has_quality = true;
        s->quality = quality;
        llmopt_sim_stats_count(m->stats, ri, ts + (int64_t)lat - m->start_ms,
                               LLMOPT_SIM_CACHE_HITS);
    } else if (pf && pf->available && !capacity_take(m, ri, ai, pf, ts)) {
        /* over the backend's capacity: an immediate 429 */
        lat = 30;
        s->status = LLMOPT_STATUS_RATE_LIMITED;
        s->http_status = 429;
        s->error_type = llmopt_str_of("rate_limited");
        llmopt_sim_stats_count(m->stats, ri, ts + (int64_t)lat - m->start_ms,
                               LLMOPT_SIM_LIMITED);
    } else if (!pf || !pf->available) {
        /* an arm the backend fleet does not (yet) serve */
        if (!pf)
            m->n_unknown++;
        lat = 20;
        s->status = LLMOPT_STATUS_ERROR;
        s->http_status = 503;
        s->error_type = llmopt_str_of("unavailable");
    } else {
        lat = pf->latency_median_ms * exp(pf->latency_sigma * normal(&m->rng));
        bool failed = unif(&m->rng) < pf->error_rate;
        int64_t out_tok = unif_int(&m->rng, pf->output_tokens_min, pf->output_tokens_max);
        double qv = pf->quality_mean + p->qshift + pf->quality_sd * normal(&m->rng);
        quality = qv < 0 ? 0 : qv > 1 ? 1 : qv;
        if (failed) {
            lat *= 0.3; /* errors come back early */
            s->status = LLMOPT_STATUS_ERROR;
            s->http_status = 500;
            s->error_type = llmopt_str_of("server_error");
        } else {
            ok = true;
            s->status = LLMOPT_STATUS_OK;
            s->http_status = 200;
            s->has_ttft_ms = true;
            s->ttft_ms = lat * pf->ttft_fraction;
            s->output_tokens = out_tok;
            s->cost_usd = (double)in_tok / 1000.0 * pf->price_in_per_1k +
                          (double)out_tok / 1000.0 * pf->price_out_per_1k;
            s->has_quality = true;
            s->quality = quality;
            if (m->zipf_cdf[ri])
                llmopt_gw_cache_put(gw, route, r->tasks[ti].name, ckey, &quality,
                                    sizeof(quality), ts + (int64_t)lat);
        }
    }
    return finish(m, p, lat, ok, quality);
}

static void progress(sim *m, int64_t ts, int64_t window_ms) {
    int64_t off = ts - m->start_ms;
    char line[1024];
    size_t n = 0;
    n += (size_t)snprintf(line + n, sizeof(line) - n, "+%4.0fs", (double)off / 1000.0);
    for (size_t ri = 0; ri < m->s->n_routes && n < sizeof(line); ri++) {
        const llmopt_sim_route *r = &m->s->routes[ri];
        n += (size_t)snprintf(line + n, sizeof(line) - n, " | %s:", r->name);
        for (size_t ai = 0; ai < r->n_arms && n < sizeof(line); ai++) {
            double sh = llmopt_sim_stats_share(m->stats, ri, ai, off - window_ms, off, NULL);
            n += (size_t)snprintf(line + n, sizeof(line) - n, " %s %3.0f%%", r->arms[ai].id,
                                  isfinite(sh) ? 100 * sh : 0.0);
        }
        if (n < sizeof(line) && m->oracle[ri].best >= 0)
            n += (size_t)snprintf(line + n, sizeof(line) - n, " (best %s)",
                                  r->arms[m->oracle[ri].best].id);
    }
    fprintf(stderr, "%s\n", line);
}

/* Per change and targeted (route, arm): is the arm the oracle's best after? */
static void register_changes(sim *m, size_t first, size_t n) {
    for (size_t ci = first; ci < first + n; ci++)
        for (size_t ri = 0; ri < m->s->n_routes; ri++)
            for (size_t ai = 0; ai < m->s->routes[ri].n_arms; ai++)
                if (llmopt_sim_change_targets(m->s, &m->s->changes[ci], ri, ai))
                    llmopt_sim_stats_change(m->stats, ci, ri, ai,
                                            m->oracle[ri].best == (int)ai);
}

static FILE *open_out(const char *path) {
    if (!path || !*path)
        return NULL;
    if (!strcmp(path, "-"))
        return stdout;
    FILE *f = fopen(path, "w");
    if (!f)
        llmopt_log_error(&lg, "cannot write '%s'", path);
    return f;
}

static void close_out(FILE *f) {
    if (f && f != stdout)
        fclose(f);
}

static int run(sim *m, llmopt_config *cfg) {
    const llmopt_simulate_conf *c = m->conf;
    int rc = 1;
    char err[512];
    char topics[5][256];
    const char *pre = c->topic_prefix ? c->topic_prefix : "";
    const char *names[5] = {"llm.routing", "llm.requests", "llm.responses", "llm.feedback", ""};
    for (int i = 0; i < 4; i++)
        snprintf(topics[i], sizeof(topics[i]), "%s%s", pre, names[i]);
    /* kafka.* keys: bootstrap.servers for the gateways, the rest as props */
    const char *bootstrap = getenv("LLMOPT_BOOTSTRAP");
    if (!bootstrap || !*bootstrap)
        bootstrap = "127.0.0.1:19092";
    size_t nk = llmopt_config_kafka_count(cfg);
    const char **props = calloc(2 * nk + 1, sizeof(*props));
    if (!props)
        goto out;
    size_t np = 0;
    for (size_t i = 0; i < nk; i++) {
        const char *k, *v;
        if (!llmopt_config_kafka_get(cfg, i, &k, &v, NULL))
            continue;
        if (!strcmp(k, "bootstrap.servers")) {
            bootstrap = v;
            continue;
        }
        props[np++] = k;
        props[np++] = v;
    }
    props[np] = NULL;
    for (int g = 0; g < m->n_gw; g++) {
        llmopt_gw_config gc;
        llmopt_gw_config_init(&gc);
        snprintf(m->gw_id[g], sizeof(m->gw_id[g]), "%s-%d", c->gateway_id, g);
        gc.gateway_id = m->gw_id[g];
        gc.bootstrap_servers = bootstrap;
        gc.routing_topic = topics[0];
        gc.requests_topic = topics[1];
        gc.responses_topic = topics[2];
        gc.feedback_topic = topics[3];
        gc.kafka_props = props;
        gc.report_format = c->format == 1 ? LLMOPT_GW_FORMAT_JSON : LLMOPT_GW_FORMAT_AVRO;
        gc.rng_seed = m->s->seed + (uint64_t)g;
        gc.default_arm_id = m->s->routes[0].arms[0].id;
        if (!(m->gw[g] = llmopt_gw_new(&gc, err, sizeof(err)))) {
            llmopt_log_error(&lg, "gateway %d: %s", g, err);
            goto out;
        }
    }
    /* routing caught up, and a decision of every route (or the timeout) */
    double t_ready = mono_s() + (double)c->ready_timeout_ms / 1000.0;
    for (int g = 0; g < m->n_gw; g++) {
        int left = (int)((t_ready - mono_s()) * 1000);
        if (llmopt_gw_wait_ready(m->gw[g], left > 0 ? left : 0))
            llmopt_log_warn(&lg, "gateway %d: routing topic '%s' not caught up", g, topics[0]);
    }
    for (;;) {
        size_t missing = 0;
        for (size_t ri = 0; ri < m->s->n_routes; ri++)
            for (int g = 0; g < m->n_gw; g++)
                missing += llmopt_gw_route_version(m->gw[g], m->wire_route[ri]) == 0;
        if (!missing)
            break;
        if (mono_s() >= t_ready || llmopt_signals_stop_requested()) {
            llmopt_log_warn(&lg, "%zu route(s) x gateway(s) without a routing decision after "
                            "%lld ms: they start on the route's first arm",
                            missing, (long long)c->ready_timeout_ms);
            break;
        }
        usleep(50000);
    }

    m->start_ms = c->start_ms ? c->start_ms : wall_ms();
    m->wall0 = mono_s();
    llmopt_sim_state_init(&m->state, m->s);
    size_t first, n = llmopt_sim_state_advance(&m->state, m->s, 0, &first);
    recompute_oracles(m);
    register_changes(m, first, n);
    write_oracle(m, m->start_ms, "start");
    double total_rate = 0;
    for (size_t ri = 0; ri < m->s->n_routes; ri++)
        total_rate += m->s->routes[ri].rate;
    llmopt_log_info(&lg, "scenario '%s': %zu route(s), %.0f req/s, %lld s of event time at "
                    "speed %g, %d gateway(s), topics '%s*', routes '%s*'",
                    m->s->name, m->s->n_routes, total_rate, (long long)(m->duration_ms / 1000),
                    m->speed, m->n_gw, pre, c->route_prefix ? c->route_prefix : "");
    int64_t end = m->start_ms + m->duration_ms;
    int64_t next_oracle = m->start_ms + c->oracle_interval_ms;
    double next_progress = mono_s() + (double)c->progress_ms / 1000.0;
    double t = (double)m->start_ms;
    int64_t last_progress_ts = m->start_ms;
    for (;;) {
        t += -log(unif(&m->rng)) * 1000.0 / total_rate;
        if (t >= (double)end || llmopt_signals_stop_requested())
            break;
        int64_t ts = (int64_t)t;
        if (batch_poll(m, ts)) {
            llmopt_log_error(&lg, "out of memory");
            goto out;
        }
        drain_due(m, ts);
        pace(m, ts);
        n = llmopt_sim_state_advance(&m->state, m->s, ts - m->start_ms, &first);
        if (n) {
            recompute_oracles(m);
            register_changes(m, first, n);
            for (size_t i = first; i < first + n; i++)
                llmopt_log_info(&lg, "+%llds: %s%s%s: %s",
                                (long long)(m->s->changes[i].at_ms / 1000),
                                m->s->changes[i].route ? m->s->changes[i].route : "*", "/",
                                m->s->changes[i].arm, m->s->changes[i].label);
            write_oracle(m, m->start_ms + m->s->changes[first].at_ms, "change");
        }
        while (ts >= next_oracle) {
            write_oracle(m, next_oracle, "tick");
            next_oracle += c->oracle_interval_ms;
        }
        double u = llmopt_gw_rng_uniform(&m->rng) * total_rate, acc = 0;
        size_t ri = 0;
        for (; ri + 1 < m->s->n_routes; ri++) {
            acc += m->s->routes[ri].rate;
            if (u < acc)
                break;
        }
        if (request(m, ri, ts)) {
            llmopt_log_error(&lg, "out of memory");
            goto out;
        }
        if (c->progress_ms > 0 && mono_s() >= next_progress) {
            progress(m, ts, ts - last_progress_ts);
            last_progress_ts = ts;
            next_progress += (double)c->progress_ms / 1000.0;
        }
    }
    if (batch_poll(m, end) || batch_flush(m, end)) {
        llmopt_log_error(&lg, "out of memory");
        goto out;
    }
    drain_due(m, INT64_MAX);
    for (int g = 0; g < m->n_gw; g++)
        if (llmopt_gw_flush(m->gw[g], 30000))
            llmopt_log_warn(&lg, "gateway %d: telemetry not all acknowledged in 30 s", g);
    rc = 0;
out:
    batch_release(m); /* before the gateways they read their decisions from */
    for (int g = 0; g < m->n_gw; g++) {
        if (m->gw[g]) {
            llmopt_gw_stats gs;
            llmopt_gw_stats_get(m->gw[g], &gs);
            m->n_fail_report += gs.report_failed + gs.report_dropped;
            llmopt_log_info(&lg, "gateway %s: %" PRIu64 " decisions applied, %" PRIu64
                            " enqueued, %" PRIu64 " delivered, %" PRIu64 " dropped, %" PRIu64
                            " failed",
                            m->gw_id[g], gs.decisions_applied, gs.report_enqueued,
                            gs.report_delivered, gs.report_dropped, gs.report_failed);
        }
        llmopt_gw_destroy(m->gw[g]);
        m->gw[g] = NULL;
    }
    free(props);
    return rc;
}

/* `check`: the oracle at the start and after each change, to stdout. */
static void check_print(sim *m) {
    llmopt_sim_state_init(&m->state, m->s);
    printf("scenario '%s': %zu route(s), %zu change(s), %lld s, speed %g\n", m->s->name,
           m->s->n_routes, m->s->n_changes, (long long)(m->duration_ms / 1000), m->speed);
    size_t ci = 0;
    for (;;) {
        int64_t at = ci == 0 ? 0 : m->s->changes[ci - 1].at_ms;
        llmopt_sim_state_advance(&m->state, m->s, at, NULL);
        recompute_oracles(m);
        printf("+%llds%s\n", (long long)(at / 1000), ci == 0 ? " (start)" : "");
        for (size_t ri = 0; ri < m->s->n_routes; ri++) {
            const llmopt_sim_route *r = &m->s->routes[ri];
            printf("  %-14s best %-12s %.4f  uniform %.4f |", r->name,
                   m->oracle[ri].best >= 0 ? r->arms[m->oracle[ri].best].id : "-",
                   m->oracle[ri].best_reward, m->oracle[ri].uniform_reward);
            for (size_t ai = 0; ai < r->n_arms; ai++)
                printf(" %s %.4f%s", r->arms[ai].id, m->oracle[ri].arm[ai].reward,
                       m->state.p[ri][ai].available ? "" : "(n/a)");
            printf("\n");
        }
        while (ci < m->s->n_changes && ci > 0 &&
               m->s->changes[ci].at_ms == m->s->changes[ci - 1].at_ms)
            ci++;
        if (ci >= m->s->n_changes)
            break;
        ci++;
    }
}

/* `stack`: "processor key=value" / "controller key=value" lines. */
static int stack_print(const llmopt_sim_scenario *s) {
    if (!s->stack_json)
        return 0;
    json_error_t je;
    json_t *root = json_loads(s->stack_json, 0, &je);
    if (!root) {
        fprintf(stderr, "llmopt simulate: stack: %s\n", je.text);
        return 1;
    }
    const char *comp, *k;
    json_t *obj, *v;
    json_object_foreach(root, comp, obj) {
        if (comp[0] == '$' || !json_is_object(obj))
            continue;
        json_object_foreach(obj, k, v) {
            if (k[0] != '$' && json_is_string(v))
                printf("%s %s=%s\n", comp, k, json_string_value(v));
        }
    }
    json_decref(root);
    return 0;
}

/* Accepts --scenario FILE / --scenario=FILE as -X simulate.scenario=FILE. */
static char **rewrite_args(int argc, char **argv, int *out_argc, char ***to_free, size_t *nfree) {
    char **v = calloc((size_t)argc * 2 + 1, sizeof(*v));
    char **fr = calloc((size_t)argc + 1, sizeof(*fr));
    if (!v || !fr) {
        free(v);
        free(fr);
        return NULL;
    }
    int n = 0;
    size_t k = 0;
    for (int i = 0; i < argc; i++) {
        const char *val = NULL;
        if (!strcmp(argv[i], "--scenario") && i + 1 < argc)
            val = argv[++i];
        else if (!strncmp(argv[i], "--scenario=", 11))
            val = argv[i] + 11;
        if (val) {
            size_t len = strlen(val) + sizeof("simulate.scenario=");
            char *kv = malloc(len);
            if (!kv)
                break;
            snprintf(kv, len, "simulate.scenario=%s", val);
            fr[k++] = kv;
            v[n++] = "-X";
            v[n++] = kv;
        } else {
            v[n++] = argv[i];
        }
    }
    *out_argc = n;
    *to_free = fr;
    *nfree = k;
    return v;
}

int llmopt_cmd_simulate(int argc, char **argv) {
    llmopt_simulate_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_simulate_conf, common)},
        {&llmopt_simulate_config_table, 0},
    };
    const llmopt_cli_spec spec = {
        .prog = "llmopt simulate",
        .summary = "closed-loop simulation: gateways (libllmopt-gateway) and LLM backends "
                   "driven by a scenario; --scenario FILE",
        .args_usage = "[run|check|policy|stack]",
        .bindings = b,
        .n_bindings = 2};
    int nargc;
    char **fr = NULL;
    size_t nfr = 0;
    char **nargv = rewrite_args(argc, argv, &nargc, &fr, &nfr);
    if (!nargv) {
        fprintf(stderr, "llmopt simulate: out of memory\n");
        return 1;
    }
    llmopt_cli cli;
    int rc = 1;
    sim *m = NULL;
    FILE *sf = NULL;
    if (llmopt_cli_parse(&cli, &spec, nargc, nargv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN) {
        rc = cli.exit_code;
        goto free_args;
    }
    const char *mode = cli.n_args ? cli.args[0] : "run";
    if (cli.n_args > 1 || (strcmp(mode, "run") && strcmp(mode, "check") &&
                           strcmp(mode, "policy") && strcmp(mode, "stack"))) {
        fprintf(stderr, "llmopt simulate: expected one of run, check, policy, stack\n");
        rc = 2;
        goto out;
    }
    char err[512];
    if (!(m = calloc(1, sizeof(*m)))) {
        fprintf(stderr, "llmopt simulate: out of memory\n");
        goto out;
    }
    m->conf = &conf;
    if (!(m->s = llmopt_sim_scenario_load(conf.scenario, err, sizeof(err)))) {
        fprintf(stderr, "llmopt simulate: %s\n", err);
        goto out;
    }
    if (conf.seed >= 0)
        m->s->seed = (uint64_t)conf.seed;
    if (conf.gateways > 0)
        m->s->gateways = (int)conf.gateways;
    m->speed = conf.speed >= 0 ? conf.speed : m->s->speed;
    m->duration_ms = conf.duration_ms > 0 ? conf.duration_ms : m->s->duration_ms;
    m->s->duration_ms = m->duration_ms;
    m->n_gw = m->s->gateways;
    for (size_t ri = 0; ri < m->s->n_routes; ri++)
        snprintf(m->wire_route[ri], sizeof(m->wire_route[ri]), "%s%s",
                 conf.route_prefix ? conf.route_prefix : "", m->s->routes[ri].name);
    if (!strcmp(mode, "policy")) {
        const char *path = conf.policy_out && *conf.policy_out ? conf.policy_out : "-";
        if (!strcmp(path, "-"))
            path = "/dev/stdout";
        if (llmopt_sim_write_policy(m->s, conf.route_prefix, path, err, sizeof(err))) {
            fprintf(stderr, "llmopt simulate: %s\n", err);
            goto out;
        }
        rc = 0;
        goto out;
    }
    if (!strcmp(mode, "stack")) {
        rc = stack_print(m->s);
        goto out;
    }
    if (!strcmp(mode, "check")) {
        check_print(m);
        rc = 0;
        goto out;
    }
    llmopt_gw_rng_seed(&m->rng, m->s->seed);
    llmopt_gw_rng_seed(&m->choose_rng, m->s->seed ^ 0x5851f42d4c957f2dULL);
    if (!(m->stats = llmopt_sim_stats_new(m->s, conf.bucket_ms))) {
        fprintf(stderr, "llmopt simulate: out of memory\n");
        goto out;
    }
    for (size_t ri = 0; ri < m->s->n_routes; ri++) {
        const llmopt_sim_route *sr = &m->s->routes[ri];
        if (sr->prompts_distinct &&
            !(m->zipf_cdf[ri] = zipf_cdf_new(sr->prompts_distinct, sr->prompts_zipf_s))) {
            fprintf(stderr, "llmopt simulate: out of memory\n");
            goto out;
        }
    }
    if (conf.oracle_file && *conf.oracle_file && !(m->oracle_f = open_out(conf.oracle_file)))
        goto out;
    llmopt_signals_install();
    double w0 = mono_s();
    rc = run(m, cli.config);
    double wall = mono_s() - w0;
    if (conf.shares_file && *conf.shares_file) {
        if (!(sf = open_out(conf.shares_file)))
            rc = 1;
        else
            llmopt_sim_stats_write_shares(m->stats, m->start_ms, sf);
        close_out(sf);
    }
    if (conf.summary_file && *conf.summary_file) {
        if (!(sf = open_out(conf.summary_file)))
            rc = 1;
        else
            llmopt_sim_stats_write_summary(m->stats, sf);
        close_out(sf);
    }
    printf("llmopt simulate: '%s' %" PRIu64 " requests, %.0f s of event time in %.0f s "
           "(x%.1f), %d gateway(s); %" PRIu64 " on fallback, %" PRIu64 " denied, %" PRIu64
           " to unknown arms, %" PRIu64 " telemetry failures%s\n",
           m->s->name, m->n_req, (double)m->duration_ms / 1000.0, wall,
           wall > 0 ? (double)m->duration_ms / 1000.0 / wall : 0.0, m->n_gw, m->n_fallback,
           m->n_denied, m->n_unknown, m->n_fail_report,
           m->n_batch_lost ? " (BATCHER ITEMS LOST)" : "");
    if (m->n_batch_lost)
        rc = 1;
    llmopt_sim_stats_write_text(m->stats, stdout);
    fflush(stdout);
out:
    if (m) {
        close_out(m->oracle_f);
        while (m->h.n)
            free(heap_pop(&m->h));
        free(m->h.v);
        llmopt_sim_stats_destroy(m->stats);
        for (size_t ri = 0; ri < LLMOPT_SIM_MAX_ROUTES; ri++)
            free(m->zipf_cdf[ri]);
        llmopt_sim_scenario_destroy(m->s);
        free(m);
    }
    llmopt_cli_release(&cli);
free_args:
    for (size_t i = 0; i < nfr; i++)
        free(fr[i]);
    free(fr);
    free(nargv);
    return rc;
}
