llmopt_unit_test(test_linucb SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_linucb.c LIBS llmopt_ccore)
