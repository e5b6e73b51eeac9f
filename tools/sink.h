/*
 * sink.h - `llmopt sink`: the result topics (llm.metrics, llm.signals,
 * llm.routing and, switchable, llm.outcomes) into Postgres, exactly once.
 *
 * Exactly-once effect. Kafka group offsets are not used: the next offset of
 * every consumed partition is stored in llmopt.sink_offsets (sink = sink.name)
 * in the SAME Postgres transaction as the rows those messages produced. On
 * start the sink reads those offsets, assigns every partition of its topics
 * explicitly and starts there (the beginning for a partition it never
 * stored). So a crash anywhere (kill -9, Postgres restart, broker hiccup)
 * either committed rows + offsets together or neither; the uncommitted tail
 * is consumed again. Rows carry deterministic keys and go in with
 * INSERT .. ON CONFLICT DO NOTHING, so re-consuming rows that did land (a
 * commit whose answer was lost, or a replay from offset 0 with a new
 * sink.name) changes nothing. Input is read with isolation.level
 * read_committed: aborted processor transactions are never stored.
 *
 * One transaction per batch (sink.batch.rows rows or sink.batch.age old),
 * detailed in docs/SINK.md: the outcomes rows are streamed into
 * COPY llmopt.outcomes (binary format) while the batch fills; the other
 * tables are COPied straight into their table at the flush; then the
 * offsets upsert and COMMIT. COPY straight into the table is right only
 * while keys are new: a unique violation (a key stored by an earlier batch
 * or another sink) rolls back to a savepoint and stores that table's batch
 * through a temporary staging table (ON COMMIT DELETE ROWS) and
 * INSERT .. SELECT .. ON CONFLICT DO NOTHING instead. A batch is
 * deduplicated by primary key first (the first message with a key wins, as
 * ON CONFLICT DO NOTHING does across batches): one INSERT may not touch a
 * key twice. Any failure of the stream only ends it: the flush then stores
 * the whole batch, kept in memory, the ordinary way.
 *
 * Failures:
 *   - Postgres unreachable or restarted (SQLSTATE class 08, 57P0x, session
 *     gone) or a transient error (serialization, deadlock, lock timeout):
 *     the batch stays in memory, the sink reconnects with exponential
 *     backoff (capped by sink.retry.max) and redoes the whole transaction;
 *     consuming pauses meanwhile. Nothing is lost.
 *   - A row Postgres refuses (class 22 data exception, class 23 constraint):
 *     the batch is redone row by row under savepoints; each refused row is
 *     logged, counted and sent to the DLQ topic with reason "rejected" and the
 *     SQLSTATE, and the rest of the batch lands in the same transaction.
 *   - Undecodable messages (reason "decode") and values the row encoder
 *     refuses (reason "bad_value", tools/sink_rows.h) go to the DLQ when
 *     consumed; their offsets advance with the next batch.
 *   DLQ messages keep the original key and value; headers: reason, detail,
 *   source_topic, source_partition, source_offset (and sqlstate). The DLQ
 *   producer is flushed before the transaction that advances past their
 *   offsets commits, so no dead letter is lost; after a crash between the
 *   two a dead letter may be sent twice (at-least-once).
 *   - Other errors (missing table, schema drift): logged, retried with
 *     backoff; the sink never skips data it could not store.
 *
 * Partitions: before each batch the sink calls llmopt.ensure_partitions for
 * every UTC day its rows fall in that it has not ensured yet (within
 * sink.partitions.past.days / future.days of the clock; other days land in
 * the DEFAULT partitions), and for yesterday .. today + future at start.
 *
 * One sink per sink.name at a time: the sink holds the session advisory lock
 * llmopt_pg_lock_key("llmopt.sink.<name>") and takes it again after each
 * reconnect (waiting up to 60 s, then failing).
 *
 * SIGINT/SIGTERM: stop consuming, flush what is pending (retrying within
 * shutdown.timeout), exit 0; if Postgres stays down past the timeout, exit 1
 * without storing the batch (it is consumed again at the next start).
 * Topics must exist at start; partitions added later are not consumed until
 * a restart.
 *
 * Threads: one. The handle is owned by the thread that runs it; only
 * llmopt_sink_ready and the metrics registry are read from the HTTP thread.
 */
#ifndef LLMOPT_SINK_H
#define LLMOPT_SINK_H

#include <stdbool.h>
#include <stdint.h>

#include "common/config.h"
#include "common/err.h"
#include "common/metrics.h"
#include "tools/sink_conf.h"

typedef struct llmopt_sink llmopt_sink;

/* Counters since _new (also logged at exit). */
typedef struct llmopt_sink_stats {
    uint64_t messages;     /* consumed */
    uint64_t rows;         /* rows sent to Postgres in committed batches */
    uint64_t duplicates;   /* dropped by in-batch deduplication */
    uint64_t dlq_decode;   /* dead-lettered: undecodable */
    uint64_t dlq_bad_value;/* dead-lettered: refused by the row encoder */
    uint64_t dlq_rejected; /* dead-lettered: refused by Postgres */
    uint64_t batches;      /* committed transactions */
    uint64_t retries;      /* failed flush attempts that were redone */
} llmopt_sink_stats;

/* Connects to Postgres (waiting for it with backoff), takes the sink's lock,
 * creates the Kafka consumer (kafka.* keys of cfg, read_committed) and the
 * DLQ producer, reads the stored offsets and assigns the partitions. conf
 * and cfg are borrowed and must outlive the sink. metrics (may be NULL)
 * receives the sink's llmopt_sink_* families (docs/SINK.md lists them) and
 * must outlive the sink too. Errors: LLMOPT_ERR_INVALID
 * (configuration), LLMOPT_ERR_IO / LLMOPT_ERR_TIMEOUT (Postgres, Kafka, a
 * missing topic, the lock held by another sink), with the reason in errstr. */
llmopt_err_t llmopt_sink_new(llmopt_sink **out, const llmopt_sink_conf *conf,
                             const llmopt_config *cfg, llmopt_metrics *metrics, char *errstr,
                             size_t errstr_size);

/* Consumes and stores until a stop signal (common/signals.h), then flushes.
 * LLMOPT_OK after a clean stop; otherwise an error in errstr (the pending
 * batch was not stored and will be consumed again on restart). */
llmopt_err_t llmopt_sink_run(llmopt_sink *s, char *errstr, size_t errstr_size);

void llmopt_sink_get_stats(const llmopt_sink *s, llmopt_sink_stats *out);

/* For /readyz; thread-safe (an atomic). Ready from the end of _new while the
 * last flush landed; not ready while a flush is failing (Postgres down,
 * retrying) and once stopping, with the reason in `reason`. */
bool llmopt_sink_ready(llmopt_sink *s, char *reason, size_t reason_size);

/* Closes Kafka and Postgres; NULL is a no-op. */
void llmopt_sink_destroy(llmopt_sink *s);

/* The subcommands, for tools/llmopt.c: `llmopt sink [options]` and
 * `llmopt retention --days N [options]` (tools/retention.c). They return the
 * process exit code. */
int llmopt_sink_main(int argc, char **argv);
int llmopt_retention_main(int argc, char **argv);

#endif
