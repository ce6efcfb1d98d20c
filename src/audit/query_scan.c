/* The field scanner and the filters of the audit query engine (query.h): one pass over a line
 * checks that it is a JSON object and notes where the fields the engine reads are, without
 * building a tree; filters first try cheap byte searches so most lines are never scanned. */
#include <arpa/inet.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "audit/query.h"
#include "audit/query_int.h"
#include "lib/str.h"
#include "lib/time.h"

/* Each field's dotted path as segments (at most three deep). */
static const char *const field_path[ZT_AQF_COUNT][3] = {
    [ZT_AQF_SEQ] = {"seq"},
    [ZT_AQF_TYPE] = {"type"},
    [ZT_AQF_CLASS] = {"class_uid"},
    [ZT_AQF_ACTIVITY] = {"activity_id"},
    [ZT_AQF_TIME] = {"time"},
    [ZT_AQF_STATUS_ID] = {"status_id"},
    [ZT_AQF_STATUS] = {"status"},
    [ZT_AQF_MESSAGE] = {"message"},
    [ZT_AQF_REASONS] = {"reasons"},
    [ZT_AQF_STATUS_DETAIL] = {"status_detail"},
    [ZT_AQF_DECISION] = {"decision"},
    [ZT_AQF_RO_DECISION] = {"report_only", "decision"},
    [ZT_AQF_POLICIES] = {"policies"},
    [ZT_AQF_POLICY_NAME] = {"policy", "name"},
    [ZT_AQF_APP] = {"app", "name"},
    [ZT_AQF_USER_EMAIL] = {"user", "email_addr"},
    [ZT_AQF_USER_UID] = {"user", "uid"},
    [ZT_AQF_USER_NAME] = {"user", "name"},
    [ZT_AQF_ACTOR_EMAIL] = {"actor", "user", "email_addr"},
    [ZT_AQF_ACTOR_UID] = {"actor", "user", "uid"},
    [ZT_AQF_ACTOR_NAME] = {"actor", "user", "name"},
    [ZT_AQF_ACTOR_TYPE] = {"actor", "user", "type"},
    [ZT_AQF_DEVICE] = {"device", "uid"},
    [ZT_AQF_IP] = {"src_endpoint", "ip"},
    [ZT_AQF_REQUEST_ID] = {"metadata", "uid"},
    [ZT_AQF_CORRELATION] = {"metadata", "correlation_uid"},
    [ZT_AQF_IS_MFA] = {"is_mfa"},
    [ZT_AQF_FINDING_TYPE] = {"finding_info", "types"},
    [ZT_AQF_SIGNAL_TYPE] = {"unmapped", "signal_type"},
    [ZT_AQF_INC_EVENT] = {"incident", "event"},
    [ZT_AQF_INC_PLAYBOOK] = {"incident", "playbook"},
    [ZT_AQF_OPERATION] = {"unmapped", "operation"},
    [ZT_AQF_API_OP] = {"api", "operation"},
    [ZT_AQF_HTTP_CODE] = {"http_response", "code"},
};

#define ALL_FIELDS ((1ull << ZT_AQF_COUNT) - 1)

typedef struct scanner {
    const char *p, *end;
    zt_aq_fields *out;
} scanner;

static void skip_ws(scanner *s)
{
    while (s->p < s->end && (*s->p == ' ' || *s->p == '\t' || *s->p == '\n' || *s->p == '\r'))
        s->p++;
}

static bool escape_ok(scanner *s)
{
    /* s->p is just after a backslash */
    if (s->p >= s->end)
        return false;
    char c = *s->p++;
    if (strchr("\"\\/bfnrt", c) != NULL && c != '\0')
        return true;
    if (c != 'u' || s->end - s->p < 4)
        return false;
    for (int i = 0; i < 4; i++)
        if (zt_hexval(s->p[i]) < 0)
            return false;
    s->p += 4;
    return true;
}

/* At '"': a string up to its closing quote. Quotes are found with memchr; only a string with a
 * backslash is walked byte by byte from it. */
static bool scan_string(scanner *s, zt_aq_span *sp)
{
    const char *start = ++s->p;
    bool escaped = false;
    for (;;) {
        const char *q = memchr(s->p, '"', (size_t)(s->end - s->p));
        if (q == NULL)
            return false;
        const char *bs = memchr(s->p, '\\', (size_t)(q - s->p));
        if (bs == NULL) {
            s->p = q + 1;
            break;
        }
        escaped = true;
        s->p = bs + 1;
        if (!escape_ok(s))
            return false;
    }
    if (sp != NULL)
        *sp = (zt_aq_span){
            .p = start, .n = (uint32_t)(s->p - 1 - start), .escaped = escaped, .string = true};
    return true;
}

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

static bool scan_digits(scanner *s)
{
    const char *b = s->p;
    while (s->p < s->end && is_digit(*s->p))
        s->p++;
    return s->p > b;
}

static bool scan_number(scanner *s, zt_aq_span *sp)
{
    const char *b = s->p;
    if (s->p < s->end && *s->p == '-')
        s->p++;
    if (s->p < s->end && *s->p == '0')
        s->p++;
    else if (!scan_digits(s))
        return false;
    if (s->p < s->end && *s->p == '.') {
        s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (s->p < s->end && (*s->p == 'e' || *s->p == 'E')) {
        s->p++;
        if (s->p < s->end && (*s->p == '+' || *s->p == '-'))
            s->p++;
        if (!scan_digits(s))
            return false;
    }
    if (sp != NULL)
        *sp = (zt_aq_span){.p = b, .n = (uint32_t)(s->p - b)};
    return true;
}

static bool scan_literal(scanner *s, zt_aq_span *sp)
{
    static const char *const lits[] = {"true", "false", "null"};
    for (size_t i = 0; i < 3; i++) {
        size_t n = strlen(lits[i]);
        if ((size_t)(s->end - s->p) >= n && memcmp(s->p, lits[i], n) == 0) {
            if (sp != NULL)
                *sp = (zt_aq_span){.p = s->p, .n = (uint32_t)n};
            s->p += n;
            return true;
        }
    }
    return false;
}

static bool scan_value(scanner *s, unsigned depth, uint64_t mask, unsigned d, int here);

/* Each segment's length, and per depth the fields whose segment has a given (length, first
 * byte) hash: a key is compared only with the one or two fields that can be it. */
static uint8_t seg_len[ZT_AQF_COUNT][3];
static uint64_t seg_cands[3][256];
static pthread_once_t seg_once = PTHREAD_ONCE_INIT;

static unsigned seg_hash(size_t n, char first)
{
    return (unsigned)(n * 31 + (unsigned char)first) & 255;
}

static void seg_init(void)
{
    for (int f = 0; f < ZT_AQF_COUNT; f++) {
        for (int d = 0; d < 3 && field_path[f][d] != NULL; d++) {
            seg_len[f][d] = (uint8_t)strlen(field_path[f][d]);
            seg_cands[d][seg_hash(seg_len[f][d], field_path[f][d][0])] |= 1ull << f;
        }
    }
}

/* The fields among `mask` whose segment d is the key k[0..n); *here the one that ends there. */
static uint64_t narrow(uint64_t mask, unsigned d, const char *k, size_t n, int *here)
{
    uint64_t out = 0;
    *here = -1;
    if (n == 0 || n > 255)
        return 0;
    for (uint64_t m = mask & seg_cands[d][seg_hash(n, k[0])]; m != 0; m &= m - 1) {
        int f = __builtin_ctzll(m);
        if (seg_len[f][d] != n || memcmp(field_path[f][d], k, n) != 0)
            continue;
        if (d == 2 || field_path[f][d + 1] == NULL)
            *here = f;
        else
            out |= 1ull << f;
    }
    return out;
}

static bool scan_object(scanner *s, unsigned depth, uint64_t mask, unsigned d)
{
    s->p++; /* '{' */
    skip_ws(s);
    if (s->p < s->end && *s->p == '}') {
        s->p++;
        return true;
    }
    for (;;) {
        zt_aq_span key;
        skip_ws(s);
        if (s->p >= s->end || *s->p != '"' || !scan_string(s, &key))
            return false;
        skip_ws(s);
        if (s->p >= s->end || *s->p++ != ':')
            return false;
        skip_ws(s);
        int here = -1;
        uint64_t sub = mask != 0 && d < 3 ? narrow(mask, d, key.p, key.n, &here) : 0;
        if (!scan_value(s, depth + 1, sub, d + 1, here))
            return false;
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        char c = *s->p++;
        if (c == '}')
            return true;
        if (c != ',')
            return false;
    }
}

/* An array; `here` (finding_info.types) takes its first string. */
static bool scan_array(scanner *s, unsigned depth, int here)
{
    s->p++; /* '[' */
    skip_ws(s);
    if (s->p < s->end && *s->p == ']') {
        s->p++;
        return true;
    }
    for (bool first = true;; first = false) {
        skip_ws(s);
        bool take = first && here >= 0 && s->p < s->end && *s->p == '"';
        if (take) {
            if (!scan_string(s, &s->out->f[here]))
                return false;
        } else if (!scan_value(s, depth + 1, 0, 0, -1)) {
            return false;
        }
        skip_ws(s);
        if (s->p >= s->end)
            return false;
        char c = *s->p++;
        if (c == ']')
            return true;
        if (c != ',')
            return false;
    }
}

static bool scan_value(scanner *s, unsigned depth, uint64_t mask, unsigned d, int here)
{
    if (depth > ZT_AQ_MAX_DEPTH || s->p >= s->end)
        return false;
    zt_aq_span *sp = here >= 0 ? &s->out->f[here] : NULL;
    switch (*s->p) {
    case '{':
        return scan_object(s, depth, mask, d);
    case '[':
        return scan_array(s, depth, here == ZT_AQF_FINDING_TYPE ? here : -1);
    case '"':
        return scan_string(s, sp);
    case 't':
    case 'f':
    case 'n':
        return scan_literal(s, sp);
    default:
        return scan_number(s, sp);
    }
}

bool zt_aq_scan_line(const char *line, size_t len, zt_aq_fields *out)
{
    pthread_once(&seg_once, seg_init);
    memset(out, 0, sizeof(*out));
    scanner s = {.p = line, .end = line + len, .out = out};
    skip_ws(&s);
    if (s.p >= s.end || *s.p != '{' || !scan_object(&s, 1, ALL_FIELDS, 0)) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    skip_ws(&s);
    if (s.p != s.end) {
        memset(out, 0, sizeof(*out));
        return false;
    }
    return true;
}

/* UTF-8 of one code point into out (at least 4 bytes); its length. */
static size_t put_utf8(unsigned cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xC0 | (cp >> 6));
        out[1] = (char)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xE0 | (cp >> 12));
        out[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (char)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (char)(0xF0 | (cp >> 18));
    out[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (char)(0x80 | (cp & 0x3F));
    return 4;
}

static unsigned hex4(const char *p)
{
    unsigned v = 0;
    for (int i = 0; i < 4; i++)
        v = v << 4 | (unsigned)zt_hexval(p[i]);
    return v;
}

/* One escape at p (just after the backslash; the scanner checked it) into out; advances p. */
static size_t decode_escape(const char **pp, const char *end, char *out)
{
    const char *p = *pp;
    char c = *p++;
    static const char from[] = "\"\\/bfnrt", to[] = "\"\\/\b\f\n\r\t";
    const char *at = strchr(from, c);
    if (c != 'u') {
        *pp = p;
        out[0] = at != NULL ? to[at - from] : '?';
        return 1;
    }
    unsigned cp = hex4(p);
    p += 4;
    if (cp >= 0xD800 && cp < 0xDC00 && end - p >= 6 && p[0] == '\\' && p[1] == 'u') {
        bool hex_ok = true;
        for (int i = 2; i < 6; i++)
            hex_ok = hex_ok && zt_hexval(p[i]) >= 0;
        unsigned lo = hex_ok ? hex4(p + 2) : 0;
        if (lo >= 0xDC00 && lo < 0xE000) {
            cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
            p += 6;
        }
    }
    if (cp == 0 || (cp >= 0xD800 && cp < 0xE000))
        cp = 0xFFFD;
    *pp = p;
    return put_utf8(cp, out);
}

const char *zt_aq_span_str(const zt_aq_span *s, char *buf, size_t cap)
{
    size_t at = 0;
    if (cap == 0)
        return buf;
    if (s == NULL || s->p == NULL) {
        buf[0] = '\0';
        return buf;
    }
    const char *p = s->p, *end = s->p + s->n;
    while (p < end && at + 4 < cap) {
        if (*p == '\\' && s->escaped && p + 1 < end) {
            p++;
            at += decode_escape(&p, end, buf + at);
        } else {
            buf[at++] = *p++;
        }
    }
    buf[at] = '\0';
    return buf;
}

int64_t zt_aq_span_int(const zt_aq_span *s, int64_t def)
{
    if (s == NULL || s->p == NULL || s->string || s->n == 0 || s->n > 19)
        return def;
    int64_t v = 0;
    size_t i = s->p[0] == '-';
    if (i == s->n)
        return def;
    for (; i < s->n; i++) {
        if (!is_digit(s->p[i]))
            return def;
        v = v * 10 + (s->p[i] - '0');
    }
    return s->p[0] == '-' ? -v : v;
}

/* ---- filters ---- */

void zt_aq_filter_init(zt_aq_filter *f)
{
    *f = (zt_aq_filter){.since_us = INT64_MIN, .until_us = INT64_MAX};
}

bool zt_aq_decision_valid(const char *d)
{
    static const char *const names[] = {"allow", "block", "challenge", "sign_in", "error"};
    if (d == NULL)
        return false;
    const char *base = strncmp(d, "report_only_", 12) == 0 ? d + 12 : d;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(base, names[i]) == 0)
            return true;
    return false;
}

/* Would a JSON writer put s into a line as it is? (The prefilter looks for it literally.) */
static bool literal_ok(const char *s)
{
    for (; *s != '\0'; s++)
        if ((unsigned char)*s < 0x20 || *s == '"' || *s == '\\' || *s == 0x7f)
            return false;
    return true;
}

static bool has(const char *line, size_t len, const char *needle)
{
    return !literal_ok(needle) || memmem(line, len, needle, strlen(needle)) != NULL;
}

/* ASCII-case-insensitive search. Anchored on a byte that has no case ('@' of an e-mail, a
 * digit, a dot) found with memchr, else on both cases of the first byte. */
static bool has_ci(const char *line, size_t len, const char *needle)
{
    size_t n = strlen(needle);
    if (!literal_ok(needle))
        return true;
    if (n > len)
        return false;
    const char *at = strchr(needle, '@');
    for (size_t i = 0; at == NULL && i < n; i++)
        if (zt_ascii_lower(needle[i]) == needle[i] && !(needle[i] >= 'a' && needle[i] <= 'z'))
            at = needle + i;
    if (at != NULL) {
        size_t k = (size_t)(at - needle);
        const char *p = line + k, *last = line + len - (n - k);
        while (p <= last) {
            const char *c = memchr(p, *at, (size_t)(last - p) + 1);
            if (c == NULL)
                return false;
            if (strncasecmp(c - k, needle, n) == 0)
                return true;
            p = c + 1;
        }
        return false;
    }
    char lo = zt_ascii_lower(needle[0]);
    char up = lo >= 'a' && lo <= 'z' ? (char)(lo - 32) : lo;
    const char *p = line, *last = line + len - n;
    while (p <= last) {
        const char *a = memchr(p, lo, (size_t)(last - p) + 1);
        const char *b = up != lo ? memchr(p, up, (size_t)((a ? a : last + 1) - p)) : NULL;
        const char *c = b != NULL ? b : a;
        if (c == NULL)
            return false;
        if (strncasecmp(c + 1, needle + 1, n - 1) == 0)
            return true;
        p = c + 1;
    }
    return false;
}

static bool span_is(const zt_aq_span *sp, const char *want, bool ci)
{
    char buf[512];
    if (sp->p == NULL)
        return false;
    size_t n = strlen(want);
    if (!sp->escaped)
        return sp->n == n && (ci ? strncasecmp(sp->p, want, n) == 0 : memcmp(sp->p, want, n) == 0);
    zt_aq_span_str(sp, buf, sizeof(buf));
    return ci ? strcasecmp(buf, want) == 0 : strcmp(buf, want) == 0;
}

static bool user_is(const zt_aq_fields *f, const char *want)
{
    return span_is(&f->f[ZT_AQF_USER_EMAIL], want, true) ||
           span_is(&f->f[ZT_AQF_ACTOR_EMAIL], want, true) ||
           span_is(&f->f[ZT_AQF_USER_UID], want, false) ||
           span_is(&f->f[ZT_AQF_ACTOR_UID], want, false) ||
           span_is(&f->f[ZT_AQF_USER_NAME], want, false);
}

/* 1 when the person a uid/e-mail field pair names is in the allowed set, 0 when named but not
 * in it, -1 when the record does not name that person at all. */
static int person_allowed(const zt_aq_filter *flt, const zt_aq_span *uid, const zt_aq_span *email)
{
    bool has_uid = uid->p != NULL && uid->n > 0, has_email = email->p != NULL && email->n > 0;
    if (!has_uid && !has_email)
        return -1;
    for (size_t k = 0; k < flt->n_allowed; k++) {
        const char *a = flt->allowed_users[k];
        if (a != NULL &&
            ((has_uid && span_is(uid, a, false)) || (has_email && span_is(email, a, true))))
            return 1;
    }
    return 0;
}

/* A scoped admin's record: it names someone in scope and nobody outside it. Matching on either
 * person alone leaked the other: an in-scope admin's call on an out-of-scope user named that
 * user to a help desk scoped to the admin's group. */
static bool allowed_user(const zt_aq_filter *flt, const zt_aq_fields *f)
{
    int subject = person_allowed(flt, &f->f[ZT_AQF_USER_UID], &f->f[ZT_AQF_USER_EMAIL]);
    int actor = person_allowed(flt, &f->f[ZT_AQF_ACTOR_UID], &f->f[ZT_AQF_ACTOR_EMAIL]);
    if (flt->allowed_any)
        return subject == 1 || actor == 1;
    return subject != 0 && actor != 0 && (subject == 1 || actor == 1);
}

static bool ip_in(const zt_aq_span *sp, const zt_cidr *c)
{
    char ip[ZT_IP_STRLEN + 1];
    struct sockaddr_storage ss;
    if (sp->p == NULL || sp->n > ZT_IP_STRLEN)
        return false;
    zt_aq_span_str(sp, ip, sizeof(ip));
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *v4 = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *v6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &v4->sin_addr) == 1)
        v4->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, ip, &v6->sin6_addr) == 1)
        v6->sin6_family = AF_INET6;
    else
        return false;
    return zt_cidr_contains(c, (struct sockaddr *)&ss);
}

/* `policies` is "a,b (report-only),c[,...]": is want one of the names? */
static bool policy_listed(const zt_aq_span *sp, const char *want)
{
    static const char ro[] = " (report-only)";
    char buf[4096];
    if (sp->p == NULL)
        return false;
    const char *s = zt_aq_span_str(sp, buf, sizeof(buf));
    size_t wn = strlen(want);
    while (*s != '\0') {
        const char *comma = strchr(s, ',');
        size_t n = comma ? (size_t)(comma - s) : strlen(s);
        size_t name_n =
            n >= sizeof(ro) - 1 && memcmp(s + n - (sizeof(ro) - 1), ro, sizeof(ro) - 1) == 0
                ? n - (sizeof(ro) - 1)
                : n;
        if (name_n == wn && memcmp(s, want, wn) == 0)
            return true;
        s += n + (comma != NULL);
    }
    return false;
}

/* The record's time in µs; false when it has none that parses. Fast path for the builder's own
 * "YYYY-MM-DDTHH:MM:SS.uuuuuuZ". */
bool zt_aq_time_us(const zt_aq_span *sp, int64_t *us)
{
    if (sp->p == NULL || !sp->string || sp->escaped)
        return false;
    return zt_parse_rfc3339(sp->p, sp->n, 0, us);
}

/* Byte searches that every matching line must pass (assuming strings are written as ztgate
 * writes them: only quotes, backslashes and control bytes escaped). */
static bool prefilter(const zt_aq_filter *f, const char *line, size_t len)
{
    if (f->ref != NULL && !has(line, len, f->ref))
        return false;
    if (f->device != NULL && !has(line, len, f->device))
        return false;
    if (f->app != NULL && !has(line, len, f->app))
        return false;
    if (f->policy != NULL && !has(line, len, f->policy))
        return false;
    if (f->decision != NULL &&
        !has(line, len,
             strncmp(f->decision, "report_only_", 12) == 0 ? f->decision + 12 : f->decision))
        return false;
    if (f->user != NULL && !has_ci(line, len, f->user))
        return false;
    if (f->text != NULL && !has_ci(line, len, f->text))
        return false;
    if (f->class_uid != 0) {
        char num[24];
        snprintf(num, sizeof(num), "%ld", f->class_uid);
        if (memmem(line, len, num, strlen(num)) == NULL)
            return false;
    }
    return true;
}

static bool fields_match(const zt_aq_filter *f, const zt_aq_fields *x)
{
    if (x->f[ZT_AQF_TYPE].p != NULL && span_is(&x->f[ZT_AQF_TYPE], "checkpoint", false))
        return false;
    if (f->class_uid != 0 && zt_aq_span_int(&x->f[ZT_AQF_CLASS], -1) != f->class_uid)
        return false;
    if (f->since_us != INT64_MIN || f->until_us != INT64_MAX) {
        int64_t us;
        if (!zt_aq_time_us(&x->f[ZT_AQF_TIME], &us) || us < f->since_us || us > f->until_us)
            return false;
    }
    if (f->user != NULL && !user_is(x, f->user))
        return false;
    if (f->device != NULL && !span_is(&x->f[ZT_AQF_DEVICE], f->device, false))
        return false;
    if (f->have_ip && !ip_in(&x->f[ZT_AQF_IP], &f->ip))
        return false;
    if (f->ref != NULL && !span_is(&x->f[ZT_AQF_REQUEST_ID], f->ref, false) &&
        !span_is(&x->f[ZT_AQF_CORRELATION], f->ref, false))
        return false;
    if (f->app != NULL && !span_is(&x->f[ZT_AQF_APP], f->app, false))
        return false;
    if (f->policy != NULL && !policy_listed(&x->f[ZT_AQF_POLICIES], f->policy) &&
        !span_is(&x->f[ZT_AQF_POLICY_NAME], f->policy, false))
        return false;
    if (f->decision != NULL) {
        bool ro = strncmp(f->decision, "report_only_", 12) == 0;
        if (!span_is(&x->f[ro ? ZT_AQF_RO_DECISION : ZT_AQF_DECISION],
                     ro ? f->decision + 12 : f->decision, false))
            return false;
    }
    return f->allowed_users == NULL || allowed_user(f, x);
}

/* 1 match, 0 no match, -1 the line is not a JSON object (only known when it was scanned). */
int zt_aq_match_ex(const zt_aq_filter *f, const char *line, size_t len, zt_aq_fields *x)
{
    if (len < 2 || line[0] != '{' || line[len - 1] != '}')
        return -1;
    if (!prefilter(f, line, len))
        return 0;
    if (!zt_aq_scan_line(line, len, x))
        return -1;
    return fields_match(f, x) ? 1 : 0;
}

bool zt_aq_match(const zt_aq_filter *f, const char *line, size_t len, const zt_aq_fields *fields)
{
    zt_aq_fields own;
    if (fields == NULL)
        return zt_aq_match_ex(f, line, len, &own) == 1;
    return prefilter(f, line, len) && fields_match(f, fields);
}
