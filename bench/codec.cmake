add_executable(bench_codec ${CMAKE_CURRENT_SOURCE_DIR}/bench_codec.c)
target_link_libraries(bench_codec PRIVATE llmopt)
