/* Configuration loader: YAML (libyaml document API) read into the typed zt_config through one
 * declarative key table per section. It must never accept a file it did not fully understand:
 * unknown keys, wrong types and out-of-range values are errors, and every error is reported. */
#include "core/config.h"
#include "core/config_schema.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <yaml.h>

#include "lib/arena.h"
#include "lib/file.h"
#include "lib/str.h"

#define ZT_CONFIG_MAX_BYTES (4u << 20) /* larger files are refused, not half-read */
#define ZT_CONFIG_MAX_DIAGS 200u       /* printed; the rest are only counted */
#define ZT_CONFIG_PATH_MAX 128         /* "gateway.listen[3].tls.cert" */
#define ZT_CONFIG_SHOW_MAX 64          /* echoed user text is cut here */
#define ZT_CONFIG_NAME_MAX 64          /* app names */

/* ---------------------------------------------------------------------------------------------
 * Diagnostics */

static void zt_config_vdiag(zt_diags *d, const char *file, unsigned line, unsigned col,
                            const char *fmt, va_list ap) __attribute__((format(printf, 5, 0)));

static void zt_config_vdiag(zt_diags *d, const char *file, unsigned line, unsigned col,
                            const char *fmt, va_list ap)
{
    if (d == NULL)
        return;
    d->errors++;
    /* A fuzzed file can hold thousands of errors; nobody reads past the first screens. */
    if (d->errors > ZT_CONFIG_MAX_DIAGS) {
        if (d->errors == ZT_CONFIG_MAX_DIAGS + 1)
            zt_buf_printf(&d->text, "%s: too many errors; only the first %u are shown\n", file,
                          ZT_CONFIG_MAX_DIAGS);
        zt_buf_cstr(&d->text);
        return;
    }
    if (line > 0)
        zt_buf_printf(&d->text, "%s:%u:%u: ", file, line, col);
    else
        zt_buf_printf(&d->text, "%s: ", file);
    zt_buf_vprintf(&d->text, fmt, ap);
    zt_buf_append_char(&d->text, '\n');
    zt_buf_cstr(&d->text);
}

void zt_diags_init(zt_diags *d)
{
    zt_buf_init(&d->text, 0);
    d->errors = 0;
}

void zt_diags_dispose(zt_diags *d)
{
    if (d == NULL)
        return;
    zt_buf_dispose(&d->text);
    d->errors = 0;
}

void zt_diag_add(zt_diags *d, const char *file, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_config_vdiag(d, file, line, col, fmt, ap);
    va_end(ap);
}

/* ---------------------------------------------------------------------------------------------
 * The reader's state (the table types are in core/config_schema.h) */

struct zt_config_ctx {
    const char *file;
    const char *data;
    size_t len;
    zt_diags *diags;
    unsigned errors;
    yaml_document_t doc;
    zt_config *cfg;
    zt_arena *arena;
    /* Defaults under state_dir, joined once the whole file (and so state_dir) was read. */
    struct zt_config_state_path *state_paths;
};

typedef struct zt_config_state_path {
    char **slot;
    const char *rel;
    struct zt_config_state_path *next;
} zt_config_state_path;

/* One scalar to parse: from the file (n set) or a table default (n NULL). */
typedef struct zt_config_val {
    const zt_config_key *k;
    yaml_node_t *n;
    const char *s;
    size_t len;
    char *t; /* target struct */
    const char *path;
} zt_config_val;

typedef struct zt_config_box {
    zt_config cfg; /* first: zt_config_free casts back */
    zt_arena arena;
} zt_config_box;

static zt_config_resolver_fn zt_config_resolver;

/* ---------------------------------------------------------------------------------------------
 * Errors and small helpers */

static void zt_config_bad(zt_config_ctx *c, const zt_config_val *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

void zt_config_err_at(zt_config_ctx *c, unsigned line, unsigned col, const char *fmt, ...)
{
    va_list ap;
    c->errors++;
    va_start(ap, fmt);
    zt_config_vdiag(c->diags, c->file, line, col, fmt, ap);
    va_end(ap);
}

static void zt_config_verr(zt_config_ctx *c, const yaml_node_t *n, const char *fmt, va_list ap)
    __attribute__((format(printf, 3, 0)));

static void zt_config_verr(zt_config_ctx *c, const yaml_node_t *n, const char *fmt, va_list ap)
{
    unsigned line = 0, col = 0;
    if (n != NULL) {
        line = (unsigned)n->start_mark.line + 1;
        col = (unsigned)n->start_mark.column + 1;
    }
    c->errors++;
    zt_config_vdiag(c->diags, c->file, line, col, fmt, ap);
}

void zt_config_err(zt_config_ctx *c, const yaml_node_t *n, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    zt_config_verr(c, n, fmt, ap);
    va_end(ap);
}

/* Printable, shortened copy of user text for messages. */
static const char *zt_config_show(const char *s, size_t n, char out[ZT_CONFIG_SHOW_MAX + 4])
{
    size_t i, o = 0;
    for (i = 0; i < n && o < ZT_CONFIG_SHOW_MAX; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[o++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
    }
    if (i < n) {
        memcpy(out + o, "...", 3);
        o += 3;
    }
    out[o] = '\0';
    return out;
}

/* "'path' <problem> (got 'text')" at the value. */
static void zt_config_bad(zt_config_ctx *c, const zt_config_val *v, const char *fmt, ...)
{
    char what[256], shown[ZT_CONFIG_SHOW_MAX + 4];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    zt_config_err(c, v->n, "'%s' %s (got '%s')", v->path, what,
                  zt_config_show(v->s, v->len, shown));
}

static void zt_config_oom(zt_config_ctx *c)
{
    zt_config_err_at(c, 0, 0, "out of memory");
}

static void *zt_config_zalloc(zt_config_ctx *c, size_t n)
{
    void *p = zt_arena_alloc(c->arena, n == 0 ? 1 : n);
    if (p == NULL) {
        zt_config_oom(c);
        return NULL;
    }
    memset(p, 0, n == 0 ? 1 : n);
    return p;
}

static char *zt_config_strndup(zt_config_ctx *c, const char *s, size_t n)
{
    char *p = zt_arena_strndup(c->arena, s, n);
    if (p == NULL)
        zt_config_oom(c);
    return p;
}

static void zt_config_put_ptr(char *field, const void *p)
{
    memcpy(field, &p, sizeof(p));
}

static void zt_config_put_uint(char *field, size_t size, uint64_t v)
{
    if (size == 1) {
        uint8_t x = (uint8_t)v;
        memcpy(field, &x, 1);
    } else if (size == 4) {
        uint32_t x = (uint32_t)v;
        memcpy(field, &x, 4);
    } else if (size == 8) {
        memcpy(field, &v, 8);
    }
}

/* Key paths for messages ("gateway.listen[2].tls"); schema-bounded, so a cut is cosmetic. */
static void zt_config_path(char out[ZT_CONFIG_PATH_MAX], const char *parent, const char *name)
{
    int n;
    if (parent[0] == '\0')
        n = snprintf(out, ZT_CONFIG_PATH_MAX, "%s", name);
    else
        n = snprintf(out, ZT_CONFIG_PATH_MAX, "%s.%s", parent, name);
    (void)n;
}

static void zt_config_item_path(char out[ZT_CONFIG_PATH_MAX], const char *parent, size_t i)
{
    char idx[24]; /* "[" + 20 digits + "]" */
    snprintf(idx, sizeof(idx), "[%zu]", i);
    size_t plen = strlen(parent), ilen = strlen(idx);
    if (plen + ilen >= ZT_CONFIG_PATH_MAX)
        plen = ZT_CONFIG_PATH_MAX - 1 - ilen;
    memcpy(out, parent, plen);
    memcpy(out + plen, idx, ilen + 1);
}

static bool zt_config_is_alnum(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
}

/* ---------------------------------------------------------------------------------------------
 * Numbers with units */

typedef struct zt_config_unit {
    const char *name;
    uint64_t mult;
} zt_config_unit;

/* Largest first: formatting picks the first unit that divides the value. */
static const zt_config_unit zt_config_size_units[] = {
    {"TiB", 1ull << 40}, {"GiB", 1ull << 30}, {"MiB", 1ull << 20}, {"KiB", 1ull << 10}, {"B", 1},
    {NULL, 0},
};
static const zt_config_unit zt_config_duration_units[] = {
    {"h", 3600000}, {"m", 60000}, {"s", 1000}, {"ms", 1}, {NULL, 0},
};

static const zt_config_unit *zt_config_units(zt_config_kind kind)
{
    if (kind == ZT_K_SIZE)
        return zt_config_size_units;
    if (kind == ZT_K_DURATION)
        return zt_config_duration_units;
    return NULL;
}

static void zt_config_fmt_num(zt_config_kind kind, uint64_t v, char *out, size_t cap)
{
    const zt_config_unit *u = zt_config_units(kind);
    for (; u != NULL && u->name != NULL && v != 0; u++) {
        if (v % u->mult == 0) {
            snprintf(out, cap, "%llu%s", (unsigned long long)(v / u->mult), u->name);
            return;
        }
    }
    snprintf(out, cap, "%llu", (unsigned long long)v);
}

/* -1 syntax, -2 too large, 0 ok. A bare number is bytes for sizes; durations need a unit
 * unless zero, because "30" could mean seconds or milliseconds. */
static int zt_config_num(zt_config_kind kind, const char *s, size_t n, uint64_t *out)
{
    size_t d = 0;
    unsigned long long v;
    while (d < n && s[d] >= '0' && s[d] <= '9')
        d++;
    if (d == 0)
        return -1;
    if (!zt_parse_u64(s, d, UINT64_MAX, &v))
        return -2;
    uint64_t mult = 0;
    const zt_config_unit *u = zt_config_units(kind);
    if (d == n)
        mult = (kind == ZT_K_DURATION && v != 0) ? 0 : 1;
    for (; u != NULL && u->name != NULL && d < n; u++)
        if (strlen(u->name) == n - d && memcmp(u->name, s + d, n - d) == 0)
            mult = u->mult;
    if (mult == 0)
        return -1;
    if (v > UINT64_MAX / mult)
        return -2;
    *out = v * mult;
    return 0;
}

static void zt_config_range_err(zt_config_ctx *c, const zt_config_val *v)
{
    char lo[32], hi[32];
    zt_config_fmt_num(v->k->kind, v->k->min, lo, sizeof(lo));
    zt_config_fmt_num(v->k->kind, v->k->max, hi, sizeof(hi));
    if (v->k->max == UINT64_MAX)
        zt_config_bad(c, v, "must be at least %s", lo);
    else
        zt_config_bad(c, v, "must be between %s and %s", lo, hi);
}

static const char *zt_config_what(zt_config_kind kind)
{
    static const char *const what[] = {
        [ZT_K_STR] = "a string",
        [ZT_K_BOOL] = "true or false",
        [ZT_K_UINT] = "a whole number",
        [ZT_K_SIZE] = "a size like 512KiB (units: B, KiB, MiB, GiB, TiB)",
        [ZT_K_DURATION] = "a duration like 10s (units: ms, s, m, h)",
        [ZT_K_ENUM] = "one of the listed words",
        [ZT_K_ADDR] = "IP:PORT like 127.0.0.1:8443 or [::1]:8443",
        [ZT_K_URL] = "a URL like http://127.0.0.1:8081",
        [ZT_K_NAME] = "a name",
        [ZT_K_HOST] = "a host name",
        [ZT_K_PREFIX] = "a path like /app",
        [ZT_K_CIDRS] = "a list of CIDR blocks",
        [ZT_K_SECTION] = "a mapping",
        [ZT_K_LIST] = "a list",
        [ZT_K_STRS] = "a list of strings",
        [ZT_K_FLAGS] = "a list of words",
        [ZT_K_CLOCK] = "a time of day like \"08:30\" (00:00 to 23:59)",
        [ZT_K_TZ] = "UTC, an offset like +09:00 or an IANA time zone name like Asia/Tokyo",
        [ZT_K_FREQ] = "every_time or a duration like 8h or 7d (units: s, m, h, d)",
        [ZT_K_TARGET] = "HOST:PORT like 10.0.0.5:22 or db.internal:5432",
    };
    return what[kind];
}

static void zt_config_parse_number(zt_config_ctx *c, const zt_config_val *v)
{
    uint64_t x = 0;
    int rc = zt_config_num(v->k->kind, v->s, v->len, &x);
    if (rc == -1) {
        zt_config_bad(c, v, "must be %s", zt_config_what(v->k->kind));
        return;
    }
    if (rc == -2 || x < v->k->min || x > v->k->max) {
        zt_config_range_err(c, v);
        return;
    }
    zt_config_put_uint(v->t + v->k->off, v->k->size, x);
}

/* ---------------------------------------------------------------------------------------------
 * Scalar kinds */

static void zt_config_parse_str(zt_config_ctx *c, const zt_config_val *v)
{
    if (v->len == 0) {
        zt_config_err(c, v->n, "'%s' must not be empty", v->path);
        return;
    }
    zt_config_put_ptr(v->t + v->k->off, zt_config_strndup(c, v->s, v->len));
}

static void zt_config_parse_bool(zt_config_ctx *c, const zt_config_val *v)
{
    /* Only the two words: YAML 1.1's yes/no/on/off are too easy to write by accident. */
    if (v->len == 4 && memcmp(v->s, "true", 4) == 0)
        zt_config_put_uint(v->t + v->k->off, v->k->size, 1);
    else if (v->len == 5 && memcmp(v->s, "false", 5) == 0)
        zt_config_put_uint(v->t + v->k->off, v->k->size, 0);
    else
        zt_config_bad(c, v, "must be true or false");
}

/* "one of: a, b, c" for enums, else the kind's description; into buf, which the caller owns. */
static const char *zt_config_describe(const zt_config_key *k, zt_buf *buf)
{
    if (k->kind != ZT_K_ENUM && k->kind != ZT_K_FLAGS)
        return zt_config_what(k->kind);
    zt_buf_append_str(buf, "one of: ");
    for (size_t i = 0; k->names[i] != NULL; i++)
        zt_buf_printf(buf, "%s%s", i ? ", " : "", k->names[i]);
    zt_buf_cstr(buf);
    return buf->data ? buf->data : "one of the listed words";
}

static void zt_config_parse_enum(zt_config_ctx *c, const zt_config_val *v)
{
    zt_buf what;
    for (size_t i = 0; v->k->names[i] != NULL; i++) {
        if (strlen(v->k->names[i]) == v->len && memcmp(v->k->names[i], v->s, v->len) == 0) {
            zt_config_put_uint(v->t + v->k->off, v->k->size, i);
            return;
        }
    }
    zt_buf_init(&what, 0);
    zt_config_bad(c, v, "must be %s", zt_config_describe(v->k, &what));
    zt_buf_dispose(&what);
}

static void zt_config_parse_addr(zt_config_ctx *c, const zt_config_val *v)
{
    struct sockaddr_storage ss;
    if (!zt_addr_parse(v->s, &ss)) {
        zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_ADDR));
        return;
    }
    zt_config_put_ptr(v->t + v->k->off, zt_config_strndup(c, v->s, v->len));
    memcpy(v->t + v->k->aux, &ss, sizeof(ss));
}

static void zt_config_parse_name(zt_config_ctx *c, const zt_config_val *v)
{
    bool ok = v->len > 0 && v->len <= ZT_CONFIG_NAME_MAX;
    for (size_t i = 0; ok && i < v->len; i++)
        ok = zt_config_is_alnum(v->s[i]) || v->s[i] == '_' || v->s[i] == '.' || v->s[i] == '-';
    if (!ok) {
        zt_config_bad(c, v, "must be 1 to %d letters, digits, '_', '.' or '-'", ZT_CONFIG_NAME_MAX);
        return;
    }
    zt_config_put_ptr(v->t + v->k->off, zt_config_strndup(c, v->s, v->len));
}

/* DNS name syntax: labels of 1..63 letters, digits, '-' or '_' (seen in internal names), not
 * starting or ending with '-'; 253 bytes at most; no trailing dot. */
static bool zt_config_dns_name(const char *s, size_t n)
{
    size_t label = 0;
    if (n == 0 || n > 253)
        return false;
    for (size_t i = 0; i <= n; i++) {
        char ch = i < n ? s[i] : '.';
        if (ch == '.') {
            if (label == 0 || label > 63 || s[i - 1] == '-' || s[i - label] == '-')
                return false;
            label = 0;
        } else if (zt_config_is_alnum(ch) || ch == '-' || ch == '_') {
            label++;
        } else {
            return false;
        }
    }
    return true;
}

/* IP literal ("10.0.0.1", "::1", "[::1]") → canonical text ("[::1]" for IPv6) and address. */
static bool zt_config_ip_literal(const char *s, size_t n, char out[ZT_IP_STRLEN + 2],
                                 struct sockaddr_storage *ss)
{
    char tmp[ZT_IP_STRLEN + 2];
    struct sockaddr_in *in = (struct sockaddr_in *)ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
    bool bracketed = n >= 2 && s[0] == '[' && s[n - 1] == ']';
    if (bracketed) {
        s++;
        n -= 2;
    }
    if (n == 0 || n >= sizeof(tmp))
        return false;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    memset(ss, 0, sizeof(*ss));
    if (!bracketed && inet_pton(AF_INET, tmp, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
        inet_ntop(AF_INET, &in->sin_addr, out, ZT_IP_STRLEN);
        return true;
    }
    if (inet_pton(AF_INET6, tmp, &in6->sin6_addr) != 1)
        return false;
    in6->sin6_family = AF_INET6;
    out[0] = '[';
    inet_ntop(AF_INET6, &in6->sin6_addr, out + 1, ZT_IP_STRLEN);
    size_t len = strlen(out);
    out[len] = ']';
    out[len + 1] = '\0';
    return true;
}

static void zt_config_parse_host(zt_config_ctx *c, const zt_config_val *v)
{
    char ip[ZT_IP_STRLEN + 2];
    struct sockaddr_storage ss;
    char *p;
    if (strstr(v->s, "://") != NULL) {
        zt_config_bad(c, v, "must be a host name without a scheme");
    } else if (zt_config_ip_literal(v->s, v->len, ip, &ss)) {
        zt_config_put_ptr(v->t + v->k->off, zt_config_strndup(c, ip, strlen(ip)));
    } else if (memchr(v->s, ':', v->len) != NULL) {
        zt_config_bad(c, v, "must be a host name without a port");
    } else if (!zt_config_dns_name(v->s, v->len)) {
        zt_config_bad(c, v, "must be a host name or IP address");
    } else if ((p = zt_config_strndup(c, v->s, v->len)) != NULL) {
        for (size_t i = 0; p[i] != '\0'; i++)
            p[i] = zt_ascii_lower(p[i]);
        zt_config_put_ptr(v->t + v->k->off, p);
    }
}

/* NULL when s is an acceptable URL path, else why not. Percent signs are refused so a prefix
 * can never mean two different paths depending on decoding. */
static const char *zt_config_path_problem(const char *s, size_t n)
{
    if (n == 0 || s[0] != '/')
        return "must start with '/'";
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        if (ch <= 0x20 || ch >= 0x7f || strchr("?#%\\", ch) != NULL)
            return "must be printable ASCII without spaces, '?', '#', '%' or '\\'";
    }
    if (strstr(s, "//") != NULL)
        return "must not contain '//'";
    if (strstr(s, "..") != NULL || strstr(s, "/./") != NULL ||
        (n >= 2 && memcmp(s + n - 2, "/.", 2) == 0))
        return "must not contain '..' or '.' segments";
    return NULL;
}

static void zt_config_parse_prefix(zt_config_ctx *c, const zt_config_val *v)
{
    const char *why = zt_config_path_problem(v->s, v->len);
    if (why != NULL) {
        zt_config_bad(c, v, "%s", why);
        return;
    }
    /* "/app/" and "/app" mean the same prefix; matching is by whole segments. */
    size_t n = (v->len > 1 && v->s[v->len - 1] == '/') ? v->len - 1 : v->len;
    zt_config_put_ptr(v->t + v->k->off, zt_config_strndup(c, v->s, n));
}

/* ---------------------------------------------------------------------------------------------
 * Policy scalars: clock times, time zones, sign-in frequency */

/* "HH:MM", 00:00 to 23:59; stored as minutes after midnight. */
static void zt_config_parse_clock(zt_config_ctx *c, const zt_config_val *v)
{
    const char *s = v->s;
    bool ok = v->len == 5 && s[2] == ':';
    for (size_t i = 0; ok && i < 5; i++)
        ok = i == 2 || (s[i] >= '0' && s[i] <= '9');
    unsigned h = ok ? (unsigned)((s[0] - '0') * 10 + (s[1] - '0')) : 0;
    unsigned m = ok ? (unsigned)((s[3] - '0') * 10 + (s[4] - '0')) : 0;
    if (!ok || h > 23 || m > 59) {
        zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_CLOCK));
        return;
    }
    zt_config_put_uint(v->t + v->k->off, v->k->size, h * 60 + m);
}

/* "+09:00" / "-03:30": hours 0..14, minutes 0..59. */
static bool zt_config_tz_offset(const char *s, size_t n)
{
    if (n != 6 || (s[0] != '+' && s[0] != '-') || s[3] != ':')
        return false;
    for (size_t i = 1; i < 6; i++)
        if (i != 3 && (s[i] < '0' || s[i] > '9'))
            return false;
    return (s[1] - '0') * 10 + (s[2] - '0') <= 14 && s[4] <= '5';
}

/* IANA names are paths under the zoneinfo directory: refuse anything that could leave it. */
static bool zt_config_tz_name(const char *s, size_t n)
{
    if (n == 0 || n > ZT_CONFIG_NAME_MAX || s[0] == '/' || s[0] == '.' || strstr(s, "..") != NULL)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!zt_config_is_alnum(s[i]) && strchr("/_+-", s[i]) == NULL)
            return false;
    return true;
}

/* The name is known when its zoneinfo file starts with the TZif magic; src/policy reads it. */
static bool zt_config_tz_exists(const char *name)
{
    char path[sizeof(ZT_CONFIG_ZONEINFO) + ZT_CONFIG_NAME_MAX + 2], magic[4];
    snprintf(path, sizeof(path), "%s/%s", ZT_CONFIG_ZONEINFO, name);
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, magic, sizeof(magic));
    close(fd);
    return n == 4 && memcmp(magic, "TZif", 4) == 0;
}

static void zt_config_parse_tz(zt_config_ctx *c, const zt_config_val *v)
{
    bool fixed = strcmp(v->s, "UTC") == 0 || zt_config_tz_offset(v->s, v->len);
    if (!fixed && !zt_config_tz_name(v->s, v->len)) {
        zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_TZ));
        return;
    }
    if (!fixed && !zt_config_tz_exists(v->s)) {
        zt_config_bad(c, v, "is not a known time zone (no TZif file in %s)", ZT_CONFIG_ZONEINFO);
        return;
    }
    zt_config_put_ptr(v->t + v->k->off, zt_config_strndup(c, v->s, v->len));
}

#define ZT_CONFIG_FREQ_MAX_S (366ull * 86400)

/* "every_time" (0) or a duration in whole seconds, 1m..366d; "d" is accepted here because
 * sign-in frequency is usually counted in days (Entra offers hours or days). */
static void zt_config_parse_freq(zt_config_ctx *c, const zt_config_val *v)
{
    unsigned long long days;
    uint64_t ms = 0, s;
    if (v->len == 10 && memcmp(v->s, "every_time", 10) == 0) {
        zt_config_put_uint(v->t + v->k->off, v->k->size, 0);
        return;
    }
    if (v->len >= 2 && v->s[v->len - 1] == 'd') {
        if (!zt_parse_u64(v->s, v->len - 1, 1000, &days)) {
            zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_FREQ));
            return;
        }
        ms = days * 86400000ull;
    } else if (zt_config_num(ZT_K_DURATION, v->s, v->len, &ms) != 0 || ms % 1000 != 0) {
        zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_FREQ));
        return;
    }
    s = ms / 1000;
    if (s < 60 || s > ZT_CONFIG_FREQ_MAX_S) {
        zt_config_bad(c, v, "must be between 1m and 366d, or every_time");
        return;
    }
    zt_config_put_uint(v->t + v->k->off, v->k->size, s);
}

/* ---------------------------------------------------------------------------------------------
 * Upstream URLs: http://HOST[:PORT][/PATH] */

static int zt_config_getaddrinfo(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct addrinfo hints, *res = NULL;
    char serv[8];
    memset(&hints, 0, sizeof(hints));
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_NUMERICSERV;
    snprintf(serv, sizeof(serv), "%u", (unsigned)port);
    int rc = getaddrinfo(host, serv, &hints, &res);
    if (rc != 0)
        return rc;
    if (res == NULL || res->ai_addrlen > sizeof(*out)) {
        freeaddrinfo(res);
        return EAI_FAIL;
    }
    memset(out, 0, sizeof(*out));
    memcpy(out, res->ai_addr, res->ai_addrlen);
    freeaddrinfo(res);
    return 0;
}

void zt_config_set_resolver(zt_config_resolver_fn fn)
{
    zt_config_resolver = fn;
}

static void zt_config_set_port(struct sockaddr_storage *ss, uint16_t port)
{
    if (ss->ss_family == AF_INET)
        ((struct sockaddr_in *)ss)->sin_port = htons(port);
    else if (ss->ss_family == AF_INET6)
        ((struct sockaddr_in6 *)ss)->sin6_port = htons(port);
}

/* Split "host[:port]" (IPv6 in brackets); NULL or what is wrong. No port: *port = 0. */
static const char *zt_config_hostport(const char *a, size_t n, char host[256], uint16_t *port)
{
    const char *colon = NULL;
    unsigned long long p = 0;
    if (n > 0 && a[0] == '[') {
        const char *close = memchr(a, ']', n);
        if (close == NULL || (close + 1 < a + n && close[1] != ':'))
            return "has a malformed [IPv6] host";
        if (close + 1 < a + n)
            colon = close + 1;
    } else {
        colon = memchr(a, ':', n);
    }
    size_t hlen = colon != NULL ? (size_t)(colon - a) : n;
    if (hlen == 0)
        return "has no host";
    if (hlen > 255)
        return "has a host name longer than 255 bytes";
    if (colon != NULL && (!zt_parse_u64(colon + 1, n - hlen - 1, 65535, &p) || p == 0))
        return "must have a port from 1 to 65535";
    memcpy(host, a, hlen);
    host[hlen] = '\0';
    *port = (uint16_t)p;
    return NULL;
}

static void zt_config_resolve(zt_config_ctx *c, const zt_config_val *v, const char *host,
                              uint16_t port, zt_upstream_cfg *up)
{
    char ip[ZT_IP_STRLEN + 2];
    int rc;
    if (zt_config_ip_literal(host, strlen(host), ip, &up->addr)) {
        zt_config_set_port(&up->addr, port);
        return;
    }
    if (host[0] == '[' || !zt_config_dns_name(host, strlen(host))) {
        zt_config_bad(c, v, "must have a valid host name or IP address");
        return;
    }
    if (zt_config_resolver != NULL)
        rc = zt_config_resolver(host, port, &up->addr);
    else
        rc = zt_config_getaddrinfo(host, port, &up->addr);
    if (rc != 0)
        zt_config_err(c, v->n, "'%s' host '%s' does not resolve: %s", v->path, host,
                      gai_strerror(rc));
    else
        zt_config_set_port(&up->addr, port);
}

/* A TCP target (kind tcp apps): HOST:PORT, the port written, resolved once here like an
 * upstream. host_header keeps "HOST:PORT" as written (logs, audit dst_endpoint). */
static void zt_config_parse_target(zt_config_ctx *c, const zt_config_val *v)
{
    zt_upstream_cfg *up = (zt_upstream_cfg *)(void *)(v->t + v->k->off);
    char host[256];
    uint16_t port;
    bool has_port = v->len > 0 && v->s[v->len - 1] != ']' && memchr(v->s, ':', v->len) != NULL;
    const char *why = zt_config_hostport(v->s, v->len, host, &port);
    if (why == NULL && !has_port)
        why = "must name the port (HOST:PORT)";
    if (why != NULL) {
        zt_config_bad(c, v, "%s", why);
        return;
    }
    zt_config_resolve(c, v, host, port, up);
    up->url = zt_config_strndup(c, v->s, v->len);
    up->host_header = zt_config_strndup(c, v->s, v->len);
    up->base_path = zt_config_strndup(c, "", 0);
}

static void zt_config_parse_url(zt_config_ctx *c, const zt_config_val *v)
{
    zt_upstream_cfg *up = (zt_upstream_cfg *)(void *)(v->t + v->k->off);
    char host[256];
    uint16_t port;
    bool tls = zt_span_istarts((zt_span){v->s, v->len}, "https://");
    size_t skip = tls ? 8 : 7;
    if ((!tls && !zt_span_istarts((zt_span){v->s, v->len}, "http://")) ||
        strpbrk(v->s + skip, "?#@") != NULL) {
        zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_URL));
        return;
    }
    const char *auth = v->s + skip;
    size_t alen = strcspn(auth, "/");
    const char *path = auth + alen;
    size_t plen = v->len - skip - alen;
    const char *why = zt_config_hostport(auth, alen, host, &port);
    if (why != NULL) {
        zt_config_bad(c, v, "%s", why);
        return;
    }
    if (port == 0)
        port = tls ? 443 : 80;
    why = plen > 0 ? zt_config_path_problem(path, plen) : NULL;
    if (why != NULL) {
        zt_config_bad(c, v, "path %s", why);
        return;
    }
    if (plen > 0 && path[plen - 1] == '/')
        plen--;
    zt_config_resolve(c, v, host, port, up);
    up->tls = tls;
    up->host = host[0] == '[' ? zt_config_strndup(c, host + 1, strlen(host) - 2)
                              : zt_config_strndup(c, host, strlen(host));
    up->url = zt_config_strndup(c, v->s, v->len);
    up->host_header = zt_config_strndup(c, auth, alen);
    up->base_path = zt_config_strndup(c, path, plen);
}

/* ---------------------------------------------------------------------------------------------
 * Reading nodes */

typedef void (*zt_config_parse_fn)(zt_config_ctx *c, const zt_config_val *v);

static zt_config_parse_fn zt_config_scalar_parser(zt_config_kind kind)
{
    static const zt_config_parse_fn fns[] = {
        [ZT_K_STR] = zt_config_parse_str,         [ZT_K_BOOL] = zt_config_parse_bool,
        [ZT_K_UINT] = zt_config_parse_number,     [ZT_K_SIZE] = zt_config_parse_number,
        [ZT_K_DURATION] = zt_config_parse_number, [ZT_K_ENUM] = zt_config_parse_enum,
        [ZT_K_ADDR] = zt_config_parse_addr,       [ZT_K_URL] = zt_config_parse_url,
        [ZT_K_NAME] = zt_config_parse_name,       [ZT_K_HOST] = zt_config_parse_host,
        [ZT_K_PREFIX] = zt_config_parse_prefix,   [ZT_K_CLOCK] = zt_config_parse_clock,
        [ZT_K_TZ] = zt_config_parse_tz,           [ZT_K_FREQ] = zt_config_parse_freq,
        [ZT_K_TARGET] = zt_config_parse_target,
    };
    return (size_t)kind < sizeof(fns) / sizeof(fns[0]) ? fns[kind] : NULL;
}

static yaml_node_t *zt_config_node(zt_config_ctx *c, int id)
{
    return yaml_document_get_node(&c->doc, id);
}

/* A plain empty, "~" or "null" scalar is YAML's null: the key was written without a value. */
static bool zt_config_is_null(const yaml_node_t *n)
{
    static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};
    if (n->type != YAML_SCALAR_NODE || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
        return false;
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (strcmp((const char *)n->data.scalar.value, nulls[i]) == 0)
            return true;
    return false;
}

static const char *zt_config_got(const yaml_node_t *n)
{
    if (n->type == YAML_MAPPING_NODE)
        return "a mapping";
    if (n->type == YAML_SEQUENCE_NODE)
        return "a list";
    return "no value";
}

/* True when n has the YAML shape `type`; otherwise reports what was found instead. */
static bool zt_config_expect(zt_config_ctx *c, yaml_node_t *n, yaml_node_type_t type,
                             const char *path, const char *what)
{
    char shown[ZT_CONFIG_SHOW_MAX + 4];
    if (n->type == type && !zt_config_is_null(n))
        return true;
    if (n->type == YAML_SCALAR_NODE && !zt_config_is_null(n))
        zt_config_err(
            c, n, "'%s' must be %s (got '%s')", path, what,
            zt_config_show((const char *)n->data.scalar.value, n->data.scalar.length, shown));
    else
        zt_config_err(c, n, "'%s' must be %s (got %s)", path, what, zt_config_got(n));
    return false;
}

static void zt_config_read_scalar(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n, char *t,
                                  const char *path)
{
    zt_buf what;
    zt_buf_init(&what, 0);
    bool ok = zt_config_expect(c, n, YAML_SCALAR_NODE, path, zt_config_describe(k, &what));
    zt_buf_dispose(&what);
    if (!ok)
        return;
    zt_config_val v = {k, n, (const char *)n->data.scalar.value, n->data.scalar.length, t, path};
    if (strlen(v.s) != v.len) {
        zt_config_err(c, n, "'%s' must not contain NUL bytes", path);
        return;
    }
    zt_config_scalar_parser(k->kind)(c, &v);
}

static void zt_config_walk_map(zt_config_ctx *c, const zt_config_section *sec, yaml_node_t *map,
                               char *target, const char *path);
static void zt_config_walk_at(zt_config_ctx *c, const zt_config_section *sec, yaml_node_t *map,
                              const yaml_node_t *at, char *target, const char *path);

/* The table of a section or list key: its own, or for ZT_CFG_MODULE the one the owning module
 * registered under the key's name. A module missing from zt_config_modules is a build mistake
 * (tests/unit/test_config.c checks every such key); it reads as a section without keys. */
static const zt_config_section *zt_config_sub(const zt_config_key *k)
{
    static const zt_config_section none = {NULL, 0, NULL};
    if (!(k->flags & ZT_CFG_MODULE))
        return k->sub;
    for (size_t i = 0; i < zt_config_n_modules; i++)
        if (strcmp(zt_config_modules[i]->name, k->name) == 0)
            return zt_config_modules[i]->section;
    return &none;
}

zt_config *zt_config_target(zt_config_ctx *c)
{
    return c->cfg;
}

/* `auth:` with nothing under it (or `auth: {}`) is the section with every key at its default,
 * exactly as when it is left out, except that required keys are asked for. */
static void zt_config_read_section(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n,
                                   char *t, const char *path)
{
    bool empty = zt_config_is_null(n);
    if (!empty && !zt_config_expect(c, n, YAML_MAPPING_NODE, path, "a mapping")) {
        zt_config_walk_map(c, zt_config_sub(k), NULL, t + k->off, path);
        return;
    }
    if (k->flags & ZT_CFG_PRESENT)
        zt_config_put_uint(t + k->aux, sizeof(bool), 1);
    if (empty)
        zt_config_walk_at(c, zt_config_sub(k), NULL, n, t + k->off, path);
    else
        zt_config_walk_map(c, zt_config_sub(k), n, t + k->off, path);
}

/* Items of a list node, after checking the count against the key's bounds. */
static bool zt_config_items(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n,
                            const char *path, size_t *count)
{
    /* `policies:` with nothing under it is the empty list, like `policies: []`. */
    if (zt_config_is_null(n))
        *count = 0;
    else if (!zt_config_expect(c, n, YAML_SEQUENCE_NODE, path, zt_config_what(k->kind)))
        return false;
    else
        *count = (size_t)(n->data.sequence.items.top - n->data.sequence.items.start);
    if (*count < k->min || *count > k->max) {
        zt_config_err(c, n, "'%s' must have %llu to %llu entries (got %zu)", path,
                      (unsigned long long)k->min, (unsigned long long)k->max, *count);
        return false;
    }
    return true;
}

static void zt_config_read_list(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n, char *t,
                                const char *path)
{
    size_t count;
    char item_path[ZT_CONFIG_PATH_MAX];
    if (!zt_config_items(c, k, n, path, &count))
        return;
    char *items = zt_config_zalloc(c, count * k->item_size);
    if (items == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zt_config_node(c, n->data.sequence.items.start[i]);
        zt_config_item_path(item_path, path, i);
        if (item == NULL || !zt_config_expect(c, item, YAML_MAPPING_NODE, item_path, "a mapping"))
            item = NULL;
        zt_config_walk_map(c, zt_config_sub(k), item, items + i * k->item_size, item_path);
    }
    zt_config_put_ptr(t + k->off, items);
    zt_config_put_uint(t + k->aux, sizeof(size_t), count);
}

static void zt_config_read_cidrs(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n, char *t,
                                 const char *path)
{
    size_t count;
    char item_path[ZT_CONFIG_PATH_MAX];
    if (!zt_config_items(c, k, n, path, &count))
        return;
    zt_cidr *cidrs = zt_config_zalloc(c, count * sizeof(zt_cidr));
    if (cidrs == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zt_config_node(c, n->data.sequence.items.start[i]);
        zt_config_item_path(item_path, path, i);
        if (item == NULL || !zt_config_expect(c, item, YAML_SCALAR_NODE, item_path, "a CIDR block"))
            continue;
        zt_config_val v = {
            k, item, (const char *)item->data.scalar.value, item->data.scalar.length, t, item_path};
        if (strlen(v.s) != v.len || !zt_cidr_parse(v.s, &cidrs[i]))
            zt_config_bad(c, &v, "must be a CIDR block like 10.0.0.0/8 with the host bits zero");
    }
    zt_config_put_ptr(t + k->off, cidrs);
    zt_config_put_uint(t + k->aux, sizeof(size_t), count);
}

/* A list of strings, each kept with its position (zt_cfg_word). */
static void zt_config_read_strs(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n, char *t,
                                const char *path)
{
    size_t count;
    char item_path[ZT_CONFIG_PATH_MAX];
    if (!zt_config_items(c, k, n, path, &count))
        return;
    zt_cfg_word *words = zt_config_zalloc(c, count * sizeof(zt_cfg_word));
    if (words == NULL)
        return;
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zt_config_node(c, n->data.sequence.items.start[i]);
        zt_config_item_path(item_path, path, i);
        if (item == NULL || !zt_config_expect(c, item, YAML_SCALAR_NODE, item_path, "a string"))
            continue;
        const char *s = (const char *)item->data.scalar.value;
        size_t len = item->data.scalar.length;
        if (len == 0 || strlen(s) != len) {
            zt_config_err(c, item, "'%s' must be a non-empty string without NUL bytes", item_path);
            continue;
        }
        words[i].s = zt_config_strndup(c, s, len);
        words[i].line = (unsigned)item->start_mark.line + 1;
        words[i].col = (unsigned)item->start_mark.column + 1;
    }
    zt_config_put_ptr(t + k->off, words);
    zt_config_put_uint(t + k->aux, sizeof(size_t), count);
}

/* A list of names[] words stored as a bit mask (bit i for names[i]); each word at most once. */
static void zt_config_read_flags(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n, char *t,
                                 const char *path)
{
    size_t count;
    char item_path[ZT_CONFIG_PATH_MAX];
    uint64_t mask = 0;
    zt_buf what;
    if (!zt_config_items(c, k, n, path, &count))
        return;
    zt_buf_init(&what, 0);
    const char *desc = zt_config_describe(k, &what);
    for (size_t i = 0; i < count; i++) {
        yaml_node_t *item = zt_config_node(c, n->data.sequence.items.start[i]);
        zt_config_item_path(item_path, path, i);
        if (item == NULL || !zt_config_expect(c, item, YAML_SCALAR_NODE, item_path, desc))
            continue;
        zt_config_val v = {
            k, item, (const char *)item->data.scalar.value, item->data.scalar.length, t, item_path};
        size_t j = 0;
        while (k->names[j] != NULL &&
               (strlen(k->names[j]) != v.len || memcmp(k->names[j], v.s, v.len) != 0))
            j++;
        if (k->names[j] == NULL)
            zt_config_bad(c, &v, "must be %s", desc);
        else if (mask & (1ull << j))
            zt_config_bad(c, &v, "is listed twice");
        else
            mask |= 1ull << j;
    }
    zt_buf_dispose(&what);
    zt_config_put_uint(t + k->off, k->size, mask);
}

static void zt_config_read_value(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n, char *t,
                                 const char *path)
{
    switch (k->kind) {
    case ZT_K_SECTION:
        zt_config_read_section(c, k, n, t, path);
        break;
    case ZT_K_LIST:
        zt_config_read_list(c, k, n, t, path);
        break;
    case ZT_K_CIDRS:
        zt_config_read_cidrs(c, k, n, t, path);
        break;
    case ZT_K_STRS:
        zt_config_read_strs(c, k, n, t, path);
        break;
    case ZT_K_FLAGS:
        zt_config_read_flags(c, k, n, t, path);
        break;
    default:
        zt_config_read_scalar(c, k, n, t, path);
        if (k->flags & ZT_CFG_PRESENT)
            zt_config_put_uint(t + k->aux, sizeof(bool), 1);
        break;
    }
}

/* ---------------------------------------------------------------------------------------------
 * Walking a mapping through its key table */

static int zt_config_find_key(const zt_config_section *sec, const char *name)
{
    for (size_t i = 0; i < sec->n; i++)
        if (strcmp(sec->keys[i].name, name) == 0)
            return (int)i;
    return -1;
}

static void zt_config_unknown_key(zt_config_ctx *c, const zt_config_walk *w, const yaml_node_t *k)
{
    char shown[ZT_CONFIG_SHOW_MAX + 4], where[ZT_CONFIG_PATH_MAX + 8];
    zt_buf list;
    zt_buf_init(&list, 0);
    for (size_t i = 0; i < w->sec->n; i++)
        zt_buf_printf(&list, "%s%s", i ? ", " : "", w->sec->keys[i].name);
    zt_buf_cstr(&list);
    if (w->path[0] == '\0')
        snprintf(where, sizeof(where), "at top level");
    else
        snprintf(where, sizeof(where), "in '%s'", w->path);
    zt_config_err(c, k, "unknown key '%s' %s (expected one of: %s)",
                  zt_config_show((const char *)k->data.scalar.value, k->data.scalar.length, shown),
                  where, list.data ? list.data : "");
    zt_buf_dispose(&list);
}

static void zt_config_walk_pair(zt_config_ctx *c, zt_config_walk *w, const yaml_node_pair_t *pair)
{
    char path[ZT_CONFIG_PATH_MAX];
    yaml_node_t *k = zt_config_node(c, pair->key), *v = zt_config_node(c, pair->value);
    if (k == NULL || v == NULL)
        return;
    if (k->type != YAML_SCALAR_NODE) {
        zt_config_err(c, k, "keys must be plain names (got %s)", zt_config_got(k));
        return;
    }
    int i = zt_config_find_key(w->sec, (const char *)k->data.scalar.value);
    if (i < 0 || strlen((const char *)k->data.scalar.value) != k->data.scalar.length) {
        zt_config_unknown_key(c, w, k);
        return;
    }
    zt_config_path(path, w->path, w->sec->keys[i].name);
    if (w->key[i] != NULL) {
        zt_config_err(c, k, "duplicate key '%s' (first at line %lu)", path,
                      (unsigned long)w->key[i]->start_mark.line + 1);
        return;
    }
    w->key[i] = k;
    w->val[i] = v;
    zt_config_read_value(c, &w->sec->keys[i], v, w->target, path);
}

/* No fixed bound: every such key of every section, written or not, gets its default. */
static void zt_config_defer_state_path(zt_config_ctx *c, const zt_config_key *k, char *t)
{
    zt_config_state_path *sp = zt_config_zalloc(c, sizeof(*sp));
    if (sp == NULL)
        return;
    sp->slot = (char **)(void *)(t + k->off);
    sp->rel = k->def;
    sp->next = c->state_paths;
    c->state_paths = sp;
}

/* A key that was not written: required → error; else its default. The one place defaults are
 * applied, for sections written, written empty or left out alike. */
static void zt_config_absent(zt_config_ctx *c, const zt_config_walk *w, const zt_config_key *k)
{
    char path[ZT_CONFIG_PATH_MAX];
    zt_config_path(path, w->path, k->name);
    if ((k->flags & ZT_CFG_REQUIRED) && w->at != NULL) {
        if (w->path[0] == '\0')
            zt_config_err(c, w->at, "missing required key '%s'", k->name);
        else
            zt_config_err(c, w->at, "missing required key '%s' in '%s'", k->name, w->path);
        return;
    }
    if (k->kind == ZT_K_SECTION) {
        zt_config_walk_map(c, zt_config_sub(k), NULL, w->target + k->off, path);
    } else if (k->flags & ZT_CFG_IN_STATE_DIR) {
        zt_config_defer_state_path(c, k, w->target);
    } else if (k->def != NULL && zt_config_scalar_parser(k->kind) != NULL) {
        zt_config_val v = {k, NULL, k->def, strlen(k->def), w->target, path};
        zt_config_scalar_parser(k->kind)(c, &v);
    }
}

/* map NULL: the section was not written (or was not a mapping); fill in defaults only. */
static void zt_config_walk_map(zt_config_ctx *c, const zt_config_section *sec, yaml_node_t *map,
                               char *target, const char *path)
{
    zt_config_walk_at(c, sec, map, map, target, path);
}

static void zt_config_walk_at(zt_config_ctx *c, const zt_config_section *sec, yaml_node_t *map,
                              const yaml_node_t *at, char *target, const char *path)
{
    zt_config_walk w;
    memset(&w, 0, sizeof(w));
    w.sec = sec;
    w.map = map;
    w.at = at;
    w.target = target;
    w.path = path;
    if (map != NULL)
        for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top;
             p++)
            zt_config_walk_pair(c, &w, p);
    for (size_t i = 0; i < sec->n; i++)
        if (w.key[i] == NULL)
            zt_config_absent(c, &w, &sec->keys[i]);
    if (map != NULL && sec->check != NULL)
        sec->check(c, &w);
}

/* The node written for key `name` in this mapping, or NULL. */
char *zt_config_printf(zt_config_ctx *c, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    char *out = n < 0 ? NULL : zt_arena_alloc(c->arena, (size_t)n + 1);
    if (out == NULL) {
        zt_config_err_at(c, 0, 0, "out of memory");
        return NULL;
    }
    va_start(ap, fmt);
    vsnprintf(out, (size_t)n + 1, fmt, ap);
    va_end(ap);
    return out;
}

yaml_node_t *zt_config_seen(const zt_config_walk *w, const char *name)
{
    int i = zt_config_find_key(w->sec, name);
    return i < 0 ? NULL : w->val[i];
}

/* ---------------------------------------------------------------------------------------------
 * Cross-key checks */

void zt_config_check_file(zt_config_ctx *c, const zt_config_walk *w, const char *key,
                          const char *file, const char *hint)
{
    char path[ZT_CONFIG_PATH_MAX];
    struct stat st;
    const char *why = NULL;
    if (file == NULL)
        return;
    if (stat(file, &st) != 0 || access(file, R_OK) != 0)
        why = strerror(errno);
    else if (!S_ISREG(st.st_mode))
        why = "not a regular file";
    if (why == NULL)
        return;
    zt_config_path(path, w->path, key);
    zt_config_err(c, zt_config_seen(w, key), "'%s' file '%s' cannot be read: %s%s", path, file, why,
                  hint);
}

/* The proxy and admin listeners read these at start; catch a wrong path now, not at bind. */
static void zt_config_check_tls(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_tls_cfg *tls = (const zt_tls_cfg *)(void *)w->target;
    if (tls->self_signed)
        return;
    static const char hint[] = " (or set self_signed: true to create it)";
    zt_config_check_file(c, w, "cert", tls->cert_file, hint);
    zt_config_check_file(c, w, "key", tls->key_file, hint);
}

static void zt_config_resolve_state_paths(zt_config_ctx *c)
{
    const char *dir = c->cfg->state_dir;
    if (dir == NULL)
        return;
    size_t dlen = strlen(dir);
    bool slash = dlen > 0 && dir[dlen - 1] == '/';
    for (zt_config_state_path *sp = c->state_paths; sp != NULL; sp = sp->next) {
        const char *rel = sp->rel;
        size_t rlen = strlen(rel), n = dlen + !slash + rlen;
        char *p = zt_config_zalloc(c, n + 1);
        if (p == NULL)
            return;
        memcpy(p, dir, dlen);
        if (!slash)
            p[dlen] = '/';
        memcpy(p + dlen + !slash, rel, rlen);
        *sp->slot = p;
    }
}

/* ---------------------------------------------------------------------------------------------
 * For the modules' checks: errors at a word, where a mapping starts; the root check runs every
 * module's check of the whole file once it was read. */

#define ZT_CONFIG_LOCATIONS_MAX 256  /* named locations (Entra allows 195) */
#define ZT_CONFIG_POLICIES_MAX 10000 /* ZT_POLICY_MAX in policy/policy.h */
#define ZT_CONFIG_PLAYBOOKS_MAX 64

void zt_config_word_err(zt_config_ctx *c, const zt_cfg_word *w, const char *fmt, ...)
{
    char what[256], shown[ZT_CONFIG_SHOW_MAX + 4];
    if (w->s == NULL)
        return; /* not a string: already reported where it was read */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof(what), fmt, ap);
    va_end(ap);
    zt_config_err_at(c, w->line, w->col, "'%s' %s", zt_config_show(w->s, strlen(w->s), shown),
                     what);
}

void zt_config_mark(const zt_config_walk *w, unsigned *line, unsigned *col)
{
    *line = (unsigned)w->map->start_mark.line + 1;
    *col = (unsigned)w->map->start_mark.column + 1;
}

static void zt_config_check_root(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_config_resolve_state_paths(c);
    if (c->cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->cfg->workers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    for (size_t i = 0; i < zt_config_n_modules; i++)
        if (zt_config_modules[i]->check_all != NULL)
            zt_config_modules[i]->check_all(c);
}

/* ---------------------------------------------------------------------------------------------
 * The schema of the file's top level and of core's own sections (log, the shared tls mapping);
 * every other section's table is its module's (core/config_schema.h, src/config_tables.c).
 * Keep docs/CONFIG.md in step with these tables. */

const char *const zt_config_sensitivities[] = {"public", "internal", "confidential", "restricted",
                                               NULL};
static const char *const zt_config_levels[] = {"debug", "info", "warn", "error", NULL};
static const zt_config_key zt_config_tls_keys[] = {
    {"cert", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_tls_cfg, cert_file)},
    {"key", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_tls_cfg, key_file)},
    {"self_signed", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_tls_cfg, self_signed), .def = "false"},
};
_Static_assert(sizeof(zt_config_tls_keys) / sizeof(zt_config_tls_keys[0]) <= ZT_CONFIG_MAX_KEYS,
               "tls keys");
const zt_config_section zt_config_tls_section = {
    zt_config_tls_keys, sizeof(zt_config_tls_keys) / sizeof(zt_config_tls_keys[0]),
    zt_config_check_tls};

static const zt_config_key zt_config_log_keys[] = {
    {"access", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_log_cfg, access_path), .def = "-"},
    {"error", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_log_cfg, error_path), .def = "-"},
    {"level", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_log_cfg, level), .def = "info",
     .names = zt_config_levels},
};
ZT_CONFIG_SECTION(zt_config_log, zt_config_log_keys, NULL);

bool zt_config_in_list(const char *s, const char *const *names)
{
    for (size_t i = 0; s != NULL && names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

/* The slots of the file's top level. A ZT_CFG_MODULE slot says where its section goes in
 * zt_config and how many list items it may have; the keys are the owning module's. Gateway keys
 * live directly in zt_config, so the gateway section's target is the config. */
static const zt_config_key zt_config_root_keys[] = {
    {"state_dir", ZT_K_STR, 0, ZT_FIELD(zt_config, state_dir), .def = "./data"},
    {"gateway", ZT_K_SECTION, ZT_CFG_REQUIRED | ZT_CFG_MODULE, .off = 0},
    {"log", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_config, log), .sub = &zt_config_log},
    {"admin", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, admin)},
    {"store", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, store)},
    {"audit", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, audit)},
    {"auth", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, auth)},
    {"devices", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, devices)},
    {"risk", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, risk)},
    {"idp", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, idp)},
    {"apps", ZT_K_LIST, ZT_CFG_REQUIRED | ZT_CFG_RELOAD | ZT_CFG_MODULE,
     .off = offsetof(zt_config, apps), .aux = offsetof(zt_config, n_apps), .min = 1, .max = 10000,
     .item_size = sizeof(zt_app_cfg)},
    {"locations", ZT_K_LIST, ZT_CFG_RELOAD | ZT_CFG_MODULE, .off = offsetof(zt_config, locations),
     .aux = offsetof(zt_config, n_locations), .min = 0, .max = ZT_CONFIG_LOCATIONS_MAX,
     .item_size = sizeof(zt_location_cfg)},
    {"policies", ZT_K_LIST, ZT_CFG_RELOAD | ZT_CFG_MODULE, .off = offsetof(zt_config, policies),
     .aux = offsetof(zt_config, n_policies), .min = 0, .max = ZT_CONFIG_POLICIES_MAX,
     .item_size = sizeof(zt_policy_cfg)},
    {"incidents", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, incidents)},
    {"playbooks", ZT_K_LIST, ZT_CFG_MODULE, .off = offsetof(zt_config, playbooks),
     .aux = offsetof(zt_config, n_playbooks), .min = 0, .max = ZT_CONFIG_PLAYBOOKS_MAX,
     .item_size = sizeof(zt_playbook_cfg)},
    {"scim", ZT_K_SECTION, ZT_CFG_MODULE, .off = offsetof(zt_config, scim)},
    {"oidc_providers", ZT_K_LIST, ZT_CFG_RELOAD | ZT_CFG_MODULE,
     .off = offsetof(zt_config, oidc_providers), .aux = offsetof(zt_config, n_oidc_providers),
     .min = 0, .max = 64, .item_size = sizeof(zt_oidc_provider_cfg)},
    {"ldap_directories", ZT_K_LIST, ZT_CFG_MODULE, .off = offsetof(zt_config, ldap_directories),
     .aux = offsetof(zt_config, n_ldap_directories), .min = 0, .max = ZT_CONFIG_LDAP_MAX,
     .item_size = sizeof(zt_ldap_cfg)},
};
ZT_CONFIG_SECTION(zt_config_root, zt_config_root_keys, zt_config_check_root);

const char *zt_sensitivity_name(zt_sensitivity s)
{
    if ((unsigned)s >= sizeof(zt_config_sensitivities) / sizeof(zt_config_sensitivities[0]) - 1)
        return "unknown";
    return zt_config_sensitivities[s];
}

/* ---------------------------------------------------------------------------------------------
 * YAML document */

/* libyaml has no line/column for reader (encoding) errors, only a byte offset. */
static void zt_config_offset_mark(const zt_config_ctx *c, size_t off, unsigned *line, unsigned *col)
{
    *line = 1;
    *col = 1;
    for (size_t i = 0; i < off && i < c->len; i++) {
        if (c->data[i] == '\n') {
            (*line)++;
            *col = 1;
        } else if (((unsigned char)c->data[i] & 0xC0) != 0x80) {
            (*col)++;
        }
    }
}

static void zt_config_syntax_err(zt_config_ctx *c, const yaml_parser_t *p)
{
    unsigned line = (unsigned)p->problem_mark.line + 1, col = (unsigned)p->problem_mark.column + 1;
    const char *problem = p->problem ? p->problem : "invalid YAML";
    if (p->error == YAML_MEMORY_ERROR) {
        zt_config_oom(c);
        return;
    }
    if (p->error == YAML_READER_ERROR)
        zt_config_offset_mark(c, p->problem_offset, &line, &col);
    /* The context ("while scanning a simple key") often starts lines earlier than the problem. */
    if (p->context != NULL && p->error != YAML_READER_ERROR &&
        (p->context_mark.line != p->problem_mark.line ||
         p->context_mark.column != p->problem_mark.column))
        zt_config_err_at(c, line, col, "YAML syntax error: %s %s at line %lu column %lu", problem,
                         p->context, (unsigned long)p->context_mark.line + 1,
                         (unsigned long)p->context_mark.column + 1);
    else if (p->context != NULL && p->error != YAML_READER_ERROR)
        zt_config_err_at(c, line, col, "YAML syntax error: %s %s", problem, p->context);
    else
        zt_config_err_at(c, line, col, "YAML syntax error: %s", problem);
}

/* A second document in the stream would be silently ignored; refuse it. */
static void zt_config_check_single_doc(zt_config_ctx *c, yaml_parser_t *p)
{
    yaml_document_t next;
    if (!yaml_parser_load(p, &next)) {
        zt_config_syntax_err(c, p);
        return;
    }
    yaml_node_t *root = yaml_document_get_root_node(&next);
    if (root != NULL)
        zt_config_err(c, root, "only one YAML document is allowed");
    yaml_document_delete(&next);
}

/* Loads c->doc; false (with errors reported) when there is no document to read. */
static bool zt_config_load_doc(zt_config_ctx *c)
{
    yaml_parser_t p;
    if (!yaml_parser_initialize(&p)) {
        zt_config_oom(c);
        return false;
    }
    yaml_parser_set_input_string(&p, (const unsigned char *)c->data, c->len);
    if (!yaml_parser_load(&p, &c->doc)) {
        zt_config_syntax_err(c, &p);
        yaml_parser_delete(&p);
        return false;
    }
    if (yaml_document_get_root_node(&c->doc) != NULL)
        zt_config_check_single_doc(c, &p);
    yaml_parser_delete(&p);
    return true;
}

/* Counts one more reference to node id, saturating at 2; true when it is referenced twice. */
static bool zt_config_ref(unsigned char *refs, size_t n, int id)
{
    if (id < 1 || (size_t)id > n)
        return false;
    if (refs[id] < 2)
        refs[id]++;
    return refs[id] > 1;
}

/* Aliases make one node appear in several places (and can form cycles); the schema has no use
 * for them, so a node referenced more than once is refused. */
static bool zt_config_has_aliases(zt_config_ctx *c)
{
    size_t n = (size_t)(c->doc.nodes.top - c->doc.nodes.start);
    unsigned char *refs = calloc(n + 1, 1);
    bool found = false;
    if (refs == NULL) {
        zt_config_oom(c);
        return true;
    }
    for (yaml_node_t *node = c->doc.nodes.start; node < c->doc.nodes.top; node++) {
        if (node->type == YAML_SEQUENCE_NODE) {
            for (yaml_node_item_t *it = node->data.sequence.items.start;
                 it < node->data.sequence.items.top; it++)
                found |= zt_config_ref(refs, n, *it);
        } else if (node->type == YAML_MAPPING_NODE) {
            for (yaml_node_pair_t *pr = node->data.mapping.pairs.start;
                 pr < node->data.mapping.pairs.top; pr++) {
                found |= zt_config_ref(refs, n, pr->key);
                found |= zt_config_ref(refs, n, pr->value);
            }
        }
    }
    for (size_t i = 1; i <= n && found; i++)
        if (refs[i] > 1)
            zt_config_err(c, zt_config_node(c, (int)i),
                          "YAML anchors and aliases are not supported");
    free(refs);
    return found;
}

static void zt_config_read_doc(zt_config_ctx *c)
{
    yaml_node_t *root = yaml_document_get_root_node(&c->doc);
    if (root == NULL) {
        zt_config_err_at(c, 1, 1, "the configuration is empty");
        return;
    }
    if (zt_config_has_aliases(c))
        return;
    if (!zt_config_expect(c, root, YAML_MAPPING_NODE, "configuration", "a mapping of keys"))
        return;
    zt_config_walk_map(c, &zt_config_root, root, (char *)c->cfg, "");
}

/* ---------------------------------------------------------------------------------------------
 * Public entry points */

zt_config *zt_config_load_mem(const char *name, const char *data, size_t len, zt_diags *diags)
{
    zt_config_box *box = calloc(1, sizeof(*box));
    if (box == NULL) {
        zt_diag_add(diags, name, 0, 0, "out of memory");
        return NULL;
    }
    zt_arena_init(&box->arena, 4096, 0);
    zt_config_ctx c = {.file = name, .data = data, .len = len, .diags = diags};
    c.cfg = &box->cfg;
    c.arena = &box->arena;
    box->cfg.path = zt_config_strndup(&c, name, strlen(name));
    if (len > ZT_CONFIG_MAX_BYTES) {
        zt_config_err_at(&c, 0, 0, "file is larger than %u MiB", ZT_CONFIG_MAX_BYTES >> 20);
    } else if (zt_config_load_doc(&c)) {
        zt_config_read_doc(&c);
        yaml_document_delete(&c.doc);
    }
    if (c.errors > 0) {
        zt_config_free(&box->cfg);
        return NULL;
    }
    return &box->cfg;
}

zt_config *zt_config_load(const char *path, zt_diags *diags)
{
    zt_buf b;
    zt_config *cfg = NULL;
    zt_buf_init(&b, ZT_CONFIG_MAX_BYTES);
    int rc = zt_read_file(path, &b);
    if (rc == -E2BIG)
        zt_diag_add(diags, path, 0, 0, "file is larger than %u MiB", ZT_CONFIG_MAX_BYTES >> 20);
    else if (rc < 0)
        zt_diag_add(diags, path, 0, 0, "cannot read: %s", strerror(-rc));
    else
        cfg = zt_config_load_mem(path, b.data ? b.data : "", b.len, diags);
    zt_buf_dispose(&b);
    return cfg;
}

void zt_config_free(zt_config *cfg)
{
    if (cfg == NULL)
        return;
    zt_config_box *box = (zt_config_box *)(void *)cfg;
    zt_arena_dispose(&box->arena);
    free(box);
}
