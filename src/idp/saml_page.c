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

/* A refusal page of the proxy's kind (zt_page), with the remedy link when one is given. */
static void refusal(zt_local_req *r, zt_page pg, const char *back)
{
    pg.request_id = r->request_id;
    pg.lang = r->lang;
    pg.https = r->https;
    if (back != NULL && pg.remedy_href == NULL) {
        pg.remedy = SAML_BODY_RETURN_DENIED;
        pg.remedy_href = back;
        pg.remedy_label = SAML_LINK_BACK;
    }
    zt_buf_reset(&r->resp_body);
    r->status = pg.status;
    r->log_detail = pg.status == 403 ? "saml: refused by policy" : "saml: refused";
    if (zt_page_render_body(&r->resp_body, &pg) < 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    zt_local_respond(r);
}

void zt_saml_block_page(zt_local_req *r, const zt_saml_decision *d, const char *back)
{
    zt_page_device dev = zt_access_page_device(&d->facts);
    const char *policy = d->policy[0] ? d->policy : NULL;
    refusal(r, zt_page_block(policy, d->device_decided ? &dev : NULL), back);
}

void zt_saml_unmet_page(zt_local_req *r, const zt_saml_decision *d, const char *back)
{
    zt_page_device dev = zt_access_page_device(&d->facts);
    zt_page pg = zt_page_unmet(d->control, d->policy[0] ? d->policy : NULL, &dev);
    /* The passkey page comes back here once a passkey is used (as on the proxy path). */
    zt_buf href;
    zt_buf_init(&href, 0);
    if (d->control == ZT_CTL_PHISHING_RESISTANT_MFA && back != NULL &&
        zt_buf_append_str(&href, "/.ztgate/passkey?rd=") == 0 &&
        zt_url_encode(&href, back, strlen(back), false) == 0 && zt_buf_cstr(&href) == 0)
        pg.remedy_href = href.data;
    refusal(r, pg, NULL);
    zt_buf_dispose(&href);
}
