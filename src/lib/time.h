/* Clocks. Monotonic microseconds for durations and timeouts; wall-clock RFC 3339 for records.
 * The wall clock can be overridden (ZT_FAKE_NOW / zt_time_set_offset) so tests replay scenarios
 * such as "ten minutes later" without sleeping. */
#ifndef ZT_LIB_TIME_H
#define ZT_LIB_TIME_H

#include <stddef.h>
#include <stdint.h>

uint64_t zt_mono_us(void);
/* Wall clock in microseconds since the epoch, including any test offset. */
int64_t zt_wall_us(void);
void zt_time_set_offset_us(int64_t offset);
/* "2026-11-23T09:19:06.123456Z" into out (at least 32 bytes); returns length. */
size_t zt_rfc3339(int64_t wall_us, char *out, size_t cap);

#endif
