/*
 * drift.h - the result every drift detector (adwin.h, page_hinkley.h,
 * cusum.h) reports when it fires.
 *
 * A detector's update() fills one llmopt_drift_detection and returns 1 when
 * the sample it was just given completed a detection; otherwise it returns 0
 * and leaves the struct untouched. What "estimate before" and "estimate
 * after" mean is detector-specific and stated in each header; in all three
 * they are levels of the monitored value (a mean or a rate), never a test
 * statistic, so magnitude = after - before is comparable across detectors.
 */
#ifndef LLMOPT_DRIFT_H
#define LLMOPT_DRIFT_H

#include <stdint.h>

typedef enum llmopt_drift_dir {
    LLMOPT_DRIFT_DOWN = -1, /* the monitored level fell */
    LLMOPT_DRIFT_UP = 1,    /* the monitored level rose */
} llmopt_drift_dir;

typedef struct llmopt_drift_detection {
    llmopt_drift_dir direction;
    double estimate_before; /* level of the old regime */
    double estimate_after;  /* level of the new regime, as far as seen */
    /* 0-based index of the sample that fired, counted over every update()
     * since init or the last explicit reset (detections do not restart it) */
    uint64_t sample_index;
} llmopt_drift_detection;

#endif
