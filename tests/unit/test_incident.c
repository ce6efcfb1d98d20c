/* src/response: playbook config, matching and planning (tables), correlation window boundaries,
 * severity maximum, containment, auto-resolution with undo, audit events, and the webhook's
 * retries, signature and drop counter against an in-process HTTP receiver. The engine tests run
 * against SQLite and again against PostgreSQL when ZT_TEST_PG_DSN is set (a schema per test),
 * with the store's one-step correlation raced from several store handles ("gateways"). */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "core/config.h"
#include "lib/time.h"
#include "response/confirm.h"
#include "response/incident.h"
#include "response/playbook.h"
#include "response/webhook.h"
#include "risk/risk.h"
#include "pg_fixture.h"
#include "store/store.h"

#define BASE                                                                                       \
    "gateway:\n  listen:\n    - address: 127.0.0.1:8080\n"                                         \
    "apps:\n  - {name: a, upstream: \"http://127.0.0.1:8081\"}\n"

#define T0 1800000000
#define DEV_ID "0123456789abcdef0123456789abcdef"

static zt_config *load(const char *yaml, zt_diags *d)
{
    char buf[4096];
    snprintf(buf, sizeof(buf), BASE "%s", yaml);
    zt_diags_init(d);
    return zt_config_load_mem("t.yaml", buf, strlen(buf), d);
}

static const char *diag_text(zt_diags *d)
{
    return d->text.data != NULL && zt_buf_cstr(&d->text) == 0 ? d->text.data : "";
}

/* ---- config ---- */

static void test_config_keys(void **state)
{
    (void)state;
    zt_diags d;
    zt_config *cfg = load("incidents: {correlation_window: 30m, min_severity: low}\n"
                          "playbooks:\n"
                          "  - name: compromised-device\n"
                          "    on: {types: [malware], min_severity: high}\n"
                          "    actions: [isolate_device, open_incident]\n"
                          "    undo_on_remediation: true\n",
                          &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->incidents.correlation_window_ms, 30 * 60 * 1000);
    assert_int_equal(cfg->incidents.min_severity, ZT_RISK_LOW);
    assert_false(cfg->incidents.has_notify);
    assert_int_equal(cfg->n_playbooks, 1);
    assert_string_equal(cfg->playbooks[0].name, "compromised-device");
    assert_int_equal(cfg->playbooks[0].on.min_severity, ZT_RISK_HIGH);
    assert_true(cfg->playbooks[0].undo_on_remediation);
    zt_config_free(cfg);
    zt_diags_dispose(&d);

    cfg = load("", &d); /* defaults */
    assert_non_null(cfg);
    assert_int_equal(cfg->incidents.correlation_window_ms, 3600 * 1000);
    assert_int_equal(cfg->incidents.min_severity, ZT_RISK_MEDIUM);
    zt_config_free(cfg);
    zt_diags_dispose(&d);

    static const struct {
        const char *yaml, *want;
    } bad[] = {
        {"playbooks:\n  - {name: p, on: {types: [malwar]}, actions: [notify]}\n",
         "'malwar' is not a signal type"},
        {"playbooks:\n  - {name: p, on: {types: [malware]}, actions: [nuke]}\n",
         "'nuke' is not an action"},
        {"playbooks:\n  - {name: p, on: {types: [malware]}, actions: [notify]}\n",
         "needs a webhook"},
        {"playbooks:\n  - {name: p, on: {types: [malware]}, actions: [notify, notify]}\n",
         "is listed twice"},
        {"playbooks:\n  - {name: p, on: {min_severity: high, severities: [low]}, "
         "actions: [open_incident]}\n",
         "not both"},
        {"playbooks:\n  - {name: p, on: {}, actions: [open_incident]}\n"
         "  - {name: p, on: {}, actions: [open_incident]}\n",
         "defined twice"},
        {"incidents: {notify: {url: \"ftp://x/\"}}\n", "url must be http"},
        {"incidents: {correlation_window: 10s}\n", "correlation_window"},
        {"incidents: {bogus: 1}\n", "unknown key 'bogus'"},
    };
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cfg = load(bad[i].yaml, &d);
        if (cfg != NULL || strstr(diag_text(&d), bad[i].want) == NULL)
            fail_msg("case %zu: want '%s', got: %s", i, bad[i].want, diag_text(&d));
        zt_diags_dispose(&d);
    }
}

/* ---- matching and planning (pure) ---- */

/* A playbook for one type ("" = any) with actions "a,b,c". */
static zt_playbook pb(const char *name, const char *type, unsigned mask, const char *actions)
{
    zt_playbook p;
    memset(&p, 0, sizeof(p));
    snprintf(p.name, sizeof(p.name), "%s", name);
    if (type[0] != '\0')
        snprintf(p.types[p.n_types++], sizeof(p.types[0]), "%s", type);
    p.severity_mask = mask;
    for (const char *a = actions; *a != '\0';) {
        char word[32];
        size_t n = strcspn(a, ",");
        assert_true(n < sizeof(word));
        memcpy(word, a, n);
        word[n] = '\0';
        assert_true(zt_pb_action_parse(word, &p.actions[p.n_actions++]));
        a += n + (a[n] == ',');
    }
    return p;
}

#define SEV(x) (1u << (x))
#define ALL (SEV(0) | SEV(1) | SEV(2) | SEV(3))

static void test_matching_table(void **state)
{
    (void)state;
    zt_playbook any = pb("any", "", ALL, "notify");
    zt_playbook malware_high = pb("m", "malware", SEV(ZT_RISK_HIGH), "isolate_device");
    zt_playbook travel_med = pb("t", "impossible_travel", SEV(2) | SEV(3), "revoke_sessions");
    static const struct {
        int which;
        const char *type;
        zt_risk sev;
        bool want;
    } cases[] = {
        {0, "malware", ZT_RISK_LOW, true},
        {0, "anything", ZT_RISK_NONE, true},
        {1, "malware", ZT_RISK_HIGH, true},
        {1, "malware", ZT_RISK_MEDIUM, false},
        {1, "impossible_travel", ZT_RISK_HIGH, false},
        {2, "impossible_travel", ZT_RISK_MEDIUM, true},
        {2, "impossible_travel", ZT_RISK_LOW, false},
        {2, NULL, ZT_RISK_HIGH, false},
    };
    const zt_playbook *pbs[] = {&any, &malware_high, &travel_med};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (zt_playbook_matches(pbs[cases[i].which], cases[i].type, cases[i].sev) != cases[i].want)
            fail_msg("case %zu", i);
}

static void test_plan_order(void **state)
{
    (void)state;
    zt_playbook pbs[3] = {
        pb("first", "impossible_travel", ALL, "revoke_sessions,open_incident,notify"),
        pb("other", "malware", ALL, "isolate_device"),
        pb("second", "impossible_travel", ALL, "notify,revoke_sessions,disable_user"),
    };
    zt_pb_step steps[16];
    size_t n = zt_playbook_plan(pbs, 3, "impossible_travel", ZT_RISK_MEDIUM, steps, 16);
    /* Config order, actions as written; revoke_sessions once (first owns it), notify twice. */
    static const struct {
        size_t pb;
        zt_pb_action a;
    } want[] = {{0, ZT_PB_REVOKE_SESSIONS},
                {0, ZT_PB_OPEN_INCIDENT},
                {0, ZT_PB_NOTIFY},
                {2, ZT_PB_NOTIFY},
                {2, ZT_PB_DISABLE_USER}};
    assert_int_equal(n, sizeof(want) / sizeof(want[0]));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(steps[i].playbook, want[i].pb);
        assert_int_equal(steps[i].action, want[i].a);
    }
    assert_int_equal(zt_playbook_plan(pbs, 3, "password_spray", ZT_RISK_HIGH, steps, 16), 0);
    assert_int_equal(zt_playbook_plan(pbs, 3, "impossible_travel", ZT_RISK_HIGH, steps, 2), 2);
}

static void test_titles(void **state)
{
    (void)state;
    char t[128];
    zt_signal s = {.type = "impossible_travel", .email = "alice@example.org", .user_id = "u1"};
    zt_response_title(&s, t, sizeof(t));
    assert_string_equal(t, "Impossible travel for alice@example.org");
    s = (zt_signal){.type = "malware", .email = "a@b", .device_id = DEV_ID, .device_name = "pc-17"};
    zt_response_title(&s, t, sizeof(t));
    assert_string_equal(t, "Malware on device pc-17");
    s = (zt_signal){.type = "new_kind", .user_id = "u1"};
    zt_response_title(&s, t, sizeof(t));
    assert_string_equal(t, "new_kind for u1");
}

/* ---- engine against a real store ---- */

typedef struct fixture {
    char root[64], state[96];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* "" = SQLite in state/ */
    zt_store *st;
    zt_risk_engine *risk;
    char user_id[ZT_STORE_ID_LEN + 1];
    json_t *audit;    /* array of every incident audit event (Detection Finding) */
    json_t *accounts; /* Account Change records of playbook actions (session/account.h) */
} fixture;

static int on_audit(void *ctx, const char *json, size_t len)
{
    fixture *f = ctx;
    json_t *v = json_loadb(json, len, 0, NULL);
    assert_non_null(v);
    bool account = json_integer_value(json_object_get(v, "class_uid")) == 3001;
    json_array_append_new(account ? f->accounts : f->audit, v);
    return 0;
}

/* Another handle on the fixture's store, as a second gateway would have. */
static zt_store *store_open(fixture *f, char *err, size_t errlen)
{
    if (f->schema[0] != '\0')
        return zt_test_pg_reopen(f->schema, err, errlen);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    return zt_store_open(&sc, err, errlen);
}

static int setup_with(void **state, bool pg)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-incident-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    if (pg) {
        assert_int_equal(mkdir(f->state, 0700), 0);
        f->st = zt_test_pg_open(f->schema, err, sizeof(err));
    } else {
        f->st = store_open(f, err, sizeof(err));
    }
    if (f->st == NULL)
        fail_msg("open: %s", err);
    f->risk = zt_risk_new(NULL, f->st, err, sizeof(err));
    assert_non_null(f->risk);
    zt_user u;
    assert_int_equal(zt_store_user_add(f->st, "alice@example.org", "Alice", "", NULL, 0, &u), 0);
    memcpy(f->user_id, u.id, sizeof(f->user_id));
    zt_user_dispose(&u);
    zt_store_device d = {.enrolled_at = T0 - 100, .cert_not_after = T0 + 86400 * 365};
    snprintf(d.id, sizeof(d.id), "%s", DEV_ID);
    memcpy(d.user_id, f->user_id, sizeof(d.user_id));
    snprintf(d.name, sizeof(d.name), "pc-17");
    snprintf(d.platform, sizeof(d.platform), "linux");
    snprintf(d.cert_serial, sizeof(d.cert_serial), "0a1b");
    memset(d.cert_sha256, 'b', 64);
    assert_int_equal(zt_store_device_create(f->st, &d), 0);
    f->audit = json_array();
    f->accounts = json_array();
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_pg(void **state)
{
    return setup_with(state, true);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_risk_free(f->risk);
    zt_store_close(f->st);
    if (f->schema[0] != '\0')
        zt_test_pg_drop(f->schema);
    json_decref(f->audit);
    json_decref(f->accounts);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", f->root);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static zt_response *engine(fixture *f, const char *yaml, zt_config **cfg_out)
{
    zt_diags d;
    zt_config *cfg = load(yaml, &d);
    if (cfg == NULL)
        fail_msg("config: %s", diag_text(&d));
    zt_diags_dispose(&d);
    char err[256] = "";
    zt_response_cfg rc = {.config = cfg,
                          .store = f->st,
                          .risk = f->risk,
                          .state_dir = f->state,
                          .no_webhook = true,
                          .audit = on_audit,
                          .audit_ctx = f};
    zt_response *r = zt_response_new(&rc, err, sizeof(err));
    if (r == NULL)
        fail_msg("zt_response_new: %s", err);
    *cfg_out = cfg;
    return r;
}

static zt_signal detection(const fixture *f, const char *type, zt_risk sev, int64_t at)
{
    return (zt_signal){.kind = ZT_SIGNAL_DETECTION,
                       .type = type,
                       .severity = sev,
                       .user_id = f->user_id,
                       .email = "alice@example.org",
                       .summary = type,
                       .evidence = "{\"why\":\"test\"}",
                       .request_id = "req-1",
                       .now = at};
}

static void test_correlation_window(void **state)
{
    fixture *f = *state;
    zt_config *cfg;
    zt_response *r = engine(f, "incidents: {correlation_window: 10m, min_severity: low}\n", &cfg);
    zt_response_result res;
    zt_signal s = detection(f, "impossible_travel", ZT_RISK_MEDIUM, T0);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_true(res.opened);
    int64_t first = res.incident_id;
    /* Exactly the window after the last event: still joins. */
    s = detection(f, "anonymous_ip", ZT_RISK_LOW, T0 + 600);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_false(res.opened);
    assert_int_equal(res.incident_id, first);
    /* The window counts from the last event (T0 + 600), so T0 + 1200 joins too... */
    s = detection(f, "anonymous_ip", ZT_RISK_LOW, T0 + 1200);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_int_equal(res.incident_id, first);
    /* ...and one second more than the window opens a new incident. */
    s = detection(f, "unfamiliar_sign_in", ZT_RISK_LOW, T0 + 1801);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_true(res.opened);
    assert_true(res.incident_id != first);
    zt_store_incident inc;
    assert_int_equal(zt_store_incident_get(f->st, first, &inc), 0);
    assert_int_equal(inc.n_events, 3);
    assert_string_equal(inc.title, "Impossible travel for alice@example.org");
    assert_string_equal(inc.email, "alice@example.org");
    zt_response_free(r);
    zt_config_free(cfg);
}

static void test_severity_max_and_threshold(void **state)
{
    fixture *f = *state;
    zt_config *cfg;
    zt_response *r = engine(f, "", &cfg); /* min_severity medium */
    zt_response_result res;
    zt_signal s = detection(f, "unfamiliar_sign_in", ZT_RISK_LOW, T0);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_int_equal(res.incident_id, 0); /* below min_severity: no incident */
    s = detection(f, "anonymous_ip", ZT_RISK_MEDIUM, T0 + 1);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_true(res.opened);
    int64_t id = res.incident_id;
    s = detection(f, "leaked_credentials", ZT_RISK_HIGH, T0 + 2);
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    s = detection(f, "unfamiliar_sign_in", ZT_RISK_LOW, T0 + 3); /* low joins an open one */
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_int_equal(res.incident_id, id);
    zt_store_incident inc;
    assert_int_equal(zt_store_incident_get(f->st, id, &inc), 0);
    assert_int_equal(inc.severity, ZT_RISK_HIGH);
    assert_int_equal(inc.n_events, 3);
    assert_string_equal(inc.title, "Sign-in from an anonymous IP address for alice@example.org");
    zt_response_free(r);
    zt_config_free(cfg);
}

typedef struct timeline {
    char kinds[32][32];
    char playbooks[32][65];
    char summaries[32][ZT_STORE_INC_SUMMARY_MAX + 1];
    size_t n;
} timeline;

static int tl_cb(void *ctx, const zt_store_incident_event *e)
{
    timeline *t = ctx;
    if (t->n < 32) {
        snprintf(t->kinds[t->n], sizeof(t->kinds[0]), "%s", e->kind);
        snprintf(t->playbooks[t->n], sizeof(t->playbooks[0]), "%s", e->playbook);
        snprintf(t->summaries[t->n], sizeof(t->summaries[0]), "%s", e->summary);
        t->n++;
    }
    return 0;
}

static void test_contain_resolve_undo(void **state)
{
    fixture *f = *state;
    zt_config *cfg;
    zt_response *r = engine(f,
                            "playbooks:\n"
                            "  - name: compromised-device\n"
                            "    on: {types: [malware], min_severity: high}\n"
                            "    actions: [isolate_device, open_incident]\n"
                            "    undo_on_remediation: true\n"
                            "  - name: stolen-password\n"
                            "    on: {types: [impossible_travel, malware]}\n"
                            "    actions: [revoke_sessions, require_password_change]\n",
                            &cfg);
    zt_user before, after;
    assert_int_equal(zt_store_user_get_by_id(f->st, f->user_id, &before), 0);
    zt_signal s = detection(f, "malware", ZT_RISK_HIGH, T0);
    s.device_id = DEV_ID;
    zt_response_result res;
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_true(res.opened);
    assert_int_equal(res.actions, 4);
    assert_int_equal(res.failed, 0);
    int64_t id = res.incident_id;

    zt_store_incident inc;
    assert_int_equal(zt_store_incident_get(f->st, id, &inc), 0);
    assert_int_equal(inc.status, ZT_STORE_INC_CONTAINED);
    assert_string_equal(inc.title, "Malware on device pc-17"); /* name looked up */
    assert_string_equal(inc.device_id, DEV_ID);
    zt_store_device dev;
    assert_int_equal(zt_store_device_get(f->st, DEV_ID, &dev), 0);
    assert_int_equal(dev.risk, 3); /* isolated */
    assert_int_equal(zt_store_user_get_by_id(f->st, f->user_id, &after), 0);
    assert_true(after.revocation_epoch > before.revocation_epoch); /* sessions revoked */
    zt_risk level = ZT_RISK_NONE;
    assert_int_equal(zt_risk_user_level(f->risk, f->user_id, T0, &level), 0);
    assert_int_equal(level, ZT_RISK_HIGH); /* password change required */
    char rev[160];
    snprintf(rev, sizeof(rev), "%s/revocation", f->state);
    assert_int_equal(access(rev, F_OK), 0);

    /* A remediation that does not resolve only adds an event. */
    zt_signal m = {.kind = ZT_SIGNAL_REMEDIATION,
                   .type = "quarantine",
                   .device_id = DEV_ID,
                   .summary = "file quarantined",
                   .now = T0 + 10};
    assert_int_equal(zt_response_signal(r, &m, &res), 0);
    assert_int_equal(res.incident_id, id);
    assert_false(res.resolved);
    m = (zt_signal){.kind = ZT_SIGNAL_REMEDIATION,
                    .type = "clean_scan",
                    .device_id = DEV_ID,
                    .summary = "clean scan",
                    .resolves = true,
                    .now = T0 + 20};
    assert_int_equal(zt_response_signal(r, &m, &res), 0);
    assert_true(res.resolved);
    assert_int_equal(zt_store_incident_get(f->st, id, &inc), 0);
    assert_int_equal(inc.status, ZT_STORE_INC_RESOLVED);
    assert_int_equal(zt_store_device_get(f->st, DEV_ID, &dev), 0);
    assert_int_equal(dev.risk, 0); /* released */

    timeline t = {0};
    assert_int_equal(zt_store_incident_events(f->st, id, tl_cb, &t), 0);
    static const char *const kinds[] = {"detection", "action", "status",      "action",
                                        "action",    "action", "remediation", "remediation",
                                        "undo",      "status"};
    static const char *const pbs[] = {"",
                                      "compromised-device",
                                      "compromised-device",
                                      "compromised-device",
                                      "stolen-password",
                                      "stolen-password",
                                      "",
                                      "",
                                      "compromised-device",
                                      ""};
    assert_int_equal(t.n, sizeof(kinds) / sizeof(kinds[0]));
    for (size_t i = 0; i < t.n; i++) {
        if (strcmp(t.kinds[i], kinds[i]) != 0 || strcmp(t.playbooks[i], pbs[i]) != 0)
            fail_msg("event %zu: %s/%s (%s)", i, t.kinds[i], t.playbooks[i], t.summaries[i]);
    }
    assert_non_null(strstr(t.summaries[9], "resolved"));

    /* Audit: one event per step, naming the playbook for actions. */
    assert_int_equal(json_array_size(f->audit), t.n);
    json_t *a1 = json_array_get(f->audit, 1);
    assert_int_equal(json_integer_value(json_object_get(a1, "class_uid")), 2004);
    json_t *ia = json_object_get(a1, "incident");
    assert_string_equal(json_string_value(json_object_get(ia, "playbook")), "compromised-device");
    assert_string_equal(json_string_value(json_object_get(ia, "action")), "isolate_device");
    assert_string_equal(json_string_value(json_object_get(ia, "result")), "done");
    json_t *last = json_array_get(f->audit, t.n - 1);
    assert_int_equal(json_integer_value(json_object_get(last, "activity_id")), 3);

    /* Resolved is final; a new detection opens a new incident. */
    assert_int_equal(zt_response_resolve(r, id, "test", T0 + 30, &res), -EALREADY);
    s.now = T0 + 40;
    assert_int_equal(zt_response_signal(r, &s, &res), 0);
    assert_true(res.opened);
    assert_true(res.incident_id != id);
    /* An admin resolving releases the isolation even without undo_on_remediation's help. */
    assert_int_equal(zt_response_resolve(r, res.incident_id, "test", T0 + 50, &res), 0);
    assert_true(res.resolved);
    assert_int_equal(zt_store_device_get(f->st, DEV_ID, &dev), 0);
    assert_int_equal(dev.risk, 0);
    zt_user_dispose(&before);
    zt_user_dispose(&after);
    zt_response_free(r);
    zt_config_free(cfg);
}

/* One verdict for every front-end: risk high, sessions gone, gateways told, the incident with
 * its playbook steps, each audited under the front-end's request id. */
static void test_confirm_compromised(void **state)
{
    fixture *f = *state;
    zt_config *cfg;
    zt_response *r = engine(f,
                            "playbooks:\n"
                            "  - name: stolen-password\n"
                            "    on: {types: [admin_confirmed_compromised]}\n"
                            "    actions: [revoke_sessions, disable_user, open_incident]\n",
                            &cfg);
    zt_store_session sess = {.created_at = T0,
                             .auth_time = T0,
                             .idle_expires_at = T0 + 600,
                             .absolute_expires_at = T0 + 3600};
    memset(sess.id_hash, 'c', 64);
    memcpy(sess.user_id, f->user_id, sizeof(sess.user_id));
    assert_int_equal(zt_store_session_create(f->st, &sess), 0);

    zt_confirm_req q = {.user_id = f->user_id,
                        .email = "alice@example.org",
                        .actor = "cli",
                        .request_id = "req-9",
                        .now = T0 + 10};
    zt_confirm_result res;
    assert_int_equal(zt_response_confirm_compromised(r, &q, &res), 0);
    assert_true(res.risk.detection_id > 0);
    assert_int_equal(res.sessions_revoked, 1);
    assert_int_equal(res.user_risk, ZT_RISK_HIGH);
    assert_int_equal(res.revocation_rc, 0);
    assert_int_equal(res.incident_rc, 0);
    assert_true(res.incident.opened);
    assert_int_equal(res.incident.actions, 3);
    assert_int_equal(res.incident.failed, 0);
    zt_user u;
    assert_int_equal(zt_store_user_get_by_id(f->st, f->user_id, &u), 0);
    assert_true(u.disabled);
    zt_user_dispose(&u);
    char rev[160];
    snprintf(rev, sizeof(rev), "%s/revocation", f->state);
    assert_int_equal(access(rev, F_OK), 0);
    zt_store_incident inc;
    assert_int_equal(zt_store_incident_get(f->st, res.incident.incident_id, &inc), 0);
    assert_string_equal(inc.title, "Account confirmed compromised for alice@example.org");
    /* Every timeline step is audited and points at the front-end's record. */
    size_t i;
    json_t *ev;
    size_t steps = 0;
    json_array_foreach(f->audit, i, ev)
    {
        json_t *md = json_object_get(ev, "metadata");
        assert_string_equal(json_string_value(json_object_get(md, "uid")), "req-9");
        steps++;
    }
    assert_true(steps >= 4); /* detection, 3 actions (+ status contained) */
    /* The playbook's account actions are the account service's: records naming the playbook. */
    assert_true(json_array_size(f->accounts) >= 1);
    json_array_foreach(f->accounts, i, ev)
    {
        json_t *actor = json_object_get(json_object_get(ev, "actor"), "user");
        assert_non_null(strstr(json_string_value(json_object_get(actor, "name")), "playbook:"));
        assert_string_equal(json_string_value(json_object_get(actor, "type")), "System");
    }

    /* Bad input changes nothing; without a risk engine there is no verdict. */
    q.actor = "Bad Actor";
    assert_int_equal(zt_response_confirm_compromised(r, &q, &res), -EINVAL);
    q.actor = "admin-api";
    q.user_id = "";
    assert_int_equal(zt_response_confirm_compromised(r, &q, &res), -EINVAL);
    zt_response_free(r);
    zt_config_free(cfg);
    char err[256];
    zt_diags d;
    cfg = load("", &d);
    zt_diags_dispose(&d);
    assert_non_null(cfg);
    zt_response_cfg rc = {.config = cfg, .store = f->st, .no_webhook = true};
    r = zt_response_new(&rc, err, sizeof(err));
    assert_non_null(r);
    q.user_id = f->user_id;
    assert_int_equal(zt_response_confirm_compromised(r, &q, &res), -ENOTSUP);
    zt_response_free(r);
    zt_config_free(cfg);
}

static int count_detection(void *ctx, const zt_store_detection *d)
{
    (void)d;
    ++*(uint64_t *)ctx;
    return 0;
}

/* "This wasn't me": user risk high, an incident, the playbook on the new type, sessions kept;
 * bad input changes nothing. */
static void test_report_suspicious(void **state)
{
    fixture *f = *state;
    zt_config *cfg;
    zt_response *r = engine(f,
                            "playbooks:\n"
                            "  - name: user-report\n"
                            "    on: {types: [user_reported_suspicious]}\n"
                            "    actions: [open_incident]\n",
                            &cfg);
    zt_store_session sess = {.created_at = T0,
                             .auth_time = T0,
                             .idle_expires_at = T0 + 600,
                             .absolute_expires_at = T0 + 3600};
    memset(sess.id_hash, 'd', 64);
    memcpy(sess.user_id, f->user_id, sizeof(sess.user_id));
    assert_int_equal(zt_store_session_create(f->st, &sess), 0);
    zt_report_req q = {.user_id = f->user_id,
                       .email = "alice@example.org",
                       .actor = "portal",
                       .ref = "42",
                       .ip = "192.0.2.9",
                       .now = T0 + 10};
    zt_report_result res;
    assert_int_equal(zt_response_report_suspicious(r, &q, &res), 0);
    assert_true(res.risk.detection_id > 0);
    assert_int_equal(res.user_risk, ZT_RISK_HIGH);
    assert_int_equal(res.incident_rc, 0);
    assert_true(res.incident.opened);
    assert_int_equal(res.incident.actions, 1);
    zt_store_detection d;
    assert_int_equal(zt_store_detection_get(f->st, res.risk.detection_id, &d), 0);
    assert_string_equal(d.type, "user_reported_suspicious");
    assert_string_equal(d.evidence, "{\"by\":\"portal\",\"ref\":\"42\",\"ip\":\"192.0.2.9\"}");
    zt_store_session still;
    assert_int_equal(zt_store_session_get(f->st, sess.id_hash, &still), 0);
    zt_store_incident inc;
    assert_int_equal(zt_store_incident_get(f->st, res.incident.incident_id, &inc), 0);
    assert_string_equal(inc.title,
                        "Activity reported by the user as not theirs for alice@example.org");

    const char *bad_ref[] = {"4\"2", "x", "123456789012345678901"};
    for (size_t i = 0; i < 3; i++) {
        zt_report_req b = q;
        b.ref = bad_ref[i];
        assert_int_equal(zt_response_report_suspicious(r, &b, &res), -EINVAL);
    }
    zt_report_req b = q;
    b.ip = "1.2.3.4\",\"x";
    assert_int_equal(zt_response_report_suspicious(r, &b, &res), -EINVAL);
    b = q;
    b.actor = "Bad Actor";
    assert_int_equal(zt_response_report_suspicious(r, &b, &res), -EINVAL);
    b = q;
    b.user_id = "";
    assert_int_equal(zt_response_report_suspicious(r, &b, &res), -EINVAL);
    uint64_t n = 0;
    zt_store_risk_filter all = {.user_id = f->user_id, .state = -1};
    assert_int_equal(zt_store_detection_list(f->st, &all, count_detection, &n), 0);
    assert_int_equal(n, 1); /* only the good report */
    zt_response_free(r);
    zt_config_free(cfg);
}

/* ---- one-step correlation in the store ---- */

static zt_store_incident_event store_event(int64_t at)
{
    zt_store_incident_event e = {.at = at};
    snprintf(e.kind, sizeof(e.kind), "detection");
    snprintf(e.summary, sizeof(e.summary), "seen");
    return e;
}

static zt_store_incident new_incident(const fixture *f, int64_t at)
{
    zt_store_incident inc = {.severity = 2, .created_at = at};
    snprintf(inc.title, sizeof(inc.title), "Test for alice");
    memcpy(inc.user_id, f->user_id, sizeof(f->user_id));
    return inc;
}

static void test_join_or_open(void **state)
{
    fixture *f = *state;
    zt_store_incident inc = new_incident(f, T0);
    zt_store_incident_event e = store_event(T0);
    zt_store_incident_update u = {.severity = 3, .status = -1, .device_id = DEV_ID};
    bool opened = true;
    /* Nothing open and may not open: nothing written. */
    assert_int_equal(zt_store_incident_join_or_open(f->st, &inc, 0, &u, false, &e, &opened),
                     -ENOENT);
    assert_false(opened);
    assert_int_equal(zt_store_incident_find_open(f->st, f->user_id, NULL, 0, &inc), -ENOENT);
    inc = new_incident(f, T0);
    assert_int_equal(zt_store_incident_join_or_open(f->st, &inc, 0, &u, true, &e, &opened), 0);
    assert_true(opened);
    int64_t id = inc.id;
    assert_true(id > 0 && e.id > 0 && e.incident_id == id);
    assert_int_equal(inc.severity, 2);
    /* Within the window: joined, u applied, inc becomes the stored incident. */
    zt_store_incident again = new_incident(f, T0 + 5);
    e = store_event(T0 + 5);
    assert_int_equal(zt_store_incident_join_or_open(f->st, &again, T0 - 60, &u, false, &e, &opened),
                     0);
    assert_false(opened);
    assert_int_equal(again.id, id);
    assert_int_equal(again.severity, 3);
    assert_string_equal(again.device_id, DEV_ID);
    assert_int_equal(again.n_events, 2);
    assert_int_equal(again.updated_at, T0 + 5);
    /* Outside the window (since after the last event): a new one. */
    again = new_incident(f, T0 + 100);
    e = store_event(T0 + 100);
    assert_int_equal(zt_store_incident_join_or_open(f->st, &again, T0 + 6, NULL, true, &e, &opened),
                     0);
    assert_true(opened);
    assert_true(again.id != id);
    /* Checked like create: no subject, bad severity when it may open. */
    zt_store_incident bad = new_incident(f, T0);
    bad.user_id[0] = '\0';
    assert_int_equal(zt_store_incident_join_or_open(f->st, &bad, 0, NULL, true, &e, &opened),
                     -EINVAL);
    bad = new_incident(f, T0);
    bad.severity = 0;
    assert_int_equal(zt_store_incident_join_or_open(f->st, &bad, 0, NULL, true, &e, &opened),
                     -EINVAL);
    assert_int_equal(zt_store_incident_join_or_open(f->st, &bad, 0, NULL, false, &e, &opened), 0);
    assert_false(opened);
}

#define RACE_THREADS 4
#define RACE_EVENTS 5

typedef struct race_arg {
    fixture *f;
    zt_store *st; /* a handle of its own: one "gateway" */
    int opened, failed;
} race_arg;

static void *race_thread(void *p)
{
    race_arg *a = p;
    for (int i = 0; i < RACE_EVENTS; i++) {
        zt_store_incident inc = new_incident(a->f, T0 + i);
        zt_store_incident_event e = store_event(T0 + i);
        zt_store_incident_update u = {.severity = 1, .status = -1};
        bool opened = false;
        int rc = zt_store_incident_join_or_open(a->st, &inc, T0 - 600, &u, true, &e, &opened);
        a->opened += rc == 0 && opened;
        a->failed += rc != 0;
    }
    return NULL;
}

static int count_incident(void *ctx, const zt_store_incident *inc)
{
    (void)inc;
    (*(int *)ctx)++;
    return 0;
}

/* Gateways seeing detections of one user at the same moment open one incident between them,
 * and every detection lands in it. */
static void test_join_or_open_race(void **state)
{
    fixture *f = *state;
    race_arg args[RACE_THREADS];
    pthread_t th[RACE_THREADS];
    for (int i = 0; i < RACE_THREADS; i++) {
        char err[256] = "";
        args[i] = (race_arg){.f = f, .st = store_open(f, err, sizeof(err))};
        if (args[i].st == NULL)
            fail_msg("open: %s", err);
    }
    for (int i = 0; i < RACE_THREADS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, race_thread, &args[i]), 0);
    int opened = 0, failed = 0;
    for (int i = 0; i < RACE_THREADS; i++) {
        pthread_join(th[i], NULL);
        opened += args[i].opened;
        failed += args[i].failed;
        zt_store_close(args[i].st);
    }
    if (failed != 0)
        fail_msg("%d of %d correlations failed: %s", failed, RACE_THREADS * RACE_EVENTS,
                 zt_store_errmsg());
    assert_int_equal(opened, 1);
    int n = 0;
    zt_store_incident_filter all = {.status = -1, .user_id = f->user_id};
    assert_int_equal(zt_store_incident_list(f->st, &all, count_incident, &n), 0);
    assert_int_equal(n, 1);
    zt_store_incident inc;
    assert_int_equal(zt_store_incident_find_open(f->st, f->user_id, NULL, 0, &inc), 0);
    assert_int_equal(inc.n_events, RACE_THREADS * RACE_EVENTS);
}

static void test_bad_signals(void **state)
{
    fixture *f = *state;
    zt_config *cfg;
    zt_response *r = engine(f, "", &cfg);
    zt_signal s = detection(f, "Bad-Type", ZT_RISK_HIGH, T0);
    assert_int_equal(zt_response_signal(r, &s, NULL), -EINVAL);
    s = detection(f, "malware", ZT_RISK_HIGH, T0);
    s.user_id = NULL;
    assert_int_equal(zt_response_signal(r, &s, NULL), -EINVAL); /* neither user nor device */
    s = (zt_signal){.kind = ZT_SIGNAL_REMEDIATION,
                    .type = "mfa",
                    .user_id = f->user_id,
                    .resolves = true,
                    .now = T0};
    zt_response_result res;
    assert_int_equal(zt_response_signal(r, &s, &res), 0); /* nothing open: no incident */
    assert_int_equal(res.incident_id, 0);
    assert_int_equal(zt_response_resolve(r, 999, "test", T0, NULL), -ENOENT);
    zt_response_free(r);
    zt_config_free(cfg);
}

/* ---- webhook ---- */

typedef struct receiver {
    int lfd;
    int port;
    int fail_first; /* answer 500 to this many POSTs */
    int count;
    int64_t at_us[8];
    char sig[8][80];
    char body[8][1024];
} receiver;

static void *serve(void *arg)
{
    receiver *rv = arg;
    for (;;) {
        int fd = accept(rv->lfd, NULL, NULL);
        if (fd < 0)
            return NULL;
        char buf[8192];
        size_t n = 0;
        char *hend = NULL;
        long clen = -1;
        while (n < sizeof(buf) - 1) {
            ssize_t k = read(fd, buf + n, sizeof(buf) - 1 - n);
            if (k <= 0)
                break;
            n += (size_t)k;
            buf[n] = '\0';
            hend = strstr(buf, "\r\n\r\n");
            if (hend != NULL && clen < 0) {
                char *cl = strcasestr(buf, "content-length:");
                clen = cl != NULL ? strtol(cl + 15, NULL, 10) : 0;
            }
            if (hend != NULL && (long)(n - (size_t)(hend + 4 - buf)) >= clen)
                break;
        }
        int i = rv->count < 8 ? rv->count : 7;
        rv->at_us[i] = (int64_t)zt_mono_us();
        char *sig = strcasestr(buf, "x-zt-signature: ");
        if (sig != NULL)
            sscanf(sig + 16, "%79s", rv->sig[i]);
        if (hend != NULL)
            snprintf(rv->body[i], sizeof(rv->body[i]), "%s", hend + 4);
        const char *answer = rv->count < rv->fail_first
                                 ? "HTTP/1.1 500 Oops\r\nContent-Length: 0\r\n\r\n"
                                 : "HTTP/1.1 204 No Content\r\n\r\n";
        rv->count++;
        ssize_t w = write(fd, answer, strlen(answer));
        (void)w;
        close(fd);
    }
}

static void receiver_start(receiver *rv, pthread_t *th)
{
    rv->lfd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(rv->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(rv->lfd, 8), 0);
    assert_int_equal(getsockname(rv->lfd, (struct sockaddr *)&a, &al), 0);
    rv->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(th, NULL, serve, rv), 0);
}

static void test_webhook_retry_signature(void **state)
{
    (void)state;
    receiver rv = {.fail_first = 2};
    pthread_t th;
    receiver_start(&rv, &th);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/hook", rv.port);
    zt_webhook_cfg wc = {
        .url = url, .timeout_ms = 2000, .retries = 5, .backoff_ms = 100, .queue_limit = 10};
    const unsigned char key[] = "0123456789abcdef0123456789abcdef";
    char err[256];
    zt_webhook *w = zt_webhook_new(&wc, key, 32, err, sizeof(err));
    assert_non_null(w);
    const char *body = "{\"incident_id\":1}";
    assert_true(zt_webhook_post(w, body, strlen(body)));
    assert_true(zt_webhook_drain(w, 10000));
    zt_webhook_stats st;
    zt_webhook_stats_get(w, &st);
    assert_int_equal(st.attempts, 3);
    assert_int_equal(st.delivered, 1);
    assert_int_equal(st.failed, 0);
    assert_int_equal(rv.count, 3);
    /* Backoff: 100 ms, then 200 ms (doubling). */
    assert_true(rv.at_us[1] - rv.at_us[0] >= 90000);
    assert_true(rv.at_us[2] - rv.at_us[1] >= 190000);
    char want[ZT_WEBHOOK_SIG_LEN + 1];
    zt_webhook_sign(key, 32, body, strlen(body), want);
    assert_string_equal(rv.sig[2], want);
    assert_string_equal(rv.body[2], body);
    zt_webhook_free(w);
    shutdown(rv.lfd, SHUT_RDWR);
    close(rv.lfd);
    pthread_join(th, NULL);
}

static void test_webhook_drops(void **state)
{
    (void)state;
    int s = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &al), 0);
    char url[64];
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/", ntohs(a.sin_port)); /* refused */
    zt_webhook_cfg wc = {
        .url = url, .timeout_ms = 500, .retries = 3, .backoff_ms = 5000, .queue_limit = 2};
    const unsigned char key[16] = "sixteen byte key";
    char err[256];
    zt_webhook *w = zt_webhook_new(&wc, key, sizeof(key), err, sizeof(err));
    assert_non_null(w);
    unsigned ok = 0;
    for (int i = 0; i < 10; i++)
        ok += zt_webhook_post(w, "{}", 2);
    assert_true(ok >= 2 && ok <= 3);
    zt_webhook_stats st;
    zt_webhook_stats_get(w, &st);
    assert_int_equal(st.dropped, 10 - ok);
    zt_webhook_free(w); /* ends the 5 s backoff at once */
    close(s);
    wc.url = "ftp://x/";
    assert_null(zt_webhook_new(&wc, key, sizeof(key), err, sizeof(err)));
    wc.url = url;
    assert_null(zt_webhook_new(&wc, key, 8, err, sizeof(err))); /* key too short */
}

/* The answer reader of outgoing POSTs (SAML back-channel logout reads the SP's SOAP answer). */
static void test_http_answer_parse(void **state)
{
    (void)state;
    static const struct {
        const char *raw;
        int code;
        const char *body;
    } cases[] = {
        {"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\n<a/>trailing", 200, "<a/>"},
        {"HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\n\r\n2\r\n<a\r\n2;x=y\r\n/>\r\n0\r\n\r\n",
         200, "<a/>"},
        {"HTTP/1.0 500 Oops\r\n\r\nto the end", 500, "to the end"},
        {"HTTP/1.1 204 No Content\n\n", 204, ""},
        {"HTTP/1.1 200 OK\r\nContent-Length: 99\r\n\r\nshort", -EPROTO, NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n9\r\nshort\r\n", -EPROTO, NULL},
        {"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", -EPROTO, NULL},
        {"HTTP/1.1 200 OK\r\nContent-Length: 4", -EPROTO, NULL}, /* no end of headers */
        {"HTTP/2 200\r\n\r\n", -EPROTO, NULL},
        {"garbage", -EPROTO, NULL},
        {"", -EPROTO, NULL},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        zt_buf b;
        zt_buf_init(&b, 0);
        int code = zt_http_answer_parse(cases[i].raw, strlen(cases[i].raw), &b);
        assert_int_equal(code, cases[i].code);
        if (cases[i].body != NULL)
            assert_string_equal(b.data, cases[i].body);
        zt_buf_dispose(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_http_answer_parse),
        cmocka_unit_test(test_matching_table),
        cmocka_unit_test(test_plan_order),
        cmocka_unit_test(test_titles),
        cmocka_unit_test_setup_teardown(test_correlation_window, setup, teardown),
        cmocka_unit_test_setup_teardown(test_severity_max_and_threshold, setup, teardown),
        cmocka_unit_test_setup_teardown(test_contain_resolve_undo, setup, teardown),
        cmocka_unit_test_setup_teardown(test_confirm_compromised, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_suspicious, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_signals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_or_open, setup, teardown),
        cmocka_unit_test_setup_teardown(test_join_or_open_race, setup, teardown),
        cmocka_unit_test(test_webhook_retry_signature),
        cmocka_unit_test(test_webhook_drops),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown)
        PG_TEST(test_correlation_window),   PG_TEST(test_severity_max_and_threshold),
        PG_TEST(test_contain_resolve_undo), PG_TEST(test_confirm_compromised),
        PG_TEST(test_report_suspicious),    PG_TEST(test_bad_signals),
        PG_TEST(test_join_or_open),         PG_TEST(test_join_or_open_race),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
