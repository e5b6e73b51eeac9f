/* fuzz_avro_response.c - libFuzzer harness for the Avro decoder of response
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_RESPONSE
#include "tests/fuzz/fuzz_avro_common.h"
