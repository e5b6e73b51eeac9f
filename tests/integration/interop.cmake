# Codec interop on the real broker: Python (confluent-kafka + fastavro, from
# the project venv) <-> the C codecs, both directions, Avro and JSON.
# tests/integration/interop.py drives tests/integration/interop_c.c.
add_executable(interop_c ${CMAKE_CURRENT_SOURCE_DIR}/integration/interop_c.c)
target_link_libraries(interop_c PRIVATE llmopt)
set(_interop_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
# A missing venv is a failure with a clear message, never a silent pass.
add_test(NAME interop
  COMMAND /bin/sh -c "if [ ! -x '${_interop_py}' ]; then echo 'interop: FAILED (not run): ${_interop_py} missing; create the venv with deploy/local/deps.sh'; exit 1; fi; exec '${_interop_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/interop.py' --c-binary '$<TARGET_FILE:interop_c>'"
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(interop PROPERTIES LABELS integration TIMEOUT 600)
