llmopt_unit_test(test_serial SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_serial.c LIBS llmopt_pcore)
