/* test_checkpoint.c - CUnit suite for processor/checkpoint: the checkpoint
 * blob and its chunked framing on the changelog. Round trips through the
 * collector (with foreign keys, tombstones, stale chunks of an older and
 * longer checkpoint), and every corruption the collector and the blob
 * reader must refuse. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/checkpoint.h"

static void make_engine_bytes(uint8_t *b, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)((i * 131u + seed * 7u) ^ (i >> 5));
}

/* Writes a blob for partition p and feeds it to c as chunks of cb bytes
 * plus its manifest, at changelog offsets from *off on. */
static void feed_checkpoint(llmopt_ckpt_collector *c, int32_t p, const llmopt_wbuf *blob,
                            size_t cb, int64_t *off) {
    uint32_t n = llmopt_ckpt_nchunks(blob->len, cb);
    char key[40];
    for (uint32_t i = 0; i < n; i++) {
        size_t at = (size_t)i * cb, len = blob->len - at < cb ? blob->len - at : cb;
        size_t kl = llmopt_ckpt_chunk_key(key, sizeof(key), p, i);
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, blob->data + at, len, (*off)++,
                                                  NULL, 0),
                        LLMOPT_OK);
    }
    llmopt_wbuf m;
    llmopt_wbuf_init(&m);
    llmopt_ckpt_manifest_write(&m, p, n, blob->data, blob->len);
    size_t kl = llmopt_ckpt_manifest_key(key, sizeof(key), p);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, m.data, m.len, (*off)++, NULL, 0),
                    LLMOPT_OK);
    llmopt_wbuf_release(&m);
}

static void test_keys_and_counts(void) {
    char k[40];
    CU_ASSERT_EQUAL(llmopt_ckpt_manifest_key(k, sizeof(k), 3), 1);
    CU_ASSERT_STRING_EQUAL(k, "3");
    CU_ASSERT_EQUAL(llmopt_ckpt_chunk_key(k, sizeof(k), 12, 40), 5);
    CU_ASSERT_STRING_EQUAL(k, "12#40");
    CU_ASSERT_EQUAL(llmopt_ckpt_nchunks(0, 512), 1);
    CU_ASSERT_EQUAL(llmopt_ckpt_nchunks(512, 512), 1);
    CU_ASSERT_EQUAL(llmopt_ckpt_nchunks(513, 512), 2);
    CU_ASSERT_EQUAL(llmopt_ckpt_nchunks(1025, 512), 3);
    /* FNV-1a 64 of "a" (the version-1 manifest's hash) */
    CU_ASSERT_EQUAL(llmopt_ckpt_hash_fnv1a("a", 1), 0xaf63dc4c8601ec8cULL);
}

/* XXH64 (seed 0) against the reference implementation (libxxhash 0.8.1,
 * XXH64(buf, len, 0)) at every tail length and across the 32-byte stripe
 * boundary, over bytes b[i] of the LCG s = s * 1103515245 + 12345 (32-bit,
 * s0 = 12345), b[i] = s >> 16 & 0xff. */
static void test_xxh64_known_answers(void) {
    uint8_t b[300];
    uint32_t s = 12345;
    for (int i = 0; i < 300; i++) {
        s = s * 1103515245u + 12345u;
        b[i] = (uint8_t)(s >> 16);
    }
    static const struct {
        size_t len;
        uint64_t h;
    } kat[] = {
#include "test_checkpoint_xxh64.inc"
    };
    for (size_t i = 0; i < sizeof(kat) / sizeof(kat[0]); i++) {
        if (llmopt_ckpt_hash(b, kat[i].len) != kat[i].h)
            fprintf(stderr, "xxh64 of %zu bytes differs\n", kat[i].len);
        CU_ASSERT_EQUAL(llmopt_ckpt_hash(b, kat[i].len), kat[i].h);
    }
    CU_ASSERT_EQUAL(llmopt_ckpt_hash("", 0), 0xef46db3751d8e999ULL);
    CU_ASSERT_EQUAL(llmopt_ckpt_hash("a", 1), 0xd24ec4f1a98c6e5bULL);
    CU_ASSERT_EQUAL(llmopt_ckpt_hash("abc", 3), 0x44bc2cf5ad770999ULL);
    /* unaligned input gives the same hash */
    uint8_t u[301];
    memcpy(u + 1, b, 300);
    CU_ASSERT_EQUAL(llmopt_ckpt_hash(u + 1, 300), llmopt_ckpt_hash(b, 300));
}

/* A changelog written by an older build (version-1 manifests, FNV-1a) still
 * restores; a version-1 manifest carrying another hash is refused. */
static void test_collector_reads_v1_manifest(void) {
    uint8_t eng[2500];
    make_engine_bytes(eng, sizeof(eng), 5);
    int64_t offs[LLMOPT_CKPT_TOPICS] = {4, 5, -1};
    llmopt_wbuf blob;
    llmopt_wbuf_init(&blob);
    llmopt_ckpt_blob_write(&blob, 2, offs, eng, sizeof(eng));
    for (int bad = 0; bad < 2; bad++) {
        llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(2);
        char key[40];
        int64_t off = 10;
        uint32_t n = llmopt_ckpt_nchunks(blob.len, 1000);
        for (uint32_t i = 0; i < n; i++) {
            size_t at = (size_t)i * 1000, len = blob.len - at < 1000 ? blob.len - at : 1000;
            size_t kl = llmopt_ckpt_chunk_key(key, sizeof(key), 2, i);
            CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, blob.data + at, len, off++,
                                                      NULL, 0),
                            LLMOPT_OK);
        }
        /* the version-1 layout, written by hand */
        llmopt_wbuf m;
        llmopt_wbuf_init(&m);
        llmopt_wbuf_header(&m, "PMAN", 1);
        llmopt_wbuf_u32(&m, 2);
        llmopt_wbuf_u32(&m, n);
        llmopt_wbuf_u64(&m, blob.len);
        llmopt_wbuf_u64(&m, bad ? llmopt_ckpt_hash(blob.data, blob.len)
                                : llmopt_ckpt_hash_fnv1a(blob.data, blob.len));
        size_t kl = llmopt_ckpt_manifest_key(key, sizeof(key), 2);
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, m.data, m.len, off++, NULL, 0),
                        LLMOPT_OK);
        llmopt_wbuf_release(&m);
        uint8_t *out = NULL;
        size_t len = 0;
        int64_t fo = -1;
        char err[256] = "";
        llmopt_err_t e = llmopt_ckpt_collector_finish(c, &out, &len, &fo, err, sizeof(err));
        if (!bad) {
            CU_ASSERT_EQUAL(e, LLMOPT_OK);
            CU_ASSERT_EQUAL(len, blob.len);
            CU_ASSERT_EQUAL(fo, 10);
            CU_ASSERT(out && !memcmp(out, blob.data, blob.len));
        } else {
            CU_ASSERT_EQUAL(e, LLMOPT_ERR_INVALID);
            CU_ASSERT(strstr(err, "hash") != NULL);
        }
        free(out);
        llmopt_ckpt_collector_destroy(c);
    }
    /* a manifest version above 2 is malformed */
    llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(2);
    llmopt_wbuf m;
    llmopt_wbuf_init(&m);
    llmopt_ckpt_manifest_write(&m, 2, 3, blob.data, blob.len);
    CU_ASSERT_EQUAL(m.data[4], 2);
    m.data[4] = 3;
    char key[40], err[256] = "";
    size_t kl = llmopt_ckpt_manifest_key(key, sizeof(key), 2);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, m.data, m.len, 1, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT(strstr(err, "malformed checkpoint manifest") != NULL);
    llmopt_wbuf_release(&m);
    llmopt_ckpt_collector_destroy(c);
    llmopt_wbuf_release(&blob);
}

static void test_blob_roundtrip_and_rejects(void) {
    uint8_t eng[300];
    make_engine_bytes(eng, sizeof(eng), 1);
    int64_t offs[LLMOPT_CKPT_TOPICS] = {10, -1, 99};
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_ckpt_blob_write(&w, 7, offs, eng, sizeof(eng));
    CU_ASSERT_EQUAL_FATAL(w.err, 0);
    int32_t p = -1;
    int64_t got[LLMOPT_CKPT_TOPICS];
    const void *e = NULL;
    size_t elen = 0;
    char err[256];
    CU_ASSERT_EQUAL(llmopt_ckpt_blob_read(w.data, w.len, &p, got, &e, &elen, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(p, 7);
    CU_ASSERT(got[0] == 10 && got[1] == -1 && got[2] == 99);
    CU_ASSERT_EQUAL(elen, sizeof(eng));
    CU_ASSERT(e && memcmp(e, eng, sizeof(eng)) == 0);
    /* written in place: the same bytes */
    llmopt_wbuf w2;
    llmopt_wbuf_init(&w2);
    size_t at = llmopt_ckpt_blob_begin(&w2, 7, offs);
    llmopt_wbuf_bytes(&w2, eng, sizeof(eng));
    llmopt_ckpt_blob_end(&w2, at);
    CU_ASSERT(w2.len == w.len && memcmp(w2.data, w.data, w.len) == 0);
    llmopt_wbuf_release(&w2);
    /* every truncation is refused */
    for (size_t n = 0; n < w.len; n++)
        CU_ASSERT_EQUAL(llmopt_ckpt_blob_read(w.data, n, &p, got, &e, &elen, NULL, 0),
                        LLMOPT_ERR_INVALID);
    /* a trailing byte too */
    uint8_t *longer = malloc(w.len + 1);
    memcpy(longer, w.data, w.len);
    longer[w.len] = 0;
    CU_ASSERT_EQUAL(llmopt_ckpt_blob_read(longer, w.len + 1, &p, got, &e, &elen, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT(strstr(err, "engine bytes") != NULL);
    free(longer);
    /* wrong tag, wrong version, wrong topic count */
    uint8_t *bad = malloc(w.len);
    for (int which = 0; which < 3; which++) {
        memcpy(bad, w.data, w.len);
        if (which == 0)
            bad[0] ^= 0x20;          /* "PCKP" -> "pCKP" */
        else if (which == 1)
            bad[4] = 2;              /* version byte after the tag */
        else
            bad[4 + 1 + 4] = 4;      /* topic count */
        CU_ASSERT_EQUAL(llmopt_ckpt_blob_read(bad, w.len, &p, got, &e, &elen, NULL, 0),
                        LLMOPT_ERR_INVALID);
    }
    free(bad);
    llmopt_wbuf_release(&w);
}

static void test_collector_roundtrip(void) {
    size_t sizes[] = {1, 999, 1000, 1001, 2500, 10000};
    for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
        uint8_t *eng = malloc(sizes[s]);
        make_engine_bytes(eng, sizes[s], (unsigned)s);
        int64_t offs[LLMOPT_CKPT_TOPICS] = {1, 2, 3};
        llmopt_wbuf blob;
        llmopt_wbuf_init(&blob);
        llmopt_ckpt_blob_write(&blob, 1, offs, eng, sizes[s]);
        llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(1);
        CU_ASSERT_PTR_NOT_NULL_FATAL(c);
        int64_t off = 100;
        /* noise: another partition's keys, a NULL key, a non-numeric index,
         * a chunk index no manifest may list */
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, "11#0", 4, "zz", 2, off++, NULL, 0), LLMOPT_OK);
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, "11", 2, "zz", 2, off++, NULL, 0), LLMOPT_OK);
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, NULL, 0, "zz", 2, off++, NULL, 0), LLMOPT_OK);
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, "1#x", 3, "zz", 2, off++, NULL, 0), LLMOPT_OK);
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, "1#99999999999", 13, "zz", 2, off++, NULL, 0),
                        LLMOPT_OK);
        int64_t first = off;
        feed_checkpoint(c, 1, &blob, 1000, &off);
        uint8_t *out = NULL;
        size_t len = 0;
        int64_t fo = -1;
        char err[256];
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_finish(c, &out, &len, &fo, err, sizeof(err)), LLMOPT_OK);
        CU_ASSERT_EQUAL(len, blob.len);
        CU_ASSERT(out && len == blob.len && memcmp(out, blob.data, len) == 0);
        CU_ASSERT_EQUAL(fo, first);
        free(out);
        llmopt_ckpt_collector_destroy(c);
        llmopt_wbuf_release(&blob);
        free(eng);
    }
}

/* A newer, shorter checkpoint after an older one with more chunks: the
 * stale high chunks are ignored, the newest manifest wins. */
static void test_collector_newer_shorter(void) {
    uint8_t old_eng[5000], new_eng[1500];
    make_engine_bytes(old_eng, sizeof(old_eng), 3);
    make_engine_bytes(new_eng, sizeof(new_eng), 4);
    int64_t o1[LLMOPT_CKPT_TOPICS] = {5, 5, 5}, o2[LLMOPT_CKPT_TOPICS] = {9, 9, 9};
    llmopt_wbuf b1, b2;
    llmopt_wbuf_init(&b1);
    llmopt_wbuf_init(&b2);
    llmopt_ckpt_blob_write(&b1, 0, o1, old_eng, sizeof(old_eng));
    llmopt_ckpt_blob_write(&b2, 0, o2, new_eng, sizeof(new_eng));
    llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(0);
    int64_t off = 0;
    feed_checkpoint(c, 0, &b1, 1000, &off);
    int64_t first = off;
    feed_checkpoint(c, 0, &b2, 1000, &off);
    uint8_t *out = NULL;
    size_t len = 0;
    int64_t fo = -1;
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_finish(c, &out, &len, &fo, NULL, 0), LLMOPT_OK);
    CU_ASSERT(len == b2.len && out && memcmp(out, b2.data, len) == 0);
    CU_ASSERT_EQUAL(fo, first);
    int32_t p;
    int64_t got[LLMOPT_CKPT_TOPICS];
    const void *e;
    size_t elen;
    CU_ASSERT_EQUAL(llmopt_ckpt_blob_read(out, len, &p, got, &e, &elen, NULL, 0), LLMOPT_OK);
    CU_ASSERT(got[0] == 9 && elen == sizeof(new_eng));
    free(out);
    llmopt_ckpt_collector_destroy(c);
    llmopt_wbuf_release(&b1);
    llmopt_wbuf_release(&b2);
}

static void test_collector_rejects(void) {
    uint8_t eng[2500];
    make_engine_bytes(eng, sizeof(eng), 5);
    int64_t offs[LLMOPT_CKPT_TOPICS] = {0, 0, 0};
    llmopt_wbuf blob;
    llmopt_wbuf_init(&blob);
    llmopt_ckpt_blob_write(&blob, 2, offs, eng, sizeof(eng));
    char key[40], err[256];
    uint8_t *out;
    size_t len;
    int64_t fo, off;

    /* no manifest at all: no checkpoint */
    llmopt_ckpt_collector *c = llmopt_ckpt_collector_new(2);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_finish(c, &out, &len, &fo, NULL, 0), LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_PTR_NULL(out);
    llmopt_ckpt_collector_destroy(c);

    /* a tombstoned manifest: no checkpoint */
    c = llmopt_ckpt_collector_new(2);
    off = 0;
    feed_checkpoint(c, 2, &blob, 1000, &off);
    size_t kl = llmopt_ckpt_manifest_key(key, sizeof(key), 2);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, NULL, 0, off++, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_finish(c, &out, &len, &fo, NULL, 0), LLMOPT_ERR_UNKNOWN);
    llmopt_ckpt_collector_destroy(c);

    /* a flipped byte in a chunk fails the hash */
    for (int what = 0; what < 3; what++) {
        c = llmopt_ckpt_collector_new(2);
        off = 0;
        feed_checkpoint(c, 2, &blob, 1000, &off);
        size_t ckl = llmopt_ckpt_chunk_key(key, sizeof(key), 2, 1);
        uint8_t chunk[1000];
        memcpy(chunk, blob.data + 1000, 1000);
        if (what == 0) {
            chunk[17] ^= 1; /* corrupt chunk 1 */
            llmopt_ckpt_collector_add(c, key, ckl, chunk, 1000, off++, NULL, 0);
        } else if (what == 1) {
            llmopt_ckpt_collector_add(c, key, ckl, NULL, 0, off++, NULL, 0); /* chunk 1 deleted */
        } else {
            llmopt_ckpt_collector_add(c, key, ckl, chunk, 999, off++, NULL, 0); /* short */
        }
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_finish(c, &out, &len, &fo, err, sizeof(err)),
                        LLMOPT_ERR_INVALID);
        CU_ASSERT_PTR_NULL(out);
        CU_ASSERT(strstr(err, what == 0 ? "hash" : what == 1 ? "misses chunk" : "bytes") != NULL);
        llmopt_ckpt_collector_destroy(c);
    }

    /* a manifest that lists more chunks than were written */
    c = llmopt_ckpt_collector_new(2);
    off = 0;
    feed_checkpoint(c, 2, &blob, 1000, &off);
    llmopt_wbuf m;
    llmopt_wbuf_init(&m);
    llmopt_ckpt_manifest_write(&m, 2, 5, blob.data, blob.len);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, m.data, m.len, off++, NULL, 0), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_ckpt_collector_finish(c, &out, &len, &fo, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    llmopt_ckpt_collector_destroy(c);

    /* malformed manifests are refused when added: truncated, trailing
     * bytes, another partition, zero chunks, absurd chunk count */
    for (int what = 0; what < 5; what++) {
        c = llmopt_ckpt_collector_new(2);
        m.len = 0;
        llmopt_ckpt_manifest_write(&m, what == 2 ? 3 : 2, what == 3 ? 0 : what == 4 ? 2000000 : 3,
                                   blob.data, blob.len);
        size_t ml = m.len;
        if (what == 0)
            ml -= 1;
        if (what == 1)
            llmopt_wbuf_u8(&m, 0), ml = m.len;
        CU_ASSERT_EQUAL(llmopt_ckpt_collector_add(c, key, kl, m.data, ml, 7, err, sizeof(err)),
                        LLMOPT_ERR_INVALID);
        CU_ASSERT(strstr(err, "malformed checkpoint manifest") != NULL);
        llmopt_ckpt_collector_destroy(c);
    }
    llmopt_wbuf_release(&m);
    llmopt_wbuf_release(&blob);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("checkpoint", NULL, NULL);
    CU_add_test(s, "keys_and_counts", test_keys_and_counts);
    CU_add_test(s, "blob_roundtrip_and_rejects", test_blob_roundtrip_and_rejects);
    CU_add_test(s, "collector_roundtrip", test_collector_roundtrip);
    CU_add_test(s, "collector_newer_shorter", test_collector_newer_shorter);
    CU_add_test(s, "collector_rejects", test_collector_rejects);
    CU_add_test(s, "xxh64_known_answers", test_xxh64_known_answers);
    CU_add_test(s, "collector_reads_v1_manifest", test_collector_reads_v1_manifest);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
