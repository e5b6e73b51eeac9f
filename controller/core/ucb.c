/* ucb.c - UCB1 scores and weights. */
#include "controller/core/ucb.h"

#include <math.h>
#include <stdio.h>

llmopt_err_t llmopt_ucb1_scores(const llmopt_bandit *b, const uint8_t *eligible, double c,
                                double *scores) {
    if (!(c >= 0) || !isfinite(c))
        return LLMOPT_ERR_RANGE;
    uint32_t k = b->cfg.k, m = 0;
    double total = 0;
    for (uint32_t i = 0; i < k; i++)
        if (!eligible || eligible[i]) {
            total += llmopt_bandit_eff_n(b, i);
            m++;
        }
    if (m == 0)
        return LLMOPT_ERR_STATE;
    double log_n = log(fmax(total, 1.0));
    for (uint32_t i = 0; i < k; i++) {
        if (eligible && !eligible[i]) {
            scores[i] = -INFINITY;
            continue;
        }
        double n = llmopt_bandit_eff_n(b, i);
        scores[i] = n > 0 ? llmopt_bandit_eff_mean(b, i) + c * sqrt(2.0 * log_n / n) : INFINITY;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_ucb1_weights(const llmopt_bandit *b, const uint8_t *eligible, double c,
                                 double *w, char *reason, size_t reason_size) {
    double s[LLMOPT_BANDIT_MAX_ARMS];
    llmopt_err_t e = llmopt_ucb1_scores(b, eligible, c, s);
    if (e)
        return llmopt_errf(e, reason, reason_size,
                           e == LLMOPT_ERR_STATE ? "no eligible arm" : "'c' must be >= 0");
    uint32_t best = b->cfg.k;
    for (uint32_t i = 0; i < b->cfg.k; i++) {
        w[i] = 0;
        if ((!eligible || eligible[i]) && (best == b->cfg.k || s[i] > s[best]))
            best = i;
    }
    w[best] = 1.0;
    if (reason && reason_size)
        snprintf(reason, reason_size, "ucb1: arm %u leads with score %.4f (mean %.4f, n %.1f)",
                 best, s[best], llmopt_bandit_eff_mean(b, best), llmopt_bandit_eff_n(b, best));
    return LLMOPT_OK;
}
