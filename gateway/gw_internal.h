/*
 * gw_internal.h - what the gateway's .c files share; not installed. The
 * public contract is gateway/include/llmopt_gateway.h.
 *
 * Ownership: the llmopt_gw owns the route table; the table owns every
 * route (never freed before llmopt_gw_destroy) and every snapshot, current
 * or retired. A snapshot is immutable once published.
 */
#ifndef LLMOPT_GW_INTERNAL_H
#define LLMOPT_GW_INTERNAL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <librdkafka/rdkafka.h>

#include "common/kafka.h"
#include "gateway/include/llmopt_gateway.h"

typedef enum gw_algo {
    GW_ALGO_STATIC = 0,
    GW_ALGO_THOMPSON,
    GW_ALGO_UCB1,
    GW_ALGO_EPSILON_GREEDY,
    GW_ALGO_SOFTMAX,
    GW_ALGO_EXP3,
    GW_ALGO_LINUCB,
    GW_ALGO_LIN_TS,
} gw_algo;

typedef struct gw_arm {
    const char *arm_id, *provider, *model, *tmpl; /* tmpl "" when none */
    size_t arm_id_len, provider_len, model_len, tmpl_len;
    double weight;
    llmopt_arm_state state;
    bool has_cooldown;
    int64_t cooldown_until_ms;
    size_t n_params;
    const llmopt_kv_double *params;
    const double *theta; /* contextual: dim values */
    const double *a_inv; /* contextual: dim*dim, row-major */
} gw_arm;

/* An immutable decision as readers see it. */
typedef struct gw_snap {
    llmopt_routing_decision rec; /* owns every string (its arena) */
    gw_arm arms[LLMOPT_GW_MAX_ARMS];
    size_t n_arms;
    size_t default_idx;
    gw_algo algo;
    bool contextual;
    bool all_plain;          /* every arm active or canary: cum[] applies */
    double cum[LLMOPT_GW_MAX_ARMS]; /* cumulative weights, decision order */
    double prio_share[4];    /* per llmopt_gw_priority */
    size_t exp_len;          /* experiment_id length, 0 when none */
    struct gw_snap *retired_next;
} gw_snap;

/* A route's rate limits compiled for llmopt_gw_admit (limiter.c): GCRA
 * emission intervals and per-priority capacities in integer nanoseconds, so
 * a check does no division and no rounding call. One tier per scope
 * (global, tenant, user); a snapshot without rate_limits has no tier.
 * Stored per priority class, so that a check reads 96 contiguous bytes
 * (the emission intervals repeated in each class). */
typedef struct gw_tier {
    _Atomic int64_t req_inc_ns;
    _Atomic int64_t req_cap_ns;       /* for this priority class */
    _Atomic double tok_ns;            /* ns per token; 0: no token bucket */
    _Atomic int64_t tok_cap_ns;
} gw_tier;

typedef struct gw_limits_copy {
    _Atomic int64_t version;          /* decision version, 0 when none */
    _Atomic int on_limit;             /* llmopt_on_limit */
    _Atomic uint8_t tiers;            /* bit k: tier k present */
    _Atomic uint8_t zero_share;       /* bit p: class p has weight 0 */
    _Atomic int64_t retry_after_ms, queue_timeout_ms;
    gw_tier tier[4][3];               /* [llmopt_gw_priority][scope] */
} gw_limits_copy;

/* Written by the table's writer only (gw_route_publish); read without any
 * read-modify-write: the writer fills the copy readers are not using and
 * then flips seq (a two-copy sequence latch), so a reader never waits for
 * a writer and retries only when a flip happened during its read. */
typedef struct gw_route_limits {
    _Atomic uint64_t seq;             /* copy[seq & 1] is current */
    gw_limits_copy copy[2];
} gw_route_limits;

typedef struct gw_route {
    gw_route_limits limits;           /* rate limits as llmopt_gw_admit reads them */
    char *name;
    size_t len;
    uint64_t hash;
    _Atomic(gw_snap *) snap;
    _Atomic int64_t version;     /* held (or removed) version; writer-owned */
    _Atomic int64_t fresh_ts_ms; /* ts of the decision or its last heartbeat */
    _Atomic(llmopt_gw_lru *) cache; /* created by the writer; never freed
                                     * before destroy */
    _Atomic int64_t cache_ttl_ms;
} gw_route;

#define GW_STRIPES 64

typedef struct gw_stripe {
    _Atomic uint64_t readers[2];
    char pad[64 - 2 * sizeof(uint64_t)];
} gw_stripe;

typedef struct gw_limiter gw_limiter;

struct llmopt_gw {
    llmopt_gw_config cfg; /* strings point into owned copies below */
    char *s_gateway_id, *s_bootstrap, *s_routing, *s_requests, *s_responses,
        *s_feedback, *s_default_arm, *s_default_provider, *s_default_model;
    char **kafka_props; /* owned copy, NULL-terminated */

    /* route table */
    _Atomic(gw_route *) *slots;
    size_t slot_mask;
    size_t n_routes;            /* writer-owned */
    pthread_mutex_t writer;     /* one writer at a time */
    gw_snap *retired;           /* under writer */
    _Atomic uint64_t epoch;
    gw_stripe stripes[GW_STRIPES];

    gw_limiter *limiter;
    llmopt_gw_external_cache ext;
    bool has_ext;

    /* follower */
    rd_kafka_t *consumer;
    pthread_t follower;
    bool follower_started;
    atomic_bool stop;
    atomic_bool ready;
    llmopt_avro_codec *codec;   /* follower thread (and apply, under writer) */

    /* reporting */
    rd_kafka_t *producer;
    rd_kafka_topic_t *t_requests, *t_responses, *t_feedback;
    int32_t schema_id[LLMOPT_REC_COUNT];
    llmopt_kafka_dr_stats_t dr;
    pthread_t poller;
    bool poller_started;

    struct {
        _Atomic uint64_t applied, old_version, heartbeats, tombstones, routes;
        _Atomic uint64_t rejected[LLMOPT_GW_REJECT_COUNT];
        _Atomic uint64_t fallback, stale, enqueued, dropped;
        _Atomic uint64_t cache_hits, cache_misses, reclaimed; /* admit counts: gw_limiter_stats */
    } st;
};

/* ---- table.c -------------------------------------------------------------- */
llmopt_err_t gw_table_init(llmopt_gw *gw, size_t max_routes);
void gw_table_release(llmopt_gw *gw);
/* The 64-bit hash of route names and limit ids (gw_hash: the same, out of
 * line; reads exactly len bytes). Eight bytes at a time (route names,
 * tenant and user ids are short), then the murmur3 64-bit finaliser so low
 * bits (the slot index) mix well. Not keyed: the tables it indexes are
 * bounded and probe-limited. */
static inline uint64_t gw_hash_inl(const char *s, size_t len) {
    const unsigned char *p = (const unsigned char *)s;
    uint64_t h = 0x9e3779b97f4a7c15ull ^ ((uint64_t)len * 0xc2b2ae3d27d4eb4full);
    uint64_t w;
    size_t n = len;
    while (n > 8) {
        memcpy(&w, p, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 29;
        p += 8;
        n -= 8;
    }
    /* the last 1..8 bytes as whole loads (overlapping ones when needed), so
     * no byte-wise copy stalls the next load; len is already in h */
    if (len >= 8) {
        memcpy(&w, p + n - 8, 8);
    } else if (n >= 4) {
        uint32_t a, b;
        memcpy(&a, p, 4);
        memcpy(&b, p + n - 4, 4);
        w = a | (uint64_t)b << 32;
    } else if (n > 0) {
        w = p[0] | (uint64_t)p[n / 2] << 8 | (uint64_t)p[n - 1] << 16;
    } else {
        w = 0;
    }
    h = (h ^ w) * 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ull;
    h ^= h >> 33;
    return h;
}
uint64_t gw_hash(const char *s, size_t len);
/* Lock-free lookup; NULL when the route has never been seen. */
gw_route *gw_route_find(llmopt_gw *gw, const char *name, size_t len, uint64_t hash);
/* Writer only: find or insert. NULL when the table is full or on ENOMEM. */
gw_route *gw_route_get_or_add(llmopt_gw *gw, const char *name, size_t len);
/* Writer only: publishes snap (may be NULL) and retires the old one. */
void gw_route_publish(llmopt_gw *gw, gw_route *r, gw_snap *snap);
/* Writer only: waits a grace period and frees the retired snapshots. */
void gw_reclaim(llmopt_gw *gw);
void gw_snap_destroy(gw_snap *s);

/* Read-side critical section. */
typedef struct gw_rcu_token {
    unsigned stripe, parity;
} gw_rcu_token;
gw_rcu_token gw_read_lock(llmopt_gw *gw);
void gw_read_unlock(llmopt_gw *gw, gw_rcu_token t);

/* ---- decision.c ------------------------------------------------------------ */
/* Validates s->rec and fills the derived fields. */
llmopt_gw_reject gw_snap_compile(gw_snap *s, const llmopt_gw_config *cfg, char *errstr,
                                 size_t errstr_size);

/* ---- follower.c / report.c / limiter.c ------------------------------------ */
llmopt_err_t gw_follower_start(llmopt_gw *gw, char *errstr, size_t errstr_size);
void gw_follower_stop(llmopt_gw *gw);
llmopt_err_t gw_report_start(llmopt_gw *gw, char *errstr, size_t errstr_size);
void gw_report_stop(llmopt_gw *gw);
/* Sets the common librdkafka properties on conf (bootstrap + user props). */
llmopt_err_t gw_kafka_conf(llmopt_gw *gw, rd_kafka_conf_t *conf, char *errstr,
                           size_t errstr_size);
bool gw_user_set(const llmopt_gw *gw, const char *key);

gw_limiter *gw_limiter_new(size_t slots);
void gw_limiter_destroy(gw_limiter *l);
/* The limiter's counters into out: llmopt_gw_admit's outcomes summed over
 * the per-thread stripes (admit_denied, admit_degraded, admit_queued) and
 * the table's slot_for outcomes (limiter_slots_reclaimed,
 * limiter_overflowed). */
void gw_limiter_stats(const gw_limiter *l, llmopt_gw_stats *out);
/* Writer only: compiles snap's rate limits (NULL: none) into r->limits. */
void gw_limits_publish(gw_route *r, const gw_snap *snap);

int64_t gw_mono_us(void);
void gw_copy_str(char *dst, size_t cap, const char *src, size_t len);

#endif
