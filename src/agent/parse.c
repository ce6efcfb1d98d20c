#include "agent/parse.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/str.h"

bool zta_is_lower_hex(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
            return false;
    }
    return true;
}

/* Copies span into a fixed field; false when it does not fit or holds a NUL/control byte. */
static bool copy_field(char *dst, size_t dstlen, const char *s, size_t n)
{
    if (n >= dstlen)
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return false;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return true;
}

static bool parse_uint(const char *s, size_t n, unsigned max, unsigned *out)
{
    unsigned long long v = 0;
    if (n == 0 || n > 10)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (unsigned)(s[i] - '0');
    }
    if (v > max)
        return false;
    *out = (unsigned)v;
    return true;
}

/* ---- agent.conf ---- */

typedef struct conf_key {
    const char *name;
    size_t off;
    size_t size;
} conf_key;

static const conf_key conf_keys[] = {
    {"server", offsetof(zta_conf, server), sizeof(((zta_conf *)0)->server)},
    {"server_ca", offsetof(zta_conf, server_ca), sizeof(((zta_conf *)0)->server_ca)},
    {"server_sha256", offsetof(zta_conf, server_sha256), sizeof(((zta_conf *)0)->server_sha256)},
    {"device_id", offsetof(zta_conf, device_id), sizeof(((zta_conf *)0)->device_id)},
    {"user", offsetof(zta_conf, user), sizeof(((zta_conf *)0)->user)},
    {"db_dir", offsetof(zta_conf, db_dir), sizeof(((zta_conf *)0)->db_dir)},
};

static int conf_check(const zta_conf *c, char *err, size_t errlen)
{
    size_t n = strlen(c->server_sha256);
    if (n != 0 && (n != 64 || !zta_is_lower_hex(c->server_sha256, n))) {
        zt_errf(err, errlen, "server_sha256 must be 64 lowercase hex digits");
        return -1;
    }
    n = strlen(c->device_id);
    if (n != 0 && (n != 32 || !zta_is_lower_hex(c->device_id, n))) {
        zt_errf(err, errlen, "device_id must be 32 lowercase hex digits");
        return -1;
    }
    if (c->server[0] != '\0') {
        char host[256];
        unsigned port;
        if (zta_url_parse(c->server, host, sizeof host, &port) != 0) {
            zt_errf(err, errlen, "server must be https://HOST[:PORT]");
            return -1;
        }
    }
    return 0;
}

int zta_conf_parse(const char *text, size_t n, zta_conf *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (n > ZTA_CONF_MAX) {
        zt_errf(err, errlen, "file larger than %d bytes", ZTA_CONF_MAX);
        return -1;
    }
    unsigned seen = 0;
    size_t pos = 0;
    for (unsigned line = 1; pos < n; line++) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - l) : n - pos;
        pos += len + (nl ? 1 : 0);
        if (len > 0 && l[len - 1] == '\r')
            len--;
        if (len == 0 || l[0] == '#')
            continue;
        const char *eq = memchr(l, '=', len);
        if (eq == NULL) {
            zt_errf(err, errlen, "line %u: expected key=value", line);
            return -1;
        }
        size_t klen = (size_t)(eq - l);
        size_t i;
        for (i = 0; i < sizeof conf_keys / sizeof conf_keys[0]; i++)
            if (strlen(conf_keys[i].name) == klen && memcmp(conf_keys[i].name, l, klen) == 0)
                break;
        if (i == sizeof conf_keys / sizeof conf_keys[0]) {
            zt_errf(err, errlen, "line %u: unknown key '%.*s'", line, (int)(klen > 40 ? 40 : klen),
                    l);
            return -1;
        }
        if (seen & (1u << i)) {
            zt_errf(err, errlen, "line %u: duplicate key '%s'", line, conf_keys[i].name);
            return -1;
        }
        seen |= 1u << i;
        char *dst = (char *)out + conf_keys[i].off;
        if (!copy_field(dst, conf_keys[i].size, eq + 1, len - klen - 1)) {
            zt_errf(err, errlen, "line %u: value of '%s' too long or has control bytes", line,
                    conf_keys[i].name);
            return -1;
        }
    }
    return conf_check(out, err, errlen);
}

int zta_conf_format(const zta_conf *conf, char *out, size_t outlen)
{
    size_t used = 0;
    int w = snprintf(out, outlen, "# ztagent configuration (written by ztagent enroll)\n");
    if (w < 0 || (size_t)w >= outlen)
        return -1;
    used = (size_t)w;
    for (size_t i = 0; i < sizeof conf_keys / sizeof conf_keys[0]; i++) {
        const char *v = (const char *)conf + conf_keys[i].off;
        if (v[0] == '\0')
            continue;
        w = snprintf(out + used, outlen - used, "%s=%s\n", conf_keys[i].name, v);
        if (w < 0 || (size_t)w >= outlen - used)
            return -1;
        used += (size_t)w;
    }
    return (int)used;
}

/* ---- os-release ---- */

/* Unquotes an os-release value into dst; -1 when malformed or too long. */
static int unquote(const char *v, size_t n, char *dst, size_t dstlen)
{
    size_t o = 0;
    if (n >= 2 && (v[0] == '"' || v[0] == '\'') && v[n - 1] == v[0]) {
        char q = v[0];
        for (size_t i = 1; i < n - 1; i++) {
            char c = v[i];
            if (q == '"' && c == '\\' && i + 1 < n - 1)
                c = v[++i];
            else if (c == q)
                return -1;
            if (o + 1 >= dstlen)
                return -1;
            dst[o++] = c;
        }
    } else {
        for (size_t i = 0; i < n; i++) {
            if (v[i] == '"' || v[i] == '\'' || v[i] == ' ' || v[i] == '\\')
                return -1;
            if (o + 1 >= dstlen)
                return -1;
            dst[o++] = v[i];
        }
    }
    for (size_t i = 0; i < o; i++)
        if ((unsigned char)dst[i] < 0x20)
            return -1;
    dst[o] = '\0';
    return 0;
}

int zta_os_release_parse(const char *text, size_t n, zta_os_release *out)
{
    memset(out, 0, sizeof *out);
    size_t pos = 0;
    while (pos < n) {
        const char *l = text + pos;
        const char *nl = memchr(l, '\n', n - pos);
        size_t len = nl ? (size_t)(nl - l) : n - pos;
        pos += len + (nl ? 1 : 0);
        while (len > 0 && (l[len - 1] == '\r' || l[len - 1] == ' ' || l[len - 1] == '\t'))
            len--;
        while (len > 0 && (l[0] == ' ' || l[0] == '\t')) {
            l++;
            len--;
        }
        if (len == 0 || l[0] == '#')
            continue;
        const char *eq = memchr(l, '=', len);
        if (eq == NULL || eq == l)
            return -1;
        size_t klen = (size_t)(eq - l);
        const char *v = eq + 1;
        size_t vlen = len - klen - 1;
        char *dst = NULL;
        size_t dstlen = 0;
        if (klen == 2 && memcmp(l, "ID", 2) == 0) {
            dst = out->id;
            dstlen = sizeof out->id;
        } else if (klen == 10 && memcmp(l, "VERSION_ID", 10) == 0) {
            dst = out->version_id;
            dstlen = sizeof out->version_id;
        } else if (klen == 11 && memcmp(l, "PRETTY_NAME", 11) == 0) {
            dst = out->pretty_name;
            dstlen = sizeof out->pretty_name;
        }
        char scratch[512];
        if (dst == NULL) {
            /* Other keys are validated for syntax only. */
            dst = scratch;
            dstlen = sizeof scratch;
        }
        if (unquote(v, vlen, dst, dstlen) != 0)
            return -1;
    }
    return 0;
}

/* ---- ClamAV database headers ---- */

static const char *const months[12] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static time_t days_from_civil(int y, unsigned m, unsigned d)
{
    /* Howard Hinnant's days-from-civil, so no dependence on TZ or timegm. */
    y -= m <= 2;
    const int era = (y >= 0 ? y : y - 399) / 400;
    const unsigned yoe = (unsigned)(y - era * 400);
    const unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return (time_t)era * 146097 + (time_t)doe - 719468;
}

int zta_cvd_time_parse(const char *s, size_t n, time_t *out)
{
    /* "DD Mon YYYY HH-MM +ZZZZ" */
    char buf[64];
    if (n == 0 || n >= sizeof buf)
        return -1;
    memcpy(buf, s, n);
    buf[n] = '\0';
    unsigned day, year, hh, mm, tz;
    char mon[4], sign;
    int used = 0;
    if (sscanf(buf, "%2u %3[A-Za-z] %4u %2u-%2u %c%4u%n", &day, mon, &year, &hh, &mm, &sign, &tz,
               &used) != 7 ||
        (size_t)used != n)
        return -1;
    unsigned m;
    for (m = 0; m < 12; m++)
        if (strcmp(mon, months[m]) == 0)
            break;
    if (m == 12 || day < 1 || day > 31 || year < 1990 || year > 9999 || hh > 23 || mm > 59 ||
        (sign != '+' && sign != '-') || tz / 100 > 14 || tz % 100 > 59)
        return -1;
    time_t t = days_from_civil((int)year, m + 1, day) * 86400 + (time_t)hh * 3600 + mm * 60;
    time_t off = (time_t)(tz / 100) * 3600 + (tz % 100) * 60;
    *out = sign == '+' ? t - off : t + off;
    return 0;
}

int zta_cvd_header_parse(const char *hdr, size_t n, zta_cvd_header *out)
{
    static const char magic[] = "ClamAV-VDB:";
    memset(out, 0, sizeof *out);
    if (n > ZTA_CVD_HEADER_LEN)
        n = ZTA_CVD_HEADER_LEN;
    if (n < sizeof magic - 1 || memcmp(hdr, magic, sizeof magic - 1) != 0)
        return -1;
    while (n > 0 && (hdr[n - 1] == ' ' || hdr[n - 1] == '\0' || hdr[n - 1] == '\n'))
        n--;
    /* fields[0] = "ClamAV-VDB", then buildtime, version, sigs, fl, md5, dsig, builder, stime */
    const char *f[10];
    size_t fl[10];
    size_t nf = 0, start = 0;
    for (size_t i = 0; i <= n; i++) {
        if (i == n || hdr[i] == ':') {
            if (nf == 10)
                return -1;
            f[nf] = hdr + start;
            fl[nf] = i - start;
            nf++;
            start = i + 1;
        } else if ((unsigned char)hdr[i] < 0x20 || (unsigned char)hdr[i] > 0x7e) {
            return -1;
        }
    }
    if (nf < 8)
        return -1;
    if (!parse_uint(f[2], fl[2], UINT32_MAX, &out->version) ||
        !parse_uint(f[3], fl[3], UINT32_MAX, &out->sigs) ||
        !parse_uint(f[4], fl[4], UINT32_MAX, &out->fl))
        return -1;
    unsigned stime;
    if (nf >= 9 && parse_uint(f[8], fl[8], UINT32_MAX, &stime) && stime > 0) {
        out->build_time = (time_t)stime;
        return 0;
    }
    return zta_cvd_time_parse(f[1], fl[1], &out->build_time);
}

/* ---- small formats ---- */

int zta_interval_parse(const char *s, unsigned *secs)
{
    size_t n = strlen(s);
    unsigned mult = 1;
    if (n == 0)
        return -1;
    switch (s[n - 1]) {
    case 's':
        n--;
        break;
    case 'm':
        mult = 60;
        n--;
        break;
    case 'h':
        mult = 3600;
        n--;
        break;
    case 'd':
        mult = 86400;
        n--;
        break;
    default:
        break;
    }
    unsigned v;
    if (!parse_uint(s, n, 7 * 86400, &v) || v == 0 || v > 7u * 86400 / mult)
        return -1;
    *secs = v * mult;
    return 0;
}

void zta_rfc3339(time_t t, char out[21])
{
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(out, 21, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int zta_url_parse(const char *url, char *host, size_t hostlen, unsigned *port)
{
    static const char scheme[] = "https://";
    size_t n = strlen(url);
    if (n <= sizeof scheme - 1 || strncmp(url, scheme, sizeof scheme - 1) != 0)
        return -1;
    const char *p = url + sizeof scheme - 1;
    const char *end = url + n;
    if (end > p && end[-1] == '/')
        end--;
    const char *hs = p, *he;
    if (*p == '[') {
        hs = p + 1;
        he = memchr(hs, ']', (size_t)(end - hs));
        if (he == NULL)
            return -1;
        p = he + 1;
    } else {
        while (p < end && *p != ':' && *p != '/')
            p++;
        he = p;
    }
    if (he == hs || (size_t)(he - hs) >= hostlen)
        return -1;
    for (const char *c = hs; c < he; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
              *c == '.' || *c == '-' || *c == ':'))
            return -1;
    unsigned v = 443;
    if (p < end && *p == ':') {
        if (!parse_uint(p + 1, (size_t)(end - p - 1), 65535, &v) || v == 0)
            return -1;
        p = end;
    }
    if (p != end)
        return -1;
    memcpy(host, hs, (size_t)(he - hs));
    host[he - hs] = '\0';
    *port = v;
    return 0;
}

bool zta_parse_app(const char *arg, char *host, size_t hostlen, unsigned *port)
{
    const char *colon = strrchr(arg, ':');
    size_t hl = colon ? (size_t)(colon - arg) : strlen(arg);
    unsigned p = 22;
    if (hl == 0 || hl >= hostlen || hl > 253)
        return false;
    if (colon != NULL && (!parse_uint(colon + 1, strlen(colon + 1), 65535, &p) || p == 0))
        return false;
    for (size_t i = 0; i < hl; i++) {
        char c = arg[i];
        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.'))
            return false;
        host[i] = c;
    }
    host[hl] = '\0';
    *port = p;
    return true;
}

int zta_listen_parse(const char *spec, struct sockaddr_storage *ss, unsigned *len)
{
    char host[64];
    const char *colon = strrchr(spec, ':');
    unsigned port;
    if (colon == NULL || (size_t)(colon - spec) >= sizeof host ||
        !parse_uint(colon + 1, strlen(colon + 1), 65535, &port) || port == 0)
        return -1;
    size_t hl = (size_t)(colon - spec);
    memcpy(host, spec, hl);
    host[hl] = '\0';
    memset(ss, 0, sizeof(*ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)ss;
    if (inet_pton(AF_INET, host, &v4->sin_addr) == 1) {
        if ((ntohl(v4->sin_addr.s_addr) >> 24) != 127)
            return -2;
        v4->sin_family = AF_INET;
        v4->sin_port = htons((uint16_t)port);
        *len = sizeof(*v4);
        return 0;
    }
    if (hl > 2 && host[0] == '[' && host[hl - 1] == ']') {
        host[hl - 1] = '\0';
        if (inet_pton(AF_INET6, host + 1, &v6->sin6_addr) != 1)
            return -1;
        if (!IN6_IS_ADDR_LOOPBACK(&v6->sin6_addr))
            return -2;
        v6->sin6_family = AF_INET6;
        v6->sin6_port = htons((uint16_t)port);
        *len = sizeof(*v6);
        return 0;
    }
    return host[0] == '[' ? -1 : -2; /* a name: it might resolve anywhere */
}

/* The value of a header line "Name: value" when its name is name (any case); NULL otherwise. */
const char *zta_header_value(const char *line, size_t n, const char *name, size_t *vn)
{
    size_t k = strlen(name);
    if (n <= k || line[k] != ':' || strncasecmp(line, name, k) != 0)
        return NULL;
    const char *v = line + k + 1;
    size_t l = n - k - 1;
    while (l > 0 && (*v == ' ' || *v == '\t')) {
        v++;
        l--;
    }
    while (l > 0 && (v[l - 1] == ' ' || v[l - 1] == '\t'))
        l--;
    *vn = l;
    return v;
}

int zta_connect_answer_parse(const char *head, size_t n, unsigned *status, size_t *body_len)
{
    if (n < 16 || memcmp(head + n - 4, "\r\n\r\n", 4) != 0 ||
        (memcmp(head, "HTTP/1.1 ", 9) != 0 && memcmp(head, "HTTP/1.0 ", 9) != 0) ||
        !parse_uint(head + 9, 3, 999, status) || *status < 100 ||
        (head[12] != ' ' && head[12] != '\r'))
        return -1;
    *body_len = 0;
    bool seen = false;
    const char *p = memchr(head, '\n', n) + 1, *end = head + n - 2;
    if (p[-2] != '\r')
        return -1;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end + 2 - p));
        if (nl == NULL)
            return -1;
        size_t len = (size_t)(nl - p);
        if (len == 0 || p[len - 1] != '\r')
            return -1;
        len--;
        size_t vn = 0;
        const char *v = zta_header_value(p, len, "Content-Length", &vn);
        unsigned cl = 0;
        if (v != NULL && (seen || !parse_uint(v, vn, 1u << 30, &cl)))
            return -1;
        if (v != NULL) {
            seen = true;
            *body_len = cl;
        }
        p = nl + 1;
    }
    return 0;
}
