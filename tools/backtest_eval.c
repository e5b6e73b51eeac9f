/*
 * backtest_eval.c - the compact outcome log and its route-by-route
 * evaluation (see backtest_eval.h).
 */
#include "tools/backtest_eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/ope.h"
#include "controller/core/rng.h"

#define BANDIT_MAX_ARMS 32

/* ---- interning ---------------------------------------------------------- */

static uint64_t fnv1a(const char *s, size_t len) {
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void names_release(llmopt_bt_names *t) {
    for (size_t i = 0; i < t->count; i++)
        free(t->names[i]);
    free(t->names);
    free(t->slots);
    memset(t, 0, sizeof(*t));
}

static int names_find(const llmopt_bt_names *t, const char *s, size_t len, size_t *slot) {
    if (!t->n_slots)
        return -1;
    size_t mask = t->n_slots - 1, i = (size_t)fnv1a(s, len) & mask;
    for (; t->slots[i]; i = (i + 1) & mask) {
        const char *n = t->names[t->slots[i] - 1];
        if (strlen(n) == len && !memcmp(n, s, len))
            return (int)(t->slots[i] - 1);
    }
    if (slot)
        *slot = i;
    return -1;
}

/* Index of name s[0..len), added if new; -1 on NOMEM. */
static int64_t names_intern(llmopt_bt_names *t, const char *s, size_t len) {
    size_t slot = 0;
    int found = names_find(t, s, len, &slot);
    if (found >= 0)
        return found;
    if ((t->count + 1) * 2 > t->n_slots) {
        size_t ns = t->n_slots ? t->n_slots * 2 : 64;
        uint32_t *n = calloc(ns, sizeof(uint32_t));
        if (!n)
            return -1;
        for (size_t i = 0; i < t->count; i++) {
            size_t j = (size_t)fnv1a(t->names[i], strlen(t->names[i])) & (ns - 1);
            while (n[j])
                j = (j + 1) & (ns - 1);
            n[j] = (uint32_t)i + 1;
        }
        free(t->slots);
        t->slots = n;
        t->n_slots = ns;
        names_find(t, s, len, &slot);
    }
    if (t->count == t->cap) {
        size_t nc = t->cap ? t->cap * 2 : 16;
        char **nn = realloc(t->names, nc * sizeof(char *));
        if (!nn)
            return -1;
        t->names = nn;
        t->cap = nc;
    }
    char *copy = malloc(len + 1);
    if (!copy)
        return -1;
    memcpy(copy, s, len);
    copy[len] = '\0';
    t->names[t->count] = copy;
    t->slots[slot] = (uint32_t)t->count + 1;
    return (int64_t)t->count++;
}

/* ---- the log ------------------------------------------------------------- */

void llmopt_bt_log_init(llmopt_bt_log *l, char **features, size_t n_features) {
    memset(l, 0, sizeof(*l));
    l->features = features;
    l->n_features = n_features;
    l->min_ts_ms = INT64_MAX;
    l->max_ts_ms = INT64_MIN;
}

void llmopt_bt_log_release(llmopt_bt_log *l) {
    free(l->ev);
    free(l->is_update);
    free(l->x);
    names_release(&l->routes);
    names_release(&l->arms);
    memset(l, 0, sizeof(*l));
}

static llmopt_err_t log_reserve(llmopt_bt_log *l) {
    if (l->n < l->cap)
        return LLMOPT_OK;
    size_t nc = l->cap ? l->cap * 2 : 4096;
    llmopt_bt_event *ev = realloc(l->ev, nc * sizeof(*ev));
    if (!ev)
        return LLMOPT_ERR_NOMEM;
    l->ev = ev;
    uint8_t *u = realloc(l->is_update, nc);
    if (!u)
        return LLMOPT_ERR_NOMEM;
    l->is_update = u;
    if (l->n_features) {
        double *x = realloc(l->x, nc * l->n_features * sizeof(double));
        if (!x)
            return LLMOPT_ERR_NOMEM;
        l->x = x;
    }
    l->cap = nc;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bt_log_add_raw(llmopt_bt_log *l, const char *route, const char *arm,
                                   int64_t ts_ms, int64_t version, double propensity,
                                   double reward, uint64_t id_hash, int is_update,
                                   const double *x) {
    if (!route || !arm)
        return LLMOPT_ERR_INVALID;
    if (!(propensity > 0 && propensity <= 1)) {
        l->no_propensity++;
        return LLMOPT_OK;
    }
    if (!isfinite(reward)) {
        l->bad_reward++;
        return LLMOPT_OK;
    }
    if (log_reserve(l) != LLMOPT_OK)
        return LLMOPT_ERR_NOMEM;
    int64_t r = names_intern(&l->routes, route, strlen(route));
    int64_t a = names_intern(&l->arms, arm, strlen(arm));
    if (r < 0 || a < 0)
        return LLMOPT_ERR_NOMEM;
    l->ev[l->n] = (llmopt_bt_event){.ts_ms = ts_ms, .version = version, .propensity = propensity,
                                    .reward = reward, .route = (uint32_t)r, .arm = (uint32_t)a,
                                    .id_hash = id_hash};
    l->is_update[l->n] = is_update ? 1 : 0;
    for (size_t j = 0; j < l->n_features; j++)
        l->x[l->n * l->n_features + j] = x ? x[j] : 0;
    l->n++;
    if (ts_ms < l->min_ts_ms)
        l->min_ts_ms = ts_ms;
    if (ts_ms > l->max_ts_ms)
        l->max_ts_ms = ts_ms;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_bt_log_add(llmopt_bt_log *l, const llmopt_outcome *o) {
    double xs[64];
    size_t nf = l->n_features < 64 ? l->n_features : 64;
    for (size_t j = 0; j < nf; j++) {
        xs[j] = 0;
        /* last occurrence wins, like a JSON object with a repeated key */
        for (size_t i = 0; i < o->context.count; i++)
            if (o->context.items[i].key.ptr && !strcmp(o->context.items[i].key.ptr, l->features[j]) &&
                isfinite(o->context.items[i].value))
                xs[j] = o->context.items[i].value;
    }
    if (!o->route.ptr || !o->arm.ptr)
        return LLMOPT_ERR_INVALID;
    uint64_t h = o->outcome_id.ptr ? fnv1a(o->outcome_id.ptr, o->outcome_id.len) : 0;
    return llmopt_bt_log_add_raw(l, o->route.ptr, o->arm.ptr, o->ts_ms, o->decision_version,
                                 o->propensity, o->reward, h, o->is_update, xs);
}

llmopt_err_t llmopt_bt_log_finish(llmopt_bt_log *l) {
    size_t n_upd = 0;
    for (size_t i = 0; i < l->n; i++)
        n_upd += l->is_update[i];
    if (!n_upd)
        return LLMOPT_OK;
    /* table of revised ids -> index of their last revision */
    size_t ns = 16;
    while (ns < n_upd * 2)
        ns *= 2;
    uint64_t *keys = calloc(ns, sizeof(uint64_t));
    size_t *idx = calloc(ns, sizeof(size_t)); /* index + 1 */
    uint8_t *drop = calloc(l->n, 1);
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    if (!keys || !idx || !drop)
        goto out;
    for (size_t i = 0; i < l->n; i++) {
        if (!l->is_update[i])
            continue;
        size_t j = (size_t)l->ev[i].id_hash & (ns - 1);
        while (idx[j] && keys[j] != l->ev[i].id_hash)
            j = (j + 1) & (ns - 1);
        if (idx[j])
            drop[idx[j] - 1] = 1; /* an earlier revision of the same outcome */
        keys[j] = l->ev[i].id_hash;
        idx[j] = i + 1;
    }
    for (size_t i = 0; i < l->n; i++) {
        if (l->is_update[i])
            continue;
        size_t j = (size_t)l->ev[i].id_hash & (ns - 1);
        while (idx[j] && keys[j] != l->ev[i].id_hash)
            j = (j + 1) & (ns - 1);
        if (!idx[j])
            continue;
        const llmopt_bt_event *u = &l->ev[idx[j] - 1];
        l->ev[i].reward = u->reward; /* the original keeps its time, arm and propensity */
        drop[idx[j] - 1] = 1;
        l->revisions_applied++;
    }
    size_t w = 0;
    for (size_t i = 0; i < l->n; i++) {
        if (drop[i])
            continue;
        l->ev[w] = l->ev[i];
        l->is_update[w] = 0;
        if (l->n_features)
            memmove(l->x + w * l->n_features, l->x + i * l->n_features,
                    l->n_features * sizeof(double));
        w++;
    }
    l->n = w;
    rc = LLMOPT_OK;
out:
    free(keys);
    free(idx);
    free(drop);
    return rc;
}

/* ---- evaluation ------------------------------------------------------------ */

static json_t *num(double x) { return isfinite(x) ? json_real(x) : json_null(); }

static json_t *interval_json(const llmopt_ope_interval *iv) {
    json_t *o = json_object();
    json_object_set_new(o, "value", num(iv->value));
    json_object_set_new(o, "lo", num(iv->lo));
    json_object_set_new(o, "hi", num(iv->hi));
    return o;
}

static const llmopt_bt_log *sort_log; /* qsort has no context argument */

static int cmp_event(const void *a, const void *b) {
    size_t i = *(const size_t *)a, j = *(const size_t *)b;
    int64_t ti = sort_log->ev[i].ts_ms, tj = sort_log->ev[j].ts_ms;
    if (ti != tj)
        return ti < tj ? -1 : 1;
    return i < j ? -1 : i > j ? 1 : 0; /* stable: log order breaks ties */
}

static int64_t bin_of(const llmopt_bt_log *l, int64_t ts, uint32_t bins) {
    int64_t span = l->max_ts_ms - l->min_ts_ms + 1;
    int64_t b = (int64_t)((double)(ts - l->min_ts_ms) / (double)span * bins);
    return b < 0 ? 0 : b >= bins ? bins - 1 : b;
}

static json_t *series(const double *num_, const double *den, uint32_t bins, size_t stride) {
    json_t *a = json_array();
    for (uint32_t b = 0; b < bins; b++) {
        double d = den[b];
        json_array_append_new(a, d > 0 ? num(num_[b * stride] / d) : json_null());
    }
    return a;
}

static json_t *evaluate_route(const llmopt_bt_log *l, const llmopt_bt_policy_set *ps,
                              const llmopt_bt_options *opt, uint32_t route, const size_t *idx,
                              size_t n, char *errstr, size_t errstr_size) {
    const char *rname = l->routes.names[route];
    const uint32_t P = (uint32_t)ps->count, bins = opt->bins;
    uint32_t gl[LLMOPT_OPE_MAX_ARMS]; /* local arm -> global arm */
    int32_t *loc = NULL;              /* global arm -> local, -1 */
    json_t *res = NULL, *pols = NULL;
    llmopt_ope *o = NULL;
    llmopt_bt_replay **rp = NULL;
    double *pi = NULL, *xv = NULL, *tl = NULL;
    uint32_t k = 0;
    const size_t na = l->arms.count;
    if (!(loc = malloc(na * sizeof(int32_t))) || !(rp = calloc(P, sizeof(*rp)))) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    for (size_t a = 0; a < na; a++)
        loc[a] = -1;
    /* arms: logged on the route (first appearance), then arms named for it by
     * fixed candidates that were logged elsewhere (never logged here: the
     * support check will flag them) */
    for (size_t i = 0; i < n; i++) {
        uint32_t ga = l->ev[idx[i]].arm;
        if (loc[ga] >= 0)
            continue;
        if (k == LLMOPT_OPE_MAX_ARMS) {
            llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                        "route '%s' has more than %d arms", rname, LLMOPT_OPE_MAX_ARMS);
            goto fail;
        }
        loc[ga] = (int32_t)k;
        gl[k++] = ga;
    }
    const uint32_t k_logged = k;
    for (uint32_t p = 0; p < P; p++) {
        const llmopt_bt_weights *fw =
            ps->items[p].kind == LLMOPT_BT_FIXED ? llmopt_bt_fixed_for(&ps->items[p], rname) : NULL;
        for (size_t j = 0; fw && j < fw->count; j++) {
            int ga = names_find(&l->arms, fw->arms[j], strlen(fw->arms[j]), NULL);
            if (ga < 0) {
                llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "candidate '%s' names arm '%s', which appears in no outcome of the "
                            "range", ps->items[p].name, fw->arms[j]);
                goto fail;
            }
            if (loc[ga] >= 0)
                continue;
            if (k == LLMOPT_OPE_MAX_ARMS) {
                llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                            "route '%s' has more than %d arms", rname, LLMOPT_OPE_MAX_ARMS);
                goto fail;
            }
            loc[ga] = (int32_t)k;
            gl[k++] = (uint32_t)ga;
        }
    }
    const char *arm_names[LLMOPT_OPE_MAX_ARMS];
    for (uint32_t a = 0; a < k; a++)
        arm_names[a] = l->arms.names[gl[a]];
    for (uint32_t p = 0; p < P; p++) {
        if (ps->items[p].kind != LLMOPT_BT_FIXED && k > BANDIT_MAX_ARMS) {
            llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                        "route '%s': %u arms, bandit candidates take at most %d", rname, k,
                        BANDIT_MAX_ARMS);
            goto fail;
        }
        uint64_t seed = llmopt_rng_mix(llmopt_rng_mix(opt->seed, fnv1a(rname, strlen(rname))), p);
        if (llmopt_bt_replay_new(&ps->items[p], rname, arm_names, k, seed, &rp[p], errstr,
                                 errstr_size) != LLMOPT_OK)
            goto fail;
    }
    llmopt_ope_config c;
    llmopt_ope_config_default(&c, k, P);
    c.replicates = opt->replicates;
    c.seed = llmopt_rng_mix(opt->seed, fnv1a(rname, strlen(rname)));
    c.clip = opt->clip;
    c.level = opt->level;
    const size_t F = l->n_features;
    if (opt->ridge) {
        c.model = LLMOPT_OPE_MODEL_RIDGE;
        c.d = (uint32_t)F + 1;
        c.ridge_lambda = opt->ridge_lambda;
    }
    if (llmopt_ope_new(&c, &o, errstr, errstr_size) != LLMOPT_OK)
        goto fail;
    /* timeline accumulators: count[b], logged[b][a], rsum[b][a], cand[p][b][a] */
    const size_t tl_count = 0, tl_logged = bins, tl_rsum = tl_logged + (size_t)bins * k,
                 tl_cand = tl_rsum + (size_t)bins * k, tl_size = tl_cand + (size_t)P * bins * k;
    pi = calloc((size_t)P * k, sizeof(double));
    xv = calloc(F + 1, sizeof(double));
    tl = calloc(tl_size, sizeof(double));
    if (!pi || !xv || !tl) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < n; i++) {
        const llmopt_bt_event *e = &l->ev[idx[i]];
        const uint32_t a = (uint32_t)loc[e->arm];
        for (uint32_t p = 0; p < P; p++)
            if (llmopt_bt_replay_probs(rp[p], e->ts_ms, pi + (size_t)p * k, errstr, errstr_size) !=
                LLMOPT_OK)
                goto fail;
        xv[0] = 1;
        for (size_t j = 0; j < F; j++)
            xv[1 + j] = l->x[idx[i] * F + j];
        llmopt_ope_event ev = {.arm = a, .propensity = e->propensity, .reward = e->reward,
                               .x = xv, .stratum = e->version, .pi = pi};
        if (llmopt_ope_observe(o, &ev, errstr, errstr_size) != LLMOPT_OK)
            goto fail;
        for (uint32_t p = 0; p < P; p++) {
            llmopt_err_t lr = llmopt_bt_replay_learn(rp[p], a, e->reward);
            if (lr != LLMOPT_OK) {
                llmopt_errf(lr, errstr, errstr_size,
                            "candidate '%s' on route '%s': the bandit refused reward %g (a "
                            "bernoulli bandit takes rewards in [0, 1]; use \"reward\": "
                            "\"normal\")", ps->items[p].name, rname, e->reward);
                goto fail;
            }
        }
        int64_t b = bin_of(l, e->ts_ms, bins);
        tl[tl_count + b] += 1;
        tl[tl_logged + (size_t)b * k + a] += 1;
        tl[tl_rsum + (size_t)b * k + a] += e->reward;
        for (uint32_t p = 0; p < P; p++)
            for (uint32_t aa = 0; aa < k; aa++)
                tl[tl_cand + ((size_t)p * bins + b) * k + aa] += pi[(size_t)p * k + aa];
    }
    res = json_object();
    json_object_set_new(res, "route", json_string(rname));
    json_object_set_new(res, "n", json_integer((json_int_t)n));
    json_t *arms = json_array();
    for (uint32_t a = 0; a < k; a++)
        json_array_append_new(arms, json_string(arm_names[a]));
    json_object_set_new(res, "arms", arms);
    json_t *unlogged = json_array();
    for (uint32_t a = k_logged; a < k; a++)
        json_array_append_new(unlogged, json_string(arm_names[a]));
    json_object_set_new(res, "arms_never_logged", unlogged);
    llmopt_ope_interval lv;
    if (llmopt_ope_logging_value(o, &lv) != LLMOPT_OK) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    json_object_set_new(res, "logging", interval_json(&lv));
    pols = json_array();
    json_object_set(res, "policies", pols);
    for (uint32_t p = 0; p < P; p++) {
        llmopt_ope_result r;
        if (llmopt_ope_result_get(o, p, &r) != LLMOPT_OK) {
            llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto fail;
        }
        json_t *pj = json_object();
        json_object_set_new(pj, "name", json_string(ps->items[p].name));
        json_object_set_new(pj, "kind", json_string(llmopt_bt_kind_name(ps->items[p].kind)));
        json_object_set_new(pj, "ips", interval_json(&r.ips));
        json_object_set_new(pj, "snips", interval_json(&r.snips));
        json_object_set_new(pj, "dr", interval_json(&r.dr));
        json_object_set_new(pj, "ess", num(r.ess));
        json_object_set_new(pj, "sum_w", num(r.sum_w));
        json_object_set_new(pj, "max_w", num(r.max_w));
        json_object_set_new(pj, "clipped", json_integer((json_int_t)r.clipped));
        json_object_set_new(pj, "unsupported_mass", num(r.unsupported_mass));
        json_object_set_new(pj, "unverified_mass", num(r.unverified_mass));
        json_t *w = json_array();
        char msg[512];
        if (r.unsupported_mass > 1e-3) {
            snprintf(msg, sizeof(msg),
                     "candidate '%s' puts %.1f%% of its traffic on arms the logging policy gave "
                     "probability 0 (no support): every estimate misses that part",
                     ps->items[p].name, 100 * r.unsupported_mass);
            json_array_append_new(w, json_string(msg));
        }
        if (r.unverified_mass > 1e-2) {
            snprintf(msg, sizeof(msg),
                     "candidate '%s' puts %.1f%% of its traffic on arms never logged under the "
                     "same decision version: support unverified", ps->items[p].name,
                     100 * r.unverified_mass);
            json_array_append_new(w, json_string(msg));
        }
        if (n > 0 && r.ess < 0.1 * (double)n) {
            snprintf(msg, sizeof(msg),
                     "candidate '%s': effective sample size %.0f is under 10%% of %zu outcomes: "
                     "high variance", ps->items[p].name, r.ess, n);
            json_array_append_new(w, json_string(msg));
        }
        if (r.clipped > 0) {
            snprintf(msg, sizeof(msg), "candidate '%s': %llu weights clipped at %g (biased low)",
                     ps->items[p].name, (unsigned long long)r.clipped, opt->clip);
            json_array_append_new(w, json_string(msg));
        }
        json_object_set_new(pj, "warnings", w);
        json_array_append_new(pols, pj);
    }
    /* timeline */
    json_t *t = json_object();
    json_t *starts = json_array(), *counts = json_array();
    double span = (double)(l->max_ts_ms - l->min_ts_ms + 1);
    for (uint32_t b = 0; b < bins; b++) {
        json_array_append_new(starts, json_integer(l->min_ts_ms + (json_int_t)(span * b / bins)));
        json_array_append_new(counts, json_integer((json_int_t)tl[tl_count + b]));
    }
    json_object_set_new(t, "bin_start_ms", starts);
    json_object_set_new(t, "count", counts);
    json_t *logged = json_object(), *reward = json_object(), *cand = json_object();
    double *den = tl + tl_count;
    double *arm_n = calloc(bins, sizeof(double));
    if (!arm_n) {
        json_decref(t);
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    for (uint32_t a = 0; a < k; a++) {
        json_object_set_new(logged, arm_names[a], series(tl + tl_logged + a, den, bins, k));
        for (uint32_t b = 0; b < bins; b++)
            arm_n[b] = tl[tl_logged + (size_t)b * k + a];
        json_object_set_new(reward, arm_names[a], series(tl + tl_rsum + a, arm_n, bins, k));
    }
    free(arm_n);
    for (uint32_t p = 0; p < P; p++) {
        json_t *cp = json_object();
        for (uint32_t a = 0; a < k; a++)
            json_object_set_new(cp, arm_names[a],
                                series(tl + tl_cand + (size_t)p * bins * k + a, den, bins, k));
        json_object_set_new(cand, ps->items[p].name, cp);
    }
    json_object_set_new(t, "logged_weights", logged);
    json_object_set_new(t, "candidate_weights", cand);
    json_object_set_new(t, "arm_reward", reward);
    json_object_set_new(res, "timeline", t);
    json_decref(pols);
    pols = NULL;
    goto done;
fail:
    json_decref(res);
    res = NULL;
done:
    json_decref(pols);
    if (rp)
        for (uint32_t p = 0; p < P; p++)
            llmopt_bt_replay_destroy(rp[p]);
    free(rp);
    free(loc);
    free(pi);
    free(xv);
    free(tl);
    llmopt_ope_destroy(o);
    return res;
}

json_t *llmopt_bt_evaluate(const llmopt_bt_log *l, const llmopt_bt_policy_set *ps,
                           const llmopt_bt_options *opt, char *errstr, size_t errstr_size) {
    json_t *rep = json_object(), *routes = json_array();
    size_t *order = NULL, *start = NULL;
    json_object_set_new(rep, "status", json_string(l->n ? "ok" : "no_data"));
    json_object_set_new(rep, "outcomes", json_integer((json_int_t)l->n));
    json_object_set_new(rep, "outcomes_without_propensity", json_integer((json_int_t)l->no_propensity));
    json_object_set_new(rep, "outcomes_bad_reward", json_integer((json_int_t)l->bad_reward));
    json_object_set_new(rep, "revisions_applied", json_integer((json_int_t)l->revisions_applied));
    json_t *cfg = json_object();
    json_object_set_new(cfg, "replicates", json_integer(opt->replicates));
    json_object_set_new(cfg, "seed", json_integer((json_int_t)opt->seed));
    json_object_set_new(cfg, "clip", json_real(opt->clip));
    json_object_set_new(cfg, "level", json_real(opt->level));
    json_object_set_new(cfg, "model", json_string(opt->ridge ? "ridge" : "mean"));
    json_t *feats = json_array();
    for (size_t j = 0; j < l->n_features; j++)
        json_array_append_new(feats, json_string(l->features[j]));
    json_object_set_new(cfg, "features", feats);
    json_object_set_new(rep, "config", cfg);
    json_t *warn = json_array();
    json_object_set_new(rep, "warnings", warn);
    json_object_set_new(rep, "routes", routes);
    if (l->no_propensity) {
        char msg[256];
        snprintf(msg, sizeof(msg),
                 "%llu outcomes had no valid propensity (outside (0, 1]) and were excluded",
                 (unsigned long long)l->no_propensity);
        json_array_append_new(warn, json_string(msg));
    }
    if (l->n == 0) {
        json_array_append_new(warn, json_string("no outcomes with a propensity in the time range"));
        return rep;
    }
    json_object_set_new(rep, "first_ts_ms", json_integer(l->min_ts_ms));
    json_object_set_new(rep, "last_ts_ms", json_integer(l->max_ts_ms));
    /* every arm a candidate names must appear somewhere in the log */
    for (size_t p = 0; p < ps->count; p++)
        for (size_t r = 0; r < ps->items[p].n_routes; r++) {
            const llmopt_bt_weights *w = &ps->items[p].routes[r];
            for (size_t j = 0; j < w->count; j++)
                if (names_find(&l->arms, w->arms[j], strlen(w->arms[j]), NULL) < 0) {
                    llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                "candidate '%s' names arm '%s' (route '%s'), which appears in no "
                                "outcome of the range", ps->items[p].name, w->arms[j], w->route);
                    goto fail;
                }
        }
    /* counting sort by route, then time order within each */
    const size_t nr = l->routes.count;
    order = malloc(l->n * sizeof(size_t));
    start = calloc(nr + 1, sizeof(size_t));
    if (!order || !start) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    for (size_t i = 0; i < l->n; i++)
        start[l->ev[i].route + 1]++;
    for (size_t r = 0; r < nr; r++)
        start[r + 1] += start[r];
    {
        size_t *fill = malloc((nr + 1) * sizeof(size_t));
        if (!fill) {
            llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto fail;
        }
        memcpy(fill, start, (nr + 1) * sizeof(size_t));
        for (size_t i = 0; i < l->n; i++)
            order[fill[l->ev[i].route]++] = i;
        free(fill);
    }
    sort_log = l;
    for (size_t r = 0; r < nr; r++)
        qsort(order + start[r], start[r + 1] - start[r], sizeof(size_t), cmp_event);
    /* routes in name order, so reports diff cleanly */
    size_t *rord = malloc(nr * sizeof(size_t));
    if (!rord) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    for (size_t r = 0; r < nr; r++)
        rord[r] = r;
    for (size_t i = 1; i < nr; i++) /* insertion sort: few routes */
        for (size_t j = i; j > 0 && strcmp(l->routes.names[rord[j - 1]], l->routes.names[rord[j]]) > 0; j--) {
            size_t t = rord[j];
            rord[j] = rord[j - 1];
            rord[j - 1] = t;
        }
    for (size_t ri = 0; ri < nr; ri++) {
        size_t r = rord[ri];
        json_t *rj = evaluate_route(l, ps, opt, (uint32_t)r, order + start[r],
                                    start[r + 1] - start[r], errstr, errstr_size);
        if (!rj) {
            free(rord);
            goto fail;
        }
        json_array_append_new(routes, rj);
    }
    free(rord);
    free(order);
    free(start);
    return rep;
fail:
    free(order);
    free(start);
    json_decref(rep);
    return NULL;
}
