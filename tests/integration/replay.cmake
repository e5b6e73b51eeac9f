# llmopt replay on the real broker (replay_test.py, Python: confluent-kafka
# from the project venv; fresh topics rtest.<pid>.*): a replay of a live
# llmopt-processor run reproduces its outputs, two replays are byte-identical,
# an empty range exits 3, bad times exit 2, progress lines reach 100%.
set(_replay_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
add_test(NAME replay
  COMMAND /bin/sh -c "if [ ! -x '${_replay_py}' ]; then echo 'replay: FAILED (not run): ${_replay_py} missing; create the venv with deploy/local/deps.sh'; exit 1; fi; mkdir -p '${CMAKE_BINARY_DIR}/processor-logs' && exec '${_replay_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/replay_test.py' --llmopt '$<TARGET_FILE:llmopt_tool>' --proc '$<TARGET_FILE:llmopt_processor>' --logdir '${CMAKE_BINARY_DIR}/processor-logs'"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(replay PROPERTIES LABELS integration TIMEOUT 300)
