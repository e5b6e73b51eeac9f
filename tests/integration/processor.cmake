# llmopt-processor on the real broker, driven by processor_test.py (Python:
# confluent-kafka + fastavro from the project venv) with fresh topics per run.
#   processor_truth  ~190k events with known ground truth (windows exact,
#                    percentiles within digest tolerance, drift delay, outcome
#                    counts, every dead-letter class with its headers)
#   processor_eos    kill -9 five times, and a second instance joining and
#                    leaving: read_committed outputs equal an uninterrupted run
#   processor_idle   live mode: an idle, caught-up partition's watermark follows
#                    the wall clock (last windows close, last requests go
#                    missing); event-time-only mode leaves them open
set(_proc_py ${PROJECT_SOURCE_DIR}/.venv/bin/python)
foreach(_mode truth eos idle)
  add_test(NAME processor_${_mode}
    COMMAND /bin/sh -c "if [ ! -x '${_proc_py}' ]; then echo 'processor_${_mode}: FAILED (not run): ${_proc_py} missing; create the venv with deploy/local/deps.sh'; exit 1; fi; mkdir -p '${CMAKE_BINARY_DIR}/processor-logs' && exec '${_proc_py}' '${CMAKE_CURRENT_SOURCE_DIR}/integration/processor_test.py' --bin '$<TARGET_FILE:llmopt_processor>' --logdir '${CMAKE_BINARY_DIR}/processor-logs' ${_mode}"
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(processor_${_mode} PROPERTIES LABELS integration TIMEOUT 300)
endforeach()
