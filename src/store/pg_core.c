/* PostgreSQL half of the core records (store.h): users, groups, memberships, TOTP, recovery
 * codes, sessions, risk detections and sign-in history. SQLite half: sqlite.c, whose
 * statements these follow one for one (same columns, same order, same messages).
 *
 * Differences from the SQLite statements, and why:
 * - e-mail and group names compare lower() with lower() (the unique indexes are on lower());
 *   lists sort by lower(x COLLATE "C"), which folds ASCII only and compares bytes, exactly
 *   SQLite's NOCASE, whatever the database's collation;
 * - parameters used where PostgreSQL cannot infer a type carry a cast;
 * - SQLite's BEGIN IMMEDIATE made every transaction the only writer. Under READ COMMITTED two
 *   gateways run the same transaction at once, so a transaction that reads before it writes
 *   first locks the user row it is about (pgc_lock_user, FOR NO KEY UPDATE: it serialises our
 *   transactions on one user without blocking the foreign-key checks of inserts). Single-use
 *   updates stay one conditional UPDATE: a concurrent one waits for the row and re-checks its
 *   WHERE on the committed version, so exactly one of them changes it. */
#include "store/pg_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secure.h"

/* ---- statements ---- */

#define PGC_USER_COLS                                                                              \
    "u.id, u.email, u.name, COALESCE(u.password_hash, ''), u.disabled, u.created_at, "             \
    "u.updated_at, u.password_changed_at, u.revocation_epoch, u.source, u.external_id, "           \
    "u.expires_at, u.sponsor, u.last_sign_in_at"
#define PGC_NOCASE(col) "lower(" col " COLLATE \"C\")"
#define PGC_GROUP_COLS                                                                             \
    "g.name, g.created_at, (SELECT count(*) FROM memberships m WHERE m.group_id = g.id), "         \
    "g.source, g.external_id, g.display_name"
/* The account cannot be used at `now`: disabled, or expired (expires_at, 0 never). */
#define PGC_USER_OFF(now)                                                                          \
    "(u.disabled <> 0 OR (u.expires_at > 0 AND u.expires_at <= " now "::bigint))"
/* The user's risk level: highest open detection; low ones before the cutoff have aged out. */
#define PGC_USER_RISK(user, cutoff)                                                                \
    "SELECT COALESCE(MAX(d.level), 0) FROM risk_detections d WHERE d.user_id = " user              \
    " AND d.state IN ('at_risk', 'confirmed_compromised') AND (d.level > 1 OR d.created_at "       \
    "> " cutoff "::bigint)"
/* The sign-in's risk: highest open sign-in detection of this session or of the portal
 * session a code-exchange child was made from. */
#define PGC_SIGN_IN_RISK                                                                           \
    "SELECT COALESCE(MAX(d.level), 0) FROM risk_detections d WHERE d.session_hash IN "             \
    "(s.id_hash, s.parent_hash) AND d.activity = 'signin' AND d.state = 'at_risk'"
#define PGC_SESSION_COLS                                                                           \
    "s.id_hash, s.user_id, s.created_at, s.auth_time, s.mfa_time, s.mfa_method, s.ip, "            \
    "s.user_agent, s.idle_expires_at, s.absolute_expires_at, s.user_epoch, "                       \
    "COALESCE(s.device_id, ''), u.revocation_epoch, " PGC_USER_OFF(                                \
        "$3") ", s.host, "                                                                         \
              "COALESCE(s.parent_hash, ''), s.mfa_pending, "                                       \
              "(" PGC_USER_RISK("s.user_id", "$2") "), (" PGC_SIGN_IN_RISK "), s.amr, "            \
                                                   "s.passkey_aaguid, u.expires_at"

static const char USER_INSERT[] =
    "INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at, "
    "updated_at) VALUES ($1, $2, $3, NULLIF($4::text, ''), "
    "CASE WHEN $4::text = '' THEN 0 ELSE $5::bigint END, $5::bigint, $5::bigint)";
static const char USER_BY_ID[] = "SELECT " PGC_USER_COLS " FROM users u WHERE u.id = $1";
static const char USER_BY_EMAIL[] =
    "SELECT " PGC_USER_COLS " FROM users u WHERE lower(u.email) = lower($1)";
static const char USER_LIST[] =
    "SELECT " PGC_USER_COLS " FROM users u ORDER BY " PGC_NOCASE("u.email");
static const char USER_EXISTS[] = "SELECT 1 FROM users WHERE id = $1";
static const char USER_DELETE[] = "DELETE FROM users WHERE id = $1";
static const char GROUP_INSERT[] = "INSERT INTO groups (name, created_at) VALUES ($1, $2)";
static const char GROUP_GET[] =
    "SELECT " PGC_GROUP_COLS " FROM groups g WHERE lower(g.name) = lower($1)";
static const char MEMBER_ADD[] = "INSERT INTO memberships (group_id, user_id, created_at) "
                                 "SELECT id, $2::text, $3::bigint FROM groups "
                                 "WHERE lower(name) = lower($1)";
static const char USER_GROUPS[] =
    "SELECT g.name FROM groups g JOIN memberships m ON m.group_id = g.id "
    "WHERE m.user_id = $1 ORDER BY " PGC_NOCASE("g.name");
static const char GROUP_LIST[] =
    "SELECT " PGC_GROUP_COLS " FROM groups g ORDER BY " PGC_NOCASE("g.name");
static const char GROUP_DELETE[] = "DELETE FROM groups WHERE lower(name) = lower($1)";
static const char GROUP_MEMBERS[] =
    "SELECT " PGC_USER_COLS " FROM users u JOIN memberships m ON m.user_id = u.id "
    "JOIN groups g ON g.id = m.group_id WHERE lower(g.name) = lower($1) "
    "ORDER BY " PGC_NOCASE("u.email");
static const char MEMBER_REMOVE[] = "DELETE FROM memberships WHERE user_id = $2 AND group_id = "
                                    "(SELECT id FROM groups WHERE lower(name) = lower($1))";
static const char SESSION_INSERT[] =
    "INSERT INTO sessions (id_hash, user_id, created_at, auth_time, mfa_time, mfa_method, ip, "
    "user_agent, idle_expires_at, absolute_expires_at, user_epoch, device_id, host, "
    "parent_hash, mfa_pending, amr, passkey_aaguid) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, "
    "LEAST($9::bigint, $10::bigint), $10::bigint, $11, NULLIF($12::text, ''), $13, "
    "NULLIF($14::text, ''), $15, $16, $17)";
static const char SESSION_GET[] =
    "SELECT " PGC_SESSION_COLS " FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.id_hash = $1";

/* ---- helpers ---- */

/* Run a query expected to return at most one row of interest: 1 with *res set (the caller
 * PQclear()s it), 0 when there is no row, negative on error. */
static int pgc_row(pg_conn *c, const char *sql, const pg_params *p, PGresult **res,
                   const char *what)
{
    int rc = pg_q(c, sql, p, res, NULL, what);
    if (rc != 0)
        return rc;
    if (PQntuples(*res) > 0)
        return 1;
    PQclear(*res);
    *res = NULL;
    return 0;
}

/* 1 when sql finds a row for (text a, optional integer b), 0 when not, or an error. */
static int pgc_exists(pg_conn *c, const char *sql, const char *a, const int64_t *b,
                      const char *what)
{
    pg_params p = {0};
    PGresult *r = NULL;
    pg_text(&p, a);
    if (b != NULL)
        pg_int(&p, *b);
    int rc = pgc_row(c, sql, &p, &r, what);
    PQclear(r);
    return rc;
}

static int pgc_user_exists(pg_conn *c, const char *id)
{
    int rc = pgc_exists(c, USER_EXISTS, id, NULL, "looking up a user");
    if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    return rc < 0 ? rc : 0;
}

/* A statement that changes rows, with text parameters only; *n receives the count. */
static int pgc_write1(pg_conn *c, const char *sql, const char *a, int64_t *n, const char *what)
{
    pg_params p = {0};
    pg_text(&p, a);
    return pg_run(c, sql, &p, n, what);
}

static int pgc_row_user(const PGresult *r, int i, zt_user *u)
{
    memset(u, 0, sizeof(*u));
    bool ok = pg_col(r, i, 0, u->id, sizeof(u->id)) &&
              pg_col(r, i, 1, u->email, sizeof(u->email)) &&
              pg_col(r, i, 2, u->name, sizeof(u->name)) &&
              pg_col(r, i, 3, u->password_hash, sizeof(u->password_hash)) &&
              pg_col(r, i, 9, u->source, sizeof(u->source)) &&
              pg_col(r, i, 10, u->external_id, sizeof(u->external_id)) &&
              pg_col(r, i, 12, u->sponsor, sizeof(u->sponsor));
    u->disabled = pg_col_bool(r, i, 4);
    u->created_at = pg_col_int(r, i, 5);
    u->updated_at = pg_col_int(r, i, 6);
    u->password_changed_at = pg_col_int(r, i, 7);
    u->revocation_epoch = pg_col_int(r, i, 8);
    u->expires_at = pg_col_int(r, i, 11);
    u->last_sign_in_at = pg_col_int(r, i, 13);
    return ok ? 0 : pg_corrupt("user");
}

static int pgc_row_session(const PGresult *r, int i, zt_store_session *s)
{
    memset(s, 0, sizeof(*s));
    bool ok = pg_col(r, i, 0, s->id_hash, sizeof(s->id_hash)) &&
              pg_col(r, i, 1, s->user_id, sizeof(s->user_id)) &&
              pg_col(r, i, 5, s->mfa_method, sizeof(s->mfa_method)) &&
              pg_col(r, i, 6, s->ip, sizeof(s->ip)) &&
              pg_col(r, i, 7, s->user_agent, sizeof(s->user_agent)) &&
              pg_col(r, i, 11, s->device_id, sizeof(s->device_id)) &&
              pg_col(r, i, 14, s->host, sizeof(s->host)) &&
              pg_col(r, i, 15, s->parent_hash, sizeof(s->parent_hash)) &&
              pg_col(r, i, 19, s->amr, sizeof(s->amr)) &&
              pg_col(r, i, 20, s->passkey_aaguid, sizeof(s->passkey_aaguid));
    s->created_at = pg_col_int(r, i, 2);
    s->auth_time = pg_col_int(r, i, 3);
    s->mfa_time = pg_col_int(r, i, 4);
    s->idle_expires_at = pg_col_int(r, i, 8);
    s->absolute_expires_at = pg_col_int(r, i, 9);
    s->user_epoch = pg_col_int(r, i, 10);
    s->user_epoch_now = pg_col_int(r, i, 12);
    s->user_disabled = pg_col_bool(r, i, 13);
    s->mfa_pending = pg_col_bool(r, i, 16);
    s->user_risk = (int)pg_col_int(r, i, 17);
    s->sign_in_risk = (int)pg_col_int(r, i, 18);
    s->user_expires_at = pg_col_int(r, i, 21);
    return ok ? 0 : pg_corrupt("session");
}

/* Low detections created at or before this have aged out of the user's risk. */
static int64_t pgc_low_cutoff(int64_t now)
{
    return now - ZT_STORE_RISK_LOW_RETENTION_S;
}

/* Hand every row of r to cb as a user; r is cleared. */
static int pgc_walk_users(pg_conn *c, PGresult *r, zt_store_user_cb cb, void *ctx)
{
    int rc = 0;
    zt_user u;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        rc = pgc_row_user(r, i, &u);
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

/* ---- users ---- */

typedef struct user_add_args {
    const char *email, *name, *pw_hash;
    const char *const *groups;
    size_t n_groups;
    zt_user *out;
} user_add_args;

static int pgc_member_insert(pg_conn *c, const char *group, const char *user_id)
{
    pg_params p = {0};
    pg_text(&p, group);
    pg_text(&p, user_id);
    pg_int(&p, zt_store_now());
    int64_t n = 0;
    int rc = pg_run(c, MEMBER_ADD, &p, &n, "adding a group member");
    if (rc == -EEXIST)
        return zt_store_seterr(rc, "user %s is already a member of group %s", user_id, group);
    if (rc == -ENOENT)
        return zt_store_seterr(rc, "user %s not found", user_id);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", group);
    return rc;
}

static int pgc_user_read(pg_conn *c, bool by_email, const char *key, zt_user *out)
{
    pg_params p = {0};
    PGresult *r = NULL;
    pg_text(&p, key);
    int rc = pgc_row(c, by_email ? USER_BY_EMAIL : USER_BY_ID, &p, &r, "reading a user");
    if (rc == 1)
        rc = pgc_row_user(r, 0, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", key);
    PQclear(r);
    return rc;
}

static int pgc_user_add_txn(pg_conn *c, void *arg)
{
    user_add_args *a = arg;
    char id[ZT_STORE_ID_LEN + 1];
    zt_random_hex(id, ZT_STORE_ID_LEN / 2);
    pg_params p = {0};
    pg_text(&p, id);
    pg_text(&p, a->email);
    pg_text(&p, a->name);
    pg_text(&p, a->pw_hash);
    pg_int(&p, zt_store_now());
    int rc = pg_run(c, USER_INSERT, &p, NULL, "adding a user");
    if (rc == -EEXIST)
        return zt_store_seterr(rc, "user %s already exists", a->email);
    for (size_t i = 0; rc == 0 && i < a->n_groups; i++)
        rc = pgc_member_insert(c, a->groups[i], id);
    if (rc == 0 && a->out != NULL)
        rc = pgc_user_read(c, false, id, a->out);
    return rc;
}

static int pgc_user_add(zt_store *st, const char *email, const char *name, const char *pw_hash,
                        const char *const *groups, size_t n_groups, zt_user *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    user_add_args a = {email, name, pw_hash, groups, n_groups, out};
    rc = pg_txn(c, pgc_user_add_txn, &a);
    if (rc != 0 && out != NULL)
        zt_user_dispose(out);
    return rc;
}

static int pgc_user_get(zt_store *st, bool by_email, const char *key, zt_user *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgc_user_read(c, by_email, key, out);
    if (rc != 0)
        zt_user_dispose(out);
    return rc;
}

static int pgc_user_list(zt_store *st, zt_store_user_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, USER_LIST, NULL, &r, NULL, "listing users");
    return rc != 0 ? rc : pgc_walk_users(c, r, cb, ctx);
}

static int pgc_user_delete(zt_store *st, const char *id)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    /* One statement: memberships, TOTP, recovery codes and sessions go by ON DELETE CASCADE. */
    if (rc == 0)
        rc = pgc_write1(c, USER_DELETE, id, &n, "deleting a user");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    return rc;
}

/* ---- groups ---- */

static int pgc_group_add(zt_store *st, const char *name)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, name);
    pg_int(&p, zt_store_now());
    rc = pg_run(c, GROUP_INSERT, &p, NULL, "adding a group");
    if (rc == -EEXIST)
        rc = zt_store_seterr(rc, "group %s already exists", name);
    return rc;
}

static int pgc_row_group(const PGresult *r, int i, zt_store_group *g)
{
    memset(g, 0, sizeof(*g));
    g->created_at = pg_col_int(r, i, 1);
    g->n_members = (uint64_t)pg_col_int(r, i, 2);
    bool ok = pg_col(r, i, 0, g->name, sizeof(g->name)) &&
              pg_col(r, i, 3, g->source, sizeof(g->source)) &&
              pg_col(r, i, 4, g->external_id, sizeof(g->external_id)) &&
              pg_col(r, i, 5, g->display_name, sizeof(g->display_name));
    return ok ? 0 : pg_corrupt("group");
}

static int pgc_group_read(pg_conn *c, const char *name, zt_store_group *out)
{
    pg_params p = {0};
    PGresult *r = NULL;
    pg_text(&p, name);
    int rc = pgc_row(c, GROUP_GET, &p, &r, "reading a group");
    if (rc == 1)
        rc = pgc_row_group(r, 0, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", name);
    PQclear(r);
    return rc;
}

static int pgc_group_get(zt_store *st, const char *name, zt_store_group *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgc_group_read(c, name, out);
}

static int pgc_group_delete(zt_store *st, const char *name)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgc_write1(c, GROUP_DELETE, name, &n, "deleting a group");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", name);
    return rc;
}

static int pgc_group_list(zt_store *st, zt_store_group_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, GROUP_LIST, NULL, &r, NULL, "listing groups");
    zt_store_group g;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        rc = pgc_row_group(r, i, &g);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &g);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

static int pgc_group_members(zt_store *st, const char *group, zt_store_user_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    zt_store_group g;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgc_group_read(c, group, &g);
    if (rc == 0) {
        pg_params p = {0};
        pg_text(&p, group);
        rc = pg_q(c, GROUP_MEMBERS, &p, &r, NULL, "listing users");
    }
    return rc != 0 ? rc : pgc_walk_users(c, r, cb, ctx);
}

static int pgc_user_groups(zt_store *st, const char *user_id, zt_store_name_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgc_user_exists(c, user_id);
    if (rc == 0) {
        pg_params p = {0};
        pg_text(&p, user_id);
        rc = pg_q(c, USER_GROUPS, &p, &r, NULL, "listing a user's groups");
    }
    char name[ZT_STORE_GROUP_MAX + 1];
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        if (!pg_col(r, i, 0, name, sizeof(name))) {
            rc = pg_corrupt("group name");
            break;
        }
        pg_cb_begin(c);
        rc = cb(ctx, name);
        pg_cb_end(c);
    }
    PQclear(r);
    return rc;
}

typedef struct member_args {
    const char *group, *user_id;
} member_args;

static int pgc_member_remove_txn(pg_conn *c, void *arg)
{
    member_args *a = arg;
    zt_store_group g;
    int64_t n = 0;
    int rc = pgc_group_read(c, a->group, &g);
    if (rc == 0)
        rc = pgc_user_exists(c, a->user_id);
    if (rc == 0) {
        pg_params p = {0};
        pg_text(&p, a->group);
        pg_text(&p, a->user_id);
        rc = pg_run(c, MEMBER_REMOVE, &p, &n, "removing a group member");
    }
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user %s is not a member of group %s", a->user_id, a->group);
    return rc;
}

static int pgc_group_member(zt_store *st, const char *group, const char *user_id, bool add)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    member_args a = {group, user_id};
    return add ? pgc_member_insert(c, group, user_id) : pg_txn(c, pgc_member_remove_txn, &a);
}

/* ---- sessions ---- */

static int pgc_session_create(zt_store *st, const zt_store_session *ss)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, ss->id_hash);
    pg_text(&p, ss->user_id);
    pg_int(&p, ss->created_at);
    pg_int(&p, ss->auth_time);
    pg_int(&p, ss->mfa_time);
    pg_text(&p, ss->mfa_method);
    pg_text(&p, ss->ip);
    pg_text(&p, ss->user_agent);
    pg_int(&p, ss->idle_expires_at);
    pg_int(&p, ss->absolute_expires_at);
    pg_int(&p, ss->user_epoch);
    pg_text(&p, ss->device_id);
    pg_text(&p, ss->host);
    pg_text(&p, ss->parent_hash);
    pg_bool(&p, ss->mfa_pending);
    pg_text(&p, ss->amr);
    pg_text(&p, ss->passkey_aaguid);
    rc = pg_run(c, SESSION_INSERT, &p, NULL, "creating a session");
    if (rc == -EEXIST)
        rc = zt_store_seterr(rc, "a session with this id hash already exists");
    else if (rc == -ENOENT)
        rc = zt_store_seterr(rc, "user %s not found", ss->user_id);
    return rc;
}

/* $1 the key, $2 the low-risk cutoff, $3 now: the parameters of every PGC_SESSION_COLS query. */
static void pgc_session_params(pg_params *p, const char *key)
{
    int64_t now = zt_store_now(); /* the process's clock: test offsets apply */
    pg_text(p, key);
    pg_int(p, pgc_low_cutoff(now));
    pg_int(p, now);
}

static int pgc_session_get(zt_store *st, const char *id_hash, zt_store_session *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pgc_session_params(&p, id_hash);
    rc = pgc_row(c, SESSION_GET, &p, &r, "reading a session");
    if (rc == 1)
        rc = pgc_row_session(r, 0, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "session not found");
    PQclear(r);
    return rc;
}

/* ---- the table ---- */

const zt_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .user_add = pgc_user_add,
    .user_get = pgc_user_get,
    .user_list = pgc_user_list,
    .user_groups = pgc_user_groups,
    .user_delete = pgc_user_delete,
    .group_add = pgc_group_add,
    .group_get = pgc_group_get,
    .group_delete = pgc_group_delete,
    .group_list = pgc_group_list,
    .group_members = pgc_group_members,
    .group_member = pgc_group_member,
    .session_create = pgc_session_create,
    .session_get = pgc_session_get,
    .device = &pgd_ops,
    .incident = &pgi_ops,
    .webauthn = &pgw_ops,
    .tap = &pgt_ops,
    .admin = &pga_ops,
    .oidc = &pgo_ops,
    .saml = &pgs_ops,
    .source = &pgsrc_ops,
    .roster = &pgr_ops,
    .assess = &pgas_ops,
};
