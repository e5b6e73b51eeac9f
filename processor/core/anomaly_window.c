/*
 * anomaly_window.c - rolling window with a sorted shadow (see
 * anomaly_window.h).
 */
#include "processor/core/anomaly_window.h"

#include "processor/core/anomaly.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

llmopt_err_t llmopt_anomaly_window_init(llmopt_anomaly_window *w, uint32_t cap) {
    memset(w, 0, sizeof(*w));
    if (cap < 1 || cap > LLMOPT_ANOMALY_WINDOW_MAX)
        return LLMOPT_ERR_RANGE;
    w->ring = malloc(sizeof(double) * cap);
    w->sorted = malloc(sizeof(double) * cap);
    if (!w->ring || !w->sorted) {
        llmopt_anomaly_window_release(w);
        return LLMOPT_ERR_NOMEM;
    }
    w->cap = cap;
    return LLMOPT_OK;
}

void llmopt_anomaly_window_release(llmopt_anomaly_window *w) {
    free(w->ring);
    free(w->sorted);
    memset(w, 0, sizeof(*w));
}

void llmopt_anomaly_window_clear(llmopt_anomaly_window *w) {
    w->len = 0;
    w->head = 0;
}

/* First index i with sorted[i] >= x (or len). */
static uint32_t lower_bound(const double *s, uint32_t len, double x) {
    uint32_t lo = 0, hi = len;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (s[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

void llmopt_anomaly_window_push(llmopt_anomaly_window *w, double x) {
    assert(isfinite(x) && w->cap > 0);
    if (w->len == w->cap) {
        double old = w->ring[w->head];
        uint32_t i = lower_bound(w->sorted, w->len, old);
        assert(i < w->len && w->sorted[i] == old);
        memmove(w->sorted + i, w->sorted + i + 1, sizeof(double) * (w->len - i - 1));
        w->len--;
        w->ring[w->head] = x;
        w->head = (w->head + 1) % w->cap;
    } else {
        w->ring[(w->head + w->len) % w->cap] = x;
    }
    uint32_t j = lower_bound(w->sorted, w->len, x);
    memmove(w->sorted + j + 1, w->sorted + j, sizeof(double) * (w->len - j));
    w->sorted[j] = x;
    w->len++;
}

/* numpy's _lerp: switches formula at t = 0.5 so that t = 1 returns b exactly
 * and the result stays monotone; copying it keeps us bit-close to numpy. */
static double lerp(double a, double b, double t) {
    double d = b - a;
    return t >= 0.5 ? b - d * (1.0 - t) : a + d * t;
}

double llmopt_anomaly_window_quantile(const llmopt_anomaly_window *w, double q) {
    assert(w->len >= 1);
    double h = (double)w->len * q + (1.0 - q) - 1.0; /* = (len-1) q, as numpy forms it */
    if (h <= 0)
        return w->sorted[0];
    if (h >= (double)(w->len - 1))
        return w->sorted[w->len - 1];
    double fl = floor(h);
    uint32_t i = (uint32_t)fl;
    return lerp(w->sorted[i], w->sorted[i + 1], h - fl);
}

double llmopt_anomaly_window_median(const llmopt_anomaly_window *w) {
    assert(w->len >= 1);
    uint32_t n = w->len;
    if (n % 2)
        return w->sorted[n / 2];
    return (w->sorted[n / 2 - 1] + w->sorted[n / 2]) / 2.0;
}

double llmopt_anomaly_window_mad(const llmopt_anomaly_window *w, double med) {
    assert(w->len >= 1);
    const double *s = w->sorted;
    uint32_t n = w->len;
    /* Distances grow walking left from the split point and walking right from
     * it: merge the two runs and stop at the middle rank(s). */
    uint32_t split = lower_bound(s, n, med); /* s[split-1] < med <= s[split] */
    int64_t l = (int64_t)split - 1;
    uint32_t r = split;
    uint32_t want_hi = n / 2, want_lo = (n % 2) ? n / 2 : n / 2 - 1;
    double lo_v = 0, hi_v = 0;
    for (uint32_t k = 0; k <= want_hi; k++) {
        double d;
        double dl = l >= 0 ? med - s[l] : INFINITY;
        double dr = r < n ? s[r] - med : INFINITY;
        if (dl <= dr) {
            d = dl;
            l--;
        } else {
            d = dr;
            r++;
        }
        if (k == want_lo)
            lo_v = d;
        if (k == want_hi)
            hi_v = d;
    }
    return (n % 2) ? hi_v : (lo_v + hi_v) / 2.0;
}

double llmopt_anomaly_window_meanad(const llmopt_anomaly_window *w, double med) {
    assert(w->len >= 1);
    double sum = 0;
    for (uint32_t i = 0; i < w->len; i++)
        sum += fabs(w->sorted[i] - med);
    return sum / w->len;
}

void llmopt_anomaly_window_write(const llmopt_anomaly_window *w, llmopt_wbuf *wb) {
    llmopt_wbuf_u32(wb, w->cap);
    llmopt_wbuf_u32(wb, w->len);
    for (uint32_t i = 0; i < w->len; i++)
        llmopt_wbuf_f64(wb, w->ring[(w->head + i) % w->cap]);
}

llmopt_err_t llmopt_anomaly_window_read(llmopt_anomaly_window *w, llmopt_rbuf *rb,
                                        uint32_t max_cap) {
    memset(w, 0, sizeof(*w));
    uint32_t cap = llmopt_rbuf_u32(rb);
    uint32_t len = llmopt_rbuf_count(rb, cap, sizeof(double));
    if (rb->err)
        return (llmopt_err_t)rb->err;
    if (cap < 1 || cap > max_cap || cap > LLMOPT_ANOMALY_WINDOW_MAX)
        return LLMOPT_ERR_RANGE;
    llmopt_err_t e = llmopt_anomaly_window_init(w, cap);
    if (e != LLMOPT_OK)
        return e;
    for (uint32_t i = 0; i < len; i++) {
        double x = llmopt_rbuf_f64(rb);
        if (rb->err) {
            e = (llmopt_err_t)rb->err;
            goto out;
        }
        if (!(fabs(x) <= LLMOPT_ANOMALY_VALUE_MAX) || (x == 0 && signbit(x))) {
            e = LLMOPT_ERR_INVALID;
            goto out;
        }
        llmopt_anomaly_window_push(w, x);
    }
    e = LLMOPT_OK;
out:
    if (e != LLMOPT_OK)
        llmopt_anomaly_window_release(w);
    return e;
}
