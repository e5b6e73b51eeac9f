llmopt_fuzz_target(fuzz_avro_feedback SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_feedback.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_feedback)
