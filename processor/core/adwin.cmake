list(APPEND LLMOPT_PCORE_SOURCES ${CMAKE_CURRENT_LIST_DIR}/adwin.c)
# ADWIN's cut scan evaluates all cut points in one branch-free loop
# (adwin.c scan_once). Without errno-setting sqrt(), and with GCC's dynamic
# vectoriser cost model (-O2 defaults to "very cheap", which skips loops of
# unknown trip count), that loop uses packed divide and square root: exact
# IEEE operations, so results are unchanged. The bucket shifts stay inline
# loops instead of memmove calls (-fno-tree-loop-distribute-patterns).
set(_adwin_opts -fno-math-errno)
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND _adwin_opts -fvect-cost-model=dynamic -fno-tree-loop-distribute-patterns)
endif()
set_source_files_properties(${CMAKE_CURRENT_LIST_DIR}/adwin.c PROPERTIES COMPILE_OPTIONS "${_adwin_opts}")
