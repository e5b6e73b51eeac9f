/* fuzz_json_response.c - libFuzzer harness for llmopt_json_decode of a response record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_RESPONSE
#include "tests/fuzz/fuzz_json_common.h"
