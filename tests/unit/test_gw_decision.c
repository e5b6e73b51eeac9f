/*
 * test_gw_decision.c - decision validation (every rejection class, the last
 * good decision stays), versions, heartbeats, tombstones, the route limit,
 * snapshot reclamation and readers racing the writer.
 */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>

#include "tests/unit/test_gw_helpers.h"

static llmopt_gw_choice choose_at(llmopt_gw *gw, const char *route, double u) {
    llmopt_gw_choice c;
    llmopt_gw_choose_args a = {.now_ms = 1000, .u = u};
    CU_ASSERT_EQUAL(llmopt_gw_choose(gw, route, &a, &c), LLMOPT_OK);
    return c;
}

static void test_valid_avro_and_json(void) {
    llmopt_gw *gw = gw_offline();
    test_decision t;
    td_init(&t, "r1", 3, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_gw_route_version(gw, "r1"), 3);
    td_init(&t, "r1", 4, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, true, NULL), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_gw_route_version(gw, "r1"), 4);
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    CU_ASSERT_EQUAL(st.decisions_applied, 2);
    CU_ASSERT_EQUAL(st.routes, 1);
    llmopt_gw_destroy(gw);
}

/* Applies a bad decision at version 2 over a good version 1 and checks the
 * reason, its counter and that version 1 still serves. */
static void expect_reject(test_decision *bad, llmopt_gw_reject want, bool json) {
    llmopt_gw *gw = gw_offline();
    test_decision good;
    td_init(&good, bad->d.route.ptr, 1, 2);
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &good, false, NULL), LLMOPT_OK);
    bad->d.version = 2;
    llmopt_gw_reject rej = LLMOPT_GW_REJECT_NONE;
    CU_ASSERT_EQUAL(td_apply(gw, bad, json, &rej), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(rej, want);
    if (rej != want)
        fprintf(stderr, "  wanted '%s', got '%s'\n", llmopt_gw_reject_name(want),
                llmopt_gw_reject_name(rej));
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    CU_ASSERT_EQUAL(st.rejected[want], 1);
    CU_ASSERT_EQUAL(llmopt_gw_route_version(gw, bad->d.route.ptr), 1);
    llmopt_gw_choice c = choose_at(gw, bad->d.route.ptr, 0.7);
    CU_ASSERT_EQUAL(c.decision_version, 1);
    CU_ASSERT_STRING_EQUAL(c.arm_id, "a1");
    llmopt_gw_destroy(gw);
}

static void test_reject_weights(void) {
    test_decision t;
    td_init(&t, "w", 2, 2);
    t.arms[0].weight = -0.1;
    t.arms[1].weight = 1.1;
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_WEIGHT, false);
    td_init(&t, "w", 2, 3);
    t.arms[0].weight = 0.3;
    t.arms[1].weight = 0.3;
    t.arms[2].weight = 0.3; /* sums to 0.9 */
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_WEIGHT, true);
    td_init(&t, "w", 2, 2);
    t.arms[0].weight = 0.5;
    t.arms[1].weight = 0.5 + 2e-6; /* just over the 1e-6 tolerance */
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_WEIGHT, false);

    /* within tolerance is accepted; a disabled arm's weight is not summed */
    llmopt_gw *gw = gw_offline();
    td_init(&t, "w", 2, 3);
    t.arms[0].weight = 0.5;
    t.arms[1].weight = 0.5 + 5e-7;
    t.arms[2].weight = 0.7;
    t.arms[2].state = LLMOPT_ARM_DISABLED;
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    llmopt_gw_destroy(gw);
}

static void test_reject_algorithm_and_invalid(void) {
    test_decision t;
    td_init(&t, "x", 2, 2);
    t.d.algorithm = llmopt_str_of("magic");
    expect_reject(&t, LLMOPT_GW_REJECT_UNKNOWN_ALGORITHM, false);
    td_init(&t, "x", 2, 2);
    t.d.default_arm = llmopt_str_of("nope");
    expect_reject(&t, LLMOPT_GW_REJECT_INVALID, false);
    td_init(&t, "x", 2, 2);
    t.arms[1].arm_id = llmopt_str_of("a0"); /* duplicate */
    expect_reject(&t, LLMOPT_GW_REJECT_INVALID, true);
    td_init(&t, "x", 2, 2);
    t.d.arms.count = 0;
    expect_reject(&t, LLMOPT_GW_REJECT_INVALID, false);
}

static void test_reject_oversized(void) {
    test_decision *t = malloc(sizeof(*t));
    td_init(t, "o", 2, LLMOPT_GW_MAX_ARMS + 1);
    for (size_t i = 0; i < LLMOPT_GW_MAX_ARMS + 1; i++)
        t->arms[i].weight = 1.0 / (LLMOPT_GW_MAX_ARMS + 1);
    expect_reject(t, LLMOPT_GW_REJECT_OVERSIZED, false);
    char longid[200];
    memset(longid, 'z', sizeof(longid) - 1);
    longid[sizeof(longid) - 1] = '\0';
    td_init(t, "o", 2, 2);
    t->arms[1].model = llmopt_str_of(longid);
    expect_reject(t, LLMOPT_GW_REJECT_OVERSIZED, false);
    free(t);

    /* the byte limit of the message itself */
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.max_message_bytes = 64;
    llmopt_gw *gw = llmopt_gw_new(&cfg, NULL, 0);
    test_decision s;
    td_init(&s, "o", 1, 2);
    llmopt_gw_reject rej;
    CU_ASSERT_EQUAL(td_apply(gw, &s, true, &rej), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(rej, LLMOPT_GW_REJECT_OVERSIZED);
    llmopt_gw_destroy(gw);
}

static void test_reject_decode(void) {
    llmopt_gw *gw = gw_offline();
    llmopt_gw_reject rej;
    const char junk[] = "{\"route\": 12";
    CU_ASSERT_EQUAL(llmopt_gw_apply_decision(gw, NULL, 0, junk, sizeof(junk) - 1, NULL, &rej,
                                             NULL, 0),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(rej, LLMOPT_GW_REJECT_DECODE);
    const unsigned char avro[] = {0, 0, 0, 0, 7, 0x02, 'r'}; /* truncated body */
    CU_ASSERT_EQUAL(llmopt_gw_apply_decision(gw, NULL, 0, avro, sizeof(avro), NULL, &rej, NULL,
                                             0),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(rej, LLMOPT_GW_REJECT_DECODE);
    /* key must match the route */
    test_decision t;
    td_init(&t, "k", 1, 2);
    llmopt_json_buf b;
    llmopt_json_buf_init(&b);
    CU_ASSERT_EQUAL(llmopt_json_encode(LLMOPT_REC_ROUTING_DECISION, &t.d, &b, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_gw_apply_decision(gw, "other", 5, b.data, b.len, NULL, &rej, NULL, 0),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(rej, LLMOPT_GW_REJECT_INVALID);
    llmopt_json_buf_release(&b);
    llmopt_gw_destroy(gw);
}

static void test_reject_contextual(void) {
    test_decision t;
    td_init(&t, "c", 2, 2);
    t.d.algorithm = llmopt_str_of("linucb"); /* no model */
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_CONTEXTUAL, false);
    td_init(&t, "c", 2, 2);
    t.d.algorithm = llmopt_str_of("lin_ts");
    llmopt_str names[2] = {llmopt_str_of("f0"), llmopt_str_of("f1")};
    double theta[2] = {1, 2}, ainv[3] = {1, 0, 0}; /* a_inv must be 4 values */
    llmopt_arm_linear_model lm[2] = {
        {llmopt_str_of("a0"), {theta, 2}, {ainv, 3}},
        {llmopt_str_of("a1"), {theta, 2}, {ainv, 3}},
    };
    t.d.has_contextual = true;
    t.d.contextual.feature_names.items = names;
    t.d.contextual.feature_names.count = 2;
    t.d.contextual.dimension = 2;
    t.d.contextual.alpha = 1;
    t.d.contextual.arms.items = lm;
    t.d.contextual.arms.count = 2;
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_CONTEXTUAL, true);
}

static void set_limits(test_decision *t, double rps, double burst) {
    t->d.has_rate_limits = true;
    t->d.rate_limits.has_global = true;
    t->d.rate_limits.global.requests_per_s = rps;
    t->d.rate_limits.global.requests_burst = burst;
}

static void test_reject_rate_cache_batching(void) {
    test_decision t;
    td_init(&t, "l", 2, 2);
    set_limits(&t, 0, 10); /* zero rate while enabled */
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_RATE_LIMITS, false);
    td_init(&t, "l", 2, 2);
    set_limits(&t, 10, -1);
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_RATE_LIMITS, true);
    td_init(&t, "l", 2, 2);
    set_limits(&t, 10, 10);
    t.d.rate_limits.global.tokens_per_min = 100; /* tokens_burst 0: half set */
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_RATE_LIMITS, false);
    td_init(&t, "l", 2, 2);
    set_limits(&t, 10, 10);
    t.d.rate_limits.retry_after_ms = -5;
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_RATE_LIMITS, false);

    td_init(&t, "l", 2, 2);
    t.d.has_cache_policy = true;
    t.d.cache_policy.enabled = true;
    t.d.cache_policy.max_entries = 10;
    t.d.cache_policy.ttl_ms = 30LL * 24 * 3600 * 1000; /* 30 days: absurd */
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_CACHE_POLICY, false);
    t.d.cache_policy.ttl_ms = 0;
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_CACHE_POLICY, true);

    td_init(&t, "l", 2, 2);
    t.d.has_batching = true;
    t.d.batching.enabled = true;
    t.d.batching.max_batch = 0;
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_BATCHING, false);
    t.d.batching.max_batch = 5000;
    expect_reject(&t, LLMOPT_GW_REJECT_BAD_BATCHING, true);
}

static void test_versions_heartbeat_tombstone(void) {
    llmopt_gw *gw = gw_offline();
    test_decision t;
    td_init(&t, "v", 5, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    td_init(&t, "v", 4, 1); /* older: ignored */
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    td_init(&t, "v", 5, 1); /* same, not a heartbeat: ignored */
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(choose_at(gw, "v", 0.9).arm_id, "a1"); /* still 2 arms */

    /* staleness: ts 1000, stale_after 5000 */
    llmopt_gw_choice c;
    llmopt_gw_choose_args a = {.now_ms = 6001, .u = 0.1};
    llmopt_gw_choose(gw, "v", &a, &c);
    CU_ASSERT_TRUE(c.flags & LLMOPT_GW_CHOICE_STALE);
    a.now_ms = 6000;
    llmopt_gw_choose(gw, "v", &a, &c);
    CU_ASSERT_FALSE(c.flags & LLMOPT_GW_CHOICE_STALE);
    td_init(&t, "v", 5, 2);
    t.d.heartbeat = true;
    t.d.ts_ms = 4000;
    CU_ASSERT_EQUAL(td_apply(gw, &t, true, NULL), LLMOPT_OK);
    a.now_ms = 6001;
    llmopt_gw_choose(gw, "v", &a, &c);
    CU_ASSERT_FALSE(c.flags & LLMOPT_GW_CHOICE_STALE);
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    CU_ASSERT_EQUAL(st.ignored_old_version, 2);
    CU_ASSERT_EQUAL(st.heartbeats, 1);

    /* tombstone: fallback, and an older version cannot come back */
    bool applied = false;
    CU_ASSERT_EQUAL(llmopt_gw_apply_decision(gw, "v", 1, NULL, 0, &applied, NULL, NULL, 0),
                    LLMOPT_OK);
    CU_ASSERT_TRUE(applied);
    c = choose_at(gw, "v", 0.5);
    CU_ASSERT_TRUE(c.flags & LLMOPT_GW_CHOICE_FALLBACK);
    CU_ASSERT_STRING_EQUAL(c.arm_id, "fallback-arm");
    td_init(&t, "v", 3, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    CU_ASSERT_TRUE(choose_at(gw, "v", 0.5).flags & LLMOPT_GW_CHOICE_FALLBACK);
    td_init(&t, "v", 6, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    CU_ASSERT_EQUAL(choose_at(gw, "v", 0.5).decision_version, 6);
    llmopt_gw_destroy(gw);
}

static void test_too_many_routes_and_reclaim(void) {
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.max_routes = 2;
    llmopt_gw *gw = llmopt_gw_new(&cfg, NULL, 0);
    test_decision t;
    td_init(&t, "r1", 1, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    td_init(&t, "r2", 1, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    llmopt_gw_reject rej;
    td_init(&t, "r3", 1, 2);
    CU_ASSERT_EQUAL(td_apply(gw, &t, false, &rej), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(rej, LLMOPT_GW_REJECT_TOO_MANY_ROUTES);
    for (int v = 2; v <= 11; v++) {
        td_init(&t, "r1", v, 2);
        CU_ASSERT_EQUAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    }
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    CU_ASSERT_EQUAL(st.snapshots_reclaimed, 10);
    llmopt_gw_destroy(gw);
}

/* Readers choose while the writer swaps decisions: each version v names
 * its arms "v<v>a"/"v<v>b", so a reader seeing an arm of another version
 * than the one reported (or a freed snapshot, under ASan) fails. */
typedef struct race_ctx {
    llmopt_gw *gw;
    atomic_bool stop;
    atomic_int bad, started;
    atomic_long reads;
} race_ctx;

static void *race_reader(void *arg) {
    race_ctx *r = arg;
    llmopt_gw_choose_args a = {.now_ms = 1000, .u = -1};
    atomic_fetch_add(&r->started, 1);
    while (!atomic_load(&r->stop)) {
        llmopt_gw_choice c;
        llmopt_gw_choose(r->gw, "race", &a, &c);
        if (c.flags & LLMOPT_GW_CHOICE_FALLBACK)
            continue;
        char want[32];
        snprintf(want, sizeof(want), "v%lld", (long long)c.decision_version);
        size_t n = strlen(want);
        if (strncmp(c.arm_id, want, n) != 0 || (c.arm_id[n] != 'a' && c.arm_id[n] != 'b'))
            atomic_fetch_add(&r->bad, 1);
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void test_readers_race_writer(void) {
    race_ctx r = {.gw = gw_offline()};
    pthread_t th[3];
    for (int i = 0; i < 3; i++)
        pthread_create(&th[i], NULL, race_reader, &r);
    int versions = getenv("LLMOPT_SKIP_SLOW") ? 200 : 2000;
    /* the writer starts once every reader runs and yields after every
     * fourth decision, so that under valgrind (one thread at a time, where
     * each yield lets all three readers run a time slice) readers choose
     * between the swaps too */
    while (atomic_load(&r.started) < 3)
        sched_yield();
    for (int v = 1; v <= versions; v++) {
        test_decision t;
        td_init(&t, "race", v, 2);
        char a[32], b[32];
        snprintf(a, sizeof(a), "v%da", v);
        snprintf(b, sizeof(b), "v%db", v);
        t.arms[0].arm_id = llmopt_str_of(a);
        t.arms[1].arm_id = llmopt_str_of(b);
        t.d.default_arm = t.arms[0].arm_id;
        CU_ASSERT_EQUAL(td_apply(r.gw, &t, false, NULL), LLMOPT_OK);
        if (v % 4 == 0)
            sched_yield();
    }
    atomic_store(&r.stop, true);
    for (int i = 0; i < 3; i++)
        pthread_join(th[i], NULL);
    fprintf(stderr, "  %d versions, %ld reads, %d bad\n", versions, atomic_load(&r.reads),
            atomic_load(&r.bad));
    CU_ASSERT_EQUAL(atomic_load(&r.bad), 0);
    CU_ASSERT_TRUE(atomic_load(&r.reads) > 0);
    llmopt_gw_stats st;
    llmopt_gw_stats_get(r.gw, &st);
    CU_ASSERT_EQUAL(st.snapshots_reclaimed, (uint64_t)versions - 1);
    llmopt_gw_destroy(r.gw);
}

int main(void) {
    static const CU_TestInfo tests[] = {
        {"valid_avro_and_json", test_valid_avro_and_json},
        {"reject_weights", test_reject_weights},
        {"reject_algorithm_and_invalid", test_reject_algorithm_and_invalid},
        {"reject_oversized", test_reject_oversized},
        {"reject_decode", test_reject_decode},
        {"reject_contextual", test_reject_contextual},
        {"reject_rate_cache_batching", test_reject_rate_cache_batching},
        {"versions_heartbeat_tombstone", test_versions_heartbeat_tombstone},
        {"too_many_routes_and_reclaim", test_too_many_routes_and_reclaim},
        {"readers_race_writer", test_readers_race_writer},
        CU_TEST_INFO_NULL,
    };
    return run_suite("gw_decision", tests);
}
