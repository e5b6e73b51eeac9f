/*
 * cache.c - cache keys (prompt normalisation + SHA-256), the in-process LRU
 * and the per-route cache glue with the optional external cache
 * (llmopt_gateway.h, "Cache").
 *
 * LRU: a chained hash table (grown by doubling) plus a doubly linked
 * recency list, under one mutex per LRU. Each route has its own LRU, so
 * the locks are striped by route.
 */
#include <fnmatch.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "gateway/gw_internal.h"

/* ASCII whitespace per the contract: space, \t \n \v \f \r */
static const unsigned char ws_table[256] = {[' '] = 1, ['\t'] = 1, ['\n'] = 1,
                                   ['\r'] = 1, ['\v'] = 1, ['\f'] = 1};
typedef void (*norm_sink)(void *ctx, const char *s, size_t n);

static const unsigned char lower_table[256] = {
#define L4(i) L1(i), L1(i + 1), L1(i + 2), L1(i + 3)
#define L1(i) (unsigned char)((i) >= 'A' && (i) <= 'Z' ? (i) + 32 : (i))
#define L16(i) L4(i), L4(i + 4), L4(i + 8), L4(i + 12)
#define L64(i) L16(i), L16(i + 16), L16(i + 32), L16(i + 48)
    L64(0), L64(64), L64(128), L64(192)
#undef L64
#undef L16
#undef L4
#undef L1
};

/* Streams the normalised prompt to sink in chunks of up to 1 KiB.
 * Branch-free per byte (prompts mix words and spaces, so a branch on
 * "is whitespace" mispredicts every few bytes): every byte is written as its
 * lowercase form or ' ', and the output position only advances unless the
 * byte continues a whitespace run. `prev` starts true, so leading
 * whitespace never advances; a trailing space is dropped at the end. */
static void normalize_stream(const char *p, size_t len, norm_sink sink, void *ctx) {
    char buf[1024];
    size_t n = 0;
    unsigned prev = 1;
    const unsigned char *u = (const unsigned char *)p;
#ifdef __SSE2__
    const __m128i sp = _mm_set1_epi8(' '), tab_lo = _mm_set1_epi8('\t' - 1),
                  tab_hi = _mm_set1_epi8('\r' + 1), a_lo = _mm_set1_epi8('A' - 1),
                  z_hi = _mm_set1_epi8('Z' + 1), k20 = _mm_set1_epi8(0x20);
#endif
    for (size_t i = 0; i < len;) {
        /* room for one block of 16 output bytes plus the pending space */
        if (n + 17 > sizeof(buf)) {
            if (prev) { /* keep the pending space: it may turn out trailing */
                sink(ctx, buf, n - 1);
                buf[0] = ' ';
                n = 1;
            } else {
                sink(ctx, buf, n);
                n = 0;
            }
        }
        size_t end = i + 16 < len ? i + 16 : len;
#ifdef __SSE2__
        /* A block where no whitespace byte follows another (the common case
         * in text: single spaces) maps 1:1: lowercase, whitespace -> ' '. */
        if (end - i == 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(u + i));
            /* signed compares suit ASCII; bytes >= 0x80 are negative and
             * fall outside both ranges, as they should */
            __m128i ws = _mm_or_si128(
                _mm_cmpeq_epi8(v, sp),
                _mm_and_si128(_mm_cmpgt_epi8(v, tab_lo), _mm_cmplt_epi8(v, tab_hi)));
            unsigned m = (unsigned)_mm_movemask_epi8(ws);
            if (!(m & ((m << 1) | prev))) {
                __m128i up = _mm_and_si128(_mm_cmpgt_epi8(v, a_lo), _mm_cmplt_epi8(v, z_hi));
                v = _mm_add_epi8(v, _mm_and_si128(up, k20));
                v = _mm_or_si128(_mm_andnot_si128(ws, v), _mm_and_si128(ws, sp));
                _mm_storeu_si128((__m128i *)(buf + n), v);
                n += 16;
                prev = (m >> 15) & 1;
                i = end;
                continue;
            }
        }
#endif
        for (; i < end; i++) {
            unsigned char c = u[i];
            unsigned w = ws_table[c];
            buf[n] = w ? ' ' : (char)lower_table[c];
            n += !(w & prev);
            prev = w;
        }
    }
    if (prev && n > 0)
        n--;
    if (n)
        sink(ctx, buf, n);
}

typedef struct str_sink {
    char *out;
    size_t cap, len, written;
} str_sink;

static void to_str(void *ctx, const char *s, size_t n) {
    str_sink *k = ctx;
    for (size_t i = 0; i < n; i++) {
        if (k->written + 1 < k->cap)
            k->out[k->written++] = s[i];
        k->len++;
    }
}

size_t llmopt_gw_normalize_prompt(const char *prompt, size_t len, char *out, size_t out_size) {
    str_sink k = {out, out_size, 0, 0};
    normalize_stream(prompt ? prompt : "", prompt ? len : 0, to_str, &k);
    if (out_size)
        out[k.written] = '\0';
    return k.written;
}

static void to_sha(void *ctx, const char *s, size_t n) { EVP_DigestUpdate(ctx, s, n); }

/* OpenSSL's SHA-256 (SHA-NI / AVX2 where the CPU has them): about 10x the
 * portable common/sha256.c on a 2 KB prompt, which the <= 5 us budget for
 * key + lookup needs. The digest is the same FIPS 180-4 SHA-256. */
void llmopt_gw_cache_key(const char *route, const char *prompt, size_t len,
                         char key[LLMOPT_GW_CACHE_KEY_LEN + 1]) {
    static const char hex[] = "0123456789abcdef";
    unsigned char d[EVP_MAX_MD_SIZE];
    unsigned int dl = 0;
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (!h || !EVP_DigestInit_ex(h, EVP_sha256(), NULL)) {
        EVP_MD_CTX_free(h);
        memset(key, '0', LLMOPT_GW_CACHE_KEY_LEN); /* allocation failed: a key that
                                                    * never matches a real one is
                                                    * not possible; all-zero is rare */
        key[LLMOPT_GW_CACHE_KEY_LEN] = '\0';
        return;
    }
    if (route)
        EVP_DigestUpdate(h, route, strlen(route));
    EVP_DigestUpdate(h, "\n", 1);
    normalize_stream(prompt ? prompt : "", prompt ? len : 0, to_sha, h);
    EVP_DigestFinal_ex(h, d, &dl);
    EVP_MD_CTX_free(h);
    for (int i = 0; i < 32; i++) {
        key[2 * i] = hex[d[i] >> 4];
        key[2 * i + 1] = hex[d[i] & 15];
    }
    key[LLMOPT_GW_CACHE_KEY_LEN] = '\0';
}

/* ---- LRU ------------------------------------------------------------------ */

typedef struct lru_entry {
    struct lru_entry *hnext;        /* hash chain */
    struct lru_entry *prev, *next;  /* recency: head = most recent */
    uint64_t hash;
    int64_t expires_ms;
    size_t key_len, val_len;
    char *key;
    void *val;
} lru_entry;

struct llmopt_gw_lru {
    pthread_mutex_t mu;
    lru_entry **buckets;
    size_t nbuckets; /* power of 2 */
    size_t count, capacity;
    lru_entry *head, *tail;
};

llmopt_gw_lru *llmopt_gw_lru_new(size_t max_entries) {
    llmopt_gw_lru *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    c->nbuckets = 64;
    c->buckets = calloc(c->nbuckets, sizeof(*c->buckets));
    if (!c->buckets) {
        free(c);
        return NULL;
    }
    c->capacity = max_entries ? max_entries : 1;
    pthread_mutex_init(&c->mu, NULL);
    return c;
}

static void entry_free(lru_entry *e) {
    free(e->key);
    free(e->val);
    free(e);
}

void llmopt_gw_lru_destroy(llmopt_gw_lru *c) {
    if (!c)
        return;
    lru_entry *e = c->head;
    while (e) {
        lru_entry *n = e->next;
        entry_free(e);
        e = n;
    }
    free(c->buckets);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static void list_unlink(llmopt_gw_lru *c, lru_entry *e) {
    if (e->prev)
        e->prev->next = e->next;
    else
        c->head = e->next;
    if (e->next)
        e->next->prev = e->prev;
    else
        c->tail = e->prev;
    e->prev = e->next = NULL;
}

static void list_push_front(llmopt_gw_lru *c, lru_entry *e) {
    e->prev = NULL;
    e->next = c->head;
    if (c->head)
        c->head->prev = e;
    c->head = e;
    if (!c->tail)
        c->tail = e;
}

static void remove_entry(llmopt_gw_lru *c, lru_entry *e) {
    lru_entry **pp = &c->buckets[e->hash & (c->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    list_unlink(c, e);
    c->count--;
    entry_free(e);
}

static lru_entry *find(llmopt_gw_lru *c, const char *key, size_t len, uint64_t h) {
    for (lru_entry *e = c->buckets[h & (c->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->key_len == len && memcmp(e->key, key, len) == 0)
            return e;
    return NULL;
}

static void evict_to(llmopt_gw_lru *c, size_t n) {
    while (c->count > n && c->tail)
        remove_entry(c, c->tail);
}

void llmopt_gw_lru_set_capacity(llmopt_gw_lru *c, size_t max_entries) {
    pthread_mutex_lock(&c->mu);
    c->capacity = max_entries ? max_entries : 1;
    evict_to(c, c->capacity);
    pthread_mutex_unlock(&c->mu);
}

size_t llmopt_gw_lru_count(llmopt_gw_lru *c) {
    pthread_mutex_lock(&c->mu);
    size_t n = c->count;
    pthread_mutex_unlock(&c->mu);
    return n;
}

static void grow(llmopt_gw_lru *c) {
    size_t nb = c->nbuckets * 2;
    lru_entry **b = calloc(nb, sizeof(*b));
    if (!b)
        return; /* longer chains, still correct */
    for (lru_entry *e = c->head; e; e = e->next) {
        e->hnext = b[e->hash & (nb - 1)];
        b[e->hash & (nb - 1)] = e;
    }
    free(c->buckets);
    c->buckets = b;
    c->nbuckets = nb;
}

llmopt_err_t llmopt_gw_lru_put(llmopt_gw_lru *c, const char *key, const void *value, size_t len,
                               int64_t now_ms, int64_t ttl_ms) {
    size_t klen = strlen(key);
    uint64_t h = gw_hash(key, klen);
    lru_entry *e = calloc(1, sizeof(*e));
    if (!e)
        return LLMOPT_ERR_NOMEM;
    e->key = malloc(klen + 1);
    e->val = malloc(len ? len : 1);
    if (!e->key || !e->val) {
        entry_free(e);
        return LLMOPT_ERR_NOMEM;
    }
    memcpy(e->key, key, klen + 1);
    if (len)
        memcpy(e->val, value, len);
    e->key_len = klen;
    e->val_len = len;
    e->hash = h;
    e->expires_ms = now_ms + ttl_ms;
    pthread_mutex_lock(&c->mu);
    lru_entry *old = find(c, key, klen, h);
    if (old)
        remove_entry(c, old);
    evict_to(c, c->capacity - 1);
    if (c->count >= c->nbuckets)
        grow(c);
    size_t b = h & (c->nbuckets - 1);
    e->hnext = c->buckets[b];
    c->buckets[b] = e;
    list_push_front(c, e);
    c->count++;
    pthread_mutex_unlock(&c->mu);
    return LLMOPT_OK;
}

bool llmopt_gw_lru_get(llmopt_gw_lru *c, const char *key, int64_t now_ms, void **value,
                       size_t *len) {
    size_t klen = strlen(key);
    uint64_t h = gw_hash(key, klen);
    bool hit = false;
    pthread_mutex_lock(&c->mu);
    lru_entry *e = find(c, key, klen, h);
    if (e && now_ms >= e->expires_ms) {
        remove_entry(c, e);
        e = NULL;
    }
    if (e) {
        hit = true;
        list_unlink(c, e);
        list_push_front(c, e);
        if (value) {
            *value = malloc(e->val_len ? e->val_len : 1);
            if (*value) {
                memcpy(*value, e->val, e->val_len);
                if (len)
                    *len = e->val_len;
            } else {
                hit = false;
            }
        }
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

/* ---- per-route glue -------------------------------------------------------- */

void llmopt_gw_set_external_cache(llmopt_gw *gw, const llmopt_gw_external_cache *ext) {
    if (ext) {
        gw->ext = *ext;
        gw->has_ext = true;
    } else {
        gw->has_ext = false;
    }
}

/* The route's LRU and ttl if task_type may be cached now; NULL otherwise. */
static llmopt_gw_lru *route_cache(llmopt_gw *gw, const char *route, const char *task_type,
                                  int64_t *ttl_ms) {
    size_t len = strlen(route);
    gw_route *r = gw_route_find(gw, route, len, gw_hash(route, len));
    if (!r)
        return NULL;
    llmopt_gw_lru *c = NULL;
    gw_rcu_token tok = gw_read_lock(gw);
    const gw_snap *s = atomic_load(&r->snap);
    if (s && s->rec.has_cache_policy && s->rec.cache_policy.enabled) {
        c = atomic_load(&r->cache);
        *ttl_ms = s->rec.cache_policy.ttl_ms;
        const llmopt_str_array *ex = &s->rec.cache_policy.exclude_patterns;
        for (size_t i = 0; c && task_type && i < ex->count; i++)
            if (fnmatch(ex->items[i].ptr, task_type, 0) == 0)
                c = NULL;
    }
    gw_read_unlock(gw, tok);
    return c; /* route caches live until llmopt_gw_destroy */
}

bool llmopt_gw_cache_get(llmopt_gw *gw, const char *route, const char *task_type,
                         const char *key, int64_t now_ms, void **value, size_t *len) {
    int64_t ttl = 0;
    llmopt_gw_lru *c = route_cache(gw, route, task_type, &ttl);
    if (!c)
        return false;
    if (llmopt_gw_lru_get(c, key, now_ms, value, len)) {
        atomic_fetch_add_explicit(&gw->st.cache_hits, 1, memory_order_relaxed);
        return true;
    }
    if (gw->has_ext && gw->ext.get) {
        void *v = NULL;
        size_t n = 0;
        if (gw->ext.get(gw->ext.ctx, key, &v, &n)) {
            llmopt_gw_lru_put(c, key, v, n, now_ms, ttl);
            atomic_fetch_add_explicit(&gw->st.cache_hits, 1, memory_order_relaxed);
            if (value) {
                *value = v;
                if (len)
                    *len = n;
            } else {
                free(v);
            }
            return true;
        }
    }
    atomic_fetch_add_explicit(&gw->st.cache_misses, 1, memory_order_relaxed);
    return false;
}

llmopt_err_t llmopt_gw_cache_put(llmopt_gw *gw, const char *route, const char *task_type,
                                 const char *key, const void *value, size_t len,
                                 int64_t now_ms) {
    int64_t ttl = 0;
    llmopt_gw_lru *c = route_cache(gw, route, task_type, &ttl);
    if (!c)
        return LLMOPT_OK;
    llmopt_err_t e = llmopt_gw_lru_put(c, key, value, len, now_ms, ttl);
    if (e == LLMOPT_OK && gw->has_ext && gw->ext.put)
        gw->ext.put(gw->ext.ctx, key, value, len, ttl);
    return e;
}
