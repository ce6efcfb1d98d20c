/* `ztgate store migrate`: a SQLite deployment copied onto PostgreSQL with nothing lost
 * (store_migrate.h, docs/STORE.md).
 *
 * Both schemas have the same tables and column names with the same values (pg_schema.c), so a
 * table is copied column by column: the columns PostgreSQL has that SQLite also has, in
 * PostgreSQL's order. A SQLite column PostgreSQL lacks would be lost, so it stops the copy. The
 * rows go through COPY (text format) inside one transaction that first locks every table and
 * checks they are empty; any error rolls it back, so the target is either empty or complete.
 *
 * Verification reads every row of both sides in primary-key order and hashes a canonical
 * rendering of it (one rendering function, values taken from each side's own result):
 *   NULL "N"; integer "I" decimal ";"; real "R" %.17g ";"; text "T" length ":" bytes;
 *   blob "B" length ":" bytes; each row ends with "\n".
 * Text keys are ordered bytewise on both sides (SQLite BINARY, PostgreSQL COLLATE "C"). The
 * target is checked inside the transaction (a difference rolls back) and once more after the
 * commit, by a fresh read: those are the figures reported. */
#include "store/store_migrate.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <openssl/evp.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/buf.h"
#include "lib/str.h"
#include "store/pg_int.h"
#include "store/pg_schema.h"

#define MG_COLS_MAX 32
#define MG_NAME_MAX 64
#define MG_SQL_MAX 4096
#define MG_COPY_CHUNK (256 * 1024)   /* bytes of COPY data sent at a time */
#define MG_SQLITE_PENDING 0x40000000 /* SQLite's lock bytes: pending, reserved, 510 shared */
#define MG_SQLITE_LOCK_LEN 512

typedef enum mg_kind { MG_INT, MG_REAL, MG_TEXT, MG_BLOB } mg_kind;

/* One value as read from either side. */
typedef struct mg_val {
    char type; /* 'N', 'I', 'R', 'T', 'B' */
    int64_t i;
    double r;
    const unsigned char *p;
    size_t n;
} mg_val;

typedef struct mg_table {
    const char *name;
    size_t n_cols, n_key;
    char cols[MG_COLS_MAX][MG_NAME_MAX];
    mg_kind kinds[MG_COLS_MAX];
    bool identity[MG_COLS_MAX];
    size_t key[MG_COLS_MAX]; /* indexes into cols, in primary-key order */
} mg_table;

typedef struct mg_ctx {
    sqlite3 *src;
    PGconn *db;
    mg_table *tables;
    size_t n;
    zt_migrate_report *rep;
} mg_ctx;

/* ---- the source ---- */

/* Another process holding the file open: SQLite keeps a shared lock on these bytes for as long
 * as a connection is open in WAL mode, so a gateway shows up even when idle. Checked before
 * this process opens the file (closing a descriptor drops this process's own locks). */
static int mg_in_use(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0
                               : zt_store_seterr(-EIO, "cannot open %s: %s", path, strerror(errno));
    struct flock fl = {.l_type = F_WRLCK,
                       .l_whence = SEEK_SET,
                       .l_start = MG_SQLITE_PENDING,
                       .l_len = MG_SQLITE_LOCK_LEN};
    int rc = fcntl(fd, F_GETLK, &fl);
    int e = errno;
    close(fd);
    if (rc != 0)
        return zt_store_seterr(-EIO, "cannot check whether %s is in use: %s", path, strerror(e));
    if (fl.l_type == F_UNLCK)
        return 0;
    return zt_store_seterr(-EBUSY,
                           "%s is open in process %ld (a running gateway or ztgate command): "
                           "stop the gateway first; migrate copies a database nobody writes",
                           path, (long)fl.l_pid);
}

static int mg_path(char *out, size_t cap, const char *dir, const char *file)
{
    int n = snprintf(out, cap, "%s/%s", dir, file);
    return n > 0 && (size_t)n < cap ? 0 : zt_store_seterr(-EINVAL, "state_dir path too long");
}

/* The store's own open brings the files to the current SQLite schema; then a read-only
 * connection of our own, with one read transaction: every read sees the same snapshot. */
static int mg_open_source(const char *dir, sqlite3 **out)
{
    char main_path[PATH_MAX], idp_path[PATH_MAX], err[512];
    struct stat sb;
    int rc = mg_path(main_path, sizeof(main_path), dir, "ztgate.db");
    rc = rc ? rc : mg_path(idp_path, sizeof(idp_path), dir, "ztgate-idp.db");
    if (rc != 0)
        return rc;
    if (stat(main_path, &sb) != 0)
        return zt_store_seterr(-ENOENT, "no SQLite store at %s: %s", main_path, strerror(errno));
    rc = mg_in_use(main_path);
    rc = rc ? rc : mg_in_use(idp_path);
    if (rc != 0)
        return rc;
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    zt_store *st = zt_store_open(&sc, err, sizeof(err));
    if (st == NULL)
        return zt_store_seterr(-EIO, "cannot open the SQLite store in %s: %s", dir, err);
    zt_store_close(st);
    sqlite3 *db = NULL;
    int src = sqlite3_open_v2(main_path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL);
    sqlite3_stmt *s = NULL;
    if (src == SQLITE_OK)
        src = sqlite3_exec(db, "PRAGMA trusted_schema = OFF", NULL, NULL, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_prepare_v2(db, "ATTACH DATABASE ?1 AS idp", -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, idp_path, -1, SQLITE_STATIC);
        src = sqlite3_step(s) == SQLITE_DONE ? SQLITE_OK : sqlite3_errcode(db);
    }
    sqlite3_finalize(s);
    if (src == SQLITE_OK)
        src = sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    if (src != SQLITE_OK) {
        rc = zt_store_seterr(-EIO, "cannot read %s: %s", main_path,
                             db != NULL ? sqlite3_errmsg(db) : "out of memory");
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return 0;
}

/* ---- table descriptions ---- */

static mg_kind mg_kind_of(const char *pg_type)
{
    if (strcmp(pg_type, "bigint") == 0 || strcmp(pg_type, "smallint") == 0 ||
        strcmp(pg_type, "integer") == 0)
        return MG_INT;
    if (strcmp(pg_type, "double precision") == 0 || strcmp(pg_type, "real") == 0)
        return MG_REAL;
    if (strcmp(pg_type, "bytea") == 0)
        return MG_BLOB;
    return MG_TEXT;
}

/* The columns SQLite has, by name; *n = 0 when the table does not exist there. */
static int mg_sqlite_cols(sqlite3 *src, const char *table, char (*names)[MG_NAME_MAX], size_t *n)
{
    sqlite3_stmt *s = NULL;
    *n = 0;
    int src_rc = sqlite3_prepare_v2(src, "SELECT name FROM pragma_table_info(?1)", -1, &s, NULL);
    if (src_rc == SQLITE_OK)
        sqlite3_bind_text(s, 1, table, -1, SQLITE_STATIC);
    while (src_rc == SQLITE_OK && (src_rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *v = (const char *)sqlite3_column_text(s, 0);
        if (*n == MG_COLS_MAX || v == NULL || strlen(v) >= MG_NAME_MAX) {
            sqlite3_finalize(s);
            return zt_store_seterr(-EINVAL, "SQLite table %s has a column ztgate did not make",
                                   table);
        }
        snprintf(names[(*n)++], MG_NAME_MAX, "%s", v);
        src_rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    if (src_rc != SQLITE_DONE)
        return zt_store_seterr(-EIO, "reading the columns of SQLite table %s: %s", table,
                               sqlite3_errmsg(src));
    return 0;
}

static bool mg_has(char (*names)[MG_NAME_MAX], size_t n, const char *name)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return true;
    return false;
}

static const char mg_cols_sql[] =
    "SELECT a.attname, format_type(a.atttypid, a.atttypmod), (a.attidentity <> '')::int, "
    "  COALESCE(array_position(i.indkey::int2[], a.attnum), 0) "
    "FROM pg_attribute a LEFT JOIN pg_index i ON i.indrelid = a.attrelid AND i.indisprimary "
    "WHERE a.attrelid = to_regclass($1) AND a.attnum > 0 AND NOT a.attisdropped "
    "ORDER BY a.attnum";

/* Every SQLite column must have a place in PostgreSQL, or its values would be lost. */
static int mg_check_kept(const mg_table *t, char (*lite)[MG_NAME_MAX], size_t n_lite)
{
    for (size_t i = 0; i < n_lite; i++) {
        bool found = false;
        for (size_t j = 0; j < t->n_cols; j++)
            found = found || strcmp(t->cols[j], lite[i]) == 0;
        if (!found)
            return zt_store_seterr(-EINVAL,
                                   "column %s.%s of the SQLite store has no place in the "
                                   "PostgreSQL schema (it would be lost): is this ztgate older "
                                   "than the one that wrote the SQLite file?",
                                   t->name, lite[i]);
    }
    return 0;
}

/* Key columns in key order; a table without a primary key is ordered by every column. */
static void mg_key_order(mg_table *t, const int *key_pos)
{
    for (int pos = 1; pos <= MG_COLS_MAX; pos++)
        for (size_t i = 0; i < t->n_cols; i++)
            if (key_pos[i] == pos)
                t->key[t->n_key++] = i;
    if (t->n_key > 0)
        return;
    for (size_t i = 0; i < t->n_cols; i++)
        t->key[i] = i;
    t->n_key = t->n_cols;
}

/* The copied columns: PostgreSQL's that SQLite also has, in PostgreSQL's order (a PostgreSQL
 * column SQLite lacks keeps its default). */
static int mg_describe(pg_conn *c, sqlite3 *src, const char *name, mg_table *t)
{
    char lite[MG_COLS_MAX][MG_NAME_MAX];
    size_t n_lite = 0;
    int rc = mg_sqlite_cols(src, name, lite, &n_lite);
    if (rc != 0)
        return rc;
    if (n_lite == 0)
        return zt_store_seterr(-EIO, "the SQLite store has no table %s", name);
    pg_params p = {0};
    pg_text(&p, name);
    PGresult *r = NULL;
    rc = pg_q(c, mg_cols_sql, &p, &r, NULL, "reading the target's columns");
    if (rc != 0)
        return rc;
    memset(t, 0, sizeof(*t));
    t->name = name;
    int key_pos[MG_COLS_MAX] = {0};
    for (int row = 0; rc == 0 && row < PQntuples(r); row++) {
        const char *col = PQgetvalue(r, row, 0);
        if (!mg_has(lite, n_lite, col))
            continue;
        if (t->n_cols == MG_COLS_MAX || strlen(col) >= MG_NAME_MAX) {
            rc = zt_store_seterr(-EINVAL, "target table %s has too many columns", name);
            break;
        }
        size_t i = t->n_cols++;
        snprintf(t->cols[i], MG_NAME_MAX, "%s", col);
        t->kinds[i] = mg_kind_of(PQgetvalue(r, row, 1));
        t->identity[i] = pg_col_int(r, row, 2) != 0;
        key_pos[i] = (int)pg_col_int(r, row, 3);
    }
    PQclear(r);
    rc = rc ? rc : mg_check_kept(t, lite, n_lite);
    if (rc == 0)
        mg_key_order(t, key_pos);
    return rc;
}

/* ---- SQL built from the descriptions (names come from the catalogs, quoted anyway) ---- */

typedef struct mg_sql {
    char text[MG_SQL_MAX];
    size_t len;
    bool overflow;
} mg_sql;

static void mg_add(mg_sql *q, const char *s)
{
    size_t n = strlen(s);
    if (q->len + n >= sizeof(q->text)) {
        q->overflow = true;
        return;
    }
    memcpy(q->text + q->len, s, n + 1);
    q->len += n;
}

static void mg_ident(mg_sql *q, const char *name)
{
    mg_add(q, "\"");
    mg_add(q, name);
    mg_add(q, "\"");
}

static void mg_col_list(mg_sql *q, const mg_table *t)
{
    for (size_t i = 0; i < t->n_cols; i++) {
        if (i > 0)
            mg_add(q, ", ");
        mg_ident(q, t->cols[i]);
    }
}

/* SELECT every copied column in primary-key order, bytewise for text on both sides. */
static int mg_select_sql(mg_sql *q, const mg_table *t, bool pg)
{
    memset(q, 0, sizeof(*q));
    mg_add(q, "SELECT ");
    mg_col_list(q, t);
    mg_add(q, " FROM ");
    mg_ident(q, t->name);
    mg_add(q, " ORDER BY ");
    for (size_t k = 0; k < t->n_key; k++) {
        size_t i = t->key[k];
        if (k > 0)
            mg_add(q, ", ");
        mg_ident(q, t->cols[i]);
        if (t->kinds[i] == MG_TEXT)
            mg_add(q, pg ? " COLLATE \"C\"" : " COLLATE BINARY");
    }
    return q->overflow ? zt_store_seterr(-EINVAL, "statement for table %s too long", t->name) : 0;
}

/* ---- values ---- */

/* A SQLite value as the column's PostgreSQL kind expects it; a value of another class is a
 * row PostgreSQL cannot hold as it is (a file edited by hand): refused, not converted. */
static int mg_sqlite_val(sqlite3_stmt *s, int col, mg_kind kind, mg_val *v)
{
    int type = sqlite3_column_type(s, col);
    memset(v, 0, sizeof(*v));
    v->type = 'N';
    if (type == SQLITE_NULL)
        return 0;
    if (kind == MG_INT && type == SQLITE_INTEGER) {
        v->type = 'I';
        v->i = sqlite3_column_int64(s, col);
    } else if (kind == MG_REAL && (type == SQLITE_FLOAT || type == SQLITE_INTEGER)) {
        v->type = 'R';
        v->r = sqlite3_column_double(s, col);
    } else if ((kind == MG_TEXT && type == SQLITE_TEXT) ||
               (kind == MG_BLOB && type == SQLITE_BLOB)) {
        v->type = kind == MG_TEXT ? 'T' : 'B';
        v->p = kind == MG_TEXT ? sqlite3_column_text(s, col) : sqlite3_column_blob(s, col);
        v->n = (size_t)sqlite3_column_bytes(s, col);
        if (kind == MG_TEXT && v->p != NULL && memchr(v->p, '\0', v->n) != NULL)
            return -EINVAL;
    } else {
        return -EINVAL;
    }
    return 0;
}

/* A value of PostgreSQL's text-format result; bytea's hex is decoded into scratch. */
static int mg_pg_val(const PGresult *r, int col, mg_kind kind, zt_buf *scratch, mg_val *v)
{
    memset(v, 0, sizeof(*v));
    v->type = 'N';
    if (PQgetisnull(r, 0, col))
        return 0;
    const char *text = PQgetvalue(r, 0, col);
    size_t len = (size_t)PQgetlength(r, 0, col);
    switch (kind) {
    case MG_INT:
        v->type = 'I';
        v->i = strtoll(text, NULL, 10);
        return 0;
    case MG_REAL:
        v->type = 'R';
        v->r = strtod(text, NULL);
        return 0;
    case MG_TEXT:
        v->type = 'T';
        v->p = (const unsigned char *)text;
        v->n = len;
        return 0;
    case MG_BLOB:
        break;
    }
    if (len < 2 || text[0] != '\\' || text[1] != 'x' || len % 2 != 0)
        return zt_store_seterr(-EIO, "bytea read back in an unexpected form");
    size_t n = (len - 2) / 2;
    zt_buf_reset(scratch);
    int rc = zt_buf_reserve(scratch, n + 1);
    if (rc != 0 || !zt_hex_decode(text + 2, len - 2, (unsigned char *)scratch->data, n, false))
        return zt_store_seterr(rc != 0 ? rc : -EIO, "bytea read back in an unexpected form");
    v->type = 'B';
    v->p = (const unsigned char *)scratch->data;
    v->n = n;
    return 0;
}

/* The canonical rendering (top of file) of one value into the hash. */
static void mg_hash_val(EVP_MD_CTX *h, const mg_val *v)
{
    char head[64];
    int n = 0;
    switch (v->type) {
    case 'I':
        n = snprintf(head, sizeof(head), "I%" PRId64 ";", v->i);
        break;
    case 'R':
        n = snprintf(head, sizeof(head), "R%.17g;", v->r);
        break;
    case 'T':
    case 'B':
        n = snprintf(head, sizeof(head), "%c%zu:", v->type, v->n);
        break;
    default:
        n = snprintf(head, sizeof(head), "N");
    }
    EVP_DigestUpdate(h, head, (size_t)n);
    if ((v->type == 'T' || v->type == 'B') && v->n > 0)
        EVP_DigestUpdate(h, v->p, v->n);
}

/* COPY's text format: backslash, tab, newline and carriage return escaped; NULL is \N; a
 * bytea is its own text input (\x and hex), whose backslash COPY needs doubled. */
static int mg_copy_val(zt_buf *b, const mg_val *v)
{
    static const char hex[] = "0123456789abcdef";
    switch (v->type) {
    case 'N':
        return zt_buf_append_str(b, "\\N");
    case 'I':
        return zt_buf_printf(b, "%" PRId64, v->i);
    case 'R':
        return zt_buf_printf(b, "%.17g", v->r);
    case 'B': {
        int rc = zt_buf_reserve(b, 3 + 2 * v->n);
        rc = rc ? rc : zt_buf_append_str(b, "\\\\x");
        for (size_t i = 0; rc == 0 && i < v->n; i++) {
            char two[2] = {hex[v->p[i] >> 4], hex[v->p[i] & 15]};
            rc = zt_buf_append(b, two, 2);
        }
        return rc;
    }
    default:
        break;
    }
    int rc = zt_buf_reserve(b, v->n);
    for (size_t i = 0; rc == 0 && i < v->n; i++) {
        unsigned char ch = v->p[i];
        const char *esc = ch == '\\'   ? "\\\\"
                          : ch == '\t' ? "\\t"
                          : ch == '\n' ? "\\n"
                          : ch == '\r' ? "\\r"
                                       : NULL;
        rc = esc != NULL ? zt_buf_append_str(b, esc) : zt_buf_append_char(b, (char)ch);
    }
    return rc;
}

static void mg_hex_digest(EVP_MD_CTX *h, char out[65])
{
    unsigned char md[32];
    unsigned int n = 0;
    EVP_DigestFinal_ex(h, md, &n);
    for (unsigned i = 0; i < 32; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/* ---- reading the source ---- */

static int mg_sqlite_fail(sqlite3 *src, const mg_table *t)
{
    return zt_store_seterr(-EIO, "reading SQLite table %s: %s", t->name, sqlite3_errmsg(src));
}

static int mg_bad_row(const mg_table *t, uint64_t row, size_t col)
{
    return zt_store_seterr(-EINVAL,
                           "SQLite table %s, row %" PRIu64 " in key order: column %s holds a "
                           "value PostgreSQL's %s column cannot take as it is (edited by hand?)",
                           t->name, row + 1, t->cols[col],
                           t->kinds[col] == MG_INT    ? "integer"
                           : t->kinds[col] == MG_REAL ? "real"
                           : t->kinds[col] == MG_TEXT ? "text (without NUL)"
                                                      : "bytea");
}

typedef int (*mg_row_fn)(void *arg, const mg_table *t, const mg_val *vals);

/* Every row of t in key order, as values checked against the target's kinds. */
static int mg_sqlite_rows(sqlite3 *src, const mg_table *t, mg_row_fn fn, void *arg, uint64_t *rows)
{
    mg_sql q;
    int rc = mg_select_sql(&q, t, false);
    sqlite3_stmt *s = NULL;
    if (rc == 0 && sqlite3_prepare_v2(src, q.text, -1, &s, NULL) != SQLITE_OK)
        rc = mg_sqlite_fail(src, t);
    mg_val vals[MG_COLS_MAX];
    int step = SQLITE_DONE;
    *rows = 0;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        for (size_t i = 0; rc == 0 && i < t->n_cols; i++)
            if (mg_sqlite_val(s, (int)i, t->kinds[i], &vals[i]) != 0)
                rc = mg_bad_row(t, *rows, i);
        rc = rc ? rc : fn(arg, t, vals);
        (*rows)++;
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = mg_sqlite_fail(src, t);
    sqlite3_finalize(s);
    return rc;
}

static int mg_hash_row(void *arg, const mg_table *t, const mg_val *vals)
{
    EVP_MD_CTX *h = arg;
    for (size_t i = 0; i < t->n_cols; i++)
        mg_hash_val(h, &vals[i]);
    EVP_DigestUpdate(h, "\n", 1);
    return 0;
}

static int mg_sqlite_sum(sqlite3 *src, const mg_table *t, uint64_t *rows, char sum[65])
{
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1) {
        EVP_MD_CTX_free(h);
        return zt_store_seterr(-ENOMEM, "out of memory");
    }
    int rc = mg_sqlite_rows(src, t, mg_hash_row, h, rows);
    mg_hex_digest(h, sum);
    EVP_MD_CTX_free(h);
    return rc;
}

/* ---- the target ---- */

static int mg_pg_fail(PGconn *db, const PGresult *r, const char *what, const char *table)
{
    char msg[512];
    const char *src = r != NULL ? PQresultErrorMessage(r) : NULL;
    snprintf(msg, sizeof(msg), "%s", src != NULL && src[0] != '\0' ? src : PQerrorMessage(db));
    msg[strcspn(msg, "\n")] = '\0';
    return zt_store_seterr(-EIO, "%s %s: %s", what, table, msg);
}

static int mg_exec(PGconn *db, const char *sql, const char *what, const char *table)
{
    PGresult *r = PQexec(db, sql);
    ExecStatusType st = PQresultStatus(r);
    int rc = st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK ? 0 : mg_pg_fail(db, r, what, table);
    PQclear(r);
    return rc;
}

/* Every row of t read back in key order (one row in memory at a time), hashed. */
static int mg_pg_sum(PGconn *db, const mg_table *t, uint64_t *rows, char sum[65])
{
    mg_sql q;
    int rc = mg_select_sql(&q, t, true);
    if (rc != 0)
        return rc;
    if (!PQsendQuery(db, q.text) || !PQsetSingleRowMode(db))
        return mg_pg_fail(db, NULL, "reading back", t->name);
    EVP_MD_CTX *h = EVP_MD_CTX_new();
    if (h == NULL || EVP_DigestInit_ex(h, EVP_sha256(), NULL) != 1)
        rc = zt_store_seterr(-ENOMEM, "out of memory");
    zt_buf scratch;
    zt_buf_init(&scratch, 0);
    *rows = 0;
    PGresult *r;
    while ((r = PQgetResult(db)) != NULL) {
        ExecStatusType st = PQresultStatus(r);
        if (rc == 0 && st == PGRES_SINGLE_TUPLE) {
            /* Hashed as decoded: a bytea value lives in scratch only until the next one. */
            for (size_t i = 0; rc == 0 && i < t->n_cols; i++) {
                mg_val v;
                rc = mg_pg_val(r, (int)i, t->kinds[i], &scratch, &v);
                if (rc == 0)
                    mg_hash_val(h, &v);
            }
            if (rc == 0)
                EVP_DigestUpdate(h, "\n", 1);
            (*rows)++;
        } else if (rc == 0 && st != PGRES_TUPLES_OK) {
            rc = mg_pg_fail(db, r, "reading back", t->name);
        }
        PQclear(r);
    }
    if (h != NULL)
        mg_hex_digest(h, sum);
    EVP_MD_CTX_free(h);
    zt_buf_dispose(&scratch);
    return rc;
}

typedef struct mg_copy {
    PGconn *db;
    zt_buf buf;
} mg_copy;

static int mg_copy_send(mg_copy *cp, const mg_table *t)
{
    if (cp->buf.len == 0)
        return 0;
    if (PQputCopyData(cp->db, cp->buf.data, (int)cp->buf.len) != 1)
        return mg_pg_fail(cp->db, NULL, "copying into", t->name);
    zt_buf_reset(&cp->buf);
    return 0;
}

static int mg_copy_row(void *arg, const mg_table *t, const mg_val *vals)
{
    mg_copy *cp = arg;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < t->n_cols; i++) {
        rc = i > 0 ? zt_buf_append_char(&cp->buf, '\t') : 0;
        rc = rc ? rc : mg_copy_val(&cp->buf, &vals[i]);
    }
    rc = rc ? rc : zt_buf_append_char(&cp->buf, '\n');
    if (rc != 0)
        return zt_store_seterr(rc, "out of memory copying %s", t->name);
    return cp->buf.len >= MG_COPY_CHUNK ? mg_copy_send(cp, t) : 0;
}

/* COPY t FROM STDIN fed from SQLite; a failure on our side aborts the COPY (PQputCopyEnd with
 * a message), which fails the statement and so the transaction. */
static int mg_copy_table(mg_ctx *x, const mg_table *t, uint64_t *rows)
{
    mg_sql q = {0};
    mg_add(&q, "COPY ");
    mg_ident(&q, t->name);
    mg_add(&q, " (");
    mg_col_list(&q, t);
    mg_add(&q, ") FROM STDIN");
    if (q.overflow)
        return zt_store_seterr(-EINVAL, "statement for table %s too long", t->name);
    PGresult *r = PQexec(x->db, q.text);
    int rc = PQresultStatus(r) == PGRES_COPY_IN ? 0 : mg_pg_fail(x->db, r, "copying into", t->name);
    PQclear(r);
    if (rc != 0)
        return rc;
    mg_copy cp = {.db = x->db};
    zt_buf_init(&cp.buf, 0);
    rc = mg_sqlite_rows(x->src, t, mg_copy_row, &cp, rows);
    rc = rc ? rc : mg_copy_send(&cp, t);
    zt_buf_dispose(&cp.buf);
    /* Our own failure keeps its message: PostgreSQL's answer is only read for the record. */
    if (PQputCopyEnd(x->db, rc == 0 ? NULL : "the source could not be read") != 1 && rc == 0)
        rc = mg_pg_fail(x->db, NULL, "copying into", t->name);
    while ((r = PQgetResult(x->db)) != NULL) {
        if (rc == 0 && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = mg_pg_fail(x->db, r, "copying into", t->name);
        PQclear(r);
    }
    return rc;
}

/* Each identity sequence past the largest id copied, so the next row gets a fresh one. */
static int mg_set_sequences(mg_ctx *x, const mg_table *t)
{
    for (size_t i = 0; i < t->n_cols; i++) {
        if (!t->identity[i])
            continue;
        char sql[512];
        snprintf(sql, sizeof(sql),
                 "SELECT setval(pg_get_serial_sequence('\"%s\"', '%s'), m) "
                 "FROM (SELECT max(\"%s\") AS m FROM \"%s\") s WHERE m IS NOT NULL",
                 t->name, t->cols[i], t->cols[i], t->name);
        int rc = mg_exec(x->db, sql, "setting the id sequence of", t->name);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* Every table locked against writers for the whole copy, then each must be empty. */
static int mg_lock_empty(mg_ctx *x)
{
    mg_sql q = {0};
    mg_add(&q, "SET LOCAL statement_timeout = 0; LOCK TABLE ");
    for (size_t i = 0; i < x->n; i++) {
        if (i > 0)
            mg_add(&q, ", ");
        mg_ident(&q, x->tables[i].name);
    }
    mg_add(&q, " IN EXCLUSIVE MODE");
    int rc = q.overflow ? zt_store_seterr(-EINVAL, "lock statement too long")
                        : mg_exec(x->db, q.text, "locking", "the target tables");
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql), "SELECT 1 FROM \"%s\" LIMIT 1", x->tables[i].name);
        PGresult *r = PQexec(x->db, sql);
        if (PQresultStatus(r) != PGRES_TUPLES_OK)
            rc = mg_pg_fail(x->db, r, "reading", x->tables[i].name);
        else if (PQntuples(r) > 0)
            rc = zt_store_seterr(-EEXIST,
                                 "the target database is not empty (table %s has rows): migrate "
                                 "only fills a fresh schema; point store.dsn at a new database "
                                 "or schema",
                                 x->tables[i].name);
        PQclear(r);
    }
    return rc;
}

static int mg_compare(const zt_migrate_table *m)
{
    if (m->rows_source == m->rows_target && strcmp(m->sum_source, m->sum_target) == 0)
        return 0;
    return zt_store_seterr(-EPROTO,
                           "table %s differs after the copy: %" PRIu64 " rows, SHA-256 %.16s "
                           "in SQLite; %" PRIu64 " rows, SHA-256 %.16s in PostgreSQL",
                           m->name, m->rows_source, m->sum_source, m->rows_target, m->sum_target);
}

static int mg_copy_txn(pg_conn *c, void *arg)
{
    (void)c;
    mg_ctx *x = arg;
    int rc = mg_lock_empty(x);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        uint64_t rows = 0;
        rc = mg_copy_table(x, &x->tables[i], &rows);
        rc = rc ? rc : mg_set_sequences(x, &x->tables[i]);
    }
    /* Checked before the commit too, so a difference leaves nothing behind. */
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        zt_migrate_table *m = &x->rep->tables[i];
        rc = mg_pg_sum(x->db, &x->tables[i], &m->rows_target, m->sum_target);
        rc = rc ? rc : mg_compare(m);
    }
    return rc;
}

/* ---- the whole ---- */

static int mg_describe_all(mg_ctx *x, pg_conn *c)
{
    size_t n = 0;
    while (pg_copy_tables[n] != NULL)
        n++;
    if (n > ZT_MIGRATE_TABLES_MAX)
        return zt_store_seterr(-EINVAL, "more tables than ZT_MIGRATE_TABLES_MAX");
    x->tables = calloc(n, sizeof(*x->tables));
    if (x->tables == NULL)
        return zt_store_seterr(-ENOMEM, "out of memory");
    x->n = n;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = mg_describe(c, x->src, pg_copy_tables[i], &x->tables[i]);
    return rc;
}

static int mg_run(mg_ctx *x, pg_conn *c)
{
    int rc = mg_describe_all(x, c);
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        zt_migrate_table *m = &x->rep->tables[i];
        m->name = x->tables[i].name;
        x->rep->n = i + 1;
        rc = mg_sqlite_sum(x->src, &x->tables[i], &m->rows_source, m->sum_source);
    }
    rc = rc ? rc : pg_txn(c, mg_copy_txn, x);
    /* After the commit: a fresh read of every table is what the report shows. */
    for (size_t i = 0; rc == 0 && i < x->n; i++) {
        zt_migrate_table *m = &x->rep->tables[i];
        rc = mg_pg_sum(x->db, &x->tables[i], &m->rows_target, m->sum_target);
    }
    for (size_t i = 0; rc == 0 && i < x->n; i++)
        rc = mg_compare(&x->rep->tables[i]);
    return rc;
}

int zt_store_migrate(const char *state_dir, zt_store *target, zt_migrate_report *rep)
{
    memset(rep, 0, sizeof(*rep));
    if (target == NULL || strcmp(zt_store_backend_name(target), "postgresql") != 0)
        return zt_store_seterr(-EINVAL, "the target store must be PostgreSQL (store.backend: "
                                        "postgresql in the config)");
    mg_ctx x = {.rep = rep};
    int rc = mg_open_source(state_dir, &x.src);
    pg_conn *c = NULL;
    rc = rc ? rc : pg_enter(target, &c);
    if (rc == 0) {
        x.db = pg_db(c);
        rc = mg_run(&x, c);
    }
    if (x.src != NULL) {
        sqlite3_exec(x.src, "ROLLBACK", NULL, NULL, NULL);
        sqlite3_close(x.src);
    }
    free(x.tables);
    return rc;
}
