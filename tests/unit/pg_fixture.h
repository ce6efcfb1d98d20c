/* Unit tests against the PostgreSQL backend: when ZT_TEST_PG_DSN names a database (make check
 * starts a throwaway one, tests/pg/pgtmp.sh), each test gets a schema of its own there, so the
 * tests of one run and of parallel runs never see each other's rows. Without the variable the
 * PostgreSQL half of a test file is skipped, and says so. */
#ifndef ZT_TEST_PG_FIXTURE_H
#define ZT_TEST_PG_FIXTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define ZT_TEST_PG_SCHEMA_MAX 40

/* True when ZT_TEST_PG_DSN is set. */
bool zt_test_pg_enabled(void);
/* Make a fresh schema and open the store in it (migrations run there). NULL with err set. */
zt_store *zt_test_pg_open(char schema[ZT_TEST_PG_SCHEMA_MAX], char *err, size_t errlen);
/* Open the store again in an existing schema (reopen tests). */
zt_store *zt_test_pg_reopen(const char *schema, char *err, size_t errlen);
/* Run one SQL statement in schema (tests that corrupt or inspect rows); 0 or -1. */
int zt_test_pg_exec(const char *schema, const char *sql);
/* One integer from a query in schema (a count); -1 (and the error on stderr) when it fails. */
int64_t zt_test_pg_int(const char *schema, const char *sql);
/* Drop the schema and everything in it. */
void zt_test_pg_drop(const char *schema);

#endif
