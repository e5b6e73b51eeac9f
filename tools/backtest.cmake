# llmopt backtest: off-policy evaluation over llm.outcomes (tools/backtest*.c,
# tools/report_html.c). The estimators are controller/core/ope.c, so the
# tool also links llmopt_ccore; the call is deferred to the end of this
# directory because tools/llmopt.cmake creates the target after the parts.
list(APPEND LLMOPT_TOOLS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/backtest.c
  ${CMAKE_CURRENT_LIST_DIR}/backtest_eval.c
  ${CMAKE_CURRENT_LIST_DIR}/backtest_policy.c
  ${CMAKE_CURRENT_LIST_DIR}/backtest_read.c
  ${CMAKE_CURRENT_LIST_DIR}/backtest_cf.c
  ${CMAKE_CURRENT_LIST_DIR}/report_html.c)
# backtest_conf.c is compiled into the tool through the registration.
llmopt_config_table(llmopt_backtest_config_table ${CMAKE_CURRENT_LIST_DIR}/backtest_conf.c)
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  CALL target_link_libraries llmopt_tool PRIVATE llmopt_ccore)
# The counterfactual replay runs the controller's decision loop
# (controller/replay.c in llmopt_ctl) and the processor's engine.
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  CALL target_link_libraries llmopt_tool PRIVATE llmopt_ctl llmopt_runner)
