/* `ztgate store migrate` (store/store_migrate.h) against a real PostgreSQL (ZT_TEST_PG_DSN, a
 * fresh schema per test; skipped without it): a SQLite store filled through the store API
 * (users with password hashes, TOTP, recovery codes, groups, sessions, passkeys) and by SQL
 * for the rest (devices, posture, real numbers, text needing COPY escapes, the idp file) copied
 * with equal counts and checksums and the id sequences moved past the copied ids; a second
 * run refused (not empty); a SQLite column PostgreSQL has no place for, a row PostgreSQL refuses, a
 * row SQLite's types cannot express, an unreadable file and a file another process holds open each
 * fail clearly with nothing left in the target (the same target then takes the repaired source). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "store/store.h"
#include "store/store_migrate.h"
#include "store/store_webauthn.h"

typedef struct fixture {
    char root[64];
    char state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX];
    zt_store *pg;
} fixture;

static const char hash[] = "$argon2id$v=19$m=19456,t=2,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA";

static void ok(int rc, const char *what)
{
    if (rc != 0)
        fail_msg("%s: %d %s", what, rc, zt_store_errmsg());
}

static void add_session(zt_store *st, const char *user_id, char c)
{
    zt_store_session s = {0};
    memset(s.id_hash, c, 64);
    snprintf(s.user_id, sizeof(s.user_id), "%s", user_id);
    s.created_at = s.auth_time = 1700000000;
    s.idle_expires_at = 1700003600;
    s.absolute_expires_at = 1700043200;
    snprintf(s.ip, sizeof(s.ip), "192.0.2.7");
    snprintf(s.user_agent, sizeof(s.user_agent), "Mozilla/5.0 \\ test");
    ok(zt_store_session_create(st, &s), "session");
}

static void add_passkey(zt_store *st, const char *user_id)
{
    zt_store_webauthn_cred c = {.id_len = 20, .cose_key_len = 77, .alg = -7, .sign_count = 5};
    for (size_t i = 0; i < c.id_len; i++)
        c.id[i] = (unsigned char)(i * 13); /* 0x00, '\t', '\\'-like bytes included */
    for (size_t i = 0; i < c.cose_key_len; i++)
        c.cose_key[i] = (unsigned char)(255 - i);
    snprintf(c.user_id, sizeof(c.user_id), "%s", user_id);
    snprintf(c.name, sizeof(c.name), "YubiKey 5 ・ 鍵");
    c.uv = c.be = true;
    snprintf(c.fmt, sizeof(c.fmt), "none");
    snprintf(c.attestation_type, sizeof(c.attestation_type), "none");
    snprintf(c.transports, sizeof(c.transports), "usb,nfc");
    c.created_at = 1700000000;
    ok(zt_store_webauthn_add(st, &c), "passkey");
    unsigned char handle[ZT_STORE_WA_HANDLE_LEN];
    ok(zt_store_webauthn_handle(st, user_id, true, handle), "user handle");
}

static void sql(const char *db_path, const char *text)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(db_path, &db), SQLITE_OK);
    char *err = NULL;
    if (sqlite3_exec(db, text, NULL, NULL, &err) != SQLITE_OK)
        fail_msg("%s: %s", text, err);
    sqlite3_close(db);
}

/* What the API does not reach easily, written as the gateway would have. */
static void add_by_sql(const fixture *f, const char *alice)
{
    char db[192], q[2048];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    snprintf(q, sizeof(q),
             "INSERT INTO devices (id, user_id, name, platform, cert_serial, cert_sha256, "
             "enrolled_at, cert_not_after, posture_json, posture_at, compliant, failed_text) "
             "VALUES ('dev1', '%s', 'laptop\tone', 'linux', 'ab01', 'ff', 1, 2, "
             "'{\"a\":\"line\nbreak \\\\ back\"}', 3, 1, '');"
             "INSERT INTO device_posture_history (device_id, received_at, json) VALUES "
             "('dev1', 10, '{}'), ('dev1', 11, '{\"x\":1}');"
             "INSERT INTO risk_sign_ins (user_id, first_at, count, last_at, last_ip, "
             "has_location, lat, lon, accuracy_km, location_at, location_country) VALUES "
             "('%s', 1, 2, 3, '198.51.100.1', 1, 35.689487, 139.691706, 0.1, 4, 'JP');"
             "INSERT INTO incidents (title, severity, status, user_id, created_at, updated_at) "
             "VALUES ('t\r\nx', 2, 'open', '%s', 5, 6);"
             "INSERT INTO incident_events (incident_id, at, kind, summary, playbook) VALUES "
             "(1, 7, 'opened', 's', NULL);"
             "INSERT INTO idp.oidc_grants (id, client_id, app, user_id, session_hash, sid, "
             "scope, auth_time, created_at, expires_at) VALUES "
             "('0123456789abcdef0123456789abcdef', 'c', 'a', '%s', 'h', 's', 'openid', 1, 1, 9);",
             alice, alice, alice, alice);
    /* The idp file is a second database: attach it as the store does. */
    char full[2400];
    snprintf(full, sizeof(full), "ATTACH '%s/ztgate-idp.db' AS idp; %s", f->state, q);
    sql(db, full);
}

static void fill(fixture *f)
{
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    char err[256] = "";
    zt_store *st = zt_store_open(&cfg, err, sizeof(err));
    if (st == NULL)
        fail_msg("open: %s", err);
    zt_user alice, bob;
    ok(zt_store_group_add(st, "staff"), "group");
    ok(zt_store_group_add(st, "eng.tokyo_2"), "group");
    const char *groups[] = {"staff", "eng.tokyo_2"};
    ok(zt_store_user_add(st, "alice@example.com", "Alice", hash, groups, 2, &alice), "alice");
    ok(zt_store_user_add(st, "bob@example.com", "ボブ", hash, groups, 1, &bob), "bob");
    unsigned char secret[48];
    for (size_t i = 0; i < sizeof(secret); i++)
        secret[i] = (unsigned char)(i * 7 + 92); /* 92 = '\\' */
    ok(zt_store_totp_set(st, alice.id, secret, sizeof(secret)), "totp");
    const char *codes[] = {"h1", "h2", "h3"};
    ok(zt_store_recovery_set(st, alice.id, codes, 3), "recovery");
    add_session(st, alice.id, 'a');
    add_session(st, bob.id, 'b');
    add_passkey(st, alice.id);
    add_by_sql(f, alice.id);
    zt_user_dispose(&alice);
    zt_user_dispose(&bob);
    zt_store_close(st);
}

static int setup(void **state)
{
    if (!zt_test_pg_enabled())
        return 0;
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-migrate-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    f->pg = zt_test_pg_open(f->schema, err, sizeof(err));
    if (f->pg == NULL)
        fail_msg("pg: %s", err);
    fill(f);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    if (f == NULL)
        return 0;
    zt_store_close(f->pg);
    zt_test_pg_drop(f->schema);
    nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

#define NEED_PG()                                                                                  \
    do {                                                                                           \
        if (!zt_test_pg_enabled())                                                                 \
            skip();                                                                                \
    } while (0)

static const zt_migrate_table *table(const zt_migrate_report *rep, const char *name)
{
    for (size_t i = 0; i < rep->n; i++)
        if (strcmp(rep->tables[i].name, name) == 0)
            return &rep->tables[i];
    fail_msg("no table %s in the report", name);
    return NULL;
}

static void expect_rows(const zt_migrate_report *rep, const char *name, uint64_t n)
{
    const zt_migrate_table *t = table(rep, name);
    if (t->rows_source != n || t->rows_target != n)
        fail_msg("%s: %llu/%llu rows, expected %llu", name, (unsigned long long)t->rows_source,
                 (unsigned long long)t->rows_target, (unsigned long long)n);
    assert_string_equal(t->sum_source, t->sum_target);
}

static void test_copies_every_table(void **state)
{
    NEED_PG();
    fixture *f = *state;
    zt_migrate_report rep;
    ok(zt_store_migrate(f->state, f->pg, &rep), "migrate");
    assert_true(rep.n >= 30);
    expect_rows(&rep, "users", 2);
    expect_rows(&rep, "groups", 2);
    expect_rows(&rep, "memberships", 3);
    expect_rows(&rep, "totp_credentials", 1);
    expect_rows(&rep, "recovery_codes", 3);
    expect_rows(&rep, "sessions", 2);
    expect_rows(&rep, "webauthn_credentials", 1);
    expect_rows(&rep, "webauthn_user_handles", 1);
    expect_rows(&rep, "devices", 1);
    expect_rows(&rep, "device_posture_history", 2);
    expect_rows(&rep, "risk_sign_ins", 1);
    expect_rows(&rep, "incidents", 1);
    expect_rows(&rep, "incident_events", 1);
    expect_rows(&rep, "oidc_grants", 1);
    for (size_t i = 0; i < rep.n; i++)
        assert_string_equal(rep.tables[i].sum_source, rep.tables[i].sum_target);
    /* The sequences are past the copied ids: a new row with a generated id fits. */
    char q[256];
    snprintf(q, sizeof(q), "INSERT INTO groups (name, created_at) VALUES ('new', 1)");
    assert_int_equal(zt_test_pg_exec(f->schema, q), 0);
    assert_int_equal(zt_test_pg_exec(f->schema, "INSERT INTO device_posture_history "
                                                "(device_id, received_at, json) VALUES "
                                                "('dev1', 12, '{}')"),
                     0);
    /* Values survived exactly: the blob, the real numbers, the escaped text. */
    assert_int_equal(zt_test_pg_exec(f->schema,
                                     "DO $$ BEGIN IF (SELECT lat FROM risk_sign_ins) <> 35.689487 "
                                     "OR (SELECT name FROM devices) <> E'laptop\\tone' "
                                     "OR (SELECT length(secret_enc) FROM totp_credentials) <> 48 "
                                     "OR (SELECT playbook FROM incident_events) IS NOT NULL "
                                     "THEN RAISE 'changed'; END IF; END $$"),
                     0);
}

static void test_refuses_a_target_with_rows(void **state)
{
    NEED_PG();
    fixture *f = *state;
    zt_migrate_report rep;
    ok(zt_store_migrate(f->state, f->pg, &rep), "first migrate");
    assert_int_equal(zt_store_migrate(f->state, f->pg, &rep), -EEXIST);
    assert_non_null(strstr(zt_store_errmsg(), "not empty"));
}

/* Migrating the repaired source into the same schema proves the failed run left it empty. */
static void repaired_then_copied(fixture *f, const char *repair)
{
    char db[192];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    sql(db, repair);
    zt_migrate_report rep;
    ok(zt_store_migrate(f->state, f->pg, &rep), "migrate after the repair");
    expect_rows(&rep, "users", 2);
}

static void test_a_row_postgresql_refuses_rolls_back(void **state)
{
    NEED_PG();
    fixture *f = *state;
    char db[192];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    /* A membership of a user that does not exist (foreign keys were off when it was written). */
    sql(db, "PRAGMA foreign_keys = OFF; INSERT INTO memberships (group_id, user_id, created_at) "
            "VALUES (1, 'feedfacefeedfacefeedfacefeedface', 1)");
    zt_migrate_report rep;
    assert_int_equal(zt_store_migrate(f->state, f->pg, &rep), -EIO);
    assert_non_null(strstr(zt_store_errmsg(), "memberships"));
    repaired_then_copied(f, "DELETE FROM memberships WHERE user_id = "
                            "'feedfacefeedfacefeedfacefeedface'");
}

static void test_text_that_is_not_utf8_rolls_back(void **state)
{
    NEED_PG();
    fixture *f = *state;
    char db[192];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    sql(db, "UPDATE users SET name = CAST(x'41ff42' AS TEXT) WHERE email = 'bob@example.com'");
    zt_migrate_report rep;
    assert_int_equal(zt_store_migrate(f->state, f->pg, &rep), -EIO);
    assert_non_null(strstr(zt_store_errmsg(), "users"));
    repaired_then_copied(f, "UPDATE users SET name = 'Bob' WHERE email = 'bob@example.com'");
}

static void test_text_with_nul_is_named(void **state)
{
    NEED_PG();
    fixture *f = *state;
    char db[192];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    sql(db, "UPDATE groups SET name = CAST(x'410042' AS TEXT) WHERE name = 'staff'");
    zt_migrate_report rep;
    assert_int_equal(zt_store_migrate(f->state, f->pg, &rep), -EINVAL);
    assert_non_null(strstr(zt_store_errmsg(), "SQLite table groups"));
    assert_non_null(strstr(zt_store_errmsg(), "column name"));
    repaired_then_copied(f, "UPDATE groups SET name = 'staff' WHERE id = 1");
}

/* A column the PostgreSQL schema lacks (a newer ztgate wrote the file) would be lost. */
static void test_a_column_without_a_place_is_refused(void **state)
{
    NEED_PG();
    fixture *f = *state;
    char db[192];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    sql(db, "ALTER TABLE users ADD COLUMN nickname TEXT");
    zt_migrate_report rep;
    assert_int_equal(zt_store_migrate(f->state, f->pg, &rep), -EINVAL);
    assert_non_null(strstr(zt_store_errmsg(), "users.nickname"));
    repaired_then_copied(f, "ALTER TABLE users DROP COLUMN nickname");
}

static void test_unreadable_source(void **state)
{
    NEED_PG();
    fixture *f = *state;
    char db[192];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    FILE *fp = fopen(db, "r+");
    assert_non_null(fp);
    for (int i = 0; i < 4096; i++)
        fputc('x', fp);
    fclose(fp);
    zt_migrate_report rep;
    assert_int_equal(zt_store_migrate(f->state, f->pg, &rep), -EIO);
    assert_non_null(strstr(zt_store_errmsg(), "cannot open the SQLite store"));
    char missing[192];
    snprintf(missing, sizeof(missing), "%s/nothing-here", f->root);
    assert_int_equal(zt_store_migrate(missing, f->pg, &rep), -ENOENT);
    assert_non_null(strstr(zt_store_errmsg(), "no SQLite store"));
}

/* A gateway holds its connections open; a child holding one stands in for it. */
static void test_refuses_a_source_in_use(void **state)
{
    NEED_PG();
    fixture *f = *state;
    int ready[2];
    assert_int_equal(pipe(ready), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
        char err[256];
        zt_store *st = zt_store_open(&cfg, err, sizeof(err));
        zt_user u;
        if (st != NULL)
            zt_store_user_get_by_email(st, "alice@example.com", &u);
        (void)!write(ready[1], "x", 1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(ready[0], &c, 1), 1);
    zt_migrate_report rep;
    int rc = zt_store_migrate(f->state, f->pg, &rep);
    char msg[512];
    snprintf(msg, sizeof(msg), "%s", zt_store_errmsg());
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    close(ready[0]);
    close(ready[1]);
    assert_int_equal(rc, -EBUSY);
    assert_non_null(strstr(msg, "stop the gateway first"));
    ok(zt_store_migrate(f->state, f->pg, &rep), "migrate once it is closed");
}

static void test_refuses_a_sqlite_target(void **state)
{
    NEED_PG();
    fixture *f = *state;
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    char err[256];
    zt_store *st = zt_store_open(&cfg, err, sizeof(err));
    assert_non_null(st);
    zt_migrate_report rep;
    assert_int_equal(zt_store_migrate(f->state, st, &rep), -EINVAL);
    zt_store_close(st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_copies_every_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_a_target_with_rows, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_row_postgresql_refuses_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_that_is_not_utf8_rolls_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_with_nul_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_a_column_without_a_place_is_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unreadable_source, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_a_source_in_use, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refuses_a_sqlite_target, setup, teardown),
    };
    if (!zt_test_pg_enabled())
        fprintf(stderr, "ZT_TEST_PG_DSN not set: the migrate tests are skipped\n");
    return cmocka_run_group_tests(tests, NULL, NULL);
}
