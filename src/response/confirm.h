/* Admin verdicts on a user, one function per verdict whoever asks (the admin API, the CLI, a
 * console later): front-ends find the user, audit their own call and answer; everything the
 * verdict does happens here, so every front-end gets the same effects, records and playbooks.
 *
 * It writes the store and bumps STATE_DIR/revocation; playbook steps are audited through the
 * zt_response's audit callback (the gateway's log, or the CLI's audit spool). It never prints
 * and never blocks on the network (notifications go through the webhook's thread). */
#ifndef ZT_RESPONSE_CONFIRM_H
#define ZT_RESPONSE_CONFIRM_H

#include <stdint.h>

#include "response/incident.h"
#include "session/account.h"
#include "risk/risk.h"

#define ZT_CONFIRM_ACTOR_MAX 32 /* [a-z0-9-]: "admin-api", "cli" */

typedef struct zt_confirm_req {
    const char *user_id;    /* required */
    const char *email;      /* for titles and notifications */
    const char *actor;      /* who decided, for the detection's evidence {"by": actor} */
    const char *request_id; /* the front-end's own audit record (metadata.uid); nullable */
    int64_t now;            /* Unix seconds; 0 = now */
    const zt_actor *who;    /* nullable: who decided, named by the verdict's record */
} zt_confirm_req;

typedef struct zt_confirm_result {
    zt_risk_event risk;        /* the admin_confirmed_compromised detection and what changed */
    uint64_t sessions_revoked; /* sessions deleted */
    int user_risk;             /* zt_risk of the user afterwards */
    zt_response_result incident;
    int incident_rc;   /* 0, or why the incident could not be recorded (the verdict stands) */
    int revocation_rc; /* 0, or why STATE_DIR/revocation could not be bumped (likewise) */
    int audit_rc;      /* 0, or why the verdict's record could not be written (likewise) */
} zt_confirm_result;

/* Confirm the user compromised (Entra's adminConfirmedUserCompromised and its follow-ups).
 * With q->who, one Detection Finding record (activity Update, unmapped.operation
 * "risk.confirm_compromised", naming who) goes to r's audit callback, the same through every
 * front-end but the actor:
 * open detections become confirmed_compromised and a high detection is added, every session
 * of the user ends (epoch bumped, rows deleted), running gateways are told, then one admin
 * detection goes to incident response: the user's incident opens or is joined and matching
 * playbooks run. 0, or a negative errno when the verdict itself failed (-ENOENT no such user,
 * -ENOTSUP no risk engine, a store error): nothing after the failing step happened. */
int zt_response_confirm_compromised(zt_response *r, const zt_confirm_req *q,
                                    zt_confirm_result *out);

/* The user reports activity as not theirs ("this wasn't me": Entra's
 * userReportedSuspiciousActivity). One function for every front-end (the self-service security
 * page today; the CLI and the admin API may call it the same way). */
typedef struct zt_report_req {
    const char *user_id;    /* required */
    const char *email;      /* for titles and notifications */
    const char *actor;      /* who reported, [a-z0-9-]: "portal" (the user), "cli", "admin-api" */
    const char *ref;        /* nullable: what was reported (an audit record's seq), digits only */
    const char *ip;         /* nullable: the reported sign-in's address, [0-9A-Fa-f.:] only */
    const char *request_id; /* the front-end's own audit record; nullable */
    int64_t now;            /* Unix seconds; 0 = now */
} zt_report_req;

typedef struct zt_report_result {
    zt_risk_event risk; /* the user_reported_suspicious detection */
    int user_risk;      /* zt_risk of the user afterwards (high) */
    zt_response_result incident;
    int incident_rc;   /* 0, or why the incident could not be recorded (the report stands) */
    int revocation_rc; /* 0, or why STATE_DIR/revocation could not be bumped (likewise) */
} zt_report_result;

/* A high user_reported_suspicious detection is added (user risk high: policies that act on user
 * risk apply from the next request), gateways reload the user's risk, then one detection goes
 * to incident response: the user's incident opens or is joined and matching playbooks run
 * (`on: {types: [user_reported_suspicious]}`). Sessions are not ended here: the reporter is
 * signed in and may go on to change the password; a playbook can revoke them. 0, or a negative
 * errno when the detection itself failed (-EINVAL bad input, -ENOTSUP no risk engine, a store
 * error): nothing after it happened. */
int zt_response_report_suspicious(zt_response *r, const zt_report_req *q, zt_report_result *out);

/* Dismissing risk, one function per verdict for the CLI, the admin API and the console: the
 * engine's change, one Detection Finding record (activity Close, unmapped.operation
 * "risk.dismiss" or "risk.dismiss_user", naming who) through env->audit, and the revocation
 * bump (the user's risk may have changed). Records through every front-end are equal but for
 * the actor, times and ids. After the change is saved, failures come back in the result. */
typedef struct zt_verdict_result {
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1];
    zt_risk_event risk; /* what changed */
    char change[192];   /* the record's summary */
    int user_risk;      /* zt_risk of the user afterwards; -1 when it could not be read */
    int incident_rc;    /* dismiss_user: 0, or why incident response failed */
    int audit_rc;       /* 0, or why the record could not be written */
    int revocation_rc;  /* 0, or why STATE_DIR/revocation could not be bumped */
} zt_verdict_result;
/* The verdicts' record (activity: OCSF Detection Finding activity id) through sink. */
int zt_response_verdict_record(zt_audit_sink sink, const zt_actor *who, const char *op,
                               unsigned activity, const zt_verdict_result *res);
/* One detection. -ENOENT unknown id, -EALREADY closed already. */
int zt_response_risk_dismiss(const zt_account_env *env, zt_risk_engine *eng, const zt_actor *who,
                             int64_t detection_id, zt_verdict_result *res);
/* All of a user's risk; with resp (nullable), the user's incident is resolved too (its
 * isolations undone). -ENOENT unknown user. */
int zt_response_risk_dismiss_user(const zt_account_env *env, zt_risk_engine *eng, zt_response *resp,
                                  const zt_actor *who, const char *user_id, zt_verdict_result *res);

/* An admin resolves incident id: zt_response_resolve (the timeline names who->name), then one
 * Detection Finding record (activity Close, unmapped.operation "incident.resolve", naming who)
 * through r's audit callback; *audit_rc says whether it was written. -ENOENT, -EALREADY. */
int zt_response_resolve_incident(zt_response *r, const zt_actor *who, int64_t id, int64_t now,
                                 zt_response_result *out, int *audit_rc);

#endif
