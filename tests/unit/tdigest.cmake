llmopt_unit_test(test_tdigest SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_tdigest.c LIBS llmopt_pcore)
