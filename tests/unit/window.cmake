llmopt_unit_test(test_window SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_window.c LIBS llmopt_pcore)
