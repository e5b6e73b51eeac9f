/*
 * gateway.c - the llmopt_gw object: configuration, lifecycle, applying
 * decisions to the table (the single writer path), statistics.
 */
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/json_codec.h"
#include "gateway/gw_internal.h"

void llmopt_gw_config_init(llmopt_gw_config *c) {
    memset(c, 0, sizeof(*c));
    c->gateway_id = "gw";
    c->routing_topic = "llm.routing";
    c->requests_topic = "llm.requests";
    c->responses_topic = "llm.responses";
    c->feedback_topic = "llm.feedback";
    c->follow = true;
    c->report = true;
    c->decision_format = LLMOPT_GW_FORMAT_AUTO;
    c->report_format = LLMOPT_GW_FORMAT_AVRO;
    c->report_queue_max = 100000;
    c->default_arm_id = "default";
    c->default_provider = "";
    c->default_model = "";
    c->max_routes = 65536;
    c->max_message_bytes = 1u << 20;
    c->stale_after_ms = 300000;
    c->max_cache_ttl_ms = 7LL * 24 * 3600 * 1000;
    c->max_cache_entries = 10000000;
    c->max_batch_size = 1024;
    c->limiter_slots = 262144;
    c->rng_seed = 1;
}

int64_t gw_mono_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void gw_copy_str(char *dst, size_t cap, const char *src, size_t len) {
    if (len >= cap)
        len = cap - 1;
    memcpy(dst, src, len);
    dst[len] = '\0';
}

static bool dup_str(char **dst, const char **field, const char *def) {
    const char *s = *field ? *field : def;
    if (!s) {
        *dst = NULL;
        *field = NULL;
        return true;
    }
    *dst = strdup(s);
    *field = *dst;
    return *dst != NULL;
}

llmopt_gw *llmopt_gw_new(const llmopt_gw_config *config, char *errstr, size_t errstr_size) {
    llmopt_gw *gw = NULL;
    llmopt_gw *result = NULL;
    llmopt_gw_config def;
    llmopt_gw_config_init(&def);
    if (!config)
        config = &def;
    if (config->max_routes == 0 || config->max_message_bytes == 0 ||
        config->limiter_slots == 0 || config->stale_after_ms <= 0 ||
        config->max_batch_size < 1 || config->report_queue_max < 1) {
        llmopt_errf(0, errstr, errstr_size, "invalid gateway config: a size or limit is zero");
        return NULL;
    }
    gw = calloc(1, sizeof(*gw));
    if (!gw) {
        llmopt_errf(0, errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&gw->writer, NULL);
    gw->cfg = *config;
    bool ok = dup_str(&gw->s_gateway_id, &gw->cfg.gateway_id, def.gateway_id) &&
              dup_str(&gw->s_bootstrap, &gw->cfg.bootstrap_servers, NULL) &&
              dup_str(&gw->s_routing, &gw->cfg.routing_topic, def.routing_topic) &&
              dup_str(&gw->s_requests, &gw->cfg.requests_topic, def.requests_topic) &&
              dup_str(&gw->s_responses, &gw->cfg.responses_topic, def.responses_topic) &&
              dup_str(&gw->s_feedback, &gw->cfg.feedback_topic, def.feedback_topic) &&
              dup_str(&gw->s_default_arm, &gw->cfg.default_arm_id, def.default_arm_id) &&
              dup_str(&gw->s_default_provider, &gw->cfg.default_provider, "") &&
              dup_str(&gw->s_default_model, &gw->cfg.default_model, "");
    if (ok && config->kafka_props) {
        size_t n = 0;
        while (config->kafka_props[n])
            n++;
        if (n % 2) {
            llmopt_errf(0, errstr, errstr_size, "kafka_props has an odd number of entries");
            goto out;
        }
        gw->kafka_props = calloc(n + 1, sizeof(char *));
        ok = gw->kafka_props != NULL;
        for (size_t i = 0; ok && i < n; i++)
            ok = (gw->kafka_props[i] = strdup(config->kafka_props[i])) != NULL;
        gw->cfg.kafka_props = (const char *const *)gw->kafka_props;
    }
    if (!ok || gw_table_init(gw, config->max_routes) != LLMOPT_OK) {
        llmopt_errf(0, errstr, errstr_size, "out of memory");
        goto out;
    }
    gw->limiter = gw_limiter_new(config->limiter_slots);
    if (!gw->limiter) {
        llmopt_errf(0, errstr, errstr_size, "out of memory");
        goto out;
    }
    gw->codec = llmopt_avro_codec_new(
        config->schema_source ? config->schema_source : llmopt_avro_builtin_source(), errstr,
        errstr_size);
    if (!gw->codec)
        goto out;
    atomic_store(&gw->ready, gw->cfg.bootstrap_servers == NULL || !gw->cfg.follow);
    if (gw->cfg.bootstrap_servers && gw->cfg.report &&
        gw_report_start(gw, errstr, errstr_size) != LLMOPT_OK)
        goto out;
    if (gw->cfg.bootstrap_servers && gw->cfg.follow &&
        gw_follower_start(gw, errstr, errstr_size) != LLMOPT_OK)
        goto out;
    result = gw;
    gw = NULL;
out:
    llmopt_gw_destroy(gw);
    return result;
}

void llmopt_gw_destroy(llmopt_gw *gw) {
    if (!gw)
        return;
    gw_follower_stop(gw);
    gw_report_stop(gw);
    gw_table_release(gw);
    gw_limiter_destroy(gw->limiter);
    llmopt_avro_codec_destroy(gw->codec);
    pthread_mutex_destroy(&gw->writer);
    if (gw->kafka_props) {
        for (size_t i = 0; gw->kafka_props[i]; i++)
            free(gw->kafka_props[i]);
        free(gw->kafka_props);
    }
    free(gw->s_gateway_id);
    free(gw->s_bootstrap);
    free(gw->s_routing);
    free(gw->s_requests);
    free(gw->s_responses);
    free(gw->s_feedback);
    free(gw->s_default_arm);
    free(gw->s_default_provider);
    free(gw->s_default_model);
    free(gw);
}

bool llmopt_gw_ready(const llmopt_gw *gw) {
    return atomic_load(&((llmopt_gw *)gw)->ready);
}

llmopt_err_t llmopt_gw_wait_ready(const llmopt_gw *gw, int timeout_ms) {
    int64_t end = gw_mono_us() + (int64_t)timeout_ms * 1000;
    while (!llmopt_gw_ready(gw)) {
        if (gw_mono_us() >= end)
            return LLMOPT_ERR_TIMEOUT;
        struct timespec ts = {0, 5 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    return LLMOPT_OK;
}

static llmopt_err_t reject(llmopt_gw *gw, llmopt_gw_reject why, llmopt_gw_reject *out) {
    atomic_fetch_add_explicit(&gw->st.rejected[why], 1, memory_order_relaxed);
    if (out)
        *out = why;
    return LLMOPT_ERR_INVALID;
}

/* Keeps the route's LRU in step with the decision (writer only). */
static void apply_cache_policy(gw_route *r, const llmopt_routing_decision *d) {
    if (!d->has_cache_policy || !d->cache_policy.enabled)
        return;
    llmopt_gw_lru *c = atomic_load(&r->cache);
    size_t cap = (size_t)d->cache_policy.max_entries;
    if (!c) {
        c = llmopt_gw_lru_new(cap);
        if (!c)
            return; /* caching is an optimisation: run without it */
        atomic_store(&r->cache, c);
    } else {
        llmopt_gw_lru_set_capacity(c, cap);
    }
    atomic_store(&r->cache_ttl_ms, d->cache_policy.ttl_ms);
}

llmopt_err_t llmopt_gw_apply_decision(llmopt_gw *gw, const void *key, size_t key_len,
                                      const void *value, size_t value_len, bool *applied,
                                      llmopt_gw_reject *rej, char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    gw_snap *snap = NULL;
    if (applied)
        *applied = false;
    if (rej)
        *rej = LLMOPT_GW_REJECT_NONE;
    if (!gw)
        return LLMOPT_ERR_INVALID;
    pthread_mutex_lock(&gw->writer);
    if (!value) {
        if (!key || key_len == 0) {
            result = reject(gw, LLMOPT_GW_REJECT_INVALID, rej);
            llmopt_errf(0, errstr, errstr_size, "tombstone without a key");
            goto out;
        }
        gw_route *r = gw_route_find(gw, key, key_len, gw_hash(key, key_len));
        if (r && atomic_load(&r->snap)) {
            gw_route_publish(gw, r, NULL);
            if (applied)
                *applied = true;
        }
        atomic_fetch_add_explicit(&gw->st.tombstones, 1, memory_order_relaxed);
        result = LLMOPT_OK;
        goto out;
    }
    if (value_len > gw->cfg.max_message_bytes) {
        result = reject(gw, LLMOPT_GW_REJECT_OVERSIZED, rej);
        llmopt_errf(0, errstr, errstr_size, "decision of '%zu' bytes over the limit of %zu",
                    value_len, gw->cfg.max_message_bytes);
        goto out;
    }
    snap = calloc(1, sizeof(*snap));
    if (!snap) {
        result = LLMOPT_ERR_NOMEM;
        goto out;
    }
    llmopt_routing_decision_init(&snap->rec);
    llmopt_gw_format fmt = gw->cfg.decision_format;
    if (fmt == LLMOPT_GW_FORMAT_AUTO)
        fmt = (value_len > 0 && ((const uint8_t *)value)[0] == 0) ? LLMOPT_GW_FORMAT_AVRO
                                                                  : LLMOPT_GW_FORMAT_JSON;
    llmopt_err_t e;
    if (fmt == LLMOPT_GW_FORMAT_AVRO)
        e = llmopt_avro_decode(gw->codec, value, value_len, LLMOPT_REC_ROUTING_DECISION,
                               &snap->rec, NULL, errstr, errstr_size);
    else
        e = llmopt_json_decode(LLMOPT_REC_ROUTING_DECISION, value, value_len, &snap->rec, NULL,
                               errstr, errstr_size);
    if (e == LLMOPT_ERR_NOMEM) {
        result = e;
        goto out;
    }
    if (e != LLMOPT_OK) {
        result = reject(gw, LLMOPT_GW_REJECT_DECODE, rej);
        goto out;
    }
    llmopt_gw_reject why = gw_snap_compile(snap, &gw->cfg, errstr, errstr_size);
    if (why != LLMOPT_GW_REJECT_NONE) {
        result = reject(gw, why, rej);
        goto out;
    }
    const llmopt_str *route = &snap->rec.route;
    if (key && (key_len != route->len || memcmp(key, route->ptr, key_len) != 0)) {
        result = reject(gw, LLMOPT_GW_REJECT_INVALID, rej);
        llmopt_errf(0, errstr, errstr_size, "route '%.64s' differs from the key", route->ptr);
        goto out;
    }
    gw_route *r = gw_route_get_or_add(gw, route->ptr, route->len);
    if (!r) {
        result = reject(gw, LLMOPT_GW_REJECT_TOO_MANY_ROUTES, rej);
        llmopt_errf(0, errstr, errstr_size, "route table full (%zu routes)", gw->cfg.max_routes);
        goto out;
    }
    int64_t held = atomic_load(&r->version);
    if (snap->rec.version <= held) {
        if (snap->rec.version == held && snap->rec.heartbeat && atomic_load(&r->snap)) {
            if (snap->rec.ts_ms > atomic_load(&r->fresh_ts_ms))
                atomic_store(&r->fresh_ts_ms, snap->rec.ts_ms);
            atomic_fetch_add_explicit(&gw->st.heartbeats, 1, memory_order_relaxed);
        } else {
            atomic_fetch_add_explicit(&gw->st.old_version, 1, memory_order_relaxed);
        }
        result = LLMOPT_OK;
        goto out;
    }
    apply_cache_policy(r, &snap->rec);
    atomic_store(&r->version, snap->rec.version);
    atomic_store(&r->fresh_ts_ms, snap->rec.ts_ms);
    gw_route_publish(gw, r, snap);
    snap = NULL;
    atomic_fetch_add_explicit(&gw->st.applied, 1, memory_order_relaxed);
    if (applied)
        *applied = true;
    result = LLMOPT_OK;
out:
    gw_snap_destroy(snap);
    gw_reclaim(gw);
    pthread_mutex_unlock(&gw->writer);
    return result;
}

llmopt_gw_route *llmopt_gw_route_handle(llmopt_gw *gw, const char *route) {
    if (!gw || !route)
        return NULL;
    size_t len = strlen(route);
    if (len == 0) /* no decision can name it */
        return NULL;
    pthread_mutex_lock(&gw->writer);
    gw_route *r = gw_route_get_or_add(gw, route, len);
    pthread_mutex_unlock(&gw->writer);
    return (llmopt_gw_route *)r;
}

int64_t llmopt_gw_route_version(llmopt_gw *gw, const char *route) {
    size_t len = strlen(route);
    gw_route *r = gw_route_find(gw, route, len, gw_hash(route, len));
    return r && atomic_load(&r->snap) ? atomic_load(&r->version) : 0;
}

#define LD(x) atomic_load_explicit(&gw->st.x, memory_order_relaxed)

void llmopt_gw_stats_get(const llmopt_gw *cgw, llmopt_gw_stats *out) {
    llmopt_gw *gw = (llmopt_gw *)cgw;
    memset(out, 0, sizeof(*out));
    out->decisions_applied = LD(applied);
    out->ignored_old_version = LD(old_version);
    out->heartbeats = LD(heartbeats);
    out->tombstones = LD(tombstones);
    for (int i = 0; i < LLMOPT_GW_REJECT_COUNT; i++)
        out->rejected[i] = LD(rejected[i]);
    out->routes = LD(routes);
    out->choose_fallback = LD(fallback);
    out->choose_stale = LD(stale);
    out->report_enqueued = LD(enqueued);
    out->report_dropped = LD(dropped);
    out->report_delivered = atomic_load(&gw->dr.delivered);
    out->report_failed = atomic_load(&gw->dr.failed);
    gw_limiter_stats(gw->limiter, out);
    out->cache_hits = LD(cache_hits);
    out->cache_misses = LD(cache_misses);
    out->snapshots_reclaimed = LD(reclaimed);
}
