/*
 * daemon.c - the controller's loop (see daemon.h).
 */
#include "controller/daemon.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "common/avro_codec.h"
#include "common/json_codec.h"
#include "common/kafka.h"
#include "common/log.h"
#include "common/pg.h"
#include "common/records.h"
#include "controller/alert.h"
#include "controller/core/rng.h"
#include "controller/experiment.h"
#include "controller/policy.h"
#include "controller/route.h"
#include "controller/store.h"

static const llmopt_logger lg = LLMOPT_LOGGER("controller");

#define MAX_PARTS 256

enum { CNT_CONSUMED, CNT_MALFORMED, CNT_UNKNOWN_ROUTE, CNT_REJECTED, CNT_DECISIONS,
       CNT_HEARTBEATS, CNT_FLUSHES, CNT_FLUSH_FAIL, CNT_TAKEOVERS, CNT_ALERTS, CNT_ALERT_FAIL,
       CNT_NOTIFY, CNT_RELOADS, CNT_RELOAD_FAIL, CNT_COUNT };
static const char *const cnt_names[CNT_COUNT][2] = {
    {"llmopt_controller_consumed_total", "input records consumed"},
    {"llmopt_controller_malformed_total", "input records that failed to decode (skipped)"},
    {"llmopt_controller_unknown_route_total", "input records for routes not in the policy"},
    {"llmopt_controller_rejected_total", "input records out of range or for unknown arms"},
    {"llmopt_controller_decisions_total", "decision versions persisted and published"},
    {"llmopt_controller_heartbeats_total", "unchanged decisions re-published"},
    {"llmopt_controller_flushes_total", "state transactions committed"},
    {"llmopt_controller_flush_failures_total", "state transactions that failed"},
    {"llmopt_controller_takeovers_total", "times this instance became leader"},
    {"llmopt_controller_alerts_total", "alerts sent"},
    {"llmopt_controller_alert_failures_total", "alerts that could not be sent"},
    {"llmopt_controller_notifications_total", "admin notifications received"},
    {"llmopt_controller_policy_reloads_total", "policy files loaded again on SIGHUP"},
    {"llmopt_controller_policy_reload_failures_total",
     "SIGHUP reloads refused (the running policy stayed)"},
};

typedef struct pending {
    size_t route;
    llmopt_route_decision d;
    uint8_t *bytes; /* the encoded record: persisted, then published as is */
    size_t len;
} pending;

struct llmopt_ctl {
    const llmopt_controller_conf *conf;
    const llmopt_config *cfg;
    llmopt_policy *policy;
    llmopt_policy *next_policy; /* loaded on SIGHUP, swapped in between two leaderships */
    bool reloaded;              /* swapped since the last leader setup: every route decides */
    llmopt_metrics *metrics;
    llmopt_counter *cnt[CNT_COUNT];
    llmopt_gauge *g_leader, *g_epoch;
    llmopt_histogram *h_flush;
    char instance[128];
    int64_t lock_key;
    llmopt_pg *lock_pg;
    llmopt_ctl_store *store;
    llmopt_alert *alert;
    atomic_int ready;
    /* leader state */
    int64_t epoch;
    llmopt_route **routes;
    size_t n_routes;
    size_t *hash; /* open addressing: route index + 1, 0 empty */
    size_t hash_cap;
    uint8_t *touched;
    rd_kafka_t *consumer, *producer;
    llmopt_kafka_dr_stats_t dr;
    llmopt_avro_codec *avro;
    llmopt_wbuf enc;
    llmopt_json_buf jbuf;
    int64_t next_off[LLMOPT_CTL_IN_COUNT][MAX_PARTS];
    int n_parts[LLMOPT_CTL_IN_COUNT];
    bool off_dirty;
    pending *due;
    size_t n_due;
    int64_t last_ckpt_ms, last_tick_ms, last_lock_check_ms;
    llmopt_exp_set *exps;
    llmopt_outcome outcome;
    llmopt_window_metrics wm;
    llmopt_signal sig;
    llmopt_routing_decision rec;
};

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t fnv1a(const char *s, size_t n) {
    uint64_t h = 1469598103934665603ULL;
    for (size_t i = 0; i < n; i++)
        h = (h ^ (uint8_t)s[i]) * 1099511628211ULL;
    return h;
}

static int route_index(const llmopt_ctl *c, const char *s, size_t n) {
    if (!c->hash_cap)
        return -1;
    for (size_t i = fnv1a(s, n) & (c->hash_cap - 1);; i = (i + 1) & (c->hash_cap - 1)) {
        size_t v = c->hash[i];
        if (!v)
            return -1;
        const char *name = llmopt_route_name(c->routes[v - 1]);
        if (strlen(name) == n && !memcmp(name, s, n))
            return (int)(v - 1);
    }
}

/* ---- lifecycle ------------------------------------------------------- */

llmopt_ctl *llmopt_ctl_new(const llmopt_controller_conf *conf, const llmopt_config *cfg,
                           llmopt_metrics *metrics, char *errstr, size_t errstr_size) {
    llmopt_ctl *c = calloc(1, sizeof(*c));
    if (!c) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->conf = conf;
    c->cfg = cfg;
    c->metrics = metrics;
    llmopt_wbuf_init(&c->enc);
    llmopt_json_buf_init(&c->jbuf);
    llmopt_outcome_init(&c->outcome);
    llmopt_window_metrics_init(&c->wm);
    llmopt_signal_init(&c->sig);
    if (!(c->policy = llmopt_policy_load(conf->policy_file, conf->models_file, errstr,
                                         errstr_size)))
        goto fail;
    if (!conf->common.pg_dsn || !*conf->common.pg_dsn) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                    "'pg.dsn' is not set (-X pg.dsn=..., LLMOPT_PG_DSN or the config file)");
        goto fail;
    }
    if (conf->instance_id && *conf->instance_id) {
        snprintf(c->instance, sizeof(c->instance), "%s", conf->instance_id);
    } else {
        char host[64] = "host";
        gethostname(host, sizeof(host) - 1);
        snprintf(c->instance, sizeof(c->instance), "%s-%ld", host, (long)getpid());
    }
    c->lock_key = llmopt_pg_lock_key(conf->lock_name);
    llmopt_pg_retry rt;
    llmopt_pg_retry_default(&rt);
    rt.max_attempts = 5;
    rt.deadline_ms = 10000;
    if (llmopt_pg_new(&c->lock_pg, conf->common.pg_dsn, &rt, errstr, errstr_size))
        goto fail;
    if (!(c->store = llmopt_ctl_store_new(conf->common.pg_dsn, errstr, errstr_size)))
        goto fail;
    if (!(c->alert = llmopt_alert_new(conf->alert_webhook, (long)conf->alert_timeout_ms, errstr,
                                      errstr_size)))
        goto fail;
    for (int i = 0; i < CNT_COUNT; i++)
        c->cnt[i] = llmopt_metrics_counter(metrics, cnt_names[i][0], cnt_names[i][1], NULL, NULL);
    c->g_leader = llmopt_metrics_gauge(metrics, "llmopt_controller_leader",
                                       "1 while this instance is the active controller", NULL,
                                       NULL);
    c->g_epoch = llmopt_metrics_gauge(metrics, "llmopt_controller_epoch",
                                      "leader epoch of this instance (0: standby)", NULL, NULL);
    static const double fb[] = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.5, 1};
    c->h_flush = llmopt_metrics_histogram(metrics, "llmopt_controller_flush_seconds",
                                          "duration of one state transaction", fb, 10, NULL,
                                          NULL);
    llmopt_log_info(&lg, "instance '%s': %zu routes, %zu registry models", c->instance,
                    c->policy->n_routes, c->policy->n_models);
    return c;
fail:
    llmopt_ctl_destroy(c);
    return NULL;
}

static void leader_release(llmopt_ctl *c);

void llmopt_ctl_destroy(llmopt_ctl *c) {
    if (!c)
        return;
    leader_release(c);
    llmopt_alert_destroy(c->alert);
    llmopt_ctl_store_destroy(c->store);
    llmopt_pg_destroy(c->lock_pg);
    llmopt_policy_destroy(c->policy);
    llmopt_policy_destroy(c->next_policy);
    llmopt_wbuf_release(&c->enc);
    llmopt_json_buf_release(&c->jbuf);
    llmopt_outcome_release(&c->outcome);
    llmopt_window_metrics_release(&c->wm);
    llmopt_signal_release(&c->sig);
    free(c);
}

bool llmopt_ctl_ready(void *opaque, char *reason, size_t reason_size) {
    llmopt_ctl *c = opaque;
    if (atomic_load(&c->ready))
        return true;
    snprintf(reason, reason_size, "standby");
    return false;
}

/* ---- alerts ------------------------------------------------------------ */

static void send_alert(llmopt_ctl *c, const char *kind, const char *text) {
    char e[256];
    llmopt_log_warn(&lg, "alert %s: %s", kind, text);
    if (llmopt_alert_send(c->alert, kind, text, e, sizeof(e))) {
        llmopt_counter_inc(c->cnt[CNT_ALERT_FAIL]);
        llmopt_log_warn(&lg, "%s", e);
    } else {
        llmopt_counter_inc(c->cnt[CNT_ALERTS]);
    }
}

static void drain_alerts(llmopt_ctl *c, size_t ri) {
    char buf[256];
    while (llmopt_route_take_alert(c->routes[ri], buf, sizeof(buf)))
        send_alert(c, strstr(buf, "canary") ? "rollback" : "circuit-break", buf);
}

/* ---- leader: setup and teardown --------------------------------------- */

static void leader_release(llmopt_ctl *c) {
    atomic_store(&c->ready, 0);
    llmopt_gauge_set(c->g_leader, 0);
    llmopt_gauge_set(c->g_epoch, 0);
    if (c->consumer) {
        rd_kafka_assign(c->consumer, NULL);
        llmopt_kafka_consumer_close(c->consumer);
        c->consumer = NULL;
    }
    if (c->producer) {
        char e[256];
        if (llmopt_kafka_producer_close(c->producer, (int)c->conf->publish_timeout_ms, e,
                                        sizeof(e)))
            llmopt_log_warn(&lg, "producer close: %s", e);
        c->producer = NULL;
    }
    llmopt_avro_codec_destroy(c->avro);
    c->avro = NULL;
    for (size_t i = 0; i < c->n_routes; i++)
        llmopt_route_destroy(c->routes[i]);
    free(c->routes);
    free(c->hash);
    free(c->touched);
    for (size_t i = 0; c->due && i < c->n_routes; i++)
        free(c->due[i].bytes);
    free(c->due);
    llmopt_exp_set_destroy(c->exps);
    c->exps = NULL;
    c->routes = NULL;
    c->hash = NULL;
    c->touched = NULL;
    c->due = NULL;
    c->n_routes = c->hash_cap = c->n_due = 0;
    c->epoch = 0;
}

typedef struct ov_ctx {
    const llmopt_policy_route *pol;
    uint8_t disabled[LLMOPT_BANDIT_MAX_ARMS];
    int pinned;
} ov_ctx;

static void ov_row(void *ctx, const char *arm, bool pinned, bool disabled) {
    ov_ctx *o = ctx;
    int a = llmopt_policy_arm_index(o->pol, arm);
    if (a < 0)
        return;
    o->disabled[a] = disabled;
    if (pinned)
        o->pinned = a;
}

static llmopt_err_t load_overrides(llmopt_ctl *c, size_t ri, char *errstr, size_t errstr_size) {
    llmopt_route *r = c->routes[ri];
    ov_ctx o = {.pol = llmopt_route_policy(r), .pinned = -1};
    llmopt_err_t e = llmopt_ctl_store_load_overrides(c->store, llmopt_route_name(r), ov_row, &o,
                                                     errstr, errstr_size);
    if (!e)
        llmopt_route_set_overrides(r, o.disabled, o.pinned);
    c->touched[ri] = 1;
    return e;
}

static int topic_index(const llmopt_ctl *c, const char *topic) {
    for (int i = 0; i < LLMOPT_CTL_IN_COUNT; i++)
        if (!strcmp(c->conf->topic_in[i], topic))
            return i;
    return -1;
}

static void off_row(void *ctx, const char *topic, int32_t partition, int64_t next) {
    llmopt_ctl *c = ctx;
    int t = topic_index(c, topic);
    if (t >= 0 && partition >= 0 && partition < MAX_PARTS)
        c->next_off[t][partition] = next;
}

static llmopt_err_t setup_kafka(llmopt_ctl *c, char *errstr, size_t errstr_size) {
    llmopt_kafka_user_keys_t uk = llmopt_kafka_user_keys_from_config(c->cfg);
    static const char *const prod_keys[] = {"linger.ms", NULL};
    rd_kafka_conf_t *pc = llmopt_config_kafka_conf(c->cfg, errstr, errstr_size);
    if (!pc)
        return LLMOPT_ERR_INVALID;
    /* decisions are rare and latency matters: no batching delay */
    if (!llmopt_config_kafka_is_set(c->cfg, "linger.ms") &&
        llmopt_kafka_conf_default(pc, NULL, "linger.ms", "0", errstr, errstr_size)) {
        rd_kafka_conf_destroy(pc);
        return LLMOPT_ERR_INVALID;
    }
    llmopt_kafka_user_keys_t puk = uk;
    puk.user_set_keys = prod_keys;
    llmopt_kafka_dr_stats_init(&c->dr);
    llmopt_kafka_producer_opts_t po = {.kind = LLMOPT_KAFKA_PRODUCER_IDEMPOTENT,
                                       .dr_stats = &c->dr, .user = puk};
    llmopt_err_t e = llmopt_kafka_producer_new(&c->producer, pc, &po, errstr, errstr_size);
    if (e)
        return e;
    rd_kafka_conf_t *cc = llmopt_config_kafka_conf(c->cfg, errstr, errstr_size);
    if (!cc)
        return LLMOPT_ERR_INVALID;
    llmopt_kafka_consumer_opts_t co = {.group_id = "llmopt-controller", .app_commits = true,
                                       .read_committed = true, .user = uk};
    if ((e = llmopt_kafka_consumer_new(&c->consumer, cc, &co, errstr, errstr_size)))
        return e;
    /* partitions and start offsets */
    for (int t = 0; t < LLMOPT_CTL_IN_COUNT; t++)
        for (int p = 0; p < MAX_PARTS; p++)
            c->next_off[t][p] = -1;
    if ((e = llmopt_ctl_store_load_offsets(c->store, off_row, c, errstr, errstr_size)))
        return e;
    rd_kafka_topic_partition_list_t *l = rd_kafka_topic_partition_list_new(16);
    for (int t = 0; t < LLMOPT_CTL_IN_COUNT; t++) {
        const char *topic = c->conf->topic_in[t];
        rd_kafka_topic_t *rkt = rd_kafka_topic_new(c->consumer, topic, NULL);
        const struct rd_kafka_metadata *md = NULL;
        rd_kafka_resp_err_t ke = rd_kafka_metadata(c->consumer, 0, rkt, &md, 10000);
        rd_kafka_topic_destroy(rkt);
        if (ke || md->topic_cnt != 1 || md->topics[0].err) {
            e = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "metadata of topic '%s': %s",
                            topic,
                            rd_kafka_err2str(ke ? ke : md->topic_cnt ? md->topics[0].err
                                                                      : RD_KAFKA_RESP_ERR__UNKNOWN_TOPIC));
            if (md)
                rd_kafka_metadata_destroy(md);
            rd_kafka_topic_partition_list_destroy(l);
            return e;
        }
        int np = md->topics[0].partition_cnt;
        rd_kafka_metadata_destroy(md);
        if (np > MAX_PARTS)
            np = MAX_PARTS;
        c->n_parts[t] = np;
        for (int p = 0; p < np; p++) {
            int64_t off = c->next_off[t][p];
            if (off < 0) {
                /* never seen: a concrete offset now, so that whatever is
                 * produced after takeover is read */
                int64_t lo = 0, hi = 0;
                ke = rd_kafka_query_watermark_offsets(c->consumer, topic, p, &lo, &hi, 10000);
                if (ke) {
                    rd_kafka_topic_partition_list_destroy(l);
                    return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                                       "watermarks of '%s' [%d]: %s", topic, p,
                                       rd_kafka_err2str(ke));
                }
                off = c->conf->start_from == LLMOPT_CTL_START_EARLIEST ? lo : hi;
                c->next_off[t][p] = off;
                c->off_dirty = true;
            }
            rd_kafka_topic_partition_list_add(l, topic, p)->offset = off;
        }
    }
    rd_kafka_resp_err_t ke = rd_kafka_assign(c->consumer, l);
    rd_kafka_topic_partition_list_destroy(l);
    if (ke)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "assign: %s",
                           rd_kafka_err2str(ke));
    return LLMOPT_OK;
}

static llmopt_err_t leader_setup(llmopt_ctl *c, char *errstr, size_t errstr_size) {
    llmopt_err_t e;
    if ((e = llmopt_ctl_store_take_epoch(c->store, c->instance, &c->epoch, errstr, errstr_size)))
        return e;
    int64_t t0 = now_ms();
    size_t n = c->policy->n_routes;
    c->routes = calloc(n, sizeof(*c->routes));
    c->touched = calloc(n, 1);
    c->due = calloc(n, sizeof(*c->due));
    c->hash_cap = 16;
    while (c->hash_cap < 2 * n)
        c->hash_cap *= 2;
    c->hash = calloc(c->hash_cap, sizeof(*c->hash));
    if (!c->routes || !c->touched || !c->due || !c->hash)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    for (size_t i = 0; i < n; i++) {
        const llmopt_policy_route *pr = &c->policy->routes[i];
        uint64_t seed = llmopt_route_seed((uint64_t)c->conf->seed, pr->route);
        if (!(c->routes[i] = llmopt_route_new(pr, seed, t0, errstr, errstr_size)))
            return LLMOPT_ERR_INVALID;
        c->n_routes = i + 1;
        size_t h = fnv1a(pr->route, strlen(pr->route)) & (c->hash_cap - 1);
        while (c->hash[h])
            h = (h + 1) & (c->hash_cap - 1);
        c->hash[h] = i + 1;
        int64_t version = 0;
        uint8_t *blob = NULL;
        size_t len = 0;
        if ((e = llmopt_ctl_store_load_route(c->store, pr->route, &version, &blob, &len, errstr,
                                             errstr_size)))
            return e;
        llmopt_route *r = c->routes[i];
        if (blob) {
            char de[256];
            llmopt_err_t d = llmopt_route_deserialize(r, blob, len, de, sizeof(de));
            if (d == LLMOPT_ERR_VERSION) {
                llmopt_log_warn(&lg, "%s: starting the route afresh", de);
                llmopt_route_note(r, "policy arms changed: state restarted");
            } else if (d) {
                llmopt_log_error(&lg, "route '%s': stored state unreadable (%s): starting "
                                 "afresh", pr->route, de);
                llmopt_route_note(r, "stored state unreadable: restarted");
            } else if (llmopt_route_restore_note(r)[0]) {
                llmopt_log_warn(&lg, "%s", llmopt_route_restore_note(r));
            }
            free(blob);
        }
        llmopt_route_set_version(r, version);
        if (!llmopt_route_published(r) || version == 0)
            llmopt_route_note(r, "initial decision");
        else if (c->reloaded)
            llmopt_route_note(r, "policy reloaded");
        else
            /* republish the persisted version at once (the previous leader
             * may have died between persisting and publishing it) */
            llmopt_route_set_published_ms(r, 0);
        if ((e = load_overrides(c, i, errstr, errstr_size)))
            return e;
    }
    if (!(c->exps = llmopt_exp_set_new(c->store, errstr, errstr_size)))
        return LLMOPT_ERR_NOMEM;
    if ((e = llmopt_exp_set_reload(c->exps, NULL, errstr, errstr_size)))
        return e;
    if ((e = llmopt_pg_listen(llmopt_ctl_store_pg(c->store), c->conf->notify_channel, errstr,
                              errstr_size)))
        return e;
    if (!(c->avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), errstr, errstr_size)))
        return LLMOPT_ERR_INVALID;
    if ((e = setup_kafka(c, errstr, errstr_size)))
        return e;
    for (size_t i = 0; i < n; i++)
        c->touched[i] = 1;
    c->reloaded = false;
    c->last_ckpt_ms = c->last_tick_ms = c->last_lock_check_ms = now_ms();
    llmopt_counter_inc(c->cnt[CNT_TAKEOVERS]);
    llmopt_gauge_set(c->g_leader, 1);
    llmopt_gauge_set(c->g_epoch, (double)c->epoch);
    llmopt_log_info(&lg, "leader with epoch %" PRId64 " (%zu routes loaded in %" PRId64 " ms)",
                    c->epoch, n, now_ms() - t0);
    return LLMOPT_OK;
}

/* ---- inputs ------------------------------------------------------------ */

static llmopt_err_t decode(llmopt_ctl *c, llmopt_record_type type, const rd_kafka_message_t *m,
                           void *rec, char *errstr, size_t errstr_size) {
    const uint8_t *p = m->payload;
    if (!p || m->len == 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "empty message");
    if (p[0] == 0)
        return llmopt_avro_decode(c->avro, p, m->len, type, rec, NULL, errstr, errstr_size);
    return llmopt_json_decode(type, (const char *)p, m->len, rec, NULL, errstr, errstr_size);
}

static void handle_message(llmopt_ctl *c, const rd_kafka_message_t *m, int64_t now) {
    int t = topic_index(c, rd_kafka_topic_name(m->rkt));
    if (t < 0)
        return;
    if (m->partition >= 0 && m->partition < MAX_PARTS) {
        c->next_off[t][m->partition] = m->offset + 1;
        c->off_dirty = true;
    }
    llmopt_counter_inc(c->cnt[CNT_CONSUMED]);
    static const llmopt_record_type types[] = {LLMOPT_REC_OUTCOME, LLMOPT_REC_WINDOW_METRICS,
                                               LLMOPT_REC_SIGNAL};
    void *recs[] = {&c->outcome, &c->wm, &c->sig};
    char e[256];
    if (decode(c, types[t], m, recs[t], e, sizeof(e))) {
        llmopt_counter_inc(c->cnt[CNT_MALFORMED]);
        llmopt_log_debug(&lg, "%s [%d] @%" PRId64 ": skipped: %s", c->conf->topic_in[t],
                         m->partition, m->offset, e);
        return;
    }
    const llmopt_str *route = t == 0 ? &c->outcome.route : t == 1 ? &c->wm.route : &c->sig.route;
    int ri = route->ptr ? route_index(c, route->ptr, route->len) : -1;
    if (ri < 0) {
        llmopt_counter_inc(c->cnt[CNT_UNKNOWN_ROUTE]);
        return;
    }
    llmopt_route *r = c->routes[ri];
    llmopt_err_t err;
    if (t == LLMOPT_CTL_IN_OUTCOMES)
        err = llmopt_route_outcome(r, &c->outcome, e, sizeof(e));
    else if (t == LLMOPT_CTL_IN_METRICS) {
        err = llmopt_route_metrics(r, &c->wm, now, e, sizeof(e));
        if (!err)
            llmopt_exp_set_window(c->exps, r, &c->wm);
    } else {
        err = llmopt_route_signal(r, &c->sig, now, e, sizeof(e));
        if (!err)
            llmopt_log_info(&lg, "signal '%.*s' on route '%s'", (int)c->sig.signal_id.len,
                            c->sig.signal_id.ptr, llmopt_route_name(r));
    }
    if (err) {
        llmopt_counter_inc(c->cnt[CNT_REJECTED]);
        llmopt_log_debug(&lg, "%s [%d] @%" PRId64 ": rejected: %s", c->conf->topic_in[t],
                         m->partition, m->offset, e);
        return;
    }
    c->touched[ri] = 1;
    drain_alerts(c, (size_t)ri);
}

/* ---- publishing -------------------------------------------------------- */

/* Encodes c->rec in the routing format; *buf points into c's buffers. */
static llmopt_err_t encode_rec(llmopt_ctl *c, const void **buf, size_t *len, char *errstr,
                               size_t errstr_size) {
    llmopt_err_t e;
    if (c->conf->routing_format == LLMOPT_CTL_JSON) {
        if ((e = llmopt_json_encode(LLMOPT_REC_ROUTING_DECISION, &c->rec, &c->jbuf, errstr,
                                    errstr_size)))
            return e;
        *buf = c->jbuf.data, *len = c->jbuf.len;
        return LLMOPT_OK;
    }
    c->enc.len = 0;
    if ((e = llmopt_avro_encode(c->avro, LLMOPT_REC_ROUTING_DECISION, &c->rec, &c->enc, errstr,
                                errstr_size)))
        return e;
    *buf = c->enc.data, *len = c->enc.len;
    return LLMOPT_OK;
}

static llmopt_err_t send_bytes(llmopt_ctl *c, const char *route, const void *buf, size_t len,
                               char *errstr, size_t errstr_size) {
    rd_kafka_resp_err_t ke = rd_kafka_producev(
        c->producer, RD_KAFKA_V_TOPIC(c->conf->topic_routing),
        RD_KAFKA_V_KEY(route, strlen(route)), RD_KAFKA_V_VALUE((void *)buf, len),
        RD_KAFKA_V_MSGFLAGS(RD_KAFKA_MSG_F_COPY), RD_KAFKA_V_END);
    if (ke)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "produce to '%s': %s",
                           c->conf->topic_routing, rd_kafka_err2str(ke));
    return LLMOPT_OK;
}

static llmopt_err_t produce(llmopt_ctl *c, llmopt_route *r, const llmopt_route_decision *d,
                            int64_t version, int64_t ts, bool heartbeat, char *errstr,
                            size_t errstr_size) {
    llmopt_route_fill(r, d, version, ts, heartbeat, &c->rec);
    const void *buf;
    size_t len;
    llmopt_err_t e = encode_rec(c, &buf, &len, errstr, errstr_size);
    return e ? e : send_bytes(c, llmopt_route_name(r), buf, len, errstr, errstr_size);
}

/* JSON object arm -> weight, for controller_routes.weights */
static void weights_json(const llmopt_route *r, const llmopt_route_decision *d, char *out,
                         size_t size) {
    const llmopt_policy_route *p = llmopt_route_policy(r);
    size_t at = 0;
    at += (size_t)snprintf(out + at, size - at, "{");
    for (size_t i = 0; i < d->k && at < size; i++) {
        /* arm ids come from the policy; escape the two characters JSON needs */
        at += (size_t)snprintf(out + at, size - at, "%s\"", i ? "," : "");
        for (const char *s = p->arms[i].id; *s && at + 3 < size; s++) {
            if (*s == '"' || *s == '\\')
                out[at++] = '\\';
            out[at++] = (unsigned char)*s < 0x20 ? ' ' : *s;
        }
        if (at < size)
            at += (size_t)snprintf(out + at, size - at, "\":%.17g", d->w[i]);
    }
    if (at < size)
        snprintf(out + at, size - at, "}");
}

/* Decides touched routes, then persists (one transaction) and publishes.
 * Returns STATE when fenced and IO when Postgres failed: both step down. */
static llmopt_err_t flush(llmopt_ctl *c, int64_t now, bool force_state, char *errstr,
                          size_t errstr_size) {
    c->n_due = 0;
    bool any_dirty = c->off_dirty;
    for (size_t i = 0; i < c->n_routes; i++) {
        llmopt_route *r = c->routes[i];
        any_dirty = any_dirty || llmopt_route_dirty(r);
        if (!c->touched[i])
            continue;
        c->touched[i] = 0;
        pending *pd = &c->due[c->n_due];
        int rc = llmopt_route_decide(r, now, &pd->d);
        if (rc < 0) {
            llmopt_log_warn(&lg, "route '%s': every arm is disabled; keeping version %" PRId64,
                            llmopt_route_name(r), llmopt_route_version(r));
            continue;
        }
        if (rc == 1) {
            pd->route = i;
            c->n_due++;
        }
    }
    if (!c->n_due && !(any_dirty && (force_state || now - c->last_ckpt_ms >= c->conf->checkpoint_ms)))
        return LLMOPT_OK;
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    llmopt_err_t e = llmopt_ctl_store_begin(c->store, c->epoch, errstr, errstr_size);
    if (e)
        goto fail;
    for (size_t j = 0; j < c->n_due; j++) {
        pending *pd = &c->due[j];
        llmopt_route *r = c->routes[pd->route];
        int64_t version = llmopt_route_version(r) + 1;
        const char *const *ids;
        size_t n_ids = llmopt_route_signal_ids(r, &ids);
        llmopt_route_fill(r, &pd->d, version, now, false, &c->rec);
        const void *eb;
        size_t el;
        if ((e = encode_rec(c, &eb, &el, errstr, errstr_size)))
            goto fail;
        free(pd->bytes);
        if (!(pd->bytes = malloc(el ? el : 1))) {
            e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto fail;
        }
        memcpy(pd->bytes, eb, el);
        pd->len = el;
        /* the log row's payload is JSON whatever the wire format */
        if ((e = llmopt_json_encode(LLMOPT_REC_ROUTING_DECISION, &c->rec, &c->jbuf, errstr,
                                    errstr_size)))
            goto fail;
        char wj[4096];
        weights_json(r, &pd->d, wj, sizeof(wj));
        if ((e = llmopt_ctl_store_put_decision(c->store, llmopt_route_name(r), version, now,
                                               c->epoch, pd->d.reason, ids, n_ids,
                                               llmopt_route_experiment(r), c->jbuf.data, wj,
                                               errstr, errstr_size)))
            goto fail;
        for (size_t a = 0; a < pd->d.k; a++) {
            double n, mean;
            uint64_t pulls;
            const char *br;
            llmopt_route_arm_summary(r, a, &n, &mean, &pulls, &br);
            if ((e = llmopt_ctl_store_put_arm(c->store, llmopt_route_name(r),
                                              llmopt_route_policy(r)->arms[a].id, n, mean,
                                              pulls, br, pd->d.w[a], errstr, errstr_size)))
                goto fail;
        }
        /* the signal ids are in the log row and the encoded record now */
        llmopt_route_commit(r, &pd->d, version, now);
    }
    for (size_t i = 0; i < c->n_routes; i++) {
        llmopt_route *r = c->routes[i];
        if (!llmopt_route_dirty(r))
            continue;
        c->enc.len = 0;
        llmopt_route_serialize(r, &c->enc);
        if (c->enc.err) {
            e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto fail;
        }
        if ((e = llmopt_ctl_store_put_state(c->store, llmopt_route_name(r), c->enc.data,
                                            c->enc.len, errstr, errstr_size)))
            goto fail;
    }
    if ((e = llmopt_exp_set_flush(c->exps, errstr, errstr_size)))
        goto fail;
    if (c->off_dirty)
        for (int t = 0; t < LLMOPT_CTL_IN_COUNT; t++)
            for (int p = 0; p < c->n_parts[t]; p++)
                if (c->next_off[t][p] >= 0 &&
                    (e = llmopt_ctl_store_put_offset(c->store, c->conf->topic_in[t], p,
                                                     c->next_off[t][p], errstr, errstr_size)))
                    goto fail;
    if ((e = llmopt_ctl_store_commit(c->store, errstr, errstr_size)))
        goto fail;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    llmopt_histogram_observe(c->h_flush, (double)(t1.tv_sec - t0.tv_sec) +
                                             (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    llmopt_counter_inc(c->cnt[CNT_FLUSHES]);
    c->off_dirty = false;
    c->last_ckpt_ms = now;
    for (size_t i = 0; i < c->n_routes; i++)
        llmopt_route_clear_dirty(c->routes[i]);
    for (size_t j = 0; j < c->n_due; j++) {
        llmopt_route *r = c->routes[c->due[j].route];
        const llmopt_route_decision *d = llmopt_route_published(r);
        char pe[256];
        if (send_bytes(c, llmopt_route_name(r), c->due[j].bytes, c->due[j].len, pe, sizeof(pe)))
            llmopt_log_error(&lg, "route '%s' version %" PRId64 " persisted but not published "
                             "(next heartbeat retries): %s", llmopt_route_name(r),
                             llmopt_route_version(r), pe);
        llmopt_counter_inc(c->cnt[CNT_DECISIONS]);
        llmopt_log_info(&lg, "route '%s' version %" PRId64 ": %s", llmopt_route_name(r),
                        llmopt_route_version(r), d->reason);
    }
    rd_kafka_poll(c->producer, 0);
    return LLMOPT_OK;
fail:
    llmopt_ctl_store_rollback(c->store);
    llmopt_counter_inc(c->cnt[CNT_FLUSH_FAIL]);
    return e == LLMOPT_ERR_STATE ? e : LLMOPT_ERR_IO;
}

static void heartbeats(llmopt_ctl *c, int64_t now) {
    for (size_t i = 0; i < c->n_routes; i++) {
        llmopt_route *r = c->routes[i];
        const llmopt_route_decision *d = llmopt_route_published(r);
        if (!d || llmopt_route_version(r) < 1)
            continue;
        if (now - llmopt_route_published_ms(r) < llmopt_route_policy(r)->heartbeat_ms)
            continue;
        char e[256];
        if (produce(c, r, d, llmopt_route_version(r), now, true, e, sizeof(e)))
            llmopt_log_warn(&lg, "heartbeat of route '%s': %s", llmopt_route_name(r), e);
        else
            llmopt_counter_inc(c->cnt[CNT_HEARTBEATS]);
        llmopt_route_set_published_ms(r, now);
    }
}

static void handle_notes(llmopt_ctl *c) {
    llmopt_pg_note note;
    char e[256];
    while (llmopt_pg_wait_note(llmopt_ctl_store_pg(c->store), 0, &note, e, sizeof(e)) ==
           LLMOPT_OK) {
        llmopt_counter_inc(c->cnt[CNT_NOTIFY]);
        const char *p = note.payload ? note.payload : "";
        int ri = *p && strcmp(p, "*") ? route_index(c, p, strlen(p)) : -1;
        llmopt_log_info(&lg, "admin notification '%s'", p);
        for (size_t i = 0; i < c->n_routes; i++) {
            if (ri >= 0 && (size_t)ri != i)
                continue;
            if (load_overrides(c, i, e, sizeof(e)))
                llmopt_log_warn(&lg, "overrides of '%s': %s", llmopt_route_name(c->routes[i]), e);
        }
        if (llmopt_exp_set_reload(c->exps, ri >= 0 ? p : NULL, e, sizeof(e)))
            llmopt_log_warn(&lg, "experiments: %s", e);
        llmopt_pg_note_release(&note);
    }
}

static void send_alert_cb(void *ctx, const char *kind, const char *text) {
    send_alert(ctx, kind, text);
}

/* ---- policy reload (SIGHUP) -------------------------------------------- */

/* Reads the policy and registry files again into c->next_policy. A file
 * that does not load leaves the running policy in place: logged, counted,
 * false. */
static bool policy_reload_load(llmopt_ctl *c) {
    char e[512];
    llmopt_policy *p = llmopt_policy_load(c->conf->policy_file, c->conf->models_file, e, sizeof(e));
    if (!p) {
        llmopt_counter_inc(c->cnt[CNT_RELOAD_FAIL]);
        llmopt_log_error(&lg, "SIGHUP: %s: keeping the running policy", e);
        return false;
    }
    llmopt_policy_destroy(c->next_policy);
    c->next_policy = p;
    return true;
}

/* Between two leaderships (no route, consumer or producer alive): the
 * loaded policy replaces the running one. */
static void policy_reload_swap(llmopt_ctl *c) {
    llmopt_policy_destroy(c->policy);
    c->policy = c->next_policy;
    c->next_policy = NULL;
    c->reloaded = true;
    llmopt_counter_inc(c->cnt[CNT_RELOADS]);
    llmopt_log_info(&lg, "policy reloaded: %zu routes, %zu registry models", c->policy->n_routes,
                    c->policy->n_models);
}

/* ---- the loops --------------------------------------------------------- */

static llmopt_err_t lead(llmopt_ctl *c, bool (*stop)(void), bool (*reload)(void), char *errstr,
                         size_t errstr_size) {
    llmopt_err_t e = leader_setup(c, errstr, errstr_size);
    if (e)
        return e;
    /* the first decisions (or the republication of persisted ones) */
    if ((e = flush(c, now_ms(), true, errstr, errstr_size)))
        return e;
    heartbeats(c, now_ms());
    atomic_store(&c->ready, 1);
    while (!stop()) {
        /* a new policy: persist every route (below), then llmopt_ctl_run
         * sets up again under it without letting go of the lock */
        if (reload && reload() && policy_reload_load(c))
            break;
        int64_t now = now_ms();
        /* inputs: a batch, bounded so decisions stay prompt */
        for (int n = 0; n < 5000; n++) {
            rd_kafka_message_t *m = rd_kafka_consumer_poll(c->consumer, n == 0 ? 20 : 0);
            if (!m)
                break;
            if (m->err) {
                if (m->err != RD_KAFKA_RESP_ERR__PARTITION_EOF)
                    llmopt_log_warn(&lg, "consume: %s", rd_kafka_message_errstr(m));
            } else {
                handle_message(c, m, now);
            }
            rd_kafka_message_destroy(m);
        }
        handle_notes(c);
        now = now_ms();
        if (now - c->last_tick_ms >= c->conf->tick_ms) {
            c->last_tick_ms = now;
            for (size_t i = 0; i < c->n_routes; i++) {
                llmopt_route_tick(c->routes[i], now);
                if (llmopt_route_dirty(c->routes[i]))
                    c->touched[i] = 1;
            }
            llmopt_exp_set_tick(c->exps, c->routes, c->n_routes, c->touched, now,
                                send_alert_cb, c);
        }
        if ((e = flush(c, now, false, errstr, errstr_size)))
            return e;
        heartbeats(c, now);
        rd_kafka_poll(c->producer, 0);
        if (now - c->last_lock_check_ms >= c->conf->lock_check_ms) {
            c->last_lock_check_ms = now;
            if ((e = llmopt_pg_health(c->lock_pg, 2000, errstr, errstr_size)))
                return e;
            if (atomic_load(&c->dr.failed)) {
                llmopt_log_warn(&lg, "%" PRIuFAST64 " decisions failed delivery (last: %s)",
                                (uint_fast64_t)atomic_load(&c->dr.failed),
                                rd_kafka_err2str(atomic_load(&c->dr.last_err)));
                atomic_store(&c->dr.failed, 0);
            }
        }
    }
    /* graceful: last state, then release */
    for (size_t i = 0; i < c->n_routes; i++)
        c->touched[i] = 1;
    return flush(c, now_ms(), true, errstr, errstr_size);
}

llmopt_err_t llmopt_ctl_run(llmopt_ctl *c, bool (*stop)(void), bool (*reload)(void), char *errstr,
                            size_t errstr_size) {
    char e[512];
    while (!stop()) {
        bool got = false;
        if (llmopt_pg_ensure(c->lock_pg, e, sizeof(e)) ||
            llmopt_pg_lock_try(c->lock_pg, c->lock_key, &got, e, sizeof(e))) {
            llmopt_log_warn(&lg, "leader lock: %s", e);
            got = false;
        }
        if (!got) {
            /* a standby reloads too, so it leads under the new policy */
            if (reload && reload() && policy_reload_load(c))
                policy_reload_swap(c);
            usleep((useconds_t)(c->conf->lock_poll_ms * 1000));
            continue;
        }
        llmopt_log_info(&lg, "took the leader lock");
        llmopt_err_t le;
        for (;;) {
            le = lead(c, stop, reload, e, sizeof(e));
            if (le)
                llmopt_log_error(&lg, "stepping down: %s", e);
            leader_release(c);
            if (!c->next_policy)
                break;
            /* SIGHUP: every route was persisted; lead again under the new
             * policy, restoring each route from that state (arms carried
             * over by id: llmopt_route_deserialize). After a failure the
             * next leadership starts under it. */
            policy_reload_swap(c);
            if (le || stop())
                break;
        }
        char ue[256];
        if (llmopt_pg_unlock(c->lock_pg, c->lock_key, ue, sizeof(ue)) &&
            llmopt_pg_errclass_of(c->lock_pg) == LLMOPT_PG_ERRCLASS_CONNECTION)
            llmopt_pg_reconnect(c->lock_pg, ue, sizeof(ue));
        if (le) {
            /* give Postgres (or a peer) a moment before trying again */
            llmopt_pg_reconnect(llmopt_ctl_store_pg(c->store), ue, sizeof(ue));
            usleep((useconds_t)(c->conf->lock_poll_ms * 1000));
        }
    }
    (void)errstr;
    (void)errstr_size;
    return LLMOPT_OK;
}
