/* access/whatif: the simulation every front asks (`ztgate whatif`, `policy test`, the console's
 * what-if form). The answer must be zt_policy_eval's over the same compiled set, name the policy
 * the gateway names, and read its inputs strictly; and policy/reference's app targeting (the
 * console's "policies that apply to this app"). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "access/whatif.h"
#include "core/config.h"
#include "policy/policy.h"
#include "policy/reference.h"

#define NAME "w.yaml"
#define MONDAY_10 1705312800 /* 2024-01-15T10:00:00Z */

static const char *const yaml =
    "gateway:\n"
    "  listen:\n"
    "    - address: 127.0.0.1:8080\n"
    "apps:\n"
    "  - {name: portal, path_prefix: /p, upstream: \"http://127.0.0.1:1\"}\n"
    "  - {name: hr, path_prefix: /h, upstream: \"http://127.0.0.1:1\", sensitivity: "
    "confidential}\n"
    "  - {name: wiki, path_prefix: /w, upstream: \"http://127.0.0.1:1\", sensitivity: public}\n"
    "locations:\n"
    "  - {name: office, cidrs: [10.0.0.0/8], trusted: true}\n"
    "policies:\n"
    "  - {name: mfa-all, users: {include: [all]}, apps: {include: [all], exclude: [wiki]}, "
    "grant: {controls: [mfa]}}\n"
    "  - {name: hr-device, users: {include: [all]}, apps: {include: [sensitivity:confidential]}, "
    "grant: {controls: [compliant_device]}}\n"
    "  - {name: block-outside, state: report_only, users: {include: [group:staff]}, "
    "apps: {include: [hr]}, conditions: {locations: {include: [all], exclude: [trusted]}}, "
    "grant: {block: true}}\n";

typedef struct fixture {
    zt_config *cfg;
    zt_policy_set *set;
    zt_whatif_env env;
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
    *state = fx;
    return 0;
}

static int teardown(void **state)
{
    fixture *fx = *state;
    zt_policy_set_free(fx->set);
    zt_config_free(fx->cfg);
    free(fx);
    return 0;
}

/* One question through the module, answer checked against zt_policy_eval on the same input. */
static void ask(fixture *fx, zt_whatif *w, zt_whatif_answer *ans)
{
    zt_policy_result direct;
    assert_int_equal(zt_whatif_eval(&fx->env, w, ans), 0);
    zt_policy_eval(fx->set, &w->in, &direct);
    assert_int_equal(ans->res.outcome, direct.outcome);
    assert_int_equal(ans->res.next_control, direct.next_control);
    assert_false(ans->ref_disagrees);
}

static void test_decisions_and_deciding_policy(void **state)
{
    fixture *fx = *state;
    zt_whatif w;
    zt_whatif_answer ans;
    zt_whatif_init(&w, MONDAY_10);
    assert_true(zt_whatif_app(&fx->env, &w, "hr"));
    assert_int_equal(zt_whatif_groups_list(&w, "a@example.org", "staff,,x"), 0);
    assert_int_equal(w.n_groups, 2);
    assert_true(zt_whatif_parse_ip("192.0.2.7", &w));
    ask(fx, &w, &ans);
    assert_string_equal(zt_whatif_verdict(&ans.res), "mfa");
    int cause = zt_policy_cause(fx->set, &w.in, &ans.res);
    assert_string_equal(zt_policy_name(fx->set, cause), "mfa-all");
    /* Report-only block outside the office: recorded, not enforced. */
    assert_int_equal(ans.res.report_only_outcome, ZT_OUTCOME_BLOCK);
    assert_int_equal(ans.misses[2], ZT_MISS_NONE);
    zt_whatif_answer_dispose(&ans);

    zt_whatif_set_session(&w, 600, true, false);
    ask(fx, &w, &ans);
    assert_string_equal(zt_whatif_verdict(&ans.res), "compliant_device");
    cause = zt_policy_cause(fx->set, &w.in, &ans.res);
    assert_string_equal(zt_policy_name(fx->set, cause), "hr-device");
    zt_whatif_answer_dispose(&ans);

    assert_true(zt_whatif_parse_device("compliant", &w));
    ask(fx, &w, &ans);
    assert_string_equal(zt_whatif_verdict(&ans.res), "allow");
    json_t *j = zt_whatif_json(&fx->env, &w, &ans);
    assert_non_null(j);
    assert_string_equal(json_string_value(json_object_get(j, "verdict")), "allow");
    assert_true(json_is_null(json_object_get(j, "policy")));
    json_decref(j);
    zt_whatif_answer_dispose(&ans);
    zt_whatif_dispose(&w);
}

static void test_unknown_app_and_user_without_store(void **state)
{
    fixture *fx = *state;
    zt_whatif w;
    char err[128];
    zt_whatif_init(&w, MONDAY_10);
    assert_false(zt_whatif_app(&fx->env, &w, "nope"));
    /* No store: a look-up is "not found", never a crash. */
    assert_int_equal(zt_whatif_user(&fx->env, &w, "a@example.org", err, sizeof(err)), -ENOENT);
    assert_non_null(strstr(err, "not found"));
    zt_whatif_dispose(&w);
}

static void test_parsers_refuse_bad_input(void **state)
{
    (void)state;
    zt_whatif w;
    zt_risk r;
    zt_platform p;
    zt_client_type c;
    int64_t t;
    zt_whatif_init(&w, 0);
    assert_false(zt_whatif_parse_ip("10.0.0.300", &w));
    assert_false(zt_whatif_parse_ip("", &w));
    assert_true(zt_whatif_parse_ip("2001:db8::1", &w));
    assert_false(zt_whatif_parse_country("jp", &w));
    assert_false(zt_whatif_parse_country("JPN", &w));
    assert_false(zt_whatif_parse_device("yes", &w));
    assert_false(zt_whatif_parse_risk("severe", &r));
    assert_false(zt_whatif_parse_platform("beos", &p));
    assert_false(zt_whatif_parse_client("curl", &c));
    assert_false(zt_whatif_parse_time("yesterday", &t));
    assert_false(zt_whatif_parse_duration("8x", &t));
    assert_false(zt_whatif_parse_duration("99999999999999d", &t));
    assert_true(zt_whatif_parse_duration("8h", &t));
    assert_int_equal(t, 8 * 3600);
    assert_false(zt_whatif_parse_passkey_aaguid("not-a-uuid", &w));
    zt_whatif_dispose(&w);
}

static void test_policy_targets_app(void **state)
{
    fixture *fx = *state;
    const zt_config *cfg = fx->cfg;
    const zt_app_cfg *portal = &cfg->apps[0], *hr = &cfg->apps[1], *wiki = &cfg->apps[2];
    assert_true(zt_policy_cfg_targets_app(&cfg->policies[0], portal));
    assert_true(zt_policy_cfg_targets_app(&cfg->policies[0], hr));
    assert_false(zt_policy_cfg_targets_app(&cfg->policies[0], wiki)); /* excluded */
    assert_true(zt_policy_cfg_targets_app(&cfg->policies[1], hr));    /* by sensitivity */
    assert_false(zt_policy_cfg_targets_app(&cfg->policies[1], portal));
    assert_true(zt_policy_cfg_targets_app(&cfg->policies[2], hr)); /* by name */
    assert_false(zt_policy_cfg_targets_app(&cfg->policies[2], wiki));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_decisions_and_deciding_policy, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_app_and_user_without_store, setup, teardown),
        cmocka_unit_test(test_parsers_refuse_bad_input),
        cmocka_unit_test_setup_teardown(test_policy_targets_app, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
