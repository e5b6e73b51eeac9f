/* egreedy.c - epsilon-greedy weights. */
#include "controller/core/egreedy.h"

#include <stdio.h>

llmopt_err_t llmopt_egreedy_weights(const llmopt_bandit *b, const uint8_t *eligible, double eps,
                                    double *w, char *reason, size_t reason_size) {
    if (!(eps >= 0 && eps <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, reason, reason_size, "'eps' must be in [0, 1]");
    uint32_t k = b->cfg.k, m = 0, best = k;
    double best_mean = 0;
    for (uint32_t i = 0; i < k; i++) {
        if (eligible && !eligible[i])
            continue;
        m++;
        double mu = llmopt_bandit_eff_mean(b, i);
        if (best == k || mu > best_mean) {
            best = i;
            best_mean = mu;
        }
    }
    if (m == 0)
        return llmopt_errf(LLMOPT_ERR_STATE, reason, reason_size, "no eligible arm");
    for (uint32_t i = 0; i < k; i++)
        w[i] = (!eligible || eligible[i]) ? eps / m : 0.0;
    w[best] = 1.0 - eps + eps / m;
    if (reason && reason_size)
        snprintf(reason, reason_size, "egreedy eps %.2f: arm %u greedy (mean %.4f)", eps, best,
                 best_mean);
    return LLMOPT_OK;
}
