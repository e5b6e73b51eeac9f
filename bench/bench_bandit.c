/*
 * bench_bandit.c - decisions per second of the controller's bandit logic
 * for R routes x 5 arms (default 1000 routes): Thompson sampling (Beta and
 * NIG) with 10k and 1k Monte Carlo draws, UCB1 and epsilon-greedy, each
 * followed by alloc floors (a full weight decision); LinUCB and LinTS d=8
 * per-request scoring of 5 arms from published parameters (the gateway's
 * path) and LinUCB updates (Sherman-Morrison, re-inversion every 64).
 * Best of 3 runs per row, timed in process CPU time (one thread).
 *
 *   bench_bandit [routes]
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "controller/core/alloc.h"
#include "controller/core/bandit.h"
#include "controller/core/egreedy.h"
#include "controller/core/linucb.h"
#include "controller/core/lints.h"
#include "controller/core/rng.h"
#include "controller/core/thompson.h"
#include "controller/core/ucb.h"

#define K 5
#define D 8

/* CPU time of this process: the machine is shared, and wall time there
 * measures the neighbours as much as this code */
static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static volatile double sink;

static void decide(const llmopt_bandit *b, int policy, uint32_t draws, llmopt_rng *rng) {
    double pref[K], w[K];
    llmopt_alloc_arm a[K];
    if (policy == 0)
        llmopt_thompson_weights(b, NULL, draws, rng, pref, NULL, 0);
    else if (policy == 1)
        llmopt_ucb1_weights(b, NULL, 1.0, pref, NULL, 0);
    else
        llmopt_egreedy_weights(b, NULL, 0.1, pref, NULL, 0);
    for (int i = 0; i < K; i++) {
        a[i].role = LLMOPT_ALLOC_FLOAT;
        a[i].raw = pref[i];
        a[i].floor = 0.01;
        a[i].fixed = 0;
    }
    llmopt_alloc_weights(a, K, w, NULL, 0);
    sink += w[0];
}

int main(int argc, char **argv) {
    int routes = argc > 1 ? atoi(argv[1]) : 1000;
    if (routes < 1)
        routes = 1000;
    llmopt_bandit *beta = calloc(routes, sizeof(*beta)), *nig = calloc(routes, sizeof(*nig));
    llmopt_rng rng;
    llmopt_rng_seed(&rng, 42);
    for (int r = 0; r < routes; r++) {
        llmopt_bandit_config c;
        llmopt_bandit_config_default(&c, LLMOPT_BANDIT_BERNOULLI, K);
        llmopt_bandit_init(&beta[r], &c, NULL, 0);
        llmopt_bandit_config_default(&c, LLMOPT_BANDIT_NORMAL, K);
        llmopt_bandit_init(&nig[r], &c, NULL, 0);
        for (int i = 0; i < K; i++) { /* mid-life posteriors: a few hundred observations */
            double p = 0.5 + 0.02 * i;
            llmopt_bandit_observe_batch(&beta[r], i, 200 + 50 * i, p, 0);
            llmopt_bandit_observe_batch(&nig[r], i, 200 + 50 * i, p, (200 + 50 * i) * 0.25);
        }
    }
    printf("| decision (%d routes x %d arms) | per CPU second | us each |\n|---|---:|---:|\n",
           routes, K);
    struct {
        const char *name;
        llmopt_bandit *b;
        int policy;
        uint32_t draws;
    } rows[] = {
        {"thompson beta, 10k draws", beta, 0, 10000}, {"thompson beta, 1k draws", beta, 0, 1000},
        {"thompson nig, 10k draws", nig, 0, 10000},   {"thompson nig, 1k draws", nig, 0, 1000},
        {"ucb1", beta, 1, 0},                         {"egreedy", beta, 2, 0},
    };
    for (size_t row = 0; row < sizeof(rows) / sizeof(rows[0]); row++) {
        double best = 1e30;
        int reps = rows[row].policy == 0 ? 1 : 200;
        for (int run = 0; run < 3; run++) {
            double t0 = now_s();
            for (int rep = 0; rep < reps; rep++)
                for (int r = 0; r < routes; r++)
                    decide(&rows[row].b[r], rows[row].policy, rows[row].draws, &rng);
            double dt = now_s() - t0;
            if (dt < best)
                best = dt;
        }
        double n = (double)routes * reps;
        printf("| %s + alloc | %.0f | %.2f |\n", rows[row].name, n / best, best / n * 1e6);
    }

    /* contextual: one model per route would be 1000 x 5 x (2 d^2 + 2 d)
     * doubles; the cost per request does not depend on which route, so use
     * a handful of trained models */
    enum { MODELS = 16, REQ = 200000 };
    llmopt_linucb *m[MODELS];
    llmopt_linucb_config lc;
    llmopt_linucb_config_default(&lc, K, D);
    double x[D];
    double best_upd = 1e30;
    for (int run = 0; run < 3; run++) {
        for (int j = 0; j < MODELS; j++) {
            if (run)
                llmopt_linucb_destroy(m[j]);
            llmopt_linucb_new(&lc, &m[j], NULL, 0);
        }
        double t0 = now_s();
        for (int i = 0; i < REQ; i++) {
            x[0] = 1;
            for (int j = 1; j < D; j++)
                x[j] = llmopt_rng_normal(&rng);
            llmopt_linucb_update(m[i % MODELS], (uint32_t)(i % K), x, llmopt_rng_uniform(&rng));
        }
        double dt = now_s() - t0;
        if (dt < best_upd)
            best_upd = dt;
    }
    printf("| linucb update d=8 (incl. context draw) | %.0f | %.2f |\n", REQ / best_upd,
           best_upd / REQ * 1e6);
    for (int ts = 0; ts < 2; ts++) {
        double best = 1e30;
        for (int run = 0; run < 3; run++) {
            double t0 = now_s();
            for (int i = 0; i < REQ; i++) {
                x[0] = 1;
                for (int j = 1; j < D; j++)
                    x[j] = (double)((i * 7 + j * 13) % 17) / 8.0 - 1.0;
                uint32_t arm;
                if (ts)
                    llmopt_lints_choose(m[i % MODELS], x, NULL, 0.5, &rng, &arm, NULL);
                else
                    llmopt_linucb_choose(m[i % MODELS], x, NULL, &arm);
                sink += arm;
            }
            double dt = now_s() - t0;
            if (dt < best)
                best = dt;
        }
        printf("| %s d=8 scoring, 5 arms (one request) | %.0f | %.2f |\n",
               ts ? "lints" : "linucb", REQ / best, best / REQ * 1e6);
    }
    for (int j = 0; j < MODELS; j++)
        llmopt_linucb_destroy(m[j]);
    free(beta);
    free(nig);
    return 0;
}
