/*
 * fuzz_json_common.h - body of the libFuzzer harnesses for
 * llmopt_json_decode, one harness per record type (FUZZ_JSON_TYPE).
 *
 * Besides "never crash, never leak", it checks the codec's round-trip
 * contract on every input that decodes: the record encodes, the encoding
 * decodes again, and re-encoding gives the same bytes (deterministic,
 * lossless). A violation aborts, which libFuzzer reports as a crash.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/json_codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef union fuzz_json_any {
    llmopt_request a;
    llmopt_response b;
    llmopt_feedback c;
    llmopt_outcome d;
    llmopt_window_metrics e;
    llmopt_signal f;
    llmopt_routing_decision g;
} fuzz_json_any;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fuzz_json_any rec, again;
    llmopt_json_error je;
    char err[256];
    llmopt_json_buf b1, b2;
    llmopt_record_init(FUZZ_JSON_TYPE, &rec);
    llmopt_record_init(FUZZ_JSON_TYPE, &again);
    llmopt_json_buf_init(&b1);
    llmopt_json_buf_init(&b2);
    llmopt_err_t e = llmopt_json_decode(FUZZ_JSON_TYPE, (const char *)data, size, &rec,
                                        &je, err, sizeof(err));
    if (e == LLMOPT_OK) {
        if (llmopt_json_encode(FUZZ_JSON_TYPE, &rec, &b1, err, sizeof(err)) != LLMOPT_OK) {
            fprintf(stderr, "decoded record does not encode: %s\n", err);
            abort();
        }
        if (llmopt_json_decode(FUZZ_JSON_TYPE, b1.data, b1.len, &again, &je, err,
                               sizeof(err)) != LLMOPT_OK) {
            fprintf(stderr, "encoding does not decode: %s\n%s\n", err, b1.data);
            abort();
        }
        if (llmopt_json_encode(FUZZ_JSON_TYPE, &again, &b2, err, sizeof(err)) != LLMOPT_OK ||
            b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0) {
            fprintf(stderr, "re-encoding differs:\n%s\n%s\n", b1.data, b2.data);
            abort();
        }
    } else if (je.reason == LLMOPT_JSON_OK || !err[0]) {
        fprintf(stderr, "failure without a reason or message\n");
        abort();
    }
    llmopt_json_buf_release(&b1);
    llmopt_json_buf_release(&b2);
    llmopt_record_release(FUZZ_JSON_TYPE, &rec);
    llmopt_record_release(FUZZ_JSON_TYPE, &again);
    return 0;
}
