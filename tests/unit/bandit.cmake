llmopt_unit_test(test_bandit SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_bandit.c LIBS llmopt_ccore)
