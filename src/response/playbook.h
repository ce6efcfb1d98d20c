/* Response playbooks: which configured playbooks a signal matches and in what order their actions
 * run (pure functions, table-tested), and the actions themselves (revoke sessions, raise user
 * risk, isolate a device, disable a user, notify a webhook) with their undo.
 *
 * It never decides whether something is an incident (src/response/incident.c does): each action
 * returns a one-line summary for the caller's timeline and audit record. Account actions
 * (revoke_sessions, disable_user) are the account service's (session/account.h), which also
 * writes their Account Change record naming the playbook as the actor. */
#ifndef ZT_RESPONSE_PLAYBOOK_H
#define ZT_RESPONSE_PLAYBOOK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/levels.h"
#include "store/store.h"

#define ZT_PB_NAME_MAX 64     /* as ZT_CONFIG_NAME_MAX */
#define ZT_PB_TYPE_MAX 31     /* signal type: [a-z_] */
#define ZT_PB_TYPES_MAX 32    /* types per playbook (config allows 32) */
#define ZT_PB_MAX 64          /* playbooks (config allows 64) */
#define ZT_PB_STEPS_MAX 128   /* steps one signal can plan: every action of every playbook */
#define ZT_PB_SUMMARY_MAX 256 /* an action's one-line result */

typedef struct zt_webhook zt_webhook;
struct zt_risk_engine;

typedef enum zt_pb_action {
    ZT_PB_REVOKE_SESSIONS = 0,
    ZT_PB_REQUIRE_PASSWORD_CHANGE,
    ZT_PB_ISOLATE_DEVICE,
    ZT_PB_DISABLE_USER,
    ZT_PB_NOTIFY,
    ZT_PB_OPEN_INCIDENT,
    ZT_PB_N_ACTIONS,
} zt_pb_action;

/* "revoke_sessions", ...; "unknown" out of range. */
const char *zt_pb_action_name(zt_pb_action a);
bool zt_pb_action_parse(const char *s, zt_pb_action *out);
/* Actions that contain a threat: after one succeeds the incident becomes "contained". */
bool zt_pb_action_contains(zt_pb_action a);

/* One playbook, copied out of the configuration. */
typedef struct zt_playbook {
    char name[ZT_PB_NAME_MAX + 1];
    char types[ZT_PB_TYPES_MAX][ZT_PB_TYPE_MAX + 1];
    size_t n_types;         /* 0 = any type */
    unsigned severity_mask; /* 1 << zt_risk that match; every level when no rule was given */
    zt_pb_action actions[ZT_PB_N_ACTIONS];
    size_t n_actions;
    bool undo_on_remediation;
} zt_playbook;

/* Copy cfg->playbooks into out (cap ZT_PB_MAX). 0, or -EINVAL with the reason in err (an
 * action or limit the configuration schema should have refused). */
int zt_playbooks_from_config(const zt_config *cfg, zt_playbook *out, size_t cap, size_t *n,
                             char *err, size_t errlen);

/* Does a detection of `type` at `severity` start this playbook? */
bool zt_playbook_matches(const zt_playbook *pb, const char *type, zt_risk severity);

/* One planned action: playbook index and action. */
typedef struct zt_pb_step {
    size_t playbook;
    zt_pb_action action;
} zt_pb_step;

/* The actions a detection triggers, in order: playbooks in configuration order, each playbook's
 * actions as written. An action other than notify runs once per signal (the first playbook
 * naming it owns it); every matching playbook notifies. Returns the number of steps. */
size_t zt_playbook_plan(const zt_playbook *pbs, size_t n, const char *type, zt_risk severity,
                        zt_pb_step *out, size_t cap);

/* What the actions act on. Strings are borrowed; NULL or "" = not known. */
typedef struct zt_pb_target {
    const char *playbook;
    int64_t incident_id; /* 0 = no incident */
    const char *title;
    zt_risk severity;
    const char *status;
    const char *type; /* the signal's */
    const char *user_id, *email, *device_id;
    const char *summary;
    int64_t now;
} zt_pb_target;

/* Services the actions use; each is borrowed and may be NULL (that action then fails). */
typedef struct zt_pb_env {
    zt_store *store;
    struct zt_risk_engine *risk;
    const char *state_dir; /* revocation counter */
    zt_webhook *webhook;
    /* Account records of disable_user and revoke_sessions (session/account.h); nullable. */
    int (*audit)(void *ctx, const char *json, size_t len);
    void *audit_ctx;
} zt_pb_env;

typedef enum zt_pb_result {
    ZT_PB_DONE = 0,
    ZT_PB_SKIPPED, /* nothing to act on (no device, already done) */
    ZT_PB_FAILED,
} zt_pb_result;

const char *zt_pb_result_name(zt_pb_result r); /* "done", "skipped", "failed" */

/* Run one action (open_incident is the caller's: it only reports). summary gets one line
 * saying what happened. */
zt_pb_result zt_playbook_run(const zt_pb_env *env, zt_pb_action a, const zt_pb_target *t,
                             char *summary, size_t cap);
/* Undo one action after remediation: isolate_device resolves its isolation alert; the others
 * have nothing to undo (a disabled user stays disabled: an admin decides). */
zt_pb_result zt_playbook_undo(const zt_pb_env *env, zt_pb_action a, const zt_pb_target *t,
                              char *summary, size_t cap);

/* The device alert path an isolation by incident `id` is recorded under. */
void zt_playbook_isolation_path(int64_t incident_id, const char *playbook, char *out, size_t cap);

/* The `playbooks:` list's key table and cross-playbook check (response_config.c), listed in
 * src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_playbooks_config_module;

#endif
