/* Device platform detection (device/platform.h): a table of real User-Agent strings (Windows,
 * macOS, iPhone, iPad in both modes, Android, ChromeOS, Linux, Edge on each, non-browsers),
 * Sec-CH-UA-Platform values (well-formed, unknown, malformed), Sec-CH-UA-Mobile, posture OS ids,
 * and which source wins when they disagree. docs/POLICY.md shows the same table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "device/platform.h"

#define CHROME_TAIL "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
#define SAFARI_TAIL "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Safari/605.1.15"
#define MOBILE_SAFARI_TAIL                                                                         \
    "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 Mobile/15E148 Safari/604.1"

static const struct {
    const char *what, *ua;
    zt_platform want;
} ua_cases[] = {
    {"Chrome on Windows 11", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " CHROME_TAIL,
     ZT_PLATFORM_WINDOWS},
    {"Edge on Windows", "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " CHROME_TAIL " Edg/131.0.0.0",
     ZT_PLATFORM_WINDOWS},
    {"Firefox on Windows",
     "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:133.0) Gecko/20100101 Firefox/133.0",
     ZT_PLATFORM_WINDOWS},
    {"Edge on Windows 10 Mobile",
     "Mozilla/5.0 (Windows Phone 10.0; Android 6.0.1; Microsoft; Lumia 950) AppleWebKit/537.36 "
     "(KHTML, like Gecko) Chrome/52.0.2743.116 Mobile Safari/537.36 Edge/15.15063",
     ZT_PLATFORM_WINDOWS},
    {"Safari on macOS", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " SAFARI_TAIL,
     ZT_PLATFORM_MACOS},
    {"Edge on macOS",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " CHROME_TAIL " Edg/131.0.0.0",
     ZT_PLATFORM_MACOS},
    {"Firefox on macOS",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10.15; rv:133.0) Gecko/20100101 Firefox/133.0",
     ZT_PLATFORM_MACOS},
    /* iPadOS Safari in its default desktop mode sends exactly the Mac string: macos. */
    {"Safari on iPad, desktop mode", "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) " SAFARI_TAIL,
     ZT_PLATFORM_MACOS},
    {"Safari on iPad, mobile mode",
     "Mozilla/5.0 (iPad; CPU OS 18_1 like Mac OS X) " MOBILE_SAFARI_TAIL, ZT_PLATFORM_IOS},
    {"Safari on iPhone",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) " MOBILE_SAFARI_TAIL, ZT_PLATFORM_IOS},
    {"Edge on iPhone",
     "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like "
     "Gecko) Version/18.0 EdgiOS/131.2903.68 Mobile/15E148 Safari/605.1.15",
     ZT_PLATFORM_IOS},
    {"Chrome on iPad, desktop mode (CriOS gives it away)",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "CriOS/131.0.6778.73 Safari/604.1",
     ZT_PLATFORM_IOS},
    {"Edge on iPad, desktop mode",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "Version/18.0 EdgiOS/131.2903.68 Safari/605.1.15",
     ZT_PLATFORM_IOS},
    {"Firefox on iPad, desktop mode",
     "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) "
     "FxiOS/133.0 Safari/605.1.15",
     ZT_PLATFORM_IOS},
    {"Chrome on Android (reduced UA)",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36",
     ZT_PLATFORM_ANDROID},
    {"Edge on Android",
     "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 (KHTML, like Gecko) "
     "Chrome/131.0.0.0 Mobile Safari/537.36 EdgA/131.0.0.0",
     ZT_PLATFORM_ANDROID},
    {"Android app (Dalvik)", "Dalvik/2.1.0 (Linux; U; Android 14; Pixel 8 Build/UD1A.230803.041)",
     ZT_PLATFORM_ANDROID},
    {"Chrome on Android, desktop site (UA alone says Linux)",
     "Mozilla/5.0 (X11; Linux x86_64) " CHROME_TAIL, ZT_PLATFORM_LINUX},
    {"Chrome on ChromeOS", "Mozilla/5.0 (X11; CrOS x86_64 14541.0.0) " CHROME_TAIL,
     ZT_PLATFORM_CHROMEOS},
    {"Chrome on ChromeOS (ARM)", "Mozilla/5.0 (X11; CrOS aarch64 15633.69.0) " CHROME_TAIL,
     ZT_PLATFORM_CHROMEOS},
    {"Firefox on Ubuntu",
     "Mozilla/5.0 (X11; Ubuntu; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0",
     ZT_PLATFORM_LINUX},
    {"Edge on Linux", "Mozilla/5.0 (X11; Linux x86_64) " CHROME_TAIL " Edg/131.0.0.0",
     ZT_PLATFORM_LINUX},
    {"Firefox on FreeBSD",
     "Mozilla/5.0 (X11; FreeBSD amd64; rv:133.0) Gecko/20100101 Firefox/133.0",
     ZT_PLATFORM_UNKNOWN},
    {"curl", "curl/8.5.0", ZT_PLATFORM_UNKNOWN},
    {"python", "Python-urllib/3.11", ZT_PLATFORM_UNKNOWN},
    {"empty", "", ZT_PLATFORM_UNKNOWN},
    {"only an opening parenthesis", "(", ZT_PLATFORM_UNKNOWN},
    {"unterminated comment still read", "Mozilla/5.0 (Windows NT 10.0", ZT_PLATFORM_WINDOWS},
    {"platform words outside the first comment do not count",
     "MyApp/1.0 (compatible; bot) Windows/10 Linux/6", ZT_PLATFORM_UNKNOWN},
    {"lower-case words are not the tokens browsers send", "Mozilla/5.0 (windows nt 10.0)",
     ZT_PLATFORM_UNKNOWN},
};

static void test_user_agents(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(ua_cases) / sizeof(ua_cases[0]); i++) {
        zt_platform got = zt_platform_from_user_agent(ua_cases[i].ua, strlen(ua_cases[i].ua));
        if (got != ua_cases[i].want)
            fail_msg("%s: got %s, want %s", ua_cases[i].what, zt_platform_name(got),
                     zt_platform_name(ua_cases[i].want));
    }
    assert_int_equal(zt_platform_from_user_agent(NULL, 0), ZT_PLATFORM_UNKNOWN);
}

/* Only the first ZT_PLATFORM_UA_SCAN_MAX bytes are read. */
static void test_user_agent_limit(void **state)
{
    (void)state;
    char ua[ZT_PLATFORM_UA_SCAN_MAX + 64];
    memset(ua, 'x', sizeof(ua));
    memcpy(ua + ZT_PLATFORM_UA_SCAN_MAX, "(Windows NT 10.0)", 17);
    assert_int_equal(zt_platform_from_user_agent(ua, ZT_PLATFORM_UA_SCAN_MAX + 17),
                     ZT_PLATFORM_UNKNOWN);
    memcpy(ua + ZT_PLATFORM_UA_SCAN_MAX - 17, "(Windows NT 10.0)", 17);
    assert_int_equal(zt_platform_from_user_agent(ua, sizeof(ua)), ZT_PLATFORM_WINDOWS);
}

static const struct {
    const char *value;
    bool known;
    zt_platform want;
} hint_cases[] = {
    {"\"Windows\"", true, ZT_PLATFORM_WINDOWS},
    {"\"macOS\"", true, ZT_PLATFORM_MACOS},
    {"\"Linux\"", true, ZT_PLATFORM_LINUX},
    {"\"Android\"", true, ZT_PLATFORM_ANDROID},
    {"\"iOS\"", true, ZT_PLATFORM_IOS},
    {"\"Chrome OS\"", true, ZT_PLATFORM_CHROMEOS},
    {"\"ChromeOS\"", true, ZT_PLATFORM_CHROMEOS},
    {"\"Chromium OS\"", true, ZT_PLATFORM_CHROMEOS},
    {" \t\"Windows\" ", true, ZT_PLATFORM_WINDOWS},
    {"\"Fuchsia\"", true, ZT_PLATFORM_UNKNOWN},
    {"\"windows\"", true, ZT_PLATFORM_UNKNOWN}, /* the names are exact */
    {"\"Win\\\"dows\"", true, ZT_PLATFORM_UNKNOWN},
    {"\"Unknown\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"\"", false, ZT_PLATFORM_UNKNOWN},
    {"Windows", false, ZT_PLATFORM_UNKNOWN},
    {"\"Windows", false, ZT_PLATFORM_UNKNOWN},
    {"\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"Windows\";v=1", false, ZT_PLATFORM_UNKNOWN},
    {"\"Windows\", \"Linux\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"a\\b\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"a\\\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"Win\x01\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"Win\xc3\xa9\"", false, ZT_PLATFORM_UNKNOWN},
    {"\"0123456789012345678901234567890123456789012345678901234567890123456789\"", false,
     ZT_PLATFORM_UNKNOWN},
    {"", false, ZT_PLATFORM_UNKNOWN},
};

static void test_platform_hints(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(hint_cases) / sizeof(hint_cases[0]); i++) {
        zt_platform got = (zt_platform)99;
        bool known = zt_platform_from_hint(hint_cases[i].value, strlen(hint_cases[i].value), &got);
        if (known != hint_cases[i].known || (known && got != hint_cases[i].want))
            fail_msg("hint [%s]: got %d/%s, want %d/%s", hint_cases[i].value, known,
                     known ? zt_platform_name(got) : "-", hint_cases[i].known,
                     zt_platform_name(hint_cases[i].want));
    }
    zt_platform p;
    assert_false(zt_platform_from_hint(NULL, 0, &p));
}

static void test_mobile_hint(void **state)
{
    (void)state;
    assert_int_equal(zt_platform_mobile_hint("?1", 2), 1);
    assert_int_equal(zt_platform_mobile_hint("?0", 2), 0);
    assert_int_equal(zt_platform_mobile_hint(" ?1\t", 4), 1);
    assert_int_equal(zt_platform_mobile_hint("?2", 2), -1);
    assert_int_equal(zt_platform_mobile_hint("1", 1), -1);
    assert_int_equal(zt_platform_mobile_hint("?1;a", 4), -1);
    assert_int_equal(zt_platform_mobile_hint("", 0), -1);
    assert_int_equal(zt_platform_mobile_hint(NULL, 0), -1);
}

static void test_os_ids(void **state)
{
    (void)state;
    assert_int_equal(zt_platform_from_os_id("debian"), ZT_PLATFORM_LINUX);
    assert_int_equal(zt_platform_from_os_id("ubuntu"), ZT_PLATFORM_LINUX);
    assert_int_equal(zt_platform_from_os_id("fedora"), ZT_PLATFORM_LINUX);
    assert_int_equal(zt_platform_from_os_id("chromeos"), ZT_PLATFORM_CHROMEOS);
    assert_int_equal(zt_platform_from_os_id("windows"), ZT_PLATFORM_WINDOWS);
    assert_int_equal(zt_platform_from_os_id("macos"), ZT_PLATFORM_MACOS);
    assert_int_equal(zt_platform_from_os_id("freebsd"), ZT_PLATFORM_UNKNOWN);
    assert_int_equal(zt_platform_from_os_id(""), ZT_PLATFORM_UNKNOWN);
    assert_int_equal(zt_platform_from_os_id(NULL), ZT_PLATFORM_UNKNOWN);
}

static zt_platform_result detect(const char *os_id, const char *ua, const char *hint,
                                 const char *mobile)
{
    zt_platform_request in = {
        .posture_os_id = os_id,
        .user_agent = ua,
        .user_agent_len = ua ? strlen(ua) : 0,
        .ch_platform = hint,
        .ch_platform_len = hint ? strlen(hint) : 0,
        .ch_mobile = mobile,
        .ch_mobile_len = mobile ? strlen(mobile) : 0,
    };
    zt_platform_result out;
    zt_platform_detect(&in, &out);
    return out;
}

#define WIN_UA "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " CHROME_TAIL
#define LINUX_UA "Mozilla/5.0 (X11; Linux x86_64) " CHROME_TAIL

/* Posture beats the hint, the hint beats the UA, a useless hint falls back to the UA. */
static void test_precedence(void **state)
{
    (void)state;
    zt_platform_result r = detect("debian", WIN_UA, "\"macOS\"", "?0");
    assert_int_equal(r.platform, ZT_PLATFORM_LINUX);
    assert_int_equal(r.source, ZT_PLATFORM_FROM_POSTURE);
    assert_int_equal(r.mobile, 0);
    r = detect(NULL, LINUX_UA, "\"Android\"", "?0"); /* Android "desktop site" */
    assert_int_equal(r.platform, ZT_PLATFORM_ANDROID);
    assert_int_equal(r.source, ZT_PLATFORM_FROM_HINT);
    r = detect("", WIN_UA, "\"Unknown\"", "?1");
    assert_int_equal(r.platform, ZT_PLATFORM_WINDOWS);
    assert_int_equal(r.source, ZT_PLATFORM_FROM_UA);
    assert_int_equal(r.mobile, 1);
    r = detect(NULL, WIN_UA, "Windows", NULL); /* malformed hint: ignored */
    assert_int_equal(r.platform, ZT_PLATFORM_WINDOWS);
    assert_int_equal(r.source, ZT_PLATFORM_FROM_UA);
    assert_int_equal(r.mobile, -1);
    r = detect(NULL, WIN_UA, "\"Fuchsia\"", NULL); /* a real platform we have no word for */
    assert_int_equal(r.platform, ZT_PLATFORM_UNKNOWN);
    assert_int_equal(r.source, ZT_PLATFORM_FROM_HINT);
    r = detect(NULL, NULL, NULL, NULL);
    assert_int_equal(r.platform, ZT_PLATFORM_UNKNOWN);
    assert_int_equal(r.source, ZT_PLATFORM_FROM_NONE);
    assert_string_equal(zt_platform_source_name(ZT_PLATFORM_FROM_HINT), "client_hint");
    assert_string_equal(zt_platform_name(ZT_PLATFORM_CHROMEOS), "chromeos");
    assert_string_equal(zt_platform_name((zt_platform)42), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_user_agents),    cmocka_unit_test(test_user_agent_limit),
        cmocka_unit_test(test_platform_hints), cmocka_unit_test(test_mobile_hint),
        cmocka_unit_test(test_os_ids),         cmocka_unit_test(test_precedence),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
