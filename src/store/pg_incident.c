/* PostgreSQL half of incidents (store_incident.h; SQLite half sqlite_incident.inc, whose
 * statements these follow). SQLite's BEGIN IMMEDIATE let one writer at a time find an open
 * incident and then write; under READ COMMITTED two gateways could both find nothing and both
 * open one. So every write takes a transaction-scoped advisory lock per subject (user and
 * device, always in that order, so two writers cannot wait on each other in a circle) before it
 * looks, and an append locks the incident's row before it checks the status. */
#include <errno.h>
#include <string.h>

#include "store/pg_int.h"

#define PGI_COLS                                                                                   \
    "i.id, i.title, i.severity, i.status, COALESCE(i.user_id, ''), COALESCE(u.email, ''), "        \
    "COALESCE(i.device_id, ''), i.created_at, i.updated_at, (SELECT count(*) FROM "                \
    "incident_events e WHERE e.incident_id = i.id)"
#define PGI_FROM " FROM incidents i LEFT JOIN users u ON u.id = i.user_id "
#define PGI_EV_COLS                                                                                \
    "id, incident_id, at, kind, summary, detail, COALESCE(playbook, ''), COALESCE(request_id, '')"

/* NULL for "" so optional columns stay NULL. */
static void pgi_opt(pg_params *p, const char *v)
{
    pg_text(p, v != NULL && v[0] != '\0' ? v : NULL);
}

static int pgi_row(const PGresult *r, int row, zt_store_incident *inc)
{
    memset(inc, 0, sizeof(*inc));
    zt_store_incident_status st = ZT_STORE_INC_OPEN;
    char status[16];
    inc->id = pg_col_int(r, row, 0);
    bool ok = pg_col(r, row, 1, inc->title, sizeof(inc->title)) &&
              pg_col(r, row, 3, status, sizeof(status)) &&
              zt_store_incident_status_parse(status, &st) &&
              pg_col(r, row, 4, inc->user_id, sizeof(inc->user_id)) &&
              pg_col(r, row, 5, inc->email, sizeof(inc->email)) &&
              pg_col(r, row, 6, inc->device_id, sizeof(inc->device_id));
    inc->severity = (int)pg_col_int(r, row, 2);
    inc->status = st;
    inc->created_at = pg_col_int(r, row, 7);
    inc->updated_at = pg_col_int(r, row, 8);
    inc->n_events = (uint64_t)pg_col_int(r, row, 9);
    return ok ? 0 : pg_corrupt("incident");
}

static int pgi_row_event(const PGresult *r, int row, zt_store_incident_event *ev)
{
    memset(ev, 0, sizeof(*ev));
    ev->id = pg_col_int(r, row, 0);
    ev->incident_id = pg_col_int(r, row, 1);
    ev->at = pg_col_int(r, row, 2);
    bool ok = pg_col(r, row, 3, ev->kind, sizeof(ev->kind)) &&
              pg_col(r, row, 4, ev->summary, sizeof(ev->summary)) &&
              pg_col(r, row, 5, ev->detail, sizeof(ev->detail)) &&
              pg_col(r, row, 6, ev->playbook, sizeof(ev->playbook)) &&
              pg_col(r, row, 7, ev->request_id, sizeof(ev->request_id));
    return ok ? 0 : pg_corrupt("incident event");
}

/* The incident; `lock` holds its row until the transaction ends. */
static int pgi_read(pg_conn *c, int64_t id, bool lock, zt_store_incident *out)
{
    pg_params p = {0};
    pg_int(&p, id);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  lock ? "SELECT " PGI_COLS PGI_FROM "WHERE i.id = $1 FOR UPDATE OF i"
                       : "SELECT " PGI_COLS PGI_FROM "WHERE i.id = $1",
                  &p, &r, NULL, "reading an incident");
    if (rc == 0)
        rc = PQntuples(r) > 0 ? pgi_row(r, 0, out) : zt_store_seterr(-ENOENT, "no such incident");
    PQclear(r);
    return rc;
}

/* Serialise writers of one subject across gateways until the transaction ends. */
static int pgi_lock_subjects(pg_conn *c, const char *user_id, const char *device_id)
{
    int rc = 0;
    if (user_id != NULL && user_id[0] != '\0') {
        pg_params p = {0};
        pg_text(&p, user_id);
        rc = pg_run(c, "SELECT pg_advisory_xact_lock(hashtext('incident:user:' || $1::text))", &p,
                    NULL, "locking the user's incidents");
    }
    if (rc == 0 && device_id != NULL && device_id[0] != '\0') {
        pg_params p = {0};
        pg_text(&p, device_id);
        rc = pg_run(c, "SELECT pg_advisory_xact_lock(hashtext('incident:device:' || $1::text))", &p,
                    NULL, "locking the device's incidents");
    }
    return rc;
}

/* Insert ev for incident id, then keep at most ZT_STORE_INC_EVENTS_MAX (the first stays). */
static int pgi_event_insert(pg_conn *c, int64_t id, zt_store_incident_event *ev)
{
    pg_params p = {0};
    pg_int(&p, id);
    pg_int(&p, ev->at);
    pg_text(&p, ev->kind);
    pg_text(&p, ev->summary);
    pg_text(&p, ev->detail[0] != '\0' ? ev->detail : "{}");
    pgi_opt(&p, ev->playbook);
    pgi_opt(&p, ev->request_id);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "INSERT INTO incident_events (incident_id, at, kind, summary, detail, "
                  "playbook, request_id) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
                  &p, &r, NULL, "adding an incident event");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-EIO, "adding an incident event: no id returned");
    if (rc == 0) {
        ev->id = pg_col_int(r, 0, 0);
        ev->incident_id = id;
    }
    PQclear(r);
    pg_params cap = {0};
    pg_int(&cap, id);
    pg_int(&cap, ZT_STORE_INC_EVENTS_MAX - 1);
    if (rc == 0)
        rc = pg_run(c,
                    "DELETE FROM incident_events WHERE id IN (SELECT id FROM incident_events "
                    "WHERE incident_id = $1 ORDER BY id OFFSET 1) AND id NOT IN (SELECT id FROM "
                    "incident_events WHERE incident_id = $1 ORDER BY id DESC LIMIT $2)",
                    &cap, NULL, "capping incident events");
    return rc;
}

typedef struct pgi_args {
    zt_store_incident *inc;
    zt_store_incident_event *ev;
    const zt_store_incident_update *u;
    int64_t id;
    int64_t since;
    bool may_open;
    bool *opened;
} pgi_args;

/* The insert of a new incident (its subjects' locks already held). */
static int pgi_insert(pg_conn *c, zt_store_incident *inc, zt_store_incident_event *ev)
{
    pg_params p = {0};
    pg_text(&p, inc->title);
    pg_int(&p, inc->severity);
    pgi_opt(&p, inc->user_id);
    pgi_opt(&p, inc->device_id);
    pg_int(&p, inc->created_at);
    pg_int(&p, ev->at);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "INSERT INTO incidents (title, severity, status, user_id, device_id, "
                  "created_at, updated_at) VALUES ($1, $2, 'open', $3, $4, $5, "
                  "greatest($5::bigint, $6::bigint)) RETURNING id",
                  &p, &r, NULL, "adding an incident");
    if (rc == 0 && PQntuples(r) == 0)
        rc = zt_store_seterr(-EIO, "adding an incident: no id returned");
    if (rc == 0) {
        inc->id = pg_col_int(r, 0, 0);
        inc->status = ZT_STORE_INC_OPEN;
        inc->updated_at = ev->at > inc->created_at ? ev->at : inc->created_at;
    }
    PQclear(r);
    if (rc == 0)
        rc = pgi_event_insert(c, inc->id, ev);
    /* Bounded history: the oldest resolved incidents go first (their events cascade). */
    pg_params cap = {0};
    pg_int(&cap, ZT_STORE_INCIDENTS_MAX);
    if (rc == 0)
        rc = pg_run(c,
                    "DELETE FROM incidents WHERE id IN (SELECT id FROM incidents WHERE "
                    "status = 'resolved' ORDER BY updated_at, id LIMIT greatest(0, (SELECT "
                    "count(*) FROM incidents) - $1::bigint))",
                    &cap, NULL, "capping incidents");
    return rc;
}

static int pgi_find(pg_conn *c, const char *user_id, const char *device_id, int64_t since,
                    zt_store_incident *out)
{
    pg_params p = {0};
    pgi_opt(&p, user_id);
    pgi_opt(&p, device_id);
    pg_int(&p, since);
    PGresult *r = NULL;
    int rc = pg_q(c,
                  "SELECT " PGI_COLS PGI_FROM "WHERE i.status <> 'resolved' AND "
                  "i.updated_at >= $3 AND (($1::text IS NOT NULL AND i.user_id = $1::text) OR "
                  "($2::text IS NOT NULL AND i.device_id = $2::text)) "
                  "ORDER BY i.updated_at DESC, i.id DESC LIMIT 1",
                  &p, &r, NULL, "finding an open incident");
    if (rc == 0)
        rc = PQntuples(r) > 0 ? pgi_row(r, 0, out) : zt_store_seterr(-ENOENT, "no open incident");
    PQclear(r);
    return rc;
}

static int pgi_find_open(zt_store *st, const char *user_id, const char *device_id, int64_t since,
                         zt_store_incident *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgi_find(c, user_id, device_id, since, out);
}

/* The status check reads the row under its lock, so of an admin's resolve and a playbook's
 * "contained" racing on two gateways the second sees the first's status. */
static int pgi_apply(pg_conn *c, int64_t id, const zt_store_incident_update *u,
                     zt_store_incident_event *ev)
{
    zt_store_incident cur;
    int rc = pgi_read(c, id, true, &cur);
    if (rc != 0)
        return rc;
    int status = u->status >= 0 ? u->status : (int)cur.status;
    if (u->status >= 0 && (unsigned)u->status != cur.status &&
        (u->from_mask & (1u << cur.status)) == 0)
        return zt_store_seterr(-EALREADY, "incident %lld is %s", (long long)id,
                               zt_store_incident_status_name(cur.status));
    pg_params p = {0};
    pg_int(&p, id);
    pg_int(&p, u->severity);
    pg_text(&p, zt_store_incident_status_name((zt_store_incident_status)status));
    pg_int(&p, ev->at);
    pgi_opt(&p, u->user_id);
    pgi_opt(&p, u->device_id);
    rc = pg_run(c,
                "UPDATE incidents SET severity = greatest(severity, $2::bigint), status = $3, "
                "updated_at = greatest(updated_at, $4::bigint), user_id = COALESCE(user_id, "
                "$5::text), device_id = COALESCE(device_id, $6::text) WHERE id = $1",
                &p, NULL, "updating an incident");
    return rc != 0 ? rc : pgi_event_insert(c, id, ev);
}

static int pgi_append_txn(pg_conn *c, void *arg)
{
    pgi_args *a = arg;
    return pgi_apply(c, a->id, a->u, a->ev);
}

static int pgi_append(zt_store *st, int64_t id, const zt_store_incident_update *u,
                      zt_store_incident_event *ev)
{
    pg_conn *c = NULL;
    pgi_args a = {.id = id, .u = u, .ev = ev};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgi_append_txn, &a);
}

/* Lock the subjects, then look: a second gateway with an event of the same user waits here
 * until the first has committed its new incident, and then finds and joins it. */
static int pgi_join_or_open_txn(pg_conn *c, void *arg)
{
    pgi_args *a = arg;
    zt_store_incident found;
    *a->opened = false;
    int rc = pgi_lock_subjects(c, a->inc->user_id, a->inc->device_id);
    if (rc == 0)
        rc = pgi_find(c, a->inc->user_id, a->inc->device_id, a->since, &found);
    if (rc == 0) {
        rc = pgi_apply(c, found.id, a->u, a->ev);
        return rc != 0 ? rc : pgi_read(c, found.id, false, a->inc);
    }
    if (rc != -ENOENT || !a->may_open)
        return rc;
    rc = pgi_insert(c, a->inc, a->ev);
    *a->opened = rc == 0;
    return rc;
}

static int pgi_join_or_open(zt_store *st, zt_store_incident *inc, int64_t since,
                            const zt_store_incident_update *u, bool may_open,
                            zt_store_incident_event *ev, bool *opened)
{
    pg_conn *c = NULL;
    pgi_args a = {
        .inc = inc, .ev = ev, .u = u, .since = since, .may_open = may_open, .opened = opened};
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pg_txn(c, pgi_join_or_open_txn, &a);
}

static int pgi_get(zt_store *st, int64_t id, zt_store_incident *out)
{
    pg_conn *c = NULL;
    int rc = pg_enter(st, &c);
    return rc != 0 ? rc : pgi_read(c, id, false, out);
}

static int pgi_list(zt_store *st, const zt_store_incident_filter *f, zt_store_incident_cb cb,
                    void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    pg_params p = {0};
    pg_text(&p, f->status >= 0 ? zt_store_incident_status_name((zt_store_incident_status)f->status)
                               : NULL);
    pgi_opt(&p, f->user_id);
    /* LIMIT NULL is no limit. */
    if (f->limit > 0 && f->limit < INT64_MAX)
        pg_int(&p, (int64_t)f->limit);
    else
        pg_text(&p, NULL);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGI_COLS PGI_FROM "WHERE ($1::text IS NULL OR i.status = $1::text) "
                  "AND ($2::text IS NULL OR i.user_id = $2::text) ORDER BY i.id DESC "
                  "LIMIT $3::bigint",
                  &p, &r, NULL, "listing incidents");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_incident inc;
        rc = pgi_row(r, i, &inc);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &inc);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

static int pgi_events(zt_store *st, int64_t id, zt_store_incident_event_cb cb, void *ctx)
{
    pg_conn *c = NULL;
    PGresult *r = NULL;
    zt_store_incident inc;
    pg_params p = {0};
    pg_int(&p, id);
    int rc = pg_enter(st, &c);
    if (rc == 0)
        rc = pgi_read(c, id, false, &inc);
    if (rc == 0)
        rc = pg_q(c,
                  "SELECT " PGI_EV_COLS " FROM incident_events WHERE incident_id = $1 "
                  "ORDER BY at, id",
                  &p, &r, NULL, "listing incident events");
    for (int i = 0; rc == 0 && i < PQntuples(r); i++) {
        zt_store_incident_event ev;
        rc = pgi_row_event(r, i, &ev);
        if (rc == 0) {
            pg_cb_begin(c);
            rc = cb(ctx, &ev);
            pg_cb_end(c);
        }
    }
    PQclear(r);
    return rc;
}

const zt_store_incident_ops pgi_ops = {
    .find_open = pgi_find_open,
    .append = pgi_append,
    .get = pgi_get,
    .list = pgi_list,
    .events = pgi_events,
    .join_or_open = pgi_join_or_open,
};
