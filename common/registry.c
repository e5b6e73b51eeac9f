/*
 * registry.c - schema registry client (local file + Confluent REST API).
 */
#include "common/registry.h"

#include "common/avro_codec.h"

#include <curl/curl.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* An answer larger than this is refused: schemas are a few kB. */
#define REG_MAX_BODY (4u << 20)

typedef struct reg_entry {
    int32_t id;
    char *schema;
} reg_entry;

/* (subject, normalised schema) -> id, filled by register and the local file */
typedef struct reg_subject {
    char *subject;
    char *schema_norm;
    int32_t id;
} reg_subject;

/* a local-file entry: names under which the id can be found */
typedef struct reg_local {
    int32_t id;
    char *subject;
    char *record;
} reg_local;

struct llmopt_registry {
    char *url; /* without trailing '/', NULL when local-only */
    long connect_timeout_ms;
    long timeout_ms;

    pthread_mutex_t lock; /* guards ids, subjects */
    reg_entry *ids;       /* sorted by id */
    size_t n_ids, cap_ids;
    reg_subject *subjects;
    size_t n_subjects, cap_subjects;

    reg_local *locals; /* immutable after _new */
    size_t n_locals;

    atomic_uint_least64_t http_requests;
};

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_global_rc = CURLE_OK;

static void curl_global_setup(void) {
    /* curl_global_init is not thread-safe with the libcurl of Debian 12:
     * run it exactly once, whichever thread gets here first */
    curl_global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static void fault_set(llmopt_registry_fault *fault, long http_status,
                      int error_code) {
    if (fault) {
        fault->http_status = http_status;
        fault->error_code = error_code;
    }
}

/* ---- cache -------------------------------------------------------------- */

/* index of id in reg->ids, or -(insertion point) - 1; caller holds lock */
static long ids_find(const llmopt_registry *reg, int32_t id) {
    size_t lo = 0, hi = reg->n_ids;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (reg->ids[mid].id == id)
            return (long)mid;
        if (reg->ids[mid].id < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -(long)lo - 1;
}

/* Stores (id, schema) unless present; returns the stored text (which may be
 * an earlier equal one) or NULL on allocation failure. Caller holds lock. */
static const char *ids_put_locked(llmopt_registry *reg, int32_t id,
                                  const char *schema) {
    long at = ids_find(reg, id);
    if (at >= 0)
        return reg->ids[at].schema;
    size_t pos = (size_t)(-at - 1);
    if (reg->n_ids == reg->cap_ids) {
        size_t cap = reg->cap_ids ? reg->cap_ids * 2 : 16;
        reg_entry *n = realloc(reg->ids, cap * sizeof(*n));
        if (!n)
            return NULL;
        reg->ids = n;
        reg->cap_ids = cap;
    }
    char *copy = strdup(schema);
    if (!copy)
        return NULL;
    memmove(&reg->ids[pos + 1], &reg->ids[pos],
            (reg->n_ids - pos) * sizeof(reg->ids[0]));
    reg->ids[pos].id = id;
    reg->ids[pos].schema = copy;
    reg->n_ids++;
    return copy;
}

static const char *ids_put(llmopt_registry *reg, int32_t id, const char *schema) {
    pthread_mutex_lock(&reg->lock);
    const char *s = ids_put_locked(reg, id, schema);
    pthread_mutex_unlock(&reg->lock);
    return s;
}

static const char *ids_get(llmopt_registry *reg, int32_t id) {
    pthread_mutex_lock(&reg->lock);
    long at = ids_find(reg, id);
    const char *s = at >= 0 ? reg->ids[at].schema : NULL;
    pthread_mutex_unlock(&reg->lock);
    return s;
}

/* Schema text in jansson's compact, key-sorted form, so that registering the
 * same schema with different whitespace hits the cache. NULL when schema is
 * not JSON (the registry will say why) or on allocation failure. */
static char *schema_normalise(const char *schema) {
    json_t *j = json_loads(schema, JSON_DECODE_ANY, NULL);
    if (!j)
        return NULL;
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
    json_decref(j);
    return s;
}

static bool subjects_get(llmopt_registry *reg, const char *subject,
                         const char *norm, int32_t *id_out) {
    bool found = false;
    pthread_mutex_lock(&reg->lock);
    for (size_t i = 0; i < reg->n_subjects; i++) {
        if (strcmp(reg->subjects[i].subject, subject) == 0 &&
            strcmp(reg->subjects[i].schema_norm, norm) == 0) {
            *id_out = reg->subjects[i].id;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&reg->lock);
    return found;
}

/* caller holds lock */
static llmopt_err_t subjects_put_locked(llmopt_registry *reg, const char *subject,
                                        const char *norm, int32_t id) {
    for (size_t i = 0; i < reg->n_subjects; i++)
        if (strcmp(reg->subjects[i].subject, subject) == 0 &&
            strcmp(reg->subjects[i].schema_norm, norm) == 0)
            return LLMOPT_OK;
    if (reg->n_subjects == reg->cap_subjects) {
        size_t cap = reg->cap_subjects ? reg->cap_subjects * 2 : 8;
        reg_subject *n = realloc(reg->subjects, cap * sizeof(*n));
        if (!n)
            return LLMOPT_ERR_NOMEM;
        reg->subjects = n;
        reg->cap_subjects = cap;
    }
    reg_subject *e = &reg->subjects[reg->n_subjects];
    e->subject = strdup(subject);
    e->schema_norm = strdup(norm);
    e->id = id;
    if (!e->subject || !e->schema_norm) {
        free(e->subject);
        free(e->schema_norm);
        return LLMOPT_ERR_NOMEM;
    }
    reg->n_subjects++;
    return LLMOPT_OK;
}

/* ---- HTTP --------------------------------------------------------------- */

typedef struct http_body {
    char *data;
    size_t len;
    bool too_big;
} http_body;

static size_t body_write(char *ptr, size_t size, size_t nmemb, void *userdata) {
    http_body *b = userdata;
    size_t n = size * nmemb;
    if (b->len + n > REG_MAX_BODY) {
        b->too_big = true;
        return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
    }
    char *d = realloc(b->data, b->len + n + 1);
    if (!d)
        return 0;
    memcpy(d + b->len, ptr, n);
    b->data = d;
    b->len += n;
    b->data[b->len] = '\0';
    return n;
}

/* Turns a non-2xx answer into a typed error quoting the registry's
 * {"error_code": N, "message": "..."} when it sent one. */
static llmopt_err_t http_status_error(long status, const http_body *body,
                                      const char *what, llmopt_registry_fault *fault,
                                      char *errstr, size_t errstr_size) {
    int error_code = 0;
    const char *message = NULL;
    json_t *j = body->data ? json_loadb(body->data, body->len, 0, NULL) : NULL;
    if (json_is_object(j)) {
        json_t *c = json_object_get(j, "error_code");
        json_t *m = json_object_get(j, "message");
        if (json_is_integer(c) && json_integer_value(c) >= INT_MIN &&
            json_integer_value(c) <= INT_MAX)
            error_code = (int)json_integer_value(c);
        if (json_is_string(m))
            message = json_string_value(m);
    }
    fault_set(fault, status, error_code);
    llmopt_err_t err = LLMOPT_ERR_IO;
    if (status == 404)
        err = LLMOPT_ERR_UNKNOWN;
    else if (status == 409 || status == 422 || status == 400)
        err = LLMOPT_ERR_INVALID;
    llmopt_errf(err, errstr, errstr_size,
                "schema registry %s: http %ld, error_code %d: %s", what, status,
                error_code, message ? message : "(no message)");
    json_decref(j);
    return err;
}

/* One request; on 2xx parses the body as a JSON object into *json_out (new
 * reference). post_body NULL means GET. */
static llmopt_err_t http_call(llmopt_registry *reg, const char *path,
                              const char *post_body, const char *what,
                              json_t **json_out, llmopt_registry_fault *fault,
                              char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_IO;
    CURL *c = NULL;
    struct curl_slist *hdrs = NULL;
    http_body body = {0};
    char *url = NULL;
    char curl_err[CURL_ERROR_SIZE] = "";

    *json_out = NULL;
    fault_set(fault, 0, 0);
    pthread_once(&curl_once, curl_global_setup);
    if (curl_global_rc != CURLE_OK) {
        result = llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size,
                             "curl_global_init failed: %s",
                             curl_easy_strerror(curl_global_rc));
        goto out;
    }
    size_t ulen = strlen(reg->url) + strlen(path) + 1;
    url = malloc(ulen);
    c = curl_easy_init();
    hdrs = curl_slist_append(NULL, "Accept: application/vnd.schemaregistry.v1+json, "
                                   "application/json");
    if (hdrs && post_body)
        hdrs = curl_slist_append(hdrs,
                                 "Content-Type: application/vnd.schemaregistry.v1+json");
    if (!url || !c || !hdrs) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size,
                             "schema registry %s: out of memory", what);
        goto out;
    }
    snprintf(url, ulen, "%s%s", reg->url, path);
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, reg->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, reg->timeout_ms);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, curl_err);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, body_write);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &body);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
    if (post_body)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, post_body);

    atomic_fetch_add(&reg->http_requests, 1);
    CURLcode rc = curl_easy_perform(c);
    if (rc != CURLE_OK) {
        llmopt_err_t e = rc == CURLE_OPERATION_TIMEDOUT ? LLMOPT_ERR_TIMEOUT
                                                         : LLMOPT_ERR_IO;
        if (body.too_big)
            e = LLMOPT_ERR_INVALID;
        result = llmopt_errf(e, errstr, errstr_size, "schema registry %s: '%s': %s",
                             what, url,
                             body.too_big ? "answer larger than 4 MiB"
                             : curl_err[0] ? curl_err
                                           : curl_easy_strerror(rc));
        goto out;
    }
    long status = 0;
    curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
    if (status < 200 || status > 299) {
        result = http_status_error(status, &body, what, fault, errstr, errstr_size);
        goto out;
    }
    fault_set(fault, status, 0);
    json_error_t jerr;
    json_t *j = body.data ? json_loadb(body.data, body.len, 0, &jerr) : NULL;
    if (!json_is_object(j)) {
        json_decref(j);
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "schema registry %s: answer is not a json object",
                             what);
        goto out;
    }
    *json_out = j;
    result = LLMOPT_OK;
out:
    free(body.data);
    free(url);
    curl_slist_free_all(hdrs);
    if (c)
        curl_easy_cleanup(c);
    return result;
}

/* percent-encodes subject for a path segment; NULL on allocation failure */
static char *subject_escape(const char *subject) {
    CURL *c = curl_easy_init();
    if (!c)
        return NULL;
    char *e = curl_easy_escape(c, subject, 0);
    char *copy = e ? strdup(e) : NULL;
    curl_free(e);
    curl_easy_cleanup(c);
    return copy;
}

static llmopt_err_t int32_field(json_t *obj, const char *key, const char *what,
                                int32_t *out, char *errstr, size_t errstr_size) {
    json_t *v = json_object_get(obj, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 ||
        json_integer_value(v) > INT32_MAX)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "schema registry %s: answer has no valid '%s'", what, key);
    *out = (int32_t)json_integer_value(v);
    return LLMOPT_OK;
}

/* ---- local file ----------------------------------------------------------- */

static char *read_file(const char *path, char *errstr, size_t errstr_size) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot open '%s': %s", path,
                    strerror(errno));
        return NULL;
    }
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (;;) {
        if (len + 4096 + 1 > cap) {
            if (cap >= REG_MAX_BODY) {
                llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                            "file '%s' larger than 4 MiB", path);
                free(buf);
                buf = NULL;
                break;
            }
            cap = cap ? cap * 2 : 8192;
            char *n = realloc(buf, cap);
            if (!n) {
                llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
                free(buf);
                buf = NULL;
                break;
            }
            buf = n;
        }
        size_t got = fread(buf + len, 1, cap - len - 1, f);
        len += got;
        if (got == 0) {
            if (ferror(f)) {
                llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "cannot read '%s'",
                            path);
                free(buf);
                buf = NULL;
            } else {
                buf[len] = '\0';
            }
            break;
        }
    }
    fclose(f);
    return buf;
}

static const char *opt_string(json_t *o, const char *key) {
    json_t *v = json_object_get(o, key);
    return json_is_string(v) ? json_string_value(v) : NULL;
}

/* One entry {"id": N, "subject": "...", "record": "...", "file": "..."}; the
 * id may also come from the key of an id-keyed object (key_id >= 0). */
static llmopt_err_t load_entry(llmopt_registry *reg, json_t *e, long long key_id,
                               const char *dir, const char *path, char *errstr,
                               size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    char *file_path = NULL, *text = NULL, *norm = NULL;
    long long id = key_id;
    json_t *jid = json_object_get(e, "id");
    if (json_is_integer(jid))
        id = json_integer_value(jid);
    const char *subject = opt_string(e, "subject");
    const char *record = opt_string(e, "record");
    const char *file = opt_string(e, "file");
    if (!file)
        file = opt_string(e, "schema_file");
    if (!file)
        file = opt_string(e, "schema");
    if (!json_is_object(e) || id < 0 || id > INT32_MAX || !file) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "registry file '%s': entry without a valid id and "
                             "schema file",
                             path);
        goto out;
    }
    size_t n = strlen(dir) + strlen(file) + 2;
    file_path = malloc(n);
    if (!file_path) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    if (file[0] == '/')
        snprintf(file_path, n, "%s", file);
    else
        snprintf(file_path, n, "%s/%s", dir, file);
    text = read_file(file_path, errstr, errstr_size);
    if (!text) {
        result = LLMOPT_ERR_IO;
        goto out;
    }
    norm = schema_normalise(text);
    if (!norm) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "schema file '%s' is not json", file_path);
        goto out;
    }
    if (ids_find(reg, (int32_t)id) >= 0) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "registry file '%s': duplicate id '%lld'", path, id);
        goto out;
    }
    if (!ids_put_locked(reg, (int32_t)id, text) ||
        (subject && subjects_put_locked(reg, subject, norm, (int32_t)id) != LLMOPT_OK)) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    reg_local *l = realloc(reg->locals, (reg->n_locals + 1) * sizeof(*l));
    if (!l) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    reg->locals = l;
    l = &reg->locals[reg->n_locals++];
    l->id = (int32_t)id;
    l->subject = subject ? strdup(subject) : NULL;
    l->record = record ? strdup(record) : NULL;
    result = LLMOPT_OK;
out:
    free(norm);
    free(text);
    free(file_path);
    return result;
}

/* Accepts {"schemas": [entry...]}, a bare [entry...], or {"<id>": entry}. */
static llmopt_err_t load_local(llmopt_registry *reg, const char *path, char *errstr,
                               size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    char *dir = strdup(path);
    json_error_t jerr;
    json_t *root = NULL;
    if (!dir)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    char *slash = strrchr(dir, '/');
    if (slash)
        *slash = '\0';
    else
        strcpy(dir, ".");
    root = json_load_file(path, 0, &jerr);
    if (!root) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "registry file '%s': line %d column %d: %s", path,
                             jerr.line, jerr.column, jerr.text);
        goto out;
    }
    json_t *list = json_is_array(root) ? root : json_object_get(root, "schemas");
    if (json_is_array(list)) {
        size_t i;
        json_t *e;
        json_array_foreach(list, i, e) {
            result = load_entry(reg, e, -1, dir, path, errstr, errstr_size);
            if (result != LLMOPT_OK)
                goto out;
        }
    } else if (json_is_object(root)) {
        const char *k;
        json_t *e;
        json_object_foreach(root, k, e) {
            char *end;
            errno = 0;
            long long id = strtoll(k, &end, 10);
            if (!json_is_object(e))
                continue; /* e.g. "version": 1 or a comment */
            if (*end || end == k || errno)
                id = -1;
            result = load_entry(reg, e, id, dir, path, errstr, errstr_size);
            if (result != LLMOPT_OK)
                goto out;
        }
    } else {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "registry file '%s': expected an object or array", path);
        goto out;
    }
    result = LLMOPT_OK;
out:
    json_decref(root);
    free(dir);
    return result;
}

/* ---- public ---------------------------------------------------------------- */

llmopt_registry *llmopt_registry_new(const llmopt_registry_conf *conf, char *errstr,
                                     size_t errstr_size) {
    if (!conf) {
        llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size, "no configuration");
        return NULL;
    }
    llmopt_registry *reg = calloc(1, sizeof(*reg));
    if (!reg) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    pthread_mutex_init(&reg->lock, NULL);
    atomic_init(&reg->http_requests, 0);
    reg->connect_timeout_ms = conf->connect_timeout_ms > 0 ? conf->connect_timeout_ms
                                                            : 2000;
    reg->timeout_ms = conf->timeout_ms > 0 ? conf->timeout_ms : 5000;
    if (conf->url && conf->url[0]) {
        if (strncmp(conf->url, "http://", 7) != 0 &&
            strncmp(conf->url, "https://", 8) != 0) {
            llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                        "schema registry url '%s' is not http(s)", conf->url);
            goto fail;
        }
        reg->url = strdup(conf->url);
        if (!reg->url) {
            llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            goto fail;
        }
        size_t n = strlen(reg->url);
        while (n > 0 && reg->url[n - 1] == '/')
            reg->url[--n] = '\0';
    }
    if (conf->local_path && conf->local_path[0] &&
        load_local(reg, conf->local_path, errstr, errstr_size) != LLMOPT_OK)
        goto fail;
    return reg;
fail:
    llmopt_registry_destroy(reg);
    return NULL;
}

void llmopt_registry_destroy(llmopt_registry *reg) {
    if (!reg)
        return;
    for (size_t i = 0; i < reg->n_ids; i++)
        free(reg->ids[i].schema);
    for (size_t i = 0; i < reg->n_subjects; i++) {
        free(reg->subjects[i].subject);
        free(reg->subjects[i].schema_norm);
    }
    for (size_t i = 0; i < reg->n_locals; i++) {
        free(reg->locals[i].subject);
        free(reg->locals[i].record);
    }
    free(reg->ids);
    free(reg->subjects);
    free(reg->locals);
    free(reg->url);
    pthread_mutex_destroy(&reg->lock);
    free(reg);
}

llmopt_err_t llmopt_registry_schema_by_id(llmopt_registry *reg, int32_t id,
                                          const char **schema_out,
                                          llmopt_registry_fault *fault,
                                          char *errstr, size_t errstr_size) {
    fault_set(fault, 0, 0);
    if (!reg || !schema_out || id < 0)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid schema lookup for id '%ld'", (long)id);
    const char *s = ids_get(reg, id);
    if (s) {
        *schema_out = s;
        return LLMOPT_OK;
    }
    if (!reg->url)
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "unknown schema id '%ld'", (long)id);
    char path[64];
    snprintf(path, sizeof(path), "/schemas/ids/%ld", (long)id);
    json_t *j = NULL;
    llmopt_err_t err = http_call(reg, path, NULL, "get schema by id", &j, fault,
                                 errstr, errstr_size);
    if (err != LLMOPT_OK)
        return err;
    const char *text = opt_string(j, "schema");
    if (!text) {
        json_decref(j);
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "schema registry get schema by id: answer for '%ld' has "
                           "no 'schema'",
                           (long)id);
    }
    s = ids_put(reg, id, text);
    json_decref(j);
    if (!s)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    *schema_out = s;
    return LLMOPT_OK;
}

llmopt_err_t llmopt_registry_register(llmopt_registry *reg, const char *subject,
                                      const char *schema, int32_t *id_out,
                                      llmopt_registry_fault *fault,
                                      char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    char *norm = NULL, *esc = NULL, *path = NULL, *body = NULL;
    json_t *req = NULL, *ans = NULL;
    fault_set(fault, 0, 0);
    if (!reg || !subject || !*subject || !schema || !id_out)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid schema registration");
    norm = schema_normalise(schema);
    if (!norm) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "schema for subject '%s' is not json", subject);
        goto out;
    }
    if (subjects_get(reg, subject, norm, id_out)) {
        result = LLMOPT_OK;
        goto out;
    }
    if (!reg->url) {
        result = llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                             "schema for subject '%s' not in the local registry and "
                             "no registry url",
                             subject);
        goto out;
    }
    esc = subject_escape(subject);
    req = json_pack("{s:s}", "schema", schema);
    body = req ? json_dumps(req, JSON_COMPACT) : NULL;
    path = esc ? malloc(strlen(esc) + 32) : NULL;
    if (!body || !path) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    sprintf(path, "/subjects/%s/versions", esc);
    result = http_call(reg, path, body, "register", &ans, fault, errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    int32_t id;
    result = int32_field(ans, "id", "register", &id, errstr, errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    pthread_mutex_lock(&reg->lock);
    const char *stored = ids_put_locked(reg, id, schema);
    llmopt_err_t perr = stored ? subjects_put_locked(reg, subject, norm, id)
                               : LLMOPT_ERR_NOMEM;
    pthread_mutex_unlock(&reg->lock);
    if (perr != LLMOPT_OK) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    *id_out = id;
    result = LLMOPT_OK;
out:
    json_decref(req);
    json_decref(ans);
    free(body);
    free(path);
    free(esc);
    free(norm);
    return result;
}

llmopt_err_t llmopt_registry_latest(llmopt_registry *reg, const char *subject,
                                    int32_t *id_out, int *version_out,
                                    const char **schema_out,
                                    llmopt_registry_fault *fault,
                                    char *errstr, size_t errstr_size) {
    llmopt_err_t result = LLMOPT_ERR_INVALID;
    char *esc = NULL, *path = NULL;
    json_t *ans = NULL;
    fault_set(fault, 0, 0);
    if (!reg || !subject || !*subject)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid latest-version lookup");
    if (!reg->url) {
        /* local file: the highest id listed under subject */
        int32_t best = -1;
        for (size_t i = 0; i < reg->n_locals; i++)
            if (reg->locals[i].subject && strcmp(reg->locals[i].subject, subject) == 0 &&
                reg->locals[i].id > best)
                best = reg->locals[i].id;
        if (best < 0)
            return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                               "unknown subject '%s'", subject);
        int version = 0;
        for (size_t i = 0; i < reg->n_locals; i++)
            if (reg->locals[i].subject && strcmp(reg->locals[i].subject, subject) == 0)
                version++;
        if (id_out)
            *id_out = best;
        if (version_out)
            *version_out = version;
        if (schema_out)
            *schema_out = ids_get(reg, best);
        return LLMOPT_OK;
    }
    esc = subject_escape(subject);
    path = esc ? malloc(strlen(esc) + 40) : NULL;
    if (!path) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    sprintf(path, "/subjects/%s/versions/latest", esc);
    result = http_call(reg, path, NULL, "get latest version", &ans, fault, errstr,
                       errstr_size);
    if (result != LLMOPT_OK)
        goto out;
    int32_t id, version;
    const char *text = opt_string(ans, "schema");
    if ((result = int32_field(ans, "id", "get latest version", &id, errstr,
                              errstr_size)) != LLMOPT_OK ||
        (result = int32_field(ans, "version", "get latest version", &version, errstr,
                              errstr_size)) != LLMOPT_OK)
        goto out;
    if (!text) {
        result = llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                             "schema registry get latest version: answer has no "
                             "'schema'");
        goto out;
    }
    const char *stored = ids_put(reg, id, text);
    if (!stored) {
        result = llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        goto out;
    }
    if (id_out)
        *id_out = id;
    if (version_out)
        *version_out = (int)version;
    if (schema_out)
        *schema_out = stored;
    result = LLMOPT_OK;
out:
    json_decref(ans);
    free(path);
    free(esc);
    return result;
}

llmopt_err_t llmopt_registry_local_id(llmopt_registry *reg, const char *name,
                                      int32_t *id_out, char *errstr,
                                      size_t errstr_size) {
    if (!reg || !name || !id_out)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid local id lookup");
    int32_t best = -1;
    /* "io.llmopt.Request" also finds a record listed as "Request" */
    const char *dot = strrchr(name, '.');
    const char *bare = dot ? dot + 1 : name;
    for (size_t i = 0; i < reg->n_locals; i++) {
        const reg_local *l = &reg->locals[i];
        if (((l->record && (strcmp(l->record, name) == 0 ||
                            (!strchr(l->record, '.') && strcmp(l->record, bare) == 0))) ||
             (l->subject && strcmp(l->subject, name) == 0)) &&
            l->id > best)
            best = l->id;
    }
    if (best < 0)
        return llmopt_errf(LLMOPT_ERR_UNKNOWN, errstr, errstr_size,
                           "no local schema named '%s'", name);
    *id_out = best;
    return LLMOPT_OK;
}

uint64_t llmopt_registry_http_requests(llmopt_registry *reg) {
    return reg ? atomic_load(&reg->http_requests) : 0;
}

static llmopt_err_t source_lookup(void *ctx, int32_t schema_id, const char **schema_json,
                                  char *errstr, size_t errstr_size) {
    return llmopt_registry_schema_by_id(ctx, schema_id, schema_json, NULL, errstr,
                                        errstr_size);
}

static llmopt_err_t source_id_for(void *ctx, llmopt_record_type type, int32_t *schema_id,
                                  char *errstr, size_t errstr_size) {
    const char *name = llmopt_record_type_name(type);
    if (!name)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "invalid record type '%d'", (int)type);
    return llmopt_registry_local_id(ctx, name, schema_id, errstr, errstr_size);
}

void llmopt_registry_schema_source(llmopt_registry *reg,
                                   struct llmopt_schema_source *out) {
    out->ctx = reg;
    out->lookup = source_lookup;
    out->id_for = source_id_for;
}
