/* Policy engine: one table row per Conditional Access rule (each row also checks that the
 * indexed evaluator and the reference evaluator agree), explanations in their fixed order, time
 * zones, config errors with exact FILE:LINE:COL, and a property test that throws random
 * requests at random policy sets and demands the two evaluators agree on everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "core/config.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "policy/policy.h"
#include "policy/reference.h"
#include "policy/tz.h"

#define NAME "p.yaml"

/* Lines 1-14; policies follow from line 15. */
#define BASE                                                                                       \
    "gateway:\n"                                                                                   \
    "  listen:\n"                                                                                  \
    "    - address: 127.0.0.1:8080\n"                                                              \
    "apps:\n"                                                                                      \
    "  - {name: portal, path_prefix: /p, upstream: \"http://127.0.0.1:1\"}\n"                      \
    "  - {name: hr, path_prefix: /h, upstream: \"http://127.0.0.1:1\", sensitivity: "              \
    "confidential}\n"                                                                              \
    "  - {name: wiki, path_prefix: /w, upstream: \"http://127.0.0.1:1\", sensitivity: public}\n"   \
    "  - {name: vault, path_prefix: /v, upstream: \"http://127.0.0.1:1\", sensitivity: "           \
    "restricted}\n"                                                                                \
    "locations:\n"                                                                                 \
    "  - {name: office, cidrs: [10.0.0.0/8, \"2001:db8::/32\"], trusted: true}\n"                  \
    "  - {name: branch, cidrs: [192.168.1.0/24]}\n"                                                \
    "  - {name: japan, countries: [JP]}\n"                                                         \
    "  - {name: lab, cidrs: [10.9.0.0/16]}\n"                                                      \
    "policies:\n"

#define ALL "users: {include: [all]}, apps: {include: [all]}"
/* Two passkey models, for authentication strengths. */
#define AAGUID_A "cb69481e-8ff7-4039-93ec-0a2729a154a8"
#define AAGUID_A_UPPER "CB69481E-8FF7-4039-93EC-0A2729A154A8"
#define AAGUID_B "ee882879-721c-4913-9775-3dfcce97072a"
#define MONDAY_10 1705312800 /* 2024-01-15T10:00:00Z, a Monday */

/* ---------------------------------------------------------------------------------------------
 * Helpers */

typedef struct fixture {
    zt_config *cfg;
    zt_policy_set *set;
    zt_policy_ref *ref;
} fixture;

static void fx_load(fixture *fx, const char *yaml)
{
    zt_diags d;
    char err[512] = "";
    zt_diags_init(&d);
    fx->cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
    if (fx->cfg == NULL)
        print_error("unexpected config errors:\n%s\n%s", d.text.data ? d.text.data : "", yaml);
    assert_non_null(fx->cfg);
    zt_diags_dispose(&d);
    fx->set = zt_policy_compile(fx->cfg, err, sizeof(err));
    if (fx->set == NULL)
        print_error("compile: %s\n", err);
    assert_non_null(fx->set);
    fx->ref = zt_policy_ref_new(fx->cfg, err, sizeof(err));
    assert_non_null(fx->ref);
}

static void fx_free(fixture *fx)
{
    zt_policy_ref_free(fx->ref);
    zt_policy_set_free(fx->set);
    zt_config_free(fx->cfg);
}

static const char *const control_words[] = {"mfa", "phishing_resistant_mfa", "compliant_device",
                                            "password_change", NULL};
static const char *const restrict_words[] = {"read_only", "no_download", NULL};

static unsigned bits_of(const char *list, const char *const *words)
{
    unsigned m = 0;
    char buf[256];
    snprintf(buf, sizeof(buf), "%s", list);
    if (strcmp(buf, "none") == 0)
        return 0;
    for (char *save = NULL, *w = strtok_r(buf, ",", &save); w != NULL;
         w = strtok_r(NULL, ",", &save)) {
        size_t i = 0;
        while (words[i] != NULL && strcmp(words[i], w) != 0)
            i++;
        if (words[i] == NULL)
            fail_msg("unknown word '%s'", w);
        m |= 1u << i;
    }
    return m;
}

static int word_index(const char *w, const char *const *words)
{
    for (int i = 0; words[i] != NULL; i++)
        if (strcmp(words[i], w) == 0)
            return i;
    fail_msg("unknown word '%s'", w);
    return -1;
}

/* A request, written as "key=value ..." over a default (alice, staff, portal, Monday 10:00Z). */
typedef struct req {
    zt_policy_input in;
    char email[64];
    char group_buf[256];
    const char *groups[16];
    char app[32];
    struct sockaddr_storage ss;
    unsigned char aaguid[16]; /* in.passkey_aaguid points here when set */
} req;

static const char *const risk_words[] = {"none", "low", "medium", "high", NULL};
static const char *const platform_words[] = {"unknown", "windows", "macos",    "linux",
                                             "ios",     "android", "chromeos", NULL};
static const char *const sens_words[] = {"public", "internal", "confidential", "restricted", NULL};

static void req_ip(req *r, const char *v)
{
    struct sockaddr_in *a = (struct sockaddr_in *)&r->ss;
    struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&r->ss;
    memset(&r->ss, 0, sizeof(r->ss));
    r->in.ip = (const struct sockaddr *)&r->ss;
    if (strcmp(v, "-") == 0)
        r->in.ip = NULL;
    else if (inet_pton(AF_INET, v, &a->sin_addr) == 1)
        a->sin_family = AF_INET;
    else if (inet_pton(AF_INET6, v, &a6->sin6_addr) == 1)
        a6->sin6_family = AF_INET6;
    else
        fail_msg("bad ip '%s'", v);
}

static int64_t utc(const char *iso)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    if (strptime(iso, "%Y-%m-%dT%H:%M", &tm) == NULL)
        fail_msg("bad time '%s'", iso);
    return (int64_t)timegm(&tm);
}

static void req_set(req *r, const char *k, const char *v)
{
    zt_policy_input *in = &r->in;
    if (strcmp(k, "email") == 0) {
        snprintf(r->email, sizeof(r->email), "%s", v);
        in->email = strcmp(v, "-") == 0 ? NULL : r->email;
    } else if (strcmp(k, "groups") == 0) {
        snprintf(r->group_buf, sizeof(r->group_buf), "%s", v);
        in->n_groups = 0;
        char *save = NULL;
        for (char *g = strtok_r(r->group_buf, ",", &save); g != NULL && strcmp(v, "-") != 0;
             g = strtok_r(NULL, ",", &save))
            r->groups[in->n_groups++] = g;
    } else if (strcmp(k, "app") == 0) {
        snprintf(r->app, sizeof(r->app), "%s", v);
    } else if (strcmp(k, "sens") == 0) {
        in->sensitivity = word_index(v, sens_words);
    } else if (strcmp(k, "ip") == 0) {
        req_ip(r, v);
    } else if (strcmp(k, "cc") == 0) {
        snprintf(in->country, sizeof(in->country), "%s", strcmp(v, "-") == 0 ? "" : v);
    } else if (strcmp(k, "anon") == 0) {
        in->anonymous_ip = v[0] == '1';
    } else if (strcmp(k, "urisk") == 0) {
        in->user_risk = (zt_risk)word_index(v, risk_words);
    } else if (strcmp(k, "srisk") == 0) {
        in->sign_in_risk = (zt_risk)word_index(v, risk_words);
    } else if (strcmp(k, "drisk") == 0) {
        in->device_risk = (zt_risk)word_index(v, risk_words);
    } else if (strcmp(k, "device") == 0) {
        in->device_known = strstr(v, "known") != NULL;
        in->device_enrolled = strstr(v, "enrolled") != NULL;
        in->device_compliant = strstr(v, "compliant") != NULL;
    } else if (strcmp(k, "platform") == 0) {
        in->platform = (zt_platform)word_index(v, platform_words);
    } else if (strcmp(k, "client") == 0) {
        in->client = strcmp(v, "api") == 0 ? ZT_CLIENT_API : ZT_CLIENT_BROWSER;
    } else if (strcmp(k, "when") == 0) {
        int64_t age = in->now - in->auth_time;
        in->now = utc(v);
        in->auth_time = in->now - age;
    } else if (strcmp(k, "auth") == 0) {
        in->auth_time = strcmp(v, "-") == 0 ? 0 : in->now - atoll(v);
    } else if (strcmp(k, "mfa") == 0) {
        in->mfa_time = v[0] == '1' ? in->now - 50 : 0;
    } else if (strcmp(k, "pr") == 0) {
        in->mfa_phishing_resistant = v[0] == '1';
    } else if (strcmp(k, "aaguid") == 0) {
        /* the passkey the session was proven with ("-" = none) */
        in->passkey_aaguid = strcmp(v, "-") != 0 && zt_uuid_parse(v, r->aaguid) ? r->aaguid : NULL;
    } else if (strcmp(k, "pwc") == 0) {
        in->password_change_required = v[0] == '1';
    } else {
        fail_msg("unknown request key '%s'", k);
    }
}

static void req_make(req *r, const char *spec)
{
    char buf[512];
    memset(r, 0, sizeof(*r));
    r->in.groups = r->groups;
    r->in.app = r->app;
    r->in.now = MONDAY_10;
    r->in.auth_time = MONDAY_10 - 100;
    r->in.platform = ZT_PLATFORM_WINDOWS;
    req_set(r, "email", "alice@example.com");
    req_set(r, "groups", "staff");
    req_set(r, "app", "portal");
    req_set(r, "sens", "internal");
    req_set(r, "ip", "203.0.113.5");
    req_set(r, "cc", "US");
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *kv = strtok_r(buf, " ", &save); kv != NULL;
         kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '=');
        assert_non_null(eq);
        *eq = '\0';
        req_set(r, kv, eq + 1);
    }
}

static void fmt_list(char *out, size_t cap, const int *v, size_t n)
{
    size_t o = 0;
    out[0] = '\0';
    for (size_t i = 0; i < n && o < cap; i++)
        o += (size_t)snprintf(out + o, cap - o, "%s%d", i ? "," : "", v[i]);
    if (n == 0)
        snprintf(out, cap, "none");
}

/* Whole results must match, field by field; msg says where the request came from. */
static bool results_equal(const zt_policy_result *a, const zt_policy_result *b, char *why,
                          size_t cap)
{
    char la[512], lb[512];
#define CMP(f)                                                                                     \
    if ((int64_t)a->f != (int64_t)b->f) {                                                          \
        snprintf(why, cap, #f ": eval %lld, reference %lld", (long long)a->f, (long long)b->f);    \
        return false;                                                                              \
    }
    CMP(outcome);
    CMP(required);
    CMP(unmet);
    CMP(next_control);
    CMP(restrict_flags);
    CMP(sign_in_frequency_s);
    CMP(reauth_required);
    CMP(block_policy);
    CMP(n_matched);
    CMP(matched_truncated);
    CMP(report_only_outcome);
    CMP(report_only_unmet);
#undef CMP
    fmt_list(la, sizeof(la), a->matched, a->n_matched);
    fmt_list(lb, sizeof(lb), b->matched, b->n_matched);
    if (strcmp(la, lb) != 0) {
        snprintf(why, cap, "matched: eval %s, reference %s", la, lb);
        return false;
    }
    return true;
}

static void decide(const fixture *fx, const zt_policy_input *in, zt_policy_result *out)
{
    zt_policy_result ref;
    char why[1200];
    size_t n = zt_policy_count(fx->set);
    zt_policy_miss *m1 = calloc(n + 1, sizeof(*m1)), *m2 = calloc(n + 1, sizeof(*m2));
    assert_non_null(m1);
    assert_non_null(m2);
    zt_policy_eval(fx->set, in, out);
    zt_policy_ref_eval(fx->ref, in, &ref, m2);
    zt_policy_explain(fx->set, in, m1);
    if (!results_equal(out, &ref, why, sizeof(why)))
        fail_msg("evaluators disagree: %s", why);
    for (size_t i = 0; i < n; i++)
        if (m1[i] != m2[i])
            fail_msg("explain disagrees on policy %zu: %s vs %s", i, zt_policy_miss_text(m1[i]),
                     zt_policy_miss_text(m2[i]));
    free(m1);
    free(m2);
}

/* Expected values, "key=value ..."; only the keys written are checked. */
static void expect(const zt_policy_result *r, const char *spec, const char *row)
{
    char buf[512], got[512];
    snprintf(buf, sizeof(buf), "%s", spec);
    for (char *save = NULL, *kv = strtok_r(buf, " ", &save); kv != NULL;
         kv = strtok_r(NULL, " ", &save)) {
        char *eq = strchr(kv, '='), *v = eq + 1;
        bool ok = true;
        *eq = '\0';
        if (strcmp(kv, "outcome") == 0)
            ok = strcmp(zt_outcome_name(r->outcome), v) == 0;
        else if (strcmp(kv, "ro") == 0)
            ok = strcmp(zt_outcome_name(r->report_only_outcome), v) == 0;
        else if (strcmp(kv, "next") == 0)
            ok = strcmp(zt_control_name(r->next_control), v) == 0;
        else if (strcmp(kv, "unmet") == 0)
            ok = r->unmet == bits_of(v, control_words);
        else if (strcmp(kv, "required") == 0)
            ok = r->required == bits_of(v, control_words);
        else if (strcmp(kv, "rounmet") == 0)
            ok = r->report_only_unmet == bits_of(v, control_words);
        else if (strcmp(kv, "restrict") == 0)
            ok = r->restrict_flags == bits_of(v, restrict_words);
        else if (strcmp(kv, "freq") == 0)
            ok = r->sign_in_frequency_s == (strcmp(v, "none") == 0 ? -1 : atoll(v));
        else if (strcmp(kv, "reauth") == 0)
            ok = r->reauth_required == (v[0] == '1');
        else if (strcmp(kv, "block") == 0)
            ok = r->block_policy == atoi(v);
        else if (strcmp(kv, "matched") == 0) {
            fmt_list(got, sizeof(got), r->matched, r->n_matched);
            ok = strcmp(got, v) == 0;
        } else
            fail_msg("unknown expectation '%s'", kv);
        if (!ok) {
            fmt_list(got, sizeof(got), r->matched, r->n_matched);
            fail_msg("row '%s': %s=%s not met (outcome %s next %s unmet %#x required %#x "
                     "restrict %#x freq %lld reauth %d block %d matched %s ro %s)",
                     row, kv, v, zt_outcome_name(r->outcome), zt_control_name(r->next_control),
                     r->unmet, r->required, r->restrict_flags, (long long)r->sign_in_frequency_s,
                     r->reauth_required, r->block_policy, got,
                     zt_outcome_name(r->report_only_outcome));
        }
    }
}

/* ---------------------------------------------------------------------------------------------
 * Semantics, one row per rule */

typedef struct row {
    const char *name;
    const char *policies; /* YAML under `policies:` */
    const char *request;
    const char *want;
} row;

#define P(rest) "  - {" rest "}\n"

static const row semantic_rows[] = {
    {"no policy: allow", "", "", "outcome=allow matched=none freq=none restrict=none block=-1"},
    {"no applicable policy: allow",
     P("name: a, users: {include: [bob@example.com]}, "
       "apps: {include: [all]}, grant: {block: true}"),
     "", "outcome=allow matched=none"},
    {"state off is ignored", P("name: a, state: off, " ALL ", grant: {block: true}"), "",
     "outcome=allow matched=none"},
    {"report-only is reported, never enforced",
     P("name: a, state: report_only, " ALL ", grant: {controls: [mfa]}"), "",
     "outcome=allow matched=0 ro=challenge rounmet=mfa unmet=none"},
    {"report-only block", P("name: a, state: report_only, " ALL ", grant: {block: true}"), "",
     "outcome=allow ro=block block=-1 matched=0"},
    {"report-only does not add to enforced session controls",
     P("name: a, state: report_only, " ALL ", session: {sign_in_frequency: 1m}")
         P("name: b, " ALL ", session: {restrict: [read_only]}"),
     "auth=3600", "outcome=allow freq=none restrict=read_only ro=challenge matched=0,1"},
    /* users */
    {"user included by email, any case",
     P("name: a, users: {include: [Alice@Example.COM]}, apps: {include: [all]}, "
       "grant: {block: true}"),
     "", "outcome=block block=0"},
    {"user included by group, any case",
     P("name: a, users: {include: [group:STAFF]}, apps: {include: [all]}, grant: {block: true}"),
     "", "outcome=block"},
    {"user exclusion beats inclusion",
     P("name: a, users: {include: [all], exclude: [alice@example.com]}, apps: {include: [all]}, "
       "grant: {block: true}"),
     "", "outcome=allow matched=none"},
    {"group exclusion beats inclusion",
     P("name: a, users: {include: [alice@example.com], exclude: [group:breakglass]}, "
       "apps: {include: [all]}, grant: {block: true}"),
     "groups=staff,BreakGlass", "outcome=allow matched=none"},
    {"group exclusion needs the group",
     P("name: a, users: {include: [all], exclude: [group:breakglass]}, apps: {include: [all]}, "
       "grant: {block: true}"),
     "groups=staff,admins", "outcome=block"},
    {"no email: only all and groups can include",
     P("name: a, users: {include: [alice@example.com]}, apps: {include: [all]}, "
       "grant: {block: true}"),
     "email=-", "outcome=allow"},
    /* apps */
    {"app included by name",
     P("name: a, users: {include: [all]}, apps: {include: [hr]}, "
       "grant: {block: true}"),
     "app=hr sens=confidential", "outcome=block"},
    {"app not included",
     P("name: a, users: {include: [all]}, apps: {include: [hr]}, "
       "grant: {block: true}"),
     "", "outcome=allow"},
    {"app exclusion beats inclusion",
     P("name: a, users: {include: [all]}, apps: {include: [all], exclude: [portal]}, "
       "grant: {block: true}"),
     "", "outcome=allow"},
    {"app included by sensitivity",
     P("name: a, users: {include: [all]}, apps: {include: [sensitivity:confidential]}, "
       "grant: {controls: [mfa]}"),
     "app=hr sens=confidential", "outcome=challenge next=mfa"},
    {"sensitivity exclusion beats name inclusion",
     P("name: a, users: {include: [all]}, apps: {include: [hr], exclude: "
       "[sensitivity:confidential]}, grant: {controls: [mfa]}"),
     "app=hr sens=confidential", "outcome=allow"},
    {"unknown app matches only all and sensitivity",
     P("name: a, users: {include: [all]}, apps: {include: [portal]}, grant: {block: true}")
         P("name: b, users: {include: [all]}, apps: {include: [sensitivity:internal]}, "
           "grant: {controls: [mfa]}"),
     "app=other", "outcome=challenge matched=1"},
    /* grants */
    {"block wins over controls",
     P("name: a, " ALL ", grant: {controls: [mfa]}") P("name: b, " ALL ", grant: {block: true}"),
     "", "outcome=block block=1 next=none matched=0,1"},
    {"first blocking policy is reported",
     P("name: a, " ALL ", grant: {block: true}") P("name: b, " ALL ", grant: {block: true}"), "",
     "outcome=block block=0"},
    {"controls are the union across policies",
     P("name: a, " ALL ", grant: {controls: [compliant_device]}")
         P("name: b, " ALL ", grant: {controls: [mfa]}"),
     "", "outcome=challenge next=mfa unmet=mfa,compliant_device required=mfa,compliant_device"},
    {"a control the device cannot meet is still asked, in order",
     P("name: a, " ALL ", grant: {controls: [compliant_device]}")
         P("name: b, " ALL ", grant: {controls: [mfa]}"),
     "mfa=1", "outcome=challenge next=compliant_device unmet=compliant_device"},
    {"compliant device satisfies", P("name: a, " ALL ", grant: {controls: [compliant_device]}"),
     "device=known,enrolled,compliant", "outcome=allow required=compliant_device unmet=none"},
    {"compliant flag without a known device does not",
     P("name: a, " ALL ", grant: {controls: [compliant_device]}"), "device=compliant",
     "outcome=challenge next=compliant_device"},
    {"AND needs every control", P("name: a, " ALL ", grant: {controls: [mfa, compliant_device]}"),
     "mfa=1", "outcome=challenge unmet=compliant_device next=compliant_device"},
    {"OR is satisfied by any one",
     P("name: a, " ALL ", grant: {controls: [mfa, compliant_device], operator: OR}"), "mfa=1",
     "outcome=allow unmet=none required=mfa,compliant_device"},
    {"OR with none met asks the first in order",
     P("name: a, " ALL ", grant: {controls: [compliant_device, mfa], operator: OR}"), "",
     "outcome=challenge next=mfa unmet=mfa,compliant_device"},
    {"fixed order: phishing-resistant before password change",
     P("name: a, " ALL ", grant: {controls: [password_change, phishing_resistant_mfa]}"),
     "pwc=1 mfa=1",
     "outcome=challenge next=phishing_resistant_mfa "
     "unmet=phishing_resistant_mfa,password_change"},
    /* authentication strength: phishing_resistant_mfa made stricter by an AAGUID list */
    {"strength implies phishing-resistant MFA",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A "]}}"), "mfa=1",
     "outcome=challenge next=phishing_resistant_mfa required=phishing_resistant_mfa"},
    {"strength met by a passkey of a listed AAGUID",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_B ", " AAGUID_A
       "]}}"),
     "mfa=1 pr=1 aaguid=" AAGUID_A, "outcome=allow unmet=none required=phishing_resistant_mfa"},
    {"listed AAGUIDs compare in either case",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A_UPPER "]}}"),
     "mfa=1 pr=1 aaguid=" AAGUID_A, "outcome=allow unmet=none"},
    {"strength not met by another key",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A "]}}"),
     "mfa=1 pr=1 aaguid=" AAGUID_B,
     "outcome=challenge next=phishing_resistant_mfa unmet=phishing_resistant_mfa"},
    {"strength not met by an unknown key",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A "]}}"),
     "mfa=1 pr=1", "outcome=challenge next=phishing_resistant_mfa"},
    {"a listed AAGUID without a phishing-resistant session does not meet it",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A "]}}"),
     "mfa=1 aaguid=" AAGUID_A, "outcome=challenge next=phishing_resistant_mfa"},
    {"the strength binds only its policy",
     P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A "]}}")
         P("name: b, " ALL ", grant: {controls: [phishing_resistant_mfa]}"),
     "mfa=1 pr=1 aaguid=" AAGUID_B, "outcome=challenge next=phishing_resistant_mfa"},
    {"plain phishing-resistant MFA takes any passkey",
     P("name: b, " ALL ", grant: {controls: [phishing_resistant_mfa]}"),
     "mfa=1 pr=1 aaguid=" AAGUID_B, "outcome=allow unmet=none"},
    {"OR: mfa is an alternative to the strength",
     P("name: a, " ALL ", grant: {controls: [mfa], operator: OR, authentication_strength: "
       "{aaguids: [" AAGUID_A "]}}"),
     "mfa=1", "outcome=allow unmet=none required=mfa,phishing_resistant_mfa"},
    {"password change is met unless required",
     P("name: a, " ALL ", grant: {controls: [password_change]}"), "",
     "outcome=allow required=password_change"},
    {"password change asked when required",
     P("name: a, " ALL ", grant: {controls: [password_change]}"), "pwc=1",
     "outcome=challenge next=password_change"},
    /* session */
    {"most restrictive session values",
     P("name: a, " ALL ", session: {sign_in_frequency: 8h, restrict: [read_only]}")
         P("name: b, " ALL ", session: {sign_in_frequency: 1h, restrict: [no_download]}"),
     "", "outcome=allow freq=3600 restrict=read_only,no_download"},
    {"every_time is the shortest",
     P("name: a, " ALL ", session: {sign_in_frequency: 1h}")
         P("name: b, " ALL ", session: {sign_in_frequency: every_time}"),
     "auth=30", "outcome=allow freq=0"},
    {"sign-in frequency exceeded: sign in again",
     P("name: a, " ALL ", grant: {controls: [mfa]}, session: {sign_in_frequency: 1h}"), "auth=3601",
     "outcome=challenge reauth=1 next=none unmet=mfa"},
    {"sign-in frequency not exceeded", P("name: a, " ALL ", session: {sign_in_frequency: 1h}"),
     "auth=3600", "outcome=allow reauth=0"},
    {"sign-in frequency in days", P("name: a, " ALL ", session: {sign_in_frequency: 7d}"),
     "auth=700000", "outcome=challenge reauth=1 freq=604800"},
    {"every_time: a fresh sign-in passes",
     P("name: a, " ALL ", session: {sign_in_frequency: every_time}"), "auth=60", "outcome=allow"},
    {"every_time: an older one does not",
     P("name: a, " ALL ", session: {sign_in_frequency: every_time}"), "auth=61",
     "outcome=challenge reauth=1"},
    {"no sign-in at all with a frequency", P("name: a, " ALL ", session: {sign_in_frequency: 8h}"),
     "auth=-", "outcome=challenge reauth=1"},
    {"block beats sign-in frequency",
     P("name: a, " ALL ", session: {sign_in_frequency: 1h}")
         P("name: b, " ALL ", grant: {block: true}"),
     "auth=7200", "outcome=block reauth=0"},
    /* risk */
    {"user risk in set",
     P("name: a, " ALL ", conditions: {user_risk: [medium, high]}, "
       "grant: {block: true}"),
     "urisk=high", "outcome=block"},
    {"user risk not in set",
     P("name: a, " ALL ", conditions: {user_risk: [medium, high]}, "
       "grant: {block: true}"),
     "urisk=low", "outcome=allow"},
    {"no risk signal reads as none",
     P("name: a, " ALL ", conditions: {user_risk: [none]}, grant: {controls: [mfa]}"), "",
     "outcome=challenge"},
    {"sign-in risk",
     P("name: a, " ALL ", conditions: {sign_in_risk: [high]}, "
       "grant: {controls: [mfa]}"),
     "srisk=high urisk=high", "outcome=challenge"},
    {"sign-in risk miss",
     P("name: a, " ALL ", conditions: {sign_in_risk: [high]}, "
       "grant: {controls: [mfa]}"),
     "srisk=medium urisk=high", "outcome=allow"},
    /* device */
    {"unknown device is not compliant",
     P("name: a, " ALL ", conditions: {device: {compliant: false}}, grant: {block: true}"),
     "device=compliant", "outcome=block"},
    {"compliant device escapes a non-compliant block",
     P("name: a, " ALL ", conditions: {device: {compliant: false}}, grant: {block: true}"),
     "device=known,compliant", "outcome=allow"},
    {"enrolled: true needs a known enrolled device",
     P("name: a, " ALL ", conditions: {device: {enrolled: true}}, grant: {block: true}"),
     "device=enrolled", "outcome=allow"},
    {"enrolled device",
     P("name: a, " ALL ", conditions: {device: {enrolled: true}}, grant: {block: true}"),
     "device=known,enrolled", "outcome=block"},
    {"device risk",
     P("name: a, " ALL ", conditions: {device: {risk: [high]}}, "
       "grant: {block: true}"),
     "device=known drisk=high", "outcome=block"},
    {"unknown device has no risk",
     P("name: a, " ALL ", conditions: {device: {risk: [high]}}, grant: {block: true}"),
     "drisk=high", "outcome=allow"},
    {"platform listed",
     P("name: a, " ALL ", conditions: {device: {platforms: [ios, android]}}, "
       "grant: {block: true}"),
     "platform=android", "outcome=block"},
    {"platform not listed",
     P("name: a, " ALL ", conditions: {device: {platforms: [ios, android]}}, "
       "grant: {block: true}"),
     "", "outcome=allow"},
    {"unknown platform",
     P("name: a, " ALL ", conditions: {device: {platforms: [unknown]}}, "
       "grant: {block: true}"),
     "platform=unknown", "outcome=block"},
    /* locations */
    {"location by IPv4 CIDR",
     P("name: a, " ALL ", conditions: {locations: {include: [branch]}}, grant: {block: true}"),
     "ip=192.168.1.77", "outcome=block"},
    {"outside the location",
     P("name: a, " ALL ", conditions: {locations: {include: [branch]}}, grant: {block: true}"),
     "ip=192.168.2.1", "outcome=allow"},
    {"location by IPv6 CIDR",
     P("name: a, " ALL ", conditions: {locations: {include: [office]}}, grant: {block: true}"),
     "ip=2001:db8:1::5", "outcome=block"},
    {"IPv6 outside",
     P("name: a, " ALL ", conditions: {locations: {include: [office]}}, "
       "grant: {block: true}"),
     "ip=2001:db9::5", "outcome=allow"},
    {"IPv4-mapped IPv6 matches the IPv4 block",
     P("name: a, " ALL ", conditions: {locations: {include: [branch]}}, grant: {block: true}"),
     "ip=::ffff:192.168.1.9", "outcome=block"},
    {"location by country",
     P("name: a, " ALL ", conditions: {locations: {include: [japan]}}, grant: {block: true}"),
     "cc=JP", "outcome=block"},
    {"unknown country",
     P("name: a, " ALL ", conditions: {locations: {include: [japan]}}, "
       "grant: {block: true}"),
     "cc=-", "outcome=allow"},
    {"trusted locations",
     P("name: a, " ALL ", conditions: {locations: {include: [trusted]}}, grant: {block: true}"),
     "ip=10.1.2.3", "outcome=block"},
    {"outside trusted: all minus trusted",
     P("name: a, " ALL ", conditions: {locations: {include: [all], exclude: [trusted]}}, "
       "grant: {controls: [mfa]}"),
     "ip=10.1.2.3", "outcome=allow"},
    {"outside trusted from elsewhere",
     P("name: a, " ALL ", conditions: {locations: {include: [all], exclude: [trusted]}}, "
       "grant: {controls: [mfa]}"),
     "ip=192.168.1.1", "outcome=challenge"},
    {"location exclusion beats inclusion (nested blocks)",
     P("name: a, " ALL ", conditions: {locations: {include: [office], exclude: [lab]}}, "
       "grant: {block: true}"),
     "ip=10.9.8.7", "outcome=allow"},
    {"nested: the outer block alone",
     P("name: a, " ALL ", conditions: {locations: {include: [office], exclude: [lab]}}, "
       "grant: {block: true}"),
     "ip=10.8.8.7", "outcome=block"},
    {"no address: all matches, names do not",
     P("name: a, " ALL ", conditions: {locations: {include: [all]}}, grant: {block: true}")
         P("name: b, " ALL ", conditions: {locations: {include: [office]}}, grant: {block: true}"),
     "ip=- cc=-", "outcome=block matched=0"},
    /* anonymous ip, client */
    {"anonymous IP",
     P("name: a, " ALL ", conditions: {anonymous_ip: true}, "
       "grant: {block: true}"),
     "anon=1", "outcome=block"},
    {"not anonymous",
     P("name: a, " ALL ", conditions: {anonymous_ip: true}, "
       "grant: {block: true}"),
     "anon=0", "outcome=allow"},
    {"anonymous_ip false",
     P("name: a, " ALL ", conditions: {anonymous_ip: false}, "
       "grant: {controls: [mfa]}"),
     "anon=0", "outcome=challenge"},
    {"client type api",
     P("name: a, " ALL ", conditions: {client_types: [api]}, "
       "grant: {block: true}"),
     "client=api", "outcome=block"},
    {"client type browser is not api",
     P("name: a, " ALL ", conditions: {client_types: [api]}, grant: {block: true}"), "",
     "outcome=allow"},
    /* time */
    {"inside office hours",
     P("name: a, " ALL ", conditions: {time: {days: [mon, tue, wed, thu, fri], from: \"08:00\", "
       "to: \"18:00\"}}, grant: {controls: [mfa]}"),
     "", "outcome=challenge"},
    {"office hours end is exclusive",
     P("name: a, " ALL ", conditions: {time: {from: \"08:00\", to: \"10:00\"}}, "
       "grant: {controls: [mfa]}"),
     "", "outcome=allow"},
    {"weekend is not a weekday",
     P("name: a, " ALL ", conditions: {time: {days: [mon, tue, wed, thu, fri]}}, "
       "grant: {controls: [mfa]}"),
     "when=2024-01-20T10:00", "outcome=allow"},
    {"across midnight: the small hours belong to the evening before",
     P("name: a, " ALL ", conditions: {time: {days: [fri], from: \"22:00\", to: \"06:00\"}}, "
       "grant: {block: true}"),
     "when=2024-01-20T02:00", "outcome=block"},
    {"across midnight: Friday morning belongs to Thursday",
     P("name: a, " ALL ", conditions: {time: {days: [fri], from: \"22:00\", to: \"06:00\"}}, "
       "grant: {block: true}"),
     "when=2024-01-19T02:00", "outcome=allow"},
    {"across midnight: Friday evening",
     P("name: a, " ALL ", conditions: {time: {days: [fri], from: \"22:00\", to: \"06:00\"}}, "
       "grant: {block: true}"),
     "when=2024-01-19T23:59", "outcome=block"},
    {"across midnight: daytime is outside",
     P("name: a, " ALL ", conditions: {time: {from: \"22:00\", to: \"06:00\"}}, "
       "grant: {block: true}"),
     "when=2024-01-19T12:00", "outcome=allow"},
    {"time zone: Tokyo morning is UTC night",
     P("name: a, " ALL ", conditions: {time: {days: [mon], from: \"08:00\", to: \"18:00\", "
       "timezone: Asia/Tokyo}}, grant: {block: true}"),
     "when=2024-01-15T00:30", "outcome=block"},
    {"time zone: Tokyo evening",
     P("name: a, " ALL ", conditions: {time: {from: \"08:00\", to: \"18:00\", "
       "timezone: Asia/Tokyo}}, grant: {block: true}"),
     "when=2024-01-15T10:00", "outcome=allow"},
    {"time zone: day changes with the zone",
     P("name: a, " ALL ", conditions: {time: {days: [tue], timezone: \"+09:00\"}}, "
       "grant: {block: true}"),
     "when=2024-01-15T16:00", "outcome=block"},
    {"DST: New York summer (EDT, UTC-4)",
     P("name: a, " ALL ", conditions: {time: {from: \"09:00\", to: \"10:00\", "
       "timezone: America/New_York}}, grant: {block: true}"),
     "when=2024-07-01T13:30", "outcome=block"},
    {"DST: New York winter (EST, UTC-5)",
     P("name: a, " ALL ", conditions: {time: {from: \"09:00\", to: \"10:00\", "
       "timezone: America/New_York}}, grant: {block: true}"),
     "when=2024-01-15T13:30", "outcome=allow"},
    {"DST: far future from the footer rule",
     P("name: a, " ALL ", conditions: {time: {from: \"09:00\", to: \"10:00\", "
       "timezone: America/New_York}}, grant: {block: true}"),
     "when=2090-07-03T13:30", "outcome=block"},
    {"negative offset",
     P("name: a, " ALL ", conditions: {time: {from: \"20:00\", to: \"21:00\", "
       "timezone: \"-03:30\"}}, grant: {block: true}"),
     "when=2024-01-15T23:45", "outcome=block"},
};

static void test_semantics(void **state)
{
    char yaml[8192];
    for (size_t i = 0; i < sizeof(semantic_rows) / sizeof(semantic_rows[0]); i++) {
        const row *rw = &semantic_rows[i];
        fixture fx;
        req r;
        zt_policy_result res;
        snprintf(yaml, sizeof(yaml), "%s%s", BASE, rw->policies[0] ? rw->policies : "  []\n");
        fx_load(&fx, yaml);
        req_make(&r, rw->request);
        decide(&fx, &r.in, &res);
        expect(&res, rw->want, rw->name);
        fx_free(&fx);
    }
}

static void test_null_set(void **state)
{
    req r;
    zt_policy_result res;
    req_make(&r, "");
    zt_policy_eval(NULL, &r.in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_ALLOW);
    assert_int_equal(res.block_policy, -1);
    assert_int_equal(res.sign_in_frequency_s, -1);
    assert_int_equal(zt_policy_count(NULL), 0);
    assert_null(zt_policy_name(NULL, 0));
}

static void test_matched_truncated(void **state)
{
    zt_buf b;
    fixture fx;
    req r;
    zt_policy_result res;
    zt_buf_init(&b, 0);
    zt_buf_append_str(&b, BASE);
    for (int i = 0; i < 70; i++)
        zt_buf_printf(&b, "  - {name: p%d, " ALL ", grant: {controls: [mfa]}}\n", i);
    zt_buf_cstr(&b);
    fx_load(&fx, b.data);
    req_make(&r, "");
    decide(&fx, &r.in, &res);
    assert_int_equal(res.n_matched, ZT_POLICY_MATCH_MAX);
    assert_true(res.matched_truncated);
    assert_int_equal(res.matched[63], 63);
    assert_string_equal(zt_policy_name(fx.set, 69), "p69");
    fx_free(&fx);
    zt_buf_dispose(&b);
}

/* More applicable policies than are reported: the outcome counts every one of them. Policies
 * 0..69 only ask for a daily sign-in; what decides the outcome sits at 70 and later. */
static void test_outcome_past_reported(void **state)
{
    zt_buf b;
    fixture fx;
    req r;
    zt_policy_result res;
    zt_buf_init(&b, 0);
    zt_buf_append_str(&b, BASE);
    for (int i = 0; i < 70; i++)
        zt_buf_printf(&b, "  - {name: p%d, " ALL ", session: {sign_in_frequency: 1d}}\n", i);
    zt_buf_append_str(&b, "  - {name: ro, state: report_only, " ALL ", grant: {block: true}}\n"
                          "  - {name: mfa, " ALL ", grant: {controls: [compliant_device]}}\n"
                          "  - {name: short, " ALL ", session: {sign_in_frequency: 1h, restrict: "
                          "[read_only]}}\n"
                          "  - {name: blk, " ALL ", conditions: {user_risk: [high]}, "
                          "grant: {block: true}}\n"
                          "  - {name: late, " ALL ", conditions: {time: {days: [mon]}}, "
                          "session: {restrict: [no_download]}}\n");
    zt_buf_cstr(&b);
    fx_load(&fx, b.data);
    req_make(&r, "auth=600");
    decide(&fx, &r.in, &res);
    expect(&res,
           "outcome=challenge next=compliant_device unmet=compliant_device "
           "restrict=read_only,no_download freq=3600 reauth=0 block=-1 ro=block",
           "past 64");
    assert_int_equal(res.n_matched, ZT_POLICY_MATCH_MAX);
    assert_true(res.matched_truncated);
    assert_int_equal(res.matched[0], 0);
    assert_int_equal(res.matched[63], 63);
    req_make(&r, "auth=600 urisk=high");
    decide(&fx, &r.in, &res);
    expect(&res, "outcome=block block=73 required=compliant_device", "past 64, block");
    req_make(&r, "auth=7200 mfa=1 device=known,compliant when=2024-01-16T10:00");
    decide(&fx, &r.in, &res);
    expect(&res, "outcome=challenge reauth=1 restrict=read_only freq=3600", "past 64, reauth");
    fx_free(&fx);
    zt_buf_dispose(&b);
}

/* ---------------------------------------------------------------------------------------------
 * Explain: the first miss in the fixed order */

typedef struct miss_row {
    const char *policy;
    const char *request;
    zt_policy_miss want;
} miss_row;

static const miss_row miss_rows[] = {
    {P("name: a, state: off, users: {include: [bob@example.com]}, apps: {include: [all]}, "
       "grant: {block: true}"),
     "", ZT_MISS_STATE_OFF},
    {P("name: a, users: {include: [bob@example.com]}, apps: {include: [hr]}, "
       "grant: {block: true}"),
     "", ZT_MISS_USER_NOT_INCLUDED},
    {P("name: a, users: {include: [all], exclude: [group:staff]}, apps: {include: [hr]}, "
       "grant: {block: true}"),
     "", ZT_MISS_USER_EXCLUDED},
    {P("name: a, users: {include: [all]}, apps: {include: [hr]}, conditions: {user_risk: [high]}, "
       "grant: {block: true}"),
     "", ZT_MISS_APP_NOT_INCLUDED},
    {P("name: a, users: {include: [all]}, apps: {include: [all], exclude: [portal]}, "
       "conditions: {user_risk: [high]}, grant: {block: true}"),
     "", ZT_MISS_APP_EXCLUDED},
    {P("name: a, " ALL ", conditions: {user_risk: [high], sign_in_risk: [high]}, "
       "grant: {block: true}"),
     "", ZT_MISS_USER_RISK},
    {P("name: a, " ALL ", conditions: {sign_in_risk: [high], device: {enrolled: true}}, "
       "grant: {block: true}"),
     "", ZT_MISS_SIGN_IN_RISK},
    {P("name: a, " ALL ", conditions: {device: {enrolled: true, platforms: [ios]}}, "
       "grant: {block: true}"),
     "", ZT_MISS_DEVICE},
    {P("name: a, " ALL ", conditions: {device: {platforms: [ios]}, locations: {include: [lab]}}, "
       "grant: {block: true}"),
     "", ZT_MISS_PLATFORM},
    {P("name: a, " ALL ", conditions: {locations: {include: [lab]}, anonymous_ip: true}, "
       "grant: {block: true}"),
     "", ZT_MISS_LOCATION},
    {P("name: a, " ALL ", conditions: {anonymous_ip: true, client_types: [api]}, "
       "grant: {block: true}"),
     "", ZT_MISS_ANONYMOUS_IP},
    {P("name: a, " ALL ", conditions: {client_types: [api], time: {days: [sun]}}, "
       "grant: {block: true}"),
     "", ZT_MISS_CLIENT},
    {P("name: a, " ALL ", conditions: {time: {days: [sun]}}, grant: {block: true}"), "",
     ZT_MISS_TIME},
    {P("name: a, " ALL ", conditions: {time: {days: [mon]}}, grant: {block: true}"), "",
     ZT_MISS_NONE},
};

static void test_explain_order(void **state)
{
    char yaml[4096];
    for (size_t i = 0; i < sizeof(miss_rows) / sizeof(miss_rows[0]); i++) {
        fixture fx;
        req r;
        zt_policy_result res;
        zt_policy_miss miss;
        snprintf(yaml, sizeof(yaml), "%s%s", BASE, miss_rows[i].policy);
        fx_load(&fx, yaml);
        req_make(&r, miss_rows[i].request);
        decide(&fx, &r.in, &res);
        zt_policy_explain(fx.set, &r.in, &miss);
        if (miss != miss_rows[i].want)
            fail_msg("row %zu: got '%s', want '%s'", i, zt_policy_miss_text(miss),
                     zt_policy_miss_text(miss_rows[i].want));
        fx_free(&fx);
    }
    assert_string_equal(zt_policy_miss_text(ZT_MISS_USER_EXCLUDED), "user is excluded");
    assert_string_equal(zt_control_name(ZT_CTL_COMPLIANT_DEVICE), "compliant_device");
    assert_string_equal(zt_outcome_name(ZT_OUTCOME_CHALLENGE), "challenge");
    assert_string_equal(zt_risk_name(ZT_RISK_MEDIUM), "medium");
}

static void test_accessors(void **state)
{
    fixture fx;
    fx_load(&fx, BASE P("name: first, state: report_only, " ALL ", grant: {block: true}")
                     P("name: second, " ALL ", grant: {controls: [mfa]}"));
    assert_int_equal(zt_policy_count(fx.set), 2);
    assert_string_equal(zt_policy_name(fx.set, 1), "second");
    assert_null(zt_policy_name(fx.set, 2));
    assert_true(zt_policy_report_only(fx.set, 0));
    assert_false(zt_policy_report_only(fx.set, 1));
    assert_true(zt_policy_is_block(fx.set, 0));
    assert_false(zt_policy_is_block(fx.set, 1));
    fx_free(&fx);
}

/* The policy that explains a decision is one that asks for what is missing: not the first
 * applicable one (report-only, session-only, or an OR grant already met by another control). */
static void test_cause(void **state)
{
    fixture fx;
    fx_load(&fx, BASE P("name: trial, state: report_only, " ALL ", grant: {block: true}")
                     P("name: restrict, " ALL ", session: {restrict: [read_only]}")
                         P("name: either, " ALL
                           ", grant: {controls: [mfa, password_change], operator: OR}")
                             P("name: device, " ALL ", grant: {controls: [compliant_device]}")
                                 P("name: second-factor, " ALL ", grant: {controls: [mfa]}")
                                     P("name: fresh, " ALL ", session: {sign_in_frequency: 1h}"));
    zt_policy_input in = {
        .email = "a@b", .app = "portal", .now = MONDAY_10, .auth_time = MONDAY_10 - 60};
    zt_policy_result res;
    zt_policy_eval(fx.set, &in, &res);
    assert_int_equal(res.next_control, ZT_CTL_MFA);
    assert_string_equal(zt_policy_name(fx.set, zt_policy_cause(fx.set, &in, &res)),
                        "second-factor");
    in.mfa_time = in.auth_time;
    zt_policy_eval(fx.set, &in, &res);
    assert_int_equal(res.next_control, ZT_CTL_COMPLIANT_DEVICE);
    assert_string_equal(zt_policy_name(fx.set, zt_policy_cause(fx.set, &in, &res)), "device");
    in.device_known = in.device_compliant = true;
    in.auth_time = in.mfa_time = MONDAY_10 - 7200;
    zt_policy_eval(fx.set, &in, &res);
    assert_true(res.reauth_required);
    assert_string_equal(zt_policy_name(fx.set, zt_policy_cause(fx.set, &in, &res)), "fresh");
    in.auth_time = in.mfa_time = MONDAY_10 - 60;
    zt_policy_eval(fx.set, &in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_ALLOW);
    assert_int_equal(zt_policy_cause(fx.set, &in, &res), -1);
    fx_free(&fx);
    fx_load(&fx, BASE P("name: trial, state: report_only, " ALL ", grant: {block: true}")
                     P("name: deny, " ALL ", grant: {block: true}"));
    zt_policy_eval(fx.set, &in, &res);
    assert_string_equal(zt_policy_name(fx.set, zt_policy_cause(fx.set, &in, &res)), "deny");
    assert_int_equal(zt_policy_cause(NULL, &in, &res), -1);
    fx_free(&fx);
}

/* ---------------------------------------------------------------------------------------------
 * Time zones */

/* The page and audit record name the policy whose strength the session's key does not meet. */
static void test_cause_strength(void **state)
{
    fixture fx;
    fx_load(&fx, BASE P("name: any-passkey, " ALL ", grant: {controls: [phishing_resistant_mfa]}")
                     P("name: vendor-keys, " ALL
                       ", grant: {authentication_strength: {aaguids: [" AAGUID_A "]}}"));
    unsigned char a[16], b[16];
    assert_true(zt_uuid_parse(AAGUID_A, a));
    assert_true(zt_uuid_parse(AAGUID_B, b));
    zt_policy_input in = {.email = "a@b",
                          .app = "portal",
                          .now = MONDAY_10,
                          .auth_time = MONDAY_10 - 60,
                          .mfa_time = MONDAY_10 - 60,
                          .mfa_phishing_resistant = true,
                          .passkey_aaguid = b};
    zt_policy_result res;
    zt_policy_eval(fx.set, &in, &res);
    assert_int_equal(res.next_control, ZT_CTL_PHISHING_RESISTANT_MFA);
    assert_string_equal(zt_policy_name(fx.set, zt_policy_cause(fx.set, &in, &res)), "vendor-keys");
    in.passkey_aaguid = a;
    zt_policy_eval(fx.set, &in, &res);
    assert_int_equal(res.outcome, ZT_OUTCOME_ALLOW);
    in.mfa_phishing_resistant = false;
    zt_policy_eval(fx.set, &in, &res);
    assert_string_equal(zt_policy_name(fx.set, zt_policy_cause(fx.set, &in, &res)), "any-passkey");
    fx_free(&fx);
}

static void test_tz(void **state)
{
    zt_tz tz;
    char err[256];
    assert_int_equal(zt_tz_load(&tz, "UTC", err, sizeof(err)), 0);
    assert_int_equal(zt_tz_offset(&tz, 0), 0);
    zt_tz_dispose(&tz);
    assert_int_equal(zt_tz_load(&tz, "-03:30", err, sizeof(err)), 0);
    assert_int_equal(zt_tz_offset(&tz, MONDAY_10), -12600);
    zt_tz_dispose(&tz);
    assert_int_equal(zt_tz_load(&tz, "Asia/Tokyo", err, sizeof(err)), 0);
    assert_int_equal(zt_tz_offset(&tz, MONDAY_10), 9 * 3600);
    zt_tz_dispose(&tz);
    assert_int_equal(zt_tz_load(&tz, "America/New_York", err, sizeof(err)), 0);
    /* 2024-03-10 07:00Z is 02:00 EST: the switch to EDT; one second before is still EST. */
    assert_int_equal(zt_tz_offset(&tz, utc("2024-03-10T07:00") - 1), -5 * 3600);
    assert_int_equal(zt_tz_offset(&tz, utc("2024-03-10T07:00")), -4 * 3600);
    /* 2024-11-03 06:00Z is 02:00 EDT: back to EST. */
    assert_int_equal(zt_tz_offset(&tz, utc("2024-11-03T06:00") - 1), -4 * 3600);
    assert_int_equal(zt_tz_offset(&tz, utc("2024-11-03T06:00")), -5 * 3600);
    /* Past the explicit transitions the footer rule applies (second Sunday of March 2150). */
    assert_int_equal(zt_tz_offset(&tz, utc("2150-03-14T12:00")), -4 * 3600);
    assert_int_equal(zt_tz_offset(&tz, utc("2150-03-07T12:00")), -5 * 3600);
    zt_tz_dispose(&tz);
    assert_int_equal(zt_tz_load(&tz, "Australia/Sydney", err, sizeof(err)), 0);
    assert_int_equal(zt_tz_offset(&tz, utc("2100-01-15T00:00")), 11 * 3600); /* AEDT */
    assert_int_equal(zt_tz_offset(&tz, utc("2100-07-15T00:00")), 10 * 3600); /* AEST */
    zt_tz_dispose(&tz);
    assert_int_equal(zt_tz_load(&tz, "Nowhere/City", err, sizeof(err)), -1);
    assert_int_equal(zt_tz_load(&tz, "../etc/passwd", err, sizeof(err)), -1);
    static const unsigned char junk[] = "TZif2 but not really";
    assert_int_equal(zt_tz_parse(&tz, junk, sizeof(junk), err, sizeof(err)), -1);
}

/* ---------------------------------------------------------------------------------------------
 * Config errors: exact FILE:LINE:COL */

static void expect_errors(const char *policies, const char *want)
{
    char yaml[8192];
    zt_diags d;
    snprintf(yaml, sizeof(yaml), "%s%s", BASE, policies);
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
    assert_null(cfg);
    assert_non_null(d.text.data);
    assert_string_equal(d.text.data, want);
    zt_diags_dispose(&d);
}

static void test_config_errors(void **state)
{
    /* Line 15 is the first policy line. */
    expect_errors(P("name: a, users: {include: [all]}, apps: {include: [payroll]}, "
                    "grant: {block: true}"),
                  NAME ":15:57: 'payroll' is not an app name (see apps)\n");
    expect_errors(P("name: a, users: {include: [all]}, apps: {include: [sensitivity:secret]}, "
                    "grant: {block: true}"),
                  NAME ":15:57: 'sensitivity:secret' names no sensitivity (public, internal, "
                       "confidential, restricted)\n");
    expect_errors(P("name: a, " ALL ", conditions: {locations: {include: [moon]}}, "
                    "grant: {block: true}"),
                  NAME ":15:99: 'moon' is not a location name (see locations)\n");
    expect_errors(P("name: a, " ALL ", grant: {authentication_strength: {aaguids: [" AAGUID_A
                    ", 1234, cb69481e-8ff7-4039-93ec-0a2729a154a]}}"),
                  NAME ":15:146: '1234' is not an AAGUID (8-4-4-4-12 hex digits)\n" NAME
                       ":15:152: 'cb69481e-8ff7-4039-93ec-0a2729a154a' is not an AAGUID "
                       "(8-4-4-4-12 hex digits)\n");
    expect_errors(P("name: a, " ALL ", grant: {authentication_strength: {aaguids: []}}"),
                  NAME ":15:107: 'policies[0].grant.authentication_strength.aaguids' must have 1 "
                       "to 256 entries (got 0)\n");
    expect_errors(P("name: a, " ALL ", grant: {block: true, authentication_strength: "
                    "{aaguids: [" AAGUID_A "]}}"),
                  NAME ":15:110: 'policies[0].grant' sets both block and authentication_strength: "
                       "block wins, so the strength would never be asked\n");
    expect_errors(P("name: a, " ALL ", grant: {block: true, controls: [mfa]}"),
                  NAME ":15:95: 'policies[0].grant' sets both block and controls: block wins, so "
                       "the controls would never be asked\n");
    expect_errors(P("name: a, " ALL "") P("name: b, " ALL ", grant: {block: false}"),
                  NAME ":15:5: policy 'a' does nothing: set grant.block, grant.controls or a "
                       "session control\n" NAME
                       ":16:5: policy 'b' does nothing: set grant.block, grant.controls or a "
                       "session control\n");
    expect_errors(P("name: a, " ALL ", grant: {block: true}")
                      P("name: a, " ALL ", grant: {block: true}"),
                  NAME ":16:5: duplicate policy name 'a' (first at line 15)\n");
    /* Every later copy names the first; names differing only in case are different. */
    expect_errors(
        P("name: a, " ALL ", grant: {block: true}") P("name: b, " ALL ", grant: {block: true}")
            P("name: a, " ALL ", grant: {block: true}") P("name: A, " ALL ", grant: {block: true}")
                P("name: b, " ALL ", grant: {block: true}")
                    P("name: a, " ALL ", grant: {block: true}"),
        NAME ":17:5: duplicate policy name 'a' (first at line 15)\n" NAME
             ":19:5: duplicate policy name 'b' (first at line 16)\n" NAME
             ":20:5: duplicate policy name 'a' (first at line 15)\n");
    expect_errors(P("name: a, users: {include: []}, apps: {include: [all]}, grant: {block: true}"),
                  NAME ":15:32: 'policies[0].users.include' must have 1 to 1000 entries (got 0)\n");
    expect_errors(P("name: a, users: {exclude: [x@y]}, apps: {include: [all]}, "
                    "grant: {block: true}"),
                  NAME ":15:22: missing required key 'include' in 'policies[0].users'\n");
    expect_errors(P("name: a, users: {include: [alice, \"group:\"]}, apps: {include: [all]}, "
                    "grant: {block: true}"),
                  NAME ":15:33: 'alice' must be all, an email address or group:NAME\n" NAME
                       ":15:40: 'group:' must be all, an email address or group:NAME\n");
    expect_errors(P("name: a, " ALL ", conditions: {time: {from: \"25:00\", to: \"08:00\"}}, "
                    "grant: {block: true}"),
                  NAME ":15:90: 'policies[0].conditions.time.from' must be a time of day like "
                       "\"08:30\" (00:00 to 23:59) (got '25:00')\n");
    expect_errors(P("name: a, " ALL ", conditions: {time: {from: \"08:00\"}}, "
                    "grant: {block: true}"),
                  NAME ":15:83: 'policies[0].conditions.time' needs both 'from' and 'to'\n");
    expect_errors(P("name: a, " ALL ", conditions: {time: {from: \"08:00\", to: \"08:00\"}}, "
                    "grant: {block: true}"),
                  NAME ":15:103: 'policies[0].conditions.time.to' equals 'from': the window would "
                       "be empty (leave both out for all day)\n");
    expect_errors(P("name: a, " ALL ", conditions: {time: {days: [mon], timezone: Mars/Olympus}}, "
                    "grant: {block: true}"),
                  NAME ":15:107: 'policies[0].conditions.time.timezone' is not a known time zone "
                       "(no TZif file in /usr/share/zoneinfo) (got 'Mars/Olympus')\n");
    expect_errors(P("name: a, " ALL ", conditions: {time: {days: [mon], timezone: ../../x}}, "
                    "grant: {block: true}"),
                  NAME ":15:107: 'policies[0].conditions.time.timezone' must be UTC, an offset "
                       "like +09:00 or an IANA time zone name like Asia/Tokyo (got '../../x')\n");
    expect_errors(P("name: a, " ALL ", conditions: {user_risk: [high, severe, high]}, "
                    "grant: {block: true}"),
                  NAME ":15:95: 'policies[0].conditions.user_risk[1]' must be one of: none, low, "
                       "medium, high (got 'severe')\n" NAME
                       ":15:103: 'policies[0].conditions.user_risk[2]' is listed twice (got "
                       "'high')\n");
    expect_errors(P("name: a, state: maybe, " ALL ", grant: {block: true}"),
                  NAME ":15:22: 'policies[0].state' must be one of: off, on, report_only (got "
                       "'maybe')\n");
    expect_errors(P("name: a, " ALL ", session: {sign_in_frequency: 30s}"),
                  NAME ":15:93: 'policies[0].session.sign_in_frequency' must be between 1m and "
                       "366d, or every_time (got '30s')\n");
    expect_errors(P("name: a, " ALL ", session: {sign_in_frequency: often}"),
                  NAME ":15:93: 'policies[0].session.sign_in_frequency' must be every_time or a "
                       "duration like 8h or 7d (units: s, m, h, d) (got 'often')\n");
    expect_errors(P("name: a, " ALL ", grant: {block: true}, colour: red"),
                  NAME ":15:86: unknown key 'colour' in 'policies[0]' (expected one of: name, "
                       "state, users, apps, conditions, grant, session)\n");
}

static void test_config_location_errors(void **state)
{
    const char *base = "gateway:\n"
                       "  listen:\n"
                       "    - address: 127.0.0.1:8080\n"
                       "apps:\n"
                       "  - {name: a, upstream: \"http://127.0.0.1:1\"}\n"
                       "locations:\n";
    static const struct {
        const char *loc, *want;
    } rows[] = {
        {"  - {name: x, cidrs: [10.0.0.0/8]}\n  - {name: x, countries: [JP]}\n",
         NAME ":8:5: duplicate location name 'x' (first at line 7)\n"},
        {"  - {name: x, cidrs: [10.0.0.0/8]}\n  - {name: y, countries: [JP]}\n"
         "  - {name: X, countries: [JP]}\n  - {name: x, countries: [FR]}\n"
         "  - {name: y, countries: [DE]}\n",
         NAME ":10:5: duplicate location name 'x' (first at line 7)\n" NAME
              ":11:5: duplicate location name 'y' (first at line 8)\n"},
        {"  - {name: trusted, cidrs: [10.0.0.0/8]}\n",
         NAME ":7:12: location name 'trusted' is reserved (it means every trusted location in "
              "policies)\n"},
        {"  - {name: x, trusted: true}\n", NAME ":7:5: location 'x' needs cidrs or countries\n"},
        {"  - {name: x, countries: [jp, JPN]}\n",
         NAME ":7:27: 'jp' is not a country code (two capital letters, ISO 3166-1, like JP)\n" NAME
              ":7:31: 'JPN' is not a country code (two capital letters, ISO 3166-1, like JP)\n"},
        {"  - {name: x, cidrs: [10.0.0.1/8]}\n",
         NAME ":7:23: 'locations[0].cidrs[0]' must be a CIDR block like 10.0.0.0/8 with the host "
              "bits zero (got '10.0.0.1/8')\n"},
    };
    char yaml[1024];
    for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
        zt_diags d;
        snprintf(yaml, sizeof(yaml), "%s%s", base, rows[i].loc);
        zt_diags_init(&d);
        zt_config *cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
        assert_null(cfg);
        assert_non_null(d.text.data);
        assert_string_equal(d.text.data, rows[i].want);
        zt_diags_dispose(&d);
    }
}

static void test_config_parsed(void **state)
{
    fixture fx;
    fx_load(&fx, BASE "  - name: full\n"
                      "    state: report_only\n"
                      "    users: {include: [all], exclude: [group:breakglass]}\n"
                      "    apps: {include: [sensitivity:confidential, hr]}\n"
                      "    conditions:\n"
                      "      user_risk: [medium, high]\n"
                      "      device: {enrolled: false, platforms: [windows, macos]}\n"
                      "      time: {days: [sat, sun], from: \"22:00\", to: \"06:00\"}\n"
                      "    grant: {controls: [mfa, compliant_device], operator: OR}\n"
                      "    session: {sign_in_frequency: 8h, restrict: [no_download]}\n");
    const zt_policy_cfg *p = &fx.cfg->policies[0];
    assert_int_equal(fx.cfg->n_locations, 4);
    assert_true(fx.cfg->locations[0].trusted);
    assert_string_equal(fx.cfg->locations[2].countries[0].s, "JP");
    assert_int_equal(p->state, ZT_POLICY_REPORT_ONLY);
    assert_int_equal(p->users.n_exclude, 1);
    assert_string_equal(p->apps.include[1].s, "hr");
    assert_int_equal(p->conditions.user_risk_mask, (1u << ZT_RISK_MEDIUM) | (1u << ZT_RISK_HIGH));
    assert_true(p->conditions.has_device);
    assert_true(p->conditions.device.has_enrolled);
    assert_false(p->conditions.device.enrolled);
    assert_false(p->conditions.device.has_compliant);
    assert_int_equal(p->conditions.device.platform_mask,
                     (1u << ZT_PLATFORM_WINDOWS) | (1u << ZT_PLATFORM_MACOS));
    assert_false(p->conditions.has_locations);
    assert_false(p->conditions.has_anonymous_ip);
    assert_int_equal(p->conditions.time.days_mask, 0x60);
    assert_int_equal(p->conditions.time.from_min, 22 * 60);
    assert_int_equal(p->conditions.time.to_min, 6 * 60);
    assert_string_equal(p->conditions.time.timezone, "UTC");
    assert_int_equal(p->grant.controls, ZT_CTL_MFA | ZT_CTL_COMPLIANT_DEVICE);
    assert_true(p->grant.operator_or);
    assert_true(p->session.has_sign_in_frequency);
    assert_int_equal(p->session.sign_in_frequency_s, 8 * 3600);
    assert_int_equal(p->session.restrict_flags, ZT_RESTRICT_NO_DOWNLOAD);
    assert_int_equal(p->line, 15);
    fx_free(&fx);
}

/* ---------------------------------------------------------------------------------------------
 * Property test: random policy sets, random requests, two evaluators */

static uint64_t rng_state;

static uint64_t rnd(void)
{
    uint64_t z = (rng_state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

static unsigned rn(unsigned n)
{
    return (unsigned)(rnd() % n);
}

static bool chance(unsigned pct)
{
    return rn(100) < pct;
}

static const char *pick(const char *const *v, size_t n)
{
    return v[rn((unsigned)n)];
}

#define PICK(arr) pick(arr, sizeof(arr) / sizeof(arr[0]))

/* A flow list of min..max distinct words from v. */
static void rand_words(zt_buf *b, const char *const *v, size_t n, size_t min, size_t max)
{
    size_t k = min + rn((unsigned)(max - min + 1));
    bool used[32] = {false};
    zt_buf_append_str(b, "[");
    for (size_t i = 0, w = 0; i < k * 4 && w < k; i++) {
        size_t j = rn((unsigned)n);
        if (used[j])
            continue;
        used[j] = true;
        zt_buf_printf(b, "%s\"%s\"", w++ ? ", " : "", v[j]);
    }
    zt_buf_append_str(b, "]");
}

#define WORDS(b, arr, lo, hi) rand_words(b, arr, sizeof(arr) / sizeof(arr[0]), lo, hi)
/* The same for NULL-terminated word lists. */
#define WORDSZ(b, arr, lo, hi) rand_words(b, arr, sizeof(arr) / sizeof(arr[0]) - 1, lo, hi)

static const char *const r_users[] = {"all",          "alice@example.com", "BOB@example.com",
                                      "group:staff",  "group:Admins",      "group:contractors",
                                      "carol@x.test", "group:breakglass"};
static const char *const r_apps[] = {"all",
                                     "portal",
                                     "hr",
                                     "wiki",
                                     "vault",
                                     "sensitivity:public",
                                     "sensitivity:internal",
                                     "sensitivity:confidential",
                                     "sensitivity:restricted"};
static const char *const r_locs[] = {"all", "trusted", "office", "branch", "japan", "lab"};
static const char *const r_tzs[] = {"UTC",        "+09:00",           "-03:30",
                                    "Asia/Tokyo", "America/New_York", "Europe/London"};
static const char *const r_days[] = {"mon", "tue", "wed", "thu", "fri", "sat", "sun"};
static const char *const r_freqs[] = {"every_time", "1m", "1h", "8h", "1d"};

static void rand_assign(zt_buf *b, const char *key, const char *const *v, size_t n)
{
    zt_buf_printf(b, ", %s: {include: ", key);
    rand_words(b, v, n, 1, 3);
    if (chance(40)) {
        zt_buf_append_str(b, ", exclude: ");
        rand_words(b, v, n, 1, 2);
    }
    zt_buf_append_str(b, "}");
}

/* Appends ", key: " (or "key: " first in its mapping). */
static void key(zt_buf *b, bool *first, const char *k)
{
    zt_buf_printf(b, "%s%s: ", *first ? "" : ", ", k);
    *first = false;
}

static void rand_device(zt_buf *b)
{
    bool first = true;
    zt_buf_append_str(b, "{");
    if (chance(50)) {
        key(b, &first, "enrolled");
        zt_buf_append_str(b, chance(50) ? "true" : "false");
    }
    if (chance(50)) {
        key(b, &first, "compliant");
        zt_buf_append_str(b, chance(50) ? "true" : "false");
    }
    if (chance(40)) {
        key(b, &first, "risk");
        WORDSZ(b, risk_words, 1, 3);
    }
    if (chance(50)) {
        key(b, &first, "platforms");
        WORDSZ(b, platform_words, 1, 4);
    }
    zt_buf_append_str(b, "}");
}

static void rand_time(zt_buf *b)
{
    bool window = chance(70);
    zt_buf_append_str(b, "{");
    if (!window || chance(50)) {
        zt_buf_append_str(b, "days: ");
        WORDS(b, r_days, 1, 6);
        zt_buf_append_str(b, ", ");
    }
    if (window) {
        unsigned from = rn(24 * 60), to = (from + 1 + rn(24 * 60 - 1)) % (24 * 60);
        zt_buf_printf(b, "from: \"%02u:%02u\", to: \"%02u:%02u\", ", from / 60, from % 60, to / 60,
                      to % 60);
    }
    zt_buf_printf(b, "timezone: \"%s\"}", PICK(r_tzs));
}

static void rand_conditions(zt_buf *b)
{
    bool first = true;
    zt_buf_append_str(b, ", conditions: {");
    if (chance(25)) {
        key(b, &first, "user_risk");
        WORDSZ(b, risk_words, 1, 3);
    }
    if (chance(25)) {
        key(b, &first, "sign_in_risk");
        WORDSZ(b, risk_words, 1, 3);
    }
    if (chance(25)) {
        key(b, &first, "device");
        rand_device(b);
    }
    if (chance(30)) {
        key(b, &first, "locations");
        zt_buf_append_str(b, "{include: ");
        WORDS(b, r_locs, 1, 3);
        if (chance(50)) {
            zt_buf_append_str(b, ", exclude: ");
            WORDS(b, r_locs, 1, 2);
        }
        zt_buf_append_str(b, "}");
    }
    if (chance(15)) {
        key(b, &first, "anonymous_ip");
        zt_buf_append_str(b, chance(50) ? "true" : "false");
    }
    if (chance(20)) {
        key(b, &first, "client_types");
        WORDS(b, ((const char *const[]){"browser", "api"}), 1, 2);
    }
    if (chance(25)) {
        key(b, &first, "time");
        rand_time(b);
    }
    zt_buf_append_str(b, "}");
}

static void rand_controls(zt_buf *b)
{
    bool grant = false;
    if (chance(12)) {
        zt_buf_append_str(b, ", grant: {block: true}");
        grant = true;
    } else if (chance(75)) {
        zt_buf_append_str(b, ", grant: {controls: ");
        WORDSZ(b, control_words, 1, 3);
        zt_buf_printf(b, ", operator: %s", chance(30) ? "OR" : "AND");
        if (chance(20))
            zt_buf_printf(b, ", authentication_strength: {aaguids: [%s]}",
                          chance(50) ? AAGUID_A : AAGUID_A ", " AAGUID_B);
        zt_buf_append_str(b, "}");
        grant = true;
    }
    if (chance(30) || !grant) {
        bool freq = chance(60), restr = !freq || chance(40);
        zt_buf_append_str(b, ", session: {");
        if (freq)
            zt_buf_printf(b, "sign_in_frequency: %s%s", PICK(r_freqs), restr ? ", " : "");
        if (restr) {
            zt_buf_append_str(b, "restrict: ");
            WORDSZ(b, restrict_words, 1, 2);
        }
        zt_buf_append_str(b, "}");
    }
}

/* Large sets draw users from a wider universe: BIG_USERS emails and BIG_GROUPS groups (the
 * first ten popular, so their index rows are dense while the rest stay sparse), in either case. */
#define BIG_USERS 300
#define BIG_GROUPS 200
#define BIG_REQ_GROUPS 100

static bool big_names;

/* 0 = all, 1..BIG_GROUPS = group id - 1, then users. */
static unsigned big_id(void)
{
    if (chance(3))
        return 0;
    if (chance(60))
        return 1 + (chance(50) ? rn(10) : rn(BIG_GROUPS));
    return 1 + BIG_GROUPS + rn(BIG_USERS);
}

static void big_word(zt_buf *b, unsigned id, bool upper)
{
    if (id == 0)
        zt_buf_append_str(b, "all");
    else if (id <= BIG_GROUPS)
        zt_buf_printf(b, "\"group:%s%u\"", upper ? "G" : "g", id - 1);
    else
        zt_buf_printf(b, "\"%s%u@%s\"", upper ? "U" : "u", id - 1 - BIG_GROUPS,
                      upper ? "Example.COM" : "example.com");
}

static void big_people(zt_buf *b, size_t min, size_t max)
{
    size_t k = min + rn((unsigned)(max - min + 1)), got = 0;
    unsigned ids[8];
    zt_buf_append_str(b, "[");
    for (size_t t = 0; t < k * 4 && got < k; t++) {
        unsigned id = big_id();
        bool dup = false;
        for (size_t j = 0; j < got; j++)
            dup = dup || ids[j] == id;
        if (dup)
            continue;
        if (got > 0)
            zt_buf_append_str(b, ", ");
        big_word(b, id, chance(20));
        ids[got++] = id;
    }
    zt_buf_append_str(b, "]");
}

static void big_assign(zt_buf *b)
{
    zt_buf_append_str(b, ", users: {include: ");
    big_people(b, 1, 5);
    if (chance(40)) {
        zt_buf_append_str(b, ", exclude: ");
        big_people(b, 1, 3);
    }
    zt_buf_append_str(b, "}");
}

/* A random request whose user is in up to BIG_REQ_GROUPS groups (sometimes a NULL entry or the
 * same group twice). */
typedef struct big_req {
    req r;
    char email[64];
    char names[BIG_REQ_GROUPS][16];
    const char *groups[BIG_REQ_GROUPS];
} big_req;

static void rand_request(req *r);

static void big_request(big_req *q)
{
    rand_request(&q->r);
    unsigned u = rn(BIG_USERS + 10); /* a few users no policy names */
    bool upper = chance(20);
    snprintf(q->email, sizeof(q->email), "%s%u@%s", upper ? "U" : "u", u,
             upper ? "EXAMPLE.com" : "example.com");
    q->r.in.email = chance(3) ? NULL : q->email;
    size_t n = chance(70) ? rn(9) : chance(80) ? 8 + rn(33) : 40 + rn(BIG_REQ_GROUPS - 39);
    for (size_t i = 0; i < n; i++) {
        unsigned g = chance(30) ? rn(10) : rn(BIG_GROUPS + 20);
        snprintf(q->names[i], sizeof(q->names[i]), "%s%u", chance(20) ? "G" : "g", g);
        q->groups[i] = chance(2) ? NULL : q->names[i];
    }
    q->r.in.groups = q->groups;
    q->r.in.n_groups = n;
}

static void rand_policy(zt_buf *b, int i)
{
    static const char *const states[] = {"on", "on", "on", "report_only", "off"};
    zt_buf_printf(b, "  - {name: p%d, state: %s", i, PICK(states));
    if (big_names)
        big_assign(b);
    else
        rand_assign(b, "users", r_users, sizeof(r_users) / sizeof(r_users[0]));
    rand_assign(b, "apps", r_apps, sizeof(r_apps) / sizeof(r_apps[0]));
    if (chance(70))
        rand_conditions(b);
    rand_controls(b);
    zt_buf_append_str(b, "}\n");
}

static const char *const r_ips[] = {
    "-",           "10.0.0.1",        "10.9.0.1",           "10.255.1.1",  "11.0.0.1",
    "192.168.1.1", "192.168.1.255",   "192.168.2.0",        "2001:db8::1", "2001:db8:ffff::1",
    "2001:db9::1", "::ffff:10.9.3.4", "::ffff:192.168.1.3", "203.0.113.9", "::1"};
static const char *const r_ccs[] = {"-", "JP", "US", "GB", "JP"};
static const char *const r_emails[] = {"alice@example.com", "ALICE@EXAMPLE.COM", "bob@example.com",
                                       "carol@x.test", "-"};
static const char *const r_groups[] = {"-",
                                       "staff",
                                       "ADMINS",
                                       "staff,contractors",
                                       "admins,BreakGlass",
                                       "other,staff,admins,contractors,breakglass"};
static const char *const r_req_apps[] = {"app=portal sens=internal", "app=hr sens=confidential",
                                         "app=wiki sens=public",     "app=vault sens=restricted",
                                         "app=other sens=internal",  "app=other sens=restricted",
                                         "app=hr sens=public"};

static void rand_request(req *r)
{
    char spec[512];
    int64_t t = utc("2024-01-01T00:00") + (int64_t)rn(3 * 365 * 86400u);
    snprintf(spec, sizeof(spec),
             "email=%s groups=%s %s ip=%s cc=%s anon=%d urisk=%s srisk=%s device=%s drisk=%s "
             "platform=%s client=%s mfa=%d pr=%d pwc=%d aaguid=%s",
             PICK(r_emails), PICK(r_groups), PICK(r_req_apps), PICK(r_ips), PICK(r_ccs), chance(20),
             pick(risk_words, 4), pick(risk_words, 4),
             PICK(((const char *const[]){"-", "known", "known,enrolled", "known,compliant",
                                         "known,enrolled,compliant", "compliant"})),
             pick(risk_words, 4), pick(platform_words, 7), chance(50) ? "api" : "browser",
             chance(50), chance(30), chance(20),
             PICK(((const char *const[]){"-", AAGUID_A, AAGUID_B,
                                         "d8522d9f-575b-4866-88a9-ba99fa02f35b"})));
    req_make(r, spec);
    r->in.now = t;
    r->in.auth_time = chance(10) ? 0 : t - (int64_t)rn(2 * 86400);
    if (r->in.mfa_time != 0)
        r->in.mfa_time = t - 10;
}

/* One request through eval, reference and explain; false (and why) when they disagree. */
static bool agree(const fixture *fx, const zt_policy_input *in, zt_policy_miss *m1,
                  zt_policy_miss *m2, int n, char *why, size_t cap)
{
    zt_policy_result a, e;
    zt_policy_eval(fx->set, in, &a);
    zt_policy_ref_eval(fx->ref, in, &e, m2);
    zt_policy_explain(fx->set, in, m1);
    if (!results_equal(&a, &e, why, cap))
        return false;
    for (int j = 0; j < n; j++)
        if (m1[j] != m2[j]) {
            snprintf(why, cap, "explain of p%d: %s vs %s", j, zt_policy_miss_text(m1[j]),
                     zt_policy_miss_text(m2[j]));
            return false;
        }
    return true;
}

/* Large sets, wide name universe, many groups per user: the index rows go dense and sparse, and
 * more than 64 policies often apply. ZT_POLICY_SEED replays, as for test_property. */
static void test_property_large(void **state)
{
    const char *env = getenv("ZT_POLICY_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ 0x5eedull;
    const int sets = 20, n = 2000, per_set = 500;
    char why[1200];
    print_message("large property test: seed %llu\n", (unsigned long long)seed);
    rng_state = seed;
    big_names = true;
    for (int s = 0; s < sets; s++) {
        zt_buf b;
        fixture fx;
        zt_buf_init(&b, 0);
        zt_buf_append_str(&b, BASE);
        for (int i = 0; i < n; i++)
            rand_policy(&b, i);
        zt_buf_cstr(&b);
        fx_load(&fx, b.data);
        zt_policy_miss *m1 = calloc((size_t)n, sizeof(*m1)), *m2 = calloc((size_t)n, sizeof(*m2));
        big_req *q = malloc(sizeof(*q));
        assert_non_null(m1);
        assert_non_null(m2);
        assert_non_null(q);
        for (int i = 0; i < per_set; i++) {
            big_request(q);
            if (!agree(&fx, &q->r.in, m1, m2, n, why, sizeof(why))) {
                print_error("seed %llu (ZT_POLICY_SEED=%llu to replay), set %d, request %d: %s\n",
                            (unsigned long long)seed, (unsigned long long)seed, s, i, why);
                big_names = false;
                fail();
            }
        }
        free(q);
        free(m1);
        free(m2);
        fx_free(&fx);
        zt_buf_dispose(&b);
    }
    big_names = false;
}

static void test_property(void **state)
{
    const char *env = getenv("ZT_POLICY_SEED");
    uint64_t seed = env != NULL ? strtoull(env, NULL, 0) : (uint64_t)time(NULL);
    const int sets = 100, per_set = 1000;
    char why[1200];
    print_message("property test: seed %llu\n", (unsigned long long)seed);
    rng_state = seed;
    for (int s = 0; s < sets; s++) {
        zt_buf b;
        fixture fx;
        zt_buf_init(&b, 0);
        zt_buf_append_str(&b, BASE);
        int n = 1 + (int)rn(s % 10 == 9 ? 120 : 25);
        for (int i = 0; i < n; i++)
            rand_policy(&b, i);
        zt_buf_cstr(&b);
        fx_load(&fx, b.data);
        zt_policy_miss *m1 = calloc((size_t)n, sizeof(*m1)), *m2 = calloc((size_t)n, sizeof(*m2));
        assert_non_null(m1);
        assert_non_null(m2);
        for (int i = 0; i < per_set; i++) {
            req r;
            zt_policy_result a, e;
            rand_request(&r);
            zt_policy_eval(fx.set, &r.in, &a);
            zt_policy_ref_eval(fx.ref, &r.in, &e, m2);
            zt_policy_explain(fx.set, &r.in, m1);
            bool same = results_equal(&a, &e, why, sizeof(why));
            for (int j = 0; same && j < n; j++)
                if (m1[j] != m2[j]) {
                    snprintf(why, sizeof(why), "explain of p%d: %s vs %s", j,
                             zt_policy_miss_text(m1[j]), zt_policy_miss_text(m2[j]));
                    same = false;
                }
            if (!same) {
                print_error("seed %llu (ZT_POLICY_SEED=%llu to replay), set %d, request %d: %s\n"
                            "policies:\n%s\n",
                            (unsigned long long)seed, (unsigned long long)seed, s, i, why,
                            b.data + strlen(BASE));
                fail();
            }
        }
        free(m1);
        free(m2);
        fx_free(&fx);
        zt_buf_dispose(&b);
    }
}

/* ---------------------------------------------------------------------------------------------
 * Timing (printed, not asserted) */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void test_timing(void **state)
{
    static const int sizes[] = {10, 100, 1000, 10000};
    rng_state = 42;
    for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
        zt_buf b;
        fixture fx;
        req reqs[64];
        zt_policy_result res;
        zt_buf_init(&b, 0);
        zt_buf_append_str(&b, BASE);
        for (int i = 0; i < sizes[k]; i++)
            rand_policy(&b, i);
        zt_buf_cstr(&b);
        double t0 = now_ns();
        fx_load(&fx, b.data);
        double t1 = now_ns();
        for (int i = 0; i < 64; i++)
            rand_request(&reqs[i]);
        int iters = sizes[k] >= 10000 ? 2000 : 50000;
        unsigned sink = 0;
        double t2 = now_ns();
        for (int i = 0; i < iters; i++) {
            zt_policy_eval(fx.set, &reqs[i % 64].in, &res);
            sink += res.outcome + (unsigned)res.n_matched;
        }
        double t3 = now_ns();
        printf("policy eval: %5d policies: %8.0f ns/decision (load+compile %.1f ms) [%u]\n",
               sizes[k], (t3 - t2) / iters, (t1 - t0) / 1e6, sink % 2);
        fx_free(&fx);
        zt_buf_dispose(&b);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_semantics),
        cmocka_unit_test(test_null_set),
        cmocka_unit_test(test_matched_truncated),
        cmocka_unit_test(test_outcome_past_reported),
        cmocka_unit_test(test_explain_order),
        cmocka_unit_test(test_accessors),
        cmocka_unit_test(test_cause),
        cmocka_unit_test(test_cause_strength),
        cmocka_unit_test(test_tz),
        cmocka_unit_test(test_config_errors),
        cmocka_unit_test(test_config_location_errors),
        cmocka_unit_test(test_config_parsed),
        cmocka_unit_test(test_property),
        cmocka_unit_test(test_property_large),
        cmocka_unit_test(test_timing),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
