llmopt_unit_test(test_canary SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_canary.c LIBS llmopt_ccore)
