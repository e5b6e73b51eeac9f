# Experiment graduation end to end (tests/integration/experiment_test.py): A/B/n to
# significance, canary ramp 10 -> 25 -> 50 -> 100 %, rollback on a guardrail breach and on a
# drift signal, stop at max duration; real broker and Postgres. Bounded: about 30 s, 150 s max.
set(_exp_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
if(TARGET llmopt_controller)
  add_test(NAME experiment_graduation
    COMMAND /bin/sh -c "if [ ! -x '${_exp_py}' ]; then echo 'experiment_graduation: FAILED (not run): ${_exp_py} missing'; exit 1; fi; exec '${_exp_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/experiment_test.py' --llmopt '$<TARGET_FILE:llmopt_tool>' --controller '$<TARGET_FILE:llmopt_controller>'"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(experiment_graduation PROPERTIES LABELS integration TIMEOUT 240)
endif()
