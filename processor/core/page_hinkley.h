/*
 * page_hinkley.h - Page-Hinkley test for a change in the mean (Page 1954),
 * with River's fading factor and semantics (river.drift.PageHinkley 0.26).
 *
 * Algorithm. With xbar_t the running mean of the samples since the last
 * reset (x_t included):
 *     U_t = alpha * U_{t-1} + (x_t - xbar_t) - delta     (increase statistic)
 *     L_t = alpha * L_{t-1} + (x_t - xbar_t) + delta     (decrease statistic)
 *     min_U = min over t of U_t,  max_L = max(-1, max over t of L_t)
 * Once at least min_instances samples have been seen since the reset, an
 * increase is detected when U_t - min_U > threshold and a decrease when
 * max_L - L_t > threshold (mode up, down or both). The -1 start of max_L and
 * the operation order are River's, so detection indices match River exactly
 * (tested against golden files).
 *
 * Parameters (defaults are River's):
 *   min_instances 30  - no detection before this many samples since reset.
 *   delta 0.005       - magnitude of change tolerated per sample; raise it to
 *                       ignore slow creep.
 *   threshold 50      - lambda, in units of the data: higher = fewer false
 *                       alarms, later detection. Scale it with the data.
 *   alpha 0.9999      - fading of U and L; 1 = classic Page-Hinkley.
 *   mode both         - which direction(s) to test.
 *
 * Detection report: the change time is estimated as the last time U reached
 * its minimum (for an increase) or L its maximum (for a decrease);
 * estimate_after is the mean of the samples after that point,
 * estimate_before the mean of those up to it. In mode both, when both tests
 * fire on the same sample the larger statistic gives the direction.
 *
 * After a detection the detector resets completely (mean, U, L, extremes),
 * as River does, and needs min_instances samples before it can fire again.
 * Non-finite inputs are ignored but advance the sample index. No heap; the
 * struct is public for embedding, its fields are private.
 */
#ifndef LLMOPT_PAGE_HINKLEY_H
#define LLMOPT_PAGE_HINKLEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/drift.h"
#include "processor/core/serial.h"

typedef enum llmopt_ph_mode {
    LLMOPT_PH_UP = 1,
    LLMOPT_PH_DOWN = 2,
    LLMOPT_PH_BOTH = 3,
} llmopt_ph_mode;

typedef struct llmopt_ph_config {
    uint32_t min_instances; /* >= 1 */
    double delta;           /* finite, >= 0 */
    double threshold;       /* finite, > 0 */
    double alpha;           /* (0, 1] */
    llmopt_ph_mode mode;
} llmopt_ph_config;

typedef struct llmopt_ph {
    llmopt_ph_config cfg;
    double n;            /* samples since reset (River keeps a float) */
    double mean;
    double sum_inc, sum_dec;
    double min_inc, max_dec;
    double total;        /* sum since reset, for the report */
    double inc_sum;      /* sum / count since min_inc was last attained */
    double dec_sum;      /* sum / count since max_dec was last attained */
    uint64_t inc_n, dec_n;
    uint64_t n_seen;     /* next sample_index */
    uint64_t n_detections;
} llmopt_ph;

llmopt_ph_config llmopt_ph_config_default(void);

/* Validate cfg (RANGE/INVALID with reason on failure; *p zeroed then). */
llmopt_err_t llmopt_ph_init(llmopt_ph *p, const llmopt_ph_config *cfg,
                            char *errstr, size_t errstr_size);
/* Forget all samples and restart the sample index; keeps the configuration. */
void llmopt_ph_reset(llmopt_ph *p);
/* Feed one value; returns 1 and fills *det (if not NULL) on a detection. */
int llmopt_ph_update(llmopt_ph *p, double x, llmopt_drift_detection *det);
double llmopt_ph_mean(const llmopt_ph *p);
uint64_t llmopt_ph_detections(const llmopt_ph *p);

/* "PGHK" v1 record with configuration and state; errors in w->err. */
void llmopt_ph_serialize(const llmopt_ph *p, llmopt_wbuf *w);
/* Validating reader: configuration and state structure are checked; sums
 * are taken as they are (huge inputs may have overflowed them). *p is
 * untouched on failure (INVALID/TRUNCATED, reason in errstr). */
llmopt_err_t llmopt_ph_deserialize(llmopt_ph *p, llmopt_rbuf *r,
                                   char *errstr, size_t errstr_size);

#endif
