/* Store records of device trust (schema 4 onwards): enrolled devices, single-use enrolment
 * codes, posture history, EDR alerts and the serials of revoked device certificates. Included
 * by store/store.h; the error codes and threading rules there apply. Revoking or deleting a
 * device deletes its sessions and records its certificate serial in the same transaction, so
 * the next TLS handshake with that certificate fails once the gateway reloads the set. */
#ifndef ZT_STORE_STORE_DEVICE_H
#define ZT_STORE_STORE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_DEV_ID_LEN 32               /* 16 random bytes, lowercase hex */
#define ZT_STORE_DEV_NAME_MAX 64             /* hostname reported at enrolment */
#define ZT_STORE_DEV_PLATFORM_MAX 16         /* [a-z0-9_-]: "linux", "windows", "macos" */
#define ZT_STORE_DEV_SERIAL_MAX 40           /* certificate serial, lowercase hex */
#define ZT_STORE_DEV_SHA256_LEN 64           /* lowercase hex */
#define ZT_STORE_DEV_FAILED_MAX 511          /* compliance failures, "; "-joined plain words */
#define ZT_STORE_DEV_POSTURE_MAX (64 * 1024) /* one posture report (JSON) */
#define ZT_STORE_DEV_HISTORY_MAX 200         /* posture reports kept per device (oldest go) */
#define ZT_STORE_DEV_ALERT_PATH_MAX 1024
#define ZT_STORE_DEV_ALERT_SIG_MAX 128
#define ZT_STORE_DEV_ALERTS_MAX 1000 /* alerts kept per device (resolved, oldest go first) */
#define ZT_STORE_ENROLL_HASH_LEN 64  /* SHA-256 hex of an enrolment code */

typedef struct zt_store_device {
    char id[ZT_STORE_DEV_ID_LEN + 1];
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1]; /* owner's, filled by get/list; ignored by create */
    char name[ZT_STORE_DEV_NAME_MAX + 1];
    char platform[ZT_STORE_DEV_PLATFORM_MAX + 1];
    char cert_serial[ZT_STORE_DEV_SERIAL_MAX + 1];
    char cert_sha256[ZT_STORE_DEV_SHA256_LEN + 1];
    int64_t enrolled_at;
    int64_t cert_not_after;
    int64_t revoked_at;   /* 0 = not revoked */
    int64_t last_seen_at; /* last posture or alert; 0 = never */
    int64_t posture_at;   /* last posture report received; 0 = none */
    bool compliant;       /* as judged when the last report arrived */
    char failed[ZT_STORE_DEV_FAILED_MAX + 1];
    int risk;                   /* 0 none .. 3 high (zt_risk order) */
    uint64_t unresolved_alerts; /* active or quarantined; filled by get/list */
} zt_store_device;

typedef enum zt_store_alert_state {
    ZT_STORE_ALERT_ACTIVE = 0,
    ZT_STORE_ALERT_QUARANTINED,
    ZT_STORE_ALERT_RESOLVED,
} zt_store_alert_state;

/* "active", "quarantined", "resolved". */
const char *zt_store_alert_state_name(zt_store_alert_state s);

typedef struct zt_store_alert {
    int64_t id;
    char device_id[ZT_STORE_DEV_ID_LEN + 1];
    char path[ZT_STORE_DEV_ALERT_PATH_MAX + 1];
    char sha256[ZT_STORE_DEV_SHA256_LEN + 1]; /* "" when the agent did not hash the file */
    char signature[ZT_STORE_DEV_ALERT_SIG_MAX + 1];
    zt_store_alert_state state;
    int64_t detected_at, updated_at;
} zt_store_alert;

typedef int (*zt_store_device_cb)(void *ctx, const zt_store_device *d);
typedef int (*zt_store_alert_cb)(void *ctx, const zt_store_alert *a);

/* ---- enrolment codes ---- */

/* Store a new code (its SHA-256 hex) for user_id, valid until expires_at. Expired and used
 * codes older than a day are pruned in the same transaction. -ENOENT: no such user. */
int zt_store_enroll_code_add(zt_store *st, const char *code_hash, const char *user_id, int64_t now,
                             int64_t expires_at);
/* Use a code once, atomically: its user id goes to user_id_out. Unknown, expired and already
 * used codes all give -EACCES with the same message. */
int zt_store_enroll_code_use(zt_store *st, const char *code_hash, int64_t now,
                             char user_id_out[ZT_STORE_ID_LEN + 1]);

/* ---- devices ---- */

/* Insert a device for d->user_id (id, name, platform, cert_serial, cert_sha256, enrolled_at,
 * cert_not_after set by the caller). -EEXIST: id or serial taken; -ENOENT: no such user. */
int zt_store_device_create(zt_store *st, const zt_store_device *d);
/* Enrolment in one transaction: use code_hash (as zt_store_enroll_code_use, -EACCES for any
 * code problem) and insert d bound to the code's user; d->user_id and d->email are filled.
 * Nothing is stored on any error (the code stays usable). */
int zt_store_device_enroll(zt_store *st, const char *code_hash, int64_t now, zt_store_device *d);
int zt_store_device_get(zt_store *st, const char *id, zt_store_device *out);
/* Ordered by owner email, then enrolment time. user_id NULL = every user's devices. */
int zt_store_device_list(zt_store *st, const char *user_id, zt_store_device_cb cb, void *ctx);
/* Mark revoked, record the serial as revoked and delete the device's sessions, in one
 * transaction. -ENOENT: no such device; -EALREADY: already revoked. */
int zt_store_device_revoke(zt_store *st, const char *id, int64_t now);
/* Delete the device with its history and alerts; its serial stays revoked (until the
 * certificate expires) and its sessions are deleted, in one transaction. */
int zt_store_device_delete(zt_store *st, const char *id, int64_t now);
/* Serials (lowercase hex) of revoked device certificates that have not expired at `now`. */
int zt_store_device_revoked_serials(zt_store *st, int64_t now, zt_store_name_cb cb, void *ctx);

/* ---- posture ---- */

/* Record one posture report of an enrolled, unrevoked device: the row's latest posture,
 * verdict and last-seen time plus a history entry (capped), in one transaction. json is the
 * validated report as received. -ENOENT: unknown or revoked device. */
int zt_store_device_posture_add(zt_store *st, const char *id, int64_t now, const char *json,
                                bool compliant, const char *failed);
/* The latest report: *json_out is malloc'd (caller frees), *at_out its receipt time.
 * -ENOENT when the device is unknown or has not reported yet. */
int zt_store_device_posture_get(zt_store *st, const char *id, char **json_out, int64_t *at_out);

/* ---- alerts ---- */

/* A detection: a new active alert, or an unresolved one with the same path and hash becomes
 * active again (a->id is set either way). Updates the device's risk and last-seen time.
 * -ENOENT: unknown or revoked device. */
int zt_store_device_alert_add(zt_store *st, zt_store_alert *a);
/* Move the device's unresolved alerts for `path` to `to` (quarantined, active, resolved);
 * n_out (nullable) gets how many changed (0 is not an error). Updates risk and last-seen.
 * -ENOENT: unknown or revoked device. */
int zt_store_device_alert_set_path(zt_store *st, const char *device_id, const char *path,
                                   zt_store_alert_state to, int64_t now, uint64_t *n_out);
/* Unresolved (active or quarantined) alerts, oldest first. */
int zt_store_device_alert_list_active(zt_store *st, const char *device_id, zt_store_alert_cb cb,
                                      void *ctx);

#endif
