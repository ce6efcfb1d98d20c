/* Account operations, each written once for every front-end: the CLI, the admin API, the portal
 * (a user's own password change) and the playbooks call these, never the store directly. One
 * operation does, in order: its store change, its audit record (OCSF Account Change, naming the
 * actor the front-end passes in), and the revocation bump that makes running gateways drop
 * their session caches. Confirming a user compromised, which also opens incidents and runs
 * playbooks, lives one layer up in response/confirm.h and is called the same way.
 *
 * The audit record goes to a sink the caller chooses (the gateway's writer, the CLI's audit
 * spool, the incident log's callback): through every front-end the records are identical but
 * for the actor, their times and ids. Front-ends still record their own call (the admin API's
 * HTTP record, the CLI's command line); this record is the change itself.
 *
 * Passwords arrive hashed: hashing is the front-end's (the CLI hashes in-process, the gateway on
 * the libuv pool). Inputs are looked up and checked here, so every front-end refuses the same
 * things with the same errno. It never prints and never logs: failures come back as errno and,
 * for the parts after the change is saved, in zt_account_result. */
#ifndef ZT_SESSION_ACCOUNT_H
#define ZT_SESSION_ACCOUNT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "audit/event.h"
#include "lib/buf.h"
#include "store/store.h"
#include "store/store_source.h"

/* Where an operation's audit record goes; write returns 0 or a negative errno. */
typedef int (*zt_audit_sink_fn)(void *ctx, const char *json, size_t len);
typedef struct zt_audit_sink {
    zt_audit_sink_fn write; /* NULL: audit off */
    void *ctx;
} zt_audit_sink;

/* Who asked; strings borrowed for the call. Only these fields differ between the records two
 * front-ends write for the same change. */
typedef struct zt_actor {
    const char *name;           /* "admin-token:3f2a...", "root" (CLI), "playbook:stolen" */
    const char *type;           /* OCSF actor.user.type: "Admin", "User", "System" */
    const char *credential_uid; /* nullable: the admin token's fingerprint */
    const char *process;        /* nullable: "ztgate-cli" */
    const char *request_id; /* nullable: the front-end's own record (metadata.correlation_uid) */
} zt_actor;

/* The head every record of an admin's change shares, whichever module writes it: b initialised
 * (16 KiB cap), the event begun with status success, its message and who's actor.user.* and
 * actor.process.name. Add the record's own fields, then zt_actor_event_write. */
void zt_actor_event_begin(zt_event *ev, zt_buf *b, zt_event_class cls, unsigned activity,
                          const char *message, const zt_actor *who);
/* The tail: metadata (a fresh record uid, who's request as correlation), end, write to sink;
 * disposes b. Returns 0 or a negative errno. */
int zt_actor_event_write(zt_event *ev, zt_buf *b, zt_audit_sink sink, const zt_actor *who);

/* The services an operation acts through; all borrowed. */
typedef struct zt_account_env {
    zt_store *store;
    const char *state_dir; /* revocation counter; NULL = nobody to tell (tests) */
    zt_audit_sink audit;
} zt_account_env;

/* What happened besides the change. A failure here does not undo the change. */
typedef struct zt_account_result {
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1];
    char group[ZT_STORE_GROUP_MAX + 1]; /* canonical spelling, group operations */
    int64_t epoch;                      /* the user's revocation epoch afterwards */
    uint64_t sessions_revoked;          /* session rows the user had before a revoking change */
    char change[128];                   /* "disabled; sessions revoked": the record's summary */
    int audit_rc;      /* 0, or why the record could not be written (the change stands) */
    int revocation_rc; /* 0, or why STATE_DIR/revocation could not be bumped (likewise) */
    char missing_group[ZT_STORE_GROUP_MAX + 1]; /* create: the group that does not exist */
} zt_account_result;

typedef enum zt_account_op {
    ZT_ACCOUNT_CREATE = 0,
    ZT_ACCOUNT_DISABLE,
    ZT_ACCOUNT_ENABLE,
    ZT_ACCOUNT_SET_PASSWORD,
    ZT_ACCOUNT_RESET_MFA,
    ZT_ACCOUNT_REVOKE_SESSIONS,
    ZT_ACCOUNT_DELETE,
    ZT_ACCOUNT_GROUP_CREATE,
    ZT_ACCOUNT_GROUP_DELETE,
    ZT_ACCOUNT_MEMBER_ADD,
    ZT_ACCOUNT_MEMBER_REMOVE,
    ZT_ACCOUNT_TAP_ISSUE,
    ZT_ACCOUNT_TAP_REVOKE,
    ZT_ACCOUNT_UPDATE,
    ZT_ACCOUNT_SYNC_GROUPS,
    ZT_ACCOUNT_GROUP_UPDATE,
    /* Named administrators (session/admins.h writes these through zt_account_record). */
    ZT_ACCOUNT_ADMIN_GRANT,
    ZT_ACCOUNT_ADMIN_REVOKE,
    ZT_ACCOUNT_ADMIN_TOKEN_CREATE,
    ZT_ACCOUNT_ADMIN_TOKEN_REVOKE,
    ZT_ACCOUNT_N_OPS,
} zt_account_op;

/* Whether the account's expiry (zt_user.expires_at; 0 = never) has come at `now`. An expired
 * account is refused wherever a disabled one is: sign-in, session creation, the store's session
 * lookup (src/lifecycle sweeps its sessions away with an audit record). */
static inline bool zt_account_expired(const zt_user *u, int64_t now)
{
    return u->expires_at > 0 && now >= u->expires_at;
}

/* "user.disable", ... (the admin API's operation names); "unknown" out of range. */
const char *zt_account_op_name(zt_account_op op);

/* A new user. groups must exist (-ENOENT, res->missing_group names the first that does not);
 * -EEXIST when the email, or the source's external id, is taken. password_hash NULL or "": no
 * password (sign-in impossible until one is set). source NULL is "local" (store_source.h says
 * what the others are); memberships are made with the user's source. No revocation bump:
 * nobody has a session yet. */
typedef struct zt_account_new {
    const char *email, *name, *password_hash;
    const char *const *groups;
    size_t n_groups;
    const char *source, *external_id, *sponsor; /* NULL = "local", "", "" */
    int64_t expires_at;                         /* 0 = never */
} zt_account_new;
int zt_account_create(const zt_account_env *env, const zt_actor *who, const zt_account_new *n,
                      zt_account_result *res);

/* Changes to one user, named by id (front-ends resolve emails). Every one but enable ends the
 * user's sessions (epoch bump in the store's transaction); all of them tell gateways.
 * -ENOENT unknown user, -EINVAL bad arguments, or a store error. */
int zt_account_disable(const zt_account_env *env, const zt_actor *who, const char *user_id,
                       zt_account_result *res);
int zt_account_enable(const zt_account_env *env, const zt_actor *who, const char *user_id,
                      zt_account_result *res);
int zt_account_set_password(const zt_account_env *env, const zt_actor *who, const char *user_id,
                            const char *password_hash, zt_account_result *res);
int zt_account_reset_mfa(const zt_account_env *env, const zt_actor *who, const char *user_id,
                         zt_account_result *res);
int zt_account_revoke_sessions(const zt_account_env *env, const zt_actor *who, const char *user_id,
                               zt_account_result *res);
/* Sessions, credentials and memberships go with the user. */
int zt_account_delete(const zt_account_env *env, const zt_actor *who, const char *user_id,
                      zt_account_result *res);

/* Change a user's profile (store_source.h: NULL fields stay). Ends the user's sessions (and
 * tells gateways) when the email changes or the new expiry is already past: a session names
 * its user by email, and an expired account must not go on. -ENOENT, -EEXIST (email or external
 * id taken), -EINVAL. */
int zt_account_update(const zt_account_env *env, const zt_actor *who, const char *user_id,
                      const zt_store_user_profile *p, zt_account_result *res);
/* Make the user's memberships from `source` exactly `groups` (zt_store_user_sync_groups),
 * creating missing groups when create_missing. The record names the groups added and removed;
 * gateways are told when anything changed. res->change is "" when nothing did (and then no
 * record is written: a directory sync repeats this for every user every time). */
int zt_account_sync_groups(const zt_account_env *env, const zt_actor *who, const char *user_id,
                           const char *source, const char *const *groups, size_t n,
                           bool create_missing, zt_account_result *res);

/* Replace the user's source attributes (store_source.h: one JSON object, at most
 * ZT_STORE_ATTRS_MAX bytes) as a source keeps them (SCIM's name and enterprise extension, the
 * directory's DN). A "user.update" record saying "attributes changed"; none when the stored
 * object is already `json` byte for byte (a directory sync repeats this for every user). No
 * session ends: attributes decide nothing. -ENOENT, -EINVAL not one object or too big. */
int zt_account_set_attrs(const zt_account_env *env, const zt_actor *who, const char *user_id,
                         const char *json, zt_account_result *res);

/* The record of a change a batch already saved in its own store transaction (the roster import,
 * src/roster, applies a whole file in one): the record the one-user operation `op` writes for
 * the same change, from res as that operation fills it (user_id, email, group, change,
 * sessions_revoked). No revocation bump: the batch bumps once. 0 when audit is off, else the
 * sink's code; -EINVAL for an op out of range. */
int zt_account_record(const zt_account_env *env, const zt_actor *who, zt_account_op op,
                      const zt_account_result *res);

/* Temporary Access Pass (store_tap.h): a pass that signs the user in for one purpose, to
 * register a passkey or enrol TOTP. Issuing replaces the user's previous pass. lifetime_s 0 is
 * the default (1 hour), else ZT_STORE_TAP_LIFETIME_MIN_S..MAX_S; uses 1..ZT_STORE_TAP_USES_MAX
 * or ZT_STORE_TAP_UNLIMITED (any number until it expires). The pass is returned once in
 * pass_out (the caller shows it and wipes it; it is stored only hashed) with its expiry in
 * *expires_out. A disabled user gets no pass (-EPERM): it could not sign in with it. No
 * revocation bump: no session changes. An expired user is refused like a disabled one. -ENOENT
 * unknown user, -EINVAL bad bounds. */
int zt_account_tap_issue(const zt_account_env *env, const zt_actor *who, const char *user_id,
                         int64_t lifetime_s, int uses, char pass_out[ZT_STORE_TAP_TEXT_LEN + 1],
                         int64_t *expires_out, zt_account_result *res);
/* Revoke the user's pass and end the sessions opened with it (enrolment-only sessions; the
 * user's other sessions stay; res->sessions_revoked counts the ended ones, and gateways are
 * told when there were any). -ENOENT when the user has no pass (or no such user), -EALREADY
 * when it is revoked already. */
int zt_account_tap_revoke(const zt_account_env *env, const zt_actor *who, const char *user_id,
                          zt_account_result *res);

/* Groups: -EEXIST (create), -ENOENT (unknown group or user; remove: not a member), -EEXIST
 * (add: already a member). Membership decides authorization, so every change but create
 * tells gateways. */
int zt_account_group_create(const zt_account_env *env, const zt_actor *who, const char *name,
                            zt_account_result *res);
int zt_account_group_delete(const zt_account_env *env, const zt_actor *who, const char *name,
                            zt_account_result *res);
/* A group's description as its source gives it (store_source.h: display name, source, external
 * id; NULL fields stay). A "group.update" record naming what changed; -ENOENT unknown group,
 * -EEXIST another group of the source has that external id. No gateway is told: the name and
 * the memberships that policies read do not change. */
int zt_account_group_update(const zt_account_env *env, const zt_actor *who, const char *name,
                            const zt_store_group_meta *m, zt_account_result *res);
int zt_account_member_add(const zt_account_env *env, const zt_actor *who, const char *group,
                          const char *user_id, zt_account_result *res);
int zt_account_member_remove(const zt_account_env *env, const zt_actor *who, const char *group,
                             const char *user_id, zt_account_result *res);

#endif
