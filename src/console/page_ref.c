/* Reference lookup, `/ref?id=X`: "why was reference X refused?" — the id a block page shows is
 * the request's id, the decision record's metadata.uid. The records with that id (audit/query.h,
 * on the thread pool; a scoped admin only sees those about their users) are explained: who, from
 * which device and address, which app, the decision, the policies that applied and the one that
 * decided, the control that was missing, the user's risk now, and what to do about it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/ops.h"
#include "console/ops_pages.h"
#include "core/levels.h"
#include "core/log.h"
#include "store/store.h"

#define REF_RECORDS_MAX 20

typedef struct ref_view {
    zt_console_ctx *cx;
    zt_aq_search_opts opts;
    cop_scope scope;
    char id[65];
} ref_view;

static void ref_form(zt_console_ctx *cx, const char *id)
{
    zt_console_printf(cx, "<p>");
    zt_console_msg(cx, COP_REF_INTRO);
    zt_console_printf(cx,
                      "</p><form method=\"get\" action=\"/ref\" class=\"row\"><label for=\"id\">");
    zt_console_msg(cx, COP_F_REF);
    zt_console_printf(cx,
                      "</label><input id=\"id\" name=\"id\" value=\"%s\" required>"
                      "<button type=\"submit\">",
                      zt_console_esc(cx, id));
    zt_console_msg(cx, COP_SEARCH);
    zt_console_printf(cx, "</button></form>");
}

static const char *str(zt_console_ctx *cx, const zt_aq_fields *f, zt_aq_field which, char *buf,
                       size_t cap)
{
    (void)cx;
    return zt_aq_span_str(&f->f[which], buf, cap);
}

static void fact(zt_console_ctx *cx, zt_msg label, const char *value, const char *id)
{
    zt_console_printf(cx, "<dt>");
    zt_console_msg(cx, label);
    zt_console_printf(cx, "</dt><dd%s%s%s>%s</dd>", id ? " id=\"" : "", id ? id : "",
                      id ? "\"" : "", value[0] ? zt_console_esc(cx, value) : "—");
}

/* The user's risk now, when the grant reaches the user (the record already passed the scope
 * filter; the store is asked again for the current level). */
static void risk_now(zt_console_ctx *cx, const char *user_id)
{
    int level = 0;
    if (user_id[0] == '\0' || zt_console_user_in_scope(cx, user_id) != 1 ||
        zt_store_user_risk(zt_console_store(cx), user_id, cx->now, &level) != 0)
        return;
    zt_console_printf(cx, "<dt>");
    zt_console_msg(cx, COP_REF_RISK);
    zt_console_printf(cx, "</dt><dd id=\"risk\">%s", zt_risk_name((zt_risk)level));
    if (level >= ZT_RISK_MEDIUM && zt_console_may(cx, ZT_PERM_RISK_READ))
        zt_console_printf(cx, " (<a href=\"/risk\">%s</a>)",
                          zt_console_esc(cx, zt_console_t(cx, COP_RISK_TITLE)));
    zt_console_printf(cx, "</dd>");
}

static void explain(zt_console_ctx *cx, const zt_aq_hit *h)
{
    zt_aq_fields f;
    char user[256], uid[64], device[128], ip[64], app[128], decision[32], reasons[512],
        policies[1024], ro[32], msg[256];
    if (!zt_aq_scan_line(h->line, h->len, &f))
        return;
    str(cx, &f, ZT_AQF_USER_EMAIL, user, sizeof(user));
    str(cx, &f, ZT_AQF_USER_UID, uid, sizeof(uid));
    if (user[0] == '\0') {
        str(cx, &f, ZT_AQF_ACTOR_EMAIL, user, sizeof(user));
        str(cx, &f, ZT_AQF_ACTOR_UID, uid, sizeof(uid));
    }
    str(cx, &f, ZT_AQF_DEVICE, device, sizeof(device));
    str(cx, &f, ZT_AQF_IP, ip, sizeof(ip));
    str(cx, &f, ZT_AQF_APP, app, sizeof(app));
    str(cx, &f, ZT_AQF_DECISION, decision, sizeof(decision));
    str(cx, &f, ZT_AQF_REASONS, reasons, sizeof(reasons));
    str(cx, &f, ZT_AQF_POLICIES, policies, sizeof(policies));
    str(cx, &f, ZT_AQF_RO_DECISION, ro, sizeof(ro));
    str(cx, &f, ZT_AQF_MESSAGE, msg, sizeof(msg));
    zt_msg verdict = cop_verdict_word_msg(decision);
    zt_console_printf(cx, "<section class=\"card ref\" data-decision=\"%s\"><h2>%s</h2>",
                      zt_console_esc(cx, decision), zt_console_time(cx, cop_record_time(&f)));
    zt_console_printf(cx, "<dl class=\"facts\">");
    fact(cx, COP_MESSAGE, msg, NULL);
    fact(cx, COP_USER, user, "user");
    fact(cx, COP_DEVICE, device, NULL);
    fact(cx, COP_IP, ip, NULL);
    fact(cx, COP_F_APP, app, "app");
    fact(cx, COP_WF_DECISION, verdict != MSG_NONE ? zt_console_t(cx, verdict) : decision,
         "decision");
    fact(cx, COP_REF_WHY, reasons, "reasons");
    fact(cx, COP_REF_POLICIES, policies, "policies");
    if (ro[0] != '\0')
        fact(cx, COP_WF_REPORT_ONLY, ro, NULL);
    risk_now(cx, uid);
    zt_console_printf(cx, "</dl>");
    if (decision[0] != '\0') {
        zt_msg advice[4];
        size_t n = cop_ref_advice(decision, reasons, advice, 4);
        zt_console_printf(cx, "<h3>");
        zt_console_msg(cx, COP_REF_WHAT_TO_DO);
        zt_console_printf(cx, "</h3><ul id=\"advice\">");
        for (size_t i = 0; i < n; i++) {
            zt_console_printf(cx, "<li>");
            zt_console_msg(cx, advice[i]);
            zt_console_printf(cx, "</li>");
        }
        zt_console_printf(cx, "</ul>");
    }
    zt_console_printf(cx, "<details><summary>");
    zt_console_msg(cx, COP_RECORD);
    zt_console_printf(cx, "</summary><pre>%s</pre></details></section>",
                      zt_console_esc(cx, h->line));
}

static void view_free(ref_view *v)
{
    cop_scope_free(&v->scope);
    free(v);
}

static void search_done(void *arg, int rc, zt_aq_result *res)
{
    ref_view *v = arg;
    zt_console_ctx *cx = v->cx;
    if (rc != 0)
        zt_warn("request %s: console reference lookup: %d", cx->r->request_id, rc);
    zt_console_begin(cx, COP_REF_TITLE);
    ref_form(cx, v->id);
    if (res == NULL || (rc != 0 && res->n == 0)) {
        cx->r->status = 503;
        zt_console_printf(cx, "<p class=\"error\">");
        zt_console_msg(cx, COP_AUDIT_UNAVAILABLE);
        zt_console_printf(cx, "</p>");
    } else if (res->n == 0) {
        cx->r->status = 404;
        zt_console_printf(cx, "<p id=\"not-found\">");
        zt_console_msg(cx, COP_REF_NOT_FOUND);
        zt_console_printf(cx, "</p>");
    }
    /* Oldest first: the decision, then what followed it (a sign-in, a detection...). */
    for (size_t i = res != NULL ? res->n : 0; i > 0; i--)
        explain(cx, &res->hits[i - 1]);
    if (res != NULL)
        zt_aq_result_dispose(res);
    view_free(v);
    zt_console_end(cx);
}

static void ref(zt_console_ctx *cx)
{
    const char *id = zt_console_param(cx, "id");
    if (id == NULL || id[0] == '\0') {
        zt_console_begin(cx, COP_REF_TITLE);
        ref_form(cx, "");
        zt_console_end(cx);
        return;
    }
    if (!cop_ref_valid(id)) {
        zt_console_begin(cx, COP_REF_TITLE);
        cx->r->status = 400;
        zt_console_printf(cx, "<p class=\"error\" role=\"alert\">");
        zt_console_msg(cx, COP_REF_BAD);
        zt_console_printf(cx, "</p>");
        ref_form(cx, "");
        zt_console_end(cx);
        return;
    }
    const char *live = cop_audit_live(cx);
    ref_view *v = live != NULL ? calloc(1, sizeof(*v)) : NULL;
    if (v == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, COP_AUDIT_UNAVAILABLE));
        return;
    }
    v->cx = cx;
    snprintf(v->id, sizeof(v->id), "%s", id);
    zt_aq_filter_init(&v->opts.filter);
    v->opts.filter.ref = v->id;
    v->opts.limit = REF_RECORDS_MAX;
    int rc = cop_scope_users(cx, &v->scope);
    if (rc != 0) {
        view_free(v);
        zt_console_fail_rc(cx, rc);
        return;
    }
    cop_scope_apply(&v->scope, &v->opts.filter);
    if (zt_aq_search_async(cx->r->loop, live, &v->opts, search_done, v) != 0)
        search_done(v, -EIO, NULL);
}

const zt_console_page zt_console_page_ref = {"/ref", false, COP_REF_TITLE, ZT_PERM_AUDIT_READ, ref};
