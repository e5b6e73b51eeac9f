/* test_stats.c - CUnit suite for controller/core statistics: dist.c,
 * stats.c and seqtest.c. Known answers are golden files from scipy and
 * statsmodels (tests/tools/gen_stats_golden.py) plus hand cases; the
 * sequential test is checked by simulating 1000 A/A experiments looked at
 * after every window (seeded RNG), against a naive t-test peeking as often. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/dist.h"
#include "controller/core/seqtest.h"
#include "controller/core/stats.h"

#define DATA "tests/data/stats/"
#define RTOL 1e-9

static int rel_close(double got, double want) {
    if (isnan(want))
        return isnan(got);
    if (want == 0)
        return got == 0 || fabs(got) < 1e-300;
    if (fabs(want) < 1e-300) /* below the accuracy contract: same magnitude */
        return fabs(got) < 1e-290;
    return fabs(got - want) <= RTOL * fabs(want);
}

static FILE *open_data(const char *name) {
    char path[256];
    snprintf(path, sizeof(path), DATA "%s", name);
    FILE *f = fopen(path, "r");
    if (f) {
        int c;
        while ((c = fgetc(f)) != '\n' && c != EOF) /* skip the '#' header */
            ;
    }
    return f;
}

static double max_rel_err; /* over compared values above 1e-300, printed per suite */

static int worst_report(const char *what, double got, double want, int *bad) {
    if (isfinite(want) && fabs(want) >= 1e-300 && fabs(got - want) / fabs(want) > max_rel_err)
        max_rel_err = fabs(got - want) / fabs(want);
    if (rel_close(got, want))
        return 1;
    if ((*bad)++ < 5)
        fprintf(stderr, "%s: got %.17g want %.17g (rel %.3g)\n", what, got, want,
                fabs(got - want) / fabs(want));
    return 0;
}

static void test_dist_golden(void) {
    max_rel_err = 0;
    FILE *f = open_data("dist.txt");
    CU_ASSERT_FATAL(f != NULL);
    char fn[32];
    double a, b, c, want;
    int n = 0, bad = 0;
    while (fscanf(f, "%31s %lf %lf %lf %lf", fn, &a, &b, &c, &want) == 5) {
        double got = NAN;
        if (!strcmp(fn, "ndtr"))
            got = llmopt_dist_normal_cdf(a);
        else if (!strcmp(fn, "ndtri"))
            got = llmopt_dist_normal_quantile(a);
        else if (!strcmp(fn, "betaln"))
            got = llmopt_dist_lbeta(a, b);
        else if (!strcmp(fn, "betainc"))
            got = llmopt_dist_beta_inc(a, b, c, 1.0 - c, 0);
        else if (!strcmp(fn, "betaincc"))
            got = llmopt_dist_beta_inc(a, b, c, 1.0 - c, 1);
        else if (!strcmp(fn, "gammainc"))
            got = llmopt_dist_gamma_p(a, b);
        else if (!strcmp(fn, "gammaincc"))
            got = llmopt_dist_gamma_q(a, b);
        else if (!strcmp(fn, "tsf"))
            got = llmopt_dist_t_sf(a, b);
        else if (!strcmp(fn, "t2"))
            got = llmopt_dist_t_two_sided(a, b);
        else if (!strcmp(fn, "chi2sf"))
            got = llmopt_dist_chi2_sf(a, b);
        char what[96];
        snprintf(what, sizeof(what), "%s(%g, %g, %g)", fn, a, b, c);
        worst_report(what, got, want, &bad);
        n++;
    }
    fclose(f);
    printf(" [max rel err %.2g] ", max_rel_err);
    CU_ASSERT(n >= 100);
    CU_ASSERT(bad == 0);
}

static void test_dist_edges(void) {
    CU_ASSERT(llmopt_dist_normal_quantile(0.0) == -INFINITY);
    CU_ASSERT(llmopt_dist_normal_quantile(1.0) == INFINITY);
    CU_ASSERT(isnan(llmopt_dist_normal_quantile(1.5)));
    CU_ASSERT(llmopt_dist_normal_quantile(0.5) == 0.0);
    CU_ASSERT(isnan(llmopt_dist_t_sf(1.0, 0.0)));
    CU_ASSERT(isnan(llmopt_dist_chi2_sf(1.0, -1.0)));
    CU_ASSERT(llmopt_dist_chi2_sf(0.0, 3.0) == 1.0);
    CU_ASSERT(llmopt_dist_t_two_sided(INFINITY, 3.0) == 0.0);
    /* Cauchy (df = 1) has a closed form: P(T > t) = 1/2 - atan(t)/pi */
    for (double t = -50; t <= 50; t += 0.37) {
        double want = 0.5 - atan(t) / M_PI;
        CU_ASSERT(fabs(llmopt_dist_t_sf(t, 1.0) - want) <= 1e-12 * want);
    }
    /* df = 2: P(T > t) = 1/2 - t / (2 sqrt(t^2 + 2)) */
    for (double t = 0.1; t <= 20; t += 0.77) {
        double want = 0.5 * (1.0 - t / sqrt(t * t + 2.0));
        CU_ASSERT(fabs(llmopt_dist_t_sf(t, 2.0) - want) <= 1e-10 * want);
    }
    /* quantile inverts the CDF over the lower half, where p carries full
     * relative precision (above it, Phi(x) rounds towards 1 and x cannot be
     * recovered: dx = eps / phi(x)); the upper half is the mirror image */
    for (double x = -37.0; x <= 0.0; x += 0.25) {
        double p = llmopt_dist_normal_cdf(x);
        CU_ASSERT(fabs(llmopt_dist_normal_quantile(p) - x) <= 1e-12 * fmax(1.0, fabs(x)));
        CU_ASSERT(llmopt_dist_normal_quantile(1.0 - p) == -llmopt_dist_normal_quantile(p) ||
                  p < 0.25); /* 1 - p is exact only for p >= 1/4 */
    }
}

static void test_welch_golden(void) {
    max_rel_err = 0;
    FILE *f = open_data("welch.txt");
    CU_ASSERT_FATAL(f != NULL);
    llmopt_stats_moments a, b;
    double t, df, p;
    int n = 0, bad = 0;
    while (fscanf(f, "%lf %lf %lf %lf %lf %lf %lf %lf %lf", &a.mean, &a.var, &a.n, &b.mean,
                  &b.var, &b.n, &t, &df, &p) == 9) {
        llmopt_stats_ttest r;
        CU_ASSERT(llmopt_stats_welch(&a, &b, &r) == LLMOPT_OK);
        worst_report("welch t", r.t, t, &bad);
        worst_report("welch df", r.df, df, &bad);
        worst_report("welch p", r.p, p, &bad);
        n++;
    }
    fclose(f);
    printf(" [max rel err %.2g] ", max_rel_err);
    CU_ASSERT(n >= 10);
    CU_ASSERT(bad == 0);
    llmopt_stats_moments one = {1, 0, 1}, two = {5, 1, 0}, zero = {5, 3, 0};
    llmopt_stats_ttest r;
    CU_ASSERT(llmopt_stats_welch(&one, &two, &r) == LLMOPT_ERR_INVALID);
    CU_ASSERT(llmopt_stats_welch(&two, &zero, &r) == LLMOPT_ERR_INVALID);
}

static void test_propz_golden(void) {
    max_rel_err = 0;
    FILE *f = open_data("propz.txt");
    CU_ASSERT_FATAL(f != NULL);
    double xa, na, xb, nb, z, p;
    int n = 0, bad = 0;
    while (fscanf(f, "%lf %lf %lf %lf %lf %lf", &xa, &na, &xb, &nb, &z, &p) == 6) {
        llmopt_stats_ztest r;
        CU_ASSERT(llmopt_stats_prop_ztest((uint64_t)xa, (uint64_t)na, (uint64_t)xb, (uint64_t)nb,
                                          &r) == LLMOPT_OK);
        worst_report("propz z", r.z, z, &bad);
        worst_report("propz p", r.p, p, &bad);
        n++;
    }
    fclose(f);
    printf(" [max rel err %.2g] ", max_rel_err);
    CU_ASSERT(n >= 5);
    CU_ASSERT(bad == 0);
    llmopt_stats_ztest r;
    CU_ASSERT(llmopt_stats_prop_ztest(0, 10, 0, 10, &r) == LLMOPT_ERR_INVALID);
    CU_ASSERT(llmopt_stats_prop_ztest(11, 10, 0, 10, &r) == LLMOPT_ERR_INVALID);
    CU_ASSERT(llmopt_stats_prop_ztest(1, 0, 0, 10, &r) == LLMOPT_ERR_INVALID);
    /* hand case: 10/100 vs 20/100, pooled 0.15: z = -0.1 / sqrt(0.1275 * 0.02) */
    CU_ASSERT(llmopt_stats_prop_ztest(10, 100, 20, 100, &r) == LLMOPT_OK);
    CU_ASSERT(fabs(r.z - (-0.1 / sqrt(0.15 * 0.85 * 0.02))) < 1e-14);
    CU_ASSERT(fabs(r.p - erfc(fabs(r.z) / sqrt(2.0))) < 1e-15);
}

static void test_chi2_golden(void) {
    max_rel_err = 0;
    FILE *f = open_data("chi2gof.txt");
    CU_ASSERT_FATAL(f != NULL);
    int k, n = 0, bad = 0;
    while (fscanf(f, "%d", &k) == 1) {
        CU_ASSERT_FATAL(k >= 2 && k <= 16);
        double obs[16], w[16], stat, df, p;
        for (int i = 0; i < k; i++)
            CU_ASSERT_FATAL(fscanf(f, "%lf", &obs[i]) == 1);
        for (int i = 0; i < k; i++)
            CU_ASSERT_FATAL(fscanf(f, "%lf", &w[i]) == 1);
        CU_ASSERT_FATAL(fscanf(f, "%lf %lf %lf", &stat, &df, &p) == 3);
        llmopt_stats_chi2 r;
        CU_ASSERT(llmopt_stats_chi2_gof(obs, w, (size_t)k, &r) == LLMOPT_OK);
        worst_report("chi2 stat", r.stat, stat, &bad);
        CU_ASSERT(r.df == df);
        worst_report("chi2 p", r.p, p, &bad);
        n++;
    }
    fclose(f);
    printf(" [max rel err %.2g] ", max_rel_err);
    CU_ASSERT(n >= 5);
    CU_ASSERT(bad == 0);
    /* hand case: 60/40 against 50/50 -> stat 4, df 1, p = erfc(sqrt(2)) */
    double o[2] = {60, 40}, w[2] = {1, 1};
    llmopt_stats_chi2 r;
    CU_ASSERT(llmopt_stats_chi2_gof(o, w, 2, &r) == LLMOPT_OK);
    CU_ASSERT(r.stat == 4.0 && fabs(r.p - erfc(sqrt(2.0))) < 1e-15);
    double wbad[2] = {1, 0};
    CU_ASSERT(llmopt_stats_chi2_gof(o, wbad, 2, &r) == LLMOPT_ERR_INVALID);
    CU_ASSERT(llmopt_stats_chi2_gof(o, w, 1, &r) == LLMOPT_ERR_INVALID);
}

static void test_holm_golden(void) {
    max_rel_err = 0;
    FILE *f = open_data("holm.txt");
    CU_ASSERT_FATAL(f != NULL);
    int m, n = 0, bad = 0;
    while (fscanf(f, "%d", &m) == 1) {
        CU_ASSERT_FATAL(m >= 1 && m <= 32);
        double p[32], want[32], adj[32];
        for (int i = 0; i < m; i++)
            CU_ASSERT_FATAL(fscanf(f, "%lf", &p[i]) == 1);
        for (int i = 0; i < m; i++)
            CU_ASSERT_FATAL(fscanf(f, "%lf", &want[i]) == 1);
        CU_ASSERT(llmopt_stats_holm(p, (size_t)m, adj) == LLMOPT_OK);
        for (int i = 0; i < m; i++)
            worst_report("holm", adj[i], want[i], &bad);
        CU_ASSERT(llmopt_stats_holm(p, (size_t)m, p) == LLMOPT_OK); /* in place */
        CU_ASSERT(memcmp(p, adj, sizeof(double) * (size_t)m) == 0);
        n++;
    }
    fclose(f);
    printf(" [max rel err %.2g] ", max_rel_err);
    CU_ASSERT(n >= 5);
    CU_ASSERT(bad == 0);
    /* hand case: 0.01 0.04 0.03 -> sorted 0.01*3, 0.03*2, 0.04*1 -> 0.03 0.06 0.06 */
    double p[3] = {0.01, 0.04, 0.03}, adj[3];
    CU_ASSERT(llmopt_stats_holm(p, 3, adj) == LLMOPT_OK);
    CU_ASSERT(fabs(adj[0] - 0.03) < 1e-17 && adj[1] == 0.06 && adj[2] == 0.06);
    double badp[2] = {0.1, NAN};
    CU_ASSERT(llmopt_stats_holm(badp, 2, adj) == LLMOPT_ERR_INVALID);
}

/* ---- sequential test ---- */

static void test_msprt_hand(void) {
    llmopt_msprt m;
    llmopt_msprt_config c;
    llmopt_msprt_config_default(&c, 0.04);
    c.sigma2_a = c.sigma2_b = 1.0;
    c.min_n = 100;
    char err[128];
    CU_ASSERT_FATAL(llmopt_msprt_init(&m, &c, err, sizeof(err)) == LLMOPT_OK);
    int reject;
    CU_ASSERT(llmopt_msprt_add(&m, 0, 50, 1.0, 10.0) == LLMOPT_OK);
    CU_ASSERT(llmopt_msprt_look(&m, &reject) == LLMOPT_ERR_STATE && !reject && m.p == 1.0);
    CU_ASSERT(llmopt_msprt_add(&m, 0, 50, 1.0, 12.0) == LLMOPT_OK);
    CU_ASSERT(llmopt_msprt_add(&m, 1, 100, 1.3, 40.0) == LLMOPT_OK);
    CU_ASSERT(llmopt_msprt_add(&m, 1, 0, 99.0, 0.0) == LLMOPT_OK); /* empty window */
    CU_ASSERT(llmopt_msprt_add(&m, 1, 1, NAN, 0.0) == LLMOPT_ERR_INVALID);
    CU_ASSERT(llmopt_msprt_look(&m, &reject) == LLMOPT_OK);
    /* V = 2 sigma^2 = 2, n = 100, d = 0.3: the paper's form gives
     * Lambda = sqrt(2/6) exp(1e4 * 0.04 * 0.09 / (2 * 2 * 6)) = exp(1.5)/sqrt(3) */
    double lam = exp(1.5) / sqrt(3.0);
    CU_ASSERT(fabs(m.lambda - lam) < 1e-12 * lam);
    CU_ASSERT(fabs(m.p - 1.0 / lam) < 1e-12);
    CU_ASSERT(!reject && fabs(m.estimate - 0.3) < 1e-15);
    /* half-width: sqrt(s2 (s2 + tau2) / tau2 * (2 log 20 + log 3)), s2 = 0.02 */
    double half = sqrt(0.02 * 0.06 / 0.04 * (2.0 * log(20.0) + log(3.0)));
    CU_ASSERT(fabs(m.ci_hi - (0.3 + half)) < 1e-12 && fabs(m.ci_lo - (0.3 - half)) < 1e-12);
    /* merged moments: A = 100 values with mean 1, M2 = 22 */
    CU_ASSERT(m.a.n == 100 && fabs(m.a.mean - 1.0) < 1e-15 && fabs(m.a.m2 - 22.0) < 1e-12);
    c.tau2 = 0;
    CU_ASSERT(llmopt_msprt_init(&m, &c, err, sizeof(err)) == LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "'tau2'") != NULL);
}

/* seeded xoshiro256** and Box-Muller normals for the simulations */
static uint64_t rng_s[4];

static uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

static uint64_t rng_next(void) {
    uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
    rng_s[2] ^= rng_s[0];
    rng_s[3] ^= rng_s[1];
    rng_s[1] ^= rng_s[2];
    rng_s[0] ^= rng_s[3];
    rng_s[2] ^= t;
    rng_s[3] = rotl(rng_s[3], 45);
    return r;
}

static void rng_seed(uint64_t seed) {
    for (int i = 0; i < 4; i++) { /* splitmix64 */
        uint64_t z = (seed += 0x9E3779B97F4A7C15ULL);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
        rng_s[i] = z ^ (z >> 31);
    }
}

static double rng_normal(void) {
    double u1 = ((double)(rng_next() >> 11) + 0.5) / 9007199254740992.0;
    double u2 = (double)(rng_next() >> 11) / 9007199254740992.0;
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

/* One window of `per` normal draws (mean mu, sd 1) summarised as (n, mean, M2). */
static void draw_window(int per, double mu, double *mean, double *m2) {
    double m = 0, s = 0;
    for (int i = 0; i < per; i++) { /* Welford */
        double x = mu + rng_normal();
        double d = x - m;
        m += d / (i + 1);
        s += d * (x - m);
    }
    *mean = m;
    *m2 = s;
}

typedef struct sim_result {
    int seq_reject, naive_reject, ci_miss;
    double mean_stop_window;
} sim_result;

static sim_result simulate(int experiments, int windows, int per, double effect, uint64_t seed) {
    sim_result res = {0, 0, 0, 0};
    rng_seed(seed);
    double stops = 0;
    for (int e = 0; e < experiments; e++) {
        llmopt_msprt m;
        llmopt_msprt_config c;
        llmopt_msprt_config_default(&c, 0.04); /* effects around 0.2 sd matter */
        c.min_n = (uint64_t)(2 * per);
        llmopt_msprt_init(&m, &c, NULL, 0);
        int seq_done = 0, naive_done = 0, missed = 0;
        for (int w = 0; w < windows; w++) {
            double ma, sa, mb, sb;
            draw_window(per, 0.0, &ma, &sa);
            draw_window(per, effect, &mb, &sb);
            llmopt_msprt_add(&m, 0, per, ma, sa);
            llmopt_msprt_add(&m, 1, per, mb, sb);
            int reject = 0;
            if (llmopt_msprt_look(&m, &reject) == LLMOPT_OK) {
                if (reject && !seq_done) {
                    seq_done = 1;
                    stops += w + 1;
                }
                if (!(m.ci_lo <= effect && effect <= m.ci_hi))
                    missed = 1;
            }
            /* naive: fixed-horizon Welch test, looked at after every window */
            llmopt_stats_moments A = {m.a.n, m.a.mean, m.a.m2 / (m.a.n - 1)};
            llmopt_stats_moments B = {m.b.n, m.b.mean, m.b.m2 / (m.b.n - 1)};
            llmopt_stats_ttest t;
            if (llmopt_stats_welch(&A, &B, &t) == LLMOPT_OK && t.p <= 0.05)
                naive_done = 1;
        }
        res.seq_reject += seq_done;
        res.naive_reject += naive_done;
        res.ci_miss += missed;
    }
    res.mean_stop_window = res.seq_reject ? stops / res.seq_reject : NAN;
    return res;
}

static void test_msprt_aa_false_positives(void) {
    const int experiments = 1000, windows = 50, per = 20;
    sim_result r = simulate(experiments, windows, per, 0.0, 20261129);
    double seq = (double)r.seq_reject / experiments, naive = (double)r.naive_reject / experiments;
    printf("\n  A/A, %d experiments x %d windows x %d obs/arm, alpha 0.05, look every window:\n"
           "    mSPRT always-valid p <= alpha ever: %.3f\n"
           "    naive Welch t-test p <= alpha ever: %.3f\n"
           "    mSPRT confidence sequence ever missed 0: %.3f\n",
           experiments, windows, per, seq, naive, (double)r.ci_miss / experiments);
    CU_ASSERT(seq <= 0.05);
    CU_ASSERT(naive > 0.10); /* peeking inflates the naive test well past alpha */
    CU_ASSERT((double)r.ci_miss / experiments <= 0.05);
}

static void test_msprt_power(void) {
    const int experiments = 200, windows = 50, per = 20;
    sim_result r = simulate(experiments, windows, per, 0.3, 77);
    double power = (double)r.seq_reject / experiments;
    printf("\n  effect 0.3 sd: mSPRT rejects in %.3f of %d experiments, mean stop window %.1f,"
           " CS missed the truth in %.3f\n",
           power, experiments, r.mean_stop_window, (double)r.ci_miss / experiments);
    CU_ASSERT(power >= 0.8);
    CU_ASSERT((double)r.ci_miss / experiments <= 0.05);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("stats", NULL, NULL);
    CU_add_test(s, "dist_golden_scipy", test_dist_golden);
    CU_add_test(s, "dist_edges_closed_forms", test_dist_edges);
    CU_add_test(s, "welch_golden_scipy", test_welch_golden);
    CU_add_test(s, "prop_ztest_golden_statsmodels", test_propz_golden);
    CU_add_test(s, "chi2_gof_golden_scipy", test_chi2_golden);
    CU_add_test(s, "holm_golden_statsmodels", test_holm_golden);
    CU_add_test(s, "msprt_hand", test_msprt_hand);
    CU_add_test(s, "msprt_aa_false_positive_rate", test_msprt_aa_false_positives);
    CU_add_test(s, "msprt_power", test_msprt_power);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
