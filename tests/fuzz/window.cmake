llmopt_fuzz_target(fuzz_window_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_window_state.c
                   LIBS llmopt_pcore CORPUS tests/fuzz/corpus/window_state)
