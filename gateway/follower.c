/*
 * follower.c - the thread that follows the compacted llm.routing topic:
 * assign every partition from the beginning (no group membership, no
 * commits), apply each message through llmopt_gw_apply_decision, and set
 * `ready` once every partition reached the end offset it had at start.
 *
 * Partitions added to the topic after start are not followed (restart the
 * gateway); the topic missing at start is retried every second.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gateway/gw_internal.h"

bool gw_user_set(const llmopt_gw *gw, const char *key) {
    for (size_t i = 0; gw->kafka_props && gw->kafka_props[i]; i += 2)
        if (strcmp(gw->kafka_props[i], key) == 0)
            return true;
    return false;
}

llmopt_err_t gw_kafka_conf(llmopt_gw *gw, rd_kafka_conf_t *conf, char *errstr,
                           size_t errstr_size) {
    char e[256];
    if (rd_kafka_conf_set(conf, "bootstrap.servers", gw->cfg.bootstrap_servers, e, sizeof(e)) !=
        RD_KAFKA_CONF_OK)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bootstrap.servers: %s", e);
    for (size_t i = 0; gw->kafka_props && gw->kafka_props[i]; i += 2)
        if (rd_kafka_conf_set(conf, gw->kafka_props[i], gw->kafka_props[i + 1], e, sizeof(e)) !=
            RD_KAFKA_CONF_OK)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "kafka property '%s': %s",
                               gw->kafka_props[i], e);
    return LLMOPT_OK;
}

static llmopt_err_t set_default(llmopt_gw *gw, rd_kafka_conf_t *conf, const char *k,
                                const char *v, char *errstr, size_t errstr_size) {
    char e[256];
    if (gw_user_set(gw, k))
        return LLMOPT_OK;
    if (rd_kafka_conf_set(conf, k, v, e, sizeof(e)) != RD_KAFKA_CONF_OK)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "'%s': %s", k, e);
    return LLMOPT_OK;
}

static void sleep_ms(int ms) { usleep((useconds_t)ms * 1000); }

/* Partitions and their end offsets at start; retried until stop. */
static rd_kafka_topic_partition_list_t *discover(llmopt_gw *gw, int64_t **ends) {
    while (!atomic_load(&gw->stop)) {
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_topic_t *t = rd_kafka_topic_new(gw->consumer, gw->cfg.routing_topic, NULL);
        rd_kafka_resp_err_t err =
            t ? rd_kafka_metadata(gw->consumer, 0, t, &md, 5000) : RD_KAFKA_RESP_ERR__FAIL;
        if (t)
            rd_kafka_topic_destroy(t);
        if (err == RD_KAFKA_RESP_ERR_NO_ERROR && md->topic_cnt == 1 && md->topics[0].err == 0 &&
            md->topics[0].partition_cnt > 0) {
            int n = md->topics[0].partition_cnt;
            rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(n);
            int64_t *e = calloc((size_t)n, sizeof(*e));
            bool ok = e != NULL;
            for (int i = 0; ok && i < n; i++) {
                int32_t p = md->topics[0].partitions[i].id;
                int64_t lo, hi;
                if (rd_kafka_query_watermark_offsets(gw->consumer, gw->cfg.routing_topic, p, &lo,
                                                     &hi, 5000) != RD_KAFKA_RESP_ERR_NO_ERROR) {
                    ok = false;
                    break;
                }
                rd_kafka_topic_partition_list_add(l, gw->cfg.routing_topic, p)->offset =
                    RD_KAFKA_OFFSET_BEGINNING;
                /* an empty partition (hi == lo) is caught up already */
                e[l->cnt - 1] = hi > lo ? hi : -1;
            }
            rd_kafka_metadata_destroy(md);
            if (ok) {
                *ends = e;
                return l;
            }
            free(e);
            rd_kafka_topic_partition_list_destroy(l);
        } else if (md) {
            rd_kafka_metadata_destroy(md);
        }
        for (int i = 0; i < 10 && !atomic_load(&gw->stop); i++)
            sleep_ms(100);
    }
    return NULL;
}

static void *follower_main(void *arg) {
    llmopt_gw *gw = arg;
    int64_t *ends = NULL;
    rd_kafka_topic_partition_list_t *parts = discover(gw, &ends);
    if (!parts)
        return NULL;
    if (rd_kafka_assign(gw->consumer, parts) != RD_KAFKA_RESP_ERR_NO_ERROR) {
        fprintf(stderr, "llmopt-gateway: cannot assign '%s'\n", gw->cfg.routing_topic);
        goto out;
    }
    while (!atomic_load(&gw->stop)) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(gw->consumer, 100);
        if (!m)
            continue;
        int idx = -1;
        for (int i = 0; i < parts->cnt; i++)
            if (m->rkt && parts->elems[i].partition == m->partition)
                idx = i;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            if (idx >= 0 && m->offset >= ends[idx])
                ends[idx] = -1;
        } else if (m->err == RD_KAFKA_RESP_ERR_NO_ERROR) {
            char es[256];
            es[0] = '\0';
            llmopt_gw_apply_decision(gw, m->key, m->key ? m->key_len : 0, m->payload,
                                     m->payload ? m->len : 0, NULL, NULL, es, sizeof(es));
            if (idx >= 0 && m->offset + 1 >= ends[idx])
                ends[idx] = -1;
        }
        rd_kafka_message_destroy(m);
        if (!atomic_load(&gw->ready)) {
            bool all = true;
            for (int i = 0; i < parts->cnt; i++)
                if (ends[i] >= 0)
                    all = false;
            if (all)
                atomic_store(&gw->ready, true);
        }
    }
out:
    free(ends);
    rd_kafka_topic_partition_list_destroy(parts);
    return NULL;
}

llmopt_err_t gw_follower_start(llmopt_gw *gw, char *errstr, size_t errstr_size) {
    char group[256], e[512];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    snprintf(group, sizeof(group), "llmopt-gw-follower-%s-%d", gw->cfg.gateway_id, (int)getpid());
    llmopt_err_t err = gw_kafka_conf(gw, conf, errstr, errstr_size);
    /* group.id only because assign() needs a consumer-group handle; the
     * follower never joins (no subscribe) and never commits */
    if (!err)
        err = set_default(gw, conf, "group.id", group, errstr, errstr_size);
    if (!err)
        err = set_default(gw, conf, "enable.auto.commit", "false", errstr, errstr_size);
    if (!err)
        err = set_default(gw, conf, "enable.partition.eof", "true", errstr, errstr_size);
    if (!err)
        err = set_default(gw, conf, "fetch.wait.max.ms", "100", errstr, errstr_size);
    if (!err)
        err = set_default(gw, conf, "queued.min.messages", "1000000", errstr, errstr_size);
    if (err) {
        rd_kafka_conf_destroy(conf);
        return err;
    }
    gw->consumer = rd_kafka_new(RD_KAFKA_CONSUMER, conf, e, sizeof(e));
    if (!gw->consumer) {
        rd_kafka_conf_destroy(conf);
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "routing consumer: %s", e);
    }
    rd_kafka_poll_set_consumer(gw->consumer);
    atomic_store(&gw->stop, false);
    if (pthread_create(&gw->follower, NULL, follower_main, gw) != 0)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot start the follower");
    gw->follower_started = true;
    return LLMOPT_OK;
}

void gw_follower_stop(llmopt_gw *gw) {
    atomic_store(&gw->stop, true);
    if (gw->follower_started) {
        pthread_join(gw->follower, NULL);
        gw->follower_started = false;
    }
    if (gw->consumer) {
        rd_kafka_consumer_close(gw->consumer);
        rd_kafka_destroy(gw->consumer);
        gw->consumer = NULL;
    }
}
