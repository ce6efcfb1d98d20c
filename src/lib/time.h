/* Clocks. Monotonic microseconds for durations and timeouts; wall-clock RFC 3339 for records.
 * The wall clock can be overridden (ZT_FAKE_NOW / zt_time_set_offset) so tests replay scenarios
 * such as "ten minutes later" without sleeping. */
#ifndef ZT_LIB_TIME_H
#define ZT_LIB_TIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

uint64_t zt_mono_us(void);
/* Wall clock in microseconds since the epoch, including any test offset. */
int64_t zt_wall_us(void);
void zt_time_set_offset_us(int64_t offset);
/* "2026-11-23T09:19:06.123456Z" into out (at least 32 bytes); returns length. */
size_t zt_rfc3339(int64_t wall_us, char *out, size_t cap);

/* Parse an RFC 3339 date-time, YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm), from s[0..n)
 * into Unix microseconds. The fraction has 1 to 9 digits (kept to the microsecond); second 60,
 * a leap second, counts as the next second; a day the month does not have is refused (no silent
 * normalising of 02-30 into March). RFC 3339 allows a lower-case t and z; ZT_RFC3339_UPPER
 * refuses them (the agent's posture format asks for upper case). */
#define ZT_RFC3339_UPPER 1u
bool zt_parse_rfc3339(const char *s, size_t n, unsigned flags, int64_t *out_us);
/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
int64_t zt_days_from_civil(int64_t y, int m, int d);

#endif
