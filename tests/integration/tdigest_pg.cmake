llmopt_integration_test(test_tdigest_pg SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_tdigest_pg.c
                        LIBS llmopt_pcore PkgConfig::PQ)
