/*
 * pareto.h - which arms may take traffic at all: those that meet the
 * route's constraints (max cost per request, max p95 latency, min quality)
 * and are not Pareto-dominated on (quality higher, cost lower, p95 latency
 * lower) by another arm that meets them. Only eligible arms enter the
 * bandit's weights; the others get weight 0.
 *
 * Dominance: j dominates i when j is at least as good on all three and
 * strictly better on one. Identical arms do not dominate each other (both
 * stay). A metric that is NaN is unknown (an arm without data yet): it
 * meets every constraint and the arm neither dominates nor is dominated,
 * so new arms get explored instead of being filtered on no evidence.
 *
 * Fallback when no enabled arm meets the constraints: the least-violating
 * enabled arm alone is eligible (verdict FALLBACK). Violation = relative
 * excess cost (cost - max) / max + relative excess latency
 * (p95 - max) / max + absolute quality shortfall (min - quality) (quality
 * lives in [0, 1]), each counted only when positive; a limit <= 0 counts
 * its excess in absolute units. Ties: higher quality, then lower index.
 *
 * Pure, no allocation, O(k^2).
 */
#ifndef LLMOPT_PARETO_H
#define LLMOPT_PARETO_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define LLMOPT_PARETO_MAX_ARMS 64

typedef struct llmopt_pareto_arm {
    double quality;   /* mean quality in [0, 1], NaN = unknown */
    double cost_usd;  /* mean cost per request, NaN = unknown */
    double p95_ms;    /* p95 latency, NaN = unknown */
    int enabled;      /* 0: disabled (breaker open, operator): never eligible */
} llmopt_pareto_arm;

/* A limit that is NaN or infinite (the defaults) is no constraint. */
typedef struct llmopt_pareto_limits {
    double max_cost_usd;
    double max_p95_ms;
    double min_quality;
} llmopt_pareto_limits;

typedef enum llmopt_pareto_verdict {
    LLMOPT_PARETO_ELIGIBLE = 0,
    LLMOPT_PARETO_DOMINATED,  /* dominated_by names the arm */
    LLMOPT_PARETO_VIOLATES,   /* misses a constraint */
    LLMOPT_PARETO_FALLBACK,   /* nothing met the constraints; least violating */
    LLMOPT_PARETO_DISABLED,
    LLMOPT_PARETO_N_VERDICTS
} llmopt_pareto_verdict;

extern const char *const llmopt_pareto_verdict_names[LLMOPT_PARETO_N_VERDICTS];

void llmopt_pareto_limits_none(llmopt_pareto_limits *l);
/* Sum of positive constraint violations of one arm (0 when it meets all). */
double llmopt_pareto_violation(const llmopt_pareto_arm *a, const llmopt_pareto_limits *l);

/* Fills verdict[k], dominated_by[k] (-1 unless DOMINATED) and eligible[k]
 * (1 for ELIGIBLE and FALLBACK). INVALID for k == 0 or k > MAX_ARMS,
 * STATE when no arm is enabled (all outputs then say DISABLED / 0).
 * reason (may be NULL): "3 of 5 eligible: 1 dominated, 1 violates" or
 * "no arm meets the constraints: fallback to arm 2 (violation 0.1500)". */
llmopt_err_t llmopt_pareto_filter(const llmopt_pareto_arm *arms, size_t k,
                                  const llmopt_pareto_limits *limits,
                                  llmopt_pareto_verdict *verdict, int32_t *dominated_by,
                                  uint8_t *eligible, char *reason, size_t reason_size);

#endif
