/*
 * limiter.c - lock-free GCRA token buckets keyed by (route, scope, id) and
 * the admission rules of a decision's rate_limits (llmopt_gateway.h, "Rate
 * limits").
 *
 * Table: open addressing over cache-line-sized slots whose key (a 64-bit
 * hash) is claimed with CAS, so two hot keys never share a cache line. Two
 * different keys with the same 64-bit hash would share a bucket
 * (probability ~ n^2 / 2^65; accepted). When the 64 slots from a new key's
 * hash are all taken, the key takes over one whose buckets have both been
 * full (TAT <= now - RECLAIM_IDLE_NS, 1 s) for a second: such a bucket is
 * in exactly the state of a fresh one, so the old key loses nothing (it
 * finds a slot again when it comes back), and every lease ever taken from
 * it expired long ago (a lease is spent within LEASE_AGE_NS, 1 ms, of its
 * take, and gives nothing back after that). A thread's lease entry keeps
 * its slot pointer, so lease_entry checks that the slot still holds the
 * entry's key (the same cache line as the buckets) and finds the key a
 * slot again when it does not. Only when no slot of the window is idle
 * does the key share the one overflow bucket (stricter, never looser).
 * Races, each needing a key idle for a second to come back during the
 * takeover of its slot: a thread that checked the slot's key just before
 * it changed hands takes at most one lease (<= 1 ms of rate, <= B/16
 * units) from the new key's bucket; two threads resolving the same new key
 * at once may take over two slots (the key then has two buckets until the
 * spare one is taken over in turn).
 *
 * Slow path of a check (llmopt_gw_admit, llmopt_gw_admit_route): the
 * route's compiled limits read through a sequence latch (no
 * read-modify-write, no lock), at most one clock read, and per bucket a
 * lease (below) or one CAS. Emission intervals and the per-priority
 * capacities are integer nanoseconds computed when the decision is
 * published, so a request bucket needs no arithmetic beyond
 * max/add/compare; a token bucket one multiplication. By name, a check
 * first finds the route (the thread's name memo, route_by_name, else a
 * hash and a route-table probe) and hashes each tenant/user string not
 * given as an id; by handle (llmopt_gw_route_handle) with ids, it hashes
 * nothing.
 *
 * Fast path: the per-thread check cache. A direct-mapped thread-local
 * table (64 entries of 192 bytes) keyed by (limiter, route, tenant id, user
 * id, priority class) keeps, from the last slow-path admission of that
 * check, the route limits' sequence number and decision version, and per
 * scope the thread's lease entry (below), the key it held and the
 * scope's emission intervals. A check whose entry matches, whose route's
 * seq is unchanged (so the copied limits are the current ones: the writer
 * never writes the copy of the current seq) and whose every lease entry
 * still holds its key under that seq with enough lease left, spends from
 * the leases and returns: one seq load, one entry probe and a few compares
 * and subtractions per scope, no table probe, no limits read, no scope-key
 * hashing. Anything else (a refill, an expired or dropped lease, a reused
 * entry, new limits, a refusal) takes the slow path with nothing spent,
 * so the fast path admits exactly what the slow path would: it is the
 * slow path's local-lease branch with the lookups cached. The slow path
 * writes the entry after an admission only when every scope's lease could
 * cover the next check (an exact bucket never can), and clears it on a
 * refusal, so refused and one-off checks do not pay a failing fast try.
 *
 * Per-thread leases. With several threads on the same keys, the CAS on the
 * three shared cache lines (global, tenant, user) was the cost (the
 * 4-thread p99 was several times the 1-thread one; bench/results/
 * gateway.md, "Rate-limit check"). So a thread that keeps
 * hitting a bucket takes a LEASE: k units (k * inc ns of TAT; a unit is one
 * request, or the current request's tokens for a token bucket) from the
 * shared bucket in one CAS, under the same GCRA test as a single unit
 * (tat' - now <= cap of the request's priority class), and spends them with
 * plain thread-local arithmetic. Per (thread, limiter, tier, scope key,
 * priority class) a direct-mapped thread-local entry (64 per tier) keeps
 * the slot pointer, so a hit also skips the table probe, and one lease per
 * bucket (request, token). The entry's index mixes in the limiter's id, so
 * two gateways in one process with the same route names and ids do not
 * keep taking each other's entries (another limiter's lease is dropped
 * unreturned, below). With inc the bucket's ns per unit, cap its
 * capacity in ns for the class and L = LEASE_AGE_NS = 1 ms:
 *   - k = min(2^shift, 1024, cap / (16 inc), L / inc). k < 2
 *     means no lease: the exact single-unit CAS of plain GCRA. So a bucket
 *     of fewer than 2 units per L (2000 requests/s; for tokens 2000 times
 *     the request's tokens per second), or whose class capacity is below 32
 *     units, is EXACT, as is every bucket for a thread that checks it less
 *     than once per L;
 *   - shift adapts per thread: +1 (to 10: 1024 units) when the thread comes
 *     back for more within L of its last shared take, -1 otherwise. Large
 *     leases matter: each check refills a lease of up to three buckets, and
 *     refills (a CAS on a line other threads write) must stay well below 1 %
 *     of the checks for the p99 not to be a refill;
 *   - a lease is spent only while 0 <= now - taken < L; when a k-unit lease
 *     does not fit, the exact single-unit take decides and gives the wait
 *     (retry-after), so a refusal means that the shared bucket itself could
 *     not give one unit;
 *   - a lease is dropped when its route's limits are republished (the
 *     limits' sequence number), when its entry is evicted and when it
 *     expires; the unspent part is given back minus the time since it was
 *     taken, max(0, left - |now - taken|) ns, which never gives the bucket
 *     more than it would hold had the lease been only what was spent (the
 *     refill the bucket may have lost at its cap meanwhile is at most that
 *     time); a lease of another limiter (another llmopt_gw, perhaps
 *     destroyed) is dropped without giving back.
 * Accuracy, per bucket, with R its rate, B the class's capacity in units and
 * M the number of (thread, priority class) pairs holding a lease on it:
 *   - over any interval of length t, admitted <= B + R*t + E with
 *     E <= min(R*L, M * min(1023 units, B/16)): every admitted unit was taken
 *     from the shared GCRA at most L before it was admitted, and at most
 *     one lease per pair is outstanding. Plain GCRA is E = 0, as is every
 *     bucket where k < 2 (above);
 *   - in total, from a fresh bucket, admitted <= B + R*T with T from the
 *     first check to the last admission: no excess at all (the TAT only
 *     ever moves by what was taken minus what was given back);
 *   - under-admission: the unspent parts of outstanding leases (at most
 *     M * min(1023 units, B/16)) and of expired ones, each less than one
 *     lease; a lease only doubles after one was used up within L, so an
 *     expired lease is smaller than twice what its thread took within L
 *     before.
 * test_gw_limits checks these bounds with injected now_us (lease_*).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#include "gateway/gw_internal.h"

#define PROBE_LIMIT 64
#define RECLAIM_IDLE_NS 1000000000 /* both buckets full this long: the slot can change key */
#define NS_MAX ((int64_t)1 << 60) /* 36 years: keeps tat + inc from overflowing */

typedef struct gw_limit_slot {
    _Alignas(64) _Atomic uint64_t key;
    llmopt_gw_bucket req;
    llmopt_gw_bucket tok;
} gw_limit_slot;

/* llmopt_gw_admit's outcome counters, one cache line per stripe; a thread
 * counts in its own stripe (a counter shared by all threads, written by
 * every refusal, was most of the cost of a refused check under threads) */
#define ADMIT_STRIPES 64

typedef struct gw_admit_stripe {
    _Alignas(64) _Atomic uint64_t denied;
    _Atomic uint64_t degraded, queued;
} gw_admit_stripe;

struct gw_limiter {
    gw_limit_slot overflow; /* shared when the probe window is full and busy */
    _Alignas(64) _Atomic uint64_t reclaimed, overflowed; /* slot_for outcomes */
    gw_admit_stripe counts[ADMIT_STRIPES];
    gw_limit_slot *slots; /* mmap'ed, bytes long */
    size_t bytes;
    size_t mask;
    uint64_t id; /* unique per limiter in the process: tags thread-local leases */
};

static _Atomic uint64_t limiter_ids = 1;
static _Atomic unsigned admit_stripe_next;
static _Thread_local int admit_stripe = -1;

static gw_admit_stripe *my_counts(gw_limiter *l) {
    if (admit_stripe < 0)
        admit_stripe = (int)(atomic_fetch_add_explicit(&admit_stripe_next, 1,
                                                       memory_order_relaxed) %
                             ADMIT_STRIPES);
    return &l->counts[admit_stripe];
}

void gw_limiter_stats(const gw_limiter *l, llmopt_gw_stats *out) {
    uint64_t d = 0, g = 0, q = 0;
    for (int i = 0; i < ADMIT_STRIPES; i++) {
        d += atomic_load_explicit(&l->counts[i].denied, memory_order_relaxed);
        g += atomic_load_explicit(&l->counts[i].degraded, memory_order_relaxed);
        q += atomic_load_explicit(&l->counts[i].queued, memory_order_relaxed);
    }
    out->admit_denied = d;
    out->admit_degraded = g;
    out->admit_queued = q;
    out->limiter_slots_reclaimed = atomic_load_explicit(&l->reclaimed, memory_order_relaxed);
    out->limiter_overflowed = atomic_load_explicit(&l->overflowed, memory_order_relaxed);
}

/* llround() for x >= 0 (half away from zero), clamped to NS_MAX: x - (int64_t)x is exact. */
static inline int64_t round_ns(double x) {
    if (!(x < (double)NS_MAX))
        return x > 0 ? NS_MAX : 0;
    int64_t r = (int64_t)x;
    return x - (double)r >= 0.5 ? r + 1 : r;
}

/* GCRA on one word: tat' = max(tat, now) + inc, allowed iff tat' - now <= cap. */
static inline bool gcra_take(llmopt_gw_bucket *b, int64_t inc, int64_t cap, int64_t now_ns,
                             int64_t *wait_ns) {
    int64_t tat = atomic_load_explicit(&b->tat_ns, memory_order_relaxed);
    for (;;) {
        int64_t base = tat > now_ns ? tat : now_ns;
        int64_t next = base + inc;
        if (next - now_ns > cap) {
            if (wait_ns)
                *wait_ns = next - now_ns - cap;
            return false;
        }
        if (atomic_compare_exchange_weak_explicit(&b->tat_ns, &tat, next, memory_order_acq_rel,
                                                  memory_order_relaxed))
            return true;
    }
}

void llmopt_gw_bucket_init(llmopt_gw_bucket *b) { atomic_init(&b->tat_ns, 0); }

bool llmopt_gw_bucket_take(llmopt_gw_bucket *b, double rate_per_s, double burst, double share,
                           double cost, int64_t now_ns, int64_t *wait_ns) {
    double t_ns = 1e9 / rate_per_s;
    return gcra_take(b, round_ns(cost * t_ns), round_ns(share * burst * t_ns), now_ns, wait_ns);
}

void llmopt_gw_bucket_refund(llmopt_gw_bucket *b, double rate_per_s, double cost) {
    atomic_fetch_sub_explicit(&b->tat_ns, round_ns(cost * (1e9 / rate_per_s)),
                              memory_order_acq_rel);
}

gw_limiter *gw_limiter_new(size_t slots) {
    size_t n = 64;
    while (n < slots)
        n <<= 1;
    gw_limiter *l = aligned_alloc(_Alignof(gw_limiter), sizeof(*l));
    if (!l)
        return NULL;
    memset(l, 0, sizeof(*l));
    /* Zero pages from the kernel, touched only where keys land; 2 MiB pages
     * where the kernel allows (THP "madvise" mode): keys are spread over the
     * whole table, and with 4 KiB pages nearly every check of a cold tenant
     * or user would also miss the TLB. */
    l->bytes = n * sizeof(*l->slots);
    void *p = mmap(NULL, l->bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) {
        free(l);
        return NULL;
    }
#ifdef MADV_HUGEPAGE
    (void)madvise(p, l->bytes, MADV_HUGEPAGE); /* advice only */
#endif
    l->slots = p;
    l->mask = n - 1;
    l->id = atomic_fetch_add_explicit(&limiter_ids, 1, memory_order_relaxed);
    return l;
}

void gw_limiter_destroy(gw_limiter *l) {
    if (!l)
        return;
    munmap(l->slots, l->bytes);
    free(l);
}

/* Both buckets full since idle_ns at least: the state of a fresh slot. */
static inline bool slot_idle(gw_limit_slot *s, int64_t idle_ns) {
    return atomic_load_explicit(&s->req.tat_ns, memory_order_acquire) <= idle_ns &&
           atomic_load_explicit(&s->tok.tat_ns, memory_order_acquire) <= idle_ns;
}

/* The slot of key: its own, a free one, an idle one taken over (see the
 * top), or the shared overflow slot. */
static gw_limit_slot *slot_for(gw_limiter *l, uint64_t key, int64_t now_ns) {
    key |= 1; /* 0 marks a free slot */
    size_t i = key & l->mask;
    for (int p = 0; p < PROBE_LIMIT; p++, i = (i + 1) & l->mask) {
        uint64_t k = atomic_load_explicit(&l->slots[i].key, memory_order_acquire);
        if (k == key)
            return &l->slots[i];
        if (k == 0) {
            uint64_t zero = 0;
            if (atomic_compare_exchange_strong(&l->slots[i].key, &zero, key))
                return &l->slots[i];
            if (zero == key)
                return &l->slots[i];
        }
    }
    int64_t idle_ns = now_ns - RECLAIM_IDLE_NS;
    i = key & l->mask;
    for (int p = 0; p < PROBE_LIMIT; p++, i = (i + 1) & l->mask) {
        gw_limit_slot *s = &l->slots[i];
        uint64_t k = atomic_load_explicit(&s->key, memory_order_acquire);
        if (k == key)
            return s; /* another thread took one over for key meanwhile */
        if (k != 0 && slot_idle(s, idle_ns) &&
            atomic_compare_exchange_strong(&s->key, &k, key)) {
            atomic_fetch_add_explicit(&l->reclaimed, 1, memory_order_relaxed);
            return s;
        }
        if (k == key)
            return s;
    }
    atomic_fetch_add_explicit(&l->overflowed, 1, memory_order_relaxed);
    return &l->overflow;
}

/* ---- compiled limits ------------------------------------------------------ */

void gw_limits_publish(gw_route *r, const gw_snap *snap) {
    gw_route_limits *L = &r->limits;
    uint64_t seq = atomic_load_explicit(&L->seq, memory_order_relaxed); /* writer-owned */
    gw_limits_copy *c = &L->copy[(seq + 1) & 1];
    const llmopt_rate_limits *rl =
        snap && snap->rec.has_rate_limits ? &snap->rec.rate_limits : NULL;
    /* release stores: a reader whose acquire load sees any of them also
     * sees the seq store of the publish before this one (and retries) */
    atomic_store_explicit(&c->version, snap ? snap->rec.version : 0, memory_order_release);
    unsigned tiers = 0, zero = 0;
    for (int k = 0; k < 3; k++) {
        const llmopt_token_bucket *tb = NULL;
        if (rl && k == 0 && rl->has_global)
            tb = &rl->global;
        else if (rl && k == 1 && rl->has_per_tenant)
            tb = &rl->per_tenant;
        else if (rl && k == 2 && rl->has_per_user)
            tb = &rl->per_user;
        double rt = tb ? 1e9 / tb->requests_per_s : 0;
        double tt = tb && tb->tokens_per_min > 0 ? 1e9 / (tb->tokens_per_min / 60.0) : 0;
        if (tb)
            tiers |= 1u << k;
        for (int p = 0; p < 4; p++) {
            gw_tier *t = &c->tier[p][k];
            double share = snap ? snap->prio_share[p] : 1.0;
            atomic_store_explicit(&t->req_inc_ns, round_ns(rt), memory_order_release);
            atomic_store_explicit(&t->tok_ns, tt, memory_order_release);
            atomic_store_explicit(&t->req_cap_ns,
                                  tb ? round_ns(share * tb->requests_burst * rt) : 0,
                                  memory_order_release);
            atomic_store_explicit(&t->tok_cap_ns,
                                  tb ? round_ns(share * tb->tokens_burst * tt) : 0,
                                  memory_order_release);
        }
    }
    for (int p = 0; p < 4; p++)
        if (snap && !(snap->prio_share[p] > 0))
            zero |= 1u << p;
    atomic_store_explicit(&c->tiers, (uint8_t)tiers, memory_order_release);
    atomic_store_explicit(&c->zero_share, (uint8_t)zero, memory_order_release);
    atomic_store_explicit(&c->on_limit, rl ? (int)rl->on_limit : 0, memory_order_release);
    atomic_store_explicit(&c->retry_after_ms, rl ? rl->retry_after_ms : 0, memory_order_release);
    atomic_store_explicit(&c->queue_timeout_ms, rl ? rl->queue_timeout_ms : 0,
                          memory_order_release);
    atomic_store_explicit(&L->seq, seq + 1, memory_order_release);
}

/* What one check needs of the compiled limits, for one priority class. */
typedef struct tier_view {
    int64_t req_inc, req_cap, tok_cap;
    double tok_ns;
} tier_view;

typedef struct limits_view {
    uint64_t seq; /* of the compiled limits: leases taken under another are dropped */
    int64_t version, retry_after_ms, queue_timeout_ms;
    int on_limit;
    unsigned tiers;
    bool zero_share;
    tier_view t[3];
} limits_view;

static void limits_read(const gw_route_limits *L, unsigned prio, limits_view *v) {
    for (;;) {
        uint64_t seq = atomic_load_explicit(&L->seq, memory_order_acquire);
        const gw_limits_copy *c = &L->copy[seq & 1];
        v->version = atomic_load_explicit(&c->version, memory_order_acquire);
        v->tiers = atomic_load_explicit(&c->tiers, memory_order_acquire);
        v->zero_share = (atomic_load_explicit(&c->zero_share, memory_order_acquire) >> prio) & 1;
        v->on_limit = atomic_load_explicit(&c->on_limit, memory_order_acquire);
        v->retry_after_ms = atomic_load_explicit(&c->retry_after_ms, memory_order_acquire);
        v->queue_timeout_ms = atomic_load_explicit(&c->queue_timeout_ms, memory_order_acquire);
        for (int k = 0; k < 3; k++) {
            if (!(v->tiers & (1u << k)))
                continue;
            const gw_tier *t = &c->tier[prio][k];
            v->t[k].req_inc = atomic_load_explicit(&t->req_inc_ns, memory_order_acquire);
            v->t[k].req_cap = atomic_load_explicit(&t->req_cap_ns, memory_order_acquire);
            v->t[k].tok_ns = atomic_load_explicit(&t->tok_ns, memory_order_acquire);
            v->t[k].tok_cap = atomic_load_explicit(&t->tok_cap_ns, memory_order_acquire);
        }
        /* the acquire loads above keep this one after them */
        if (atomic_load_explicit(&L->seq, memory_order_relaxed) == seq) {
            v->seq = seq;
            return;
        }
    }
}

/* ---- per-thread leases (see the top) -------------------------------------- */

#define LEASE_MAX_SHIFT 10 /* leases of at most 1 << 10 = 1024 units */
#define LEASE_BURST_DIV 16
#define LEASE_AGE_NS 1000000 /* L: a lease is spent within 1 ms of its take */
#define LEASE_BITS 6         /* 64 entries per tier per thread, 3 x 5.5 KiB */

typedef struct gw_lease {
    int64_t left_ns;  /* taken from the shared bucket, not yet spent */
    int64_t taken_ns; /* now of that take */
} gw_lease;

/* One cache line. seq is the low 32 bits of the limits' sequence number: a
 * lease 2^32 republications old matches again, but is expired by then. */
typedef struct gw_lease_entry {
    _Alignas(64) uint64_t key; /* scope key | 1; 0: empty */
    uint64_t lim_id;           /* gw_limiter.id */
    gw_limit_slot *slot;
    uint32_t seq;              /* route limits seq the leases were taken under */
    uint8_t prio;
    uint8_t shift[2];          /* adaptive lease sizes, 1 << shift units, of req, tok */
    gw_lease req, tok;
} gw_lease_entry;

static _Thread_local gw_lease_entry tl_lease[3][1u << LEASE_BITS];

/* lim_id too: two gateways in one process with the same route names and
 * ids would otherwise always share entries, and a lease of another limiter
 * is dropped without giving back (lease_entry_slow) */
static inline unsigned lease_index(uint64_t key, unsigned prio, uint64_t lim_id) {
    return (unsigned)(((key + prio + (lim_id << 8)) * 0x9e3779b97f4a7c15ull) >>
                      (64 - LEASE_BITS));
}

/* Gives back what is left of a lease, less the time since it was taken:
 * refill the bucket may have lost to its cap while the lease was out. */
static void lease_return(gw_lease *ls, llmopt_gw_bucket *b, int64_t now_ns) {
    int64_t age = now_ns - ls->taken_ns;
    if (age < 0)
        age = -age;
    if (ls->left_ns > age)
        atomic_fetch_sub_explicit(&b->tat_ns, ls->left_ns - age, memory_order_acq_rel);
    ls->left_ns = 0;
}

static void lease_drop_all(gw_lease_entry *e, int64_t now_ns) {
    lease_return(&e->req, &e->slot->req, now_ns);
    lease_return(&e->tok, &e->slot->tok, now_ns);
    e->shift[0] = e->shift[1] = 0;
}

/* The slot still belongs to key (it may have been taken over: see the
 * top); the overflow slot belongs to every key that landed there. */
static inline bool slot_holds(const gw_limiter *l, gw_limit_slot *s, uint64_t key) {
    return atomic_load_explicit(&s->key, memory_order_relaxed) == key || s == &l->overflow;
}

/* Slow path of lease_entry: a new key for this entry, new limits, or a
 * slot taken over. */
static __attribute__((noinline)) gw_lease_entry *
lease_entry_slow(gw_lease_entry *e, gw_limiter *l, uint64_t key, unsigned prio, uint64_t seq,
                 int64_t now_ns) {
    if (e->key == key && e->lim_id == l->id && e->prio == prio) {
        if (slot_holds(l, e->slot, key)) {
            lease_drop_all(e, now_ns); /* the route's limits changed */
            e->seq = (uint32_t)seq;
            return e;
        }
        /* its slot was taken over (idle for RECLAIM_IDLE_NS: its leases
         * expired long ago and give nothing back): find the key a slot */
        e->seq = (uint32_t)seq;
        e->slot = slot_for(l, key, now_ns);
        e->req = e->tok = (gw_lease){0, 0};
        e->shift[0] = e->shift[1] = 0;
        return e;
    }
    if (e->key != 0 && e->lim_id == l->id) /* evicted; its slot is alive */
        lease_drop_all(e, now_ns);
    /* another limiter's lease is dropped: that limiter may be destroyed */
    e->key = key;
    e->lim_id = l->id;
    e->seq = (uint32_t)seq;
    e->prio = (uint8_t)prio;
    e->slot = slot_for(l, key, now_ns);
    e->req = e->tok = (gw_lease){0, 0};
    e->shift[0] = e->shift[1] = 0;
    return e;
}

/* The calling thread's entry for (l, key | 1, prio), holding its slot;
 * leases of an older version of the route's limits are given back first. */
static inline gw_lease_entry *lease_entry(gw_limiter *l, gw_lease_entry *e, uint64_t key,
                                          unsigned prio, uint64_t seq, int64_t now_ns) {
    if (__builtin_expect(e->key == key && e->seq == (uint32_t)seq && e->lim_id == l->id &&
                             e->prio == prio && slot_holds(l, e->slot, key),
                         1))
        return e;
    return lease_entry_slow(e, l, key, prio, seq, now_ns);
}

enum { TOOK_NONE = 0, TOOK_LOCAL, TOOK_SHARED };

/* The lease ran out or expired: adapt its size, give back what is left,
 * then take a lease of k units, or failing that one exact unit. */
static __attribute__((noinline)) int lease_refill(gw_lease *ls, uint8_t *shift,
                                                  llmopt_gw_bucket *b, int64_t inc, int64_t cap,
                                                  int64_t now_ns, int64_t *wait_ns) {
    int64_t age = now_ns - ls->taken_ns;
    if (age >= 0 && age < LEASE_AGE_NS)
        *shift += *shift < LEASE_MAX_SHIFT;
    else if (*shift > 0)
        *shift -= 1;
    if (ls->left_ns > 0)
        lease_return(ls, b, now_ns);
    ls->taken_ns = now_ns;
    int64_t k = (int64_t)1 << *shift;
    if (k >= 2 && inc > 0) {
        int64_t k_age = LEASE_AGE_NS / inc; /* also keeps k * inc <= L */
        int64_t k_cap = cap / LEASE_BURST_DIV / inc;
        if (k > k_age)
            k = k_age;
        if (k > k_cap)
            k = k_cap;
        if (k >= 2 && gcra_take(b, k * inc, cap, now_ns, NULL)) {
            ls->left_ns = (k - 1) * inc;
            return TOOK_LOCAL;
        }
    }
    return gcra_take(b, inc, cap, now_ns, wait_ns) ? TOOK_SHARED : TOOK_NONE;
}

/* One unit of inc from bucket b: through the thread's lease when ls != NULL
 * (shift: its adaptive size). */
static inline int take_one(gw_lease *ls, uint8_t *shift, llmopt_gw_bucket *b, int64_t inc,
                           int64_t cap, int64_t now_ns, int64_t *wait_ns) {
    if (!ls)
        return gcra_take(b, inc, cap, now_ns, wait_ns) ? TOOK_SHARED : TOOK_NONE;
    if (ls->left_ns >= inc && (uint64_t)(now_ns - ls->taken_ns) < LEASE_AGE_NS) {
        ls->left_ns -= inc;
        return TOOK_LOCAL;
    }
    return lease_refill(ls, shift, b, inc, cap, now_ns, wait_ns);
}

static inline void untake(int how, gw_lease *ls, llmopt_gw_bucket *b, int64_t inc) {
    if (how == TOOK_LOCAL)
        ls->left_ns += inc;
    else if (how == TOOK_SHARED)
        atomic_fetch_sub_explicit(&b->tat_ns, inc, memory_order_acq_rel);
}

/* ---- admission ------------------------------------------------------------ */

typedef struct scope_take {
    uint64_t key;
    unsigned tier;     /* 0 global, 1 tenant, 2 user */
    gw_lease_entry *e; /* the thread's entry for this scope */
    gw_limit_slot *slot;
    const tier_view *t;
    int64_t tok_inc; /* 0: no token bucket to take from */
    int took_req, took_tok;
} scope_take;

/* Takes one scope's request (and token) units through its lease entry;
 * false, with *w raised, when a bucket refuses (what was taken stays noted
 * in x->took_* for the undo). */
static inline bool take_scope(scope_take *x, int64_t now_ns, int64_t *w) {
    const tier_view *t = x->t;
    gw_limit_slot *s = x->slot;
    gw_lease_entry *e = x->e;
    x->took_tok = TOOK_NONE;
    x->took_req = take_one(&e->req, &e->shift[0], &s->req, t->req_inc, t->req_cap, now_ns, w);
    if (!x->took_req)
        return false;
    if (x->tok_inc > 0) {
        x->took_tok = take_one(&e->tok, &e->shift[1], &s->tok, x->tok_inc, t->tok_cap, now_ns, w);
        if (!x->took_tok)
            return false;
    }
    return true;
}

/* Tries every resolved scope again (the queue's retries); all or nothing.
 * Returns true, or false with *wait_ns. */
static bool take_all(scope_take *sc, size_t n, int64_t now_ns, int64_t *wait_ns) {
    size_t i;
    int64_t w = 0;
    for (i = 0; i < n; i++)
        if (!take_scope(&sc[i], now_ns, &w))
            break;
    if (i == n)
        return true;
    /* an undo gives back exactly what was taken, to where it came from */
    for (size_t j = 0; j <= i && j < n; j++) {
        untake(sc[j].took_req, &sc[j].e->req, &sc[j].slot->req, sc[j].t->req_inc);
        untake(sc[j].took_tok, &sc[j].e->tok, &sc[j].slot->tok, sc[j].tok_inc);
    }
    *wait_ns = w;
    return false;
}

/* The first try of a check: resolves each scope's entry and takes from it
 * in one pass; the entries stay in sc[] for the queue's retries (take_all). */
static inline bool take_all_first(gw_limiter *l, scope_take *sc, size_t n, unsigned prio,
                                  uint64_t seq, int64_t now_ns, int64_t *wait_ns) {
    size_t i;
    int64_t w = 0;
    for (i = 0; i < n; i++) {
        uint64_t key = sc[i].key | 1;
        gw_lease_entry *slot_e = &tl_lease[sc[i].tier][lease_index(key, prio, l->id)];
        gw_lease_entry *e = lease_entry(l, slot_e, key, prio, seq, now_ns);
        sc[i].e = e;
        sc[i].slot = e->slot;
        if (!take_scope(&sc[i], now_ns, &w))
            break;
    }
    if (__builtin_expect(i == n, 1))
        return true;
    for (size_t j = i + 1; j < n; j++) { /* not reached: resolved for the queue */
        uint64_t key = sc[j].key | 1;
        gw_lease_entry *slot_e = &tl_lease[sc[j].tier][lease_index(key, prio, l->id)];
        sc[j].e = lease_entry(l, slot_e, key, prio, seq, now_ns);
        sc[j].slot = sc[j].e->slot;
    }
    for (size_t j = 0; j <= i && j < n; j++) {
        untake(sc[j].took_req, &sc[j].e->req, &sc[j].slot->req, sc[j].t->req_inc);
        untake(sc[j].took_tok, &sc[j].e->tok, &sc[j].slot->tok, sc[j].tok_inc);
    }
    *wait_ns = w;
    return false;
}

static inline uint64_t limit_id(const char *id) {
    return id ? gw_hash_inl(id, strlen(id)) | 1 : 1;
}

uint64_t llmopt_gw_limit_id(const char *id) { return limit_id(id); }

/* id_hash: llmopt_gw_limit_id() of the tenant or user; 0 for the global tier */
static uint64_t scope_key(uint64_t route_hash, char scope, uint64_t id_hash) {
    return (route_hash * 0x9e3779b97f4a7c15ull) ^
           (id_hash + (uint64_t)scope * 0xc2b2ae3d27d4eb4full);
}

/* The default arm of the route's current decision (the configured default
 * when the route lost its decision since the check). Slow path only. */
static void degrade_arm(llmopt_gw *gw, gw_route *r, llmopt_gw_admission *out) {
    gw_rcu_token tok = gw_read_lock(gw);
    const gw_snap *s = atomic_load(&r->snap);
    if (s) {
        const gw_arm *def = &s->arms[s->default_idx];
        memcpy(out->degrade_arm_id, def->arm_id, def->arm_id_len + 1);
    } else {
        gw_copy_str(out->degrade_arm_id, sizeof(out->degrade_arm_id), gw->cfg.default_arm_id,
                    strlen(gw->cfg.default_arm_id));
    }
    gw_read_unlock(gw, tok);
}

/* ---- the per-thread check cache (see the top) ------------------------------ */

#define CHECK_BITS 6 /* 64 entries per thread, 12 KiB */

/* One scope of a cached check: the thread's lease entry for it and what a
 * local take needs of the compiled limits (valid while seq is current). */
typedef struct gw_check_scope {
    gw_lease_entry *e;
    uint64_t key; /* e->key it was resolved for: scope key | 1 */
    int64_t req_inc;
    double tok_ns;
} gw_check_scope;

/* A (limiter, route, tenant id, user id, priority) check that last went
 * through the slow path, with the route's limits as of seq. */
typedef struct gw_check_entry {
    _Alignas(64) const gw_route *route; /* NULL: empty */
    uint64_t lim_id;
    uint64_t tenant, user; /* resolved ids, 0: none given */
    uint64_t seq;          /* of the route's compiled limits */
    int64_t version;       /* decision version under seq */
    uint8_t prio, n;
    bool has_tok;        /* some s[].tok_ns > 0 */
    gw_check_scope s[3]; /* the scopes that apply, global -> tenant -> user */
} gw_check_entry;

static _Thread_local gw_check_entry tl_check[1u << CHECK_BITS];

static inline gw_check_entry *check_entry(const gw_route *r, uint64_t tenant, uint64_t user,
                                          unsigned prio) {
    uint64_t h = ((uint64_t)(uintptr_t)r ^ tenant ^ (user * 0xc2b2ae3d27d4eb4full)) + prio;
    return &tl_check[(h * 0x9e3779b97f4a7c15ull) >> (64 - CHECK_BITS)];
}

/* The fast path: true when every scope's lease entry still holds this
 * check's key under seq and its lease covers this check (then all are
 * spent); false with nothing changed otherwise. c is current (the caller
 * matched it). Branch-free tests per scope: the common case is all pass. */
static inline __attribute__((always_inline)) bool
check_take_local(const gw_check_entry *c, uint64_t lim_id, uint64_t seq, unsigned prio,
                 double tokens, int64_t now_ns) {
    unsigned n = c->n;
    for (unsigned i = 0; i < n; i++) {
        const gw_check_scope *x = &c->s[i];
        const gw_lease_entry *e = x->e;
        uint64_t stale = (e->key ^ x->key) | (e->lim_id ^ lim_id) |
                         (uint64_t)(e->seq ^ (uint32_t)seq) | (uint64_t)(e->prio ^ prio);
        bool short_req = (e->req.left_ns < x->req_inc) |
                         ((uint64_t)(now_ns - e->req.taken_ns) >= LEASE_AGE_NS);
        if (stale | short_req)
            return false; /* reused entry, dropped or spent lease: slow path */
    }
    if (!c->has_tok || !(tokens > 0)) { /* request buckets only */
        for (unsigned i = 0; i < n; i++)
            c->s[i].e->req.left_ns -= c->s[i].req_inc;
        return true;
    }
    int64_t tok_inc[3];
    for (unsigned i = 0; i < n; i++) {
        const gw_lease_entry *e = c->s[i].e;
        tok_inc[i] = c->s[i].tok_ns > 0 ? round_ns(tokens * c->s[i].tok_ns) : 0;
        if (tok_inc[i] > 0 && ((e->tok.left_ns < tok_inc[i]) |
                               ((uint64_t)(now_ns - e->tok.taken_ns) >= LEASE_AGE_NS)))
            return false;
    }
    for (unsigned i = 0; i < n; i++) {
        gw_lease_entry *e = c->s[i].e;
        e->req.left_ns -= c->s[i].req_inc;
        e->tok.left_ns -= tok_inc[i];
    }
    return true;
}

static inline int64_t check_now_ns(const llmopt_gw_admit_args *args) {
    return args->now_us ? args->now_us * 1000 : gw_mono_us() * 1000;
}

static llmopt_err_t admit_slow(llmopt_gw *gw, gw_route *r, const llmopt_gw_admit_args *args,
                               uint64_t tenant, uint64_t user, gw_check_entry *c,
                               llmopt_gw_admission *out);

/* The check of route r (found by name or by handle), ids resolved: the
 * thread's cached check when it is current and its leases cover it, else
 * the slow path (which refreshes the cache entry on admission). */
static inline __attribute__((always_inline)) llmopt_err_t
admit_resolved(llmopt_gw *gw, gw_route *r, const llmopt_gw_admit_args *args, uint64_t tenant,
               uint64_t user, llmopt_gw_admission *out) {
    const gw_limiter *l = gw->limiter;
    unsigned prio = (unsigned)args->priority;
    uint64_t seq = atomic_load_explicit(&r->limits.seq, memory_order_acquire);
    gw_check_entry *c = check_entry(r, tenant, user, prio);
    if (c->route == r && c->seq == seq && c->tenant == tenant && c->user == user &&
        c->prio == prio && c->lim_id == l->id) {
        out->decision_version = c->version;
        if (c->n == 0)
            return LLMOPT_OK;
        if (check_take_local(c, l->id, seq, prio, args->tokens, check_now_ns(args)))
            return LLMOPT_OK;
    }
    return admit_slow(gw, r, args, tenant, user, c, out);
}

/* Reads the limits, resolves each scope's lease entry and takes from it;
 * on admission c becomes this check's cache entry. */
static __attribute__((noinline)) llmopt_err_t
admit_slow(llmopt_gw *gw, gw_route *r, const llmopt_gw_admit_args *args, uint64_t tenant,
           uint64_t user, gw_check_entry *c, llmopt_gw_admission *out) {
    gw_limiter *l = gw->limiter;
    unsigned prio = (unsigned)args->priority;
    /* the slow path: read the limits, resolve each scope's lease entry */
    limits_view v;
    limits_read(&r->limits, prio, &v);
    out->decision_version = v.version;

    scope_take sc[3];
    size_t n = 0;
    int64_t wait_ns = 0;
    const uint64_t ids[3] = {0, tenant, user};
    static const char tags[3] = {'g', 't', 'u'};
    for (int k = 0; k < 3; k++) {
        if (!(v.tiers & (1u << k)))
            continue;
        uint64_t id = ids[k];
        if (k > 0 && id == 0)
            continue; /* no tenant (user) given: no such bucket */
        const tier_view *t = &v.t[k];
        int64_t tok_inc = t->tok_ns > 0 && args->tokens > 0 ? round_ns(args->tokens * t->tok_ns)
                                                            : 0;
        sc[n++] = (scope_take){scope_key(r->hash, tags[k], id), (unsigned)k, NULL, NULL, t,
                               tok_inc, 0, 0};
    }
    if (n > 0 && v.zero_share)
        goto over; /* a class with weight 0 gets nothing */
    if (n == 0 || take_all_first(l, sc, n, prio, v.seq, check_now_ns(args), &wait_ns)) {
        /* next time, the same check starts from this entry, if its leases
         * could cover it (an exact bucket never can: not worth the stores) */
        for (size_t i = 0; i < n; i++)
            if (sc[i].e->req.left_ns < sc[i].t->req_inc)
                return LLMOPT_OK;
        c->route = r;
        c->lim_id = l->id;
        c->tenant = tenant;
        c->user = user;
        c->seq = v.seq;
        c->version = v.version;
        c->prio = (uint8_t)prio;
        c->n = (uint8_t)n;
        c->has_tok = false;
        for (size_t i = 0; i < n; i++) {
            c->s[i] = (gw_check_scope){sc[i].e, sc[i].key | 1, sc[i].t->req_inc,
                                       sc[i].t->tok_ns};
            c->has_tok |= sc[i].t->tok_ns > 0;
        }
        return LLMOPT_OK;
    }
over:
    /* a refused check does not try its leases again before one refills */
    if (c->route == r)
        c->route = NULL;
    switch (v.on_limit) {
    case LLMOPT_ON_LIMIT_DEGRADE:
        out->verdict = LLMOPT_GW_DEGRADE;
        degrade_arm(gw, r, out);
        atomic_fetch_add_explicit(&my_counts(gw->limiter)->degraded, 1, memory_order_relaxed);
        return LLMOPT_OK;
    case LLMOPT_ON_LIMIT_QUEUE: {
        if (v.zero_share)
            break;
        int64_t start_us = gw_mono_us();
        int64_t deadline_us = start_us + v.queue_timeout_ms * 1000;
        atomic_fetch_add_explicit(&my_counts(gw->limiter)->queued, 1, memory_order_relaxed);
        for (;;) {
            int64_t now_us = gw_mono_us();
            if (now_us + wait_ns / 1000 > deadline_us)
                break;
            int64_t sleep_ns = wait_ns > 0 ? wait_ns : 100000;
            struct timespec ts = {sleep_ns / 1000000000, sleep_ns % 1000000000};
            nanosleep(&ts, NULL);
            now_us = gw_mono_us();
            if (take_all(sc, n, now_us * 1000, &wait_ns)) {
                out->queued_ms = (now_us - start_us) / 1000;
                return LLMOPT_OK;
            }
        }
        out->queued_ms = (gw_mono_us() - start_us) / 1000;
        break;
    }
    case LLMOPT_ON_LIMIT_DENY:
    default:
        break;
    }
    out->verdict = LLMOPT_GW_DENY;
    int64_t wait_ms = (wait_ns + 999999) / 1000000;
    out->retry_after_ms = v.retry_after_ms > wait_ms ? v.retry_after_ms : wait_ms;
    atomic_fetch_add_explicit(&my_counts(gw->limiter)->denied, 1, memory_order_relaxed);
    return LLMOPT_OK;
}

static inline void admission_init(llmopt_gw_admission *out) {
    out->verdict = LLMOPT_GW_ADMIT;
    out->retry_after_ms = 0;
    out->queued_ms = 0;
    out->degrade_arm_id[0] = '\0';
    out->decision_version = 0;
}

static inline uint64_t arg_id(uint64_t given, const char *s) {
    return given ? given : s ? limit_id(s) : 0;
}

llmopt_err_t llmopt_gw_admit_route(llmopt_gw *gw, llmopt_gw_route *route,
                                   const llmopt_gw_admit_args *args, llmopt_gw_admission *out) {
    if (!gw || !route || !args || !out || (unsigned)args->priority > LLMOPT_GW_PRIO_LOW)
        return LLMOPT_ERR_INVALID;
    admission_init(out);
    return admit_resolved(gw, (gw_route *)route, args, arg_id(args->tenant_id, args->tenant),
                          arg_id(args->user_id, args->user), out);
}

/* The last routes a thread found by name, keyed by the caller's pointer
 * and the limiter's id (so the route belongs to this live gateway), each
 * checked against the route's own name with strcmp (which reads the
 * caller's string only up to its NUL): a buffer reused for another name
 * finds the other route. Saves hashing the name and probing the table. */
#define NAME_MEMO_BITS 4

typedef struct gw_name_memo {
    const char *name; /* the caller's pointer */
    uint64_t lim_id;
    gw_route *r;
} gw_name_memo;

static _Thread_local gw_name_memo tl_name[1u << NAME_MEMO_BITS];

static inline gw_route *route_by_name(llmopt_gw *gw, const char *route) {
    uint64_t lim_id = gw->limiter->id;
    gw_name_memo *m = &tl_name[(((uint64_t)(uintptr_t)route ^ lim_id) * 0x9e3779b97f4a7c15ull) >>
                               (64 - NAME_MEMO_BITS)];
    if (m->name == route && m->lim_id == lim_id && strcmp(route, m->r->name) == 0)
        return m->r;
    size_t len = strlen(route);
    gw_route *r = gw_route_find(gw, route, len, gw_hash_inl(route, len));
    if (r)
        *m = (gw_name_memo){route, lim_id, r};
    return r;
}

llmopt_err_t llmopt_gw_admit(llmopt_gw *gw, const char *route, const llmopt_gw_admit_args *args,
                             llmopt_gw_admission *out) {
    if (!gw || !route || !args || !out || (unsigned)args->priority > LLMOPT_GW_PRIO_LOW)
        return LLMOPT_ERR_INVALID;
    admission_init(out);
    gw_route *r = route_by_name(gw, route);
    if (!r)
        return LLMOPT_OK; /* never had a decision: nothing to apply */
    return admit_resolved(gw, r, args, arg_id(args->tenant_id, args->tenant),
                          arg_id(args->user_id, args->user), out);
}
