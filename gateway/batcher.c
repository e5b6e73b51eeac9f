/*
 * batcher.c - groups one route's requests into batches by size, wait and
 * token budget, preserving arrival order (llmopt_gateway.h, "Batcher").
 *
 * The pending batch is a growable array under the batcher's mutex; a
 * closed batch is handed to the callback straight from that array.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/gw_internal.h"

struct llmopt_gw_batcher {
    pthread_mutex_t mu;
    llmopt_gw *gw;
    char *route;
    int32_t max_batch;
    int64_t max_wait_ms, token_budget;
    llmopt_gw_batch_cb cb;
    void *ctx;
    llmopt_gw_batch_item *items;
    size_t n, cap;
    int64_t tokens;
};

typedef struct batch_params {
    int32_t max_batch;
    int64_t max_wait_ms, token_budget;
} batch_params;

static batch_params params_of(llmopt_gw_batcher *b) {
    batch_params p = {b->max_batch, b->max_wait_ms, b->token_budget};
    if (!b->gw)
        return p;
    p.max_batch = 1; /* no decision or batching off: batches of one */
    p.max_wait_ms = 0;
    p.token_budget = 0;
    size_t len = strlen(b->route);
    gw_route *r = gw_route_find(b->gw, b->route, len, gw_hash(b->route, len));
    if (!r)
        return p;
    gw_rcu_token tok = gw_read_lock(b->gw);
    const gw_snap *s = atomic_load(&r->snap);
    if (s && s->rec.has_batching && s->rec.batching.enabled) {
        p.max_batch = s->rec.batching.max_batch;
        p.max_wait_ms = s->rec.batching.max_wait_ms;
        p.token_budget = s->rec.batching.token_budget;
    }
    gw_read_unlock(b->gw, tok);
    return p;
}

llmopt_gw_batcher *llmopt_gw_batcher_new(llmopt_gw *gw, const char *route, int32_t max_batch,
                                         int64_t max_wait_ms, int64_t token_budget,
                                         llmopt_gw_batch_cb cb, void *ctx) {
    if (!cb || (gw && !route) || (!gw && max_batch < 1))
        return NULL;
    llmopt_gw_batcher *b = calloc(1, sizeof(*b));
    if (!b)
        return NULL;
    if (route && !(b->route = strdup(route))) {
        free(b);
        return NULL;
    }
    pthread_mutex_init(&b->mu, NULL);
    b->gw = gw;
    b->max_batch = max_batch;
    b->max_wait_ms = max_wait_ms < 0 ? 0 : max_wait_ms;
    b->token_budget = token_budget < 0 ? 0 : token_budget;
    b->cb = cb;
    b->ctx = ctx;
    return b;
}

static size_t emit(llmopt_gw_batcher *b) {
    if (b->n == 0)
        return 0;
    b->cb(b->ctx, b->items, b->n);
    b->n = 0;
    b->tokens = 0;
    return 1;
}

void llmopt_gw_batcher_destroy(llmopt_gw_batcher *b) {
    if (!b)
        return;
    llmopt_gw_batcher_flush(b);
    pthread_mutex_destroy(&b->mu);
    free(b->items);
    free(b->route);
    free(b);
}

llmopt_err_t llmopt_gw_batcher_add(llmopt_gw_batcher *b, const char *request_id,
                                   int64_t tokens, int64_t now_ms) {
    if (!b || !request_id)
        return LLMOPT_ERR_INVALID;
    if (tokens < 0)
        tokens = 0;
    batch_params p = params_of(b);
    llmopt_err_t result = LLMOPT_OK;
    pthread_mutex_lock(&b->mu);
    /* a batch that would overflow the budget closes before this request */
    if (b->n > 0 && p.token_budget > 0 && b->tokens + tokens > p.token_budget)
        emit(b);
    if (b->n > 0 && now_ms - b->items[0].enqueued_ms >= p.max_wait_ms)
        emit(b);
    if (b->n == b->cap) {
        size_t nc = b->cap ? 2 * b->cap : 16;
        llmopt_gw_batch_item *ni = realloc(b->items, nc * sizeof(*ni));
        if (!ni) {
            result = LLMOPT_ERR_NOMEM;
            goto out;
        }
        b->items = ni;
        b->cap = nc;
    }
    llmopt_gw_batch_item *it = &b->items[b->n++];
    gw_copy_str(it->request_id, sizeof(it->request_id), request_id, strlen(request_id));
    it->tokens = tokens;
    it->enqueued_ms = now_ms;
    b->tokens += tokens;
    if ((int64_t)b->n >= p.max_batch || (p.token_budget > 0 && b->tokens >= p.token_budget) ||
        p.max_wait_ms == 0)
        emit(b);
out:
    pthread_mutex_unlock(&b->mu);
    return result;
}

size_t llmopt_gw_batcher_poll(llmopt_gw_batcher *b, int64_t now_ms) {
    batch_params p = params_of(b);
    size_t n = 0;
    pthread_mutex_lock(&b->mu);
    if (b->n > 0 && now_ms - b->items[0].enqueued_ms >= p.max_wait_ms)
        n = emit(b);
    pthread_mutex_unlock(&b->mu);
    return n;
}

size_t llmopt_gw_batcher_flush(llmopt_gw_batcher *b) {
    pthread_mutex_lock(&b->mu);
    size_t n = emit(b);
    pthread_mutex_unlock(&b->mu);
    return n;
}
