llmopt_fuzz_target(fuzz_drift_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_drift_state.c
                   LIBS llmopt_pcore CORPUS tests/fuzz/corpus/drift_state)
