/*
 * experiment.c - `llmopt experiment create|start|stop|status|list` (see
 * controller_admin.h and controller/experiment.h for what the controller
 * does with the rows).
 *
 *   create ID route=R primary=reward|quality|error_rate
 *          variant=NAME:ARM:SHARE[:control] (2..8 times, exactly one control)
 *          [guardrail=METRIC]... [name=TEXT] [max_duration=7d] [alpha=0.05]
 *          [tau2=0.01] [min_samples=100]
 *   start ID      draft -> running (started_at = now)
 *   stop ID       running|frozen -> stopped
 *   status ID     the row, variants and the last evaluation (JSON)
 *   list          one line per experiment
 * Shares must sum to 1 (within 1e-6).
 */
#include <ctype.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/pg.h"
#include "controller/ctl_config.h"
#include "tools/controller_admin.h"

#define MAXV 8

static int parse_ms(const char *s, long long *out) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || !(v > 0))
        return 0;
    double mul = 1;
    if (!strcmp(end, "") || !strcmp(end, "ms"))
        mul = 1;
    else if (!strcmp(end, "s"))
        mul = 1e3;
    else if (!strcmp(end, "m"))
        mul = 6e4;
    else if (!strcmp(end, "h"))
        mul = 3.6e6;
    else if (!strcmp(end, "d"))
        mul = 8.64e7;
    else
        return 0;
    *out = (long long)(v * mul);
    return *out > 0;
}

static const char *kv(const char *arg, const char *key) {
    size_t n = strlen(key);
    return !strncmp(arg, key, n) && arg[n] == '=' ? arg + n + 1 : NULL;
}

static int valid_metric(const char *m) {
    return !strcmp(m, "reward") || !strcmp(m, "quality") || !strcmp(m, "error_rate");
}

static int create(llmopt_pg *pg, const llmopt_controller_conf *conf, int n, char **args,
                  char *err, size_t es) {
    const char *id = args[0], *route = NULL, *primary = NULL, *name = NULL;
    char vname[MAXV][64], varm[MAXV][128], vshare[MAXV][32];
    int vctl[MAXV], nv = 0, nctl = 0;
    char guard[1024] = "[";
    long long max_ms = 7LL * 86400000;
    double alpha = 0.05, tau2 = 0.01, total = 0;
    long long min_samples = 100;
    for (int i = 1; i < n; i++) {
        const char *v;
        if ((v = kv(args[i], "route")))
            route = v;
        else if ((v = kv(args[i], "primary")))
            primary = v;
        else if ((v = kv(args[i], "name")))
            name = v;
        else if ((v = kv(args[i], "max_duration"))) {
            if (!parse_ms(v, &max_ms)) {
                snprintf(err, es, "invalid max_duration '%s' (e.g. 7d, 12h, 3600000)", v);
                return 2;
            }
        } else if ((v = kv(args[i], "alpha"))) {
            alpha = strtod(v, NULL);
            if (!(alpha > 0 && alpha < 1)) {
                snprintf(err, es, "alpha '%s' must be in (0, 1)", v);
                return 2;
            }
        } else if ((v = kv(args[i], "tau2"))) {
            tau2 = strtod(v, NULL);
            if (!(tau2 > 0) || !isfinite(tau2)) {
                snprintf(err, es, "tau2 '%s' must be > 0", v);
                return 2;
            }
        } else if ((v = kv(args[i], "min_samples"))) {
            min_samples = strtoll(v, NULL, 10);
            if (min_samples < 2) {
                snprintf(err, es, "min_samples '%s' must be >= 2", v);
                return 2;
            }
        } else if ((v = kv(args[i], "guardrail"))) {
            if (!valid_metric(v)) {
                snprintf(err, es, "guardrail metric '%s' is not reward, quality or error_rate", v);
                return 2;
            }
            size_t at = strlen(guard);
            snprintf(guard + at, sizeof(guard) - at, "%s{\"metric\":\"%s\"}",
                     guard[1] ? "," : "", v);
        } else if ((v = kv(args[i], "variant"))) {
            if (nv == MAXV) {
                snprintf(err, es, "at most %d variants", MAXV);
                return 2;
            }
            char buf[256];
            snprintf(buf, sizeof(buf), "%s", v);
            char *a = strchr(buf, ':'), *b = a ? strchr(a + 1, ':') : NULL;
            char *c = b ? strchr(b + 1, ':') : NULL;
            if (!a || !b || a == buf || b == a + 1) {
                snprintf(err, es, "variant '%s': expected NAME:ARM:SHARE[:control]", v);
                return 2;
            }
            *a = *b = '\0';
            if (c)
                *c = '\0';
            double share = strtod(b + 1, NULL);
            if (!(share > 0 && share <= 1) || (c && strcmp(c + 1, "control"))) {
                snprintf(err, es, "variant '%s': share in (0, 1], optional ':control'", v);
                return 2;
            }
            snprintf(vname[nv], sizeof(vname[nv]), "%.63s", buf);
            snprintf(varm[nv], sizeof(varm[nv]), "%.127s", a + 1);
            snprintf(vshare[nv], sizeof(vshare[nv]), "%.17g", share);
            vctl[nv] = c != NULL;
            nctl += vctl[nv];
            total += share;
            nv++;
        } else {
            snprintf(err, es, "unknown argument '%s'", args[i]);
            return 2;
        }
    }
    strcat(guard, "]");
    if (!route || !primary || nv < 2 || nctl != 1 || !valid_metric(primary) ||
        fabs(total - 1) > 1e-6) {
        snprintf(err, es, "create needs route=, primary=reward|quality|error_rate and 2..%d "
                 "variants with exactly one control whose shares sum to 1", MAXV);
        return 2;
    }
    char ms[32], al[32], t2[32], mn[32];
    snprintf(ms, sizeof(ms), "%lld", max_ms);
    snprintf(al, sizeof(al), "%.17g", alpha);
    snprintf(t2, sizeof(t2), "%.17g", tau2);
    snprintf(mn, sizeof(mn), "%lld", min_samples);
    const char *p1[] = {id, name ? name : id, route, primary, guard};
    const char *p2[] = {id, ms, al, t2, mn};
    if (llmopt_pg_begin(pg, err, es) ||
        llmopt_pg_exec(pg,
                       "INSERT INTO llmopt.experiments (experiment_id, name, route, status, "
                       "primary_metric, guardrails, allocation) VALUES ($1, $2, $3, 'draft', $4, "
                       "$5::jsonb, 'fixed')",
                       5, p1, err, es) ||
        llmopt_pg_exec(pg,
                       "INSERT INTO llmopt.controller_experiments (experiment_id, "
                       "max_duration_ms, alpha, tau2, min_samples) VALUES ($1, $2, $3, $4, $5)",
                       5, p2, err, es))
        goto fail;
    for (int i = 0; i < nv; i++) {
        const char *p3[] = {id, vname[i], varm[i], vshare[i], vctl[i] ? "true" : "false"};
        if (llmopt_pg_exec(pg,
                           "INSERT INTO llmopt.experiment_arms (experiment_id, variant, arm, "
                           "allocation, is_control) VALUES ($1, $2, $3, $4, $5)",
                           5, p3, err, es))
            goto fail;
    }
    if (llmopt_pg_commit(pg, err, es))
        goto fail;
    printf("experiment '%s' created on route '%s' (draft)\n", id, route);
    (void)conf;
    return 0;
fail:
    llmopt_pg_rollback(pg, NULL, 0);
    return 1;
}

static int set_status(llmopt_pg *pg, const llmopt_controller_conf *conf, const char *id,
                      int start, char *err, size_t es) {
    const char *params[] = {id};
    PGresult *res = NULL;
    const char *sql =
        start ? "UPDATE llmopt.experiments SET status = 'running', started_at = now(), "
                "updated_at = now() WHERE experiment_id = $1 AND status = 'draft' RETURNING route"
              : "UPDATE llmopt.experiments SET status = 'stopped', stopped_at = now(), "
                "updated_at = now() WHERE experiment_id = $1 AND status IN ('running', "
                "'frozen', 'draft') RETURNING route";
    if (llmopt_pg_begin(pg, err, es) || llmopt_pg_query(pg, sql, 1, params, &res, err, es))
        goto fail;
    if (PQntuples(res) != 1) {
        snprintf(err, es, "experiment '%s' does not exist or is not %s", id,
                 start ? "a draft" : "running, frozen or a draft");
        PQclear(res);
        goto fail;
    }
    char route[512];
    snprintf(route, sizeof(route), "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (llmopt_pg_notify(pg, conf->notify_channel, route, err, es) ||
        llmopt_pg_commit(pg, err, es))
        goto fail;
    printf("experiment '%s' %s\n", id, start ? "running" : "stopped");
    return 0;
fail:
    llmopt_pg_rollback(pg, NULL, 0);
    return 1;
}

static int show(llmopt_pg *pg, const char *id, char *err, size_t es) {
    PGresult *res = NULL;
    const char *params[] = {id};
    if (llmopt_pg_query(pg,
                        "SELECT e.experiment_id, e.route, e.status, e.primary_metric, "
                        "e.guardrails::text, COALESCE(e.started_at::text, ''), "
                        "COALESCE(e.stopped_at::text, ''), COALESCE(e.winner, ''), "
                        "c.evaluation::text FROM llmopt.experiments e LEFT JOIN "
                        "llmopt.controller_experiments c USING (experiment_id) WHERE "
                        "e.experiment_id = $1",
                        1, params, &res, err, es))
        return 1;
    if (PQntuples(res) != 1) {
        snprintf(err, es, "experiment '%s' does not exist", id);
        PQclear(res);
        return 1;
    }
    printf("experiment %s\n  route %s\n  status %s\n  primary %s\n  guardrails %s\n  started "
           "%s\n  stopped %s\n  winner %s\n  evaluation %s\n",
           PQgetvalue(res, 0, 0), PQgetvalue(res, 0, 1), PQgetvalue(res, 0, 2),
           PQgetvalue(res, 0, 3), PQgetvalue(res, 0, 4), PQgetvalue(res, 0, 5),
           PQgetvalue(res, 0, 6), PQgetvalue(res, 0, 7), PQgetvalue(res, 0, 8));
    PQclear(res);
    if (llmopt_pg_query(pg,
                        "SELECT variant, arm, allocation, is_control FROM "
                        "llmopt.experiment_arms WHERE experiment_id = $1 ORDER BY variant",
                        1, params, &res, err, es))
        return 1;
    for (int i = 0; i < PQntuples(res); i++)
        printf("  variant %s -> arm %s share %s%s\n", PQgetvalue(res, i, 0),
               PQgetvalue(res, i, 1), PQgetvalue(res, i, 2),
               PQgetvalue(res, i, 3)[0] == 't' ? " (control)" : "");
    PQclear(res);
    return 0;
}

static int list(llmopt_pg *pg, char *err, size_t es) {
    PGresult *res = NULL;
    if (llmopt_pg_query(pg,
                        "SELECT experiment_id, route, status, primary_metric, "
                        "COALESCE(winner, '-') FROM llmopt.experiments ORDER BY created_at, "
                        "experiment_id",
                        0, NULL, &res, err, es))
        return 1;
    printf("%-24s %-20s %-10s %-12s %s\n", "experiment", "route", "status", "primary", "winner");
    for (int i = 0; i < PQntuples(res); i++)
        printf("%-24s %-20s %-10s %-12s %s\n", PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
               PQgetvalue(res, i, 2), PQgetvalue(res, i, 3), PQgetvalue(res, i, 4));
    PQclear(res);
    return 0;
}

int llmopt_cmd_experiment(int argc, char **argv) {
    llmopt_controller_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_controller_conf, common)},
        {&llmopt_controller_table, 0}};
    const llmopt_cli_spec spec = {
        .prog = "llmopt experiment",
        .summary = "create, start, stop and inspect A/B/n experiments",
        .args_usage = "create ID route=R primary=M variant=N:ARM:SHARE[:control]... | start ID "
                      "| stop ID | status ID | list",
        .bindings = b,
        .n_bindings = 2};
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 2;
    llmopt_pg *pg = NULL;
    char err[1024] = "";
    const char *verb = cli.n_args > 0 ? cli.args[0] : "";
    int need_id = strcmp(verb, "list") != 0;
    if (!*verb || (need_id && cli.n_args < 2) ||
        (strcmp(verb, "create") && cli.n_args != (need_id ? 2 : 1))) {
        fprintf(stderr, "usage: llmopt experiment %s\n", spec.args_usage);
        goto out;
    }
    rc = 1;
    if (!conf.common.pg_dsn || !*conf.common.pg_dsn) {
        fprintf(stderr, "llmopt experiment: 'pg.dsn' is not set\n");
        goto out;
    }
    llmopt_pg_retry rt;
    llmopt_pg_retry_default(&rt);
    rt.max_attempts = 3;
    if (llmopt_pg_new(&pg, conf.common.pg_dsn, &rt, err, sizeof(err))) {
        fprintf(stderr, "llmopt experiment: %s\n", err);
        goto out;
    }
    if (!strcmp(verb, "create"))
        rc = create(pg, &conf, cli.n_args - 1, cli.args + 1, err, sizeof(err));
    else if (!strcmp(verb, "start") || !strcmp(verb, "stop"))
        rc = set_status(pg, &conf, cli.args[1], !strcmp(verb, "start"), err, sizeof(err));
    else if (!strcmp(verb, "status"))
        rc = show(pg, cli.args[1], err, sizeof(err));
    else if (!strcmp(verb, "list"))
        rc = list(pg, err, sizeof(err));
    else {
        snprintf(err, sizeof(err), "unknown action '%s'", verb);
        rc = 2;
    }
    if (rc)
        fprintf(stderr, "llmopt experiment: %s\n", err);
out:
    llmopt_pg_destroy(pg);
    llmopt_cli_release(&cli);
    return rc;
}
