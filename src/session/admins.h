/* Named administrators: roles, what each role may do, group scopes, and personal API tokens.
 * Every front-end (the admin API, the console, the CLI) asks these functions who may do what and
 * changes roles and tokens only through them, so the same change has the same effect and the
 * same audit record whichever front-end made it (only the actor differs).
 *
 * An administrator is a user who holds one or more roles; each role is held everywhere or in one
 * group (a school, a ward). A person's grant merges their roles: the union of the permissions,
 * everywhere when any role is unscoped, else the list of scope groups. A scoped grant reaches
 * the users who are members of a scope group; group memberships in the store are already flat
 * (identity sources follow nested groups when they sync, src/directory), so a member of a nested
 * group counts. A disabled or expired account has no grant at all.
 *
 * Tokens: "ztg_<16 hex id>_<43 base64url secret>" (256 CSPRNG bits), only SHA-256 of the text
 * is stored, compared in constant time. A token carries scopes, a subset of the permissions; its
 * power at each use is its scopes intersected with the owner's grant at that moment, so removing
 * a role disarms every token of the person. An expiry is required (default 30 days, at most a
 * year); the last use is kept.
 *
 * Changes write one audit record through the account env (session/account.h): "admin.grant",
 * "admin.revoke", "admin_token.create", "admin_token.revoke". Nothing here prints or logs; a
 * token's secret leaves only through the caller's output buffer, once. */
#ifndef ZT_SESSION_ADMINS_H
#define ZT_SESSION_ADMINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/i18n.h"
#include "session/account.h"
#include "store/store.h"

typedef enum zt_admin_role {
    ZT_ROLE_GLOBAL_ADMIN,
    ZT_ROLE_SECURITY_OPERATOR,
    ZT_ROLE_HELPDESK,
    ZT_ROLE_AUDITOR,
    ZT_ROLE_COUNT
} zt_admin_role;

typedef uint32_t zt_perms;
enum {
    ZT_PERM_USERS_READ = 1u << 0,
    ZT_PERM_USERS_WRITE = 1u << 1, /* create, disable, enable, delete, profile, group membership */
    ZT_PERM_CREDENTIALS = 1u << 2, /* reset MFA, TAP, password */
    ZT_PERM_SESSIONS_REVOKE = 1u << 3,
    ZT_PERM_DEVICES_READ = 1u << 4,
    ZT_PERM_DEVICES_WRITE = 1u << 5,
    ZT_PERM_RISK_READ = 1u << 6,
    ZT_PERM_RISK_WRITE = 1u << 7,
    ZT_PERM_INCIDENTS_READ = 1u << 8,
    ZT_PERM_INCIDENTS_WRITE = 1u << 9,
    ZT_PERM_AUDIT_READ = 1u << 10,
    ZT_PERM_POLICY_READ = 1u << 11,
    ZT_PERM_ASSESS = 1u << 12, /* save questionnaire answers / run and keep an assessment */
    ZT_PERM_ADMINS = 1u << 13, /* grant/revoke roles, other people's tokens */
};
#define ZT_PERM_ALL ((zt_perms)((1u << 14) - 1))
#define ZT_PERM_COUNT 14

#define ZT_ADMINS_SCOPES_MAX 16 /* distinct scope groups one person may hold */

/* What one person may do, all roles merged. */
typedef struct zt_admin_grant {
    zt_perms perms;
    /* True when every permission in perms is held without scope. A person with an unscoped
     * role and a scoped one (auditor everywhere, helpdesk in school-a) is not "everywhere":
     * the scope list then bounds all of perms (zt_admins_user_in_scope, fail closed), and
     * zt_admins_may_on_user lets the unscoped permissions (perms_everywhere) reach beyond it. */
    bool everywhere;
    zt_perms perms_everywhere; /* permissions held through unscoped roles */
    size_t n_scopes;
    char scopes[ZT_ADMINS_SCOPES_MAX][ZT_STORE_NAME_MAX + 1]; /* group names, when !everywhere */
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1];
    unsigned roles; /* bit (1u << zt_admin_role) for each role held */
} zt_admin_grant;

/* ---- roles and permissions (pure) ---- */

/* "global_admin", ...; "unknown" out of range. */
const char *zt_admins_role_name(zt_admin_role r);
/* 0 with *out, or -EINVAL for anything but the four names. */
int zt_admins_role_parse(const char *s, zt_admin_role *out);
zt_perms zt_admins_role_perms(zt_admin_role r);
/* The role's and the permission's names for people (en/ja catalogue, core/i18n_admin.h);
 * MSG_NONE out of range. */
zt_msg zt_admins_role_msg(zt_admin_role r);
zt_msg zt_admins_perm_msg(zt_perms one);
/* "users:read", ...; NULL for a mask that is not exactly one permission. */
const char *zt_admins_perm_name(zt_perms one);
/* A comma-separated list of permission names ("users:read,devices:write"); spaces around names
 * ignored; "all" is every permission. -EINVAL naming nothing known (bad points at the first
 * wrong name, nullable, at most 48 bytes copied). */
int zt_admins_perms_parse(const char *csv, zt_perms *out, char *bad, size_t badcap);
/* The names of the permissions in p, comma-separated ("" for none); truncated to cap. */
void zt_admins_perms_format(zt_perms p, char *out, size_t cap);
/* A lifetime "30d", "12h", "90m" into seconds, 1 hour .. 365 days. -EINVAL otherwise. */
int zt_admins_lifetime_parse(const char *s, int64_t *secs_out);
#define ZT_ADMINS_TOKEN_LIFETIME_DEFAULT_S (30 * 86400)
#define ZT_ADMINS_TOKEN_LIFETIME_MIN_S 3600
#define ZT_ADMINS_TOKEN_LIFETIME_MAX_S (365 * 86400)

/* ---- grants ---- */

/* The person's merged grant. -ENOENT: not an admin (or no such user); -EPERM: the account is
 * disabled or expired (no power at all); other negatives: store errors (fail closed). */
int zt_admins_grant_of(zt_store *st, const char *user_id, zt_admin_grant *out);
/* True when every permission in p is granted. */
bool zt_admins_may(const zt_admin_grant *g, zt_perms p);
/* 1 when user_id is inside g's scope (member of a scope group, nested groups counted), 0 outside,
 * <0 store error (callers fail closed). Always 1 for an unscoped grant. */
int zt_admins_user_in_scope(zt_store *st, const zt_admin_grant *g, const char *user_id);
/* 1 when g may do p to user_id: p granted, either held unscoped or user_id in scope, and
 * zt_admins_may_change_person; 0 when not; <0 store error (fail closed). */
int zt_admins_may_on_user(zt_store *st, const zt_admin_grant *g, zt_perms p, const char *user_id);
/* Changes that take an account over or shut it out (credentials: MFA, TAP, password;
 * users:write: disable, enable, delete, profile, membership). Done to a person who holds any
 * admin role, they would let a help desk become a global admin (a TAP for the global admin) or
 * lock one out, so they need the admins permission held without scope. */
#define ZT_ADMINS_PERMS_OVER_ADMINS (ZT_PERM_USERS_WRITE | ZT_PERM_CREDENTIALS)
/* 1 when g may do p to user_id as far as user_id's own roles go: p has nothing of
 * ZT_ADMINS_PERMS_OVER_ADMINS, user_id holds no role (a disabled admin's roles count), or g holds
 * ZT_PERM_ADMINS unscoped; 0 when not; <0 store error (fail closed). Scope is not checked here
 * (zt_admins_may_on_user checks both). */
int zt_admins_may_change_person(zt_store *st, const zt_admin_grant *g, zt_perms p,
                                const char *user_id);
/* 1 when the group is one of g's scope groups (or g is unscoped), else 0. */
int zt_admins_group_in_scope(const zt_admin_grant *g, const char *group);
/* A user's group names as g may see them (every front-end's view of a user): all of them for a
 * grant that reads users everywhere, else only g's scope groups, so a help desk scoped to one
 * school does not learn the other groups of a person in it. Ordered by name. */
int zt_admins_user_groups(zt_store *st, const zt_admin_grant *g, const char *user_id,
                          zt_store_name_cb cb, void *ctx);

/* ---- actors for records ---- */

/* name "admin:EMAIL", type "Admin", credential_uid cred ("token:ID", "console:SESSIONFP");
 * name_buf receives the name and must outlive *out. */
#define ZT_ADMINS_ACTOR_MAX (ZT_STORE_EMAIL_MAX + 8)
void zt_admins_actor(const zt_admin_grant *g, const char *cred, char name_buf[ZT_ADMINS_ACTOR_MAX],
                     const char *request_id, zt_actor *out);

/* ---- changes (audited through env) ---- */

/* Give user_id `role` everywhere (scope NULL or "") or in one group. -ENOENT no such user or
 * group (res->missing_group names the group), -EEXIST held already, -ENOSPC more than
 * ZT_ADMINS_SCOPES_MAX scopes. res->change: "role helpdesk granted in school-a". */
int zt_admins_grant(const zt_account_env *env, const zt_actor *who, const char *user_id,
                    zt_admin_role role, const char *scope, zt_account_result *res);
/* Remove `role` (ZT_ROLE_COUNT = every role) in `scope` (NULL = any scope, "" = the unscoped
 * one). -ENOENT when the user held no such role. -EMLINK when it would remove the last unscoped
 * global admin (nobody could grant roles any more but root on the gateway host): every
 * front-end obeys it; grant global_admin to someone else first. */
int zt_admins_revoke(const zt_account_env *env, const zt_actor *who, const char *user_id,
                     zt_admin_role role, const char *scope, zt_account_result *res);

/* Tokens. */
#define ZT_ADMINS_TOKEN_PREFIX "ztg_"
#define ZT_ADMINS_TOKEN_SECRET_CHARS 43 /* 32 bytes, base64url without padding */
#define ZT_ADMINS_TOKEN_LEN                                                                        \
    (sizeof(ZT_ADMINS_TOKEN_PREFIX) - 1 + ZT_STORE_ADMIN_TOKEN_ID_LEN + 1 +                        \
     ZT_ADMINS_TOKEN_SECRET_CHARS)

typedef struct zt_admins_token_new {
    const char *user_id;   /* the owner; must be an admin */
    const char *name;      /* what it is for: "backup script" */
    zt_perms scopes;       /* 0 = the owner's permissions now; else must be within them */
    int64_t lifetime_s;    /* 0 = default */
    const char *parent_id; /* the token making it (admin API), NULL = none: revoking that token
                              revokes this one too */
} zt_admins_token_new;

/* A new token for n->user_id: its text once in token_out (the caller shows it, then wipes it),
 * its record in *out (nullable). -ENOENT owner not an admin (or no such user), -EPERM scopes
 * beyond the owner's permissions, -EINVAL bad name or lifetime, -ENOSPC too many live tokens. */
int zt_admins_token_create(const zt_account_env *env, const zt_actor *who,
                           const zt_admins_token_new *n, char token_out[ZT_ADMINS_TOKEN_LEN + 1],
                           zt_store_admin_token *out, zt_account_result *res);
/* Revoke a token and every token made from it, to any depth, whoever owns them (a leaked
 * token's offspring go with it). One record for the token; one more for each of its offspring,
 * naming its owner and the token it came from. *more (nullable) receives the offspring.
 * -ENOENT, -EALREADY (revoked already, nothing made from it left to revoke). */
int zt_admins_token_revoke(const zt_account_env *env, const zt_actor *who, const char *id,
                           zt_account_result *res, zt_store_admin_cascade *more);

/* Whether text has the shape of a personal token (prefix, id, secret lengths and alphabets). */
bool zt_admins_token_shaped(const char *tok, size_t n);

/* A verified token: the effective grant (owner's grant with perms ∩ token scopes) and the
 * token's record. */
typedef struct zt_admins_auth {
    zt_admin_grant grant;
    zt_store_admin_token token;
} zt_admins_auth;
/* Check a presented token at `now`: -EINVAL not token-shaped, -EACCES unknown id or wrong
 * secret, -ECANCELED revoked, -ETIMEDOUT expired, -EPERM the owner holds no role any more (or
 * is disabled), other negatives store errors. On success the use is remembered (last_used_at,
 * written at most once a minute). */
int zt_admins_token_verify(zt_store *st, const char *tok, size_t n, int64_t now,
                           zt_admins_auth *out);

/* The bootstrap: make user_id the first global admin, and give them a first token (name
 * "first token", all permissions, default lifetime) in token_out. -EEXIST when any admin exists
 * already (checked in the store's write transaction). */
int zt_admins_first(const zt_account_env *env, const zt_actor *who, const char *user_id,
                    char token_out[ZT_ADMINS_TOKEN_LEN + 1], zt_store_admin_token *out,
                    zt_account_result *res);

#endif
