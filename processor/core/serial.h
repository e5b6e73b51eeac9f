/*
 * serial.h - the byte format of checkpointed state (detectors, digests,
 * windows). Pure: works on caller memory, no I/O.
 *
 * Every value is little-endian and fixed-width; doubles are their IEEE-754
 * bit pattern, so state round-trips exactly. A writer grows its own heap
 * buffer; a reader never reads past its end: the first short or bad read sets
 * `err` and every later read returns 0, so a decoder can read a whole record
 * and check `err` once.
 *
 * A state blob starts with a 4-byte tag and a 1-byte version
 * (llmopt_wbuf_header / llmopt_rbuf_header) so a blob of one type is never
 * parsed as another.
 */
#ifndef LLMOPT_SERIAL_H
#define LLMOPT_SERIAL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "common/err.h"

typedef struct llmopt_wbuf {
    uint8_t *data;  /* owned; release with llmopt_wbuf_release() */
    size_t len;
    size_t cap;
    int err;        /* LLMOPT_ERR_NOMEM once an allocation failed */
} llmopt_wbuf;

void llmopt_wbuf_init(llmopt_wbuf *w);
void llmopt_wbuf_release(llmopt_wbuf *w);
/* Hand the bytes to the caller (free() them); the writer is left empty. */
uint8_t *llmopt_wbuf_detach(llmopt_wbuf *w, size_t *len);
/* Out-of-line path of llmopt_wbuf_bytes: grows the buffer. */
void llmopt_wbuf_bytes_slow(llmopt_wbuf *w, const void *p, size_t n);

/* The writers are inline: checkpoints of millions of fields spend their
 * time here, and the common case is one bounds check and one store. */
static inline void llmopt_wbuf_bytes(llmopt_wbuf *w, const void *p, size_t n) {
    if (!w->err && w->cap - w->len >= n) {
        if (n)
            memcpy(w->data + w->len, p, n);
        w->len += n;
    } else {
        llmopt_wbuf_bytes_slow(w, p, n);
    }
}

static inline void llmopt_wbuf_u8(llmopt_wbuf *w, uint8_t v) {
    llmopt_wbuf_bytes(w, &v, 1);
}

static inline void llmopt_wbuf_u32(llmopt_wbuf *w, uint32_t v) {
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    llmopt_wbuf_bytes(w, b, 4);
}

static inline void llmopt_wbuf_u64(llmopt_wbuf *w, uint64_t v) {
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    llmopt_wbuf_bytes(w, b, 8);
}

static inline void llmopt_wbuf_i64(llmopt_wbuf *w, int64_t v) {
    llmopt_wbuf_u64(w, (uint64_t)v);
}

static inline void llmopt_wbuf_f64(llmopt_wbuf *w, double v) {
    uint64_t bits;
    memcpy(&bits, &v, sizeof(bits));
    llmopt_wbuf_u64(w, bits);
}

void llmopt_wbuf_header(llmopt_wbuf *w, const char tag[4], uint8_t version);

typedef struct llmopt_rbuf {
    const uint8_t *p;
    size_t left;
    int err;        /* LLMOPT_ERR_TRUNCATED or LLMOPT_ERR_INVALID once a read failed */
} llmopt_rbuf;

void llmopt_rbuf_init(llmopt_rbuf *r, const void *data, size_t len);
/* Out-of-line path of llmopt_rbuf_bytes: records the error. */
int llmopt_rbuf_fail(llmopt_rbuf *r);

static inline int llmopt_rbuf_bytes(llmopt_rbuf *r, void *out, size_t n) {
    if (r->err || r->left < n)
        return llmopt_rbuf_fail(r);
    if (n)
        memcpy(out, r->p, n);
    r->p += n;
    r->left -= n;
    return 1;
}

static inline uint8_t llmopt_rbuf_u8(llmopt_rbuf *r) {
    uint8_t v = 0;
    return llmopt_rbuf_bytes(r, &v, 1) ? v : 0;
}

static inline uint32_t llmopt_rbuf_u32(llmopt_rbuf *r) {
    uint8_t b[4] = {0};
    if (!llmopt_rbuf_bytes(r, b, 4))
        return 0;
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

static inline uint64_t llmopt_rbuf_u64(llmopt_rbuf *r) {
    uint8_t b[8] = {0};
    if (!llmopt_rbuf_bytes(r, b, 8))
        return 0;
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = (v << 8) | b[i];
    return v;
}

static inline int64_t llmopt_rbuf_i64(llmopt_rbuf *r) {
    return (int64_t)llmopt_rbuf_u64(r);
}

static inline double llmopt_rbuf_f64(llmopt_rbuf *r) {
    uint64_t bits = llmopt_rbuf_u64(r);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}
/* Checks tag and version; returns the version read, or sets err (INVALID for
 * a wrong tag, VERSION... reported as INVALID) and returns 0 when the tag
 * differs or the version is above max_version. */
uint8_t llmopt_rbuf_header(llmopt_rbuf *r, const char tag[4], uint8_t max_version);
/* A count about to drive an allocation: fails (INVALID) when it is larger
 * than max, or when each element needs at least min_elem_bytes and fewer
 * bytes than that are left, so hostile input cannot make us allocate much. */
uint32_t llmopt_rbuf_count(llmopt_rbuf *r, uint32_t max, size_t min_elem_bytes);

#endif
