/* fuzz_checkpoint.c - libFuzzer harness for the changelog side of
 * processor/checkpoint: llmopt_ckpt_collector_add/_finish (messages read
 * back from the changelog topic) and llmopt_ckpt_blob_read (the blob they
 * give). The input is a sequence of changelog messages:
 *     u8 key length | key | u8 flags (bit 0: tombstone, bit 1: NULL key) |
 *     u16 value length (little-endian) | value
 * for partition 1. Any bytes must collect or fail cleanly; a collected blob
 * must hash to its manifest, and a blob that reads must re-write to itself. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "processor/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(1);
    if (!c)
        abort();
    size_t i = 0;
    int64_t off = 0;
    while (i < size) {
        size_t kl = data[i++];
        if (size - i < kl + 3)
            break;
        const uint8_t *key = data + i;
        i += kl;
        uint8_t flags = data[i++];
        size_t vl = (size_t)data[i] | (size_t)data[i + 1] << 8;
        i += 2;
        if (vl > size - i)
            vl = size - i;
        const uint8_t *val = data + i;
        i += vl;
        llmopt_err_t e = llmopt_ckpt_collector_add(c, (flags & 2) ? NULL : key, kl,
                                                   (flags & 1) ? NULL : val, vl, off++, NULL, 0);
        if (e != LLMOPT_OK && e != LLMOPT_ERR_INVALID)
            abort(); /* only NOMEM otherwise, which these sizes cannot cause */
    }
    uint8_t *blob = NULL;
    size_t len = 0;
    int64_t first = -1;
    if (llmopt_ckpt_collector_finish(c, &blob, &len, &first, NULL, 0) == LLMOPT_OK) {
        if (!blob || first < 0 || first >= off)
            abort();
        int32_t p;
        int64_t offs[LLMOPT_CKPT_TOPICS];
        const void *eng;
        size_t elen;
        if (llmopt_ckpt_blob_read(blob, len, &p, offs, &eng, &elen, NULL, 0) == LLMOPT_OK) {
            llmopt_wbuf w;
            llmopt_wbuf_init(&w);
            llmopt_ckpt_blob_write(&w, p, offs, eng, elen);
            if (w.err || w.len != len || memcmp(w.data, blob, len) != 0)
                abort();
            llmopt_wbuf_release(&w);
        }
        free(blob);
    } else if (blob) {
        abort();
    }
    llmopt_ckpt_collector_destroy(c);
    return 0;
}
