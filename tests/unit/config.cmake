llmopt_unit_test(test_config SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_config.c LIBS llmopt)
# docs/CONFIG.md must equal `llmopt config-doc`: regenerate with
#   build/tools/llmopt config-doc > docs/CONFIG.md
if(TARGET llmopt_tool)
  add_test(NAME test_config_doc
    COMMAND ${CMAKE_COMMAND} -DLLMOPT=$<TARGET_FILE:llmopt_tool>
            -DDOC=${PROJECT_SOURCE_DIR}/docs/CONFIG.md
            -P ${PROJECT_SOURCE_DIR}/tests/tools/check_config_doc.cmake)
  set_tests_properties(test_config_doc PROPERTIES LABELS unit TIMEOUT 60)
endif()
