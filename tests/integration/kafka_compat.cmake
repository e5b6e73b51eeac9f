llmopt_integration_test(kafka_compat SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/kafka_compat.c LIBS llmopt)
