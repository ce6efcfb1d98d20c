/* The PostgreSQL backend's machinery: one connection per calling thread (made on first use,
 * remade after the database went away), statements prepared once per connection, parameters
 * and results, transactions with retry, and the schema check and migrations at open. The
 * operations themselves are in pg_core.c and pg_<table>.c (conventions in pg_int.h).
 *
 * Why a connection per thread, like the SQLite backend: the event loops and the libuv pool call
 * the store synchronously, so a thread never has two statements in flight and needs no pool
 * to borrow from; N gateways x (loops + pool threads) connections is the whole count
 * (docs/SCALING.md). A thread whose database went away fails fast: after a failed connect no
 * thread tries again for PG_RETRY_MS, so an outage costs a refused request, not a loop held
 * in connect() on every request. */
#include "store/pg_int.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/secure.h"
#include "store/pg_schema.h"

#define PG_STMT_SLOTS 1024 /* prepared statements per connection (the store has ~400) */
#define PG_RETRY_MS 1000   /* after a failed connect, threads fail fast this long */
#define PG_TXN_TRIES 3
#define PG_DEFAULT_TIMEOUT_MS 5000
#define PG_MIGRATE_LOCK 0x7a746777 /* "ztgw": the advisory lock migrations run under */

typedef struct pg_slot {
    const char *sql; /* the literal's address; NULL = free */
} pg_slot;

struct pg_conn {
    PGconn *db;
    struct pg_store *store;
    struct pg_conn *next;
    bool in_cb;
    bool in_txn;
    pg_slot slots[PG_STMT_SLOTS];
};

typedef struct pg_store {
    zt_store base;
    char *dsn;
    unsigned timeout_ms;
    pthread_key_t key;
    pthread_mutex_t mu; /* guards conns */
    pg_conn *conns;
    _Atomic int64_t retry_after_ms; /* monotonic ms before which nobody reconnects */
    _Atomic bool down;              /* the last connect failed */
    _Atomic bool probing;           /* a thread is connecting while down */
} pg_store;

extern const zt_store_ops pg_ops; /* pg_core.c */

static int64_t pg_mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- parameters ---- */

static bool pg_param_room(pg_params *p)
{
    /* A statement with more parameters than PG_PARAMS_MAX is a bug in this file, not input. */
    if (p->n < PG_PARAMS_MAX)
        return true;
    p->n = PG_PARAMS_MAX + 1; /* pg_q refuses it */
    return false;
}

void pg_text(pg_params *p, const char *v)
{
    if (!pg_param_room(p))
        return;
    p->values[p->n] = v;
    p->lengths[p->n] = 0;
    p->formats[p->n] = 0;
    p->n++;
}

void pg_int(pg_params *p, int64_t v)
{
    if (!pg_param_room(p))
        return;
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%" PRId64, v);
    pg_text(p, p->num[p->n]);
}

void pg_bool(pg_params *p, bool v)
{
    pg_int(p, v ? 1 : 0);
}

void pg_real(pg_params *p, double v)
{
    if (!pg_param_room(p))
        return;
    /* %.17g round-trips every double. */
    snprintf(p->num[p->n], sizeof(p->num[p->n]), "%.17g", v);
    pg_text(p, p->num[p->n]);
}

void pg_blob(pg_params *p, const void *v, size_t n)
{
    if (!pg_param_room(p))
        return;
    /* An empty blob still needs a non-NULL pointer, or libpq sends SQL NULL. */
    p->values[p->n] = v != NULL ? v : "";
    p->lengths[p->n] = (int)n;
    p->formats[p->n] = 1;
    p->n++;
}

/* ---- errors ---- */

/* The server's message without anything that could carry the connection string: libpq's
 * messages name host and user at most, never the password; cut at the first newline. */
static void pg_message(const char *src, char *dst, size_t cap)
{
    snprintf(dst, cap, "%s", src != NULL && src[0] != '\0' ? src : "unknown error");
    dst[strcspn(dst, "\n")] = '\0';
}

static int pg_sqlstate_rc(const char *state)
{
    if (state == NULL)
        return -EIO;
    if (strcmp(state, "23505") == 0)
        return -EEXIST;
    if (strcmp(state, "23503") == 0)
        return -ENOENT;
    if (strcmp(state, "23514") == 0 || strcmp(state, "23502") == 0 || strncmp(state, "22", 2) == 0)
        return -EINVAL;
    if (strcmp(state, "40001") == 0 || strcmp(state, "40P01") == 0 || strcmp(state, "55P03") == 0 ||
        strcmp(state, "57014") == 0)
        return -EBUSY;
    return -EIO;
}

static int pg_fail(pg_conn *c, const PGresult *r, const char *what)
{
    char msg[256];
    const char *state = r != NULL ? PQresultErrorField(r, PG_DIAG_SQLSTATE) : NULL;
    const char *src = r != NULL ? PQresultErrorMessage(r) : NULL;
    if (src == NULL || src[0] == '\0')
        src = PQerrorMessage(c->db);
    pg_message(src, msg, sizeof(msg));
    int rc = PQstatus(c->db) == CONNECTION_OK ? pg_sqlstate_rc(state) : -EIO;
    return zt_store_seterr(rc, "%s: %s", what, msg);
}

/* ---- connections ---- */

static void pg_conn_free(pg_conn *c)
{
    if (c == NULL)
        return;
    PQfinish(c->db);
    free(c);
}

/* Defaults under whatever the configured connection string says (it is expanded after these,
 * so it wins): TLS with the server's certificate and name verified (libpq's own default,
 * "prefer", silently falls back to plain text and verifies nothing; on a Unix socket sslmode
 * does not apply), keepalives and a TCP user timeout so a partitioned database is noticed in
 * seconds rather than at the kernel's two hours, and the store's statement and lock timeout. */
static PGconn *pg_connect(const pg_store *s)
{
    char opts[96];
    snprintf(opts, sizeof(opts), "-c statement_timeout=%u -c lock_timeout=%u", s->timeout_ms,
             s->timeout_ms);
    const char *keys[] = {"sslmode",
                          "connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          "options",
                          "dbname",
                          NULL};
    const char *vals[] = {"verify-full", "3",      "1",  "5",    "2", "3",
                          "10000",       "ztgate", opts, s->dsn, NULL};
    return PQconnectdbParams(keys, vals, 1);
}

/* libpq prints server notices (NOTICE, WARNING) to stderr by default; the store never prints. */
static void pg_quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

/* Whether this thread may try to connect now. While the database is known down, one thread at
 * a time probes it (a connect to a partitioned host blocks up to connect_timeout) and the others
 * fail at once, so an event loop that needs the store is not held in connect() by every
 * request; between probes, PG_RETRY_MS of failing fast. Until a connect has failed, every
 * thread connects freely (first use at start, a restart whose connects are refused at once). */
static bool pg_may_connect(pg_store *s, bool *probe)
{
    *probe = false;
    if (pg_mono_ms() < atomic_load(&s->retry_after_ms))
        return false;
    if (!atomic_load(&s->down))
        return true;
    bool idle = false;
    *probe = atomic_compare_exchange_strong(&s->probing, &idle, true);
    return *probe;
}

static void pg_connected(pg_store *s, bool probe, bool ok)
{
    if (!ok)
        atomic_store(&s->retry_after_ms, pg_mono_ms() + PG_RETRY_MS);
    atomic_store(&s->down, !ok);
    if (probe)
        atomic_store(&s->probing, false);
}

void pg_reachable_again(zt_store *st)
{
    pg_store *s = (pg_store *)st;
    atomic_store(&s->down, false);
    atomic_store(&s->retry_after_ms, 0);
}

static int pg_conn_setup(pg_conn *c)
{
    if (PQstatus(c->db) != CONNECTION_OK) {
        char msg[256];
        pg_message(PQerrorMessage(c->db), msg, sizeof(msg));
        return zt_store_seterr(-EIO, "cannot reach the database: %s", msg);
    }
    PQsetNoticeProcessor(c->db, pg_quiet, NULL);
    /* UTF-8 both ways whatever the server's default; times are ours (Unix seconds). */
    if (PQsetClientEncoding(c->db, "UTF8") != 0)
        return zt_store_seterr(-EIO, "the database does not accept UTF-8");
    return 0;
}

static int pg_conn_open(pg_store *s, pg_conn **out)
{
    bool probe = false;
    if (!pg_may_connect(s, &probe))
        return zt_store_seterr(-EIO, "the database is unreachable (retrying shortly)");
    pg_conn *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        pg_connected(s, probe, !atomic_load(&s->down));
        return zt_store_seterr(-ENOMEM, "out of memory");
    }
    c->store = s;
    c->db = pg_connect(s);
    int rc = c->db == NULL ? zt_store_seterr(-ENOMEM, "out of memory") : pg_conn_setup(c);
    pg_connected(s, probe, c->db == NULL || PQstatus(c->db) == CONNECTION_OK);
    if (rc != 0) {
        pg_conn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

/* After the server went away (restart, failover, network): the same connection object
 * reconnects; its prepared statements are gone with the old session. */
static int pg_conn_reset(pg_conn *c)
{
    bool probe = false;
    if (!pg_may_connect(c->store, &probe))
        return zt_store_seterr(-EIO, "the database is unreachable (retrying shortly)");
    memset(c->slots, 0, sizeof(c->slots));
    c->in_txn = false;
    PQreset(c->db);
    pg_connected(c->store, probe, PQstatus(c->db) == CONNECTION_OK);
    return pg_conn_setup(c);
}

int pg_enter(zt_store *st, pg_conn **out)
{
    pg_store *s = (pg_store *)st;
    pg_conn *c = pthread_getspecific(s->key);
    if (c != NULL && c->in_cb)
        return zt_store_seterr(-EDEADLK, "store called from inside one of its list callbacks");
    if (c == NULL) {
        int rc = pg_conn_open(s, &c);
        if (rc != 0)
            return rc;
        pthread_mutex_lock(&s->mu);
        c->next = s->conns;
        s->conns = c;
        pthread_mutex_unlock(&s->mu);
        pthread_setspecific(s->key, c);
    } else if (PQstatus(c->db) != CONNECTION_OK) {
        int rc = pg_conn_reset(c);
        if (rc != 0)
            return rc;
    }
    *out = c;
    return 0;
}

PGconn *pg_db(pg_conn *c)
{
    return c->db;
}

void pg_cb_begin(pg_conn *c)
{
    c->in_cb = true;
}

void pg_cb_end(pg_conn *c)
{
    c->in_cb = false;
}

/* ---- statements ---- */

/* The slot of sql on this connection: found, or claimed (then prepared as "s<index>"). */
static int pg_prepared(pg_conn *c, const char *sql, char name[16])
{
    size_t h = (size_t)(((uintptr_t)sql >> 3) * 0x9e3779b97f4a7c15ull);
    for (size_t i = 0; i < PG_STMT_SLOTS; i++) {
        size_t at = (h + i) % PG_STMT_SLOTS;
        pg_slot *e = &c->slots[at];
        snprintf(name, 16, "s%zu", at);
        if (e->sql == sql)
            return 0;
        if (e->sql != NULL)
            continue;
        PGresult *r = PQprepare(c->db, name, sql, 0, NULL);
        int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(c, r, "preparing");
        PQclear(r);
        if (rc == 0)
            e->sql = sql;
        return rc;
    }
    return zt_store_seterr(-EIO, "too many distinct statements on one connection");
}

static PGresult *pg_send(pg_conn *c, const char *sql, const pg_params *p, int *rc)
{
    char name[16];
    static const pg_params none;
    if (p == NULL)
        p = &none;
    if (p->n > PG_PARAMS_MAX) {
        *rc = zt_store_seterr(-EINVAL, "too many statement parameters");
        return NULL;
    }
    *rc = pg_prepared(c, sql, name);
    if (*rc != 0)
        return NULL;
    return PQexecPrepared(c->db, name, p->n, p->values, p->lengths, p->formats, 0);
}

int pg_q(pg_conn *c, const char *sql, const pg_params *p, PGresult **res, int64_t *changes,
         const char *what)
{
    if (res != NULL)
        *res = NULL;
    int rc = 0;
    PGresult *r = pg_send(c, sql, p, &rc);
    /* A connection that died since its last use (server restart) is remade once, outside a
     * transaction only: inside one, the transaction is gone and the caller must fail. */
    if (rc == 0 && PQstatus(c->db) != CONNECTION_OK && !c->in_txn) {
        PQclear(r);
        r = NULL;
        rc = pg_conn_reset(c);
        if (rc == 0)
            r = pg_send(c, sql, p, &rc);
    } else if (rc != 0 && PQstatus(c->db) != CONNECTION_OK && !c->in_txn) {
        rc = pg_conn_reset(c);
        if (rc == 0)
            r = pg_send(c, sql, p, &rc);
    }
    if (rc != 0) {
        PQclear(r);
        return rc;
    }
    ExecStatusType st = PQresultStatus(r);
    if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
        rc = pg_fail(c, r, what);
        PQclear(r);
        return rc;
    }
    if (changes != NULL) {
        const char *n = PQcmdTuples(r);
        *changes = n != NULL && n[0] != '\0' ? strtoll(n, NULL, 10) : 0;
    }
    if (res != NULL)
        *res = r;
    else
        PQclear(r);
    return 0;
}

int pg_run(pg_conn *c, const char *sql, const pg_params *p, int64_t *changes, const char *what)
{
    return pg_q(c, sql, p, NULL, changes, what);
}

/* ---- transactions ---- */

static int pg_simple(pg_conn *c, const char *sql, const char *what)
{
    PGresult *r = PQexec(c->db, sql);
    int rc = PQresultStatus(r) == PGRES_COMMAND_OK ? 0 : pg_fail(c, r, what);
    PQclear(r);
    return rc;
}

static bool pg_retryable(void)
{
    /* pg_fail mapped 40001/40P01 (and lock/statement timeouts) to -EBUSY; only the first two
     * are worth running again at once, and the message says which it was. */
    const char *m = zt_store_errmsg();
    return strstr(m, "deadlock") != NULL || strstr(m, "serializ") != NULL;
}

int pg_txn(pg_conn *c, pg_txn_fn fn, void *arg)
{
    int rc = 0;
    for (int attempt = 0; attempt < PG_TXN_TRIES; attempt++) {
        if (PQstatus(c->db) != CONNECTION_OK && (rc = pg_conn_reset(c)) != 0)
            return rc;
        rc = pg_simple(c, "BEGIN", "starting a transaction");
        /* A connection the server dropped while idle (restart, failover) still says OK until
         * it is used: BEGIN is where that shows, and nothing has run yet, so reconnect once. */
        if (rc != 0 && PQstatus(c->db) != CONNECTION_OK && (rc = pg_conn_reset(c)) == 0)
            rc = pg_simple(c, "BEGIN", "starting a transaction");
        if (rc != 0)
            return rc;
        c->in_txn = true;
        rc = fn(c, arg);
        if (rc == 0)
            rc = pg_simple(c, "COMMIT", "committing");
        else if (PQstatus(c->db) == CONNECTION_OK)
            PQclear(PQexec(c->db, "ROLLBACK"));
        c->in_txn = false;
        if (rc != -EBUSY || !pg_retryable())
            break;
    }
    return rc;
}

/* ---- results ---- */

bool pg_col_null(const PGresult *r, int row, int col)
{
    return PQgetisnull(r, row, col) != 0;
}

bool pg_col(const PGresult *r, int row, int col, char *dst, size_t cap)
{
    const char *v = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (v == NULL || pg_col_null(r, row, col))
        n = 0;
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    if (n > 0)
        memcpy(dst, v, n);
    dst[n] = '\0';
    return true;
}

int64_t pg_col_int(const PGresult *r, int row, int col)
{
    if (pg_col_null(r, row, col))
        return 0;
    const char *v = PQgetvalue(r, row, col);
    /* Booleans computed in SQL arrive as t/f. */
    if (v[0] == 't' || v[0] == 'f')
        return v[0] == 't';
    return strtoll(v, NULL, 10);
}

bool pg_col_bool(const PGresult *r, int row, int col)
{
    return pg_col_int(r, row, col) != 0;
}

double pg_col_real(const PGresult *r, int row, int col)
{
    return pg_col_null(r, row, col) ? 0 : strtod(PQgetvalue(r, row, col), NULL);
}

static int pg_hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* bytea in text form is "\x" and two hex digits a byte (bytea_output = hex, the default
 * since PostgreSQL 9.0; the escape form is refused rather than misread). */
bool pg_col_blob(const PGresult *r, int row, int col, unsigned char *dst, size_t cap, size_t *len)
{
    if (len != NULL)
        *len = 0;
    if (pg_col_null(r, row, col))
        return true;
    const char *v = PQgetvalue(r, row, col);
    size_t n = (size_t)PQgetlength(r, row, col);
    if (n < 2 || v[0] != '\\' || v[1] != 'x' || (n - 2) % 2 != 0 || (n - 2) / 2 > cap)
        return false;
    for (size_t i = 0; i < (n - 2) / 2; i++) {
        int hi = pg_hexval(v[2 + 2 * i]), lo = pg_hexval(v[3 + 2 * i]);
        if (hi < 0 || lo < 0)
            return false;
        dst[i] = (unsigned char)(hi << 4 | lo);
    }
    if (len != NULL)
        *len = (n - 2) / 2;
    return true;
}

int pg_col_dup(const PGresult *r, int row, int col, char **out)
{
    *out = strdup(pg_col_null(r, row, col) ? "" : PQgetvalue(r, row, col));
    return *out != NULL ? 0 : zt_store_seterr(-ENOMEM, "out of memory");
}

int pg_corrupt(const char *what)
{
    return zt_store_seterr(-EIO, "stored %s does not fit its limit (database edited by hand?)",
                           what);
}

/* ---- schema ---- */

static int pg_one_int(pg_conn *c, const char *sql, const pg_params *p, int64_t *out,
                      const char *what)
{
    PGresult *r = NULL;
    int rc = pg_q(c, sql, p, &r, NULL, what);
    if (rc == 0) {
        *out = PQntuples(r) > 0 ? pg_col_int(r, 0, 0) : 0;
        PQclear(r);
    }
    return rc;
}

static int pg_apply_steps(pg_conn *c, int64_t from)
{
    for (size_t i = 0; i < pg_n_migrations; i++) {
        const pg_migration *m = &pg_migrations[i];
        if (m->version <= from)
            continue;
        int rc = pg_simple(c, m->sql, "migrating the schema");
        pg_params p = {0};
        char v[16];
        snprintf(v, sizeof(v), "%d", m->version);
        pg_text(&p, v);
        if (rc == 0)
            rc = pg_run(c,
                        "INSERT INTO ztgate_meta (key, value) VALUES ('schema_version', $1) "
                        "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                        &p, NULL, "recording the schema version");
        if (rc != 0) {
            char why[256];
            snprintf(why, sizeof(why), "%s", zt_store_errmsg());
            return zt_store_seterr(rc, "migrating the schema to version %d: %s", m->version, why);
        }
    }
    return 0;
}

/* Inside the migration lock: refuse a database that is not ours or that a newer ztgate wrote;
 * create or bring up to date. */
static int pg_migrate_txn(pg_conn *c, void *arg)
{
    (void)arg;
    int64_t locked = 0, ours = 0, tables = 0, v = 0;
    pg_params p = {0};
    pg_int(&p, PG_MIGRATE_LOCK);
    int rc = pg_one_int(c, "SELECT 1 FROM (SELECT pg_advisory_xact_lock($1::bigint)) l", &p,
                        &locked, "waiting for the migration lock");
    rc = rc ? rc
            : pg_one_int(c, "SELECT (to_regclass('ztgate_meta') IS NOT NULL)::int", NULL, &ours,
                         "looking for ztgate's tables");
    rc = rc ? rc
            : pg_one_int(c,
                         "SELECT count(*) FROM pg_catalog.pg_tables "
                         "WHERE schemaname = current_schema()",
                         NULL, &tables, "counting tables");
    if (rc != 0)
        return rc;
    if (!ours && tables > 0)
        return zt_store_seterr(-EIO,
                               "the database's schema already has %" PRId64
                               " tables that are not ztgate's; refusing to use it (give ztgate "
                               "a database or schema of its own)",
                               tables);
    if (ours) {
        rc = pg_one_int(c,
                        "SELECT COALESCE((SELECT value::bigint FROM ztgate_meta WHERE key = "
                        "'schema_version'), -1)",
                        NULL, &v, "reading the schema version");
        if (rc != 0)
            return rc;
        if (v < 1)
            return zt_store_seterr(-EIO, "the database's ztgate_meta has no schema version; "
                                         "refusing to use it");
        if (v > PG_SCHEMA_VERSION)
            return zt_store_seterr(-EIO,
                                   "the database has ztgate schema version %" PRId64
                                   " but this ztgate knows only up to %d; it was written by a "
                                   "newer ztgate: upgrade ztgate (refusing to open it)",
                                   v, PG_SCHEMA_VERSION);
    }
    return pg_apply_steps(c, v);
}

static int pg_check_and_migrate(pg_conn *c)
{
    int64_t ours = 0, v = 0;
    /* The common case without the lock: already current. The version is read only once the
     * table is known to exist (a statement naming a missing table fails to prepare). */
    int rc = pg_one_int(c, "SELECT (to_regclass('ztgate_meta') IS NOT NULL)::int", NULL, &ours,
                        "looking for ztgate's tables");
    if (rc == 0 && ours)
        rc = pg_one_int(c,
                        "SELECT COALESCE((SELECT value::bigint FROM ztgate_meta WHERE key = "
                        "'schema_version'), 0)",
                        NULL, &v, "reading the schema version");
    if (rc != 0 || v == PG_SCHEMA_VERSION)
        return rc;
    return pg_txn(c, pg_migrate_txn, NULL);
}

/* ---- open and close ---- */

void pg_close(zt_store *st)
{
    pg_store *s = (pg_store *)st;
    pthread_mutex_lock(&s->mu);
    pg_conn *c = s->conns;
    s->conns = NULL;
    pthread_mutex_unlock(&s->mu);
    while (c != NULL) {
        pg_conn *next = c->next;
        pg_conn_free(c);
        c = next;
    }
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->mu);
    if (s->dsn != NULL)
        zt_wipe(s->dsn, strlen(s->dsn));
    free(s->dsn);
    free(s);
}

static pg_store *pg_store_new(const zt_store_cfg *cfg)
{
    pg_store *s = calloc(1, sizeof(*s));
    if (s == NULL)
        return NULL;
    s->dsn = strdup(cfg->dsn);
    if (s->dsn == NULL || pthread_key_create(&s->key, NULL) != 0) {
        free(s->dsn);
        free(s);
        return NULL;
    }
    s->base.ops = &pg_ops;
    s->timeout_ms = cfg->busy_timeout_ms > 0 ? cfg->busy_timeout_ms : PG_DEFAULT_TIMEOUT_MS;
    pthread_mutex_init(&s->mu, NULL);
    return s;
}

zt_store *zt_store_pg_open(const zt_store_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->dsn == NULL || cfg->dsn[0] == '\0') {
        snprintf(err, errlen, "store: no PostgreSQL connection string");
        return NULL;
    }
    if (!PQisthreadsafe()) {
        snprintf(err, errlen, "store: this libpq was built without thread support");
        return NULL;
    }
    pg_store *s = pg_store_new(cfg);
    if (s == NULL) {
        snprintf(err, errlen, "store: out of memory");
        return NULL;
    }
    pg_conn *c = NULL;
    int rc = pg_enter(&s->base, &c);
    if (rc == 0)
        rc = pg_check_and_migrate(c);
    if (rc != 0) {
        snprintf(err, errlen, "store: %s", zt_store_errmsg());
        pg_close(&s->base);
        return NULL;
    }
    return &s->base;
}
