llmopt_unit_test(test_pareto SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_pareto.c LIBS llmopt_ccore)
