/*
 * outcome_pack.c - compact outcome form for join state (outcome_pack.h).
 */
#include "processor/outcome_pack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_STR (1u << 20)
#define MAX_CONTEXT 4096

static void put_str(llmopt_wbuf *w, llmopt_str s) {
    if (!s.ptr) {
        llmopt_wbuf_u32(w, UINT32_MAX);
        return;
    }
    llmopt_wbuf_u32(w, (uint32_t)s.len);
    llmopt_wbuf_bytes(w, s.ptr, s.len);
}

static void get_str(llmopt_rbuf *r, llmopt_arena *a, llmopt_str *s) {
    uint32_t n = llmopt_rbuf_u32(r);
    if (r->err)
        return;
    if (n == UINT32_MAX) {
        s->ptr = NULL;
        s->len = 0;
        return;
    }
    if (n > MAX_STR || n > r->left) {
        r->err = n > r->left ? LLMOPT_ERR_TRUNCATED : LLMOPT_ERR_INVALID;
        return;
    }
    /* inline bump of the arena's current block (the common case), the
     * same allocation llmopt_arena_strdup makes; it handles new blocks */
    size_t need = ((size_t)n + 8) & ~(size_t)7;
    char *copy;
    if (a->ptr && (size_t)(a->end - a->ptr) >= need) {
        copy = a->ptr;
        a->ptr += need;
        a->used += need;
        memcpy(copy, r->p, n);
        copy[n] = '\0';
    } else if (!(copy = llmopt_arena_strdup(a, (const char *)r->p, n))) {
        r->err = LLMOPT_ERR_NOMEM;
        return;
    }
    s->ptr = copy;
    s->len = n;
    r->p += n;
    r->left -= n;
}

static void put_opt_f64(llmopt_wbuf *w, bool has, double v) {
    llmopt_wbuf_u8(w, has);
    if (has)
        llmopt_wbuf_f64(w, v);
}

static bool get_opt_f64(llmopt_rbuf *r, double *v) {
    uint8_t has = llmopt_rbuf_u8(r);
    if (has > 1 && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    *v = has == 1 ? llmopt_rbuf_f64(r) : 0;
    return has == 1 && !r->err;
}

void llmopt_outcome_pack(const llmopt_outcome *o, llmopt_wbuf *w) {
    llmopt_wbuf_u8(w, 1); /* layout version */
    put_str(w, o->outcome_id);
    put_str(w, o->request_id);
    put_str(w, o->route);
    put_str(w, o->arm);
    put_str(w, o->provider);
    put_str(w, o->model);
    put_str(w, o->tenant);
    put_str(w, o->user);
    put_str(w, o->task_type);
    llmopt_wbuf_i64(w, o->ts_ms);
    llmopt_wbuf_u8(w, o->has_response_ts_ms);
    llmopt_wbuf_i64(w, o->response_ts_ms);
    llmopt_wbuf_u8(w, (uint8_t)o->status);
    put_opt_f64(w, o->has_latency_ms, o->latency_ms);
    put_opt_f64(w, o->has_ttft_ms, o->ttft_ms);
    llmopt_wbuf_i64(w, o->input_tokens);
    llmopt_wbuf_i64(w, o->output_tokens);
    llmopt_wbuf_f64(w, o->cost_usd);
    put_opt_f64(w, o->has_quality, o->quality);
    llmopt_wbuf_u8(w, o->cache_hit);
    llmopt_wbuf_u32(w, (uint32_t)o->context.count);
    for (size_t i = 0; i < o->context.count; i++) {
        put_str(w, o->context.items[i].key);
        llmopt_wbuf_f64(w, o->context.items[i].value);
    }
    llmopt_wbuf_f64(w, o->propensity);
    llmopt_wbuf_i64(w, o->decision_version);
    put_str(w, o->experiment_id);
    put_str(w, o->variant);
    llmopt_wbuf_f64(w, o->reward_quality);
    llmopt_wbuf_f64(w, o->reward_cost);
    llmopt_wbuf_f64(w, o->reward_latency);
    llmopt_wbuf_f64(w, o->reward);
    put_opt_f64(w, o->has_rating, o->rating);
    llmopt_wbuf_u8(w, o->has_thumbs);
    llmopt_wbuf_i64(w, o->thumbs);
    llmopt_wbuf_u8(w, o->has_task_completed);
    llmopt_wbuf_u8(w, o->task_completed);
    llmopt_wbuf_u8(w, o->has_feedback_ts_ms);
    llmopt_wbuf_i64(w, o->feedback_ts_ms);
    llmopt_wbuf_u8(w, o->is_update);
}

static bool get_bool(llmopt_rbuf *r) {
    uint8_t v = llmopt_rbuf_u8(r);
    if (v > 1 && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    return v == 1;
}

void llmopt_outcome_unpack(llmopt_rbuf *r, llmopt_outcome *o) {
    llmopt_record_clear(LLMOPT_REC_OUTCOME, o);
    llmopt_arena *a = llmopt_record_arena(o);
    if (llmopt_rbuf_u8(r) != 1) {
        if (!r->err)
            r->err = LLMOPT_ERR_INVALID;
        return;
    }
    get_str(r, a, &o->outcome_id);
    get_str(r, a, &o->request_id);
    get_str(r, a, &o->route);
    get_str(r, a, &o->arm);
    get_str(r, a, &o->provider);
    get_str(r, a, &o->model);
    get_str(r, a, &o->tenant);
    get_str(r, a, &o->user);
    get_str(r, a, &o->task_type);
    o->ts_ms = llmopt_rbuf_i64(r);
    o->has_response_ts_ms = get_bool(r);
    o->response_ts_ms = llmopt_rbuf_i64(r);
    uint8_t st = llmopt_rbuf_u8(r);
    if (st > LLMOPT_STATUS_MISSING && !r->err)
        r->err = LLMOPT_ERR_INVALID;
    o->status = (llmopt_status)st;
    o->has_latency_ms = get_opt_f64(r, &o->latency_ms);
    o->has_ttft_ms = get_opt_f64(r, &o->ttft_ms);
    o->input_tokens = llmopt_rbuf_i64(r);
    o->output_tokens = llmopt_rbuf_i64(r);
    o->cost_usd = llmopt_rbuf_f64(r);
    o->has_quality = get_opt_f64(r, &o->quality);
    o->cache_hit = get_bool(r);
    uint32_t n = llmopt_rbuf_count(r, MAX_CONTEXT, 12);
    if (n && !r->err) {
        o->context.items = llmopt_arena_alloc(a, n * sizeof(*o->context.items));
        if (!o->context.items) {
            r->err = LLMOPT_ERR_NOMEM;
            return;
        }
        for (uint32_t i = 0; i < n && !r->err; i++) {
            get_str(r, a, &o->context.items[i].key);
            o->context.items[i].value = llmopt_rbuf_f64(r);
            if (!o->context.items[i].key.ptr && !r->err)
                r->err = LLMOPT_ERR_INVALID;
        }
        o->context.count = n;
    }
    o->propensity = llmopt_rbuf_f64(r);
    o->decision_version = llmopt_rbuf_i64(r);
    get_str(r, a, &o->experiment_id);
    get_str(r, a, &o->variant);
    o->reward_quality = llmopt_rbuf_f64(r);
    o->reward_cost = llmopt_rbuf_f64(r);
    o->reward_latency = llmopt_rbuf_f64(r);
    o->reward = llmopt_rbuf_f64(r);
    o->has_rating = get_opt_f64(r, &o->rating);
    o->has_thumbs = get_bool(r);
    o->thumbs = (int32_t)llmopt_rbuf_i64(r);
    o->has_task_completed = get_bool(r);
    o->task_completed = get_bool(r);
    o->has_feedback_ts_ms = get_bool(r);
    o->feedback_ts_ms = llmopt_rbuf_i64(r);
    o->is_update = get_bool(r);
    if (!r->err && (!o->outcome_id.ptr || !o->request_id.ptr || !o->route.ptr || !o->arm.ptr))
        r->err = LLMOPT_ERR_INVALID;
}

/* ---- join-state records ---- */

static size_t str_need(llmopt_str s) {
    return s.ptr ? s.len + 1 : 0;
}

/* Copies s to *at (NUL-terminated) and points *dst there; NULL stays NULL. */
static void str_place(char **at, llmopt_str *dst, llmopt_str s) {
    if (!s.ptr) {
        dst->ptr = NULL;
        dst->len = 0;
        return;
    }
    char *d = *at;
    if (s.len)
        memcpy(d, s.ptr, s.len);
    d[s.len] = '\0';
    dst->ptr = d;
    dst->len = s.len;
    *at += s.len + 1;
}

#define JREC_NSTR 11
#define JREC_STRS(o)                                                                      \
    { &(o)->outcome_id, &(o)->request_id, &(o)->route, &(o)->arm, &(o)->provider,      \
      &(o)->model, &(o)->tenant, &(o)->user, &(o)->task_type, &(o)->experiment_id,     \
      &(o)->variant }

llmopt_jrec *llmopt_jrec_of_outcome(const llmopt_outcome *o, uint32_t updates) {
    const llmopt_str *src[JREC_NSTR] = JREC_STRS(o);
    size_t nctx = o->context.count;
    size_t need = sizeof(llmopt_jrec) + nctx * sizeof(llmopt_kv_double);
    for (int i = 0; i < JREC_NSTR; i++)
        need += str_need(*src[i]);
    for (size_t i = 0; i < nctx; i++)
        need += str_need(o->context.items[i].key);
    if (need > UINT32_MAX)
        return NULL;
    llmopt_jrec *j = malloc(need);
    if (!j)
        return NULL;
    j->updates = updates;
    j->bytes = (uint32_t)need;
    j->o = *o;
    memset(&j->o.arena, 0, sizeof(j->o.arena));
    llmopt_kv_double *items = (llmopt_kv_double *)(j + 1);
    char *at = (char *)(items + nctx);
    llmopt_str *dst[JREC_NSTR] = JREC_STRS(&j->o);
    for (int i = 0; i < JREC_NSTR; i++)
        str_place(&at, dst[i], *src[i]);
    j->o.context.items = nctx ? items : NULL;
    for (size_t i = 0; i < nctx; i++) {
        str_place(&at, &items[i].key, o->context.items[i].key);
        items[i].value = o->context.items[i].value;
    }
    return j;
}

static llmopt_str req_str(llmopt_str s) {
    return s.ptr ? s : (llmopt_str){"", 0};
}

/* Built in place (no outcome assembled first and copied). */
llmopt_jrec *llmopt_jrec_of_request(const llmopt_request *r) {
    llmopt_str req[7] = {req_str(r->request_id), req_str(r->route), req_str(r->arm),
                         req_str(r->provider), req_str(r->model), req_str(r->task_type),
                         {NULL, 0}};
    size_t nctx = r->has_context ? r->context.count : 0;
    size_t need = sizeof(llmopt_jrec) + nctx * sizeof(llmopt_kv_double);
    for (int i = 0; i < 6; i++)
        need += req[i].len + 1;
    need += req[0].len + 1; /* outcome_id */
    need += str_need(r->tenant) + str_need(r->user) + str_need(r->experiment_id) +
            str_need(r->variant);
    for (size_t i = 0; i < nctx; i++)
        need += req_str(r->context.items[i].key).len + 1;
    if (need > UINT32_MAX)
        return NULL;
    llmopt_jrec *j = malloc(need);
    if (!j)
        return NULL;
    j->updates = 0;
    j->bytes = (uint32_t)need;
    llmopt_outcome *o = &j->o;
    memset(o, 0, sizeof(*o));
    llmopt_kv_double *items = (llmopt_kv_double *)(j + 1);
    char *at = (char *)(items + nctx);
    str_place(&at, &o->outcome_id, req[0]);
    str_place(&at, &o->request_id, req[0]);
    str_place(&at, &o->route, req[1]);
    str_place(&at, &o->arm, req[2]);
    str_place(&at, &o->provider, req[3]);
    str_place(&at, &o->model, req[4]);
    str_place(&at, &o->tenant, r->tenant);
    str_place(&at, &o->user, r->user);
    str_place(&at, &o->task_type, req[5]);
    str_place(&at, &o->experiment_id, r->experiment_id);
    str_place(&at, &o->variant, r->variant);
    o->ts_ms = r->ts_ms;
    o->propensity = r->propensity;
    o->decision_version = r->decision_version;
    if (nctx) {
        o->context.items = items;
        o->context.count = nctx;
        for (size_t i = 0; i < nctx; i++) {
            str_place(&at, &items[i].key, req_str(r->context.items[i].key));
            items[i].value = r->context.items[i].value;
        }
    }
    return j;
}

void llmopt_jrec_write(const llmopt_jrec *j, llmopt_wbuf *w) {
    llmopt_wbuf_u32(w, j->updates);
    llmopt_outcome_pack(&j->o, w);
}

llmopt_jrec *llmopt_jrec_read(llmopt_rbuf *r, llmopt_outcome *tmp) {
    uint32_t updates = llmopt_rbuf_u32(r);
    if (r->err)
        return NULL;
    llmopt_outcome_unpack(r, tmp);
    if (r->err)
        return NULL;
    llmopt_jrec *j = llmopt_jrec_of_outcome(tmp, updates);
    if (!j)
        r->err = LLMOPT_ERR_NOMEM;
    return j;
}
