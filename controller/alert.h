/*
 * alert.h - Slack-compatible webhook alerts (circuit break, canary
 * rollback, SRM): one HTTP POST of {"text": "..."} with libcurl.
 *
 * Sending is synchronous and bounded by the timeout: alerts are rare, and
 * the loop accepts that pause rather than owning a thread. A failed POST is
 * logged by the caller and counted; it never stops the controller.
 * Ownership: llmopt_alert_new copies the URL (a secret: never logged).
 */
#ifndef LLMOPT_CTL_ALERT_H
#define LLMOPT_CTL_ALERT_H

#include <stddef.h>

#include "common/err.h"

typedef struct llmopt_alert llmopt_alert;

/* NULL url or "": alerts are off and llmopt_alert_send is a no-op (OK). */
llmopt_alert *llmopt_alert_new(const char *url, long timeout_ms, char *errstr,
                               size_t errstr_size);
void llmopt_alert_destroy(llmopt_alert *a); /* NULL: no-op */
/* POSTs {"text": "[llmopt] <kind>: <text>"}. LLMOPT_ERR_IO on a transport
 * failure or a non-2xx status (in errstr, without the URL). */
llmopt_err_t llmopt_alert_send(llmopt_alert *a, const char *kind, const char *text,
                               char *errstr, size_t errstr_size);

#endif
