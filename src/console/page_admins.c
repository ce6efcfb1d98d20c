/* Administrators, `/admins`: every administrator sees their own roles and their own personal API
 * tokens, makes a token (shown once, on the answer to the POST, never in a URL) and revokes one;
 * those who may read the audit (auditors, security operators, global admins) also see who holds
 * which role. Tokens are made and revoked by the same service functions as
 * `ztgate admin token create|revoke` and POST/DELETE /api/v1/tokens (session/admins.h), so the
 * records are the same but for the actor ("admin:EMAIL", credential "console:…"). Roles are
 * granted with the CLI or the API (docs/ADMINS.md). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "console/console_int.h"
#include "lib/secure.h"

/* The lifetimes offered; the form sends one of these and nothing else is accepted. */
static const char *const lifetimes[] = {"1d", "7d", "30d", "90d", "365d"};
#define LIFETIME_DEFAULT 2

static void th(zt_console_ctx *cx, zt_msg m)
{
    zt_console_printf(cx, "<th scope=\"col\">");
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</th>");
}

static void scope_cell(zt_console_ctx *cx, const char *scope)
{
    if (scope[0] == '\0')
        zt_console_msg(cx, ADM_SCOPE_EVERYWHERE);
    else
        zt_console_text(cx, scope);
}

static zt_msg role_msg(const char *name)
{
    zt_admin_role r;
    return zt_admins_role_parse(name, &r) == 0 ? zt_admins_role_msg(r) : MSG_NONE;
}

/* ---- my roles, the administrators ---- */

typedef struct role_rows {
    zt_console_ctx *cx;
    bool all; /* the administrators' table (else: my roles, as a list) */
} role_rows;

static int role_row_cb(void *ctx, const zt_store_admin_role *r)
{
    role_rows *rows = ctx;
    zt_console_ctx *cx = rows->cx;
    if (!rows->all) {
        zt_console_printf(cx, "<li>");
        zt_console_msg(cx, role_msg(r->role));
        zt_console_printf(cx, " — ");
        scope_cell(cx, r->scope);
        zt_console_printf(cx, "</li>");
        return 0;
    }
    zt_console_printf(cx, "<tr><td>%s</td><td>", zt_console_esc(cx, r->email));
    zt_console_msg(cx, role_msg(r->role));
    zt_console_printf(cx, "</td><td>");
    scope_cell(cx, r->scope);
    zt_console_printf(cx, "</td><td>%s</td><td>%s</td></tr>", zt_console_esc(cx, r->created_by),
                      zt_console_time(cx, r->created_at));
    return 0;
}

static int my_roles(zt_console_ctx *cx)
{
    zt_console_printf(cx, "<section><h2>");
    zt_console_msg(cx, ADM_ROLES);
    zt_console_printf(cx, "</h2><ul>");
    role_rows rows = {cx, false};
    int rc = zt_store_admin_role_list(zt_console_store(cx), zt_console_grant(cx)->user_id,
                                      role_row_cb, &rows);
    zt_console_printf(cx, "</ul></section>");
    return rc;
}

static int all_admins(zt_console_ctx *cx)
{
    /* Who holds power is audit evidence; a scoped reader does not see it (it would name people
     * outside their groups). */
    if (!zt_console_may(cx, ZT_PERM_AUDIT_READ) || !zt_console_grant(cx)->everywhere)
        return 0;
    zt_console_printf(cx, "<section><h2>");
    zt_console_msg(cx, ADM_ADMINS_TITLE);
    /* A scrolled table is a focusable region so the keyboard reaches it (axe-core). */
    zt_console_printf(cx,
                      "</h2><div class=\"table-wrap\" tabindex=\"0\" role=\"region\" "
                      "aria-label=\"%s\"><table class=\"list\"><thead><tr>",
                      zt_console_esc(cx, zt_console_t(cx, ADM_ADMINS_TITLE)));
    th(cx, CON_EMAIL);
    th(cx, ADM_ROLES);
    th(cx, ADM_SCOPE);
    th(cx, ADM_GRANTED_BY);
    th(cx, ADM_GRANTED_AT);
    zt_console_printf(cx, "</tr></thead><tbody>");
    role_rows rows = {cx, true};
    int rc = zt_store_admin_role_list(zt_console_store(cx), NULL, role_row_cb, &rows);
    zt_console_printf(cx, "</tbody></table></div></section>");
    return rc;
}

/* ---- my tokens ---- */

typedef struct token_vec {
    zt_store_admin_token *v;
    size_t n, cap;
} token_vec;

static int token_cb(void *ctx, const zt_store_admin_token *t)
{
    token_vec *vec = ctx;
    if (vec->n == vec->cap && zt_array_grow(&vec->v, &vec->cap, sizeof(*vec->v), 8) != 0)
        return -ENOMEM;
    vec->v[vec->n++] = *t;
    return 0;
}

static void token_status(zt_console_ctx *cx, const zt_store_admin_token *t)
{
    bool live = t->revoked_at == 0 && cx->now < t->expires_at;
    zt_console_printf(cx, "<span class=\"badge %s\">", live ? "ok" : "bad");
    zt_console_msg(cx, t->revoked_at ? ADM_TOKEN_REVOKED
                       : live        ? ADM_TOKEN_ACTIVE
                                     : ADM_TOKEN_EXPIRED);
    zt_console_printf(cx, "</span>");
}

static void token_row(zt_console_ctx *cx, const zt_store_admin_token *t)
{
    zt_console_printf(cx, "<tr><td>%s <code>%s</code></td><td>", zt_console_esc(cx, t->name),
                      t->id);
    for (int i = 0; i < ZT_PERM_COUNT; i++) /* one word each, so the cell wraps */
        if (t->scopes & (1u << i))
            zt_console_printf(cx, "<code>%s</code> ", zt_admins_perm_name(1u << i));
    zt_console_printf(cx, "</td><td>");
    token_status(cx, t);
    zt_console_printf(cx, "</td><td>%s</td><td>", zt_console_time(cx, t->expires_at));
    if (t->last_used_at)
        zt_console_text(cx, zt_console_time(cx, t->last_used_at));
    else
        zt_console_msg(cx, ADM_TOKEN_NEVER_USED);
    zt_console_printf(cx, "</td><td>");
    if (t->revoked_at == 0 && cx->now < t->expires_at) {
        zt_console_form_open(cx, "/admins");
        zt_console_printf(cx,
                          "<input type=\"hidden\" name=\"action\" value=\"revoke\">"
                          "<input type=\"hidden\" name=\"id\" value=\"%s\">"
                          "<button type=\"submit\" class=\"danger\">",
                          t->id);
        zt_console_msg(cx, ADM_TOKEN_REVOKE);
        zt_console_printf(cx, "</button></form>");
    }
    zt_console_printf(cx, "</td></tr>");
}

static int my_tokens(zt_console_ctx *cx)
{
    token_vec vec = {0};
    int rc = zt_store_admin_token_list(zt_console_store(cx), zt_console_grant(cx)->user_id,
                                       token_cb, &vec);
    zt_console_printf(cx, "<section><h2>");
    zt_console_msg(cx, ADM_MY_TOKENS_TITLE);
    zt_console_printf(cx,
                      "</h2><div class=\"table-wrap\" tabindex=\"0\" role=\"region\" "
                      "aria-label=\"%s\"><table class=\"list\"><thead><tr>",
                      zt_console_esc(cx, zt_console_t(cx, ADM_MY_TOKENS_TITLE)));
    th(cx, ADM_TOKEN_NAME);
    th(cx, ADM_TOKEN_SCOPES);
    th(cx, CON_STATUS);
    th(cx, ADM_TOKEN_EXPIRES);
    th(cx, ADM_TOKEN_LAST_USED);
    th(cx, CON_ACTIONS);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; rc == 0 && i < vec.n; i++)
        token_row(cx, &vec.v[i]);
    zt_console_printf(cx, "</tbody></table></div></section>");
    free(vec.v);
    return rc;
}

static void create_form(zt_console_ctx *cx)
{
    const zt_admin_grant *g = zt_console_grant(cx);
    zt_console_printf(cx, "<section><h2>");
    zt_console_msg(cx, ADM_TOKEN_CREATE);
    zt_console_printf(cx, "</h2>");
    zt_console_form_open(cx, "/admins");
    zt_console_printf(cx, "<input type=\"hidden\" name=\"action\" value=\"create\">"
                          "<div class=\"row\"><div><label for=\"name\">");
    zt_console_msg(cx, ADM_TOKEN_NAME);
    zt_console_printf(cx,
                      "</label><input id=\"name\" name=\"name\" maxlength=\"%d\" required>"
                      "</div><div><label for=\"expires\">",
                      ZT_STORE_ADMIN_TOKEN_NAME_MAX);
    zt_console_msg(cx, ADM_TOKEN_EXPIRES);
    zt_console_printf(cx, "</label><select id=\"expires\" name=\"expires\">");
    for (size_t i = 0; i < sizeof(lifetimes) / sizeof(lifetimes[0]); i++)
        zt_console_printf(cx, "<option value=\"%s\"%s>%s</option>", lifetimes[i],
                          i == LIFETIME_DEFAULT ? " selected" : "", lifetimes[i]);
    zt_console_printf(cx, "</select></div></div><fieldset><legend>");
    zt_console_msg(cx, ADM_TOKEN_SCOPES);
    zt_console_printf(cx, "</legend>");
    for (int i = 0; i < ZT_PERM_COUNT; i++) {
        zt_perms p = 1u << i;
        if (!(g->perms & p))
            continue;
        zt_console_printf(cx,
                          "<label class=\"check\"><input type=\"checkbox\" name=\"perm%d\" "
                          "value=\"1\" checked> <code>%s</code> ",
                          i, zt_admins_perm_name(p));
        zt_console_msg(cx, zt_admins_perm_msg(p));
        zt_console_printf(cx, "</label>");
    }
    zt_console_printf(cx, "</fieldset><button type=\"submit\">");
    zt_console_msg(cx, ADM_TOKEN_CREATE);
    zt_console_printf(cx, "</button></form></section>");
}

static void admins_show(zt_console_ctx *cx)
{
    zt_console_begin(cx, ADM_ADMINS_TITLE);
    int rc = my_roles(cx);
    rc = rc ? rc : my_tokens(cx);
    if (rc == 0)
        create_form(cx);
    rc = rc ? rc : all_admins(cx);
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_end(cx);
}

/* ---- changes ---- */

static bool lifetime_of(const char *s, int64_t *out)
{
    for (size_t i = 0; s != NULL && i < sizeof(lifetimes) / sizeof(lifetimes[0]); i++)
        if (strcmp(s, lifetimes[i]) == 0)
            return zt_admins_lifetime_parse(s, out) == 0;
    return false;
}

/* The permissions ticked, within the grant; 0 when none (or one outside it). */
static zt_perms ticked(zt_console_ctx *cx)
{
    zt_perms p = 0;
    for (int i = 0; i < ZT_PERM_COUNT; i++) {
        char name[16];
        snprintf(name, sizeof(name), "perm%d", i);
        const char *v = zt_console_param(cx, name);
        if (v != NULL && strcmp(v, "1") == 0)
            p |= 1u << i;
    }
    return (p & ~zt_console_grant(cx)->perms) != 0 ? 0 : p;
}

static void token_create(zt_console_ctx *cx)
{
    const char *name = zt_console_param(cx, "name");
    int64_t life = 0;
    zt_perms scopes = ticked(cx);
    zt_msg bad = name == NULL || name[0] == '\0' || strlen(name) > ZT_STORE_ADMIN_TOKEN_NAME_MAX
                     ? ADM_TOKEN_BAD_NAME
                 : !lifetime_of(zt_console_param(cx, "expires"), &life) ? ADM_TOKEN_BAD_EXPIRY
                 : scopes == 0                                          ? ADM_TOKEN_BAD_SCOPES
                                                                        : MSG_NONE;
    if (bad != MSG_NONE) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, bad));
        return;
    }
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_account_result res = {0};
    char tok[ZT_ADMINS_TOKEN_LEN + 1];
    zt_store_admin_token t;
    zt_admins_token_new n = {.user_id = zt_console_grant(cx)->user_id,
                             .name = name,
                             .scopes = scopes,
                             .lifetime_s = life};
    int rc = zt_admins_token_create(&env, &who, &n, tok, &t, &res);
    if (rc == -ENOSPC || rc == -EPERM || rc == -EINVAL) {
        zt_console_fail(cx, rc == -ENOSPC ? 409 : 400, CON_BAD_INPUT_TITLE,
                        zt_console_t(cx, rc == -ENOSPC  ? ADM_TOKEN_TOO_MANY
                                         : rc == -EPERM ? ADM_TOKEN_BAD_SCOPES
                                                        : ADM_TOKEN_BAD_NAME));
        return;
    }
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_account_after(cx, "admin_token.create", &res);
    /* Shown once, here: the answer to the POST is not cached (no-store) and the token never
     * goes into a URL. */
    zt_console_begin(cx, ADM_TOKEN_CREATED);
    zt_console_printf(cx, "<p class=\"notice\" role=\"status\">");
    zt_console_msg(cx, ADM_TOKEN_SHOWN_ONCE);
    zt_console_printf(cx,
                      "</p><p><code class=\"secret\">%s</code></p><p>%s <code>%s</code> — %s</p>",
                      tok, zt_console_esc(cx, t.name), t.id, zt_console_time(cx, t.expires_at));
    zt_wipe(tok, sizeof(tok));
    zt_console_printf(cx, "<p><a href=\"/admins\">");
    zt_console_msg(cx, ADM_MY_TOKENS_TITLE);
    zt_console_printf(cx, "</a></p>");
    zt_console_end(cx);
}

/* Revoke one of my tokens (anyone's with the admins permission held everywhere); another
 * person's token is not found. */
static void token_revoke(zt_console_ctx *cx)
{
    const char *id = zt_console_param(cx, "id");
    zt_store_admin_token t;
    int rc = id != NULL ? zt_store_admin_token_get(zt_console_store(cx), id, &t, NULL) : -ENOENT;
    const zt_admin_grant *g = zt_console_grant(cx);
    if (rc == 0 && strcmp(t.user_id, g->user_id) != 0 &&
        (g->perms_everywhere & ZT_PERM_ADMINS) == 0)
        rc = -ENOENT;
    if (rc == -EINVAL)
        rc = -ENOENT;
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_account_result res = {0};
    rc = rc ? rc : zt_admins_token_revoke(&env, &who, t.id, &res, NULL);
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_account_after(cx, "admin_token.revoke", &res);
    zt_console_redirect_done(cx, "/admins", ADM_TOKEN_REVOKED_DONE);
}

static void admins(zt_console_ctx *cx)
{
    if (zt_console_subpath(cx)[0] != '\0') {
        zt_console_fail_rc(cx, -ENOENT);
        return;
    }
    if (cx->r->method != HTTP_POST) {
        admins_show(cx);
        return;
    }
    if (!zt_console_post_ok(cx))
        return;
    const char *action = zt_console_param(cx, "action");
    if (action != NULL && strcmp(action, "create") == 0)
        token_create(cx);
    else if (action != NULL && strcmp(action, "revoke") == 0)
        token_revoke(cx);
    else
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
}

const zt_console_page zt_console_page_admins = {"/admins", true, ADM_ADMINS_TITLE, 0, admins};
