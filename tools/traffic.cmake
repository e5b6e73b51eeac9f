# llmopt traffic and llmopt tail (tools/traffic.c, tools/tail.c).
list(APPEND LLMOPT_TOOLS_SOURCES ${CMAKE_CURRENT_LIST_DIR}/traffic.c ${CMAKE_CURRENT_LIST_DIR}/tail.c)
llmopt_config_table(llmopt_traffic_config_table ${CMAKE_CURRENT_LIST_DIR}/traffic_conf.c)
