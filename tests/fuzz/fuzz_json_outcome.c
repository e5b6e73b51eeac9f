/* fuzz_json_outcome.c - libFuzzer harness for llmopt_json_decode of a outcome record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_OUTCOME
#include "tests/fuzz/fuzz_json_common.h"
