/* PostgreSQL half of SAML IdP sessions (store_saml.h; SQLite half sqlite_saml.inc, whose
 * statements these follow). take_ended is one DELETE ... RETURNING: when two gateways sweep at
 * once, a row one of them deletes is skipped by the other (it waits for the row lock, then finds
 * the row gone), so each ended session is handed to exactly one caller. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "lib/buf.h"
#include "store/pg_int.h"

static int pgs_put(zt_store *st, const char *hash, const char *dump, int64_t now)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, hash);
    pg_text(&p, dump);
    pg_int(&p, now);
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    /* From the session row: no row for a session that does not exist, and the user it names. */
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO saml_sessions (session_hash, user_id, dump, updated_at) "
                    "SELECT $1::text, s.user_id, $2::text, $3::bigint FROM sessions s "
                    "WHERE s.id_hash = $1::text ON CONFLICT (session_hash) DO UPDATE SET "
                    "dump = excluded.dump, user_id = excluded.user_id, "
                    "updated_at = excluded.updated_at",
                    &p, &n, "storing a SAML session");
    if (rc == -ENOENT || (rc == 0 && n == 0))
        rc = zt_store_seterr(-ENOENT, "no such session");
    return rc;
}

static int pgs_get(zt_store *st, const char *hash, zt_buf *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, hash);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, "SELECT dump FROM saml_sessions WHERE session_hash = $1", &p, &r, NULL,
                  "reading a SAML session");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "no SAML session");
    else if (rc == 0 && pg_col_null(r, 0, 0))
        rc = pg_corrupt("SAML session dump");
    else if (rc == 0)
        rc = zt_buf_append_str(out, PQgetvalue(r, 0, 0));
    if (rc == 0)
        rc = zt_buf_cstr(out);
    PQclear(r);
    return rc;
}

static int pgs_del(zt_store *st, const char *hash)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, hash);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c, "DELETE FROM saml_sessions WHERE session_hash = $1", &p, NULL,
                    "deleting a SAML session");
    return rc;
}

/* SQLite's UPDATE OR IGNORE: a move onto a hash that has a row already changes nothing. The
 * NOT EXISTS covers the usual case; a row inserted meanwhile by another gateway still makes the
 * UPDATE fail as a duplicate, which is ignored the same way. */
static int pgs_move(zt_store *st, const char *from, const char *to)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, from);
    pg_text(&p, to);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "UPDATE saml_sessions SET session_hash = $2 WHERE session_hash = $1 "
                    "AND user_id = (SELECT user_id FROM sessions WHERE id_hash = $2) "
                    "AND NOT EXISTS (SELECT 1 FROM saml_sessions WHERE session_hash = $2)",
                    &p, NULL, "moving a SAML session");
    if (rc == -EEXIST)
        rc = zt_store_seterr(0, "%s", "");
    return rc;
}

#define PGS_ENDED_MAX 64

/* Rows whose session is gone, expired, revoked (epoch moved) or whose user is disabled: the
 * same test as the OIDC grants'. */
static int pgs_take_ended(zt_store *st, int64_t now, zt_store_saml_ended_cb cb, void *ctx,
                          uint64_t *n_out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_int(&p, now);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "DELETE FROM saml_sessions WHERE session_hash IN (SELECT t.session_hash "
                  "FROM saml_sessions t WHERE NOT EXISTS (SELECT 1 FROM sessions s JOIN users u "
                  "ON u.id = s.user_id WHERE s.id_hash = t.session_hash AND "
                  "s.idle_expires_at > $1 AND s.absolute_expires_at > $1 AND u.disabled = 0 "
                  "AND s.user_epoch = u.revocation_epoch) LIMIT 64) "
                  "RETURNING session_hash, user_id, dump",
                  &p, &r, NULL, "taking ended SAML sessions");
    int n = rc == 0 ? PQntuples(r) : 0;
    /* The rows are deleted (committed) whatever the callback does, as with SQLite, where the
     * callback runs after the transaction. */
    for (int i = 0; i < n && cb != NULL; i++) {
        zt_store_saml_ended row = {PQgetvalue(r, i, 0), PQgetvalue(r, i, 1), PQgetvalue(r, i, 2)};
        cb(ctx, &row);
    }
    PQclear(r);
    if (n_out != NULL)
        *n_out = rc == 0 ? (uint64_t)n : 0;
    return rc;
}
_Static_assert(PGS_ENDED_MAX == 64, "the DELETE names the batch size");

const zt_store_saml_ops pgs_ops = {
    .put = pgs_put,
    .get = pgs_get,
    .del = pgs_del,
    .move = pgs_move,
    .take_ended = pgs_take_ended,
};
