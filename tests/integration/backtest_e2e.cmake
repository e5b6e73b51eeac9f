# llmopt backtest end to end on the real broker: synthetic Avro outcomes on a
# unique topic, asserted JSON report, well-formed HTML with its SVG charts.
set(_bt_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
add_test(NAME backtest_e2e
  COMMAND /bin/sh -c "if [ ! -x '${_bt_py}' ]; then echo 'backtest_e2e: FAILED (not run): ${_bt_py} missing; create the venv with deploy/local/deps.sh'; exit 1; fi; exec '${_bt_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/backtest_e2e.py' --llmopt '$<TARGET_FILE:llmopt_tool>'"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(backtest_e2e PROPERTIES LABELS integration TIMEOUT 600)
