/*
 * fuzz_policy.c - libFuzzer harness for the controller's policy parser
 * (controller/policy.c, with the rate_limits / cache / batching members of
 * controller/strategy.h): bytes -> llmopt_policy_parse. Every accepted
 * policy builds its routes, takes a few windows made from the input (so
 * the adaptation cores run on arbitrary counts) and must publish decisions
 * the gateway library accepts: a rejection aborts.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "controller/policy.h"
#include "controller/route.h"
#include "gateway/include/llmopt_gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(llmopt_route *r, int64_t now, int64_t version) {
    llmopt_route_decision d;
    if (llmopt_route_decide(r, now, &d) < 0)
        return;
    llmopt_routing_decision rec;
    llmopt_route_fill(r, &d, version, now, false, &rec);
    char err[256];
    if (llmopt_gw_validate(&rec, NULL, err, sizeof(err)) != LLMOPT_GW_REJECT_NONE) {
        fprintf(stderr, "controller decision rejected by the gateway: %s\n", err);
        abort();
    }
    llmopt_route_commit(r, &d, version, now);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char err[512];
    llmopt_policy *p = llmopt_policy_parse((const char *)data, size, NULL, 0, err, sizeof(err));
    if (!p)
        return 0;
    /* window figures from the input's bytes, cycled */
    uint32_t seed = 2166136261u;
    for (size_t i = 0; i < size; i++)
        seed = (seed ^ data[i]) * 16777619u;
    for (size_t ri = 0; ri < p->n_routes && ri < 4; ri++) {
        llmopt_route *r = llmopt_route_new(&p->routes[ri], 1, 1000, err, sizeof(err));
        if (!r)
            continue;
        check(r, 1000, 1);
        for (int w = 1; w <= 24; w++) {
            for (size_t a = 0; a < p->routes[ri].n_arms && a < 4; a++) {
                seed = seed * 1103515245u + 12345u;
                llmopt_window_metrics m;
                memset(&m, 0, sizeof(m));
                m.metrics_id = llmopt_str_of("f");
                m.route = llmopt_str_of(p->routes[ri].route);
                m.arm = llmopt_str_of(p->routes[ri].arms[a].id);
                m.window_kind = (seed >> 30) == 3 ? LLMOPT_WINDOW_HOPPING : LLMOPT_WINDOW_TUMBLING;
                m.window_end_ms = (int64_t)w * 5000;
                m.window_start_ms = m.window_end_ms - 5000;
                m.count = (seed >> 8) % 2000;
                m.rate_limited_count = m.count ? (seed >> 4) % (m.count + 1) : 0;
                m.ok_count = m.count - m.rate_limited_count;
                m.quality_count = m.ok_count;
                m.has_quality_mean = m.quality_count > 0;
                m.quality_mean = (double)((seed >> 3) % 1000) / 1000.0;
                m.cache_hits = m.quality_count ? (seed >> 5) % (m.quality_count + 1) : 0;
                m.has_cache_hit_quality_mean = m.cache_hits > 0;
                m.cache_hit_quality_mean = (double)((seed >> 11) % 1000) / 1000.0;
                m.has_cache_miss_quality_mean = m.quality_count > m.cache_hits;
                m.cache_miss_quality_mean = m.quality_mean;
                m.has_latency_p95_ms = true;
                m.latency_p95_ms = (double)((seed >> 7) % 20000);
                llmopt_route_metrics(r, &m, 1000 + w, err, sizeof(err));
            }
            check(r, 1000 + w, 1 + w);
        }
        llmopt_route_destroy(r);
    }
    llmopt_policy_destroy(p);
    return 0;
}
