# llmopt simulate: closed-loop gateways + backends driven by a scenario
# (tools/simulate*.c, docs/SIMULATOR.md). Every choice goes through
# libllmopt-gateway and every reward through processor/core/reward.c, so the
# tool links llmopt_gateway and llmopt_pcore (deferred: tools/llmopt.cmake
# creates the target after the parts).
list(APPEND LLMOPT_TOOLS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/simulate.c
  ${CMAKE_CURRENT_LIST_DIR}/simulate_scenario.c
  ${CMAKE_CURRENT_LIST_DIR}/simulate_oracle.c
  ${CMAKE_CURRENT_LIST_DIR}/simulate_quality.c
  ${CMAKE_CURRENT_LIST_DIR}/simulate_stats.c)
# simulate_conf.c is compiled into the tool through the registration.
llmopt_config_table(llmopt_simulate_config_table ${CMAKE_CURRENT_LIST_DIR}/simulate_conf.c)
cmake_language(DEFER DIRECTORY ${CMAKE_CURRENT_SOURCE_DIR}
  CALL target_link_libraries llmopt_tool PRIVATE llmopt_gateway llmopt_pcore)
