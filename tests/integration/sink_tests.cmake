# `llmopt sink` on the real broker and Postgres, driven from Python (the
# project venv: confluent-kafka, fastavro, psycopg). Each script creates its
# own topics; sink_exactly_once starts and restarts its own throwaway
# Postgres cluster (deploy/local/postgres.sh with a private LLMOPT_VAR and
# port), the others use scratch databases on the shared server.
set(_sink_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
foreach(_t sink_exactly_once sink_dlq sink_queries)
  add_test(NAME ${_t}
    COMMAND /bin/sh -c "if [ ! -x '${_sink_py}' ]; then echo '${_t}: FAILED (not run): ${_sink_py} missing; create the venv with deploy/local/deps.sh'; exit 1; fi; exec '${_sink_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/${_t}.py' --llmopt '$<TARGET_FILE:llmopt_tool>'"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(${_t} PROPERTIES LABELS integration TIMEOUT 600)
endforeach()

# tools/sink_rows (records -> COPY rows): pure, so a unit test (label unit)
llmopt_unit_test(test_sink_rows SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/sink_rows_test.c
                 ${PROJECT_SOURCE_DIR}/tools/sink_rows.c LIBS llmopt)
