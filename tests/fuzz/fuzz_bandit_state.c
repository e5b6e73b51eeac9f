/*
 * fuzz_bandit_state.c - libFuzzer harness for the controller's persisted
 * decision state: llmopt_bandit_deserialize, llmopt_rng_deserialize,
 * llmopt_linucb_deserialize, llmopt_breaker_deserialize and
 * llmopt_canary_deserialize (each refuses the others' tags, so every input
 * goes through all five). An accepted state is then driven by the rest of
 * the input (updates, decay, drift, weights, transitions: the invariants
 * the readers check are the ones these rely on), and re-serialising it must
 * be accepted again and reproduce the same bytes. Builds as a plain
 * reproducer without libFuzzer (tests/fuzz/standalone.c). Seeds:
 * tests/tools/gen_bandit_corpus.c.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/alloc.h"
#include "controller/core/bandit.h"
#include "controller/core/breaker.h"
#include "controller/core/canary.h"
#include "controller/core/egreedy.h"
#include "controller/core/linucb.h"
#include "controller/core/lints.h"
#include "controller/core/rng.h"
#include "controller/core/thompson.h"
#include "controller/core/ucb.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_STEPS 256

static void same_bytes(const llmopt_wbuf *a, const llmopt_wbuf *b) {
    if (a->err || b->err || a->len != b->len || memcmp(a->data, b->data, a->len) != 0)
        abort();
}

static void fuzz_bandit(const uint8_t *data, size_t size) {
    static llmopt_bandit b, b2;
    char err[160];
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    if (llmopt_bandit_deserialize(&b, &r, err, sizeof(err)) != LLMOPT_OK)
        return;
    const uint8_t *t = r.p;
    size_t n = r.left < MAX_STEPS ? r.left : MAX_STEPS;
    llmopt_rng rng;
    llmopt_rng_seed(&rng, n);
    uint32_t k = b.cfg.k;
    for (size_t i = 0; i + 1 < n; i += 2) {
        uint32_t arm = t[i] % (k + 1); /* k: an invalid arm, must be refused */
        double v = b.cfg.reward == LLMOPT_BANDIT_BERNOULLI ? t[i + 1] / 255.0
                                                           : ((double)t[i + 1] - 128) * 1e3;
        switch (t[i] >> 5) {
        case 0:
            llmopt_bandit_decay(&b);
            break;
        case 1:
            llmopt_bandit_drift(&b, arm, (int64_t)t[i + 1] * 1000);
            break;
        case 2:
            llmopt_bandit_observe_batch(&b, arm, t[i + 1] * 10.0, v, t[i + 1] * 0.5);
            break;
        default:
            llmopt_bandit_observe(&b, arm, v);
        }
    }
    double w[LLMOPT_BANDIT_MAX_ARMS], pref[LLMOPT_BANDIT_MAX_ARMS];
    llmopt_alloc_arm a[LLMOPT_BANDIT_MAX_ARMS];
    if (llmopt_thompson_weights(&b, NULL, 16, &rng, pref, NULL, 0) != LLMOPT_OK)
        abort();
    for (uint32_t i = 0; i < k; i++) {
        if (!(pref[i] >= 0 && pref[i] <= 1))
            abort();
        a[i].role = LLMOPT_ALLOC_FLOAT;
        a[i].raw = pref[i];
        a[i].floor = llmopt_bandit_floor(&b, i, 1000);
        a[i].fixed = 0;
    }
    if (llmopt_alloc_weights(a, k, w, err, sizeof(err)) != LLMOPT_OK)
        abort();
    if (llmopt_ucb1_weights(&b, NULL, 1.0, w, err, sizeof(err)) != LLMOPT_OK ||
        llmopt_egreedy_weights(&b, NULL, 0.1, w, err, sizeof(err)) != LLMOPT_OK)
        abort();
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_bandit_serialize(&b, &w1);
    llmopt_rbuf_init(&r, w1.data, w1.len);
    if (llmopt_bandit_deserialize(&b2, &r, err, sizeof(err)) != LLMOPT_OK)
        abort();
    llmopt_bandit_serialize(&b2, &w2);
    same_bytes(&w1, &w2);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

static void fuzz_rng(const uint8_t *data, size_t size) {
    llmopt_rng g;
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    if (llmopt_rng_deserialize(&g, &r) != LLMOPT_OK)
        return;
    double x = llmopt_rng_beta(&g, 0.5, 2.0) + llmopt_rng_student_t(&g, 3.0);
    if (isnan(x))
        abort();
}

static void fuzz_linucb(const uint8_t *data, size_t size) {
    llmopt_linucb *m = NULL, *m2 = NULL;
    char err[160];
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    if (llmopt_linucb_deserialize(&r, &m, err, sizeof(err)) != LLMOPT_OK) {
        if (m)
            abort(); /* nothing handed out on failure */
        return;
    }
    const llmopt_linucb_config *c = llmopt_linucb_config_of(m);
    const uint8_t *t = r.p;
    size_t n = r.left < MAX_STEPS ? r.left : MAX_STEPS;
    double x[LLMOPT_LINUCB_MAX_DIM];
    llmopt_rng rng;
    llmopt_rng_seed(&rng, 7);
    for (size_t i = 0; i + 1 < n; i += 2) {
        for (uint32_t j = 0; j < c->d; j++)
            x[j] = ((double)t[(i + j) % n] - 128) / 16.0;
        uint32_t arm = t[i] % (c->k + 1);
        switch (t[i + 1] >> 6) {
        case 0:
            llmopt_linucb_decay(m);
            break;
        case 1:
            llmopt_linucb_drift(m, arm);
            break;
        default:
            llmopt_linucb_update(m, arm, x, t[i + 1] / 255.0);
        }
        uint32_t pick;
        double s[LLMOPT_LINUCB_MAX_ARMS];
        if (llmopt_linucb_choose(m, x, NULL, &pick) != LLMOPT_OK ||
            llmopt_lints_choose(m, x, NULL, 0.5, &rng, &pick, s) != LLMOPT_OK)
            abort();
    }
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_linucb_serialize(m, &w1);
    llmopt_rbuf_init(&r, w1.data, w1.len);
    if (llmopt_linucb_deserialize(&r, &m2, err, sizeof(err)) != LLMOPT_OK)
        abort();
    llmopt_linucb_serialize(m2, &w2);
    same_bytes(&w1, &w2);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
    llmopt_linucb_destroy(m);
    llmopt_linucb_destroy(m2);
}

static void fuzz_breaker(const uint8_t *data, size_t size) {
    llmopt_breaker br, b2;
    char err[160];
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    if (llmopt_breaker_deserialize(&br, &r, err, sizeof(err)) != LLMOPT_OK)
        return;
    const uint8_t *t = r.p;
    size_t n = r.left < MAX_STEPS ? r.left : MAX_STEPS;
    int64_t now = br.since_ms;
    for (size_t i = 0; i + 1 < n; i += 2) {
        now += (int64_t)t[i] * 997;
        switch (t[i + 1] & 3) {
        case 0:
            llmopt_breaker_tick(&br, now, NULL);
            break;
        case 1:
            llmopt_breaker_anomaly(&br, now, "fuzz", NULL);
            break;
        default:
            llmopt_breaker_observe(&br, now, t[i + 1], t[i], NULL);
        }
        llmopt_alloc_arm a;
        llmopt_breaker_alloc(&br, &a);
    }
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_breaker_serialize(&br, &w1);
    llmopt_rbuf_init(&r, w1.data, w1.len);
    if (llmopt_breaker_deserialize(&b2, &r, err, sizeof(err)) != LLMOPT_OK)
        abort();
    llmopt_breaker_serialize(&b2, &w2);
    same_bytes(&w1, &w2);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

static void fuzz_canary(const uint8_t *data, size_t size) {
    llmopt_canary c, c2;
    char err[160];
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    if (llmopt_canary_deserialize(&c, &r, err, sizeof(err)) != LLMOPT_OK)
        return;
    const uint8_t *t = r.p;
    size_t n = r.left < MAX_STEPS ? r.left : MAX_STEPS;
    int64_t now = c.step_start_ms;
    for (size_t i = 0; i + 3 < n; i += 4) {
        now += (int64_t)t[i] * 10007;
        if (t[i + 1] == 0) {
            llmopt_canary_signal(&c, now, "fuzz", NULL);
            continue;
        }
        if (t[i + 1] == 1) {
            llmopt_canary_start(&c, now, NULL);
            continue;
        }
        llmopt_canary_obs a = {t[i + 1] * 10u, t[i + 2] % (t[i + 1] * 10u + 1), t[i + 3] / 255.0,
                               t[i + 2] * 10.0, t[i + 3] & 1 ? NAN : t[i + 1] * 1e-4};
        llmopt_canary_obs b = {1000, 10, 0.8, 1000, 0.01};
        int ch;
        llmopt_canary_observe(&c, now, &a, &b, &ch, NULL);
        double s = llmopt_canary_share(&c);
        if (!(s >= 0 && s <= 1))
            abort();
    }
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_canary_serialize(&c, &w1);
    llmopt_rbuf_init(&r, w1.data, w1.len);
    if (llmopt_canary_deserialize(&c2, &r, err, sizeof(err)) != LLMOPT_OK)
        abort();
    llmopt_canary_serialize(&c2, &w2);
    same_bytes(&w1, &w2);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_bandit(data, size);
    fuzz_rng(data, size);
    fuzz_linucb(data, size);
    fuzz_breaker(data, size);
    fuzz_canary(data, size);
    return 0;
}
