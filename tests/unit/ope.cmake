llmopt_unit_test(test_ope SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ope.c LIBS llmopt_ccore)
