llmopt_fuzz_target(fuzz_bandit_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_bandit_state.c
                   LIBS llmopt_ccore CORPUS tests/fuzz/corpus/bandit_state)
