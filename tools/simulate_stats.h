/*
 * simulate_stats.h - what `llmopt simulate` measures: per route and second
 * of event time, the requests each arm served; the realised reward against
 * the oracle's and a uniform split's; per injected change, how long the
 * changed arm's traffic share took to move. Pure: values in, figures out
 * (the writers take a FILE*).
 *
 * Re-routing time of a change at T on (route, arm): the arm's share before
 * is its share of the route's requests in [max(T - 60 s, previous change
 * on the route, 0), T). Its target after T is 1 when the oracle's best arm
 * of the route after the change is this arm, else 0. The re-routing time is
 * the first t > T (in whole buckets) at which the share over the trailing
 * window [max(T, t - window), t) has moved at least halfway from the share
 * before to the target, counting only windows with at least 20 requests; -1
 * when it never does before the next change on the route or the end.
 *
 * Ownership: _new/_destroy; _destroy(NULL) is a no-op. One thread.
 */
#ifndef LLMOPT_SIM_STATS_H
#define LLMOPT_SIM_STATS_H

#include <stdint.h>
#include <stdio.h>

#include "tools/simulate_scenario.h"

typedef struct llmopt_sim_stats llmopt_sim_stats;

/* Buckets of bucket_ms (> 0) of event time over the scenario's duration
 * plus a tail for responses. NULL on allocation failure. */
llmopt_sim_stats *llmopt_sim_stats_new(const llmopt_sim_scenario *s, int64_t bucket_ms);
void llmopt_sim_stats_destroy(llmopt_sim_stats *st);

/* One request of route ri at event-time offset offset_ms served by arm ai
 * (-1: an arm the scenario does not know, e.g. the gateway's fallback).
 * reward: its realised reward; expected: the expected reward of the arm it
 * went to; oracle / uniform: the oracle's best and the uniform split's
 * expected rewards at that moment. Offsets outside the scenario are clamped. */
void llmopt_sim_stats_record(llmopt_sim_stats *st, size_t ri, int ai, int64_t offset_ms,
                             double reward, double expected, double oracle, double uniform);

/* Outcome counters per route and bucket (the ground truth the processor's
 * windows are checked against): responses reported to the processor, cache
 * hits among them, backend rate_limited answers among them, and requests
 * the gateway's limiter denied (never sent, never reported). Batching:
 * responses that carry a batch_size and the sum of those sizes (by response
 * time; their ratio is what the processor's batch_size_mean estimates), and
 * batches closed (by close time). */
typedef enum llmopt_sim_count {
    LLMOPT_SIM_RESPONSES = 0,
    LLMOPT_SIM_CACHE_HITS,
    LLMOPT_SIM_LIMITED,
    LLMOPT_SIM_DENIED,
    LLMOPT_SIM_BATCHED,
    LLMOPT_SIM_BATCH_ITEMS,
    LLMOPT_SIM_BATCHES,
    LLMOPT_SIM_N_COUNTS
} llmopt_sim_count;
void llmopt_sim_stats_count(llmopt_sim_stats *st, size_t ri, int64_t offset_ms,
                            llmopt_sim_count kind);
/* Adds n to a counter (llmopt_sim_stats_count adds 1). */
void llmopt_sim_stats_add(llmopt_sim_stats *st, size_t ri, int64_t offset_ms,
                          llmopt_sim_count kind, uint32_t n);

/* Registers change ci's effect on (ri, ai): target_best tells whether the
 * arm is the oracle's best after it. Call once per targeted (route, arm). */
void llmopt_sim_stats_change(llmopt_sim_stats *st, size_t ci, size_t ri, size_t ai,
                             bool target_best);

typedef struct llmopt_sim_route_figures {
    uint64_t requests;
    double reward_mean;     /* realised */
    double expected_mean;   /* expected reward of the chosen arms */
    double oracle_mean;
    double uniform_mean;
    double capture;         /* reward_mean / oracle_mean (0 when the oracle is 0) */
    uint64_t arm_requests[LLMOPT_SIM_MAX_ARMS];
    uint64_t unknown_arm;   /* requests served by an arm not in the scenario */
    uint64_t counts[LLMOPT_SIM_N_COUNTS]; /* llmopt_sim_stats_count totals */
} llmopt_sim_route_figures;

void llmopt_sim_stats_route(const llmopt_sim_stats *st, size_t ri, llmopt_sim_route_figures *f);

typedef struct llmopt_sim_change_figures {
    size_t change;          /* index in the scenario's changes */
    size_t route, arm;
    bool target_best;
    double share_before;    /* NaN when no request before */
    double share_after;     /* over the last 60 s before the next change / end; NaN: none */
    int64_t reroute_ms;     /* -1: did not move (see the top) */
} llmopt_sim_change_figures;

/* The registered changes' figures, computed now; *n set to their count. The
 * array belongs to st and is valid until the next call. */
const llmopt_sim_change_figures *llmopt_sim_stats_changes(llmopt_sim_stats *st, size_t *n);

/* Share of arm ai on route ri over event-time offsets [from_ms, to_ms);
 * NaN when the route had no request there. *n (may be NULL) gets the count. */
double llmopt_sim_stats_share(const llmopt_sim_stats *st, size_t ri, size_t ai, int64_t from_ms,
                              int64_t to_ms, uint64_t *n);

/* Writers. shares: one JSON line per (bucket, route) with requests per arm,
 * t_s = bucket start offset, ts_ms = start_ms + offset. summary: one JSON
 * object. text: the compact terminal summary (docs/SIMULATOR.md). */
void llmopt_sim_stats_write_shares(const llmopt_sim_stats *st, int64_t start_ms, FILE *f);
void llmopt_sim_stats_write_summary(llmopt_sim_stats *st, FILE *f);
void llmopt_sim_stats_write_text(llmopt_sim_stats *st, FILE *f);

#endif
