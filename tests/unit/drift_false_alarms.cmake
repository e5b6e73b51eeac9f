llmopt_unit_test(test_drift_false_alarms SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_drift_false_alarms.c LIBS llmopt_pcore)
