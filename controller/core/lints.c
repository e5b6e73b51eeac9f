/* lints.c - linear Thompson sampling scores on the LinUCB models. */
#include "controller/core/lints.h"

#include <math.h>

double llmopt_lints_score(uint32_t d, const double *theta, const double *a_inv, const double *x,
                          double v, double z) {
    /* the LinUCB score with alpha 1 less its mean is exactly sqrt(x^T A^-1 x),
     * but recomputing keeps this independent of that function's rounding */
    double mean = 0, q = 0;
    for (uint32_t i = 0; i < d; i++) {
        mean += theta[i] * x[i];
        double s = 0;
        for (uint32_t j = 0; j < d; j++)
            s += a_inv[i * d + j] * x[j];
        q += x[i] * s;
    }
    return mean + v * z * sqrt(q > 0 ? q : 0);
}

llmopt_err_t llmopt_lints_choose(const llmopt_linucb *m, const double *x,
                                 const uint8_t *eligible, double v, llmopt_rng *rng,
                                 uint32_t *arm, double *scores) {
    if (!(v >= 0) || !isfinite(v))
        return LLMOPT_ERR_RANGE;
    const llmopt_linucb_config *c = llmopt_linucb_config_of(m);
    uint32_t best = c->k;
    double best_s = 0;
    for (uint32_t i = 0; i < c->k; i++) {
        double z = llmopt_rng_normal(rng);
        double s = llmopt_lints_score(c->d, llmopt_linucb_theta(m, i), llmopt_linucb_a_inv(m, i),
                                      x, v, z);
        if (scores)
            scores[i] = s;
        if (eligible && !eligible[i])
            continue;
        if (best == c->k || s > best_s) {
            best = i;
            best_s = s;
        }
    }
    if (best == c->k)
        return LLMOPT_ERR_STATE;
    *arm = best;
    return LLMOPT_OK;
}
