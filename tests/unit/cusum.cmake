llmopt_unit_test(test_cusum SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_cusum.c LIBS llmopt_pcore)
