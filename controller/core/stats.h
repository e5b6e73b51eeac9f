/*
 * stats.h - fixed-horizon hypothesis tests for experiments: Welch's t-test,
 * the pooled two-proportion z-test, the chi-square goodness-of-fit test used
 * for sample-ratio mismatch (SRM), and Holm-Bonferroni adjustment.
 *
 * Pure: summary statistics in, statistics out; distributions in dist.h.
 * All p-values are two-sided (chi-square: upper tail) and match scipy /
 * statsmodels to 1e-9 relative where p > 1e-300 (tests/unit/test_stats.c,
 * golden files from tests/tools/gen_stats_golden.py).
 *
 * Failure: LLMOPT_ERR_INVALID for inputs on which the statistic is undefined
 * (n < 2, zero standard error, k < 2, non-finite values); the output struct
 * is then left untouched. These tests are NOT valid under repeated looks:
 * for monitoring an experiment as data arrives use seqtest.h.
 */
#ifndef LLMOPT_STATS_H
#define LLMOPT_STATS_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"

/* Sample moments of one group: n observations, their mean and their sample
 * variance with divisor n - 1. */
typedef struct llmopt_stats_moments {
    double n;
    double mean;
    double var;
} llmopt_stats_moments;

typedef struct llmopt_stats_ttest {
    double t;   /* (mean_a - mean_b) / se, se = sqrt(var_a/n_a + var_b/n_b) */
    double df;  /* Welch-Satterthwaite degrees of freedom */
    double p;   /* two-sided */
} llmopt_stats_ttest;

/* Welch's unequal-variance t-test of mean_a == mean_b, as
 * scipy.stats.ttest_ind(a, b, equal_var=False). Needs n >= 2 in both
 * groups, finite moments, var >= 0 and var_a + var_b > 0. */
llmopt_err_t llmopt_stats_welch(const llmopt_stats_moments *a, const llmopt_stats_moments *b,
                                llmopt_stats_ttest *out);

typedef struct llmopt_stats_ztest {
    double z;   /* (p_a - p_b) / sqrt(p (1 - p) (1/n_a + 1/n_b)), p pooled */
    double p;   /* two-sided */
} llmopt_stats_ztest;

/* Pooled two-proportion z-test of p_a == p_b from success counts, as
 * statsmodels proportions_ztest([x_a, x_b], [n_a, n_b]). Needs
 * 0 <= x <= n, n > 0, and a pooled rate strictly between 0 and 1. */
llmopt_err_t llmopt_stats_prop_ztest(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b,
                                     llmopt_stats_ztest *out);

typedef struct llmopt_stats_chi2 {
    double stat;  /* sum (O - E)^2 / E */
    double df;    /* k - 1 */
    double p;     /* upper tail */
} llmopt_stats_chi2;

/* Chi-square goodness of fit of observed counts against expected shares
 * (weights of any positive scale; E_i = total * w_i / sum w): the SRM check
 * of an experiment's traffic split, as scipy.stats.chisquare(obs, E). Needs
 * k >= 2, counts >= 0 with a positive total, weights > 0. */
llmopt_err_t llmopt_stats_chi2_gof(const double *observed, const double *weights, size_t k,
                                   llmopt_stats_chi2 *out);

/* Holm-Bonferroni step-down adjusted p-values, as statsmodels
 * multipletests(p, method='holm')[1]: with p sorted ascending,
 * adj_(i) = min(1, max_{j <= i} (m - j + 1) p_(j)), returned in the input
 * order. adj may alias p. NOMEM if the sort buffer cannot be allocated,
 * INVALID if a p is NaN or outside [0, 1]. Reject hypothesis i at
 * family-wise level alpha when adj[i] <= alpha. */
llmopt_err_t llmopt_stats_holm(const double *p, size_t m, double *adj);

#endif
