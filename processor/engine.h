/*
 * engine.h - the whole per-event logic of one input partition: validate,
 * join requests/responses/feedback, window metrics, drift and anomaly
 * detection, outcomes with rewards. docs/PROCESSOR.md has the semantics.
 *
 * Pure: decoded records in, records out through the sink callbacks, no
 * Kafka, no clock. Live processing, replay and backtests all run this code;
 * given the same records in the same order an engine emits the same records
 * in the same order, byte for byte.
 *
 * Time: the watermark is max(event ts seen) - ooo_ms, raised by
 * llmopt_engine_advance() (the runner's idle clock in live mode, never in
 * replay). Requests wait join_window_ms for their response; outcomes wait
 * feedback_window_ms for feedback.
 *
 * Ownership: records passed in are only read during the call (their strings
 * are copied when kept). Records passed to the sink are valid only during
 * the callback. An engine is owned by one thread.
 */
#ifndef LLMOPT_ENGINE_H
#define LLMOPT_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "common/err.h"
#include "common/records.h"
#include "processor/core/reward.h"
#include "processor/core/window.h"
#include "processor/detect.h"

#define LLMOPT_ENGINE_MAX_WINDOWS 4

/* Dead-letter reasons, also the labels of the per-reason counters. */
typedef enum llmopt_dlq_reason {
    LLMOPT_DLQ_DECODE = 0,        /* cannot be decoded (counted by the runner) */
    LLMOPT_DLQ_MISSING_FIELD,     /* a required field is missing or empty */
    LLMOPT_DLQ_BAD_VALUE,         /* NaN, negative or absurd number */
    LLMOPT_DLQ_BAD_TIMESTAMP,     /* too far in the future or the past */
    LLMOPT_DLQ_DUPLICATE,         /* request_id already seen */
    LLMOPT_DLQ_LATE,              /* after its windows closed */
    LLMOPT_DLQ_UNMATCHED,         /* feedback for no known request */
    LLMOPT_DLQ_COUNT
} llmopt_dlq_reason;

const char *llmopt_dlq_reason_name(llmopt_dlq_reason r);

/* Per-route reward override. */
typedef struct llmopt_engine_route_reward {
    const char *route;
    llmopt_reward_config reward;
} llmopt_engine_route_reward;

typedef struct llmopt_engine_config {
    int64_t join_window_ms;        /* default 600000 (10 min) */
    int64_t feedback_window_ms;    /* default 3600000 (1 h) */
    size_t join_max_bytes;         /* budget of all join state, default 256 MiB */
    int64_t ooo_ms;                /* allowed out-of-orderness, default 5000 */
    int64_t grace_ms;              /* window grace after the watermark, default 0 */
    int64_t max_future_ms;         /* ts more than this ahead of the max seen: bad, default 1 h */
    int64_t max_past_ms;           /* ts more than this behind the watermark: bad, default 7 d */
    int nwindows;                  /* 1..LLMOPT_ENGINE_MAX_WINDOWS */
    llmopt_window_config windows[LLMOPT_ENGINE_MAX_WINDOWS]; /* [0] feeds anomaly detection */
    uint32_t digest_compression;   /* default 100 */
    double max_latency_ms;         /* absurd above, default 3.6e6 */
    double max_cost_usd;           /* absurd above, default 1000 */
    int64_t max_tokens;            /* absurd above, default 100 000 000 */
    llmopt_detect_config detect;
    llmopt_reward_config reward;   /* default for every route */
    const llmopt_engine_route_reward *route_rewards; /* not copied: must outlive the engine */
    size_t nroute_rewards;
} llmopt_engine_config;

/* Defaults above; windows: 1-minute tumbling and 5-minute hopping by 1 minute. */
void llmopt_engine_config_default(llmopt_engine_config *c);
llmopt_err_t llmopt_engine_config_check(const llmopt_engine_config *c, char *errstr,
                                        size_t errstr_size);

/* Where an input record came from (for DLQ headers). */
typedef struct llmopt_engine_src {
    const char *topic;
    int32_t partition;
    int64_t offset;
} llmopt_engine_src;

typedef struct llmopt_engine_sink {
    void (*outcome)(void *ctx, const llmopt_outcome *o);
    void (*metrics)(void *ctx, const llmopt_window_metrics *m);
    void (*signal)(void *ctx, const llmopt_signal *s);
    /* The record at src is rejected; the runner forwards its original bytes. */
    void (*dlq)(void *ctx, const llmopt_engine_src *src, llmopt_dlq_reason reason,
                const char *detail);
    void *ctx;
} llmopt_engine_sink;

typedef struct llmopt_engine_stats {
    uint64_t requests, responses, feedback;      /* accepted */
    uint64_t dlq[LLMOPT_DLQ_COUNT];
    uint64_t outcomes, reward_updates, missing;   /* emitted */
    uint64_t metrics;                             /* windows emitted */
    uint64_t signals_drift, signals_anomaly;
    uint64_t signals_by_detector[6];              /* llmopt_detector order */
    uint64_t join_evicted;                        /* closed early by the memory budget */
    uint64_t orphan_responses;                    /* responses whose request never came */
    uint64_t open_windows;
    size_t state_bytes;                           /* join + windows + detectors */
    size_t arms;                                  /* live (route, arm) keys */
    int64_t watermark_ms;                         /* INT64_MIN before any event */
    int64_t max_event_ms;
} llmopt_engine_stats;

typedef struct llmopt_engine llmopt_engine;

/* cfg is copied (route_rewards excepted); NULL with errstr on a bad config
 * or no memory. partition only labels outputs and checkpoints. */
llmopt_engine *llmopt_engine_new(const llmopt_engine_config *cfg, const llmopt_engine_sink *sink,
                                 int32_t partition, char *errstr, size_t errstr_size);
void llmopt_engine_destroy(llmopt_engine *e);

/* Each returns LLMOPT_OK when the record was applied or dead-lettered (the
 * sink saw it); NOMEM is the only failure, after which the engine must be
 * discarded and restored from its last checkpoint. */
llmopt_err_t llmopt_engine_on_request(llmopt_engine *e, const llmopt_request *r,
                                      const llmopt_engine_src *src);
llmopt_err_t llmopt_engine_on_response(llmopt_engine *e, const llmopt_response *r,
                                       const llmopt_engine_src *src);
llmopt_err_t llmopt_engine_on_feedback(llmopt_engine *e, const llmopt_feedback *f,
                                       const llmopt_engine_src *src);
/* Raise the watermark (idle partition in live mode) and close what it
 * reaches. Never lowers it. */
llmopt_err_t llmopt_engine_advance(llmopt_engine *e, int64_t watermark_ms);
/* Close everything (end of a bounded replay): every window is emitted and
 * every waiting request becomes missing. */
llmopt_err_t llmopt_engine_flush(llmopt_engine *e);

/* Walks every (route, arm): call it for /metrics, not per event. */
void llmopt_engine_get_stats(const llmopt_engine *e, llmopt_engine_stats *st);
/* The largest event time seen (INT64_MIN before any), in O(1). */
int64_t llmopt_engine_max_event_ms(const llmopt_engine *e);

/* Checkpoint: the complete state, canonical (saving twice gives the same
 * bytes). Errors in w->err. */
void llmopt_engine_save(const llmopt_engine *e, llmopt_wbuf *w);
/* Restore into a fresh engine made with the same config. INVALID (with
 * errstr) on bad or mismatching bytes; the engine is then unusable. */
llmopt_err_t llmopt_engine_load(llmopt_engine *e, const void *data, size_t len, char *errstr,
                                size_t errstr_size);

#endif
