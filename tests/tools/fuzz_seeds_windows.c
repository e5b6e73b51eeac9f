/*
 * fuzz_seeds_windows.c - writes the seed corpora of fuzz_tdigest_parse and
 * fuzz_window_state from real encoder output. Build and run from the repo
 * root (after building llmopt_pcore in build-windows):
 *   cc -I. -o /tmp/seeds tests/tools/fuzz_seeds_windows.c \
 *      build-windows/processor/core/libllmopt_pcore.a -lm && /tmp/seeds
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/tdigest.h"
#include "processor/core/window.h"

static void put(const char *path, const void *p, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(p, 1, n, f) != n) {
        perror(path);
        exit(1);
    }
    fclose(f);
}

typedef struct payload {
    llmopt_tdigest *latency;
} payload;
static llmopt_err_t p_init(void *p, void *ctx) {
    ((payload *)p)->latency = llmopt_tdigest_new(100);
    return LLMOPT_OK;
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

int main(void) {
    const char *td = "tests/fuzz/corpus/tdigest_parse";
    const char *ws = "tests/fuzz/corpus/window_state";
    char path[256];
    /* t-digest: text from the real extension, our own text, binary states */
    const char *texts[] = {
        "flags 1 count 10 compression 100 centroids 10 (1.000000, 1) (2.000000, 1) (3.000000, 1) "
        "(4.000000, 1) (5.000000, 1) (6.000000, 1) (7.000000, 1) (8.000000, 1) (9.000000, 1) "
        "(10.000000, 1)",
        "flags 0 count 4 compression 100 centroids 2 (3, 2) (10, 2)",
        "flags 1 count 3 compression 100 centroids 3 (-0.10000000000000001, 1) "
        "(9.9999999999999995e-08, 1) (123456.7891234, 1)",
    };
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
        snprintf(path, sizeof(path), "%s/text_%zu", td, i);
        put(path, texts[i], strlen(texts[i]));
    }
    llmopt_tdigest *d = llmopt_tdigest_new(20);
    for (int i = 0; i < 300; i++)
        llmopt_tdigest_add(d, (i * 37) % 101 * 0.5);
    llmopt_tdigest_add_n(d, 7.0, 4);
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_tdigest_serialize(d, &w); /* buffered input and pending weights */
    snprintf(path, sizeof(path), "%s/binary_buffered", td);
    put(path, w.data, w.len);
    llmopt_tdigest_flush(d);
    llmopt_wbuf_release(&w);
    llmopt_tdigest_serialize(d, &w);
    snprintf(path, sizeof(path), "%s/binary_flushed", td);
    put(path, w.data, w.len);
    char *t;
    size_t tl;
    llmopt_tdigest_to_text(d, &t, &tl, NULL, 0);
    snprintf(path, sizeof(path), "%s/text_ours", td);
    put(path, t, tl);
    free(t);
    llmopt_wbuf_release(&w);
    llmopt_tdigest_destroy(d);

    /* window store: open and queued windows over three partitions */
    llmopt_window_config cfg = {30, 10, 5, 20, 5};
    llmopt_window_ops ops = {sizeof(payload), p_init, p_add, NULL, p_release, p_serialize,
                             p_deserialize, NULL};
    for (int variant = 0; variant < 3; variant++) {
        llmopt_window_store *s = llmopt_window_store_new(&cfg, &ops, NULL, 0);
        for (int i = 0; i < 20 * variant; i++) {
            double v = i;
            int late;
            char key[8];
            snprintf(key, sizeof(key), "k%d", i % 3);
            llmopt_window_add(s, (uint32_t)(i % 3), i * 4 - (i % 5) * 9, key, strlen(key), &v,
                              &late);
        }
        llmopt_wbuf_init(&w);
        llmopt_window_store_save(s, &w);
        snprintf(path, sizeof(path), "%s/store_%d", ws, variant);
        put(path, w.data, w.len);
        llmopt_wbuf_release(&w);
        llmopt_window_store_destroy(s);
    }
    return 0;
}
