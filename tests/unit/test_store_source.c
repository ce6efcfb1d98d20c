/* Identity sources in the store (schema 13, store_source.h) and their account operations
 * (session/account.h): users made with a source, external id and expiry; lookups by external
 * id; profile updates that refuse taken emails and ids; attributes kept as one JSON object;
 * group sync that replaces only its own source's memberships; group facts and renames; and
 * the account service's update (revoking when the email changes or the expiry is past) and
 * sync (records only when something changed). Bad arguments are refused with nothing written.
 * On SQLite, then on PostgreSQL when ZT_TEST_PG_DSN is set; each test owns a temp dir, or a
 * PostgreSQL schema. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "session/account.h"
#include "store/store.h"
#include "store/store_source.h"

typedef struct fixture {
    char root[64];
    char state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* PostgreSQL runs: the test's schema, else "" */
    zt_store *st;
    unsigned records;
    char last[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-srcstore-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    *state = f;
    return 0;
}

/* The same tests against PostgreSQL (ZT_TEST_PG_DSN): a schema of the test's own. */
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

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static void create(zt_store *st, const char *email, const char *source, const char *ext,
                   zt_user *out)
{
    zt_store_user_new n = {.email = email, .name = "名前", .source = source, .external_id = ext};
    if (zt_store_user_create(st, &n, out) != 0)
        fail_msg("create %s: %s", email, zt_store_errmsg());
}

static void test_create_and_lookup(void **state)
{
    fixture *f = *state;
    zt_user u, got;
    zt_store_user_new n = {.email = "guest@example.com",
                           .name = "ゲスト",
                           .source = "ldap:corp",
                           .external_id = "uuid-1",
                           .sponsor = "boss@example.com",
                           .expires_at = 1900000000};
    assert_int_equal(zt_store_group_add(f->st, "staff"), 0);
    const char *groups[] = {"staff"};
    n.groups = groups;
    n.n_groups = 1;
    assert_int_equal(zt_store_user_create(f->st, &n, &u), 0);
    assert_string_equal(u.source, "ldap:corp");
    assert_string_equal(u.external_id, "uuid-1");
    assert_string_equal(u.sponsor, "boss@example.com");
    assert_int_equal(u.expires_at, 1900000000);
    assert_int_equal(u.last_sign_in_at, 0);
    assert_int_equal(zt_store_user_get_by_external(f->st, "ldap:corp", "uuid-1", &got), 0);
    assert_string_equal(got.id, u.id);
    assert_int_equal(zt_store_user_get_by_external(f->st, "ldap:other", "uuid-1", &got), -ENOENT);
    /* Same external id in the same source: refused; another email is not enough. */
    n.email = "other@example.com";
    assert_int_equal(zt_store_user_create(f->st, &n, &got), -EEXIST);
    assert_non_null(strstr(zt_store_errmsg(), "external id"));
    /* Same email: refused, naming the email. */
    n.email = "GUEST@example.com";
    n.external_id = "uuid-2";
    assert_int_equal(zt_store_user_create(f->st, &n, &got), -EEXIST);
    assert_non_null(strstr(zt_store_errmsg(), "already exists"));
    /* The plain add is "local" with nothing else. */
    zt_user l;
    assert_int_equal(zt_store_user_add(f->st, "local@example.com", "", "", NULL, 0, &l), 0);
    assert_string_equal(l.source, "local");
    assert_string_equal(l.external_id, "");
    zt_user_dispose(&u);
    zt_user_dispose(&got);
    zt_user_dispose(&l);
}

static void test_bad_arguments(void **state)
{
    fixture *f = *state;
    zt_user u;
    zt_store_user_new n = {.email = "a@example.com", .source = "bad source"};
    assert_int_equal(zt_store_user_create(f->st, &n, &u), -EINVAL);
    n.source = "scim";
    n.external_id = "tab\there";
    assert_int_equal(zt_store_user_create(f->st, &n, &u), -EINVAL);
    n.external_id = "";
    n.sponsor = "not an email";
    assert_int_equal(zt_store_user_create(f->st, &n, &u), -EINVAL);
    n.sponsor = NULL;
    n.expires_at = -5;
    assert_int_equal(zt_store_user_create(f->st, &n, &u), -EINVAL);
    assert_int_equal(zt_store_user_get_by_email(f->st, "a@example.com", &u), -ENOENT);
    assert_false(zt_store_source_valid(""));
    assert_true(zt_store_source_valid("oidc:entra"));
    assert_int_equal(zt_store_user_get_by_external(f->st, "scim", "", &u), -EINVAL);
}

static int count_cb(void *ctx, const zt_user *u)
{
    (void)u;
    ++*(int *)ctx;
    return 0;
}

static void test_update_and_list(void **state)
{
    fixture *f = *state;
    zt_user a, b, got;
    create(f->st, "a@example.com", "scim", "A", &a);
    create(f->st, "b@example.com", "scim", "B", &b);
    int n = 0;
    assert_int_equal(zt_store_user_list_by_source(f->st, "scim", count_cb, &n), 0);
    assert_int_equal(n, 2);
    zt_store_user_profile p = {.name = "新しい名前", .set_expires = true, .expires_at = 42};
    assert_int_equal(zt_store_user_update(f->st, a.id, &p), 0);
    assert_int_equal(zt_store_user_get_by_id(f->st, a.id, &got), 0);
    assert_string_equal(got.name, "新しい名前");
    assert_string_equal(got.email, "a@example.com"); /* not named: unchanged */
    assert_int_equal(got.expires_at, 42);
    zt_store_user_profile taken = {.email = "B@example.com"};
    assert_int_equal(zt_store_user_update(f->st, a.id, &taken), -EEXIST);
    zt_store_user_profile ext = {.external_id = "B"};
    assert_int_equal(zt_store_user_update(f->st, a.id, &ext), -EEXIST);
    assert_int_equal(zt_store_user_update(f->st, "0123456789abcdef0123456789abcdef", &p), -ENOENT);
    assert_int_equal(zt_store_user_touch_sign_in(f->st, a.id, 1000), 0);
    assert_int_equal(zt_store_user_touch_sign_in(f->st, a.id, 900), 0); /* never backwards */
    assert_int_equal(zt_store_user_get_by_id(f->st, a.id, &got), 0);
    assert_int_equal(got.last_sign_in_at, 1000);
    zt_user_dispose(&a);
    zt_user_dispose(&b);
    zt_user_dispose(&got);
}

static void test_attrs(void **state)
{
    fixture *f = *state;
    zt_user a;
    create(f->st, "a@example.com", "scim", "A", &a);
    char *j = NULL;
    assert_int_equal(zt_store_user_attrs_get(f->st, a.id, &j), 0);
    assert_string_equal(j, "{}");
    free(j);
    assert_int_equal(zt_store_user_attrs_set(f->st, a.id, "{ \"title\" : \"教諭\" }"), 0);
    assert_int_equal(zt_store_user_attrs_get(f->st, a.id, &j), 0);
    assert_string_equal(j, "{\"title\":\"教諭\"}");
    free(j);
    assert_int_equal(zt_store_user_attrs_set(f->st, a.id, "[1,2]"), -EINVAL);
    assert_int_equal(zt_store_user_attrs_set(f->st, a.id, "{broken"), -EINVAL);
    assert_int_equal(zt_store_user_attrs_set(f->st, "0123456789abcdef0123456789abcdef", "{}"),
                     -ENOENT);
    assert_int_equal(zt_store_user_attrs_get(f->st, a.id, &j), 0);
    assert_string_equal(j, "{\"title\":\"教諭\"}"); /* the refused writes changed nothing */
    free(j);
    zt_user_dispose(&a);
}

typedef struct names {
    char text[512];
} names;

static int names_cb(void *ctx, const char *name)
{
    names *n = ctx;
    size_t at = strlen(n->text);
    snprintf(n->text + at, sizeof(n->text) - at, "%s%s", at ? "," : "", name);
    return 0;
}

static const char *groups_of(zt_store *st, const char *id, names *n)
{
    n->text[0] = '\0';
    assert_int_equal(zt_store_user_groups(st, id, names_cb, n), 0);
    return n->text;
}

static void test_sync_groups(void **state)
{
    fixture *f = *state;
    zt_user a;
    names n;
    create(f->st, "a@example.com", "ldap:corp", "A", &a);
    assert_int_equal(zt_store_group_add(f->st, "admins"), 0);
    assert_int_equal(zt_store_group_member_add(f->st, "admins", a.id), 0); /* an admin's */
    const char *g1[] = {"teachers", "grade-3"};
    bool changed = false;
    assert_int_equal(zt_store_user_sync_groups(f->st, a.id, "ldap:corp", g1, 2, false, &changed),
                     -ENOENT);
    assert_false(changed);
    assert_string_equal(groups_of(f->st, a.id, &n), "admins"); /* nothing half done */
    assert_int_equal(zt_store_user_sync_groups(f->st, a.id, "ldap:corp", g1, 2, true, &changed), 0);
    assert_true(changed);
    assert_string_equal(groups_of(f->st, a.id, &n), "admins,grade-3,teachers");
    zt_store_group g;
    assert_int_equal(zt_store_group_get(f->st, "teachers", &g), 0);
    assert_string_equal(g.source, "ldap:corp");
    /* Again: no change. */
    assert_int_equal(zt_store_user_sync_groups(f->st, a.id, "ldap:corp", g1, 2, true, &changed), 0);
    assert_false(changed);
    /* The directory drops grade-3 and lists admins: the admin's membership stays as it is and
     * the source's grade-3 goes. */
    const char *g2[] = {"TEACHERS", "admins"};
    assert_int_equal(zt_store_user_sync_groups(f->st, a.id, "ldap:corp", g2, 2, true, &changed), 0);
    assert_true(changed);
    assert_string_equal(groups_of(f->st, a.id, &n), "admins,teachers");
    /* The source lists nothing: its memberships go, the admin's stays. */
    assert_int_equal(zt_store_user_sync_groups(f->st, a.id, "ldap:corp", NULL, 0, true, &changed),
                     0);
    assert_true(changed);
    assert_string_equal(groups_of(f->st, a.id, &n), "admins");
    const char *bad[] = {"no spaces"};
    assert_int_equal(zt_store_user_sync_groups(f->st, a.id, "ldap:corp", bad, 1, true, &changed),
                     -EINVAL);
    zt_user_dispose(&a);
}

static void test_group_meta(void **state)
{
    fixture *f = *state;
    assert_int_equal(zt_store_group_add(f->st, "class-3-1"), 0);
    zt_store_group_meta m = {.display_name = "3年1組", .source = "scim", .external_id = "g1"};
    assert_int_equal(zt_store_group_set_meta(f->st, "class-3-1", &m), 0);
    zt_store_group g;
    assert_int_equal(zt_store_group_get_by_external(f->st, "scim", "g1", &g), 0);
    assert_string_equal(g.name, "class-3-1");
    assert_string_equal(g.display_name, "3年1組");
    assert_int_equal(zt_store_group_add(f->st, "other"), 0);
    assert_int_equal(zt_store_group_set_meta(f->st, "other", &m), -EEXIST);
    assert_int_equal(zt_store_group_rename(f->st, "class-3-1", "OTHER"), -EEXIST);
    assert_int_equal(zt_store_group_rename(f->st, "class-3-1", "class-4-1"), 0);
    assert_int_equal(zt_store_group_get(f->st, "class-4-1", &g), 0);
    assert_string_equal(g.display_name, "3年1組");
    assert_int_equal(zt_store_group_rename(f->st, "missing", "x"), -ENOENT);
}

typedef struct emails {
    char text[256];
} emails;

static int email_cb(void *ctx, const zt_user *u)
{
    emails *e = ctx;
    size_t at = strlen(e->text);
    snprintf(e->text + at, sizeof(e->text) - at, "%s%s", at ? "," : "", u->email);
    return 0;
}

/* The sweep's question: expired and untouched since, or recently expired with session rows. */
static void test_list_expired(void **state)
{
    fixture *f = *state;
    int64_t t = (int64_t)time(NULL);
    zt_user a, b, c;
    zt_store_user_new n = {.email = "a@example.com", .expires_at = t + 10};
    assert_int_equal(zt_store_user_create(f->st, &n, &a), 0);
    n.email = "b@example.com";
    n.expires_at = t + 100;
    assert_int_equal(zt_store_user_create(f->st, &n, &b), 0);
    n.email = "c@example.com";
    n.expires_at = t - 5; /* changed (created) after it expired: handled unless rows remain */
    assert_int_equal(zt_store_user_create(f->st, &n, &c), 0);
    emails e = {""};
    assert_int_equal(zt_store_user_list_expired(f->st, t + 20, 3600, email_cb, &e), 0);
    assert_string_equal(e.text, "a@example.com");
    zt_store_session s;
    memset(&s, 0, sizeof(s));
    memset(s.id_hash, 'c', 64);
    snprintf(s.user_id, sizeof(s.user_id), "%s", c.id);
    s.created_at = s.auth_time = t;
    s.idle_expires_at = t + 600;
    s.absolute_expires_at = t + 3600;
    s.user_epoch = c.revocation_epoch;
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    e.text[0] = '\0';
    assert_int_equal(zt_store_user_list_expired(f->st, t + 20, 3600, email_cb, &e), 0);
    assert_string_equal(e.text, "c@example.com,a@example.com"); /* by expiry */
    e.text[0] = '\0';
    assert_int_equal(zt_store_user_list_expired(f->st, t + 20, 10, email_cb, &e), 0);
    assert_string_equal(e.text, "a@example.com"); /* c's expiry is outside a short window */
    assert_int_equal(zt_store_user_list_expired(f->st, 0, 10, email_cb, &e), -EINVAL);
    zt_user_dispose(&a);
    zt_user_dispose(&b);
    zt_user_dispose(&c);
}

static int record_cb(void *ctx, const char *json, size_t len)
{
    fixture *f = ctx;
    f->records++;
    snprintf(f->last, sizeof(f->last), "%.*s", (int)len, json);
    return 0;
}

static void test_account_update_and_sync(void **state)
{
    fixture *f = *state;
    zt_account_env env = {.store = f->st, .audit = {record_cb, f}};
    zt_actor who = {.name = "ldap:corp", .type = "System"};
    zt_account_result res;
    zt_account_new n = {.email = "t@example.com", .source = "ldap:corp", .external_id = "T"};
    assert_int_equal(zt_account_create(&env, &who, &n, &res), 0);
    assert_non_null(strstr(res.change, "from ldap:corp"));
    char id[ZT_STORE_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", res.user_id);
    /* A name change revokes nothing. */
    zt_store_user_profile p = {.name = "T2"};
    assert_int_equal(zt_account_update(&env, &who, id, &p, &res), 0);
    assert_string_equal(res.change, "name changed");
    int64_t epoch = res.epoch;
    /* An email change does (the epoch moves). */
    zt_store_user_profile e = {.email = "t2@example.com"};
    assert_int_equal(zt_account_update(&env, &who, id, &e, &res), 0);
    assert_true(res.epoch > epoch);
    assert_non_null(strstr(res.change, "sessions revoked"));
    assert_non_null(strstr(f->last, "user.update"));
    /* Sync: recorded with what moved, and not recorded when nothing did. */
    unsigned before = f->records;
    const char *g[] = {"staff"};
    assert_int_equal(zt_account_sync_groups(&env, &who, id, "ldap:corp", g, 1, true, &res), 0);
    assert_string_equal(res.change, "+staff");
    assert_int_equal(f->records, before + 1);
    assert_non_null(strstr(f->last, "user.groups.sync"));
    assert_int_equal(zt_account_sync_groups(&env, &who, id, "ldap:corp", g, 1, true, &res), 0);
    assert_string_equal(res.change, "");
    assert_int_equal(f->records, before + 1);
    assert_int_equal(zt_account_sync_groups(&env, &who, id, "ldap:corp", NULL, 0, true, &res), 0);
    assert_string_equal(res.change, "-staff");
    assert_int_equal(zt_account_update(&env, &who, "0123456789abcdef0123456789abcdef", &p, &res),
                     -ENOENT);
}

/* Source attributes and group descriptions change through the account service too, each with a
 * record, and an unchanged attribute object writes none (a sync repeats it for every user). */
static void test_account_attrs_and_group_update(void **state)
{
    fixture *f = *state;
    zt_account_env env = {.store = f->st, .audit = {record_cb, f}};
    zt_actor who = {.name = "scim:ab12", .type = "Admin"};
    zt_account_result res;
    zt_account_new n = {.email = "s@example.com", .source = "scim", .external_id = "S"};
    assert_int_equal(zt_account_create(&env, &who, &n, &res), 0);
    char id[ZT_STORE_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", res.user_id);
    unsigned before = f->records;
    assert_int_equal(zt_account_set_attrs(&env, &who, id, "{\"title\":\"nurse\"}", &res), 0);
    assert_string_equal(res.change, "attributes changed");
    assert_int_equal(f->records, before + 1);
    assert_non_null(strstr(f->last, "user.update"));
    assert_int_equal(zt_account_set_attrs(&env, &who, id, "{\"title\":\"nurse\"}", &res), 0);
    assert_string_equal(res.change, "");
    assert_int_equal(f->records, before + 1);
    assert_int_equal(zt_account_set_attrs(&env, &who, id, "[1]", &res), -EINVAL);
    assert_int_equal(f->records, before + 1);
    assert_int_equal(
        zt_account_set_attrs(&env, &who, "0123456789abcdef0123456789abcdef", "{}", &res), -ENOENT);

    assert_int_equal(zt_account_group_create(&env, &who, "nurses", &res), 0);
    zt_store_group_meta m = {.display_name = "看護師", .source = "scim", .external_id = "G1"};
    assert_int_equal(zt_account_group_update(&env, &who, "NURSES", &m, &res), 0);
    assert_string_equal(res.group, "nurses");
    assert_string_equal(res.change, "display name, source, external id changed");
    assert_non_null(strstr(f->last, "group.update"));
    zt_store_group g;
    assert_int_equal(zt_store_group_get(f->st, "nurses", &g), 0);
    assert_string_equal(g.display_name, "看護師");
    assert_int_equal(zt_account_group_update(&env, &who, "nobody", &m, &res), -ENOENT);
}

/* Two gateways (two stores on one database) sync four users at once into the same new
 * groups: every sync succeeds, each group is made once, everyone ends up in both. */
typedef struct syncer {
    zt_store *st;
    const char *user_id;
    pthread_barrier_t *go;
    int rc;
    bool changed;
} syncer;

static void *sync_main(void *p)
{
    syncer *s = p;
    const char *groups[] = {"night-shift", "ward-7"};
    pthread_barrier_wait(s->go);
    s->rc = zt_store_user_sync_groups(s->st, s->user_id, "ldap:corp", groups, 2, true, &s->changed);
    return NULL;
}

static void test_sync_race_two_gateways(void **state)
{
    fixture *f = *state;
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    zt_store *other = f->schema[0] != '\0' ? zt_test_pg_reopen(f->schema, err, sizeof(err))
                                           : zt_store_open(&cfg, err, sizeof(err));
    if (other == NULL)
        fail_msg("open again: %s", err);
    zt_user u[4];
    syncer s[4];
    pthread_t th[4];
    pthread_barrier_t go;
    pthread_barrier_init(&go, NULL, 4);
    for (int i = 0; i < 4; i++) {
        char email[32], ext[8];
        snprintf(email, sizeof(email), "u%d@example.com", i);
        snprintf(ext, sizeof(ext), "U%d", i);
        create(f->st, email, "ldap:corp", ext, &u[i]);
        s[i] = (syncer){.st = i % 2 ? other : f->st, .user_id = u[i].id, .go = &go};
    }
    for (int i = 0; i < 4; i++)
        assert_int_equal(pthread_create(&th[i], NULL, sync_main, &s[i]), 0);
    names n;
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        if (s[i].rc != 0)
            fail_msg("sync %d: %d %s", i, s[i].rc, zt_store_errmsg());
        assert_true(s[i].changed);
        assert_string_equal(groups_of(f->st, u[i].id, &n), "night-shift,ward-7");
        zt_user_dispose(&u[i]);
    }
    pthread_barrier_destroy(&go);
    zt_store_group g;
    assert_int_equal(zt_store_group_get(f->st, "ward-7", &g), 0);
    assert_int_equal(g.n_members, 4);
    zt_store_close(other);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_create_and_lookup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_arguments, setup, teardown),
        cmocka_unit_test_setup_teardown(test_update_and_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_attrs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_groups, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_meta, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_update_and_sync, setup, teardown),
        cmocka_unit_test_setup_teardown(test_list_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_account_attrs_and_group_update, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sync_race_two_gateways, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown_pg)
        PG_TEST(test_create_and_lookup),
        PG_TEST(test_bad_arguments),
        PG_TEST(test_update_and_list),
        PG_TEST(test_attrs),
        PG_TEST(test_sync_groups),
        PG_TEST(test_group_meta),
        PG_TEST(test_account_update_and_sync),
        PG_TEST(test_list_expired),
        PG_TEST(test_account_attrs_and_group_update),
        PG_TEST(test_sync_race_two_gateways),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
