/* fuzz_avro_outcome.c - libFuzzer harness for the Avro decoder of outcome
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_OUTCOME
#include "tests/fuzz/fuzz_avro_common.h"
