/* test_winagg.c - CUnit suite for processor/core/winagg: exact counts and
 * sums, Welford moments against a two-pass computation, merge equal to one
 * accumulation, percentiles against exact order statistics, checkpoint
 * round trip and input validation. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/winagg.h"

static uint64_t rs = 1;
static double unif(void) {
    uint64_t z = (rs += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    z ^= z >> 31;
    return (double)(z >> 11) / 9007199254740992.0;
}

static llmopt_winagg_event rand_event(int i) {
    llmopt_winagg_event e = {0};
    e.status = i % 17 == 0 ? LLMOPT_WINAGG_ERROR : i % 29 == 0 ? LLMOPT_WINAGG_TIMEOUT : LLMOPT_WINAGG_OK;
    e.latency_ms = 100 + 900 * unif();
    e.has_ttft = i % 3 != 0;
    e.ttft_ms = e.latency_ms / 4;
    e.input_tokens = 100 + i % 50;
    e.output_tokens = 20 + i % 7;
    e.cost_usd = 0.001 * (1 + i % 5);
    e.has_quality = i % 4 != 0;
    e.quality = unif();
    e.cache_hit = i % 5 == 0;
    e.has_batch_size = i % 2 == 0;
    e.batch_size = 1 + i % 8;
    e.reward = unif();
    return e;
}

static int cmpd(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void test_exact_and_moments(void) {
    enum { N = 20000 };
    llmopt_winagg a;
    CU_ASSERT_EQUAL_FATAL(llmopt_winagg_init(&a, 100), LLMOPT_OK);
    double *lat = malloc(N * sizeof(double)), *q = malloc(N * sizeof(double));
    int nq = 0;
    int64_t errs = 0, in_tok = 0, hits = 0;
    double cost = 0;
    rs = 1;
    for (int i = 0; i < N; i++) {
        llmopt_winagg_event e = rand_event(i);
        CU_ASSERT_EQUAL_FATAL(llmopt_winagg_add(&a, &e), LLMOPT_OK);
        lat[i] = e.latency_ms;
        if (e.has_quality)
            q[nq++] = e.quality;
        errs += e.status != LLMOPT_WINAGG_OK;
        in_tok += e.input_tokens;
        cost += e.cost_usd;
        hits += e.cache_hit;
    }
    CU_ASSERT_EQUAL(a.count, N);
    CU_ASSERT_EQUAL(a.input_tokens, in_tok);
    CU_ASSERT_EQUAL(a.cache_hits, hits);
    llmopt_winagg_summary s;
    llmopt_winagg_summarize(&a, &s);
    CU_ASSERT(fabs(s.error_rate - (double)errs / N) < 1e-15);
    CU_ASSERT(fabs(s.cost_per_request - cost / N) < 1e-15);
    /* two-pass mean and sample variance */
    double m = 0, v = 0;
    for (int i = 0; i < nq; i++)
        m += q[i];
    m /= nq;
    for (int i = 0; i < nq; i++)
        v += (q[i] - m) * (q[i] - m);
    v /= nq - 1;
    CU_ASSERT(fabs(s.quality_mean - m) < 1e-12);
    CU_ASSERT(fabs(s.quality_var - v) < 1e-12);
    /* p95 within the digest's rank tolerance of the exact order statistic */
    qsort(lat, N, sizeof(double), cmpd);
    int rank = 0;
    while (rank < N && lat[rank] <= s.latency_p95)
        rank++;
    CU_ASSERT(fabs((double)rank / N - 0.95) < 0.005);
    free(lat);
    free(q);
    llmopt_winagg_release(&a);
}

static void test_merge_equals_single(void) {
    llmopt_winagg all, p1, p2;
    llmopt_winagg_init(&all, 100);
    llmopt_winagg_init(&p1, 100);
    llmopt_winagg_init(&p2, 100);
    rs = 5;
    for (int i = 0; i < 5000; i++) {
        llmopt_winagg_event e = rand_event(i);
        llmopt_winagg_add(&all, &e);
        llmopt_winagg_add(i < 1700 ? &p1 : &p2, &e);
    }
    p2.late_count = 3;
    CU_ASSERT_EQUAL(llmopt_winagg_merge(&p1, &p2), LLMOPT_OK);
    CU_ASSERT_EQUAL(p1.count, all.count);
    CU_ASSERT_EQUAL(p1.batch_count, all.batch_count);
    CU_ASSERT_EQUAL(p1.late_count, 3);
    CU_ASSERT(fabs(p1.reward.mean - all.reward.mean) < 1e-12);
    CU_ASSERT(fabs(llmopt_welford_variance(&p1.reward) - llmopt_welford_variance(&all.reward)) < 1e-12);
    CU_ASSERT(fabs(p1.hit_quality.mean - all.hit_quality.mean) < 1e-12);
    CU_ASSERT_EQUAL(llmopt_tdigest_count(p1.latency), llmopt_tdigest_count(all.latency));
    llmopt_winagg_release(&all);
    llmopt_winagg_release(&p1);
    llmopt_winagg_release(&p2);
}

static void test_roundtrip_and_invalid(void) {
    llmopt_winagg a, b;
    llmopt_winagg_init(&a, 100);
    llmopt_winagg_init(&b, 100);
    rs = 9;
    for (int i = 0; i < 3000; i++) {
        llmopt_winagg_event e = rand_event(i);
        llmopt_winagg_add(&a, &e);
    }
    a.late_count = 7;
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_winagg_serialize(&a, &w);
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL_FATAL(llmopt_winagg_deserialize(&b, &r), LLMOPT_OK);
    CU_ASSERT_EQUAL(r.left, 0);
    llmopt_winagg_summary sa, sb;
    llmopt_winagg_summarize(&a, &sa);
    llmopt_winagg_summarize(&b, &sb);
    CU_ASSERT_EQUAL(memcmp(&sa, &sb, sizeof(sa)), 0);
    CU_ASSERT_EQUAL(b.late_count, 7);
    /* truncations fail and leave b as it was */
    for (size_t cut = 0; cut < w.len; cut += 7) {
        llmopt_rbuf_init(&r, w.data, cut);
        CU_ASSERT_NOT_EQUAL(llmopt_winagg_deserialize(&b, &r), LLMOPT_OK);
    }
    CU_ASSERT_EQUAL(b.count, a.count);
    llmopt_wbuf_release(&w);

    llmopt_winagg_event bad = rand_event(1);
    bad.latency_ms = NAN;
    CU_ASSERT_EQUAL(llmopt_winagg_add(&a, &bad), LLMOPT_ERR_INVALID);
    bad = rand_event(1);
    bad.cost_usd = -1;
    CU_ASSERT_EQUAL(llmopt_winagg_add(&a, &bad), LLMOPT_ERR_INVALID);
    bad = rand_event(1);
    bad.status = 9;
    CU_ASSERT_EQUAL(llmopt_winagg_add(&a, &bad), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(a.count, 3000);
    llmopt_winagg_release(&a);
    llmopt_winagg_release(&b);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("winagg", NULL, NULL);
    CU_add_test(s, "exact_and_moments", test_exact_and_moments);
    CU_add_test(s, "merge_equals_single", test_merge_equals_single);
    CU_add_test(s, "roundtrip_and_invalid", test_roundtrip_and_invalid);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
