/*
 * winagg.h - the accumulator of one (route, arm, window): what the
 * processor's WindowMetrics carry. Pure: no I/O.
 *
 * Counts, sums and Welford moments are exact and mergeable; latency and
 * time-to-first-token go into t-digests (tdigest.h), mergeable too, so a
 * later two-stage (partial then merged) layout can combine accumulators.
 *
 * Variances are sample variances (divisor n - 1), reported only for n >= 2;
 * means for n >= 1. Invariant: count == sum of the status counts.
 *
 * Ownership: _init allocates the two digests, _release frees them; an
 * accumulator is owned by one engine (one thread).
 */
#ifndef LLMOPT_WINAGG_H
#define LLMOPT_WINAGG_H

#include <stdbool.h>
#include <stdint.h>

#include "common/err.h"
#include "processor/core/serial.h"
#include "processor/core/tdigest.h"

/* Streaming mean and variance (Welford 1962; Chan et al. for merging). */
typedef struct llmopt_welford {
    int64_t n;
    double mean;
    double m2;  /* sum of squared deviations from the mean */
} llmopt_welford;

void llmopt_welford_add(llmopt_welford *w, double x);
void llmopt_welford_merge(llmopt_welford *dst, const llmopt_welford *src);
/* Sample variance; 0 when n < 2. */
double llmopt_welford_variance(const llmopt_welford *w);

/* Response statuses counted per window, in the Avro enum's order. */
enum {
    LLMOPT_WINAGG_OK = 0,
    LLMOPT_WINAGG_ERROR,
    LLMOPT_WINAGG_TIMEOUT,
    LLMOPT_WINAGG_RATE_LIMITED,
    LLMOPT_WINAGG_FILTERED,
    LLMOPT_WINAGG_NSTATUS
};

typedef struct llmopt_winagg_event {
    int status;            /* LLMOPT_WINAGG_OK .. FILTERED */
    double latency_ms;     /* >= 0 */
    bool has_ttft;
    double ttft_ms;
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;
    bool has_quality;
    double quality;        /* 0..1 */
    bool cache_hit;
    bool has_batch_size;
    int32_t batch_size;
    double reward;         /* from reward.h, 0..1 */
} llmopt_winagg_event;

typedef struct llmopt_winagg {
    int64_t count;
    int64_t status[LLMOPT_WINAGG_NSTATUS];
    llmopt_tdigest *latency;
    llmopt_tdigest *ttft;
    int64_t input_tokens;
    int64_t output_tokens;
    double cost_usd;
    llmopt_welford quality;
    llmopt_welford reward;
    int64_t cache_hits;
    llmopt_welford hit_quality;   /* quality of cache hits */
    llmopt_welford miss_quality;  /* quality of fresh responses */
    int64_t batch_count;
    double batch_sum;
    int64_t late_count;           /* events that arrived after this window closed */
} llmopt_winagg;

/* What a closed window reports; has_* false means "no data". */
typedef struct llmopt_winagg_summary {
    double error_rate;            /* (error + timeout) / count; 0 when count 0 */
    bool has_latency;
    double latency_p50, latency_p90, latency_p95, latency_p99;
    bool has_ttft;
    double ttft_p50, ttft_p90, ttft_p95, ttft_p99;
    double cost_per_request;      /* cost_usd / count; 0 when count 0 */
    bool has_quality_mean, has_quality_var;
    double quality_mean, quality_var;
    bool has_reward_mean, has_reward_var;
    double reward_mean, reward_var;
    bool has_hit_quality, has_miss_quality;
    double hit_quality_mean, miss_quality_mean;
    bool has_batch_mean;
    double batch_mean;
} llmopt_winagg_summary;

/* NOMEM when a digest cannot be allocated (nothing to release then). */
llmopt_err_t llmopt_winagg_init(llmopt_winagg *a, uint32_t compression);
void llmopt_winagg_release(llmopt_winagg *a);
/* INVALID when the event breaks its contract (status out of range,
 * non-finite or negative numbers); the accumulator is then unchanged. */
llmopt_err_t llmopt_winagg_add(llmopt_winagg *a, const llmopt_winagg_event *e);
llmopt_err_t llmopt_winagg_merge(llmopt_winagg *dst, const llmopt_winagg *src);
/* For an accumulator that takes no more events and will be merged several
 * times (a closed pane): orders the digests' buffered input once, so the
 * merges need not sort it each time. Changes no result of any later call
 * (llmopt_tdigest_sort_input). */
void llmopt_winagg_seal(llmopt_winagg *a);
/* Flushes the digests (hence not const). */
void llmopt_winagg_summarize(llmopt_winagg *a, llmopt_winagg_summary *s);

void llmopt_winagg_serialize(const llmopt_winagg *a, llmopt_wbuf *w);
/* Reads into an initialised-then-empty accumulator a (its digests are
 * replaced). Returns LLMOPT_OK or an error with r->err set. */
llmopt_err_t llmopt_winagg_deserialize(llmopt_winagg *a, llmopt_rbuf *r);

#endif
