# Counterfactual controller replay (issue 8 (b)): the default simulator scenario through the
# live loop (loop_test.py --keep), then `llmopt backtest --settings` must reproduce the live
# decisions, and other settings must change reaction and detection times. Real broker and
# Postgres; bounded: the live run takes about 2 minutes, the replays seconds.
set(_cfr_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
if(TARGET llmopt_controller AND TARGET llmopt_processor)
  add_test(NAME backtest_cf_replay
    COMMAND /bin/sh -c "if [ ! -x '${_cfr_py}' ]; then echo 'backtest_cf_replay: FAILED (not run): ${_cfr_py} missing'; exit 1; fi; exec '${_cfr_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/cfreplay_test.py' --llmopt '$<TARGET_FILE:llmopt_tool>' --processor '$<TARGET_FILE:llmopt_processor>' --controller '$<TARGET_FILE:llmopt_controller>'"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(backtest_cf_replay PROPERTIES LABELS integration TIMEOUT 900)
endif()
