/* test_linucb.c - CUnit suite for controller/core/linucb and lints: 400
 * updates replayed from tests/data/bandit/linucb.txt must give the theta,
 * A^-1 and scores numpy computes by direct inversion
 * (tests/tools/gen_bandit_golden.py), with Sherman-Morrison updates and the
 * periodic Cholesky re-inversion; the published-parameter scoring function
 * agrees with the model; decay, drift, validation and the checkpoint round
 * trip; LinTS learns the best arm on a synthetic contextual problem. */
#include <CUnit/Basic.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/linucb.h"
#include "controller/core/lints.h"
#include "controller/core/rng.h"

static int close_rel(double got, double want, double tol) {
    return fabs(got - want) <= tol * fmax(1.0, fabs(want));
}

static void run_golden(uint32_t reinvert_every, double tol) {
    FILE *f = fopen("tests/data/bandit/linucb.txt", "r");
    CU_ASSERT_FATAL(f != NULL);
    char line[8192];
    CU_ASSERT_FATAL(fgets(line, sizeof(line), f) != NULL); /* comment */
    unsigned k, d;
    double lam, alpha, v;
    CU_ASSERT_FATAL(fscanf(f, "%u %u %lf %lf %lf\n", &k, &d, &lam, &alpha, &v) == 5);
    llmopt_linucb_config c;
    llmopt_linucb_config_default(&c, k, d);
    c.lambda = lam;
    c.alpha = alpha;
    c.reinvert_every = reinvert_every;
    llmopt_linucb *m = NULL;
    CU_ASSERT_FATAL(llmopt_linucb_new(&c, &m, NULL, 0) == LLMOPT_OK);
    double worst = 0;
    int updates = 0, checks = 0, bad = 0;
    while (fgets(line, sizeof(line), f)) {
        char *p = line, *kw = strtok(p, " \n");
        if (!kw)
            continue;
        double x[64], want[4096];
        if (!strcmp(kw, "u")) {
            unsigned arm = (unsigned)strtoul(strtok(NULL, " "), NULL, 10);
            double r = strtod(strtok(NULL, " "), NULL);
            for (unsigned i = 0; i < d; i++)
                x[i] = strtod(strtok(NULL, " \n"), NULL);
            CU_ASSERT(llmopt_linucb_update(m, arm, x, r) == LLMOPT_OK);
            updates++;
            continue;
        }
        unsigned arm = (unsigned)strtoul(strtok(NULL, " "), NULL, 10);
        double got;
        if (!strcmp(kw, "theta") || !strcmp(kw, "ainv")) {
            unsigned n = !strcmp(kw, "theta") ? d : d * d;
            const double *have = n == d ? llmopt_linucb_theta(m, arm) : llmopt_linucb_a_inv(m, arm);
            for (unsigned i = 0; i < n; i++) {
                want[i] = strtod(strtok(NULL, " \n"), NULL);
                double e = fabs(have[i] - want[i]) / fmax(1.0, fabs(want[i]));
                worst = fmax(worst, e);
                if (!close_rel(have[i], want[i], tol) && bad++ < 5)
                    fprintf(stderr, "%s[%u][%u]: %.17g vs %.17g\n", kw, arm, i, have[i], want[i]);
                checks++;
            }
            continue;
        }
        double par = strtod(strtok(NULL, " "), NULL), z = 0;
        if (!strcmp(kw, "ts"))
            z = strtod(strtok(NULL, " "), NULL);
        for (unsigned i = 0; i < d; i++)
            x[i] = strtod(strtok(NULL, " \n"), NULL);
        double w = strtod(strtok(NULL, " \n"), NULL);
        if (!strcmp(kw, "score")) {
            got = llmopt_linucb_score(d, llmopt_linucb_theta(m, arm), llmopt_linucb_a_inv(m, arm),
                                      x, par);
            double all[32];
            llmopt_linucb_scores(m, x, all); /* the controller's path, same function */
            CU_ASSERT_EQUAL(all[arm], got);
        } else {
            got = llmopt_lints_score(d, llmopt_linucb_theta(m, arm), llmopt_linucb_a_inv(m, arm), x,
                                     par, z);
        }
        worst = fmax(worst, fabs(got - w) / fmax(1.0, fabs(w)));
        if (!close_rel(got, w, tol) && bad++ < 5)
            fprintf(stderr, "%s arm %u: %.17g vs %.17g\n", kw, arm, got, w);
        checks++;
    }
    fclose(f);
    printf("\n    reinvert_every %u: %d updates, %d values, worst rel err %.3g", reinvert_every,
           updates, checks, worst);
    CU_ASSERT_EQUAL(updates, 400);
    CU_ASSERT_EQUAL(checks, 3 * (8 + 64) + 60);
    CU_ASSERT_EQUAL(bad, 0);
    llmopt_linucb_destroy(m);
}

static void test_golden(void) {
    run_golden(64, 1e-9);     /* default hygiene */
    run_golden(1, 1e-9);      /* re-invert after every update */
    run_golden(100000, 1e-8); /* pure Sherman-Morrison over 400 updates */
    printf("\n");
}

static void test_decay_drift_validation(void) {
    llmopt_linucb_config c;
    llmopt_linucb_config_default(&c, 2, 3);
    c.gamma = 0.5;
    c.drift_shrink = 0.0;
    llmopt_linucb *m = NULL;
    char err[128];
    CU_ASSERT_FATAL(llmopt_linucb_new(&c, &m, err, sizeof(err)) == LLMOPT_OK);
    double x[3] = {1, 2, 0};
    /* A = I + x x^T, b = 2x: theta = 2x / (1 + |x|^2) = 2x / 6 by Sherman-Morrison */
    CU_ASSERT(llmopt_linucb_update(m, 0, x, 2.0) == LLMOPT_OK);
    const double *th = llmopt_linucb_theta(m, 0);
    CU_ASSERT(fabs(th[0] - 1.0 / 3) < 1e-15 && fabs(th[1] - 2.0 / 3) < 1e-15 && th[2] == 0);
    /* decay 0.5: A = I + x x^T / 2, b = x: theta = x / (1 + 5/2) */
    CU_ASSERT(llmopt_linucb_decay(m) == LLMOPT_OK);
    CU_ASSERT(fabs(th[0] - 1 / 3.5) < 1e-14 && fabs(th[1] - 2 / 3.5) < 1e-14);
    CU_ASSERT(fabs(llmopt_linucb_n(m, 0) - 0.5) < 1e-15);
    /* drift with shrink 0: back to the ridge prior, theta 0, A^-1 = I */
    CU_ASSERT(llmopt_linucb_drift(m, 0) == LLMOPT_OK);
    const double *ai = llmopt_linucb_a_inv(m, 0);
    CU_ASSERT(th[0] == 0 && th[1] == 0 && ai[0] == 1 && ai[1] == 0 && ai[4] == 1);
    /* refusals */
    double big[3] = {1e7, 0, 0};
    CU_ASSERT_EQUAL(llmopt_linucb_update(m, 0, big, 1), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(llmopt_linucb_update(m, 2, x, 1), LLMOPT_ERR_RANGE);
    CU_ASSERT(llmopt_linucb_theta(m, 2) == NULL);
    uint32_t arm;
    uint8_t none[2] = {0, 0};
    CU_ASSERT_EQUAL(llmopt_linucb_choose(m, x, none, &arm), LLMOPT_ERR_STATE);
    llmopt_linucb_destroy(m);
    llmopt_linucb_destroy(NULL);
    c.d = 65;
    CU_ASSERT_EQUAL(llmopt_linucb_new(&c, &m, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT(strstr(err, "'d'") != NULL);
}

static void test_roundtrip(void) {
    llmopt_linucb_config c;
    llmopt_linucb_config_default(&c, 3, 4);
    c.reinvert_every = 7;
    llmopt_linucb *m = NULL, *m2 = NULL;
    CU_ASSERT_FATAL(llmopt_linucb_new(&c, &m, NULL, 0) == LLMOPT_OK);
    llmopt_rng r;
    llmopt_rng_seed(&r, 3);
    for (int i = 0; i < 50; i++) {
        double x[4];
        for (int j = 0; j < 4; j++)
            x[j] = llmopt_rng_normal(&r);
        llmopt_linucb_update(m, (uint32_t)llmopt_rng_below(&r, 3), x, llmopt_rng_uniform(&r));
    }
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_linucb_serialize(m, &w1);
    llmopt_rbuf rb;
    char err[128];
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    CU_ASSERT_FATAL(llmopt_linucb_deserialize(&rb, &m2, err, sizeof(err)) == LLMOPT_OK);
    CU_ASSERT_EQUAL(rb.left, 0);
    llmopt_linucb_serialize(m2, &w2);
    CU_ASSERT(w1.len == w2.len && memcmp(w1.data, w2.data, w1.len) == 0);
    for (uint32_t a = 0; a < 3; a++)
        CU_ASSERT(memcmp(llmopt_linucb_theta(m, a), llmopt_linucb_theta(m2, a), 4 * sizeof(double)) == 0);
    for (size_t n = 0; n < w1.len; n += 7) {
        llmopt_linucb *m3 = NULL;
        llmopt_rbuf_init(&rb, w1.data, n);
        CU_ASSERT_NOT_EQUAL(llmopt_linucb_deserialize(&rb, &m3, err, sizeof(err)), LLMOPT_OK);
        CU_ASSERT(m3 == NULL);
    }
    /* a non-PD A is refused: make A[0][0] of arm 0 negative */
    double neg = -1.0;
    size_t off = 5 + 4 + 4 + 8 * 4 + 4 + 8 + 4;
    memcpy(w1.data + off, &neg, 8);
    llmopt_rbuf_init(&rb, w1.data, w1.len);
    llmopt_linucb *m4 = NULL;
    CU_ASSERT_EQUAL(llmopt_linucb_deserialize(&rb, &m4, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT(m4 == NULL);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
    llmopt_linucb_destroy(m);
    llmopt_linucb_destroy(m2);
}

/* contextual problem: 3 arms, d = 4 (bias + 3 features); the best arm
 * depends on the context. LinTS and LinUCB must both beat uniform choice
 * by far and pick the context's best arm most of the time at the end. */
static void test_contextual_learning(void) {
    const double truth[3][4] = {{0.5, 0.2, 0, 0}, {0.5, 0, 0.2, 0}, {0.5, 0, 0, 0.2}};
    for (int use_ts = 0; use_ts < 2; use_ts++) {
        llmopt_linucb_config c;
        llmopt_linucb_config_default(&c, 3, 4);
        c.alpha = 0.5;
        llmopt_linucb *m = NULL;
        CU_ASSERT_FATAL(llmopt_linucb_new(&c, &m, NULL, 0) == LLMOPT_OK);
        llmopt_rng env, dec;
        llmopt_rng_seed(&env, 17);
        llmopt_rng_seed(&dec, 18);
        int right_late = 0;
        for (int t = 0; t < 5000; t++) {
            double x[4] = {1, llmopt_rng_normal(&env), llmopt_rng_normal(&env),
                           llmopt_rng_normal(&env)};
            uint32_t arm = 0, best = 0;
            llmopt_err_t e = use_ts ? llmopt_lints_choose(m, x, NULL, 0.2, &dec, &arm, NULL)
                                    : llmopt_linucb_choose(m, x, NULL, &arm);
            CU_ASSERT(e == LLMOPT_OK);
            double mu[3];
            for (int a = 0; a < 3; a++) {
                mu[a] = 0;
                for (int j = 0; j < 4; j++)
                    mu[a] += truth[a][j] * x[j];
                if (mu[a] > mu[best])
                    best = (uint32_t)a;
            }
            double r = mu[arm] + 0.1 * llmopt_rng_normal(&env);
            llmopt_linucb_update(m, arm, x, r);
            if (t >= 4000)
                right_late += arm == best;
        }
        printf("\n    %s: best arm chosen in %d of the last 1000", use_ts ? "lints" : "linucb",
               right_late);
        CU_ASSERT(right_late > 900);
        llmopt_linucb_destroy(m);
    }
    printf("\n");
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("linucb", NULL, NULL);
    CU_add_test(s, "golden", test_golden);
    CU_add_test(s, "decay_drift_validation", test_decay_drift_validation);
    CU_add_test(s, "roundtrip", test_roundtrip);
    CU_add_test(s, "contextual_learning", test_contextual_learning);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
