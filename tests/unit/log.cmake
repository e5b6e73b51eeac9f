llmopt_unit_test(test_log SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_log.c LIBS llmopt)
