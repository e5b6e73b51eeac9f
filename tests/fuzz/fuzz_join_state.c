/* fuzz_join_state.c - libFuzzer harness for llmopt_join_deserialize: any
 * byte string must either restore a table or fail cleanly, with no leak and
 * no out-of-bounds read; a restored table must serialise back to the same
 * bytes it was read from (modulo trailing input). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/join.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void on_expire(void *opaque, const void *key, size_t keylen, int64_t ts,
                      void *payload, llmopt_join_reason reason) {
    free(payload);
}

static void wp(void *opaque, llmopt_wbuf *w, const void *payload) {
    llmopt_wbuf_u32(w, *(const uint32_t *)payload);
}

static void *rp(void *opaque, llmopt_rbuf *r, size_t *bytes) {
    uint32_t v = llmopt_rbuf_u32(r);
    if (r->err)
        return NULL;
    uint32_t *p = malloc(sizeof(*p));
    *p = v;
    *bytes = sizeof(*p);
    return p;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llmopt_join_config c = {.ttl_ms = 1000, .max_bytes = 0, .on_expire = on_expire,
                            .free_payload = free};
    llmopt_join *j = llmopt_join_new(&c);
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, size);
    if (llmopt_join_deserialize(j, &r, rp, NULL) == LLMOPT_OK) {
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        llmopt_join_serialize(j, &w, wp, NULL);
        size_t used = size - r.left;
        /* entries may be re-ordered into expiry order, so compare lengths */
        if (w.err == 0 && w.len != used)
            abort();
        llmopt_wbuf_release(&w);
        llmopt_join_expire(j, INT64_MAX);
    }
    llmopt_join_destroy(j);
    return 0;
}
