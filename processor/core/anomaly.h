/*
 * anomaly.h - what the window-level anomaly detectors (zscore.h, iqr.h,
 * mad.h) share: the verdict they return, the baseline guard and the
 * severity levels.
 *
 * The detectors run on a series of closed-window aggregates, one value per
 * closed window (p95 latency, error rate, cost per request, quality...), and
 * judge each new value against a baseline built from earlier values only:
 * the value being judged never takes part in its own baseline.
 *
 * Common contract of every detector:
 *  - update(x) judges x against the baseline as it stands, then (subject to
 *    the guard) lets x into the baseline. x must be finite; NaN or infinity
 *    is refused with LLMOPT_ERR_INVALID and |x| > LLMOPT_ANOMALY_VALUE_MAX
 *    with LLMOPT_ERR_RANGE, both leaving the state untouched (the bound keeps
 *    squared deviations finite, so the state never overflows); so is the
 *    value after LLMOPT_ANOMALY_INDEX_MAX values (RANGE).
 *    -0.0 is stored as +0.0 so a checkpoint round trip is bit-exact.
 *  - Warm-up: until `warmup` values have entered the baseline there is no
 *    verdict (ready = 0, is_anomaly = 0) and every value enters the baseline
 *    unguarded, so a detector cannot lock onto its first outlier.
 *  - Score: signed distance of x from the baseline in the detector's own
 *    unit (sigma for z-score, IQR widths beyond the quartile for IQR, scaled
 *    MADs for MAD); severity = |score|; x is anomalous when severity exceeds
 *    the threshold (strictly). `lower`/`upper` are the value-unit fences:
 *    x is anomalous exactly when x < lower or x > upper.
 *  - Zero spread (constant baseline): the scale is max(spread, min_scale).
 *    When it is still 0 a value equal to the baseline scores 0 and any
 *    other value scores +-INFINITY (anomalous, level CRITICAL): with no
 *    observed spread every departure is infinitely many spreads out. Set
 *    min_scale > 0 (in value units) to tolerate small departures instead.
 *  - Guard (after warm-up): INCLUDE lets flagged values into the baseline as
 *    they are; SKIP keeps them out; CLIP lets in the nearest fence instead
 *    (lower or upper). With SKIP or CLIP a lasting level shift stays flagged
 *    until reset(): the caller decides when a shift is the new normal.
 *  - Checkpoint: serialize() writes config and state with processor/core
 *    serial.h; deserialize() rebuilds an identical detector, so restore then
 *    continue gives bit-identical verdicts. Deserialisation bounds every
 *    read, validates every field, and returns a typed error on bad input.
 *
 * Threading: a detector is owned by one thread; no internal locking.
 */
#ifndef LLMOPT_ANOMALY_H
#define LLMOPT_ANOMALY_H

#include <math.h>
#include <stdint.h>

/* Bound on the sample count: update() refuses (LLMOPT_ERR_RANGE, state
 * unchanged) once this many values were offered, and deserialize() refuses a
 * larger count, so the index never wraps and every state round-trips. At one
 * window per millisecond it takes 1e8 years to reach. */
#define LLMOPT_ANOMALY_INDEX_MAX (UINT64_C(1) << 62)

/* Largest |value| accepted by update(); far above any window aggregate. */
#define LLMOPT_ANOMALY_VALUE_MAX 1e100

typedef enum llmopt_anomaly_guard {
    LLMOPT_ANOMALY_GUARD_INCLUDE = 0, /* flagged values enter the baseline */
    LLMOPT_ANOMALY_GUARD_SKIP = 1,    /* flagged values are kept out */
    LLMOPT_ANOMALY_GUARD_CLIP = 2,    /* the nearest fence enters instead */
} llmopt_anomaly_guard;

typedef enum llmopt_anomaly_level {
    LLMOPT_ANOMALY_LEVEL_NONE = 0,     /* not anomalous (or warming up) */
    LLMOPT_ANOMALY_LEVEL_MINOR = 1,    /* threshold < severity <= 1.5 x threshold */
    LLMOPT_ANOMALY_LEVEL_MAJOR = 2,    /* 1.5 x threshold < severity <= 2 x threshold */
    LLMOPT_ANOMALY_LEVEL_CRITICAL = 3, /* severity > 2 x threshold */
} llmopt_anomaly_level;

typedef struct llmopt_anomaly_verdict {
    uint64_t index;      /* 0-based sample index since creation or reset */
    int ready;           /* 1 once warm-up is over: the fields below are meaningful */
    int is_anomaly;      /* severity > threshold */
    int direction;       /* +1 above the baseline, -1 below, 0 equal */
    double value;        /* the value judged ("after") */
    double baseline;     /* the estimate it was judged against ("before"):
                            EWMA mean, or window median */
    double scale;        /* spread used as unit: sigma, IQR, 1.4826 MAD */
    double score;        /* signed distance in the detector's unit */
    double severity;     /* |score| */
    double threshold;    /* the detector's threshold in the same unit */
    llmopt_anomaly_level level;
    double lower, upper; /* fences in value units */
    double admitted;     /* value let into the baseline: value, clipped
                            fence, or NAN when skipped */
} llmopt_anomaly_verdict;

static inline const char *llmopt_anomaly_level_name(llmopt_anomaly_level l) {
    switch (l) {
    case LLMOPT_ANOMALY_LEVEL_NONE: return "none";
    case LLMOPT_ANOMALY_LEVEL_MINOR: return "minor";
    case LLMOPT_ANOMALY_LEVEL_MAJOR: return "major";
    case LLMOPT_ANOMALY_LEVEL_CRITICAL: return "critical";
    }
    return "?";
}

static inline const char *llmopt_anomaly_guard_name(llmopt_anomaly_guard g) {
    switch (g) {
    case LLMOPT_ANOMALY_GUARD_INCLUDE: return "include";
    case LLMOPT_ANOMALY_GUARD_SKIP: return "skip";
    case LLMOPT_ANOMALY_GUARD_CLIP: return "clip";
    }
    return "?";
}

/* Level for a severity, in multiples of the threshold. */
static inline llmopt_anomaly_level llmopt_anomaly_level_of(double severity,
                                                           double threshold) {
    if (!(severity > threshold))
        return LLMOPT_ANOMALY_LEVEL_NONE;
    if (severity <= 1.5 * threshold)
        return LLMOPT_ANOMALY_LEVEL_MINOR;
    if (severity <= 2.0 * threshold)
        return LLMOPT_ANOMALY_LEVEL_MAJOR;
    return LLMOPT_ANOMALY_LEVEL_CRITICAL;
}

/* score = (x - centre) / scale with the zero-scale rule of the contract. */
static inline double llmopt_anomaly_score(double x, double centre, double scale) {
    double d = x - centre;
    if (scale > 0)
        return d / scale;
    if (d == 0)
        return 0.0;
    return d > 0 ? INFINITY : -INFINITY;
}

#endif
