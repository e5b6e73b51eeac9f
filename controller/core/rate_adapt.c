/*
 * rate_adapt.c - adaptive rate limit (see rate_adapt.h).
 */
#include "controller/core/rate_adapt.h"

#include <math.h>
#include <stdio.h>

void llmopt_rate_adapt_config_default(llmopt_rate_adapt_config *c) {
    *c = (llmopt_rate_adapt_config){.initial_rps = 100,
                                    .min_rps = 1,
                                    .max_rps = 10000,
                                    .target_share = 0.01,
                                    .shrink = 0.9,
                                    .grow = 1.1,
                                    .period_ms = 60000,
                                    .min_requests = 20};
}

llmopt_err_t llmopt_rate_adapt_init(llmopt_rate_adapt *a, const llmopt_rate_adapt_config *c,
                                    char *errstr, size_t errstr_size) {
    if (!(c->min_rps > 0) || !isfinite(c->max_rps) || c->max_rps < c->min_rps)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "min_rps '%g' and max_rps '%g' need 0 < min <= max", c->min_rps,
                           c->max_rps);
    if (!(c->initial_rps >= c->min_rps && c->initial_rps <= c->max_rps))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "initial_rps '%g' outside min_rps..max_rps", c->initial_rps);
    if (!(c->target_share > 0 && c->target_share < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "target_share '%g' outside (0, 1)", c->target_share);
    if (!(c->shrink > 0 && c->shrink < 1) || !(c->grow >= 1 && c->grow <= 10))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "shrink '%g' must be in (0, 1) and grow '%g' in [1, 10]", c->shrink,
                           c->grow);
    if (c->period_ms <= 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "period_ms '%lld' must be > 0",
                           (long long)c->period_ms);
    *a = (llmopt_rate_adapt){.c = *c, .limit_rps = c->initial_rps};
    return LLMOPT_OK;
}

int llmopt_rate_adapt_judge(llmopt_rate_adapt *a, uint64_t responses, uint64_t bad,
                            char *reason, size_t reason_size) {
    if (reason && reason_size)
        reason[0] = 0;
    if (responses < a->c.min_requests || responses == 0)
        return 0;
    if (bad > responses)
        bad = responses;
    a->judged++;
    double share = (double)bad / (double)responses;
    double old = a->limit_rps, nl;
    const char *cmp;
    if (share > a->c.target_share) {
        nl = fmax(a->c.min_rps, old * a->c.shrink);
        cmp = ">";
    } else {
        nl = fmin(a->c.max_rps, old * a->c.grow);
        cmp = "<=";
    }
    if (nl == old)
        return 0;
    if (nl < old)
        a->shrinks++;
    else
        a->grows++;
    a->limit_rps = nl;
    if (reason && reason_size)
        snprintf(reason, reason_size,
                 "rate-limited+error share %.2f %% of %llu responses %s target %.2f %%: "
                 "%.4g -> %.4g req/s",
                 100 * share, (unsigned long long)responses, cmp, 100 * a->c.target_share, old,
                 nl);
    return 1;
}
