/*
 * alloc.h - turning policy preferences into the traffic weights a routing
 * decision publishes: weights sum to 1, every enabled arm keeps its
 * exploration floor, disabled arms get exactly 0, fixed shares (a
 * half-open breaker's probe, a canary step) are honoured, and a decision is
 * only republished when some weight moved by more than epsilon.
 *
 * Roles. OFF: weight 0 (circuit open, filtered by Pareto, disabled).
 * FIXED: exactly `fixed` of the traffic (half-open probe, canary step).
 * FLOAT: shares the rest in proportion to `raw` (probability of being best,
 * a UCB1/epsilon-greedy weight), never below its `floor`.
 *
 * Algorithm (water-filling, so floors hold exactly rather than by a clip
 * followed by a renormalisation that pushes clipped arms under again):
 *  1. Non-finite or negative raw preferences count as 0; if every FLOAT arm
 *     has raw 0 they are treated as equal.
 *  2. Floors first: S = sum of FLOAT floors. If S > 1 the floors are scaled
 *     to sum to 1 (more arms than floors allow) and FIXED arms get 0.
 *  3. Fixed shares next: if their sum F exceeds 1 - S they are scaled down
 *     proportionally to 1 - S. If there is no FLOAT arm, fixed shares are
 *     scaled up to sum to 1. With no FLOAT arm and F == 0: STATE.
 *  4. FLOAT arms share B = 1 - F: find lambda with
 *     sum_i max(floor_i, lambda raw_i) = B by pinning, repeatedly, every arm
 *     with lambda raw_i < floor_i at its floor and recomputing lambda over
 *     the free ones; pins only grow, so at most k rounds.
 *  5. The rounding residual of the sum goes to the largest free arm, so the
 *     sum is 1 to within one ulp of it and floors are untouched.
 *
 * Pure, no allocation (k <= LLMOPT_ALLOC_MAX_ARMS), thread-safe.
 */
#ifndef LLMOPT_ALLOC_H
#define LLMOPT_ALLOC_H

#include <stddef.h>

#include "common/err.h"

#define LLMOPT_ALLOC_MAX_ARMS 64

typedef enum llmopt_alloc_role {
    LLMOPT_ALLOC_OFF = 0,
    LLMOPT_ALLOC_FLOAT = 1,
    LLMOPT_ALLOC_FIXED = 2,
} llmopt_alloc_role;

typedef struct llmopt_alloc_arm {
    llmopt_alloc_role role;
    double raw;    /* FLOAT: preference, any non-negative scale */
    double floor;  /* FLOAT: minimum share, clamped to [0, 1] */
    double fixed;  /* FIXED: share in [0, 1] */
} llmopt_alloc_arm;

/* Weights w[0..k-1] per the algorithm above. INVALID for k == 0,
 * k > LLMOPT_ALLOC_MAX_ARMS, an unknown role or a FIXED share that is not a
 * number in [0, 1]; STATE when no arm can take traffic. reason (may be
 * NULL) gets a one-line summary, e.g. "5 arms: 3 float (2 at floor),
 * 1 fixed 0.0500, 1 off". w is unspecified on failure. */
llmopt_err_t llmopt_alloc_weights(const llmopt_alloc_arm *arms, size_t k, double *w,
                                  char *reason, size_t reason_size);

/* Whether a new decision differs enough from the published one to publish:
 * 1 if some |next_i - prev_i| > eps or an arm switches between zero and
 * non-zero weight (enabling or disabling an arm always publishes), else 0. */
int llmopt_alloc_changed(const double *prev, const double *next, size_t k, double eps);

/* The arm whose cumulative weight interval holds u in [0, 1): how a
 * simulator or a gateway draws an arm from published weights. Skips
 * zero-weight arms; u past the total (rounding) gives the last positive arm. */
size_t llmopt_alloc_pick(const double *w, size_t k, double u);

#endif
