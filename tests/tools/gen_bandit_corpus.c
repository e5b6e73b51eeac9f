/*
 * gen_bandit_corpus.c - writes the seed corpus of tests/fuzz/fuzz_bandit_state.c:
 * real checkpoints of each controller state type (bandit Beta and NIG, rng,
 * LinUCB, breaker, canary) in mid-life, each followed by a few bytes that
 * drive updates in the harness. Not built by CMake; run from the repo root:
 *
 *   cc -std=c11 -I. tests/tools/gen_bandit_corpus.c build-bandits/controller/core/libllmopt_ccore.a \
 *      build-bandits/processor/core/libllmopt_pcore.a -lm -o /tmp/gen_bandit_corpus &&
 *   /tmp/gen_bandit_corpus tests/fuzz/corpus/bandit_state
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/bandit.h"
#include "controller/core/breaker.h"
#include "controller/core/canary.h"
#include "controller/core/linucb.h"
#include "controller/core/rng.h"

static const char *dir;

static void dump(const char *name, llmopt_wbuf *w) {
    static const uint8_t tail[] = {3, 200, 65, 17, 130, 255, 1, 0, 96, 42, 7, 77, 160, 9, 33, 250};
    llmopt_wbuf_bytes(w, tail, sizeof(tail));
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(w->data, 1, w->len, f) != w->len) {
        perror(path);
        exit(1);
    }
    fclose(f);
    llmopt_wbuf_release(w);
    llmopt_wbuf_init(w);
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    dir = argv[1];
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_rng rng;
    llmopt_rng_seed(&rng, 1);

    for (int model = 0; model < 2; model++) {
        llmopt_bandit_config c;
        llmopt_bandit b;
        llmopt_bandit_config_default(&c, model ? LLMOPT_BANDIT_NORMAL : LLMOPT_BANDIT_BERNOULLI, 5);
        c.gamma = 0.99;
        llmopt_bandit_init(&b, &c, NULL, 0);
        llmopt_bandit_prior p = {20, 0.6, 0.1};
        llmopt_bandit_set_prior(&b, 1, &p, NULL, 0);
        for (int i = 0; i < 300; i++)
            llmopt_bandit_observe(&b, llmopt_rng_below(&rng, 5), llmopt_rng_uniform(&rng) < 0.55);
        llmopt_bandit_drift(&b, 3, 5000);
        llmopt_bandit_serialize(&b, &w);
        dump(model ? "bandit_nig" : "bandit_beta", &w);
    }
    llmopt_rng_serialize(&rng, &w);
    dump("rng", &w);

    llmopt_linucb_config lc;
    llmopt_linucb_config_default(&lc, 3, 4);
    lc.reinvert_every = 8;
    llmopt_linucb *m = NULL;
    llmopt_linucb_new(&lc, &m, NULL, 0);
    for (int i = 0; i < 30; i++) {
        double x[4] = {1, llmopt_rng_normal(&rng), llmopt_rng_normal(&rng), llmopt_rng_normal(&rng)};
        llmopt_linucb_update(m, llmopt_rng_below(&rng, 3), x, llmopt_rng_uniform(&rng));
    }
    llmopt_linucb_serialize(m, &w);
    dump("linucb", &w);
    llmopt_linucb_destroy(m);

    llmopt_breaker_config bc;
    llmopt_breaker_config_default(&bc);
    llmopt_breaker br;
    llmopt_breaker_init(&br, &bc, 0, NULL, 0);
    llmopt_breaker_serialize(&br, &w);
    dump("breaker_closed", &w);
    llmopt_breaker_observe(&br, 100, 50, 40, NULL);
    llmopt_breaker_tick(&br, 40000, NULL);
    llmopt_breaker_serialize(&br, &w);
    dump("breaker_half_open", &w);

    llmopt_canary_config cc;
    llmopt_canary_config_default(&cc);
    cc.min_step_ms = 1000;
    cc.min_step_samples = 100;
    llmopt_canary k;
    llmopt_canary_init(&k, &cc, 0, NULL, 0);
    llmopt_canary_start(&k, 0, NULL);
    llmopt_canary_obs a = {120, 1, 0.8, 900, 0.002}, bo = {1000, 10, 0.8, 1000, 0.002};
    int ch;
    llmopt_canary_observe(&k, 2000, &a, &bo, &ch, NULL);
    llmopt_canary_observe(&k, 2500, &a, &bo, &ch, NULL);
    llmopt_canary_serialize(&k, &w);
    dump("canary_ramping", &w);
    llmopt_wbuf_release(&w);
    return 0;
}
