/* Persistent store: users, groups, TOTP credentials, recovery codes and sessions, behind one
 * interface whose backend (SQLite now, PostgreSQL later) is chosen at open. It never sees a raw
 * password, session id or TOTP secret: callers pass encoded hashes and encrypted blobs, and it
 * never prints. Every write is one transaction: it fully happens or not at all.
 *
 * Errors: 0 on success, else a negative errno-style code; zt_store_errmsg() then describes it.
 *   -ENOENT   not found          -EEXIST   duplicate (email, group, membership, session)
 *   -EINVAL   bad input (empty, too long, bad characters) -EALREADY TOTP step or code already used
 *   -EBUSY    database locked past the busy timeout        -EIO      any other database failure
 *   -ENOMEM   out of memory      -EDEADLK  store called from inside one of its own list callbacks
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
#define ZT_STORE_IP_MAX 45         /* textual IPv6 */
#define ZT_STORE_UA_MAX 512        /* User-Agent: callers truncate, store refuses longer */
#define ZT_STORE_DEVICE_ID_MAX 64
#define ZT_STORE_HOST_MAX 253       /* session host: DNS name or [IPv6] literal, no port */
#define ZT_STORE_TOTP_BLOB_MAX 256  /* encrypted TOTP secret */
#define ZT_STORE_RECOVERY_MAX 32    /* recovery codes per user */
#define ZT_STORE_USER_GROUPS_MAX 64 /* groups given at user_add */

/* Schema version this build writes; a database with a higher PRAGMA user_version is refused. */
#define ZT_STORE_SCHEMA_VERSION 2

typedef struct zt_store zt_store;

typedef enum zt_store_backend {
    ZT_STORE_SQLITE = 0,
    ZT_STORE_POSTGRES, /* reserved: not built yet, open fails with a clear message */
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
} zt_user;

typedef struct zt_store_group {
    char name[ZT_STORE_GROUP_MAX + 1];
    int64_t created_at;
    uint64_t n_members;
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
    /* Filled by get/list from the user's row, so one lookup is enough to validate: */
    int64_t user_epoch_now;
    bool user_disabled;
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
/* Accepts NULL. */
void zt_store_close(zt_store *st);
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

/* Groups; names unique regardless of ASCII case. Membership changes do not revoke sessions:
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
 * epoch, user enabled, second factor not owed. Counts every host's session (portal and apps). */
int zt_store_session_count(zt_store *st, int64_t now, uint64_t *n);

#endif
