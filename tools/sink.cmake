# llmopt sink (result topics -> Postgres, exactly once) and llmopt retention.
list(APPEND LLMOPT_TOOLS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/sink.c
  ${CMAKE_CURRENT_LIST_DIR}/sink_rows.c
  ${CMAKE_CURRENT_LIST_DIR}/retention.c)
# sink_conf.c is compiled into the tool through the registration (docs/CONFIG.md)
llmopt_config_table(llmopt_sink_config_table ${CMAKE_CURRENT_LIST_DIR}/sink_conf.c)
