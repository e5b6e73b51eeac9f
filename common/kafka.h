/*
 * kafka.h - librdkafka helpers shared by every llmopt binary: client
 * creation with llmopt defaults, delivery-report counting, the transaction
 * cycle of an exactly-once consume-transform-produce loop, consumer lag,
 * topic creation through the Admin API, and clean close.
 *
 * Handles stay plain rd_kafka_t *: callers use the librdkafka API directly
 * for everything these helpers do not cover.
 *
 * Ownership: every *_new() takes ownership of the rd_kafka_conf_t it is given,
 * on success (librdkafka keeps it) AND on failure (destroyed here), so a
 * caller never frees a conf after handing it over.
 *
 * Defaults. The caller builds the conf (common/config.h turns the `kafka.*`
 * keys into one with llmopt_config_kafka_conf()) and says which keys the user
 * set explicitly; a default below is applied ONLY to keys the user did not
 * set, so a user's value always wins. Defaults and why:
 *
 *   all clients
 *     (none)
 *   consumers (llmopt_kafka_consumer_new)
 *     queued.min.messages=1000000  librdkafka 2.0.2 backs fetching off a
 *                                  fixed 1 s once its queue exceeds this
 *                                  (upstream issue 2879): 889k/s fell to
 *                                  188k/s at the default 100000 (NOTES.md).
 *                                  fetch.queue.backoff.ms only exists >= 2.2
 *     fetch.wait.max.ms=100        the 500 ms default long-poll is waited out
 *                                  after each seek or catch-up; 100 ms keeps
 *                                  latency low at a small request-rate cost
 *     enable.auto.commit=false     when opts.app_commits: offsets are
 *                                  committed by the app (or with the
 *                                  transaction), never on a timer, so a crash
 *                                  cannot commit unprocessed input
 *     isolation.level=read_committed | read_uncommitted  per
 *                                  opts.read_committed: result consumers
 *                                  must not see aborted transactional output
 *     auto.offset.reset=earliest   a new group starts from the oldest record
 *                                  rather than silently skipping history
 *   producers (llmopt_kafka_producer_new)
 *     enable.idempotence=true      IDEMPOTENT and TRANSACTIONAL kinds: no
 *                                  duplicates or reordering on retries
 *                                  (implies acks=all)
 *     transactional.id=<opts>      TRANSACTIONAL kind, from opts (required
 *                                  unless the user set it)
 *     linger.ms=5                  batches under load, 5 ms worst-case delay
 *
 * Threads: the helpers add no threads and no global state. A delivery-report
 * counter (llmopt_kafka_dr_stats_t) is updated by whichever thread serves the
 * producer's callbacks (rd_kafka_poll / rd_kafka_flush) and may be read from
 * any thread (atomic fields).
 */
#ifndef LLMOPT_KAFKA_H
#define LLMOPT_KAFKA_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/err.h"

/* Which keys the user set explicitly, in either or both forms (the key is
 * the librdkafka name, without the "kafka." prefix):
 *   user_set_keys  NULL-terminated list, or NULL
 *   is_set         predicate, e.g. an adapter over llmopt_config_kafka_is_set()
 *                  with ctx the llmopt_config; or NULL
 * A key counts as user-set when either says so. Zero-initialised: none. */
typedef struct llmopt_kafka_user_keys {
    const char *const *user_set_keys;
    bool (*is_set)(const void *ctx, const char *key);
    const void *ctx;
} llmopt_kafka_user_keys_t;

struct llmopt_config; /* common/config.h */

/* The user keys of a loaded configuration: is_set answers with
 * llmopt_config_kafka_is_set(). `c` must outlive every use of the result. */
llmopt_kafka_user_keys_t llmopt_kafka_user_keys_from_config(const struct llmopt_config *c);

/* True if `key` was set by the user per `uk` (uk may be NULL: false). */
bool llmopt_kafka_user_set(const llmopt_kafka_user_keys_t *uk, const char *key);

/* Sets key=value on conf unless the user set key. LLMOPT_ERR_INVALID with
 * librdkafka's reason if librdkafka refuses the value. */
llmopt_err_t llmopt_kafka_conf_default(rd_kafka_conf_t *conf, const llmopt_kafka_user_keys_t *uk,
                                       const char *key, const char *value, char *errstr,
                                       size_t errstr_size);

/* ---- delivery reports ------------------------------------------------- */

typedef struct llmopt_kafka_dr_stats {
    atomic_uint_fast64_t delivered; /* acknowledged by the broker */
    atomic_uint_fast64_t failed;    /* permanently failed */
    atomic_int last_err;            /* rd_kafka_resp_err_t of the last failure */
} llmopt_kafka_dr_stats_t;

/* Zeroes the counters. */
void llmopt_kafka_dr_stats_init(llmopt_kafka_dr_stats_t *s);

/* Counts one delivery report into s. For callers that install their own
 * dr_msg_cb and still want the counters. */
void llmopt_kafka_dr_count(llmopt_kafka_dr_stats_t *s, const rd_kafka_message_t *m);

/* ---- producers -------------------------------------------------------- */

typedef enum llmopt_kafka_producer_kind {
    LLMOPT_KAFKA_PRODUCER_PLAIN,         /* librdkafka defaults (at-least-once) */
    LLMOPT_KAFKA_PRODUCER_IDEMPOTENT,    /* enable.idempotence */
    LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL, /* idempotent + transactional.id; runs
                                          * init_transactions */
} llmopt_kafka_producer_kind_t;

typedef struct llmopt_kafka_producer_opts {
    llmopt_kafka_producer_kind_t kind;
    const char *transactional_id;     /* TRANSACTIONAL, unless user-set */
    int init_timeout_ms;              /* TRANSACTIONAL: bound on
                                       * init_transactions; <= 0: 30000 */
    llmopt_kafka_dr_stats_t *dr_stats; /* non-NULL: the helper installs a
                                        * dr_msg_cb counting into it and sets
                                        * the instance opaque to it, so the
                                        * caller must not set either; NULL:
                                        * callbacks are the caller's */
    const char *linger_ms;            /* linger.ms unless user-set; NULL: "5" */
    llmopt_kafka_user_keys_t user;
} llmopt_kafka_producer_opts_t;

/* Creates a producer in *rkp from conf (ownership taken, see above) with the
 * defaults for opts->kind. For TRANSACTIONAL it also calls
 * rd_kafka_init_transactions(), retrying retriable errors within
 * init_timeout_ms. On failure *rkp is NULL and errstr says why:
 * LLMOPT_ERR_INVALID (bad option or value), LLMOPT_ERR_IO (librdkafka
 * refused to start, or init_transactions failed), LLMOPT_ERR_TIMEOUT. */
llmopt_err_t llmopt_kafka_producer_new(rd_kafka_t **rkp, rd_kafka_conf_t *conf,
                                       const llmopt_kafka_producer_opts_t *opts, char *errstr,
                                       size_t errstr_size);

/* Flushes within timeout_ms. LLMOPT_ERR_TIMEOUT if messages remain queued;
 * LLMOPT_ERR_IO if `stats` is given and counts a failure (its last error in
 * errstr); LLMOPT_OK otherwise. */
llmopt_err_t llmopt_kafka_producer_flush(rd_kafka_t *rk, int timeout_ms,
                                         const llmopt_kafka_dr_stats_t *stats, char *errstr,
                                         size_t errstr_size);

/* Flushes within timeout_ms, then destroys. Returns LLMOPT_ERR_TIMEOUT if
 * messages were still queued (they are lost; the count is in errstr); the
 * handle is destroyed in every case. rk NULL: no-op, LLMOPT_OK. */
llmopt_err_t llmopt_kafka_producer_close(rd_kafka_t *rk, int timeout_ms, char *errstr,
                                         size_t errstr_size);

/* ---- consumers -------------------------------------------------------- */

typedef struct llmopt_kafka_consumer_opts {
    const char *group_id;  /* set as group.id unless user-set; NULL: leave */
    bool app_commits;      /* enable.auto.commit=false */
    bool read_committed;   /* isolation.level read_committed, else
                            * read_uncommitted */
    llmopt_kafka_user_keys_t user;
} llmopt_kafka_consumer_opts_t;

/* Creates a consumer in *rkp from conf (ownership taken) with the consumer
 * defaults and redirects the main queue to the consumer queue
 * (rd_kafka_poll_set_consumer), so rd_kafka_consumer_poll() serves every
 * callback. Errors as llmopt_kafka_producer_new(). */
llmopt_err_t llmopt_kafka_consumer_new(rd_kafka_t **rkp, rd_kafka_conf_t *conf,
                                       const llmopt_kafka_consumer_opts_t *opts, char *errstr,
                                       size_t errstr_size);

/* Leaves the group (rd_kafka_consumer_close: final offset commit when
 * auto-commit is on, revoke) and destroys. rk NULL: no-op. */
void llmopt_kafka_consumer_close(rd_kafka_t *rk);

/* Lag of the consumer's current assignment: for each assigned partition,
 * high watermark (queried from the broker, bounded by timeout_ms) minus the
 * consumer's position; a partition with no position yet counts from its low
 * watermark. *total_lag is the sum. If lags is non-NULL it receives a new
 * list (caller destroys) with each partition's lag in .offset. Errors:
 * LLMOPT_ERR_IO (assignment or watermark query failed, reason in errstr). */
llmopt_err_t llmopt_kafka_consumer_lag(rd_kafka_t *consumer, int timeout_ms, int64_t *total_lag,
                                       rd_kafka_topic_partition_list_t **lags, char *errstr,
                                       size_t errstr_size);

/* ---- transactions ----------------------------------------------------- */

/* What became of a transaction the helpers could not commit. */
typedef enum llmopt_kafka_txn_status {
    LLMOPT_KAFKA_TXN_COMMITTED = 0,
    LLMOPT_KAFKA_TXN_ABORTED, /* abortable error: the transaction was aborted;
                               * the caller rewinds its input to the last
                               * committed offsets (and its state to match)
                               * and may begin again with the same producer */
    LLMOPT_KAFKA_TXN_FATAL,   /* fatal error (e.g. fenced by a newer instance
                               * with the same transactional.id) or the abort
                               * itself failed: destroy the producer; a new
                               * one may be created */
} llmopt_kafka_txn_status_t;

const char *llmopt_kafka_txn_status_name(llmopt_kafka_txn_status_t s);

/* rd_kafka_begin_transaction(). LLMOPT_ERR_STATE (e.g. one already open,
 * or fatal state) with librdkafka's reason. */
llmopt_err_t llmopt_kafka_txn_begin(rd_kafka_t *producer, char *errstr, size_t errstr_size);

/* Ends the open transaction of `producer`: when `consumer` is non-NULL,
 * first adds input offsets to it with the consumer's group metadata
 * (`offsets` if non-NULL, else the consumer's current positions for its
 * assignment; invalid offsets are skipped), then commits. Follows
 * librdkafka's error rules: retriable errors are retried until timeout_ms
 * (overall) runs out; an abortable error, or retries running out, aborts
 * the transaction (*status ABORTED); a fatal error, or a failed abort,
 * gives *status FATAL. Returns LLMOPT_OK only when committed; otherwise
 * LLMOPT_ERR_IO (or LLMOPT_ERR_TIMEOUT when retries ran out) with the
 * reason in errstr. */
llmopt_err_t llmopt_kafka_txn_commit(rd_kafka_t *producer, rd_kafka_t *consumer,
                                     const rd_kafka_topic_partition_list_t *offsets,
                                     int timeout_ms, llmopt_kafka_txn_status_t *status,
                                     char *errstr, size_t errstr_size);

/* Aborts the open transaction, retrying retriable errors within timeout_ms.
 * *status ABORTED on success, FATAL otherwise (then LLMOPT_ERR_IO). */
llmopt_err_t llmopt_kafka_txn_abort(rd_kafka_t *producer, int timeout_ms,
                                    llmopt_kafka_txn_status_t *status, char *errstr,
                                    size_t errstr_size);

/* ---- admin ------------------------------------------------------------ */

/* Creates topic `name` through the Admin API on any client handle, with
 * `configs` a NULL-terminated key, value, key, value... list (or NULL);
 * replication_factor <= 0 takes the broker default. An existing topic is
 * LLMOPT_OK when if_not_exists (its settings are not checked), else
 * LLMOPT_ERR_STATE. After creation waits (within timeout_ms) until the
 * metadata shows all partitions with a leader, so producing right away
 * works. Errors: LLMOPT_ERR_IO / LLMOPT_ERR_TIMEOUT with the broker's
 * reason. */
llmopt_err_t llmopt_kafka_topic_create(rd_kafka_t *rk, const char *name, int partitions,
                                       int replication_factor, const char *const *configs,
                                       bool if_not_exists, int timeout_ms, char *errstr,
                                       size_t errstr_size);

/* Deletes topic `name`; a missing topic is LLMOPT_OK. */
llmopt_err_t llmopt_kafka_topic_delete(rd_kafka_t *rk, const char *name, int timeout_ms,
                                       char *errstr, size_t errstr_size);

#endif
