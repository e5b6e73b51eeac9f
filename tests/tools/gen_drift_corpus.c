/*
 * gen_drift_corpus.c - writes the seed corpus of tests/fuzz/fuzz_drift_state.c
 * (tests/fuzz/corpus/drift_state/): real serialized detector states at a few
 * points of a drifting stream, each followed by some update bytes.
 *
 *   cc -O1 -I. tests/tools/gen_drift_corpus.c processor/core/adwin.c \
 *      processor/core/page_hinkley.c processor/core/cusum.c \
 *      processor/core/serial.c -lm -o /tmp/gen_drift_corpus
 *   /tmp/gen_drift_corpus tests/fuzz/corpus/drift_state
 */
#include <stdio.h>
#include <stdlib.h>

#include "processor/core/adwin.h"
#include "processor/core/cusum.h"
#include "processor/core/page_hinkley.h"

static void put(const char *dir, const char *name, llmopt_wbuf *w) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    for (int i = 0; i < 64; i++) /* update bytes: a jump from low to high */
        llmopt_wbuf_u8(w, (uint8_t)(i < 32 ? 100 : 200));
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(w->data, 1, w->len, f) != w->len)
        exit(1);
    fclose(f);
    llmopt_wbuf_release(w);
}

int main(int argc, char **argv) {
    if (argc != 2)
        return 2;
    const int points[] = {0, 40, 700, 2500};
    for (size_t pi = 0; pi < sizeof(points) / sizeof(points[0]); pi++) {
        llmopt_adwin_config ac = llmopt_adwin_config_default();
        ac.after = pi % 2 ? LLMOPT_ADWIN_AFTER_RESET : LLMOPT_ADWIN_AFTER_SHRINK;
        ac.scan = pi == 3 ? LLMOPT_ADWIN_SCAN_SKIP_NEWEST : LLMOPT_ADWIN_SCAN_FULL;
        llmopt_ph_config pc = llmopt_ph_config_default();
        llmopt_cusum_config cc = llmopt_cusum_config_default();
        cc.kind = pi % 2 ? LLMOPT_CUSUM_BERNOULLI : LLMOPT_CUSUM_GAUSSIAN;
        llmopt_adwin a;
        llmopt_ph p;
        llmopt_cusum c;
        llmopt_adwin_init(&a, &ac, NULL, 0);
        llmopt_ph_init(&p, &pc, NULL, 0);
        llmopt_cusum_init(&c, &cc, NULL, 0);
        unsigned s = 7;
        for (int i = 0; i < points[pi]; i++) {
            s = s * 1103515245u + 12345u;
            double x = (double)((s >> 16) % 100) / 10.0 + (i > 1000 ? 5.0 : 0.0);
            llmopt_adwin_update(&a, x, NULL);
            llmopt_ph_update(&p, x, NULL);
            llmopt_cusum_update(&c, cc.kind ? (double)((s >> 16) % 10 == 0) : x, NULL);
        }
        char name[64];
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        llmopt_adwin_serialize(&a, &w);
        snprintf(name, sizeof(name), "adwin_%d", points[pi]);
        put(argv[1], name, &w);
        llmopt_ph_serialize(&p, &w);
        snprintf(name, sizeof(name), "ph_%d", points[pi]);
        put(argv[1], name, &w);
        llmopt_cusum_serialize(&c, &w);
        snprintf(name, sizeof(name), "cusum_%d", points[pi]);
        put(argv[1], name, &w);
    }
    return 0;
}
