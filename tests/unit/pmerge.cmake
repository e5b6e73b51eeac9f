llmopt_unit_test(test_pmerge SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pmerge.c LIBS llmopt_runner)
