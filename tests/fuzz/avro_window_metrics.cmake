llmopt_fuzz_target(fuzz_avro_window_metrics SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_window_metrics.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_window_metrics)
