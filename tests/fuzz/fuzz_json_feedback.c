/* fuzz_json_feedback.c - libFuzzer harness for llmopt_json_decode of a feedback record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_FEEDBACK
#include "tests/fuzz/fuzz_json_common.h"
