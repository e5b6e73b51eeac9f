/*
 * alert.c - webhook alerts (see alert.h).
 */
#include "controller/alert.h"

#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct llmopt_alert {
    char *url;
    long timeout_ms;
};

llmopt_alert *llmopt_alert_new(const char *url, long timeout_ms, char *errstr,
                               size_t errstr_size) {
    llmopt_alert *a = calloc(1, sizeof(*a));
    if (!a || (url && *url && !(a->url = strdup(url)))) {
        free(a);
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    a->timeout_ms = timeout_ms > 0 ? timeout_ms : 3000;
    return a;
}

void llmopt_alert_destroy(llmopt_alert *a) {
    if (!a)
        return;
    free(a->url);
    free(a);
}

static size_t discard(char *p, size_t s, size_t n, void *u) {
    (void)p;
    (void)u;
    return s * n;
}

llmopt_err_t llmopt_alert_send(llmopt_alert *a, const char *kind, const char *text,
                               char *errstr, size_t errstr_size) {
    if (!a || !a->url)
        return LLMOPT_OK;
    llmopt_err_t rc = LLMOPT_ERR_IO;
    char msg[2048];
    snprintf(msg, sizeof(msg), "[llmopt] %s: %s", kind, text);
    json_t *body = json_pack("{s:s}", "text", msg);
    char *js = body ? json_dumps(body, JSON_COMPACT) : NULL;
    CURL *c = curl_easy_init();
    struct curl_slist *h = curl_slist_append(NULL, "Content-Type: application/json");
    if (!js || !c || !h) {
        rc = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    curl_easy_setopt(c, CURLOPT_URL, a->url);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, js);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, a->timeout_ms);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    CURLcode cc = curl_easy_perform(c);
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (cc != CURLE_OK) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "alert webhook: %s",
                    curl_easy_strerror(cc));
        goto out;
    }
    if (status < 200 || status > 299) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "alert webhook: http status %ld",
                    status);
        goto out;
    }
    rc = LLMOPT_OK;
out:
    curl_slist_free_all(h);
    if (c)
        curl_easy_cleanup(c);
    free(js);
    json_decref(body);
    return rc;
}
