llmopt_unit_test(test_tuner SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tuner.c LIBS llmopt_ccore)
