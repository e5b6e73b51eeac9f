/* test_pareto.c - CUnit suite for controller/core/pareto: dominance,
 * constraints, unknown metrics, disabled arms and the least-violating
 * fallback, on cases worked by hand. */
#include <CUnit/Basic.h>
#include <math.h>
#include <string.h>

#include "controller/core/pareto.h"

static llmopt_pareto_arm arm(double q, double c, double p95) {
    llmopt_pareto_arm a = {q, c, p95, 1};
    return a;
}

static void test_dominance(void) {
    llmopt_pareto_limits l;
    llmopt_pareto_limits_none(&l);
    /* 0: big model (best quality, dear, slow); 1: small (cheap, fast, worse);
     * 2: dominated by 1 (same quality, dearer, slower); 3: duplicate of 1;
     * 4: dominated by 0 only on quality+cost ties? no: worse quality, same
     * cost and latency as 0 -> dominated by 0 */
    llmopt_pareto_arm a[5] = {arm(0.9, 0.02, 3000), arm(0.7, 0.001, 800), arm(0.7, 0.002, 900),
                              arm(0.7, 0.001, 800), arm(0.85, 0.02, 3000)};
    llmopt_pareto_verdict v[5];
    int32_t by[5];
    uint8_t el[5];
    char why[128];
    CU_ASSERT(llmopt_pareto_filter(a, 5, &l, v, by, el, why, sizeof(why)) == LLMOPT_OK);
    CU_ASSERT_EQUAL(v[0], LLMOPT_PARETO_ELIGIBLE);
    CU_ASSERT_EQUAL(v[1], LLMOPT_PARETO_ELIGIBLE);
    CU_ASSERT_EQUAL(v[2], LLMOPT_PARETO_DOMINATED);
    CU_ASSERT(by[2] == 1 || by[2] == 3);
    CU_ASSERT_EQUAL(v[3], LLMOPT_PARETO_ELIGIBLE); /* identical arms both stay */
    CU_ASSERT_EQUAL(v[4], LLMOPT_PARETO_DOMINATED);
    CU_ASSERT_EQUAL(by[4], 0);
    CU_ASSERT_EQUAL(el[0] + el[1] + el[2] + el[3] + el[4], 3);
    CU_ASSERT_STRING_EQUAL(why, "3 of 5 eligible: 2 dominated, 0 violate, 0 disabled");
    CU_ASSERT_STRING_EQUAL(llmopt_pareto_verdict_names[v[2]], "dominated");
}

static void test_constraints_unknown_disabled(void) {
    llmopt_pareto_limits l = {0.01, 2000, 0.75};
    llmopt_pareto_arm a[5] = {arm(0.9, 0.02, 3000),  /* too dear and slow */
                              arm(0.8, 0.005, 1500), /* ok */
                              arm(0.7, 0.001, 800),  /* quality too low */
                              arm(NAN, NAN, NAN),    /* new arm: unknown, explored */
                              arm(0.95, 0.001, 100)};
    a[4].enabled = 0; /* would dominate everything, but its breaker is open */
    llmopt_pareto_verdict v[5];
    int32_t by[5];
    uint8_t el[5];
    CU_ASSERT(llmopt_pareto_filter(a, 5, &l, v, by, el, NULL, 0) == LLMOPT_OK);
    CU_ASSERT_EQUAL(v[0], LLMOPT_PARETO_VIOLATES);
    CU_ASSERT_EQUAL(v[1], LLMOPT_PARETO_ELIGIBLE);
    CU_ASSERT_EQUAL(v[2], LLMOPT_PARETO_VIOLATES);
    CU_ASSERT_EQUAL(v[3], LLMOPT_PARETO_ELIGIBLE);
    CU_ASSERT_EQUAL(v[4], LLMOPT_PARETO_DISABLED);
    CU_ASSERT_EQUAL(by[1], -1);
    CU_ASSERT(el[1] && el[3] && !el[0] && !el[2] && !el[4]);
    /* violation by hand: cost (0.02-0.01)/0.01 = 1, latency 1000/2000 = 0.5 */
    CU_ASSERT(fabs(llmopt_pareto_violation(&a[0], &l) - 1.5) < 1e-12);
    CU_ASSERT(fabs(llmopt_pareto_violation(&a[2], &l) - 0.05) < 1e-12);
    CU_ASSERT_EQUAL(llmopt_pareto_violation(&a[3], &l), 0.0);
}

static void test_fallback(void) {
    /* nothing meets a 500 ms p95 cap: latency excess 1.0, 0.6, 0.6 -> the
     * tie between 1 and 2 goes to the better quality (2) */
    llmopt_pareto_limits l;
    llmopt_pareto_limits_none(&l);
    l.max_p95_ms = 500;
    llmopt_pareto_arm a[3] = {arm(0.9, 0.02, 1000), arm(0.7, 0.001, 800), arm(0.75, 0.003, 800)};
    llmopt_pareto_verdict v[3];
    int32_t by[3];
    uint8_t el[3];
    char why[128];
    CU_ASSERT(llmopt_pareto_filter(a, 3, &l, v, by, el, why, sizeof(why)) == LLMOPT_OK);
    CU_ASSERT_EQUAL(v[2], LLMOPT_PARETO_FALLBACK);
    CU_ASSERT_EQUAL(v[0], LLMOPT_PARETO_VIOLATES);
    CU_ASSERT(el[2] && !el[0] && !el[1]);
    CU_ASSERT(strstr(why, "fallback to arm 2") != NULL);
    for (int i = 0; i < 3; i++)
        a[i].enabled = 0;
    CU_ASSERT_EQUAL(llmopt_pareto_filter(a, 3, &l, v, by, el, NULL, 0), LLMOPT_ERR_STATE);
    CU_ASSERT_EQUAL(llmopt_pareto_filter(a, 0, &l, v, by, el, NULL, 0), LLMOPT_ERR_INVALID);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("pareto", NULL, NULL);
    CU_add_test(s, "dominance", test_dominance);
    CU_add_test(s, "constraints_unknown_disabled", test_constraints_unknown_disabled);
    CU_add_test(s, "fallback", test_fallback);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
