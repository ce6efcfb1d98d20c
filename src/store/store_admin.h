/* Named administrators (schema 14): the roles a user holds, each optionally scoped to one group,
 * and the personal API tokens of administrators. Included by store/store.h; the error codes and
 * threading rules there apply. What a role allows is decided one layer up (session/admins.h):
 * the store only keeps the rows.
 *
 * Roles and tokens go with their user (deleting a user deletes them). A scope names a group by
 * its canonical name; when the group is deleted the row stays and matches nobody, so a scoped
 * admin never silently becomes an unscoped one.
 *
 * A token itself is never stored: the row keeps SHA-256 of the whole token text (256 CSPRNG
 * bits: a fast hash is enough, as store_tap.h explains for passes). Lookup is by the token's
 * public id; the hash is compared in constant time by the caller.
 *
 * A token made by another token (through the admin API) names it as its parent (schema 16).
 * Revoking a token revokes, in the same transaction, every token made from it and from those in
 * turn, whoever owns them: a leaked token's offspring go with it. */
#ifndef ZT_STORE_STORE_ADMIN_H
#define ZT_STORE_STORE_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_ROLE_MAX 31         /* "security_operator": [a-z_] */
#define ZT_STORE_ADMIN_ACTOR_MAX 127 /* who granted / created: "root", "admin:EMAIL" */
#define ZT_STORE_ADMIN_TOKEN_ID_LEN 16
#define ZT_STORE_ADMIN_TOKEN_NAME_MAX 64
#define ZT_STORE_ADMIN_TOKEN_HASH_LEN 32 /* SHA-256 */
#define ZT_STORE_ADMIN_TOKENS_MAX 50     /* live (unrevoked, unexpired) tokens per admin */

/* One role of one user; scope "" = everywhere. */
typedef struct zt_store_admin_role {
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1]; /* filled by list; ignored by add */
    char role[ZT_STORE_ROLE_MAX + 1];
    char scope[ZT_STORE_GROUP_MAX + 1];
    char created_by[ZT_STORE_ADMIN_ACTOR_MAX + 1];
    int64_t created_at;
} zt_store_admin_role;

typedef int (*zt_store_admin_role_cb)(void *ctx, const zt_store_admin_role *r);

/* Add a role row. The scope group must exist (-ENOENT, message says so) and is stored with its
 * canonical spelling; -ENOENT no such user; -EEXIST the same role and scope already held.
 * only_first: add it only when no role row exists at all (the bootstrap's first admin), else
 * -EEXIST, checked in the same write transaction. */
int zt_store_admin_role_add(zt_store *st, const zt_store_admin_role *r, bool only_first);
/* Remove the user's rows of `role` (NULL = every role) with `scope` (NULL = any scope).
 * *n_out (nullable) counts them; -ENOENT when none matched. */
int zt_store_admin_role_remove(zt_store *st, const char *user_id, const char *role,
                               const char *scope, uint64_t *n_out);
/* Role rows of one user (NULL = everyone), ordered by email, role, scope. */
int zt_store_admin_role_list(zt_store *st, const char *user_id, zt_store_admin_role_cb cb,
                             void *ctx);
/* How many distinct users hold any role. */
int zt_store_admin_count(zt_store *st, uint64_t *n_out);

/* A personal API token's record; the hash stays inside the store. */
typedef struct zt_store_admin_token {
    char id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1]; /* lowercase hex, public */
    char user_id[ZT_STORE_ID_LEN + 1];
    char email[ZT_STORE_EMAIL_MAX + 1]; /* filled by get/list */
    char name[ZT_STORE_ADMIN_TOKEN_NAME_MAX + 1];
    uint32_t scopes; /* a permission mask (session/admins.h) */
    char created_by[ZT_STORE_ADMIN_ACTOR_MAX + 1];
    char parent_id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1]; /* the token that made it; "" = none */
    int64_t created_at, expires_at;
    int64_t last_used_at; /* 0 = never */
    int64_t revoked_at;   /* 0 = live */
} zt_store_admin_token;

typedef int (*zt_store_admin_token_cb)(void *ctx, const zt_store_admin_token *t);

/* Store a new token. -ENOENT no such user; -EEXIST id taken; -ENOSPC the user already has
 * ZT_STORE_ADMIN_TOKENS_MAX live tokens; -EINVAL bad fields (expires_at <= created_at). */
int zt_store_admin_token_add(zt_store *st, const zt_store_admin_token *t,
                             const unsigned char hash[ZT_STORE_ADMIN_TOKEN_HASH_LEN]);
/* One token by id, with its stored hash into hash_out (nullable). -ENOENT. */
int zt_store_admin_token_get(zt_store *st, const char *id, zt_store_admin_token *out,
                             unsigned char hash_out[ZT_STORE_ADMIN_TOKEN_HASH_LEN]);
/* Tokens of one user (NULL = everyone), newest first. */
int zt_store_admin_token_list(zt_store *st, const char *user_id, zt_store_admin_token_cb cb,
                              void *ctx);
/* What revoking a token ended besides the token itself: the unrevoked tokens made from it, from
 * those, and so on. n counts them all; the first ZT_STORE_ADMIN_CASCADE_NAMED are named (id and
 * owner), in no particular order. */
#define ZT_STORE_ADMIN_CASCADE_NAMED 32
typedef struct zt_store_admin_cascade {
    size_t n;
    struct {
        char id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1];
        char user_id[ZT_STORE_ID_LEN + 1];
    } named[ZT_STORE_ADMIN_CASCADE_NAMED];
} zt_store_admin_cascade;

/* Revoke the token and its offspring (above) in one transaction; *more (nullable) receives the
 * offspring. -ENOENT none; -EALREADY the token was revoked already and none of its offspring
 * was left to revoke. */
int zt_store_admin_token_revoke(zt_store *st, const char *id, int64_t now,
                                zt_store_admin_cascade *more);
/* Remember a use (last_used_at = now); a missing id is not an error. */
int zt_store_admin_token_touch(zt_store *st, const char *id, int64_t now);

#endif
