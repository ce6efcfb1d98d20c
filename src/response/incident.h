/* Incident response: every detection, remediation and admin action anywhere in ztgate is handed
 * here as one zt_signal. Detections of the same user or device close together in time are
 * correlated into one incident with an ordered timeline; matching playbooks run their actions
 * (playbook.h) and each step is added to the timeline and handed to the caller's audit callback.
 * When a remediation says every detection is dealt with, the incident resolves and the
 * playbooks' undo actions run.
 *
 * It never blocks on the network (notifications go through the webhook's own thread) but it
 * writes the store: call it where the caller may write the store (after zt_risk_record, in a
 * device handler, in an admin action). It never prints.
 *
 * Threads: one zt_response is shared by every thread; signals are handled one at a time (a
 * mutex), so two detections of one user cannot open two incidents. */
#ifndef ZT_RESPONSE_INCIDENT_H
#define ZT_RESPONSE_INCIDENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/levels.h"
#include "session/account.h"
#include "store/store.h"

#define ZT_SIGNAL_TYPE_MAX 31       /* [a-z_] */
#define ZT_SIGNAL_EVIDENCE_MAX 2048 /* JSON object; longer evidence is replaced by {} */

typedef struct zt_webhook zt_webhook;
struct zt_risk_engine;

typedef enum zt_signal_kind {
    ZT_SIGNAL_DETECTION = 0, /* a risk detection or device alert: may open an incident */
    ZT_SIGNAL_REMEDIATION,   /* MFA passed, password changed, malware quarantined + clean scan */
    ZT_SIGNAL_ADMIN,         /* an admin's decision: like a detection, or with `resolves` like a
                                remediation (dismissed risk) */
} zt_signal_kind;

const char *zt_signal_kind_name(zt_signal_kind k); /* "detection", "remediation", "admin" */

/* One thing that happened. Strings are borrowed for the call; NULL or "" = not known. */
typedef struct zt_signal {
    zt_signal_kind kind;
    const char *type; /* "impossible_travel", "malware", ...; remediation: what remediated it
                         ("mfa", "password_change", "clean_scan", ...) */
    zt_risk severity; /* detections: the detection's level */
    const char *user_id;
    const char *email;
    const char *device_id;
    const char *device_name; /* for titles ("Malware on device pc-17"); looked up when NULL */
    const char *summary;     /* one line for the timeline */
    const char *evidence;    /* JSON object, why it fired */
    const char *request_id;  /* the audit record's metadata.uid, to find it in the log */
    bool resolves;           /* remediation/admin: every detection of the incident is dealt
                                with, so the incident resolves */
    int64_t now;             /* Unix seconds; 0 = now */
} zt_signal;

/* Receives one JSON event (OCSF Detection Finding, built with audit/event.h) per timeline step;
 * returns 0 or a negative errno (logged by the caller, not retried). */
typedef int (*zt_response_audit_fn)(void *ctx, const char *json, size_t len);

typedef struct zt_response_cfg {
    const zt_config *config;     /* incidents: and playbooks: (copied; restart to change) */
    zt_store *store;             /* borrowed; must outlive the zt_response */
    struct zt_risk_engine *risk; /* borrowed, nullable: require_password_change then fails */
    const char *state_dir;       /* revocation counter (copied) */
    /* The key of X-ZT-Signature when incidents.notify has no secret_file: e.g.
     * zt_secretbox_derive(box, "ztgate webhook v1", key). Copied and wiped. */
    const unsigned char *notify_key;
    size_t notify_key_len;
    bool no_webhook; /* the CLI: never start the notifier (notify then fails as not configured) */
    zt_response_audit_fn audit; /* nullable */
    void *audit_ctx;
} zt_response_cfg;

typedef struct zt_response zt_response;

/* NULL with the reason in err (bad playbook, unreadable secret_file, webhook not startable). */
zt_response *zt_response_new(const zt_response_cfg *cfg, char *err, size_t errlen);
/* Stops the webhook (queued notifications are dropped and counted). Accepts NULL. */
void zt_response_free(zt_response *r);
/* The notifier, for its counters (NULL when none is configured). */
zt_webhook *zt_response_webhook(zt_response *r);
/* The services it was made with (response/confirm.c acts through the same ones). */
zt_store *zt_response_store(zt_response *r);
struct zt_risk_engine *zt_response_risk(zt_response *r);
const char *zt_response_state_dir(zt_response *r); /* NULL when none was given */
/* The audit callback given at creation, as a sink for service records (write NULL: none). */
zt_audit_sink zt_response_audit_sink(zt_response *r);

typedef struct zt_response_result {
    int64_t incident_id; /* the incident the signal went to; 0 = none */
    bool opened;         /* a new incident */
    bool resolved;       /* it resolved with this signal */
    unsigned actions;    /* playbook steps run (done, skipped or failed) */
    unsigned failed;     /* of which failed */
} zt_response_result;

/* Handle one signal. 0, or a negative errno when the incident could not be recorded (store
 * failure: the signal's own effect already happened; log it). Bad input is -EINVAL. */
int zt_response_signal(zt_response *r, const zt_signal *s, zt_response_result *out);

/* An admin resolves incident id (actor: "cli", an admin's name): the status event, then undo
 * actions of playbooks with undo_on_remediation. -ENOENT unknown, -EALREADY already resolved. */
int zt_response_resolve(zt_response *r, int64_t id, const char *actor, int64_t now,
                        zt_response_result *out);

/* "Impossible travel for alice@example.org", "Malware on device pc-17": title of an incident
 * opened by signal s. */
void zt_response_title(const zt_signal *s, char *out, size_t cap);

/* The `incidents:` section's key table (response_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_incidents_config_module;

#endif
