/* PostgreSQL half of admin roles and tokens (store_admin.h; SQLite half sqlite_admin.inc, whose
 * statements these follow). Two checks there relied on SQLite's single writer: "only the first
 * administrator" (bootstrap) and the cap on a user's live tokens. Here each takes an advisory
 * transaction lock first (all role grants share one; tokens one per user), so two gateways or
 * CLI runs cannot both pass the check. */
#include <errno.h>
#include <string.h>

#include "store/pg_int.h"

#define PGA_ROLE_COLS "r.user_id, u.email, r.role, r.scope, r.created_by, r.created_at"
#define PGA_TOKEN_COLS                                                                             \
    "t.id, t.user_id, u.email, t.name, t.scopes, t.created_by, t.created_at, t.expires_at, "       \
    "t.last_used_at, t.revoked_at, t.parent_id"

static int pga_role_row(const PGresult *res, int row, zt_store_admin_role *r)
{
    memset(r, 0, sizeof(*r));
    bool ok = pg_col(res, row, 0, r->user_id, sizeof(r->user_id)) &&
              pg_col(res, row, 1, r->email, sizeof(r->email)) &&
              pg_col(res, row, 2, r->role, sizeof(r->role)) &&
              pg_col(res, row, 3, r->scope, sizeof(r->scope)) &&
              pg_col(res, row, 4, r->created_by, sizeof(r->created_by));
    r->created_at = pg_col_int(res, row, 5);
    return ok ? 0 : pg_corrupt("admin role");
}

static int pga_token_row(const PGresult *r, int row, zt_store_admin_token *t)
{
    memset(t, 0, sizeof(*t));
    int64_t scopes = pg_col_int(r, row, 4);
    bool ok = pg_col(r, row, 0, t->id, sizeof(t->id)) &&
              pg_col(r, row, 1, t->user_id, sizeof(t->user_id)) &&
              pg_col(r, row, 2, t->email, sizeof(t->email)) &&
              pg_col(r, row, 3, t->name, sizeof(t->name)) &&
              pg_col(r, row, 5, t->created_by, sizeof(t->created_by)) && scopes >= 0 &&
              scopes <= UINT32_MAX;
    t->scopes = (uint32_t)scopes;
    t->created_at = pg_col_int(r, row, 6);
    t->expires_at = pg_col_int(r, row, 7);
    t->last_used_at = pg_col_int(r, row, 8);
    t->revoked_at = pg_col_int(r, row, 9);
    ok = ok && pg_col(r, row, 10, t->parent_id, sizeof(t->parent_id));
    return ok ? 0 : pg_corrupt("admin token");
}

/* One int from a one-row, one-column query. */
static int pga_int(pg_conn *c, const char *sql, const pg_params *p, int64_t *out, const char *what)
{
    PGresult *r = NULL;
    int rc = pg_q(c, sql, p, &r, NULL, what);
    if (rc == 0 && PQntuples(r) != 1)
        rc = zt_store_seterr(-EIO, "%s: no row", what);
    if (rc == 0)
        *out = pg_col_int(r, 0, 0);
    PQclear(r);
    return rc;
}

/* ---- roles ---- */

typedef struct pga_role_args {
    const zt_store_admin_role *r;
    bool only_first;
    char scope[ZT_STORE_GROUP_MAX + 1]; /* canonical spelling */
} pga_role_args;

/* 1 with the canonical name when the group exists, 0 when not, negative on error. */
static int pga_group_name(pg_conn *c, const char *name, char *out, size_t cap)
{
    pg_params p = {0};
    pg_text(&p, name);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT name FROM groups WHERE lower(name) = lower($1)", &p, &r, NULL,
                  "looking up a scope group");
    if (rc == 0 && PQntuples(r) > 0)
        rc = pg_col(r, 0, 0, out, cap) ? 1 : pg_corrupt("group name");
    PQclear(r);
    return rc;
}

static int pga_role_add_txn(pg_conn *c, void *arg)
{
    pga_role_args *a = arg;
    int rc = pg_run(c, "SELECT pg_advisory_xact_lock(hashtext('admin_roles'))", NULL, NULL,
                    "locking the admin roles");
    if (rc == 0 && a->only_first) {
        int64_t n = 0;
        rc = pga_int(c, "SELECT count(*) FROM admin_roles", NULL, &n, "counting admin roles");
        if (rc == 0 && n > 0)
            return zt_store_seterr(-EEXIST, "an administrator exists already");
    }
    a->scope[0] = '\0';
    if (rc == 0 && a->r->scope[0] != '\0') {
        rc = pga_group_name(c, a->r->scope, a->scope, sizeof(a->scope));
        if (rc == 0)
            return zt_store_seterr(-ENOENT, "no such group: %s", a->r->scope);
        rc = rc == 1 ? 0 : rc;
    }
    pg_params p = {0};
    pg_text(&p, a->r->user_id);
    pg_text(&p, a->r->role);
    pg_text(&p, a->scope);
    pg_text(&p, a->r->created_by);
    pg_int(&p, a->r->created_at);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO admin_roles (user_id, role, scope, created_by, created_at) "
                    "VALUES ($1, $2, $3, $4, $5)",
                    &p, NULL, "granting an admin role");
    if (rc == -ENOENT)
        rc = zt_store_seterr(-ENOENT, "no such user");
    else if (rc == -EEXIST)
        rc = zt_store_seterr(-EEXIST, "the user holds this role with this scope already");
    return rc;
}

static int pga_role_add(zt_store *st, const zt_store_admin_role *r, bool only_first)
{
    pg_conn *c = NULL;
    pga_role_args a = {.r = r, .only_first = only_first};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pga_role_add_txn, &a);
}

static int pga_role_remove(zt_store *st, const char *user_id, const char *role, const char *scope,
                           uint64_t *n_out)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_text(&p, role);
    pg_text(&p, scope);
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    /* A NULL filter matches every row; a scope compares without case, as group names do. */
    if (rc == 0)
        rc = pg_run(c,
                    "DELETE FROM admin_roles WHERE user_id = $1 AND ($2::text IS NULL OR "
                    "role = $2::text) AND ($3::text IS NULL OR lower(scope) = lower($3::text))",
                    &p, &n, "removing admin roles");
    if (n_out != NULL)
        *n_out = rc == 0 ? (uint64_t)n : 0;
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "the user holds no such role");
    return rc;
}

static int pga_role_list(zt_store *st, const char *user_id, zt_store_admin_role_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, user_id);
    int rc = pg_enter(st, &c);
    /* SQLite orders emails without case (NOCASE) and byte by byte: lower() in the C collation. */
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGA_ROLE_COLS " FROM admin_roles r JOIN users u ON u.id = r.user_id "
                  "WHERE $1::text IS NULL OR r.user_id = $1::text "
                  "ORDER BY lower(u.email) COLLATE \"C\", r.role COLLATE \"C\", "
                  "r.scope COLLATE \"C\"",
                  &p, &r, NULL, "listing admin roles");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_admin_role role;
        rc = pga_role_row(r, i, &role);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &role);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

static int pga_count(zt_store *st, uint64_t *n_out)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pga_int(c, "SELECT count(DISTINCT user_id) FROM admin_roles", NULL, &n,
                     "counting administrators");
    *n_out = rc == 0 && n > 0 ? (uint64_t)n : 0;
    return rc;
}

/* ---- tokens ---- */

typedef struct pga_token_args {
    const zt_store_admin_token *t;
    const unsigned char *hash;
    const char *id;
    int64_t now;
    zt_store_admin_cascade *more; /* revoke */
} pga_token_args;

static int pga_token_add_txn(pg_conn *c, void *arg)
{
    pga_token_args *a = arg;
    pg_params u = {0};
    pg_text(&u, a->t->user_id);
    int rc = pg_run(c, "SELECT pg_advisory_xact_lock(hashtext('admin_tokens:' || $1::text))", &u,
                    NULL, "locking the user's admin tokens");
    pg_params live = {0};
    pg_text(&live, a->t->user_id);
    pg_int(&live, a->t->created_at);
    int64_t n = 0;
    if (rc == 0)
        rc = pga_int(c,
                     "SELECT count(*) FROM admin_tokens WHERE user_id = $1 AND revoked_at = 0 "
                     "AND expires_at > $2",
                     &live, &n, "counting admin tokens");
    if (rc != 0)
        return rc;
    if (n >= ZT_STORE_ADMIN_TOKENS_MAX)
        return zt_store_seterr(-ENOSPC, "the user has %d live tokens already; revoke one first",
                               ZT_STORE_ADMIN_TOKENS_MAX);
    pg_params p = {0};
    pg_text(&p, a->t->id);
    pg_text(&p, a->t->user_id);
    pg_text(&p, a->t->name);
    pg_blob(&p, a->hash, ZT_STORE_ADMIN_TOKEN_HASH_LEN);
    pg_int(&p, a->t->scopes);
    pg_text(&p, a->t->created_by);
    pg_int(&p, a->t->created_at);
    pg_int(&p, a->t->expires_at);
    pg_text(&p, a->t->parent_id);
    rc = pg_run(c,
                "INSERT INTO admin_tokens (id, user_id, name, token_hash, scopes, created_by, "
                "created_at, expires_at, parent_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
                &p, NULL, "storing an admin token");
    if (rc == -ENOENT)
        rc = zt_store_seterr(-ENOENT, "no such user");
    return rc;
}

static int pga_token_add(zt_store *st, const zt_store_admin_token *t, const unsigned char *hash)
{
    pg_conn *c = NULL;
    pga_token_args a = {.t = t, .hash = hash};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pga_token_add_txn, &a);
}

static int pga_token_get(zt_store *st, const char *id, zt_store_admin_token *out,
                         unsigned char *hash_out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGA_TOKEN_COLS ", t.token_hash FROM admin_tokens t "
                  "JOIN users u ON u.id = t.user_id WHERE t.id = $1",
                  &p, &r, NULL, "reading an admin token");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "no such token");
    else if (rc == 0)
        rc = pga_token_row(r, 0, out);
    if (rc == 0) {
        unsigned char h[ZT_STORE_ADMIN_TOKEN_HASH_LEN];
        size_t n = 0;
        if (!pg_col_blob(r, 0, 11, h, sizeof(h), &n) || n != sizeof(h))
            rc = pg_corrupt("admin token hash");
        else if (hash_out != NULL)
            memcpy(hash_out, h, sizeof(h));
    }
    PQclear(r);
    return rc;
}

static int pga_token_list(zt_store *st, const char *user_id, zt_store_admin_token_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, user_id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGA_TOKEN_COLS " FROM admin_tokens t JOIN users u ON "
                  "u.id = t.user_id WHERE $1::text IS NULL OR t.user_id = $1::text "
                  "ORDER BY t.created_at DESC, t.id COLLATE \"C\"",
                  &p, &r, NULL, "listing admin tokens");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_admin_token t;
        rc = pga_token_row(r, i, &t);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &t);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

/* As sqa_token_revoke_txn: the token's row first (which also orders two revocations of one
 * tree), then one UPDATE over it and its offspring. */
static int pga_token_revoke_txn(pg_conn *c, void *arg)
{
    pga_token_args *a = arg;
    pg_params q = {0};
    pg_text(&q, a->id);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT revoked_at FROM admin_tokens WHERE id = $1 FOR UPDATE", &q, &r, NULL,
                  "reading an admin token");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "no such token");
    bool was_live = rc == 0 && pg_col_int(r, 0, 0) == 0;
    PQclear(r);
    r = NULL;
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, a->id);
    pg_int(&p, a->now);
    rc = pg_q(c,
              "WITH RECURSIVE tree(id) AS (SELECT $1::text UNION SELECT t.id FROM admin_tokens t "
              "JOIN tree ON t.parent_id = tree.id) "
              "UPDATE admin_tokens SET revoked_at = $2 "
              "WHERE id IN (SELECT id FROM tree) AND revoked_at = 0 RETURNING id, user_id",
              &p, &r, NULL, "revoking an admin token");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        char id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1], user_id[ZT_STORE_ID_LEN + 1];
        if (!pg_col(r, i, 0, id, sizeof(id)) || !pg_col(r, i, 1, user_id, sizeof(user_id)))
            rc = pg_corrupt("admin token");
        else if (strcmp(id, a->id) != 0)
            zt_store_admin_cascade_add(a->more, id, user_id);
    }
    PQclear(r);
    if (rc == 0 && !was_live && a->more->n == 0)
        rc = zt_store_seterr(-EALREADY, "the token is revoked already");
    return rc;
}

static int pga_token_revoke(zt_store *st, const char *id, int64_t now, zt_store_admin_cascade *more)
{
    pg_conn *c = NULL;
    pga_token_args a = {.id = id, .now = now, .more = more};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pga_token_revoke_txn, &a);
}

static int pga_token_touch(zt_store *st, const char *id, int64_t now)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, now);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c, "UPDATE admin_tokens SET last_used_at = $2 WHERE id = $1", &p, NULL,
                    "remembering an admin token's use");
    return rc;
}

const zt_store_admin_ops pga_ops = {
    .role_add = pga_role_add,
    .role_remove = pga_role_remove,
    .role_list = pga_role_list,
    .count = pga_count,
    .token_add = pga_token_add,
    .token_get = pga_token_get,
    .token_list = pga_token_list,
    .token_revoke = pga_token_revoke,
    .token_touch = pga_token_touch,
};
