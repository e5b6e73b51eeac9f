# `llmopt prompt variants` (tools/prompt.c) and its pure rewrites (tools/prompt_transform.c).
list(APPEND LLMOPT_TOOLS_SOURCES
  ${CMAKE_CURRENT_LIST_DIR}/prompt.c
  ${CMAKE_CURRENT_LIST_DIR}/prompt_transform.c)
