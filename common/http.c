/* http.c - /metrics, /healthz, /readyz on libmicrohttpd (http.h). */
#include "common/http.h"

#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

struct llmopt_http {
    struct MHD_Daemon *daemon;
    llmopt_metrics *metrics;
    llmopt_http_ready_fn ready;
    void *opaque;
    int port;
};

static enum MHD_Result reply(struct MHD_Connection *conn, unsigned int status,
                             const char *type, char *body, size_t len, bool owned) {
    struct MHD_Response *r = MHD_create_response_from_buffer(
        len, body, owned ? MHD_RESPMEM_MUST_FREE : MHD_RESPMEM_MUST_COPY);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
    enum MHD_Result ret = MHD_queue_response(conn, status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
                              const char *method, const char *version,
                              const char *upload_data, size_t *upload_data_size,
                              void **con_cls) {
    llmopt_http *h = cls;
    static const char *const text = "text/plain; charset=utf-8";
    if (strcmp(method, "GET") && strcmp(method, "HEAD"))
        return reply(conn, MHD_HTTP_METHOD_NOT_ALLOWED, text, (char *)"method not allowed\n",
                     19, false);
    if (!strcmp(url, "/healthz"))
        return reply(conn, MHD_HTTP_OK, text, (char *)"ok\n", 3, false);
    if (!strcmp(url, "/readyz")) {
        char reason[256] = "not ready";
        if (!h->ready || h->ready(h->opaque, reason, sizeof(reason)))
            return reply(conn, MHD_HTTP_OK, text, (char *)"ready\n", 6, false);
        reason[sizeof(reason) - 2] = '\0';
        size_t n = strlen(reason);
        reason[n] = '\n';
        return reply(conn, MHD_HTTP_SERVICE_UNAVAILABLE, text, reason, n + 1, false);
    }
    if (!strcmp(url, "/metrics")) {
        size_t len = 0;
        char *body = h->metrics ? llmopt_metrics_render(h->metrics, &len) : strdup("");
        if (!body)
            return reply(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, text, (char *)"out of memory\n",
                         14, false);
        return reply(conn, MHD_HTTP_OK, LLMOPT_METRICS_CONTENT_TYPE, body, len, true);
    }
    return reply(conn, MHD_HTTP_NOT_FOUND, text, (char *)"not found\n", 10, false);
}

llmopt_http *llmopt_http_new(const char *listen_addr, int port, llmopt_metrics *metrics,
                             llmopt_http_ready_fn ready, void *opaque, char *errstr,
                             size_t errstr_size) {
    if (!listen_addr)
        listen_addr = "127.0.0.1";
    if (port < 0 || port > 65535) {
        llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size, "http port '%d' is out of range",
                    port);
        return NULL;
    }
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    unsigned int flags = MHD_USE_INTERNAL_POLLING_THREAD;
    struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, listen_addr, &s4->sin_addr) == 1) {
        s4->sin_family = AF_INET;
        s4->sin_port = htons((uint16_t)port);
    } else if (inet_pton(AF_INET6, listen_addr, &s6->sin6_addr) == 1) {
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons((uint16_t)port);
        flags |= MHD_USE_IPv6;
    } else {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                    "http listen address '%s' is not a numeric IPv4 or IPv6 address",
                    listen_addr);
        return NULL;
    }
    llmopt_http *h = calloc(1, sizeof(*h));
    if (!h) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    h->metrics = metrics;
    h->ready = ready;
    h->opaque = opaque;
    errno = 0;
    h->daemon = MHD_start_daemon(flags, (uint16_t)port, NULL, NULL, handle, h,
                                 MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&ss,
                                 MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10,
                                 MHD_OPTION_END);
    if (!h->daemon) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot serve http on '%s' port %d: %s",
                    listen_addr, port, errno ? strerror(errno) : "libmicrohttpd failed");
        free(h);
        return NULL;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : port;
    return h;
}

int llmopt_http_port(const llmopt_http *h) {
    return h->port;
}

void llmopt_http_destroy(llmopt_http *h) {
    if (!h)
        return;
    MHD_stop_daemon(h->daemon);
    free(h);
}
