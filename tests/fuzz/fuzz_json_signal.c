/* fuzz_json_signal.c - libFuzzer harness for llmopt_json_decode of a signal record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_SIGNAL
#include "tests/fuzz/fuzz_json_common.h"
