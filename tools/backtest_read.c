/*
 * backtest_read.c - one topic over a time range (see backtest_read.h).
 */
#include "tools/backtest_read.h"

#include <stdio.h>
#include <stdlib.h>

#include <librdkafka/rdkafka.h>

#include "common/kafka.h"
#include "common/signals.h"

int llmopt_bt_read_topic(const llmopt_config *cfg, const llmopt_bt_read_opts *o,
                         llmopt_bt_msg_cb *cb, void *ctx) {
    int rc = 1;
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_topic_partition_list_t *parts = NULL, *ends = NULL;
    const rd_kafka_metadata_t *md = NULL;
    const char *topic = o->topic;
    const int64_t from_ms = o->from_ms, to_ms = o->to_ms;
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(cfg, err, sizeof(err));
    if (!kc) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto out;
    }
    llmopt_kafka_user_keys_t uk = llmopt_kafka_user_keys_from_config(cfg);
    /* EOF events end partitions whose last offset is a transaction marker
     * (the processor writes transactionally); queued.min.messages avoids
     * librdkafka 2.0.2's 1 s fetch back-off (shared/NOTES.md) */
    if (llmopt_kafka_conf_default(kc, &uk, "enable.partition.eof", "true", err, sizeof(err)) ||
        llmopt_kafka_conf_default(kc, &uk, "queued.min.messages", "1000000", err, sizeof(err)) ||
        llmopt_kafka_conf_default(kc, &uk, "fetch.wait.max.ms", "100", err, sizeof(err))) {
        rd_kafka_conf_destroy(kc);
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto out;
    }
    /* assign() without subscribe: a group id is needed by librdkafka but nothing
     * is committed (app_commits and no commit calls) */
    llmopt_kafka_consumer_opts_t co = {.group_id = "llmopt-backtest", .app_commits = true,
                                       .read_committed = true,
                                       .user = uk};
    if (llmopt_kafka_consumer_new(&rk, kc, &co, err, sizeof(err)) != LLMOPT_OK) {
        fprintf(stderr, "llmopt backtest: %s\n", err);
        goto out;
    }
    const int tmo = (int)(o->timeout_ms < 10000 ? o->timeout_ms : 10000);
    rd_kafka_topic_t *t = rd_kafka_topic_new(rk, topic, NULL);
    rd_kafka_resp_err_t e = rd_kafka_metadata(rk, 0, t, &md, tmo);
    rd_kafka_topic_destroy(t);
    if (e || md->topic_cnt != 1 || md->topics[0].err) {
        fprintf(stderr, "llmopt backtest: cannot read topic '%s': %s\n", topic,
                rd_kafka_err2str(e ? e : md ? md->topics[0].err : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
        goto out;
    }
    const int np = md->topics[0].partition_cnt;
    if (o->partitions)
        *o->partitions = (uint64_t)np;
    parts = rd_kafka_topic_partition_list_new(np);
    ends = rd_kafka_topic_partition_list_new(np);
    rd_kafka_topic_partition_list_t *q_from = rd_kafka_topic_partition_list_new(np);
    rd_kafka_topic_partition_list_t *q_to = rd_kafka_topic_partition_list_new(np);
    for (int i = 0; i < np; i++) {
        int32_t pid = md->topics[0].partitions[i].id;
        rd_kafka_topic_partition_list_add(q_from, topic, pid)->offset =
            from_ms == INT64_MIN ? 0 : (from_ms - o->slack_ms > 0 ? from_ms - o->slack_ms : 0);
        rd_kafka_topic_partition_list_add(q_to, topic, pid)->offset =
            to_ms == INT64_MAX ? INT64_MAX / 2 : to_ms + o->slack_ms;
    }
    rd_kafka_resp_err_t e1 = rd_kafka_offsets_for_times(rk, q_from, tmo);
    rd_kafka_resp_err_t e2 = rd_kafka_offsets_for_times(rk, q_to, tmo);
    if (e1 || e2) {
        fprintf(stderr, "llmopt backtest: offsets for times on '%s': %s\n", topic,
                rd_kafka_err2str(e1 ? e1 : e2));
        rd_kafka_topic_partition_list_destroy(q_from);
        rd_kafka_topic_partition_list_destroy(q_to);
        goto out;
    }
    int64_t pending = 0;
    for (int i = 0; i < np; i++) {
        int32_t pid = q_from->elems[i].partition;
        int64_t lo = 0, hi = 0;
        e = rd_kafka_query_watermark_offsets(rk, topic, pid, &lo, &hi, tmo);
        if (e) {
            fprintf(stderr, "llmopt backtest: watermarks of '%s' [%d]: %s\n", topic, pid,
                    rd_kafka_err2str(e));
            rd_kafka_topic_partition_list_destroy(q_from);
            rd_kafka_topic_partition_list_destroy(q_to);
            goto out;
        }
        /* -1 (no record at or after the time): the range starts past the end */
        int64_t start = q_from->elems[i].offset >= 0 ? q_from->elems[i].offset : hi;
        int64_t end = q_to->elems[i].offset >= 0 && q_to->elems[i].offset < hi ? q_to->elems[i].offset : hi;
        if (start < lo)
            start = lo;
        rd_kafka_topic_partition_list_add(parts, topic, pid)->offset = start;
        /* -1: nothing to read there (its EOF event must not count) */
        rd_kafka_topic_partition_list_add(ends, topic, pid)->offset = start < end ? end : -1;
        if (start < end)
            pending++;
    }
    rd_kafka_topic_partition_list_destroy(q_from);
    rd_kafka_topic_partition_list_destroy(q_to);
    if (pending && rd_kafka_assign(rk, parts)) {
        fprintf(stderr, "llmopt backtest: cannot assign the partitions of '%s'\n", topic);
        goto out;
    }
    int64_t idle_ms = 0;
    while (pending > 0) {
        if (llmopt_signals_stop_requested()) {
            fprintf(stderr, "llmopt backtest: interrupted\n");
            goto out;
        }
        rd_kafka_message_t *m = rd_kafka_consumer_poll(rk, 100);
        if (!m) {
            idle_ms += 100;
            if (idle_ms >= o->timeout_ms) {
                fprintf(stderr, "llmopt backtest: no progress reading '%s' for %lld ms (%lld "
                                "partitions unfinished)\n", topic, (long long)o->timeout_ms,
                        (long long)pending);
                goto out;
            }
            continue;
        }
        idle_ms = 0;
        rd_kafka_topic_partition_t *endp = rd_kafka_topic_partition_list_find(ends, topic, m->partition);
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (endp && endp->offset >= 0) {
                endp->offset = -1; /* done: EOF before the end offset (control records) */
                pending--;
            }
            rd_kafka_message_destroy(m);
            continue;
        }
        if (m->err) {
            fprintf(stderr, "llmopt backtest: %s\n", rd_kafka_message_errstr(m));
            rd_kafka_message_destroy(m);
            continue;
        }
        if (!endp || endp->offset < 0 || m->offset >= endp->offset) {
            rd_kafka_message_destroy(m);
            continue;
        }
        llmopt_bt_msg bm = {.partition = m->partition, .offset = m->offset,
                            .ts_ms = rd_kafka_message_timestamp(m, NULL), .payload = m->payload,
                            .len = m->len};
        if (cb(ctx, &bm)) {
            rd_kafka_message_destroy(m);
            goto out;
        }
        if (m->offset + 1 >= endp->offset) {
            endp->offset = -1;
            pending--;
        }
        rd_kafka_message_destroy(m);
    }
    rc = 0;
out:
    if (md)
        rd_kafka_metadata_destroy(md);
    if (parts)
        rd_kafka_topic_partition_list_destroy(parts);
    if (ends)
        rd_kafka_topic_partition_list_destroy(ends);
    if (rk) {
        rd_kafka_consumer_close(rk);
        rd_kafka_destroy(rk);
    }
    return rc;
}
