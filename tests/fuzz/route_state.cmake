llmopt_fuzz_target(fuzz_route_state SOURCE ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_route_state.c
                   LIBS llmopt_ctl llmopt_gateway CORPUS tests/fuzz/corpus/route_state)
# the seed writer of the harness above (not a test): gen_route_corpus DIR
add_executable(gen_route_corpus ${CMAKE_CURRENT_SOURCE_DIR}/fuzz/fuzz_route_state.c)
target_compile_definitions(gen_route_corpus PRIVATE LLMOPT_GEN_CORPUS)
target_link_libraries(gen_route_corpus PRIVATE llmopt_ctl llmopt_gateway ${MATH_LIB})
