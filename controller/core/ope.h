/*
 * ope.h - off-policy evaluation: what reward would a candidate routing
 * policy have earned on traffic that another (the logging) policy routed?
 * One pass over logged events, sufficient statistics only, so a backtest
 * over 10M outcomes needs neither a second pass nor the events in memory.
 *
 * An event i carries the logged arm a_i, its logging propensity mu_i (the
 * probability the logging policy gave a_i, in (0, 1]), the reward r_i, the
 * context x_i (RIDGE model only) and, per candidate policy p, the
 * candidate's probability of every arm pi_p,i(a) at that event (fixed
 * weights, or a bandit replayed over the log up to i: the caller computes
 * them). Importance weight w_i = pi(a_i) / mu_i, clipped at cfg.clip when
 * clip > 0 (clipping trades bias for variance: ESS and clipped counts show
 * when it bites).
 *
 *   IPS    V = (1/n) sum w_i r_i                      unbiased with support
 *   SNIPS  V = sum w_i r_i / sum w_i                  ratio: bounded in the
 *                                                     reward range, small bias
 *   DR     V = (1/n) sum_i [ sum_a pi_i(a) q(x_i, a) + w_i (r_i - q(x_i, a_i)) ]
 *   ESS    (sum w)^2 / sum w^2
 *
 * DR reward model q, fitted on the same log (no cross-fitting: the small
 * in-sample bias is documented in docs/BACKTEST.md):
 *   MEAN   q(x, a) = mean logged reward of arm a (the overall mean for an
 *          arm never logged). DR is then linear in per-arm sums:
 *          n V = sum_a m_a (P_a - W_a) + sum w r, with P_a = sum_i pi_i(a),
 *          W_a = sum_{i: a_i = a} w_i.
 *   RIDGE  q(x, a) = theta_a . x, theta_a = (lambda I + sum x x^T)^-1 sum r x
 *          over the events that logged a (the caller includes a constant
 *          feature for an intercept). Same linear form with per-arm vectors
 *          sum_i pi_i(a) x_i and sum_{a_i = a} w_i x_i.
 *
 * Confidence intervals: Poisson bootstrap (Hanley and MacGibbon; Chamandy
 * et al., 2012). Each event gets, per replicate b, an independent weight
 * c_b ~ Poisson(1), drawn from the seeded generator of rng.h, and every sum
 * above is kept per replicate, so a replicate is a resample of the log
 * without storing it. CI = percentile interval of the replicate estimates
 * (linear interpolation between order statistics, numpy's default), at
 * level cfg.level. MEAN refits the per-arm means in every replicate; RIDGE
 * keeps the full-data theta in every replicate (refitting costs d^2 per
 * event and replicate), so its interval leaves out the model's own
 * variance. A replicate that drew no event at all is left out. Bootstrap
 * weights are shared by all policies: differences between policies are
 * paired. The logging policy's own value (the mean logged reward) gets the
 * same interval.
 *
 * Support check. The log shows mu only for the arm that was chosen. Events
 * are grouped by a stratum (the decision version that routed them): while a
 * stratum's logged propensities are constant per arm, it is one fixed
 * distribution; once the arms seen in it carry probability 1 in total,
 * every other arm had probability 0 there, and candidate mass on those
 * arms is UNSUPPORTED (no estimator can see it). Mass on arms never seen in
 * a stratum whose known probabilities sum below 1 (or whose propensities
 * vary, i.e. a contextual logger) is UNVERIFIED. An event logged with
 * mu = 1 makes all candidate mass on other arms unsupported at that event.
 * Both are reported as a fraction of events (mass / n).
 *
 * Ownership: an opaque heap object (_new/_destroy, _destroy(NULL) no-op)
 * that owns all its memory: (replicates + 1) blocks of (2 + 2k + P (2 + 2kD))
 * doubles, D = d for RIDGE else 1, plus k + Pk doubles per stratum. One
 * thread. Deterministic: the same config, seed and events give bit-identical
 * results.
 */
#ifndef LLMOPT_OPE_H
#define LLMOPT_OPE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"

#define LLMOPT_OPE_MAX_ARMS 64
#define LLMOPT_OPE_MAX_POLICIES 64
#define LLMOPT_OPE_MAX_DIM 64
#define LLMOPT_OPE_MAX_REPLICATES 10000

typedef enum llmopt_ope_model {
    LLMOPT_OPE_MODEL_MEAN = 0,
    LLMOPT_OPE_MODEL_RIDGE = 1,
} llmopt_ope_model;

typedef struct llmopt_ope_config {
    uint32_t k;            /* arms, 1..LLMOPT_OPE_MAX_ARMS */
    uint32_t n_policies;   /* candidates evaluated together, 1..LLMOPT_OPE_MAX_POLICIES */
    llmopt_ope_model model;
    uint32_t d;            /* RIDGE: features, 1..LLMOPT_OPE_MAX_DIM; ignored for MEAN */
    double ridge_lambda;   /* RIDGE: (0, 1e6]; default 1 */
    double clip;           /* max importance weight, >= 1; 0: no clipping */
    uint32_t replicates;   /* bootstrap replicates, 0..LLMOPT_OPE_MAX_REPLICATES; 0: no CI */
    uint64_t seed;         /* of the Poisson bootstrap weights */
    double level;          /* CI level, (0, 1); default 0.95 */
} llmopt_ope_config;

/* k arms, n_policies candidates, MEAN model, no clipping, 200 replicates,
 * seed 1, level 0.95, lambda 1. */
void llmopt_ope_config_default(llmopt_ope_config *c, uint32_t k, uint32_t n_policies);

typedef struct llmopt_ope_event {
    uint32_t arm;       /* logged arm, < k */
    double propensity;  /* logging probability of arm, (0, 1] */
    double reward;      /* finite, |r| <= 1e12 */
    const double *x;    /* RIDGE: d finite features (|x| <= 1e6); else ignored */
    int64_t stratum;    /* logging-policy identity (decision version) */
    const double *pi;   /* n_policies rows of k probabilities, row-major;
                         * each row in [0, 1] summing to 1 within 1e-6 */
} llmopt_ope_event;

typedef struct llmopt_ope_interval {
    double value;       /* full-data estimate; NaN when n == 0 */
    double lo, hi;      /* bootstrap percentile interval; NaN without replicates */
} llmopt_ope_interval;

typedef struct llmopt_ope_result {
    uint64_t n;                 /* events observed */
    llmopt_ope_interval ips, snips, dr;
    double ess;                 /* (sum w)^2 / sum w^2; 0 when sum w == 0 */
    double sum_w;               /* sum of (clipped) weights; n in expectation */
    double max_w;               /* largest (clipped) weight */
    uint64_t clipped;           /* events whose weight was clipped */
    double unsupported_mass;    /* see the support check above; per event */
    double unverified_mass;
} llmopt_ope_result;

typedef struct llmopt_ope llmopt_ope;

/* RANGE (field named in errstr) for a config outside the bounds above,
 * NOMEM; *out is set only on success. */
llmopt_err_t llmopt_ope_new(const llmopt_ope_config *c, llmopt_ope **out, char *errstr,
                            size_t errstr_size);
void llmopt_ope_destroy(llmopt_ope *o);

/* Adds one event. INVALID (reason in errstr) for an arm >= k, a propensity
 * outside (0, 1], a non-finite or huge reward or feature, a NULL pi (or x
 * for RIDGE), or a pi row that is not a distribution; nothing changes then.
 * NOMEM when a new stratum cannot be stored (nothing changes). */
llmopt_err_t llmopt_ope_observe(llmopt_ope *o, const llmopt_ope_event *ev, char *errstr,
                                size_t errstr_size);

uint64_t llmopt_ope_count(const llmopt_ope *o);

/* Estimates of candidate `policy` from the events so far (may be called
 * again after more events). RANGE for a bad policy index, NOMEM. With no
 * events every value is NaN and n == 0. */
llmopt_err_t llmopt_ope_result_get(const llmopt_ope *o, uint32_t policy, llmopt_ope_result *out);

/* The logging policy's own value: the mean logged reward, with the same
 * bootstrap interval. NOMEM only. */
llmopt_err_t llmopt_ope_logging_value(const llmopt_ope *o, llmopt_ope_interval *out);

/* Percentile of sorted[0..n-1] at q in [0, 1], linear interpolation
 * between order statistics (numpy.percentile's default). NaN for n == 0. */
double llmopt_ope_quantile_sorted(const double *sorted, size_t n, double q);

/* One Poisson(1) draw from a uniform 64-bit integer by inversion against
 * exact thresholds (values above 19 have probability below 1e-18 and are
 * returned as 19). Exposed for tests and the reference script. */
uint32_t llmopt_ope_poisson1(uint64_t u);

#endif
