/* Time zones for policy time windows: "UTC", fixed offsets ("+09:00") and IANA names read from
 * the system's TZif files (RFC 8536) at load into a table of UTC offsets. Lookups are pure and
 * lock-free; nothing here touches TZ, setenv or localtime. */
#ifndef ZT_POLICY_TZ_H
#define ZT_POLICY_TZ_H

#include <stddef.h>
#include <stdint.h>

#define ZT_TZ_FILE_MAX (256u << 10) /* larger zoneinfo files are refused */
#define ZT_TZ_LAST_YEAR 2200        /* footer rules are expanded up to here; then the last offset */

typedef struct zt_tz {
    int64_t *at;  /* transition instants (Unix seconds), ascending */
    int32_t *off; /* UTC offset in seconds from at[i] on */
    size_t n;
    int32_t off0; /* before at[0], or the whole zone when n == 0 */
} zt_tz;

/* spec as accepted by the config (ZT_K_TZ). 0, or -1 with a message in err. */
int zt_tz_load(zt_tz *tz, const char *spec, char *err, size_t errlen);
/* Same from a TZif image in memory (tests). */
int zt_tz_parse(zt_tz *tz, const unsigned char *data, size_t len, char *err, size_t errlen);
void zt_tz_dispose(zt_tz *tz);
int32_t zt_tz_offset(const zt_tz *tz, int64_t t);

#endif
