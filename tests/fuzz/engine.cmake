llmopt_fuzz_target(fuzz_engine_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_engine_state.c
                   LIBS llmopt_engine CORPUS tests/fuzz/corpus/engine_state)
