llmopt_unit_test(test_http SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http.c LIBS llmopt PkgConfig::CURL)
