/*
 * batch_adapt.c - batch size adaptation (see batch_adapt.h).
 */
#include "controller/core/batch_adapt.h"

#include <math.h>
#include <stdio.h>

void llmopt_batch_adapt_config_default(llmopt_batch_adapt_config *c) {
    *c = (llmopt_batch_adapt_config){.initial = 8,
                                     .min_batch = 1,
                                     .max_bound = 64,
                                     .target_p95_ms = 5000,
                                     .headroom = 0.8,
                                     .shrink = 0.75,
                                     .min_requests = 20};
}

llmopt_err_t llmopt_batch_adapt_init(llmopt_batch_adapt *a, const llmopt_batch_adapt_config *c,
                                     char *errstr, size_t errstr_size) {
    if (c->min_batch < 1 || c->initial < c->min_batch || c->max_bound < c->initial)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "batch sizes need 1 <= min '%d' <= initial '%d' <= max '%d'",
                           c->min_batch, c->initial, c->max_bound);
    if (!(c->target_p95_ms > 0) || !isfinite(c->target_p95_ms))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "target_p95_ms '%g' must be > 0", c->target_p95_ms);
    if (!(c->headroom > 0 && c->headroom < 1) || !(c->shrink > 0 && c->shrink < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "headroom '%g' and shrink '%g' must be in (0, 1)", c->headroom,
                           c->shrink);
    *a = (llmopt_batch_adapt){.c = *c, .max_batch = c->initial};
    return LLMOPT_OK;
}

bool llmopt_batch_adapt_window_current(const llmopt_batch_adapt *a, double batch_mean) {
    /* means of integer sizes: a tolerance far below one item */
    return !(isfinite(batch_mean) && batch_mean > (double)a->max_batch + 1e-6);
}

int llmopt_batch_adapt_judge(llmopt_batch_adapt *a, uint64_t items, double p95_ms,
                             char *reason, size_t reason_size) {
    if (reason && reason_size)
        reason[0] = 0;
    if (items < a->c.min_requests || items == 0 || !isfinite(p95_ms) || p95_ms < 0)
        return 0;
    a->judged++;
    int32_t old = a->max_batch, nb = old;
    const char *why;
    if (p95_ms > a->c.target_p95_ms) {
        nb = (int32_t)floor((double)old * a->c.shrink);
        if (nb > old - 1)
            nb = old - 1;
        if (nb < a->c.min_batch)
            nb = a->c.min_batch;
        why = "above the target";
    } else if (p95_ms < a->c.headroom * a->c.target_p95_ms) {
        nb = old < a->c.max_bound ? old + 1 : old;
        why = "headroom below the target";
    } else {
        return 0;
    }
    if (nb == old)
        return 0;
    a->max_batch = nb;
    if (reason && reason_size)
        snprintf(reason, reason_size,
                 "per-item p95 %.0f ms over %llu items, %s %.0f ms: max batch %d -> %d", p95_ms,
                 (unsigned long long)items, why, a->c.target_p95_ms, old, nb);
    return 1;
}
