/* alloc.c - floors, fixed shares and water-filling into published weights. */
#include "controller/core/alloc.h"

#include <math.h>
#include <stdio.h>

static double clamp01(double x) {
    return x > 0 ? (x < 1 ? x : 1) : 0; /* NaN -> 0 */
}

llmopt_err_t llmopt_alloc_weights(const llmopt_alloc_arm *arms, size_t k, double *w,
                                  char *reason, size_t reason_size) {
    if (k == 0 || k > LLMOPT_ALLOC_MAX_ARMS)
        return llmopt_errf(LLMOPT_ERR_INVALID, reason, reason_size, "bad arm count '%zu'", k);
    double raw[LLMOPT_ALLOC_MAX_ARMS], floor_[LLMOPT_ALLOC_MAX_ARMS];
    unsigned char pinned[LLMOPT_ALLOC_MAX_ARMS];
    size_t n_float = 0, n_fixed = 0, n_off = 0;
    double sum_floor = 0, sum_fixed = 0, sum_raw = 0;
    for (size_t i = 0; i < k; i++) {
        w[i] = 0;
        pinned[i] = 0;
        switch (arms[i].role) {
        case LLMOPT_ALLOC_OFF:
            n_off++;
            break;
        case LLMOPT_ALLOC_FLOAT:
            raw[i] = isfinite(arms[i].raw) && arms[i].raw > 0 ? arms[i].raw : 0;
            floor_[i] = clamp01(arms[i].floor);
            sum_raw += raw[i];
            sum_floor += floor_[i];
            n_float++;
            break;
        case LLMOPT_ALLOC_FIXED:
            if (!(arms[i].fixed >= 0 && arms[i].fixed <= 1))
                return llmopt_errf(LLMOPT_ERR_INVALID, reason, reason_size,
                                   "fixed share of arm '%zu' not in [0, 1]", i);
            sum_fixed += arms[i].fixed;
            n_fixed++;
            break;
        default:
            return llmopt_errf(LLMOPT_ERR_INVALID, reason, reason_size,
                               "unknown role of arm '%zu'", i);
        }
    }
    if (n_float == 0 && !(sum_fixed > 0))
        return llmopt_errf(LLMOPT_ERR_STATE, reason, reason_size, "no arm can take traffic");
    if (!(sum_raw > 0) || !isfinite(sum_raw)) { /* no preference (or overflow): equal */
        sum_raw = 0;
        for (size_t i = 0; i < k; i++)
            if (arms[i].role == LLMOPT_ALLOC_FLOAT) {
                raw[i] = 1.0;
                sum_raw += 1.0;
            }
    }

    /* 2-3: floors first, then fixed shares in what is left */
    double floor_scale = sum_floor > 1 ? 1.0 / sum_floor : 1.0;
    if (floor_scale < 1)
        sum_floor = 1.0;
    double fixed_scale = 1.0;
    if (n_float == 0)
        fixed_scale = 1.0 / sum_fixed;
    else if (sum_fixed > 1.0 - sum_floor)
        fixed_scale = sum_fixed > 0 ? (1.0 - sum_floor) / sum_fixed : 0;
    double fixed_total = 0;
    for (size_t i = 0; i < k; i++)
        if (arms[i].role == LLMOPT_ALLOC_FIXED) {
            w[i] = arms[i].fixed * fixed_scale;
            fixed_total += w[i];
        }

    /* 4: water-filling of the FLOAT budget */
    size_t n_pinned = 0, best_free = k;
    if (n_float > 0) {
        double budget = 1.0 - fixed_total;
        for (size_t i = 0; i < k; i++)
            if (arms[i].role == LLMOPT_ALLOC_FLOAT)
                floor_[i] *= floor_scale;
        for (;;) {
            double free_raw = 0, pinned_floor = 0;
            for (size_t i = 0; i < k; i++) {
                if (arms[i].role != LLMOPT_ALLOC_FLOAT)
                    continue;
                if (pinned[i])
                    pinned_floor += floor_[i];
                else
                    free_raw += raw[i];
            }
            double rest = budget - pinned_floor;
            if (!(free_raw > 0) || rest <= 0) {
                /* every arm with a preference is pinned: floors take the whole
                 * budget, any rest goes to the largest preference below */
                for (size_t i = 0; i < k; i++)
                    if (arms[i].role == LLMOPT_ALLOC_FLOAT)
                        w[i] = pinned[i] ? floor_[i] : 0;
                break;
            }
            double lambda = rest / free_raw;
            int newly = 0;
            for (size_t i = 0; i < k; i++)
                if (arms[i].role == LLMOPT_ALLOC_FLOAT && !pinned[i] &&
                    lambda * raw[i] < floor_[i]) {
                    pinned[i] = 1;
                    n_pinned++;
                    newly = 1;
                }
            if (!newly) {
                for (size_t i = 0; i < k; i++)
                    if (arms[i].role == LLMOPT_ALLOC_FLOAT)
                        w[i] = pinned[i] ? floor_[i] : lambda * raw[i];
                break;
            }
        }
        /* the residual goes to the largest free arm (floors stay exact);
         * when all are pinned, to the strongest preference */
        double best = -1;
        for (size_t i = 0; i < k; i++)
            if (arms[i].role == LLMOPT_ALLOC_FLOAT && !pinned[i] && w[i] > best) {
                best = w[i];
                best_free = i;
            }
        if (best_free == k)
            for (size_t i = 0; i < k; i++)
                if (arms[i].role == LLMOPT_ALLOC_FLOAT && raw[i] > best) {
                    best = raw[i];
                    best_free = i;
                }
    } else {
        double best = -1;
        for (size_t i = 0; i < k; i++)
            if (arms[i].role == LLMOPT_ALLOC_FIXED && w[i] > best) {
                best = w[i];
                best_free = i;
            }
    }

    /* 5: rounding residual to the largest free arm */
    double total = 0;
    for (size_t i = 0; i < k; i++)
        total += w[i];
    if (best_free < k) {
        w[best_free] += 1.0 - total;
        if (w[best_free] < 0)
            w[best_free] = 0;
    }
    if (reason && reason_size)
        snprintf(reason, reason_size, "%zu arms: %zu float (%zu at floor), %zu fixed %.4f, %zu off",
                 k, n_float, n_pinned, n_fixed, fixed_total, n_off);
    return LLMOPT_OK;
}

int llmopt_alloc_changed(const double *prev, const double *next, size_t k, double eps) {
    for (size_t i = 0; i < k; i++) {
        if ((prev[i] > 0) != (next[i] > 0))
            return 1;
        if (!(fabs(next[i] - prev[i]) <= eps)) /* NaN counts as a change */
            return 1;
    }
    return 0;
}

size_t llmopt_alloc_pick(const double *w, size_t k, double u) {
    double c = 0;
    size_t last = 0;
    for (size_t i = 0; i < k; i++) {
        if (!(w[i] > 0))
            continue;
        last = i;
        c += w[i];
        if (u < c)
            return i;
    }
    return last;
}
