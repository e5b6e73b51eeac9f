/*
 * replay.h - run a time range of the telemetry topics through the
 * processor's own engine, in event-time mode, and hand every result to a
 * sink. `llmopt replay` (tools/replay_cmd.c) writes them to run-scoped
 * topics; other tools (backtest) may consume them in process.
 *
 * What runs is the live code: the input records of each partition are
 * merged by processor/pmerge (the rule the live runner uses), decoded by the
 * same codecs and fed to the same llmopt_engine built from the same
 * processor.* keys (llmopt_proc_engine_config). Only event time moves the
 * watermark (never the wall clock). Given the same topics, range and keys, a
 * replay hands the sink the same records in the same order, byte for byte.
 *
 * Range: [from_ms, to_ms) of the Kafka record timestamps, resolved to
 * offsets with rd_kafka_offsets_for_times on each partition of the three
 * input topics (requests, responses, feedback). The partitions are replayed
 * one after another in partition order, each with a fresh engine; at the end
 * of each partition the engine is flushed (every window closes, waiting
 * requests become missing) unless opts.flush is false, in which case what
 * was still open at the end of the range stays unemitted, as in a live
 * processor at that moment.
 *
 * Threads: everything, sink callbacks included, runs on the caller's thread.
 * Ownership: records passed to the sink are valid only during the callback.
 */
#ifndef LLMOPT_TOOLS_REPLAY_H
#define LLMOPT_TOOLS_REPLAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/config.h"
#include "common/err.h"
#include "processor/engine.h"
#include "processor/proc_config.h"

typedef struct llmopt_replay_progress {
    uint64_t events;        /* input records handled so far (dead letters included) */
    uint64_t total;         /* input offsets in the range (an upper bound of the records) */
    double elapsed_s;       /* wall time since the start */
    double cpu_s;           /* process CPU time since the start */
    int64_t event_time_ms;  /* largest event time reached (INT64_MIN before any) */
    int32_t partition;      /* being replayed */
    int32_t npartitions;
    bool done;              /* the last call */
} llmopt_replay_progress;

typedef struct llmopt_replay_sink {
    /* engine outputs, exactly as the engine emits them; NULL: ignored */
    void (*outcome)(void *ctx, const llmopt_outcome *o);
    void (*metrics)(void *ctx, const llmopt_window_metrics *m);
    void (*signal)(void *ctx, const llmopt_signal *s);
    /* a dead letter: the original message m of input topic `topic`, with
     * the reason (decode for undecodable records) and a detail; NULL: ignored */
    void (*dlq)(void *ctx, const rd_kafka_message_t *m, const char *topic,
                llmopt_dlq_reason reason, const char *detail);
    /* about every progress_interval_ms and once with done = true; NULL: none */
    void (*progress)(void *ctx, const llmopt_replay_progress *p);
    void *ctx;
} llmopt_replay_sink;

typedef struct llmopt_replay_opts {
    const llmopt_processor_conf *pc; /* input topics and formats, engine keys */
    const llmopt_config *cfg;        /* kafka.* keys for the consumer */
    int64_t from_ms, to_ms;          /* [from, to) of the record timestamps */
    bool flush;                      /* close everything at the end of each partition */
    int64_t progress_interval_ms;    /* <= 0: 1000 */
    int64_t timeout_ms;              /* bound on the whole replay; <= 0: none */
    const volatile sig_atomic_t *stop; /* non-NULL and set: stop early (LLMOPT_ERR_STATE) */
} llmopt_replay_opts;

typedef struct llmopt_replay_stats {
    int32_t partitions;
    uint64_t total;                  /* input offsets in the range */
    uint64_t in[LLMOPT_PROC_IN_COUNT]; /* records handled per input topic */
    uint64_t events;                 /* sum of in[] */
    uint64_t outcomes, metrics, signals;
    uint64_t dlq[LLMOPT_DLQ_COUNT];
    int64_t first_event_ms, last_event_ms; /* min / max event time accepted; INT64_MIN none */
    double elapsed_s, cpu_s;
} llmopt_replay_stats;

/* Start and end offsets of one input topic-partition for the range. */
typedef struct llmopt_replay_span {
    int64_t start, end; /* [start, end); start == end: nothing in range */
} llmopt_replay_span;

/* Resolves [from_ms, to_ms) to offsets on every partition of the three input
 * topics: spans[t * nparts + p] for topic index t and partition p, an array
 * the caller frees. The topics must exist and be co-partitioned. Errors:
 * LLMOPT_ERR_IO / LLMOPT_ERR_INVALID with errstr. */
llmopt_err_t llmopt_replay_plan(const llmopt_replay_opts *opts, int32_t *nparts,
                                llmopt_replay_span **spans, char *errstr, size_t errstr_size);

/* Replays the range into the sink. LLMOPT_OK with stats filled (stats->total
 * == 0: the range holds no data, nothing was replayed). Errors: LLMOPT_ERR_IO
 * (Kafka), LLMOPT_ERR_NOMEM (engine), LLMOPT_ERR_TIMEOUT, LLMOPT_ERR_STATE
 * (stopped), LLMOPT_ERR_INVALID (bad processor keys), with errstr. */
llmopt_err_t llmopt_replay_run(const llmopt_replay_opts *opts, const llmopt_replay_sink *sink,
                               llmopt_replay_stats *stats, char *errstr, size_t errstr_size);

#endif
