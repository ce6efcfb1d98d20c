/* PostgreSQL half of Temporary Access Passes (store_tap.h; SQLite half sqlite_tap.inc, whose
 * statements these follow). SQLite's redeem relied on BEGIN IMMEDIATE: one writer reads, checks
 * and takes a use. Here the read is SELECT ... FOR UPDATE, so a second redeem of the same pass
 * (another thread, another gateway) waits for the first to commit and then sees the use taken. */
#include <errno.h>
#include <string.h>

#include "lib/secure.h"
#include "store/pg_int.h"

#define PGT_COLS                                                                                   \
    "user_id, created_by, created_at, expires_at, uses, uses_left, last_used_at, revoked_at"

static int pgt_row(const PGresult *r, zt_store_tap *t)
{
    memset(t, 0, sizeof(*t));
    bool ok = pg_col(r, 0, 0, t->user_id, sizeof(t->user_id)) &&
              pg_col(r, 0, 1, t->created_by, sizeof(t->created_by));
    t->created_at = pg_col_int(r, 0, 2);
    t->expires_at = pg_col_int(r, 0, 3);
    t->uses = (int)pg_col_int(r, 0, 4);
    t->uses_left = (int)pg_col_int(r, 0, 5);
    t->last_used_at = pg_col_int(r, 0, 6);
    t->revoked_at = pg_col_int(r, 0, 7);
    return ok ? 0 : pg_corrupt("temporary access pass");
}

/* One row per user: a new pass replaces the old one whatever its state (Entra's rule). */
static int pgt_put(zt_store *st, const zt_store_tap *t, const unsigned char *hash)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, t->user_id);
    pg_blob(&p, hash, ZT_STORE_TAP_HASH_LEN);
    pg_text(&p, t->created_by);
    pg_int(&p, t->created_at);
    pg_int(&p, t->expires_at);
    pg_int(&p, t->uses);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO temporary_access_passes (user_id, pass_hash, created_by, "
                    "created_at, expires_at, uses, uses_left) VALUES ($1, $2, $3, $4, $5, $6, $6) "
                    "ON CONFLICT (user_id) DO UPDATE SET pass_hash = excluded.pass_hash, "
                    "created_by = excluded.created_by, created_at = excluded.created_at, "
                    "expires_at = excluded.expires_at, uses = excluded.uses, "
                    "uses_left = excluded.uses_left, last_used_at = 0, revoked_at = 0",
                    &p, NULL, "storing a temporary access pass");
    if (rc == -ENOENT)
        rc = zt_store_seterr(-ENOENT, "no such user");
    return rc;
}

/* 1 with the row (and its hash into hash_out, nullable), 0 when none, negative on error.
 * `lock` holds the row until the transaction ends. */
static int pgt_read(pg_conn *c, const char *user_id, bool lock, zt_store_tap *out,
                    unsigned char *hash_out)
{
    pg_params p = {0};
    pg_text(&p, user_id);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  lock ? "SELECT " PGT_COLS ", pass_hash FROM temporary_access_passes "
                         "WHERE user_id = $1 FOR UPDATE"
                       : "SELECT " PGT_COLS ", pass_hash FROM temporary_access_passes "
                         "WHERE user_id = $1",
                  &p, &r, NULL, "reading a temporary access pass");
    if (rc == 0 && PQntuples(r) > 0) {
        unsigned char h[ZT_STORE_TAP_HASH_LEN];
        size_t n = 0;
        rc = pgt_row(r, out);
        if (rc == 0 && (!pg_col_blob(r, 0, 8, h, sizeof(h), &n) || n != sizeof(h)))
            rc = pg_corrupt("temporary access pass hash");
        if (rc == 0 && hash_out != NULL)
            memcpy(hash_out, h, sizeof(h));
        zt_wipe(h, sizeof(h));
        rc = rc == 0 ? 1 : rc;
    }
    PQclear(r);
    return rc;
}

static int pgt_get(zt_store *st, const char *user_id, zt_store_tap *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgt_read(c, user_id, false, out, NULL);
    return rc == 1   ? 0
           : rc == 0 ? zt_store_seterr(-ENOENT, "no temporary access pass for this user")
                     : rc;
}

typedef struct pgt_use_args {
    const char *user_id;
    const unsigned char *hash;
    int64_t now;
    zt_store_tap *out;
} pgt_use_args;

static int pgt_revoke_txn(pg_conn *c, void *arg)
{
    pgt_use_args *a = arg;
    zt_store_tap t;
    int rc = pgt_read(c, a->user_id, true, &t, NULL);
    if (rc <= 0)
        return rc == 0 ? zt_store_seterr(-ENOENT, "no temporary access pass for this user") : rc;
    if (t.revoked_at != 0)
        return zt_store_seterr(-EALREADY, "the temporary access pass is revoked already");
    pg_params p = {0};
    pg_text(&p, a->user_id);
    pg_int(&p, a->now);
    return pg_run(c, "UPDATE temporary_access_passes SET revoked_at = $2 WHERE user_id = $1", &p,
                  NULL, "revoking a temporary access pass");
}

static int pgt_revoke(zt_store *st, const char *user_id, int64_t now)
{
    pg_conn *c = NULL;
    pgt_use_args a = {.user_id = user_id, .now = now};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgt_revoke_txn, &a);
}

/* Read (locked), compare, check and take a use in one transaction: two sign-ins racing on a
 * one-use pass cannot both see the use left. */
static int pgt_redeem_txn(pg_conn *c, void *arg)
{
    pgt_use_args *a = arg;
    unsigned char stored[ZT_STORE_TAP_HASH_LEN];
    int rc = pgt_read(c, a->user_id, true, a->out, stored);
    if (rc <= 0)
        return rc == 0 ? zt_store_seterr(-ENOENT, "no temporary access pass for this user") : rc;
    bool match = zt_ct_eq(stored, a->hash, ZT_STORE_TAP_HASH_LEN);
    zt_wipe(stored, sizeof(stored));
    if (!match)
        return zt_store_seterr(-EACCES, "wrong temporary access pass");
    if (a->out->revoked_at != 0)
        return zt_store_seterr(-ECANCELED, "the temporary access pass was revoked");
    if (a->now >= a->out->expires_at)
        return zt_store_seterr(-ETIMEDOUT, "the temporary access pass has expired");
    bool unlimited = a->out->uses == ZT_STORE_TAP_UNLIMITED;
    if (!unlimited && a->out->uses_left <= 0)
        return zt_store_seterr(-EDQUOT, "the temporary access pass has no use left");
    pg_params p = {0};
    pg_text(&p, a->user_id);
    pg_int(&p, a->now);
    rc = pg_run(c,
                "UPDATE temporary_access_passes SET last_used_at = $2, "
                "uses_left = CASE WHEN uses = 0 THEN 0 ELSE uses_left - 1 END "
                "WHERE user_id = $1",
                &p, NULL, "using a temporary access pass");
    if (rc == 0) {
        a->out->last_used_at = a->now;
        if (!unlimited)
            a->out->uses_left--;
    }
    return rc;
}

static int pgt_redeem(zt_store *st, const char *user_id, const unsigned char *hash, int64_t now,
                      zt_store_tap *out)
{
    pg_conn *c = NULL;
    pgt_use_args a = {.user_id = user_id, .hash = hash, .now = now, .out = out};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgt_redeem_txn, &a);
}

const zt_store_tap_ops pgt_ops = {
    .put = pgt_put,
    .get = pgt_get,
    .revoke = pgt_revoke,
    .redeem = pgt_redeem,
};
