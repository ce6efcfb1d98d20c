#include "lib/time.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static _Atomic int64_t wall_offset_us;

uint64_t zt_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

int64_t zt_wall_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000 + atomic_load(&wall_offset_us);
}

void zt_time_set_offset_us(int64_t offset)
{
    atomic_store(&wall_offset_us, offset);
}

static void put_digits(char *p, int v, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + v % 10);
        v /= 10;
    }
}

size_t zt_rfc3339(int64_t wall_us, char *out, size_t cap)
{
    time_t secs = (time_t)(wall_us / 1000000);
    long frac = (long)(wall_us % 1000000);
    if (frac < 0) {
        frac += 1000000;
        secs -= 1;
    }
    struct tm tm;
    gmtime_r(&secs, &tm);
    int year = tm.tm_year + 1900;
    if (year < 0 || year > 9999 || cap == 0) { /* not four digits: the general path */
        int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", year, tm.tm_mon + 1,
                         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
        if (n < 0)
            return 0;
        return (size_t)n < cap ? (size_t)n : cap - 1;
    }
    /* Every audit record and access-log line carries one: digits by hand, not printf. */
    char t[28];
    put_digits(t, year, 4);
    t[4] = '-';
    put_digits(t + 5, tm.tm_mon + 1, 2);
    t[7] = '-';
    put_digits(t + 8, tm.tm_mday, 2);
    t[10] = 'T';
    put_digits(t + 11, tm.tm_hour, 2);
    t[13] = ':';
    put_digits(t + 14, tm.tm_min, 2);
    t[16] = ':';
    put_digits(t + 17, tm.tm_sec, 2);
    t[19] = '.';
    put_digits(t + 20, (int)frac, 6);
    t[26] = 'Z';
    t[27] = '\0';
    size_t n = cap - 1 < 27 ? cap - 1 : 27;
    memcpy(out, t, n);
    out[n] = '\0';
    return n;
}

/* Howard Hinnant's days_from_civil: March-based years make the leap day the year's last. */
int64_t zt_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static bool two_digits(const char *s, int width, int *out)
{
    int v = 0;
    for (int i = 0; i < width; i++) {
        if (s[i] < '0' || s[i] > '9')
            return false;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return true;
}

static int month_days(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

static bool is_char(char c, char want, unsigned flags)
{
    return c == want || (!(flags & ZT_RFC3339_UPPER) && c == want + ('a' - 'A'));
}

/* ".fraction" at s[*i..n): 1-9 digits, the first six kept as microseconds. */
static bool parse_fraction(const char *s, size_t n, size_t *i, int64_t *us)
{
    size_t start = ++*i;
    int64_t v = 0;
    for (; *i < n && s[*i] >= '0' && s[*i] <= '9'; ++*i)
        if (*i - start < 6)
            v = v * 10 + (s[*i] - '0');
    size_t digits = *i - start;
    if (digits == 0 || digits > 9)
        return false;
    for (size_t k = digits; k < 6; k++)
        v *= 10;
    *us = v;
    return true;
}

/* "Z" or "+hh:mm"/"-hh:mm" making up all of s[i..n); seconds east of UTC into *off. */
static bool parse_zone(const char *s, size_t n, size_t i, unsigned flags, int64_t *off)
{
    int oh, om;
    if (n - i == 1 && is_char(s[i], 'Z', flags)) {
        *off = 0;
        return true;
    }
    if (n - i != 6 || (s[i] != '+' && s[i] != '-') || s[i + 3] != ':' ||
        !two_digits(s + i + 1, 2, &oh) || !two_digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
        return false;
    *off = (s[i] == '+' ? 1 : -1) * (int64_t)(oh * 3600 + om * 60);
    return true;
}

bool zt_parse_rfc3339(const char *s, size_t n, unsigned flags, int64_t *out_us)
{
    int y, mo, d, h, mi, sec;
    if (n < 20 || s[4] != '-' || s[7] != '-' || !is_char(s[10], 'T', flags) || s[13] != ':' ||
        s[16] != ':' || !two_digits(s, 4, &y) || !two_digits(s + 5, 2, &mo) ||
        !two_digits(s + 8, 2, &d) || !two_digits(s + 11, 2, &h) || !two_digits(s + 14, 2, &mi) ||
        !two_digits(s + 17, 2, &sec))
        return false;
    if (mo < 1 || mo > 12 || d < 1 || d > month_days(y, mo) || h > 23 || mi > 59 || sec > 60)
        return false;
    size_t i = 19;
    int64_t frac = 0, off = 0;
    if (s[i] == '.' && !parse_fraction(s, n, &i, &frac))
        return false;
    if (i >= n || !parse_zone(s, n, i, flags, &off))
        return false;
    int64_t t = zt_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec - off;
    *out_us = t * 1000000 + frac;
    return true;
}
