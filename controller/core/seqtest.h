/*
 * seqtest.h - always-valid sequential test of a difference of means: the
 * mixture sequential probability ratio test (mSPRT) with a normal mixing
 * distribution, after Johari, Pekelis and Walsh (2017), "Always valid
 * inference: continuous monitoring of A/B tests". It may be looked at after
 * every window, as often as wanted, and stopped at any time: the chance
 * that the p-value EVER drops to alpha under the null is at most alpha, and
 * the confidence sequence covers the true difference at all times
 * simultaneously with probability >= 1 - alpha.
 *
 * Model: arm A and arm B observations with means mu_A, mu_B; the parameter
 * is theta = mu_B - mu_A, the null theta = theta0. After each window the
 * cumulative estimate d = mean_B - mean_A has variance s^2 = var_A/n_A +
 * var_B/n_B (the balanced case of the paper is s^2 = 2 sigma^2 / n). With
 * the mixing prior theta ~ N(theta0, tau^2) the likelihood ratio of the
 * mixture against the null, for d ~ N(theta, s^2), is
 *
 *   Lambda = sqrt(s^2 / (s^2 + tau^2)) exp( tau^2 (d - theta0)^2 / (2 s^2 (s^2 + tau^2)) )
 *
 * (for s^2 = V/n this is the paper's sqrt(V/(V + n tau^2)) exp(n^2 tau^2
 * (d - theta0)^2 / (2 V (V + n tau^2)))). Always-valid p-value:
 * p_k = min(p_{k-1}, 1 / Lambda_k), p_0 = 1. The confidence set at look k
 * is { theta : Lambda_k(theta) < 1/alpha }:
 *
 *   d -+ sqrt( s^2 (s^2 + tau^2) / tau^2 * (2 log(1/alpha) + log((s^2 + tau^2) / s^2)) )
 *
 * and the confidence sequence is the running intersection of those sets.
 *
 * Variance: known (config sigma2_a/sigma2_b > 0) or, by default, the pooled
 * sample variances plugged in as the paper's practical version does; looks
 * before `min_n` observations per arm are skipped (the plug-in variance is
 * too noisy early), so they neither lower p nor narrow the sequence.
 * Guarantees are exact for known variance and fixed allocation ratio,
 * asymptotic with plug-in variances.
 *
 * tau^2 (mixing variance, in squared metric units) tunes power: it should
 * be on the order of the squared effect sizes that matter. Defaults:
 * alpha 0.05, theta0 0, min_n 30.
 *
 * Ownership: plain struct embedded by the caller (_init, no _release
 * needed: nothing is allocated). One thread.
 */
#ifndef LLMOPT_SEQTEST_H
#define LLMOPT_SEQTEST_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

typedef struct llmopt_msprt_config {
    double alpha;     /* 0 < alpha < 1 */
    double tau2;      /* mixing variance, > 0 */
    double theta0;    /* null difference mu_B - mu_A */
    double sigma2_a;  /* known variance of one A observation, or 0 to estimate */
    double sigma2_b;  /* same for B */
    uint64_t min_n;   /* observations per arm before the first counted look, >= 2 */
} llmopt_msprt_config;

/* Moments of a group: merged exactly (Chan et al.) window by window. */
typedef struct llmopt_msprt_arm {
    double n;
    double mean;
    double m2;  /* sum of squared deviations from mean */
} llmopt_msprt_arm;

typedef struct llmopt_msprt {
    llmopt_msprt_config cfg;
    llmopt_msprt_arm a, b;
    uint64_t looks;     /* counted looks (after min_n) */
    double p;           /* always-valid p-value, non-increasing, starts at 1 */
    double ci_lo, ci_hi;/* confidence sequence (running intersection); -+inf at start */
    double lambda;      /* mixture likelihood ratio at the last counted look */
    double estimate;    /* d = mean_B - mean_A at the last look */
} llmopt_msprt;

void llmopt_msprt_config_default(llmopt_msprt_config *c, double tau2);
/* RANGE with the field named in errstr. */
llmopt_err_t llmopt_msprt_init(llmopt_msprt *m, const llmopt_msprt_config *c, char *errstr,
                               size_t errstr_size);
/* Adds one window's observations of an arm (n >= 0, mean, m2 >= 0 as above;
 * n == 0 adds nothing). INVALID on non-finite or negative input. */
llmopt_err_t llmopt_msprt_add(llmopt_msprt *m, int arm_b, double n, double mean, double m2);
/* Looks at the data so far: updates p, lambda, estimate and the confidence
 * sequence, and says whether to stop (p <= alpha). Returns STATE (nothing
 * updated, *reject 0) before min_n observations in each arm or while the
 * variance estimate is 0. */
llmopt_err_t llmopt_msprt_look(llmopt_msprt *m, int *reject);

#endif
