llmopt_unit_test(test_gw_choose SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gw_choose.c LIBS llmopt_gateway)
