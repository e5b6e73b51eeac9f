/*
 * policy.c - policy file and model registry parsing (see policy.h).
 *
 * A small walker keeps the JSON path of the value being read, so every
 * error names it; the strict helpers refuse unknown members.
 */
#include "controller/policy.h"

#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const llmopt_policy_algo_names[LLMOPT_ALGO_COUNT] = {"thompson", "ucb1",
                                                                 "epsilon_greedy", "static"};

typedef struct walker {
    const char *origin; /* "policy 'p.json'" */
    char *errstr;
    size_t errstr_size;
    bool failed;
} walker;

__attribute__((format(printf, 3, 4)))
static void fail(walker *w, const char *path, const char *fmt, ...) {
    if (w->failed)
        return;
    w->failed = true;
    if (!w->errstr || !w->errstr_size)
        return;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    snprintf(w->errstr, w->errstr_size, "%s: %s: %s", w->origin, path[0] ? path : "(top)", msg);
}

/* A path too long for its buffer is cut with "..." at the end (checked,
 * so the reader sees the cut). */
static void path_mark_cut(char *out, size_t size, int n) {
    if (n >= 0 && (size_t)n >= size && size > 4)
        memcpy(out + size - 4, "...", 4);
}
static void path_key(char *out, size_t size, const char *base, const char *key) {
    int n = snprintf(out, size, "%s%s%s", base, base[0] ? "." : "", key);
    path_mark_cut(out, size, n);
}
static void path_idx(char *out, size_t size, const char *base, size_t i) {
    int n = snprintf(out, size, "%s[%zu]", base, i);
    path_mark_cut(out, size, n);
}

/* Refuses members not in `allowed` (NULL-terminated). */
static void check_members(walker *w, json_t *obj, const char *path, const char *const *allowed) {
    const char *key;
    json_t *v;
    json_object_foreach(obj, key, v) {
        bool ok = false;
        for (size_t i = 0; allowed[i]; i++)
            ok = ok || !strcmp(key, allowed[i]);
        if (!ok) {
            char p[256];
            path_key(p, sizeof(p), path, key);
            fail(w, p, "unknown member");
            return;
        }
    }
}

static json_t *get_obj(walker *w, json_t *parent, const char *path, const char *key, bool req) {
    char p[256];
    path_key(p, sizeof(p), path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (req)
            fail(w, p, "missing");
        return NULL;
    }
    if (!json_is_object(v)) {
        fail(w, p, "expected an object");
        return NULL;
    }
    return v;
}

static double get_num(walker *w, json_t *parent, const char *path, const char *key, double def,
                      double lo, double hi, bool req) {
    char p[256];
    path_key(p, sizeof(p), path, key);
    json_t *v = json_object_get(parent, key);
    if (!v) {
        if (req)
            fail(w, p, "missing");
        return def;
    }
    if (!json_is_number(v)) {
        fail(w, p, "expected a number");
        return def;
    }
    double x = json_number_value(v);
    if (!isfinite(x) || x < lo || x > hi) {
        fail(w, p, "value %g is out of range %g..%g", x, lo, hi);
        return def;
    }
    return x;
}

static const char *get_str(walker *w, json_t *parent, const char *path, const char *key,
                           bool req) {
    char p[256];
    path_key(p, sizeof(p), path, key);
    json_t *v = json_object_get(parent, key);
    if (!v || json_is_null(v)) {
        if (req)
            fail(w, p, "missing");
        return NULL;
    }
    if (!json_is_string(v) || json_string_length(v) == 0) {
        fail(w, p, "expected a non-empty string");
        return NULL;
    }
    if (strlen(json_string_value(v)) != json_string_length(v)) {
        fail(w, p, "string holds a NUL byte");
        return NULL;
    }
    return json_string_value(v);
}

/* An arm's strings travel in every decision; gateways refuse one over
 * LLMOPT_GW_NAME_MAX - 1 bytes (gateway/include/llmopt_gateway.h), so the
 * policy refuses it first. */
#define POLICY_ARM_STR_MAX LLMOPT_POLICY_ARM_STR_MAX
#define POLICY_PARAM_NAME_MAX 31 /* LLMOPT_GW_PARAM_NAME_MAX - 1 */

static const char *get_arm_str(walker *w, json_t *parent, const char *path, const char *key,
                               bool req) {
    const char *s = get_str(w, parent, path, key, req);
    if (s && strlen(s) > POLICY_ARM_STR_MAX) {
        char p[256];
        path_key(p, sizeof(p), path, key);
        fail(w, p, "longer than 127 bytes");
        return NULL;
    }
    return s;
}

static char *dup_or_fail(walker *w, const char *s, const char *path) {
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        fail(w, path, "out of memory");
    return d;
}

/* ---- model registry ---------------------------------------------------- */

static void parse_models(walker *w, json_t *root, llmopt_policy *pol) {
    static const char *const top[] = {"models", "$comment", NULL};
    static const char *const mk[] = {"provider", "model", "price_in_per_1k",
                                     "price_out_per_1k", "context_window", "capabilities",
                                     "quality", "p95_latency_ms", "$comment", NULL};
    if (!json_is_object(root)) {
        fail(w, "", "expected an object");
        return;
    }
    check_members(w, root, "", top);
    json_t *arr = json_object_get(root, "models");
    if (!arr || !json_is_array(arr)) {
        fail(w, "models", arr ? "expected an array" : "missing");
        return;
    }
    size_t n = json_array_size(arr);
    if (n == 0)
        return;
    pol->models = calloc(n, sizeof(*pol->models));
    if (!pol->models) {
        fail(w, "models", "out of memory");
        return;
    }
    for (size_t i = 0; i < n && !w->failed; i++) {
        char p[128];
        path_idx(p, sizeof(p), "models", i);
        json_t *m = json_array_get(arr, i);
        if (!json_is_object(m)) {
            fail(w, p, "expected an object");
            return;
        }
        check_members(w, m, p, mk);
        llmopt_model_info *mi = &pol->models[pol->n_models++];
        mi->quality = mi->p95_ms = NAN;
        const char *prov = get_str(w, m, p, "provider", true);
        const char *model = get_str(w, m, p, "model", true);
        if (w->failed)
            return;
        char name[512];
        snprintf(name, sizeof(name), "%s/%s", prov, model);
        mi->name = dup_or_fail(w, name, p);
        for (size_t j = 0; j + 1 < pol->n_models && !w->failed; j++)
            if (!strcmp(pol->models[j].name, name))
                fail(w, p, "model '%s' is listed twice", name);
        mi->price_in_per_1k = get_num(w, m, p, "price_in_per_1k", 0, 0, 1e6, true);
        mi->price_out_per_1k = get_num(w, m, p, "price_out_per_1k", 0, 0, 1e6, true);
        mi->context_window = (int64_t)get_num(w, m, p, "context_window", 0, 1, 1e9, true);
        if (json_object_get(m, "quality"))
            mi->quality = get_num(w, m, p, "quality", NAN, 0, 1, false);
        if (json_object_get(m, "p95_latency_ms"))
            mi->p95_ms = get_num(w, m, p, "p95_latency_ms", NAN, 0, 1e9, false);
        json_t *caps = json_object_get(m, "capabilities");
        if (caps) {
            char cp[160];
            path_key(cp, sizeof(cp), p, "capabilities");
            if (!json_is_array(caps) || json_array_size(caps) > LLMOPT_POLICY_MAX_CAPS) {
                fail(w, cp, "expected an array of at most %d strings", LLMOPT_POLICY_MAX_CAPS);
                return;
            }
            for (size_t c = 0; c < json_array_size(caps) && !w->failed; c++) {
                json_t *s = json_array_get(caps, c);
                char ip[192];
                path_idx(ip, sizeof(ip), cp, c);
                if (!json_is_string(s) || !json_string_length(s)) {
                    fail(w, ip, "expected a non-empty string");
                    return;
                }
                mi->caps[mi->n_caps++] = dup_or_fail(w, json_string_value(s), ip);
            }
        }
    }
}

/* ---- policy ------------------------------------------------------------ */

static const llmopt_model_info *find_model(const llmopt_policy *pol, const char *prov,
                                           const char *model) {
    char name[512];
    snprintf(name, sizeof(name), "%s/%s", prov, model);
    for (size_t i = 0; i < pol->n_models; i++)
        if (!strcmp(pol->models[i].name, name))
            return &pol->models[i];
    return NULL;
}

static void parse_arm(walker *w, json_t *a, const char *p, llmopt_policy *pol,
                      llmopt_policy_route *r, llmopt_policy_arm *arm) {
    static const char *const ak[] = {"id", "provider", "model", "params", "prompt_template_id",
                                     "floor", "weight", "$comment", NULL};
    if (!json_is_object(a)) {
        fail(w, p, "expected an object");
        return;
    }
    check_members(w, a, p, ak);
    arm->id = dup_or_fail(w, get_arm_str(w, a, p, "id", true), p);
    arm->provider = dup_or_fail(w, get_arm_str(w, a, p, "provider", true), p);
    arm->model = dup_or_fail(w, get_arm_str(w, a, p, "model", true), p);
    arm->prompt_template_id = dup_or_fail(w, get_arm_str(w, a, p, "prompt_template_id", false), p);
    arm->floor = get_num(w, a, p, "floor", r->floor, 0, 0.5, false);
    arm->static_weight = get_num(w, a, p, "weight", 1, 0, 1e9, false);
    json_t *params = get_obj(w, a, p, "params", false);
    if (params && !w->failed) {
        char pp[192];
        path_key(pp, sizeof(pp), p, "params");
        if (json_object_size(params) > LLMOPT_POLICY_MAX_PARAMS) {
            fail(w, pp, "more than %d parameters", LLMOPT_POLICY_MAX_PARAMS);
            return;
        }
        const char *key;
        json_t *v;
        json_object_foreach(params, key, v) {
            if (strlen(key) > POLICY_PARAM_NAME_MAX || !key[0]) {
                char kp[256];
                path_key(kp, sizeof(kp), pp, key);
                fail(w, kp, "parameter name empty or longer than 31 bytes");
                return;
            }
            double x = get_num(w, params, pp, key, 0, -1e12, 1e12, true);
            if (w->failed)
                return;
            arm->param_names[arm->n_params] = dup_or_fail(w, key, pp);
            arm->param_values[arm->n_params++] = x;
        }
    }
    if (w->failed)
        return;
    arm->info = find_model(pol, arm->provider, arm->model);
    arm->est_cost_usd = arm->est_quality = arm->est_p95_ms = NAN;
    if (arm->info) {
        double out_tok = r->expected_out_tokens;
        for (size_t i = 0; i < arm->n_params; i++)
            if (!strcmp(arm->param_names[i], "max_tokens") && arm->param_values[i] > 0 &&
                arm->param_values[i] < out_tok)
                out_tok = arm->param_values[i];
        arm->est_cost_usd = (r->expected_in_tokens * arm->info->price_in_per_1k +
                             out_tok * arm->info->price_out_per_1k) / 1000.0;
        arm->est_quality = arm->info->quality;
        arm->est_p95_ms = arm->info->p95_ms;
        if (r->expected_in_tokens + out_tok > (double)arm->info->context_window)
            fail(w, p, "expected tokens %.0f exceed the context window %lld of '%s'",
                 r->expected_in_tokens + out_tok, (long long)arm->info->context_window,
                 arm->info->name);
    }
}

/* A token bucket {requests_per_s, requests_burst, tokens_per_min,
 * tokens_burst}: requests_per_s required. */
static void parse_bucket(walker *w, json_t *o, const char *path, const char *key, bool *has,
                         llmopt_token_bucket *b) {
    static const char *const bk[] = {"requests_per_s", "requests_burst", "tokens_per_min",
                                     "tokens_burst", NULL};
    json_t *v = get_obj(w, o, path, key, false);
    if (!v)
        return;
    char sp[224];
    path_key(sp, sizeof(sp), path, key);
    check_members(w, v, sp, bk);
    *has = true;
    b->requests_per_s = get_num(w, v, sp, "requests_per_s", 0, 1e-6, 1e9, true);
    b->requests_burst = get_num(w, v, sp, "requests_burst", fmax(1, b->requests_per_s), 1, 1e9,
                                false);
    b->tokens_per_min = get_num(w, v, sp, "tokens_per_min", 0, 0, 1e12, false);
    b->tokens_burst = get_num(w, v, sp, "tokens_burst", b->tokens_per_min, 0, 1e12, false);
    if (!w->failed && (b->tokens_per_min > 0) != (b->tokens_burst > 0))
        fail(w, sp, "tokens_per_min and tokens_burst must both be set or both be 0");
}

/* Route members "rate_limits", "cache" and "batching" (controller/strategy.h).
 * Bounds stay inside what the gateway library accepts with its default
 * limits (TTL <= 7 days, <= 1e7 entries, batches <= 1024, waits <= 60 s,
 * retry/queue times <= 1 h), so no published decision is refused there. */
static void parse_strategies(walker *w, json_t *o, const char *p, llmopt_policy_route *r) {
    llmopt_strategy_config *c = &r->strat;
    char sp[192], ap[224];
    json_t *rl = get_obj(w, o, p, "rate_limits", false);
    if (rl) {
        static const char *const rk[] = {"global", "per_tenant", "per_user", "priority_weights",
                                         "on_limit", "retry_after_ms", "queue_timeout_ms",
                                         "adaptive", "$comment", NULL};
        path_key(sp, sizeof(sp), p, "rate_limits");
        check_members(w, rl, sp, rk);
        c->has_rate_limits = true;
        parse_bucket(w, rl, sp, "global", &c->has_global, &c->global);
        parse_bucket(w, rl, sp, "per_tenant", &c->has_per_tenant, &c->per_tenant);
        parse_bucket(w, rl, sp, "per_user", &c->has_per_user, &c->per_user);
        json_t *pw = get_obj(w, rl, sp, "priority_weights", false);
        if (pw) {
            path_key(ap, sizeof(ap), sp, "priority_weights");
            static const char *const pk[] = {"critical", "high", "medium", "low", NULL};
            check_members(w, pw, ap, pk);
            for (int q = 0; q < LLMOPT_PRIO_N; q++)
                c->prio_weight[q] = get_num(w, pw, ap, llmopt_strategy_prio_names[q],
                                            c->prio_weight[q], 0, 1e6, false);
        }
        const char *ol = get_str(w, rl, sp, "on_limit", false);
        if (ol) {
            int v = llmopt_on_limit_from_name(ol, strlen(ol));
            path_key(ap, sizeof(ap), sp, "on_limit");
            if (v < 0)
                fail(w, ap, "unknown action '%s' (deny, queue, degrade)", ol);
            else
                c->on_limit = (llmopt_on_limit)v;
        }
        c->retry_after_ms = (int64_t)get_num(w, rl, sp, "retry_after_ms", (double)c->retry_after_ms, 0, 3.6e6, false);
        c->queue_timeout_ms = (int64_t)get_num(w, rl, sp, "queue_timeout_ms", (double)c->queue_timeout_ms, 0, 3.6e6, false);
        json_t *ad = get_obj(w, rl, sp, "adaptive", false);
        if (ad && !w->failed) {
            static const char *const ak[] = {"target_share", "shrink", "grow", "min_rps",
                                             "max_rps", "period_ms", "min_requests", NULL};
            path_key(ap, sizeof(ap), sp, "adaptive");
            check_members(w, ad, ap, ak);
            if (!c->has_global)
                fail(w, ap, "needs a global limit to adapt");
            llmopt_rate_adapt_config *a = &c->rate;
            c->rate_adaptive = true;
            a->initial_rps = c->global.requests_per_s;
            a->target_share = get_num(w, ad, ap, "target_share", a->target_share, 1e-6, 0.999, false);
            a->shrink = get_num(w, ad, ap, "shrink", a->shrink, 0.01, 0.999, false);
            a->grow = get_num(w, ad, ap, "grow", a->grow, 1, 10, false);
            a->min_rps = get_num(w, ad, ap, "min_rps", fmin(a->min_rps, a->initial_rps), 1e-6, 1e9, false);
            a->max_rps = get_num(w, ad, ap, "max_rps", fmax(a->initial_rps * 10, a->min_rps), 1e-6, 1e9, false);
            a->period_ms = (int64_t)get_num(w, ad, ap, "period_ms", (double)a->period_ms, 1, 864e6, false);
            a->min_requests = (uint64_t)get_num(w, ad, ap, "min_requests", (double)a->min_requests, 1, 1e12, false);
        }
    }
    json_t *ca = get_obj(w, o, p, "cache", false);
    if (ca && !w->failed) {
        static const char *const ck[] = {"enabled", "ttl_ms", "max_entries", "exclude",
                                         "adaptive", "$comment", NULL};
        path_key(sp, sizeof(sp), p, "cache");
        check_members(w, ca, sp, ck);
        c->has_cache = true;
        llmopt_cache_adapt_config *a = &c->cache;
        json_t *en = json_object_get(ca, "enabled");
        path_key(ap, sizeof(ap), sp, "enabled");
        if (en && !json_is_boolean(en))
            fail(w, ap, "expected true or false");
        a->enabled = en ? json_is_true(en) : true;
        a->ttl_ms = (int64_t)get_num(w, ca, sp, "ttl_ms", (double)a->ttl_ms, 1, 6048e5, false);
        a->max_ttl_ms = a->ttl_ms;
        a->min_ttl_ms = a->min_ttl_ms < a->ttl_ms ? a->min_ttl_ms : a->ttl_ms;
        c->cache_max_entries = (int64_t)get_num(w, ca, sp, "max_entries", (double)c->cache_max_entries, 1, 1e7, false);
        json_t *ex = json_object_get(ca, "exclude");
        if (ex) {
            path_key(ap, sizeof(ap), sp, "exclude");
            if (!json_is_array(ex) || json_array_size(ex) > LLMOPT_STRATEGY_MAX_EXCLUDE)
                fail(w, ap, "expected an array of up to %d glob patterns", LLMOPT_STRATEGY_MAX_EXCLUDE);
            for (size_t i = 0; !w->failed && i < json_array_size(ex); i++) {
                json_t *v = json_array_get(ex, i);
                if (!json_is_string(v) || !json_string_length(v) ||
                    strlen(json_string_value(v)) != json_string_length(v)) {
                    fail(w, ap, "expected non-empty strings");
                    break;
                }
                c->cache_exclude[c->n_cache_exclude] = dup_or_fail(w, json_string_value(v), ap);
                if (c->cache_exclude[c->n_cache_exclude])
                    c->n_cache_exclude++;
            }
        }
        json_t *ad = get_obj(w, ca, sp, "adaptive", false);
        if (ad && !w->failed) {
            static const char *const ak[] = {"min_ttl_ms", "max_ttl_ms", "quality_margin",
                                             "min_samples", "shorten", "lengthen",
                                             "min_hit_rate", "retry_periods", "period_ms", NULL};
            path_key(ap, sizeof(ap), sp, "adaptive");
            check_members(w, ad, ap, ak);
            c->cache_adaptive = true;
            a->min_ttl_ms = (int64_t)get_num(w, ad, ap, "min_ttl_ms", (double)a->min_ttl_ms, 1, 6048e5, false);
            a->max_ttl_ms = (int64_t)get_num(w, ad, ap, "max_ttl_ms", (double)a->max_ttl_ms, 1, 6048e5, false);
            a->quality_margin = get_num(w, ad, ap, "quality_margin", a->quality_margin, 0, 1, false);
            a->min_samples = (uint64_t)get_num(w, ad, ap, "min_samples", (double)a->min_samples, 1, 1e12, false);
            a->shorten = get_num(w, ad, ap, "shorten", a->shorten, 0.01, 0.99, false);
            a->lengthen = get_num(w, ad, ap, "lengthen", a->lengthen, 1.01, 100, false);
            a->min_hit_rate = get_num(w, ad, ap, "min_hit_rate", a->min_hit_rate, 0, 1, false);
            a->retry_periods = (uint32_t)get_num(w, ad, ap, "retry_periods", (double)a->retry_periods, 1, 1e6, false);
            c->cache_period_ms = (int64_t)get_num(w, ad, ap, "period_ms", (double)c->cache_period_ms, 1, 864e6, false);
        }
    }
    json_t *ba = get_obj(w, o, p, "batching", false);
    if (ba && !w->failed) {
        static const char *const bk[] = {"enabled", "max_batch", "max_wait_ms", "token_budget",
                                         "adaptive", "$comment", NULL};
        path_key(sp, sizeof(sp), p, "batching");
        check_members(w, ba, sp, bk);
        c->has_batching = true;
        llmopt_batch_adapt_config *a = &c->batch;
        json_t *en = json_object_get(ba, "enabled");
        path_key(ap, sizeof(ap), sp, "enabled");
        if (en && !json_is_boolean(en))
            fail(w, ap, "expected true or false");
        c->batching_enabled = en ? json_is_true(en) : true;
        a->initial = (int32_t)get_num(w, ba, sp, "max_batch", (double)a->initial, 1, 1024, false);
        if (a->max_bound < a->initial)
            a->max_bound = a->initial;
        if (a->min_batch > a->initial)
            a->min_batch = a->initial;
        c->batch_max_wait_ms = (int64_t)get_num(w, ba, sp, "max_wait_ms", (double)c->batch_max_wait_ms, 0, 60000, false);
        c->batch_token_budget = (int64_t)get_num(w, ba, sp, "token_budget", 0, 0, 1e12, false);
        if (isfinite(r->max_p95_ms))
            a->target_p95_ms = r->max_p95_ms;
        json_t *ad = get_obj(w, ba, sp, "adaptive", false);
        if (ad && !w->failed) {
            static const char *const ak[] = {"min_batch", "max_batch", "target_p95_ms",
                                             "headroom", "shrink", "min_requests", "period_ms",
                                             NULL};
            path_key(ap, sizeof(ap), sp, "adaptive");
            check_members(w, ad, ap, ak);
            c->batch_adaptive = true;
            a->min_batch = (int32_t)get_num(w, ad, ap, "min_batch", (double)a->min_batch, 1, 1024, false);
            a->max_bound = (int32_t)get_num(w, ad, ap, "max_batch", (double)a->max_bound, 1, 1024, false);
            a->target_p95_ms = get_num(w, ad, ap, "target_p95_ms", a->target_p95_ms, 1e-3, 864e5, false);
            a->headroom = get_num(w, ad, ap, "headroom", a->headroom, 0.01, 0.99, false);
            a->shrink = get_num(w, ad, ap, "shrink", a->shrink, 0.01, 0.99, false);
            a->min_requests = (uint64_t)get_num(w, ad, ap, "min_requests", (double)a->min_requests, 1, 1e12, false);
            c->batch_period_ms = (int64_t)get_num(w, ad, ap, "period_ms", (double)c->batch_period_ms, 1, 864e6, false);
        }
    }
}

/* "tuner": {"arms": [ids, 2..16], "params": {NAME: {min, max, step,
 * min_step}}, min_samples, z, shrink}; the first arm's value of each
 * parameter is the start (required, within range). */
static void parse_tuner(walker *w, json_t *o, const char *p, llmopt_policy_route *r) {
    static const char *const tk[] = {"arms", "params", "min_samples", "z", "shrink", NULL};
    static const char *const pk[] = {"min", "max", "step", "min_step", NULL};
    llmopt_tuner_config *c = &r->tuner;
    json_t *t = get_obj(w, o, p, "tuner", false);
    if (!t)
        return;
    char sp[224], ip[256];
    path_key(sp, sizeof(sp), p, "tuner");
    check_members(w, t, sp, tk);
    llmopt_tuner_config_default(c);
    c->min_samples = get_num(w, t, sp, "min_samples", c->min_samples, 1, 1e12, false);
    c->z = get_num(w, t, sp, "z", c->z, 0, 100, false);
    c->shrink = get_num(w, t, sp, "shrink", c->shrink, 0.01, 0.99, false);
    json_t *arms = json_object_get(t, "arms");
    path_key(ip, sizeof(ip), sp, "arms");
    if (!json_is_array(arms) || json_array_size(arms) < 2 ||
        json_array_size(arms) > LLMOPT_TUNER_MAX_SLOTS) {
        fail(w, ip, "expected an array of 2..%d arm ids", LLMOPT_TUNER_MAX_SLOTS);
        return;
    }
    size_t ns = json_array_size(arms);
    for (size_t i = 0; i < ns && !w->failed; i++) {
        json_t *v = json_array_get(arms, i);
        int idx = json_is_string(v) ? llmopt_policy_arm_index(r, json_string_value(v)) : -1;
        for (size_t j = 0; idx >= 0 && j < i; j++)
            if (r->tuner_arms[j] == (size_t)idx)
                idx = -1;
        if (idx < 0) {
            char ap[280];
            path_idx(ap, sizeof(ap), ip, i);
            fail(w, ap, "expected the id of an arm of this route, once");
            return;
        }
        r->tuner_arms[i] = (size_t)idx;
    }
    json_t *ps = get_obj(w, t, sp, "params", true);
    if (!ps || w->failed)
        return;
    path_key(ip, sizeof(ip), sp, "params");
    if (json_object_size(ps) < 1 || json_object_size(ps) > LLMOPT_TUNER_MAX_PARAMS) {
        fail(w, ip, "expected 1..%d parameters", LLMOPT_TUNER_MAX_PARAMS);
        return;
    }
    const char *key;
    json_t *pv;
    const llmopt_policy_arm *a0 = &r->arms[r->tuner_arms[0]];
    json_object_foreach(ps, key, pv) {
        char pp[300];
        path_key(pp, sizeof(pp), ip, key);
        if (!json_is_object(pv)) {
            fail(w, pp, "expected an object");
            return;
        }
        check_members(w, pv, pp, pk);
        llmopt_tuner_param *tp = &c->params[c->n_params];
        if (strlen(key) >= sizeof(tp->name)) {
            fail(w, pp, "parameter name too long");
            return;
        }
        snprintf(tp->name, sizeof(tp->name), "%s", key);
        tp->lo = get_num(w, pv, pp, "min", 0, -1e12, 1e12, true);
        tp->hi = get_num(w, pv, pp, "max", 0, -1e12, 1e12, true);
        tp->step = get_num(w, pv, pp, "step", 0, 1e-12, 1e12, true);
        tp->min_step = get_num(w, pv, pp, "min_step", tp->step / 16, 1e-12, 1e12, false);
        size_t k = 0;
        while (k < a0->n_params && strcmp(a0->param_names[k], key))
            k++;
        if (k == a0->n_params) {
            fail(w, pp, "the first tuner arm '%s' has no params.%s to start from", a0->id, key);
            return;
        }
        c->start[c->n_params++] = a0->param_values[k];
        if (w->failed)
            return;
    }
    c->n_slots = ns;
    llmopt_tuner tu;
    char e[200];
    if (llmopt_tuner_init(&tu, c, e, sizeof(e)))
        fail(w, sp, "%s", e);
}

static void parse_route(walker *w, json_t *o, const char *p, llmopt_policy *pol,
                        llmopt_policy_route *r) {
    static const char *const rk[] = {"route", "algorithm", "reward", "objective",
                                     "constraints", "exploration_floor", "update",
                                     "guardrails", "drift", "canary", "fallback", "arms",
                                     "rate_limits", "cache", "batching", "tuner", "$comment",
                                     NULL};
    if (!json_is_object(o)) {
        fail(w, p, "expected an object");
        return;
    }
    check_members(w, o, p, rk);
    char sp[192];
    llmopt_strategy_config_default(&r->strat);
    r->route = dup_or_fail(w, get_str(w, o, p, "route", true), p);
    const char *algo = get_str(w, o, p, "algorithm", false);
    r->algo = LLMOPT_ALGO_THOMPSON;
    if (algo) {
        int found = -1;
        for (int i = 0; i < LLMOPT_ALGO_COUNT; i++)
            if (!strcmp(algo, llmopt_policy_algo_names[i]))
                found = i;
        path_key(sp, sizeof(sp), p, "algorithm");
        if (found < 0)
            fail(w, sp, "unknown algorithm '%s' (thompson, ucb1, epsilon_greedy, static)", algo);
        else
            r->algo = (llmopt_policy_algo)found;
    }
    const char *reward = get_str(w, o, p, "reward", false);
    r->reward = LLMOPT_BANDIT_BERNOULLI;
    if (reward) {
        path_key(sp, sizeof(sp), p, "reward");
        if (!strcmp(reward, "normal"))
            r->reward = LLMOPT_BANDIT_NORMAL;
        else if (strcmp(reward, "bernoulli"))
            fail(w, sp, "unknown reward model '%s' (bernoulli, normal)", reward);
    }
    /* objective */
    r->w_quality = 0.6, r->w_cost = 0.2, r->w_latency = 0.2;
    json_t *obj = get_obj(w, o, p, "objective", false);
    if (obj) {
        static const char *const ok[] = {"quality", "cost", "latency", NULL};
        path_key(sp, sizeof(sp), p, "objective");
        check_members(w, obj, sp, ok);
        r->w_quality = get_num(w, obj, sp, "quality", 0, 0, 1, false);
        r->w_cost = get_num(w, obj, sp, "cost", 0, 0, 1, false);
        r->w_latency = get_num(w, obj, sp, "latency", 0, 0, 1, false);
        double s = r->w_quality + r->w_cost + r->w_latency;
        if (!w->failed && fabs(s - 1.0) > 1e-6)
            fail(w, sp, "weights sum to %g, expected 1", s);
    }
    /* constraints */
    r->max_cost_usd = INFINITY, r->max_p95_ms = INFINITY, r->min_quality = -INFINITY;
    json_t *cons = get_obj(w, o, p, "constraints", false);
    if (cons) {
        static const char *const ck[] = {"max_cost_per_request_usd", "max_p95_latency_ms",
                                         "min_quality", NULL};
        path_key(sp, sizeof(sp), p, "constraints");
        check_members(w, cons, sp, ck);
        r->max_cost_usd = get_num(w, cons, sp, "max_cost_per_request_usd", INFINITY, 0, 1e6, false);
        r->max_p95_ms = get_num(w, cons, sp, "max_p95_latency_ms", INFINITY, 0, 1e9, false);
        r->min_quality = get_num(w, cons, sp, "min_quality", -INFINITY, 0, 1, false);
    }
    r->floor = get_num(w, o, p, "exploration_floor", 0.01, 0, 0.5, false);
    /* update cadence */
    r->epsilon = 0.02, r->heartbeat_ms = 30000, r->discount = 1.0, r->thompson_draws = 2000;
    r->ucb_c = 2.0, r->egreedy_eps = 0.1, r->prior_strength = 10;
    r->expected_in_tokens = 500, r->expected_out_tokens = 300;
    json_t *up = get_obj(w, o, p, "update", false);
    if (up) {
        static const char *const uk[] = {"epsilon", "heartbeat_ms", "discount", "window",
                                         "thompson_draws",
                                         "ucb_c", "egreedy_eps", "prior_strength",
                                         "expected_input_tokens", "expected_output_tokens",
                                         NULL};
        path_key(sp, sizeof(sp), p, "update");
        check_members(w, up, sp, uk);
        r->epsilon = get_num(w, up, sp, "epsilon", 0.02, 0, 1, false);
        r->heartbeat_ms = (int64_t)get_num(w, up, sp, "heartbeat_ms", 30000, 100, 86400000, false);
        r->discount = get_num(w, up, sp, "discount", 1.0, 1e-6, 1, false);
        r->window = (uint32_t)get_num(w, up, sp, "window", 0, 0, LLMOPT_BANDIT_MAX_WINDOW, false);
        r->thompson_draws = (uint32_t)get_num(w, up, sp, "thompson_draws", 2000, 1, 1e6, false);
        r->ucb_c = get_num(w, up, sp, "ucb_c", 2.0, 0, 100, false);
        r->egreedy_eps = get_num(w, up, sp, "egreedy_eps", 0.1, 0, 1, false);
        r->prior_strength = get_num(w, up, sp, "prior_strength", 10, 0, 1e6, false);
        r->expected_in_tokens = get_num(w, up, sp, "expected_input_tokens", 500, 0, 1e8, false);
        r->expected_out_tokens = get_num(w, up, sp, "expected_output_tokens", 300, 0, 1e8, false);
    }
    /* guardrails = breaker */
    llmopt_breaker_config_default(&r->breaker);
    json_t *g = get_obj(w, o, p, "guardrails", false);
    if (g) {
        static const char *const gk[] = {"error_rate_max", "min_requests", "cooldown_ms",
                                         "max_cooldown_ms", "probe_weight", "probe_requests",
                                         "probe_error_rate_max", "settle_windows", NULL};
        path_key(sp, sizeof(sp), p, "guardrails");
        check_members(w, g, sp, gk);
        llmopt_breaker_config *b = &r->breaker;
        b->error_rate_max = get_num(w, g, sp, "error_rate_max", b->error_rate_max, 0, 1, false);
        b->min_requests = (uint64_t)get_num(w, g, sp, "min_requests", (double)b->min_requests, 1, 1e9, false);
        b->cooldown_ms = (int64_t)get_num(w, g, sp, "cooldown_ms", (double)b->cooldown_ms, 1, 864e5, false);
        b->max_cooldown_ms = (int64_t)get_num(w, g, sp, "max_cooldown_ms", (double)b->max_cooldown_ms, 1, 864e6, false);
        b->half_open_weight = get_num(w, g, sp, "probe_weight", b->half_open_weight, 1e-6, 0.5, false);
        b->probe_requests = (uint64_t)get_num(w, g, sp, "probe_requests", (double)b->probe_requests, 1, 1e9, false);
        b->probe_error_rate_max = get_num(w, g, sp, "probe_error_rate_max", b->probe_error_rate_max, 0, 1, false);
        b->settle_windows = (uint32_t)get_num(w, g, sp, "settle_windows", (double)b->settle_windows, 0, 100000, false);
        if (!w->failed && b->max_cooldown_ms < b->cooldown_ms)
            fail(w, sp, "max_cooldown_ms %lld is below cooldown_ms %lld",
                 (long long)b->max_cooldown_ms, (long long)b->cooldown_ms);
    }
    /* drift reaction */
    r->drift_shrink = 0.1, r->drift_floor = 0.05, r->drift_boost_ms = 600000;
    json_t *d = get_obj(w, o, p, "drift", false);
    if (d) {
        static const char *const dk[] = {"shrink", "floor", "boost_ms", NULL};
        path_key(sp, sizeof(sp), p, "drift");
        check_members(w, d, sp, dk);
        r->drift_shrink = get_num(w, d, sp, "shrink", 0.1, 0, 1, false);
        r->drift_floor = get_num(w, d, sp, "floor", 0.05, 0, 0.5, false);
        r->drift_boost_ms = (int64_t)get_num(w, d, sp, "boost_ms", 600000, 0, 864e6, false);
    }
    if (!w->failed && r->drift_floor < r->floor) {
        path_key(sp, sizeof(sp), p, "drift.floor");
        fail(w, sp, "%g is below exploration_floor %g", r->drift_floor, r->floor);
    }
    /* canary ramp */
    llmopt_canary_config_default(&r->canary);
    json_t *c = get_obj(w, o, p, "canary", false);
    if (c) {
        static const char *const kk[] = {"steps", "min_step_ms", "min_step_samples",
                                         "min_guard_samples", "max_error_rate_increase",
                                         "max_latency_ratio", "max_quality_drop",
                                         "max_cost_ratio", NULL};
        path_key(sp, sizeof(sp), p, "canary");
        check_members(w, c, sp, kk);
        llmopt_canary_config *cc = &r->canary;
        json_t *steps = json_object_get(c, "steps");
        if (steps) {
            char stp[224];
            path_key(stp, sizeof(stp), sp, "steps");
            if (!json_is_array(steps) || json_array_size(steps) < 1 ||
                json_array_size(steps) > LLMOPT_CANARY_MAX_STEPS) {
                fail(w, stp, "expected an array of 1..%d numbers", LLMOPT_CANARY_MAX_STEPS);
            } else {
                cc->n_steps = (uint32_t)json_array_size(steps);
                for (size_t i = 0; i < cc->n_steps && !w->failed; i++) {
                    char ip[240];
                    path_idx(ip, sizeof(ip), stp, i);
                    json_t *v = json_array_get(steps, i);
                    if (!json_is_number(v))
                        fail(w, ip, "expected a number");
                    else
                        cc->steps[i] = json_number_value(v);
                }
            }
        }
        cc->min_step_ms = (int64_t)get_num(w, c, sp, "min_step_ms", (double)cc->min_step_ms, 0, 864e6, false);
        cc->min_step_samples = (uint64_t)get_num(w, c, sp, "min_step_samples", (double)cc->min_step_samples, 0, 1e12, false);
        cc->min_guard_samples = (uint64_t)get_num(w, c, sp, "min_guard_samples", (double)cc->min_guard_samples, 1, 1e12, false);
        cc->max_error_rate_increase = get_num(w, c, sp, "max_error_rate_increase", cc->max_error_rate_increase, 0, 1, false);
        cc->max_latency_ratio = get_num(w, c, sp, "max_latency_ratio", cc->max_latency_ratio, 1e-6, 1e6, false);
        cc->max_quality_drop = get_num(w, c, sp, "max_quality_drop", cc->max_quality_drop, 0, 1, false);
        cc->max_cost_ratio = get_num(w, c, sp, "max_cost_ratio", cc->max_cost_ratio, 1e-6, 1e6, false);
    }
    if (w->failed)
        return;
    /* arms */
    json_t *arms = json_object_get(o, "arms");
    path_key(sp, sizeof(sp), p, "arms");
    if (!arms || !json_is_array(arms) || json_array_size(arms) == 0 ||
        json_array_size(arms) > LLMOPT_BANDIT_MAX_ARMS) {
        fail(w, sp, "expected an array of 1..%d arms", LLMOPT_BANDIT_MAX_ARMS);
        return;
    }
    double floors = 0;
    for (size_t i = 0; i < json_array_size(arms) && !w->failed; i++) {
        char ap[224];
        path_idx(ap, sizeof(ap), sp, i);
        llmopt_policy_arm *arm = &r->arms[r->n_arms++];
        parse_arm(w, json_array_get(arms, i), ap, pol, r, arm);
        if (w->failed)
            return;
        for (size_t j = 0; j + 1 < r->n_arms; j++)
            if (!strcmp(r->arms[j].id, arm->id))
                fail(w, ap, "arm id '%s' is used twice", arm->id);
        floors += arm->floor;
    }
    if (!w->failed && floors >= 1.0)
        fail(w, sp, "exploration floors sum to %g, must be below 1", floors);
    /* fallback chain: ids of arms; default = the arms in order */
    json_t *fb = json_object_get(o, "fallback");
    path_key(sp, sizeof(sp), p, "fallback");
    if (fb && !w->failed) {
        if (!json_is_array(fb) || json_array_size(fb) == 0 ||
            json_array_size(fb) > r->n_arms) {
            fail(w, sp, "expected an array of 1..%zu arm ids", r->n_arms);
            return;
        }
        for (size_t i = 0; i < json_array_size(fb) && !w->failed; i++) {
            char ip[224];
            path_idx(ip, sizeof(ip), sp, i);
            json_t *v = json_array_get(fb, i);
            int idx = json_is_string(v) ? llmopt_policy_arm_index(r, json_string_value(v)) : -1;
            if (idx < 0)
                fail(w, ip, "expected the id of an arm of this route");
            else
                r->fallback[r->n_fallback++] = (size_t)idx;
        }
    } else if (!w->failed) {
        for (size_t i = 0; i < r->n_arms; i++)
            r->fallback[r->n_fallback++] = i;
    }
    if (w->failed)
        return;
    parse_strategies(w, o, p, r);
    if (w->failed)
        return;
    parse_tuner(w, o, p, r);
    if (w->failed)
        return;
    /* cross-checks by the cores themselves, so limits stay in one place */
    char e[200];
    llmopt_breaker br;
    llmopt_canary cn;
    llmopt_bandit bd;
    llmopt_bandit_config bc;
    llmopt_bandit_config_default(&bc, r->reward, (uint32_t)r->n_arms);
    bc.gamma = r->discount, bc.window = r->window, bc.floor = r->floor;
    bc.drift_floor = r->drift_floor;
    bc.drift_shrink = r->drift_shrink, bc.drift_boost_ms = r->drift_boost_ms;
    if (llmopt_breaker_init(&br, &r->breaker, 0, e, sizeof(e))) {
        path_key(sp, sizeof(sp), p, "guardrails");
        fail(w, sp, "%s", e);
    } else if (llmopt_canary_init(&cn, &r->canary, 0, e, sizeof(e))) {
        path_key(sp, sizeof(sp), p, "canary");
        fail(w, sp, "%s", e);
    } else if (llmopt_bandit_init(&bd, &bc, e, sizeof(e))) {
        path_key(sp, sizeof(sp), p, "update");
        fail(w, sp, "%s", e);
    }
    if (!w->failed) {
        const char *prov[LLMOPT_BANDIT_MAX_ARMS];
        for (size_t i = 0; i < r->n_arms; i++)
            prov[i] = r->arms[i].provider;
        llmopt_strategy st;
        if (llmopt_strategy_init(&st, &r->strat, prov, r->n_arms, e, sizeof(e)))
            fail(w, p, "%s", e);
    }
}

static void parse_policy(walker *w, json_t *root, llmopt_policy *pol) {
    static const char *const top[] = {"routes", "$comment", NULL};
    if (!json_is_object(root)) {
        fail(w, "", "expected an object");
        return;
    }
    check_members(w, root, "", top);
    json_t *arr = json_object_get(root, "routes");
    if (!arr || !json_is_array(arr) || json_array_size(arr) == 0) {
        fail(w, "routes", "expected a non-empty array");
        return;
    }
    size_t n = json_array_size(arr);
    pol->routes = calloc(n, sizeof(*pol->routes));
    if (!pol->routes) {
        fail(w, "routes", "out of memory");
        return;
    }
    for (size_t i = 0; i < n && !w->failed; i++) {
        char p[64];
        path_idx(p, sizeof(p), "routes", i);
        llmopt_policy_route *r = &pol->routes[pol->n_routes++];
        parse_route(w, json_array_get(arr, i), p, pol, r);
        for (size_t j = 0; j + 1 < pol->n_routes && !w->failed; j++)
            if (!strcmp(pol->routes[j].route, r->route))
                fail(w, p, "route '%s' is defined twice", r->route);
    }
}

static json_t *load_json(walker *w, const char *data, size_t len) {
    json_error_t je;
    json_t *root = json_loadb(data, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        char where[64];
        snprintf(where, sizeof(where), "line %d column %d", je.line, je.column);
        fail(w, where, "%s", je.text);
    }
    return root;
}

llmopt_policy *llmopt_policy_parse(const char *policy_json, size_t policy_len,
                                   const char *models_json, size_t models_len, char *errstr,
                                   size_t errstr_size) {
    llmopt_policy *pol = calloc(1, sizeof(*pol));
    if (!pol) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    walker w = {.origin = "models", .errstr = errstr, .errstr_size = errstr_size};
    if (models_json) {
        json_t *mr = load_json(&w, models_json, models_len);
        if (mr)
            parse_models(&w, mr, pol);
        json_decref(mr);
    }
    if (!w.failed) {
        w.origin = "policy";
        json_t *pr = load_json(&w, policy_json, policy_len);
        if (pr)
            parse_policy(&w, pr, pol);
        json_decref(pr);
    }
    if (w.failed) {
        llmopt_policy_destroy(pol);
        return NULL;
    }
    return pol;
}

static char *slurp(const char *path, size_t *len, char *errstr, size_t errstr_size,
                   const char *what) {
    FILE *f = fopen(path, "rb");
    char *buf = NULL;
    if (!f) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "%s '%s': cannot open", what, path);
        return NULL;
    }
    size_t cap = 0;
    *len = 0;
    for (;;) {
        if (*len + 4096 + 1 > cap) {
            cap = cap ? cap * 2 : 8192;
            if (cap > (64u << 20)) {
                llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "%s '%s': larger than 64 MiB",
                            what, path);
                free(buf);
                buf = NULL;
                break;
            }
            char *nb = realloc(buf, cap);
            if (!nb) {
                free(buf);
                buf = NULL;
                break;
            }
            buf = nb;
        }
        size_t got = fread(buf + *len, 1, cap - *len - 1, f);
        *len += got;
        if (got == 0)
            break;
    }
    if (buf)
        buf[*len] = '\0';
    fclose(f);
    return buf;
}

/* Prefixes the walker's "policy"/"models" origin with the file name. */
static void name_file(char *errstr, size_t errstr_size, const char *policy_path,
                      const char *models_path) {
    if (!errstr || !errstr_size)
        return;
    char tmp[1024];
    snprintf(tmp, sizeof(tmp), "%s", errstr);
    if (!strncmp(tmp, "policy: ", 8))
        snprintf(errstr, errstr_size, "policy '%s': %s", policy_path, tmp + 8);
    else if (!strncmp(tmp, "models: ", 8))
        snprintf(errstr, errstr_size, "models '%s': %s", models_path ? models_path : "",
                 tmp + 8);
}

llmopt_policy *llmopt_policy_load(const char *policy_path, const char *models_path,
                                  char *errstr, size_t errstr_size) {
    size_t plen = 0, mlen = 0;
    char *pj = NULL, *mj = NULL;
    llmopt_policy *pol = NULL;
    if (!policy_path || !*policy_path) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                    "no policy file ('controller.policy.file')");
        goto out;
    }
    if (!(pj = slurp(policy_path, &plen, errstr, errstr_size, "policy")))
        goto out;
    if (models_path && *models_path &&
        !(mj = slurp(models_path, &mlen, errstr, errstr_size, "models")))
        goto out;
    pol = llmopt_policy_parse(pj, plen, mj, mlen, errstr, errstr_size);
    if (!pol)
        name_file(errstr, errstr_size, policy_path, models_path);
out:
    free(pj);
    free(mj);
    return pol;
}

void llmopt_policy_destroy(llmopt_policy *p) {
    if (!p)
        return;
    for (size_t i = 0; i < p->n_routes; i++) {
        llmopt_policy_route *r = &p->routes[i];
        free(r->route);
        llmopt_strategy_config_release(&r->strat);
        for (size_t a = 0; a < r->n_arms; a++) {
            llmopt_policy_arm *arm = &r->arms[a];
            free(arm->id);
            free(arm->provider);
            free(arm->model);
            free(arm->prompt_template_id);
            for (size_t k = 0; k < arm->n_params; k++)
                free(arm->param_names[k]);
        }
    }
    for (size_t i = 0; i < p->n_models; i++) {
        free(p->models[i].name);
        for (size_t c = 0; c < p->models[i].n_caps; c++)
            free(p->models[i].caps[c]);
    }
    free(p->routes);
    free(p->models);
    free(p);
}

const llmopt_policy_route *llmopt_policy_find(const llmopt_policy *p, const char *route) {
    for (size_t i = 0; i < p->n_routes; i++)
        if (!strcmp(p->routes[i].route, route))
            return &p->routes[i];
    return NULL;
}

int llmopt_policy_arm_index(const llmopt_policy_route *r, const char *arm) {
    for (size_t i = 0; i < r->n_arms; i++)
        if (r->arms[i].id && !strcmp(r->arms[i].id, arm))
            return (int)i;
    return -1;
}

/* A score in [0, 1]: 1 at zero, 0 at or beyond the limit. Without a finite
 * limit the figure cannot be scored: NaN (left out of the mean). */
static double score_below(double value, double limit) {
    if (!isfinite(value) || !isfinite(limit) || limit <= 0)
        return NAN;
    double s = 1.0 - value / limit;
    return s < 0 ? 0 : s > 1 ? 1 : s;
}

llmopt_bandit_prior llmopt_policy_prior(const llmopt_policy_route *r, size_t arm) {
    const llmopt_policy_arm *a = &r->arms[arm];
    double parts[3] = {a->est_quality, score_below(a->est_cost_usd, r->max_cost_usd),
                       score_below(a->est_p95_ms, r->max_p95_ms)};
    double wts[3] = {r->w_quality, r->w_cost, r->w_latency};
    double sum = 0, wsum = 0;
    for (int i = 0; i < 3; i++)
        if (isfinite(parts[i]) && wts[i] > 0) {
            sum += wts[i] * parts[i];
            wsum += wts[i];
        }
    llmopt_bandit_prior pr = {.n0 = 0,
                              .mean0 = r->reward == LLMOPT_BANDIT_BERNOULLI ? 0.5 : 0,
                              .var0 = r->reward == LLMOPT_BANDIT_BERNOULLI ? 0.25 : 1};
    if (wsum > 0) {
        /* weights of the figures we know, rescaled to sum 1 */
        pr.mean0 = sum / wsum;
        pr.n0 = r->prior_strength * wsum;
        if (r->reward == LLMOPT_BANDIT_NORMAL)
            pr.var0 = 0.05;
    }
    return pr;
}
