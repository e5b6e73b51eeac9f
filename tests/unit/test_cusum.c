/* test_cusum.c - CUnit suite for processor/core/cusum: hand-computed known
 * answers for the tabular (Montgomery) and Bernoulli LLR charts, reset
 * behaviour, exact state round trips and hostile blobs. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/cusum.h"
#include "tests/unit/drift_golden.h"

/* Warm-up 9, 10, 11: mu0 = 10, sample variance (1 + 0 + 1) / 2 = 1, so
 * sigma = 1, K = 0.5, H = 5. Then by hand:
 *   x      11    12    10    13    11.5  10.75
 *   S_H    0.5   2.0   1.5   4.0   5.0   5.25 > 5  -> up at index 8
 * N+ = 6, new-mean estimate 10 + 0.5 + 5.25 / 6 = 11.375.
 * Without relearn the baseline stays; then
 *   x      9     7     8     9.5   8.5
 *   S_L    0.5   3.0   4.5   4.5   5.5 > 5  -> down at index 13
 * N- = 5, estimate 10 - 0.5 - 5.5 / 5 = 8.4. */
static void test_gaussian_known_answer(void) {
    llmopt_cusum_config cfg = llmopt_cusum_config_default();
    cfg.min_instances = 3;
    cfg.relearn = 0;
    llmopt_cusum c;
    CU_ASSERT_EQUAL_FATAL(llmopt_cusum_init(&c, &cfg, NULL, 0), LLMOPT_OK);
    llmopt_drift_detection d;
    const double warm[] = {9, 10, 11};
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, warm[i], &d), 0);
    CU_ASSERT_FATAL(llmopt_cusum_ready(&c));
    CU_ASSERT_EQUAL(llmopt_cusum_mu0(&c), 10.0);
    CU_ASSERT_EQUAL(llmopt_cusum_sigma(&c), 1.0);

    const double up[] = {11, 12, 10, 13, 11.5, 10.75};
    const double sh[] = {0.5, 2.0, 1.5, 4.0, 5.0};
    for (int i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, up[i], &d), 0);
        CU_ASSERT_EQUAL(llmopt_cusum_upper(&c), sh[i]);
        CU_ASSERT_EQUAL(llmopt_cusum_lower(&c), 0.0);
    }
    CU_ASSERT_EQUAL_FATAL(llmopt_cusum_update(&c, up[5], &d), 1);
    CU_ASSERT_EQUAL(d.sample_index, 8);
    CU_ASSERT_EQUAL(d.direction, LLMOPT_DRIFT_UP);
    CU_ASSERT_EQUAL(d.estimate_before, 10.0);
    CU_ASSERT_EQUAL(d.estimate_after, 11.375);
    CU_ASSERT_EQUAL(llmopt_cusum_upper(&c), 0.0); /* sums zeroed, baseline kept */
    CU_ASSERT_EQUAL(llmopt_cusum_mu0(&c), 10.0);

    const double dn[] = {9, 7, 8, 9.5, 8.5};
    const double sl[] = {0.5, 3.0, 4.5, 4.5};
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, dn[i], &d), 0);
        CU_ASSERT_EQUAL(llmopt_cusum_lower(&c), sl[i]);
    }
    CU_ASSERT_EQUAL_FATAL(llmopt_cusum_update(&c, dn[4], &d), 1);
    CU_ASSERT_EQUAL(d.sample_index, 13);
    CU_ASSERT_EQUAL(d.direction, LLMOPT_DRIFT_DOWN);
    CU_ASSERT(fabs(d.estimate_after - 8.4) < 1e-12);
    CU_ASSERT_EQUAL(llmopt_cusum_detections(&c), 2);
}

/* With relearn (default) a detection sends the chart back to warm-up: the
 * next min_instances samples set a new baseline. */
static void test_relearn(void) {
    llmopt_cusum_config cfg = llmopt_cusum_config_default();
    cfg.min_instances = 3;
    llmopt_cusum c;
    llmopt_cusum_init(&c, &cfg, NULL, 0);
    const double xs[] = {9, 10, 11, 11, 12, 10, 13, 11.5, 10.75};
    int hits = 0;
    for (int i = 0; i < 9; i++)
        hits += llmopt_cusum_update(&c, xs[i], NULL);
    CU_ASSERT_EQUAL(hits, 1);
    CU_ASSERT_FALSE(llmopt_cusum_ready(&c));
    const double w2[] = {20, 22, 24};
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, w2[i], NULL), 0);
    CU_ASSERT(llmopt_cusum_ready(&c));
    CU_ASSERT_EQUAL(llmopt_cusum_mu0(&c), 22.0);
    CU_ASSERT_EQUAL(llmopt_cusum_sigma(&c), 2.0);
    /* constant warm-up: sigma 0, so the first departure fires unless floored */
    llmopt_cusum_reset(&c);
    for (int i = 0; i < 3; i++)
        llmopt_cusum_update(&c, 5.0, NULL);
    CU_ASSERT_EQUAL(llmopt_cusum_update(&c, 5.0, NULL), 0);
    CU_ASSERT_EQUAL(llmopt_cusum_update(&c, 5.001, NULL), 1);
    cfg.min_sigma = 1.0;
    llmopt_cusum_init(&c, &cfg, NULL, 0);
    for (int i = 0; i < 3; i++)
        llmopt_cusum_update(&c, 5.0, NULL);
    CU_ASSERT_EQUAL(llmopt_cusum_update(&c, 5.001, NULL), 0);
    CU_ASSERT_EQUAL(llmopt_cusum_sigma(&c), 1.0);
}

/* Bernoulli: 9 warm-up samples with one 1 give p0 = (1 + 0.5) / 10 = 0.15,
 * odds 3/17. Odds ratio 2: p1 = 6/23, so a 1 adds ln((6/23)/0.15) =
 * ln(40/23) = 0.5534 and a 0 adds ln((17/23)/0.85) = ln(20/23) < 0. With
 * h_llr 2, three 1s give 1.660 and the fourth 2.214 > 2: up at index 12,
 * estimate 4/4 = 1. Lower chart: q1 = 3/37, a 0 adds ln((34/37)/0.85) =
 * ln(40/37) = 0.07796: 25 zeros give 1.949, the 26th 2.027 > 2. */
static void test_bernoulli_known_answer(void) {
    llmopt_cusum_config cfg = llmopt_cusum_config_default();
    cfg.kind = LLMOPT_CUSUM_BERNOULLI;
    cfg.min_instances = 9;
    cfg.h_llr = 2.0;
    cfg.relearn = 0;
    llmopt_cusum c;
    CU_ASSERT_EQUAL_FATAL(llmopt_cusum_init(&c, &cfg, NULL, 0), LLMOPT_OK);
    llmopt_drift_detection d;
    for (int i = 0; i < 9; i++)
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, i == 4 ? 1.0 : 0.0, &d), 0);
    CU_ASSERT(fabs(llmopt_cusum_mu0(&c) - 0.15) < 1e-15);
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, 1.0, &d), 0);
    CU_ASSERT(fabs(llmopt_cusum_upper(&c) - 3.0 * log(40.0 / 23.0)) < 1e-12);
    CU_ASSERT(fabs(llmopt_cusum_upper(&c) - 1.660155714) < 1e-8);
    CU_ASSERT_EQUAL_FATAL(llmopt_cusum_update(&c, 7.0 /* nonzero = 1 */, &d), 1);
    CU_ASSERT_EQUAL(d.sample_index, 12);
    CU_ASSERT_EQUAL(d.direction, LLMOPT_DRIFT_UP);
    CU_ASSERT(fabs(d.estimate_before - 0.15) < 1e-15);
    CU_ASSERT_EQUAL(d.estimate_after, 1.0);
    for (int i = 0; i < 25; i++)
        CU_ASSERT_EQUAL(llmopt_cusum_update(&c, 0.0, &d), 0);
    CU_ASSERT(fabs(llmopt_cusum_lower(&c) - 25.0 * log(40.0 / 37.0)) < 1e-12);
    CU_ASSERT_EQUAL_FATAL(llmopt_cusum_update(&c, 0.0, &d), 1);
    CU_ASSERT_EQUAL(d.sample_index, 38);
    CU_ASSERT_EQUAL(d.direction, LLMOPT_DRIFT_DOWN);
    CU_ASSERT_EQUAL(d.estimate_after, 0.0);
}

static void test_config_errors(void) {
    char err[128];
    llmopt_cusum c;
    llmopt_cusum_config cfg = llmopt_cusum_config_default();
    cfg.h = 0.0;
    CU_ASSERT_EQUAL(llmopt_cusum_init(&c, &cfg, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "'h'") != NULL);
    cfg = llmopt_cusum_config_default();
    cfg.odds_ratio = 1.0;
    CU_ASSERT_EQUAL(llmopt_cusum_init(&c, &cfg, err, sizeof(err)), LLMOPT_ERR_RANGE);
    cfg = llmopt_cusum_config_default();
    cfg.min_instances = 1;
    CU_ASSERT_EQUAL(llmopt_cusum_init(&c, &cfg, err, sizeof(err)), LLMOPT_ERR_RANGE);
    cfg = llmopt_cusum_config_default();
    cfg.kind = (llmopt_cusum_kind)9;
    CU_ASSERT_EQUAL(llmopt_cusum_init(&c, &cfg, err, sizeof(err)), LLMOPT_ERR_INVALID);
}

static double lcg_normal(uint64_t *s) {
    double acc = 0.0; /* Irwin-Hall: sum of 12 uniforms - 6 */
    for (int i = 0; i < 12; i++) {
        *s = *s * 6364136223846793005ULL + 1442695040888963407ULL;
        acc += (double)(*s >> 11) / 9007199254740992.0;
    }
    return acc - 6.0;
}

static void test_roundtrip(void) {
    for (int kind = 0; kind < 2; kind++) {
        const size_t cuts[] = {0, 5, 29, 30, 777, 4000};
        for (size_t ci = 0; ci < sizeof(cuts) / sizeof(cuts[0]); ci++) {
            llmopt_cusum_config cfg = llmopt_cusum_config_default();
            cfg.kind = kind ? LLMOPT_CUSUM_BERNOULLI : LLMOPT_CUSUM_GAUSSIAN;
            cfg.h_llr = 4.0;
            llmopt_cusum a, b;
            llmopt_cusum_init(&a, &cfg, NULL, 0);
            uint64_t seed = 42 + ci;
            double xs[5000];
            for (int i = 0; i < 5000; i++) {
                double z = lcg_normal(&seed);
                xs[i] = kind ? (z > (i < 2500 ? 1.6 : 0.8)) : z + (i > 2500 ? 1.0 : 0.0);
            }
            for (size_t i = 0; i < cuts[ci]; i++)
                llmopt_cusum_update(&a, xs[i], NULL);
            llmopt_wbuf w;
            llmopt_wbuf_init(&w);
            llmopt_cusum_serialize(&a, &w);
            llmopt_rbuf r;
            llmopt_rbuf_init(&r, w.data, w.len);
            CU_ASSERT_EQUAL_FATAL(llmopt_cusum_deserialize(&b, &r, NULL, 0), LLMOPT_OK);
            CU_ASSERT_EQUAL(r.left, 0);
            llmopt_wbuf_release(&w);
            int equal = 1, dets = 0;
            for (size_t i = cuts[ci]; i < 5000; i++) {
                llmopt_drift_detection da, db;
                int ha = llmopt_cusum_update(&a, xs[i], &da);
                int hb = llmopt_cusum_update(&b, xs[i], &db);
                dets += ha;
                if (ha != hb || (ha && !drift_same_detection(&da, &db)) ||
                    llmopt_cusum_upper(&a) != llmopt_cusum_upper(&b) ||
                    llmopt_cusum_lower(&a) != llmopt_cusum_lower(&b))
                    equal = 0;
            }
            CU_ASSERT(equal);
            CU_ASSERT(dets > 0);
            DRIFT_ASSERT_SAME_CHECKPOINT(llmopt_cusum_serialize, &a, &b);
        }
    }
}

static void test_bad_state(void) {
    llmopt_cusum_config cfg = llmopt_cusum_config_default();
    llmopt_cusum a, b;
    llmopt_cusum_init(&a, &cfg, NULL, 0);
    for (int i = 0; i < 100; i++)
        llmopt_cusum_update(&a, (double)(i % 5), NULL);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_cusum_serialize(&a, &w);
    llmopt_rbuf r;
    char err[128];
    DRIFT_ASSERT_PREFIXES_REFUSED(llmopt_cusum_deserialize, &b, w);
    w.data[5] = 3; /* unknown kind */
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_cusum_deserialize(&b, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
    w.data[5] = 0;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_cusum_deserialize(&b, &r, err, sizeof(err)), LLMOPT_OK);
    llmopt_wbuf_release(&w);
    printf("\n  sizeof(llmopt_cusum) = %zu bytes, no heap\n", sizeof(llmopt_cusum));
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("cusum", NULL, NULL);
    CU_add_test(s, "gaussian_known_answer", test_gaussian_known_answer);
    CU_add_test(s, "relearn_and_zero_sigma", test_relearn);
    CU_add_test(s, "bernoulli_known_answer", test_bernoulli_known_answer);
    CU_add_test(s, "config_errors", test_config_errors);
    CU_add_test(s, "serialize_roundtrip_midstream", test_roundtrip);
    CU_add_test(s, "deserialize_rejects_bad_state", test_bad_state);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
