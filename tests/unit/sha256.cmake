# sha256 is compiled in directly: the suite needs nothing else from libllmopt.
llmopt_unit_test(test_sha256 SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_sha256.c
                 ${PROJECT_SOURCE_DIR}/common/sha256.c)
