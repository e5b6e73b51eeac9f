# Controller decision throughput (controller/route.c over controller/core).
if(TARGET llmopt_ctl)
  add_executable(bench_controller ${CMAKE_CURRENT_LIST_DIR}/bench_controller.c)
  target_link_libraries(bench_controller PRIVATE llmopt_ctl)
endif()
