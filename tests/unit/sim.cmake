# llmopt simulate: the pure parts (scenario parsing and schedule, exact expected
# rewards and the oracle, shares / re-routing / capture figures).
set(_sim_src ${PROJECT_SOURCE_DIR}/tools/simulate_scenario.c ${PROJECT_SOURCE_DIR}/tools/simulate_oracle.c
    ${PROJECT_SOURCE_DIR}/tools/simulate_stats.c ${PROJECT_SOURCE_DIR}/tools/simulate_quality.c)
llmopt_unit_test(test_sim_scenario SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_scenario.c ${_sim_src}
                 LIBS llmopt llmopt_pcore PkgConfig::JANSSON)
llmopt_unit_test(test_sim_oracle SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_oracle.c ${_sim_src}
                 LIBS llmopt llmopt_pcore PkgConfig::JANSSON)
llmopt_unit_test(test_sim_stats SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sim_stats.c ${_sim_src}
                 LIBS llmopt llmopt_pcore PkgConfig::JANSSON)
