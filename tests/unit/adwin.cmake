llmopt_unit_test(test_adwin SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_adwin.c LIBS llmopt_pcore)
