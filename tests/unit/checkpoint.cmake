llmopt_unit_test(test_checkpoint SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_checkpoint.c LIBS llmopt_runner)
