/* Risk, `/risk`: risky users (open detections, the user's risk now) and the detections, newest
 * first, of the users the grant reaches; dismissing a detection and confirming a user
 * compromised. Both are what `ztgate risk dismiss|confirm-compromised` and the admin API do:
 * zt_risk_dismiss then gateways told (revocation counter), or
 * zt_response_confirm_compromised (response/confirm.h: detections, sessions, incident,
 * playbooks); and the admin API's Detection Finding record (risk.dismiss,
 * risk.confirm_compromised) with the console's actor. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/ops.h"
#include "console/ops_pages.h"
#include "core/levels.h"
#include "core/log.h"
#include "response/confirm.h"
#include "risk/risk.h"
#include "session/session.h"
#include "store/store.h"

#define RISK_LIST_MAX 200

typedef struct det_vec {
    zt_store_detection *v;
    size_t n, cap;
} det_vec;

static int det_cb(void *ctx, const zt_store_detection *d)
{
    det_vec *k = ctx;
    if (k->n == k->cap && zt_array_grow(&k->v, &k->cap, sizeof(*k->v), 32) != 0)
        return -ENOMEM;
    k->v[k->n++] = *d;
    return 0;
}

static bool open_state(zt_store_risk_state s)
{
    return s == ZT_STORE_RISK_AT_RISK || s == ZT_STORE_RISK_CONFIRMED_COMPROMISED;
}

static void level_badge(zt_console_ctx *cx, int level)
{
    zt_console_printf(cx, "<span class=\"badge %s\">%s</span>",
                      level >= ZT_RISK_HIGH     ? "bad"
                      : level >= ZT_RISK_MEDIUM ? "warn"
                                                : "",
                      zt_risk_name((zt_risk)level));
}

/* One row per user with an open detection (first seen = newest, the list's order). */
static void risky_users(zt_console_ctx *cx, const det_vec *k, const bool *in_scope)
{
    zt_console_printf(cx, "<h2>");
    zt_console_msg(cx, COP_RISKY_USERS);
    zt_console_printf(cx, "</h2><div class=\"table-wrap\"><table class=\"list\" id=\"risky-users\">"
                          "<thead><tr>");
    cop_th(cx, COP_USER);
    cop_th(cx, COP_LEVEL);
    cop_th(cx, COP_UPDATED);
    cop_th(cx, COP_ACTIONS);
    zt_console_printf(cx, "</tr></thead><tbody>");
    unsigned shown = 0;
    for (size_t i = 0; i < k->n; i++) {
        const zt_store_detection *d = &k->v[i];
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(k->v[j].user_id, d->user_id) == 0 && open_state(k->v[j].state);
        if (seen || !open_state(d->state) || !in_scope[i])
            continue;
        int level = 0;
        (void)zt_store_user_risk(zt_console_store(cx), d->user_id, cx->now, &level);
        shown++;
        zt_console_printf(cx, "<tr data-user=\"%s\"><td><a href=\"/users/%s\">%s</a></td><td>",
                          zt_console_esc(cx, d->email), d->user_id, zt_console_esc(cx, d->email));
        level_badge(cx, level);
        zt_console_printf(cx, "</td><td>%s</td><td>", zt_console_time(cx, d->updated_at));
        if (zt_console_may(cx, ZT_PERM_RISK_WRITE)) {
            zt_console_form_open(cx, "/risk");
            zt_console_printf(cx,
                              "<input type=\"hidden\" name=\"action\" value=\"confirm\">"
                              "<input type=\"hidden\" name=\"user\" value=\"%s\">"
                              "<button type=\"submit\" class=\"danger\">",
                              d->user_id);
            zt_console_msg(cx, COP_RISK_CONFIRM);
            zt_console_printf(cx, "</button></form>");
            zt_console_form_open(cx, "/risk");
            zt_console_printf(cx,
                              "<input type=\"hidden\" name=\"action\" value=\"dismiss_user\">"
                              "<input type=\"hidden\" name=\"user\" value=\"%s\">"
                              "<button type=\"submit\">",
                              d->user_id);
            zt_console_msg(cx, COP_RISK_DISMISS_USER);
            zt_console_printf(cx, "</button></form>");
        }
        zt_console_printf(cx, "</td></tr>");
    }
    zt_console_printf(cx, "</tbody></table></div>");
    if (shown == 0) {
        zt_console_printf(cx, "<p>");
        zt_console_msg(cx, COP_RISK_NONE);
        zt_console_printf(cx, "</p>");
    }
}

static void detections(zt_console_ctx *cx, const det_vec *k, const bool *in_scope)
{
    zt_console_printf(cx, "<h2>");
    zt_console_msg(cx, COP_DETECTIONS);
    zt_console_printf(cx, "</h2><div class=\"table-wrap\"><table class=\"list\" id=\"detections\">"
                          "<thead><tr>");
    cop_th(cx, COP_TIME);
    cop_th(cx, COP_USER);
    cop_th(cx, COP_TYPE);
    cop_th(cx, COP_LEVEL);
    cop_th(cx, COP_STATE);
    cop_th(cx, COP_IP);
    cop_th(cx, COP_ACTIONS);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < k->n; i++) {
        const zt_store_detection *d = &k->v[i];
        if (!in_scope[i])
            continue;
        zt_console_printf(cx,
                          "<tr data-detection=\"%" PRId64 "\"><td>%s</td><td>%s</td><td>%s "
                          "<br><small>",
                          d->id, zt_console_time(cx, d->created_at), zt_console_esc(cx, d->email),
                          zt_console_esc(cx, d->type));
        zt_console_msg(cx, d->user_activity ? COP_ACTIVITY_USER : COP_ACTIVITY_SIGN_IN);
        zt_console_printf(cx, "</small></td><td>");
        level_badge(cx, d->level);
        zt_console_printf(cx, "</td><td>%s</td><td>%s</td><td>", zt_store_risk_state_name(d->state),
                          d->ip[0] ? zt_console_esc(cx, d->ip) : "—");
        if (open_state(d->state) && zt_console_may(cx, ZT_PERM_RISK_WRITE)) {
            zt_console_form_open(cx, "/risk");
            zt_console_printf(cx,
                              "<input type=\"hidden\" name=\"action\" value=\"dismiss\">"
                              "<input type=\"hidden\" name=\"id\" value=\"%" PRId64 "\">"
                              "<button type=\"submit\">",
                              d->id);
            zt_console_msg(cx, COP_RISK_DISMISS);
            zt_console_printf(cx, "</button></form>");
        }
        zt_console_printf(cx, "</td></tr>");
    }
    zt_console_printf(cx, "</tbody></table></div>");
}

static void risk_list(zt_console_ctx *cx)
{
    det_vec k = {0};
    zt_store_risk_filter f = {.user_id = NULL, .state = -1, .limit = RISK_LIST_MAX};
    int rc = zt_store_detection_list(zt_console_store(cx), &f, det_cb, &k);
    bool *in_scope = rc == 0 ? calloc(k.n + 1, sizeof(bool)) : NULL;
    if (rc == 0 && in_scope == NULL)
        rc = -ENOMEM;
    /* The scope check queries the store: after the list's callback, never inside it. */
    for (size_t i = 0; rc == 0 && i < k.n; i++) {
        int in = zt_console_user_in_scope(cx, k.v[i].user_id);
        if (in < 0)
            rc = in;
        in_scope[i] = in == 1;
    }
    if (rc != 0) {
        free(k.v);
        free(in_scope);
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_begin(cx, COP_RISK_TITLE);
    risky_users(cx, &k, in_scope);
    detections(cx, &k, in_scope);
    free(k.v);
    free(in_scope);
    zt_console_end(cx);
}

/* ---- changes ---- */

static bool parse_id(const char *s, int64_t *out)
{
    unsigned long long v;
    if (s == NULL || !zt_parse_u64(s, strlen(s), INT64_MAX, &v) || v == 0)
        return false;
    *out = (int64_t)v;
    return true;
}

/* The target must be one the grant may change: outside the scope it does not exist (404). */
static bool may_change(zt_console_ctx *cx, const char *user_id)
{
    int ok = zt_console_may_on_user(cx, ZT_PERM_RISK_WRITE, user_id);
    if (ok == 1)
        return true;
    if (ok < 0)
        zt_console_fail_rc(cx, ok);
    else if (zt_console_user_in_scope(cx, user_id) == 1) {
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
    } else
        zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, COP_OUT_OF_SCOPE));
    return false;
}

/* After a verdict: saved, but not told or not recorded. */
static void verdict_done(zt_console_ctx *cx, const char *op, const zt_verdict_result *res)
{
    if (res->revocation_rc != 0)
        zt_error("request %s: console %s: saved, but gateways not told (%d)", cx->r->request_id, op,
                 res->revocation_rc);
    if (res->audit_rc != 0)
        zt_error("request %s: console %s: saved, but its record could not be queued",
                 cx->r->request_id, op);
    if (res->incident_rc != 0)
        zt_error("request %s: console: incident response failed: %s", cx->r->request_id,
                 strerror(-res->incident_rc));
}

static void dismiss(zt_console_ctx *cx)
{
    int64_t id;
    zt_store_detection d;
    if (!parse_id(zt_console_param(cx, "id"), &id)) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    int rc = zt_store_detection_get(zt_console_store(cx), id, &d);
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    if (!may_change(cx, d.user_id))
        return;
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_verdict_result res;
    rc = zt_response_risk_dismiss(&env, cx->r->svc->risk, &who, d.id, &res);
    if (rc == -EALREADY) {
        zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, COP_RISK_ALREADY_CLOSED));
        return;
    }
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    verdict_done(cx, "risk.dismiss", &res);
    zt_console_redirect_done(cx, "/risk", COP_RISK_DISMISSED);
}

/* All of one user's risk: zt_response_risk_dismiss_user, as POST
 * /api/v1/users/{u}/dismiss-risk (the user's incident resolved too). */
static void dismiss_user(zt_console_ctx *cx)
{
    const char *uid = zt_console_param(cx, "user");
    if (uid == NULL || !zt_console_id_ok(uid)) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    if (!may_change(cx, uid))
        return;
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_verdict_result res;
    int rc = zt_response_risk_dismiss_user(&env, cx->r->svc->risk, cx->r->svc->response, &who, uid,
                                           &res);
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    verdict_done(cx, "risk.dismiss_user", &res);
    zt_console_redirect_done(cx, "/risk", COP_RISK_USER_DISMISSED);
}

static void confirm(zt_console_ctx *cx)
{
    zt_user u;
    const char *uid = zt_console_param(cx, "user");
    if (uid == NULL || !zt_console_id_ok(uid)) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    if (!may_change(cx, uid) || zt_console_load_user(cx, uid, &u) != 0)
        return;
    if (cx->r->svc->response == NULL) {
        zt_user_dispose(&u);
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, COP_INC_UNAVAILABLE));
        return;
    }
    zt_actor who = zt_console_actor(cx);
    zt_confirm_req q = {.user_id = u.id,
                        .email = u.email,
                        .actor = "console",
                        .request_id = cx->r->request_id,
                        .now = cx->now,
                        .who = &who};
    zt_confirm_result res;
    int rc = zt_response_confirm_compromised(cx->r->svc->response, &q, &res);
    if (rc != 0) {
        zt_user_dispose(&u);
        zt_console_fail_rc(cx, rc);
        return;
    }
    if (res.incident_rc != 0)
        zt_error("request %s: console: incident response failed: %s", cx->r->request_id,
                 strerror(-res.incident_rc));
    if (res.revocation_rc != 0)
        zt_error("request %s: console risk.confirm_compromised: saved, but gateways not told (%d)",
                 cx->r->request_id, res.revocation_rc);
    if (res.audit_rc != 0)
        zt_error("request %s: console risk.confirm_compromised: saved, but its record could not "
                 "be queued",
                 cx->r->request_id);
    zt_user_dispose(&u);
    zt_console_redirect_done(cx, "/risk", COP_RISK_CONFIRMED);
}

static void risk(zt_console_ctx *cx)
{
    if (cx->r->svc->risk == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, COP_RISK_UNAVAILABLE));
        return;
    }
    if (cx->r->method != HTTP_POST) {
        risk_list(cx);
        return;
    }
    if (!zt_console_post_ok(cx))
        return;
    if (!zt_console_may(cx, ZT_PERM_RISK_WRITE)) {
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    const char *action = zt_console_param(cx, "action");
    if (action != NULL && strcmp(action, "dismiss") == 0)
        dismiss(cx);
    else if (action != NULL && strcmp(action, "confirm") == 0)
        confirm(cx);
    else if (action != NULL && strcmp(action, "dismiss_user") == 0)
        dismiss_user(cx);
    else
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
}

const zt_console_page zt_console_page_risk = {"/risk", false, COP_RISK_TITLE, ZT_PERM_RISK_READ,
                                              risk};
