/* fuzz_sim_scenario.c - libFuzzer harness for tools/simulate_scenario, the
 * parser of `llmopt simulate --scenario FILE` (a file a user writes). Any
 * bytes must parse or fail with a message; an accepted scenario holds the
 * header's invariants (routes and arms in range, changes sorted, batch
 * models consistent), and running its whole change schedule keeps every
 * profile finite. */
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tools/simulate_scenario.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_profile(const llmopt_sim_profile *p) {
    if (!(p->latency_median_ms > 0) || !isfinite(p->latency_median_ms) ||
        !isfinite(p->quality_mean) || !(p->capacity_rps >= 0) || !isfinite(p->capacity_rps) ||
        !(p->batch_per_item_ms >= 0) || !isfinite(p->batch_per_item_ms) ||
        !(p->batch_above_knee_ms >= 0) || !isfinite(p->batch_above_knee_ms) ||
        p->batch_knee < 0 || (p->batch_above_knee_ms > 0 && p->batch_knee == 0) ||
        p->input_tokens_min > p->input_tokens_max || p->output_tokens_min > p->output_tokens_max)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size > 65536)
        return 0;
    char err[512] = "";
    llmopt_sim_scenario *s =
        llmopt_sim_scenario_parse((const char *)data, size, "fuzz", err, sizeof(err));
    if (!s) {
        if (!err[0])
            abort();
        return 0;
    }
    if (s->n_routes < 1 || s->n_routes > LLMOPT_SIM_MAX_ROUTES || s->duration_ms <= 0)
        abort();
    for (size_t i = 1; i < s->n_changes; i++)
        if (s->changes[i].at_ms < s->changes[i - 1].at_ms)
            abort();
    llmopt_sim_state *st = malloc(sizeof(*st));
    if (!st)
        abort();
    llmopt_sim_state_init(st, s);
    for (size_t ri = 0; ri < s->n_routes; ri++) {
        if (s->routes[ri].n_arms < 1 || s->routes[ri].n_arms > LLMOPT_SIM_MAX_ARMS)
            abort();
        for (size_t ai = 0; ai < s->routes[ri].n_arms; ai++)
            check_profile(&st->p[ri][ai]);
    }
    if (llmopt_sim_state_advance(st, s, s->duration_ms, NULL) != s->n_changes)
        abort();
    for (size_t ri = 0; ri < s->n_routes; ri++)
        for (size_t ai = 0; ai < s->routes[ri].n_arms; ai++) {
            const llmopt_sim_profile *p = &st->p[ri][ai];
            /* factors up to 1000 may overflow to inf after many changes: only
             * NaN or a negative value would be a parser bug */
            if (isnan(p->latency_median_ms) || isnan(p->batch_per_item_ms) ||
                p->batch_per_item_ms < 0 || p->batch_above_knee_ms < 0)
                abort();
        }
    free(st);
    llmopt_sim_scenario_destroy(s);
    return 0;
}
