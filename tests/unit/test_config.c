/* test_config.c - CUnit suite for common/config and common/cli: every error
 * class with its exact message, precedence of file < env < cli, the kafka
 * passthrough, redaction, reload. */
#include <CUnit/Basic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/cli.h"
#include "common/config.h"
#include "common/log.h"

/* A test binary: common + one table with every type. */
typedef struct test_conf {
    llmopt_common_conf common;
    int64_t count;
    double ratio;
    bool enabled;
    int mode;
    int64_t window_ms;
    int64_t buffer_bytes;
    char *token;
    char *topic;
    int64_t pin;
} test_conf;

static const char *const modes[] = {"fast", "safe", NULL};

static llmopt_err_t no_spaces(const llmopt_config_prop *p, const void *parsed, char *errstr,
                              size_t errstr_size) {
    const char *s = *(const char *const *)parsed;
    if (s && strchr(s, ' '))
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'%s' must not contain spaces", p->name);
    return LLMOPT_OK;
}

static llmopt_err_t test_finalize(void *obj, char *errstr, size_t errstr_size) {
    const test_conf *t = obj;
    if (t->enabled && !t->topic)
        return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                           "'test.enabled' needs 'test.topic'");
    return LLMOPT_OK;
}

#define F(f) offsetof(test_conf, f)
static const llmopt_config_prop test_props[] = {
    {.name = "test.count", .type = LLMOPT_CONFIG_INT, .offset = F(count), .min = -5,
     .max = 100, .def = "7", .desc = "a count", .flags = LLMOPT_CONFIG_RELOADABLE},
    {.name = "test.ratio", .type = LLMOPT_CONFIG_DOUBLE, .offset = F(ratio), .min = 0,
     .max = 1, .def = "0.25", .desc = "a ratio"},
    {.name = "test.enabled", .type = LLMOPT_CONFIG_BOOL, .offset = F(enabled), .def = "false",
     .desc = "a switch"},
    {.name = "test.mode", .type = LLMOPT_CONFIG_ENUM, .offset = F(mode), .def = "safe",
     .enum_names = modes, .desc = "a mode"},
    {.name = "test.window", .type = LLMOPT_CONFIG_DURATION, .offset = F(window_ms),
     .min = 1000, .max = 3600000, .def = "1m", .desc = "a window"},
    {.name = "test.buffer", .type = LLMOPT_CONFIG_SIZE, .offset = F(buffer_bytes),
     .min = 1024, .max = 1073741824, .def = "64KiB", .desc = "a buffer"},
    {.name = "test.token", .type = LLMOPT_CONFIG_STRING, .offset = F(token),
     .flags = LLMOPT_CONFIG_SENSITIVE, .desc = "a secret"},
    {.name = "test.topic", .type = LLMOPT_CONFIG_STRING, .offset = F(topic),
     .validate = no_spaces, .desc = "a topic"},
    {.name = "test.pin", .type = LLMOPT_CONFIG_INT, .offset = F(pin), .min = 0, .max = 9999,
     .flags = LLMOPT_CONFIG_SENSITIVE, .desc = "a secret number"},
    {0}};

static const llmopt_config_table test_table = {
    .name = "test", .desc = "the test", .props = test_props, .finalize = test_finalize};

static const llmopt_config_binding bindings[] = {
    {&llmopt_common_table, offsetof(test_conf, common)},
    {&test_table, 0},
};

static test_conf conf;

static llmopt_config *new_conf(void) {
    memset(&conf, 0, sizeof(conf));
    char err[512];
    llmopt_config *c = llmopt_config_new(&conf, sizeof(conf), bindings, 2, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(c);
    return c;
}

static void test_defaults(void) {
    llmopt_config *c = new_conf();
    CU_ASSERT_EQUAL(conf.count, 7);
    CU_ASSERT_EQUAL(conf.ratio, 0.25);
    CU_ASSERT_FALSE(conf.enabled);
    CU_ASSERT_EQUAL(conf.mode, 1);
    CU_ASSERT_EQUAL(conf.window_ms, 60000);
    CU_ASSERT_EQUAL(conf.buffer_bytes, 65536);
    CU_ASSERT_PTR_NULL(conf.token);
    CU_ASSERT_EQUAL(conf.common.log_level, LLMOPT_LOG_INFO);
    CU_ASSERT_STRING_EQUAL(conf.common.http_listen, "127.0.0.1");
    CU_ASSERT_EQUAL(conf.common.http_port, 0);
    CU_ASSERT_EQUAL(conf.common.shutdown_timeout_ms, 30000);
    char err[512];
    CU_ASSERT_EQUAL(llmopt_config_finalize(c, err, sizeof(err)), LLMOPT_OK);
    llmopt_config_destroy(c);
    llmopt_config_destroy(NULL);
}

typedef struct set_case {
    const char *key, *value;
    llmopt_err_t want;
    const char *msg; /* exact; NULL for OK */
} set_case;

static const set_case set_cases[] = {
    {"test.count", "42", LLMOPT_OK, NULL},
    {"test.count", "-5", LLMOPT_OK, NULL},
    {"test.count", "101", LLMOPT_ERR_RANGE,
     "value '101' for 'test.count' is out of range -5..100"},
    {"test.count", "-6", LLMOPT_ERR_RANGE, "value '-6' for 'test.count' is out of range -5..100"},
    {"test.count", "4x", LLMOPT_ERR_INVALID,
     "invalid value '4x' for 'test.count': expected an integer"},
    {"test.count", "", LLMOPT_ERR_INVALID,
     "invalid value '' for 'test.count': expected an integer"},
    {"test.count", " 4", LLMOPT_ERR_INVALID,
     "invalid value ' 4' for 'test.count': expected an integer"},
    {"test.count", "99999999999999999999", LLMOPT_ERR_RANGE,
     "value '99999999999999999999' for 'test.count' is out of range -5..100"},
    {"test.ratio", "0.5", LLMOPT_OK, NULL},
    {"test.ratio", "1.5", LLMOPT_ERR_RANGE, "value '1.5' for 'test.ratio' is out of range 0..1"},
    {"test.ratio", "nan", LLMOPT_ERR_INVALID,
     "invalid value 'nan' for 'test.ratio': expected a finite number"},
    {"test.enabled", "yes", LLMOPT_OK, NULL},
    {"test.enabled", "maybe", LLMOPT_ERR_INVALID,
     "invalid value 'maybe' for 'test.enabled': expected a boolean "
     "(true|false|1|0|yes|no|on|off)"},
    {"test.mode", "fast", LLMOPT_OK, NULL},
    {"test.mode", "quick", LLMOPT_ERR_INVALID,
     "invalid value 'quick' for 'test.mode': expected one of fast|safe"},
    {"test.window", "90s", LLMOPT_OK, NULL},
    {"test.window", "500ms", LLMOPT_ERR_RANGE,
     "value '500ms' for 'test.window' is out of range 1s..1h"},
    {"test.window", "5 s", LLMOPT_ERR_INVALID,
     "invalid value '5 s' for 'test.window': expected a duration such as 500ms, 30s, 5m, 2h, 1d"},
    {"test.buffer", "2MiB", LLMOPT_OK, NULL},
    {"test.buffer", "2GiB", LLMOPT_ERR_RANGE,
     "value '2GiB' for 'test.buffer' is out of range 1KiB..1GiB"},
    {"test.buffer", "12XB", LLMOPT_ERR_INVALID,
     "invalid value '12XB' for 'test.buffer': expected a size such as 4096, 64KiB, 16MiB, "
     "1GiB, 10kB"},
    {"test.topic", "a b", LLMOPT_ERR_INVALID, "'test.topic' must not contain spaces"},
    {"test.tpoic", "x", LLMOPT_ERR_UNKNOWN,
     "unknown configuration key 'test.tpoic' (did you mean 'test.topic'?)"},
    {"zzzzzzzz", "x", LLMOPT_ERR_UNKNOWN, "unknown configuration key 'zzzzzzzz'"},
    {"http.port", "70000", LLMOPT_ERR_RANGE,
     "value '70000' for 'http.port' is out of range 0..65535"},
    {"http.listen", "localhost", LLMOPT_ERR_INVALID,
     "invalid value 'localhost' for 'http.listen': expected a numeric IPv4 or IPv6 address"},
    {"http.listen", "::1", LLMOPT_OK, NULL},
    {"log.level", "verbose", LLMOPT_ERR_INVALID,
     "invalid value 'verbose' for 'log.level': expected one of debug|info|warn|error"},
    {"schema.registry.url", "ftp://x", LLMOPT_ERR_INVALID,
     "invalid value 'ftp://x' for 'schema.registry.url': expected an http:// or https:// URL"},
    /* kafka passthrough: librdkafka's own words */
    {"kafka.bootstrap.servers", "127.0.0.1:19092", LLMOPT_OK, NULL},
    {"kafka.enable.idempotence", "maybe", LLMOPT_ERR_INVALID,
     "invalid value 'maybe' for 'kafka.enable.idempotence': librdkafka: Expected bool value "
     "for \"enable.idempotence\": true or false"},
    {"kafka.bootstrap.server", "x", LLMOPT_ERR_UNKNOWN,
     "unknown configuration key 'kafka.bootstrap.server' (did you mean "
     "'kafka.bootstrap.servers'?): librdkafka: No such configuration property: "
     "\"bootstrap.server\""},
    {"kafka.queued.min.messages", "0", LLMOPT_ERR_INVALID,
     "invalid value '0' for 'kafka.queued.min.messages': librdkafka: Configuration property "
     "\"queued.min.messages\" value 0 is outside allowed range 1..10000000\n"},
};

static void test_set_table(void) {
    llmopt_config *c = new_conf();
    for (size_t i = 0; i < sizeof(set_cases) / sizeof(set_cases[0]); i++) {
        const set_case *t = &set_cases[i];
        char err[512] = "";
        llmopt_err_t got = llmopt_config_set(c, t->key, t->value, err, sizeof(err));
        if (got != t->want || (t->msg && strcmp(err, t->msg)))
            fprintf(stderr, "\ncase %zu %s=%s: got %d '%s'\n", i, t->key, t->value, got, err);
        CU_ASSERT_EQUAL(got, t->want);
        if (t->msg) {
            /* librdkafka may or may not end with a newline; compare without it */
            size_t n = strlen(t->msg);
            if (n && t->msg[n - 1] == '\n')
                n--;
            CU_ASSERT_EQUAL(strncmp(err, t->msg, n), 0);
        }
    }
    /* values that were accepted are in place; refused ones did not stick */
    CU_ASSERT_EQUAL(conf.count, -5);
    CU_ASSERT_EQUAL(conf.ratio, 0.5);
    CU_ASSERT_TRUE(conf.enabled);
    CU_ASSERT_EQUAL(conf.mode, 0);
    CU_ASSERT_EQUAL(conf.window_ms, 90000);
    CU_ASSERT_EQUAL(conf.buffer_bytes, 2 * 1048576);
    CU_ASSERT_STRING_EQUAL(conf.common.http_listen, "::1");
    CU_ASSERT_TRUE(llmopt_config_kafka_is_set(c, "bootstrap.servers"));
    CU_ASSERT_FALSE(llmopt_config_kafka_is_set(c, "enable.idempotence"));
    CU_ASSERT_FALSE(llmopt_config_kafka_is_set(c, "queued.min.messages"));
    llmopt_config_destroy(c);
}

static void test_sensitive_never_echoed(void) {
    llmopt_config *c = new_conf();
    char err[512] = "";
    /* the common table has no sensitive numeric key, so use kafka and ours */
    CU_ASSERT_EQUAL(llmopt_config_set(c, "kafka.ssl.key.password", "hunter2", err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(c, "kafka.sasl.password", "s3cr3t!", err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(c, "pg.dsn",
                                      "host=127.0.0.1 user=u password=pgsecret dbname=d", err,
                                      sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(c, "test.token", "tok-abc", err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(c, "schema.registry.url", "https://ru:urlsecret@reg:8081",
                                      err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(c, "schema.registry.basic.auth", "me:authsecret", err,
                                      sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(conf.common.pg_dsn, "host=127.0.0.1 user=u password=pgsecret dbname=d");

    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    llmopt_config_print(c, f);
    fclose(f);
    static const char *const secrets[] = {"hunter2", "s3cr3t", "pgsecret", "tok-abc",
                                          "urlsecret", "authsecret"};
    for (size_t i = 0; i < sizeof(secrets) / sizeof(secrets[0]); i++)
        CU_ASSERT_PTR_NULL(strstr(buf, secrets[i]));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pg.dsn = [redacted]  (api)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "kafka.sasl.password = [redacted]  (api)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "schema.registry.url = https://ru:[redacted]@reg:8081"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "test.count = 7  (default)\n"));
    free(buf);

    char v[256];
    CU_ASSERT_EQUAL(llmopt_config_get(c, "test.token", false, v, sizeof(v), NULL), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(v, "[redacted]");
    CU_ASSERT_EQUAL(llmopt_config_get(c, "test.token", true, v, sizeof(v), NULL), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(v, "tok-abc");
    CU_ASSERT_EQUAL(llmopt_config_get(c, "kafka.sasl.password", false, v, sizeof(v), NULL),
                    LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(v, "[redacted]");

    /* a refused sensitive value is not echoed */
    CU_ASSERT_EQUAL(llmopt_config_set(c, "test.pin", "123456", err, sizeof(err)),
                    LLMOPT_ERR_RANGE);
    CU_ASSERT_STRING_EQUAL(err, "value [redacted] for 'test.pin' is out of range 0..9999");
    CU_ASSERT_EQUAL(llmopt_config_set(c, "test.pin", "12ab", err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "invalid value [redacted] for 'test.pin': expected an integer");
    llmopt_config_destroy(c);
}

static const char *write_tmp(const char *text) {
    static char path[64];
    snprintf(path, sizeof(path), "/tmp/llmopt_test_config_%d.json", (int)getpid());
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static void test_precedence(void) {
    llmopt_config *c = new_conf();
    char err[512] = "";
    const char *path = write_tmp("{\"test\": {\"count\": 10, \"ratio\": 0.75, \"mode\": \"fast\","
                                 " \"window\": \"2m\", \"buffer\": 4096},"
                                 " \"log\": {\"level\": \"warn\"},"
                                 " \"kafka\": {\"bootstrap.servers\": \"file:1\","
                                 "            \"linger\": {\"ms\": 5}, \"enable.idempotence\": true}}");
    CU_ASSERT_EQUAL(llmopt_config_load_file(c, path, err, sizeof(err)), LLMOPT_OK);
    char *env[] = {"LLMOPT_TEST_COUNT=20", "LLMOPT_TEST_RATIO=0.5",
                   "LLMOPT_KAFKA_BOOTSTRAP_SERVERS=env:1", "LLMOPT_VAR=/ignored",
                   "PATH=/bin", NULL};
    CU_ASSERT_EQUAL(llmopt_config_load_env(c, env, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set_arg(c, "test.count=30", err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_finalize(c, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(conf.count, 30);      /* cli over env over file */
    CU_ASSERT_EQUAL(conf.ratio, 0.5);     /* env over file */
    CU_ASSERT_EQUAL(conf.mode, 0);        /* file */
    CU_ASSERT_EQUAL(conf.window_ms, 120000);
    CU_ASSERT_EQUAL(conf.buffer_bytes, 4096);
    CU_ASSERT_EQUAL(conf.common.log_level, LLMOPT_LOG_WARN);
    CU_ASSERT_EQUAL(conf.window_ms, 120000);
    llmopt_config_source src;
    char v[128];
    CU_ASSERT_EQUAL(llmopt_config_get(c, "test.count", false, v, sizeof(v), &src), LLMOPT_OK);
    CU_ASSERT_EQUAL(src, LLMOPT_CONFIG_SRC_CLI);
    llmopt_config_get(c, "test.ratio", false, v, sizeof(v), &src);
    CU_ASSERT_EQUAL(src, LLMOPT_CONFIG_SRC_ENV);
    llmopt_config_get(c, "test.mode", false, v, sizeof(v), &src);
    CU_ASSERT_EQUAL(src, LLMOPT_CONFIG_SRC_FILE);
    CU_ASSERT_STRING_EQUAL(v, "fast");
    llmopt_config_get(c, "test.enabled", false, v, sizeof(v), &src);
    CU_ASSERT_EQUAL(src, LLMOPT_CONFIG_SRC_DEFAULT);
    llmopt_config_get(c, "kafka.bootstrap.servers", false, v, sizeof(v), &src);
    CU_ASSERT_STRING_EQUAL(v, "env:1");
    CU_ASSERT_EQUAL(src, LLMOPT_CONFIG_SRC_ENV);

    /* kafka keys keep first-set order and reach a real rd_kafka_conf */
    CU_ASSERT_EQUAL(llmopt_config_kafka_count(c), 3);
    const char *name, *value;
    llmopt_config_kafka_get(c, 0, &name, &value, NULL);
    CU_ASSERT_STRING_EQUAL(name, "bootstrap.servers");
    llmopt_config_kafka_get(c, 1, &name, &value, NULL);
    CU_ASSERT_STRING_EQUAL(name, "linger.ms");
    CU_ASSERT_STRING_EQUAL(value, "5");
    llmopt_config_kafka_get(c, 2, &name, &value, NULL);
    CU_ASSERT_STRING_EQUAL(name, "enable.idempotence");
    CU_ASSERT_STRING_EQUAL(value, "true");
    rd_kafka_conf_t *kc = llmopt_config_kafka_conf(c, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(kc);
    char out[128];
    size_t outn = sizeof(out);
    CU_ASSERT_EQUAL(rd_kafka_conf_get(kc, "bootstrap.servers", out, &outn), RD_KAFKA_CONF_OK);
    CU_ASSERT_STRING_EQUAL(out, "env:1");
    outn = sizeof(out);
    CU_ASSERT_EQUAL(rd_kafka_conf_get(kc, "linger.ms", out, &outn), RD_KAFKA_CONF_OK);
    CU_ASSERT_STRING_EQUAL(out, "5");
    rd_kafka_conf_destroy(kc);
    llmopt_config_destroy(c);
    unlink(path);
}

typedef struct src_case {
    const char *json;     /* file content, or NULL */
    const char *env;      /* one variable, or NULL */
    const char *arg;      /* one -X, or NULL */
    llmopt_err_t want;
    const char *msg_tail; /* after the "config file '<path>': " prefix for files */
} src_case;

static const src_case src_cases[] = {
    {"{\"test\": {\"count\": \"12\"}}", NULL, NULL, LLMOPT_OK, NULL},
    {"{\"test\": {\"count\": 1.5}}", NULL, NULL, LLMOPT_ERR_INVALID,
     "invalid JSON number for 'test.count': expected an integer"},
    {"{\"test\": {\"topic\": 5}}", NULL, NULL, LLMOPT_ERR_INVALID,
     "invalid JSON integer for 'test.topic': expected a string"},
    {"{\"test\": {\"mode\": [1]}}", NULL, NULL, LLMOPT_ERR_INVALID,
     "invalid JSON array for 'test.mode': expected one of fast|safe"},
    {"{\"test\": {\"count\": 1000}}", NULL, NULL, LLMOPT_ERR_RANGE,
     "value '1000' for 'test.count' is out of range -5..100"},
    {"{\"tset\": {\"count\": 1}}", NULL, NULL, LLMOPT_ERR_UNKNOWN,
     "unknown configuration key 'tset.count' (did you mean 'test.count'?)"},
    {"[1, 2]", NULL, NULL, LLMOPT_ERR_INVALID, "top level must be a JSON object"},
    {"{\"test\": ", NULL, NULL, LLMOPT_ERR_INVALID, "line 1 column 9: "},
    {NULL, "LLMOPT_TEST_COUNT=abc", NULL, LLMOPT_ERR_INVALID,
     "environment LLMOPT_TEST_COUNT: invalid value 'abc' for 'test.count': expected an integer"},
    {NULL, "LLMOPT_TEST_CUONT=1", NULL, LLMOPT_ERR_UNKNOWN,
     "environment LLMOPT_TEST_CUONT: unknown configuration variable (did you mean "
     "LLMOPT_TEST_COUNT?)"},
    {NULL, "LLMOPT_KAFKA_NO_SUCH_THING=1", NULL, LLMOPT_ERR_UNKNOWN,
     "environment LLMOPT_KAFKA_NO_SUCH_THING: unknown configuration variable"},
    {NULL, "LLMOPT_SCHEMA_REGISTRY_TIMEOUT=50ms", NULL, LLMOPT_ERR_RANGE,
     "environment LLMOPT_SCHEMA_REGISTRY_TIMEOUT: value '50ms' for 'schema.registry.timeout' is "
     "out of range 100ms..10m"},
    {NULL, "LLMOPT_KAFKA_ENABLE_AUTO_COMMIT=false", NULL, LLMOPT_OK, NULL},
    {NULL, "LLMOPT_KAFKA_SSL_KEY_PASSWORD=pw", NULL, LLMOPT_OK, NULL},
    {NULL, NULL, "test.count", LLMOPT_ERR_INVALID, "-X 'test.count': expected key=value"},
    {NULL, NULL, "test.count=", LLMOPT_ERR_INVALID,
     "-X test.count: invalid value '' for 'test.count': expected an integer"},
    {NULL, NULL, "test.enabled=true", LLMOPT_ERR_INVALID, "'test.enabled' needs 'test.topic'"},
    {NULL, NULL, "schema.registry.file=/x", LLMOPT_OK, NULL},
};

static void test_sources_table(void) {
    for (size_t i = 0; i < sizeof(src_cases) / sizeof(src_cases[0]); i++) {
        const src_case *t = &src_cases[i];
        llmopt_config *c = new_conf();
        char err[512] = "", want[600];
        llmopt_err_t got = LLMOPT_OK;
        const char *path = NULL;
        if (t->json) {
            path = write_tmp(t->json);
            got = llmopt_config_load_file(c, path, err, sizeof(err));
            snprintf(want, sizeof(want), "config file '%s': %s", path, t->msg_tail ? t->msg_tail : "");
        } else if (t->env) {
            char *env[] = {(char *)t->env, NULL};
            got = llmopt_config_load_env(c, env, err, sizeof(err));
            snprintf(want, sizeof(want), "%s", t->msg_tail ? t->msg_tail : "");
        } else {
            got = llmopt_config_set_arg(c, t->arg, err, sizeof(err));
            snprintf(want, sizeof(want), "%s", t->msg_tail ? t->msg_tail : "");
        }
        if (got == LLMOPT_OK)
            got = llmopt_config_finalize(c, err, sizeof(err));
        if (got != t->want || (t->msg_tail && strncmp(err, want, strlen(want))))
            fprintf(stderr, "\nsource case %zu: got %d '%s'\n", i, got, err);
        CU_ASSERT_EQUAL(got, t->want);
        if (t->msg_tail)
            CU_ASSERT_EQUAL(strncmp(err, want, strlen(want)), 0);
        llmopt_config_destroy(c);
        if (path)
            unlink(path);
    }
    /* the env name LLMOPT_KAFKA_ENABLE_AUTO_COMMIT resolved to the dotted key */
    llmopt_config *c = new_conf();
    char err[256];
    char *env[] = {"LLMOPT_KAFKA_ENABLE_AUTO_COMMIT=false", "LLMOPT_LOG_FORMAT=json", NULL};
    CU_ASSERT_EQUAL(llmopt_config_load_env(c, env, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_TRUE(llmopt_config_kafka_is_set(c, "enable.auto.commit"));
    CU_ASSERT_EQUAL(conf.common.log_format, LLMOPT_LOG_JSON);
    llmopt_config_destroy(c);
}

static void test_cross_key(void) {
    llmopt_config *c = new_conf();
    char err[256] = "";
    CU_ASSERT_EQUAL(llmopt_config_set(c, "schema.registry.url", "http://127.0.0.1:8081", err,
                                      sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set(c, "schema.registry.file", "/tmp/s.json", err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_finalize(c, err, sizeof(err)), LLMOPT_ERR_INVALID);
    CU_ASSERT_STRING_EQUAL(err, "'schema.registry.url' and 'schema.registry.file' are mutually "
                                "exclusive: set one");
    llmopt_config_destroy(c);
}

static int changed_n;
static void on_changed(const char *key, bool applied, void *opaque) {
    (void)opaque;
    if (!strcmp(key, "test.count"))
        CU_ASSERT_TRUE(applied);
    if (!strcmp(key, "test.ratio"))
        CU_ASSERT_FALSE(applied);
    changed_n++;
}

static void test_reload(void) {
    llmopt_config *c = new_conf();
    char err[256] = "";
    const char *path = write_tmp("{\"test.count\": 1, \"test.ratio\": 0.1}");
    CU_ASSERT_EQUAL(llmopt_config_load_file(c, path, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_config_set_arg(c, "test.mode=fast", err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(conf.count, 1);
    write_tmp("{\"test.count\": 2, \"test.ratio\": 0.2, \"test.mode\": \"safe\"}");
    changed_n = 0;
    CU_ASSERT_EQUAL(llmopt_config_reload(c, on_changed, NULL, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(changed_n, 2);     /* count applied, ratio skipped; mode: -X still wins */
    CU_ASSERT_EQUAL(conf.count, 2);
    CU_ASSERT_EQUAL(conf.ratio, 0.1);
    CU_ASSERT_EQUAL(conf.mode, 0);
    write_tmp("{\"test.count\": 500}");
    CU_ASSERT_EQUAL(llmopt_config_reload(c, NULL, NULL, err, sizeof(err)), LLMOPT_ERR_RANGE);
    CU_ASSERT_EQUAL(conf.count, 2);    /* a bad reload changes nothing */
    llmopt_config_destroy(c);
    unlink(path);
}

static void test_bad_tables(void) {
    static const llmopt_config_prop dup[] = {
        {.name = "log.level", .type = LLMOPT_CONFIG_INT, .offset = 0}, {0}};
    static const llmopt_config_table dup_t = {.name = "dup", .props = dup};
    static const llmopt_config_prop baddef[] = {
        {.name = "x.y", .type = LLMOPT_CONFIG_INT, .offset = 0, .min = 0, .max = 5, .def = "9"},
        {0}};
    static const llmopt_config_table baddef_t = {.name = "bad", .props = baddef};
    struct { llmopt_common_conf common; int64_t x; } o;
    memset(&o, 0, sizeof(o));
    char err[256] = "";
    llmopt_config_binding b[] = {{&llmopt_common_table, 0}, {&dup_t, sizeof(llmopt_common_conf)}};
    CU_ASSERT_PTR_NULL(llmopt_config_new(&o, sizeof(o), b, 2, err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err, "table 'dup': duplicate key 'log.level'");
    b[1].table = &baddef_t;
    CU_ASSERT_PTR_NULL(llmopt_config_new(&o, sizeof(o), b, 2, err, sizeof(err)));
    CU_ASSERT_STRING_EQUAL(err,
                           "table 'bad': bad default: value '9' for 'x.y' is out of range 0..5");
}

static void test_edit_distance(void) {
    CU_ASSERT_EQUAL(llmopt_config_edit_distance("kitten", "sitting"), 3);
    CU_ASSERT_EQUAL(llmopt_config_edit_distance("", "abc"), 3);
    CU_ASSERT_EQUAL(llmopt_config_edit_distance("log.level", "log.level"), 0);
    CU_ASSERT_EQUAL(llmopt_config_edit_distance("log.levle", "log.level"), 2);
}

/* The CLI front: --print-config, --check-config, errors and exit codes. */
static int run_cli(const char *const *args, char **out_text, char **err_text, test_conf *tc,
                   llmopt_cli *cli, llmopt_cli_outcome *oc) {
    char *argv[16];
    int argc = 0;
    argv[argc++] = (char *)"test";
    for (; args[argc - 1]; argc++)
        argv[argc] = (char *)args[argc - 1];
    size_t ol, el;
    FILE *o = open_memstream(out_text, &ol), *e = open_memstream(err_text, &el);
    const llmopt_cli_spec spec = {.prog = "test", .summary = "a test", .bindings = bindings,
                                  .n_bindings = 2, .out = o, .err = e};
    memset(tc, 0, sizeof(*tc));
    *oc = llmopt_cli_parse(cli, &spec, argc, argv, tc, sizeof(*tc));
    fclose(o);
    fclose(e);
    return cli->exit_code;
}

static void test_cli(void) {
    test_conf tc;
    llmopt_cli cli;
    llmopt_cli_outcome oc;
    char *out, *err;

    const char *a1[] = {"-X", "test.count=9", "-Xpg.dsn=postgres://u:pw1@h/db",
                        "--print-config", NULL};
    CU_ASSERT_EQUAL(run_cli(a1, &out, &err, &tc, &cli, &oc), 0);
    CU_ASSERT_EQUAL(oc, LLMOPT_CLI_EXIT);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "test.count = 9  (cli)\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "pg.dsn = [redacted]  (cli)\n"));
    CU_ASSERT_PTR_NULL(strstr(out, "pw1"));
    CU_ASSERT_PTR_NULL(strstr(err, "pw1"));
    CU_ASSERT_PTR_NULL(tc.common.pg_dsn); /* released on exit */
    free(out);
    free(err);

    const char *a2[] = {"--check-config", "-X", "http.port=65536", NULL};
    CU_ASSERT_EQUAL(run_cli(a2, &out, &err, &tc, &cli, &oc), 1);
    CU_ASSERT_STRING_EQUAL(err, "test: -X http.port: value '65536' for 'http.port' is out of "
                                "range 0..65535\n");
    CU_ASSERT_STRING_EQUAL(out, "configuration invalid\n");
    free(out);
    free(err);

    const char *a3[] = {"--check-config", NULL};
    CU_ASSERT_EQUAL(run_cli(a3, &out, &err, &tc, &cli, &oc), 0);
    CU_ASSERT_STRING_EQUAL(out, "configuration ok\n");
    free(out);
    free(err);

    const char *a4[] = {"--bogus", NULL};
    CU_ASSERT_EQUAL(run_cli(a4, &out, &err, &tc, &cli, &oc), 2);
    CU_ASSERT_STRING_EQUAL(err, "test: unknown option '--bogus' (try --help)\n");
    free(out);
    free(err);

    const char *a5[] = {"positional", NULL};
    CU_ASSERT_EQUAL(run_cli(a5, &out, &err, &tc, &cli, &oc), 2);
    free(out);
    free(err);

    const char *a6[] = {"--config", "/nonexistent/x.json", NULL};
    CU_ASSERT_EQUAL(run_cli(a6, &out, &err, &tc, &cli, &oc), 1);
    CU_ASSERT_STRING_EQUAL(err, "test: config file '/nonexistent/x.json': No such file or "
                                "directory\n");
    free(out);
    free(err);

    const char *a7[] = {"-X", "log.level=debug", "-X", "test.topic=t", NULL};
    run_cli(a7, &out, &err, &tc, &cli, &oc);
    CU_ASSERT_EQUAL(oc, LLMOPT_CLI_RUN);
    CU_ASSERT_STRING_EQUAL(tc.topic, "t");
    CU_ASSERT_TRUE(llmopt_log_enabled(LLMOPT_LOG_DEBUG)); /* cli applied log.level */
    llmopt_cli_release(&cli);
    CU_ASSERT_PTR_NULL(tc.topic);
    llmopt_log_setup(LLMOPT_LOG_INFO, LLMOPT_LOG_TEXT);
    free(out);
    free(err);

    const char *a8[] = {"--help", NULL};
    CU_ASSERT_EQUAL(run_cli(a8, &out, &err, &tc, &cli, &oc), 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(out, "test.window"));
    free(out);
    free(err);
}

static void test_doc(void) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    const llmopt_config_table *t[] = {&llmopt_common_table, &test_table};
    llmopt_config_doc(f, t, 2);
    fclose(f);
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `http.port` | int | `0` | 0..65535 |  | port of the "
                                       "HTTP server; 0 turns it off |\n"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `pg.dsn` | string |  |  | sensitive |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `test.mode` | enum | `safe` | `fast`, `safe` |  |"));
    CU_ASSERT_PTR_NOT_NULL(strstr(buf, "| `test.window` | duration | `1m` | 1s..1h |"));
    free(buf);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("config", NULL, NULL);
    CU_add_test(s, "defaults", test_defaults);
    CU_add_test(s, "set table", test_set_table);
    CU_add_test(s, "sensitive never echoed", test_sensitive_never_echoed);
    CU_add_test(s, "precedence", test_precedence);
    CU_add_test(s, "sources table", test_sources_table);
    CU_add_test(s, "cross key", test_cross_key);
    CU_add_test(s, "reload", test_reload);
    CU_add_test(s, "bad tables", test_bad_tables);
    CU_add_test(s, "edit distance", test_edit_distance);
    CU_add_test(s, "cli", test_cli);
    CU_add_test(s, "doc", test_doc);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned fails = CU_get_number_of_failures();
    CU_cleanup_registry();
    return fails ? 1 : 0;
}
