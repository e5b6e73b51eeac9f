llmopt_unit_test(test_anomaly SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_anomaly.c LIBS llmopt_pcore)
