/*
 * cache_adapt.h - cache policy of one route (on/off and TTL), adapted once
 * per period from the measured hit rate and from the quality of cache hits
 * against fresh responses.
 *
 * Rules, in order, for a closed period (the caller cuts periods):
 *   off:   after retry_periods periods off, caching goes back on at
 *          min_ttl_ms so hit rate and quality can be measured again
 *   fewer than min_samples requests: nothing changes
 *   hit rate < min_hit_rate:                       off
 *   hits and misses with quality >= min_samples each, gap = miss - hit mean:
 *     gap >  quality_margin:  TTL *= shorten (down to min_ttl_ms); already
 *                             at min_ttl_ms: off
 *     gap <= quality_margin/2: TTL *= lengthen (up to max_ttl_ms): cached
 *                             answers score as fresh ones again
 *     otherwise (in between): TTL stays (hysteresis)
 *
 * Ownership: plain struct embedded by the caller; no allocation, no I/O,
 * no clock. One thread. Invariants (checked by _init): 0 < min_ttl_ms <=
 * ttl_ms <= max_ttl_ms, 0 < shorten < 1 < lengthen, margin >= 0.
 */
#ifndef LLMOPT_CACHE_ADAPT_H
#define LLMOPT_CACHE_ADAPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

typedef struct llmopt_cache_adapt_config {
    bool enabled;            /* initial on/off */
    int64_t ttl_ms;          /* initial TTL; default 600000 */
    int64_t min_ttl_ms;      /* default 10000 */
    int64_t max_ttl_ms;      /* default = ttl_ms */
    double quality_margin;   /* hits may score this much lower; default 0.05 */
    uint64_t min_samples;    /* per side (hits, misses); default 30 */
    double shorten;          /* default 0.5 */
    double lengthen;         /* default 2 */
    double min_hit_rate;     /* below it caching goes off; default 0 (never) */
    uint32_t retry_periods;  /* periods off before a new trial; default 10 */
} llmopt_cache_adapt_config;

typedef struct llmopt_cache_adapt {
    llmopt_cache_adapt_config c;
    bool enabled;
    int64_t ttl_ms;
    uint32_t off_periods;
    uint64_t judged;
} llmopt_cache_adapt;

/* One closed period: requests, cache hits, and the quality of hits and of
 * misses (n = samples with a quality, mean ignored when n = 0). */
typedef struct llmopt_cache_period {
    uint64_t requests, hits;
    uint64_t hit_q_n, miss_q_n;
    double hit_q_mean, miss_q_mean;
} llmopt_cache_period;

void llmopt_cache_adapt_config_default(llmopt_cache_adapt_config *c);
llmopt_err_t llmopt_cache_adapt_init(llmopt_cache_adapt *a, const llmopt_cache_adapt_config *c,
                                     char *errstr, size_t errstr_size);
/* Returns 1 when on/off or the TTL changed, with the reason (may be NULL),
 * e.g. "cached answers score 0.620 vs fresh 0.800 (gap 0.180 > margin
 * 0.050, 120/480 samples): TTL 600 s -> 300 s". 0 otherwise. */
int llmopt_cache_adapt_judge(llmopt_cache_adapt *a, const llmopt_cache_period *p,
                             char *reason, size_t reason_size);

#endif
