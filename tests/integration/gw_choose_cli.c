/* gw_choose_cli.c - follows a routing topic with libllmopt-gateway and prints,
 * for each uniform draw on the command line, the arm choose() picks, as JSON
 * lines like gateway/examples/python_gateway.py. Used by
 * tests/integration/gateway_python.py to check that both pick the same arm
 * with the same propensity for the same decision and the same draw.
 *
 *   gw_choose_cli BOOTSTRAP TOPIC ROUTE NOW_MS U1,U2,... */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gateway/include/llmopt_gateway.h"

int main(int argc, char **argv) {
    if (argc != 6) {
        fprintf(stderr, "usage: gw_choose_cli BOOTSTRAP TOPIC ROUTE NOW_MS U1,U2,...\n");
        return 2;
    }
    llmopt_gw_config c;
    llmopt_gw_config_init(&c);
    c.bootstrap_servers = argv[1];
    c.routing_topic = argv[2];
    char err[512];
    llmopt_gw *gw = llmopt_gw_new(&c, err, sizeof(err));
    if (!gw) {
        fprintf(stderr, "gw_choose_cli: %s\n", err);
        return 1;
    }
    if (llmopt_gw_wait_ready(gw, 30000) != LLMOPT_OK) {
        fprintf(stderr, "gw_choose_cli: follower not ready\n");
        llmopt_gw_destroy(gw);
        return 1;
    }
    int rc = 0;
    char *draws = strdup(argv[5]), *save = NULL;
    for (char *t = strtok_r(draws, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        llmopt_gw_choose_args a = {.now_ms = strtoll(argv[4], NULL, 10), .u = strtod(t, NULL)};
        llmopt_gw_choice ch;
        if (llmopt_gw_choose(gw, argv[3], &a, &ch) != LLMOPT_OK ||
            (ch.flags & LLMOPT_GW_CHOICE_FALLBACK)) {
            fprintf(stderr, "gw_choose_cli: no decision for route '%s'\n", argv[3]);
            rc = 1;
            break;
        }
        /* %.17g prints the shortest round-trip form Python's repr() compares with */
        printf("{\"u\": \"%s\", \"arm\": \"%s\", \"propensity\": \"%.17g\", \"version\": %lld}\n", t,
               ch.arm_id, ch.propensity, (long long)ch.decision_version);
    }
    free(draws);
    llmopt_gw_destroy(gw);
    return rc;
}
