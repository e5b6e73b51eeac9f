list(APPEND LLMOPT_COMMON_SOURCES ${CMAKE_CURRENT_LIST_DIR}/avro_codec.c
     ${CMAKE_CURRENT_LIST_DIR}/avro_schemas.c
     ${CMAKE_CURRENT_LIST_DIR}/record_desc.c)
