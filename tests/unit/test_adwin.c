/* test_adwin.c - CUnit suite for processor/core/adwin: detections equal to
 * River's on the golden streams (tests/data/drift, made by
 * tests/tools/gen_drift_golden.py), the documented differences, exact state
 * round trips and hostile state blobs. Run from the repository root. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/adwin.h"
#include "tests/unit/drift_golden.h"

static size_t run(llmopt_adwin *a, const double *xs, size_t n, uint64_t *hits,
                  llmopt_drift_detection *dets) {
    size_t k = 0;
    llmopt_drift_detection d;
    for (size_t i = 0; i < n; i++) {
        if (llmopt_adwin_update(a, xs[i], &d)) {
            CU_ASSERT_EQUAL(d.sample_index, i);
            if (k < DRIFT_MAXHITS) {
                hits[k] = d.sample_index;
                if (dets)
                    dets[k] = d;
            }
            k++;
        }
    }
    return k;
}

static void check_variant(const char *variant, llmopt_adwin_config cfg, int check_final) {
    static double xs[DRIFT_MAXN];
    for (size_t s = 0; s < DRIFT_N_STREAMS; s++) {
        size_t n = drift_load_stream(DRIFT_STREAMS[s], xs);
        uint64_t want[DRIFT_MAXHITS], got[DRIFT_MAXHITS];
        size_t nw = drift_expected_hits(DRIFT_STREAMS[s], variant, want);
        llmopt_adwin a;
        CU_ASSERT_EQUAL_FATAL(llmopt_adwin_init(&a, &cfg, NULL, 0), LLMOPT_OK);
        size_t ng = run(&a, xs, n, got, NULL);
        CU_ASSERT_EQUAL(ng, nw);
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
        if (check_final) {
            char key[80], rest[256];
            snprintf(key, sizeof(key), "%s_final", variant);
            CU_ASSERT_FATAL(drift_expected(DRIFT_STREAMS[s], key, rest, sizeof(rest)));
            double w, t, v;
            CU_ASSERT_EQUAL_FATAL(sscanf(rest, "%lf %lf %lf", &w, &t, &v), 3);
            /* bit-for-bit: same operations in the same order as River */
            CU_ASSERT_EQUAL(a.width, w);
            CU_ASSERT_EQUAL(a.total, t);
            CU_ASSERT_EQUAL(a.variance, v);
        }
    }
}

static void test_golden_shrink(void) {
    llmopt_adwin_config c = llmopt_adwin_config_default();
    check_variant("adwin_shrink", c, 1);
}

static void test_golden_shrink_clock1(void) {
    llmopt_adwin_config c = llmopt_adwin_config_default();
    c.clock = 1;
    check_variant("adwin_shrink_clock1", c, 1);
}

static void test_golden_reset(void) {
    llmopt_adwin_config c = llmopt_adwin_config_default();
    c.after = LLMOPT_ADWIN_AFTER_RESET;
    check_variant("adwin_reset", c, 0);
}

/* River <= 0.21's loop bound (issue 1539) leaves the newest bucket of each
 * row out of W0, so its cut statistics differ: on the golden streams it must
 * give a different detection list than River 0.26 / MOA, while still seeing
 * the abrupt shift at 1000 within the first few checks. */
static void test_skip_newest_differs(void) {
    static double xs[DRIFT_MAXN];
    llmopt_adwin_config full = llmopt_adwin_config_default();
    llmopt_adwin_config skip = full;
    skip.scan = LLMOPT_ADWIN_SCAN_SKIP_NEWEST;
    size_t differing = 0;
    for (size_t s = 0; s < DRIFT_N_STREAMS; s++) {
        size_t n = drift_load_stream(DRIFT_STREAMS[s], xs);
        uint64_t h1[DRIFT_MAXHITS], h2[DRIFT_MAXHITS];
        llmopt_adwin a, b;
        llmopt_adwin_init(&a, &full, NULL, 0);
        llmopt_adwin_init(&b, &skip, NULL, 0);
        size_t n1 = run(&a, xs, n, h1, NULL), n2 = run(&b, xs, n, h2, NULL);
        int same = n1 == n2;
        for (size_t i = 0; same && i < n1; i++)
            same = h1[i] == h2[i];
        differing += !same;
        printf("\n  %-12s full %zu detections, skip-newest %zu%s", DRIFT_STREAMS[s], n1, n2,
               same ? "" : " (differs)");
        if (strcmp(DRIFT_STREAMS[s], "abrupt_mean") == 0) {
            CU_ASSERT(n2 > 0);
            CU_ASSERT(n2 > 0 && h2[0] >= 1000 && h2[0] < 1100);
        }
    }
    printf("\n");
    CU_ASSERT(differing > 0);
}

static void test_report(void) {
    static double xs[DRIFT_MAXN];
    size_t n = drift_load_stream("abrupt_mean", xs);
    llmopt_adwin_config c = llmopt_adwin_config_default();
    llmopt_adwin a;
    llmopt_adwin_init(&a, &c, NULL, 0);
    uint64_t hits[DRIFT_MAXHITS];
    llmopt_drift_detection d[DRIFT_MAXHITS];
    size_t k = run(&a, xs, n, hits, d);
    CU_ASSERT_FATAL(k >= 2);
    /* first: 10 -> 13 */
    CU_ASSERT_EQUAL(d[0].direction, LLMOPT_DRIFT_UP);
    CU_ASSERT(fabs(d[0].estimate_before - 10.0) < 0.3);
    CU_ASSERT(d[0].estimate_after > d[0].estimate_before + 1.0);
    /* the one after 2000: 13 -> 9 */
    size_t j = 0;
    while (j < k && d[j].sample_index < 2000)
        j++;
    CU_ASSERT_FATAL(j < k);
    CU_ASSERT_EQUAL(d[j].direction, LLMOPT_DRIFT_DOWN);
    CU_ASSERT(d[j].estimate_before > 12.0);
    CU_ASSERT(d[j].estimate_after < d[j].estimate_before - 1.0);
    /* shrink keeps the new regime; reset mode empties the window */
    CU_ASSERT(llmopt_adwin_width(&a) > 500.0);
    c.after = LLMOPT_ADWIN_AFTER_RESET;
    llmopt_adwin b;
    llmopt_adwin_init(&b, &c, NULL, 0);
    size_t i = 0;
    while (i < n && !llmopt_adwin_update(&b, xs[i], NULL))
        i++;
    CU_ASSERT_EQUAL(llmopt_adwin_width(&b), 0.0);
    CU_ASSERT_EQUAL(llmopt_adwin_detections(&b), 1);
}

/* Hand-checkable structure: 23 values with M = 5 are 5 + 4*2 ... the
 * exponential histogram holds exactly the count, sum and variance. */
static void test_structure(void) {
    llmopt_adwin_config c = llmopt_adwin_config_default();
    c.clock = 1000000; /* no cut checks */
    llmopt_adwin a;
    llmopt_adwin_init(&a, &c, NULL, 0);
    double sum = 0.0;
    for (int i = 1; i <= 1000; i++) {
        llmopt_adwin_update(&a, (double)i, NULL);
        sum += i;
        double w = 0.0;
        for (uint32_t r = 0; r < a.nrows; r++) {
            CU_ASSERT(a.cnt[r] <= c.max_buckets);
            w += a.cnt[r] * (double)(1u << r);
        }
        CU_ASSERT_EQUAL(w, (double)i);
    }
    CU_ASSERT_EQUAL(llmopt_adwin_width(&a), 1000.0);
    CU_ASSERT_EQUAL(llmopt_adwin_mean(&a), sum / 1000.0);
    /* population variance of 1..1000 = (1000^2 - 1) / 12 */
    CU_ASSERT(fabs(llmopt_adwin_variance(&a) - (1000.0 * 1000.0 - 1.0) / 12.0) < 1e-6);
    /* M = 5: rows hold at most 5 buckets, so 1000 values need
     * ceil(log2(1000 / 5 + 1)) = 8 rows */
    CU_ASSERT_EQUAL(a.nrows, 8);
    /* NaN and inf are ignored */
    CU_ASSERT_EQUAL(llmopt_adwin_update(&a, NAN, NULL), 0);
    CU_ASSERT_EQUAL(llmopt_adwin_update(&a, INFINITY, NULL), 0);
    CU_ASSERT_EQUAL(llmopt_adwin_width(&a), 1000.0);
    CU_ASSERT_EQUAL(a.n_seen, 1002);
}

/* a's checkpoint is accepted and restores the same checkpoint */
static void assert_round_trips(const llmopt_adwin *a) {
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_adwin_serialize(a, &w);
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, w.data, w.len);
    llmopt_adwin b;
    CU_ASSERT_EQUAL_FATAL(llmopt_adwin_deserialize(&b, &r, NULL, 0), LLMOPT_OK);
    llmopt_wbuf_release(&w);
    DRIFT_ASSERT_SAME_CHECKPOINT(llmopt_adwin_serialize, a, &b);
}

/* With max_buckets 31 only 6 rows fit: the window must slide at its bound. */
static void test_row_cap(void) {
    llmopt_adwin_config c = llmopt_adwin_config_default();
    c.max_buckets = 31;
    llmopt_adwin a;
    CU_ASSERT_EQUAL_FATAL(llmopt_adwin_init(&a, &c, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(a.max_rows, 6);
    for (int i = 0; i < 20000; i++)
        llmopt_adwin_update(&a, 1.0, NULL);
    CU_ASSERT(llmopt_adwin_width(&a) <= 31.0 * 63.0);
    CU_ASSERT(llmopt_adwin_width(&a) >= 31.0 * 32.0);
    CU_ASSERT_EQUAL(llmopt_adwin_mean(&a), 1.0);
    assert_round_trips(&a); /* the state is still consistent */
}

/* max_buckets 1 can leave inner rows empty; after cuts the last row must
 * still be non-empty (found by fuzzing: River pops only one row there). */
static void test_m1_cuts(void) {
    llmopt_adwin_config c = llmopt_adwin_config_default();
    c.max_buckets = 1;
    c.clock = 1;
    llmopt_adwin a;
    CU_ASSERT_EQUAL_FATAL(llmopt_adwin_init(&a, &c, NULL, 0), LLMOPT_OK);
    uint64_t det = 0;
    for (int i = 0; i < 5000; i++) {
        det += (uint64_t)llmopt_adwin_update(&a, (i / 700) % 2 ? 40.0 + (i % 7) : (double)(i % 5), NULL);
        CU_ASSERT(a.nrows == 1 || a.cnt[a.nrows - 1] > 0);
    }
    CU_ASSERT(det >= 6);
    assert_round_trips(&a);
}

static void test_config_errors(void) {
    char err[128];
    llmopt_adwin a;
    llmopt_adwin_config c = llmopt_adwin_config_default();
    c.delta = 0.0;
    CU_ASSERT_EQUAL(llmopt_adwin_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "'delta'") != NULL);
    c = llmopt_adwin_config_default();
    c.max_buckets = 0;
    CU_ASSERT_EQUAL(llmopt_adwin_init(&a, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    c = llmopt_adwin_config_default();
    c.clock = 0;
    CU_ASSERT_EQUAL(llmopt_adwin_init(&a, &c, NULL, 0), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_adwin_init(&a, NULL, NULL, 0), LLMOPT_ERR_INVALID);
}

/* Serialise at several points mid-stream, restore, feed both the same tail:
 * same detections (every field) and byte-identical final state. */
static void test_roundtrip(void) {
    static double xs[DRIFT_MAXN];
    size_t n = drift_load_stream("gradual", xs);
    const size_t cuts[] = {0, 7, 500, 1160, 1500, 2999};
    for (int mode = 0; mode < 2; mode++) {
        llmopt_adwin_config c = llmopt_adwin_config_default();
        c.after = mode ? LLMOPT_ADWIN_AFTER_RESET : LLMOPT_ADWIN_AFTER_SHRINK;
        c.clock = mode ? 32 : 3;
        for (size_t ci = 0; ci < sizeof(cuts) / sizeof(cuts[0]); ci++) {
            llmopt_adwin a, b;
            llmopt_adwin_init(&a, &c, NULL, 0);
            for (size_t i = 0; i < cuts[ci]; i++)
                llmopt_adwin_update(&a, xs[i], NULL);
            llmopt_wbuf w;
            llmopt_wbuf_init(&w);
            llmopt_adwin_serialize(&a, &w);
            CU_ASSERT_EQUAL_FATAL(w.err, 0);
            llmopt_rbuf r;
            llmopt_rbuf_init(&r, w.data, w.len);
            CU_ASSERT_EQUAL_FATAL(llmopt_adwin_deserialize(&b, &r, NULL, 0), LLMOPT_OK);
            CU_ASSERT_EQUAL(r.left, 0);
            llmopt_wbuf_release(&w);
            int det_a = 0, det_b = 0, equal = 1;
            for (size_t i = cuts[ci]; i < n; i++) {
                llmopt_drift_detection da, db;
                int ha = llmopt_adwin_update(&a, xs[i], &da);
                int hb = llmopt_adwin_update(&b, xs[i], &db);
                det_a += ha;
                det_b += hb;
                if (ha != hb || (ha && !drift_same_detection(&da, &db)) ||
                    llmopt_adwin_mean(&a) != llmopt_adwin_mean(&b))
                    equal = 0;
            }
            CU_ASSERT(equal);
            CU_ASSERT_EQUAL(det_a, det_b);
            DRIFT_ASSERT_SAME_CHECKPOINT(llmopt_adwin_serialize, &a, &b);
        }
    }
}

static void test_bad_state(void) {
    static double xs[DRIFT_MAXN];
    size_t n = drift_load_stream("abrupt_mean", xs);
    llmopt_adwin_config c = llmopt_adwin_config_default();
    llmopt_adwin a, b;
    llmopt_adwin_init(&a, &c, NULL, 0);
    for (size_t i = 0; i < n / 2; i++)
        llmopt_adwin_update(&a, xs[i], NULL);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_adwin_serialize(&a, &w);
    llmopt_rbuf r;
    char err[128];
    DRIFT_ASSERT_PREFIXES_REFUSED(llmopt_adwin_deserialize, &b, w);
    /* wrong tag */
    w.data[0] = 'X';
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_adwin_deserialize(&b, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
    w.data[0] = 'A';
    /* a bucket count above max_buckets: first row count sits after the
     * 5-byte header, 8+4*4+2 config bytes, 3*8 counters, 3*8 sums and the
     * 4-byte row count */
    size_t off = 5 + 8 + 16 + 2 + 24 + 24 + 4;
    uint8_t saved = w.data[off];
    w.data[off] = 6;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_adwin_deserialize(&b, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
    w.data[off] = saved;
    /* a width that disagrees with the buckets */
    size_t woff = 5 + 8 + 16 + 2 + 24;
    w.data[woff + 7] ^= 0x01;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_adwin_deserialize(&b, &r, err, sizeof(err)), LLMOPT_ERR_INVALID);
    w.data[woff + 7] ^= 0x01;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_adwin_deserialize(&b, &r, err, sizeof(err)), LLMOPT_OK);
    llmopt_wbuf_release(&w);
    printf("\n  sizeof(llmopt_adwin) = %zu bytes, no heap\n", sizeof(llmopt_adwin));
}

/* A compact allocation grown one row ahead of need (as processor/detect.c
 * does) gives the same detections and the same serialized state as a whole
 * struct, on every golden stream and on a long ramp that needs many rows;
 * a compact one that is not grown slides at its smaller bound. */
static void test_compact_equals_whole(void) {
    static double xs[DRIFT_MAXN];
    llmopt_adwin_config c = llmopt_adwin_config_default();
    for (size_t s = 0; s <= DRIFT_N_STREAMS; s++) {
        size_t n;
        if (s < DRIFT_N_STREAMS) {
            n = drift_load_stream(DRIFT_STREAMS[s], xs);
        } else {
            n = DRIFT_MAXN; /* stationary ramp noise: the window keeps growing */
            for (size_t i = 0; i < n; i++)
                xs[i] = (double)(i % 17);
        }
        llmopt_adwin whole;
        CU_ASSERT_EQUAL_FATAL(llmopt_adwin_init(&whole, &c, NULL, 0), LLMOPT_OK);
        llmopt_adwin *cp = malloc(llmopt_adwin_sizeof(&c, 1));
        CU_ASSERT_PTR_NOT_NULL_FATAL(cp);
        CU_ASSERT_EQUAL_FATAL(llmopt_adwin_init_rows(cp, &c, 1, NULL, 0), LLMOPT_OK);
        CU_ASSERT_EQUAL(llmopt_adwin_rows_cap(cp), 1);
        for (size_t i = 0; i < n; i++) {
            uint32_t want = llmopt_adwin_rows_wanted(cp);
            if (want > llmopt_adwin_rows_cap(cp)) {
                cp = realloc(cp, llmopt_adwin_sizeof(&c, want));
                CU_ASSERT_PTR_NOT_NULL_FATAL(cp);
                llmopt_adwin_set_rows_cap(cp, want);
            }
            llmopt_drift_detection d1, d2;
            int h1 = llmopt_adwin_update(&whole, xs[i], &d1);
            int h2 = llmopt_adwin_update(cp, xs[i], &d2);
            CU_ASSERT_EQUAL_FATAL(h1, h2);
            if (h1)
                CU_ASSERT(d1.sample_index == d2.sample_index &&
                          d1.estimate_before == d2.estimate_before &&
                          d1.estimate_after == d2.estimate_after);
        }
        llmopt_wbuf w1, w2;
        llmopt_wbuf_init(&w1);
        llmopt_wbuf_init(&w2);
        llmopt_adwin_serialize(&whole, &w1);
        llmopt_adwin_serialize(cp, &w2);
        CU_ASSERT_EQUAL(w1.len, w2.len);
        CU_ASSERT(wbuf_equal(&w1, &w2));
        /* shrink to the rows in use (plus one) and keep going identically */
        uint32_t keep = llmopt_adwin_rows_wanted(cp);
        llmopt_adwin_set_rows_cap(cp, keep);
        cp = realloc(cp, llmopt_adwin_sizeof(&c, keep));
        CU_ASSERT_EQUAL(llmopt_adwin_rows_cap(cp), keep);
        CU_ASSERT(llmopt_adwin_mean(cp) == llmopt_adwin_mean(&whole));
        llmopt_wbuf_release(&w1);
        llmopt_wbuf_release(&w2);
        free(cp);
    }
    /* never grown: a 2-row compact detector slides at 2 rows, memory-safe */
    llmopt_adwin *sm = malloc(llmopt_adwin_sizeof(&c, 2));
    CU_ASSERT_EQUAL_FATAL(llmopt_adwin_init_rows(sm, &c, 2, NULL, 0), LLMOPT_OK);
    for (int i = 0; i < 1000; i++)
        llmopt_adwin_update(sm, 1.0, NULL);
    CU_ASSERT(sm->nrows <= 2);
    CU_ASSERT(llmopt_adwin_width(sm) <= 5 + 2 * 5);
    free(sm);
    printf("\n  compact adwin: %zu bytes with 4 rows, %zu whole\n", llmopt_adwin_sizeof(&c, 4),
           sizeof(llmopt_adwin));
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("adwin", NULL, NULL);
    CU_add_test(s, "golden_shrink_vs_river_helper", test_golden_shrink);
    CU_add_test(s, "golden_shrink_clock1_vs_river_helper", test_golden_shrink_clock1);
    CU_add_test(s, "golden_reset_vs_river_adwin", test_golden_reset);
    CU_add_test(s, "skip_newest_loop_bound_differs", test_skip_newest_differs);
    CU_add_test(s, "detection_report", test_report);
    CU_add_test(s, "bucket_structure", test_structure);
    CU_add_test(s, "row_cap_slides", test_row_cap);
    CU_add_test(s, "max_buckets_1_cuts", test_m1_cuts);
    CU_add_test(s, "config_errors", test_config_errors);
    CU_add_test(s, "serialize_roundtrip_midstream", test_roundtrip);
    CU_add_test(s, "deserialize_rejects_bad_state", test_bad_state);
    CU_add_test(s, "compact_equals_whole", test_compact_equals_whole);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
