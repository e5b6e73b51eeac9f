/* config.c - property tables, sources, kafka passthrough, docs (config.h). */
#include "common/config.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/log.h"

extern char **environ;

#define KAFKA_PREFIX "kafka."
#define KAFKA_PREFIX_LEN 6
#define ENV_PREFIX "LLMOPT_"
#define ENV_PREFIX_LEN 7

typedef struct entry {
    const llmopt_config_prop *prop;
    const llmopt_config_table *table;
    size_t offset; /* binding offset + prop offset, into obj */
    llmopt_config_source src;
} entry;

typedef struct kafka_kv {
    char *name; /* without "kafka." */
    char *value;
    llmopt_config_source src;
} kafka_kv;

struct llmopt_config {
    void *obj;
    size_t obj_size;
    llmopt_config_binding *bindings;
    size_t n_bindings;
    entry *entries;
    size_t n_entries;
    kafka_kv *kafka;
    size_t n_kafka, cap_kafka;
    rd_kafka_conf_t *scratch; /* validates kafka.* values one at a time */
    /* what the loads read, for llmopt_config_reload() */
    char *file_path;
    bool env_loaded;
    char **args;
    size_t n_args;
};

const char *llmopt_config_source_name(llmopt_config_source src) {
    switch (src) {
    case LLMOPT_CONFIG_SRC_DEFAULT: return "default";
    case LLMOPT_CONFIG_SRC_FILE: return "file";
    case LLMOPT_CONFIG_SRC_ENV: return "env";
    case LLMOPT_CONFIG_SRC_CLI: return "cli";
    case LLMOPT_CONFIG_SRC_API: return "api";
    }
    return "?";
}

/* ---- the common table ------------------------------------------------- */

static llmopt_err_t validate_listen(const llmopt_config_prop *prop, const void *parsed,
                                    char *errstr, size_t errstr_size) {
    const char *s = *(const char *const *)parsed;
    unsigned char buf[sizeof(struct in6_addr)];
    if (s && (inet_pton(AF_INET, s, buf) == 1 || inet_pton(AF_INET6, s, buf) == 1))
        return LLMOPT_OK;
    return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                       "invalid value '%s' for '%s': expected a numeric IPv4 or IPv6 address",
                       s ? s : "", prop->name);
}

static llmopt_err_t validate_url(const llmopt_config_prop *prop, const void *parsed,
                                 char *errstr, size_t errstr_size) {
    const char *s = *(const char *const *)parsed;
    if (!s || !*s || !strncmp(s, "http://", 7) || !strncmp(s, "https://", 8))
        return LLMOPT_OK;
    char red[256];
    llmopt_log_redact(s, red, sizeof(red));
    return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                       "invalid value '%s' for '%s': expected an http:// or https:// URL",
                       red, prop->name);
}

static llmopt_err_t common_finalize(void *obj, char *errstr, size_t errstr_size) {
    const llmopt_common_conf *cc = obj;
    if (cc->schema_registry_url && *cc->schema_registry_url && cc->schema_registry_file &&
        *cc->schema_registry_file)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'schema.registry.url' and 'schema.registry.file' are mutually "
                           "exclusive: set one");
    if (cc->schema_registry_auth && *cc->schema_registry_auth &&
        !strchr(cc->schema_registry_auth, ':'))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'schema.registry.basic.auth' must be 'user:password'");
    return LLMOPT_OK;
}

#define CF(f) offsetof(llmopt_common_conf, f)
static const llmopt_config_prop common_props[] = {
    {.name = "log.level", .type = LLMOPT_CONFIG_ENUM, .offset = CF(log_level),
     .def = "info", .enum_names = llmopt_log_level_names, .flags = LLMOPT_CONFIG_RELOADABLE,
     .desc = "lowest level written to stderr"},
    {.name = "log.format", .type = LLMOPT_CONFIG_ENUM, .offset = CF(log_format),
     .def = "text", .enum_names = llmopt_log_format_names,
     .desc = "text lines, or one JSON object per line"},
    {.name = "http.listen", .type = LLMOPT_CONFIG_STRING, .offset = CF(http_listen),
     .def = "127.0.0.1", .validate = validate_listen,
     .desc = "address of the /metrics, /healthz and /readyz server"},
    {.name = "http.port", .type = LLMOPT_CONFIG_INT, .offset = CF(http_port), .min = 0,
     .max = 65535, .def = "0", .desc = "port of the HTTP server; 0 turns it off"},
    {.name = "pg.dsn", .type = LLMOPT_CONFIG_STRING, .offset = CF(pg_dsn),
     .flags = LLMOPT_CONFIG_SENSITIVE,
     .desc = "libpq connection string or URI; may hold a password"},
    {.name = "schema.registry.url", .type = LLMOPT_CONFIG_STRING,
     .offset = CF(schema_registry_url), .validate = validate_url,
     .desc = "Confluent Schema Registry base URL"},
    {.name = "schema.registry.file", .type = LLMOPT_CONFIG_STRING,
     .offset = CF(schema_registry_file),
     .desc = "offline schema registry: a JSON file of id -> schema, instead of the URL"},
    {.name = "schema.registry.basic.auth", .type = LLMOPT_CONFIG_STRING,
     .offset = CF(schema_registry_auth), .flags = LLMOPT_CONFIG_SENSITIVE,
     .desc = "user:password for HTTP basic auth to the registry"},
    {.name = "schema.registry.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = CF(schema_registry_timeout_ms), .min = 100, .max = 600000, .def = "5s",
     .desc = "timeout of one registry request"},
    {.name = "shutdown.timeout", .type = LLMOPT_CONFIG_DURATION,
     .offset = CF(shutdown_timeout_ms), .min = 0, .max = 3600000, .def = "30s",
     .desc = "how long a clean shutdown may take (flush, commit) before giving up"},
    {0}};

const llmopt_config_table llmopt_common_table = {
    .name = "common",
    .desc = "every binary",
    .props = common_props,
    .finalize = common_finalize,
};

/* ---- small helpers ---------------------------------------------------- */

size_t llmopt_config_edit_distance(const char *a, const char *b) {
    size_t la = strlen(a), lb = strlen(b);
    size_t *row = malloc((lb + 1) * sizeof(*row));
    if (!row)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t best = diag + (a[i - 1] != b[j - 1]);
            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    size_t d = row[lb];
    free(row);
    return d;
}

/* A suggestion is worth making when it is closer than a third of the key. */
static bool close_enough(const char *key, size_t d) {
    size_t lim = strlen(key) / 3;
    if (lim < 2)
        lim = 2;
    return d <= lim;
}

static void fmt_duration(int64_t ms, char *buf, size_t size) {
    if (ms == 0) {
        snprintf(buf, size, "0");
        return;
    }
    static const struct { const char *unit; int64_t ms; } units[] = {
        {"d", 86400000}, {"h", 3600000}, {"m", 60000}, {"s", 1000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, size, "%" PRId64 "%s", ms / units[i].ms, units[i].unit);
            return;
        }
    snprintf(buf, size, "%" PRId64 "ms", ms);
}

static void fmt_size(int64_t b, char *buf, size_t size) {
    static const char *const units[] = {"TiB", "GiB", "MiB", "KiB"};
    for (int i = 0; i < 4; i++) {
        int64_t u = (int64_t)1 << (10 * (4 - i));
        if (b != 0 && b % u == 0) {
            snprintf(buf, size, "%" PRId64 "%s", b / u, units[i]);
            return;
        }
    }
    snprintf(buf, size, "%" PRId64, b);
}

/* Shortest text that reads back as the same double. */
static void fmt_double(double d, char *buf, size_t size) {
    if (d == floor(d) && fabs(d) < 1e15) {
        snprintf(buf, size, "%.0f", d);
        return;
    }
    for (int prec = 1; prec <= 17; prec++) {
        snprintf(buf, size, "%.*g", prec, d);
        if (strtod(buf, NULL) == d)
            return;
    }
}

static void fmt_bound(const llmopt_config_prop *p, double v, char *buf, size_t size) {
    switch (p->type) {
    case LLMOPT_CONFIG_DURATION: fmt_duration((int64_t)v, buf, size); break;
    case LLMOPT_CONFIG_SIZE: fmt_size((int64_t)v, buf, size); break;
    case LLMOPT_CONFIG_INT: snprintf(buf, size, "%" PRId64, (int64_t)v); break;
    default: fmt_double(v, buf, size); break;
    }
}

static bool bounded(const llmopt_config_prop *p) {
    return !(p->min == 0 && p->max == 0);
}

static void fmt_range(const llmopt_config_prop *p, char *buf, size_t size) {
    char lo[64], hi[64];
    fmt_bound(p, p->min, lo, sizeof(lo));
    fmt_bound(p, p->max, hi, sizeof(hi));
    snprintf(buf, size, "%s..%s", lo, hi);
}

static const char *type_name(llmopt_config_type t) {
    switch (t) {
    case LLMOPT_CONFIG_STRING: return "string";
    case LLMOPT_CONFIG_INT: return "int";
    case LLMOPT_CONFIG_DOUBLE: return "double";
    case LLMOPT_CONFIG_BOOL: return "bool";
    case LLMOPT_CONFIG_ENUM: return "enum";
    case LLMOPT_CONFIG_DURATION: return "duration";
    case LLMOPT_CONFIG_SIZE: return "size";
    }
    return "?";
}

/* "an integer", "one of debug|info|warn|error", ... */
static void fmt_expected(const llmopt_config_prop *p, char *buf, size_t size) {
    switch (p->type) {
    case LLMOPT_CONFIG_STRING: snprintf(buf, size, "a string"); break;
    case LLMOPT_CONFIG_INT: snprintf(buf, size, "an integer"); break;
    case LLMOPT_CONFIG_DOUBLE: snprintf(buf, size, "a finite number"); break;
    case LLMOPT_CONFIG_BOOL:
        snprintf(buf, size, "a boolean (true|false|1|0|yes|no|on|off)");
        break;
    case LLMOPT_CONFIG_DURATION:
        snprintf(buf, size, "a duration such as 500ms, 30s, 5m, 2h, 1d");
        break;
    case LLMOPT_CONFIG_SIZE:
        snprintf(buf, size, "a size such as 4096, 64KiB, 16MiB, 1GiB, 10kB");
        break;
    case LLMOPT_CONFIG_ENUM: {
        size_t o = (size_t)snprintf(buf, size, "one of ");
        for (size_t i = 0; p->enum_names[i] && o < size; i++)
            o += (size_t)snprintf(buf + o, size - o, "%s%s", i ? "|" : "", p->enum_names[i]);
        break;
    }
    }
}

static bool prop_sensitive(const llmopt_config_prop *p) {
    return p->flags & LLMOPT_CONFIG_SENSITIVE;
}

bool llmopt_config_kafka_sensitive(const char *name) {
    if (strcasestr(name, "password") || strcasestr(name, "secret"))
        return true;
    return !strcmp(name, "ssl.key.pem") || !strcmp(name, "ssl_key") ||
           !strcmp(name, "sasl.oauthbearer.config");
}

/* ---- parsing ---------------------------------------------------------- */

typedef union parsed {
    int64_t i;
    double d;
    bool b;
    int e;
    const char *s;
} parsed;

static bool parse_i64(const char *s, int64_t *out, const char **end) {
    errno = 0;
    char *e;
    if (!*s || isspace((unsigned char)*s))
        return false;
    long long v = strtoll(s, &e, 10);
    if (e == s || errno)
        return false;
    *out = v;
    *end = e;
    return true;
}

static bool parse_duration(const char *s, int64_t *out) {
    const char *e;
    int64_t v;
    if (!parse_i64(s, &v, &e))
        return false;
    static const struct { const char *u; int64_t m; } units[] = {
        {"", 1}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcmp(e, units[i].u)) {
            if (v > INT64_MAX / units[i].m || v < INT64_MIN / units[i].m)
                return false;
            *out = v * units[i].m;
            return true;
        }
    return false;
}

static bool parse_size(const char *s, int64_t *out) {
    const char *e;
    int64_t v;
    if (!parse_i64(s, &v, &e))
        return false;
    static const struct { const char *u; int64_t m; } units[] = {
        {"", 1}, {"b", 1}, {"kib", 1024}, {"mib", 1048576}, {"gib", 1073741824},
        {"tib", 1099511627776}, {"kb", 1000}, {"mb", 1000000}, {"gb", 1000000000},
        {"tb", 1000000000000}};
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (!strcasecmp(e, units[i].u)) {
            if (v > INT64_MAX / units[i].m || v < INT64_MIN / units[i].m)
                return false;
            *out = v * units[i].m;
            return true;
        }
    return false;
}

static bool parse_bool(const char *s, bool *out) {
    static const char *const t[] = {"true", "1", "yes", "on"};
    static const char *const f[] = {"false", "0", "no", "off"};
    for (int i = 0; i < 4; i++) {
        if (!strcasecmp(s, t[i])) {
            *out = true;
            return true;
        }
        if (!strcasecmp(s, f[i])) {
            *out = false;
            return true;
        }
    }
    return false;
}

/* Parses `value` for `p` into *out; the message quotes the value unless the
 * property is SENSITIVE. */
static llmopt_err_t parse_value(const llmopt_config_prop *p, const char *value, parsed *out,
                                char *errstr, size_t errstr_size) {
    char shown[200], exp[256], range[160];
    if (prop_sensitive(p))
        snprintf(shown, sizeof(shown), "[redacted]");
    else
        snprintf(shown, sizeof(shown), "'%.190s'", value);
    bool ok = true, range_err = false;
    double num = 0;
    switch (p->type) {
    case LLMOPT_CONFIG_STRING:
        out->s = value;
        break;
    case LLMOPT_CONFIG_INT: {
        const char *e;
        ok = parse_i64(value, &out->i, &e) && !*e;
        if (!ok && errno == ERANGE)
            ok = false, range_err = true;
        num = (double)out->i;
        break;
    }
    case LLMOPT_CONFIG_DOUBLE: {
        char *e;
        errno = 0;
        out->d = strtod(value, &e);
        ok = *value && !isspace((unsigned char)*value) && e != value && !*e && isfinite(out->d);
        num = out->d;
        break;
    }
    case LLMOPT_CONFIG_BOOL:
        ok = parse_bool(value, &out->b);
        break;
    case LLMOPT_CONFIG_ENUM:
        ok = false;
        for (int i = 0; p->enum_names[i]; i++)
            if (!strcmp(value, p->enum_names[i])) {
                out->e = i;
                ok = true;
            }
        break;
    case LLMOPT_CONFIG_DURATION:
        ok = parse_duration(value, &out->i);
        num = (double)out->i;
        break;
    case LLMOPT_CONFIG_SIZE:
        ok = parse_size(value, &out->i);
        num = (double)out->i;
        break;
    }
    if (range_err || (ok && bounded(p) && p->type != LLMOPT_CONFIG_STRING &&
                      p->type != LLMOPT_CONFIG_BOOL && p->type != LLMOPT_CONFIG_ENUM &&
                      (num < p->min || num > p->max))) {
        if (bounded(p))
            fmt_range(p, range, sizeof(range));
        else
            snprintf(range, sizeof(range), "%" PRId64 "..%" PRId64, INT64_MIN, INT64_MAX);
        return llmopt_errf(LLMOPT_ERR_RANGE, errstr, errstr_size,
                           "value %s for '%s' is out of range %s", shown, p->name, range);
    }
    if (!ok) {
        fmt_expected(p, exp, sizeof(exp));
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid value %s for '%s': expected %s", shown, p->name, exp);
    }
    if (p->validate)
        return p->validate(p, p->type == LLMOPT_CONFIG_STRING ? (const void *)&out->s
                                                              : (const void *)out,
                           errstr, errstr_size);
    return LLMOPT_OK;
}

static void *field(const llmopt_config *c, const entry *en) {
    return (char *)c->obj + en->offset;
}

static llmopt_err_t store(llmopt_config *c, entry *en, const parsed *v) {
    void *f = field(c, en);
    switch (en->prop->type) {
    case LLMOPT_CONFIG_STRING: {
        char *dup = NULL;
        if (v->s && !(dup = strdup(v->s)))
            return LLMOPT_ERR_NOMEM;
        free(*(char **)f);
        *(char **)f = dup;
        break;
    }
    case LLMOPT_CONFIG_INT:
    case LLMOPT_CONFIG_DURATION:
    case LLMOPT_CONFIG_SIZE: *(int64_t *)f = v->i; break;
    case LLMOPT_CONFIG_DOUBLE: *(double *)f = v->d; break;
    case LLMOPT_CONFIG_BOOL: *(bool *)f = v->b; break;
    case LLMOPT_CONFIG_ENUM: *(int *)f = v->e; break;
    }
    return LLMOPT_OK;
}

/* The value in set() syntax, canonical form. */
static void fmt_value(const llmopt_config *c, const entry *en, bool reveal, char *buf,
                      size_t size) {
    const void *f = field(c, en);
    const llmopt_config_prop *p = en->prop;
    switch (p->type) {
    case LLMOPT_CONFIG_STRING: {
        const char *s = *(char *const *)f;
        if (!s)
            snprintf(buf, size, "%s", "");
        else if (prop_sensitive(p) && !reveal)
            snprintf(buf, size, "[redacted]");
        else if (!reveal)
            llmopt_log_redact(s, buf, size);
        else
            snprintf(buf, size, "%s", s);
        return;
    }
    case LLMOPT_CONFIG_INT: snprintf(buf, size, "%" PRId64, *(const int64_t *)f); break;
    case LLMOPT_CONFIG_DURATION: fmt_duration(*(const int64_t *)f, buf, size); break;
    case LLMOPT_CONFIG_SIZE: fmt_size(*(const int64_t *)f, buf, size); break;
    case LLMOPT_CONFIG_DOUBLE: fmt_double(*(const double *)f, buf, size); break;
    case LLMOPT_CONFIG_BOOL: snprintf(buf, size, "%s", *(const bool *)f ? "true" : "false"); break;
    case LLMOPT_CONFIG_ENUM: snprintf(buf, size, "%s", p->enum_names[*(const int *)f]); break;
    }
    if (prop_sensitive(p) && !reveal)
        snprintf(buf, size, "[redacted]");
}

/* ---- lifecycle -------------------------------------------------------- */

static entry *find_entry(const llmopt_config *c, const char *key) {
    for (size_t i = 0; i < c->n_entries; i++)
        if (!strcmp(c->entries[i].prop->name, key))
            return &c->entries[i];
    return NULL;
}

const llmopt_config_prop *llmopt_config_find(const llmopt_config *c, const char *key) {
    entry *en = find_entry(c, key);
    return en ? en->prop : NULL;
}

static bool valid_key_name(const char *k) {
    if (!*k || *k == '.')
        return false;
    for (const char *p = k; *p; p++)
        if (!(islower((unsigned char)*p) || isdigit((unsigned char)*p) ||
              (*p == '.' && p[1] && p[1] != '.')))
            return false;
    return true;
}

llmopt_config *llmopt_config_new(void *obj, size_t obj_size,
                                 const llmopt_config_binding *bindings, size_t n,
                                 char *errstr, size_t errstr_size) {
    llmopt_config *c = calloc(1, sizeof(*c));
    if (!c) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    c->obj = obj;
    c->obj_size = obj_size;
    size_t total = 0;
    for (size_t b = 0; b < n; b++)
        for (const llmopt_config_prop *p = bindings[b].table->props; p->name; p++)
            total++;
    c->bindings = calloc(n ? n : 1, sizeof(*c->bindings));
    c->entries = calloc(total ? total : 1, sizeof(*c->entries));
    c->scratch = rd_kafka_conf_new();
    if (!c->bindings || !c->entries || !c->scratch) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto fail;
    }
    memcpy(c->bindings, bindings, n * sizeof(*bindings));
    c->n_bindings = n;
    for (size_t b = 0; b < n; b++)
        for (const llmopt_config_prop *p = bindings[b].table->props; p->name; p++) {
            if (!valid_key_name(p->name) || !strncmp(p->name, KAFKA_PREFIX, KAFKA_PREFIX_LEN)) {
                llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "table '%s': bad key name '%s'", bindings[b].table->name, p->name);
                goto fail;
            }
            if (find_entry(c, p->name)) {
                llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "table '%s': duplicate key '%s'", bindings[b].table->name, p->name);
                goto fail;
            }
            if (p->type == LLMOPT_CONFIG_ENUM && !p->enum_names) {
                llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "table '%s': enum '%s' has no names", bindings[b].table->name,
                            p->name);
                goto fail;
            }
            entry *en = &c->entries[c->n_entries++];
            en->prop = p;
            en->table = bindings[b].table;
            en->offset = bindings[b].offset + p->offset;
            en->src = LLMOPT_CONFIG_SRC_DEFAULT;
            if (p->def) {
                parsed v;
                char why[512];
                if (parse_value(p, p->def, &v, why, sizeof(why)) != LLMOPT_OK) {
                    llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                "table '%s': bad default: %s", bindings[b].table->name, why);
                    goto fail;
                }
                if (store(c, en, &v) != LLMOPT_OK) {
                    llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
                    goto fail;
                }
            }
        }
    return c;
fail:
    llmopt_config_destroy(c);
    return NULL;
}

void llmopt_config_destroy(llmopt_config *c) {
    if (!c)
        return;
    for (size_t i = 0; i < c->n_entries; i++)
        if (c->entries[i].prop->type == LLMOPT_CONFIG_STRING) {
            char **f = field(c, &c->entries[i]);
            free(*f);
            *f = NULL;
        }
    for (size_t i = 0; i < c->n_kafka; i++) {
        free(c->kafka[i].name);
        free(c->kafka[i].value);
    }
    for (size_t i = 0; i < c->n_args; i++)
        free(c->args[i]);
    free(c->args);
    free(c->kafka);
    free(c->entries);
    free(c->bindings);
    free(c->file_path);
    if (c->scratch)
        rd_kafka_conf_destroy(c->scratch);
    free(c);
}

/* ---- librdkafka's property names, for env resolution and suggestions --- */

static char **rk_names;
static size_t rk_n;
static pthread_once_t rk_once = PTHREAD_ONCE_INIT;

static void rk_names_load(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return;
    rd_kafka_conf_properties_show(f);
    fclose(f);
    size_t cap = 0;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        size_t n = strspn(line, "abcdefghijklmnopqrstuvwxyz0123456789._");
        if (n == 0 || line[n] != ' ')
            continue;
        if (rk_n == cap) {
            cap = cap ? cap * 2 : 256;
            char **nn = realloc(rk_names, cap * sizeof(*nn));
            if (!nn)
                break;
            rk_names = nn;
        }
        rk_names[rk_n] = strndup(line, n);
        if (rk_names[rk_n])
            rk_n++;
    }
    free(buf);
}

static void rk_names_get(char ***names, size_t *n) {
    pthread_once(&rk_once, rk_names_load);
    *names = rk_names;
    *n = rk_n;
}

/* ---- set -------------------------------------------------------------- */

/* Replaces every occurrence of `secret` in msg (capacity cap) by [redacted]:
 * librdkafka's messages may quote the value. */
static void redact_in(char *msg, size_t cap, const char *secret) {
    size_t sl = strlen(secret);
    char *tmp = sl ? malloc(cap) : NULL;
    if (!tmp)
        return;
    size_t o = 0;
    const char *p = msg, *hit;
    while ((hit = strstr(p, secret)) && o < cap) {
        o += (size_t)snprintf(tmp + o, cap - o, "%.*s[redacted]", (int)(hit - p), p);
        p = hit + sl;
    }
    if (o < cap)
        snprintf(tmp + o, cap - o, "%s", p);
    snprintf(msg, cap, "%s", tmp);
    free(tmp);
}

static llmopt_err_t set_kafka(llmopt_config *c, llmopt_config_source src, const char *key,
                              const char *value, char *errstr, size_t errstr_size) {
    const char *name = key + KAFKA_PREFIX_LEN;
    char why[512] = "";
    rd_kafka_conf_res_t r = RD_KAFKA_CONF_UNKNOWN;
    if (*name)
        r = rd_kafka_conf_set(c->scratch, name, value, why, sizeof(why));
    else
        snprintf(why, sizeof(why), "empty librdkafka property name");
    bool sens = llmopt_config_kafka_sensitive(name);
    if (sens)
        redact_in(why, sizeof(why), value);
    if (r == RD_KAFKA_CONF_UNKNOWN) {
        char **names;
        size_t n, best_d = (size_t)-1;
        const char *best = NULL;
        rk_names_get(&names, &n);
        for (size_t i = 0; i < n; i++) {
            size_t d = llmopt_config_edit_distance(name, names[i]);
            if (d < best_d)
                best_d = d, best = names[i];
        }
        if (best && close_enough(name, best_d))
            return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                               "unknown configuration key '%s' (did you mean 'kafka.%s'?): "
                               "librdkafka: %s",
                               key, best, why);
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "unknown configuration key '%s': librdkafka: %s", key, why);
    }
    if (r != RD_KAFKA_CONF_OK) {
        if (sens)
            return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                               "invalid value [redacted] for '%s': librdkafka: %s", key, why);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid value '%.190s' for '%s': librdkafka: %s", value, key, why);
    }
    for (size_t i = 0; i < c->n_kafka; i++)
        if (!strcmp(c->kafka[i].name, name)) {
            char *v = strdup(value);
            if (!v)
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            free(c->kafka[i].value);
            c->kafka[i].value = v;
            c->kafka[i].src = src;
            return LLMOPT_OK;
        }
    if (c->n_kafka == c->cap_kafka) {
        size_t cap = c->cap_kafka ? c->cap_kafka * 2 : 16;
        kafka_kv *nk = realloc(c->kafka, cap * sizeof(*nk));
        if (!nk)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        c->kafka = nk;
        c->cap_kafka = cap;
    }
    kafka_kv *kv = &c->kafka[c->n_kafka];
    kv->name = strdup(name);
    kv->value = strdup(value);
    kv->src = src;
    if (!kv->name || !kv->value) {
        free(kv->name);
        free(kv->value);
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    c->n_kafka++;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_config_set_from(llmopt_config *c, llmopt_config_source src,
                                    const char *key, const char *value, char *errstr,
                                    size_t errstr_size) {
    if (!key || !value)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "missing key or value");
    entry *en = find_entry(c, key);
    if (!en) {
        if (!strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN))
            return set_kafka(c, src, key, value, errstr, errstr_size);
        const char *best = NULL;
        size_t best_d = (size_t)-1;
        for (size_t i = 0; i < c->n_entries; i++) {
            size_t d = llmopt_config_edit_distance(key, c->entries[i].prop->name);
            if (d < best_d)
                best_d = d, best = c->entries[i].prop->name;
        }
        if (best && close_enough(key, best_d))
            return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                               "unknown configuration key '%s' (did you mean '%s'?)", key, best);
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "unknown configuration key '%s'", key);
    }
    parsed v;
    llmopt_err_t err = parse_value(en->prop, value, &v, errstr, errstr_size);
    if (err != LLMOPT_OK)
        return err;
    if (store(c, en, &v) != LLMOPT_OK)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    en->src = src;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_config_set(llmopt_config *c, const char *key, const char *value,
                               char *errstr, size_t errstr_size) {
    return llmopt_config_set_from(c, LLMOPT_CONFIG_SRC_API, key, value, errstr, errstr_size);
}

/* Runs `err = call` and, on failure, prefixes errstr with `prefix`. */
static llmopt_err_t prefixed(llmopt_err_t err, const char *prefix, char *errstr,
                             size_t errstr_size) {
    if (err == LLMOPT_OK || !errstr || !errstr_size)
        return err;
    size_t pl = strlen(prefix), ml = strlen(errstr);
    if (pl + ml + 1 > errstr_size) {
        if (pl + 1 > errstr_size)
            return err;
        ml = errstr_size - pl - 1;
    }
    memmove(errstr + pl, errstr, ml);
    memcpy(errstr, prefix, pl);
    errstr[pl + ml] = '\0';
    return err;
}

llmopt_err_t llmopt_config_set_arg(llmopt_config *c, const char *arg, char *errstr,
                                   size_t errstr_size) {
    const char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "-X '%s': expected key=value", arg);
    char *key = strndup(arg, (size_t)(eq - arg));
    char *copy = strdup(arg);
    char **na = realloc(c->args, (c->n_args + 1) * sizeof(*na));
    if (!key || !copy || !na) {
        free(key);
        free(copy);
        if (na)
            c->args = na;
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    }
    c->args = na;
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "-X %.250s: ", key);
    llmopt_err_t err = llmopt_config_set_from(c, LLMOPT_CONFIG_SRC_CLI, key, eq + 1, errstr,
                                              errstr_size);
    free(key);
    if (err == LLMOPT_OK)
        c->args[c->n_args++] = copy;
    else
        free(copy);
    return prefixed(err, prefix, errstr, errstr_size);
}

/* ---- JSON file -------------------------------------------------------- */

static const char *json_type_name(const json_t *v) {
    switch (json_typeof(v)) {
    case JSON_OBJECT: return "object";
    case JSON_ARRAY: return "array";
    case JSON_STRING: return "string";
    case JSON_INTEGER: return "integer";
    case JSON_REAL: return "number";
    case JSON_TRUE:
    case JSON_FALSE: return "boolean";
    case JSON_NULL: return "null";
    }
    return "?";
}

static llmopt_err_t load_scalar(llmopt_config *c, llmopt_config_source src, const char *key,
                                const json_t *v, char *errstr, size_t errstr_size) {
    char buf[64];
    const char *text = NULL;
    entry *en = find_entry(c, key);
    bool is_kafka = !en && !strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN);
    llmopt_config_type t = en ? en->prop->type : LLMOPT_CONFIG_STRING;
    if (!en && !is_kafka) /* unknown: let set() word it and suggest */
        return llmopt_config_set_from(c, src, key, "", errstr, errstr_size);
    switch (json_typeof(v)) {
    case JSON_STRING: text = json_string_value(v); break;
    case JSON_INTEGER:
        if (is_kafka || t == LLMOPT_CONFIG_INT || t == LLMOPT_CONFIG_DOUBLE ||
            t == LLMOPT_CONFIG_DURATION || t == LLMOPT_CONFIG_SIZE) {
            snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, json_integer_value(v));
            text = buf;
        }
        break;
    case JSON_REAL:
        if (is_kafka || t == LLMOPT_CONFIG_DOUBLE) {
            fmt_double(json_real_value(v), buf, sizeof(buf));
            text = buf;
        }
        break;
    case JSON_TRUE:
    case JSON_FALSE:
        if (is_kafka || t == LLMOPT_CONFIG_BOOL)
            text = json_is_true(v) ? "true" : "false";
        break;
    default: break;
    }
    if (!text) {
        char exp[256] = "a scalar";
        if (en)
            fmt_expected(en->prop, exp, sizeof(exp));
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid JSON %s for '%s': expected %s", json_type_name(v), key, exp);
    }
    return llmopt_config_set_from(c, src, key, text, errstr, errstr_size);
}

static llmopt_err_t load_object(llmopt_config *c, llmopt_config_source src, const char *prefix,
                                json_t *obj, char *errstr, size_t errstr_size) {
    const char *k;
    json_t *v;
    json_object_foreach(obj, k, v) {
        size_t n = strlen(prefix) + strlen(k) + 2;
        char *key = malloc(n);
        if (!key)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        snprintf(key, n, "%s%s%s", prefix, *prefix ? "." : "", k);
        llmopt_err_t err = json_is_object(v)
                               ? load_object(c, src, key, v, errstr, errstr_size)
                               : load_scalar(c, src, key, v, errstr, errstr_size);
        free(key);
        if (err != LLMOPT_OK)
            return err;
    }
    return LLMOPT_OK;
}

static llmopt_err_t load_root(llmopt_config *c, json_t *root, llmopt_config_source src,
                              const char *prefix, char *errstr, size_t errstr_size) {
    if (!json_is_object(root))
        return prefixed(llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                    "top level must be a JSON object"),
                        prefix, errstr, errstr_size);
    return prefixed(load_object(c, src, "", root, errstr, errstr_size), prefix, errstr,
                    errstr_size);
}

llmopt_err_t llmopt_config_load_json(llmopt_config *c, const char *json, size_t len,
                                     const char *origin, llmopt_config_source src,
                                     char *errstr, size_t errstr_size) {
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "%.280s: ", origin);
    json_error_t je;
    json_t *root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &je);
    if (!root)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "%sline %d column %d: %s",
                           prefix, je.line, je.column, je.text);
    llmopt_err_t err = load_root(c, root, src, prefix, errstr, errstr_size);
    json_decref(root);
    return err;
}

llmopt_err_t llmopt_config_load_file(llmopt_config *c, const char *path, char *errstr,
                                     size_t errstr_size) {
    char prefix[300];
    snprintf(prefix, sizeof(prefix), "config file '%.260s': ", path);
    FILE *f = fopen(path, "rb");
    if (!f)
        return llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "%s%s", prefix, strerror(errno));
    json_error_t je;
    json_t *root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
    fclose(f);
    if (!root)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "%sline %d column %d: %s",
                           prefix, je.line, je.column, je.text);
    llmopt_err_t err = load_root(c, root, LLMOPT_CONFIG_SRC_FILE, prefix, errstr, errstr_size);
    json_decref(root);
    if (err == LLMOPT_OK && (!c->file_path || strcmp(c->file_path, path))) {
        char *p = strdup(path);
        if (!p)
            return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        free(c->file_path);
        c->file_path = p;
    }
    return err;
}

/* ---- environment ------------------------------------------------------ */

/* "log.level" -> "LOG_LEVEL" */
static void env_form(const char *key, char *out, size_t size) {
    size_t i = 0;
    for (; key[i] && i + 1 < size; i++)
        out[i] = key[i] == '.' ? '_' : (char)toupper((unsigned char)key[i]);
    out[i] = '\0';
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Resolves NAME (after LLMOPT_) to a key in `key`; false if it names none. */
static bool env_resolve(const llmopt_config *c, const char *name, char *key, size_t size) {
    char form[256];
    for (size_t i = 0; i < c->n_entries; i++) {
        env_form(c->entries[i].prop->name, form, sizeof(form));
        if (!strcmp(form, name)) {
            snprintf(key, size, "%s", c->entries[i].prop->name);
            return true;
        }
    }
    if (strncmp(name, "KAFKA_", 6))
        return false;
    char **names;
    size_t n;
    rk_names_get(&names, &n);
    for (size_t i = 0; i < n; i++) {
        env_form(names[i], form, sizeof(form));
        if (!strcmp(form, name + 6)) {
            snprintf(key, size, "kafka.%s", names[i]);
            return true;
        }
    }
    return false;
}

/* True when NAME's first word is the first segment of a key (or KAFKA). */
static bool env_is_config(const llmopt_config *c, const char *name) {
    size_t w = strcspn(name, "_");
    if (w == 5 && !strncmp(name, "KAFKA", 5))
        return true;
    char form[256];
    for (size_t i = 0; i < c->n_entries; i++) {
        env_form(c->entries[i].prop->name, form, sizeof(form));
        if (strcspn(form, "_") == w && !strncmp(form, name, w))
            return true;
    }
    return false;
}

static llmopt_err_t env_unknown(const llmopt_config *c, const char *name, char *errstr,
                                size_t errstr_size) {
    char form[256], best[256] = "";
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < c->n_entries; i++) {
        env_form(c->entries[i].prop->name, form, sizeof(form));
        size_t d = llmopt_config_edit_distance(name, form);
        if (d < best_d) {
            best_d = d;
            snprintf(best, sizeof(best), "%s", form);
        }
    }
    if (best_d != (size_t)-1 && close_enough(name, best_d))
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "unknown configuration variable (did you mean LLMOPT_%s?)", best);
    return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                       "unknown configuration variable");
}

llmopt_err_t llmopt_config_load_env(llmopt_config *c, char *const *envp, char *errstr,
                                     size_t errstr_size) {
    if (!envp)
        envp = environ;
    size_t n = 0;
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strncmp(envp[i], ENV_PREFIX, ENV_PREFIX_LEN))
            n++;
    char **vars = calloc(n ? n : 1, sizeof(*vars));
    if (!vars)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    n = 0;
    for (size_t i = 0; envp && envp[i]; i++)
        if (!strncmp(envp[i], ENV_PREFIX, ENV_PREFIX_LEN))
            vars[n++] = envp[i];
    qsort(vars, n, sizeof(*vars), cmp_str);
    llmopt_err_t err = LLMOPT_OK;
    for (size_t i = 0; i < n && err == LLMOPT_OK; i++) {
        const char *eq = strchr(vars[i], '=');
        if (!eq)
            continue;
        char name[256], key[300], prefix[300];
        snprintf(name, sizeof(name), "%.*s", (int)(eq - vars[i] - ENV_PREFIX_LEN),
                 vars[i] + ENV_PREFIX_LEN);
        snprintf(prefix, sizeof(prefix), "environment LLMOPT_%s: ", name);
        if (!env_is_config(c, name))
            continue; /* LLMOPT_VAR and friends belong to scripts */
        if (!env_resolve(c, name, key, sizeof(key)))
            err = env_unknown(c, name, errstr, errstr_size);
        else
            err = llmopt_config_set_from(c, LLMOPT_CONFIG_SRC_ENV, key, eq + 1, errstr,
                                         errstr_size);
        prefixed(err, prefix, errstr, errstr_size);
    }
    free(vars);
    if (err == LLMOPT_OK)
        c->env_loaded = true;
    return err;
}

/* ---- finalize, kafka conf --------------------------------------------- */

rd_kafka_conf_t *llmopt_config_kafka_conf(const llmopt_config *c, char *errstr,
                                          size_t errstr_size) {
    rd_kafka_conf_t *kc = rd_kafka_conf_new();
    if (!kc) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < c->n_kafka; i++) {
        char why[512];
        if (rd_kafka_conf_set(kc, c->kafka[i].name, c->kafka[i].value, why, sizeof(why)) !=
            RD_KAFKA_CONF_OK) {
            if (llmopt_config_kafka_sensitive(c->kafka[i].name))
                redact_in(why, sizeof(why), c->kafka[i].value);
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "'kafka.%s': librdkafka: %s",
                        c->kafka[i].name, why);
            rd_kafka_conf_destroy(kc);
            return NULL;
        }
    }
    return kc;
}

llmopt_err_t llmopt_config_finalize(llmopt_config *c, char *errstr, size_t errstr_size) {
    for (size_t b = 0; b < c->n_bindings; b++) {
        const llmopt_config_table *t = c->bindings[b].table;
        if (!t->finalize)
            continue;
        llmopt_err_t err = t->finalize((char *)c->obj + c->bindings[b].offset, errstr,
                                       errstr_size);
        if (err != LLMOPT_OK)
            return err;
    }
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(c, errstr, errstr_size);
    if (!kc)
        return LLMOPT_ERR_INVALID;
    rd_kafka_conf_destroy(kc);
    return LLMOPT_OK;
}

bool llmopt_config_kafka_is_set(const llmopt_config *c, const char *name) {
    for (size_t i = 0; i < c->n_kafka; i++)
        if (!strcmp(c->kafka[i].name, name))
            return true;
    return false;
}

size_t llmopt_config_kafka_count(const llmopt_config *c) {
    return c->n_kafka;
}

bool llmopt_config_kafka_get(const llmopt_config *c, size_t i, const char **name,
                             const char **value, llmopt_config_source *src) {
    if (i >= c->n_kafka)
        return false;
    if (name)
        *name = c->kafka[i].name;
    if (value)
        *value = c->kafka[i].value;
    if (src)
        *src = c->kafka[i].src;
    return true;
}

/* ---- reading ---------------------------------------------------------- */

llmopt_err_t llmopt_config_get(const llmopt_config *c, const char *key, bool reveal,
                               char *buf, size_t buf_size, llmopt_config_source *src_out) {
    const entry *en = find_entry(c, key);
    if (en) {
        fmt_value(c, en, reveal, buf, buf_size);
        if (src_out)
            *src_out = en->src;
        return LLMOPT_OK;
    }
    if (!strncmp(key, KAFKA_PREFIX, KAFKA_PREFIX_LEN))
        for (size_t i = 0; i < c->n_kafka; i++)
            if (!strcmp(c->kafka[i].name, key + KAFKA_PREFIX_LEN)) {
                if (!reveal && llmopt_config_kafka_sensitive(c->kafka[i].name))
                    snprintf(buf, buf_size, "[redacted]");
                else if (!reveal)
                    llmopt_log_redact(c->kafka[i].value, buf, buf_size);
                else
                    snprintf(buf, buf_size, "%s", c->kafka[i].value);
                if (src_out)
                    *src_out = c->kafka[i].src;
                return LLMOPT_OK;
            }
    return LLMOPT_ERR_UNKNOWN;
}

void llmopt_config_print(const llmopt_config *c, FILE *out) {
    char buf[1024];
    for (size_t i = 0; i < c->n_entries; i++) {
        fmt_value(c, &c->entries[i], false, buf, sizeof(buf));
        fprintf(out, "%s = %s  (%s)\n", c->entries[i].prop->name, buf,
                llmopt_config_source_name(c->entries[i].src));
    }
    for (size_t i = 0; i < c->n_kafka; i++) {
        if (llmopt_config_kafka_sensitive(c->kafka[i].name))
            snprintf(buf, sizeof(buf), "[redacted]");
        else
            llmopt_log_redact(c->kafka[i].value, buf, sizeof(buf));
        fprintf(out, "kafka.%s = %s  (%s)\n", c->kafka[i].name, buf,
                llmopt_config_source_name(c->kafka[i].src));
    }
}

/* ---- reload ----------------------------------------------------------- */

llmopt_err_t llmopt_config_reload(llmopt_config *c,
                                  void (*changed)(const char *key, bool applied,
                                                  void *opaque),
                                  void *opaque, char *errstr, size_t errstr_size) {
    llmopt_err_t err = LLMOPT_ERR_NOMEM;
    void *obj = calloc(1, c->obj_size ? c->obj_size : 1);
    llmopt_config *n = NULL;
    char *a = NULL, *b = NULL;
    if (!obj)
        goto out;
    n = llmopt_config_new(obj, c->obj_size, c->bindings, c->n_bindings, errstr, errstr_size);
    if (!n)
        goto out;
    if (c->file_path &&
        (err = llmopt_config_load_file(n, c->file_path, errstr, errstr_size)) != LLMOPT_OK)
        goto out;
    if (c->env_loaded && (err = llmopt_config_load_env(n, NULL, errstr, errstr_size)) != LLMOPT_OK)
        goto out;
    for (size_t i = 0; i < c->n_args; i++)
        if ((err = llmopt_config_set_arg(n, c->args[i], errstr, errstr_size)) != LLMOPT_OK)
            goto out;
    if ((err = llmopt_config_finalize(n, errstr, errstr_size)) != LLMOPT_OK)
        goto out;
    err = LLMOPT_ERR_NOMEM;
    a = malloc(4096);
    b = malloc(4096);
    if (!a || !b)
        goto out;
    /* Check first, apply second: a failed apply must not leave half a reload. */
    for (size_t i = 0; i < c->n_entries; i++) {
        fmt_value(c, &c->entries[i], true, a, 4096);
        fmt_value(n, &n->entries[i], true, b, 4096);
        if (!strcmp(a, b))
            continue;
        const llmopt_config_prop *p = c->entries[i].prop;
        bool apply = p->flags & LLMOPT_CONFIG_RELOADABLE;
        if (apply) {
            parsed v;
            if (p->type == LLMOPT_CONFIG_STRING)
                v.s = *(char **)field(n, &n->entries[i]);
            else if (parse_value(p, b, &v, errstr, errstr_size) != LLMOPT_OK)
                goto out;
            if (store(c, &c->entries[i], &v) != LLMOPT_OK)
                goto out;
            c->entries[i].src = n->entries[i].src;
        }
        if (changed)
            changed(p->name, apply, opaque);
    }
    err = LLMOPT_OK;
out:
    if (err == LLMOPT_ERR_NOMEM && errstr && errstr_size && !*errstr)
        llmopt_errf(err, errstr, errstr_size, "out of memory");
    free(a);
    free(b);
    llmopt_config_destroy(n);
    free(obj);
    return err;
}

/* ---- documentation ---------------------------------------------------- */

static void doc_cell(FILE *out, const char *s) {
    for (; *s; s++) {
        if (*s == '|')
            fputs("\\|", out);
        else
            fputc(*s, out);
    }
}

void llmopt_config_doc(FILE *out, const llmopt_config_table *const *tables, size_t n) {
    fputs("# Configuration reference\n\n"
          "<!-- Generated by `llmopt config-doc` from the property tables in the sources;\n"
          "     do not edit. A unit test fails when this file differs from the output. -->\n\n"
          "Every binary reads its configuration from these sources, later ones overriding\n"
          "earlier ones:\n\n"
          "1. the defaults below;\n"
          "2. a JSON file given with `--config FILE`: nested objects flatten with dots, so\n"
          "   `{\"kafka\": {\"bootstrap.servers\": \"x\"}}` sets `kafka.bootstrap.servers`;\n"
          "   strings, numbers and booleans are accepted where the type fits;\n"
          "3. environment variables `LLMOPT_<KEY>`: the key upper-cased with dots as\n"
          "   underscores (`LLMOPT_LOG_LEVEL`, `LLMOPT_KAFKA_BOOTSTRAP_SERVERS`);\n"
          "4. `-X key=value` on the command line, repeatable.\n\n"
          "Unknown keys, malformed values and values out of range stop start-up with a\n"
          "message that names the key and what is allowed. `--print-config` prints every\n"
          "key with its effective value and source (default, file, env, cli);\n"
          "`--check-config` validates and exits 0 or 1. Sensitive values print as\n"
          "`[redacted]` and never reach the logs.\n\n"
          "## Environment variables\n\n"
          "Underscores are ambiguous (`kafka.sasl.username` and a hypothetical\n"
          "`kafka.sasl_username` look alike), so a variable is resolved against the known\n"
          "keys; `LLMOPT_KAFKA_*` is resolved against librdkafka's own property list. A\n"
          "variable whose first word is the first part of a key (for example `LOG`,\n"
          "`HTTP`, `PG`, `KAFKA`) must resolve, otherwise start-up fails; other\n"
          "`LLMOPT_*` variables (`LLMOPT_VAR`, `LLMOPT_BOOTSTRAP`, ...) belong to scripts\n"
          "and tests and are ignored. Variables are applied in sorted name order.\n\n"
          "## Value syntax\n\n"
          "| type | syntax |\n|---|---|\n"
          "| string | any text |\n"
          "| int | decimal integer |\n"
          "| double | finite decimal number |\n"
          "| bool | `true` `false` `1` `0` `yes` `no` `on` `off` |\n"
          "| enum | one of the listed names |\n"
          "| duration | integer with unit `ms` `s` `m` `h` `d`; no unit means milliseconds |\n"
          "| size | integer with unit `KiB` `MiB` `GiB` `TiB` (1024) or `kB` `MB` `GB` `TB` "
          "(1000); no unit means bytes |\n\n"
          "Flags: **sensitive**: never printed or logged; **reloadable**: applied on\n"
          "SIGHUP without a restart.\n",
          out);
    for (size_t t = 0; t < n; t++) {
        const llmopt_config_table *tb = tables[t];
        fprintf(out, "\n## `%s`: %s\n\n", tb->name, tb->desc ? tb->desc : "");
        fputs("| key | type | default | allowed | flags | description |\n"
              "|---|---|---|---|---|---|\n",
              out);
        for (const llmopt_config_prop *p = tb->props; p->name; p++) {
            char allowed[512] = "";
            if (p->type == LLMOPT_CONFIG_ENUM) {
                size_t o = 0;
                for (size_t i = 0; p->enum_names[i] && o < sizeof(allowed); i++)
                    o += (size_t)snprintf(allowed + o, sizeof(allowed) - o, "%s`%s`",
                                          i ? ", " : "", p->enum_names[i]);
            } else if (bounded(p) && p->type != LLMOPT_CONFIG_STRING &&
                       p->type != LLMOPT_CONFIG_BOOL) {
                fmt_range(p, allowed, sizeof(allowed));
            }
            fprintf(out, "| `%s` | %s | ", p->name, type_name(p->type));
            if (p->def && *p->def) {
                fputc('`', out);
                doc_cell(out, p->def);
                fputc('`', out);
            }
            fputs(" | ", out);
            doc_cell(out, allowed);
            fprintf(out, " | %s%s%s | ", prop_sensitive(p) ? "sensitive" : "",
                    prop_sensitive(p) && (p->flags & LLMOPT_CONFIG_RELOADABLE) ? ", " : "",
                    p->flags & LLMOPT_CONFIG_RELOADABLE ? "reloadable" : "");
            doc_cell(out, p->desc ? p->desc : "");
            fputs(" |\n", out);
        }
    }
    fputs("\n## `kafka.*`: librdkafka passthrough\n\n"
          "Any key `kafka.<property>` is handed to librdkafka as `<property>` (see\n"
          "librdkafka's CONFIGURATION.md for version 2.0.2). Each value is checked with\n"
          "`rd_kafka_conf_set()` when it is read, and librdkafka's own message is\n"
          "reported. Keys are applied in the order they were first set. Binaries add\n"
          "their own defaults (for example `queued.min.messages`) only for properties\n"
          "the user did not set. Properties whose name contains `password` or `secret`,\n"
          "and `ssl.key.pem`, `ssl_key` and `sasl.oauthbearer.config`, are sensitive.\n",
          out);
}
