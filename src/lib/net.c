#include "lib/net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* An IPv4 literal in 127/8 ("127.evil.example" is a domain name), localhost or [::1]. */
static bool loopback_host(const char *h, size_t n)
{
    char v4[INET_ADDRSTRLEN];
    struct in_addr a;
    if (n >= 4 && n < sizeof(v4) && memcmp(h, "127.", 4) == 0) {
        memcpy(v4, h, n);
        v4[n] = '\0';
        return inet_pton(AF_INET, v4, &a) == 1;
    }
    return (n == 9 && memcmp(h, "localhost", 9) == 0) || (n == 5 && memcmp(h, "[::1]", 5) == 0);
}

const char *zt_url_problem(const char *s, size_t max_len, bool allow_query)
{
    size_t skip = strncmp(s, "https://", 8) == 0 ? 8 : strncmp(s, "http://", 7) == 0 ? 7 : 0;
    if (skip == 0)
        return "must start with https:// (or http:// on a loopback host)";
    if (max_len > 0 && strlen(s) > max_len)
        return "is too long";
    for (const char *p = s; *p; p++)
        if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '\\')
            return "must not contain spaces, control characters or backslashes";
    if (strchr(s, '#') != NULL)
        return "must not contain a fragment ('#')";
    if (!allow_query && strchr(s, '?') != NULL)
        return "must not contain a query ('?')";
    const char *host = s + skip;
    size_t n = strcspn(host, "/?");
    const char *colon = host[0] == '[' ? strstr(host, "]:") : strchr(host, ':');
    size_t hn =
        colon != NULL && (size_t)(colon - host) < n ? (size_t)(colon - host) + (host[0] == '[') : n;
    if (hn == 0 || memchr(host, '@', n) != NULL)
        return "needs a host (and no user name)";
    if (skip == 7 && !loopback_host(host, hn))
        return "must use https:// (http:// only on a loopback host)";
    return NULL;
}

const char *zt_cidr_parse_n(const char *s, size_t n, zt_cidr *out)
{
    char tmp[64];
    if (n == 0)
        return "empty address";
    if (n >= sizeof(tmp))
        return "address too long";
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    if (memchr(tmp, '\0', n) != NULL)
        return "NUL byte in address";
    int prefix = -1;
    char *slash = strchr(tmp, '/');
    if (slash != NULL) {
        *slash = '\0';
        const char *p = slash + 1;
        size_t digits = strlen(p);
        if (digits == 0 || digits > 3 || strspn(p, "0123456789") != digits)
            return "bad prefix length";
        prefix = 0;
        for (; *p != '\0'; p++)
            prefix = prefix * 10 + (*p - '0'); /* at most three digits, checked above */
    }
    memset(out, 0, sizeof(*out));
    int bits;
    if (inet_pton(AF_INET, tmp, out->addr) == 1) {
        out->family = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, tmp, out->addr) == 1) {
        out->family = AF_INET6;
        bits = 128;
    } else {
        return "not an IP address or CIDR block";
    }
    if (prefix < 0)
        prefix = bits;
    if (prefix > bits)
        return "prefix length out of range";
    out->prefix = (uint8_t)prefix;
    /* "10.1.2.3/8" is usually a typo for a host or a different block: refuse, never guess. */
    for (int i = prefix; i < bits; i++)
        if (out->addr[i / 8] & (0x80 >> (i % 8)))
            return "host bits set after the prefix";
    return NULL;
}

bool zt_cidr_parse(const char *s, zt_cidr *out)
{
    return zt_cidr_parse_n(s, strlen(s), out) == NULL;
}

static bool prefix_match(const uint8_t *a, const uint8_t *b, unsigned prefix)
{
    unsigned full = prefix / 8, rest = prefix % 8;
    if (memcmp(a, b, full) != 0)
        return false;
    if (rest == 0)
        return true;
    uint8_t mask = (uint8_t)(0xFF << (8 - rest));
    return (a[full] & mask) == (b[full] & mask);
}

bool zt_cidr_contains(const zt_cidr *c, const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        return c->family == AF_INET &&
               prefix_match(c->addr, (const uint8_t *)&in->sin_addr, c->prefix);
    }
    if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        const uint8_t *a = in6->sin6_addr.s6_addr;
        if (c->family == AF_INET6)
            return prefix_match(c->addr, a, c->prefix);
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            return prefix_match(c->addr, a + 12, c->prefix);
    }
    return false;
}

bool zt_addr_parse(const char *s, struct sockaddr_storage *out)
{
    char host[64];
    const char *port_s;
    memset(out, 0, sizeof(*out));
    if (s[0] == '[') {
        const char *close = strchr(s, ']');
        if (close == NULL || close[1] != ':' || (size_t)(close - s - 1) >= sizeof(host))
            return false;
        memcpy(host, s + 1, (size_t)(close - s - 1));
        host[close - s - 1] = '\0';
        port_s = close + 2;
    } else {
        const char *colon = strrchr(s, ':');
        if (colon == NULL || (size_t)(colon - s) >= sizeof(host))
            return false;
        memcpy(host, s, (size_t)(colon - s));
        host[colon - s] = '\0';
        port_s = colon + 1;
    }
    char *end;
    if (*port_s < '0' || *port_s > '9')
        return false;
    long port = strtol(port_s, &end, 10);
    if (*end != '\0' || port < 1 || port > 65535)
        return false;
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)out;
    if (strcmp(host, "*") == 0 || host[0] == '\0') {
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_ANY);
        in->sin_port = htons((uint16_t)port);
        return true;
    }
    if (inet_pton(AF_INET, host, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        in->sin_port = htons((uint16_t)port);
        return true;
    }
    if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
        in6->sin6_family = AF_INET6;
        in6->sin6_port = htons((uint16_t)port);
        return true;
    }
    return false;
}

void zt_sockaddr_ip(const struct sockaddr *sa, char *out)
{
    out[0] = '\0';
    if (sa->sa_family == AF_INET) {
        inet_ntop(AF_INET, &((const struct sockaddr_in *)sa)->sin_addr, out, ZT_IP_STRLEN);
    } else if (sa->sa_family == AF_INET6) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
            inet_ntop(AF_INET, in6->sin6_addr.s6_addr + 12, out, ZT_IP_STRLEN);
        else
            inet_ntop(AF_INET6, &in6->sin6_addr, out, ZT_IP_STRLEN);
    }
}

int zt_sockaddr_port(const struct sockaddr *sa)
{
    if (sa->sa_family == AF_INET)
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6)
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}
