/*
 * report.c - telemetry producer: Request/Response/Feedback records encoded
 * (Avro in the Confluent frame, or JSON) and enqueued keyed by route with
 * rd_kafka_produce() without RD_KAFKA_MSG_F_BLOCK, so a full queue
 * (queue.buffering.max.messages) drops and counts instead of waiting. A
 * poller thread serves the delivery reports.
 */
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "common/json_codec.h"
#include "gateway/gw_internal.h"

static void dr_cb(rd_kafka_t *rk, const rd_kafka_message_t *m, void *opaque) {
    (void)rk;
    llmopt_kafka_dr_count(opaque, m);
}

static void *poller_main(void *arg) {
    llmopt_gw *gw = arg;
    while (!atomic_load(&gw->stop))
        rd_kafka_poll(gw->producer, 100);
    return NULL;
}

static rd_kafka_topic_t *topic(llmopt_gw *gw, const char *name) {
    rd_kafka_topic_conf_t *tc = rd_kafka_topic_conf_new();
    char e[256];
    /* murmur2 like the Java client, so every producer of a route's events
     * agrees on its partition */
    if (!gw_user_set(gw, "partitioner"))
        rd_kafka_topic_conf_set(tc, "partitioner", "murmur2_random", e, sizeof(e));
    return rd_kafka_topic_new(gw->producer, name, tc);
}

llmopt_err_t gw_report_start(llmopt_gw *gw, char *errstr, size_t errstr_size) {
    char e[512], qmax[32];
    llmopt_kafka_dr_stats_init(&gw->dr);
    const llmopt_schema_source *src =
        gw->cfg.schema_source ? gw->cfg.schema_source : llmopt_avro_builtin_source();
    if (gw->cfg.report_format != LLMOPT_GW_FORMAT_JSON) {
        llmopt_record_type ts[3] = {LLMOPT_REC_REQUEST, LLMOPT_REC_RESPONSE, LLMOPT_REC_FEEDBACK};
        for (int i = 0; i < 3; i++) {
            if (!src->id_for)
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "schema source cannot name schema ids");
            llmopt_err_t err = src->id_for(src->ctx, ts[i], &gw->schema_id[ts[i]], errstr,
                                           errstr_size);
            if (err)
                return err;
        }
    }
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    llmopt_err_t err = gw_kafka_conf(gw, conf, errstr, errstr_size);
    snprintf(qmax, sizeof(qmax), "%d", gw->cfg.report_queue_max);
    const char *defs[][2] = {{"queue.buffering.max.messages", qmax}, {"linger.ms", "5"}};
    for (size_t i = 0; !err && i < 2; i++)
        if (!gw_user_set(gw, defs[i][0]) &&
            rd_kafka_conf_set(conf, defs[i][0], defs[i][1], e, sizeof(e)) != RD_KAFKA_CONF_OK)
            err = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "'%s': %s", defs[i][0], e);
    if (err) {
        rd_kafka_conf_destroy(conf);
        return err;
    }
    rd_kafka_conf_set_dr_msg_cb(conf, dr_cb);
    rd_kafka_conf_set_opaque(conf, &gw->dr);
    gw->producer = rd_kafka_new(RD_KAFKA_PRODUCER, conf, e, sizeof(e));
    if (!gw->producer) {
        rd_kafka_conf_destroy(conf);
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "telemetry producer: %s", e);
    }
    gw->t_requests = topic(gw, gw->cfg.requests_topic);
    gw->t_responses = topic(gw, gw->cfg.responses_topic);
    gw->t_feedback = topic(gw, gw->cfg.feedback_topic);
    if (!gw->t_requests || !gw->t_responses || !gw->t_feedback)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot create topic handles");
    if (pthread_create(&gw->poller, NULL, poller_main, gw) != 0)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot start the poller");
    gw->poller_started = true;
    return LLMOPT_OK;
}

void gw_report_stop(llmopt_gw *gw) {
    atomic_store(&gw->stop, true);
    if (gw->poller_started) {
        pthread_join(gw->poller, NULL);
        gw->poller_started = false;
    }
    if (!gw->producer)
        return;
    rd_kafka_flush(gw->producer, 5000);
    int left = rd_kafka_outq_len(gw->producer);
    if (left > 0)
        atomic_fetch_add(&gw->st.dropped, (uint64_t)left);
    if (gw->t_requests)
        rd_kafka_topic_destroy(gw->t_requests);
    if (gw->t_responses)
        rd_kafka_topic_destroy(gw->t_responses);
    if (gw->t_feedback)
        rd_kafka_topic_destroy(gw->t_feedback);
    rd_kafka_destroy(gw->producer);
    gw->producer = NULL;
}

static llmopt_err_t report(llmopt_gw *gw, rd_kafka_topic_t *t, llmopt_record_type type,
                           const void *rec, const llmopt_str *route, char *errstr,
                           size_t errstr_size) {
    if (!gw || !rec)
        return LLMOPT_ERR_INVALID;
    if (!gw->producer)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "reporting is off");
    if (!route->ptr)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "record has no route");
    llmopt_err_t err;
    const void *payload;
    size_t len;
    llmopt_wbuf w;
    llmopt_json_buf j;
    llmopt_wbuf_init(&w);
    llmopt_json_buf_init(&j);
    if (gw->cfg.report_format == LLMOPT_GW_FORMAT_JSON) {
        err = llmopt_json_encode(type, rec, &j, errstr, errstr_size);
        payload = j.data;
        len = j.len;
    } else {
        uint8_t hdr[LLMOPT_AVRO_HEADER_SIZE];
        llmopt_avro_header_write(hdr, gw->schema_id[type]);
        llmopt_wbuf_bytes(&w, hdr, sizeof(hdr));
        err = llmopt_avro_encode_body(type, rec, &w, errstr, errstr_size);
        if (!err && w.err)
            err = LLMOPT_ERR_NOMEM;
        payload = w.data;
        len = w.len;
    }
    if (err)
        goto out;
    if (rd_kafka_produce(t, RD_KAFKA_PARTITION_UA, RD_KAFKA_MSG_F_COPY, (void *)payload, len,
                         route->ptr, route->len, NULL) != 0) {
        rd_kafka_resp_err_t ke = rd_kafka_last_error();
        if (ke == RD_KAFKA_RESP_ERR__QUEUE_FULL) {
            atomic_fetch_add_explicit(&gw->st.dropped, 1, memory_order_relaxed);
            err = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "telemetry queue full");
        } else {
            err = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "produce: %s",
                              rd_kafka_err2str(ke));
        }
        goto out;
    }
    atomic_fetch_add_explicit(&gw->st.enqueued, 1, memory_order_relaxed);
out:
    llmopt_wbuf_release(&w);
    llmopt_json_buf_release(&j);
    return err;
}

llmopt_err_t llmopt_gw_report_request(llmopt_gw *gw, const llmopt_request *r, char *errstr,
                                      size_t errstr_size) {
    return report(gw, gw ? gw->t_requests : NULL, LLMOPT_REC_REQUEST, r, r ? &r->route : NULL,
                  errstr, errstr_size);
}

llmopt_err_t llmopt_gw_report_response(llmopt_gw *gw, const llmopt_response *r, char *errstr,
                                       size_t errstr_size) {
    return report(gw, gw ? gw->t_responses : NULL, LLMOPT_REC_RESPONSE, r, r ? &r->route : NULL,
                  errstr, errstr_size);
}

llmopt_err_t llmopt_gw_report_feedback(llmopt_gw *gw, const llmopt_feedback *r, char *errstr,
                                       size_t errstr_size) {
    return report(gw, gw ? gw->t_feedback : NULL, LLMOPT_REC_FEEDBACK, r, r ? &r->route : NULL,
                  errstr, errstr_size);
}

llmopt_err_t llmopt_gw_flush(llmopt_gw *gw, int timeout_ms) {
    if (!gw->producer)
        return LLMOPT_OK;
    return rd_kafka_flush(gw->producer, timeout_ms) == RD_KAFKA_RESP_ERR_NO_ERROR
               ? LLMOPT_OK
               : LLMOPT_ERR_TIMEOUT;
}

void llmopt_gw_request_fill(const llmopt_gw *gw, const char *route,
                            const llmopt_gw_choice *c, llmopt_request *r) {
    r->route = llmopt_str_of(route);
    r->gateway = llmopt_str_of(gw->cfg.gateway_id);
    r->arm = llmopt_str_of(c->arm_id);
    r->provider = llmopt_str_of(c->provider);
    r->model = llmopt_str_of(c->model);
    r->decision_version = c->decision_version;
    r->propensity = c->propensity;
    r->experiment_id = c->experiment_id[0] ? llmopt_str_of(c->experiment_id) : llmopt_str_of(NULL);
}
