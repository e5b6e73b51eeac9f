add_executable(bench_drift ${CMAKE_CURRENT_SOURCE_DIR}/bench_drift.c)
target_link_libraries(bench_drift PRIVATE llmopt_pcore ${MATH_LIB})
