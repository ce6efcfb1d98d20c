/* Users, `/users`: search and page through the users the admin's grant reaches, create one, and
 * on `/users/ID` see one (groups, second factors, sessions, pass, devices, risk history) and
 * disable / enable it, reset its MFA, issue a Temporary Access Pass (shown once) or end its
 * sessions. Every change is the account service's (session/account.h), as with `ztgate user` and
 * the admin API; a user outside the grant's scope is answered 404 as if it did not exist. */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "console/console_int.h"
#include "core/log.h"
#include "lib/secure.h"
#include "session/session.h"
#include "store/store_device.h"
#include "store/store_tap.h"
#include "store/store_webauthn.h"

#define PAGE_SIZE 50
#define PAGE_MAX 100000

/* ---- shared with the other pages ---- */

bool zt_console_id_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (n != ZT_STORE_ID_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int zt_console_keep_in_scope(zt_console_ctx *cx, int rc, zt_user *u)
{
    if (rc != 0)
        return rc;
    int in = zt_console_user_in_scope(cx, u->id);
    rc = in == 1 ? 0 : in == 0 ? -ENOENT : in;
    if (rc != 0)
        zt_user_dispose(u);
    return rc;
}

int zt_console_load_user(zt_console_ctx *cx, const char *id, zt_user *u)
{
    int rc = zt_console_id_ok(id) ? zt_store_user_get_by_id(zt_console_store(cx), id, u) : -ENOENT;
    rc = zt_console_keep_in_scope(cx, rc, u);
    if (rc == -ENOENT || rc == -EINVAL)
        zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, CON_NOT_FOUND_BODY));
    else if (rc != 0)
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_UNAVAILABLE_BODY));
    return rc;
}

void zt_console_fail_rc(zt_console_ctx *cx, int rc)
{
    switch (rc) {
    case -ENOENT:
        zt_console_fail(cx, 404, CON_NOT_FOUND_TITLE, zt_console_t(cx, CON_NOT_FOUND_BODY));
        return;
    case -EALREADY:
        zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ALREADY));
        return;
    case -EINVAL:
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_QUERY));
        return;
    default:
        zt_console_fail(cx, 503, CON_UNAVAILABLE_TITLE, zt_console_t(cx, CON_ERR_STORE));
        return;
    }
}

/* The change is saved; what failed after it (its record, telling gateways) goes to the log. */
void zt_console_account_after(zt_console_ctx *cx, const char *what, const zt_account_result *res)
{
    if (res->audit_rc != 0 || res->revocation_rc != 0)
        zt_error("request %s: console %s: saved, but audit %d / revocation %d", cx->r->request_id,
                 what, res->audit_rc, res->revocation_rc);
}

/* ---- list ---- */

int zt_console_users_add(void *ctx, const zt_user *u)
{
    zt_console_users *vec = ctx;
    if (vec->n == vec->cap && zt_array_grow(&vec->v, &vec->cap, sizeof(*vec->v), 64) != 0)
        return -ENOMEM;
    vec->v[vec->n] = *u;
    zt_wipe(vec->v[vec->n].password_hash, sizeof(vec->v[vec->n].password_hash));
    vec->n++;
    return 0;
}

void zt_console_users_free(zt_console_users *vec)
{
    for (size_t i = 0; i < vec->n; i++)
        zt_user_dispose(&vec->v[i]);
    free(vec->v);
}

static bool matches(const zt_user *u, const char *q)
{
    return q == NULL || q[0] == '\0' || strcasestr(u->email, q) != NULL ||
           strcasestr(u->name, q) != NULL;
}

static int groups_cb(void *ctx, const char *name)
{
    zt_buf *b = ctx;
    return zt_buf_printf(b, "%s%s", b->len ? ", " : "", name);
}

static const char *groups_of(zt_console_ctx *cx, const char *user_id)
{
    zt_buf b;
    zt_buf_init(&b, 64 * 1024);
    const char *s = "";
    if (zt_admins_user_groups(zt_console_store(cx), zt_console_grant(cx), user_id, groups_cb, &b) ==
            0 &&
        zt_buf_cstr(&b) == 0)
        s = zt_console_esc(cx, b.data);
    zt_buf_dispose(&b);
    return s;
}

static void status_badge(zt_console_ctx *cx, const zt_user *u)
{
    bool off = u->disabled || zt_account_expired(u, cx->now);
    zt_console_printf(cx, "<span class=\"badge %s\">", off ? "bad" : "ok");
    zt_console_msg(cx, off ? CON_ST_DISABLED : CON_ST_ACTIVE);
    zt_console_printf(cx, "</span>");
}

static void user_row(zt_console_ctx *cx, const zt_user *u)
{
    zt_console_printf(cx, "<tr><td><a href=\"/users/%s\">%s</a></td><td>%s</td><td>", u->id,
                      zt_console_esc(cx, u->email), zt_console_esc(cx, u->name));
    status_badge(cx, u);
    zt_console_printf(cx, "</td><td>%s</td><td>%s</td></tr>", groups_of(cx, u->id),
                      zt_console_time(cx, u->last_sign_in_at));
}

static void search_form(zt_console_ctx *cx, const char *q)
{
    zt_console_printf(cx, "<form class=\"row\" method=\"get\" action=\"/users\" role=\"search\">"
                          "<div><label for=\"q\">");
    zt_console_msg(cx, CON_SEARCH_HINT);
    zt_console_printf(cx,
                      "</label><input id=\"q\" name=\"q\" type=\"search\" maxlength=\"254\" "
                      "value=\"%s\"></div><button type=\"submit\">",
                      zt_console_esc(cx, q ? q : ""));
    zt_console_msg(cx, CON_SEARCH);
    zt_console_printf(cx, "</button></form>");
}

static int group_option_cb(void *ctx, const zt_store_group *g)
{
    zt_console_ctx *cx = ctx;
    if (zt_admins_group_in_scope(zt_console_grant(cx), g->name) == 1) {
        const char *n = zt_console_esc(cx, g->name);
        zt_console_printf(cx, "<option value=\"%s\">%s</option>", n, n);
    }
    return 0;
}

static void create_form(zt_console_ctx *cx)
{
    zt_console_printf(cx, "<h2>");
    zt_console_msg(cx, CON_CREATE_USER);
    zt_console_printf(cx, "</h2>");
    zt_console_form_open(cx, "/users");
    zt_console_printf(cx, "<input type=\"hidden\" name=\"action\" value=\"create\">"
                          "<div class=\"row\"><div><label for=\"email\">");
    zt_console_msg(cx, CON_EMAIL);
    zt_console_printf(cx, "</label><input id=\"email\" name=\"email\" type=\"email\" "
                          "maxlength=\"254\" required autocomplete=\"off\"></div>"
                          "<div><label for=\"name\">");
    zt_console_msg(cx, CON_NAME);
    zt_console_printf(cx, "</label><input id=\"name\" name=\"name\" maxlength=\"128\"></div>"
                          "<div><label for=\"group\">");
    zt_console_msg(cx, CON_GROUP);
    zt_console_printf(cx, "</label><select id=\"group\" name=\"group\">");
    if (zt_console_grant(cx)->everywhere)
        zt_console_printf(cx, "<option value=\"\">—</option>");
    (void)zt_store_group_list(zt_console_store(cx), group_option_cb, cx);
    zt_console_printf(cx, "</select></div><button type=\"submit\">");
    zt_console_msg(cx, CON_CREATE);
    zt_console_printf(cx, "</button></div></form>");
}

static void pager(zt_console_ctx *cx, const char *q, unsigned long long page, bool more)
{
    const char *qe = zt_console_esc(cx, zt_console_url_enc(cx, q ? q : ""));
    zt_console_printf(cx, "<nav class=\"pager\" aria-label=\"%s\">",
                      zt_console_esc(cx, zt_console_t(cx, CON_NEXT)));
    if (page > 1) {
        zt_console_printf(cx, "<a href=\"/users?q=%s&amp;page=%llu\" rel=\"prev\">", qe, page - 1);
        zt_console_msg(cx, CON_PREV);
        zt_console_printf(cx, "</a>");
    }
    if (more) {
        zt_console_printf(cx, "<a href=\"/users?q=%s&amp;page=%llu\" rel=\"next\">", qe, page + 1);
        zt_console_msg(cx, CON_NEXT);
        zt_console_printf(cx, "</a>");
    }
    zt_console_printf(cx, "</nav>");
}

static void table_head(zt_console_ctx *cx, const zt_msg *cols, size_t n)
{
    zt_console_printf(cx, "<div class=\"table-wrap\"><table class=\"list\"><thead><tr>");
    for (size_t i = 0; i < n; i++) {
        zt_console_printf(cx, "<th scope=\"col\">");
        zt_console_msg(cx, cols[i]);
        zt_console_printf(cx, "</th>");
    }
    zt_console_printf(cx, "</tr></thead><tbody>");
}

static bool page_param(zt_console_ctx *cx, unsigned long long *page)
{
    const char *p = zt_console_param(cx, "page");
    *page = 1;
    if (p == NULL || p[0] == '\0')
        return true;
    if (!zt_parse_u64(p, strlen(p), PAGE_MAX, page) || *page == 0) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_PAGE));
        return false;
    }
    return true;
}

static void user_list(zt_console_ctx *cx)
{
    const char *q = zt_console_param(cx, "q");
    unsigned long long page;
    if (q != NULL && strlen(q) > ZT_STORE_EMAIL_MAX) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_SEARCH));
        return;
    }
    if (!page_param(cx, &page))
        return;
    zt_console_users vec = {0};
    int rc = zt_store_user_list(zt_console_store(cx), zt_console_users_add, &vec);
    if (rc != 0) {
        zt_console_users_free(&vec);
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_begin(cx, CON_USERS);
    search_form(cx, q);
    static const zt_msg cols[] = {CON_EMAIL, CON_NAME, CON_STATUS, CON_GROUPS, CON_LAST_SIGNIN};
    table_head(cx, cols, sizeof(cols) / sizeof(cols[0]));
    size_t skip = (size_t)(page - 1) * PAGE_SIZE, shown = 0;
    bool more = false;
    for (size_t i = 0; i < vec.n && rc >= 0; i++) {
        if (!matches(&vec.v[i], q))
            continue;
        rc = zt_console_user_in_scope(cx, vec.v[i].id);
        if (rc != 1)
            continue; /* out of scope, or the store failed: shown as not there */
        if (skip > 0) {
            skip--;
        } else if (shown == PAGE_SIZE) {
            more = true;
            break;
        } else {
            user_row(cx, &vec.v[i]);
            shown++;
        }
    }
    zt_console_printf(cx, "</tbody></table></div>");
    if (shown == 0) {
        zt_console_printf(cx, "<p>");
        zt_console_msg(cx, CON_NOTHING);
        zt_console_printf(cx, "</p>");
    }
    pager(cx, q, page, more);
    zt_console_users_free(&vec);
    if (zt_console_may(cx, ZT_PERM_USERS_WRITE))
        create_form(cx);
    zt_console_end(cx);
}

/* ---- create ---- */

static bool email_ok(const char *s)
{
    size_t n = s ? strlen(s) : 0;
    const char *at = s ? strchr(s, '@') : NULL;
    if (n < 3 || n > ZT_STORE_EMAIL_MAX || at == NULL || at == s || at[1] == '\0' ||
        strchr(at + 1, '@') != NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] <= ' ' || s[i] == 0x7f || s[i] == '<' || s[i] == '>')
            return false;
    return true;
}

/* A scoped admin's new user goes into one of the admin's groups, or it would be out of reach. */
static bool group_allowed(zt_console_ctx *cx, const char *group)
{
    const zt_admin_grant *g = zt_console_grant(cx);
    if (group == NULL || group[0] == '\0')
        return g->everywhere;
    return zt_admins_group_in_scope(g, group) == 1;
}

static void user_create(zt_console_ctx *cx)
{
    const char *email = zt_console_param(cx, "email");
    const char *name = zt_console_param(cx, "name");
    const char *group = zt_console_param(cx, "group");
    if (!email_ok(email)) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_EMAIL));
        return;
    }
    if (name != NULL && strlen(name) > ZT_STORE_NAME_MAX) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_NAME));
        return;
    }
    if (!group_allowed(cx, group)) {
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_ERR_SCOPE_CREATE));
        return;
    }
    const char *groups[1] = {group};
    zt_account_new n = {.email = email,
                        .name = name ? name : "",
                        .groups = groups,
                        .n_groups = group && group[0] ? 1 : 0};
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_account_result res = {0};
    int rc = zt_account_create(&env, &who, &n, &res);
    if (rc == -EEXIST) {
        zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_EXISTS));
        return;
    }
    if (rc == -ENOENT) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_NO_GROUP));
        return;
    }
    if (rc == -EINVAL) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_EMAIL));
        return;
    }
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_account_after(cx, "user.create", &res);
    char path[64];
    snprintf(path, sizeof(path), "/users/%s", res.user_id);
    zt_console_redirect_done(cx, path, CON_DONE_CREATED);
}

/* ---- one user ---- */

typedef struct counts {
    unsigned passkeys, sessions;
    int64_t now;
} counts;

static int passkey_cb(void *ctx, const zt_store_webauthn_cred *w)
{
    (void)w;
    ((counts *)ctx)->passkeys++;
    return 0;
}

static int session_cb(void *ctx, const zt_store_session *s)
{
    counts *k = ctx;
    k->sessions += !s->user_disabled && s->user_epoch == s->user_epoch_now &&
                   s->idle_expires_at > k->now && s->absolute_expires_at > k->now;
    return 0;
}

static void fact(zt_console_ctx *cx, zt_msg label, const char *escaped)
{
    zt_console_printf(cx, "<dt>");
    zt_console_msg(cx, label);
    zt_console_printf(cx, "</dt><dd>%s</dd>", escaped);
}

static void user_facts(zt_console_ctx *cx, const zt_user *u)
{
    zt_store *st = zt_console_store(cx);
    counts k = {.now = cx->now};
    zt_store_totp totp;
    bool has_totp = zt_store_totp_get(st, u->id, &totp) == 0;
    if (has_totp)
        zt_store_totp_dispose(&totp);
    (void)zt_store_webauthn_list(st, u->id, passkey_cb, &k);
    (void)zt_store_session_list_by_user(st, u->id, session_cb, &k);
    zt_console_printf(cx, "<dl class=\"facts\">");
    fact(cx, CON_EMAIL, zt_console_esc(cx, u->email));
    fact(cx, CON_NAME, zt_console_esc(cx, u->name));
    zt_console_printf(cx, "<dt>");
    zt_console_msg(cx, CON_STATUS);
    zt_console_printf(cx, "</dt><dd>");
    status_badge(cx, u);
    zt_console_printf(cx, "</dd>");
    fact(cx, CON_GROUPS, groups_of(cx, u->id));
    zt_console_printf(cx, "<dt>");
    zt_console_msg(cx, CON_MFA);
    zt_console_printf(cx, "</dt><dd>");
    if (!has_totp && k.passkeys == 0)
        zt_console_msg(cx, CON_MFA_NONE);
    if (has_totp)
        zt_console_msg(cx, CON_MFA_TOTP);
    if (k.passkeys > 0)
        zt_console_printf(cx, "%spasskey × %u", has_totp ? ", " : "", k.passkeys);
    zt_console_printf(cx, "</dd>");
    char n[16];
    snprintf(n, sizeof(n), "%u", k.sessions);
    fact(cx, CON_SESSIONS, n);
    fact(cx, CON_LAST_SIGNIN, zt_console_time(cx, u->last_sign_in_at));
    zt_console_printf(cx, "</dl>");
}

static void action_button(zt_console_ctx *cx, const char *id, const char *action, zt_msg label,
                          bool danger)
{
    char path[64];
    snprintf(path, sizeof(path), "/users/%s", id);
    zt_console_form_open(cx, path);
    zt_console_printf(cx,
                      "<input type=\"hidden\" name=\"action\" value=\"%s\">"
                      "<button type=\"submit\"%s>",
                      action, danger ? " class=\"danger\"" : "");
    zt_console_msg(cx, label);
    zt_console_printf(cx, "</button></form> ");
}

static void user_actions(zt_console_ctx *cx, const zt_user *u)
{
    bool write = zt_console_may(cx, ZT_PERM_USERS_WRITE);
    bool cred = zt_console_may(cx, ZT_PERM_CREDENTIALS);
    bool revoke = zt_console_may(cx, ZT_PERM_SESSIONS_REVOKE);
    if (!write && !cred && !revoke)
        return; /* an auditor: nothing to offer */
    zt_console_printf(cx, "<h2>");
    zt_console_msg(cx, CON_ACTIONS);
    zt_console_printf(cx, "</h2><div class=\"row\">");
    if (write)
        action_button(cx, u->id, u->disabled ? "enable" : "disable",
                      u->disabled ? CON_ENABLE : CON_DISABLE, !u->disabled);
    if (cred) {
        action_button(cx, u->id, "reset_mfa", CON_RESET_MFA, true);
        action_button(cx, u->id, "tap", CON_ISSUE_TAP, false);
    }
    if (revoke)
        action_button(cx, u->id, "revoke_sessions", CON_REVOKE_SESSIONS, true);
    zt_console_printf(cx, "</div>");
}

static int device_row_cb(void *ctx, const zt_store_device *d)
{
    zt_console_ctx *cx = ctx;
    zt_console_printf(cx, "<tr><td><a href=\"/devices/%s\">%s</a></td><td>%s</td><td>",
                      zt_console_esc(cx, d->id), zt_console_esc(cx, d->name),
                      zt_console_esc(cx, d->platform));
    const char *cls = d->revoked_at ? "bad" : d->compliant ? "ok" : "warn";
    zt_msg m = d->revoked_at  ? CON_DEV_REVOKED
               : d->compliant ? CON_DEV_COMPLIANT
                              : CON_DEV_NONCOMPLIANT;
    zt_console_printf(cx, "<span class=\"badge %s\">", cls);
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</span></td></tr>");
    return 0;
}

static void user_devices(zt_console_ctx *cx, const zt_user *u)
{
    if (!zt_console_may(cx, ZT_PERM_DEVICES_READ))
        return;
    zt_console_printf(cx, "<h2>");
    zt_console_msg(cx, CON_DEVICES);
    zt_console_printf(cx, "</h2>");
    static const zt_msg cols[] = {CON_NAME, CON_PLATFORM, CON_COMPLIANCE};
    table_head(cx, cols, 3);
    (void)zt_store_device_list(zt_console_store(cx), u->id, device_row_cb, cx);
    zt_console_printf(cx, "</tbody></table></div>");
}

static int detection_cb(void *ctx, const zt_store_detection *d)
{
    zt_console_ctx *cx = ctx;
    static const char *const levels[] = {"—", "low", "medium", "high"};
    int lv = d->level >= 0 && d->level <= 3 ? d->level : 0;
    zt_console_printf(cx,
                      "<tr><td>%s</td><td>%s</td><td><span class=\"badge %s\">%s</span></td>"
                      "<td>%s</td></tr>",
                      zt_console_time(cx, d->created_at), zt_console_esc(cx, d->type),
                      lv >= 3   ? "bad"
                      : lv == 2 ? "warn"
                                : "",
                      levels[lv], zt_store_risk_state_name(d->state));
    return 0;
}

static void user_risk(zt_console_ctx *cx, const zt_user *u)
{
    if (!zt_console_may(cx, ZT_PERM_RISK_READ) && !zt_console_may(cx, ZT_PERM_USERS_READ))
        return;
    zt_console_printf(cx, "<h2>");
    zt_console_msg(cx, CON_RISK_HISTORY);
    zt_console_printf(cx, "</h2>");
    static const zt_msg cols[] = {CON_DETECTED, CON_TYPE, CON_LEVEL, CON_STATE};
    table_head(cx, cols, 4);
    zt_store_risk_filter f = {.user_id = u->id, .state = -1, .limit = 50};
    (void)zt_store_detection_list(zt_console_store(cx), &f, detection_cb, cx);
    zt_console_printf(cx, "</tbody></table></div>");
}

static void user_show(zt_console_ctx *cx, const zt_user *u)
{
    zt_console_begin(cx, CON_USERS);
    zt_console_printf(cx, "<h2>");
    zt_console_text(cx, u->email);
    zt_console_printf(cx, "</h2>");
    user_facts(cx, u);
    user_actions(cx, u);
    user_devices(cx, u);
    user_risk(cx, u);
    zt_console_end(cx);
}

/* The pass is shown in the answer to the POST itself (no-store), never in a URL or a log. */
static void show_pass(zt_console_ctx *cx, const zt_user *u, char *pass, int64_t expires)
{
    zt_console_begin(cx, CON_ISSUE_TAP);
    zt_console_printf(cx, "<p>");
    zt_console_text(cx, u->email);
    zt_console_printf(cx, "</p><p class=\"secret\" id=\"tap\">");
    zt_console_text(cx, pass);
    zt_wipe(pass, strlen(pass));
    zt_console_printf(cx, "</p><p>");
    zt_console_msg(cx, CON_TAP_ONCE);
    zt_console_printf(cx, "</p><p>");
    zt_console_msg(cx, CON_EXPIRES);
    zt_console_printf(cx, ": %s</p><p><a href=\"/users/%s\">%s</a></p>",
                      zt_console_time(cx, expires), u->id, zt_console_esc(cx, u->email));
    zt_console_end(cx);
}

typedef int (*account_fn)(const zt_account_env *, const zt_actor *, const char *,
                          zt_account_result *);

static const struct user_action {
    const char *name;
    zt_perms need;
    account_fn fn; /* NULL: the pass */
    zt_msg done;
} user_actions_table[] = {
    {"disable", ZT_PERM_USERS_WRITE, zt_account_disable, CON_DONE_DISABLED},
    {"enable", ZT_PERM_USERS_WRITE, zt_account_enable, CON_DONE_ENABLED},
    {"reset_mfa", ZT_PERM_CREDENTIALS, zt_account_reset_mfa, CON_DONE_MFA_RESET},
    {"revoke_sessions", ZT_PERM_SESSIONS_REVOKE, zt_account_revoke_sessions, CON_DONE_SESSIONS},
    {"tap", ZT_PERM_CREDENTIALS, NULL, MSG_NONE},
};

static void user_change(zt_console_ctx *cx, const zt_user *u, const char *action)
{
    const struct user_action *a = NULL;
    for (size_t i = 0; action && i < sizeof(user_actions_table) / sizeof(*a); i++)
        if (strcmp(user_actions_table[i].name, action) == 0)
            a = &user_actions_table[i];
    if (a == NULL) {
        zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
        return;
    }
    if (zt_console_may_on_user(cx, a->need, u->id) != 1) {
        cx->r->log_detail = "console: role does not allow this change";
        zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
        return;
    }
    zt_account_env env = zt_console_account_env(cx);
    zt_actor who = zt_console_actor(cx);
    zt_account_result res = {0};
    if (a->fn == NULL) {
        char pass[ZT_STORE_TAP_TEXT_LEN + 1];
        int64_t expires = 0;
        int rc = zt_account_tap_issue(&env, &who, u->id, 0, 1, pass, &expires, &res);
        if (rc == -EPERM) {
            zt_console_fail(cx, 409, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_TAP_DISABLED));
            return;
        }
        if (rc != 0) {
            zt_console_fail_rc(cx, rc);
            return;
        }
        zt_console_account_after(cx, "user.tap", &res);
        show_pass(cx, u, pass, expires);
        zt_wipe(pass, sizeof(pass));
        return;
    }
    int rc = a->fn(&env, &who, u->id, &res);
    if (rc != 0) {
        zt_console_fail_rc(cx, rc);
        return;
    }
    zt_console_account_after(cx, a->name, &res);
    char path[64];
    snprintf(path, sizeof(path), "/users/%s", u->id);
    zt_console_redirect_done(cx, path, a->done);
}

static void users(zt_console_ctx *cx)
{
    const char *sub = zt_console_subpath(cx);
    bool post = cx->r->method == HTTP_POST;
    if (sub[0] == '\0') {
        if (!post) {
            user_list(cx);
            return;
        }
        if (!zt_console_post_ok(cx))
            return;
        const char *action = zt_console_param(cx, "action");
        if (action == NULL || strcmp(action, "create") != 0) {
            zt_console_fail(cx, 400, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_ERR_ACTION));
            return;
        }
        if (!zt_console_may(cx, ZT_PERM_USERS_WRITE)) {
            zt_console_fail(cx, 403, CON_NO_ROLE_TITLE, zt_console_t(cx, CON_NO_ROLE_BODY));
            return;
        }
        user_create(cx);
        return;
    }
    if (post && !zt_console_post_ok(cx))
        return;
    zt_user u;
    if (zt_console_load_user(cx, sub, &u) != 0)
        return;
    if (post)
        user_change(cx, &u, zt_console_param(cx, "action"));
    else
        user_show(cx, &u);
    zt_user_dispose(&u);
}

const zt_console_page zt_console_page_users = {"/users", true, CON_USERS, ZT_PERM_USERS_READ,
                                               users};
