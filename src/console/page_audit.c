/* Audit log, `/audit`: search the hash-chained log (audit/query.h, on the thread pool) with
 * filters — time range, user, device, address or CIDR block, decision, event class, app,
 * reference id, text — newest first, 50 a page with a link to older ones, each record readable
 * in full. A scoped admin's search names only records about their users. A filter that does not
 * read is a 400 page that says which one (console/ops.c cop_audit_filter), never a search. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/ops.h"
#include "console/ops_pages.h"
#include "core/log.h"

#define AUDIT_PAGE 50

typedef struct audit_view {
    zt_console_ctx *cx;
    cop_audit_form form;
    zt_aq_search_opts opts;
    cop_scope scope;
} audit_view;

static const char *param(zt_console_ctx *cx, const char *name)
{
    const char *v = zt_console_param(cx, name);
    return v != NULL ? v : "";
}

static void field(zt_console_ctx *cx, const char *id, zt_msg m, const char *hint)
{
    zt_console_printf(cx, "<div><label for=\"%s\">", id);
    zt_console_msg(cx, m);
    zt_console_printf(cx,
                      "</label><input id=\"%s\" name=\"%s\" value=\"%s\" placeholder=\"%s\"></div>",
                      id, id, zt_console_esc(cx, param(cx, id)), hint);
}

/* A decision value as the person reads it ("allow" → 許可 on a Japanese page); the value itself
 * stays in the form and the row's data attribute. "" for none. */
static const char *decision_text(zt_console_ctx *cx, const char *value)
{
    static const struct {
        const char *value;
        zt_msg text;
    } names[] = {
        {"allow", CON_DEC_ALLOW},         {"block", CON_DEC_BLOCK},
        {"challenge", CON_DEC_CHALLENGE}, {"sign_in", CON_DEC_SIGN_IN},
        {"error", CON_DEC_ERROR},         {"report_only_block", COP_DEC_REPORT_ONLY_BLOCK}};
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(value, names[i].value) == 0)
            return zt_console_esc(cx, zt_console_t(cx, names[i].text));
    return value;
}

static void filter_form(zt_console_ctx *cx)
{
    static const char *const decisions[] = {
        "", "allow", "block", "challenge", "sign_in", "error", "report_only_block", NULL};
    zt_console_printf(cx, "<form method=\"get\" action=\"/audit\" class=\"row\" id=\"filters\">");
    field(cx, "from", COP_F_FROM, "2026-12-01T00:00:00Z");
    field(cx, "to", COP_F_TO, "");
    field(cx, "user", COP_F_USER, "");
    field(cx, "device", COP_F_DEVICE, "");
    field(cx, "ip", COP_F_IP, "10.0.0.0/8");
    zt_console_printf(cx, "<div><label for=\"decision\">");
    zt_console_msg(cx, COP_F_DECISION);
    zt_console_printf(cx, "</label><select id=\"decision\" name=\"decision\">");
    for (size_t i = 0; decisions[i] != NULL; i++)
        zt_console_printf(cx, "<option value=\"%s\"%s>%s</option>", decisions[i],
                          strcmp(param(cx, "decision"), decisions[i]) == 0 ? " selected" : "",
                          decisions[i][0] ? decision_text(cx, decisions[i]) : "—");
    zt_console_printf(cx, "</select></div><div><label for=\"class\">");
    zt_console_msg(cx, COP_F_CLASS);
    zt_console_printf(cx,
                      "</label><select id=\"class\" name=\"class\"><option value=\"\">—</option>");
    for (size_t i = 0; cop_classes[i].name != NULL; i++)
        zt_console_printf(cx, "<option%s>%s</option>",
                          strcmp(param(cx, "class"), cop_classes[i].name) == 0 ? " selected" : "",
                          cop_classes[i].name);
    zt_console_printf(cx, "</select></div>");
    field(cx, "app", COP_F_APP, "");
    field(cx, "ref", COP_F_REF, "");
    field(cx, "text", COP_F_TEXT, "");
    zt_console_printf(cx, "<button type=\"submit\">");
    zt_console_msg(cx, COP_SEARCH);
    zt_console_printf(cx, "</button></form>");
}

/* The record, indented for reading; the line as stored when it does not parse. */
static void record_body(zt_console_ctx *cx, const zt_aq_hit *h)
{
    json_t *j = json_loadb(h->line, h->len, 0, NULL);
    char *pretty = j != NULL ? json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    zt_console_printf(cx, "<pre>%s</pre>", zt_console_esc(cx, pretty != NULL ? pretty : h->line));
    free(pretty);
    json_decref(j);
}

static const char *span(zt_console_ctx *cx, const zt_aq_fields *f, zt_aq_field which)
{
    char buf[512];
    zt_aq_span_str(&f->f[which], buf, sizeof(buf));
    return zt_console_esc(cx, buf);
}

/* "http_activity" for 4002; the number when the form offers no name for it. */
static const char *class_text(zt_console_ctx *cx, const zt_aq_fields *f)
{
    int64_t uid = zt_aq_span_int(&f->f[ZT_AQF_CLASS], 0);
    for (size_t i = 0; cop_classes[i].name != NULL; i++)
        if (cop_classes[i].uid == uid)
            return cop_classes[i].name;
    return span(cx, f, ZT_AQF_CLASS);
}

static void hit_row(zt_console_ctx *cx, const zt_aq_hit *h)
{
    zt_aq_fields f;
    if (!zt_aq_scan_line(h->line, h->len, &f))
        memset(&f, 0, sizeof(f));
    const char *user = span(cx, &f, ZT_AQF_USER_EMAIL);
    if (user[0] == '\0')
        user = span(cx, &f, ZT_AQF_ACTOR_EMAIL);
    if (user[0] == '\0')
        user = span(cx, &f, ZT_AQF_ACTOR_NAME);
    char raw_ref[128];
    zt_aq_span_str(&f.f[ZT_AQF_REQUEST_ID], raw_ref, sizeof(raw_ref));
    const char *ref = zt_console_esc(cx, raw_ref);
    const char *decision = span(cx, &f, ZT_AQF_DECISION);
    zt_console_printf(cx,
                      "<tr data-seq=\"%llu\" data-decision=\"%s\"><td>%s</td><td>%s</td><td>%s"
                      "</td><td>%s</td><td>%s</td><td>%s</td><td>",
                      (unsigned long long)h->seq, decision,
                      zt_console_time(cx, cop_record_time(&f)), class_text(cx, &f),
                      decision_text(cx, decision), user, span(cx, &f, ZT_AQF_APP),
                      span(cx, &f, ZT_AQF_IP));
    if (ref[0] != '\0')
        zt_console_printf(cx, "<a href=\"/ref?id=%s\"><code>%s</code></a>",
                          zt_console_esc(cx, zt_console_url_enc(cx, raw_ref)), ref);
    zt_console_printf(cx, "</td><td><details><summary>%s</summary>", span(cx, &f, ZT_AQF_MESSAGE));
    record_body(cx, h);
    zt_console_printf(cx, "</details></td></tr>");
}

/* The link to the next page repeats the filters (escaped) with the cursor. */
static void more_link(zt_console_ctx *cx, uint64_t cursor)
{
    static const char *const names[] = {"from",     "to",    "user", "device", "ip",
                                        "decision", "class", "app",  "ref",    "text"};
    zt_console_printf(cx, "<nav class=\"pager\"><a rel=\"next\" href=\"/audit?cursor=%llu",
                      (unsigned long long)cursor);
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (param(cx, names[i])[0] != '\0')
            zt_console_printf(cx, "&amp;%s=%s", names[i],
                              zt_console_esc(cx, zt_console_url_enc(cx, param(cx, names[i]))));
    zt_console_printf(cx, "\">");
    zt_console_msg(cx, COP_AUDIT_MORE);
    zt_console_printf(cx, "</a></nav>");
}

static void results(zt_console_ctx *cx, const zt_aq_result *res)
{
    if (res == NULL) {
        zt_console_printf(cx, "<p class=\"error\">");
        zt_console_msg(cx, COP_AUDIT_UNAVAILABLE);
        zt_console_printf(cx, "</p>");
        return;
    }
    if (res->n == 0) {
        zt_console_printf(cx, "<p id=\"no-records\">");
        zt_console_msg(cx, COP_AUDIT_NONE);
        zt_console_printf(cx, "</p>");
        return;
    }
    zt_console_printf(cx,
                      "<div class=\"table-wrap\"><table class=\"list\" id=\"records\"><thead><tr>");
    cop_th(cx, COP_TIME);
    cop_th(cx, COP_F_CLASS);
    cop_th(cx, COP_F_DECISION);
    cop_th(cx, COP_USER);
    cop_th(cx, COP_F_APP);
    cop_th(cx, COP_IP);
    cop_th(cx, COP_F_REF);
    cop_th(cx, COP_RECORD);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < res->n; i++)
        hit_row(cx, &res->hits[i]);
    zt_console_printf(cx, "</tbody></table></div>");
    if (res->more)
        more_link(cx, res->next_cursor);
}

static void view_free(audit_view *v)
{
    cop_scope_free(&v->scope);
    free(v);
}

static void search_done(void *arg, int rc, zt_aq_result *res)
{
    audit_view *v = arg;
    zt_console_ctx *cx = v->cx;
    if (rc != 0)
        zt_warn("request %s: console audit search: %d", cx->r->request_id, rc);
    zt_console_begin(cx, COP_AUDIT_TITLE);
    filter_form(cx);
    results(cx, rc == 0 || (res != NULL && res->n > 0) ? res : NULL);
    if (res != NULL)
        zt_aq_result_dispose(res);
    view_free(v);
    zt_console_end(cx);
}

static void read_form(zt_console_ctx *cx, cop_audit_form *f)
{
    *f = (cop_audit_form){.from = zt_console_param(cx, "from"),
                          .to = zt_console_param(cx, "to"),
                          .user = zt_console_param(cx, "user"),
                          .device = zt_console_param(cx, "device"),
                          .ip = zt_console_param(cx, "ip"),
                          .decision = zt_console_param(cx, "decision"),
                          .cls = zt_console_param(cx, "class"),
                          .app = zt_console_param(cx, "app"),
                          .ref = zt_console_param(cx, "ref"),
                          .text = zt_console_param(cx, "text"),
                          .cursor = zt_console_param(cx, "cursor")};
}

static void bad_filter(zt_console_ctx *cx, zt_msg which)
{
    zt_console_begin(cx, COP_AUDIT_TITLE);
    cx->r->status = 400;
    zt_console_printf(cx, "<p class=\"error\" role=\"alert\" id=\"bad-filter\">");
    zt_console_msg(cx, COP_AUDIT_BAD_FILTER);
    zt_console_printf(cx, ": ");
    zt_console_msg(cx, which);
    zt_console_printf(cx, "</p>");
    filter_form(cx);
    zt_console_end(cx);
}

static void audit(zt_console_ctx *cx)
{
    const char *live = cop_audit_live(cx);
    if (live == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, COP_AUDIT_UNAVAILABLE));
        return;
    }
    audit_view *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
        return;
    }
    v->cx = cx;
    read_form(cx, &v->form);
    zt_msg bad = cop_audit_filter(&v->form, &v->opts.filter, &v->opts.cursor);
    if (bad != MSG_NONE) {
        view_free(v);
        bad_filter(cx, bad);
        return;
    }
    int rc = cop_scope_users(cx, &v->scope);
    if (rc != 0) {
        view_free(v);
        zt_console_fail_rc(cx, rc);
        return;
    }
    cop_scope_apply(&v->scope, &v->opts.filter);
    v->opts.limit = AUDIT_PAGE;
    if (zt_aq_search_async(cx->r->loop, live, &v->opts, search_done, v) != 0)
        search_done(v, -EIO, NULL);
}

const zt_console_page zt_console_page_audit = {"/audit", false, COP_AUDIT_TITLE, ZT_PERM_AUDIT_READ,
                                               audit};
