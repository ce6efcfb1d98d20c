/* The SAML IdP's pages: refusals, the block page, and the page that carries a SAMLResponse
 * to the SP. That page is the one place ztgate posts a form to another site, so it sets its
 * own Content-Security-Policy: form-action allows exactly that SP's ACS URL, and script-src
 * 'self' lets the tiny /.ztgate/saml/post.js submit it (no inline script). Without script the
 * visible Continue button does the same. */
#include <string.h>

#include "core/log.h"
#include "http/handler.h"
#include "http/pages.h"
#include "idp/saml.h"
#include "portal/portal.h"

/* The script: submit the one form on load. Served with a long cache life (it never changes
 * for a build; the ETag is its length-independent name). */
static const char post_js[] = "document.addEventListener('DOMContentLoaded',function(){"
                              "var f=document.getElementById('saml-post');if(f)f.submit();});\n";

void zt_saml_post_js(zt_local_req *r)
{
    r->content_type = "text/javascript; charset=utf-8";
    r->no_security_headers = true;
    zt_buf_append_str(&r->resp_headers, "X-Content-Type-Options: nosniff\r\n"
                                        "Cache-Control: public, max-age=86400\r\n");
    zt_buf_append_str(&r->resp_body, post_js);
    zt_local_respond(r);
}

void zt_saml_refuse(zt_local_req *r, int status, int body_msg, const char *log_detail)
{
    zt_warn("saml: %s %s refused (%d): %s [%s]", r->method_name, r->path, status, log_detail,
            r->request_id);
    zt_portal_fail(r, status, SAML_TITLE_REFUSED, (zt_msg)body_msg, log_detail);
}

/* A CSP source for the ACS URL: the URL itself when it has nothing CSP would read as syntax,
 * else nothing at all ('none': the button then cannot post, and nothing leaks). */
static bool csp_safe(const char *url)
{
    for (const char *p = url; *p; p++)
        if (*p <= ' ' || *p == ';' || *p == ',' || *p == '\'' || *p == '"' || *p == 0x7f)
            return false;
    return strncmp(url, "https://", 8) == 0 || strncmp(url, "http://", 7) == 0;
}

static int own_headers(zt_local_req *r, const char *acs)
{
    r->no_security_headers = true; /* ours below: the portal's would forbid this form */
    int rc = zt_page_security_headers_csp(&r->resp_headers, r->https,
                                          csp_safe(acs) ? acs : "'none'", true);
    return rc ? rc
              : zt_buf_printf(&r->resp_headers,
                              "Pragma: no-cache\r\nContent-Language: %s\r\nVary: "
                              "Accept-Language, Cookie\r\n",
                              zt_lang_tag(r->lang));
}

void zt_saml_post_page(zt_local_req *r, const char *acs, const char *field, const char *b64,
                       const char *relay)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    int rc = own_headers(r, acs);
    rc = rc ? rc : zt_html_begin(b, r->lang, SAML_TITLE_CONTINUE);
    rc = rc ? rc : zt_html_p(b, r->lang, SAML_BODY_CONTINUE, NULL);
    rc = rc ? rc : zt_buf_append_str(b, "<form id=\"saml-post\" method=\"post\" action=\"");
    rc = rc ? rc : zt_html_escape(b, acs);
    rc = rc ? rc : zt_buf_append_str(b, "\">");
    rc = rc ? rc : zt_html_hidden(b, field, b64);
    if (rc == 0 && relay != NULL && relay[0] != '\0')
        rc = zt_html_hidden(b, "RelayState", relay);
    rc = rc ? rc : zt_buf_append_str(b, "<button type=\"submit\">");
    rc = rc ? rc : zt_html_msg(b, r->lang, SAML_BUTTON_CONTINUE);
    rc = rc ? rc
            : zt_buf_append_str(b, "</button></form><script src=\"" ZT_SAML_POST_JS "\"></script>");
    rc = rc ? rc : zt_html_end(b, r->lang, NULL);
    if (rc != 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    zt_local_respond(r);
}

void zt_saml_block_page(zt_local_req *r, const char *policy, const char *back)
{
    zt_buf *b = &r->resp_body;
    zt_buf_reset(b);
    r->status = 403;
    r->log_detail = "saml: blocked by policy";
    int rc = zt_html_begin(b, r->lang, MSG_BLOCKED_TITLE);
    rc = rc ? rc : zt_html_p(b, r->lang, MSG_BLOCKED_BODY, NULL);
    if (rc == 0 && policy != NULL && policy[0] != '\0') {
        rc = zt_buf_append_str(b, "<p><strong>");
        rc = rc ? rc : zt_html_msg(b, r->lang, MSG_REASON);
        rc = rc ? rc : zt_buf_append_str(b, "</strong>: ");
        rc = rc ? rc : zt_html_text(b, policy);
        rc = rc ? rc : zt_buf_append_str(b, "</p>");
    }
    rc = rc ? rc : zt_html_p(b, r->lang, SAML_BODY_RETURN_DENIED, NULL);
    rc = rc ? rc : zt_html_link(b, r->lang, back, SAML_LINK_BACK);
    rc = rc ? rc : zt_html_end(b, r->lang, r->request_id);
    if (rc != 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    zt_local_respond(r);
}
