/*
 * sha256.h - SHA-256 (FIPS 180-4) over memory buffers.
 *
 * Used for migration checksums, where the digest of a file's exact bytes
 * proves the file has not changed since it was applied. Not constant time;
 * do not use it for secrets.
 *
 * The context is a plain struct owned by the caller (no heap): _init, any
 * number of _update calls, then _final, which leaves the context unusable
 * until the next _init.
 */
#ifndef LLMOPT_SHA256_H
#define LLMOPT_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define LLMOPT_SHA256_LEN 32                         /* digest bytes */
#define LLMOPT_SHA256_HEX_LEN (2 * LLMOPT_SHA256_LEN) /* hex chars, no NUL */

typedef struct llmopt_sha256 {
    uint32_t h[8];
    uint64_t total_bytes; /* message length so far */
    uint8_t buf[64];      /* partial block */
    size_t buf_len;       /* bytes used in buf, < 64 */
} llmopt_sha256;

void llmopt_sha256_init(llmopt_sha256 *ctx);
/* Feeds len bytes; data may be NULL when len is 0. */
void llmopt_sha256_update(llmopt_sha256 *ctx, const void *data, size_t len);
/* Writes the 32-byte digest. */
void llmopt_sha256_final(llmopt_sha256 *ctx, uint8_t out[LLMOPT_SHA256_LEN]);

/* One-shot digest of a buffer as 64 lowercase hex chars plus a NUL;
 * hex must hold LLMOPT_SHA256_HEX_LEN + 1 bytes. */
void llmopt_sha256_hex(const void *data, size_t len,
                       char hex[LLMOPT_SHA256_HEX_LEN + 1]);

#endif
