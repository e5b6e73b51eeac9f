llmopt_fuzz_target(fuzz_gw_decision SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_gw_decision.c
                   LIBS llmopt_gateway CORPUS tests/fuzz/corpus/gw_decision)
