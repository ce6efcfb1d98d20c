/* Persistent store: users, groups, TOTP credentials, recovery codes, sessions and risk state
 * (detections, sign-in familiarity history), behind one
 * interface whose backend (SQLite now, PostgreSQL later) is chosen at open. It never sees a raw
 * password, session id or TOTP secret: callers pass encoded hashes and encrypted blobs, and it
 * never prints. Every write is one transaction: it fully happens or not at all.
 *
 * Errors: 0 on success, else a negative errno-style code; zt_store_errmsg() then describes it.
 *   -ENOENT   not found          -EEXIST   duplicate (email, group, membership, session)
 *   -EINVAL   bad input (empty, too long, bad characters) -EALREADY TOTP step or code already used
 *   -EBUSY    database locked past the busy timeout        -EIO      any other database failure
 *   -ENOMEM   out of memory      -EDEADLK  store called from inside one of its own list callbacks
 *   -ENOSPC   a per-user cap reached (passkeys)             -EAGAIN   a passkey counter moved under
 *             the caller (compare-and-set lost a race)
 * Callers fail closed on any non-zero code.
 *
 * Threads: one zt_store may be shared by every thread (event loops, libuv pool). Each calling
 * thread gets its own database connection, made on first use and closed at thread exit or by
 * zt_store_close, so readers never queue behind each other (SQLite WAL readers run in parallel)
 * and a slow write only blocks other writers. zt_store_close must run after every thread that
 * used the store has stopped calling it.
 *
 * Times are Unix seconds (UTC) from zt_wall_us(), so test clock offsets apply. */
#ifndef ZT_STORE_STORE_H
#define ZT_STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Named limits (bytes, without the NUL). Longer input is -EINVAL, never truncated silently. */
#define ZT_STORE_ID_LEN 32           /* user id: 16 random bytes as lowercase hex */
#define ZT_STORE_EMAIL_MAX 254       /* RFC 5321 path limit */
#define ZT_STORE_NAME_MAX 128        /* display name, UTF-8 */
#define ZT_STORE_GROUP_MAX 64        /* [A-Za-z0-9._-], starts with a letter or digit */
#define ZT_STORE_HASH_MAX 255        /* encoded password / recovery-code hash, printable ASCII */
#define ZT_STORE_SESSION_HASH_MIN 32 /* session id hash, lowercase hex */
#define ZT_STORE_SESSION_HASH_MAX 128
#define ZT_STORE_MFA_METHOD_MAX 16 /* [a-z0-9_-]: "totp", "webauthn", "recovery" */
#define ZT_STORE_AMR_MAX 31        /* [a-z,]: "pwd,otp,hwk,swk,mfa" */
#define ZT_STORE_IP_MAX 45         /* textual IPv6 */
#define ZT_STORE_UA_MAX 512        /* User-Agent: callers truncate, store refuses longer */
#define ZT_STORE_DEVICE_ID_MAX 64
#define ZT_STORE_HOST_MAX 253       /* session host: DNS name or [IPv6] literal, no port */
#define ZT_STORE_TOTP_BLOB_MAX 256  /* encrypted TOTP secret */
#define ZT_STORE_RECOVERY_MAX 32    /* recovery codes per user */
#define ZT_STORE_USER_GROUPS_MAX 64 /* groups given at user_add */
/* Schema 13, identity sources (store_source.h): */
#define ZT_STORE_SOURCE_MAX 64       /* "local", "import", "scim", "oidc:NAME", "ldap:NAME" */
#define ZT_STORE_EXTERNAL_ID_MAX 255 /* the source's stable id of a user or group */
#define ZT_STORE_ATTRS_MAX 65536     /* a user's source attributes, one JSON object */

/* Schema version this build writes; a database with a higher PRAGMA user_version is refused. */
#define ZT_STORE_SCHEMA_VERSION 16

typedef struct zt_store zt_store;

typedef enum zt_store_backend {
    ZT_STORE_SQLITE = 0,
    ZT_STORE_POSTGRES, /* pg.c: several gateways on one database (docs/CLUSTER.md) */
} zt_store_backend;

typedef struct zt_store_cfg {
    zt_store_backend backend;
    const char *state_dir; /* SQLite: the database is STATE_DIR/ztgate.db (dir 0700, file 0600) */
    const char *dsn;       /* PostgreSQL connection string (later) */
    unsigned busy_timeout_ms; /* wait this long for a lock; 0 = 5000 */
} zt_store_cfg;

/* Fixed-size fields so a record can live on the stack; no heap ownership. zt_user_dispose wipes
 * the password hash: call it when done with a filled zt_user. */
typedef struct zt_user {
    char id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1]; /* as first written; compared case-insensitively (ASCII) */
    char name[ZT_STORE_NAME_MAX + 1];
    char password_hash[ZT_STORE_HASH_MAX + 1]; /* opaque encoded hash; "" = no password set */
    bool disabled;
    int64_t created_at, updated_at;
    int64_t password_changed_at; /* 0 = never */
    int64_t revocation_epoch;    /* sessions made under an older epoch are dead */
    /* Schema 13 (store_source.h): where the account comes from and how long it lives. */
    char source[ZT_STORE_SOURCE_MAX + 1];           /* "local", "scim", "ldap:corp", ... */
    char external_id[ZT_STORE_EXTERNAL_ID_MAX + 1]; /* the source's id; "" = none */
    int64_t expires_at;                             /* 0 = never */
    char sponsor[ZT_STORE_EMAIL_MAX + 1];           /* who vouches for a guest; "" = nobody */
    int64_t last_sign_in_at;                        /* 0 = never signed in */
} zt_user;

typedef struct zt_store_group {
    char name[ZT_STORE_GROUP_MAX + 1];
    int64_t created_at;
    uint64_t n_members;
    /* Schema 13: who made the group, its id there and its free-text name ("3年1組"). */
    char source[ZT_STORE_SOURCE_MAX + 1];
    char external_id[ZT_STORE_EXTERNAL_ID_MAX + 1];
    char display_name[ZT_STORE_NAME_MAX + 1];
} zt_store_group;

typedef struct zt_store_totp {
    unsigned char secret_enc[ZT_STORE_TOTP_BLOB_MAX];
    size_t secret_enc_len;
    int64_t last_used_step; /* highest accepted time step; 0 = none yet */
    int64_t created_at;
} zt_store_totp;

typedef struct zt_store_recovery {
    int64_t id; /* stable row id, for zt_store_recovery_use */
    char code_hash[ZT_STORE_HASH_MAX + 1];
    int64_t created_at;
    int64_t used_at; /* 0 = unused */
} zt_store_recovery;

typedef struct zt_store_session {
    char id_hash[ZT_STORE_SESSION_HASH_MAX + 1]; /* hash of the session id; never the id itself */
    char user_id[ZT_STORE_ID_LEN + 1];
    int64_t created_at;
    int64_t auth_time;                            /* primary (password) authentication */
    int64_t mfa_time;                             /* 0 = no second factor yet */
    char mfa_method[ZT_STORE_MFA_METHOD_MAX + 1]; /* "" when mfa_time is 0 */
    char ip[ZT_STORE_IP_MAX + 1];
    char user_agent[ZT_STORE_UA_MAX + 1];
    int64_t idle_expires_at; /* never later than absolute_expires_at (the store clamps) */
    int64_t absolute_expires_at;
    int64_t user_epoch; /* the user's revocation_epoch when the session was made */
    char device_id[ZT_STORE_DEVICE_ID_MAX + 1]; /* "" = none */
    /* Schema 2: */
    char host[ZT_STORE_HOST_MAX + 1]; /* host the cookie was issued for; "" = v1 row (any) */
    char parent_hash[ZT_STORE_SESSION_HASH_MAX + 1]; /* code exchange: portal session; "" none */
    bool mfa_pending;                                /* password ok, second factor still owed */
    /* Filled by get/list from the user's row, so one lookup is enough to validate. user_disabled
     * is also true when the account has expired at the store's clock (zt_store_now, test
     * offsets included): an expired account's sessions are refused like a disabled one's. */
    int64_t user_epoch_now;
    bool user_disabled;
    int64_t user_expires_at; /* schema 13: the account's expiry, 0 = never (caches recheck it) */
    /* Schema 3, filled by get/list by the same statement: the user's risk level (0 none, 1 low,
     * 2 medium, 3 high, the order of zt_risk), the highest among open detections (at_risk or
     * confirmed_compromised; low ones older than ZT_STORE_RISK_LOW_RETENTION_S excluded). */
    int user_risk;
    /* The sign-in's risk (0..3): the highest at_risk sign-in-activity detection recorded for
     * this session's hash or, for a code-exchange child, its parent's. MFA on that sign-in
     * remediates it (and replaces the session). */
    int sign_in_risk;
    /* Schema 7: the authentication methods (RFC 8176 amr values joined by commas, e.g.
     * "pwd,otp,mfa"); "" on rows made before it (session/session.h derives them). */
    char amr[ZT_STORE_AMR_MAX + 1];
    /* Schema 9: the AAGUID of the passkey that signed this session in or stepped it up, 32
     * lowercase hex digits; "" = none or unknown (rows made before). */
    char passkey_aaguid[32 + 1];
} zt_store_session;

/* List callbacks: return 0 to go on, anything else stops the walk and is returned. While a
 * callback runs, the same thread must not call into the store (-EDEADLK): copy what you need. */
typedef int (*zt_store_user_cb)(void *ctx, const zt_user *u);
typedef int (*zt_store_group_cb)(void *ctx, const zt_store_group *g);
typedef int (*zt_store_name_cb)(void *ctx, const char *name);
typedef int (*zt_store_recovery_cb)(void *ctx, const zt_store_recovery *r);
typedef int (*zt_store_session_cb)(void *ctx, const zt_store_session *s);

/* Open (creating and migrating as needed). NULL on failure with the reason in err. */
zt_store *zt_store_open(const zt_store_cfg *cfg, char *err, size_t errlen);
/* The store a loaded config file describes (`state_dir`, the `store:` section): SQLite in
 * STATE_DIR, or PostgreSQL with the connection string from store.dsn / store.dsn_file. NULL
 * with err set on failure. */
struct zt_config;
zt_store *zt_store_open_config(const struct zt_config *cfg, char *err, size_t errlen);
/* The PostgreSQL connection string of a loaded config (store.dsn, or the first line of
 * store.dsn_file), malloc'd, for a component that keeps its own connection (src/cluster's
 * listener). NULL with err set (never the string itself) when the backend is not postgresql
 * or the file cannot be read. It may hold a password: free it with zt_store_config_dsn_free,
 * which wipes it first, and never log it. */
char *zt_store_config_dsn(const struct zt_config *cfg, char *err, size_t errlen);
void zt_store_config_dsn_free(char *dsn);
/* The config engine's descriptor of the `store:` section (store_config.c). */
struct zt_config_module;
extern const struct zt_config_module zt_store_config_module;
/* Accepts NULL. */
void zt_store_close(zt_store *st);
/* Another connection to the same database (the cluster thread's) has just reached it: a backend
 * that fails fast while its database is known down (PostgreSQL, for a second after each failed
 * connect) tries again at its next use, so a sign-in offered because the database is back does
 * not fail on a stale verdict. Thread-safe; nothing for SQLite; accepts NULL. */
void zt_store_reachable_again(zt_store *st);
/* This thread's last error message ("" if none). Valid until this thread's next store call. */
const char *zt_store_errmsg(void);
const char *zt_store_backend_name(const zt_store *st);

/* Users. Ids are stable lowercase hex strings; emails unique regardless of ASCII case. */
int zt_store_user_add(zt_store *st, const char *email, const char *name, const char *password_hash,
                      const char *const *groups, size_t n_groups, zt_user *out);
int zt_store_user_get_by_id(zt_store *st, const char *id, zt_user *out);
int zt_store_user_get_by_email(zt_store *st, const char *email, zt_user *out);
/* Ordered by email. */
int zt_store_user_list(zt_store *st, zt_store_user_cb cb, void *ctx);
/* Group names of a user, ordered by name. */
int zt_store_user_groups(zt_store *st, const char *user_id, zt_store_name_cb cb, void *ctx);
int zt_store_user_delete(zt_store *st, const char *id);
/* The next four revoke: each bumps revocation_epoch and deletes the user's sessions in the same
 * transaction. epoch_out (nullable) receives the new epoch. Enabling does not revoke. */
int zt_store_user_set_disabled(zt_store *st, const char *id, bool disabled, int64_t *epoch_out);
int zt_store_user_set_password(zt_store *st, const char *id, const char *password_hash,
                               int64_t *epoch_out);
/* Replace a password hash by a stronger hash of the same password (parameters upgraded at
 * sign-in). Not a password change: no revocation. Only if the stored hash is still old_hash,
 * else -ENOENT (changed meanwhile: keep the newer one). */
int zt_store_user_rehash_password(zt_store *st, const char *id, const char *old_hash,
                                  const char *new_hash);
/* Deletes the TOTP credential and every recovery code too. */
int zt_store_user_reset_mfa(zt_store *st, const char *id, int64_t *epoch_out);
int zt_store_user_bump_epoch(zt_store *st, const char *id, int64_t *epoch_out);
/* Wipes the password hash; accepts NULL. */
void zt_user_dispose(zt_user *u);

/* Groups; names unique regardless of ASCII case. Memberships made here are the source "local"
 * (an admin's); zt_store_user_sync_groups (store_source.h) manages another source's. Membership
 * changes do not revoke sessions:
 * authorization reads current groups on each decision. */
int zt_store_group_add(zt_store *st, const char *name);
int zt_store_group_get(zt_store *st, const char *name, zt_store_group *out);
int zt_store_group_delete(zt_store *st, const char *name);
int zt_store_group_list(zt_store *st, zt_store_group_cb cb, void *ctx);
int zt_store_group_members(zt_store *st, const char *group, zt_store_user_cb cb, void *ctx);
/* -ENOENT when the group or user is missing (or, for remove, not a member); -EEXIST if already. */
int zt_store_group_member_add(zt_store *st, const char *group, const char *user_id);
int zt_store_group_member_remove(zt_store *st, const char *group, const char *user_id);

/* TOTP: one credential per user; set replaces it (re-enrolment) and resets last_used_step. */
int zt_store_totp_set(zt_store *st, const char *user_id, const void *secret_enc, size_t len);
int zt_store_totp_get(zt_store *st, const char *user_id, zt_store_totp *out);
/* Atomically accept time step `step` only if it is later than every step accepted before, so a
 * code cannot be replayed even by two threads at once; -EALREADY otherwise. */
__attribute__((warn_unused_result)) int zt_store_totp_use_step(zt_store *st, const char *user_id,
                                                               int64_t step);
/* Wipes the secret blob; accepts NULL. */
void zt_store_totp_dispose(zt_store_totp *t);

/* Recovery codes (stored hashed): set replaces all of a user's codes. */
int zt_store_recovery_set(zt_store *st, const char *user_id, const char *const *code_hashes,
                          size_t n);
int zt_store_recovery_list(zt_store *st, const char *user_id, zt_store_recovery_cb cb, void *ctx);
/* Mark one code used, atomically; -EALREADY if it was used before, -ENOENT if no such code. */
__attribute__((warn_unused_result)) int zt_store_recovery_use(zt_store *st, const char *user_id,
                                                              int64_t code_id);

/* Sessions, keyed by the hash of the session id. create: -EEXIST on a duplicate hash, -ENOENT
 * when the user does not exist. */
int zt_store_session_create(zt_store *st, const zt_store_session *s);
int zt_store_session_get(zt_store *st, const char *id_hash, zt_store_session *out);
/* Move the idle expiry (clamped to the absolute one). A write: callers throttle it. */
int zt_store_session_touch(zt_store *st, const char *id_hash, int64_t idle_expires_at);
/* Record a completed second factor on an existing session (step-up); clears mfa_pending. */
int zt_store_session_set_mfa(zt_store *st, const char *id_hash, int64_t mfa_time,
                             const char *mfa_method);
int zt_store_session_delete(zt_store *st, const char *id_hash);
/* Delete a session and, in the same statement, every session whose parent_hash chain leads to
 * it (sessions made from it by code exchange). n_out (nullable) receives how many went; -ENOENT
 * when none existed. */
int zt_store_session_delete_tree(zt_store *st, const char *id_hash, uint64_t *n_out);
/* Ordered by creation time. */
int zt_store_session_list_by_user(zt_store *st, const char *user_id, zt_store_session_cb cb,
                                  void *ctx);
/* n_out (nullable) receives how many were deleted. */
int zt_store_session_delete_by_user(zt_store *st, const char *user_id, uint64_t *n_out);
/* Delete sessions whose idle or absolute expiry is <= now. */
int zt_store_session_delete_expired(zt_store *st, int64_t now, uint64_t *n_out);
/* How many sessions are live at `now`: unexpired, made under the user's current revocation
 * epoch, user enabled and not expired, second factor not owed. Counts every host's session (portal
 * and apps). */
int zt_store_session_count(zt_store *st, int64_t now, uint64_t *n);

/* ---- risk state (schema 3) ---- */

#define ZT_STORE_RISK_TYPE_MAX 31         /* detection type: [a-z_] ("leaked_credentials") */
#define ZT_STORE_RISK_DETAIL_MAX 47       /* why the state last changed: [A-Za-z_] */
#define ZT_STORE_RISK_EVIDENCE_MAX 1023   /* evidence: one JSON object, printable UTF-8 */
#define ZT_STORE_RISK_PROP_MAX 127        /* one familiarity property value */
#define ZT_STORE_RISK_PROPS_PER_KIND 256  /* values kept per user and kind (least recent go) */
#define ZT_STORE_RISK_DETECTIONS_MAX 1000 /* per user; closed, low and oldest go first */
#define ZT_STORE_RISK_LOW_RETENTION_S (180 * 86400) /* low detections age out (as Entra) */
#define ZT_STORE_RISK_PENDING_TTL_S 86400           /* unlearned sign-ins wait this long for MFA */

/* Detection states, as Graph riskState. Which transitions are allowed is decided by the risk
 * module (src/risk); the store applies a transition only from the states the caller names. */
typedef enum zt_store_risk_state {
    ZT_STORE_RISK_AT_RISK = 0,
    ZT_STORE_RISK_REMEDIATED,
    ZT_STORE_RISK_DISMISSED,
    ZT_STORE_RISK_CONFIRMED_COMPROMISED,
    ZT_STORE_RISK_N_STATES,
} zt_store_risk_state;

/* "at_risk", "remediated", "dismissed", "confirmed_compromised"; "unknown" out of range. */
const char *zt_store_risk_state_name(zt_store_risk_state s);
bool zt_store_risk_state_parse(const char *s, zt_store_risk_state *out);

typedef struct zt_store_detection {
    int64_t id; /* set by zt_store_detection_add */
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1]; /* filled by get/list; ignored by add */
    char type[ZT_STORE_RISK_TYPE_MAX + 1];
    bool user_activity; /* user risk (true) or sign-in risk (false): Graph activity */
    int level;          /* 1 low, 2 medium, 3 high */
    zt_store_risk_state state;
    char detail[ZT_STORE_RISK_DETAIL_MAX + 1];     /* Graph riskDetail of the last change */
    char evidence[ZT_STORE_RISK_EVIDENCE_MAX + 1]; /* JSON object ("{}" if none) */
    char ip[ZT_STORE_IP_MAX + 1];
    char session_hash[ZT_STORE_SESSION_HASH_MAX + 1]; /* sign-in's session; "" = none */
    int64_t created_at, updated_at;
} zt_store_detection;

/* A state change applied to every detection that matches all given selectors (at least one of
 * id, user_id, session_hash) and whose state is in from_mask (bits 1u << state). */
typedef struct zt_store_risk_update {
    int64_t id;               /* one detection; 0 = any */
    const char *user_id;      /* NULL = any */
    const char *session_hash; /* NULL = any */
    bool sign_in_only;        /* only sign-in activity */
    unsigned from_mask;
    zt_store_risk_state to;
    const char *detail; /* Graph riskDetail, e.g. "userPerformedSecuredPasswordChange" */
    int64_t now;
} zt_store_risk_update;

typedef struct zt_store_risk_filter {
    const char *user_id; /* NULL = every user */
    int state;           /* a zt_store_risk_state, or -1 = any */
    uint64_t limit;      /* 0 = no limit */
} zt_store_risk_filter;

/* Familiarity properties of one sign-in. */
typedef enum zt_store_prop {
    ZT_STORE_PROP_IP_PREFIX = 0, /* IPv4 /24 or IPv6 /48 network */
    ZT_STORE_PROP_ASN,
    ZT_STORE_PROP_COUNTRY,
    ZT_STORE_PROP_DEVICE,
    ZT_STORE_PROP_UA, /* browser family + OS, e.g. "chrome/windows" */
    ZT_STORE_N_PROPS,
} zt_store_prop;

/* "ip_prefix", "asn", "country", "device", "ua". */
const char *zt_store_prop_name(zt_store_prop p);

typedef struct zt_store_signin {
    char user_id[ZT_STORE_ID_LEN + 1];
    int64_t at;
    char ip[ZT_STORE_IP_MAX + 1];
    char props[ZT_STORE_N_PROPS][ZT_STORE_RISK_PROP_MAX + 1]; /* "" = unknown: not learned */
    bool has_location; /* false for unknown locations and VPN egress: travel ignores them */
    double lat, lon, accuracy_km;
} zt_store_signin;

/* A user's learned sign-in history. */
typedef struct zt_store_signin_profile {
    uint64_t count;   /* learned sign-ins; 0 = none yet (then every other field is zero) */
    int64_t first_at; /* first learned sign-in */
    int64_t last_at;
    char last_ip[ZT_STORE_IP_MAX + 1];
    bool has_location; /* last learned sign-in that had a usable location: */
    double lat, lon, accuracy_km;
    int64_t location_at;
    char location_country[3];
    bool seen[ZT_STORE_N_PROPS]; /* the queried sign-in's value was seen before ("" = false) */
} zt_store_signin_profile;

typedef int (*zt_store_detection_cb)(void *ctx, const zt_store_detection *d);

/* Insert one detection (detail, evidence, ip, session_hash may be ""; created_at > 0); d->id is
 * set. -ENOENT when the user does not exist. Keeps at most ZT_STORE_RISK_DETECTIONS_MAX per
 * user. */
int zt_store_detection_add(zt_store *st, zt_store_detection *d);
int zt_store_detection_get(zt_store *st, int64_t id, zt_store_detection *out);
/* Newest first. */
int zt_store_detection_list(zt_store *st, const zt_store_risk_filter *f, zt_store_detection_cb cb,
                            void *ctx);
/* n_out (nullable) receives how many changed. With an id selector: -ENOENT when no such
 * detection, -EALREADY when its state is not in from_mask. Otherwise 0 even when none matched. */
int zt_store_detection_update(zt_store *st, const zt_store_risk_update *u, uint64_t *n_out);
/* The user's risk level now (0..3), the value zt_store_session_get fills in user_risk. */
int zt_store_user_risk(zt_store *st, const char *user_id, int64_t now, int *level_out);

/* History of `q->user_id` and, for each of q's non-empty properties, whether it was seen. A
 * user without history gets count 0 (not -ENOENT). */
int zt_store_signin_profile_get(zt_store *st, const zt_store_signin *q,
                                zt_store_signin_profile *out);
/* One transaction: insert the detections (ids written back), then either learn the sign-in
 * into the history (learn), or park it under pending_hash (the session's id hash) for
 * zt_store_signin_learn_pending, or (pending_hash NULL) drop it. */
int zt_store_signin_record(zt_store *st, const zt_store_signin *si, bool learn,
                           const char *pending_hash, zt_store_detection *dets, size_t n_dets);
/* Learn a parked sign-in (its risk was remediated, e.g. by MFA). *learned (nullable) tells
 * whether one was waiting; none waiting is not an error. Parked sign-ins older than
 * ZT_STORE_RISK_PENDING_TTL_S are dropped. */
int zt_store_signin_learn_pending(zt_store *st, const char *session_hash, int64_t now,
                                  bool *learned);

/* Device trust records: devices, enrolment codes, posture, alerts (schema 4). */
#include "store/store_device.h"
/* Incidents with their timelines (schema 5). */
#include "store/store_incident.h"
/* WebAuthn credentials and user handles (schema 6). */
#include "store/store_webauthn.h"
/* Temporary Access Passes (schema 8). */
#include "store/store_tap.h"
/* The OpenID Connect provider: grants, codes, tokens, client assertion jtis (schema 10). */
#include "store/store_oidc.h"
/* The SAML identity provider's per-session state (schema 11). */
#include "store/store_saml.h"
/* Named administrators: roles with scopes, personal API tokens (schema 14). */
#include "store/store_admin.h"
/* The Zero Trust assessment: questionnaire answers and kept runs (schema 15). */
#include "store/store_assess.h"
/* Counters shared by gateways on one database: throttle and spray (PostgreSQL schema 3). */
#include "store/store_counter.h"
/* Pending `ztagent tunnel` sign-ins (ztgate-idp.db; PostgreSQL schema 5). */
#include "store/store_agent.h"

#endif
