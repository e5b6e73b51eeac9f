/*
 * kafka.c - librdkafka helpers; see kafka.h for the contracts and defaults.
 */
#include "common/kafka.h"

#include "common/config.h"

#include <inttypes.h>
#include <string.h>
#include <time.h>

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int remaining_ms(int64_t deadline_ms) {
    int64_t left = deadline_ms - now_ms();
    return left > 0 ? (int)(left > INT32_MAX ? INT32_MAX : left) : 0;
}

static bool config_is_set(const void *ctx, const char *key) {
    return llmopt_config_kafka_is_set(ctx, key);
}

llmopt_kafka_user_keys_t llmopt_kafka_user_keys_from_config(const struct llmopt_config *c) {
    llmopt_kafka_user_keys_t uk = {.is_set = config_is_set, .ctx = c};
    return uk;
}

bool llmopt_kafka_user_set(const llmopt_kafka_user_keys_t *uk, const char *key) {
    if (!uk)
        return false;
    if (uk->user_set_keys)
        for (const char *const *k = uk->user_set_keys; *k; k++)
            if (strcmp(*k, key) == 0)
                return true;
    return uk->is_set && uk->is_set(uk->ctx, key);
}

llmopt_err_t llmopt_kafka_conf_default(rd_kafka_conf_t *conf, const llmopt_kafka_user_keys_t *uk,
                                       const char *key, const char *value, char *errstr,
                                       size_t errstr_size) {
    char why[256];
    if (llmopt_kafka_user_set(uk, key))
        return LLMOPT_OK;
    if (rd_kafka_conf_set(conf, key, value, why, sizeof(why)) != RD_KAFKA_CONF_OK)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "kafka default '%s': %s",
                           key, why);
    return LLMOPT_OK;
}

/* ---- delivery reports ------------------------------------------------- */

void llmopt_kafka_dr_stats_init(llmopt_kafka_dr_stats_t *s) {
    atomic_init(&s->delivered, 0);
    atomic_init(&s->failed, 0);
    atomic_init(&s->last_err, RD_KAFKA_RESP_ERR_NO_ERROR);
}

void llmopt_kafka_dr_count(llmopt_kafka_dr_stats_t *s, const rd_kafka_message_t *m) {
    if (m->err) {
        atomic_fetch_add(&s->failed, 1);
        atomic_store(&s->last_err, (int)m->err);
    } else {
        atomic_fetch_add(&s->delivered, 1);
    }
}

static void dr_stats_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    llmopt_kafka_dr_count(opaque, m);
}

/* ---- creation --------------------------------------------------------- */

/* rd_kafka_new(), which leaves conf to us on failure */
static llmopt_err_t client_new(rd_kafka_t **rkp, rd_kafka_type_t type, rd_kafka_conf_t *conf,
                               char *errstr, size_t errstr_size) {
    char why[512];
    *rkp = rd_kafka_new(type, conf, why, sizeof(why));
    if (!*rkp) {
        rd_kafka_conf_destroy(conf);
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka %s: %s",
                           type == RD_KAFKA_PRODUCER ? "producer" : "consumer", why);
    }
    return LLMOPT_OK;
}

static llmopt_err_t txn_init(rd_kafka_t *rk, int timeout_ms, char *errstr, size_t errstr_size) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        rd_kafka_error_t *e = rd_kafka_init_transactions(rk, remaining_ms(deadline));
        if (!e)
            return LLMOPT_OK;
        bool retry = rd_kafka_error_is_retriable(e) && remaining_ms(deadline) > 0;
        llmopt_err_t r = rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT
                             ? LLMOPT_ERR_TIMEOUT
                             : LLMOPT_ERR_IO;
        if (!retry)
            llmopt_errf(r, errstr, errstr_size, "kafka init_transactions: %s",
                        rd_kafka_error_string(e));
        rd_kafka_error_destroy(e);
        if (!retry)
            return r;
    }
}

llmopt_err_t llmopt_kafka_producer_new(rd_kafka_t **rkp, rd_kafka_conf_t *conf,
                                       const llmopt_kafka_producer_opts_t *opts, char *errstr,
                                       size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_INVALID;
    const llmopt_kafka_user_keys_t *uk = &opts->user;
    *rkp = NULL;
    if (opts->kind == LLMOPT_KAFKA_PRODUCER_IDEMPOTENT ||
        opts->kind == LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL) {
        if ((r = llmopt_kafka_conf_default(conf, uk, "enable.idempotence", "true", errstr,
                                           errstr_size)))
            goto out;
    }
    if (opts->kind == LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL &&
        !llmopt_kafka_user_set(uk, "transactional.id")) {
        if (!opts->transactional_id || !*opts->transactional_id) {
            r = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "kafka transactional producer needs a 'transactional.id'");
            goto out;
        }
        if ((r = llmopt_kafka_conf_default(conf, uk, "transactional.id", opts->transactional_id,
                                           errstr, errstr_size)))
            goto out;
    }
    if ((r = llmopt_kafka_conf_default(conf, uk, "linger.ms",
                                       opts->linger_ms ? opts->linger_ms : "5", errstr,
                                       errstr_size)))
        goto out;
    if (opts->dr_stats) {
        rd_kafka_conf_set_dr_msg_cb(conf, dr_stats_cb);
        rd_kafka_conf_set_opaque(conf, opts->dr_stats);
    }
    r = client_new(rkp, RD_KAFKA_PRODUCER, conf, errstr, errstr_size);
    conf = NULL;
    if (r)
        goto out;
    if (opts->kind == LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL) {
        r = txn_init(*rkp, opts->init_timeout_ms > 0 ? opts->init_timeout_ms : 30000, errstr,
                     errstr_size);
        if (r) {
            rd_kafka_destroy(*rkp);
            *rkp = NULL;
            goto out;
        }
    }
    r = LLMOPT_OK;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return r;
}

llmopt_err_t llmopt_kafka_consumer_new(rd_kafka_t **rkp, rd_kafka_conf_t *conf,
                                       const llmopt_kafka_consumer_opts_t *opts, char *errstr,
                                       size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_INVALID;
    const llmopt_kafka_user_keys_t *uk = &opts->user;
    const char *defaults[][2] = {
        {"queued.min.messages", "1000000"},
        {"fetch.wait.max.ms", "100"},
        {"auto.offset.reset", "earliest"},
        {"isolation.level", opts->read_committed ? "read_committed" : "read_uncommitted"},
        {"enable.auto.commit", opts->app_commits ? "false" : NULL},
        {"group.id", opts->group_id},
    };
    *rkp = NULL;
    for (size_t i = 0; i < sizeof(defaults) / sizeof(defaults[0]); i++) {
        if (!defaults[i][1])
            continue;
        if ((r = llmopt_kafka_conf_default(conf, uk, defaults[i][0], defaults[i][1], errstr,
                                           errstr_size)))
            goto out;
    }
    r = client_new(rkp, RD_KAFKA_CONSUMER, conf, errstr, errstr_size);
    conf = NULL;
    if (r)
        goto out;
    rd_kafka_poll_set_consumer(*rkp);
    r = LLMOPT_OK;
out:
    if (conf)
        rd_kafka_conf_destroy(conf);
    return r;
}

/* ---- flush and close -------------------------------------------------- */

llmopt_err_t llmopt_kafka_producer_flush(rd_kafka_t *rk, int timeout_ms,
                                         const llmopt_kafka_dr_stats_t *stats, char *errstr,
                                         size_t errstr_size) {
    rd_kafka_flush(rk, timeout_ms);
    int left = rd_kafka_outq_len(rk);
    if (left > 0)
        return llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                           "kafka flush: %d message(s) still queued after %d ms", left,
                           timeout_ms);
    if (stats && atomic_load(&stats->failed) > 0)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                           "kafka delivery: %" PRIuFAST64 " message(s) failed, last: %s",
                           (uint_fast64_t)atomic_load(&stats->failed),
                           rd_kafka_err2str((rd_kafka_resp_err_t)atomic_load(&stats->last_err)));
    return LLMOPT_OK;
}

llmopt_err_t llmopt_kafka_producer_close(rd_kafka_t *rk, int timeout_ms, char *errstr,
                                         size_t errstr_size) {
    llmopt_err_t r = LLMOPT_OK;
    if (!rk)
        return LLMOPT_OK;
    r = llmopt_kafka_producer_flush(rk, timeout_ms, NULL, errstr, errstr_size);
    rd_kafka_destroy(rk);
    return r;
}

void llmopt_kafka_consumer_close(rd_kafka_t *rk) {
    if (!rk)
        return;
    rd_kafka_consumer_close(rk);
    rd_kafka_destroy(rk);
}

/* ---- lag -------------------------------------------------------------- */

llmopt_err_t llmopt_kafka_consumer_lag(rd_kafka_t *consumer, int timeout_ms, int64_t *total_lag,
                                       rd_kafka_topic_partition_list_t **lags, char *errstr,
                                       size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_IO;
    rd_kafka_topic_partition_list_t *parts = NULL;
    rd_kafka_resp_err_t err;
    int64_t deadline = now_ms() + timeout_ms;
    int64_t total = 0;

    *total_lag = 0;
    if (lags)
        *lags = NULL;
    if ((err = rd_kafka_assignment(consumer, &parts))) {
        r = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka assignment: %s",
                        rd_kafka_err2str(err));
        goto out;
    }
    if ((err = rd_kafka_position(consumer, parts))) {
        r = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka position: %s",
                        rd_kafka_err2str(err));
        goto out;
    }
    for (int i = 0; i < parts->cnt; i++) {
        rd_kafka_topic_partition_t *p = &parts->elems[i];
        int64_t lo, hi;
        err = rd_kafka_query_watermark_offsets(consumer, p->topic, p->partition, &lo, &hi,
                                               remaining_ms(deadline));
        if (err) {
            r = llmopt_errf(err == RD_KAFKA_RESP_ERR__TIMED_OUT ? LLMOPT_ERR_TIMEOUT
                                                                : LLMOPT_ERR_IO,
                            errstr, errstr_size, "kafka watermarks of '%s' [%" PRId32 "]: %s",
                            p->topic, p->partition, rd_kafka_err2str(err));
            goto out;
        }
        int64_t from = p->offset >= 0 ? p->offset : lo;
        int64_t lag = hi > from ? hi - from : 0;
        p->offset = lag;
        total += lag;
    }
    *total_lag = total;
    if (lags) {
        *lags = parts;
        parts = NULL;
    }
    r = LLMOPT_OK;
out:
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    return r;
}

/* ---- transactions ----------------------------------------------------- */

const char *llmopt_kafka_txn_status_name(llmopt_kafka_txn_status_t s) {
    switch (s) {
    case LLMOPT_KAFKA_TXN_COMMITTED: return "committed";
    case LLMOPT_KAFKA_TXN_ABORTED: return "aborted";
    case LLMOPT_KAFKA_TXN_FATAL: return "fatal";
    }
    return "?";
}

llmopt_err_t llmopt_kafka_txn_begin(rd_kafka_t *producer, char *errstr, size_t errstr_size) {
    rd_kafka_error_t *e = rd_kafka_begin_transaction(producer);
    if (!e)
        return LLMOPT_OK;
    llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "kafka begin_transaction: %s",
                rd_kafka_error_string(e));
    rd_kafka_error_destroy(e);
    return LLMOPT_ERR_STATE;
}

llmopt_err_t llmopt_kafka_txn_abort(rd_kafka_t *producer, int timeout_ms,
                                    llmopt_kafka_txn_status_t *status, char *errstr,
                                    size_t errstr_size) {
    int64_t deadline = now_ms() + timeout_ms;
    for (;;) {
        rd_kafka_error_t *e = rd_kafka_abort_transaction(producer, remaining_ms(deadline));
        if (!e) {
            *status = LLMOPT_KAFKA_TXN_ABORTED;
            return LLMOPT_OK;
        }
        bool retry = rd_kafka_error_is_retriable(e) && remaining_ms(deadline) > 0;
        if (!retry) {
            *status = LLMOPT_KAFKA_TXN_FATAL;
            llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka abort_transaction: %s",
                        rd_kafka_error_string(e));
        }
        rd_kafka_error_destroy(e);
        if (!retry)
            return LLMOPT_ERR_IO;
    }
}

/* After a failed transactional call: decide, and abort when that is the
 * rule. Always returns non-OK; *status and errstr say what happened. */
static llmopt_err_t txn_fail(rd_kafka_t *producer, rd_kafka_error_t *e, const char *what,
                             int64_t deadline, llmopt_kafka_txn_status_t *status, char *errstr,
                             size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_IO;
    char why[512];
    snprintf(why, sizeof(why), "%s", rd_kafka_error_string(e));
    if (rd_kafka_error_is_fatal(e)) {
        *status = LLMOPT_KAFKA_TXN_FATAL;
        llmopt_errf(r, errstr, errstr_size, "kafka %s: fatal: %s", what, why);
        goto out;
    }
    if (rd_kafka_error_code(e) == RD_KAFKA_RESP_ERR__TIMED_OUT)
        r = LLMOPT_ERR_TIMEOUT;
    /* abortable, or retriable with no time left: abort; give the abort at
     * least a few seconds even when the caller's budget is spent */
    int abort_ms = remaining_ms(deadline);
    if (abort_ms < 5000)
        abort_ms = 5000;
    char aerr[512];
    if (llmopt_kafka_txn_abort(producer, abort_ms, status, aerr, sizeof(aerr)))
        llmopt_errf(r, errstr, errstr_size, "kafka %s: %s; then %s", what, why, aerr);
    else
        llmopt_errf(r, errstr, errstr_size, "kafka %s: %s (transaction aborted)", what, why);
out:
    rd_kafka_error_destroy(e);
    return r;
}

llmopt_err_t llmopt_kafka_txn_commit(rd_kafka_t *producer, rd_kafka_t *consumer,
                                     const rd_kafka_topic_partition_list_t *offsets,
                                     int timeout_ms, llmopt_kafka_txn_status_t *status,
                                     char *errstr, size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_IO;
    int64_t deadline = now_ms() + timeout_ms;
    rd_kafka_topic_partition_list_t *pos = NULL;
    rd_kafka_consumer_group_metadata_t *cgmd = NULL;
    rd_kafka_error_t *e = NULL;
    rd_kafka_resp_err_t err;

    *status = LLMOPT_KAFKA_TXN_FATAL;
    if (consumer) {
        if (!offsets) {
            if ((err = rd_kafka_assignment(consumer, &pos)) ||
                (err = rd_kafka_position(consumer, pos))) {
                e = rd_kafka_error_new(err, "consumer position: %s", rd_kafka_err2str(err));
                r = txn_fail(producer, e, "send_offsets_to_transaction", deadline, status,
                             errstr, errstr_size);
                goto out;
            }
            offsets = pos;
        }
        cgmd = rd_kafka_consumer_group_metadata(consumer);
        if (!cgmd) {
            e = rd_kafka_error_new(RD_KAFKA_RESP_ERR__INVALID_ARG,
                                   "consumer has no group metadata (no group.id?)");
            r = txn_fail(producer, e, "send_offsets_to_transaction", deadline, status, errstr,
                         errstr_size);
            goto out;
        }
        for (;;) {
            e = rd_kafka_send_offsets_to_transaction(producer, offsets, cgmd,
                                                     remaining_ms(deadline));
            if (!e)
                break;
            if (rd_kafka_error_is_retriable(e) && remaining_ms(deadline) > 0) {
                rd_kafka_error_destroy(e);
                continue;
            }
            r = txn_fail(producer, e, "send_offsets_to_transaction", deadline, status, errstr,
                         errstr_size);
            goto out;
        }
    }
    for (;;) {
        e = rd_kafka_commit_transaction(producer, remaining_ms(deadline));
        if (!e)
            break;
        if (rd_kafka_error_is_retriable(e) && remaining_ms(deadline) > 0) {
            rd_kafka_error_destroy(e);
            continue;
        }
        r = txn_fail(producer, e, "commit_transaction", deadline, status, errstr, errstr_size);
        goto out;
    }
    *status = LLMOPT_KAFKA_TXN_COMMITTED;
    r = LLMOPT_OK;
out:
    if (cgmd)
        rd_kafka_consumer_group_metadata_destroy(cgmd);
    if (pos)
        rd_kafka_topic_partition_list_destroy(pos);
    return r;
}

/* ---- admin ------------------------------------------------------------ */

/* Runs one admin request already enqueued on `q` and returns its event. */
static rd_kafka_event_t *admin_wait(rd_kafka_queue_t *q, rd_kafka_event_type_t type,
                                    int timeout_ms) {
    int64_t deadline = now_ms() + timeout_ms + 1000;
    while (remaining_ms(deadline) > 0) {
        rd_kafka_event_t *ev = rd_kafka_queue_poll(q, remaining_ms(deadline));
        if (!ev)
            continue;
        if (rd_kafka_event_type(ev) == type)
            return ev;
        rd_kafka_event_destroy(ev);
    }
    return NULL;
}

/* Waits until `name` shows `partitions` partitions, each with a leader. */
static llmopt_err_t wait_topic_ready(rd_kafka_t *rk, const char *name, int partitions,
                                     int64_t deadline, char *errstr, size_t errstr_size) {
    rd_kafka_topic_t *rkt = rd_kafka_topic_new(rk, name, NULL);
    llmopt_err_t r = LLMOPT_ERR_TIMEOUT;
    if (!rkt)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka topic handle '%s': %s",
                           name, rd_kafka_err2str(rd_kafka_last_error()));
    do {
        const struct rd_kafka_metadata *md = NULL;
        if (!rd_kafka_metadata(rk, 0, rkt, &md, remaining_ms(deadline) > 2000 ? 2000 : 500) &&
            md) {
            bool ok = md->topic_cnt == 1 && !md->topics[0].err &&
                      md->topics[0].partition_cnt >= partitions;
            for (int i = 0; ok && i < md->topics[0].partition_cnt; i++)
                ok = md->topics[0].partitions[i].leader >= 0 && !md->topics[0].partitions[i].err;
            rd_kafka_metadata_destroy(md);
            if (ok) {
                r = LLMOPT_OK;
                break;
            }
        }
        struct timespec ts = {0, 50 * 1000000};
        nanosleep(&ts, NULL);
    } while (remaining_ms(deadline) > 0);
    rd_kafka_topic_destroy(rkt);
    if (r)
        llmopt_errf(r, errstr, errstr_size, "kafka topic '%s': no leaders within the timeout",
                    name);
    return r;
}

llmopt_err_t llmopt_kafka_topic_create(rd_kafka_t *rk, const char *name, int partitions,
                                       int replication_factor, const char *const *configs,
                                       bool if_not_exists, int timeout_ms, char *errstr,
                                       size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_IO;
    int64_t deadline = now_ms() + timeout_ms;
    char why[512];
    rd_kafka_NewTopic_t *nt = NULL;
    rd_kafka_AdminOptions_t *ao = NULL;
    rd_kafka_queue_t *q = NULL;
    rd_kafka_event_t *ev = NULL;

    if (partitions < 1) {
        r = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "kafka topic '%s': partitions must be at least 1, not %d", name,
                        partitions);
        goto out;
    }
    nt = rd_kafka_NewTopic_new(name, partitions, replication_factor > 0 ? replication_factor : -1,
                               why, sizeof(why));
    if (!nt) {
        r = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "kafka topic '%s': %s", name,
                        why);
        goto out;
    }
    for (const char *const *c = configs; c && c[0]; c += 2) {
        if (!c[1] || rd_kafka_NewTopic_set_config(nt, c[0], c[1])) {
            r = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "kafka topic '%s': bad config '%s'", name, c[0]);
            goto out;
        }
    }
    ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_CREATETOPICS);
    if (rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, why, sizeof(why)) ||
        rd_kafka_AdminOptions_set_operation_timeout(ao, timeout_ms, why, sizeof(why))) {
        r = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "kafka admin options: %s", why);
        goto out;
    }
    q = rd_kafka_queue_new(rk);
    rd_kafka_CreateTopics(rk, &nt, 1, ao, q);
    ev = admin_wait(q, RD_KAFKA_EVENT_CREATETOPICS_RESULT, timeout_ms);
    if (!ev) {
        r = llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                        "kafka create topic '%s': no answer within %d ms", name, timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        r = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka create topic '%s': %s", name,
                        rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_CreateTopics_result_topics(rd_kafka_event_CreateTopics_result(ev), &n);
    rd_kafka_resp_err_t terr = n == 1 ? rd_kafka_topic_result_error(res[0])
                                      : RD_KAFKA_RESP_ERR__BAD_MSG;
    if (terr == RD_KAFKA_RESP_ERR_TOPIC_ALREADY_EXISTS) {
        if (!if_not_exists) {
            r = llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                            "kafka topic '%s' already exists", name);
            goto out;
        }
        partitions = 1; /* its own count: wait for at least one leader */
    } else if (terr) {
        const char *s = n == 1 ? rd_kafka_topic_result_error_string(res[0]) : NULL;
        r = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka create topic '%s': %s", name,
                        s ? s : rd_kafka_err2str(terr));
        goto out;
    }
    r = wait_topic_ready(rk, name, partitions, deadline, errstr, errstr_size);
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    if (q)
        rd_kafka_queue_destroy(q);
    if (ao)
        rd_kafka_AdminOptions_destroy(ao);
    if (nt)
        rd_kafka_NewTopic_destroy(nt);
    return r;
}

llmopt_err_t llmopt_kafka_topic_delete(rd_kafka_t *rk, const char *name, int timeout_ms,
                                       char *errstr, size_t errstr_size) {
    llmopt_err_t r = LLMOPT_ERR_IO;
    char why[512];
    rd_kafka_DeleteTopic_t *dt = rd_kafka_DeleteTopic_new(name);
    rd_kafka_AdminOptions_t *ao = rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DELETETOPICS);
    rd_kafka_queue_t *q = rd_kafka_queue_new(rk);
    rd_kafka_event_t *ev = NULL;

    if (rd_kafka_AdminOptions_set_request_timeout(ao, timeout_ms, why, sizeof(why))) {
        r = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "kafka admin options: %s", why);
        goto out;
    }
    rd_kafka_DeleteTopics(rk, &dt, 1, ao, q);
    ev = admin_wait(q, RD_KAFKA_EVENT_DELETETOPICS_RESULT, timeout_ms);
    if (!ev) {
        r = llmopt_errf(LLMOPT_ERR_TIMEOUT, errstr, errstr_size,
                        "kafka delete topic '%s': no answer within %d ms", name, timeout_ms);
        goto out;
    }
    if (rd_kafka_event_error(ev)) {
        r = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka delete topic '%s': %s", name,
                        rd_kafka_event_error_string(ev));
        goto out;
    }
    size_t n = 0;
    const rd_kafka_topic_result_t **res =
        rd_kafka_DeleteTopics_result_topics(rd_kafka_event_DeleteTopics_result(ev), &n);
    rd_kafka_resp_err_t terr = n == 1 ? rd_kafka_topic_result_error(res[0])
                                      : RD_KAFKA_RESP_ERR__BAD_MSG;
    if (terr && terr != RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART) {
        r = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "kafka delete topic '%s': %s", name,
                        rd_kafka_err2str(terr));
        goto out;
    }
    r = LLMOPT_OK;
out:
    if (ev)
        rd_kafka_event_destroy(ev);
    rd_kafka_queue_destroy(q);
    rd_kafka_AdminOptions_destroy(ao);
    rd_kafka_DeleteTopic_destroy(dt);
    return r;
}
