/*
 * main.c - llmopt-controller: configuration, signals, the HTTP server
 * (/metrics, /healthz, /readyz) and the daemon's lifecycle.
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when it cannot start
 * (bad policy or registry, Postgres unreachable) or fails for good, 2 on a
 * usage error.
 */
#include <curl/curl.h>
#include <stddef.h>
#include <stdio.h>

#include "common/cli.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/signals.h"
#include "controller/ctl_config.h"
#include "controller/daemon.h"

static const llmopt_logger lg = LLMOPT_LOGGER("main");

int main(int argc, char **argv) {
    llmopt_controller_conf conf = {0};
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_controller_conf, common)},
        {&llmopt_controller_table, 0}};
    const llmopt_cli_spec spec = {
        .prog = "llmopt-controller",
        .summary = "bandits, experiments and guardrails: one routing decision per route on "
                   "llm.routing",
        .bindings = b,
        .n_bindings = 2};
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 1;
    char err[1024];
    llmopt_metrics *m = NULL;
    llmopt_ctl *c = NULL;
    llmopt_http *http = NULL;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (llmopt_signals_install()) {
        llmopt_log_error(&lg, "cannot install signal handlers");
        goto out;
    }
    if (!(m = llmopt_metrics_new())) {
        llmopt_log_error(&lg, "out of memory");
        goto out;
    }
    if (!(c = llmopt_ctl_new(&conf, cli.config, m, err, sizeof(err)))) {
        llmopt_log_error(&lg, "cannot start: %s", err);
        fprintf(stderr, "llmopt-controller: %s\n", err);
        goto out;
    }
    if (conf.common.http_port > 0) {
        http = llmopt_http_new(conf.common.http_listen, (int)conf.common.http_port, m,
                               llmopt_ctl_ready, c, err, sizeof(err));
        if (!http) {
            llmopt_log_error(&lg, "http server: %s", err);
            goto out;
        }
        llmopt_log_info(&lg, "serving /metrics on port %d", llmopt_http_port(http));
    }
    if (llmopt_ctl_run(c, llmopt_signals_stop_requested, err, sizeof(err))) {
        llmopt_log_error(&lg, "stopped on error: %s", err);
        goto out;
    }
    llmopt_log_info(&lg, "stopped cleanly");
    rc = 0;
out:
    llmopt_http_destroy(http);
    llmopt_ctl_destroy(c);
    llmopt_metrics_destroy(m);
    curl_global_cleanup();
    llmopt_cli_release(&cli);
    return rc;
}
