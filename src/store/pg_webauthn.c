/* PostgreSQL half of passkeys (store_webauthn.h; SQLite half sqlite_webauthn.inc). The same
 * statements as SQLite's; where SQLite relied on BEGIN IMMEDIATE's single writer, the owner's
 * users row is locked (the per-user cap) or the statement is its own guard (the counter's
 * compare-and-set, the challenge's DELETE ... RETURNING, the handle's ON CONFLICT). */
#include "store/pg_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "lib/secure.h"

#define PGW_COLS                                                                                   \
    "id, user_id, name, cose_key, alg, sign_count, uv, be, bs, aaguid, fmt, attestation_type, "    \
    "transports, created_at, last_used_at"
#define PGW_READ_COLS PGW_COLS ", cloned_at"

/* A bytea column of 1..cap bytes (exactly cap when exact); false for anything else. */
static bool pgw_blob(const PGresult *r, int row, int col, unsigned char *dst, size_t cap,
                     bool exact, size_t *len_out)
{
    size_t n = 0;
    if (pg_col_null(r, row, col) || !pg_col_blob(r, row, col, dst, cap, &n) || n == 0 ||
        (exact && n != cap))
        return false;
    if (len_out != NULL)
        *len_out = n;
    return true;
}

static int pgw_row(const PGresult *r, int i, zt_store_webauthn_cred *c)
{
    memset(c, 0, sizeof(*c));
    int64_t count = pg_col_int(r, i, 5);
    bool ok = pgw_blob(r, i, 0, c->id, sizeof(c->id), false, &c->id_len) &&
              pg_col(r, i, 1, c->user_id, sizeof(c->user_id)) &&
              pg_col(r, i, 2, c->name, sizeof(c->name)) &&
              pgw_blob(r, i, 3, c->cose_key, sizeof(c->cose_key), false, &c->cose_key_len) &&
              pgw_blob(r, i, 9, c->aaguid, sizeof(c->aaguid), true, NULL) &&
              pg_col(r, i, 10, c->fmt, sizeof(c->fmt)) &&
              pg_col(r, i, 11, c->attestation_type, sizeof(c->attestation_type)) &&
              pg_col(r, i, 12, c->transports, sizeof(c->transports)) && count >= 0 &&
              count <= UINT32_MAX;
    c->alg = (int)pg_col_int(r, i, 4);
    c->sign_count = (uint32_t)count;
    c->uv = pg_col_bool(r, i, 6);
    c->be = pg_col_bool(r, i, 7);
    c->bs = pg_col_bool(r, i, 8);
    c->created_at = pg_col_int(r, i, 13);
    c->last_used_at = pg_col_int(r, i, 14);
    c->cloned_at = pg_col_int(r, i, 15);
    return ok ? 0 : pg_corrupt("passkey");
}

/* ---- user handles ---- */

/* 1 and the handle in out when the user has one, 0 when not, negative on error. */
static int pgw_handle_read(pg_conn *c, const char *user_id, unsigned char *out)
{
    pg_params p = {0};
    pg_text(&p, user_id);
    PGresult *r = NULL;
    int rc = pg_q(c, "SELECT handle FROM webauthn_user_handles WHERE user_id = $1", &p, &r, NULL,
                  "reading a user handle");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) == 0                                            ? 0
         : pgw_blob(r, 0, 0, out, ZT_STORE_WA_HANDLE_LEN, true, NULL) ? 1
                                                                      : pg_corrupt("user handle");
    PQclear(r);
    return rc;
}

/* Read, or make and insert: ON CONFLICT DO NOTHING lets two first uses (two gateways) race,
 * and both then read the one handle that was kept. */
static int pgw_handle_create(pg_conn *c, const char *user_id, unsigned char *out)
{
    int rc = pgw_handle_read(c, user_id, out);
    if (rc != 0)
        return rc < 0 ? rc : 0;
    unsigned char fresh[ZT_STORE_WA_HANDLE_LEN];
    zt_random(fresh, sizeof(fresh));
    pg_params p = {0};
    pg_text(&p, user_id);
    pg_blob(&p, fresh, sizeof(fresh));
    pg_int(&p, zt_store_now());
    rc = pg_run(c,
                "INSERT INTO webauthn_user_handles (user_id, handle, created_at) "
                "VALUES ($1, $2, $3) ON CONFLICT (user_id) DO NOTHING",
                &p, NULL, "adding a user handle");
    if (rc == -ENOENT)
        return zt_store_seterr(-ENOENT, "no such user");
    rc = rc != 0 ? rc : pgw_handle_read(c, user_id, out);
    return rc == 1 ? 0 : rc == 0 ? zt_store_seterr(-ENOENT, "no such user") : rc;
}

static int pgw_handle(zt_store *st, const char *user_id, bool create, unsigned char *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    if (create)
        return pgw_handle_create(c, user_id, out);
    rc = pgw_handle_read(c, user_id, out);
    return rc == 0  ? zt_store_seterr(-ENOENT, "no user handle for this user (or no such user)")
           : rc < 0 ? rc
                    : 0;
}

static int pgw_user_by_handle(zt_store *st, const unsigned char *handle, char *user_id_out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_blob(&p, handle, ZT_STORE_WA_HANDLE_LEN);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, "SELECT user_id FROM webauthn_user_handles WHERE handle = $1", &p, &r, NULL,
                  "looking up a user handle");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) == 0 ? zt_store_seterr(-ENOENT, "unknown user handle")
         : pg_col(r, 0, 0, user_id_out, ZT_STORE_ID_LEN + 1) ? 0
                                                             : pg_corrupt("user id");
    PQclear(r);
    return rc;
}

/* ---- credentials ---- */

static int pgw_count_in(pg_conn *c, const char *user_id, bool usable_only, uint64_t *n_out)
{
    pg_params p = {0};
    pg_text(&p, user_id);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  usable_only ? "SELECT count(*) FROM webauthn_credentials WHERE user_id = $1 "
                                "AND cloned_at = 0"
                              : "SELECT count(*) FROM webauthn_credentials WHERE user_id = $1",
                  &p, &r, NULL, "counting passkeys");
    if (rc != 0)
        return rc;
    *n_out = PQntuples(r) > 0 ? (uint64_t)pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    return 0;
}

/* The owner's row, locked for the transaction: two registrations for one user (two gateways)
 * check the cap one after the other. FOR NO KEY UPDATE does not block foreign-key checks. */
static int pgw_lock_user(pg_conn *c, const char *user_id)
{
    pg_params p = {0};
    pg_text(&p, user_id);
    return pg_run(c, "SELECT 1 FROM users WHERE id = $1 FOR NO KEY UPDATE", &p, NULL,
                  "locking a user");
}

static int pgw_add_txn(pg_conn *c, void *arg)
{
    const zt_store_webauthn_cred *cred = arg;
    uint64_t n = 0;
    int rc = pgw_lock_user(c, cred->user_id);
    rc = rc != 0 ? rc : pgw_count_in(c, cred->user_id, false, &n);
    if (rc == 0 && n >= ZT_STORE_WA_PER_USER_MAX)
        return zt_store_seterr(-ENOSPC, "this user has %d passkeys already (the most allowed)",
                               ZT_STORE_WA_PER_USER_MAX);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_blob(&p, cred->id, cred->id_len);
    pg_text(&p, cred->user_id);
    pg_text(&p, cred->name);
    pg_blob(&p, cred->cose_key, cred->cose_key_len);
    pg_int(&p, cred->alg);
    pg_int(&p, cred->sign_count);
    pg_bool(&p, cred->uv);
    pg_bool(&p, cred->be);
    pg_bool(&p, cred->bs);
    pg_blob(&p, cred->aaguid, sizeof(cred->aaguid));
    pg_text(&p, cred->fmt);
    pg_text(&p, cred->attestation_type);
    pg_text(&p, cred->transports);
    pg_int(&p, cred->created_at);
    rc = pg_run(c,
                "INSERT INTO webauthn_credentials (" PGW_COLS ") VALUES ($1, $2, $3, $4, $5, $6, "
                "$7, $8, $9, $10, $11, $12, $13, $14, 0)",
                &p, NULL, "adding a passkey");
    if (rc == -ENOENT)
        rc = zt_store_seterr(-ENOENT, "no such user");
    else if (rc == -EEXIST)
        rc = zt_store_seterr(-EEXIST, "this credential is registered already (to this or "
                                      "another account)");
    return rc;
}

static int pgw_add(zt_store *st, const zt_store_webauthn_cred *cred)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgw_add_txn, (void *)cred);
}

static int pgw_get(zt_store *st, const unsigned char *id, size_t len, zt_store_webauthn_cred *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_blob(&p, id, len);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, "SELECT " PGW_READ_COLS " FROM webauthn_credentials WHERE id = $1", &p, &r,
                  NULL, "reading a passkey");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) == 0 ? zt_store_seterr(-ENOENT, "no such passkey") : pgw_row(r, 0, out);
    PQclear(r);
    return rc;
}

/* Oldest first. SQLite breaks a created_at tie by rowid (insertion order); the table has no
 * such column here, so the tie goes by the row's physical place (ctid): insertion order until
 * a rename moves the row, and only ever between passkeys made in the same second. */
static int pgw_list(zt_store *st, const char *user_id, zt_store_webauthn_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, user_id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGW_READ_COLS " FROM webauthn_credentials WHERE user_id = $1 "
                  "ORDER BY created_at, ctid",
                  &p, &r, NULL, "listing passkeys");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_webauthn_cred cred;
        rc = pgw_row(r, i, &cred);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &cred);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

/* The WHERE on the old counter is the compare-and-set: of two assertions verified against the
 * same counter, the second waits for the first's row lock, re-reads the row and updates
 * nothing (READ COMMITTED re-checks the WHERE on the new version). bs only where be. */
static int pgw_used(zt_store *st, const unsigned char *id, size_t len, uint32_t verified_count,
                    uint32_t new_count, bool uv, bool bs, int64_t now)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_blob(&p, id, len);
    pg_int(&p, verified_count);
    pg_int(&p, new_count);
    pg_bool(&p, uv);
    pg_bool(&p, bs);
    pg_int(&p, now);
    int64_t changed = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "UPDATE webauthn_credentials SET sign_count = $3, uv = $4, "
                    "bs = CASE WHEN be = 1 THEN $5::smallint ELSE 0 END, last_used_at = $6 "
                    "WHERE id = $1 AND sign_count = $2 AND cloned_at = 0",
                    &p, &changed, "recording a passkey use");
    if (rc != 0 || changed == 1)
        return rc;
    PGresult *r = NULL;
    pg_params q = {0};
    pg_blob(&q, id, len);
    rc = pg_q(c, "SELECT 1 FROM webauthn_credentials WHERE id = $1", &q, &r, NULL,
              "looking up a passkey");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) > 0 ? zt_store_seterr(-EAGAIN, "the passkey's sign counter changed since it "
                                                     "was verified (a concurrent sign-in?)")
                          : zt_store_seterr(-ENOENT, "no such passkey");
    PQclear(r);
    return rc;
}

/* Scoped to the owner: another user's credential changes nothing and reads as unknown. */
static int pgw_owned_run(zt_store *st, const char *sql, const pg_params *p, const char *what)
{
    pg_conn *c = NULL;
    int64_t changed = 0;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c, sql, p, &changed, what);
    if (rc == 0 && changed == 0)
        rc = zt_store_seterr(-ENOENT, "no such passkey for this user");
    return rc;
}

static int pgw_rename(zt_store *st, const char *user_id, const unsigned char *id, size_t len,
                      const char *name)
{
    pg_params p = {0};
    pg_blob(&p, id, len);
    pg_text(&p, user_id);
    pg_text(&p, name);
    return pgw_owned_run(st,
                         "UPDATE webauthn_credentials SET name = $3 WHERE id = $1 AND "
                         "user_id = $2",
                         &p, "renaming a passkey");
}

static int pgw_remove(zt_store *st, const char *user_id, const unsigned char *id, size_t len)
{
    pg_params p = {0};
    pg_blob(&p, id, len);
    pg_text(&p, user_id);
    return pgw_owned_run(st, "DELETE FROM webauthn_credentials WHERE id = $1 AND user_id = $2", &p,
                         "deleting a passkey");
}

static int pgw_count(zt_store *st, const char *user_id, uint64_t *n_out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgw_count_in(c, user_id, true, n_out);
}

static int pgw_mark_cloned(zt_store *st, const unsigned char *id, size_t len, int64_t now)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_blob(&p, id, len);
    pg_int(&p, now);
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc
                   : pg_run(c,
                            "UPDATE webauthn_credentials SET cloned_at = $2 WHERE id = $1 AND "
                            "cloned_at = 0",
                            &p, NULL, "marking a passkey cloned");
}

/* ---- ceremony challenges ---- */

typedef struct pgw_put_args {
    const zt_store_webauthn_challenge *c;
    int64_t now;
} pgw_put_args;

static int pgw_put_txn(pg_conn *c, void *arg)
{
    const pgw_put_args *a = arg;
    pg_params e = {0};
    pg_int(&e, a->now);
    int rc = pg_run(c, "DELETE FROM webauthn_challenges WHERE expires_at <= $1", &e, NULL,
                    "dropping expired challenges");
    if (rc != 0)
        return rc;
    const zt_store_webauthn_challenge *ch = a->c;
    pg_params p = {0};
    pg_text(&p, ch->binding);
    pg_text(&p, ch->purpose);
    pg_blob(&p, ch->challenge, sizeof(ch->challenge));
    pg_text(&p, ch->user_id);
    pg_text(&p, ch->session_hash);
    pg_text(&p, ch->rd);
    pg_bool(&p, ch->uv_required);
    pg_int(&p, ch->expires_at);
    return pg_run(c,
                  "INSERT INTO webauthn_challenges (binding, purpose, challenge, user_id, "
                  "session_hash, rd, uv_required, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7, "
                  "$8) ON CONFLICT (binding, purpose) DO UPDATE SET challenge = "
                  "excluded.challenge, user_id = excluded.user_id, session_hash = "
                  "excluded.session_hash, rd = excluded.rd, uv_required = excluded.uv_required, "
                  "expires_at = excluded.expires_at",
                  &p, NULL, "keeping a challenge");
}

static int pgw_challenge_put(zt_store *st, const zt_store_webauthn_challenge *ch, int64_t now)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgw_put_args a = {.c = ch, .now = now};
    return rc != 0 ? rc : pg_txn(c, pgw_put_txn, &a);
}

/* DELETE ... RETURNING: reading and deleting are one statement, so of two verify calls racing
 * for one challenge (two loops, two gateways) exactly one gets the row; the other waits for
 * the first's lock, finds the row gone and returns none. */
static int pgw_challenge_take(zt_store *st, const char *binding, const char *purpose, int64_t now,
                              zt_store_webauthn_challenge *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, binding);
    pg_text(&p, purpose);
    memset(out, 0, sizeof(*out));
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "DELETE FROM webauthn_challenges WHERE binding = $1 AND purpose = $2 "
                  "RETURNING challenge, user_id, session_hash, rd, uv_required, expires_at",
                  &p, &r, NULL, "taking a challenge");
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 0) {
        rc = zt_store_seterr(-ENOENT, "no challenge for this browser");
    } else {
        bool ok = pgw_blob(r, 0, 0, out->challenge, sizeof(out->challenge), true, NULL) &&
                  pg_col(r, 0, 1, out->user_id, sizeof(out->user_id)) &&
                  pg_col(r, 0, 2, out->session_hash, sizeof(out->session_hash)) &&
                  pg_col(r, 0, 3, out->rd, sizeof(out->rd));
        out->uv_required = pg_col_bool(r, 0, 4);
        out->expires_at = pg_col_int(r, 0, 5);
        rc = ok ? 0 : pg_corrupt("challenge");
    }
    PQclear(r);
    if (rc != 0)
        return rc;
    snprintf(out->binding, sizeof(out->binding), "%s", binding);
    snprintf(out->purpose, sizeof(out->purpose), "%s", purpose);
    return out->expires_at <= now ? zt_store_seterr(-ETIMEDOUT, "the challenge expired") : 0;
}

const zt_store_webauthn_ops pgw_ops = {
    .handle = pgw_handle,
    .user_by_handle = pgw_user_by_handle,
    .add = pgw_add,
    .get = pgw_get,
    .list = pgw_list,
    .used = pgw_used,
    .rename = pgw_rename,
    .remove = pgw_remove,
    .count = pgw_count,
    .mark_cloned = pgw_mark_cloned,
    .challenge_put = pgw_challenge_put,
    .challenge_take = pgw_challenge_take,
};
