llmopt_unit_test(test_gw_cache SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gw_cache.c LIBS llmopt_gateway)
