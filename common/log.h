/*
 * log.h - leveled logging to stderr as text or JSON lines.
 *
 * One process-wide sink. Each call formats the whole line into a local
 * buffer and writes it with a single fwrite under a mutex, so lines from
 * different threads never interleave. Every message passes through
 * llmopt_log_redact() before it is written, as a last line of defence:
 * the rule is still that code never formats a SENSITIVE value into a log
 * message (config.h).
 *
 * Text:  2026-11-29T12:00:00.123Z info  [kafka] message
 * JSON:  {"ts":"2026-11-29T12:00:00.123Z","level":"info","component":"kafka","msg":"message"}
 *
 * A logger is a component name; declare one per module:
 *     static const llmopt_logger lg = LLMOPT_LOGGER("kafka");
 *     llmopt_log_info(&lg, "connected to '%s'", brokers);
 */
#ifndef LLMOPT_LOG_H
#define LLMOPT_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

/* Order matters: config's log.level enum indexes these. */
typedef enum llmopt_log_level {
    LLMOPT_LOG_DEBUG,
    LLMOPT_LOG_INFO,
    LLMOPT_LOG_WARN,
    LLMOPT_LOG_ERROR,
} llmopt_log_level;

typedef enum llmopt_log_format {
    LLMOPT_LOG_TEXT,
    LLMOPT_LOG_JSON,
} llmopt_log_format;

typedef struct llmopt_logger {
    const char *component;
} llmopt_logger;

#define LLMOPT_LOGGER(name) {.component = (name)}

/* Level names "debug" "info" "warn" "error", NULL-terminated; and formats
 * "text" "json". Shared with the config table. */
extern const char *const llmopt_log_level_names[];
extern const char *const llmopt_log_format_names[];

/* Sets the minimum level and the format (defaults: info, text). Safe to
 * call from any thread at any time. */
void llmopt_log_setup(llmopt_log_level min_level, llmopt_log_format format);

/* Redirects output (default stderr; NULL restores stderr). For tests. */
void llmopt_log_set_output(FILE *out);

bool llmopt_log_enabled(llmopt_log_level level);

__attribute__((format(printf, 3, 4)))
void llmopt_logf(const llmopt_logger *lg, llmopt_log_level level, const char *fmt, ...);
void llmopt_vlogf(const llmopt_logger *lg, llmopt_log_level level, const char *fmt,
                  va_list ap);

#define llmopt_log_debug(lg, ...) llmopt_logf((lg), LLMOPT_LOG_DEBUG, __VA_ARGS__)
#define llmopt_log_info(lg, ...) llmopt_logf((lg), LLMOPT_LOG_INFO, __VA_ARGS__)
#define llmopt_log_warn(lg, ...) llmopt_logf((lg), LLMOPT_LOG_WARN, __VA_ARGS__)
#define llmopt_log_error(lg, ...) llmopt_logf((lg), LLMOPT_LOG_ERROR, __VA_ARGS__)

/* Copies `in` to `out` (always NUL-terminated, truncated to out_size) with
 * secrets replaced by [redacted]:
 *   - libpq key/value DSNs: password=secret, password = 'quoted \' value'
 *     (any key containing "password" or "secret", case-insensitive)
 *   - URIs: scheme://user:secret@host -> scheme://user:[redacted]@host
 *   - URI query parameters: ?password=secret&x=1
 * Returns the length of the redacted text (not truncated length). */
size_t llmopt_log_redact(const char *in, char *out, size_t out_size);

#endif
