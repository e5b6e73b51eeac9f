llmopt_fuzz_target(fuzz_avro_signal SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_signal.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_signal)
