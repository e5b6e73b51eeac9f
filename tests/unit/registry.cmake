# The registry suite starts tests/tools/fake_registry.py (standard library
# only) with the project venv's python when there is one, else python3.
llmopt_unit_test(test_registry SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_registry.c LIBS llmopt)
if(EXISTS ${PROJECT_SOURCE_DIR}/.venv/bin/python)
  set(_llmopt_reg_python ${PROJECT_SOURCE_DIR}/.venv/bin/python)
else()
  find_program(_llmopt_reg_python NAMES python3 REQUIRED)
endif()
target_compile_definitions(test_registry PRIVATE
  LLMOPT_SOURCE_DIR="${PROJECT_SOURCE_DIR}" LLMOPT_PYTHON="${_llmopt_reg_python}")
