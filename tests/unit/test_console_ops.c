/* console/ops: policies in words (en/ja, escaped), the what-if form read with the CLI's parsers
 * (bad input named by field, never a crash), the advice for a refused request and the report-only
 * matcher. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "access/whatif.h"
#include "console/ops.h"
#include "core/config.h"
#include "core/i18n.h"
#include "policy/policy.h"

#define NAME "c.yaml"
#define MONDAY_10 1705312800

static const char *const yaml =
    "gateway:\n"
    "  listen:\n"
    "    - address: 127.0.0.1:8080\n"
    "apps:\n"
    "  - {name: portal, path_prefix: /p, upstream: \"http://127.0.0.1:1\"}\n"
    "  - {name: hr, path_prefix: /h, upstream: \"http://127.0.0.1:1\", sensitivity: "
    "confidential}\n"
    "locations:\n"
    "  - {name: office, cidrs: [10.0.0.0/8], trusted: true}\n"
    "policies:\n"
    "  - {name: mfa-all, users: {include: [all], exclude: [\"<b>@example.org\"]}, "
    "apps: {include: [all]}, grant: {controls: [mfa, compliant_device], operator: OR}, "
    "session: {sign_in_frequency: 8h, restrict: [read_only]}}\n"
    "  - {name: night, state: report_only, users: {include: [group:staff]}, "
    "apps: {include: [hr]}, conditions: {user_risk: [high], anonymous_ip: true, "
    "locations: {include: [all], exclude: [trusted]}, time: {days: [sat, sun]}}, "
    "grant: {block: true}}\n";

typedef struct fixture {
    zt_config *cfg;
    zt_policy_set *set;
    zt_whatif_env env;
    zt_buf b;
} fixture;

static int setup(void **state)
{
    fixture *fx = calloc(1, sizeof(*fx));
    zt_diags d;
    char err[256];
    zt_diags_init(&d);
    fx->cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
    if (fx->cfg == NULL)
        print_error("%s\n", d.text.data ? d.text.data : "");
    zt_diags_dispose(&d);
    assert_non_null(fx->cfg);
    fx->set = zt_policy_compile(fx->cfg, err, sizeof(err));
    assert_non_null(fx->set);
    fx->env = (zt_whatif_env){.cfg = fx->cfg, .set = fx->set};
    zt_buf_init(&fx->b, 1 << 20);
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    zt_buf_dispose(&fx->b);
    zt_policy_set_free(fx->set);
    zt_config_free(fx->cfg);
    free(fx);
    return 0;
}

static const char *words(fixture *fx, zt_lang lang, size_t i)
{
    zt_buf_reset(&fx->b);
    assert_int_equal(cop_policy_words(&fx->b, lang, &fx->cfg->policies[i]), 0);
    assert_int_equal(zt_buf_cstr(&fx->b), 0);
    return fx->b.data;
}

static void test_policy_in_words(void **state)
{
    fixture *fx = *state;
    const char *s = words(fx, ZT_LANG_EN, 0);
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_EN, COP_GRANT_ONE_OF)));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_EN, COP_CTL_MFA)));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_EN, COP_CTL_COMPLIANT_DEVICE)));
    assert_non_null(strstr(s, "8h"));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_EN, COP_SESSION_READ_ONLY)));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_EN, COP_NO_CONDITIONS)));
    /* A configured value is text, never markup. */
    assert_null(strstr(s, "<b>@"));
    assert_non_null(strstr(s, "&lt;b&gt;@example.org"));

    s = words(fx, ZT_LANG_JA, 1);
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_JA, COP_STATE_REPORT_ONLY)));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_JA, COP_GRANT_BLOCK)));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_JA, COP_COND_USER_RISK)));
    assert_non_null(strstr(s, zt_msg_text(ZT_LANG_JA, COP_COND_ANONYMOUS)));
    assert_non_null(strstr(s, "Sat Sun"));
    assert_non_null(strstr(s, "group:staff"));
    assert_null(strstr(s, zt_msg_text(ZT_LANG_EN, COP_GRANT_BLOCK)));
}

static void test_whatif_form_as_the_cli(void **state)
{
    fixture *fx = *state;
    zt_whatif w;
    zt_whatif_answer ans;
    zt_msg bad;
    char err[128];
    cop_whatif_form f = {.groups = "staff", .app = "hr", .ip = "192.0.2.1", .mfa = true};
    zt_whatif_init(&w, MONDAY_10);
    assert_int_equal(cop_whatif_build(&fx->env, &w, &f, &bad, err, sizeof(err)), 0);
    assert_int_equal(zt_whatif_eval(&fx->env, &w, &ans), 0);
    /* MFA done: the OR grant is met; allowed with read_only. */
    assert_string_equal(zt_whatif_verdict(&ans.res), "allow");
    assert_int_equal(cop_verdict_msg(&ans.res), COP_V_ALLOW);
    assert_int_equal(ans.res.restrict_flags, ZT_RESTRICT_READ_ONLY);
    zt_whatif_answer_dispose(&ans);
    zt_whatif_dispose(&w);

    f.mfa = false;
    zt_whatif_init(&w, MONDAY_10);
    assert_int_equal(cop_whatif_build(&fx->env, &w, &f, &bad, err, sizeof(err)), 0);
    assert_int_equal(zt_whatif_eval(&fx->env, &w, &ans), 0);
    assert_int_equal(cop_verdict_msg(&ans.res), COP_V_MFA);
    zt_whatif_answer_dispose(&ans);
    zt_whatif_dispose(&w);
}

static void test_whatif_form_bad_input(void **state)
{
    fixture *fx = *state;
    static const struct {
        cop_whatif_form f;
        int rc;
        zt_msg bad;
    } cases[] = {
        {{.groups = "staff"}, -EINVAL, COP_WF_APP},
        {{.groups = "staff", .app = "nope"}, -ENOENT, COP_WF_NO_APP},
        {{.app = "hr"}, -EINVAL, COP_WF_NEED_USER},
        {{.app = "hr", .user = "a@example.org"}, -ENOENT, COP_WF_NO_USER}, /* no store */
        {{.groups = "s", .app = "hr", .ip = "300.1.1.1"}, -EINVAL, COP_WF_IP},
        {{.groups = "s", .app = "hr", .country = "jp"}, -EINVAL, COP_WF_COUNTRY},
        {{.groups = "s", .app = "hr", .device = "<script>"}, -EINVAL, COP_WF_DEVICE},
        {{.groups = "s", .app = "hr", .platform = "beos"}, -EINVAL, COP_WF_PLATFORM},
        {{.groups = "s", .app = "hr", .client = "curl"}, -EINVAL, COP_WF_CLIENT},
        {{.groups = "s", .app = "hr", .user_risk = "severe"}, -EINVAL, COP_WF_USER_RISK},
        {{.groups = "s", .app = "hr", .at = "tomorrow"}, -EINVAL, COP_WF_AT},
        {{.groups = "s", .app = "hr", .auth_age = "-5m"}, -EINVAL, COP_WF_AUTH_AGE},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_whatif w;
        zt_msg bad;
        char err[128];
        zt_whatif_init(&w, MONDAY_10);
        assert_int_equal(cop_whatif_build(&fx->env, &w, &cases[i].f, &bad, err, sizeof(err)),
                         cases[i].rc);
        assert_int_equal(bad, cases[i].bad);
        zt_whatif_dispose(&w);
    }
}

static void test_advice_and_words(void **state)
{
    (void)state;
    zt_msg m[4];
    assert_int_equal(cop_ref_advice("challenge", "policy p requires mfa", m, 4), 1);
    assert_int_equal(m[0], COP_REF_DO_MFA);
    assert_int_equal(cop_ref_advice("challenge", "policy p requires phishing_resistant_mfa", m, 4),
                     1);
    assert_int_equal(m[0], COP_REF_DO_PASSKEY);
    assert_int_equal(cop_ref_advice("challenge", "policy p requires compliant_device", m, 4), 1);
    assert_int_equal(m[0], COP_REF_DO_DEVICE);
    assert_int_equal(cop_ref_advice("block", "blocked by policy requires mfa x", m, 4), 1);
    assert_int_equal(m[0], COP_REF_DO_BLOCK);
    assert_int_equal(cop_ref_advice("allow", NULL, m, 4), 1);
    assert_int_equal(m[0], COP_REF_DO_NOTHING);
    assert_int_equal(cop_ref_advice("block", "no configured app matches", m, 4), 1);
    assert_int_equal(m[0], MSG_DO_CONTACT_ADMIN);
    assert_int_equal(cop_ref_advice("block", NULL, m, 0), 0);

    assert_true(cop_lists_report_only("a,night (report-only),c", "night"));
    assert_false(cop_lists_report_only("a,night,c", "night"));
    assert_false(cop_lists_report_only("a,nightly (report-only)", "night"));
    assert_false(cop_lists_report_only("", "night"));
    assert_int_equal(cop_verdict_word_msg("reauth"), COP_V_REAUTH);
    assert_int_equal(cop_verdict_word_msg("bogus"), MSG_NONE);
    assert_int_equal(cop_miss_msg(ZT_MISS_TIME), COP_MISS_TIME);
    assert_int_equal(cop_miss_msg((zt_policy_miss)99), MSG_NONE);
}

static void test_audit_filter(void **state)
{
    (void)state;
    zt_aq_filter f;
    uint64_t cursor;
    cop_audit_form ok = {.from = "2026-12-01T00:00:00Z",
                         .to = "2026-12-02T00:00:00+09:00",
                         .user = "a@example.org",
                         .ip = "10.0.0.0/8",
                         .decision = "block",
                         .cls = "http_activity",
                         .ref = "ab12-0-1f",
                         .text = "hr",
                         .cursor = "42"};
    assert_int_equal(cop_audit_filter(&ok, &f, &cursor), MSG_NONE);
    assert_int_equal(cursor, 42);
    assert_true(f.have_ip);
    assert_int_equal(f.class_uid, 4002);
    assert_string_equal(f.ref, "ab12-0-1f");
    assert_string_equal(f.user, "a@example.org");
    cop_audit_form empty = {0};
    assert_int_equal(cop_audit_filter(&empty, &f, &cursor), MSG_NONE);
    assert_false(f.have_ip);
    assert_null(f.user);

    static const struct {
        cop_audit_form form;
        zt_msg bad;
    } bad[] = {
        {{.from = "yesterday"}, COP_F_FROM},
        {{.to = "2026-13-01T00:00:00Z"}, COP_F_TO},
        {{.from = "2026-12-02T00:00:00Z", .to = "2026-12-01T00:00:00Z"}, COP_F_TO},
        {{.ip = "10.0.0.1/33"}, COP_F_IP},
        {{.ip = "10.0.0.1/8"}, COP_F_IP}, /* host bits */
        {{.ip = "<script>"}, COP_F_IP},
        {{.decision = "maybe"}, COP_F_DECISION},
        {{.cls = "4002; drop"}, COP_F_CLASS},
        {{.ref = "a b"}, COP_F_REF},
        {{.ref = "x\"<"}, COP_F_REF},
        {{.cursor = "-1"}, COP_AUDIT_MORE},
        {{.cursor = "0"}, COP_AUDIT_MORE},
        {{.text = "a\nb"}, COP_F_TEXT},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(cop_audit_filter(&bad[i].form, &f, &cursor), bad[i].bad);
    char long_user[COP_FIELD_MAX + 2];
    memset(long_user, 'a', sizeof(long_user) - 1);
    long_user[sizeof(long_user) - 1] = '\0';
    cop_audit_form lu = {.user = long_user};
    assert_int_equal(cop_audit_filter(&lu, &f, &cursor), COP_F_USER);
    assert_false(cop_ref_valid(""));
    assert_true(cop_ref_valid("abc-1-2"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_policy_in_words, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whatif_form_as_the_cli, setup, teardown),
        cmocka_unit_test_setup_teardown(test_whatif_form_bad_input, setup, teardown),
        cmocka_unit_test(test_advice_and_words),
        cmocka_unit_test(test_audit_filter),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
