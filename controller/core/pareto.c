/* pareto.c - constraint check and non-dominated filter. */
#include "controller/core/pareto.h"

#include <math.h>
#include <stdio.h>

const char *const llmopt_pareto_verdict_names[LLMOPT_PARETO_N_VERDICTS] = {
    "eligible", "dominated", "violates", "fallback", "disabled",
};

void llmopt_pareto_limits_none(llmopt_pareto_limits *l) {
    l->max_cost_usd = INFINITY;
    l->max_p95_ms = INFINITY;
    l->min_quality = -INFINITY;
}

static double excess(double v, double limit, int upper) {
    if (isnan(v) || !isfinite(limit))
        return 0;
    double e = upper ? v - limit : limit - v;
    if (!(e > 0))
        return 0;
    return upper && limit > 0 ? e / limit : e;
}

double llmopt_pareto_violation(const llmopt_pareto_arm *a, const llmopt_pareto_limits *l) {
    return excess(a->cost_usd, l->max_cost_usd, 1) + excess(a->p95_ms, l->max_p95_ms, 1) +
           excess(a->quality, l->min_quality, 0);
}

static int known(const llmopt_pareto_arm *a) {
    return !isnan(a->quality) && !isnan(a->cost_usd) && !isnan(a->p95_ms);
}

static int dominates(const llmopt_pareto_arm *j, const llmopt_pareto_arm *i) {
    if (!known(i) || !known(j))
        return 0;
    if (j->quality < i->quality || j->cost_usd > i->cost_usd || j->p95_ms > i->p95_ms)
        return 0;
    return j->quality > i->quality || j->cost_usd < i->cost_usd || j->p95_ms < i->p95_ms;
}

llmopt_err_t llmopt_pareto_filter(const llmopt_pareto_arm *arms, size_t k,
                                  const llmopt_pareto_limits *limits,
                                  llmopt_pareto_verdict *verdict, int32_t *dominated_by,
                                  uint8_t *eligible, char *reason, size_t reason_size) {
    if (k == 0 || k > LLMOPT_PARETO_MAX_ARMS)
        return llmopt_errf(LLMOPT_ERR_INVALID, reason, reason_size, "bad arm count '%zu'", k);
    size_t n_enabled = 0, n_meet = 0;
    for (size_t i = 0; i < k; i++) {
        dominated_by[i] = -1;
        eligible[i] = 0;
        if (!arms[i].enabled) {
            verdict[i] = LLMOPT_PARETO_DISABLED;
            continue;
        }
        n_enabled++;
        if (llmopt_pareto_violation(&arms[i], limits) > 0) {
            verdict[i] = LLMOPT_PARETO_VIOLATES;
        } else {
            verdict[i] = LLMOPT_PARETO_ELIGIBLE;
            n_meet++;
        }
    }
    if (n_enabled == 0)
        return llmopt_errf(LLMOPT_ERR_STATE, reason, reason_size, "no arm is enabled");
    if (n_meet == 0) {
        size_t best = k;
        double best_v = 0;
        for (size_t i = 0; i < k; i++) {
            if (!arms[i].enabled)
                continue;
            double v = llmopt_pareto_violation(&arms[i], limits);
            if (best == k || v < best_v ||
                (v == best_v && arms[i].quality > arms[best].quality)) {
                best = i;
                best_v = v;
            }
        }
        verdict[best] = LLMOPT_PARETO_FALLBACK;
        eligible[best] = 1;
        if (reason && reason_size)
            snprintf(reason, reason_size,
                     "no arm meets the constraints: fallback to arm %zu (violation %.4f)", best,
                     best_v);
        return LLMOPT_OK;
    }
    /* dominance among the arms that meet the constraints, judged against the
     * original set so the result does not depend on the scan order */
    size_t n_dom = 0, n_elig = 0;
    for (size_t i = 0; i < k; i++) {
        if (verdict[i] != LLMOPT_PARETO_ELIGIBLE)
            continue;
        for (size_t j = 0; j < k; j++) {
            if (j == i || !arms[j].enabled)
                continue;
            if ((verdict[j] == LLMOPT_PARETO_ELIGIBLE || verdict[j] == LLMOPT_PARETO_DOMINATED) &&
                dominates(&arms[j], &arms[i])) {
                dominated_by[i] = (int32_t)j;
                break;
            }
        }
    }
    for (size_t i = 0; i < k; i++) {
        if (dominated_by[i] >= 0) {
            verdict[i] = LLMOPT_PARETO_DOMINATED;
            n_dom++;
        } else if (verdict[i] == LLMOPT_PARETO_ELIGIBLE) {
            eligible[i] = 1;
            n_elig++;
        }
    }
    if (reason && reason_size)
        snprintf(reason, reason_size, "%zu of %zu eligible: %zu dominated, %zu violate, %zu disabled",
                 n_elig, k, n_dom, n_enabled - n_meet, k - n_enabled);
    return LLMOPT_OK;
}
