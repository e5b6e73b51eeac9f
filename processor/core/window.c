/*
 * window.c - event-time window assigner and store (see window.h).
 *
 * Layout: one hash table over all open windows, keyed by (partition, start,
 * key bytes), for the per-event lookup; and per partition a sorted array of
 * "slices", one per distinct open start, each listing its windows, so that
 * closing walks the oldest slices only. With one window size, ordering
 * slices by start orders them by end as well.
 */
#include "processor/core/window.h"

#include <stdalign.h>
#include <stdlib.h>
#include <string.h>

#define WS_TAG "WSTO"
#define WS_VERSION 1
#define WS_MAX_PARTITIONS 65536u

typedef struct wentry {
    struct wentry *hnext;
    uint64_t hash;
    int64_t start;
    uint32_t partition;
    uint32_t key_len;
    void *payload;
    size_t bytes; /* whole allocation */
    uint8_t key[];
} wentry;

typedef struct wslice {
    int64_t start;
    wentry **items;
    uint32_t n, cap;
} wslice;

typedef struct wpart {
    uint32_t id;
    int has_max;
    int64_t max_ts;
    int64_t wm; /* INT64_MIN until the first event or advance */
    wslice *slices; /* ascending start */
    uint32_t nslices, cap;
} wpart;

struct llmopt_window_store {
    llmopt_window_config cfg; /* offset normalised to [0, advance) */
    llmopt_window_ops ops;

    wentry **buckets;
    size_t nbuckets; /* power of two */
    size_t nopen;

    wpart *parts; /* ascending id */
    uint32_t nparts, partcap;

    wentry **ready; /* FIFO [head, tail) */
    size_t head, tail, readycap;

    llmopt_window_stats st;
};

/* ---- assigner ---- */

llmopt_err_t llmopt_window_config_check(const llmopt_window_config *c, char *errstr,
                                        size_t errstr_size) {
    if (c->size_ms <= 0 || c->size_ms > LLMOPT_WINDOW_DURATION_MAX)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "window 'size_ms' must be in [1, 2^52]");
    if (c->advance_ms <= 0 || c->advance_ms > c->size_ms)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "window 'advance_ms' must be in [1, size_ms]");
    if ((c->size_ms + c->advance_ms - 1) / c->advance_ms > LLMOPT_WINDOW_MAX_OVERLAP)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "window 'size_ms' / 'advance_ms' exceeds %d overlapping windows",
                           LLMOPT_WINDOW_MAX_OVERLAP);
    if (c->ooo_ms < 0 || c->ooo_ms > LLMOPT_WINDOW_DURATION_MAX)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "window 'ooo_ms' must be in [0, 2^52]");
    if (c->grace_ms < 0 || c->grace_ms > LLMOPT_WINDOW_DURATION_MAX)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "window 'grace_ms' must be in [0, 2^52]");
    return LLMOPT_OK;
}

static int64_t floor_div(int64_t a, int64_t b) {
    int64_t q = a / b;
    if (a % b < 0)
        q--;
    return q;
}

static int64_t norm_offset(const llmopt_window_config *c) {
    int64_t o = c->offset_ms % c->advance_ms;
    return o < 0 ? o + c->advance_ms : o;
}

size_t llmopt_window_assign(const llmopt_window_config *c, int64_t ts_ms, int64_t *starts,
                            size_t max) {
    int64_t off = norm_offset(c);
    int64_t last = off + floor_div(ts_ms - off, c->advance_ms) * c->advance_ms;
    int64_t first = last;
    while (first - c->advance_ms > ts_ms - c->size_ms)
        first -= c->advance_ms;
    size_t n = 0;
    for (int64_t s = first; s <= last; s += c->advance_ms, n++)
        if (n < max)
            starts[n] = s;
    return n;
}

/* ---- keys and hashing ---- */

static uint64_t mix64(uint64_t z) {
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

/* Eight key bytes per step, and once per event: the windows of a hopping
 * event differ only in start, mixed in by window_hash(). Not seeded: keys
 * are route and arm names from our own gateways. */
static uint64_t key_part(uint32_t partition, const uint8_t *key, size_t len) {
    uint64_t h = mix64(((uint64_t)partition << 32) ^ (uint64_t)len);
    size_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, key + i, 8);
        h = mix64(h ^ w) + 0x9e3779b97f4a7c15ULL;
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, key + i, len - i);
        h = mix64(h ^ w ^ 0xff51afd7ed558ccdULL);
    }
    return h;
}

static uint64_t window_hash(uint64_t key_h, int64_t start) {
    return mix64(key_h ^ ((uint64_t)start * 0x9e3779b97f4a7c15ULL));
}

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen) {
    int c = memcmp(a, b, alen < blen ? alen : blen);
    if (c)
        return c;
    return (alen > blen) - (alen < blen);
}

static int entry_cmp(const void *pa, const void *pb) {
    const wentry *a = *(wentry *const *)pa, *b = *(wentry *const *)pb;
    if (a->start != b->start)
        return a->start < b->start ? -1 : 1;
    int c = key_cmp(a->key, a->key_len, b->key, b->key_len);
    if (c)
        return c;
    return (a->partition > b->partition) - (a->partition < b->partition);
}

/* ---- store plumbing ---- */

static size_t payload_offset(size_t key_len) {
    size_t off = sizeof(wentry) + key_len;
    size_t a = alignof(max_align_t);
    return (off + a - 1) / a * a;
}

static wentry *entry_alloc(llmopt_window_store *s, uint32_t partition, int64_t start,
                           const void *key, size_t key_len, uint64_t hash) {
    size_t off = payload_offset(key_len);
    size_t bytes = off + s->ops.payload_size;
    wentry *e = calloc(1, bytes);
    if (!e)
        return NULL;
    e->hash = hash;
    e->start = start;
    e->partition = partition;
    e->key_len = (uint32_t)key_len;
    e->payload = (uint8_t *)e + off;
    e->bytes = bytes;
    if (key_len)
        memcpy(e->key, key, key_len);
    return e;
}

/* Frees an entry whose payload was set up. */
static void entry_release(llmopt_window_store *s, wentry *e) {
    s->ops.release(e->payload, s->ops.ctx);
    s->st.store_bytes -= e->bytes;
    free(e);
}

static wpart *part_find(const llmopt_window_store *s, uint32_t id) {
    if (s->nparts == 1) /* an engine's store: one partition, on every event */
        return s->parts[0].id == id ? &s->parts[0] : NULL;
    uint32_t lo = 0, hi = s->nparts;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (s->parts[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < s->nparts && s->parts[lo].id == id ? &s->parts[lo] : NULL;
}

static wpart *part_get(llmopt_window_store *s, uint32_t id) {
    wpart *p = part_find(s, id);
    if (p)
        return p;
    if (s->nparts == WS_MAX_PARTITIONS)
        return NULL;
    if (s->nparts == s->partcap) {
        uint32_t cap = s->partcap ? s->partcap * 2 : 8;
        wpart *np = realloc(s->parts, cap * sizeof(*np));
        if (!np)
            return NULL;
        s->st.store_bytes += (cap - s->partcap) * sizeof(*np);
        s->parts = np;
        s->partcap = cap;
    }
    uint32_t at = 0;
    while (at < s->nparts && s->parts[at].id < id)
        at++;
    memmove(&s->parts[at + 1], &s->parts[at], (s->nparts - at) * sizeof(*s->parts));
    s->nparts++;
    p = &s->parts[at];
    memset(p, 0, sizeof(*p));
    p->id = id;
    p->wm = INT64_MIN;
    return p;
}

static int hash_grow(llmopt_window_store *s) {
    size_t n = s->nbuckets ? s->nbuckets * 2 : 64;
    wentry **b = calloc(n, sizeof(*b));
    if (!b)
        return -1;
    for (size_t i = 0; i < s->nbuckets; i++) {
        wentry *e = s->buckets[i];
        while (e) {
            wentry *next = e->hnext;
            e->hnext = b[e->hash & (n - 1)];
            b[e->hash & (n - 1)] = e;
            e = next;
        }
    }
    s->st.store_bytes += (n - s->nbuckets) * sizeof(*b);
    free(s->buckets);
    s->buckets = b;
    s->nbuckets = n;
    return 0;
}

static wentry *hash_find(const llmopt_window_store *s, uint64_t h, uint32_t partition,
                         int64_t start, const void *key, size_t key_len) {
    if (!s->nbuckets)
        return NULL;
    for (wentry *e = s->buckets[h & (s->nbuckets - 1)]; e; e = e->hnext)
        if (e->hash == h && e->start == start && e->partition == partition &&
            e->key_len == key_len && memcmp(e->key, key, key_len) == 0)
            return e;
    return NULL;
}

static void hash_insert(llmopt_window_store *s, wentry *e) {
    wentry **b = &s->buckets[e->hash & (s->nbuckets - 1)];
    e->hnext = *b;
    *b = e;
    s->nopen++;
}

static void hash_remove(llmopt_window_store *s, wentry *e) {
    wentry **pp = &s->buckets[e->hash & (s->nbuckets - 1)];
    while (*pp != e)
        pp = &(*pp)->hnext;
    *pp = e->hnext;
    e->hnext = NULL;
    s->nopen--;
}

/* The slice for start in p, created when missing; NULL when out of memory. */
static wslice *slice_get(llmopt_window_store *s, wpart *p, int64_t start) {
    uint32_t lo = 0, hi = p->nslices;
    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;
        if (p->slices[mid].start < start)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < p->nslices && p->slices[lo].start == start)
        return &p->slices[lo];
    if (p->nslices == p->cap) {
        uint32_t cap = p->cap ? p->cap * 2 : 4;
        wslice *ns = realloc(p->slices, cap * sizeof(*ns));
        if (!ns)
            return NULL;
        s->st.store_bytes += (cap - p->cap) * sizeof(*ns);
        p->slices = ns;
        p->cap = cap;
    }
    memmove(&p->slices[lo + 1], &p->slices[lo], (p->nslices - lo) * sizeof(*p->slices));
    p->nslices++;
    memset(&p->slices[lo], 0, sizeof(p->slices[lo]));
    p->slices[lo].start = start;
    return &p->slices[lo];
}

static int slice_push(llmopt_window_store *s, wslice *sl, wentry *e) {
    if (sl->n == sl->cap) {
        uint32_t cap = sl->cap ? sl->cap * 2 : 4;
        wentry **ni = realloc(sl->items, cap * sizeof(*ni));
        if (!ni)
            return -1;
        s->st.store_bytes += (cap - sl->cap) * sizeof(*ni);
        sl->items = ni;
        sl->cap = cap;
    }
    sl->items[sl->n++] = e;
    return 0;
}

static void slice_remove_front(llmopt_window_store *s, wpart *p) {
    s->st.store_bytes -= p->slices[0].cap * sizeof(wentry *);
    free(p->slices[0].items);
    p->nslices--;
    memmove(&p->slices[0], &p->slices[1], p->nslices * sizeof(*p->slices));
}

/* Undo an empty slice made by a failed insert. */
static void slice_drop_if_empty(llmopt_window_store *s, wpart *p, int64_t start) {
    for (uint32_t i = 0; i < p->nslices; i++) {
        if (p->slices[i].start == start) {
            if (p->slices[i].n == 0) {
                s->st.store_bytes -= p->slices[i].cap * sizeof(wentry *);
                free(p->slices[i].items);
                p->nslices--;
                memmove(&p->slices[i], &p->slices[i + 1],
                        (p->nslices - i) * sizeof(*p->slices));
            }
            return;
        }
    }
}

static int ready_reserve(llmopt_window_store *s, size_t more) {
    if (s->head == s->tail)
        s->head = s->tail = 0;
    if (s->tail + more <= s->readycap)
        return 0;
    if (s->head > 0) {
        memmove(s->ready, s->ready + s->head, (s->tail - s->head) * sizeof(*s->ready));
        s->tail -= s->head;
        s->head = 0;
        if (s->tail + more <= s->readycap)
            return 0;
    }
    size_t cap = s->readycap ? s->readycap : 64;
    while (cap < s->tail + more)
        cap *= 2;
    wentry **r = realloc(s->ready, cap * sizeof(*r));
    if (!r)
        return -1;
    s->st.store_bytes += (cap - s->readycap) * sizeof(*r);
    s->ready = r;
    s->readycap = cap;
    return 0;
}

static int64_t window_end(const llmopt_window_store *s, int64_t start) {
    return start + s->cfg.size_ms;
}

static int is_closed(const llmopt_window_store *s, const wpart *p, int64_t start) {
    return p->wm >= window_end(s, start) + s->cfg.grace_ms;
}

/* Move every window of p its watermark has reached to the ready queue, in
 * (end, start, key) order. Room in the queue is reserved per slice before
 * anything moves, so on NOMEM the slice stays open and a later call retries. */
static llmopt_err_t close_reached(llmopt_window_store *s, wpart *p) {
    while (p->nslices && is_closed(s, p, p->slices[0].start)) {
        wslice *sl = &p->slices[0];
        if (ready_reserve(s, sl->n) != 0)
            return LLMOPT_ERR_NOMEM;
        qsort(sl->items, sl->n, sizeof(*sl->items), entry_cmp);
        for (uint32_t i = 0; i < sl->n; i++) {
            wentry *e = sl->items[i];
            hash_remove(s, e);
            if (s->ops.close)
                s->ops.close(e->payload, s->ops.ctx);
            s->ready[s->tail++] = e;
            s->st.windows_closed++;
        }
        slice_remove_front(s, p);
    }
    return LLMOPT_OK;
}

/* ---- public API ---- */

llmopt_window_store *llmopt_window_store_new(const llmopt_window_config *cfg,
                                             const llmopt_window_ops *ops, char *errstr,
                                             size_t errstr_size) {
    if (llmopt_window_config_check(cfg, errstr, errstr_size) != LLMOPT_OK)
        return NULL;
    if (!ops || !ops->init || !ops->add || !ops->release ||
        !ops->serialize != !ops->deserialize) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                    "window ops need init, add, release and both or neither of "
                    "serialize and deserialize");
        return NULL;
    }
    if (ops->payload_size > ((size_t)1 << 30)) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "window 'payload_size' too large");
        return NULL;
    }
    llmopt_window_store *s = calloc(1, sizeof(*s));
    if (!s) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->cfg = *cfg;
    s->cfg.offset_ms = norm_offset(cfg);
    s->ops = *ops;
    s->st.store_bytes = sizeof(*s);
    return s;
}

static void store_clear(llmopt_window_store *s) {
    for (uint32_t i = 0; i < s->nparts; i++) {
        wpart *p = &s->parts[i];
        for (uint32_t j = 0; j < p->nslices; j++) {
            for (uint32_t k = 0; k < p->slices[j].n; k++)
                entry_release(s, p->slices[j].items[k]);
            free(p->slices[j].items);
        }
        free(p->slices);
    }
    for (size_t i = s->head; i < s->tail; i++)
        entry_release(s, s->ready[i]);
    free(s->parts);
    free(s->buckets);
    free(s->ready);
    s->parts = NULL;
    s->nparts = s->partcap = 0;
    s->buckets = NULL;
    s->nbuckets = s->nopen = 0;
    s->ready = NULL;
    s->head = s->tail = s->readycap = 0;
    memset(&s->st, 0, sizeof(s->st));
    s->st.store_bytes = sizeof(*s);
}

void llmopt_window_store_destroy(llmopt_window_store *s) {
    if (!s)
        return;
    store_clear(s);
    free(s);
}

/* Find or create the open window; NULL with *err on failure. */
static wentry *window_get(llmopt_window_store *s, wpart **pp, uint32_t partition, int64_t start,
                          const void *key, size_t key_len, uint64_t key_h, llmopt_err_t *err) {
    uint64_t h = window_hash(key_h, start);
    wentry *e = hash_find(s, h, partition, start, key, key_len);
    if (e)
        return e;
    *err = LLMOPT_ERR_NOMEM;
    if (s->nopen >= s->nbuckets && hash_grow(s) != 0)
        return NULL;
    wslice *sl = slice_get(s, *pp, start);
    if (!sl)
        return NULL;
    e = entry_alloc(s, partition, start, key, key_len, h);
    if (!e || slice_push(s, sl, e) != 0) {
        free(e);
        slice_drop_if_empty(s, *pp, start);
        return NULL;
    }
    llmopt_err_t ierr = s->ops.init(e->payload, s->ops.ctx);
    if (ierr != LLMOPT_OK) {
        sl->n--;
        free(e);
        slice_drop_if_empty(s, *pp, start);
        *err = ierr;
        return NULL;
    }
    s->st.store_bytes += e->bytes;
    hash_insert(s, e);
    s->st.windows_opened++;
    return e;
}

llmopt_err_t llmopt_window_add(llmopt_window_store *s, uint32_t partition, int64_t ts_ms,
                               const void *key, size_t key_len, const void *event, int *late) {
    if (late)
        *late = 0;
    if (ts_ms < LLMOPT_WINDOW_TS_MIN || ts_ms > LLMOPT_WINDOW_TS_MAX)
        return LLMOPT_ERR_RANGE;
    if (key_len > LLMOPT_WINDOW_KEY_MAX || (key_len && !key))
        return LLMOPT_ERR_INVALID;
    wpart *p = part_get(s, partition);
    if (!p)
        return LLMOPT_ERR_NOMEM;
    s->st.events++;

    int64_t starts[LLMOPT_WINDOW_MAX_OVERLAP];
    size_t n = llmopt_window_assign(&s->cfg, ts_ms, starts, LLMOPT_WINDOW_MAX_OVERLAP);
    size_t missed = 0;
    while (missed < n && is_closed(s, p, starts[missed]))
        missed++;
    s->st.late_assignments += missed;
    if (missed == n) {
        s->st.late_events++;
        if (late)
            *late = 1;
        return LLMOPT_OK;
    }
    uint64_t key_h = key_part(partition, key, key_len);
    for (size_t i = missed; i < n; i++) {
        llmopt_err_t err = LLMOPT_OK;
        wentry *e = window_get(s, &p, partition, starts[i], key, key_len, key_h, &err);
        if (!e)
            return err;
        if ((err = s->ops.add(e->payload, event, s->ops.ctx)) != LLMOPT_OK)
            return err;
    }
    if (!p->has_max || ts_ms > p->max_ts) {
        p->has_max = 1;
        p->max_ts = ts_ms;
    }
    int64_t wm = p->max_ts - s->cfg.ooo_ms;
    if (wm > p->wm)
        p->wm = wm;
    return close_reached(s, p);
}

llmopt_err_t llmopt_window_advance(llmopt_window_store *s, uint32_t partition,
                                   int64_t watermark_ms) {
    if (watermark_ms > LLMOPT_WINDOW_TS_MAX)
        watermark_ms = LLMOPT_WINDOW_TS_MAX;
    if (watermark_ms < LLMOPT_WINDOW_TS_MIN)
        watermark_ms = LLMOPT_WINDOW_TS_MIN;
    wpart *p = part_get(s, partition);
    if (!p)
        return LLMOPT_ERR_NOMEM;
    if (watermark_ms > p->wm)
        p->wm = watermark_ms;
    return close_reached(s, p);
}

int64_t llmopt_window_watermark(const llmopt_window_store *s, uint32_t partition) {
    const wpart *p = part_find(s, partition);
    return p ? p->wm : INT64_MIN;
}

void llmopt_window_drop_partition(llmopt_window_store *s, uint32_t partition) {
    wpart *p = part_find(s, partition);
    if (!p)
        return;
    for (uint32_t j = 0; j < p->nslices; j++) {
        for (uint32_t k = 0; k < p->slices[j].n; k++) {
            hash_remove(s, p->slices[j].items[k]);
            entry_release(s, p->slices[j].items[k]);
        }
        s->st.store_bytes -= p->slices[j].cap * sizeof(wentry *);
        free(p->slices[j].items);
    }
    s->st.store_bytes -= p->cap * sizeof(wslice);
    free(p->slices);
    size_t at = (size_t)(p - s->parts);
    s->nparts--;
    memmove(&s->parts[at], &s->parts[at + 1], (s->nparts - at) * sizeof(*s->parts));
}

int llmopt_window_pop(llmopt_window_store *s, llmopt_window_closed *out) {
    if (s->head == s->tail)
        return 0;
    wentry *e = s->ready[s->head++];
    out->partition = e->partition;
    out->start_ms = e->start;
    out->end_ms = window_end(s, e->start);
    out->key = e->key;
    out->key_len = e->key_len;
    out->payload = e->payload;
    out->entry_ = e;
    return 1;
}

void llmopt_window_closed_release(llmopt_window_store *s, llmopt_window_closed *c) {
    if (!c || !c->entry_)
        return;
    entry_release(s, c->entry_);
    memset(c, 0, sizeof(*c));
}

void llmopt_window_get_stats(const llmopt_window_store *s, llmopt_window_stats *st) {
    *st = s->st;
    st->open_windows = s->nopen;
    st->ready_windows = s->tail - s->head;
}

/* ---- checkpoints ---- */

static void save_entry(const llmopt_window_store *s, const wentry *e, llmopt_wbuf *w,
                       llmopt_wbuf *tmp) {
    llmopt_wbuf_u32(w, e->partition);
    llmopt_wbuf_i64(w, e->start);
    llmopt_wbuf_u32(w, e->key_len);
    llmopt_wbuf_bytes(w, e->key, e->key_len);
    tmp->len = 0;
    s->ops.serialize(e->payload, tmp, s->ops.ctx);
    if (tmp->err && !w->err)
        w->err = tmp->err;
    llmopt_wbuf_u32(w, (uint32_t)tmp->len);
    llmopt_wbuf_bytes(w, tmp->data, tmp->len);
}

void llmopt_window_store_save(const llmopt_window_store *s, llmopt_wbuf *w) {
    if (!s->ops.serialize) {
        if (!w->err)
            w->err = LLMOPT_ERR_INVALID;
        return;
    }
    llmopt_wbuf_header(w, WS_TAG, WS_VERSION);
    llmopt_wbuf_i64(w, s->cfg.size_ms);
    llmopt_wbuf_i64(w, s->cfg.advance_ms);
    llmopt_wbuf_i64(w, s->cfg.offset_ms);
    llmopt_wbuf_i64(w, s->cfg.ooo_ms);
    llmopt_wbuf_i64(w, s->cfg.grace_ms);
    llmopt_wbuf_u64(w, s->ops.payload_size);
    llmopt_wbuf_u64(w, s->st.events);
    llmopt_wbuf_u64(w, s->st.late_events);
    llmopt_wbuf_u64(w, s->st.late_assignments);
    llmopt_wbuf_u64(w, s->st.windows_opened);
    llmopt_wbuf_u64(w, s->st.windows_closed);

    llmopt_wbuf_u32(w, s->nparts);
    for (uint32_t i = 0; i < s->nparts; i++) {
        const wpart *p = &s->parts[i];
        llmopt_wbuf_u32(w, p->id);
        llmopt_wbuf_u8(w, (uint8_t)p->has_max);
        llmopt_wbuf_i64(w, p->has_max ? p->max_ts : 0);
        llmopt_wbuf_i64(w, p->wm);
    }

    llmopt_wbuf tmp;
    llmopt_wbuf_init(&tmp);
    llmopt_wbuf_u64(w, s->nopen);
    wentry **sorted = NULL;
    for (uint32_t i = 0; i < s->nparts; i++) {
        const wpart *p = &s->parts[i];
        for (uint32_t j = 0; j < p->nslices; j++) {
            const wslice *sl = &p->slices[j];
            wentry **items = realloc(sorted, (sl->n ? sl->n : 1) * sizeof(*items));
            if (!items) {
                w->err = LLMOPT_ERR_NOMEM;
                goto out;
            }
            sorted = items;
            memcpy(sorted, sl->items, sl->n * sizeof(*sorted));
            qsort(sorted, sl->n, sizeof(*sorted), entry_cmp);
            for (uint32_t k = 0; k < sl->n; k++)
                save_entry(s, sorted[k], w, &tmp);
        }
    }
    llmopt_wbuf_u64(w, s->tail - s->head);
    for (size_t i = s->head; i < s->tail; i++)
        save_entry(s, s->ready[i], w, &tmp);
out:
    free(sorted);
    llmopt_wbuf_release(&tmp);
}

/* Reads one framed window; *e set on success. */
static llmopt_err_t load_entry(llmopt_window_store *s, llmopt_rbuf *r, wentry **out,
                               const char **why) {
    uint32_t partition = llmopt_rbuf_u32(r);
    int64_t start = llmopt_rbuf_i64(r);
    uint32_t key_len = llmopt_rbuf_u32(r);
    if (r->err)
        return r->err;
    if (key_len > LLMOPT_WINDOW_KEY_MAX || key_len > r->left) {
        *why = "bad window key length";
        return LLMOPT_ERR_INVALID;
    }
    if (start < LLMOPT_WINDOW_TS_MIN - s->cfg.size_ms || start > LLMOPT_WINDOW_TS_MAX ||
        (start - s->cfg.offset_ms) % s->cfg.advance_ms != 0) {
        *why = "window start not on the window grid";
        return LLMOPT_ERR_INVALID;
    }
    const uint8_t *key = r->p;
    r->p += key_len;
    r->left -= key_len;
    uint32_t plen = llmopt_rbuf_u32(r);
    if (r->err)
        return r->err;
    if (plen > r->left) {
        r->err = LLMOPT_ERR_TRUNCATED;
        return r->err;
    }
    wentry *e = entry_alloc(s, partition, start, key, key_len,
                            window_hash(key_part(partition, key, key_len), start));
    if (!e)
        return LLMOPT_ERR_NOMEM;
    llmopt_rbuf pr;
    llmopt_rbuf_init(&pr, r->p, plen);
    r->p += plen;
    r->left -= plen;
    llmopt_err_t err = s->ops.deserialize(e->payload, &pr, s->ops.ctx);
    if (err == LLMOPT_OK && (pr.err || pr.left)) {
        s->ops.release(e->payload, s->ops.ctx);
        err = LLMOPT_ERR_INVALID;
    }
    if (err != LLMOPT_OK) {
        free(e);
        *why = "bad window payload";
        return err == LLMOPT_ERR_NOMEM ? err : LLMOPT_ERR_INVALID;
    }
    s->st.store_bytes += e->bytes;
    *out = e;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_window_store_load(llmopt_window_store *s, const void *data, size_t len,
                                      char *errstr, size_t errstr_size) {
    if (s->nparts || s->nopen || s->head != s->tail || s->st.events)
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size, "window store not empty");
    if (!s->ops.deserialize)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "window ops have no deserialize");
    llmopt_err_t result = LLMOPT_ERR_INVALID, err;
    const char *why = "bad window checkpoint";
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, data, len);
    if (!llmopt_rbuf_header(&r, WS_TAG, WS_VERSION)) {
        why = "not a window store checkpoint";
        goto fail;
    }
    llmopt_window_config c;
    c.size_ms = llmopt_rbuf_i64(&r);
    c.advance_ms = llmopt_rbuf_i64(&r);
    c.offset_ms = llmopt_rbuf_i64(&r);
    c.ooo_ms = llmopt_rbuf_i64(&r);
    c.grace_ms = llmopt_rbuf_i64(&r);
    uint64_t psize = llmopt_rbuf_u64(&r);
    if (r.err)
        goto fail;
    if (memcmp(&c, &s->cfg, sizeof(c)) != 0 || psize != s->ops.payload_size) {
        why = "checkpoint window config differs";
        goto fail;
    }
    s->st.events = llmopt_rbuf_u64(&r);
    s->st.late_events = llmopt_rbuf_u64(&r);
    s->st.late_assignments = llmopt_rbuf_u64(&r);
    s->st.windows_opened = llmopt_rbuf_u64(&r);
    s->st.windows_closed = llmopt_rbuf_u64(&r);

    uint32_t np = llmopt_rbuf_count(&r, WS_MAX_PARTITIONS, 21);
    if (r.err)
        goto fail;
    for (uint32_t i = 0; i < np; i++) {
        uint32_t id = llmopt_rbuf_u32(&r);
        uint8_t has_max = llmopt_rbuf_u8(&r);
        int64_t max_ts = llmopt_rbuf_i64(&r);
        int64_t wm = llmopt_rbuf_i64(&r);
        if (r.err)
            goto fail;
        if ((i && id <= s->parts[s->nparts - 1].id) || has_max > 1 ||
            (has_max && (max_ts < LLMOPT_WINDOW_TS_MIN || max_ts > LLMOPT_WINDOW_TS_MAX)) ||
            (!has_max && max_ts != 0) ||
            (wm != INT64_MIN && (wm < LLMOPT_WINDOW_TS_MIN - LLMOPT_WINDOW_DURATION_MAX ||
                                 wm > LLMOPT_WINDOW_TS_MAX)) ||
            (has_max && wm < max_ts - s->cfg.ooo_ms)) {
            why = "bad window partition";
            goto fail;
        }
        wpart *p = part_get(s, id);
        if (!p) {
            result = LLMOPT_ERR_NOMEM;
            goto fail_nomem;
        }
        p->has_max = has_max;
        p->max_ts = max_ts;
        p->wm = wm;
    }

    uint64_t nopen = llmopt_rbuf_u64(&r);
    if (r.err)
        goto fail;
    for (uint64_t i = 0; i < nopen; i++) {
        wentry *e = NULL;
        if ((err = load_entry(s, &r, &e, &why)) != LLMOPT_OK) {
            if (err == LLMOPT_ERR_NOMEM)
                goto fail_nomem;
            goto fail;
        }
        wpart *p = part_find(s, e->partition);
        if (!p || is_closed(s, p, e->start) ||
            hash_find(s, e->hash, e->partition, e->start, e->key, e->key_len)) {
            why = p ? "closed or duplicate open window" : "open window of unknown partition";
            entry_release(s, e);
            goto fail;
        }
        wslice *sl = NULL;
        if ((s->nopen >= s->nbuckets && hash_grow(s) != 0) ||
            !(sl = slice_get(s, p, e->start)) || slice_push(s, sl, e) != 0) {
            if (sl)
                slice_drop_if_empty(s, p, e->start);
            entry_release(s, e);
            goto fail_nomem;
        }
        hash_insert(s, e);
    }

    uint64_t nready = llmopt_rbuf_u64(&r);
    if (r.err)
        goto fail;
    for (uint64_t i = 0; i < nready; i++) {
        wentry *e = NULL;
        if ((err = load_entry(s, &r, &e, &why)) != LLMOPT_OK) {
            if (err == LLMOPT_ERR_NOMEM)
                goto fail_nomem;
            goto fail;
        }
        if (ready_reserve(s, 1) != 0) {
            entry_release(s, e);
            goto fail_nomem;
        }
        s->ready[s->tail++] = e;
    }
    if (r.left != 0) {
        why = "trailing bytes after window checkpoint";
        goto fail;
    }
    return LLMOPT_OK;

fail_nomem:
    store_clear(s);
    return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
fail:
    store_clear(s);
    if (r.err == LLMOPT_ERR_TRUNCATED)
        return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "window checkpoint truncated");
    return llmopt_errf(result, errstr, errstr_size, "%s", why);
}
