/* fuzz_json_routing_decision.c - libFuzzer harness for llmopt_json_decode of a routing_decision record
 * (see fuzz_json_common.h). */
#define FUZZ_JSON_TYPE LLMOPT_REC_ROUTING_DECISION
#include "tests/fuzz/fuzz_json_common.h"
