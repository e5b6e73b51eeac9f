/* test_adapt.c - CUnit suite for the strategy adaptation cores
 * (controller/core/rate_adapt, cache_adapt, batch_adapt): hand-computed
 * sequences, bounds, the capacity-halving known answer and validation. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "controller/core/batch_adapt.h"
#include "controller/core/cache_adapt.h"
#include "controller/core/rate_adapt.h"

static void test_rate_steps(void) {
    llmopt_rate_adapt_config c;
    llmopt_rate_adapt_config_default(&c);
    c.initial_rps = 100, c.min_rps = 60, c.max_rps = 120;
    llmopt_rate_adapt a;
    char why[256];
    CU_ASSERT_FATAL(llmopt_rate_adapt_init(&a, &c, NULL, 0) == LLMOPT_OK);
    /* 2 % > 1 %: x0.9 */
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 1000, 20, why, sizeof(why)), 1);
    CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, 90, 1e-9);
    CU_ASSERT_STRING_EQUAL(why, "rate-limited+error share 2.00 % of 1000 responses > target "
                                "1.00 %: 100 -> 90 req/s");
    /* exactly at the target is not above it: x1.1 */
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 1000, 10, why, sizeof(why)), 1);
    CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, 99, 1e-9);
    /* too few responses: unchanged, no reason */
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 19, 19, why, sizeof(why)), 0);
    CU_ASSERT_EQUAL(why[0], 0);
    CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, 99, 1e-9);
    /* ceiling 120: 108.9, then 119.79, then 120, then no change */
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 0, NULL, 0), 1);
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 0, NULL, 0), 1);
    CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, 119.79, 1e-9);
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 0, NULL, 0), 1);
    CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, 120, 1e-9);
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 0, NULL, 0), 0);
    /* floor 60: 108, 97.2, 87.48, 78.732, 70.8588, 63.77292, 60, then stays */
    double want[] = {108, 97.2, 87.48, 78.732, 70.8588, 63.77292, 60};
    for (size_t i = 0; i < 7; i++) {
        CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 50, NULL, 0), 1);
        CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, want[i], 1e-9);
    }
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 100, NULL, 0), 0);
    CU_ASSERT_DOUBLE_EQUAL(a.limit_rps, 60, 1e-9);
    /* bad > responses is clamped, not a crash */
    CU_ASSERT_EQUAL(llmopt_rate_adapt_judge(&a, 100, 500, NULL, 0), 0);
    CU_ASSERT_EQUAL(a.judged, 15);
}

/* A provider serving `cap` req/s; the gateway admits min(limit, demand);
 * whatever exceeds the capacity comes back rate_limited. Capacity 100 ->
 * 50 with the limit at 100 and demand 200: 100, 90, 81, 72.9, 65.61,
 * 59.049, 53.1441, 47.82969: the 8th period (7 adjustments) is clean. */
static void test_rate_capacity_halves(void) {
    llmopt_rate_adapt_config c;
    llmopt_rate_adapt_config_default(&c);
    c.initial_rps = 100, c.min_rps = 5, c.max_rps = 200;
    llmopt_rate_adapt a;
    CU_ASSERT_FATAL(llmopt_rate_adapt_init(&a, &c, NULL, 0) == LLMOPT_OK);
    double cap = 50, demand = 200, period_s = 10;
    int first_clean = -1;
    double served = 0;
    for (int p = 0; p < 30; p++) {
        double admitted = fmin(a.limit_rps, demand) * period_s;
        double limited = fmax(0, fmin(a.limit_rps, demand) - cap) * period_s;
        if (limited / admitted < 0.01 && first_clean < 0)
            first_clean = p;
        if (p >= 10)
            served += admitted - limited;
        llmopt_rate_adapt_judge(&a, (uint64_t)admitted, (uint64_t)ceil(limited), NULL, 0);
    }
    CU_ASSERT_EQUAL(first_clean, 7);
    /* not starved: the 20 later periods serve > 90 % of the capacity */
    CU_ASSERT(served > 0.9 * cap * period_s * 20);
    CU_ASSERT(a.shrinks >= 7 && a.grows >= 1);
}

static void test_rate_validation(void) {
    llmopt_rate_adapt_config c;
    llmopt_rate_adapt a;
    char err[200];
    llmopt_rate_adapt_config_default(&c);
    c.min_rps = 0;
    CU_ASSERT_EQUAL(llmopt_rate_adapt_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "min_rps") != NULL);
    llmopt_rate_adapt_config_default(&c);
    c.initial_rps = 1e6;
    CU_ASSERT_EQUAL(llmopt_rate_adapt_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    llmopt_rate_adapt_config_default(&c);
    c.shrink = 1;
    CU_ASSERT_EQUAL(llmopt_rate_adapt_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    llmopt_rate_adapt_config_default(&c);
    c.target_share = 0;
    CU_ASSERT_EQUAL(llmopt_rate_adapt_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    llmopt_rate_adapt_config_default(&c);
    c.period_ms = 0;
    CU_ASSERT_EQUAL(llmopt_rate_adapt_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
}

static void test_cache_rules(void) {
    llmopt_cache_adapt_config c;
    llmopt_cache_adapt_config_default(&c);
    c.ttl_ms = 600000, c.min_ttl_ms = 150000, c.max_ttl_ms = 600000;
    c.retry_periods = 3;
    llmopt_cache_adapt a;
    char why[300];
    CU_ASSERT_FATAL(llmopt_cache_adapt_init(&a, &c, NULL, 0) == LLMOPT_OK);
    llmopt_cache_period p = {.requests = 1000, .hits = 300, .hit_q_n = 300, .miss_q_n = 700,
                             .hit_q_mean = 0.62, .miss_q_mean = 0.80};
    /* gap 0.18 > 0.05: 600 s -> 300 s -> 150 s -> off */
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, why, sizeof(why)), 1);
    CU_ASSERT_EQUAL(a.ttl_ms, 300000);
    CU_ASSERT_STRING_EQUAL(why, "cached answers score 0.620 vs fresh 0.800 (gap 0.180 > margin "
                                "0.050, 300/700 samples, hit rate 30.00 %): TTL 600 s -> 300 s");
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 1);
    CU_ASSERT_EQUAL(a.ttl_ms, 150000);
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, why, sizeof(why)), 1);
    CU_ASSERT(!a.enabled);
    CU_ASSERT(strstr(why, "caching off") != NULL);
    /* off: two quiet periods, the third turns it back on at the minimum TTL */
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 0);
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 0);
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, why, sizeof(why)), 1);
    CU_ASSERT(a.enabled);
    CU_ASSERT_EQUAL(a.ttl_ms, 150000);
    /* hits now score as fresh ones (gap 0.01 <= 0.025): 150 -> 300 -> 600, then stays */
    p.hit_q_mean = 0.79;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, why, sizeof(why)), 1);
    CU_ASSERT_EQUAL(a.ttl_ms, 300000);
    CU_ASSERT(strstr(why, "score as fresh ones") != NULL);
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 1);
    CU_ASSERT_EQUAL(a.ttl_ms, 600000);
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 0);
    /* in the hysteresis band (0.025 < gap 0.04 <= 0.05): stays */
    p.hit_q_mean = 0.76;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 0);
    /* too few hit samples to judge quality */
    p.hit_q_mean = 0.2, p.hit_q_n = 29;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 0);
    /* too few requests for anything */
    p.hit_q_n = 300, p.requests = 29;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, NULL, 0), 0);
    CU_ASSERT_EQUAL(a.ttl_ms, 600000);
}

static void test_cache_hit_rate_and_validation(void) {
    llmopt_cache_adapt_config c;
    llmopt_cache_adapt_config_default(&c);
    c.min_hit_rate = 0.01;
    llmopt_cache_adapt a;
    char why[300];
    CU_ASSERT_FATAL(llmopt_cache_adapt_init(&a, &c, NULL, 0) == LLMOPT_OK);
    llmopt_cache_period p = {.requests = 1000, .hits = 5};
    CU_ASSERT_EQUAL(llmopt_cache_adapt_judge(&a, &p, why, sizeof(why)), 1);
    CU_ASSERT_STRING_EQUAL(why, "hit rate 0.50 % < 1.00 % over 1000 requests: caching off");
    CU_ASSERT(!a.enabled);
    c.min_ttl_ms = 0;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_init(&a, &c, why, sizeof(why)), LLMOPT_ERR_RANGE);
    llmopt_cache_adapt_config_default(&c);
    c.max_ttl_ms = c.ttl_ms - 1;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_init(&a, &c, why, sizeof(why)), LLMOPT_ERR_RANGE);
    llmopt_cache_adapt_config_default(&c);
    c.lengthen = 1;
    CU_ASSERT_EQUAL(llmopt_cache_adapt_init(&a, &c, why, sizeof(why)), LLMOPT_ERR_RANGE);
}

static void test_batch(void) {
    llmopt_batch_adapt_config c;
    llmopt_batch_adapt_config_default(&c);
    c.initial = 8, c.min_batch = 2, c.max_bound = 10, c.target_p95_ms = 1000;
    llmopt_batch_adapt a;
    char why[200];
    CU_ASSERT_FATAL(llmopt_batch_adapt_init(&a, &c, NULL, 0) == LLMOPT_OK);
    /* over the target: floor(8 * 0.75) = 6, then 4, 3, 2, 2 */
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 1200, why, sizeof(why)), 1);
    CU_ASSERT_EQUAL(a.max_batch, 6);
    CU_ASSERT_STRING_EQUAL(why, "per-item p95 1200 ms over 100 items, above the target 1000 ms: "
                                "max batch 8 -> 6");
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 1200, NULL, 0), 1);
    CU_ASSERT_EQUAL(a.max_batch, 4);
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 1200, NULL, 0), 1);
    CU_ASSERT_EQUAL(a.max_batch, 3);
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 1200, NULL, 0), 1);
    CU_ASSERT_EQUAL(a.max_batch, 2);
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 1200, NULL, 0), 0);
    /* between 800 and 1000 ms: stays; below 800: +1 up to 10 */
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 900, NULL, 0), 0);
    for (int i = 0; i < 8; i++)
        CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 500, NULL, 0), 1);
    CU_ASSERT_EQUAL(a.max_batch, 10);
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, 500, NULL, 0), 0);
    /* unknown p95 or too few items: nothing */
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 100, NAN, NULL, 0), 0);
    CU_ASSERT_EQUAL(llmopt_batch_adapt_judge(&a, 19, 5000, NULL, 0), 0);
    CU_ASSERT_EQUAL(a.max_batch, 10);
    /* windows served above the current max batch predate it */
    CU_ASSERT(llmopt_batch_adapt_window_current(&a, NAN));
    CU_ASSERT(llmopt_batch_adapt_window_current(&a, 1));
    CU_ASSERT(llmopt_batch_adapt_window_current(&a, 9.5));
    CU_ASSERT(llmopt_batch_adapt_window_current(&a, 10));
    CU_ASSERT(!llmopt_batch_adapt_window_current(&a, 10.01));
    CU_ASSERT(!llmopt_batch_adapt_window_current(&a, 14.2));
    CU_ASSERT(llmopt_batch_adapt_window_current(&a, INFINITY)); /* not a mean: as unreported */
    c.initial = 11;
    CU_ASSERT_EQUAL(llmopt_batch_adapt_init(&a, &c, why, sizeof(why)), LLMOPT_ERR_RANGE);
    c.initial = 8, c.headroom = 1;
    CU_ASSERT_EQUAL(llmopt_batch_adapt_init(&a, &c, why, sizeof(why)), LLMOPT_ERR_RANGE);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("adapt", NULL, NULL);
    CU_add_test(s, "rate_steps", test_rate_steps);
    CU_add_test(s, "rate_capacity_halves", test_rate_capacity_halves);
    CU_add_test(s, "rate_validation", test_rate_validation);
    CU_add_test(s, "cache_rules", test_cache_rules);
    CU_add_test(s, "cache_hit_rate_and_validation", test_cache_hit_rate_and_validation);
    CU_add_test(s, "batch", test_batch);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
