/* HTML for the portal's pages: one layout (readable on a phone, no JavaScript, inline CSS that
 * the gateway's CSP allows), every visible string from the catalogue (core/i18n.h), every
 * user-controlled value through zt_html_escape. */
#include <string.h>

#include "portal/portal.h"
#include "http/pages.h"

static const char portal_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',"
    "sans-serif;margin:0;background:#f4f5f7;color:#1d2330}"
    "main{max-width:26rem;margin:6vh auto;padding:2rem;background:#fff;border-radius:12px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin-top:0}h2{font-size:1.1rem;margin-top:1.8rem}p{line-height:1.6}"
    "label{display:block;margin:1rem 0 .3rem;font-weight:600}"
    "input[type=text],input[type=email],input[type=password]{width:100%;box-sizing:border-box;"
    "padding:.7rem;font-size:1rem;border:1px solid #b8bfcc;border-radius:6px}"
    "button{margin-top:1.4rem;width:100%;padding:.8rem;font-size:1rem;border:0;border-radius:6px;"
    "background:#2456c7;color:#fff;cursor:pointer}"
    ".notice{padding:.8rem;border-radius:6px;background:#e8f3ea;color:#1d5a2c}"
    ".error{background:#fbe9e9;color:#8a1c1c}"
    ".pk-msg{padding:.8rem;border-radius:6px;background:#eef1f6;margin-top:1rem}"
    ".pk-error{background:#fbe9e9;color:#8a1c1c}"
    ".mono{font-family:ui-monospace,Menlo,Consolas,monospace;word-break:break-all}"
    ".qr svg{width:100%;max-width:16rem;height:auto;display:block;margin:1rem auto}"
    "ul.codes{font-family:ui-monospace,Menlo,Consolas,monospace;font-size:1.1rem}"
    "pre{background:#f4f5f7;padding:.8rem;border-radius:6px;white-space:pre-wrap;"
    "word-break:break-all;font-size:.9rem}"
    ".ref{color:#5b6475;font-size:.85rem;word-break:break-all}"
    ".or{text-align:center;color:#5b6475;margin:1.4rem 0 0}"
    "a.button{display:block;text-align:center;padding:.6rem;border:1px solid #c5cbd6;"
    "border-radius:6px;text-decoration:none}"
    ".passkey button{background:#1d2330}"
    "footer{margin-top:2rem;color:#5c6675;font-size:.8rem}"
    "@media(max-width:30rem){main{margin:0;border-radius:0;min-height:100vh}}";

int zt_html_text(zt_buf *b, const char *s)
{
    return zt_html_escape(b, s != NULL ? s : "");
}

int zt_html_msg(zt_buf *b, zt_lang lang, zt_msg id)
{
    return zt_html_escape(b, zt_msg_text(lang, id));
}

int zt_html_p(zt_buf *b, zt_lang lang, zt_msg id, const char *cls)
{
    int rc = cls != NULL ? zt_buf_printf(b, "<p class=\"%s\">", cls) : zt_buf_append_str(b, "<p>");
    rc = rc ? rc : zt_html_msg(b, lang, id);
    return rc ? rc : zt_buf_append_str(b, "</p>");
}

int zt_html_begin(zt_buf *b, zt_lang lang, zt_msg title)
{
    int rc = zt_buf_printf(b,
                           "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                           "<meta name=\"robots\" content=\"noindex\"><title>",
                           zt_lang_tag(lang));
    rc = rc ? rc : zt_html_msg(b, lang, title);
    rc = rc ? rc : zt_buf_printf(b, "</title><style>%s</style></head><body><main><h1>", portal_css);
    rc = rc ? rc : zt_html_msg(b, lang, title);
    return rc ? rc : zt_buf_append_str(b, "</h1>");
}

int zt_html_end(zt_buf *b, zt_lang lang, const char *request_id)
{
    int rc = 0;
    if (request_id != NULL) {
        rc = zt_buf_append_str(b, "<p class=\"ref\">");
        rc = rc ? rc : zt_html_msg(b, lang, MSG_REFERENCE);
        rc = rc ? rc : zt_buf_append_str(b, ": ");
        rc = rc ? rc : zt_html_text(b, request_id);
        rc = rc ? rc : zt_buf_append_str(b, "</p>");
    }
    rc = rc ? rc : zt_buf_append_str(b, "<footer>");
    rc = rc ? rc : zt_html_msg(b, lang, MSG_FOOTER);
    return rc ? rc : zt_buf_append_str(b, "</footer></main></body></html>\n");
}

int zt_html_hidden(zt_buf *b, const char *name, const char *value)
{
    int rc = zt_buf_printf(b, "<input type=\"hidden\" name=\"%s\" value=\"", name);
    rc = rc ? rc : zt_html_text(b, value);
    return rc ? rc : zt_buf_append_str(b, "\">");
}

int zt_html_form_begin(zt_buf *b, const char *action, const char *csrf_token, const char *rd)
{
    int rc = zt_buf_append_str(b, "<form method=\"post\" action=\"");
    rc = rc ? rc : zt_html_text(b, action);
    rc = rc ? rc : zt_buf_append_str(b, "\">");
    rc = rc ? rc : zt_html_hidden(b, "csrf_token", csrf_token);
    if (rc == 0 && rd != NULL)
        rc = zt_html_hidden(b, "rd", rd);
    return rc;
}

int zt_html_form_end(zt_buf *b, zt_lang lang, zt_msg button)
{
    int rc = zt_buf_append_str(b, "<button type=\"submit\">");
    rc = rc ? rc : zt_html_msg(b, lang, button);
    return rc ? rc : zt_buf_append_str(b, "</button></form>");
}

int zt_html_input(zt_buf *b, zt_lang lang, zt_msg label, const char *name, const char *type,
                  const char *autocomplete, const char *extra)
{
    int rc = zt_buf_printf(b, "<label for=\"f-%s\">", name);
    rc = rc ? rc : zt_html_msg(b, lang, label);
    rc = rc ? rc
            : zt_buf_printf(b,
                            "</label><input id=\"f-%s\" name=\"%s\" type=\"%s\" "
                            "autocomplete=\"%s\" required%s%s>",
                            name, name, type, autocomplete, extra ? " " : "", extra ? extra : "");
    return rc;
}

int zt_html_link(zt_buf *b, zt_lang lang, const char *href, zt_msg text)
{
    int rc = zt_buf_append_str(b, "<p><a href=\"");
    rc = rc ? rc : zt_html_text(b, href);
    rc = rc ? rc : zt_buf_append_str(b, "\">");
    rc = rc ? rc : zt_html_msg(b, lang, text);
    return rc ? rc : zt_buf_append_str(b, "</a></p>");
}

int zt_html_notice(zt_buf *b, zt_lang lang, zt_msg id, bool error)
{
    int rc = zt_buf_printf(b, "<p class=\"notice%s\" role=\"%s\">", error ? " error" : "",
                           error ? "alert" : "status");
    rc = rc ? rc : zt_html_msg(b, lang, id);
    return rc ? rc : zt_buf_append_str(b, "</p>");
}

int zt_html_wait_notice(zt_buf *b, zt_lang lang, uint64_t wait_s)
{
    int rc = zt_buf_append_str(b, "<p class=\"notice error\" role=\"alert\">");
    rc = rc ? rc : zt_html_msg(b, lang, PM_WAIT_BEFORE);
    rc = rc ? rc : zt_buf_printf(b, "%llu", (unsigned long long)wait_s);
    rc = rc ? rc : zt_html_msg(b, lang, wait_s == 1 ? PM_WAIT_AFTER_ONE : PM_WAIT_AFTER);
    return rc ? rc : zt_buf_append_str(b, "</p>");
}

int zt_render_wait(zt_buf *b, zt_lang lang, uint64_t wait_s)
{
    int rc = zt_html_begin(b, lang, PM_TITLE_TOO_MANY);
    rc = rc ? rc : zt_html_wait_notice(b, lang, wait_s);
    return rc ? rc : zt_html_end(b, lang, NULL);
}

/* The e-mail field's attributes, with the value typed before (escaped) when there is one. */
static int username_attrs(zt_buf *out, const char *username)
{
    int rc =
        zt_buf_append_str(out, "autocapitalize=\"none\" spellcheck=\"false\" maxlength=\"254\"");
    if (rc == 0 && username != NULL && username[0] != '\0') {
        rc = zt_buf_append_str(out, " value=\"");
        rc = rc ? rc : zt_html_text(out, username);
        rc = rc ? rc : zt_buf_append_str(out, "\"");
    }
    return rc ? rc : zt_buf_cstr(out);
}

static bool any_home_realm(const zt_login_view *v)
{
    for (size_t i = 0; i < v->n_upstreams; i++)
        if (v->upstreams[i].n_domains > 0)
            return true;
    return false;
}

/* Required, unless an e-mail may go to its home realm's provider without one. */
static int password_input(zt_buf *b, const zt_login_view *v)
{
    if (!any_home_realm(v))
        return zt_html_input(b, v->lang, PM_LABEL_PASSWORD, "password", "password",
                             "current-password", NULL);
    int rc = zt_buf_append_str(b, "<label for=\"f-password\">");
    rc = rc ? rc : zt_html_msg(b, v->lang, PM_LABEL_PASSWORD);
    return rc ? rc
              : zt_buf_append_str(b, "</label><input id=\"f-password\" name=\"password\" "
                                     "type=\"password\" autocomplete=\"current-password\">");
}

/* "or sign in with" and one link-button per upstream provider (label escaped). */
static int upstream_buttons(zt_buf *b, const zt_login_view *v)
{
    if (v->n_upstreams == 0)
        return 0;
    int rc = zt_buf_append_str(b, "<p class=\"or\">");
    rc = rc ? rc : zt_html_msg(b, v->lang, FED_OR);
    rc = rc ? rc : zt_buf_append_str(b, "</p>");
    for (size_t i = 0; rc == 0 && i < v->n_upstreams; i++) {
        const zt_oidc_provider_cfg *p = &v->upstreams[i];
        zt_buf href;
        zt_buf_init(&href, 0);
        rc = zt_buf_printf(&href, "%s?provider=%s", ZT_PORTAL_UPSTREAM_START, p->name);
        if (rc == 0 && v->rd != NULL && v->rd[0] != '\0') {
            rc = zt_buf_append_str(&href, "&rd=");
            rc = rc ? rc : zt_url_encode(&href, v->rd, strlen(v->rd), false);
        }
        rc = rc ? rc : zt_buf_cstr(&href);
        rc = rc ? rc : zt_buf_append_str(b, "<p class=\"upstream\"><a class=\"button\" href=\"");
        rc = rc ? rc : zt_html_text(b, href.data);
        rc = rc ? rc : zt_buf_printf(b, "\" data-provider=\"%s\">", p->name);
        rc = rc ? rc
                : zt_html_text(b, v->lang == ZT_LANG_JA && p->label_ja ? p->label_ja : p->label);
        rc = rc ? rc : zt_buf_append_str(b, "</a></p>");
        zt_buf_dispose(&href);
    }
    return rc;
}

int zt_render_login(zt_buf *b, const zt_login_view *v)
{
    int rc = zt_html_begin(b, v->lang, PM_TITLE_SIGN_IN);
    if (rc == 0 && v->wait_s > 0)
        rc = zt_html_wait_notice(b, v->lang, v->wait_s);
    if (rc == 0 && v->error != MSG_NONE)
        rc = zt_html_notice(b, v->lang, v->error, true);
    rc = rc ? rc : zt_html_p(b, v->lang, PM_INTRO_SIGN_IN, NULL);
    rc = rc ? rc : zt_html_form_begin(b, ZT_PORTAL_LOGIN, v->csrf_token, v->rd);
    zt_buf attrs;
    zt_buf_init(&attrs, 0);
    rc = rc ? rc : username_attrs(&attrs, v->username);
    rc = rc ? rc
            : zt_html_input(b, v->lang, PM_LABEL_USERNAME, "username", "email", "username",
                            attrs.data);
    zt_buf_dispose(&attrs);
    rc = rc ? rc : password_input(b, v);
    rc = rc ? rc : zt_html_p(b, v->lang, PM_LOGIN_TAP_HINT, NULL); /* Temporary Access Pass */
    rc = rc ? rc : zt_html_form_end(b, v->lang, PM_BUTTON_SIGN_IN);
    if (rc == 0 && v->passkey) {
        rc = zt_html_passkey_or(b, v->lang);
        rc = rc ? rc : zt_html_passkey(b, v->lang, ZT_PASSKEY_LOGIN, v->rd, NULL);
    }
    rc = rc ? rc : upstream_buttons(b, v);
    return rc ? rc : zt_html_end(b, v->lang, v->request_id);
}

/* The passkeys the user has (by the names they gave) and the block to add one. */
static int account_passkeys(zt_buf *b, const zt_account_view *v)
{
    int rc = zt_buf_append_str(b, "<h2>");
    rc = rc ? rc : zt_html_msg(b, v->lang, PK_LIST);
    rc = rc ? rc : zt_buf_append_str(b, "</h2>");
    if (rc == 0 && v->n_passkeys == 0)
        rc = zt_html_p(b, v->lang, PK_NONE_YET, NULL);
    rc = rc || v->n_passkeys == 0 ? rc : zt_buf_append_str(b, "<ul class=\"passkeys\">");
    for (size_t i = 0; rc == 0 && i < v->n_passkeys; i++) {
        rc = zt_buf_append_str(b, "<li>");
        rc = rc ? rc : zt_html_text(b, v->passkeys[i]);
        rc = rc ? rc : zt_buf_append_str(b, "</li>");
    }
    rc = rc || v->n_passkeys == 0 ? rc : zt_buf_append_str(b, "</ul>");
    return rc ? rc : zt_html_passkey(b, v->lang, ZT_PASSKEY_REGISTER, NULL, ZT_PORTAL_HOME);
}

int zt_render_account(zt_buf *b, const zt_account_view *v)
{
    int rc = zt_html_begin(b, v->lang, PM_TITLE_ACCOUNT);
    rc = rc ? rc : zt_buf_append_str(b, "<p>");
    rc = rc ? rc : zt_html_msg(b, v->lang, PM_ACCOUNT_SIGNED_IN_AS);
    rc = rc ? rc : zt_buf_append_str(b, ": <strong class=\"mono\">");
    rc = rc ? rc : zt_html_text(b, v->email);
    rc = rc ? rc : zt_buf_append_str(b, "</strong>");
    if (rc == 0 && v->name != NULL && v->name[0] != '\0') {
        rc = zt_buf_append_str(b, " (");
        rc = rc ? rc : zt_html_text(b, v->name);
        rc = rc ? rc : zt_buf_append_str(b, ")");
    }
    rc = rc ? rc : zt_buf_append_str(b, "</p>");
    rc =
        rc ? rc
           : zt_html_p(b, v->lang, v->totp_enrolled ? PM_ACCOUNT_MFA_ON : PM_ACCOUNT_MFA_OFF, NULL);
    rc = rc ? rc : zt_html_link(b, v->lang, ZT_PORTAL_SECURITY, SM_LINK);
    rc = rc ? rc : zt_html_link(b, v->lang, ZT_PORTAL_PASSWORD, PM_TITLE_PASSWORD);
    rc = rc ? rc
            : zt_html_link(b, v->lang, ZT_PORTAL_TOTP,
                           v->totp_enrolled ? PM_LINK_TOTP_AGAIN : PM_TITLE_ENROL);
    rc = rc || !v->passkeys_on ? rc : account_passkeys(b, v);
    rc = rc ? rc : zt_html_link(b, v->lang, ZT_PORTAL_LOGOUT, PM_BUTTON_SIGN_OUT);
    return rc ? rc : zt_html_end(b, v->lang, NULL);
}
