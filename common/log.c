/* log.c - leveled text/JSON logging with secret redaction (log.h). */
#include "common/log.h"

#include <ctype.h>
#include <jansson.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

const char *const llmopt_log_level_names[] = {"debug", "info", "warn", "error", NULL};
const char *const llmopt_log_format_names[] = {"text", "json", NULL};

static atomic_int log_min = LLMOPT_LOG_INFO;
static atomic_int log_fmt = LLMOPT_LOG_TEXT;
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *log_out; /* NULL: stderr; guarded by log_lock */

void llmopt_log_setup(llmopt_log_level min_level, llmopt_log_format format) {
    atomic_store(&log_min, (int)min_level);
    atomic_store(&log_fmt, (int)format);
}

void llmopt_log_set_output(FILE *out) {
    pthread_mutex_lock(&log_lock);
    log_out = out;
    pthread_mutex_unlock(&log_lock);
}

bool llmopt_log_enabled(llmopt_log_level level) {
    return (int)level >= atomic_load(&log_min);
}

/* ---- redaction -------------------------------------------------------- */

typedef struct obuf {
    char *p;
    size_t size, len; /* len counts every byte, written or not */
} obuf;

static void put(obuf *o, const char *s, size_t n) {
    if (o->len < o->size) {
        size_t room = o->size - o->len;
        memcpy(o->p + o->len, s, n < room ? n : room);
    }
    o->len += n;
}

static bool secret_key(const char *k, size_t n) {
    static const char *const words[] = {"password", "secret", "passwd", "pwd"};
    for (size_t w = 0; w < sizeof(words) / sizeof(words[0]); w++) {
        size_t wl = strlen(words[w]);
        for (size_t i = 0; i + wl <= n; i++)
            if (!strncasecmp(k + i, words[w], wl))
                return true;
    }
    return false;
}

static bool key_char(char ch) {
    return isalnum((unsigned char)ch) || ch == '_' || ch == '.' || ch == '-';
}

size_t llmopt_log_redact(const char *in, char *out, size_t out_size) {
    obuf o = {out, out_size ? out_size - 1 : 0, 0};
    static const char red[] = "[redacted]";
    size_t i = 0, n = strlen(in);
    while (i < n) {
        /* scheme://user:secret@host: redact between the first ':' of the
         * userinfo and the '@', if the '@' comes before any '/' */
        if (in[i] == ':' && i + 2 < n && in[i + 1] == '/' && in[i + 2] == '/') {
            size_t s = i + 3, end = s;
            while (end < n && in[end] != '/' && in[end] != '@' && !isspace((unsigned char)in[end]))
                end++;
            if (end < n && in[end] == '@') {
                const char *colon = memchr(in + s, ':', end - s);
                if (colon) {
                    size_t c = (size_t)(colon - in);
                    put(&o, in + i, c + 1 - i);
                    put(&o, red, sizeof(red) - 1);
                    i = end;
                    continue;
                }
            }
            put(&o, in + i, 3);
            i += 3;
            continue;
        }
        /* key = value where key mentions a password or secret */
        if (key_char(in[i]) && (i == 0 || !key_char(in[i - 1]))) {
            size_t ks = i, ke = i;
            while (ke < n && key_char(in[ke]))
                ke++;
            size_t j = ke;
            while (j < n && in[j] == ' ')
                j++;
            if (j < n && in[j] == '=' && secret_key(in + ks, ke - ks)) {
                j++;
                while (j < n && in[j] == ' ')
                    j++;
                put(&o, in + ks, j - ks);
                size_t v = j;
                if (v < n && (in[v] == '\'' || in[v] == '"')) {
                    char q = in[v++];
                    while (v < n && in[v] != q) {
                        if (in[v] == '\\' && v + 1 < n)
                            v++;
                        v++;
                    }
                    if (v < n)
                        v++;
                } else {
                    while (v < n && !isspace((unsigned char)in[v]) && in[v] != '&' &&
                           in[v] != ',' && in[v] != ';' && in[v] != '"' && in[v] != '\'')
                        v++;
                }
                put(&o, red, sizeof(red) - 1);
                i = v;
                continue;
            }
            put(&o, in + ks, ke - ks);
            i = ke;
            continue;
        }
        put(&o, in + i, 1);
        i++;
    }
    if (out_size)
        out[o.len < o.size ? o.len : o.size] = '\0';
    return o.len;
}

/* ---- writing ---------------------------------------------------------- */

static void timestamp(char *buf, size_t size) {
    struct timespec ts;
    struct tm tm;
    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void llmopt_vlogf(const llmopt_logger *lg, llmopt_log_level level, const char *fmt,
                  va_list ap) {
    if (!llmopt_log_enabled(level))
        return;
    char raw[2048], msg[4096], ts[40];
    vsnprintf(raw, sizeof(raw), fmt, ap);
    llmopt_log_redact(raw, msg, sizeof(msg));
    timestamp(ts, sizeof(ts));
    const char *comp = lg && lg->component ? lg->component : "-";
    const char *lname = llmopt_log_level_names[level];
    char *line = NULL, *dump = NULL;
    char text[4200];
    if (atomic_load(&log_fmt) == LLMOPT_LOG_JSON) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", lname, "component",
                              comp, "msg", msg);
        /* invalid UTF-8 makes json_pack fail: fall back to a lossy copy */
        if (!o) {
            for (char *p = msg; *p; p++)
                if ((unsigned char)*p >= 0x80)
                    *p = '?';
            o = json_pack("{s:s, s:s, s:s, s:s}", "ts", ts, "level", lname, "component", comp,
                          "msg", msg);
        }
        if (o) {
            dump = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
            json_decref(o);
        }
        if (dump) {
            size_t dl = strlen(dump);
            line = malloc(dl + 2);
            if (line) {
                memcpy(line, dump, dl);
                line[dl] = '\n';
                line[dl + 1] = '\0';
            }
        }
    }
    if (!line) {
        snprintf(text, sizeof(text), "%s %-5s [%s] %s\n", ts, lname, comp, msg);
        line = text;
    }
    pthread_mutex_lock(&log_lock);
    FILE *out = log_out ? log_out : stderr;
    fwrite(line, 1, strlen(line), out);
    fflush(out);
    pthread_mutex_unlock(&log_lock);
    if (line != text)
        free(line);
    free(dump);
}

void llmopt_logf(const llmopt_logger *lg, llmopt_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    llmopt_vlogf(lg, level, fmt, ap);
    va_end(ap);
}
