/* The detections themselves, as pure functions: facts about one sign-in in, detections with
 * evidence out. No store, no clock, no locks, so every threshold is table-tested at its
 * boundary. Levels follow Entra: leaked credentials always high, anonymous/malicious IP and
 * impossible travel medium, atypical travel low, unfamiliar properties low or medium. */
#include <arpa/inet.h>
#include <math.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "risk/risk.h"

static const struct {
    const char *name, *entra;
    bool user;
} det_types[ZT_DET_N_TYPES] = {
    [ZT_DET_LEAKED_CREDENTIALS] = {"leaked_credentials", "leakedCredentials", true},
    [ZT_DET_ANONYMOUS_IP] = {"anonymous_ip", "anonymizedIPAddress", false},
    [ZT_DET_MALICIOUS_IP] = {"malicious_ip", "maliciousIPAddress", false},
    /* The attacker validated the password: a compromised credential, so user risk. */
    [ZT_DET_PASSWORD_SPRAY] = {"password_spray", "passwordSpray", true},
    [ZT_DET_IMPOSSIBLE_TRAVEL] = {"impossible_travel", "mcasImpossibleTravel", false},
    [ZT_DET_ATYPICAL_TRAVEL] = {"atypical_travel", "unlikelyTravel", false},
    [ZT_DET_UNFAMILIAR_SIGN_IN] = {"unfamiliar_sign_in", "unfamiliarFeatures", false},
    [ZT_DET_ADMIN_CONFIRMED_COMPROMISED] = {"admin_confirmed_compromised",
                                            "adminConfirmedUserCompromised", true},
    /* Entra has no such detection type: its catch-all value. */
    [ZT_DET_CLONED_CREDENTIAL] = {"cloned_credential", "unknownFutureValue", true},
};

const char *zt_risk_type_name(zt_risk_type t)
{
    return (unsigned)t < ZT_DET_N_TYPES ? det_types[t].name : "unknown";
}

const char *zt_risk_type_entra(zt_risk_type t)
{
    return (unsigned)t < ZT_DET_N_TYPES ? det_types[t].entra : "unknownFutureValue";
}

bool zt_risk_type_parse(const char *s, zt_risk_type *out)
{
    for (int i = 0; s != NULL && i < ZT_DET_N_TYPES; i++) {
        if (strcmp(s, det_types[i].name) == 0) {
            *out = (zt_risk_type)i;
            return true;
        }
    }
    return false;
}

bool zt_risk_type_is_user(zt_risk_type t)
{
    return (unsigned)t < ZT_DET_N_TYPES && det_types[t].user;
}

/* ---- helpers ---- */

double zt_risk_haversine_km(double lat1, double lon1, double lat2, double lon2)
{
    const double r = 6371.0088, rad = M_PI / 180.0;
    double dlat = (lat2 - lat1) * rad, dlon = (lon2 - lon1) * rad;
    double a = sin(dlat / 2) * sin(dlat / 2) +
               cos(lat1 * rad) * cos(lat2 * rad) * sin(dlon / 2) * sin(dlon / 2);
    if (a > 1.0)
        a = 1.0;
    return 2 * r * asin(sqrt(a));
}

bool zt_risk_learned(const zt_risk_cfg *cfg, const zt_store_signin_profile *h, int64_t now)
{
    if (h == NULL || h->count == 0)
        return false;
    return h->count >= cfg->learning_sign_ins || now - h->first_at >= cfg->learning_s;
}

static bool has(const char *ua, const char *needle)
{
    return strcasestr(ua, needle) != NULL;
}

void zt_risk_ua_family(const char *ua, char *out, size_t cap)
{
    const char *fam = "other", *os = "other";
    if (ua == NULL)
        ua = "";
    /* Order matters: Edge says Chrome, Chrome says Safari, Android says Linux, iOS says Mac. */
    if (has(ua, "Edg/") || has(ua, "Edge/") || has(ua, "EdgA/") || has(ua, "EdgiOS/"))
        fam = "edge";
    else if (has(ua, "Firefox/") || has(ua, "FxiOS/"))
        fam = "firefox";
    else if (has(ua, "Chrome/") || has(ua, "CriOS/") || has(ua, "Chromium/"))
        fam = "chrome";
    else if (has(ua, "Safari/"))
        fam = "safari";
    else if (strncasecmp(ua, "curl/", 5) == 0)
        fam = "curl";
    else if (has(ua, "python"))
        fam = "python";
    if (has(ua, "Windows"))
        os = "windows";
    else if (has(ua, "Android"))
        os = "android";
    else if (has(ua, "iPhone") || has(ua, "iPad") || has(ua, "iOS"))
        os = "ios";
    else if (has(ua, "Mac OS X") || has(ua, "Macintosh"))
        os = "macos";
    else if (has(ua, "CrOS"))
        os = "chromeos";
    else if (has(ua, "Linux"))
        os = "linux";
    snprintf(out, cap, "%s/%s", fam, os);
}

void zt_risk_ip_prefix(const struct sockaddr *sa, char *out, size_t cap)
{
    char txt[INET6_ADDRSTRLEN];
    uint8_t b[16];
    if (cap > 0)
        out[0] = '\0';
    if (sa == NULL)
        return;
    if (sa->sa_family == AF_INET) {
        memcpy(b, &((const struct sockaddr_in *)sa)->sin_addr, 4);
    } else if (sa->sa_family == AF_INET6) {
        memcpy(b, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
        static const uint8_t mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
        if (memcmp(b, mapped, 12) != 0) {
            memset(b + 6, 0, 10);
            if (inet_ntop(AF_INET6, b, txt, sizeof(txt)) != NULL)
                snprintf(out, cap, "%s/48", txt);
            return;
        }
        memmove(b, b + 12, 4);
    } else {
        return;
    }
    snprintf(out, cap, "%u.%u.%u.0/24", b[0], b[1], b[2]);
}

/* Copy s as the inside of a JSON string (quotes and controls escaped, truncated to fit).
 * Non-ASCII bytes become '?': feed names are outside input, and evidence the store refuses as
 * invalid UTF-8 would make the whole sign-in fail closed. */
static void json_esc(const char *s, char *out, size_t cap)
{
    size_t o = 0;
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        bool ctl = c < 0x20 || c == 0x7f, quote = c == '"' || c == '\\';
        size_t need = ctl ? 6 : quote ? 2 : 1;
        if (o + need + 1 > cap)
            break;
        if (ctl) {
            snprintf(out + o, cap - o, "\\u%04x", c);
        } else {
            if (quote)
                out[o++] = '\\';
            out[o] = c < 0x80 ? (char)c : '?';
        }
        o += ctl ? 6 : 1;
    }
    if (cap > 0)
        out[o] = '\0';
}

static void add(zt_risk_assessment *a, zt_risk_type t, zt_risk level, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(zt_risk_assessment *a, zt_risk_type t, zt_risk level, const char *fmt, ...)
{
    if (a->n >= ZT_RISK_DETECTIONS_MAX)
        return;
    zt_risk_detection *d = &a->det[a->n++];
    memset(d, 0, sizeof(*d));
    d->type = t;
    d->level = level;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(d->evidence, sizeof(d->evidence), fmt, ap);
    va_end(ap);
    if (level > a->level)
        a->level = level;
}

/* ---- the detections ---- */

static void detect_ip(const zt_risk_facts *f, zt_risk_assessment *a)
{
    char src[2 * sizeof(f->ip->malicious_source) * 3];
    if (f->ip != NULL && f->ip->anonymous)
        add(a, ZT_DET_ANONYMOUS_IP, ZT_RISK_MEDIUM, "{\"source\":\"anonymous_feed\"}");
    if (f->ip != NULL && f->ip->malicious) {
        json_esc(f->ip->malicious_source, src, sizeof(src));
        add(a, ZT_DET_MALICIOUS_IP, ZT_RISK_MEDIUM, "{\"source\":\"%s\"}", src);
    } else if (f->reputation_source) {
        add(a, ZT_DET_MALICIOUS_IP, ZT_RISK_MEDIUM, "{\"source\":\"%s\"}",
            ZT_RISK_REPUTATION_SOURCE);
    }
}

static bool accurate(double acc_km, const zt_risk_cfg *cfg)
{
    return acc_km <= cfg->travel_accuracy_km; /* 0 = unknown: trusted */
}

/* Distance between the last learned location and this one over the time between them; the
 * accuracy radii are taken off the distance so two fuzzy fixes of one city never "travel". */
static void detect_travel(const zt_risk_cfg *cfg, const zt_risk_facts *f, zt_risk_assessment *a)
{
    const zt_store_signin_profile *h = f->history;
    if (f->vpn_egress || h == NULL || !h->has_location || f->ip == NULL || !f->ip->has_location ||
        !accurate(h->accuracy_km, cfg) || !accurate(f->ip->accuracy_km, cfg))
        return;
    double km = zt_risk_haversine_km(h->lat, h->lon, f->ip->latitude, f->ip->longitude);
    double eff = km - h->accuracy_km - f->ip->accuracy_km;
    if (eff < cfg->travel_min_km)
        return;
    int64_t dt = f->now - h->location_at;
    double hours = (double)(dt > 1 ? dt : 1) / 3600.0;
    double kmh = eff / hours;
    if (kmh <= cfg->travel_kmh)
        return;
    char from[8], to[8];
    json_esc(h->location_country, from, sizeof(from));
    json_esc(f->ip->country, to, sizeof(to));
    add(a, ZT_DET_IMPOSSIBLE_TRAVEL, ZT_RISK_MEDIUM,
        "{\"from\":\"%s\",\"to\":\"%s\",\"km\":%.0f,\"seconds\":%lld,\"kmh\":%.0f,"
        "\"limit_kmh\":%.0f}",
        from, to, km, (long long)dt, kmh, cfg->travel_kmh);
}

static void detect_familiarity(const zt_risk_cfg *cfg, const zt_risk_facts *f,
                               zt_risk_assessment *a)
{
    const zt_store_signin_profile *h = f->history;
    if (!zt_risk_learned(cfg, h, f->now))
        return;
    char list[128] = "";
    size_t len = 0;
    unsigned n_new = 0;
    for (int i = 0; i < ZT_STORE_N_PROPS; i++) {
        if (!f->known_props[i] || h->seen[i])
            continue;
        n_new++;
        len += (size_t)snprintf(list + len, sizeof(list) - len, "%s\"%s\"", n_new > 1 ? "," : "",
                                zt_store_prop_name((zt_store_prop)i));
    }
    /* A country never seen is a journey the user has not made before; a VPN's country says
     * nothing about the user. */
    if (!f->vpn_egress && f->known_props[ZT_STORE_PROP_COUNTRY] && f->ip != NULL &&
        !h->seen[ZT_STORE_PROP_COUNTRY]) {
        char c[8];
        json_esc(f->ip->country, c, sizeof(c));
        add(a, ZT_DET_ATYPICAL_TRAVEL, ZT_RISK_LOW, "{\"country\":\"%s\"}", c);
    }
    if (n_new > 0)
        add(a, ZT_DET_UNFAMILIAR_SIGN_IN,
            n_new >= cfg->unfamiliar_medium ? ZT_RISK_MEDIUM : ZT_RISK_LOW,
            "{\"new\":[%s],\"count\":%u}", list, n_new);
}

size_t zt_risk_detect(const zt_risk_cfg *cfg, const zt_risk_facts *f, zt_risk_assessment *out)
{
    memset(out, 0, sizeof(*out));
    if (f->leaked)
        add(out, ZT_DET_LEAKED_CREDENTIALS, ZT_RISK_HIGH,
            "{\"source\":\"leaked_credentials_feed\"}");
    detect_ip(f, out);
    if (f->spray_source)
        add(out, ZT_DET_PASSWORD_SPRAY, ZT_RISK_HIGH,
            "{\"source_flagged\":true,\"accounts_min\":%u,\"passwords_max\":%u,"
            "\"window_s\":%lld}",
            cfg->spray_accounts, cfg->spray_passwords, (long long)cfg->spray_window_s);
    detect_travel(cfg, f, out);
    detect_familiarity(cfg, f, out);
    return out->n;
}
