/*
 * simulate_stats.c - traffic shares, reward capture and re-routing times of
 * a simulation (simulate_stats.h).
 */
#include "tools/simulate_stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define PRE_WINDOW_MS 60000
#define POST_WINDOW_MS 5000 /* trailing window of the re-routing test */
#define MIN_WINDOW_REQUESTS 20

typedef struct reg {
    size_t change, route, arm;
    bool target_best;
} reg;

typedef struct route_acc {
    uint64_t n, unknown;
    double reward, expected, oracle, uniform;
    uint64_t arm[LLMOPT_SIM_MAX_ARMS];
    uint32_t *counts;  /* [bucket][n_arms + 1]: the last column is the total */
    uint32_t *outcomes; /* [bucket][LLMOPT_SIM_N_COUNTS] */
    uint64_t outcome_total[LLMOPT_SIM_N_COUNTS];
} route_acc;

struct llmopt_sim_stats {
    const llmopt_sim_scenario *s;
    int64_t bucket_ms;
    size_t n_buckets;
    route_acc r[LLMOPT_SIM_MAX_ROUTES];
    reg regs[LLMOPT_SIM_MAX_CHANGES * 4];
    size_t n_regs;
    llmopt_sim_change_figures figs[LLMOPT_SIM_MAX_CHANGES * 4];
};

llmopt_sim_stats *llmopt_sim_stats_new(const llmopt_sim_scenario *s, int64_t bucket_ms) {
    if (bucket_ms <= 0)
        return NULL;
    llmopt_sim_stats *st = calloc(1, sizeof(*st));
    if (!st)
        return NULL;
    st->s = s;
    st->bucket_ms = bucket_ms;
    st->n_buckets = (size_t)(s->duration_ms / bucket_ms) + 1;
    for (size_t ri = 0; ri < s->n_routes; ri++) {
        st->r[ri].counts = calloc(st->n_buckets * (s->routes[ri].n_arms + 1), sizeof(uint32_t));
        st->r[ri].outcomes = calloc(st->n_buckets * LLMOPT_SIM_N_COUNTS, sizeof(uint32_t));
        if (!st->r[ri].counts || !st->r[ri].outcomes) {
            llmopt_sim_stats_destroy(st);
            return NULL;
        }
    }
    return st;
}

void llmopt_sim_stats_destroy(llmopt_sim_stats *st) {
    if (!st)
        return;
    for (size_t ri = 0; ri < LLMOPT_SIM_MAX_ROUTES; ri++) {
        free(st->r[ri].counts);
        free(st->r[ri].outcomes);
    }
    free(st);
}

static size_t bucket_of(const llmopt_sim_stats *st, int64_t offset_ms) {
    if (offset_ms < 0)
        return 0;
    size_t b = (size_t)(offset_ms / st->bucket_ms);
    return b < st->n_buckets ? b : st->n_buckets - 1;
}

void llmopt_sim_stats_record(llmopt_sim_stats *st, size_t ri, int ai, int64_t offset_ms,
                             double reward, double expected, double oracle, double uniform) {
    route_acc *a = &st->r[ri];
    size_t k = st->s->routes[ri].n_arms;
    a->n++;
    a->reward += reward;
    a->expected += expected;
    a->oracle += oracle;
    a->uniform += uniform;
    uint32_t *row = a->counts + bucket_of(st, offset_ms) * (k + 1);
    row[k]++;
    if (ai >= 0 && (size_t)ai < k) {
        a->arm[ai]++;
        row[ai]++;
    } else {
        a->unknown++;
    }
}

void llmopt_sim_stats_add(llmopt_sim_stats *st, size_t ri, int64_t offset_ms,
                          llmopt_sim_count kind, uint32_t n) {
    if ((unsigned)kind >= LLMOPT_SIM_N_COUNTS)
        return;
    route_acc *a = &st->r[ri];
    a->outcomes[bucket_of(st, offset_ms) * LLMOPT_SIM_N_COUNTS + kind] += n;
    a->outcome_total[kind] += n;
}

void llmopt_sim_stats_count(llmopt_sim_stats *st, size_t ri, int64_t offset_ms,
                            llmopt_sim_count kind) {
    llmopt_sim_stats_add(st, ri, offset_ms, kind, 1);
}

void llmopt_sim_stats_change(llmopt_sim_stats *st, size_t ci, size_t ri, size_t ai,
                             bool target_best) {
    if (st->n_regs < sizeof(st->regs) / sizeof(st->regs[0]))
        st->regs[st->n_regs++] = (reg){ci, ri, ai, target_best};
}

void llmopt_sim_stats_route(const llmopt_sim_stats *st, size_t ri, llmopt_sim_route_figures *f) {
    const route_acc *a = &st->r[ri];
    memset(f, 0, sizeof(*f));
    f->requests = a->n;
    f->unknown_arm = a->unknown;
    memcpy(f->arm_requests, a->arm, sizeof(f->arm_requests));
    memcpy(f->counts, a->outcome_total, sizeof(f->counts));
    if (!a->n)
        return;
    double n = (double)a->n;
    f->reward_mean = a->reward / n;
    f->expected_mean = a->expected / n;
    f->oracle_mean = a->oracle / n;
    f->uniform_mean = a->uniform / n;
    f->capture = f->oracle_mean > 0 ? f->reward_mean / f->oracle_mean : 0;
}

/* Requests of arm ai and in total over buckets [b0, b1). */
static void sum_buckets(const llmopt_sim_stats *st, size_t ri, size_t ai, size_t b0, size_t b1,
                        uint64_t *arm, uint64_t *total) {
    size_t k = st->s->routes[ri].n_arms;
    *arm = *total = 0;
    for (size_t b = b0; b < b1 && b < st->n_buckets; b++) {
        const uint32_t *row = st->r[ri].counts + b * (k + 1);
        *arm += row[ai];
        *total += row[k];
    }
}

double llmopt_sim_stats_share(const llmopt_sim_stats *st, size_t ri, size_t ai, int64_t from_ms,
                              int64_t to_ms, uint64_t *n) {
    if (from_ms < 0)
        from_ms = 0;
    size_t b0 = (size_t)(from_ms / st->bucket_ms);
    size_t b1 = to_ms <= 0 ? 0 : (size_t)((to_ms + st->bucket_ms - 1) / st->bucket_ms);
    uint64_t arm, total;
    sum_buckets(st, ri, ai, b0, b1, &arm, &total);
    if (n)
        *n = total;
    return total ? (double)arm / (double)total : NAN;
}

/* Offset of the next change on route ri after change ci, or the duration. */
static int64_t next_change_ms(const llmopt_sim_stats *st, size_t ci, size_t ri) {
    const llmopt_sim_scenario *s = st->s;
    for (size_t j = ci + 1; j < s->n_changes; j++) {
        const llmopt_sim_change *c = &s->changes[j];
        if (c->at_ms > s->changes[ci].at_ms &&
            (!c->route || !strcmp(c->route, s->routes[ri].name)) &&
            llmopt_sim_arm_index(&s->routes[ri], c->arm) >= 0)
            return c->at_ms;
    }
    return s->duration_ms;
}

static int64_t prev_change_ms(const llmopt_sim_stats *st, size_t ci, size_t ri) {
    const llmopt_sim_scenario *s = st->s;
    int64_t t = 0;
    for (size_t j = 0; j < ci; j++) {
        const llmopt_sim_change *c = &s->changes[j];
        if (c->at_ms < s->changes[ci].at_ms &&
            (!c->route || !strcmp(c->route, s->routes[ri].name)) &&
            llmopt_sim_arm_index(&s->routes[ri], c->arm) >= 0)
            t = c->at_ms;
    }
    return t;
}

const llmopt_sim_change_figures *llmopt_sim_stats_changes(llmopt_sim_stats *st, size_t *n) {
    for (size_t i = 0; i < st->n_regs; i++) {
        const reg *g = &st->regs[i];
        llmopt_sim_change_figures *f = &st->figs[i];
        int64_t T = st->s->changes[g->change].at_ms;
        int64_t prev = prev_change_ms(st, g->change, g->route);
        int64_t next = next_change_ms(st, g->change, g->route);
        int64_t pre0 = T - PRE_WINDOW_MS > prev ? T - PRE_WINDOW_MS : prev;
        f->change = g->change;
        f->route = g->route;
        f->arm = g->arm;
        f->target_best = g->target_best;
        f->share_before = llmopt_sim_stats_share(st, g->route, g->arm, pre0, T, NULL);
        int64_t post0 = next - PRE_WINDOW_MS > T ? next - PRE_WINDOW_MS : T;
        f->share_after = llmopt_sim_stats_share(st, g->route, g->arm, post0, next, NULL);
        f->reroute_ms = -1;
        if (isnan(f->share_before))
            continue;
        double target = g->target_best ? 1.0 : 0.0;
        double half = f->share_before + 0.5 * (target - f->share_before);
        if (fabs(target - f->share_before) < 1e-9)
            continue;
        for (int64_t t = T + st->bucket_ms; t <= next; t += st->bucket_ms) {
            int64_t w0 = t - POST_WINDOW_MS > T ? t - POST_WINDOW_MS : T;
            uint64_t cnt;
            double sh = llmopt_sim_stats_share(st, g->route, g->arm, w0, t, &cnt);
            if (cnt < MIN_WINDOW_REQUESTS)
                continue;
            if (target > f->share_before ? sh >= half : sh <= half) {
                f->reroute_ms = t - T;
                break;
            }
        }
    }
    *n = st->n_regs;
    return st->figs;
}

void llmopt_sim_stats_write_shares(const llmopt_sim_stats *st, int64_t start_ms, FILE *f) {
    const llmopt_sim_scenario *s = st->s;
    for (size_t b = 0; b < st->n_buckets; b++)
        for (size_t ri = 0; ri < s->n_routes; ri++) {
            const llmopt_sim_route *r = &s->routes[ri];
            const uint32_t *row = st->r[ri].counts + b * (r->n_arms + 1);
            if (!row[r->n_arms])
                continue;
            int64_t off = (int64_t)b * st->bucket_ms;
            fprintf(f, "{\"t_s\":%.3f,\"ts_ms\":%lld,\"route\":\"%s\",\"n\":%u,\"arms\":{",
                    (double)off / 1000.0, (long long)(start_ms + off), r->name, row[r->n_arms]);
            for (size_t ai = 0; ai < r->n_arms; ai++)
                fprintf(f, "%s\"%s\":%u", ai ? "," : "", r->arms[ai].id, row[ai]);
            const uint32_t *oc = st->r[ri].outcomes + b * LLMOPT_SIM_N_COUNTS;
            fprintf(f, "},\"responses\":%u,\"cache_hits\":%u,\"limited\":%u,\"denied\":%u",
                    oc[LLMOPT_SIM_RESPONSES], oc[LLMOPT_SIM_CACHE_HITS], oc[LLMOPT_SIM_LIMITED],
                    oc[LLMOPT_SIM_DENIED]);
            /* batching counters only on routes that batch (older readers
             * and golden lines stay as they were) */
            if (st->r[ri].outcome_total[LLMOPT_SIM_BATCHES])
                fprintf(f, ",\"batched\":%u,\"batch_items\":%u,\"batches\":%u",
                        oc[LLMOPT_SIM_BATCHED], oc[LLMOPT_SIM_BATCH_ITEMS],
                        oc[LLMOPT_SIM_BATCHES]);
            fprintf(f, "}\n");
        }
}

static void json_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.6g", v);
    else
        fprintf(f, "null");
}

void llmopt_sim_stats_write_summary(llmopt_sim_stats *st, FILE *f) {
    const llmopt_sim_scenario *s = st->s;
    uint64_t n = 0;
    double rw = 0, ex = 0, orc = 0, un = 0;
    fprintf(f, "{\"scenario\":\"%s\",\"routes\":[", s->name);
    for (size_t ri = 0; ri < s->n_routes; ri++) {
        const llmopt_sim_route *r = &s->routes[ri];
        llmopt_sim_route_figures rf;
        llmopt_sim_stats_route(st, ri, &rf);
        n += rf.requests;
        rw += rf.reward_mean * (double)rf.requests;
        ex += rf.expected_mean * (double)rf.requests;
        orc += rf.oracle_mean * (double)rf.requests;
        un += rf.uniform_mean * (double)rf.requests;
        fprintf(f, "%s{\"route\":\"%s\",\"requests\":%llu,\"reward\":", ri ? "," : "", r->name,
                (unsigned long long)rf.requests);
        json_num(f, rf.reward_mean);
        fprintf(f, ",\"expected\":");
        json_num(f, rf.expected_mean);
        fprintf(f, ",\"oracle\":");
        json_num(f, rf.oracle_mean);
        fprintf(f, ",\"uniform\":");
        json_num(f, rf.uniform_mean);
        fprintf(f, ",\"capture\":");
        json_num(f, rf.capture);
        fprintf(f, ",\"unknown_arm\":%llu,\"responses\":%llu,\"cache_hits\":%llu,"
                   "\"limited\":%llu,\"denied\":%llu,",
                (unsigned long long)rf.unknown_arm,
                (unsigned long long)rf.counts[LLMOPT_SIM_RESPONSES],
                (unsigned long long)rf.counts[LLMOPT_SIM_CACHE_HITS],
                (unsigned long long)rf.counts[LLMOPT_SIM_LIMITED],
                (unsigned long long)rf.counts[LLMOPT_SIM_DENIED]);
        if (rf.counts[LLMOPT_SIM_BATCHES]) {
            fprintf(f, "\"batches\":%llu,\"batched\":%llu,\"batch_size_mean\":",
                    (unsigned long long)rf.counts[LLMOPT_SIM_BATCHES],
                    (unsigned long long)rf.counts[LLMOPT_SIM_BATCHED]);
            json_num(f, rf.counts[LLMOPT_SIM_BATCHED]
                            ? (double)rf.counts[LLMOPT_SIM_BATCH_ITEMS] /
                                  (double)rf.counts[LLMOPT_SIM_BATCHED]
                            : NAN);
            fprintf(f, ",");
        }
        fprintf(f, "\"arms\":{");
        for (size_t ai = 0; ai < r->n_arms; ai++)
            fprintf(f, "%s\"%s\":%llu", ai ? "," : "", r->arms[ai].id,
                    (unsigned long long)rf.arm_requests[ai]);
        fprintf(f, "}}");
    }
    fprintf(f, "],\"total\":{\"requests\":%llu,\"reward\":", (unsigned long long)n);
    double dn = n ? (double)n : 1;
    json_num(f, rw / dn);
    fprintf(f, ",\"expected\":");
    json_num(f, ex / dn);
    fprintf(f, ",\"oracle\":");
    json_num(f, orc / dn);
    fprintf(f, ",\"uniform\":");
    json_num(f, un / dn);
    fprintf(f, ",\"capture\":");
    json_num(f, orc > 0 ? rw / orc : 0);
    fprintf(f, "},\"changes\":[");
    size_t nc;
    const llmopt_sim_change_figures *cf = llmopt_sim_stats_changes(st, &nc);
    for (size_t i = 0; i < nc; i++) {
        const llmopt_sim_change *c = &s->changes[cf[i].change];
        fprintf(f, "%s{\"change\":%zu,\"at_s\":%.3f,\"route\":\"%s\",\"arm\":\"%s\",\"label\":\"",
                i ? "," : "", cf[i].change, (double)c->at_ms / 1000.0, s->routes[cf[i].route].name,
                s->routes[cf[i].route].arms[cf[i].arm].id);
        for (const char *p = c->label; *p; p++)
            fprintf(f, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
        fprintf(f, "\",\"target\":\"%s\",\"share_before\":", cf[i].target_best ? "best" : "away");
        json_num(f, cf[i].share_before);
        fprintf(f, ",\"share_after\":");
        json_num(f, cf[i].share_after);
        fprintf(f, ",\"reroute_s\":");
        json_num(f, cf[i].reroute_ms < 0 ? NAN : (double)cf[i].reroute_ms / 1000.0);
        fprintf(f, "}");
    }
    fprintf(f, "]}\n");
}

static void pct(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%5.1f %%", 100.0 * v);
    else
        fprintf(f, "    - %%");
}

void llmopt_sim_stats_write_text(llmopt_sim_stats *st, FILE *f) {
    const llmopt_sim_scenario *s = st->s;
    for (size_t ri = 0; ri < s->n_routes; ri++) {
        const llmopt_sim_route *r = &s->routes[ri];
        llmopt_sim_route_figures rf;
        llmopt_sim_stats_route(st, ri, &rf);
        fprintf(f, "route %-12s %8llu req  reward %.4f  oracle %.4f (", r->name,
                (unsigned long long)rf.requests, rf.reward_mean, rf.oracle_mean);
        pct(f, rf.capture);
        fprintf(f, ")  uniform %.4f (%+.1f %%)\n", rf.uniform_mean,
                rf.uniform_mean > 0 ? 100.0 * (rf.reward_mean / rf.uniform_mean - 1) : 0.0);
        fprintf(f, "  share");
        for (size_t ai = 0; ai < r->n_arms; ai++) {
            fprintf(f, "  %s ", r->arms[ai].id);
            pct(f, rf.requests ? (double)rf.arm_requests[ai] / (double)rf.requests : NAN);
        }
        if (rf.unknown_arm)
            fprintf(f, "  (fallback %llu)", (unsigned long long)rf.unknown_arm);
        fprintf(f, "\n");
        const uint64_t *oc = rf.counts;
        if (oc[LLMOPT_SIM_CACHE_HITS] || oc[LLMOPT_SIM_LIMITED] || oc[LLMOPT_SIM_DENIED]) {
            double resp = oc[LLMOPT_SIM_RESPONSES] ? (double)oc[LLMOPT_SIM_RESPONSES] : NAN;
            fprintf(f, "  cache hits ");
            pct(f, (double)oc[LLMOPT_SIM_CACHE_HITS] / resp);
            fprintf(f, " of responses  backend rate-limited ");
            pct(f, (double)oc[LLMOPT_SIM_LIMITED] / resp);
            fprintf(f, "  denied by the gateway %llu of %llu requests\n",
                    (unsigned long long)oc[LLMOPT_SIM_DENIED], (unsigned long long)rf.requests);
        }
        if (oc[LLMOPT_SIM_BATCHES])
            fprintf(f, "  batches %llu, %.2f requests per batch, batch size %.2f per response\n",
                    (unsigned long long)oc[LLMOPT_SIM_BATCHES],
                    (double)oc[LLMOPT_SIM_BATCHED] / (double)oc[LLMOPT_SIM_BATCHES],
                    oc[LLMOPT_SIM_BATCHED] ? (double)oc[LLMOPT_SIM_BATCH_ITEMS] /
                                                 (double)oc[LLMOPT_SIM_BATCHED]
                                           : NAN);
        size_t nc;
        const llmopt_sim_change_figures *cf = llmopt_sim_stats_changes(st, &nc);
        for (size_t i = 0; i < nc; i++) {
            if (cf[i].route != ri)
                continue;
            const llmopt_sim_change *c = &s->changes[cf[i].change];
            fprintf(f, "  +%-6.0fs %-10s %-28s share ", (double)c->at_ms / 1000.0,
                    r->arms[cf[i].arm].id, c->label);
            pct(f, cf[i].share_before);
            fprintf(f, " -> ");
            pct(f, cf[i].share_after);
            if (cf[i].reroute_ms >= 0)
                fprintf(f, "  moved in %.0f s\n", (double)cf[i].reroute_ms / 1000.0);
            else
                fprintf(f, "  did not move\n");
        }
    }
}
