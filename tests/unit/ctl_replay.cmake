llmopt_unit_test(test_ctl_replay SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_ctl_replay.c LIBS llmopt_ctl)
