llmopt_unit_test(test_stats SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_stats.c LIBS llmopt_ccore)
