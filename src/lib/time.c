#include "lib/time.h"

#include <stdatomic.h>
#include <stdio.h>
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
    int n = snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%06ldZ", tm.tm_year + 1900,
                     tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, frac);
    if (n < 0)
        return 0;
    return (size_t)n < cap ? (size_t)n : cap - 1;
}
