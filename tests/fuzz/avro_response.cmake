llmopt_fuzz_target(fuzz_avro_response SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_response.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_response)
