/*
 * iqr.h - Tukey-fence anomaly detector over a rolling window of the last
 * `window` closed-window aggregates (common contract in anomaly.h).
 *
 * Baseline: the last `window` values that entered it (anomaly_window.h).
 * Quartiles Q1, Q3 and the median use numpy's default linear interpolation
 * (Hyndman-Fan type 7): h = (n-1) p, Q = s[floor h] + frac(h) (s[floor h + 1]
 * - s[floor h]) over the sorted window s of n values.
 *
 * Verdict for x (once the window holds `warmup` values):
 *     IQR   = max(Q3 - Q1, min_scale)
 *     fences  lower = Q1 - k IQR, upper = Q3 + k IQR
 *     score = (x - Q3) / IQR above Q3, (x - Q1) / IQR below Q1, else 0:
 *             how many IQR widths x lies beyond the box, so |score| > k is
 *             exactly "outside the fences" (up to rounding).
 *     baseline = median, direction = sign(x - median).
 * A zero IQR (over half the window equal) follows the anomaly.h zero-scale
 * rule: any value outside [Q1, Q3] scores +-INFINITY.
 *
 * Defaults: window 30, k 1.5, warmup 30 (= window), guard SKIP, min_scale 0.
 * Cost: O(window) per update (sorted insert and evict), O(window) memory.
 *
 * Ownership: llmopt_iqr_new() returns a heap object owned by the caller,
 * released with llmopt_iqr_destroy() (NULL is a no-op).
 */
#ifndef LLMOPT_IQR_H
#define LLMOPT_IQR_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "processor/core/anomaly.h"
#include "processor/core/serial.h"

typedef struct llmopt_iqr_config {
    uint32_t window;  /* values kept, 4 .. LLMOPT_ANOMALY_WINDOW_MAX */
    double k;         /* fence multiplier, > 0 */
    uint32_t warmup;  /* values in the window before the first verdict, 4 .. window */
    llmopt_anomaly_guard guard;
    double min_scale; /* floor on the IQR in value units, >= 0 */
} llmopt_iqr_config;

typedef struct llmopt_iqr llmopt_iqr;

void llmopt_iqr_config_default(llmopt_iqr_config *c);
llmopt_err_t llmopt_iqr_config_check(const llmopt_iqr_config *c, char *errstr,
                                     size_t errstr_size);
/* c NULL means defaults. RANGE on a bad config, NOMEM; *out NULL on failure. */
llmopt_err_t llmopt_iqr_new(llmopt_iqr **out, const llmopt_iqr_config *c, char *errstr,
                            size_t errstr_size);
void llmopt_iqr_destroy(llmopt_iqr *d);
/* Judges x, then updates the window; v may be NULL. INVALID (non-finite)
 * or RANGE (|x| too large) leave the state unchanged. */
llmopt_err_t llmopt_iqr_update(llmopt_iqr *d, double x, llmopt_anomaly_verdict *v);
void llmopt_iqr_reset(llmopt_iqr *d);
const llmopt_iqr_config *llmopt_iqr_config_get(const llmopt_iqr *d);
/* Appends the checkpoint (tag "IQRF", version 1); returns w->err. */
llmopt_err_t llmopt_iqr_serialize(const llmopt_iqr *d, llmopt_wbuf *w);
/* Rebuilds from exactly len bytes; TRUNCATED, INVALID, RANGE, NOMEM; *out
 * NULL on failure. */
llmopt_err_t llmopt_iqr_deserialize(llmopt_iqr **out, const void *data, size_t len,
                                    char *errstr, size_t errstr_size);

#endif
