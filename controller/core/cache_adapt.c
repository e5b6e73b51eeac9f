/*
 * cache_adapt.c - cache policy adaptation (see cache_adapt.h).
 */
#include "controller/core/cache_adapt.h"

#include <math.h>
#include <stdio.h>

void llmopt_cache_adapt_config_default(llmopt_cache_adapt_config *c) {
    *c = (llmopt_cache_adapt_config){.enabled = true,
                                     .ttl_ms = 600000,
                                     .min_ttl_ms = 10000,
                                     .max_ttl_ms = 600000,
                                     .quality_margin = 0.05,
                                     .min_samples = 30,
                                     .shorten = 0.5,
                                     .lengthen = 2,
                                     .min_hit_rate = 0,
                                     .retry_periods = 10};
}

llmopt_err_t llmopt_cache_adapt_init(llmopt_cache_adapt *a, const llmopt_cache_adapt_config *c,
                                     char *errstr, size_t errstr_size) {
    if (c->min_ttl_ms <= 0 || c->ttl_ms < c->min_ttl_ms || c->max_ttl_ms < c->ttl_ms)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "ttl_ms '%lld' needs 0 < min_ttl_ms '%lld' <= ttl_ms <= max_ttl_ms "
                           "'%lld'",
                           (long long)c->ttl_ms, (long long)c->min_ttl_ms,
                           (long long)c->max_ttl_ms);
    if (!(c->shorten > 0 && c->shorten < 1) || !(c->lengthen > 1 && c->lengthen <= 100))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "shorten '%g' must be in (0, 1) and lengthen '%g' in (1, 100]",
                           c->shorten, c->lengthen);
    if (!(c->quality_margin >= 0 && c->quality_margin <= 1) ||
        !(c->min_hit_rate >= 0 && c->min_hit_rate <= 1))
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "quality_margin '%g' and min_hit_rate '%g' must be in [0, 1]",
                           c->quality_margin, c->min_hit_rate);
    if (c->min_samples < 1 || c->retry_periods < 1)
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "min_samples and retry_periods must be >= 1");
    *a = (llmopt_cache_adapt){.c = *c, .enabled = c->enabled, .ttl_ms = c->ttl_ms};
    return LLMOPT_OK;
}

#define SAY(...) ((reason && reason_size) ? (void)snprintf(reason, reason_size, __VA_ARGS__) : (void)0)

int llmopt_cache_adapt_judge(llmopt_cache_adapt *a, const llmopt_cache_period *p,
                             char *reason, size_t reason_size) {
    if (reason && reason_size)
        reason[0] = 0;
    if (!a->enabled) {
        if (++a->off_periods < a->c.retry_periods)
            return 0;
        a->enabled = true;
        a->off_periods = 0;
        a->ttl_ms = a->c.min_ttl_ms;
        SAY("caching back on at TTL %.4g s to measure again after %u periods off",
            (double)a->ttl_ms / 1000, a->c.retry_periods);
        return 1;
    }
    if (p->requests < a->c.min_samples)
        return 0;
    a->judged++;
    uint64_t hits = p->hits > p->requests ? p->requests : p->hits;
    double hit_rate = (double)hits / (double)p->requests;
    if (hit_rate < a->c.min_hit_rate) {
        a->enabled = false;
        a->off_periods = 0;
        SAY("hit rate %.2f %% < %.2f %% over %llu requests: caching off", 100 * hit_rate,
            100 * a->c.min_hit_rate, (unsigned long long)p->requests);
        return 1;
    }
    if (p->hit_q_n < a->c.min_samples || p->miss_q_n < a->c.min_samples ||
        !isfinite(p->hit_q_mean) || !isfinite(p->miss_q_mean))
        return 0;
    double gap = p->miss_q_mean - p->hit_q_mean;
    if (gap > a->c.quality_margin) {
        if (a->ttl_ms > a->c.min_ttl_ms) {
            int64_t old = a->ttl_ms;
            double nt = (double)old * a->c.shorten;
            a->ttl_ms = nt < (double)a->c.min_ttl_ms ? a->c.min_ttl_ms : (int64_t)nt;
            SAY("cached answers score %.3f vs fresh %.3f (gap %.3f > margin %.3f, %llu/%llu "
                "samples, hit rate %.2f %%): TTL %.4g s -> %.4g s",
                p->hit_q_mean, p->miss_q_mean, gap, a->c.quality_margin,
                (unsigned long long)p->hit_q_n, (unsigned long long)p->miss_q_n, 100 * hit_rate,
                (double)old / 1000, (double)a->ttl_ms / 1000);
        } else {
            a->enabled = false;
            a->off_periods = 0;
            SAY("cached answers score %.3f vs fresh %.3f (gap %.3f > margin %.3f, %llu/%llu "
                "samples) with TTL at its minimum %.4g s: caching off",
                p->hit_q_mean, p->miss_q_mean, gap, a->c.quality_margin,
                (unsigned long long)p->hit_q_n, (unsigned long long)p->miss_q_n,
                (double)a->ttl_ms / 1000);
        }
        return 1;
    }
    if (gap <= a->c.quality_margin / 2 && a->ttl_ms < a->c.max_ttl_ms) {
        int64_t old = a->ttl_ms;
        double nt = (double)old * a->c.lengthen;
        a->ttl_ms = nt > (double)a->c.max_ttl_ms ? a->c.max_ttl_ms : (int64_t)nt;
        SAY("cached answers score as fresh ones (%.3f vs %.3f, %llu/%llu samples, hit rate "
            "%.2f %%): TTL %.4g s -> %.4g s",
            p->hit_q_mean, p->miss_q_mean, (unsigned long long)p->hit_q_n,
            (unsigned long long)p->miss_q_n, 100 * hit_rate, (double)old / 1000,
            (double)a->ttl_ms / 1000);
        return 1;
    }
    return 0;
}
