/*
 * limiter.c - lock-free GCRA token buckets keyed by (route, scope, id) and
 * the admission rules of a decision's rate_limits (llmopt_gateway.h, "Rate
 * limits").
 *
 * Table: open addressing over slots whose key (a non-zero 64-bit hash) is
 * claimed once with CAS and never released, so a reader that matched a key
 * keeps a valid bucket forever. Two different keys with the same 64-bit
 * hash would share a bucket (probability ~ n^2 / 2^65; accepted).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gateway/gw_internal.h"

#define PROBE_LIMIT 64

typedef struct gw_limit_slot {
    _Atomic uint64_t key;
    llmopt_gw_bucket req;
    llmopt_gw_bucket tok;
} gw_limit_slot;

struct gw_limiter {
    gw_limit_slot *slots;
    size_t mask;
    gw_limit_slot overflow; /* shared when the table is full */
};

void llmopt_gw_bucket_init(llmopt_gw_bucket *b) { atomic_init(&b->tat_ns, 0); }

bool llmopt_gw_bucket_take(llmopt_gw_bucket *b, double rate_per_s, double burst, double share,
                           double cost, int64_t now_ns, int64_t *wait_ns) {
    double t_ns = 1e9 / rate_per_s;
    int64_t inc = (int64_t)llround(cost * t_ns);
    int64_t cap = (int64_t)llround(share * burst * t_ns);
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

void llmopt_gw_bucket_refund(llmopt_gw_bucket *b, double rate_per_s, double cost) {
    int64_t inc = (int64_t)llround(cost * 1e9 / rate_per_s);
    atomic_fetch_sub_explicit(&b->tat_ns, inc, memory_order_acq_rel);
}

gw_limiter *gw_limiter_new(size_t slots) {
    size_t n = 64;
    while (n < slots)
        n <<= 1;
    gw_limiter *l = calloc(1, sizeof(*l));
    if (!l)
        return NULL;
    l->slots = calloc(n, sizeof(*l->slots));
    if (!l->slots) {
        free(l);
        return NULL;
    }
    l->mask = n - 1;
    return l;
}

void gw_limiter_destroy(gw_limiter *l) {
    if (!l)
        return;
    free(l->slots);
    free(l);
}

static gw_limit_slot *slot_for(gw_limiter *l, uint64_t key) {
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
    return NULL;
}

typedef struct scope_take {
    gw_limit_slot *slot;
    const llmopt_token_bucket *tb;
    bool took_req, took_tok;
} scope_take;

/* Tries every scope; all or nothing. Returns true, or false with *wait_ns. */
static bool take_all(gw_limiter *l, scope_take *sc, size_t n, double share, double tokens,
                     int64_t now_ns, int64_t *wait_ns) {
    size_t i;
    int64_t w = 0;
    for (i = 0; i < n; i++) {
        const llmopt_token_bucket *tb = sc[i].tb;
        gw_limit_slot *s = sc[i].slot;
        sc[i].took_req = sc[i].took_tok = false;
        if (!llmopt_gw_bucket_take(&s->req, tb->requests_per_s, tb->requests_burst, share, 1.0,
                                   now_ns, &w))
            break;
        sc[i].took_req = true;
        if (tb->tokens_per_min > 0 && tokens > 0) {
            if (!llmopt_gw_bucket_take(&s->tok, tb->tokens_per_min / 60.0, tb->tokens_burst,
                                       share, tokens, now_ns, &w))
                break;
            sc[i].took_tok = true;
        }
    }
    if (i == n)
        return true;
    for (size_t j = 0; j <= i && j < n; j++) {
        if (sc[j].took_req)
            llmopt_gw_bucket_refund(&sc[j].slot->req, sc[j].tb->requests_per_s, 1.0);
        if (sc[j].took_tok)
            llmopt_gw_bucket_refund(&sc[j].slot->tok, sc[j].tb->tokens_per_min / 60.0, tokens);
    }
    *wait_ns = w;
    return false;
}

static uint64_t scope_key(uint64_t route_hash, char scope, const char *id) {
    uint64_t h = id ? gw_hash(id, strlen(id)) : 0;
    return (route_hash * 0x9e3779b97f4a7c15ull) ^ (h + (uint64_t)scope * 0xc2b2ae3d27d4eb4full);
}

llmopt_err_t llmopt_gw_admit(llmopt_gw *gw, const char *route, const llmopt_gw_admit_args *args,
                             llmopt_gw_admission *out) {
    if (!gw || !route || !args || !out || (unsigned)args->priority > LLMOPT_GW_PRIO_LOW)
        return LLMOPT_ERR_INVALID;
    memset(out, 0, sizeof(*out));
    out->verdict = LLMOPT_GW_ADMIT;
    size_t len = strlen(route);
    uint64_t rh = gw_hash(route, len);
    gw_route *r = gw_route_find(gw, route, len, rh);
    if (!r)
        return LLMOPT_OK;
    /* copy what we need out of the snapshot: queue mode sleeps, and a
     * reader must never sleep inside the read-side section */
    llmopt_rate_limits rl;
    double share;
    gw_rcu_token tok = gw_read_lock(gw);
    const gw_snap *s = atomic_load(&r->snap);
    if (!s || !s->rec.has_rate_limits) {
        if (s)
            out->decision_version = s->rec.version;
        gw_read_unlock(gw, tok);
        return LLMOPT_OK;
    }
    rl = s->rec.rate_limits;
    rl.priority_weights.items = NULL; /* not needed, not to be kept */
    share = s->prio_share[args->priority];
    out->decision_version = s->rec.version;
    const gw_arm *def = &s->arms[s->default_idx];
    memcpy(out->degrade_arm_id, def->arm_id, def->arm_id_len + 1);
    gw_read_unlock(gw, tok);

    scope_take sc[3];
    size_t n = 0;
    int64_t wait_ns = 0;
    gw_limiter *l = gw->limiter;
    gw_limit_slot *global = NULL;
    if (rl.has_global) {
        global = slot_for(l, scope_key(rh, 'g', NULL));
        sc[n++] = (scope_take){global ? global : &l->overflow, &rl.global, false, false};
    }
    if (rl.has_per_tenant && args->tenant) {
        gw_limit_slot *t = slot_for(l, scope_key(rh, 't', args->tenant));
        sc[n++] = (scope_take){t ? t : &l->overflow, &rl.per_tenant, false, false};
    }
    if (rl.has_per_user && args->user) {
        gw_limit_slot *u = slot_for(l, scope_key(rh, 'u', args->user));
        sc[n++] = (scope_take){u ? u : &l->overflow, &rl.per_user, false, false};
    }
    if (n == 0 || share <= 0) {
        if (share <= 0 && n > 0)
            goto over; /* a class with weight 0 gets nothing */
        return LLMOPT_OK;
    }
    int64_t now_ns = args->now_us ? args->now_us * 1000 : gw_mono_us() * 1000;
    if (take_all(l, sc, n, share, args->tokens, now_ns, &wait_ns))
        return LLMOPT_OK;
over:
    switch (rl.on_limit) {
    case LLMOPT_ON_LIMIT_DEGRADE:
        out->verdict = LLMOPT_GW_DEGRADE;
        atomic_fetch_add_explicit(&gw->st.degraded, 1, memory_order_relaxed);
        return LLMOPT_OK;
    case LLMOPT_ON_LIMIT_QUEUE: {
        if (share <= 0)
            break;
        int64_t start_us = gw_mono_us();
        int64_t deadline_us = start_us + rl.queue_timeout_ms * 1000;
        atomic_fetch_add_explicit(&gw->st.queued, 1, memory_order_relaxed);
        for (;;) {
            int64_t now_us = gw_mono_us();
            if (now_us + wait_ns / 1000 > deadline_us)
                break;
            int64_t sleep_ns = wait_ns > 0 ? wait_ns : 100000;
            struct timespec ts = {sleep_ns / 1000000000, sleep_ns % 1000000000};
            nanosleep(&ts, NULL);
            now_us = gw_mono_us();
            if (take_all(l, sc, n, share, args->tokens, now_us * 1000, &wait_ns)) {
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
    out->retry_after_ms = rl.retry_after_ms > wait_ms ? rl.retry_after_ms : wait_ms;
    atomic_fetch_add_explicit(&gw->st.denied, 1, memory_order_relaxed);
    return LLMOPT_OK;
}
