/* Strict parser for the agent's posture report (docs/DEVICE_PROTOCOL.md, "Posture"). One table
 * per JSON object says which keys exist, their type, bounds and whether they are required; a key
 * not in the table, a wrong type, an oversized string or a malformed time is an error naming the
 * field, and the caller's struct stays zeroed.
 *
 * Required: agent_version, collected_at, os, os.id, os.version_id. Everything else is optional
 * and absent means unknown (times 0, firewall.rules -1, tristates ZT_UNKNOWN, disk "unknown",
 * alerts_active 0). null is accepted only for optional scalars the agent reports as null when it
 * cannot determine them (src/agent/posture.c: "never guessed"): the protocol's firewall.active and
 * screen_lock.enabled, plus os.pretty_name, os.kernel, updates.last_package_update,
 * firewall.rules, antivirus.engine_version, antivirus.signature_version and
 * antivirus.signature_time. null means the same as absent. */
#include "device/posture.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include "lib/time.h"

/* Peer-controlled integers: counts are never negative and never absurd. */
#define ZT_POSTURE_MAX_COUNT 1000000
#define ZT_POSTURE_MAX_SIGVER 1000000000

/* 9999-12-31T23:59:59Z: the largest time RFC 3339's four-digit year can write. */
#define ZT_POSTURE_MAX_TIME INT64_C(253402300799)

typedef enum field_kind {
    F_STR,   /* bounded string into a char array */
    F_OSSTR, /* os-release ID / VERSION_ID: non-empty, [0-9a-z._-] only */
    F_TIME,  /* RFC 3339 string into int64 Unix seconds */
    F_INT,   /* integer within [min, max] into int64 */
    F_TRI,   /* true/false into zt_tristate (null = ZT_UNKNOWN where nullable) */
    F_DISK,  /* "luks" | "none" | "unknown" */
    F_OBJ,   /* nested object with its own table */
} field_kind;

typedef struct field field;
struct field {
    const char *key;
    const char *path; /* as named in errors: "firewall.rules" */
    field_kind kind;
    bool required;
    bool nullable;
    size_t off;  /* into zt_posture; unused for F_OBJ */
    size_t size; /* char array size for strings */
    int64_t min, max;
    const field *sub; /* F_OBJ: NULL-key-terminated table */
};

#define AT(m) offsetof(zt_posture, m), sizeof(((zt_posture *)0)->m)

static const field os_fields[] = {
    {"id", "os.id", F_OSSTR, true, false, AT(os_id), 0, 0, NULL},
    {"version_id", "os.version_id", F_OSSTR, true, false, AT(os_version), 0, 0, NULL},
    {"pretty_name", "os.pretty_name", F_STR, false, true, AT(os_pretty), 0, 0, NULL},
    {"kernel", "os.kernel", F_STR, false, true, AT(kernel), 0, 0, NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

static const field updates_fields[] = {
    {"last_package_update", "updates.last_package_update", F_TIME, false, true,
     AT(last_package_update), 0, 0, NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

static const field disk_fields[] = {
    {"root", "disk_encryption.root", F_DISK, false, false, AT(disk_encryption), 0, 0, NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

static const field firewall_fields[] = {
    {"active", "firewall.active", F_TRI, false, true, AT(firewall_active), 0, 0, NULL},
    {"rules", "firewall.rules", F_INT, false, true, AT(firewall_rules), 0, ZT_POSTURE_MAX_COUNT,
     NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

static const field screen_lock_fields[] = {
    {"enabled", "screen_lock.enabled", F_TRI, false, true, AT(screen_lock), 0, 0, NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

static const field antivirus_fields[] = {
    {"engine", "antivirus.engine", F_STR, false, false, AT(av_engine), 0, 0, NULL},
    {"engine_version", "antivirus.engine_version", F_STR, false, true, AT(av_engine_version), 0, 0,
     NULL},
    {"signature_version", "antivirus.signature_version", F_INT, false, true,
     AT(av_signature_version), 0, ZT_POSTURE_MAX_SIGVER, NULL},
    {"signature_time", "antivirus.signature_time", F_TIME, false, true, AT(av_signature_time), 0, 0,
     NULL},
    {"on_access", "antivirus.on_access", F_TRI, false, false, AT(av_on_access), 0, 0, NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

static const field top_fields[] = {
    {"agent_version", "agent_version", F_STR, true, false, AT(agent_version), 0, 0, NULL},
    {"collected_at", "collected_at", F_TIME, true, false, AT(collected_at), 0, 0, NULL},
    {"os", "os", F_OBJ, true, false, 0, 0, 0, 0, os_fields},
    {"updates", "updates", F_OBJ, false, false, 0, 0, 0, 0, updates_fields},
    {"disk_encryption", "disk_encryption", F_OBJ, false, false, 0, 0, 0, 0, disk_fields},
    {"firewall", "firewall", F_OBJ, false, false, 0, 0, 0, 0, firewall_fields},
    {"screen_lock", "screen_lock", F_OBJ, false, false, 0, 0, 0, 0, screen_lock_fields},
    {"antivirus", "antivirus", F_OBJ, false, false, 0, 0, 0, 0, antivirus_fields},
    {"alerts_active", "alerts_active", F_INT, false, false, AT(alerts_active), 0,
     ZT_POSTURE_MAX_COUNT, NULL},
    {NULL, NULL, 0, false, false, 0, 0, 0, 0, NULL},
};

/* Error text lives here so it can name unknown keys; valid until the thread's next parse. */
static _Thread_local char why_buf[192];

static int fail(const char **why, const char *path, const char *problem)
{
    snprintf(why_buf, sizeof why_buf, "%s: %s", path, problem);
    if (why != NULL)
        *why = why_buf;
    return -1;
}

/* Peer-chosen text (unknown key names, jansson's messages quoting input) goes into logs and
 * pages: keep it printable ASCII and short. */
static void sanitize(char *dst, size_t cap, const char *src)
{
    size_t i = 0;
    for (; src[i] != '\0' && i + 1 < cap; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = c >= 0x20 && c < 0x7f ? (char)c : '?';
    }
    dst[i] = '\0';
}

static int fail_key(const char **why, const char *prefix, const char *key)
{
    char clean[64];
    char path[128];
    sanitize(clean, sizeof clean, key);
    if (prefix != NULL)
        snprintf(path, sizeof path, "%s.%s", prefix, clean);
    else
        snprintf(path, sizeof path, "%s", clean);
    return fail(why, path, "unknown key");
}

static bool os_release_char(char c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || c == '.' || c == '_' || c == '-';
}

static int parse_string(const field *f, json_t *v, zt_posture *p, const char **why)
{
    if (!json_is_string(v))
        return fail(why, f->path, "not a string");
    const char *s = json_string_value(v);
    size_t n = json_string_length(v);
    if (n > f->size - 1)
        return fail(why, f->path, "too long");
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return fail(why, f->path, "contains control characters");
        if (f->kind == F_OSSTR && !os_release_char((char)c))
            return fail(why, f->path, "only 0-9, a-z, '.', '_' and '-' are allowed");
    }
    if (n == 0 && f->required)
        return fail(why, f->path, "empty");
    memcpy((char *)p + f->off, s, n);
    ((char *)p + f->off)[n] = '\0';
    return 0;
}

static int parse_time(const field *f, json_t *v, zt_posture *p, const char **why)
{
    int64_t us;
    if (!json_is_string(v))
        return fail(why, f->path, "not a string");
    if (!zt_parse_rfc3339(json_string_value(v), json_string_length(v), ZT_RFC3339_UPPER, &us))
        return fail(why, f->path, "not an RFC 3339 time");
    int64_t t = us / 1000000; /* the fraction is dropped */
    /* 0 means unknown in zt_posture, so a real time must come after the epoch. */
    if (t <= 0 || t > ZT_POSTURE_MAX_TIME)
        return fail(why, f->path, "out of range");
    memcpy((char *)p + f->off, &t, sizeof t);
    return 0;
}

static int parse_int(const field *f, json_t *v, zt_posture *p, const char **why)
{
    if (!json_is_integer(v))
        return fail(why, f->path, "not an integer");
    int64_t n = (int64_t)json_integer_value(v);
    if (n < f->min || n > f->max)
        return fail(why, f->path, "out of range");
    memcpy((char *)p + f->off, &n, sizeof n);
    return 0;
}

static int parse_tri(const field *f, json_t *v, zt_posture *p, const char **why)
{
    if (!json_is_boolean(v))
        return fail(why, f->path, "not a boolean");
    zt_tristate t = json_is_true(v) ? ZT_YES : ZT_NO;
    memcpy((char *)p + f->off, &t, sizeof t);
    return 0;
}

static int parse_disk(const field *f, json_t *v, zt_posture *p, const char **why)
{
    static const char *const values[] = {"luks", "none", "unknown"};
    if (!json_is_string(v))
        return fail(why, f->path, "not a string");
    for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
        if (strcmp(json_string_value(v), values[i]) == 0 &&
            json_string_length(v) == strlen(values[i])) {
            snprintf((char *)p + f->off, f->size, "%s", values[i]);
            return 0;
        }
    }
    return fail(why, f->path, "must be \"luks\", \"none\" or \"unknown\"");
}

static int parse_object(json_t *obj, const char *prefix, const field *fields, zt_posture *p,
                        const char **why);

static int parse_field(const field *f, json_t *v, zt_posture *p, const char **why)
{
    switch (f->kind) {
    case F_STR:
    case F_OSSTR:
        return parse_string(f, v, p, why);
    case F_TIME:
        return parse_time(f, v, p, why);
    case F_INT:
        return parse_int(f, v, p, why);
    case F_TRI:
        return parse_tri(f, v, p, why);
    case F_DISK:
        return parse_disk(f, v, p, why);
    case F_OBJ:
        return parse_object(v, f->path, f->sub, p, why);
    }
    return fail(why, f->path, "internal error");
}

static const field *find_field(const field *fields, const char *key)
{
    for (const field *f = fields; f->key != NULL; f++)
        if (strcmp(f->key, key) == 0)
            return f;
    return NULL;
}

/* prefix NULL = the top level. Unknown keys are checked first so a typo is reported as such
 * rather than as the missing key it was meant to be. */
static int parse_object(json_t *obj, const char *prefix, const field *fields, zt_posture *p,
                        const char **why)
{
    const char *key;
    json_t *v;
    if (!json_is_object(obj))
        return fail(why, prefix != NULL ? prefix : "body", "not an object");
    json_object_foreach(obj, key, v)
    {
        if (find_field(fields, key) == NULL)
            return fail_key(why, prefix, key);
    }
    for (const field *f = fields; f->key != NULL; f++) {
        v = json_object_get(obj, f->key);
        if (v == NULL) {
            if (f->required)
                return fail(why, f->path, "missing");
            continue;
        }
        if (json_is_null(v)) {
            if (!f->nullable)
                return fail(why, f->path, "must not be null");
            continue; /* the default set in zt_posture_parse: unknown */
        }
        if (parse_field(f, v, p, why) != 0)
            return -1;
    }
    return 0;
}

int zt_posture_parse(const char *json, size_t len, zt_posture *out, const char **why)
{
    zt_posture tmp;
    json_error_t jerr;
    json_t *root = NULL;
    int rc = -1;

    memset(out, 0, sizeof *out);
    if (json == NULL || len > ZT_POSTURE_MAX_BYTES) {
        fail(why, "body", json == NULL ? "missing" : "too large");
        goto out;
    }
    root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        char clean[96];
        char problem[sizeof clean + 48];
        sanitize(clean, sizeof clean, jerr.text);
        snprintf(problem, sizeof problem, "invalid JSON at line %d column %d: %s", jerr.line,
                 jerr.column, clean);
        fail(why, "body", problem);
        goto out;
    }
    memset(&tmp, 0, sizeof tmp);
    tmp.firewall_rules = -1;
    snprintf(tmp.disk_encryption, sizeof tmp.disk_encryption, "unknown");
    if (parse_object(root, NULL, top_fields, &tmp, why) != 0)
        goto out;
    *out = tmp;
    if (why != NULL)
        *why = NULL;
    rc = 0;
out:
    json_decref(root);
    return rc;
}
