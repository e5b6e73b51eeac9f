llmopt_fuzz_target(fuzz_replay_time SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_replay_time.c
                   LIBS llmopt_replay_time CORPUS tests/fuzz/corpus/replay_time)
