/*
 * mad.h - median-absolute-deviation anomaly detector over a rolling window
 * of the last `window` closed-window aggregates (common contract in
 * anomaly.h). This is the modified z-score of Iglewicz and Hoaglin (1993).
 *
 * Baseline: the last `window` values that entered it (anomaly_window.h);
 * median as numpy.median (mean of the two middle values for an even count);
 * MAD = median |x_i - median|.
 *
 * Verdict for x (once the window holds `warmup` values):
 *     scale = 1.4826 MAD (1.4826 ~ 1 / Phi^-1(3/4) makes it estimate sigma
 *             for normal data, so the score reads like a z-score)
 *     if scale == 0 (more than half the window equal to the median):
 *         scale = 1.253314 MeanAD, MeanAD = mean |x_i - median|
 *         (1.253314 ~ sqrt(pi/2), the same normal-consistency for the mean
 *         absolute deviation; the fallback used by IBM SPSS for the modified
 *         z-score), so a mostly-constant series still has a usable unit
 *     scale = max(scale, min_scale); if still 0 the anomaly.h zero-scale
 *     rule applies.
 *     score = (x - median) / scale, anomalous when |score| > threshold;
 *     fences median -+ threshold scale; baseline = median.
 *
 * Defaults: window 30, threshold 3.5 (Iglewicz-Hoaglin's recommendation),
 * warmup 30 (= window), guard SKIP, min_scale 0.
 * Cost: O(window) per update (sorted insert/evict, MAD by merging the two
 * sorted runs of distances around the median), O(window) memory.
 *
 * Ownership: llmopt_mad_new() returns a heap object owned by the caller,
 * released with llmopt_mad_destroy() (NULL is a no-op).
 */
#ifndef LLMOPT_MAD_H
#define LLMOPT_MAD_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "processor/core/anomaly.h"
#include "processor/core/serial.h"

#define LLMOPT_MAD_SCALE 1.4826
#define LLMOPT_MAD_MEANAD_SCALE 1.253314

typedef struct llmopt_mad_config {
    uint32_t window;   /* values kept, 3 .. LLMOPT_ANOMALY_WINDOW_MAX */
    double threshold;  /* in scaled MADs, > 0 */
    uint32_t warmup;   /* values in the window before the first verdict, 3 .. window */
    llmopt_anomaly_guard guard;
    double min_scale;  /* floor on the scale (1.4826 MAD) in value units, >= 0 */
} llmopt_mad_config;

typedef struct llmopt_mad llmopt_mad;

void llmopt_mad_config_default(llmopt_mad_config *c);
llmopt_err_t llmopt_mad_config_check(const llmopt_mad_config *c, char *errstr,
                                     size_t errstr_size);
/* c NULL means defaults. RANGE on a bad config, NOMEM; *out NULL on failure. */
llmopt_err_t llmopt_mad_new(llmopt_mad **out, const llmopt_mad_config *c, char *errstr,
                            size_t errstr_size);
void llmopt_mad_destroy(llmopt_mad *d);
/* Judges x, then updates the window; v may be NULL. INVALID (non-finite)
 * or RANGE (|x| too large) leave the state unchanged. */
llmopt_err_t llmopt_mad_update(llmopt_mad *d, double x, llmopt_anomaly_verdict *v);
void llmopt_mad_reset(llmopt_mad *d);
const llmopt_mad_config *llmopt_mad_config_get(const llmopt_mad *d);
/* Appends the checkpoint (tag "MADD", version 1); returns w->err. */
llmopt_err_t llmopt_mad_serialize(const llmopt_mad *d, llmopt_wbuf *w);
/* Rebuilds from exactly len bytes; TRUNCATED, INVALID, RANGE, NOMEM; *out
 * NULL on failure. */
llmopt_err_t llmopt_mad_deserialize(llmopt_mad **out, const void *data, size_t len,
                                    char *errstr, size_t errstr_size);

#endif
