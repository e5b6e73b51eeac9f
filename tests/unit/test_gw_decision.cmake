llmopt_unit_test(test_gw_decision SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_gw_decision.c LIBS llmopt_gateway)
