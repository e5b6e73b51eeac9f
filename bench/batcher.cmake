add_executable(bench_batcher ${CMAKE_CURRENT_SOURCE_DIR}/bench_batcher.c)
target_link_libraries(bench_batcher PRIVATE llmopt_gateway)
