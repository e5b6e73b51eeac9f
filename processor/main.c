/*
 * main.c - llmopt-processor: configuration, signals, the HTTP server
 * (/metrics, /healthz, /readyz) and the runner's lifecycle.
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 on a fatal error
 * (the committed outputs stay exactly-once; a supervisor restarts us), 2 on
 * a usage error.
 */
#include <stddef.h>
#include <stdio.h>

#include "common/cli.h"
#include "common/http.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/signals.h"
#include "processor/proc_config.h"
#include "processor/runner.h"

static const llmopt_logger lg = LLMOPT_LOGGER("main");

static bool ready_cb(void *opaque, char *reason, size_t reason_size) {
    return llmopt_runner_ready(opaque, reason, reason_size);
}

int main(int argc, char **argv) {
    llmopt_processor_conf conf = {0};
    const llmopt_config_binding b[] = {
        {&llmopt_common_table, offsetof(llmopt_processor_conf, common)},
        {&llmopt_processor_table, 0}};
    const llmopt_cli_spec spec = {
        .prog = "llmopt-processor",
        .summary = "outcomes, window metrics and drift/anomaly signals from LLM telemetry, "
                   "exactly once",
        .bindings = b,
        .n_bindings = 2};
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, &spec, argc, argv, &conf, sizeof(conf)) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 1;
    char err[512];
    llmopt_metrics *m = NULL;
    llmopt_runner *r = NULL;
    llmopt_http *http = NULL;
    if (llmopt_signals_install()) {
        llmopt_log_error(&lg, "cannot install signal handlers");
        goto out;
    }
    if (!(m = llmopt_metrics_new())) {
        llmopt_log_error(&lg, "out of memory");
        goto out;
    }
    if (!(r = llmopt_runner_new(&conf, cli.config, m, err, sizeof(err)))) {
        llmopt_log_error(&lg, "cannot start: %s", err);
        goto out;
    }
    if (conf.common.http_port > 0) {
        http = llmopt_http_new(conf.common.http_listen, (int)conf.common.http_port, m, ready_cb, r,
                               err, sizeof(err));
        if (!http) {
            llmopt_log_error(&lg, "http server: %s", err);
            goto out;
        }
        llmopt_log_info(&lg, "serving /metrics on port %d", llmopt_http_port(http));
    }
    if (llmopt_runner_run(r, llmopt_signals_stop_requested, err, sizeof(err))) {
        llmopt_log_error(&lg, "stopped on error: %s", err);
        goto out;
    }
    llmopt_log_info(&lg, "stopped cleanly");
    rc = 0;
out:
    llmopt_http_destroy(http);
    llmopt_runner_destroy(r);
    llmopt_metrics_destroy(m);
    llmopt_cli_release(&cli);
    return rc;
}
