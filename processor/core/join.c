/*
 * join.c - bounded keyed join state (see join.h).
 *
 * Two structures index the same entries:
 *   - an open-addressing hash table (linear probing, backward-shift delete,
 *     no tombstones) for lookup by key; each slot holds the entry's hash
 *     next to its pointer, so probing past other keys (and the shifts of a
 *     delete) never touches their entries; a byte array of tags (7 hash
 *     bits, 0 = empty) beside the slots answers most probes, above all the
 *     "absent" of a duplicate check, from 1 byte per slot that stays in
 *     cache instead of a 16-byte slot that does not;
 *   - the expiry order on (ts_ms, seq), for deterministic expiry and
 *     eviction of the oldest entry, in two parts: a FIFO of the entries put
 *     in order (each (ts_ms, seq) at or after the last one appended: almost
 *     all of them, since event times mostly rise), and a 4-ary min-heap for
 *     the rest; the oldest entry is the older of the FIFO's head and the
 *     heap's root. An entry knows its place in either, so a matched entry
 *     leaves in O(1) from the FIFO (its node becomes a hole, trimmed at
 *     the ends and compacted away once holes outnumber live nodes) or
 *     O(log n) from the heap. Expiring from the FIFO is a pop: no sift
 *     through a large heap, whose every level wrote a moved entry's slot
 *     (a cache miss each). The (ts_ms, seq) keys are inline in both arrays
 *     for the same reason as the tags.
 */
#include "processor/core/join.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

typedef struct jentry {
    uint64_t hash;
    int64_t ts_ms;
    uint64_t seq;
    void *payload;
    size_t payload_bytes;
    size_t heap_idx;
    uint8_t keylen;
    unsigned char key[];
} jentry;

typedef struct jslot {
    uint64_t hash;
    jentry *e; /* NULL: empty */
} jslot;

typedef struct hnode {
    int64_t ts_ms;
    uint64_t seq;
    jentry *e;
} hnode;

/* Entries with keys up to SMALL_KEY bytes share one size and are recycled
 * through a short free list (a matched request's entry becomes the next
 * request's), so the steady state makes no malloc/free per entry. */
#define SMALL_KEY 48
#define FREE_MAX 256

struct llmopt_join {
    llmopt_join_config cfg;
    jentry *free_small; /* recycled small entries, linked through payload */
    size_t nfree;
    jslot *slots;       /* hash table, cap is a power of two */
    uint8_t *tags;      /* per slot: 0 empty, else tag_of(hash) */
    size_t cap;
    hnode *heap;
    size_t heap_cap, nheap;
    hnode *fifo;        /* in-order entries [fhead, ftail); e NULL: a hole */
    size_t fhead, ftail, fcap, flive;
    int64_t last_ts;    /* key of the last node appended to the FIFO */
    uint64_t last_seq;
    int has_last;       /* 0 while the FIFO is empty: anything may start it */
    uint64_t next_seq;
    llmopt_join_stats st;
};

/* A 64-bit hash good enough for ids (UUID text, hex): 8 bytes at a time,
 * each mixed with a multiply and an xor-shift. Only the tables' layout
 * depends on it (serialize writes entries in (ts, seq) order). */
static uint64_t key_hash(const unsigned char *p, size_t n) {
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ (n * 0xff51afd7ed558ccdULL);
    while (n >= 8) {
        uint64_t v;
        memcpy(&v, p, 8);
        h ^= v * 0xc4ceb9fe1a85ec53ULL;
        h = (h << 31 | h >> 33) * 0x9e3779b97f4a7c15ULL;
        p += 8;
        n -= 8;
    }
    /* the 0..7 tail bytes without a byte loop: two overlapping 4-byte
     * loads, or first / middle / last byte (n is mixed in above, so tails
     * of different lengths do not collide by construction) */
    uint64_t t = 0;
    if (n >= 4) {
        uint32_t lo, hi;
        memcpy(&lo, p, 4);
        memcpy(&hi, p + n - 4, 4);
        t = (uint64_t)lo | (uint64_t)hi << 32;
    } else if (n) {
        t = (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    }
    h ^= t * 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return h;
}

static jentry *entry_alloc(llmopt_join *j, size_t keylen) {
    if (keylen > SMALL_KEY)
        return malloc(sizeof(jentry) + keylen);
    jentry *e = j->free_small;
    if (e) {
        j->free_small = e->payload;
        j->nfree--;
        return e;
    }
    return malloc(sizeof(jentry) + SMALL_KEY);
}

static void entry_free(llmopt_join *j, jentry *e) {
    if (e->keylen <= SMALL_KEY && j->nfree < FREE_MAX) {
        e->payload = j->free_small;
        j->free_small = e;
        j->nfree++;
        return;
    }
    free(e);
}

static size_t entry_bytes(const jentry *e) {
    return e->payload_bytes + e->keylen + LLMOPT_JOIN_ENTRY_OVERHEAD;
}

static int entry_older(const jentry *a, const jentry *b) {
    return a->ts_ms < b->ts_ms || (a->ts_ms == b->ts_ms && a->seq < b->seq);
}

static int node_older(const hnode *a, const hnode *b) {
    return a->ts_ms < b->ts_ms || (a->ts_ms == b->ts_ms && a->seq < b->seq);
}

/* ---- heap ---- */

/* A 4-ary heap: half the levels of a binary one, and each level's moved
 * node costs a write to its entry's heap_idx (a cache miss in a large
 * table) while its four children sit in two adjacent cache lines. The pop
 * order is the same for any heap shape: (ts_ms, seq) is a total order. */
#define HEAP_ARITY 4

static void heap_set(llmopt_join *j, size_t i, hnode n) {
    j->heap[i] = n;
    n.e->heap_idx = i;
}

static void heap_up(llmopt_join *j, size_t i) {
    hnode n = j->heap[i];
    while (i > 0) {
        size_t parent = (i - 1) / HEAP_ARITY;
        if (!node_older(&n, &j->heap[parent]))
            break;
        heap_set(j, i, j->heap[parent]);
        i = parent;
    }
    heap_set(j, i, n);
}

/* Sifts slot i down; returns where its node ended. */
static size_t heap_down(llmopt_join *j, size_t i) {
    size_t n = j->nheap;
    hnode x = j->heap[i];
    for (;;) {
        size_t l = HEAP_ARITY * i + 1, best = i;
        const hnode *b = &x;
        size_t end = l + HEAP_ARITY < n ? l + HEAP_ARITY : n;
        for (size_t c = l; c < end; c++) {
            if (node_older(&j->heap[c], b)) {
                best = c;
                b = &j->heap[c];
            }
        }
        if (best == i)
            break;
        heap_set(j, i, *b);
        i = best;
    }
    heap_set(j, i, x);
    return i;
}

/* Removes heap slot i. */
static void heap_remove(llmopt_join *j, size_t i) {
    size_t last = --j->nheap;
    if (i != last) {
        heap_set(j, i, j->heap[last]);
        heap_up(j, heap_down(j, i));
    }
}

/* ---- expiry order: FIFO + heap ---- */

/* heap_idx of an entry in the FIFO: its FIFO index with this bit set */
#define IN_FIFO ((size_t)1 << (sizeof(size_t) * 8 - 1))

/* Moves the live FIFO nodes to the front, in order. */
static void fifo_compact(llmopt_join *j) {
    size_t o = 0;
    for (size_t i = j->fhead; i < j->ftail; i++) {
        if (!j->fifo[i].e)
            continue;
        j->fifo[o] = j->fifo[i];
        j->fifo[o].e->heap_idx = IN_FIFO | o;
        o++;
    }
    j->fhead = 0;
    j->ftail = o;
}

/* Appends n (not older than the last appended node); 0 when the FIFO
 * cannot grow (the caller then uses the heap). */
static int fifo_push(llmopt_join *j, hnode n) {
    if (j->ftail == j->fcap) {
        if (j->fcap - j->flive >= j->fcap / 2 && j->fcap) {
            fifo_compact(j);
        } else {
            size_t nc = j->fcap ? j->fcap * 2 : 64;
            hnode *nf = realloc(j->fifo, nc * sizeof(*nf));
            if (!nf)
                return 0;
            j->fifo = nf;
            j->fcap = nc;
        }
    }
    n.e->heap_idx = IN_FIFO | j->ftail;
    j->fifo[j->ftail++] = n;
    j->flive++;
    j->last_ts = n.ts_ms;
    j->last_seq = n.seq;
    j->has_last = 1;
    return 1;
}

/* Adds n to the expiry order (never fails: the heap has room for every
 * entry the table can hold). */
static void order_link(llmopt_join *j, hnode n) {
    if (!j->has_last || n.ts_ms > j->last_ts ||
        (n.ts_ms == j->last_ts && n.seq >= j->last_seq)) {
        if (fifo_push(j, n))
            return;
    }
    size_t i = j->nheap++;
    heap_set(j, i, n);
    heap_up(j, i);
}

static void order_unlink(llmopt_join *j, jentry *e) {
    size_t idx = e->heap_idx;
    if (!(idx & IN_FIFO)) {
        heap_remove(j, idx);
        return;
    }
    j->fifo[idx & ~IN_FIFO].e = NULL;
    j->flive--;
    while (j->fhead < j->ftail && !j->fifo[j->fhead].e)
        j->fhead++;
    while (j->ftail > j->fhead && !j->fifo[j->ftail - 1].e)
        j->ftail--;
    if (j->fhead == j->ftail) {
        j->fhead = j->ftail = 0;
        j->has_last = 0;
    } else if (j->ftail - j->fhead > 2 * j->flive + 32) {
        fifo_compact(j);
    }
}

/* The oldest entry's node; the table must not be empty. The FIFO's head is
 * live (holes are trimmed at both ends). */
static const hnode *order_min(const llmopt_join *j) {
    const hnode *f = j->fhead < j->ftail ? &j->fifo[j->fhead] : NULL;
    if (!j->nheap)
        return f;
    if (!f || node_older(&j->heap[0], f))
        return &j->heap[0];
    return f;
}

/* Every entry, in no particular order; returns how many (st.entries). */
static size_t order_all(const llmopt_join *j, jentry **out) {
    size_t n = 0;
    for (size_t i = j->fhead; i < j->ftail; i++)
        if (j->fifo[i].e)
            out[n++] = j->fifo[i].e;
    for (size_t i = 0; i < j->nheap; i++)
        out[n++] = j->heap[i].e;
    return n;
}

/* ---- hash table ---- */

static uint8_t tag_of(uint64_t h) {
    return (uint8_t)((h >> 56) | 1);
}

/* The slot holding key, or the empty slot (tags[i] == 0) where it would go. */
static size_t probe_find(const llmopt_join *j, const void *key, size_t keylen, uint64_t h) {
    size_t mask = j->cap - 1;
    uint8_t t = tag_of(h);
    for (size_t i = h & mask;; i = (i + 1) & mask) {
        uint8_t ti = j->tags[i];
        if (!ti)
            return i;
        if (ti != t)
            continue;
        const jslot *s = &j->slots[i];
        if (s->hash == h && s->e->keylen == keylen && memcmp(s->e->key, key, keylen) == 0)
            return i;
    }
}

static void slot_delete(llmopt_join *j, size_t i) {
    size_t mask = j->cap - 1;
    j->slots[i].e = NULL;
    j->tags[i] = 0;
    /* backward-shift: pull later members of the probe run into the gap */
    for (size_t k = (i + 1) & mask; j->tags[k]; k = (k + 1) & mask) {
        size_t home = j->slots[k].hash & mask;
        /* move slots[k] into i when i lies cyclically in [home, k) */
        if (((k - home) & mask) >= ((k - i) & mask)) {
            j->slots[i] = j->slots[k];
            j->tags[i] = j->tags[k];
            j->slots[k].e = NULL;
            j->tags[k] = 0;
            i = k;
        }
    }
}

static int table_grow(llmopt_join *j) {
    size_t ncap = j->cap ? j->cap * 2 : 64;
    jslot *ns = calloc(ncap, sizeof(*ns));
    uint8_t *nt = calloc(ncap, 1);
    hnode *nh = realloc(j->heap, ncap * sizeof(*nh));
    if (!ns || !nt || !nh) {
        free(ns);
        free(nt);
        if (nh)
            j->heap = nh;
        return 0;
    }
    j->heap = nh;
    j->heap_cap = ncap;
    for (size_t i = 0; i < j->cap; i++) {
        if (!j->slots[i].e)
            continue;
        size_t k = j->slots[i].hash & (ncap - 1);
        while (nt[k])
            k = (k + 1) & (ncap - 1);
        ns[k] = j->slots[i];
        nt[k] = j->tags[i];
    }
    free(j->slots);
    free(j->tags);
    j->slots = ns;
    j->tags = nt;
    j->cap = ncap;
    return 1;
}

/* Unlinks e, found at hash slot i, from both structures; the caller owns
 * e afterwards. */
static void entry_unlink_at(llmopt_join *j, jentry *e, size_t i) {
    assert(j->slots[i].e == e);
    slot_delete(j, i);
    order_unlink(j, e);
    j->st.entries--;
    j->st.bytes -= entry_bytes(e);
}

/* Unlinks e from both structures; the caller owns e afterwards. Its hash
 * slot is found by pointer (no key compare); the slot's line is fetched
 * while the heap removal runs. */
static void entry_unlink(llmopt_join *j, jentry *e) {
    size_t mask = j->cap - 1;
    __builtin_prefetch(&j->slots[e->hash & mask]);
    order_unlink(j, e);
    uint8_t t = tag_of(e->hash);
    size_t i = e->hash & mask;
    while (j->tags[i] != t || j->slots[i].e != e) {
        assert(j->tags[i]);
        i = (i + 1) & mask;
    }
    slot_delete(j, i);
    j->st.entries--;
    j->st.bytes -= entry_bytes(e);
}

static void entry_release(llmopt_join *j, jentry *e, llmopt_join_reason reason) {
    void *payload = e->payload;
    int64_t ts = e->ts_ms;
    entry_unlink(j, e);
    if (reason == LLMOPT_JOIN_EXPIRED)
        j->st.expired++;
    else
        j->st.evicted++;
    j->cfg.on_expire(j->cfg.opaque, e->key, e->keylen, ts, payload, reason);
    entry_free(j, e);
}

llmopt_join *llmopt_join_new(const llmopt_join_config *cfg) {
    if (!cfg || cfg->ttl_ms <= 0 || !cfg->on_expire)
        return NULL;
    llmopt_join *j = calloc(1, sizeof(*j));
    if (!j)
        return NULL;
    j->cfg = *cfg;
    if (!table_grow(j)) {
        llmopt_join_destroy(j);
        return NULL;
    }
    return j;
}

void llmopt_join_destroy(llmopt_join *j) {
    if (!j)
        return;
    jentry **all = j->st.entries ? malloc(j->st.entries * sizeof(*all)) : NULL;
    if (all) {
        size_t n = order_all(j, all);
        for (size_t i = 0; i < n; i++) {
            if (j->cfg.free_payload)
                j->cfg.free_payload(all[i]->payload);
            free(all[i]);
        }
        free(all);
    } else {
        while (j->st.entries) { /* no memory for the list: one at a time */
            jentry *e = order_min(j)->e;
            entry_unlink(j, e);
            if (j->cfg.free_payload)
                j->cfg.free_payload(e->payload);
            free(e);
        }
    }
    while (j->free_small) {
        jentry *e = j->free_small;
        j->free_small = e->payload;
        free(e);
    }
    free(j->slots);
    free(j->tags);
    free(j->heap);
    free(j->fifo);
    free(j);
}

/* slot: the empty slot probe_find() gave for key in the table as it is
 * now, or NO_SLOT */
#define NO_SLOT ((size_t)-1)
static jentry *insert_entry(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                            int64_t ts_ms, uint64_t seq, void *payload, size_t payload_bytes,
                            size_t slot) {
    if ((j->st.entries + 1) * 10 > j->cap * 7) {
        if (!table_grow(j))
            return NULL;
        slot = NO_SLOT;
    }
    jentry *e = entry_alloc(j, keylen);
    if (!e)
        return NULL;
    e->hash = h;
    e->ts_ms = ts_ms;
    e->seq = seq;
    e->payload = payload;
    e->payload_bytes = payload_bytes;
    e->keylen = (uint8_t)keylen;
    memcpy(e->key, key, keylen);
    size_t i = slot != NO_SLOT ? slot : probe_find(j, key, keylen, h);
    j->slots[i] = (jslot){h, e};
    j->tags[i] = tag_of(h);
    j->st.entries++;
    j->st.bytes += entry_bytes(e);
    order_link(j, (hnode){ts_ms, seq, e});
    return e;
}

uint64_t llmopt_join_hash(const void *key, size_t keylen) {
    return key_hash(key, keylen);
}

llmopt_err_t llmopt_join_put(llmopt_join *j, const void *key, size_t keylen,
                             int64_t ts_ms, void *payload, size_t payload_bytes) {
    return llmopt_join_put_h(j, key, keylen, key_hash(key, keylen), ts_ms, payload,
                             payload_bytes);
}

llmopt_err_t llmopt_join_put_h(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                               int64_t ts_ms, void *payload, size_t payload_bytes) {
    if (keylen == 0 || keylen > LLMOPT_JOIN_MAX_KEY)
        return LLMOPT_ERR_INVALID;
    size_t slot = probe_find(j, key, keylen, h);
    if (j->tags[slot]) {
        j->st.duplicates++;
        return LLMOPT_ERR_STATE;
    }
    size_t need = payload_bytes + keylen + LLMOPT_JOIN_ENTRY_OVERHEAD;
    if (j->cfg.max_bytes) {
        if (need > j->cfg.max_bytes)
            return LLMOPT_ERR_NOMEM;
        while (j->st.entries && j->st.bytes + need > j->cfg.max_bytes) {
            entry_release(j, order_min(j)->e, LLMOPT_JOIN_EVICTED);
            slot = NO_SLOT; /* the delete shifted slots */
        }
    }
    if (!insert_entry(j, key, keylen, h, ts_ms, j->next_seq, payload, payload_bytes, slot))
        return LLMOPT_ERR_NOMEM;
    j->next_seq++;
    j->st.inserted++;
    return LLMOPT_OK;
}

static jentry *lookup_h(const llmopt_join *j, const void *key, size_t keylen, uint64_t h) {
    if (keylen == 0 || keylen > LLMOPT_JOIN_MAX_KEY)
        return NULL;
    size_t i = probe_find(j, key, keylen, h);
    return j->tags[i] ? j->slots[i].e : NULL;
}

static jentry *lookup(const llmopt_join *j, const void *key, size_t keylen) {
    return lookup_h(j, key, keylen, key_hash(key, keylen));
}

void *llmopt_join_take(llmopt_join *j, const void *key, size_t keylen, int64_t *ts_ms) {
    return llmopt_join_take_h(j, key, keylen, key_hash(key, keylen), ts_ms);
}

void *llmopt_join_take_h(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                         int64_t *ts_ms) {
    if (keylen == 0 || keylen > LLMOPT_JOIN_MAX_KEY)
        return NULL;
    size_t i = probe_find(j, key, keylen, h);
    if (!j->tags[i])
        return NULL;
    jentry *e = j->slots[i].e;
    void *p = e->payload;
    if (ts_ms)
        *ts_ms = e->ts_ms;
    entry_unlink_at(j, e, i);
    entry_free(j, e);
    j->st.matched++;
    return p;
}

void *llmopt_join_peek_h(llmopt_join *j, const void *key, size_t keylen, uint64_t h,
                         int64_t *ts_ms) {
    jentry *e = lookup_h(j, key, keylen, h);
    if (!e)
        return NULL;
    if (ts_ms)
        *ts_ms = e->ts_ms;
    return e->payload;
}

void *llmopt_join_peek(llmopt_join *j, const void *key, size_t keylen, int64_t *ts_ms) {
    return llmopt_join_peek_h(j, key, keylen, key_hash(key, keylen), ts_ms);
}

void llmopt_join_resize(llmopt_join *j, const void *key, size_t keylen, size_t payload_bytes) {
    jentry *e = lookup(j, key, keylen);
    if (!e)
        return;
    j->st.bytes -= e->payload_bytes;
    e->payload_bytes = payload_bytes;
    j->st.bytes += payload_bytes;
    if (j->cfg.max_bytes) {
        /* never evict the entry being resized: it is in use by the caller */
        while (j->st.entries > 1 && j->st.bytes > j->cfg.max_bytes) {
            jentry *old = order_min(j)->e;
            if (old == e)
                break;
            entry_release(j, old, LLMOPT_JOIN_EVICTED);
        }
    }
}

size_t llmopt_join_expire(llmopt_join *j, int64_t watermark_ms) {
    size_t n = 0;
    while (j->st.entries) {
        /* ts + ttl <= wm, written to avoid overflow at the extremes; the
         * heap node's own ts, so a table with nothing due loads no entry */
        const hnode *m = order_min(j);
        if (m->ts_ms > watermark_ms - j->cfg.ttl_ms)
            break;
        entry_release(j, m->e, LLMOPT_JOIN_EXPIRED);
        n++;
    }
    return n;
}

void llmopt_join_get_stats(const llmopt_join *j, llmopt_join_stats *st) {
    *st = j->st;
}

static int cmp_entry(const void *a, const void *b) {
    const jentry *x = *(const jentry *const *)a, *y = *(const jentry *const *)b;
    return entry_older(x, y) ? -1 : entry_older(y, x) ? 1 : 0;
}

void llmopt_join_serialize(const llmopt_join *j, llmopt_wbuf *w,
                           llmopt_join_write_payload_cb *wp, void *opaque) {
    llmopt_wbuf_header(w, "JOIN", 1);
    llmopt_wbuf_u64(w, j->next_seq);
    llmopt_wbuf_u64(w, j->st.inserted);
    llmopt_wbuf_u64(w, j->st.matched);
    llmopt_wbuf_u64(w, j->st.expired);
    llmopt_wbuf_u64(w, j->st.evicted);
    llmopt_wbuf_u64(w, j->st.duplicates);
    llmopt_wbuf_u32(w, (uint32_t)j->st.entries);
    jentry **order = malloc((j->st.entries ? j->st.entries : 1) * sizeof(*order));
    if (!order) {
        w->err = LLMOPT_ERR_NOMEM;
        return;
    }
    order_all(j, order);
    qsort(order, j->st.entries, sizeof(*order), cmp_entry);
    for (size_t i = 0; i < j->st.entries; i++) {
        const jentry *e = order[i];
        llmopt_wbuf_u8(w, e->keylen);
        llmopt_wbuf_bytes(w, e->key, e->keylen);
        llmopt_wbuf_i64(w, e->ts_ms);
        llmopt_wbuf_u64(w, e->seq);
        wp(opaque, w, e->payload);
    }
    free(order);
}

static void clear_all(llmopt_join *j) {
    while (j->st.entries) {
        jentry *e = order_min(j)->e;
        void *p = e->payload;
        entry_unlink(j, e);
        if (j->cfg.free_payload)
            j->cfg.free_payload(p);
        entry_free(j, e);
    }
}

llmopt_err_t llmopt_join_deserialize(llmopt_join *j, llmopt_rbuf *r,
                                     llmopt_join_read_payload_cb *rp, void *opaque) {
    if (j->st.entries)
        return LLMOPT_ERR_STATE;
    llmopt_join_stats st = {0};
    llmopt_rbuf_header(r, "JOIN", 1);
    uint64_t next_seq = llmopt_rbuf_u64(r);
    st.inserted = llmopt_rbuf_u64(r);
    st.matched = llmopt_rbuf_u64(r);
    st.expired = llmopt_rbuf_u64(r);
    st.evicted = llmopt_rbuf_u64(r);
    st.duplicates = llmopt_rbuf_u64(r);
    /* smallest entry: keylen + 1 key byte + ts + seq */
    uint32_t n = llmopt_rbuf_count(r, UINT32_MAX, 1 + 1 + 8 + 8);
    for (uint32_t i = 0; i < n && !r->err; i++) {
        unsigned char key[LLMOPT_JOIN_MAX_KEY];
        uint8_t keylen = llmopt_rbuf_u8(r);
        llmopt_rbuf_bytes(r, key, keylen);
        int64_t ts = llmopt_rbuf_i64(r);
        uint64_t seq = llmopt_rbuf_u64(r);
        if (r->err)
            break;
        if (keylen == 0 || seq >= next_seq) {
            r->err = LLMOPT_ERR_INVALID;
            break;
        }
        size_t pbytes = 0;
        void *p = rp(opaque, r, &pbytes);
        if (r->err) {
            if (p && j->cfg.free_payload)
                j->cfg.free_payload(p);
            break;
        }
        uint64_t h = key_hash(key, keylen);
        if (j->tags[probe_find(j, key, keylen, h)]) { /* duplicate key in a blob */
            if (j->cfg.free_payload)
                j->cfg.free_payload(p);
            r->err = LLMOPT_ERR_INVALID;
            break;
        }
        if (!insert_entry(j, key, keylen, h, ts, seq, p, pbytes, NO_SLOT)) {
            if (j->cfg.free_payload)
                j->cfg.free_payload(p);
            r->err = LLMOPT_ERR_NOMEM;
            break;
        }
    }
    if (r->err) {
        clear_all(j);
        return (llmopt_err_t)r->err;
    }
    size_t entries = j->st.entries, bytes = j->st.bytes;
    j->st = st;
    j->st.entries = entries;
    j->st.bytes = bytes;
    j->next_seq = next_seq;
    return LLMOPT_OK;
}
