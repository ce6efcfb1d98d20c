/* PostgreSQL half of the pending agent sign-ins (store_agent.h; SQLite half sqlite_agent.inc,
 * whose statements these follow). With many gateways the agent's start, the approval page and
 * the polls may each reach another one: the row is what they share. put takes an advisory
 * transaction lock so two starts cannot both pass the cap; the other calls are one statement
 * each, whose row count decides (a decision is handed out by the one DELETE that removes it). */
#include <errno.h>
#include <string.h>

#include "store/pg_int.h"

#define PGAG_COLS                                                                                  \
    "device_hash, user_hash, device_id, app, ip, expires, last_poll_ms, interval_s, state, "       \
    "user_id, email, auth_time, mfa_time, expires_cap, mfa_method, amr, aaguid"

static int pgag_row(const PGresult *r, zt_store_agent_signin *a)
{
    memset(a, 0, sizeof(*a));
    bool ok = pg_col(r, 0, 0, a->device_hash, sizeof(a->device_hash)) &&
              pg_col(r, 0, 1, a->user_hash, sizeof(a->user_hash)) &&
              pg_col(r, 0, 2, a->device_id, sizeof(a->device_id)) &&
              pg_col(r, 0, 3, a->app, sizeof(a->app)) && pg_col(r, 0, 4, a->ip, sizeof(a->ip)) &&
              pg_col(r, 0, 9, a->user_id, sizeof(a->user_id)) &&
              pg_col(r, 0, 10, a->email, sizeof(a->email)) &&
              pg_col(r, 0, 14, a->mfa_method, sizeof(a->mfa_method)) &&
              pg_col(r, 0, 16, a->aaguid, sizeof(a->aaguid));
    a->expires = pg_col_int(r, 0, 5);
    a->last_poll_ms = pg_col_int(r, 0, 6);
    a->interval_s = (int)pg_col_int(r, 0, 7);
    a->state = (zt_store_agent_state)pg_col_int(r, 0, 8);
    a->auth_time = pg_col_int(r, 0, 11);
    a->mfa_time = pg_col_int(r, 0, 12);
    a->expires_cap = pg_col_int(r, 0, 13);
    a->amr = (unsigned)pg_col_int(r, 0, 15);
    return ok ? 0 : pg_corrupt("agent sign-in");
}

typedef struct pgag_put_args {
    const zt_store_agent_signin *a;
    int64_t now;
} pgag_put_args;

static int pgag_put_txn(pg_conn *c, void *arg)
{
    pgag_put_args *x = arg;
    const zt_store_agent_signin *a = x->a;
    int rc = pg_run(c, "SELECT pg_advisory_xact_lock(hashtext('agent_signins'))", NULL, NULL,
                    "locking the agent sign-ins");
    pg_params old = {0};
    pg_int(&old, x->now);
    pg_text(&old, a->device_id);
    rc = rc ? rc
            : pg_run(c, "DELETE FROM agent_signins WHERE expires <= $1 OR device_id = $2", &old,
                     NULL, "dropping old agent sign-ins");
    PGresult *r = NULL;
    rc = rc ? rc
            : pg_q(c, "SELECT count(*) FROM agent_signins", NULL, &r, NULL,
                   "counting agent sign-ins");
    int64_t live = rc == 0 && PQntuples(r) == 1 ? pg_col_int(r, 0, 0) : 0;
    PQclear(r);
    if (rc != 0)
        return rc;
    if (live >= ZT_STORE_AGENT_PENDING_MAX)
        return zt_store_seterr(-ENOSPC, "%d agent sign-ins are pending already",
                               ZT_STORE_AGENT_PENDING_MAX);
    pg_params p = {0};
    pg_text(&p, a->device_hash);
    pg_text(&p, a->user_hash);
    pg_text(&p, a->device_id);
    pg_text(&p, a->app);
    pg_text(&p, a->ip);
    pg_int(&p, a->expires);
    pg_int(&p, a->last_poll_ms);
    pg_int(&p, a->interval_s);
    return pg_run(c,
                  "INSERT INTO agent_signins (device_hash, user_hash, device_id, app, ip, "
                  "expires, last_poll_ms, interval_s) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                  &p, NULL, "storing an agent sign-in");
}

static int pgag_put(zt_store *st, const zt_store_agent_signin *a, int64_t now)
{
    pg_conn *c = NULL;
    pgag_put_args x = {.a = a, .now = now};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgag_put_txn, &x);
}

static int pgag_get(zt_store *st, bool by_device_code, const char *hash, zt_store_agent_signin *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, hash);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  by_device_code ? "SELECT " PGAG_COLS " FROM agent_signins WHERE device_hash = $1"
                                 : "SELECT " PGAG_COLS " FROM agent_signins WHERE user_hash = $1",
                  &p, &r, NULL, "reading an agent sign-in");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "no such agent sign-in");
    else if (rc == 0)
        rc = pgag_row(r, out);
    PQclear(r);
    return rc;
}

/* One statement whose row count decides: 0 rows is -ENOENT. */
static int pgag_change(zt_store *st, const char *sql, const pg_params *p, const char *what)
{
    pg_conn *c = NULL;
    int64_t n = 0;
    int rc = pg_enter(st, &c);
    rc = rc ? rc : pg_run(c, sql, p, &n, what);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "no such agent sign-in");
    return rc;
}

static int pgag_polled(zt_store *st, const char *device_hash, int64_t last_poll_ms, int interval_s)
{
    pg_params p = {0};
    pg_text(&p, device_hash);
    pg_int(&p, last_poll_ms);
    pg_int(&p, interval_s);
    return pgag_change(st,
                       "UPDATE agent_signins SET last_poll_ms = $2, interval_s = $3 "
                       "WHERE device_hash = $1",
                       &p, "remembering an agent's poll");
}

static int pgag_take(zt_store *st, const char *device_hash, int state)
{
    pg_params p = {0};
    pg_text(&p, device_hash);
    pg_int(&p, state);
    return pgag_change(st,
                       "DELETE FROM agent_signins WHERE device_hash = $1 AND "
                       "($2::bigint < 0 OR state = $2::bigint)",
                       &p, "taking an agent sign-in");
}

static int pgag_decide(zt_store *st, const char *user_hash, const char *device_id, int64_t now,
                       int from, const zt_store_agent_signin *d)
{
    pg_params p = {0};
    pg_text(&p, user_hash);
    pg_text(&p, device_id);
    pg_int(&p, now);
    pg_int(&p, from);
    pg_int(&p, d->state);
    pg_text(&p, d->user_id);
    pg_text(&p, d->email);
    pg_int(&p, d->auth_time);
    pg_int(&p, d->mfa_time);
    pg_int(&p, d->expires_cap);
    pg_text(&p, d->mfa_method);
    pg_int(&p, d->amr);
    pg_text(&p, d->aaguid);
    return pgag_change(st,
                       "UPDATE agent_signins SET state = $5, user_id = $6, email = $7, "
                       "auth_time = $8, mfa_time = $9, expires_cap = $10, mfa_method = $11, "
                       "amr = $12, aaguid = $13 WHERE user_hash = $1 AND device_id = $2 AND "
                       "expires > $3 AND state = $4",
                       &p, "deciding an agent sign-in");
}

const zt_store_agent_ops pgag_ops = {
    .put = pgag_put,
    .get = pgag_get,
    .polled = pgag_polled,
    .take = pgag_take,
    .decide = pgag_decide,
};
