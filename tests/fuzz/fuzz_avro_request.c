/* fuzz_avro_request.c - libFuzzer harness for the Avro decoder of request
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_REQUEST
#include "tests/fuzz/fuzz_avro_common.h"
