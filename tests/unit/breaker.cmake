llmopt_unit_test(test_breaker SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_breaker.c LIBS llmopt_ccore)
