# llmopt-controller on the real broker and Postgres, driven from Python (the
# project venv): decisions from signals, alerts, admin pin, leader failover.
set(_ctl_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
if(TARGET llmopt_controller)
  add_test(NAME controller_failover
    COMMAND /bin/sh -c "if [ ! -x '${_ctl_py}' ]; then echo 'controller_failover: FAILED (not run): ${_ctl_py} missing'; exit 1; fi; exec '${_ctl_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/controller_test.py' --llmopt '$<TARGET_FILE:llmopt_tool>' --controller '$<TARGET_FILE:llmopt_controller>'"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(controller_failover PROPERTIES LABELS integration TIMEOUT 300)
endif()
