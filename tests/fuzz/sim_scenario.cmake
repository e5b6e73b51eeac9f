llmopt_fuzz_target(fuzz_sim_scenario SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_sim_scenario.c
                   LIBS llmopt llmopt_pcore PkgConfig::JANSSON CORPUS tests/fuzz/corpus/sim_scenario)
target_sources(fuzz_sim_scenario PRIVATE ${PROJECT_SOURCE_DIR}/tools/simulate_scenario.c
               ${PROJECT_SOURCE_DIR}/tools/simulate_quality.c)
