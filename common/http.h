/*
 * http.h - the operational HTTP server of every binary (libmicrohttpd).
 *
 *   GET /metrics  200, the registry in Prometheus text format 0.0.4
 *   GET /healthz  200 "ok" while the process runs
 *   GET /readyz   200 "ready", or 503 with the reason from the callback
 *   anything else 404; methods other than GET and HEAD 405
 *
 * The server runs on its own libmicrohttpd thread. The ready callback and
 * the metrics rendering therefore run on that thread: the callback must be
 * thread-safe (read an atomic, say). The registry and the callback's opaque
 * must outlive the server.
 */
#ifndef LLMOPT_HTTP_H
#define LLMOPT_HTTP_H

#include <stdbool.h>
#include <stddef.h>

#include "common/err.h"
#include "common/metrics.h"

typedef struct llmopt_http llmopt_http;

/* Returns true when ready; otherwise writes a short reason into `reason`. */
typedef bool (*llmopt_http_ready_fn)(void *opaque, char *reason, size_t reason_size);

/* Starts serving on `listen_addr` (numeric IPv4 or IPv6, NULL means
 * 127.0.0.1) and `port`; port 0 picks a free ephemeral port (see
 * llmopt_http_port). The config key http.port = 0 means "no server": the
 * caller does not call this then. `metrics` may be NULL (then /metrics is
 * empty); `ready` may be NULL (always ready). Returns NULL with the reason
 * in errstr when the address is bad or the port cannot be bound. */
llmopt_http *llmopt_http_new(const char *listen_addr, int port, llmopt_metrics *metrics,
                             llmopt_http_ready_fn ready, void *opaque, char *errstr,
                             size_t errstr_size);

/* The bound port. */
int llmopt_http_port(const llmopt_http *h);

/* Stops the server and waits for its thread. NULL is a no-op. */
void llmopt_http_destroy(llmopt_http *h);

#endif
