/* fuzz_avro_window_metrics.c - libFuzzer harness for the Avro decoder of window_metrics
 * records (see fuzz_avro_common.h). */
#define FUZZ_AVRO_TYPE LLMOPT_REC_WINDOW_METRICS
#include "tests/fuzz/fuzz_avro_common.h"
