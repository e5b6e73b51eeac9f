llmopt_unit_test(test_engine SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_engine.c LIBS llmopt_engine)
