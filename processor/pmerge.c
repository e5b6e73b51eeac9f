/*
 * pmerge.c - merge order, merge key, decoding and dead-letter headers of one
 * input partition (see pmerge.h).
 */
#include "processor/pmerge.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_codec.h"
#include "common/records.h"
#include "processor/core/window.h"

static const llmopt_record_type in_types[LLMOPT_PROC_IN_COUNT] = {
    LLMOPT_REC_REQUEST, LLMOPT_REC_RESPONSE, LLMOPT_REC_FEEDBACK};

bool llmopt_pmerge_queue_push(llmopt_pmerge_queue *q, rd_kafka_message_t *m) {
    if (q->len == q->cap) {
        size_t ncap = q->cap ? q->cap * 2 : 256;
        rd_kafka_message_t **n = malloc(ncap * sizeof(*n));
        if (!n)
            return false;
        for (size_t i = 0; i < q->len; i++)
            n[i] = q->items[(q->head + i) % q->cap];
        free(q->items);
        q->items = n;
        q->cap = ncap;
        q->head = 0;
    }
    q->items[(q->head + q->len) % q->cap] = m;
    q->len++;
    return true;
}

rd_kafka_message_t *llmopt_pmerge_queue_peek(const llmopt_pmerge_queue *q) {
    return q->len ? q->items[q->head] : NULL;
}

void llmopt_pmerge_queue_pop(llmopt_pmerge_queue *q) {
    rd_kafka_message_destroy(q->items[q->head]);
    q->head = (q->head + 1) % q->cap;
    q->len--;
}

void llmopt_pmerge_queue_release(llmopt_pmerge_queue *q) {
    while (q->len)
        llmopt_pmerge_queue_pop(q);
    free(q->items);
    memset(q, 0, sizeof(*q));
}

void llmopt_pmerge_recs_init(llmopt_pmerge_recs *r) {
    llmopt_request_init(&r->req);
    llmopt_response_init(&r->resp);
    llmopt_feedback_init(&r->fb);
}

void llmopt_pmerge_recs_release(llmopt_pmerge_recs *r) {
    llmopt_request_release(&r->req);
    llmopt_response_release(&r->resp);
    llmopt_feedback_release(&r->fb);
}

void *llmopt_pmerge_rec(llmopt_pmerge_recs *r, int t) {
    return t == LLMOPT_PROC_IN_REQUESTS    ? (void *)&r->req
           : t == LLMOPT_PROC_IN_RESPONSES ? (void *)&r->resp
                                           : (void *)&r->fb;
}

llmopt_err_t llmopt_pmerge_feed(llmopt_engine *e, llmopt_pmerge_recs *r, int t,
                                const llmopt_engine_src *src) {
    if (t == LLMOPT_PROC_IN_REQUESTS)
        return llmopt_engine_on_request(e, &r->req, src);
    if (t == LLMOPT_PROC_IN_RESPONSES)
        return llmopt_engine_on_response(e, &r->resp, src);
    return llmopt_engine_on_feedback(e, &r->fb, src);
}

llmopt_pmerge_step llmopt_pmerge_next(const llmopt_pmerge_topic t[LLMOPT_PROC_IN_COUNT]) {
    llmopt_pmerge_step s = {LLMOPT_PMERGE_DONE, -1};
    int best = -1;
    for (int i = 0; i < LLMOPT_PROC_IN_COUNT; i++) {
        switch (t[i].head) {
        case LLMOPT_PMERGE_EMPTY:
            return (llmopt_pmerge_step){LLMOPT_PMERGE_WAIT, i};
        case LLMOPT_PMERGE_ENDED:
            break;
        case LLMOPT_PMERGE_QUEUED:
            return (llmopt_pmerge_step){LLMOPT_PMERGE_DECODE, i};
        case LLMOPT_PMERGE_BAD:
            return (llmopt_pmerge_step){LLMOPT_PMERGE_DEAD, i};
        case LLMOPT_PMERGE_OK:
            if (best < 0 || t[i].key < t[best].key)
                best = i;
            break;
        }
    }
    if (best >= 0) {
        s.action = LLMOPT_PMERGE_FEED;
        s.topic = best;
    }
    return s;
}

int64_t llmopt_pmerge_key(const llmopt_engine *e, int64_t max_future_ms, int64_t *emax,
                          int64_t ts) {
    if (ts <= 0 || ts >= LLMOPT_WINDOW_TS_MAX)
        return INT64_MIN;
    if (*emax != INT64_MIN && ts <= *emax + max_future_ms)
        return ts;
    *emax = llmopt_engine_max_event_ms(e);
    if (*emax != INT64_MIN && ts > *emax + max_future_ms)
        return INT64_MIN;
    return ts;
}

llmopt_pmerge_decoded llmopt_pmerge_decode(int t, int format, llmopt_avro_codec *avro,
                                           const rd_kafka_message_t *m, void *rec,
                                           int64_t *ts_ms, char *errstr, size_t errstr_size) {
    char err[256];
    err[0] = '\0';
    llmopt_err_t e;
    const char *why;
    if (!m->payload) {
        snprintf(errstr, errstr_size, "empty: the message has no value");
        return LLMOPT_PMERGE_UNDECODABLE;
    }
    if (format == LLMOPT_PROC_JSON) {
        llmopt_json_error je;
        memset(&je, 0, sizeof(je));
        e = llmopt_json_decode(in_types[t], m->payload, m->len, rec, &je, err, sizeof(err));
        why = llmopt_json_reason_name(je.reason);
    } else {
        llmopt_avro_reason ar = LLMOPT_AVRO_OK;
        e = llmopt_avro_decode(avro, m->payload, m->len, in_types[t], rec, &ar, err, sizeof(err));
        if (ar == LLMOPT_AVRO_REGISTRY_UNAVAILABLE) {
            snprintf(errstr, errstr_size, "%s", err);
            return LLMOPT_PMERGE_RETRY;
        }
        why = llmopt_avro_reason_name(ar);
    }
    if (e) {
        snprintf(errstr, errstr_size, "%s: %s", why, err);
        return LLMOPT_PMERGE_UNDECODABLE;
    }
    *ts_ms = t == LLMOPT_PROC_IN_REQUESTS    ? ((const llmopt_request *)rec)->ts_ms
             : t == LLMOPT_PROC_IN_RESPONSES ? ((const llmopt_response *)rec)->ts_ms
                                             : ((const llmopt_feedback *)rec)->ts_ms;
    return LLMOPT_PMERGE_DECODED;
}

rd_kafka_headers_t *llmopt_pmerge_dlq_headers(llmopt_dlq_reason reason, const char *detail,
                                              const char *topic, int32_t partition,
                                              int64_t offset) {
    char part_s[16], off_s[24];
    snprintf(part_s, sizeof(part_s), "%" PRId32, partition);
    snprintf(off_s, sizeof(off_s), "%" PRId64, offset);
    rd_kafka_headers_t *h = rd_kafka_headers_new(5);
    rd_kafka_header_add(h, "reason", -1, llmopt_dlq_reason_name(reason), -1);
    rd_kafka_header_add(h, "detail", -1, detail ? detail : "", -1);
    rd_kafka_header_add(h, "source_topic", -1, topic, -1);
    rd_kafka_header_add(h, "source_partition", -1, part_s, -1);
    rd_kafka_header_add(h, "source_offset", -1, off_s, -1);
    return h;
}
