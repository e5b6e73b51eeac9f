/* test_bandit.c - CUnit suite for controller/core bandit.c (evidence,
 * priors, posteriors, discount, drift, checkpoint), thompson.c, ucb.c and
 * egreedy.c.
 *
 * Known answers: Beta and Normal-Inverse-Gamma posteriors worked by hand
 * (in the comments); probability of being best against scipy numerical
 * integration (tests/data/bandit/pbest.txt, tests/tools/
 * gen_bandit_golden.py) within 5 Monte Carlo standard errors; UCB1 and
 * epsilon-greedy weights by hand. Behaviour: convergence on Bernoulli arms
 * 0.5 / 0.55 / 0.6 over 20k pulls through the full decision path
 * (policy -> alloc floors -> draw), sublinear regret, best-arm share. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/alloc.h"
#include "controller/core/bandit.h"
#include "controller/core/egreedy.h"
#include "controller/core/rng.h"
#include "controller/core/thompson.h"
#include "controller/core/ucb.h"

#define CLOSE(a, b, tol) CU_ASSERT(fabs((a) - (b)) <= (tol))

static llmopt_bandit mk(llmopt_bandit_reward rw, uint32_t k) {
    llmopt_bandit_config c;
    llmopt_bandit b;
    llmopt_bandit_config_default(&c, rw, k);
    CU_ASSERT_FATAL(llmopt_bandit_init(&b, &c, NULL, 0) == LLMOPT_OK);
    return b;
}

static void test_beta_posterior_by_hand(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_BERNOULLI, 2);
    /* uniform Beta(1,1) + rewards 1,0,1,1: Beta(1+3, 1+1) = Beta(4, 2) */
    const double r[] = {1, 0, 1, 1};
    for (int i = 0; i < 4; i++)
        CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 0, r[i]), LLMOPT_OK);
    llmopt_bandit_beta p = llmopt_bandit_beta_posterior(&b, 0);
    CLOSE(p.alpha, 4.0, 1e-12);
    CLOSE(p.beta, 2.0, 1e-12);
    CLOSE(llmopt_bandit_mean(&b, 0), 4.0 / 6.0, 1e-12);
    /* registry prior: 10 pseudo-observations at 0.3 on top: alpha 4 + 3,
     * beta 2 + 7 */
    llmopt_bandit_prior pr = {10, 0.3, 1};
    CU_ASSERT_EQUAL(llmopt_bandit_set_prior(&b, 0, &pr, NULL, 0), LLMOPT_OK);
    p = llmopt_bandit_beta_posterior(&b, 0);
    CLOSE(p.alpha, 7.0, 1e-12);
    CLOSE(p.beta, 9.0, 1e-12);
    CLOSE(llmopt_bandit_eff_n(&b, 0), 14.0, 1e-12);
    CLOSE(llmopt_bandit_eff_mean(&b, 0), (3 + 3) / 14.0, 1e-12);
    /* fractional reward 0.25: alpha += 0.25, beta += 0.75 */
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 1, 0.25), LLMOPT_OK);
    p = llmopt_bandit_beta_posterior(&b, 1);
    CLOSE(p.alpha, 1.25, 1e-12);
    CLOSE(p.beta, 1.75, 1e-12);
    /* discount 0.5: arm 0 keeps n 2 at mean 0.75 -> alpha 1 + 3 + 1.5 */
    b.cfg.gamma = 0.5;
    llmopt_bandit_decay(&b);
    p = llmopt_bandit_beta_posterior(&b, 0);
    CLOSE(p.alpha, 5.5, 1e-12);
    CLOSE(p.beta, 8.5, 1e-12);
    /* the prior itself never decays: many decays leave Beta(4, 8) */
    for (int i = 0; i < 200; i++)
        llmopt_bandit_decay(&b);
    p = llmopt_bandit_beta_posterior(&b, 0);
    CLOSE(p.alpha, 4.0, 1e-12);
    CLOSE(p.beta, 8.0, 1e-12);
    /* refusals change nothing */
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 0, 1.5), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 0, NAN), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 2, 1), LLMOPT_ERR_RANGE);
    pr.mean0 = 1.2;
    CU_ASSERT_EQUAL(llmopt_bandit_set_prior(&b, 0, &pr, NULL, 0), LLMOPT_ERR_RANGE);
}

static void test_nig_posterior_by_hand(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_NORMAL, 1);
    /* prior n0 2, mean0 1, var0 4, alpha0 1: kappa0 2, mu0 1, beta0 4.
     * data 2, 4, 6: n 3, mean 4, m2 8.
     * kappa 5, mu (2*1 + 3*4)/5 = 2.8, alpha 1 + 1.5 = 2.5,
     * beta 4 + 8/2 + 2*3*(4-1)^2 / (2*5) = 4 + 4 + 5.4 = 13.4 */
    llmopt_bandit_prior pr = {2, 1, 4};
    CU_ASSERT_EQUAL(llmopt_bandit_set_prior(&b, 0, &pr, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 0, 2), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 0, 4), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_bandit_observe(&b, 0, 6), LLMOPT_OK);
    llmopt_bandit_nig p = llmopt_bandit_nig_posterior(&b, 0);
    CLOSE(p.kappa, 5.0, 1e-12);
    CLOSE(p.mu, 2.8, 1e-12);
    CLOSE(p.alpha, 2.5, 1e-12);
    CLOSE(p.beta, 13.4, 1e-12);
    /* the same three as one window (n 3, mean 4, m2 8) give the same */
    llmopt_bandit c = mk(LLMOPT_BANDIT_NORMAL, 1);
    CU_ASSERT_EQUAL(llmopt_bandit_set_prior(&c, 0, &pr, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_bandit_observe_batch(&c, 0, 3, 4, 8), LLMOPT_OK);
    llmopt_bandit_nig q = llmopt_bandit_nig_posterior(&c, 0);
    CLOSE(q.beta, p.beta, 1e-12);
    CLOSE(q.mu, p.mu, 1e-12);
    /* two windows merged exactly: (2) then (4, 6) with m2 2 */
    llmopt_bandit d = mk(LLMOPT_BANDIT_NORMAL, 1);
    CU_ASSERT_EQUAL(llmopt_bandit_set_prior(&d, 0, &pr, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_bandit_observe_batch(&d, 0, 1, 2, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_bandit_observe_batch(&d, 0, 2, 5, 2), LLMOPT_OK);
    CLOSE(d.arm[0].m2, 8.0, 1e-12);
    CLOSE(d.arm[0].mean, 4.0, 1e-12);
}

static void test_drift_and_floor(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_BERNOULLI, 3);
    for (int i = 0; i < 100; i++)
        llmopt_bandit_observe(&b, 1, i % 4 == 0);
    CU_ASSERT_EQUAL(llmopt_bandit_floor(&b, 1, 1000), 0.01);
    CU_ASSERT_EQUAL(llmopt_bandit_drift(&b, 1, 1000), LLMOPT_OK);
    CLOSE(b.arm[1].n, 10.0, 1e-12); /* shrink 0.1 */
    CLOSE(b.arm[1].mean, 0.25, 1e-12);
    CU_ASSERT_EQUAL(llmopt_bandit_floor(&b, 1, 1000), 0.05);
    CU_ASSERT_EQUAL(llmopt_bandit_floor(&b, 1, 1000 + 600000 - 1), 0.05);
    CU_ASSERT_EQUAL(llmopt_bandit_floor(&b, 1, 1000 + 600000), 0.01);
    CU_ASSERT_EQUAL(llmopt_bandit_floor(&b, 0, 1000), 0.01);
    CU_ASSERT_EQUAL(llmopt_bandit_drift(&b, 3, 0), LLMOPT_ERR_RANGE);
}

/* ---- sliding window ---- */

static llmopt_bandit mkw(llmopt_bandit_reward rw, uint32_t k, uint32_t window) {
    llmopt_bandit_config c;
    llmopt_bandit b;
    llmopt_bandit_config_default(&c, rw, k);
    c.window = window;
    CU_ASSERT_FATAL(llmopt_bandit_init(&b, &c, NULL, 0) == LLMOPT_OK);
    return b;
}

/* Window of 3 rounds, by hand: round 0 four 1s, round 1 four 0s, round 2
 * nothing. Evidence: 4 @ 1; then 8 @ 0.5 (m2 = 8 * 0.25 = 2); unchanged in
 * round 2; at the start of round 3 round 0 leaves: 4 @ 0 (m2 0); round 4:
 * only round 2 and 3 (empty) are left: n = 0, the posterior is the prior. */
static void test_window_by_hand(void) {
    llmopt_bandit b = mkw(LLMOPT_BANDIT_BERNOULLI, 2, 3);
    for (int i = 0; i < 4; i++)
        llmopt_bandit_observe(&b, 0, 1.0);
    CLOSE(b.arm[0].n, 4, 1e-12);
    CLOSE(b.arm[0].mean, 1, 1e-12);
    llmopt_bandit_decay(&b); /* round 1 */
    CLOSE(b.arm[0].n, 4, 1e-12);
    for (int i = 0; i < 4; i++)
        llmopt_bandit_observe(&b, 0, 0.0);
    CLOSE(b.arm[0].n, 8, 1e-12);
    CLOSE(b.arm[0].mean, 0.5, 1e-12);
    CLOSE(b.arm[0].m2, 2.0, 1e-12);
    llmopt_bandit_decay(&b); /* round 2: rounds 0, 1, 2 in the window */
    CLOSE(b.arm[0].n, 8, 1e-12);
    CLOSE(b.arm[0].mean, 0.5, 1e-12);
    CLOSE(b.arm[0].m2, 2.0, 1e-12);
    llmopt_bandit_decay(&b); /* round 3: round 0 leaves */
    CLOSE(b.arm[0].n, 4, 1e-12);
    CLOSE(b.arm[0].mean, 0.0, 1e-12);
    CLOSE(b.arm[0].m2, 0.0, 1e-12);
    llmopt_bandit_beta p = llmopt_bandit_beta_posterior(&b, 0);
    CLOSE(p.alpha, 1, 1e-12); /* Beta(1 + 0, 1 + 4) */
    CLOSE(p.beta, 5, 1e-12);
    llmopt_bandit_decay(&b); /* round 4: round 1 leaves */
    CLOSE(b.arm[0].n, 0, 1e-12);
    p = llmopt_bandit_beta_posterior(&b, 0);
    CLOSE(p.alpha, 1, 1e-12);
    CLOSE(p.beta, 1, 1e-12);
    CU_ASSERT_EQUAL(b.arm[0].pulls, 8); /* pulls never slide */
    /* a whole window (n, mean, m2) counts like its rewards */
    llmopt_bandit_observe_batch(&b, 1, 10, 0.3, 2.1);
    llmopt_bandit_decay(&b);
    llmopt_bandit_observe_batch(&b, 1, 30, 0.7, 6.3);
    /* merged: n 40, mean 0.6, m2 = 2.1 + 6.3 + 0.16 * 10 * 30 / 40 = 9.6 */
    CLOSE(b.arm[1].n, 40, 1e-12);
    CLOSE(b.arm[1].mean, 0.6, 1e-12);
    CLOSE(b.arm[1].m2, 9.6, 1e-12);
    llmopt_bandit_decay(&b);
    llmopt_bandit_decay(&b); /* the 10 @ 0.3 round leaves */
    CLOSE(b.arm[1].n, 30, 1e-12);
    CLOSE(b.arm[1].mean, 0.7, 1e-12);
    CLOSE(b.arm[1].m2, 6.3, 1e-12);
}

/* A drift signal shrinks the window's slots too: the reset is not undone
 * by the next re-merge. */
static void test_window_drift(void) {
    llmopt_bandit b = mkw(LLMOPT_BANDIT_BERNOULLI, 1, 4);
    for (int r = 0; r < 3; r++) {
        for (int i = 0; i < 10; i++)
            llmopt_bandit_observe(&b, 0, i < 8 ? 1.0 : 0.0);
        llmopt_bandit_decay(&b);
    }
    CLOSE(b.arm[0].n, 30, 1e-12);
    CU_ASSERT_EQUAL(llmopt_bandit_drift(&b, 0, 0), LLMOPT_OK);
    CLOSE(b.arm[0].n, 3, 1e-12);
    CLOSE(b.arm[0].mean, 0.8, 1e-12);
    llmopt_bandit_decay(&b); /* the first round (now 1 @ 0.8) leaves */
    CLOSE(b.arm[0].n, 2, 1e-12);
    CLOSE(b.arm[0].mean, 0.8, 1e-12);
}

/* Non-stationary arms: arm 0 pays 0.7 and arm 1 0.3 for 60 rounds, then
 * they swap. With a 10-round window the posterior means cross within 10
 * rounds of the swap; without one (stationary evidence) they do not cross
 * within 40 rounds. Deterministic rewards (the round means), so exact. */
static void test_window_tracks_a_swap(void) {
    llmopt_bandit w = mkw(LLMOPT_BANDIT_BERNOULLI, 2, 10), s = mk(LLMOPT_BANDIT_BERNOULLI, 2);
    int crossed_w = -1, crossed_s = -1;
    for (int r = 0; r < 100; r++) {
        double m0 = r < 60 ? 0.7 : 0.3, m1 = 1 - m0;
        llmopt_bandit_observe_batch(&w, 0, 20, m0, 0);
        llmopt_bandit_observe_batch(&w, 1, 20, m1, 0);
        llmopt_bandit_observe_batch(&s, 0, 20, m0, 0);
        llmopt_bandit_observe_batch(&s, 1, 20, m1, 0);
        /* 1e-9: the tie at 5 of 10 rounds must not count as a crossing */
        if (r >= 60 && crossed_w < 0 &&
            llmopt_bandit_mean(&w, 1) > llmopt_bandit_mean(&w, 0) + 1e-9)
            crossed_w = r - 60;
        if (r >= 60 && crossed_s < 0 &&
            llmopt_bandit_mean(&s, 1) > llmopt_bandit_mean(&s, 0) + 1e-9)
            crossed_s = r - 60;
        llmopt_bandit_decay(&w);
        llmopt_bandit_decay(&s);
    }
    /* within the window, the swap wins once it holds half the rounds: the
     * 5th post-swap round (index 4) of the 10 in the window is a tie, the 6th
     * (index 5) a win */
    if (crossed_w != 5)
        fprintf(stderr, "crossed_w %d crossed_s %d\n", crossed_w, crossed_s);
    CU_ASSERT_EQUAL(crossed_w, 5);
    CU_ASSERT(crossed_s < 0 || crossed_s >= 40);
}

static void test_window_config_and_state(void) {
    llmopt_bandit_config c;
    llmopt_bandit b, d;
    char err[160];
    llmopt_bandit_config_default(&c, LLMOPT_BANDIT_NORMAL, 3);
    c.window = LLMOPT_BANDIT_MAX_WINDOW + 1;
    CU_ASSERT_EQUAL(llmopt_bandit_init(&b, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "window") != NULL);
    c.window = 5;
    c.gamma = 0.9;
    CU_ASSERT_EQUAL(llmopt_bandit_init(&b, &c, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "exclusive") != NULL);
    c.gamma = 1;
    CU_ASSERT_EQUAL(llmopt_bandit_init(&b, &c, err, sizeof(err)), LLMOPT_OK);
    llmopt_rng r;
    llmopt_rng_seed(&r, 9);
    for (int i = 0; i < 300; i++) {
        llmopt_bandit_observe(&b, llmopt_rng_below(&r, 3), llmopt_rng_normal(&r));
        if (i % 40 == 39)
            llmopt_bandit_decay(&b);
    }
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_bandit_serialize(&b, &w1);
    llmopt_rbuf rb;
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    CU_ASSERT_EQUAL_FATAL(llmopt_bandit_deserialize(&d, &rb, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(rb.left, 0);
    CU_ASSERT_EQUAL(d.win_head, b.win_head);
    llmopt_bandit_serialize(&d, &w2);
    CU_ASSERT_EQUAL_FATAL(w1.len, w2.len);
    CU_ASSERT_EQUAL(memcmp(w1.data, w2.data, w1.len), 0);
    /* the restored window slides exactly like the original */
    for (int i = 0; i < 6; i++) {
        llmopt_bandit_decay(&b);
        llmopt_bandit_decay(&d);
        for (uint32_t a = 0; a < 3; a++) {
            CU_ASSERT_EQUAL(b.arm[a].n, d.arm[a].n);
            CU_ASSERT_EQUAL(b.arm[a].mean, d.arm[a].mean);
        }
    }
    CU_ASSERT_EQUAL(b.arm[0].n, 0);
    /* a head outside the window is refused */
    uint32_t bad = 7;
    memcpy(w1.data + 5 + 1 + 4 + 9 * 8 + 4, &bad, 4);
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    CU_ASSERT_NOT_EQUAL(llmopt_bandit_deserialize(&d, &rb, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(strstr(err, "head") != NULL);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

/* ---- probability of being best vs scipy ---- */

static void test_pbest_golden(void) {
    FILE *f = fopen("tests/data/bandit/pbest.txt", "r");
    CU_ASSERT_FATAL(f != NULL);
    char kind[8];
    int cases = 0;
    enum { DRAWS = 100000 };
    for (;;) {
        int c = fgetc(f);
        if (c == '#') {
            while ((c = fgetc(f)) != '\n' && c != EOF)
                ;
            continue;
        }
        if (c == EOF)
            break;
        ungetc(c, f);
        unsigned k;
        if (fscanf(f, "%7s %u", kind, &k) != 2 || k > 8)
            break;
        llmopt_bandit b;
        double want[8];
        if (!strcmp(kind, "beta")) {
            b = mk(LLMOPT_BANDIT_BERNOULLI, k);
            for (unsigned i = 0; i < k; i++) {
                double a, bb;
                CU_ASSERT_FATAL(fscanf(f, "%lf %lf", &a, &bb) == 2);
                /* uniform Beta(1,1) base + n = a+b-2 observations at mean (a-1)/n */
                double n = a + bb - 2;
                if (n > 0)
                    CU_ASSERT(llmopt_bandit_observe_batch(&b, i, n, (a - 1) / n, 0) == 0);
                llmopt_bandit_beta p = llmopt_bandit_beta_posterior(&b, i);
                CLOSE(p.alpha, a, 1e-12);
                CLOSE(p.beta, bb, 1e-12);
            }
        } else {
            b = mk(LLMOPT_BANDIT_NORMAL, k);
            for (unsigned i = 0; i < k; i++) {
                double df, loc, scale;
                CU_ASSERT_FATAL(fscanf(f, "%lf %lf %lf", &df, &loc, &scale) == 3);
                /* alpha0 1: df = 2 + n; n0 1: kappa = 1 + n; mean0 = mean = loc
                 * so beta = var0 + m2/2; choose var0, m2 for scale^2 =
                 * beta / (alpha kappa) */
                double n = df - 2, alpha = df / 2, kappa = 1 + n;
                double target = scale * scale * alpha * kappa;
                llmopt_bandit_prior pr = {1, loc, target / 2};
                CU_ASSERT(llmopt_bandit_set_prior(&b, i, &pr, NULL, 0) == 0);
                CU_ASSERT(llmopt_bandit_observe_batch(&b, i, n, loc, 2 * (target - target / 2)) == 0);
                llmopt_bandit_nig p = llmopt_bandit_nig_posterior(&b, i);
                CLOSE(2 * p.alpha, df, 1e-12);
                CLOSE(sqrt(p.beta / (p.alpha * p.kappa)), scale, 1e-12);
                CLOSE(p.mu, loc, 1e-12);
            }
        }
        for (unsigned i = 0; i < k; i++)
            CU_ASSERT_FATAL(fscanf(f, "%lf", &want[i]) == 1);
        llmopt_rng rng;
        llmopt_rng_seed(&rng, 1000 + cases);
        double got[LLMOPT_BANDIT_MAX_ARMS], sum = 0;
        CU_ASSERT(llmopt_thompson_weights(&b, NULL, DRAWS, &rng, got, NULL, 0) == 0);
        for (unsigned i = 0; i < k; i++) {
            double se = sqrt(want[i] * (1 - want[i]) / DRAWS);
            double tol = 5 * se + 1.0 / DRAWS;
            if (fabs(got[i] - want[i]) > tol)
                fprintf(stderr, "case %d %s arm %u: got %.5f want %.5f (5 se %.5f)\n", cases,
                        kind, i, got[i], want[i], 5 * se);
            CU_ASSERT(fabs(got[i] - want[i]) <= tol);
            sum += got[i];
        }
        CLOSE(sum, 1.0, 1e-12);
        cases++;
    }
    fclose(f);
    CU_ASSERT_EQUAL(cases, 11);
}

static void test_thompson_reproducible_and_eligibility(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_BERNOULLI, 4);
    for (uint32_t i = 0; i < 4; i++)
        llmopt_bandit_observe_batch(&b, i, 50, 0.4 + 0.05 * i, 0);
    llmopt_rng r1, r2;
    llmopt_rng_seed(&r1, 99);
    llmopt_rng_seed(&r2, 99);
    double w1[4], w2[4];
    char why[160];
    CU_ASSERT(llmopt_thompson_weights(&b, NULL, 10000, &r1, w1, why, sizeof(why)) == 0);
    CU_ASSERT(llmopt_thompson_weights(&b, NULL, 10000, &r2, w2, NULL, 0) == 0);
    CU_ASSERT_EQUAL(memcmp(w1, w2, sizeof(w1)), 0);
    CU_ASSERT(strstr(why, "leader arm 3") != NULL);
    uint8_t el[4] = {1, 0, 1, 0};
    CU_ASSERT(llmopt_thompson_weights(&b, el, 1000, &r1, w1, NULL, 0) == 0);
    CU_ASSERT_EQUAL(w1[1], 0.0);
    CU_ASSERT_EQUAL(w1[3], 0.0);
    CLOSE(w1[0] + w1[2], 1.0, 1e-12);
    uint8_t one[4] = {0, 0, 1, 0};
    CU_ASSERT(llmopt_thompson_weights(&b, one, 1000, &r1, w1, NULL, 0) == 0);
    CU_ASSERT_EQUAL(w1[2], 1.0);
    uint8_t none[4] = {0};
    CU_ASSERT_EQUAL(llmopt_thompson_weights(&b, none, 1000, &r1, w1, NULL, 0), LLMOPT_ERR_STATE);
    CU_ASSERT_EQUAL(llmopt_thompson_weights(&b, NULL, 0, &r1, w1, NULL, 0), LLMOPT_ERR_RANGE);
}

static void test_ucb1_by_hand(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_BERNOULLI, 3);
    llmopt_bandit_observe_batch(&b, 0, 10, 0.5, 0);
    llmopt_bandit_observe_batch(&b, 1, 30, 0.6, 0);
    double s[3], w[3];
    uint8_t el[3] = {1, 1, 0};
    CU_ASSERT(llmopt_ucb1_scores(&b, el, 1.0, s) == 0);
    /* N = 40: 0.5 + sqrt(2 ln 40 / 10) = 1.35893..., 0.6 + sqrt(2 ln 40 / 30) */
    CLOSE(s[0], 0.5 + sqrt(2 * log(40.0) / 10), 1e-12);
    CLOSE(s[1], 0.6 + sqrt(2 * log(40.0) / 30), 1e-12);
    CU_ASSERT(isinf(s[2]) && s[2] < 0);
    CU_ASSERT(llmopt_ucb1_weights(&b, el, 1.0, w, NULL, 0) == 0);
    CU_ASSERT_EQUAL(w[0], 1.0);
    CU_ASSERT_EQUAL(w[1], 0.0);
    /* an untried eligible arm is tried first */
    CU_ASSERT(llmopt_ucb1_weights(&b, NULL, 1.0, w, NULL, 0) == 0);
    CU_ASSERT_EQUAL(w[2], 1.0);
    /* with c = 0 it is greedy; a registry prior counts as evidence */
    llmopt_bandit_prior pr = {100, 0.7, 1};
    llmopt_bandit_set_prior(&b, 2, &pr, NULL, 0);
    CU_ASSERT(llmopt_ucb1_weights(&b, NULL, 0.0, w, NULL, 0) == 0);
    CU_ASSERT_EQUAL(w[2], 1.0);
    CU_ASSERT_EQUAL(llmopt_ucb1_weights(&b, NULL, -1, w, NULL, 0), LLMOPT_ERR_RANGE);
}

static void test_egreedy_by_hand(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_BERNOULLI, 4);
    const double m[4] = {0.3, 0.5, 0.6, 0.4};
    for (uint32_t i = 0; i < 4; i++)
        llmopt_bandit_observe_batch(&b, i, 100, m[i], 0);
    double w[4];
    CU_ASSERT(llmopt_egreedy_weights(&b, NULL, 0.2, w, NULL, 0) == 0);
    CLOSE(w[2], 0.85, 1e-15);
    CLOSE(w[0], 0.05, 1e-15);
    CLOSE(w[1], 0.05, 1e-15);
    CLOSE(w[3], 0.05, 1e-15);
    uint8_t el[4] = {1, 1, 0, 1};
    CU_ASSERT(llmopt_egreedy_weights(&b, el, 0.3, w, NULL, 0) == 0);
    CLOSE(w[1], 0.8, 1e-15); /* 0.7 + 0.1 */
    CLOSE(w[0], 0.1, 1e-15);
    CU_ASSERT_EQUAL(w[2], 0.0);
    CU_ASSERT_EQUAL(llmopt_egreedy_weights(&b, NULL, 1.5, w, NULL, 0), LLMOPT_ERR_RANGE);
}

/* ---- convergence on synthetic Bernoulli arms ---- */

enum { POLICY_TS, POLICY_TS_NIG, POLICY_UCB, POLICY_EG };

typedef struct sim_result {
    double best_share, regret_first, regret_second;
} sim_result;

/* 20k pulls; every 100 pulls the controller recomputes weights (the
 * windowed loop of the real controller), floors through alloc, and the
 * next 100 requests draw arms from the published weights. */
static sim_result simulate(int policy, uint64_t seed) {
    const double p[3] = {0.5, 0.55, 0.6};
    llmopt_bandit b = mk(policy == POLICY_TS_NIG ? LLMOPT_BANDIT_NORMAL : LLMOPT_BANDIT_BERNOULLI, 3);
    if (policy == POLICY_TS_NIG)
        for (uint32_t i = 0; i < 3; i++) {
            llmopt_bandit_prior pr = {0, 0.5, 0.25};
            llmopt_bandit_set_prior(&b, i, &pr, NULL, 0);
        }
    llmopt_rng dec, env;
    llmopt_rng_seed(&dec, seed);
    llmopt_rng_seed(&env, seed ^ 0xabcdef);
    double w[3] = {1.0 / 3, 1.0 / 3, 1.0 / 3};
    sim_result res = {0, 0, 0};
    uint64_t best_pulls = 0;
    for (int t = 0; t < 20000; t++) {
        if (t % 100 == 0 && t > 0) {
            double pref[3];
            switch (policy) {
            case POLICY_TS:
            case POLICY_TS_NIG:
                llmopt_thompson_weights(&b, NULL, 1000, &dec, pref, NULL, 0);
                break;
            case POLICY_UCB:
                llmopt_ucb1_weights(&b, NULL, 1.0, pref, NULL, 0);
                break;
            default:
                llmopt_egreedy_weights(&b, NULL, 0.1, pref, NULL, 0);
            }
            llmopt_alloc_arm a[3];
            for (int i = 0; i < 3; i++) {
                a[i].role = LLMOPT_ALLOC_FLOAT;
                a[i].raw = pref[i];
                a[i].floor = llmopt_bandit_floor(&b, i, t);
                a[i].fixed = 0;
            }
            CU_ASSERT(llmopt_alloc_weights(a, 3, w, NULL, 0) == 0);
        }
        size_t arm = llmopt_alloc_pick(w, 3, llmopt_rng_uniform(&env));
        double r = llmopt_rng_uniform(&env) < p[arm] ? 1.0 : 0.0;
        llmopt_bandit_observe(&b, (uint32_t)arm, r);
        if (arm == 2)
            best_pulls++;
        double regret = p[2] - p[arm];
        if (t < 10000)
            res.regret_first += regret;
        else
            res.regret_second += regret;
    }
    res.best_share = best_pulls / 20000.0;
    return res;
}

static void test_convergence(void) {
    const char *names[] = {"thompson beta", "thompson nig", "ucb1", "egreedy 0.1"};
    for (int pol = 0; pol < 4; pol++) {
        for (uint64_t seed = 1; seed <= 3; seed++) {
            sim_result r = simulate(pol, seed);
            printf("\n    %s seed %llu: best share %.3f, regret first 10k %.1f, second 10k %.1f",
                   names[pol], (unsigned long long)seed, r.best_share, r.regret_first,
                   r.regret_second);
            if (pol == POLICY_EG) {
                /* fixed eps explores forever: regret is linear, eps/3 of the
                 * pulls on each worse arm, (0.1 + 0.05) eps / 3 * 10k = 50 per
                 * half once the greedy arm is right */
                CU_ASSERT(r.regret_second > 40 && r.regret_second < 65);
                CU_ASSERT(r.best_share > 0.8);
            } else {
                /* sublinear: the second half adds less than half the regret
                 * of the first */
                CU_ASSERT(r.regret_second < 0.5 * r.regret_first);
                /* UCB1 explores ~8 ln N / gap^2 pulls per arm: slower */
                CU_ASSERT(r.best_share > (pol == POLICY_UCB ? 0.7 : 0.8));
            }
        }
    }
    printf("\n");
}

/* ---- checkpoint ---- */

static void test_serialize_roundtrip(void) {
    llmopt_bandit b = mk(LLMOPT_BANDIT_NORMAL, 5), c;
    llmopt_rng r;
    llmopt_rng_seed(&r, 5);
    for (int i = 0; i < 500; i++)
        llmopt_bandit_observe(&b, llmopt_rng_below(&r, 5), llmopt_rng_normal(&r));
    llmopt_bandit_prior pr = {3, 0.2, 0.5};
    llmopt_bandit_set_prior(&b, 4, &pr, NULL, 0);
    llmopt_bandit_drift(&b, 2, 12345);
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_bandit_serialize(&b, &w1);
    llmopt_rbuf rb;
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    char err[128];
    CU_ASSERT_EQUAL(llmopt_bandit_deserialize(&c, &rb, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(rb.left, 0);
    llmopt_bandit_serialize(&c, &w2);
    CU_ASSERT_EQUAL(w1.len, w2.len);
    CU_ASSERT_EQUAL(memcmp(w1.data, w2.data, w1.len), 0);
    for (uint32_t i = 0; i < 5; i++) {
        CU_ASSERT_EQUAL(memcmp(&b.arm[i], &c.arm[i], sizeof(b.arm[i])), 0);
    }
    for (size_t n = 0; n < w1.len; n++) {
        llmopt_rbuf_init(&rb, w1.data, n);
        CU_ASSERT_NOT_EQUAL(llmopt_bandit_deserialize(&c, &rb, err, sizeof(err)), LLMOPT_OK);
    }
    /* gamma 2 is refused with a reason */
    double two = 2.0;
    memcpy(w1.data + 5 + 1 + 4, &two, 8); /* host order == little-endian here */
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    CU_ASSERT_NOT_EQUAL(llmopt_bandit_deserialize(&c, &rb, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT(strstr(err, "gamma") != NULL);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("bandit", NULL, NULL);
    CU_add_test(s, "beta_posterior_by_hand", test_beta_posterior_by_hand);
    CU_add_test(s, "nig_posterior_by_hand", test_nig_posterior_by_hand);
    CU_add_test(s, "drift_and_floor", test_drift_and_floor);
    CU_add_test(s, "window_by_hand", test_window_by_hand);
    CU_add_test(s, "window_drift", test_window_drift);
    CU_add_test(s, "window_tracks_a_swap", test_window_tracks_a_swap);
    CU_add_test(s, "window_config_and_state", test_window_config_and_state);
    CU_add_test(s, "pbest_golden", test_pbest_golden);
    CU_add_test(s, "thompson_reproducible_and_eligibility", test_thompson_reproducible_and_eligibility);
    CU_add_test(s, "ucb1_by_hand", test_ucb1_by_hand);
    CU_add_test(s, "egreedy_by_hand", test_egreedy_by_hand);
    CU_add_test(s, "convergence", test_convergence);
    CU_add_test(s, "serialize_roundtrip", test_serialize_roundtrip);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
