/* Audit event builder: writes one OCSF-aligned JSON object straight into a caller-owned zt_buf,
 * with no allocation per field. Whatever bytes a string holds, the result is one valid JSON line;
 * on any error (buffer limit, misuse) zt_event_end rolls the buffer back so no partial object is
 * ever left behind. It never logs secrets itself: session ids go through zt_event_session_ref. */
#ifndef ZT_AUDIT_EVENT_H
#define ZT_AUDIT_EVENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

/* OCSF class_uid values ztgate emits (category_uid = class_uid / 1000). */
typedef enum zt_event_class {
    ZT_EV_COMPLIANCE_FINDING = 2003,
    ZT_EV_DETECTION_FINDING = 2004,
    ZT_EV_ACCOUNT_CHANGE = 3001,
    ZT_EV_AUTHENTICATION = 3002,
    ZT_EV_AUTHORIZE_SESSION = 3003,
    ZT_EV_NETWORK_ACTIVITY = 4001, /* streams: WebSocket and tunnel open, close, refuse */
    ZT_EV_HTTP_ACTIVITY = 4002,
    ZT_EV_APP_LIFECYCLE = 6002, /* the audit log's own start/stop records */
} zt_event_class;

typedef enum zt_event_severity {
    ZT_SEV_UNKNOWN = 0,
    ZT_SEV_INFO = 1,
    ZT_SEV_LOW = 2,
    ZT_SEV_MEDIUM = 3,
    ZT_SEV_HIGH = 4,
    ZT_SEV_CRITICAL = 5,
    ZT_SEV_FATAL = 6,
    ZT_SEV_OTHER = 99,
} zt_event_severity;

typedef enum zt_event_status {
    ZT_STATUS_UNKNOWN = 0,
    ZT_STATUS_SUCCESS = 1,
    ZT_STATUS_FAILURE = 2,
    ZT_STATUS_OTHER = 99,
} zt_event_status_id;

/* Common activity_id values (each class has its own list; see docs/AUDIT.md). */
enum {
    ZT_ACT_AUTH_LOGON = 1,
    ZT_ACT_AUTH_LOGOFF = 2,
    ZT_ACT_FINDING_CREATE = 1,
    ZT_ACT_FINDING_UPDATE = 2,
    ZT_ACT_FINDING_CLOSE = 3,
    ZT_ACT_APP_START = 3,
    ZT_ACT_APP_STOP = 4,
    ZT_ACT_NET_OPEN = 1, /* Network Activity (4001) */
    ZT_ACT_NET_CLOSE = 2,
    ZT_ACT_NET_FAIL = 4,
    ZT_ACT_NET_REFUSE = 5,
};

/* OCSF HTTP Activity (4002) activity_id of an HTTP method name: Connect 1, Delete 2, Get 3,
 * Head 4, Options 5, Post 6, Put 7, Trace 8, Patch 9 (schema 1.8), Other 99 for the rest. */
unsigned zt_event_http_activity(const char *method);

#define ZT_EVENT_MAX_DEPTH 8  /* nested containers, root included */
#define ZT_EVENT_MAX_KEYS 128 /* keys per event, over all containers */
#define ZT_EVENT_MAX_PATH 128 /* bytes in a dotted key path */
/* Hex characters of a session reference (128 bits of HMAC-SHA256). */
#define ZT_EVENT_SESSION_REF_HEX 32

typedef struct zt_event_frame {
    uint64_t name_hash; /* implicit frames: hash of the path segment that opened them */
    uint32_t id;        /* container id, salts key hashes for duplicate detection */
    uint32_t members;
    bool array;
    bool implicit; /* opened by a dotted path; closed when a path leaves it */
} zt_event_frame;

/* Builder state; lives on the caller's stack. Fields are private. */
typedef struct zt_event {
    zt_buf *buf;
    size_t start; /* the event is buf->data[start .. buf->len) after zt_event_end */
    int err;      /* first error; sticky */
    unsigned depth;
    uint32_t next_id;
    unsigned nkeys;
    bool has_metadata;
    uint64_t keys[ZT_EVENT_MAX_KEYS];
    uint64_t key_bloom[4]; /* one bit per key hash: most new keys skip the scan of `keys` */
    zt_event_frame frame[ZT_EVENT_MAX_DEPTH];
} zt_event;

/* Start an event at the end of buf: class_uid, category_uid, activity_id, type_uid, time (RFC
 * 3339 UTC, µs, from zt_wall_us), severity_id. */
void zt_event_begin(zt_event *ev, zt_buf *buf, zt_event_class cls, unsigned activity,
                    zt_event_severity sev);

/* Fields. `path` is a dotted key ("src_endpoint.location.country") relative to the innermost
 * container opened with zt_event_obj_begin (or the root); intermediate objects open and close
 * by themselves, so write keys grouped by prefix: reopening an object already closed, repeating
 * a key, or using a reserved top-level key (seq, prev, hash, type, metadata) is an error. Inside
 * an array, path must be NULL. A NULL string value writes nothing. All return 0 or a negative
 * errno; errors are sticky, so callers may check only zt_event_end. */
int zt_event_str(zt_event *ev, const char *path, const char *s);
int zt_event_strn(zt_event *ev, const char *path, const char *s, size_t n);
int zt_event_int(zt_event *ev, const char *path, int64_t v);
int zt_event_uint(zt_event *ev, const char *path, uint64_t v);
int zt_event_bool(zt_event *ev, const char *path, bool v);
/* "status" ("Success", "Failure", ...) and "status_id". */
int zt_event_status(zt_event *ev, zt_event_status_id st);
/* metadata {uid, correlation_uid, product {name "ztgate", version}, version (OCSF schema)}.
 * Either id may be NULL. zt_event_end adds metadata with only the product when never called. */
int zt_event_metadata(zt_event *ev, const char *request_uid, const char *correlation_uid);

/* Explicit containers ("policies": [...], an object inside an array); close with zt_event_close. */
int zt_event_obj_begin(zt_event *ev, const char *path);
int zt_event_arr_begin(zt_event *ev, const char *path);
int zt_event_close(zt_event *ev);

/* Close every open container. 0 with the object in buf, or the first error with buf restored to
 * its length at zt_event_begin. */
int zt_event_end(zt_event *ev);

/* Reference a session without logging it: hex of HMAC-SHA256(key, sid) truncated to
 * ZT_EVENT_SESSION_REF_HEX characters, NUL-terminated into out. keylen must be >= 16. */
int zt_event_session_ref(const unsigned char *key, size_t keylen, const char *sid, size_t n,
                         char out[ZT_EVENT_SESSION_REF_HEX + 1]);

#endif
