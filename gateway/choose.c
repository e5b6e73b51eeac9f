/*
 * choose.c - arm selection on a decision snapshot: the weighted draw, the
 * LinUCB and linear-Thompson scoring rules, cooldown/disabled handling and
 * fallback (rules in llmopt_gateway.h, "Choosing an arm").
 */
#include <math.h>
#include <string.h>

#include "common/xoshiro.h"
#include "gateway/gw_internal.h"

void llmopt_gw_rng_seed(llmopt_gw_rng *r, uint64_t seed) { llmopt_xoshiro_seed(r->s, seed); }

static inline uint64_t rng_next(llmopt_gw_rng *r) { return llmopt_xoshiro_next(r->s); }

double llmopt_gw_rng_uniform(llmopt_gw_rng *r) {
    return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

static _Atomic uint64_t thread_ordinal;
static _Thread_local bool tl_seeded;
static _Thread_local llmopt_gw_rng tl_rng;

static llmopt_gw_rng *thread_rng(const llmopt_gw *gw) {
    if (!tl_seeded) {
        uint64_t n = atomic_fetch_add_explicit(&thread_ordinal, 1, memory_order_relaxed);
        llmopt_gw_rng_seed(&tl_rng, gw->cfg.rng_seed ^ (n * 0xd1b54a32d192ed03ull));
        tl_seeded = true;
    }
    return &tl_rng;
}

static inline bool eligible(const gw_arm *a, int64_t now_ms) {
    switch (a->state) {
    case LLMOPT_ARM_ACTIVE:
    case LLMOPT_ARM_CANARY:
        return true;
    case LLMOPT_ARM_COOLDOWN:
        return a->has_cooldown && now_ms >= a->cooldown_until_ms;
    default:
        return false;
    }
}

/* The weighted draw; returns the arm index or -1 (no eligible weight). */
static int pick_weighted(const gw_snap *s, double u, int64_t now_ms, double *propensity) {
    if (s->all_plain) {
        for (size_t i = 0; i < s->n_arms; i++) {
            if (u < s->cum[i]) {
                *propensity = s->arms[i].weight;
                return (int)i;
            }
        }
        for (size_t i = s->n_arms; i-- > 0;) {
            if (s->arms[i].weight > 0) {
                *propensity = s->arms[i].weight;
                return (int)i;
            }
        }
        return -1;
    }
    double w = 0;
    int last = -1;
    for (size_t i = 0; i < s->n_arms; i++) {
        if (eligible(&s->arms[i], now_ms)) {
            w += s->arms[i].weight;
            if (s->arms[i].weight > 0)
                last = (int)i;
        }
    }
    if (last < 0 || !(w > 0))
        return -1;
    bool all = true;
    for (size_t i = 0; i < s->n_arms; i++)
        if (!eligible(&s->arms[i], now_ms))
            all = false;
    double t = all ? u : u * w;
    double c = 0;
    int pick = last;
    for (size_t i = 0; i < s->n_arms; i++) {
        if (!eligible(&s->arms[i], now_ms))
            continue;
        c += s->arms[i].weight;
        if (t < c) {
            pick = (int)i;
            break;
        }
    }
    *propensity = all ? s->arms[pick].weight : s->arms[pick].weight / w;
    return pick;
}

static double norm_cdf(double z) { return 0.5 * erfc(-z / M_SQRT2); }

/* P(arm a has the largest z) for independent z_b ~ N(mu_b, sd_b^2). */
static double ts_propensity(const double *mu, const double *sd, const bool *ok, size_t n,
                            size_t a) {
    const int points = 257;
    const double lo = -8.0, step = 16.0 / (points - 1);
    double sum = 0;
    for (int k = 0; k < points; k++) {
        double g = lo + step * k;
        double za = mu[a] + sd[a] * g;
        double f = exp(-0.5 * g * g) / sqrt(2 * M_PI);
        for (size_t b = 0; b < n && f > 0; b++) {
            if (b == a || !ok[b])
                continue;
            if (sd[b] > 0)
                f *= norm_cdf((za - mu[b]) / sd[b]);
            else
                f *= za > mu[b] ? 1.0 : (za == mu[b] && b > a ? 1.0 : 0.0);
        }
        sum += (k == 0 || k == points - 1) ? 0.5 * f : f;
    }
    double p = sum * step;
    return p > 1 ? 1 : p;
}

static int pick_contextual(const gw_snap *s, const llmopt_gw_choose_args *args,
                           llmopt_gw_rng *rng, double *propensity) {
    const llmopt_contextual_model *m = &s->rec.contextual;
    size_t d = (size_t)m->dimension;
    double x[LLMOPT_GW_MAX_DIM];
    for (size_t j = 0; j < d; j++) {
        x[j] = 0;
        const llmopt_str *fn = &m->feature_names.items[j];
        for (size_t k = 0; k < args->n_features; k++) {
            const char *name = args->features[k].name;
            if (name && strncmp(name, fn->ptr, fn->len) == 0 && name[fn->len] == '\0') {
                x[j] = args->features[k].value;
                break;
            }
        }
    }
    double mu[LLMOPT_GW_MAX_ARMS], sd[LLMOPT_GW_MAX_ARMS];
    bool ok[LLMOPT_GW_MAX_ARMS];
    bool any_sd = false;
    int best = -1;
    double best_score = 0;
    for (size_t i = 0; i < s->n_arms; i++) {
        const gw_arm *a = &s->arms[i];
        ok[i] = eligible(a, args->now_ms);
        if (!ok[i])
            continue;
        double m_ = 0, q = 0;
        for (size_t j = 0; j < d; j++) {
            m_ += a->theta[j] * x[j];
            double row = 0;
            for (size_t k = 0; k < d; k++)
                row += a->a_inv[j * d + k] * x[k];
            q += x[j] * row;
        }
        mu[i] = m_;
        sd[i] = m->alpha * sqrt(q > 0 ? q : 0);
        if (!isfinite(mu[i]) || !isfinite(sd[i])) {
            ok[i] = false; /* a huge feature overflowed: never pick it */
            continue;
        }
        if (sd[i] > 0)
            any_sd = true;
        double score = mu[i] + sd[i];
        if (best < 0 || score > best_score) {
            best = (int)i;
            best_score = score;
        }
    }
    if (best < 0)
        return -1;
    if (s->algo == GW_ALGO_LINUCB || !any_sd) {
        if (s->algo == GW_ALGO_LIN_TS) { /* all sd 0: argmax of mu */
            best = -1;
            for (size_t i = 0; i < s->n_arms; i++)
                if (ok[i] && (best < 0 || mu[i] > mu[best]))
                    best = (int)i;
        }
        *propensity = 1.0;
        return best;
    }
    best = -1;
    for (size_t i = 0; i < s->n_arms; i++) {
        if (!ok[i])
            continue;
        /* Box-Muller; 1 - u keeps the log argument in (0, 1] */
        double u1 = 1.0 - llmopt_gw_rng_uniform(rng), u2 = llmopt_gw_rng_uniform(rng);
        double g = sqrt(-2.0 * log(u1)) * cos(2 * M_PI * u2);
        double z = mu[i] + sd[i] * g;
        if (best < 0 || z > best_score) {
            best = (int)i;
            best_score = z;
        }
    }
    double p = ts_propensity(mu, sd, ok, s->n_arms, (size_t)best);
    *propensity = p > 0 ? p : 1e-12; /* (0,1] per the Request contract */
    return best;
}

static void fill_arm(llmopt_gw_choice *out, const gw_arm *a) {
    memcpy(out->arm_id, a->arm_id, a->arm_id_len + 1);
    memcpy(out->provider, a->provider, a->provider_len + 1);
    memcpy(out->model, a->model, a->model_len + 1);
    memcpy(out->prompt_template_id, a->tmpl, a->tmpl_len + 1);
    out->n_params = a->n_params;
    for (size_t k = 0; k < a->n_params; k++) {
        memcpy(out->params[k].name, a->params[k].key.ptr, a->params[k].key.len + 1);
        out->params[k].value = a->params[k].value;
    }
}

static void fill_fallback(llmopt_gw *gw, llmopt_gw_choice *out) {
    gw_copy_str(out->arm_id, sizeof(out->arm_id), gw->cfg.default_arm_id,
                strlen(gw->cfg.default_arm_id));
    gw_copy_str(out->provider, sizeof(out->provider), gw->cfg.default_provider,
                strlen(gw->cfg.default_provider));
    gw_copy_str(out->model, sizeof(out->model), gw->cfg.default_model,
                strlen(gw->cfg.default_model));
    out->prompt_template_id[0] = '\0';
    out->experiment_id[0] = '\0';
    out->n_params = 0;
    out->propensity = 1.0;
    out->decision_version = 0;
    out->decision_ts_ms = 0;
    out->arm_index = -1;
    out->flags = LLMOPT_GW_CHOICE_FALLBACK;
    atomic_fetch_add_explicit(&gw->st.fallback, 1, memory_order_relaxed);
}

llmopt_err_t llmopt_gw_choose(llmopt_gw *gw, const char *route,
                              const llmopt_gw_choose_args *args, llmopt_gw_choice *out) {
    if (!gw || !route || !args || !out)
        return LLMOPT_ERR_INVALID;
    size_t len = strlen(route);
    gw_route *r = gw_route_find(gw, route, len, gw_hash(route, len));
    if (!r) {
        fill_fallback(gw, out);
        return LLMOPT_OK;
    }
    gw_rcu_token tok = gw_read_lock(gw);
    const gw_snap *s = atomic_load(&r->snap);
    if (!s) {
        gw_read_unlock(gw, tok);
        fill_fallback(gw, out);
        return LLMOPT_OK;
    }
    llmopt_gw_rng *rng = args->rng ? args->rng : thread_rng(gw);
    double p = 1.0;
    int idx;
    unsigned flags = 0;
    if (s->contextual) {
        idx = pick_contextual(s, args, rng, &p);
        flags |= LLMOPT_GW_CHOICE_CONTEXTUAL;
    } else {
        double u = args->u;
        if (!(u >= 0 && u < 1))
            u = llmopt_gw_rng_uniform(rng);
        idx = pick_weighted(s, u, args->now_ms, &p);
    }
    if (idx < 0) {
        idx = (int)s->default_idx;
        p = 1.0;
        flags = LLMOPT_GW_CHOICE_NO_ELIGIBLE;
    }
    fill_arm(out, &s->arms[idx]);
    memcpy(out->experiment_id, s->exp_len ? s->rec.experiment_id.ptr : "", s->exp_len + 1);
    out->propensity = p;
    out->decision_version = s->rec.version;
    out->decision_ts_ms = s->rec.ts_ms;
    out->arm_index = idx;
    gw_read_unlock(gw, tok);
    int64_t fresh = atomic_load_explicit(&r->fresh_ts_ms, memory_order_relaxed);
    if (fresh < out->decision_ts_ms)
        fresh = out->decision_ts_ms;
    if (args->now_ms - fresh > gw->cfg.stale_after_ms) {
        flags |= LLMOPT_GW_CHOICE_STALE;
        atomic_fetch_add_explicit(&gw->st.stale, 1, memory_order_relaxed);
    }
    out->flags = flags;
    return LLMOPT_OK;
}
