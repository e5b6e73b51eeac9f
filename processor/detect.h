/*
 * detect.h - the drift and anomaly detectors of one (route, arm).
 *
 * Drift detectors (ADWIN, Page-Hinkley, CUSUM) watch per-event values:
 *   LLMOPT_DM_LATENCY  latency_ms of successful responses
 *   LLMOPT_DM_ERROR    1 for error/timeout, 0 otherwise (CUSUM uses its
 *                      Bernoulli form here)
 *   LLMOPT_DM_QUALITY  quality, when the response has one
 *   LLMOPT_DM_COST     cost_usd of successful responses
 *   LLMOPT_DM_REWARD   the outcome's reward
 * Anomaly detectors (z-score, IQR, MAD) judge closed-window aggregates of
 * the primary window:
 *   LLMOPT_AM_P95_LATENCY, LLMOPT_AM_ERROR_RATE, LLMOPT_AM_COST_PER_REQUEST,
 *   LLMOPT_AM_QUALITY (window quality mean)
 * Which detectors watch which metric is a bit mask per metric in the
 * config; a detector is allocated only when its bit is set, so an unwatched
 * metric costs nothing.
 *
 * A bank reports each detection through a callback with everything a Signal
 * needs. Pure: no I/O, no clock; owned by one engine (one thread).
 */
#ifndef LLMOPT_DETECT_H
#define LLMOPT_DETECT_H

#include <stdint.h>

#include "common/err.h"
#include "processor/core/adwin.h"
#include "processor/core/cusum.h"
#include "processor/core/iqr.h"
#include "processor/core/mad.h"
#include "processor/core/page_hinkley.h"
#include "processor/core/serial.h"
#include "processor/core/zscore.h"

typedef enum llmopt_drift_metric {
    LLMOPT_DM_LATENCY = 0,
    LLMOPT_DM_ERROR,
    LLMOPT_DM_QUALITY,
    LLMOPT_DM_COST,
    LLMOPT_DM_REWARD,
    LLMOPT_DM_COUNT
} llmopt_drift_metric;

typedef enum llmopt_anomaly_metric {
    LLMOPT_AM_P95_LATENCY = 0,
    LLMOPT_AM_ERROR_RATE,
    LLMOPT_AM_COST_PER_REQUEST,
    LLMOPT_AM_QUALITY,
    LLMOPT_AM_COUNT
} llmopt_anomaly_metric;

/* Detector bits, in the order of llmopt_detector in common/records.h. */
#define LLMOPT_DET_ADWIN (1u << 0)
#define LLMOPT_DET_PH (1u << 1)
#define LLMOPT_DET_CUSUM (1u << 2)
#define LLMOPT_DET_ZSCORE (1u << 3)
#define LLMOPT_DET_IQR (1u << 4)
#define LLMOPT_DET_MAD (1u << 5)

/* Metric names as they appear in Signal.metric. */
const char *llmopt_drift_metric_name(llmopt_drift_metric m);
const char *llmopt_anomaly_metric_name(llmopt_anomaly_metric m);

typedef struct llmopt_detect_config {
    unsigned drift_mask[LLMOPT_DM_COUNT];     /* ADWIN | PH | CUSUM bits */
    unsigned anomaly_mask[LLMOPT_AM_COUNT];   /* ZSCORE | IQR | MAD bits */
    llmopt_adwin_config adwin;
    llmopt_ph_config ph;
    llmopt_cusum_config cusum;                /* GAUSSIAN, for continuous metrics */
    llmopt_cusum_config cusum_bernoulli;      /* for LLMOPT_DM_ERROR */
    /* Page-Hinkley sees (x - mean) / sigma with mean and sigma fixed over its
     * first min_instances values of each metric; sigma is floored here, in
     * the metric's unit (a constant warm-up would otherwise divide by 0) */
    double ph_min_sigma[LLMOPT_DM_COUNT];
    /* > 0: every drift detector of that metric sees log(max(x, floor))
     * instead of x, and its before/after estimates are mapped back with exp
     * (geometric means); 0: x as it is */
    double log_floor[LLMOPT_DM_COUNT];
    llmopt_zscore_config zscore;
    llmopt_iqr_config iqr;
    llmopt_mad_config mad;
} llmopt_detect_config;

/* Defaults: latency, quality and cost watched by ADWIN, Page-Hinkley and
 * CUSUM, the error indicator by ADWIN and the Bernoulli CUSUM, REWARD by
 * none; every anomaly metric by z-score, IQR and MAD. Latency and cost are
 * watched on a log scale. ADWIN has River's defaults; Page-Hinkley and CUSUM
 * are calibrated for per-event rates (see detect.c and docs/DRIFT.md). */
void llmopt_detect_config_default(llmopt_detect_config *c);
llmopt_err_t llmopt_detect_config_check(const llmopt_detect_config *c, char *errstr,
                                        size_t errstr_size);

/* One detection, drift or anomaly. */
typedef struct llmopt_detect_event {
    int is_anomaly;          /* 0 drift, 1 anomaly */
    unsigned detector;       /* one LLMOPT_DET_* bit */
    const char *metric;      /* llmopt_*_metric_name() */
    int direction;           /* +1 up, -1 down */
    double before, after;    /* level before and after (or baseline and value) */
    double magnitude;        /* after - before */
    double severity;         /* anomaly severity; |magnitude| / before-scale for drift */
    uint64_t sample_index;   /* detector's own sample index */
} llmopt_detect_event;

typedef void (llmopt_detect_cb)(void *opaque, const llmopt_detect_event *ev);

typedef struct llmopt_detect llmopt_detect;

/* NULL when out of memory. cfg must have passed the check; it is not copied
 * and must outlive the bank. */
llmopt_detect *llmopt_detect_new(const llmopt_detect_config *cfg);
void llmopt_detect_destroy(llmopt_detect *d);

/* Feed one per-event value to the drift detectors of metric m; each
 * detection is reported through cb before this returns. Non-finite values
 * are ignored. */
void llmopt_detect_drift(llmopt_detect *d, llmopt_drift_metric m, double x,
                         llmopt_detect_cb *cb, void *opaque);
/* Feed one closed-window aggregate to the anomaly detectors of metric m. */
void llmopt_detect_anomaly(llmopt_detect *d, llmopt_anomaly_metric m, double x,
                           llmopt_detect_cb *cb, void *opaque);
/* Memory held by the bank, detectors included (for the state-bytes gauge). */
size_t llmopt_detect_bytes(const llmopt_detect *d);

/* Checkpoint of every allocated detector. */
void llmopt_detect_serialize(const llmopt_detect *d, llmopt_wbuf *w);
/* Restores into a bank made with the same config; INVALID when the blob
 * holds a detector the config does not enable or bytes are bad. */
llmopt_err_t llmopt_detect_deserialize(llmopt_detect *d, llmopt_rbuf *r);

#endif
