#include "http/pages.h"

#include <string.h>
#include <strings.h>

#include "policy/policy.h"
#include "http/status.h"

static const char page_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',sans-serif;"
    "margin:0;background:#f4f5f7;color:#1d2330}"
    "main{max-width:34rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:12px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin-top:0}p{line-height:1.6}"
    ".ref{color:#5b6475;font-size:.9rem;word-break:break-all}"
    "footer{margin-top:2rem;color:#5c6675;font-size:.8rem}"
    "@media(max-width:40rem){main{margin:0;border-radius:0;min-height:100vh}}";

int zt_page_security_headers(zt_buf *out, bool https)
{
    return zt_page_security_headers_form(out, https, "'self'");
}

/* Referrer-Policy same-origin, not no-referrer: under no-referrer browsers post our own forms
 * with "Origin: null", which the portal's CSRF check cannot tell from a sandboxed page on
 * another site. Other origins still get no Referer. */
int zt_page_security_headers_form(zt_buf *out, bool https, const char *form_action)
{
    return zt_page_security_headers_csp(out, https, form_action, false);
}

/* The pages that offer a passkey load /.ztgate/passkey.js and post JSON to
 * /.ztgate/webauthn/...: only they get script-src and connect-src, both 'self' (never inline
 * script, never another origin); every other page stays without script. */
int zt_page_security_headers_csp(zt_buf *out, bool https, const char *form_action, bool script)
{
    int rc = zt_buf_printf(out,
                           "Content-Security-Policy: default-src 'none'; %sstyle-src "
                           "'unsafe-inline'; img-src 'self' data:; form-action %s; "
                           "frame-ancestors 'none'; base-uri 'none'\r\n",
                           script ? "script-src 'self'; connect-src 'self'; " : "", form_action);
    rc = rc ? rc
            : zt_buf_append_str(out, "X-Content-Type-Options: nosniff\r\n"
                                     "X-Frame-Options: DENY\r\n"
                                     "Referrer-Policy: same-origin\r\n"
                                     "Cache-Control: no-store\r\n");
    if (rc == 0 && https)
        rc = zt_buf_append_str(out, "Strict-Transport-Security: max-age=31536000\r\n");
    return rc;
}

/* "<p><strong>LABEL</strong>: text</p>" with the label from the catalogue. */
static int labelled(zt_buf *b, zt_lang lang, zt_msg label, const char *text)
{
    int rc = zt_buf_append_str(b, "<p><strong>");
    rc = rc ? rc : zt_html_escape(b, zt_msg_text(lang, label));
    rc = rc ? rc : zt_buf_append_str(b, "</strong>: ");
    rc = rc ? rc : zt_html_escape(b, text);
    return rc ? rc : zt_buf_append_str(b, "</p>");
}

/* The reason and the further reasons, joined by spaces, in the page's language. */
static int reason_text(zt_buf *b, const zt_page *pg)
{
    int rc = zt_buf_append_str(b, zt_msg_text(pg->lang, pg->reason));
    for (unsigned i = 0; rc == 0 && pg->why != NULL && i < pg->n_why; i++) {
        rc = b->len > 0 ? zt_buf_append_char(b, ' ') : 0;
        rc = rc ? rc : zt_buf_append_str(b, zt_msg_text(pg->lang, pg->why[i]));
    }
    if (rc == 0 && pg->facts != NULL && pg->facts[0] != '\0') {
        rc = b->len > 0 ? zt_buf_append_str(b, " — ") : 0;
        rc = rc ? rc : zt_buf_append_str(b, pg->facts);
    }
    return rc;
}

static bool has_reason(const zt_page *pg)
{
    return pg->reason != MSG_NONE || (pg->why != NULL && pg->n_why > 0);
}

static int render_remedy(zt_buf *body, const zt_page *pg)
{
    int rc = zt_buf_append_str(body, "<h2>");
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_WHAT_TO_DO));
    rc = rc ? rc : zt_buf_append_str(body, "</h2><p>");
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, pg->remedy));
    rc = rc ? rc : zt_buf_append_str(body, "</p>");
    if (rc == 0 && pg->remedy_href != NULL) {
        rc = zt_buf_append_str(body, "<p><a href=\"");
        rc = rc ? rc : zt_html_escape(body, pg->remedy_href);
        rc = rc ? rc : zt_buf_append_str(body, "\">");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, pg->remedy_label));
        rc = rc ? rc : zt_buf_append_str(body, "</a></p>");
    }
    return rc;
}

/* The technical detail (English) is for logs and JSON only: a page shows catalogue text. */
int zt_page_render_body(zt_buf *body, const zt_page *pg)
{
    int rc = zt_buf_printf(body,
                           "<!doctype html><html lang=\"%s\"><head><meta charset=\"utf-8\">"
                           "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">"
                           "<title>",
                           zt_lang_tag(pg->lang));
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, pg->title));
    rc =
        rc ? rc : zt_buf_printf(body, "</title><style>%s</style></head><body><main><h1>", page_css);
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, pg->title));
    rc = rc ? rc : zt_buf_append_str(body, "</h1><p>");
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, pg->body));
    rc = rc ? rc : zt_buf_append_str(body, "</p>");
    if (rc == 0 && has_reason(pg)) {
        zt_buf why;
        zt_buf_init(&why, 8192);
        rc = reason_text(&why, pg);
        rc = rc ? rc : zt_buf_cstr(&why); /* NUL-terminated for the escaper */
        rc = rc ? rc : labelled(body, pg->lang, MSG_REASON, why.data);
        zt_buf_dispose(&why);
    }
    if (rc == 0 && pg->policy != NULL)
        rc = labelled(body, pg->lang, MSG_POLICY, pg->policy);
    if (rc == 0 && pg->remedy != MSG_NONE)
        rc = render_remedy(body, pg);
    if (rc == 0 && pg->request_id != NULL) {
        rc = zt_buf_append_str(body, "<p class=\"ref\">");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_REFERENCE));
        rc = rc ? rc : zt_buf_append_str(body, ": <span id=\"ztgate-ref\">");
        rc = rc ? rc : zt_html_escape(body, pg->request_id);
        rc = rc ? rc : zt_buf_append_str(body, "</span></p>");
    }
    rc = rc ? rc : zt_buf_append_str(body, "<footer>");
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_FOOTER));
    rc = rc ? rc : zt_buf_append_str(body, "</footer></main></body></html>\n");
    return rc;
}

static bool span_has(const zt_span *s, const char *needle)
{
    size_t n = strlen(needle);
    for (size_t i = 0; s != NULL && i + n <= s->n; i++)
        if (strncasecmp(s->p + i, needle, n) == 0)
            return true;
    return false;
}

bool zt_page_wants_json(const zt_span *accept, const zt_span *fetch_mode)
{
    if (fetch_mode != NULL && zt_span_ieq_cstr(zt_span_trim(*fetch_mode), "navigate"))
        return false;
    return !span_has(accept, "text/html");
}

bool zt_page_asks_json(const zt_span *accept, const zt_span *fetch_mode)
{
    return span_has(accept, "application/json") && zt_page_wants_json(accept, fetch_mode);
}

static const char *error_code(int status)
{
    switch (status) {
    case 400:
        return "bad_request";
    case 403:
        return "forbidden";
    case 404:
        return "not_found";
    case 405:
        return "method_not_allowed";
    case 408:
        return "request_timeout";
    case 413:
        return "payload_too_large";
    case 414:
        return "uri_too_long";
    case 431:
        return "headers_too_large";
    case 502:
        return "bad_gateway";
    case 504:
        return "gateway_timeout";
    default:
        return status >= 500 ? "unavailable" : "refused";
    }
}

/* ,"key":"value" when value is set. */
static int json_member(zt_buf *b, const char *key, const char *value)
{
    if (value == NULL)
        return 0;
    int rc = zt_buf_printf(b, ",\"%s\":", key);
    return rc ? rc : zt_json_str(b, value, strlen(value));
}

static int json_reason(zt_buf *b, const zt_page *pg)
{
    if (!has_reason(pg))
        return 0;
    zt_buf why;
    zt_buf_init(&why, 8192);
    int rc = reason_text(&why, pg);
    rc = rc ? rc : zt_buf_append_str(b, ",\"reason\":");
    rc = rc ? rc : zt_json_str(b, why.data ? why.data : "", why.len);
    zt_buf_dispose(&why);
    return rc;
}

int zt_page_render_json(zt_buf *b, const zt_page *pg)
{
    const char *code = pg->error != NULL ? pg->error : error_code(pg->status);
    int rc = zt_buf_printf(b, "{\"error\":\"%s\",\"status\":%d", code, pg->status);
    rc = rc ? rc : json_member(b, "title", zt_msg_text(pg->lang, pg->title));
    rc = rc ? rc : json_member(b, "message", zt_msg_text(pg->lang, pg->body));
    rc = rc ? rc : json_reason(b, pg);
    rc = rc ? rc : json_member(b, "policy", pg->policy);
    if (rc == 0 && pg->remedy != MSG_NONE)
        rc = json_member(b, "action", zt_msg_text(pg->lang, pg->remedy));
    rc = rc ? rc : json_member(b, "action_url", pg->remedy != MSG_NONE ? pg->remedy_href : NULL);
    rc = rc ? rc : json_member(b, "detail", pg->detail);
    rc = rc ? rc : json_member(b, "request_id", pg->request_id);
    rc = rc ? rc : json_member(b, "lang", zt_lang_tag(pg->lang));
    return rc ? rc : zt_buf_append_str(b, "}\n");
}

int zt_page_render(zt_buf *out, const zt_page *pg)
{
    zt_buf body;
    zt_buf_init(&body, 64 * 1024);
    int rc = pg->json ? zt_page_render_json(&body, pg) : zt_page_render_body(&body, pg);
    rc = rc ? rc
            : zt_buf_printf(out,
                            "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n"
                            "Content-Language: %s\r\nContent-Length: %zu\r\n"
                            "Vary: Accept, Accept-Language, Sec-Fetch-Mode\r\n",
                            pg->status, zt_http_status_text(pg->status),
                            pg->json ? "application/json" : "text/html; charset=utf-8",
                            zt_lang_tag(pg->lang), body.len);
    rc = rc ? rc : zt_page_security_headers(out, pg->https);
    if (rc == 0 && pg->request_id != NULL)
        rc = zt_buf_printf(out, "X-Request-Id: %s\r\n", pg->request_id);
    rc = rc ? rc : zt_buf_append_str(out, pg->keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
    if (rc == 0 && !pg->head_only)
        rc = zt_buf_append(out, body.data, body.len);
    zt_buf_dispose(&body);
    return rc;
}

/* ---- one page per outcome ------------------------------------------------------------------ */

zt_page zt_page_block(const char *policy, const zt_page_device *dev)
{
    return (zt_page){.status = 403,
                     .title = MSG_BLOCKED_TITLE,
                     .body = MSG_BLOCKED_BODY,
                     .error = "blocked",
                     .policy = policy,
                     .reason = dev != NULL ? MSG_WHY_DEVICE_RISK : MSG_WHY_POLICY_BLOCK,
                     .why = dev != NULL ? dev->why : NULL,
                     .n_why = dev != NULL ? dev->n_why : 0,
                     .facts = dev != NULL ? dev->facts : NULL,
                     .detail = dev != NULL ? dev->failed : "a policy blocks this access",
                     .remedy = MSG_DO_CONTACT_ADMIN};
}

static zt_page unmet_device(zt_page pg, const zt_page_device *dev)
{
    bool findings = dev != NULL && dev->n_why > 0;
    pg.title = MSG_DEVICE_TITLE;
    pg.body = MSG_DEVICE_BODY;
    pg.error = "compliant_device_required";
    pg.detail = dev != NULL && dev->failed != NULL ? dev->failed
                                                   : "this app needs a compliant, enrolled device";
    pg.reason = findings ? MSG_NONE : MSG_WHY_NO_DEVICE;
    pg.why = findings ? dev->why : NULL;
    pg.n_why = findings ? dev->n_why : 0;
    pg.facts = findings ? dev->facts : NULL;
    pg.remedy = MSG_DO_COMPLIANT_DEVICE;
    if (!findings) {
        /* No device known for this browser: the way on is the enrolment page, which also ties
         * the browser to the device once the agent has enrolled. */
        pg.remedy_href = "/.ztgate/device/enroll";
        pg.remedy_label = MSG_ENROL_DEVICE_LINK;
    }
    return pg;
}

zt_page zt_page_unmet(int control, const char *policy, const zt_page_device *dev)
{
    zt_page pg = {.status = 403,
                  .policy = policy,
                  .title = MSG_REQUIREMENT_TITLE,
                  .body = MSG_REQUIREMENT_BODY,
                  .error = "requirement_not_met",
                  .detail = "an access requirement is not met",
                  .remedy = MSG_DO_CONTACT_ADMIN};
    switch (control) {
    case ZT_CTL_COMPLIANT_DEVICE:
        return unmet_device(pg, dev);
    case ZT_CTL_PASSWORD_CHANGE:
        pg.title = MSG_PASSWORD_CHANGE_TITLE;
        pg.body = MSG_PASSWORD_CHANGE_BODY;
        pg.error = "password_change_required";
        pg.detail = "a password change is required";
        pg.remedy = MSG_DO_CHANGE_PASSWORD;
        pg.remedy_href = "/.ztgate/password";
        pg.remedy_label = MSG_CHANGE_PASSWORD_LINK;
        return pg;
    case ZT_CTL_PHISHING_RESISTANT_MFA:
        pg.title = MSG_PASSKEY_TITLE;
        pg.body = MSG_PASSKEY_BODY;
        pg.error = "phishing_resistant_mfa_required";
        pg.detail = "this app needs phishing-resistant sign-in (passkey or security key)";
        pg.remedy = MSG_DO_PASSKEY;
        /* The passkey page offers the prompt, or registration to a user who has none; the
         * proxy adds ?rd= (the page asked for) when it knows it. */
        pg.remedy_href = "/.ztgate/passkey";
        pg.remedy_label = PK_LINK_PASSKEY;
        return pg;
    default:
        return pg;
    }
}

zt_page zt_page_read_only(const char *policy)
{
    return (zt_page){.status = 403,
                     .title = MSG_READ_ONLY_TITLE,
                     .body = MSG_READ_ONLY_BODY,
                     .error = "read_only",
                     .policy = policy,
                     .detail = "read-only session"};
}

zt_page zt_page_no_download(const char *policy)
{
    return (zt_page){.status = 403,
                     .title = MSG_NO_DOWNLOAD_TITLE,
                     .body = MSG_NO_DOWNLOAD_BODY,
                     .error = "no_download",
                     .policy = policy,
                     .detail = "no_download session: file download refused"};
}
