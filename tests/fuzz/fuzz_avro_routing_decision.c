/* fuzz_avro_routing_decision.c - libFuzzer harness for the Avro decoder of routing_decision
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_ROUTING_DECISION
#include "tests/fuzz/fuzz_avro_common.h"
