# Closed-loop scenario tests (tests/integration/loop_test.py): llmopt simulate
# drives gateways through libllmopt-gateway against a real llmopt-processor and
# llmopt-controller on unique topics and a scratch database. Bounded: each case
# runs 70 s to 3 min of wall time plus setup.
set(_loop_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
if(TARGET llmopt_controller AND TARGET llmopt_processor)
  foreach(_case sampler error latency default stationary capacity cache batch prompt tuner)
    add_test(NAME loop_${_case}
      COMMAND /bin/sh -c "if [ ! -x '${_loop_py}' ]; then echo 'loop_${_case}: FAILED (not run): ${_loop_py} missing'; exit 1; fi; exec '${_loop_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/loop_test.py' --llmopt '$<TARGET_FILE:llmopt_tool>' --processor '$<TARGET_FILE:llmopt_processor>' --controller '$<TARGET_FILE:llmopt_controller>' ${_case}"
      WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
    set_tests_properties(loop_${_case} PROPERTIES LABELS integration TIMEOUT 600)
  endforeach()
endif()
