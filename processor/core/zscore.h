/*
 * zscore.h - z-score anomaly detector over closed-window aggregates against
 * an exponentially weighted baseline (common contract in anomaly.h).
 *
 * Baseline: EWMA mean and EWMA variance with weight alpha on the newest
 * value, by the incremental recursion of West (1979) / Finch (2009,
 * "Incremental calculation of weighted mean and variance"):
 *
 *     d    = x - mean
 *     mean = mean + alpha d
 *     var  = (1 - alpha) (var + alpha d^2)
 *
 * started from mean = first value, var = 0. It is the exponentially
 * weighted variance about the moving mean, with no bias correction.
 *
 * Verdict for x (after `warmup` values have entered the baseline):
 *     sigma = max(sqrt(var), min_scale)
 *     score = (x - mean) / sigma,  anomalous when |score| > threshold,
 *     fences mean -+ threshold sigma, baseline = mean.
 * Zero sigma follows the anomaly.h rule (+-INFINITY for any departure).
 *
 * Defaults: alpha 0.1 (memory ~ 2/alpha - 1 = 19 windows), threshold 3,
 * warmup 10, guard SKIP, min_scale 0.
 *
 * Ownership: llmopt_zscore_new() returns a heap object owned by the caller,
 * released with llmopt_zscore_destroy() (NULL is a no-op).
 */
#ifndef LLMOPT_ZSCORE_H
#define LLMOPT_ZSCORE_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "processor/core/anomaly.h"
#include "processor/core/serial.h"

typedef struct llmopt_zscore_config {
    double alpha;        /* EWMA weight of the newest value, 0 < alpha < 1 */
    double threshold;    /* in sigma, > 0 */
    uint32_t warmup;     /* values in the baseline before the first verdict, >= 2 */
    llmopt_anomaly_guard guard;
    double min_scale;    /* floor on sigma in value units, >= 0 */
} llmopt_zscore_config;

typedef struct llmopt_zscore llmopt_zscore;

void llmopt_zscore_config_default(llmopt_zscore_config *c);
/* Checks every field; LLMOPT_ERR_RANGE with the field named in errstr. */
llmopt_err_t llmopt_zscore_config_check(const llmopt_zscore_config *c, char *errstr,
                                        size_t errstr_size);
/* Creates a detector (c NULL means defaults). Fails with RANGE on a bad
 * config or NOMEM; *out is then NULL. */
llmopt_err_t llmopt_zscore_new(llmopt_zscore **out, const llmopt_zscore_config *c,
                               char *errstr, size_t errstr_size);
void llmopt_zscore_destroy(llmopt_zscore *z);
/* Judges x and updates the baseline; fills *v (may be NULL). INVALID for a
 * non-finite x, state unchanged. */
llmopt_err_t llmopt_zscore_update(llmopt_zscore *z, double x, llmopt_anomaly_verdict *v);
/* Forgets the baseline and the sample index; keeps the config. */
void llmopt_zscore_reset(llmopt_zscore *z);
const llmopt_zscore_config *llmopt_zscore_config_get(const llmopt_zscore *z);
/* Appends the checkpoint (tag "ZSCR", version 1) to w; returns w->err. */
llmopt_err_t llmopt_zscore_serialize(const llmopt_zscore *z, llmopt_wbuf *w);
/* Rebuilds a detector from exactly len bytes. TRUNCATED, INVALID (bad tag,
 * trailing bytes, inconsistent state), RANGE (bad config), VERSION or NOMEM;
 * *out is NULL on failure. */
llmopt_err_t llmopt_zscore_deserialize(llmopt_zscore **out, const void *data, size_t len,
                                       char *errstr, size_t errstr_size);

#endif
