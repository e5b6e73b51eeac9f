/* canary.c - guarded traffic ramp for a graduating arm. */
#include "controller/core/canary.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

/* observed values beyond these are refused: sums stay finite for any
 * realistic number of windows */
#define METRIC_MAX 1e12

const char *const llmopt_canary_state_names[LLMOPT_CANARY_N_STATES] = {
    "idle", "ramping", "promoted", "rolled_back",
};

void llmopt_canary_config_default(llmopt_canary_config *c) {
    memset(c, 0, sizeof(*c));
    c->n_steps = 4;
    c->steps[0] = 0.10;
    c->steps[1] = 0.25;
    c->steps[2] = 0.50;
    c->steps[3] = 1.00;
    c->min_step_ms = 600000;
    c->min_step_samples = 500;
    c->min_guard_samples = 100;
    c->max_error_rate_increase = 0.02;
    c->max_latency_ratio = 1.25;
    c->max_quality_drop = 0.02;
    c->max_cost_ratio = 1.5;
}

static llmopt_err_t check_config(const llmopt_canary_config *c, char *errstr, size_t sz) {
    if (c->n_steps < 1 || c->n_steps > LLMOPT_CANARY_MAX_STEPS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'n_steps' must be 1..%d",
                           LLMOPT_CANARY_MAX_STEPS);
    for (uint32_t i = 0; i < c->n_steps; i++)
        if (!(c->steps[i] > (i ? c->steps[i - 1] : 0.0) && c->steps[i] <= 1.0))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                               "'steps' must increase strictly within (0, 1]");
    if (c->steps[c->n_steps - 1] != 1.0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "the last step must be 1");
    if (c->min_step_ms < 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'min_step_ms' must be >= 0");
    if (c->min_guard_samples < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'min_guard_samples' must be >= 1");
    if (!(c->max_error_rate_increase >= 0) || !(c->max_quality_drop >= 0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                           "'max_error_rate_increase' and 'max_quality_drop' must be >= 0");
    if (!(c->max_latency_ratio > 0) || !(c->max_cost_ratio > 0))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                           "'max_latency_ratio' and 'max_cost_ratio' must be > 0");
    return LLMOPT_OK;
}

llmopt_err_t llmopt_canary_init(llmopt_canary *c, const llmopt_canary_config *cfg, int64_t ts_ms,
                                char *errstr, size_t errstr_size) {
    llmopt_err_t e = check_config(cfg, errstr, errstr_size);
    if (e)
        return e;
    memset(c, 0, sizeof(*c));
    c->cfg = *cfg;
    c->state = LLMOPT_CANARY_IDLE;
    c->step_start_ms = ts_ms;
    c->ramp_start_ms = ts_ms;
    c->last.ts_ms = ts_ms;
    return LLMOPT_OK;
}

int llmopt_canary_set_state(llmopt_canary *c, llmopt_canary_state to, uint32_t step,
                            int64_t ts_ms, const char *reason, llmopt_canary_transition *tr) {
    if ((unsigned)to >= LLMOPT_CANARY_N_STATES)
        return 0;
    if (to != LLMOPT_CANARY_RAMPING)
        step = c->step; /* the step is only meaningful while ramping: keep the last */
    else if (step >= c->cfg.n_steps)
        return 0;
    if (to == c->state && step == c->step)
        return 0;
    c->last.from = c->state;
    c->last.to = to;
    c->last.step_from = c->step;
    c->last.step_to = step;
    c->last.ts_ms = ts_ms;
    snprintf(c->last.reason, sizeof(c->last.reason), "%s", reason ? reason : "");
    if (to == LLMOPT_CANARY_RAMPING && c->state != LLMOPT_CANARY_RAMPING)
        c->ramp_start_ms = ts_ms;
    c->state = to;
    c->step = step;
    c->step_start_ms = ts_ms;
    memset(&c->arm, 0, sizeof(c->arm));
    memset(&c->base, 0, sizeof(c->base));
    c->transitions++;
    if (tr)
        *tr = c->last;
    return 1;
}

int llmopt_canary_start(llmopt_canary *c, int64_t ts_ms, llmopt_canary_transition *tr) {
    if (c->state != LLMOPT_CANARY_IDLE)
        return 0;
    char why[LLMOPT_CANARY_REASON_MAX];
    snprintf(why, sizeof(why), "ramp started at share %.2f", c->cfg.steps[0]);
    return llmopt_canary_set_state(c, LLMOPT_CANARY_RAMPING, 0, ts_ms, why, tr);
}

static int obs_ok(const llmopt_canary_obs *o) {
    if (o->errors > o->n)
        return 0;
    if (!isnan(o->quality) && !(fabs(o->quality) <= METRIC_MAX))
        return 0;
    if (!isnan(o->p95_ms) && !(o->p95_ms >= 0 && o->p95_ms <= METRIC_MAX))
        return 0;
    if (!isnan(o->cost_usd) && !(o->cost_usd >= 0 && o->cost_usd <= METRIC_MAX))
        return 0;
    return 1;
}

static uint64_t add_sat(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static void accumulate(llmopt_canary_side *s, const llmopt_canary_obs *o) {
    s->n = add_sat(s->n, o->n);
    s->errors = add_sat(s->errors, o->errors);
    if (s->errors > s->n)
        s->errors = s->n;
    double w = (double)o->n;
    if (o->n == 0)
        return;
    if (!isnan(o->quality)) {
        s->q_sum += w * o->quality;
        s->q_n += w;
    }
    if (!isnan(o->p95_ms)) {
        s->p95_sum += w * o->p95_ms;
        s->p95_n += w;
    }
    if (!isnan(o->cost_usd)) {
        s->cost_sum += w * o->cost_usd;
        s->cost_n += w;
    }
}

static double mean_of(double sum, double n) {
    return n > 0 ? sum / n : NAN;
}

/* 1 and the reason when a guardrail is breached */
static int breached(const llmopt_canary *c, char *why, size_t sz) {
    const llmopt_canary_side *a = &c->arm, *b = &c->base;
    const llmopt_canary_config *g = &c->cfg;
    if (b->n > 0 && a->n > 0) {
        double ea = (double)a->errors / (double)a->n, eb = (double)b->errors / (double)b->n;
        if (ea - eb > g->max_error_rate_increase) {
            snprintf(why, sz, "guardrail error rate: %.4f vs baseline %.4f (max +%.4f)", ea, eb,
                     g->max_error_rate_increase);
            return 1;
        }
    }
    double pa = mean_of(a->p95_sum, a->p95_n), pb = mean_of(b->p95_sum, b->p95_n);
    if (pb > 0 && pa / pb > g->max_latency_ratio) {
        snprintf(why, sz, "guardrail p95 latency: %.1f ms vs baseline %.1f ms (max x%.2f)", pa,
                 pb, g->max_latency_ratio);
        return 1;
    }
    double qa = mean_of(a->q_sum, a->q_n), qb = mean_of(b->q_sum, b->q_n);
    if (qb - qa > g->max_quality_drop) {
        snprintf(why, sz, "guardrail quality: %.4f vs baseline %.4f (max drop %.4f)", qa, qb,
                 g->max_quality_drop);
        return 1;
    }
    double ca = mean_of(a->cost_sum, a->cost_n), cb = mean_of(b->cost_sum, b->cost_n);
    if (cb > 0 && ca / cb > g->max_cost_ratio) {
        snprintf(why, sz, "guardrail cost: %.6f usd vs baseline %.6f usd (max x%.2f)", ca, cb,
                 g->max_cost_ratio);
        return 1;
    }
    return 0;
}

llmopt_err_t llmopt_canary_observe(llmopt_canary *c, int64_t ts_ms,
                                   const llmopt_canary_obs *arm, const llmopt_canary_obs *base,
                                   int *changed, llmopt_canary_transition *tr) {
    if (changed)
        *changed = 0;
    if (!obs_ok(arm) || !obs_ok(base))
        return LLMOPT_ERR_INVALID;
    if (c->state != LLMOPT_CANARY_RAMPING)
        return LLMOPT_OK;
    accumulate(&c->arm, arm);
    accumulate(&c->base, base);
    char why[LLMOPT_CANARY_REASON_MAX];
    int ch = 0;
    if (c->arm.n >= c->cfg.min_guard_samples && breached(c, why, sizeof(why))) {
        ch = llmopt_canary_set_state(c, LLMOPT_CANARY_ROLLED_BACK, c->step, ts_ms, why, tr);
    } else if (c->arm.n >= c->cfg.min_step_samples && c->arm.n >= c->cfg.min_guard_samples &&
               ts_ms - c->step_start_ms >= c->cfg.min_step_ms) {
        uint64_t n = c->arm.n;
        int64_t dur = ts_ms - c->step_start_ms;
        if (c->step + 1 >= c->cfg.n_steps) {
            snprintf(why, sizeof(why), "promoted after step %u: %llu samples over %lld ms",
                     c->step + 1, (unsigned long long)n, (long long)dur);
            ch = llmopt_canary_set_state(c, LLMOPT_CANARY_PROMOTED, c->step, ts_ms, why, tr);
        } else {
            snprintf(why, sizeof(why), "step %u/%u passed (%llu samples over %lld ms): %.2f -> %.2f",
                     c->step + 1, c->cfg.n_steps, (unsigned long long)n, (long long)dur,
                     c->cfg.steps[c->step], c->cfg.steps[c->step + 1]);
            ch = llmopt_canary_set_state(c, LLMOPT_CANARY_RAMPING, c->step + 1, ts_ms, why, tr);
        }
    }
    if (changed)
        *changed = ch;
    return LLMOPT_OK;
}

int llmopt_canary_signal(llmopt_canary *c, int64_t ts_ms, const char *what,
                         llmopt_canary_transition *tr) {
    if (c->state != LLMOPT_CANARY_RAMPING)
        return 0;
    char why[LLMOPT_CANARY_REASON_MAX];
    snprintf(why, sizeof(why), "signal on the new arm: %s", what ? what : "unspecified");
    return llmopt_canary_set_state(c, LLMOPT_CANARY_ROLLED_BACK, c->step, ts_ms, why, tr);
}

double llmopt_canary_share(const llmopt_canary *c) {
    switch (c->state) {
    case LLMOPT_CANARY_RAMPING:
        return c->cfg.steps[c->step];
    case LLMOPT_CANARY_PROMOTED:
        return 1.0;
    default:
        return 0.0;
    }
}

static void write_side(llmopt_wbuf *w, const llmopt_canary_side *s) {
    llmopt_wbuf_u64(w, s->n);
    llmopt_wbuf_u64(w, s->errors);
    llmopt_wbuf_f64(w, s->q_sum);
    llmopt_wbuf_f64(w, s->q_n);
    llmopt_wbuf_f64(w, s->p95_sum);
    llmopt_wbuf_f64(w, s->p95_n);
    llmopt_wbuf_f64(w, s->cost_sum);
    llmopt_wbuf_f64(w, s->cost_n);
}

static int read_side(llmopt_rbuf *r, llmopt_canary_side *s) {
    s->n = llmopt_rbuf_u64(r);
    s->errors = llmopt_rbuf_u64(r);
    s->q_sum = llmopt_rbuf_f64(r);
    s->q_n = llmopt_rbuf_f64(r);
    s->p95_sum = llmopt_rbuf_f64(r);
    s->p95_n = llmopt_rbuf_f64(r);
    s->cost_sum = llmopt_rbuf_f64(r);
    s->cost_n = llmopt_rbuf_f64(r);
    return s->errors <= s->n && isfinite(s->q_sum) && s->q_n >= 0 && isfinite(s->q_n) &&
           s->p95_sum >= 0 && isfinite(s->p95_sum) && s->p95_n >= 0 && isfinite(s->p95_n) &&
           s->cost_sum >= 0 && isfinite(s->cost_sum) && s->cost_n >= 0 && isfinite(s->cost_n);
}

void llmopt_canary_serialize(const llmopt_canary *c, llmopt_wbuf *w) {
    const llmopt_canary_config *g = &c->cfg;
    llmopt_wbuf_header(w, "CNRY", 2);
    llmopt_wbuf_u32(w, g->n_steps);
    for (uint32_t i = 0; i < g->n_steps; i++)
        llmopt_wbuf_f64(w, g->steps[i]);
    llmopt_wbuf_i64(w, g->min_step_ms);
    llmopt_wbuf_u64(w, g->min_step_samples);
    llmopt_wbuf_u64(w, g->min_guard_samples);
    llmopt_wbuf_f64(w, g->max_error_rate_increase);
    llmopt_wbuf_f64(w, g->max_latency_ratio);
    llmopt_wbuf_f64(w, g->max_quality_drop);
    llmopt_wbuf_f64(w, g->max_cost_ratio);
    llmopt_wbuf_u8(w, (uint8_t)c->state);
    llmopt_wbuf_u32(w, c->step);
    llmopt_wbuf_i64(w, c->step_start_ms);
    write_side(w, &c->arm);
    write_side(w, &c->base);
    llmopt_wbuf_u64(w, c->transitions);
    size_t n = strnlen(c->last.reason, sizeof(c->last.reason) - 1);
    llmopt_wbuf_u8(w, (uint8_t)c->last.from);
    llmopt_wbuf_u8(w, (uint8_t)c->last.to);
    llmopt_wbuf_u32(w, c->last.step_from);
    llmopt_wbuf_u32(w, c->last.step_to);
    llmopt_wbuf_i64(w, c->last.ts_ms);
    llmopt_wbuf_u8(w, (uint8_t)n);
    llmopt_wbuf_bytes(w, c->last.reason, n);
    llmopt_wbuf_i64(w, c->ramp_start_ms); /* v2 */
}

llmopt_err_t llmopt_canary_deserialize(llmopt_canary *c, llmopt_rbuf *r, char *errstr,
                                       size_t errstr_size) {
    llmopt_canary t;
    memset(&t, 0, sizeof(t));
    uint8_t ver = llmopt_rbuf_header(r, "CNRY", 2);
    if (!ver)
        return llmopt_errf(r->err ? (llmopt_err_t)r->err : LLMOPT_ERR_INVALID, errstr,
                           errstr_size, "not a canary state");
    t.cfg.n_steps = llmopt_rbuf_u32(r);
    if (!r->err && (t.cfg.n_steps < 1 || t.cfg.n_steps > LLMOPT_CANARY_MAX_STEPS)) {
        r->err = LLMOPT_ERR_INVALID;
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "bad step count");
    }
    for (uint32_t i = 0; i < t.cfg.n_steps && !r->err; i++)
        t.cfg.steps[i] = llmopt_rbuf_f64(r);
    t.cfg.min_step_ms = llmopt_rbuf_i64(r);
    t.cfg.min_step_samples = llmopt_rbuf_u64(r);
    t.cfg.min_guard_samples = llmopt_rbuf_u64(r);
    t.cfg.max_error_rate_increase = llmopt_rbuf_f64(r);
    t.cfg.max_latency_ratio = llmopt_rbuf_f64(r);
    t.cfg.max_quality_drop = llmopt_rbuf_f64(r);
    t.cfg.max_cost_ratio = llmopt_rbuf_f64(r);
    uint8_t st = llmopt_rbuf_u8(r);
    t.step = llmopt_rbuf_u32(r);
    t.step_start_ms = llmopt_rbuf_i64(r);
    int sides_ok = read_side(r, &t.arm) & read_side(r, &t.base);
    t.transitions = llmopt_rbuf_u64(r);
    uint8_t from = llmopt_rbuf_u8(r), to = llmopt_rbuf_u8(r);
    t.last.step_from = llmopt_rbuf_u32(r);
    t.last.step_to = llmopt_rbuf_u32(r);
    t.last.ts_ms = llmopt_rbuf_i64(r);
    uint8_t n = llmopt_rbuf_u8(r);
    if (n >= sizeof(t.last.reason) && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    else
        llmopt_rbuf_bytes(r, t.last.reason, n);
    /* v1 did not keep the ramp's start: the current step's start is the closest */
    t.ramp_start_ms = ver >= 2 ? llmopt_rbuf_i64(r) : t.step_start_ms;
    if (r->err)
        return llmopt_errf((llmopt_err_t)r->err, errstr, errstr_size, "bad canary state");
    t.last.reason[n] = 0;
    llmopt_err_t e = check_config(&t.cfg, errstr, errstr_size);
    if (!e && (!sides_ok || st >= LLMOPT_CANARY_N_STATES || from >= LLMOPT_CANARY_N_STATES ||
               to >= LLMOPT_CANARY_N_STATES || t.step >= t.cfg.n_steps ||
               t.last.step_from >= t.cfg.n_steps || t.last.step_to >= t.cfg.n_steps ||
               memchr(t.last.reason, 0, n)))
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "inconsistent canary state");
    if (e) {
        r->err = LLMOPT_ERR_INVALID;
        return e;
    }
    t.state = (llmopt_canary_state)st;
    t.last.from = (llmopt_canary_state)from;
    t.last.to = (llmopt_canary_state)to;
    *c = t;
    return LLMOPT_OK;
}
