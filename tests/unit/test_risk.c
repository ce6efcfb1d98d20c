/* Risk detections and risk state: one table per detection with its boundary cases (travel
 * speed, learning period, unfamiliar properties, IP verdicts, spray and reputation thresholds,
 * windows and TTLs), the state machine, and the engine over a real store (sign-in recording,
 * parking and learning, user level, remediation, dismissal, confirmed compromise). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "lib/secure.h"
#include "risk/risk.h"
#include "store/store.h"

#define DAY 86400
#define T0 1700000000

static zt_risk_cfg defaults(void)
{
    zt_risk_cfg c;
    zt_risk_cfg_defaults(&c);
    return c;
}

static bool has_det(const zt_risk_assessment *a, zt_risk_type t, zt_risk *level)
{
    for (size_t i = 0; i < a->n; i++) {
        if (a->det[i].type == t) {
            if (level != NULL)
                *level = a->det[i].level;
            return true;
        }
    }
    return false;
}

static struct sockaddr_storage ip4(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    in->sin_family = AF_INET;
    assert_int_equal(inet_pton(AF_INET, s, &in->sin_addr), 1);
    return ss;
}

static struct sockaddr_storage ip6(const char *s)
{
    struct sockaddr_storage ss;
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in6 *in = (struct sockaddr_in6 *)&ss;
    in->sin6_family = AF_INET6;
    assert_int_equal(inet_pton(AF_INET6, s, &in->sin6_addr), 1);
    return ss;
}

/* ---- impossible travel ---- */

#define PARIS 48.8566, 2.3522
#define BERLIN 52.5200, 13.4050
#define TOKYO 35.6762, 139.6503
#define SAO_PAULO -23.5505, -46.6333
#define VERSAILLES 48.8049, 2.1204

typedef struct travel_case {
    const char *name;
    double lat1, lon1, acc1;
    double lat2, lon2, acc2;
    double kmh;   /* > 0: the time between them is what this speed needs */
    int64_t secs; /* else this */
    bool vpn;
    bool expect;
} travel_case;

static void test_travel(void **state)
{
    static const travel_case cases[] = {
        {"Paris-Berlin at 899 km/h", PARIS, 0, BERLIN, 0, 899, 0, false, false},
        {"Paris-Berlin at 901 km/h", PARIS, 0, BERLIN, 0, 901, 0, false, true},
        {"Tokyo-Sao Paulo in 10 min", TOKYO, 0, SAO_PAULO, 0, 0, 600, false, true},
        {"Tokyo-Sao Paulo in 10 min via VPN egress", TOKYO, 0, SAO_PAULO, 0, 0, 600, true, false},
        {"Tokyo-Sao Paulo in 30 h", TOKYO, 0, SAO_PAULO, 0, 0, 30 * 3600, false, false},
        {"Tokyo-Sao Paulo, new fix inaccurate (250 km)", TOKYO, 0, SAO_PAULO, 250, 0, 600, false,
         false},
        {"Tokyo-Sao Paulo, old fix inaccurate (250 km)", TOKYO, 250, SAO_PAULO, 0, 0, 600, false,
         false},
        {"Tokyo-Sao Paulo, accuracy at the bound (200 km)", TOKYO, 200, SAO_PAULO, 200, 0, 600,
         false, true},
        {"Paris-Versailles (~18 km) in 1 s: below the minimum distance", PARIS, 0, VERSAILLES, 0, 0,
         1, false, false},
        {"Paris-Berlin same second", PARIS, 0, BERLIN, 0, 0, 0, false, true},
        {"Paris-Berlin in 50 min: too fast", PARIS, 0, BERLIN, 0, 0, 3000, false, true},
        {"Paris-Berlin in 50 min, fixes 100 km fuzzy: radii taken off", PARIS, 100, BERLIN, 100, 0,
         3000, false, false},
    };
    zt_risk_cfg cfg = defaults();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const travel_case *c = &cases[i];
        double km = zt_risk_haversine_km(c->lat1, c->lon1, c->lat2, c->lon2);
        int64_t secs = c->kmh > 0 ? (int64_t)llround(km / c->kmh * 3600.0) : c->secs;
        zt_store_signin_profile h = {.count = 3,
                                     .first_at = T0 - DAY,
                                     .has_location = true,
                                     .lat = c->lat1,
                                     .lon = c->lon1,
                                     .accuracy_km = c->acc1,
                                     .location_at = T0,
                                     .location_country = "AA"};
        for (int p = 0; p < ZT_STORE_N_PROPS; p++)
            h.seen[p] = true;
        zt_ip_info ip = {.country = "BB",
                         .has_location = true,
                         .latitude = c->lat2,
                         .longitude = c->lon2,
                         .accuracy_km = c->acc2};
        zt_risk_facts f = {.now = T0 + secs, .ip = &ip, .vpn_egress = c->vpn, .history = &h};
        zt_risk_assessment a;
        zt_risk_detect(&cfg, &f, &a);
        zt_risk lvl = ZT_RISK_NONE;
        bool got = has_det(&a, ZT_DET_IMPOSSIBLE_TRAVEL, &lvl);
        if (got != c->expect)
            fail_msg("%s: %.1f km in %lld s: expected %d, got %d", c->name, km, (long long)secs,
                     c->expect, got);
        if (got) {
            assert_int_equal(lvl, ZT_RISK_MEDIUM);
            if (strstr(a.det[0].evidence, "\"from\":\"AA\",\"to\":\"BB\"") == NULL)
                fail_msg("%s: evidence %s", c->name, a.det[0].evidence);
        }
    }
    /* Tokyo-Sao Paulo is about 18,500 km. */
    double km = zt_risk_haversine_km(TOKYO, SAO_PAULO);
    assert_true(km > 18400 && km < 18600);
}

/* ---- learning period and unfamiliar properties / atypical travel ---- */

typedef struct learn_case {
    const char *name;
    uint64_t count;
    int64_t first_days_ago; /* seconds precision below */
    int64_t extra_s;
    bool expect;
} learn_case;

static void test_learning_period(void **state)
{
    static const learn_case cases[] = {
        {"no history", 0, 0, 0, false},
        {"13 days, 9 sign-ins", 9, 13, 0, false},
        {"14 days minus 1 s, 9 sign-ins", 9, 14, -1, false},
        {"14 days, 1 sign-in", 1, 14, 0, true},
        {"13 days, 10 sign-ins", 10, 13, 0, true},
        {"1 day, 9 sign-ins", 9, 1, 0, false},
        {"1 day, 10 sign-ins", 10, 1, 0, true},
    };
    zt_risk_cfg cfg = defaults();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const learn_case *c = &cases[i];
        int64_t now = T0 + 100 * DAY;
        zt_store_signin_profile h = {.count = c->count,
                                     .first_at =
                                         c->count ? now - c->first_days_ago * DAY - c->extra_s : 0};
        /* Everything new: unfamiliar and atypical fire only once learning is over. */
        zt_ip_info ip = {.country = "JP"};
        zt_risk_facts f = {.now = now, .ip = &ip, .history = &h};
        for (int p = 0; p < ZT_STORE_N_PROPS; p++)
            f.known_props[p] = true;
        zt_risk_assessment a;
        zt_risk_detect(&cfg, &f, &a);
        bool got = has_det(&a, ZT_DET_UNFAMILIAR_SIGN_IN, NULL);
        if (got != c->expect || has_det(&a, ZT_DET_ATYPICAL_TRAVEL, NULL) != c->expect ||
            zt_risk_learned(&cfg, &h, now) != c->expect)
            fail_msg("%s: expected %d, got %d", c->name, c->expect, got);
    }
}

typedef struct unfam_case {
    const char *name;
    bool known[ZT_STORE_N_PROPS];
    bool seen[ZT_STORE_N_PROPS];
    bool vpn;
    zt_risk unfamiliar; /* NONE = no detection */
    bool atypical;
} unfam_case;

static void test_unfamiliar(void **state)
{
    /* Order: ip_prefix, asn, country, device, ua. */
    static const unfam_case cases[] = {
        {"all familiar", {1, 1, 1, 1, 1}, {1, 1, 1, 1, 1}, false, ZT_RISK_NONE, false},
        {"new /24 only", {1, 1, 1, 1, 1}, {0, 1, 1, 1, 1}, false, ZT_RISK_LOW, false},
        {"new /24 and ASN", {1, 1, 1, 1, 1}, {0, 0, 1, 1, 1}, false, ZT_RISK_LOW, false},
        {"new /24, ASN, country", {1, 1, 1, 1, 1}, {0, 0, 0, 1, 1}, false, ZT_RISK_MEDIUM, true},
        {"all new", {1, 1, 1, 1, 1}, {0, 0, 0, 0, 0}, false, ZT_RISK_MEDIUM, true},
        {"unknown properties are not new",
         {0, 0, 0, 0, 1},
         {0, 0, 0, 0, 1},
         false,
         ZT_RISK_NONE,
         false},
        {"new country via VPN: unfamiliar, not atypical",
         {1, 1, 1, 1, 1},
         {1, 1, 0, 1, 1},
         true,
         ZT_RISK_LOW,
         false},
        {"new device and UA", {1, 1, 1, 1, 1}, {1, 1, 1, 0, 0}, false, ZT_RISK_LOW, false},
    };
    zt_risk_cfg cfg = defaults();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const unfam_case *c = &cases[i];
        zt_store_signin_profile h = {.count = 20, .first_at = T0 - 30 * DAY};
        memcpy(h.seen, c->seen, sizeof(h.seen));
        zt_ip_info ip = {.country = "BR"};
        zt_risk_facts f = {.now = T0, .ip = &ip, .vpn_egress = c->vpn, .history = &h};
        memcpy(f.known_props, c->known, sizeof(f.known_props));
        zt_risk_assessment a;
        zt_risk_detect(&cfg, &f, &a);
        zt_risk lvl = ZT_RISK_NONE;
        has_det(&a, ZT_DET_UNFAMILIAR_SIGN_IN, &lvl);
        if (lvl != c->unfamiliar || has_det(&a, ZT_DET_ATYPICAL_TRAVEL, NULL) != c->atypical)
            fail_msg("%s: unfamiliar %s (want %s), atypical %d (want %d)", c->name,
                     zt_risk_name(lvl), zt_risk_name(c->unfamiliar),
                     has_det(&a, ZT_DET_ATYPICAL_TRAVEL, NULL), c->atypical);
    }
}

/* ---- leaked credentials, anonymous and malicious IPs ---- */

typedef struct ip_case {
    const char *name;
    bool leaked, anonymous, malicious, reputation, spray;
    const char *source;
    zt_risk level; /* sign-in risk */
    zt_risk_type expect;
    const char *evidence; /* substring of that detection's evidence */
} ip_case;

static void test_ip_and_credentials(void **state)
{
    static const ip_case cases[] = {
        {"clean", false, false, false, false, false, "", ZT_RISK_NONE, ZT_DET_N_TYPES, NULL},
        {"leaked", true, false, false, false, false, "", ZT_RISK_HIGH, ZT_DET_LEAKED_CREDENTIALS,
         "leaked_credentials_feed"},
        {"Tor exit", false, true, false, false, false, "", ZT_RISK_MEDIUM, ZT_DET_ANONYMOUS_IP,
         "anonymous"},
        {"malicious list", false, false, true, false, false, "spamhaus-drop", ZT_RISK_MEDIUM,
         ZT_DET_MALICIOUS_IP, "\"source\":\"spamhaus-drop\""},
        {"source name escaped", false, false, true, false, false, "a\"b", ZT_RISK_MEDIUM,
         ZT_DET_MALICIOUS_IP, "\"source\":\"a\\\"b\""},
        {"own reputation", false, false, false, true, false, "", ZT_RISK_MEDIUM,
         ZT_DET_MALICIOUS_IP, "ztgate-reputation"},
        {"spray source then success", false, false, false, false, true, "", ZT_RISK_HIGH,
         ZT_DET_PASSWORD_SPRAY, "source_flagged"},
        {"leaked via Tor: max is high", true, true, false, false, false, "", ZT_RISK_HIGH,
         ZT_DET_ANONYMOUS_IP, "anonymous"},
    };
    zt_risk_cfg cfg = defaults();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const ip_case *c = &cases[i];
        zt_ip_info ip = {.anonymous = c->anonymous, .malicious = c->malicious};
        snprintf(ip.malicious_source, sizeof(ip.malicious_source), "%s", c->source);
        zt_risk_facts f = {.now = T0,
                           .ip = &ip,
                           .leaked = c->leaked,
                           .reputation_source = c->reputation,
                           .spray_source = c->spray};
        zt_risk_assessment a;
        zt_risk_detect(&cfg, &f, &a);
        if (a.level != c->level)
            fail_msg("%s: level %s, want %s", c->name, zt_risk_name(a.level),
                     zt_risk_name(c->level));
        if (c->expect == ZT_DET_N_TYPES) {
            assert_int_equal(a.n, 0);
            continue;
        }
        bool found = false;
        for (size_t k = 0; k < a.n; k++) {
            if (a.det[k].type != c->expect)
                continue;
            found = true;
            if (strstr(a.det[k].evidence, c->evidence) == NULL)
                fail_msg("%s: evidence %s lacks %s", c->name, a.det[k].evidence, c->evidence);
        }
        if (!found)
            fail_msg("%s: no %s detection", c->name, zt_risk_type_name(c->expect));
    }
}

/* ---- password spray and reputation (engine telemetry, no store needed) ---- */

typedef struct spray_case {
    const char *name;
    unsigned accounts;  /* distinct accounts failed against */
    unsigned passwords; /* distinct passwords, used round-robin */
    int64_t step_s;     /* seconds between attempts */
    bool tags;          /* caller passes password tags */
    bool spray, reputation;
} spray_case;

static void tag_of(unsigned pw, unsigned char tag[ZT_RISK_TAG_LEN])
{
    memset(tag, 0, ZT_RISK_TAG_LEN);
    tag[0] = (unsigned char)pw;
    tag[15] = 0x5a;
}

static void test_spray_and_reputation(void **state)
{
    static const spray_case cases[] = {
        {"9 accounts, 1 password", 9, 1, 1, true, false, false},
        {"10 accounts, 1 password", 10, 1, 1, true, true, true},
        {"10 accounts, 2 passwords", 10, 2, 1, true, true, true},
        {"10 accounts, 3 passwords: not spray", 10, 3, 1, true, false, true},
        {"10 accounts without tags: reputation only", 10, 1, 1, false, false, true},
        {"10 accounts within 9 min", 10, 1, 60, true, true, true},
        /* 10 attempts 67 s apart span 603 s: the first is out of the 600 s window. */
        {"10 accounts over 10 min 3 s", 10, 1, 67, true, false, false},
        {"64 accounts, 2 passwords", 64, 2, 1, true, true, true},
    };
    zt_risk_cfg cfg = defaults();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const spray_case *c = &cases[i];
        char err[128];
        zt_risk_engine *eng = zt_risk_new(&cfg, NULL, err, sizeof(err));
        assert_non_null(eng);
        struct sockaddr_storage src = ip4("203.0.113.66");
        unsigned raised = 0;
        int64_t now = T0;
        for (unsigned k = 0; k < c->accounts; k++, now += c->step_s) {
            char acct[64];
            unsigned char tag[ZT_RISK_TAG_LEN];
            snprintf(acct, sizeof(acct), "User%u@Example.com", k);
            tag_of(k % c->passwords, tag);
            raised |=
                zt_risk_on_failure(eng, acct, (struct sockaddr *)&src, c->tags ? tag : NULL, now);
        }
        now -= c->step_s;
        bool spray = (raised & ZT_RISK_SRC_SPRAY) != 0;
        bool rep = (raised & ZT_RISK_SRC_REPUTATION) != 0;
        if (spray != c->spray || rep != c->reputation)
            fail_msg("%s: spray %d (want %d), reputation %d (want %d)", c->name, spray, c->spray,
                     rep, c->reputation);
        zt_risk want = c->spray || c->reputation ? ZT_RISK_MEDIUM : ZT_RISK_NONE;
        assert_int_equal(zt_risk_ip_level(eng, NULL, (struct sockaddr *)&src, now), want);
        zt_risk_free(eng);
    }
}

static void test_reputation_ttl_and_keys(void **state)
{
    zt_risk_cfg cfg = defaults();
    char err[128];
    zt_risk_engine *eng = zt_risk_new(&cfg, NULL, err, sizeof(err));
    assert_non_null(eng);
    struct sockaddr_storage src = ip6("2001:db8:1:2::10");
    struct sockaddr_storage same64 = ip6("2001:db8:1:2::ffff");
    struct sockaddr_storage other64 = ip6("2001:db8:1:3::10");
    /* The same account ten times is one account: nothing. */
    for (int k = 0; k < 10; k++)
        assert_int_equal(
            zt_risk_on_failure(eng, "a@example.com", (struct sockaddr *)&src, NULL, T0 + k), 0);
    /* Case does not make a new account. */
    assert_int_equal(zt_risk_on_failure(eng, "A@EXAMPLE.COM", (struct sockaddr *)&src, NULL, T0),
                     0);
    unsigned raised = 0;
    for (int k = 1; k < 10; k++) {
        char acct[32];
        snprintf(acct, sizeof(acct), "u%d@example.com", k);
        raised |= zt_risk_on_failure(eng, acct, (struct sockaddr *)&src, NULL, T0 + 10);
    }
    assert_int_equal(raised, ZT_RISK_SRC_REPUTATION);
    int64_t flagged = T0 + 10;
    /* The whole /64 is one source; the next /64 is not. */
    assert_int_equal(zt_risk_ip_level(eng, NULL, (struct sockaddr *)&same64, flagged),
                     ZT_RISK_MEDIUM);
    assert_int_equal(zt_risk_ip_level(eng, NULL, (struct sockaddr *)&other64, flagged),
                     ZT_RISK_NONE);
    /* TTL: flagged until just before flagged + 24 h. */
    assert_int_equal(
        zt_risk_ip_level(eng, NULL, (struct sockaddr *)&src, flagged + cfg.reputation_ttl_s - 1),
        ZT_RISK_MEDIUM);
    assert_int_equal(
        zt_risk_ip_level(eng, NULL, (struct sockaddr *)&src, flagged + cfg.reputation_ttl_s),
        ZT_RISK_NONE);
    /* A feed verdict alone is medium too, for any engine state. */
    zt_ip_info tor = {.anonymous = true};
    assert_int_equal(zt_risk_ip_level(eng, &tor, NULL, T0), ZT_RISK_MEDIUM);
    zt_risk_free(eng);
}

/* The table is bounded: many sources evict the least recent unflagged ones, never a flagged
 * one while its flag lasts. */
static void test_sources_bounded(void **state)
{
    zt_risk_cfg cfg = defaults();
    cfg.sources_max = 16;
    char err[128];
    zt_risk_engine *eng = zt_risk_new(&cfg, NULL, err, sizeof(err));
    assert_non_null(eng);
    struct sockaddr_storage bad = ip4("198.51.100.1");
    for (int k = 0; k < 10; k++) {
        char acct[32];
        snprintf(acct, sizeof(acct), "u%d@example.com", k);
        zt_risk_on_failure(eng, acct, (struct sockaddr *)&bad, NULL, T0);
    }
    for (int k = 0; k < 1000; k++) {
        char a[32];
        snprintf(a, sizeof(a), "10.0.%d.%d", k / 256, k % 256);
        struct sockaddr_storage s = ip4(a);
        zt_risk_on_failure(eng, "x@example.com", (struct sockaddr *)&s, NULL, T0 + 1 + k);
    }
    assert_int_equal(zt_risk_ip_level(eng, NULL, (struct sockaddr *)&bad, T0 + 2000),
                     ZT_RISK_MEDIUM);
    zt_risk_free(eng);
    cfg.sources_max = 0;
    assert_null(zt_risk_new(&cfg, NULL, err, sizeof(err)));
    assert_non_null(strstr(err, "sources_max"));
    cfg = defaults();
    cfg.spray_accounts = ZT_RISK_TRACK_MAX + 1;
    assert_null(zt_risk_new(&cfg, NULL, err, sizeof(err)));
}

/* ---- helpers: user agents and prefixes ---- */

static void test_ua_family(void **state)
{
    static const struct {
        const char *ua, *want;
    } cases[] = {
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36",
         "chrome/windows"},
        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Safari/537.36 Edg/120.0.2210.91",
         "edge/windows"},
        {"Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0", "firefox/linux"},
        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 14_2) AppleWebKit/605.1.15 (KHTML, like Gecko) "
         "Version/17.2 Safari/605.1.15",
         "safari/macos"},
        {"Mozilla/5.0 (iPhone; CPU iPhone OS 17_2 like Mac OS X) AppleWebKit/605.1.15 (KHTML, "
         "like Gecko) Version/17.2 Mobile/15E148 Safari/604.1",
         "safari/ios"},
        {"Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) "
         "Chrome/120.0.0.0 Mobile Safari/537.36",
         "chrome/android"},
        {"curl/8.5.0", "curl/other"},
        {"python-requests/2.31.0", "python/other"},
        {"", "other/other"},
        {NULL, "other/other"},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char out[64];
        zt_risk_ua_family(cases[i].ua, out, sizeof(out));
        assert_string_equal(out, cases[i].want);
    }
}

static void test_ip_prefix(void **state)
{
    char out[64];
    struct sockaddr_storage a = ip4("203.0.113.77");
    zt_risk_ip_prefix((struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "203.0.113.0/24");
    a = ip6("2001:db8:aa:bb:cc::1");
    zt_risk_ip_prefix((struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "2001:db8:aa::/48");
    a = ip6("::ffff:192.0.2.9");
    zt_risk_ip_prefix((struct sockaddr *)&a, out, sizeof(out));
    assert_string_equal(out, "192.0.2.0/24");
    zt_risk_ip_prefix(NULL, out, sizeof(out));
    assert_string_equal(out, "");
}

/* ---- state machine ---- */

static void test_transitions(void **state)
{
    enum { A = ZT_STORE_RISK_AT_RISK, R, D, C };
    /* allowed[from][to] */
    static const bool allowed[4][4] = {
        [A] = {[R] = true, [D] = true, [C] = true},
        [C] = {[R] = true, [D] = true},
    };
    for (int f = 0; f < 4; f++)
        for (int t = 0; t < 4; t++)
            if (zt_risk_transition_ok((zt_risk_state)f, (zt_risk_state)t) != allowed[f][t])
                fail_msg("%s -> %s", zt_store_risk_state_name((zt_risk_state)f),
                         zt_store_risk_state_name((zt_risk_state)t));
    assert_int_equal(zt_risk_transition_from(ZT_STORE_RISK_REMEDIATED), (1u << A) | (1u << C));
    assert_int_equal(zt_risk_transition_from(ZT_STORE_RISK_CONFIRMED_COMPROMISED), 1u << A);
    zt_risk_type t;
    assert_true(zt_risk_type_parse("password_spray", &t));
    assert_int_equal(t, ZT_DET_PASSWORD_SPRAY);
    assert_string_equal(zt_risk_type_entra(t), "passwordSpray");
    assert_false(zt_risk_type_parse("nope", &t));
}

/* ---- engine over a store ---- */

typedef struct fixture {
    char root[64];
    zt_store *st;
    zt_risk_engine *eng;
    zt_user u;
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-risk-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->root};
    char err[256] = "";
    f->st = zt_store_open(&sc, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    f->eng = zt_risk_new(NULL, f->st, err, sizeof(err));
    assert_non_null(f->eng);
    assert_int_equal(zt_store_user_add(f->st, "alice@example.com", "Alice", NULL, NULL, 0, &f->u),
                     0);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_risk_free(f->eng);
    zt_store_close(f->st);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static const char *const FIREFOX = "Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 "
                                   "Firefox/121.0";

static zt_risk_sign_in home_sign_in(const fixture *f, const struct sockaddr *ip,
                                    const zt_ip_info *info, int64_t now)
{
    return (zt_risk_sign_in){.user_id = f->u.id,
                             .email = f->u.email,
                             .ip = ip,
                             .info = info,
                             .user_agent = FIREFOX,
                             .device_id = "dev-1",
                             .now = now};
}

static zt_risk level_of(fixture *f, int64_t now)
{
    zt_risk r = ZT_RISK_HIGH;
    assert_int_equal(zt_risk_user_level(f->eng, f->u.id, now, &r), 0);
    return r;
}

static void learn_home(fixture *f, const struct sockaddr *ip, const zt_ip_info *paris, int n)
{
    for (int k = 0; k < n; k++) {
        zt_risk_sign_in in = home_sign_in(f, ip, paris, T0 + k * 3600);
        zt_risk_assessment a;
        assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
        assert_int_equal(a.n, 0);
        assert_true(a.learned);
    }
}

static void test_engine_sign_in_flow(void **state)
{
    fixture *f = *state;
    struct sockaddr_storage home = ip4("198.51.100.20");
    zt_ip_info paris = {.country = "FR",
                        .has_location = true,
                        .latitude = 48.8566,
                        .longitude = 2.3522,
                        .accuracy_km = 20,
                        .asn = 3215};
    learn_home(f, (struct sockaddr *)&home, &paris, 10);
    assert_int_equal(level_of(f, T0 + DAY), ZT_RISK_NONE);

    /* 20 minutes after the last: Tokyo, new network, new device. */
    int64_t now = T0 + 9 * 3600 + 1200;
    struct sockaddr_storage far = ip4("203.0.113.5");
    zt_ip_info tokyo = {.country = "JP",
                        .has_location = true,
                        .latitude = 35.6762,
                        .longitude = 139.6503,
                        .accuracy_km = 10,
                        .asn = 2516};
    char hash[65];
    snprintf(hash, sizeof(hash), "%064x", 0xabc);
    zt_risk_sign_in in = home_sign_in(f, (struct sockaddr *)&far, &tokyo, now);
    in.device_id = "dev-2";
    in.session_hash = hash;
    zt_risk_assessment a;
    assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
    assert_true(has_det(&a, ZT_DET_IMPOSSIBLE_TRAVEL, NULL));
    assert_true(has_det(&a, ZT_DET_ATYPICAL_TRAVEL, NULL));
    zt_risk lvl;
    assert_true(has_det(&a, ZT_DET_UNFAMILIAR_SIGN_IN, &lvl));
    assert_int_equal(lvl, ZT_RISK_MEDIUM); /* /24, ASN, country, device: 4 new */
    assert_int_equal(a.level, ZT_RISK_MEDIUM);
    assert_false(a.learned);
    assert_true(a.parked);
    assert_true(a.reload_sessions);
    assert_true(a.det[0].id > 0);
    assert_int_equal(level_of(f, now), ZT_RISK_MEDIUM);

    /* The same sign-in again is still unfamiliar: it was not learned. */
    zt_risk_assessment again;
    in.session_hash = NULL;
    in.now = now + 10;
    assert_int_equal(zt_risk_assess(f->eng, &in, &again), 0);
    assert_true(has_det(&again, ZT_DET_UNFAMILIAR_SIGN_IN, NULL));

    /* MFA passed on the first one: its detections are remediated, the sign-in learned. */
    zt_risk_event ev;
    assert_int_equal(zt_risk_remediate_sign_in(f->eng, hash, now + 60, &ev), 0);
    assert_int_equal(ev.kind, ZT_RISK_EV_REMEDIATED);
    assert_int_equal(ev.n, 3);
    assert_true(ev.reload_sessions);
    assert_string_equal(ev.detail, "userPassedMFADrivenByRiskBasedPolicy");
    assert_int_equal(level_of(f, now + 60), ZT_RISK_NONE);
    in.now = now + 3 * 3600;
    assert_int_equal(zt_risk_assess(f->eng, &in, &again), 0);
    assert_int_equal(again.n, 0);
}

static void test_engine_states(void **state)
{
    fixture *f = *state;
    struct sockaddr_storage ip = ip4("192.0.2.10");
    zt_ip_info tor = {.country = "DE", .anonymous = true};
    zt_risk_sign_in in = home_sign_in(f, (struct sockaddr *)&ip, &tor, T0);
    zt_risk_assessment a;
    assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
    assert_int_equal(a.n, 1);
    int64_t anon_id = a.det[0].id;
    in.info = NULL;
    in.leaked = true;
    in.now = T0 + 10;
    assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
    assert_int_equal(a.level, ZT_RISK_HIGH);
    int64_t leak_id = a.det[0].id;
    /* User level = max of open ones. */
    assert_int_equal(level_of(f, T0 + 20), ZT_RISK_HIGH);

    zt_risk_event ev;
    assert_int_equal(zt_risk_dismiss(f->eng, leak_id, T0 + 30, &ev), 0);
    assert_int_equal(ev.kind, ZT_RISK_EV_DISMISSED);
    assert_int_equal(ev.n, 1);
    assert_string_equal(ev.user_id, f->u.id);
    assert_int_equal(level_of(f, T0 + 30), ZT_RISK_MEDIUM);
    /* Dismissed is final. */
    assert_int_equal(zt_risk_dismiss(f->eng, leak_id, T0 + 31, &ev), -EALREADY);
    assert_int_equal(zt_risk_dismiss(f->eng, 987654, T0 + 31, &ev), -ENOENT);

    /* Confirm compromised: open ones become confirmed, plus a high admin detection. */
    assert_int_equal(zt_risk_confirm_compromised(f->eng, f->u.id, NULL, T0 + 40, &ev), 0);
    assert_int_equal(ev.kind, ZT_RISK_EV_CONFIRMED_COMPROMISED);
    assert_int_equal(ev.n, 2);
    assert_true(ev.detection_id > 0);
    assert_int_equal(level_of(f, T0 + 40), ZT_RISK_HIGH);
    zt_store_detection d;
    assert_int_equal(zt_store_detection_get(f->st, anon_id, &d), 0);
    assert_int_equal(d.state, ZT_STORE_RISK_CONFIRMED_COMPROMISED);
    assert_int_equal(zt_store_detection_get(f->st, ev.detection_id, &d), 0);
    assert_string_equal(d.type, "admin_confirmed_compromised");
    assert_int_equal(d.level, 3);
    assert_true(d.user_activity);

    /* A secure password change remediates everything open, confirmed included. */
    assert_int_equal(zt_risk_remediate_user(f->eng, f->u.id, T0 + 50, &ev), 0);
    assert_int_equal(ev.n, 2);
    assert_int_equal(level_of(f, T0 + 50), ZT_RISK_NONE);
    assert_int_equal(zt_store_detection_get(f->st, anon_id, &d), 0);
    assert_int_equal(d.state, ZT_STORE_RISK_REMEDIATED);
    assert_string_equal(d.detail, "userPerformedSecuredPasswordChange");
    /* Nothing left to change: n is 0 and no reload is asked for. */
    assert_int_equal(zt_risk_remediate_user(f->eng, f->u.id, T0 + 60, &ev), 0);
    assert_int_equal(ev.n, 0);
    assert_false(ev.reload_sessions);

    /* The user reports activity as not theirs: a new open high user detection, nothing else
     * changes state; a password change remediates it like any user risk. */
    assert_int_equal(
        zt_risk_report_suspicious(f->eng, f->u.id, "{\"by\":\"portal\"}", T0 + 70, &ev), 0);
    assert_int_equal(ev.kind, ZT_RISK_EV_DETECTED);
    assert_int_equal(ev.n, 1);
    assert_true(ev.reload_sessions);
    assert_int_equal(level_of(f, T0 + 70), ZT_RISK_HIGH);
    assert_int_equal(zt_store_detection_get(f->st, ev.detection_id, &d), 0);
    assert_string_equal(d.type, "user_reported_suspicious");
    assert_int_equal(d.state, ZT_STORE_RISK_AT_RISK);
    assert_int_equal(d.level, 3);
    assert_true(d.user_activity);
    assert_string_equal(d.evidence, "{\"by\":\"portal\"}");
    assert_string_equal(zt_risk_type_entra(ZT_DET_USER_REPORTED_SUSPICIOUS),
                        "userReportedSuspiciousActivity");
    assert_int_equal(zt_risk_report_suspicious(f->eng, "", NULL, T0 + 71, &ev), -EINVAL);
    assert_int_equal(zt_risk_remediate_user(f->eng, f->u.id, T0 + 80, &ev), 0);
    assert_int_equal(ev.n, 1);
    assert_int_equal(level_of(f, T0 + 80), ZT_RISK_NONE);
    /* Dismiss all. */
    in.now = T0 + 70;
    assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
    assert_int_equal(zt_risk_dismiss_user(f->eng, f->u.id, T0 + 80, &ev), 0);
    assert_int_equal(ev.n, 1);
    assert_int_equal(level_of(f, T0 + 80), ZT_RISK_NONE);
}

/* A sign-in that succeeds from a spraying source is a high password_spray detection. */
static void test_engine_spray_success(void **state)
{
    fixture *f = *state;
    struct sockaddr_storage src = ip4("203.0.113.99");
    unsigned char tag[ZT_RISK_TAG_LEN];
    tag_of(1, tag);
    for (int k = 0; k < 10; k++) {
        char acct[32];
        snprintf(acct, sizeof(acct), "victim%d@example.com", k);
        zt_risk_on_failure(f->eng, acct, (struct sockaddr *)&src, tag, T0 + k);
    }
    zt_risk_sign_in in = home_sign_in(f, (struct sockaddr *)&src, NULL, T0 + 30);
    zt_risk_assessment a;
    assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
    zt_risk lvl;
    assert_true(has_det(&a, ZT_DET_PASSWORD_SPRAY, &lvl));
    assert_int_equal(lvl, ZT_RISK_HIGH);
    assert_true(has_det(&a, ZT_DET_MALICIOUS_IP, NULL)); /* reputation, too */
    assert_int_equal(level_of(f, T0 + 30), ZT_RISK_HIGH);
    /* MFA does not clear it: the password is known to the attacker (user risk). */
    zt_risk_event ev;
    char hash[65];
    snprintf(hash, sizeof(hash), "%064x", 0x5);
    in.session_hash = hash;
    in.now = T0 + 40;
    assert_int_equal(zt_risk_on_sign_in(f->eng, &in, &a), 0);
    assert_int_equal(zt_risk_remediate_sign_in(f->eng, hash, T0 + 50, &ev), 0);
    assert_int_equal(ev.n, 1); /* the malicious_ip one */
    assert_int_equal(level_of(f, T0 + 50), ZT_RISK_HIGH);
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_travel),
        cmocka_unit_test(test_learning_period),
        cmocka_unit_test(test_unfamiliar),
        cmocka_unit_test(test_ip_and_credentials),
        cmocka_unit_test(test_spray_and_reputation),
        cmocka_unit_test(test_reputation_ttl_and_keys),
        cmocka_unit_test(test_sources_bounded),
        cmocka_unit_test(test_ua_family),
        cmocka_unit_test(test_ip_prefix),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test_setup_teardown(test_engine_sign_in_flow, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_states, setup, teardown),
        cmocka_unit_test_setup_teardown(test_engine_spray_success, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
