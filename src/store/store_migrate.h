/* Moving a SQLite deployment onto PostgreSQL (`ztgate store migrate`, docs/STORE.md): every
 * table of pg_copy_tables copied column by column in one transaction on the target, then
 * verified by a row count and a SHA-256 of every row on both sides. */
#ifndef ZT_STORE_STORE_MIGRATE_H
#define ZT_STORE_STORE_MIGRATE_H

#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

#define ZT_MIGRATE_TABLES_MAX 64

/* One table's figures: rows and checksum read from the SQLite source and, independently,
 * from PostgreSQL after the commit. The checksum is SHA-256 (hex) of the canonical rendering
 * of every row in primary-key order (docs/STORE.md). */
typedef struct zt_migrate_table {
    const char *name; /* static (pg_copy_tables) */
    uint64_t rows_source, rows_target;
    char sum_source[65], sum_target[65];
} zt_migrate_table;

typedef struct zt_migrate_report {
    size_t n;
    zt_migrate_table tables[ZT_MIGRATE_TABLES_MAX];
} zt_migrate_report;

/* Copy STATE_DIR/ztgate.db (with ztgate-idp.db) into target, a PostgreSQL store opened with
 * zt_store_open_config (its schema created). The source is first opened as a store so it is
 * migrated to the current SQLite schema. Returns 0 when every table was copied, committed and
 * read back equal. Else a negative errno with zt_store_errmsg() saying why:
 *   -EBUSY   another process (a running gateway, a ztgate command) has the SQLite files open;
 *   -EEXIST  the target already holds rows (migrate only fills a fresh schema);
 *   -EINVAL  target is not PostgreSQL, or a source row PostgreSQL cannot hold (the row named);
 *   -EIO     reading the source or writing the target failed: the target transaction was rolled
 *            back, nothing was written;
 *   -EPROTO  the commit succeeded but a count or checksum read back differs (report filled).
 * rep (filled as far as the copy got) receives the per-table figures. */
int zt_store_migrate(const char *state_dir, zt_store *target, zt_migrate_report *rep);

#endif
