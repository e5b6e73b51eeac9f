llmopt_unit_test(test_replay_time SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_replay_time.c LIBS llmopt_replay_time)
