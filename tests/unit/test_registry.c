/* test_registry.c - CUnit suite for common/registry: the local registry file
 * and the HTTP client against tests/tools/fake_registry.py, a Confluent-
 * compatible test double started here on 127.0.0.1 (it counts requests, and
 * injects 5xx answers and delays on demand). */
#include <CUnit/Basic.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "common/avro_codec.h"
#include "common/registry.h"

#ifndef LLMOPT_SOURCE_DIR
#define LLMOPT_SOURCE_DIR "."
#endif
#ifndef LLMOPT_PYTHON
#define LLMOPT_PYTHON "python3"
#endif

static pid_t fake_pid = -1;
static char fake_url[64];
static char tmpdir[64];

static const char *SCHEMA_A =
    "{\"type\":\"record\",\"name\":\"A\",\"fields\":[{\"name\":\"x\",\"type\":\"long\"}]}";
static const char *SCHEMA_A_SPACED =
    "{ \"type\" : \"record\", \"name\": \"A\",\n \"fields\": [ {\"name\": \"x\", "
    "\"type\": \"long\"} ] }";
static const char *SCHEMA_B =
    "{\"type\":\"record\",\"name\":\"B\",\"fields\":[{\"name\":\"y\",\"type\":\"string\"}]}";

static size_t sink(char *p, size_t s, size_t n, void *u) {
    json_t **out = u;
    json_decref(*out);
    *out = json_loadb(p, s * n, 0, NULL); /* answers are small: one chunk */
    return s * n;
}

/* GET or POST a control path of the fake; returns the answer's JSON or NULL */
static json_t *fake_call(const char *path, int post) {
    char url[256];
    snprintf(url, sizeof(url), "%s%s", fake_url, path);
    json_t *ans = NULL;
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_URL, url);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, sink);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &ans);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, 5000L);
    if (post)
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, "");
    CURLcode rc = curl_easy_perform(c);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        json_decref(ans);
        return NULL;
    }
    return ans;
}

/* API requests the fake has counted */
static long fake_requests(void) {
    json_t *s = fake_call("/_stats", 0);
    long n = s ? (long)json_integer_value(json_object_get(s, "requests")) : -1;
    json_decref(s);
    return n;
}

static int suite_init(void) {
    curl_global_init(CURL_GLOBAL_DEFAULT);
    int fd[2];
    if (pipe(fd) != 0)
        return 1;
    fake_pid = fork();
    if (fake_pid < 0)
        return 1;
    if (fake_pid == 0) {
        dup2(fd[1], 1);
        close(fd[0]);
        close(fd[1]);
        execlp(LLMOPT_PYTHON, LLMOPT_PYTHON,
              LLMOPT_SOURCE_DIR "/tests/tools/fake_registry.py", (char *)NULL);
        _exit(127);
    }
    close(fd[1]);
    FILE *f = fdopen(fd[0], "r");
    char line[64] = "";
    int port = 0;
    if (!fgets(line, sizeof(line), f) || sscanf(line, "PORT %d", &port) != 1) {
        fprintf(stderr, "fake registry did not start (%s)\n", LLMOPT_PYTHON);
        fclose(f);
        return 1;
    }
    fclose(f);
    snprintf(fake_url, sizeof(fake_url), "http://127.0.0.1:%d", port);

    snprintf(tmpdir, sizeof(tmpdir), "/tmp/llmopt-regtest-XXXXXX");
    return mkdtemp(tmpdir) ? 0 : 1;
}

static int suite_clean(void) {
    if (fake_pid > 0) {
        kill(fake_pid, SIGTERM);
        waitpid(fake_pid, NULL, 0);
    }
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    if (tmpdir[0] && system(cmd) != 0)
        return 1;
    curl_global_cleanup();
    return 0;
}

static llmopt_registry *remote(long timeout_ms) {
    llmopt_registry_conf conf = {.url = fake_url, .timeout_ms = timeout_ms};
    char err[256] = "";
    llmopt_registry *r = llmopt_registry_new(&conf, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL(r);
    return r;
}

static void write_text(const char *name, const char *text) {
    char path[256];
    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_register_lookup_cache(void) {
    char err[256];
    llmopt_registry_fault fault;
    llmopt_registry *r = remote(0);
    long before = fake_requests();
    int32_t id_a = -1, id_a2 = -1, id_b = -1;
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_A, &id_a, &fault,
                                             err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT(id_a > 0);
    CU_ASSERT_EQUAL(fault.http_status, 200);
    /* same schema, other whitespace: served from the cache, no request */
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_A_SPACED, &id_a2,
                                             NULL, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id_a2, id_a);
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-b/value x", SCHEMA_B, &id_b, NULL,
                                             err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT(id_b > 0 && id_b != id_a);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 2);
    CU_ASSERT_EQUAL(fake_requests() - before, 2);

    /* register caches id -> schema as well */
    const char *s = NULL;
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, id_b, &s, NULL, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(s, SCHEMA_B);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 2);
    llmopt_registry_destroy(r);

    /* a fresh client fetches once per id, then never again */
    r = remote(0);
    before = fake_requests();
    for (int i = 0; i < 5; i++) {
        s = NULL;
        CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, id_a, &s, NULL, err,
                                                     sizeof(err)),
                        LLMOPT_OK);
        CU_ASSERT_PTR_NOT_NULL_FATAL(s);
        CU_ASSERT_STRING_EQUAL(s, SCHEMA_A);
    }
    CU_ASSERT_EQUAL(fake_requests() - before, 1);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 1);

    /* latest moves with a new version and is not cached */
    int32_t lid = 0;
    int ver = 0;
    CU_ASSERT_EQUAL(llmopt_registry_latest(r, "t-a-value", &lid, &ver, &s, NULL, err,
                                           sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(lid, id_a);
    CU_ASSERT_EQUAL(ver, 1);
    int32_t id_a3 = 0;
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_B, &id_a3, NULL,
                                             err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id_a3, id_b); /* ids are global per schema, as in Confluent */
    CU_ASSERT_EQUAL(llmopt_registry_latest(r, "t-a-value", &lid, &ver, &s, NULL, err,
                                           sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(lid, id_b);
    CU_ASSERT_EQUAL(ver, 2);
    CU_ASSERT_STRING_EQUAL(s, SCHEMA_B);
    CU_ASSERT_EQUAL(fake_requests() - before, 4);
    llmopt_registry_destroy(r);
}

static void test_not_found(void) {
    char err[256] = "";
    llmopt_registry_fault fault = {0};
    llmopt_registry *r = remote(0);
    const char *s = NULL;
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 99999, &s, &fault, err,
                                                 sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_EQUAL(fault.http_status, 404);
    CU_ASSERT_EQUAL(fault.error_code, 40403);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "http 404"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "40403"));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "Schema 99999 not found"));
    /* a miss is not cached: a second lookup asks again */
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 99999, &s, NULL, err,
                                                 sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 2);
    CU_ASSERT_EQUAL(llmopt_registry_latest(r, "no-such-subject", NULL, NULL, NULL,
                                           &fault, err, sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_EQUAL(fault.error_code, 40401);
    /* a schema that is not JSON is refused before any request */
    int32_t id;
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "x", "{not json", &id, NULL, err,
                                             sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 3);
    llmopt_registry_destroy(r);
}

static void test_server_errors(void) {
    char err[256] = "";
    llmopt_registry_fault fault = {0};
    llmopt_registry *r = remote(0);
    int32_t id_a = 0;
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_A, &id_a, NULL, err,
                                             sizeof(err)),
                    LLMOPT_OK);
    llmopt_registry_destroy(r);
    r = remote(0);

    json_decref(fake_call("/_fail?status=503&count=1", 1));
    const char *s = NULL;
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, id_a, &s, &fault, err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(fault.http_status, 503);
    CU_ASSERT_EQUAL(fault.error_code, 50301);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "http 503"));
    /* the failure is not remembered: the next call succeeds */
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, id_a, &s, &fault, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(s, SCHEMA_A);

    json_decref(fake_call("/_fail?status=500&count=1", 1));
    int32_t id = 0;
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-c-value", "{\"type\":\"int\"}", &id,
                                             &fault, err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(fault.http_status, 500);
    json_decref(fake_call("/_fail?status=409&count=1", 1));
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-c-value", "{\"type\":\"int\"}", &id,
                                             &fault, err, sizeof(err)),
                    LLMOPT_ERR_INVALID);
    CU_ASSERT_EQUAL(fault.http_status, 409);
    llmopt_registry_destroy(r);

    /* nobody listening: connection refused is an i/o error, not a hang */
    llmopt_registry_conf conf = {.url = "http://127.0.0.1:1", .timeout_ms = 2000};
    r = llmopt_registry_new(&conf, err, sizeof(err));
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 1, &s, &fault, err, sizeof(err)),
                    LLMOPT_ERR_IO);
    CU_ASSERT_EQUAL(fault.http_status, 0);
    llmopt_registry_destroy(r);

    conf.url = "ftp://127.0.0.1:1";
    CU_ASSERT_PTR_NULL(llmopt_registry_new(&conf, err, sizeof(err)));
}

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void test_timeout(void) {
    char err[256] = "";
    llmopt_registry_fault fault = {0};
    llmopt_registry *r = remote(300);
    json_decref(fake_call("/_delay?ms=2000&count=1", 1));
    const char *s = NULL;
    double t0 = now_s();
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 1, &s, &fault, err, sizeof(err)),
                    LLMOPT_ERR_TIMEOUT);
    double took = now_s() - t0;
    CU_ASSERT(took >= 0.25 && took < 1.5);
    CU_ASSERT_EQUAL(fault.http_status, 0);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "get schema by id"));
    llmopt_registry_destroy(r);
}

typedef struct {
    llmopt_registry *r;
    int32_t ids[2];
    int bad;
} thr_arg;

static void *lookup_thread(void *p) {
    thr_arg *a = p;
    for (int i = 0; i < 200; i++) {
        const char *s = NULL;
        int32_t id = a->ids[i % 2];
        if (llmopt_registry_schema_by_id(a->r, id, &s, NULL, NULL, 0) != LLMOPT_OK ||
            strcmp(s, i % 2 ? SCHEMA_B : SCHEMA_A) != 0)
            __atomic_add_fetch(&a->bad, 1, __ATOMIC_RELAXED);
    }
    return NULL;
}

static void test_threads(void) {
    char err[256];
    llmopt_registry *r = remote(0);
    thr_arg a = {.r = r};
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_A, &a.ids[0], NULL,
                                             err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-b-value", SCHEMA_B, &a.ids[1], NULL,
                                             err, sizeof(err)),
                    LLMOPT_OK);
    llmopt_registry_destroy(r);
    a.r = r = remote(0); /* cold cache: the threads race on the first fetches */
    pthread_t t[4];
    for (int i = 0; i < 4; i++)
        pthread_create(&t[i], NULL, lookup_thread, &a);
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    CU_ASSERT_EQUAL(a.bad, 0);
    /* at most one fetch per id per thread, usually one per id */
    CU_ASSERT(llmopt_registry_http_requests(r) >= 2 &&
              llmopt_registry_http_requests(r) <= 8);
    llmopt_registry_destroy(r);
}

static void test_local_file(void) {
    char err[256] = "";
    char path[256];
    write_text("a.avsc", SCHEMA_A_SPACED);
    write_text("b.avsc", SCHEMA_B);
    write_text("registry.json",
               "{\"schemas\": [\n"
               " {\"id\": 7, \"subject\": \"t-a-value\", \"record\": \"t.A\", "
               "\"file\": \"a.avsc\"},\n"
               " {\"id\": 9, \"subject\": \"t-b-value\", \"record\": \"t.B\", "
               "\"file\": \"b.avsc\"}]}\n");
    snprintf(path, sizeof(path), "%s/registry.json", tmpdir);
    llmopt_registry_conf conf = {.local_path = path};
    llmopt_registry *r = llmopt_registry_new(&conf, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    const char *s = NULL;
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 9, &s, NULL, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(s, SCHEMA_B);
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 8, &s, NULL, err, sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_STRING_EQUAL(err, "unknown schema id '8'");
    int32_t id = 0;
    CU_ASSERT_EQUAL(llmopt_registry_local_id(r, "t.A", &id, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 7);
    CU_ASSERT_EQUAL(llmopt_registry_local_id(r, "t-b-value", &id, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 9);
    CU_ASSERT_EQUAL(llmopt_registry_local_id(r, "t.C", &id, err, sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    /* registering a listed schema is answered locally, whitespace aside */
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_A, &id, NULL, err,
                                             sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 7);
    CU_ASSERT_EQUAL(llmopt_registry_register(r, "t-a-value", SCHEMA_B, &id, NULL, err,
                                             sizeof(err)),
                    LLMOPT_ERR_UNKNOWN);
    int ver = 0;
    CU_ASSERT_EQUAL(llmopt_registry_latest(r, "t-b-value", &id, &ver, &s, NULL, err,
                                           sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 9);
    CU_ASSERT_EQUAL(ver, 1);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 0);
    llmopt_registry_destroy(r);

    /* local entries are served without a request even with a url */
    conf.url = fake_url;
    r = llmopt_registry_new(&conf, err, sizeof(err));
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 7, &s, NULL, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(r), 0);
    llmopt_registry_destroy(r);
    conf.url = NULL;

    /* broken files fail at start-up with a precise reason */
    write_text("registry.json", "{\"schemas\": [\n {\"id\": 7,, }]}");
    CU_ASSERT_PTR_NULL(llmopt_registry_new(&conf, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "line 2"));
    write_text("registry.json", "[{\"id\": 7, \"file\": \"a.avsc\"},"
                                " {\"id\": 7, \"file\": \"b.avsc\"}]");
    CU_ASSERT_PTR_NULL(llmopt_registry_new(&conf, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "duplicate id '7'"));
    write_text("registry.json", "[{\"id\": 3, \"file\": \"missing.avsc\"}]");
    CU_ASSERT_PTR_NULL(llmopt_registry_new(&conf, err, sizeof(err)));
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "missing.avsc"));
    write_text("registry.json", "[{\"id\": -3, \"file\": \"a.avsc\"}]");
    CU_ASSERT_PTR_NULL(llmopt_registry_new(&conf, err, sizeof(err)));
    llmopt_registry_destroy(NULL);
}

static char *slurp(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return NULL;
    char *buf = calloc(1, 1 << 16);
    size_t n = fread(buf, 1, (1 << 16) - 1, f);
    fclose(f);
    buf[n] = '\0';
    return buf;
}

/* the project's own schemas/registry.json, and the adapter to the Avro codec */
static void test_project_registry_and_adapter(void) {
    char err[256] = "";
    llmopt_registry_conf conf = {.local_path = LLMOPT_SOURCE_DIR "/schemas/registry.json"};
    llmopt_registry *r = llmopt_registry_new(&conf, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(r);
    static const char *names[] = {"Request", "Response", "Feedback", "Outcome",
                                  "WindowMetrics", "Signal", "RoutingDecision"};
    for (int i = 0; i < 7; i++) {
        int32_t id = 0;
        CU_ASSERT_EQUAL(llmopt_registry_local_id(r, names[i], &id, err, sizeof(err)),
                        LLMOPT_OK);
        CU_ASSERT_EQUAL(id, i + 1);
    }
    int32_t id = 0;
    CU_ASSERT_EQUAL(llmopt_registry_local_id(r, "io.llmopt.Signal", &id, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 6);
    CU_ASSERT_EQUAL(llmopt_registry_local_id(r, "llm.feedback-value", &id, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 3);
    const char *s = NULL;
    char *file = slurp(LLMOPT_SOURCE_DIR "/schemas/response.avsc");
    CU_ASSERT_EQUAL(llmopt_registry_schema_by_id(r, 2, &s, NULL, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(s, file);

    llmopt_schema_source src;
    llmopt_registry_schema_source(r, &src);
    CU_ASSERT_EQUAL(src.lookup(src.ctx, 2, &s, err, sizeof(err)), LLMOPT_OK);
    CU_ASSERT_STRING_EQUAL(s, file);
    CU_ASSERT_EQUAL(src.lookup(src.ctx, 8, &s, err, sizeof(err)), LLMOPT_ERR_UNKNOWN);
    CU_ASSERT_EQUAL(src.id_for(src.ctx, LLMOPT_REC_ROUTING_DECISION, &id, err, sizeof(err)),
                    LLMOPT_OK);
    CU_ASSERT_EQUAL(id, 7);
    free(file);

    /* the codec over a remote-only registry: the writer schema is fetched by
     * the id the fake gave it, once; unknown ids and 5xx stay apart */
    file = slurp(LLMOPT_SOURCE_DIR "/schemas/feedback.avsc");
    llmopt_registry *remote_reg = remote(0);
    int32_t fid = 0;
    CU_ASSERT_EQUAL_FATAL(llmopt_registry_register(remote_reg, "it-feedback-value", file,
                                                   &fid, NULL, err, sizeof(err)),
                          LLMOPT_OK);
    llmopt_registry_destroy(remote_reg);
    remote_reg = remote(0);
    llmopt_registry_schema_source(remote_reg, &src);
    llmopt_avro_codec *codec = llmopt_avro_codec_new(&src, err, sizeof(err));
    CU_ASSERT_PTR_NOT_NULL_FATAL(codec);
    llmopt_feedback fb;
    llmopt_feedback_init(&fb);
    fb.request_id = llmopt_str_of("q1");
    fb.route = llmopt_str_of("chat");
    fb.ts_ms = 77;
    llmopt_wbuf w;
    llmopt_wbuf_init(&w);
    uint8_t hdr[LLMOPT_AVRO_HEADER_SIZE];
    llmopt_avro_header_write(hdr, fid);
    for (int i = 0; i < LLMOPT_AVRO_HEADER_SIZE; i++)
        llmopt_wbuf_u8(&w, hdr[i]);
    CU_ASSERT_EQUAL_FATAL(llmopt_avro_encode_body(LLMOPT_REC_FEEDBACK, &fb, &w, err,
                                                  sizeof(err)),
                          LLMOPT_OK);
    llmopt_feedback out;
    llmopt_feedback_init(&out);
    llmopt_avro_reason why = LLMOPT_AVRO_OK;
    for (int i = 0; i < 3; i++)
        CU_ASSERT_EQUAL(llmopt_avro_decode(codec, w.data, w.len, LLMOPT_REC_FEEDBACK, &out,
                                           &why, err, sizeof(err)),
                        LLMOPT_OK);
    CU_ASSERT_EQUAL(out.ts_ms, 77);
    CU_ASSERT_EQUAL(llmopt_registry_http_requests(remote_reg), 1);
    llmopt_avro_header_write(w.data, 4242);
    json_decref(fake_call("/_fail?status=503&count=1", 1));
    CU_ASSERT_NOT_EQUAL(llmopt_avro_decode(codec, w.data, w.len, LLMOPT_REC_FEEDBACK, &out,
                                           &why, err, sizeof(err)),
                        LLMOPT_OK);
    CU_ASSERT_EQUAL(why, LLMOPT_AVRO_REGISTRY_UNAVAILABLE);
    CU_ASSERT_NOT_EQUAL(llmopt_avro_decode(codec, w.data, w.len, LLMOPT_REC_FEEDBACK, &out,
                                           &why, err, sizeof(err)),
                        LLMOPT_OK);
    CU_ASSERT_EQUAL(why, LLMOPT_AVRO_UNKNOWN_SCHEMA_ID);
    llmopt_feedback_release(&out);
    llmopt_wbuf_release(&w);
    llmopt_avro_codec_destroy(codec);
    llmopt_registry_destroy(remote_reg);
    llmopt_registry_destroy(r);
    free(file);
}

int main(void) {
    if (CU_initialize_registry() != CUE_SUCCESS)
        return 1;
    CU_pSuite s = CU_add_suite("registry", suite_init, suite_clean);
    CU_add_test(s, "register_lookup_cache", test_register_lookup_cache);
    CU_add_test(s, "not_found", test_not_found);
    CU_add_test(s, "server_errors", test_server_errors);
    CU_add_test(s, "timeout", test_timeout);
    CU_add_test(s, "threads", test_threads);
    CU_add_test(s, "local_file", test_local_file);
    CU_add_test(s, "project_registry_and_adapter", test_project_registry_and_adapter);
    CU_basic_set_mode(CU_BRM_VERBOSE);
    CU_basic_run_tests();
    unsigned failed = CU_get_number_of_failures() + CU_get_number_of_tests_failed() +
                      CU_get_number_of_suites_failed();
    CU_cleanup_registry();
    return failed ? 1 : 0;
}
