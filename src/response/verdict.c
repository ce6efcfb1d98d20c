/* Admin dismissals of risk, written once for every front-end (confirm.h
 * zt_response_risk_dismiss, zt_response_risk_dismiss_user). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "audit/event.h"
#include "lib/buf.h"
#include "lib/time.h"
#include "response/confirm.h"
#include "session/session.h"
#include "store/store.h"
#include "store/store_incident.h"

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

/* A Detection Finding closed by an admin, the same shape through every front-end. */
int zt_response_verdict_record(zt_audit_sink sink, const zt_actor *who, const char *op,
                               unsigned activity, const zt_verdict_result *res)
{
    if (sink.write == NULL)
        return 0;
    zt_buf b;
    char msg[96];
    snprintf(msg, sizeof(msg), "risk change: %s", op);
    zt_event ev;
    zt_actor_event_begin(&ev, &b, ZT_EV_DETECTION_FINDING, activity, msg, who);
    zt_event_str(&ev, "user.uid", has(res->user_id) ? res->user_id : NULL);
    zt_event_str(&ev, "user.email_addr", has(res->email) ? res->email : NULL);
    zt_event_str(&ev, "unmapped.operation", op);
    zt_event_str(&ev, "unmapped.change", res->change);
    if (strncmp(op, "risk.", 5) == 0) { /* an incident's resolution changes no detection */
        zt_event_str(&ev, "unmapped.risk_event", zt_risk_event_name(res->risk.kind));
        zt_event_uint(&ev, "unmapped.detections_changed", res->risk.n);
    }
    return zt_actor_event_write(&ev, &b, sink, who);
}

/* Saved: record, tell gateways (user risk may have changed), read the user's risk afterwards. */
static void finish(const zt_account_env *env, const zt_actor *who, const char *op, int64_t now,
                   zt_verdict_result *res)
{
    res->audit_rc = zt_response_verdict_record(env->audit, who, op, ZT_ACT_FINDING_CLOSE, res);
    res->revocation_rc = has(env->state_dir) ? zt_revocation_bump(env->state_dir) : -EINVAL;
    if (has(res->user_id) &&
        zt_store_user_risk(env->store, res->user_id, now, &res->user_risk) != 0)
        res->user_risk = -1;
}

static bool args_ok(const zt_account_env *env, zt_risk_engine *eng, const zt_actor *who,
                    zt_verdict_result *res)
{
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    return env != NULL && env->store != NULL && eng != NULL && who != NULL && res != NULL;
}

int zt_response_risk_dismiss(const zt_account_env *env, zt_risk_engine *eng, const zt_actor *who,
                             int64_t detection_id, zt_verdict_result *res)
{
    if (!args_ok(env, eng, who, res))
        return -EINVAL;
    zt_store_detection d;
    int rc = zt_store_detection_get(env->store, detection_id, &d);
    if (rc != 0)
        return rc;
    snprintf(res->user_id, sizeof(res->user_id), "%s", d.user_id);
    snprintf(res->email, sizeof(res->email), "%s", d.email);
    int64_t now = zt_wall_us() / 1000000;
    rc = zt_risk_dismiss(eng, d.id, now, &res->risk);
    if (rc != 0)
        return rc;
    snprintf(res->change, sizeof(res->change), "detection %lld dismissed (%s)", (long long)d.id,
             res->risk.detail);
    finish(env, who, "risk.dismiss", now, res);
    return 0;
}

int zt_response_risk_dismiss_user(const zt_account_env *env, zt_risk_engine *eng, zt_response *resp,
                                  const zt_actor *who, const char *user_id, zt_verdict_result *res)
{
    if (!args_ok(env, eng, who, res) || user_id == NULL)
        return -EINVAL;
    zt_user u;
    int rc = zt_store_user_get_by_id(env->store, user_id, &u);
    if (rc != 0)
        return rc == -EINVAL ? -ENOENT : rc;
    snprintf(res->user_id, sizeof(res->user_id), "%s", u.id);
    snprintf(res->email, sizeof(res->email), "%s", u.email);
    zt_user_dispose(&u);
    int64_t now = zt_wall_us() / 1000000;
    rc = zt_risk_dismiss_user(eng, res->user_id, now, &res->risk);
    if (rc != 0)
        return rc;
    if (resp != NULL) {
        /* An admin's verdict resolves the user's incident (and undoes its isolations). */
        zt_signal sig = {.kind = ZT_SIGNAL_ADMIN,
                         .type = "admin_dismissed",
                         .severity = ZT_RISK_NONE,
                         .user_id = res->user_id,
                         .email = res->email,
                         .summary = "an administrator dismissed the user's risk",
                         .request_id = who->request_id,
                         .resolves = true,
                         .now = now};
        zt_response_result out;
        res->incident_rc = zt_response_signal(resp, &sig, &out);
    }
    snprintf(res->change, sizeof(res->change), "all risk dismissed (%llu detection(s))",
             (unsigned long long)res->risk.n);
    finish(env, who, "risk.dismiss_user", now, res);
    return 0;
}

int zt_response_resolve_incident(zt_response *r, const zt_actor *who, int64_t id, int64_t now,
                                 zt_response_result *out, int *audit_rc)
{
    *audit_rc = 0;
    zt_store *st = zt_response_store(r);
    if (st == NULL || who == NULL)
        return -EINVAL;
    zt_store_incident inc;
    int rc = zt_store_incident_get(st, id, &inc);
    if (rc == 0)
        rc = zt_response_resolve(r, id, has(who->name) ? who->name : "?", now, out);
    if (rc != 0)
        return rc;
    zt_verdict_result v;
    memset(&v, 0, sizeof(v));
    snprintf(v.user_id, sizeof(v.user_id), "%.*s", ZT_STORE_ID_LEN, inc.user_id);
    snprintf(v.email, sizeof(v.email), "%s", inc.email);
    snprintf(v.change, sizeof(v.change), "incident %lld resolved (%u undo action(s), %u failed)",
             (long long)id, out->actions, out->failed);
    *audit_rc = zt_response_verdict_record(zt_response_audit_sink(r), who, "incident.resolve",
                                           ZT_ACT_FINDING_CLOSE, &v);
    return 0;
}
