/* fuzz_avro_signal.c - libFuzzer harness for the Avro decoder of signal
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_SIGNAL
#include "tests/fuzz/fuzz_avro_common.h"
