/*
 * fuzz_drift_state.c - libFuzzer harness for the drift detectors' state
 * readers: llmopt_adwin_deserialize, llmopt_ph_deserialize and
 * llmopt_cusum_deserialize (each refuses the others' tags, so every input
 * goes through all three). An accepted state must then survive updates fed
 * from the rest of the input (the invariants the reader checks are exactly
 * those update() relies on), and re-serialising it must round-trip to the
 * same bytes. Builds as a plain reproducer without libFuzzer
 * (tests/fuzz/standalone.c). Seeds: tests/tools/gen_drift_corpus.c.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/adwin.h"
#include "processor/core/cusum.h"
#include "processor/core/page_hinkley.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* the bytes after the state drive updates: a cut needs shifted values */
static double value_at(const uint8_t *p, size_t i) {
    return ((double)p[i] - 128.0) * (i % 3 ? 0.25 : 4.0);
}

#define ROUNDTRIP(TYPE, SER, DE, UPD)                                        \
    do {                                                                     \
        static TYPE s, t;                                                    \
        llmopt_rbuf r;                                                       \
        llmopt_rbuf_init(&r, data, size);                                    \
        if (DE(&s, &r, err, sizeof(err)) != LLMOPT_OK)                       \
            break;                                                           \
        const uint8_t *tail = r.p;                                           \
        size_t n = r.left;                                                   \
        llmopt_drift_detection d;                                            \
        for (size_t i = 0; i < n && i < 4096; i++)                           \
            UPD(&s, value_at(tail, i), &d);                                  \
        llmopt_wbuf w1, w2;                                                  \
        llmopt_wbuf_init(&w1);                                               \
        llmopt_wbuf_init(&w2);                                               \
        SER(&s, &w1);                                                        \
        llmopt_rbuf_init(&r, w1.data, w1.len);                               \
        if (DE(&t, &r, err, sizeof(err)) != LLMOPT_OK)                       \
            abort(); /* a state we produced must be accepted */              \
        SER(&t, &w2);                                                        \
        if (w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0)       \
            abort();                                                         \
        llmopt_wbuf_release(&w1);                                            \
        llmopt_wbuf_release(&w2);                                            \
    } while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[160];
    ROUNDTRIP(llmopt_adwin, llmopt_adwin_serialize, llmopt_adwin_deserialize, llmopt_adwin_update);
    ROUNDTRIP(llmopt_ph, llmopt_ph_serialize, llmopt_ph_deserialize, llmopt_ph_update);
    ROUNDTRIP(llmopt_cusum, llmopt_cusum_serialize, llmopt_cusum_deserialize, llmopt_cusum_update);
    return 0;
}
