# The README's main command itself (deploy/local/demo.sh) on a short scenario:
# it must finish, print its summary and leave nothing running. Uses build/
# like the demo does. Bounded: 300 s.
add_test(NAME demo_script COMMAND bash ${CMAKE_CURRENT_SOURCE_DIR}/integration/demo_script.sh
  WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
set_tests_properties(demo_script PROPERTIES LABELS integration TIMEOUT 360 RUN_SERIAL TRUE)
