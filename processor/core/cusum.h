/*
 * cusum.h - two-sided CUSUM change detector, in two flavours.
 *
 * GAUSSIAN (default): Montgomery's tabular CUSUM ("Introduction to
 * Statistical Quality Control", ch. 9). During warm-up the first
 * min_instances samples estimate mu0 (mean) and sigma (sample standard
 * deviation, n - 1); both are then frozen, K = k sigma, H = h sigma, and
 *     S_H = max(0, x - (mu0 + K) + S_H),   S_L = max(0, (mu0 - K) - x + S_L).
 * An increase is detected when S_H > H, a decrease when S_L > H. The report's
 * estimate_before is mu0 and estimate_after is Montgomery's estimate of the
 * new mean: mu0 + K + S_H / N+ (or mu0 - K - S_L / N-), N+- being the number
 * of consecutive samples the side has been above zero.
 *   k 0.5 - half the shift (in sigmas) the chart is tuned to catch fastest.
 *   h 5   - decision interval in sigmas; with k 0.5 the in-control ARL is
 *           about 465 samples per side (Montgomery table 9.3), so on long
 *           streams expect false alarms roughly every few hundred samples:
 *           raise h (h 8 or more) for unattended monitoring.
 * A zero sigma (constant warm-up) makes K = H = 0, so any departure from mu0
 * fires; min_sigma puts a floor under sigma for such metrics.
 *
 * BERNOULLI: for 0/1 data (error indicators; any nonzero value counts as 1)
 * a Bernoulli CUSUM on the log-likelihood ratio (Reynolds & Stoumbos 1999).
 * Warm-up estimates p0 = (ones + 0.5) / (n + 1) (the half-count keeps p0 off
 * 0 and 1 so the ratio stays finite). The upper chart tests p0 -> p1 with
 * odds(p1) = odds_ratio * odds(p0), the lower chart p0 -> p1' with
 * odds(p1') = odds(p0) / odds_ratio; each accumulates
 *     S = max(0, S + x ln(p1/p0) + (1 - x) ln((1-p1)/(1-p0)))
 * and fires when S > h_llr (nats). Wald's bound gives an in-control ARL of
 * at least about e^h_llr per side. estimate_before is p0, estimate_after the
 * fraction of ones since the firing side last left zero.
 *   odds_ratio 2 - the rate change to catch fastest (2 = odds doubling).
 *   h_llr 10     - decision interval in nats.
 *
 * After a detection, with relearn set (default) the detector returns to
 * warm-up and re-estimates the baseline from the next min_instances samples
 * (a drift detector should follow the new regime, and the old baseline would
 * fire again at once); with relearn clear only the sums are zeroed and the
 * baseline stays frozen (classic SPC restart). Non-finite inputs are ignored
 * but advance the sample index. No heap; fields are private.
 */
#ifndef LLMOPT_CUSUM_H
#define LLMOPT_CUSUM_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/drift.h"
#include "processor/core/serial.h"

typedef enum llmopt_cusum_kind {
    LLMOPT_CUSUM_GAUSSIAN = 0,
    LLMOPT_CUSUM_BERNOULLI = 1,
} llmopt_cusum_kind;

typedef struct llmopt_cusum_config {
    llmopt_cusum_kind kind;  /* default GAUSSIAN */
    uint32_t min_instances;  /* warm-up length, default 30; >= 2 */
    double k;                /* GAUSSIAN: allowance in sigmas, default 0.5; >= 0 */
    double h;                /* GAUSSIAN: decision interval in sigmas, default 5; > 0 */
    double min_sigma;        /* GAUSSIAN: floor under sigma, default 0; >= 0 */
    double odds_ratio;       /* BERNOULLI: default 2; > 1 */
    double h_llr;            /* BERNOULLI: decision interval in nats, default 10; > 0 */
    int relearn;             /* re-run warm-up after a detection, default 1 */
} llmopt_cusum_config;

typedef struct llmopt_cusum {
    llmopt_cusum_config cfg;
    /* warm-up (Welford) */
    uint64_t warm_n;
    double warm_mean, warm_m2, warm_sum;
    int frozen;
    /* frozen baseline; for BERNOULLI mu0 = p0 */
    double mu0, sigma;
    double up_hit, up_miss, dn_hit, dn_miss; /* BERNOULLI LLR increments */
    /* chart */
    double sh, sl;
    uint64_t nh, nl;         /* consecutive samples each side has been > 0 */
    double hsum, lsum;       /* BERNOULLI: sum of x over those samples */
    uint64_t n_seen;
    uint64_t n_detections;
} llmopt_cusum;

llmopt_cusum_config llmopt_cusum_config_default(void);

llmopt_err_t llmopt_cusum_init(llmopt_cusum *c, const llmopt_cusum_config *cfg,
                               char *errstr, size_t errstr_size);
/* Back to warm-up, sample index restarted; keeps the configuration. */
void llmopt_cusum_reset(llmopt_cusum *c);
/* Feed one value; returns 1 and fills *det (if not NULL) on a detection. */
int llmopt_cusum_update(llmopt_cusum *c, double x, llmopt_drift_detection *det);
/* 1 once the baseline is frozen; mu0/sigma (or p0) valid then. */
int llmopt_cusum_ready(const llmopt_cusum *c);
double llmopt_cusum_mu0(const llmopt_cusum *c);
double llmopt_cusum_sigma(const llmopt_cusum *c);
double llmopt_cusum_upper(const llmopt_cusum *c); /* S_H */
double llmopt_cusum_lower(const llmopt_cusum *c); /* S_L */
uint64_t llmopt_cusum_detections(const llmopt_cusum *c);

/* "CUSM" v1 record; errors in w->err. */
void llmopt_cusum_serialize(const llmopt_cusum *c, llmopt_wbuf *w);
/* Validating reader: configuration and state structure are checked; sums
 * are taken as they are (huge inputs may have overflowed them). *c is
 * untouched on failure (INVALID/TRUNCATED, reason in errstr). */
llmopt_err_t llmopt_cusum_deserialize(llmopt_cusum *c, llmopt_rbuf *r,
                                      char *errstr, size_t errstr_size);

#endif
