/* test_alloc.c - CUnit suite for controller/core/alloc: water-filling
 * floors worked by hand, fixed shares, disabled arms, infeasible floors,
 * robustness to bad preferences, a randomized property check of the
 * invariants (sum 1, floors exact, off arms 0), publish-on-change and the
 * weighted draw. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "controller/core/alloc.h"
#include "controller/core/rng.h"

#define CLOSE(a, b) CU_ASSERT(fabs((a) - (b)) <= 1e-15)

static llmopt_alloc_arm fl(double raw, double floor) {
    llmopt_alloc_arm a = {LLMOPT_ALLOC_FLOAT, raw, floor, 0};
    return a;
}

static double sum(const double *w, size_t k) {
    double s = 0;
    for (size_t i = 0; i < k; i++)
        s += w[i];
    return s;
}

static void test_waterfill_by_hand(void) {
    double w[4];
    char why[128];
    /* raw 0.97/0.02/0.01/0 with floor 0.05: three pinned, the leader keeps 0.85 */
    llmopt_alloc_arm a[4] = {fl(0.97, 0.05), fl(0.02, 0.05), fl(0.01, 0.05), fl(0, 0.05)};
    CU_ASSERT(llmopt_alloc_weights(a, 4, w, why, sizeof(why)) == LLMOPT_OK);
    CLOSE(w[0], 0.85);
    CU_ASSERT_EQUAL(w[1], 0.05);
    CU_ASSERT_EQUAL(w[2], 0.05);
    CU_ASSERT_EQUAL(w[3], 0.05);
    CU_ASSERT(strstr(why, "3 at floor") != NULL);
    /* raw 0.5/0.3/0.2, floor 0.25: arm 2 pinned; lambda = 0.75 / 0.8, so
     * 0.46875 and 0.28125 -- a clip-then-renormalise would have pushed
     * arm 2 back under its floor */
    llmopt_alloc_arm b[3] = {fl(0.5, 0.25), fl(0.3, 0.25), fl(0.2, 0.25)};
    CU_ASSERT(llmopt_alloc_weights(b, 3, w, NULL, 0) == LLMOPT_OK);
    CLOSE(w[0], 0.46875);
    CLOSE(w[1], 0.28125);
    CU_ASSERT_EQUAL(w[2], 0.25);
    /* cascading pins: 0.9/0.06/0.04 with floor 0.1: 0.04 pins first, then
     * lambda = 0.9/0.96 puts 0.06 at 0.05625 < 0.1, pinned too: 0.8 left */
    llmopt_alloc_arm c[3] = {fl(0.9, 0.1), fl(0.06, 0.1), fl(0.04, 0.1)};
    CU_ASSERT(llmopt_alloc_weights(c, 3, w, NULL, 0) == LLMOPT_OK);
    CLOSE(w[0], 0.8);
    CU_ASSERT_EQUAL(w[1], 0.1);
    CU_ASSERT_EQUAL(w[2], 0.1);
}

static void test_roles(void) {
    double w[5];
    /* off arm 0; half-open probe 0.02 fixed; floats share 0.98 */
    llmopt_alloc_arm a[5] = {
        {LLMOPT_ALLOC_OFF, 5, 0.01, 0}, {LLMOPT_ALLOC_FIXED, 0, 0, 0.02},
        fl(0.7, 0.01), fl(0.3, 0.01), fl(0, 0.01)};
    CU_ASSERT(llmopt_alloc_weights(a, 5, w, NULL, 0) == LLMOPT_OK);
    CU_ASSERT_EQUAL(w[0], 0.0);
    CU_ASSERT_EQUAL(w[1], 0.02);
    CU_ASSERT_EQUAL(w[4], 0.01);
    CLOSE(w[2], 0.97 * 0.7);
    CLOSE(w[3], 0.97 * 0.3);
    CLOSE(sum(w, 5), 1.0);
    /* a canary at 0.99 cannot eat the floors of the two others: scaled to 0.98 */
    llmopt_alloc_arm b[3] = {{LLMOPT_ALLOC_FIXED, 0, 0, 0.99}, fl(1, 0.01), fl(0, 0.01)};
    CU_ASSERT(llmopt_alloc_weights(b, 3, w, NULL, 0) == LLMOPT_OK);
    CLOSE(w[0], 0.98);
    CLOSE(w[1], 0.01);
    CU_ASSERT_EQUAL(w[2], 0.01);
    /* only fixed arms: scaled up to 1 */
    llmopt_alloc_arm c[2] = {{LLMOPT_ALLOC_FIXED, 0, 0, 0.1}, {LLMOPT_ALLOC_FIXED, 0, 0, 0.3}};
    CU_ASSERT(llmopt_alloc_weights(c, 2, w, NULL, 0) == LLMOPT_OK);
    CLOSE(w[0], 0.25);
    CLOSE(w[1], 0.75);
    /* floors that cannot all hold (3 x 0.5): each gets 1/3, fixed gets 0 */
    llmopt_alloc_arm d[4] = {fl(1, 0.5), fl(0, 0.5), fl(0, 0.5), {LLMOPT_ALLOC_FIXED, 0, 0, 0.2}};
    CU_ASSERT(llmopt_alloc_weights(d, 4, w, NULL, 0) == LLMOPT_OK);
    CLOSE(w[0], 1.0 / 3);
    CLOSE(w[1], 1.0 / 3);
    CU_ASSERT_EQUAL(w[3], 0.0);
    CLOSE(sum(w, 4), 1.0);
    /* no preference at all (NaN, negative, zero): equal split */
    llmopt_alloc_arm e[3] = {fl(NAN, 0.01), fl(-1, 0.01), fl(0, 0.01)};
    CU_ASSERT(llmopt_alloc_weights(e, 3, w, NULL, 0) == LLMOPT_OK);
    CLOSE(w[0], 1.0 / 3);
    CLOSE(w[2], 1.0 / 3);
    /* nothing can take traffic; bad fixed share; bad role */
    llmopt_alloc_arm f[2] = {{LLMOPT_ALLOC_OFF, 1, 0, 0}, {LLMOPT_ALLOC_FIXED, 0, 0, 0}};
    CU_ASSERT_EQUAL(llmopt_alloc_weights(f, 2, w, NULL, 0), LLMOPT_ERR_STATE);
    f[1].fixed = 1.5;
    CU_ASSERT_EQUAL(llmopt_alloc_weights(f, 2, w, NULL, 0), LLMOPT_ERR_INVALID);
    f[1].fixed = NAN;
    CU_ASSERT_EQUAL(llmopt_alloc_weights(f, 2, w, NULL, 0), LLMOPT_ERR_INVALID);
    f[1].role = (llmopt_alloc_role)7;
    CU_ASSERT_EQUAL(llmopt_alloc_weights(f, 2, w, NULL, 0), LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_alloc_weights(f, 0, w, NULL, 0), LLMOPT_ERR_INVALID);
}

static void test_random_invariants(void) {
    llmopt_rng r;
    llmopt_rng_seed(&r, 2024);
    int bad = 0;
    for (int it = 0; it < 20000; it++) {
        size_t k = 1 + llmopt_rng_below(&r, 12);
        llmopt_alloc_arm a[12];
        double w[12];
        double floor = llmopt_rng_uniform(&r) < 0.5 ? 0.01 : 0.2 * llmopt_rng_uniform(&r);
        int any = 0;
        for (size_t i = 0; i < k; i++) {
            uint64_t role = llmopt_rng_below(&r, 10);
            a[i].role = role < 1 ? LLMOPT_ALLOC_OFF : role < 2 ? LLMOPT_ALLOC_FIXED : LLMOPT_ALLOC_FLOAT;
            double u = llmopt_rng_uniform(&r);
            a[i].raw = u < 0.2 ? 0 : u < 0.25 ? 1e-300 : u * u * u;
            a[i].floor = floor;
            a[i].fixed = 0.3 * llmopt_rng_uniform(&r);
            any |= a[i].role == LLMOPT_ALLOC_FLOAT || (a[i].role == LLMOPT_ALLOC_FIXED && a[i].fixed > 0);
        }
        llmopt_err_t e = llmopt_alloc_weights(a, k, w, NULL, 0);
        if (!any) {
            CU_ASSERT_EQUAL(e, LLMOPT_ERR_STATE);
            continue;
        }
        CU_ASSERT_EQUAL_FATAL(e, LLMOPT_OK);
        size_t n_float = 0;
        for (size_t i = 0; i < k; i++)
            n_float += a[i].role == LLMOPT_ALLOC_FLOAT;
        double eff_floor = n_float * floor > 1 ? 1.0 / n_float : floor;
        int ok = fabs(sum(w, k) - 1.0) <= 4e-16 * k;
        for (size_t i = 0; i < k; i++) {
            ok &= w[i] >= 0 && w[i] <= 1;
            if (a[i].role == LLMOPT_ALLOC_OFF)
                ok &= w[i] == 0;
            if (a[i].role == LLMOPT_ALLOC_FLOAT)
                ok &= w[i] >= eff_floor - 1e-15; /* exact when feasible (by-hand cases) */
        }
        if (!ok && bad++ < 3) {
            fprintf(stderr, "\nk %zu floor %g sum-1 %g:", k, floor, sum(w, k) - 1);
            for (size_t i = 0; i < k; i++)
                fprintf(stderr, " [%d %g %g -> %.17g]", a[i].role, a[i].raw, a[i].fixed, w[i]);
        }
        CU_ASSERT(ok);
    }
}

static void test_changed_and_pick(void) {
    double a[3] = {0.5, 0.3, 0.2}, b[3] = {0.505, 0.295, 0.2}, c[3] = {0.5, 0.5, 0};
    CU_ASSERT_EQUAL(llmopt_alloc_changed(a, b, 3, 0.01), 0);
    CU_ASSERT_EQUAL(llmopt_alloc_changed(a, b, 3, 0.001), 1);
    CU_ASSERT_EQUAL(llmopt_alloc_changed(a, c, 3, 0.5), 1); /* arm 2 disabled */
    double n[3] = {0.5, NAN, 0.2};
    CU_ASSERT_EQUAL(llmopt_alloc_changed(a, n, 3, 0.5), 1);
    CU_ASSERT_EQUAL(llmopt_alloc_pick(a, 3, 0.0), 0);
    CU_ASSERT_EQUAL(llmopt_alloc_pick(a, 3, 0.4999), 0);
    CU_ASSERT_EQUAL(llmopt_alloc_pick(a, 3, 0.5), 1);
    CU_ASSERT_EQUAL(llmopt_alloc_pick(a, 3, 0.81), 2);
    CU_ASSERT_EQUAL(llmopt_alloc_pick(c, 3, 0.9999999), 1);
    CU_ASSERT_EQUAL(llmopt_alloc_pick(c, 3, 1.5), 1); /* past the total: last positive */
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("alloc", NULL, NULL);
    CU_add_test(s, "waterfill_by_hand", test_waterfill_by_hand);
    CU_add_test(s, "roles", test_roles);
    CU_add_test(s, "random_invariants", test_random_invariants);
    CU_add_test(s, "changed_and_pick", test_changed_and_pick);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
