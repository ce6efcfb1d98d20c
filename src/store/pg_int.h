/* What the files of the PostgreSQL backend share (pg.c: connections, statements, transactions,
 * schema; pg_core.c and pg_<table>.c: the operations). Nothing outside src/store includes this.
 *
 * Conventions every pg_*.c follows:
 * - SQL is written as string literals with $1, $2 ... and passed to pg_q. The literal's address
 *   names its prepared statement on each connection, so it is prepared once per connection and
 *   reused (a literal is one statement wherever it appears).
 * - Parameters go in a pg_params (text, integers, blobs; NULL text = SQL NULL). Results come
 *   back whole (PGresult): a list callback runs after the query has finished, so the
 *   connection is idle while the caller's callback runs. pg_cb_begin/pg_cb_end still mark it,
 *   so a callback calling the store gets -EDEADLK exactly as with SQLite.
 * - Booleans are smallint 0/1 and times bigint Unix seconds, as in SQLite, so `ztgate store
 *   migrate` copies values unchanged and the SQL of both backends reads the same.
 * - Every function returns 0 or a negative errno with the message set (zt_store_seterr), like
 *   the SQLite backend: -EEXIST (unique), -ENOENT (foreign key), -EINVAL (check), -EBUSY (lock
 *   or statement timeout), -EIO (anything else, the database unreachable included). */
#ifndef ZT_STORE_PG_INT_H
#define ZT_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store_int.h"

#define PG_PARAMS_MAX 32

typedef struct pg_conn pg_conn;

typedef struct pg_params {
    int n;
    const char *values[PG_PARAMS_MAX];
    int lengths[PG_PARAMS_MAX];
    int formats[PG_PARAMS_MAX]; /* 0 text, 1 binary (blobs) */
    char num[PG_PARAMS_MAX][24];
} pg_params;

/* Append one parameter ($n is the n-th appended). Text is borrowed until pg_q returns. */
void pg_text(pg_params *p, const char *v); /* NULL = SQL NULL */
void pg_int(pg_params *p, int64_t v);
void pg_bool(pg_params *p, bool v); /* as 0/1 */
void pg_real(pg_params *p, double v);
void pg_blob(pg_params *p, const void *v, size_t n);

/* This thread's connection, made on first use and remade after the database went away.
 * -EDEADLK inside a list callback; -EIO (message says why, never the password) when the
 * database cannot be reached. */
int pg_enter(zt_store *st, pg_conn **out);

/* Run one statement. res (nullable) receives the result, which the caller PQclear()s; on
 * error *res is NULL. changes (nullable) receives the rows an INSERT/UPDATE/DELETE touched. */
int pg_q(pg_conn *c, const char *sql, const pg_params *p, PGresult **res, int64_t *changes,
         const char *what);
/* pg_q for a statement whose rows are not needed. */
int pg_run(pg_conn *c, const char *sql, const pg_params *p, int64_t *changes, const char *what);

/* Run fn inside BEGIN ... COMMIT (READ COMMITTED). fn's statements take the row locks they
 * need (SELECT ... FOR UPDATE, conditional UPDATE); a serialization failure or deadlock
 * (40001, 40P01) rolls back and runs fn again, up to 3 times. Any error rolls back. */
typedef int (*pg_txn_fn)(pg_conn *c, void *arg);
int pg_txn(pg_conn *c, pg_txn_fn fn, void *arg);

/* Reading a result. Text copies fail (false) when the value does not fit cap: a record we
 * did not write; callers turn that into pg_corrupt. NULL reads as "" / 0. */
bool pg_col(const PGresult *r, int row, int col, char *dst, size_t cap);
int64_t pg_col_int(const PGresult *r, int row, int col);
bool pg_col_bool(const PGresult *r, int row, int col);
double pg_col_real(const PGresult *r, int row, int col);
bool pg_col_null(const PGresult *r, int row, int col);
/* A bytea column (text form \x...): decoded into dst; false when longer than cap or malformed.
 * *len (nullable) receives the length. */
bool pg_col_blob(const PGresult *r, int row, int col, unsigned char *dst, size_t cap, size_t *len);
/* A text column as a malloc'd string (*out; NULL on error, -ENOMEM). */
int pg_col_dup(const PGresult *r, int row, int col, char **out);
int pg_corrupt(const char *what);

/* The connection's libpq handle, for what prepared statements cannot do (COPY, statements
 * built at run time: `ztgate store migrate`). */
PGconn *pg_db(pg_conn *c);

/* The users columns a zt_user is read from (table alias u), and reading one row of them
 * (pg_core.c); every file that hands out users reads them the same way. */
#define PG_USER_COLS                                                                               \
    "u.id, u.email, u.name, COALESCE(u.password_hash, ''), u.disabled, u.created_at, "             \
    "u.updated_at, u.password_changed_at, u.revocation_epoch, u.source, u.external_id, "           \
    "u.expires_at, u.sponsor, u.last_sign_in_at"
int pg_row_user(const PGresult *r, int row, zt_user *u);

/* Around a caller's list callback. */
void pg_cb_begin(pg_conn *c);
void pg_cb_end(pg_conn *c);

/* The operation tables of the other files (pg_core.c defines pg_ops_core's functions). */
extern const zt_store_device_ops pgd_ops;
extern const zt_store_incident_ops pgi_ops;
extern const zt_store_webauthn_ops pgw_ops;
extern const zt_store_tap_ops pgt_ops;
extern const zt_store_admin_ops pga_ops;
extern const zt_store_oidc_ops pgo_ops;
extern const zt_store_saml_ops pgs_ops;
extern const zt_store_source_ops pgsrc_ops;
extern const zt_store_roster_ops pgr_ops;
extern const zt_store_assess_ops pgas_ops;
extern const zt_store_agent_ops pgag_ops;
extern const zt_store_counter_ops pgc_ops; /* pg_counter.c */

/* The schema version this build writes and reads (ztgate_meta.schema_version). */
#define PG_SCHEMA_VERSION 5

void pg_close(zt_store *st);
void pg_reachable_again(zt_store *st);

#endif
