# libFuzzer harnesses for llmopt_json_decode, one per record type.
llmopt_fuzz_target(fuzz_json_request SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_request.c LIBS llmopt CORPUS tests/fuzz/corpus/json_request)
llmopt_fuzz_target(fuzz_json_response SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_response.c LIBS llmopt CORPUS tests/fuzz/corpus/json_response)
llmopt_fuzz_target(fuzz_json_feedback SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_feedback.c LIBS llmopt CORPUS tests/fuzz/corpus/json_feedback)
llmopt_fuzz_target(fuzz_json_outcome SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_outcome.c LIBS llmopt CORPUS tests/fuzz/corpus/json_outcome)
llmopt_fuzz_target(fuzz_json_window_metrics SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_window_metrics.c LIBS llmopt CORPUS tests/fuzz/corpus/json_window_metrics)
llmopt_fuzz_target(fuzz_json_signal SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_signal.c LIBS llmopt CORPUS tests/fuzz/corpus/json_signal)
llmopt_fuzz_target(fuzz_json_routing_decision SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_json_routing_decision.c LIBS llmopt CORPUS tests/fuzz/corpus/json_routing_decision)
