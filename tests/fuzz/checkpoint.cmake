llmopt_fuzz_target(fuzz_checkpoint SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_checkpoint.c
                   LIBS llmopt_runner CORPUS tests/fuzz/corpus/checkpoint)
