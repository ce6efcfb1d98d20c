/* PostgreSQL half of the roster batch (store_roster.h; SQLite half sqlite_roster.inc). One
 * batch runs the bodies of the one-user calls (pg_source.h) inside a single transaction, so it
 * writes exactly what the one-by-one calls would, or nothing. */
#include "store/pg_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store/store_roster.h"

#define PGR_MEMBERS_MAX (ZT_STORE_USER_GROUPS_MAX * 4) /* memberships read per user */

/* "name=source name=source ...": group names are [A-Za-z0-9._-] and sources [A-Za-z0-9:._-],
 * so neither holds a space or '='. Users by email and groups by name, both ordered as SQLite's
 * NOCASE columns are: lower() under the C collation folds ASCII only, then compares bytes. */
#define PGR_SNAPSHOT                                                                               \
    "SELECT " PG_USER_COLS ", (SELECT string_agg(g.name || '=' || m.source, ' ' ORDER BY "         \
    "lower(g.name COLLATE \"C\")) FROM memberships m JOIN groups g ON g.id = m.group_id WHERE "    \
    "m.user_id = u.id) FROM users u ORDER BY lower(u.email COLLATE \"C\")"

/* Split the membership column in place into the parallel arrays; extra ones are dropped (a user
 * in more than PGR_MEMBERS_MAX groups is not a roster's). */
static size_t pgr_split(char *text, const char **groups, const char **sources)
{
    size_t n = 0;
    for (char *p = text; p != NULL && *p != '\0' && n < PGR_MEMBERS_MAX;) {
        char *end = strchr(p, ' ');
        if (end != NULL)
            *end = '\0';
        char *eq = strchr(p, '=');
        if (eq != NULL) {
            *eq = '\0';
            groups[n] = p;
            sources[n++] = eq + 1;
        }
        p = end != NULL ? end + 1 : NULL;
    }
    return n;
}

/* One statement, so the walk sees one snapshot; the callbacks run after it finished. */
static int pgr_snapshot(zt_store *st, zt_store_roster_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, PGR_SNAPSHOT, NULL, &r, NULL, "reading users for a roster");
    const char *groups[PGR_MEMBERS_MAX], *sources[PGR_MEMBERS_MAX];
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_user u;
        char *members = NULL;
        rc = pg_row_user(r, i, &u);
        if (rc == 0)
            rc = pg_col_dup(r, i, 14, &members);
        if (rc == 0) {
            zt_store_roster_user ru = {&u, groups, sources, pgr_split(members, groups, sources)};
            pg_cb_begin(c);
            rc = cb(ctx, &ru);
            pg_cb_end(c);
        }
        free(members);
        zt_user_dispose(&u);
    }
    PQclear(r);
    return rc;
}

/* End the user's sessions (and disable them when disable): the epoch bump and session delete
 * of zt_store_user_set_disabled / zt_store_user_bump_epoch. The UPDATE locks the user's row
 * first, so no session of the old epoch is made between the count and the delete. */
static int pgr_revoke(pg_conn *c, zt_store_roster_op *op, const char *id, bool disable)
{
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, zt_store_now());
    PGresult *r = NULL;
    int rc = pg_q(c,
                  disable ? "UPDATE users SET disabled = 1, revocation_epoch = revocation_epoch "
                            "+ 1, updated_at = $2 WHERE id = $1 RETURNING revocation_epoch"
                          : "UPDATE users SET revocation_epoch = revocation_epoch + 1, "
                            "updated_at = $2 WHERE id = $1 RETURNING revocation_epoch",
                  &p, &r, NULL, "updating a user");
    if (rc != 0)
        return rc;
    int64_t epoch = PQntuples(r) > 0 ? pg_col_int(r, 0, 0) : 0;
    rc = PQntuples(r) > 0 ? 0 : zt_store_seterr(-ENOENT, "user %s not found", id);
    PQclear(r);
    int64_t n = 0;
    pg_params q = {0};
    pg_text(&q, id);
    if (rc == 0)
        rc = pg_run(c, "DELETE FROM sessions WHERE user_id = $1", &q, &n,
                    "deleting a user's records");
    if (rc == 0) {
        op->epoch_out = epoch;
        op->sessions_out = (uint64_t)n;
        op->revoked = true;
    }
    return rc;
}

static bool pgr_profile_empty(const zt_store_user_profile *p)
{
    return p->email == NULL && p->name == NULL && p->source == NULL && p->external_id == NULL &&
           p->sponsor == NULL && !p->set_expires;
}

static int pgr_update(pg_conn *c, const char *source, zt_store_roster_op *op)
{
    int rc = 0;
    if (!pgr_profile_empty(&op->profile))
        rc = pgsrc_update_in(c, op->user_id, &op->profile);
    bool changed = false;
    if (rc == 0 && op->sync_groups)
        rc = pgsrc_sync_in(c, op->user_id, source, op->groups, op->n_groups, false, &changed);
    if (rc == 0 && op->profile.set_expires && op->profile.expires_at != 0 &&
        op->profile.expires_at <= zt_store_now())
        rc = pgr_revoke(c, op, op->user_id, false);
    return rc;
}

static int pgr_create(pg_conn *c, const char *source, zt_store_roster_op *op)
{
    zt_store_user_new n = op->create;
    n.name = n.name != NULL ? n.name : "";
    n.password_hash = n.password_hash != NULL ? n.password_hash : "";
    n.external_id = n.external_id != NULL ? n.external_id : "";
    n.sponsor = n.sponsor != NULL ? n.sponsor : "";
    n.source = source;
    zt_user u;
    int rc = pgsrc_create_in(c, &n, &u);
    if (rc == 0)
        snprintf(op->user_id_out, sizeof(op->user_id_out), "%s", u.id);
    zt_user_dispose(&u);
    return rc;
}

static int pgr_one(pg_conn *c, const char *source, zt_store_roster_op *op)
{
    switch (op->kind) {
    case ZT_STORE_ROSTER_CREATE:
        return pgr_create(c, source, op);
    case ZT_STORE_ROSTER_UPDATE:
        return pgr_update(c, source, op);
    case ZT_STORE_ROSTER_DISABLE:
        return pgr_revoke(c, op, op->user_id, true);
    }
    return zt_store_seterr(-EINVAL, "unknown roster change");
}

typedef struct pgr_apply_args {
    const char *source;
    const char *const *new_groups;
    size_t n_new;
    zt_store_roster_op *ops;
    size_t n_ops;
    size_t *failed_at;
    size_t failed_none; /* *failed_at as the caller set it (a group or the commit failed) */
} pgr_apply_args;

static void pgr_clear_results(zt_store_roster_op *ops, size_t n_ops)
{
    for (size_t i = 0; i < n_ops; i++) {
        ops[i].user_id_out[0] = '\0';
        ops[i].epoch_out = 0;
        ops[i].revoked = false;
        ops[i].sessions_out = 0;
    }
}

/* pg_txn may run this again after a deadlock: each attempt starts from clean results. */
static int pgr_apply_txn(pg_conn *c, void *arg)
{
    pgr_apply_args *a = arg;
    pgr_clear_results(a->ops, a->n_ops);
    *a->failed_at = a->failed_none;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n_new; i++)
        rc = pgsrc_group_create(c, a->new_groups[i], a->source, NULL);
    for (size_t i = 0; rc == 0 && i < a->n_ops; i++) {
        rc = pgr_one(c, a->source, &a->ops[i]);
        if (rc != 0)
            *a->failed_at = i;
    }
    return rc;
}

static int pgr_apply(zt_store *st, const char *source, const char *const *new_groups, size_t n_new,
                     zt_store_roster_op *ops, size_t n_ops, size_t *failed_at)
{
    pg_conn *c = NULL;
    pgr_apply_args a = {source, new_groups, n_new, ops, n_ops, failed_at, *failed_at};
    pgr_clear_results(ops, n_ops);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgr_apply_txn, &a);
    if (rc != 0) /* rolled back: nothing the ops say happened did */
        for (size_t i = 0; i < n_ops; i++) {
            ops[i].user_id_out[0] = '\0';
            ops[i].revoked = false;
        }
    return rc;
}

const zt_store_roster_ops pgr_ops = {
    .snapshot = pgr_snapshot,
    .apply = pgr_apply,
};
