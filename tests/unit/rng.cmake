llmopt_unit_test(test_rng SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_rng.c LIBS llmopt_ccore)
