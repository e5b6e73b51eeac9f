/*
 * service.h - the lifecycle every llmopt daemon shares (processor,
 * controller, sink): parse the command line and configuration, install the
 * signal handlers, create the metrics registry and the daemon, serve
 * /metrics /healthz /readyz when http.port is set, run until a stop signal
 * or a fatal error, and tear down in the reverse order (the HTTP server
 * first, since its /readyz callback reads the daemon).
 *
 *     static const llmopt_service svc = {.create = ..., .ready = ..., .run = ...,
 *                                        .destroy = ...};
 *     return llmopt_service_main(&svc, &spec, &conf, sizeof(conf), &conf.common,
 *                                argc, argv);
 *
 * Exit status: what llmopt_cli_parse gives for help, version and usage
 * errors (2); 1 when the daemon cannot start or stops on an error; 0 after a
 * clean stop.
 */
#ifndef LLMOPT_SERVICE_H
#define LLMOPT_SERVICE_H

#include <stddef.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/err.h"
#include "common/http.h"
#include "common/metrics.h"

typedef struct llmopt_service {
    /* Creates the daemon from the parsed configuration (conf is the struct
     * given to llmopt_service_main); NULL with the reason in err. */
    void *(*create)(const void *conf, const llmopt_config *cfg, llmopt_metrics *m, char *err,
                    size_t err_size);
    /* /readyz, called from the HTTP thread. */
    llmopt_http_ready_fn ready;
    /* Runs until llmopt_signals_stop_requested() or a fatal error. */
    llmopt_err_t (*run)(void *daemon, char *err, size_t err_size);
    void (*destroy)(void *daemon);
} llmopt_service;

/* common points into conf: its http.* settings are read after parsing. */
int llmopt_service_main(const llmopt_service *svc, const llmopt_cli_spec *spec, void *conf,
                        size_t conf_size, const llmopt_common_conf *common, int argc, char **argv);

#endif
