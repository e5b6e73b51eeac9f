# The Python example gateway and the C library pick the same arms for the same
# decision and draws (tests/integration/gateway_python.py).
add_executable(gw_choose_cli ${CMAKE_CURRENT_SOURCE_DIR}/integration/gw_choose_cli.c)
target_link_libraries(gw_choose_cli PRIVATE llmopt_gateway)
set(_gwpy ${PROJECT_SOURCE_DIR}/.venv/bin/python)
add_test(NAME gateway_python
  COMMAND /bin/sh -c "if [ ! -x '${_gwpy}' ]; then echo 'gateway_python: FAILED (not run): ${_gwpy} missing'; exit 1; fi; exec '${_gwpy}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/gateway_python.py' --cli '$<TARGET_FILE:gw_choose_cli>' --python '${_gwpy}'"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(gateway_python PROPERTIES LABELS integration TIMEOUT 300)
