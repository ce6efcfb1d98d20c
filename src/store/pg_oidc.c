/* PostgreSQL half of the OpenID Connect provider's records (store_oidc.h; SQLite half
 * sqlite_oidc.inc).
 *
 * SQLite keeps these records in an attached file with synchronous=NORMAL and fsyncs it where a
 * write must survive a crash (sq_idp_sync: a revocation, a used code or refresh token). Here
 * they share the one database, and every commit is durable (synchronous commit), so each of
 * those sync points is simply the transaction's COMMIT.
 *
 * Single use across gateways: under READ COMMITTED the code and the refresh token are read
 * FOR UPDATE, so of two gateways taking one code (or rotating one token) the second waits for
 * the first's commit, then sees it used and answers as SQLite's second caller does (a replay).
 * A client assertion's jti is one INSERT ... ON CONFLICT DO UPDATE ... WHERE, which PostgreSQL
 * makes atomic. Refusals that must still write (a replay revokes its grant) let the
 * transaction commit and report the refusal afterwards: pg_txn rolls back on any non-zero
 * return. */
#include "store/pg_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PGO_COLS                                                                                   \
    "id, client_id, app, user_id, session_hash, sid, scope, nonce, acr, amr, auth_time, "          \
    "created_at, expires_at, revoked_at, ended_at, replayed"
#define PGO_GRANT_COLS                                                                             \
    "g.id, g.client_id, g.app, g.user_id, g.session_hash, g.sid, g.scope, g.nonce, g.acr, "        \
    "g.amr, g.auth_time, g.created_at, g.expires_at, g.revoked_at, g.ended_at, g.replayed"

/* A live session for grant g at parameter NOW: present, unexpired, user enabled and of the
 * same epoch. */
#define PGO_SESSION_LIVE(NOW)                                                                      \
    "EXISTS (SELECT 1 FROM sessions s JOIN users u ON u.id = s.user_id "                           \
    "WHERE s.id_hash = g.session_hash AND s.idle_expires_at > " NOW " AND "                        \
    "s.absolute_expires_at > " NOW " AND u.disabled = 0 AND s.user_epoch = u.revocation_epoch)"

static int pgo_grant_row(const PGresult *r, int i, int at, zt_store_oidc_grant *g)
{
    memset(g, 0, sizeof(*g));
    bool ok = pg_col(r, i, at + 0, g->id, sizeof(g->id)) &&
              pg_col(r, i, at + 1, g->client_id, sizeof(g->client_id)) &&
              pg_col(r, i, at + 2, g->app, sizeof(g->app)) &&
              pg_col(r, i, at + 3, g->user_id, sizeof(g->user_id)) &&
              pg_col(r, i, at + 4, g->session_hash, sizeof(g->session_hash)) &&
              pg_col(r, i, at + 5, g->sid, sizeof(g->sid)) &&
              pg_col(r, i, at + 6, g->scope, sizeof(g->scope)) &&
              pg_col(r, i, at + 7, g->nonce, sizeof(g->nonce)) &&
              pg_col(r, i, at + 8, g->acr, sizeof(g->acr));
    g->amr = (unsigned)pg_col_int(r, i, at + 9);
    g->auth_time = pg_col_int(r, i, at + 10);
    g->created_at = pg_col_int(r, i, at + 11);
    g->expires_at = pg_col_int(r, i, at + 12);
    g->revoked_at = pg_col_int(r, i, at + 13);
    g->ended_at = pg_col_int(r, i, at + 14);
    g->replayed = pg_col_bool(r, i, at + 15);
    return ok ? 0 : pg_corrupt("oidc grant");
}

static int pgo_grant_insert(pg_conn *c, const zt_store_oidc_grant *g)
{
    pg_params p = {0};
    pg_text(&p, g->id);
    pg_text(&p, g->client_id);
    pg_text(&p, g->app);
    pg_text(&p, g->user_id);
    pg_text(&p, g->session_hash);
    pg_text(&p, g->sid);
    pg_text(&p, g->scope);
    pg_text(&p, g->nonce);
    pg_text(&p, g->acr);
    pg_int(&p, g->amr);
    pg_int(&p, g->auth_time);
    pg_int(&p, g->created_at);
    pg_int(&p, g->expires_at);
    return pg_run(c,
                  "INSERT INTO oidc_grants (id, client_id, app, user_id, session_hash, sid, "
                  "scope, nonce, acr, amr, auth_time, created_at, expires_at) VALUES ($1, $2, "
                  "$3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
                  &p, NULL, "storing an oidc grant");
}

static int pgo_grant_add(zt_store *st, const zt_store_oidc_grant *g)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgo_grant_insert(c, g);
}

/* 1 with the grant, 0 none, negative on error. */
static int pgo_grant_read(pg_conn *c, const char *id, zt_store_oidc_grant *out)
{
    pg_params p = {0};
    pg_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT " PGO_GRANT_COLS " FROM oidc_grants g WHERE g.id = $1", &p, &r, NULL,
                  "reading an oidc grant");
    if (rc != 0)
        return rc;
    if (PQntuples(r) > 0) {
        rc = pgo_grant_row(r, 0, 0, out);
        rc = rc == 0 ? 1 : rc;
    }
    PQclear(r);
    return rc;
}

static int pgo_grant_get(zt_store *st, const char *id, zt_store_oidc_grant *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgo_grant_read(c, id, out);
    return rc == 1 ? 0 : rc == 0 ? zt_store_seterr(-ENOENT, "no such oidc grant") : rc;
}

/* replay: the revocation is a code replay (kept for the audit trail). */
static int pgo_revoke(pg_conn *c, const char *id, int64_t now, bool replay)
{
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, now);
    pg_bool(&p, replay);
    return pg_run(c,
                  "UPDATE oidc_grants SET revoked_at = $2, replayed = GREATEST(replayed, "
                  "$3::smallint) WHERE id = $1 AND revoked_at = 0",
                  &p, NULL, "revoking an oidc grant");
}

static int pgo_grant_revoke(zt_store *st, const char *id, int64_t now)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgo_revoke(c, id, now, false);
}

typedef struct pgo_args {
    const unsigned char *hash, *hash2;
    const char *text;
    int64_t now, exp;
    int result; /* the refusal to report after a committed transaction */
    zt_store_oidc_code *code;
    zt_store_oidc_grant *grant;
} pgo_args;

static int pgo_code_insert(pg_conn *c, const unsigned char *hash, const zt_store_oidc_code *code)
{
    pg_params p = {0};
    pg_blob(&p, hash, ZT_STORE_OIDC_HASH_LEN);
    pg_text(&p, code->grant_id);
    pg_text(&p, code->redirect_uri);
    pg_text(&p, code->code_challenge);
    pg_int(&p, code->expires_at);
    return pg_run(c,
                  "INSERT INTO oidc_codes (code_hash, grant_id, redirect_uri, code_challenge, "
                  "expires_at) VALUES ($1, $2, $3, $4, $5)",
                  &p, NULL, "storing an authorization code");
}

static int pgo_code_add(zt_store *st, const unsigned char *hash, const zt_store_oidc_code *code)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgo_code_insert(c, hash, code);
}

static int pgo_grant_code_txn(pg_conn *c, void *arg)
{
    const pgo_args *a = arg;
    int rc = pgo_grant_insert(c, a->grant);
    return rc != 0 ? rc : pgo_code_insert(c, a->hash, a->code);
}

/* Grant and code in one transaction: one commit per authorize instead of two. */
static int pgo_grant_code_add(zt_store *st, const zt_store_oidc_grant *g, const unsigned char *hash,
                              const zt_store_oidc_code *code)
{
    pg_conn *c = NULL;
    pgo_args a = {
        .hash = hash, .code = (zt_store_oidc_code *)code, .grant = (zt_store_oidc_grant *)g};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgo_grant_code_txn, &a);
}

/* The code's row, locked until commit: 1 with used_at in *used, 0 none. */
static int pgo_code_read(pg_conn *c, pgo_args *a, int64_t *used)
{
    pg_params p = {0};
    pg_blob(&p, a->hash, ZT_STORE_OIDC_HASH_LEN);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "SELECT grant_id, redirect_uri, code_challenge, expires_at, used_at "
                  "FROM oidc_codes WHERE code_hash = $1 FOR UPDATE",
                  &p, &r, NULL, "reading an authorization code");
    if (rc != 0)
        return rc;
    if (PQntuples(r) > 0) {
        zt_store_oidc_code *o = a->code;
        bool ok = pg_col(r, 0, 0, o->grant_id, sizeof(o->grant_id)) &&
                  pg_col(r, 0, 1, o->redirect_uri, sizeof(o->redirect_uri)) &&
                  pg_col(r, 0, 2, o->code_challenge, sizeof(o->code_challenge));
        o->expires_at = pg_col_int(r, 0, 3);
        *used = pg_col_int(r, 0, 4);
        rc = ok ? 1 : pg_corrupt("authorization code");
    }
    PQclear(r);
    return rc;
}

/* 1 when the grant's ztgate session lives at now, 0 when not, negative on error. */
static int pgo_grant_live(pg_conn *c, const char *id, int64_t now)
{
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, now);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT " PGO_SESSION_LIVE("$2::bigint") " FROM oidc_grants g WHERE g.id = $1",
                  &p, &r, NULL, "checking an oidc grant's session");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) > 0 && pg_col_bool(r, 0, 0);
    PQclear(r);
    return rc;
}

static int pgo_set_at(pg_conn *c, const char *sql, const unsigned char *hash, int64_t now,
                      const char *what)
{
    pg_params p = {0};
    pg_blob(&p, hash, ZT_STORE_OIDC_HASH_LEN);
    pg_int(&p, now);
    return pg_run(c, sql, &p, NULL, what);
}

static int pgo_code_take_txn(pg_conn *c, void *arg)
{
    pgo_args *a = arg;
    int64_t used = 0;
    int rc = pgo_code_read(c, a, &used);
    if (rc <= 0) {
        a->result = rc == 0 ? -ENOENT : rc;
        return rc < 0 ? rc : 0;
    }
    rc = pgo_grant_read(c, a->code->grant_id, a->grant);
    if (rc <= 0) {
        a->result = -ENOENT;
        return rc < 0 ? rc : 0;
    }
    if (used != 0) { /* a replay: whoever has the first tokens may be the attacker */
        a->result = -EALREADY;
        return pgo_revoke(c, a->grant->id, a->now, true);
    }
    if (a->code->expires_at <= a->now) {
        a->result = -ENOENT;
        return 0;
    }
    int live = pgo_grant_live(c, a->grant->id, a->now);
    if (live < 0)
        return live;
    /* A session that ended between the authorization and the exchange gives no tokens. */
    a->result = a->grant->revoked_at != 0 || live == 0 ? -ECANCELED : 0;
    return pgo_set_at(c, "UPDATE oidc_codes SET used_at = $2 WHERE code_hash = $1", a->hash, a->now,
                      "using an authorization code");
}

static int pgo_code_take(zt_store *st, const unsigned char *hash, int64_t now,
                         zt_store_oidc_code *code_out, zt_store_oidc_grant *grant_out)
{
    pg_conn *c = NULL;
    pgo_args a = {.hash = hash, .now = now, .code = code_out, .grant = grant_out};
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgo_code_take_txn, &a);
    if (rc != 0)
        return rc;
    if (a.result == -ENOENT)
        return zt_store_seterr(-ENOENT, "unknown or expired authorization code");
    if (a.result == -EALREADY)
        return zt_store_seterr(-EALREADY, "authorization code used twice: its grant is revoked");
    if (a.result == -ECANCELED)
        return zt_store_seterr(-ECANCELED, "the grant of this code was revoked");
    return 0;
}

static int pgo_token_insert(pg_conn *c, const unsigned char *hash, const char *grant_id, int kind,
                            int64_t now, int64_t exp)
{
    pg_params p = {0};
    pg_blob(&p, hash, ZT_STORE_OIDC_HASH_LEN);
    pg_text(&p, grant_id);
    pg_int(&p, kind);
    pg_int(&p, now);
    pg_int(&p, exp);
    return pg_run(c,
                  "INSERT INTO oidc_tokens (token_hash, grant_id, kind, created_at, expires_at) "
                  "VALUES ($1, $2, $3, $4, $5)",
                  &p, NULL, "storing a token");
}

static int pgo_token_add(zt_store *st, const unsigned char *hash, const char *grant_id, int kind,
                         int64_t now, int64_t exp)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgo_token_insert(c, hash, grant_id, kind, now, exp);
}

typedef struct pgo_batch {
    const char *grant_id;
    int64_t now;
    const zt_store_oidc_new_token *t;
    size_t n;
} pgo_batch;

static int pgo_tokens_txn(pg_conn *c, void *arg)
{
    const pgo_batch *b = arg;
    int rc = 0;
    for (size_t i = 0; i < b->n && rc == 0; i++)
        rc = pgo_token_insert(c, b->t[i].hash, b->grant_id, (int)b->t[i].kind, b->now,
                              b->t[i].expires_at);
    return rc;
}

/* The tokens of one answer in one transaction: one commit instead of one per token. */
static int pgo_tokens_add(zt_store *st, const char *grant_id, int64_t now,
                          const zt_store_oidc_new_token *t, size_t n)
{
    pg_conn *c = NULL;
    pgo_batch b = {.grant_id = grant_id, .now = now, .t = t, .n = n};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgo_tokens_txn, &b);
}

#define PGO_TOKEN_READ                                                                             \
    "SELECT t.kind, t.created_at, t.expires_at, t.rotated_at, t.revoked_at, " PGO_GRANT_COLS       \
    ", " PGO_SESSION_LIVE("$2::bigint") " FROM oidc_tokens t JOIN oidc_grants g ON g.id = "        \
                                        "t.grant_id WHERE t.token_hash = $1"

/* The token row joined with its grant: 1 found (whatever its state), 0 none. st_out: kind,
 * created_at, expires_at, rotated_at, revoked_at. lock: the token's row is held until commit
 * (a rotation or revocation inside a transaction). */
static int pgo_token_read(pg_conn *c, const unsigned char *hash, int64_t now, bool lock,
                          int64_t st_out[5], zt_store_oidc_grant *g, bool *session_live)
{
    pg_params p = {0};
    pg_blob(&p, hash, ZT_STORE_OIDC_HASH_LEN);
    pg_int(&p, now);
    PGresult *r = NULL;
    int rc = pg_q(c, lock ? PGO_TOKEN_READ " FOR UPDATE OF t" : PGO_TOKEN_READ, &p, &r, NULL,
                  "reading a token");
    if (rc != 0)
        return rc;
    if (PQntuples(r) > 0) {
        for (int i = 0; i < 5; i++)
            st_out[i] = pg_col_int(r, 0, i);
        rc = pgo_grant_row(r, 0, 5, g);
        *session_live = pg_col_bool(r, 0, 21);
        rc = rc == 0 ? 1 : rc;
    }
    PQclear(r);
    return rc;
}

static int pgo_token_get(zt_store *st, const unsigned char *hash, int64_t now, int *kind_out,
                         int64_t *iat_out, int64_t *exp_out, zt_store_oidc_grant *grant_out)
{
    pg_conn *c = NULL;
    int64_t t[5];
    bool live = false;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgo_token_read(c, hash, now, false, t, grant_out, &live);
    if (rc < 0)
        return rc;
    if (rc == 0 || t[0] == ZT_STORE_OIDC_ID_TOKEN || t[2] <= now || t[3] != 0 || t[4] != 0 ||
        grant_out->revoked_at != 0 || !live)
        return zt_store_seterr(-ENOENT, "no such active token");
    *kind_out = (int)t[0];
    *iat_out = t[1];
    *exp_out = t[2];
    return 0;
}

static int pgo_id_token_find(zt_store *st, const unsigned char *hash, zt_store_oidc_grant *g)
{
    pg_conn *c = NULL;
    int64_t t[5];
    bool live = false;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgo_token_read(c, hash, 0, false, t, g, &live);
    if (rc < 0)
        return rc;
    return rc == 1 && t[0] == ZT_STORE_OIDC_ID_TOKEN
               ? 0
               : zt_store_seterr(-ENOENT, "not an ID token issued here");
}

static int pgo_rotate_txn(pg_conn *c, void *arg)
{
    pgo_args *a = arg;
    int64_t t[5];
    bool live = false;
    int rc = pgo_token_read(c, a->hash, a->now, true, t, a->grant, &live);
    if (rc <= 0 || t[0] != ZT_STORE_OIDC_REFRESH) {
        a->result = -ENOENT;
        return rc < 0 ? rc : 0;
    }
    if (t[3] != 0) { /* rotated before: attacker and victim look alike; end the family */
        a->result = -EALREADY;
        return pgo_revoke(c, a->grant->id, a->now, false);
    }
    if (t[4] != 0 || a->grant->revoked_at != 0 || t[2] <= a->now ||
        a->grant->expires_at <= a->now) {
        a->result = -ENOENT;
        return 0;
    }
    if (!live) { /* the ztgate session ended: so does the family */
        a->result = -ECANCELED;
        return pgo_revoke(c, a->grant->id, a->now, false);
    }
    rc = pgo_set_at(c, "UPDATE oidc_tokens SET rotated_at = $2 WHERE token_hash = $1", a->hash,
                    a->now, "rotating a refresh token");
    int64_t exp = a->exp < a->grant->expires_at ? a->exp : a->grant->expires_at;
    return rc != 0
               ? rc
               : pgo_token_insert(c, a->hash2, a->grant->id, ZT_STORE_OIDC_REFRESH, a->now, exp);
}

static int pgo_refresh_rotate(zt_store *st, const unsigned char *old_hash,
                              const unsigned char *new_hash, int64_t now, int64_t new_exp,
                              zt_store_oidc_grant *grant_out)
{
    pg_conn *c = NULL;
    pgo_args a = {
        .hash = old_hash, .hash2 = new_hash, .now = now, .exp = new_exp, .grant = grant_out};
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgo_rotate_txn, &a);
    if (rc != 0)
        return rc;
    if (a.result == -ENOENT)
        return zt_store_seterr(-ENOENT, "unknown, expired or revoked refresh token");
    if (a.result == -EALREADY)
        return zt_store_seterr(-EALREADY, "refresh token reused: its family is revoked");
    if (a.result == -ECANCELED)
        return zt_store_seterr(-ECANCELED, "the session of this refresh token ended");
    return 0;
}

static int pgo_token_revoke_txn(pg_conn *c, void *arg)
{
    pgo_args *a = arg;
    int64_t t[5];
    bool live = false;
    zt_store_oidc_grant g;
    int rc = pgo_token_read(c, a->hash, a->now, true, t, &g, &live);
    if (rc <= 0 || strcmp(g.client_id, a->text) != 0)
        return rc < 0 ? rc : 0; /* unknown, or another client's: nothing to do (RFC 7009) */
    if (t[0] == ZT_STORE_OIDC_REFRESH)
        return pgo_revoke(c, g.id, a->now, false);
    return pgo_set_at(c, "UPDATE oidc_tokens SET revoked_at = $2 WHERE token_hash = $1", a->hash,
                      a->now, "revoking a token");
}

static int pgo_token_revoke(zt_store *st, const unsigned char *hash, const char *client_id,
                            int64_t now)
{
    pg_conn *c = NULL;
    pgo_args a = {.hash = hash, .text = client_id, .now = now};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgo_token_revoke_txn, &a);
}

/* An expired row of the same jti is replaced: its assertion can no longer be used anyway. Two
 * gateways inserting one jti: the second waits on the first's row, then its DO UPDATE's WHERE
 * sees an unexpired row and changes nothing. */
static int pgo_jti_use(zt_store *st, const char *client_id, const char *jti, int64_t exp,
                       int64_t now)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, client_id);
    pg_text(&p, jti);
    pg_int(&p, exp);
    pg_int(&p, now);
    int64_t changes = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO oidc_jtis (client_id, jti, expires_at) VALUES ($1, $2, $3) "
                    "ON CONFLICT (client_id, jti) DO UPDATE SET expires_at = excluded.expires_at "
                    "WHERE oidc_jtis.expires_at <= $4::bigint",
                    &p, &changes, "recording a client assertion");
    if (rc == 0 && changes == 0)
        rc = zt_store_seterr(-EALREADY, "client assertion replayed (jti seen before)");
    return rc;
}

#define PGO_ORPHANS_MAX 256 /* grants ended per call; the timer calls again */

typedef struct pgo_orphans {
    int64_t now;
    zt_store_oidc_grant *g;
    size_t n;
} pgo_orphans;

/* The outer ended_at = 0 is re-checked on a row another gateway ended meanwhile, so each grant
 * is ended (and handed to a callback) by one gateway only. */
static int pgo_orphans_txn(pg_conn *c, void *arg)
{
    pgo_orphans *o = arg;
    o->n = 0;
    pg_params p = {0};
    pg_int(&p, o->now);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "UPDATE oidc_grants SET ended_at = $1, revoked_at = CASE WHEN revoked_at = 0 "
                  "THEN $1 ELSE revoked_at END WHERE ended_at = 0 AND id IN (SELECT g.id FROM "
                  "oidc_grants g WHERE g.ended_at = 0 AND NOT " PGO_SESSION_LIVE(
                      "$1") " LIMIT "
                            "256) RETURNING " PGO_COLS,
                  &p, &r, NULL, "ending oidc grants");
    for (int i = 0; rc == 0 && i < PQntuples(r) && o->n < PGO_ORPHANS_MAX; i++) {
        rc = pgo_grant_row(r, i, 0, &o->g[o->n]);
        o->n += rc == 0;
    }
    PQclear(r);
    return rc;
}

static int pgo_end_orphans(zt_store *st, int64_t now, zt_store_oidc_grant_cb cb, void *ctx,
                           uint64_t *n_out)
{
    pg_conn *c = NULL;
    pgo_orphans o = {.now = now, .g = calloc(PGO_ORPHANS_MAX, sizeof(zt_store_oidc_grant))};
    int rc = o.g == NULL ? zt_store_seterr(-ENOMEM, "out of memory") : pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgo_orphans_txn, &o);
    if (rc != 0)
        o.n = 0;
    for (size_t i = 0; rc == 0 && i < o.n && cb != NULL; i++)
        rc = cb(ctx, &o.g[i]);
    if (n_out != NULL)
        *n_out = o.n;
    free(o.g);
    return rc;
}

static int pgo_sweep_txn(pg_conn *c, void *arg)
{
    static const char *const sql[] = {
        "DELETE FROM oidc_codes WHERE expires_at <= $1::bigint - 600",
        "DELETE FROM oidc_tokens WHERE expires_at <= $1::bigint",
        "DELETE FROM oidc_jtis WHERE expires_at <= $1::bigint",
        "DELETE FROM oidc_grants WHERE expires_at <= $1::bigint - 86400 OR "
        "(ended_at <> 0 AND ended_at <= $1::bigint - 86400) OR (revoked_at <> 0 AND "
        "revoked_at <= $1::bigint - 86400)",
    };
    pgo_args *a = arg;
    a->exp = 0;
    pg_params p = {0};
    pg_int(&p, a->now);
    for (size_t i = 0; i < sizeof(sql) / sizeof(sql[0]); i++) {
        int64_t n = 0;
        int rc = pg_run(c, sql[i], &p, &n, "sweeping oidc records");
        if (rc != 0)
            return rc;
        a->exp += n;
    }
    return 0;
}

static int pgo_sweep(zt_store *st, int64_t now, uint64_t *n_out)
{
    pg_conn *c = NULL;
    pgo_args a = {.now = now};
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_txn(c, pgo_sweep_txn, &a);
    if (n_out != NULL)
        *n_out = rc == 0 ? (uint64_t)a.exp : 0;
    return rc;
}

const zt_store_oidc_ops pgo_ops = {
    .grant_add = pgo_grant_add,
    .grant_get = pgo_grant_get,
    .grant_revoke = pgo_grant_revoke,
    .code_add = pgo_code_add,
    .grant_code_add = pgo_grant_code_add,
    .code_take = pgo_code_take,
    .token_add = pgo_token_add,
    .tokens_add = pgo_tokens_add,
    .token_get = pgo_token_get,
    .id_token_find = pgo_id_token_find,
    .refresh_rotate = pgo_refresh_rotate,
    .token_revoke = pgo_token_revoke,
    .jti_use = pgo_jti_use,
    .end_orphans = pgo_end_orphans,
    .sweep = pgo_sweep,
};
