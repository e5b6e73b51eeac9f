/* fuzz_engine_state.c - libFuzzer harness for llmopt_engine_load, the
 * decoder of processor checkpoints read back from the changelog topic. Any
 * bytes must load or fail cleanly; a loaded engine must save canonically
 * (save(load(x)) loads again to the same bytes) and keep working. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/engine.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_outcome(void *ctx, const llmopt_outcome *o) {}
static void on_metrics(void *ctx, const llmopt_window_metrics *m) {}
static void on_signal(void *ctx, const llmopt_signal *s) {}
static void on_dlq(void *ctx, const llmopt_engine_src *src, llmopt_dlq_reason r, const char *d) {}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static llmopt_engine_config cfg;
    static int init;
    if (!init) {
        llmopt_engine_config_default(&cfg);
        init = 1;
    }
    llmopt_engine_sink sink = {on_outcome, on_metrics, on_signal, on_dlq, NULL};
    llmopt_engine *e = llmopt_engine_new(&cfg, &sink, 0, NULL, 0);
    if (!e)
        abort();
    if (llmopt_engine_load(e, data, size, NULL, 0) == LLMOPT_OK) {
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        llmopt_engine_save(e, &w);
        if (!w.err) {
            llmopt_engine *f = llmopt_engine_new(&cfg, &sink, 0, NULL, 0);
            if (llmopt_engine_load(f, w.data, w.len, NULL, 0) != LLMOPT_OK)
                abort();
            llmopt_wbuf w2;
            llmopt_wbuf_init(&w2);
            llmopt_engine_save(f, &w2);
            if (w2.len != w.len || memcmp(w2.data, w.data, w.len) != 0)
                abort();
            llmopt_wbuf_release(&w2);
            llmopt_engine_destroy(f);
        }
        llmopt_wbuf_release(&w);
        llmopt_engine_flush(e);
    }
    llmopt_engine_destroy(e);
    return 0;
}
