/* fuzz_json_request.c - libFuzzer harness for llmopt_json_decode of a request record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_REQUEST
#include "tests/fuzz/fuzz_json_common.h"
