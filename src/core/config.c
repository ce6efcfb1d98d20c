/* Configuration loader: YAML (libyaml document API) read into the typed zt_config through one
 * declarative key table per section. It must never accept a file it did not fully understand:
 * unknown keys, wrong types and out-of-range values are errors, and every error is reported. */
#include "core/config.h"

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
#include "lib/str.h"

#define ZT_CONFIG_MAX_BYTES (4u << 20) /* larger files are refused, not half-read */
#define ZT_CONFIG_MAX_DIAGS 200u       /* printed; the rest are only counted */
#define ZT_CONFIG_MAX_KEYS 20          /* keys per section (checked at compile time) */
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
 * Tables: types */

typedef enum zt_config_kind {
    ZT_K_STR,      /* non-empty string */
    ZT_K_BOOL,     /* true | false */
    ZT_K_UINT,     /* decimal, min..max */
    ZT_K_SIZE,     /* 32KiB, min..max bytes */
    ZT_K_DURATION, /* 500ms, 10s, 5m, 12h; min..max milliseconds */
    ZT_K_ENUM,     /* one of names[]; stores the index */
    ZT_K_ADDR,     /* IP:PORT; string at off, sockaddr_storage at aux */
    ZT_K_URL,      /* http upstream; zt_upstream_cfg at off */
    ZT_K_NAME,     /* app name */
    ZT_K_HOST,     /* host name or IP literal, lowercased */
    ZT_K_PREFIX,   /* URL path prefix, normalised */
    ZT_K_CIDRS,    /* list of CIDR blocks; zt_cidr * at off, size_t count at aux */
    ZT_K_SECTION,  /* mapping read with sub; struct at off */
    ZT_K_LIST,     /* list of mappings read with sub; array at off, size_t count at aux */
    ZT_K_STRS,     /* list of strings; zt_cfg_word * at off, size_t count at aux */
    ZT_K_FLAGS,    /* list of names[] words; unsigned bit mask (1 << index) at off */
    ZT_K_CLOCK,    /* "HH:MM"; unsigned minutes after midnight */
    ZT_K_TZ,       /* "UTC", "+09:00" or an IANA zone name found in ZT_CONFIG_ZONEINFO */
    ZT_K_FREQ,     /* sign-in frequency: every_time (0) or a duration; int64_t seconds */
} zt_config_kind;

enum {
    ZT_CFG_REQUIRED = 1u << 0,
    ZT_CFG_RELOAD = 1u << 1,       /* may change on reload without a restart */
    ZT_CFG_IN_STATE_DIR = 1u << 2, /* default is def joined to state_dir */
    ZT_CFG_PRESENT = 1u << 3,      /* ZT_K_SECTION: bool at aux says whether it was written */
    /* (scalars too: the policy schema needs "not set" apart from every value) */
};

typedef struct zt_config_ctx zt_config_ctx;
typedef struct zt_config_walk zt_config_walk;
typedef struct zt_config_section zt_config_section;

typedef struct zt_config_key {
    const char *name;
    zt_config_kind kind;
    unsigned flags;
    size_t off, size;             /* target field */
    size_t aux;                   /* second field, see zt_config_kind */
    uint64_t min, max;            /* numbers: bounds; lists: item count */
    const char *def;              /* default, parsed exactly like text from the file; NULL = none */
    const char *const *names;     /* ZT_K_ENUM, NULL-terminated */
    const zt_config_section *sub; /* ZT_K_SECTION, ZT_K_LIST */
    size_t item_size;             /* ZT_K_LIST */
} zt_config_key;

struct zt_config_section {
    const zt_config_key *keys;
    size_t n;
    /* Cross-key rules, run after the keys of one written mapping were read. */
    void (*check)(zt_config_ctx *c, const zt_config_walk *w);
};

/* One mapping being read: which keys were seen where. Written or not, a section goes through
 * the same walk, so every key not written gets its table default in exactly one place
 * (zt_config_absent). */
struct zt_config_walk {
    const zt_config_section *sec;
    yaml_node_t *map;      /* NULL: absent or written empty (`auth:`), defaults only */
    const yaml_node_t *at; /* where the section was written (map or the empty value); NULL:
                              absent. Required keys are reported here. */
    yaml_node_t *key[ZT_CONFIG_MAX_KEYS];
    yaml_node_t *val[ZT_CONFIG_MAX_KEYS];
    char *target;
    const char *path;
};

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

static void zt_config_err_at(zt_config_ctx *c, unsigned line, unsigned col, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void zt_config_err(zt_config_ctx *c, const yaml_node_t *n, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void zt_config_bad(zt_config_ctx *c, const zt_config_val *v, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void zt_config_err_at(zt_config_ctx *c, unsigned line, unsigned col, const char *fmt, ...)
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

static void zt_config_err(zt_config_ctx *c, const yaml_node_t *n, const char *fmt, ...)
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

/* Split "host[:port]" (IPv6 in brackets); NULL or what is wrong. */
static const char *zt_config_hostport(const char *a, size_t n, char host[256], uint16_t *port)
{
    const char *colon = NULL;
    unsigned long long p = 80;
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

static void zt_config_parse_url(zt_config_ctx *c, const zt_config_val *v)
{
    zt_upstream_cfg *up = (zt_upstream_cfg *)(void *)(v->t + v->k->off);
    char host[256];
    uint16_t port;
    if (v->len >= 8 && zt_span_istarts((zt_span){v->s, v->len}, "https://")) {
        zt_config_err(c, v->n, "'%s' uses https: https upstreams are not supported yet", v->path);
        return;
    }
    if (!zt_span_istarts((zt_span){v->s, v->len}, "http://") || strpbrk(v->s + 7, "?#@") != NULL) {
        zt_config_bad(c, v, "must be %s", zt_config_what(ZT_K_URL));
        return;
    }
    const char *auth = v->s + 7;
    size_t alen = strcspn(auth, "/");
    const char *path = auth + alen;
    size_t plen = v->len - 7 - alen;
    const char *why = zt_config_hostport(auth, alen, host, &port);
    if (why != NULL) {
        zt_config_bad(c, v, "%s", why);
        return;
    }
    why = plen > 0 ? zt_config_path_problem(path, plen) : NULL;
    if (why != NULL) {
        zt_config_bad(c, v, "path %s", why);
        return;
    }
    if (plen > 0 && path[plen - 1] == '/')
        plen--;
    zt_config_resolve(c, v, host, port, up);
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

/* `auth:` with nothing under it (or `auth: {}`) is the section with every key at its default,
 * exactly as when it is left out, except that required keys are asked for. */
static void zt_config_read_section(zt_config_ctx *c, const zt_config_key *k, yaml_node_t *n,
                                   char *t, const char *path)
{
    bool empty = zt_config_is_null(n);
    if (!empty && !zt_config_expect(c, n, YAML_MAPPING_NODE, path, "a mapping")) {
        zt_config_walk_map(c, k->sub, NULL, t + k->off, path);
        return;
    }
    if (k->flags & ZT_CFG_PRESENT)
        zt_config_put_uint(t + k->aux, sizeof(bool), 1);
    if (empty)
        zt_config_walk_at(c, k->sub, NULL, n, t + k->off, path);
    else
        zt_config_walk_map(c, k->sub, n, t + k->off, path);
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
        zt_config_walk_map(c, k->sub, item, items + i * k->item_size, item_path);
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
        zt_config_walk_map(c, k->sub, NULL, w->target + k->off, path);
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
static yaml_node_t *zt_config_seen(const zt_config_walk *w, const char *name)
{
    int i = zt_config_find_key(w->sec, name);
    return i < 0 ? NULL : w->val[i];
}

/* ---------------------------------------------------------------------------------------------
 * Cross-key checks */

static void zt_config_check_file(zt_config_ctx *c, const zt_config_walk *w, const char *key,
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

static void zt_config_check_auth(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_auth_cfg *auth = (const zt_auth_cfg *)(void *)w->target;
    if (auth->breach_corpus != NULL)
        zt_config_check_file(c, w, "breached_passwords", auth->breach_corpus, "");
    if (auth->password_min_chars > auth->password_max_chars)
        zt_config_err(c, zt_config_seen(w, "password_min_length"),
                      "'password_min_length' is larger than 'password_max_length'");
    /* Each hashing thread holds argon2_memory while it runs: the product is the peak. */
    if (auth->argon2_memory * auth->hash_threads > (1ull << 30)) {
        const yaml_node_t *at = zt_config_seen(w, "hash_threads");
        if (at == NULL)
            at = zt_config_seen(w, "argon2_memory");
        zt_config_err(c, at != NULL ? at : w->map,
                      "'hash_threads' (%u) x 'argon2_memory' is above 1 GiB of hashing memory",
                      auth->hash_threads);
    }
}

/* TLS keys only make sense with transport tls, and a tls sink must be able to verify. */
static void zt_config_check_export(zt_config_ctx *c, const zt_config_walk *w)
{
    static const char *const tls_only[] = {"ca", "server_name", "insecure_skip_verify"};
    zt_export_cfg *x = (zt_export_cfg *)(void *)w->target;
    x->line = (unsigned)w->map->start_mark.line + 1;
    x->col = (unsigned)w->map->start_mark.column + 1;
    bool tls = x->transport == ZT_EXPORT_TLS;
    for (size_t i = 0; !tls && i < sizeof(tls_only) / sizeof(tls_only[0]); i++)
        if (zt_config_seen(w, tls_only[i]) != NULL)
            zt_config_err(c, zt_config_seen(w, tls_only[i]),
                          "'%s.%s' only applies to transport: tls", w->path, tls_only[i]);
    if (tls && x->ca_file == NULL && !x->insecure_skip_verify)
        zt_config_err(c, w->map,
                      "'%s' uses transport: tls and needs 'ca' to verify the server "
                      "(or insecure_skip_verify: true)",
                      w->path);
    if (tls && x->ca_file != NULL && x->insecure_skip_verify)
        zt_config_err(c, zt_config_seen(w, "insecure_skip_verify"),
                      "'%s': 'ca' and 'insecure_skip_verify' exclude each other", w->path);
    if (x->ca_file != NULL)
        zt_config_check_file(c, w, "ca", x->ca_file, "");
    bool ok = x->app_name != NULL && strlen(x->app_name) <= 48;
    for (size_t i = 0; ok && x->app_name[i] != '\0'; i++)
        ok = x->app_name[i] > ' ' && x->app_name[i] < 127;
    if (!ok && x->app_name != NULL)
        zt_config_err(c, zt_config_seen(w, "app_name"),
                      "'%s.app_name' must be 1 to 48 printable ASCII characters without spaces",
                      w->path);
}

/* Sink names identify the counters in metrics and logs. */
static void zt_config_check_audit(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_audit_cfg *a = (const zt_audit_cfg *)(void *)w->target;
    for (size_t j = 0; j < a->n_exports; j++)
        for (size_t i = 0; i < j; i++)
            if (a->exports[i].name != NULL && a->exports[j].name != NULL &&
                strcmp(a->exports[i].name, a->exports[j].name) == 0) {
                zt_config_err_at(c, a->exports[j].line, a->exports[j].col,
                                 "duplicate export name '%s' (first at line %u)",
                                 a->exports[j].name, a->exports[i].line);
                break;
            }
}

static void zt_config_check_app(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_app_cfg *app = (zt_app_cfg *)(void *)w->target;
    app->line = (unsigned)w->map->start_mark.line + 1;
    app->col = (unsigned)w->map->start_mark.column + 1;
    if ((app->path_match & ZT_PATH_MATCH_EXACT) && app->path_match != ZT_PATH_MATCH_EXACT)
        zt_config_err_at(c, app->line, app->col,
                         "app '%s': path_match 'exact' cannot be combined with other words",
                         app->name ? app->name : "?");
}

static bool zt_config_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

/* Index of an earlier app with the same name as app j, or SIZE_MAX. */
static size_t zt_config_same_name(const zt_config *cfg, size_t j)
{
    for (size_t i = 0; i < j; i++)
        if (cfg->apps[i].name != NULL && zt_config_str_eq(cfg->apps[i].name, cfg->apps[j].name))
            return i;
    return SIZE_MAX;
}

/* Index of an earlier app that app j would shadow (same host and path_prefix), or SIZE_MAX. */
static size_t zt_config_same_route(const zt_config *cfg, size_t j)
{
    const zt_app_cfg *b = &cfg->apps[j];
    for (size_t i = 0; i < j; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if (a->name != NULL && a->path_prefix != NULL && zt_config_str_eq(a->host, b->host) &&
            zt_config_str_eq(a->path_prefix, b->path_prefix))
            return i;
    }
    return SIZE_MAX;
}

/* Names identify apps in policies and logs; host+prefix identify them on the wire. Either
 * clash would make a request's app ambiguous. */
static void zt_config_check_apps(zt_config_ctx *c)
{
    const zt_config *cfg = c->cfg;
    for (size_t j = 0; j < cfg->n_apps; j++) {
        const zt_app_cfg *b = &cfg->apps[j];
        size_t i;
        if (b->name == NULL || b->path_prefix == NULL)
            continue; /* not a mapping, or already reported */
        if ((i = zt_config_same_name(cfg, j)) != SIZE_MAX)
            zt_config_err_at(c, b->line, b->col, "duplicate app name '%s' (first at line %u)",
                             b->name, cfg->apps[i].line);
        else if ((i = zt_config_same_route(cfg, j)) != SIZE_MAX)
            zt_config_err_at(c, b->line, b->col,
                             "app '%s' has the same host and path_prefix as app '%s' (line %u)",
                             b->name, cfg->apps[i].name, cfg->apps[i].line);
    }
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
 * Conditional Access checks: each list entry is checked where it was written; references
 * (apps, locations) once the whole file was read. */

#define ZT_CONFIG_LOCATIONS_MAX 256   /* named locations (Entra allows 195) */
#define ZT_CONFIG_LOCATION_CIDRS 2000 /* per location, as in Entra */
#define ZT_CONFIG_CIDRS_TOTAL 20000   /* over all locations: bounds the policy engine's trie */
#define ZT_CONFIG_POLICIES_MAX 10000  /* ZT_POLICY_MAX in policy/policy.h */
#define ZT_CONFIG_ASSIGN_MAX 1000     /* entries in one include or exclude list */

static void zt_config_word_err(zt_config_ctx *c, const zt_cfg_word *w, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void zt_config_word_err(zt_config_ctx *c, const zt_cfg_word *w, const char *fmt, ...)
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

static void zt_config_mark(const zt_config_walk *w, unsigned *line, unsigned *col)
{
    *line = (unsigned)w->map->start_mark.line + 1;
    *col = (unsigned)w->map->start_mark.column + 1;
}

static bool zt_config_is_keyword(const char *s)
{
    return strcmp(s, "all") == 0 || strcmp(s, "trusted") == 0;
}

static void zt_config_check_location(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_location_cfg *loc = (zt_location_cfg *)(void *)w->target;
    zt_config_mark(w, &loc->line, &loc->col);
    if (loc->name != NULL && zt_config_is_keyword(loc->name))
        zt_config_err(c, zt_config_seen(w, "name"),
                      "location name '%s' is reserved (it means %s in policies)", loc->name,
                      strcmp(loc->name, "all") == 0 ? "any location" : "every trusted location");
    if (loc->n_cidrs == 0 && loc->n_countries == 0)
        zt_config_err(c, w->map, "location '%s' needs cidrs or countries",
                      loc->name ? loc->name : "?");
    for (size_t i = 0; i < loc->n_countries; i++) {
        const char *s = loc->countries[i].s;
        if (s != NULL && (strlen(s) != 2 || s[0] < 'A' || s[0] > 'Z' || s[1] < 'A' || s[1] > 'Z'))
            zt_config_word_err(c, &loc->countries[i],
                               "is not a country code (two capital letters, ISO 3166-1, like JP)");
    }
}

/* Users: "all", "group:NAME" or an email address (one '@', text on both sides, no spaces). */
static bool zt_config_user_ref(const char *s)
{
    if (strcmp(s, "all") == 0)
        return true;
    if (strncmp(s, "group:", 6) == 0)
        return s[6] != '\0';
    const char *at = strchr(s, '@');
    return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
           strpbrk(s, " \t") == NULL;
}

static void zt_config_check_user_words(zt_config_ctx *c, const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].s != NULL && !zt_config_user_ref(v[i].s))
            zt_config_word_err(c, &v[i], "must be all, an email address or group:NAME");
}

static void zt_config_check_users(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_assign_cfg *a = (const zt_assign_cfg *)(void *)w->target;
    zt_config_check_user_words(c, a->include, a->n_include);
    zt_config_check_user_words(c, a->exclude, a->n_exclude);
}

static void zt_config_check_time(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_time_cond_cfg *t = (zt_time_cond_cfg *)(void *)w->target;
    yaml_node_t *tz = zt_config_seen(w, "timezone");
    zt_config_mark(w, &t->line, &t->col);
    if (tz != NULL) {
        t->line = (unsigned)tz->start_mark.line + 1;
        t->col = (unsigned)tz->start_mark.column + 1;
    }
    if (t->has_from != t->has_to)
        zt_config_err(c, w->map, "'%s' needs both 'from' and 'to'", w->path);
    else if (t->has_from && t->from_min == t->to_min)
        zt_config_err(c, zt_config_seen(w, "to"),
                      "'%s.to' equals 'from': the window would be empty (leave both out for all "
                      "day)",
                      w->path);
    else if (!t->has_from && t->days_mask == 0)
        zt_config_err(c, w->map, "'%s' needs days or from/to", w->path);
}

static void zt_config_check_grant(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_grant_cfg *g = (zt_grant_cfg *)(void *)w->target;
    const yaml_node_t *at = zt_config_seen(w, "controls");
    if (at == NULL)
        at = w->map;
    g->line = (unsigned)at->start_mark.line + 1;
    g->col = (unsigned)at->start_mark.column + 1;
    if (g->block && g->controls != 0)
        zt_config_err(c, zt_config_seen(w, "controls"),
                      "'%s' sets both block and controls: block wins, so the controls would never "
                      "be asked",
                      w->path);
}

static void zt_config_check_policy(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_policy_cfg *p = (zt_policy_cfg *)(void *)w->target;
    zt_config_mark(w, &p->line, &p->col);
    if (!p->grant.block && p->grant.controls == 0 && !p->session.has_sign_in_frequency &&
        p->session.restrict_flags == 0)
        zt_config_err(c, w->map,
                      "policy '%s' does nothing: set grant.block, grant.controls or a session "
                      "control",
                      p->name ? p->name : "?");
}

static const zt_location_cfg *zt_config_find_location(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_locations; i++)
        if (cfg->locations[i].name != NULL && strcmp(cfg->locations[i].name, name) == 0)
            return &cfg->locations[i];
    return NULL;
}

static bool zt_config_app_exists(const zt_config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].name != NULL && strcmp(cfg->apps[i].name, name) == 0)
            return true;
    return false;
}

static bool zt_config_sensitivity_ref(const char *s)
{
    for (int i = ZT_SENS_PUBLIC; i <= ZT_SENS_RESTRICTED; i++)
        if (strcmp(s, zt_sensitivity_name((zt_sensitivity)i)) == 0)
            return true;
    return false;
}

static void zt_config_check_app_words(zt_config_ctx *c, const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        const char *s = v[i].s;
        if (s == NULL || strcmp(s, "all") == 0)
            continue;
        if (strncmp(s, "sensitivity:", 12) == 0) {
            if (!zt_config_sensitivity_ref(s + 12))
                zt_config_word_err(c, &v[i],
                                   "names no sensitivity (public, internal, "
                                   "confidential, restricted)");
        } else if (!zt_config_app_exists(c->cfg, s)) {
            zt_config_word_err(c, &v[i], "is not an app name (see apps)");
        }
    }
}

static void zt_config_check_location_words(zt_config_ctx *c, const zt_cfg_word *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (v[i].s != NULL && !zt_config_is_keyword(v[i].s) &&
            zt_config_find_location(c->cfg, v[i].s) == NULL)
            zt_config_word_err(c, &v[i], "is not a location name (see locations)");
}

/* Names seen so far (policies, locations), so duplicates are found in one pass: open addressing
 * on an FNV-1a hash, exact (case-sensitive) compare. slot is NULL when there was no memory; the
 * callers then compare against every earlier name instead. */
typedef struct zt_config_name_slot {
    const char *name; /* NULL = empty */
    size_t index;
} zt_config_name_slot;

typedef struct zt_config_names {
    zt_config_name_slot *slot;
    size_t mask;
} zt_config_names;

static void zt_config_names_init(zt_config_names *t, size_t n)
{
    size_t cap = 16;
    while (cap < n * 2)
        cap *= 2;
    t->slot = calloc(cap, sizeof(*t->slot));
    t->mask = cap - 1;
}

/* The index of an earlier entry with this name, or SIZE_MAX after recording name at index. */
static size_t zt_config_names_add(zt_config_names *t, const char *name, size_t index)
{
    uint64_t h = 0xcbf29ce484222325ull;
    if (t->slot == NULL)
        return SIZE_MAX;
    for (const char *p = name; *p != '\0'; p++)
        h = (h ^ (unsigned char)*p) * 0x100000001b3ull;
    size_t j = (size_t)h & t->mask;
    for (; t->slot[j].name != NULL; j = (j + 1) & t->mask)
        if (strcmp(t->slot[j].name, name) == 0)
            return t->slot[j].index;
    t->slot[j] = (zt_config_name_slot){name, index};
    return SIZE_MAX;
}

static void zt_config_check_locations(zt_config_ctx *c)
{
    const zt_config *cfg = c->cfg;
    size_t total = 0;
    zt_config_names names;
    zt_config_names_init(&names, cfg->n_locations);
    for (size_t j = 0; j < cfg->n_locations; j++) {
        const zt_location_cfg *b = &cfg->locations[j];
        total += b->n_cidrs;
        if (b->name == NULL)
            continue;
        size_t i = zt_config_names_add(&names, b->name, j);
        for (size_t k = 0; names.slot == NULL && i == SIZE_MAX && k < j; k++)
            if (cfg->locations[k].name != NULL && strcmp(cfg->locations[k].name, b->name) == 0)
                i = k;
        if (i != SIZE_MAX)
            zt_config_err_at(c, b->line, b->col, "duplicate location name '%s' (first at line %u)",
                             b->name, cfg->locations[i].line);
    }
    free(names.slot);
    if (total > ZT_CONFIG_CIDRS_TOTAL)
        zt_config_err_at(c, cfg->locations[0].line, cfg->locations[0].col,
                         "locations hold %zu CIDR blocks; at most %u in total", total,
                         ZT_CONFIG_CIDRS_TOTAL);
}

static void zt_config_check_policies(zt_config_ctx *c)
{
    const zt_config *cfg = c->cfg;
    zt_config_names names;
    zt_config_check_locations(c);
    zt_config_names_init(&names, cfg->n_policies);
    for (size_t j = 0; j < cfg->n_policies; j++) {
        const zt_policy_cfg *p = &cfg->policies[j];
        if (p->name == NULL)
            continue;
        size_t i = zt_config_names_add(&names, p->name, j);
        for (size_t k = 0; names.slot == NULL && i == SIZE_MAX && k < j; k++)
            if (cfg->policies[k].name != NULL && strcmp(cfg->policies[k].name, p->name) == 0)
                i = k;
        if (i != SIZE_MAX)
            zt_config_err_at(c, p->line, p->col, "duplicate policy name '%s' (first at line %u)",
                             p->name, cfg->policies[i].line);
        zt_config_check_app_words(c, p->apps.include, p->apps.n_include);
        zt_config_check_app_words(c, p->apps.exclude, p->apps.n_exclude);
        zt_config_check_location_words(c, p->conditions.locations.include,
                                       p->conditions.locations.n_include);
        zt_config_check_location_words(c, p->conditions.locations.exclude,
                                       p->conditions.locations.n_exclude);
    }
    free(names.slot);
}

static void zt_config_check_playbooks(zt_config_ctx *c); /* with the playbook schema */

static void zt_config_check_root(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_config_resolve_state_paths(c);
    if (c->cfg->workers == 0) {
        long n = sysconf(_SC_NPROCESSORS_ONLN);
        c->cfg->workers = n < 1 ? 1 : n > 64 ? 64 : (unsigned)n;
    }
    zt_config_check_apps(c);
    zt_config_check_policies(c);
    zt_config_check_playbooks(c);
}

/* ---------------------------------------------------------------------------------------------
 * The schema. Keep docs/CONFIG.md in step with these tables. */

#define ZT_FIELD(T, m) .off = offsetof(T, m), .size = sizeof(((T *)0)->m)
#define ZT_CONFIG_SECTION(var, arr, chk)                                                           \
    _Static_assert(sizeof(arr) / sizeof(arr[0]) <= ZT_CONFIG_MAX_KEYS, #arr " is too long");       \
    static const zt_config_section var = {arr, sizeof(arr) / sizeof(arr[0]), chk}

#define ZT_MS_S 1000ull
#define ZT_MS_M 60000ull
#define ZT_MS_H 3600000ull

static const char *const zt_config_sensitivities[] = {"public", "internal", "confidential",
                                                      "restricted", NULL};
static const char *const zt_config_levels[] = {"debug", "info", "warn", "error", NULL};
static const char *const zt_config_failure_modes[] = {"fail_closed", "fail_open", NULL};
/* Bit order of ZT_PATH_MATCH_* in config.h. */
static const char *const zt_config_path_match[] = {"exact", "case_insensitive", "strip_params",
                                                   "trim_dots", NULL};

static const zt_config_key zt_config_tls_keys[] = {
    {"cert", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_tls_cfg, cert_file)},
    {"key", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_tls_cfg, key_file)},
    {"self_signed", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_tls_cfg, self_signed), .def = "false"},
};
ZT_CONFIG_SECTION(zt_config_tls, zt_config_tls_keys, zt_config_check_tls);

static const zt_config_key zt_config_listener_keys[] = {
    {"address", ZT_K_ADDR, ZT_CFG_REQUIRED, ZT_FIELD(zt_listener_cfg, address),
     .aux = offsetof(zt_listener_cfg, addr)},
    {"tls", ZT_K_SECTION, ZT_CFG_PRESENT, .off = offsetof(zt_listener_cfg, tls_cfg),
     .aux = offsetof(zt_listener_cfg, tls), .sub = &zt_config_tls},
};
ZT_CONFIG_SECTION(zt_config_listener, zt_config_listener_keys, NULL);

static const zt_config_key zt_config_limits_keys[] = {
    {"max_header_bytes", ZT_K_SIZE, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_header_bytes),
     .min = 1ull << 10, .max = 1ull << 20, .def = "32KiB"},
    {"max_headers", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_headers), .min = 1,
     .max = 1024, .def = "100"},
    {"max_connections", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_connections),
     .min = 1, .max = 1000000, .def = "10000"},
    {"max_connections_per_address", ZT_K_UINT, ZT_CFG_RELOAD,
     ZT_FIELD(zt_limits_cfg, max_connections_per_address), .min = 0, .max = 1000000, .def = "0"},
    {"max_body_bytes", ZT_K_SIZE, ZT_CFG_RELOAD, ZT_FIELD(zt_limits_cfg, max_body_bytes), .min = 0,
     .max = UINT64_MAX, .def = "0"},
};
ZT_CONFIG_SECTION(zt_config_limits, zt_config_limits_keys, NULL);

#define ZT_TIMEOUT(key, field, lo, hi, d)                                                          \
    {                                                                                              \
        key, ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_timeouts_cfg, field), .min = lo, .max = hi, \
                                                                             .def = d              \
    }
static const zt_config_key zt_config_timeouts_keys[] = {
    ZT_TIMEOUT("first_byte", first_byte_ms, 100, 24 * ZT_MS_H, "5s"),
    ZT_TIMEOUT("header_read", header_read_ms, 100, 24 * ZT_MS_H, "10s"),
    ZT_TIMEOUT("keepalive", keepalive_ms, 100, 24 * ZT_MS_H, "60s"),
    ZT_TIMEOUT("body_read", body_read_ms, 100, 24 * ZT_MS_H, "60s"),
    ZT_TIMEOUT("upstream_connect", upstream_connect_ms, 100, 24 * ZT_MS_H, "5s"),
    ZT_TIMEOUT("upstream_response", upstream_response_ms, 100, 24 * ZT_MS_H, "60s"),
    ZT_TIMEOUT("drain", drain_ms, 0, ZT_MS_H, "30s"),
};
ZT_CONFIG_SECTION(zt_config_timeouts, zt_config_timeouts_keys, NULL);

static const zt_config_key zt_config_gateway_keys[] = {
    {"listen", ZT_K_LIST, ZT_CFG_REQUIRED, .off = offsetof(zt_config, listeners),
     .aux = offsetof(zt_config, n_listeners), .min = 1, .max = 64, .sub = &zt_config_listener,
     .item_size = sizeof(zt_listener_cfg)},
    {"workers", ZT_K_UINT, 0, ZT_FIELD(zt_config, workers), .min = 0, .max = 64, .def = "0"},
    {"trusted_proxies", ZT_K_CIDRS, ZT_CFG_RELOAD, .off = offsetof(zt_config, trusted_proxies),
     .aux = offsetof(zt_config, n_trusted_proxies), .min = 0, .max = 1024},
    {"limits", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_config, limits),
     .sub = &zt_config_limits},
    {"timeouts", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_config, timeouts),
     .sub = &zt_config_timeouts},
};
ZT_CONFIG_SECTION(zt_config_gateway, zt_config_gateway_keys, NULL);

static const zt_config_key zt_config_log_keys[] = {
    {"access", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_log_cfg, access_path), .def = "-"},
    {"error", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_log_cfg, error_path), .def = "-"},
    {"level", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_log_cfg, level), .def = "info",
     .names = zt_config_levels},
};
ZT_CONFIG_SECTION(zt_config_log, zt_config_log_keys, NULL);

static const zt_config_key zt_config_admin_keys[] = {
    {"listen", ZT_K_ADDR, 0, ZT_FIELD(zt_admin_cfg, address), .aux = offsetof(zt_admin_cfg, addr)},
    {"tls", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_admin_cfg, tls_cfg),
     .aux = offsetof(zt_admin_cfg, tls), .sub = &zt_config_tls},
    {"token_file", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_admin_cfg, token_file),
     .def = "admin.token"},
};
ZT_CONFIG_SECTION(zt_config_admin, zt_config_admin_keys, NULL);

static const char *const zt_config_export_types[] = {"syslog", "cef", NULL};
static const char *const zt_config_export_transports[] = {"udp", "tcp", "tls", NULL};
static const char *const zt_config_facilities[] = {
    "kern",   "user",     "mail",   "daemon", "auth",   "syslog", "lpr",   "news",   "uucp",
    "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock", "local0", "local1",
    "local2", "local3",   "local4", "local5", "local6", "local7", NULL};

static const zt_config_key zt_config_export_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED, ZT_FIELD(zt_export_cfg, name)},
    {"type", ZT_K_ENUM, 0, ZT_FIELD(zt_export_cfg, type), .def = "syslog",
     .names = zt_config_export_types},
    {"transport", ZT_K_ENUM, 0, ZT_FIELD(zt_export_cfg, transport), .def = "tcp",
     .names = zt_config_export_transports},
    {"address", ZT_K_ADDR, ZT_CFG_REQUIRED, ZT_FIELD(zt_export_cfg, address),
     .aux = offsetof(zt_export_cfg, addr)},
    {"ca", ZT_K_STR, 0, ZT_FIELD(zt_export_cfg, ca_file)},
    {"server_name", ZT_K_HOST, 0, ZT_FIELD(zt_export_cfg, server_name)},
    {"insecure_skip_verify", ZT_K_BOOL, 0, ZT_FIELD(zt_export_cfg, insecure_skip_verify),
     .def = "false"},
    {"queue_limit", ZT_K_UINT, 0, ZT_FIELD(zt_export_cfg, queue_limit), .min = 1, .max = 1000000,
     .def = "10000"},
    {"facility", ZT_K_ENUM, 0, ZT_FIELD(zt_export_cfg, facility), .def = "authpriv",
     .names = zt_config_facilities},
    {"app_name", ZT_K_STR, 0, ZT_FIELD(zt_export_cfg, app_name), .def = "ztgate"},
};
ZT_CONFIG_SECTION(zt_config_export, zt_config_export_keys, zt_config_check_export);

static const zt_config_key zt_config_audit_keys[] = {
    {"path", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_audit_cfg, path), .def = "audit/audit.log"},
    {"signing_key", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_audit_cfg, signing_key_file),
     .def = "audit/signing.key"},
    {"checkpoint_every", ZT_K_UINT, 0, ZT_FIELD(zt_audit_cfg, checkpoint_every), .min = 1,
     .max = 1000000, .def = "1000"},
    {"checkpoint_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_audit_cfg, checkpoint_interval_ms),
     .min = ZT_MS_S, .max = 24 * ZT_MS_H, .def = "10s"},
    {"fsync_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_audit_cfg, fsync_interval_ms), .min = 0,
     .max = ZT_MS_S, .def = "5ms"},
    {"rotate_size", ZT_K_SIZE, 0, ZT_FIELD(zt_audit_cfg, rotate_bytes), .min = 1ull << 20,
     .max = 1ull << 40, .def = "64MiB"},
    {"rotate_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_audit_cfg, rotate_interval_ms), .min = 0,
     .max = 30 * 24 * ZT_MS_H, .def = "0"},
    {"queue_limit", ZT_K_UINT, 0, ZT_FIELD(zt_audit_cfg, queue_limit), .min = 1, .max = 1ull << 24,
     .def = "65536"},
    {"on_audit_failure", ZT_K_ENUM, 0, ZT_FIELD(zt_audit_cfg, fail_open), .def = "fail_closed",
     .names = zt_config_failure_modes},
    {"export", ZT_K_LIST, 0, .off = offsetof(zt_audit_cfg, exports),
     .aux = offsetof(zt_audit_cfg, n_exports), .min = 0, .max = 16, .sub = &zt_config_export,
     .item_size = sizeof(zt_export_cfg)},
};
ZT_CONFIG_SECTION(zt_config_audit, zt_config_audit_keys, zt_config_check_audit);

static const char *const zt_config_mfa_modes[] = {"required", "optional", NULL};

static const zt_config_key zt_config_auth_keys[] = {
    {"portal_host", ZT_K_HOST, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, portal_host)},
    {"issuer", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, issuer), .def = "ztgate"},
    {"session_idle_timeout", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, session_idle_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "30m"},
    {"session_lifetime", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, session_absolute_ms),
     .min = 5 * ZT_MS_M, .max = 30 * 24 * ZT_MS_H, .def = "12h"},
    {"assertion_ttl", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, assertion_ttl_ms),
     .min = 2 * ZT_MS_M, .max = 5 * ZT_MS_M, .def = "5m"},
    {"password_min_length", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, password_min_chars),
     .min = 8, .max = 64, .def = "12"},
    {"password_max_length", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, password_max_chars),
     .min = 64, .max = 1024, .def = "128"},
    {"breached_passwords", ZT_K_STR, 0, ZT_FIELD(zt_auth_cfg, breach_corpus)},
    {"argon2_passes", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, argon2_passes), .min = 2, .max = 20,
     .def = "3"},
    {"argon2_memory", ZT_K_SIZE, 0, ZT_FIELD(zt_auth_cfg, argon2_memory), .min = 19ull << 20,
     .max = 4ull << 30, .def = "64MiB"},
    {"hash_queue", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_queue), .min = 1, .max = 4096,
     .def = "64"},
    {"hash_threads", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_threads), .min = 1, .max = 16,
     .def = "1"},
    {"hash_nice", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_nice), .min = 0, .max = 19, .def = "10"},
    {"mfa", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, mfa_optional), .def = "required",
     .names = zt_config_mfa_modes},
    {"secrets_key", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_auth_cfg, secrets_key),
     .def = "secrets.key"},
    {"keys_dir", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_auth_cfg, keys_dir), .def = "keys"},
    {"account_failure_limit", ZT_K_UINT, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, account_failure_limit), .min = 5, .max = 100, .def = "100"},
    {"source_failures_per_minute", ZT_K_UINT, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, source_failures_per_minute), .min = 1, .max = 100000, .def = "30"},
};
ZT_CONFIG_SECTION(zt_config_auth, zt_config_auth_keys, zt_config_check_auth);

static void zt_config_check_feed_file(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_feed_file_cfg *f = (zt_feed_file_cfg *)(void *)w->target;
    f->line = (unsigned)w->map->start_mark.line + 1;
    f->col = (unsigned)w->map->start_mark.column + 1;
    zt_config_check_file(c, w, "path", f->path, "");
}

static const zt_config_key zt_config_feed_file_keys[] = {
    {"path", ZT_K_STR, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_feed_file_cfg, path)},
    {"source", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_feed_file_cfg, source), .def = "list"},
};
ZT_CONFIG_SECTION(zt_config_feed_file, zt_config_feed_file_keys, zt_config_check_feed_file);

static void zt_config_check_risk(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_risk_cfg_ *r = (const zt_risk_cfg_ *)(void *)w->target;
    zt_config_check_file(c, w, "geoip_city", r->geoip_city, "");
    zt_config_check_file(c, w, "geoip_asn", r->geoip_asn, "");
    zt_config_check_file(c, w, "leaked_credentials", r->leaked_credentials, "");
}

static const zt_config_key zt_config_risk_keys[] = {
    {"geoip_city", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_cfg_, geoip_city)},
    {"geoip_asn", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_cfg_, geoip_asn)},
    {"anonymous_ips", ZT_K_LIST, ZT_CFG_RELOAD, .off = offsetof(zt_risk_cfg_, anonymous_ips),
     .aux = offsetof(zt_risk_cfg_, n_anonymous_ips), .min = 0, .max = 64,
     .sub = &zt_config_feed_file, .item_size = sizeof(zt_feed_file_cfg)},
    {"malicious_ips", ZT_K_LIST, ZT_CFG_RELOAD, .off = offsetof(zt_risk_cfg_, malicious_ips),
     .aux = offsetof(zt_risk_cfg_, n_malicious_ips), .min = 0, .max = 64,
     .sub = &zt_config_feed_file, .item_size = sizeof(zt_feed_file_cfg)},
    {"leaked_credentials", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_cfg_, leaked_credentials)},
    {"vpn_egress", ZT_K_CIDRS, ZT_CFG_RELOAD, .off = offsetof(zt_risk_cfg_, vpn_egress),
     .aux = offsetof(zt_risk_cfg_, n_vpn_egress), .min = 0, .max = 1024},
    {"feed_check_interval", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_risk_cfg_, feed_check_ms),
     .min = ZT_MS_S, .max = 24 * ZT_MS_H, .def = "60s"},
    {"impossible_travel_kmh", ZT_K_UINT, 0, ZT_FIELD(zt_risk_cfg_, impossible_travel_kmh),
     .min = 100, .max = 100000, .def = "900"},
    {"spray_accounts", ZT_K_UINT, 0, ZT_FIELD(zt_risk_cfg_, spray_accounts), .min = 2, .max = 1000,
     .def = "10"},
    {"spray_passwords", ZT_K_UINT, 0, ZT_FIELD(zt_risk_cfg_, spray_passwords), .min = 1, .max = 7,
     .def = "2"},
    {"spray_window", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_cfg_, spray_window_ms), .min = ZT_MS_M,
     .max = 24 * ZT_MS_H, .def = "10m"},
    {"reputation_accounts", ZT_K_UINT, 0, ZT_FIELD(zt_risk_cfg_, reputation_accounts), .min = 2,
     .max = 1000, .def = "10"},
    {"reputation_window", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_cfg_, reputation_window_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "10m"},
    {"reputation_ttl", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_cfg_, reputation_ttl_ms), .min = ZT_MS_M,
     .max = 30 * 24 * ZT_MS_H, .def = "24h"},
    {"learning_period", ZT_K_DURATION, 0, ZT_FIELD(zt_risk_cfg_, learning_period_ms), .min = 0,
     .max = 365 * 24 * ZT_MS_H, .def = "336h"},
    {"learning_sign_ins", ZT_K_UINT, 0, ZT_FIELD(zt_risk_cfg_, learning_sign_ins), .min = 0,
     .max = 100000, .def = "10"},
};
ZT_CONFIG_SECTION(zt_config_risk, zt_config_risk_keys, zt_config_check_risk);

static void zt_config_check_devices(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_devices_cfg_ *d = (const zt_devices_cfg_ *)(void *)w->target;
    for (size_t i = 0; i < d->n_min_os_versions; i++) {
        const zt_cfg_word *v = &d->min_os_versions[i];
        const char *colon = strchr(v->s, ':');
        bool ok = colon != NULL && colon != v->s && colon[1] != '\0' && strlen(v->s) < 64;
        for (const char *p = colon ? colon + 1 : ""; ok && *p; p++)
            ok = (*p >= '0' && *p <= '9') || *p == '.';
        if (!ok)
            zt_config_err_at(c, v->line, v->col,
                             "'%s' is not OS:VERSION (e.g. debian:12, ubuntu:22.04)", v->s);
    }
    if (d->n_min_os_versions > 8)
        zt_config_err(c, zt_config_seen(w, "min_os_versions"),
                      "at most 8 entries in 'min_os_versions'");
    /* A silent agent is the early warning; at posture_max_age the device is non-compliant.
     * The default (1h) shrinks to a shorter posture_max_age (src/device); a value given is
     * checked. */
    yaml_node_t *silent = zt_config_seen(w, "silent_after");
    if (silent != NULL && d->silent_after_ms > d->posture_max_age_ms)
        zt_config_err(c, silent, "silent_after must not be longer than posture_max_age");
}

static const zt_config_key zt_config_devices_keys[] = {
    {"ca_dir", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_devices_cfg_, ca_dir),
     .def = "device-ca"},
    {"certificate_lifetime", ZT_K_DURATION, 0, ZT_FIELD(zt_devices_cfg_, certificate_lifetime_ms),
     .min = ZT_MS_H, .max = 5 * 8760 * ZT_MS_H, .def = "8760h"},
    {"enroll_code_ttl", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_devices_cfg_, enroll_code_ttl_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "15m"},
    {"posture_max_age", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_devices_cfg_, posture_max_age_ms),
     .min = ZT_MS_M, .max = 30 * 24 * ZT_MS_H, .def = "24h"},
    {"silent_after", ZT_K_DURATION, 0, ZT_FIELD(zt_devices_cfg_, silent_after_ms), .min = ZT_MS_S,
     .max = 30 * 24 * ZT_MS_H, .def = "1h"},
    {"min_os_versions", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_devices_cfg_, min_os_versions),
     .aux = offsetof(zt_devices_cfg_, n_min_os_versions), .min = 0, .max = 8},
    {"max_signature_age", ZT_K_DURATION, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_cfg_, max_signature_age_ms), .min = 0, .max = 365 * 24 * ZT_MS_H,
     .def = "0"},
    {"max_update_age", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_devices_cfg_, max_update_age_ms),
     .min = 0, .max = 365 * 24 * ZT_MS_H, .def = "0"},
    {"require_disk_encryption", ZT_K_BOOL, ZT_CFG_RELOAD,
     ZT_FIELD(zt_devices_cfg_, require_disk_encryption), .def = "false"},
    {"require_firewall", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_devices_cfg_, require_firewall),
     .def = "false"},
    {"require_antivirus", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_devices_cfg_, require_antivirus),
     .def = "false"},
};
ZT_CONFIG_SECTION(zt_config_devices, zt_config_devices_keys, zt_config_check_devices);

static const zt_config_key zt_config_app_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, name)},
    {"host", ZT_K_HOST, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, host)},
    {"path_prefix", ZT_K_PREFIX, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, path_prefix), .def = "/"},
    {"upstream", ZT_K_URL, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, upstream)},
    {"sensitivity", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, sensitivity), .def = "internal",
     .names = zt_config_sensitivities},
    {"preserve_host", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, preserve_host),
     .def = "false"},
    {"allow_encoded_slash", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, allow_encoded_slash),
     .def = "false"},
    {"path_match", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_app_cfg, path_match), .min = 1, .max = 3,
     .names = zt_config_path_match},
};
ZT_CONFIG_SECTION(zt_config_app, zt_config_app_keys, zt_config_check_app);

/* Conditional Access. Word lists follow the enum order in policy/policy.h (bit i = names[i]). */
static const char *const zt_config_policy_states[] = {"off", "on", "report_only", NULL};
static const char *const zt_config_risks[] = {"none", "low", "medium", "high", NULL};
static const char *const zt_config_platforms[] = {"unknown", "windows", "macos",    "linux",
                                                  "ios",     "android", "chromeos", NULL};
static const char *const zt_config_clients[] = {"browser", "api", NULL};
static const char *const zt_config_days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun", NULL};
static const char *const zt_config_controls[] = {"mfa", "phishing_resistant_mfa",
                                                 "compliant_device", "password_change", NULL};
static const char *const zt_config_operators[] = {"AND", "OR", NULL};
static const char *const zt_config_restricts[] = {"read_only", "no_download", NULL};

#define ZT_WORDS(T, list, n_list)                                                                  \
    .off = offsetof(T, list), .aux = offsetof(T, n_list), .max = ZT_CONFIG_ASSIGN_MAX

static const zt_config_key zt_config_location_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_location_cfg, name)},
    {"cidrs", ZT_K_CIDRS, ZT_CFG_RELOAD, .off = offsetof(zt_location_cfg, cidrs),
     .aux = offsetof(zt_location_cfg, n_cidrs), .min = 1, .max = ZT_CONFIG_LOCATION_CIDRS},
    {"countries", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_location_cfg, countries),
     .aux = offsetof(zt_location_cfg, n_countries), .min = 1, .max = 300},
    {"trusted", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_location_cfg, trusted), .def = "false"},
};
ZT_CONFIG_SECTION(zt_config_location, zt_config_location_keys, zt_config_check_location);

static const zt_config_key zt_config_assign_keys[] = {
    {"include", ZT_K_STRS, ZT_CFG_REQUIRED | ZT_CFG_RELOAD,
     ZT_WORDS(zt_assign_cfg, include, n_include), .min = 1},
    {"exclude", ZT_K_STRS, ZT_CFG_RELOAD, ZT_WORDS(zt_assign_cfg, exclude, n_exclude), .min = 0},
};
ZT_CONFIG_SECTION(zt_config_users_assign, zt_config_assign_keys, zt_config_check_users);
/* App and location names are checked against their lists once the whole file was read. */
ZT_CONFIG_SECTION(zt_config_assign, zt_config_assign_keys, NULL);

static const zt_config_key zt_config_device_cond_keys[] = {
    {"enrolled", ZT_K_BOOL, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_device_cond_cfg, enrolled),
     .aux = offsetof(zt_device_cond_cfg, has_enrolled)},
    {"compliant", ZT_K_BOOL, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     ZT_FIELD(zt_device_cond_cfg, compliant), .aux = offsetof(zt_device_cond_cfg, has_compliant)},
    {"risk", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_device_cond_cfg, risk_mask), .min = 1, .max = 4,
     .names = zt_config_risks},
    {"platforms", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_device_cond_cfg, platform_mask), .min = 1,
     .max = 7, .names = zt_config_platforms},
};
ZT_CONFIG_SECTION(zt_config_device_cond, zt_config_device_cond_keys, NULL);

static const zt_config_key zt_config_time_cond_keys[] = {
    {"days", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, days_mask), .min = 1, .max = 7,
     .names = zt_config_days},
    {"from", ZT_K_CLOCK, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, from_min),
     .aux = offsetof(zt_time_cond_cfg, has_from)},
    {"to", ZT_K_CLOCK, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, to_min),
     .aux = offsetof(zt_time_cond_cfg, has_to)},
    {"timezone", ZT_K_TZ, ZT_CFG_RELOAD, ZT_FIELD(zt_time_cond_cfg, timezone), .def = "UTC"},
};
ZT_CONFIG_SECTION(zt_config_time_cond, zt_config_time_cond_keys, zt_config_check_time);

static const zt_config_key zt_config_cond_keys[] = {
    {"user_risk", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, user_risk_mask), .min = 1,
     .max = 4, .names = zt_config_risks},
    {"sign_in_risk", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, sign_in_risk_mask), .min = 1,
     .max = 4, .names = zt_config_risks},
    {"device", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_cond_cfg, device),
     .aux = offsetof(zt_cond_cfg, has_device), .sub = &zt_config_device_cond},
    {"locations", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     .off = offsetof(zt_cond_cfg, locations), .aux = offsetof(zt_cond_cfg, has_locations),
     .sub = &zt_config_assign},
    {"anonymous_ip", ZT_K_BOOL, ZT_CFG_PRESENT | ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, anonymous_ip),
     .aux = offsetof(zt_cond_cfg, has_anonymous_ip)},
    {"client_types", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_cond_cfg, client_mask), .min = 1,
     .max = 2, .names = zt_config_clients},
    {"time", ZT_K_SECTION, ZT_CFG_PRESENT | ZT_CFG_RELOAD, .off = offsetof(zt_cond_cfg, time),
     .aux = offsetof(zt_cond_cfg, has_time), .sub = &zt_config_time_cond},
};
ZT_CONFIG_SECTION(zt_config_cond, zt_config_cond_keys, NULL);

static const zt_config_key zt_config_grant_keys[] = {
    {"block", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_grant_cfg, block), .def = "false"},
    {"controls", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_grant_cfg, controls), .min = 1, .max = 4,
     .names = zt_config_controls},
    {"operator", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_grant_cfg, operator_or), .def = "AND",
     .names = zt_config_operators},
};
ZT_CONFIG_SECTION(zt_config_grant, zt_config_grant_keys, zt_config_check_grant);

static const zt_config_key zt_config_session_ctl_keys[] = {
    {"sign_in_frequency", ZT_K_FREQ, ZT_CFG_PRESENT | ZT_CFG_RELOAD,
     ZT_FIELD(zt_session_ctl_cfg, sign_in_frequency_s),
     .aux = offsetof(zt_session_ctl_cfg, has_sign_in_frequency)},
    {"restrict", ZT_K_FLAGS, ZT_CFG_RELOAD, ZT_FIELD(zt_session_ctl_cfg, restrict_flags), .min = 1,
     .max = 2, .names = zt_config_restricts},
};
ZT_CONFIG_SECTION(zt_config_session_ctl, zt_config_session_ctl_keys, NULL);

static const zt_config_key zt_config_policy_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, ZT_FIELD(zt_policy_cfg, name)},
    {"state", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_policy_cfg, state), .def = "on",
     .names = zt_config_policy_states},
    {"users", ZT_K_SECTION, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, users),
     .sub = &zt_config_users_assign},
    {"apps", ZT_K_SECTION, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, apps),
     .sub = &zt_config_assign},
    {"conditions", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, conditions),
     .sub = &zt_config_cond},
    {"grant", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, grant),
     .sub = &zt_config_grant},
    {"session", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_policy_cfg, session),
     .sub = &zt_config_session_ctl},
};
ZT_CONFIG_SECTION(zt_config_policy, zt_config_policy_keys, zt_config_check_policy);

/* Incident response. Signal types and actions are src/response's (docs/INCIDENTS.md). */
#define ZT_CONFIG_PLAYBOOKS_MAX 64

static const char *const zt_config_signal_types[] = {"leaked_credentials",
                                                     "anonymous_ip",
                                                     "malicious_ip",
                                                     "password_spray",
                                                     "impossible_travel",
                                                     "atypical_travel",
                                                     "unfamiliar_sign_in",
                                                     "admin_confirmed_compromised",
                                                     "malware",
                                                     "device_noncompliant",
                                                     "device_silent",
                                                     NULL};
static const char *const zt_config_playbook_actions[] = {"revoke_sessions",
                                                         "require_password_change",
                                                         "isolate_device",
                                                         "disable_user",
                                                         "notify",
                                                         "open_incident",
                                                         NULL};

static bool zt_config_in_list(const char *s, const char *const *names)
{
    for (size_t i = 0; s != NULL && names[i] != NULL; i++)
        if (strcmp(s, names[i]) == 0)
            return true;
    return false;
}

static void zt_config_check_webhook(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_webhook_cfg_ *n = (const zt_webhook_cfg_ *)(void *)w->target;
    const char *u = n->url;
    bool https = u != NULL && strncmp(u, "https://", 8) == 0;
    const char *host = u == NULL                       ? NULL
                       : https                         ? u + 8
                       : strncmp(u, "http://", 7) == 0 ? u + 7
                                                       : NULL;
    if (u != NULL && (host == NULL || *host == '\0' || *host == '/' || strlen(u) > 2048 ||
                      strpbrk(u, " \t\r\n#?@") != NULL))
        zt_config_err(c, zt_config_seen(w, "url"),
                      "url must be http://HOST[:PORT]/PATH or https://... (no user info, query "
                      "or fragment; at most 2048 bytes)");
    zt_config_check_file(c, w, "secret_file", n->secret_file, "");
    zt_config_check_file(c, w, "ca", n->ca_file, "");
    if (n->ca_file != NULL && !https)
        zt_config_err(c, zt_config_seen(w, "ca"), "ca is only used with an https:// url");
}

static const zt_config_key zt_config_webhook_keys[] = {
    {"url", ZT_K_STR, ZT_CFG_REQUIRED, ZT_FIELD(zt_webhook_cfg_, url)},
    {"timeout", ZT_K_DURATION, 0, ZT_FIELD(zt_webhook_cfg_, timeout_ms), .min = 100,
     .max = 60 * ZT_MS_S, .def = "5s"},
    {"retries", ZT_K_UINT, 0, ZT_FIELD(zt_webhook_cfg_, retries), .min = 0, .max = 20, .def = "5"},
    {"backoff", ZT_K_DURATION, 0, ZT_FIELD(zt_webhook_cfg_, backoff_ms), .min = 10,
     .max = 60 * ZT_MS_S, .def = "1s"},
    {"queue_limit", ZT_K_UINT, 0, ZT_FIELD(zt_webhook_cfg_, queue_limit), .min = 1, .max = 100000,
     .def = "1000"},
    {"secret_file", ZT_K_STR, 0, ZT_FIELD(zt_webhook_cfg_, secret_file)},
    {"ca", ZT_K_STR, 0, ZT_FIELD(zt_webhook_cfg_, ca_file)},
};
ZT_CONFIG_SECTION(zt_config_webhook, zt_config_webhook_keys, zt_config_check_webhook);

static void zt_config_check_incidents(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_incidents_cfg_ *in = (const zt_incidents_cfg_ *)(void *)w->target;
    if (in->min_severity == 0)
        zt_config_err(c, zt_config_seen(w, "min_severity"),
                      "min_severity must be low, medium or high");
}

static const zt_config_key zt_config_incidents_keys[] = {
    {"correlation_window", ZT_K_DURATION, 0, ZT_FIELD(zt_incidents_cfg_, correlation_window_ms),
     .min = ZT_MS_M, .max = 7 * 24 * ZT_MS_H, .def = "1h"},
    {"min_severity", ZT_K_ENUM, 0, ZT_FIELD(zt_incidents_cfg_, min_severity), .def = "medium",
     .names = zt_config_risks},
    {"notify", ZT_K_SECTION, ZT_CFG_PRESENT, .off = offsetof(zt_incidents_cfg_, notify),
     .aux = offsetof(zt_incidents_cfg_, has_notify), .sub = &zt_config_webhook},
};
ZT_CONFIG_SECTION(zt_config_incidents, zt_config_incidents_keys, zt_config_check_incidents);

static void zt_config_check_playbook_on(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_playbook_on_cfg *on = (const zt_playbook_on_cfg *)(void *)w->target;
    for (size_t i = 0; i < on->n_types; i++)
        if (!zt_config_in_list(on->types[i].s, zt_config_signal_types))
            zt_config_word_err(c, &on->types[i],
                               "is not a signal type (leaked_credentials, anonymous_ip, "
                               "malicious_ip, password_spray, impossible_travel, atypical_travel, "
                               "unfamiliar_sign_in, admin_confirmed_compromised, malware, "
                               "device_noncompliant, device_silent)");
    if (on->min_severity != 0 && on->severity_mask != 0)
        zt_config_err(c, zt_config_seen(w, "severities"),
                      "give min_severity or severities, not both");
}

static const zt_config_key zt_config_playbook_on_keys[] = {
    {"types", ZT_K_STRS, 0, .off = offsetof(zt_playbook_on_cfg, types),
     .aux = offsetof(zt_playbook_on_cfg, n_types), .min = 1, .max = 32},
    {"min_severity", ZT_K_ENUM, 0, ZT_FIELD(zt_playbook_on_cfg, min_severity),
     .names = zt_config_risks},
    {"severities", ZT_K_FLAGS, 0, ZT_FIELD(zt_playbook_on_cfg, severity_mask), .min = 1, .max = 4,
     .names = zt_config_risks},
};
ZT_CONFIG_SECTION(zt_config_playbook_on, zt_config_playbook_on_keys, zt_config_check_playbook_on);

static void zt_config_check_playbook(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_playbook_cfg *pb = (zt_playbook_cfg *)(void *)w->target;
    zt_config_mark(w, &pb->line, &pb->col);
    for (size_t i = 0; i < pb->n_actions; i++) {
        const zt_cfg_word *a = &pb->actions[i];
        if (!zt_config_in_list(a->s, zt_config_playbook_actions)) {
            zt_config_word_err(c, a,
                               "is not an action (revoke_sessions, require_password_change, "
                               "isolate_device, disable_user, notify, open_incident)");
            continue;
        }
        for (size_t j = 0; j < i; j++)
            if (pb->actions[j].s != NULL && strcmp(pb->actions[j].s, a->s) == 0)
                zt_config_word_err(c, a, "is listed twice");
    }
}

static const zt_config_key zt_config_playbook_keys[] = {
    {"name", ZT_K_NAME, ZT_CFG_REQUIRED, ZT_FIELD(zt_playbook_cfg, name)},
    {"on", ZT_K_SECTION, ZT_CFG_REQUIRED, .off = offsetof(zt_playbook_cfg, on),
     .sub = &zt_config_playbook_on},
    {"actions", ZT_K_STRS, ZT_CFG_REQUIRED, .off = offsetof(zt_playbook_cfg, actions),
     .aux = offsetof(zt_playbook_cfg, n_actions), .min = 1, .max = 6},
    {"undo_on_remediation", ZT_K_BOOL, 0, ZT_FIELD(zt_playbook_cfg, undo_on_remediation),
     .def = "false"},
};
ZT_CONFIG_SECTION(zt_config_playbook, zt_config_playbook_keys, zt_config_check_playbook);

/* Across playbooks: unique names; `notify` needs incidents.notify. */
static void zt_config_check_playbooks(zt_config_ctx *c)
{
    const zt_config *cfg = c->cfg;
    for (size_t i = 0; i < cfg->n_playbooks; i++) {
        const zt_playbook_cfg *pb = &cfg->playbooks[i];
        for (size_t j = 0; j < i && pb->name != NULL; j++)
            if (cfg->playbooks[j].name != NULL && strcmp(cfg->playbooks[j].name, pb->name) == 0)
                zt_config_err_at(c, pb->line, pb->col,
                                 "playbook '%s' is defined twice (first at line %u)", pb->name,
                                 cfg->playbooks[j].line);
        for (size_t k = 0; k < pb->n_actions && !cfg->incidents.has_notify; k++)
            if (pb->actions[k].s != NULL && strcmp(pb->actions[k].s, "notify") == 0)
                zt_config_word_err(c, &pb->actions[k], "needs a webhook: set incidents.notify.url");
    }
}

/* Gateway keys live directly in zt_config, so the gateway section's target is the config. */
static const zt_config_key zt_config_root_keys[] = {
    {"state_dir", ZT_K_STR, 0, ZT_FIELD(zt_config, state_dir), .def = "./data"},
    {"gateway", ZT_K_SECTION, ZT_CFG_REQUIRED, .off = 0, .sub = &zt_config_gateway},
    {"log", ZT_K_SECTION, ZT_CFG_RELOAD, .off = offsetof(zt_config, log), .sub = &zt_config_log},
    {"admin", ZT_K_SECTION, 0, .off = offsetof(zt_config, admin), .sub = &zt_config_admin},
    {"audit", ZT_K_SECTION, 0, .off = offsetof(zt_config, audit), .sub = &zt_config_audit},
    {"auth", ZT_K_SECTION, 0, .off = offsetof(zt_config, auth), .sub = &zt_config_auth},
    {"devices", ZT_K_SECTION, 0, .off = offsetof(zt_config, devices), .sub = &zt_config_devices},
    {"risk", ZT_K_SECTION, 0, .off = offsetof(zt_config, risk), .sub = &zt_config_risk},
    {"apps", ZT_K_LIST, ZT_CFG_REQUIRED | ZT_CFG_RELOAD, .off = offsetof(zt_config, apps),
     .aux = offsetof(zt_config, n_apps), .min = 1, .max = 10000, .sub = &zt_config_app,
     .item_size = sizeof(zt_app_cfg)},
    {"locations", ZT_K_LIST, ZT_CFG_RELOAD, .off = offsetof(zt_config, locations),
     .aux = offsetof(zt_config, n_locations), .min = 0, .max = ZT_CONFIG_LOCATIONS_MAX,
     .sub = &zt_config_location, .item_size = sizeof(zt_location_cfg)},
    {"policies", ZT_K_LIST, ZT_CFG_RELOAD, .off = offsetof(zt_config, policies),
     .aux = offsetof(zt_config, n_policies), .min = 0, .max = ZT_CONFIG_POLICIES_MAX,
     .sub = &zt_config_policy, .item_size = sizeof(zt_policy_cfg)},
    {"incidents", ZT_K_SECTION, 0, .off = offsetof(zt_config, incidents),
     .sub = &zt_config_incidents},
    {"playbooks", ZT_K_LIST, 0, .off = offsetof(zt_config, playbooks),
     .aux = offsetof(zt_config, n_playbooks), .min = 0, .max = ZT_CONFIG_PLAYBOOKS_MAX,
     .sub = &zt_config_playbook, .item_size = sizeof(zt_playbook_cfg)},
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

/* Whole file into b (capped by b's limit); 0 or negative errno. */
static int zt_config_read_file(const char *path, zt_buf *b)
{
    char chunk[8192];
    int rc = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0)
        return -errno;
    for (;;) {
        ssize_t n = read(fd, chunk, sizeof(chunk));
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : 0;
            break;
        }
        if ((rc = zt_buf_append(b, chunk, (size_t)n)) < 0)
            break;
    }
    close(fd);
    return rc;
}

zt_config *zt_config_load(const char *path, zt_diags *diags)
{
    zt_buf b;
    zt_config *cfg = NULL;
    zt_buf_init(&b, ZT_CONFIG_MAX_BYTES);
    int rc = zt_config_read_file(path, &b);
    if (rc == -E2BIG)
        zt_diag_add(diags, path, 0, 0, "file is larger than %u MiB", ZT_CONFIG_MAX_BYTES >> 20);
    else if (rc < 0)
        zt_diag_add(diags, path, 0, 0, "cannot read: %s", strerror(-rc));
    else
        cfg = zt_config_load_mem(path, b.data ? b.data : "", b.len, diags);
    zt_buf_dispose(&b);
    return cfg;
}

/* ---------------------------------------------------------------------------------------------
 * Deployment checks: can what the policies ask for be done here? */

/* Why no sign-in method enabled in cfg meets grant control number i (zt_config_controls order),
 * and what to do; NULL when one does. TOTP with its recovery codes is always on (under
 * `mfa: optional` a signed-in user can still enrol when a policy asks), so mfa can be met; the
 * device CA and ztagent posture are always on, so compliant_device can; the portal's password
 * change meets password_change. Nothing meets phishing_resistant_mfa until passkeys exist. A
 * method that gets an on/off switch reads it here. */
typedef struct zt_config_unmet {
    const char *why, *todo;
} zt_config_unmet;

static zt_config_unmet zt_config_control_unmet(const zt_config *cfg, size_t i)
{
    (void)cfg;
    if (strcmp(zt_config_controls[i], "phishing_resistant_mfa") == 0)
        return (zt_config_unmet){
            "no enabled sign-in method is phishing-resistant (passkeys and security keys are not "
            "available yet)",
            "use state: report_only until passkeys are available, or ask for mfa instead"};
    return (zt_config_unmet){NULL, NULL};
}

unsigned zt_config_check_grants(const zt_config *cfg, zt_diags *diags)
{
    unsigned errors = 0;
    for (size_t j = 0; cfg != NULL && j < cfg->n_policies; j++) {
        const zt_policy_cfg *p = &cfg->policies[j];
        const zt_grant_cfg *g = &p->grant;
        if (p->state != ZT_POLICY_ON || g->controls == 0)
            continue;
        unsigned stuck = 0;
        for (size_t i = 0; zt_config_controls[i] != NULL; i++)
            if ((g->controls & (1u << i)) && zt_config_control_unmet(cfg, i).why != NULL)
                stuck |= 1u << i;
        /* AND needs every control; OR is met by any one, so only all of them stuck counts. */
        if (stuck == 0 || (g->operator_or && stuck != g->controls))
            continue;
        for (size_t i = 0; zt_config_controls[i] != NULL; i++) {
            if (!(stuck & (1u << i)))
                continue;
            zt_config_unmet u = zt_config_control_unmet(cfg, i);
            zt_diag_add(diags, cfg->path, g->line, g->col,
                        "policy '%s' is on and requires %s, but %s: every request it applies to "
                        "would be refused; %s",
                        p->name, zt_config_controls[i], u.why, u.todo);
            errors++;
        }
    }
    return errors;
}

void zt_config_free(zt_config *cfg)
{
    if (cfg == NULL)
        return;
    zt_config_box *box = (zt_config_box *)(void *)cfg;
    zt_arena_dispose(&box->arena);
    free(box);
}
