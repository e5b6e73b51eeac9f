llmopt_integration_test(gateway_follow SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/gateway_follow.c LIBS llmopt_gateway)
