/* PostgreSQL half of the shared counters (store_counter.h). Each operation is one statement:
 * a call to one of the schema's functions (pg_schema.c step 3), which take the advisory lock
 * of their key, or a plain DELETE. SQLite has no half: a single gateway counts in memory. */
#include "store/pg_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define KEY ZT_STORE_COUNTER_KEY_LEN

static void key_param(pg_params *p, const unsigned char *key)
{
    if (key != NULL)
        pg_blob(p, key, KEY);
    else
        pg_text(p, NULL);
}

/* An int8[] in text form ("{1,2,3}") into out; false when malformed or longer than cap. */
static bool int_array(const char *s, int64_t *out, size_t cap, size_t *n)
{
    *n = 0;
    if (s == NULL || s[0] != '{')
        return false;
    const char *p = s + 1;
    if (*p == '}')
        return p[1] == '\0';
    for (;;) {
        char *end = NULL;
        long long v = strtoll(p, &end, 10);
        if (end == p || *n == cap)
            return false;
        out[(*n)++] = v;
        if (*end == '}')
            return end[1] == '\0';
        if (*end != ',')
            return false;
        p = end + 1;
    }
}

static int pgc_throttle_admit(zt_store *st, const unsigned char *account_key, int side,
                              const unsigned char *source_key, int64_t now_ms,
                              int64_t hold_until_ms, zt_store_throttle_seen *out)
{
    memset(out, 0, sizeof(*out));
    pg_conn *c;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    key_param(&p, account_key);
    pg_int(&p, side);
    key_param(&p, source_key);
    pg_int(&p, now_ms);
    pg_int(&p, hold_until_ms);
    PGresult *r = NULL;
    rc = pg_q(c,
              "SELECT o_fails, o_last_fail_ms, o_apending, o_spending, o_secs, o_counts, "
              "o_ahold, o_shold FROM ztgate_throttle_admit($1, $2::smallint, $3, $4, $5)",
              &p, &r, NULL, "admitting a sign-in attempt");
    if (rc != 0)
        return rc;
    size_t n_counts = 0;
    if (PQntuples(r) != 1 ||
        !int_array(PQgetvalue(r, 0, 4), out->sec, ZT_STORE_THROTTLE_SECS, &out->n_secs) ||
        !int_array(PQgetvalue(r, 0, 5), out->count, ZT_STORE_THROTTLE_SECS, &n_counts) ||
        n_counts != out->n_secs) {
        PQclear(r);
        return pg_corrupt("throttle window");
    }
    out->fails = pg_col_int(r, 0, 0);
    out->last_fail_ms = pg_col_int(r, 0, 1);
    out->account_pending = pg_col_int(r, 0, 2);
    out->source_pending = pg_col_int(r, 0, 3);
    out->account_hold = pg_col_int(r, 0, 6);
    out->source_hold = pg_col_int(r, 0, 7);
    PQclear(r);
    return 0;
}

static int pgc_throttle_unhold(zt_store *st, int64_t hold1, int64_t hold2)
{
    pg_conn *c;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_int(&p, hold1);
    pg_int(&p, hold2);
    return pg_run(c, "DELETE FROM throttle_holds WHERE id IN ($1, $2)", &p, NULL,
                  "dropping a sign-in reservation");
}

static int pgc_throttle_settle(zt_store *st, const unsigned char *account_key, int side,
                               const unsigned char *source_key, bool success, int64_t now_ms,
                               int64_t reset_ms, int64_t hold1, int64_t hold2)
{
    pg_conn *c;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    key_param(&p, account_key);
    pg_int(&p, side);
    key_param(&p, source_key);
    pg_text(&p, success ? "true" : "false");
    pg_int(&p, now_ms);
    pg_int(&p, reset_ms);
    pg_int(&p, hold1);
    pg_int(&p, hold2);
    return pg_run(c,
                  "SELECT ztgate_throttle_settle($1, $2::smallint, $3, $4::boolean, $5, $6, $7, "
                  "$8)",
                  &p, NULL, "recording a sign-in verdict");
}

static int pgc_risk_failure(zt_store *st, const unsigned char *source, const unsigned char *account,
                            const unsigned char *pw_tag, int64_t now,
                            const zt_store_spray_rule *rule, zt_store_source_flags *out)
{
    memset(out, 0, sizeof(*out));
    memcpy(out->source, source, KEY);
    pg_conn *c;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    key_param(&p, source);
    key_param(&p, account);
    key_param(&p, pw_tag);
    pg_int(&p, now);
    pg_int(&p, rule->spray_window_s);
    pg_int(&p, rule->spray_accounts);
    pg_int(&p, rule->spray_passwords);
    pg_int(&p, rule->reputation_window_s);
    pg_int(&p, rule->reputation_accounts);
    pg_int(&p, rule->ttl_s);
    PGresult *r = NULL;
    rc = pg_q(c,
              "SELECT o_raised, o_rep_until, o_spray_until FROM "
              "ztgate_risk_failure($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
              &p, &r, NULL, "recording a failed sign-in's source");
    if (rc != 0)
        return rc;
    if (PQntuples(r) == 1) {
        out->raised = (unsigned)pg_col_int(r, 0, 0);
        out->reputation_until = pg_col_int(r, 0, 1);
        out->spray_until = pg_col_int(r, 0, 2);
    }
    PQclear(r);
    return 0;
}

static int pgc_risk_flags(zt_store *st, int64_t now, zt_store_source_flags_cb cb, void *ctx)
{
    pg_conn *c;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_int(&p, now);
    PGresult *r = NULL;
    rc = pg_q(c,
              "SELECT source, reputation_until, spray_until FROM risk_source_flags "
              "WHERE until > $1 ORDER BY source",
              &p, &r, NULL, "reading flagged sources");
    if (rc != 0)
        return rc;
    pg_cb_begin(c);
    for (int i = 0, n = PQntuples(r); i < n && rc == 0; i++) {
        zt_store_source_flags f = {0};
        size_t len = 0;
        if (!pg_col_blob(r, i, 0, f.source, sizeof(f.source), &len) || len != KEY) {
            rc = pg_corrupt("source key");
            break;
        }
        f.reputation_until = pg_col_int(r, i, 1);
        f.spray_until = pg_col_int(r, i, 2);
        rc = cb(ctx, &f);
    }
    pg_cb_end(c);
    PQclear(r);
    return rc;
}

static int pgc_sweep(zt_store *st, int64_t now_ms, int64_t reset_ms, int64_t risk_keep_s,
                     uint64_t *n_out)
{
    pg_conn *c;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_int(&p, now_ms);
    pg_int(&p, reset_ms);
    pg_int(&p, risk_keep_s);
    PGresult *r = NULL;
    rc = pg_q(c,
              "WITH h AS (DELETE FROM throttle_holds WHERE expires_ms <= $1 RETURNING 1),"
              " s AS (DELETE FROM throttle_seconds WHERE sec <= floor($1 / 1000.0) - 61"
              "  RETURNING 1),"
              " a AS (DELETE FROM throttle_sides WHERE last_fail_ms <= $1 - $2 RETURNING 1),"
              " ra AS (DELETE FROM risk_source_accounts WHERE at <= floor($1 / 1000.0) - $3"
              "  RETURNING 1),"
              " rp AS (DELETE FROM risk_source_passwords WHERE at <= floor($1 / 1000.0) - $3"
              "  RETURNING 1),"
              " rf AS (DELETE FROM risk_source_flags WHERE until <= floor($1 / 1000.0)"
              "  RETURNING 1) "
              "SELECT (SELECT count(*) FROM h) + (SELECT count(*) FROM s) +"
              " (SELECT count(*) FROM a) + (SELECT count(*) FROM ra) +"
              " (SELECT count(*) FROM rp) + (SELECT count(*) FROM rf)",
              &p, &r, NULL, "sweeping the shared counters");
    if (rc != 0)
        return rc;
    if (n_out != NULL && PQntuples(r) == 1)
        *n_out = (uint64_t)pg_col_int(r, 0, 0);
    PQclear(r);
    return 0;
}

/* Stored in ztgate_meta under "shared.<name>", beside the schema version: the first writer
 * wins (ON CONFLICT DO NOTHING), and everyone reads what won. */
static int pgc_shared_claim(zt_store *st, const char *name, const char *value, char *stored,
                            size_t cap)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    int rc = pg_enter(st, &c);
    if (rc != 0)
        return rc;
    pg_params p = {0};
    pg_text(&p, name);
    pg_text(&p, value);
    rc = pg_q(c,
              "WITH ins AS (INSERT INTO ztgate_meta (key, value) VALUES ('shared.' || $1, $2) "
              "ON CONFLICT (key) DO NOTHING RETURNING value) "
              "SELECT value FROM ins UNION ALL "
              "SELECT value FROM ztgate_meta WHERE key = 'shared.' || $1",
              &p, &r, NULL, "reading a shared value");
    if (rc != 0)
        return rc;
    rc = PQntuples(r) > 0 && pg_col(r, 0, 0, stored, cap) ? 0 : pg_corrupt("shared value");
    PQclear(r);
    return rc;
}

const zt_store_counter_ops pgc_ops = {
    .throttle_admit = pgc_throttle_admit,
    .throttle_unhold = pgc_throttle_unhold,
    .throttle_settle = pgc_throttle_settle,
    .risk_failure = pgc_risk_failure,
    .risk_flags = pgc_risk_flags,
    .sweep = pgc_sweep,
    .shared_claim = pgc_shared_claim,
};
