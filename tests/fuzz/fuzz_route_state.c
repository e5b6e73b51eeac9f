/*
 * fuzz_route_state.c - libFuzzer harness for llmopt_route_deserialize, the
 * controller's whole route checkpoint ("CRTE" v1 and v2), and so for the
 * strategy record inside it (llmopt_strategy_deserialize, "CSTG": adapted
 * rate limits, cache policy, batch size and their open periods).
 *
 * Input: byte 0 picks one of four policies: three with the same arms (the
 * one the seeds were written with; one with other bounds, periods and
 * providers, so restored values are clamped and periods dropped; one
 * without strategies) and one with another arm list (an arm dropped, one
 * added, the order changed: the state is carried over by arm id), bytes 1-2 the blob length L (little-endian), then L
 * bytes of blob, then operations (4 bytes each: a window of one arm). An
 * accepted blob must give a decision the gateway library accepts, with the
 * limits, TTL and batch size inside the policy's bounds, also after the
 * operations; re-serialising must be accepted again and reproduce the same
 * bytes.
 *
 * Builds as a plain reproducer without libFuzzer (tests/fuzz/standalone.c).
 * Built with -DLLMOPT_GEN_CORPUS (target gen_route_corpus) it writes the
 * seed corpus instead: `build-x/tests/gen_route_corpus tests/fuzz/corpus/route_state`.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/route.h"
#include "gateway/include/llmopt_gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ARMS(c_provider)                                                                   \
    "\"arms\":[{\"id\":\"a\",\"provider\":\"openai\",\"model\":\"m1\",\"weight\":3},"    \
    "{\"id\":\"b\",\"provider\":\"openai\",\"model\":\"m2\",\"weight\":1},"              \
    "{\"id\":\"c\",\"provider\":\"" c_provider "\",\"model\":\"m3\",\"weight\":0}]"

static const char *const POLICIES[] = {
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\"," ARMS("anthropic") ","
    "\"rate_limits\":{\"global\":{\"requests_per_s\":100,\"requests_burst\":50},"
    "\"adaptive\":{\"min_rps\":10,\"max_rps\":300,\"period_ms\":10000}},"
    "\"cache\":{\"ttl_ms\":400000,\"adaptive\":{\"min_ttl_ms\":100000,\"period_ms\":10000}},"
    "\"batching\":{\"max_batch\":8,\"adaptive\":{\"min_batch\":2,\"max_batch\":16,"
    "\"target_p95_ms\":1000,\"period_ms\":10000}}}]}",
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\"," ARMS("openai") ","
    "\"rate_limits\":{\"global\":{\"requests_per_s\":60,\"requests_burst\":5},"
    "\"adaptive\":{\"min_rps\":50,\"max_rps\":70,\"period_ms\":20000}},"
    "\"cache\":{\"ttl_ms\":300000,\"adaptive\":{\"min_ttl_ms\":250000,\"period_ms\":5000}},"
    "\"batching\":{\"max_batch\":4,\"adaptive\":{\"min_batch\":3,\"max_batch\":5,"
    "\"target_p95_ms\":800,\"period_ms\":20000}}}]}",
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\"," ARMS("anthropic") "}]}",
    /* another arm list (b dropped, d added, order changed): states of the
     * others are carried over by arm id */
    "{\"routes\":[{\"route\":\"chat\",\"algorithm\":\"static\","
    "\"arms\":[{\"id\":\"c\",\"provider\":\"anthropic\",\"model\":\"m3\",\"weight\":1},"
    "{\"id\":\"d\",\"provider\":\"openai\",\"model\":\"m4\",\"weight\":1},"
    "{\"id\":\"a\",\"provider\":\"openai\",\"model\":\"m1\",\"weight\":3}],"
    "\"rate_limits\":{\"global\":{\"requests_per_s\":100,\"requests_burst\":50},"
    "\"adaptive\":{\"min_rps\":10,\"max_rps\":300,\"period_ms\":10000}},"
    "\"cache\":{\"ttl_ms\":400000,\"adaptive\":{\"min_ttl_ms\":100000,\"period_ms\":10000}},"
    "\"batching\":{\"max_batch\":8,\"adaptive\":{\"min_batch\":2,\"max_batch\":16,"
    "\"target_p95_ms\":1000,\"period_ms\":10000}}}]}",
};

#define NPOL (sizeof(POLICIES) / sizeof(POLICIES[0]))
static llmopt_policy *pol[NPOL];

static const llmopt_policy *policy(size_t i) {
    if (!pol[i]) {
        char err[256];
        pol[i] = llmopt_policy_parse(POLICIES[i], strlen(POLICIES[i]), NULL, 0, err, sizeof(err));
        if (!pol[i]) {
            fprintf(stderr, "policy %zu: %s\n", i, err);
            abort();
        }
    }
    return pol[i];
}

/* A tumbling 5 s window of the route's arm op[0] % 3 ending at step * 5 s. */
static llmopt_window_metrics window(const llmopt_policy_route *pr, const uint8_t *op,
                                    int64_t step) {
    llmopt_window_metrics m;
    memset(&m, 0, sizeof(m));
    m.metrics_id = llmopt_str_of("w");
    m.route = llmopt_str_of("chat");
    m.arm = llmopt_str_of(pr->arms[op[0] % 3].id);
    m.window_end_ms = 5000 * step;
    m.window_start_ms = m.window_end_ms - 5000;
    m.window_kind = LLMOPT_WINDOW_TUMBLING;
    m.size_ms = m.advance_ms = 5000;
    m.count = 10 * (int64_t)op[1];
    m.rate_limited_count = op[2] % 2 ? m.count / 10 : 0;
    m.ok_count = m.count - m.rate_limited_count;
    m.quality_count = m.ok_count;
    m.has_quality_mean = true;
    m.quality_mean = 0.8;
    m.cache_hits = m.count / 3;
    m.has_cache_hit_quality_mean = m.cache_hits > 0;
    m.cache_hit_quality_mean = (op[2] >> 1) / 127.0;
    m.has_cache_miss_quality_mean = true;
    m.cache_miss_quality_mean = 0.8;
    m.has_latency_p95_ms = true;
    m.latency_p95_ms = 10.0 * op[3];
    return m;
}

/* The decision of r must be one the gateway accepts, within the bounds. */
static void check(llmopt_route *r, const llmopt_policy_route *pr, int64_t now) {
    llmopt_route_decision d;
    if (llmopt_route_decide(r, now, &d) < 0)
        return;
    static llmopt_routing_decision rec;
    llmopt_route_fill(r, &d, 7, now, false, &rec);
    char err[256];
    if (llmopt_gw_validate(&rec, NULL, err, sizeof(err)) != LLMOPT_GW_REJECT_NONE) {
        fprintf(stderr, "decision refused: %s\n", err);
        abort();
    }
    const llmopt_strategy_config *c = &pr->strat;
    if (c->has_cache && (rec.cache_policy.ttl_ms < c->cache.min_ttl_ms ||
                         rec.cache_policy.ttl_ms > c->cache.max_ttl_ms))
        abort();
    if (c->has_batching && (rec.batching.max_batch < c->batch.min_batch ||
                            rec.batching.max_batch > c->batch.max_bound))
        abort();
    if (c->has_rate_limits && !(rec.rate_limits.global.requests_per_s > 0 &&
                                isfinite(rec.rate_limits.global.requests_per_s)))
        abort();
    llmopt_route_commit(r, &d, 7, now);
}

static void roundtrip(llmopt_route *r, const llmopt_policy_route *pr) {
    llmopt_wbuf w1, w2;
    llmopt_wbuf_init(&w1);
    llmopt_wbuf_init(&w2);
    llmopt_route_serialize(r, &w1);
    char err[256];
    llmopt_route *u = llmopt_route_new(pr, 1, 1000, err, sizeof(err));
    if (!u || w1.err || llmopt_route_deserialize(u, w1.data, w1.len, err, sizeof(err))) {
        fprintf(stderr, "own state refused: %s\n", err);
        abort();
    }
    llmopt_route_serialize(u, &w2);
    if (w2.err || w1.len != w2.len || memcmp(w1.data, w2.data, w1.len))
        abort();
    llmopt_route_destroy(u);
    llmopt_wbuf_release(&w1);
    llmopt_wbuf_release(&w2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    const llmopt_policy_route *pr = &policy(data[0] % NPOL)->routes[0];
    size_t len = (size_t)data[1] | (size_t)data[2] << 8;
    if (len > size - 3)
        len = size - 3;
    char err[256];
    llmopt_route *r = llmopt_route_new(pr, 1, 1000, err, sizeof(err));
    if (!r)
        abort();
    if (llmopt_route_deserialize(r, data + 3, len, err, sizeof(err)) == LLMOPT_OK) {
        check(r, pr, 2000);
        const uint8_t *op = data + 3 + len;
        size_t nops = (size - 3 - len) / 4;
        for (size_t i = 0; i < nops && i < 64; i++) {
            llmopt_window_metrics m = window(pr, op + 4 * i, 1 + (int64_t)i);
            if (llmopt_route_metrics(r, &m, 2000, err, sizeof(err)) != LLMOPT_OK)
                abort(); /* the windows are well-formed */
            check(r, pr, 2001 + (int64_t)i);
        }
        roundtrip(r, pr);
    }
    llmopt_route_destroy(r);
    return 0;
}

#ifdef LLMOPT_GEN_CORPUS
/* Seeds: checkpoints of the first policy's route after 0, 3, 5 and 8
 * windows (periods judged and open), each as v2 and cut down to v1, for
 * each of the three policies, followed by a few operations. */
static const uint8_t OPS[] = {0, 30, 1, 150, 1, 10, 0, 40, 2, 5, 255, 90, 0, 30, 1, 150};

static void dump(const char *dir, const char *name, int variant, const uint8_t *blob,
                 size_t len) {
    char path[512];
    snprintf(path, sizeof(path), "%s/%s_p%d", dir, name, variant);
    FILE *f = fopen(path, "wb");
    uint8_t h[3] = {(uint8_t)variant, (uint8_t)len, (uint8_t)(len >> 8)};
    if (!f || fwrite(h, 1, 3, f) != 3 || fwrite(blob, 1, len, f) != len ||
        fwrite(OPS, 1, sizeof(OPS), f) != sizeof(OPS) || fclose(f)) {
        perror(path);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: gen_route_corpus DIR\n");
        return 2;
    }
    const llmopt_policy_route *pr = &policy(0)->routes[0];
    static const uint8_t seq[8][4] = {{0, 30, 1, 150}, {1, 10, 1, 150}, {0, 30, 1, 150},
                                      {1, 10, 1, 150}, {0, 30, 254, 50}, {1, 10, 254, 50},
                                      {0, 30, 1, 150}, {1, 10, 1, 150}};
    static const int at[] = {0, 3, 5, 8};
    for (size_t s = 0; s < sizeof(at) / sizeof(at[0]); s++) {
        char err[256];
        llmopt_route *r = llmopt_route_new(pr, 1, 1000, err, sizeof(err));
        check(r, pr, 1000);
        for (int i = 0; i < at[s]; i++) {
            llmopt_window_metrics m = window(pr, seq[i], 1 + i);
            if (llmopt_route_metrics(r, &m, 1000, err, sizeof(err)))
                abort();
            check(r, pr, 1001 + i);
        }
        llmopt_wbuf w;
        llmopt_wbuf_init(&w);
        llmopt_route_serialize(r, &w);
        size_t cut = 0; /* the strategy record is the v2 blob's tail */
        for (size_t i = 0; i + 4 <= w.len; i++)
            if (!memcmp(w.data + i, "CSTG", 4))
                cut = i;
        if (w.err || !cut)
            abort();
        for (int v = 0; v < (int)NPOL; v++) {
            char name[32];
            snprintf(name, sizeof(name), "v2_w%d", at[s]);
            dump(argv[1], name, v, w.data, w.len);
            w.data[4] = 1;
            snprintf(name, sizeof(name), "v1_w%d", at[s]);
            dump(argv[1], name, v, w.data, cut);
            w.data[4] = 2;
        }
        llmopt_wbuf_release(&w);
        llmopt_route_destroy(r);
    }
    return 0;
}
#endif
