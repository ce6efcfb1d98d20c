/* The store (SQLite backend): migrations and reopening, refusal of newer or foreign databases,
 * users, groups, revocation epochs, TOTP and recovery codes, sessions and expiry, atomic
 * writes, input limits, sharing one store between threads, and the schema 2 session fields
 * with the in-place upgrade from schema 1, and the schema 3 risk state (detections, their
 * state changes, user risk in the session row, sign-in history, parked sign-ins) with the
 * upgrade from schema 2. Each test owns a temp dir. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libpq-fe.h>

#include "lib/secure.h"
#include "lib/time.h"
#include "pg_fixture.h"
#include "store/store.h"

typedef struct fixture {
    char root[64];                      /* mkdtemp dir, removed afterwards */
    char state[128];                    /* root/state/sub: created by the store */
    char db[160];                       /* state/ztgate.db */
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* PostgreSQL runs: the test's schema, else "" */
    zt_store *st;
} fixture;

static zt_store *open_at(const char *state_dir, char *err, size_t errlen)
{
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = state_dir};
    return zt_store_open(&cfg, err, errlen);
}

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-store-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state/sub", f->root);
    snprintf(f->db, sizeof(f->db), "%s/ztgate.db", f->state);
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The same backend-independent tests again against PostgreSQL (ZT_TEST_PG_DSN): a schema of
 * the test's own instead of a temp dir. */
static int setup_pg(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    char err[256] = "";
    f->st = zt_test_pg_open(f->schema, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    *state = f;
    return 0;
}

static int teardown_pg(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_test_pg_drop(f->schema);
    free(f);
    return 0;
}

/* One integer from a query in the test's schema. */
static int64_t pg_int_of(const char *schema, const char *sql)
{
    PGconn *db = PQconnectdb(getenv("ZT_TEST_PG_DSN"));
    assert_int_equal(PQstatus(db), CONNECTION_OK);
    char full[1024];
    snprintf(full, sizeof(full), "SET search_path = %s", schema);
    PQclear(PQexec(db, full));
    PGresult *r = PQexec(db, sql);
    int64_t v = -1;
    if (PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) > 0)
        v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    else
        fprintf(stderr, "%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    PQfinish(db);
    return v;
}

static int64_t sqlite_int(const char *db, const char *sql);

/* A count from the fixture's database, whichever backend it is. */
static int64_t db_int(const fixture *f, const char *sql)
{
    return f->schema[0] != '\0' ? pg_int_of(f->schema, sql) : sqlite_int(f->db, sql);
}

static void add_user(zt_store *st, const char *email, zt_user *out)
{
    int rc = zt_store_user_add(st, email, "Test User",
                               "$argon2id$v=19$m=65536,t=3,p=1$c2FsdA$aGFzaA", NULL, 0, out);
    if (rc != 0)
        fail_msg("user_add %s: %d %s", email, rc, zt_store_errmsg());
}

static int64_t sqlite_int(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, sql, -1, &s, NULL), SQLITE_OK);
    if (sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(h);
    return v;
}

static void sqlite_exec(const char *db, const char *sql)
{
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open_v2(db, &h, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
}

/* ---- open, migrations, durability settings ---- */

static void test_fresh_and_reopen(void **state)
{
    fixture *f = *state;
    struct stat sb;
    assert_int_equal(stat(f->state, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_int_equal(stat(f->db, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_string_equal(zt_store_backend_name(f->st), "sqlite");
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), ZT_STORE_SCHEMA_VERSION);

    zt_user u;
    add_user(f->st, "keep@example.com", &u);
    zt_store_close(f->st);
    char err[256];
    f->st = open_at(f->state, err, sizeof(err)); /* already migrated: nothing to do */
    assert_non_null(f->st);
    zt_user again;
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &again), 0);
    assert_string_equal(again.email, "keep@example.com");
    zt_user_dispose(&u);
    zt_user_dispose(&again);
}

static void test_wal_mode(void **state)
{
    fixture *f = *state;
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open_v2(f->db, &h, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(h, "PRAGMA journal_mode", -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_string_equal((const char *)sqlite3_column_text(s, 0), "wal");
    sqlite3_finalize(s);
    sqlite3_close(h);
}

/* The identity provider's records live in ztgate-idp.db (0600, WAL), not in ztgate.db; a
 * development ztgate.db of schema 10 that still has them there loses them (they would hide the
 * idp ones); a deleted idp file is made again; someone else's file there is refused. */
static void test_idp_file(void **state)
{
    fixture *f = *state;
    char idp[192], err[512] = "";
    snprintf(idp, sizeof(idp), "%s/ztgate-idp.db", f->state);
    struct stat sb;
    assert_int_equal(stat(idp, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(sqlite_int(idp, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                     "'oidc_codes'"),
                     1);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                                       "'oidc%'"),
                     0);
    zt_store_close(f->st);
    sqlite_exec(f->db, "CREATE TABLE oidc_codes (x); CREATE TABLE oidc_grants (y)");
    f->st = open_at(f->state, err, sizeof(err));
    assert_non_null(f->st);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name LIKE "
                                       "'oidc%'"),
                     0);
    zt_store_close(f->st);
    assert_int_equal(unlink(idp), 0);
    char wal[224];
    snprintf(wal, sizeof(wal), "%s-wal", idp);
    unlink(wal);
    snprintf(wal, sizeof(wal), "%s-shm", idp);
    unlink(wal);
    f->st = open_at(f->state, err, sizeof(err));
    assert_non_null(f->st);
    assert_int_equal(sqlite_int(idp, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                     "'oidc_tokens'"),
                     1);
    zt_store_close(f->st);
    f->st = NULL;
    sqlite_exec(idp, "PRAGMA application_id = 1");
    assert_null(open_at(f->state, err, sizeof(err)));
    assert_non_null(strstr(err, "not a ztgate idp database"));
}

static void test_newer_schema_refused(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    f->st = NULL;
    sqlite_exec(f->db, "PRAGMA user_version = 99");
    char err[512] = "";
    assert_null(open_at(f->state, err, sizeof(err)));
    assert_non_null(strstr(err, "schema version 99"));
    assert_non_null(strstr(err, "newer ztgate"));
}

static void test_foreign_db_refused(void **state)
{
    fixture *f = *state;
    char dir[192], db[224], err[512] = "";
    snprintf(dir, sizeof(dir), "%s/other", f->root);
    snprintf(db, sizeof(db), "%s/ztgate.db", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    assert_int_equal(sqlite3_exec(h, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    assert_null(open_at(dir, err, sizeof(err)));
    assert_non_null(strstr(err, "not a ztgate database"));
}

static void test_open_errors(void **state)
{
    fixture *f = *state;
    char err[256] = "", path[192];
    assert_null(open_at("", err, sizeof(err)));
    assert_non_null(strstr(err, "state_dir"));
    zt_store_cfg pg = {.backend = ZT_STORE_POSTGRES, .dsn = "postgres://x"};
    assert_null(zt_store_open(&pg, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot reach the database")); /* no such host */
    snprintf(path, sizeof(path), "%s/file", f->root);          /* state_dir is a regular file */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fclose(fp);
    assert_null(open_at(path, err, sizeof(err)));
    zt_store_close(NULL);
}

/* ---- users ---- */

static int count_users_cb(void *ctx, const zt_user *u)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_user_crud(void **state)
{
    fixture *f = *state;
    zt_user u, got;
    const char *groups[] = {"staff"};
    assert_int_equal(zt_store_group_add(f->st, "staff"), 0);
    assert_int_equal(
        zt_store_user_add(f->st, "Alice@Example.com", "Alice 山田", "$argon2id$x", groups, 1, &u),
        0);
    assert_int_equal(strlen(u.id), ZT_STORE_ID_LEN);
    assert_false(u.disabled);
    assert_int_equal(u.revocation_epoch, 0);
    assert_true(u.created_at > 0 && u.password_changed_at == u.created_at);

    /* Case-insensitive lookup; the stored spelling is kept. */
    assert_int_equal(zt_store_user_get_by_email(f->st, "alice@EXAMPLE.COM", &got), 0);
    assert_string_equal(got.id, u.id);
    assert_string_equal(got.email, "Alice@Example.com");
    assert_string_equal(got.name, "Alice 山田");
    assert_string_equal(got.password_hash, "$argon2id$x");

    /* Unique email regardless of case. */
    assert_int_equal(zt_store_user_add(f->st, "ALICE@example.com", NULL, NULL, NULL, 0, NULL),
                     -EEXIST);
    assert_non_null(strstr(zt_store_errmsg(), "already exists"));

    zt_user nopw;
    assert_int_equal(zt_store_user_add(f->st, "bob@example.com", NULL, NULL, NULL, 0, &nopw), 0);
    assert_string_equal(nopw.password_hash, "");
    assert_int_equal(nopw.password_changed_at, 0);

    int n = 0;
    assert_int_equal(zt_store_user_list(f->st, count_users_cb, &n), 0);
    assert_int_equal(n, 2);

    assert_int_equal(zt_store_user_delete(f->st, u.id), 0);
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &got), -ENOENT);
    assert_int_equal(zt_store_user_delete(f->st, u.id), -ENOENT);
    zt_store_group g;
    assert_int_equal(zt_store_group_get(f->st, "staff", &g), 0);
    assert_int_equal(g.n_members, 0); /* membership went with the user */
    zt_user_dispose(&u);
    zt_user_dispose(&got);
    zt_user_dispose(&nopw);
}

static void test_user_add_atomic(void **state)
{
    fixture *f = *state;
    zt_user u;
    const char *groups[] = {"g1", "missing"};
    assert_int_equal(zt_store_group_add(f->st, "g1"), 0);
    /* The user row and the g1 membership are written before "missing" fails: all rolled back. */
    assert_int_equal(zt_store_user_add(f->st, "carol@example.com", "", "h", groups, 2, &u),
                     -ENOENT);
    assert_non_null(strstr(zt_store_errmsg(), "group missing not found"));
    assert_int_equal(zt_store_user_get_by_email(f->st, "carol@example.com", &u), -ENOENT);
    zt_store_group g;
    assert_int_equal(zt_store_group_get(f->st, "g1", &g), 0);
    assert_int_equal(g.n_members, 0);
    /* And the same email then works. */
    add_user(f->st, "carol@example.com", &u);
    zt_user_dispose(&u);
}

/* ---- groups ---- */

static int collect_names_cb(void *ctx, const char *name)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%s", n ? "," : "", name);
    return 0;
}

static int collect_emails_cb(void *ctx, const zt_user *u)
{
    return collect_names_cb(ctx, u->email);
}

static int group_count_cb(void *ctx, const zt_store_group *g)
{
    char *out = ctx;
    size_t n = strlen(out);
    snprintf(out + n, 256 - n, "%s%s=%llu", n ? "," : "", g->name,
             (unsigned long long)g->n_members);
    return 0;
}

static void test_groups(void **state)
{
    fixture *f = *state;
    zt_user a, b;
    add_user(f->st, "a@example.com", &a);
    add_user(f->st, "b@example.com", &b);
    assert_int_equal(zt_store_group_add(f->st, "admins"), 0);
    assert_int_equal(zt_store_group_add(f->st, "staff"), 0);
    assert_int_equal(zt_store_group_add(f->st, "Admins"), -EEXIST);
    assert_int_equal(zt_store_group_member_add(f->st, "admins", a.id), 0);
    assert_int_equal(zt_store_group_member_add(f->st, "ADMINS", a.id), -EEXIST);
    assert_int_equal(zt_store_group_member_add(f->st, "staff", a.id), 0);
    assert_int_equal(zt_store_group_member_add(f->st, "staff", b.id), 0);
    assert_int_equal(zt_store_group_member_add(f->st, "nope", a.id), -ENOENT);
    assert_int_equal(zt_store_group_member_add(f->st, "staff", "0123456789abcdef0123456789abcdef"),
                     -ENOENT);

    char names[256] = "";
    assert_int_equal(zt_store_user_groups(f->st, a.id, collect_names_cb, names), 0);
    assert_string_equal(names, "admins,staff");
    names[0] = '\0';
    assert_int_equal(zt_store_group_members(f->st, "staff", collect_emails_cb, names), 0);
    assert_string_equal(names, "a@example.com,b@example.com");
    names[0] = '\0';
    assert_int_equal(zt_store_group_list(f->st, group_count_cb, names), 0);
    assert_string_equal(names, "admins=1,staff=2");

    assert_int_equal(zt_store_group_member_remove(f->st, "staff", a.id), 0);
    assert_int_equal(zt_store_group_member_remove(f->st, "staff", a.id), -ENOENT);
    assert_non_null(strstr(zt_store_errmsg(), "not a member"));
    assert_int_equal(zt_store_group_member_remove(f->st, "nope", a.id), -ENOENT);
    assert_int_equal(zt_store_group_members(f->st, "nope", collect_emails_cb, names), -ENOENT);

    assert_int_equal(zt_store_group_delete(f->st, "admins"), 0);
    assert_int_equal(zt_store_group_delete(f->st, "admins"), -ENOENT);
    names[0] = '\0';
    assert_int_equal(zt_store_user_groups(f->st, a.id, collect_names_cb, names), 0);
    assert_string_equal(names, "");
    zt_user_dispose(&a);
    zt_user_dispose(&b);
}

/* ---- revocation epochs ---- */

static zt_store_session make_session(const char *user_id, char fill, int64_t epoch)
{
    zt_store_session s;
    memset(&s, 0, sizeof(s));
    memset(s.id_hash, fill, 64);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user_id);
    s.created_at = s.auth_time = 1000;
    s.idle_expires_at = 2000;
    s.absolute_expires_at = 5000;
    s.user_epoch = epoch;
    snprintf(s.ip, sizeof(s.ip), "2001:db8::1");
    snprintf(s.user_agent, sizeof(s.user_agent), "Mozilla/5.0 (X11; Linux x86_64)");
    return s;
}

static uint64_t session_count(zt_store *st, const char *user_id)
{
    uint64_t n = 0;
    assert_int_equal(zt_store_session_delete_by_user(st, user_id, &n), 0);
    return n;
}

static void test_epoch_bumps(void **state)
{
    fixture *f = *state;
    zt_user u, got;
    int64_t epoch = -1;
    add_user(f->st, "e@example.com", &u);
    zt_store_session s = make_session(u.id, 'a', 0);

    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    assert_int_equal(zt_store_user_set_disabled(f->st, u.id, true, &epoch), 0);
    assert_int_equal(epoch, 1);
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &s), -ENOENT); /* deleted */
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &got), 0);
    assert_true(got.disabled);

    assert_int_equal(zt_store_user_set_disabled(f->st, u.id, false, &epoch), 0);
    assert_int_equal(epoch, 1); /* enabling does not revoke */

    s = make_session(u.id, 'b', 1);
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    assert_int_equal(zt_store_user_set_password(f->st, u.id, "$argon2id$new", &epoch), 0);
    assert_int_equal(epoch, 2);
    assert_int_equal(session_count(f->st, u.id), 0);
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &got), 0);
    assert_string_equal(got.password_hash, "$argon2id$new");
    assert_false(got.disabled);

    unsigned char blob[61] = {1, 2, 3};
    const char *codes[] = {"aa", "bb"};
    assert_int_equal(zt_store_totp_set(f->st, u.id, blob, sizeof(blob)), 0);
    assert_int_equal(zt_store_recovery_set(f->st, u.id, codes, 2), 0);
    assert_int_equal(zt_store_user_reset_mfa(f->st, u.id, &epoch), 0);
    assert_int_equal(epoch, 3);
    zt_store_totp t;
    assert_int_equal(zt_store_totp_get(f->st, u.id, &t), -ENOENT);

    assert_int_equal(zt_store_user_bump_epoch(f->st, u.id, NULL), 0);
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &got), 0);
    assert_int_equal(got.revocation_epoch, 4);

    assert_int_equal(zt_store_user_bump_epoch(f->st, "ffffffffffffffffffffffffffffffff", NULL),
                     -ENOENT);
    zt_user_dispose(&u);
    zt_user_dispose(&got);
}

/* ---- TOTP and recovery codes ---- */

static int recovery_cb(void *ctx, const zt_store_recovery *r)
{
    zt_store_recovery *out = ctx;
    out[r->id % 8] = *r;
    return 0;
}

static void test_totp_and_recovery(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "t@example.com", &u);
    unsigned char blob[61];
    for (size_t i = 0; i < sizeof(blob); i++)
        blob[i] = (unsigned char)i;
    zt_store_totp t;
    assert_int_equal(zt_store_totp_get(f->st, u.id, &t), -ENOENT);
    assert_int_equal(zt_store_totp_use_step(f->st, u.id, 10), -ENOENT);
    assert_int_equal(zt_store_totp_set(f->st, u.id, blob, sizeof(blob)), 0);
    assert_int_equal(zt_store_totp_get(f->st, u.id, &t), 0);
    assert_int_equal(t.secret_enc_len, sizeof(blob));
    assert_memory_equal(t.secret_enc, blob, sizeof(blob));
    assert_int_equal(t.last_used_step, 0);

    assert_int_equal(zt_store_totp_use_step(f->st, u.id, 100), 0);
    assert_int_equal(zt_store_totp_use_step(f->st, u.id, 100), -EALREADY); /* replay */
    assert_int_equal(zt_store_totp_use_step(f->st, u.id, 99), -EALREADY);
    assert_int_equal(zt_store_totp_use_step(f->st, u.id, 101), 0);
    assert_int_equal(zt_store_totp_set(f->st, u.id, blob, 20), 0); /* re-enrol resets the step */
    assert_int_equal(zt_store_totp_get(f->st, u.id, &t), 0);
    assert_int_equal(t.last_used_step, 0);
    assert_int_equal(t.secret_enc_len, 20);
    zt_store_totp_dispose(&t);
    assert_int_equal(zt_store_totp_set(f->st, "ffffffffffffffffffffffffffffffff", blob, 20),
                     -ENOENT);

    const char *codes[] = {"h1", "h2", "h3"};
    zt_store_recovery rs[8];
    memset(rs, 0, sizeof(rs));
    assert_int_equal(zt_store_recovery_set(f->st, u.id, codes, 3), 0);
    assert_int_equal(zt_store_recovery_list(f->st, u.id, recovery_cb, rs), 0);
    int64_t first = 0;
    for (int i = 0; i < 8; i++)
        if (strcmp(rs[i].code_hash, "h1") == 0)
            first = rs[i].id;
    assert_true(first > 0);
    assert_int_equal(zt_store_recovery_use(f->st, u.id, first), 0);
    assert_int_equal(zt_store_recovery_use(f->st, u.id, first), -EALREADY);
    assert_int_equal(zt_store_recovery_use(f->st, u.id, first + 100), -ENOENT);
    memset(rs, 0, sizeof(rs));
    assert_int_equal(zt_store_recovery_list(f->st, u.id, recovery_cb, rs), 0);
    assert_true(rs[first % 8].used_at > 0);
    zt_user_dispose(&u);
}

/* ---- sessions ---- */

static int session_count_cb(void *ctx, const zt_store_session *s)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_sessions(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "s@example.com", &u);
    zt_store_session s = make_session(u.id, 'c', 0), got;
    s.idle_expires_at = 9000; /* later than absolute: clamped */
    snprintf(s.device_id, sizeof(s.device_id), "dev-1");
    snprintf(s.amr, sizeof(s.amr), "Pwd");
    assert_int_equal(zt_store_session_create(f->st, &s), -EINVAL); /* amr: [a-z,] only */
    snprintf(s.amr, sizeof(s.amr), "hwk,mfa");
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    assert_int_equal(zt_store_session_create(f->st, &s), -EEXIST);
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &got), 0);
    assert_string_equal(got.amr, "hwk,mfa");
    assert_int_equal(got.idle_expires_at, 5000);
    assert_string_equal(got.user_id, u.id);
    assert_string_equal(got.device_id, "dev-1");
    assert_string_equal(got.ip, "2001:db8::1");
    assert_int_equal(got.user_epoch_now, 0);
    assert_false(got.user_disabled);
    assert_int_equal(got.mfa_time, 0);
    assert_string_equal(got.mfa_method, "");

    assert_int_equal(zt_store_session_touch(f->st, s.id_hash, 3000), 0);
    assert_int_equal(zt_store_session_set_mfa(f->st, s.id_hash, 1500, "totp"), 0);
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &got), 0);
    assert_int_equal(got.idle_expires_at, 3000);
    assert_int_equal(got.mfa_time, 1500);
    assert_string_equal(got.mfa_method, "totp");

    zt_store_session s2 = make_session(u.id, 'd', 0);
    s2.idle_expires_at = 1200;
    assert_int_equal(zt_store_session_create(f->st, &s2), 0);
    int n = 0;
    assert_int_equal(zt_store_session_list_by_user(f->st, u.id, session_count_cb, &n), 0);
    assert_int_equal(n, 2);

    uint64_t deleted = 99;
    assert_int_equal(zt_store_session_delete_expired(f->st, 1100, &deleted), 0);
    assert_int_equal(deleted, 0);
    assert_int_equal(zt_store_session_delete_expired(f->st, 1200, &deleted), 0); /* idle <= now */
    assert_int_equal(deleted, 1);
    assert_int_equal(zt_store_session_get(f->st, s2.id_hash, &got), -ENOENT);
    assert_int_equal(zt_store_session_touch(f->st, s2.id_hash, 3000), -ENOENT);

    assert_int_equal(zt_store_session_delete(f->st, s.id_hash), 0);
    assert_int_equal(zt_store_session_delete(f->st, s.id_hash), -ENOENT);
    zt_store_session orphan = make_session("ffffffffffffffffffffffffffffffff", 'e', 0);
    assert_int_equal(zt_store_session_create(f->st, &orphan), -ENOENT);
    assert_int_equal(zt_store_session_list_by_user(f->st, orphan.user_id, session_count_cb, &n),
                     -ENOENT);

    /* Deleting the user takes the sessions with it. */
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    assert_int_equal(zt_store_user_delete(f->st, u.id), 0);
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &got), -ENOENT);
    zt_user_dispose(&u);
}

/* ---- bad input ---- */

static void expect_einval(int rc, const char *msg_part)
{
    assert_int_equal(rc, -EINVAL);
    if (strstr(zt_store_errmsg(), msg_part) == NULL)
        fail_msg("message '%s' lacks '%s'", zt_store_errmsg(), msg_part);
}

static void test_bad_input(void **state)
{
    fixture *f = *state;
    zt_user u;
    char long_email[300], long_name[200];
    memset(long_email, 'a', sizeof(long_email) - 1);
    long_email[sizeof(long_email) - 1] = '\0';
    long_email[10] = '@';
    memset(long_name, 'n', sizeof(long_name) - 1);
    long_name[sizeof(long_name) - 1] = '\0';

    expect_einval(zt_store_user_add(f->st, "", NULL, NULL, NULL, 0, NULL), "email is empty");
    expect_einval(zt_store_user_add(f->st, NULL, NULL, NULL, NULL, 0, NULL), "email is empty");
    expect_einval(zt_store_user_add(f->st, long_email, NULL, NULL, NULL, 0, NULL), "longer than");
    expect_einval(zt_store_user_add(f->st, "no-at-sign", NULL, NULL, NULL, 0, NULL), "'@'");
    expect_einval(zt_store_user_add(f->st, "a@b@c", NULL, NULL, NULL, 0, NULL), "'@'");
    expect_einval(zt_store_user_add(f->st, "a b@c", NULL, NULL, NULL, 0, NULL), "space");
    expect_einval(zt_store_user_add(f->st, "a@b\r\nX-ZT-User: x", NULL, NULL, NULL, 0, NULL),
                  "control");
    expect_einval(zt_store_user_add(f->st, "a@\xff", NULL, NULL, NULL, 0, NULL), "UTF-8");
    expect_einval(zt_store_user_add(f->st, "a@.com", NULL, NULL, NULL, 0, NULL), "domain");
    expect_einval(zt_store_user_add(f->st, "x@y.z", long_name, NULL, NULL, 0, NULL),
                  "display name is longer");
    expect_einval(zt_store_user_add(f->st, "x@y.z", "bad\x1b[31m", NULL, NULL, 0, NULL), "control");
    expect_einval(zt_store_user_add(f->st, "x@y.z", NULL, "has space", NULL, 0, NULL), "printable");
    const char *bad_groups[] = {"ok", "a,b"};
    expect_einval(zt_store_user_add(f->st, "x@y.z", NULL, NULL, bad_groups, 2, NULL), "letters");
    const char *dup_groups[] = {"ok", "OK"};
    expect_einval(zt_store_user_add(f->st, "x@y.z", NULL, NULL, dup_groups, 2, NULL), "twice");
    expect_einval(zt_store_group_add(f->st, ""), "group name is empty");
    expect_einval(zt_store_group_add(f->st, "-lead"), "starting with");
    expect_einval(zt_store_user_get_by_id(f->st, "short", &u), "user id");
    expect_einval(zt_store_user_get_by_id(f->st, "0123456789ABCDEF0123456789ABCDEF", &u), "hex");
    expect_einval(zt_store_user_set_password(f->st, "0123456789abcdef0123456789abcdef", "", NULL),
                  "password hash is empty");
    expect_einval(zt_store_user_list(f->st, NULL, NULL), "callback");
    expect_einval(zt_store_user_add(NULL, "x@y.z", NULL, NULL, NULL, 0, NULL), "not open");

    zt_store_session s = make_session("0123456789abcdef0123456789abcdef", 'a', 0);
    s.id_hash[3] = 'Z';
    expect_einval(zt_store_session_create(f->st, &s), "lowercase hex");
    s = make_session("0123456789abcdef0123456789abcdef", 'a', 0);
    memset(s.user_agent, 'x', ZT_STORE_UA_MAX);
    s.user_agent[ZT_STORE_UA_MAX] = 'y'; /* not NUL-terminated within the limit */
    expect_einval(zt_store_session_create(f->st, &s), "user agent is longer");
    s = make_session("0123456789abcdef0123456789abcdef", 'a', 0);
    snprintf(s.mfa_method, sizeof(s.mfa_method), "totp");
    expect_einval(zt_store_session_create(f->st, &s), "without an MFA time");
    s = make_session("0123456789abcdef0123456789abcdef", 'a', 0);
    snprintf(s.ip, sizeof(s.ip), "1.2.3.4\n");
    expect_einval(zt_store_session_create(f->st, &s), "IP address");
    unsigned char big[ZT_STORE_TOTP_BLOB_MAX + 1] = {0};
    expect_einval(zt_store_totp_set(f->st, "0123456789abcdef0123456789abcdef", big, sizeof(big)),
                  "longer than");
    expect_einval(zt_store_totp_use_step(f->st, "0123456789abcdef0123456789abcdef", 0), "positive");

    /* The longest valid values are accepted. */
    char max_email[ZT_STORE_EMAIL_MAX + 1];
    memset(max_email, 'm', ZT_STORE_EMAIL_MAX);
    max_email[ZT_STORE_EMAIL_MAX] = '\0';
    memcpy(max_email + ZT_STORE_EMAIL_MAX - 6, "@a.com", 6);
    long_name[ZT_STORE_NAME_MAX] = '\0';
    assert_int_equal(zt_store_user_add(f->st, max_email, long_name, NULL, NULL, 0, &u), 0);
    assert_string_equal(u.email, max_email);
    zt_user_dispose(&u);
    zt_user_dispose(NULL);
    zt_store_totp_dispose(NULL);
}

/* ---- re-entry and threads ---- */

static int reenter_cb(void *ctx, const zt_user *u)
{
    zt_user other;
    return zt_store_user_get_by_id(ctx, u->id, &other);
}

static void test_callback_reentry(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "r@example.com", &u);
    assert_int_equal(zt_store_user_list(f->st, reenter_cb, f->st), -EDEADLK);
    /* The connection is usable again afterwards. */
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &u), 0);
    zt_user_dispose(&u);
}

#define N_THREADS 4
#define USERS_PER_THREAD 25

typedef struct thread_arg {
    zt_store *st;
    int idx;
    int failures;
} thread_arg;

static void *thread_main(void *p)
{
    thread_arg *a = p;
    for (int i = 0; i < USERS_PER_THREAD; i++) {
        char email[64];
        zt_user u;
        snprintf(email, sizeof(email), "t%d-%d@example.com", a->idx, i);
        if (zt_store_user_add(a->st, email, NULL, NULL, NULL, 0, &u) != 0 ||
            zt_store_user_bump_epoch(a->st, u.id, NULL) != 0)
            a->failures++;
    }
    return NULL;
}

static void test_threads(void **state)
{
    fixture *f = *state;
    pthread_t th[N_THREADS];
    thread_arg args[N_THREADS];
    for (int i = 0; i < N_THREADS; i++) {
        args[i] = (thread_arg){f->st, i, 0};
        assert_int_equal(pthread_create(&th[i], NULL, thread_main, &args[i]), 0);
    }
    for (int i = 0; i < N_THREADS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(args[i].failures, 0);
    }
    int n = 0;
    assert_int_equal(zt_store_user_list(f->st, count_users_cb, &n), 0);
    assert_int_equal(n, N_THREADS * USERS_PER_THREAD);
}

/* A write lock held by another process (here another connection) is waited for, not failed at
 * once, and the wait ends with -EBUSY after busy_timeout_ms; once it is released writes pass. */
static void test_busy_other_process(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state, .busy_timeout_ms = 50};
    char err[256] = "";
    f->st = zt_store_open(&cfg, err, sizeof(err));
    assert_non_null(f->st);
    zt_user u;
    add_user(f->st, "busy@example.com", &u);
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->db, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    assert_int_equal(zt_store_user_bump_epoch(f->st, u.id, NULL), -EBUSY);
    assert_int_equal(sqlite3_exec(other, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(zt_store_user_bump_epoch(f->st, u.id, NULL), 0);
    zt_user_dispose(&u);
}

/* ---- schema 2: host, parent, pending MFA; migration from 1 ---- */

static void test_session_v2_fields(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "v2@example.com", &u);
    zt_store_session p = make_session(u.id, 'a', 0), c1 = make_session(u.id, 'b', 0),
                     c2 = make_session(u.id, 'c', 0), other = make_session(u.id, 'd', 0), got;
    snprintf(p.host, sizeof(p.host), "login.example.com");
    p.mfa_pending = true;
    snprintf(c1.host, sizeof(c1.host), "app.example.com");
    snprintf(c1.parent_hash, sizeof(c1.parent_hash), "%s", p.id_hash);
    snprintf(c2.parent_hash, sizeof(c2.parent_hash), "%s", c1.id_hash); /* grandchild */
    assert_int_equal(zt_store_session_create(f->st, &p), 0);
    assert_int_equal(zt_store_session_create(f->st, &c1), 0);
    assert_int_equal(zt_store_session_create(f->st, &c2), 0);
    assert_int_equal(zt_store_session_create(f->st, &other), 0);
    assert_int_equal(zt_store_session_get(f->st, p.id_hash, &got), 0);
    assert_string_equal(got.host, "login.example.com");
    assert_string_equal(got.parent_hash, "");
    assert_true(got.mfa_pending);
    assert_int_equal(zt_store_session_get(f->st, c1.id_hash, &got), 0);
    assert_string_equal(got.parent_hash, p.id_hash);
    assert_false(got.mfa_pending);
    /* Completing MFA clears the pending flag. */
    assert_int_equal(zt_store_session_set_mfa(f->st, p.id_hash, 1100, "totp"), 0);
    assert_int_equal(zt_store_session_get(f->st, p.id_hash, &got), 0);
    assert_false(got.mfa_pending);
    /* Deleting the tree takes children and grandchildren, nothing else. */
    uint64_t n = 0;
    assert_int_equal(zt_store_session_delete_tree(f->st, p.id_hash, &n), 0);
    assert_int_equal(n, 3);
    assert_int_equal(zt_store_session_get(f->st, c2.id_hash, &got), -ENOENT);
    assert_int_equal(zt_store_session_get(f->st, other.id_hash, &got), 0);
    assert_int_equal(zt_store_session_delete_tree(f->st, p.id_hash, &n), -ENOENT);
    /* Input checks on the new fields. */
    zt_store_session bad = make_session(u.id, 'e', 0);
    snprintf(bad.host, sizeof(bad.host), "bad host");
    expect_einval(zt_store_session_create(f->st, &bad), "session host");
    bad = make_session(u.id, 'e', 0);
    snprintf(bad.parent_hash, sizeof(bad.parent_hash), "NOT-HEX");
    expect_einval(zt_store_session_create(f->st, &bad), "session hash");
    bad = make_session(u.id, 'e', 0);
    snprintf(bad.parent_hash, sizeof(bad.parent_hash), "%s", bad.id_hash);
    expect_einval(zt_store_session_create(f->st, &bad), "own parent");
    expect_einval(zt_store_session_delete_tree(f->st, "xyz", NULL), "session hash");
    zt_user_dispose(&u);
}

/* Undoes migration 3 on a fresh file, leaving a schema 2 database. */
/* Migration 16 adds a column (token lineage), which SQLite cannot do twice: undo it. */
#define UNDO_V16 "DROP INDEX admin_tokens_parent; ALTER TABLE admin_tokens DROP COLUMN parent_id;"
/* Migration 13 adds columns (identity sources), which SQLite cannot do twice: undo it. */
#define UNDO_V13                                                                                   \
    UNDO_V16                                                                                       \
    "DROP INDEX users_external; DROP INDEX users_source; DROP INDEX users_expires;"                \
    "DROP INDEX groups_external; ALTER TABLE users DROP COLUMN source;"                            \
    "ALTER TABLE users DROP COLUMN external_id; ALTER TABLE users DROP COLUMN expires_at;"         \
    "ALTER TABLE users DROP COLUMN sponsor; ALTER TABLE users DROP COLUMN last_sign_in_at;"        \
    "ALTER TABLE users DROP COLUMN attrs; ALTER TABLE memberships DROP COLUMN source;"             \
    "ALTER TABLE groups DROP COLUMN source; ALTER TABLE groups DROP COLUMN external_id;"           \
    "ALTER TABLE groups DROP COLUMN display_name;"
/* Migration 7 adds a column, which SQLite cannot do twice: undo it first. */
#define UNDO_V7                                                                                    \
    UNDO_V13 "ALTER TABLE sessions DROP COLUMN passkey_aaguid;"                                    \
             "ALTER TABLE sessions DROP COLUMN amr; DROP TABLE webauthn_challenges;"               \
             "ALTER TABLE webauthn_credentials DROP COLUMN cloned_at;"
#define UNDO_V3                                                                                    \
    UNDO_V7 "DROP TABLE risk_detections; DROP TABLE risk_properties; DROP TABLE risk_sign_ins;"    \
            "DROP TABLE risk_pending;"

/* A database written by schema 1 (made here by undoing migration 2 on a fresh file) is
 * upgraded in place at open: rows kept, new columns defaulted, version recorded. */
static void test_migrate_v1_to_v2(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "old@example.com", &u);
    zt_store_close(f->st);
    f->st = NULL;
    char q[2048];
    snprintf(q, sizeof(q),
             "%s"
             "DROP INDEX sessions_parent;"
             "ALTER TABLE sessions DROP COLUMN host;"
             "ALTER TABLE sessions DROP COLUMN parent_hash;"
             "ALTER TABLE sessions DROP COLUMN mfa_pending;"
             "INSERT INTO sessions (id_hash, user_id, created_at, auth_time, idle_expires_at, "
             "absolute_expires_at, user_epoch) VALUES ('%s', '%s', 1000, 1000, 2000, 5000, 0);"
             "PRAGMA user_version = 1;",
             UNDO_V3, "abababababababababababababababababababababababababababababababab", u.id);
    sqlite_exec(f->db, q);
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), 1);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM pragma_table_info('sessions') "
                                       "WHERE name = 'host'"),
                     0);
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("reopen: %s", err);
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), ZT_STORE_SCHEMA_VERSION);
    zt_store_session got;
    assert_int_equal(
        zt_store_session_get(
            f->st, "abababababababababababababababababababababababababababababababab", &got),
        0);
    assert_string_equal(got.user_id, u.id);
    assert_string_equal(got.host, "");
    assert_string_equal(got.parent_hash, "");
    assert_false(got.mfa_pending);
    assert_string_equal(got.passkey_aaguid, ""); /* schema 9: an older row's key is unknown */
    zt_user again;
    assert_int_equal(zt_store_user_get_by_id(f->st, u.id, &again), 0);
    zt_user_dispose(&again);
    /* And the new columns work on the upgraded file. */
    zt_store_session s = make_session(u.id, 'f', 0);
    snprintf(s.host, sizeof(s.host), "app.example.com");
    snprintf(s.parent_hash, sizeof(s.parent_hash), "%s", got.id_hash);
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    uint64_t n = 0;
    assert_int_equal(zt_store_session_delete_tree(f->st, got.id_hash, &n), 0);
    assert_int_equal(n, 2);
    zt_user_dispose(&u);
}

/* ---- schema 3: risk state ---- */

static zt_store_detection make_det(const char *user_id, const char *type, int level,
                                   zt_store_risk_state state, int64_t at)
{
    zt_store_detection d;
    memset(&d, 0, sizeof(d));
    snprintf(d.user_id, sizeof(d.user_id), "%s", user_id);
    snprintf(d.type, sizeof(d.type), "%s", type);
    d.level = level;
    d.state = state;
    snprintf(d.evidence, sizeof(d.evidence), "{\"k\":\"v\"}");
    snprintf(d.ip, sizeof(d.ip), "192.0.2.7");
    d.created_at = at;
    return d;
}

static int count_cb(void *ctx, const zt_store_detection *d)
{
    (void)d;
    (*(int *)ctx)++;
    return 0;
}

/* A schema 2 database (a fresh file with migration 3 undone) gains the risk tables at open,
 * keeps its rows, and the new calls work on it. */
static void test_migrate_v2_to_v3(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "v2@example.com", &u);
    zt_store_close(f->st);
    f->st = NULL;
    sqlite_exec(f->db, UNDO_V3 "PRAGMA user_version = 2;");
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name = "
                                       "'risk_detections'"),
                     0);
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("reopen: %s", err);
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), ZT_STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM sqlite_schema WHERE name IN "
                                       "('risk_detections', 'risk_properties', 'risk_sign_ins', "
                                       "'risk_pending')"),
                     4);
    zt_store_detection d = make_det(u.id, "leaked_credentials", 3, ZT_STORE_RISK_AT_RISK, 1000);
    assert_int_equal(zt_store_detection_add(f->st, &d), 0);
    assert_true(d.id > 0);
    int level = -1;
    assert_int_equal(zt_store_user_risk(f->st, u.id, 2000, &level), 0);
    assert_int_equal(level, 3);
    zt_user_dispose(&u);
}

/* Schema 11 -> 12: saml_sessions loses its cascade from sessions and gains user_id; the row of
 * a live session is kept with its user, one whose session is gone is dropped. */
static void test_migrate_v11_to_v12(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "saml@example.com", &u);
    zt_store_session s = make_session(u.id, 'c', 0);
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    zt_store_close(f->st);
    f->st = NULL;
    char q[2048];
    snprintf(q, sizeof(q),
             UNDO_V13
             "DROP TABLE saml_sessions;"
             "CREATE TABLE saml_sessions (session_hash TEXT PRIMARY KEY NOT NULL REFERENCES "
             "sessions(id_hash) ON DELETE CASCADE, dump TEXT NOT NULL CHECK (length(dump) BETWEEN "
             "1 AND 262144), updated_at INTEGER NOT NULL) STRICT, WITHOUT ROWID;"
             "INSERT INTO saml_sessions VALUES ('%s', '<Session/>', 1000);"
             "INSERT INTO saml_sessions VALUES ('gone', '<Session/>', 1000);"
             "PRAGMA user_version = 11;",
             s.id_hash);
    sqlite_exec(f->db, q);
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("reopen: %s", err);
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), ZT_STORE_SCHEMA_VERSION);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM pragma_foreign_key_list("
                                       "'saml_sessions')"),
                     0);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM saml_sessions"), 1);
    char sql[256];
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM saml_sessions WHERE user_id = '%s'", u.id);
    assert_int_equal(sqlite_int(f->db, sql), 1);
    /* The session ends: the row stays until taken. */
    assert_int_equal(zt_store_session_delete(f->st, s.id_hash), 0);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM saml_sessions"), 1);
    uint64_t n = 0;
    assert_int_equal(zt_store_saml_take_ended(f->st, 1500, NULL, NULL, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(sqlite_int(f->db, "SELECT count(*) FROM saml_sessions"), 0);
    zt_user_dispose(&u);
}

/* A schema 15 database keeps its admin tokens at the upgrade, each without a parent. */
static void test_migrate_v15_to_v16(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "admin@example.com", &u);
    zt_store_admin_token t = {.created_at = 1000, .expires_at = 999999999999, .scopes = 1};
    snprintf(t.id, sizeof(t.id), "0123456789abcdef");
    snprintf(t.user_id, sizeof(t.user_id), "%s", u.id);
    snprintf(t.name, sizeof(t.name), "old");
    snprintf(t.created_by, sizeof(t.created_by), "root");
    unsigned char hash[ZT_STORE_ADMIN_TOKEN_HASH_LEN] = {1};
    assert_int_equal(zt_store_admin_token_add(f->st, &t, hash), 0);
    zt_store_close(f->st);
    f->st = NULL;
    sqlite_exec(f->db, UNDO_V16 "PRAGMA user_version = 15;");
    char err[256] = "";
    f->st = open_at(f->state, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("reopen: %s", err);
    assert_int_equal(sqlite_int(f->db, "PRAGMA user_version"), ZT_STORE_SCHEMA_VERSION);
    zt_store_admin_token back;
    assert_int_equal(zt_store_admin_token_get(f->st, t.id, &back, NULL), 0);
    assert_string_equal(back.parent_id, "");
    assert_string_equal(back.name, "old");
    assert_int_equal(zt_store_admin_token_revoke(f->st, t.id, 2000, NULL), 0);
    zt_user_dispose(&u);
}

static void test_detections(void **state)
{
    fixture *f = *state;
    zt_user u, v;
    add_user(f->st, "risky@example.com", &u);
    add_user(f->st, "other@example.com", &v);
    int64_t now = zt_wall_us() / 1000000;
    zt_store_detection a = make_det(u.id, "unfamiliar_sign_in", 1, ZT_STORE_RISK_AT_RISK, now);
    zt_store_detection b = make_det(u.id, "anonymous_ip", 2, ZT_STORE_RISK_AT_RISK, now);
    snprintf(b.session_hash, sizeof(b.session_hash), "%064d", 7);
    zt_store_detection c = make_det(v.id, "leaked_credentials", 3, ZT_STORE_RISK_AT_RISK, now);
    c.user_activity = true;
    assert_int_equal(zt_store_detection_add(f->st, &a), 0);
    assert_int_equal(zt_store_detection_add(f->st, &b), 0);
    assert_int_equal(zt_store_detection_add(f->st, &c), 0);

    zt_store_detection got;
    assert_int_equal(zt_store_detection_get(f->st, b.id, &got), 0);
    assert_string_equal(got.email, "risky@example.com");
    assert_string_equal(got.type, "anonymous_ip");
    assert_int_equal(got.level, 2);
    assert_int_equal(got.state, ZT_STORE_RISK_AT_RISK);
    assert_string_equal(got.session_hash, b.session_hash);
    assert_string_equal(got.evidence, "{\"k\":\"v\"}");
    assert_false(got.user_activity);
    assert_int_equal(zt_store_detection_get(f->st, 999999, &got), -ENOENT);

    int n = 0;
    zt_store_risk_filter fl = {u.id, -1, 0};
    assert_int_equal(zt_store_detection_list(f->st, &fl, count_cb, &n), 0);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(zt_store_detection_list(f->st, NULL, count_cb, &n), 0);
    assert_int_equal(n, 3);
    n = 0;
    fl = (zt_store_risk_filter){NULL, -1, 1};
    assert_int_equal(zt_store_detection_list(f->st, &fl, count_cb, &n), 0);
    assert_int_equal(n, 1);

    /* User risk: the max of open detections; the session row carries it. */
    int level = -1;
    assert_int_equal(zt_store_user_risk(f->st, u.id, now, &level), 0);
    assert_int_equal(level, 2);
    zt_store_session s = make_session(u.id, 'e', 0);
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    zt_store_session gs;
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &gs), 0);
    assert_int_equal(gs.user_risk, 2);

    /* Close the sign-in detection by its session: only sign-in activity, only from at_risk. */
    uint64_t changed = 0;
    zt_store_risk_update up = {.session_hash = b.session_hash,
                               .sign_in_only = true,
                               .from_mask = 1u << ZT_STORE_RISK_AT_RISK,
                               .to = ZT_STORE_RISK_REMEDIATED,
                               .detail = "userPassedMFA",
                               .now = now + 1};
    assert_int_equal(zt_store_detection_update(f->st, &up, &changed), 0);
    assert_int_equal(changed, 1);
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &gs), 0);
    assert_int_equal(gs.user_risk, 1);
    /* Once closed, naming it again is -EALREADY; an unknown id -ENOENT. */
    up = (zt_store_risk_update){.id = b.id,
                                .from_mask = 1u << ZT_STORE_RISK_AT_RISK,
                                .to = ZT_STORE_RISK_DISMISSED,
                                .detail = "x",
                                .now = now + 2};
    assert_int_equal(zt_store_detection_update(f->st, &up, &changed), -EALREADY);
    up.id = 999999;
    assert_int_equal(zt_store_detection_update(f->st, &up, &changed), -ENOENT);

    /* Low detections age out of user risk after the retention period. */
    assert_int_equal(zt_store_user_risk(f->st, u.id, now + ZT_STORE_RISK_LOW_RETENTION_S, &level),
                     0);
    assert_int_equal(level, 0);
    /* Another user's state is untouched. */
    assert_int_equal(zt_store_user_risk(f->st, v.id, now, &level), 0);
    assert_int_equal(level, 3);

    /* Bad input. */
    zt_store_detection bad = make_det(u.id, "Bad-Type", 2, ZT_STORE_RISK_AT_RISK, now);
    expect_einval(zt_store_detection_add(f->st, &bad), "detection type");
    bad = make_det(u.id, "x", 4, ZT_STORE_RISK_AT_RISK, now);
    expect_einval(zt_store_detection_add(f->st, &bad), "level");
    bad = make_det(u.id, "x", 2, ZT_STORE_RISK_AT_RISK, now);
    snprintf(bad.evidence, sizeof(bad.evidence), "{\"a\":\"\x01\"}");
    expect_einval(zt_store_detection_add(f->st, &bad), "evidence");
    up = (zt_store_risk_update){
        .from_mask = 1, .to = ZT_STORE_RISK_DISMISSED, .detail = "x", .now = now};
    expect_einval(zt_store_detection_update(f->st, &up, NULL), "needs a detection");
    bad = make_det("0123456789abcdef0123456789abcdef", "x", 2, ZT_STORE_RISK_AT_RISK, now);
    assert_int_equal(zt_store_detection_add(f->st, &bad), -ENOENT);

    /* Deleting the user deletes its detections. */
    assert_int_equal(zt_store_user_delete(f->st, u.id), 0);
    n = 0;
    assert_int_equal(zt_store_detection_list(f->st, NULL, count_cb, &n), 0);
    assert_int_equal(n, 1);
    zt_user_dispose(&u);
    zt_user_dispose(&v);
}

static void test_detection_cap(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "many@example.com", &u);
    zt_store_detection high = make_det(u.id, "leaked_credentials", 3, ZT_STORE_RISK_AT_RISK, 100);
    assert_int_equal(zt_store_detection_add(f->st, &high), 0);
    for (int i = 0; i < ZT_STORE_RISK_DETECTIONS_MAX + 5; i++) {
        zt_store_detection d =
            make_det(u.id, "unfamiliar_sign_in", 1, ZT_STORE_RISK_AT_RISK, 200 + i);
        assert_int_equal(zt_store_detection_add(f->st, &d), 0);
    }
    assert_int_equal(db_int(f, "SELECT count(*) FROM risk_detections"),
                     ZT_STORE_RISK_DETECTIONS_MAX);
    /* The oldest low ones went; the high one stayed. */
    zt_store_detection got;
    assert_int_equal(zt_store_detection_get(f->st, high.id, &got), 0);
    zt_user_dispose(&u);
}

static zt_store_signin make_signin(const char *user_id, int64_t at, const char *prefix,
                                   const char *country)
{
    zt_store_signin si;
    memset(&si, 0, sizeof(si));
    snprintf(si.user_id, sizeof(si.user_id), "%s", user_id);
    si.at = at;
    snprintf(si.ip, sizeof(si.ip), "198.51.100.9");
    snprintf(si.props[ZT_STORE_PROP_IP_PREFIX], sizeof(si.props[0]), "%s", prefix);
    snprintf(si.props[ZT_STORE_PROP_COUNTRY], sizeof(si.props[0]), "%s", country);
    snprintf(si.props[ZT_STORE_PROP_UA], sizeof(si.props[0]), "firefox/linux");
    si.has_location = true;
    si.lat = 48.85;
    si.lon = 2.35;
    si.accuracy_km = 20;
    return si;
}

static void test_signin_history(void **state)
{
    fixture *f = *state;
    zt_user u;
    add_user(f->st, "hist@example.com", &u);
    zt_store_signin si = make_signin(u.id, 1000, "198.51.100.0/24", "FR");
    zt_store_signin_profile p;
    assert_int_equal(zt_store_signin_profile_get(f->st, &si, &p), 0);
    assert_int_equal(p.count, 0);
    assert_false(p.seen[ZT_STORE_PROP_COUNTRY]);

    assert_int_equal(zt_store_signin_record(f->st, &si, true, NULL, NULL, 0), 0);
    zt_store_signin later = make_signin(u.id, 2000, "203.0.113.0/24", "FR");
    later.has_location = false; /* e.g. VPN egress: keeps the last real location */
    assert_int_equal(zt_store_signin_record(f->st, &later, true, NULL, NULL, 0), 0);

    zt_store_signin q = make_signin(u.id, 3000, "198.51.100.0/24", "BR");
    assert_int_equal(zt_store_signin_profile_get(f->st, &q, &p), 0);
    assert_int_equal(p.count, 2);
    assert_int_equal(p.first_at, 1000);
    assert_int_equal(p.last_at, 2000);
    assert_true(p.has_location);
    assert_int_equal(p.location_at, 1000);
    assert_string_equal(p.location_country, "FR");
    assert_true(p.seen[ZT_STORE_PROP_IP_PREFIX]);
    assert_false(p.seen[ZT_STORE_PROP_COUNTRY]);
    assert_true(p.seen[ZT_STORE_PROP_UA]);
    assert_false(p.seen[ZT_STORE_PROP_DEVICE]); /* "" is never seen */

    /* A risky sign-in is parked with its detections, not learned, until remediated. */
    char hash[65];
    snprintf(hash, sizeof(hash), "%064d", 42);
    zt_store_detection d = make_det(u.id, "atypical_travel", 1, ZT_STORE_RISK_AT_RISK, 3000);
    assert_int_equal(zt_store_signin_record(f->st, &q, false, hash, &d, 1), 0);
    assert_true(d.id > 0);
    assert_int_equal(zt_store_signin_profile_get(f->st, &q, &p), 0);
    assert_int_equal(p.count, 2);
    assert_false(p.seen[ZT_STORE_PROP_COUNTRY]);
    bool learned = false;
    assert_int_equal(zt_store_signin_learn_pending(f->st, hash, 3100, &learned), 0);
    assert_true(learned);
    assert_int_equal(zt_store_signin_profile_get(f->st, &q, &p), 0);
    assert_int_equal(p.count, 3);
    assert_true(p.seen[ZT_STORE_PROP_COUNTRY]);
    /* Taken once only. */
    assert_int_equal(zt_store_signin_learn_pending(f->st, hash, 3100, &learned), 0);
    assert_false(learned);
    /* An expired parked sign-in is not learned. */
    assert_int_equal(zt_store_signin_record(f->st, &q, false, hash, NULL, 0), 0);
    assert_int_equal(
        zt_store_signin_learn_pending(f->st, hash, 3000 + ZT_STORE_RISK_PENDING_TTL_S, &learned),
        0);
    assert_false(learned);

    /* Per-kind values are capped: the least recently seen go. */
    for (int i = 0; i < ZT_STORE_RISK_PROPS_PER_KIND + 3; i++) {
        char pfx[32];
        snprintf(pfx, sizeof(pfx), "10.%d.%d.0/24", i / 256, i % 256);
        zt_store_signin x = make_signin(u.id, 5000 + i, pfx, "FR");
        assert_int_equal(zt_store_signin_record(f->st, &x, true, NULL, NULL, 0), 0);
    }
    assert_int_equal(db_int(f, "SELECT count(*) FROM risk_properties WHERE kind = 'ip_prefix'"),
                     ZT_STORE_RISK_PROPS_PER_KIND);
    zt_store_signin bad = make_signin(u.id, 1, "x", "FR");
    bad.lat = 91;
    expect_einval(zt_store_signin_record(f->st, &bad, true, NULL, NULL, 0), "location");
    zt_user_dispose(&u);
}

typedef struct names {
    char v[8][ZT_STORE_EMAIL_MAX + 1];
    int n;
} names;

static int user_email_cb(void *ctx, const zt_user *u)
{
    names *l = ctx;
    if (l->n < 8)
        snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", u->email);
    return 0;
}

static int group_name_cb(void *ctx, const zt_store_group *g)
{
    names *l = ctx;
    if (l->n < 8)
        snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", g->name);
    return 0;
}

static int name_cb(void *ctx, const char *name)
{
    names *l = ctx;
    if (l->n < 8)
        snprintf(l->v[l->n++], sizeof(l->v[0]), "%s", name);
    return 0;
}

static void expect_names(const names *l, const char *const *want, int n)
{
    assert_int_equal(l->n, n);
    for (int i = 0; i < n; i++)
        assert_string_equal(l->v[i], want[i]);
}

/* Lists sort by e-mail and group name ignoring ASCII case (SQLite's NOCASE), on every backend
 * whatever the database's collation: "_" before letters, "Zed" after "carol". */
static void test_list_order(void **state)
{
    fixture *f = *state;
    const char *emails[] = {"carol@example.com", "Zed@example.com", "b@example.com",
                            "_z@example.com", "Alice@example.com"};
    const char *groups[] = {"gamma", "Zulu", "beta", "Alpha"};
    zt_user u;
    for (int i = 0; i < 4; i++)
        assert_int_equal(zt_store_group_add(f->st, groups[i]), 0);
    for (int i = 0; i < 5; i++) {
        add_user(f->st, emails[i], &u);
        assert_int_equal(zt_store_group_member_add(f->st, "ZULU", u.id), 0);
    }
    for (int i = 0; i < 4; i++) /* Alice, the last one, joins the others too */
        if (i != 1)
            assert_int_equal(zt_store_group_member_add(f->st, groups[i], u.id), 0);
    const char *by_email[] = {"_z@example.com", "Alice@example.com", "b@example.com",
                              "carol@example.com", "Zed@example.com"};
    const char *by_name[] = {"Alpha", "beta", "gamma", "Zulu"};
    names l = {0};
    assert_int_equal(zt_store_user_list(f->st, user_email_cb, &l), 0);
    expect_names(&l, by_email, 5);
    memset(&l, 0, sizeof(l));
    assert_int_equal(zt_store_group_members(f->st, "zulu", user_email_cb, &l), 0);
    expect_names(&l, by_email, 5);
    memset(&l, 0, sizeof(l));
    assert_int_equal(zt_store_group_list(f->st, group_name_cb, &l), 0);
    expect_names(&l, by_name, 4);
    memset(&l, 0, sizeof(l));
    assert_int_equal(zt_store_user_groups(f->st, u.id, name_cb, &l), 0); /* Alice's */
    expect_names(&l, by_name, 4);
    zt_user_dispose(&u);
}

/* ---- PostgreSQL only: refusals, several gateways on one schema, reconnecting ---- */

/* A schema holding someone else's table is not ours to migrate. */
static void test_pg_foreign_schema_refused(void **state)
{
    (void)state;
    char schema[ZT_TEST_PG_SCHEMA_MAX], hex[17], sql[160], err[512] = "";
    zt_random_hex(hex, 8);
    snprintf(schema, sizeof(schema), "zt_test_%s", hex);
    snprintf(sql, sizeof(sql), "CREATE SCHEMA %s; CREATE TABLE %s.invoices (id int)", schema,
             schema);
    assert_int_equal(zt_test_pg_exec(schema, sql), 0);
    zt_store *st = zt_test_pg_reopen(schema, err, sizeof(err));
    zt_store_close(st);
    zt_test_pg_drop(schema);
    assert_null(st);
    assert_non_null(strstr(err, "not ztgate's"));
}

/* A schema written by a newer ztgate is refused, naming its version. */
static void test_pg_newer_schema_refused(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    f->st = NULL;
    assert_int_equal(zt_test_pg_exec(f->schema, "UPDATE ztgate_meta SET value = '99' "
                                                "WHERE key = 'schema_version'"),
                     0);
    char err[512] = "";
    f->st = zt_test_pg_reopen(f->schema, err, sizeof(err));
    assert_null(f->st);
    assert_non_null(strstr(err, "version 99"));
    assert_non_null(strstr(err, "newer"));
}

#define RACERS 8

typedef struct racer {
    zt_store *st; /* one of two stores: two gateways on one database */
    const char *user_id;
    int64_t step, code_id;
    pthread_barrier_t *go;
    int totp_rc, recovery_rc;
} racer;

static void *racer_main(void *p)
{
    racer *r = p;
    pthread_barrier_wait(r->go);
    r->totp_rc = zt_store_totp_use_step(r->st, r->user_id, r->step);
    pthread_barrier_wait(r->go);
    r->recovery_rc = zt_store_recovery_use(r->st, r->user_id, r->code_id);
    return NULL;
}

static int first_code_cb(void *ctx, const zt_store_recovery *rec)
{
    int64_t *id = ctx;
    if (*id == 0)
        *id = rec->id;
    return 0;
}

/* The single-use guarantees hold across gateways: of RACERS sign-ins on two stores presenting
 * the same TOTP step, then the same recovery code, at the same moment, exactly one wins each
 * time and the others are told the code was used. */
static void test_pg_two_gateways_race(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    zt_store *other = zt_test_pg_reopen(f->schema, err, sizeof(err));
    if (other == NULL)
        fail_msg("second gateway: %s", err);
    zt_user u;
    add_user(f->st, "race@example.com", &u);
    unsigned char blob[40] = {1, 2, 3};
    assert_int_equal(zt_store_totp_set(f->st, u.id, blob, sizeof(blob)), 0);
    const char *codes[] = {"r1", "r2"};
    assert_int_equal(zt_store_recovery_set(other, u.id, codes, 2), 0);
    int64_t code_id = 0;
    assert_int_equal(zt_store_recovery_list(f->st, u.id, first_code_cb, &code_id), 0);
    assert_true(code_id > 0);

    for (int round = 0; round < 5; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, RACERS);
        racer rs[RACERS];
        pthread_t th[RACERS];
        for (int i = 0; i < RACERS; i++) {
            rs[i] = (racer){i % 2 ? other : f->st, u.id, 1000 + round, code_id, &go, 1, 1};
            assert_int_equal(pthread_create(&th[i], NULL, racer_main, &rs[i]), 0);
        }
        int totp_wins = 0, code_wins = 0;
        for (int i = 0; i < RACERS; i++) {
            pthread_join(th[i], NULL);
            totp_wins += rs[i].totp_rc == 0;
            code_wins += rs[i].recovery_rc == 0;
            assert_true(rs[i].totp_rc == 0 || rs[i].totp_rc == -EALREADY);
            assert_true(rs[i].recovery_rc == 0 || rs[i].recovery_rc == -EALREADY);
        }
        pthread_barrier_destroy(&go);
        assert_int_equal(totp_wins, 1);
        assert_int_equal(code_wins, round == 0 ? 1 : 0); /* one code: used once, ever */
    }

    /* A revocation on one gateway is seen by the other at once: new epoch, no sessions. */
    zt_store_session s = make_session(u.id, 'e', 0), got;
    assert_int_equal(zt_store_session_create(other, &s), 0);
    int64_t epoch = 0;
    assert_int_equal(zt_store_user_bump_epoch(f->st, u.id, &epoch), 0);
    assert_int_equal(epoch, 1);
    assert_int_equal(zt_store_session_get(other, s.id_hash, &got), -ENOENT);
    zt_user v;
    assert_int_equal(zt_store_user_get_by_id(other, u.id, &v), 0);
    assert_int_equal(v.revocation_epoch, 1);
    zt_user_dispose(&v);
    zt_user_dispose(&u);
    zt_store_close(other);
}

typedef struct recovery_racer {
    zt_store *st;
    const char *user_id;
    const char *const *codes;
    pthread_barrier_t *go;
    int rc;
} recovery_racer;

static void *recovery_set_main(void *p)
{
    recovery_racer *r = p;
    pthread_barrier_wait(r->go);
    r->rc = zt_store_recovery_set(r->st, r->user_id, r->codes, 3);
    return NULL;
}

static int count_codes_cb(void *ctx, const zt_store_recovery *rec)
{
    (void)rec;
    (*(int *)ctx)++;
    return 0;
}

/* Replacing the recovery codes on two gateways at once leaves one set of 3, not 6. */
static void test_pg_recovery_set_race(void **state)
{
    fixture *f = *state;
    char err[512] = "";
    zt_store *other = zt_test_pg_reopen(f->schema, err, sizeof(err));
    if (other == NULL)
        fail_msg("second gateway: %s", err);
    zt_user u;
    add_user(f->st, "codes@example.com", &u);
    const char *a[] = {"a1", "a2", "a3"}, *b[] = {"b1", "b2", "b3"};
    for (int round = 0; round < 5; round++) {
        pthread_barrier_t go;
        pthread_barrier_init(&go, NULL, RACERS);
        recovery_racer rs[RACERS];
        pthread_t th[RACERS];
        for (int i = 0; i < RACERS; i++) {
            rs[i] = (recovery_racer){i % 2 ? other : f->st, u.id, i % 2 ? a : b, &go, 1};
            assert_int_equal(pthread_create(&th[i], NULL, recovery_set_main, &rs[i]), 0);
        }
        for (int i = 0; i < RACERS; i++) {
            pthread_join(th[i], NULL);
            if (rs[i].rc != 0)
                fail_msg("recovery_set: %d", rs[i].rc);
        }
        pthread_barrier_destroy(&go);
        int n = 0;
        assert_int_equal(zt_store_recovery_list(other, u.id, count_codes_cb, &n), 0);
        assert_int_equal(n, 3);
    }
    zt_user_dispose(&u);
    zt_store_close(other);
}

typedef struct det_racer {
    zt_store *st;
    const char *user_id;
    pthread_barrier_t *go;
    int failures;
} det_racer;

static void *det_racer_main(void *p)
{
    det_racer *r = p;
    pthread_barrier_wait(r->go);
    for (int i = 0; i < 5; i++) {
        zt_store_detection d =
            make_det(r->user_id, "unfamiliar_sign_in", 1, ZT_STORE_RISK_AT_RISK, 5000 + i);
        r->failures += zt_store_detection_add(r->st, &d) != 0;
    }
    return NULL;
}

/* The per-user cap holds when gateways add detections for one user at the same time. */
static void test_pg_detection_cap_race(void **state)
{
    fixture *f = *state;
    char err[512] = "", sql[512];
    zt_store *other = zt_test_pg_reopen(f->schema, err, sizeof(err));
    if (other == NULL)
        fail_msg("second gateway: %s", err);
    zt_user u;
    add_user(f->st, "capped@example.com", &u);
    snprintf(sql, sizeof(sql),
             "INSERT INTO risk_detections (user_id, type, activity, level, state, created_at, "
             "updated_at) SELECT '%s', 'unfamiliar_sign_in', 'signin', 1, 'at_risk', i, i "
             "FROM generate_series(1, %d) i",
             u.id, ZT_STORE_RISK_DETECTIONS_MAX);
    assert_int_equal(zt_test_pg_exec(f->schema, sql), 0);
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, RACERS);
    det_racer rs[RACERS];
    pthread_t th[RACERS];
    for (int i = 0; i < RACERS; i++) {
        rs[i] = (det_racer){i % 2 ? other : f->st, u.id, &go, 0};
        assert_int_equal(pthread_create(&th[i], NULL, det_racer_main, &rs[i]), 0);
    }
    for (int i = 0; i < RACERS; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(rs[i].failures, 0);
    }
    pthread_barrier_destroy(&go);
    assert_int_equal(db_int(f, "SELECT count(*) FROM risk_detections"),
                     ZT_STORE_RISK_DETECTIONS_MAX);
    assert_int_equal(db_int(f, "SELECT count(*) FROM risk_detections WHERE created_at >= 5000"),
                     RACERS * 5);
    zt_user_dispose(&u);
    zt_store_close(other);
}

/* After the server dropped the connection (a restart, a failover), the next call reconnects
 * and succeeds. The store here has an application_name of its own, so terminating its
 * connections leaves the other tests running against the same server alone. */
static void test_pg_reconnect(void **state)
{
    fixture *f = *state;
    char hex[17], app[40], dsn[1024], sql[160], err[512] = "";
    zt_random_hex(hex, 8);
    snprintf(app, sizeof(app), "ztgate_test_%s", hex);
    snprintf(dsn, sizeof(dsn), "%s options='-c search_path=%s' application_name=%s",
             getenv("ZT_TEST_PG_DSN"), f->schema, app);
    zt_store_cfg cfg = {.backend = ZT_STORE_POSTGRES, .dsn = dsn};
    zt_store *st = zt_store_open(&cfg, err, sizeof(err));
    if (st == NULL)
        fail_msg("open: %s", err);
    zt_user u, got;
    add_user(st, "back@example.com", &u);
    snprintf(sql, sizeof(sql),
             "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = "
             "'%s'",
             app);
    assert_int_equal(zt_test_pg_exec(f->schema, sql), 0);
    assert_int_equal(db_int(f, "SELECT 1"), 1); /* the server itself is still there */
    if (zt_store_user_get_by_id(st, u.id, &got) != 0)
        fail_msg("after the connection was terminated: %s", zt_store_errmsg());
    assert_string_equal(got.email, "back@example.com");
    /* And again inside a transaction's first statement. */
    assert_int_equal(zt_test_pg_exec(f->schema, sql), 0);
    int64_t epoch = 0;
    if (zt_store_user_bump_epoch(st, u.id, &epoch) != 0)
        fail_msg("transaction after the connection was terminated: %s", zt_store_errmsg());
    assert_int_equal(epoch, 1);
    zt_user_dispose(&u);
    zt_user_dispose(&got);
    zt_store_close(st);
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fresh_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_wal_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_foreign_db_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_open_errors, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_crud, setup, teardown),
        cmocka_unit_test_setup_teardown(test_user_add_atomic, setup, teardown),
        cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_epoch_bumps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_totp_and_recovery, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sessions, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_callback_reentry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_threads, setup, teardown),
        cmocka_unit_test_setup_teardown(test_busy_other_process, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idp_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_session_v2_fields, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1_to_v2, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v2_to_v3, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v11_to_v12, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v15_to_v16, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detections, setup, teardown),
        cmocka_unit_test_setup_teardown(test_detection_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_signin_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_order, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown_pg)
        PG_TEST(test_user_crud),
        PG_TEST(test_user_add_atomic),
        PG_TEST(test_groups),
        PG_TEST(test_epoch_bumps),
        PG_TEST(test_totp_and_recovery),
        PG_TEST(test_sessions),
        PG_TEST(test_bad_input),
        PG_TEST(test_callback_reentry),
        PG_TEST(test_threads),
        PG_TEST(test_session_v2_fields),
        PG_TEST(test_detections),
        PG_TEST(test_detection_cap),
        PG_TEST(test_signin_history),
        PG_TEST(test_list_order),
        PG_TEST(test_pg_foreign_schema_refused),
        PG_TEST(test_pg_newer_schema_refused),
        PG_TEST(test_pg_two_gateways_race),
        PG_TEST(test_pg_recovery_set_race),
        PG_TEST(test_pg_detection_cap_race),
        PG_TEST(test_pg_reconnect),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
