/*
 * linucb.h - contextual bandit with one ridge regression per arm: LinUCB,
 * disjoint model (Li, Chu, Langford and Schapire, 2010). Linear Thompson
 * sampling (lints.h) uses the same per-arm model and parameters.
 *
 * Model, per arm a, features x in R^d:
 *   A_a = lambda I + sum x x^T,   b_a = sum r x,   theta_a = A_a^-1 b_a
 *   score_a(x) = theta_a . x + alpha sqrt(x^T A_a^-1 x)
 * Each update keeps A^-1 by the Sherman-Morrison rank-1 formula,
 *   A^-1 <- A^-1 - (A^-1 x)(A^-1 x)^T / (1 + x^T A^-1 x),
 * O(d^2) instead of O(d^3), and every `reinvert_every` updates of an arm
 * re-inverts A from scratch through its Cholesky factor (A = L L^T,
 * A^-1 = L^-T L^-1) so rounding error cannot accumulate.
 *
 * Publishing: the controller publishes, per arm, theta (d values) and A^-1
 * (d*d values, row-major); a gateway scores a request locally with
 * llmopt_linucb_score() (or llmopt_lints_score()), the very function the
 * controller uses, so both sides agree to the bit.
 *
 * Non-stationarity: llmopt_linucb_decay() applies the discount gamma to the
 * evidence, A <- lambda I + gamma (A - lambda I), b <- gamma b, and a drift
 * signal on one arm (llmopt_linucb_drift) does the same with drift_shrink
 * for that arm only; both re-invert.
 *
 * Ownership: an opaque heap object (_new/_destroy, _destroy(NULL) no-op)
 * owning every array. One thread. Invariants (checked by _new and
 * _deserialize): 1 <= k <= 32, 1 <= d <= 64, 1e-6 <= lambda <= 1e6, A and
 * A^-1 exactly symmetric, A >= lambda I (a checkpoint must show
 * A - lambda/2 I positive definite), |A^-1| entries <= 2 / lambda, A and b
 * entries within 1e200; features and rewards within +-1e6. An update whose
 * rank-1 step would break these (x^T A^-1 x < 0 after rounding, or a
 * corrupt A^-1) re-inverts A instead.
 */
#ifndef LLMOPT_LINUCB_H
#define LLMOPT_LINUCB_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"

#define LLMOPT_LINUCB_MAX_ARMS 32
#define LLMOPT_LINUCB_MAX_DIM 64

typedef struct llmopt_linucb_config {
    uint32_t k;              /* arms */
    uint32_t d;              /* context features */
    double lambda;           /* ridge, [1e-6, 1e6]; default 1 */
    double alpha;            /* exploration width, >= 0; default 1 */
    double gamma;            /* discount per decay(), (0, 1]; default 1 */
    double drift_shrink;     /* evidence kept on drift, [0, 1]; default 0.1 */
    uint32_t reinvert_every; /* Sherman-Morrison updates between re-inversions, >= 1; default 64 */
} llmopt_linucb_config;

typedef struct llmopt_linucb llmopt_linucb;

void llmopt_linucb_config_default(llmopt_linucb_config *c, uint32_t k, uint32_t d);
/* RANGE (field named in errstr) or NOMEM; *out is set only on success. */
llmopt_err_t llmopt_linucb_new(const llmopt_linucb_config *c, llmopt_linucb **out, char *errstr,
                               size_t errstr_size);
void llmopt_linucb_destroy(llmopt_linucb *m);
const llmopt_linucb_config *llmopt_linucb_config_of(const llmopt_linucb *m);

/* Adds (x, r) to arm `arm`: RANGE for a bad arm or a value outside +-1e6
 * (nothing changes). STATE if the periodic re-inversion finds A no longer
 * positive definite (cannot happen with lambda > 0 short of overflow; the
 * Sherman-Morrison inverse is kept). */
llmopt_err_t llmopt_linucb_update(llmopt_linucb *m, uint32_t arm, const double *x, double r);
/* Full Cholesky re-inversion of one arm now. STATE if A is not PD. */
llmopt_err_t llmopt_linucb_reinvert(llmopt_linucb *m, uint32_t arm);
/* Discount every arm's evidence by gamma (no-op at 1). STATE as reinvert. */
llmopt_err_t llmopt_linucb_decay(llmopt_linucb *m);
/* Shrink one arm's evidence by drift_shrink toward the ridge prior. */
llmopt_err_t llmopt_linucb_drift(llmopt_linucb *m, uint32_t arm);

/* Published parameters of an arm: theta (d) and A^-1 (d*d, row-major),
 * valid until the next call that changes m. NULL for a bad arm. */
const double *llmopt_linucb_theta(const llmopt_linucb *m, uint32_t arm);
const double *llmopt_linucb_a_inv(const llmopt_linucb *m, uint32_t arm);
/* Evidence count of an arm (updates, discounted like A). */
double llmopt_linucb_n(const llmopt_linucb *m, uint32_t arm);

/* THE scoring function shared with the gateway: theta . x +
 * alpha sqrt(x^T A^-1 x), from published parameters alone. Pure, no
 * allocation; the quadratic form is clamped at 0 against rounding. */
double llmopt_linucb_score(uint32_t d, const double *theta, const double *a_inv, const double *x,
                           double alpha);
/* Scores of every arm for context x with cfg.alpha; and the argmax among
 * eligible arms (eligible NULL: all; ties lowest index). STATE when none. */
void llmopt_linucb_scores(const llmopt_linucb *m, const double *x, double *scores);
llmopt_err_t llmopt_linucb_choose(const llmopt_linucb *m, const double *x,
                                  const uint8_t *eligible, uint32_t *arm);

/* Checkpoint, tag "LUCB" v1: config, per arm n, updates since re-inversion,
 * A, A^-1, b (theta is recomputed, bit-identically). deserialize allocates
 * a new model into *out; it validates the config, finiteness and symmetry,
 * and that A is positive definite (Cholesky), and returns
 * INVALID/TRUNCATED/RANGE/NOMEM with a reason otherwise. */
void llmopt_linucb_serialize(const llmopt_linucb *m, llmopt_wbuf *w);
llmopt_err_t llmopt_linucb_deserialize(llmopt_rbuf *r, llmopt_linucb **out, char *errstr,
                                       size_t errstr_size);

#endif
