/*
 * serial.c - little-endian, bounds-checked state encoding (see serial.h).
 */
#include "processor/core/serial.h"

#include <stdlib.h>
#include <string.h>

void llmopt_wbuf_init(llmopt_wbuf *w) {
    memset(w, 0, sizeof(*w));
}

void llmopt_wbuf_release(llmopt_wbuf *w) {
    free(w->data);
    llmopt_wbuf_init(w);
}

uint8_t *llmopt_wbuf_detach(llmopt_wbuf *w, size_t *len) {
    uint8_t *d = w->data;
    if (len)
        *len = w->len;
    llmopt_wbuf_init(w);
    return d;
}

static int wbuf_reserve(llmopt_wbuf *w, size_t n) {
    if (w->err)
        return 0;
    if (w->cap - w->len >= n)
        return 1;
    size_t cap = w->cap ? w->cap : 64;
    while (cap - w->len < n) {
        if (cap > SIZE_MAX / 2) {
            w->err = LLMOPT_ERR_NOMEM;
            return 0;
        }
        cap *= 2;
    }
    uint8_t *d = realloc(w->data, cap);
    if (!d) {
        w->err = LLMOPT_ERR_NOMEM;
        return 0;
    }
    w->data = d;
    w->cap = cap;
    return 1;
}

void llmopt_wbuf_bytes_slow(llmopt_wbuf *w, const void *p, size_t n) {
    if (n == 0 || !wbuf_reserve(w, n))
        return;
    memcpy(w->data + w->len, p, n);
    w->len += n;
}

void llmopt_wbuf_header(llmopt_wbuf *w, const char tag[4], uint8_t version) {
    llmopt_wbuf_bytes(w, tag, 4);
    llmopt_wbuf_u8(w, version);
}

void llmopt_rbuf_init(llmopt_rbuf *r, const void *data, size_t len) {
    r->p = data;
    r->left = data ? len : 0;
    r->err = 0;
}

int llmopt_rbuf_fail(llmopt_rbuf *r) {
    if (!r->err)
        r->err = LLMOPT_ERR_TRUNCATED;
    r->left = 0;
    return 0;
}

uint8_t llmopt_rbuf_header(llmopt_rbuf *r, const char tag[4], uint8_t max_version) {
    char t[4];
    if (!llmopt_rbuf_bytes(r, t, 4))
        return 0;
    uint8_t v = llmopt_rbuf_u8(r);
    if (r->err)
        return 0;
    if (memcmp(t, tag, 4) != 0 || v == 0 || v > max_version) {
        r->err = LLMOPT_ERR_INVALID;
        return 0;
    }
    return v;
}

uint32_t llmopt_rbuf_count(llmopt_rbuf *r, uint32_t max, size_t min_elem_bytes) {
    uint32_t n = llmopt_rbuf_u32(r);
    if (r->err)
        return 0;
    if (n > max || (min_elem_bytes && (size_t)n > r->left / min_elem_bytes)) {
        r->err = LLMOPT_ERR_INVALID;
        return 0;
    }
    return n;
}
