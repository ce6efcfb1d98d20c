/* HTML of the self-service security page (/.ztgate/security): the portal's layout, every label
 * from the catalogue, every stored value (passkey names, user agents, device names) escaped.
 * Each action is its own small POST form carrying the CSRF token, the action and the item's
 * reference; no script runs here except the passkey script another page part loads for the
 * "Add a passkey" button (data-passkey="register"). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "portal/portal.h"

/* "2026-12-06 10:00 UTC"; the catalogue's "Never" for 0. */
static int when(zt_buf *b, zt_lang lang, int64_t t, zt_msg none)
{
    if (t <= 0)
        return zt_html_msg(b, lang, none);
    time_t tt = (time_t)t;
    struct tm tm;
    char s[32];
    if (gmtime_r(&tt, &tm) == NULL || strftime(s, sizeof(s), "%Y-%m-%d %H:%M UTC", &tm) == 0)
        return zt_html_msg(b, lang, SM_UNKNOWN);
    return zt_buf_append_str(b, s);
}

static int td_text(zt_buf *b, const char *s)
{
    int rc = zt_buf_append_str(b, "<td>");
    rc = rc ? rc : zt_html_text(b, s);
    return rc ? rc : zt_buf_append_str(b, "</td>");
}

static int td_msg(zt_buf *b, zt_lang lang, zt_msg m)
{
    int rc = zt_buf_append_str(b, "<td>");
    rc = rc ? rc : zt_html_msg(b, lang, m);
    return rc ? rc : zt_buf_append_str(b, "</td>");
}

static int td_when(zt_buf *b, zt_lang lang, int64_t t, zt_msg none)
{
    int rc = zt_buf_append_str(b, "<td>");
    rc = rc ? rc : when(b, lang, t, none);
    return rc ? rc : zt_buf_append_str(b, "</td>");
}

static int heading(zt_buf *b, zt_lang lang, const char *tag, const char *id, zt_msg m)
{
    int rc = zt_buf_printf(b, "<%s id=\"%s\">", tag, id);
    rc = rc ? rc : zt_html_msg(b, lang, m);
    return rc ? rc : zt_buf_printf(b, "</%s>", tag);
}

static int table_head(zt_buf *b, zt_lang lang, const char *id, const zt_msg *cols, size_t n)
{
    int rc = zt_buf_printf(b, "<table id=\"%s\"><thead><tr>", id);
    for (size_t i = 0; rc == 0 && i < n; i++) {
        rc = zt_buf_append_str(b, "<th>");
        rc = rc ? rc : (cols[i] != MSG_NONE ? zt_html_msg(b, lang, cols[i]) : 0);
        rc = rc ? rc : zt_buf_append_str(b, "</th>");
    }
    return rc ? rc : zt_buf_append_str(b, "</tr></thead><tbody>");
}

/* <form class="inline" ...> with the token, the action and (nullable) the item reference. */
static int action_begin(zt_buf *b, const zt_security_view *v, const char *action, const char *id)
{
    int rc = zt_buf_append_str(
        b, "<form class=\"inline\" method=\"post\" action=\"" ZT_PORTAL_SECURITY "\">");
    rc = rc ? rc : zt_html_hidden(b, "csrf_token", v->csrf_token);
    rc = rc ? rc : zt_html_hidden(b, "action", action);
    if (rc == 0 && id != NULL)
        rc = zt_html_hidden(b, "id", id);
    return rc;
}

static int action_button(zt_buf *b, const zt_security_view *v, const char *action, const char *id,
                         zt_msg label, const char *cls)
{
    int rc = action_begin(b, v, action, id);
    rc = rc ? rc : zt_buf_printf(b, "<button type=\"submit\" class=\"%s\">", cls);
    rc = rc ? rc : zt_html_msg(b, v->lang, label);
    return rc ? rc : zt_buf_append_str(b, "</button></form>");
}

static int passkey_row(zt_buf *b, const zt_security_view *v, const zt_sec_passkey *p)
{
    int rc = zt_buf_append_str(b, "<tr class=\"passkey\">");
    rc = rc ? rc : td_text(b, p->name);
    rc = rc ? rc : td_msg(b, v->lang, p->type);
    rc = rc ? rc : td_when(b, v->lang, p->created_at, SM_UNKNOWN);
    rc = rc ? rc : td_when(b, v->lang, p->last_used_at, SM_NEVER);
    rc = rc ? rc : zt_buf_append_str(b, "<td>");
    rc = rc ? rc : action_begin(b, v, "passkey_rename", p->id);
    rc = rc ? rc
            : zt_buf_append_str(b, "<input name=\"name\" type=\"text\" maxlength=\"64\" "
                                   "required aria-label=\"");
    rc = rc ? rc : zt_html_msg(b, v->lang, SM_NEW_NAME);
    rc = rc ? rc : zt_buf_append_str(b, "\" value=\"");
    rc = rc ? rc : zt_html_text(b, p->name);
    rc = rc ? rc : zt_buf_append_str(b, "\"><button type=\"submit\" class=\"small\">");
    rc = rc ? rc : zt_html_msg(b, v->lang, SM_RENAME);
    rc = rc ? rc : zt_buf_append_str(b, "</button></form>");
    rc = rc ? rc : action_button(b, v, "passkey_remove", p->id, SM_REMOVE, "small danger");
    return rc ? rc : zt_buf_append_str(b, "</td></tr>");
}

static int passkeys(zt_buf *b, const zt_security_view *v)
{
    static const zt_msg cols[] = {SM_COL_NAME, SM_COL_TYPE, SM_COL_ADDED, SM_COL_LAST_USED,
                                  MSG_NONE};
    int rc = heading(b, v->lang, "h3", "passkeys", SM_PASSKEYS);
    if (rc == 0 && v->n_passkeys == 0)
        rc = zt_html_p(b, v->lang, SM_NO_PASSKEYS, NULL);
    if (rc == 0 && v->n_passkeys > 0) {
        rc = table_head(b, v->lang, "passkey-list", cols, 5);
        for (size_t i = 0; rc == 0 && i < v->n_passkeys; i++)
            rc = passkey_row(b, v, &v->passkeys[i]);
        rc = rc ? rc : zt_buf_append_str(b, "</tbody></table>");
    }
    /* The passkey block passkey.js drives (its name field, button and messages). */
    if (rc == 0 && v->passkeys_on)
        rc = zt_html_passkey(b, v->lang, ZT_PASSKEY_REGISTER, NULL, ZT_PORTAL_SECURITY);
    return rc;
}

static int totp_and_recovery(zt_buf *b, const zt_security_view *v)
{
    int rc = heading(b, v->lang, "h3", "totp", SM_TOTP);
    rc = rc ? rc : zt_html_p(b, v->lang, v->totp_enrolled ? SM_TOTP_ON : SM_TOTP_OFF, NULL);
    rc = rc ? rc
            : zt_html_link(b, v->lang, ZT_PORTAL_TOTP,
                           v->totp_enrolled ? PM_LINK_TOTP_AGAIN : PM_TITLE_ENROL);
    if (!v->totp_enrolled)
        return rc;
    rc = rc ? rc : action_button(b, v, "totp_remove", NULL, SM_TOTP_REMOVE, "danger");
    rc = rc ? rc : heading(b, v->lang, "h3", "recovery", SM_RECOVERY);
    rc = rc ? rc : zt_buf_append_str(b, "<p id=\"recovery-left\">");
    rc = rc ? rc : zt_html_msg(b, v->lang, SM_RECOVERY_LEFT);
    rc = rc ? rc : zt_buf_printf(b, "<strong>%zu</strong></p>", v->recovery_left);
    return rc ? rc : action_button(b, v, "recovery_regenerate", NULL, SM_RECOVERY_NEW, "");
}

static int place(zt_buf *b, zt_lang lang, const char *country)
{
    int rc = zt_buf_append_str(b, "<td>");
    rc = rc ? rc : (country[0] ? zt_html_text(b, country) : zt_html_msg(b, lang, SM_UNKNOWN));
    return rc ? rc : zt_buf_append_str(b, "</td>");
}

static int session_row(zt_buf *b, const zt_security_view *v, const zt_sec_session *s)
{
    int rc = zt_buf_printf(b, "<tr class=\"session%s\">", s->this_browser ? " this" : "");
    rc = rc ? rc : zt_buf_append_str(b, "<td>");
    rc =
        rc ? rc : (s->device[0] ? zt_html_text(b, s->device) : zt_html_msg(b, v->lang, SM_UNKNOWN));
    rc = rc ? rc : zt_buf_append_str(b, "</td>");
    rc = rc ? rc : place(b, v->lang, s->place);
    rc = rc ? rc : td_text(b, s->ip);
    rc = rc ? rc : td_when(b, v->lang, s->signed_in_at, SM_UNKNOWN);
    rc = rc ? rc : td_when(b, v->lang, s->last_seen_at, SM_UNKNOWN);
    rc = rc ? rc : zt_buf_append_str(b, "<td>");
    if (rc == 0 && s->this_browser) {
        rc = zt_buf_append_str(b, "<strong>");
        rc = rc ? rc : zt_html_msg(b, v->lang, SM_THIS_BROWSER);
        rc = rc ? rc : zt_buf_append_str(b, "</strong>");
    } else if (rc == 0) {
        rc = action_button(b, v, "session_sign_out", s->ref, PM_BUTTON_SIGN_OUT, "small");
    }
    return rc ? rc : zt_buf_append_str(b, "</td></tr>");
}

static int sessions(zt_buf *b, const zt_security_view *v)
{
    static const zt_msg cols[] = {SM_COL_DEVICE,    SM_COL_PLACE,     SM_COL_ADDRESS,
                                  SM_COL_SIGNED_IN, SM_COL_LAST_SEEN, MSG_NONE};
    int rc = heading(b, v->lang, "h2", "sessions", SM_SESSIONS);
    rc = rc ? rc : table_head(b, v->lang, "session-list", cols, 6);
    for (size_t i = 0; rc == 0 && i < v->n_sessions; i++)
        rc = session_row(b, v, &v->sessions[i]);
    rc = rc ? rc : zt_buf_append_str(b, "</tbody></table>");
    if (v->n_sessions > 1)
        rc =
            rc ? rc : action_button(b, v, "sessions_sign_out_others", NULL, SM_SIGN_OUT_OTHERS, "");
    return rc;
}

static int devices(zt_buf *b, const zt_security_view *v)
{
    static const zt_msg cols[] = {SM_COL_NAME, SM_COL_PLATFORM, SM_COL_HEALTH, SM_COL_POSTURE};
    int rc = heading(b, v->lang, "h2", "devices", SM_DEVICES);
    if (v->n_devices == 0)
        return rc ? rc : zt_html_p(b, v->lang, SM_NO_DEVICES, NULL);
    rc = rc ? rc : table_head(b, v->lang, "device-list", cols, 4);
    for (size_t i = 0; rc == 0 && i < v->n_devices; i++) {
        const zt_sec_device *d = &v->devices[i];
        rc = zt_buf_append_str(b, "<tr class=\"device\">");
        rc = rc ? rc : td_text(b, d->name);
        rc = rc ? rc : td_text(b, d->platform);
        rc = rc ? rc
                : td_msg(b, v->lang,
                         d->revoked           ? SM_REVOKED
                         : d->posture_at == 0 ? SM_NO_REPORT
                         : d->compliant       ? SM_COMPLIANT
                                              : SM_NONCOMPLIANT);
        rc = rc ? rc : td_when(b, v->lang, d->posture_at, SM_NO_REPORT);
        rc = rc ? rc : zt_buf_append_str(b, "</tr>");
    }
    return rc ? rc : zt_buf_append_str(b, "</tbody></table>");
}

static int activity_row(zt_buf *b, const zt_security_view *v, const zt_sec_signin *e)
{
    char ref[24];
    snprintf(ref, sizeof(ref), "%llu", (unsigned long long)e->seq);
    int rc = zt_buf_printf(b, "<tr class=\"signin %s\">", e->success ? "ok" : "failed");
    rc = rc ? rc : td_when(b, v->lang, e->at, SM_UNKNOWN);
    rc = rc ? rc : place(b, v->lang, e->place);
    rc = rc ? rc : td_text(b, e->ip);
    rc = rc ? rc : td_msg(b, v->lang, e->success ? SM_RESULT_OK : SM_RESULT_FAIL);
    rc = rc ? rc : zt_buf_append_str(b, "<td>");
    rc = rc ? rc : action_button(b, v, "report", ref, SM_NOT_ME, "small danger");
    return rc ? rc : zt_buf_append_str(b, "</td></tr>");
}

static int activity(zt_buf *b, const zt_security_view *v)
{
    static const zt_msg cols[] = {SM_COL_TIME, SM_COL_PLACE, SM_COL_ADDRESS, SM_COL_RESULT,
                                  MSG_NONE};
    int rc = heading(b, v->lang, "h2", "activity", SM_ACTIVITY);
    if (v->activity_off || v->n_activity == 0)
        return rc ? rc
                  : zt_html_p(b, v->lang, v->activity_off ? SM_ACTIVITY_OFF : SM_NO_ACTIVITY, NULL);
    rc = rc ? rc : table_head(b, v->lang, "activity-list", cols, 5);
    for (size_t i = 0; rc == 0 && i < v->n_activity; i++)
        rc = activity_row(b, v, &v->activity[i]);
    return rc ? rc : zt_buf_append_str(b, "</tbody></table>");
}

/* The page's own layout on top of the portal's: wider, with tables and inline forms. */
static const char security_css[] =
    "<style>main{max-width:56rem}table{width:100%;border-collapse:collapse;font-size:.9rem}"
    "th,td{text-align:left;padding:.4rem;border-bottom:1px solid #e2e5ea;vertical-align:top;"
    "word-break:break-word}form.inline{display:inline-block;margin:0 .3rem .3rem 0}"
    "form.inline input[type=text]{width:9rem;padding:.3rem;font-size:.9rem}"
    "button.small{width:auto;margin:0 0 0 .3rem;padding:.3rem .6rem;font-size:.85rem}"
    "form.inline button{width:auto}button.danger{background:#a12a2a}"
    "h2{font-size:1.15rem;margin-top:2rem}h3{font-size:1rem}</style>";

int zt_render_security(zt_buf *b, const zt_security_view *v)
{
    int rc = zt_html_begin(b, v->lang, SM_TITLE);
    rc = rc ? rc : zt_buf_append_str(b, security_css);
    if (rc == 0 && v->done != MSG_NONE)
        rc = zt_html_notice(b, v->lang, v->done, false);
    rc = rc ? rc : zt_html_p(b, v->lang, SM_INTRO, NULL);
    rc = rc ? rc : heading(b, v->lang, "h2", "methods", SM_METHODS);
    rc = rc ? rc : passkeys(b, v);
    rc = rc ? rc : totp_and_recovery(b, v);
    rc = rc ? rc : sessions(b, v);
    rc = rc ? rc : devices(b, v);
    rc = rc ? rc : activity(b, v);
    rc = rc ? rc : zt_html_link(b, v->lang, ZT_PORTAL_HOME, PM_TITLE_ACCOUNT);
    return rc ? rc : zt_html_end(b, v->lang, NULL);
}
