/*
 * store.c - the controller's Postgres state (see store.h).
 */
#include "controller/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct llmopt_ctl_store {
    llmopt_pg *pg;
};

llmopt_ctl_store *llmopt_ctl_store_new(const char *dsn, char *errstr, size_t errstr_size) {
    llmopt_ctl_store *s = calloc(1, sizeof(*s));
    if (!s) {
        llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
        return NULL;
    }
    llmopt_pg_retry rt;
    llmopt_pg_retry_default(&rt);
    rt.max_attempts = 5;
    rt.deadline_ms = 10000;
    if (llmopt_pg_new(&s->pg, dsn, &rt, errstr, errstr_size)) {
        free(s);
        return NULL;
    }
    return s;
}

void llmopt_ctl_store_destroy(llmopt_ctl_store *s) {
    if (!s)
        return;
    llmopt_pg_destroy(s->pg);
    free(s);
}

llmopt_pg *llmopt_ctl_store_pg(llmopt_ctl_store *s) {
    return s->pg;
}

llmopt_err_t llmopt_ctl_store_take_epoch(llmopt_ctl_store *s, const char *instance,
                                         int64_t *epoch, char *errstr, size_t errstr_size) {
    PGresult *res = NULL;
    const char *params[] = {instance};
    llmopt_err_t e = llmopt_pg_query(
        s->pg,
        "INSERT INTO llmopt.controller_leader AS l (id, epoch, instance) VALUES (true, 1, $1) "
        "ON CONFLICT (id) DO UPDATE SET epoch = l.epoch + 1, instance = EXCLUDED.instance, "
        "since = now(), heartbeat = now() RETURNING epoch",
        1, params, &res, errstr, errstr_size);
    if (e)
        return e;
    *epoch = PQntuples(res) == 1 ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return *epoch > 0 ? LLMOPT_OK
                      : llmopt_errf(LLMOPT_ERR_IO, errstr, errstr_size, "no epoch returned");
}

static int hexval(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

llmopt_err_t llmopt_ctl_store_load_route(llmopt_ctl_store *s, const char *route,
                                         int64_t *version, uint8_t **blob, size_t *len,
                                         char *errstr, size_t errstr_size) {
    PGresult *res = NULL;
    const char *params[] = {route};
    *version = 0;
    *blob = NULL;
    *len = 0;
    llmopt_err_t e = llmopt_pg_query(
        s->pg,
        "SELECT GREATEST(COALESCE(r.version, 0), COALESCE((SELECT max(version) FROM "
        "llmopt.controller_decisions d WHERE d.route = $1), 0)), r.state "
        "FROM (SELECT 1) one LEFT JOIN llmopt.controller_routes r ON r.route = $1",
        1, params, &res, errstr, errstr_size);
    if (e)
        return e;
    if (PQntuples(res) == 1) {
        *version = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        if (!PQgetisnull(res, 0, 1)) {
            /* bytea in text form: "\x" then hex */
            const char *h = PQgetvalue(res, 0, 1);
            size_t hl = (size_t)PQgetlength(res, 0, 1);
            if (hl < 2 || h[0] != '\\' || h[1] != 'x' || hl % 2) {
                PQclear(res);
                return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                   "route '%s': state is not hex bytea", route);
            }
            size_t n = (hl - 2) / 2;
            uint8_t *b = malloc(n ? n : 1);
            if (!b) {
                PQclear(res);
                return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
            }
            for (size_t i = 0; i < n; i++) {
                int hi = hexval(h[2 + 2 * i]), lo = hexval(h[3 + 2 * i]);
                if (hi < 0 || lo < 0) {
                    free(b);
                    PQclear(res);
                    return llmopt_errf(LLMOPT_ERR_INVALID, errstr, errstr_size,
                                       "route '%s': bad hex in state", route);
                }
                b[i] = (uint8_t)(hi << 4 | lo);
            }
            *blob = b;
            *len = n;
        }
    }
    PQclear(res);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_ctl_store_load_offsets(llmopt_ctl_store *s,
                                           void (*fn)(void *ctx, const char *topic,
                                                      int32_t partition, int64_t next),
                                           void *ctx, char *errstr, size_t errstr_size) {
    PGresult *res = NULL;
    llmopt_err_t e = llmopt_pg_query(
        s->pg, "SELECT topic, partition, next_offset FROM llmopt.controller_offsets", 0, NULL,
        &res, errstr, errstr_size);
    if (e)
        return e;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, PQgetvalue(res, i, 0), (int32_t)atoi(PQgetvalue(res, i, 1)),
           strtoll(PQgetvalue(res, i, 2), NULL, 10));
    PQclear(res);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_ctl_store_load_overrides(llmopt_ctl_store *s, const char *route,
                                             void (*fn)(void *ctx, const char *arm, bool pinned,
                                                        bool disabled),
                                             void *ctx, char *errstr, size_t errstr_size) {
    PGresult *res = NULL;
    const char *params[] = {route};
    llmopt_err_t e = llmopt_pg_query(
        s->pg,
        "SELECT arm, pinned, disabled FROM llmopt.controller_arm_overrides WHERE route = $1",
        1, params, &res, errstr, errstr_size);
    if (e)
        return e;
    for (int i = 0; i < PQntuples(res); i++)
        fn(ctx, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1)[0] == 't',
           PQgetvalue(res, i, 2)[0] == 't');
    PQclear(res);
    return LLMOPT_OK;
}

llmopt_err_t llmopt_ctl_store_begin(llmopt_ctl_store *s, int64_t epoch, char *errstr,
                                    size_t errstr_size) {
    llmopt_err_t e = llmopt_pg_begin(s->pg, errstr, errstr_size);
    if (e)
        return e;
    char ep[32];
    snprintf(ep, sizeof(ep), "%lld", (long long)epoch);
    const char *params[] = {ep};
    PGresult *res = NULL;
    /* FOR UPDATE-free fencing: the row only matches while our epoch stands */
    e = llmopt_pg_query(s->pg,
                        "UPDATE llmopt.controller_leader SET heartbeat = now() WHERE id AND "
                        "epoch = $1",
                        1, params, &res, errstr, errstr_size);
    if (e) {
        llmopt_pg_rollback(s->pg, NULL, 0);
        return e;
    }
    const char *n = PQcmdTuples(res);
    bool ok = n && !strcmp(n, "1");
    PQclear(res);
    if (!ok) {
        llmopt_pg_rollback(s->pg, NULL, 0);
        return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                           "fenced: leader epoch %lld is no longer current", (long long)epoch);
    }
    return LLMOPT_OK;
}

char *llmopt_ctl_pg_bytea_hex(const uint8_t *data, size_t len) {
    static const char hx[] = "0123456789abcdef";
    char *out = malloc(2 * len + 3);
    if (!out)
        return NULL;
    out[0] = '\\';
    out[1] = 'x';
    for (size_t i = 0; i < len; i++) {
        out[2 + 2 * i] = hx[data[i] >> 4];
        out[3 + 2 * i] = hx[data[i] & 15];
    }
    out[2 + 2 * len] = '\0';
    return out;
}

char *llmopt_ctl_pg_array(const char *const *items, size_t n) {
    size_t cap = 3;
    for (size_t i = 0; i < n; i++)
        cap += 2 * strlen(items[i]) + 3;
    char *out = malloc(cap);
    if (!out)
        return NULL;
    size_t at = 0;
    out[at++] = '{';
    for (size_t i = 0; i < n; i++) {
        if (i)
            out[at++] = ',';
        out[at++] = '"';
        for (const char *p = items[i]; *p; p++) {
            if (*p == '"' || *p == '\\')
                out[at++] = '\\';
            out[at++] = *p;
        }
        out[at++] = '"';
    }
    out[at++] = '}';
    out[at] = '\0';
    return out;
}

llmopt_err_t llmopt_ctl_store_put_state(llmopt_ctl_store *s, const char *route,
                                        const uint8_t *blob, size_t len, char *errstr,
                                        size_t errstr_size) {
    char *hex = llmopt_ctl_pg_bytea_hex(blob, len);
    if (!hex)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    const char *params[] = {route, hex};
    llmopt_err_t e = llmopt_pg_exec(
        s->pg,
        "INSERT INTO llmopt.controller_routes (route, version, state) VALUES ($1, 0, $2) "
        "ON CONFLICT (route) DO UPDATE SET state = EXCLUDED.state, updated_at = now()",
        2, params, errstr, errstr_size);
    free(hex);
    return e;
}

llmopt_err_t llmopt_ctl_store_put_arm(llmopt_ctl_store *s, const char *route, const char *arm,
                                      double n, double mean, uint64_t pulls,
                                      const char *breaker, double weight, char *errstr,
                                      size_t errstr_size) {
    char ns[40], ms[40], ps[32], ws[40];
    snprintf(ns, sizeof(ns), "%.17g", n);
    snprintf(ms, sizeof(ms), "%.17g", mean);
    snprintf(ps, sizeof(ps), "%llu", (unsigned long long)pulls);
    snprintf(ws, sizeof(ws), "%.17g", weight);
    const char *params[] = {route, arm, ns, ms, ps, breaker, ws};
    return llmopt_pg_exec(
        s->pg,
        "INSERT INTO llmopt.controller_arm_state (route, arm, n, mean, pulls, breaker, weight) "
        "VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (route, arm) DO UPDATE SET "
        "n = EXCLUDED.n, mean = EXCLUDED.mean, pulls = EXCLUDED.pulls, breaker = "
        "EXCLUDED.breaker, weight = EXCLUDED.weight, updated_at = now()",
        7, params, errstr, errstr_size);
}

llmopt_err_t llmopt_ctl_store_put_decision(llmopt_ctl_store *s, const char *route,
                                           int64_t version, int64_t ts_ms, int64_t epoch,
                                           const char *reason, const char *const *signal_ids,
                                           size_t n_signals, const char *experiment_id,
                                           const char *payload_json, const char *weights_json,
                                           char *errstr, size_t errstr_size) {
    char vs[32], prev[32], ts[32], ep[32];
    snprintf(vs, sizeof(vs), "%lld", (long long)version);
    snprintf(prev, sizeof(prev), "%lld", (long long)(version - 1));
    snprintf(ts, sizeof(ts), "%.3f", (double)ts_ms / 1000.0);
    snprintf(ep, sizeof(ep), "%lld", (long long)epoch);
    const char *vp[] = {route, vs, prev, weights_json};
    PGresult *res = NULL;
    /* the version only moves from previous to previous + 1 */
    llmopt_err_t e = llmopt_pg_query(
        s->pg,
        "INSERT INTO llmopt.controller_routes AS r (route, version, weights) "
        "SELECT $1, $2, $4::jsonb WHERE $3::bigint = 0 "
        "ON CONFLICT (route) DO UPDATE SET version = EXCLUDED.version, weights = "
        "EXCLUDED.weights, updated_at = now() WHERE r.version = $3::bigint "
        "RETURNING version",
        4, vp, &res, errstr, errstr_size);
    if (e)
        return e;
    int rows = PQntuples(res);
    PQclear(res);
    if (rows != 1) {
        /* first version of a route whose row exists with version 0 (state saved first) */
        e = llmopt_pg_query(s->pg,
                            "UPDATE llmopt.controller_routes SET version = $2, weights = "
                            "$4::jsonb, updated_at = now() WHERE route = $1 AND version = "
                            "$3::bigint RETURNING version",
                            4, vp, &res, errstr, errstr_size);
        if (e)
            return e;
        rows = PQntuples(res);
        PQclear(res);
        if (rows != 1)
            return llmopt_errf(LLMOPT_ERR_STATE, errstr, errstr_size,
                               "route '%s': version %lld does not follow the stored one",
                               route, (long long)version);
    }
    char *arr = llmopt_ctl_pg_array(signal_ids, n_signals);
    if (!arr)
        return llmopt_errf(LLMOPT_ERR_NOMEM, errstr, errstr_size, "out of memory");
    const char *dp[] = {route, vs, ts, ep, reason, arr, experiment_id, payload_json};
    e = llmopt_pg_exec(s->pg,
                       "INSERT INTO llmopt.controller_decisions (route, version, ts, epoch, "
                       "reason, signal_ids, experiment_id, payload) VALUES ($1, $2, "
                       "to_timestamp($3::double precision), $4, $5, $6::text[], $7, $8::jsonb)",
                       8, dp, errstr, errstr_size);
    free(arr);
    return e;
}

llmopt_err_t llmopt_ctl_store_put_offset(llmopt_ctl_store *s, const char *topic,
                                         int32_t partition, int64_t next, char *errstr,
                                         size_t errstr_size) {
    char ps[16], ns[32];
    snprintf(ps, sizeof(ps), "%d", partition);
    snprintf(ns, sizeof(ns), "%lld", (long long)next);
    const char *params[] = {topic, ps, ns};
    return llmopt_pg_exec(s->pg,
                          "INSERT INTO llmopt.controller_offsets (topic, partition, "
                          "next_offset) VALUES ($1, $2, $3) ON CONFLICT (topic, partition) DO "
                          "UPDATE SET next_offset = EXCLUDED.next_offset, updated_at = now()",
                          3, params, errstr, errstr_size);
}

llmopt_err_t llmopt_ctl_store_commit(llmopt_ctl_store *s, char *errstr, size_t errstr_size) {
    llmopt_err_t e = llmopt_pg_commit(s->pg, errstr, errstr_size);
    if (e)
        llmopt_pg_rollback(s->pg, NULL, 0);
    return e;
}

void llmopt_ctl_store_rollback(llmopt_ctl_store *s) {
    llmopt_pg_rollback(s->pg, NULL, 0);
}
