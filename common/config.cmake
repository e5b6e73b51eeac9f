# config, log, signals, metrics, http, cli, service: the shared front of every binary.
list(APPEND LLMOPT_COMMON_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/config.c
  ${CMAKE_CURRENT_LIST_DIR}/log.c
  ${CMAKE_CURRENT_LIST_DIR}/signals.c
  ${CMAKE_CURRENT_LIST_DIR}/metrics.c
  ${CMAKE_CURRENT_LIST_DIR}/http.c
  ${CMAKE_CURRENT_LIST_DIR}/cli.c
  ${CMAKE_CURRENT_LIST_DIR}/service.c)

# llmopt_config_table(SYMBOL SOURCE): registers a binary's property table so
# that `llmopt config-doc` (and docs/CONFIG.md) lists it. SOURCE must define
# `const llmopt_config_table SYMBOL` and depend on nothing but libllmopt; it
# is compiled into the llmopt tool. The binary itself still compiles SOURCE.
function(llmopt_config_table symbol source)
  set_property(GLOBAL APPEND PROPERTY LLMOPT_CONFIG_TABLES ${symbol})
  set_property(GLOBAL APPEND PROPERTY LLMOPT_CONFIG_TABLE_SOURCES ${source})
endfunction()
