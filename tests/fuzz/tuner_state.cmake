llmopt_fuzz_target(fuzz_tuner_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_tuner_state.c
                   LIBS llmopt_ccore CORPUS tests/fuzz/corpus/tuner_state)
