llmopt_unit_test(test_route_breaker SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_route_breaker.c LIBS llmopt_ctl)
