llmopt_unit_test(test_alloc SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_alloc.c LIBS llmopt_ccore)
