llmopt_unit_test(test_reward SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_reward.c LIBS llmopt_pcore)
