/* fuzz_avro_feedback.c - libFuzzer harness for the Avro decoder of feedback
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_FEEDBACK
#include "tests/fuzz/fuzz_avro_common.h"
