llmopt_unit_test(test_route_arms SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_route_arms.c LIBS llmopt_ctl)
