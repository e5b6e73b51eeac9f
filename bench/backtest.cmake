# bench_backtest: the backtest's estimator pass over pre-decoded outcomes,
# and a producer of synthetic outcomes for the end-to-end rate.
add_executable(bench_backtest ${CMAKE_CURRENT_SOURCE_DIR}/bench_backtest.c
  ${PROJECT_SOURCE_DIR}/tools/backtest_eval.c ${PROJECT_SOURCE_DIR}/tools/backtest_policy.c)
target_link_libraries(bench_backtest PRIVATE llmopt llmopt_ccore ${MATH_LIB})
