/*
 * bench_controller.c - decisions computed per second by the controller's
 * route logic (controller/route.c: Pareto filter, Thompson sampling with the
 * route's draws, allocation with floors, change test) for R routes x 5 arms,
 * after feeding each route rewards and a metrics window so the posteriors
 * and figures are not trivial. No Kafka or Postgres: the CPU cost of a
 * decision round.
 *
 *   bench_controller [routes=1000] [rounds=5] [draws=1000]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "controller/policy.h"
#include "controller/route.h"

static double secs(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    int n_routes = argc > 1 ? atoi(argv[1]) : 1000;
    int rounds = argc > 2 ? atoi(argv[2]) : 5;
    int draws = argc > 3 ? atoi(argv[3]) : 1000;
    size_t cap = (size_t)n_routes * 400 + 256;
    char *js = malloc(cap);
    size_t at = (size_t)snprintf(js, cap, "{\"routes\":[");
    for (int r = 0; r < n_routes; r++)
        at += (size_t)snprintf(js + at, cap - at,
                               "%s{\"route\":\"r%d\",\"update\":{\"thompson_draws\":%d},"
                               "\"arms\":[{\"id\":\"a\",\"provider\":\"p\",\"model\":\"m\"},"
                               "{\"id\":\"b\",\"provider\":\"p\",\"model\":\"m\"},"
                               "{\"id\":\"c\",\"provider\":\"p\",\"model\":\"m\"},"
                               "{\"id\":\"d\",\"provider\":\"p\",\"model\":\"m\"},"
                               "{\"id\":\"e\",\"provider\":\"p\",\"model\":\"m\"}]}",
                               r ? "," : "", r, draws);
    snprintf(js + at, cap - at, "]}");
    char err[512];
    llmopt_policy *pol = llmopt_policy_parse(js, strlen(js), NULL, 0, err, sizeof(err));
    if (!pol) {
        fprintf(stderr, "policy: %s\n", err);
        return 1;
    }
    llmopt_route **rs = calloc((size_t)n_routes, sizeof(*rs));
    static const char *arms[] = {"a", "b", "c", "d", "e"};
    llmopt_outcome o;
    memset(&o, 0, sizeof(o));
    for (int r = 0; r < n_routes; r++) {
        rs[r] = llmopt_route_new(&pol->routes[r], (uint64_t)r + 1, 1000, err, sizeof(err));
        if (!rs[r]) {
            fprintf(stderr, "route: %s\n", err);
            return 1;
        }
        for (int k = 0; k < 200; k++) {
            o.arm = llmopt_str_of(arms[k % 5]);
            o.reward = (k % 5) * 0.1 + ((k * 7919) % 100) / 400.0;
            llmopt_route_outcome(rs[r], &o, err, sizeof(err));
        }
    }
    llmopt_route_decision d;
    double t0 = secs();
    long published = 0;
    for (int round = 0; round < rounds; round++)
        for (int r = 0; r < n_routes; r++) {
            int rc = llmopt_route_decide(rs[r], 2000 + round, &d);
            if (rc == 1) {
                llmopt_route_commit(rs[r], &d, llmopt_route_version(rs[r]) + 1, 2000 + round);
                published++;
            }
        }
    double dt = secs() - t0;
    long n = (long)n_routes * rounds;
    printf("routes %d x 5 arms, %d rounds, thompson draws %d: %ld decisions in %.3f s = %.0f "
           "decisions/s (%.1f us each), %ld new versions\n",
           n_routes, rounds, draws, n, dt, (double)n / dt, 1e6 * dt / (double)n, published);
    for (int r = 0; r < n_routes; r++)
        llmopt_route_destroy(rs[r]);
    free(rs);
    llmopt_policy_destroy(pol);
    free(js);
    return 0;
}
