/* Device platform for Conditional Access (`conditions.device.platforms`): from the enrolled
 * device's posture when there is one (its OS, reported by ztagent over the device certificate),
 * else from what the browser says about itself (Sec-CH-UA-Platform, then User-Agent). Pure
 * functions over bytes a client sent: bounded, no allocation, never call the proxy.
 * The browser's word is unverified (anyone can send any User-Agent): a platform condition is
 * a hint, not proof; pair it with compliant_device (docs/POLICY.md, "Device platform"). */
#ifndef ZT_DEVICE_PLATFORM_H
#define ZT_DEVICE_PLATFORM_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/policy.h"

/* Only the first bytes of a User-Agent are read: the platform is in its first comment. */
#define ZT_PLATFORM_UA_SCAN_MAX 512
/* A Sec-CH-UA-Platform value longer than this is malformed (real ones are < 20 bytes). */
#define ZT_PLATFORM_HINT_MAX 64

typedef enum zt_platform_source {
    ZT_PLATFORM_FROM_NONE = 0, /* nothing said: unknown */
    ZT_PLATFORM_FROM_POSTURE,  /* the enrolled device's posture report */
    ZT_PLATFORM_FROM_HINT,     /* Sec-CH-UA-Platform */
    ZT_PLATFORM_FROM_UA,       /* User-Agent */
} zt_platform_source;

/* What a request carries; a NULL pointer (or n == 0 for the hint) means absent. */
typedef struct zt_platform_request {
    const char *posture_os_id; /* os-release ID from the device's posture, "" or NULL = none */
    const char *user_agent;
    size_t user_agent_len;
    const char *ch_platform; /* Sec-CH-UA-Platform, raw field value */
    size_t ch_platform_len;
    const char *ch_mobile; /* Sec-CH-UA-Mobile, raw field value */
    size_t ch_mobile_len;
} zt_platform_request;

typedef struct zt_platform_result {
    zt_platform platform;
    zt_platform_source source;
    int mobile; /* Sec-CH-UA-Mobile: 1 ?1, 0 ?0, -1 absent or malformed (reported, not used) */
} zt_platform_result;

/* Posture first, then the client hint, then the User-Agent (docs/POLICY.md). */
void zt_platform_detect(const zt_platform_request *in, zt_platform_result *out);

/* The single steps, for tests and whatif. */
zt_platform zt_platform_from_os_id(const char *os_id); /* UNKNOWN for "" / NULL */
zt_platform zt_platform_from_user_agent(const char *ua, size_t len);
/* false when the hint is absent, malformed (not an RFC 8941 string) or "Unknown"; true with the
 * platform it names (UNKNOWN for a well-formed name ztgate has no word for, e.g. "Fuchsia"). */
bool zt_platform_from_hint(const char *v, size_t len, zt_platform *out);
/* RFC 8941 boolean "?1" / "?0" (surrounding spaces allowed): 1, 0, or -1 when malformed. */
int zt_platform_mobile_hint(const char *v, size_t len);

const char *zt_platform_name(zt_platform p);               /* "windows", ..., "unknown" */
const char *zt_platform_source_name(zt_platform_source s); /* "posture", "client_hint", ... */

#endif
