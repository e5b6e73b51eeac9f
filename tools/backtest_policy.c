/*
 * backtest_policy.c - the policy file and per-route candidate replays.
 */
#include "tools/backtest_policy.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "controller/core/alloc.h"
#include "controller/core/bandit.h"
#include "controller/core/egreedy.h"
#include "controller/core/rng.h"
#include "controller/core/thompson.h"
#include "controller/core/ucb.h"

const char *llmopt_bt_kind_name(llmopt_bt_kind k) {
    switch (k) {
    case LLMOPT_BT_FIXED: return "fixed";
    case LLMOPT_BT_THOMPSON: return "thompson";
    case LLMOPT_BT_UCB1: return "ucb1";
    case LLMOPT_BT_EGREEDY: return "egreedy";
    }
    return "?";
}

static void candidate_release(llmopt_bt_candidate *c) {
    free(c->name);
    for (size_t i = 0; i < c->n_routes; i++) {
        llmopt_bt_weights *w = &c->routes[i];
        free(w->route);
        for (size_t j = 0; j < w->count; j++)
            free(w->arms[j]);
        free(w->arms);
        free(w->weights);
    }
    free(c->routes);
    memset(c, 0, sizeof(*c));
}

void llmopt_bt_policy_release(llmopt_bt_policy_set *s) {
    for (size_t i = 0; i < s->count; i++)
        candidate_release(&s->items[i]);
    free(s->items);
    memset(s, 0, sizeof(*s));
}

/* "250ms", "60s", "5m", "2h", or a JSON integer of milliseconds. */
static int parse_duration(const json_t *v, int64_t *ms) {
    if (json_is_integer(v)) {
        *ms = json_integer_value(v);
        return *ms > 0;
    }
    if (!json_is_string(v))
        return 0;
    const char *s = json_string_value(v);
    char *end;
    double x = strtod(s, &end);
    double mult = !strcmp(end, "ms") || !*end ? 1 : !strcmp(end, "s") ? 1e3 : !strcmp(end, "m") ? 6e4
                  : !strcmp(end, "h") ? 3.6e6 : !strcmp(end, "d") ? 8.64e7 : -1;
    if (mult < 0 || end == s || !(x > 0) || x * mult > 1e15)
        return 0;
    *ms = (int64_t)(x * mult);
    return *ms > 0;
}

static llmopt_err_t parse_weights(const char *origin, const char *cname, json_t *wobj,
                                  llmopt_bt_candidate *c, char *errstr, size_t errstr_size) {
    if (!json_is_object(wobj) || json_object_size(wobj) == 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "policy file '%s': candidate '%s': 'weights' must be a non-empty "
                           "object of routes", origin, cname);
    c->routes = calloc(json_object_size(wobj), sizeof(*c->routes));
    if (!c->routes)
        return LLMOPT_ERR_NOMEM;
    const char *route;
    json_t *arms;
    json_object_foreach(wobj, route, arms) {
        llmopt_bt_weights *w = &c->routes[c->n_routes++];
        if (!(w->route = strdup(route)))
            return LLMOPT_ERR_NOMEM;
        if (!json_is_object(arms) || json_object_size(arms) == 0)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "policy file '%s': candidate '%s' route '%s': expected an object "
                               "of arm weights", origin, cname, route);
        size_t n = json_object_size(arms);
        w->arms = calloc(n, sizeof(char *));
        w->weights = calloc(n, sizeof(double));
        if (!w->arms || !w->weights)
            return LLMOPT_ERR_NOMEM;
        double sum = 0;
        const char *arm;
        json_t *v;
        json_object_foreach(arms, arm, v) {
            double x = json_is_number(v) ? json_number_value(v) : -1;
            if (!(x >= 0 && isfinite(x)))
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "policy file '%s': candidate '%s' route '%s' arm '%s': weight "
                                   "must be a number >= 0", origin, cname, route, arm);
            if (!(w->arms[w->count] = strdup(arm)))
                return LLMOPT_ERR_NOMEM;
            w->weights[w->count++] = x;
            sum += x;
        }
        if (!(sum > 0))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "policy file '%s': candidate '%s' route '%s': weights sum to 0",
                               origin, cname, route);
        for (size_t j = 0; j < w->count; j++)
            w->weights[j] /= sum;
    }
    return LLMOPT_OK;
}

static llmopt_err_t parse_bandit(const char *origin, const char *cname, json_t *b,
                                 llmopt_bt_candidate *c, char *errstr, size_t errstr_size) {
    const char *alg = json_string_value(json_object_get(b, "algorithm"));
    if (!json_is_object(b) || !alg)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "policy file '%s': candidate '%s': 'bandit' needs an 'algorithm'",
                           origin, cname);
    if (!strcmp(alg, "thompson"))
        c->kind = LLMOPT_BT_THOMPSON;
    else if (!strcmp(alg, "ucb1") || !strcmp(alg, "ucb"))
        c->kind = LLMOPT_BT_UCB1;
    else if (!strcmp(alg, "egreedy"))
        c->kind = LLMOPT_BT_EGREEDY;
    else
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "policy file '%s': candidate '%s': unknown algorithm '%s' (thompson, "
                           "ucb1 or egreedy)", origin, cname, alg);
    c->floor = 0.01, c->gamma = 1, c->draws = 2000, c->c = 1, c->eps = 0.1, c->refresh_ms = 60000;
    const char *reward = json_string_value(json_object_get(b, "reward"));
    if (reward && strcmp(reward, "bernoulli") && strcmp(reward, "normal"))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "policy file '%s': candidate '%s': unknown reward '%s' (bernoulli or "
                           "normal)", origin, cname, reward);
    c->normal_reward = reward && !strcmp(reward, "normal");
    struct { const char *key; double *dst; double lo, hi; } nums[] = {
        {"floor", &c->floor, 0, 0.5}, {"gamma", &c->gamma, 1e-9, 1},
        {"c", &c->c, 0, 1e6}, {"eps", &c->eps, 0, 1}};
    for (size_t i = 0; i < sizeof(nums) / sizeof(nums[0]); i++) {
        json_t *v = json_object_get(b, nums[i].key);
        if (!v)
            continue;
        double x = json_is_number(v) ? json_number_value(v) : NAN;
        if (!(x >= nums[i].lo && x <= nums[i].hi))
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "policy file '%s': candidate '%s': '%s' must be a number in "
                               "[%g, %g]", origin, cname, nums[i].key, nums[i].lo, nums[i].hi);
        *nums[i].dst = x;
    }
    json_t *d = json_object_get(b, "draws");
    if (d) {
        if (!json_is_integer(d) || json_integer_value(d) < 1 || json_integer_value(d) > 1000000)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "policy file '%s': candidate '%s': 'draws' must be an integer in "
                               "1..1000000", origin, cname);
        c->draws = (uint32_t)json_integer_value(d);
    }
    json_t *r = json_object_get(b, "refresh");
    if (r && !parse_duration(r, &c->refresh_ms))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "policy file '%s': candidate '%s': 'refresh' must be a duration such "
                           "as \"60s\" or milliseconds", origin, cname);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bt_policy_parse(const char *json, size_t len, const char *origin,
                                    llmopt_bt_policy_set *out, char *errstr, size_t errstr_size) {
    memset(out, 0, sizeof(*out));
    json_error_t je;
    llmopt_err_t rc = LLMOPT_ERR_INVALID;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        llmopt_errf(rc, errstr, errstr_size, "policy file '%s': line %d column %d: %s", origin,
                    je.line, je.column, je.text);
        goto out;
    }
    json_t *cands = json_object_get(root, "candidates");
    if (!json_is_array(cands) || json_array_size(cands) == 0) {
        llmopt_errf(rc, errstr, errstr_size,
                    "policy file '%s': expected {\"candidates\": [...]} with at least one "
                    "candidate", origin);
        goto out;
    }
    out->items = calloc(json_array_size(cands), sizeof(*out->items));
    if (!out->items) {
        rc = LLMOPT_ERR_NOMEM;
        goto out;
    }
    size_t i;
    json_t *cj;
    json_array_foreach(cands, i, cj) {
        llmopt_bt_candidate *c = &out->items[out->count++];
        const char *name = json_string_value(json_object_get(cj, "name"));
        if (!name || !*name) {
            llmopt_errf(rc, errstr, errstr_size, "policy file '%s': candidate %zu has no 'name'",
                        origin, i);
            goto out;
        }
        for (size_t j = 0; j + 1 < out->count; j++)
            if (!strcmp(out->items[j].name, name)) {
                llmopt_errf(rc, errstr, errstr_size,
                            "policy file '%s': candidate name '%s' is used twice", origin, name);
                goto out;
            }
        if (!(c->name = strdup(name))) {
            rc = LLMOPT_ERR_NOMEM;
            goto out;
        }
        json_t *w = json_object_get(cj, "weights"), *b = json_object_get(cj, "bandit");
        if (!!w == !!b) {
            llmopt_errf(rc, errstr, errstr_size,
                        "policy file '%s': candidate '%s' needs exactly one of 'weights' and "
                        "'bandit'", origin, name);
            goto out;
        }
        llmopt_err_t e = w ? parse_weights(origin, name, w, c, errstr, errstr_size)
                           : parse_bandit(origin, name, b, c, errstr, errstr_size);
        if (e != LLMOPT_OK) {
            rc = e;
            if (e == LLMOPT_ERR_NOMEM)
                llmopt_errf(e, errstr, errstr_size, "policy file '%s': out of memory", origin);
            goto out;
        }
    }
    rc = LLMOPT_OK;
out:
    json_decref(root);
    if (rc != LLMOPT_OK)
        llmopt_bt_policy_release(out);
    return rc;
}

llmopt_err_t llmopt_bt_policy_load(const char *path, llmopt_bt_policy_set *out, char *errstr,
                                   size_t errstr_size) {
    memset(out, 0, sizeof(*out));
    FILE *f = fopen(path, "rb");
    if (!f)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "policy file '%s': cannot open",
                           path);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    for (;;) {
        if (len + 4096 > cap) {
            if (cap > (64u << 20)) {
                rc = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "policy file '%s': larger than 64 MiB", path);
                goto out;
            }
            char *n = realloc(buf, cap = cap * 2 + 8192);
            if (!n)
                goto out;
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len, f);
        len += got;
        if (got == 0)
            break;
    }
    rc = llmopt_bt_policy_parse(buf, len, path, out, errstr, errstr_size);
out:
    fclose(f);
    free(buf);
    return rc;
}

const llmopt_bt_weights *llmopt_bt_fixed_for(const llmopt_bt_candidate *c, const char *route) {
    const llmopt_bt_weights *star = NULL;
    for (size_t i = 0; i < c->n_routes; i++) {
        if (!strcmp(c->routes[i].route, route))
            return &c->routes[i];
        if (!strcmp(c->routes[i].route, "*"))
            star = &c->routes[i];
    }
    return star;
}

struct llmopt_bt_replay {
    const llmopt_bt_candidate *c;
    uint32_t k;
    double *w;               /* current weights */
    llmopt_bandit bandit;
    llmopt_rng rng;
    int64_t next_refresh_ms;
    int started;
};

llmopt_err_t llmopt_bt_replay_new(const llmopt_bt_candidate *c, const char *route,
                                  const char *const *arms, uint32_t k, uint64_t seed,
                                  llmopt_bt_replay **out, char *errstr, size_t errstr_size) {
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    llmopt_bt_replay *r = calloc(1, sizeof(*r));
    if (!r || !(r->w = calloc(k ? k : 1, sizeof(double)))) {
        llmopt_errf(rc, errstr, errstr_size, "out of memory");
        goto out;
    }
    r->c = c;
    r->k = k;
    if (c->kind == LLMOPT_BT_FIXED) {
        const llmopt_bt_weights *fw = llmopt_bt_fixed_for(c, route);
        if (!fw) {
            rc = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "candidate '%s' has no weights for route '%s' (add it or \"*\")",
                             c->name, route);
            goto out;
        }
        for (size_t j = 0; j < fw->count; j++) {
            uint32_t a = 0;
            while (a < k && strcmp(arms[a], fw->arms[j]))
                a++;
            if (a == k) {
                rc = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                 "candidate '%s': arm '%s' is not an arm of route '%s'", c->name,
                                 fw->arms[j], route);
                goto out;
            }
            r->w[a] += fw->weights[j];
        }
    } else {
        llmopt_bandit_config bc;
        llmopt_bandit_config_default(&bc, c->normal_reward ? LLMOPT_BANDIT_NORMAL
                                                           : LLMOPT_BANDIT_BERNOULLI, k);
        bc.gamma = c->gamma;
        bc.floor = c->floor;
        bc.drift_floor = c->floor > bc.drift_floor ? c->floor : bc.drift_floor;
        if ((rc = llmopt_bandit_init(&r->bandit, &bc, errstr, errstr_size)) != LLMOPT_OK)
            goto out;
        llmopt_rng_seed(&r->rng, seed);
    }
    rc = LLMOPT_OK;
out:
    if (rc != LLMOPT_OK) {
        llmopt_bt_replay_destroy(r);
        r = NULL;
    }
    *out = r;
    return rc;
}

void llmopt_bt_replay_destroy(llmopt_bt_replay *r) {
    if (!r)
        return;
    free(r->w);
    free(r);
}

static llmopt_err_t refresh(llmopt_bt_replay *r, char *errstr, size_t errstr_size) {
    const llmopt_bt_candidate *c = r->c;
    double pref[LLMOPT_BANDIT_MAX_ARMS];
    llmopt_err_t rc;
    if (c->kind == LLMOPT_BT_THOMPSON)
        rc = llmopt_thompson_weights(&r->bandit, NULL, c->draws, &r->rng, pref, NULL, 0);
    else if (c->kind == LLMOPT_BT_UCB1)
        rc = llmopt_ucb1_weights(&r->bandit, NULL, c->c, pref, NULL, 0);
    else
        rc = llmopt_egreedy_weights(&r->bandit, NULL, c->eps, pref, NULL, 0);
    if (rc != LLMOPT_OK)
        return llmopt_errf(rc, errstr, errstr_size, "candidate '%s': %s weights failed (%s)",
                           c->name, llmopt_bt_kind_name(c->kind), llmopt_err_name(rc));
    llmopt_alloc_arm arms[LLMOPT_BANDIT_MAX_ARMS];
    for (uint32_t a = 0; a < r->k; a++)
        arms[a] = (llmopt_alloc_arm){.role = LLMOPT_ALLOC_FLOAT, .raw = pref[a], .floor = c->floor};
    rc = llmopt_alloc_weights(arms, r->k, r->w, NULL, 0);
    if (rc != LLMOPT_OK)
        return llmopt_errf(rc, errstr, errstr_size, "candidate '%s': allocation failed (%s)",
                           c->name, llmopt_err_name(rc));
    /* alloc.h sums to 1 within an ulp; clamp rounding below 0 */
    for (uint32_t a = 0; a < r->k; a++)
        if (r->w[a] < 0)
            r->w[a] = 0;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bt_replay_probs(llmopt_bt_replay *r, int64_t ts_ms, double *pi, char *errstr,
                                    size_t errstr_size) {
    if (r->c->kind != LLMOPT_BT_FIXED && (!r->started || ts_ms >= r->next_refresh_ms)) {
        if (r->started)
            llmopt_bandit_decay(&r->bandit);
        llmopt_err_t rc = refresh(r, errstr, errstr_size);
        if (rc != LLMOPT_OK)
            return rc;
        r->started = 1;
        r->next_refresh_ms = ts_ms + r->c->refresh_ms;
    }
    memcpy(pi, r->w, r->k * sizeof(double));
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bt_replay_learn(llmopt_bt_replay *r, uint32_t arm, double reward) {
    if (r->c->kind == LLMOPT_BT_FIXED)
        return LLMOPT_OK;
    return llmopt_bandit_observe(&r->bandit, arm, reward);
}
