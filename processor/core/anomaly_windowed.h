/*
 * anomaly_windowed.h - the detector shell the IQR and MAD detectors share
 * (iqr.c, mad.c): the config every window detector has, the checks on x,
 * the warm-up, the guard that keeps flagged values out of the baseline, and
 * the checkpoint layout. A detector brings only its scoring rule (a
 * llmopt_anomaly_windowed_kind) and its public names; the contract is
 * anomaly.h's.
 *
 * Checkpoint layout (after the kind's tag and version): window u32,
 * threshold f64, warmup u32, guard u8, min_scale f64, seen u64, then the
 * window (anomaly_window.h).
 *
 * Ownership: the shell is embedded in its detector; it owns its window,
 * freed by llmopt_anomaly_windowed_release(). Pure: no I/O.
 */
#ifndef LLMOPT_ANOMALY_WINDOWED_H
#define LLMOPT_ANOMALY_WINDOWED_H

#include <stddef.h>
#include <stdint.h>
#include "common/err.h"
#include "processor/core/anomaly.h"
#include "processor/core/anomaly_window.h"
#include "processor/core/serial.h"

typedef struct llmopt_anomaly_windowed_params {
    uint32_t window;    /* values kept, min_window .. LLMOPT_ANOMALY_WINDOW_MAX */
    double threshold;   /* severity above which x is anomalous, > 0 */
    uint32_t warmup;    /* values in the window before the first verdict */
    llmopt_anomaly_guard guard;
    double min_scale;   /* floor on the scale in value units, >= 0 */
} llmopt_anomaly_windowed_params;

/* Judges x against a window of at least `warmup` values: sets baseline (the
 * median), scale, score, lower and upper; the shell does the rest. */
typedef void (*llmopt_anomaly_windowed_score_fn)(const llmopt_anomaly_window *w, double x,
                                                 const llmopt_anomaly_windowed_params *p,
                                                 llmopt_anomaly_verdict *v);

typedef struct llmopt_anomaly_windowed_kind {
    const char *name;           /* in messages: "iqr" */
    const char *threshold_name; /* the config's name for it: "k" */
    const char *tag;            /* checkpoint tag, 4 chars */
    uint32_t version;           /* checkpoint version */
    uint32_t min_window;        /* smallest window and warmup */
    llmopt_anomaly_windowed_score_fn score;
} llmopt_anomaly_windowed_kind;

typedef struct llmopt_anomaly_windowed {
    const llmopt_anomaly_windowed_kind *kind;
    llmopt_anomaly_windowed_params p;
    uint64_t seen; /* values offered to update(), the next sample index */
    llmopt_anomaly_window win;
} llmopt_anomaly_windowed;

/* RANGE with a message naming the field. */
llmopt_err_t llmopt_anomaly_windowed_check(const llmopt_anomaly_windowed_kind *k,
                                           const llmopt_anomaly_windowed_params *p,
                                           char *errstr, size_t errstr_size);
/* Checks p and allocates the window: RANGE or NOMEM, d left released. */
llmopt_err_t llmopt_anomaly_windowed_init(llmopt_anomaly_windowed *d,
                                          const llmopt_anomaly_windowed_kind *k,
                                          const llmopt_anomaly_windowed_params *p,
                                          char *errstr, size_t errstr_size);
void llmopt_anomaly_windowed_release(llmopt_anomaly_windowed *d);
void llmopt_anomaly_windowed_reset(llmopt_anomaly_windowed *d);
/* Judges x, then updates the window; v may be NULL. INVALID (non-finite)
 * or RANGE (|x| too large, index exhausted) leave the state unchanged. */
llmopt_err_t llmopt_anomaly_windowed_update(llmopt_anomaly_windowed *d, double x,
                                            llmopt_anomaly_verdict *v);
/* Appends the checkpoint; returns w->err. */
llmopt_err_t llmopt_anomaly_windowed_write(const llmopt_anomaly_windowed *d, llmopt_wbuf *w);
/* Rebuilds d from exactly len bytes written by _write for kind k:
 * TRUNCATED, INVALID, RANGE or NOMEM with a message, d left released. */
llmopt_err_t llmopt_anomaly_windowed_read(llmopt_anomaly_windowed *d,
                                          const llmopt_anomaly_windowed_kind *k,
                                          const void *data, size_t len, char *errstr,
                                          size_t errstr_size);

#endif
