/* test_canary.c - CUnit suite for controller/core/canary: a clean ramp
 * 10 -> 25 -> 50 -> 100 % gated by duration and samples, each guardrail
 * rolling back, a drift signal rolling back, custom steps, and the
 * checkpoint round trip. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "controller/core/canary.h"

static llmopt_canary_obs ob(uint64_t n, uint64_t e, double q, double p95, double cost) {
    llmopt_canary_obs o = {n, e, q, p95, cost};
    return o;
}

static llmopt_canary mk(void) {
    llmopt_canary_config c;
    llmopt_canary_config_default(&c);
    c.min_step_ms = 1000;
    c.min_step_samples = 300;
    llmopt_canary k;
    CU_ASSERT_FATAL(llmopt_canary_init(&k, &c, 0, NULL, 0) == LLMOPT_OK);
    return k;
}

static void test_clean_ramp(void) {
    llmopt_canary k = mk();
    llmopt_canary_transition tr;
    int ch;
    CU_ASSERT_EQUAL(llmopt_canary_share(&k), 0.0);
    llmopt_canary_obs a = ob(100, 1, 0.80, 900, 0.002), b = ob(900, 9, 0.80, 1000, 0.002);
    CU_ASSERT_EQUAL(llmopt_canary_observe(&k, 0, &a, &b, &ch, &tr), LLMOPT_OK); /* idle: ignored */
    CU_ASSERT_EQUAL(ch, 0);
    CU_ASSERT_EQUAL(llmopt_canary_start(&k, 0, &tr), 1);
    CU_ASSERT_STRING_EQUAL(tr.reason, "ramp started at share 0.10");
    const double want[4] = {0.10, 0.25, 0.50, 1.00};
    int64_t t = 0;
    for (int step = 0; step < 4; step++) {
        CU_ASSERT_EQUAL(llmopt_canary_share(&k), want[step]);
        /* 3 windows of 100: samples reached at t+300 but duration only at t+1000 */
        for (int i = 1; i <= 3; i++) {
            CU_ASSERT(llmopt_canary_observe(&k, t + 100 * i, &a, &b, &ch, &tr) == 0);
            CU_ASSERT_EQUAL(ch, 0);
        }
        t += 1000;
        CU_ASSERT(llmopt_canary_observe(&k, t, &a, &b, &ch, &tr) == 0);
        CU_ASSERT_EQUAL(ch, 1);
        CU_ASSERT_EQUAL(tr.step_from, (uint32_t)step);
    }
    CU_ASSERT_EQUAL(k.state, LLMOPT_CANARY_PROMOTED);
    CU_ASSERT_EQUAL(llmopt_canary_share(&k), 1.0);
    CU_ASSERT_STRING_EQUAL(tr.reason, "promoted after step 4: 400 samples over 1000 ms");
    CU_ASSERT_EQUAL(k.transitions, 5);
    CU_ASSERT_EQUAL(llmopt_canary_signal(&k, t + 1, "drift", &tr), 0); /* too late to roll back */
}

static void breach_case(llmopt_canary_obs a, llmopt_canary_obs b, const char *prefix) {
    llmopt_canary k = mk();
    llmopt_canary_transition tr;
    int ch;
    llmopt_canary_start(&k, 0, NULL);
    /* 99 samples: below min_guard_samples, no verdict yet */
    llmopt_canary_obs a99 = a;
    a99.n = 99;
    a99.errors = a.errors * 99 / a.n;
    CU_ASSERT(llmopt_canary_observe(&k, 10, &a99, &b, &ch, &tr) == 0);
    CU_ASSERT_EQUAL(ch, 0);
    CU_ASSERT(llmopt_canary_observe(&k, 20, &a, &b, &ch, &tr) == 0);
    CU_ASSERT_EQUAL(ch, 1);
    CU_ASSERT_EQUAL(k.state, LLMOPT_CANARY_ROLLED_BACK);
    CU_ASSERT_EQUAL(llmopt_canary_share(&k), 0.0);
    CU_ASSERT(strncmp(tr.reason, prefix, strlen(prefix)) == 0);
}

static void test_guardrails(void) {
    llmopt_canary_obs base = ob(1000, 10, 0.80, 1000, 0.002);
    breach_case(ob(100, 4, 0.80, 1000, 0.002), base, "guardrail error rate");   /* +3 pts */
    breach_case(ob(100, 1, 0.80, 1300, 0.002), base, "guardrail p95 latency");  /* x1.3 */
    breach_case(ob(100, 1, 0.77, 1000, 0.002), base, "guardrail quality");      /* -0.03 */
    breach_case(ob(100, 1, 0.80, 1000, 0.0031), base, "guardrail cost");        /* x1.55 */
    /* a NaN metric is not judged; an infinite limit disables a guardrail */
    llmopt_canary k = mk();
    int ch;
    k.cfg.max_latency_ratio = INFINITY;
    llmopt_canary_start(&k, 0, NULL);
    llmopt_canary_obs a = ob(200, 2, NAN, 5000, 0.002);
    CU_ASSERT(llmopt_canary_observe(&k, 10, &a, &base, &ch, NULL) == 0);
    CU_ASSERT_EQUAL(k.state, LLMOPT_CANARY_RAMPING);
    /* bad observations are refused */
    a.errors = 300;
    CU_ASSERT_EQUAL(llmopt_canary_observe(&k, 10, &a, &base, &ch, NULL), LLMOPT_ERR_INVALID);
}

static void test_signal_and_custom_steps(void) {
    llmopt_canary k = mk();
    llmopt_canary_transition tr;
    llmopt_canary_start(&k, 0, NULL);
    CU_ASSERT_EQUAL(llmopt_canary_signal(&k, 50, "latency_ms drift (page_hinkley)", &tr), 1);
    CU_ASSERT_EQUAL(tr.to, LLMOPT_CANARY_ROLLED_BACK);
    CU_ASSERT_STRING_EQUAL(tr.reason, "signal on the new arm: latency_ms drift (page_hinkley)");
    CU_ASSERT_STRING_EQUAL(llmopt_canary_state_names[k.state], "rolled_back");
    CU_ASSERT_EQUAL(llmopt_canary_start(&k, 60, &tr), 0);

    llmopt_canary_config c;
    llmopt_canary_config_default(&c);
    char err[128];
    c.n_steps = 2;
    c.steps[0] = 0.05;
    c.steps[1] = 0.5; /* the last step must be 1 */
    CU_ASSERT_EQUAL(llmopt_canary_init(&k, &c, 0, err, sizeof(err)), LLMOPT_ERR_RANGE);
    c.steps[1] = 1.0;
    c.min_step_ms = 0;
    c.min_step_samples = 0;
    CU_ASSERT_EQUAL(llmopt_canary_init(&k, &c, 0, err, sizeof(err)), LLMOPT_OK);
    llmopt_canary_start(&k, 0, NULL);
    CU_ASSERT_EQUAL(llmopt_canary_share(&k), 0.05);
    llmopt_canary_obs a = ob(100, 0, 0.9, 500, 0.001), b = ob(100, 0, 0.9, 500, 0.001);
    int ch;
    llmopt_canary_observe(&k, 1, &a, &b, &ch, NULL);
    CU_ASSERT_EQUAL(llmopt_canary_share(&k), 1.0);
    llmopt_canary_observe(&k, 2, &a, &b, &ch, NULL);
    CU_ASSERT_EQUAL(k.state, LLMOPT_CANARY_PROMOTED);
}

static void test_roundtrip(void) {
    llmopt_canary k = mk(), k2;
    llmopt_canary_start(&k, 0, NULL);
    llmopt_canary_obs a = ob(50, 1, 0.8, 900, NAN), b = ob(500, 5, 0.8, 1000, 0.002);
    int ch;
    llmopt_canary_observe(&k, 5, &a, &b, &ch, NULL);
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_canary_serialize(&k, &w1);
    llmopt_rbuf r;
    char err[128];
    llmopt_rbuf_init(&r, w1.data, w1.len);
    CU_ASSERT_EQUAL(llmopt_canary_deserialize(&k2, &r, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(r.left, 0);
    llmopt_canary_serialize(&k2, &w2);
    CU_ASSERT(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
    CU_ASSERT_EQUAL(k2.arm.n, 50);
    CU_ASSERT_EQUAL(k2.base.cost_n, 500.0);
    for (size_t n = 0; n < w1.len; n++) {
        llmopt_rbuf_init(&r, w1.data, n);
        CU_ASSERT_NOT_EQUAL(llmopt_canary_deserialize(&k2, &r, err, sizeof(err)), LLMOPT_OK);
    }
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("canary", NULL, NULL);
    CU_add_test(s, "clean_ramp", test_clean_ramp);
    CU_add_test(s, "guardrails", test_guardrails);
    CU_add_test(s, "signal_and_custom_steps", test_signal_and_custom_steps);
    CU_add_test(s, "roundtrip", test_roundtrip);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
