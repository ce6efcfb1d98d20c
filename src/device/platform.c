/* Device platform from posture, client hints and User-Agent. Which wins, and the table of real
 * User-Agent strings it is tested with, are in docs/POLICY.md ("Device platform"). */
#include "device/platform.h"

#include <string.h>

/* ---------------------------------------------------------------------------------------------
 * Posture: os-release ID as ztagent reports it */

zt_platform zt_platform_from_os_id(const char *os_id)
{
    static const struct {
        const char *id;
        zt_platform p;
    } known[] = {
        {"chromeos", ZT_PLATFORM_CHROMEOS}, {"chromiumos", ZT_PLATFORM_CHROMEOS},
        {"android", ZT_PLATFORM_ANDROID},   {"windows", ZT_PLATFORM_WINDOWS},
        {"macos", ZT_PLATFORM_MACOS},       {"ios", ZT_PLATFORM_IOS},
        {"ipados", ZT_PLATFORM_IOS},        {"freebsd", ZT_PLATFORM_UNKNOWN},
        {"openbsd", ZT_PLATFORM_UNKNOWN},   {"netbsd", ZT_PLATFORM_UNKNOWN},
        {"dragonfly", ZT_PLATFORM_UNKNOWN},
    };
    if (os_id == NULL || os_id[0] == '\0')
        return ZT_PLATFORM_UNKNOWN;
    for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (strcmp(os_id, known[i].id) == 0)
            return known[i].p;
    /* ztagent reads /etc/os-release, which the BSDs above aside means a Linux distribution. */
    return ZT_PLATFORM_LINUX;
}

/* ---------------------------------------------------------------------------------------------
 * User-Agent */

static bool has(const char *s, size_t n, const char *needle)
{
    size_t k = strlen(needle);
    for (size_t i = 0; k <= n && i <= n - k; i++)
        if (memcmp(s + i, needle, k) == 0)
            return true;
    return false;
}

/* The first comment, "Mozilla/5.0 (Windows NT 10.0; Win64; x64) ..." → "Windows NT 10.0; ...".
 * A UA without one (curl/8.5.0) names no platform. */
static bool first_comment(const char *ua, size_t n, const char **c, size_t *cn)
{
    const char *open = memchr(ua, '(', n);
    if (open == NULL)
        return false;
    const char *start = open + 1;
    const char *close = memchr(start, ')', n - (size_t)(start - ua));
    *c = start;
    *cn = close != NULL ? (size_t)(close - start) : n - (size_t)(start - ua);
    return true;
}

/* A "Macintosh" UA is a Mac unless it carries a token only iOS and iPadOS builds send: the
 * browsers there (Chrome CriOS, Firefox FxiOS, Edge EdgiOS, Opera OPiOS) and Safari's Mobile/
 * build token. Safari on an iPad in its default desktop mode sends none of them and is
 * indistinguishable from a Mac: it reads as macos (docs/POLICY.md says why). */
static bool ios_in_mac_clothing(const char *ua, size_t n)
{
    static const char *const tokens[] = {"CriOS/", "FxiOS/", "EdgiOS/", "OPiOS/", " Mobile/"};
    for (size_t i = 0; i < sizeof(tokens) / sizeof(tokens[0]); i++)
        if (has(ua, n, tokens[i]))
            return true;
    return false;
}

zt_platform zt_platform_from_user_agent(const char *ua, size_t len)
{
    const char *c;
    size_t cn;
    if (ua == NULL)
        return ZT_PLATFORM_UNKNOWN;
    if (len > ZT_PLATFORM_UA_SCAN_MAX)
        len = ZT_PLATFORM_UA_SCAN_MAX;
    if (!first_comment(ua, len, &c, &cn))
        return ZT_PLATFORM_UNKNOWN;
    /* Order matters: iOS says "like Mac OS X", Android and ChromeOS say "Linux", and Windows
     * phones said "Android". */
    if (has(c, cn, "Windows Phone"))
        return ZT_PLATFORM_WINDOWS;
    if (has(c, cn, "iPhone") || has(c, cn, "iPad") || has(c, cn, "iPod"))
        return ZT_PLATFORM_IOS;
    if (has(c, cn, "CrOS"))
        return ZT_PLATFORM_CHROMEOS;
    if (has(c, cn, "Android"))
        return ZT_PLATFORM_ANDROID;
    if (has(c, cn, "Windows"))
        return ZT_PLATFORM_WINDOWS;
    if (has(c, cn, "Macintosh") || has(c, cn, "Mac OS X"))
        return ios_in_mac_clothing(ua, len) ? ZT_PLATFORM_IOS : ZT_PLATFORM_MACOS;
    if (has(c, cn, "Linux"))
        return ZT_PLATFORM_LINUX;
    return ZT_PLATFORM_UNKNOWN;
}

/* ---------------------------------------------------------------------------------------------
 * Client hints (RFC 8941 structured fields) */

static void trim(const char **v, size_t *n)
{
    while (*n > 0 && (**v == ' ' || **v == '\t')) {
        (*v)++;
        (*n)--;
    }
    while (*n > 0 && ((*v)[*n - 1] == ' ' || (*v)[*n - 1] == '\t'))
        (*n)--;
}

/* An sf-string into out (NUL-terminated); false when malformed or too long. */
static bool sf_string(const char *v, size_t n, char out[ZT_PLATFORM_HINT_MAX + 1])
{
    size_t o = 0;
    trim(&v, &n);
    if (n < 2 || v[0] != '"' || v[n - 1] != '"')
        return false;
    for (size_t i = 1; i < n - 1; i++) {
        char ch = v[i];
        if (ch == '\\') {
            if (++i >= n - 1 || (v[i] != '"' && v[i] != '\\'))
                return false;
            ch = v[i];
        } else if (ch == '"' || ch < 0x20 || ch > 0x7e) {
            return false;
        }
        if (o == ZT_PLATFORM_HINT_MAX)
            return false;
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

bool zt_platform_from_hint(const char *v, size_t len, zt_platform *out)
{
    static const struct {
        const char *name;
        zt_platform p;
    } names[] = {
        {"Windows", ZT_PLATFORM_WINDOWS},   {"macOS", ZT_PLATFORM_MACOS},
        {"Linux", ZT_PLATFORM_LINUX},       {"Android", ZT_PLATFORM_ANDROID},
        {"iOS", ZT_PLATFORM_IOS},           {"Chrome OS", ZT_PLATFORM_CHROMEOS},
        {"ChromeOS", ZT_PLATFORM_CHROMEOS}, {"Chromium OS", ZT_PLATFORM_CHROMEOS},
    };
    char s[ZT_PLATFORM_HINT_MAX + 1];
    if (v == NULL || len == 0 || !sf_string(v, len, s) || s[0] == '\0' || strcmp(s, "Unknown") == 0)
        return false;
    *out = ZT_PLATFORM_UNKNOWN; /* a platform ztgate has no word for (Fuchsia, ...) */
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
        if (strcmp(s, names[i].name) == 0)
            *out = names[i].p;
    return true;
}

int zt_platform_mobile_hint(const char *v, size_t len)
{
    if (v == NULL)
        return -1;
    trim(&v, &len);
    if (len != 2 || v[0] != '?' || (v[1] != '0' && v[1] != '1'))
        return -1;
    return v[1] - '0';
}

/* ---------------------------------------------------------------------------------------------
 * Together */

void zt_platform_detect(const zt_platform_request *in, zt_platform_result *out)
{
    zt_platform hint;
    out->platform = ZT_PLATFORM_UNKNOWN;
    out->source = ZT_PLATFORM_FROM_NONE;
    out->mobile = zt_platform_mobile_hint(in->ch_mobile, in->ch_mobile_len);
    /* The device's own report beats anything a browser says: it came over the device
     * certificate, the browser's headers come from whoever typed them. */
    if (in->posture_os_id != NULL && in->posture_os_id[0] != '\0') {
        out->platform = zt_platform_from_os_id(in->posture_os_id);
        out->source = ZT_PLATFORM_FROM_POSTURE;
        return;
    }
    /* The hint names the OS outright and stays true where Chromium freezes the UA or swaps it
     * for a desktop one ("desktop site" mode). */
    if (zt_platform_from_hint(in->ch_platform, in->ch_platform_len, &hint)) {
        out->platform = hint;
        out->source = ZT_PLATFORM_FROM_HINT;
        return;
    }
    if (in->user_agent != NULL) {
        out->platform = zt_platform_from_user_agent(in->user_agent, in->user_agent_len);
        out->source = ZT_PLATFORM_FROM_UA;
    }
}

const char *zt_platform_name(zt_platform p)
{
    static const char *const names[] = {"unknown", "windows", "macos",   "linux",
                                        "ios",     "android", "chromeos"};
    return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "unknown";
}

const char *zt_platform_source_name(zt_platform_source s)
{
    static const char *const names[] = {"none", "posture", "client_hint", "user_agent"};
    return (unsigned)s < sizeof(names) / sizeof(names[0]) ? names[s] : "none";
}
