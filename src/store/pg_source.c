/* PostgreSQL half of the identity-source calls (store_source.h; SQLite half
 * sqlite_source.inc). E-mail addresses and group names compare as SQLite's NOCASE columns do,
 * lower() with lower() (the unique indexes are on lower(col)). A failed statement ends a
 * PostgreSQL transaction, so which unique index an insert or update hit is read from the
 * error (the index's name), not looked up afterwards as SQLite does. */
#include "store/pg_source.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secure.h"

/* The one user a query returned, or -ENOENT with missing's message. */
static int pgsrc_one_user(pg_conn *c, const char *sql, const pg_params *p, zt_user *out,
                          const char *missing)
{
    PGresult *r = NULL;
    int rc = pg_q(c, sql, p, &r, NULL, "reading a user");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) > 0 ? pg_row_user(r, 0, out) : zt_store_seterr(-ENOENT, "%s", missing);
    PQclear(r);
    return rc;
}

/* Each user a query returned, handed to cb (after the query finished). */
static int pgsrc_walk_users(pg_conn *c, const char *sql, const pg_params *p, zt_store_user_cb cb,
                            void *ctx)
{
    PGresult *r = NULL;
    int rc = pg_q(c, sql, p, &r, NULL, "listing users");
    zt_user u;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        rc = pg_row_user(r, i, &u);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &u);
            pg_cb_end(c);
        }
        zt_user_dispose(&u);
    }
    PQclear(r);
    return rc;
}

/* The user's row, locked against a concurrent sync or batch for the rest of the transaction
 * (SQLite's BEGIN IMMEDIATE serialises them); FOR NO KEY UPDATE lets foreign-key checks by. */
static int pgsrc_user_lock(pg_conn *c, const char *id)
{
    pg_params p = {0};
    pg_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", &p, &r, NULL,
                  "looking up a user");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    PQclear(r);
    return rc;
}

/* Why an insert or update hit a unique index: the email (users_email) or the source's
 * external id (users_external). */
static int pgsrc_taken(const char *email, const char *source, const char *external_id)
{
    if (email != NULL && strstr(zt_store_errmsg(), "users_email") != NULL)
        return zt_store_seterr(-EEXIST, "user %s already exists", email);
    return zt_store_seterr(-EEXIST, "another user of source %s has external id %s",
                           source != NULL ? source : "(this)",
                           external_id != NULL ? external_id : "");
}

int pgsrc_group_create(pg_conn *c, const char *name, const char *source, int64_t *made)
{
    pg_params p = {0};
    pg_text(&p, name);
    pg_int(&p, zt_store_now());
    pg_text(&p, source);
    return pg_run(c,
                  "INSERT INTO groups (name, created_at, source) VALUES ($1, $2, $3) "
                  "ON CONFLICT DO NOTHING",
                  &p, made, "creating a group");
}

/* 1 when a group of that name (any case) exists, 0 when not. */
static int pgsrc_group_exists(pg_conn *c, const char *name)
{
    pg_params p = {0};
    pg_text(&p, name);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT 1 FROM groups WHERE lower(name) = lower($1)", &p, &r, NULL,
                  "reading a group");
    if (rc == 0)
        rc = PQntuples(r) > 0;
    PQclear(r);
    return rc;
}

/* Add the user to group with source; the group is made first when create and missing.
 * *changes (nullable) receives the rows written (a group made counts). */
static int pgsrc_member_add(pg_conn *c, const char *group, const char *user_id, const char *source,
                            bool create, int64_t *changes)
{
    int64_t made = 0, n = 0;
    int rc = create ? pgsrc_group_create(c, group, source, &made) : 0;
    pg_params p = {0};
    pg_text(&p, group);
    pg_text(&p, user_id);
    pg_int(&p, zt_store_now());
    pg_text(&p, source);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO memberships (group_id, user_id, created_at, source) "
                    "SELECT id, $2::text, $3::bigint, $4::text FROM groups "
                    "WHERE lower(name) = lower($1) ON CONFLICT DO NOTHING",
                    &p, &n, "adding a group member");
    if (rc == 0 && n == 0) {
        int found = pgsrc_group_exists(c, group);
        rc = found < 0    ? found
             : found == 0 ? zt_store_seterr(-ENOENT, "group %s not found", group)
                          : 0;
    }
    if (changes != NULL)
        *changes = made + n;
    return rc;
}

static int pgsrc_user_by_id(pg_conn *c, const char *id, zt_user *out)
{
    pg_params p = {0};
    pg_text(&p, id);
    char missing[80];
    snprintf(missing, sizeof(missing), "user %s not found", id);
    return pgsrc_one_user(c, "SELECT " PG_USER_COLS " FROM users u WHERE u.id = $1", &p, out,
                          missing);
}

int pgsrc_create_in(pg_conn *c, const zt_store_user_new *n, zt_user *out)
{
    char id[ZT_STORE_ID_LEN + 1];
    zt_random_hex(id, ZT_STORE_ID_LEN / 2);
    pg_params p = {0};
    pg_text(&p, id);
    pg_text(&p, n->email);
    pg_text(&p, n->name);
    pg_text(&p, n->password_hash);
    pg_int(&p, zt_store_now());
    pg_text(&p, n->source);
    pg_text(&p, n->external_id);
    pg_int(&p, n->expires_at);
    pg_text(&p, n->sponsor);
    int rc = pg_run(c,
                    "INSERT INTO users (id, email, name, password_hash, password_changed_at, "
                    "created_at, updated_at, source, external_id, expires_at, sponsor) "
                    "VALUES ($1, $2, $3, NULLIF($4::text, ''), CASE WHEN $4::text = '' THEN 0 "
                    "ELSE $5::bigint END, $5::bigint, $5::bigint, $6, $7, $8, $9)",
                    &p, NULL, "adding a user");
    if (rc == -EEXIST)
        return pgsrc_taken(n->email, n->source, n->external_id);
    for (size_t i = 0; rc == 0 && i < n->n_groups; i++)
        rc = pgsrc_member_add(c, n->groups[i], id, n->source, false, NULL);
    if (rc == 0 && out != NULL)
        rc = pgsrc_user_by_id(c, id, out);
    return rc;
}

typedef struct pgsrc_create_args {
    const zt_store_user_new *n;
    zt_user *out;
} pgsrc_create_args;

static int pgsrc_create_txn(pg_conn *c, void *arg)
{
    const pgsrc_create_args *a = arg;
    return pgsrc_create_in(c, a->n, a->out);
}

static int pgsrc_user_create(zt_store *st, const zt_store_user_new *n, zt_user *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgsrc_create_args a = {n, out};
    if (rc == 0)
        rc = pg_txn(c, pgsrc_create_txn, &a);
    if (rc != 0 && out != NULL)
        zt_user_dispose(out);
    return rc;
}

static int pgsrc_user_by_external(zt_store *st, const char *source, const char *external_id,
                                  zt_user *out)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, source);
    pg_text(&p, external_id);
    char missing[ZT_STORE_SOURCE_MAX + ZT_STORE_EXTERNAL_ID_MAX + 64];
    snprintf(missing, sizeof(missing), "no user of source %s has external id %s", source,
             external_id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgsrc_one_user(c,
                            "SELECT " PG_USER_COLS " FROM users u WHERE u.source = $1 AND "
                            "u.external_id = $2",
                            &p, out, missing);
    if (rc != 0)
        zt_user_dispose(out);
    return rc;
}

/* Ordered by email as SQLite's NOCASE column orders it: ASCII case folded, then bytes. */
static int pgsrc_user_list_by_source(zt_store *st, const char *source, zt_store_user_cb cb,
                                     void *ctx)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, source);
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc
                   : pgsrc_walk_users(c,
                                      "SELECT " PG_USER_COLS " FROM users u WHERE u.source = "
                                      "$1 ORDER BY lower(u.email COLLATE \"C\")",
                                      &p, cb, ctx);
}

static int pgsrc_user_list_expired(zt_store *st, int64_t now, int64_t window_s, zt_store_user_cb cb,
                                   void *ctx)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_int(&p, now);
    pg_int(&p, window_s);
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc
                   : pgsrc_walk_users(c,
                                      "SELECT " PG_USER_COLS " FROM users u WHERE "
                                      "u.expires_at <> 0 AND u.expires_at <= $1::bigint AND "
                                      "(u.updated_at < u.expires_at OR (u.expires_at > "
                                      "$1::bigint - $2::bigint AND EXISTS (SELECT 1 FROM "
                                      "sessions s WHERE s.user_id = u.id))) ORDER BY "
                                      "u.expires_at, u.id",
                                      &p, cb, ctx);
}

/* One statement: NULL parameters keep the column (COALESCE), so a profile changes only what
 * it names. A changed email or external id may hit a unique index. */
int pgsrc_update_in(pg_conn *c, const char *id, const zt_store_user_profile *p)
{
    pg_params q = {0};
    pg_text(&q, id);
    pg_text(&q, p->email);
    pg_text(&q, p->name);
    pg_text(&q, p->source);
    pg_text(&q, p->external_id);
    pg_text(&q, p->sponsor);
    pg_bool(&q, p->set_expires);
    pg_int(&q, p->expires_at);
    pg_int(&q, zt_store_now());
    int64_t n = 0;
    int rc = pg_run(c,
                    "UPDATE users SET email = COALESCE($2, email), name = COALESCE($3, name), "
                    "source = COALESCE($4, source), external_id = COALESCE($5, external_id), "
                    "sponsor = COALESCE($6, sponsor), expires_at = CASE WHEN $7::int <> 0 THEN "
                    "$8::bigint ELSE expires_at END, updated_at = $9 WHERE id = $1",
                    &q, &n, "updating a user");
    if (rc == -EEXIST)
        return pgsrc_taken(p->email, p->source, p->external_id);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    return rc;
}

typedef struct pgsrc_update_args {
    const char *id;
    const zt_store_user_profile *p;
} pgsrc_update_args;

static int pgsrc_update_txn(pg_conn *c, void *arg)
{
    const pgsrc_update_args *a = arg;
    return pgsrc_update_in(c, a->id, a->p);
}

static int pgsrc_user_update(zt_store *st, const char *id, const zt_store_user_profile *p)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgsrc_update_args a = {id, p};
    return rc != 0 ? rc : pg_txn(c, pgsrc_update_txn, &a);
}

/* Not updated_at: a sign-in does not change the account. GREATEST keeps it monotonic when two
 * gateways record sign-ins out of order. */
static int pgsrc_user_touch(zt_store *st, const char *id, int64_t when)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, when);
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "UPDATE users SET last_sign_in_at = GREATEST(last_sign_in_at, $2::bigint) "
                    "WHERE id = $1",
                    &p, &n, "recording a sign-in");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    return rc;
}

static int pgsrc_attrs_get(zt_store *st, const char *id, char **json_out)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, "SELECT attrs FROM users WHERE id = $1", &p, &r, NULL,
                  "reading a user's attributes");
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    else if (pg_col_null(r, 0, 0))
        rc = (*json_out = strdup("{}")) != NULL ? 0 : zt_store_seterr(-ENOMEM, "out of memory");
    else
        rc = pg_col_dup(r, 0, 0, json_out);
    PQclear(r);
    return rc;
}

/* JSON text without the whitespace between tokens, as SQLite's json() stores it (strings kept
 * byte for byte). PostgreSQL then checks it is one valid object. */
static char *pgsrc_minify(const char *json)
{
    size_t len = strlen(json);
    char *out = malloc(len + 1);
    if (out == NULL)
        return NULL;
    size_t at = 0;
    bool in_str = false, esc = false;
    for (const char *s = json; *s != '\0'; s++) {
        if (in_str) {
            esc = !esc && *s == '\\';
            in_str = esc || *s != '"';
        } else if (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r') {
            continue;
        } else {
            in_str = *s == '"';
        }
        out[at++] = *s;
    }
    out[at] = '\0';
    return out;
}

/* 0 when the user exists, -ENOENT when not. */
static int pgsrc_user_exists(pg_conn *c, const char *id)
{
    pg_params p = {0};
    pg_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT 1 FROM users WHERE id = $1", &p, &r, NULL, "looking up a user");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    PQclear(r);
    return rc;
}

/* Only one JSON object is stored; anything else is -EINVAL (json's input function refuses
 * malformed text with a 22P02, which pg.c maps to -EINVAL too). */
static int pgsrc_attrs_set(zt_store *st, const char *id, const char *json)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    char *mini = pgsrc_minify(json);
    int rc = mini == NULL ? zt_store_seterr(-ENOMEM, "out of memory") : pg_enter(st, &c);
    pg_params p = {0};
    pg_text(&p, id);
    pg_text(&p, mini);
    pg_int(&p, zt_store_now());
    if (rc == 0)
        rc = pg_run(c,
                    "UPDATE users SET attrs = $2::text, updated_at = $3 WHERE id = $1 AND "
                    "json_typeof($2::text::json) = 'object'",
                    &p, &n, "storing a user's attributes");
    free(mini);
    if (rc == -EINVAL || (rc == 0 && n == 0)) {
        rc = pgsrc_user_exists(c, id);
        if (rc == 0)
            rc = zt_store_seterr(-EINVAL, "attributes are not one JSON object");
    }
    return rc;
}

/* The list as a text[] literal: group names are plain tokens (store.c checks [A-Za-z0-9._-]),
 * so quoting each is enough. */
static char *pgsrc_names_array(const char *const *groups, size_t n)
{
    size_t cap = n * (ZT_STORE_GROUP_MAX + 3) + 3, at = 0;
    char *out = malloc(cap);
    if (out == NULL)
        return NULL;
    out[at++] = '{';
    for (size_t i = 0; i < n && at + ZT_STORE_GROUP_MAX + 4 < cap; i++)
        at += (size_t)snprintf(out + at, cap - at, "%s\"%s\"", i > 0 ? "," : "", groups[i]);
    out[at++] = '}';
    out[at] = '\0';
    return out;
}

/* Drop the source's memberships that are not in the list (names compare without case). */
static int pgsrc_sync_remove(pg_conn *c, const char *user_id, const char *source,
                             const char *const *groups, size_t n, bool *changed)
{
    char *names = pgsrc_names_array(groups, n);
    if (names == NULL)
        return zt_store_seterr(-ENOMEM, "out of memory");
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_text(&p, source);
    pg_text(&p, names);
    int64_t gone = 0;
    int rc = pg_run(c,
                    "DELETE FROM memberships WHERE user_id = $1 AND source = $2 AND group_id NOT "
                    "IN (SELECT id FROM groups WHERE lower(name) IN (SELECT lower(v) FROM "
                    "unnest($3::text[]) v))",
                    &p, &gone, "removing group members");
    free(names);
    *changed |= rc == 0 && gone > 0;
    return rc;
}

int pgsrc_sync_in(pg_conn *c, const char *user_id, const char *source, const char *const *groups,
                  size_t n, bool create, bool *changed)
{
    *changed = false;
    int rc = pgsrc_user_lock(c, user_id);
    if (rc == 0)
        rc = pgsrc_sync_remove(c, user_id, source, groups, n, changed);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        int64_t wrote = 0;
        rc = pgsrc_member_add(c, groups[i], user_id, source, create, &wrote);
        /* A group made here counts too: that is a change the caller reports. */
        *changed |= rc == 0 && wrote > 0;
    }
    return rc;
}

typedef struct pgsrc_sync_args {
    const char *user_id, *source;
    const char *const *groups;
    size_t n;
    bool create;
    bool changed;
} pgsrc_sync_args;

static int pgsrc_sync_txn(pg_conn *c, void *arg)
{
    pgsrc_sync_args *a = arg;
    return pgsrc_sync_in(c, a->user_id, a->source, a->groups, a->n, a->create, &a->changed);
}

static int pgsrc_sync_groups(zt_store *st, const char *user_id, const char *source,
                             const char *const *groups, size_t n, bool create_missing,
                             bool *changed)
{
    pg_conn *c = NULL;
    pgsrc_sync_args a = {user_id, source, groups, n, create_missing, false};
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgsrc_sync_txn, &a);
    if (changed != NULL)
        *changed = rc == 0 && a.changed;
    return rc;
}

static int pgsrc_group_set_meta(zt_store *st, const char *name, const zt_store_group_meta *m)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, name);
    pg_text(&p, m->display_name);
    pg_text(&p, m->source);
    pg_text(&p, m->external_id);
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "UPDATE groups SET display_name = COALESCE($2, display_name), "
                    "source = COALESCE($3, source), external_id = COALESCE($4, external_id) "
                    "WHERE lower(name) = lower($1)",
                    &p, &n, "updating a group");
    if (rc == -EEXIST)
        return zt_store_seterr(-EEXIST, "another group of that source has external id %s",
                               m->external_id != NULL ? m->external_id : "");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", name);
    return rc;
}

static int pgsrc_group_rename(zt_store *st, const char *name, const char *new_name)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, name);
    pg_text(&p, new_name);
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c, "UPDATE groups SET name = $2 WHERE lower(name) = lower($1)", &p, &n,
                    "renaming a group");
    if (rc == -EEXIST)
        return zt_store_seterr(-EEXIST, "group %s already exists", new_name);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", name);
    return rc;
}

static int pgsrc_group_by_external(zt_store *st, const char *source, const char *external_id,
                                   zt_store_group *out)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, source);
    pg_text(&p, external_id);
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT g.name, g.created_at, (SELECT count(*) FROM memberships m WHERE "
                  "m.group_id = g.id), g.source, g.external_id, g.display_name FROM groups g "
                  "WHERE g.source = $1 AND g.external_id = $2",
                  &p, &r, NULL, "reading a group");
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0) {
        rc = zt_store_seterr(-ENOENT, "no group of source %s has external id %s", source,
                             external_id);
    } else {
        memset(out, 0, sizeof(*out));
        out->created_at = pg_col_int(r, 0, 1);
        out->n_members = (uint64_t)pg_col_int(r, 0, 2);
        bool ok = pg_col(r, 0, 0, out->name, sizeof(out->name)) &&
                  pg_col(r, 0, 3, out->source, sizeof(out->source)) &&
                  pg_col(r, 0, 4, out->external_id, sizeof(out->external_id)) &&
                  pg_col(r, 0, 5, out->display_name, sizeof(out->display_name));
        rc = ok ? 0 : pg_corrupt("group");
    }
    PQclear(r);
    return rc;
}

const zt_store_source_ops pgsrc_ops = {
    .user_create = pgsrc_user_create,
    .user_by_external = pgsrc_user_by_external,
    .user_list_by_source = pgsrc_user_list_by_source,
    .user_update = pgsrc_user_update,
    .user_touch = pgsrc_user_touch,
    .user_list_expired = pgsrc_user_list_expired,
    .attrs_get = pgsrc_attrs_get,
    .attrs_set = pgsrc_attrs_set,
    .sync_groups = pgsrc_sync_groups,
    .group_set_meta = pgsrc_group_set_meta,
    .group_rename = pgsrc_group_rename,
    .group_by_external = pgsrc_group_by_external,
};
