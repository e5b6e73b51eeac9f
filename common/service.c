/*
 * service.c - the shared daemon lifecycle (service.h).
 */
#include "common/service.h"

#include <stdio.h>

#include "common/log.h"
#include "common/signals.h"

static const llmopt_logger lg = LLMOPT_LOGGER("main");

int llmopt_service_main(const llmopt_service *svc, const llmopt_cli_spec *spec, void *conf,
                        size_t conf_size, const llmopt_common_conf *common, int argc,
                        char **argv) {
    llmopt_cli cli;
    if (llmopt_cli_parse(&cli, spec, argc, argv, conf, conf_size) != LLMOPT_CLI_RUN)
        return cli.exit_code;
    int rc = 1;
    char err[1024] = "";
    llmopt_metrics *m = NULL;
    void *d = NULL;
    llmopt_http *http = NULL;
    if (llmopt_signals_install() != LLMOPT_OK) {
        llmopt_log_error(&lg, "cannot install signal handlers");
        goto out;
    }
    if (!(m = llmopt_metrics_new())) {
        llmopt_log_error(&lg, "out of memory");
        goto out;
    }
    if (!(d = svc->create(conf, cli.config, m, err, sizeof(err)))) {
        llmopt_log_error(&lg, "cannot start: %s", err);
        fprintf(stderr, "%s: %s\n", spec->prog, err);
        goto out;
    }
    if (common->http_port > 0) {
        http = llmopt_http_new(common->http_listen, (int)common->http_port, m, svc->ready, d, err,
                               sizeof(err));
        if (!http) {
            llmopt_log_error(&lg, "http server: %s", err);
            goto out;
        }
        llmopt_log_info(&lg, "serving /metrics, /healthz, /readyz on port %d",
                        llmopt_http_port(http));
    }
    if (svc->run(d, err, sizeof(err)) != LLMOPT_OK) {
        llmopt_log_error(&lg, "stopped on error: %s", err);
        goto out;
    }
    llmopt_log_info(&lg, "stopped cleanly");
    rc = 0;
out:
    llmopt_http_destroy(http); /* before the daemon its /readyz reads */
    if (d)
        svc->destroy(d);
    llmopt_metrics_destroy(m);
    llmopt_cli_release(&cli);
    return rc;
}
