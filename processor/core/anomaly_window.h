/*
 * anomaly_window.h - the rolling window of recent values behind the IQR and
 * MAD detectors: a ring buffer of at most `cap` values in arrival order plus
 * the same values kept sorted, so quantiles, the median and the MAD cost
 * O(cap) per update instead of a sort.
 *
 * Invariants: 0 <= len <= cap; ring[(head + i) % cap], i < len, are the
 * values oldest first; sorted[0..len) is a non-decreasing permutation of
 * them. Values are finite and never -0.0 (callers normalise), so the sorted
 * array is a function of the ring contents alone and can be rebuilt exactly
 * after a checkpoint.
 *
 * Ownership: the window owns both arrays; llmopt_anomaly_window_release()
 * frees them. Pure: no I/O.
 */
#ifndef LLMOPT_ANOMALY_WINDOW_H
#define LLMOPT_ANOMALY_WINDOW_H

#include <stdint.h>
#include "common/err.h"
#include "processor/core/serial.h"

/* Largest window accepted from config or a checkpoint. */
#define LLMOPT_ANOMALY_WINDOW_MAX (1u << 20)

typedef struct llmopt_anomaly_window {
    double *ring;   /* cap slots, arrival order from head */
    double *sorted; /* len values ascending */
    uint32_t cap;
    uint32_t len;
    uint32_t head;  /* index of the oldest value */
} llmopt_anomaly_window;

/* Allocates for cap values (1 <= cap <= LLMOPT_ANOMALY_WINDOW_MAX).
 * Returns LLMOPT_ERR_RANGE or LLMOPT_ERR_NOMEM, leaving w released. */
llmopt_err_t llmopt_anomaly_window_init(llmopt_anomaly_window *w, uint32_t cap);
void llmopt_anomaly_window_release(llmopt_anomaly_window *w);
/* Empties the window, keeping its capacity. */
void llmopt_anomaly_window_clear(llmopt_anomaly_window *w);
/* Appends x, evicting the oldest value when full. x must be finite. */
void llmopt_anomaly_window_push(llmopt_anomaly_window *w, double x);
/* Quantile q in [0,1] by linear interpolation between order statistics,
 * numpy's default ("linear", Hyndman-Fan type 7): h = (len-1) q,
 * Q = s[floor h] + (h - floor h) (s[floor h + 1] - s[floor h]).
 * Requires len >= 1. */
double llmopt_anomaly_window_quantile(const llmopt_anomaly_window *w, double q);
/* Median as numpy.median: the middle value, or the mean of the two middle
 * values for an even count. Requires len >= 1. */
double llmopt_anomaly_window_median(const llmopt_anomaly_window *w);
/* Median of |x_i - med| (unscaled MAD), med being the window median, found
 * by merging the two sorted runs of distances around the median in O(len).
 * Requires len >= 1. */
double llmopt_anomaly_window_mad(const llmopt_anomaly_window *w, double med);
/* Mean of |x_i - med|: the fallback spread when the MAD is 0. */
double llmopt_anomaly_window_meanad(const llmopt_anomaly_window *w, double med);
/* Writes cap, len and the values oldest first. */
void llmopt_anomaly_window_write(const llmopt_anomaly_window *w, llmopt_wbuf *wb);
/* Reads what _write wrote into a released window; on failure returns
 * LLMOPT_ERR_TRUNCATED/INVALID/RANGE/NOMEM and leaves w released. Rejects a
 * cap above max_cap, len > cap, -0.0 and values beyond
 * +-LLMOPT_ANOMALY_VALUE_MAX (anomaly.h), which update() could never store. */
llmopt_err_t llmopt_anomaly_window_read(llmopt_anomaly_window *w, llmopt_rbuf *rb,
                                        uint32_t max_cap);

#endif
