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
void llmopt_wbuf_bytes(llmopt_wbuf *w, const void *p, size_t n);
void llmopt_wbuf_u8(llmopt_wbuf *w, uint8_t v);
void llmopt_wbuf_u32(llmopt_wbuf *w, uint32_t v);
void llmopt_wbuf_u64(llmopt_wbuf *w, uint64_t v);
void llmopt_wbuf_i64(llmopt_wbuf *w, int64_t v);
void llmopt_wbuf_f64(llmopt_wbuf *w, double v);
void llmopt_wbuf_header(llmopt_wbuf *w, const char tag[4], uint8_t version);

typedef struct llmopt_rbuf {
    const uint8_t *p;
    size_t left;
    int err;        /* LLMOPT_ERR_TRUNCATED or LLMOPT_ERR_INVALID once a read failed */
} llmopt_rbuf;

void llmopt_rbuf_init(llmopt_rbuf *r, const void *data, size_t len);
int llmopt_rbuf_bytes(llmopt_rbuf *r, void *out, size_t n);
uint8_t llmopt_rbuf_u8(llmopt_rbuf *r);
uint32_t llmopt_rbuf_u32(llmopt_rbuf *r);
uint64_t llmopt_rbuf_u64(llmopt_rbuf *r);
int64_t llmopt_rbuf_i64(llmopt_rbuf *r);
double llmopt_rbuf_f64(llmopt_rbuf *r);
/* Checks tag and version; returns the version read, or sets err (INVALID for
 * a wrong tag, VERSION... reported as INVALID) and returns 0 when the tag
 * differs or the version is above max_version. */
uint8_t llmopt_rbuf_header(llmopt_rbuf *r, const char tag[4], uint8_t max_version);
/* A count about to drive an allocation: fails (INVALID) when it is larger
 * than max, or when each element needs at least min_elem_bytes and fewer
 * bytes than that are left, so hostile input cannot make us allocate much. */
uint32_t llmopt_rbuf_count(llmopt_rbuf *r, uint32_t max, size_t min_elem_bytes);

#endif
