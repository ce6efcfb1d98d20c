/* The Zero Trust assessment (src/assess): stage boundaries per pillar, ranking of measures, every
 * proposed YAML snippet through the config parser and the grant check (what check-config does),
 * every proposed command naming a real subcommand, the outputs (JSON schema, HTML without script
 * and with names escaped), and the store records (answers, kept runs, MFA counts), those also
 * against PostgreSQL when ZT_TEST_PG_DSN is set. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
// clang-format off
#include <cmocka.h>
// clang-format on
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "assess/assess.h"
#include "assess/assess_int.h"
#include "cli/commands.h"
#include "lib/time.h"
#include "pg_fixture.h"
#include "policy/policy.h"

static int fake_resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    (void)host;
    struct sockaddr_in *a = (struct sockaddr_in *)out;
    memset(out, 0, sizeof(*out));
    a->sin_family = AF_INET;
    a->sin_port = htons(port);
    a->sin_addr.s_addr = htonl(0x7f000001);
    return 0;
}

static void blank(zt_assess_facts *f)
{
    memset(f, 0, sizeof(*f));
    f->now = 1800000000;
    f->store_ok = true;
    f->remediation_median_s = -1;
    for (int i = 0; i < ZT_Q_COUNT; i++)
        f->answers[i] = -1;
}

/* Every criterion met. */
static void perfect(zt_assess_facts *f)
{
    blank(f);
    f->mfa_required = f->passkeys_enabled = true;
    f->users = f->users_mfa = f->users_passkey = 100;
    f->admins = 2;
    f->apps = f->apps_policy = f->apps_mfa = f->apps_pr_mfa = f->apps_compliant = f->apps_risk = 4;
    f->apps_sensitive = f->apps_sensitive_protected = f->apps_labelled = 2;
    f->policies_on = 5;
    f->risk_policies = f->device_risk_policies = f->frequency_policies = 1;
    f->device_rules = 3;
    f->devices = f->devices_compliant = 10;
    f->listeners = f->listeners_tls = 1;
    f->upstreams = f->upstreams_tls = f->upstreams_mtls = 3;
    f->audit_on = f->audit_fail_closed = true;
    f->exports = f->feeds = 1;
    f->audit_read = true;
    f->window_days = 30;
    f->mfa_prompts = 300;
    f->users_prompted = 10;
    f->mfa_user_days = 300;
    f->prompts_per_user_day = 1.0;
    f->playbooks = f->playbooks_contain = f->playbooks_undo = 2;
    f->notify = f->provisioning = true;
    f->responses_auto = 5;
    f->responses_manual = 1;
    f->detections_closed = 4;
    f->remediation_median_s = 600;
    for (int i = 0; i < ZT_Q_COUNT; i++)
        f->answers[i] = 2;
}

static const zt_assess_check *check_of(const zt_assess_result *r, const char *id)
{
    for (size_t i = 0; i < r->n_checks; i++)
        if (strcmp(r->checks[i].c->id, id) == 0)
            return &r->checks[i];
    fail_msg("no criterion %s", id);
    return NULL;
}

static void test_perfect_is_optimal(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    perfect(&f);
    zt_assess_evaluate(&f, &r);
    for (int p = 0; p < ZT_PILLAR_COUNT; p++)
        assert_int_equal(r.stage[p], ZT_STAGE_OPTIMAL);
    assert_int_equal(r.n_ranked, 0);
    char s[8];
    zt_assess_stages_string(&r, s);
    assert_string_equal(s, "3333333");
}

static void test_blank_is_traditional(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    blank(&f);
    zt_assess_evaluate(&f, &r);
    for (int p = 0; p < ZT_PILLAR_COUNT; p++)
        assert_int_equal(r.stage[p], ZT_STAGE_TRADITIONAL);
    /* nothing to hold against: no plain or non-mTLS upstream, no stale detection, no
     * report-only policy */
    assert_int_equal(r.n_ranked, r.n_checks - 4);
    assert_true(check_of(&r, "networks.upstream_tls")->met);
    assert_true(check_of(&r, "networks.mtls")->met);
    assert_true(check_of(&r, "visibility.triage")->met);
    assert_true(check_of(&r, "applications.report_only")->met);
}

/* Identity at each boundary: 50% MFA (+ training) = initial; 95% MFA, a risk policy and a
 * passkey = advanced; 95% passkeys, every app asking phishing-resistant MFA and a sign-in
 * frequency = optimal. One short of each falls back a stage. */
static void test_identity_boundaries(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    blank(&f);
    f.users = 10;
    f.users_mfa = 4;
    f.answers[ZT_Q_TRAINING] = 1;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_TRADITIONAL);
    assert_string_equal(check_of(&r, "identity.mfa_half")->figure, "4/10 users with MFA (40%)");
    f.users_mfa = 5;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_INITIAL);
    f.answers[ZT_Q_TRAINING] = 0; /* "none": the initial stage needs yearly at least */
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_TRADITIONAL);
    f.answers[ZT_Q_TRAINING] = 1;

    f.users = 100;
    f.users_mfa = 94;
    f.risk_policies = 1;
    f.passkeys_enabled = true;
    f.users_passkey = 1;
    f.admins = 1;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_INITIAL);
    f.users_mfa = 95;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_ADVANCED);
    f.passkeys_enabled = false; /* passkeys off: none can be in use */
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_INITIAL);
    assert_string_equal(check_of(&r, "identity.passkey_some")->fix, "auth:\n  passkeys: true\n");
    f.passkeys_enabled = true;

    f.users_passkey = 95;
    f.apps = 3;
    f.apps_pr_mfa = 2;
    f.frequency_policies = 1;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_ADVANCED);
    f.apps_pr_mfa = 3;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_OPTIMAL);
}

/* A higher stage's criteria met do not count while a lower one is unmet. */
static void test_stage_needs_the_ones_below(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    perfect(&f);
    f.devices = 0;
    f.devices_compliant = 0; /* devices.enrolled (initial) unmet, all else met */
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_DEVICES], ZT_STAGE_TRADITIONAL);
    assert_int_equal(r.n_ranked, 2); /* enrolled, and compliant share (0 of 0) */
    assert_string_equal(r.checks[r.ranked[0]].c->id, "devices.enrolled");
}

static void test_other_boundaries(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    perfect(&f);
    f.devices_compliant = 7; /* 70% < 80% */
    f.listeners_tls = 0;
    f.upstreams_mtls = 2;
    f.policies_report_only = 1;
    f.apps_labelled = 0;
    f.prompts_per_user_day = 3.5;
    f.responses_manual = 6;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_DEVICES], ZT_STAGE_INITIAL);
    assert_int_equal(r.stage[ZT_PILLAR_NETWORKS], ZT_STAGE_TRADITIONAL);
    assert_int_equal(r.stage[ZT_PILLAR_APPLICATIONS], ZT_STAGE_INITIAL);
    assert_int_equal(r.stage[ZT_PILLAR_DATA], ZT_STAGE_TRADITIONAL);
    assert_int_equal(r.stage[ZT_PILLAR_VISIBILITY], ZT_STAGE_ADVANCED);
    assert_int_equal(r.stage[ZT_PILLAR_AUTOMATION], ZT_STAGE_ADVANCED);
    f.devices_compliant = 8;
    f.prompts_per_user_day = 3.0;
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.stage[ZT_PILLAR_DEVICES], ZT_STAGE_OPTIMAL);
    assert_int_equal(r.stage[ZT_PILLAR_VISIBILITY], ZT_STAGE_OPTIMAL);
}

static void test_unmeasured(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    perfect(&f);
    f.store_ok = false;
    f.audit_read = false;
    zt_assess_evaluate(&f, &r);
    const zt_assess_check *ck = check_of(&r, "identity.mfa_half");
    assert_false(ck->met);
    assert_false(ck->measured);
    assert_string_equal(ck->figure, "not measured");
    assert_false(check_of(&r, "visibility.mfa_prompts")->met);
    assert_int_equal(r.stage[ZT_PILLAR_IDENTITY], ZT_STAGE_TRADITIONAL);
}

/* Next stage first, weakest pillar first, then weight; stable otherwise. */
static void test_ranking(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    blank(&f);
    zt_assess_evaluate(&f, &r);
    assert_string_equal(r.checks[r.ranked[0]].c->id, "visibility.audit");
    assert_string_equal(r.checks[r.ranked[1]].c->id, "applications.policy");
    long prev_gap = 0;
    unsigned prev_weight = 101;
    for (size_t k = 0; k < r.n_ranked; k++) {
        const zt_assess_check *ck = &r.checks[r.ranked[k]];
        long gap = (long)ck->c->stage - (long)r.stage[ck->c->pillar];
        assert_true(gap >= prev_gap);
        if (gap == prev_gap)
            assert_true(ck->c->weight <= prev_weight);
        else
            prev_weight = 101;
        prev_gap = gap;
        prev_weight = ck->c->weight;
        assert_false(ck->met);
        if (ck->fix[0] == '\0')
            fail_msg("%s has no fix", ck->c->id);
    }
    /* a pillar at initial: its advanced measures come after every pillar's initial ones */
    perfect(&f);
    f.users_mfa = 60;    /* identity: initial */
    f.listeners_tls = 0; /* networks: traditional */
    zt_assess_evaluate(&f, &r);
    assert_int_equal(r.n_ranked, 2);
    assert_string_equal(r.checks[r.ranked[0]].c->id, "networks.listener_tls");
    assert_string_equal(r.checks[r.ranked[1]].c->id, "identity.mfa_all");
}

/* ---- every snippet through the parser ---- */

static char tmpdir[] = "/tmp/zt-assess-XXXXXX";

static int rm_cb(const char *p, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void touch(const char *path)
{
    char dir[512];
    snprintf(dir, sizeof(dir), "%s", path);
    for (char *s = dir + 1; *s != '\0'; s++)
        if (*s == '/') {
            *s = '\0';
            mkdir(dir, 0700);
            *s = '/';
        }
    int fd = open(path, O_WRONLY | O_CREAT, 0600);
    assert_true(fd >= 0);
    close(fd);
}

/* Paths under /etc/ztgate/ and /var/lib/ztgate/ moved into tmpdir (files made), so the parser's
 * existence checks run against real files. */
static char *relocate(const char *snippet)
{
    static const char *const roots[] = {"/etc/ztgate/", "/var/lib/ztgate/"};
    size_t cap = strlen(snippet) * 4 + 1024, at = 0;
    char *out = malloc(cap);
    assert_non_null(out);
    for (const char *p = snippet; *p != '\0';) {
        size_t r;
        for (r = 0; r < 2 && strncmp(p, roots[r], strlen(roots[r])) != 0; r++)
            ;
        if (r == 2) {
            out[at++] = *p++;
            continue;
        }
        size_t n = strcspn(p, " \n,}");
        char path[512];
        snprintf(path, sizeof(path), "%s/%.*s", tmpdir, (int)n, p);
        bool state_file = strstr(path, "audit.log") != NULL || strstr(path, "scim.token") != NULL;
        if (!state_file)
            touch(path);
        at += (size_t)snprintf(out + at, cap - at, "%s", path);
        p += n;
    }
    out[at] = '\0';
    return out;
}

static bool has_section(const char *snippet, const char *key)
{
    size_t n = strlen(key);
    for (const char *p = snippet; p != NULL && *p != '\0'; p = strchr(p, '\n'), p = p ? p + 1 : p)
        if (strncmp(p, key, n) == 0 && p[n] == ':')
            return true;
    return false;
}

static void load_with(const char *snippet, const char *id)
{
    char *snip = relocate(snippet);
    zt_buf b;
    zt_buf_init(&b, 1 << 20);
    zt_buf_printf(&b, "state_dir: %s/state\n", tmpdir);
    if (!has_section(snip, "gateway"))
        zt_buf_append_str(&b, "gateway:\n  listen:\n    - address: 127.0.0.1:8080\n");
    if (!has_section(snip, "apps"))
        zt_buf_append_str(&b, "apps:\n  - name: demo\n    upstream: http://127.0.0.1:8081\n"
                              "    sensitivity: confidential\n");
    zt_buf_append_str(&b, snip);
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("snippet.yaml", b.data, b.len, &d);
    unsigned bad = cfg != NULL ? zt_config_check_grants(cfg, &d) : 1;
    if (cfg == NULL || bad != 0)
        fail_msg("snippet of %s refused:\n%.*s\n---\n%.*s", id, (int)b.len, b.data, (int)d.text.len,
                 d.text.data);
    zt_config_free(cfg);
    zt_diags_dispose(&d);
    zt_buf_dispose(&b);
    free(snip);
}

/* Facts that make every criterion unmet and every dynamic snippet name the sample app. */
static void failing(zt_assess_facts *f)
{
    blank(f);
    f->apps = f->upstreams = 1;
    f->detections_stale = 1;
    f->users = 10;
    snprintf(f->plain_app, sizeof(f->plain_app), "demo");
    snprintf(f->plain_upstream, sizeof(f->plain_upstream), "http://127.0.0.1:8081");
    snprintf(f->label_app, sizeof(f->label_app), "demo");
    snprintf(f->label_upstream, sizeof(f->label_upstream), "http://127.0.0.1:8081");
    snprintf(f->nomtls_app, sizeof(f->nomtls_app), "demo");
    snprintf(f->nomtls_upstream, sizeof(f->nomtls_upstream), "https://127.0.0.1:8443");
}

static void check_fix(const zt_assess_check *ck)
{
    const char *fx = ck->fix;
    assert_true(fx[0] != '\0');
    if (strncmp(fx, "ztgate ", 7) == 0) {
        char cmd[32];
        size_t n = strcspn(fx + 7, " \n");
        snprintf(cmd, sizeof(cmd), "%.*s", (int)n, fx + 7);
        if (zt_command_find(cmd) == NULL)
            fail_msg("%s proposes an unknown subcommand: %s", ck->c->id, fx);
        if (ck->c->kind == ZT_FIX_ANSWER)
            assert_int_equal(strncmp(fx, "ztgate assess answer ", 21), 0);
        return;
    }
    assert_int_not_equal(ck->c->kind, ZT_FIX_ANSWER);
    if (fx[0] == '#') /* an edit of the file in place (report-only: tested below) */
        return;
    load_with(fx, ck->c->id);
}

static void test_every_fix_is_real(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    /* twice: with passkeys and MFA required, and without (different fixes are chosen) */
    for (int pass = 0; pass < 2; pass++) {
        failing(&f);
        f.passkeys_enabled = f.mfa_required = pass == 0;
        zt_assess_evaluate(&f, &r);
        for (size_t i = 0; i < r.n_checks; i++)
            if (r.checks[i].met && strcmp(r.checks[i].c->id, "applications.report_only") != 0)
                fail_msg("%s is met", r.checks[i].c->id);
        for (size_t i = 0; i < r.n_checks; i++)
            if (strcmp(r.checks[i].c->id, "applications.report_only") != 0)
                check_fix(&r.checks[i]);
    }
}

static void test_report_only_edit(void **state)
{
    (void)state;
    const char *yaml = "state_dir: /tmp/zt-assess-ro\n"
                       "gateway:\n  listen:\n    - address: 127.0.0.1:8080\n"
                       "apps:\n  - name: demo\n    upstream: http://127.0.0.1:8081\n"
                       "policies:\n"
                       "  - name: try-mfa\n"
                       "    state: report_only\n"
                       "    users: {include: [all]}\n"
                       "    apps: {include: [all]}\n"
                       "    grant: {controls: [mfa]}\n";
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("ro.yaml", yaml, strlen(yaml), &d);
    assert_non_null(cfg);
    zt_assess_facts f;
    zt_assess_result r;
    blank(&f);
    zt_assess_gather_config(cfg, &f);
    assert_int_equal(f.policies_report_only, 1);
    assert_int_equal(f.apps_mfa, 0);
    zt_assess_evaluate(&f, &r);
    const zt_assess_check *ck = check_of(&r, "applications.report_only");
    assert_false(ck->met);
    assert_non_null(strstr(ck->fix, "ro.yaml:9, policy try-mfa"));
    assert_non_null(strstr(ck->fix, "state: report_only  ->  state: on"));
    zt_config_free(cfg);
    /* the edit applied: the policy is enforced and now covers the app */
    char *on = strdup(yaml);
    memcpy(strstr(on, "state: report_only"), "state: on         ", 18);
    cfg = zt_config_load_mem("ro.yaml", on, strlen(on), &d);
    assert_non_null(cfg);
    blank(&f);
    zt_assess_gather_config(cfg, &f);
    assert_int_equal(f.policies_report_only, 0);
    assert_int_equal(f.apps_mfa, 1);
    zt_assess_evaluate(&f, &r);
    assert_true(check_of(&r, "applications.report_only")->met);
    assert_true(check_of(&r, "applications.mfa_all")->met);
    zt_config_free(cfg);
    zt_diags_dispose(&d);
    free(on);
}

/* Coverage: conditions, OR grants, exclusions and groups do not count as "always". */
static void test_config_coverage(void **state)
{
    (void)state;
    const char *yaml =
        "state_dir: /tmp/zt-assess-cov\n"
        "gateway:\n  listen:\n    - address: 127.0.0.1:8080\n"
        "      tls: {cert: /tmp/zt-assess-cov/c.pem, key: /tmp/zt-assess-cov/k.pem, "
        "self_signed: true}\n"
        "apps:\n"
        "  - {name: a, upstream: \"http://127.0.0.1:81\", sensitivity: restricted}\n"
        "  - {name: b, host: b.example, upstream: \"https://127.0.0.1:82\"}\n"
        "  - {name: c, host: c.example, upstream: \"http://127.0.0.1:83\", websocket: true}\n"
        "policies:\n"
        "  - {name: p1, users: {include: [all]}, apps: {include: [a]}, grant: {controls: "
        "[mfa, compliant_device]}, session: {restrict: [no_download]}}\n"
        "  - {name: p2, users: {include: [all]}, apps: {include: [b]}, grant: {controls: "
        "[mfa, compliant_device], operator: OR}}\n"
        "  - {name: p3, users: {include: [all]}, apps: {include: [c]}, conditions: "
        "{sign_in_risk: [high]}, grant: {controls: [mfa]}}\n"
        "  - {name: p4, users: {include: [group:x]}, apps: {include: [all]}, grant: {controls: "
        "[phishing_resistant_mfa]}}\n"
        "  - {name: p5, users: {include: [all]}, apps: {include: [all], exclude: [a, b, c]}, "
        "grant: {block: true}}\n";
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("cov.yaml", yaml, strlen(yaml), &d);
    if (cfg == NULL)
        fail_msg("%.*s", (int)d.text.len, d.text.data);
    zt_assess_facts f;
    blank(&f);
    zt_assess_gather_config(cfg, &f);
    assert_int_equal(f.apps, 3);
    assert_int_equal(f.apps_policy, 2);    /* a, b (c only under a condition) */
    assert_int_equal(f.apps_mfa, 1);       /* a (b's OR may be met by the device alone) */
    assert_int_equal(f.apps_compliant, 1); /* a */
    assert_int_equal(f.apps_pr_mfa, 0);    /* p4 is for a group only */
    assert_int_equal(f.apps_risk, 1);      /* c */
    assert_int_equal(f.apps_sensitive, 1);
    assert_int_equal(f.apps_sensitive_protected, 1);
    assert_int_equal(f.risk_policies, 1);
    assert_int_equal(f.upstreams, 3);
    assert_int_equal(f.upstreams_tls, 1);
    assert_int_equal(f.stream_apps, 3); /* WebSockets are allowed by default */
    assert_int_equal(f.listeners_tls, 1);
    assert_string_equal(f.plain_app, "a");
    assert_string_equal(f.nomtls_app, "b");
    assert_string_equal(f.label_app, "b");
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

/* ---- outputs ---- */

static void test_outputs(void **state)
{
    (void)state;
    zt_assess_facts f;
    zt_assess_result r;
    failing(&f);
    f.policies_report_only = 1;
    f.n_report_only_names = 1;
    snprintf(f.report_only_names[0], sizeof(f.report_only_names[0]), "<script>x</script>");
    f.config_path = "/etc/\"a&b\".yaml";
    zt_assess_evaluate(&f, &r);
    for (zt_lang lang = ZT_LANG_EN; lang < ZT_LANG_COUNT; lang++) {
        zt_buf b;
        zt_buf_init(&b, 8 << 20);
        assert_int_equal(zt_assess_json(&f, &r, lang, &b), 0);
        json_t *doc = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(doc);
        assert_string_equal(json_string_value(json_object_get(doc, "schema")), "ztgate.assess/1");
        assert_int_equal(json_array_size(json_object_get(doc, "pillars")), ZT_PILLAR_COUNT);
        assert_int_equal(json_array_size(json_object_get(doc, "measures")), r.n_ranked);
        assert_int_equal(json_array_size(json_object_get(doc, "questionnaire")), ZT_Q_COUNT);
        json_t *m0 = json_array_get(json_object_get(doc, "measures"), 0);
        assert_int_equal(json_integer_value(json_object_get(m0, "rank")), 1);
        assert_non_null(json_string_value(json_object_get(m0, "fix")));
        json_decref(doc);

        zt_buf_reset(&b);
        zt_store_assess_run runs[2] = {{.at = 1700000000, .stages = "0000000"},
                                       {.at = 1700086400, .stages = "1012301"}};
        assert_int_equal(zt_assess_html(&f, &r, lang, runs, 2, &b), 0);
        zt_buf_cstr(&b);
        assert_null(strstr(b.data, "<script"));
        assert_null(strstr(b.data, "a&b"));
        assert_non_null(strstr(b.data, "&lt;script&gt;x&lt;/script&gt;"));
        assert_non_null(strstr(b.data, "<svg"));
        assert_non_null(strstr(b.data, "<polyline"));
        assert_non_null(strstr(b.data, lang == ZT_LANG_JA ? "ゼロトラスト" : "Zero Trust"));
        assert_null(strstr(b.data, "src="));
        zt_buf_reset(&b);
        assert_int_equal(zt_assess_text(&f, &r, lang, &b), 0);
        zt_buf_dispose(&b);
    }
}

static bool non_ascii(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s >= 0x80)
            return true;
    return false;
}

/* No English text of the catalogue (4 bytes or more) and no fixed piece of words (not shared
 * with the Japanese text) of an English figure template in out. */
static void assert_no_english(const char *out, const char *what)
{
    for (int id = MSG_NONE + 1; id < ZT_MSG_COUNT; id++) {
        const char *en = zt_msg_text(ZT_LANG_EN, (zt_msg)id);
        const char *ja = zt_msg_text(ZT_LANG_JA, (zt_msg)id);
        if (strlen(en) >= 4 && strstr(out, en) != NULL)
            fail_msg("%s: English text of message %d in the Japanese output: %s", what, id, en);
        if (id < ASM_F_ANSWER || id > ASM_F_REMEDIATION)
            continue;
        char piece[200];
        for (const char *p = en; *p != '\0';) {
            size_t n = 0;
            while (p[n] != '\0' && !(p[n] == '{' && p[n + 1] != '\0' && p[n + 2] == '}'))
                n++;
            snprintf(piece, sizeof(piece), "%.*s", (int)n, p);
            char *t = piece;
            while (*t == ' ' || *t == '(' || *t == ')')
                t++;
            for (size_t k = strlen(t);
                 k > 0 && (t[k - 1] == ' ' || t[k - 1] == ')' || t[k - 1] == '('); k--)
                t[k - 1] = '\0';
            /* words, not a lone key such as "playbooks" that snippets and sources name */
            if (strchr(t, ' ') != NULL && strstr(ja, t) == NULL && strstr(out, t) != NULL)
                fail_msg("%s: English figure text of message %d in the Japanese output: %s", what,
                         id, t);
            p += n;
            p += *p != '\0' ? 3 : 0;
        }
    }
}

static void figures_in_japanese(const zt_assess_facts *f, const char *what)
{
    zt_assess_result r;
    zt_assess_evaluate(f, &r);
    char en[ZT_ASSESS_FIGURE_MAX * 2], ja[ZT_ASSESS_FIGURE_MAX * 2];
    for (size_t i = 0; i < r.n_checks; i++) {
        const zt_assess_check *ck = &r.checks[i];
        zt_assess_figure(ck, ZT_LANG_EN, en, sizeof(en));
        zt_assess_figure(ck, ZT_LANG_JA, ja, sizeof(ja));
        assert_string_equal(en, ck->figure); /* the JSON's figure: English, whatever --lang */
        if (!non_ascii(ja))
            fail_msg("%s: %s's figure is not in Japanese: %s", what, ck->c->id, ja);
    }
    zt_buf b;
    zt_buf_init(&b, 8 << 20);
    assert_int_equal(zt_assess_text(f, &r, ZT_LANG_JA, &b), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_no_english(b.data, what);
    zt_buf_reset(&b);
    assert_int_equal(zt_assess_html(f, &r, ZT_LANG_JA, NULL, 0, &b), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_no_english(b.data, what);
    /* the JSON stays language-neutral: its figures are the same in both languages */
    json_t *docs[ZT_LANG_COUNT];
    for (zt_lang lang = ZT_LANG_EN; lang < ZT_LANG_COUNT; lang++) {
        zt_buf_reset(&b);
        assert_int_equal(zt_assess_json(f, &r, lang, &b), 0);
        docs[lang] = json_loadb(b.data, b.len, 0, NULL);
        assert_non_null(docs[lang]);
    }
    for (size_t p = 0; p < ZT_PILLAR_COUNT; p++) {
        json_t *ce =
            json_object_get(json_array_get(json_object_get(docs[0], "pillars"), p), "criteria");
        json_t *cj =
            json_object_get(json_array_get(json_object_get(docs[1], "pillars"), p), "criteria");
        assert_int_equal(json_array_size(ce), json_array_size(cj));
        for (size_t k = 0; k < json_array_size(ce); k++)
            assert_string_equal(
                json_string_value(json_object_get(json_array_get(ce, k), "figure")),
                json_string_value(json_object_get(json_array_get(cj, k), "figure")));
    }
    assert_true(
        json_equal(json_object_get(docs[0], "figures"), json_object_get(docs[1], "figures")));
    json_decref(docs[0]);
    json_decref(docs[1]);
    zt_buf_dispose(&b);
}

/* Every measured figure and evidence line of the Japanese text and HTML comes from the
 * catalogue: every kind of figure, met and unmet, measured and not. */
static void test_figures_in_japanese(void **state)
{
    (void)state;
    zt_assess_facts f;
    perfect(&f);
    figures_in_japanese(&f, "all met");
    failing(&f);
    figures_in_japanese(&f, "all unmet");
    blank(&f);
    f.store_ok = false;
    figures_in_japanese(&f, "nothing measured");
    perfect(&f);
    f.remediation_median_s = -1;
    f.audit_on = f.audit_fail_closed = f.notify = f.provisioning = f.passkeys_enabled = false;
    f.answers[ZT_Q_DATA_BACKUPS] = 1;
    figures_in_japanese(&f, "mixed");
}

static void test_questions(void **state)
{
    (void)state;
    size_t n;
    const zt_assess_question *q = zt_assess_questions(&n);
    assert_int_equal(n, ZT_Q_COUNT);
    zt_assess_q id;
    assert_ptr_equal(zt_assess_question_find("data.backups", &id), &q[ZT_Q_DATA_BACKUPS]);
    assert_int_equal(id, ZT_Q_DATA_BACKUPS);
    assert_null(zt_assess_question_find("data.nothing", NULL));
    assert_int_equal(zt_assess_answer_index(&q[ZT_Q_DATA_BACKUPS], "tested"), 2);
    assert_int_equal(zt_assess_answer_index(&q[ZT_Q_DATA_BACKUPS], "Tested"), -1);
    /* every answer is storable as it is */
    for (size_t i = 0; i < n; i++)
        for (int v = 0; v < ZT_ASSESS_Q_VALUES; v++)
            assert_true(strlen(q[i].values[v]) <= ZT_STORE_ASSESS_VALUE_MAX);
}

/* ---- store ---- */

static int answer_cb(void *ctx, const zt_store_assess_answer *a)
{
    char *s = ctx;
    strcat(s, a->key);
    strcat(s, "=");
    strcat(s, a->value);
    strcat(s, ";");
    return 0;
}

static int run_cb(void *ctx, const zt_store_assess_run *r)
{
    char *s = ctx;
    strcat(s, r->stages);
    strcat(s, ";");
    return 0;
}

/* Set for the second run of the store tests, against PostgreSQL (ZT_TEST_PG_DSN). */
static bool use_pg;

/* A store in tmpdir/name (SQLite) or in a schema of its own (PostgreSQL); schema is "" for
 * SQLite. */
static zt_store *store_open(const char *name, char schema[ZT_TEST_PG_SCHEMA_MAX])
{
    char dir[600], err[256] = "";
    schema[0] = '\0';
    if (use_pg) {
        zt_store *st = zt_test_pg_open(schema, err, sizeof(err));
        if (st == NULL)
            fail_msg("open: %s", err);
        return st;
    }
    snprintf(dir, sizeof(dir), "%s/%s", tmpdir, name);
    mkdir(dir, 0700);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    zt_store *st = zt_store_open(&sc, err, sizeof(err));
    if (st == NULL)
        fail_msg("open: %s", err);
    return st;
}

static void store_close(zt_store *st, const char *schema)
{
    zt_store_close(st);
    if (schema[0] != '\0')
        zt_test_pg_drop(schema);
}

static void test_store(void **state)
{
    (void)state;
    char schema[ZT_TEST_PG_SCHEMA_MAX];
    zt_store *st = store_open("store", schema);
    zt_store_assess_answer a = {
        .key = "data.backups", .value = "offsite", .actor = "root", .updated_at = 1};
    assert_int_equal(zt_store_assess_answer_set(st, &a), 0);
    snprintf(a.value, sizeof(a.value), "tested");
    assert_int_equal(zt_store_assess_answer_set(st, &a), 0);
    snprintf(a.key, sizeof(a.key), "Bad Key");
    assert_int_equal(zt_store_assess_answer_set(st, &a), -EINVAL);
    char got[512] = "";
    assert_int_equal(zt_store_assess_answer_list(st, answer_cb, got), 0);
    assert_string_equal(got, "data.backups=tested;");

    zt_store_assess_run r = {.at = 100, .stages = "0120300", .actor = "root"};
    assert_int_equal(zt_store_assess_run_add(st, &r), 0);
    r.at = 200;
    snprintf(r.stages, sizeof(r.stages), "1120300");
    assert_int_equal(zt_store_assess_run_add(st, &r), 0);
    snprintf(r.stages, sizeof(r.stages), "1124300");
    assert_int_equal(zt_store_assess_run_add(st, &r), -EINVAL);
    got[0] = '\0';
    assert_int_equal(zt_store_assess_run_list(st, 0, run_cb, got), 0);
    assert_string_equal(got, "0120300;1120300;");
    got[0] = '\0';
    assert_int_equal(zt_store_assess_run_list(st, 1, run_cb, got), 0);
    assert_string_equal(got, "1120300;");

    zt_user u;
    assert_int_equal(zt_store_user_add(st, "a@example.org", "A", "", NULL, 0, &u), 0);
    assert_int_equal(zt_store_user_add(st, "b@example.org", "B", "", NULL, 0, &u), 0);
    unsigned char blob[40] = {1};
    assert_int_equal(zt_store_totp_set(st, u.id, blob, sizeof(blob)), 0);
    zt_store_assess_mfa m;
    assert_int_equal(zt_store_assess_mfa_counts(st, &m), 0);
    assert_int_equal(m.users, 2);
    assert_int_equal(m.users_mfa, 1);
    assert_int_equal(m.users_passkey, 0);

    store_close(st, schema);
}

static int sink(void *ctx, const char *json, size_t len)
{
    zt_buf *b = ctx;
    zt_buf_append(b, json, len);
    return zt_buf_append_char(b, '\n');
}

/* The service the CLI and the console share: checks, store, one record naming the actor. */
static void test_service(void **state)
{
    (void)state;
    char schema[ZT_TEST_PG_SCHEMA_MAX];
    zt_store *st = store_open("svc", schema);
    zt_buf rec;
    zt_buf_init(&rec, 1 << 20);
    zt_account_env env = {.store = st, .audit = {.write = sink, .ctx = &rec}};
    zt_actor who = {.name = "admin:ann@example.org", .type = "Admin", .request_id = "req-1"};
    int arc = -1;
    assert_int_equal(zt_assess_answer(&env, &who, "data.nothing", "none", 10, &arc), -ENOENT);
    assert_int_equal(zt_assess_answer(&env, &who, "data.backups", "weekly", 10, &arc), -EINVAL);
    assert_int_equal(rec.len, 0);
    assert_int_equal(zt_assess_answer(&env, &who, "data.backups", "tested", 10, &arc), 0);
    assert_int_equal(arc, 0);
    zt_buf_cstr(&rec);
    assert_non_null(strstr(rec.data, "\"assess.answer\""));
    assert_non_null(strstr(rec.data, "admin:ann@example.org"));
    assert_non_null(strstr(rec.data, "\"tested\""));
    zt_assess_facts f;
    zt_assess_result r;
    perfect(&f);
    zt_assess_evaluate(&f, &r);
    zt_buf_reset(&rec);
    assert_int_equal(zt_assess_keep(&env, &who, &r, 20, &arc), 0);
    zt_buf_cstr(&rec);
    assert_non_null(strstr(rec.data, "\"assess.keep\""));
    assert_non_null(strstr(rec.data, "3333333"));
    char got[64] = "";
    assert_int_equal(zt_store_assess_run_list(st, 0, run_cb, got), 0);
    assert_string_equal(got, "3333333;");
    zt_buf_dispose(&rec);
    store_close(st, schema);
}

/* The audit figures over a window: prompts per user-day, distinct users, blocks, sign-ins;
 * records before the window and lines that are not records do not count. */
static void test_audit_stats(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof(path), "%s/audit.log", tmpdir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    /* times around the real clock: the engine keeps what a live log could hold */
    int64_t now = zt_wall_us() / 1000000;
    char in[40], old[40];
    zt_rfc3339((now - 2 * 86400) * 1000000, in, sizeof(in));
    zt_rfc3339((now - 60 * 86400) * 1000000, old, sizeof(old));
    for (int i = 0; i < 4; i++) /* ann: 4 prompts on one day */
        fprintf(fp,
                "{\"seq\":%d,\"class_uid\":3002,\"activity_id\":1,\"time\":\"%s\","
                "\"status_id\":1,\"user\":{\"uid\":\"ann\"},\"is_mfa\":true}\n",
                i + 1, in);
    fprintf(fp,
            "{\"seq\":5,\"class_uid\":3002,\"activity_id\":1,\"time\":\"%s\","
            "\"status_id\":2,\"user\":{\"uid\":\"bob\"},\"is_mfa\":true}\n",
            in);
    fprintf(fp,
            "{\"seq\":6,\"class_uid\":3002,\"activity_id\":1,\"time\":\"%s\","
            "\"status_id\":1,\"user\":{\"uid\":\"bob\"},\"is_mfa\":false}\n",
            in);
    fprintf(fp,
            "{\"seq\":7,\"class_uid\":4002,\"activity_id\":3,\"time\":\"%s\","
            "\"decision\":\"block\"}\n",
            in);
    fprintf(fp,
            "{\"seq\":8,\"class_uid\":3002,\"activity_id\":1,\"time\":\"%s\","
            "\"status_id\":1,\"user\":{\"uid\":\"old\"},\"is_mfa\":true}\n",
            old);
    fprintf(fp, "not json\n");
    fclose(fp);
    zt_assess_facts f;
    blank(&f);
    f.now = now; /* the 30-day window holds two days ago, not sixty */
    f.window_days = 30;
    zt_assess_audit_stats(path, f.now - 30 * 86400, &f);
    assert_true(f.audit_read);
    assert_int_equal(f.mfa_prompts, 5);
    assert_int_equal(f.users_prompted, 2);
    assert_int_equal(f.mfa_user_days, 2);
    assert_int_equal(f.mfa_max_per_user_day, 4);
    assert_int_equal(f.signins_ok, 1);
    assert_int_equal(f.blocks, 1);
    assert_true(f.prompts_per_user_day > 2.49 && f.prompts_per_user_day < 2.51);
    zt_assess_audit_stats("/nonexistent/audit.log", 0, &f);
    assert_false(f.audit_read);
}

/* "Users prompted" is exact on a big log: more prompted users than the engine's 1024 busiest
 * user-days, one of them prompted on two days (counted once). */
static void test_audit_stats_many_users(void **state)
{
    (void)state;
    char path[600];
    snprintf(path, sizeof(path), "%s/audit-many.log", tmpdir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    int64_t now = zt_wall_us() / 1000000;
    char day1[40], day2[40];
    zt_rfc3339((now - 2 * 86400) * 1000000, day1, sizeof(day1));
    zt_rfc3339((now - 3 * 86400) * 1000000, day2, sizeof(day2));
    int seq = 0;
    for (int i = 0; i < 1500; i++)
        fprintf(fp,
                "{\"seq\":%d,\"class_uid\":3002,\"activity_id\":1,\"time\":\"%s\","
                "\"status_id\":1,\"user\":{\"uid\":\"u%04d\"},\"is_mfa\":true}\n",
                ++seq, day2, i);
    fprintf(fp,
            "{\"seq\":%d,\"class_uid\":3002,\"activity_id\":1,\"time\":\"%s\","
            "\"status_id\":1,\"user\":{\"uid\":\"u0000\"},\"is_mfa\":true}\n",
            ++seq, day1);
    fclose(fp);
    zt_assess_facts f;
    blank(&f);
    f.now = now;
    f.window_days = 30;
    zt_assess_audit_stats(path, f.now - 30 * 86400, &f);
    assert_true(f.audit_read);
    assert_int_equal(f.mfa_prompts, 1501);
    assert_int_equal(f.mfa_user_days, 1501);
    assert_int_equal(f.users_prompted, 1500);
}

static int setup(void **state)
{
    (void)state;
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/zt-assess-XXXXXX"); /* once per group */
    assert_non_null(mkdtemp(tmpdir));
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    nftw(tmpdir, rm_cb, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

int main(void)
{
    zt_config_set_resolver(fake_resolve);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_perfect_is_optimal),
        cmocka_unit_test(test_blank_is_traditional),
        cmocka_unit_test(test_identity_boundaries),
        cmocka_unit_test(test_stage_needs_the_ones_below),
        cmocka_unit_test(test_other_boundaries),
        cmocka_unit_test(test_unmeasured),
        cmocka_unit_test(test_ranking),
        cmocka_unit_test(test_every_fix_is_real),
        cmocka_unit_test(test_report_only_edit),
        cmocka_unit_test(test_config_coverage),
        cmocka_unit_test(test_outputs),
        cmocka_unit_test(test_questions),
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_service),
        cmocka_unit_test(test_audit_stats),
        cmocka_unit_test(test_audit_stats_many_users),
        cmocka_unit_test(test_figures_in_japanese),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, setup, teardown);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    use_pg = true;
    const struct CMUnitTest pg_tests[] = {
        cmocka_unit_test(test_store),
        cmocka_unit_test(test_service),
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, setup, teardown);
}
