/*
 * gateway_follow.c - libllmopt-gateway against the real broker: a decision
 * produced to llm.routing (Avro) before the gateway starts is followed and
 * used by choose() once ready; a newer one (JSON) produced while it runs
 * replaces it; Request/Response/Feedback telemetry reported for the route
 * arrives on llm.requests/responses/feedback, keyed by the route. The
 * route name is unique per run; a tombstone removes it at the end.
 */
#include <CUnit/Basic.h>
#include <librdkafka/rdkafka.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "tests/unit/test_gw_helpers.h"

static const char *bootstrap(void) {
    const char *b = getenv("LLMOPT_BOOTSTRAP");
    return b && *b ? b : "127.0.0.1:19092";
}

static char route[64];

static void produce(const void *value, size_t len) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap(), err, sizeof(err));
    rd_kafka_t *p = rd_kafka_new(RD_KAFKA_PRODUCER, conf, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(rd_kafka_producev(p, RD_KAFKA_V_TOPIC("llm.routing"),
                                      RD_KAFKA_V_KEY(route, strlen(route)),
                                      RD_KAFKA_V_VALUE((void *)value, len),
                                      RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END),
                    RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(rd_kafka_flush(p, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_destroy(p);
}

static void produce_decision(int64_t version, bool json, const char *arm) {
    test_decision t;
    td_init(&t, route, version, 2);
    t.arms[0].weight = 0.0;
    t.arms[1].weight = 1.0;
    t.arms[1].arm_id = llmopt_str_of(arm);
    t.d.ts_ms = (int64_t)time(NULL) * 1000;
    char err[256];
    if (json) {
        llmopt_json_buf b;
        llmopt_json_buf_init(&b);
        CU_ASSERT_EQUAL_FATAL(
            llmopt_json_encode(LLMOPT_REC_ROUTING_DECISION, &t.d, &b, err, sizeof(err)),
            LLMOPT_OK);
        produce(b.data, b.len);
        llmopt_json_buf_release(&b);
    } else {
        llmopt_avro_codec *c = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err,
                                                     sizeof(err));
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        CU_ASSERT_EQUAL_FATAL(
            llmopt_avro_encode(c, LLMOPT_REC_ROUTING_DECISION, &t.d, &w, err, sizeof(err)),
            LLMOPT_OK);
        produce(w.data, w.len);
        llmopt_wbuf_release(&w);
        llmopt_avro_codec_destroy(c);
    }
}

/* Counts messages keyed by route on topic from the given offsets on; the
 * value must decode as `type` with request_id == want_id. */
static int find_keyed(const char *topic, llmopt_record_type type, const char *want_id) {
    char err[256];
    rd_kafka_conf_t *conf = rd_kafka_conf_new();
    rd_kafka_conf_set(conf, "bootstrap.servers", bootstrap(), err, sizeof(err));
    rd_kafka_conf_set(conf, "group.id", "gateway-it-reader", err, sizeof(err));
    rd_kafka_conf_set(conf, "enable.auto.commit", "false", err, sizeof(err));
    rd_kafka_conf_set(conf, "fetch.wait.max.ms", "100", err, sizeof(err));
    rd_kafka_t *c = rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    const struct rd_kafka_metadata *md;
    rd_kafka_topic_t *t = rd_kafka_topic_new(c, topic, NULL);
    CU_ASSERT_EQUAL_FATAL(rd_kafka_metadata(c, 0, t, &md, 5000), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(8);
    for (int i = 0; i < md->topics[0].partition_cnt; i++) {
        int64_t lo, hi;
        rd_kafka_query_watermark_offsets(c, topic, md->topics[0].partitions[i].id, &lo, &hi,
                                         5000);
        /* the recent tail is enough: the events were just produced */
        rd_kafka_topic_partition_list_add(l, topic, md->topics[0].partitions[i].id)->offset =
            hi - 2000 > lo ? hi - 2000 : lo;
    }
    rd_kafka_metadata_destroy(md);
    rd_kafka_topic_destroy(t);
    rd_kafka_assign(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    int found = 0;
    time_t end = time(NULL) + 15;
    llmopt_avro_codec *codec = llmopt_avro_codec_new(llmopt_avro_builtin_source(), err,
                                                     sizeof(err));
    llmopt_request rq;
    llmopt_response rs;
    llmopt_feedback fb;
    llmopt_request_init(&rq);
    llmopt_response_init(&rs);
    llmopt_feedback_init(&fb);
    void *rec = type == LLMOPT_REC_REQUEST ? (void *)&rq
                : type == LLMOPT_REC_RESPONSE ? (void *)&rs : (void *)&fb;
    const llmopt_str *rid = type == LLMOPT_REC_REQUEST ? &rq.request_id
                            : type == LLMOPT_REC_RESPONSE ? &rs.request_id : &fb.request_id;
    while (!found && time(NULL) < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err && m->key_len == strlen(route) && memcmp(m->key, route, m->key_len) == 0 &&
            llmopt_avro_decode(codec, m->payload, m->len, type, rec, NULL, err, sizeof(err)) ==
                LLMOPT_OK &&
            rid->ptr && strcmp(rid->ptr, want_id) == 0)
            found = 1;
        rd_kafka_message_destroy(m);
    }
    llmopt_request_release(&rq);
    llmopt_response_release(&rs);
    llmopt_feedback_release(&fb);
    llmopt_avro_codec_destroy(codec);
    rd_kafka_consumer_close(c);
    rd_kafka_destroy(c);
    return found;
}

static void test_follow_choose_report(void) {
    snprintf(route, sizeof(route), "gwit-%d-%lld", (int)getpid(), (long long)time(NULL));
    produce_decision(1, false, "first");

    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.bootstrap_servers = bootstrap();
    cfg.gateway_id = "gateway-it";
    char err[512];
    llmopt_gw *gw = llmopt_gw_new(&cfg, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    CU_ASSERT_EQUAL_FATAL(llmopt_gw_wait_ready(gw, 60000), LLMOPT_OK);
    /* ready = caught up to the end offsets at start, which include v1 */
    llmopt_gw_choice ch;
    llmopt_gw_choose_args a = {.now_ms = (int64_t)time(NULL) * 1000, .u = 0.5};
    llmopt_gw_choose(gw, route, &a, &ch);
    CU_ASSERT_EQUAL(ch.decision_version, 1);
    CU_ASSERT_STRING_EQUAL(ch.arm_id, "first");
    CU_ASSERT_EQUAL(ch.propensity, 1.0);

    produce_decision(2, true, "second");
    for (int i = 0; i < 200 && llmopt_gw_route_version(gw, route) != 2; i++)
        usleep(50000);
    llmopt_gw_choose(gw, route, &a, &ch);
    CU_ASSERT_EQUAL(ch.decision_version, 2);
    CU_ASSERT_STRING_EQUAL(ch.arm_id, "second");

    char rid[96];
    snprintf(rid, sizeof(rid), "%s-req1", route);
    llmopt_request rq;
    llmopt_request_init(&rq);
    llmopt_gw_request_fill(gw, route, &ch, &rq);
    rq.request_id = llmopt_str_of(rid);
    rq.ts_ms = a.now_ms;
    rq.task_type = llmopt_str_of("chat");
    CU_ASSERT_EQUAL(llmopt_gw_report_request(gw, &rq, err, sizeof(err)), LLMOPT_OK);
    llmopt_response rs;
    llmopt_response_init(&rs);
    rs.request_id = rq.request_id;
    rs.ts_ms = a.now_ms + 300;
    rs.route = rq.route;
    rs.arm = rq.arm;
    rs.latency_ms = 300;
    CU_ASSERT_EQUAL(llmopt_gw_report_response(gw, &rs, err, sizeof(err)), LLMOPT_OK);
    llmopt_feedback fb;
    llmopt_feedback_init(&fb);
    fb.request_id = rq.request_id;
    fb.ts_ms = a.now_ms + 5000;
    fb.route = rq.route;
    fb.has_rating = true;
    fb.rating = 0.9;
    CU_ASSERT_EQUAL(llmopt_gw_report_feedback(gw, &fb, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_gw_flush(gw, 10000), LLMOPT_OK);
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    CU_ASSERT_EQUAL(st.report_enqueued, 3);
    CU_ASSERT_EQUAL(st.report_delivered, 3);
    CU_ASSERT_EQUAL(st.report_dropped, 0);
    CU_ASSERT_TRUE(st.decisions_applied >= 2);
    llmopt_gw_destroy(gw);

    CU_ASSERT_TRUE(find_keyed("llm.requests", LLMOPT_REC_REQUEST, rid));
    CU_ASSERT_TRUE(find_keyed("llm.responses", LLMOPT_REC_RESPONSE, rid));
    CU_ASSERT_TRUE(find_keyed("llm.feedback", LLMOPT_REC_FEEDBACK, rid));
    produce(NULL, 0); /* tombstone: compaction forgets the test route */
}

/* A queue of one message: the second report cannot wait and is dropped. */
static void test_report_never_blocks(void) {
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.bootstrap_servers = bootstrap();
    cfg.follow = false;
    cfg.report_queue_max = 1;
    const char *props[] = {"linger.ms", "1000", NULL};
    cfg.kafka_props = props;
    llmopt_gw *gw = llmopt_gw_new(&cfg, NULL, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(gw);
    llmopt_feedback fb;
    llmopt_feedback_init(&fb);
    fb.request_id = llmopt_str_of("drop-test");
    fb.route = llmopt_str_of(route);
    int dropped = 0;
    for (int i = 0; i < 10; i++)
        if (llmopt_gw_report_feedback(gw, &fb, NULL, 0) == LLMOPT_ERR_NOMEM)
            dropped++;
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    CU_ASSERT_TRUE(dropped >= 8);
    CU_ASSERT_EQUAL(st.report_dropped, (uint64_t)dropped);
    llmopt_gw_destroy(gw);
}

int main(void) {
    static const CU_TestInfo tests[] = {
        {"follow_choose_report", test_follow_choose_report},
        {"report_never_blocks", test_report_never_blocks},
        CU_TEST_INFO_NULL,
    };
    return run_suite("gateway_follow", tests);
}
