/*
 * checkpoint.c - changelog framing of checkpoints (see checkpoint.h).
 */
#include "processor/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t llmopt_ckpt_hash_fnv1a(const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* XXH64 (seed 0), as specified by the xxHash project: four independent
 * 64-bit lanes over 32-byte stripes, so ~8 bytes per multiply with no
 * dependency between lanes (the byte-at-a-time FNV-1a above needs one
 * dependent multiply per byte: ~1 GB/s against ~10). Little-endian reads
 * through memcpy (any alignment). */
#define XXP1 0x9E3779B185EBCA87ULL
#define XXP2 0xC2B2AE3D27D4EB4FULL
#define XXP3 0x165667B19E3779F9ULL
#define XXP4 0x85EBCA77C2B2AE63ULL
#define XXP5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }

static inline uint64_t rd64(const uint8_t *p) {
    uint64_t v;
    memcpy(&v, p, 8);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap64(v);
#endif
    return v;
}

static inline uint32_t rd32(const uint8_t *p) {
    uint32_t v;
    memcpy(&v, p, 4);
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    v = __builtin_bswap32(v);
#endif
    return v;
}

static inline uint64_t xx_round(uint64_t acc, uint64_t in) {
    acc += in * XXP2;
    acc = rotl64(acc, 31);
    return acc * XXP1;
}

static inline uint64_t xx_merge(uint64_t h, uint64_t v) {
    h ^= xx_round(0, v);
    return h * XXP1 + XXP4;
}

uint64_t llmopt_ckpt_hash(const void *data, size_t len) {
    const uint8_t *p = data, *end = p + len;
    uint64_t h;
    if (len >= 32) {
        uint64_t v1 = XXP1 + XXP2, v2 = XXP2, v3 = 0, v4 = 0 - XXP1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xx_round(v1, rd64(p));
            v2 = xx_round(v2, rd64(p + 8));
            v3 = xx_round(v3, rd64(p + 16));
            v4 = xx_round(v4, rd64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xx_merge(h, v1);
        h = xx_merge(h, v2);
        h = xx_merge(h, v3);
        h = xx_merge(h, v4);
    } else {
        h = XXP5;
    }
    h += (uint64_t)len;
    while (end - p >= 8) {
        h ^= xx_round(0, rd64(p));
        h = rotl64(h, 27) * XXP1 + XXP4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= (uint64_t)rd32(p) * XXP1;
        h = rotl64(h, 23) * XXP2 + XXP3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)(*p++) * XXP5;
        h = rotl64(h, 11) * XXP1;
    }
    h ^= h >> 33;
    h *= XXP2;
    h ^= h >> 29;
    h *= XXP3;
    h ^= h >> 32;
    return h;
}

void llmopt_ckpt_blob_write(llmopt_wbuf *w, int32_t partition,
                            const int64_t offsets[LLMOPT_CKPT_TOPICS], const void *engine,
                            size_t engine_len) {
    llmopt_wbuf_header(w, "PCKP", 1);
    llmopt_wbuf_u32(w, (uint32_t)partition);
    llmopt_wbuf_u32(w, LLMOPT_CKPT_TOPICS);
    for (int i = 0; i < LLMOPT_CKPT_TOPICS; i++)
        llmopt_wbuf_i64(w, offsets[i]);
    llmopt_wbuf_u64(w, engine_len);
    llmopt_wbuf_bytes(w, engine, engine_len);
}

size_t llmopt_ckpt_blob_begin(llmopt_wbuf *w, int32_t partition,
                              const int64_t offsets[LLMOPT_CKPT_TOPICS]) {
    llmopt_wbuf_header(w, "PCKP", 1);
    llmopt_wbuf_u32(w, (uint32_t)partition);
    llmopt_wbuf_u32(w, LLMOPT_CKPT_TOPICS);
    for (int i = 0; i < LLMOPT_CKPT_TOPICS; i++)
        llmopt_wbuf_i64(w, offsets[i]);
    size_t at = w->len;
    llmopt_wbuf_u64(w, 0);
    return at;
}

void llmopt_ckpt_blob_end(llmopt_wbuf *w, size_t at) {
    if (w->err || at + 8 > w->len)
        return;
    uint64_t n = (uint64_t)(w->len - at - 8);
    for (int i = 0; i < 8; i++)
        w->data[at + (size_t)i] = (uint8_t)(n >> (8 * i));
}

llmopt_err_t llmopt_ckpt_blob_read(const void *data, size_t len, int32_t *partition,
                                   int64_t offsets[LLMOPT_CKPT_TOPICS], const void **engine,
                                   size_t *engine_len, char *errstr, size_t errstr_size) {
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    llmopt_rbuf_header(&r, "PCKP", 1);
    uint32_t p = llmopt_rbuf_u32(&r);
    uint32_t n = llmopt_rbuf_u32(&r);
    if (r.err || n != LLMOPT_CKPT_TOPICS)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint header is not a version-1 processor checkpoint");
    for (int i = 0; i < LLMOPT_CKPT_TOPICS; i++)
        offsets[i] = llmopt_rbuf_i64(&r);
    uint64_t elen = llmopt_rbuf_u64(&r);
    if (r.err || elen != r.left)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint of partition '%u' says %" PRIu64
                           " engine bytes but holds %zu",
                           p, elen, r.left);
    *partition = (int32_t)p;
    *engine = r.p;
    *engine_len = (size_t)elen;
    return LLMOPT_OK;
}

void llmopt_ckpt_manifest_write(llmopt_wbuf *w, int32_t partition, uint32_t nchunks,
                                const void *blob, size_t blob_len) {
    llmopt_wbuf_header(w, "PMAN", 2);
    llmopt_wbuf_u32(w, (uint32_t)partition);
    llmopt_wbuf_u32(w, nchunks);
    llmopt_wbuf_u64(w, blob_len);
    llmopt_wbuf_u64(w, llmopt_ckpt_hash(blob, blob_len));
}

size_t llmopt_ckpt_manifest_key(char *buf, size_t size, int32_t partition) {
    int n = snprintf(buf, size, "%" PRId32, partition);
    return n < 0 ? 0 : (size_t)n;
}

size_t llmopt_ckpt_chunk_key(char *buf, size_t size, int32_t partition, uint32_t index) {
    int n = snprintf(buf, size, "%" PRId32 "#%" PRIu32, partition, index);
    return n < 0 ? 0 : (size_t)n;
}

uint32_t llmopt_ckpt_nchunks(size_t len, size_t chunk_bytes) {
    size_t n = (len + chunk_bytes - 1) / chunk_bytes;
    return n ? (uint32_t)n : 1;
}

/* ---- collector ---- */

typedef struct chunk {
    uint8_t *data;
    size_t len;
    int64_t offset;
    int present;
} chunk;

struct llmopt_ckpt_collector {
    int32_t partition;
    char mkey[24];
    size_t mkey_len;
    chunk *chunks;
    size_t nchunks_cap;
    int has_manifest;
    uint32_t m_nchunks;
    uint8_t m_version; /* 1: FNV-1a, 2: XXH64 */
    uint64_t m_len, m_hash;
};

llmopt_ckpt_collector *llmopt_ckpt_collector_new(int32_t partition) {
    llmopt_ckpt_collector *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->partition = partition;
    c->mkey_len = llmopt_ckpt_manifest_key(c->mkey, sizeof(c->mkey), partition);
    return c;
}

void llmopt_ckpt_collector_destroy(llmopt_ckpt_collector *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->nchunks_cap; i++)
        free(c->chunks[i].data);
    free(c->chunks);
    free(c);
}

/* The most chunks a manifest may list; a chunk key beyond it is foreign. */
#define MAX_CHUNKS 1000000

/* Index of a chunk key "<p>#<i>" of this partition (i < MAX_CHUNKS), or -1:
 * the collector's chunk table grows to the largest index seen, so an index
 * no manifest can list must not make it grow. */
static int64_t chunk_index(const llmopt_ckpt_collector *c, const char *k, size_t n) {
    if (n <= c->mkey_len + 1 || memcmp(k, c->mkey, c->mkey_len) || k[c->mkey_len] != '#')
        return -1;
    uint64_t v = 0;
    for (size_t i = c->mkey_len + 1; i < n; i++) {
        if (k[i] < '0' || k[i] > '9')
            return -1;
        v = v * 10 + (uint64_t)(k[i] - '0');
        if (v >= MAX_CHUNKS)
            return -1;
    }
    return (int64_t)v;
}

llmopt_err_t llmopt_ckpt_collector_add(llmopt_ckpt_collector *c, const void *key,
                                       size_t key_len, const void *value, size_t value_len,
                                       int64_t offset, char *errstr, size_t errstr_size) {
    const char *k = key;
    if (!k)
        return LLMOPT_OK;
    if (key_len == c->mkey_len && !memcmp(k, c->mkey, key_len)) {
        if (!value) {
            c->has_manifest = 0;
            return LLMOPT_OK;
        }
        llmopt_rbuf r;
        llmopt_rbuf_init(&r, value, value_len);
        uint8_t ver = llmopt_rbuf_header(&r, "PMAN", 2);
        uint32_t p = llmopt_rbuf_u32(&r);
        uint32_t n = llmopt_rbuf_u32(&r);
        uint64_t len = llmopt_rbuf_u64(&r);
        uint64_t hash = llmopt_rbuf_u64(&r);
        if (r.err || r.left || (int32_t)p != c->partition || n == 0 || n > MAX_CHUNKS)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "malformed checkpoint manifest for partition '%d' at offset "
                               "'%" PRId64 "'",
                               c->partition, offset);
        c->has_manifest = 1;
        c->m_version = ver;
        c->m_nchunks = n;
        c->m_len = len;
        c->m_hash = hash;
        return LLMOPT_OK;
    }
    int64_t idx = chunk_index(c, k, key_len);
    if (idx < 0)
        return LLMOPT_OK;
    if ((size_t)idx >= c->nchunks_cap) {
        size_t ncap = (size_t)idx + 1;
        chunk *nc = realloc(c->chunks, ncap * sizeof(*nc));
        if (!nc)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        memset(nc + c->nchunks_cap, 0, (ncap - c->nchunks_cap) * sizeof(*nc));
        c->chunks = nc;
        c->nchunks_cap = ncap;
    }
    chunk *ch = &c->chunks[idx];
    free(ch->data);
    ch->data = NULL;
    ch->len = 0;
    ch->present = 0;
    if (!value)
        return LLMOPT_OK;
    ch->data = malloc(value_len ? value_len : 1);
    if (!ch->data)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    memcpy(ch->data, value, value_len);
    ch->len = value_len;
    ch->offset = offset;
    ch->present = 1;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_ckpt_collector_finish(llmopt_ckpt_collector *c, uint8_t **blob, size_t *len,
                                          int64_t *first_offset, char *errstr,
                                          size_t errstr_size) {
    *blob = NULL;
    *len = 0;
    if (!c->has_manifest)
        return LLMOPT_ERR_UNKNOWN;
    if (c->m_nchunks > c->nchunks_cap)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint of partition '%d' lists %u chunks, %zu found",
                           c->partition, c->m_nchunks, c->nchunks_cap);
    size_t total = 0;
    for (uint32_t i = 0; i < c->m_nchunks; i++) {
        if (!c->chunks[i].present)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "checkpoint of partition '%d' misses chunk '%u'", c->partition, i);
        total += c->chunks[i].len;
    }
    if (total != c->m_len)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint of partition '%d' has %zu bytes, manifest says %" PRIu64,
                           c->partition, total, c->m_len);
    uint8_t *b = malloc(total ? total : 1);
    if (!b)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    size_t at = 0;
    for (uint32_t i = 0; i < c->m_nchunks; i++) {
        memcpy(b + at, c->chunks[i].data, c->chunks[i].len);
        at += c->chunks[i].len;
    }
    uint64_t h = c->m_version == 1 ? llmopt_ckpt_hash_fnv1a(b, total) : llmopt_ckpt_hash(b, total);
    if (h != c->m_hash) {
        free(b);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint of partition '%d' fails its hash check", c->partition);
    }
    *blob = b;
    *len = total;
    *first_offset = c->chunks[0].offset;
    return LLMOPT_OK;
}
