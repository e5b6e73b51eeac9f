/*
 * fuzz_gw_decision.c - libFuzzer harness for the gateway's decision path:
 * bytes -> decode (Avro or JSON by the first byte) -> validate -> install
 * -> choose/admit/batcher read the installed snapshot. The first input
 * byte picks the Kafka key mode (none / the decoded route / a wrong key)
 * so the key check and tombstones are reached too. Admission runs by name
 * and twice by route handle with ids (the second through the per-thread
 * check cache when the first admitted).
 */
#include <stddef.h>
#include <stdint.h>

#include "gateway/include/llmopt_gateway.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static llmopt_gw *gw;
static llmopt_gw_route *handles[4];

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!gw) {
        llmopt_gw_config cfg;
        llmopt_gw_config_init(&cfg);
        cfg.max_routes = 64;
        cfg.limiter_slots = 1024;
        gw = llmopt_gw_new(&cfg, NULL, 0);
        if (!gw)
            return 0;
    }
    if (size < 1)
        return 0;
    uint8_t mode = data[0] % 4;
    data++;
    size--;
    char err[256];
    llmopt_gw_reject rej;
    if (mode == 3) {
        /* tombstone keyed by the rest of the input */
        llmopt_gw_apply_decision(gw, data, size, NULL, 0, NULL, &rej, err, sizeof(err));
        return 0;
    }
    const char *key = mode == 2 ? "wrong-key" : NULL;
    llmopt_gw_apply_decision(gw, key, key ? 9 : 0, data, size, NULL, &rej, err, sizeof(err));
    /* read every route the corpus uses */
    static const char *const routes[] = {"chat", "summarise", "ctx", "limits"};
    for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
        llmopt_gw_feature f[2] = {{"len", 3.5}, {"code", 1.0}};
        llmopt_gw_choose_args a = {.now_ms = 5000, .u = 0.37, .features = f, .n_features = 2};
        llmopt_gw_choice c;
        llmopt_gw_choose(gw, routes[i], &a, &c);
        a.u = -1;
        llmopt_gw_choose(gw, routes[i], &a, &c);
        llmopt_gw_admit_args aa = {.tenant = "t", .user = "u", .priority = LLMOPT_GW_PRIO_LOW,
                                   .tokens = 5, .now_us = 1000};
        llmopt_gw_admission ad;
        llmopt_gw_admit(gw, routes[i], &aa, &ad);
        if (!handles[i])
            handles[i] = llmopt_gw_route_handle(gw, routes[i]);
        aa.tenant_id = llmopt_gw_limit_id("t");
        aa.user_id = llmopt_gw_limit_id("u2");
        aa.priority = (llmopt_gw_priority)(size % 4);
        for (int k = 0; k < 2; k++)
            llmopt_gw_admit_route(gw, handles[i], &aa, &ad);
    }
    return 0;
}
