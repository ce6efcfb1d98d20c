/* The criteria of the assessment and the judgement (assess.h): a pure function of the measured
 * facts. One row per criterion: the pillar and stage it is needed for, its weight (the effect of
 * meeting it, used to rank measures of the same rank), its judge (met or not, and the figure it
 * was judged on) and its fix (the exact snippet or command). docs/ASSESSMENT.md lists the same
 * table in words; tests/unit/test_assess.c checks every stage boundary and loads every
 * snippet with the config parser. */
#include <stdio.h>
#include <string.h>

#include "assess/assess.h"

/* ---- names ---- */

static const char *const pillar_keys[ZT_PILLAR_COUNT] = {
    "identity", "devices", "networks", "applications", "data", "visibility", "automation"};
static const zt_msg pillar_titles[ZT_PILLAR_COUNT] = {
    ASM_P_IDENTITY, ASM_P_DEVICES,    ASM_P_NETWORKS,  ASM_P_APPLICATIONS,
    ASM_P_DATA,     ASM_P_VISIBILITY, ASM_P_AUTOMATION};
static const char *const stage_keys[ZT_STAGE_COUNT] = {"traditional", "initial", "advanced",
                                                       "optimal"};
static const zt_msg stage_titles[ZT_STAGE_COUNT] = {ASM_S_TRADITIONAL, ASM_S_INITIAL,
                                                    ASM_S_ADVANCED, ASM_S_OPTIMAL};

const char *zt_pillar_key(zt_pillar p)
{
    return (unsigned)p < ZT_PILLAR_COUNT ? pillar_keys[p] : "unknown";
}

const char *zt_stage_key(zt_stage s)
{
    return (unsigned)s < ZT_STAGE_COUNT ? stage_keys[s] : "unknown";
}

zt_msg zt_pillar_title(zt_pillar p)
{
    return (unsigned)p < ZT_PILLAR_COUNT ? pillar_titles[p] : MSG_NONE;
}

zt_msg zt_stage_title(zt_stage s)
{
    return (unsigned)s < ZT_STAGE_COUNT ? stage_titles[s] : MSG_NONE;
}

/* ---- the questionnaire ---- */

static const zt_assess_question questions[ZT_Q_COUNT] = {
    [ZT_Q_DATA_CLASSIFICATION] = {"data.classification",
                                  ZT_PILLAR_DATA,
                                  {"none", "manual", "automated"},
                                  ASM_Q_CLASSIFICATION,
                                  {ASM_A_CLASS_NONE, ASM_A_CLASS_MANUAL, ASM_A_CLASS_AUTO}},
    [ZT_Q_DATA_BACKUPS] = {"data.backups",
                           ZT_PILLAR_DATA,
                           {"none", "offsite", "tested"},
                           ASM_Q_BACKUPS,
                           {ASM_A_BACKUP_NONE, ASM_A_BACKUP_OFFSITE, ASM_A_BACKUP_TESTED}},
    [ZT_Q_DATA_ENCRYPTION] = {"data.encryption_at_rest",
                              ZT_PILLAR_DATA,
                              {"none", "some", "all"},
                              ASM_Q_ENCRYPTION,
                              {ASM_A_ENC_NONE, ASM_A_ENC_SOME, ASM_A_ENC_ALL}},
    [ZT_Q_NET_SEGMENTATION] = {"networks.segmentation",
                               ZT_PILLAR_NETWORKS,
                               {"flat", "macro", "micro"},
                               ASM_Q_SEGMENTATION,
                               {ASM_A_SEG_FLAT, ASM_A_SEG_MACRO, ASM_A_SEG_MICRO}},
    [ZT_Q_LOG_REVIEW] = {"visibility.log_review",
                         ZT_PILLAR_VISIBILITY,
                         {"none", "manual", "automated"},
                         ASM_Q_LOG_REVIEW,
                         {ASM_A_REVIEW_NONE, ASM_A_REVIEW_MANUAL, ASM_A_REVIEW_AUTO}},
    [ZT_Q_TRAINING] = {"identity.training",
                       ZT_PILLAR_IDENTITY,
                       {"none", "yearly", "continuous"},
                       ASM_Q_TRAINING,
                       {ASM_A_TRAIN_NONE, ASM_A_TRAIN_YEARLY, ASM_A_TRAIN_CONT}},
};

const zt_assess_question *zt_assess_questions(size_t *n)
{
    *n = ZT_Q_COUNT;
    return questions;
}

const zt_assess_question *zt_assess_question_find(const char *key, zt_assess_q *id_out)
{
    for (size_t i = 0; key != NULL && i < ZT_Q_COUNT; i++)
        if (strcmp(questions[i].key, key) == 0) {
            if (id_out != NULL)
                *id_out = (zt_assess_q)i;
            return &questions[i];
        }
    return NULL;
}

int zt_assess_answer_index(const zt_assess_question *q, const char *value)
{
    for (int i = 0; q != NULL && value != NULL && i < ZT_ASSESS_Q_VALUES; i++)
        if (strcmp(q->values[i], value) == 0)
            return i;
    return -1;
}

/* ---- figures ---- */

/* Fill template tpl: "{N}" is argument N (text, or a message in lang when it has one). */
static void fill(const zt_assess_check *ck, const char *tpl, zt_lang lang, char *out, size_t cap)
{
    size_t at = 0;
    for (const char *p = tpl; *p != '\0' && at + 1 < cap; p++) {
        const char *piece = NULL;
        char one[2] = {*p, '\0'};
        if (p[0] == '{' && p[1] >= '0' && p[1] < '0' + ZT_ASSESS_FIG_ARGS && p[2] == '}') {
            int i = p[1] - '0';
            piece = ck->fig_arg_msg[i] != MSG_NONE ? zt_msg_text(lang, ck->fig_arg_msg[i])
                                                   : ck->fig_args[i];
            p += 2;
        } else {
            piece = one;
        }
        int n = snprintf(out + at, cap - at, "%s", piece);
        at += n > 0 ? (size_t)n : 0;
        at = at < cap ? at : cap - 1;
    }
    out[at < cap ? at : cap - 1] = '\0';
}

void zt_assess_figure(const zt_assess_check *ck, zt_lang lang, char *out, size_t cap)
{
    if (cap == 0)
        return;
    if (ck->fig_msg == MSG_NONE)
        snprintf(out, cap, "%s", ck->figure);
    else
        fill(ck, zt_msg_text(lang, ck->fig_msg), lang, out, cap);
}

/* Set the figure: template id and up to five numbers; the English text kept for JSON. */
static void figure_n(zt_assess_check *ck, zt_msg tpl, int n, const uint64_t *v)
{
    ck->fig_msg = tpl;
    for (int i = 0; i < ZT_ASSESS_FIG_ARGS; i++) {
        ck->fig_arg_msg[i] = MSG_NONE;
        ck->fig_args[i][0] = '\0';
        if (i < n)
            snprintf(ck->fig_args[i], sizeof(ck->fig_args[i]), "%llu", (unsigned long long)v[i]);
    }
    fill(ck, zt_msg_text(ZT_LANG_EN, tpl), ZT_LANG_EN, ck->figure, sizeof(ck->figure));
}

/* what: a template "{0}/{1} ... ({2})" (part, whole, percent). */
static void share(zt_assess_check *ck, uint64_t part, uint64_t whole, zt_msg what)
{
    unsigned pct = whole > 0 ? (unsigned)(part * 100 / whole) : 0;
    uint64_t v[2] = {part, whole};
    figure_n(ck, what, 2, v);
    snprintf(ck->fig_args[2], sizeof(ck->fig_args[2]), "%u%%", pct);
    fill(ck, zt_msg_text(ZT_LANG_EN, what), ZT_LANG_EN, ck->figure, sizeof(ck->figure));
}

/* what: a template with "{0}". */
static void count(zt_assess_check *ck, uint64_t n, zt_msg what)
{
    figure_n(ck, what, 1, &n);
}

static void word(zt_assess_check *ck, zt_msg w)
{
    figure_n(ck, w, 0, NULL);
}

/* part/whole >= pct% (whole 0 never meets it). */
static bool at_least(uint64_t part, uint64_t whole, unsigned pct)
{
    return whole > 0 && part * 100 >= (uint64_t)pct * whole;
}

static bool unmeasured(zt_assess_check *ck, bool ok)
{
    if (ok)
        return false;
    ck->measured = false;
    word(ck, ASM_NOT_MEASURED);
    return true;
}

static bool answered(const zt_assess_facts *f, zt_assess_check *ck, zt_assess_q q, int need)
{
    int a = f->answers[q];
    word(ck, ASM_F_ANSWER);
    snprintf(ck->fig_args[0], sizeof(ck->fig_args[0]), "%s", questions[q].key);
    ck->fig_arg_msg[1] = a < 0 ? ASM_NOT_ANSWERED : questions[q].value_text[a];
    fill(ck, zt_msg_text(ZT_LANG_EN, ASM_F_ANSWER), ZT_LANG_EN, ck->figure, sizeof(ck->figure));
    return a >= need;
}

/* ---- the snippets (every one is loaded by tests/unit/test_assess.c) ---- */

#define SNIP_MFA_REQUIRED "auth:\n  mfa: required\n"
#define SNIP_PASSKEYS_ON "auth:\n  passkeys: true\n"
#define SNIP_RISK_POLICIES                                                                         \
    "policies:\n"                                                                                  \
    "  - name: risky-sign-in-mfa\n"                                                                \
    "    users: {include: [all]}\n"                                                                \
    "    apps: {include: [all]}\n"                                                                 \
    "    conditions:\n"                                                                            \
    "      sign_in_risk: [medium, high]\n"                                                         \
    "    grant:\n"                                                                                 \
    "      controls: [mfa]\n"                                                                      \
    "  - name: risky-user-password-change\n"                                                       \
    "    users: {include: [all]}\n"                                                                \
    "    apps: {include: [all]}\n"                                                                 \
    "    conditions:\n"                                                                            \
    "      user_risk: [high]\n"                                                                    \
    "    grant:\n"                                                                                 \
    "      controls: [mfa, password_change]\n"
#define SNIP_PR_REPORT_ONLY                                                                        \
    "policies:\n"                                                                                  \
    "  - name: passkeys-everywhere\n"                                                              \
    "    state: report_only   # see who would be asked, then set state: on\n"                      \
    "    users: {include: [all], exclude: [group:breakglass]}\n"                                   \
    "    apps: {include: [all]}\n"                                                                 \
    "    grant:\n"                                                                                 \
    "      controls: [phishing_resistant_mfa]\n"
#define SNIP_PR_ON                                                                                 \
    "policies:\n"                                                                                  \
    "  - name: passkeys-everywhere\n"                                                              \
    "    state: on\n"                                                                              \
    "    users: {include: [all], exclude: [group:breakglass]}\n"                                   \
    "    apps: {include: [all]}\n"                                                                 \
    "    grant:\n"                                                                                 \
    "      controls: [phishing_resistant_mfa]\n"
#define SNIP_FREQUENCY                                                                             \
    "policies:\n"                                                                                  \
    "  - name: reauth-sensitive\n"                                                                 \
    "    users: {include: [all]}\n"                                                                \
    "    apps: {include: [sensitivity:confidential, sensitivity:restricted]}\n"                    \
    "    session:\n"                                                                               \
    "      sign_in_frequency: 8h\n"
#define SNIP_DEVICE_RULES                                                                          \
    "devices:\n"                                                                                   \
    "  require_disk_encryption: true\n"                                                            \
    "  require_firewall: true\n"                                                                   \
    "  max_update_age: 720h\n"
#define SNIP_COMPLIANT_SENSITIVE                                                                   \
    "policies:\n"                                                                                  \
    "  - name: compliant-device-sensitive\n"                                                       \
    "    users: {include: [all]}\n"                                                                \
    "    apps: {include: [sensitivity:confidential, sensitivity:restricted]}\n"                    \
    "    grant:\n"                                                                                 \
    "      controls: [compliant_device]\n"
#define SNIP_COMPLIANT_ALL                                                                         \
    "policies:\n"                                                                                  \
    "  - name: compliant-device-all\n"                                                             \
    "    state: report_only   # see who would be refused, then set state: on\n"                    \
    "    users: {include: [all], exclude: [group:breakglass]}\n"                                   \
    "    apps: {include: [all]}\n"                                                                 \
    "    grant:\n"                                                                                 \
    "      controls: [compliant_device]\n"
#define SNIP_DEVICE_RISK                                                                           \
    "policies:\n"                                                                                  \
    "  - name: block-risky-devices\n"                                                              \
    "    users: {include: [all]}\n"                                                                \
    "    apps: {include: [all]}\n"                                                                 \
    "    conditions:\n"                                                                            \
    "      device: {risk: [high]}\n"                                                               \
    "    grant:\n"                                                                                 \
    "      block: true\n"
#define SNIP_LISTENER_TLS                                                                          \
    "gateway:\n"                                                                                   \
    "  listen:\n"                                                                                  \
    "    - address: 0.0.0.0:443\n"                                                                 \
    "      tls:\n"                                                                                 \
    "        cert: /etc/ztgate/tls/gateway-cert.pem\n"                                             \
    "        key: /etc/ztgate/tls/gateway-key.pem\n"
#define SNIP_MFA_ALL_APPS                                                                          \
    "policies:\n"                                                                                  \
    "  - name: mfa-all-apps\n"                                                                     \
    "    users: {include: [all], exclude: [group:breakglass]}\n"                                   \
    "    apps: {include: [all]}\n"                                                                 \
    "    grant:\n"                                                                                 \
    "      controls: [mfa]\n"
#define SNIP_PROTECT_DATA                                                                          \
    "policies:\n"                                                                                  \
    "  - name: protect-confidential-data\n"                                                        \
    "    users: {include: [all]}\n"                                                                \
    "    apps: {include: [sensitivity:confidential, sensitivity:restricted]}\n"                    \
    "    grant:\n"                                                                                 \
    "      controls: [compliant_device]\n"                                                         \
    "    session:\n"                                                                               \
    "      restrict: [no_download]\n"
#define SNIP_AUDIT_ON "audit:\n  path: /var/lib/ztgate/audit/audit.log\n"
#define SNIP_FAIL_CLOSED "audit:\n  on_audit_failure: fail_closed\n"
#define SNIP_SIEM                                                                                  \
    "audit:\n"                                                                                     \
    "  export:\n"                                                                                  \
    "    - name: siem\n"                                                                           \
    "      type: cef\n"                                                                            \
    "      transport: tcp\n"                                                                       \
    "      address: 192.0.2.10:6514\n"
#define SNIP_FEEDS                                                                                 \
    "risk:\n"                                                                                      \
    "  anonymous_ips:\n"                                                                           \
    "    - {path: /var/lib/ztgate/feeds/tor-exit-addresses.txt, source: tor}\n"                    \
    "  malicious_ips:\n"                                                                           \
    "    - {path: /var/lib/ztgate/feeds/blocklist.txt, source: soc}\n"                             \
    "  leaked_credentials: /var/lib/ztgate/feeds/leaked-pairs.txt\n"
#define SNIP_SESSIONS "auth:\n  session_idle_timeout: 1h\n  session_lifetime: 12h\n"
#define SNIP_PLAYBOOK                                                                              \
    "playbooks:\n"                                                                                 \
    "  - name: stolen-password\n"                                                                  \
    "    on: {types: [impossible_travel, leaked_credentials, admin_confirmed_compromised]}\n"      \
    "    actions: [revoke_sessions, require_password_change, open_incident]\n"
#define SNIP_CONTAIN                                                                               \
    "playbooks:\n"                                                                                 \
    "  - name: compromised-device\n"                                                               \
    "    on: {types: [malware, device_noncompliant], min_severity: medium}\n"                      \
    "    actions: [isolate_device, open_incident]\n"                                               \
    "    undo_on_remediation: true\n"
#define SNIP_NOTIFY "incidents:\n  notify:\n    url: \"https://hooks.example.org/ztgate\"\n"
#define SNIP_SCIM "scim:\n  token_file: /var/lib/ztgate/scim.token\n"
#define SNIP_AUTO_ALL                                                                              \
    "playbooks:\n"                                                                                 \
    "  - name: contain-high-risk\n"                                                                \
    "    on: {min_severity: high}\n"                                                               \
    "    actions: [revoke_sessions, open_incident]\n"                                              \
    "    undo_on_remediation: true\n"

static void fix(zt_assess_check *ck, const char *text)
{
    snprintf(ck->fix, sizeof(ck->fix), "%s", text);
}

static void fix_answer(zt_assess_check *ck, zt_assess_q q, int need)
{
    snprintf(ck->fix, sizeof(ck->fix), "ztgate assess answer %s %s", questions[q].key,
             questions[q].values[need]);
}

/* ---- the judges: met or not, the figure, and the fix when unmet ---- */

static bool j_mfa_half(const zt_assess_facts *f, zt_assess_check *ck)
{
    /* required already: users enrol at their next sign-in; find who never comes */
    fix(ck, f->mfa_required ? "ztgate user inactive --days 30" : SNIP_MFA_REQUIRED);
    if (unmeasured(ck, f->store_ok))
        return false;
    share(ck, f->users_mfa, f->users, ASM_F_USERS_MFA);
    return at_least(f->users_mfa, f->users, 50);
}

static bool j_mfa_all(const zt_assess_facts *f, zt_assess_check *ck)
{
    if (f->mfa_required) /* they enrol at their next sign-in: find who never comes */
        fix(ck, "ztgate user inactive --days 30");
    else
        fix(ck, SNIP_MFA_REQUIRED);
    if (unmeasured(ck, f->store_ok))
        return false;
    share(ck, f->users_mfa, f->users, ASM_F_USERS_MFA);
    return at_least(f->users_mfa, f->users, 95);
}

static bool j_risk_policy(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_RISK_POLICIES);
    count(ck, f->risk_policies, ASM_F_RISK_POLICIES);
    return f->risk_policies > 0;
}

static bool j_passkey_some(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, f->passkeys_enabled ? "ztgate user tap EMAIL --lifetime 1h" : SNIP_PASSKEYS_ON);
    if (!f->passkeys_enabled) {
        word(ck, ASM_F_PASSKEYS_OFF);
        return false;
    }
    if (unmeasured(ck, f->store_ok))
        return false;
    share(ck, f->users_passkey, f->users, ASM_F_USERS_PASSKEY);
    return f->users_passkey > 0;
}

static bool j_passkey_all(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_PR_REPORT_ONLY);
    if (unmeasured(ck, f->store_ok))
        return false;
    share(ck, f->users_passkey, f->users, ASM_F_USERS_PASSKEY);
    return at_least(f->users_passkey, f->users, 95);
}

static bool j_pr_policy(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_PR_ON);
    share(ck, f->apps_pr_mfa, f->apps, ASM_F_APPS_PR);
    return f->apps > 0 && f->apps_pr_mfa == f->apps;
}

static bool j_continuous(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_FREQUENCY);
    count(ck, f->frequency_policies, ASM_F_FREQUENCY);
    return f->frequency_policies > 0;
}

static bool j_admins(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, "ztgate admin add EMAIL --role global_admin");
    if (unmeasured(ck, f->store_ok))
        return false;
    count(ck, f->admins, ASM_F_ADMINS);
    return f->admins > 0;
}

static bool j_training(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_TRAINING, 1);
    return answered(f, ck, ZT_Q_TRAINING, 1);
}

static bool j_dev_enrolled(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, "ztgate device enroll-code --user EMAIL");
    if (unmeasured(ck, f->store_ok))
        return false;
    count(ck, f->devices, ASM_F_DEVICES);
    return f->devices > 0;
}

static bool j_dev_rules(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_DEVICE_RULES);
    count(ck, f->device_rules, ASM_F_DEVICE_RULES);
    return f->device_rules > 0;
}

static bool j_dev_compliant(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, "ztgate device list");
    if (unmeasured(ck, f->store_ok))
        return false;
    share(ck, f->devices_compliant, f->devices, ASM_F_DEVICES_COMPLIANT);
    return at_least(f->devices_compliant, f->devices, 80);
}

static bool j_dev_policy_some(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_COMPLIANT_SENSITIVE);
    share(ck, f->apps_compliant, f->apps, ASM_F_APPS_COMPLIANT);
    return f->apps_compliant > 0;
}

static bool j_dev_policy_all(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_COMPLIANT_ALL);
    share(ck, f->apps_compliant, f->apps, ASM_F_APPS_COMPLIANT);
    return f->apps > 0 && f->apps_compliant == f->apps;
}

static bool j_dev_risk(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_DEVICE_RISK);
    count(ck, f->device_risk_policies, ASM_F_DEVICE_RISK);
    return f->device_risk_policies > 0;
}

static bool j_listener_tls(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_LISTENER_TLS);
    share(ck, f->listeners_tls, f->listeners, ASM_F_LISTENERS_TLS);
    return f->listeners > 0 && f->listeners_tls == f->listeners;
}

static bool j_segmentation(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_NET_SEGMENTATION, 1);
    return answered(f, ck, ZT_Q_NET_SEGMENTATION, 1);
}

static bool j_upstream_tls(const zt_assess_facts *f, zt_assess_check *ck)
{
    /* the same host and port over TLS (the app must then serve TLS there) */
    const char *rest = strncmp(f->plain_upstream, "http://", 7) == 0 ? f->plain_upstream + 7 : "";
    if (f->plain_app[0] != '\0')
        snprintf(ck->fix, sizeof(ck->fix),
                 "apps:\n  - name: %s   # upstream was %s\n    upstream: https://%s\n"
                 "    upstream_tls:\n      tls_min: \"1.3\"\n",
                 f->plain_app, f->plain_upstream, rest);
    share(ck, f->upstreams_tls, f->upstreams, ASM_F_UPSTREAMS_TLS);
    return f->upstreams_tls == f->upstreams;
}

static bool j_micro(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_NET_SEGMENTATION, 2);
    return answered(f, ck, ZT_Q_NET_SEGMENTATION, 2);
}

static bool j_mtls(const zt_assess_facts *f, zt_assess_check *ck)
{
    if (f->nomtls_app[0] != '\0')
        snprintf(ck->fix, sizeof(ck->fix),
                 "apps:\n  - name: %s\n    upstream: %s\n    upstream_tls:\n"
                 "      client_cert: /etc/ztgate/upstream-client.pem\n"
                 "      client_key: /etc/ztgate/upstream-client.key\n",
                 f->nomtls_app, f->nomtls_upstream);
    else if (f->plain_app[0] != '\0')
        snprintf(ck->fix, sizeof(ck->fix), "%s",
                 "# first move every upstream to https:// (see networks.upstream_tls)\n");
    share(ck, f->upstreams_mtls, f->upstreams, ASM_F_UPSTREAMS_MTLS);
    return f->upstreams_mtls == f->upstreams; /* no proxied upstream: nothing to hold against */
}

static bool j_app_policy(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_MFA_ALL_APPS);
    share(ck, f->apps_policy, f->apps, ASM_F_APPS_POLICY);
    return f->apps_policy > 0;
}

static bool j_app_mfa(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_MFA_ALL_APPS);
    share(ck, f->apps_mfa, f->apps, ASM_F_APPS_MFA);
    return f->apps > 0 && f->apps_mfa == f->apps;
}

static bool j_report_only(const zt_assess_facts *f, zt_assess_check *ck)
{
    count(ck, f->policies_report_only, ASM_F_REPORT_ONLY);
    size_t at = 0;
    ck->fix[0] = '\0';
    for (size_t i = 0; i < f->n_report_only_names && at < sizeof(ck->fix); i++) {
        int n = snprintf(ck->fix + at, sizeof(ck->fix) - at,
                         "# %s:%u, policy %s: check its report-only impact, then\n"
                         "#   state: report_only  ->  state: on\n",
                         f->config_path != NULL ? f->config_path : "config",
                         f->report_only_lines[i], f->report_only_names[i]);
        at += n > 0 ? (size_t)n : 0;
    }
    return f->policies_report_only == 0;
}

static bool j_app_risk(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_RISK_POLICIES);
    share(ck, f->apps_risk, f->apps, ASM_F_APPS_RISK);
    return f->apps > 0 && f->apps_risk == f->apps;
}

static bool j_labels(const zt_assess_facts *f, zt_assess_check *ck)
{
    if (f->label_app[0] != '\0')
        snprintf(
            ck->fix, sizeof(ck->fix),
            "apps:\n  - name: %s\n    upstream: %s\n"
            "    sensitivity: confidential   # public | internal | confidential | restricted\n",
            f->label_app, f->label_upstream);
    else
        fix(ck, "# give each app in apps: a sensitivity: public | internal | confidential | "
                "restricted\n");
    share(ck, f->apps_labelled, f->apps, ASM_F_APPS_LABELLED);
    return f->apps_labelled > 0;
}

static bool j_classification(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_DATA_CLASSIFICATION, 1);
    return answered(f, ck, ZT_Q_DATA_CLASSIFICATION, 1);
}

static bool j_backups(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_DATA_BACKUPS, 1);
    return answered(f, ck, ZT_Q_DATA_BACKUPS, 1);
}

static bool j_data_protected(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_PROTECT_DATA);
    share(ck, f->apps_sensitive_protected, f->apps_sensitive, ASM_F_SENSITIVE_PROTECTED);
    return f->apps_sensitive > 0 && f->apps_sensitive_protected == f->apps_sensitive;
}

static bool j_encryption(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_DATA_ENCRYPTION, 2);
    return answered(f, ck, ZT_Q_DATA_ENCRYPTION, 2);
}

static bool j_backups_tested(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_DATA_BACKUPS, 2);
    return answered(f, ck, ZT_Q_DATA_BACKUPS, 2);
}

static bool j_classification_auto(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_DATA_CLASSIFICATION, 2);
    return answered(f, ck, ZT_Q_DATA_CLASSIFICATION, 2);
}

static bool j_audit_on(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_AUDIT_ON);
    word(ck, f->audit_on ? ASM_F_AUDIT_ON : ASM_F_AUDIT_OFF);
    return f->audit_on;
}

static bool j_fail_closed(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_FAIL_CLOSED);
    word(ck, f->audit_fail_closed ? ASM_F_FAIL_CLOSED : ASM_F_FAIL_OPEN);
    return f->audit_on && f->audit_fail_closed;
}

static bool j_log_review(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_LOG_REVIEW, 1);
    return answered(f, ck, ZT_Q_LOG_REVIEW, 1);
}

static bool j_siem(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_SIEM);
    count(ck, f->exports, ASM_F_SIEM);
    return f->audit_on && f->exports > 0;
}

static bool j_feeds(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_FEEDS);
    count(ck, f->feeds, ASM_F_FEEDS);
    return f->feeds > 0;
}

static bool j_triage(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, "ztgate risk list --state at_risk");
    if (unmeasured(ck, f->store_ok))
        return false;
    uint64_t v[2] = {f->detections_open, f->detections_stale};
    figure_n(ck, ASM_F_TRIAGE, 2, v);
    return f->detections_stale == 0;
}

static bool j_fatigue(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, f->passkeys_enabled ? SNIP_SESSIONS : SNIP_PASSKEYS_ON);
    if (unmeasured(ck, f->audit_read))
        return false;
    uint64_t v[5] = {0, f->mfa_prompts, f->users_prompted, f->mfa_max_per_user_day, f->window_days};
    figure_n(ck, ASM_F_FATIGUE, 5, v);
    snprintf(ck->fig_args[0], sizeof(ck->fig_args[0]), "%.2f", f->prompts_per_user_day);
    fill(ck, zt_msg_text(ZT_LANG_EN, ASM_F_FATIGUE), ZT_LANG_EN, ck->figure, sizeof(ck->figure));
    return f->mfa_prompts > 0 && f->prompts_per_user_day <= 3.0;
}

static bool j_review_auto(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix_answer(ck, ZT_Q_LOG_REVIEW, 2);
    return answered(f, ck, ZT_Q_LOG_REVIEW, 2);
}

static bool j_playbook(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_PLAYBOOK);
    count(ck, f->playbooks, ASM_F_PLAYBOOKS);
    return f->playbooks > 0;
}

static bool j_contain(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_CONTAIN);
    count(ck, f->playbooks_contain, ASM_F_PLAYBOOKS_CONTAIN);
    return f->playbooks_contain > 0;
}

static bool j_notify(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_NOTIFY);
    word(ck, f->notify ? ASM_F_NOTIFY_SET : ASM_F_NOTIFY_UNSET);
    return f->notify;
}

static bool j_provisioning(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_SCIM);
    word(ck, f->provisioning ? ASM_F_PROVISIONING_ON : ASM_F_PROVISIONING_OFF);
    return f->provisioning;
}

static bool j_auto_share(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_AUTO_ALL);
    if (unmeasured(ck, f->store_ok))
        return false;
    /* the store's incident timelines, or the audit log's count when it saw more */
    uint64_t aut =
        f->responses_auto > f->responses_auto_logged ? f->responses_auto : f->responses_auto_logged;
    uint64_t man = f->responses_manual > f->responses_manual_logged ? f->responses_manual
                                                                    : f->responses_manual_logged;
    share(ck, aut, aut + man, ASM_F_RESPONSES_AUTO);
    return aut > 0 && aut >= man;
}

static bool j_remediation(const zt_assess_facts *f, zt_assess_check *ck)
{
    fix(ck, SNIP_RISK_POLICIES);
    if (unmeasured(ck, f->store_ok))
        return false;
    if (f->remediation_median_s < 0) {
        count(ck, f->detections_open_high, ASM_F_NO_REMEDIATION);
    } else {
        uint64_t v[3] = {(uint64_t)(f->remediation_median_s / 60), f->detections_closed,
                         f->detections_open_high};
        figure_n(ck, ASM_F_REMEDIATION, 3, v);
    }
    return f->remediation_median_s >= 0 && f->remediation_median_s <= 3600 &&
           f->detections_open_high == 0;
}

/* ---- the table ---- */

#define SRC_STORE_MFA "store: users, totp_credentials, webauthn_credentials"
#define SRC_POLICIES "config: policies (enforced, for all users, no condition)"
#define SRC_ANSWER "questionnaire (ztgate assess answer)"

#define R(id, p, s, w, t, m, k, src, fn)                                                           \
    {                                                                                              \
        id, ZT_PILLAR_##p, ZT_STAGE_##s, w, t, m, ZT_FIX_##k, src, fn                              \
    }

static const zt_assess_criterion rows[] = {
    R("identity.mfa_half", IDENTITY, INITIAL, 90, ASM_C_MFA_HALF, ASM_M_MFA_HALF, CONFIG,
      SRC_STORE_MFA, j_mfa_half),
    R("identity.training", IDENTITY, INITIAL, 30, ASM_C_TRAINING, ASM_M_TRAINING, ANSWER,
      SRC_ANSWER, j_training),
    R("identity.mfa_all", IDENTITY, ADVANCED, 85, ASM_C_MFA_ALL, ASM_M_MFA_ALL, CONFIG,
      SRC_STORE_MFA " (auth.mfa)", j_mfa_all),
    R("identity.risk_policy", IDENTITY, ADVANCED, 70, ASM_C_RISK_POLICY, ASM_M_RISK_POLICY, CONFIG,
      "config: policies (conditions.user_risk, sign_in_risk)", j_risk_policy),
    R("identity.named_admins", IDENTITY, ADVANCED, 65, ASM_C_ADMINS, ASM_M_ADMINS, COMMAND,
      "store: admin_roles", j_admins),
    R("identity.passkey_some", IDENTITY, ADVANCED, 60, ASM_C_PASSKEY_SOME, ASM_M_PASSKEY_SOME,
      COMMAND, "config: auth.passkeys; store: webauthn_credentials", j_passkey_some),
    R("identity.passkey_all", IDENTITY, OPTIMAL, 55, ASM_C_PASSKEY_ALL, ASM_M_PASSKEY_ALL, CONFIG,
      SRC_STORE_MFA, j_passkey_all),
    R("identity.pr_policy", IDENTITY, OPTIMAL, 50, ASM_C_PR_POLICY, ASM_M_PR_POLICY, CONFIG,
      SRC_POLICIES, j_pr_policy),
    R("identity.continuous", IDENTITY, OPTIMAL, 30, ASM_C_CONTINUOUS, ASM_M_CONTINUOUS, CONFIG,
      "config: policies (session.sign_in_frequency)", j_continuous),

    R("devices.enrolled", DEVICES, INITIAL, 85, ASM_C_DEV_ENROLLED, ASM_M_DEV_ENROLLED, COMMAND,
      "store: devices (not revoked)", j_dev_enrolled),
    R("devices.rules", DEVICES, INITIAL, 75, ASM_C_DEV_RULES, ASM_M_DEV_RULES, CONFIG,
      "config: devices (posture rules)", j_dev_rules),
    R("devices.compliant", DEVICES, ADVANCED, 70, ASM_C_DEV_COMPLIANT, ASM_M_DEV_COMPLIANT, COMMAND,
      "store: devices.compliant", j_dev_compliant),
    R("devices.policy_some", DEVICES, ADVANCED, 80, ASM_C_DEV_POLICY_SOME, ASM_M_DEV_POLICY_SOME,
      CONFIG, SRC_POLICIES " (grant.controls: compliant_device)", j_dev_policy_some),
    R("devices.policy_all", DEVICES, OPTIMAL, 60, ASM_C_DEV_POLICY_ALL, ASM_M_DEV_POLICY_ALL,
      CONFIG, SRC_POLICIES " (grant.controls: compliant_device)", j_dev_policy_all),
    R("devices.risk_policy", DEVICES, OPTIMAL, 50, ASM_C_DEV_RISK, ASM_M_DEV_RISK, CONFIG,
      "config: policies (conditions.device.risk)", j_dev_risk),

    R("networks.listener_tls", NETWORKS, INITIAL, 90, ASM_C_LISTENER_TLS, ASM_M_LISTENER_TLS,
      CONFIG, "config: gateway.listen[].tls", j_listener_tls),
    R("networks.segmentation", NETWORKS, INITIAL, 50, ASM_C_SEGMENTATION, ASM_M_SEGMENTATION,
      ANSWER, SRC_ANSWER, j_segmentation),
    R("networks.upstream_tls", NETWORKS, ADVANCED, 75, ASM_C_UPSTREAM_TLS, ASM_M_UPSTREAM_TLS,
      CONFIG, "config: apps[].upstream", j_upstream_tls),
    R("networks.micro_segmentation", NETWORKS, OPTIMAL, 40, ASM_C_MICRO, ASM_M_MICRO, ANSWER,
      SRC_ANSWER, j_micro),
    R("networks.mtls", NETWORKS, OPTIMAL, 50, ASM_C_MTLS, ASM_M_MTLS, CONFIG,
      "config: apps[].upstream_tls.client_cert", j_mtls),

    R("applications.policy", APPLICATIONS, INITIAL, 95, ASM_C_APP_POLICY, ASM_M_APP_POLICY, CONFIG,
      SRC_POLICIES, j_app_policy),
    R("applications.mfa_all", APPLICATIONS, ADVANCED, 85, ASM_C_APP_MFA, ASM_M_APP_MFA, CONFIG,
      SRC_POLICIES " (grant.controls: mfa)", j_app_mfa),
    R("applications.report_only", APPLICATIONS, ADVANCED, 65, ASM_C_REPORT_ONLY, ASM_M_REPORT_ONLY,
      CONFIG, "config: policies[].state", j_report_only),
    R("applications.risk_all", APPLICATIONS, OPTIMAL, 45, ASM_C_APP_RISK, ASM_M_APP_RISK, CONFIG,
      "config: policies (risk conditions, apps)", j_app_risk),

    R("data.labels", DATA, INITIAL, 70, ASM_C_LABELS, ASM_M_LABELS, CONFIG,
      "config: apps[].sensitivity", j_labels),
    R("data.classification", DATA, INITIAL, 60, ASM_C_CLASSIFICATION, ASM_M_CLASSIFICATION, ANSWER,
      SRC_ANSWER, j_classification),
    R("data.backups", DATA, INITIAL, 65, ASM_C_BACKUPS, ASM_M_BACKUPS, ANSWER, SRC_ANSWER,
      j_backups),
    R("data.protected", DATA, ADVANCED, 70, ASM_C_DATA_PROTECTED, ASM_M_DATA_PROTECTED, CONFIG,
      "config: policies (compliant_device, session.restrict) for sensitive apps", j_data_protected),
    R("data.encryption", DATA, ADVANCED, 50, ASM_C_ENCRYPTION, ASM_M_ENCRYPTION, ANSWER, SRC_ANSWER,
      j_encryption),
    R("data.backups_tested", DATA, ADVANCED, 45, ASM_C_BACKUPS_TESTED, ASM_M_BACKUPS_TESTED, ANSWER,
      SRC_ANSWER, j_backups_tested),
    R("data.classification_auto", DATA, OPTIMAL, 30, ASM_C_CLASS_AUTO, ASM_M_CLASS_AUTO, ANSWER,
      SRC_ANSWER, j_classification_auto),

    R("visibility.audit", VISIBILITY, INITIAL, 100, ASM_C_AUDIT_ON, ASM_M_AUDIT_ON, CONFIG,
      "config: audit.path", j_audit_on),
    R("visibility.fail_closed", VISIBILITY, INITIAL, 60, ASM_C_FAIL_CLOSED, ASM_M_FAIL_CLOSED,
      CONFIG, "config: audit.on_audit_failure", j_fail_closed),
    R("visibility.log_review", VISIBILITY, INITIAL, 50, ASM_C_LOG_REVIEW, ASM_M_LOG_REVIEW, ANSWER,
      SRC_ANSWER, j_log_review),
    R("visibility.siem", VISIBILITY, ADVANCED, 80, ASM_C_SIEM, ASM_M_SIEM, CONFIG,
      "config: audit.export", j_siem),
    R("visibility.feeds", VISIBILITY, ADVANCED, 60, ASM_C_FEEDS, ASM_M_FEEDS, CONFIG,
      "config: risk (feeds, GeoIP)", j_feeds),
    R("visibility.triage", VISIBILITY, ADVANCED, 55, ASM_C_TRIAGE, ASM_M_TRIAGE, COMMAND,
      "store: risk_detections (state at_risk)", j_triage),
    R("visibility.mfa_prompts", VISIBILITY, OPTIMAL, 40, ASM_C_FATIGUE, ASM_M_FATIGUE, CONFIG,
      "audit log: Authentication records with is_mfa, over the window", j_fatigue),
    R("visibility.review_auto", VISIBILITY, OPTIMAL, 35, ASM_C_REVIEW_AUTO, ASM_M_REVIEW_AUTO,
      ANSWER, SRC_ANSWER, j_review_auto),

    R("automation.playbook", AUTOMATION, INITIAL, 90, ASM_C_PLAYBOOK, ASM_M_PLAYBOOK, CONFIG,
      "config: playbooks", j_playbook),
    R("automation.containment", AUTOMATION, ADVANCED, 80, ASM_C_CONTAIN, ASM_M_CONTAIN, CONFIG,
      "config: playbooks[].actions", j_contain),
    R("automation.notify", AUTOMATION, ADVANCED, 50, ASM_C_NOTIFY, ASM_M_NOTIFY, CONFIG,
      "config: incidents.notify", j_notify),
    R("automation.provisioning", AUTOMATION, ADVANCED, 55, ASM_C_PROVISIONING, ASM_M_PROVISIONING,
      CONFIG, "config: scim, ldap_directories[].sync_interval", j_provisioning),
    R("automation.auto_share", AUTOMATION, OPTIMAL, 45, ASM_C_AUTO_SHARE, ASM_M_AUTO_SHARE, CONFIG,
      "store: incident_events (playbook actions vs admin)", j_auto_share),
    R("automation.remediation", AUTOMATION, OPTIMAL, 40, ASM_C_REMEDIATION, ASM_M_REMEDIATION,
      CONFIG, "store: risk_detections (closed: updated_at - created_at)", j_remediation),
};

#define N_ROWS (sizeof(rows) / sizeof(rows[0]))
_Static_assert(N_ROWS <= ZT_ASSESS_CHECKS_MAX, "room for every criterion");

/* ---- the judgement ---- */

static zt_stage pillar_stage(const zt_assess_result *r, zt_pillar p)
{
    zt_stage reached = ZT_STAGE_OPTIMAL;
    for (size_t i = 0; i < r->n_checks; i++) {
        const zt_assess_check *ck = &r->checks[i];
        if (ck->c->pillar == p && !ck->met && (int)ck->c->stage - 1 < (int)reached)
            reached = (zt_stage)(ck->c->stage - 1);
    }
    return reached;
}

/* Rank of an unmet check: the stages it is away from lifting its pillar (1 = it is needed for
 * the next stage), then the pillar's stage (weakest first), then the weight (higher first). */
static long rank_key(const zt_assess_result *r, size_t i)
{
    const zt_assess_check *ck = &r->checks[i];
    long gap = (long)ck->c->stage - (long)r->stage[ck->c->pillar];
    return gap * 100000L + (long)r->stage[ck->c->pillar] * 1000L + (100L - (long)ck->c->weight);
}

static void rank(zt_assess_result *r)
{
    r->n_ranked = 0;
    for (size_t i = 0; i < r->n_checks; i++)
        if (!r->checks[i].met)
            r->ranked[r->n_ranked++] = i;
    /* insertion sort: stable, so equal keys keep the table's order */
    for (size_t a = 1; a < r->n_ranked; a++) {
        size_t v = r->ranked[a];
        long k = rank_key(r, v);
        size_t b = a;
        while (b > 0 && rank_key(r, r->ranked[b - 1]) > k) {
            r->ranked[b] = r->ranked[b - 1];
            b--;
        }
        r->ranked[b] = v;
    }
}

void zt_assess_evaluate(const zt_assess_facts *f, zt_assess_result *out)
{
    memset(out, 0, sizeof(*out));
    out->n_checks = N_ROWS;
    for (size_t i = 0; i < N_ROWS; i++) {
        zt_assess_check *ck = &out->checks[i];
        ck->c = &rows[i];
        ck->measured = true;
        ck->met = rows[i].judge(f, ck);
        if (ck->met)
            ck->fix[0] = '\0';
    }
    for (int p = 0; p < ZT_PILLAR_COUNT; p++)
        out->stage[p] = pillar_stage(out, (zt_pillar)p);
    rank(out);
}

void zt_assess_stages_string(const zt_assess_result *r, char *out)
{
    for (int p = 0; p < ZT_PILLAR_COUNT; p++)
        out[p] = (char)('0' + r->stage[p]);
    out[ZT_PILLAR_COUNT] = '\0';
}
