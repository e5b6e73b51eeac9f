# `llmopt arm ...` and `llmopt experiment ...`: the controller's admin
# commands (Postgres rows + NOTIFY). controller/ctl_config.c is already in the
# tool through its llmopt_config_table() registration.
list(APPEND LLMOPT_TOOLS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/admin.c
  ${CMAKE_CURRENT_LIST_DIR}/experiment.c)
