/*
 * main.c - llmopt-controller: the daemon behind the shared lifecycle
 * (common/service.h: configuration, signals, /metrics /healthz /readyz).
 *
 * SIGHUP reads the policy and registry files again (controller/daemon.h).
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 when it cannot start
 * (bad policy or registry, Postgres unreachable) or fails for good, 2 on a
 * usage error.
 */
#include <curl/curl.h>
#include <stddef.h>

#include "common/service.h"
#include "common/signals.h"
#include "controller/ctl_config.h"
#include "controller/daemon.h"

static void *create(const void *conf, const llmopt_config *cfg, llmopt_metrics *m, char *err,
                    size_t err_size) {
    return llmopt_ctl_new(conf, cfg, m, err, err_size);
}

static llmopt_err_t run(void *c, char *err, size_t err_size) {
    return llmopt_ctl_run(c, llmopt_signals_stop_requested, llmopt_signals_take_reload, err,
                          err_size);
}

static void destroy(void *c) { llmopt_ctl_destroy(c); }

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
    static const llmopt_service svc = {
        .create = create, .ready = llmopt_ctl_ready, .run = run, .destroy = destroy};
    curl_global_init(CURL_GLOBAL_DEFAULT); /* before any thread: the registry client */
    int rc = llmopt_service_main(&svc, &spec, &conf, sizeof(conf), &conf.common, argc, argv);
    curl_global_cleanup();
    return rc;
}
