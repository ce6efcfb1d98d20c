/* See pg_fixture.h. */
#include "pg_fixture.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secure.h"

bool zt_test_pg_enabled(void)
{
    const char *dsn = getenv("ZT_TEST_PG_DSN");
    return dsn != NULL && dsn[0] != '\0';
}

/* The DSN with search_path set to schema (options is a libpq keyword; the later one wins). */
static void schema_dsn(const char *schema, char *out, size_t cap)
{
    snprintf(out, cap, "%s options='-c search_path=%s -c statement_timeout=5000'",
             getenv("ZT_TEST_PG_DSN"), schema);
}

static int admin_exec(const char *sql)
{
    PGconn *db = PQconnectdb(getenv("ZT_TEST_PG_DSN"));
    int rc = -1;
    if (PQstatus(db) == CONNECTION_OK) {
        PGresult *r = PQexec(db, sql);
        rc = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK ? 0 : -1;
        if (rc != 0)
            fprintf(stderr, "pg fixture: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "pg fixture: %s", PQerrorMessage(db));
    }
    PQfinish(db);
    return rc;
}

zt_store *zt_test_pg_reopen(const char *schema, char *err, size_t errlen)
{
    char dsn[1024];
    schema_dsn(schema, dsn, sizeof(dsn));
    zt_store_cfg cfg = {.backend = ZT_STORE_POSTGRES, .dsn = dsn};
    return zt_store_open(&cfg, err, errlen);
}

zt_store *zt_test_pg_open(char schema[ZT_TEST_PG_SCHEMA_MAX], char *err, size_t errlen)
{
    char hex[17];
    zt_random_hex(hex, 8);
    snprintf(schema, ZT_TEST_PG_SCHEMA_MAX, "zt_test_%s", hex);
    char sql[128];
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s", schema);
    if (admin_exec(sql) != 0) {
        snprintf(err, errlen, "cannot create schema %s (is ZT_TEST_PG_DSN right?)", schema);
        return NULL;
    }
    return zt_test_pg_reopen(schema, err, errlen);
}

int zt_test_pg_exec(const char *schema, const char *sql)
{
    char full[8192];
    snprintf(full, sizeof(full), "SET search_path = %s; %s", schema, sql);
    return admin_exec(full);
}

int64_t zt_test_pg_int(const char *schema, const char *sql)
{
    PGconn *db = PQconnectdb(getenv("ZT_TEST_PG_DSN"));
    int64_t v = -1;
    char path[128];
    snprintf(path, sizeof(path), "SET search_path = %s", schema);
    if (PQstatus(db) == CONNECTION_OK) {
        PQclear(PQexec(db, path));
        PGresult *r = PQexec(db, sql);
        if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
            v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
        else
            fprintf(stderr, "pg fixture: %s: %s", sql, PQresultErrorMessage(r));
        PQclear(r);
    } else {
        fprintf(stderr, "pg fixture: %s", PQerrorMessage(db));
    }
    PQfinish(db);
    return v;
}

void zt_test_pg_drop(const char *schema)
{
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP SCHEMA IF EXISTS %s CASCADE", schema);
    admin_exec(sql);
}
