/* Roster import (src/roster): the whole store as one plan sees it, and a plan's changes applied
 * in one write transaction. Schema 13 onwards (store_source.h); included by nothing else: the
 * roster module and its tests include it. The error codes and threading rules of store.h apply.
 *
 * A batch is all or nothing: the first failing change rolls every change back and says which
 * one failed (*failed_at), so an import that breaks on row 9,000 leaves the store as it was. */
#ifndef ZT_STORE_STORE_ROSTER_H
#define ZT_STORE_STORE_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store/store.h"
#include "store/store_source.h"

#define ZT_STORE_ROSTER_OPS_MAX 1000000 /* changes in one batch */

/* One user with every membership and who made each; all borrowed for the callback. */
typedef struct zt_store_roster_user {
    const zt_user *user;
    const char *const *groups;  /* group names, in name order as the store returns them */
    const char *const *sources; /* the source that made each membership */
    size_t n_groups;
} zt_store_roster_user;
typedef int (*zt_store_roster_cb)(void *ctx, const zt_store_roster_user *u);

/* Every user (by email) with their memberships, read by one statement so the walk sees one
 * state of the store. The callback must not call the store (-EDEADLK). */
int zt_store_roster_snapshot(zt_store *st, zt_store_roster_cb cb, void *ctx);

typedef enum zt_store_roster_kind {
    ZT_STORE_ROSTER_CREATE,
    ZT_STORE_ROSTER_UPDATE,
    ZT_STORE_ROSTER_DISABLE,
} zt_store_roster_kind;

typedef struct zt_store_roster_op {
    zt_store_roster_kind kind;
    const char *user_id;           /* UPDATE, DISABLE */
    zt_store_user_new create;      /* CREATE; its source is the batch's, its groups must exist */
    zt_store_user_profile profile; /* UPDATE; all NULL and !set_expires: profile unchanged */
    bool sync_groups;              /* UPDATE: the batch source's memberships become `groups` */
    const char *const *groups;
    size_t n_groups;
    /* Filled by apply: */
    char user_id_out[ZT_STORE_ID_LEN + 1]; /* CREATE: the new user's id */
    int64_t epoch_out;     /* DISABLE, and an UPDATE whose expiry is past: the new epoch */
    bool revoked;          /* the user's sessions were ended (epoch bump, session rows gone) */
    uint64_t sessions_out; /* session rows the user had before a revoking change */
} zt_store_roster_op;

/* Apply ops in order in one write transaction, after creating new_groups (tagged with source;
 * ones that exist are left alone). DISABLE bumps the epoch and deletes the user's sessions, as
 * zt_store_user_set_disabled does; an UPDATE setting an expiry already past does the same
 * without disabling. On failure nothing is written, *failed_at is the failing op's index
 * (n_ops for a group or the commit) and zt_store_errmsg() says why. -EINVAL for a bad argument
 * (checked before the transaction), else the failing change's code. */
int zt_store_roster_apply(zt_store *st, const char *source, const char *const *new_groups,
                          size_t n_new_groups, zt_store_roster_op *ops, size_t n_ops,
                          size_t *failed_at);

#endif
