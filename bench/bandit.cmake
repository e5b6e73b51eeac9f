add_executable(bench_bandit ${CMAKE_CURRENT_SOURCE_DIR}/bench_bandit.c)
target_link_libraries(bench_bandit PRIVATE llmopt_ccore ${MATH_LIB})
