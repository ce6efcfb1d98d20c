/* Groups, `/groups`: the groups (a scoped admin sees only the groups of their scope), and on
 * `/groups/NAME` its members (only those in scope) with add and remove. Membership changes are
 * the account service's, as `ztgate group member-add` and the admin API; a scoped admin changes
 * only the groups of their scope (adding someone to another group, a policy's exclusion group
 * say, would reach past the scope). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console/console_int.h"

static bool group_name_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n == 0 || n > ZT_STORE_GROUP_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                  c == '.' || c == '_' || c == '-';
        if (!ok)
            return false;
    }
    return true;
}

static bool group_in_scope(const zt_console_ctx *cx, const char *name)
{
    return zt_admins_group_in_scope(zt_console_grant(cx), name) == 1;
}

static void th(zt_console_ctx *cx, zt_msg m)
{
    zt_console_printf(cx, "<th scope=\"col\">");
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</th>");
}

static int group_row_cb(void *ctx, const zt_store_group *g)
{
    zt_console_ctx *cx = ctx;
    if (!group_in_scope(cx, g->name))
        return 0;
    zt_console_printf(cx, "<tr><td><a href=\"/groups/%s\">%s</a></td><td>%s</td><td>%llu</td></tr>",
                      zt_console_url_enc(cx, g->name), zt_console_esc(cx, g->name),
                      zt_console_esc(cx, g->display_name), (unsigned long long)g->n_members);
    return 0;
}

static void group_list(zt_console_ctx *cx)
{
    zt_console_begin(cx, CON_GROUPS);
    zt_console_printf(cx, "<div class=\"table-wrap\"><table class=\"list\"><thead><tr>");
    th(cx, CON_GROUP);
    th(cx, CON_NAME);
    th(cx, CON_MEMBERS);
    zt_console_printf(cx, "</tr></thead><tbody>");
    int rc = zt_store_group_list(zt_console_store(cx), group_row_cb, cx);
    zt_console_printf(cx, "</tbody></table></div>");
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_end(cx);
}

typedef struct member_ctx {
    zt_console_ctx *cx;
    const char *group;
    bool write;
    zt_console_users users;
} member_ctx;

static void member_row(member_ctx *m, const zt_user *u)
{
    zt_console_ctx *cx = m->cx;
    zt_console_printf(cx, "<tr><td><a href=\"/users/%s\">%s</a></td><td>%s</td><td>", u->id,
                      zt_console_esc(cx, u->email), zt_console_esc(cx, u->name));
    if (m->write) {
        char path[ZT_STORE_GROUP_MAX * 3 + 16];
        snprintf(path, sizeof(path), "/groups/%s", zt_console_url_enc(cx, m->group));
        zt_console_form_open(cx, path);
        zt_console_printf(cx,
                          "<input type=\"hidden\" name=\"action\" value=\"remove\">"
                          "<input type=\"hidden\" name=\"user\" value=\"%s\">"
                          "<button type=\"submit\" class=\"danger\">",
                          u->id);
        zt_console_msg(cx, CON_REMOVE);
        zt_console_printf(cx, "</button></form>");
    }
    zt_console_printf(cx, "</td></tr>");
}

static void add_form(zt_console_ctx *cx, const char *group)
{
    char path[ZT_STORE_GROUP_MAX * 3 + 16];
    snprintf(path, sizeof(path), "/groups/%s", zt_console_url_enc(cx, group));
    zt_console_form_open(cx, path);
    zt_console_printf(cx, "<input type=\"hidden\" name=\"action\" value=\"add\">"
                          "<div class=\"row\"><div><label for=\"email\">");
    zt_console_msg(cx, CON_ADD_MEMBER);
    zt_console_printf(cx, "</label><input id=\"email\" name=\"email\" type=\"email\" "
                          "maxlength=\"254\" required></div><button type=\"submit\">");
    zt_console_msg(cx, CON_ADD);
    zt_console_printf(cx, "</button></div></form>");
}

static void group_show(zt_console_ctx *cx, const zt_store_group *g)
{
    member_ctx m = {.cx = cx, .group = g->name, .write = zt_console_may(cx, ZT_PERM_USERS_WRITE)};
    int rc = zt_store_group_members(zt_console_store(cx), g->name, zt_console_users_add, &m.users);
    if (rc != 0) {
        zt_console_users_free(&m.users);
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_begin(cx, CON_GROUPS);
    zt_console_printf(cx, "<h2>%s</h2>", zt_console_esc(cx, g->name));
    if (g->display_name[0] != '\0')
        zt_console_printf(cx, "<p>%s</p>", zt_console_esc(cx, g->display_name));
    zt_console_printf(cx, "<div class=\"table-wrap\"><table class=\"list\"><thead><tr>");
    th(cx, CON_EMAIL);
    th(cx, CON_NAME);
    th(cx, CON_ACTIONS);
    zt_console_printf(cx, "</tr></thead><tbody>");
    for (size_t i = 0; i < m.users.n; i++)
        if (zt_console_user_in_scope(cx, m.users.v[i].id) == 1)
            member_row(&m, &m.users.v[i]);
    zt_console_printf(cx, "</tbody></table></div>");
    zt_console_users_free(&m.users);
    if (m.write)
        add_form(cx, g->name);
    zt_console_end(cx);
}

/* The member to add (by e-mail) or remove (by id), within the admin's scope; answered when not. */
static bool change_target(zt_console_ctx *cx, bool add, zt_user *u)
{
    if (!add)
        return zt_console_load_user(cx, zt_console_param(cx, "user"), u) == 0;
    const char *email = zt_console_param(cx, "email");
    int rc = email && email[0] && strlen(email) <= ZT_STORE_EMAIL_MAX
                 ? zt_store_user_get_by_email(zt_console_store(cx), email, u)
                 : -EINVAL;
    rc = zt_console_keep_in_scope(cx, rc, u);
    if (rc == -ENOENT || rc == -EINVAL)
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_NO_USER));
    else if (rc != 0)
        zt_console_fail_rc(cx, rc);
    return rc == 0;
}

static void group_change(zt_console_ctx *cx, const zt_store_group *g)
{
    const char *action = zt_console_param(cx, "action");
    bool add = action && strcmp(action, "add") == 0;
    if (!add && !(action && strcmp(action, "remove") == 0)) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    if (!zt_console_may(cx, ZT_PERM_USERS_WRITE)) {
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    zt_user u;
    if (!change_target(cx, add, &u))
        return;
    if (zt_console_may_on_user(cx, ZT_PERM_USERS_WRITE, u.id) != 1) {
        /* the member holds an admin role: a help desk may not move them (admins.h) */
        zt_user_dispose(&u);
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_account_result res = {0};
    int rc = add ? zt_account_member_add(&env, &who, g->name, u.id, &res)
                 : zt_account_member_remove(&env, &who, g->name, u.id, &res);
    zt_user_dispose(&u);
    if (rc == -EEXIST) {
        zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_MEMBER_EXISTS));
        return;
    }
    if (rc == -ENOENT && !add) {
        zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_NOT_MEMBER));
        return;
    }
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_account_after(cx, add ? "group.member_add" : "group.member_remove", &res);
    char path[ZT_STORE_GROUP_MAX * 3 + 16];
    snprintf(path, sizeof(path), "/groups/%s", zt_console_url_enc(cx, g->name));
    zt_console_redirect_done(cx, path, add ? CON_DONE_MEMBER_ADDED : CON_DONE_MEMBER_REMOVED);
}

static void groups(zt_console_ctx *cx)
{
    const char *sub = zt_console_subpath(cx);
    bool post = cx->r->method == HTTP_POST;
    if (sub[0] == '\0') {
        if (post) {
            zt_console_fail(cx, 405, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_METHOD));
            return;
        }
        group_list(cx);
        return;
    }
    if (post && !zt_console_post_ok(cx))
        return;
    zt_store_group g;
    int rc = group_name_ok(sub) && group_in_scope(cx, sub)
                 ? zt_store_group_get(zt_console_store(cx), sub, &g)
                 : -ENOENT;
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    if (post)
        group_change(cx, &g);
    else
        group_show(cx, &g);
}

const zt_console_page zt_console_page_groups = {"/groups", true, CON_GROUPS, ZT_PERM_USERS_READ,
                                                groups};
