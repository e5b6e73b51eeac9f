/* test_reward.c - CUnit suite for processor/core/reward: hand-computed
 * rewards, failure handling, feedback blending and config validation. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "processor/core/reward.h"

#define NEAR(a, b) CU_ASSERT(fabs((a) - (b)) < 1e-12)

static void test_default_weights(void) {
    llmopt_reward_config c;
    llmopt_reward_config_default(&c);
    CU_ASSERT_EQUAL(llmopt_reward_config_check(&c, NULL, 0), LLMOPT_OK);
    llmopt_reward_input in = {.success = true, .has_quality = true, .quality = 0.8,
                              .cost_usd = 0.0025, .latency_ms = 2000};
    llmopt_reward r;
    llmopt_reward_compute(&c, &in, &r);
    NEAR(r.quality, 0.8);
    NEAR(r.cost, 0.75);      /* (0.01 - 0.0025) / 0.01 */
    NEAR(r.latency, 0.8);    /* (10000 - 2000) / 10000 */
    NEAR(r.reward, 0.6 * 0.8 + 0.3 * 0.75 + 0.1 * 0.8);
}

static void test_clipping_and_weights_scaled(void) {
    llmopt_reward_config c;
    llmopt_reward_config_default(&c);
    c.w_quality = 2; c.w_cost = 1; c.w_latency = 1; /* scaled to 0.5/0.25/0.25 */
    c.latency_best_ms = 100; c.latency_worst_ms = 1100;
    llmopt_reward_input in = {.success = true, .has_quality = true, .quality = 1.7,
                              .cost_usd = 0.5, .latency_ms = 50};
    llmopt_reward r;
    llmopt_reward_compute(&c, &in, &r);
    NEAR(r.quality, 1);   /* clipped */
    NEAR(r.cost, 0);      /* above worst */
    NEAR(r.latency, 1);   /* below best */
    NEAR(r.reward, 0.5 * 1 + 0.25 * 0 + 0.25 * 1);
}

static void test_failure_is_zero(void) {
    llmopt_reward_config c;
    llmopt_reward_config_default(&c);
    llmopt_reward_input in = {.success = false, .has_quality = true, .quality = 1,
                              .cost_usd = 0, .latency_ms = 1};
    llmopt_reward r;
    llmopt_reward_compute(&c, &in, &r);
    NEAR(r.reward, 0);
    NEAR(r.cost, 0);
}

static void test_missing_quality_and_feedback(void) {
    llmopt_reward_config c;
    llmopt_reward_config_default(&c);
    llmopt_reward_input in = {.success = true, .cost_usd = 0, .latency_ms = 0};
    llmopt_reward r;
    llmopt_reward_compute(&c, &in, &r);
    NEAR(r.quality, 0.5);
    /* thumbs down + rating 0.4 -> feedback mean 0.2 replaces quality */
    in.has_thumbs = true; in.thumbs = -1;
    in.has_rating = true; in.rating = 0.4;
    llmopt_reward_compute(&c, &in, &r);
    NEAR(r.quality, 0.2);
    NEAR(r.reward, 0.6 * 0.2 + 0.3 + 0.1);
    /* half weight on feedback blends with the model's own quality */
    c.feedback_weight = 0.5;
    in.has_quality = true; in.quality = 0.9;
    in.has_rating = false; in.has_thumbs = false;
    in.has_task_completed = true; in.task_completed = true;
    llmopt_reward_compute(&c, &in, &r);
    NEAR(r.quality, 0.5 * 0.9 + 0.5 * 1.0);
}

static void test_config_errors(void) {
    llmopt_reward_config c;
    char err[128];
    llmopt_reward_config_default(&c);
    c.cost_worst_usd = 0;
    CU_ASSERT_EQUAL(llmopt_reward_config_check(&c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cost_worst_usd"));
    llmopt_reward_config_default(&c);
    c.w_quality = c.w_cost = c.w_latency = 0;
    CU_ASSERT_EQUAL(llmopt_reward_config_check(&c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    llmopt_reward_config_default(&c);
    c.w_cost = NAN;
    CU_ASSERT_EQUAL(llmopt_reward_config_check(&c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    llmopt_reward_config_default(&c);
    c.feedback_weight = 1.5;
    CU_ASSERT_EQUAL(llmopt_reward_config_check(&c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "feedback_weight"));
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("reward", NULL, NULL);
    CU_add_test(s, "default_weights", test_default_weights);
    CU_add_test(s, "clipping_and_weights_scaled", test_clipping_and_weights_scaled);
    CU_add_test(s, "failure_is_zero", test_failure_is_zero);
    CU_add_test(s, "missing_quality_and_feedback", test_missing_quality_and_feedback);
    CU_add_test(s, "config_errors", test_config_errors);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
