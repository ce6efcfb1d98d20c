/* Admin verdicts on a user (confirm.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/time.h"
#include "response/confirm.h"

#include "audit/event.h"
#include "session/session.h"

static bool actor_ok(const char *a)
{
    size_t n = a != NULL ? strlen(a) : 0;
    return n > 0 && n <= ZT_CONFIRM_ACTOR_MAX &&
           strspn(a, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* The admin detection: opens or joins the user's incident and runs the playbooks. */
static int signal_incident(zt_response *r, const zt_confirm_req *q, int64_t now,
                           zt_confirm_result *out)
{
    char evidence[64 + ZT_CONFIRM_ACTOR_MAX];
    snprintf(evidence, sizeof(evidence), "{\"by\":\"%s\"}", q->actor);
    zt_signal sig = {.kind = ZT_SIGNAL_ADMIN,
                     .type = "admin_confirmed_compromised",
                     .severity = ZT_RISK_HIGH,
                     .user_id = q->user_id,
                     .email = q->email,
                     .summary = "an administrator confirmed the account compromised",
                     .evidence = evidence,
                     .request_id = q->request_id,
                     .now = now};
    return zt_response_signal(r, &sig, &out->incident);
}

/* The verdict itself, before the incident it opens: the same record through every front-end. */
static int confirm_record(zt_response *r, const zt_confirm_req *q, const zt_confirm_result *out)
{
    zt_verdict_result v;
    memset(&v, 0, sizeof(v));
    snprintf(v.user_id, sizeof(v.user_id), "%s", q->user_id);
    snprintf(v.email, sizeof(v.email), "%s", q->email != NULL ? q->email : "");
    v.risk = out->risk;
    snprintf(v.change, sizeof(v.change),
             "confirmed compromised (detection %lld, %llu detection(s) changed); sessions revoked",
             (long long)out->risk.detection_id, (unsigned long long)out->risk.n);
    return zt_response_verdict_record(zt_response_audit_sink(r), q->who, "risk.confirm_compromised",
                                      ZT_ACT_FINDING_UPDATE, &v);
}

int zt_response_confirm_compromised(zt_response *r, const zt_confirm_req *q, zt_confirm_result *out)
{
    memset(out, 0, sizeof(*out));
    zt_store *st = zt_response_store(r);
    zt_risk_engine *risk = zt_response_risk(r);
    if (q == NULL || q->user_id == NULL || q->user_id[0] == '\0' || !actor_ok(q->actor))
        return -EINVAL;
    if (st == NULL || risk == NULL)
        return -ENOTSUP;
    int64_t now = q->now > 0 ? q->now : zt_wall_us() / 1000000;
    char evidence[64 + ZT_CONFIRM_ACTOR_MAX];
    snprintf(evidence, sizeof(evidence), "{\"by\":\"%s\"}", q->actor);
    int rc = zt_risk_confirm_compromised(risk, q->user_id, evidence, now, &out->risk);
    /* Whoever holds the stolen credentials loses the session they already have. */
    if (rc == 0)
        rc = zt_store_session_delete_by_user(st, q->user_id, &out->sessions_revoked);
    if (rc == 0)
        rc = zt_store_user_bump_epoch(st, q->user_id, NULL);
    if (rc != 0)
        return rc;
    const char *dir = zt_response_state_dir(r);
    out->revocation_rc = dir != NULL ? zt_revocation_bump(dir) : -EINVAL;
    if (q->who != NULL)
        out->audit_rc = confirm_record(r, q, out);
    out->incident_rc = signal_incident(r, q, now, out);
    int level = 0;
    if (zt_store_user_risk(st, q->user_id, now, &level) == 0)
        out->user_risk = level;
    else
        out->user_risk = ZT_RISK_HIGH; /* it was just raised; the read is only for the answer */
    return 0;
}

static bool only(const char *s, const char *allowed, size_t max)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return n <= max && strspn(s != NULL ? s : "", allowed) == n;
}

/* {"by":actor[,"ref":"123"][,"ip":"..."]}: every part checked above, nothing to escape. */
static void report_evidence(const zt_report_req *q, char *out, size_t cap)
{
    bool ref = q->ref != NULL && q->ref[0] != '\0', ip = q->ip != NULL && q->ip[0] != '\0';
    snprintf(out, cap, "{\"by\":\"%s\"%s%s%s%s%s%s}", q->actor, ref ? ",\"ref\":\"" : "",
             ref ? q->ref : "", ref ? "\"" : "", ip ? ",\"ip\":\"" : "", ip ? q->ip : "",
             ip ? "\"" : "");
}

int zt_response_report_suspicious(zt_response *r, const zt_report_req *q, zt_report_result *out)
{
    memset(out, 0, sizeof(*out));
    if (q == NULL || q->user_id == NULL || q->user_id[0] == '\0' || !actor_ok(q->actor) ||
        !only(q->ref, "0123456789", 20) || !only(q->ip, "0123456789abcdefABCDEF.:", 45))
        return -EINVAL;
    zt_store *st = zt_response_store(r);
    zt_risk_engine *risk = zt_response_risk(r);
    if (st == NULL || risk == NULL)
        return -ENOTSUP;
    int64_t now = q->now > 0 ? q->now : zt_wall_us() / 1000000;
    char evidence[160 + ZT_CONFIRM_ACTOR_MAX];
    report_evidence(q, evidence, sizeof(evidence));
    int rc = zt_risk_report_suspicious(risk, q->user_id, evidence, now, &out->risk);
    if (rc != 0)
        return rc;
    /* Session caches hold the user's risk: reload it on every gateway. */
    const char *dir = zt_response_state_dir(r);
    out->revocation_rc = dir != NULL ? zt_revocation_bump(dir) : -EINVAL;
    zt_signal sig = {.kind = ZT_SIGNAL_DETECTION,
                     .type = "user_reported_suspicious",
                     .severity = ZT_RISK_HIGH,
                     .user_id = q->user_id,
                     .email = q->email,
                     .summary = "the user reported activity on the account as not theirs",
                     .evidence = evidence,
                     .request_id = q->request_id,
                     .now = now};
    out->incident_rc = zt_response_signal(r, &sig, &out->incident);
    int level = 0;
    out->user_risk = zt_store_user_risk(st, q->user_id, now, &level) == 0 ? level : ZT_RISK_HIGH;
    return 0;
}
