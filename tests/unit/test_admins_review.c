/* Security review of session/admins.h (issue 16): attacks by a lesser administrator on people
 * who hold admin roles. A help desk (scoped or not) must not take over or shut out a global
 * admin, another help desk or an auditor who is in their scope: no MFA reset, TAP or password
 * (credentials), no disable, enable, delete, profile or membership change (users:write), unless
 * they hold the admins permission unscoped. The console asks zt_admins_may_on_user; the admin
 * API asks zt_admins_may_change_person. Each test owns a temp dir,
 * and runs again against PostgreSQL when ZT_TEST_PG_DSN is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "session/admins.h"

typedef struct fixture {
    char root[64];
    char state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* "" = SQLite in state/ */
    zt_store *st;
    zt_user hd, boss, pupil, aud;
    zt_account_env env;
} fixture;

static int sink(void *ctx, const char *json, size_t len)
{
    (void)ctx, (void)json, (void)len;
    return 0;
}

static const zt_actor root_actor = {.name = "root", .type = "Admin", .process = "ztgate-cli"};

static void add_user(zt_store *st, const char *email, const char *group, zt_user *out)
{
    const char *groups[] = {group};
    if (zt_store_user_add(st, email, "Test User", "", group ? groups : NULL, group ? 1 : 0, out) !=
        0)
        fail_msg("user_add %s: %s", email, zt_store_errmsg());
}

static void grant(fixture *f, const zt_user *u, zt_admin_role role, const char *scope)
{
    zt_account_result res;
    if (zt_admins_grant(&f->env, &root_actor, u->id, role, scope, &res) != 0)
        fail_msg("grant %s: %s", u->email, zt_store_errmsg());
}

/* Set for the second run of the tests, against PostgreSQL (ZT_TEST_PG_DSN; a schema per test). */
static bool use_pg;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-admrev-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = use_pg ? zt_test_pg_open(f->schema, err, sizeof(err))
                   : zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    assert_int_equal(zt_store_group_add(f->st, "school-a"), 0);
    add_user(f->st, "hd@example.com", "school-a", &f->hd);
    add_user(f->st, "boss@example.com", "school-a", &f->boss); /* the principal: a global admin */
    add_user(f->st, "pupil@example.com", "school-a", &f->pupil);
    add_user(f->st, "aud@example.com", "school-a", &f->aud);
    f->env = (zt_account_env){.store = f->st, .audit = {.write = sink, .ctx = f}};
    grant(f, &f->hd, ZT_ROLE_HELPDESK, "school-a");
    grant(f, &f->boss, ZT_ROLE_GLOBAL_ADMIN, NULL);
    grant(f, &f->aud, ZT_ROLE_AUDITOR, NULL);
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
    zt_store_close(f->st);
    if (f->schema[0] != '\0')
        zt_test_pg_drop(f->schema);
    zt_user_dispose(&f->hd);
    zt_user_dispose(&f->boss);
    zt_user_dispose(&f->pupil);
    zt_user_dispose(&f->aud);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void test_helpdesk_cannot_take_over_admins(void **state)
{
    fixture *f = *state;
    zt_admin_grant hd;
    assert_int_equal(zt_admins_grant_of(f->st, f->hd.id, &hd), 0);
    /* The pupil is fair game: that is the help desk's job. */
    assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_CREDENTIALS, f->pupil.id), 1);
    assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_USERS_WRITE, f->pupil.id), 1);
    /* The global admin and the auditor sit in school-a too, but hold roles. */
    const zt_user *admins[] = {&f->boss, &f->aud, &f->hd};
    for (size_t i = 0; i < sizeof(admins) / sizeof(admins[0]); i++) {
        const char *id = admins[i]->id;
        assert_int_equal(zt_admins_user_in_scope(f->st, &hd, id), 1);
        assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_CREDENTIALS, id), 0);
        assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_USERS_WRITE, id), 0);
        assert_int_equal(zt_admins_may_change_person(f->st, &hd, ZT_PERM_CREDENTIALS, id), 0);
        /* Reading and ending sessions stay allowed (incident response). */
        assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_USERS_READ, id), 1);
        assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_SESSIONS_REVOKE, id), 1);
    }
    /* A disabled admin keeps the protection (a help desk must not re-enable them). */
    zt_account_result res;
    assert_int_equal(zt_account_disable(&f->env, &root_actor, f->boss.id, &res), 0);
    assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_USERS_WRITE, f->boss.id), 0);
}

static void test_unscoped_helpdesk_too(void **state)
{
    fixture *f = *state;
    grant(f, &f->hd, ZT_ROLE_HELPDESK, NULL);
    zt_admin_grant hd;
    assert_int_equal(zt_admins_grant_of(f->st, f->hd.id, &hd), 0);
    assert_true(hd.everywhere);
    assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_CREDENTIALS, f->boss.id), 0);
    assert_int_equal(zt_admins_may_on_user(f->st, &hd, ZT_PERM_CREDENTIALS, f->pupil.id), 1);
}

static void test_global_admin_may(void **state)
{
    fixture *f = *state;
    zt_admin_grant boss;
    assert_int_equal(zt_admins_grant_of(f->st, f->boss.id, &boss), 0);
    assert_int_equal(zt_admins_may_on_user(f->st, &boss, ZT_PERM_CREDENTIALS, f->hd.id), 1);
    assert_int_equal(zt_admins_may_on_user(f->st, &boss, ZT_PERM_USERS_WRITE, f->aud.id), 1);
    /* A global admin's token without the admins scope is no global admin over admins. */
    boss.perms &= ~(zt_perms)ZT_PERM_ADMINS;
    boss.perms_everywhere &= ~(zt_perms)ZT_PERM_ADMINS;
    assert_int_equal(zt_admins_may_on_user(f->st, &boss, ZT_PERM_CREDENTIALS, f->hd.id), 0);
    assert_int_equal(zt_admins_may_on_user(f->st, &boss, ZT_PERM_CREDENTIALS, f->pupil.id), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_helpdesk_cannot_take_over_admins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unscoped_helpdesk_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_admin_may, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    use_pg = true;
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_helpdesk_cannot_take_over_admins, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unscoped_helpdesk_too, setup, teardown),
        cmocka_unit_test_setup_teardown(test_global_admin_may, setup, teardown),
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
