/*
 * runner.c - consumer group, event-time merge, engines, transactions and
 * changelog checkpoints (see runner.h and docs/PROCESSOR.md).
 *
 * Life of one input partition number p on this instance:
 *   assigned -> restore: read the committed offsets of the inputs and of the
 *     changelog partition p; read the changelog from that offset to its end
 *     (read_committed); load the latest checkpoint into a fresh engine; its
 *     input offsets must equal the group's; assign the inputs at them.
 *   running  -> messages are queued per topic; merge() feeds the engine in
 *     (ts, topic, offset) order; outputs are produced into the open
 *     transaction as the engine emits them.
 *   commit   -> checkpoint of every dirty engine to changelog partition p,
 *     flush (learns the changelog offset of chunk 0), offsets of the inputs
 *     and of the changelog sent with the group metadata, commit.
 *   revoked  -> commit, then drop the engine and the buffered messages.
 */
#include "processor/runner.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/avro_codec.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/records.h"
#include "common/registry.h"
#include "processor/checkpoint.h"
#include "processor/engine.h"
#include "processor/pmerge.h"

static const llmopt_logger lg = LLMOPT_LOGGER("processor");

static const llmopt_record_type out_types[LLMOPT_PROC_OUT_COUNT] = {
    LLMOPT_REC_OUTCOME, LLMOPT_REC_WINDOW_METRICS, LLMOPT_REC_SIGNAL};

typedef enum head_state { HEAD_NONE = 0, HEAD_OK, HEAD_BAD } head_state;

typedef struct part {
    int32_t p;
    llmopt_runner *r;
    llmopt_engine *eng;         /* its sink's ctx is this part */
    /* what the thread merging this part uses: a codec (its schema cache is
     * not shared), encoding buffers, and the input message being fed (for
     * dead letters) */
    llmopt_avro_codec *avro;
    llmopt_wbuf enc;
    llmopt_json_buf jbuf;
    const rd_kafka_message_t *cur;
    int cur_topic;
    /* events in and out since the last part_flush_counts(): the shared
     * counters are added to once per slice, not per record (two threads
     * incrementing one counter per record fight over its cache line) */
    uint64_t n_in[LLMOPT_PROC_IN_COUNT], n_out[LLMOPT_PROC_OUT_COUNT];
    llmopt_pmerge_queue q[LLMOPT_PROC_IN_COUNT];
    bool eof[LLMOPT_PROC_IN_COUNT];
    bool paused[LLMOPT_PROC_IN_COUNT];
    int64_t next_off[LLMOPT_PROC_IN_COUNT]; /* next offset to process; -1 unknown */
    head_state hs[LLMOPT_PROC_IN_COUNT];
    int64_t head_ts[LLMOPT_PROC_IN_COUNT];
    char head_err[LLMOPT_PROC_IN_COUNT][300];
    llmopt_pmerge_recs recs;    /* the decoded heads */
    bool dirty;                 /* changed since its last checkpoint */
    int64_t cl_offset;          /* changelog offset of chunk 0 of the committed checkpoint */
    int64_t cl_pending;         /* ... of the checkpoint in the open transaction */
    int64_t last_activity_ms;   /* wall clock, for the idle advance */
    int64_t emax;               /* the engine's max event time, as last read (<= the
                                 * real one, which only grows); INT64_MIN unknown */
    llmopt_gauge *g_wm_delay, *g_open_windows, *g_state_bytes, *g_arms;
} part;

/* The merge threads (docs/PROCESSOR.md "Threads"). The polling thread
 * puts the partitions with queued input in a ring for a phase; every
 * thread, itself included, takes the partition at the ring's head, merges
 * a slice of it (MERGE_SLICE records) and puts it back at the tail if it
 * has more, until the ring is empty. So a partition is on one thread at a
 * time and its engine sees the same order whatever the thread count, and
 * three partitions keep two threads busy to the end. Between phases only
 * the polling thread runs: consumer poll (and so the rebalance callback),
 * restore, commit and checkpoints. */
typedef struct merge_pool {
    int n;                      /* threads besides the polling one */
    pthread_t *th;
    pthread_mutex_t mu;
    pthread_cond_t go, done;
    uint64_t gen;               /* phase number (guarded by mu) */
    int busy;                   /* threads still in the phase (guarded by mu) */
    bool quit;
    part **work;                /* the ring of the phase's partitions (guarded by
                                 * mu), r->nparts slots: one per partition number */
    int head, nwork;
} merge_pool;

struct llmopt_runner {
    const llmopt_processor_conf *pc;
    const llmopt_config *cfg;
    llmopt_engine_config ecfg;
    rd_kafka_t *consumer, *producer, *restorer;
    rd_kafka_topic_t *rkt_out[LLMOPT_PROC_OUT_COUNT], *rkt_dlq, *rkt_state;
    llmopt_registry *reg;
    llmopt_schema_source src;
    llmopt_kafka_dr_stats_t dr;
    char txn_id[256];
    part **parts;               /* by partition number */
    int32_t nparts;
    int32_t in_partitions, state_partitions;
    atomic_bool txn_open;       /* set by any merge thread, cleared between phases */
    pthread_mutex_t txn_mu;     /* one begin_transaction at a time */
    int64_t cycle_start_ms;
    _Atomic int64_t cycle_msgs;
    llmopt_wbuf blob;
    /* checkpoint blobs produced without a copy: librdkafka reads them until
     * delivery, so they are freed only once the producer queue is empty */
    uint8_t **held;
    size_t nheld, cap_held;
    merge_pool pool;
    pthread_t poller;           /* the thread in llmopt_runner_run */
    atomic_bool ready;
    atomic_bool assigned_once;
    atomic_bool fatal;
    pthread_mutex_t fatal_mu;   /* guards fatal_msg */
    char fatal_msg[512];
    int64_t last_lag_ms, last_gauges_ms;
    /* metrics */
    llmopt_metrics *m;
    llmopt_counter *c_in[LLMOPT_PROC_IN_COUNT], *c_out[LLMOPT_PROC_OUT_COUNT];
    llmopt_counter *c_dlq[LLMOPT_DLQ_COUNT], *c_sig[6];
    llmopt_counter *c_commits, *c_aborts, *c_ckpt_bytes, *c_restores, *c_encode_err;
    llmopt_counter *c_phases[2]; /* merge phases on the polling thread alone, on all */
    llmopt_gauge *g_lag, *g_parts;
    llmopt_histogram *h_commit;
};

/* ---- small helpers ---- */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static void set_fatal(llmopt_runner *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void set_fatal(llmopt_runner *r, const char *fmt, ...) {
    pthread_mutex_lock(&r->fatal_mu);
    if (r->fatal) {
        pthread_mutex_unlock(&r->fatal_mu);
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->fatal_msg, sizeof(r->fatal_msg), fmt, ap);
    va_end(ap);
    r->fatal = true;
    atomic_store(&r->ready, false);
    llmopt_log_error(&lg, "fatal: %s", r->fatal_msg);
    pthread_mutex_unlock(&r->fatal_mu);
}

static int topic_index(const llmopt_runner *r, const char *name) {
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        if (!strcmp(name, r->pc->topic_in[t]))
            return t;
    return -1;
}

/* ---- producing ---- */

static void produce_flags(llmopt_runner *r, rd_kafka_topic_t *rkt, int32_t partition,
                          const void *key, size_t key_len, const void *val, size_t val_len,
                          rd_kafka_headers_t *hdrs, void *opaque, int msgflags) {
    for (;;) {
        rd_kafka_resp_err_t err;
        if (hdrs)
            err = rd_kafka_producev(r->producer, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_MSGFLAGS(msgflags),
                                    RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)val, val_len),
                                    RD_KAFKA_V_HEADERS(hdrs), RD_KAFKA_V_OPAQUE(opaque),
                                    RD_KAFKA_V_END);
        else
            err = rd_kafka_producev(r->producer, RD_KAFKA_V_RKT(rkt),
                                    RD_KAFKA_V_PARTITION(partition),
                                    RD_KAFKA_V_MSGFLAGS(msgflags),
                                    RD_KAFKA_V_KEY(key, key_len), RD_KAFKA_V_VALUE((void *)val, val_len),
                                    RD_KAFKA_V_OPAQUE(opaque), RD_KAFKA_V_END);
        if (!err)
            return;
        if (err == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            /* delivery reports (dr_cb) are served on the polling thread
             * only; a merge thread waits for it to serve them */
            if (pthread_equal(pthread_self(), r->poller)) {
                rd_kafka_poll(r->producer, 10);
            } else {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
            }
            continue;
        }
        if (hdrs)
            rd_kafka_headers_destroy(hdrs);
        /* e.g. fatal producer state: the commit will fail and say why */
        llmopt_log_error(&lg, "produce to '%s' failed: %s", rd_kafka_topic_name(rkt),
                         rd_kafka_err2str(err));
        return;
    }
}

static void produce(llmopt_runner *r, rd_kafka_topic_t *rkt, int32_t partition, const void *key,
                    size_t key_len, const void *val, size_t val_len, rd_kafka_headers_t *hdrs,
                    void *opaque) {
    produce_flags(r, rkt, partition, key, key_len, val, val_len, hdrs, opaque,
                  RD_KAFKA_MSG_F_COPY);
}

/* Frees the held checkpoint blobs once nothing queued can refer to them. */
static void release_held(llmopt_runner *r, bool producer_gone) {
    if (!producer_gone && (!r->producer || rd_kafka_outq_len(r->producer) > 0))
        return;
    for (size_t i = 0; i < r->nheld; i++)
        free(r->held[i]);
    r->nheld = 0;
}

static void ensure_txn(llmopt_runner *r) {
    if (r->txn_open || r->fatal)
        return;
    pthread_mutex_lock(&r->txn_mu);
    char err[512];
    if (!r->txn_open && !r->fatal) {
        if (llmopt_kafka_txn_begin(r->producer, err, sizeof(err)) != LLMOPT_OK)
            set_fatal(r, "begin transaction: %s", err);
        else
            r->txn_open = true;
    }
    pthread_mutex_unlock(&r->txn_mu);
}

/* Encodes rec with partition pt's buffers and produces it. */
static void emit(part *pt, int out, llmopt_str route, const void *rec) {
    llmopt_runner *r = pt->r;
    char err[512];
    const void *val;
    size_t len;
    llmopt_err_t e;
    if (r->pc->format_out[out] == LLMOPT_PROC_JSON) {
        e = llmopt_json_encode(out_types[out], rec, &pt->jbuf, err, sizeof(err));
        val = pt->jbuf.data;
        len = pt->jbuf.len;
    } else {
        pt->enc.len = 0;
        e = llmopt_avro_encode(pt->avro, out_types[out], rec, &pt->enc, err, sizeof(err));
        val = pt->enc.data;
        len = pt->enc.len;
    }
    if (e) {
        llmopt_counter_inc(r->c_encode_err);
        llmopt_log_error(&lg, "cannot encode a '%s' record: %s",
                         llmopt_record_type_name(out_types[out]), err);
        return;
    }
    produce(r, r->rkt_out[out], RD_KAFKA_PARTITION_UA, route.ptr, route.len, val, len, NULL,
            NULL);
    pt->n_out[out]++;
}

/* the engine sinks: ctx is the engine's part */
static void sink_outcome(void *ctx, const llmopt_outcome *o) {
    emit(ctx, LLMOPT_PROC_OUT_OUTCOMES, o->route, o);
}

static void sink_metrics(void *ctx, const llmopt_window_metrics *m) {
    emit(ctx, LLMOPT_PROC_OUT_METRICS, m->route, m);
}

static void sink_signal(void *ctx, const llmopt_signal *s) {
    part *pt = ctx;
    if ((unsigned)s->detector < 6)
        llmopt_counter_inc(pt->r->c_sig[s->detector]);
    emit(pt, LLMOPT_PROC_OUT_SIGNALS, s->route, s);
}

/* The original key and bytes of msg with the reason and source in headers. */
static void dead_letter(llmopt_runner *r, const rd_kafka_message_t *msg, const char *topic,
                        llmopt_dlq_reason reason, const char *detail) {
    rd_kafka_headers_t *h =
        llmopt_pmerge_dlq_headers(reason, detail, topic, msg->partition, msg->offset);
    produce(r, r->rkt_dlq, RD_KAFKA_PARTITION_UA, msg->key, msg->key_len, msg->payload, msg->len,
            h, NULL);
    if ((unsigned)reason < LLMOPT_DLQ_COUNT)
        llmopt_counter_inc(r->c_dlq[reason]);
}

static void sink_dlq(void *ctx, const llmopt_engine_src *src, llmopt_dlq_reason reason,
                     const char *detail) {
    part *pt = ctx;
    if (!pt->cur)
        return; /* not from an input record (cannot happen: the engine only
                 * dead-letters the record it is given) */
    dead_letter(pt->r, pt->cur, pt->r->pc->topic_in[pt->cur_topic], reason, detail);
}

/* Delivery reports: counts, and the changelog offset of each checkpoint's
 * chunk 0 (its opaque is partition + 1). */
static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    llmopt_runner *r = opaque;
    llmopt_kafka_dr_count(&r->dr, m);
    if (m->err) {
        llmopt_log_warn(&lg, "delivery to '%s' failed: %s", rd_kafka_topic_name(m->rkt),
                        rd_kafka_err2str(m->err));
        return;
    }
    intptr_t tag = (intptr_t)m->_private;
    if (tag > 0 && tag - 1 < r->nparts && r->parts[tag - 1])
        r->parts[tag - 1]->cl_pending = m->offset;
}

/* ---- parts ---- */

static void part_destroy(llmopt_runner *r, part *pt) {
    if (!pt)
        return;
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        llmopt_pmerge_queue_release(&pt->q[t]);
    llmopt_engine_destroy(pt->eng);
    llmopt_pmerge_recs_release(&pt->recs);
    llmopt_avro_codec_destroy(pt->avro);
    llmopt_wbuf_release(&pt->enc);
    llmopt_json_buf_release(&pt->jbuf);
    free(pt);
}

static part *part_new(llmopt_runner *r, int32_t p, char *errstr, size_t errstr_size) {
    part *pt = calloc(1, sizeof(*pt));
    if (!pt) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    pt->p = p;
    pt->r = r;
    pt->cl_offset = pt->cl_pending = -1;
    pt->emax = INT64_MIN;
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        pt->next_off[t] = -1;
    llmopt_pmerge_recs_init(&pt->recs);
    llmopt_wbuf_init(&pt->enc);
    llmopt_json_buf_init(&pt->jbuf);
    llmopt_engine_sink sink = {.outcome = sink_outcome, .metrics = sink_metrics,
                               .signal = sink_signal, .dlq = sink_dlq, .ctx = pt};
    pt->eng = llmopt_engine_new(&r->ecfg, &sink, p, errstr, errstr_size);
    if (pt->eng)
        pt->avro = llmopt_avro_codec_new(&r->src, errstr, errstr_size);
    if (!pt->eng || !pt->avro) {
        part_destroy(r, pt);
        return NULL;
    }
    pt->last_activity_ms = now_ms();
    char ps[16];
    snprintf(ps, sizeof(ps), "%" PRId32, p);
    const char *ln[] = {"partition", NULL};
    const char *lv[] = {ps, NULL};
    pt->g_wm_delay = llmopt_metrics_gauge(r->m, "llmopt_processor_watermark_delay_ms",
                                          "wall clock minus the partition's watermark", ln, lv);
    pt->g_open_windows = llmopt_metrics_gauge(r->m, "llmopt_processor_open_windows",
                                              "windows open in the partition's engine", ln, lv);
    pt->g_state_bytes = llmopt_metrics_gauge(r->m, "llmopt_processor_state_bytes",
                                             "bytes of the partition's engine state", ln, lv);
    pt->g_arms = llmopt_metrics_gauge(r->m, "llmopt_processor_live_arms",
                                      "live (route, arm) keys of the partition", ln, lv);
    return pt;
}

static bool parts_reserve(llmopt_runner *r, int32_t p) {
    if (p < r->nparts)
        return true;
    int32_t n = p + 1;
    part **nw = realloc(r->pool.work, (size_t)n * sizeof(*nw));
    if (!nw)
        return false;
    r->pool.work = nw;
    part **np = realloc(r->parts, (size_t)n * sizeof(*np));
    if (!np)
        return false;
    for (int32_t i = r->nparts; i < n; i++)
        np[i] = NULL;
    r->parts = np;
    r->nparts = n;
    return true;
}

static void update_gauges(llmopt_runner *r) {
    int64_t now = now_ms();
    for (int32_t p = 0; p < r->nparts; p++) {
        part *pt = r->parts[p];
        if (!pt)
            continue;
        llmopt_engine_stats st;
        llmopt_engine_get_stats(pt->eng, &st);
        if (st.watermark_ms != INT64_MIN)
            llmopt_gauge_set(pt->g_wm_delay, (double)(now - st.watermark_ms));
        llmopt_gauge_set(pt->g_open_windows, (double)st.open_windows);
        llmopt_gauge_set(pt->g_state_bytes, (double)st.state_bytes);
        llmopt_gauge_set(pt->g_arms, (double)st.arms);
    }
}

/* ---- decode and merge ---- */

/* Decodes the head of queue t (docs/PROCESSOR.md "Merge", processor/pmerge.h).
 * false: the registry is unreachable right now (retry later, never
 * dead-letter for that). */
static bool decode_head(llmopt_runner *r, part *pt, int t) {
    const rd_kafka_message_t *m = llmopt_pmerge_queue_peek(&pt->q[t]);
    int64_t ts = 0;
    switch (llmopt_pmerge_decode(t, r->pc->format_in[t], pt->avro, m,
                                 llmopt_pmerge_rec(&pt->recs, t), &ts, pt->head_err[t],
                                 sizeof(pt->head_err[t]))) {
    case LLMOPT_PMERGE_RETRY:
        llmopt_log_warn(&lg, "schema registry unavailable, will retry: %s", pt->head_err[t]);
        return false;
    case LLMOPT_PMERGE_UNDECODABLE:
        pt->hs[t] = HEAD_BAD;
        return true;
    case LLMOPT_PMERGE_DECODED:
        break;
    }
    pt->hs[t] = HEAD_OK;
    pt->head_ts[t] = llmopt_pmerge_key(pt->eng, r->ecfg.max_future_ms, &pt->emax, ts);
    return true;
}

static void head_done(llmopt_runner *r, part *pt, int t) {
    rd_kafka_message_t *m = llmopt_pmerge_queue_peek(&pt->q[t]);
    pt->next_off[t] = m->offset + 1;
    pt->hs[t] = HEAD_NONE;
    llmopt_pmerge_queue_pop(&pt->q[t]);
    pt->dirty = true;
    pt->n_in[t]++;
    if (pt->paused[t] && (int64_t)pt->q[t].len <= r->pc->queue_max_messages / 2) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, r->pc->topic_in[t], pt->p);
        rd_kafka_resume_partitions(r->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
        pt->paused[t] = false;
    }
}

static void part_flush_counts(part *pt) {
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        if (pt->n_in[t]) {
            llmopt_counter_add(pt->r->c_in[t], pt->n_in[t]);
            pt->n_in[t] = 0;
        }
    for (int o = 0; o < LLMOPT_PROC_OUT_COUNT; o++)
        if (pt->n_out[o]) {
            llmopt_counter_add(pt->r->c_out[o], pt->n_out[o]);
            pt->n_out[o] = 0;
        }
}

/* Feeds partition pt's engine as far as the merge allows (pmerge.h), at
 * most `budget` records; returns how many it took. */
static int64_t merge_part(llmopt_runner *r, part *pt, int64_t budget) {
    /* the wall clock read once per call, not per message (it only marks
     * the partition active for the idle advance, a seconds-scale timeout) */
    int64_t now = now_ms();
    int64_t n = 0;
    while (!r->fatal && n < budget) {
        llmopt_pmerge_topic tp[LLMOPT_PROC_IN_COUNT];
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
            tp[t].key = pt->head_ts[t];
            if (!pt->q[t].len)
                tp[t].head = pt->eof[t] ? LLMOPT_PMERGE_ENDED : LLMOPT_PMERGE_EMPTY;
            else
                tp[t].head = pt->hs[t] == HEAD_NONE ? LLMOPT_PMERGE_QUEUED
                             : pt->hs[t] == HEAD_OK ? LLMOPT_PMERGE_OK
                                                    : LLMOPT_PMERGE_BAD;
        }
        llmopt_pmerge_step st = llmopt_pmerge_next(tp);
        int t = st.topic;
        if (st.action == LLMOPT_PMERGE_WAIT || st.action == LLMOPT_PMERGE_DONE)
            break;
        if (st.action == LLMOPT_PMERGE_DECODE) {
            if (!decode_head(r, pt, t))
                break;
            continue;
        }
        ensure_txn(r);
        if (r->fatal)
            break;
        rd_kafka_message_t *m = llmopt_pmerge_queue_peek(&pt->q[t]);
        if (st.action == LLMOPT_PMERGE_DEAD) {
            /* undecodable: out right away, it cannot affect the engine */
            dead_letter(r, m, r->pc->topic_in[t], LLMOPT_DLQ_DECODE, pt->head_err[t]);
            head_done(r, pt, t);
            n++;
            continue;
        }
        llmopt_engine_src src = {r->pc->topic_in[t], m->partition, m->offset};
        pt->cur = m;
        pt->cur_topic = t;
        llmopt_err_t e = llmopt_pmerge_feed(pt->eng, &pt->recs, t, &src);
        pt->cur = NULL;
        if (e) {
            set_fatal(r, "engine of partition '%d' failed: %s", pt->p, llmopt_err_name(e));
            break;
        }
        head_done(r, pt, t);
        n++;
        pt->last_activity_ms = now;
    }
    part_flush_counts(pt);
    return n;
}

/* Records merged from a partition before it goes back to the ring's tail
 * (~1-2 ms of work: balance against the ring's mutex). */
#define MERGE_SLICE 1024

/* Merges slices of the ring's partitions until the ring is empty (or the
 * cycle's commit.max.messages is reached: the rest waits for the commit). */
static void merge_take(llmopt_runner *r) {
    merge_pool *pl = &r->pool;
    for (;;) {
        pthread_mutex_lock(&pl->mu);
        part *pt = NULL;
        if (pl->nwork) {
            pt = pl->work[pl->head];
            pl->head = (pl->head + 1) % r->nparts;
            pl->nwork--;
        }
        pthread_mutex_unlock(&pl->mu);
        if (!pt)
            return;
        int64_t left = r->pc->commit_max_messages - atomic_load(&r->cycle_msgs);
        if (left <= 0)
            return;
        int64_t want = left < MERGE_SLICE ? left : MERGE_SLICE;
        int64_t n = merge_part(r, pt, want);
        atomic_fetch_add(&r->cycle_msgs, n);
        if (n < want || r->fatal)
            continue; /* nothing more to merge there for now */
        pthread_mutex_lock(&pl->mu);
        pl->work[(pl->head + pl->nwork) % r->nparts] = pt;
        pl->nwork++;
        pthread_mutex_unlock(&pl->mu);
    }
}

static void *merge_thread(void *arg) {
    llmopt_runner *r = arg;
    merge_pool *pl = &r->pool;
    uint64_t seen = 0;
    pthread_mutex_lock(&pl->mu);
    for (;;) {
        while (!pl->quit && pl->gen == seen)
            pthread_cond_wait(&pl->go, &pl->mu);
        if (pl->quit)
            break;
        seen = pl->gen;
        pthread_mutex_unlock(&pl->mu);
        merge_take(r);
        pthread_mutex_lock(&pl->mu);
        if (--pl->busy == 0)
            pthread_cond_signal(&pl->done);
    }
    pthread_mutex_unlock(&pl->mu);
    return NULL;
}

/* Below this many queued records a phase is merged on the polling thread
 * alone: waking the others costs more than they would save. */
#define PARALLEL_MIN_QUEUED 512

/* Feeds every partition's engine as far as the merge allows, on the
 * polling thread and the merge threads. Returns when all are done. */
static void merge_all(llmopt_runner *r) {
    merge_pool *pl = &r->pool;
    size_t queued = 0;
    pl->head = pl->nwork = 0;
    for (int32_t p = 0; p < r->nparts; p++) {
        part *pt = r->parts[p];
        if (!pt)
            continue;
        size_t q = 0;
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            q += pt->q[t].len;
        if (!q)
            continue;
        queued += q;
        pl->work[pl->nwork++] = pt;
    }
    if (!pl->nwork)
        return;
    if (!pl->n || pl->nwork == 1 || queued < PARALLEL_MIN_QUEUED) {
        llmopt_counter_inc(r->c_phases[0]);
        merge_take(r);
        return;
    }
    llmopt_counter_inc(r->c_phases[1]);
    pthread_mutex_lock(&pl->mu);
    pl->busy = pl->n;
    pl->gen++;
    pthread_cond_broadcast(&pl->go);
    pthread_mutex_unlock(&pl->mu);
    merge_take(r);
    /* the others may wait for delivery reports (a full producer queue):
     * serve them while waiting */
    pthread_mutex_lock(&pl->mu);
    while (pl->busy) {
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        ts.tv_nsec += 5 * 1000000;
        if (ts.tv_nsec >= 1000000000) {
            ts.tv_sec++;
            ts.tv_nsec -= 1000000000;
        }
        if (pthread_cond_timedwait(&pl->done, &pl->mu, &ts) == ETIMEDOUT) {
            pthread_mutex_unlock(&pl->mu);
            rd_kafka_poll(r->producer, 0);
            pthread_mutex_lock(&pl->mu);
        }
    }
    pthread_mutex_unlock(&pl->mu);
}

/* Starts the merge threads: processor.threads in all (0: one per online
 * CPU), the polling thread included. */
static llmopt_err_t pool_start(llmopt_runner *r, char *errstr, size_t errstr_size) {
    merge_pool *pl = &r->pool;
    long want = r->pc->threads;
    if (want <= 0)
        want = sysconf(_SC_NPROCESSORS_ONLN);
    if (want < 1)
        want = 1;
    pl->n = 0;
    if (want == 1)
        return LLMOPT_OK;
    if (!(pl->th = calloc((size_t)want - 1, sizeof(*pl->th))))
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    for (long i = 0; i < want - 1; i++) {
        int e = pthread_create(&pl->th[i], NULL, merge_thread, r);
        if (e)
            return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                               "cannot start merge thread: %s", strerror(e));
        pl->n++;
    }
    llmopt_log_info(&lg, "%d merge thread(s) besides the polling one", pl->n);
    return LLMOPT_OK;
}

static void pool_stop(llmopt_runner *r) {
    merge_pool *pl = &r->pool;
    pthread_mutex_lock(&pl->mu);
    pl->quit = true;
    pthread_cond_broadcast(&pl->go);
    pthread_mutex_unlock(&pl->mu);
    for (int i = 0; i < pl->n; i++)
        pthread_join(pl->th[i], NULL);
    pl->n = 0;
    free(pl->th);
    pl->th = NULL;
}

/* ---- checkpoints ---- */

static void write_checkpoint(llmopt_runner *r, part *pt) {
    /* the engine state goes straight into the blob: one buffer, not two */
    r->blob.len = 0;
    r->blob.err = 0;
    size_t at = llmopt_ckpt_blob_begin(&r->blob, pt->p, pt->next_off);
    llmopt_engine_save(pt->eng, &r->blob);
    llmopt_ckpt_blob_end(&r->blob, at);
    if (r->blob.err) {
        set_fatal(r, "checkpoint of partition '%d': out of memory", pt->p);
        return;
    }
    /* the chunks are produced without a copy (a large state would
     * otherwise be held twice, here and in librdkafka's queue): the blob is
     * held until the producer queue is empty (release_held) */
    if (r->nheld == r->cap_held) {
        size_t nc = r->cap_held ? r->cap_held * 2 : 8;
        uint8_t **nh = realloc(r->held, nc * sizeof(*nh));
        if (!nh) {
            set_fatal(r, "checkpoint of partition '%d': out of memory", pt->p);
            return;
        }
        r->held = nh;
        r->cap_held = nc;
    }
    size_t blen;
    const uint8_t *blob = r->held[r->nheld++] = llmopt_wbuf_detach(&r->blob, &blen);
    size_t cb = (size_t)r->pc->chunk_bytes;
    uint32_t n = llmopt_ckpt_nchunks(blen, cb);
    char key[40];
    for (uint32_t i = 0; i < n; i++) {
        size_t off = (size_t)i * cb;
        size_t len = blen - off < cb ? blen - off : cb;
        size_t kl = llmopt_ckpt_chunk_key(key, sizeof(key), pt->p, i);
        produce_flags(r, r->rkt_state, pt->p, key, kl, blob + off, len, NULL,
                      i == 0 ? (void *)(intptr_t)(pt->p + 1) : NULL, 0);
    }
    llmopt_wbuf man;
    llmopt_wbuf_init(&man);
    llmopt_ckpt_manifest_write(&man, pt->p, n, blob, blen);
    size_t kl = llmopt_ckpt_manifest_key(key, sizeof(key), pt->p);
    produce(r, r->rkt_state, pt->p, key, kl, man.data, man.len, NULL, NULL);
    llmopt_wbuf_release(&man);
    llmopt_counter_add(r->c_ckpt_bytes, blen);
}

static bool rewind_all(llmopt_runner *r);

/* Commits the open transaction: checkpoints, offsets, commit. */
static void commit_cycle(llmopt_runner *r, int timeout_ms) {
    if (!r->txn_open || r->fatal)
        return;
    double t0 = mono_s();
    char err[512];
    for (int32_t p = 0; p < r->nparts; p++) {
        part *pt = r->parts[p];
        if (pt && pt->dirty) {
            pt->cl_pending = -1;
            write_checkpoint(r, pt);
        }
    }
    if (r->fatal)
        return;
    rd_kafka_resp_err_t fe = rd_kafka_flush(r->producer, timeout_ms);
    release_held(r, false);
    rd_kafka_topic_partition_list_t *offs = rd_kafka_topic_partition_list_new(16);
    for (int32_t p = 0; p < r->nparts; p++) {
        part *pt = r->parts[p];
        if (!pt)
            continue;
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            if (pt->next_off[t] >= 0)
                rd_kafka_topic_partition_list_add(offs, r->pc->topic_in[t], p)->offset =
                    pt->next_off[t];
        int64_t cl = pt->dirty ? pt->cl_pending : pt->cl_offset;
        if (pt->dirty && cl < 0 && !fe) {
            rd_kafka_topic_partition_list_destroy(offs);
            set_fatal(r, "no delivery report for the checkpoint of partition '%d'", p);
            return;
        }
        if (cl >= 0)
            rd_kafka_topic_partition_list_add(offs, r->pc->topic_state, p)->offset = cl;
    }
    llmopt_kafka_txn_status_t st;
    llmopt_err_t e = llmopt_kafka_txn_commit(r->producer, r->consumer, offs, timeout_ms, &st, err,
                                             sizeof(err));
    rd_kafka_topic_partition_list_destroy(offs);
    r->txn_open = false;
    r->cycle_msgs = 0;
    r->cycle_start_ms = now_ms();
    if (e == LLMOPT_OK) {
        for (int32_t p = 0; p < r->nparts; p++) {
            part *pt = r->parts[p];
            if (pt && pt->dirty) {
                pt->cl_offset = pt->cl_pending;
                pt->dirty = false;
            }
        }
        llmopt_counter_inc(r->c_commits);
        llmopt_histogram_observe(r->h_commit, mono_s() - t0);
        return;
    }
    if (st == LLMOPT_KAFKA_TXN_ABORTED) {
        llmopt_counter_inc(r->c_aborts);
        llmopt_log_warn(&lg, "transaction aborted, rewinding to the last commit: %s", err);
        rewind_all(r);
        return;
    }
    set_fatal(r, "transaction commit failed (%s): %s", llmopt_kafka_txn_status_name(st), err);
}

/* ---- restore ---- */

/* Reads changelog partition p from `from` to its end into a collector and
 * returns the checkpoint blob (or none). */
static llmopt_err_t read_changelog(llmopt_runner *r, int32_t p, int64_t from, uint8_t **blob,
                                   size_t *len, int64_t *first_off, char *errstr,
                                   size_t errstr_size) {
    llmopt_err_t res = LLMOPT_ERR_IO;
    llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(p);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->pc->topic_state, p)->offset = from;
    int64_t deadline = now_ms() + r->pc->restore_timeout_ms;
    rd_kafka_resp_err_t ke;
    if (!c) {
        res = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    if ((ke = rd_kafka_assign(r->restorer, l))) {
        res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "assign changelog: %s",
                          rd_kafka_err2str(ke));
        goto out;
    }
    for (;;) {
        if (now_ms() > deadline) {
            res = llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                              "reading changelog '%s' partition '%d' timed out",
                              r->pc->topic_state, p);
            goto unassign;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->restorer, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            rd_kafka_message_destroy(m);
            break;
        }
        if (m->err) {
            llmopt_log_warn(&lg, "changelog read: %s", rd_kafka_message_errstr(m));
            bool fatal = m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                         m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                         m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC;
            rd_kafka_message_destroy(m);
            if (fatal) {
                res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                                  "changelog '%s' partition '%d' does not exist",
                                  r->pc->topic_state, p);
                goto unassign;
            }
            continue;
        }
        llmopt_err_t e = llmopt_ckpt_collector_add(c, m->key, m->key_len, m->payload, m->len,
                                                   m->offset, errstr, errstr_size);
        rd_kafka_message_destroy(m);
        if (e) {
            res = e;
            goto unassign;
        }
    }
    res = llmopt_ckpt_collector_finish(c, blob, len, first_off, errstr, errstr_size);
unassign:
    rd_kafka_assign(r->restorer, NULL);
out:
    rd_kafka_topic_partition_list_destroy(l);
    llmopt_ckpt_collector_destroy(c);
    return res;
}

/* Creates the engine of partition p from its committed checkpoint. */
static part *restore_part(llmopt_runner *r, int32_t p) {
    char err[512];
    part *pt = part_new(r, p, err, sizeof(err));
    uint8_t *blob = NULL;
    size_t blen = 0;
    rd_kafka_topic_partition_list_t *l = NULL;
    if (!pt) {
        set_fatal(r, "engine for partition '%d': %s", p, err);
        return NULL;
    }
    double t0 = mono_s();
    l = rd_kafka_topic_partition_list_new(LLMOPT_PROC_IN_COUNT + 1);
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        rd_kafka_topic_partition_list_add(l, r->pc->topic_in[t], p);
    rd_kafka_topic_partition_list_add(l, r->pc->topic_state, p);
    rd_kafka_resp_err_t ke = rd_kafka_committed(r->consumer, l, (int)r->pc->restore_timeout_ms);
    if (ke) {
        set_fatal(r, "committed offsets of partition '%d': %s", p, rd_kafka_err2str(ke));
        goto fail;
    }
    int64_t committed[LLMOPT_PROC_IN_COUNT];
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        committed[t] = l->elems[t].err ? -1 : l->elems[t].offset;
    int64_t from = l->elems[LLMOPT_PROC_IN_COUNT].offset;
    if (l->elems[LLMOPT_PROC_IN_COUNT].err || from < 0)
        from = RD_KAFKA_OFFSET_BEGINNING;
    int64_t first = -1;
    llmopt_err_t e = read_changelog(r, p, from, &blob, &blen, &first, err, sizeof(err));
    if (e == LLMOPT_ERR_UNKNOWN) {
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            if (committed[t] >= 0) {
                set_fatal(r,
                          "partition '%d': the group committed offset '%" PRId64
                          "' of '%s' but the changelog '%s' holds no checkpoint",
                          p, committed[t], r->pc->topic_in[t], r->pc->topic_state);
                goto fail;
            }
        llmopt_log_info(&lg, "partition '%d': no checkpoint, starting empty", p);
    } else if (e) {
        set_fatal(r, "restore of partition '%d': %s", p, err);
        goto fail;
    } else {
        int32_t bp;
        int64_t offs[LLMOPT_CKPT_TOPICS];
        const void *eng;
        size_t elen;
        if (llmopt_ckpt_blob_read(blob, blen, &bp, offs, &eng, &elen, err, sizeof(err))) {
            set_fatal(r, "restore of partition '%d': %s", p, err);
            goto fail;
        }
        if (bp != p) {
            set_fatal(r, "changelog partition '%d' holds the checkpoint of partition '%d'", p, bp);
            goto fail;
        }
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            if (offs[t] != committed[t] && !(offs[t] < 0 && committed[t] < 0)) {
                set_fatal(r,
                          "partition '%d': checkpoint offset '%" PRId64 "' of '%s' differs "
                          "from the group's committed offset '%" PRId64 "'",
                          p, offs[t], r->pc->topic_in[t], committed[t]);
                goto fail;
            }
        if (llmopt_engine_load(pt->eng, eng, elen, err, sizeof(err))) {
            set_fatal(r, "restore of partition '%d': %s", p, err);
            goto fail;
        }
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            pt->next_off[t] = offs[t];
        pt->cl_offset = first;
        llmopt_log_info(&lg,
                        "partition '%d': restored %zu bytes from changelog offset '%" PRId64
                        "' in %.3f s",
                        p, blen, first, mono_s() - t0);
    }
    llmopt_counter_inc(r->c_restores);
    free(blob);
    rd_kafka_topic_partition_list_destroy(l);
    return pt;
fail:
    free(blob);
    if (l)
        rd_kafka_topic_partition_list_destroy(l);
    part_destroy(r, pt);
    return NULL;
}

/* Restores every partition number in `parts` and assigns it at the
 * checkpoint's offsets. */
static void assign(llmopt_runner *r, rd_kafka_topic_partition_list_t *parts) {
    for (int i = 0; i < parts->cnt && !r->fatal; i++) {
        int32_t p = parts->elems[i].partition;
        if (topic_index(r, parts->elems[i].topic) < 0 || (p < r->nparts && r->parts[p]))
            continue;
        if (p >= r->state_partitions) {
            set_fatal(r, "input partition '%d' has no changelog partition in '%s' (%d partitions)",
                      p, r->pc->topic_state, r->state_partitions);
            break;
        }
        if (!parts_reserve(r, p)) {
            set_fatal(r, "out of memory");
            break;
        }
        r->parts[p] = restore_part(r, p);
    }
    for (int i = 0; i < parts->cnt; i++) {
        int t = topic_index(r, parts->elems[i].topic);
        int32_t p = parts->elems[i].partition;
        parts->elems[i].offset = RD_KAFKA_OFFSET_INVALID;
        if (t >= 0 && p < r->nparts && r->parts[p] && r->parts[p]->next_off[t] >= 0)
            parts->elems[i].offset = r->parts[p]->next_off[t];
    }
    if (r->fatal)
        return;
    rd_kafka_resp_err_t ke = rd_kafka_assign(r->consumer, parts);
    if (ke) {
        set_fatal(r, "assign: %s", rd_kafka_err2str(ke));
        return;
    }
    int n = 0;
    for (int32_t p = 0; p < r->nparts; p++)
        n += r->parts[p] != NULL;
    llmopt_gauge_set(r->g_parts, n);
    r->cycle_start_ms = now_ms();
    atomic_store(&r->assigned_once, true);
    atomic_store(&r->ready, true);
}

static void drop_all(llmopt_runner *r) {
    for (int32_t p = 0; p < r->nparts; p++) {
        part_destroy(r, r->parts[p]);
        r->parts[p] = NULL;
    }
    llmopt_gauge_set(r->g_parts, 0);
}

/* After an aborted transaction: engines back to their last checkpoint,
 * consumption back to its offsets. */
static bool rewind_all(llmopt_runner *r) {
    rd_kafka_topic_partition_list_t *a = NULL;
    if (rd_kafka_assignment(r->consumer, &a)) {
        set_fatal(r, "cannot read the assignment to rewind");
        return false;
    }
    drop_all(r);
    rd_kafka_assign(r->consumer, NULL);
    assign(r, a);
    rd_kafka_topic_partition_list_destroy(a);
    return !r->fatal;
}

static void rebalance_cb(rd_kafka_t *rk, rd_kafka_resp_err_t err,
                         rd_kafka_topic_partition_list_t *parts, void *opaque) {
    llmopt_runner *r = opaque;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
        llmopt_log_info(&lg, "assigned %d topic-partitions", parts->cnt);
        if (!r->fatal)
            assign(r, parts);
        if (r->fatal)
            rd_kafka_assign(rk, NULL);
        return;
    }
    llmopt_log_info(&lg, "revoked %d topic-partitions%s", parts->cnt,
                    rd_kafka_assignment_lost(rk) ? " (lost)" : "");
    atomic_store(&r->ready, false);
    if (r->txn_open) {
        if (!rd_kafka_assignment_lost(rk)) {
            commit_cycle(r, (int)r->pc->txn_timeout_ms);
        } else {
            char e[256];
            llmopt_kafka_txn_status_t st;
            llmopt_kafka_txn_abort(r->producer, (int)r->pc->txn_timeout_ms, &st, e, sizeof(e));
            r->txn_open = false;
            if (st == LLMOPT_KAFKA_TXN_FATAL)
                set_fatal(r, "abort after lost assignment: %s", e);
        }
    }
    drop_all(r);
    rd_kafka_assign(rk, NULL);
}

/* ---- the loop ---- */

static void on_message(llmopt_runner *r, rd_kafka_message_t *m) {
    const char *tn = m->rkt ? rd_kafka_topic_name(m->rkt) : "";
    int t = m->rkt ? topic_index(r, tn) : -1;
    part *pt = t >= 0 && m->partition >= 0 && m->partition < r->nparts ? r->parts[m->partition]
                                                                        : NULL;
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        if (pt)
            pt->eof[t] = true;
        rd_kafka_message_destroy(m);
        return;
    }
    if (m->err) {
        llmopt_log_warn(&lg, "consumer: %s", rd_kafka_message_errstr(m));
        if (m->err == RD_KAFKA_RESP_ERR__FATAL)
            set_fatal(r, "consumer fatal error: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return;
    }
    if (!pt) { /* not (or no longer) assigned here */
        rd_kafka_message_destroy(m);
        return;
    }
    pt->eof[t] = false;
    if (!llmopt_pmerge_queue_push(&pt->q[t], m)) {
        rd_kafka_message_destroy(m);
        set_fatal(r, "out of memory");
        return;
    }
    if (!pt->paused[t] && (int64_t)pt->q[t].len >= r->pc->queue_max_messages) {
        rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
        rd_kafka_topic_partition_list_add(l, tn, pt->p);
        rd_kafka_pause_partitions(r->consumer, l);
        rd_kafka_topic_partition_list_destroy(l);
        pt->paused[t] = true;
    }
}

static void idle_advance(llmopt_runner *r) {
    if (r->pc->event_time_only)
        return;
    int64_t now = now_ms();
    for (int32_t p = 0; p < r->nparts; p++) {
        part *pt = r->parts[p];
        if (!pt || now - pt->last_activity_ms < r->pc->idle_timeout_ms)
            continue;
        /* idle means caught up and quiet, not merely slow to fetch: a
         * partition with input still to read (after an assignment, a
         * restore, a fetch stall) would otherwise jump its watermark to the
         * wall clock and turn its whole backlog late */
        bool caught_up = true;
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
            caught_up = caught_up && pt->eof[t] && pt->q[t].len == 0;
        if (!caught_up)
            continue;
        ensure_txn(r);
        if (r->fatal)
            return;
        llmopt_err_t e = llmopt_engine_advance(pt->eng, now - r->ecfg.ooo_ms);
        part_flush_counts(pt);
        if (e) {
            set_fatal(r, "engine of partition '%d' failed: out of memory", p);
            return;
        }
        pt->dirty = true;
        pt->last_activity_ms = now;
    }
}

static void update_lag(llmopt_runner *r) {
    int64_t lag = 0;
    char err[256];
    if (llmopt_kafka_consumer_lag(r->consumer, 1000, &lag, NULL, err, sizeof(err)) == LLMOPT_OK)
        llmopt_gauge_set(r->g_lag, (double)lag);
}

llmopt_err_t llmopt_runner_run(llmopt_runner *r, bool (*stop)(void), char *errstr,
                               size_t errstr_size) {
    rd_kafka_topic_partition_list_t *sub = rd_kafka_topic_partition_list_new(3);
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        rd_kafka_topic_partition_list_add(sub, r->pc->topic_in[t], RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t ke = rd_kafka_subscribe(r->consumer, sub);
    rd_kafka_topic_partition_list_destroy(sub);
    if (ke)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "subscribe: %s",
                           rd_kafka_err2str(ke));
    r->poller = pthread_self();
    llmopt_err_t pe = pool_start(r, errstr, errstr_size);
    if (pe) {
        pool_stop(r);
        rd_kafka_consumer_close(r->consumer);
        return pe;
    }
    r->cycle_start_ms = now_ms();
    while (!r->fatal && !stop()) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(r->consumer, 50);
        /* take what is already fetched in one go before merging */
        for (int n = 0; m && n < 10000 && !r->fatal; n++) {
            on_message(r, m);
            m = rd_kafka_consumer_poll(r->consumer, 0);
        }
        if (m)
            on_message(r, m);
        int64_t now;
        for (;;) {
            merge_all(r);
            idle_advance(r);
            rd_kafka_poll(r->producer, 0);
            now = now_ms();
            if (!r->txn_open || r->fatal ||
                (now - r->cycle_start_ms < r->pc->commit_interval_ms &&
                 r->cycle_msgs < r->pc->commit_max_messages))
                break;
            commit_cycle(r, (int)r->pc->txn_timeout_ms);
            if (stop())
                break;
        }
        if (!r->txn_open && now - r->cycle_start_ms >= r->pc->commit_interval_ms)
            r->cycle_start_ms = now;
        if (now - r->last_gauges_ms >= 1000) {
            update_gauges(r);
            r->last_gauges_ms = now;
        }
        if (now - r->last_lag_ms >= 10000) {
            update_lag(r);
            r->last_lag_ms = now;
        }
    }
    llmopt_err_t res = LLMOPT_OK;
    int shut = (int)r->pc->common.shutdown_timeout_ms;
    if (!r->fatal) {
        llmopt_log_info(&lg,
                        "stopping: committing and leaving the group (merge phases: %" PRIu64
                        " on the polling thread alone, %" PRIu64 " on all %d threads)",
                        llmopt_counter_value(r->c_phases[0]), llmopt_counter_value(r->c_phases[1]),
                        r->pool.n + 1);
        commit_cycle(r, shut < r->pc->txn_timeout_ms ? shut : (int)r->pc->txn_timeout_ms);
    }
    atomic_store(&r->ready, false);
    pool_stop(r);
    /* leaving the group revokes (the callback commits nothing more) */
    rd_kafka_consumer_close(r->consumer);
    drop_all(r);
    if (r->fatal)
        res = llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "%s", r->fatal_msg);
    return res;
}

bool llmopt_runner_ready(llmopt_runner *r, char *reason, size_t reason_size) {
    if (atomic_load(&r->ready))
        return true;
    snprintf(reason, reason_size, "%s",
             atomic_load(&r->assigned_once) ? "rebalancing or failed"
                                            : "waiting for the partition assignment");
    return false;
}

/* ---- construction ---- */

static bool kafka_is_set(const void *ctx, const char *key) {
    return llmopt_config_kafka_is_set(ctx, key);
}

static int topic_partitions(rd_kafka_t *rk, const char *topic, char *errstr, size_t errstr_size) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "metadata of '%s': %s", topic,
                    rd_kafka_err2str(e));
    } else if (md->topic_cnt != 1 || md->topics[0].err) {
        llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size, "topic '%s': %s", topic,
                    md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
    } else {
        n = md->topics[0].partition_cnt;
    }
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

llmopt_runner *llmopt_runner_new(const llmopt_processor_conf *pc, const llmopt_config *cfg,
                                 llmopt_metrics *metrics, char *errstr, size_t errstr_size) {
    llmopt_runner *r = calloc(1, sizeof(*r));
    rd_kafka_conf_t *kc = NULL;
    if (!r) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->pc = pc;
    r->cfg = cfg;
    r->m = metrics;
    pthread_mutex_init(&r->txn_mu, NULL);
    pthread_mutex_init(&r->fatal_mu, NULL);
    pthread_mutex_init(&r->pool.mu, NULL);
    pthread_cond_init(&r->pool.go, NULL);
    pthread_cond_init(&r->pool.done, NULL);
    llmopt_kafka_dr_stats_init(&r->dr);
    llmopt_wbuf_init(&r->blob);
    if (llmopt_proc_engine_config(pc, &r->ecfg, errstr, errstr_size))
        goto fail;

    /* codecs: a registry when configured, else the built-in ids 1..7 */
    const llmopt_common_conf *cc = &pc->common;
    if ((cc->schema_registry_url && *cc->schema_registry_url) ||
        (cc->schema_registry_file && *cc->schema_registry_file)) {
        llmopt_registry_conf rc = {.local_path = cc->schema_registry_file,
                                   .url = cc->schema_registry_url,
                                   .timeout_ms = (long)cc->schema_registry_timeout_ms};
        if (!(r->reg = llmopt_registry_new(&rc, errstr, errstr_size)))
            goto fail;
        llmopt_registry_schema_source(r->reg, &r->src);
    } else {
        r->src = *llmopt_avro_builtin_source();
    }
    /* each partition gets its own codec (part_new): this one only checks
     * early that the compiled-in schemas parse */
    llmopt_avro_codec *probe = llmopt_avro_codec_new(&r->src, errstr, errstr_size);
    if (!probe)
        goto fail;
    llmopt_avro_codec_destroy(probe);

    /* metrics */
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
        const char *ln[] = {"topic", NULL}, *lv[] = {pc->topic_in[t], NULL};
        r->c_in[t] = llmopt_metrics_counter(metrics, "llmopt_processor_events_in_total",
                                            "input records processed (dead letters included)",
                                            ln, lv);
    }
    for (int o = 0; o < LLMOPT_PROC_OUT_COUNT; o++) {
        const char *ln[] = {"topic", NULL}, *lv[] = {pc->topic_out[o], NULL};
        r->c_out[o] = llmopt_metrics_counter(metrics, "llmopt_processor_events_out_total",
                                             "output records produced (committed or not)", ln,
                                             lv);
    }
    for (int d = 0; d < LLMOPT_DLQ_COUNT; d++) {
        const char *ln[] = {"reason", NULL}, *lv[] = {llmopt_dlq_reason_name(d), NULL};
        r->c_dlq[d] = llmopt_metrics_counter(metrics, "llmopt_processor_dlq_total",
                                             "records sent to the dead-letter topic", ln, lv);
    }
    for (int d = 0; d < 6; d++) {
        const char *ln[] = {"detector", NULL}, *lv[] = {llmopt_detector_name(d), NULL};
        r->c_sig[d] = llmopt_metrics_counter(metrics, "llmopt_processor_signals_total",
                                             "signals emitted", ln, lv);
    }
    r->c_commits = llmopt_metrics_counter(metrics, "llmopt_processor_commits_total",
                                          "transactions committed", NULL, NULL);
    r->c_aborts = llmopt_metrics_counter(metrics, "llmopt_processor_aborts_total",
                                         "transactions aborted (state rewound)", NULL, NULL);
    r->c_ckpt_bytes = llmopt_metrics_counter(metrics, "llmopt_processor_checkpoint_bytes_total",
                                             "checkpoint bytes written to the changelog", NULL,
                                             NULL);
    r->c_restores = llmopt_metrics_counter(metrics, "llmopt_processor_restores_total",
                                           "partitions restored from the changelog", NULL, NULL);
    r->c_encode_err = llmopt_metrics_counter(metrics, "llmopt_processor_encode_errors_total",
                                             "outputs that could not be encoded (bug)", NULL,
                                             NULL);
    for (int k = 0; k < 2; k++) {
        const char *ln[] = {"threads", NULL}, *lv[] = {k ? "all" : "one", NULL};
        r->c_phases[k] = llmopt_metrics_counter(metrics, "llmopt_processor_merge_phases_total",
                                                "merge phases run on the polling thread alone "
                                                "(one) or on every merge thread (all)",
                                                ln, lv);
    }
    r->g_lag = llmopt_metrics_gauge(metrics, "llmopt_processor_consumer_lag",
                                    "messages behind the end of the assigned inputs", NULL, NULL);
    r->g_parts = llmopt_metrics_gauge(metrics, "llmopt_processor_partitions",
                                      "input partition numbers assigned here", NULL, NULL);
    static const double bounds[] = {0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10};
    r->h_commit = llmopt_metrics_histogram(metrics, "llmopt_processor_commit_seconds",
                                           "latency of one transaction commit (checkpoints, "
                                           "flush, offsets, commit)",
                                           bounds, sizeof(bounds) / sizeof(bounds[0]), NULL,
                                           NULL);

    /* transactional producer */
    char host[128] = "localhost";
    gethostname(host, sizeof(host) - 1);
    if (pc->transactional_id && *pc->transactional_id)
        snprintf(r->txn_id, sizeof(r->txn_id), "%s", pc->transactional_id);
    else
        snprintf(r->txn_id, sizeof(r->txn_id), "%s-%s", pc->group_id,
                 pc->instance_id && *pc->instance_id ? pc->instance_id : host);
    llmopt_kafka_user_keys_t uk = {.is_set = kafka_is_set, .ctx = cfg};
    if (!(kc = llmopt_config_kafka_conf(cfg, errstr, errstr_size)))
        goto fail;
    if (llmopt_kafka_conf_default(kc, &uk, "transaction.timeout.ms", "60000", errstr,
                                  errstr_size) ||
        llmopt_kafka_conf_default(kc, &uk, "message.max.bytes", "4000000", errstr, errstr_size))
        goto fail;
    rd_kafka_conf_set_dr_msg_cb(kc, dr_cb);
    rd_kafka_conf_set_opaque(kc, r);
    /* outputs are visible only at the commit, and the commit flushes at
     * once (librdkafka's flush ignores linger.ms), so a long linger costs no
     * latency: it lets the producer's broker thread send ~10k-message
     * batches instead of waking per few hundred (measured: its CPU per
     * input message 0.8-1.2 us at 5 ms, 0.3-0.4 us at 100 ms; see
     * bench/results/processor.md "(b)") */
    llmopt_kafka_producer_opts_t po = {.kind = LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL,
                                       .transactional_id = r->txn_id,
                                       .init_timeout_ms = (int)pc->txn_timeout_ms,
                                       .linger_ms = "100",
                                       .user = uk};
    llmopt_err_t e = llmopt_kafka_producer_new(&r->producer, kc, &po, errstr, errstr_size);
    kc = NULL;
    if (e)
        goto fail;
    for (int o = 0; o < LLMOPT_PROC_OUT_COUNT; o++)
        r->rkt_out[o] = rd_kafka_topic_new(r->producer, pc->topic_out[o], NULL);
    r->rkt_dlq = rd_kafka_topic_new(r->producer, pc->topic_dlq, NULL);
    r->rkt_state = rd_kafka_topic_new(r->producer, pc->topic_state, NULL);

    /* group consumer: range assignment keeps co-partitioned topics together */
    if (!(kc = llmopt_config_kafka_conf(cfg, errstr, errstr_size)))
        goto fail;
    if (llmopt_kafka_conf_default(kc, &uk, "enable.partition.eof", "true", errstr, errstr_size) ||
        llmopt_kafka_conf_default(kc, &uk, "partition.assignment.strategy", "range", errstr,
                                  errstr_size))
        goto fail;
    rd_kafka_conf_set_rebalance_cb(kc, rebalance_cb);
    rd_kafka_conf_set_opaque(kc, r);
    llmopt_kafka_consumer_opts_t co = {.group_id = pc->group_id, .app_commits = true,
                                       .read_committed = true, .user = uk};
    e = llmopt_kafka_consumer_new(&r->consumer, kc, &co, errstr, errstr_size);
    kc = NULL;
    if (e)
        goto fail;

    /* changelog reader: no group, read_committed, stops at the end */
    if (!(kc = llmopt_config_kafka_conf(cfg, errstr, errstr_size)))
        goto fail;
    /* a group id only because librdkafka's consumer queue wants one: the
     * reader never subscribes or commits */
    llmopt_kafka_user_keys_t none = {.user_set_keys = NULL};
    char gid[300];
    snprintf(gid, sizeof(gid), "%s-restore", pc->group_id);
    if (llmopt_kafka_conf_default(kc, &none, "enable.partition.eof", "true", errstr,
                                  errstr_size) ||
        llmopt_kafka_conf_default(kc, &none, "fetch.message.max.bytes", "8388608", errstr,
                                  errstr_size))
        goto fail;
    llmopt_kafka_consumer_opts_t ro = {.group_id = gid, .app_commits = true,
                                       .read_committed = true, .user = none};
    e = llmopt_kafka_consumer_new(&r->restorer, kc, &ro, errstr, errstr_size);
    kc = NULL;
    if (e)
        goto fail;

    int in0 = -1;
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
        int n = topic_partitions(r->producer, pc->topic_in[t], errstr, errstr_size);
        if (n < 0)
            goto fail;
        if (in0 >= 0 && n != in0) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "input topics are not co-partitioned: '%s' has %d partitions, '%s' %d",
                        pc->topic_in[0], in0, pc->topic_in[t], n);
            goto fail;
        }
        in0 = n;
    }
    r->in_partitions = in0;
    r->state_partitions = topic_partitions(r->producer, pc->topic_state, errstr, errstr_size);
    if (r->state_partitions < 0)
        goto fail;
    if (r->state_partitions < r->in_partitions) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                    "changelog '%s' has %d partitions, fewer than the %d of the inputs",
                    pc->topic_state, r->state_partitions, r->in_partitions);
        goto fail;
    }
    llmopt_log_info(&lg, "transactional id '%s', %d input partitions, group '%s'", r->txn_id,
                    r->in_partitions, pc->group_id);
    return r;
fail:
    if (kc)
        rd_kafka_conf_destroy(kc);
    llmopt_runner_destroy(r);
    return NULL;
}

void llmopt_runner_destroy(llmopt_runner *r) {
    if (!r)
        return;
    drop_all(r);
    free(r->parts);
    for (int o = 0; o < LLMOPT_PROC_OUT_COUNT; o++)
        if (r->rkt_out[o])
            rd_kafka_topic_destroy(r->rkt_out[o]);
    if (r->rkt_dlq)
        rd_kafka_topic_destroy(r->rkt_dlq);
    if (r->rkt_state)
        rd_kafka_topic_destroy(r->rkt_state);
    if (r->consumer)
        rd_kafka_destroy(r->consumer);
    if (r->restorer) {
        rd_kafka_consumer_close(r->restorer);
        rd_kafka_destroy(r->restorer);
    }
    if (r->producer)
        rd_kafka_destroy(r->producer);
    release_held(r, true);
    free(r->held);
    free(r->pool.work);
    llmopt_registry_destroy(r->reg);
    llmopt_wbuf_release(&r->blob);
    pthread_mutex_destroy(&r->txn_mu);
    pthread_mutex_destroy(&r->fatal_mu);
    pthread_mutex_destroy(&r->pool.mu);
    pthread_cond_destroy(&r->pool.go);
    pthread_cond_destroy(&r->pool.done);
    free(r);
}
