/*
 * route.c - per-route state and decisions (see route.h).
 */
#include "controller/route.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/core/alloc.h"
#include "controller/core/bandit.h"
#include "controller/core/egreedy.h"
#include "controller/core/pareto.h"
#include "controller/core/rng.h"
#include "controller/core/thompson.h"
#include "controller/core/ucb.h"

#define K LLMOPT_BANDIT_MAX_ARMS
#define SIGNAL_ID_MAX 256
#define ALERTS_MAX 4
/* Weight of the newest window in the per-arm figures (EWMA). */
#define FIGURE_ALPHA 0.3

typedef struct arm_figures {
    double quality, cost_usd, p95_ms, error_rate; /* NaN until measured */
} arm_figures;

struct llmopt_route {
    const llmopt_policy_route *pol;
    size_t k;
    llmopt_bandit bandit;
    llmopt_breaker breaker[K];
    llmopt_canary canary;
    int32_t canary_arm;          /* -1: none */
    llmopt_rng rng;
    arm_figures fig[K];
    llmopt_route_window last[K];
    llmopt_strategy strat;       /* rate limits, cache, batching (strategy.h) */
    /* parameter tuner (policy "tuner"): slot s serves arm pol->tuner_arms[s] */
    bool has_tuner;
    llmopt_tuner tuner;
    int64_t tuner_since_ms[LLMOPT_TUNER_MAX_SLOTS]; /* windows before: old params */
    int64_t last_window_end_ms;  /* discount rounds: one per new window end */
    /* overrides and overlays (reloaded from Postgres, not checkpointed) */
    uint8_t disabled[K];
    int32_t pinned;
    char experiment_id[128];
    double exp_alloc[K];
    bool has_experiment;
    /* publication */
    int64_t version;
    bool has_published;
    llmopt_route_decision published;
    int64_t published_ms;
    /* pending for the next decision */
    char pending[LLMOPT_ROUTE_REASON_MAX];
    bool force;
    char sig_store[LLMOPT_ROUTE_MAX_SIGNALS][SIGNAL_ID_MAX];
    const char *sig_ptr[LLMOPT_ROUTE_MAX_SIGNALS];
    size_t n_sig;
    char alerts[ALERTS_MAX][256];
    size_t n_alerts;
    bool dirty;
    char restore_note[320];      /* what the last deserialize could not restore */
    /* record building */
    llmopt_arm rec_arms[K];
    llmopt_kv_double rec_params[K][LLMOPT_POLICY_MAX_PARAMS + LLMOPT_TUNER_MAX_PARAMS];
    llmopt_str rec_sigs[LLMOPT_ROUTE_MAX_SIGNALS];
    char reason_buf[LLMOPT_ROUTE_REASON_MAX];
};

static void append(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t size, const char *fmt, ...) {
    size_t at = strlen(buf);
    if (at + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + at, size - at, fmt, ap);
    va_end(ap);
}

void llmopt_route_note(llmopt_route *r, const char *what) {
    append(r->pending, sizeof(r->pending), "%s%s", r->pending[0] ? "; " : "", what);
    r->force = true;
    r->dirty = true;
}

static void raise_alert(llmopt_route *r, const char *what) {
    if (r->n_alerts < ALERTS_MAX)
        snprintf(r->alerts[r->n_alerts++], sizeof(r->alerts[0]), "route '%s': %s",
                 r->pol->route, what);
}

bool llmopt_route_take_alert(llmopt_route *r, char *buf, size_t size) {
    if (!r->n_alerts)
        return false;
    snprintf(buf, size, "%s", r->alerts[0]);
    memmove(r->alerts[0], r->alerts[1], sizeof(r->alerts[0]) * (r->n_alerts - 1));
    r->n_alerts--;
    return true;
}

static void bandit_config(const llmopt_policy_route *p, llmopt_bandit_config *bc) {
    llmopt_bandit_config_default(bc, p->reward, (uint32_t)p->n_arms);
    bc->gamma = p->discount;
    bc->window = p->window;
    bc->floor = p->floor;
    bc->drift_floor = p->drift_floor;
    bc->drift_shrink = p->drift_shrink;
    bc->drift_boost_ms = p->drift_boost_ms;
}

uint64_t llmopt_route_seed(uint64_t base_seed, const char *route) {
    uint64_t h = 1469598103934665603ULL;
    for (const char *s = route; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ULL;
    return llmopt_rng_mix(base_seed, h);
}

llmopt_route *llmopt_route_new(const llmopt_policy_route *pol, uint64_t seed, int64_t now_ms,
                               char *errstr, size_t errstr_size) {
    llmopt_route *r = calloc(1, sizeof(*r));
    if (!r) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    r->pol = pol;
    r->k = pol->n_arms;
    r->pinned = -1;
    r->canary_arm = -1;
    llmopt_bandit_config bc;
    bandit_config(pol, &bc);
    if (llmopt_bandit_init(&r->bandit, &bc, errstr, errstr_size))
        goto fail;
    for (size_t i = 0; i < r->k; i++) {
        /* per-arm floors of the policy override the route default */
        llmopt_bandit_prior pr = llmopt_policy_prior(pol, i);
        if (llmopt_bandit_set_prior(&r->bandit, (uint32_t)i, &pr, errstr, errstr_size))
            goto fail;
        if (llmopt_breaker_init(&r->breaker[i], &pol->breaker, now_ms, errstr, errstr_size))
            goto fail;
        r->fig[i] = (arm_figures){NAN, NAN, NAN, NAN};
    }
    if (llmopt_canary_init(&r->canary, &pol->canary, now_ms, errstr, errstr_size))
        goto fail;
    const char *prov[K];
    for (size_t i = 0; i < r->k; i++)
        prov[i] = pol->arms[i].provider;
    if (llmopt_strategy_init(&r->strat, &pol->strat, prov, r->k, errstr, errstr_size))
        goto fail;
    if (pol->tuner.n_slots) {
        if (llmopt_tuner_init(&r->tuner, &pol->tuner, errstr, errstr_size))
            goto fail;
        r->has_tuner = true;
    }
    llmopt_rng_seed(&r->rng, seed);
    r->dirty = true;
    return r;
fail:
    free(r);
    return NULL;
}

void llmopt_route_destroy(llmopt_route *r) {
    free(r);
}

const char *llmopt_route_name(const llmopt_route *r) {
    return r->pol->route;
}
const llmopt_policy_route *llmopt_route_policy(const llmopt_route *r) {
    return r->pol;
}

static int arm_of(const llmopt_route *r, const llmopt_str *s) {
    if (!s->ptr)
        return -1;
    for (size_t i = 0; i < r->k; i++)
        if (strlen(r->pol->arms[i].id) == s->len && !memcmp(r->pol->arms[i].id, s->ptr, s->len))
            return (int)i;
    return -1;
}

static void add_signal_id(llmopt_route *r, const llmopt_str *id) {
    for (size_t i = 0; i < r->n_sig; i++)
        if (!strncmp(r->sig_store[i], id->ptr, SIGNAL_ID_MAX - 1) &&
            strlen(r->sig_store[i]) == (id->len < SIGNAL_ID_MAX ? id->len : SIGNAL_ID_MAX - 1))
            return;
    if (r->n_sig == LLMOPT_ROUTE_MAX_SIGNALS) {
        /* keep the newest: drop the oldest */
        memmove(r->sig_store[0], r->sig_store[1], SIGNAL_ID_MAX * (LLMOPT_ROUTE_MAX_SIGNALS - 1));
        r->n_sig--;
    }
    size_t n = id->len < SIGNAL_ID_MAX - 1 ? id->len : SIGNAL_ID_MAX - 1;
    memcpy(r->sig_store[r->n_sig], id->ptr, n);
    r->sig_store[r->n_sig][n] = '\0';
    r->n_sig++;
}

llmopt_err_t llmopt_route_outcome(llmopt_route *r, const llmopt_outcome *o, char *errstr,
                                  size_t errstr_size) {
    int a = arm_of(r, &o->arm);
    if (a < 0)
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "outcome for unknown arm '%.*s' of route '%s'", (int)o->arm.len,
                           o->arm.ptr ? o->arm.ptr : "", r->pol->route);
    if (llmopt_bandit_observe(&r->bandit, (uint32_t)a, o->reward))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "reward %g out of range for route '%s'", o->reward, r->pol->route);
    r->dirty = true;
    return LLMOPT_OK;
}

static void ewma(double *f, double v) {
    if (!isfinite(v))
        return;
    *f = isnan(*f) ? v : (1 - FIGURE_ALPHA) * *f + FIGURE_ALPHA * v;
}

static bool finite_opt(bool has, double v) {
    return !has || isfinite(v);
}

/* ---- parameter tuner (controller/core/tuner.h) ------------------------- */

static int tuner_slot(const llmopt_route *r, size_t arm) {
    if (!r->has_tuner)
        return -1;
    for (size_t s = 0; s < r->tuner.cfg.n_slots; s++)
        if (r->pol->tuner_arms[s] == arm)
            return (int)s;
    return -1;
}

/* A retired tuner slot serves nothing. */
static bool tuner_idle(const llmopt_route *r, size_t arm) {
    int s = tuner_slot(r, arm);
    return s >= 0 && r->tuner.slot[s].state == LLMOPT_TUNER_IDLE;
}

/* The tuned values replace (or join) the arm's policy params in kv[0..n):
 * returns the new count. */
static size_t tuner_params(const llmopt_route *r, size_t arm, llmopt_kv_double *kv, size_t n) {
    int s = tuner_slot(r, arm);
    if (s < 0)
        return n;
    const llmopt_tuner_config *c = &r->tuner.cfg;
    for (size_t i = 0; i < c->n_params; i++) {
        size_t j = 0;
        while (j < n && (kv[j].key.len != strlen(c->params[i].name) ||
                         memcmp(kv[j].key.ptr, c->params[i].name, kv[j].key.len)))
            j++;
        if (j == n)
            kv[n++].key = llmopt_str_of(c->params[i].name);
        kv[j].value = r->tuner.slot[s].x[i];
    }
    return n;
}

/* A closed tumbling window of a tuner arm: its rewards go to the slot (if
 * the window started after the slot's current parameters were proposed);
 * a finished round moves slots: proposals start their arm afresh (bandit
 * evidence and figures forgotten: it is a new arm), retired arms go off. */
static void tuner_window(llmopt_route *r, size_t arm, const llmopt_window_metrics *m) {
    int s = tuner_slot(r, arm);
    if (s < 0 || m->window_kind != LLMOPT_WINDOW_TUMBLING || !m->has_reward_mean ||
        m->reward_count <= 0 || m->window_start_ms < r->tuner_since_ms[s])
        return;
    double n = (double)m->reward_count;
    double m2 = m->has_reward_variance ? m->reward_variance * (n > 1 ? n - 1 : 0) : 0;
    if (llmopt_tuner_observe(&r->tuner, (size_t)s, n, m->reward_mean, m2) != LLMOPT_OK)
        return;
    llmopt_tuner_change ch[LLMOPT_TUNER_MAX_SLOTS + 1];
    size_t nch = llmopt_tuner_round(&r->tuner, ch, LLMOPT_TUNER_MAX_SLOTS + 1);
    for (size_t i = 0; i < nch && i < LLMOPT_TUNER_MAX_SLOTS + 1; i++) {
        size_t a = r->pol->tuner_arms[ch[i].slot];
        if (ch[i].to == LLMOPT_TUNER_CANDIDATE) {
            llmopt_bandit_reset_arm(&r->bandit, (uint32_t)a);
            r->fig[a] = (arm_figures){NAN, NAN, NAN, NAN};
            r->tuner_since_ms[ch[i].slot] = m->window_end_ms;
        }
        char what[LLMOPT_TUNER_REASON_MAX + 64];
        snprintf(what, sizeof(what), "tuner: arm '%s' %s -> %s: %s", r->pol->arms[a].id,
                 llmopt_tuner_slot_state_names[ch[i].from],
                 llmopt_tuner_slot_state_names[ch[i].to], ch[i].reason);
        llmopt_route_note(r, what);
    }
}

llmopt_err_t llmopt_route_metrics(llmopt_route *r, const llmopt_window_metrics *m,
                                  int64_t now_ms, char *errstr, size_t errstr_size) {
    int a = arm_of(r, &m->arm);
    if (a < 0)
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "metrics for unknown arm '%.*s' of route '%s'", (int)m->arm.len,
                           m->arm.ptr ? m->arm.ptr : "", r->pol->route);
    int64_t errors = m->error_count + m->timeout_count;
    if (m->count < 0 || m->error_count < 0 || m->timeout_count < 0 || errors > m->count ||
        m->reward_count < 0 || m->quality_count < 0 || m->window_end_ms < m->window_start_ms)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "inconsistent counts in window '%.*s'", (int)m->metrics_id.len,
                           m->metrics_id.ptr ? m->metrics_id.ptr : "");
    if (!isfinite(m->cost_per_request) || m->cost_per_request < 0 ||
        !finite_opt(m->has_latency_p95_ms, m->latency_p95_ms) ||
        !finite_opt(m->has_quality_mean, m->quality_mean) ||
        !finite_opt(m->has_reward_mean, m->reward_mean) ||
        !finite_opt(m->has_reward_variance, m->reward_variance) ||
        !finite_opt(m->has_quality_variance, m->quality_variance) ||
        (m->has_quality_mean && (m->quality_mean < 0 || m->quality_mean > 1)) ||
        (m->has_latency_p95_ms && m->latency_p95_ms < 0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "figure out of range in window '%.*s'", (int)m->metrics_id.len,
                           m->metrics_id.ptr ? m->metrics_id.ptr : "");
    arm_figures *f = &r->fig[a];
    if (m->count > 0) {
        ewma(&f->error_rate, (double)errors / (double)m->count);
        ewma(&f->cost_usd, m->cost_per_request);
    }
    if (m->has_quality_mean && m->quality_count > 0)
        ewma(&f->quality, m->quality_mean);
    if (m->has_latency_p95_ms && m->count > 0)
        ewma(&f->p95_ms, m->latency_p95_ms);
    llmopt_route_window *w = &r->last[a];
    *w = (llmopt_route_window){
        .window_end_ms = m->window_end_ms,
        .count = m->count,
        .errors = errors,
        .reward_n = m->has_reward_mean ? (double)m->reward_count : 0,
        .reward_mean = m->has_reward_mean ? m->reward_mean : NAN,
        .reward_var = m->has_reward_variance ? m->reward_variance : 0,
        .quality_n = m->has_quality_mean ? (double)m->quality_count : 0,
        .quality_mean = m->has_quality_mean ? m->quality_mean : NAN,
        .quality_var = m->has_quality_variance ? m->quality_variance : 0,
        .cost_per_request = m->cost_per_request,
        .p95_ms = m->has_latency_p95_ms ? m->latency_p95_ms : NAN};
    /* one discount round per new window end of the route */
    if (m->window_end_ms > r->last_window_end_ms) {
        if (r->last_window_end_ms > 0)
            llmopt_bandit_decay(&r->bandit);
        r->last_window_end_ms = m->window_end_ms;
    }
    tuner_window(r, (size_t)a, m);
    char adapted[LLMOPT_ROUTE_REASON_MAX / 2] = "";
    if (llmopt_strategy_window(&r->strat, (size_t)a, m, adapted, sizeof(adapted)))
        llmopt_route_note(r, adapted);
    llmopt_breaker_transition tr;
    if (llmopt_breaker_observe(&r->breaker[a], now_ms, (uint64_t)m->count, (uint64_t)errors,
                               &tr)) {
        char what[320];
        snprintf(what, sizeof(what), "arm '%s' breaker %s -> %s: %s", r->pol->arms[a].id,
                 llmopt_breaker_state_names[tr.from], llmopt_breaker_state_names[tr.to],
                 tr.reason);
        if (tr.to == LLMOPT_BREAKER_CLOSED && llmopt_breaker_in_outage(&r->breaker[a])) {
            /* back from an outage: what the bandit learned during it is
             * about the outage, so react as to a drift */
            llmopt_bandit_drift(&r->bandit, (uint32_t)a, now_ms);
            append(what, sizeof(what), "; outage over: evidence x%.2f, floor %.3f for %llds",
                   r->pol->drift_shrink, r->pol->drift_floor,
                   (long long)(r->pol->drift_boost_ms / 1000));
        }
        llmopt_route_note(r, what);
        if (tr.to == LLMOPT_BREAKER_OPEN)
            raise_alert(r, what);
        /* an error surge that opens the new arm's breaker is a guardrail
         * breach of its canary too, whatever the step's aggregate says */
        llmopt_canary_transition ct;
        if (tr.to == LLMOPT_BREAKER_OPEN && r->canary_arm == a &&
            llmopt_canary_signal(&r->canary, now_ms, what, &ct)) {
            char rb[LLMOPT_CANARY_REASON_MAX + 96];
            snprintf(rb, sizeof(rb), "canary of arm '%s' rolled back: its breaker opened",
                     r->pol->arms[a].id);
            llmopt_route_note(r, rb);
            raise_alert(r, rb);
        }
    }
    /* canary gate: the new arm's window against the other arms' latest ones */
    if (r->canary_arm == a && r->canary.state == LLMOPT_CANARY_RAMPING) {
        llmopt_canary_obs arm_o = {(uint64_t)m->count, (uint64_t)errors,
                                   m->has_quality_mean ? m->quality_mean : NAN,
                                   m->has_latency_p95_ms ? m->latency_p95_ms : NAN,
                                   m->count > 0 ? m->cost_per_request : NAN};
        llmopt_canary_obs base = {0, 0, NAN, NAN, NAN};
        double qs = 0, qn = 0, ps = 0, pn = 0, cs = 0, cn = 0;
        for (size_t i = 0; i < r->k; i++) {
            const llmopt_route_window *b = &r->last[i];
            if ((int)i == a || b->count <= 0)
                continue;
            base.n += (uint64_t)b->count;
            base.errors += (uint64_t)b->errors;
            if (isfinite(b->quality_mean))
                qs += b->quality_mean * (double)b->count, qn += (double)b->count;
            if (isfinite(b->p95_ms))
                ps += b->p95_ms * (double)b->count, pn += (double)b->count;
            cs += b->cost_per_request * (double)b->count, cn += (double)b->count;
        }
        base.quality = qn > 0 ? qs / qn : NAN;
        base.p95_ms = pn > 0 ? ps / pn : NAN;
        base.cost_usd = cn > 0 ? cs / cn : NAN;
        int changed = 0;
        llmopt_canary_transition ct;
        if (llmopt_canary_observe(&r->canary, now_ms, &arm_o, &base, &changed, &ct) == LLMOPT_OK &&
            changed) {
            char what[320];
            snprintf(what, sizeof(what), "canary of arm '%s' %s step %u -> %s step %u: %s",
                     r->pol->arms[a].id, llmopt_canary_state_names[ct.from], ct.step_from,
                     llmopt_canary_state_names[ct.to], ct.step_to, ct.reason);
            llmopt_route_note(r, what);
            if (ct.to == LLMOPT_CANARY_ROLLED_BACK)
                raise_alert(r, what);
        }
    }
    r->dirty = true;
    return LLMOPT_OK;
}

/* Whether an anomaly is a reason to stop serving an arm: only a harmful
 * direction (errors or latency up, quality down) and only a material change
 * (errors: +5 points and x1.5; latency: x1.5; quality: -0.1). A cheaper or
 * faster window is not a failure, and a 5 % cost wobble that a z-score on a
 * quiet baseline calls 4 sigma is not an outage. Other anomalies are logged
 * in the decision's reason and left to the bandit. */
static bool anomaly_is_harmful(const llmopt_signal *s) {
    const char *m = s->metric.ptr;
    size_t n = s->metric.len;
    double before = s->before, after = s->after;
    int up = s->direction == LLMOPT_DIRECTION_UP;
#define METRIC_IS(name) (n == strlen(name) && memcmp(m, name, n) == 0)
    if (METRIC_IS("error_rate"))
        return up && after - before >= 0.05 && after >= 1.5 * before;
    if (METRIC_IS("p95_latency_ms"))
        return up && after >= 1.5 * before;
    if (METRIC_IS("quality_mean"))
        return !up && before - after >= 0.1;
#undef METRIC_IS
    return false;
}

/* Whether a drift makes the arm worse by its own metric: more errors,
 * latency or cost, less quality or reward. Such an arm needs no raised
 * exploration floor to be learnt (its traffic already shows the harm, and
 * its breaker takes it out if errors pass the guardrail); a floor would hold
 * a failing arm at the drift floor until its breaker's window closed. */
static bool drift_makes_worse(const llmopt_signal *s) {
    const char *m = s->metric.ptr;
    size_t n = s->metric.len;
    int up = s->direction == LLMOPT_DIRECTION_UP;
#define METRIC_IS(name) (n == strlen(name) && memcmp(m, name, n) == 0)
    if (METRIC_IS("error") || METRIC_IS("error_rate") || METRIC_IS("latency_ms") ||
        METRIC_IS("p95_latency_ms") || METRIC_IS("ttft_ms") || METRIC_IS("cost_usd") ||
        METRIC_IS("cost_per_request"))
        return up;
    if (METRIC_IS("quality") || METRIC_IS("quality_mean") || METRIC_IS("reward") ||
        METRIC_IS("reward_mean"))
        return !up;
#undef METRIC_IS
    return false;
}

/* Whether a signal on a canary's new arm breaches the canary's own
 * guardrails: a harmful direction by more than the limit the step gate
 * uses (latency or cost ratio, error-rate increase, quality or reward
 * drop). The drift detectors also fire on improvements and on small
 * shifts; rolling a winner back for a faster or better window would throw
 * away what the experiment just proved. */
static bool canary_signal_harmful(const llmopt_canary_config *c, const llmopt_signal *s) {
    const char *m = s->metric.ptr;
    size_t n = s->metric.len;
    double before = s->before, after = s->after;
    int up = s->direction == LLMOPT_DIRECTION_UP;
#define METRIC_IS(name) (n == strlen(name) && memcmp(m, name, n) == 0)
    if (METRIC_IS("latency_ms") || METRIC_IS("p95_latency_ms") || METRIC_IS("ttft_ms"))
        return up && before > 0 && after > c->max_latency_ratio * before;
    if (METRIC_IS("error") || METRIC_IS("error_rate"))
        return up && after - before > c->max_error_rate_increase;
    if (METRIC_IS("quality") || METRIC_IS("quality_mean") || METRIC_IS("reward") ||
        METRIC_IS("reward_mean"))
        return !up && before - after > c->max_quality_drop;
    if (METRIC_IS("cost_usd") || METRIC_IS("cost_per_request"))
        return up && before > 0 && after > c->max_cost_ratio * before;
#undef METRIC_IS
    return false;
}

llmopt_err_t llmopt_route_signal(llmopt_route *r, const llmopt_signal *s, int64_t now_ms,
                                 char *errstr, size_t errstr_size) {
    int a = arm_of(r, &s->arm);
    if (a < 0)
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "signal for unknown arm '%.*s' of route '%s'", (int)s->arm.len,
                           s->arm.ptr ? s->arm.ptr : "", r->pol->route);
    if (!s->signal_id.ptr || !s->signal_id.len || !isfinite(s->magnitude) ||
        !isfinite(s->before) || !isfinite(s->after) || !isfinite(s->severity) ||
        s->severity < 0 || s->ts_ms < 0 || !s->metric.ptr ||
        (s->kind != LLMOPT_SIGNAL_DRIFT && s->kind != LLMOPT_SIGNAL_ANOMALY))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "signal '%.*s' has an out-of-range field", (int)s->signal_id.len,
                           s->signal_id.ptr ? s->signal_id.ptr : "");
    const char *arm = r->pol->arms[a].id;
    char what[384];
    snprintf(what, sizeof(what), "%s %s on arm '%s' %.*s %s %.4g -> %.4g", 
             llmopt_signal_kind_name(s->kind), llmopt_detector_name(s->detector), arm,
             (int)(s->metric.len > 64 ? 64 : s->metric.len), s->metric.ptr,
             llmopt_direction_name(s->direction), s->before, s->after);
    /* the signal's own time bounds the boost, but never earlier than now */
    int64_t ts = s->ts_ms > now_ms ? now_ms : s->ts_ms;
    if (s->kind == LLMOPT_SIGNAL_DRIFT && drift_makes_worse(s)) {
        llmopt_bandit_shrink(&r->bandit, (uint32_t)a);
        append(what, sizeof(what), ": evidence shrunk x%.2f, no raised floor (worse)",
               r->pol->drift_shrink);
    } else if (s->kind == LLMOPT_SIGNAL_DRIFT) {
        llmopt_bandit_drift(&r->bandit, (uint32_t)a, now_ms);
        append(what, sizeof(what), ": evidence shrunk x%.2f, floor %.3f for %llds",
               r->pol->drift_shrink, r->pol->drift_floor,
               (long long)(r->pol->drift_boost_ms / 1000));
    } else if (!anomaly_is_harmful(s)) {
        append(what, sizeof(what), ": not harmful enough to break the circuit");
    } else if (llmopt_breaker_in_outage(&r->breaker[a])) {
        append(what, sizeof(what), ": outage baseline, breaker %s",
               llmopt_breaker_state_names[r->breaker[a].state]);
    } else {
        llmopt_breaker_transition tr;
        if (llmopt_breaker_anomaly(&r->breaker[a], now_ms, what, &tr)) {
            append(what, sizeof(what), ": breaker %s -> %s (cooldown %llds)",
                   llmopt_breaker_state_names[tr.from], llmopt_breaker_state_names[tr.to],
                   (long long)(r->breaker[a].cur_cooldown_ms / 1000));
            if (tr.to == LLMOPT_BREAKER_OPEN)
                raise_alert(r, what);
        }
    }
    (void)ts;
    if (r->canary_arm == a && r->canary.state == LLMOPT_CANARY_RAMPING &&
        s->ts_ms < r->canary.ramp_start_ms) {
        /* about data from before the ramp began: not about the canary's traffic.
         * A signal from an earlier step of the ramp still counts: it may be
         * processed just after the gate moved the step on. */
        append(what, sizeof(what), ": older than the canary ramp");
    } else if (r->canary_arm == a && r->canary.state == LLMOPT_CANARY_RAMPING &&
               !canary_signal_harmful(&r->canary.cfg, s)) {
        append(what, sizeof(what), ": within the canary's guardrails");
    } else if (r->canary_arm == a) {
        llmopt_canary_transition ct;
        if (llmopt_canary_signal(&r->canary, now_ms, what, &ct)) {
            append(what, sizeof(what), ": canary rolled back");
            raise_alert(r, what);
        }
    }
    add_signal_id(r, &s->signal_id);
    llmopt_route_note(r, what);
    return LLMOPT_OK;
}

void llmopt_route_tick(llmopt_route *r, int64_t now_ms) {
    for (size_t i = 0; i < r->k; i++) {
        llmopt_breaker_transition tr;
        if (llmopt_breaker_tick(&r->breaker[i], now_ms, &tr)) {
            char what[256];
            snprintf(what, sizeof(what), "arm '%s' breaker %s -> %s: %s", r->pol->arms[i].id,
                     llmopt_breaker_state_names[tr.from], llmopt_breaker_state_names[tr.to],
                     tr.reason);
            llmopt_route_note(r, what);
        }
    }
}

void llmopt_route_set_overrides(llmopt_route *r, const uint8_t *disabled, int pinned) {
    bool changed = pinned != r->pinned;
    for (size_t i = 0; i < r->k; i++)
        changed = changed || (disabled[i] != 0) != (r->disabled[i] != 0);
    if (!changed)
        return;
    char what[256] = "operator:";
    for (size_t i = 0; i < r->k; i++) {
        r->disabled[i] = disabled[i] != 0;
        if (r->disabled[i])
            append(what, sizeof(what), " '%s' disabled", r->pol->arms[i].id);
    }
    r->pinned = pinned >= 0 && (size_t)pinned < r->k ? pinned : -1;
    if (r->pinned >= 0)
        append(what, sizeof(what), " '%s' pinned", r->pol->arms[r->pinned].id);
    if (!strcmp(what, "operator:"))
        append(what, sizeof(what), " overrides cleared");
    llmopt_route_note(r, what);
}

void llmopt_route_set_experiment(llmopt_route *r, const char *experiment_id,
                                 const double *alloc) {
    if (!experiment_id) {
        if (r->has_experiment) {
            char what[200];
            snprintf(what, sizeof(what), "experiment '%s' ended", r->experiment_id);
            r->has_experiment = false;
            r->experiment_id[0] = '\0';
            llmopt_route_note(r, what);
        }
        return;
    }
    bool same = r->has_experiment && !strcmp(r->experiment_id, experiment_id);
    for (size_t i = 0; same && i < r->k; i++)
        same = r->exp_alloc[i] == alloc[i];
    if (same)
        return;
    r->has_experiment = true;
    snprintf(r->experiment_id, sizeof(r->experiment_id), "%s", experiment_id);
    memcpy(r->exp_alloc, alloc, r->k * sizeof(double));
    char what[200];
    snprintf(what, sizeof(what), "experiment '%s' running with a fixed split", experiment_id);
    llmopt_route_note(r, what);
}

const char *llmopt_route_experiment(const llmopt_route *r) {
    return r->has_experiment ? r->experiment_id : NULL;
}

int llmopt_route_canary_start(llmopt_route *r, size_t arm, int64_t now_ms, const char *why) {
    if (arm >= r->k || r->canary.state == LLMOPT_CANARY_RAMPING)
        return 0;
    char e[128];
    /* a new ramp starts from a fresh state machine (the previous one ended) */
    if (llmopt_canary_init(&r->canary, &r->pol->canary, now_ms, e, sizeof(e)))
        return 0;
    llmopt_canary_transition ct;
    if (!llmopt_canary_start(&r->canary, now_ms, &ct))
        return 0;
    r->canary_arm = (int32_t)arm;
    char what[320];
    snprintf(what, sizeof(what), "canary ramp of arm '%s' started at %.0f%%: %s",
             r->pol->arms[arm].id, 100 * llmopt_canary_share(&r->canary), why ? why : "");
    llmopt_route_note(r, what);
    return 1;
}

llmopt_canary_state llmopt_route_canary_state(const llmopt_route *r, int *arm) {
    if (arm)
        *arm = r->canary_arm;
    return r->canary.state;
}

static double pick_fig(double measured, double est) {
    return isfinite(measured) ? measured : est;
}

int llmopt_route_decide(llmopt_route *r, int64_t now_ms, llmopt_route_decision *d) {
    const llmopt_policy_route *p = r->pol;
    size_t k = r->k;
    memset(d, 0, sizeof(*d));
    d->k = k;
    char *reason = d->reason;
    size_t rs = sizeof(d->reason);
    if (r->pending[0])
        append(reason, rs, "%s; ", r->pending);

    /* eligibility */
    llmopt_pareto_arm pa[K];
    for (size_t i = 0; i < k; i++) {
        pa[i].quality = pick_fig(r->fig[i].quality, p->arms[i].est_quality);
        pa[i].cost_usd = pick_fig(r->fig[i].cost_usd, p->arms[i].est_cost_usd);
        pa[i].p95_ms = pick_fig(r->fig[i].p95_ms, p->arms[i].est_p95_ms);
        pa[i].enabled = !r->disabled[i] && r->breaker[i].state != LLMOPT_BREAKER_OPEN;
    }
    llmopt_pareto_limits lim = {p->max_cost_usd, p->max_p95_ms, p->min_quality};
    llmopt_pareto_verdict verdict[K];
    int32_t dom[K];
    uint8_t elig[K];
    char preason[200] = "";
    llmopt_err_t pe = llmopt_pareto_filter(pa, k, &lim, verdict, dom, elig, preason,
                                           sizeof(preason));
    /* preferences over eligible arms whose breaker is closed */
    double pref[K] = {0};
    uint8_t pel[K];
    size_t n_pel = 0;
    for (size_t i = 0; i < k; i++) {
        pel[i] = pe == LLMOPT_OK && elig[i] && r->breaker[i].state == LLMOPT_BREAKER_CLOSED;
        n_pel += pel[i];
    }
    char areason[200] = "";
    if (n_pel > 0) {
        llmopt_err_t e = LLMOPT_OK;
        switch (p->algo) {
        case LLMOPT_ALGO_THOMPSON:
            e = llmopt_thompson_weights(&r->bandit, pel, p->thompson_draws, &r->rng, pref,
                                        areason, sizeof(areason));
            break;
        case LLMOPT_ALGO_UCB1:
            e = llmopt_ucb1_weights(&r->bandit, pel, p->ucb_c, pref, areason, sizeof(areason));
            break;
        case LLMOPT_ALGO_EGREEDY:
            e = llmopt_egreedy_weights(&r->bandit, pel, p->egreedy_eps, pref, areason,
                                       sizeof(areason));
            break;
        case LLMOPT_ALGO_STATIC:
        default:
            for (size_t i = 0; i < k; i++)
                pref[i] = pel[i] ? p->arms[i].static_weight : 0;
            snprintf(areason, sizeof(areason), "static weights");
            break;
        }
        if (e)
            memset(pref, 0, sizeof(pref));
    }
    /* roles */
    llmopt_alloc_arm al[K];
    for (size_t i = 0; i < k; i++) {
        const llmopt_breaker *b = &r->breaker[i];
        al[i] = (llmopt_alloc_arm){.role = LLMOPT_ALLOC_FLOAT};
        d->state[i] = LLMOPT_ARM_ACTIVE;
        if (r->disabled[i] || tuner_idle(r, i)) {
            al[i].role = LLMOPT_ALLOC_OFF;
            d->state[i] = LLMOPT_ARM_DISABLED;
        } else if (b->state == LLMOPT_BREAKER_OPEN) {
            al[i].role = LLMOPT_ALLOC_OFF;
            d->state[i] = LLMOPT_ARM_COOLDOWN;
            d->cooldown_until_ms[i] = b->open_until_ms;
        } else if (pe == LLMOPT_OK && verdict[i] == LLMOPT_PARETO_VIOLATES) {
            al[i].role = LLMOPT_ALLOC_OFF;
            d->state[i] = LLMOPT_ARM_DISABLED;
        } else if (b->state == LLMOPT_BREAKER_HALF_OPEN) {
            /* probing: the cooldown ended when the breaker went half-open,
             * so gateways send the arm its fixed probe share */
            llmopt_breaker_alloc(b, &al[i]);
            d->state[i] = LLMOPT_ARM_COOLDOWN;
            d->cooldown_until_ms[i] = b->since_ms > 0 ? b->since_ms : 1;
        } else {
            al[i].raw = pel[i] ? pref[i] : 0;
            double fl = llmopt_bandit_floor(&r->bandit, (uint32_t)i, now_ms);
            /* a per-arm floor in the policy applies unless drift raised it */
            al[i].floor = fl > p->floor ? fl : p->arms[i].floor;
        }
    }
    /* overlays */
    if (r->has_experiment) {
        double tot = 0;
        for (size_t i = 0; i < k; i++)
            if (r->exp_alloc[i] > 0 && al[i].role == LLMOPT_ALLOC_FLOAT)
                tot += r->exp_alloc[i];
        for (size_t i = 0; i < k && tot > 0; i++) {
            if (al[i].role != LLMOPT_ALLOC_FLOAT)
                continue;
            if (r->exp_alloc[i] > 0) {
                al[i].role = LLMOPT_ALLOC_FIXED;
                al[i].fixed = r->exp_alloc[i] / tot;
            } else {
                al[i].raw = 0;
            }
        }
        append(reason, rs, "experiment '%s' split; ", r->experiment_id);
    }
    int ca = r->canary_arm;
    if (ca >= 0 && (r->canary.state == LLMOPT_CANARY_RAMPING ||
                    r->canary.state == LLMOPT_CANARY_PROMOTED) &&
        al[ca].role == LLMOPT_ALLOC_FLOAT) {
        al[ca].role = LLMOPT_ALLOC_FIXED;
        al[ca].fixed = llmopt_canary_share(&r->canary);
        if (r->canary.state == LLMOPT_CANARY_RAMPING)
            d->state[ca] = LLMOPT_ARM_CANARY;
        append(reason, rs, "canary '%s' %s at %.0f%%; ", p->arms[ca].id,
               llmopt_canary_state_names[r->canary.state], 100 * al[ca].fixed);
    } else if (ca >= 0 && r->canary.state == LLMOPT_CANARY_ROLLED_BACK &&
               al[ca].role == LLMOPT_ALLOC_FLOAT) {
        /* a rolled-back winner keeps only its exploration floor until a new
         * ramp starts: the bandit alone must not hand it back the traffic
         * the guardrails just took away */
        al[ca].raw = 0;
        append(reason, rs, "canary '%s' rolled back: held at its floor; ", p->arms[ca].id);
    }
    if (r->pinned >= 0 && al[r->pinned].role != LLMOPT_ALLOC_OFF) {
        for (size_t i = 0; i < k; i++)
            if (al[i].role == LLMOPT_ALLOC_FIXED && (int)i != r->pinned) {
                /* the pin wins over experiment and canary shares */
                al[i].role = LLMOPT_ALLOC_FLOAT;
                al[i].raw = 0;
                al[i].floor = p->arms[i].floor;
            } else if (al[i].role == LLMOPT_ALLOC_FLOAT) {
                al[i].raw = 0;
            }
        al[r->pinned].role = LLMOPT_ALLOC_FIXED;
        al[r->pinned].fixed = 1.0;
        append(reason, rs, "pinned to '%s'; ", p->arms[r->pinned].id);
    }
    char wreason[160] = "";
    llmopt_err_t ae = llmopt_alloc_weights(al, k, d->w, wreason, sizeof(wreason));
    if (ae) {
        /* nothing can take traffic: the fallback chain, preferring an arm
         * that is not in an error outage (one broken only by a latency,
         * cost or quality anomaly still answers) */
        size_t fb = k, fb_any = k;
        for (size_t j = 0; j < p->n_fallback && fb == k; j++) {
            size_t c = p->fallback[j];
            if (r->disabled[c])
                continue;
            if (fb_any == k)
                fb_any = c;
            if (!llmopt_breaker_in_outage(&r->breaker[c]))
                fb = c;
        }
        if (fb == k)
            fb = fb_any;
        if (fb == k)
            return LLMOPT_ERR_STATE;
        for (size_t i = 0; i < k; i++)
            d->w[i] = i == fb ? 1.0 : 0.0;
        d->state[fb] = LLMOPT_ARM_ACTIVE;
        d->cooldown_until_ms[fb] = 0;
        append(reason, rs, "all arms down: fallback chain gives everything to '%s'",
               p->arms[fb].id);
    } else {
        if (pe == LLMOPT_OK && preason[0])
            append(reason, rs, "pareto: %s; ", preason);
        if (areason[0])
            append(reason, rs, "%s; ", areason);
        append(reason, rs, "alloc: %s", wreason);
    }
    /* default arm: the heaviest */
    size_t best = 0;
    for (size_t i = 1; i < k; i++)
        if (d->w[i] > d->w[best])
            best = i;
    d->default_arm = best;
    if (!r->has_published || r->force)
        return 1;
    for (size_t i = 0; i < k; i++)
        if (d->state[i] != r->published.state[i])
            return 1;
    return llmopt_alloc_changed(r->published.w, d->w, k, p->epsilon);
}

void llmopt_route_commit(llmopt_route *r, const llmopt_route_decision *d, int64_t version,
                         int64_t now_ms) {
    r->published = *d;
    r->has_published = true;
    r->version = version;
    r->published_ms = now_ms;
    r->pending[0] = '\0';
    r->force = false;
    r->n_sig = 0;
    r->dirty = true;
}

int64_t llmopt_route_version(const llmopt_route *r) {
    return r->version;
}
void llmopt_route_set_version(llmopt_route *r, int64_t version) {
    r->version = version;
}
const llmopt_route_decision *llmopt_route_published(const llmopt_route *r) {
    return r->has_published ? &r->published : NULL;
}
int64_t llmopt_route_published_ms(const llmopt_route *r) {
    return r->published_ms;
}
void llmopt_route_set_published_ms(llmopt_route *r, int64_t ts_ms) {
    r->published_ms = ts_ms;
}

size_t llmopt_route_signal_ids(const llmopt_route *r, const char *const **ids) {
    llmopt_route *m = (llmopt_route *)r;
    for (size_t i = 0; i < r->n_sig; i++)
        m->sig_ptr[i] = r->sig_store[i];
    *ids = m->sig_ptr;
    return r->n_sig;
}

void llmopt_route_fill(llmopt_route *r, const llmopt_route_decision *d, int64_t version,
                       int64_t ts_ms, bool heartbeat, llmopt_routing_decision *rec) {
    const llmopt_policy_route *p = r->pol;
    memset(rec, 0, sizeof(*rec));
    rec->route = llmopt_str_of(p->route);
    rec->version = version;
    rec->ts_ms = ts_ms;
    rec->algorithm = llmopt_str_of(llmopt_policy_algo_names[p->algo]);
    for (size_t i = 0; i < r->k; i++) {
        const llmopt_policy_arm *pa = &p->arms[i];
        llmopt_arm *a = &r->rec_arms[i];
        memset(a, 0, sizeof(*a));
        a->arm_id = llmopt_str_of(pa->id);
        a->provider = llmopt_str_of(pa->provider);
        a->model = llmopt_str_of(pa->model);
        for (size_t j = 0; j < pa->n_params; j++)
            r->rec_params[i][j] = (llmopt_kv_double){llmopt_str_of(pa->param_names[j]),
                                                     pa->param_values[j]};
        size_t np = tuner_params(r, i, r->rec_params[i], pa->n_params);
        a->params.items = np ? r->rec_params[i] : NULL;
        a->params.count = np;
        a->prompt_template_id = llmopt_str_of(pa->prompt_template_id);
        a->weight = d->w[i];
        a->state = d->state[i];
        a->has_cooldown_until_ms = d->cooldown_until_ms[i] > 0;
        a->cooldown_until_ms = d->cooldown_until_ms[i];
    }
    rec->arms.items = r->rec_arms;
    rec->arms.count = r->k;
    rec->default_arm = llmopt_str_of(p->arms[d->default_arm].id);
    snprintf(r->reason_buf, sizeof(r->reason_buf), "%s", d->reason);
    rec->reason = llmopt_str_of(r->reason_buf);
    const char *const *ids;
    size_t n = heartbeat ? 0 : llmopt_route_signal_ids(r, &ids);
    for (size_t i = 0; i < n; i++)
        r->rec_sigs[i] = llmopt_str_of(ids[i]);
    rec->signal_ids.items = n ? r->rec_sigs : NULL;
    rec->signal_ids.count = n;
    rec->experiment_id = llmopt_str_of(r->has_experiment ? r->experiment_id : NULL);
    rec->heartbeat = heartbeat;
    llmopt_strategy_fill(&r->strat, d->w, rec);
}

bool llmopt_route_dirty(const llmopt_route *r) {
    return r->dirty;
}
void llmopt_route_clear_dirty(llmopt_route *r) {
    r->dirty = false;
}

void llmopt_route_arm_summary(const llmopt_route *r, size_t arm, double *n, double *mean,
                              uint64_t *pulls, const char **breaker) {
    *n = r->bandit.arm[arm].n;
    *mean = llmopt_bandit_mean(&r->bandit, (uint32_t)arm);
    *pulls = r->bandit.arm[arm].pulls;
    *breaker = llmopt_breaker_state_names[r->breaker[arm].state];
}

const llmopt_route_window *llmopt_route_last_window(const llmopt_route *r, size_t arm) {
    if (arm >= r->k || r->last[arm].window_end_ms == 0)
        return NULL;
    return &r->last[arm];
}

/* ---- checkpoint -------------------------------------------------------- */

void llmopt_route_serialize(const llmopt_route *r, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "CRTE", 2);
    llmopt_wbuf_u32(w, (uint32_t)r->k);
    for (size_t i = 0; i < r->k; i++) {
        size_t n = strlen(r->pol->arms[i].id);
        llmopt_wbuf_u32(w, (uint32_t)n);
        llmopt_wbuf_bytes(w, r->pol->arms[i].id, n);
    }
    llmopt_bandit_serialize(&r->bandit, w);
    for (size_t i = 0; i < r->k; i++)
        llmopt_breaker_serialize(&r->breaker[i], w);
    llmopt_canary_serialize(&r->canary, w);
    llmopt_wbuf_i64(w, r->canary_arm);
    llmopt_rng_serialize(&r->rng, w);
    llmopt_wbuf_i64(w, r->last_window_end_ms);
    for (size_t i = 0; i < r->k; i++) {
        const arm_figures *f = &r->fig[i];
        llmopt_wbuf_f64(w, f->quality);
        llmopt_wbuf_f64(w, f->cost_usd);
        llmopt_wbuf_f64(w, f->p95_ms);
        llmopt_wbuf_f64(w, f->error_rate);
    }
    llmopt_wbuf_u8(w, r->has_published);
    llmopt_wbuf_i64(w, r->published_ms);
    llmopt_wbuf_u32(w, (uint32_t)r->published.default_arm);
    for (size_t i = 0; i < r->k; i++) {
        llmopt_wbuf_f64(w, r->published.w[i]);
        llmopt_wbuf_u8(w, (uint8_t)r->published.state[i]);
        llmopt_wbuf_i64(w, r->published.cooldown_until_ms[i]);
    }
    size_t rl = strlen(r->published.reason);
    llmopt_wbuf_u32(w, (uint32_t)rl);
    llmopt_wbuf_bytes(w, r->published.reason, rl);
    if (r->has_tuner) { /* only routes whose policy has a tuner */
        llmopt_tuner_serialize(&r->tuner, w);
        for (size_t s = 0; s < r->tuner.cfg.n_slots; s++)
            llmopt_wbuf_i64(w, r->tuner_since_ms[s]);
    }
    /* v2: the adapted rate limits, cache policy and batch size */
    llmopt_strategy_serialize(&r->strat, w);
}

/* The policy's arm list differs from the state's (arms added, removed or
 * reordered, e.g. prompt variants registered): r is the route fresh from the
 * new policy, t the state restored with the old list, from[i] the old index
 * of new arm i or -1. Each arm that stays keeps its evidence (bandit counts
 * and window, with the new policy's prior), breaker, figures and published
 * weight; new arms start from their priors; the published weights are
 * renormalised over the arms that remain. The bandit's evidence is kept only
 * under the same reward model, discount and window (otherwise it restarts,
 * as does a tuner). The canary ramp continues if its arm stays. A new
 * decision is forced, with what was kept in its reason. */
static void carry_over(llmopt_route *r, const llmopt_route *t, const int32_t *from) {
    const llmopt_bandit_config *nc = &r->bandit.cfg, *oc = &t->bandit.cfg;
    bool evidence = nc->reward == oc->reward && nc->gamma == oc->gamma &&
                    nc->window == oc->window;
    char kept[LLMOPT_ROUTE_REASON_MAX / 2] = "", added[LLMOPT_ROUTE_REASON_MAX / 4] = "";
    double wsum = 0;
    uint32_t old_default = t->published.default_arm;
    r->published.default_arm = 0;
    for (size_t i = 0; i < r->k; i++) {
        int32_t j = from[i];
        if (j < 0) {
            append(added, sizeof(added), "%s%s", added[0] ? ", " : "", r->pol->arms[i].id);
            continue;
        }
        append(kept, sizeof(kept), "%s%s", kept[0] ? ", " : "", r->pol->arms[i].id);
        if (evidence) {
            llmopt_bandit_arm *a = &r->bandit.arm[i];
            const llmopt_bandit_arm *o = &t->bandit.arm[j];
            a->n = o->n;
            a->mean = o->mean;
            a->m2 = o->m2;
            a->pulls = o->pulls;
            a->boost_until_ms = o->boost_until_ms;
            memcpy(r->bandit.win[i], t->bandit.win[j], sizeof(r->bandit.win[i]));
        }
        r->breaker[i] = t->breaker[j];
        r->fig[i] = t->fig[j];
        r->published.w[i] = t->published.w[j];
        r->published.state[i] = t->published.state[j];
        r->published.cooldown_until_ms[i] = t->published.cooldown_until_ms[j];
        wsum += r->published.w[i];
        if ((uint32_t)j == old_default)
            r->published.default_arm = (uint32_t)i;
        if (t->canary_arm == j) {
            r->canary = t->canary;
            r->canary_arm = (int32_t)i;
        }
    }
    if (evidence)
        r->bandit.win_head = t->bandit.win_head;
    r->published.k = r->k;
    r->has_published = t->has_published && wsum > 0;
    for (size_t i = 0; i < r->k && wsum > 0; i++)
        r->published.w[i] /= wsum;
    r->published_ms = t->published_ms;
    memcpy(r->published.reason, t->published.reason, sizeof(r->published.reason));
    r->rng = t->rng;
    r->last_window_end_ms = t->last_window_end_ms;
    r->strat = t->strat;
    memcpy(r->restore_note, t->restore_note, sizeof(r->restore_note));
    char note[LLMOPT_ROUTE_REASON_MAX];
    snprintf(note, sizeof(note), "policy arms changed: kept %s of %s%s%s%s", 
             evidence ? "the evidence" : "the breakers (bandit settings changed: evidence restarted)",
             kept, added[0] ? "; new: " : "", added, r->has_tuner ? "; tuner restarted" : "");
    llmopt_route_note(r, note);
}

const char *llmopt_route_restore_note(const llmopt_route *r) {
    return r->restore_note;
}

llmopt_err_t llmopt_route_deserialize(llmopt_route *r, const void *data, size_t len,
                                      char *errstr, size_t errstr_size) {
    llmopt_rbuf rb;
    llmopt_rbuf_init(&rb, data, len);
    uint8_t ver = llmopt_rbuf_header(&rb, "CRTE", 2);
    if (ver == 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "not a route state blob");
    uint32_t k = llmopt_rbuf_u32(&rb);
    if (rb.err || k == 0 || k > K)
        return llmopt_errf(rb.err ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID, errstr,
                           errstr_size, "route '%s': state has %u arms", r->pol->route, k);
    /* from[i]: the state's index of the policy's arm i, -1 for a new arm */
    int32_t from[K];
    bool same = k == r->k, common = false;
    for (size_t i = 0; i < r->k; i++)
        from[i] = -1;
    for (uint32_t j = 0; j < k; j++) {
        uint32_t n = llmopt_rbuf_u32(&rb);
        char id[LLMOPT_POLICY_ARM_STR_MAX + 1];
        if (rb.err || n > LLMOPT_POLICY_ARM_STR_MAX || !llmopt_rbuf_bytes(&rb, id, n))
            return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size,
                               "route '%s': truncated arm list", r->pol->route);
        id[n] = '\0';
        int i = llmopt_policy_arm_index(r->pol, id);
        if (i >= 0 && from[i] >= 0)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "route '%s': arm '%s' twice in the state", r->pol->route, id);
        if (i >= 0) {
            from[i] = (int32_t)j;
            common = true;
        }
        same = same && i == (int)j;
    }
    if (!common)
        return llmopt_errf(LLMOPT_ERR_VERSION, errstr, errstr_size,
                           "route '%s': no arm of the state is in the policy", r->pol->route);
    /* restore into a scratch copy so a bad blob leaves r untouched */
    llmopt_route *t = malloc(sizeof(*t));
    if (!t)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    *t = *r;
    llmopt_err_t e = llmopt_bandit_deserialize(&t->bandit, &rb, errstr, errstr_size);
    for (size_t i = 0; !e && i < k; i++)
        e = llmopt_breaker_deserialize(&t->breaker[i], &rb, errstr, errstr_size);
    if (!e)
        e = llmopt_canary_deserialize(&t->canary, &rb, errstr, errstr_size);
    if (!e) {
        int64_t ca = llmopt_rbuf_i64(&rb);
        if (ca < -1 || ca >= (int64_t)k)
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "canary arm %lld",
                            (long long)ca);
        t->canary_arm = (int32_t)ca;
    }
    if (!e)
        e = llmopt_rng_deserialize(&t->rng, &rb);
    if (!e) {
        t->last_window_end_ms = llmopt_rbuf_i64(&rb);
        for (size_t i = 0; i < k; i++) {
            t->fig[i].quality = llmopt_rbuf_f64(&rb);
            t->fig[i].cost_usd = llmopt_rbuf_f64(&rb);
            t->fig[i].p95_ms = llmopt_rbuf_f64(&rb);
            t->fig[i].error_rate = llmopt_rbuf_f64(&rb);
        }
        t->has_published = llmopt_rbuf_u8(&rb) != 0;
        t->published_ms = llmopt_rbuf_i64(&rb);
        memset(&t->published, 0, sizeof(t->published));
        t->published.k = k;
        t->published.default_arm = llmopt_rbuf_u32(&rb);
        if (t->published.default_arm >= k)
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "default arm out of range");
        double sum = 0;
        for (size_t i = 0; !e && i < k; i++) {
            t->published.w[i] = llmopt_rbuf_f64(&rb);
            uint8_t st = llmopt_rbuf_u8(&rb);
            t->published.cooldown_until_ms[i] = llmopt_rbuf_i64(&rb);
            if (st > LLMOPT_ARM_CANARY || !(t->published.w[i] >= 0 && t->published.w[i] <= 1))
                e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                                "published arm %zu out of range", i);
            t->published.state[i] = (llmopt_arm_state)st;
            sum += t->published.w[i];
        }
        if (!e && t->has_published && fabs(sum - 1) > 1e-6)
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                            "published weights sum to %g", sum);
        uint32_t rl = llmopt_rbuf_u32(&rb);
        if (!e && (rl >= sizeof(t->published.reason) ||
                   !llmopt_rbuf_bytes(&rb, t->published.reason, rl)))
            e = llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "truncated reason");
        else if (!e)
            t->published.reason[rl] = '\0';
        if (!e && t->has_tuner) {
            e = llmopt_tuner_deserialize(&t->tuner, &rb, errstr, errstr_size);
            for (size_t s = 0; !e && s < t->tuner.cfg.n_slots; s++)
                t->tuner_since_ms[s] = llmopt_rbuf_i64(&rb);
        }
        t->restore_note[0] = '\0';
        if (!e && ver >= 2) {
            char note[sizeof(t->restore_note) - 40];
            e = llmopt_strategy_deserialize(&t->strat, &rb, note, sizeof(note), errstr,
                                            errstr_size);
            if (!e && note[0])
                snprintf(t->restore_note, sizeof(t->restore_note), "route '%s': %s",
                         r->pol->route, note);
        } else if (!e && (r->pol->strat.has_rate_limits || r->pol->strat.has_cache ||
                          r->pol->strat.has_batching)) {
            snprintf(t->restore_note, sizeof(t->restore_note),
                     "route '%s': checkpoint v1 holds no rate-limit, cache or batching state: "
                     "they start from the policy", r->pol->route);
        }
        if (!e && rb.err)
            e = llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size, "truncated route state");
        if (!e && rb.left)
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "%zu trailing bytes in route state", rb.left);
    }
    if (!e && t->bandit.cfg.k != k)
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "route '%s': bandit state has %u arms, arm list %u", r->pol->route,
                        t->bandit.cfg.k, k);
    if (!e && same) {
        *r = *t;
        r->dirty = false;
    } else if (!e) {
        carry_over(r, t, from);
    } else if (!same) {
        /* e.g. a tuner added or removed with the arms: the layout differs */
        char why[256];
        snprintf(why, sizeof(why), "%s", errstr_size ? errstr : "");
        e = llmopt_errf(LLMOPT_ERR_VERSION, errstr, errstr_size,
                        "route '%s': state of another arm list does not fit the policy (%s)",
                        r->pol->route, why);
    }
    free(t);
    return e;
}
