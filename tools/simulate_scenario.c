/*
 * simulate_scenario.c - scenario parsing, validation and the change schedule
 * (simulate_scenario.h). The JSON layout is documented in docs/SIMULATOR.md.
 */
#include "tools/simulate_scenario.h"
#include "tools/simulate_quality.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

/* ---- parse context: the JSON path of the member being read -------------- */

typedef struct pctx {
    const char *file;
    char *errstr;
    size_t errstr_size;
    char path[256];
    bool failed;
} pctx;

static llmopt_err_t fail(pctx *c, const char *member, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Records "scenario 'FILE': PATH[.member]: message" (the first failure wins). */
static llmopt_err_t fail(pctx *c, const char *member, const char *fmt, ...) {
    if (c->failed)
        return LLMOPT_ERR_INVALID;
    c->failed = true;
    char msg[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    const char *sep = c->path[0] && member ? "." : "";
    llmopt_errf(LLMOPT_ERR_INVALID, c->errstr, c->errstr_size, "scenario '%s': %s%s%s: %s",
                c->file, c->path, sep, member ? member : "", msg);
    return LLMOPT_ERR_INVALID;
}

/* Pushes a path component ("routes[2]" or "latency"); returns the old length. */
static size_t push(pctx *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static size_t push(pctx *c, const char *fmt, ...) {
    size_t old = strlen(c->path);
    char part[128];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(part, sizeof(part), fmt, ap);
    va_end(ap);
    snprintf(c->path + old, sizeof(c->path) - old, "%s%s", old && part[0] != '[' ? "." : "",
             part);
    return old;
}

static void pop(pctx *c, size_t old) {
    c->path[old] = '\0';
}

/* Refuses members of obj not in the NULL-terminated list allowed. */
static llmopt_err_t only(pctx *c, json_t *obj, const char *const *allowed) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        bool ok = k[0] == '$'; /* "$comment" and friends */
        for (size_t i = 0; !ok && allowed[i]; i++)
            ok = !strcmp(k, allowed[i]);
        if (!ok)
            return fail(c, k, "unknown member");
    }
    return LLMOPT_OK;
}

/* A number member in [lo, hi] (bounds inclusive unless open_lo); absent: *out
 * keeps its default unless required. */
static llmopt_err_t num(pctx *c, json_t *obj, const char *k, double *out, double lo, double hi,
                        bool open_lo, bool required) {
    json_t *v = json_object_get(obj, k);
    if (!v) {
        if (required)
            return fail(c, k, "required member is missing");
        return LLMOPT_OK;
    }
    if (!json_is_number(v))
        return fail(c, k, "expected a number");
    double d = json_number_value(v);
    if (!isfinite(d) || (open_lo ? d <= lo : d < lo) || d > hi) {
        if (isinf(hi))
            return fail(c, k, "value %g is out of range: expected a number %s %g", d,
                        open_lo ? ">" : ">=", lo);
        return fail(c, k, "value %g is out of range %s%g..%g", d, open_lo ? "(" : "", lo, hi);
    }
    *out = d;
    return LLMOPT_OK;
}

static llmopt_err_t integer(pctx *c, json_t *obj, const char *k, int64_t *out, int64_t lo,
                            int64_t hi) {
    json_t *v = json_object_get(obj, k);
    if (!v)
        return LLMOPT_OK;
    if (!json_is_integer(v))
        return fail(c, k, "expected an integer");
    json_int_t i = json_integer_value(v);
    if (i < lo || i > hi)
        return fail(c, k, "value %lld is out of range %lld..%lld", (long long)i, (long long)lo,
                    (long long)hi);
    *out = i;
    return LLMOPT_OK;
}

static llmopt_err_t boolean(pctx *c, json_t *obj, const char *k, bool *out) {
    json_t *v = json_object_get(obj, k);
    if (!v)
        return LLMOPT_OK;
    if (!json_is_boolean(v))
        return fail(c, k, "expected true or false");
    *out = json_is_true(v);
    return LLMOPT_OK;
}

/* A non-empty string member without control characters; copied to *out. */
static llmopt_err_t str_max(pctx *c, json_t *obj, const char *k, char **out, bool required,
                           size_t max) {
    json_t *v = json_object_get(obj, k);
    if (!v) {
        if (required)
            return fail(c, k, "required member is missing");
        return LLMOPT_OK;
    }
    if (!json_is_string(v))
        return fail(c, k, "expected a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n == 0 || n > max)
        return fail(c, k, "expected 1..%zu characters", max);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f || s[i] == '"' || s[i] == '\\')
            return fail(c, k, "control character, quote or backslash in string");
    char *dup = strdup(s);
    if (!dup)
        return fail(c, k, "out of memory");
    free(*out);
    *out = dup;
    return LLMOPT_OK;
}

/* Names (ids, routes, providers, models) travel in records: 1..120 bytes. */
static llmopt_err_t str(pctx *c, json_t *obj, const char *k, char **out, bool required) {
    return str_max(c, obj, k, out, required, 120);
}

/* "250ms", "30s", "5m", "2h" or a number of seconds. */
static llmopt_err_t duration(pctx *c, json_t *obj, const char *k, int64_t *out, bool required) {
    json_t *v = json_object_get(obj, k);
    if (!v) {
        if (required)
            return fail(c, k, "required member is missing");
        return LLMOPT_OK;
    }
    double ms;
    if (json_is_number(v)) {
        ms = json_number_value(v) * 1000.0;
    } else if (json_is_string(v)) {
        const char *s = json_string_value(v);
        char *end;
        errno = 0;
        double x = strtod(s, &end);
        if (end == s || errno)
            return fail(c, k, "expected a duration such as \"90s\", \"10m\" or seconds");
        double mul;
        if (!strcmp(end, "ms"))
            mul = 1;
        else if (!strcmp(end, "s") || !*end)
            mul = 1000;
        else if (!strcmp(end, "m"))
            mul = 60000;
        else if (!strcmp(end, "h"))
            mul = 3600000;
        else
            return fail(c, k, "unknown unit '%s' (ms, s, m or h)", end);
        ms = x * mul;
    } else {
        return fail(c, k, "expected a duration such as \"90s\", \"10m\" or seconds");
    }
    if (!isfinite(ms) || ms < 0 || ms > 30.0 * 86400000.0)
        return fail(c, k, "duration out of range 0..30 days");
    *out = (int64_t)llround(ms);
    return LLMOPT_OK;
}

/* ---- pieces ------------------------------------------------------------- */

static llmopt_err_t parse_range(pctx *c, json_t *obj, const char *k, int64_t *lo, int64_t *hi) {
    json_t *v = json_object_get(obj, k);
    if (!v)
        return LLMOPT_OK;
    size_t o = push(c, "%s", k);
    static const char *const allowed[] = {"min", "max", NULL};
    llmopt_err_t e;
    if (!json_is_object(v))
        e = fail(c, NULL, "expected an object {\"min\": N, \"max\": N}");
    else if (!(e = only(c, v, allowed)) && !(e = integer(c, v, "min", lo, 0, 10000000)) &&
             !(e = integer(c, v, "max", hi, 0, 10000000)) && *lo > *hi)
        e = fail(c, "max", "must be >= min (%lld)", (long long)*lo);
    pop(c, o);
    return e;
}

static void profile_default(llmopt_sim_profile *p) {
    memset(p, 0, sizeof(*p));
    p->latency_sigma = 0.3;
    p->ttft_fraction = 0.25;
    p->error_rate = 0.01;
    p->quality_sd = 0.1;
    p->input_tokens_min = 200;
    p->input_tokens_max = 1000;
    p->output_tokens_min = 50;
    p->output_tokens_max = 450;
    p->available = true;
}

static llmopt_err_t parse_arm(pctx *c, json_t *a, llmopt_sim_arm *arm) {
    static const char *const allowed[] = {
        "quality_by",
        "id", "provider", "model", "latency", "ttft_fraction", "error_rate", "quality",
        "input_tokens", "output_tokens", "price_in_per_1k", "price_out_per_1k", "available",
        "capacity_rps", "capacity_burst", "batch_latency", NULL};
    if (!json_is_object(a))
        return fail(c, NULL, "expected an object");
    llmopt_sim_profile *p = &arm->profile;
    profile_default(p);
    llmopt_err_t e;
    if ((e = only(c, a, allowed)) || (e = str(c, a, "id", &arm->id, true)) ||
        (e = str(c, a, "provider", &arm->provider, false)) ||
        (e = str(c, a, "model", &arm->model, false)))
        return e;
    if (!arm->provider && !(arm->provider = strdup("sim")))
        return fail(c, "provider", "out of memory");
    if (!arm->model && !(arm->model = strdup(arm->id)))
        return fail(c, "model", "out of memory");
    json_t *lat = json_object_get(a, "latency");
    if (!lat)
        return fail(c, "latency", "required member is missing");
    size_t o = push(c, "latency");
    static const char *const lat_allowed[] = {"median_ms", "sigma", NULL};
    if (!json_is_object(lat))
        e = fail(c, NULL, "expected an object {\"median_ms\": N, \"sigma\": N}");
    else if (!(e = only(c, lat, lat_allowed)) &&
             !(e = num(c, lat, "median_ms", &p->latency_median_ms, 0, 3.6e6, true, true)))
        e = num(c, lat, "sigma", &p->latency_sigma, 0, 3, false, false);
    pop(c, o);
    if (e)
        return e;
    json_t *q = json_object_get(a, "quality");
    if (!q)
        return fail(c, "quality", "required member is missing");
    o = push(c, "quality");
    static const char *const q_allowed[] = {"mean", "sd", NULL};
    if (!json_is_object(q))
        e = fail(c, NULL, "expected an object {\"mean\": N, \"sd\": N}");
    else if (!(e = only(c, q, q_allowed)) &&
             !(e = num(c, q, "mean", &p->quality_mean, -1, 2, false, true)))
        e = num(c, q, "sd", &p->quality_sd, 0, 1, false, false);
    pop(c, o);
    if (e)
        return e;
    json_t *qb = json_object_get(a, "quality_by");
    if (qb) {
        char qe[200];
        if (!(arm->qmodel = llmopt_sim_qmodel_parse(qb, qe, sizeof(qe))))
            return fail(c, "quality_by", "%s", qe);
    }
    if ((e = num(c, a, "ttft_fraction", &p->ttft_fraction, 0, 1, false, false)) ||
        (e = num(c, a, "error_rate", &p->error_rate, 0, 1, false, false)) ||
        (e = parse_range(c, a, "input_tokens", &p->input_tokens_min, &p->input_tokens_max)) ||
        (e = parse_range(c, a, "output_tokens", &p->output_tokens_min, &p->output_tokens_max)) ||
        (e = num(c, a, "price_in_per_1k", &p->price_in_per_1k, 0, 1000, false, true)) ||
        (e = num(c, a, "price_out_per_1k", &p->price_out_per_1k, 0, 1000, false, true)) ||
        (e = boolean(c, a, "available", &p->available)) ||
        (e = num(c, a, "capacity_rps", &p->capacity_rps, 0, 1e7, false, false)))
        return e;
    p->capacity_burst = p->capacity_rps > 1 ? p->capacity_rps : 1;
    if ((e = num(c, a, "capacity_burst", &p->capacity_burst, 1, 1e9, false, false)))
        return e;
    json_t *bl = json_object_get(a, "batch_latency");
    if (bl) {
        static const char *const b_allowed[] = {"per_item_ms", "knee", "per_item_above_knee_ms",
                                                NULL};
        o = push(c, "batch_latency");
        if (!json_is_object(bl))
            e = fail(c, NULL, "expected an object {\"per_item_ms\": N, \"knee\": N, "
                              "\"per_item_above_knee_ms\": N}");
        else if (!(e = only(c, bl, b_allowed)) &&
                 !(e = num(c, bl, "per_item_ms", &p->batch_per_item_ms, 0, 3.6e6, false,
                           true)) &&
                 !(e = integer(c, bl, "knee", &p->batch_knee, 1, 1 << 20)))
            e = num(c, bl, "per_item_above_knee_ms", &p->batch_above_knee_ms, 0, 3.6e6, false,
                    false);
        if (!e && p->batch_above_knee_ms > 0 && p->batch_knee == 0)
            e = fail(c, "knee", "per_item_above_knee_ms needs a knee");
        pop(c, o);
        if (e)
            return e;
        p->batched = true;
    }
    return LLMOPT_OK;
}

static llmopt_err_t parse_mix(pctx *c, json_t *v, const char *k, llmopt_sim_mix *mix,
                              size_t *n) {
    size_t o = push(c, "%s", k);
    llmopt_err_t e = LLMOPT_OK;
    if (!json_is_array(v) || json_array_size(v) > LLMOPT_SIM_MAX_MIX) {
        e = fail(c, NULL, "expected an array of at most %d {\"name\", \"weight\"} objects",
                 LLMOPT_SIM_MAX_MIX);
        goto out;
    }
    for (size_t i = 0; i < *n; i++)
        free(mix[i].name);
    *n = 0;
    for (size_t i = 0; i < json_array_size(v); i++) {
        json_t *m = json_array_get(v, i);
        size_t o2 = push(c, "[%zu]", i);
        static const char *const allowed[] = {"name", "weight", NULL};
        mix[i].name = NULL;
        mix[i].weight = 1;
        if (!json_is_object(m))
            e = fail(c, NULL, "expected an object {\"name\", \"weight\"}");
        else if (!(e = only(c, m, allowed)) && !(e = str(c, m, "name", &mix[i].name, true)))
            e = num(c, m, "weight", &mix[i].weight, 0, 1e9, true, false);
        if (mix[i].name)
            (*n)++;
        pop(c, o2);
        if (e)
            goto out;
    }
out:
    pop(c, o);
    return e;
}

static llmopt_err_t parse_reward(pctx *c, json_t *v, llmopt_reward_config *rc) {
    static const char *const allowed[] = {"weights", "cost_best_usd", "cost_worst_usd",
                                          "latency_best_ms", "latency_worst_ms",
                                          "quality_default", NULL};
    static const char *const w_allowed[] = {"quality", "cost", "latency", NULL};
    size_t o = push(c, "reward");
    llmopt_err_t e;
    if (!json_is_object(v)) {
        e = fail(c, NULL, "expected an object");
        goto out;
    }
    if ((e = only(c, v, allowed)))
        goto out;
    json_t *w = json_object_get(v, "weights");
    if (w) {
        size_t o2 = push(c, "weights");
        if (!json_is_object(w))
            e = fail(c, NULL, "expected an object {\"quality\", \"cost\", \"latency\"}");
        else if (!(e = only(c, w, w_allowed)) &&
                 !(e = num(c, w, "quality", &rc->w_quality, 0, 1e6, false, false)) &&
                 !(e = num(c, w, "cost", &rc->w_cost, 0, 1e6, false, false)))
            e = num(c, w, "latency", &rc->w_latency, 0, 1e6, false, false);
        pop(c, o2);
        if (e)
            goto out;
    }
    if ((e = num(c, v, "cost_best_usd", &rc->cost_best_usd, 0, 1e6, false, false)) ||
        (e = num(c, v, "cost_worst_usd", &rc->cost_worst_usd, 0, 1e6, false, false)) ||
        (e = num(c, v, "latency_best_ms", &rc->latency_best_ms, 0, 1e9, false, false)) ||
        (e = num(c, v, "latency_worst_ms", &rc->latency_worst_ms, 0, 1e9, false, false)) ||
        (e = num(c, v, "quality_default", &rc->quality_default, 0, 1, false, false)))
        goto out;
    char why[200];
    if (llmopt_reward_config_check(rc, why, sizeof(why)))
        e = fail(c, NULL, "%s", why);
out:
    pop(c, o);
    return e;
}

static llmopt_err_t parse_feedback(pctx *c, json_t *v, llmopt_sim_route *r) {
    static const char *const allowed[] = {"fraction", "delay", NULL};
    size_t o = push(c, "feedback");
    llmopt_err_t e;
    if (!json_is_object(v))
        e = fail(c, NULL, "expected an object {\"fraction\", \"delay\"}");
    else if (!(e = only(c, v, allowed)) &&
             !(e = num(c, v, "fraction", &r->feedback_fraction, 0, 1, false, false)))
        e = duration(c, v, "delay", &r->feedback_delay_ms, false);
    pop(c, o);
    return e;
}

static llmopt_err_t parse_prompts(pctx *c, json_t *v, llmopt_sim_route *r) {
    static const char *const allowed[] = {"distinct", "zipf_s", "cached_quality_penalty",
                                          "cached_latency_ms", NULL};
    size_t o = push(c, "prompts");
    llmopt_err_t e;
    double distinct = 0;
    if (!json_is_object(v))
        e = fail(c, NULL, "expected an object {\"distinct\", \"zipf_s\", ...}");
    else if (!(e = only(c, v, allowed)) &&
             !(e = num(c, v, "distinct", &distinct, 1, 1e7, false, true)) &&
             !(e = num(c, v, "zipf_s", &r->prompts_zipf_s, 0, 10, true, false)) &&
             !(e = num(c, v, "cached_quality_penalty", &r->cached_quality_penalty, 0, 1, false,
                       false)))
        e = num(c, v, "cached_latency_ms", &r->cached_latency_ms, 0, 3.6e6, false, false);
    if (!e && distinct != floor(distinct))
        e = fail(c, "distinct", "expected a whole number");
    r->prompts_distinct = (uint32_t)distinct;
    pop(c, o);
    return e;
}

static llmopt_err_t parse_arms(pctx *c, json_t *v, llmopt_sim_route *r) {
    size_t o = push(c, "arms");
    llmopt_err_t e = LLMOPT_OK;
    if (!json_is_array(v) || json_array_size(v) == 0 ||
        json_array_size(v) > LLMOPT_SIM_MAX_ARMS) {
        e = fail(c, NULL, "expected an array of 1..%d arms", LLMOPT_SIM_MAX_ARMS);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(v); i++) {
        size_t o2 = push(c, "[%zu]", i);
        llmopt_sim_arm *arm = &r->arms[r->n_arms++];
        e = parse_arm(c, json_array_get(v, i), arm);
        for (size_t j = 0; !e && j + 1 < r->n_arms; j++)
            if (!strcmp(r->arms[j].id, arm->id))
                e = fail(c, "id", "duplicate arm id '%s'", arm->id);
        pop(c, o2);
        if (e)
            goto out;
    }
out:
    pop(c, o);
    return e;
}

/* Reads the members of one route object; defaults (the "defaults" object)
 * are read first into the same struct, so a route member replaces it. */
static llmopt_err_t parse_route_members(pctx *c, json_t *v, llmopt_sim_route *r,
                                        bool is_defaults) {
    static const char *const allowed[] = {"name", "rate", "tenants", "task_types", "reward",
                                          "feedback", "arms", "controller", "prompts", NULL};
    if (!json_is_object(v))
        return fail(c, NULL, "expected an object");
    llmopt_err_t e;
    if ((e = only(c, v, allowed)))
        return e;
    if (is_defaults && json_object_get(v, "name"))
        return fail(c, "name", "a route name has no meaning in \"defaults\"");
    if (!is_defaults && (e = str(c, v, "name", &r->name, true)))
        return e;
    if ((e = num(c, v, "rate", &r->rate, 0, 1e6, true, false)))
        return e;
    json_t *m;
    if ((m = json_object_get(v, "tenants")) &&
        (e = parse_mix(c, m, "tenants", r->tenants, &r->n_tenants)))
        return e;
    if ((m = json_object_get(v, "task_types")) &&
        (e = parse_mix(c, m, "task_types", r->tasks, &r->n_tasks)))
        return e;
    if ((m = json_object_get(v, "reward")) && (e = parse_reward(c, m, &r->reward)))
        return e;
    if ((m = json_object_get(v, "feedback")) && (e = parse_feedback(c, m, r)))
        return e;
    if ((m = json_object_get(v, "prompts")) && (e = parse_prompts(c, m, r)))
        return e;
    if ((m = json_object_get(v, "arms"))) {
        for (size_t i = 0; i < r->n_arms; i++) {
            free(r->arms[i].id);
            free(r->arms[i].provider);
            free(r->arms[i].model);
            llmopt_sim_qmodel_destroy(r->arms[i].qmodel);
        }
        memset(r->arms, 0, sizeof(r->arms));
        r->n_arms = 0;
        if ((e = parse_arms(c, m, r)))
            return e;
    }
    if ((m = json_object_get(v, "controller"))) {
        if (!json_is_object(m))
            return fail(c, "controller", "expected an object (a policy route's members)");
        char *txt = json_dumps(m, JSON_COMPACT | JSON_SORT_KEYS | JSON_REAL_PRECISION(15));
        if (!txt)
            return fail(c, "controller", "out of memory");
        free(r->controller_json);
        r->controller_json = txt;
    }
    return LLMOPT_OK;
}

static char *dup_or_null(const char *s, bool *oom) {
    if (!s)
        return NULL;
    char *d = strdup(s);
    if (!d)
        *oom = true;
    return d;
}

/* Deep copy of the defaults route into r (strings duplicated). */
static bool route_copy(llmopt_sim_route *r, const llmopt_sim_route *d) {
    bool oom = false;
    *r = *d;
    r->name = NULL;
    r->controller_json = dup_or_null(d->controller_json, &oom);
    for (size_t i = 0; i < d->n_tenants; i++)
        r->tenants[i].name = dup_or_null(d->tenants[i].name, &oom);
    for (size_t i = 0; i < d->n_tasks; i++)
        r->tasks[i].name = dup_or_null(d->tasks[i].name, &oom);
    for (size_t i = 0; i < d->n_arms; i++) {
        r->arms[i].id = dup_or_null(d->arms[i].id, &oom);
        r->arms[i].provider = dup_or_null(d->arms[i].provider, &oom);
        r->arms[i].model = dup_or_null(d->arms[i].model, &oom);
        r->arms[i].qmodel = NULL;
        if (d->arms[i].qmodel && !(r->arms[i].qmodel = llmopt_sim_qmodel_dup(d->arms[i].qmodel)))
            oom = true;
    }
    return !oom;
}

static void route_release(llmopt_sim_route *r) {
    free(r->name);
    free(r->controller_json);
    for (size_t i = 0; i < r->n_tenants; i++)
        free(r->tenants[i].name);
    for (size_t i = 0; i < r->n_tasks; i++)
        free(r->tasks[i].name);
    for (size_t i = 0; i < r->n_arms; i++) {
        free(r->arms[i].id);
        free(r->arms[i].provider);
        free(r->arms[i].model);
        llmopt_sim_qmodel_destroy(r->arms[i].qmodel);
    }
    memset(r, 0, sizeof(*r));
}

static llmopt_err_t parse_change(pctx *c, json_t *v, llmopt_sim_scenario *s,
                                 llmopt_sim_change *ch) {
    static const char *const allowed[] = {
        "at", "route", "arm", "label", "latency_factor", "latency_median_ms", "latency_sigma",
        "error_rate", "quality_delta", "quality_mean", "quality_sd", "price_factor",
        "capacity_factor", "batch_cost_factor", "appear", "disappear", NULL};
    if (!json_is_object(v))
        return fail(c, NULL, "expected an object");
    llmopt_err_t e;
    if ((e = only(c, v, allowed)) || (e = duration(c, v, "at", &ch->at_ms, true)) ||
        (e = str(c, v, "route", &ch->route, false)) || (e = str(c, v, "arm", &ch->arm, true)) ||
        (e = str_max(c, v, "label", &ch->label, false, 200)))
        return e;
    if (ch->at_ms >= s->duration_ms)
        return fail(c, "at", "the change is at or after the end of the scenario (%lld s)",
                    (long long)(s->duration_ms / 1000));
#define OPT(key, has, field, lo, hi, open)                                                    \
    do {                                                                                      \
        if (json_object_get(v, key)) {                                                        \
            if ((e = num(c, v, key, &ch->field, lo, hi, open, true)))                         \
                return e;                                                                     \
            ch->has = true;                                                                   \
        }                                                                                     \
    } while (0)
    OPT("latency_factor", has_latency_factor, latency_factor, 0, 1000, true);
    OPT("latency_median_ms", has_latency_median, latency_median_ms, 0, 3.6e6, true);
    OPT("latency_sigma", has_latency_sigma, latency_sigma, 0, 3, false);
    OPT("error_rate", has_error_rate, error_rate, 0, 1, false);
    OPT("quality_delta", has_quality_delta, quality_delta, -2, 2, false);
    OPT("quality_mean", has_quality_mean, quality_mean, -1, 2, false);
    OPT("quality_sd", has_quality_sd, quality_sd, 0, 1, false);
    OPT("price_factor", has_price_factor, price_factor, 0, 1000, true);
    OPT("capacity_factor", has_capacity_factor, capacity_factor, 0, 1000, true);
    OPT("batch_cost_factor", has_batch_cost_factor, batch_cost_factor, 0, 1000, true);
#undef OPT
    if ((e = boolean(c, v, "appear", &ch->appear)) ||
        (e = boolean(c, v, "disappear", &ch->disappear)))
        return e;
    if (ch->appear && ch->disappear)
        return fail(c, "disappear", "a change cannot both appear and disappear");
    if (!(ch->has_latency_factor || ch->has_latency_median || ch->has_latency_sigma ||
          ch->has_error_rate || ch->has_quality_delta || ch->has_quality_mean ||
          ch->has_quality_sd || ch->has_price_factor || ch->has_capacity_factor ||
          ch->has_batch_cost_factor || ch->appear ||
          ch->disappear))
        return fail(c, NULL, "the change changes nothing (give e.g. \"latency_factor\" or "
                             "\"error_rate\")");
    /* the arm must exist on the route(s) */
    size_t hits = 0;
    for (size_t ri = 0; ri < s->n_routes; ri++) {
        if (ch->route && strcmp(ch->route, s->routes[ri].name))
            continue;
        if (ch->route && llmopt_sim_arm_index(&s->routes[ri], ch->arm) < 0)
            return fail(c, "arm", "route '%s' has no arm '%s'", ch->route, ch->arm);
        hits += llmopt_sim_arm_index(&s->routes[ri], ch->arm) >= 0;
    }
    if (ch->route && llmopt_sim_route_index(s, ch->route) < 0)
        return fail(c, "route", "no route '%s' in the scenario", ch->route);
    if (!hits)
        return fail(c, "arm", "no route has an arm '%s'", ch->arm);
    if (!ch->label) {
        char t[200] = "";
        size_t n = 0;
#define ADD(...) n += (size_t)snprintf(t + n, n < sizeof(t) ? sizeof(t) - n : 0, __VA_ARGS__)
        if (ch->has_latency_factor)
            ADD("%slatency x%g", n ? ", " : "", ch->latency_factor);
        if (ch->has_latency_median)
            ADD("%slatency median %g ms", n ? ", " : "", ch->latency_median_ms);
        if (ch->has_latency_sigma)
            ADD("%slatency sigma %g", n ? ", " : "", ch->latency_sigma);
        if (ch->has_error_rate)
            ADD("%serror rate %g", n ? ", " : "", ch->error_rate);
        if (ch->has_quality_delta)
            ADD("%squality %+g", n ? ", " : "", ch->quality_delta);
        if (ch->has_quality_mean)
            ADD("%squality mean %g", n ? ", " : "", ch->quality_mean);
        if (ch->has_quality_sd)
            ADD("%squality sd %g", n ? ", " : "", ch->quality_sd);
        if (ch->has_price_factor)
            ADD("%sprice x%g", n ? ", " : "", ch->price_factor);
        if (ch->has_capacity_factor)
            ADD("%scapacity x%g", n ? ", " : "", ch->capacity_factor);
        if (ch->has_batch_cost_factor)
            ADD("%sbatch cost x%g", n ? ", " : "", ch->batch_cost_factor);
        if (ch->appear)
            ADD("%sappears", n ? ", " : "");
        if (ch->disappear)
            ADD("%sdisappears", n ? ", " : "");
#undef ADD
        if (!(ch->label = strdup(t)))
            return fail(c, "label", "out of memory");
    }
    return LLMOPT_OK;
}

static int cmp_change(const void *a, const void *b) {
    const llmopt_sim_change *x = a, *y = b;
    return x->at_ms < y->at_ms ? -1 : x->at_ms > y->at_ms;
}

/* ---- scenario ----------------------------------------------------------- */

llmopt_sim_scenario *llmopt_sim_scenario_parse(const char *buf, size_t len, const char *name,
                                               char *errstr, size_t errstr_size) {
    pctx c = {.file = name ? name : "?", .errstr = errstr, .errstr_size = errstr_size};
    llmopt_sim_scenario *s = calloc(1, sizeof(*s));
    llmopt_sim_route *defaults = calloc(1, sizeof(*defaults));
    json_t *root = NULL;
    bool ok = false;
    if (!s || !defaults) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    json_error_t je;
    root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
    if (!root) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                    "scenario '%s': line %d column %d: %s", c.file, je.line, je.column, je.text);
        goto out;
    }
    if (!json_is_object(root)) {
        fail(&c, NULL, "expected a JSON object at the top");
        goto out;
    }
    static const char *const allowed[] = {"name", "description", "duration", "speed", "seed",
                                          "gateways", "defaults", "routes", "changes", "stack",
                                          NULL};
    if (only(&c, root, allowed))
        goto out;
    s->speed = 1;
    s->seed = 1;
    s->gateways = 1;
    double speed = 1, gws = 1;
    int64_t seed = 1;
    if (str(&c, root, "name", &s->name, false) ||
        str_max(&c, root, "description", &s->description, false, 2000) ||
        duration(&c, root, "duration", &s->duration_ms, true) ||
        num(&c, root, "speed", &speed, 0, 1e6, false, false) ||
        integer(&c, root, "seed", &seed, 0, INT64_MAX) ||
        num(&c, root, "gateways", &gws, 1, 16, false, false))
        goto out;
    if (s->duration_ms <= 0) {
        fail(&c, "duration", "must be > 0");
        goto out;
    }
    if (gws != floor(gws)) {
        fail(&c, "gateways", "expected an integer 1..16");
        goto out;
    }
    s->speed = speed;
    s->seed = (uint64_t)seed;
    s->gateways = (int)gws;
    if (!s->name && !(s->name = strdup(c.file))) {
        fail(&c, "name", "out of memory");
        goto out;
    }
    /* route defaults: processor reward defaults, one task type "chat" */
    defaults->rate = 10;
    llmopt_reward_config_default(&defaults->reward);
    defaults->feedback_fraction = 0;
    defaults->feedback_delay_ms = 2000;
    defaults->prompts_zipf_s = 1;
    defaults->cached_latency_ms = 5;
    json_t *d = json_object_get(root, "defaults");
    if (d) {
        size_t o = push(&c, "defaults");
        llmopt_err_t e = parse_route_members(&c, d, defaults, true);
        pop(&c, o);
        if (e)
            goto out;
    }
    if (defaults->n_tasks == 0) {
        defaults->tasks[0] = (llmopt_sim_mix){.name = strdup("chat"), .weight = 1};
        if (!defaults->tasks[0].name) {
            fail(&c, "defaults", "out of memory");
            goto out;
        }
        defaults->n_tasks = 1;
    }
    json_t *routes = json_object_get(root, "routes");
    if (!routes) {
        fail(&c, "routes", "required member is missing");
        goto out;
    }
    if (!json_is_array(routes) || json_array_size(routes) == 0 ||
        json_array_size(routes) > LLMOPT_SIM_MAX_ROUTES) {
        fail(&c, "routes", "expected an array of 1..%d routes", LLMOPT_SIM_MAX_ROUTES);
        goto out;
    }
    for (size_t i = 0; i < json_array_size(routes); i++) {
        size_t o = push(&c, "routes[%zu]", i);
        llmopt_sim_route *r = &s->routes[s->n_routes];
        if (!route_copy(r, defaults)) {
            s->n_routes++;
            fail(&c, NULL, "out of memory");
            goto out;
        }
        s->n_routes++;
        llmopt_err_t e = parse_route_members(&c, json_array_get(routes, i), r, false);
        if (!e && r->n_arms == 0)
            e = fail(&c, "arms", "the route has no arms (here or in \"defaults\")");
        for (size_t j = 0; !e && j + 1 < s->n_routes; j++)
            if (!strcmp(s->routes[j].name, r->name))
                e = fail(&c, "name", "duplicate route '%s'", r->name);
        pop(&c, o);
        if (e)
            goto out;
    }
    json_t *changes = json_object_get(root, "changes");
    if (changes) {
        if (!json_is_array(changes) || json_array_size(changes) > LLMOPT_SIM_MAX_CHANGES) {
            fail(&c, "changes", "expected an array of at most %d changes",
                 LLMOPT_SIM_MAX_CHANGES);
            goto out;
        }
        for (size_t i = 0; i < json_array_size(changes); i++) {
            size_t o = push(&c, "changes[%zu]", i);
            llmopt_err_t e =
                parse_change(&c, json_array_get(changes, i), s, &s->changes[s->n_changes++]);
            pop(&c, o);
            if (e)
                goto out;
        }
        /* stable: ties keep file order (insertion sort, n is small) */
        for (size_t i = 1; i < s->n_changes; i++)
            for (size_t j = i; j > 0 && cmp_change(&s->changes[j - 1], &s->changes[j]) > 0;
                 j--) {
                llmopt_sim_change t = s->changes[j];
                s->changes[j] = s->changes[j - 1];
                s->changes[j - 1] = t;
            }
    }
    json_t *stack = json_object_get(root, "stack");
    if (stack) {
        static const char *const st_allowed[] = {"processor", "controller", NULL};
        size_t o = push(&c, "stack");
        llmopt_err_t e = LLMOPT_OK;
        if (!json_is_object(stack))
            e = fail(&c, NULL, "expected an object {\"processor\": {...}, \"controller\": {...}}");
        else
            e = only(&c, stack, st_allowed);
        const char *k;
        json_t *v;
        json_object_foreach(stack, k, v) {
            if (e || k[0] == '$')
                continue;
            size_t o2 = push(&c, "%s", k);
            if (!json_is_object(v))
                e = fail(&c, NULL, "expected an object of \"key\": \"value\" settings");
            const char *k2;
            json_t *v2;
            json_object_foreach(v, k2, v2) {
                if (!e && k2[0] != '$' && !json_is_string(v2))
                    e = fail(&c, k2, "expected a string value (as given to -X)");
            }
            pop(&c, o2);
        }
        pop(&c, o);
        if (e)
            goto out;
        if (!(s->stack_json = json_dumps(stack, JSON_COMPACT | JSON_SORT_KEYS))) {
            fail(&c, "stack", "out of memory");
            goto out;
        }
    }
    ok = true;
out:
    if (defaults)
        route_release(defaults);
    free(defaults);
    json_decref(root);
    if (!ok) {
        llmopt_sim_scenario_destroy(s);
        return NULL;
    }
    return s;
}

llmopt_sim_scenario *llmopt_sim_scenario_load(const char *path, char *errstr,
                                              size_t errstr_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot open scenario '%s': %s", path,
                    strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    llmopt_sim_scenario *s = NULL;
    for (;;) {
        if (len == cap) {
            if (cap >= (16u << 20)) {
                llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                            "scenario '%s' is larger than 16 MiB", path);
                goto out;
            }
            size_t nc = cap ? cap * 2 : 8192;
            char *nb = realloc(buf, nc);
            if (!nb) {
                llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
                goto out;
            }
            buf = nb;
            cap = nc;
        }
        size_t n = fread(buf + len, 1, cap - len, f);
        len += n;
        if (n == 0)
            break;
    }
    if (ferror(f)) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot read scenario '%s'", path);
        goto out;
    }
    s = llmopt_sim_scenario_parse(buf, len, path, errstr, errstr_size);
out:
    free(buf);
    fclose(f);
    return s;
}

void llmopt_sim_scenario_destroy(llmopt_sim_scenario *s) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n_routes; i++)
        route_release(&s->routes[i]);
    for (size_t i = 0; i < s->n_changes; i++) {
        free(s->changes[i].route);
        free(s->changes[i].arm);
        free(s->changes[i].label);
    }
    free(s->name);
    free(s->description);
    free(s->stack_json);
    free(s);
}

int llmopt_sim_route_index(const llmopt_sim_scenario *s, const char *route) {
    for (size_t i = 0; i < s->n_routes; i++)
        if (!strcmp(s->routes[i].name, route))
            return (int)i;
    return -1;
}

int llmopt_sim_arm_index(const llmopt_sim_route *r, const char *arm) {
    for (size_t i = 0; i < r->n_arms; i++)
        if (!strcmp(r->arms[i].id, arm))
            return (int)i;
    return -1;
}

/* ---- schedule ----------------------------------------------------------- */

void llmopt_sim_state_init(llmopt_sim_state *st, const llmopt_sim_scenario *s) {
    memset(st, 0, sizeof(*st));
    for (size_t ri = 0; ri < s->n_routes; ri++)
        for (size_t ai = 0; ai < s->routes[ri].n_arms; ai++)
            st->p[ri][ai] = s->routes[ri].arms[ai].profile;
}

void llmopt_sim_change_apply(const llmopt_sim_change *c, llmopt_sim_profile *p) {
    if (c->has_latency_factor)
        p->latency_median_ms *= c->latency_factor;
    if (c->has_latency_median)
        p->latency_median_ms = c->latency_median_ms;
    if (c->has_latency_sigma)
        p->latency_sigma = c->latency_sigma;
    if (c->has_error_rate)
        p->error_rate = c->error_rate;
    if (c->has_quality_mean)
        p->quality_mean = c->quality_mean;
    if (c->has_quality_delta)
        p->quality_mean += c->quality_delta;
    if (c->has_quality_sd)
        p->quality_sd = c->quality_sd;
    if (c->has_price_factor) {
        p->price_in_per_1k *= c->price_factor;
        p->price_out_per_1k *= c->price_factor;
    }
    if (c->has_capacity_factor) {
        p->capacity_rps *= c->capacity_factor;
        p->capacity_burst = fmax(1, p->capacity_burst * c->capacity_factor);
    }
    if (c->has_batch_cost_factor) {
        p->batch_per_item_ms *= c->batch_cost_factor;
        p->batch_above_knee_ms *= c->batch_cost_factor;
    }
    if (c->appear)
        p->available = true;
    if (c->disappear)
        p->available = false;
}

bool llmopt_sim_change_targets(const llmopt_sim_scenario *s, const llmopt_sim_change *c,
                               size_t ri, size_t ai) {
    const llmopt_sim_route *r = &s->routes[ri];
    if (c->route && strcmp(c->route, r->name))
        return false;
    return ai < r->n_arms && !strcmp(r->arms[ai].id, c->arm);
}

size_t llmopt_sim_state_advance(llmopt_sim_state *st, const llmopt_sim_scenario *s,
                                int64_t offset_ms, size_t *first) {
    size_t n = 0;
    if (first)
        *first = st->next_change;
    while (st->next_change < s->n_changes && s->changes[st->next_change].at_ms <= offset_ms) {
        const llmopt_sim_change *c = &s->changes[st->next_change++];
        for (size_t ri = 0; ri < s->n_routes; ri++)
            for (size_t ai = 0; ai < s->routes[ri].n_arms; ai++)
                if (llmopt_sim_change_targets(s, c, ri, ai))
                    llmopt_sim_change_apply(c, &st->p[ri][ai]);
        n++;
    }
    return n;
}

/* ---- controller policy -------------------------------------------------- */

llmopt_err_t llmopt_sim_write_policy(const llmopt_sim_scenario *s, const char *route_prefix,
                                     const char *path, char *errstr, size_t errstr_size) {
    llmopt_err_t rc = LLMOPT_ERR_NOMEM;
    json_t *root = json_object(), *routes = json_array();
    if (!root || !routes) {
        json_decref(routes);
        llmopt_errf(rc, errstr, errstr_size, "out of memory");
        goto out;
    }
    json_object_set_new(root, "$comment",
                        json_string("generated by llmopt simulate from its scenario"));
    json_object_set_new(root, "routes", routes);
    for (size_t ri = 0; ri < s->n_routes; ri++) {
        const llmopt_sim_route *r = &s->routes[ri];
        json_t *ctl = NULL;
        if (r->controller_json) {
            json_error_t je;
            ctl = json_loads(r->controller_json, 0, &je);
        }
        json_t *route = ctl && json_is_object(ctl) ? json_incref(ctl) : json_object();
        json_decref(ctl);
        json_t *over = json_object_get(route, "arms"); /* per-arm extras by id */
        json_incref(over);
        char name[256];
        snprintf(name, sizeof(name), "%s%s", route_prefix ? route_prefix : "", r->name);
        json_object_set_new(route, "route", json_string(name));
        json_t *arms = json_array();
        for (size_t ai = 0; ai < r->n_arms; ai++) {
            json_t *a = json_object();
            json_object_set_new(a, "id", json_string(r->arms[ai].id));
            json_object_set_new(a, "provider", json_string(r->arms[ai].provider));
            json_object_set_new(a, "model", json_string(r->arms[ai].model));
            size_t i;
            json_t *o;
            json_array_foreach(over, i, o) {
                json_t *id = json_object_get(o, "id");
                if (json_is_string(id) && !strcmp(json_string_value(id), r->arms[ai].id))
                    json_object_update(a, o);
            }
            json_array_append_new(arms, a);
        }
        json_decref(over);
        json_object_set_new(route, "arms", arms);
        json_array_append_new(routes, route);
    }
    if (json_dump_file(root, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(12))) {
        rc = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot write policy '%s'", path);
        goto out;
    }
    rc = LLMOPT_OK;
out:
    json_decref(root);
    return rc;
}
