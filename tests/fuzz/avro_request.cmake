llmopt_fuzz_target(fuzz_avro_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_request.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_request)
