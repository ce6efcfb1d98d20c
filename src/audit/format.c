/* Syslog (RFC 5424) and CEF renderings of audit records. Field values come from the parsed
 * record, so escapes in the JSON (\u000a, \u0000, \u001b) arrive here as raw bytes: every value
 * goes through one escaper that decides, byte by byte, what may appear in the output. */
#include "audit/format.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "lib/time.h"

#ifndef ZT_VERSION
#define ZT_VERSION "0.0.0"
#endif

#define FFFD "\xEF\xBF\xBD"
#define TMP_MAX_BYTES 4096 /* a composed value (request URL) before escaping */

/* ---- classes ---- */

typedef struct class_info {
    int uid;
    const char *msgid; /* RFC 5424 MSGID: no spaces, <= 32 */
    const char *name;  /* OCSF class name */
    const char *const *activities;
    size_t n_activities;
} class_info;

static const char *const finding_acts[] = {"Unknown", "Create", "Update", "Close"};
static const char *const account_acts[] = {"Unknown",
                                           "Create",
                                           "Enable",
                                           "Password Change",
                                           "Password Reset",
                                           "Disable",
                                           "Delete",
                                           "Attach Policy",
                                           "Detach Policy",
                                           "Lock",
                                           "MFA Factor Enable",
                                           "MFA Factor Disable",
                                           "Unlock"};
static const char *const authn_acts[] = {"Unknown",
                                         "Logon",
                                         "Logoff",
                                         "Authentication Ticket",
                                         "Service Ticket Request",
                                         "Service Ticket Renew",
                                         "Preauth",
                                         "Account Switch"};
static const char *const authz_acts[] = {"Unknown", "Assign Privileges", "Assign Groups"};
static const char *const http_acts[] = {"Unknown", "Connect", "Delete", "Get",   "Head",
                                        "Options", "Post",    "Put",    "Trace", "Patch"};
static const char *const net_acts[] = {"Unknown", "Open",   "Close",   "Reset",
                                       "Fail",    "Refuse", "Traffic", "Listen"};
static const char *const app_acts[] = {"Unknown", "Install", "Remove",  "Start", "Stop",
                                       "Restart", "Enable",  "Disable", "Update"};

#define ACTS(a) a, sizeof(a) / sizeof(a[0])
static const class_info classes[] = {
    {2003, "ComplianceFinding", "Compliance Finding", ACTS(finding_acts)},
    {2004, "DetectionFinding", "Detection Finding", ACTS(finding_acts)},
    {3001, "AccountChange", "Account Change", ACTS(account_acts)},
    {3002, "Authentication", "Authentication", ACTS(authn_acts)},
    {3003, "AuthorizeSession", "Authorize Session", ACTS(authz_acts)},
    {4001, "NetworkActivity", "Network Activity", ACTS(net_acts)},
    {4002, "HTTPActivity", "HTTP Activity", ACTS(http_acts)},
    {6002, "ApplicationLifecycle", "Application Lifecycle", ACTS(app_acts)},
};

static const class_info *class_of(long long uid)
{
    for (size_t i = 0; i < sizeof(classes) / sizeof(classes[0]); i++)
        if (classes[i].uid == uid)
            return &classes[i];
    return NULL;
}

/* ---- severity, facility ---- */

unsigned zt_fmt_syslog_severity(long long sev)
{
    static const unsigned map[] = {5, 6, 5, 4, 3, 2, 1};
    return sev >= 0 && sev <= 6 ? map[sev] : 5;
}

unsigned zt_fmt_cef_severity(long long sev)
{
    static const unsigned map[] = {5, 1, 3, 5, 7, 9, 10};
    return sev >= 0 && sev <= 6 ? map[sev] : 5;
}

unsigned zt_fmt_pri(unsigned facility, unsigned severity)
{
    if (facility > 23)
        facility = ZT_FMT_FACILITY_DEFAULT;
    return facility * 8 + (severity & 7);
}

static const char *const facility_names[] = {
    "kern",   "user",   "mail",     "daemon", "auth",   "syslog", "lpr",    "news",
    "uucp",   "cron",   "authpriv", "ftp",    "ntp",    "audit",  "alert",  "clock",
    "local0", "local1", "local2",   "local3", "local4", "local5", "local6", "local7"};

int zt_fmt_facility(const char *name)
{
    for (size_t i = 0; name != NULL && i < sizeof(facility_names) / sizeof(facility_names[0]); i++)
        if (strcmp(name, facility_names[i]) == 0)
            return (int)i;
    return -1;
}

/* ---- escaping ---- */

/* Length of the valid UTF-8 sequence at p (shortest form, no surrogates, <= U+10FFFF) with its
 * code point, or 0 when the bytes are not one. */
static size_t utf8_seq(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t len;
    uint32_t c, min;
    if ((p[0] & 0xE0) == 0xC0) {
        len = 2, c = p[0] & 0x1F, min = 0x80;
    } else if ((p[0] & 0xF0) == 0xE0) {
        len = 3, c = p[0] & 0x0F, min = 0x800;
    } else if ((p[0] & 0xF8) == 0xF0) {
        len = 4, c = p[0] & 0x07, min = 0x10000;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xC0) != 0x80)
            return 0;
        c = (c << 6) | (p[i] & 0x3F);
    }
    if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
        return 0;
    *cp = c;
    return len;
}

size_t zt_fmt_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    size_t cut = max;
    /* Back off over continuation bytes to the start of the sequence that crosses max. */
    while (cut > 0 && ((unsigned char)s[cut] & 0xC0) == 0x80)
        cut--;
    return cut;
}

typedef enum { ESC_SD, ESC_CEF_HEADER, ESC_CEF_VALUE } esc_kind;

static bool needs_backslash(esc_kind k, unsigned char c)
{
    if (c == '\\')
        return true;
    switch (k) {
    case ESC_SD:
        return c == '"' || c == ']';
    case ESC_CEF_HEADER:
        return c == '|';
    case ESC_CEF_VALUE:
        return c == '=';
    }
    return false;
}

/* Code points that must never reach a line-oriented receiver or a terminal raw. */
static bool is_control(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x2028 || cp == 0x2029;
}

static int escape(zt_buf *out, const char *s, size_t n, size_t max, esc_kind k)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t start = out->len, i = 0;
    while (i < n) {
        char rep[4];
        size_t rlen;
        uint32_t cp = 0;
        size_t sl = utf8_seq(p + i, n - i, &cp);
        if (sl == 0) {
            memcpy(rep, FFFD, 3), rlen = 3, sl = 1;
        } else if (k == ESC_CEF_VALUE && (cp == '\r' || cp == '\n')) {
            rep[0] = '\\', rep[1] = cp == '\r' ? 'r' : 'n', rlen = 2;
        } else if (is_control(cp)) {
            memcpy(rep, FFFD, 3), rlen = 3;
        } else if (sl == 1 && needs_backslash(k, p[i])) {
            rep[0] = '\\', rep[1] = (char)p[i], rlen = 2;
        } else {
            memcpy(rep, p + i, sl), rlen = sl;
        }
        if (out->len - start + rlen > max)
            break;
        int rc = zt_buf_append(out, rep, rlen);
        if (rc < 0) {
            out->len = start;
            return rc;
        }
        i += sl;
    }
    return 0;
}

int zt_fmt_sd_value(zt_buf *out, const char *s, size_t n, size_t max)
{
    return escape(out, s, n, max, ESC_SD);
}

int zt_fmt_cef_header(zt_buf *out, const char *s, size_t n, size_t max)
{
    return escape(out, s, n, max, ESC_CEF_HEADER);
}

int zt_fmt_cef_value(zt_buf *out, const char *s, size_t n, size_t max)
{
    return escape(out, s, n, max, ESC_CEF_VALUE);
}

/* ---- origin ---- */

/* PRINTUSASCII (33..126) only, at most cap-1 bytes; "-" when nothing is left. */
static void printable_field(char *dst, size_t cap, const char *src)
{
    size_t n = 0;
    for (size_t i = 0; src != NULL && src[i] != '\0' && n + 1 < cap; i++)
        if ((unsigned char)src[i] > 32 && (unsigned char)src[i] < 127)
            dst[n++] = src[i];
    if (n == 0)
        dst[n++] = '-';
    dst[n] = '\0';
}

void zt_fmt_origin_init(zt_fmt_origin *o, const char *hostname, const char *app_name, long pid,
                        unsigned facility)
{
    char num[24];
    printable_field(o->hostname, sizeof(o->hostname), hostname);
    printable_field(o->app_name, sizeof(o->app_name), app_name);
    snprintf(num, sizeof(num), "%ld", pid);
    printable_field(o->procid, sizeof(o->procid), pid > 0 ? num : NULL);
    o->facility = facility <= 23 ? facility : ZT_FMT_FACILITY_DEFAULT;
}

/* ---- record fields ---- */

int zt_fmt_rec_parse(zt_fmt_rec *r, const char *line, size_t len)
{
    r->line = line;
    r->len = len;
    /* JSON_ALLOW_NUL: a client's %00 arrives as \u0000 and must be escaped here, not lost. */
    json_t *root = json_loadb(line, len, JSON_ALLOW_NUL, NULL);
    if (root != NULL && !json_is_object(root)) {
        json_decref(root);
        root = NULL;
    }
    r->root = root;
    return root != NULL ? 0 : -EBADMSG;
}

void zt_fmt_rec_dispose(zt_fmt_rec *r)
{
    if (r->root != NULL)
        json_decref(r->root);
    r->root = NULL;
}

static json_t *jpath(const zt_fmt_rec *r, const char *path)
{
    json_t *v = r->root;
    char key[64];
    while (v != NULL && *path != '\0') {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (n >= sizeof(key) || !json_is_object(v))
            return NULL;
        memcpy(key, path, n);
        key[n] = '\0';
        v = json_object_get(v, key);
        path += n + (dot != NULL);
    }
    return v;
}

/* A field as text (strings as they are, integers and booleans in decimal/true/false); tmp
 * holds the text of non-strings. False when absent or of another type. */
typedef struct text {
    const char *p;
    size_t n;
    char tmp[24];
} text;

static bool field(const zt_fmt_rec *r, const char *path, text *t)
{
    json_t *v = jpath(r, path);
    int n = -1;
    if (json_is_string(v)) {
        t->p = json_string_value(v);
        t->n = json_string_length(v);
        return t->n > 0;
    }
    if (json_is_integer(v))
        n = snprintf(t->tmp, sizeof(t->tmp), "%lld", (long long)json_integer_value(v));
    else if (json_is_boolean(v))
        n = snprintf(t->tmp, sizeof(t->tmp), "%s", json_is_true(v) ? "true" : "false");
    if (n <= 0 || (size_t)n >= sizeof(t->tmp))
        return false;
    t->p = t->tmp;
    t->n = (size_t)n;
    return true;
}

/* The first of several paths that is present. */
static bool first_field(const zt_fmt_rec *r, const char *const *paths, text *t)
{
    for (size_t i = 0; paths[i] != NULL; i++)
        if (field(r, paths[i], t))
            return true;
    return false;
}

static long long int_field(const zt_fmt_rec *r, const char *path, long long def)
{
    json_t *v = jpath(r, path);
    return json_is_integer(v) ? (long long)json_integer_value(v) : def;
}

static bool is_checkpoint(const zt_fmt_rec *r)
{
    json_t *t = jpath(r, "type");
    return json_is_string(t) && strcmp(json_string_value(t), "checkpoint") == 0;
}

static bool digits(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (s[i] < '0' || s[i] > '9')
            return false;
    return true;
}

/* RFC 3339 as RFC 5424 allows it: YYYY-MM-DDTHH:MM:SS[.1-6 digits](Z|+hh:mm|-hh:mm). */
static bool valid_time(const char *s, size_t n)
{
    if (n < 20 || !digits(s, 4) || s[4] != '-' || !digits(s + 5, 2) || s[7] != '-' ||
        !digits(s + 8, 2) || s[10] != 'T' || !digits(s + 11, 2) || s[13] != ':' ||
        !digits(s + 14, 2) || s[16] != ':' || !digits(s + 17, 2))
        return false;
    size_t i = 19;
    if (s[i] == '.') {
        size_t f = ++i;
        while (i < n && i - f < 7 && s[i] >= '0' && s[i] <= '9')
            i++;
        if (i == f || i - f > 6)
            return false;
    }
    if (i + 1 == n && s[i] == 'Z')
        return true;
    return i + 6 == n && (s[i] == '+' || s[i] == '-') && digits(s + i + 1, 2) && s[i + 3] == ':' &&
           digits(s + i + 4, 2);
}

static int num2(const char *s)
{
    return (s[0] - '0') * 10 + (s[1] - '0');
}

/* Milliseconds since the epoch of a valid_time() string in UTC ('Z'); false otherwise. */
static bool time_ms(const char *s, size_t n, long long *ms)
{
    if (!valid_time(s, n) || s[n - 1] != 'Z')
        return false;
    struct tm tm = {0};
    tm.tm_year = num2(s) * 100 + num2(s + 2) - 1900;
    tm.tm_mon = num2(s + 5) - 1;
    tm.tm_mday = num2(s + 8);
    tm.tm_hour = num2(s + 11);
    tm.tm_min = num2(s + 14);
    tm.tm_sec = num2(s + 17);
    time_t t = timegm(&tm);
    if (t == (time_t)-1)
        return false;
    long long frac = 0;
    int scale = 100;
    for (size_t i = 20; s[19] == '.' && i < n && s[i] >= '0' && s[i] <= '9' && scale > 0; i++) {
        frac += (s[i] - '0') * scale;
        scale /= 10;
    }
    *ms = (long long)t * 1000 + frac;
    return true;
}

/* ---- RFC 5424 ---- */

typedef struct sd_param {
    const char *name;
    const char *paths[7];
} sd_param;

/* Enough to route and alert on without parsing MSG; the record itself is the MSG. */
static const sd_param sd_params[] = {
    {"seq", {"seq", NULL}},
    {"class_uid", {"class_uid", NULL}},
    {"activity_id", {"activity_id", NULL}},
    {"severity_id", {"severity_id", NULL}},
    {"status", {"status", NULL}},
    {"decision", {"decision", NULL}},
    {"user",
     {"actor.user.name", "actor.user.email_addr", "actor.user.uid", "user.name", "user.email_addr",
      "user.uid", NULL}},
    {"src", {"src_endpoint.ip", NULL}},
    {"app", {"app.name", NULL}},
    {"policy", {"policy.name", "policy.uid", NULL}},
    {"request_id", {"metadata.uid", NULL}},
    {"type", {"type", NULL}},
    {"hash", {"hash", NULL}},
};

static int append_sd(zt_buf *out, const zt_fmt_rec *r)
{
    if (r->root == NULL)
        return zt_buf_append_char(out, '-');
    int rc = zt_buf_append_str(out, "[" ZT_FMT_SD_ID);
    for (size_t i = 0; rc == 0 && i < sizeof(sd_params) / sizeof(sd_params[0]); i++) {
        text t;
        if (!first_field(r, sd_params[i].paths, &t))
            continue;
        rc = zt_buf_printf(out, " %s=\"", sd_params[i].name);
        if (rc == 0)
            rc = zt_fmt_sd_value(out, t.p, t.n, ZT_FMT_SD_VALUE_MAX);
        if (rc == 0)
            rc = zt_buf_append_char(out, '"');
    }
    return rc == 0 ? zt_buf_append_char(out, ']') : rc;
}

static const char *msgid_of(const zt_fmt_rec *r)
{
    if (is_checkpoint(r))
        return "Checkpoint";
    const class_info *c = class_of(int_field(r, "class_uid", -1));
    return c ? c->msgid : "-";
}

/* The record line is our own JSON and holds no control bytes; anything else is replaced so a
 * damaged line still cannot split the message. */
static int append_raw_msg(zt_buf *out, const char *s, size_t n)
{
    int rc = zt_buf_reserve(out, n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        out->data[out->len++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7F ? ' ' : s[i];
    return rc;
}

int zt_fmt_syslog(zt_buf *out, const zt_fmt_origin *o, const zt_fmt_rec *r, bool cef)
{
    size_t start = out->len;
    char now[40];
    const char *ts = now;
    text t;
    if (field(r, "time", &t) && t.p != t.tmp && t.n < sizeof(now) && valid_time(t.p, t.n)) {
        memcpy(now, t.p, t.n);
        now[t.n] = '\0';
    } else {
        zt_rfc3339(zt_wall_us(), now, sizeof(now));
    }
    unsigned sev = is_checkpoint(r) ? 6 : zt_fmt_syslog_severity(int_field(r, "severity_id", 0));
    int rc = zt_buf_printf(out, "<%u>1 %s %s %s %s %s ", zt_fmt_pri(o->facility, sev), ts,
                           o->hostname, o->app_name, o->procid, msgid_of(r));
    if (rc == 0)
        rc = append_sd(out, r);
    if (rc == 0)
        rc = zt_buf_append_char(out, ' ');
    if (rc == 0)
        rc = cef ? zt_fmt_cef(out, r, o->hostname) : append_raw_msg(out, r->line, r->len);
    if (rc < 0)
        out->len = start;
    return rc;
}

int zt_fmt_frame(zt_buf *out, const char *msg, size_t len)
{
    int rc = zt_buf_printf(out, "%zu ", len);
    return rc == 0 ? zt_buf_append(out, msg, len) : rc;
}

/* ---- CEF ---- */

typedef struct cef_ext {
    const char *key;
    const char *label; /* csN / cnN label, NULL for dictionary keys */
    const char *paths[7];
} cef_ext;

/* Dictionary keys first; custom strings carry what the dictionary has no key for. */
static const cef_ext cef_exts[] = {
    {"src", NULL, {"src_endpoint.ip", NULL}},
    {"spt", NULL, {"src_endpoint.port", NULL}},
    {"dst", NULL, {"dst_endpoint.ip", NULL}},
    {"dhost", NULL, {"http_request.url.hostname", "dst_endpoint.hostname", NULL}},
    {"requestMethod", NULL, {"http_request.http_method", NULL}},
    {"requestClientApplication", NULL, {"http_request.user_agent", NULL}},
    {"act", NULL, {"decision", NULL}},
    {"reason", NULL, {"status_detail", "reasons", NULL}},
    {"msg", NULL, {"message", NULL}},
    {"externalId", NULL, {"metadata.uid", NULL}},
    {"cs1", "policy", {"policy.name", "policy.uid", NULL}},
    {"cs2", "app", {"app.name", NULL}},
    {"cs3", "sessionRef", {"session.uid", NULL}},
    {"cs4", "finding", {"finding_info.title", "finding_info.uid", NULL}},
    {"cs5", "chainHash", {"hash", NULL}},
    {"cs6", "correlationId", {"metadata.correlation_uid", NULL}},
    {"cn1", "seq", {"seq", NULL}},
    {"cn2", "checkpointCount", {"count", NULL}},
};

typedef struct ext_out {
    zt_buf *out;
    bool any;
    int rc;
} ext_out;

static void ext(ext_out *e, const char *key, const char *v, size_t n)
{
    if (e->rc != 0 || v == NULL || n == 0)
        return;
    e->rc = zt_buf_printf(e->out, "%s%s=", e->any ? " " : "", key);
    if (e->rc == 0)
        e->rc = zt_fmt_cef_value(e->out, v, n, ZT_FMT_CEF_VALUE_MAX);
    e->any = true;
}

static void ext_str(ext_out *e, const char *key, const char *v)
{
    ext(e, key, v, v ? strlen(v) : 0);
}

/* suser is who acted: the actor when there is one, else the event's user (who signed in);
 * duser is the user acted upon when an actor is named (account changes by an admin). */
static void ext_users(ext_out *e, const zt_fmt_rec *r)
{
    static const char *const actor[] = {"actor.user.name", "actor.user.email_addr", NULL};
    static const char *const user[] = {"user.name", "user.email_addr", NULL};
    text t;
    bool has_actor = jpath(r, "actor.user") != NULL;
    if (first_field(r, has_actor ? actor : user, &t))
        ext(e, "suser", t.p, t.n);
    if (field(r, has_actor ? "actor.user.uid" : "user.uid", &t))
        ext(e, "suid", t.p, t.n);
    if (has_actor && first_field(r, user, &t))
        ext(e, "duser", t.p, t.n);
    if (has_actor && field(r, "user.uid", &t))
        ext(e, "duid", t.p, t.n);
}

/* request=scheme://host/path?query, composed before escaping. */
static void ext_request(ext_out *e, const zt_fmt_rec *r)
{
    text path, t;
    if (!field(r, "http_request.url.path", &path))
        return;
    zt_buf url;
    zt_buf_init(&url, TMP_MAX_BYTES);
    if (field(r, "http_request.url.scheme", &t) && zt_buf_append(&url, t.p, t.n) == 0)
        zt_buf_append_str(&url, "://");
    if (field(r, "http_request.url.hostname", &t))
        zt_buf_append(&url, t.p, t.n);
    zt_buf_append(&url, path.p, path.n);
    if (field(r, "http_request.url.query_string", &t) && zt_buf_append_char(&url, '?') == 0)
        zt_buf_append(&url, t.p, t.n);
    ext(e, "request", url.data, url.len);
    zt_buf_dispose(&url);
}

static void ext_status(ext_out *e, const zt_fmt_rec *r)
{
    text t;
    char low[16];
    if (!field(r, "status", &t) || t.n >= sizeof(low))
        return;
    for (size_t i = 0; i < t.n; i++)
        low[i] = t.p[i] >= 'A' && t.p[i] <= 'Z' ? (char)(t.p[i] + 32) : t.p[i];
    ext(e, "outcome", low, t.n);
}

static void cef_extension(zt_buf *out, const zt_fmt_rec *r, const char *dvchost, ext_out *e)
{
    long long ms;
    char num[24];
    text t;
    e->out = out;
    if (field(r, "time", &t) && t.p != t.tmp && time_ms(t.p, t.n, &ms)) {
        snprintf(num, sizeof(num), "%lld", ms);
        ext_str(e, "rt", num);
    }
    const class_info *c = class_of(int_field(r, "class_uid", -1));
    ext_str(e, "cat", is_checkpoint(r) ? "Audit Checkpoint" : c ? c->name : NULL);
    ext_users(e, r);
    ext_request(e, r);
    ext_status(e, r);
    for (size_t i = 0; i < sizeof(cef_exts) / sizeof(cef_exts[0]); i++) {
        if (!first_field(r, cef_exts[i].paths, &t))
            continue;
        if (cef_exts[i].label != NULL) {
            char lk[24];
            snprintf(lk, sizeof(lk), "%sLabel", cef_exts[i].key);
            ext_str(e, lk, cef_exts[i].label);
        }
        ext(e, cef_exts[i].key, t.p, t.n);
    }
    if (dvchost != NULL && strcmp(dvchost, "-") != 0)
        ext_str(e, "dvchost", dvchost);
    if (r->root == NULL)
        ext(e, "msg", r->line, r->len);
}

/* Signature id "<class_uid>:<activity_id>" and a name from the class and activity tables. */
static int cef_header(zt_buf *out, const zt_fmt_rec *r)
{
    char sig[48], name[96];
    unsigned sev;
    if (r->root == NULL) {
        snprintf(sig, sizeof(sig), "unparsed");
        snprintf(name, sizeof(name), "Unparsed audit record");
        sev = 5;
    } else if (is_checkpoint(r)) {
        snprintf(sig, sizeof(sig), "checkpoint");
        snprintf(name, sizeof(name), "Audit log checkpoint");
        sev = 1;
    } else {
        long long cls = int_field(r, "class_uid", 0), act = int_field(r, "activity_id", 0);
        const class_info *c = class_of(cls);
        snprintf(sig, sizeof(sig), "%lld:%lld", cls, act);
        if (c != NULL && act >= 0 && (size_t)act < c->n_activities)
            snprintf(name, sizeof(name), "%s: %s", c->name, c->activities[act]);
        else if (c != NULL)
            snprintf(name, sizeof(name), "%s: Other", c->name);
        else
            snprintf(name, sizeof(name), "OCSF class %lld", cls);
        sev = zt_fmt_cef_severity(int_field(r, "severity_id", 0));
    }
    int rc = zt_buf_append_str(out, "CEF:0|ztgate|ztgate|");
    if (rc == 0)
        rc = zt_fmt_cef_header(out, ZT_VERSION, strlen(ZT_VERSION), 63);
    if (rc == 0)
        rc = zt_buf_append_char(out, '|');
    if (rc == 0)
        rc = zt_fmt_cef_header(out, sig, strlen(sig), sizeof(sig));
    if (rc == 0)
        rc = zt_buf_append_char(out, '|');
    if (rc == 0)
        rc = zt_fmt_cef_header(out, name, strlen(name), sizeof(name));
    if (rc == 0)
        rc = zt_buf_printf(out, "|%u|", sev);
    return rc;
}

int zt_fmt_cef(zt_buf *out, const zt_fmt_rec *r, const char *dvchost)
{
    size_t start = out->len;
    ext_out e = {0};
    int rc = cef_header(out, r);
    if (rc == 0) {
        cef_extension(out, r, dvchost, &e);
        rc = e.rc;
    }
    if (rc < 0)
        out->len = start;
    return rc;
}
