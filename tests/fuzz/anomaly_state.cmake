llmopt_fuzz_target(fuzz_anomaly_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_anomaly_state.c
                   LIBS llmopt_pcore CORPUS tests/fuzz/corpus/anomaly_state)
