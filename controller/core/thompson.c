/* thompson.c - Monte Carlo probability of being best. */
#include "controller/core/thompson.h"

#include <math.h>
#include <stdio.h>

/* posterior sampling parameters, computed once per decision */
typedef struct post {
    double p1, p2;     /* BERNOULLI: alpha, beta; NORMAL: dof, scale */
    double loc;        /* NORMAL: location */
} post;

static post post_of(const llmopt_bandit *b, uint32_t arm) {
    post p;
    if (b->cfg.reward == LLMOPT_BANDIT_BERNOULLI) {
        llmopt_bandit_beta q = llmopt_bandit_beta_posterior(b, arm);
        p.p1 = q.alpha;
        p.p2 = q.beta;
        p.loc = 0;
    } else {
        llmopt_bandit_nig q = llmopt_bandit_nig_posterior(b, arm);
        p.p1 = 2.0 * q.alpha;
        p.p2 = sqrt(q.beta / (q.alpha * q.kappa));
        p.loc = q.mu;
    }
    return p;
}

static double draw(const llmopt_bandit *b, const post *p, llmopt_rng *rng) {
    if (b->cfg.reward == LLMOPT_BANDIT_BERNOULLI)
        return llmopt_rng_beta(rng, p->p1, p->p2);
    return p->loc + p->p2 * llmopt_rng_student_t(rng, p->p1);
}

double llmopt_thompson_sample(const llmopt_bandit *b, uint32_t arm, llmopt_rng *rng) {
    post p = post_of(b, arm);
    return draw(b, &p, rng);
}

llmopt_err_t llmopt_thompson_weights(const llmopt_bandit *b, const uint8_t *eligible,
                                     uint32_t draws, llmopt_rng *rng, double *p_best,
                                     char *reason, size_t reason_size) {
    uint32_t k = b->cfg.k;
    if (draws == 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, reason, reason_size, "'draws' must be > 0");
    post p[LLMOPT_BANDIT_MAX_ARMS];
    uint32_t idx[LLMOPT_BANDIT_MAX_ARMS];
    uint64_t wins[LLMOPT_BANDIT_MAX_ARMS] = {0};
    uint32_t m = 0;
    for (uint32_t i = 0; i < k; i++) {
        p_best[i] = 0;
        if (!eligible || eligible[i]) {
            p[m] = post_of(b, i);
            idx[m++] = i;
        }
    }
    if (m == 0)
        return llmopt_errf(LLMOPT_ERR_STATE, reason, reason_size, "no eligible arm");
    if (m == 1) {
        p_best[idx[0]] = 1.0;
        if (reason && reason_size)
            snprintf(reason, reason_size, "thompson: arm %u is the only eligible arm", idx[0]);
        return LLMOPT_OK;
    }
    for (uint32_t d = 0; d < draws; d++) {
        uint32_t best = 0;
        double best_v = -INFINITY;
        for (uint32_t j = 0; j < m; j++) {
            double v = draw(b, &p[j], rng);
            if (v > best_v) { /* NaN never wins */
                best_v = v;
                best = j;
            }
        }
        wins[best]++;
    }
    uint32_t lead = idx[0];
    for (uint32_t j = 0; j < m; j++) {
        p_best[idx[j]] = (double)wins[j] / (double)draws;
        if (p_best[idx[j]] > p_best[lead])
            lead = idx[j];
    }
    if (reason && reason_size)
        snprintf(reason, reason_size, "thompson %s: p(best) over %u draws, leader arm %u at %.4f",
                 b->cfg.reward == LLMOPT_BANDIT_BERNOULLI ? "beta" : "nig", draws, lead,
                 p_best[lead]);
    return LLMOPT_OK;
}
