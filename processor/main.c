/*
 * main.c - llmopt-processor: the runner behind the shared daemon lifecycle
 * (common/service.h: configuration, signals, /metrics /healthz /readyz).
 *
 * Exit status: 0 after a clean stop (SIGTERM/SIGINT), 1 on a fatal error
 * (the committed outputs stay exactly-once; a supervisor restarts us), 2 on
 * a usage error.
 */
#include <stddef.h>

#include "common/service.h"
#include "common/signals.h"
#include "processor/proc_config.h"
#include "processor/runner.h"

static void *create(const void *conf, const llmopt_config *cfg, llmopt_metrics *m, char *err,
                    size_t err_size) {
    return llmopt_runner_new(conf, cfg, m, err, err_size);
}

static bool ready(void *r, char *reason, size_t reason_size) {
    return llmopt_runner_ready(r, reason, reason_size);
}

static llmopt_err_t run(void *r, char *err, size_t err_size) {
    return llmopt_runner_run(r, llmopt_signals_stop_requested, err, err_size);
}

static void destroy(void *r) { llmopt_runner_destroy(r); }

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
    static const llmopt_service svc = {
        .create = create, .ready = ready, .run = run, .destroy = destroy};
    return llmopt_service_main(&svc, &spec, &conf, sizeof(conf), &conf.common, argc, argv);
}
