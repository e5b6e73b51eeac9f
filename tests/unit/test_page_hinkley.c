/* test_page_hinkley.c - CUnit suite for processor/core/page_hinkley:
 * detections equal to river.drift.PageHinkley on the golden streams in every
 * mode, the detection report, exact state round trips, hostile blobs. Run
 * from the repository root. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/page_hinkley.h"
#include "tests/unit/drift_golden.h"

static size_t run(llmopt_ph *p, const double *xs, size_t n, uint64_t *hits,
                  llmopt_drift_detection *dets) {
    size_t k = 0;
    llmopt_drift_detection d;
    for (size_t i = 0; i < n; i++) {
        if (llmopt_ph_update(p, xs[i], &d)) {
            CU_ASSERT_EQUAL(d.sample_index, i);
            if (k < DRIFT_MAXHITS) {
                hits[k] = i;
                if (dets)
                    dets[k] = d;
            }
            k++;
        }
    }
    return k;
}

static void check_mode(const char *variant, llmopt_ph_mode mode) {
    static double xs[DRIFT_MAXN];
    for (size_t s = 0; s < DRIFT_N_STREAMS; s++) {
        size_t n = drift_load_stream(DRIFT_STREAMS[s], xs);
        uint64_t want[DRIFT_MAXHITS], got[DRIFT_MAXHITS];
        size_t nw = drift_expected_hits(DRIFT_STREAMS[s], variant, want);
        llmopt_ph_config c = llmopt_ph_config_default();
        c.mode = mode;
        llmopt_ph p;
        CU_ASSERT_EQUAL_FATAL(llmopt_ph_init(&p, &c, NULL, 0), LLMOPT_OK);
        size_t ng = run(&p, xs, n, got, NULL);
        int same = ng == nw;
        for (size_t i = 0; same && i < nw; i++)
            same = got[i] == want[i];
        CU_ASSERT(same);
        if (!same) {
            printf("\n  %s %s: got", DRIFT_STREAMS[s], variant);
            for (size_t i = 0; i < ng && i < DRIFT_MAXHITS; i++)
                printf(" %llu", (unsigned long long)got[i]);
            printf("\n");
        }
    }
}

static void test_golden_both(void) { check_mode("ph_both", LLMOPT_PH_BOTH); }
static void test_golden_up(void) { check_mode("ph_up", LLMOPT_PH_UP); }
static void test_golden_down(void) { check_mode("ph_down", LLMOPT_PH_DOWN); }

/* A hand-made step: 40 zeros then ones of height 10. With delta 0 and
 * alpha 1 the increase statistic after the step is a sum of deviations from
 * the running mean, so it passes threshold 50 after a known number of
 * samples; the report must place the change at the step. */
static void test_step_report(void) {
    llmopt_ph_config c = llmopt_ph_config_default();
    c.delta = 0.0;
    c.alpha = 1.0;
    llmopt_ph p;
    llmopt_ph_init(&p, &c, NULL, 0);
    llmopt_drift_detection d;
    int fired = -1;
    double u = 0.0, mean = 0.0; /* independent recomputation */
    int expect = -1;
    for (int i = 0; i < 200 && fired < 0; i++) {
        double x = i < 40 ? 0.0 : 10.0;
        mean += (x - mean) / (i + 1);
        u += x - mean;
        if (expect < 0 && i + 1 >= 30 && u > 50.0)
            expect = i;
        if (llmopt_ph_update(&p, x, &d))
            fired = i;
    }
    CU_ASSERT_EQUAL(fired, expect);
    CU_ASSERT(fired > 40 && fired < 60);
    CU_ASSERT_EQUAL(d.direction, LLMOPT_DRIFT_UP);
    CU_ASSERT_EQUAL(d.estimate_before, 0.0);
    CU_ASSERT_EQUAL(d.estimate_after, 10.0);
    /* full reset: mean restarts */
    CU_ASSERT_EQUAL(llmopt_ph_mean(&p), 0.0);
    CU_ASSERT_EQUAL(llmopt_ph_update(&p, 10.0, NULL), 0);
    CU_ASSERT_EQUAL(llmopt_ph_mean(&p), 10.0);
    /* a falling step reports down */
    llmopt_ph_reset(&p);
    fired = -1;
    for (int i = 0; i < 200 && fired < 0; i++)
        if (llmopt_ph_update(&p, i < 40 ? 10.0 : 0.0, &d))
            fired = i;
    CU_ASSERT(fired > 40);
    CU_ASSERT_EQUAL(d.direction, LLMOPT_DRIFT_DOWN);
    CU_ASSERT_EQUAL(d.estimate_after, 0.0);
    CU_ASSERT_EQUAL(d.estimate_before, 10.0);
    CU_ASSERT_EQUAL(d.sample_index, (uint64_t)fired);
}

static void test_config_errors(void) {
    char err[128];
    llmopt_ph p;
    llmopt_ph_config c = llmopt_ph_config_default();
    c.alpha = 1.5;
    CU_ASSERT_EQUAL(llmopt_ph_init(&p, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "'alpha'") != NULL);
    c = llmopt_ph_config_default();
    c.threshold = NAN;
    CU_ASSERT_EQUAL(llmopt_ph_init(&p, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    c = llmopt_ph_config_default();
    c.mode = (llmopt_ph_mode)7;
    CU_ASSERT_EQUAL(llmopt_ph_init(&p, &c, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_ph_init(&p, NULL, NULL, 0), LLMOPT_ERR_INVALID);
}

static void test_roundtrip(void) {
    static double xs[DRIFT_MAXN];
    size_t n = drift_load_stream("variance", xs);
    const size_t cuts[] = {0, 1, 29, 1261, 1600, 2999};
    for (size_t ci = 0; ci < sizeof(cuts) / sizeof(cuts[0]); ci++) {
        llmopt_ph_config c = llmopt_ph_config_default();
        llmopt_ph a, b;
        llmopt_ph_init(&a, &c, NULL, 0);
        for (size_t i = 0; i < cuts[ci]; i++)
            llmopt_ph_update(&a, xs[i], NULL);
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        llmopt_ph_serialize(&a, &w);
        llmopt_rbuf r;
        llmopt_rbuf_init(&r, w.data, w.len);
        CU_ASSERT_EQUAL_FATAL(llmopt_ph_deserialize(&b, &r, NULL, 0), LLMOPT_OK);
        CU_ASSERT_EQUAL(r.left, 0);
        int equal = 1, dets = 0;
        for (size_t i = cuts[ci]; i < n; i++) {
            llmopt_drift_detection da, db;
            int ha = llmopt_ph_update(&a, xs[i], &da), hb = llmopt_ph_update(&b, xs[i], &db);
            dets += ha;
            if (ha != hb || (ha && !drift_same_detection(&da, &db)) ||
                llmopt_ph_mean(&a) != llmopt_ph_mean(&b))
                equal = 0;
        }
        CU_ASSERT(equal);
        CU_ASSERT(cuts[ci] > 2900 || dets > 0);
        llmopt_wbuf_release(&w);
        DRIFT_ASSERT_SAME_CHECKPOINT(llmopt_ph_serialize, &a, &b);
    }
}

static void test_bad_state(void) {
    llmopt_ph_config c = llmopt_ph_config_default();
    llmopt_ph a, b;
    llmopt_ph_init(&a, &c, NULL, 0);
    for (int i = 0; i < 100; i++)
        llmopt_ph_update(&a, (double)(i % 7), NULL);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_ph_serialize(&a, &w);
    llmopt_rbuf r;
    char err[128];
    DRIFT_ASSERT_PREFIXES_REFUSED(llmopt_ph_deserialize, &b, w);
    /* alpha (bytes 5+4+8+8 .. +8) set to NaN */
    uint8_t saved[8];
    memcpy(saved, w.data + 25, 8);
    memset(w.data + 25, 0xff, 8);
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_ph_deserialize(&b, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
    memcpy(w.data + 25, saved, 8);
    w.data[4] = 2; /* future version */
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_ph_deserialize(&b, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
    w.data[4] = 1;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_ph_deserialize(&b, &r, err, sizeof(err)), LLMOPT_OK);
    llmopt_wbuf_release(&w);
    printf("\n  sizeof(llmopt_ph) = %zu bytes, no heap\n", sizeof(llmopt_ph));
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("page_hinkley", NULL, NULL);
    CU_add_test(s, "golden_both_vs_river", test_golden_both);
    CU_add_test(s, "golden_up_vs_river", test_golden_up);
    CU_add_test(s, "golden_down_vs_river", test_golden_down);
    CU_add_test(s, "step_report_and_reset", test_step_report);
    CU_add_test(s, "config_errors", test_config_errors);
    CU_add_test(s, "serialize_roundtrip_midstream", test_roundtrip);
    CU_add_test(s, "deserialize_rejects_bad_state", test_bad_state);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
