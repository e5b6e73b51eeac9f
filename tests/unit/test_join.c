/* test_join.c - CUnit suite for processor/core/join: matching, deterministic
 * expiry, the memory budget, and exact checkpoint round trips, checked
 * against a naive reference model on random operation sequences. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/join.h"

/* ---- an expiry log the callbacks append to ---- */
typedef struct ev {
    char key[32];
    int64_t ts;
    int reason;
    int payload;
} ev;

typedef struct evlog {
    ev *v;
    size_t n, cap;
} evlog;

static void log_expire(void *opaque, const void *key, size_t keylen, int64_t ts,
                       void *payload, llmopt_join_reason reason) {
    evlog *l = opaque;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    ev *e = &l->v[l->n++];
    memset(e, 0, sizeof(*e));
    memcpy(e->key, key, keylen < 31 ? keylen : 31);
    e->ts = ts;
    e->reason = reason;
    e->payload = *(int *)payload;
    free(payload);
}

static int *ip(int v) {
    int *p = malloc(sizeof(int));
    *p = v;
    return p;
}

static llmopt_join *mk(evlog *l, int64_t ttl, size_t max_bytes) {
    llmopt_join_config c = {.ttl_ms = ttl, .max_bytes = max_bytes, .on_expire = log_expire,
                            .free_payload = free, .opaque = l};
    return llmopt_join_new(&c);
}

static void test_put_take_duplicate(void) {
    evlog l = {0};
    llmopt_join *j = mk(&l, 1000, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    CU_ASSERT_EQUAL(llmopt_join_put(j, "a", 1, 10, ip(1), 4), LLMOPT_OK);
    int *dup = ip(2);
    CU_ASSERT_EQUAL(llmopt_join_put(j, "a", 1, 11, dup, 4), LLMOPT_ERR_STATE);
    free(dup);
    CU_ASSERT_EQUAL(llmopt_join_put(j, "", 0, 11, NULL, 0), LLMOPT_ERR_INVALID);
    int64_t ts = 0;
    int *p = llmopt_join_take(j, "a", 1, &ts);
    CU_ASSERT_PTR_NOT_NULL_FATAL(p);
    CU_ASSERT_EQUAL(*p, 1);
    CU_ASSERT_EQUAL(ts, 10);
    free(p);
    CU_ASSERT_PTR_NULL(llmopt_join_take(j, "a", 1, NULL));
    llmopt_join_stats st;
    llmopt_join_get_stats(j, &st);
    CU_ASSERT_EQUAL(st.inserted, 1);
    CU_ASSERT_EQUAL(st.matched, 1);
    CU_ASSERT_EQUAL(st.duplicates, 1);
    CU_ASSERT_EQUAL(st.entries, 0);
    CU_ASSERT_EQUAL(st.bytes, 0);
    llmopt_join_destroy(j);
    free(l.v);
}

/* The _h variants with llmopt_join_hash() behave as put, take and peek. */
static void test_hash_variants(void) {
    evlog l = {0};
    llmopt_join *j = mk(&l, 1000, 0);
    CU_ASSERT_PTR_NOT_NULL_FATAL(j);
    char key[80];
    for (int i = 0; i < 300; i++) {
        /* keys of 1..75 bytes: the 8-byte blocks and every tail length */
        int n = snprintf(key, sizeof(key), "%0*d", 1 + i % 75, i);
        uint64_t h = llmopt_join_hash(key, (size_t)n);
        CU_ASSERT_EQUAL(llmopt_join_put_h(j, key, (size_t)n, h, i, ip(i), 4), LLMOPT_OK);
        int *dup = ip(-1);
        CU_ASSERT_EQUAL(llmopt_join_put(j, key, (size_t)n, i, dup, 4), LLMOPT_ERR_STATE);
        free(dup);
        int *p = llmopt_join_peek(j, key, (size_t)n, NULL);
        CU_ASSERT(p && *p == i);
    }
    for (int i = 0; i < 300; i++) {
        int n = snprintf(key, sizeof(key), "%0*d", 1 + i % 75, i);
        uint64_t h = llmopt_join_hash(key, (size_t)n);
        int64_t ts = -1;
        int *p = llmopt_join_peek_h(j, key, (size_t)n, h, &ts);
        CU_ASSERT(p && *p == i && ts == i);
        p = i % 2 ? llmopt_join_take_h(j, key, (size_t)n, h, &ts) : llmopt_join_take(j, key, (size_t)n, &ts);
        CU_ASSERT(p && *p == i && ts == i);
        free(p);
        CU_ASSERT_PTR_NULL(llmopt_join_peek_h(j, key, (size_t)n, h, NULL));
        CU_ASSERT_PTR_NULL(llmopt_join_take_h(j, key, (size_t)n, h, NULL));
    }
    CU_ASSERT_EQUAL(llmopt_join_put_h(j, "", 0, llmopt_join_hash("", 0), 1, NULL, 0),
                    LLMOPT_ERR_INVALID);
    llmopt_join_stats st;
    llmopt_join_get_stats(j, &st);
    CU_ASSERT_EQUAL(st.entries, 0);
    CU_ASSERT_EQUAL(st.matched, 300);
    CU_ASSERT_EQUAL(st.duplicates, 300);
    llmopt_join_destroy(j);
    free(l.v);
}

static void test_expire_order(void) {
    evlog l = {0};
    llmopt_join *j = mk(&l, 100, 0);
    /* out of order event times; equal times keep insertion order */
    llmopt_join_put(j, "c", 1, 30, ip(3), 4);
    llmopt_join_put(j, "a", 1, 10, ip(1), 4);
    llmopt_join_put(j, "b", 1, 30, ip(2), 4);
    llmopt_join_put(j, "d", 1, 20, ip(4), 4);
    CU_ASSERT_EQUAL(llmopt_join_expire(j, 109), 0);
    CU_ASSERT_EQUAL(llmopt_join_expire(j, 110), 1); /* ts 10 + ttl 100 <= 110 */
    CU_ASSERT_EQUAL(llmopt_join_expire(j, 1000), 3);
    CU_ASSERT_EQUAL(l.n, 4);
    const char *want = "adcb";
    for (int i = 0; i < 4; i++) {
        CU_ASSERT_EQUAL(l.v[i].key[0], want[i]);
        CU_ASSERT_EQUAL(l.v[i].reason, LLMOPT_JOIN_EXPIRED);
    }
    llmopt_join_destroy(j);
    free(l.v);
}

static void test_memory_budget(void) {
    evlog l = {0};
    size_t per = 10 + 2 + LLMOPT_JOIN_ENTRY_OVERHEAD; /* payload + key + overhead */
    llmopt_join *j = mk(&l, 1000000, 3 * per);
    char k[3] = {0};
    for (int i = 0; i < 10; i++) {
        k[0] = (char)('0' + i / 10);
        k[1] = (char)('0' + i % 10);
        CU_ASSERT_EQUAL(llmopt_join_put(j, k, 2, 100 - i, ip(i), 10), LLMOPT_OK);
    }
    llmopt_join_stats st;
    llmopt_join_get_stats(j, &st);
    CU_ASSERT_EQUAL(st.entries, 3);
    CU_ASSERT(st.bytes <= 3 * per);
    CU_ASSERT_EQUAL(st.evicted, 7);
    /* the oldest by event time go first: ts decreasing with i, so the
     * survivors are the three newest-in-time... which were inserted first */
    CU_ASSERT_EQUAL(l.n, 7);
    CU_ASSERT_EQUAL(l.v[0].reason, LLMOPT_JOIN_EVICTED);
    CU_ASSERT_PTR_NOT_NULL(llmopt_join_peek(j, "00", 2, NULL));
    CU_ASSERT_PTR_NOT_NULL(llmopt_join_peek(j, "01", 2, NULL));
    /* a single entry larger than the budget is refused, not stored */
    int *big = ip(99);
    CU_ASSERT_EQUAL(llmopt_join_put(j, "zz", 2, 5, big, 10 * per), LLMOPT_ERR_NOMEM);
    free(big);
    llmopt_join_destroy(j);
    free(l.v);
}

/* ---- reference model: a plain array, linear scans ---- */
typedef struct mentry {
    char key[16];
    int64_t ts;
    uint64_t seq;
    int payload;
    int live;
} mentry;

typedef struct model {
    mentry *v;
    size_t n;
    uint64_t seq;
    int64_t ttl;
    size_t max_bytes, bytes;
    evlog log;
} model;

static size_t mbytes(const mentry *e) {
    return 4 + strlen(e->key) + LLMOPT_JOIN_ENTRY_OVERHEAD;
}

static mentry *m_oldest(model *m) {
    mentry *best = NULL;
    for (size_t i = 0; i < m->n; i++) {
        mentry *e = &m->v[i];
        if (e->live && (!best || e->ts < best->ts || (e->ts == best->ts && e->seq < best->seq)))
            best = e;
    }
    return best;
}

static void m_release(model *m, mentry *e, int reason) {
    evlog *l = &m->log;
    if (l->n == l->cap) {
        l->cap = l->cap ? l->cap * 2 : 64;
        l->v = realloc(l->v, l->cap * sizeof(*l->v));
    }
    ev *x = &l->v[l->n++];
    memset(x, 0, sizeof(*x));
    strcpy(x->key, e->key);
    x->ts = e->ts;
    x->reason = reason;
    x->payload = e->payload;
    e->live = 0;
    m->bytes -= mbytes(e);
}

static mentry *m_find(model *m, const char *k) {
    for (size_t i = 0; i < m->n; i++)
        if (m->v[i].live && strcmp(m->v[i].key, k) == 0)
            return &m->v[i];
    return NULL;
}

static int m_put(model *m, const char *k, int64_t ts, int payload) {
    if (m_find(m, k))
        return LLMOPT_ERR_STATE;
    mentry e = {.ts = ts, .seq = m->seq++, .payload = payload, .live = 1};
    strcpy(e.key, k);
    while (m->max_bytes && m_oldest(m) && m->bytes + mbytes(&e) > m->max_bytes)
        m_release(m, m_oldest(m), LLMOPT_JOIN_EVICTED);
    m->v[m->n++] = e;
    m->bytes += mbytes(&e);
    return LLMOPT_OK;
}

static uint64_t rng_state = 42;
static uint64_t rnd(void) {
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* ts: 0 = clock +- 100 (mostly out of order); 1 = mostly in order, as
 * event times are (runs of 3 equal ts rising with the clock; 1 in 20 up to
 * 60 back),
 * so that the table's in-order FIFO, its holes from takes in the middle,
 * and the heap for the rest are all exercised and compared. */
static int ts_mode;

static void run_ops(llmopt_join *j, model *m, int nops, int64_t *clock) {
    char k[16];
    for (int op = 0; op < nops; op++) {
        int r = (int)(rnd() % 100);
        snprintf(k, sizeof(k), "r%llu", (unsigned long long)(rnd() % 3000));
        if (r < 55) {
            int64_t ts = ts_mode == 0 ? *clock + (int64_t)(rnd() % 200) - 100 /* out of order */
                         : rnd() % 20 ? *clock - *clock % 3
                                      : *clock - (int64_t)(rnd() % 60);
            *clock += 1;
            int pv = (int)(rnd() % 1000000);
            int *p = ip(pv);
            int a = llmopt_join_put(j, k, strlen(k), ts, p, 4);
            int b = m_put(m, k, ts, pv);
            CU_ASSERT_EQUAL_FATAL(a, b);
            if (a != LLMOPT_OK)
                free(p);
        } else if (r < 90) {
            int *p = llmopt_join_take(j, k, strlen(k), NULL);
            mentry *e = m_find(m, k);
            CU_ASSERT_EQUAL_FATAL(p != NULL, e != NULL);
            if (p && e) {
                CU_ASSERT_EQUAL_FATAL(*p, e->payload);
                e->live = 0;
                m->bytes -= mbytes(e);
            }
            free(p);
        } else {
            int64_t wm = *clock - 150;
            llmopt_join_expire(j, wm);
            for (;;) {
                mentry *o = m_oldest(m);
                if (!o || o->ts + m->ttl > wm)
                    break;
                m_release(m, o, LLMOPT_JOIN_EXPIRED);
            }
        }
    }
}

static void compare_logs(const evlog *a, const evlog *b) {
    CU_ASSERT_EQUAL_FATAL(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        CU_ASSERT_STRING_EQUAL_FATAL(a->v[i].key, b->v[i].key);
        CU_ASSERT_EQUAL_FATAL(a->v[i].ts, b->v[i].ts);
        CU_ASSERT_EQUAL_FATAL(a->v[i].reason, b->v[i].reason);
        CU_ASSERT_EQUAL_FATAL(a->v[i].payload, b->v[i].payload);
    }
}

static void test_against_model(void) {
    size_t budgets[] = {0, 200 * (4 + 5 + LLMOPT_JOIN_ENTRY_OVERHEAD)};
    for (int b = 0; b < 4; b++) {
        ts_mode = b / 2;
        evlog l = {0};
        model m = {.v = calloc(200000, sizeof(mentry)), .ttl = 300, .max_bytes = budgets[b % 2]};
        llmopt_join *j = mk(&l, 300, budgets[b % 2]);
        int64_t clock = 1000;
        /* a reduced stream under valgrind (LLMOPT_SKIP_SLOW=1) */
        run_ops(j, &m, getenv("LLMOPT_SKIP_SLOW") ? 4000 : 20000, &clock);
        compare_logs(&l, &m.log);
        llmopt_join_stats st;
        llmopt_join_get_stats(j, &st);
        CU_ASSERT_EQUAL(st.bytes, m.bytes);
        if (budgets[b % 2])
            CU_ASSERT(st.evicted > 0);
        llmopt_join_destroy(j);
        free(l.v);
        free(m.log.v);
        free(m.v);
    }
}

static void wp(void *opaque, llmopt_wbuf *w, const void *payload) {
    llmopt_wbuf_u32(w, (uint32_t)*(const int *)payload);
}

static void *rp(void *opaque, llmopt_rbuf *r, size_t *bytes) {
    uint32_t v = llmopt_rbuf_u32(r);
    if (r->err)
        return NULL;
    *bytes = 4;
    return ip((int)v);
}

/* The same operation stream as run_ops, without the model. */
static void replay_ops(llmopt_join *j, int nops, int64_t *clock) {
    char k[16];
    for (int op = 0; op < nops; op++) {
        int r = (int)(rnd() % 100);
        snprintf(k, sizeof(k), "r%llu", (unsigned long long)(rnd() % 3000));
        if (r < 55) {
            int64_t ts = *clock + (int64_t)(rnd() % 200) - 100;
            *clock += 1;
            int *p = ip((int)(rnd() % 1000000));
            if (llmopt_join_put(j, k, strlen(k), ts, p, 4) != LLMOPT_OK)
                free(p);
        } else if (r < 90) {
            free(llmopt_join_take(j, k, strlen(k), NULL));
        } else {
            llmopt_join_expire(j, *clock - 150);
        }
    }
}

static void test_checkpoint_roundtrip(void) {
    evlog l1 = {0}, l2 = {0};
    llmopt_join *a = mk(&l1, 300, 0);
    int64_t clock = 1000;
    rng_state = 7;
    replay_ops(a, 20000, &clock);

    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    llmopt_join_serialize(a, &w, wp, NULL);
    CU_ASSERT_EQUAL_FATAL(w.err, 0);
    llmopt_join *b = mk(&l2, 300, 0);
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, w.data, w.len);
    CU_ASSERT_EQUAL_FATAL(llmopt_join_deserialize(b, &r, rp, NULL), LLMOPT_OK);
    CU_ASSERT_EQUAL(r.left, 0);
    llmopt_join_stats sa, sb;
    llmopt_join_get_stats(a, &sa);
    llmopt_join_get_stats(b, &sb);
    CU_ASSERT_EQUAL(memcmp(&sa, &sb, sizeof(sa)), 0);

    /* both continue on the same operations and must expire identically */
    size_t before = l1.n;
    uint64_t saved = rng_state;
    int64_t c1 = clock, c2 = clock;
    replay_ops(a, 20000, &c1);
    rng_state = saved;
    replay_ops(b, 20000, &c2);
    evlog tail = {.v = l1.v + before, .n = l1.n - before};
    CU_ASSERT(tail.n > 100);
    compare_logs(&tail, &l2);

    /* every truncation of the blob fails cleanly and leaves the table empty */
    for (size_t cut = 0; cut < w.len; cut += 1 + w.len / 97) {
        evlog l3 = {0};
        llmopt_join *c = mk(&l3, 300, 0);
        llmopt_rbuf_init(&r, w.data, cut);
        CU_ASSERT_NOT_EQUAL(llmopt_join_deserialize(c, &r, rp, NULL), LLMOPT_OK);
        llmopt_join_get_stats(c, &sb);
        CU_ASSERT_EQUAL(sb.entries, 0);
        llmopt_join_destroy(c);
        free(l3.v);
    }
    llmopt_wbuf_release(&w);
    llmopt_join_destroy(a);
    llmopt_join_destroy(b);
    free(l1.v);
    free(l2.v);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("join", NULL, NULL);
    CU_add_test(s, "put_take_duplicate", test_put_take_duplicate);
    CU_add_test(s, "hash_variants", test_hash_variants);
    CU_add_test(s, "expire_order", test_expire_order);
    CU_add_test(s, "memory_budget", test_memory_budget);
    CU_add_test(s, "against_model", test_against_model);
    CU_add_test(s, "checkpoint_roundtrip", test_checkpoint_roundtrip);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
