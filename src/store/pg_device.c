/* PostgreSQL half of device trust (store_device.h; SQLite half sqlite_device.inc, whose
 * statements these follow). Where SQLite's BEGIN IMMEDIATE made each transaction the only
 * writer, these lock what they depend on: the device row (SELECT ... FOR UPDATE) before a
 * revoke, a delete, a posture report or an alert, so two gateways writing for one device take
 * turns; enrolment codes are taken by a conditional UPDATE, which one of two racing uses
 * finds already used. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "store/pg_int.h"

#define PGD_DEVICE_COLS                                                                            \
    "d.id, d.user_id, u.email, d.name, d.platform, d.cert_serial, d.cert_sha256, d.enrolled_at, "  \
    "d.cert_not_after, COALESCE(d.revoked_at, 0), COALESCE(d.last_seen_at, 0), "                   \
    "COALESCE(d.posture_at, 0), d.compliant, d.failed_text, d.risk, (SELECT count(*) FROM "        \
    "device_alerts a WHERE a.device_id = d.id AND a.state <> 'resolved')"
#define PGD_DEVICE_FROM " FROM devices d JOIN users u ON u.id = d.user_id "
/* Risk follows the alerts: any unresolved one makes the device high risk; none clears it. */
#define PGD_SET_RISK                                                                               \
    "UPDATE devices SET risk = CASE WHEN EXISTS (SELECT 1 FROM device_alerts WHERE device_id = "   \
    "$1 AND state <> 'resolved') THEN 3 ELSE 0 END, last_seen_at = $2 WHERE id = $1"

static const char *const pgd_state_text[] = {"active", "quarantined", "resolved"};

static int pgd_row_device(const PGresult *r, int row, zt_store_device *d)
{
    memset(d, 0, sizeof(*d));
    bool ok = pg_col(r, row, 0, d->id, sizeof(d->id)) &&
              pg_col(r, row, 1, d->user_id, sizeof(d->user_id)) &&
              pg_col(r, row, 2, d->email, sizeof(d->email)) &&
              pg_col(r, row, 3, d->name, sizeof(d->name)) &&
              pg_col(r, row, 4, d->platform, sizeof(d->platform)) &&
              pg_col(r, row, 5, d->cert_serial, sizeof(d->cert_serial)) &&
              pg_col(r, row, 6, d->cert_sha256, sizeof(d->cert_sha256)) &&
              pg_col(r, row, 13, d->failed, sizeof(d->failed));
    d->enrolled_at = pg_col_int(r, row, 7);
    d->cert_not_after = pg_col_int(r, row, 8);
    d->revoked_at = pg_col_int(r, row, 9);
    d->last_seen_at = pg_col_int(r, row, 10);
    d->posture_at = pg_col_int(r, row, 11);
    d->compliant = pg_col_bool(r, row, 12);
    d->risk = (int)pg_col_int(r, row, 14);
    d->unresolved_alerts = (uint64_t)pg_col_int(r, row, 15);
    return ok ? 0 : pg_corrupt("device");
}

/* The device with its owner's email; `lock` takes its row lock until the transaction ends. */
static int pgd_read_device(pg_conn *c, const char *id, bool lock, zt_store_device *out)
{
    pg_params p = {0};
    pg_text(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  lock ? "SELECT " PGD_DEVICE_COLS PGD_DEVICE_FROM "WHERE d.id = $1 FOR UPDATE OF d"
                       : "SELECT " PGD_DEVICE_COLS PGD_DEVICE_FROM "WHERE d.id = $1",
                  &p, &r, NULL, "reading a device");
    if (rc == 0)
        rc = PQntuples(r) > 0 ? pgd_row_device(r, 0, out)
                              : zt_store_seterr(-ENOENT, "no such device");
    PQclear(r);
    return rc;
}

/* ---- enrolment codes ---- */

typedef struct pgd_code_args {
    const char *hash, *user_id;
    int64_t now, expires_at;
    char *user_out;
    zt_store_device *dev;
} pgd_code_args;

static int pgd_code_add_txn(pg_conn *c, void *arg)
{
    const pgd_code_args *a = arg;
    pg_params prune = {0};
    pg_int(&prune, a->now - 86400);
    int rc = pg_run(c, "DELETE FROM enroll_codes WHERE expires_at <= $1 OR used_at <= $1", &prune,
                    NULL, "pruning enrolment codes");
    pg_params p = {0};
    pg_text(&p, a->hash);
    pg_text(&p, a->user_id);
    pg_int(&p, a->now);
    pg_int(&p, a->expires_at);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO enroll_codes (code_hash, user_id, created_at, expires_at) "
                    "VALUES ($1, $2, $3, $4)",
                    &p, NULL, "adding an enrolment code");
    if (rc == -ENOENT)
        rc = zt_store_seterr(-ENOENT, "no such user");
    return rc;
}

static int pgd_code_add(zt_store *st, const char *code_hash, const char *user_id, int64_t now,
                        int64_t expires_at)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_code_args a = {.hash = code_hash, .user_id = user_id, .now = now, .expires_at = expires_at};
    return rc != 0 ? rc : pg_txn(c, pgd_code_add_txn, &a);
}

/* The conditional UPDATE is the single-use guarantee: of two racing uses (on any gateways) the
 * second waits for the first's row lock, then sees used_at set and matches no row. */
static int pgd_code_take(pg_conn *c, const pgd_code_args *a, char *user_out)
{
    pg_params p = {0};
    pg_text(&p, a->hash);
    pg_int(&p, a->now);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "UPDATE enroll_codes SET used_at = $2 WHERE code_hash = $1 AND "
                  "used_at IS NULL AND expires_at > $2 RETURNING user_id",
                  &p, &r, NULL, "using an enrolment code");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-EACCES, "the enrolment code is unknown, expired or used");
    else if (rc == 0 && !pg_col(r, 0, 0, user_out, ZT_STORE_ID_LEN + 1))
        rc = pg_corrupt("enrolment code");
    PQclear(r);
    return rc;
}

static int pgd_code_use_txn(pg_conn *c, void *arg)
{
    pgd_code_args *a = arg;
    return pgd_code_take(c, a, a->user_out);
}

static int pgd_code_use(zt_store *st, const char *code_hash, int64_t now, char *user_id_out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_code_args a = {.hash = code_hash, .now = now, .user_out = user_id_out};
    return rc != 0 ? rc : pg_txn(c, pgd_code_use_txn, &a);
}

/* ---- devices ---- */

static int pgd_insert(pg_conn *c, const zt_store_device *d)
{
    pg_params p = {0};
    pg_text(&p, d->id);
    pg_text(&p, d->user_id);
    pg_text(&p, d->name);
    pg_text(&p, d->platform);
    pg_text(&p, d->cert_serial);
    pg_text(&p, d->cert_sha256);
    pg_int(&p, d->enrolled_at);
    pg_int(&p, d->cert_not_after);
    int rc = pg_run(c,
                    "INSERT INTO devices (id, user_id, name, platform, cert_serial, cert_sha256, "
                    "enrolled_at, cert_not_after) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                    &p, NULL, "adding a device");
    if (rc == -ENOENT)
        rc = zt_store_seterr(-ENOENT, "no such user");
    else if (rc == -EEXIST)
        rc = zt_store_seterr(-EEXIST, "a device with this id or certificate serial exists");
    return rc;
}

static int pgd_create(zt_store *st, const zt_store_device *d)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgd_insert(c, d);
}

static int pgd_enroll_txn(pg_conn *c, void *arg)
{
    pgd_code_args *a = arg;
    int rc = pgd_code_take(c, a, a->dev->user_id);
    if (rc == 0)
        rc = pgd_insert(c, a->dev);
    if (rc == 0)
        rc = pgd_read_device(c, a->dev->id, false, a->dev);
    return rc;
}

static int pgd_enroll(zt_store *st, const char *code_hash, int64_t now, zt_store_device *d)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_code_args a = {.hash = code_hash, .now = now, .dev = d};
    return rc != 0 ? rc : pg_txn(c, pgd_enroll_txn, &a);
}

static int pgd_get(zt_store *st, const char *id, zt_store_device *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgd_read_device(c, id, false, out);
}

static int pgd_list(zt_store *st, const char *user_id, zt_store_device_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, user_id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGD_DEVICE_COLS PGD_DEVICE_FROM
                  "WHERE $1::text IS NULL OR d.user_id = $1::text "
                  "ORDER BY lower(u.email) COLLATE \"C\", d.enrolled_at, d.id",
                  &p, &r, NULL, "listing devices");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_device d;
        rc = pgd_row_device(r, i, &d);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &d);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

typedef struct pgd_dev_args {
    const char *id;
    int64_t now;
    bool remove;
} pgd_dev_args;

/* Revoke and delete share the steps: lock the row, record the serial, end the device's
 * sessions, then mark the row revoked or delete it. The lock makes the second of two racing
 * revokes see the first's revoked_at (-EALREADY), as SQLite's single writer did. */
static int pgd_end_txn(pg_conn *c, void *arg)
{
    const pgd_dev_args *a = arg;
    zt_store_device d;
    int rc = pgd_read_device(c, a->id, true, &d);
    if (rc == 0 && !a->remove && d.revoked_at != 0)
        rc = zt_store_seterr(-EALREADY, "the device is already revoked");
    pg_params p = {0};
    pg_text(&p, a->id);
    pg_int(&p, a->now);
    pg_params id = {0};
    pg_text(&id, a->id);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO device_revoked_certs (serial, device_id, not_after, revoked_at) "
                    "SELECT cert_serial, id, cert_not_after, $2::bigint FROM devices WHERE id = $1 "
                    "ON CONFLICT DO NOTHING",
                    &p, NULL, "recording a revoked certificate");
    if (rc == 0)
        rc = pg_run(c, "DELETE FROM sessions WHERE device_id = $1", &id, NULL,
                    "deleting the device's sessions");
    if (rc == 0 && a->remove)
        rc = pg_run(c, "DELETE FROM devices WHERE id = $1", &id, NULL, "deleting a device");
    else if (rc == 0)
        rc = pg_run(c, "UPDATE devices SET revoked_at = $2 WHERE id = $1", &p, NULL,
                    "revoking a device");
    return rc;
}

static int pgd_revoke(zt_store *st, const char *id, int64_t now)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_dev_args a = {.id = id, .now = now, .remove = false};
    return rc != 0 ? rc : pg_txn(c, pgd_end_txn, &a);
}

static int pgd_remove(zt_store *st, const char *id, int64_t now)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_dev_args a = {.id = id, .now = now, .remove = true};
    return rc != 0 ? rc : pg_txn(c, pgd_end_txn, &a);
}

static int pgd_revoked_serials(zt_store *st, int64_t now, zt_store_name_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_int(&p, now);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c, "SELECT serial FROM device_revoked_certs WHERE not_after > $1 ORDER BY serial",
                  &p, &r, NULL, "listing revoked certificates");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        char serial[ZT_STORE_DEV_SERIAL_MAX + 1];
        rc = pg_col(r, i, 0, serial, sizeof(serial)) ? 0 : pg_corrupt("certificate serial");
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, serial);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

/* ---- posture ---- */

typedef struct pgd_posture_args {
    const char *id, *json, *failed;
    int64_t now;
    bool compliant;
} pgd_posture_args;

/* The UPDATE of the device row comes first and holds its lock to the end, so two reports of
 * one device (two gateways) add and trim their history one after the other. */
static int pgd_posture_txn(pg_conn *c, void *arg)
{
    const pgd_posture_args *a = arg;
    pg_params p = {0};
    pg_text(&p, a->id);
    pg_int(&p, a->now);
    pg_text(&p, a->json);
    pg_bool(&p, a->compliant);
    pg_text(&p, a->failed);
    int64_t n = 0;
    int rc = pg_run(c,
                    "UPDATE devices SET posture_json = $3, posture_at = $2, last_seen_at = $2, "
                    "compliant = $4, failed_text = $5 WHERE id = $1 AND revoked_at IS NULL",
                    &p, &n, "recording posture");
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "no such device, or it is revoked");
    pg_params h = {0};
    pg_text(&h, a->id);
    pg_int(&h, a->now);
    pg_text(&h, a->json);
    if (rc == 0)
        rc = pg_run(c,
                    "INSERT INTO device_posture_history (device_id, received_at, json) "
                    "VALUES ($1, $2, $3)",
                    &h, NULL, "recording posture history");
    pg_params t = {0};
    pg_text(&t, a->id);
    pg_int(&t, ZT_STORE_DEV_HISTORY_MAX);
    if (rc == 0)
        rc = pg_run(c,
                    "DELETE FROM device_posture_history WHERE device_id = $1 AND id NOT IN "
                    "(SELECT id FROM device_posture_history WHERE device_id = $1 "
                    "ORDER BY id DESC LIMIT $2)",
                    &t, NULL, "trimming posture history");
    return rc;
}

static int pgd_posture_add(zt_store *st, const char *id, int64_t now, const char *json,
                           bool compliant, const char *failed)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_posture_args a = {
        .id = id, .json = json, .failed = failed, .now = now, .compliant = compliant};
    return rc != 0 ? rc : pg_txn(c, pgd_posture_txn, &a);
}

static int pgd_posture_get(zt_store *st, const char *id, char **json_out, int64_t *at_out)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT posture_json, posture_at FROM devices WHERE id = $1 AND "
                  "posture_json IS NOT NULL",
                  &p, &r, NULL, "reading posture");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-ENOENT, "no such device, or no posture report yet");
    else if (rc == 0 && (size_t)PQgetlength(r, 0, 0) > ZT_STORE_DEV_POSTURE_MAX)
        rc = pg_corrupt("posture report");
    else if (rc == 0)
        rc = pg_col_dup(r, 0, 0, json_out);
    if (rc == 0)
        *at_out = pg_col_int(r, 0, 1);
    PQclear(r);
    return rc;
}

/* ---- alerts ---- */

static int pgd_row_alert(const PGresult *r, int row, zt_store_alert *a)
{
    memset(a, 0, sizeof(*a));
    char state[16];
    bool ok = pg_col(r, row, 1, a->device_id, sizeof(a->device_id)) &&
              pg_col(r, row, 2, a->path, sizeof(a->path)) &&
              pg_col(r, row, 3, a->sha256, sizeof(a->sha256)) &&
              pg_col(r, row, 4, a->signature, sizeof(a->signature)) &&
              pg_col(r, row, 5, state, sizeof(state));
    a->id = pg_col_int(r, row, 0);
    a->detected_at = pg_col_int(r, row, 6);
    a->updated_at = pg_col_int(r, row, 7);
    a->state = strcmp(state, "active") == 0        ? ZT_STORE_ALERT_ACTIVE
               : strcmp(state, "quarantined") == 0 ? ZT_STORE_ALERT_QUARANTINED
                                                   : ZT_STORE_ALERT_RESOLVED;
    return ok ? 0 : pg_corrupt("alert");
}

/* The device must exist and not be revoked (-ENOENT otherwise); its row stays locked until the
 * transaction ends, so alerts of one device are written one transaction at a time. */
static int pgd_live_device(pg_conn *c, const char *id)
{
    zt_store_device d;
    int rc = pgd_read_device(c, id, true, &d);
    if (rc == 0 && d.revoked_at != 0)
        rc = zt_store_seterr(-ENOENT, "no such device, or it is revoked");
    return rc;
}

static int pgd_set_risk(pg_conn *c, const char *id, int64_t now)
{
    pg_params p = {0};
    pg_text(&p, id);
    pg_int(&p, now);
    return pg_run(c, PGD_SET_RISK, &p, NULL, "updating device risk");
}

/* A repeated detection of the same file reopens its unresolved alert: 1 when one was reopened
 * (a->id set), 0 when there is none, negative on error. */
static int pgd_alert_reopen(pg_conn *c, zt_store_alert *a)
{
    pg_params p = {0};
    pg_text(&p, a->device_id);
    pg_text(&p, a->path);
    pg_text(&p, a->sha256);
    pg_text(&p, a->signature);
    pg_int(&p, a->updated_at);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "UPDATE device_alerts SET state = 'active', signature = $4, updated_at = $5 "
                  "WHERE id = (SELECT id FROM device_alerts WHERE device_id = $1 AND path = $2 "
                  "AND sha256 = $3 AND state <> 'resolved' ORDER BY id LIMIT 1) RETURNING id",
                  &p, &r, NULL, "reopening an alert");
    if (rc == 0 && PQntuples(r) > 0) {
        a->id = pg_col_int(r, 0, 0);
        rc = 1;
    }
    PQclear(r);
    return rc;
}

static int pgd_alert_insert(pg_conn *c, zt_store_alert *a)
{
    pg_params p = {0};
    pg_text(&p, a->device_id);
    pg_text(&p, a->path);
    pg_text(&p, a->sha256);
    pg_text(&p, a->signature);
    pg_int(&p, a->detected_at);
    pg_int(&p, a->updated_at);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "INSERT INTO device_alerts (device_id, path, sha256, signature, state, "
                  "detected_at, updated_at) VALUES ($1, $2, $3, $4, 'active', $5, $6) "
                  "RETURNING id",
                  &p, &r, NULL, "adding an alert");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-EIO, "adding an alert: no id returned");
    if (rc == 0)
        a->id = pg_col_int(r, 0, 0);
    PQclear(r);
    /* Cap per device: resolved alerts go first, then the oldest. */
    pg_params t = {0};
    pg_text(&t, a->device_id);
    pg_int(&t, ZT_STORE_DEV_ALERTS_MAX);
    if (rc == 0)
        rc = pg_run(c,
                    "DELETE FROM device_alerts WHERE id IN (SELECT id FROM device_alerts "
                    "WHERE device_id = $1 ORDER BY state <> 'resolved', id LIMIT greatest(0, "
                    "(SELECT count(*) FROM device_alerts WHERE device_id = $1) - $2::bigint))",
                    &t, NULL, "trimming alerts");
    return rc;
}

static int pgd_alert_add_txn(pg_conn *c, void *arg)
{
    zt_store_alert *a = arg;
    int rc = pgd_live_device(c, a->device_id);
    if (rc == 0)
        rc = pgd_alert_reopen(c, a);
    if (rc == 0)
        rc = pgd_alert_insert(c, a);
    else if (rc == 1)
        rc = 0;
    if (rc == 0)
        rc = pgd_set_risk(c, a->device_id, a->updated_at);
    return rc;
}

static int pgd_alert_add(zt_store *st, zt_store_alert *a)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgd_alert_add_txn, a);
}

typedef struct pgd_path_args {
    const char *id, *path;
    zt_store_alert_state to;
    int64_t now;
    int64_t changed;
} pgd_path_args;

static int pgd_alert_path_txn(pg_conn *c, void *arg)
{
    pgd_path_args *a = arg;
    a->changed = 0; /* a retried transaction counts again */
    int rc = pgd_live_device(c, a->id);
    pg_params p = {0};
    pg_text(&p, a->id);
    pg_text(&p, a->path);
    pg_text(&p, pgd_state_text[a->to]);
    pg_int(&p, a->now);
    if (rc == 0)
        rc = pg_run(c,
                    "UPDATE device_alerts SET state = $3, updated_at = $4 WHERE device_id = $1 "
                    "AND path = $2 AND state <> 'resolved' AND state <> $3",
                    &p, &a->changed, "updating alerts");
    if (rc == 0)
        rc = pgd_set_risk(c, a->id, a->now);
    return rc;
}

static int pgd_alert_set_path(zt_store *st, const char *device_id, const char *path,
                              zt_store_alert_state to, int64_t now, uint64_t *n_out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    pgd_path_args a = {.id = device_id, .path = path, .to = to, .now = now};
    if (rc == 0)
        rc = pg_txn(c, pgd_alert_path_txn, &a);
    if (n_out != NULL)
        *n_out = rc == 0 ? (uint64_t)a.changed : 0;
    return rc;
}

static int pgd_alert_list_active(zt_store *st, const char *device_id, zt_store_alert_cb cb,
                                 void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, device_id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT id, device_id, path, sha256, signature, state, detected_at, "
                  "updated_at FROM device_alerts WHERE device_id = $1 AND state <> 'resolved' "
                  "ORDER BY id",
                  &p, &r, NULL, "listing alerts");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_alert a;
        rc = pgd_row_alert(r, i, &a);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &a);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

const zt_store_device_ops pgd_ops = {
    .code_add = pgd_code_add,
    .code_use = pgd_code_use,
    .create = pgd_create,
    .enroll = pgd_enroll,
    .get = pgd_get,
    .list = pgd_list,
    .revoke = pgd_revoke,
    .remove = pgd_remove,
    .revoked_serials = pgd_revoked_serials,
    .posture_add = pgd_posture_add,
    .posture_get = pgd_posture_get,
    .alert_add = pgd_alert_add,
    .alert_set_path = pgd_alert_set_path,
    .alert_list_active = pgd_alert_list_active,
};
