/* The session check on the proxy path: who is asking, from the session cookie, through the
 * worker's session cache (no disk access on a hit). A signed-in request gets the identity
 * fields and a signed assertion for its app; anybody else gets sent to sign in. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "access/access.h"
#include "identity/jwt.h"
#include "lib/str.h"
#include "lib/time.h"
#include "http/pages.h"
#include "proxy/path.h"
#include "proxy/proxy_int.h"
#include "session/session.h"

static char *arena_span(zt_arena *a, const char *p, size_t n)
{
    return zt_arena_strndup(a, p, n);
}

/* Split "a,b,c" into an array in the arena for the JWT groups claim. */
static const char **split_groups(zt_arena *a, const zt_session_info *info)
{
    const char **out = zt_arena_alloc(a, (info->n_groups + 1) * sizeof(*out));
    if (out == NULL)
        return NULL;
    for (size_t i = 0; i < info->n_groups; i++) {
        out[i] = zt_arena_strdup(a, info->groups[i]);
        if (out[i] == NULL)
            return NULL;
    }
    out[info->n_groups] = NULL;
    return out;
}

/* The device trust a decision used, as apps see it in the `trust` claim and X-ZT-Trust
 * (docs/ASSERTION.md): the device this request proved, if it is the user's enrolled one. */
static const char *device_trust(const zt_policy_input *in)
{
    if (!in->device_known || !in->device_enrolled)
        return "unmanaged";
    if (in->device_risk >= ZT_RISK_MEDIUM)
        return "at_risk";
    return in->device_compliant ? "compliant" : "noncompliant";
}

/* One JWT per (session, app, trust, device), reused from the session cache until close to
 * expiry: signing costs ~20 µs, far more than the rest of the session check. The claims that
 * can change from one request to the next (a device's compliance or risk, which device this
 * connection proves) are in the key, so a reused token always says what this decision used. */
int zt_authn_sign_assertion(zt_conn *c, const zt_policy_input *in)
{
    zt_request *r = &c->req;
    const zt_session_info *info = r->session;
    const zt_config *cfg = r->rt->cfg;
    if (info == NULL)
        return -EINVAL;
    r->trust = device_trust(in);
    char key[ZT_SESSION_APP_MAX + 1];
    int kn = snprintf(key, sizeof(key), "%s\x1f%s\x1f%s", r->app->name, r->trust,
                      r->device_id ? r->device_id : "");
    bool cacheable = kn > 0 && (size_t)kn < sizeof(key);
    int64_t now = in->now;
    size_t len = 0;
    const char *cached =
        cacheable ? zt_session_assertion_get(c->w->sessions, info, key, now, &len) : NULL;
    if (cached != NULL) {
        r->assertion = arena_span(&r->arena, cached, len);
        return r->assertion ? 0 : -ENOMEM;
    }
    int64_t ttl = (int64_t)(cfg->auth.assertion_ttl_ms / 1000);
    char amr[ZT_AMR_TEXT_MAX + 1];
    zt_amr_text(info->amr, amr);
    zt_assertion claims = {
        .iss = cfg->auth.issuer,
        .aud = r->app->name,
        .sub = info->user_id,
        .email = info->email,
        .groups = r->groups,
        .ngroups = info->n_groups,
        .device = r->device_id,
        .trust = r->trust,
        .amr = amr,
        .iat = now,
        .exp = now + ttl,
    };
    zt_buf jwt;
    zt_buf_init(&jwt, ZT_JWT_MAX_TOKEN);
    int rc = zt_jwt_sign_assertion(c->w->server->svc->keys, &claims, &jwt);
    if (rc == 0) {
        r->assertion = arena_span(&r->arena, jwt.data, jwt.len);
        if (cacheable)
            zt_session_assertion_put(c->w->sessions, info, key, jwt.data, jwt.len,
                                     now + ttl - ZT_JWT_REFRESH_BEFORE_S);
        if (r->assertion == NULL)
            rc = -ENOMEM;
    }
    zt_buf_dispose(&jwt);
    if (rc < 0)
        zt_error("request %s: cannot sign the identity assertion; refusing", r->id);
    return rc;
}

/* The Cookie header that carries our session cookie. Clients may split cookies over several
 * Cookie headers (HTTP/2 does, some HTTP/1.1 clients too); the first carrying it wins. */
static const zt_header *session_cookie_header(const zt_conn *c, bool https)
{
    const char *name = zt_session_cookie_name(https);
    const zt_header *first = NULL;
    for (unsigned i = 0; i < c->head.n_headers; i++) {
        const zt_header *h = &c->head.headers[i];
        if (!zt_span_ieq_cstr(h->name, "Cookie"))
            continue;
        zt_span v;
        if (zt_cookie_find(&h->value, name, &v))
            return h;
        if (first == NULL)
            first = h;
    }
    return first;
}

zt_authn_result zt_authn_check(zt_conn *c)
{
    char host[256];
    size_t hn = c->head.host.n < sizeof(host) - 1 ? c->head.host.n : sizeof(host) - 1;
    memcpy(host, c->head.host.p, hn);
    host[hn] = '\0';
    return zt_authn_check_host(c, host);
}

/* The request's identity from a valid, fully authenticated session. */
static zt_authn_result authn_take_session(zt_conn *c, const zt_session_info *info)
{
    zt_request *r = &c->req;
    r->user_id = arena_span(&r->arena, info->user_id, strlen(info->user_id));
    r->email = arena_span(&r->arena, info->email, strlen(info->email));
    r->groups_csv = arena_span(&r->arena, info->groups_csv, strlen(info->groups_csv));
    r->groups = split_groups(&r->arena, info);
    r->n_groups = info->n_groups;
    r->auth_time = info->auth_time;
    r->mfa_time = info->mfa_time;
    r->amr = info->amr;
    r->has_passkey_aaguid = info->has_passkey_aaguid;
    memcpy(r->passkey_aaguid, info->passkey_aaguid, sizeof(r->passkey_aaguid));
    r->user_risk = info->user_risk;
    r->sign_in_risk = info->sign_in_risk;
    /* A stream opened by this request re-checks the session by these (stream.c). */
    r->sid_hash = arena_span(&r->arena, info->id_hash, strlen(info->id_hash));
    r->session_host = arena_span(&r->arena, info->host, strlen(info->host));
    r->session_expires_at = info->expires_at;
    if (r->user_id == NULL || r->email == NULL || r->groups_csv == NULL || r->groups == NULL ||
        r->sid_hash == NULL || r->session_host == NULL) {
        r->session_status = "out of memory";
        return ZT_AUTHN_ERROR;
    }
    /* The assertion is signed once the policy decision allows (zt_authn_sign_assertion): it
     * carries the device trust that decision used. */
    r->session = info;
    return ZT_AUTHN_OK;
}

/* `Proxy-Authorization: Bearer <token>` of a tunnel: the token is a session id minted for the
 * agent (host ZT_SESSION_HOST_AGENT, so no browser cookie is one) and bound to the device whose
 * certificate this TLS connection presented. */
zt_authn_result zt_authn_check_token(zt_conn *c)
{
    zt_request *r = &c->req;
    const zt_header *h = zt_http_head_find(&c->head, "Proxy-Authorization");
    zt_span v = h ? h->value : (zt_span){NULL, 0};
    char hash[ZT_SESSION_HASH_LEN + 1];
    if (v.n <= 7 || !zt_span_istarts(v, "Bearer ") ||
        zt_session_hash_cookie(v.p + 7, v.n - 7, hash) != 0) {
        r->session_status = "no agent token";
        return ZT_AUTHN_SIGN_IN;
    }
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    const zt_session_info *info = NULL;
    zt_session_status st =
        zt_session_lookup_hash(c->w->sessions, hash, ZT_SESSION_HOST_AGENT, now, true, &info);
    if (st == ZT_SESSION_ERROR) {
        r->session_status = "session store error";
        return ZT_AUTHN_ERROR;
    }
    if (st != ZT_SESSION_VALID || info->mfa_pending) {
        r->session_status = st == ZT_SESSION_WRONG_HOST ? "not an agent token"
                            : st == ZT_SESSION_VALID    ? "second factor pending"
                                                        : zt_session_status_name(st);
        return ZT_AUTHN_SIGN_IN;
    }
    if (c->device_id[0] == '\0' || strcmp(info->device_id, c->device_id) != 0) {
        r->session_status = "agent token of another device";
        return ZT_AUTHN_SIGN_IN;
    }
    return authn_take_session(c, info);
}

zt_authn_result zt_authn_check_host(zt_conn *c, const char *host)
{
    zt_request *r = &c->req;
    if (r->app->sensitivity == ZT_SENS_PUBLIC)
        return ZT_AUTHN_ANONYMOUS_OK;
    const zt_header *cookie = session_cookie_header(c, r->https);
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    const zt_session_info *info = NULL;
    zt_session_status st = zt_session_lookup(c->w->sessions, cookie ? &cookie->value : NULL,
                                             r->https, host, now, &info);
    if (st == ZT_SESSION_ERROR) {
        r->session_status = "session store error";
        return ZT_AUTHN_ERROR;
    }
    if (st == ZT_SESSION_VALID && info->mfa_pending) {
        /* Not signed in yet, but the password was right: the audit record names whose
         * account this is (an attacker stuck at MFA shows up under the user). */
        r->pending_user_id = arena_span(&r->arena, info->user_id, strlen(info->user_id));
        r->pending_email = arena_span(&r->arena, info->email, strlen(info->email));
    }
    if (st != ZT_SESSION_VALID || info->mfa_pending) {
        r->session_status =
            st == ZT_SESSION_VALID ? "second factor pending" : zt_session_status_name(st);
        return ZT_AUTHN_SIGN_IN;
    }
    return authn_take_session(c, info);
}

/* RFC 3986 unreserved characters pass; everything else is %XX. */
static int url_encode(zt_buf *out, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        unsigned char ch = (unsigned char)s[i];
        if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
            ch == '-' || ch == '.' || ch == '_' || ch == '~') {
            rc = zt_buf_append_char(out, (char)ch);
        } else {
            char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
            rc = zt_buf_append(out, e, 3);
        }
    }
    return rc;
}

/* Where to sign in: the host's /.ztgate/login, or the portal host's (same scheme and port),
 * with the page the user asked for (scheme://host_header + target) as `rd`. absolute: a full
 * URL even without a portal host (forward-auth answers go to another server first). */
static int portal_url_for(const zt_config *cfg, const char *page, const char *scheme,
                          zt_span host_header, unsigned port, zt_span target, bool absolute,
                          zt_buf *out);

/* page: "/.ztgate/login?rd=" or another portal page with a trailing rd parameter. */
static int portal_url_for(const zt_config *cfg, const char *page, const char *scheme,
                          zt_span host_header, unsigned port, zt_span target, bool absolute,
                          zt_buf *out)
{
    zt_buf rd;
    zt_buf_init(&rd, 16 * 1024);
    int rc = zt_buf_printf(&rd, "%s://", scheme);
    rc = rc ? rc : zt_buf_append(&rd, host_header.p, host_header.n);
    rc = rc ? rc : zt_buf_append(&rd, target.p, target.n);
    const char *portal = cfg->auth.portal_host;
    if (rc == 0 && portal != NULL) {
        rc = zt_buf_printf(out, "%s://%s", scheme, portal);
        if (rc == 0 && port != 0)
            rc = zt_buf_printf(out, ":%u", port);
    } else if (rc == 0 && absolute) {
        rc = zt_buf_printf(out, "%s://", scheme);
        rc = rc ? rc : zt_buf_append(out, host_header.p, host_header.n);
    }
    rc = rc ? rc : zt_buf_append_str(out, page);
    rc = rc ? rc : url_encode(out, rd.data ? rd.data : "", rd.len);
    zt_buf_dispose(&rd);
    return rc;
}

static int page_url(zt_conn *c, const char *page, zt_buf *out);

static int login_url(zt_conn *c, zt_buf *out)
{
    return page_url(c, "/.ztgate/login?rd=", out);
}

static int page_url(zt_conn *c, const char *page, zt_buf *out)
{
    zt_request *r = &c->req;
    const zt_header *host = zt_http_head_find(&c->head, "Host");
    zt_buf target;
    zt_buf_init(&target, 16 * 1024);
    int rc = zt_buf_append(&target, r->target.path, r->target.path_len);
    if (rc == 0 && r->target.has_query) {
        rc = zt_buf_append_char(&target, '?');
        rc = rc ? rc : zt_buf_append(&target, r->target.query.p, r->target.query.n);
    }
    zt_span hh = host ? host->value : (zt_span){"", 0};
    rc = rc ? rc
            : portal_url_for(r->rt->cfg, page, r->https ? "https" : "http", hh, c->head.host_port,
                             (zt_span){target.data ? target.data : "", target.len}, false, out);
    zt_buf_dispose(&target);
    return rc;
}

int zt_authn_page_url(zt_conn *c, const char *page, zt_buf *out)
{
    return page_url(c, page, out);
}

/* Browsers navigating to a page are redirected; scripts and API clients get a 401 they can
 * act on instead of an HTML sign-in form. */
bool zt_authn_wants_html(const zt_conn *c)
{
    const zt_header *mode = zt_http_head_find(&c->head, "Sec-Fetch-Mode");
    const zt_header *accept = zt_http_head_find(&c->head, "Accept");
    return zt_access_client_type(c->head.method, mode ? &mode->value : NULL,
                                 accept ? &accept->value : NULL) == ZT_CLIENT_BROWSER;
}

/* Browsers get a 302 to url (with a link for the rare client that does not follow it);
 * scripts and API clients a 401 whose JSON body is json_fields plus the url under url_key. */
static int write_challenge(zt_conn *c, zt_buf *out, bool keep_alive, const zt_buf *url,
                           zt_msg link_text, const char *json_fields, const char *url_key)
{
    const zt_header *al = zt_http_head_find(&c->head, "Accept-Language");
    zt_lang lang = al ? zt_lang_from_accept(al->value.p, al->value.n) : ZT_LANG_EN;
    zt_request *r = &c->req;
    zt_buf body;
    zt_buf_init(&body, 64 * 1024);
    bool html = zt_authn_wants_html(c);
    const char *u = url->data ? url->data : "";
    r->status = html ? 302 : 401;
    int rc;
    if (html) {
        rc = zt_buf_append_str(&body, "<!doctype html><title>ztgate</title><a href=\"");
        rc = rc ? rc : zt_html_escape(&body, u);
        rc = rc ? rc : zt_buf_append_str(&body, "\">");
        rc = rc ? rc : zt_html_escape(&body, zt_msg_text(lang, link_text));
        rc = rc ? rc : zt_buf_append_str(&body, "</a>\n");
    } else {
        rc = zt_buf_printf(&body, "{%s,\"%s\":", json_fields, url_key);
        rc = rc ? rc : zt_json_str(&body, u, url->len);
        rc = rc ? rc : zt_buf_printf(&body, ",\"request_id\":\"%s\"}\n", r->id);
    }
    rc = rc ? rc
            : zt_buf_printf(out, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n",
                            r->status, zt_http_status_text(r->status),
                            html ? "text/html; charset=utf-8" : "application/json", body.len);
    rc = rc ? rc : zt_page_security_headers(out, r->https);
    if (rc == 0 && html)
        rc = zt_buf_printf(out, "Location: %s\r\n", u);
    else if (rc == 0)
        rc = zt_buf_append_str(out, "WWW-Authenticate: ZTGate realm=\"ztgate\"\r\n");
    rc = rc ? rc : zt_buf_printf(out, "X-Request-Id: %s\r\n", r->id);
    rc = rc ? rc : zt_buf_append_str(out, keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
    if (rc == 0 && c->head.method != HTTP_HEAD)
        rc = zt_buf_append(out, body.data, body.len);
    zt_buf_dispose(&body);
    return rc;
}

int zt_authn_write_challenge(zt_conn *c, zt_buf *out, bool keep_alive)
{
    zt_buf url;
    zt_buf_init(&url, 32 * 1024);
    int rc = login_url(c, &url);
    rc = rc ? rc : zt_buf_cstr(&url);
    rc = rc ? rc
            : write_challenge(c, out, keep_alive, &url, PM_BUTTON_SIGN_IN,
                              "\"error\":\"unauthenticated\",\"message\":\"sign in first\"",
                              "login_url");
    zt_buf_dispose(&url);
    return rc;
}

/* ---- forward-auth: GET /.ztgate/verify ------------------------------------------------- */

/* "host:port" or "[v6]:port", maybe a list from several proxies (first wins), under the Host
 * header's rules → lowercase host without port into out; the port (0 when absent) into *port.
 * false when malformed. */
static bool forwarded_host(zt_span v, char *out, size_t cap, unsigned *port)
{
    const char *comma = memchr(v.p, ',', v.n);
    zt_span first = zt_span_trim((zt_span){v.p, comma != NULL ? (size_t)(comma - v.p) : v.n});
    size_t n = 0;
    return zt_http_parse_authority(first, out, cap, &n, port);
}

/* The validated host (and port) as the login URL's authority: never the header as sent, whose
 * "int.test,@evil.example" a browser would read as user "int.test," at evil.example. */
static zt_span validated_authority(zt_request *r, const char *host, unsigned port)
{
    char tmp[300];
    int n = port != 0 ? snprintf(tmp, sizeof(tmp), "%s:%u", host, port)
                      : snprintf(tmp, sizeof(tmp), "%s", host);
    char *copy =
        n > 0 && (size_t)n < sizeof(tmp) ? zt_arena_strndup(&r->arena, tmp, (size_t)n) : NULL;
    return copy != NULL ? (zt_span){copy, (size_t)n} : (zt_span){"", 0};
}

static int verify_write(zt_conn *c, zt_buf *out, int status, const char *decision,
                        const zt_buf *login, bool keep_alive)
{
    zt_request *r = &c->req;
    r->status = status;
    zt_buf body;
    zt_buf_init(&body, 64 * 1024);
    int rc = zt_buf_printf(&body, "{\"decision\":\"%s\"", decision);
    if (rc == 0 && r->detail != NULL) {
        rc = zt_buf_append_str(&body, ",\"reason\":");
        rc = rc ? rc : zt_json_str(&body, r->detail, strlen(r->detail));
    }
    if (rc == 0 && login != NULL && login->len > 0) {
        rc = zt_buf_append_str(&body, ",\"login_url\":");
        rc = rc ? rc : zt_json_str(&body, login->data, login->len);
    }
    rc = rc ? rc : zt_buf_printf(&body, ",\"request_id\":\"%s\"}\n", r->id);
    rc = rc ? rc
            : zt_buf_printf(out,
                            "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
                            "Content-Length: %zu\r\nCache-Control: no-store\r\n"
                            "X-Content-Type-Options: nosniff\r\nX-Request-Id: %s\r\n",
                            status, zt_http_status_text(status), body.len, r->id);
    /* Identity for the proxy to pass on (nginx auth_request_set, Traefik authResponseHeaders). */
    if (rc == 0 && status == 200 && r->user_id != NULL) {
        rc = zt_buf_printf(out, "X-ZT-User: %s\r\nX-ZT-Email: %s\r\nX-ZT-Groups: %s\r\n",
                           r->user_id, r->email, r->groups_csv);
        if (rc == 0 && r->assertion != NULL)
            rc = zt_buf_printf(out, "X-ZT-Assertion: %s\r\n", r->assertion);
        if (rc == 0 && r->trust != NULL)
            rc = zt_buf_printf(out, "X-ZT-Trust: %s\r\n", r->trust);
        if (rc == 0 && r->device_id != NULL)
            rc = zt_buf_printf(out, "X-ZT-Device: %s\r\n", r->device_id);
        /* The fronting proxy or the app enforces what ztgate cannot see in this mode. */
        if (rc == 0 && r->restrict_flags != 0)
            rc = zt_buf_printf(
                out, "X-ZT-Restrict: %s%s%s\r\n",
                (r->restrict_flags & ZT_RESTRICT_READ_ONLY) ? "read_only" : "",
                r->restrict_flags == (ZT_RESTRICT_READ_ONLY | ZT_RESTRICT_NO_DOWNLOAD) ? "," : "",
                (r->restrict_flags & ZT_RESTRICT_NO_DOWNLOAD) ? "no_download" : "");
    }
    if (rc == 0 && login != NULL && login->len > 0) {
        rc = zt_buf_append_str(out, "X-ZT-Login-URL: ");
        rc = rc ? rc : zt_buf_append(out, login->data, login->len);
        rc = rc ? rc : zt_buf_append_str(out, "\r\n");
    }
    rc = rc ? rc : zt_buf_append_str(out, keep_alive ? "\r\n" : "Connection: close\r\n\r\n");
    if (rc == 0 && c->head.method != HTTP_HEAD)
        rc = zt_buf_append(out, body.data, body.len);
    zt_buf_dispose(&body);
    return rc;
}

zt_verify_result zt_authn_verify(zt_conn *c)
{
    zt_request *r = &c->req;
    const zt_header *fh = zt_http_head_find(&c->head, "X-Forwarded-Host");
    const zt_header *fu = zt_http_head_find(&c->head, "X-Forwarded-Uri");
    const zt_header *fp = zt_http_head_find(&c->head, "X-Forwarded-Proto");
    zt_verify_result v = {.status = 400, .decision = "error"};
    char host[256];
    unsigned port = 0;
    if (fh == NULL || fu == NULL) {
        r->detail = "forward-auth needs X-Forwarded-Host and X-Forwarded-Uri";
        return v;
    }
    if (!forwarded_host(fh->value, host, sizeof(host), &port)) {
        r->detail = "malformed X-Forwarded-Host";
        return v;
    }
    if (fu->value.n == 0 || fu->value.p[0] != '/' || memchr(fu->value.p, '#', fu->value.n)) {
        r->detail = "X-Forwarded-Uri must be an origin-form path";
        return v;
    }
    /* The scheme comes from the proxy in front, which only a trusted proxy may tell; for
     * anyone else it is how they reached us (resolve_client set that). */
    if (fp != NULL && c->peer_trusted)
        r->https = zt_span_ieq_cstr(fp->value, "https");
    v.uri = fu->value;
    v.host_header = validated_authority(r, host, port);
    v.port = port;
    const char *q = memchr(fu->value.p, '?', fu->value.n);
    size_t path_n = q ? (size_t)(q - fu->value.p) : fu->value.n;
    char *path = zt_arena_alloc(&r->arena, path_n + 2);
    size_t norm_n = 0;
    unsigned flags = 0;
    const char *why = NULL;
    if (path == NULL || zt_path_normalize(fu->value.p, path_n, path, &norm_n, &flags, &why) < 0) {
        r->detail = why ? why : "invalid path in X-Forwarded-Uri";
        return v;
    }
    if (zt_route_resolve(r->rt->routes, (zt_span){host, strlen(host)}, path, norm_n, &r->app) ==
        ZT_ROUTE_AMBIGUOUS) {
        r->detail = "ambiguous path: an upstream could read it as another app's";
        return v;
    }
    if (r->app == NULL) {
        v.status = 403;
        v.decision = "block";
        r->detail = "no configured app matches this host and path";
        return v;
    }
    if ((flags & ZT_PATH_ENCODED_SLASH) && !r->app->allow_encoded_slash) {
        r->detail = "encoded slash or backslash in the path";
        return v;
    }
    switch (zt_authn_check_host(c, host)) {
    case ZT_AUTHN_ANONYMOUS_OK:
    case ZT_AUTHN_OK:
        v.status = 200;
        v.decision = "allow";
        r->detail = NULL;
        break;
    case ZT_AUTHN_SIGN_IN:
        v.status = 401;
        v.decision = "sign_in";
        r->detail = r->session_status;
        break;
    case ZT_AUTHN_ERROR:
        v.status = 503;
        v.decision = "error";
        r->detail = r->session_status;
        break;
    }
    return v;
}

int zt_authn_verify_write(zt_conn *c, const zt_verify_result *v, zt_buf *out, bool keep_alive)
{
    zt_request *r = &c->req;
    zt_buf login;
    zt_buf_init(&login, 32 * 1024);
    int rc = 0;
    if (v->status == 401)
        rc = portal_url_for(r->rt->cfg,
                            v->page ? v->page : "/.ztgate/login?rd=", r->https ? "https" : "http",
                            v->host_header, v->port, v->uri, true, &login);
    rc = rc ? rc : verify_write(c, out, v->status, v->decision, &login, keep_alive);
    zt_buf_dispose(&login);
    return rc;
}

/* ---- policy challenges ----------------------------------------------------------------- */

int zt_authn_write_step_up(zt_conn *c, zt_buf *out, bool keep_alive, bool reauth,
                           const char *control)
{
    zt_request *r = &c->req;
    zt_buf url, fields;
    zt_buf_init(&url, 32 * 1024);
    zt_buf_init(&fields, 4096);
    /* Re-authentication asks for the password again (prompt=login: an existing session does
     * not skip the form); a second factor goes to the MFA prompt, which sends users without
     * an authenticator to enrolment. Both come back to the page asked for. */
    int rc = page_url(c, reauth ? "/.ztgate/login?prompt=login&rd=" : "/.ztgate/mfa?rd=", &url);
    rc = rc ? rc : zt_buf_cstr(&url);
    rc = rc ? rc
            : zt_buf_printf(&fields, "\"error\":\"%s\",\"required\":\"%s\"",
                            reauth ? "reauthentication_required" : "step_up_required", control);
    if (rc == 0 && r->policy != NULL) {
        rc = zt_buf_append_str(&fields, ",\"policy\":");
        rc = rc ? rc : zt_json_str(&fields, r->policy, strlen(r->policy));
    }
    rc = rc ? rc : zt_buf_cstr(&fields);
    rc = rc ? rc : write_challenge(c, out, keep_alive, &url, PM_CONTINUE, fields.data, "url");
    zt_buf_dispose(&url);
    zt_buf_dispose(&fields);
    return rc;
}
