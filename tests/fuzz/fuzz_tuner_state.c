/*
 * fuzz_tuner_state.c - libFuzzer harness for llmopt_tuner_deserialize (the
 * parameter tuner's part of a route checkpoint). Input: byte 0 picks the
 * slot count (2..17 -> 2..16), byte 1 the parameter count (1..4), then a
 * TUNR blob, then operations. An accepted state is driven by observations
 * and rounds; every live slot must stay within its ranges with exactly one
 * incumbent, and re-serialising must be accepted again with the same bytes.
 * Builds as a plain reproducer without libFuzzer (tests/fuzz/standalone.c).
 * Seeds: tests/fuzz/corpus/tuner_state (written by tests/tools/gen_tuner_corpus.py).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/tuner.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const llmopt_tuner *t) {
    size_t best = 0;
    for (size_t s = 0; s < t->cfg.n_slots; s++) {
        if (t->slot[s].state == LLMOPT_TUNER_BEST)
            best++;
        if (t->slot[s].state == LLMOPT_TUNER_IDLE)
            continue;
        for (size_t i = 0; i < t->cfg.n_params; i++)
            if (!(t->slot[s].x[i] >= t->cfg.params[i].lo && t->slot[s].x[i] <= t->cfg.params[i].hi))
                abort();
    }
    if (best != 1 || t->slot[t->best].state != LLMOPT_TUNER_BEST)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2)
        return 0;
    llmopt_tuner_config c;
    llmopt_tuner_config_default(&c);
    c.n_slots = 2 + data[0] % 15;
    c.n_params = 1 + data[1] % 4;
    for (size_t i = 0; i < c.n_params; i++) {
        snprintf(c.params[i].name, sizeof(c.params[i].name), "p%zu", i);
        c.params[i].lo = 0;
        c.params[i].hi = 1;
        c.params[i].step = 0.4;
        c.params[i].min_step = 0.05;
        c.start[i] = 0.5;
    }
    c.min_samples = 10;
    static llmopt_tuner t, u;
    if (llmopt_tuner_init(&t, &c, NULL, 0) != LLMOPT_OK)
        abort();
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data + 2, size - 2);
    char err[200];
    if (llmopt_tuner_deserialize(&t, &r, err, sizeof(err)) != LLMOPT_OK)
        return 0;
    check(&t);
    const uint8_t *op = r.p;
    size_t n = r.left < 512 ? r.left : 512;
    llmopt_tuner_change ch[LLMOPT_TUNER_MAX_SLOTS + 1];
    for (size_t i = 0; i + 1 < n; i += 2) {
        size_t slot = op[i] % (c.n_slots + 1);
        (void)llmopt_tuner_observe(&t, slot, op[i + 1] % 20, op[i + 1] / 255.0, op[i] / 64.0);
        if (op[i] & 1)
            (void)llmopt_tuner_round(&t, ch, LLMOPT_TUNER_MAX_SLOTS + 1);
        check(&t);
    }
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_tuner_serialize(&t, &w1);
    llmopt_tuner_init(&u, &c, NULL, 0);
    llmopt_rbuf_init(&r, w1.data, w1.len);
    if (llmopt_tuner_deserialize(&u, &r, err, sizeof(err)) != LLMOPT_OK || r.left)
        abort();
    llmopt_tuner_serialize(&u, &w2);
    if (w1.err || w2.err || w1.len != w2.len || memcmp(w1.data, w2.data, w1.len))
        abort();
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
    return 0;
}
