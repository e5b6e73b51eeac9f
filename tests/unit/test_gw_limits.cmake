llmopt_unit_test(test_gw_limits SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gw_limits.c LIBS llmopt_gateway)
