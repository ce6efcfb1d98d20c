/* Renderings of audit records for SIEM export: RFC 5424 syslog messages (with a ztgate
 * structured-data element), ArcSight CEF lines and RFC 6587 octet-counting frames. Pure
 * functions writing into a caller's zt_buf. Whatever bytes a record's fields hold, the output is
 * one line: CR, LF, NUL, ESC and other controls never pass through unescaped. */
#ifndef ZT_AUDIT_FORMAT_H
#define ZT_AUDIT_FORMAT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* SD-ID of our element: name@PEN. 32473 is the documentation PEN of RFC 5612 (as in RFC 5424's
 * own examples); swap in a registered number before shipping to customers who key on it. */
#define ZT_FMT_SD_ID "ztgate@32473"
#define ZT_FMT_SD_VALUE_MAX 256   /* bytes of one SD-PARAM value after escaping */
#define ZT_FMT_CEF_VALUE_MAX 2048 /* bytes of one CEF extension value after escaping */
#define ZT_FMT_HOSTNAME_MAX 255   /* RFC 5424 field limits */
#define ZT_FMT_APP_NAME_MAX 48
#define ZT_FMT_PROCID_MAX 128
#define ZT_FMT_MSGID_MAX 32
#define ZT_FMT_FACILITY_DEFAULT 10 /* authpriv */

/* Who sends: fixed per sink. Fields are sanitised to PRINTUSASCII by zt_fmt_origin_init. */
typedef struct zt_fmt_origin {
    char hostname[ZT_FMT_HOSTNAME_MAX + 1];
    char app_name[ZT_FMT_APP_NAME_MAX + 1];
    char procid[24];
    unsigned facility; /* 0..23 */
} zt_fmt_origin;

/* NULL or empty fields become the NILVALUE "-"; facility > 23 becomes authpriv. */
void zt_fmt_origin_init(zt_fmt_origin *o, const char *hostname, const char *app_name, long pid,
                        unsigned facility);

/* One record as written to the audit log (a JSON line without its newline). The parse is kept
 * so each sink formats from fields, not by searching text. Owns the parse, not the line. */
typedef struct zt_fmt_rec {
    struct json_t *root; /* NULL when the line is not a JSON object */
    const char *line;
    size_t len;
} zt_fmt_rec;

/* 0, or -EBADMSG when the line does not parse (r is still usable: formats fall back to the
 * raw line). Dispose either way. */
int zt_fmt_rec_parse(zt_fmt_rec *r, const char *line, size_t len);
void zt_fmt_rec_dispose(zt_fmt_rec *r);

/* OCSF severity_id to syslog severity (1→6 ... 6→1; unknown/other → 5 notice) and to CEF
 * severity (1→1, 2→3, 3→5, 4→7, 5→9, 6→10; unknown/other → 5). */
unsigned zt_fmt_syslog_severity(long long ocsf_severity_id);
unsigned zt_fmt_cef_severity(long long ocsf_severity_id);
/* PRIVAL = facility * 8 + severity (0..191). */
unsigned zt_fmt_pri(unsigned facility, unsigned severity);
/* Facility number for an RFC 5424 / syslog(3) name ("auth", "authpriv", "local0"), or -1. */
int zt_fmt_facility(const char *name);

/* Append `<PRI>1 TIMESTAMP HOSTNAME APP-NAME PROCID MSGID [ztgate@32473 ...] MSG`. MSG is the
 * record line itself (byte for byte, so a collector can recheck the hash chain) or, with cef,
 * the CEF line. No BOM (see docs/AUDIT.md). 0 or negative errno; out unchanged on error. */
int zt_fmt_syslog(zt_buf *out, const zt_fmt_origin *o, const zt_fmt_rec *r, bool cef);
/* Append `CEF:0|ztgate|ztgate|VERSION|<class_uid>:<activity_id>|<name>|<0-10>|<extension>`. */
int zt_fmt_cef(zt_buf *out, const zt_fmt_rec *r, const char *dvchost);
/* Append `LEN SP MSG` (RFC 6587 §3.4.1, RFC 5425 §4.3). */
int zt_fmt_frame(zt_buf *out, const char *msg, size_t len);
/* Largest cut <= max that does not split a UTF-8 sequence of s[0..len). */
size_t zt_fmt_utf8_cut(const char *s, size_t len, size_t max);

/* Escapers, exposed for tests. Invalid UTF-8, C0/C1 controls, DEL and U+2028/9 become U+FFFD
 * except where noted; output is cut at a character boundary at `max` bytes.
 * SD-PARAM value: '"', '\' and ']' get a backslash (RFC 5424 §6.3.3).
 * CEF header field: '|' and '\' get a backslash.
 * CEF extension value: '=' and '\' get a backslash, CR and LF become the two characters \r \n. */
int zt_fmt_sd_value(zt_buf *out, const char *s, size_t n, size_t max);
int zt_fmt_cef_header(zt_buf *out, const char *s, size_t n, size_t max);
int zt_fmt_cef_value(zt_buf *out, const char *s, size_t n, size_t max);

#endif
