/*
 * test_gw_limits.c - GCRA buckets (exact admission, 4 threads never over
 * admit beyond burst + rate * t), scopes global/tenant/user, priority
 * shares, token buckets, and the deny / queue / degrade outcomes.
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <time.h>

#include "tests/unit/test_gw_helpers.h"

static int64_t mono_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void test_bucket_exact(void) {
    llmopt_gw_bucket b;
    llmopt_gw_bucket_init(&b);
    int64_t t0 = 1000000000, wait = 0;
    for (int i = 0; i < 5; i++)
        CU_ASSERT_TRUE(llmopt_gw_bucket_take(&b, 10, 5, 1.0, 1, t0, NULL));
    CU_ASSERT_FALSE(llmopt_gw_bucket_take(&b, 10, 5, 1.0, 1, t0, &wait));
    CU_ASSERT_EQUAL(wait, 100000000); /* one request every 100 ms */
    CU_ASSERT_FALSE(llmopt_gw_bucket_take(&b, 10, 5, 1.0, 1, t0 + 99999999, NULL));
    CU_ASSERT_TRUE(llmopt_gw_bucket_take(&b, 10, 5, 1.0, 1, t0 + 100000000, NULL));
    llmopt_gw_bucket_refund(&b, 10, 1);
    CU_ASSERT_TRUE(llmopt_gw_bucket_take(&b, 10, 5, 1.0, 1, t0 + 100000000, NULL));
    /* share 0.4 of a fresh bucket of 10: 4 admitted */
    llmopt_gw_bucket_init(&b);
    int n = 0;
    while (llmopt_gw_bucket_take(&b, 1, 10, 0.4, 1, t0, NULL))
        n++;
    CU_ASSERT_EQUAL(n, 4);
    /* then the full share still has 6 */
    n = 0;
    while (llmopt_gw_bucket_take(&b, 1, 10, 1.0, 1, t0, NULL))
        n++;
    CU_ASSERT_EQUAL(n, 6);
}

typedef struct hammer {
    llmopt_gw_bucket *b;
    llmopt_gw *gw;
    int64_t end_ns;
    atomic_long admitted;
} hammer;

static void *hammer_bucket(void *arg) {
    hammer *h = arg;
    long n = 0;
    for (;;) {
        int64_t now = mono_ns();
        if (now >= h->end_ns)
            break;
        if (llmopt_gw_bucket_take(h->b, 2000, 50, 1.0, 1, now, NULL))
            n++;
    }
    atomic_fetch_add(&h->admitted, n);
    return NULL;
}

static void test_bucket_four_threads(void) {
    llmopt_gw_bucket b;
    llmopt_gw_bucket_init(&b);
    int64_t start = mono_ns();
    hammer h = {.b = &b, .end_ns = start + 300000000};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer_bucket, &h);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    double secs = (mono_ns() - start) / 1e9;
    long got = atomic_load(&h.admitted);
    double bound = 50 + 2000 * secs;
    fprintf(stderr, "  4 threads: admitted %ld in %.3f s (bound %.1f)\n", got, secs, bound);
    CU_ASSERT_TRUE(got <= (long)bound + 1);
    CU_ASSERT_TRUE(got >= 50); /* at least the burst (valgrind runs slowly) */
}

static void decision_with_limits(test_decision *t, const char *route, llmopt_on_limit on) {
    td_init(t, route, 1, 2);
    t->d.has_rate_limits = true;
    t->d.rate_limits.has_global = true;
    t->d.rate_limits.global.requests_per_s = 10;
    t->d.rate_limits.global.requests_burst = 3;
    t->d.rate_limits.on_limit = on;
    t->d.rate_limits.retry_after_ms = 50;
    t->d.rate_limits.queue_timeout_ms = 500;
    t->d.default_arm = llmopt_str_of("a1");
}

static llmopt_gw_verdict admit(llmopt_gw *gw, const char *route, const char *tenant,
                               llmopt_gw_priority prio, int64_t now_us, llmopt_gw_admission *out) {
    llmopt_gw_admit_args a = {.tenant = tenant, .priority = prio, .tokens = 10, .now_us = now_us};
    CU_ASSERT_EQUAL(llmopt_gw_admit(gw, route, &a, out), LLMOPT_OK);
    return out->verdict;
}

static void test_deny_degrade_scopes(void) {
    llmopt_gw *gw = gw_offline();
    llmopt_gw_admission ad;
    /* no decision: admitted */
    CU_ASSERT_EQUAL(admit(gw, "nolimit", NULL, LLMOPT_GW_PRIO_LOW, 1, &ad), LLMOPT_GW_ADMIT);
    test_decision t;
    decision_with_limits(&t, "deny", LLMOPT_ON_LIMIT_DENY);
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    int64_t now = 5000000;
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(admit(gw, "deny", NULL, LLMOPT_GW_PRIO_CRITICAL, now, &ad),
                        LLMOPT_GW_ADMIT);
    CU_ASSERT_EQUAL(admit(gw, "deny", NULL, LLMOPT_GW_PRIO_CRITICAL, now, &ad), LLMOPT_GW_DENY);
    CU_ASSERT_EQUAL(ad.retry_after_ms, 100); /* max(50, 100 ms to the next) */
    CU_ASSERT_EQUAL(admit(gw, "deny", NULL, LLMOPT_GW_PRIO_CRITICAL, now + 100000, &ad),
                    LLMOPT_GW_ADMIT);

    decision_with_limits(&t, "degrade", LLMOPT_ON_LIMIT_DEGRADE);
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, true, NULL), LLMOPT_OK);
    for (int i = 0; i < 3; i++)
        admit(gw, "degrade", NULL, LLMOPT_GW_PRIO_CRITICAL, now, &ad);
    CU_ASSERT_EQUAL(admit(gw, "degrade", NULL, LLMOPT_GW_PRIO_CRITICAL, now, &ad),
                    LLMOPT_GW_DEGRADE);
    CU_ASSERT_STRING_EQUAL(ad.degrade_arm_id, "a1");

    /* per tenant: each tenant has its own bucket of 2; the global is large */
    decision_with_limits(&t, "tenant", LLMOPT_ON_LIMIT_DENY);
    t.d.rate_limits.global.requests_burst = 100;
    t.d.rate_limits.has_per_tenant = true;
    t.d.rate_limits.per_tenant.requests_per_s = 1;
    t.d.rate_limits.per_tenant.requests_burst = 2;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    for (int i = 0; i < 2; i++) {
        CU_ASSERT_EQUAL(admit(gw, "tenant", "A", LLMOPT_GW_PRIO_CRITICAL, now, &ad), LLMOPT_GW_ADMIT);
        CU_ASSERT_EQUAL(admit(gw, "tenant", "B", LLMOPT_GW_PRIO_CRITICAL, now, &ad), LLMOPT_GW_ADMIT);
    }
    CU_ASSERT_EQUAL(admit(gw, "tenant", "A", LLMOPT_GW_PRIO_CRITICAL, now, &ad), LLMOPT_GW_DENY);
    CU_ASSERT_EQUAL(admit(gw, "tenant", "C", LLMOPT_GW_PRIO_CRITICAL, now, &ad), LLMOPT_GW_ADMIT);

    /* priority: burst 10, defaults low 0.4 -> 4 low, then critical takes 6 */
    decision_with_limits(&t, "prio", LLMOPT_ON_LIMIT_DENY);
    t.d.rate_limits.global.requests_burst = 10;
    t.d.rate_limits.global.requests_per_s = 0.001;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    int low = 0, crit = 0;
    while (admit(gw, "prio", NULL, LLMOPT_GW_PRIO_LOW, now, &ad) == LLMOPT_GW_ADMIT)
        low++;
    while (admit(gw, "prio", NULL, LLMOPT_GW_PRIO_CRITICAL, now, &ad) == LLMOPT_GW_ADMIT)
        crit++;
    CU_ASSERT_EQUAL(low, 4);
    CU_ASSERT_EQUAL(crit, 6);

    /* tokens: 600 tokens/min (10/s), burst 100: 80 fits, the next 80 not */
    decision_with_limits(&t, "tokens", LLMOPT_ON_LIMIT_DENY);
    t.d.rate_limits.global.requests_burst = 100;
    t.d.rate_limits.global.tokens_per_min = 600;
    t.d.rate_limits.global.tokens_burst = 100;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    llmopt_gw_admit_args a = {.priority = LLMOPT_GW_PRIO_CRITICAL, .tokens = 80, .now_us = now};
    llmopt_gw_admit(gw, "tokens", &a, &ad);
    CU_ASSERT_EQUAL(ad.verdict, LLMOPT_GW_ADMIT);
    llmopt_gw_admit(gw, "tokens", &a, &ad);
    CU_ASSERT_EQUAL(ad.verdict, LLMOPT_GW_DENY);
    CU_ASSERT_EQUAL(ad.retry_after_ms, 6000); /* 60 tokens missing at 10/s */
    a.now_us = now + 6000000;
    llmopt_gw_admit(gw, "tokens", &a, &ad);
    CU_ASSERT_EQUAL(ad.verdict, LLMOPT_GW_ADMIT);
    llmopt_gw_destroy(gw);
}

static void test_queue(void) {
    llmopt_gw *gw = gw_offline();
    test_decision t;
    decision_with_limits(&t, "q", LLMOPT_ON_LIMIT_QUEUE);
    t.d.rate_limits.global.requests_per_s = 20; /* 50 ms per request */
    t.d.rate_limits.global.requests_burst = 1;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    llmopt_gw_admission ad;
    CU_ASSERT_EQUAL(admit(gw, "q", NULL, LLMOPT_GW_PRIO_CRITICAL, 0, &ad), LLMOPT_GW_ADMIT);
    CU_ASSERT_EQUAL(admit(gw, "q", NULL, LLMOPT_GW_PRIO_CRITICAL, 0, &ad), LLMOPT_GW_ADMIT);
    CU_ASSERT_TRUE(ad.queued_ms >= 30 && ad.queued_ms <= 400);
    /* 1 request per 10 s and a 20 ms queue: denied after the timeout */
    decision_with_limits(&t, "q2", LLMOPT_ON_LIMIT_QUEUE);
    t.d.rate_limits.global.requests_per_s = 0.1;
    t.d.rate_limits.global.requests_burst = 1;
    t.d.rate_limits.queue_timeout_ms = 20;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    CU_ASSERT_EQUAL(admit(gw, "q2", NULL, LLMOPT_GW_PRIO_CRITICAL, 0, &ad), LLMOPT_GW_ADMIT);
    CU_ASSERT_EQUAL(admit(gw, "q2", NULL, LLMOPT_GW_PRIO_CRITICAL, 0, &ad), LLMOPT_GW_DENY);
    CU_ASSERT_TRUE(ad.retry_after_ms > 9000);
    llmopt_gw_destroy(gw);
}

static void *hammer_admit(void *arg) {
    hammer *h = arg;
    long n = 0;
    llmopt_gw_admit_args a = {.tenant = "t", .user = "u", .priority = LLMOPT_GW_PRIO_CRITICAL,
                              .tokens = 1};
    llmopt_gw_admission ad;
    while (mono_ns() < h->end_ns) {
        llmopt_gw_admit(h->gw, "hammer", &a, &ad);
        if (ad.verdict == LLMOPT_GW_ADMIT)
            n++;
    }
    atomic_fetch_add(&h->admitted, n);
    return NULL;
}

static void test_admit_four_threads(void) {
    llmopt_gw *gw = gw_offline();
    test_decision t;
    decision_with_limits(&t, "hammer", LLMOPT_ON_LIMIT_DENY);
    t.d.rate_limits.global.requests_per_s = 1000;
    t.d.rate_limits.global.requests_burst = 20;
    t.d.rate_limits.has_per_user = true; /* the user scope is the tighter one */
    t.d.rate_limits.per_user.requests_per_s = 500;
    t.d.rate_limits.per_user.requests_burst = 10;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    int64_t start = mono_ns();
    hammer h = {.gw = gw, .end_ns = start + 300000000};
    pthread_t th[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&th[i], NULL, hammer_admit, &h);
    for (int i = 0; i < 4; i++)
        pthread_join(th[i], NULL);
    double secs = (mono_ns() - start) / 1e9;
    long got = atomic_load(&h.admitted);
    fprintf(stderr, "  admit 4 threads: %ld in %.3f s (bound %.1f)\n", got, secs,
            10 + 500 * secs);
    CU_ASSERT_TRUE(got <= (long)(10 + 500 * secs) + 1);
    CU_ASSERT_TRUE(got >= 10);
    llmopt_gw_destroy(gw);
}

int main(void) {
    static const CU_TestInfo tests[] = {
        {"bucket_exact", test_bucket_exact},
        {"bucket_four_threads", test_bucket_four_threads},
        {"deny_degrade_scopes", test_deny_degrade_scopes},
        {"queue", test_queue},
        {"admit_four_threads", test_admit_four_threads},
        CU_TEST_INFO_NULL,
    };
    return run_suite("gw_limits", tests);
}
