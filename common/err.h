/*
 * err.h - result codes shared by every llmopt module, pure cores included.
 *
 * Functions return an llmopt_err_t; 0 is success, every failure is negative.
 * When a human needs the reason, a function also takes
 * (char *errstr, size_t errstr_size), like rd_kafka_conf_set(); errstr may be
 * NULL. Messages are lowercase, carry no final period and quote their
 * subject: "unknown schema id '42'".
 *
 * Header-only and dependency-free so processor/core and controller/core can
 * use it without linking libllmopt.
 */
#ifndef LLMOPT_ERR_H
#define LLMOPT_ERR_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

typedef enum llmopt_err {
    LLMOPT_OK = 0,
    LLMOPT_ERR_INVALID = -1,   /* bad argument or malformed input */
    LLMOPT_ERR_UNKNOWN = -2,   /* unknown key, id or name */
    LLMOPT_ERR_RANGE = -3,     /* value out of its allowed range */
    LLMOPT_ERR_NOMEM = -4,     /* allocation failed or a memory limit was hit */
    LLMOPT_ERR_TRUNCATED = -5, /* input ended early */
    LLMOPT_ERR_IO = -6,        /* file, network or service failure */
    LLMOPT_ERR_STATE = -7,     /* call not valid in the current state */
    LLMOPT_ERR_TIMEOUT = -8,
    LLMOPT_ERR_VERSION = -9,   /* unsupported format or schema version */
} llmopt_err_t;

static inline const char *llmopt_err_name(llmopt_err_t e) {
    switch (e) {
    case LLMOPT_OK: return "ok";
    case LLMOPT_ERR_INVALID: return "invalid";
    case LLMOPT_ERR_UNKNOWN: return "unknown";
    case LLMOPT_ERR_RANGE: return "out of range";
    case LLMOPT_ERR_NOMEM: return "out of memory";
    case LLMOPT_ERR_TRUNCATED: return "truncated";
    case LLMOPT_ERR_IO: return "i/o error";
    case LLMOPT_ERR_STATE: return "bad state";
    case LLMOPT_ERR_TIMEOUT: return "timed out";
    case LLMOPT_ERR_VERSION: return "unsupported version";
    }
    return "?";
}

/* Format into errstr when the caller gave one; returns err so callers can
 * write `return llmopt_errf(LLMOPT_ERR_RANGE, errstr, size, "...", ...)`. */
__attribute__((format(printf, 4, 5)))
static inline llmopt_err_t llmopt_errf(llmopt_err_t err, char *errstr,
                                       size_t errstr_size, const char *fmt, ...) {
    if (errstr && errstr_size) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(errstr, errstr_size, fmt, ap);
        va_end(ap);
    }
    return err;
}

#endif
