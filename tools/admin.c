/*
 * admin.c - `llmopt arm pin|unpin|disable|enable ROUTE ARM` (see
 * controller_admin.h). A pin sends the route's traffic to ARM except the
 * other arms' exploration floors; disable takes ARM out (weight 0); unpin
 * and enable undo them. At most one arm per route is pinned: pinning
 * another moves the pin.
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/pg.h"
#include "controller/ctl_config.h"
#include "tools/controller_admin.h"

int llmopt_cmd_arm(int argc, char **argv) {
    llmopt_controller_conf conf;
    memset(&conf, 0, sizeof(conf));
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_controller_conf, common)},
        {&llmopt_controller_table, 0}};
    const llmopt_cli_spec spec = {.prog = "llmopt arm",
                                  .summary = "pin, unpin, disable or enable an arm of a route",
                                  .args_usage = "pin|unpin|disable|enable ROUTE ARM [note=TEXT]",
                                  .bindings = b,
                                  .n_bindings = 2};
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 2;
    llmopt_pg *pg = NULL;
    char err[1024] = "";
    if (cli.n_args < 3 || cli.n_args > 4 ||
        (cli.n_args == 4 && strncmp(cli.args[3], "note=", 5))) {
        fprintf(stderr, "usage: llmopt arm pin|unpin|disable|enable ROUTE ARM [note=TEXT]\n");
        goto out;
    }
    const char *verb = cli.args[0], *route = cli.args[1], *arm = cli.args[2];
    const char *note = cli.n_args == 4 ? cli.args[3] + 5 : NULL;
    const char *sql;
    if (!strcmp(verb, "pin"))
        sql = "INSERT INTO llmopt.controller_arm_overrides (route, arm, pinned, note) VALUES "
              "($1, $2, true, $3) ON CONFLICT (route, arm) DO UPDATE SET pinned = true, note = "
              "COALESCE(EXCLUDED.note, llmopt.controller_arm_overrides.note), updated_at = now()";
    else if (!strcmp(verb, "unpin"))
        sql = "UPDATE llmopt.controller_arm_overrides SET pinned = false, note = COALESCE($3, "
              "note), updated_at = now() WHERE route = $1 AND arm = $2";
    else if (!strcmp(verb, "disable"))
        sql = "INSERT INTO llmopt.controller_arm_overrides (route, arm, disabled, note) VALUES "
              "($1, $2, true, $3) ON CONFLICT (route, arm) DO UPDATE SET disabled = true, note = "
              "COALESCE(EXCLUDED.note, llmopt.controller_arm_overrides.note), updated_at = now()";
    else if (!strcmp(verb, "enable"))
        sql = "UPDATE llmopt.controller_arm_overrides SET disabled = false, note = COALESCE($3, "
              "note), updated_at = now() WHERE route = $1 AND arm = $2";
    else {
        fprintf(stderr, "llmopt arm: unknown action '%s' (pin, unpin, disable, enable)\n", verb);
        goto out;
    }
    rc = 1;
    if (!conf.common.pg_dsn || !*conf.common.pg_dsn) {
        fprintf(stderr, "llmopt arm: 'pg.dsn' is not set\n");
        goto out;
    }
    llmopt_pg_retry rt;
    llmopt_pg_retry_default(&rt);
    rt.max_attempts = 3;
    if (llmopt_pg_new(&pg, conf.common.pg_dsn, &rt, err, sizeof(err)))
        goto fail;
    const char *params[] = {route, arm, note};
    if (llmopt_pg_begin(pg, err, sizeof(err)))
        goto fail;
    if (!strcmp(verb, "pin")) {
        /* one pin per route: the new one replaces any other */
        const char *p2[] = {route, arm};
        if (llmopt_pg_exec(pg,
                           "UPDATE llmopt.controller_arm_overrides SET pinned = false, "
                           "updated_at = now() WHERE route = $1 AND arm <> $2 AND pinned",
                           2, p2, err, sizeof(err)))
            goto fail;
    }
    if (llmopt_pg_exec(pg, sql, 3, params, err, sizeof(err)) ||
        llmopt_pg_notify(pg, conf.notify_channel, route, err, sizeof(err)) ||
        llmopt_pg_commit(pg, err, sizeof(err)))
        goto fail;
    printf("%s: route '%s' arm '%s'\n", verb, route, arm);
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "llmopt arm: %s\n", err);
out:
    llmopt_pg_destroy(pg);
    llmopt_cli_release(&cli);
    return rc;
}
