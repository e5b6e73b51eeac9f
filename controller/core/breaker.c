/* breaker.c - per-arm circuit breaker state machine. */
#include "controller/core/breaker.h"

#include <stdio.h>
#include <string.h>

const char *const llmopt_breaker_state_names[LLMOPT_BREAKER_N_STATES] = {
    "closed", "open", "half_open",
};

void llmopt_breaker_config_default(llmopt_breaker_config *c) {
    memset(c, 0, sizeof(*c));
    c->error_rate_max = 0.2;
    c->min_requests = 20;
    c->cooldown_ms = 30000;
    c->max_cooldown_ms = 1800000;
    c->half_open_weight = 0.02;
    c->probe_requests = 20;
    c->probe_error_rate_max = 0.2;
    c->settle_windows = 5;
}

static llmopt_err_t check_config(const llmopt_breaker_config *c, char *errstr, size_t sz) {
    if (!(c->error_rate_max >= 0 && c->error_rate_max <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'error_rate_max' must be in [0, 1]");
    if (c->min_requests < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'min_requests' must be >= 1");
    if (c->cooldown_ms <= 0)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'cooldown_ms' must be > 0");
    if (c->max_cooldown_ms < c->cooldown_ms)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'max_cooldown_ms' must be >= cooldown_ms");
    if (!(c->half_open_weight > 0 && c->half_open_weight < 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'half_open_weight' must be in (0, 1)");
    if (c->probe_requests < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'probe_requests' must be >= 1");
    if (!(c->probe_error_rate_max >= 0 && c->probe_error_rate_max <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz,
                           "'probe_error_rate_max' must be in [0, 1]");
    if (c->settle_windows > 100000)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, sz, "'settle_windows' must be <= 100000");
    return LLMOPT_OK;
}

llmopt_err_t llmopt_breaker_init(llmopt_breaker *br, const llmopt_breaker_config *c, int64_t ts_ms,
                                 char *errstr, size_t errstr_size) {
    llmopt_err_t e = check_config(c, errstr, errstr_size);
    if (e)
        return e;
    memset(br, 0, sizeof(*br));
    br->cfg = *c;
    br->state = LLMOPT_BREAKER_CLOSED;
    br->since_ms = ts_ms;
    br->cur_cooldown_ms = c->cooldown_ms;
    br->last.from = br->last.to = LLMOPT_BREAKER_CLOSED;
    br->last.ts_ms = ts_ms;
    return LLMOPT_OK;
}

static int64_t add_sat(int64_t a, int64_t b) {
    return a > INT64_MAX - b ? INT64_MAX : a + b;
}

int llmopt_breaker_set_state(llmopt_breaker *br, llmopt_breaker_state to, int64_t ts_ms,
                             const char *reason, llmopt_breaker_transition *tr) {
    if (to == br->state || (unsigned)to >= LLMOPT_BREAKER_N_STATES)
        return 0;
    llmopt_breaker_state from = br->state;
    switch (to) {
    case LLMOPT_BREAKER_OPEN:
        if (from == LLMOPT_BREAKER_HALF_OPEN)
            br->cur_cooldown_ms = br->cur_cooldown_ms > br->cfg.max_cooldown_ms / 2
                                      ? br->cfg.max_cooldown_ms
                                      : 2 * br->cur_cooldown_ms;
        else
            br->cur_cooldown_ms = br->cfg.cooldown_ms;
        br->open_until_ms = add_sat(ts_ms, br->cur_cooldown_ms);
        break;
    case LLMOPT_BREAKER_HALF_OPEN:
        br->probe_n = br->probe_errors = 0;
        break;
    case LLMOPT_BREAKER_CLOSED:
        br->cur_cooldown_ms = br->cfg.cooldown_ms;
        br->settle_left = br->outage ? br->cfg.settle_windows : 0;
        br->outage = br->settle_left > 0;
        break;
    default:
        break;
    }
    br->state = to;
    br->since_ms = ts_ms;
    br->transitions++;
    br->last.from = from;
    br->last.to = to;
    br->last.ts_ms = ts_ms;
    snprintf(br->last.reason, sizeof(br->last.reason), "%s", reason ? reason : "");
    if (tr)
        *tr = br->last;
    return 1;
}

int llmopt_breaker_observe(llmopt_breaker *br, int64_t ts_ms, uint64_t requests, uint64_t errors,
                           llmopt_breaker_transition *tr) {
    char why[LLMOPT_BREAKER_REASON_MAX];
    if (errors > requests)
        errors = requests;
    if (br->state == LLMOPT_BREAKER_CLOSED) {
        if (br->settle_left > 0 && requests > 0 && --br->settle_left == 0)
            br->outage = 0;
        if (requests < br->cfg.min_requests)
            return 0;
        double rate = (double)errors / (double)requests;
        if (rate <= br->cfg.error_rate_max)
            return 0;
        snprintf(why, sizeof(why), "error rate %.4f > %.4f over %llu requests", rate,
                 br->cfg.error_rate_max, (unsigned long long)requests);
        br->outage = 1;
        br->settle_left = 0;
        return llmopt_breaker_set_state(br, LLMOPT_BREAKER_OPEN, ts_ms, why, tr);
    }
    if (br->state != LLMOPT_BREAKER_HALF_OPEN)
        return 0; /* stray traffic while OPEN says nothing about recovery */
    br->probe_n = br->probe_n > UINT64_MAX - requests ? UINT64_MAX : br->probe_n + requests;
    br->probe_errors = br->probe_errors > br->probe_n - errors ? br->probe_n
                                                               : br->probe_errors + errors;
    if (br->probe_n < br->cfg.probe_requests)
        return 0;
    double rate = (double)br->probe_errors / (double)br->probe_n;
    if (rate <= br->cfg.probe_error_rate_max) {
        snprintf(why, sizeof(why), "probe passed: error rate %.4f <= %.4f over %llu requests",
                 rate, br->cfg.probe_error_rate_max, (unsigned long long)br->probe_n);
        return llmopt_breaker_set_state(br, LLMOPT_BREAKER_CLOSED, ts_ms, why, tr);
    }
    snprintf(why, sizeof(why), "probe failed: error rate %.4f > %.4f over %llu requests", rate,
             br->cfg.probe_error_rate_max, (unsigned long long)br->probe_n);
    br->outage = 1;
    return llmopt_breaker_set_state(br, LLMOPT_BREAKER_OPEN, ts_ms, why, tr);
}

int llmopt_breaker_in_outage(const llmopt_breaker *br) { return br->outage != 0; }

int llmopt_breaker_anomaly(llmopt_breaker *br, int64_t ts_ms, const char *what,
                           llmopt_breaker_transition *tr) {
    if (br->outage)
        return 0; /* measured against the outage's own baseline */
    if (br->state == LLMOPT_BREAKER_OPEN) {
        int64_t until = add_sat(ts_ms, br->cur_cooldown_ms);
        if (until > br->open_until_ms)
            br->open_until_ms = until;
        return 0;
    }
    char why[LLMOPT_BREAKER_REASON_MAX];
    snprintf(why, sizeof(why), "anomaly: %s", what ? what : "unspecified");
    return llmopt_breaker_set_state(br, LLMOPT_BREAKER_OPEN, ts_ms, why, tr);
}

int llmopt_breaker_tick(llmopt_breaker *br, int64_t ts_ms, llmopt_breaker_transition *tr) {
    if (br->state != LLMOPT_BREAKER_OPEN || ts_ms < br->open_until_ms)
        return 0;
    char why[LLMOPT_BREAKER_REASON_MAX];
    snprintf(why, sizeof(why), "cooldown of %lld ms elapsed", (long long)br->cur_cooldown_ms);
    return llmopt_breaker_set_state(br, LLMOPT_BREAKER_HALF_OPEN, ts_ms, why, tr);
}

void llmopt_breaker_alloc(const llmopt_breaker *br, llmopt_alloc_arm *a) {
    switch (br->state) {
    case LLMOPT_BREAKER_OPEN:
        a->role = LLMOPT_ALLOC_OFF;
        break;
    case LLMOPT_BREAKER_HALF_OPEN:
        a->role = LLMOPT_ALLOC_FIXED;
        a->fixed = br->cfg.half_open_weight;
        break;
    default:
        a->role = LLMOPT_ALLOC_FLOAT;
        break;
    }
}

static void write_transition(llmopt_wbuf *w, const llmopt_breaker_transition *t) {
    size_t n = strnlen(t->reason, sizeof(t->reason) - 1);
    llmopt_wbuf_u8(w, (uint8_t)t->from);
    llmopt_wbuf_u8(w, (uint8_t)t->to);
    llmopt_wbuf_i64(w, t->ts_ms);
    llmopt_wbuf_u8(w, (uint8_t)n);
    llmopt_wbuf_bytes(w, t->reason, n);
}

void llmopt_breaker_serialize(const llmopt_breaker *br, llmopt_wbuf *w) {
    const llmopt_breaker_config *c = &br->cfg;
    llmopt_wbuf_header(w, "BRKR", 2);
    llmopt_wbuf_f64(w, c->error_rate_max);
    llmopt_wbuf_u64(w, c->min_requests);
    llmopt_wbuf_i64(w, c->cooldown_ms);
    llmopt_wbuf_i64(w, c->max_cooldown_ms);
    llmopt_wbuf_f64(w, c->half_open_weight);
    llmopt_wbuf_u64(w, c->probe_requests);
    llmopt_wbuf_f64(w, c->probe_error_rate_max);
    llmopt_wbuf_u8(w, (uint8_t)br->state);
    llmopt_wbuf_i64(w, br->since_ms);
    llmopt_wbuf_i64(w, br->cur_cooldown_ms);
    llmopt_wbuf_i64(w, br->open_until_ms);
    llmopt_wbuf_u64(w, br->probe_n);
    llmopt_wbuf_u64(w, br->probe_errors);
    llmopt_wbuf_u64(w, br->transitions);
    write_transition(w, &br->last);
    llmopt_wbuf_u32(w, c->settle_windows);
    llmopt_wbuf_u8(w, br->outage);
    llmopt_wbuf_u32(w, br->settle_left);
}

llmopt_err_t llmopt_breaker_deserialize(llmopt_breaker *br, llmopt_rbuf *r, char *errstr,
                                        size_t errstr_size) {
    llmopt_breaker t;
    memset(&t, 0, sizeof(t));
    uint8_t ver = llmopt_rbuf_header(r, "BRKR", 2);
    if (!ver)
        return llmopt_errf(r->err ? (llmopt_err_t)r->err : LLMOPT_ERR_INVALID, errstr,
                           errstr_size, "not a breaker state");
    t.cfg.error_rate_max = llmopt_rbuf_f64(r);
    t.cfg.min_requests = llmopt_rbuf_u64(r);
    t.cfg.cooldown_ms = llmopt_rbuf_i64(r);
    t.cfg.max_cooldown_ms = llmopt_rbuf_i64(r);
    t.cfg.half_open_weight = llmopt_rbuf_f64(r);
    t.cfg.probe_requests = llmopt_rbuf_u64(r);
    t.cfg.probe_error_rate_max = llmopt_rbuf_f64(r);
    uint8_t st = llmopt_rbuf_u8(r);
    t.since_ms = llmopt_rbuf_i64(r);
    t.cur_cooldown_ms = llmopt_rbuf_i64(r);
    t.open_until_ms = llmopt_rbuf_i64(r);
    t.probe_n = llmopt_rbuf_u64(r);
    t.probe_errors = llmopt_rbuf_u64(r);
    t.transitions = llmopt_rbuf_u64(r);
    uint8_t from = llmopt_rbuf_u8(r), to = llmopt_rbuf_u8(r);
    t.last.ts_ms = llmopt_rbuf_i64(r);
    uint8_t n = llmopt_rbuf_u8(r);
    if (n >= sizeof(t.last.reason) && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    else
        llmopt_rbuf_bytes(r, t.last.reason, n);
    if (ver >= 2) {
        t.cfg.settle_windows = llmopt_rbuf_u32(r);
        t.outage = llmopt_rbuf_u8(r);
        t.settle_left = llmopt_rbuf_u32(r);
    } else {
        /* v1, written before outages were tracked: none, default settle */
        t.cfg.settle_windows = 5;
    }
    if (r->err)
        return llmopt_errf((llmopt_err_t)r->err, errstr, errstr_size, "bad breaker state");
    t.last.reason[n] = 0;
    llmopt_err_t e = check_config(&t.cfg, errstr, errstr_size);
    if (!e && (st >= LLMOPT_BREAKER_N_STATES || from >= LLMOPT_BREAKER_N_STATES ||
               to >= LLMOPT_BREAKER_N_STATES || memchr(t.last.reason, 0, n) ||
               t.cur_cooldown_ms < t.cfg.cooldown_ms ||
               t.cur_cooldown_ms > t.cfg.max_cooldown_ms || t.probe_errors > t.probe_n ||
               t.outage > 1 || t.settle_left > t.cfg.settle_windows ||
               (t.settle_left > 0 && (!t.outage || st != LLMOPT_BREAKER_CLOSED))))
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "inconsistent breaker state");
    if (e) {
        r->err = LLMOPT_ERR_INVALID;
        return e;
    }
    t.state = (llmopt_breaker_state)st;
    t.last.from = (llmopt_breaker_state)from;
    t.last.to = (llmopt_breaker_state)to;
    *br = t;
    return LLMOPT_OK;
}
