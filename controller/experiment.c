/*
 * experiment.c - experiments (see experiment.h).
 */
#include "controller/experiment.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"
#include "controller/core/seqtest.h"
#include "controller/core/stats.h"

static const llmopt_logger lg = LLMOPT_LOGGER("experiment");

#define MAX_VARIANTS 8
#define MAX_METRICS 4
#define SRM_P 0.001

typedef enum metric { M_REWARD = 0, M_QUALITY, M_ERROR_RATE, M_COUNT } metric;
static const char *const metric_names[M_COUNT] = {"reward", "quality", "error_rate"};
static const int higher_better[M_COUNT] = {1, 1, 0};

typedef struct variant {
    char name[64];
    char arm[128];
    double alloc;
    int control;
    double requests;
} variant;

typedef struct experiment {
    char id[128];
    char route[256];
    char status[16];            /* running, frozen, stopped, concluded */
    char winner[64];
    int64_t started_ms, max_duration_ms;
    double alpha, tau2;
    uint64_t min_samples;
    variant v[MAX_VARIANTS];
    size_t nv, control;
    metric metrics[MAX_METRICS]; /* [0] primary, then guardrails */
    size_t nm;
    llmopt_msprt t[MAX_VARIANTS][MAX_METRICS]; /* per treatment (index of v) */
    int fresh;                  /* new data since the last evaluation */
    int dirty;                  /* to write */
    int ended;                  /* status changed from running */
    int seen;                   /* still running at the last reload */
    int lifted;                 /* ended and its split removed from the route */
    char evaluation[2048];
} experiment;

struct llmopt_exp_set {
    llmopt_ctl_store *store;
    experiment *e;
    size_t n, cap;
};

llmopt_exp_set *llmopt_exp_set_new(llmopt_ctl_store *store, char *errstr, size_t errstr_size) {
    llmopt_exp_set *s = calloc(1, sizeof(*s));
    if (!s) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    s->store = store;
    return s;
}

void llmopt_exp_set_destroy(llmopt_exp_set *s) {
    if (!s)
        return;
    free(s->e);
    free(s);
}

static int metric_of(const char *name) {
    for (int i = 0; i < M_COUNT; i++)
        if (!strcmp(name, metric_names[i]))
            return i;
    return -1;
}

static void state_serialize(const experiment *x, llmopt_wbuf *w) {
    llmopt_wbuf_header(w, "CEXP", 1);
    llmopt_wbuf_u32(w, (uint32_t)x->nv);
    llmopt_wbuf_u32(w, (uint32_t)x->nm);
    for (size_t i = 0; i < x->nv; i++) {
        llmopt_wbuf_f64(w, x->v[i].requests);
        for (size_t m = 0; m < x->nm; m++) {
            const llmopt_msprt *t = &x->t[i][m];
            const llmopt_msprt_arm *sides[2] = {&t->a, &t->b};
            for (int k = 0; k < 2; k++) {
                llmopt_wbuf_f64(w, sides[k]->n);
                llmopt_wbuf_f64(w, sides[k]->mean);
                llmopt_wbuf_f64(w, sides[k]->m2);
            }
            llmopt_wbuf_u64(w, t->looks);
            llmopt_wbuf_f64(w, t->p);
            llmopt_wbuf_f64(w, t->ci_lo);
            llmopt_wbuf_f64(w, t->ci_hi);
        }
    }
}

/* Restores counts and test state into x (already initialised from its
 * config); a blob for another shape is ignored (evaluation restarts). */
static void state_deserialize(experiment *x, const uint8_t *b, size_t len) {
    llmopt_rbuf r;
    llmopt_rbuf_init(&r, b, len);
    if (llmopt_rbuf_header(&r, "CEXP", 1) != 1 || llmopt_rbuf_u32(&r) != x->nv ||
        llmopt_rbuf_u32(&r) != x->nm || r.err)
        return;
    experiment t = *x;
    for (size_t i = 0; i < t.nv; i++) {
        t.v[i].requests = llmopt_rbuf_f64(&r);
        for (size_t m = 0; m < t.nm; m++) {
            llmopt_msprt *s = &t.t[i][m];
            llmopt_msprt_arm *sides[2] = {&s->a, &s->b};
            for (int k = 0; k < 2; k++) {
                sides[k]->n = llmopt_rbuf_f64(&r);
                sides[k]->mean = llmopt_rbuf_f64(&r);
                sides[k]->m2 = llmopt_rbuf_f64(&r);
                if (!(sides[k]->n >= 0) || !isfinite(sides[k]->mean) || !(sides[k]->m2 >= 0))
                    r.err = LLMOPT_ERR_RANGE;
            }
            s->looks = llmopt_rbuf_u64(&r);
            s->p = llmopt_rbuf_f64(&r);
            s->ci_lo = llmopt_rbuf_f64(&r);
            s->ci_hi = llmopt_rbuf_f64(&r);
            if (!(s->p >= 0 && s->p <= 1))
                r.err = LLMOPT_ERR_RANGE;
        }
        if (!(t.v[i].requests >= 0))
            r.err = LLMOPT_ERR_RANGE;
    }
    if (!r.err && !r.left)
        *x = t;
    else
        llmopt_log_warn(&lg, "experiment '%s': stored state unusable, evaluation restarts", x->id);
}

static int hexv(char c) {
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static llmopt_err_t load_one(llmopt_exp_set *s, PGresult *res, int row, experiment *x,
                             char *errstr, size_t errstr_size) {
    memset(x, 0, sizeof(*x));
    snprintf(x->id, sizeof(x->id), "%s", PQgetvalue(res, row, 0));
    snprintf(x->route, sizeof(x->route), "%s", PQgetvalue(res, row, 1));
    snprintf(x->status, sizeof(x->status), "%s", PQgetvalue(res, row, 2));
    int pm = metric_of(PQgetvalue(res, row, 3));
    if (pm < 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "experiment '%s': primary metric '%s' is not reward, quality or "
                           "error_rate", x->id, PQgetvalue(res, row, 3));
    x->metrics[x->nm++] = (metric)pm;
    json_t *g = json_loads(PQgetvalue(res, row, 4), 0, NULL);
    for (size_t i = 0; g && json_is_array(g) && i < json_array_size(g) && x->nm < MAX_METRICS; i++) {
        json_t *it = json_array_get(g, i);
        const char *mn = json_string_value(json_object_get(it, "metric"));
        int m = mn ? metric_of(mn) : -1;
        if (m >= 0 && m != pm)
            x->metrics[x->nm++] = (metric)m;
    }
    json_decref(g);
    x->started_ms = (int64_t)strtod(PQgetvalue(res, row, 5), NULL);
    x->max_duration_ms = strtoll(PQgetvalue(res, row, 6), NULL, 10);
    x->alpha = strtod(PQgetvalue(res, row, 7), NULL);
    x->tau2 = strtod(PQgetvalue(res, row, 8), NULL);
    x->min_samples = strtoull(PQgetvalue(res, row, 9), NULL, 10);
    /* variants */
    const char *params[] = {x->id};
    PGresult *vr = NULL;
    llmopt_err_t e = llmopt_pg_query(llmopt_ctl_store_pg(s->store),
                                     "SELECT variant, arm, allocation, is_control FROM "
                                     "llmopt.experiment_arms WHERE experiment_id = $1 ORDER BY "
                                     "variant",
                                     1, params, &vr, errstr, errstr_size);
    if (e)
        return e;
    int nctl = 0;
    for (int i = 0; i < PQntuples(vr) && x->nv < MAX_VARIANTS; i++) {
        variant *v = &x->v[x->nv++];
        snprintf(v->name, sizeof(v->name), "%s", PQgetvalue(vr, i, 0));
        snprintf(v->arm, sizeof(v->arm), "%s", PQgetvalue(vr, i, 1));
        v->alloc = strtod(PQgetvalue(vr, i, 2), NULL);
        v->control = PQgetvalue(vr, i, 3)[0] == 't';
        if (v->control) {
            x->control = x->nv - 1;
            nctl++;
        }
    }
    PQclear(vr);
    if (x->nv < 2 || nctl != 1)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "experiment '%s': needs >= 2 variants and exactly one control",
                           x->id);
    llmopt_msprt_config mc;
    for (size_t i = 0; i < x->nv; i++)
        for (size_t m = 0; m < x->nm; m++) {
            llmopt_msprt_config_default(&mc, x->tau2);
            mc.alpha = x->alpha;
            mc.min_n = x->min_samples;
            if ((e = llmopt_msprt_init(&x->t[i][m], &mc, errstr, errstr_size)))
                return e;
        }
    if (!PQgetisnull(res, row, 10)) {
        const char *h = PQgetvalue(res, row, 10);
        size_t hl = (size_t)PQgetlength(res, row, 10);
        if (hl >= 2 && h[0] == '\\' && h[1] == 'x' && hl % 2 == 0) {
            size_t n = (hl - 2) / 2;
            uint8_t *b = malloc(n ? n : 1);
            int ok = b != NULL;
            for (size_t i = 0; ok && i < n; i++) {
                int hi = hexv(h[2 + 2 * i]), lo = hexv(h[3 + 2 * i]);
                ok = hi >= 0 && lo >= 0;
                if (ok)
                    b[i] = (uint8_t)(hi << 4 | lo);
            }
            if (ok)
                state_deserialize(x, b, n);
            free(b);
        }
    }
    return LLMOPT_OK;
}

llmopt_err_t llmopt_exp_set_reload(llmopt_exp_set *s, const char *route, char *errstr,
                                   size_t errstr_size) {
    (void)route; /* experiments are few: always reload them all */
    PGresult *res = NULL;
    llmopt_err_t e = llmopt_pg_query(
        llmopt_ctl_store_pg(s->store),
        "SELECT e.experiment_id, e.route, e.status, e.primary_metric, e.guardrails::text, "
        "COALESCE(extract(epoch FROM e.started_at) * 1000, 0), c.max_duration_ms, c.alpha, "
        "c.tau2, c.min_samples, c.state FROM llmopt.experiments e JOIN "
        "llmopt.controller_experiments c USING (experiment_id) WHERE e.status IN ('running', "
        "'frozen') ORDER BY e.experiment_id",
        0, NULL, &res, errstr, errstr_size);
    if (e)
        return e;
    for (size_t i = 0; i < s->n; i++)
        s->e[i].seen = 0;
    size_t n_old = s->n;
    for (int row = 0; row < PQntuples(res); row++) {
        const char *id = PQgetvalue(res, row, 0);
        size_t j = 0;
        while (j < n_old && strcmp(s->e[j].id, id))
            j++;
        if (j < n_old) {
            s->e[j].seen = 1;
            snprintf(s->e[j].status, sizeof(s->e[j].status), "%s", PQgetvalue(res, row, 2));
            continue;
        }
        if (s->n == s->cap) {
            size_t nc = s->cap ? 2 * s->cap : 8;
            experiment *ne = realloc(s->e, nc * sizeof(*ne));
            if (!ne) {
                PQclear(res);
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            }
            s->e = ne;
            s->cap = nc;
        }
        char le[256];
        if (load_one(s, res, row, &s->e[s->n], le, sizeof(le))) {
            llmopt_log_error(&lg, "skipping: %s", le);
            continue;
        }
        s->e[s->n].seen = 1;
        s->e[s->n].fresh = 1;
        llmopt_log_info(&lg, "experiment '%s' on route '%s': %zu variants, %s", s->e[s->n].id,
                        s->e[s->n].route, s->e[s->n].nv, s->e[s->n].status);
        s->n++;
    }
    PQclear(res);
    /* experiments no longer running (an operator stopped them) are marked
     * ended so the next tick lifts their split */
    for (size_t i = 0; i < n_old; i++)
        if (!s->e[i].seen && !s->e[i].ended) {
            s->e[i].ended = 1;
            snprintf(s->e[i].status, sizeof(s->e[i].status), "stopped");
            s->e[i].dirty = 0; /* the operator wrote it */
        }
    return LLMOPT_OK;
}

/* The metric's window summary: n, mean, m2. */
static int window_metric(metric m, const llmopt_window_metrics *w, double *n, double *mean,
                         double *m2) {
    switch (m) {
    case M_REWARD:
        if (!w->has_reward_mean || w->reward_count <= 0)
            return 0;
        *n = (double)w->reward_count;
        *mean = w->reward_mean;
        *m2 = w->has_reward_variance ? w->reward_variance * (*n > 1 ? *n - 1 : 0) : 0;
        return 1;
    case M_QUALITY:
        if (!w->has_quality_mean || w->quality_count <= 0)
            return 0;
        *n = (double)w->quality_count;
        *mean = w->quality_mean;
        *m2 = w->has_quality_variance ? w->quality_variance * (*n > 1 ? *n - 1 : 0) : 0;
        return 1;
    case M_ERROR_RATE: {
        if (w->count <= 0)
            return 0;
        double p = (double)(w->error_count + w->timeout_count) / (double)w->count;
        *n = (double)w->count;
        *mean = p;
        *m2 = *n * p * (1 - p); /* Bernoulli: exact sum of squared deviations */
        return 1;
    }
    default:
        return 0;
    }
}

void llmopt_exp_set_window(llmopt_exp_set *s, const llmopt_route *r,
                           const llmopt_window_metrics *w) {
    /* tumbling windows only: hopping ones overlap and would count twice */
    if (!s || w->window_kind != LLMOPT_WINDOW_TUMBLING)
        return;
    const char *route = llmopt_route_name(r);
    for (size_t i = 0; i < s->n; i++) {
        experiment *x = &s->e[i];
        if (x->ended || strcmp(x->route, route) || strcmp(x->status, "running"))
            continue;
        for (size_t v = 0; v < x->nv; v++) {
            if (strlen(x->v[v].arm) != w->arm.len || memcmp(x->v[v].arm, w->arm.ptr, w->arm.len))
                continue;
            x->v[v].requests += (double)w->count;
            for (size_t m = 0; m < x->nm; m++) {
                double n, mean, m2;
                if (!window_metric(x->metrics[m], w, &n, &mean, &m2))
                    continue;
                /* control windows go to side A of every treatment's test */
                for (size_t t = 0; t < x->nv; t++) {
                    if (t == x->control)
                        continue;
                    if (v == x->control)
                        llmopt_msprt_add(&x->t[t][m], 0, n, mean, m2);
                    else if (v == t)
                        llmopt_msprt_add(&x->t[t][m], 1, n, mean, m2);
                }
            }
            x->fresh = 1;
            x->dirty = 1;
        }
    }
}

static void end(experiment *x, const char *status, const char *winner, const char *why,
                llmopt_exp_alert_fn alert, void *actx, const char *alert_kind) {
    snprintf(x->status, sizeof(x->status), "%s", status);
    snprintf(x->winner, sizeof(x->winner), "%s", winner ? winner : "");
    x->ended = 1;
    x->dirty = 1;
    char msg[700];
    snprintf(msg, sizeof(msg), "experiment '%.127s' on route '%.255s' %.15s: %.255s", x->id,
             x->route, status, why);
    llmopt_log_info(&lg, "%s", msg);
    if (alert_kind && alert)
        alert(actx, alert_kind, msg);
}

static void evaluate(experiment *x, llmopt_route *r, int64_t now_ms, llmopt_exp_alert_fn alert,
                     void *actx) {
    if (strcmp(x->status, "running"))
        return;
    if (x->started_ms > 0 && now_ms - x->started_ms > x->max_duration_ms) {
        end(x, "stopped", NULL, "max duration reached without a significant winner", alert,
            actx, NULL);
        return;
    }
    if (!x->fresh)
        return;
    x->fresh = 0;
    char *ev = x->evaluation;
    size_t es = sizeof(x->evaluation);
    /* SRM */
    double obs[MAX_VARIANTS], wts[MAX_VARIANTS], tot = 0;
    for (size_t v = 0; v < x->nv; v++) {
        obs[v] = x->v[v].requests;
        wts[v] = x->v[v].alloc > 0 ? x->v[v].alloc : 1e-9;
        tot += obs[v];
    }
    llmopt_stats_chi2 srm = {0, 0, 1};
    if (tot > 0 && llmopt_stats_chi2_gof(obs, wts, x->nv, &srm) == LLMOPT_OK && srm.p < SRM_P) {
        snprintf(ev, es, "{\"srm_p\":%.6g,\"verdict\":\"frozen\"}", srm.p);
        char why[160];
        snprintf(why, sizeof(why), "sample ratio mismatch (chi-square p = %.3g < %.3g)", srm.p,
                 SRM_P);
        /* frozen keeps the split but draws no conclusion */
        snprintf(x->status, sizeof(x->status), "frozen");
        x->dirty = 1;
        char msg[640];
        snprintf(msg, sizeof(msg), "experiment '%.127s' on route '%.255s' frozen: %.159s", x->id,
                 x->route, why);
        llmopt_log_warn(&lg, "%s", msg);
        if (alert)
            alert(actx, "srm", msg);
        return;
    }
    /* sequential tests, Holm across (treatment, metric) */
    double p[MAX_VARIANTS * MAX_METRICS], adj[MAX_VARIANTS * MAX_METRICS];
    size_t who_t[MAX_VARIANTS * MAX_METRICS], who_m[MAX_VARIANTS * MAX_METRICS], np = 0;
    for (size_t t = 0; t < x->nv; t++) {
        if (t == x->control)
            continue;
        for (size_t m = 0; m < x->nm; m++) {
            int rej = 0;
            llmopt_msprt_look(&x->t[t][m], &rej); /* STATE before min_n: p stays 1 */
            p[np] = x->t[t][m].p;
            who_t[np] = t, who_m[np] = m;
            np++;
        }
    }
    if (!np || llmopt_stats_holm(p, np, adj))
        return;
    int n = snprintf(ev, es, "{\"srm_p\":%.6g,\"tests\":[", srm.p);
    for (size_t i = 0; i < np && n > 0 && (size_t)n < es; i++)
        n += snprintf(ev + n, es - (size_t)n,
                      "%s{\"variant\":\"%s\",\"metric\":\"%s\",\"estimate\":%.6g,\"p\":%.6g,"
                      "\"p_holm\":%.6g}",
                      i ? "," : "", x->v[who_t[i]].name, metric_names[x->metrics[who_m[i]]],
                      x->t[who_t[i]][who_m[i]].estimate, p[i], adj[i]);
    if (n > 0 && (size_t)n < es)
        snprintf(ev + n, es - (size_t)n, "]}");
    /* guardrails first: a significant harm stops everything */
    for (size_t i = 0; i < np; i++) {
        if (who_m[i] == 0 || adj[i] > x->alpha)
            continue;
        metric m = x->metrics[who_m[i]];
        double est = x->t[who_t[i]][who_m[i]].estimate;
        if ((higher_better[m] && est < 0) || (!higher_better[m] && est > 0)) {
            char why[256];
            snprintf(why, sizeof(why), "guardrail '%s' breached by variant '%s' (delta %.4g, "
                     "Holm p %.3g)", metric_names[m], x->v[who_t[i]].name, est, adj[i]);
            end(x, "stopped", NULL, why, alert, actx, "rollback");
            return;
        }
    }
    /* primary: the best significantly better treatment wins */
    int best = -1;
    double best_est = 0;
    metric pm = x->metrics[0];
    for (size_t i = 0; i < np; i++) {
        if (who_m[i] != 0 || adj[i] > x->alpha)
            continue;
        double est = x->t[who_t[i]][0].estimate;
        double gain = higher_better[pm] ? est : -est;
        if (gain > 0 && (best < 0 || gain > best_est))
            best = (int)who_t[i], best_est = gain;
    }
    if (best >= 0) {
        char why[256];
        snprintf(why, sizeof(why), "variant '%s' (arm '%s') beats control on '%s' by %.4g",
                 x->v[best].name, x->v[best].arm, metric_names[pm], best_est);
        end(x, "concluded", x->v[best].name, why, alert, actx, NULL);
        int arm = llmopt_policy_arm_index(llmopt_route_policy(r), x->v[best].arm);
        if (arm >= 0)
            llmopt_route_canary_start(r, (size_t)arm, now_ms, why);
    }
}

void llmopt_exp_set_tick(llmopt_exp_set *s, llmopt_route **routes, size_t n_routes,
                         uint8_t *touched, int64_t now_ms, llmopt_exp_alert_fn alert,
                         void *alert_ctx) {
    if (!s)
        return;
    for (size_t i = 0; i < s->n; i++) {
        experiment *x = &s->e[i];
        size_t ri = 0;
        while (ri < n_routes && strcmp(llmopt_route_name(routes[ri]), x->route))
            ri++;
        if (ri == n_routes)
            continue;
        llmopt_route *r = routes[ri];
        if (!x->ended)
            evaluate(x, r, now_ms, alert, alert_ctx);
        const char *cur = llmopt_route_experiment(r);
        if (x->ended) {
            if (cur && !strcmp(cur, x->id)) {
                llmopt_route_set_experiment(r, NULL, NULL);
                touched[ri] = 1;
            }
            x->lifted = 1;
            continue;
        }
        double alloc[LLMOPT_BANDIT_MAX_ARMS];
        const llmopt_policy_route *pr = llmopt_route_policy(r);
        for (size_t a = 0; a < pr->n_arms; a++)
            alloc[a] = -1;
        for (size_t v = 0; v < x->nv; v++) {
            int a = llmopt_policy_arm_index(pr, x->v[v].arm);
            if (a >= 0)
                alloc[a] = x->v[v].alloc;
        }
        const char *before = llmopt_route_experiment(r);
        llmopt_route_set_experiment(r, x->id, alloc);
        if (!before || strcmp(before, x->id))
            touched[ri] = 1;
        if (llmopt_route_dirty(r))
            touched[ri] = 1;
    }
}

llmopt_err_t llmopt_exp_set_flush(llmopt_exp_set *s, char *errstr, size_t errstr_size) {
    if (!s)
        return LLMOPT_OK;
    llmopt_pg *pg = llmopt_ctl_store_pg(s->store);
    for (size_t i = 0; i < s->n; i++) {
        experiment *x = &s->e[i];
        if (!x->dirty)
            continue;
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        state_serialize(x, &w);
        char *hex = w.err ? NULL : llmopt_ctl_pg_bytea_hex(w.data, w.len);
        llmopt_wbuf_release(&w);
        if (!hex)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        const char *ev = x->evaluation[0] ? x->evaluation : "{}";
        const char *p1[] = {x->id, hex, ev};
        llmopt_err_t e = llmopt_pg_exec(pg,
                                        "UPDATE llmopt.controller_experiments SET state = $2, "
                                        "evaluation = $3::jsonb, updated_at = now() WHERE "
                                        "experiment_id = $1",
                                        3, p1, errstr, errstr_size);
        free(hex);
        if (e)
            return e;
        if (x->ended || !strcmp(x->status, "frozen")) {
            const char *p2[] = {x->id, x->status, x->winner[0] ? x->winner : NULL};
            e = llmopt_pg_exec(pg,
                               "UPDATE llmopt.experiments SET status = $2, winner = $3, "
                               "stopped_at = CASE WHEN $2 = 'frozen' THEN NULL ELSE now() END, "
                               "updated_at = now() WHERE experiment_id = $1 AND status = "
                               "'running'",
                               3, p2, errstr, errstr_size);
            if (e)
                return e;
        }
        x->dirty = 0;
    }
    /* drop ended experiments once written */
    size_t k = 0;
    for (size_t i = 0; i < s->n; i++)
        if (!(s->e[i].ended && !s->e[i].dirty && s->e[i].lifted))
            s->e[k++] = s->e[i];
    s->n = k;
    return LLMOPT_OK;
}
