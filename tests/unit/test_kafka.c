/* test_kafka.c - CUnit suite for common/kafka against librdkafka's in-process
 * mock cluster (no network beyond 127.0.0.1): defaults vs user-set keys,
 * delivery-report counting, the transaction helper's committed / aborted /
 * fatal outcomes, consumer lag, and ownership on failure (valgrind). */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <string.h>

#include "common/config.h"
#include "common/kafka.h"

#include <librdkafka/rdkafka_mock.h> /* after rdkafka.h */

/* Kafka protocol ApiKeys (the RD_KAFKAP_* names are not in the public
 * headers of librdkafka 2.0.2) */
enum { API_PRODUCE = 0, API_ADD_PARTITIONS_TO_TXN = 24, API_END_TXN = 26 };

static rd_kafka_t *host;             /* owns the mock cluster */
static rd_kafka_mock_cluster_t *mock;
static char bootstraps[256];

static int suite_init(void) {
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err));
    host = rd_kafka_new(RD_KAFKA_PRODUCER, c, err, sizeof(err));
    if (!host)
        return 1;
    mock = rd_kafka_mock_cluster_new(host, 1);
    if (!mock)
        return 1;
    snprintf(bootstraps, sizeof(bootstraps), "%s", rd_kafka_mock_cluster_bootstraps(mock));
    return 0;
}

static int suite_clean(void) {
    rd_kafka_mock_cluster_destroy(mock);
    rd_kafka_destroy(host);
    return 0;
}

static rd_kafka_conf_t *conf_new(void) {
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    CU_ASSERT_EQUAL(rd_kafka_conf_set(c, "bootstrap.servers", bootstraps, err, sizeof(err)),
                    RD_KAFKA_CONF_OK);
    rd_kafka_conf_set(c, "log_level", "3", err, sizeof(err));
    return c;
}

static void expect_conf(rd_kafka_t *rk, const char *key, const char *want) {
    char v[256];
    size_t n = sizeof(v);
    CU_ASSERT_EQUAL_FATAL(rd_kafka_conf_get(rd_kafka_conf(rk), key, v, &n), RD_KAFKA_CONF_OK);
    if (strcmp(v, want) != 0)
        fprintf(stderr, "\n  %s = '%s', want '%s'\n", key, v, want);
    CU_ASSERT_STRING_EQUAL(v, want);
}

static bool says_isolation(const void *ctx, const char *key) {
    return strcmp(key, (const char *)ctx) == 0;
}

static void test_consumer_defaults(void) {
    char err[256];
    rd_kafka_t *rk;
    rd_kafka_conf_t *c = conf_new();
    /* user values that differ from the llmopt defaults must survive */
    rd_kafka_conf_set(c, "fetch.wait.max.ms", "250", err, sizeof(err));
    rd_kafka_conf_set(c, "isolation.level", "read_uncommitted", err, sizeof(err));
    static const char *const user[] = {"fetch.wait.max.ms", NULL};
    llmopt_kafka_consumer_opts_t o = {
        .group_id = "g1", .app_commits = true, .read_committed = true,
        .user = {.user_set_keys = user, .is_set = says_isolation, .ctx = "isolation.level"}};
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_consumer_new(&rk, c, &o, err, sizeof(err)), LLMOPT_OK);
    expect_conf(rk, "fetch.wait.max.ms", "250");
    expect_conf(rk, "isolation.level", "read_uncommitted");
    expect_conf(rk, "queued.min.messages", "1000000");
    expect_conf(rk, "enable.auto.commit", "false");
    expect_conf(rk, "auto.offset.reset", "smallest"); /* librdkafka's name for earliest */
    expect_conf(rk, "group.id", "g1");
    llmopt_kafka_consumer_close(rk);

    /* without user keys every default applies */
    llmopt_kafka_consumer_opts_t o2 = {.group_id = "g2", .read_committed = true};
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_consumer_new(&rk, conf_new(), &o2, err, sizeof(err)),
                          LLMOPT_OK);
    expect_conf(rk, "fetch.wait.max.ms", "100");
    expect_conf(rk, "isolation.level", "read_committed");
    expect_conf(rk, "enable.auto.commit", "true"); /* app_commits false: untouched */
    llmopt_kafka_consumer_close(rk);
    llmopt_kafka_consumer_close(NULL);
}

/* the user keys come from a loaded configuration (common/config.h) */
static void test_defaults_from_config(void) {
    char err[256];
    llmopt_common_conf cc;
    memset(&cc, 0, sizeof(cc));
    llmopt_config_binding b[] = {{&llmopt_common_table, 0}};
    llmopt_config *cfg = llmopt_config_new(&cc, sizeof(cc), b, 1, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(cfg);
    CU_ASSERT_EQUAL(llmopt_config_set(cfg, "kafka.queued.min.messages", "5000", err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(cfg, "kafka.bootstrap.servers", bootstraps, err,
                                      sizeof(err)),
                    LLMOPT_OK);
    rd_kafka_conf_t *c = llmopt_config_kafka_conf(cfg, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    llmopt_kafka_consumer_opts_t o = {.group_id = "g3", .app_commits = true,
                                      .user = llmopt_kafka_user_keys_from_config(cfg)};
    CU_ASSERT(llmopt_kafka_user_set(&o.user, "queued.min.messages"));
    CU_ASSERT(!llmopt_kafka_user_set(&o.user, "fetch.wait.max.ms"));
    CU_ASSERT(!llmopt_kafka_user_set(NULL, "queued.min.messages"));
    rd_kafka_t *rk;
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_consumer_new(&rk, c, &o, err, sizeof(err)), LLMOPT_OK);
    expect_conf(rk, "queued.min.messages", "5000");
    expect_conf(rk, "fetch.wait.max.ms", "100");
    llmopt_kafka_consumer_close(rk);
    llmopt_config_destroy(cfg);
}

static void test_producer_bad_options(void) {
    char err[256] = "";
    rd_kafka_t *rk = (rd_kafka_t *)&err; /* must be reset to NULL */
    llmopt_kafka_producer_opts_t o = {.kind = LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL};
    /* conf is consumed even on failure: valgrind checks there is no leak */
    CU_ASSERT_EQUAL(llmopt_kafka_producer_new(&rk, conf_new(), &o, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NULL(rk);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "transactional.id"));

    rd_kafka_conf_t *c = conf_new();
    rd_kafka_conf_set(c, "enable.idempotence", "true", err, sizeof(err));
    rd_kafka_conf_set(c, "acks", "1", err, sizeof(err)); /* librdkafka refuses this pair */
    static const char *const user[] = {"acks", "enable.idempotence", NULL};
    llmopt_kafka_producer_opts_t o2 = {.kind = LLMOPT_KAFKA_PRODUCER_IDEMPOTENT,
                                       .user = {.user_set_keys = user}};
    CU_ASSERT_EQUAL(llmopt_kafka_producer_new(&rk, c, &o2, err, sizeof(err)), LLMOPT_ERR_IO);
    CU_ASSERT_PTR_NULL(rk);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "acks"));
    CU_ASSERT_EQUAL(llmopt_kafka_producer_close(NULL, 0, NULL, 0), LLMOPT_OK);
}

static int produce_n(rd_kafka_t *rk, const char *topic, int n) {
    int ok = 0;
    for (int i = 0; i < n; i++) {
        char v[32];
        int len = snprintf(v, sizeof(v), "v%d", i);
        if (rd_kafka_producev(rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_PARTITION(0),
                              RD_KAFKA_V_VALUE(v, (size_t)len), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
                              RD_KAFKA_V_END) == RD_KAFKA_RESP_ERR_NO_ERROR)
            ok++;
    }
    return ok;
}

static void test_idempotent_delivery_counted(void) {
    char err[256];
    rd_kafka_t *rk;
    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_mock_topic_create(mock, "t.idem", 1, 1);
    llmopt_kafka_producer_opts_t o = {.kind = LLMOPT_KAFKA_PRODUCER_IDEMPOTENT, .dr_stats = &st};
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_producer_new(&rk, conf_new(), &o, err, sizeof(err)),
                          LLMOPT_OK);
    expect_conf(rk, "enable.idempotence", "true");
    CU_ASSERT_EQUAL(produce_n(rk, "t.idem", 50), 50);
    CU_ASSERT_EQUAL(llmopt_kafka_producer_flush(rk, 10000, &st, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(atomic_load(&st.delivered), 50);
    CU_ASSERT_EQUAL(atomic_load(&st.failed), 0);
    CU_ASSERT_EQUAL(llmopt_kafka_producer_close(rk, 1000, err, sizeof(err)), LLMOPT_OK);
}

static void test_delivery_failures_counted(void) {
    char err[256];
    rd_kafka_t *rk;
    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_mock_topic_create(mock, "t.fail", 1, 1);
    rd_kafka_conf_t *c = conf_new();
    /* one batch as a rule (flush sends it at once); a loaded machine has
     * split the five into two requests, so every produce request of this
     * test fails (10 errors queued), not just the first three */
    rd_kafka_conf_set(c, "linger.ms", "1000", err, sizeof(err));
    static const char *const user[] = {"linger.ms", NULL};
    llmopt_kafka_producer_opts_t o = {.kind = LLMOPT_KAFKA_PRODUCER_PLAIN, .dr_stats = &st,
                                      .user = {.user_set_keys = user}};
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_producer_new(&rk, c, &o, err, sizeof(err)), LLMOPT_OK);
    expect_conf(rk, "linger.ms", "1000");
    /* a non-retriable broker error fails the whole batch */
    rd_kafka_resp_err_t errs[10];
    for (int i = 0; i < 10; i++)
        errs[i] = RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE;
    rd_kafka_mock_push_request_errors_array(mock, API_PRODUCE, 10, errs);
    CU_ASSERT_EQUAL(produce_n(rk, "t.fail", 5), 5);
    CU_ASSERT_EQUAL(llmopt_kafka_producer_flush(rk, 10000, &st, err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(atomic_load(&st.failed), 5);
    CU_ASSERT_EQUAL(atomic_load(&st.delivered), 0);
    CU_ASSERT_EQUAL(atomic_load(&st.last_err), RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "5 message(s) failed"));
    rd_kafka_mock_clear_request_errors(mock, API_PRODUCE);
    llmopt_kafka_producer_close(rk, 1000, NULL, 0);
}

static rd_kafka_t *txn_producer(const char *txn_id, llmopt_kafka_dr_stats_t *st) {
    char err[256];
    rd_kafka_t *rk = NULL;
    llmopt_kafka_producer_opts_t o = {.kind = LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL,
                                      .transactional_id = txn_id, .init_timeout_ms = 10000,
                                      .dr_stats = st};
    llmopt_err_t r = llmopt_kafka_producer_new(&rk, conf_new(), &o, err, sizeof(err));
    if (r)
        fprintf(stderr, "\n  txn producer: %s\n", err);
    CU_ASSERT_EQUAL(r, LLMOPT_OK);
    return rk;
}

static void test_txn_commit_abort_fatal(void) {
    char err[512];
    llmopt_kafka_txn_status_t s;
    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_mock_topic_create(mock, "t.txn", 1, 1);
    rd_kafka_t *rk = txn_producer("txn-a", &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(rk);

    /* committed */
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(rk, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(rk, err, sizeof(err)), LLMOPT_ERR_STATE);
    produce_n(rk, "t.txn", 3);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_commit(rk, NULL, NULL, 10000, &s, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(s, LLMOPT_KAFKA_TXN_COMMITTED);
    CU_ASSERT_EQUAL(atomic_load(&st.delivered), 3);

    /* abortable: an authorization error on adding the partition is raised at
     * commit, the helper aborts, and the producer stays usable */
    rd_kafka_mock_push_request_errors(mock, API_ADD_PARTITIONS_TO_TXN, 1,
                                      RD_KAFKA_RESP_ERR_TOPIC_AUTHORIZATION_FAILED);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(rk, err, sizeof(err)), LLMOPT_OK);
    produce_n(rk, "t.txn", 2);
    CU_ASSERT_NOT_EQUAL(llmopt_kafka_txn_commit(rk, NULL, NULL, 10000, &s, err, sizeof(err)),
                        LLMOPT_OK);
    CU_ASSERT_EQUAL(s, LLMOPT_KAFKA_TXN_ABORTED);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "aborted"));
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(rk, err, sizeof(err)), LLMOPT_OK);
    produce_n(rk, "t.txn", 1);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_commit(rk, NULL, NULL, 10000, &s, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(s, LLMOPT_KAFKA_TXN_COMMITTED);

    /* fatal: fenced at EndTxn */
    rd_kafka_mock_push_request_errors(mock, API_END_TXN, 1,
                                      RD_KAFKA_RESP_ERR_PRODUCER_FENCED);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(rk, err, sizeof(err)), LLMOPT_OK);
    produce_n(rk, "t.txn", 1);
    CU_ASSERT_NOT_EQUAL(llmopt_kafka_txn_commit(rk, NULL, NULL, 10000, &s, err, sizeof(err)),
                        LLMOPT_OK);
    CU_ASSERT_EQUAL(s, LLMOPT_KAFKA_TXN_FATAL);
    CU_ASSERT_STRING_EQUAL(llmopt_kafka_txn_status_name(s), "fatal");
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(rk, err, sizeof(err)), LLMOPT_ERR_STATE);
    rd_kafka_destroy(rk);
}

static void test_txn_send_offsets_and_lag(void) {
    char err[512];
    llmopt_kafka_txn_status_t s;
    rd_kafka_t *c = NULL;
    rd_kafka_mock_topic_create(mock, "t.in", 1, 1);
    rd_kafka_t *p = txn_producer("txn-b", NULL);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    /* input: 10 committed records */
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(p, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(produce_n(p, "t.in", 10), 10);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_commit(p, NULL, NULL, 10000, &s, err, sizeof(err)),
                    LLMOPT_OK);

    llmopt_kafka_consumer_opts_t co = {.group_id = "g-lag", .app_commits = true,
                                       .read_committed = true};
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_consumer_new(&c, conf_new(), &co, err, sizeof(err)),
                          LLMOPT_OK);
    /* manual assignment: no group join, so no 3 s wait on the mock */
    rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(a, "t.in", 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    CU_ASSERT_EQUAL(rd_kafka_assign(c, a), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(a);
    int got = 0;
    for (int i = 0; i < 100 && got < 4; i++) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 100);
        if (m && !m->err)
            got++;
        if (m)
            rd_kafka_message_destroy(m);
    }
    CU_ASSERT_EQUAL_FATAL(got, 4);
    int64_t lag = -1;
    rd_kafka_topic_partition_list_t *lags = NULL;
    CU_ASSERT_EQUAL(llmopt_kafka_consumer_lag(c, 5000, &lag, &lags, err, sizeof(err)),
                    LLMOPT_OK);
    /* 10 records, 4 consumed; the mock writes no transaction markers (a
     * real broker adds one offset per commit: see kafka_compat) */
    CU_ASSERT_EQUAL(lag, 6);
    CU_ASSERT_PTR_NOT_NULL_FATAL(lags);
    CU_ASSERT_EQUAL(lags->cnt, 1);
    CU_ASSERT_EQUAL(lags->elems[0].offset, 6);
    rd_kafka_topic_partition_list_destroy(lags);

    /* the consumer's position goes into the transaction */
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(p, err, sizeof(err)), LLMOPT_OK);
    produce_n(p, "t.in", 1);
    llmopt_err_t r = llmopt_kafka_txn_commit(p, c, NULL, 10000, &s, err, sizeof(err));
    if (r)
        fprintf(stderr, "\n  commit with offsets: %s\n", err);
    CU_ASSERT_EQUAL(r, LLMOPT_OK);
    /* the mock of librdkafka 2.0.2 does not store TxnOffsetCommit
     * offsets, so what was committed is checked on the real broker
     * (tests/integration/kafka_compat.c) */
    llmopt_kafka_consumer_close(c);
    rd_kafka_destroy(p);
}

/* The mock cluster has no controller for CreateTopics (the real broker is
 * exercised in kafka_compat); here only argument checks that need no
 * broker. */
static void test_topic_bad_args(void) {
    char err[256];
    rd_kafka_t *rk;
    llmopt_kafka_producer_opts_t o = {.kind = LLMOPT_KAFKA_PRODUCER_PLAIN};
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_producer_new(&rk, conf_new(), &o, err, sizeof(err)),
                          LLMOPT_OK);
    static const char *const bad[] = {"cleanup.policy", NULL};
    CU_ASSERT_EQUAL(llmopt_kafka_topic_create(rk, "t.bad", 1, 1, bad, false, 5000, err,
                                              sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cleanup.policy"));
    CU_ASSERT_EQUAL(llmopt_kafka_topic_create(rk, "t.bad", 0, 1, NULL, false, 5000, err,
                                              sizeof(err)),
                    LLMOPT_ERR_INVALID);
    llmopt_kafka_producer_close(rk, 1000, NULL, 0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("kafka", suite_init, suite_clean);
    CU_add_test(s, "consumer_defaults", test_consumer_defaults);
    CU_add_test(s, "defaults_from_config", test_defaults_from_config);
    CU_add_test(s, "producer_bad_options", test_producer_bad_options);
    CU_add_test(s, "idempotent_delivery_counted", test_idempotent_delivery_counted);
    CU_add_test(s, "delivery_failures_counted", test_delivery_failures_counted);
    CU_add_test(s, "txn_commit_abort_fatal", test_txn_commit_abort_fatal);
    CU_add_test(s, "txn_send_offsets_and_lag", test_txn_send_offsets_and_lag);
    CU_add_test(s, "topic_bad_args", test_topic_bad_args);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
