# `llmopt prompt variants`: the pure template rewrites (tools/prompt_transform.c).
llmopt_unit_test(test_prompt_transform SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_prompt_transform.c
                 ${PROJECT_SOURCE_DIR}/tools/prompt_transform.c LIBS llmopt)
# The command on files: arms and templates written, refusals write nothing.
add_test(NAME prompt_variants
  COMMAND python3 ${CMAKE_CURRENT_SOURCE_DIR}/unit/prompt_variants_test.py $<TARGET_FILE:llmopt_tool>)
set_tests_properties(prompt_variants PROPERTIES LABELS unit TIMEOUT 60)
