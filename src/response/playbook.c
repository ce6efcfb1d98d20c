/* Playbook matching, planning and actions (playbook.h). */
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/time.h"
#include "response/playbook.h"
#include "response/webhook.h"
#include "risk/risk.h"
#include "session/account.h"
#include "session/session.h"

static const char *const action_names[ZT_PB_N_ACTIONS] = {
    "revoke_sessions", "require_password_change", "isolate_device", "disable_user",
    "notify",          "open_incident",
};

const char *zt_pb_action_name(zt_pb_action a)
{
    return (unsigned)a < ZT_PB_N_ACTIONS ? action_names[a] : "unknown";
}

bool zt_pb_action_parse(const char *s, zt_pb_action *out)
{
    for (unsigned i = 0; s != NULL && i < ZT_PB_N_ACTIONS; i++) {
        if (strcmp(s, action_names[i]) == 0) {
            *out = (zt_pb_action)i;
            return true;
        }
    }
    return false;
}

bool zt_pb_action_contains(zt_pb_action a)
{
    return a == ZT_PB_REVOKE_SESSIONS || a == ZT_PB_REQUIRE_PASSWORD_CHANGE ||
           a == ZT_PB_ISOLATE_DEVICE || a == ZT_PB_DISABLE_USER;
}

const char *zt_pb_result_name(zt_pb_result r)
{
    return r == ZT_PB_DONE ? "done" : r == ZT_PB_SKIPPED ? "skipped" : "failed";
}

static int copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (n == 0 || n >= cap)
        return -EINVAL;
    memcpy(dst, src, n + 1);
    return 0;
}

static int from_config(const zt_playbook_cfg *c, zt_playbook *pb, char *err, size_t errlen)
{
    memset(pb, 0, sizeof(*pb));
    if (copy_str(pb->name, sizeof(pb->name), c->name) != 0 || c->on.n_types > ZT_PB_TYPES_MAX ||
        c->n_actions > ZT_PB_N_ACTIONS) {
        snprintf(err, errlen, "playbook at line %u: name or list too long", c->line);
        return -EINVAL;
    }
    for (size_t i = 0; i < c->on.n_types; i++) {
        if (copy_str(pb->types[i], sizeof(pb->types[i]), c->on.types[i].s) != 0) {
            snprintf(err, errlen, "playbook '%s': bad type", pb->name);
            return -EINVAL;
        }
    }
    pb->n_types = c->on.n_types;
    /* min_severity: that level and above; severities: exactly those; neither: every level. */
    if (c->on.severity_mask != 0)
        pb->severity_mask = c->on.severity_mask;
    else
        for (unsigned lv = c->on.min_severity; lv <= ZT_RISK_HIGH; lv++)
            pb->severity_mask |= 1u << lv;
    for (size_t i = 0; i < c->n_actions; i++) {
        if (!zt_pb_action_parse(c->actions[i].s, &pb->actions[i])) {
            snprintf(err, errlen, "playbook '%s': unknown action '%s'", pb->name,
                     c->actions[i].s ? c->actions[i].s : "");
            return -EINVAL;
        }
    }
    pb->n_actions = c->n_actions;
    pb->undo_on_remediation = c->undo_on_remediation;
    return 0;
}

int zt_playbooks_from_config(const zt_config *cfg, zt_playbook *out, size_t cap, size_t *n,
                             char *err, size_t errlen)
{
    *n = 0;
    if (cfg == NULL)
        return 0;
    if (cfg->n_playbooks > cap) {
        snprintf(err, errlen, "more than %zu playbooks", cap);
        return -EINVAL;
    }
    for (size_t i = 0; i < cfg->n_playbooks; i++) {
        int rc = from_config(&cfg->playbooks[i], &out[i], err, errlen);
        if (rc != 0)
            return rc;
    }
    *n = cfg->n_playbooks;
    return 0;
}

bool zt_playbook_matches(const zt_playbook *pb, const char *type, zt_risk severity)
{
    if ((unsigned)severity > ZT_RISK_HIGH || (pb->severity_mask & (1u << severity)) == 0)
        return false;
    if (pb->n_types == 0)
        return true;
    for (size_t i = 0; type != NULL && i < pb->n_types; i++)
        if (strcmp(pb->types[i], type) == 0)
            return true;
    return false;
}

size_t zt_playbook_plan(const zt_playbook *pbs, size_t n, const char *type, zt_risk severity,
                        zt_pb_step *out, size_t cap)
{
    unsigned taken = 0; /* 1 << action already planned */
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        if (!zt_playbook_matches(&pbs[i], type, severity))
            continue;
        for (size_t j = 0; j < pbs[i].n_actions && k < cap; j++) {
            zt_pb_action a = pbs[i].actions[j];
            if (a != ZT_PB_NOTIFY && (taken & (1u << a)) != 0)
                continue;
            taken |= 1u << a;
            out[k++] = (zt_pb_step){i, a};
        }
    }
    return k;
}

void zt_playbook_isolation_path(int64_t incident_id, const char *playbook, char *out, size_t cap)
{
    if (incident_id > 0)
        snprintf(out, cap, "ztgate:incident:%" PRId64, incident_id);
    else
        snprintf(out, cap, "ztgate:playbook:%s", playbook != NULL ? playbook : "");
}

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* Sessions in caches die on the next request only once the counter moves. */
static zt_pb_result tell_gateways(const zt_pb_env *env, zt_pb_result ok, char *summary, size_t cap)
{
    int rc = has(env->state_dir) ? zt_revocation_bump(env->state_dir) : -EINVAL;
    if (rc == 0)
        return ok;
    size_t n = strlen(summary);
    snprintf(summary + n, cap - n, " (revocation counter not bumped: %s)", strerror(-rc));
    return ZT_PB_FAILED;
}

/* The account service acting for a playbook: the same change, record and bump as an admin's. */
static zt_pb_result account_action(const zt_pb_env *env, const zt_pb_target *t, bool disable,
                                   char *summary, size_t cap)
{
    char name[ZT_PB_NAME_MAX + 16];
    snprintf(name, sizeof(name), "playbook:%s", t->playbook != NULL ? t->playbook : "");
    zt_actor who = {.name = name, .type = "System"};
    zt_account_env aenv = {.store = env->store,
                           .state_dir = env->state_dir,
                           .audit = {.write = env->audit, .ctx = env->audit_ctx}};
    zt_account_result res;
    int rc = disable ? zt_account_disable(&aenv, &who, t->user_id, &res)
                     : zt_account_revoke_sessions(&aenv, &who, t->user_id, &res);
    if (rc != 0) {
        snprintf(summary, cap, "%s failed: %s",
                 disable ? "disabling the user" : "revoking sessions",
                 rc == -ENOENT ? "no such user" : zt_store_errmsg());
        return ZT_PB_FAILED;
    }
    const char *who_text = has(t->email) ? t->email : t->user_id;
    if (disable)
        snprintf(summary, cap, "user %s disabled and signed out", who_text);
    else
        snprintf(summary, cap, "revoked every session of %s", who_text);
    if (res.revocation_rc == 0)
        return ZT_PB_DONE;
    size_t n = strlen(summary);
    snprintf(summary + n, cap - n, " (revocation counter not bumped: %s)",
             strerror(-res.revocation_rc));
    return ZT_PB_FAILED;
}

static zt_pb_result revoke_sessions(const zt_pb_env *env, const zt_pb_target *t, char *summary,
                                    size_t cap)
{
    if (!has(t->user_id)) {
        snprintf(summary, cap, "no user to revoke sessions of");
        return ZT_PB_SKIPPED;
    }
    return account_action(env, t, false, summary, cap);
}

/* Raise the user's risk to high, so policies that ask for a secure password change at high
 * user risk apply; the change itself remediates it (zt_risk_remediate_user). */
static zt_pb_result require_password_change(const zt_pb_env *env, const zt_pb_target *t,
                                            char *summary, size_t cap)
{
    zt_risk level = ZT_RISK_NONE;
    if (!has(t->user_id)) {
        snprintf(summary, cap, "no user to require a password change of");
        return ZT_PB_SKIPPED;
    }
    if (env->risk == NULL || zt_risk_user_level(env->risk, t->user_id, t->now, &level) != 0) {
        snprintf(summary, cap, "cannot read the user's risk%s",
                 env->risk == NULL ? ": no risk engine" : "");
        return ZT_PB_FAILED;
    }
    if (level >= ZT_RISK_HIGH) {
        snprintf(summary, cap, "user risk is already high: a secure password change is required");
        return ZT_PB_SKIPPED;
    }
    char evidence[ZT_PB_NAME_MAX + 96];
    snprintf(evidence, sizeof(evidence),
             "{\"by\":\"playbook\",\"playbook\":\"%s\",\"incident\":%" PRId64 "}",
             t->playbook != NULL ? t->playbook : "", t->incident_id);
    zt_risk_event ev;
    memset(&ev, 0, sizeof(ev));
    if (zt_risk_confirm_compromised(env->risk, t->user_id, evidence, t->now, &ev) != 0) {
        snprintf(summary, cap, "raising user risk failed: %s", zt_store_errmsg());
        return ZT_PB_FAILED;
    }
    snprintf(summary, cap,
             "user risk raised to high (detection %" PRId64 "): a secure password change is "
             "required",
             ev.detection_id);
    return tell_gateways(env, ZT_PB_DONE, summary, cap);
}

static zt_pb_result isolate_device(const zt_pb_env *env, const zt_pb_target *t, char *summary,
                                   size_t cap)
{
    if (!has(t->device_id)) {
        snprintf(summary, cap, "no device to isolate");
        return ZT_PB_SKIPPED;
    }
    zt_store_alert a;
    memset(&a, 0, sizeof(a));
    snprintf(a.device_id, sizeof(a.device_id), "%s", t->device_id);
    zt_playbook_isolation_path(t->incident_id, t->playbook, a.path, sizeof(a.path));
    snprintf(a.signature, sizeof(a.signature), "ztgate-isolation:%s",
             t->playbook != NULL ? t->playbook : "");
    a.state = ZT_STORE_ALERT_ACTIVE;
    a.detected_at = a.updated_at = t->now;
    if (zt_store_device_alert_add(env->store, &a) != 0) {
        snprintf(summary, cap, "isolating device %s failed: %s", t->device_id, zt_store_errmsg());
        return ZT_PB_FAILED;
    }
    snprintf(summary, cap, "device %s isolated: risk high until alert '%s' is resolved",
             t->device_id, a.path);
    return ZT_PB_DONE;
}

static zt_pb_result disable_user(const zt_pb_env *env, const zt_pb_target *t, char *summary,
                                 size_t cap)
{
    if (!has(t->user_id)) {
        snprintf(summary, cap, "no user to disable");
        return ZT_PB_SKIPPED;
    }
    return account_action(env, t, true, summary, cap);
}

static void time_str(int64_t s, char out[40])
{
    if (zt_rfc3339(s * 1000000, out, 40) == 0)
        snprintf(out, 40, "%" PRId64, s);
}

/* The webhook document (docs/INCIDENTS.md). */
static char *notify_body(const zt_pb_target *t)
{
    char when[40];
    time_str(t->now, when);
    json_t *o = json_object();
    json_t *user = has(t->user_id) ? json_pack("{s:s, s:s?}", "id", t->user_id, "email",
                                               has(t->email) ? t->email : NULL)
                                   : json_null();
    if (o == NULL || json_object_set_new(o, "event", json_string("incident.playbook")) != 0 ||
        json_object_set_new(o, "playbook", json_string(t->playbook ? t->playbook : "")) != 0 ||
        json_object_set_new(o, "incident_id",
                            t->incident_id > 0 ? json_integer(t->incident_id) : json_null()) != 0 ||
        json_object_set_new(o, "title", json_string(t->title ? t->title : "")) != 0 ||
        json_object_set_new(o, "severity", json_string(zt_risk_name(t->severity))) != 0 ||
        json_object_set_new(o, "status", json_string(t->status ? t->status : "")) != 0 ||
        json_object_set_new(o, "type", json_string(t->type ? t->type : "")) != 0 ||
        json_object_set_new(o, "user", user) != 0 ||
        json_object_set_new(o, "device",
                            has(t->device_id) ? json_string(t->device_id) : json_null()) != 0 ||
        json_object_set_new(o, "summary", json_string(t->summary ? t->summary : "")) != 0 ||
        json_object_set_new(o, "time", json_string(when)) != 0) {
        json_decref(o);
        return NULL;
    }
    char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(o);
    return s;
}

static zt_pb_result notify(const zt_pb_env *env, const zt_pb_target *t, char *summary, size_t cap)
{
    if (env->webhook == NULL) {
        snprintf(summary, cap, "no webhook configured (incidents.notify)");
        return ZT_PB_FAILED;
    }
    char *body = notify_body(t);
    bool ok = body != NULL && zt_webhook_post(env->webhook, body, strlen(body));
    free(body);
    snprintf(summary, cap,
             ok ? "notification queued for the webhook"
                : "notification dropped (webhook queue full)");
    return ok ? ZT_PB_DONE : ZT_PB_FAILED;
}

zt_pb_result zt_playbook_run(const zt_pb_env *env, zt_pb_action a, const zt_pb_target *t,
                             char *summary, size_t cap)
{
    summary[0] = '\0';
    if (env->store == NULL && a != ZT_PB_NOTIFY && a != ZT_PB_OPEN_INCIDENT) {
        snprintf(summary, cap, "no store");
        return ZT_PB_FAILED;
    }
    switch (a) {
    case ZT_PB_REVOKE_SESSIONS:
        return revoke_sessions(env, t, summary, cap);
    case ZT_PB_REQUIRE_PASSWORD_CHANGE:
        return require_password_change(env, t, summary, cap);
    case ZT_PB_ISOLATE_DEVICE:
        return isolate_device(env, t, summary, cap);
    case ZT_PB_DISABLE_USER:
        return disable_user(env, t, summary, cap);
    case ZT_PB_NOTIFY:
        return notify(env, t, summary, cap);
    case ZT_PB_OPEN_INCIDENT:
        if (t->incident_id > 0)
            snprintf(summary, cap, "incident %" PRId64 " records this detection", t->incident_id);
        else
            snprintf(summary, cap, "no incident could be opened");
        return t->incident_id > 0 ? ZT_PB_DONE : ZT_PB_FAILED;
    case ZT_PB_N_ACTIONS:
        break;
    }
    snprintf(summary, cap, "unknown action");
    return ZT_PB_FAILED;
}

zt_pb_result zt_playbook_undo(const zt_pb_env *env, zt_pb_action a, const zt_pb_target *t,
                              char *summary, size_t cap)
{
    summary[0] = '\0';
    if (a != ZT_PB_ISOLATE_DEVICE) {
        snprintf(summary, cap, "%s has nothing to undo", zt_pb_action_name(a));
        return ZT_PB_SKIPPED;
    }
    if (!has(t->device_id) || env->store == NULL) {
        snprintf(summary, cap, "no device to release");
        return ZT_PB_SKIPPED;
    }
    char path[ZT_STORE_DEV_ALERT_PATH_MAX + 1];
    uint64_t n = 0;
    zt_playbook_isolation_path(t->incident_id, t->playbook, path, sizeof(path));
    int rc = zt_store_device_alert_set_path(env->store, t->device_id, path, ZT_STORE_ALERT_RESOLVED,
                                            t->now, &n);
    if (rc != 0) {
        snprintf(summary, cap, "releasing device %s failed: %s", t->device_id, zt_store_errmsg());
        return ZT_PB_FAILED;
    }
    snprintf(summary, cap,
             n > 0 ? "device %s released: isolation alert resolved"
                   : "device %s: isolation alert was already resolved",
             t->device_id);
    return n > 0 ? ZT_PB_DONE : ZT_PB_SKIPPED;
}
