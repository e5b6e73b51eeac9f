/*
 * runner.h - the Kafka side of llmopt-processor: a consumer group over the
 * three co-partitioned input topics, one engine per assigned partition
 * number, an event-time merge of the three topics of each partition, decode
 * (Avro or JSON per topic), output encoding, dead letters, and exactly-once
 * commits (a transactional producer; outputs, checkpoints on the changelog
 * and consumed offsets in one transaction). docs/PROCESSOR.md has the design.
 *
 * Determinism: the records of partition p's three topics are merged by
 * (ts_ms, topic: requests < responses < feedback, offset). The merge takes a
 * record only when every topic of p either has a buffered record or has been
 * read to its end, so with the input already present (replay, backlog,
 * recovery after a crash) the engine sees one order whatever the fetch
 * timing, and outputs after a restart equal those of an uninterrupted run.
 * With input still arriving, a topic at its end at that moment does not hold
 * the others up (live latency beats waiting).
 *
 * Threads: the thread that calls llmopt_runner_run() (the polling thread)
 * polls the consumer (and so runs the rebalance callback), restores,
 * commits and serves delivery reports. Decoding, the engines and output
 * encoding run in merge phases on it and processor.threads - 1 merge
 * threads, a partition on one thread at a time (docs/PROCESSOR.md
 * "Threads"); only the polling thread runs between phases.
 * llmopt_runner_ready() and the metrics may be read from any thread (the
 * HTTP thread).
 *
 * Ownership: the runner borrows the configuration struct, the llmopt_config
 * (for the kafka.* keys) and the metrics registry; all must outlive it.
 */
#ifndef LLMOPT_PROC_RUNNER_H
#define LLMOPT_PROC_RUNNER_H

#include <stdbool.h>
#include <stddef.h>

#include "common/config.h"
#include "common/err.h"
#include "common/metrics.h"
#include "processor/proc_config.h"

typedef struct llmopt_runner llmopt_runner;

/* Builds codecs, the engine configuration, the transactional producer
 * (init_transactions fences an older instance with the same transactional
 * id), the group consumer and the changelog reader, and checks that the
 * changelog has at least as many partitions as the input topics. NULL with
 * errstr on any failure. Nothing is consumed before llmopt_runner_run(). */
llmopt_runner *llmopt_runner_new(const llmopt_processor_conf *pc, const llmopt_config *cfg,
                                 llmopt_metrics *metrics, char *errstr, size_t errstr_size);

/* Subscribes and processes until stop() returns true (polled every 100 ms
 * at least), then commits what is pending and leaves the group, all within
 * shutdown.timeout. LLMOPT_OK after a clean stop; LLMOPT_ERR_IO /
 * LLMOPT_ERR_STATE with errstr on a fatal error (fenced producer, failed
 * restore, checkpoint and group offsets disagreeing, ...); the process
 * should then exit non-zero: what was committed stays exactly-once. */
llmopt_err_t llmopt_runner_run(llmopt_runner *r, bool (*stop)(void), char *errstr,
                               size_t errstr_size);

/* Ready: partitions assigned and restored, no fatal error. Thread-safe. */
bool llmopt_runner_ready(llmopt_runner *r, char *reason, size_t reason_size);

/* Closes the clients (without committing) and frees everything. NULL: no-op. */
void llmopt_runner_destroy(llmopt_runner *r);

#endif
