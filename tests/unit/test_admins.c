/* Named administrators (session/admins.h over the SQLite store, schema 14): role names and
 * permissions, permission lists and lifetimes as typed, grants merged from several roles, group
 * scopes (in, out, a mixed unscoped + scoped person), a disabled admin without power, personal
 * tokens (shape, verify, wrong secret, revoked, expired, scopes intersected with the owner's
 * grant, a removed role disarming the token, scopes beyond the owner refused), the bootstrap's
 * first admin only once, the audit records naming the actor, and revoking a token revoking the
 * tokens made from it (schema 16). Each test owns a temp dir,
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

#include "lib/time.h"
#include "pg_fixture.h"
#include "session/admins.h"

typedef struct fixture {
    char root[64];
    char state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* "" = SQLite in state/ */
    zt_store *st;
    zt_user alice, bob, carol;
    char records[8192];
    size_t n_records;
    zt_account_env env;
} fixture;

static int sink(void *ctx, const char *json, size_t len)
{
    fixture *f = ctx;
    if (f->n_records + len + 2 < sizeof(f->records)) {
        memcpy(f->records + f->n_records, json, len);
        f->n_records += len;
        f->records[f->n_records++] = '\n';
        f->records[f->n_records] = '\0';
    }
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

/* Set for the second run of the tests, against PostgreSQL (ZT_TEST_PG_DSN; a schema per test). */
static bool use_pg;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-admins-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = use_pg ? zt_test_pg_open(f->schema, err, sizeof(err))
                   : zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    assert_int_equal(zt_store_group_add(f->st, "school-a"), 0);
    assert_int_equal(zt_store_group_add(f->st, "school-b"), 0);
    add_user(f->st, "alice@example.com", "school-a", &f->alice);
    add_user(f->st, "bob@example.com", "school-b", &f->bob);
    add_user(f->st, "carol@example.com", NULL, &f->carol);
    f->env = (zt_account_env){.store = f->st, .audit = {.write = sink, .ctx = f}};
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
    zt_user_dispose(&f->alice);
    zt_user_dispose(&f->bob);
    zt_user_dispose(&f->carol);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

static void grant(fixture *f, const zt_user *u, zt_admin_role role, const char *scope)
{
    zt_account_result res;
    int rc = zt_admins_grant(&f->env, &root_actor, u->id, role, scope, &res);
    if (rc != 0)
        fail_msg("grant %s: %d %s", u->email, rc, zt_store_errmsg());
}

static void test_names(void **state)
{
    (void)state;
    zt_admin_role r;
    assert_int_equal(zt_admins_role_parse("helpdesk", &r), 0);
    assert_int_equal(r, ZT_ROLE_HELPDESK);
    assert_string_equal(zt_admins_role_name(ZT_ROLE_SECURITY_OPERATOR), "security_operator");
    assert_int_equal(zt_admins_role_parse("root", &r), -EINVAL);
    assert_int_equal(zt_admins_role_parse("Helpdesk", &r), -EINVAL);
    assert_int_equal(zt_admins_role_perms(ZT_ROLE_GLOBAL_ADMIN), ZT_PERM_ALL);
    assert_string_equal(zt_msg_text(ZT_LANG_JA, zt_admins_role_msg(ZT_ROLE_HELPDESK)),
                        "ヘルプデスク");
    for (int i = 0; i < ZT_PERM_COUNT; i++) {
        assert_int_not_equal(zt_admins_perm_msg(1u << i), MSG_NONE);
        assert_non_null(zt_admins_perm_name(1u << i));
    }
    assert_int_equal(zt_admins_perm_msg(3), MSG_NONE);
    /* the auditor reads everything and changes nothing */
    zt_perms writes = ZT_PERM_USERS_WRITE | ZT_PERM_CREDENTIALS | ZT_PERM_SESSIONS_REVOKE |
                      ZT_PERM_DEVICES_WRITE | ZT_PERM_RISK_WRITE | ZT_PERM_INCIDENTS_WRITE |
                      ZT_PERM_ASSESS | ZT_PERM_ADMINS;
    assert_int_equal(zt_admins_role_perms(ZT_ROLE_AUDITOR) & writes, 0);
    assert_true(zt_admins_role_perms(ZT_ROLE_AUDITOR) & ZT_PERM_AUDIT_READ);
    assert_false(zt_admins_role_perms(ZT_ROLE_HELPDESK) & ZT_PERM_RISK_WRITE);
    assert_false(zt_admins_role_perms(ZT_ROLE_SECURITY_OPERATOR) & ZT_PERM_CREDENTIALS);

    zt_perms p;
    char bad[64];
    assert_int_equal(zt_admins_perms_parse("users:read, devices:write", &p, bad, sizeof(bad)), 0);
    assert_int_equal(p, ZT_PERM_USERS_READ | ZT_PERM_DEVICES_WRITE);
    assert_int_equal(zt_admins_perms_parse("users:read,root", &p, bad, sizeof(bad)), -EINVAL);
    assert_string_equal(bad, "root");
    assert_int_equal(zt_admins_perms_parse("", &p, bad, sizeof(bad)), -EINVAL);
    assert_int_equal(zt_admins_perms_parse("users:read,,", &p, bad, sizeof(bad)), -EINVAL);
    assert_int_equal(zt_admins_perms_parse("all", &p, NULL, 0), 0);
    assert_int_equal(p, ZT_PERM_ALL);
    char text[512];
    zt_admins_perms_format(ZT_PERM_USERS_READ | ZT_PERM_ADMINS, text, sizeof(text));
    assert_string_equal(text, "users:read,admins");

    int64_t s;
    assert_int_equal(zt_admins_lifetime_parse("30d", &s), 0);
    assert_int_equal(s, 30 * 86400);
    assert_int_equal(zt_admins_lifetime_parse("12h", &s), 0);
    assert_int_equal(s, 12 * 3600);
    assert_int_equal(zt_admins_lifetime_parse("90m", &s), 0);
    assert_int_equal(zt_admins_lifetime_parse("59m", &s), -EINVAL); /* under an hour */
    assert_int_equal(zt_admins_lifetime_parse("366d", &s), -EINVAL);
    assert_int_equal(zt_admins_lifetime_parse("0d", &s), -EINVAL);
    assert_int_equal(zt_admins_lifetime_parse("30", &s), -EINVAL);
    assert_int_equal(zt_admins_lifetime_parse("-1d", &s), -EINVAL);
    assert_int_equal(zt_admins_lifetime_parse("99999999999d", &s), -EINVAL);
}

static void test_grants_and_scopes(void **state)
{
    fixture *f = *state;
    zt_admin_grant g;
    assert_int_equal(zt_admins_grant_of(f->st, f->carol.id, &g), -ENOENT);
    assert_int_equal(zt_admins_user_in_scope(f->st, &g, f->alice.id), 0);

    /* help desk in school-a: alice is in scope, bob is not */
    grant(f, &f->carol, ZT_ROLE_HELPDESK, "School-A"); /* canonical spelling kept */
    assert_int_equal(zt_admins_grant_of(f->st, f->carol.id, &g), 0);
    assert_false(g.everywhere);
    assert_int_equal(g.n_scopes, 1);
    assert_string_equal(g.scopes[0], "school-a");
    assert_string_equal(g.email, "carol@example.com");
    assert_true(zt_admins_may(&g, ZT_PERM_CREDENTIALS));
    assert_false(zt_admins_may(&g, ZT_PERM_RISK_WRITE));
    assert_int_equal(zt_admins_user_in_scope(f->st, &g, f->alice.id), 1);
    assert_int_equal(zt_admins_user_in_scope(f->st, &g, f->bob.id), 0);
    assert_int_equal(zt_admins_user_in_scope(f->st, &g, "00000000000000000000000000000000"), 0);
    assert_int_equal(zt_admins_group_in_scope(&g, "school-b"), 0);
    assert_int_equal(zt_admins_group_in_scope(&g, "SCHOOL-A"), 1);

    /* the same role twice is refused; a group that does not exist names itself */
    zt_account_result res;
    assert_int_equal(
        zt_admins_grant(&f->env, &root_actor, f->carol.id, ZT_ROLE_HELPDESK, "school-a", &res),
        -EEXIST);
    assert_int_equal(
        zt_admins_grant(&f->env, &root_actor, f->carol.id, ZT_ROLE_HELPDESK, "nowhere", &res),
        -ENOENT);
    assert_string_equal(res.missing_group, "nowhere");
    assert_int_equal(
        zt_admins_grant(&f->env, &root_actor, f->carol.id, ZT_ROLE_HELPDESK, "bad group", &res),
        -EINVAL);

    /* auditor everywhere + help desk in school-a: reads reach bob, changes do not */
    grant(f, &f->carol, ZT_ROLE_AUDITOR, NULL);
    assert_int_equal(zt_admins_grant_of(f->st, f->carol.id, &g), 0);
    assert_false(g.everywhere);
    assert_int_equal(zt_admins_user_in_scope(f->st, &g, f->bob.id), 0);
    assert_int_equal(zt_admins_may_on_user(f->st, &g, ZT_PERM_USERS_READ, f->bob.id), 1);
    assert_int_equal(zt_admins_may_on_user(f->st, &g, ZT_PERM_USERS_WRITE, f->bob.id), 0);
    assert_int_equal(zt_admins_may_on_user(f->st, &g, ZT_PERM_USERS_WRITE, f->alice.id), 1);
    assert_int_equal(zt_admins_may_on_user(f->st, &g, ZT_PERM_RISK_WRITE, f->alice.id), 0);

    /* global admin: everywhere */
    grant(f, &f->alice, ZT_ROLE_GLOBAL_ADMIN, NULL);
    assert_int_equal(zt_admins_grant_of(f->st, f->alice.id, &g), 0);
    assert_true(g.everywhere);
    assert_int_equal(zt_admins_user_in_scope(f->st, &g, f->bob.id), 1);

    /* a disabled admin has no power at all */
    assert_int_equal(zt_store_user_set_disabled(f->st, f->alice.id, true, NULL), 0);
    assert_int_equal(zt_admins_grant_of(f->st, f->alice.id, &g), -EPERM);
    assert_false(zt_admins_may(&g, ZT_PERM_USERS_READ));

    /* revoke one role, then every role */
    assert_int_equal(
        zt_admins_revoke(&f->env, &root_actor, f->carol.id, ZT_ROLE_AUDITOR, NULL, &res), 0);
    assert_int_equal(zt_admins_grant_of(f->st, f->carol.id, &g), 0);
    assert_false(zt_admins_may(&g, ZT_PERM_AUDIT_READ));
    assert_int_equal(zt_admins_revoke(&f->env, &root_actor, f->carol.id, ZT_ROLE_COUNT, NULL, &res),
                     0);
    assert_int_equal(zt_admins_grant_of(f->st, f->carol.id, &g), -ENOENT);
    assert_int_equal(zt_admins_revoke(&f->env, &root_actor, f->carol.id, ZT_ROLE_COUNT, NULL, &res),
                     -ENOENT);

    /* records: named operation, actor, target, scope */
    assert_non_null(strstr(f->records, "\"admin.grant\""));
    assert_non_null(strstr(f->records, "\"admin.revoke\""));
    assert_non_null(strstr(f->records, "role helpdesk granted in school-a"));
    assert_non_null(strstr(f->records, "\"root\""));
    assert_non_null(strstr(f->records, "carol@example.com"));
}

static void test_tokens(void **state)
{
    fixture *f = *state;
    grant(f, &f->carol, ZT_ROLE_HELPDESK, "school-a");
    zt_admin_grant g;
    assert_int_equal(zt_admins_grant_of(f->st, f->carol.id, &g), 0);
    char actor_name[ZT_ADMINS_ACTOR_MAX];
    zt_actor who;
    zt_admins_actor(&g, "console:abcd", actor_name, NULL, &who);
    assert_string_equal(who.name, "admin:carol@example.com");
    assert_string_equal(who.type, "Admin");

    char tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t;
    zt_account_result res;
    zt_admins_token_new n = {.user_id = f->carol.id,
                             .name = "script",
                             .scopes = ZT_PERM_USERS_READ | ZT_PERM_CREDENTIALS};
    assert_int_equal(zt_admins_token_create(&f->env, &who, &n, tok, &t, &res), 0);
    assert_int_equal(strlen(tok), ZT_ADMINS_TOKEN_LEN);
    assert_true(zt_admins_token_shaped(tok, strlen(tok)));
    assert_int_equal(strncmp(tok, "ztg_", 4), 0);
    assert_int_equal(memcmp(tok + 4, t.id, ZT_STORE_ADMIN_TOKEN_ID_LEN), 0);
    assert_int_equal(t.expires_at - t.created_at, ZT_ADMINS_TOKEN_LIFETIME_DEFAULT_S);
    assert_null(strstr(f->records, tok + 21)); /* the secret is in no record */
    assert_non_null(strstr(f->records, "\"admin_token.create\""));
    assert_non_null(strstr(f->records, "admin:carol@example.com"));

    zt_admins_auth a;
    int64_t now = now_s();
    assert_int_equal(zt_admins_token_verify(f->st, tok, strlen(tok), now, &a), 0);
    assert_int_equal(a.grant.perms, ZT_PERM_USERS_READ | ZT_PERM_CREDENTIALS);
    assert_false(a.grant.everywhere);
    assert_string_equal(a.token.id, t.id);
    zt_store_admin_token back;
    assert_int_equal(zt_store_admin_token_get(f->st, t.id, &back, NULL), 0);
    assert_int_equal(back.last_used_at, now);

    /* wrong secret, malformed, unknown id */
    char wrong[ZT_ADMINS_TOKEN_LEN + 1];
    memcpy(wrong, tok, sizeof(wrong));
    wrong[ZT_ADMINS_TOKEN_LEN - 1] = wrong[ZT_ADMINS_TOKEN_LEN - 1] == 'A' ? 'B' : 'A';
    assert_int_equal(zt_admins_token_verify(f->st, wrong, strlen(wrong), now, &a), -EACCES);
    assert_int_equal(a.grant.perms, 0);
    assert_int_equal(zt_admins_token_verify(f->st, tok, strlen(tok) - 1, now, &a), -EINVAL);
    assert_int_equal(zt_admins_token_verify(f->st, "ztg_x", 5, now, &a), -EINVAL);
    memcpy(wrong, tok, sizeof(wrong));
    wrong[4] = wrong[4] == '0' ? '1' : '0';
    assert_int_equal(zt_admins_token_verify(f->st, wrong, strlen(wrong), now, &a), -EACCES);

    /* expired */
    assert_int_equal(zt_admins_token_verify(f->st, tok, strlen(tok), t.expires_at, &a), -ETIMEDOUT);

    /* scopes beyond the owner, bad lifetime, bad name (the buffer is wiped on a refusal) */
    char scratch[ZT_ADMINS_TOKEN_LEN + 1];
    n.scopes = ZT_PERM_RISK_WRITE;
    assert_int_equal(zt_admins_token_create(&f->env, &who, &n, scratch, NULL, &res), -EPERM);
    n.scopes = 0;
    n.lifetime_s = 60;
    assert_int_equal(zt_admins_token_create(&f->env, &who, &n, scratch, NULL, &res), -EINVAL);
    n.lifetime_s = 0;
    n.name = "a\nb";
    assert_int_equal(zt_admins_token_create(&f->env, &who, &n, scratch, NULL, &res), -EINVAL);
    n.name = "all of carol's";
    n.user_id = f->bob.id; /* not an admin */
    assert_int_equal(zt_admins_token_create(&f->env, &who, &n, scratch, NULL, &res), -ENOENT);

    /* a second token with the owner's permissions; removing the role disarms it */
    n.user_id = f->carol.id;
    char tok2[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t2;
    assert_int_equal(zt_admins_token_create(&f->env, &who, &n, tok2, &t2, &res), 0);
    assert_int_equal(t2.scopes, zt_admins_role_perms(ZT_ROLE_HELPDESK));
    assert_int_equal(zt_admins_token_verify(f->st, tok2, strlen(tok2), now, &a), 0);
    assert_int_equal(
        zt_admins_revoke(&f->env, &root_actor, f->carol.id, ZT_ROLE_HELPDESK, "school-a", &res), 0);
    assert_int_equal(zt_admins_token_verify(f->st, tok2, strlen(tok2), now, &a), -EPERM);
    grant(f, &f->carol, ZT_ROLE_AUDITOR, NULL);
    /* the token's scopes still bound it: auditor's reads only where the token allows */
    assert_int_equal(zt_admins_token_verify(f->st, tok, strlen(tok), now, &a), 0);
    assert_int_equal(a.grant.perms, ZT_PERM_USERS_READ);
    assert_true(a.grant.everywhere);

    /* revoke */
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, t.id, &res, NULL), 0);
    assert_int_equal(zt_admins_token_verify(f->st, tok, strlen(tok), now, &a), -ECANCELED);
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, t.id, &res, NULL), -EALREADY);
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, "nothex", &res, NULL), -ENOENT);
    assert_non_null(strstr(f->records, "\"admin_token.revoke\""));

    /* deleting the user takes roles and tokens */
    assert_int_equal(zt_store_user_delete(f->st, f->carol.id), 0);
    assert_int_equal(zt_store_admin_token_get(f->st, t2.id, &back, NULL), -ENOENT);
    uint64_t count = 9;
    assert_int_equal(zt_store_admin_count(f->st, &count), 0);
    assert_int_equal(count, 0);
}

/* A token made by a token (as the admin API makes them); returns its record. */
static void made_by(fixture *f, const zt_user *owner, const char *parent, const char *name,
                    char tok[ZT_ADMINS_TOKEN_LEN + 1], zt_store_admin_token *t)
{
    zt_account_result res;
    zt_admins_token_new n = {.user_id = owner->id, .name = name, .parent_id = parent};
    int rc = zt_admins_token_create(&f->env, &root_actor, &n, tok, t, &res);
    if (rc != 0)
        fail_msg("token %s: %d %s", name, rc, zt_store_errmsg());
}

static bool live(fixture *f, const char *tok)
{
    zt_admins_auth a;
    return zt_admins_token_verify(f->st, tok, strlen(tok), now_s(), &a) == 0;
}

/* Revoking a token revokes what was made from it, to any depth and whoever owns it; its
 * siblings, its parent and unrelated tokens stay. One record per revoked token. */
static void test_token_offspring(void **state)
{
    fixture *f = *state;
    grant(f, &f->alice, ZT_ROLE_GLOBAL_ADMIN, NULL);
    grant(f, &f->carol, ZT_ROLE_AUDITOR, NULL);
    char root[ZT_ADMINS_TOKEN_LEN + 1], leak[ZT_ADMINS_TOKEN_LEN + 1], kid[ZT_ADMINS_TOKEN_LEN + 1],
        grandkid[ZT_ADMINS_TOKEN_LEN + 1], other[ZT_ADMINS_TOKEN_LEN + 1],
        sibling[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token troot, tleak, tkid, tgrand, tother, tsib;
    made_by(f, &f->alice, NULL, "root", root, &troot);
    made_by(f, &f->alice, troot.id, "leaked", leak, &tleak);
    made_by(f, &f->carol, tleak.id, "made for carol", kid, &tkid); /* another owner */
    made_by(f, &f->alice, tkid.id, "grandchild", grandkid, &tgrand);
    made_by(f, &f->alice, troot.id, "sibling", sibling, &tsib);
    made_by(f, &f->alice, NULL, "unrelated", other, &tother);
    assert_string_equal(tleak.parent_id, troot.id);
    assert_string_equal(troot.parent_id, "");
    zt_store_admin_token back;
    assert_int_equal(zt_store_admin_token_get(f->st, tkid.id, &back, NULL), 0);
    assert_string_equal(back.parent_id, tleak.id);

    f->n_records = 0;
    f->records[0] = '\0';
    zt_account_result res;
    zt_store_admin_cascade more;
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, tleak.id, &res, &more), 0);
    assert_int_equal(more.n, 2);
    bool saw_kid = false, saw_grand = false;
    for (size_t i = 0; i < more.n; i++) {
        saw_kid |= strcmp(more.named[i].id, tkid.id) == 0 &&
                   strcmp(more.named[i].user_id, f->carol.id) == 0;
        saw_grand |= strcmp(more.named[i].id, tgrand.id) == 0;
    }
    assert_true(saw_kid && saw_grand);
    assert_false(live(f, leak));
    assert_false(live(f, kid));
    assert_false(live(f, grandkid));
    assert_true(live(f, root));
    assert_true(live(f, sibling));
    assert_true(live(f, other));
    assert_non_null(strstr(res.change, "with 2 made from it"));
    /* three records: the token, then each offspring on its owner */
    char want[128];
    snprintf(want, sizeof(want), "token %s revoked: made from token %s", tkid.id, tleak.id);
    assert_non_null(strstr(f->records, want));
    assert_non_null(strstr(f->records, "carol@example.com"));
    snprintf(want, sizeof(want), "token %s revoked: made from token %s", tgrand.id, tleak.id);
    assert_non_null(strstr(f->records, want));
    size_t n_lines = 0;
    for (const char *p = f->records; (p = strchr(p, '\n')) != NULL; p++)
        n_lines++;
    assert_int_equal(n_lines, 3);

    /* again: nothing left to revoke */
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, tleak.id, &res, &more),
                     -EALREADY);
    assert_int_equal(more.n, 0);
    /* the root takes its remaining offspring (the sibling) and skips the revoked ones */
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, troot.id, &res, &more), 0);
    assert_int_equal(more.n, 1);
    assert_string_equal(more.named[0].id, tsib.id);
    assert_true(live(f, other));

    /* a parent id of the wrong shape, or the token itself, is refused by the store */
    zt_admins_token_new bad = {.user_id = f->alice.id, .name = "bad", .parent_id = "xyz"};
    char scratch[ZT_ADMINS_TOKEN_LEN + 1];
    assert_int_equal(zt_admins_token_create(&f->env, &root_actor, &bad, scratch, NULL, &res),
                     -EINVAL);
}

/* More offspring than the store names: all revoked, the count exact. */
static void test_token_offspring_many(void **state)
{
    fixture *f = *state;
    grant(f, &f->alice, ZT_ROLE_GLOBAL_ADMIN, NULL);
    grant(f, &f->bob, ZT_ROLE_GLOBAL_ADMIN, NULL);
    char top[ZT_ADMINS_TOKEN_LEN + 1], tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token ttop, t;
    made_by(f, &f->alice, NULL, "top", top, &ttop);
    const size_t n = ZT_STORE_ADMIN_CASCADE_NAMED + 8; /* over two owners: 50 live each at most */
    for (size_t i = 0; i < n; i++)
        made_by(f, i % 2 ? &f->alice : &f->bob, ttop.id, "child", tok, &t);
    zt_account_result res;
    zt_store_admin_cascade more;
    assert_int_equal(zt_admins_token_revoke(&f->env, &root_actor, ttop.id, &res, &more), 0);
    assert_int_equal(more.n, n);
    assert_false(live(f, tok));
}

static void test_first(void **state)
{
    fixture *f = *state;
    zt_actor boot = {.name = "bootstrap-token", .type = "System"};
    char tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t;
    zt_account_result res;
    assert_int_equal(zt_admins_first(&f->env, &boot, f->alice.id, tok, &t, &res), 0);
    zt_admins_auth a;
    assert_int_equal(zt_admins_token_verify(f->st, tok, strlen(tok), now_s(), &a), 0);
    assert_int_equal(a.grant.perms, ZT_PERM_ALL);
    assert_true(a.grant.everywhere);
    assert_int_equal(zt_admins_first(&f->env, &boot, f->bob.id, tok, &t, &res), -EEXIST);
    assert_string_equal(tok, "");
    zt_admin_grant g;
    assert_int_equal(zt_admins_grant_of(f->st, f->bob.id, &g), -ENOENT);
    uint64_t count = 0;
    assert_int_equal(zt_store_admin_count(f->st, &count), 0);
    assert_int_equal(count, 1);
}

/* The last unscoped global admin stays, whoever asks (every front-end calls this). */
static void test_last_global_admin(void **state)
{
    fixture *f = *state;
    zt_account_result res;
    grant(f, &f->alice, ZT_ROLE_GLOBAL_ADMIN, NULL);
    grant(f, &f->bob, ZT_ROLE_GLOBAL_ADMIN, "school-b"); /* scoped: does not count */
    assert_int_equal(
        zt_admins_revoke(&f->env, &root_actor, f->alice.id, ZT_ROLE_GLOBAL_ADMIN, NULL, &res),
        -EMLINK);
    assert_int_equal(zt_admins_revoke(&f->env, &root_actor, f->alice.id, ZT_ROLE_COUNT, NULL, &res),
                     -EMLINK);
    assert_int_equal(
        zt_admins_revoke(&f->env, &root_actor, f->alice.id, ZT_ROLE_GLOBAL_ADMIN, "", &res),
        -EMLINK);
    /* the scoped one may go; with a second unscoped global admin, the first may too */
    assert_int_equal(
        zt_admins_revoke(&f->env, &root_actor, f->bob.id, ZT_ROLE_GLOBAL_ADMIN, NULL, &res), 0);
    grant(f, &f->carol, ZT_ROLE_GLOBAL_ADMIN, NULL);
    assert_int_equal(
        zt_admins_revoke(&f->env, &root_actor, f->alice.id, ZT_ROLE_GLOBAL_ADMIN, NULL, &res), 0);
    assert_int_equal(zt_admins_revoke(&f->env, &root_actor, f->carol.id, ZT_ROLE_COUNT, NULL, &res),
                     -EMLINK);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test_setup_teardown(test_grants_and_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_global_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_offspring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_offspring_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    use_pg = true;
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test_setup_teardown(test_grants_and_scopes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_last_global_admin, setup, teardown),
        cmocka_unit_test_setup_teardown(test_tokens, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_offspring, setup, teardown),
        cmocka_unit_test_setup_teardown(test_token_offspring_many, setup, teardown),
        cmocka_unit_test_setup_teardown(test_first, setup, teardown),
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
