/*
 * decision.c - validation of a decoded RoutingDecision and its compilation
 * into the immutable snapshot choose() reads (rules in llmopt_gateway.h,
 * "Validation").
 */
#include <math.h>
#include <string.h>

#include "gateway/gw_internal.h"

#define WEIGHT_TOLERANCE 1e-6
#define MAX_LIMIT_MS 3600000
#define MAX_EXCLUDE_PATTERNS 64
#define MAX_BATCH_WAIT_MS 60000

static const char *const reject_names[LLMOPT_GW_REJECT_COUNT] = {
    "none",           "oversized",         "decode",          "invalid",
    "bad_weight",     "unknown_algorithm", "bad_contextual",  "bad_rate_limits",
    "bad_cache_policy", "bad_batching",    "too_many_routes",
};

const char *llmopt_gw_reject_name(llmopt_gw_reject r) {
    if ((unsigned)r >= LLMOPT_GW_REJECT_COUNT)
        return "?";
    return reject_names[r];
}

static const char *const algo_names[] = {
    "static", "thompson", "ucb1", "epsilon_greedy", "softmax", "exp3", "linucb", "lin_ts",
};

static int algo_from(const llmopt_str *s) {
    if (!s->ptr)
        return -1;
    for (size_t i = 0; i < sizeof(algo_names) / sizeof(algo_names[0]); i++)
        if (strlen(algo_names[i]) == s->len && memcmp(algo_names[i], s->ptr, s->len) == 0)
            return (int)i;
    return -1;
}

static const char *const prio_names[4] = {"critical", "high", "medium", "low"};
static const double prio_default[4] = {1.0, 0.8, 0.6, 0.4};

static int prio_from(const llmopt_str *s) {
    for (int i = 0; i < 4; i++)
        if (s->ptr && strlen(prio_names[i]) == s->len && memcmp(prio_names[i], s->ptr, s->len) == 0)
            return i;
    return -1;
}

static bool str_eq(const llmopt_str *a, const llmopt_str *b) {
    return a->ptr && b->ptr && a->len == b->len && memcmp(a->ptr, b->ptr, a->len) == 0;
}

static bool name_ok(const llmopt_str *s) {
    /* NUL inside would make the copied-out C string lie about the id */
    return !s->ptr || (s->len < LLMOPT_GW_NAME_MAX && memchr(s->ptr, '\0', s->len) == NULL);
}

static llmopt_gw_reject bucket_check(const llmopt_token_bucket *b, const char *which,
                                     char *errstr, size_t errstr_size) {
    if (!isfinite(b->requests_per_s) || !isfinite(b->requests_burst) ||
        !isfinite(b->tokens_per_min) || !isfinite(b->tokens_burst) || b->tokens_per_min < 0 ||
        b->tokens_burst < 0) {
        llmopt_errf(0, errstr, errstr_size, "rate limit '%s' has a negative or non-finite value",
                    which);
        return LLMOPT_GW_REJECT_BAD_RATE_LIMITS;
    }
    if (b->requests_per_s <= 0 || b->requests_burst < 1) {
        llmopt_errf(0, errstr, errstr_size,
                    "rate limit '%s' enabled with requests_per_s %g, requests_burst %g", which,
                    b->requests_per_s, b->requests_burst);
        return LLMOPT_GW_REJECT_BAD_RATE_LIMITS;
    }
    if ((b->tokens_per_min > 0) != (b->tokens_burst > 0)) {
        llmopt_errf(0, errstr, errstr_size,
                    "rate limit '%s' token bucket half set (tokens_per_min %g, tokens_burst %g)",
                    which, b->tokens_per_min, b->tokens_burst);
        return LLMOPT_GW_REJECT_BAD_RATE_LIMITS;
    }
    return LLMOPT_GW_REJECT_NONE;
}

#define REJ(code, ...)                                                                     \
    do {                                                                                   \
        llmopt_errf(0, errstr, errstr_size, __VA_ARGS__);                                  \
        return (code);                                                                     \
    } while (0)

llmopt_gw_reject llmopt_gw_validate(const llmopt_routing_decision *d,
                                    const llmopt_gw_config *limits, char *errstr,
                                    size_t errstr_size) {
    llmopt_gw_config defaults;
    if (!limits) {
        llmopt_gw_config_init(&defaults);
        limits = &defaults;
    }
    if (!d)
        REJ(LLMOPT_GW_REJECT_INVALID, "no decision");
    if (!d->route.ptr || d->route.len == 0)
        REJ(LLMOPT_GW_REJECT_INVALID, "empty route");
    if (d->version < 1)
        REJ(LLMOPT_GW_REJECT_INVALID, "version '%lld' < 1", (long long)d->version);
    if (d->ts_ms < 0)
        REJ(LLMOPT_GW_REJECT_INVALID, "ts_ms '%lld' < 0", (long long)d->ts_ms);
    if (d->arms.count == 0 || !d->arms.items)
        REJ(LLMOPT_GW_REJECT_INVALID, "no arms");
    if (d->arms.count > LLMOPT_GW_MAX_ARMS)
        REJ(LLMOPT_GW_REJECT_OVERSIZED, "'%zu' arms (max %d)", d->arms.count, LLMOPT_GW_MAX_ARMS);
    if (!name_ok(&d->experiment_id))
        REJ(LLMOPT_GW_REJECT_OVERSIZED, "experiment_id too long");

    int algo = algo_from(&d->algorithm);
    if (algo < 0)
        REJ(LLMOPT_GW_REJECT_UNKNOWN_ALGORITHM, "unknown algorithm '%.64s'",
            d->algorithm.ptr ? d->algorithm.ptr : "");

    double sum = 0;
    bool has_default = false;
    for (size_t i = 0; i < d->arms.count; i++) {
        const llmopt_arm *a = &d->arms.items[i];
        if (!a->arm_id.ptr || a->arm_id.len == 0)
            REJ(LLMOPT_GW_REJECT_INVALID, "arm %zu has an empty arm_id", i);
        if (!name_ok(&a->arm_id) || !name_ok(&a->provider) || !name_ok(&a->model) ||
            !name_ok(&a->prompt_template_id))
            REJ(LLMOPT_GW_REJECT_OVERSIZED, "arm %zu has a string over %d bytes", i,
                LLMOPT_GW_NAME_MAX - 1);
        if (a->params.count > LLMOPT_GW_MAX_PARAMS)
            REJ(LLMOPT_GW_REJECT_OVERSIZED, "arm '%s' has '%zu' params (max %d)", a->arm_id.ptr,
                a->params.count, LLMOPT_GW_MAX_PARAMS);
        for (size_t k = 0; k < a->params.count; k++) {
            const llmopt_kv_double *p = &a->params.items[k];
            if (!p->key.ptr || p->key.len >= LLMOPT_GW_PARAM_NAME_MAX)
                REJ(LLMOPT_GW_REJECT_OVERSIZED, "arm '%s' has a param name over %d bytes",
                    a->arm_id.ptr, LLMOPT_GW_PARAM_NAME_MAX - 1);
            if (!isfinite(p->value))
                REJ(LLMOPT_GW_REJECT_INVALID, "arm '%s' param '%s' is not finite",
                    a->arm_id.ptr, p->key.ptr);
        }
        for (size_t j = 0; j < i; j++)
            if (str_eq(&a->arm_id, &d->arms.items[j].arm_id))
                REJ(LLMOPT_GW_REJECT_INVALID, "duplicate arm_id '%s'", a->arm_id.ptr);
        if (!isfinite(a->weight) || a->weight < 0 || a->weight > 1)
            REJ(LLMOPT_GW_REJECT_BAD_WEIGHT, "arm '%s' weight '%g' outside 0..1", a->arm_id.ptr,
                a->weight);
        if ((unsigned)a->state > LLMOPT_ARM_CANARY)
            REJ(LLMOPT_GW_REJECT_INVALID, "arm '%s' has an unknown state", a->arm_id.ptr);
        if (a->state != LLMOPT_ARM_DISABLED)
            sum += a->weight;
        if (str_eq(&a->arm_id, &d->default_arm))
            has_default = true;
    }
    if (fabs(sum - 1.0) > WEIGHT_TOLERANCE)
        REJ(LLMOPT_GW_REJECT_BAD_WEIGHT, "weights of the arms not disabled sum to '%.9g', not 1",
            sum);
    if (!has_default)
        REJ(LLMOPT_GW_REJECT_INVALID, "default_arm '%.64s' is not among the arms",
            d->default_arm.ptr ? d->default_arm.ptr : "");

    bool needs_ctx = algo == GW_ALGO_LINUCB || algo == GW_ALGO_LIN_TS;
    if (needs_ctx && !d->has_contextual)
        REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "algorithm '%s' without a contextual model",
            algo_names[algo]);
    if (d->has_contextual) {
        const llmopt_contextual_model *m = &d->contextual;
        if (m->dimension > LLMOPT_GW_MAX_DIM || m->feature_names.count > LLMOPT_GW_MAX_DIM)
            REJ(LLMOPT_GW_REJECT_OVERSIZED, "contextual dimension '%d' over %d", m->dimension,
                LLMOPT_GW_MAX_DIM);
        if (m->dimension < 1 || (size_t)m->dimension != m->feature_names.count)
            REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "dimension '%d' with '%zu' feature names",
                m->dimension, m->feature_names.count);
        for (size_t k = 0; k < m->feature_names.count; k++)
            if (!m->feature_names.items[k].ptr)
                REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "feature %zu has no name", k);
        if (!isfinite(m->alpha) || m->alpha < 0)
            REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "alpha '%g' not finite and >= 0", m->alpha);
        size_t dim = (size_t)m->dimension;
        for (size_t k = 0; k < m->arms.count; k++) {
            const llmopt_arm_linear_model *lm = &m->arms.items[k];
            if (lm->theta.count != dim || lm->a_inv.count != dim * dim)
                REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL,
                    "model of arm '%.64s' has '%zu' theta and '%zu' a_inv values",
                    lm->arm_id.ptr ? lm->arm_id.ptr : "", lm->theta.count, lm->a_inv.count);
            for (size_t j = 0; j < dim; j++)
                if (!isfinite(lm->theta.items[j]))
                    REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "theta not finite");
            for (size_t j = 0; j < dim * dim; j++)
                if (!isfinite(lm->a_inv.items[j]))
                    REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "a_inv not finite");
        }
        for (size_t i = 0; i < d->arms.count; i++) {
            size_t found = 0;
            for (size_t k = 0; k < m->arms.count; k++)
                if (str_eq(&d->arms.items[i].arm_id, &m->arms.items[k].arm_id))
                    found++;
            if (found != 1)
                REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "arm '%s' has %zu linear models",
                    d->arms.items[i].arm_id.ptr, found);
        }
        if (m->arms.count != d->arms.count)
            REJ(LLMOPT_GW_REJECT_BAD_CONTEXTUAL, "'%zu' linear models for '%zu' arms",
                m->arms.count, d->arms.count);
    }

    if (d->has_rate_limits) {
        const llmopt_rate_limits *rl = &d->rate_limits;
        llmopt_gw_reject r;
        if (rl->has_global && (r = bucket_check(&rl->global, "global", errstr, errstr_size)))
            return r;
        if (rl->has_per_tenant &&
            (r = bucket_check(&rl->per_tenant, "per_tenant", errstr, errstr_size)))
            return r;
        if (rl->has_per_user && (r = bucket_check(&rl->per_user, "per_user", errstr, errstr_size)))
            return r;
        if ((unsigned)rl->on_limit > LLMOPT_ON_LIMIT_DEGRADE)
            REJ(LLMOPT_GW_REJECT_BAD_RATE_LIMITS, "unknown on_limit");
        if (rl->retry_after_ms < 0 || rl->retry_after_ms > MAX_LIMIT_MS)
            REJ(LLMOPT_GW_REJECT_BAD_RATE_LIMITS, "retry_after_ms '%lld' outside 0..%d",
                (long long)rl->retry_after_ms, MAX_LIMIT_MS);
        if (rl->queue_timeout_ms < 0 || rl->queue_timeout_ms > MAX_LIMIT_MS)
            REJ(LLMOPT_GW_REJECT_BAD_RATE_LIMITS, "queue_timeout_ms '%lld' outside 0..%d",
                (long long)rl->queue_timeout_ms, MAX_LIMIT_MS);
        for (size_t k = 0; k < rl->priority_weights.count; k++) {
            const llmopt_kv_double *p = &rl->priority_weights.items[k];
            if (prio_from(&p->key) < 0)
                REJ(LLMOPT_GW_REJECT_BAD_RATE_LIMITS, "unknown priority class '%.32s'",
                    p->key.ptr ? p->key.ptr : "");
            if (!isfinite(p->value) || p->value < 0)
                REJ(LLMOPT_GW_REJECT_BAD_RATE_LIMITS, "priority weight '%g' of '%s' invalid",
                    p->value, p->key.ptr);
        }
    }

    if (d->has_cache_policy) {
        const llmopt_cache_policy *c = &d->cache_policy;
        if (c->ttl_ms < 0 || c->max_entries < 0)
            REJ(LLMOPT_GW_REJECT_BAD_CACHE_POLICY, "negative cache ttl_ms or max_entries");
        if (c->exclude_patterns.count > MAX_EXCLUDE_PATTERNS)
            REJ(LLMOPT_GW_REJECT_OVERSIZED, "'%zu' cache exclude patterns (max %d)",
                c->exclude_patterns.count, MAX_EXCLUDE_PATTERNS);
        for (size_t k = 0; k < c->exclude_patterns.count; k++)
            if (!c->exclude_patterns.items[k].ptr)
                REJ(LLMOPT_GW_REJECT_BAD_CACHE_POLICY, "null exclude pattern");
        if (c->enabled && (c->ttl_ms <= 0 || c->ttl_ms > limits->max_cache_ttl_ms))
            REJ(LLMOPT_GW_REJECT_BAD_CACHE_POLICY, "cache ttl_ms '%lld' outside 1..%lld",
                (long long)c->ttl_ms, (long long)limits->max_cache_ttl_ms);
        if (c->enabled && (c->max_entries < 1 || c->max_entries > limits->max_cache_entries))
            REJ(LLMOPT_GW_REJECT_BAD_CACHE_POLICY, "cache max_entries '%lld' outside 1..%lld",
                (long long)c->max_entries, (long long)limits->max_cache_entries);
    }

    if (d->has_batching) {
        const llmopt_batching *b = &d->batching;
        if (b->max_wait_ms < 0 || b->token_budget < 0 || b->max_batch < 0)
            REJ(LLMOPT_GW_REJECT_BAD_BATCHING, "negative batching value");
        if (b->enabled && (b->max_batch < 1 || b->max_batch > limits->max_batch_size))
            REJ(LLMOPT_GW_REJECT_BAD_BATCHING, "max_batch '%d' outside 1..%d", b->max_batch,
                limits->max_batch_size);
        if (b->enabled && b->max_wait_ms > MAX_BATCH_WAIT_MS)
            REJ(LLMOPT_GW_REJECT_BAD_BATCHING, "max_wait_ms '%lld' over %d",
                (long long)b->max_wait_ms, MAX_BATCH_WAIT_MS);
    }
    return LLMOPT_GW_REJECT_NONE;
}

llmopt_gw_reject gw_snap_compile(gw_snap *s, const llmopt_gw_config *cfg, char *errstr,
                                 size_t errstr_size) {
    const llmopt_routing_decision *d = &s->rec;
    llmopt_gw_reject r = llmopt_gw_validate(d, cfg, errstr, errstr_size);
    if (r != LLMOPT_GW_REJECT_NONE)
        return r;
    s->algo = (gw_algo)algo_from(&d->algorithm);
    s->contextual = s->algo == GW_ALGO_LINUCB || s->algo == GW_ALGO_LIN_TS;
    s->n_arms = d->arms.count;
    s->all_plain = true;
    double c = 0;
    for (size_t i = 0; i < d->arms.count; i++) {
        const llmopt_arm *a = &d->arms.items[i];
        gw_arm *g = &s->arms[i];
        memset(g, 0, sizeof(*g));
        g->arm_id = a->arm_id.ptr;
        g->arm_id_len = a->arm_id.len;
        g->provider = a->provider.ptr ? a->provider.ptr : "";
        g->provider_len = a->provider.ptr ? a->provider.len : 0;
        g->model = a->model.ptr ? a->model.ptr : "";
        g->model_len = a->model.ptr ? a->model.len : 0;
        g->tmpl = a->prompt_template_id.ptr ? a->prompt_template_id.ptr : "";
        g->tmpl_len = a->prompt_template_id.ptr ? a->prompt_template_id.len : 0;
        g->weight = a->weight;
        g->state = a->state;
        g->has_cooldown = a->has_cooldown_until_ms;
        g->cooldown_until_ms = a->cooldown_until_ms;
        g->n_params = a->params.count;
        g->params = a->params.items;
        if (a->state != LLMOPT_ARM_ACTIVE && a->state != LLMOPT_ARM_CANARY)
            s->all_plain = false;
        c += a->weight;
        s->cum[i] = c;
        if (str_eq(&a->arm_id, &d->default_arm))
            s->default_idx = i;
        if (d->has_contextual) {
            for (size_t k = 0; k < d->contextual.arms.count; k++) {
                const llmopt_arm_linear_model *lm = &d->contextual.arms.items[k];
                if (str_eq(&lm->arm_id, &a->arm_id)) {
                    g->theta = lm->theta.items;
                    g->a_inv = lm->a_inv.items;
                }
            }
        }
    }
    double maxw = 0;
    double w[4];
    for (int k = 0; k < 4; k++)
        w[k] = prio_default[k];
    if (d->has_rate_limits) {
        for (size_t k = 0; k < d->rate_limits.priority_weights.count; k++) {
            const llmopt_kv_double *p = &d->rate_limits.priority_weights.items[k];
            w[prio_from(&p->key)] = p->value;
        }
    }
    for (int k = 0; k < 4; k++)
        if (w[k] > maxw)
            maxw = w[k];
    for (int k = 0; k < 4; k++)
        s->prio_share[k] = maxw > 0 ? w[k] / maxw : 1.0;
    s->exp_len = d->experiment_id.ptr ? d->experiment_id.len : 0;
    return LLMOPT_GW_REJECT_NONE;
}
