/* The rd (return-to) parameter: where a browser goes after sign-in. An open redirect here turns
 * the portal into a phishing tool, so only two shapes are accepted and everything else falls
 * back to the account page:
 *   - a path on this host: "/" then anything but a second "/" or "\" (scheme-relative URLs);
 *   - http(s)://HOST[:PORT][/...] where HOST is a configured app host or the portal host, with
 *     no userinfo, no escapes or non-ASCII in the authority, and the scheme and port (explicit
 *     or the scheme's default) one the gateway serves: a one-time sign-in code goes to this
 *     origin, so any other port of an app host (anyone's listener) or plain http from an HTTPS
 *     page would hand it to whoever listens there.
 * Anything with a backslash, a control or non-ASCII byte (raw or percent-encoded once) is
 * refused outright: browsers repair such URLs in ways that differ from our reading of them. */
#include <string.h>

#include "lib/str.h"
#include "portal/portal.h"

/* Raw bytes: printable ASCII only, no backslash. */
static bool raw_ok(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c >= 0x7f || c == '\\')
            return false;
    }
    return true;
}

/* Decode once into out (n+1 bytes); false on a malformed escape or a decoded control byte or
 * backslash. */
static bool decoded_ok(const char *s, size_t n, char *out)
{
    size_t o = 0;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '%') {
            if (i + 2 >= n)
                return false;
            int hi = zt_hexval(s[i + 1]), lo = zt_hexval(s[i + 2]);
            if (hi < 0 || lo < 0)
                return false;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        unsigned char u = (unsigned char)c;
        if (u < 0x20 || u == 0x7f || c == '\\')
            return false;
        out[o++] = c;
    }
    out[o] = '\0';
    return true;
}

static bool host_allowed(const char *host, const zt_rd_policy *pol)
{
    for (size_t i = 0; i < pol->n_hosts; i++)
        if (pol->hosts[i] != NULL && strcmp(pol->hosts[i], host) == 0)
            return true;
    return pol->portal_host != NULL && strcmp(pol->portal_host, host) == 0;
}

/* The scheme and port are one the gateway serves, and no downgrade from an HTTPS request. */
static bool origin_served(const zt_rd *t, const zt_rd_policy *pol)
{
    if (pol->https_only && !t->https)
        return false;
    for (size_t i = 0; i < pol->n_ports; i++)
        if (pol->ports[i].https == t->https && pol->ports[i].port == t->port)
            return true;
    return false;
}

/* HOST[:PORT]: letters, digits, '-' and '.', labels non-empty, port 1..65535. */
static bool parse_authority(const char *a, size_t n, zt_rd *out)
{
    size_t colon = n;
    for (size_t i = 0; i < n; i++)
        if (a[i] == ':') {
            colon = i;
            break;
        }
    size_t hn = colon;
    if (hn == 0 || hn >= sizeof(out->host) || a[0] == '.' || a[hn - 1] == '.')
        return false;
    for (size_t i = 0; i < hn; i++) {
        char c = zt_ascii_lower(a[i]);
        bool ok = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
        if (!ok || (c == '.' && i + 1 < hn && a[i + 1] == '.'))
            return false;
        out->host[i] = c;
    }
    out->host[hn] = '\0';
    if (colon < n) {
        unsigned long long port = 0;
        if (!zt_parse_u64(a + colon + 1, n - colon - 1, 65535, &port) || port == 0)
            return false;
        out->port = (unsigned)port;
    }
    for (size_t i = 0; i < n; i++)
        out->authority[i] = zt_ascii_lower(a[i]);
    out->authority[n] = '\0';
    return true;
}

static bool check_absolute(const char *s, size_t n, const zt_rd_policy *pol, zt_rd *out)
{
    size_t skip;
    if (n > 8 && zt_span_istarts((zt_span){s, n}, "https://")) {
        out->https = true;
        skip = 8;
    } else if (n > 7 && zt_span_istarts((zt_span){s, n}, "http://")) {
        out->https = false;
        skip = 7;
    } else {
        return false;
    }
    const char *a = s + skip;
    size_t an = 0;
    while (skip + an < n && a[an] != '/' && a[an] != '?' && a[an] != '#') {
        if (a[an] == '@' || a[an] == '%' || a[an] == '[' || a[an] == ']')
            return false;
        an++;
    }
    if (an == 0 || an >= sizeof(out->authority) || !parse_authority(a, an, out))
        return false;
    if (out->port == 0)
        out->port = out->https ? 443 : 80;
    if (!host_allowed(out->host, pol) || !origin_served(out, pol))
        return false;
    const char *rest = a + an;
    size_t rn = n - skip - an;
    size_t o = 0;
    if (rn == 0 || rest[0] != '/')
        out->path_query[o++] = '/';
    memcpy(out->path_query + o, rest, rn);
    out->path_query[o + rn] = '\0';
    out->absolute = true;
    return true;
}

bool zt_rd_check(const char *rd, size_t len, const zt_rd_policy *pol, zt_rd *out)
{
    char dec[ZT_RD_MAX + 1];
    memset(out, 0, sizeof(*out));
    if (rd == NULL || len == 0 || len >= ZT_RD_MAX)
        return false;
    if (!raw_ok(rd, len) || !decoded_ok(rd, len, dec))
        return false;
    bool ok;
    if (rd[0] == '/') {
        /* "//host" and "/\host" are scheme-relative to browsers; so are their encoded forms. */
        ok = len == 1 || (rd[1] != '/' && dec[1] != '/' && dec[1] != '\\');
        if (ok) {
            memcpy(out->path_query, rd, len);
            out->path_query[len] = '\0';
        }
    } else {
        ok = !pol->relative_only && check_absolute(rd, len, pol, out);
    }
    if (!ok) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    memcpy(out->url, rd, len);
    out->url[len] = '\0';
    return true;
}
