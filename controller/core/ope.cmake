# Off-policy evaluation estimators (IPS, SNIPS, DR, Poisson bootstrap).
list(APPEND LLMOPT_CCORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/ope.c)
