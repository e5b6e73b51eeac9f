add_executable(bench_anomaly ${CMAKE_CURRENT_SOURCE_DIR}/bench_anomaly.c)
target_link_libraries(bench_anomaly PRIVATE llmopt_pcore ${MATH_LIB})
