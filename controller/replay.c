/*
 * replay.c - the controller's decision loop over injected inputs and time
 * (see replay.h). Mirrors daemon.c: handle_message() for the inputs, the
 * tick in lead(), and flush() for decide + commit; nothing here talks to
 * Kafka or Postgres.
 */
#include "controller/replay.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct llmopt_ctl_replay {
    const llmopt_policy *pol;
    llmopt_route **routes;
    uint8_t *touched;
    size_t n;
    int64_t tick_ms, last_tick_ms, checkpoint_ms, last_ckpt_ms;
    llmopt_ctl_replay_cb *cb;
    void *ctx;
    llmopt_ctl_replay_stats st;
    llmopt_route_decision d;
};

llmopt_ctl_replay *llmopt_ctl_replay_new(const llmopt_policy *p, uint64_t seed, int64_t tick_ms,
                                         int64_t checkpoint_ms, int64_t start_ms, llmopt_ctl_replay_cb *cb, void *ctx,
                                         char *errstr, size_t errstr_size) {
    llmopt_ctl_replay *rp = calloc(1, sizeof(*rp));
    if (!rp || !(rp->routes = calloc(p->n_routes ? p->n_routes : 1, sizeof(*rp->routes))) ||
        !(rp->touched = calloc(p->n_routes ? p->n_routes : 1, 1))) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        llmopt_ctl_replay_destroy(rp);
        return NULL;
    }
    rp->pol = p;
    rp->tick_ms = tick_ms > 0 ? tick_ms : 1;
    rp->last_tick_ms = rp->last_ckpt_ms = start_ms;
    rp->checkpoint_ms = checkpoint_ms > 0 ? checkpoint_ms : 1;
    rp->cb = cb;
    rp->ctx = ctx;
    for (size_t i = 0; i < p->n_routes; i++) {
        const llmopt_policy_route *pr = &p->routes[i];
        rp->routes[i] = llmopt_route_new(pr, llmopt_route_seed(seed, pr->route), start_ms, errstr,
                                         errstr_size);
        if (!rp->routes[i]) {
            llmopt_ctl_replay_destroy(rp);
            return NULL;
        }
        rp->n = i + 1;
        /* a fresh leader's first decision */
        llmopt_route_note(rp->routes[i], "initial decision");
        rp->touched[i] = 1;
    }
    return rp;
}

void llmopt_ctl_replay_destroy(llmopt_ctl_replay *rp) {
    if (!rp)
        return;
    for (size_t i = 0; rp->routes && i < rp->n; i++)
        llmopt_route_destroy(rp->routes[i]);
    free(rp->routes);
    free(rp->touched);
    free(rp);
}

static int route_of(llmopt_ctl_replay *rp, const llmopt_str *name) {
    if (!name->ptr)
        return -1;
    for (size_t i = 0; i < rp->n; i++) {
        const char *rn = llmopt_route_name(rp->routes[i]);
        if (strlen(rn) == name->len && !memcmp(rn, name->ptr, name->len))
            return (int)i;
    }
    return -1;
}

/* Counts the result like the daemon does and marks the route touched. */
static llmopt_err_t done(llmopt_ctl_replay *rp, int ri, llmopt_err_t e) {
    if (e) {
        rp->st.rejected++;
        return e;
    }
    rp->touched[ri] = 1;
    /* alerts are the daemon's business: drain them */
    char buf[64];
    while (llmopt_route_take_alert(rp->routes[ri], buf, sizeof(buf)))
        ;
    return LLMOPT_OK;
}

static int find(llmopt_ctl_replay *rp, const llmopt_str *route, char *errstr,
                size_t errstr_size) {
    rp->st.inputs++;
    int ri = route_of(rp, route);
    if (ri < 0) {
        rp->st.unknown_route++;
        llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size, "route '%.*s' is not in the policy",
                    (int)(route->len > 200 ? 200 : route->len), route->ptr ? route->ptr : "");
    }
    return ri;
}

llmopt_err_t llmopt_ctl_replay_outcome(llmopt_ctl_replay *rp, const llmopt_outcome *o,
                                       int64_t now_ms, char *errstr, size_t errstr_size) {
    (void)now_ms;
    int ri = find(rp, &o->route, errstr, errstr_size);
    if (ri < 0)
        return LLMOPT_ERR_UNKNOWN;
    return done(rp, ri, llmopt_route_outcome(rp->routes[ri], o, errstr, errstr_size));
}

llmopt_err_t llmopt_ctl_replay_metrics(llmopt_ctl_replay *rp, const llmopt_window_metrics *m,
                                       int64_t now_ms, char *errstr, size_t errstr_size) {
    int ri = find(rp, &m->route, errstr, errstr_size);
    if (ri < 0)
        return LLMOPT_ERR_UNKNOWN;
    return done(rp, ri, llmopt_route_metrics(rp->routes[ri], m, now_ms, errstr, errstr_size));
}

llmopt_err_t llmopt_ctl_replay_signal(llmopt_ctl_replay *rp, const llmopt_signal *s,
                                      int64_t now_ms, char *errstr, size_t errstr_size) {
    int ri = find(rp, &s->route, errstr, errstr_size);
    if (ri < 0)
        return LLMOPT_ERR_UNKNOWN;
    return done(rp, ri, llmopt_route_signal(rp->routes[ri], s, now_ms, errstr, errstr_size));
}

void llmopt_ctl_replay_step(llmopt_ctl_replay *rp, int64_t now_ms) {
    rp->st.steps++;
    if (now_ms - rp->last_tick_ms >= rp->tick_ms) {
        rp->last_tick_ms = now_ms;
        for (size_t i = 0; i < rp->n; i++) {
            llmopt_route_tick(rp->routes[i], now_ms);
            if (llmopt_route_dirty(rp->routes[i]))
                rp->touched[i] = 1;
        }
    }
    size_t n_due = 0;
    bool any_dirty = false;
    for (size_t i = 0; i < rp->n; i++) {
        llmopt_route *r = rp->routes[i];
        any_dirty = any_dirty || llmopt_route_dirty(r);
        if (!rp->touched[i])
            continue;
        rp->touched[i] = 0;
        if (llmopt_route_decide(r, now_ms, &rp->d) != 1)
            continue;
        int64_t version = llmopt_route_version(r) + 1;
        const char *const *ids;
        size_t n_ids = llmopt_route_signal_ids(r, &ids);
        if (rp->cb) {
            llmopt_ctl_replay_decision dec = {.route = i, .route_name = llmopt_route_name(r),
                                              .version = version, .ts_ms = now_ms, .d = &rp->d,
                                              .signal_ids = ids, .n_signal_ids = n_ids};
            rp->cb(rp->ctx, &dec);
        }
        llmopt_route_commit(r, &rp->d, version, now_ms);
        rp->st.decisions++;
        n_due++;
    }
    /* the daemon's flush persists (and so clears the dirty marks) when a
     * decision was due or a checkpoint is due; a dirty route is touched by
     * every tick until then */
    if (n_due || (any_dirty && now_ms - rp->last_ckpt_ms >= rp->checkpoint_ms)) {
        rp->last_ckpt_ms = now_ms;
        for (size_t i = 0; i < rp->n; i++)
            llmopt_route_clear_dirty(rp->routes[i]);
    }
}

const llmopt_route *llmopt_ctl_replay_route(const llmopt_ctl_replay *rp, size_t route) {
    return route < rp->n ? rp->routes[route] : NULL;
}

void llmopt_ctl_replay_get_stats(const llmopt_ctl_replay *rp, llmopt_ctl_replay_stats *st) {
    *st = rp->st;
}
