llmopt_unit_test(test_kafka SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_kafka.c LIBS llmopt)
