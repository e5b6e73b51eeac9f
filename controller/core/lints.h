/*
 * lints.h - linear Thompson sampling (Agrawal and Goyal, 2013) on the
 * per-arm ridge models of linucb.h (same updates, same published theta and
 * A^-1; only the scoring differs).
 *
 * Agrawal and Goyal draw theta~ ~ N(theta, v^2 A^-1) and play the arm with
 * the largest x . theta~. With one model per arm (disjoint) and one context
 * x per request, x . theta~ is exactly N(x . theta, v^2 x^T A^-1 x), so a
 * draw needs one standard normal z per arm instead of a d-dimensional
 * Gaussian and a Cholesky factor:
 *
 *   score_a(x) = theta_a . x + v z_a sqrt(x^T A_a^-1 x),   z_a ~ N(0, 1)
 *
 * v scales exploration (the paper's v = R sqrt(24 d ln(1/delta) / eps) is
 * very conservative; 0.1 to 1 for rewards in [0, 1] is usual).
 *
 * llmopt_lints_score() is the function a gateway calls with its own z
 * (e.g. from its own llmopt_rng): pure, no allocation.
 */
#ifndef LLMOPT_LINTS_H
#define LLMOPT_LINTS_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "controller/core/linucb.h"
#include "controller/core/rng.h"

/* theta . x + v z sqrt(x^T A^-1 x) from published parameters. */
double llmopt_lints_score(uint32_t d, const double *theta, const double *a_inv, const double *x,
                          double v, double z);
/* Draws one z per arm from rng (in arm order, ineligible arms included so
 * the stream does not depend on eligibility), writes the scores (scores may
 * be NULL) and the argmax among eligible arms (eligible NULL: all) to
 * *arm. RANGE if v < 0 or not finite, STATE when nothing is eligible. */
llmopt_err_t llmopt_lints_choose(const llmopt_linucb *m, const double *x,
                                 const uint8_t *eligible, double v, llmopt_rng *rng,
                                 uint32_t *arm, double *scores);

#endif
