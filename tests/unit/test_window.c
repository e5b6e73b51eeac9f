/* test_window.c - CUnit suite for processor/core/window: assignment,
 * watermarks, grace, lateness, emission order, hopping overlap, idle then
 * burst, partitions, checkpoints and memory release. Expected values are
 * worked out by hand in the comments. */
#include <CUnit/Basic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "processor/core/window.h"

/* ---- a test aggregate: count and sum of int64 events, plus a heap block
 * so that leaks show under valgrind and ASan ---- */

typedef struct agg {
    int64_t count;
    int64_t sum;
    int64_t *heap;
    int closed;
} agg;

static long live_payloads;

static llmopt_err_t agg_init(void *p, void *ctx) {
    agg *a = p;
    a->heap = malloc(sizeof(int64_t));
    if (!a->heap)
        return LLMOPT_ERR_NOMEM;
    *a->heap = 0;
    live_payloads++;
    return LLMOPT_OK;
}

static llmopt_err_t agg_add(void *p, const void *event, void *ctx) {
    agg *a = p;
    int64_t v = *(const int64_t *)event;
    if (v == -999)
        return LLMOPT_ERR_INVALID; /* lets a test make add fail */
    a->count++;
    a->sum += v;
    (*a->heap)++;
    return LLMOPT_OK;
}

static void agg_close(void *p, void *ctx) {
    ((agg *)p)->closed = 1;
}

static void agg_release(void *p, void *ctx) {
    free(((agg *)p)->heap);
    live_payloads--;
}

static void agg_serialize(const void *p, llmopt_wbuf *w, void *ctx) {
    const agg *a = p;
    llmopt_wbuf_i64(w, a->count);
    llmopt_wbuf_i64(w, a->sum);
    llmopt_wbuf_u8(w, (uint8_t)a->closed);
}

static llmopt_err_t agg_deserialize(void *p, llmopt_rbuf *r, void *ctx) {
    agg *a = p;
    a->count = llmopt_rbuf_i64(r);
    a->sum = llmopt_rbuf_i64(r);
    a->closed = llmopt_rbuf_u8(r);
    if (r->err || a->count < 0 || a->closed > 1)
        return LLMOPT_ERR_INVALID;
    return agg_init(p, ctx);
}

static const llmopt_window_ops OPS = {
    .payload_size = sizeof(agg),
    .init = agg_init,
    .add = agg_add,
    .close = agg_close,
    .release = agg_release,
    .serialize = agg_serialize,
    .deserialize = agg_deserialize,
};

static llmopt_window_store *mk(int64_t size, int64_t advance, int64_t offset, int64_t ooo,
                               int64_t grace) {
    llmopt_window_config c = {size, advance, offset, ooo, grace};
    char err[128] = "";
    llmopt_window_store *s = llmopt_window_store_new(&c, &OPS, err, sizeof(err));
    if (!s)
        printf("\n  store_new: %s", err);
    return s;
}

static int add(llmopt_window_store *s, uint32_t part, int64_t ts, const char *key, int64_t v) {
    int late = -1;
    llmopt_err_t err = llmopt_window_add(s, part, ts, key, strlen(key), &v, &late);
    CU_ASSERT_EQUAL(err, LLMOPT_OK);
    return late;
}

/* Pops everything into a compact text: "p:start:key:count:sum;" per window. */
static void drain(llmopt_window_store *s, char *out, size_t size) {
    size_t n = 0;
    out[0] = 0;
    llmopt_window_closed c;
    while (llmopt_window_pop(s, &c)) {
        const agg *a = c.payload;
        CU_ASSERT_EQUAL(c.end_ms - c.start_ms > 0, 1);
        CU_ASSERT_EQUAL(a->closed, 1);
        if (n < size) {
            int k = snprintf(out + n, size - n, "%u:%lld:%.*s:%lld:%lld;", c.partition,
                             (long long)c.start_ms, (int)c.key_len, (const char *)c.key,
                             (long long)a->count, (long long)a->sum);
            n = k > 0 && (size_t)k < size - n ? n + (size_t)k : size;
        }
        llmopt_window_closed_release(s, &c);
        CU_ASSERT_PTR_NULL(c.entry_);
    }
}

static void test_config_and_assign(void) {
    char err[128];
    llmopt_window_config bad[] = {
        {0, 1, 0, 0, 0}, {10, 0, 0, 0, 0}, {10, 11, 0, 0, 0}, {10, 10, 0, -1, 0},
        {10, 10, 0, 0, -1}, {1 << 20, 1, 0, 0, 0}, {((int64_t)1 << 52) + 1, 1 << 30, 0, 0, 0},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        CU_ASSERT_EQUAL(llmopt_window_config_check(&bad[i], err, sizeof(err)), LLMOPT_ERR_INVALID);
    llmopt_window_ops no_add = OPS;
    no_add.add = NULL;
    CU_ASSERT_PTR_NULL(llmopt_window_store_new(&(llmopt_window_config){10, 10, 0, 0, 0}, &no_add,
                                               err, sizeof(err)));

    int64_t st[8];
    llmopt_window_config tumb = {10, 10, 0, 0, 0};
    CU_ASSERT_EQUAL(llmopt_window_assign(&tumb, 0, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], 0);
    CU_ASSERT_EQUAL(llmopt_window_assign(&tumb, 9, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], 0);
    CU_ASSERT_EQUAL(llmopt_window_assign(&tumb, 10, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], 10);
    CU_ASSERT_EQUAL(llmopt_window_assign(&tumb, -1, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], -10);

    llmopt_window_config hop = {10, 5, 0, 0, 0};
    CU_ASSERT_EQUAL(llmopt_window_assign(&hop, 7, st, 8), 2);
    CU_ASSERT(st[0] == 0 && st[1] == 5);
    CU_ASSERT_EQUAL(llmopt_window_assign(&hop, 4, st, 8), 2);
    CU_ASSERT(st[0] == -5 && st[1] == 0);

    llmopt_window_config off = {10, 10, 3, 0, 0}; /* starts ..., -7, 3, 13, ... */
    CU_ASSERT_EQUAL(llmopt_window_assign(&off, 2, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], -7);
    CU_ASSERT_EQUAL(llmopt_window_assign(&off, 3, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], 3);
    llmopt_window_config negoff = {10, 10, -7, 0, 0}; /* same grid as offset 3 */
    CU_ASSERT_EQUAL(llmopt_window_assign(&negoff, 3, st, 8), 1);
    CU_ASSERT_EQUAL(st[0], 3);

    /* advance not dividing size: starts 0, 4, 8 contain 9 (0 + 10 > 9);
     * 10 is only in 4 and 8 */
    llmopt_window_config odd = {10, 4, 0, 0, 0};
    CU_ASSERT_EQUAL(llmopt_window_assign(&odd, 9, st, 8), 3);
    CU_ASSERT(st[0] == 0 && st[1] == 4 && st[2] == 8);
    CU_ASSERT_EQUAL(llmopt_window_assign(&odd, 10, st, 8), 2);
    CU_ASSERT(st[0] == 4 && st[1] == 8);
    CU_ASSERT_EQUAL(llmopt_window_assign(&odd, 9, st, 1), 3); /* count even if max smaller */
}

/* Tumbling 10 ms, no out-of-orderness, no grace: the event at 10 moves the
 * watermark to 10 >= end 10, so [0,10) closes; keys come out sorted, "a"
 * before its extension "ab" before "b". */
static void test_emission_order(void) {
    llmopt_window_store *s = mk(10, 10, 0, 0, 0);
    CU_ASSERT_EQUAL(add(s, 0, 1, "b", 1), 0);
    CU_ASSERT_EQUAL(add(s, 0, 2, "ab", 2), 0);
    CU_ASSERT_EQUAL(add(s, 0, 3, "a", 3), 0);
    CU_ASSERT_EQUAL(add(s, 0, 4, "b", 4), 0);
    char out[512];
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(llmopt_window_watermark(s, 0), 4);
    CU_ASSERT_EQUAL(add(s, 0, 10, "a", 10), 0);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:0:a:1:3;0:0:ab:1:2;0:0:b:2:5;");
    /* an explicit advance closes [10,20) only when it reaches 20 */
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 19), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    /* a lower advance never moves the watermark back */
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 5), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_window_watermark(s, 0), 19);
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 20), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:10:a:1:10;");
    /* several windows closed by one call: by end, then key */
    add(s, 0, 31, "z", 1);
    add(s, 0, 25, "y", 1);
    add(s, 0, 29, "a", 1); /* wm 31: [20,30) closed, 29 is late */
    add(s, 0, 35, "a", 1);
    add(s, 0, 45, "b", 1);
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 100), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:30:a:1:1;0:30:z:1:1;0:40:b:1:1;");
    llmopt_window_stats st;
    llmopt_window_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.late_events, 2); /* 25 and 29 came after [20,30) closed */
    CU_ASSERT_EQUAL(st.events, 10);
    llmopt_window_store_destroy(s);
    CU_ASSERT_EQUAL(live_payloads, 0);
}

/* ooo 5, grace 3, tumbling 10: watermark = max ts - 5; [0,10) closes when
 * the watermark reaches 13, i.e. once an event at 18 arrived. */
static void test_out_of_order_and_grace(void) {
    llmopt_window_store *s = mk(10, 10, 0, 5, 3);
    char out[512];
    CU_ASSERT_EQUAL(add(s, 0, 12, "k", 12), 0); /* wm 7 */
    CU_ASSERT_EQUAL(add(s, 0, 8, "k", 8), 0);   /* out of order, [0,10) open */
    CU_ASSERT_EQUAL(add(s, 0, 17, "k", 17), 0); /* wm 12: still open (needs 13) */
    CU_ASSERT_EQUAL(add(s, 0, 3, "k", 3), 0);   /* within grace */
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    CU_ASSERT_EQUAL(add(s, 0, 18, "k", 18), 0); /* wm 13: closes [0,10) */
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:0:k:2:11;");
    CU_ASSERT_EQUAL(add(s, 0, 9, "k", 9), 1); /* late: handed back */
    CU_ASSERT_EQUAL(add(s, 0, 9, "new", 9), 1);
    llmopt_window_stats st;
    llmopt_window_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.late_events, 2);
    CU_ASSERT_EQUAL(st.late_assignments, 2);
    CU_ASSERT_EQUAL(st.open_windows, 1); /* [10,20) for k; the late "new" made none */
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 1000), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:10:k:3:47;");
    llmopt_window_store_destroy(s);
    CU_ASSERT_EQUAL(live_payloads, 0);
}

/* Hopping size 10 advance 5, one event per ms at 0..19: each ts falls in
 * two windows; [-5,5) holds 0..4 (5 events, sum 10), [0,10) 0..9 (10, 45),
 * [5,15) 5..14 (10, 95), [10,20) 10..19 (10, 145), [15,25) 15..19 (5, 85). */
static void test_hopping_overlap(void) {
    llmopt_window_store *s = mk(10, 5, 0, 100, 0); /* ooo large: nothing closes early */
    for (int64_t t = 0; t < 20; t++)
        CU_ASSERT_EQUAL(add(s, 0, t, "k", t), 0);
    llmopt_window_stats st;
    llmopt_window_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.open_windows, 5);
    CU_ASSERT_EQUAL(st.windows_opened, 5);
    char out[512];
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 25), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:-5:k:5:10;0:0:k:10:45;0:5:k:10:95;0:10:k:10:145;0:15:k:5:85;");

    /* partial lateness: with wm 12 (ooo 0), [0,10) is closed, [5,15) open:
     * an event at 7 goes to [5,15) only and is not late */
    llmopt_window_store *h = mk(10, 5, 0, 0, 0);
    add(h, 0, 12, "k", 1);
    CU_ASSERT_EQUAL(add(h, 0, 7, "k", 1), 0);
    llmopt_window_get_stats(h, &st);
    CU_ASSERT_EQUAL(st.late_events, 0);
    CU_ASSERT_EQUAL(st.late_assignments, 1);
    llmopt_window_advance(h, 0, 100);
    drain(h, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:5:k:2:2;0:10:k:1:1;");
    llmopt_window_store_destroy(h);
    llmopt_window_store_destroy(s);
    CU_ASSERT_EQUAL(live_payloads, 0);
}

/* Partition 1 sits idle while partition 0 moves; the caller advances
 * partition 1 from its clock to 1000, then a burst arrives: events in
 * windows ending <= 1000 are late, the rest open windows. Partition 0's
 * windows are untouched by partition 1's watermark. */
static void test_idle_then_burst(void) {
    llmopt_window_store *s = mk(100, 100, 0, 0, 0);
    char out[1024];
    add(s, 0, 50, "r", 1);
    add(s, 1, 40, "r", 1);
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 1, 1000), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "1:0:r:1:1;"); /* only partition 1's window */
    int late = 0;
    for (int64_t t = 850; t < 1250; t += 50)
        late += add(s, 1, t, "r", 1);
    CU_ASSERT_EQUAL(late, 3); /* 850, 900, 950 */
    CU_ASSERT_EQUAL(llmopt_window_watermark(s, 1), 1200);
    drain(s, out, sizeof(out));
    /* 1000 and 1050 closed by the event at 1100, 1100 and 1150 by 1200 */
    CU_ASSERT_STRING_EQUAL(out, "1:1000:r:2:2;1:1100:r:2:2;");
    CU_ASSERT_EQUAL(llmopt_window_watermark(s, 0), 50);
    CU_ASSERT_EQUAL(llmopt_window_watermark(s, 7), INT64_MIN);
    CU_ASSERT_EQUAL(llmopt_window_advance(s, 0, 100), LLMOPT_OK);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "0:0:r:1:1;");

    /* dropping a partition releases its windows without emitting */
    llmopt_window_drop_partition(s, 1);
    llmopt_window_advance(s, 1, 1000000);
    drain(s, out, sizeof(out));
    CU_ASSERT_STRING_EQUAL(out, "");
    llmopt_window_stats st;
    llmopt_window_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.open_windows, 0);
    CU_ASSERT_EQUAL(live_payloads, 0);
    llmopt_window_store_destroy(s);
}

static void test_errors_and_memory(void) {
    llmopt_window_store *s = mk(10, 10, 0, 0, 0);
    llmopt_window_stats st0, st;
    llmopt_window_get_stats(s, &st0);
    int64_t v = 1;
    int late;
    CU_ASSERT_EQUAL(llmopt_window_add(s, 0, LLMOPT_WINDOW_TS_MAX + 1, "k", 1, &v, &late),
                    LLMOPT_ERR_RANGE);
    static char big[LLMOPT_WINDOW_KEY_MAX + 1];
    CU_ASSERT_EQUAL(llmopt_window_add(s, 0, 1, big, sizeof(big), &v, &late), LLMOPT_ERR_INVALID);
    v = -999; /* the aggregate refuses it: error passed through */
    CU_ASSERT_EQUAL(llmopt_window_add(s, 0, 1, "k", 1, &v, &late), LLMOPT_ERR_INVALID);
    /* empty keys are keys too */
    v = 1;
    CU_ASSERT_EQUAL(llmopt_window_add(s, 0, 1, NULL, 0, &v, &late), LLMOPT_OK);

    /* 10k keys over 5 windows, then close and release everything: the store
     * returns to its starting footprint apart from its tables */
    char key[32];
    for (int w = 0; w < 5; w++)
        for (int k = 0; k < 10000; k++) {
            snprintf(key, sizeof(key), "route-%d/arm-%d", k % 100, k / 100);
            add(s, 0, 10 * w + 1 + (k % 9), key, 1);
        }
    llmopt_window_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.open_windows, 10000); /* window 4; 0..3 closed */
    CU_ASSERT_EQUAL(st.ready_windows, 40002); /* + "k" (add failed) and "" in window 0 */
    llmopt_window_advance(s, 0, 1000);
    size_t popped = 0;
    llmopt_window_closed c;
    int64_t prev_start = INT64_MIN;
    int ordered = 1;
    while (llmopt_window_pop(s, &c)) {
        ordered &= c.start_ms >= prev_start;
        prev_start = c.start_ms;
        llmopt_window_closed_release(s, &c);
        popped++;
    }
    CU_ASSERT(ordered);
    CU_ASSERT_EQUAL(popped, 50002);
    CU_ASSERT_EQUAL(live_payloads, 0);
    llmopt_window_get_stats(s, &st);
    CU_ASSERT_EQUAL(st.open_windows, 0);
    CU_ASSERT_EQUAL(st.windows_closed, 50002);
    /* what is left is the hash table, partition and queue arrays */
    CU_ASSERT(st.store_bytes < st0.store_bytes + 1024 * 1024);
    printf("\n  store bytes after release: %zu (empty: %zu)", st.store_bytes, st0.store_bytes);
    /* destroy with open and unpopped windows frees them */
    add(s, 0, 2000, "x", 1);
    add(s, 0, 2010, "y", 1);
    CU_ASSERT_EQUAL(live_payloads, 2);
    llmopt_window_store_destroy(s);
    CU_ASSERT_EQUAL(live_payloads, 0);
    llmopt_window_store_destroy(NULL);
}

/* The same input, with and without a checkpoint taken and restored midway,
 * gives the same windows; save is canonical (save, load, save: same bytes). */
static void feed(llmopt_window_store *s, uint64_t *seed, int n, int64_t base_ms) {
    for (int i = 0; i < n; i++) {
        *seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t r = *seed >> 33;
        char key[8];
        snprintf(key, sizeof(key), "k%u", (unsigned)(r % 7));
        int64_t ts = base_ms + i * 3 - (int64_t)(r % 80); /* out of order by up to 80 */
        int64_t v = (int64_t)(r % 1000);
        int late;
        llmopt_window_add(s, (uint32_t)(r % 3), ts, key, strlen(key), &v, &late);
    }
}

static void test_checkpoint(void) {
    llmopt_window_store *a = mk(30, 10, 5, 20, 5);
    uint64_t seed = 1;
    /* The byte-flip loop below loads the whole checkpoint once per 7 bytes:
     * quadratic in its size, and malloc-bound. Under valgrind
     * (LLMOPT_SKIP_SLOW=1, set only for that build) the checkpoint is of
     * 100 events instead of 500: still open, ready and late windows in three
     * partitions (asserted below), about a fifth of the bytes. */
    feed(a, &seed, getenv("LLMOPT_SKIP_SLOW") ? 100 : 500, 0);
    llmopt_window_advance(a, 9, 12345); /* a partition with no windows */
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_window_store_save(a, &w1);
    CU_ASSERT_EQUAL_FATAL(w1.err, 0);
    llmopt_window_stats sa, sb;
    llmopt_window_get_stats(a, &sa);
    CU_ASSERT(sa.ready_windows > 0 && sa.open_windows > 0 && sa.late_events > 0);
    printf("\n  checkpoint: %zu bytes, %llu ready, %llu open windows, %llu late events", w1.len,
           (unsigned long long)sa.ready_windows, (unsigned long long)sa.open_windows,
           (unsigned long long)sa.late_events);

    llmopt_window_store *b = mk(30, 10, 5, 20, 5);
    char err[128] = "";
    CU_ASSERT_EQUAL_FATAL(llmopt_window_store_load(b, w1.data, w1.len, err, sizeof(err)),
                          LLMOPT_OK);
    llmopt_window_store_save(b, &w2);
    CU_ASSERT_EQUAL(w1.len, w2.len);
    CU_ASSERT(memcmp(w1.data, w2.data, w1.len) == 0);
    llmopt_window_get_stats(b, &sb);
    CU_ASSERT_EQUAL(sa.open_windows, sb.open_windows);
    CU_ASSERT_EQUAL(sa.ready_windows, sb.ready_windows);
    CU_ASSERT_EQUAL(sa.late_events, sb.late_events);
    CU_ASSERT_EQUAL(llmopt_window_watermark(b, 9), 12345);
    CU_ASSERT_EQUAL(llmopt_window_store_load(b, w1.data, w1.len, err, sizeof(err)),
                    LLMOPT_ERR_STATE);

    uint64_t seed_b = seed;
    feed(a, &seed, 500, 1500);
    feed(b, &seed_b, 500, 1500);
    for (uint32_t p = 0; p < 3; p++) {
        llmopt_window_advance(a, p, 100000);
        llmopt_window_advance(b, p, 100000);
    }
    static char oa[1 << 20], ob[1 << 20];
    drain(a, oa, sizeof(oa));
    drain(b, ob, sizeof(ob));
    CU_ASSERT(strlen(oa) > 100);
    CU_ASSERT_STRING_EQUAL(oa, ob);

    /* a different config is refused; every truncation fails and leaves the
     * store empty; flipped bytes fail or load, never crash or leak */
    llmopt_window_store *c = mk(30, 10, 5, 20, 6);
    CU_ASSERT_EQUAL(llmopt_window_store_load(c, w1.data, w1.len, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "checkpoint window config differs");
    llmopt_window_store_destroy(c);
    int all_failed = 1;
    for (size_t cut = 0; cut < w1.len; cut += 1 + cut / 16) {
        llmopt_window_store *t = mk(30, 10, 5, 20, 5);
        all_failed &= llmopt_window_store_load(t, w1.data, cut, NULL, 0) != LLMOPT_OK;
        llmopt_window_stats ts;
        llmopt_window_get_stats(t, &ts);
        CU_ASSERT_EQUAL(ts.open_windows + ts.ready_windows + ts.events, 0);
        llmopt_window_store_destroy(t);
    }
    CU_ASSERT(all_failed);
    for (size_t i = 0; i < w1.len; i += 7) {
        uint8_t *copy = malloc(w1.len);
        memcpy(copy, w1.data, w1.len);
        copy[i] ^= 0x41;
        llmopt_window_store *t = mk(30, 10, 5, 20, 5);
        if (llmopt_window_store_load(t, copy, w1.len, NULL, 0) == LLMOPT_OK) {
            uint64_t sd = 5;
            feed(t, &sd, 50, 1500);
            llmopt_window_advance(t, 0, 1000000);
        }
        llmopt_window_store_destroy(t);
        free(copy);
    }
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
    llmopt_window_store_destroy(a);
    llmopt_window_store_destroy(b);
    CU_ASSERT_EQUAL(live_payloads, 0);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("window", NULL, NULL);
    CU_add_test(s, "config_and_assign", test_config_and_assign);
    CU_add_test(s, "emission_order", test_emission_order);
    CU_add_test(s, "out_of_order_and_grace", test_out_of_order_and_grace);
    CU_add_test(s, "hopping_overlap", test_hopping_overlap);
    CU_add_test(s, "idle_then_burst", test_idle_then_burst);
    CU_add_test(s, "errors_and_memory", test_errors_and_memory);
    CU_add_test(s, "checkpoint", test_checkpoint);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
