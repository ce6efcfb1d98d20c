/* Pages ztgate answers with itself (errors, block, restriction and step-up refusals): complete
 * HTTP responses, HTML in the visitor's language for browsers and one JSON shape for API
 * clients, with the security headers every ztgate page carries. Every visible text comes from
 * the catalogue (core/i18n.h); nothing from the request is echoed unescaped. */
#ifndef ZT_HTTP_PAGES_H
#define ZT_HTTP_PAGES_H

#include <stdbool.h>

#include "core/i18n.h"
#include "lib/buf.h"
#include "lib/str.h"

typedef struct zt_page {
    int status;
    zt_msg title; /* fits the outcome: "Access blocked", "Change your password", ... */
    zt_msg body;
    zt_msg reason;     /* why, from the catalogue; MSG_NONE: no reason line */
    const zt_msg *why; /* more reasons after `reason` (device findings), n_why of them */
    unsigned n_why;
    const char *facts;      /* names the reasons refer to (a malware signature and file): data,
                             * the same in every language; shown after them, or NULL */
    const char *detail;     /* technical reason in plain English: logs, JSON "detail" only */
    const char *error;      /* stable JSON error code; NULL: derived from the status */
    const char *request_id; /* shown as the reference to quote (= the audit record's id) */
    zt_lang lang;
    bool keep_alive;
    bool head_only; /* HEAD request: headers only */
    bool https;     /* add HSTS */
    bool json;      /* answer with the JSON refusal instead of HTML (zt_page_wants_json) */
    /* Block and restriction pages: */
    const char *policy;      /* name of the deciding policy, or NULL */
    zt_msg remedy;           /* what the user can do; MSG_NONE = none */
    const char *remedy_href; /* a link to act on it (same-site path), or NULL */
    zt_msg remedy_label;     /* text of the link */
} zt_page;

/* Who gets JSON: everything that is not a browser navigation. A request is a navigation when
 * it says `Sec-Fetch-Mode: navigate` or its Accept names text/html; API clients
 * (`Accept: application/json`, `*\/\*`, no Accept) and scripts (fetch/XHR: Sec-Fetch-Mode cors or
 * same-origin) get JSON. accept / fetch_mode: the header values, NULL when absent. */
bool zt_page_wants_json(const zt_span *accept, const zt_span *fetch_mode);
/* Stricter, for the portal's own forms (pages for people): JSON only when Accept names
 * application/json and the request is no navigation. */
bool zt_page_asks_json(const zt_span *accept, const zt_span *fetch_mode);
/* The JSON refusal alone (see docs/PORTAL.md, "Refusals as JSON"). */
int zt_page_render_json(zt_buf *body, const zt_page *page);

/* What a refusal may say about the request's device (all may be NULL / 0). */
typedef struct zt_page_device {
    const char *failed; /* English findings (detail) */
    const zt_msg *why;  /* the same as catalogue texts */
    unsigned n_why;
    const char *facts; /* names in them (signature, file) */
} zt_page_device;

/* The page for each outcome, so every refusal of one kind looks and reads the same:
 * a policy block (dev: the device whose risk decided, or NULL), a control the user cannot
 * satisfy from the MFA prompt (control: a zt_control from policy/policy.h), a restriction.
 * Status, title, body, reason, remedy and JSON code are set; the caller adds the rest. */
zt_page zt_page_block(const char *policy, const zt_page_device *dev);
zt_page zt_page_unmet(int control, const char *policy, const zt_page_device *dev);
zt_page zt_page_read_only(const char *policy);
zt_page zt_page_no_download(const char *policy);

/* Status line, headers and body appended to out (JSON when page->json). */
int zt_page_render(zt_buf *out, const zt_page *page);
/* Only the HTML document of the page (no status line, no headers). */
int zt_page_render_body(zt_buf *body, const zt_page *page);
/* Security headers shared by every ztgate page (CSP, nosniff, frame-ancestors, ...). */
int zt_page_security_headers(zt_buf *out, bool https);
/* Same, with the CSP form-action sources given (e.g. "'self' https://app.example.com:*"). */
int zt_page_security_headers_form(zt_buf *out, bool https, const char *form_action);
/* Same, and with script: `script-src 'self'; connect-src 'self'` (the passkey pages only). */
int zt_page_security_headers_csp(zt_buf *out, bool https, const char *form_action, bool script);

#endif
