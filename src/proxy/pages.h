/* Pages ztgate answers with itself (errors now; sign-in, MFA and block pages later): complete
 * HTTP responses with HTML in the visitor's language and the security headers every ztgate
 * page carries. Nothing from the request is echoed unescaped. */
#ifndef ZT_PROXY_PAGES_H
#define ZT_PROXY_PAGES_H

#include <stdbool.h>

#include "core/i18n.h"
#include "lib/buf.h"

typedef struct zt_page {
    int status;
    zt_msg title;
    zt_msg body;
    const char *detail;     /* technical reason in plain words (English), may be NULL */
    const char *request_id; /* shown as the reference to quote */
    zt_lang lang;
    bool keep_alive;
    bool head_only; /* HEAD request: headers only */
    bool https;     /* add HSTS */
    /* Block and restriction pages: */
    const char *policy;      /* name of the deciding policy, or NULL */
    int remedy;              /* zt_msg: what the user can do; 0 = none */
    const char *remedy_href; /* a link to act on it (same-site path), or NULL */
    int remedy_label;        /* zt_msg of the link text */
} zt_page;

/* Status line, headers and body appended to out. */
int zt_page_render(zt_buf *out, const zt_page *page);
/* Only the HTML document of the page (no status line, no headers). */
int zt_page_render_body(zt_buf *body, const zt_page *page);
/* Security headers shared by every ztgate page (CSP, nosniff, frame-ancestors, ...). */
int zt_page_security_headers(zt_buf *out, bool https);
/* Same, with the CSP form-action sources given (e.g. "'self' https://app.example.com:*"). */
int zt_page_security_headers_form(zt_buf *out, bool https, const char *form_action);
/* HTML-escape s into out. */
int zt_html_escape(zt_buf *out, const char *s);

#endif
