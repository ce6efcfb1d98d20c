/* PostgreSQL half of the core records (store.h): users, groups, memberships, TOTP, recovery
 * codes, sessions, risk detections and sign-in history. SQLite half: sqlite.c, whose
 * statements these follow one for one (same columns, same order, same messages).
 *
 * Differences from the SQLite statements, and why:
 * - e-mail and group names compare lower() with lower() (the unique indexes are on lower());
 *   lists sort by lower(x COLLATE "C"), which folds ASCII only and compares bytes, exactly
 *   SQLite's NOCASE, whatever the database's collation. A lookup by e-mail also compares
 *   that way, so "É" does not find "é" on a database whose collation folds more than ASCII
 *   (group names are ASCII only);
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
/* A session row's user columns at $3 = now, $2 = the low-risk cutoff. */
#define PGC_SESSION_USER_OFF PGC_USER_OFF("$3")
#define PGC_SESSION_USER_RISK "(" PGC_USER_RISK("s.user_id", "$2") ")"
#define PGC_SESSION_COLS                                                                           \
    "s.id_hash, s.user_id, s.created_at, s.auth_time, s.mfa_time, s.mfa_method, s.ip, "            \
    "s.user_agent, s.idle_expires_at, s.absolute_expires_at, s.user_epoch, "                       \
    "COALESCE(s.device_id, ''), u.revocation_epoch, " PGC_SESSION_USER_OFF ", s.host, "            \
    "COALESCE(s.parent_hash, ''), s.mfa_pending, " PGC_SESSION_USER_RISK ", (" PGC_SIGN_IN_RISK    \
    "), s.amr, s.passkey_aaguid, u.expires_at"

static const char USER_INSERT[] =
    "INSERT INTO users (id, email, name, password_hash, password_changed_at, created_at, "
    "updated_at) VALUES ($1, $2, $3, NULLIF($4::text, ''), "
    "CASE WHEN $4::text = '' THEN 0 ELSE $5::bigint END, $5::bigint, $5::bigint)";
static const char USER_BY_ID[] = "SELECT " PG_USER_COLS " FROM users u WHERE u.id = $1";
static const char USER_BY_EMAIL[] =
    "SELECT " PG_USER_COLS " FROM users u WHERE lower(u.email) = lower($1) "
    "AND " PGC_NOCASE("u.email") " = " PGC_NOCASE("$1::text");
static const char USER_LIST[] =
    "SELECT " PG_USER_COLS " FROM users u ORDER BY " PGC_NOCASE("u.email");
static const char USER_EXISTS[] = "SELECT 1 FROM users WHERE id = $1";
static const char USER_LOCK[] = "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE";
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
    "SELECT " PG_USER_COLS " FROM users u JOIN memberships m ON m.user_id = u.id "
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

#define PGC_BUMP "revocation_epoch = revocation_epoch + 1, updated_at = $2"
static const char USER_DISABLE[] =
    "UPDATE users SET disabled = 1, " PGC_BUMP " WHERE id = $1 RETURNING revocation_epoch";
static const char USER_ENABLE[] =
    "UPDATE users SET disabled = 0, updated_at = $2 WHERE id = $1 RETURNING revocation_epoch";
static const char USER_PASSWORD[] =
    "UPDATE users SET password_hash = $3, "
    "password_changed_at = $2, " PGC_BUMP " WHERE id = $1 RETURNING revocation_epoch";
static const char USER_BUMP[] =
    "UPDATE users SET " PGC_BUMP " WHERE id = $1 RETURNING revocation_epoch";
static const char USER_REHASH[] = "UPDATE users SET password_hash = $3, updated_at = $2 "
                                  "WHERE id = $1 AND password_hash = $4";
static const char TOTP_UPSERT[] =
    "INSERT INTO totp_credentials (user_id, secret_enc, last_used_step, created_at) "
    "VALUES ($1, $2, 0, $3) ON CONFLICT (user_id) DO UPDATE SET "
    "secret_enc = excluded.secret_enc, last_used_step = 0, created_at = excluded.created_at";
static const char TOTP_GET[] =
    "SELECT secret_enc, last_used_step, created_at FROM totp_credentials WHERE user_id = $1";
static const char TOTP_USE[] = "UPDATE totp_credentials SET last_used_step = $2 "
                               "WHERE user_id = $1 AND last_used_step < $2";
static const char TOTP_EXISTS[] = "SELECT 1 FROM totp_credentials WHERE user_id = $1";
static const char TOTP_DELETE[] = "DELETE FROM totp_credentials WHERE user_id = $1";
static const char RECOVERY_DELETE[] = "DELETE FROM recovery_codes WHERE user_id = $1";
static const char RECOVERY_INSERT[] =
    "INSERT INTO recovery_codes (user_id, code_hash, created_at) VALUES ($1, $2, $3)";
static const char RECOVERY_LIST[] = "SELECT id, code_hash, created_at, COALESCE(used_at, 0) "
                                    "FROM recovery_codes WHERE user_id = $1 ORDER BY id";
static const char RECOVERY_USE[] = "UPDATE recovery_codes SET used_at = $3 "
                                   "WHERE user_id = $1 AND id = $2 AND used_at IS NULL";
static const char RECOVERY_EXISTS[] = "SELECT 1 FROM recovery_codes WHERE user_id = $1 AND id = $2";
static const char SESSION_TOUCH[] =
    "UPDATE sessions SET idle_expires_at = LEAST($2::bigint, absolute_expires_at) "
    "WHERE id_hash = $1";
static const char SESSION_SET_MFA[] = "UPDATE sessions SET mfa_time = $2, mfa_method = $3, "
                                      "mfa_pending = 0 WHERE id_hash = $1";
static const char SESSION_DELETE[] = "DELETE FROM sessions WHERE id_hash = $1";
static const char SESSION_DELETE_TREE[] =
    "WITH RECURSIVE tree(h) AS (SELECT $1::text UNION SELECT s.id_hash FROM sessions s "
    "JOIN tree ON s.parent_hash = tree.h) DELETE FROM sessions WHERE id_hash IN "
    "(SELECT h FROM tree)";
static const char SESSION_LIST_USER[] =
    "SELECT " PGC_SESSION_COLS " FROM sessions s JOIN users u ON u.id = s.user_id "
    "WHERE s.user_id = $1 ORDER BY s.created_at, s.id_hash COLLATE \"C\"";
static const char SESSION_DELETE_USER[] = "DELETE FROM sessions WHERE user_id = $1";
static const char SESSION_DELETE_EXPIRED[] = "DELETE FROM sessions WHERE idle_expires_at <= $1";
/* Live sessions at $1: not idle, not revoked, user usable, MFA done. */
#define PGC_COUNT_USER_OFF PGC_USER_OFF("$1")
static const char SESSION_COUNT[] =
    "SELECT count(*) FROM sessions s JOIN users u ON "
    "u.id = s.user_id WHERE s.idle_expires_at > $1 AND "
    "s.user_epoch = u.revocation_epoch AND NOT " PGC_COUNT_USER_OFF " AND s.mfa_pending = 0";
#define PGC_DET_COLS                                                                               \
    "d.id, d.user_id, u.email, d.type, d.activity = 'user', d.level, d.state, d.detail, "          \
    "d.evidence, d.ip, COALESCE(d.session_hash, ''), d.created_at, d.updated_at"
#define PGC_STATE_BIT                                                                              \
    "(1 << CASE state WHEN 'at_risk' THEN 0 WHEN 'remediated' THEN 1 WHEN 'dismissed' THEN 2 "     \
    "ELSE 3 END)"
static const char DET_INSERT[] =
    "INSERT INTO risk_detections (user_id, type, activity, level, state, detail, evidence, ip, "
    "session_hash, created_at, updated_at) VALUES ($1, $2, CASE WHEN $3::int <> 0 THEN 'user' "
    "ELSE 'signin' END, $4, $5, $6, $7, $8, NULLIF($9::text, ''), $10::bigint, $10::bigint) "
    "RETURNING id";
static const char DET_CAP[] =
    "DELETE FROM risk_detections WHERE id IN (SELECT id FROM risk_detections WHERE "
    "user_id = $1 ORDER BY state IN ('at_risk', 'confirmed_compromised'), level, id "
    "LIMIT GREATEST(0, (SELECT count(*) FROM risk_detections WHERE user_id = $1) - $2::bigint))";
static const char DET_GET[] =
    "SELECT " PGC_DET_COLS " FROM risk_detections d JOIN users u ON u.id = d.user_id "
    "WHERE d.id = $1";
static const char DET_LIST[] =
    "SELECT " PGC_DET_COLS " FROM risk_detections d JOIN users u ON u.id = d.user_id "
    "WHERE ($1::text IS NULL OR d.user_id = $1) AND ($2::text IS NULL OR d.state = $2) "
    "ORDER BY d.id DESC LIMIT $3::bigint";
static const char DET_UPDATE[] =
    "UPDATE risk_detections SET state = $1, detail = $2, updated_at = $3 WHERE "
    "($4::bigint = 0 OR id = $4) AND ($5::text IS NULL OR user_id = $5) AND "
    "($6::text IS NULL OR session_hash = $6) AND ($7::int = 0 OR activity = 'signin') AND "
    "(" PGC_STATE_BIT " & $8::int) <> 0";
static const char DET_EXISTS[] = "SELECT 1 FROM risk_detections WHERE id = $1";
static const char USER_RISK[] = PGC_USER_RISK("$1", "$2");
static const char SIGNIN_GET[] =
    "SELECT count, first_at, last_at, last_ip, has_location, lat, lon, accuracy_km, "
    "location_at, location_country FROM risk_sign_ins WHERE user_id = $1";
static const char PROP_SEEN[] =
    "SELECT 1 FROM risk_properties WHERE user_id = $1 AND kind = $2 AND value = $3";
static const char SIGNIN_UPSERT[] =
    "INSERT INTO risk_sign_ins AS r (user_id, first_at, count, last_at, last_ip, has_location, "
    "lat, lon, accuracy_km, location_at, location_country) VALUES ($1, $2::bigint, 1, "
    "$2::bigint, $3, $4::smallint, $5, $6, $7, CASE WHEN $4::smallint <> 0 THEN $2::bigint "
    "ELSE 0 END, CASE WHEN $4::smallint <> 0 THEN $8::text ELSE '' END) "
    "ON CONFLICT (user_id) DO UPDATE SET count = r.count + 1, "
    "first_at = LEAST(r.first_at, excluded.first_at), "
    "last_at = GREATEST(r.last_at, excluded.last_at), last_ip = excluded.last_ip, "
    "has_location = GREATEST(r.has_location, excluded.has_location), "
    "lat = CASE WHEN excluded.has_location <> 0 THEN excluded.lat ELSE r.lat END, "
    "lon = CASE WHEN excluded.has_location <> 0 THEN excluded.lon ELSE r.lon END, "
    "accuracy_km = CASE WHEN excluded.has_location <> 0 THEN excluded.accuracy_km "
    "ELSE r.accuracy_km END, "
    "location_at = CASE WHEN excluded.has_location <> 0 THEN excluded.location_at "
    "ELSE r.location_at END, "
    "location_country = CASE WHEN excluded.has_location <> 0 THEN excluded.location_country "
    "ELSE r.location_country END";
static const char PROP_UPSERT[] =
    "INSERT INTO risk_properties AS p (user_id, kind, value, first_seen, last_seen, count) "
    "VALUES ($1, $2, $3, $4::bigint, $4::bigint, 1) ON CONFLICT (user_id, kind, value) DO "
    "UPDATE SET last_seen = GREATEST(p.last_seen, excluded.last_seen), count = p.count + 1";
static const char PROP_CAP[] =
    "DELETE FROM risk_properties WHERE user_id = $1 AND kind = $2 AND value NOT IN "
    "(SELECT value FROM risk_properties WHERE user_id = $1 AND kind = $2 "
    "ORDER BY last_seen DESC, count DESC LIMIT $3::bigint)";
static const char PENDING_PUT[] =
    "INSERT INTO risk_pending (session_hash, user_id, at, ip, ip_prefix, asn, country, device, "
    "ua, has_location, lat, lon, accuracy_km) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, "
    "$11, $12, $13) ON CONFLICT (session_hash) DO UPDATE SET user_id = excluded.user_id, "
    "at = excluded.at, ip = excluded.ip, ip_prefix = excluded.ip_prefix, asn = excluded.asn, "
    "country = excluded.country, device = excluded.device, ua = excluded.ua, "
    "has_location = excluded.has_location, lat = excluded.lat, lon = excluded.lon, "
    "accuracy_km = excluded.accuracy_km";
static const char PENDING_EXPIRE[] = "DELETE FROM risk_pending WHERE at <= $1";
static const char PENDING_OWNER[] = "SELECT user_id FROM risk_pending WHERE session_hash = $1";
static const char PENDING_TAKE[] =
    "DELETE FROM risk_pending WHERE session_hash = $1 RETURNING user_id, at, ip, ip_prefix, "
    "asn, country, device, ua, has_location, lat, lon, accuracy_km";

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

/* Inside a transaction: the user exists, and no other transaction of ours about this user
 * runs until this one ends (what SQLite's single writer gave for free). */
static int pgc_lock_user(pg_conn *c, const char *id)
{
    int rc = pgc_exists(c, USER_LOCK, id, NULL, "locking a user");
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

int pg_row_user(const PGresult *r, int i, zt_user *u)
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
        rc = pg_row_user(r, 0, out);
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

typedef struct revoke_args {
    const char *id;
    zt_store_revoke what;
    const char *pw_hash;
    int64_t epoch;
} revoke_args;

static int pgc_revoke_update(pg_conn *c, revoke_args *a)
{
    static const char *const sql_of[] = {
        [ZT_REVOKE_DISABLE] = USER_DISABLE,   [ZT_REVOKE_ENABLE] = USER_ENABLE,
        [ZT_REVOKE_PASSWORD] = USER_PASSWORD, [ZT_REVOKE_RESET_MFA] = USER_BUMP,
        [ZT_REVOKE_SESSIONS] = USER_BUMP,
    };
    pg_params p = {0};
    PGresult *r = NULL;
    pg_text(&p, a->id);
    pg_int(&p, zt_store_now());
    if (a->what == ZT_REVOKE_PASSWORD)
        pg_text(&p, a->pw_hash);
    int rc = pgc_row(c, sql_of[a->what], &p, &r, "updating a user");
    if (rc == 1)
        a->epoch = pg_col_int(r, 0, 0);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", a->id);
    PQclear(r);
    return rc < 0 ? rc : 0;
}

/* The epoch bump (or flag) and the deletions commit together: no gateway ever sees a new
 * epoch with the old sessions still there, or the reverse. */
static int pgc_revoke_txn(pg_conn *c, void *arg)
{
    revoke_args *a = arg;
    int rc = pgc_revoke_update(c, a);
    if (rc == 0 && a->what == ZT_REVOKE_RESET_MFA)
        rc = pgc_write1(c, TOTP_DELETE, a->id, NULL, "deleting a user's records");
    if (rc == 0 && a->what == ZT_REVOKE_RESET_MFA)
        rc = pgc_write1(c, RECOVERY_DELETE, a->id, NULL, "deleting a user's records");
    if (rc == 0 && a->what != ZT_REVOKE_ENABLE)
        rc = pgc_write1(c, SESSION_DELETE_USER, a->id, NULL, "deleting a user's records");
    return rc;
}

static int pgc_user_revoke(zt_store *st, const char *id, zt_store_revoke what, const char *pw_hash,
                           int64_t *epoch_out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    revoke_args a = {id, what, pw_hash, 0};
    rc = pg_txn(c, pgc_revoke_txn, &a);
    if (rc == 0 && epoch_out != NULL)
        *epoch_out = a.epoch;
    return rc;
}

static int pgc_user_rehash(zt_store *st, const char *id, const char *old_hash, const char *new_hash)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, zt_store_now());
    pg_text(&p, new_hash);
    pg_text(&p, old_hash);
    int64_t n = 0;
    rc = pg_run(c, USER_REHASH, &p, &n, "upgrading a password hash");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user not found or password changed meanwhile");
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

/* ---- TOTP ---- */

static int pgc_totp_set(zt_store *st, const char *user_id, const void *blob, size_t len)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_blob(&p, blob, len);
    pg_int(&p, zt_store_now());
    rc = pg_run(c, TOTP_UPSERT, &p, NULL, "saving a TOTP credential");
    if (rc == -ENOENT)
        rc = zt_store_seterr(rc, "user %s not found", user_id);
    return rc;
}

static int pgc_totp_get(zt_store *st, const char *user_id, zt_store_totp *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    pg_params p = {0};
    pg_text(&p, user_id);
    rc = pgc_row(c, TOTP_GET, &p, &r, "reading a TOTP credential");
    if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s has no TOTP credential", user_id);
    if (rc == 1) {
        size_t n = 0;
        bool ok = pg_col_blob(r, 0, 0, out->secret_enc, sizeof(out->secret_enc), &n) && n > 0;
        rc = ok ? 0 : pg_corrupt("TOTP secret");
        out->secret_enc_len = ok ? n : 0;
        out->last_used_step = pg_col_int(r, 0, 1);
        out->created_at = pg_col_int(r, 0, 2);
    }
    PQclear(r);
    return rc;
}

static int pgc_totp_use_step(zt_store *st, const char *user_id, int64_t step)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    /* One conditional UPDATE is the atomic compare-and-set that stops a replay: a concurrent
     * one on another gateway waits for the row, then finds last_used_step already moved. */
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_int(&p, step);
    rc = pg_run(c, TOTP_USE, &p, &n, "recording a TOTP step");
    if (rc != 0 || n == 1)
        return rc;
    rc = pgc_exists(c, TOTP_EXISTS, user_id, NULL, "looking up a credential");
    if (rc == 1)
        return zt_store_seterr(-EALREADY, "TOTP code for this time step was already used");
    return rc < 0 ? rc : zt_store_seterr(-ENOENT, "user %s has no TOTP credential", user_id);
}

/* ---- recovery codes ---- */

typedef struct recovery_args {
    const char *user_id;
    const char *const *hashes;
    size_t n;
} recovery_args;

static int pgc_recovery_set_txn(pg_conn *c, void *arg)
{
    recovery_args *a = arg;
    /* Locked: two gateways replacing the codes at once leave one set, not both. */
    int rc = pgc_lock_user(c, a->user_id);
    if (rc == 0)
        rc = pgc_write1(c, RECOVERY_DELETE, a->user_id, NULL, "deleting a user's records");
    int64_t now = zt_store_now();
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        pg_params p = {0};
        pg_text(&p, a->user_id);
        pg_text(&p, a->hashes[i]);
        pg_int(&p, now);
        rc = pg_run(c, RECOVERY_INSERT, &p, NULL, "saving a recovery code");
    }
    return rc;
}

static int pgc_recovery_set(zt_store *st, const char *user_id, const char *const *hashes, size_t n)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    recovery_args a = {user_id, hashes, n};
    return rc != 0 ? rc : pg_txn(c, pgc_recovery_set_txn, &a);
}

static int pgc_recovery_list(zt_store *st, const char *user_id, zt_store_recovery_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgc_user_exists(c, user_id);
    if (rc == 0) {
        pg_params p = {0};
        pg_text(&p, user_id);
        rc = pg_q(c, RECOVERY_LIST, &p, &r, NULL, "listing recovery codes");
    }
    zt_store_recovery rec;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        memset(&rec, 0, sizeof(rec));
        rec.id = pg_col_int(r, i, 0);
        rec.created_at = pg_col_int(r, i, 2);
        rec.used_at = pg_col_int(r, i, 3);
        rc =
            pg_col(r, i, 1, rec.code_hash, sizeof(rec.code_hash)) ? 0 : pg_corrupt("recovery code");
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &rec);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

static int pgc_recovery_use(zt_store *st, const char *user_id, int64_t code_id)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    /* Single use: as for TOTP steps, the conditional UPDATE decides between gateways. */
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_int(&p, code_id);
    pg_int(&p, zt_store_now());
    rc = pg_run(c, RECOVERY_USE, &p, &n, "using a recovery code");
    if (rc != 0 || n == 1)
        return rc;
    rc = pgc_exists(c, RECOVERY_EXISTS, user_id, &code_id, "looking up a credential");
    if (rc == 1)
        return zt_store_seterr(-EALREADY, "recovery code was already used");
    return rc < 0 ? rc : zt_store_seterr(-ENOENT, "no such recovery code");
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

/* An UPDATE or DELETE keyed by session hash that must hit exactly one row. */
static int pgc_session_write(pg_conn *c, const char *sql, const pg_params *p, const char *what)
{
    int64_t n = 0;
    int rc = pg_run(c, sql, p, &n, what);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "session not found");
    return rc;
}

static int pgc_session_touch(zt_store *st, const char *id_hash, int64_t idle_expires_at)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, id_hash);
    pg_int(&p, idle_expires_at);
    return pgc_session_write(c, SESSION_TOUCH, &p, "touching a session");
}

static int pgc_session_set_mfa(zt_store *st, const char *id_hash, int64_t mfa_time,
                               const char *method)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, id_hash);
    pg_int(&p, mfa_time);
    pg_text(&p, method);
    return pgc_session_write(c, SESSION_SET_MFA, &p, "recording MFA on a session");
}

static int pgc_session_delete(zt_store *st, const char *id_hash)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, id_hash);
    return pgc_session_write(c, SESSION_DELETE, &p, "deleting a session");
}

static int pgc_session_delete_tree(zt_store *st, const char *id_hash, uint64_t *n_out)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    /* One statement is one implicit transaction: the tree goes together or not at all. */
    if (rc == 0)
        rc = pgc_write1(c, SESSION_DELETE_TREE, id_hash, &n, "deleting a session and its children");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "session not found");
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)n;
    return rc;
}

static int pgc_session_list_by_user(zt_store *st, const char *user_id, zt_store_session_cb cb,
                                    void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgc_user_exists(c, user_id);
    if (rc == 0) {
        pg_params p = {0};
        pgc_session_params(&p, user_id);
        rc = pg_q(c, SESSION_LIST_USER, &p, &r, NULL, "listing sessions");
    }
    zt_store_session ss;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        rc = pgc_row_session(r, i, &ss);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &ss);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

typedef struct del_user_args {
    const char *user_id;
    int64_t n;
} del_user_args;

static int pgc_session_delete_user_txn(pg_conn *c, void *arg)
{
    del_user_args *a = arg;
    int rc = pgc_user_exists(c, a->user_id);
    return rc != 0
               ? rc
               : pgc_write1(c, SESSION_DELETE_USER, a->user_id, &a->n, "deleting a user's records");
}

static int pgc_session_delete_by_user(zt_store *st, const char *user_id, uint64_t *n_out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    del_user_args a = {user_id, 0};
    if (rc == 0)
        rc = pg_txn(c, pgc_session_delete_user_txn, &a);
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)a.n;
    return rc;
}

static int pgc_session_delete_expired(zt_store *st, int64_t now, uint64_t *n_out)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_int(&p, now);
    rc = pg_run(c, SESSION_DELETE_EXPIRED, &p, &n, "deleting expired sessions");
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)n;
    return rc;
}

/* One integer from a one-row query (count, MAX): `what` names it in the error. */
static int pgc_scalar(pg_conn *c, const char *sql, const pg_params *p, int64_t *out,
                      const char *what)
{
    PGresult *r = NULL;
    int rc = pgc_row(c, sql, p, &r, what);
    if (rc == 1)
        *out = pg_col_int(r, 0, 0);
    PQclear(r);
    return rc == 1 ? 0 : rc < 0 ? rc : zt_store_seterr(-EIO, "%s: no result", what);
}

static int pgc_session_count(zt_store *st, int64_t now, uint64_t *n)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_int(&p, now);
    int64_t v = 0;
    rc = pgc_scalar(c, SESSION_COUNT, &p, &v, "counting sessions");
    if (rc == 0)
        *n = (uint64_t)v;
    return rc;
}

/* ---- risk state ---- */

static int pgc_row_detection(const PGresult *r, int i, zt_store_detection *d)
{
    memset(d, 0, sizeof(*d));
    char state[32];
    d->id = pg_col_int(r, i, 0);
    bool ok = pg_col(r, i, 1, d->user_id, sizeof(d->user_id)) &&
              pg_col(r, i, 2, d->email, sizeof(d->email)) &&
              pg_col(r, i, 3, d->type, sizeof(d->type)) && pg_col(r, i, 6, state, sizeof(state)) &&
              pg_col(r, i, 7, d->detail, sizeof(d->detail)) &&
              pg_col(r, i, 8, d->evidence, sizeof(d->evidence)) &&
              pg_col(r, i, 9, d->ip, sizeof(d->ip)) &&
              pg_col(r, i, 10, d->session_hash, sizeof(d->session_hash)) &&
              zt_store_risk_state_parse(state, &d->state);
    d->user_activity = pg_col_bool(r, i, 4);
    d->level = (int)pg_col_int(r, i, 5);
    d->created_at = pg_col_int(r, i, 11);
    d->updated_at = pg_col_int(r, i, 12);
    return ok ? 0 : pg_corrupt("risk detection");
}

/* Inside a transaction that holds the user's lock (pgc_lock_user), so the cap counts the
 * detections of concurrent inserts for the same user one after the other. */
static int pgc_detection_insert(pg_conn *c, zt_store_detection *d)
{
    pg_params p = {0};
    pg_text(&p, d->user_id);
    pg_text(&p, d->type);
    pg_bool(&p, d->user_activity);
    pg_int(&p, d->level);
    pg_text(&p, zt_store_risk_state_name(d->state));
    pg_text(&p, d->detail);
    pg_text(&p, d->evidence[0] != '\0' ? d->evidence : "{}");
    pg_text(&p, d->ip);
    pg_text(&p, d->session_hash);
    pg_int(&p, d->created_at);
    PGresult *r = NULL;
    int rc = pgc_row(c, DET_INSERT, &p, &r, "adding a risk detection");
    if (rc == -ENOENT)
        return zt_store_seterr(rc, "user %s not found", d->user_id);
    if (rc < 0)
        return rc;
    d->id = rc == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    d->updated_at = d->created_at;
    pg_params q = {0};
    pg_text(&q, d->user_id);
    pg_int(&q, ZT_STORE_RISK_DETECTIONS_MAX);
    return pg_run(c, DET_CAP, &q, NULL, "trimming a user's risk detections");
}

static int pgc_detection_add_txn(pg_conn *c, void *arg)
{
    zt_store_detection *d = arg;
    int rc = pgc_lock_user(c, d->user_id);
    return rc != 0 ? rc : pgc_detection_insert(c, d);
}

static int pgc_detection_add(zt_store *st, zt_store_detection *d)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgc_detection_add_txn, d);
}

static int pgc_detection_get(zt_store *st, int64_t id, zt_store_detection *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_int(&p, id);
    rc = pgc_row(c, DET_GET, &p, &r, "reading a risk detection");
    if (rc == 1)
        rc = pgc_row_detection(r, 0, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "risk detection %lld not found", (long long)id);
    PQclear(r);
    return rc;
}

static int pgc_detection_list(zt_store *st, const zt_store_risk_filter *f, zt_store_detection_cb cb,
                              void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, f->user_id);
    pg_text(&p, f->state >= 0 ? zt_store_risk_state_name((zt_store_risk_state)f->state) : NULL);
    /* LIMIT NULL is no limit, as SQLite's LIMIT -1. */
    if (f->limit > 0 && f->limit <= INT64_MAX)
        pg_int(&p, (int64_t)f->limit);
    else
        pg_text(&p, NULL);
    rc = pg_q(c, DET_LIST, &p, &r, NULL, "listing risk detections");
    zt_store_detection d;
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        rc = pgc_row_detection(r, i, &d);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &d);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

typedef struct det_update_args {
    const zt_store_risk_update *u;
    int64_t n;
} det_update_args;

static int pgc_detection_update_txn(pg_conn *c, void *arg)
{
    det_update_args *a = arg;
    const zt_store_risk_update *u = a->u;
    pg_params p = {0};
    pg_text(&p, zt_store_risk_state_name(u->to));
    pg_text(&p, u->detail);
    pg_int(&p, u->now);
    pg_int(&p, u->id);
    pg_text(&p, u->user_id);
    pg_text(&p, u->session_hash);
    pg_bool(&p, u->sign_in_only);
    pg_int(&p, (int64_t)u->from_mask);
    int rc = pg_run(c, DET_UPDATE, &p, &a->n, "changing risk state");
    if (rc != 0 || a->n > 0 || u->id == 0)
        return rc;
    /* Nothing changed for one named detection: say whether it exists at all. */
    pg_params q = {0};
    PGresult *r = NULL;
    pg_int(&q, u->id);
    rc = pgc_row(c, DET_EXISTS, &q, &r, "reading a risk detection");
    PQclear(r);
    if (rc == 1)
        return zt_store_seterr(-EALREADY, "risk detection %lld is not in a state that allows this",
                               (long long)u->id);
    return rc < 0 ? rc
                  : zt_store_seterr(-ENOENT, "risk detection %lld not found", (long long)u->id);
}

static int pgc_detection_update(zt_store *st, const zt_store_risk_update *u, uint64_t *n_out)
{
    pg_conn *c = NULL;
    det_update_args a = {u, 0};
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgc_detection_update_txn, &a);
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)a.n;
    return rc;
}

static int pgc_user_risk(zt_store *st, const char *user_id, int64_t now, int *level_out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_int(&p, pgc_low_cutoff(now));
    int64_t v = 0;
    rc = pgc_scalar(c, USER_RISK, &p, &v, "reading a user's risk");
    if (rc == 0)
        *level_out = (int)v;
    return rc;
}

/* ---- sign-in history ---- */

static int pgc_prop_seen(pg_conn *c, const char *user_id, zt_store_prop prop, const char *value,
                         bool *seen)
{
    *seen = false;
    if (value[0] == '\0')
        return 0;
    pg_params p = {0};
    PGresult *r = NULL;
    pg_text(&p, user_id);
    pg_text(&p, zt_store_prop_name(prop));
    pg_text(&p, value);
    int rc = pgc_row(c, PROP_SEEN, &p, &r, "reading sign-in history");
    PQclear(r);
    *seen = rc == 1;
    return rc < 0 ? rc : 0;
}

static int pgc_signin_profile(zt_store *st, const zt_store_signin *q, zt_store_signin_profile *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    memset(out, 0, sizeof(*out));
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, q->user_id);
    rc = pgc_row(c, SIGNIN_GET, &p, &r, "reading sign-in history");
    if (rc == 1) {
        out->count = (uint64_t)pg_col_int(r, 0, 0);
        out->first_at = pg_col_int(r, 0, 1);
        out->last_at = pg_col_int(r, 0, 2);
        out->has_location = pg_col_bool(r, 0, 4);
        out->lat = pg_col_real(r, 0, 5);
        out->lon = pg_col_real(r, 0, 6);
        out->accuracy_km = pg_col_real(r, 0, 7);
        out->location_at = pg_col_int(r, 0, 8);
        rc = pg_col(r, 0, 3, out->last_ip, sizeof(out->last_ip)) &&
                     pg_col(r, 0, 9, out->location_country, sizeof(out->location_country))
                 ? 0
                 : pg_corrupt("sign-in history");
    }
    PQclear(r);
    for (int i = 0; rc == 0 && i < ZT_STORE_N_PROPS; i++)
        rc = pgc_prop_seen(c, q->user_id, (zt_store_prop)i, q->props[i], &out->seen[i]);
    return rc;
}

static int pgc_prop_learn(pg_conn *c, const zt_store_signin *si, zt_store_prop prop)
{
    pg_params p = {0};
    pg_text(&p, si->user_id);
    pg_text(&p, zt_store_prop_name(prop));
    pg_text(&p, si->props[prop]);
    pg_int(&p, si->at);
    int rc = pg_run(c, PROP_UPSERT, &p, NULL, "learning a sign-in property");
    if (rc != 0)
        return rc;
    pg_params q = {0};
    pg_text(&q, si->user_id);
    pg_text(&q, zt_store_prop_name(prop));
    pg_int(&q, ZT_STORE_RISK_PROPS_PER_KIND);
    return pg_run(c, PROP_CAP, &q, NULL, "trimming sign-in history");
}

/* Inside a transaction holding the user's lock, so the per-kind cap sees every value. */
static int pgc_signin_learn(pg_conn *c, const zt_store_signin *si)
{
    pg_params p = {0};
    pg_text(&p, si->user_id);
    pg_int(&p, si->at);
    pg_text(&p, si->ip);
    pg_bool(&p, si->has_location);
    pg_real(&p, si->lat);
    pg_real(&p, si->lon);
    pg_real(&p, si->accuracy_km);
    pg_text(&p, si->props[ZT_STORE_PROP_COUNTRY]);
    int rc = pg_run(c, SIGNIN_UPSERT, &p, NULL, "learning a sign-in");
    if (rc == -ENOENT)
        return zt_store_seterr(rc, "user %s not found", si->user_id);
    for (int i = 0; rc == 0 && i < ZT_STORE_N_PROPS; i++)
        if (si->props[i][0] != '\0')
            rc = pgc_prop_learn(c, si, (zt_store_prop)i);
    return rc;
}

static int pgc_pending_put(pg_conn *c, const zt_store_signin *si, const char *hash)
{
    pg_params e = {0};
    pg_int(&e, si->at - ZT_STORE_RISK_PENDING_TTL_S);
    int rc = pg_run(c, PENDING_EXPIRE, &e, NULL, "expiring parked sign-ins");
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, hash);
    pg_text(&p, si->user_id);
    pg_int(&p, si->at);
    pg_text(&p, si->ip);
    for (int i = 0; i < ZT_STORE_N_PROPS; i++)
        pg_text(&p, si->props[i]);
    pg_bool(&p, si->has_location);
    pg_real(&p, si->lat);
    pg_real(&p, si->lon);
    pg_real(&p, si->accuracy_km);
    rc = pg_run(c, PENDING_PUT, &p, NULL, "parking a sign-in");
    return rc == -ENOENT ? zt_store_seterr(rc, "user %s not found", si->user_id) : rc;
}

typedef struct signin_args {
    const zt_store_signin *si;
    bool learn;
    const char *pending_hash;
    zt_store_detection *dets;
    size_t n_dets;
} signin_args;

static int pgc_signin_record_txn(pg_conn *c, void *arg)
{
    signin_args *a = arg;
    int rc = 0;
    if (a->n_dets > 0 || a->learn)
        rc = pgc_lock_user(c, a->si->user_id);
    for (size_t i = 0; rc == 0 && i < a->n_dets; i++)
        rc = pgc_detection_insert(c, &a->dets[i]);
    if (rc == 0 && a->learn)
        rc = pgc_signin_learn(c, a->si);
    else if (rc == 0 && a->pending_hash != NULL)
        rc = pgc_pending_put(c, a->si, a->pending_hash);
    return rc;
}

static int pgc_signin_record(zt_store *st, const zt_store_signin *si, bool learn,
                             const char *pending_hash, zt_store_detection *dets, size_t n_dets)
{
    pg_conn *c = NULL;
    signin_args a = {si, learn, pending_hash, dets, n_dets};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgc_signin_record_txn, &a);
}

typedef struct pending_args {
    const char *hash;
    int64_t now;
    bool learned;
} pending_args;

static int pgc_pending_row(const PGresult *r, zt_store_signin *si)
{
    memset(si, 0, sizeof(*si));
    bool ok = pg_col(r, 0, 0, si->user_id, sizeof(si->user_id)) &&
              pg_col(r, 0, 2, si->ip, sizeof(si->ip));
    for (int i = 0; ok && i < ZT_STORE_N_PROPS; i++)
        ok = pg_col(r, 0, 3 + i, si->props[i], sizeof(si->props[i]));
    si->at = pg_col_int(r, 0, 1);
    si->has_location = pg_col_bool(r, 0, 8);
    si->lat = pg_col_real(r, 0, 9);
    si->lon = pg_col_real(r, 0, 10);
    si->accuracy_km = pg_col_real(r, 0, 11);
    return ok ? 0 : pg_corrupt("parked sign-in");
}

/* The user's lock first, as in pgc_signin_record_txn (user, then parked row): taking the row
 * first and the user second could deadlock with a sign-in of the same session being parked. */
static int pgc_pending_lock_owner(pg_conn *c, const char *hash)
{
    PGresult *r = NULL;
    pg_params p = {0};
    char user_id[ZT_STORE_ID_LEN + 1];
    pg_text(&p, hash);
    int rc = pgc_row(c, PENDING_OWNER, &p, &r, "taking a parked sign-in");
    if (rc == 1)
        rc = pg_col(r, 0, 0, user_id, sizeof(user_id)) ? 1 : pg_corrupt("parked sign-in");
    PQclear(r);
    return rc == 1 ? pgc_lock_user(c, user_id) : rc;
}

static int pgc_learn_pending_txn(pg_conn *c, void *arg)
{
    pending_args *a = arg;
    PGresult *r = NULL;
    zt_store_signin si;
    int rc = pgc_pending_lock_owner(c, a->hash);
    if (rc != 0)
        return rc == -ENOENT ? 0 : rc; /* no such row, or its user just went: nothing to learn */
    pg_params p = {0};
    pg_text(&p, a->hash);
    /* DELETE ... RETURNING takes it once: a second gateway taking the same one finds none. */
    rc = pgc_row(c, PENDING_TAKE, &p, &r, "taking a parked sign-in");
    bool found = rc == 1;
    if (found)
        rc = pgc_pending_row(r, &si);
    PQclear(r);
    if (rc != 0 || !found || si.at <= a->now - ZT_STORE_RISK_PENDING_TTL_S)
        return rc;
    a->learned = true;
    return pgc_signin_learn(c, &si);
}

static int pgc_signin_learn_pending(zt_store *st, const char *session_hash, int64_t now,
                                    bool *learned)
{
    pg_conn *c = NULL;
    pending_args a = {session_hash, now, false};
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgc_learn_pending_txn, &a);
    if (learned != NULL)
        *learned = rc == 0 && a.learned;
    return rc;
}

/* ---- the table ---- */

const zt_store_ops pg_ops = {
    .name = "postgresql",
    .close = pg_close,
    .reachable_again = pg_reachable_again,
    .user_add = pgc_user_add,
    .user_get = pgc_user_get,
    .user_list = pgc_user_list,
    .user_groups = pgc_user_groups,
    .user_delete = pgc_user_delete,
    .user_revoke = pgc_user_revoke,
    .user_rehash = pgc_user_rehash,
    .group_add = pgc_group_add,
    .group_get = pgc_group_get,
    .group_delete = pgc_group_delete,
    .group_list = pgc_group_list,
    .group_members = pgc_group_members,
    .group_member = pgc_group_member,
    .totp_set = pgc_totp_set,
    .totp_get = pgc_totp_get,
    .totp_use_step = pgc_totp_use_step,
    .recovery_set = pgc_recovery_set,
    .recovery_list = pgc_recovery_list,
    .recovery_use = pgc_recovery_use,
    .session_create = pgc_session_create,
    .session_get = pgc_session_get,
    .session_touch = pgc_session_touch,
    .session_set_mfa = pgc_session_set_mfa,
    .session_delete = pgc_session_delete,
    .session_delete_tree = pgc_session_delete_tree,
    .session_list_by_user = pgc_session_list_by_user,
    .session_delete_by_user = pgc_session_delete_by_user,
    .session_delete_expired = pgc_session_delete_expired,
    .session_count = pgc_session_count,
    .detection_add = pgc_detection_add,
    .detection_get = pgc_detection_get,
    .detection_list = pgc_detection_list,
    .detection_update = pgc_detection_update,
    .user_risk = pgc_user_risk,
    .signin_profile = pgc_signin_profile,
    .signin_record = pgc_signin_record,
    .signin_learn_pending = pgc_signin_learn_pending,
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
    .agent = &pgag_ops,
    .counter = &pgc_ops,
};
