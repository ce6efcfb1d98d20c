/* Posture parsing and compliance: good reports (full, minimal, the agent's nulls, time zones,
 * limits at their edge) and one bad case per rule of the schema, each checking the exact field
 * named; every compliance rule passing, failing and unknown; dotted version comparison;
 * staleness; the joined summary and its truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "device/posture.h"

#define MINUTE 60
#define HOUR 3600
#define DAY 86400
#define T_COLLECTED 1795428000 /* 2026-11-23T10:00:00Z */
#define T_UPDATE 1795144320    /* 2026-11-20T03:12:00Z */
#define T_SIGS 1795335240      /* 2026-11-22T08:14:00Z */

static const char BASE[] =
    "{\"agent_version\": \"0.1.0\", \"collected_at\": \"2026-11-23T10:00:00Z\","
    " \"os\": {\"id\": \"debian\", \"version_id\": \"12\","
    "        \"pretty_name\": \"Debian GNU/Linux 12 (bookworm)\", \"kernel\": \"6.1.0-26-amd64\"},"
    " \"updates\": {\"last_package_update\": \"2026-11-20T03:12:00Z\"},"
    " \"disk_encryption\": {\"root\": \"luks\"},"
    " \"firewall\": {\"active\": true, \"rules\": 42},"
    " \"screen_lock\": {\"enabled\": null},"
    " \"antivirus\": {\"engine\": \"clamav\", \"engine_version\": \"1.0.7\","
    "               \"signature_version\": 27450, \"signature_time\": \"2026-11-22T08:14:00Z\","
    "               \"on_access\": false},"
    " \"alerts_active\": 0}";

static bool all_zero(const zt_posture *p)
{
    const unsigned char *b = (const unsigned char *)p;
    for (size_t i = 0; i < sizeof *p; i++)
        if (b[i] != 0)
            return false;
    return true;
}

/* "@str:N" is a JSON string of N 'a's; anything else is JSON text. */
static json_t *value_of(const char *v)
{
    if (strncmp(v, "@str:", 5) == 0) {
        size_t n = (size_t)strtoul(v + 5, NULL, 10);
        char *s = malloc(n + 1);
        assert_non_null(s);
        memset(s, 'a', n);
        s[n] = '\0';
        json_t *j = json_string(s);
        free(s);
        return j;
    }
    json_error_t e;
    json_t *j = json_loads(v, JSON_DECODE_ANY, &e);
    assert_non_null(j);
    return j;
}

/* BASE with one key ("os.id", "extra") set to value, or removed when value is NULL. */
static char *mutate(const char *path, const char *value)
{
    json_error_t e;
    json_t *root = json_loads(BASE, 0, &e);
    assert_non_null(root);
    json_t *obj = root;
    char parent[64];
    const char *dot = strchr(path, '.');
    const char *key = path;
    if (dot != NULL) {
        snprintf(parent, sizeof parent, "%.*s", (int)(dot - path), path);
        obj = json_object_get(root, parent);
        assert_non_null(obj);
        key = dot + 1;
    }
    if (value == NULL)
        assert_int_equal(json_object_del(obj, key), 0);
    else
        assert_int_equal(json_object_set_new(obj, key, value_of(value)), 0);
    char *s = json_dumps(root, JSON_COMPACT);
    assert_non_null(s);
    json_decref(root);
    return s;
}

static int parse_str(const char *s, zt_posture *p, const char **why)
{
    return zt_posture_parse(s, strlen(s), p, why);
}

/* ---- good reports ---------------------------------------------------------------------- */

static void test_parse_full(void **state)
{
    zt_posture p;
    const char *why = "unset";
    assert_int_equal(parse_str(BASE, &p, &why), 0);
    assert_null(why);
    assert_string_equal(p.agent_version, "0.1.0");
    assert_int_equal(p.collected_at, T_COLLECTED);
    assert_string_equal(p.os_id, "debian");
    assert_string_equal(p.os_version, "12");
    assert_string_equal(p.os_pretty, "Debian GNU/Linux 12 (bookworm)");
    assert_string_equal(p.kernel, "6.1.0-26-amd64");
    assert_int_equal(p.last_package_update, T_UPDATE);
    assert_string_equal(p.disk_encryption, "luks");
    assert_int_equal(p.firewall_active, ZT_YES);
    assert_int_equal(p.firewall_rules, 42);
    assert_int_equal(p.screen_lock, ZT_UNKNOWN);
    assert_string_equal(p.av_engine, "clamav");
    assert_string_equal(p.av_engine_version, "1.0.7");
    assert_int_equal(p.av_signature_version, 27450);
    assert_int_equal(p.av_signature_time, T_SIGS);
    assert_int_equal(p.av_on_access, ZT_NO);
    assert_int_equal(p.alerts_active, 0);
}

static void test_parse_minimal(void **state)
{
    static const char doc[] = "{\"agent_version\":\"1\",\"collected_at\":\"2026-11-23T10:00:00Z\","
                              "\"os\":{\"id\":\"arch\",\"version_id\":\"0\"}}";
    zt_posture p;
    const char *why = NULL;
    assert_int_equal(parse_str(doc, &p, &why), 0);
    assert_string_equal(p.os_id, "arch");
    assert_string_equal(p.os_pretty, "");
    assert_string_equal(p.kernel, "");
    assert_int_equal(p.last_package_update, 0);
    assert_string_equal(p.disk_encryption, "unknown");
    assert_int_equal(p.firewall_active, ZT_UNKNOWN);
    assert_int_equal(p.firewall_rules, -1);
    assert_int_equal(p.screen_lock, ZT_UNKNOWN);
    assert_string_equal(p.av_engine, "");
    assert_int_equal(p.av_signature_version, 0);
    assert_int_equal(p.av_signature_time, 0);
    assert_int_equal(p.av_on_access, ZT_UNKNOWN);
    assert_int_equal(p.alerts_active, 0);
}

/* What src/agent/posture.c sends when it cannot tell: null, never a guess. */
static void test_parse_agent_nulls(void **state)
{
    static const char doc[] =
        "{\"agent_version\":\"0.1.0\",\"collected_at\":\"2026-11-23T10:00:00Z\","
        "\"os\":{\"id\":\"debian\",\"version_id\":\"12\",\"pretty_name\":null,\"kernel\":null},"
        "\"updates\":{\"last_package_update\":null},\"disk_encryption\":{\"root\":\"unknown\"},"
        "\"firewall\":{\"active\":null,\"rules\":null},\"screen_lock\":{\"enabled\":null},"
        "\"antivirus\":{\"engine\":\"clamav\",\"engine_version\":null,\"signature_version\":null,"
        "\"signature_time\":null,\"on_access\":true},\"alerts_active\":3}";
    zt_posture p;
    const char *why = NULL;
    assert_int_equal(parse_str(doc, &p, &why), 0);
    assert_string_equal(p.os_pretty, "");
    assert_int_equal(p.last_package_update, 0);
    assert_string_equal(p.disk_encryption, "unknown");
    assert_int_equal(p.firewall_active, ZT_UNKNOWN);
    assert_int_equal(p.firewall_rules, -1);
    assert_string_equal(p.av_engine_version, "");
    assert_int_equal(p.av_signature_version, 0);
    assert_int_equal(p.av_signature_time, 0);
    assert_int_equal(p.av_on_access, ZT_YES);
    assert_int_equal(p.alerts_active, 3);
}

static void test_parse_good_values(void **state)
{
    static const struct {
        const char *path, *value;
    } cases[] = {
        {"agent_version", "@str:32"},
        {"os.pretty_name", "@str:128"},
        {"os.kernel", "@str:128"},
        {"os.pretty_name", "\"Syst\\u00e8me \\u00e9l\\u00e9gant\""},
        {"os.id", "\"opensuse-tumbleweed\""},
        {"os.version_id", "\"22.04\""},
        {"os.version_id", "@str:32"},
        {"os.pretty_name", "\"\""},
        {"antivirus", "{}"},
        {"antivirus", "{\"engine\":\"\",\"on_access\":true}"},
        {"antivirus.signature_version", "1000000000"},
        {"antivirus.signature_version", "0"},
        {"firewall", "{}"},
        {"firewall.rules", "1000000"},
        {"firewall.rules", "0"},
        {"firewall.active", "false"},
        {"screen_lock.enabled", "true"},
        {"screen_lock", "{}"},
        {"updates", "{}"},
        {"disk_encryption", "{}"},
        {"disk_encryption.root", "\"none\""},
        {"alerts_active", "1000000"},
        {"alerts_active", "-0"},
        {"updates", NULL},
        {"disk_encryption", NULL},
        {"firewall", NULL},
        {"screen_lock", NULL},
        {"antivirus", NULL},
        {"alerts_active", NULL},
        {"os.pretty_name", NULL},
        {"os.kernel", NULL},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *doc = mutate(cases[i].path, cases[i].value);
        zt_posture p;
        const char *why = NULL;
        if (parse_str(doc, &p, &why) != 0)
            fail_msg("case %zu (%s): %s", i, cases[i].path, why);
        free(doc);
    }
}

static void test_parse_times(void **state)
{
    static const struct {
        const char *text;
        int64_t want;
    } cases[] = {
        {"2026-11-23T10:00:00Z", T_COLLECTED},
        {"2026-11-23T11:30:00+01:30", T_COLLECTED},
        {"2026-11-23T05:00:00-05:00", T_COLLECTED},
        {"2026-11-23T10:00:00-00:00", T_COLLECTED},
        {"2026-11-23T10:00:00+00:00", T_COLLECTED},
        {"2026-11-24T09:59:00+23:59", T_COLLECTED},
        {"2026-11-23T10:00:00.5Z", T_COLLECTED},
        {"2026-11-23T10:00:00.123456789Z", T_COLLECTED},
        {"2026-11-23T10:00:00.000+00:00", T_COLLECTED},
        {"2024-02-29T12:00:00Z", 1709208000},
        {"2000-03-01T00:00:00Z", 951868800},
        {"2100-03-01T00:00:00Z", 4107542400},
        {"2026-12-31T23:59:60Z", 1798761600},
        {"1970-01-01T00:00:01Z", 1},
        {"9999-12-31T23:59:59Z", INT64_C(253402300799)},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char value[64];
        snprintf(value, sizeof value, "\"%s\"", cases[i].text);
        char *doc = mutate("collected_at", value);
        zt_posture p;
        const char *why = NULL;
        if (parse_str(doc, &p, &why) != 0)
            fail_msg("%s: %s", cases[i].text, why);
        if (p.collected_at != cases[i].want)
            fail_msg("%s: %lld", cases[i].text, (long long)p.collected_at);
        free(doc);
    }
}

/* The body limit counts bytes, whitespace included. */
static void test_parse_size_limit(void **state)
{
    size_t base = strlen(BASE);
    char *doc = malloc(ZT_POSTURE_MAX_BYTES + 2);
    assert_non_null(doc);
    memcpy(doc, BASE, base);
    memset(doc + base, ' ', ZT_POSTURE_MAX_BYTES + 1 - base);
    zt_posture p;
    const char *why = NULL;
    assert_int_equal(zt_posture_parse(doc, ZT_POSTURE_MAX_BYTES, &p, &why), 0);
    memset(&p, 0xaa, sizeof p);
    assert_int_equal(zt_posture_parse(doc, ZT_POSTURE_MAX_BYTES + 1, &p, &why), -1);
    assert_string_equal(why, "body: too large");
    assert_true(all_zero(&p));
    free(doc);
}

/* ---- bad reports --------------------------------------------------------------------- */

static void test_parse_bad_fields(void **state)
{
    static const struct {
        const char *path, *value, *why;
    } cases[] = {
        /* unknown keys, at every level */
        {"extra", "1", "extra: unknown key"},
        {"Agent_version", "\"1\"", "Agent_version: unknown key"},
        {"firewall.rulez", "1", "firewall.rulez: unknown key"},
        {"os.ID", "\"debian\"", "os.ID: unknown key"},
        {"updates.last_update", "null", "updates.last_update: unknown key"},
        {"disk_encryption.home", "\"luks\"", "disk_encryption.home: unknown key"},
        {"screen_lock.timeout", "300", "screen_lock.timeout: unknown key"},
        {"antivirus.vendor", "\"x\"", "antivirus.vendor: unknown key"},
        {"os.a\x01"
         "b",
         "1", "os.a?b: unknown key"},
        /* required keys */
        {"agent_version", NULL, "agent_version: missing"},
        {"collected_at", NULL, "collected_at: missing"},
        {"os", NULL, "os: missing"},
        {"os.id", NULL, "os.id: missing"},
        {"os.version_id", NULL, "os.version_id: missing"},
        /* null only where the protocol or the agent use it */
        {"agent_version", "null", "agent_version: must not be null"},
        {"collected_at", "null", "collected_at: must not be null"},
        {"os", "null", "os: must not be null"},
        {"os.id", "null", "os.id: must not be null"},
        {"os.version_id", "null", "os.version_id: must not be null"},
        {"updates", "null", "updates: must not be null"},
        {"disk_encryption.root", "null", "disk_encryption.root: must not be null"},
        {"antivirus", "null", "antivirus: must not be null"},
        {"antivirus.engine", "null", "antivirus.engine: must not be null"},
        {"antivirus.on_access", "null", "antivirus.on_access: must not be null"},
        {"alerts_active", "null", "alerts_active: must not be null"},
        /* objects */
        {"os", "[]", "os: not an object"},
        {"firewall", "true", "firewall: not an object"},
        {"antivirus", "\"clamav\"", "antivirus: not an object"},
        /* strings */
        {"agent_version", "1", "agent_version: not a string"},
        {"agent_version", "\"\"", "agent_version: empty"},
        {"agent_version", "@str:33", "agent_version: too long"},
        {"os.id", "@str:33", "os.id: too long"},
        {"os.id", "\"\"", "os.id: empty"},
        {"os.id", "\"Debian\"", "os.id: only 0-9, a-z, '.', '_' and '-' are allowed"},
        {"os.id", "\"deb ian\"", "os.id: only 0-9, a-z, '.', '_' and '-' are allowed"},
        {"os.version_id", "12", "os.version_id: not a string"},
        {"os.version_id", "\"\"", "os.version_id: empty"},
        {"os.version_id", "@str:33", "os.version_id: too long"},
        {"os.version_id", "\"12/13\"",
         "os.version_id: only 0-9, a-z, '.', '_' and '-' are allowed"},
        {"os.pretty_name", "@str:129", "os.pretty_name: too long"},
        {"os.pretty_name", "[\"x\"]", "os.pretty_name: not a string"},
        {"os.kernel", "@str:129", "os.kernel: too long"},
        {"os.kernel", "\"6.1\\n0\"", "os.kernel: contains control characters"},
        {"os.kernel", "\"6.1\\u007f\"", "os.kernel: contains control characters"},
        {"antivirus.engine", "@str:33", "antivirus.engine: too long"},
        {"antivirus.engine", "false", "antivirus.engine: not a string"},
        {"antivirus.engine_version", "@str:33", "antivirus.engine_version: too long"},
        {"antivirus.engine_version", "107", "antivirus.engine_version: not a string"},
        {"disk_encryption.root", "\"bitlocker\"",
         "disk_encryption.root: must be \"luks\", \"none\" or \"unknown\""},
        {"disk_encryption.root", "\"LUKS\"",
         "disk_encryption.root: must be \"luks\", \"none\" or \"unknown\""},
        {"disk_encryption.root", "true", "disk_encryption.root: not a string"},
        /* booleans */
        {"firewall.active", "1", "firewall.active: not a boolean"},
        {"firewall.active", "\"true\"", "firewall.active: not a boolean"},
        {"screen_lock.enabled", "0", "screen_lock.enabled: not a boolean"},
        {"antivirus.on_access", "\"no\"", "antivirus.on_access: not a boolean"},
        /* integers */
        {"firewall.rules", "-1", "firewall.rules: out of range"},
        {"firewall.rules", "1000001", "firewall.rules: out of range"},
        {"firewall.rules", "42.0", "firewall.rules: not an integer"},
        {"firewall.rules", "1.5", "firewall.rules: not an integer"},
        {"firewall.rules", "\"42\"", "firewall.rules: not an integer"},
        {"firewall.rules", "true", "firewall.rules: not an integer"},
        {"antivirus.signature_version", "1000000001", "antivirus.signature_version: out of range"},
        {"antivirus.signature_version", "-5", "antivirus.signature_version: out of range"},
        {"antivirus.signature_version", "1e3", "antivirus.signature_version: not an integer"},
        {"antivirus.signature_version", "9223372036854775807",
         "antivirus.signature_version: out of range"},
        {"alerts_active", "-1", "alerts_active: out of range"},
        {"alerts_active", "1000001", "alerts_active: out of range"},
        {"alerts_active", "0.0", "alerts_active: not an integer"},
        {"alerts_active", "[]", "alerts_active: not an integer"},
        /* times */
        {"collected_at", "1795428000", "collected_at: not a string"},
        {"updates.last_package_update", "\"yesterday\"",
         "updates.last_package_update: not an RFC 3339 time"},
        {"updates.last_package_update", "0", "updates.last_package_update: not a string"},
        {"antivirus.signature_time", "\"2026-11-22\"",
         "antivirus.signature_time: not an RFC 3339 time"},
        {"antivirus.signature_time", "\"1969-12-31T23:59:59Z\"",
         "antivirus.signature_time: out of range"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *doc = mutate(cases[i].path, cases[i].value);
        zt_posture p;
        memset(&p, 0xaa, sizeof p);
        const char *why = NULL;
        if (parse_str(doc, &p, &why) != -1)
            fail_msg("case %zu (%s) parsed", i, cases[i].path);
        if (why == NULL || strcmp(why, cases[i].why) != 0)
            fail_msg("case %zu: want \"%s\", got \"%s\"", i, cases[i].why, why ? why : "(null)");
        assert_true(all_zero(&p));
        free(doc);
    }
}

static void test_parse_bad_times(void **state)
{
    static const char *const bad[] = {
        "2026-11-23 10:00:00Z",     /* space instead of T */
        "2026-11-23t10:00:00Z",     /* lower-case t */
        "2026-11-23T10:00:00z",     /* lower-case z */
        "2026-11-23T10:00:00",      /* no zone */
        "2026-11-23T10:00Z",        /* no seconds */
        "2026-11-23T10:00:00+0100", /* offset without colon */
        "2026-11-23T10:00:00+01",   /* short offset */
        "2026-11-23T10:00:00+01:00:00",
        "2026-11-23T10:00:00+01:60", /* offset minutes */
        "2026-11-23T10:00:00+24:00", /* offset hours */
        "2026-11-23T10:00:00UTC",
        "2026-11-23T10:00:00.Z", /* empty fraction */
        "2026-11-23T10:00:00.1234567890Z",
        "2026-11-23T10:00:00,5Z", /* comma fraction */
        "2026-11-23T10:00:00Z ",  /* trailing space */
        " 2026-11-23T10:00:00Z",
        "2026-11-23T24:00:00Z",
        "2026-11-23T10:60:00Z",
        "2026-11-23T10:00:61Z",
        "2026-00-10T10:00:00Z",
        "2026-13-10T10:00:00Z",
        "2026-11-00T10:00:00Z",
        "2026-11-31T10:00:00Z",
        "2026-02-29T10:00:00Z", /* not a leap year */
        "2100-02-29T10:00:00Z", /* century, not a leap year */
        "26-11-23T10:00:00Z",
        "+2026-11-23T10:00:00Z",
        "2026-1a-23T10:00:00Z",
        "2026-11-23T1:00:00Z",
        "\xef\xbc\x92\xef\xbc\x90\xef\xbc\x92\xef\xbc\x96-11-23T10:00:00Z", /* full-width */
        "",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        json_t *s = json_string(bad[i]);
        assert_non_null(s);
        char *value = json_dumps(s, JSON_ENCODE_ANY);
        json_decref(s);
        char *doc = mutate("collected_at", value);
        zt_posture p;
        const char *why = NULL;
        assert_int_equal(parse_str(doc, &p, &why), -1);
        if (strcmp(why, "collected_at: not an RFC 3339 time") != 0)
            fail_msg("\"%s\": %s", bad[i], why);
        assert_true(all_zero(&p));
        free(doc);
        free(value);
    }
    /* Well formed but not after the epoch: 0 means unknown. */
    static const char *const range[] = {"1970-01-01T00:00:00Z", "1970-01-01T00:30:00+01:00",
                                        "0000-01-01T00:00:00Z", "1969-12-31T23:59:59Z"};
    for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
        char value[64];
        snprintf(value, sizeof value, "\"%s\"", range[i]);
        char *doc = mutate("collected_at", value);
        zt_posture p;
        const char *why = NULL;
        assert_int_equal(parse_str(doc, &p, &why), -1);
        assert_string_equal(why, "collected_at: out of range");
        free(doc);
    }
}

/* Malformed documents: named "body", never half-parsed. */
static void test_parse_bad_documents(void **state)
{
    static const struct {
        const char *doc;
        const char *why_prefix;
    } cases[] = {
        {"", "body: invalid JSON"},
        {"{", "body: invalid JSON"},
        {"[]", "body: not an object"},
        {"\"posture\"", "body: invalid JSON"},
        {"null", "body: invalid JSON"},
        {"{} {}", "body: invalid JSON"},
        {"{\"agent_version\":\"1\",\"agent_version\":\"2\"}", "body: invalid JSON"},
        {"{\"os\":{\"id\":\"a\",\"id\":\"b\"}}", "body: invalid JSON"},
        {"{\"agent_version\":\"\\u0000\"}", "body: invalid JSON"},
        {"{\"agent_version\":\"\xff\"}", "body: invalid JSON"},
        {"{\"agent_version\":\"\xc3\"}", "body: invalid JSON"},
        {"{\"alerts_active\":99999999999999999999}", "body: invalid JSON"},
        {"{'a':1}", "body: invalid JSON"},
        {"{}", "agent_version: missing"},
        {"{\"x\":[[[[[[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]]]]]}", "x: unknown key"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zt_posture p;
        memset(&p, 0x55, sizeof p);
        const char *why = NULL;
        assert_int_equal(parse_str(cases[i].doc, &p, &why), -1);
        assert_non_null(why);
        if (strncmp(why, cases[i].why_prefix, strlen(cases[i].why_prefix)) != 0)
            fail_msg("case %zu: \"%s\"", i, why);
        assert_true(all_zero(&p));
        for (const char *c = why; *c != '\0'; c++)
            assert_true(*c >= 0x20 && *c < 0x7f);
    }
    /* A duplicate is reported as one, with where it was. */
    zt_posture p;
    const char *why = NULL;
    assert_int_equal(parse_str("{\"os\":{},\n\"os\":{}}", &p, &why), -1);
    assert_non_null(strstr(why, "duplicate"));
    assert_non_null(strstr(why, "line 2"));
    /* Raw bytes with an embedded NUL never reach a C string function. */
    static const char nul[] = "{\"agent_version\":\"a\0b\"}";
    assert_int_equal(zt_posture_parse(nul, sizeof nul - 1, &p, &why), -1);
    assert_true(all_zero(&p));
    assert_int_equal(zt_posture_parse(NULL, 0, &p, &why), -1);
    assert_string_equal(why, "body: missing");
    /* why may be NULL. */
    assert_int_equal(zt_posture_parse("[]", 2, &p, NULL), -1);
}

/* ---- version comparison ---------------------------------------------------------------- */

static void test_version_cmp(void **state)
{
    static const struct {
        const char *a, *b;
        int cmp;
    } cases[] = {
        {"12", "12", 0},
        {"12", "12.0", 0},
        {"12.0.0", "12", 0},
        {"012", "12", 0},
        {"0", "0.0", 0},
        {"0", "00", 0},
        {"1.01", "1.1", 0},
        {"22.04", "22.4", 0},
        {"12", "12.1", -1},
        {"12.1", "13", -1},
        {"12.9", "12.10", -1},
        {"12.10", "12.9", 1},
        {"13", "12.99", 1},
        {"1.2.3", "1.2.4", -1},
        {"1.0.1", "1", 1},
        {"1.0.0.0.1", "1", 1},
        {"9", "10", -1},
        {"0.9", "0.10", -1},
        {"20240101", "20231231", 1},
        {"99999999999999999999", "1", 1},
        {"100000000000000000000", "99999999999999999999", 1},
        {"000000000000000000001", "1", 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int cmp = 42;
        assert_true(zt_posture_version_cmp(cases[i].a, cases[i].b, &cmp));
        if (cmp != cases[i].cmp)
            fail_msg("%s vs %s: %d", cases[i].a, cases[i].b, cmp);
        assert_true(zt_posture_version_cmp(cases[i].b, cases[i].a, &cmp));
        assert_int_equal(cmp, -cases[i].cmp);
    }
    static const char *const bad[] = {"",         ".",    "1.", ".1", "1..2", "a",   "12a",
                                      "bookworm", "1.-2", " 1", "1 ", "+1",   "1,2", "1.2b"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int cmp = 42;
        if (zt_posture_version_cmp(bad[i], "1", &cmp) || zt_posture_version_cmp("1", bad[i], &cmp))
            fail_msg("\"%s\" compared", bad[i]);
        assert_int_equal(cmp, 42);
    }
    int cmp = 42;
    assert_false(zt_posture_version_cmp(NULL, "1", &cmp));
    assert_false(zt_posture_version_cmp("1", NULL, &cmp));
}

/* ---- compliance ------------------------------------------------------------------------ */

#define NOW 1800000000

static zt_posture good_posture(void)
{
    zt_posture p;
    memset(&p, 0, sizeof p);
    snprintf(p.agent_version, sizeof p.agent_version, "0.1.0");
    p.collected_at = NOW - MINUTE;
    snprintf(p.os_id, sizeof p.os_id, "debian");
    snprintf(p.os_version, sizeof p.os_version, "12");
    p.last_package_update = NOW - 3 * DAY;
    snprintf(p.disk_encryption, sizeof p.disk_encryption, "luks");
    p.firewall_active = ZT_YES;
    p.firewall_rules = 12;
    snprintf(p.av_engine, sizeof p.av_engine, "clamav");
    p.av_signature_version = 27450;
    p.av_signature_time = NOW - DAY;
    return p;
}

static zt_compliance_rules all_rules(void)
{
    zt_compliance_rules r;
    memset(&r, 0, sizeof r);
    snprintf(r.min_os[0].os_id, sizeof r.min_os[0].os_id, "debian");
    snprintf(r.min_os[0].min_version, sizeof r.min_os[0].min_version, "12");
    snprintf(r.min_os[1].os_id, sizeof r.min_os[1].os_id, "ubuntu");
    snprintf(r.min_os[1].min_version, sizeof r.min_os[1].min_version, "22.04");
    snprintf(r.min_os[2].os_id, sizeof r.min_os[2].os_id, "debian");
    snprintf(r.min_os[2].min_version, sizeof r.min_os[2].min_version, "99");
    r.n_min_os = 3;
    r.max_signature_age_s = 7 * DAY;
    r.require_disk_encryption = true;
    r.require_firewall = true;
    r.require_antivirus = true;
    r.max_update_age_s = 30 * DAY;
    r.max_report_age_s = 24 * HOUR;
    return r;
}

static void set_os(zt_posture *p, const char *id, const char *version)
{
    snprintf(p->os_id, sizeof p->os_id, "%s", id);
    snprintf(p->os_version, sizeof p->os_version, "%s", version);
}

static void e_none(zt_posture *p)
{
    (void)p;
}
static void e_debian11(zt_posture *p)
{
    set_os(p, "debian", "11");
}
static void e_debian12_1(zt_posture *p)
{
    set_os(p, "debian", "12.1");
}
static void e_debian13(zt_posture *p)
{
    set_os(p, "debian", "13");
}
static void e_debian_codename(zt_posture *p)
{
    set_os(p, "debian", "trixie");
}
static void e_ubuntu2004(zt_posture *p)
{
    set_os(p, "ubuntu", "20.04");
}
static void e_ubuntu2204(zt_posture *p)
{
    set_os(p, "ubuntu", "22.04");
}
static void e_ubuntu2210(zt_posture *p)
{
    set_os(p, "ubuntu", "22.10");
}
static void e_fedora(zt_posture *p)
{
    set_os(p, "fedora", "1");
}
static void e_disk_none(zt_posture *p)
{
    snprintf(p->disk_encryption, sizeof p->disk_encryption, "none");
}
static void e_disk_unknown(zt_posture *p)
{
    snprintf(p->disk_encryption, sizeof p->disk_encryption, "unknown");
}
static void e_fw_off(zt_posture *p)
{
    p->firewall_active = ZT_NO;
}
static void e_fw_unknown(zt_posture *p)
{
    p->firewall_active = ZT_UNKNOWN;
}
static void e_no_av(zt_posture *p)
{
    p->av_engine[0] = '\0';
}
static void e_sigs_9d(zt_posture *p)
{
    p->av_signature_time = NOW - 9 * DAY - 5 * HOUR;
}
static void e_sigs_7d(zt_posture *p)
{
    p->av_signature_time = NOW - 7 * DAY;
}
static void e_sigs_7d_1s(zt_posture *p)
{
    p->av_signature_time = NOW - 7 * DAY - 1;
}
static void e_sigs_unknown(zt_posture *p)
{
    p->av_signature_time = 0;
}
static void e_sigs_future(zt_posture *p)
{
    p->av_signature_time = NOW + HOUR;
}
static void e_sigs_other_engine(zt_posture *p)
{
    snprintf(p->av_engine, sizeof p->av_engine, "sophos");
    p->av_signature_time = NOW - 10 * DAY;
}
static void e_update_45d(zt_posture *p)
{
    p->last_package_update = NOW - 45 * DAY;
}
static void e_update_30d(zt_posture *p)
{
    p->last_package_update = NOW - 30 * DAY;
}
static void e_update_unknown(zt_posture *p)
{
    p->last_package_update = 0;
}

static void test_compliance_rules(void **state)
{
    static const struct {
        const char *name;
        void (*edit)(zt_posture *);
        const char *rule; /* NULL: compliant */
        const char *message;
    } cases[] = {
        {"good", e_none, NULL, NULL},
        {"debian 11", e_debian11, "os_version",
         "Operating system debian 11 is older than the required 12"},
        {"debian 12.1", e_debian12_1, NULL, NULL},
        {"debian 13 (first entry wins)", e_debian13, NULL, NULL},
        {"debian codename", e_debian_codename, "os_version",
         "Operating system debian version \"trixie\" cannot be checked against the required 12"},
        {"ubuntu 20.04", e_ubuntu2004, "os_version",
         "Operating system ubuntu 20.04 is older than the required 22.04"},
        {"ubuntu 22.04", e_ubuntu2204, NULL, NULL},
        {"ubuntu 22.10", e_ubuntu2210, NULL, NULL},
        {"os not listed", e_fedora, NULL, NULL},
        {"disk none", e_disk_none, "disk_encryption",
         "Disk encryption is off — encrypt the system disk"},
        {"disk unknown", e_disk_unknown, "disk_encryption", "Disk encryption status is unknown"},
        {"firewall off", e_fw_off, "firewall", "The firewall is off"},
        {"firewall unknown", e_fw_unknown, "firewall", "Firewall status is unknown"},
        {"no antivirus", e_no_av, "antivirus", "No antivirus engine reported"},
        {"signatures 9 days", e_sigs_9d, "antivirus_signatures",
         "Antivirus signatures are 9 days old — run freshclam"},
        {"signatures at the limit", e_sigs_7d, NULL, NULL},
        {"signatures past the limit", e_sigs_7d_1s, "antivirus_signatures",
         "Antivirus signatures are 7 days old — run freshclam"},
        {"signatures unknown", e_sigs_unknown, "antivirus_signatures",
         "Antivirus signature age is unknown"},
        {"signatures from the future", e_sigs_future, NULL, NULL},
        {"other engine", e_sigs_other_engine, "antivirus_signatures",
         "Antivirus signatures are 10 days old — update them"},
        {"update 45 days", e_update_45d, "updates",
         "The last package update was 45 days ago — install updates"},
        {"update at the limit", e_update_30d, NULL, NULL},
        {"update unknown", e_update_unknown, "updates",
         "The time of the last package update is unknown"},
    };
    zt_compliance_rules r = all_rules();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zt_posture p = good_posture();
        cases[i].edit(&p);
        zt_compliance c;
        memset(&c, 0x77, sizeof c);
        zt_compliance_eval(&r, &p, NOW - MINUTE, NOW, &c);
        if (cases[i].rule == NULL) {
            if (!c.compliant || c.n_failed != 0)
                fail_msg("%s: %s", cases[i].name, c.n_failed ? c.failed[0].message : "?");
            continue;
        }
        if (c.compliant || c.n_failed != 1)
            fail_msg("%s: %zu failures", cases[i].name, c.n_failed);
        assert_string_equal(c.failed[0].rule, cases[i].rule);
        assert_string_equal(c.failed[0].message, cases[i].message);
    }
}

/* With every rule off the worst report passes; with every rule on it fails each in turn. */
static void test_compliance_all_or_nothing(void **state)
{
    zt_posture p = good_posture();
    set_os(&p, "debian", "10");
    e_disk_none(&p);
    e_fw_unknown(&p);
    e_no_av(&p);
    e_sigs_unknown(&p);
    e_update_45d(&p);
    zt_compliance_rules off;
    memset(&off, 0, sizeof off);
    zt_compliance c;
    zt_compliance_eval(&off, &p, NOW - 400 * DAY, NOW, &c);
    assert_true(c.compliant);
    assert_int_equal(c.n_failed, 0);

    zt_compliance_rules on = all_rules();
    zt_compliance_eval(&on, &p, NOW - 30 * HOUR, NOW, &c);
    assert_false(c.compliant);
    static const char *const rules[] = {"posture_stale", "os_version", "disk_encryption",
                                        "firewall",      "antivirus",  "antivirus_signatures",
                                        "updates"};
    assert_int_equal(c.n_failed, sizeof rules / sizeof rules[0]);
    for (size_t i = 0; i < c.n_failed; i++)
        assert_string_equal(c.failed[i].rule, rules[i]);
    assert_string_equal(c.failed[0].message, "The device has not reported for 30 hours");

    /* Rules NULL: nothing is required. */
    zt_compliance_eval(NULL, &p, NOW, NOW, &c);
    assert_true(c.compliant);
}

static void test_compliance_no_report(void **state)
{
    zt_compliance_rules r = all_rules();
    zt_compliance c;
    zt_compliance_eval(&r, NULL, 0, NOW, &c);
    assert_false(c.compliant);
    assert_int_equal(c.n_failed, 1);
    assert_string_equal(c.failed[0].rule, "posture_missing");
    assert_string_equal(c.failed[0].message, "no posture report yet");
    /* Even with every rule off, no report is not compliance. */
    memset(&r, 0, sizeof r);
    zt_compliance_eval(&r, NULL, 0, NOW, &c);
    assert_false(c.compliant);
}

static void test_compliance_staleness(void **state)
{
    static const struct {
        int64_t max, ago;
        const char *message; /* NULL: fresh */
    } cases[] = {
        {24 * HOUR, 30 * HOUR, "The device has not reported for 30 hours"},
        {24 * HOUR, 24 * HOUR, NULL},
        {24 * HOUR, 24 * HOUR + 1, "The device has not reported for 24 hours"},
        {24 * HOUR, 48 * HOUR, "The device has not reported for 2 days"},
        {24 * HOUR, 48 * HOUR - 1, "The device has not reported for 47 hours"},
        {24 * HOUR, -HOUR, NULL}, /* receive time ahead of the clock passed in */
        {0, 400 * DAY, NULL},     /* rule off */
        {1, 2, "The device has not reported for 2 seconds"},
        {1, 119, "The device has not reported for 119 seconds"},
        {1, 120, "The device has not reported for 2 minutes"},
        {1, 2 * HOUR - 1, "The device has not reported for 119 minutes"},
        {1, 2 * HOUR, "The device has not reported for 2 hours"},
        {1, 1000 * DAY, "The device has not reported for 1000 days"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zt_compliance_rules r;
        memset(&r, 0, sizeof r);
        r.max_report_age_s = cases[i].max;
        zt_posture p = good_posture();
        zt_compliance c;
        zt_compliance_eval(&r, &p, NOW - cases[i].ago, NOW, &c);
        if (cases[i].message == NULL) {
            if (!c.compliant)
                fail_msg("case %zu: %s", i, c.failed[0].message);
            continue;
        }
        assert_false(c.compliant);
        assert_int_equal(c.n_failed, 1);
        assert_string_equal(c.failed[0].rule, "posture_stale");
        assert_string_equal(c.failed[0].message, cases[i].message);
    }
}

/* ---- summary --------------------------------------------------------------------------- */

static zt_compliance three_failures(void)
{
    zt_compliance_rules r = all_rules();
    zt_posture p = good_posture();
    e_fw_off(&p);
    e_disk_none(&p);
    e_sigs_9d(&p);
    zt_compliance c;
    zt_compliance_eval(&r, &p, NOW, NOW, &c);
    assert_int_equal(c.n_failed, 3);
    return c;
}

static bool valid_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    while (*u != 0) {
        size_t n = *u < 0x80 ? 1 : (*u & 0xe0) == 0xc0 ? 2 : (*u & 0xf0) == 0xe0 ? 3 : 0;
        if (n == 0)
            return false;
        for (size_t k = 1; k < n; k++)
            if ((u[k] & 0xc0) != 0x80)
                return false;
        u += n;
    }
    return true;
}

static void test_summary(void **state)
{
    static const char full[] = "Disk encryption is off — encrypt the system disk; The firewall is "
                               "off; Antivirus signatures are 9 days old — run freshclam";
    zt_compliance c = three_failures();
    char out[512];
    zt_compliance_summary(&c, out, sizeof out);
    assert_string_equal(out, full);

    zt_compliance none;
    memset(&none, 0, sizeof none);
    none.compliant = true;
    memcpy(out, "x", 2);
    zt_compliance_summary(&none, out, sizeof out);
    assert_string_equal(out, "");
    memcpy(out, "x", 2);
    zt_compliance_summary(NULL, out, sizeof out);
    assert_string_equal(out, "");
    memcpy(out, "x", 2);
    zt_compliance_summary(&c, out, 0);
    assert_string_equal(out, "x");
    zt_compliance_summary(&c, NULL, 10);

    zt_compliance one;
    memset(&one, 0, sizeof one);
    one.n_failed = 1;
    snprintf(one.failed[0].message, sizeof one.failed[0].message, "no posture report yet");
    zt_compliance_summary(&one, out, sizeof out);
    assert_string_equal(out, "no posture report yet");

    /* Exactly fits, one byte short. */
    size_t n = strlen(full);
    zt_compliance_summary(&c, out, n + 1);
    assert_string_equal(out, full);
    zt_compliance_summary(&c, out, n);
    assert_string_equal(out, "Disk encryption is off — encrypt the system disk; The firewall is "
                             "off; Antivirus signatures are 9 days old — run fresh…");

    /* Cut inside the em dash: back to the character before it. */
    size_t dash = (size_t)(strstr(full, "—") - full);
    zt_compliance_summary(&c, out, dash + 1 + 3 + 1); /* keeps one byte of the dash */
    assert_string_equal(out, "Disk encryption is off…");
    /* Cut just after a separator: no dangling "; ". */
    size_t sep = (size_t)(strstr(full, "; The") - full);
    zt_compliance_summary(&c, out, sep + 2 + 3 + 1);
    assert_string_equal(out, "Disk encryption is off — encrypt the system disk…");

    /* Every capacity: bounded, valid UTF-8, a prefix of the whole, marked when cut. */
    for (size_t cap = 1; cap <= n + 1; cap++) {
        memset(out, 'Z', sizeof out);
        zt_compliance_summary(&c, out, cap);
        size_t len = strlen(out);
        assert_true(len < cap);
        assert_true(valid_utf8(out));
        if (cap == n + 1) {
            assert_string_equal(out, full);
            continue;
        }
        size_t body = len;
        if (cap >= 4) {
            assert_true(len >= 3 && strcmp(out + len - 3, "…") == 0);
            body = len - 3;
        }
        assert_memory_equal(out, full, body);
    }
    zt_compliance_summary(&c, out, 1);
    assert_string_equal(out, "");
    zt_compliance_summary(&c, out, 4);
    assert_string_equal(out, "…");
    zt_compliance_summary(&c, out, 3);
    assert_string_equal(out, "Di");
}

/* A full list of the longest messages still joins within the summary's own buffer. */
static void test_summary_full_list(void **state)
{
    zt_compliance c;
    memset(&c, 0, sizeof c);
    c.n_failed = ZT_COMPLIANCE_MAX_FAILED;
    for (size_t i = 0; i < c.n_failed; i++)
        memset(c.failed[i].message, 'm', sizeof c.failed[i].message); /* not terminated */
    char out[4096];
    zt_compliance_summary(&c, out, sizeof out);
    assert_int_equal(strlen(out), ZT_COMPLIANCE_MAX_FAILED * (sizeof c.failed[0].message + 2) - 2);
    char small[512];
    zt_compliance_summary(&c, small, sizeof small);
    assert_int_equal(strlen(small), sizeof small - 1);
}

/* ---- signals: compliance flips and silences ---- */

/* A verdict failing the given rules ("" = compliant); rules are ","-separated ids. */
static zt_compliance verdict(const char *rules)
{
    zt_compliance c;
    memset(&c, 0, sizeof c);
    c.compliant = rules[0] == '\0';
    char buf[256];
    snprintf(buf, sizeof buf, "%s", rules);
    for (char *save = NULL, *r = strtok_r(buf, ",", &save); r != NULL;
         r = strtok_r(NULL, ",", &save)) {
        snprintf(c.failed[c.n_failed].rule, sizeof c.failed[0].rule, "%s", r);
        snprintf(c.failed[c.n_failed].message, sizeof c.failed[0].message, "%s failed", r);
        c.n_failed++;
    }
    return c;
}

static void test_compliance_compare(void **state)
{
    static const struct {
        const char *before; /* NULL: no earlier report */
        const char *now;
        zt_compliance_change want;
        const char *newly; /* rule ids of the BROKE reason */
    } cases[] = {
        {NULL, "", ZT_COMPLIANCE_SAME, ""}, /* first report, compliant */
        {NULL, "disk_encryption", ZT_COMPLIANCE_BROKE, "disk_encryption"}, /* first, failing */
        {"", "", ZT_COMPLIANCE_SAME, ""},
        {"", "disk_encryption", ZT_COMPLIANCE_BROKE, "disk_encryption"},
        {"", "antivirus_signatures,os_version", ZT_COMPLIANCE_BROKE,
         "antivirus_signatures,os_version"},
        {"disk_encryption", "", ZT_COMPLIANCE_RESTORED, ""},
        {"disk_encryption", "disk_encryption", ZT_COMPLIANCE_SAME, ""},   /* no news */
        {"disk_encryption,firewall", "firewall", ZT_COMPLIANCE_SAME, ""}, /* better, not well */
        {"disk_encryption", "disk_encryption,antivirus_signatures", ZT_COMPLIANCE_BROKE,
         "antivirus_signatures"}, /* worse: only the new rule is the reason */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        zt_compliance before = cases[i].before ? verdict(cases[i].before) : verdict("");
        zt_compliance now = verdict(cases[i].now), newly;
        zt_compliance_change got =
            zt_compliance_compare(cases[i].before ? &before : NULL, &now, &newly);
        char ids[256];
        zt_compliance_rules_list(&newly, ids, sizeof ids);
        if (got != cases[i].want || strcmp(ids, cases[i].newly) != 0)
            fail_msg("case %zu: %s -> %s: got %d (%s), want %d (%s)", i,
                     cases[i].before ? cases[i].before : "(none)", cases[i].now, got, ids,
                     cases[i].want, cases[i].newly);
    }
    /* The stored verdict decides: a report judged compliant then, whatever rules say now. */
    zt_compliance before = verdict("disk_encryption"), now = verdict("disk_encryption");
    before.compliant = true;
    assert_int_equal(zt_compliance_compare(&before, &now, NULL), ZT_COMPLIANCE_BROKE);
    char small[20];
    now = verdict("disk_encryption,antivirus_signatures");
    zt_compliance_rules_list(&now, small, sizeof small);
    assert_string_equal(small, "disk_encryption"); /* whole ids only */
}

static void test_silence_began(void **state)
{
    static const struct {
        int64_t last_seen, after, from, to;
        bool want;
    } cases[] = {
        {1000, 60, 0, 1059, false},    /* not yet silent */
        {1000, 60, 0, 1060, true},     /* silent at exactly last_seen + after */
        {1000, 60, 1059, 1060, true},  /* the sweep that crosses it */
        {1000, 60, 1060, 1200, false}, /* the next sweep: signalled once */
        {1000, 60, 1061, 1062, false},
        {0, 60, 0, 5000, false},                   /* never seen and never enrolled */
        {1000, 0, 0, 5000, false},                 /* off */
        {INT64_MAX - 10, 60, 0, INT64_MAX, false}, /* no overflow */
        {1000, 3600, 4500, 4600, true},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        if (zt_device_silence_began(cases[i].last_seen, cases[i].after, cases[i].from,
                                    cases[i].to) != cases[i].want)
            fail_msg("case %zu", i);
    /* Consecutive sweeps over any split of time signal each silence exactly once. */
    for (int64_t step = 1; step <= 37; step += 6) {
        int hits = 0;
        for (int64_t from = 900; from < 1300; from += step)
            hits += zt_device_silence_began(1000, 60, from, from + step);
        assert_int_equal(hits, 1);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_full),
        cmocka_unit_test(test_parse_minimal),
        cmocka_unit_test(test_parse_agent_nulls),
        cmocka_unit_test(test_parse_good_values),
        cmocka_unit_test(test_parse_times),
        cmocka_unit_test(test_parse_size_limit),
        cmocka_unit_test(test_parse_bad_fields),
        cmocka_unit_test(test_parse_bad_times),
        cmocka_unit_test(test_parse_bad_documents),
        cmocka_unit_test(test_version_cmp),
        cmocka_unit_test(test_compliance_rules),
        cmocka_unit_test(test_compliance_all_or_nothing),
        cmocka_unit_test(test_compliance_no_report),
        cmocka_unit_test(test_compliance_staleness),
        cmocka_unit_test(test_summary),
        cmocka_unit_test(test_summary_full_list),
        cmocka_unit_test(test_compliance_compare),
        cmocka_unit_test(test_silence_began),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
