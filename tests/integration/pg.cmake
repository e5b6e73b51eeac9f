# common/pg against the real Postgres. Sources are compiled in directly so the
# suite depends only on libpq, not on every module of libllmopt.
llmopt_integration_test(test_pg SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_pg.c
                        ${PROJECT_SOURCE_DIR}/common/pg.c
                        LIBS PkgConfig::PQ)
