/*
 * stats.c - fixed-horizon tests (see stats.h).
 */
#include "controller/core/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/dist.h"

static int moments_ok(const llmopt_stats_moments *m) {
    return isfinite(m->n) && m->n >= 2 && isfinite(m->mean) && isfinite(m->var) && m->var >= 0;
}

llmopt_err_t llmopt_stats_welch(const llmopt_stats_moments *a, const llmopt_stats_moments *b,
                                llmopt_stats_ttest *out) {
    if (!moments_ok(a) || !moments_ok(b))
        return LLMOPT_ERR_INVALID;
    double va = a->var / a->n, vb = b->var / b->n;
    double se2 = va + vb;
    if (!(se2 > 0) || !isfinite(se2))
        return LLMOPT_ERR_INVALID;
    double t = (a->mean - b->mean) / sqrt(se2);
    double df = se2 * se2 / (va * va / (a->n - 1) + vb * vb / (b->n - 1));
    if (isnan(t) || isnan(df))
        return LLMOPT_ERR_INVALID;
    out->t = t;
    out->df = df;
    out->p = llmopt_dist_t_two_sided(t, df);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_stats_prop_ztest(uint64_t x_a, uint64_t n_a, uint64_t x_b, uint64_t n_b,
                                     llmopt_stats_ztest *out) {
    if (n_a == 0 || n_b == 0 || x_a > n_a || x_b > n_b)
        return LLMOPT_ERR_INVALID;
    double pa = (double)x_a / (double)n_a, pb = (double)x_b / (double)n_b;
    double pooled = ((double)x_a + (double)x_b) / ((double)n_a + (double)n_b);
    double var = pooled * (1.0 - pooled) * (1.0 / (double)n_a + 1.0 / (double)n_b);
    if (!(var > 0))
        return LLMOPT_ERR_INVALID;
    double z = (pa - pb) / sqrt(var);
    out->z = z;
    out->p = 2.0 * llmopt_dist_normal_sf(fabs(z));
    return LLMOPT_OK;
}

llmopt_err_t llmopt_stats_chi2_gof(const double *observed, const double *weights, size_t k,
                                   llmopt_stats_chi2 *out) {
    if (k < 2 || !observed || !weights)
        return LLMOPT_ERR_INVALID;
    double total = 0, wsum = 0;
    for (size_t i = 0; i < k; i++) {
        if (!isfinite(observed[i]) || observed[i] < 0 || !isfinite(weights[i]) ||
            !(weights[i] > 0))
            return LLMOPT_ERR_INVALID;
        total += observed[i];
        wsum += weights[i];
    }
    if (!(total > 0) || !isfinite(total) || !isfinite(wsum))
        return LLMOPT_ERR_INVALID;
    double stat = 0;
    for (size_t i = 0; i < k; i++) {
        double e = total * (weights[i] / wsum);
        double d = observed[i] - e;
        stat += d * d / e;
    }
    out->stat = stat;
    out->df = (double)(k - 1);
    out->p = llmopt_dist_chi2_sf(stat, out->df);
    return LLMOPT_OK;
}

typedef struct holm_item {
    double p;
    size_t i;
} holm_item;

static int holm_cmp(const void *x, const void *y) {
    const holm_item *a = x, *b = y;
    if (a->p != b->p)
        return a->p < b->p ? -1 : 1;
    return a->i < b->i ? -1 : (a->i > b->i); /* deterministic order for ties */
}

llmopt_err_t llmopt_stats_holm(const double *p, size_t m, double *adj) {
    if (m == 0)
        return LLMOPT_OK;
    if (!p || !adj)
        return LLMOPT_ERR_INVALID;
    for (size_t i = 0; i < m; i++)
        if (!(p[i] >= 0 && p[i] <= 1))
            return LLMOPT_ERR_INVALID;
    if (m > SIZE_MAX / sizeof(holm_item))
        return LLMOPT_ERR_NOMEM;
    holm_item *it = malloc(m * sizeof(*it));
    if (!it)
        return LLMOPT_ERR_NOMEM;
    for (size_t i = 0; i < m; i++) {
        it[i].p = p[i];
        it[i].i = i;
    }
    qsort(it, m, sizeof(*it), holm_cmp);
    double run = 0;
    for (size_t j = 0; j < m; j++) {
        double v = it[j].p * (double)(m - j);
        if (v > run)
            run = v;
        adj[it[j].i] = run > 1.0 ? 1.0 : run;
    }
    free(it);
    return LLMOPT_OK;
}
