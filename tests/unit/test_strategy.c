/* test_strategy.c - CUnit suite for controller/strategy through the real
 * policy parser and route: windows in, adapted limits / cache / batching
 * out in the filled RoutingDecision (which the gateway library must
 * accept), each change with its reason; policy errors name the path. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/route.h"
#include "gateway/include/llmopt_gateway.h"

static const char *POLICY =
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\","
    "\"constraints\":{\"max_p95_latency_ms\":2000},"
    "\"arms\":[{\"id\":\"a\",\"provider\":\"openai\",\"model\":\"m1\",\"weight\":3},"
    "{\"id\":\"b\",\"provider\":\"openai\",\"model\":\"m2\",\"weight\":1},"
    "{\"id\":\"c\",\"provider\":\"anthropic\",\"model\":\"m3\",\"weight\":0}],"
    "\"rate_limits\":{\"global\":{\"requests_per_s\":100,\"requests_burst\":50},"
    "\"per_tenant\":{\"requests_per_s\":40},\"priority_weights\":{\"low\":0.2},"
    "\"on_limit\":\"degrade\",\"retry_after_ms\":500,"
    "\"adaptive\":{\"min_rps\":10,\"max_rps\":300,\"period_ms\":10000}},"
    "\"cache\":{\"ttl_ms\":400000,\"max_entries\":500,\"exclude\":[\"code*\"],"
    "\"adaptive\":{\"min_ttl_ms\":100000,\"period_ms\":10000}},"
    "\"batching\":{\"max_batch\":8,\"max_wait_ms\":15,"
    "\"adaptive\":{\"min_batch\":2,\"max_batch\":16,\"target_p95_ms\":1000,"
    "\"period_ms\":10000}}}]}";

static llmopt_window_metrics win(const char *arm, int64_t end_ms, int64_t n, int64_t limited,
                                 int64_t hits, double hq, double mq, double p95) {
    llmopt_window_metrics m;
    memset(&m, 0, sizeof(m));
    m.metrics_id = llmopt_str_of("w");
    m.route = llmopt_str_of("chat");
    m.arm = llmopt_str_of(arm);
    m.window_start_ms = end_ms - 5000;
    m.window_end_ms = end_ms;
    m.window_kind = LLMOPT_WINDOW_TUMBLING;
    m.size_ms = m.advance_ms = 5000;
    m.count = n;
    m.ok_count = n - limited;
    m.rate_limited_count = limited;
    m.quality_count = n - limited;
    m.has_quality_mean = true;
    m.quality_mean = mq;
    m.cache_hits = hits;
    m.has_cache_hit_quality_mean = hits > 0;
    m.cache_hit_quality_mean = hq;
    m.has_cache_miss_quality_mean = true;
    m.cache_miss_quality_mean = mq;
    m.has_latency_p95_ms = true;
    m.latency_p95_ms = p95;
    return m;
}

static void test_adapt_and_fill(void) {
    char err[256];
    llmopt_policy *pol = llmopt_policy_parse(POLICY, strlen(POLICY), NULL, 0, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(pol);
    const llmopt_policy_route *pr = &pol->routes[0];
    CU_ASSERT(pr->strat.rate_adaptive && pr->strat.cache_adaptive && pr->strat.batch_adaptive);
    CU_ASSERT_DOUBLE_EQUAL(pr->strat.batch.target_p95_ms, 1000, 1e-9);
    llmopt_route *r = llmopt_route_new(pr, 1, 1000, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    llmopt_route_decision d;
    CU_ASSERT(llmopt_route_decide(r, 1000, &d) >= 0);
    /* static weights ~0.75 / 0.25 and arm c at its exploration floor: the
     * route rate at which openai receives its 100 req/s, which binds:
     * 100 / (w_a + w_b) (anthropic: 100 / w_c is larger) */
    double openai = d.w[0] + d.w[1];
    CU_ASSERT(openai > 0.9 && openai < 1 && d.w[2] > 0);
    llmopt_routing_decision rec;
    llmopt_route_fill(r, &d, 1, 1000, false, &rec);
    CU_ASSERT_FATAL(rec.has_rate_limits && rec.has_cache_policy && rec.has_batching);
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.global.requests_per_s, 100 / openai, 1e-9);
    CU_ASSERT_EQUAL(rec.rate_limits.on_limit, LLMOPT_ON_LIMIT_DEGRADE);
    CU_ASSERT_EQUAL(rec.rate_limits.priority_weights.count, 4);
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.priority_weights.items[3].value, 0.2, 1e-12);
    CU_ASSERT(rec.rate_limits.has_per_tenant && !rec.rate_limits.has_per_user);
    CU_ASSERT(rec.cache_policy.enabled);
    CU_ASSERT_EQUAL(rec.cache_policy.ttl_ms, 400000);
    CU_ASSERT_EQUAL(rec.cache_policy.exclude_patterns.count, 1);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 8);
    CU_ASSERT_EQUAL(llmopt_gw_validate(&rec, NULL, err, sizeof(err)), LLMOPT_GW_REJECT_NONE);
    llmopt_route_commit(r, &d, 1, 1000);

    /* period [0, 10 s): openai 10 % rate-limited, hits score 0.5 vs 0.8, p95
     * 1500 ms > 1000 (within the 2000 ms constraint) */
    llmopt_window_metrics m;
    m = win("a", 5000, 300, 30, 100, 0.5, 0.8, 1500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    m = win("b", 10000, 100, 10, 30, 0.5, 0.8, 1500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    /* the window ending on the period's end judges it at once */
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 1050, &d), 1);
    CU_ASSERT(strstr(d.reason, "100 -> 90 req/s") != NULL);
    m = win("a", 15000, 300, 0, 100, 0.8, 0.8, 500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 1100, &d), 1);
    CU_ASSERT(strstr(d.reason, "rate limit of provider 'openai': rate-limited+error share "
                               "10.00 % of 400 responses > target 1.00 %: 100 -> 90 req/s") !=
              NULL);
    CU_ASSERT(strstr(d.reason, "cache: cached answers score 0.500 vs fresh 0.800") != NULL);
    CU_ASSERT(strstr(d.reason, "TTL 400 s -> 200 s") != NULL);
    CU_ASSERT(strstr(d.reason, "batching: per-item p95 1500 ms over 400 items") != NULL);
    llmopt_route_fill(r, &d, 2, 1100, false, &rec);
    openai = d.w[0] + d.w[1];
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.global.requests_per_s, 90 / openai, 1e-9);
    CU_ASSERT_DOUBLE_EQUAL(rec.rate_limits.global.requests_burst, 50 * 0.9 / openai, 1e-9);
    CU_ASSERT_EQUAL(rec.cache_policy.ttl_ms, 200000);
    CU_ASSERT_EQUAL(rec.batching.max_batch, 6);
    CU_ASSERT_EQUAL(llmopt_gw_validate(&rec, NULL, err, sizeof(err)), LLMOPT_GW_REJECT_NONE);
    llmopt_route_commit(r, &d, 2, 1100);

    /* a hopping window is ignored (no double counting) */
    m = win("a", 20000, 1000, 1000, 0, 0.8, 0.8, 9000);
    m.window_kind = LLMOPT_WINDOW_HOPPING;
    m.window_start_ms = 0;
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    /* period [10 s, 20 s): clean -> limit x1.1; hits score as fresh ones
     * (130 hit samples) -> TTL lengthens; p95 500 < 0.8 x 1000 -> +1 */
    m = win("b", 20000, 100, 0, 30, 0.8, 0.8, 500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    m = win("a", 25000, 100, 0, 0, 0.8, 0.8, 500);
    CU_ASSERT_EQUAL(llmopt_route_metrics(r, &m, 1000, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_route_decide(r, 1200, &d), 1);
    CU_ASSERT(strstr(d.reason, "<= target 1.00 %: 90 -> 99 req/s") != NULL);
    CU_ASSERT(strstr(d.reason, "TTL 200 s -> 400 s") != NULL);
    CU_ASSERT(strstr(d.reason, "max batch 6 -> 7") != NULL);
    llmopt_route_destroy(r);
    llmopt_policy_destroy(pol);
}

static void test_policy_errors(void) {
    char err[256];
    const char *bad[][2] = {
        {"\"rate_limits\":{\"adaptive\":{}}", "needs a global limit"},
        {"\"rate_limits\":{\"global\":{\"requests_per_s\":10},\"on_limit\":\"drop\"}",
         "unknown action 'drop'"},
        {"\"rate_limits\":{\"global\":{\"requests_per_s\":10},\"adaptive\":{\"min_rps\":20}}",
         "initial_rps"},
        {"\"cache\":{\"ttl_ms\":1000,\"adaptive\":{\"min_ttl_ms\":5000}}", "cache: ttl_ms"},
        {"\"batching\":{\"max_batch\":8,\"adaptive\":{\"max_batch\":4}}", "batching:"},
        {"\"cache\":{\"tll_ms\":1000}", "cache.tll_ms: unknown member"},
        {"\"cache\":{\"ttl_ms\":700000000}", "cache.ttl_ms: value"},
        {"\"batching\":{\"max_batch\":2000}", "batching.max_batch: value"},
        {"\"rate_limits\":{\"global\":{\"requests_per_s\":10,\"tokens_per_min\":100,"
         "\"tokens_burst\":0}}",
         "both be set"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char js[1024];
        snprintf(js, sizeof(js),
                 "{\"routes\":[{\"route\":\"x\",\"arms\":[{\"id\":\"a\",\"provider\":\"p\","
                 "\"model\":\"m\"}],%s}]}",
                 bad[i][0]);
        err[0] = 0;
        llmopt_policy *p = llmopt_policy_parse(js, strlen(js), NULL, 0, err, sizeof(err));
        CU_ASSERT_PTR_NULL(p);
        if (!strstr(err, bad[i][1]))
            fprintf(stderr, "case %zu: '%s'\n", i, err);
        CU_ASSERT(strstr(err, bad[i][1]) != NULL);
        llmopt_policy_destroy(p);
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("strategy", NULL, NULL);
    CU_add_test(s, "adapt_and_fill", test_adapt_and_fill);
    CU_add_test(s, "policy_errors", test_policy_errors);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
