/* The sign-in state machine (session/signin.h) and the account service (session/account.h):
 * transition table, each step's decision as a table, and account operations against a real
 * store with a recording audit sink. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "identity/password.h"
#include "session/account.h"
#include "session/signin.h"

static void test_transitions(void **state)
{
    (void)state;
    static const struct {
        zt_signin_state from, to;
        bool ok;
    } cases[] = {
        {ZT_SIGNIN_THROTTLE, ZT_SIGNIN_CREDENTIAL, true},
        {ZT_SIGNIN_THROTTLE, ZT_SIGNIN_REFUSED, true},
        {ZT_SIGNIN_THROTTLE, ZT_SIGNIN_RISK, false}, /* no skipping the password */
        {ZT_SIGNIN_THROTTLE, ZT_SIGNIN_SESSION, false},
        {ZT_SIGNIN_CREDENTIAL, ZT_SIGNIN_RISK, true},
        {ZT_SIGNIN_CREDENTIAL, ZT_SIGNIN_FAILED, true},
        {ZT_SIGNIN_CREDENTIAL, ZT_SIGNIN_SESSION, false}, /* no skipping the risk check */
        {ZT_SIGNIN_RISK, ZT_SIGNIN_SESSION, true},
        {ZT_SIGNIN_RISK, ZT_SIGNIN_SECOND_FACTOR, true},
        {ZT_SIGNIN_RISK, ZT_SIGNIN_BLOCKED, true},
        {ZT_SIGNIN_RISK, ZT_SIGNIN_ERROR, true},
        {ZT_SIGNIN_SECOND_FACTOR, ZT_SIGNIN_SESSION, true},
        {ZT_SIGNIN_SECOND_FACTOR, ZT_SIGNIN_FAILED, true},
        {ZT_SIGNIN_SECOND_FACTOR, ZT_SIGNIN_RISK, false}, /* the factor is no new sign-in */
        {ZT_SIGNIN_SECOND_FACTOR, ZT_SIGNIN_BLOCKED, false},
        {ZT_SIGNIN_SESSION, ZT_SIGNIN_RISK, false}, /* terminal */
        {ZT_SIGNIN_FAILED, ZT_SIGNIN_CREDENTIAL, false},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (zt_signin_allowed(cases[i].from, cases[i].to) != cases[i].ok)
            fail_msg("%s -> %s", zt_signin_state_name(cases[i].from),
                     zt_signin_state_name(cases[i].to));
    assert_true(zt_signin_terminal(ZT_SIGNIN_SESSION));
    assert_false(zt_signin_terminal(ZT_SIGNIN_RISK));
    assert_string_equal(zt_signin_state_name(ZT_SIGNIN_SECOND_FACTOR), "second-factor");

    zt_signin s;
    zt_signin_init(&s, "req-1");
    assert_true(zt_signin_go(&s, ZT_SIGNIN_CREDENTIAL));
    assert_false(zt_signin_go(&s, ZT_SIGNIN_SESSION)); /* refused: fails closed */
    assert_int_equal(s.state, ZT_SIGNIN_ERROR);

    /* The MFA page resumes at second-factor. */
    zt_signin_resume_second_factor(&s, "req-2");
    assert_false(zt_signin_terminal(s.state));
    assert_int_equal(zt_signin_on_second_factor(true, false), ZT_SIGNIN_SESSION);
    assert_int_equal(zt_signin_on_second_factor(false, false), ZT_SIGNIN_FAILED);
    assert_int_equal(zt_signin_on_second_factor(true, true), ZT_SIGNIN_ERROR);
    assert_true(zt_signin_go(&s, zt_signin_on_second_factor(false, false)));
    assert_true(zt_signin_terminal(s.state));
}

static void test_decisions(void **state)
{
    (void)state;
    zt_signin s;
    zt_signin_init(&s, NULL);
    assert_int_equal(zt_signin_on_throttle(&s, ZT_THROTTLE_SOURCE), ZT_SIGNIN_REFUSED);
    assert_int_equal(zt_signin_on_throttle(&s, ZT_THROTTLE_WAIT), ZT_SIGNIN_REFUSED);
    assert_int_equal(zt_signin_on_throttle(&s, ZT_THROTTLE_ACCOUNT), ZT_SIGNIN_CREDENTIAL);
    assert_true(s.limited);
    s.exists = true;
    /* A limited account fails even with the right password, like a wrong one. */
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MATCH), ZT_SIGNIN_FAILED);
    assert_string_equal(zt_signin_failure_reason(&s), "throttled");
    s.limited = false;
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MATCH), ZT_SIGNIN_RISK);
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MISMATCH), ZT_SIGNIN_FAILED);
    assert_int_equal(zt_signin_on_credential(&s, -ENOMEM), ZT_SIGNIN_ERROR);
    s.disabled = true;
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MATCH), ZT_SIGNIN_FAILED);
    assert_string_equal(zt_signin_failure_reason(&s), "disabled");
    s.exists = false;
    assert_string_equal(zt_signin_failure_reason(&s), "unknown user");

    static const struct {
        bool risky, has_totp, mfa_optional;
        zt_signin_state want;
    } risk[] = {
        {false, false, true, ZT_SIGNIN_SESSION},
        {false, false, false, ZT_SIGNIN_SECOND_FACTOR},
        {false, true, true, ZT_SIGNIN_SECOND_FACTOR},
        {true, true, true, ZT_SIGNIN_SECOND_FACTOR},
        {true, false, true, ZT_SIGNIN_BLOCKED},
        {true, false, false, ZT_SIGNIN_BLOCKED},
    };
    for (size_t i = 0; i < sizeof(risk) / sizeof(risk[0]); i++)
        assert_int_equal(zt_signin_on_risk(risk[i].risky, risk[i].has_totp, risk[i].mfa_optional),
                         risk[i].want);
}

/* ---- the account service ---- */

static int record(void *ctx, const char *json, size_t len)
{
    json_t *v = json_loadb(json, len, 0, NULL);
    assert_non_null(v);
    return json_array_append_new(ctx, v);
}

static const char *field(json_t *rec, const char *a, const char *b)
{
    return json_string_value(json_object_get(json_object_get(rec, a), b));
}

/* The operation names the admin API and the audit records use; out of range is "unknown". */
static void test_account_op_names(void **state)
{
    (void)state;
    assert_string_equal(zt_account_op_name(ZT_ACCOUNT_DISABLE), "user.disable");
    assert_string_equal(zt_account_op_name(ZT_ACCOUNT_MEMBER_REMOVE), "group.member_remove");
    for (int op = 0; op < ZT_ACCOUNT_N_OPS; op++)
        assert_string_not_equal(zt_account_op_name((zt_account_op)op), "unknown");
    assert_string_equal(zt_account_op_name(ZT_ACCOUNT_N_OPS), "unknown");
}

static void test_account_operations(void **state)
{
    (void)state;
    char root[] = "/tmp/zt-account-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[64];
    snprintf(dir, sizeof(dir), "%s/state", root);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    char err[256];
    zt_store *st = zt_store_open(&sc, err, sizeof(err));
    assert_non_null(st);
    json_t *recs = json_array();
    zt_account_env env = {.store = st, .state_dir = dir, .audit = {record, recs}};
    zt_actor who = {.name = "tester", .type = "Admin", .request_id = "req-7"};
    zt_account_result res;

    assert_int_equal(zt_account_group_create(&env, &who, "eng", &res), 0);
    const char *groups[] = {"eng", "nope"};
    zt_account_new n = {.email = "a@example.org", .name = "A", .groups = groups, .n_groups = 2};
    assert_int_equal(zt_account_create(&env, &who, &n, &res), -ENOENT);
    assert_string_equal(res.missing_group, "nope");
    n.n_groups = 1;
    assert_int_equal(zt_account_create(&env, &who, &n, &res), 0);
    assert_int_equal(zt_account_create(&env, &who, &n, &res), -EEXIST);
    char id[ZT_STORE_ID_LEN + 1];
    zt_user u;
    assert_int_equal(zt_store_user_get_by_email(st, "a@example.org", &u), 0);
    snprintf(id, sizeof(id), "%s", u.id);
    int64_t epoch = u.revocation_epoch;
    zt_user_dispose(&u);

    assert_int_equal(zt_account_disable(&env, &who, id, &res), 0);
    assert_true(res.epoch > epoch);
    assert_int_equal(res.revocation_rc, 0);
    assert_int_equal(res.audit_rc, 0);
    assert_int_equal(zt_account_enable(&env, &who, id, &res), 0);
    assert_int_equal(zt_account_member_remove(&env, &who, "ENG", id, &res), 0);
    assert_string_equal(res.group, "eng"); /* canonical spelling */
    assert_int_equal(zt_account_member_remove(&env, &who, "eng", id, &res), -ENOENT);
    assert_int_equal(zt_account_set_password(&env, &who, id, "", &res), -EINVAL);
    assert_int_equal(zt_account_delete(&env, &who, id, &res), 0);
    assert_int_equal(zt_account_disable(&env, &who, id, &res), -ENOENT);

    /* One record per change that happened, naming the actor and the change. */
    assert_int_equal(json_array_size(recs), 6);
    static const char *const ops[] = {"group.create", "user.create",         "user.disable",
                                      "user.enable",  "group.member_remove", "user.delete"};
    for (size_t i = 0; i < 6; i++) {
        json_t *r = json_array_get(recs, i);
        assert_int_equal(json_integer_value(json_object_get(r, "class_uid")), 3001);
        assert_string_equal(field(r, "unmapped", "operation"), ops[i]);
        assert_string_equal(json_string_value(json_object_get(
                                json_object_get(json_object_get(r, "actor"), "user"), "name")),
                            "tester");
        assert_string_equal(field(r, "metadata", "correlation_uid"), "req-7");
    }
    assert_string_equal(field(json_array_get(recs, 2), "user", "email_addr"), "a@example.org");
    char rev[96];
    snprintf(rev, sizeof(rev), "%s/revocation", dir);
    assert_int_equal(access(rev, F_OK), 0);
    json_decref(recs);
    zt_store_close(st);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

/* A Temporary Access Pass as the credential: redeemed only for an account that may sign in
 * (no password needed), the store's refusals mapped to audit reasons, a risky pass sign-in
 * blocked and a clean one limited (pending, never a full session). */
static void test_tap_decisions(void **state)
{
    (void)state;
    zt_signin s;
    zt_signin_init(&s, "t");
    s.exists = true;
    s.no_password = true;
    assert_true(zt_signin_tap_usable(&s));
    assert_false(zt_signin_usable(&s));
    s.tap = ZT_SIGNIN_TAP_OK;
    /* The password check ran against the dummy hash: its mismatch does not matter. */
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MISMATCH), ZT_SIGNIN_RISK);
    assert_int_equal(zt_signin_on_credential(&s, -ENOMEM), ZT_SIGNIN_ERROR);
    s.disabled = true;
    assert_false(zt_signin_tap_usable(&s));
    assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MISMATCH), ZT_SIGNIN_FAILED);
    s.disabled = false;
    s.limited = true;
    assert_false(zt_signin_tap_usable(&s));
    s.limited = false;

    static const struct {
        int store_rc;
        int tap;
        const char *reason;
    } refusals[] = {
        {-EACCES, ZT_SIGNIN_TAP_WRONG, "wrong temporary access pass"},
        {-ECANCELED, ZT_SIGNIN_TAP_REVOKED, "temporary access pass revoked"},
        {-ETIMEDOUT, ZT_SIGNIN_TAP_EXPIRED, "temporary access pass expired"},
        {-EDQUOT, ZT_SIGNIN_TAP_USED_UP, "temporary access pass used up"},
        {-ENOENT, ZT_SIGNIN_TAP_ABSENT, "no password set"}, /* then it was a password */
    };
    for (size_t i = 0; i < sizeof(refusals) / sizeof(refusals[0]); i++) {
        assert_int_equal(zt_signin_tap_from_store(refusals[i].store_rc), refusals[i].tap);
        s.tap = (zt_signin_tap)refusals[i].tap;
        assert_int_equal(zt_signin_on_credential(&s, ZT_PASSWORD_MISMATCH), ZT_SIGNIN_FAILED);
        assert_string_equal(zt_signin_failure_reason(&s), refusals[i].reason);
    }
    assert_int_equal(zt_signin_tap_from_store(0), ZT_SIGNIN_TAP_OK);
    assert_int_equal(zt_signin_tap_from_store(-EIO), -1);
    /* Disabled wins over the pass's reason (a disabled account's pass is never redeemed). */
    s.disabled = true;
    assert_string_equal(zt_signin_failure_reason(&s), "disabled");

    assert_int_equal(zt_signin_on_tap_risk(true), ZT_SIGNIN_BLOCKED);
    assert_int_equal(zt_signin_on_tap_risk(false), ZT_SIGNIN_SECOND_FACTOR);
    assert_true(zt_signin_allowed(ZT_SIGNIN_RISK, zt_signin_on_tap_risk(true)));
    assert_true(zt_signin_allowed(ZT_SIGNIN_RISK, zt_signin_on_tap_risk(false)));
}

/* The account service issues a pass (shown once, stored hashed, bounds checked, refused for a
 * disabled user) and revokes it, each change one record. */
static void test_account_tap(void **state)
{
    (void)state;
    char root[] = "/tmp/zt-account-tap-XXXXXX";
    assert_non_null(mkdtemp(root));
    char dir[64];
    snprintf(dir, sizeof(dir), "%s/state", root);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    char err[256];
    zt_store *st = zt_store_open(&sc, err, sizeof(err));
    assert_non_null(st);
    json_t *recs = json_array();
    zt_account_env env = {.store = st, .state_dir = dir, .audit = {record, recs}};
    zt_actor who = {.name = "tester", .type = "Admin"};
    zt_account_result res;
    zt_account_new n = {.email = "t@example.org"};
    assert_int_equal(zt_account_create(&env, &who, &n, &res), 0);
    char id[ZT_STORE_ID_LEN + 1], pass[ZT_STORE_TAP_TEXT_LEN + 1];
    snprintf(id, sizeof(id), "%s", res.user_id);
    int64_t exp = 0;

    assert_int_equal(zt_account_tap_issue(&env, &who, id, 599, 1, pass, &exp, &res), -EINVAL);
    assert_int_equal(
        zt_account_tap_issue(&env, &who, id, ZT_STORE_TAP_LIFETIME_MAX_S + 1, 1, pass, &exp, &res),
        -EINVAL);
    assert_int_equal(zt_account_tap_issue(&env, &who, id, 0, -1, pass, &exp, &res), -EINVAL);
    assert_int_equal(zt_account_tap_issue(&env, &who, "0123456789abcdef0123456789abcdef", 0, 1,
                                          pass, &exp, &res),
                     -ENOENT);
    assert_int_equal(zt_account_tap_revoke(&env, &who, id, &res), -ENOENT);
    assert_int_equal(zt_account_tap_issue(&env, &who, id, 0, 1, pass, &exp, &res), 0);
    assert_true(zt_store_tap_shaped(pass, strlen(pass)));
    char shown[ZT_STORE_TAP_TEXT_LEN + 1];
    snprintf(shown, sizeof(shown), "%s", pass);
    zt_store_tap t;
    assert_int_equal(zt_store_tap_get(st, id, &t), 0);
    assert_int_equal(t.expires_at - t.created_at, ZT_STORE_TAP_LIFETIME_DEFAULT_S);
    assert_int_equal(t.expires_at, exp);
    assert_string_equal(t.created_by, "tester");
    unsigned char h[ZT_STORE_TAP_HASH_LEN];
    assert_int_equal(zt_store_tap_hash(id, pass, strlen(pass), h), 0);
    assert_int_equal(zt_store_tap_redeem(st, id, h, t.created_at + 1, NULL), 0);
    assert_int_equal(zt_account_tap_revoke(&env, &who, id, &res), 0);
    assert_int_equal(zt_account_tap_revoke(&env, &who, id, &res), -EALREADY);
    assert_int_equal(zt_account_disable(&env, &who, id, &res), 0);
    assert_int_equal(zt_account_tap_issue(&env, &who, id, 0, 1, pass, &exp, &res), -EPERM);
    assert_string_equal(pass, ""); /* nothing to show */

    static const char *const ops[] = {"user.create", "user.tap_issue", "user.tap_revoke",
                                      "user.disable"};
    assert_int_equal(json_array_size(recs), 4);
    for (size_t i = 0; i < 4; i++)
        assert_string_equal(field(json_array_get(recs, i), "unmapped", "operation"), ops[i]);
    assert_string_equal(field(json_array_get(recs, 1), "unmapped", "change"),
                        "temporary access pass issued: valid 3600 s, 1 use; any earlier pass "
                        "replaced");
    /* The pass itself is in no record. */
    char *dump = json_dumps(recs, 0);
    assert_null(strstr(dump, shown));
    free(dump);
    json_decref(recs);
    zt_store_close(st);
    char cmd[96];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", root);
    assert_int_equal(system(cmd), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_transitions),      cmocka_unit_test(test_decisions),
        cmocka_unit_test(test_tap_decisions),    cmocka_unit_test(test_account_tap),
        cmocka_unit_test(test_account_op_names), cmocka_unit_test(test_account_operations),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
