/*
 * minimal_gateway.c - the smallest complete use of libllmopt-gateway:
 * follow llm.routing, choose an arm for a few requests on a route, apply
 * the route's rate limits and cache, and report Request + Response
 * telemetry. A real gateway would call its provider where this prints.
 *
 *   minimal_gateway [bootstrap] [route]     (default 127.0.0.1:19092 chat)
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "gateway/include/llmopt_gateway.h"

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int main(int argc, char **argv) {
    char err[512];
    llmopt_gw_config cfg;
    llmopt_gw_config_init(&cfg);
    cfg.bootstrap_servers = argc > 1 ? argv[1] : "127.0.0.1:19092";
    cfg.gateway_id = "minimal";
    cfg.default_arm_id = "fallback";
    const char *route = argc > 2 ? argv[2] : "chat";
    llmopt_gw *gw = llmopt_gw_new(&cfg, err, sizeof(err));
    if (!gw) {
        fprintf(stderr, "gateway: %s\n", err);
        return 1;
    }
    if (llmopt_gw_wait_ready(gw, 10000) != LLMOPT_OK)
        fprintf(stderr, "routing topic not caught up yet: using fallbacks\n");
    for (int i = 0; i < 5; i++) {
        const char *prompt = "  What is   the capital of France? ";
        char key[LLMOPT_GW_CACHE_KEY_LEN + 1], rid[64];
        llmopt_gw_cache_key(route, prompt, strlen(prompt), key);
        snprintf(rid, sizeof(rid), "minimal-%lld-%d", (long long)now_ms(), i);

        llmopt_gw_admission adm;
        llmopt_gw_admit_args aa = {.tenant = "acme", .priority = LLMOPT_GW_PRIO_MEDIUM,
                                   .tokens = 20};
        llmopt_gw_admit(gw, route, &aa, &adm);
        if (adm.verdict == LLMOPT_GW_DENY) {
            printf("%s: denied, retry after %lld ms\n", rid, (long long)adm.retry_after_ms);
            continue;
        }
        llmopt_gw_choice ch;
        llmopt_gw_choose_args ca = {.now_ms = now_ms(), .u = -1};
        llmopt_gw_choose(gw, route, &ca, &ch);
        printf("%s: arm '%s' (%s/%s) p=%.3f version %lld%s\n", rid, ch.arm_id, ch.provider,
               ch.model, ch.propensity, (long long)ch.decision_version,
               ch.flags & LLMOPT_GW_CHOICE_FALLBACK ? " [fallback]" : "");

        llmopt_request rq;
        llmopt_request_init(&rq);
        llmopt_gw_request_fill(gw, route, &ch, &rq);
        rq.request_id = llmopt_str_of(rid);
        rq.ts_ms = now_ms();
        rq.task_type = llmopt_str_of("chat");
        rq.input_tokens_est = 20;
        rq.prompt_hash = llmopt_str_of(key);
        if (llmopt_gw_report_request(gw, &rq, err, sizeof(err)) != LLMOPT_OK)
            fprintf(stderr, "report request: %s\n", err);

        bool hit = llmopt_gw_cache_get(gw, route, "chat", key, now_ms(), NULL, NULL);
        if (!hit)
            llmopt_gw_cache_put(gw, route, "chat", key, "Paris", 5, now_ms());

        llmopt_response rs;
        llmopt_response_init(&rs);
        rs.request_id = rq.request_id;
        rs.ts_ms = now_ms();
        rs.route = rq.route;
        rs.arm = rq.arm;
        rs.status = LLMOPT_STATUS_OK;
        rs.latency_ms = hit ? 0.1 : 420.0;
        rs.input_tokens = 20;
        rs.output_tokens = 3;
        rs.cache_hit = hit;
        if (llmopt_gw_report_response(gw, &rs, err, sizeof(err)) != LLMOPT_OK)
            fprintf(stderr, "report response: %s\n", err);
    }
    llmopt_gw_flush(gw, 5000);
    llmopt_gw_stats st;
    llmopt_gw_stats_get(gw, &st);
    printf("decisions applied %llu, reports enqueued %llu delivered %llu dropped %llu\n",
           (unsigned long long)st.decisions_applied, (unsigned long long)st.report_enqueued,
           (unsigned long long)st.report_delivered, (unsigned long long)st.report_dropped);
    llmopt_gw_destroy(gw);
    return 0;
}
