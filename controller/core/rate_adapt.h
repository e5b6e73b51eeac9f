/*
 * rate_adapt.h - adaptive rate limit of one provider (or arm): a
 * multiplicative rule judged once per adjustment period.
 *
 *   share = (rate_limited + error responses) / responses of the period
 *   share >  target_share   limit = max(min_rps, limit * shrink)   (default 0.9)
 *   share <= target_share   limit = min(max_rps, limit * grow)     (default 1.1)
 *   responses < min_requests: too little evidence, the limit stays
 *
 * The caller closes the periods (the controller cuts them on window end
 * times, so replay judges the same periods as live) and hands in the
 * period's totals. Nothing here reads a clock or does I/O.
 *
 * Ownership: plain struct embedded by the caller; no allocation. One
 * thread. Invariants (checked by _init): 0 < min_rps <= initial_rps <=
 * max_rps, 0 < target_share < 1, 0 < shrink < 1 <= grow, period_ms > 0.
 */
#ifndef LLMOPT_RATE_ADAPT_H
#define LLMOPT_RATE_ADAPT_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define LLMOPT_ADAPT_REASON_MAX 192

typedef struct llmopt_rate_adapt_config {
    double initial_rps;     /* limit before any period was judged */
    double min_rps;         /* floor: the route is never starved below it */
    double max_rps;         /* ceiling */
    double target_share;    /* default 0.01 */
    double shrink;          /* default 0.9 */
    double grow;            /* default 1.1 */
    int64_t period_ms;      /* adjustment period; default 60000 */
    uint64_t min_requests;  /* responses a period needs to be judged; default 20 */
} llmopt_rate_adapt_config;

typedef struct llmopt_rate_adapt {
    llmopt_rate_adapt_config c;
    double limit_rps;
    uint64_t judged;        /* periods judged */
    uint64_t shrinks, grows;
} llmopt_rate_adapt;

/* Defaults above with initial 100, min 1, max 10000 req/s. */
void llmopt_rate_adapt_config_default(llmopt_rate_adapt_config *c);
/* RANGE with the offending key in errstr when an invariant fails. */
llmopt_err_t llmopt_rate_adapt_init(llmopt_rate_adapt *a, const llmopt_rate_adapt_config *c,
                                    char *errstr, size_t errstr_size);
/* Judges one closed period with `responses` responses of which `bad` were
 * rate_limited or errors (bad <= responses). Returns 1 when the limit
 * changed, with a human-readable reason ("rate-limited+error share 3.20 %
 * of 1000 responses > target 1.00 %: 100 -> 90 req/s") in reason (may be
 * NULL); 0 when it stayed. */
int llmopt_rate_adapt_judge(llmopt_rate_adapt *a, uint64_t responses, uint64_t bad,
                            char *reason, size_t reason_size);

#endif
