llmopt_unit_test(test_page_hinkley SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_page_hinkley.c LIBS llmopt_pcore)
