/* Admin API for Identity Protection: list and show risk detections, dismiss one, confirm a user
 * compromised, dismiss all of a user's risk. Same engine calls as `ztgate risk`
 * (src/cli/cmd_risk.c), but every call is audited (the CLI has no audit writer), and every
 * change bumps the revocation counter so session caches reload the user's risk at once.
 * Confirming a user compromised is zt_response_confirm_compromised (src/response/confirm.h), the
 * same function `ztgate risk confirm-compromised` runs: this file is only its HTTP front. */
#include <errno.h>
#include <llhttp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "admin/admin.h"
#include "core/log.h"
#include "response/confirm.h"
#include "response/incident.h"
#include "lib/time.h"
#include "risk/risk.h"

#define RISK_LIST_LIMIT 1000 /* detections in one listing (newest first) */

static json_t *det_json(const zt_store_detection *d)
{
    json_error_t jerr;
    json_t *ev = json_loads(d->evidence, 0, &jerr);
    if (ev == NULL)
        ev = json_string(d->evidence);
    char prefix[17];
    snprintf(prefix, sizeof(prefix), "%.16s", d->session_hash);
    zt_risk_type t;
    const char *entra = zt_risk_type_parse(d->type, &t) ? zt_risk_type_entra(t) : NULL;
    return json_pack(
        "{s:I, s:s, s:s, s:s, s:s?, s:s, s:s, s:s, s:s?, s:o, s:s?, s:s?, s:o, s:o}", "id",
        (json_int_t)d->id, "user_id", d->user_id, "email", d->email, "type", d->type,
        "risk_event_type", entra, "activity", d->user_activity ? "user" : "signin", "level",
        zt_risk_name((zt_risk)d->level), "state", zt_store_risk_state_name(d->state), "detail",
        d->detail[0] ? d->detail : NULL, "evidence", ev, "ip", d->ip[0] ? d->ip : NULL,
        "session_hash_prefix", prefix[0] ? prefix : NULL, "created_at",
        zt_admin_json_time(d->created_at), "updated_at", zt_admin_json_time(d->updated_at));
}

/* A detection id: a positive decimal number, nothing else. */
static bool parse_id(const char *s, int64_t *out)
{
    int64_t v = 0;
    if (s[0] == '\0' || strlen(s) > 18)
        return false;
    for (const char *p = s; *p != '\0'; p++) {
        if (*p < '0' || *p > '9')
            return false;
        v = v * 10 + (*p - '0');
    }
    *out = v;
    return v > 0;
}

static bool find_user(zt_admin_call *c, const char *who, zt_user *u)
{
    int rc = zt_admin_find_user_in_scope(c, who, u);
    if (rc == 0) {
        snprintf(c->user_id, sizeof(c->user_id), "%s", u->id);
        snprintf(c->user_email, sizeof(c->user_email), "%s", u->email);
        return true;
    }
    zt_user_dispose(u);
    zt_admin_store_fail(c, rc == -EINVAL ? -ENOENT : rc, "user", who);
    return false;
}

/* ---- GET /api/v1/risk?user=U&state=S ---- */

typedef struct det_rows {
    zt_admin_call *c;
    json_t *arr;
} det_rows;

#define LIST_FULL 1 /* list_cb's "enough rows": stops the store's walk, not an error */

/* A scoped admin sees the detections of users in scope only. The store walks every detection
 * (no SQL limit) and the limit counts visible rows, so out-of-scope rows never crowd out
 * in-scope ones. */
static int list_cb(void *ctx, const zt_store_detection *d)
{
    det_rows *rows = ctx;
    if (!zt_admin_user_visible(rows->c, d->user_id))
        return 0;
    if (json_array_size(rows->arr) >= RISK_LIST_LIMIT)
        return LIST_FULL;
    json_t *j = det_json(d);
    return j != NULL && json_array_append_new(rows->arr, j) == 0 ? 0 : -ENOMEM;
}

/* "user=a%40b&state=at_risk": each known key at most once, values percent-decoded. */
static bool parse_query(zt_admin_call *c, char *user, char *state)
{
    const char *q = c->r->query, *end = q + c->r->query_len;
    while (q < end) {
        const char *amp = memchr(q, '&', (size_t)(end - q));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(q, '=', (size_t)(stop - q));
        if (stop == q) {
            q = stop + 1;
            continue;
        }
        size_t kn = (size_t)((eq ? eq : stop) - q);
        char *out = kn == 4 && memcmp(q, "user", 4) == 0    ? user
                    : kn == 5 && memcmp(q, "state", 5) == 0 ? state
                                                            : NULL;
        if (out == NULL) {
            zt_admin_fail(c, 400, "invalid_query", "unknown query parameter; use user and state");
            return false;
        }
        if (out[0] != '\0' || eq == NULL ||
            zt_admin_seg_decode(eq + 1, (size_t)(stop - eq - 1), out, ZT_ADMIN_SEG_MAX + 1) != 0) {
            zt_admin_fail(c, 400, "invalid_query",
                          "query parameters user and state take one non-empty value each");
            return false;
        }
        q = stop + (amp ? 1 : 0);
    }
    return true;
}

static void risk_list(zt_admin_call *c)
{
    char user[ZT_ADMIN_SEG_MAX + 1] = "", state[ZT_ADMIN_SEG_MAX + 1] = "";
    if (!parse_query(c, user, state))
        return;
    /* For a scoped admin no store limit: list_cb stops at RISK_LIST_LIMIT rows in scope. */
    zt_store_risk_filter f = {.state = -1, .limit = c->scoped ? 0 : RISK_LIST_LIMIT};
    if (state[0] != '\0') {
        zt_store_risk_state s;
        if (!zt_store_risk_state_parse(state, &s)) {
            zt_admin_fail(c, 400, "invalid_query",
                          "state must be at_risk, remediated, dismissed or confirmed_compromised");
            return;
        }
        f.state = (int)s;
    }
    zt_user u;
    memset(&u, 0, sizeof(u));
    if (user[0] != '\0') {
        if (!find_user(c, user, &u))
            return;
        f.user_id = u.id;
    }
    json_t *arr = json_array();
    det_rows rows = {c, arr};
    int rc = arr ? zt_store_detection_list(c->r->svc->store, &f, list_cb, &rows) : -ENOMEM;
    if (rc == LIST_FULL)
        rc = 0;
    zt_user_dispose(&u);
    if (rc != 0) {
        json_decref(arr);
        zt_admin_store_fail(c, rc, "detections", NULL);
        return;
    }
    zt_admin_finish(c, 200, json_pack("{s:o}", "detections", arr));
}

/* ---- GET /api/v1/risk/{id}, POST /api/v1/risk/{id}/dismiss ---- */

static bool load_detection(zt_admin_call *c, zt_store_detection *d)
{
    int64_t id = 0;
    if (!parse_id(c->route.id, &id)) {
        zt_admin_fail(c, 404, "not_found", "detection %s not found", c->route.id);
        return false;
    }
    int rc = zt_store_detection_get(c->r->svc->store, id, d);
    if (rc == 0 && !zt_admin_user_visible(c, d->user_id))
        rc = -ENOENT; /* outside the caller's scope: as if it did not exist */
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "detection", c->route.id);
        return false;
    }
    snprintf(c->user_id, sizeof(c->user_id), "%s", d->user_id);
    snprintf(c->user_email, sizeof(c->user_email), "%s", d->email);
    return true;
}

static void risk_get(zt_admin_call *c)
{
    zt_store_detection d;
    if (load_detection(c, &d))
        zt_admin_finish(c, 200, det_json(&d));
}

static void risk_dismiss(zt_admin_call *c)
{
    c->cls = ZT_EV_DETECTION_FINDING;
    c->activity = ZT_ACT_FINDING_CLOSE;
    c->action = "risk.dismiss";
    zt_store_detection d;
    zt_admin_error err;
    json_t *body = NULL;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, NULL, 0, &body, &err) != 0) {
        zt_admin_fail(c, err.status, err.code, "%s", err.message);
        return;
    }
    json_decref(body);
    if (!load_detection(c, &d))
        return;
    if (c->r->svc->risk == NULL) {
        zt_admin_fail(c, 503, "unavailable", "the risk engine is not running");
        return;
    }
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_verdict_result res;
    int rc = zt_response_risk_dismiss(&env, c->r->svc->risk, &who, d.id, &res);
    if (rc == -EALREADY) {
        zt_admin_fail(c, 409, "conflict", "detection %s is already %s", c->route.id,
                      zt_store_risk_state_name(d.state));
        return;
    }
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "detection", c->route.id);
        return;
    }
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_account_result done = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    if (!zt_admin_account_done(c, &done))
        return;
    if (zt_store_detection_get(c->r->svc->store, d.id, &d) != 0) {
        zt_admin_store_fail(c, -EIO, "detection", c->route.id);
        return;
    }
    zt_admin_finish(c, 200, det_json(&d));
}

/* ---- POST /api/v1/users/{u}/confirm-compromised, .../dismiss-risk ---- */

static bool empty_body(zt_admin_call *c)
{
    zt_admin_error err;
    json_t *body = NULL;
    if (zt_admin_body_parse(c->r->body, c->r->body_len, NULL, 0, &body, &err) != 0) {
        zt_admin_fail(c, err.status, err.code, "%s", err.message);
        return false;
    }
    json_decref(body);
    return true;
}

/* The verdict and all it does is src/response's, the same as `ztgate risk confirm-compromised`;
 * this is only the HTTP front. */
static void user_confirm(zt_admin_call *c)
{
    c->cls = ZT_EV_DETECTION_FINDING;
    c->activity = ZT_ACT_FINDING_UPDATE;
    c->action = "risk.confirm_compromised";
    zt_user u;
    if (!empty_body(c) || !find_user(c, c->route.user, &u))
        return;
    if (c->r->svc->response == NULL) {
        zt_user_dispose(&u);
        zt_admin_fail(c, 503, "unavailable", "incident response is not running");
        return;
    }
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_confirm_req q = {.user_id = u.id,
                        .email = u.email,
                        .actor = "admin-api",
                        .request_id = c->r->request_id,
                        .who = &who};
    zt_confirm_result res;
    int rc = zt_response_confirm_compromised(c->r->svc->response, &q, &res);
    zt_user_dispose(&u);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    if (res.incident_rc != 0)
        zt_error("admin API: incident response failed: %s", strerror(-res.incident_rc));
    snprintf(c->change, sizeof(c->change),
             "confirmed compromised (detection %lld, %llu detection(s) changed); sessions revoked",
             (long long)res.risk.detection_id, (unsigned long long)res.risk.n);
    zt_account_result bumped = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    if (!zt_admin_account_done(c, &bumped))
        return;
    json_t *j = json_pack("{s:s, s:s, s:s, s:I, s:s, s:s, s:I, s:I}", "user_id", c->user_id,
                          "email", c->user_email, "user_risk", zt_risk_name((zt_risk)res.user_risk),
                          "detections_changed", (json_int_t)res.risk.n, "detail", res.risk.detail,
                          "event", zt_risk_event_name(res.risk.kind), "detection_id",
                          (json_int_t)res.risk.detection_id, "sessions_revoked",
                          (json_int_t)res.sessions_revoked);
    if (j != NULL && res.incident.incident_id > 0)
        json_object_set_new(j, "incident_id", json_integer((json_int_t)res.incident.incident_id));
    zt_admin_finish(c, 200, j);
}

static void user_dismiss(zt_admin_call *c)
{
    c->cls = ZT_EV_DETECTION_FINDING;
    c->activity = ZT_ACT_FINDING_CLOSE;
    c->action = "risk.dismiss_user";
    zt_user u;
    if (!empty_body(c) || !find_user(c, c->route.user, &u))
        return;
    if (c->r->svc->risk == NULL) {
        zt_user_dispose(&u);
        zt_admin_fail(c, 503, "unavailable", "the risk engine is not running");
        return;
    }
    zt_account_env env = zt_admin_account_env(c);
    zt_actor who;
    zt_admin_actor(c, &who);
    zt_verdict_result res;
    int rc =
        zt_response_risk_dismiss_user(&env, c->r->svc->risk, c->r->svc->response, &who, u.id, &res);
    zt_user_dispose(&u);
    if (rc != 0) {
        zt_admin_store_fail(c, rc, "user", c->route.user);
        return;
    }
    if (res.incident_rc != 0)
        zt_error("admin API: incident response failed: %s", strerror(-res.incident_rc));
    snprintf(c->change, sizeof(c->change), "%s", res.change);
    zt_account_result done = {.audit_rc = res.audit_rc, .revocation_rc = res.revocation_rc};
    if (!zt_admin_account_done(c, &done))
        return;
    if (res.user_risk < 0) {
        zt_admin_store_fail(c, -EIO, "user", c->route.user);
        return;
    }
    zt_admin_finish(c, 200,
                    json_pack("{s:s, s:s, s:s, s:I, s:s, s:s}", "user_id", c->user_id, "email",
                              c->user_email, "user_risk", zt_risk_name((zt_risk)res.user_risk),
                              "detections_changed", (json_int_t)res.risk.n, "detail",
                              res.risk.detail, "event", zt_risk_event_name(res.risk.kind)));
}

void zt_admin_risk(zt_admin_call *c)
{
    if (c->r->svc->risk == NULL) {
        zt_admin_fail(c, 503, "unavailable", "risk detection is not running");
        return;
    }
    switch (c->route.ep) {
    case ZT_ADMIN_EP_RISK:
        risk_list(c);
        return;
    case ZT_ADMIN_EP_RISK_ONE:
        risk_get(c);
        return;
    case ZT_ADMIN_EP_RISK_DISMISS:
        risk_dismiss(c);
        return;
    case ZT_ADMIN_EP_USER_CONFIRM:
        user_confirm(c);
        return;
    case ZT_ADMIN_EP_USER_DISMISS:
        user_dismiss(c);
        return;
    default:
        zt_admin_fail(c, 404, "not_found", "no such endpoint");
        return;
    }
}
