/*
 * winagg.c - per-window metrics accumulator (see winagg.h).
 */
#include "processor/core/winagg.h"

#include <math.h>
#include <string.h>

void llmopt_welford_add(llmopt_welford *w, double x) {
    w->n++;
    double d = x - w->mean;
    w->mean += d / (double)w->n;
    w->m2 += d * (x - w->mean);
}

void llmopt_welford_merge(llmopt_welford *dst, const llmopt_welford *src) {
    if (src->n == 0)
        return;
    if (dst->n == 0) {
        *dst = *src;
        return;
    }
    double n = (double)(dst->n + src->n);
    double d = src->mean - dst->mean;
    dst->m2 += src->m2 + d * d * (double)dst->n * (double)src->n / n;
    dst->mean += d * (double)src->n / n;
    dst->n += src->n;
}

double llmopt_welford_variance(const llmopt_welford *w) {
    return w->n < 2 ? 0.0 : w->m2 / (double)(w->n - 1);
}

llmopt_err_t llmopt_winagg_init(llmopt_winagg *a, uint32_t compression) {
    memset(a, 0, sizeof(*a));
    a->latency = llmopt_tdigest_new(compression);
    a->ttft = llmopt_tdigest_new(compression);
    if (!a->latency || !a->ttft) {
        llmopt_winagg_release(a);
        return LLMOPT_ERR_NOMEM;
    }
    return LLMOPT_OK;
}

void llmopt_winagg_release(llmopt_winagg *a) {
    llmopt_tdigest_destroy(a->latency);
    llmopt_tdigest_destroy(a->ttft);
    memset(a, 0, sizeof(*a));
}

static int ok_num(double v) {
    return isfinite(v) && v >= 0;
}

llmopt_err_t llmopt_winagg_add(llmopt_winagg *a, const llmopt_winagg_event *e) {
    if (e->status < 0 || e->status >= LLMOPT_WINAGG_NSTATUS || !ok_num(e->latency_ms) ||
        (e->has_ttft && !ok_num(e->ttft_ms)) || e->input_tokens < 0 || e->output_tokens < 0 ||
        !ok_num(e->cost_usd) || (e->has_quality && !(e->quality >= 0 && e->quality <= 1)) ||
        !isfinite(e->reward) || (e->has_batch_size && e->batch_size < 1))
        return LLMOPT_ERR_INVALID;
    llmopt_err_t err = llmopt_tdigest_add(a->latency, e->latency_ms);
    if (err)
        return err;
    if (e->has_ttft && (err = llmopt_tdigest_add(a->ttft, e->ttft_ms)) != LLMOPT_OK)
        return err; /* latency already holds the value: digests may differ by one on NOMEM */
    a->count++;
    a->status[e->status]++;
    a->input_tokens += e->input_tokens;
    a->output_tokens += e->output_tokens;
    a->cost_usd += e->cost_usd;
    llmopt_welford_add(&a->reward, e->reward);
    if (e->has_quality) {
        llmopt_welford_add(&a->quality, e->quality);
        llmopt_welford_add(e->cache_hit ? &a->hit_quality : &a->miss_quality, e->quality);
    }
    if (e->cache_hit)
        a->cache_hits++;
    if (e->has_batch_size) {
        a->batch_count++;
        a->batch_sum += e->batch_size;
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_winagg_merge(llmopt_winagg *dst, const llmopt_winagg *src) {
    llmopt_err_t err = llmopt_tdigest_merge(dst->latency, src->latency);
    if (!err)
        err = llmopt_tdigest_merge(dst->ttft, src->ttft);
    if (err)
        return err;
    dst->count += src->count;
    for (int i = 0; i < LLMOPT_WINAGG_NSTATUS; i++)
        dst->status[i] += src->status[i];
    dst->input_tokens += src->input_tokens;
    dst->output_tokens += src->output_tokens;
    dst->cost_usd += src->cost_usd;
    llmopt_welford_merge(&dst->quality, &src->quality);
    llmopt_welford_merge(&dst->reward, &src->reward);
    llmopt_welford_merge(&dst->hit_quality, &src->hit_quality);
    llmopt_welford_merge(&dst->miss_quality, &src->miss_quality);
    dst->cache_hits += src->cache_hits;
    dst->batch_count += src->batch_count;
    dst->batch_sum += src->batch_sum;
    dst->late_count += src->late_count;
    return LLMOPT_OK;
}

void llmopt_winagg_seal(llmopt_winagg *a) {
    if (a->latency)
        llmopt_tdigest_sort_input(a->latency);
    if (a->ttft)
        llmopt_tdigest_sort_input(a->ttft);
}

void llmopt_winagg_summarize(llmopt_winagg *a, llmopt_winagg_summary *s) {
    memset(s, 0, sizeof(*s));
    if (a->count > 0) {
        s->error_rate = (double)(a->status[LLMOPT_WINAGG_ERROR] + a->status[LLMOPT_WINAGG_TIMEOUT]) /
                        (double)a->count;
        s->cost_per_request = a->cost_usd / (double)a->count;
    }
    if (llmopt_tdigest_count(a->latency) > 0) {
        s->has_latency = true;
        s->latency_p50 = llmopt_tdigest_quantile(a->latency, 0.50);
        s->latency_p90 = llmopt_tdigest_quantile(a->latency, 0.90);
        s->latency_p95 = llmopt_tdigest_quantile(a->latency, 0.95);
        s->latency_p99 = llmopt_tdigest_quantile(a->latency, 0.99);
    }
    if (llmopt_tdigest_count(a->ttft) > 0) {
        s->has_ttft = true;
        s->ttft_p50 = llmopt_tdigest_quantile(a->ttft, 0.50);
        s->ttft_p90 = llmopt_tdigest_quantile(a->ttft, 0.90);
        s->ttft_p95 = llmopt_tdigest_quantile(a->ttft, 0.95);
        s->ttft_p99 = llmopt_tdigest_quantile(a->ttft, 0.99);
    }
    if (a->quality.n > 0) {
        s->has_quality_mean = true;
        s->quality_mean = a->quality.mean;
    }
    if (a->quality.n > 1) {
        s->has_quality_var = true;
        s->quality_var = llmopt_welford_variance(&a->quality);
    }
    if (a->reward.n > 0) {
        s->has_reward_mean = true;
        s->reward_mean = a->reward.mean;
    }
    if (a->reward.n > 1) {
        s->has_reward_var = true;
        s->reward_var = llmopt_welford_variance(&a->reward);
    }
    if (a->hit_quality.n > 0) {
        s->has_hit_quality = true;
        s->hit_quality_mean = a->hit_quality.mean;
    }
    if (a->miss_quality.n > 0) {
        s->has_miss_quality = true;
        s->miss_quality_mean = a->miss_quality.mean;
    }
    if (a->batch_count > 0) {
        s->has_batch_mean = true;
        s->batch_mean = a->batch_sum / (double)a->batch_count;
    }
}

static void welford_write(llmopt_wbuf *w, const llmopt_welford *x) {
    llmopt_wbuf_i64(w, x->n);
    llmopt_wbuf_f64(w, x->mean);
    llmopt_wbuf_f64(w, x->m2);
}

static void welford_read(llmopt_rbuf *r, llmopt_welford *x) {
    x->n = llmopt_rbuf_i64(r);
    x->mean = llmopt_rbuf_f64(r);
    x->m2 = llmopt_rbuf_f64(r);
    if (!r->err && (x->n < 0 || !isfinite(x->mean) || !isfinite(x->m2) || x->m2 < 0))
        r->err = LLMOPT_ERR_INVALID;
}

void llmopt_winagg_serialize(const llmopt_winagg *a, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "WAGG", 1);
    llmopt_wbuf_i64(w, a->count);
    for (int i = 0; i < LLMOPT_WINAGG_NSTATUS; i++)
        llmopt_wbuf_i64(w, a->status[i]);
    llmopt_tdigest_serialize(a->latency, w);
    llmopt_tdigest_serialize(a->ttft, w);
    llmopt_wbuf_i64(w, a->input_tokens);
    llmopt_wbuf_i64(w, a->output_tokens);
    llmopt_wbuf_f64(w, a->cost_usd);
    welford_write(w, &a->quality);
    welford_write(w, &a->reward);
    llmopt_wbuf_i64(w, a->cache_hits);
    welford_write(w, &a->hit_quality);
    welford_write(w, &a->miss_quality);
    llmopt_wbuf_i64(w, a->batch_count);
    llmopt_wbuf_f64(w, a->batch_sum);
    llmopt_wbuf_i64(w, a->late_count);
}

llmopt_err_t llmopt_winagg_deserialize(llmopt_winagg *a, llmopt_rbuf *r) {
    llmopt_winagg t;
    memset(&t, 0, sizeof(t));
    llmopt_rbuf_header(r, "WAGG", 1);
    t.count = llmopt_rbuf_i64(r);
    int64_t sum = 0;
    for (int i = 0; i < LLMOPT_WINAGG_NSTATUS; i++) {
        t.status[i] = llmopt_rbuf_i64(r);
        if (t.status[i] < 0 || t.status[i] > INT64_MAX - sum) {
            if (!r->err)
                r->err = LLMOPT_ERR_INVALID;
            break;
        }
        sum += t.status[i];
    }
    if (!r->err && sum != t.count)
        r->err = LLMOPT_ERR_INVALID;
    if (!r->err && llmopt_tdigest_deserialize(r, &t.latency, NULL, 0) != LLMOPT_OK && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    if (!r->err && llmopt_tdigest_deserialize(r, &t.ttft, NULL, 0) != LLMOPT_OK && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    t.input_tokens = llmopt_rbuf_i64(r);
    t.output_tokens = llmopt_rbuf_i64(r);
    t.cost_usd = llmopt_rbuf_f64(r);
    welford_read(r, &t.quality);
    welford_read(r, &t.reward);
    t.cache_hits = llmopt_rbuf_i64(r);
    welford_read(r, &t.hit_quality);
    welford_read(r, &t.miss_quality);
    t.batch_count = llmopt_rbuf_i64(r);
    t.batch_sum = llmopt_rbuf_f64(r);
    t.late_count = llmopt_rbuf_i64(r);
    if (!r->err && (t.input_tokens < 0 || t.output_tokens < 0 || !isfinite(t.cost_usd) ||
                    t.cache_hits < 0 || t.batch_count < 0 || !isfinite(t.batch_sum) ||
                    t.late_count < 0))
        r->err = LLMOPT_ERR_INVALID;
    if (r->err) {
        llmopt_tdigest_destroy(t.latency);
        llmopt_tdigest_destroy(t.ttft);
        return (llmopt_err_t)r->err;
    }
    llmopt_winagg_release(a);
    *a = t;
    return LLMOPT_OK;
}
