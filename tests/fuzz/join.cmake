llmopt_fuzz_target(fuzz_join_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_join_state.c
                   LIBS llmopt_pcore CORPUS tests/fuzz/corpus/join_state)
