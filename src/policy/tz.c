/* TZif reader (RFC 8536, versions 1 to 4) and POSIX TZ footer rules, expanded at load into one
 * sorted table of (instant, offset). Only offsets matter to policies: abbreviations, leap
 * seconds and the std/wall indicators are skipped. Parsing is defensive: every count is checked
 * against the bytes that are really there. */
#include "policy/tz.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/config.h"
#include "lib/str.h"
#include "lib/time.h"

#define ZT_TZ_MAX_OFFSET (26 * 3600) /* RFC 8536: -2**31 < utoff, but real zones stay in ±26 h */
#define ZT_TZ_MAX_TRANS 100000

/* A growable table being built. */
typedef struct zt_tz_build {
    zt_tz *tz;
    size_t cap;
} zt_tz_build;

static int zt_tz_push(zt_tz_build *b, int64_t at, int32_t off)
{
    zt_tz *tz = b->tz;
    if (tz->n > 0 && at <= tz->at[tz->n - 1])
        return 0; /* footer rules only extend past the last explicit transition */
    if (tz->n == b->cap) {
        size_t cap = b->cap ? b->cap * 2 : 64;
        int64_t *at2 = realloc(tz->at, cap * sizeof(*at2));
        if (at2 == NULL)
            return -1;
        tz->at = at2;
        int32_t *off2 = realloc(tz->off, cap * sizeof(*off2));
        if (off2 == NULL)
            return -1;
        tz->off = off2;
        b->cap = cap;
    }
    tz->at[tz->n] = at;
    tz->off[tz->n] = off;
    tz->n++;
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * Calendar arithmetic (proleptic Gregorian, days since 1970-01-01) */

static int64_t zt_tz_year_of(int64_t t)
{
    int64_t z = (t >= 0 ? t : t - 86399) / 86400 + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    return yoe + era * 400 + (mp >= 10);
}

static bool zt_tz_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned zt_tz_month_days(int64_t y, unsigned m)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && zt_tz_leap(y) ? 29 : days[m - 1];
}

/* ---------------------------------------------------------------------------------------------
 * POSIX TZ strings (the TZif footer): "JST-9", "EST5EDT,M3.2.0,M11.1.0", "<+0330>-3:30" */

typedef struct zt_tz_rule {
    char kind; /* 'M', 'J' or 'n' (zero-based day of year) */
    unsigned month, week, wday, day;
    int32_t time; /* seconds after local midnight; may be negative or past 24 h (RFC 8536) */
} zt_tz_rule;

typedef struct zt_tz_posix {
    int32_t std_off, dst_off; /* UTC offsets, east positive */
    bool has_dst;
    zt_tz_rule start, end;
} zt_tz_posix;

static bool zt_tz_p_name(const char **p)
{
    const char *s = *p;
    if (*s == '<') {
        const char *e = strchr(s, '>');
        if (e == NULL || e - s < 4)
            return false;
        *p = e + 1;
        return true;
    }
    while ((*s >= 'A' && *s <= 'Z') || (*s >= 'a' && *s <= 'z'))
        s++;
    if (s - *p < 3)
        return false;
    *p = s;
    return true;
}

static bool zt_tz_p_num(const char **p, unsigned max, unsigned *out)
{
    unsigned v = 0, digits = 0;
    while (**p >= '0' && **p <= '9' && digits < 4) {
        v = v * 10 + (unsigned)(**p - '0');
        (*p)++;
        digits++;
    }
    *out = v;
    return digits > 0 && v <= max;
}

/* [+-]hh[:mm[:ss]] with hours up to max_h; seconds, sign as written. */
static bool zt_tz_p_time(const char **p, unsigned max_h, int32_t *out)
{
    int sign = 1;
    unsigned h, m = 0, s = 0;
    if (**p == '+' || **p == '-')
        sign = *(*p)++ == '-' ? -1 : 1;
    if (!zt_tz_p_num(p, max_h, &h))
        return false;
    if (**p == ':') {
        (*p)++;
        if (!zt_tz_p_num(p, 59, &m))
            return false;
        if (**p == ':') {
            (*p)++;
            if (!zt_tz_p_num(p, 59, &s))
                return false;
        }
    }
    *out = sign * (int32_t)(h * 3600 + m * 60 + s);
    return true;
}

static bool zt_tz_p_rule(const char **p, zt_tz_rule *r)
{
    if (**p != ',')
        return false;
    (*p)++;
    memset(r, 0, sizeof(*r));
    r->time = 2 * 3600;
    if (**p == 'M') {
        (*p)++;
        r->kind = 'M';
        if (!zt_tz_p_num(p, 12, &r->month) || r->month == 0 || *(*p)++ != '.' ||
            !zt_tz_p_num(p, 5, &r->week) || r->week == 0 || *(*p)++ != '.' ||
            !zt_tz_p_num(p, 6, &r->wday))
            return false;
    } else if (**p == 'J') {
        (*p)++;
        r->kind = 'J';
        if (!zt_tz_p_num(p, 365, &r->day) || r->day == 0)
            return false;
    } else {
        r->kind = 'n';
        if (!zt_tz_p_num(p, 365, &r->day))
            return false;
    }
    if (**p == '/') {
        (*p)++;
        return zt_tz_p_time(p, 167, &r->time);
    }
    return true;
}

static bool zt_tz_p_parse(const char *s, zt_tz_posix *out)
{
    int32_t off;
    memset(out, 0, sizeof(*out));
    if (!zt_tz_p_name(&s) || !zt_tz_p_time(&s, 24, &off))
        return false;
    out->std_off = -off; /* POSIX counts west positive */
    if (*s == '\0')
        return true;
    if (!zt_tz_p_name(&s))
        return false;
    out->has_dst = true;
    out->dst_off = out->std_off + 3600;
    if (*s != ',' && *s != '\0') {
        if (!zt_tz_p_time(&s, 24, &off))
            return false;
        out->dst_off = -off;
    }
    if (*s == '\0') {
        /* No rule: POSIX leaves it to the implementation; use the US rule as glibc does. */
        const char *us = ",M3.2.0,M11.1.0";
        return zt_tz_p_rule(&us, &out->start) && zt_tz_p_rule(&us, &out->end);
    }
    return zt_tz_p_rule(&s, &out->start) && zt_tz_p_rule(&s, &out->end) && *s == '\0';
}

/* The instant a rule fires in year y, given the offset in effect before it. */
static int64_t zt_tz_rule_at(const zt_tz_rule *r, int64_t y, int32_t before)
{
    int64_t day;
    if (r->kind == 'M') {
        int64_t first = zt_days_from_civil(y, r->month, 1);
        unsigned first_wday = (unsigned)(((first % 7) + 7 + 4) % 7); /* 1970-01-01: Thursday */
        unsigned mday = 1 + (r->wday + 7 - first_wday) % 7 + (r->week - 1) * 7;
        while (mday > zt_tz_month_days(y, r->month))
            mday -= 7;
        day = first + mday - 1;
    } else if (r->kind == 'J') {
        /* Jn counts 1..365 and never names February 29. */
        day = zt_days_from_civil(y, 1, 1) + r->day - 1 + (zt_tz_leap(y) && r->day >= 60);
    } else {
        day = zt_days_from_civil(y, 1, 1) + r->day;
    }
    return day * 86400 + r->time - before;
}

static int zt_tz_expand(zt_tz_build *b, const zt_tz_posix *px, int64_t from)
{
    if (!px->has_dst)
        return zt_tz_push(b, from, px->std_off);
    for (int64_t y = zt_tz_year_of(from); y <= ZT_TZ_LAST_YEAR; y++) {
        int64_t on = zt_tz_rule_at(&px->start, y, px->std_off);
        int64_t off = zt_tz_rule_at(&px->end, y, px->dst_off);
        int rc;
        if (on < off)
            rc = zt_tz_push(b, on, px->dst_off) || zt_tz_push(b, off, px->std_off);
        else /* southern hemisphere: DST spans the new year */
            rc = zt_tz_push(b, off, px->std_off) || zt_tz_push(b, on, px->dst_off);
        if (rc != 0)
            return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------------------------------
 * TZif */

typedef struct zt_tz_counts {
    uint32_t isut, isstd, leap, time, type, chr;
} zt_tz_counts;

static uint32_t zt_tz_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static int64_t zt_tz_be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)zt_tz_be32(p) << 32 | zt_tz_be32(p + 4));
}

static bool zt_tz_header(const unsigned char *d, size_t len, zt_tz_counts *c)
{
    if (len < 44 || memcmp(d, "TZif", 4) != 0)
        return false;
    c->isut = zt_tz_be32(d + 20);
    c->isstd = zt_tz_be32(d + 24);
    c->leap = zt_tz_be32(d + 28);
    c->time = zt_tz_be32(d + 32);
    c->type = zt_tz_be32(d + 36);
    c->chr = zt_tz_be32(d + 40);
    return c->type >= 1 && c->type <= 256 && c->time <= ZT_TZ_MAX_TRANS && c->leap <= 100000 &&
           c->chr <= 65536 && (c->isut == 0 || c->isut == c->type) &&
           (c->isstd == 0 || c->isstd == c->type);
}

static size_t zt_tz_block_len(const zt_tz_counts *c, size_t tsize)
{
    return (size_t)c->time * (tsize + 1) + (size_t)c->type * 6 + c->chr +
           (size_t)c->leap * (tsize + 4) + c->isstd + c->isut;
}

/* Reads one data block (times of tsize bytes) into b; *off0 is the first type's offset. */
static int zt_tz_block(zt_tz_build *b, const unsigned char *d, const zt_tz_counts *c, size_t tsize,
                       char *err, size_t errlen)
{
    const unsigned char *times = d, *idx = d + (size_t)c->time * tsize;
    const unsigned char *types = idx + c->time;
    for (uint32_t i = 0; i < c->type; i++) {
        int32_t off = (int32_t)zt_tz_be32(types + 6 * i);
        if (off < -ZT_TZ_MAX_OFFSET || off > ZT_TZ_MAX_OFFSET || types[6 * i + 4] > 1) {
            zt_errf(err, errlen, "bad local time type %u", (unsigned)i);
            return -1;
        }
    }
    b->tz->off0 = (int32_t)zt_tz_be32(types);
    for (uint32_t i = 0; i < c->time; i++) {
        int64_t at = tsize == 8 ? zt_tz_be64(times + 8 * i) : (int32_t)zt_tz_be32(times + 4 * i);
        if (idx[i] >= c->type || (b->tz->n > 0 && at <= b->tz->at[b->tz->n - 1])) {
            zt_errf(err, errlen, "transition %u is out of order or has a bad type", (unsigned)i);
            return -1;
        }
        if (zt_tz_push(b, at, (int32_t)zt_tz_be32(types + 6 * idx[i])) < 0) {
            zt_errf(err, errlen, "out of memory");
            return -1;
        }
    }
    return 0;
}

static int zt_tz_footer(zt_tz_build *b, const unsigned char *d, size_t len, char *err,
                        size_t errlen)
{
    char buf[128];
    zt_tz_posix px;
    if (len < 2 || d[0] != '\n') {
        zt_errf(err, errlen, "missing footer");
        return -1;
    }
    const unsigned char *nl = memchr(d + 1, '\n', len - 1);
    size_t n = nl != NULL ? (size_t)(nl - d - 1) : 0;
    if (nl == NULL || n >= sizeof(buf)) {
        zt_errf(err, errlen, "bad footer");
        return -1;
    }
    if (n == 0)
        return 0; /* no rule: the last transition's offset holds for ever */
    memcpy(buf, d + 1, n);
    buf[n] = '\0';
    if (!zt_tz_p_parse(buf, &px)) {
        zt_errf(err, errlen, "unsupported TZ rule '%s'", buf);
        return -1;
    }
    int64_t from = b->tz->n > 0 ? b->tz->at[b->tz->n - 1] + 1 : 0;
    if (b->tz->n == 0 && !px.has_dst) {
        b->tz->off0 = px.std_off;
        return 0;
    }
    if (zt_tz_expand(b, &px, from) < 0) {
        zt_errf(err, errlen, "out of memory");
        return -1;
    }
    return 0;
}

int zt_tz_parse(zt_tz *tz, const unsigned char *d, size_t len, char *err, size_t errlen)
{
    zt_tz_counts c;
    zt_tz_build b = {tz, 0};
    memset(tz, 0, sizeof(*tz));
    if (!zt_tz_header(d, len, &c) || 44 + zt_tz_block_len(&c, 4) > len) {
        zt_errf(err, errlen, "not a valid TZif file");
        return -1;
    }
    int rc;
    if (d[4] == '\0') {
        rc = zt_tz_block(&b, d + 44, &c, 4, err, errlen);
    } else {
        /* Version 2+: skip the 32-bit block; the 64-bit one and the footer follow. */
        size_t v2 = 44 + zt_tz_block_len(&c, 4);
        if (!zt_tz_header(d + v2, len - v2, &c) || v2 + 44 + zt_tz_block_len(&c, 8) > len) {
            zt_errf(err, errlen, "not a valid TZif file (version 2 header)");
            return -1;
        }
        size_t foot = v2 + 44 + zt_tz_block_len(&c, 8);
        rc = zt_tz_block(&b, d + v2 + 44, &c, 8, err, errlen);
        if (rc == 0)
            rc = zt_tz_footer(&b, d + foot, len - foot, err, errlen);
    }
    if (rc != 0)
        zt_tz_dispose(tz);
    return rc;
}

static int zt_tz_fixed(const char *spec, int32_t *off)
{
    if (strcmp(spec, "UTC") == 0) {
        *off = 0;
        return 0;
    }
    if (strlen(spec) != 6 || (spec[0] != '+' && spec[0] != '-') || spec[3] != ':')
        return -1;
    unsigned long long h, m;
    if (!zt_parse_u64(spec + 1, 2, 14, &h) || !zt_parse_u64(spec + 4, 2, 59, &m))
        return -1;
    *off = (spec[0] == '-' ? -1 : 1) * (int32_t)(h * 3600 + m * 60);
    return 0;
}

int zt_tz_load(zt_tz *tz, const char *spec, char *err, size_t errlen)
{
    char path[512];
    memset(tz, 0, sizeof(*tz));
    if (zt_tz_fixed(spec, &tz->off0) == 0)
        return 0;
    if (spec[0] == '/' || spec[0] == '.' || strstr(spec, "..") != NULL) {
        zt_errf(err, errlen, "bad time zone name '%s'", spec);
        return -1;
    }
    snprintf(path, sizeof(path), "%s/%s", ZT_CONFIG_ZONEINFO, spec);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        zt_errf(err, errlen, "time zone '%s': %s", spec, strerror(errno));
        return -1;
    }
    unsigned char *buf = malloc(ZT_TZ_FILE_MAX);
    size_t len = 0;
    ssize_t n = 0;
    while (buf != NULL && len < ZT_TZ_FILE_MAX &&
           ((n = read(fd, buf + len, ZT_TZ_FILE_MAX - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(fd);
    int rc = -1;
    if (buf == NULL || n < 0 || len == ZT_TZ_FILE_MAX) {
        zt_errf(err, errlen, "time zone '%s': cannot read", spec);
    } else if ((rc = zt_tz_parse(tz, buf, len, err, errlen)) != 0) {
        char why[160];
        snprintf(why, sizeof(why), "%s", err != NULL ? err : "");
        zt_errf(err, errlen, "time zone '%s': %s", spec, why);
    }
    free(buf);
    return rc;
}

void zt_tz_dispose(zt_tz *tz)
{
    if (tz == NULL)
        return;
    free(tz->at);
    free(tz->off);
    memset(tz, 0, sizeof(*tz));
}

int32_t zt_tz_offset(const zt_tz *tz, int64_t t)
{
    if (tz->n == 0 || t < tz->at[0])
        return tz->off0;
    size_t lo = 0, hi = tz->n; /* at[lo] <= t < at[hi] */
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;
        if (tz->at[mid] <= t)
            lo = mid;
        else
            hi = mid;
    }
    return tz->off[lo];
}
