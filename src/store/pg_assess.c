/* PostgreSQL half of the assessment's records (store_assess.h; SQLite half sqlite_assess.inc,
 * whose statements these follow). */
#include <errno.h>
#include <string.h>

#include "store/pg_int.h"

static int pgas_answer_set(zt_store *st, const zt_store_assess_answer *a)
{
    pg_conn *c = NULL;
    pg_params p = {0};
    pg_text(&p, a->key);
    pg_text(&p, a->value);
    pg_text(&p, a->actor);
    pg_int(&p, a->updated_at);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO assess_answers (key, value, actor, updated_at) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (key) DO UPDATE SET "
                    "value = excluded.value, actor = excluded.actor, "
                    "updated_at = excluded.updated_at",
                    &p, NULL, "storing an assessment answer");
    return rc;
}

static int pgas_answer_list(zt_store *st, zt_store_assess_answer_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    /* Keys in byte order, as SQLite sorts them. */
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT key, value, actor, updated_at FROM assess_answers "
                  "ORDER BY key COLLATE \"C\"",
                  NULL, &r, NULL, "listing assessment answers");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_assess_answer a;
        memset(&a, 0, sizeof(a));
        bool ok = pg_col(r, i, 0, a.key, sizeof(a.key)) &&
                  pg_col(r, i, 1, a.value, sizeof(a.value)) &&
                  pg_col(r, i, 2, a.actor, sizeof(a.actor));
        a.updated_at = pg_col_int(r, i, 3);
        rc = ok ? 0 : pg_corrupt("assessment answer");
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &a);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

/* Insert, then drop the oldest beyond ZT_STORE_ASSESS_HISTORY_MAX, in one transaction. */
static int pgas_run_add_txn(pg_conn *c, void *arg)
{
    zt_store_assess_run *run = arg;
    pg_params p = {0};
    pg_int(&p, run->at);
    pg_text(&p, run->stages);
    pg_text(&p, run->actor);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "INSERT INTO assess_history (at, stages, actor) VALUES ($1, $2, $3) "
                  "RETURNING id",
                  &p, &r, NULL, "keeping an assessment");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-EIO, "keeping an assessment: no id returned");
    if (rc == 0)
        run->id = pg_col_int(r, 0, 0);
    PQclear(r);
    if (rc == 0)
        rc = pg_run(c,
                    "DELETE FROM assess_history WHERE id NOT IN (SELECT id FROM assess_history "
                    "ORDER BY id DESC LIMIT 500)",
                    NULL, NULL, "trimming the assessment history");
    return rc;
}
_Static_assert(ZT_STORE_ASSESS_HISTORY_MAX == 500, "the trim statement names the cap");

static int pgas_run_add(zt_store *st, zt_store_assess_run *r)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgas_run_add_txn, r);
}

static int pgas_run_list(zt_store *st, uint64_t limit, zt_store_assess_run_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    /* LIMIT NULL is no limit. */
    if (limit > 0 && limit < INT64_MAX)
        pg_int(&p, (int64_t)limit);
    else
        pg_text(&p, NULL);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT id, at, stages, actor FROM (SELECT * FROM assess_history "
                  "ORDER BY id DESC LIMIT $1::bigint) h ORDER BY id",
                  &p, &r, NULL, "listing the assessment history");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_assess_run run;
        memset(&run, 0, sizeof(run));
        run.id = pg_col_int(r, i, 0);
        run.at = pg_col_int(r, i, 1);
        bool ok = pg_col(r, i, 2, run.stages, sizeof(run.stages)) &&
                  pg_col(r, i, 3, run.actor, sizeof(run.actor));
        rc = ok ? 0 : pg_corrupt("assessment run");
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &run);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

static int pgas_mfa_counts(zt_store *st, zt_store_assess_mfa *out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT count(*), "
                  "  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM totp_credentials t "
                  "    WHERE t.user_id = u.id) OR EXISTS (SELECT 1 FROM webauthn_credentials w "
                  "    WHERE w.user_id = u.id)), "
                  "  count(*) FILTER (WHERE EXISTS (SELECT 1 FROM webauthn_credentials w "
                  "    WHERE w.user_id = u.id)) "
                  "FROM users u WHERE u.disabled = 0",
                  NULL, &r, NULL, "counting users with MFA");
    if (rc == 0 && PQntuples(r) != 1)
        rc = pg_corrupt("user counts");
    if (rc == 0) {
        out->users = (uint64_t)pg_col_int(r, 0, 0);
        out->users_mfa = (uint64_t)pg_col_int(r, 0, 1);
        out->users_passkey = (uint64_t)pg_col_int(r, 0, 2);
    }
    PQclear(r);
    return rc;
}

const zt_store_assess_ops pgas_ops = {
    .answer_set = pgas_answer_set,
    .answer_list = pgas_answer_list,
    .run_add = pgas_run_add,
    .run_list = pgas_run_list,
    .mfa_counts = pgas_mfa_counts,
};
