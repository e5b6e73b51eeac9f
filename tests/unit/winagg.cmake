llmopt_unit_test(test_winagg SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_winagg.c LIBS llmopt_pcore)
