/*
 * fuzz_avro_common.h - body of the Avro decoder harnesses; each
 * fuzz_avro_<record>.c defines FUZZ_AVRO_TYPE and includes this.
 *
 * Per input: (1) decode it as a framed message (builtin schema ids 1..7),
 * (1b) with its header rewritten to a newer writer schema of FUZZ_AVRO_TYPE
 * (field-level resolution path) and (2) as a bare body of FUZZ_AVRO_TYPE; a
 * decode must fail cleanly or
 * succeed, never read out of bounds (ASan) or leak (LSan). When (2)
 * succeeds, the record must re-encode, decode again, and re-encode to the
 * same bytes: decode and encode agree on every input they accept. (3) The
 * table-driven decoder alone must agree with the schema-specialised one
 * (Request, Response): same error, reason and message, same record.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/avro_codec.h"
#include "common/records.h"

typedef union fuzz_any_rec {
    llmopt_request req;
    llmopt_response resp;
    llmopt_feedback fb;
    llmopt_outcome out;
    llmopt_window_metrics wm;
    llmopt_signal sig;
    llmopt_routing_decision rd;
} fuzz_any_rec;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static llmopt_avro_codec *codec;
static char *evolved[LLMOPT_REC_COUNT];

static void codec_free(void) {
    llmopt_avro_codec_destroy(codec);
    for (int t = 0; t < LLMOPT_REC_COUNT; t++)
        free(evolved[t]);
}

/* ids 1..7: our schemas; 100+t: our schema of type t with one more long
 * field at the end (a newer writer), which goes through the
 * field-level resolution of avro_codec.c. */
static llmopt_err_t fuzz_lookup(void *ctx, int32_t id, const char **json, char *errstr,
                                size_t errstr_size) {
    if (id > 100 && id < 100 + LLMOPT_REC_COUNT) {
        int t = id - 100;
        if (!evolved[t]) {
            const char *pcf = llmopt_avro_schema_pcf[t];
            size_t n = strlen(pcf); /* ends with "]}" */
            static const char extra[] = ",{\"name\":\"fuzz_x\",\"type\":\"long\"}]}";
            evolved[t] = malloc(n - 2 + sizeof(extra));
            memcpy(evolved[t], pcf, n - 2);
            memcpy(evolved[t] + n - 2, extra, sizeof(extra));
        }
        *json = evolved[t];
        return LLMOPT_OK;
    }
    return llmopt_avro_builtin_source()->lookup(ctx, id, json, errstr, errstr_size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (!codec) {
        llmopt_schema_source src = {NULL, fuzz_lookup, NULL};
        if (!(codec = llmopt_avro_codec_new(&src, NULL, 0)))
            abort();
        atexit(codec_free); /* leak checkers see a clean exit */
    }
    const llmopt_record_type t = FUZZ_AVRO_TYPE;
    fuzz_any_rec a, b;
    llmopt_record_init(t, &a);
    llmopt_record_init(t, &b);
    char err[256];
    llmopt_avro_reason why = LLMOPT_AVRO_OK;
    llmopt_err_t e = llmopt_avro_decode(codec, data, size, t, &a, &why, err, sizeof(err));
    if ((e == LLMOPT_OK) != (why == LLMOPT_AVRO_OK))
        abort();

    if (size >= LLMOPT_AVRO_HEADER_SIZE) { /* same body, newer writer schema */
        uint8_t *m = malloc(size);
        memcpy(m, data, size);
        llmopt_avro_header_write(m, 100 + (int32_t)t);
        e = llmopt_avro_decode(codec, m, size, t, &a, &why, err, sizeof(err));
        if ((e == LLMOPT_OK) != (why == LLMOPT_AVRO_OK))
            abort();
        free(m);
    }

    e = llmopt_avro_decode_body(t, data, size, &a, &why, err, sizeof(err));
    { /* (3) the table-driven decoder alone gives the same verdict, message
       * and record as the schema-specialised one (Request, Response) */
        fuzz_any_rec g;
        llmopt_record_init(t, &g);
        char gerr[256];
        llmopt_avro_reason gwhy = LLMOPT_AVRO_OK;
        llmopt_err_t ge = llmopt_avro_decode_body_generic(t, data, size, &g, &gwhy, gerr,
                                                          sizeof(gerr));
        if (ge != e || gwhy != why || (e != LLMOPT_OK && strcmp(gerr, err) != 0)) {
            fprintf(stderr, "generic decoder differs: %d/%d '%s' vs %d/%d '%s'\n", (int)e,
                    (int)why, e ? err : "", (int)ge, (int)gwhy, ge ? gerr : "");
            abort();
        }
        if (e == LLMOPT_OK) {
            llmopt_wbuf w1, w2;
            llmopt_wbuf_init(&w1);
            llmopt_wbuf_init(&w2);
            if (llmopt_avro_encode_body(t, &a, &w1, err, sizeof(err)) != LLMOPT_OK ||
                llmopt_avro_encode_body(t, &g, &w2, err, sizeof(err)) != LLMOPT_OK ||
                w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0) {
                fprintf(stderr, "generic decoder gives another record\n");
                abort();
            }
            llmopt_wbuf_release(&w1);
            llmopt_wbuf_release(&w2);
        }
        llmopt_record_release(t, &g);
    }
    if (e == LLMOPT_OK) {
        llmopt_wbuf w1, w2;
        llmopt_wbuf_init(&w1);
        llmopt_wbuf_init(&w2);
        if (llmopt_avro_encode_body(t, &a, &w1, err, sizeof(err)) != LLMOPT_OK ||
            llmopt_avro_decode_body(t, w1.data, w1.len, &b, &why, err, sizeof(err)) != LLMOPT_OK ||
            llmopt_avro_encode_body(t, &b, &w2, err, sizeof(err)) != LLMOPT_OK ||
            w1.len != w2.len || memcmp(w1.data, w2.data, w1.len) != 0) {
            fprintf(stderr, "round trip mismatch: %s\n", err);
            abort();
        }
        llmopt_wbuf_release(&w1);
        llmopt_wbuf_release(&w2);
    }
    llmopt_record_release(t, &a);
    llmopt_record_release(t, &b);
    return 0;
}
