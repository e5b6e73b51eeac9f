/*
 * pmerge.h - the order in which one input partition's three topics
 * (requests, responses, feedback) are fed to its engine, shared by the live
 * runner (processor/runner.c) and `llmopt replay` (tools/replay.c) so that
 * both run one rule, not two copies of it. docs/PROCESSOR.md, "Merge".
 *
 * The caller owns the queues of consumed messages; it describes each topic's
 * head to llmopt_pmerge_next() and does what the step says: decode the head,
 * dead-letter it, feed it to the engine, or wait for more input. The rule:
 * scan the topics in order; a topic with nothing queued that may still get
 * records makes the step WAIT (so the order never depends on which topic
 * the fetcher happened to fill first); an undecoded head is decoded, a bad
 * one dead-lettered at once; otherwise the decoded head with the smallest
 * merge key goes, ties to the lower topic index (requests < responses <
 * feedback). With all input present the sequence of steps is a function of
 * the data alone.
 *
 * The helpers here have no state; the decoder borrows the caller's codec.
 */
#ifndef LLMOPT_PMERGE_H
#define LLMOPT_PMERGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <librdkafka/rdkafka.h>

#include "common/avro_codec.h"
#include "processor/engine.h"
#include "processor/proc_config.h"

/* A FIFO of consumed messages of one topic-partition. The queue owns them:
 * pop and release destroy them. Zero-initialised is empty. */
typedef struct llmopt_pmerge_queue {
    rd_kafka_message_t **items;
    size_t cap, head, len;
} llmopt_pmerge_queue;

/* false: out of memory (m is not taken). */
bool llmopt_pmerge_queue_push(llmopt_pmerge_queue *q, rd_kafka_message_t *m);
/* The oldest message, NULL when empty. */
rd_kafka_message_t *llmopt_pmerge_queue_peek(const llmopt_pmerge_queue *q);
/* Destroys the oldest message; the queue must not be empty. */
void llmopt_pmerge_queue_pop(llmopt_pmerge_queue *q);
/* Destroys every message and frees the queue (empty again). */
void llmopt_pmerge_queue_release(llmopt_pmerge_queue *q);

/* One decoded record per input topic: the heads being merged. */
typedef struct llmopt_pmerge_recs {
    llmopt_request req;
    llmopt_response resp;
    llmopt_feedback fb;
} llmopt_pmerge_recs;

void llmopt_pmerge_recs_init(llmopt_pmerge_recs *r);
void llmopt_pmerge_recs_release(llmopt_pmerge_recs *r);
/* The record of topic index t (for llmopt_pmerge_decode). */
void *llmopt_pmerge_rec(llmopt_pmerge_recs *r, int t);
/* Feeds the decoded head of topic t to the engine (on_request, on_response
 * or on_feedback); the engine's result. */
llmopt_err_t llmopt_pmerge_feed(llmopt_engine *e, llmopt_pmerge_recs *r, int t,
                                const llmopt_engine_src *src);

/* What the caller knows about the head of one topic. */
typedef enum llmopt_pmerge_head {
    LLMOPT_PMERGE_EMPTY = 0, /* nothing queued, more may come: wait */
    LLMOPT_PMERGE_ENDED,     /* nothing queued and none will come (read to its end) */
    LLMOPT_PMERGE_QUEUED,    /* a record is queued, not decoded yet */
    LLMOPT_PMERGE_OK,        /* the queued head is decoded; `key` is its merge key */
    LLMOPT_PMERGE_BAD,       /* the queued head cannot be decoded */
} llmopt_pmerge_head;

typedef struct llmopt_pmerge_topic {
    llmopt_pmerge_head head;
    int64_t key;
} llmopt_pmerge_topic;

typedef enum llmopt_pmerge_action {
    LLMOPT_PMERGE_WAIT = 0, /* a topic may still get records: poll, then step again */
    LLMOPT_PMERGE_DONE,     /* every topic has ended */
    LLMOPT_PMERGE_DECODE,   /* decode the head of `topic`, then step again */
    LLMOPT_PMERGE_DEAD,     /* dead-letter the head of `topic` (reason decode), pop it */
    LLMOPT_PMERGE_FEED,     /* feed the head of `topic` to the engine, pop it */
} llmopt_pmerge_action;

typedef struct llmopt_pmerge_step {
    llmopt_pmerge_action action;
    int topic;
} llmopt_pmerge_step;

/* The next step for the LLMOPT_PROC_IN_COUNT topics in `t`. Pure. */
llmopt_pmerge_step llmopt_pmerge_next(const llmopt_pmerge_topic t[LLMOPT_PROC_IN_COUNT]);

/* The merge key of a decoded record with event time ts: ts itself, except
 * that a record the engine will reject for its timestamp (not positive, past
 * the window range, or more than max_future_ms ahead of the engine's max
 * event time) gets INT64_MIN and goes first, so one absurd value cannot hold
 * its topic back. *emax caches the engine's max event time (start it at
 * INT64_MIN); it only underestimates and is re-read before deciding, so the
 * key is exact. */
int64_t llmopt_pmerge_key(const llmopt_engine *e, int64_t max_future_ms, int64_t *emax,
                          int64_t ts);

/* Result of decoding a head. */
typedef enum llmopt_pmerge_decoded {
    LLMOPT_PMERGE_DECODED = 0, /* rec filled, *ts_ms its event time */
    LLMOPT_PMERGE_UNDECODABLE, /* dead-letter it; why (e.g. "schema: ...") in errstr */
    LLMOPT_PMERGE_RETRY,       /* the schema registry is unreachable: retry later, never
                                * dead-letter for that */
} llmopt_pmerge_decoded;

/* Decodes message m of input topic index t (format LLMOPT_PROC_AVRO or
 * LLMOPT_PROC_JSON) into rec, an llmopt_request / llmopt_response /
 * llmopt_feedback initialised by the caller. */
llmopt_pmerge_decoded llmopt_pmerge_decode(int t, int format, llmopt_avro_codec *avro,
                                           const rd_kafka_message_t *m, void *rec,
                                           int64_t *ts_ms, char *errstr, size_t errstr_size);

/* The headers of a dead letter: reason, detail, source_topic,
 * source_partition, source_offset. The caller owns the result (pass it to
 * producev, or destroy it). */
rd_kafka_headers_t *llmopt_pmerge_dlq_headers(llmopt_dlq_reason reason, const char *detail,
                                              const char *topic, int32_t partition,
                                              int64_t offset);

#endif
