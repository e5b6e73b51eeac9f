llmopt_unit_test(test_codec_json SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_codec_json.c LIBS llmopt)
