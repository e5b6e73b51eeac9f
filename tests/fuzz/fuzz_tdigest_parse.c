/*
 * fuzz_tdigest_parse.c - every input goes through both t-digest decoders:
 * the Postgres TEXT parser and the binary state deserialiser. What one
 * accepts must re-encode stably and answer queries without crashing:
 *   text:   parse -> to_text -> parse -> to_text gives the same text twice
 *   binary: deserialize -> serialize gives back exactly the bytes consumed
 * Built as a libFuzzer target (LLMOPT_FUZZ=ON) or a corpus reproducer.
 */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/tdigest.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void exercise(llmopt_tdigest *d) {
    for (double q = 0.0; q <= 1.0; q += 0.125) {
        double v = llmopt_tdigest_quantile(d, q);
        if (llmopt_tdigest_count(d) > 0 && isnan(v))
            abort();
        (void)llmopt_tdigest_cdf(d, v);
    }
    llmopt_tdigest_add(d, 1.0);
    llmopt_tdigest_add_n(d, -3.0, 5);
    (void)llmopt_tdigest_quantile(d, 0.5);
}

static void fuzz_text(const uint8_t *data, size_t size) {
    llmopt_tdigest *d = NULL, *e = NULL;
    char *t1 = NULL, *t2 = NULL;
    size_t l1 = 0, l2 = 0;
    if (llmopt_tdigest_from_text((const char *)data, size, &d, NULL, 0) != LLMOPT_OK)
        return;
    if (llmopt_tdigest_to_text(d, &t1, &l1, NULL, 0) != LLMOPT_OK)
        abort();
    if (llmopt_tdigest_from_text(t1, l1, &e, NULL, 0) != LLMOPT_OK)
        abort();
    if (llmopt_tdigest_to_text(e, &t2, &l2, NULL, 0) != LLMOPT_OK || l1 != l2 ||
        memcmp(t1, t2, l1) != 0)
        abort();
    exercise(d);
    free(t1);
    free(t2);
    llmopt_tdigest_destroy(d);
    llmopt_tdigest_destroy(e);
}

static void fuzz_binary(const uint8_t *data, size_t size) {
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    llmopt_tdigest *d = NULL;
    if (llmopt_tdigest_deserialize(&r, &d, NULL, 0) != LLMOPT_OK)
        return;
    size_t used = size - r.left;
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_tdigest_serialize(d, &w);
    if (w.err || w.len != used || memcmp(w.data, data, used) != 0)
        abort();
    llmopt_wbuf_release(&w);
    llmopt_tdigest *c = llmopt_tdigest_clone(d);
    if (c && llmopt_tdigest_merge(c, d) != LLMOPT_OK && llmopt_tdigest_count(d) > 0 &&
        llmopt_tdigest_count(d) < INT64_MAX / 2)
        abort();
    exercise(d);
    llmopt_tdigest_destroy(c);
    llmopt_tdigest_destroy(d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_text(data, size);
    fuzz_binary(data, size);
    return 0;
}
