add_executable(bench_gateway ${CMAKE_CURRENT_SOURCE_DIR}/bench_gateway.c)
target_link_libraries(bench_gateway PRIVATE llmopt_gateway)
