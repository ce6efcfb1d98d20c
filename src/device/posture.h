/* Device posture reports (docs/DEVICE_PROTOCOL.md) and the compliance rules that judge them.
 * Pure functions: parse and validate one JSON report strictly (unknown keys, wrong types,
 * oversized strings, bad times → an error naming the field; nothing half-filled), then
 * evaluate the configured rules into compliant / the list of failed rules in plain words. */
#ifndef ZT_DEVICE_POSTURE_H
#define ZT_DEVICE_POSTURE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_POSTURE_MAX_BYTES (64 * 1024)

typedef enum zt_tristate { ZT_UNKNOWN = 0, ZT_NO, ZT_YES } zt_tristate;

typedef struct zt_posture {
    char agent_version[33];
    int64_t collected_at; /* Unix seconds */
    char os_id[33];       /* os-release ID, lowercase */
    char os_version[33];  /* VERSION_ID */
    char os_pretty[129];
    char kernel[129];
    int64_t last_package_update; /* 0 = unknown */
    char disk_encryption[16];    /* "luks", "none", "unknown" */
    zt_tristate firewall_active;
    int64_t firewall_rules; /* -1 = unknown */
    zt_tristate screen_lock;
    char av_engine[33]; /* "clamav" or "" */
    char av_engine_version[33];
    int64_t av_signature_version; /* 0 = unknown */
    int64_t av_signature_time;    /* 0 = unknown */
    zt_tristate av_on_access;
    int64_t alerts_active;
} zt_posture;

/* 0, or -1 with why (static text naming the field, e.g. "os.version_id: not a string").
 * why points into a thread-local buffer (it can name an unknown key) valid until this thread's
 * next call; it is set to NULL on success. On error *out is all zero. */
int zt_posture_parse(const char *json, size_t len, zt_posture *out, const char **why);

/* Dotted numeric versions, compared per component: "12" < "12.1" < "12.9" < "12.10" < "13";
 * "12" == "12.0" == "012". false (cmp untouched) when either is not digits separated by single
 * dots; otherwise *cmp is -1, 0 or 1. */
bool zt_posture_version_cmp(const char *a, const char *b, int *cmp);

typedef struct zt_compliance_rules {
    struct {
        char os_id[33];
        char min_version[33]; /* compared as dotted numbers: "12" < "12.1" < "13" */
    } min_os[8];
    size_t n_min_os;
    int64_t max_signature_age_s; /* 0 = rule off */
    bool require_disk_encryption;
    bool require_firewall;
    bool require_antivirus;
    int64_t max_update_age_s; /* 0 = rule off */
    int64_t max_report_age_s; /* 0 = rule off; stale posture = non-compliant */
} zt_compliance_rules;

#define ZT_COMPLIANCE_MAX_FAILED 12

typedef struct zt_compliance {
    bool compliant;
    size_t n_failed;
    struct {
        char rule[32];     /* "antivirus_signatures", "disk_encryption", ... */
        char message[160]; /* "Antivirus signatures are 9 days old — run freshclam" */
    } failed[ZT_COMPLIANCE_MAX_FAILED];
} zt_compliance;

/* p == NULL: no report yet (non-compliant: "no posture report yet"). reported_at: when the
 * server received the report (for the staleness rule). */
void zt_compliance_eval(const zt_compliance_rules *rules, const zt_posture *p, int64_t reported_at,
                        int64_t now, zt_compliance *out);

/* "; "-joined messages into out (for pages and logs). */
void zt_compliance_summary(const zt_compliance *c, char *out, size_t cap);
/* ","-joined rule ids ("disk_encryption,antivirus_signatures") into out. */
void zt_compliance_rules_list(const zt_compliance *c, char *out, size_t cap);

/* ---- signals: what a verdict or a silence means for incident response (pure) ---- */

typedef enum zt_compliance_change {
    ZT_COMPLIANCE_SAME = 0, /* nothing to signal */
    ZT_COMPLIANCE_BROKE,    /* became non-compliant, or a rule fails that passed before */
    ZT_COMPLIANCE_RESTORED, /* was non-compliant, is compliant now */
} zt_compliance_change;

/* Compare a new verdict with the one before it: before == NULL when the device had not
 * reported yet (its first non-compliant report breaks compliance; a compliant one changes
 * nothing). newly_failed (nullable) gets the failed rules of `now` that `before` did not
 * fail: the reason of a BROKE. */
zt_compliance_change zt_compliance_compare(const zt_compliance *before, const zt_compliance *now,
                                           zt_compliance *newly_failed);

/* An agent last heard from at `last_seen` (Unix seconds; its enrolment time when it never
 * reported) is silent from last_seen + silent_after_s on. Did that moment fall in (from, to]?
 * Sweeps over consecutive intervals therefore signal each silence exactly once. */
bool zt_device_silence_began(int64_t last_seen, int64_t silent_after_s, int64_t from, int64_t to);

#endif
