llmopt_unit_test(test_gw_batcher SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gw_batcher.c LIBS llmopt_gateway)
