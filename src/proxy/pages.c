#include "proxy/pages.h"

#include <string.h>

#include "proxy/http.h"

static const char page_css[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI','Hiragino Sans','Noto Sans JP',sans-serif;"
    "margin:0;background:#f4f5f7;color:#1d2330}"
    "main{max-width:34rem;margin:8vh auto;padding:2rem;background:#fff;border-radius:12px;"
    "box-shadow:0 1px 4px rgba(0,0,0,.12)}"
    "h1{font-size:1.4rem;margin-top:0}p{line-height:1.6}"
    ".ref{color:#5b6475;font-size:.9rem;word-break:break-all}"
    "footer{margin-top:2rem;color:#8a93a3;font-size:.8rem}"
    "@media(max-width:40rem){main{margin:0;border-radius:0;min-height:100vh}}";

int zt_html_escape(zt_buf *out, const char *s)
{
    int rc = 0;
    for (; *s != '\0' && rc == 0; s++) {
        switch (*s) {
        case '<':
            rc = zt_buf_append_str(out, "&lt;");
            break;
        case '>':
            rc = zt_buf_append_str(out, "&gt;");
            break;
        case '&':
            rc = zt_buf_append_str(out, "&amp;");
            break;
        case '"':
            rc = zt_buf_append_str(out, "&quot;");
            break;
        case '\'':
            rc = zt_buf_append_str(out, "&#39;");
            break;
        default:
            rc = zt_buf_append_char(out, *s);
        }
    }
    return rc;
}

int zt_page_security_headers(zt_buf *out, bool https)
{
    return zt_page_security_headers_form(out, https, "'self'");
}

/* Referrer-Policy same-origin, not no-referrer: under no-referrer browsers post our own forms
 * with "Origin: null", which the portal's CSRF check cannot tell from a sandboxed page on
 * another site. Other origins still get no Referer. */
int zt_page_security_headers_form(zt_buf *out, bool https, const char *form_action)
{
    int rc = zt_buf_printf(out,
                           "Content-Security-Policy: default-src 'none'; style-src "
                           "'unsafe-inline'; img-src 'self' data:; form-action %s; "
                           "frame-ancestors 'none'; base-uri 'none'\r\n",
                           form_action);
    rc = rc ? rc
            : zt_buf_append_str(out, "X-Content-Type-Options: nosniff\r\n"
                                     "X-Frame-Options: DENY\r\n"
                                     "Referrer-Policy: same-origin\r\n"
                                     "Cache-Control: no-store\r\n");
    if (rc == 0 && https)
        rc = zt_buf_append_str(out, "Strict-Transport-Security: max-age=31536000\r\n");
    return rc;
}

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
    if (rc == 0 && pg->detail != NULL) {
        rc = zt_buf_append_str(body, "<p>");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_REASON));
        rc = rc ? rc : zt_buf_append_str(body, ": ");
        rc = rc ? rc : zt_html_escape(body, pg->detail);
        rc = rc ? rc : zt_buf_append_str(body, "</p>");
    }
    if (rc == 0 && pg->policy != NULL) {
        rc = zt_buf_append_str(body, "<p>");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_POLICY));
        rc = rc ? rc : zt_buf_append_str(body, ": ");
        rc = rc ? rc : zt_html_escape(body, pg->policy);
        rc = rc ? rc : zt_buf_append_str(body, "</p>");
    }
    if (rc == 0 && pg->remedy != 0) {
        rc = zt_buf_append_str(body, "<h2>");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_WHAT_TO_DO));
        rc = rc ? rc : zt_buf_append_str(body, "</h2><p>");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, (zt_msg)pg->remedy));
        rc = rc ? rc : zt_buf_append_str(body, "</p>");
        if (rc == 0 && pg->remedy_href != NULL) {
            rc = zt_buf_append_str(body, "<p><a href=\"");
            rc = rc ? rc : zt_html_escape(body, pg->remedy_href);
            rc = rc ? rc : zt_buf_append_str(body, "\">");
            rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, (zt_msg)pg->remedy_label));
            rc = rc ? rc : zt_buf_append_str(body, "</a></p>");
        }
    }
    if (rc == 0 && pg->request_id != NULL) {
        rc = zt_buf_append_str(body, "<p class=\"ref\">");
        rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_REFERENCE));
        rc = rc ? rc : zt_buf_append_str(body, ": ");
        rc = rc ? rc : zt_html_escape(body, pg->request_id);
        rc = rc ? rc : zt_buf_append_str(body, "</p>");
    }
    rc = rc ? rc : zt_buf_append_str(body, "<footer>");
    rc = rc ? rc : zt_html_escape(body, zt_msg_text(pg->lang, MSG_FOOTER));
    rc = rc ? rc : zt_buf_append_str(body, "</footer></main></body></html>\n");
    return rc;
}

int zt_page_render(zt_buf *out, const zt_page *pg)
{
    zt_buf body;
    zt_buf_init(&body, 64 * 1024);
    int rc = zt_page_render_body(&body, pg);
    rc = rc ? rc
            : zt_buf_printf(
                  out,
                  "HTTP/1.1 %d %s\r\nContent-Type: text/html; charset=utf-8\r\n"
                  "Content-Language: %s\r\nContent-Length: %zu\r\nVary: Accept-Language\r\n",
                  pg->status, zt_http_status_text(pg->status), zt_lang_tag(pg->lang), body.len);
    rc = rc ? rc : zt_page_security_headers(out, pg->https);
    if (rc == 0 && pg->request_id != NULL)
        rc = zt_buf_printf(out, "X-Request-Id: %s\r\n", pg->request_id);
    rc = rc ? rc : zt_buf_append_str(out, pg->keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
    if (rc == 0 && !pg->head_only)
        rc = zt_buf_append(out, body.data, body.len);
    zt_buf_dispose(&body);
    return rc;
}
