/* test_sim_stats.c - CUnit suite for tools/simulate_stats: shares over
 * buckets, the re-routing time and capture, computed by hand. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/simulate_stats.h"

#define ARM(id) "{\"id\":\"" id "\",\"latency\":{\"median_ms\":500},\"quality\":{\"mean\":0.7}," \
                "\"price_in_per_1k\":0,\"price_out_per_1k\":0}"

static llmopt_sim_scenario *scen(void) {
    const char *js = "{\"name\":\"st\",\"duration\":100,\"routes\":[{\"name\":\"r\",\"arms\":[" ARM("x")
                     "," ARM("y") "]}],\"changes\":[{\"at\":50,\"arm\":\"x\",\"error_rate\":0.9}]}";
    char err[256] = "";
    llmopt_sim_scenario *s = llmopt_sim_scenario_parse(js, strlen(js), "st", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    return s;
}

/* 10 requests per second; `x` of them to arm 0 */
static void second(llmopt_sim_stats *st, int t, int x) {
    for (int i = 0; i < 10; i++)
        llmopt_sim_stats_record(st, 0, i < x ? 0 : 1, t * 1000 + i * 100, 0.5, 0.55, 0.8, 0.6);
}

static void test_reroute_and_capture(void) {
    llmopt_sim_scenario *s = scen();
    llmopt_sim_stats *st = llmopt_sim_stats_new(s, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    for (int t = 0; t < 100; t++)
        second(st, t, t < 53 ? 8 : 1);
    llmopt_sim_stats_change(st, 0, 0, 0, false);
    /* trailing windows from T=50: t=54 (24+1)/40, t=55 26/50, t=56 (16+3)/50 = 0.38 <= 0.4 */
    size_t n;
    const llmopt_sim_change_figures *f = llmopt_sim_stats_changes(st, &n);
    CU_ASSERT_EQUAL_FATAL(n, 1);
    CU_ASSERT_DOUBLE_EQUAL(f[0].share_before, 0.8, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(f[0].share_after, 71.0 / 500.0, 1e-12);
    CU_ASSERT_EQUAL(f[0].reroute_ms, 6000);
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_stats_share(st, 0, 1, 0, 10000, NULL), 0.2, 1e-12);
    uint64_t cnt;
    CU_ASSERT(isnan(llmopt_sim_stats_share(st, 0, 0, 200000, 300000, &cnt)));
    CU_ASSERT_EQUAL(cnt, 0);
    llmopt_sim_route_figures rf;
    llmopt_sim_stats_route(st, 0, &rf);
    CU_ASSERT_EQUAL(rf.requests, 1000);
    CU_ASSERT_EQUAL(rf.arm_requests[0], 53 * 8 + 47);
    CU_ASSERT_DOUBLE_EQUAL(rf.reward_mean, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(rf.expected_mean, 0.55, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(rf.capture, 0.625, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(rf.uniform_mean, 0.6, 1e-12);
    /* writers produce the expected shapes */
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    llmopt_sim_stats_write_summary(st, m);
    fclose(m);
    CU_ASSERT(strstr(buf, "\"capture\":0.625") != NULL);
    CU_ASSERT(strstr(buf, "\"reroute_s\":6}") != NULL);
    CU_ASSERT(strstr(buf, "\"target\":\"away\"") != NULL);
    free(buf);
    llmopt_sim_stats_count(st, 0, 10, LLMOPT_SIM_RESPONSES);
    llmopt_sim_stats_count(st, 0, 20, LLMOPT_SIM_RESPONSES);
    llmopt_sim_stats_count(st, 0, 30, LLMOPT_SIM_RESPONSES);
    llmopt_sim_stats_count(st, 0, 40, LLMOPT_SIM_CACHE_HITS);
    llmopt_sim_stats_count(st, 0, 50, LLMOPT_SIM_LIMITED);
    llmopt_sim_stats_count(st, 0, 60, LLMOPT_SIM_N_COUNTS); /* ignored */
    llmopt_sim_route_figures rfc;
    llmopt_sim_stats_route(st, 0, &rfc);
    CU_ASSERT_EQUAL(rfc.counts[LLMOPT_SIM_RESPONSES], 3);
    CU_ASSERT_EQUAL(rfc.counts[LLMOPT_SIM_CACHE_HITS], 1);
    m = open_memstream(&buf, &len);
    llmopt_sim_stats_write_shares(st, 1000000, m);
    fclose(m);
    {
        const char *want = "{\"t_s\":0.000,\"ts_ms\":1000000,\"route\":\"r\",\"n\":10,"
                           "\"arms\":{\"x\":8,\"y\":2},\"responses\":3,\"cache_hits\":1,"
                           "\"limited\":1,\"denied\":0}\n";
        CU_ASSERT(strncmp(buf, want, strlen(want)) == 0);
    }
    free(buf);
    /* batching counters: two batches (of 2 and of 4) by close time; six
     * responses with their batch sizes by response time */
    llmopt_sim_stats_count(st, 0, 100, LLMOPT_SIM_BATCHES);
    llmopt_sim_stats_count(st, 0, 1100, LLMOPT_SIM_BATCHES);
    for (int i = 0; i < 2; i++) {
        llmopt_sim_stats_count(st, 0, 500, LLMOPT_SIM_BATCHED);
        llmopt_sim_stats_add(st, 0, 500, LLMOPT_SIM_BATCH_ITEMS, 2);
    }
    for (int i = 0; i < 4; i++) {
        llmopt_sim_stats_count(st, 0, 1500, LLMOPT_SIM_BATCHED);
        llmopt_sim_stats_add(st, 0, 1500, LLMOPT_SIM_BATCH_ITEMS, 4);
    }
    llmopt_sim_stats_route(st, 0, &rfc);
    CU_ASSERT_EQUAL(rfc.counts[LLMOPT_SIM_BATCHES], 2);
    CU_ASSERT_EQUAL(rfc.counts[LLMOPT_SIM_BATCHED], 6);
    CU_ASSERT_EQUAL(rfc.counts[LLMOPT_SIM_BATCH_ITEMS], 20);
    m = open_memstream(&buf, &len);
    llmopt_sim_stats_write_shares(st, 1000000, m);
    fclose(m);
    CU_ASSERT(strstr(buf, "\"denied\":0,\"batched\":2,\"batch_items\":4,\"batches\":1}\n") !=
              NULL);
    free(buf);
    m = open_memstream(&buf, &len);
    llmopt_sim_stats_write_summary(st, m);
    fclose(m);
    /* per response: (2*2 + 4*4) / 6 */
    CU_ASSERT(strstr(buf, "\"batches\":2,\"batched\":6,\"batch_size_mean\":3.33333,") != NULL);
    free(buf);
    m = open_memstream(&buf, &len);
    llmopt_sim_stats_write_text(st, m);
    fclose(m);
    CU_ASSERT(strstr(buf, "batches 2, 3.00 requests per batch, batch size 3.33 per response") !=
              NULL);
    CU_ASSERT(strstr(buf, "moved in 6 s") != NULL);
    CU_ASSERT(strstr(buf, " 62.5 %") != NULL);
    free(buf);
    llmopt_sim_stats_destroy(st);
    llmopt_sim_stats_destroy(NULL);
    llmopt_sim_scenario_destroy(s);
}

static void test_never_moves_and_sparse(void) {
    llmopt_sim_scenario *s = scen();
    llmopt_sim_stats *st = llmopt_sim_stats_new(s, 1000);
    CU_ASSERT_PTR_NOT_NULL_FATAL(st);
    /* target best (1): share 0.2 must reach 0.6; it stays at 0.5 */
    for (int t = 0; t < 100; t++)
        second(st, t, t < 50 ? 2 : 5);
    /* an out-of-range offset and an unknown arm are counted, not lost */
    llmopt_sim_stats_record(st, 0, -1, 500000, 0, 0, 0.8, 0.6);
    llmopt_sim_stats_change(st, 0, 0, 0, true);
    size_t n;
    const llmopt_sim_change_figures *f = llmopt_sim_stats_changes(st, &n);
    CU_ASSERT_EQUAL(f[0].reroute_ms, -1);
    CU_ASSERT_DOUBLE_EQUAL(f[0].share_before, 0.2, 1e-12);
    llmopt_sim_route_figures rf;
    llmopt_sim_stats_route(st, 0, &rf);
    CU_ASSERT_EQUAL(rf.unknown_arm, 1);
    CU_ASSERT_EQUAL(rf.requests, 1001);
    llmopt_sim_stats_destroy(st);
    /* with fewer than 20 requests per window nothing is decided */
    st = llmopt_sim_stats_new(s, 1000);
    for (int t = 0; t < 100; t++)
        llmopt_sim_stats_record(st, 0, t < 50 ? 0 : 1, t * 1000, 0, 0, 0, 0);
    llmopt_sim_stats_change(st, 0, 0, 0, false);
    f = llmopt_sim_stats_changes(st, &n);
    CU_ASSERT_EQUAL(f[0].reroute_ms, -1);
    CU_ASSERT_PTR_NULL(llmopt_sim_stats_new(s, 0));
    llmopt_sim_stats_destroy(st);
    llmopt_sim_scenario_destroy(s);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("sim_stats", NULL, NULL);
    CU_add_test(s, "reroute_and_capture", test_reroute_and_capture);
    CU_add_test(s, "never_moves_and_sparse", test_never_moves_and_sparse);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
