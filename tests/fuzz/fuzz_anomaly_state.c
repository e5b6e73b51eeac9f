/* fuzz_anomaly_state.c - libFuzzer harness for the checkpoint decoders of
 * the anomaly detectors (zscore, iqr, mad).
 *
 * Each input goes to all three deserialisers (the tag picks at most one).
 * A checkpoint that is accepted must (1) re-serialise to the same bytes,
 * (2) survive updates with ordinary and extreme values, and (3) after them
 * still round-trip to an identical detector. Anything else is a crash. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/iqr.h"
#include "processor/core/mad.h"
#include "processor/core/zscore.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const double VALUES[] = {1.0, 0.0, -0.0, 1e100, -1e100, 5e-324, 42.5, 42.5, -3.0, 1e-300};

#define CHECK(c)      \
    do {              \
        if (!(c))     \
            abort();  \
    } while (0)

#define EXERCISE(T)                                                                          \
    do {                                                                                     \
        llmopt_##T *d = NULL;                                                                \
        char err[128];                                                                       \
        if (llmopt_##T##_deserialize(&d, data, size, err, sizeof(err)) != LLMOPT_OK) {       \
            CHECK(d == NULL);                                                                \
            break;                                                                           \
        }                                                                                    \
        llmopt_wbuf w;                                                                       \
        llmopt_wbuf_init(&w);                                                                \
        CHECK(llmopt_##T##_serialize(d, &w) == LLMOPT_OK);                                   \
        CHECK(w.len == size && memcmp(w.data, data, size) == 0);                             \
        llmopt_wbuf_release(&w);                                                             \
        for (size_t i = 0; i < sizeof(VALUES) / sizeof(VALUES[0]); i++) {                    \
            llmopt_anomaly_verdict v;                                                        \
            llmopt_err_t ue = llmopt_##T##_update(d, VALUES[i], &v);                         \
            CHECK(ue == LLMOPT_OK || ue == LLMOPT_ERR_RANGE); /* RANGE: index exhausted */   \
            CHECK(ue != LLMOPT_OK || !v.ready || !isnan(v.score));                           \
        }                                                                                    \
        CHECK(llmopt_##T##_serialize(d, &w) == LLMOPT_OK);                                   \
        llmopt_##T *e = NULL;                                                                \
        CHECK(llmopt_##T##_deserialize(&e, w.data, w.len, err, sizeof(err)) == LLMOPT_OK);   \
        llmopt_wbuf w2;                                                                      \
        llmopt_wbuf_init(&w2);                                                               \
        CHECK(llmopt_##T##_serialize(e, &w2) == LLMOPT_OK);                                  \
        CHECK(w2.len == w.len && memcmp(w2.data, w.data, w.len) == 0);                       \
        llmopt_wbuf_release(&w);                                                             \
        llmopt_wbuf_release(&w2);                                                            \
        llmopt_##T##_destroy(e);                                                             \
        llmopt_##T##_destroy(d);                                                             \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    EXERCISE(zscore);
    EXERCISE(iqr);
    EXERCISE(mad);
    return 0;
}
