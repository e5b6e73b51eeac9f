add_executable(bench_processor ${CMAKE_CURRENT_SOURCE_DIR}/bench_processor.c)
target_link_libraries(bench_processor PRIVATE llmopt_engine llmopt)
