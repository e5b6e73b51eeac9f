# tools/migrate.c (llmopt migrate) and the schema in sql/migrations against the
# real Postgres; calls llmopt_migrate() directly.
llmopt_integration_test(test_migrate SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_migrate.c
                        ${PROJECT_SOURCE_DIR}/tools/migrate.c
                        ${PROJECT_SOURCE_DIR}/common/pg.c
                        ${PROJECT_SOURCE_DIR}/common/sha256.c
                        LIBS PkgConfig::PQ PkgConfig::JANSSON Threads::Threads)
