/*
 * checkpoint.c - changelog framing of checkpoints (see checkpoint.h).
 */
#include "processor/checkpoint.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

uint64_t llmopt_ckpt_hash(const void *data, size_t len) {
    const uint8_t *p = data;
    uint64_t h = 0xcbf29ce484222325ULL;
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= 0x100000001b3ULL;
    }
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
    llmopt_wbuf_header(w, "PMAN", 1);
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
        llmopt_rbuf_header(&r, "PMAN", 1);
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
    if (llmopt_ckpt_hash(b, total) != c->m_hash) {
        free(b);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "checkpoint of partition '%d' fails its hash check", c->partition);
    }
    *blob = b;
    *len = total;
    *first_offset = c->chunks[0].offset;
    return LLMOPT_OK;
}
