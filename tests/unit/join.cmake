llmopt_unit_test(test_join SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_join.c LIBS llmopt_pcore)
