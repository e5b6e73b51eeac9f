llmopt_fuzz_target(fuzz_avro_outcome SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_outcome.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_outcome)
