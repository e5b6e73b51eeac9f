llmopt_unit_test(test_adapt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_adapt.c LIBS llmopt_ccore)
