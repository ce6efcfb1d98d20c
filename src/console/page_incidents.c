/* Incidents, `/incidents` and `/incidents/ID`: incidents of the users the grant reaches, by
 * status (open, contained, resolved) and severity, newest first; one incident's timeline in
 * order; resolving it through zt_response_resolve — what `ztgate incident resolve` runs, undo
 * actions included — with the timeline's records in the gateway's log and the console's own
 * Detection Finding record (incident.resolve) naming the admin. An incident about a device only
 * (no user) is visible to unscoped admins only. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/ops.h"
#include "console/ops_pages.h"
#include "core/levels.h"
#include "core/log.h"
#include "lib/str.h"
#include "response/confirm.h"
#include "response/incident.h"
#include "store/store.h"

#define INCIDENT_LIST_MAX 200

typedef struct inc_vec {
    zt_store_incident *v;
    size_t n, cap;
} inc_vec;

static int inc_cb(void *ctx, const zt_store_incident *inc)
{
    inc_vec *k = ctx;
    if (k->n == k->cap && zt_array_grow(&k->v, &k->cap, sizeof(*k->v), 32) != 0)
        return -ENOMEM;
    k->v[k->n++] = *inc;
    return 0;
}

/* 1 visible, 0 not, <0 store error. */
static int visible(zt_console_ctx *cx, const zt_store_incident *inc)
{
    if (inc->user_id[0] == '\0')
        return zt_console_grant(cx)->everywhere ? 1 : 0;
    return zt_console_user_in_scope(cx, inc->user_id);
}

static void severity_badge(zt_console_ctx *cx, int sev)
{
    zt_console_printf(cx, "<span class=\"badge %s\">%s</span>",
                      sev >= ZT_RISK_HIGH     ? "bad"
                      : sev >= ZT_RISK_MEDIUM ? "warn"
                                              : "",
                      zt_risk_name((zt_risk)sev));
}

static void status_nav(zt_console_ctx *cx, const char *cur)
{
    static const struct {
        const char *q;
        zt_msg m;
    } st[] = {{"", COP_INC_ALL}, {"open", COP_INC_OPEN}, {"resolved", COP_INC_RESOLVED}};
    zt_console_printf(cx, "<p class=\"period\">");
    for (size_t i = 0; i < 3; i++) {
        zt_console_printf(cx, "<a href=\"/incidents%s%s\"%s>", st[i].q[0] ? "?status=" : "",
                          st[i].q, strcmp(cur, st[i].q) == 0 ? " aria-current=\"true\"" : "");
        zt_console_msg(cx, st[i].m);
        zt_console_printf(cx, "</a> ");
    }
    zt_console_printf(cx, "</p>");
}

static void list_rows(zt_console_ctx *cx, const inc_vec *k, const bool *show)
{
    zt_console_printf(
        cx, "<div class=\"table-wrap\"><table class=\"list\" id=\"incidents\"><thead><tr>");
    cop_th(cx, COP_TITLE);
    cop_th(cx, COP_SEVERITY);
    cop_th(cx, COP_STATUS);
    cop_th(cx, COP_USER);
    cop_th(cx, COP_EVENTS);
    cop_th(cx, COP_UPDATED);
    zt_console_printf(cx, "</tr></thead><tbody>");
    unsigned shown = 0;
    for (size_t i = 0; i < k->n; i++) {
        const zt_store_incident *inc = &k->v[i];
        if (!show[i])
            continue;
        shown++;
        zt_console_printf(cx,
                          "<tr data-incident=\"%" PRId64 "\" data-status=\"%s\"><td><a "
                          "href=\"/incidents/%" PRId64 "\">%s</a></td><td>",
                          inc->id, zt_store_incident_status_name(inc->status), inc->id,
                          zt_console_esc(cx, inc->title));
        severity_badge(cx, inc->severity);
        zt_console_printf(cx, "</td><td>%s</td><td>%s</td><td>%" PRIu64 "</td><td>%s</td></tr>",
                          zt_store_incident_status_name(inc->status),
                          zt_console_esc(cx, inc->email[0]       ? inc->email
                                             : inc->device_id[0] ? inc->device_id
                                                                 : "—"),
                          inc->n_events, zt_console_time(cx, inc->updated_at));
    }
    zt_console_printf(cx, "</tbody></table></div>");
    if (shown == 0) {
        zt_console_printf(cx, "<p>");
        zt_console_msg(cx, COP_INC_NONE);
        zt_console_printf(cx, "</p>");
    }
}

static void incident_list(zt_console_ctx *cx)
{
    const char *status = zt_console_param(cx, "status");
    zt_store_incident_status st;
    zt_store_incident_filter f = {.status = -1, .limit = INCIDENT_LIST_MAX};
    if (status != NULL && status[0] != '\0') {
        if (!zt_store_incident_status_parse(status, &st)) {
            zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_QUERY));
            return;
        }
        f.status = (int)st;
    }
    inc_vec k = {0};
    int rc = zt_store_incident_list(zt_console_store(cx), &f, inc_cb, &k);
    bool *show = rc == 0 ? calloc(k.n + 1, sizeof(bool)) : NULL;
    if (rc == 0 && show == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < k.n; i++) {
        int in = visible(cx, &k.v[i]);
        if (in < 0)
            rc = in;
        show[i] = in == 1;
    }
    if (rc != 0) {
        free(k.v);
        free(show);
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_begin(cx, COP_INCIDENTS_TITLE);
    status_nav(cx, status != NULL ? status : "");
    list_rows(cx, &k, show);
    free(k.v);
    free(show);
    zt_console_end(cx);
}

static int event_cb(void *ctx, const zt_store_incident_event *ev)
{
    zt_console_ctx *cx = ctx;
    zt_console_printf(cx, "<li data-kind=\"%s\"><time>%s</time> <strong>%s</strong> %s",
                      zt_console_esc(cx, ev->kind), zt_console_time(cx, ev->at),
                      zt_console_esc(cx, ev->kind), zt_console_esc(cx, ev->summary));
    if (ev->playbook[0] != '\0')
        zt_console_printf(cx, " <span class=\"badge\">%s</span>", zt_console_esc(cx, ev->playbook));
    if (ev->request_id[0] != '\0')
        zt_console_printf(cx, " <a href=\"/ref?id=%s\"><code>%s</code></a>",
                          zt_console_url_enc(cx, ev->request_id),
                          zt_console_esc(cx, ev->request_id));
    zt_console_printf(cx, "</li>");
    return 0;
}

static void incident_show(zt_console_ctx *cx, const zt_store_incident *inc)
{
    zt_console_begin(cx, COP_INCIDENTS_TITLE);
    zt_console_printf(cx, "<h2>%s</h2><dl class=\"facts\"><dt>", zt_console_esc(cx, inc->title));
    zt_console_msg(cx, COP_SEVERITY);
    zt_console_printf(cx, "</dt><dd>");
    severity_badge(cx, inc->severity);
    zt_console_printf(cx, "</dd><dt>");
    zt_console_msg(cx, COP_STATUS);
    zt_console_printf(cx, "</dt><dd id=\"status\">%s</dd><dt>",
                      zt_store_incident_status_name(inc->status));
    zt_console_msg(cx, COP_USER);
    zt_console_printf(cx, "</dt><dd>%s</dd><dt>",
                      inc->email[0] ? zt_console_esc(cx, inc->email) : "—");
    zt_console_msg(cx, COP_DEVICE);
    zt_console_printf(cx, "</dt><dd>%s</dd></dl><h3>",
                      inc->device_id[0] ? zt_console_esc(cx, inc->device_id) : "—");
    zt_console_msg(cx, COP_INC_TIMELINE);
    zt_console_printf(cx, "</h3><ol class=\"timeline\" id=\"timeline\">");
    (void)zt_store_incident_events(zt_console_store(cx), inc->id, event_cb, cx);
    zt_console_printf(cx, "</ol>");
    if (inc->status != ZT_STORE_INC_RESOLVED && zt_console_may(cx, ZT_PERM_INCIDENTS_WRITE)) {
        char path[48];
        snprintf(path, sizeof(path), "/incidents/%" PRId64, inc->id);
        zt_console_form_open(cx, path);
        zt_console_printf(cx, "<input type=\"hidden\" name=\"action\" value=\"resolve\">"
                              "<button type=\"submit\">");
        zt_console_msg(cx, COP_INC_RESOLVE);
        zt_console_printf(cx, "</button></form>");
    }
    zt_console_end(cx);
}

static void incident_resolve(zt_console_ctx *cx, const zt_store_incident *inc)
{
    const char *action = zt_console_param(cx, "action");
    if (action == NULL || strcmp(action, "resolve") != 0) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    if (!zt_console_may(cx, ZT_PERM_INCIDENTS_WRITE)) {
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    if (cx->r->svc->response == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, COP_INC_UNAVAILABLE));
        return;
    }
    zt_actor who = zt_console_actor(cx);
    zt_response_result res;
    int audit_rc = 0;
    int rc =
        zt_response_resolve_incident(cx->r->svc->response, &who, inc->id, cx->now, &res, &audit_rc);
    if (rc == -EALREADY) {
        zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, COP_INC_ALREADY));
        return;
    }
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    if (audit_rc != 0)
        zt_error("request %s: console incident.resolve: saved, but its record could not be queued",
                 cx->r->request_id);
    char path[48];
    snprintf(path, sizeof(path), "/incidents/%" PRId64, inc->id);
    zt_console_redirect_done(cx, path, COP_INC_RESOLVED_NOTICE);
}

static void incidents(zt_console_ctx *cx)
{
    const char *sub = zt_console_subpath(cx);
    if (sub[0] == '\0') {
        if (cx->r->method == HTTP_POST) {
            zt_console_fail(cx, 405, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_METHOD));
            return;
        }
        incident_list(cx);
        return;
    }
    unsigned long long id;
    zt_store_incident inc;
    if (!zt_parse_u64(sub, strlen(sub), INT64_MAX, &id) || id == 0) {
        zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, CON_NOT_FOUND_BODY));
        return;
    }
    int rc = zt_store_incident_get(zt_console_store(cx), (int64_t)id, &inc);
    int in = rc == 0 ? visible(cx, &inc) : rc;
    if (in != 1) {
        if (in < 0 && in != -ENOENT)
            zt_console_fail_rc(cx, in);
        else
            zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, CON_NOT_FOUND_BODY));
        return;
    }
    if (cx->r->method != HTTP_POST) {
        incident_show(cx, &inc);
        return;
    }
    if (zt_console_post_ok(cx))
        incident_resolve(cx, &inc);
}

const zt_console_page zt_console_page_incidents = {"/incidents", true, COP_INCIDENTS_TITLE,
                                                   ZT_PERM_INCIDENTS_READ, incidents};
