/*
 * fuzz_window_state.c - window store checkpoints from hostile bytes. The
 * payload is a latency t-digest, as in the processor, so the digest
 * deserialiser runs nested inside the store's. What loads must save to a
 * canonical form that reloads to itself, and keep working: events, an
 * advance and draining every window. Config: size 30, advance 10, offset 5,
 * ooo 20, grace 5 (the seeds in tests/fuzz/corpus/window_state use it; see
 * tests/tools/fuzz_seeds_windows.c).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/tdigest.h"
#include "processor/core/window.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct payload {
    llmopt_tdigest *latency;
} payload;

static llmopt_err_t p_init(void *p, void *ctx) {
    payload *x = p;
    x->latency = llmopt_tdigest_new(100);
    return x->latency ? LLMOPT_OK : LLMOPT_ERR_NOMEM;
}
static llmopt_err_t p_add(void *p, const void *ev, void *ctx) {
    return llmopt_tdigest_add(((payload *)p)->latency, *(const double *)ev);
}
static void p_release(void *p, void *ctx) {
    llmopt_tdigest_destroy(((payload *)p)->latency);
}
static void p_serialize(const void *p, llmopt_wbuf *w, void *ctx) {
    llmopt_tdigest_serialize(((const payload *)p)->latency, w);
}
static llmopt_err_t p_deserialize(void *p, llmopt_rbuf *r, void *ctx) {
    return llmopt_tdigest_deserialize(r, &((payload *)p)->latency, NULL, 0);
}

static const llmopt_window_ops OPS = {
    .payload_size = sizeof(payload), .init = p_init, .add = p_add, .release = p_release,
    .serialize = p_serialize, .deserialize = p_deserialize,
};
static const llmopt_window_config CFG = {30, 10, 5, 20, 5};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llmopt_window_store *s = llmopt_window_store_new(&CFG, &OPS, NULL, 0);
    llmopt_window_store *t = llmopt_window_store_new(&CFG, &OPS, NULL, 0);
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    if (!s || !t)
        abort();
    if (llmopt_window_store_load(s, data, size, NULL, 0) == LLMOPT_OK) {
        llmopt_window_store_save(s, &w1);
        if (w1.err || llmopt_window_store_load(t, w1.data, w1.len, NULL, 0) != LLMOPT_OK)
            abort();
        llmopt_window_store_save(t, &w2);
        if (w2.err || w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0)
            abort();
        for (int i = 0; i < 16; i++) {
            double v = i * 1.5;
            int late;
            llmopt_window_add(s, (uint32_t)(i % 3), 1000 + i * 7, "route/arm", 9, &v, &late);
        }
        llmopt_window_advance(s, 0, LLMOPT_WINDOW_TS_MAX);
        llmopt_window_closed c;
        while (llmopt_window_pop(s, &c)) {
            (void)llmopt_tdigest_quantile(((payload *)c.payload)->latency, 0.99);
            llmopt_window_closed_release(s, &c);
        }
    }
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
    llmopt_window_store_destroy(s);
    llmopt_window_store_destroy(t);
    return 0;
}
