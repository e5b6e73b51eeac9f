/*
 * strategy.h - the three non-routing strategies of one route that the
 * controller adapts and publishes next to the arm weights (issue 9): rate
 * limits, cache policy and batching.
 *
 * Configuration comes from the policy file (controller/policy.h parses the
 * route members "rate_limits", "cache" and "batching" into
 * llmopt_strategy_config). At run time the route feeds every closed window
 * of its arms in (llmopt_strategy_window); the strategy cuts adjustment
 * periods on the windows' end times (event time: replay judges the same
 * periods as live; periods are aligned on multiples of period_ms). A period
 * is judged as soon as a window ending on its end arrives (or, failing
 * that, the first window of a later period), with the pure cores:
 *
 *   rate limit   one llmopt_rate_adapt per provider of the route, on the
 *                share of rate_limited + error + timeout responses of that
 *                provider's arms (controller/core/rate_adapt.h)
 *   cache        llmopt_cache_adapt on the route's hits, requests and the
 *                quality of hits against misses (controller/core/cache_adapt.h)
 *   batching     llmopt_batch_adapt on the route's per-item p95
 *                (controller/core/batch_adapt.h)
 *
 * Only tumbling windows of one size (the first tumbling size seen) count,
 * so overlapping hopping windows are never counted twice.
 *
 * Publication (llmopt_strategy_fill): the schema's limits are per route, so
 * the per-provider limits become the route's global requests_per_s: the
 * largest route rate at which no provider receives more than its limit
 * under the published weights, min over providers p of limit_p / share_p
 * (share_p = summed weight of p's arms; providers without weight do not
 * bind). The global burst scales with it (configured burst x rps /
 * configured rps, at least 1).
 *
 * Ownership: the config is owned by the policy and must outlive the
 * strategy; record strings point into the config and the strategy. One
 * thread (the daemon loop).
 */
#ifndef LLMOPT_CTL_STRATEGY_H
#define LLMOPT_CTL_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/records.h"
#include "controller/core/batch_adapt.h"
#include "controller/core/cache_adapt.h"
#include "controller/core/rate_adapt.h"
#include "processor/core/serial.h"

#define LLMOPT_STRATEGY_MAX_ARMS 32
#define LLMOPT_STRATEGY_MAX_EXCLUDE 16

/* priority classes, in the schema's order of weight */
enum { LLMOPT_PRIO_CRITICAL, LLMOPT_PRIO_HIGH, LLMOPT_PRIO_MEDIUM, LLMOPT_PRIO_LOW, LLMOPT_PRIO_N };
extern const char *const llmopt_strategy_prio_names[LLMOPT_PRIO_N];

typedef struct llmopt_strategy_config {
    /* rate limits */
    bool has_rate_limits;
    bool has_global, has_per_tenant, has_per_user;
    llmopt_token_bucket global, per_tenant, per_user;
    double prio_weight[LLMOPT_PRIO_N];   /* default 1, 0.8, 0.6, 0.4 */
    llmopt_on_limit on_limit;            /* default deny */
    int64_t retry_after_ms;              /* default 1000 */
    int64_t queue_timeout_ms;            /* default 2000 */
    bool rate_adaptive;                  /* "adaptive" present: global rps adapts */
    llmopt_rate_adapt_config rate;       /* initial_rps = global.requests_per_s */
    /* cache */
    bool has_cache;
    bool cache_adaptive;
    llmopt_cache_adapt_config cache;     /* enabled, ttl_ms and the rules */
    int64_t cache_max_entries;           /* default 10000 */
    int64_t cache_period_ms;             /* default 60000 */
    char *cache_exclude[LLMOPT_STRATEGY_MAX_EXCLUDE];
    size_t n_cache_exclude;
    /* batching */
    bool has_batching;
    bool batching_enabled;
    bool batch_adaptive;
    llmopt_batch_adapt_config batch;     /* initial = max_batch */
    int64_t batch_max_wait_ms;           /* default 20 */
    int64_t batch_token_budget;          /* default 0: none */
    int64_t batch_period_ms;             /* default 60000 */
} llmopt_strategy_config;

/* Defaults: no rate limits, no cache, no batching (members as documented). */
void llmopt_strategy_config_default(llmopt_strategy_config *c);
/* Frees the exclude patterns. */
void llmopt_strategy_config_release(llmopt_strategy_config *c);

typedef struct llmopt_strategy_period {
    int64_t idx;                         /* floor((window_end - 1) / period), -1: none */
    uint64_t n[LLMOPT_STRATEGY_MAX_ARMS], bad[LLMOPT_STRATEGY_MAX_ARMS]; /* per provider */
    uint64_t requests, hits, hit_q_n, miss_q_n;
    double hit_q_sum, miss_q_sum;
    uint64_t lat_n;
    double p95_weighted;                 /* sum of count x window p95 */
} llmopt_strategy_period;

typedef struct llmopt_strategy {
    const llmopt_strategy_config *c;
    size_t k, n_prov;
    uint8_t arm_prov[LLMOPT_STRATEGY_MAX_ARMS];   /* provider index of each arm */
    const char *prov_name[LLMOPT_STRATEGY_MAX_ARMS];
    llmopt_rate_adapt rate[LLMOPT_STRATEGY_MAX_ARMS];
    llmopt_cache_adapt cache;
    llmopt_batch_adapt batch;
    llmopt_strategy_period rate_p, cache_p, batch_p;
    int64_t tumbling_ms;                 /* 0 until the first tumbling window */
    double published_rps;                /* last filled global rps, 0: none */
    /* record building */
    llmopt_kv_double rec_prio[LLMOPT_PRIO_N];
    llmopt_str rec_excl[LLMOPT_STRATEGY_MAX_EXCLUDE];
} llmopt_strategy;

/* providers[i] = provider of arm i (k arms). RANGE when a core refuses its
 * configuration (the message names it). */
llmopt_err_t llmopt_strategy_init(llmopt_strategy *s, const llmopt_strategy_config *c,
                                  const char *const *providers, size_t k, char *errstr,
                                  size_t errstr_size);
/* A validated closed window of arm `arm`. Closes and judges the periods
 * that ended before it; every change is appended to `reasons` ("; "
 * separated). Returns the number of changes. */
int llmopt_strategy_window(llmopt_strategy *s, size_t arm, const llmopt_window_metrics *m,
                           char *reasons, size_t reasons_size);
/* Fills rec's rate_limits, cache_policy and batching from the current
 * state and the decision's weights w[k]. */
void llmopt_strategy_fill(llmopt_strategy *s, const double *w, llmopt_routing_decision *rec);
/* The adapted limit of provider index p (NaN when not adaptive). */
double llmopt_strategy_provider_rps(const llmopt_strategy *s, size_t p);

/* Checkpoint of the adapted state, tag "CSTG" v1 (inside the route's CRTE
 * blob from CRTE v2): a section per strategy the route adapts (flags byte:
 * 1 rate limits, 2 cache, 4 batching; a static one has no state: its
 * values are the policy's), each with the adapted
 * values and the judge counters (rate: per provider name, limit, judged,
 * shrinks, grows; cache: on/off, TTL, off periods, judged; batching: max
 * batch, judged), the period length and the open period's totals, plus the
 * tumbling window size and the last published global rps. The config
 * (bounds, rules) is never in the blob: it comes from the policy.
 *
 * deserialize reads one CSTG record from rb into s (initialised from the
 * current config by llmopt_strategy_init): INVALID/TRUNCATED/RANGE for a
 * corrupt record (s is then untouched). A section the current policy also
 * has is restored, its values clamped into the policy's current bounds; a
 * section the policy no longer adapts, or whose providers differ, is skipped;
 * a section the policy has and the blob lacks starts from the policy; a
 * period whose length changed starts afresh. Each such case is described
 * in `note` ("; " separated, may be NULL; empty when everything was
 * restored as saved). */
void llmopt_strategy_serialize(const llmopt_strategy *s, llmopt_wbuf *w);
llmopt_err_t llmopt_strategy_deserialize(llmopt_strategy *s, llmopt_rbuf *rb, char *note,
                                         size_t note_size, char *errstr, size_t errstr_size);

#endif
