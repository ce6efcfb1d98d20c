/* Apps, `/apps`: every app of the running configuration — kind, host, upstream, whether
 * WebSockets or tunnels reach it, its sensitivity, and which policies take it in (by name,
 * "all" or its sensitivity; policy/reference.h zt_policy_cfg_targets_app). Read-only: apps are
 * configured in the file (docs/CONFIG.md). */
#include <stdio.h>
#include <string.h>

#include "console/ops.h"
#include "console/ops_pages.h"
#include "policy/reference.h"

static const char *kind_word(zt_app_kind k)
{
    switch (k) {
    case ZT_APP_HTTP:
        return "http";
    case ZT_APP_OIDC:
        return "oidc";
    case ZT_APP_SAML:
        return "saml";
    case ZT_APP_TCP:
        return "tcp";
    case ZT_APP_CONSOLE:
        return "console";
    }
    return "?";
}

static void upstream_cell(zt_console_ctx *cx, const zt_app_cfg *a)
{
    if (a->kind == ZT_APP_HTTP && a->upstream.url != NULL)
        zt_console_printf(cx, "<code>%s</code>", zt_console_esc(cx, a->upstream.url));
    else if (a->kind == ZT_APP_TCP && a->target.host != NULL)
        zt_console_printf(cx, "<code>%s</code>",
                          zt_console_esc(cx, a->target.url ? a->target.url : a->target.host));
    else
        zt_console_printf(cx, "—");
}

static void streams_cell(zt_console_ctx *cx, const zt_app_cfg *a)
{
    if (a->kind == ZT_APP_TCP)
        zt_console_printf(cx, "tunnel (%u)", a->port);
    else if (a->kind == ZT_APP_HTTP)
        zt_console_msg(cx, a->websocket ? COP_YES : COP_NO);
    else
        zt_console_printf(cx, "—");
}

/* Links to the policies that take the app in, each with its state. */
static void policies_cell(zt_console_ctx *cx, const zt_config *cfg, const zt_app_cfg *a)
{
    unsigned shown = 0;
    for (size_t i = 0; i < cfg->n_policies; i++) {
        const zt_policy_cfg *p = &cfg->policies[i];
        if (!zt_policy_cfg_targets_app(p, a))
            continue;
        zt_console_printf(cx, "%s<a href=\"/policies/%s\">%s</a> <span class=\"badge %s\">",
                          shown++ ? "<br>" : "", zt_console_url_enc(cx, p->name),
                          zt_console_esc(cx, p->name),
                          p->state == ZT_POLICY_ON    ? "ok"
                          : p->state == ZT_POLICY_OFF ? ""
                                                      : "warn");
        zt_console_msg(cx, cop_state_msg(p->state));
        zt_console_printf(cx, "</span>");
    }
    if (shown == 0)
        zt_console_msg(cx, COP_NONE);
}

static void apps(zt_console_ctx *cx)
{
    const zt_config *cfg = cx->r->cfg;
    zt_console_begin(cx, COP_APPS_TITLE);
    zt_console_printf(cx,
                      "<div class=\"table-wrap\"><table class=\"list\" id=\"apps\"><thead><tr>");
    cop_th(cx, COP_NAME);
    cop_th(cx, COP_KIND);
    cop_th(cx, COP_HOST);
    cop_th(cx, COP_UPSTREAM);
    cop_th(cx, COP_SENSITIVITY);
    cop_th(cx, COP_STREAMS);
    cop_th(cx, COP_POLICIES_APPLYING);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        zt_console_printf(cx, "<tr data-app=\"%s\"><td>%s</td><td>%s</td><td>%s%s</td><td>",
                          zt_console_esc(cx, a->name), zt_console_esc(cx, a->name),
                          kind_word(a->kind), a->host ? zt_console_esc(cx, a->host) : "—",
                          a->path_prefix && strcmp(a->path_prefix, "/") != 0
                              ? zt_console_esc(cx, a->path_prefix)
                              : "");
        upstream_cell(cx, a);
        zt_console_printf(cx, "</td><td>%s</td><td>", zt_sensitivity_name(a->sensitivity));
        streams_cell(cx, a);
        zt_console_printf(cx, "</td><td>");
        policies_cell(cx, cfg, a);
        zt_console_printf(cx, "</td></tr>");
    }
    zt_console_printf(cx, "</tbody></table></div><p class=\"card\">");
    zt_console_msg(cx, COP_GITOPS_NOTE);
    zt_console_printf(cx, "</p>");
    zt_console_end(cx);
}

const zt_console_page zt_console_page_apps = {"/apps", false, COP_APPS_TITLE, ZT_PERM_POLICY_READ,
                                              apps};
