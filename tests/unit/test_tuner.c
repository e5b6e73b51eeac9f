/* test_tuner.c - CUnit suite for controller/core/tuner.c: first proposals,
 * clamping into the ranges, a won round and a lost round worked by hand,
 * readiness, config errors, and convergence towards the best temperature
 * of a noisy quadratic reward (seeded, so exact and repeatable). */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "controller/core/rng.h"
#include "controller/core/tuner.h"

#define CLOSE(a, b, tol) CU_ASSERT(fabs((a) - (b)) <= (tol))

static llmopt_tuner_config temp_cfg(double start, double step) {
    llmopt_tuner_config c;
    llmopt_tuner_config_default(&c);
    c.n_params = 1;
    snprintf(c.params[0].name, sizeof(c.params[0].name), "temperature");
    c.params[0].lo = 0;
    c.params[0].hi = 1.5;
    c.params[0].step = step;
    c.params[0].min_step = 0.05;
    c.start[0] = start;
    c.n_slots = 3;
    c.min_samples = 100;
    return c;
}

static void test_first_proposals_and_clamp(void) {
    llmopt_tuner t;
    llmopt_tuner_config c = temp_cfg(0.7, 0.4);
    CU_ASSERT_EQUAL_FATAL(llmopt_tuner_init(&t, &c, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(t.slot[0].state, LLMOPT_TUNER_BEST);
    CLOSE(t.slot[0].x[0], 0.7, 1e-12);
    CU_ASSERT_EQUAL(t.slot[1].state, LLMOPT_TUNER_CANDIDATE);
    CLOSE(t.slot[1].x[0], 1.1, 1e-12);
    CU_ASSERT_EQUAL(t.slot[2].state, LLMOPT_TUNER_CANDIDATE);
    CLOSE(t.slot[2].x[0], 0.3, 1e-12);
    /* near the top: +0.4 is clamped to the maximum */
    c = temp_cfg(1.4, 0.4);
    llmopt_tuner_init(&t, &c, NULL, 0);
    CLOSE(t.slot[1].x[0], 1.5, 1e-12);
    CLOSE(t.slot[2].x[0], 1.0, 1e-12);
    /* at the bottom: -0.4 clamps onto the incumbent itself, so only one
     * candidate and the third slot idles */
    c = temp_cfg(0.0, 0.4);
    llmopt_tuner_init(&t, &c, NULL, 0);
    CLOSE(t.slot[1].x[0], 0.4, 1e-12);
    CU_ASSERT_EQUAL(t.slot[2].state, LLMOPT_TUNER_IDLE);
    CU_ASSERT_EQUAL(llmopt_tuner_observe(&t, 2, 10, 0.5, 1), LLMOPT_ERR_RANGE);
}

static void test_rounds_by_hand(void) {
    llmopt_tuner t;
    llmopt_tuner_config c = temp_cfg(0.7, 0.4);
    llmopt_tuner_init(&t, &c, NULL, 0);
    llmopt_tuner_change ch[8];
    /* not ready until every live slot has 100 rewards */
    llmopt_tuner_observe(&t, 0, 100, 0.60, 100 * 0.01);
    llmopt_tuner_observe(&t, 1, 100, 0.70, 100 * 0.01);
    CU_ASSERT_FALSE(llmopt_tuner_ready(&t));
    CU_ASSERT_EQUAL(llmopt_tuner_round(&t, ch, 8), 0);
    llmopt_tuner_observe(&t, 2, 60, 0.50, 60 * 0.01);
    llmopt_tuner_observe(&t, 2, 40, 0.50, 40 * 0.01);
    CU_ASSERT_TRUE(llmopt_tuner_ready(&t));
    /* slot 1 (1.1): +0.10 against se = sqrt(0.01 * 100/99 / 100 * 2) = 0.0142: wins */
    size_t n = llmopt_tuner_round(&t, ch, 8);
    CU_ASSERT_EQUAL(n, 3);
    CU_ASSERT_EQUAL(t.best, 1);
    CU_ASSERT_EQUAL(ch[0].slot, 1);
    CU_ASSERT_EQUAL(ch[0].to, LLMOPT_TUNER_BEST);
    CU_ASSERT(strstr(ch[0].reason, "temperature=1.1") != NULL);
    CLOSE(t.step[0], 0.4, 1e-12); /* a win keeps the step */
    /* new candidates around 1.1: 1.5 (clamped) into slot 0, 0.7 into slot 2 */
    CU_ASSERT_EQUAL(t.slot[0].state, LLMOPT_TUNER_CANDIDATE);
    CLOSE(t.slot[0].x[0], 1.5, 1e-12);
    CU_ASSERT_EQUAL(t.slot[0].n, 0);
    CLOSE(t.slot[2].x[0], 0.7, 1e-12);
    CU_ASSERT_EQUAL(t.slot[1].n, 100); /* the incumbent keeps its evidence */
    /* a round nobody wins halves the step: candidates at 1.1 +- 0.2 */
    llmopt_tuner_observe(&t, 0, 100, 0.69, 1);
    llmopt_tuner_observe(&t, 2, 100, 0.60, 1);
    n = llmopt_tuner_round(&t, ch, 8);
    CU_ASSERT_EQUAL(n, 2);
    CU_ASSERT_EQUAL(t.best, 1);
    CLOSE(t.step[0], 0.2, 1e-12);
    CLOSE(t.slot[0].x[0], 1.3, 1e-12);
    CLOSE(t.slot[2].x[0], 0.9, 1e-12);
    /* shrinking to below min_step (0.05): 0.2 -> 0.1 -> 0.05 -> 0.025 */
    for (int r = 0; r < 3; r++) {
        llmopt_tuner_observe(&t, 0, 100, 0.5, 1);
        llmopt_tuner_observe(&t, 2, 100, 0.5, 1);
        llmopt_tuner_round(&t, ch, 8);
    }
    CU_ASSERT_TRUE(t.converged);
    CU_ASSERT_EQUAL(t.slot[0].state, LLMOPT_TUNER_IDLE);
    CU_ASSERT_EQUAL(t.slot[2].state, LLMOPT_TUNER_IDLE);
    CU_ASSERT_FALSE(llmopt_tuner_ready(&t)); /* nothing left to evaluate */
}

/* The checkpoint restores every slot, step and the incumbent; a truncated
 * blob or one for another slot count is refused and changes nothing. */
static void test_serialize(void) {
    llmopt_tuner t, u;
    llmopt_tuner_config c = temp_cfg(0.7, 0.4);
    llmopt_tuner_init(&t, &c, NULL, 0);
    llmopt_tuner_change ch[8];
    llmopt_tuner_observe(&t, 0, 100, 0.60, 1);
    llmopt_tuner_observe(&t, 1, 100, 0.70, 1);
    llmopt_tuner_observe(&t, 2, 100, 0.50, 1);
    llmopt_tuner_round(&t, ch, 8);
    llmopt_tuner_observe(&t, 0, 30, 0.55, 0.3);
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_tuner_serialize(&t, &w1);
    llmopt_tuner_init(&u, &c, NULL, 0);
    llmopt_rbuf rb;
    char err[160];
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    CU_ASSERT_EQUAL_FATAL(llmopt_tuner_deserialize(&u, &rb, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(rb.left, 0);
    CU_ASSERT_EQUAL(u.best, 1);
    CU_ASSERT_EQUAL(u.slot[0].n, 30);
    llmopt_tuner_serialize(&u, &w2);
    CU_ASSERT_EQUAL_FATAL(w1.len, w2.len);
    CU_ASSERT_EQUAL(memcmp(w1.data, w2.data, w1.len), 0);
    for (size_t n = 0; n < w1.len; n++) {
        llmopt_tuner v;
        llmopt_tuner_init(&v, &c, NULL, 0);
        llmopt_rbuf_init(&rb, w1.data, n);
        CU_ASSERT_NOT_EQUAL(llmopt_tuner_deserialize(&v, &rb, err, sizeof(err)), LLMOPT_OK);
        CU_ASSERT_EQUAL(v.best, 0);
    }
    c.n_slots = 4;
    llmopt_tuner_init(&u, &c, NULL, 0);
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    CU_ASSERT_EQUAL(llmopt_tuner_deserialize(&u, &rb, err, sizeof(err)), LLMOPT_ERR_RANGE);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

static void test_config_errors(void) {
    llmopt_tuner t;
    char err[160];
    llmopt_tuner_config c = temp_cfg(2.0, 0.4);
    CU_ASSERT_EQUAL(llmopt_tuner_init(&t, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "temperature") && strstr(err, "outside"));
    c = temp_cfg(0.7, 0.4);
    c.params[0].min_step = 0.5;
    CU_ASSERT_EQUAL(llmopt_tuner_init(&t, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "min_step") != NULL);
    c = temp_cfg(0.7, 0.4);
    c.n_slots = 1;
    CU_ASSERT_EQUAL(llmopt_tuner_init(&t, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    c = temp_cfg(0.7, 0.4);
    c.shrink = 1;
    CU_ASSERT_EQUAL(llmopt_tuner_init(&t, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "shrink") != NULL);
    c = temp_cfg(0.7, 0.4);
    c.params[0].hi = NAN;
    CU_ASSERT_EQUAL(llmopt_tuner_init(&t, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    c = temp_cfg(0.7, 0.4);
    llmopt_tuner_init(&t, &c, NULL, 0);
    CU_ASSERT_EQUAL(llmopt_tuner_observe(&t, 0, -1, 0.5, 0), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_tuner_observe(&t, 0, 1, NAN, 0), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_tuner_observe(&t, 7, 1, 0.5, 0), LLMOPT_ERR_RANGE);
}

/* Noisy quadratic: reward ~ N(0.8 - (temp - 0.35)^2 - 0.5 (top_p - 0.9)^2, 0.15^2).
 * From (1.2, 0.5) with 4 slots the search must end within 0.1 of 0.35 in
 * temperature and 0.15 of 0.9 in top_p, never proposing outside the ranges. */
static void test_converges_to_best_temperature(void) {
    for (uint64_t seed = 1; seed <= 5; seed++) {
        llmopt_tuner t;
        llmopt_tuner_config c = temp_cfg(1.2, 0.4);
        c.n_params = 2;
        snprintf(c.params[1].name, sizeof(c.params[1].name), "top_p");
        c.params[1].lo = 0.1;
        c.params[1].hi = 1.0;
        c.params[1].step = 0.3;
        c.params[1].min_step = 0.03;
        c.start[1] = 0.5;
        c.n_slots = 5;
        c.min_samples = 400;
        CU_ASSERT_EQUAL_FATAL(llmopt_tuner_init(&t, &c, NULL, 0), LLMOPT_OK);
        llmopt_rng r;
        llmopt_rng_seed(&r, seed);
        llmopt_tuner_change ch[16];
        int rounds = 0;
        while (!t.converged && rounds < 200) {
            for (size_t s = 0; s < c.n_slots; s++) {
                const llmopt_tuner_slot *sl = &t.slot[s];
                if (sl->state == LLMOPT_TUNER_IDLE)
                    continue;
                CU_ASSERT(sl->x[0] >= 0 && sl->x[0] <= 1.5);
                CU_ASSERT(sl->x[1] >= 0.1 && sl->x[1] <= 1.0);
                double mu = 0.8 - (sl->x[0] - 0.35) * (sl->x[0] - 0.35) -
                            0.5 * (sl->x[1] - 0.9) * (sl->x[1] - 0.9);
                /* one window of 100 rewards: its mean and m2 */
                double sum = 0, sq = 0;
                for (int i = 0; i < 100; i++) {
                    double v = mu + 0.15 * llmopt_rng_normal(&r);
                    sum += v;
                    sq += v * v;
                }
                double m = sum / 100;
                llmopt_tuner_observe(&t, s, 100, m, sq - 100 * m * m);
            }
            if (llmopt_tuner_round(&t, ch, 16))
                rounds++;
        }
        const double *x = t.slot[t.best].x;
        CU_ASSERT(t.converged);
        CU_ASSERT(fabs(x[0] - 0.35) <= 0.1);
        CU_ASSERT(fabs(x[1] - 0.9) <= 0.15);
        if (!(fabs(x[0] - 0.35) <= 0.1 && fabs(x[1] - 0.9) <= 0.15))
            fprintf(stderr, "seed %llu: best temperature %.3f top_p %.3f after %d rounds\n",
                    (unsigned long long)seed, x[0], x[1], rounds);
    }
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("tuner", NULL, NULL);
    CU_add_test(s, "first_proposals_and_clamp", test_first_proposals_and_clamp);
    CU_add_test(s, "rounds_by_hand", test_rounds_by_hand);
    CU_add_test(s, "config_errors", test_config_errors);
    CU_add_test(s, "serialize", test_serialize);
    CU_add_test(s, "converges_to_best_temperature", test_converges_to_best_temperature);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned f = CU_get_number_of_failures();
    CU_cleanup_registry();
    return f ? 1 : 0;
}
