/*
 * replay.c - a time range of the input topics through the live engine, in
 * event-time mode (see replay.h, docs/BACKTEST.md "Replay").
 *
 * One consumer without a group (it never commits) reads one partition
 * number p at a time: the three topic-partitions (requests, responses,
 * feedback) of p from their start to their end offset, into one FIFO each.
 * processor/pmerge decides what goes next, exactly as in the live runner;
 * a topic-partition read to its end offset counts as ended, so the order is
 * a function of the data alone. A FIFO longer than QUEUE_MAX pauses its
 * fetching.
 *
 * Every topic-partition of the range is assigned once, its fetch queue
 * routed to a queue of its partition number; all but the partition being
 * replayed and the next one are paused, so the next one's first records are
 * fetched while this one is replayed (no fetch round trip at each switch)
 * and at most two partitions' worth of records are prefetched.
 */
#include "tools/replay.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/avro_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/registry.h"
#include "processor/pmerge.h"

static const llmopt_logger lg = LLMOPT_LOGGER("replay");

enum { QUEUE_MAX = 200000 };

typedef struct rp {
    const llmopt_replay_opts *o;
    const llmopt_replay_sink *sink;
    llmopt_replay_stats *st;
    rd_kafka_t *rk;
    llmopt_registry *reg;
    llmopt_schema_source src;
    llmopt_avro_codec *avro;
    llmopt_engine_config ecfg;
    int32_t nparts;
    llmopt_replay_span *spans;
    rd_kafka_queue_t **pq; /* [p]: partition p's records, of its three topics */
    rd_kafka_queue_t **tq; /* [t * nparts + p]: the topic-partition's fetch queue */
    /* the partition being replayed */
    int32_t p;
    llmopt_engine *eng;
    llmopt_pmerge_queue q[LLMOPT_PROC_IN_COUNT];
    bool fetched[LLMOPT_PROC_IN_COUNT]; /* nothing more in range will arrive */
    bool paused[LLMOPT_PROC_IN_COUNT];
    llmopt_pmerge_topic head[LLMOPT_PROC_IN_COUNT];
    char head_err[LLMOPT_PROC_IN_COUNT][300];
    int64_t emax;
    llmopt_pmerge_recs recs; /* the decoded heads */
    const rd_kafka_message_t *cur; /* the message the engine is working on */
    int cur_topic;
    double t0, cpu0, last_progress;
} rp;

/* ---- small helpers ---- */

static double mono_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static double cpu_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

static int topic_index(const rp *r, const char *name) {
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        if (!strcmp(name, r->o->pc->topic_in[t]))
            return t;
    return -1;
}

/* ---- engine sink ---- */

static void on_outcome(void *ctx, const llmopt_outcome *o) {
    rp *r = ctx;
    r->st->outcomes++;
    if (r->sink->outcome)
        r->sink->outcome(r->sink->ctx, o);
}

static void on_metrics(void *ctx, const llmopt_window_metrics *m) {
    rp *r = ctx;
    r->st->metrics++;
    if (r->sink->metrics)
        r->sink->metrics(r->sink->ctx, m);
}

static void on_signal(void *ctx, const llmopt_signal *s) {
    rp *r = ctx;
    r->st->signals++;
    if (r->sink->signal)
        r->sink->signal(r->sink->ctx, s);
}

static void dead_letter(rp *r, const rd_kafka_message_t *m, int t, llmopt_dlq_reason reason,
                        const char *detail) {
    if ((unsigned)reason < LLMOPT_DLQ_COUNT)
        r->st->dlq[reason]++;
    if (r->sink->dlq)
        r->sink->dlq(r->sink->ctx, m, r->o->pc->topic_in[t], reason, detail);
}

static void on_dlq(void *ctx, const llmopt_engine_src *src, llmopt_dlq_reason reason,
                   const char *detail) {
    rp *r = ctx;
    (void)src;
    if (r->cur) /* the engine only dead-letters the record it is given */
        dead_letter(r, r->cur, r->cur_topic, reason, detail);
}

/* ---- progress ---- */

static void progress(rp *r, bool done) {
    if (!r->sink->progress)
        return;
    double now = mono_s();
    double every = r->o->progress_interval_ms > 0 ? r->o->progress_interval_ms / 1000.0 : 1.0;
    if (!done && now - r->last_progress < every)
        return;
    r->last_progress = now;
    llmopt_replay_progress p = {
        .events = r->st->events,
        .total = r->st->total,
        .elapsed_s = now - r->t0,
        .cpu_s = cpu_s() - r->cpu0,
        .event_time_ms = r->st->last_event_ms,
        .partition = r->p,
        .npartitions = r->nparts,
        .done = done,
    };
    r->sink->progress(r->sink->ctx, &p);
}

/* ---- plan ---- */

static int topic_partitions(rd_kafka_t *rk, const char *topic, char *errstr, size_t errstr_size) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, topic, NULL);
    const struct rd_kafka_metadata *md = NULL;
    int n = -1;
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, rkt, &md, 10000);
    if (e)
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "metadata of '%s': %s", topic,
                    rd_kafka_err2str(e));
    else if (md->topic_cnt != 1 || md->topics[0].err)
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "input topic '%s': %s", topic,
                    md->topic_cnt ? rd_kafka_err2str(md->topics[0].err) : "not found");
    else
        n = md->topics[0].partition_cnt;
    if (md)
        rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(rkt);
    return n;
}

static llmopt_err_t new_consumer(const llmopt_replay_opts *o, rd_kafka_t **rk, char *errstr,
                                 size_t errstr_size) {
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(o->cfg, errstr, errstr_size);
    if (!kc)
        return LLMOPT_ERR_INVALID;
    llmopt_kafka_user_keys_t uk = llmopt_kafka_user_keys_from_config(o->cfg);
    /* queued.min.messages: librdkafka 2.0.2 backs fetching off 1 s once a
     * slower consumer exceeds it (shared/NOTES.md). fetch.wait.max.ms: the
     * range is already written, so a fetch only waits at a partition's end,
     * and the next partition's first fetch queues behind that wait: 10 ms
     * cut the gap at each partition switch from 11-63 ms to 7-18 ms
     * (bench/results/replay.md) */
    if (llmopt_kafka_conf_default(kc, &uk, "enable.partition.eof", "true", errstr, errstr_size) ||
        llmopt_kafka_conf_default(kc, &uk, "queued.min.messages", "1000000", errstr,
                                  errstr_size) ||
        llmopt_kafka_conf_default(kc, &uk, "fetch.wait.max.ms", "10", errstr, errstr_size)) {
        rd_kafka_conf_destroy(kc);
        return LLMOPT_ERR_INVALID;
    }
    /* a group id only because librdkafka's consumer wants one: the replay
     * assigns offsets itself and never commits */
    llmopt_kafka_consumer_opts_t co = {.group_id = "llmopt-replay", .app_commits = true,
                                       .read_committed = true, .user = uk};
    return llmopt_kafka_consumer_new(rk, kc, &co, errstr, errstr_size);
}

static llmopt_err_t plan(rd_kafka_t *rk, const llmopt_replay_opts *o, int32_t *nparts,
                         llmopt_replay_span **spans, char *errstr, size_t errstr_size) {
    llmopt_err_t res = LLMOPT_ERR_IO;
    rd_kafka_topic_partition_list_t *lf = NULL, *lt = NULL;
    llmopt_replay_span *sp = NULL;
    int n = -1;
    *spans = NULL;
    if (o->from_ms >= o->to_ms)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "empty range: from '%" PRId64 "' is not before to '%" PRId64 "'",
                           o->from_ms, o->to_ms);
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
        int k = topic_partitions(rk, o->pc->topic_in[t], errstr, errstr_size);
        if (k < 0)
            return LLMOPT_ERR_IO;
        if (n >= 0 && k != n)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "input topics are not co-partitioned: '%s' has %d partitions, "
                               "'%s' %d",
                               o->pc->topic_in[0], n, o->pc->topic_in[t], k);
        n = k;
    }
    sp = calloc((size_t)n * LLMOPT_PROC_IN_COUNT, sizeof(*sp));
    lf = rd_kafka_topic_partition_list_new(n * LLMOPT_PROC_IN_COUNT);
    lt = rd_kafka_topic_partition_list_new(n * LLMOPT_PROC_IN_COUNT);
    if (!sp) {
        res = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        for (int p = 0; p < n; p++) {
            rd_kafka_topic_partition_list_add(lf, o->pc->topic_in[t], p)->offset = o->from_ms;
            rd_kafka_topic_partition_list_add(lt, o->pc->topic_in[t], p)->offset = o->to_ms;
        }
    rd_kafka_resp_err_t e;
    if ((e = rd_kafka_offsets_for_times(rk, lf, 10000)) ||
        (e = rd_kafka_offsets_for_times(rk, lt, 10000))) {
        res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "offsets for times: %s",
                          rd_kafka_err2str(e));
        goto out;
    }
    for (int i = 0; i < lf->cnt; i++) {
        const rd_kafka_topic_partition_t *a = &lf->elems[i], *b = &lt->elems[i];
        if (a->err || b->err) {
            res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                              "offsets for times of '%s' partition '%d': %s", a->topic,
                              a->partition, rd_kafka_err2str(a->err ? a->err : b->err));
            goto out;
        }
        int64_t lo = 0, hi = 0;
        if ((e = rd_kafka_query_watermark_offsets(rk, a->topic, a->partition, &lo, &hi, 10000))) {
            res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                              "end offset of '%s' partition '%d': %s", a->topic, a->partition,
                              rd_kafka_err2str(e));
            goto out;
        }
        /* -1: no record at or after the time, so the range runs to the end */
        int64_t s = a->offset < 0 ? hi : a->offset;
        int64_t x = b->offset < 0 ? hi : b->offset;
        if (x < s)
            x = s;
        sp[i] = (llmopt_replay_span){s, x};
    }
    *nparts = n;
    *spans = sp;
    sp = NULL;
    res = LLMOPT_OK;
out:
    free(sp);
    if (lf)
        rd_kafka_topic_partition_list_destroy(lf);
    if (lt)
        rd_kafka_topic_partition_list_destroy(lt);
    return res;
}

llmopt_err_t llmopt_replay_plan(const llmopt_replay_opts *opts, int32_t *nparts,
                                llmopt_replay_span **spans, char *errstr, size_t errstr_size) {
    rd_kafka_t *rk = NULL;
    llmopt_err_t e = new_consumer(opts, &rk, errstr, errstr_size);
    if (!e)
        e = plan(rk, opts, nparts, spans, errstr, errstr_size);
    if (rk)
        rd_kafka_destroy(rk);
    return e;
}

/* ---- one partition ---- */

static void part_reset(rp *r) {
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++)
        llmopt_pmerge_queue_release(&r->q[t]);
    llmopt_engine_destroy(r->eng);
    r->eng = NULL;
}

static void pause_resume(rp *r, int t, bool pause) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, r->o->pc->topic_in[t], r->p);
    if (pause)
        rd_kafka_pause_partitions(r->rk, l);
    else
        rd_kafka_resume_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
    r->paused[t] = pause;
}

/* Pauses or resumes fetching of every topic-partition of partition p that
 * has records in the range. */
static void pause_resume_part(rp *r, int32_t p, bool pause) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(LLMOPT_PROC_IN_COUNT);
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
        const llmopt_replay_span *sp = &r->spans[t * r->nparts + p];
        if (sp->start < sp->end)
            rd_kafka_topic_partition_list_add(l, r->o->pc->topic_in[t], p);
    }
    if (l->cnt && pause)
        rd_kafka_pause_partitions(r->rk, l);
    else if (l->cnt)
        rd_kafka_resume_partitions(r->rk, l);
    rd_kafka_topic_partition_list_destroy(l);
}

/* Routes every topic-partition of the range to its partition number's
 * queue and assigns them all from their start offsets, partitions from 2 on
 * paused (see the top of this file). */
static llmopt_err_t assign_all(rp *r, char *errstr, size_t errstr_size) {
    int32_t n = r->nparts;
    if (!(r->pq = calloc((size_t)n, sizeof(*r->pq))) ||
        !(r->tq = calloc((size_t)n * LLMOPT_PROC_IN_COUNT, sizeof(*r->tq))))
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    rd_kafka_topic_partition_list_t *l =
        rd_kafka_topic_partition_list_new(n * LLMOPT_PROC_IN_COUNT);
    llmopt_err_t res = LLMOPT_OK;
    for (int32_t p = 0; p < n && !res; p++) {
        r->pq[p] = rd_kafka_queue_new(r->rk);
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT && !res; t++) {
            const llmopt_replay_span *sp = &r->spans[t * n + p];
            if (sp->start >= sp->end)
                continue;
            rd_kafka_queue_t *q = rd_kafka_queue_get_partition(r->rk, r->o->pc->topic_in[t], p);
            if (!q) {
                res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                                  "no queue for '%s' partition '%d'", r->o->pc->topic_in[t], p);
                break;
            }
            rd_kafka_queue_forward(q, r->pq[p]);
            r->tq[t * n + p] = q;
            rd_kafka_topic_partition_list_add(l, r->o->pc->topic_in[t], p)->offset = sp->start;
        }
    }
    rd_kafka_resp_err_t ke;
    if (!res && l->cnt && (ke = rd_kafka_assign(r->rk, l)))
        res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "assign: %s", rd_kafka_err2str(ke));
    rd_kafka_topic_partition_list_destroy(l);
    for (int32_t p = 2; p < n && !res; p++)
        pause_resume_part(r, p, true);
    return res;
}

static void unassign_all(rp *r) {
    if (!r->pq)
        return;
    rd_kafka_assign(r->rk, NULL);
    for (int32_t i = 0; r->tq && i < r->nparts * LLMOPT_PROC_IN_COUNT; i++)
        if (r->tq[i])
            rd_kafka_queue_destroy(r->tq[i]);
    for (int32_t p = 0; p < r->nparts; p++)
        if (r->pq[p])
            rd_kafka_queue_destroy(r->pq[p]);
    free(r->tq);
    free(r->pq);
    r->tq = NULL;
    r->pq = NULL;
}

/* Queues one consumed message (or notes an end). */
static llmopt_err_t on_message(rp *r, rd_kafka_message_t *m, char *errstr, size_t errstr_size) {
    int t = m->rkt ? topic_index(r, rd_kafka_topic_name(m->rkt)) : -1;
    if (t < 0 || m->partition != r->p) {
        if (m->err && m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
            llmopt_log_warn(&lg, "consumer: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return LLMOPT_OK;
    }
    const llmopt_replay_span *sp = &r->spans[t * r->nparts + r->p];
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
        /* the end of what can be read now (read_committed: the last stable
         * offset); the end offset was the high watermark or below */
        if (!r->fetched[t] && m->offset < sp->end)
            llmopt_log_warn(&lg,
                            "'%s' partition '%d' ends at offset '%" PRId64 "' before the "
                            "range end '%" PRId64 "' (open transaction?)",
                            r->o->pc->topic_in[t], r->p, m->offset, sp->end);
        r->fetched[t] = true;
        rd_kafka_message_destroy(m);
        return LLMOPT_OK;
    }
    if (m->err) {
        bool fatal = m->err == RD_KAFKA_RESP_ERR__FATAL ||
                     m->err == RD_KAFKA_RESP_ERR__UNKNOWN_PARTITION ||
                     m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART ||
                     m->err == RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC ||
                     m->err == RD_KAFKA_RESP_ERR_OFFSET_OUT_OF_RANGE;
        llmopt_err_t res = LLMOPT_OK;
        if (fatal)
            res = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "reading '%s' partition '%d': %s",
                              r->o->pc->topic_in[t], r->p, rd_kafka_message_errstr(m));
        else
            llmopt_log_warn(&lg, "consumer: %s", rd_kafka_message_errstr(m));
        rd_kafka_message_destroy(m);
        return res;
    }
    if (r->fetched[t] || m->offset >= sp->end) {
        if (!r->fetched[t])
            pause_resume(r, t, true);
        r->fetched[t] = true;
        rd_kafka_message_destroy(m);
        return LLMOPT_OK;
    }
    if (m->offset + 1 >= sp->end) {
        pause_resume(r, t, true);
        r->fetched[t] = true;
    }
    if (!llmopt_pmerge_queue_push(&r->q[t], m)) {
        rd_kafka_message_destroy(m);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    if (!r->paused[t] && !r->fetched[t] && r->q[t].len >= QUEUE_MAX)
        pause_resume(r, t, true);
    return LLMOPT_OK;
}

static void head_done(rp *r, int t) {
    llmopt_pmerge_queue_pop(&r->q[t]);
    r->head[t].head = LLMOPT_PMERGE_EMPTY;
    r->st->in[t]++;
    r->st->events++;
    if (r->paused[t] && !r->fetched[t] && r->q[t].len <= QUEUE_MAX / 2)
        pause_resume(r, t, false);
}

/* Feeds the engine as far as the merge allows. *done when every topic of the
 * partition has ended. */
static llmopt_err_t merge(rp *r, bool *done, char *errstr, size_t errstr_size) {
    *done = false;
    for (;;) {
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
            llmopt_pmerge_head *h = &r->head[t].head;
            if (!r->q[t].len)
                *h = r->fetched[t] ? LLMOPT_PMERGE_ENDED : LLMOPT_PMERGE_EMPTY;
            else if (*h == LLMOPT_PMERGE_EMPTY || *h == LLMOPT_PMERGE_ENDED)
                *h = LLMOPT_PMERGE_QUEUED;
        }
        llmopt_pmerge_step st = llmopt_pmerge_next(r->head);
        int t = st.topic;
        switch (st.action) {
        case LLMOPT_PMERGE_WAIT:
            return LLMOPT_OK;
        case LLMOPT_PMERGE_DONE:
            *done = true;
            return LLMOPT_OK;
        case LLMOPT_PMERGE_DECODE: {
            int64_t ts = 0;
            llmopt_pmerge_decoded d = llmopt_pmerge_decode(
                t, r->o->pc->format_in[t], r->avro, llmopt_pmerge_queue_peek(&r->q[t]),
                llmopt_pmerge_rec(&r->recs, t), &ts, r->head_err[t], sizeof(r->head_err[t]));
            if (d == LLMOPT_PMERGE_RETRY) /* registry down: a replay does not wait for it */
                return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                                   "schema registry unavailable: %s", r->head_err[t]);
            if (d == LLMOPT_PMERGE_UNDECODABLE) {
                r->head[t].head = LLMOPT_PMERGE_BAD;
            } else {
                r->head[t].head = LLMOPT_PMERGE_OK;
                r->head[t].key =
                    llmopt_pmerge_key(r->eng, r->ecfg.max_future_ms, &r->emax, ts);
            }
            break;
        }
        case LLMOPT_PMERGE_DEAD:
            dead_letter(r, llmopt_pmerge_queue_peek(&r->q[t]), t, LLMOPT_DLQ_DECODE, r->head_err[t]);
            head_done(r, t);
            break;
        case LLMOPT_PMERGE_FEED: {
            rd_kafka_message_t *m = llmopt_pmerge_queue_peek(&r->q[t]);
            llmopt_engine_src src = {r->o->pc->topic_in[t], m->partition, m->offset};
            r->cur = m;
            r->cur_topic = t;
            llmopt_err_t e = llmopt_pmerge_feed(r->eng, &r->recs, t, &src);
            r->cur = NULL;
            if (e)
                return llmopt_errf(e, errstr, errstr_size, "engine of partition '%d' failed: %s",
                                   r->p, llmopt_err_name(e));
            int64_t key = r->head[t].key;
            if (key != INT64_MIN) {
                if (r->st->first_event_ms == INT64_MIN || key < r->st->first_event_ms)
                    r->st->first_event_ms = key;
                if (key > r->st->last_event_ms)
                    r->st->last_event_ms = key;
            }
            head_done(r, t);
            if ((r->st->events & 4095) == 0)
                progress(r, false);
            break;
        }
        }
    }
}

static llmopt_err_t replay_partition(rp *r, int32_t p, double deadline, char *errstr,
                                     size_t errstr_size) {
    llmopt_err_t res = LLMOPT_OK;
    r->p = p;
    r->emax = INT64_MIN;
    for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
        const llmopt_replay_span *sp = &r->spans[t * r->nparts + p];
        r->fetched[t] = sp->start >= sp->end;
        r->paused[t] = false;
        r->head[t] = (llmopt_pmerge_topic){LLMOPT_PMERGE_EMPTY, 0};
    }
    if (p + 1 < r->nparts && p + 1 >= 2)
        pause_resume_part(r, p + 1, false); /* prefetch the next one */
    const llmopt_engine_sink es = {.outcome = on_outcome, .metrics = on_metrics,
                                   .signal = on_signal, .dlq = on_dlq, .ctx = r};
    if (!(r->eng = llmopt_engine_new(&r->ecfg, &es, p, errstr, errstr_size))) {
        res = LLMOPT_ERR_NOMEM;
        goto out;
    }
    for (;;) {
        bool done = false;
        if ((res = merge(r, &done, errstr, errstr_size)))
            goto out;
        if (done)
            break;
        if (r->o->stop && *r->o->stop) {
            res = llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "stopped");
            goto out;
        }
        if (deadline > 0 && mono_s() > deadline) {
            res = llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                              "replay timed out in partition '%d'", p);
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consume_queue(r->pq[p], 100);
        for (int n = 0; m && n < 20000; n++) {
            if ((res = on_message(r, m, errstr, errstr_size)))
                goto out;
            m = rd_kafka_consume_queue(r->pq[p], 0);
        }
        if (m && (res = on_message(r, m, errstr, errstr_size)))
            goto out;
        /* errors of the consumer itself (not of a partition) */
        while ((m = rd_kafka_consumer_poll(r->rk, 0)))
            if ((res = on_message(r, m, errstr, errstr_size)))
                goto out;
        progress(r, false);
    }
    if (r->o->flush && (res = llmopt_engine_flush(r->eng)))
        llmopt_errf(res, errstr, errstr_size, "flush of partition '%d': %s", p,
                    llmopt_err_name(res));
out:
    pause_resume_part(r, p, true); /* what is left of it lies beyond the range */
    part_reset(r);
    return res;
}

llmopt_err_t llmopt_replay_run(const llmopt_replay_opts *opts, const llmopt_replay_sink *sink,
                               llmopt_replay_stats *stats, char *errstr, size_t errstr_size) {
    static const llmopt_replay_sink none = {0};
    rp r;
    memset(&r, 0, sizeof(r));
    memset(stats, 0, sizeof(*stats));
    stats->first_event_ms = stats->last_event_ms = INT64_MIN;
    r.o = opts;
    r.sink = sink ? sink : &none;
    r.st = stats;
    r.t0 = mono_s();
    r.cpu0 = cpu_s();
    r.last_progress = r.t0;
    llmopt_pmerge_recs_init(&r.recs);
    llmopt_err_t res;
    if ((res = llmopt_proc_engine_config(opts->pc, &r.ecfg, errstr, errstr_size)))
        goto out;
    const llmopt_common_conf *cc = &opts->pc->common;
    if ((cc->schema_registry_url && *cc->schema_registry_url) ||
        (cc->schema_registry_file && *cc->schema_registry_file)) {
        llmopt_registry_conf rc = {.local_path = cc->schema_registry_file,
                                   .url = cc->schema_registry_url,
                                   .timeout_ms = (long)cc->schema_registry_timeout_ms};
        if (!(r.reg = llmopt_registry_new(&rc, errstr, errstr_size))) {
            res = LLMOPT_ERR_INVALID;
            goto out;
        }
        llmopt_registry_schema_source(r.reg, &r.src);
    } else {
        r.src = *llmopt_avro_builtin_source();
    }
    if (!(r.avro = llmopt_avro_codec_new(&r.src, errstr, errstr_size))) {
        res = LLMOPT_ERR_INVALID;
        goto out;
    }
    if ((res = new_consumer(opts, &r.rk, errstr, errstr_size)) ||
        (res = plan(r.rk, opts, &r.nparts, &r.spans, errstr, errstr_size)))
        goto out;
    stats->partitions = r.nparts;
    for (int32_t i = 0; i < r.nparts * LLMOPT_PROC_IN_COUNT; i++)
        stats->total += (uint64_t)(r.spans[i].end - r.spans[i].start);
    llmopt_log_info(&lg, "range [%" PRId64 ", %" PRId64 "): %" PRIu64 " offsets in %d partitions",
                    opts->from_ms, opts->to_ms, stats->total, r.nparts);
    if (!stats->total)
        goto out; /* no data: the caller reports it */
    double deadline = opts->timeout_ms > 0 ? r.t0 + opts->timeout_ms / 1000.0 : 0;
    if ((res = assign_all(&r, errstr, errstr_size)))
        goto out;
    for (int32_t p = 0; p < r.nparts && !res; p++)
        res = replay_partition(&r, p, deadline, errstr, errstr_size);
    if (!res)
        progress(&r, true);
out:
    stats->elapsed_s = mono_s() - r.t0;
    stats->cpu_s = cpu_s() - r.cpu0;
    part_reset(&r);
    if (r.rk) {
        unassign_all(&r);
        rd_kafka_consumer_close(r.rk);
        rd_kafka_destroy(r.rk);
    }
    free(r.spans);
    llmopt_avro_codec_destroy(r.avro);
    llmopt_registry_destroy(r.reg);
    llmopt_pmerge_recs_release(&r.recs);
    return res;
}
