/*
 * test_gw_cache.c - prompt normalisation and cache keys against Python's
 * hashlib (tests/tools/gen_gw_golden.py), LRU eviction and TTL, the
 * per-route cache with exclude patterns, and the external cache hook.
 */
#include <stdlib.h>

#include "tests/unit/test_gw_helpers.h"

static size_t unhex(const char *h, size_t n, char *out) {
    size_t k = 0;
    for (size_t i = 0; i + 1 < n + 1 && i < n; i += 2) {
        unsigned v;
        sscanf(h + i, "%2x", &v);
        out[k++] = (char)v;
    }
    return k;
}

static void test_key_vectors(void) {
    FILE *f = fopen("tests/data/gateway/cache_keys.txt", "r");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    static char line[20000], prompt[8000], norm[8000], got[8000];
    int cases = 0;
    while (fgets(line, sizeof(line), f)) {
        char *rest = line;
        char *route = strsep(&rest, "\t"), *ph = strsep(&rest, "\t"),
             *nh = strsep(&rest, "\t"), *key = strsep(&rest, "\t\n");
        CU_ASSERT_PTR_NOT_NULL_FATAL(key); /* fields may be empty, never missing */
        size_t pl = unhex(ph, strlen(ph), prompt);
        size_t nl = unhex(nh, strlen(nh), norm);
        size_t gl = llmopt_gw_normalize_prompt(prompt, pl, got, sizeof(got));
        CU_ASSERT_EQUAL(gl, nl);
        CU_ASSERT_TRUE(memcmp(got, norm, nl) == 0);
        char k[LLMOPT_GW_CACHE_KEY_LEN + 1];
        llmopt_gw_cache_key(route, prompt, pl, k);
        CU_ASSERT_STRING_EQUAL(k, key);
        cases++;
    }
    fclose(f);
    CU_ASSERT_TRUE(cases >= 8);
    /* hand vectors */
    char out[64];
    CU_ASSERT_EQUAL(llmopt_gw_normalize_prompt("  Hello \t\n WORLD  ", 18, out, sizeof(out)), 11);
    CU_ASSERT_STRING_EQUAL(out, "hello world");
    CU_ASSERT_EQUAL(llmopt_gw_normalize_prompt(" \t ", 3, out, sizeof(out)), 0);
    CU_ASSERT_STRING_EQUAL(out, "");
    /* the same text up to case and spacing gives the same key */
    char k1[65], k2[65], k3[65];
    llmopt_gw_cache_key("r", "What  is 2+2?", 13, k1);
    llmopt_gw_cache_key("r", "\twhat is 2+2?  ", 15, k2);
    llmopt_gw_cache_key("s", "what is 2+2?", 12, k3);
    CU_ASSERT_STRING_EQUAL(k1, k2);
    CU_ASSERT_STRING_NOT_EQUAL(k1, k3);
}

/* An obviously correct normaliser, to compare the vectorised one with on
 * random mixes of letters, runs of whitespace and high bytes. */
static size_t ref_normalize(const char *p, size_t len, char *out) {
    size_t n = 0;
    bool space = false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)p[i];
        if (c == ' ' || (c >= '\t' && c <= '\r')) {
            space = n > 0;
            continue;
        }
        if (space)
            out[n++] = ' ';
        space = false;
        out[n++] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
    }
    return n;
}

static void test_normalize_random(void) {
    static const char alphabet[] = "aZq ZZ \t\n\r\v\f  \xc3\xa9~";
    static char in[5000], want[5000], got[5000];
    uint64_t x = 0x9e3779b97f4a7c15ull;
    for (int iter = 0; iter < 3000; iter++) {
        x ^= x << 13, x ^= x >> 7, x ^= x << 17;
        size_t len = x % 4000;
        for (size_t i = 0; i < len; i++) {
            x ^= x << 13, x ^= x >> 7, x ^= x << 17;
            /* long single-spaced stretches exercise the 16-byte path */
            in[i] = (iter & 1) ? alphabet[x % (sizeof(alphabet) - 1)] : ((i % 6 == 5) ? ' ' : (char)('A' + x % 26));
        }
        size_t wn = ref_normalize(in, len, want);
        size_t gn = llmopt_gw_normalize_prompt(in, len, got, sizeof(got));
        CU_ASSERT_EQUAL(gn, wn);
        CU_ASSERT_TRUE(memcmp(got, want, wn) == 0);
        if (gn != wn || memcmp(got, want, wn) != 0) {
            fprintf(stderr, "  mismatch at iteration %d, len %zu\n", iter, len);
            break;
        }
    }
}

static void test_lru_eviction_ttl(void) {
    llmopt_gw_lru *c = llmopt_gw_lru_new(3);
    CU_ASSERT_EQUAL(llmopt_gw_lru_put(c, "a", "1", 1, 0, 1000), LLMOPT_OK);
    llmopt_gw_lru_put(c, "b", "2", 1, 0, 1000);
    llmopt_gw_lru_put(c, "c", "3", 1, 0, 1000);
    CU_ASSERT_TRUE(llmopt_gw_lru_get(c, "a", 10, NULL, NULL)); /* a is now most recent */
    llmopt_gw_lru_put(c, "d", "4", 1, 10, 1000);               /* evicts b */
    CU_ASSERT_EQUAL(llmopt_gw_lru_count(c), 3);
    CU_ASSERT_FALSE(llmopt_gw_lru_get(c, "b", 10, NULL, NULL));
    void *v = NULL;
    size_t n = 0;
    CU_ASSERT_TRUE(llmopt_gw_lru_get(c, "d", 10, &v, &n));
    CU_ASSERT_EQUAL(n, 1);
    CU_ASSERT_EQUAL(((char *)v)[0], '4');
    free(v);
    /* TTL: a expires at 0 + 1000 */
    CU_ASSERT_TRUE(llmopt_gw_lru_get(c, "a", 999, NULL, NULL));
    CU_ASSERT_FALSE(llmopt_gw_lru_get(c, "a", 1000, NULL, NULL));
    CU_ASSERT_EQUAL(llmopt_gw_lru_count(c), 2);
    /* replacing a key keeps one entry; shrinking evicts the oldest */
    llmopt_gw_lru_put(c, "d", "44", 2, 20, 1000);
    CU_ASSERT_EQUAL(llmopt_gw_lru_count(c), 2);
    llmopt_gw_lru_set_capacity(c, 1);
    CU_ASSERT_EQUAL(llmopt_gw_lru_count(c), 1);
    CU_ASSERT_TRUE(llmopt_gw_lru_get(c, "d", 30, NULL, NULL));
    /* many keys through a small cache (table growth + eviction) */
    llmopt_gw_lru_set_capacity(c, 100);
    char key[32];
    for (int i = 0; i < 1000; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        llmopt_gw_lru_put(c, key, key, strlen(key), 100, 1000);
    }
    CU_ASSERT_EQUAL(llmopt_gw_lru_count(c), 100);
    CU_ASSERT_TRUE(llmopt_gw_lru_get(c, "k999", 100, NULL, NULL));
    CU_ASSERT_TRUE(llmopt_gw_lru_get(c, "k900", 100, NULL, NULL));
    CU_ASSERT_FALSE(llmopt_gw_lru_get(c, "k899", 100, NULL, NULL));
    llmopt_gw_lru_destroy(c);
    llmopt_gw_lru_destroy(NULL);
}

typedef struct fake_ext {
    char key[65];
    char val[16];
    int gets, puts;
} fake_ext;

static bool ext_get(void *ctx, const char *key, void **value, size_t *len) {
    fake_ext *f = ctx;
    f->gets++;
    if (strcmp(f->key, key) != 0)
        return false;
    *len = strlen(f->val);
    *value = malloc(*len);
    memcpy(*value, f->val, *len);
    return true;
}

static void ext_put(void *ctx, const char *key, const void *value, size_t len, int64_t ttl) {
    fake_ext *f = ctx;
    f->puts++;
    snprintf(f->key, sizeof(f->key), "%s", key);
    snprintf(f->val, sizeof(f->val), "%.*s", (int)len, (const char *)value);
    CU_ASSERT_EQUAL(ttl, 1000);
}

static void test_route_cache(void) {
    llmopt_gw *gw = gw_offline();
    test_decision t;
    td_init(&t, "cached", 1, 2);
    t.d.has_cache_policy = true;
    t.d.cache_policy.enabled = true;
    t.d.cache_policy.ttl_ms = 1000;
    t.d.cache_policy.max_entries = 2;
    llmopt_str pat[1] = {llmopt_str_of("code*")};
    t.d.cache_policy.exclude_patterns.items = pat;
    t.d.cache_policy.exclude_patterns.count = 1;
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);
    td_init(&t, "uncached", 1, 2);
    CU_ASSERT_EQUAL_FATAL(td_apply(gw, &t, false, NULL), LLMOPT_OK);

    char k[65];
    llmopt_gw_cache_key("cached", "hi", 2, k);
    CU_ASSERT_FALSE(llmopt_gw_cache_get(gw, "cached", "chat", k, 0, NULL, NULL));
    CU_ASSERT_EQUAL(llmopt_gw_cache_put(gw, "cached", "chat", k, "hello", 5, 0), LLMOPT_OK);
    void *v;
    size_t n;
    CU_ASSERT_TRUE(llmopt_gw_cache_get(gw, "cached", "chat", k, 999, &v, &n));
    CU_ASSERT_EQUAL(n, 5);
    free(v);
    CU_ASSERT_FALSE(llmopt_gw_cache_get(gw, "cached", "chat", k, 1000, NULL, NULL)); /* ttl */
    llmopt_gw_cache_put(gw, "cached", "codegen", k, "x", 1, 0);
    CU_ASSERT_FALSE(llmopt_gw_cache_get(gw, "cached", "codegen", k, 1, NULL, NULL));
    llmopt_gw_cache_put(gw, "uncached", "chat", k, "x", 1, 0);
    CU_ASSERT_FALSE(llmopt_gw_cache_get(gw, "uncached", "chat", k, 1, NULL, NULL));

    /* external: write-through on put; a local miss asks it */
    fake_ext f = {0};
    llmopt_gw_external_cache ext = {&f, ext_get, ext_put};
    llmopt_gw_set_external_cache(gw, &ext);
    llmopt_gw_cache_put(gw, "cached", "chat", k, "remote", 6, 5000);
    CU_ASSERT_EQUAL(f.puts, 1);
    CU_ASSERT_TRUE(llmopt_gw_cache_get(gw, "cached", "chat", k, 9000, &v, &n)); /* local expired */
    CU_ASSERT_EQUAL(f.gets, 1);
    CU_ASSERT_EQUAL(n, 6);
    CU_ASSERT_TRUE(memcmp(v, "remote", 6) == 0);
    free(v);
    CU_ASSERT_TRUE(llmopt_gw_cache_get(gw, "cached", "chat", k, 9001, NULL, NULL)); /* local */
    CU_ASSERT_EQUAL(f.gets, 1);
    llmopt_gw_set_external_cache(gw, NULL);
    llmopt_gw_destroy(gw);
}

int main(void) {
    static const CU_TestInfo tests[] = {
        {"key_vectors", test_key_vectors},
        {"normalize_random", test_normalize_random},
        {"lru_eviction_ttl", test_lru_eviction_ttl},
        {"route_cache", test_route_cache},
        CU_TEST_INFO_NULL,
    };
    return run_suite("gw_cache", tests);
}
