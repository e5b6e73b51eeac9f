llmopt_fuzz_target(fuzz_avro_routing_decision SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_avro_routing_decision.c
                   LIBS llmopt CORPUS tests/fuzz/corpus/avro_routing_decision)
