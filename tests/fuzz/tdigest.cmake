llmopt_fuzz_target(fuzz_tdigest_parse SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_tdigest_parse.c
                   LIBS llmopt_pcore CORPUS tests/fuzz/corpus/tdigest_parse)
