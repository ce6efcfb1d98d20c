/* The PostgreSQL backend's schema steps and the tables `ztgate store migrate` copies. */
#ifndef ZT_STORE_PG_SCHEMA_H
#define ZT_STORE_PG_SCHEMA_H

#include <stddef.h>

typedef struct pg_migration {
    int version;
    const char *sql;
} pg_migration;

/* Append-only, numbered 1..N in order; the last one is the schema this build writes. */
extern const pg_migration pg_migrations[];
extern const size_t pg_n_migrations;

/* Every table of the store, parents before children; NULL-terminated. The same names exist
 * in the SQLite file (main and the attached idp file), column for column. */
extern const char *const pg_copy_tables[];

#endif
