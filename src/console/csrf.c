/* The console's change checks: a POST, from this console's own origin, carrying this session's
 * CSRF token. The token is HMAC(key, session hash): it needs no storage, dies with the session
 * (a new sign-in is a new session) and cannot be computed by another site, which also cannot
 * read it from the page. Compared in constant time, never logged. */
#include <string.h>

#include <llhttp.h>
#include <sodium.h>

#include "console/console_int.h"
#include "lib/secure.h"
#include "lib/str.h"

void zt_console_csrf_token(const unsigned char key[32], const char *session_hash,
                           char out[ZT_CONSOLE_CSRF_LEN + 1])
{
    static const char label[] = "ztgate console csrf v1";
    crypto_auth_hmacsha256_state st;
    unsigned char mac[crypto_auth_hmacsha256_BYTES];
    crypto_auth_hmacsha256_init(&st, key, 32);
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)label, sizeof(label));
    crypto_auth_hmacsha256_update(&st, (const unsigned char *)session_hash, strlen(session_hash));
    crypto_auth_hmacsha256_final(&st, mac);
    sodium_bin2base64(out, ZT_CONSOLE_CSRF_LEN + 1, mac, sizeof(mac),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    zt_wipe(&st, sizeof(st));
    zt_wipe(mac, sizeof(mac));
}

/* "http[s]://HOST[:PORT]" of this request, compared with an Origin value (or the start of a
 * Referer, which must go on with '/' or end there). */
static bool same_origin(const zt_local_req *r, zt_span v, bool referer)
{
    const char *scheme = r->https ? "https://" : "http://";
    size_t sl = strlen(scheme), hl = strlen(r->host_port);
    if (hl == 0 || v.n < sl + hl || memcmp(v.p, scheme, sl) != 0)
        return false;
    for (size_t i = 0; i < hl; i++) /* a host is case-insensitive */
        if (zt_ascii_lower(v.p[sl + i]) != zt_ascii_lower(r->host_port[i]))
            return false;
    if (v.n == sl + hl)
        return true;
    return referer && v.p[sl + hl] == '/';
}

bool zt_console_origin_ok(const zt_local_req *r)
{
    const zt_span *origin = zt_local_header_get(r, "Origin");
    if (origin != NULL)
        return same_origin(r, zt_span_trim(*origin), false);
    const zt_span *referer = zt_local_header_get(r, "Referer");
    return referer != NULL && same_origin(r, zt_span_trim(*referer), true);
}

bool zt_console_post_ok(zt_console_ctx *cx)
{
    zt_local_req *r = cx->r;
    if (r->method != HTTP_POST) {
        zt_console_fail(cx, 405, CON_BAD_INPUT_TITLE, zt_console_t(cx, CON_BAD_METHOD));
        return false;
    }
    if (!zt_console_origin_ok(r)) {
        r->log_detail = "console: cross-origin POST refused";
        zt_console_fail(cx, 403, CON_CSRF_TITLE, zt_console_t(cx, CON_CSRF_ORIGIN));
        return false;
    }
    const char *tok = zt_console_param(cx, "csrf");
    bool ok = tok != NULL && strlen(tok) == ZT_CONSOLE_CSRF_LEN &&
              zt_ct_eq(tok, cx->csrf, ZT_CONSOLE_CSRF_LEN);
    if (!ok) {
        r->log_detail = "console: CSRF token missing or wrong";
        zt_console_fail(cx, 403, CON_CSRF_TITLE, zt_console_t(cx, CON_CSRF_TOKEN));
        return false;
    }
    return true;
}

void zt_console_form_open(zt_console_ctx *cx, const char *action)
{
    zt_console_printf(cx,
                      "<form method=\"post\" action=\"%s\"><input type=\"hidden\" name=\"csrf\" "
                      "value=\"%s\">",
                      zt_console_esc(cx, action), cx->csrf);
}
