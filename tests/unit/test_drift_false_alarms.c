/* test_drift_false_alarms.c - false alarms of every drift detector on
 * stationary streams, printed as a table: 100 seeded streams of 100 000
 * samples each, N(0, 1) for ADWIN, Page-Hinkley and the tabular CUSUM,
 * Bernoulli(0.05) for ADWIN and the Bernoulli CUSUM. All detectors use their
 * default parameters.
 *
 * LLMOPT_SKIP_SLOW=1 (valgrind runs) prints that the full table was skipped
 * and runs 3 streams of 10 000 instead.
 *
 * The assertions are sanity bounds from theory, loose enough for any seed:
 * ADWIN's delta 0.002 bounds false cuts, so it must stay well below one
 * alarm per stream on average; the tabular CUSUM with k 0.5, h 5 has an
 * in-control ARL of about 465 per side (Montgomery table 9.3), so its mean
 * run between alarms must be of that order. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/adwin.h"
#include "processor/core/cusum.h"
#include "processor/core/page_hinkley.h"

typedef struct rng {
    uint64_t s;
} rng;

static uint64_t next_u64(rng *r) { /* splitmix64 */
    uint64_t z = (r->s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static double uniform(rng *r) {
    return ((double)(next_u64(r) >> 11) + 0.5) / 9007199254740992.0;
}

static double normal(rng *r, double *spare, int *has) {
    if (*has) {
        *has = 0;
        return *spare;
    }
    double u = uniform(r), v = uniform(r);
    double m = sqrt(-2.0 * log(u));
    *spare = m * sin(2.0 * M_PI * v);
    *has = 1;
    return m * cos(2.0 * M_PI * v);
}

enum { D_ADWIN, D_PH, D_CUSUM, D_ADWIN_B, D_CUSUM_B, D_N };
static const char *NAMES[D_N] = {"adwin (normal)", "page-hinkley (normal)", "cusum k0.5 h5 (normal)",
                                 "adwin (bernoulli 0.05)", "cusum bernoulli (0.05)"};

static void test_false_alarms(void) {
    const char *slow = getenv("LLMOPT_SKIP_SLOW");
    int reduced = slow && strcmp(slow, "1") == 0;
    int streams = reduced ? 3 : 100;
    int len = reduced ? 10000 : 100000;
    if (reduced)
        printf("\n  LLMOPT_SKIP_SLOW=1: full table (100 x 100000) skipped, running 3 x 10000");

    uint64_t total[D_N] = {0}, max_per[D_N] = {0}, streams_hit[D_N] = {0};
    llmopt_adwin_config ac = llmopt_adwin_config_default();
    llmopt_ph_config pc = llmopt_ph_config_default();
    llmopt_cusum_config cc = llmopt_cusum_config_default();
    llmopt_cusum_config bc = llmopt_cusum_config_default();
    bc.kind = LLMOPT_CUSUM_BERNOULLI;
    static llmopt_adwin a, ab;
    llmopt_ph p;
    llmopt_cusum c, cb;
    for (int s = 0; s < streams; s++) {
        rng r = {0x5eed0000ULL + (uint64_t)s};
        double spare = 0.0;
        int has = 0;
        llmopt_adwin_init(&a, &ac, NULL, 0);
        llmopt_adwin_init(&ab, &ac, NULL, 0);
        llmopt_ph_init(&p, &pc, NULL, 0);
        llmopt_cusum_init(&c, &cc, NULL, 0);
        llmopt_cusum_init(&cb, &bc, NULL, 0);
        uint64_t n[D_N] = {0};
        for (int i = 0; i < len; i++) {
            double x = normal(&r, &spare, &has);
            double b = uniform(&r) < 0.05 ? 1.0 : 0.0;
            n[D_ADWIN] += (uint64_t)llmopt_adwin_update(&a, x, NULL);
            n[D_PH] += (uint64_t)llmopt_ph_update(&p, x, NULL);
            n[D_CUSUM] += (uint64_t)llmopt_cusum_update(&c, x, NULL);
            n[D_ADWIN_B] += (uint64_t)llmopt_adwin_update(&ab, b, NULL);
            n[D_CUSUM_B] += (uint64_t)llmopt_cusum_update(&cb, b, NULL);
        }
        for (int d = 0; d < D_N; d++) {
            total[d] += n[d];
            if (n[d] > max_per[d])
                max_per[d] = n[d];
            streams_hit[d] += n[d] > 0;
        }
    }
    printf("\n  false alarms on %d stationary streams x %d samples (defaults)\n", streams, len);
    printf("  %-26s %10s %12s %10s %14s\n", "detector", "total", "per stream", "max", "streams w/ any");
    for (int d = 0; d < D_N; d++)
        printf("  %-26s %10llu %12.2f %10llu %14llu\n", NAMES[d], (unsigned long long)total[d],
               (double)total[d] / streams, (unsigned long long)max_per[d],
               (unsigned long long)streams_hit[d]);

    double samples = (double)streams * len;
    CU_ASSERT((double)total[D_ADWIN] / streams < 1.0);
    CU_ASSERT((double)total[D_ADWIN_B] / streams < 1.0);
    /* CUSUM: mean run between alarms (warm-up of 30 included) */
    double arl = samples / (double)(total[D_CUSUM] ? total[D_CUSUM] : 1);
    printf("  cusum mean run between alarms: %.0f samples (theory ~233 + 30 warm-up)\n", arl);
    CU_ASSERT(arl > 100.0 && arl < 1000.0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("drift_false_alarms", NULL, NULL);
    CU_add_test(s, "stationary_streams_table", test_false_alarms);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
