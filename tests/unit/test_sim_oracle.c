/* test_sim_oracle.c - CUnit suite for tools/simulate_oracle: the closed-form
 * expectations against an independent reference (scipy quadrature and
 * brute-force sums, tests/tools/gen_sim_golden.py -> tests/data/simulate/
 * expect_golden.txt), hand-computed degenerate cases, the reward weighting
 * and the oracle's choice. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/simulate_oracle.h"

static void test_golden(void) {
    FILE *f = fopen("tests/data/simulate/expect_golden.txt", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    char kind[16];
    int n = 0;
    while (fscanf(f, "%15s", kind) == 1) {
        double got = NAN, want;
        if (!strcmp(kind, "qual")) {
            double m, sd;
            CU_ASSERT_EQUAL_FATAL(fscanf(f, "%lf %lf %lf", &m, &sd, &want), 3);
            got = llmopt_sim_expect_clipped_normal(m, sd);
        } else if (!strcmp(kind, "lat")) {
            double med, sig, b, w;
            CU_ASSERT_EQUAL_FATAL(fscanf(f, "%lf %lf %lf %lf %lf", &med, &sig, &b, &w, &want), 5);
            got = llmopt_sim_expect_latency_score(med, sig, b, w);
        } else if (!strcmp(kind, "cost")) {
            llmopt_sim_profile p;
            memset(&p, 0, sizeof(p));
            long long i0, i1, o0, o1;
            double b, w;
            CU_ASSERT_EQUAL_FATAL(fscanf(f, "%lld %lld %lld %lld %lf %lf %lf %lf %lf", &i0, &i1, &o0,
                                         &o1, &p.price_in_per_1k, &p.price_out_per_1k, &b, &w,
                                         &want),
                                  9);
            p.input_tokens_min = i0;
            p.input_tokens_max = i1;
            p.output_tokens_min = o0;
            p.output_tokens_max = o1;
            got = llmopt_sim_expect_cost_score(&p, b, w);
        } else {
            CU_FAIL_FATAL("unknown golden line");
        }
        if (fabs(got - want) > 1e-9) {
            fprintf(stderr, "%s case %d: got %.15g want %.15g\n", kind, n, got, want);
            CU_FAIL("golden mismatch");
        }
        n++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(n, 16);
}

static void test_degenerate(void) {
    /* no spread: the clipped value itself */
    CU_ASSERT_EQUAL(llmopt_sim_expect_clipped_normal(0.3, 0), 0.3);
    CU_ASSERT_EQUAL(llmopt_sim_expect_clipped_normal(1.3, 0), 1);
    CU_ASSERT_EQUAL(llmopt_sim_expect_clipped_normal(-0.3, 0), 0);
    /* symmetric around 0.5: exactly 0.5 */
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_clipped_normal(0.5, 0.7), 0.5, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_latency_score(2500, 0, 0, 10000), 0.75, 1e-15);
    CU_ASSERT_EQUAL(llmopt_sim_expect_latency_score(20000, 0, 0, 10000), 0);
    /* median at the middle of [best, worst] with sigma -> 0: 0.5 */
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_latency_score(5000, 1e-6, 0, 10000), 0.5, 1e-6);
    /* cost: one token pair, by hand: 1000 in at 0.002/1k + 500 out at 0.004/1k = 0.004 */
    llmopt_sim_profile p;
    memset(&p, 0, sizeof(p));
    p.input_tokens_min = p.input_tokens_max = 1000;
    p.output_tokens_min = p.output_tokens_max = 500;
    p.price_in_per_1k = 0.002;
    p.price_out_per_1k = 0.004;
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_cost_score(&p, 0, 0.01), 0.6, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_cost_score(&p, 0.004, 0.01), 1, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_cost_score(&p, 0, 0.004), 0, 1e-12);
    /* two output counts straddling best: (1 + 0.5) / 2 */
    p.output_tokens_max = 501; /* costs 0.004 and 0.004004; best 0.004, worst 0.004008 */
    CU_ASSERT_DOUBLE_EQUAL(llmopt_sim_expect_cost_score(&p, 0.004, 0.004008), 0.75, 1e-9);
}

static void test_reward_and_oracle(void) {
    llmopt_reward_config c;
    llmopt_reward_config_default(&c);
    llmopt_sim_profile p;
    memset(&p, 0, sizeof(p));
    p.latency_median_ms = 2000;
    p.latency_sigma = 0;
    p.quality_mean = 0.8;
    p.quality_sd = 0;
    p.input_tokens_min = p.input_tokens_max = 1000;
    p.output_tokens_min = p.output_tokens_max = 0;
    p.price_in_per_1k = 0.005; /* cost 0.005: score 0.5 */
    p.error_rate = 0.25;
    p.available = true;
    llmopt_sim_expect e;
    llmopt_sim_expect_profile(&c, &p, &e);
    /* 0.75 * (0.6*0.8 + 0.3*0.5 + 0.1*0.8) = 0.75 * 0.71 */
    CU_ASSERT_DOUBLE_EQUAL(e.quality, 0.8, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(e.cost, 0.5, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(e.latency, 0.8, 1e-15);
    CU_ASSERT_DOUBLE_EQUAL(e.reward, 0.5325, 1e-12);
    /* same as processor/core/reward.c on the deterministic outcome, times P(success) */
    llmopt_reward_input in = {.success = true, .has_quality = true, .quality = 0.8,
                              .cost_usd = 0.005, .latency_ms = 2000};
    llmopt_reward r;
    llmopt_reward_compute(&c, &in, &r);
    CU_ASSERT_DOUBLE_EQUAL(e.reward, 0.75 * r.reward, 1e-12);
    /* weights are normalised like the processor's */
    c.w_quality = 6;
    c.w_cost = 3;
    c.w_latency = 1;
    llmopt_sim_expect_profile(&c, &p, &e);
    CU_ASSERT_DOUBLE_EQUAL(e.reward, 0.5325, 1e-12);
    p.available = false;
    llmopt_sim_expect_profile(&c, &p, &e);
    CU_ASSERT_EQUAL(e.reward, 0);

    const char *js =
        "{\"duration\":60,\"routes\":[{\"name\":\"r\",\"arms\":["
        "{\"id\":\"a\",\"latency\":{\"median_ms\":1000,\"sigma\":0},\"quality\":{\"mean\":0.5,\"sd\":0},"
        "\"error_rate\":0,\"input_tokens\":{\"min\":0,\"max\":0},\"output_tokens\":{\"min\":0,\"max\":0},"
        "\"price_in_per_1k\":0,\"price_out_per_1k\":0},"
        "{\"id\":\"b\",\"latency\":{\"median_ms\":1000,\"sigma\":0},\"quality\":{\"mean\":0.9,\"sd\":0},"
        "\"error_rate\":0,\"input_tokens\":{\"min\":0,\"max\":0},\"output_tokens\":{\"min\":0,\"max\":0},"
        "\"price_in_per_1k\":0,\"price_out_per_1k\":0},"
        "{\"id\":\"c\",\"available\":false,\"latency\":{\"median_ms\":1000,\"sigma\":0},\"quality\":"
        "{\"mean\":1,\"sd\":0},\"error_rate\":0,\"input_tokens\":{\"min\":0,\"max\":0},"
        "\"output_tokens\":{\"min\":0,\"max\":0},\"price_in_per_1k\":0,\"price_out_per_1k\":0}]}],"
        "\"changes\":[{\"at\":10,\"arm\":\"b\",\"error_rate\":0.5},{\"at\":20,\"arm\":\"c\",\"appear\":true}]}";
    char err[256] = "";
    llmopt_sim_scenario *s = llmopt_sim_scenario_parse(js, strlen(js), "o", err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    llmopt_sim_state st;
    llmopt_sim_state_init(&st, s);
    llmopt_sim_oracle_route o;
    llmopt_sim_oracle(s, &st, 0, &o);
    /* a: 0.6*0.5+0.3+0.1*0.9 = 0.69; b: 0.6*0.9+0.3+0.09 = 0.93; c unavailable */
    CU_ASSERT_EQUAL(o.best, 1);
    CU_ASSERT_DOUBLE_EQUAL(o.best_reward, 0.93, 1e-12);
    CU_ASSERT_DOUBLE_EQUAL(o.uniform_reward, (0.69 + 0.93) / 2, 1e-12);
    CU_ASSERT_EQUAL(o.n_available, 2);
    llmopt_sim_state_advance(&st, s, 10000, NULL);
    llmopt_sim_oracle(s, &st, 0, &o);
    CU_ASSERT_EQUAL(o.best, 0); /* b: 0.465 */
    CU_ASSERT_DOUBLE_EQUAL(o.arm[1].reward, 0.465, 1e-12);
    llmopt_sim_state_advance(&st, s, 20000, NULL);
    llmopt_sim_oracle(s, &st, 0, &o);
    CU_ASSERT_EQUAL(o.best, 2); /* c: 0.99 */
    CU_ASSERT_DOUBLE_EQUAL(o.uniform_reward, (0.69 + 0.465 + 0.99) / 3, 1e-12);
    llmopt_sim_scenario_destroy(s);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("sim_oracle", NULL, NULL);
    CU_add_test(s, "golden", test_golden);
    CU_add_test(s, "degenerate", test_degenerate);
    CU_add_test(s, "reward_and_oracle", test_reward_and_oracle);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
