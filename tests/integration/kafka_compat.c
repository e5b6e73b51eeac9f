/* kafka_compat.c - proves that Debian's librdkafka (2.0.2) works against the
 * pinned Apache Kafka broker (deploy/local/kafka.sh), through the
 * common/kafka helpers:
 *   (a) idempotent producer: delivery reports all succeed, the broker holds
 *       exactly what was sent
 *   (b) consumer group: all records received once, a commit, and a second
 *       member of the group resumes exactly after the committed offsets
 *   (c) transactions: consume-transform-produce with the input offsets sent
 *       with the consumer group metadata and committed atomically; an aborted
 *       transaction is invisible to read_committed and visible to
 *       read_uncommitted
 *   (d) a compacted topic: the broker compacts it and keeps the latest value
 *       per key, tombstones included
 * Topics are unique per run (created with the Admin API, deleted at the end);
 * every wait is bounded. Broker: LLMOPT_BOOTSTRAP (default 127.0.0.1:19092). */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/kafka.h"

static const char *bootstrap;
static rd_kafka_t *admin; /* a plain producer used for admin requests */
static char run[64];
static char t_plain[128], t_group[128], t_in[128], t_out[128], t_compact[128];

static int64_t mono_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static rd_kafka_conf_t *conf_new(void) {
    char err[256];
    rd_kafka_conf_t *c = rd_kafka_conf_new();
    rd_kafka_conf_set(c, "bootstrap.servers", bootstrap, err, sizeof(err));
    rd_kafka_conf_set(c, "log_level", "4", err, sizeof(err));
    return c;
}

static int suite_init(void) {
    char err[512];
    bootstrap = getenv("LLMOPT_BOOTSTRAP");
    if (!bootstrap || !*bootstrap)
        bootstrap = "127.0.0.1:19092";
    snprintf(run, sizeof(run), "compat.%ld.%d", (long)time(NULL), (int)getpid());
    snprintf(t_plain, sizeof(t_plain), "%s.plain", run);
    snprintf(t_group, sizeof(t_group), "%s.group", run);
    snprintf(t_in, sizeof(t_in), "%s.txn.in", run);
    snprintf(t_out, sizeof(t_out), "%s.txn.out", run);
    snprintf(t_compact, sizeof(t_compact), "%s.compact", run);
    llmopt_kafka_producer_opts_t o = {.kind = LLMOPT_KAFKA_PRODUCER_PLAIN};
    if (llmopt_kafka_producer_new(&admin, conf_new(), &o, err, sizeof(err))) {
        fprintf(stderr, "admin client: %s\n", err);
        return 1;
    }
    static const char *const compact[] = {"cleanup.policy", "compact",
                                          "segment.ms", "100",
                                          "min.cleanable.dirty.ratio", "0.001",
                                          "min.compaction.lag.ms", "0",
                                          "delete.retention.ms", "100",
                                          NULL};
    struct { const char *name; int parts; const char *const *cfg; } ts[] = {
        {t_plain, 3, NULL}, {t_group, 3, NULL}, {t_in, 1, NULL}, {t_out, 1, NULL},
        {t_compact, 1, compact}};
    for (size_t i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
        if (llmopt_kafka_topic_create(admin, ts[i].name, ts[i].parts, 1, ts[i].cfg, false, 20000,
                                      err, sizeof(err))) {
            fprintf(stderr, "create '%s' on %s: %s\n", ts[i].name, bootstrap, err);
            return 1;
        }
    }
    return 0;
}

static int suite_clean(void) {
    char err[256];
    const char *all[] = {t_plain, t_group, t_in, t_out, t_compact};
    for (size_t i = 0; admin && i < sizeof(all) / sizeof(all[0]); i++)
        if (llmopt_kafka_topic_delete(admin, all[i], 10000, err, sizeof(err)))
            fprintf(stderr, "delete '%s': %s\n", all[i], err);
    llmopt_kafka_producer_close(admin, 1000, NULL, 0);
    return 0;
}

static rd_kafka_t *producer(llmopt_kafka_producer_kind_t kind, const char *txn_id,
                            llmopt_kafka_dr_stats_t *st) {
    char err[512];
    rd_kafka_t *rk = NULL;
    llmopt_kafka_producer_opts_t o = {.kind = kind, .transactional_id = txn_id,
                                      .init_timeout_ms = 30000, .dr_stats = st};
    if (llmopt_kafka_producer_new(&rk, conf_new(), &o, err, sizeof(err)))
        fprintf(stderr, "\n  producer: %s\n", err);
    return rk;
}

static rd_kafka_t *consumer(const char *group, bool read_committed, bool eof) {
    char err[512];
    rd_kafka_t *rk = NULL;
    rd_kafka_conf_t *c = conf_new();
    if (eof)
        rd_kafka_conf_set(c, "enable.partition.eof", "true", err, sizeof(err));
    llmopt_kafka_consumer_opts_t o = {.group_id = group, .app_commits = true,
                                      .read_committed = read_committed};
    if (llmopt_kafka_consumer_new(&rk, c, &o, err, sizeof(err)))
        fprintf(stderr, "\n  consumer: %s\n", err);
    return rk;
}

static int produce_kv(rd_kafka_t *rk, const char *topic, const char *key, const char *val) {
    rd_kafka_resp_err_t e = rd_kafka_producev(
        rk, RD_KAFKA_V_TOPIC(topic), RD_KAFKA_V_KEY(key, key ? strlen(key) : 0),
        RD_KAFKA_V_VALUE((void *)val, val ? strlen(val) : 0), RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY),
        RD_KAFKA_V_END);
    if (e)
        fprintf(stderr, "\n  produce: %s\n", rd_kafka_err2str(e));
    return e ? -1 : 0;
}

static int subscribe(rd_kafka_t *c, const char *topic) {
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(l, topic, RD_KAFKA_PARTITION_UA);
    rd_kafka_resp_err_t e = rd_kafka_subscribe(c, l);
    rd_kafka_topic_partition_list_destroy(l);
    return e ? -1 : 0;
}

/* Polls until `want` records arrived or timeout; each value (a decimal
 * number below 1000) is counted in seen[]. Returns the number received. */
static int consume_numbers(rd_kafka_t *c, int want, int timeout_ms, int *seen) {
    int got = 0;
    int64_t end = mono_ms() + timeout_ms;
    while (got < want && mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (!m->err) {
            char b[16] = "";
            size_t n = m->len < sizeof(b) - 1 ? m->len : sizeof(b) - 1;
            memcpy(b, m->payload, n);
            int v = atoi(b);
            if (v >= 0 && v < 1000)
                seen[v]++;
            got++;
        }
        rd_kafka_message_destroy(m);
    }
    return got;
}

/* (a) */
static void test_idempotent_producer(void) {
    char err[512], v[16];
    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_t *p = producer(LLMOPT_KAFKA_PRODUCER_IDEMPOTENT, NULL, &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 1000; i++) {
        snprintf(v, sizeof(v), "%d", i);
        CU_ASSERT_EQUAL(produce_kv(p, t_plain, v, v), 0);
    }
    CU_ASSERT_EQUAL(llmopt_kafka_producer_flush(p, 30000, &st, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(atomic_load(&st.delivered), 1000);
    CU_ASSERT_EQUAL(atomic_load(&st.failed), 0);
    int64_t total = 0;
    for (int part = 0; part < 3; part++) {
        int64_t lo = -1, hi = -1;
        CU_ASSERT_EQUAL(rd_kafka_query_watermark_offsets(p, t_plain, part, &lo, &hi, 10000),
                        RD_KAFKA_RESP_ERR_NO_ERROR);
        CU_ASSERT_EQUAL(lo, 0);
        total += hi;
    }
    CU_ASSERT_EQUAL(total, 1000);
    CU_ASSERT_EQUAL(llmopt_kafka_producer_close(p, 5000, err, sizeof(err)), LLMOPT_OK);
}

/* (b) */
static void test_consumer_group_resume(void) {
    char err[512], v[16], group[160];
    int seen[1000] = {0};
    snprintf(group, sizeof(group), "%s.g", run);
    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_t *p = producer(LLMOPT_KAFKA_PRODUCER_IDEMPOTENT, NULL, &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    for (int i = 0; i < 100; i++) {
        snprintf(v, sizeof(v), "%d", i);
        produce_kv(p, t_group, v, v);
    }
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_producer_flush(p, 30000, &st, err, sizeof(err)),
                          LLMOPT_OK);

    rd_kafka_t *c1 = consumer(group, true, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c1);
    CU_ASSERT_EQUAL(subscribe(c1, t_group), 0);
    CU_ASSERT_EQUAL(consume_numbers(c1, 100, 30000, seen), 100);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(seen[i], 1);
    CU_ASSERT_EQUAL(rd_kafka_commit(c1, NULL, 0), RD_KAFKA_RESP_ERR_NO_ERROR);
    int64_t lag = -1;
    CU_ASSERT_EQUAL(llmopt_kafka_consumer_lag(c1, 10000, &lag, NULL, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(lag, 0);
    llmopt_kafka_consumer_close(c1);

    for (int i = 100; i < 150; i++) {
        snprintf(v, sizeof(v), "%d", i);
        produce_kv(p, t_group, v, v);
    }
    CU_ASSERT_EQUAL(llmopt_kafka_producer_flush(p, 30000, &st, err, sizeof(err)), LLMOPT_OK);
    llmopt_kafka_producer_close(p, 5000, NULL, 0);

    memset(seen, 0, sizeof(seen));
    rd_kafka_t *c2 = consumer(group, true, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c2);
    CU_ASSERT_EQUAL(subscribe(c2, t_group), 0);
    CU_ASSERT_EQUAL(consume_numbers(c2, 50, 30000, seen), 50);
    /* nothing more arrives: the committed 100 are not redelivered */
    CU_ASSERT_EQUAL(consume_numbers(c2, 1, 2000, seen), 0);
    for (int i = 0; i < 150; i++)
        CU_ASSERT_EQUAL(seen[i], i < 100 ? 0 : 1);
    llmopt_kafka_consumer_close(c2);
}

/* Reads partition 0 of topic from the start to its end (partition EOF; the
 * last stable offset for read_committed). Counts values starting with
 * "out", "abort" and "end". */
static void read_out(const char *topic, bool read_committed, int *n_out, int *n_abort,
                     int *n_end) {
    char group[160];
    *n_out = *n_abort = *n_end = 0;
    /* assign() without a group.id fails in librdkafka 2.0.2; this group
     * never commits */
    snprintf(group, sizeof(group), "%s.reader", run);
    rd_kafka_t *c = consumer(group, read_committed, true);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(a, topic, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    CU_ASSERT_EQUAL(rd_kafka_assign(c, a), RD_KAFKA_RESP_ERR_NO_ERROR);
    rd_kafka_topic_partition_list_destroy(a);
    int64_t end = mono_ms() + 20000;
    bool eof = false;
    while (!eof && mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof = true;
        } else if (!m->err) {
            if (m->len >= 3 && !memcmp(m->payload, "out", 3))
                (*n_out)++;
            else if (m->len >= 5 && !memcmp(m->payload, "abort", 5))
                (*n_abort)++;
            else if (m->len >= 3 && !memcmp(m->payload, "end", 3))
                (*n_end)++;
        }
        rd_kafka_message_destroy(m);
    }
    CU_ASSERT(eof);
    llmopt_kafka_consumer_close(c);
}

/* (c) */
static void test_transactions(void) {
    char err[512], v[32], group[160], txn_id[160];
    llmopt_kafka_txn_status_t s;
    int seen[1000] = {0};
    snprintf(group, sizeof(group), "%s.txn", run);
    snprintf(txn_id, sizeof(txn_id), "%s.txn-producer", run);

    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_t *p0 = producer(LLMOPT_KAFKA_PRODUCER_IDEMPOTENT, NULL, &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p0);
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof(v), "%d", i);
        produce_kv(p0, t_in, v, v);
    }
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_producer_flush(p0, 30000, &st, err, sizeof(err)),
                          LLMOPT_OK);
    llmopt_kafka_producer_close(p0, 5000, NULL, 0);

    llmopt_kafka_dr_stats_t tst;
    llmopt_kafka_dr_stats_init(&tst);
    rd_kafka_t *p = producer(LLMOPT_KAFKA_PRODUCER_TRANSACTIONAL, txn_id, &tst);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    rd_kafka_t *c = consumer(group, true, false);
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    CU_ASSERT_EQUAL(subscribe(c, t_in), 0);

    /* consume-transform-produce, offsets inside the transaction */
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(p, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL_FATAL(consume_numbers(c, 20, 30000, seen), 20);
    for (int i = 0; i < 20; i++) {
        snprintf(v, sizeof(v), "out%d", i);
        produce_kv(p, t_out, NULL, v);
    }
    llmopt_err_t r = llmopt_kafka_txn_commit(p, c, NULL, 30000, &s, err, sizeof(err));
    if (r)
        fprintf(stderr, "\n  commit: %s\n", err);
    CU_ASSERT_EQUAL(r, LLMOPT_OK);
    CU_ASSERT_EQUAL(s, LLMOPT_KAFKA_TXN_COMMITTED);
    CU_ASSERT_EQUAL(atomic_load(&tst.delivered), 20);
    /* the group's committed offset came from the transaction */
    rd_kafka_topic_partition_list_t *cm = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(cm, t_in, 0);
    CU_ASSERT_EQUAL(rd_kafka_committed(c, cm, 10000), RD_KAFKA_RESP_ERR_NO_ERROR);
    CU_ASSERT_EQUAL(cm->elems[0].offset, 20);
    rd_kafka_topic_partition_list_destroy(cm);

    /* an aborted transaction, its records written to the log first */
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(p, err, sizeof(err)), LLMOPT_OK);
    for (int i = 0; i < 5; i++) {
        snprintf(v, sizeof(v), "abort%d", i);
        produce_kv(p, t_out, NULL, v);
    }
    rd_kafka_flush(p, 10000);
    CU_ASSERT_EQUAL(atomic_load(&tst.delivered), 25);
    CU_ASSERT_EQUAL(llmopt_kafka_txn_abort(p, 30000, &s, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(s, LLMOPT_KAFKA_TXN_ABORTED);

    /* a last committed record so the read_committed end (LSO) is the log end */
    CU_ASSERT_EQUAL(llmopt_kafka_txn_begin(p, err, sizeof(err)), LLMOPT_OK);
    produce_kv(p, t_out, NULL, "end");
    CU_ASSERT_EQUAL(llmopt_kafka_txn_commit(p, NULL, NULL, 30000, &s, err, sizeof(err)),
                    LLMOPT_OK);
    llmopt_kafka_consumer_close(c);
    rd_kafka_destroy(p);

    int n_out, n_abort, n_end;
    read_out(t_out, true, &n_out, &n_abort, &n_end);
    CU_ASSERT_EQUAL(n_out, 20);
    CU_ASSERT_EQUAL(n_abort, 0);
    CU_ASSERT_EQUAL(n_end, 1);
    read_out(t_out, false, &n_out, &n_abort, &n_end);
    CU_ASSERT_EQUAL(n_out, 20);
    CU_ASSERT_EQUAL(n_abort, 5);
    CU_ASSERT_EQUAL(n_end, 1);
}

/* Reads the compacted topic from the start; returns the record count and
 * the last value per key k0..k9 (empty string for a tombstone). */
static int read_compact(char last[10][16]) {
    int n = 0;
    char group[160];
    memset(last, 0, 10 * 16);
    snprintf(group, sizeof(group), "%s.reader", run);
    rd_kafka_t *c = consumer(group, true, true);
    if (!c)
        return -1;
    rd_kafka_topic_partition_list_t *a = rd_kafka_topic_partition_list_new(1);
    rd_kafka_topic_partition_list_add(a, t_compact, 0)->offset = RD_KAFKA_OFFSET_BEGINNING;
    rd_kafka_resp_err_t ae = rd_kafka_assign(c, a);
    rd_kafka_topic_partition_list_destroy(a);
    if (ae) {
        fprintf(stderr, "\n  assign: %s\n", rd_kafka_err2str(ae));
        llmopt_kafka_consumer_close(c);
        return -1;
    }
    int64_t end = mono_ms() + 10000;
    bool eof = false;
    while (!eof && mono_ms() < end) {
        rd_kafka_message_t *m = rd_kafka_consumer_poll(c, 200);
        if (!m)
            continue;
        if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
            eof = true;
        } else if (!m->err) {
            n++;
            if (m->key_len == 2 && ((char *)m->key)[0] == 'k') {
                int k = ((char *)m->key)[1] - '0';
                size_t l = m->len < 15 ? m->len : 15;
                if (k >= 0 && k < 10) {
                    memcpy(last[k], m->payload ? m->payload : "", l);
                    last[k][l] = 0;
                }
            }
        }
        rd_kafka_message_destroy(m);
    }
    llmopt_kafka_consumer_close(c);
    return eof ? n : -1;
}

/* (d) */
static void test_compacted_topic(void) {
    char err[512], k[8], v[16];
    llmopt_kafka_dr_stats_t st;
    llmopt_kafka_dr_stats_init(&st);
    rd_kafka_t *p = producer(LLMOPT_KAFKA_PRODUCER_IDEMPOTENT, NULL, &st);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    /* 10 keys x 5 versions, then a tombstone for k9: 51 records */
    for (int ver = 0; ver < 5; ver++)
        for (int i = 0; i < 10; i++) {
            snprintf(k, sizeof(k), "k%d", i);
            snprintf(v, sizeof(v), "v%d", ver);
            produce_kv(p, t_compact, k, v);
        }
    produce_kv(p, t_compact, "k9", NULL);
    CU_ASSERT_EQUAL_FATAL(llmopt_kafka_producer_flush(p, 30000, &st, err, sizeof(err)),
                          LLMOPT_OK);
    /* the active segment is never cleaned: after segment.ms a new record
     * rolls it; keep rolling until the cleaner has run (bounded) */
    char last[10][16];
    int n = -1;
    int64_t end = mono_ms() + 60000;
    int extra = 0;
    while (mono_ms() < end) {
        usleep(1500 * 1000);
        produce_kv(p, t_compact, "roll", "x");
        extra++;
        llmopt_kafka_producer_flush(p, 10000, &st, NULL, 0);
        n = read_compact(last);
        if (n >= 0 && n < 51 + extra - 10)
            break;
    }
    fprintf(stderr, "\n  compacted: %d records read of %d written\n", n, 51 + extra);
    CU_ASSERT(n >= 0 && n < 51 + extra - 10);
    for (int i = 0; i < 9; i++)
        CU_ASSERT_STRING_EQUAL(last[i], "v4");
    CU_ASSERT_STRING_EQUAL(last[9], ""); /* tombstone (or gone, after delete.retention.ms) */
    CU_ASSERT_EQUAL(atomic_load(&st.failed), 0);
    llmopt_kafka_producer_close(p, 5000, NULL, 0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 2;
    CU_pSuite s = CU_add_suite("kafka_compat", suite_init, suite_clean);
    CU_add_test(s, "idempotent_producer", test_idempotent_producer);
    CU_add_test(s, "consumer_group_resume", test_consumer_group_resume);
    CU_add_test(s, "transactions", test_transactions);
    CU_add_test(s, "compacted_topic", test_compacted_topic);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
