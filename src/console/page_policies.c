/* Policies, `/policies` and `/policies/NAME`: the running configuration's Conditional Access
 * policies explained in words (console/ops.c), what each takes in, and for a report-only policy
 * its impact — the requests it would have blocked in the last 24 hours, counted by the audit
 * query engine from the decision records (report_only.decision block with the policy among the
 * applicable ones, audit/query.h ZT_AQK_RO_BLOCK_POLICY). The console never edits a policy:
 * the page says how (the file, check-config, a reload). */
#include <stdlib.h>
#include <string.h>

#include "console/ops.h"
#include "console/ops_pages.h"
#include "console/rollup.h"
#include "core/log.h"
#include "policy/reference.h"

#define IMPACT_SPAN_S 86400

typedef struct pol_view {
    zt_console_ctx *cx;
    const zt_policy_cfg *one; /* /policies/NAME; NULL: the list */
    cop_scope scope;
    zt_aq_filter filter;
} pol_view;

/* Would-block count of policy `name`, or -1 when the figures are not there. */
static long long impact_of(const zt_aq_stats *st, const char *name)
{
    if (st == NULL)
        return -1;
    for (size_t i = 0; i < st->n_named; i++)
        if (st->named[i].kind == ZT_AQK_RO_BLOCK_POLICY && strcmp(st->named[i].name, name) == 0)
            return (long long)st->named[i].count;
    return 0;
}

static void impact_cell(zt_console_ctx *cx, const zt_policy_cfg *p, const zt_aq_stats *st)
{
    long long n = p->state == ZT_POLICY_REPORT_ONLY ? impact_of(st, p->name) : -1;
    if (n >= 0)
        zt_console_printf(cx, "<span class=\"ro-impact\" data-policy=\"%s\">%lld</span>",
                          zt_console_esc(cx, p->name), n);
    else
        zt_console_printf(cx, "—");
}

static void state_badge(zt_console_ctx *cx, const zt_policy_cfg *p)
{
    zt_console_printf(cx, "<span class=\"badge %s\">",
                      p->state == ZT_POLICY_ON    ? "ok"
                      : p->state == ZT_POLICY_OFF ? ""
                                                  : "warn");
    zt_console_msg(cx, cop_state_msg(p->state));
    zt_console_printf(cx, "</span>");
}

static void grant_summary(zt_console_ctx *cx, const zt_policy_cfg *p)
{
    static const zt_control order[] = {ZT_CTL_MFA, ZT_CTL_PHISHING_RESISTANT_MFA,
                                       ZT_CTL_COMPLIANT_DEVICE, ZT_CTL_PASSWORD_CHANGE};
    if (p->grant.block) {
        zt_console_msg(cx, COP_GRANT_BLOCK);
        return;
    }
    if (p->grant.controls == 0) {
        zt_console_msg(cx, COP_GRANT_NOTHING);
        return;
    }
    zt_console_msg(cx, p->grant.operator_or ? COP_GRANT_ONE_OF : COP_GRANT_ALL_OF);
    zt_console_printf(cx, ": ");
    unsigned shown = 0;
    for (size_t i = 0; i < 4; i++) {
        if (!(p->grant.controls & (unsigned)order[i]))
            continue;
        zt_console_printf(cx, "%s", shown++ ? ", " : "");
        zt_console_msg(cx, cop_control_msg(order[i]));
    }
}

static void list_page(zt_console_ctx *cx, const zt_aq_stats *st)
{
    const zt_config *cfg = cx->r->cfg;
    zt_console_begin(cx, COP_POLICIES_TITLE);
    zt_console_printf(cx, "<p class=\"card\">");
    zt_console_msg(cx, COP_GITOPS_NOTE);
    zt_console_printf(cx, "</p>");
    if (cfg->n_policies == 0) {
        zt_console_printf(cx, "<p>");
        zt_console_msg(cx, COP_NO_POLICIES);
        zt_console_printf(cx, "</p>");
        zt_console_end(cx);
        return;
    }
    zt_console_printf(
        cx, "<div class=\"table-wrap\"><table class=\"list\" id=\"policies\"><thead><tr>");
    cop_th(cx, COP_NAME);
    cop_th(cx, COP_STATE);
    cop_th(cx, COP_ASSIGN_USERS);
    cop_th(cx, COP_ASSIGN_APPS);
    cop_th(cx, COP_GRANT);
    cop_th(cx, COP_RO_IMPACT);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const zt_policy_cfg *p = &cfg->policies[i];
        zt_console_printf(cx, "<tr><td><a href=\"/policies/%s\">%s</a></td><td>",
                          zt_console_url_enc(cx, p->name), zt_console_esc(cx, p->name));
        state_badge(cx, p);
        zt_buf words;
        zt_buf_init(&words, 64 * 1024);
        zt_console_printf(cx, "</td><td>");
        if (cop_words_list(&words, cx->lang, p->users.include, p->users.n_include) == 0 &&
            zt_buf_cstr(&words) == 0)
            zt_console_printf(cx, "%s", words.data);
        zt_buf_reset(&words);
        zt_console_printf(cx, "</td><td>");
        if (cop_words_list(&words, cx->lang, p->apps.include, p->apps.n_include) == 0 &&
            zt_buf_cstr(&words) == 0)
            zt_console_printf(cx, "%s", words.data);
        zt_buf_dispose(&words);
        zt_console_printf(cx, "</td><td>");
        grant_summary(cx, p);
        zt_console_printf(cx, "</td><td>");
        impact_cell(cx, p, st);
        zt_console_printf(cx, "</td></tr>");
    }
    zt_console_printf(cx, "</tbody></table></div>");
    zt_console_end(cx);
}

static void one_page(zt_console_ctx *cx, const zt_policy_cfg *p, const zt_aq_stats *st)
{
    const zt_config *cfg = cx->r->cfg;
    zt_console_begin(cx, COP_POLICIES_TITLE);
    zt_console_printf(cx, "<h2>%s</h2>", zt_console_esc(cx, p->name));
    zt_buf words;
    zt_buf_init(&words, 256 * 1024);
    if (cop_policy_words(&words, cx->lang, p) == 0 && zt_buf_cstr(&words) == 0)
        zt_console_printf(cx, "%s", words.data);
    zt_buf_dispose(&words);
    zt_console_printf(cx, "<h3>");
    zt_console_msg(cx, COP_ASSIGN_APPS);
    zt_console_printf(cx, "</h3><ul>");
    unsigned shown = 0;
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (zt_policy_cfg_targets_app(p, &cfg->apps[i]) && ++shown)
            zt_console_printf(cx, "<li>%s</li>", zt_console_esc(cx, cfg->apps[i].name));
    if (shown == 0) {
        zt_console_printf(cx, "<li>");
        zt_console_msg(cx, COP_NONE);
        zt_console_printf(cx, "</li>");
    }
    zt_console_printf(cx, "</ul>");
    if (p->state == ZT_POLICY_REPORT_ONLY) {
        zt_console_printf(cx, "<div class=\"card\"><p><strong>");
        zt_console_msg(cx, COP_RO_IMPACT);
        zt_console_printf(cx, ":</strong> ");
        impact_cell(cx, p, st);
        zt_console_printf(cx, "</p><p>");
        zt_console_msg(cx, COP_RO_IMPACT_NOTE);
        zt_console_printf(cx, "</p></div>");
    }
    zt_console_printf(cx, "<p><a href=\"/whatif\">");
    zt_console_msg(cx, COP_WHATIF_TITLE);
    zt_console_printf(cx, "</a></p><p class=\"card\">");
    zt_console_msg(cx, COP_GITOPS_NOTE);
    zt_console_printf(cx, "</p>");
    zt_console_end(cx);
}

static void render(pol_view *v, const zt_aq_stats *st)
{
    if (v->one != NULL)
        one_page(v->cx, v->one, st);
    else
        list_page(v->cx, st);
}

static void view_free(pol_view *v)
{
    cop_scope_free(&v->scope);
    free(v);
}

static void stats_done(void *arg, int rc, zt_aq_stats *st)
{
    pol_view *v = arg;
    if (rc != 0)
        zt_warn("request %s: console policies: report-only impact unavailable (%d)",
                v->cx->r->request_id, rc);
    render(v, rc == 0 ? st : NULL);
    if (st != NULL)
        zt_aq_stats_dispose(st);
    view_free(v);
}

/* The figures come from the audit log on the thread pool: for an unscoped admin from the
 * console's shared rollup (per-hour report-only counts by policy, up to date at each page)
 * once its first count is done; for a scoped admin, or meanwhile, from a scan of the last
 * day, limited to the admin's users when the grant is scoped; without audit, or without the right
 * to read it, the page shows no figure rather than a wrong one. */
static void policies(zt_console_ctx *cx)
{
    const zt_config *cfg = cx->r->cfg;
    const char *name = zt_console_subpath(cx);
    pol_view *v = calloc(1, sizeof(*v));
    if (v == NULL) {
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
        return;
    }
    v->cx = cx;
    if (name[0] != '\0') {
        for (size_t i = 0; i < cfg->n_policies && v->one == NULL; i++)
            if (strcmp(cfg->policies[i].name, name) == 0)
                v->one = &cfg->policies[i];
        if (v->one == NULL) {
            view_free(v);
            zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, COP_NO_SUCH_POLICY));
            return;
        }
    }
    const char *live = cop_audit_live(cx);
    if (live == NULL || !zt_console_may(cx, ZT_PERM_AUDIT_READ) ||
        cop_scope_users(cx, &v->scope) != 0) {
        render(v, NULL);
        view_free(v);
        return;
    }
    zt_aq_filter_init(&v->filter);
    cop_scope_apply(&v->scope, &v->filter);
    /* the engine keeps report-only counts by policy per hour: the 24 hours up to the end of
     * the current one */
    int64_t until = (cx->now / 3600 + 1) * 3600;
    zt_aq_stats_req req = {.since_us = (until - IMPACT_SPAN_S) * 1000000,
                           .until_us = until * 1000000,
                           .bucket_s = IMPACT_SPAN_S};
    uint64_t counted = 0;
    zt_aq_rollup *ru = v->scope.limited ? NULL : zt_console_rollup_get(live, &counted);
    if (zt_aq_stats_async(cx->r->loop, ru, live, ru ? NULL : &v->filter, &req, stats_done, v) !=
        0) {
        render(v, NULL);
        view_free(v);
    }
}

const zt_console_page zt_console_page_policies = {"/policies", true, COP_POLICIES_TITLE,
                                                  ZT_PERM_POLICY_READ, policies};
