/* test_rng.c - CUnit suite for controller/core/rng: the xoshiro256** stream
 * against an independent Python implementation (tests/data/bandit/
 * xoshiro.txt from tests/tools/gen_bandit_golden.py), reproducibility and
 * checkpoint round trip, and the moments of the continuous draws checked
 * against their closed forms within 5 standard errors (the seed is fixed,
 * so each check is deterministic; the bounds say how far a correct sampler
 * could stray). */
#include <CUnit/Basic.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/rng.h"

static void test_xoshiro_golden(void) {
    FILE *f = fopen("tests/data/bandit/xoshiro.txt", "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[1024];
    int rows = 0;
    while (fgets(line, sizeof(line), f)) {
        if (line[0] == '#')
            continue;
        char *p = line;
        uint64_t seed = strtoull(p, &p, 10);
        llmopt_rng r;
        llmopt_rng_seed(&r, seed);
        for (int i = 0; i < 8; i++) {
            uint64_t want = strtoull(p, &p, 10);
            CU_ASSERT_EQUAL(llmopt_rng_u64(&r), want);
        }
        rows++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(rows, 4);
}

static void test_reproducible_and_roundtrip(void) {
    llmopt_rng a, b, c;
    llmopt_rng_seed(&a, 7);
    llmopt_rng_seed(&b, 7);
    for (int i = 0; i < 1000; i++) {
        double x = llmopt_rng_gamma(&a, 0.7), y = llmopt_rng_gamma(&b, 0.7);
        CU_ASSERT_EQUAL(memcmp(&x, &y, sizeof(x)), 0);
    }
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_rng_serialize(&a, &w);
    llmopt_rbuf rb;
    llmopt_rbuf_init(&rb, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_rng_deserialize(&c, &rb), LLMOPT_OK);
    CU_ASSERT_EQUAL(rb.left, 0);
    for (int i = 0; i < 100; i++)
        CU_ASSERT_EQUAL(llmopt_rng_u64(&a), llmopt_rng_u64(&c));
    for (size_t n = 0; n < w.len; n++) { /* every prefix is refused */
        llmopt_rbuf_init(&rb, w.data, n);
        CU_ASSERT_NOT_EQUAL(llmopt_rng_deserialize(&c, &rb), LLMOPT_OK);
    }
    memset(w.data + 5, 0, 32); /* the all-zero state is xoshiro's fixed point */
    llmopt_rbuf_init(&rb, w.data, w.len);
    CU_ASSERT_EQUAL(llmopt_rng_deserialize(&c, &rb), LLMOPT_ERR_INVALID);
    llmopt_wbuf_release(&w);
    CU_ASSERT_NOT_EQUAL(llmopt_rng_mix(1, 2), llmopt_rng_mix(2, 1));
}

static void test_uniform_and_below(void) {
    llmopt_rng r;
    llmopt_rng_seed(&r, 11);
    enum { N = 200000, B = 10 };
    int cnt[B] = {0};
    double sum = 0;
    for (int i = 0; i < N; i++) {
        double u = llmopt_rng_uniform(&r);
        CU_ASSERT(u >= 0 && u < 1);
        sum += u;
        double v = llmopt_rng_uniform_pos(&r);
        CU_ASSERT(v > 0 && v < 1);
        cnt[llmopt_rng_below(&r, B)]++;
    }
    CU_ASSERT(fabs(sum / N - 0.5) < 5 * sqrt(1.0 / 12 / N));
    double chi2 = 0;
    for (int i = 0; i < B; i++)
        chi2 += (cnt[i] - N / B) * (double)(cnt[i] - N / B) / (N / B);
    CU_ASSERT(chi2 < 27.9); /* chi-square 9 dof, p = 0.001 */
    CU_ASSERT_EQUAL(llmopt_rng_below(&r, 0), 0);
    CU_ASSERT_EQUAL(llmopt_rng_below(&r, 1), 0);
}

/* sample mean and variance of n draws against mean mu and variance var:
 * the mean within 5 se; the variance within 5 se using the 4th moment */
static void check_moments(const char *what, double (*draw)(llmopt_rng *, double), double par,
                          double mu, double var, double kurt_excess) {
    llmopt_rng r;
    llmopt_rng_seed(&r, 12345);
    enum { N = 400000 };
    double s = 0, s2 = 0;
    for (int i = 0; i < N; i++) {
        double x = draw(&r, par);
        s += x;
        s2 += x * x;
    }
    double m = s / N, v = s2 / N - m * m;
    double se_m = sqrt(var / N);
    double se_v = var * sqrt((kurt_excess + 2.0) / N);
    int ok = fabs(m - mu) < 5 * se_m && fabs(v - var) < 5 * se_v;
    if (!ok)
        fprintf(stderr, "%s(%g): mean %g (want %g), var %g (want %g)\n", what, par, m, mu, v, var);
    CU_ASSERT(ok);
}

static double d_normal(llmopt_rng *r, double p) {
    return p + llmopt_rng_normal(r);
}
static double d_gamma(llmopt_rng *r, double p) {
    return llmopt_rng_gamma(r, p);
}
static double d_beta(llmopt_rng *r, double p) {
    return llmopt_rng_beta(r, p, 2.0 * p);
}
static double d_t(llmopt_rng *r, double p) {
    return llmopt_rng_student_t(r, p);
}

static void test_distribution_moments(void) {
    check_moments("normal", d_normal, 3.0, 3.0, 1.0, 0.0);
    const double shapes[] = {0.3, 1.0, 2.5, 50.0};
    for (int i = 0; i < 4; i++) /* gamma(k): mean k, var k, excess kurtosis 6/k */
        check_moments("gamma", d_gamma, shapes[i], shapes[i], shapes[i], 6.0 / shapes[i]);
    const double as[] = {0.5, 2.0, 30.0};
    for (int i = 0; i < 3; i++) {
        double a = as[i], b = 2 * a, n = a + b;
        double var = a * b / (n * n * (n + 1));
        double ek = 6.0 * ((a - b) * (a - b) * (n + 1) - a * b * (n + 2)) /
                    (a * b * (n + 2) * (n + 3));
        check_moments("beta", d_beta, a, a / n, var, ek);
    }
    /* t with df 9: var 9/7, excess kurtosis 6/(df-4) = 1.2 */
    check_moments("t", d_t, 9.0, 0.0, 9.0 / 7.0, 1.2);
    llmopt_rng r;
    llmopt_rng_seed(&r, 1);
    CU_ASSERT(isnan(llmopt_rng_gamma(&r, 0)));
    CU_ASSERT(isnan(llmopt_rng_gamma(&r, -1)));
    CU_ASSERT(isnan(llmopt_rng_beta(&r, 1, NAN)));
    CU_ASSERT(isnan(llmopt_rng_student_t(&r, 0)));
    double tiny = llmopt_rng_beta(&r, 1e-300, 1e-300); /* both gammas underflow */
    CU_ASSERT(tiny == 0.0 || tiny == 1.0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("rng", NULL, NULL);
    CU_add_test(s, "xoshiro_golden", test_xoshiro_golden);
    CU_add_test(s, "reproducible_and_roundtrip", test_reproducible_and_roundtrip);
    CU_add_test(s, "uniform_and_below", test_uniform_and_below);
    CU_add_test(s, "distribution_moments", test_distribution_moments);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
