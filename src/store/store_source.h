/* Identity sources, schema 13 onwards: users and groups that come from somewhere else (an
 * upstream OpenID Connect provider, an LDAP directory, SCIM provisioning, a roster import) and
 * the account facts they bring (an external id, an expiry, a sponsor, attributes to keep).
 *
 * A source is a short name: "local" (made in ztgate by an admin), "import", "scim",
 * "oidc:NAME", "ldap:NAME". A user's external_id is unique within its source. Memberships
 * remember their source too, so a sync from one source replaces only what that source made: an
 * admin's manual membership survives the next directory sync.
 *
 * Like store.h, these calls check every argument before the backend runs (-EINVAL with a
 * message, nothing written), and changes go through the account service (session/account.h),
 * never from a front-end directly. */
#ifndef ZT_STORE_STORE_SOURCE_H
#define ZT_STORE_STORE_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"

/* A new user. NULL strings are "" (source: "local"); groups are memberships made by source. */
typedef struct zt_store_user_new {
    const char *email, *name, *password_hash, *source, *external_id, *sponsor;
    int64_t expires_at; /* 0 = never */
    const char *const *groups;
    size_t n_groups;
} zt_store_user_new;

/* -EEXIST when the email, or (source, external_id), is taken; -ENOENT when a group is missing. */
int zt_store_user_create(zt_store *st, const zt_store_user_new *n, zt_user *out);
/* -ENOENT when the source has no user with that id. */
int zt_store_user_get_by_external(zt_store *st, const char *source, const char *external_id,
                                  zt_user *out);
/* The source's users, ordered by email. */
int zt_store_user_list_by_source(zt_store *st, const char *source, zt_store_user_cb cb, void *ctx);

/* Fields to change; NULL (and set_expires false) leave a field as it is. sponsor "" clears it,
 * external_id "" too. -ENOENT unknown user, -EEXIST email or (source, external_id) taken. */
typedef struct zt_store_user_profile {
    const char *email, *name, *source, *external_id, *sponsor;
    bool set_expires;
    int64_t expires_at; /* 0 = never */
} zt_store_user_profile;
int zt_store_user_update(zt_store *st, const char *id, const zt_store_user_profile *p);

/* Accounts whose expiry has come (0 < expires_at <= now) and whose sessions may still need
 * ending: not changed since they expired (updated_at < expires_at), or expired within the last
 * window_s seconds and still holding session rows. By the expires_at index, so a gateway's
 * sweep never reads every account. Ordered by expires_at. */
int zt_store_user_list_expired(zt_store *st, int64_t now, int64_t window_s, zt_store_user_cb cb,
                               void *ctx);

/* Record a successful sign-in (the inactive-accounts report reads it). */
int zt_store_user_touch_sign_in(zt_store *st, const char *id, int64_t when);

/* The user's source attributes, a JSON object ("{}" when none), malloc'd into *json_out: free()
 * it. Set replaces the object; -EINVAL when json is not one object or longer than
 * ZT_STORE_ATTRS_MAX. */
int zt_store_user_attrs_get(zt_store *st, const char *id, char **json_out);
int zt_store_user_attrs_set(zt_store *st, const char *id, const char *json);

/* Afterwards the user's memberships made by `source` are exactly `groups` (at most
 * ZT_STORE_USER_GROUPS_MAX, no duplicates); memberships from other sources stay, and a group the
 * user is already in by another source is left as it is. A missing group is created (tagged with
 * source) when create_missing, else -ENOENT naming it and nothing changes. *changed (nullable)
 * tells whether any membership was added or removed. One transaction. */
int zt_store_user_sync_groups(zt_store *st, const char *user_id, const char *source,
                              const char *const *groups, size_t n, bool create_missing,
                              bool *changed);

/* The group's source facts; NULL fields stay. -ENOENT unknown group, -EEXIST when (source,
 * external_id) belongs to another group. */
typedef struct zt_store_group_meta {
    const char *display_name, *source, *external_id;
} zt_store_group_meta;
int zt_store_group_set_meta(zt_store *st, const char *name, const zt_store_group_meta *m);
/* -ENOENT unknown group, -EEXIST new_name taken (ASCII case ignored). Policies name groups:
 * renaming one changes who they match, so callers tell gateways (the account service does). */
int zt_store_group_rename(zt_store *st, const char *name, const char *new_name);
/* -ENOENT when the source has no group with that id. */
int zt_store_group_get_by_external(zt_store *st, const char *source, const char *external_id,
                                   zt_store_group *out);

/* Checks shared by the sources' front-ends (true = acceptable): a source name is 1..64 of
 * [A-Za-z0-9:._-]; an external id 0..255 bytes of UTF-8 without control characters. */
bool zt_store_source_valid(const char *source);
bool zt_store_external_id_valid(const char *external_id);

#endif
