/* test_breaker.c - CUnit suite for controller/core/breaker: the full state
 * sequence closed -> open -> half_open -> open (doubled cooldown) ->
 * half_open -> closed, outages and their settling, anomalies, the backoff cap, allocation roles,
 * transition records and the checkpoint round trip. */
#include <CUnit/Basic.h>
#include <string.h>

#include "controller/core/breaker.h"

static void test_sequence(void) {
    llmopt_breaker_config c;
    llmopt_breaker_config_default(&c);
    c.cooldown_ms = 1000;
    c.max_cooldown_ms = 3000;
    llmopt_breaker br;
    CU_ASSERT_FATAL(llmopt_breaker_init(&br, &c, 0, NULL, 0) == LLMOPT_OK);
    llmopt_breaker_transition tr;
    llmopt_alloc_arm a = {LLMOPT_ALLOC_FLOAT, 0.3, 0.01, 0};
    llmopt_breaker_alloc(&br, &a);
    CU_ASSERT_EQUAL(a.role, LLMOPT_ALLOC_FLOAT);

    /* too few requests to judge; then a rate at the limit does not trip */
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 10, 19, 19, &tr), 0);
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 20, 100, 20, &tr), 0);
    /* surge: 30 % errors -> OPEN for 1000 ms */
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 30, 100, 30, &tr), 1);
    CU_ASSERT_EQUAL(tr.from, LLMOPT_BREAKER_CLOSED);
    CU_ASSERT_EQUAL(tr.to, LLMOPT_BREAKER_OPEN);
    CU_ASSERT_EQUAL(tr.ts_ms, 30);
    CU_ASSERT_STRING_EQUAL(tr.reason, "error rate 0.3000 > 0.2000 over 100 requests");
    CU_ASSERT_EQUAL(br.open_until_ms, 1030);
    llmopt_breaker_alloc(&br, &a);
    CU_ASSERT_EQUAL(a.role, LLMOPT_ALLOC_OFF);
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 40, 100, 100, &tr), 0); /* ignored while open */
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 1029, &tr), 0);
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 1030, &tr), 1);
    CU_ASSERT_EQUAL(tr.to, LLMOPT_BREAKER_HALF_OPEN);
    CU_ASSERT_STRING_EQUAL(tr.reason, "cooldown of 1000 ms elapsed");
    llmopt_breaker_alloc(&br, &a);
    CU_ASSERT_EQUAL(a.role, LLMOPT_ALLOC_FIXED);
    CU_ASSERT_EQUAL(a.fixed, 0.02);

    /* probe fails: 5 of 20 -> OPEN with the cooldown doubled to 2000 */
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 1100, 10, 2, &tr), 0);
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 1200, 10, 3, &tr), 1);
    CU_ASSERT_EQUAL(tr.from, LLMOPT_BREAKER_HALF_OPEN);
    CU_ASSERT_EQUAL(tr.to, LLMOPT_BREAKER_OPEN);
    CU_ASSERT_STRING_EQUAL(tr.reason, "probe failed: error rate 0.2500 > 0.2000 over 20 requests");
    CU_ASSERT_EQUAL(br.cur_cooldown_ms, 2000);
    CU_ASSERT_EQUAL(br.open_until_ms, 3200);
    /* the arm is in an error outage: anomalies are measured against the
     * outage's baseline and change nothing, open or half-open */
    CU_ASSERT(llmopt_breaker_in_outage(&br));
    CU_ASSERT_EQUAL(llmopt_breaker_anomaly(&br, 2000, "latency z 7", &tr), 0);
    CU_ASSERT_EQUAL(br.open_until_ms, 3200);
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 3199, &tr), 0);
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 3200, &tr), 1);
    CU_ASSERT_EQUAL(llmopt_breaker_anomaly(&br, 3300, "p95_latency_ms up 20 -> 640", &tr), 0);
    CU_ASSERT_EQUAL(br.state, LLMOPT_BREAKER_HALF_OPEN);
    /* probe fails again: cooldown capped at 3000 */
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 3400, 20, 20, &tr), 1);
    CU_ASSERT_EQUAL(br.cur_cooldown_ms, 3000);
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 6400, &tr), 1);
    /* probe passes: 1 of 25 -> CLOSED, cooldown back to 1000; the outage
     * settles over settle_windows (5) of the arm's windows */
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 7200, 25, 1, &tr), 1);
    CU_ASSERT_EQUAL(tr.to, LLMOPT_BREAKER_CLOSED);
    CU_ASSERT_STRING_EQUAL(tr.reason, "probe passed: error rate 0.0400 <= 0.2000 over 25 requests");
    CU_ASSERT_EQUAL(br.cur_cooldown_ms, 1000);
    CU_ASSERT_EQUAL(br.transitions, 7);
    CU_ASSERT_STRING_EQUAL(llmopt_breaker_state_names[br.last.from], "half_open");
    CU_ASSERT_EQUAL(br.settle_left, 5);
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 7300 + i, 50, 0, &tr), 0);
        CU_ASSERT_EQUAL(llmopt_breaker_anomaly(&br, 7300 + i, "latency z 9", &tr), 0);
    }
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 7310, 0, 0, &tr), 0); /* empty: not counted */
    CU_ASSERT(llmopt_breaker_in_outage(&br));
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 7320, 50, 1, &tr), 0);
    CU_ASSERT(!llmopt_breaker_in_outage(&br));
    CU_ASSERT_EQUAL(br.settle_left, 0);
    /* settled: an anomaly trips it (base cooldown), an anomaly while open
     * restarts the cooldown, an anomaly during the probe doubles it */
    CU_ASSERT_EQUAL(llmopt_breaker_anomaly(&br, 8000, "quality_mean down", &tr), 1);
    CU_ASSERT_STRING_EQUAL(tr.reason, "anomaly: quality_mean down");
    CU_ASSERT_EQUAL(br.open_until_ms, 9000);
    CU_ASSERT(!llmopt_breaker_in_outage(&br));
    CU_ASSERT_EQUAL(llmopt_breaker_anomaly(&br, 8500, "latency z 7", &tr), 0);
    CU_ASSERT_EQUAL(br.open_until_ms, 9500);
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 9499, &tr), 0);
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 9500, &tr), 1);
    CU_ASSERT_EQUAL(llmopt_breaker_anomaly(&br, 9600, "error_rate drift (adwin)", &tr), 1);
    CU_ASSERT_STRING_EQUAL(tr.reason, "anomaly: error_rate drift (adwin)");
    CU_ASSERT_EQUAL(br.cur_cooldown_ms, 2000);
    CU_ASSERT_EQUAL(br.transitions, 10);
    /* a passed probe after anomaly-only opens starts no settling */
    CU_ASSERT_EQUAL(llmopt_breaker_tick(&br, 11600, &tr), 1);
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 11700, 25, 0, &tr), 1);
    CU_ASSERT_EQUAL(br.settle_left, 0);
    CU_ASSERT(!llmopt_breaker_in_outage(&br));
    /* set_state to the current state records nothing */
    CU_ASSERT_EQUAL(llmopt_breaker_set_state(&br, LLMOPT_BREAKER_CLOSED, 12000, "noop", &tr), 0);
    CU_ASSERT_EQUAL(br.transitions, 12);
    /* an error surge while settling restarts the outage */
    llmopt_breaker_observe(&br, 12100, 100, 90, &tr);
    llmopt_breaker_tick(&br, 14000, &tr);
    llmopt_breaker_observe(&br, 14100, 30, 0, &tr);
    CU_ASSERT_EQUAL(br.settle_left, 5);
    CU_ASSERT_EQUAL(llmopt_breaker_observe(&br, 14200, 100, 50, &tr), 1);
    CU_ASSERT_EQUAL(br.settle_left, 0);
    CU_ASSERT(llmopt_breaker_in_outage(&br));
}

static void test_roundtrip_and_validation(void) {
    llmopt_breaker_config c;
    llmopt_breaker_config_default(&c);
    llmopt_breaker br, b2;
    char err[128];
    CU_ASSERT_FATAL(llmopt_breaker_init(&br, &c, 5, err, sizeof(err)) == LLMOPT_OK);
    llmopt_breaker_anomaly(&br, 10, "quality drop", NULL);
    llmopt_breaker_tick(&br, 40000, NULL);
    llmopt_breaker_observe(&br, 40010, 7, 1, NULL);
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_breaker_serialize(&br, &w1);
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, w1.data, w1.len);
    CU_ASSERT_EQUAL(llmopt_breaker_deserialize(&b2, &r, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(r.left, 0);
    llmopt_breaker_serialize(&b2, &w2);
    CU_ASSERT(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
    CU_ASSERT_EQUAL(b2.state, LLMOPT_BREAKER_HALF_OPEN);
    CU_ASSERT_EQUAL(b2.probe_n, 7);
    /* a settling arm round-trips its outage */
    llmopt_breaker_init(&br, &c, 5, err, sizeof(err));
    llmopt_breaker_observe(&br, 10, 100, 100, NULL);
    llmopt_breaker_tick(&br, 40010, NULL);
    llmopt_breaker_observe(&br, 40020, 30, 0, NULL);
    llmopt_breaker_observe(&br, 40030, 30, 0, NULL);
    CU_ASSERT_EQUAL(br.settle_left, 4);
    llmopt_wbuf_release(&w2);
    llmopt_wbuf_init(&w2);
    llmopt_breaker_serialize(&br, &w2);
    llmopt_rbuf_init(&r, w2.data, w2.len);
    CU_ASSERT_EQUAL(llmopt_breaker_deserialize(&b2, &r, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(b2.outage == 1 && b2.settle_left == 4 && b2.cfg.settle_windows == 5);
    /* settling while not closed is inconsistent */
    w2.data[w2.len - 4 - 1] = 0; /* outage 0 with settle_left 4 */
    llmopt_rbuf_init(&r, w2.data, w2.len);
    CU_ASSERT_EQUAL(llmopt_breaker_deserialize(&b2, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);

    CU_ASSERT_STRING_EQUAL(b2.last.reason, br.last.reason);
    for (size_t n = 0; n < w1.len; n++) {
        llmopt_rbuf_init(&r, w1.data, n);
        CU_ASSERT_NOT_EQUAL(llmopt_breaker_deserialize(&b2, &r, err, sizeof(err)), LLMOPT_OK);
    }
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
    c.half_open_weight = 1.0;
    CU_ASSERT_EQUAL(llmopt_breaker_init(&br, &c, 0, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "half_open_weight") != NULL);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("breaker", NULL, NULL);
    CU_add_test(s, "sequence", test_sequence);
    CU_add_test(s, "roundtrip_and_validation", test_roundtrip_and_validation);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
