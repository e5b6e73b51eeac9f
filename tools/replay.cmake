# llmopt replay: a time range of the input topics through the processor's
# engine (tools/replay.c, the library part; tools/replay_cmd.c, the command;
# tools/replay_time.c, the pure --from/--to parser, a library of its own so
# its unit test and fuzz harness link it alone). It links llmopt_runner for
# processor/pmerge.c (the merge order shared with the live runner) and
# proc_engine_conf.c; the call is deferred because tools/llmopt.cmake creates
# the target after the parts.
add_library(llmopt_replay_time STATIC ${CMAKE_CURRENT_LIST_DIR}/replay_time.c)
target_include_directories(llmopt_replay_time PUBLIC ${PROJECT_SOURCE_DIR})
list(APPEND LLMOPT_TOOLS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/replay.c
  ${CMAKE_CURRENT_LIST_DIR}/replay_cmd.c)
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  CALL target_link_libraries llmopt_tool PRIVATE llmopt_runner llmopt_engine llmopt_replay_time)
