llmopt_unit_test(test_codec_avro SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_codec_avro.c
                 LIBS llmopt)
