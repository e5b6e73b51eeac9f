# llmopt-processor: the daemon around the engine (Kafka I/O, transactions,
# changelog checkpoints, rebalance). Its property table is registered for
# `llmopt config-doc` (docs/CONFIG.md); proc_config.c depends on libllmopt only.
llmopt_config_table(llmopt_processor_table ${CMAKE_CURRENT_LIST_DIR}/proc_config.c)
add_library(llmopt_runner STATIC
  ${CMAKE_CURRENT_LIST_DIR}/proc_config.c
  ${CMAKE_CURRENT_LIST_DIR}/proc_engine_conf.c
  ${CMAKE_CURRENT_LIST_DIR}/checkpoint.c
  ${CMAKE_CURRENT_LIST_DIR}/pmerge.c
  ${CMAKE_CURRENT_LIST_DIR}/runner.c)
target_link_libraries(llmopt_runner PUBLIC llmopt_engine llmopt)
add_executable(llmopt_processor ${CMAKE_CURRENT_LIST_DIR}/main.c)
set_target_properties(llmopt_processor PROPERTIES OUTPUT_NAME llmopt-processor)
target_link_libraries(llmopt_processor PRIVATE llmopt_runner llmopt_malloc)
