/* The Zero Trust assessment (`ztgate assess`, the console's /assess page; docs/ASSESSMENT.md).
 *
 * Two halves. zt_assess_gather measures: it reads the live config (compiled policies, apps,
 * devices rules, audit and response settings), the store (users with MFA and passkeys, devices,
 * detections, incidents, the questionnaire's answers) and the audit log over a window, into one
 * plain zt_assess_facts. zt_assess_evaluate is a pure function of those facts: per pillar of CISA's
 * Zero Trust Maturity Model v2 (../shared/reference/specs.md §4) it checks a fixed table of
 * criteria, each needed for one stage, and the pillar's stage is the highest stage whose
 * criteria (and those of every stage below) are all met. Every criterion carries the figure it
 * was judged on with its source, and, when unmet, the measure that meets it: a config snippet
 * (YAML naming real keys; tests/unit/test_assess.c loads every one), a `ztgate` command, or a
 * questionnaire answer. The unmet ones are ranked by effect: those that lift a pillar to its next
 * stage first, the weakest pillar first, then by the criterion's weight.
 *
 * Only what cannot be measured is asked (the questionnaire: zt_assess_questions). */
#ifndef ZT_ASSESS_ASSESS_H
#define ZT_ASSESS_ASSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/i18n.h"
#include "lib/buf.h"
#include "session/account.h"
#include "store/store.h"

typedef enum zt_pillar {
    ZT_PILLAR_IDENTITY = 0,
    ZT_PILLAR_DEVICES,
    ZT_PILLAR_NETWORKS,
    ZT_PILLAR_APPLICATIONS,
    ZT_PILLAR_DATA,
    ZT_PILLAR_VISIBILITY,
    ZT_PILLAR_AUTOMATION,
    ZT_PILLAR_COUNT,
} zt_pillar;

typedef enum zt_stage {
    ZT_STAGE_TRADITIONAL = 0,
    ZT_STAGE_INITIAL,
    ZT_STAGE_ADVANCED,
    ZT_STAGE_OPTIMAL,
    ZT_STAGE_COUNT,
} zt_stage;

_Static_assert(ZT_PILLAR_COUNT == ZT_STORE_ASSESS_PILLARS, "one history digit per pillar");

/* Stable keys (JSON, history, docs): "identity", ..., "automation"; "traditional", ... */
const char *zt_pillar_key(zt_pillar p);
const char *zt_stage_key(zt_stage s);
zt_msg zt_pillar_title(zt_pillar p);
zt_msg zt_stage_title(zt_stage s);

/* ---- the questionnaire: only what cannot be measured ---- */

typedef enum zt_assess_q {
    ZT_Q_DATA_CLASSIFICATION = 0,
    ZT_Q_DATA_BACKUPS,
    ZT_Q_DATA_ENCRYPTION,
    ZT_Q_NET_SEGMENTATION,
    ZT_Q_LOG_REVIEW,
    ZT_Q_TRAINING,
    ZT_Q_COUNT,
} zt_assess_q;

#define ZT_ASSESS_Q_VALUES 3 /* every question: three answers, worst first */

typedef struct zt_assess_question {
    const char *key;                        /* "data.backups" */
    zt_pillar pillar;                       /* where it counts */
    const char *values[ZT_ASSESS_Q_VALUES]; /* "none", "offsite", "tested" */
    zt_msg text;                            /* the question */
    zt_msg value_text[ZT_ASSESS_Q_VALUES];  /* each answer in words */
} zt_assess_question;

const zt_assess_question *zt_assess_questions(size_t *n);
/* The question of key, or NULL. */
const zt_assess_question *zt_assess_question_find(const char *key, zt_assess_q *id_out);
/* Index of value among q's answers, or -1. */
int zt_assess_answer_index(const zt_assess_question *q, const char *value);

/* ---- what was measured ---- */

#define ZT_ASSESS_NAMES_MAX 8 /* report-only policy names kept for the measure */
#define ZT_ASSESS_WINDOW_DAYS 30

typedef struct zt_assess_facts {
    int64_t now; /* Unix seconds */
    const char *config_path;

    /* config: auth, policies, apps */
    bool mfa_required, passkeys_enabled;
    unsigned apps;                     /* every app ztgate decides for */
    unsigned apps_policy;              /* named by an enforced policy for all users */
    unsigned apps_mfa, apps_pr_mfa;    /* ... that always asks MFA / phishing-resistant MFA */
    unsigned apps_compliant;           /* ... that always asks a compliant device */
    unsigned apps_sensitive;           /* confidential or restricted */
    unsigned apps_sensitive_protected; /* of them: compliant device and a session restriction */
    unsigned apps_labelled;            /* sensitivity other than the default internal */
    unsigned policies_on, policies_report_only, policies_off;
    unsigned risk_policies;        /* enforced, with a user or sign-in risk condition */
    unsigned device_risk_policies; /* enforced, with a device risk condition */
    unsigned frequency_policies;   /* enforced, with a sign-in frequency */
    unsigned apps_risk;            /* named by an enforced risk policy for all users */
    size_t n_report_only_names;
    char report_only_names[ZT_ASSESS_NAMES_MAX][65];
    unsigned report_only_lines[ZT_ASSESS_NAMES_MAX]; /* where each was declared */
    /* Examples the measures name: the first app with a plain http:// upstream, the first
     * proxied app with an https:// upstream and no client certificate, the first proxied app
     * left at the default sensitivity. "" = none. */
    char plain_app[65], plain_upstream[256];
    char nomtls_app[65], nomtls_upstream[256];
    char label_app[65], label_upstream[256];
    unsigned device_rules; /* posture rules switched on in `devices:` */
    unsigned listeners, listeners_tls;
    unsigned upstreams, upstreams_tls, upstreams_mtls; /* proxied (http) apps' upstreams */
    unsigned stream_apps;                              /* WebSocket-enabled http apps, tcp apps */
    unsigned tunnel_apps;
    bool audit_on, audit_fail_closed;
    unsigned exports, feeds;
    unsigned playbooks, playbooks_contain, playbooks_undo;
    bool notify;
    bool provisioning; /* SCIM or a scheduled LDAP sync */

    /* store */
    bool store_ok;
    uint64_t users, users_mfa, users_passkey;
    uint64_t devices, devices_compliant;
    uint64_t detections_open, detections_open_high, detections_stale; /* stale: open > 7 days */
    uint64_t detections_closed;
    int64_t remediation_median_s; /* closed detections; -1 = none closed */
    uint64_t incidents_open[4];   /* by severity 0..3 (zt_risk order) */
    uint64_t incidents_resolved;
    uint64_t responses_auto, responses_manual; /* incident timeline: playbook actions, admin */
    uint64_t admins;                           /* users holding an admin role */

    /* audit log, over the window */
    bool audit_read;
    unsigned window_days;
    uint64_t records, mfa_prompts, users_prompted, blocks, signins_ok, signins_failed;
    uint64_t detections_logged;
    uint64_t responses_auto_logged, responses_manual_logged; /* playbook actions, admins' */
    uint64_t mfa_user_days, mfa_max_per_user_day; /* user-days with a prompt; the busiest */
    double prompts_per_user_day;                  /* prompts per user-day with a prompt; 0 = none */

    /* the questionnaire: answer index, -1 = not answered */
    int answers[ZT_Q_COUNT];
} zt_assess_facts;

/* Measure. cfg is required; st may be NULL (then store_ok is false). The audit log is read from
 * cfg->audit.path over the last window_days (0 = ZT_ASSESS_WINDOW_DAYS). Never fails: what
 * cannot be read is marked unknown (store_ok, audit_read false) and the criteria needing it
 * are unmet with "not measured" as their figure. */
void zt_assess_gather(const zt_config *cfg, zt_store *st, int64_t now, unsigned window_days,
                      zt_assess_facts *out);
/* The config part alone (pure; also for tests). */
void zt_assess_gather_config(const zt_config *cfg, zt_assess_facts *f);

/* ---- the judgement ---- */

typedef enum zt_fix_kind {
    ZT_FIX_CONFIG = 0, /* a YAML snippet to merge into the config file */
    ZT_FIX_COMMAND,    /* a ztgate command */
    ZT_FIX_ANSWER,     /* a questionnaire answer (also a command: ztgate assess answer) */
} zt_fix_kind;

struct zt_assess_check;
typedef struct zt_assess_criterion {
    const char *id; /* stable: "identity.mfa_all" */
    zt_pillar pillar;
    zt_stage stage;  /* the stage it is needed for */
    unsigned weight; /* effect, 1..100: among measures of the same rank, higher first */
    zt_msg title;    /* what it asks, short */
    zt_msg measure;  /* what to do, in words */
    zt_fix_kind kind;
    const char *source; /* where the figure comes from: "store: users, totp_credentials" */
    /* met or not; writes the figure and (used only when unmet) the fix */
    bool (*judge)(const zt_assess_facts *f, struct zt_assess_check *ck);
} zt_assess_criterion;

#define ZT_ASSESS_FIGURE_MAX 160
#define ZT_ASSESS_FIX_MAX 1024
#define ZT_ASSESS_FIG_ARGS 5

typedef struct zt_assess_check {
    const zt_assess_criterion *c;
    bool met;
    bool measured;                     /* false: the source could not be read */
    char figure[ZT_ASSESS_FIGURE_MAX]; /* in English, the same whatever the language (JSON):
                                          "7/10 users with MFA (70%)" */
    /* The figure as a catalogue template ("{0}/{1} users with MFA ({2})") and its arguments:
     * language-neutral text (numbers, keys) or, when fig_arg_msg[i] is set, a message. */
    zt_msg fig_msg;
    char fig_args[ZT_ASSESS_FIG_ARGS][40];
    zt_msg fig_arg_msg[ZT_ASSESS_FIG_ARGS];
    char fix[ZT_ASSESS_FIX_MAX]; /* snippet or command; "" when met */
} zt_assess_check;

#define ZT_ASSESS_CHECKS_MAX 48

typedef struct zt_assess_result {
    zt_stage stage[ZT_PILLAR_COUNT];
    zt_assess_check checks[ZT_ASSESS_CHECKS_MAX];
    size_t n_checks;
    size_t ranked[ZT_ASSESS_CHECKS_MAX]; /* indices of unmet checks, best measure first */
    size_t n_ranked;
} zt_assess_result;

void zt_assess_evaluate(const zt_assess_facts *f, zt_assess_result *out);
/* History digits: "1201300". out holds ZT_PILLAR_COUNT + 1 bytes. */
void zt_assess_stages_string(const zt_assess_result *r, char *out);

/* ---- the changes (service.c): the same for the CLI and the console ---- */

/* Store the answer to a question and write its audit record (unmapped.operation
 * "assess.answer") naming who. -ENOENT: no such question; -EINVAL: not one of its answers (then
 * nothing is written); else a store error. *audit_rc (nullable): 0, or why the record could
 * not be written (the answer is saved all the same). */
int zt_assess_answer(const zt_account_env *env, const zt_actor *who, const char *key,
                     const char *value, int64_t now, int *audit_rc);
/* Keep a run (the stage of every pillar at `now`) and write its record ("assess.keep"). */
int zt_assess_keep(const zt_account_env *env, const zt_actor *who, const zt_assess_result *r,
                   int64_t now, int *audit_rc);

/* ---- outputs (report.c) ---- */

/* The stable JSON document (docs/ASSESSMENT.md "JSON"), into out. 0 or -ENOMEM. */
/* A check's figure in lang (the catalogue's template filled in), NUL-terminated, cut to cap. */
void zt_assess_figure(const zt_assess_check *ck, zt_lang lang, char *out, size_t cap);

int zt_assess_json(const zt_assess_facts *f, const zt_assess_result *r, zt_lang lang, zt_buf *out);
/* Plain text for a terminal. */
int zt_assess_text(const zt_assess_facts *f, const zt_assess_result *r, zt_lang lang, zt_buf *out);
/* A self-contained HTML report: no script, no outside resource, every name escaped. history
 * (nullable, oldest first) draws the trend. */
int zt_assess_html(const zt_assess_facts *f, const zt_assess_result *r, zt_lang lang,
                   const zt_store_assess_run *history, size_t n_history, zt_buf *out);
/* An SVG line chart of the stage of every pillar over the runs (oldest first): no script. */
int zt_assess_trend_svg(const zt_store_assess_run *runs, size_t n, zt_lang lang, zt_buf *out);

#endif
