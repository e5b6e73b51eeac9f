/*
 * strategy.c - rate limits, cache policy and batching of one route (see
 * strategy.h).
 */
#include "controller/strategy.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char *const llmopt_strategy_prio_names[LLMOPT_PRIO_N] = {"critical", "high", "medium",
                                                               "low"};

void llmopt_strategy_config_default(llmopt_strategy_config *c) {
    memset(c, 0, sizeof(*c));
    c->prio_weight[LLMOPT_PRIO_CRITICAL] = 1;
    c->prio_weight[LLMOPT_PRIO_HIGH] = 0.8;
    c->prio_weight[LLMOPT_PRIO_MEDIUM] = 0.6;
    c->prio_weight[LLMOPT_PRIO_LOW] = 0.4;
    c->on_limit = LLMOPT_ON_LIMIT_DENY;
    c->retry_after_ms = 1000;
    c->queue_timeout_ms = 2000;
    llmopt_rate_adapt_config_default(&c->rate);
    llmopt_cache_adapt_config_default(&c->cache);
    c->cache_max_entries = 10000;
    c->cache_period_ms = 60000;
    llmopt_batch_adapt_config_default(&c->batch);
    c->batch_max_wait_ms = 20;
    c->batch_period_ms = 60000;
}

void llmopt_strategy_config_release(llmopt_strategy_config *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->n_cache_exclude; i++)
        free(c->cache_exclude[i]);
    c->n_cache_exclude = 0;
}

/* A restored period index is usable only while the period's end,
 * (idx + 1) * period_ms, fits in an int64 (a fuzzed checkpoint overflowed
 * it in period_ends). */
static bool period_idx_ok(int64_t idx, int64_t period_ms) {
    return idx >= -1 && (period_ms <= 0 || idx < INT64_MAX / period_ms - 1);
}

static void period_reset(llmopt_strategy_period *p, int64_t idx) {
    memset(p, 0, sizeof(*p));
    p->idx = idx;
}

llmopt_err_t llmopt_strategy_init(llmopt_strategy *s, const llmopt_strategy_config *c,
                                  const char *const *providers, size_t k, char *errstr,
                                  size_t errstr_size) {
    memset(s, 0, sizeof(*s));
    if (k > LLMOPT_STRATEGY_MAX_ARMS)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "'%zu' arms (max %d)", k,
                           LLMOPT_STRATEGY_MAX_ARMS);
    s->c = c;
    s->k = k;
    for (size_t i = 0; i < k; i++) {
        const char *pv = providers[i] ? providers[i] : "";
        size_t j = 0;
        while (j < s->n_prov && strcmp(s->prov_name[j], pv))
            j++;
        if (j == s->n_prov)
            s->prov_name[s->n_prov++] = pv;
        s->arm_prov[i] = (uint8_t)j;
    }
    char e[200];
    if (c->has_rate_limits && c->rate_adaptive) {
        for (size_t j = 0; j < s->n_prov; j++)
            if (llmopt_rate_adapt_init(&s->rate[j], &c->rate, e, sizeof(e)))
                return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "rate_limits: %s", e);
    }
    if (c->has_cache && llmopt_cache_adapt_init(&s->cache, &c->cache, e, sizeof(e)))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "cache: %s", e);
    if (c->has_batching && llmopt_batch_adapt_init(&s->batch, &c->batch, e, sizeof(e)))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "batching: %s", e);
    period_reset(&s->rate_p, -1);
    period_reset(&s->cache_p, -1);
    period_reset(&s->batch_p, -1);
    return LLMOPT_OK;
}

static void add_reason(char *buf, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void add_reason(char *buf, size_t size, const char *fmt, ...) {
    if (!buf || !size)
        return;
    size_t at = strlen(buf);
    if (at && at + 2 < size) {
        memcpy(buf + at, "; ", 3);
        at += 2;
    }
    if (at + 1 >= size)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + at, size - at, fmt, ap);
    va_end(ap);
}

static int judge_rate(llmopt_strategy *s, char *reasons, size_t size) {
    int changes = 0;
    for (size_t j = 0; j < s->n_prov; j++) {
        char why[LLMOPT_ADAPT_REASON_MAX];
        if (llmopt_rate_adapt_judge(&s->rate[j], s->rate_p.n[j], s->rate_p.bad[j], why,
                                    sizeof(why))) {
            add_reason(reasons, size, "rate limit of provider '%s': %s", s->prov_name[j], why);
            changes++;
        }
    }
    return changes;
}

static int judge_cache(llmopt_strategy *s, char *reasons, size_t size) {
    const llmopt_strategy_period *p = &s->cache_p;
    llmopt_cache_period cp = {.requests = p->requests,
                              .hits = p->hits,
                              .hit_q_n = p->hit_q_n,
                              .miss_q_n = p->miss_q_n,
                              .hit_q_mean = p->hit_q_n ? p->hit_q_sum / (double)p->hit_q_n : NAN,
                              .miss_q_mean =
                                  p->miss_q_n ? p->miss_q_sum / (double)p->miss_q_n : NAN};
    char why[320];
    if (!llmopt_cache_adapt_judge(&s->cache, &cp, why, sizeof(why)))
        return 0;
    add_reason(reasons, size, "cache: %s", why);
    return 1;
}

static int judge_batch(llmopt_strategy *s, char *reasons, size_t size) {
    const llmopt_strategy_period *p = &s->batch_p;
    double p95 = p->lat_n ? p->p95_weighted / (double)p->lat_n : NAN;
    char why[LLMOPT_ADAPT_REASON_MAX];
    if (!llmopt_batch_adapt_judge(&s->batch, p->lat_n, p95, why, sizeof(why)))
        return 0;
    add_reason(reasons, size, "batching: %s", why);
    return 1;
}

/* True when the open period must be judged before the window of end
 * `end_ms` is added: the window lies in a later period (a boundary was
 * passed without a window ending on it). The window then opens the new
 * period. Late windows count in the open period. */
static bool period_roll(llmopt_strategy_period *p, int64_t period_ms, int64_t end_ms) {
    int64_t idx = (end_ms - 1) / period_ms;
    if (p->idx < 0) {
        period_reset(p, idx);
        return false;
    }
    return idx > p->idx;
}

/* True when the window just added ends on the open period's end: the
 * period is judged at once, not a window later (a window of another arm
 * with the same end then counts in the next period). */
static bool period_ends(const llmopt_strategy_period *p, int64_t period_ms, int64_t end_ms) {
    return period_idx_ok(p->idx, period_ms) && end_ms == (p->idx + 1) * period_ms;
}

int llmopt_strategy_window(llmopt_strategy *s, size_t arm, const llmopt_window_metrics *m,
                           char *reasons, size_t reasons_size) {
    const llmopt_strategy_config *c = s->c;
    if (arm >= s->k || m->window_kind != LLMOPT_WINDOW_TUMBLING || m->window_end_ms <= 0)
        return 0;
    int64_t size = m->window_end_ms - m->window_start_ms;
    if (s->tumbling_ms == 0)
        s->tumbling_ms = size;
    if (size != s->tumbling_ms)
        return 0;
    int changes = 0;
    uint64_t count = m->count > 0 ? (uint64_t)m->count : 0;
    if (c->has_rate_limits && c->rate_adaptive) {
        llmopt_strategy_period *p = &s->rate_p;
        if (period_roll(p, c->rate.period_ms, m->window_end_ms)) {
            changes += judge_rate(s, reasons, reasons_size);
            period_reset(p, (m->window_end_ms - 1) / c->rate.period_ms);
        }
        int64_t bad = m->rate_limited_count + m->error_count + m->timeout_count;
        p->n[s->arm_prov[arm]] += count;
        p->bad[s->arm_prov[arm]] += bad > 0 ? (uint64_t)bad : 0;
        if (period_ends(p, c->rate.period_ms, m->window_end_ms)) {
            changes += judge_rate(s, reasons, reasons_size);
            period_reset(p, p->idx + 1);
        }
    }
    if (c->has_cache && c->cache_adaptive) {
        llmopt_strategy_period *p = &s->cache_p;
        if (period_roll(p, c->cache_period_ms, m->window_end_ms)) {
            changes += judge_cache(s, reasons, reasons_size);
            period_reset(p, (m->window_end_ms - 1) / c->cache_period_ms);
        }
        p->requests += count;
        uint64_t hits = m->cache_hits > 0 ? (uint64_t)m->cache_hits : 0;
        p->hits += hits;
        /* the window has one quality count: hits are taken to carry a
         * quality each (as the gateway reports them), misses the rest */
        uint64_t qn = m->quality_count > 0 ? (uint64_t)m->quality_count : 0;
        uint64_t hq = hits < qn ? hits : qn;
        if (m->has_cache_hit_quality_mean && isfinite(m->cache_hit_quality_mean) && hq) {
            p->hit_q_n += hq;
            p->hit_q_sum += (double)hq * m->cache_hit_quality_mean;
        }
        if (m->has_cache_miss_quality_mean && isfinite(m->cache_miss_quality_mean) && qn > hq) {
            p->miss_q_n += qn - hq;
            p->miss_q_sum += (double)(qn - hq) * m->cache_miss_quality_mean;
        }
        if (period_ends(p, c->cache_period_ms, m->window_end_ms)) {
            changes += judge_cache(s, reasons, reasons_size);
            period_reset(p, p->idx + 1);
        }
    }
    if (c->has_batching && c->batch_adaptive && c->batching_enabled) {
        llmopt_strategy_period *p = &s->batch_p;
        if (period_roll(p, c->batch_period_ms, m->window_end_ms)) {
            changes += judge_batch(s, reasons, reasons_size);
            period_reset(p, (m->window_end_ms - 1) / c->batch_period_ms);
        }
        /* a window served in batches larger than the current max predates
         * the last shrink (batch_adapt.h, "Dead time") */
        if (m->has_latency_p95_ms && isfinite(m->latency_p95_ms) && count &&
            llmopt_batch_adapt_window_current(
                &s->batch, m->has_batch_size_mean ? m->batch_size_mean : NAN)) {
            p->lat_n += count;
            p->p95_weighted += (double)count * m->latency_p95_ms;
        }
        if (period_ends(p, c->batch_period_ms, m->window_end_ms)) {
            changes += judge_batch(s, reasons, reasons_size);
            period_reset(p, p->idx + 1);
        }
    }
    return changes;
}

double llmopt_strategy_provider_rps(const llmopt_strategy *s, size_t p) {
    if (!s->c->has_rate_limits || !s->c->rate_adaptive || p >= s->n_prov)
        return NAN;
    return s->rate[p].limit_rps;
}

void llmopt_strategy_fill(llmopt_strategy *s, const double *w, llmopt_routing_decision *rec) {
    const llmopt_strategy_config *c = s->c;
    rec->has_rate_limits = c->has_rate_limits;
    if (c->has_rate_limits) {
        llmopt_rate_limits *rl = &rec->rate_limits;
        memset(rl, 0, sizeof(*rl));
        rl->has_global = c->has_global;
        rl->global = c->global;
        if (c->has_global && c->rate_adaptive) {
            double share[LLMOPT_STRATEGY_MAX_ARMS] = {0};
            for (size_t i = 0; i < s->k; i++)
                share[s->arm_prov[i]] += w[i] > 0 ? w[i] : 0;
            double rps = INFINITY;
            for (size_t j = 0; j < s->n_prov; j++)
                if (share[j] > 1e-9)
                    rps = fmin(rps, s->rate[j].limit_rps / fmin(1, share[j]));
            if (!isfinite(rps))
                rps = c->global.requests_per_s;
            double scale = rps / c->global.requests_per_s;
            rl->global.requests_per_s = rps;
            rl->global.requests_burst = fmax(1, c->global.requests_burst * scale);
            s->published_rps = rps;
        }
        rl->has_per_tenant = c->has_per_tenant;
        rl->per_tenant = c->per_tenant;
        rl->has_per_user = c->has_per_user;
        rl->per_user = c->per_user;
        for (size_t q = 0; q < LLMOPT_PRIO_N; q++)
            s->rec_prio[q] = (llmopt_kv_double){llmopt_str_of(llmopt_strategy_prio_names[q]),
                                                c->prio_weight[q]};
        rl->priority_weights.items = s->rec_prio;
        rl->priority_weights.count = LLMOPT_PRIO_N;
        rl->on_limit = c->on_limit;
        rl->retry_after_ms = c->retry_after_ms;
        rl->queue_timeout_ms = c->queue_timeout_ms;
    }
    rec->has_cache_policy = c->has_cache;
    if (c->has_cache) {
        llmopt_cache_policy *cp = &rec->cache_policy;
        cp->enabled = s->cache.enabled;
        cp->ttl_ms = s->cache.ttl_ms;
        cp->max_entries = c->cache_max_entries;
        for (size_t i = 0; i < c->n_cache_exclude; i++)
            s->rec_excl[i] = llmopt_str_of(c->cache_exclude[i]);
        cp->exclude_patterns.items = c->n_cache_exclude ? s->rec_excl : NULL;
        cp->exclude_patterns.count = c->n_cache_exclude;
    }
    rec->has_batching = c->has_batching;
    if (c->has_batching) {
        llmopt_batching *b = &rec->batching;
        b->enabled = c->batching_enabled;
        b->max_batch = s->batch.max_batch;
        b->max_wait_ms = c->batch_max_wait_ms;
        b->token_budget = c->batch_token_budget;
    }
}

/* ---- checkpoint -------------------------------------------------------- */

enum { SEC_RATE = 1, SEC_CACHE = 2, SEC_BATCH = 4 };

/* Only adaptive strategies have state: a static TTL or batch size is the
 * policy's, and a changed policy value must win after a restart. */
static uint8_t sections(const llmopt_strategy_config *c) {
    return (uint8_t)((c->has_rate_limits && c->rate_adaptive ? SEC_RATE : 0) |
                     (c->has_cache && c->cache_adaptive ? SEC_CACHE : 0) |
                     (c->has_batching && c->batch_adaptive ? SEC_BATCH : 0));
}

void llmopt_strategy_serialize(const llmopt_strategy *s, llmopt_wbuf *w) {
    const llmopt_strategy_config *c = s->c;
    uint8_t sec = sections(c);
    llmopt_wbuf_header(w, "CSTG", 1);
    llmopt_wbuf_u8(w, sec);
    llmopt_wbuf_i64(w, s->tumbling_ms);
    llmopt_wbuf_f64(w, s->published_rps);
    if (sec & SEC_RATE) {
        llmopt_wbuf_i64(w, c->rate.period_ms);
        llmopt_wbuf_u32(w, (uint32_t)s->n_prov);
        for (size_t j = 0; j < s->n_prov; j++) {
            size_t n = strlen(s->prov_name[j]);
            llmopt_wbuf_u32(w, (uint32_t)n);
            llmopt_wbuf_bytes(w, s->prov_name[j], n);
            llmopt_wbuf_f64(w, s->rate[j].limit_rps);
            llmopt_wbuf_u64(w, s->rate[j].judged);
            llmopt_wbuf_u64(w, s->rate[j].shrinks);
            llmopt_wbuf_u64(w, s->rate[j].grows);
            llmopt_wbuf_u64(w, s->rate_p.n[j]);
            llmopt_wbuf_u64(w, s->rate_p.bad[j]);
        }
        llmopt_wbuf_i64(w, s->rate_p.idx);
    }
    if (sec & SEC_CACHE) {
        llmopt_wbuf_u8(w, s->cache.enabled);
        llmopt_wbuf_i64(w, s->cache.ttl_ms);
        llmopt_wbuf_u32(w, s->cache.off_periods);
        llmopt_wbuf_u64(w, s->cache.judged);
        llmopt_wbuf_i64(w, c->cache_period_ms);
        const llmopt_strategy_period *p = &s->cache_p;
        llmopt_wbuf_i64(w, p->idx);
        llmopt_wbuf_u64(w, p->requests);
        llmopt_wbuf_u64(w, p->hits);
        llmopt_wbuf_u64(w, p->hit_q_n);
        llmopt_wbuf_u64(w, p->miss_q_n);
        llmopt_wbuf_f64(w, p->hit_q_sum);
        llmopt_wbuf_f64(w, p->miss_q_sum);
    }
    if (sec & SEC_BATCH) {
        llmopt_wbuf_u32(w, (uint32_t)s->batch.max_batch);
        llmopt_wbuf_u64(w, s->batch.judged);
        llmopt_wbuf_i64(w, c->batch_period_ms);
        llmopt_wbuf_i64(w, s->batch_p.idx);
        llmopt_wbuf_u64(w, s->batch_p.lat_n);
        llmopt_wbuf_f64(w, s->batch_p.p95_weighted);
    }
}

static bool finite_nonneg(double v) {
    return isfinite(v) && v >= 0;
}

llmopt_err_t llmopt_strategy_deserialize(llmopt_strategy *s, llmopt_rbuf *rb, char *note,
                                         size_t note_size, char *errstr, size_t errstr_size) {
    const llmopt_strategy_config *c = s->c;
    if (note && note_size)
        note[0] = '\0';
    if (llmopt_rbuf_header(rb, "CSTG", 1) != 1)
        return llmopt_errf(rb->err == LLMOPT_ERR_TRUNCATED ? LLMOPT_ERR_TRUNCATED
                                                           : LLMOPT_ERR_INVALID,
                           errstr, errstr_size, "not a strategy state record");
    uint8_t sec = llmopt_rbuf_u8(rb);
    if (rb->err || (sec & ~(SEC_RATE | SEC_CACHE | SEC_BATCH)))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "strategy state: bad section flags");
    /* everything goes to a scratch copy first: a bad record leaves s as it was */
    llmopt_strategy t = *s;
    uint8_t have = sections(c);
    int64_t tumbling = llmopt_rbuf_i64(rb);
    double pub = llmopt_rbuf_f64(rb);
    if (!rb->err && (tumbling < 0 || !finite_nonneg(pub)))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "strategy state: window size %lld or published rps %g out of range",
                           (long long)tumbling, pub);
    t.tumbling_ms = tumbling;
    t.published_rps = pub;
    if (sec & SEC_RATE) {
        int64_t period = llmopt_rbuf_i64(rb);
        uint32_t np = llmopt_rbuf_u32(rb);
        if (!rb->err && (period <= 0 || np == 0 || np > LLMOPT_STRATEGY_MAX_ARMS))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "strategy state: rate period %lld or %u providers out of range",
                               (long long)period, np);
        bool use = (have & SEC_RATE) && np == s->n_prov;
        for (uint32_t j = 0; j < np && !rb->err; j++) {
            char name[256];
            uint32_t n = llmopt_rbuf_u32(rb);
            if (rb->err || n >= sizeof(name) || !llmopt_rbuf_bytes(rb, name, n))
                return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size,
                                   "strategy state: bad provider name");
            name[n] = '\0';
            double limit = llmopt_rbuf_f64(rb);
            uint64_t judged = llmopt_rbuf_u64(rb), shrinks = llmopt_rbuf_u64(rb),
                     grows = llmopt_rbuf_u64(rb), pn = llmopt_rbuf_u64(rb),
                     pbad = llmopt_rbuf_u64(rb);
            if (rb->err)
                break;
            if (!(isfinite(limit) && limit > 0) || shrinks > judged || grows > judged - shrinks)
                return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                                   "strategy state: provider '%s' limit %g or counters out of "
                                   "range", name, limit);
            if (use && strcmp(name, s->prov_name[j]))
                use = false;
            if (use) {
                llmopt_rate_adapt *a = &t.rate[j];
                a->limit_rps = fmin(a->c.max_rps, fmax(a->c.min_rps, limit));
                a->judged = judged;
                a->shrinks = shrinks;
                a->grows = grows;
                t.rate_p.n[j] = pn;
                t.rate_p.bad[j] = pbad;
            }
        }
        int64_t idx = llmopt_rbuf_i64(rb);
        if (!rb->err && !period_idx_ok(idx, period))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "strategy state: rate period index %lld", (long long)idx);
        if (!use) {
            memcpy(t.rate, s->rate, sizeof(t.rate));
            t.rate_p = s->rate_p;
            add_reason(note, note_size, "%s",
                       (have & SEC_RATE) ? "rate limits: providers changed, starting from the "
                                           "policy"
                                         : "rate limits: no longer adaptive, saved state dropped");
        } else if (period != c->rate.period_ms) {
            period_reset(&t.rate_p, -1);
            add_reason(note, note_size, "rate limits: period changed, open period dropped");
        } else {
            t.rate_p.idx = idx;
        }
    } else if (have & SEC_RATE) {
        add_reason(note, note_size, "rate limits: not in the checkpoint, starting from the "
                                    "policy");
    }
    if (sec & SEC_CACHE) {
        uint8_t en = llmopt_rbuf_u8(rb);
        int64_t ttl = llmopt_rbuf_i64(rb);
        uint32_t off = llmopt_rbuf_u32(rb);
        uint64_t judged = llmopt_rbuf_u64(rb);
        int64_t period = llmopt_rbuf_i64(rb);
        llmopt_strategy_period p;
        period_reset(&p, llmopt_rbuf_i64(rb));
        p.requests = llmopt_rbuf_u64(rb);
        p.hits = llmopt_rbuf_u64(rb);
        p.hit_q_n = llmopt_rbuf_u64(rb);
        p.miss_q_n = llmopt_rbuf_u64(rb);
        p.hit_q_sum = llmopt_rbuf_f64(rb);
        p.miss_q_sum = llmopt_rbuf_f64(rb);
        if (!rb->err && (en > 1 || ttl <= 0 || period <= 0 || !period_idx_ok(p.idx, period) ||
                         !isfinite(p.hit_q_sum) || !isfinite(p.miss_q_sum)))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "strategy state: cache TTL %lld, period %lld or totals out of "
                               "range", (long long)ttl, (long long)period);
        if (have & SEC_CACHE) {
            t.cache.enabled = en;
            t.cache.ttl_ms = ttl < c->cache.min_ttl_ms   ? c->cache.min_ttl_ms
                             : ttl > c->cache.max_ttl_ms ? c->cache.max_ttl_ms
                                                         : ttl;
            t.cache.off_periods = off;
            t.cache.judged = judged;
            if (period == c->cache_period_ms) {
                t.cache_p = p;
            } else {
                period_reset(&t.cache_p, -1);
                add_reason(note, note_size, "cache: period changed, open period dropped");
            }
        } else {
            add_reason(note, note_size, "cache: not adaptive in the policy, saved state dropped");
        }
    } else if (have & SEC_CACHE) {
        add_reason(note, note_size, "cache: not in the checkpoint, starting from the policy");
    }
    if (sec & SEC_BATCH) {
        uint32_t mb = llmopt_rbuf_u32(rb);
        uint64_t judged = llmopt_rbuf_u64(rb);
        int64_t period = llmopt_rbuf_i64(rb);
        llmopt_strategy_period p;
        period_reset(&p, llmopt_rbuf_i64(rb));
        p.lat_n = llmopt_rbuf_u64(rb);
        p.p95_weighted = llmopt_rbuf_f64(rb);
        if (!rb->err && (mb < 1 || mb > INT32_MAX || period <= 0 || !period_idx_ok(p.idx, period) ||
                         !finite_nonneg(p.p95_weighted)))
            return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                               "strategy state: batch size %u, period %lld or totals out of "
                               "range", mb, (long long)period);
        if (have & SEC_BATCH) {
            int32_t b = (int32_t)mb;
            t.batch.max_batch = b < c->batch.min_batch   ? c->batch.min_batch
                                : b > c->batch.max_bound ? c->batch.max_bound
                                                         : b;
            t.batch.judged = judged;
            if (period == c->batch_period_ms) {
                t.batch_p = p;
            } else {
                period_reset(&t.batch_p, -1);
                add_reason(note, note_size, "batching: period changed, open period dropped");
            }
        } else {
            add_reason(note, note_size, "batching: not adaptive in the policy, saved state dropped");
        }
    } else if (have & SEC_BATCH) {
        add_reason(note, note_size, "batching: not in the checkpoint, starting from the policy");
    }
    if (rb->err) {
        if (note && note_size)
            note[0] = '\0';
        return llmopt_errf(LLMOPT_ERR_TRUNCATED, errstr, errstr_size,
                           "truncated strategy state");
    }
    *s = t;
    return LLMOPT_OK;
}
