/*
 * backtest_cf.c - counterfactual controller replay (see backtest_cf.h).
 *
 * Settings file:
 *   {"controller": {"policy": "policy.json", "models": "models.json",
 *                   "seed": 0, "tick_ms": 100, "cadence_ms": 250},
 *    "processor": {"processor.windows": "1m/1m", ...},   live processor keys
 *    "changes": [{"at": T, "route": "chat", "arm": "fast", "label": "..."}],
 *    "reaction_min_change": 0.05,
 *    "settings": [
 *      {"name": "live"},
 *      {"name": "slow", "routes": {"*": {"guardrails": {"cooldown_ms": 5000}}}},
 *      {"name": "10s-windows", "processor": {"processor.windows": "10s/10s"},
 *       "detect": {"drift": ["adwin"], "anomaly": ["zscore"], "zscore_threshold": 4}}]}
 * Paths are relative to the settings file. A setting with "processor" or
 * "detect" re-runs the processor's engine in-process over the telemetry.
 */
#include "tools/backtest_cf.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro_codec.h"
#include "common/json_codec.h"
#include "common/records.h"
#include "controller/policy.h"
#include "controller/replay.h"
#include "processor/engine.h"
#include "processor/pmerge.h"
#include "processor/proc_config.h"
#include "tools/backtest_read.h"

enum { K_OUTCOME, K_METRICS, K_SIGNAL, K_REQUEST, K_RESPONSE, K_FEEDBACK, K_COUNT };
static const char *const kind_names[K_COUNT] = {"outcomes", "metrics", "signals",
                                                "requests", "responses", "feedback"};
static const llmopt_record_type kind_types[K_COUNT] = {
    LLMOPT_REC_OUTCOME, LLMOPT_REC_WINDOW_METRICS, LLMOPT_REC_SIGNAL,
    LLMOPT_REC_REQUEST, LLMOPT_REC_RESPONSE,       LLMOPT_REC_FEEDBACK};

#define MAX_SETTINGS 16
#define MAX_ENGINES 256

typedef struct cf_rec {
    int64_t clock;   /* broker timestamp */
    int64_t offset;
    uint64_t at;     /* into the blob */
    uint32_t len;
    int32_t partition;
    uint8_t kind;
} cf_rec;

typedef struct cf_data cf_data;
struct cf_data {
    cf_rec *recs;
    size_t n, cap;
    uint8_t *blob;
    size_t blen, bcap;
    uint64_t read[K_COUNT], decode_errors, outside;
    json_t *seen;    /* route -> arm -> count (controller inputs, or telemetry) */
    json_t *logged;  /* logged decisions, in version order per route */
    uint64_t heartbeats;
    llmopt_avro_codec *avro;
    int64_t from_ms, to_ms;
    int kind;
    struct {
        llmopt_outcome o;
        llmopt_window_metrics m;
        llmopt_signal s;
        llmopt_request rq;
        llmopt_response rs;
        llmopt_feedback fb;
        llmopt_routing_decision d;
    } u;
};

static void *rec_of(cf_data *d, int kind) {
    switch (kind) {
    case K_OUTCOME: return &d->u.o;
    case K_METRICS: return &d->u.m;
    case K_SIGNAL: return &d->u.s;
    case K_REQUEST: return &d->u.rq;
    case K_RESPONSE: return &d->u.rs;
    case K_FEEDBACK: return &d->u.fb;
    default: return &d->u.d;
    }
}

static void recs_init(cf_data *d) {
    llmopt_outcome_init(&d->u.o);
    llmopt_window_metrics_init(&d->u.m);
    llmopt_signal_init(&d->u.s);
    llmopt_request_init(&d->u.rq);
    llmopt_response_init(&d->u.rs);
    llmopt_feedback_init(&d->u.fb);
    llmopt_routing_decision_init(&d->u.d);
}

static void recs_release(cf_data *d) {
    llmopt_outcome_release(&d->u.o);
    llmopt_window_metrics_release(&d->u.m);
    llmopt_signal_release(&d->u.s);
    llmopt_request_release(&d->u.rq);
    llmopt_response_release(&d->u.rs);
    llmopt_feedback_release(&d->u.fb);
    llmopt_routing_decision_release(&d->u.d);
}

typedef struct cf_setting {
    const char *name;
    json_t *spec;          /* the setting's object (borrowed) */
    llmopt_policy *policy;
    int64_t cadence_ms, tick_ms, checkpoint_ms;
    uint64_t seed;
    bool processor;        /* re-run the engine */
    llmopt_engine_config ecfg;
} cf_setting;

/* One telemetry partition of a processor setting: its three topics' records
 * (indices into the data, offset order), fed to its engine in the live
 * runner's order (processor/pmerge.h). */
typedef struct cf_part {
    size_t *idx[3], n[3], cap[3], cur[3];
    llmopt_pmerge_topic head[LLMOPT_PROC_IN_COUNT];
    llmopt_request rq;
    llmopt_response rs;
    llmopt_feedback fb;
    int64_t emax, clock;
    int feed;             /* topic of the pending FEED step, -1: none (ended) */
    llmopt_engine *eng;
} cf_part;

typedef struct cf_run {
    cf_setting *s;
    cf_data *data;
    llmopt_ctl_replay *rp;
    json_t *decisions, *signals;
    int64_t clock, next_step;
    cf_part *part[MAX_ENGINES];
    uint64_t engine_dlq, dlq_by[LLMOPT_DLQ_COUNT];
} cf_run;

static llmopt_err_t decode(llmopt_avro_codec *avro, llmopt_record_type t, const void *p,
                           size_t len, void *rec, char *e, size_t es) {
    const uint8_t *b = p;
    if (!b || !len)
        return llmopt_errf(LLMOPT_ERR_INVALID, e, es, "empty message");
    if (b[0] == 0)
        return llmopt_avro_decode(avro, p, len, t, rec, NULL, e, es);
    return llmopt_json_decode(t, (const char *)p, len, rec, NULL, e, es);
}

static json_t *jstr(llmopt_str s) {
    return json_stringn(s.ptr ? s.ptr : "", s.ptr ? s.len : 0);
}

static void see(cf_data *d, llmopt_str route, llmopt_str arm) {
    char rn[256], an[256];
    snprintf(rn, sizeof(rn), "%.*s", (int)(route.ptr ? route.len : 0), route.ptr ? route.ptr : "");
    snprintf(an, sizeof(an), "%.*s", (int)(arm.ptr ? arm.len : 0), arm.ptr ? arm.ptr : "");
    json_t *r = json_object_get(d->seen, rn);
    if (!r)
        json_object_set_new(d->seen, rn, r = json_object());
    json_t *c = json_object_get(r, an);
    json_object_set_new(r, an, json_integer(c ? json_integer_value(c) + 1 : 1));
}

static int on_msg(void *ctx, const llmopt_bt_msg *m) {
    cf_data *d = ctx;
    int k = d->kind;
    d->read[k]++;
    if (m->ts_ms < d->from_ms || m->ts_ms >= d->to_ms) {
        d->outside++;
        return 0;
    }
    char e[256];
    if (decode(d->avro, kind_types[k], m->payload, m->len, rec_of(d, k), e, sizeof(e))) {
        if (d->decode_errors++ < 3)
            fprintf(stderr, "llmopt backtest: %s [%d] offset %lld: %s\n", kind_names[k],
                    (int)m->partition, (long long)m->offset, e);
        return 0;
    }
    switch (k) {
    case K_OUTCOME: see(d, d->u.o.route, d->u.o.arm); break;
    case K_METRICS: see(d, d->u.m.route, d->u.m.arm); break;
    case K_SIGNAL: see(d, d->u.s.route, d->u.s.arm); break;
    case K_REQUEST: see(d, d->u.rq.route, d->u.rq.arm); break;
    default: break;
    }
    if (d->n == d->cap) {
        size_t nc = d->cap ? 2 * d->cap : 4096;
        cf_rec *nr = realloc(d->recs, nc * sizeof(*nr));
        if (!nr)
            return 1;
        d->recs = nr, d->cap = nc;
    }
    if (d->blen + m->len > d->bcap) {
        size_t nc = d->bcap ? 2 * d->bcap : 1 << 20;
        while (nc < d->blen + m->len)
            nc *= 2;
        uint8_t *nb = realloc(d->blob, nc);
        if (!nb)
            return 1;
        d->blob = nb, d->bcap = nc;
    }
    memcpy(d->blob + d->blen, m->payload, m->len);
    d->recs[d->n++] = (cf_rec){.clock = m->ts_ms, .offset = m->offset, .at = d->blen,
                               .len = (uint32_t)m->len, .partition = m->partition,
                               .kind = (uint8_t)k};
    d->blen += m->len;
    return 0;
}

static json_t *decision_json(const llmopt_policy_route *p, const char *route, int64_t version,
                             int64_t ts_ms, const llmopt_route_decision *dd,
                             const char *const *ids, size_t n_ids) {
    json_t *w = json_object(), *st = json_object(), *sig = json_array();
    for (size_t i = 0; i < dd->k; i++) {
        json_object_set_new(w, p->arms[i].id, json_real(dd->w[i]));
        json_object_set_new(st, p->arms[i].id, json_string(llmopt_arm_state_name(dd->state[i])));
    }
    for (size_t i = 0; i < n_ids; i++)
        json_array_append_new(sig, json_string(ids[i]));
    return json_pack("{s:s,s:I,s:I,s:o,s:o,s:s,s:o}", "route", route, "version",
                     (json_int_t)version, "ts_ms", (json_int_t)ts_ms, "weights", w, "states", st,
                     "reason", dd->reason, "signal_ids", sig);
}

/* a logged RoutingDecision (not a heartbeat) as the same JSON shape */
static int on_routing(void *ctx, const llmopt_bt_msg *m) {
    cf_data *d = ctx;
    char e[256];
    if (decode(d->avro, LLMOPT_REC_ROUTING_DECISION, m->payload, m->len, &d->u.d, e, sizeof(e))) {
        d->decode_errors++;
        return 0;
    }
    const llmopt_routing_decision *r = &d->u.d;
    if (r->ts_ms < d->from_ms || r->ts_ms >= d->to_ms)
        return 0;
    if (r->heartbeat) {
        d->heartbeats++;
        return 0;
    }
    json_t *w = json_object(), *st = json_object(), *sig = json_array();
    for (size_t i = 0; i < r->arms.count; i++) {
        char an[256];
        const llmopt_arm *a = &r->arms.items[i];
        snprintf(an, sizeof(an), "%.*s", (int)a->arm_id.len, a->arm_id.ptr ? a->arm_id.ptr : "");
        json_object_set_new(w, an, json_real(a->weight));
        json_object_set_new(st, an, json_string(llmopt_arm_state_name(a->state)));
    }
    for (size_t i = 0; i < r->signal_ids.count; i++)
        json_array_append_new(sig, jstr(r->signal_ids.items[i]));
    json_array_append_new(d->logged,
                          json_pack("{s:o,s:I,s:I,s:o,s:o,s:o,s:o}", "route", jstr(r->route),
                                    "version", (json_int_t)r->version, "ts_ms",
                                    (json_int_t)r->ts_ms, "weights", w, "states", st, "reason",
                                    jstr(r->reason), "signal_ids", sig));
    return 0;
}

static int rec_cmp(const void *a, const void *b) {
    const cf_rec *x = a, *y = b;
    if (x->clock != y->clock)
        return x->clock < y->clock ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int stream_cmp(const void *a, const void *b) {
    const cf_rec *x = a, *y = b;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->partition != y->partition)
        return x->partition < y->partition ? -1 : 1;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

static int logged_cmp(const void *a, const void *b) {
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    int c = strcmp(json_string_value(json_object_get(x, "route")),
                   json_string_value(json_object_get(y, "route")));
    if (c)
        return c;
    json_int_t vx = json_integer_value(json_object_get(x, "version"));
    json_int_t vy = json_integer_value(json_object_get(y, "version"));
    return vx < vy ? -1 : vx > vy;
}

/* ---- settings ---------------------------------------------------------- */

static char *read_file(const char *path, size_t *len, char *errstr, size_t es) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, es, "cannot read '%s'", path);
        return NULL;
    }
    size_t cap = 65536, n = 0;
    char *b = malloc(cap);
    while (b) {
        size_t r = fread(b + n, 1, cap - n, f);
        n += r;
        if (n < cap)
            break;
        char *nb = realloc(b, cap *= 2);
        if (!nb)
            free(b);
        b = nb;
    }
    fclose(f);
    if (!b) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, es, "out of memory");
        return NULL;
    }
    b[n < cap ? n : cap - 1] = '\0';
    *len = n;
    return b;
}

static char *rel_path(const char *base, const char *p) {
    const char *slash = strrchr(base, '/');
    char *out = NULL;
    if (p[0] == '/' || !slash) {
        out = strdup(p);
    } else if (asprintf(&out, "%.*s/%s", (int)(slash - base), base, p) < 0) {
        out = NULL;
    }
    return out;
}

/* Deep merge: objects merge member by member, "arms" arrays by "id",
 * anything else is replaced. */
static void merge(json_t *dst, json_t *src) {
    const char *k;
    json_t *v;
    json_object_foreach(src, k, v) {
        json_t *cur = json_object_get(dst, k);
        if (json_is_object(v) && json_is_object(cur)) {
            merge(cur, v);
        } else if (!strcmp(k, "arms") && json_is_array(v) && json_is_array(cur)) {
            size_t i;
            json_t *a;
            json_array_foreach(v, i, a) {
                const char *id = json_string_value(json_object_get(a, "id"));
                json_t *hit = NULL, *b;
                size_t j;
                json_array_foreach(cur, j, b) {
                    const char *bid = json_string_value(json_object_get(b, "id"));
                    if (id && bid && !strcmp(id, bid))
                        hit = b;
                }
                if (hit && json_is_object(a))
                    merge(hit, a);
                else
                    json_array_append(cur, a);
            }
        } else {
            json_object_set(dst, k, v);
        }
    }
}

static int64_t get_int(json_t *o, const char *k, int64_t def) {
    json_t *v = json_object_get(o, k);
    return json_is_integer(v) ? (int64_t)json_integer_value(v) : def;
}

static const struct {
    const char *name;
    unsigned bit;
} det_names[] = {{"adwin", LLMOPT_DET_ADWIN},   {"page_hinkley", LLMOPT_DET_PH},
                 {"cusum", LLMOPT_DET_CUSUM},   {"zscore", LLMOPT_DET_ZSCORE},
                 {"iqr", LLMOPT_DET_IQR},       {"mad", LLMOPT_DET_MAD}};

static llmopt_err_t detector_mask(json_t *arr, const char *what, unsigned *mask, char *errstr,
                                  size_t es) {
    size_t i;
    json_t *v;
    *mask = 0;
    if (!json_is_array(arr))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "detect.%s: expected an array of "
                           "detector names", what);
    json_array_foreach(arr, i, v) {
        const char *n = json_string_value(v);
        unsigned bit = 0;
        for (size_t j = 0; n && j < sizeof(det_names) / sizeof(det_names[0]); j++)
            if (!strcmp(n, det_names[j].name))
                bit = det_names[j].bit;
        if (!bit)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "detect.%s[%zu]: unknown detector "
                               "'%s'", what, i, n ? n : "?");
        *mask |= bit;
    }
    return LLMOPT_OK;
}

/* The engine configuration of a setting: the file's live "processor" keys,
 * then the setting's, through the processor's own property table. */
static llmopt_err_t engine_config(json_t *base, json_t *over, json_t *det, llmopt_engine_config *ec,
                                  char *errstr, size_t es) {
    llmopt_processor_conf pc;
    memset(&pc, 0, sizeof(pc));
    const llmopt_config_binding b[] = {{&llmopt_common_table, offsetof(llmopt_processor_conf, common)},
                                       {&llmopt_processor_table, 0}};
    llmopt_config *c = llmopt_config_new(&pc, sizeof(pc), b, 2, errstr, es);
    if (!c)
        return LLMOPT_ERR_NOMEM;
    llmopt_err_t e = LLMOPT_OK;
    json_t *srcs[2] = {base, over};
    for (int s = 0; s < 2 && !e; s++) {
        const char *k;
        json_t *v;
        if (!json_is_object(srcs[s]))
            continue;
        json_object_foreach(srcs[s], k, v) {
            char buf[64];
            const char *val = json_string_value(v);
            if (json_is_integer(v))
                snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v)), val = buf;
            else if (json_is_real(v))
                snprintf(buf, sizeof(buf), "%.17g", json_real_value(v)), val = buf;
            else if (json_is_boolean(v))
                val = json_is_true(v) ? "true" : "false";
            if (!val) {
                e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "processor key '%s': expected a "
                                "string, number or boolean", k);
                break;
            }
            if ((e = llmopt_config_set(c, k, val, errstr, es)))
                break;
        }
    }
    if (!e)
        e = llmopt_proc_engine_config(&pc, ec, errstr, es);
    llmopt_config_destroy(c);
    if (e || !json_is_object(det))
        return e;
    static const char *const allowed[] = {"drift", "anomaly", "adwin_delta", "ph_threshold",
                                          "cusum_h", "zscore_threshold", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(det, k, v) {
        int ok = 0;
        for (int i = 0; allowed[i]; i++)
            ok |= !strcmp(allowed[i], k);
        if (!ok)
            return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, es, "detect: unknown member '%s' "
                               "(drift, anomaly, adwin_delta, ph_threshold, cusum_h, "
                               "zscore_threshold)", k);
    }
    llmopt_detect_config *d = &ec->detect;
    unsigned m;
    if ((v = json_object_get(det, "drift"))) {
        if ((e = detector_mask(v, "drift", &m, errstr, es)))
            return e;
        for (int i = 0; i < LLMOPT_DM_COUNT; i++)
            d->drift_mask[i] &= m;
    }
    if ((v = json_object_get(det, "anomaly"))) {
        if ((e = detector_mask(v, "anomaly", &m, errstr, es)))
            return e;
        for (int i = 0; i < LLMOPT_AM_COUNT; i++)
            d->anomaly_mask[i] &= m;
    }
    if ((v = json_object_get(det, "adwin_delta")))
        d->adwin.delta = json_number_value(v);
    if ((v = json_object_get(det, "ph_threshold")))
        d->ph.threshold = json_number_value(v);
    if ((v = json_object_get(det, "cusum_h")))
        d->cusum.h = json_number_value(v);
    if ((v = json_object_get(det, "zscore_threshold")))
        d->zscore.threshold = json_number_value(v);
    if ((e = llmopt_detect_config_check(d, errstr, es)))
        return e;
    return llmopt_engine_config_check(ec, errstr, es);
}

typedef struct cf_file {
    json_t *root;
    cf_setting set[MAX_SETTINGS];
    size_t n;
    double min_change;
    bool need_telemetry;
} cf_file;

static void cf_file_release(cf_file *f) {
    for (size_t i = 0; i < f->n; i++)
        llmopt_policy_destroy(f->set[i].policy);
    json_decref(f->root);
}

static llmopt_err_t cf_file_load(const char *path, cf_file *f, char *errstr, size_t es) {
    char pe[512];
    json_error_t je;
    llmopt_err_t e = LLMOPT_ERR_INVALID;
    char *ppath = NULL, *mpath = NULL, *pol = NULL, *mod = NULL;
    json_t *poljson = NULL;
    size_t plen = 0, mlen = 0;
    memset(f, 0, sizeof(*f));
    if (!(f->root = json_load_file(path, 0, &je)))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': %s (line %d, column %d)",
                           path, je.text, je.line, je.column);
    static const char *const top[] = {"controller", "processor", "changes", "settings",
                                      "reaction_min_change", "$comment", NULL};
    const char *k;
    json_t *v;
    json_object_foreach(f->root, k, v) {
        int ok = 0;
        for (int i = 0; top[i]; i++)
            ok |= !strcmp(top[i], k);
        if (!ok)
            return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, es, "settings '%s': unknown member '%s'",
                               path, k);
    }
    json_t *ctl = json_object_get(f->root, "controller");
    const char *pp = json_string_value(json_object_get(ctl, "policy"));
    if (!pp)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': controller.policy: the "
                           "live controller policy file is required", path);
    const char *mp = json_string_value(json_object_get(ctl, "models"));
    f->min_change = json_is_number(json_object_get(f->root, "reaction_min_change"))
                        ? json_number_value(json_object_get(f->root, "reaction_min_change"))
                        : 0.05;
    json_t *sets = json_object_get(f->root, "settings");
    if (!json_is_array(sets) || !json_array_size(sets) || json_array_size(sets) > MAX_SETTINGS)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': settings: expected an "
                           "array of 1 to %d settings", path, MAX_SETTINGS);
    if (!(ppath = rel_path(path, pp)) || (mp && *mp && !(mpath = rel_path(path, mp)))) {
        e = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, es, "out of memory");
        goto out;
    }
    if (!(pol = read_file(ppath, &plen, pe, sizeof(pe))) ||
        (mpath && !(mod = read_file(mpath, &mlen, pe, sizeof(pe))))) {
        e = llmopt_errf(LLMOPT_ERR_IO, errstr, es, "settings '%s': controller: %s", path, pe);
        goto out;
    }
    if (!(poljson = json_loadb(pol, plen, 0, &je))) {
        e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "policy '%s': %s (line %d, column %d)",
                        ppath, je.text, je.line, je.column);
        goto out;
    }
    size_t i;
    json_array_foreach(sets, i, v) {
        cf_setting *s = &f->set[f->n];
        static const char *const sk[] = {"name", "routes", "processor", "detect", "cadence_ms",
                                         "tick_ms", "checkpoint_ms", "seed", "$comment", NULL};
        const char *kk;
        json_t *vv;
        json_object_foreach(v, kk, vv) {
            int ok = 0;
            for (int j = 0; sk[j]; j++)
                ok |= !strcmp(sk[j], kk);
            if (!ok) {
                e = llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, es, "settings '%s': settings[%zu]: "
                                "unknown member '%s'", path, i, kk);
                goto out;
            }
        }
        s->spec = v;
        s->name = json_string_value(json_object_get(v, "name"));
        if (!s->name || !*s->name) {
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': settings[%zu].name: "
                            "expected a non-empty string", path, i);
            goto out;
        }
        for (size_t j = 0; j < f->n; j++)
            if (!strcmp(f->set[j].name, s->name)) {
                e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': two settings "
                                "named '%s'", path, s->name);
                goto out;
            }
        s->cadence_ms = get_int(v, "cadence_ms", get_int(ctl, "cadence_ms", 250));
        s->tick_ms = get_int(v, "tick_ms", get_int(ctl, "tick_ms", 100));
        s->checkpoint_ms = get_int(v, "checkpoint_ms", get_int(ctl, "checkpoint_ms", 1000));
        s->seed = (uint64_t)get_int(v, "seed", get_int(ctl, "seed", 1));
        if (s->cadence_ms < 1 || s->tick_ms < 1 || s->checkpoint_ms < 1) {
            e = llmopt_errf(LLMOPT_ERR_RANGE, errstr, es, "settings '%s': settings[%zu] ('%s'): "
                            "cadence_ms, tick_ms and checkpoint_ms must be >= 1", path, i, s->name);
            goto out;
        }
        json_t *pj = json_deep_copy(poljson);
        json_t *routes = json_object_get(v, "routes");
        if (routes && !json_is_object(routes)) {
            json_decref(pj);
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': settings[%zu].routes: "
                            "expected an object of route name (or \"*\") -> policy members",
                            path, i);
            goto out;
        }
        json_object_foreach(routes, kk, vv) {
            size_t ri, hits = 0;
            json_t *pr;
            json_array_foreach(json_object_get(pj, "routes"), ri, pr) {
                const char *rn = json_string_value(json_object_get(pr, "route"));
                if (!strcmp(kk, "*") || (rn && !strcmp(rn, kk))) {
                    merge(pr, vv);
                    hits++;
                }
            }
            if (!hits) {
                json_decref(pj);
                e = llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, es, "settings '%s': setting '%s' "
                                "names route '%s', which the policy '%s' does not have", path,
                                s->name, kk, ppath);
                goto out;
            }
        }
        char *txt = json_dumps(pj, JSON_COMPACT);
        json_decref(pj);
        s->policy = txt ? llmopt_policy_parse(txt, strlen(txt), mod, mlen, pe, sizeof(pe)) : NULL;
        free(txt);
        if (!s->policy) {
            e = llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': setting '%s': %s",
                            path, s->name, pe);
            goto out;
        }
        f->n++;
        json_t *po = json_object_get(v, "processor"), *dt = json_object_get(v, "detect");
        if (po || dt) {
            s->processor = true;
            f->need_telemetry = true;
            if ((e = engine_config(json_object_get(f->root, "processor"),
                                   json_is_object(po) ? po : NULL, dt, &s->ecfg, pe, sizeof(pe)))) {
                llmopt_errf(e, errstr, es, "settings '%s': setting '%s': %s", path, s->name, pe);
                goto out;
            }
        }
    }
    e = LLMOPT_OK;
out:
    json_decref(poljson);
    free(ppath);
    free(mpath);
    free(pol);
    free(mod);
    return e;
}

/* ---- running one setting ---------------------------------------------- */

static void on_decision(void *ctx, const llmopt_ctl_replay_decision *dec) {
    cf_run *r = ctx;
    const llmopt_policy_route *p = &r->s->policy->routes[dec->route];
    json_array_append_new(r->decisions, decision_json(p, dec->route_name, dec->version,
                                                      dec->ts_ms, dec->d, dec->signal_ids,
                                                      dec->n_signal_ids));
}

static void apply_signal(cf_run *r, const llmopt_signal *s) {
    char e[256];
    llmopt_err_t err = llmopt_ctl_replay_signal(r->rp, s, r->clock, e, sizeof(e));
    json_array_append_new(
        r->signals,
        json_pack("{s:o,s:o,s:o,s:s,s:s,s:o,s:s,s:f,s:f,s:I,s:I,s:b}", "signal_id",
                  jstr(s->signal_id), "route", jstr(s->route), "arm", jstr(s->arm), "kind",
                  llmopt_signal_kind_name(s->kind), "detector", llmopt_detector_name(s->detector),
                  "metric", jstr(s->metric), "direction", llmopt_direction_name(s->direction),
                  "before", isfinite(s->before) ? s->before : 0.0, "after",
                  isfinite(s->after) ? s->after : 0.0, "ts_ms", (json_int_t)s->ts_ms, "seen_ms",
                  (json_int_t)r->clock, "accepted", err == LLMOPT_OK));
}

static void eng_outcome(void *ctx, const llmopt_outcome *o) {
    cf_run *r = ctx;
    char e[256];
    llmopt_ctl_replay_outcome(r->rp, o, r->clock, e, sizeof(e));
}
static void eng_metrics(void *ctx, const llmopt_window_metrics *m) {
    cf_run *r = ctx;
    char e[256];
    llmopt_ctl_replay_metrics(r->rp, m, r->clock, e, sizeof(e));
}
static void eng_signal(void *ctx, const llmopt_signal *s) {
    apply_signal(ctx, s);
}
static void eng_dlq(void *ctx, const llmopt_engine_src *src, llmopt_dlq_reason reason,
                    const char *detail) {
    (void)src, (void)detail;
    cf_run *r = ctx;
    r->engine_dlq++;
    if ((unsigned)reason < LLMOPT_DLQ_COUNT)
        r->dlq_by[reason]++;
}

static void advance(cf_run *r, int64_t clock) {
    while (r->next_step <= clock) {
        llmopt_ctl_replay_step(r->rp, r->next_step);
        r->next_step += r->s->cadence_ms;
    }
    r->clock = clock;
}

static int64_t s_max_future(const cf_run *r) {
    return r->s->ecfg.max_future_ms;
}

static void part_destroy(cf_part *p) {
    if (!p)
        return;
    for (int t = 0; t < 3; t++)
        free(p->idx[t]);
    llmopt_request_release(&p->rq);
    llmopt_response_release(&p->rs);
    llmopt_feedback_release(&p->fb);
    llmopt_engine_destroy(p->eng);
    free(p);
}

/* Steps partition p's merge until its next FEED (p->feed = topic) or its
 * end (p->feed = -1). Records are all present, so no step waits. */
static void part_prepare(cf_run *r, cf_part *p) {
    cf_data *d = r->data;
    char e[256];
    for (;;) {
        llmopt_pmerge_topic heads[LLMOPT_PROC_IN_COUNT];
        for (int t = 0; t < LLMOPT_PROC_IN_COUNT; t++) {
            llmopt_pmerge_head h = p->head[t].head;
            if (p->cur[t] >= p->n[t])
                h = LLMOPT_PMERGE_ENDED;
            else if (h == LLMOPT_PMERGE_EMPTY || h == LLMOPT_PMERGE_ENDED)
                h = LLMOPT_PMERGE_QUEUED;
            p->head[t].head = h;
            heads[t] = p->head[t];
        }
        llmopt_pmerge_step st = llmopt_pmerge_next(heads);
        int t = st.topic;
        if (st.action == LLMOPT_PMERGE_FEED) {
            p->feed = t;
            return;
        }
        if (st.action != LLMOPT_PMERGE_DECODE && st.action != LLMOPT_PMERGE_DEAD) {
            p->feed = -1; /* DONE (WAIT cannot happen: every topic ends) */
            return;
        }
        if (st.action == LLMOPT_PMERGE_DEAD) {
            r->engine_dlq++;
            r->dlq_by[LLMOPT_DLQ_DECODE]++;
            p->cur[t]++;
            p->head[t].head = LLMOPT_PMERGE_EMPTY;
            continue;
        }
        const cf_rec *c = &d->recs[p->idx[t][p->cur[t]]];
        void *rec = t == 0 ? (void *)&p->rq : t == 1 ? (void *)&p->rs : (void *)&p->fb;
        if (decode(d->avro, kind_types[K_REQUEST + t], d->blob + c->at, c->len, rec, e,
                   sizeof(e))) {
            p->head[t].head = LLMOPT_PMERGE_BAD;
            continue;
        }
        int64_t ts = t == 0 ? p->rq.ts_ms : t == 1 ? p->rs.ts_ms : p->fb.ts_ms;
        p->head[t].head = LLMOPT_PMERGE_OK;
        p->head[t].key = llmopt_pmerge_key(p->eng, s_max_future(r), &p->emax, ts);
    }
}

/* The engine re-run: each partition in the live runner's merge order, the
 * partitions interleaved by the (running maximum of the) broker timestamp
 * of the record each would feed next; outputs reach the controller at that
 * clock. */
static llmopt_err_t run_engines(cf_run *r, int64_t *last, char *errstr, size_t es) {
    cf_data *d = r->data;
    cf_setting *s = r->s;
    llmopt_engine_sink sink = {eng_outcome, eng_metrics, eng_signal, eng_dlq, r};
    for (size_t i = 0; i < d->n; i++) {
        const cf_rec *c = &d->recs[i];
        if (c->kind < K_REQUEST || c->partition < 0 || c->partition >= MAX_ENGINES)
            continue;
        cf_part *p = r->part[c->partition];
        if (!p) {
            if (!(p = r->part[c->partition] = calloc(1, sizeof(*p))))
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, es, "out of memory");
            llmopt_request_init(&p->rq);
            llmopt_response_init(&p->rs);
            llmopt_feedback_init(&p->fb);
            p->emax = INT64_MIN;
            p->clock = INT64_MIN;
            if (!(p->eng = llmopt_engine_new(&s->ecfg, &sink, c->partition, errstr, es)))
                return LLMOPT_ERR_INVALID;
        }
        int t = c->kind - K_REQUEST;
        if (p->n[t] == p->cap[t]) {
            size_t nc = p->cap[t] ? 2 * p->cap[t] : 1024;
            size_t *ni = realloc(p->idx[t], nc * sizeof(*ni));
            if (!ni)
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, es, "out of memory");
            p->idx[t] = ni, p->cap[t] = nc;
        }
        p->idx[t][p->n[t]++] = i; /* d->recs keeps each stream in offset order */
    }
    for (int q = 0; q < MAX_ENGINES; q++)
        if (r->part[q])
            part_prepare(r, r->part[q]);
    for (;;) {
        cf_part *best = NULL;
        int64_t best_clock = 0;
        for (int q = 0; q < MAX_ENGINES; q++) {
            cf_part *p = r->part[q];
            if (!p || p->feed < 0)
                continue;
            int64_t ck = d->recs[p->idx[p->feed][p->cur[p->feed]]].clock;
            if (ck < p->clock)
                ck = p->clock;
            if (!best || ck < best_clock)
                best = p, best_clock = ck;
        }
        if (!best)
            break;
        best->clock = best_clock;
        advance(r, best_clock);
        *last = best_clock;
        int t = best->feed;
        const cf_rec *c = &d->recs[best->idx[t][best->cur[t]]];
        llmopt_engine_src src = {kind_names[c->kind], c->partition, c->offset};
        if (t == 0)
            llmopt_engine_on_request(best->eng, &best->rq, &src);
        else if (t == 1)
            llmopt_engine_on_response(best->eng, &best->rs, &src);
        else
            llmopt_engine_on_feedback(best->eng, &best->fb, &src);
        best->cur[t]++;
        best->head[t].head = LLMOPT_PMERGE_EMPTY;
        part_prepare(r, best);
    }
    return LLMOPT_OK;
}

static llmopt_err_t run_setting(cf_run *r, int64_t start_ms, char *errstr, size_t es) {
    cf_data *d = r->data;
    cf_setting *s = r->s;
    if (!(r->rp = llmopt_ctl_replay_new(s->policy, s->seed, s->tick_ms, s->checkpoint_ms, start_ms,
                                        on_decision, r, errstr, es)))
        return LLMOPT_ERR_INVALID;
    llmopt_ctl_replay_step(r->rp, start_ms); /* the initial decision */
    r->next_step = start_ms + s->cadence_ms;
    r->clock = start_ms;
    char e[256];
    int64_t last = start_ms;
    if (s->processor) {
        llmopt_err_t err = run_engines(r, &last, errstr, es);
        if (err)
            return err;
    } else {
        for (size_t i = 0; i < d->n; i++) {
            const cf_rec *c = &d->recs[i];
            if (c->kind >= K_REQUEST)
                continue;
            advance(r, c->clock);
            last = c->clock;
            if (decode(d->avro, kind_types[c->kind], d->blob + c->at, c->len, rec_of(d, c->kind),
                       e, sizeof(e)))
                continue;
            if (c->kind == K_OUTCOME)
                llmopt_ctl_replay_outcome(r->rp, &d->u.o, c->clock, e, sizeof(e));
            else if (c->kind == K_METRICS)
                llmopt_ctl_replay_metrics(r->rp, &d->u.m, c->clock, e, sizeof(e));
            else
                apply_signal(r, &d->u.s);
        }
    }
    advance(r, last + s->cadence_ms);
    return LLMOPT_OK;
}

/* ---- analysis ---------------------------------------------------------- */

static int dbl_cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

/* numpy's linear interpolation on sorted v */
static double quantile(const double *v, size_t n, double q) {
    if (!n)
        return NAN;
    double h = q * (double)(n - 1);
    size_t lo = (size_t)floor(h), hi = lo + 1 < n ? lo + 1 : lo;
    return v[lo] + (h - (double)lo) * (v[hi] - v[lo]);
}

static json_t *num_or_null(double x) {
    return isfinite(x) ? json_real(x) : json_null();
}

/* The decision of `route` in force at t (the last one at or before t). */
static json_t *in_force(json_t *decs, const char *route, int64_t t) {
    json_t *best = NULL, *x;
    size_t i;
    json_array_foreach(decs, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "route")), route))
            continue;
        if (json_integer_value(json_object_get(x, "ts_ms")) > t)
            break;
        best = x;
    }
    return best;
}

static double weight_of(json_t *dec, const char *arm) {
    json_t *w = dec ? json_object_get(json_object_get(dec, "weights"), arm) : NULL;
    return w ? json_number_value(w) : NAN;
}

/* First decision of route at or after t moving arm's weight by >= dmin from
 * the weight in force at t; NULL when none. */
static json_t *first_move(json_t *decs, const char *route, const char *arm, int64_t t,
                          double dmin) {
    double w0 = weight_of(in_force(decs, route, t), arm);
    json_t *x;
    size_t i;
    json_array_foreach(decs, i, x) {
        if (strcmp(json_string_value(json_object_get(x, "route")), route) ||
            json_integer_value(json_object_get(x, "ts_ms")) < t)
            continue;
        double w = weight_of(x, arm);
        if (isfinite(w) && (!isfinite(w0) || fabs(w - w0) >= dmin))
            return x;
    }
    return NULL;
}

static void add_summary(json_t *set, json_t *logged, cf_file *f, json_t *changes) {
    json_t *decs = json_object_get(set, "decisions"), *sigs = json_object_get(set, "signals");
    size_t n = json_array_size(sigs), i, reacted = 0;
    double *rt = malloc((n ? n : 1) * sizeof(double));
    json_t *s;
    json_array_foreach(sigs, i, s) {
        const char *route = json_string_value(json_object_get(s, "route"));
        const char *arm = json_string_value(json_object_get(s, "arm"));
        const char *id = json_string_value(json_object_get(s, "signal_id"));
        int64_t seen = json_integer_value(json_object_get(s, "seen_ms"));
        json_t *carried = NULL, *x;
        size_t j;
        json_array_foreach(decs, j, x) {
            size_t q;
            json_t *sid;
            json_array_foreach(json_object_get(x, "signal_ids"), q, sid)
                if (!strcmp(json_string_value(sid), id))
                    carried = x;
            if (carried)
                break;
        }
        json_t *mv = first_move(decs, route, arm, seen, f->min_change);
        json_object_set_new(s, "decided_ms", carried ? json_integer(json_integer_value(
                                                           json_object_get(carried, "ts_ms")))
                                                     : json_null());
        if (mv) {
            int64_t dt = json_integer_value(json_object_get(mv, "ts_ms")) - seen;
            json_object_set_new(s, "reaction_ms", json_integer(dt));
            json_object_set_new(s, "weight_after", json_real(weight_of(mv, arm)));
            rt[reacted++] = (double)dt;
        } else {
            json_object_set_new(s, "reaction_ms", json_null());
        }
    }
    if (reacted)
        qsort(rt, reacted, sizeof(double), dbl_cmp);
    json_t *sum = json_pack("{s:I,s:I,s:I,s:o,s:o}", "decisions",
                            (json_int_t)json_array_size(decs), "signals", (json_int_t)n,
                            "reacted", (json_int_t)reacted, "reaction_ms_median",
                            num_or_null(quantile(rt, reacted, 0.5)), "reaction_ms_p90",
                            num_or_null(quantile(rt, reacted, 0.9)));
    free(rt);
    /* agreement with the logged decisions, per route */
    json_t *agree = json_array();
    json_t *routes = json_object();
    json_t *x;
    json_array_foreach(logged, i, x)
        json_object_set_new(routes, json_string_value(json_object_get(x, "route")), json_true());
    const char *route;
    json_t *dummy;
    json_object_foreach(routes, route, dummy) {
        size_t m = 0, same_state = 0, common = 0, nlog_ids = 0, nrep_ids = 0;
        double *dw = malloc((json_array_size(logged) + 1) * sizeof(double));
        json_t *log_ids = json_object(), *rep_ids = json_object();
        json_array_foreach(logged, i, x) {
            if (strcmp(json_string_value(json_object_get(x, "route")), route))
                continue;
            size_t q;
            json_t *sid;
            json_array_foreach(json_object_get(x, "signal_ids"), q, sid)
                json_object_set_new(log_ids, json_string_value(sid), json_true());
            json_t *rd = in_force(decs, route, json_integer_value(json_object_get(x, "ts_ms")));
            if (!rd)
                continue;
            double worst = 0;
            bool st = true;
            const char *arm;
            json_t *w;
            json_object_foreach(json_object_get(x, "weights"), arm, w) {
                double rw = weight_of(rd, arm);
                worst = fmax(worst, isfinite(rw) ? fabs(rw - json_number_value(w)) : 1.0);
                json_t *a = json_object_get(json_object_get(x, "states"), arm);
                json_t *b = json_object_get(json_object_get(rd, "states"), arm);
                st = st && a && b && !strcmp(json_string_value(a), json_string_value(b));
            }
            dw[m++] = worst;
            same_state += st;
        }
        json_array_foreach(decs, i, x) {
            size_t q;
            json_t *sid;
            if (strcmp(json_string_value(json_object_get(x, "route")), route))
                continue;
            json_array_foreach(json_object_get(x, "signal_ids"), q, sid)
                json_object_set_new(rep_ids, json_string_value(sid), json_true());
        }
        const char *k;
        json_t *v;
        json_object_foreach(log_ids, k, v) {
            nlog_ids++;
            common += json_object_get(rep_ids, k) != NULL;
        }
        nrep_ids = json_object_size(rep_ids);
        if (m)
            qsort(dw, m, sizeof(double), dbl_cmp);
        double mean = 0;
        for (size_t q = 0; q < m; q++)
            mean += dw[q] / (double)m;
        json_array_append_new(
            agree, json_pack("{s:s,s:I,s:{s:o,s:o,s:o,s:o},s:o,s:I,s:I,s:I}", "route", route,
                             "logged_decisions", (json_int_t)m, "max_abs_weight_diff", "mean",
                             num_or_null(m ? mean : NAN), "p50", num_or_null(quantile(dw, m, 0.5)),
                             "p95", num_or_null(quantile(dw, m, 0.95)), "max",
                             num_or_null(m ? dw[m - 1] : NAN), "state_agreement",
                             num_or_null(m ? (double)same_state / (double)m : NAN),
                             "signal_ids_logged", (json_int_t)nlog_ids, "signal_ids_replayed",
                             (json_int_t)nrep_ids, "signal_ids_common", (json_int_t)common));
        free(dw);
        json_decref(log_ids);
        json_decref(rep_ids);
    }
    json_decref(routes);
    json_object_set_new(sum, "agreement", agree);
    json_object_set_new(set, "summary", sum);
    /* detection and reaction per declared change */
    json_t *ch = json_array(), *c;
    json_array_foreach(changes, i, c) {
        const char *arm = json_string_value(json_object_get(c, "arm"));
        const char *croute = json_string_value(json_object_get(c, "route"));
        int64_t at = json_integer_value(json_object_get(c, "at_ms"));
        json_t *first = NULL;
        size_t j;
        json_array_foreach(sigs, j, s) {
            if (strcmp(json_string_value(json_object_get(s, "arm")), arm) ||
                (croute && strcmp(json_string_value(json_object_get(s, "route")), croute)) ||
                json_integer_value(json_object_get(s, "ts_ms")) < at)
                continue;
            if (!first || json_integer_value(json_object_get(s, "ts_ms")) <
                              json_integer_value(json_object_get(first, "ts_ms")))
                first = s;
        }
        json_t *row = json_pack("{s:O,s:s,s:I}", "label", json_object_get(c, "label"), "arm", arm,
                                "at_ms", (json_int_t)at);
        if (first) {
            json_object_set_new(row, "signal_id", json_deep_copy(json_object_get(first, "signal_id")));
            json_object_set_new(row, "detector", json_deep_copy(json_object_get(first, "detector")));
            json_object_set_new(row, "metric", json_deep_copy(json_object_get(first, "metric")));
            json_object_set_new(row, "detection_ms",
                                json_integer(json_integer_value(json_object_get(first, "ts_ms")) - at));
            json_object_set_new(row, "seen_ms", json_deep_copy(json_object_get(first, "seen_ms")));
            json_object_set_new(row, "reaction_ms", json_deep_copy(json_object_get(first, "reaction_ms")));
        } else {
            json_object_set_new(row, "detection_ms", json_null());
            json_object_set_new(row, "reaction_ms", json_null());
        }
        json_array_append_new(ch, row);
    }
    json_object_set_new(set, "changes", ch);
}

/* ---- entry ------------------------------------------------------------- */

json_t *llmopt_bt_cf_run(const llmopt_backtest_conf *conf, const llmopt_config *cfg,
                         int64_t from_ms, int64_t to_ms, char *errstr, size_t es) {
    cf_file f;
    cf_data d;
    json_t *out = NULL, *changes = json_array(), *warn = json_array();
    memset(&d, 0, sizeof(d));
    d.from_ms = from_ms, d.to_ms = to_ms;
    d.seen = json_object();
    d.logged = json_array();
    recs_init(&d);
    if (cf_file_load(conf->settings, &f, errstr, es) != LLMOPT_OK) {
        cf_file_release(&f);
        goto out;
    }
    size_t i;
    json_t *c;
    json_array_foreach(json_object_get(f.root, "changes"), i, c) {
        json_t *at = json_object_get(c, "at");
        int64_t ms = 0;
        const char *arm = json_string_value(json_object_get(c, "arm"));
        if (!arm || !(json_is_integer(at) ? (ms = json_integer_value(at), 1)
                                          : json_is_string(at) &&
                                                !llmopt_bt_parse_time(json_string_value(at), &ms))) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "settings '%s': changes[%zu]: needs \"at\" "
                        "(epoch ms or ISO-8601 UTC) and \"arm\"", conf->settings, i);
            cf_file_release(&f);
            goto out;
        }
        json_t *row = json_pack("{s:I,s:s}", "at_ms", (json_int_t)ms, "arm", arm);
        json_t *lab = json_object_get(c, "label");
        json_object_set_new(row, "label", lab ? json_incref(lab) : json_string(arm));
        if (json_is_string(json_object_get(c, "route")))
            json_object_set(row, "route", json_object_get(c, "route"));
        json_array_append_new(changes, row);
    }
    char e[512];
    if (!(d.avro = llmopt_avro_codec_new(llmopt_avro_builtin_source(), e, sizeof(e)))) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, es, "%s", e);
        cf_file_release(&f);
        goto out;
    }
    const char *topics[K_COUNT] = {conf->outcomes_topic, conf->metrics_topic,
                                   conf->signals_topic,  conf->requests_topic,
                                   conf->responses_topic, conf->feedback_topic};
    int nk = f.need_telemetry ? K_COUNT : K_REQUEST;
    for (int k = 0; k < nk; k++) {
        d.kind = k;
        llmopt_bt_read_opts o = {.topic = topics[k], .from_ms = from_ms, .to_ms = to_ms,
                                 .slack_ms = 0, .timeout_ms = conf->timeout_ms};
        if (llmopt_bt_read_topic(cfg, &o, on_msg, &d)) {
            llmopt_errf(LLMOPT_ERR_IO, errstr, es, "cannot read '%s' (see above)", topics[k]);
            cf_file_release(&f);
            goto out;
        }
    }
    {
        llmopt_bt_read_opts o = {.topic = conf->routing_topic, .from_ms = from_ms, .to_ms = to_ms,
                                 .slack_ms = 0, .timeout_ms = conf->timeout_ms};
        if (llmopt_bt_read_topic(cfg, &o, on_routing, &d)) {
            llmopt_errf(LLMOPT_ERR_IO, errstr, es, "cannot read '%s' (see above)",
                        conf->routing_topic);
            cf_file_release(&f);
            goto out;
        }
    }
    /* one stream per (topic, partition), kept in offset order: each record's
     * clock is raised to the largest broker timestamp before it in its
     * partition (producers' clocks may step back), then the streams merge */
    if (d.n)
        qsort(d.recs, d.n, sizeof(cf_rec), stream_cmp);
    for (size_t q = 1; q < d.n; q++)
        if (d.recs[q].kind == d.recs[q - 1].kind &&
            d.recs[q].partition == d.recs[q - 1].partition &&
            d.recs[q].clock < d.recs[q - 1].clock)
            d.recs[q].clock = d.recs[q - 1].clock;
    if (d.n)
        qsort(d.recs, d.n, sizeof(cf_rec), rec_cmp);
    {
        size_t nl = json_array_size(d.logged);
        json_t **v = malloc((nl ? nl : 1) * sizeof(json_t *));
        for (size_t q = 0; q < nl; q++)
            v[q] = json_incref(json_array_get(d.logged, q));
        qsort(v, nl, sizeof(json_t *), logged_cmp);
        json_array_clear(d.logged);
        for (size_t q = 0; q < nl; q++)
            json_array_append_new(d.logged, v[q]);
        free(v);
    }
    json_t *inputs = json_object();
    for (int k = 0; k < nk; k++)
        json_object_set_new(inputs, kind_names[k], json_integer((json_int_t)d.read[k]));
    out = json_pack("{s:s,s:s,s:o,s:o,s:I,s:I,s:{s:s,s:I,s:o},s:o,s:f}", "status", "ok",
                    "clock", "broker", "from_ms",
                    from_ms == INT64_MIN ? json_null() : json_integer(from_ms), "to_ms",
                    to_ms == INT64_MAX ? json_null() : json_integer(to_ms), "records_in_range",
                    (json_int_t)d.n, "decode_errors", (json_int_t)d.decode_errors, "logged",
                    "topic", conf->routing_topic, "heartbeats", (json_int_t)d.heartbeats,
                    "decisions", json_incref(d.logged), "records_read", inputs,
                    "reaction_min_change", f.min_change);
    json_object_set_new(out, "changes", json_incref(changes));
    size_t n_ctl = 0;
    int64_t first = INT64_MAX, lastc = INT64_MIN;
    for (size_t q = 0; q < d.n; q++) {
        n_ctl += d.recs[q].kind < K_REQUEST;
        first = d.recs[q].clock < first ? d.recs[q].clock : first;
        lastc = d.recs[q].clock > lastc ? d.recs[q].clock : lastc;
    }
    if (d.n == 0 || (n_ctl == 0 && !f.need_telemetry)) {
        json_object_set_new(out, "status", json_string("no_data"));
        json_object_set_new(out, "settings", json_array());
        json_object_set_new(out, "warnings", json_incref(warn));
        fprintf(stderr, "llmopt backtest: no controller input (%s, %s, %s) in the range\n",
                conf->outcomes_topic, conf->metrics_topic, conf->signals_topic);
        cf_file_release(&f);
        goto out;
    }
    /* every arm a setting names must appear in the logs */
    for (size_t s = 0; s < f.n; s++) {
        const llmopt_policy *p = f.set[s].policy;
        for (size_t r = 0; r < p->n_routes; r++) {
            json_t *seen = json_object_get(d.seen, p->routes[r].route);
            if (!seen) {
                char w[512];
                snprintf(w, sizeof(w), "setting '%s': route '%s' has no record in the range",
                         f.set[s].name, p->routes[r].route);
                json_array_append_new(warn, json_string(w));
                continue;
            }
            for (size_t a = 0; a < p->routes[r].n_arms; a++)
                if (!json_object_get(seen, p->routes[r].arms[a].id)) {
                    llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, es, "setting '%s': route '%s' names "
                                "arm '%s', which appears in no logged record of the range",
                                f.set[s].name, p->routes[r].route, p->routes[r].arms[a].id);
                    json_decref(out);
                    out = NULL;
                    cf_file_release(&f);
                    goto out;
                }
        }
    }
    /* the replay starts where the live leader did: its first decision in the
     * range, or the first input */
    int64_t start = first;
    json_t *x;
    json_array_foreach(d.logged, i, x) {
        int64_t t = json_integer_value(json_object_get(x, "ts_ms"));
        start = t < start ? t : start;
    }
    json_t *sets = json_array();
    for (size_t s = 0; s < f.n; s++) {
        cf_run r;
        memset(&r, 0, sizeof(r));
        r.s = &f.set[s];
        r.data = &d;
        r.decisions = json_array();
        r.signals = json_array();
        llmopt_err_t re = run_setting(&r, start, e, sizeof(e));
        llmopt_ctl_replay_stats st = {0};
        if (r.rp)
            llmopt_ctl_replay_get_stats(r.rp, &st);
        llmopt_ctl_replay_destroy(r.rp);
        for (int p = 0; p < MAX_ENGINES; p++)
            part_destroy(r.part[p]);
        if (re) {
            llmopt_errf(re, errstr, es, "setting '%s': %s", f.set[s].name, e);
            json_decref(r.decisions);
            json_decref(r.signals);
            json_decref(sets);
            json_decref(out);
            out = NULL;
            cf_file_release(&f);
            goto out;
        }
        json_t *so = json_pack("{s:s,s:O,s:b,s:I,s:I,s:I,s:{s:I,s:I,s:I,s:I,s:I,s:I},s:o,s:o}",
                               "name", f.set[s].name, "spec", f.set[s].spec, "processor",
                               f.set[s].processor, "cadence_ms", (json_int_t)f.set[s].cadence_ms,
                               "tick_ms", (json_int_t)f.set[s].tick_ms, "seed",
                               (json_int_t)f.set[s].seed, "stats", "inputs",
                               (json_int_t)st.inputs, "rejected", (json_int_t)st.rejected,
                               "unknown_route", (json_int_t)st.unknown_route, "steps",
                               (json_int_t)st.steps, "decisions", (json_int_t)st.decisions,
                               "engine_dlq", (json_int_t)r.engine_dlq, "decisions", r.decisions,
                               "signals", r.signals);
        json_t *dq = json_object();
        for (int q = 0; q < LLMOPT_DLQ_COUNT; q++)
            if (r.dlq_by[q])
                json_object_set_new(dq, llmopt_dlq_reason_name((llmopt_dlq_reason)q),
                                    json_integer((json_int_t)r.dlq_by[q]));
        json_object_set_new(json_object_get(so, "stats"), "engine_dlq_by_reason", dq);
        add_summary(so, d.logged, &f, changes);
        json_array_append_new(sets, so);
    }
    json_object_set_new(out, "first_ms", json_integer(first));
    json_object_set_new(out, "last_ms", json_integer(lastc));
    json_object_set_new(out, "settings", sets);
    json_object_set_new(out, "warnings", json_incref(warn));
    cf_file_release(&f);
out:
    json_decref(changes);
    json_decref(warn);
    json_decref(d.seen);
    json_decref(d.logged);
    free(d.recs);
    free(d.blob);
    llmopt_avro_codec_destroy(d.avro);
    recs_release(&d);
    return out;
}
