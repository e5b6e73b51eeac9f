/* fuzz_json_window_metrics.c - libFuzzer harness for llmopt_json_decode of a window_metrics record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_WINDOW_METRICS
#include "tests/fuzz/fuzz_json_common.h"
