/*
 * table.c - the route table and its read-copy-update reclamation (scheme in
 * gateway/include/llmopt_gateway.h, "Decision table").
 */
#include <sched.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_internal.h"

/* gw_internal.h gw_hash_inl, out of line */
uint64_t gw_hash(const char *s, size_t len) { return gw_hash_inl(s, len); }

llmopt_err_t gw_table_init(llmopt_gw *gw, size_t max_routes) {
    size_t n = 16;
    while (n < 2 * max_routes)
        n <<= 1;
    gw->slots = calloc(n, sizeof(*gw->slots));
    if (!gw->slots)
        return LLMOPT_ERR_NOMEM;
    for (size_t i = 0; i < n; i++)
        atomic_init(&gw->slots[i], NULL);
    gw->slot_mask = n - 1;
    gw->n_routes = 0;
    gw->retired = NULL;
    atomic_init(&gw->epoch, 0);
    for (size_t i = 0; i < GW_STRIPES; i++) {
        atomic_init(&gw->stripes[i].readers[0], 0);
        atomic_init(&gw->stripes[i].readers[1], 0);
    }
    return LLMOPT_OK;
}

void gw_snap_destroy(gw_snap *s) {
    if (!s)
        return;
    llmopt_routing_decision_release(&s->rec);
    free(s);
}

void gw_table_release(llmopt_gw *gw) {
    if (!gw->slots)
        return;
    for (size_t i = 0; i <= gw->slot_mask; i++) {
        gw_route *r = atomic_load(&gw->slots[i]);
        if (!r)
            continue;
        gw_snap_destroy(atomic_load(&r->snap));
        llmopt_gw_lru_destroy(atomic_load(&r->cache));
        free(r->name);
        free(r);
    }
    while (gw->retired) {
        gw_snap *n = gw->retired->retired_next;
        gw_snap_destroy(gw->retired);
        gw->retired = n;
    }
    free(gw->slots);
    gw->slots = NULL;
}

gw_route *gw_route_find(llmopt_gw *gw, const char *name, size_t len, uint64_t hash) {
    size_t i = hash & gw->slot_mask;
    for (;;) {
        gw_route *r = atomic_load_explicit(&gw->slots[i], memory_order_acquire);
        if (!r)
            return NULL;
        if (r->hash == hash && r->len == len && memcmp(r->name, name, len) == 0)
            return r;
        i = (i + 1) & gw->slot_mask;
    }
}

gw_route *gw_route_get_or_add(llmopt_gw *gw, const char *name, size_t len) {
    uint64_t h = gw_hash(name, len);
    gw_route *r = gw_route_find(gw, name, len, h);
    if (r)
        return r;
    if (gw->n_routes >= gw->cfg.max_routes)
        return NULL;
    r = calloc(1, sizeof(*r));
    if (!r)
        return NULL;
    r->name = malloc(len + 1);
    if (!r->name) {
        free(r);
        return NULL;
    }
    memcpy(r->name, name, len);
    r->name[len] = '\0';
    r->len = len;
    r->hash = h;
    atomic_init(&r->snap, NULL);
    atomic_init(&r->version, 0);
    atomic_init(&r->fresh_ts_ms, 0);
    atomic_init(&r->cache, NULL);
    atomic_init(&r->cache_ttl_ms, 0);
    /* the load factor stays <= 1/2 (slots >= 2 * max_routes): a free slot
     * always exists */
    size_t i = h & gw->slot_mask;
    while (atomic_load_explicit(&gw->slots[i], memory_order_relaxed))
        i = (i + 1) & gw->slot_mask;
    atomic_store_explicit(&gw->slots[i], r, memory_order_release);
    gw->n_routes++;
    atomic_fetch_add_explicit(&gw->st.routes, 1, memory_order_relaxed);
    return r;
}

void gw_route_publish(llmopt_gw *gw, gw_route *r, gw_snap *snap) {
    gw_limits_publish(r, snap);
    gw_snap *old = atomic_exchange(&r->snap, snap); /* seq_cst */
    if (old) {
        old->retired_next = gw->retired;
        gw->retired = old;
    }
}

/* A stripe per thread, handed out round robin on first use. */
static _Atomic unsigned next_stripe;
static _Thread_local int my_stripe = -1;

gw_rcu_token gw_read_lock(llmopt_gw *gw) {
    if (my_stripe < 0)
        my_stripe = (int)(atomic_fetch_add_explicit(&next_stripe, 1, memory_order_relaxed) %
                          GW_STRIPES);
    gw_rcu_token t;
    t.stripe = (unsigned)my_stripe;
    t.parity = (unsigned)(atomic_load(&gw->epoch) & 1);
    /* seq_cst: the increment is ordered before the snapshot load that
     * follows, against the writer's exchange + epoch store + counter loads */
    atomic_fetch_add(&gw->stripes[t.stripe].readers[t.parity], 1);
    return t;
}

void gw_read_unlock(llmopt_gw *gw, gw_rcu_token t) {
    atomic_fetch_sub_explicit(&gw->stripes[t.stripe].readers[t.parity], 1,
                              memory_order_release);
}

static void wait_parity(llmopt_gw *gw, unsigned parity) {
    for (size_t i = 0; i < GW_STRIPES; i++) {
        unsigned spins = 0;
        while (atomic_load(&gw->stripes[i].readers[parity]) != 0) {
            if (++spins > 64)
                sched_yield();
        }
    }
}

void gw_reclaim(llmopt_gw *gw) {
    if (!gw->retired)
        return;
    gw_snap *list = gw->retired;
    gw->retired = NULL;
    for (int k = 0; k < 2; k++) {
        uint64_t e = atomic_load(&gw->epoch);
        atomic_store(&gw->epoch, e + 1);
        wait_parity(gw, (unsigned)(e & 1));
    }
    while (list) {
        gw_snap *n = list->retired_next;
        gw_snap_destroy(list);
        atomic_fetch_add_explicit(&gw->st.reclaimed, 1, memory_order_relaxed);
        list = n;
    }
}
