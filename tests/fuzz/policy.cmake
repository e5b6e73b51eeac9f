llmopt_fuzz_target(fuzz_policy SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_policy.c
                   LIBS llmopt_ctl llmopt_gateway CORPUS tests/fuzz/corpus/policy)
