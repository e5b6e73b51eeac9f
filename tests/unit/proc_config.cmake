llmopt_unit_test(test_proc_config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_proc_config.c LIBS llmopt_runner)
