llmopt_unit_test(test_strategy SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_strategy.c LIBS llmopt_ctl llmopt_gateway)
