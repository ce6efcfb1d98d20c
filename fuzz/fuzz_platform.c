/* libFuzzer target for device platform detection: the input is split at the first three
 * newlines into User-Agent, Sec-CH-UA-Platform, Sec-CH-UA-Mobile and a posture os-release ID.
 * Any bytes give one of the known platforms and sources, never read past what they were given
 * (the pieces are exact-size heap copies, so ASan sees any overread), and the steps agree with
 * the combined answer. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device/platform.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

/* The next newline-separated piece as an exact-size copy (not NUL-terminated). */
static char *piece(const uint8_t **p, size_t *left, size_t *n)
{
    const uint8_t *nl = memchr(*p, '\n', *left);
    *n = nl != NULL ? (size_t)(nl - *p) : *left;
    char *copy = malloc(*n + 1);
    if (copy == NULL)
        abort();
    memcpy(copy, *p, *n);
    *p += *n + (nl != NULL);
    *left -= *n + (nl != NULL);
    return copy;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *p = data;
    size_t left = size, ua_n, hint_n, mobile_n, os_n;
    char *ua = piece(&p, &left, &ua_n);
    char *hint = piece(&p, &left, &hint_n);
    char *mobile = piece(&p, &left, &mobile_n);
    char *os = piece(&p, &left, &os_n);
    os[os_n] = '\0'; /* the posture ID is a C string (the posture parser bounds it) */
    zt_platform_request in = {.posture_os_id = os,
                              .user_agent = ua,
                              .user_agent_len = ua_n,
                              .ch_platform = hint,
                              .ch_platform_len = hint_n,
                              .ch_mobile = mobile,
                              .ch_mobile_len = mobile_n};
    zt_platform_result r;
    zt_platform_detect(&in, &r);
    CHECK(r.platform >= ZT_PLATFORM_UNKNOWN && r.platform <= ZT_PLATFORM_CHROMEOS);
    CHECK(r.mobile >= -1 && r.mobile <= 1);
    CHECK(strcmp(zt_platform_name(r.platform), "") != 0);
    zt_platform h = ZT_PLATFORM_UNKNOWN;
    bool has_hint = zt_platform_from_hint(hint, hint_n, &h);
    if (os[0] != '\0') {
        CHECK(r.source == ZT_PLATFORM_FROM_POSTURE);
        CHECK(r.platform == zt_platform_from_os_id(os));
    } else if (has_hint) {
        CHECK(r.source == ZT_PLATFORM_FROM_HINT && r.platform == h);
    } else {
        CHECK(r.source == ZT_PLATFORM_FROM_UA);
        CHECK(r.platform == zt_platform_from_user_agent(ua, ua_n));
    }
    free(ua);
    free(hint);
    free(mobile);
    free(os);
    return 0;
}
