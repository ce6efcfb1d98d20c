/* Audit query engine: search and statistics over the hash-chained log (the live file and its
 * rotated audit.log.<first seq> siblings), for the CLI (`ztgate audit search|stats`), the console
 * (dashboard, audit search, reference-id lookup, report-only impact) and the assessment.
 *
 * Lines are not turned into JSON trees: a filter is first tried as a byte search (memmem) on the
 * line, then the few fields it needs are picked out by one pass of a small field scanner; only the
 * hits are handed to the caller. Statistics come from a per-minute rollup: counters kept in memory
 * that follow the log as it grows and across rotation (inode + offset), so a 30-day dashboard is
 * answered from counters. Search never verifies the chain (`ztgate audit verify` does). */
#ifndef ZT_AUDIT_QUERY_H
#define ZT_AUDIT_QUERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/net.h"

/* ---- files ---- */

/* The chain's files oldest first: audit.log.<seq> by that seq, then the live file (listed even
 * when missing). *out is malloc'ed, free with zt_aq_files_free. Count, or negative errno. */
long zt_aq_log_files(const char *live, char ***out);
void zt_aq_files_free(char **files, size_t n);

/* ---- the field scanner ---- */

typedef enum zt_aq_field {
    ZT_AQF_SEQ,
    ZT_AQF_TYPE, /* "checkpoint" */
    ZT_AQF_CLASS,
    ZT_AQF_ACTIVITY,
    ZT_AQF_TIME,
    ZT_AQF_STATUS_ID,
    ZT_AQF_STATUS,
    ZT_AQF_MESSAGE,
    ZT_AQF_REASONS,
    ZT_AQF_STATUS_DETAIL,
    ZT_AQF_DECISION,
    ZT_AQF_RO_DECISION, /* report_only.decision */
    ZT_AQF_POLICIES,    /* "a,b (report-only),c" */
    ZT_AQF_POLICY_NAME, /* policy.name (OIDC, SAML) */
    ZT_AQF_APP,
    ZT_AQF_USER_EMAIL,
    ZT_AQF_USER_UID,
    ZT_AQF_USER_NAME,
    ZT_AQF_ACTOR_EMAIL,
    ZT_AQF_ACTOR_UID,
    ZT_AQF_ACTOR_NAME,
    ZT_AQF_ACTOR_TYPE,
    ZT_AQF_DEVICE,
    ZT_AQF_IP,
    ZT_AQF_REQUEST_ID,  /* metadata.uid */
    ZT_AQF_CORRELATION, /* metadata.correlation_uid */
    ZT_AQF_IS_MFA,
    ZT_AQF_FINDING_TYPE, /* finding_info.types (a string, or the first string of the array) */
    ZT_AQF_SIGNAL_TYPE,  /* unmapped.signal_type */
    ZT_AQF_INC_EVENT,    /* incident.event */
    ZT_AQF_INC_PLAYBOOK,
    ZT_AQF_OPERATION, /* unmapped.operation (account changes) */
    ZT_AQF_API_OP,    /* api.operation (admin API) */
    ZT_AQF_HTTP_CODE, /* http_response.code */
    ZT_AQF_COUNT
} zt_aq_field;

/* A value inside the line: a string's bytes between the quotes (still JSON-escaped when
 * `escaped`), or a number's / literal's text. p == NULL when the record has no such field. */
typedef struct zt_aq_span {
    const char *p;
    uint32_t n;
    bool escaped;
    bool string;
} zt_aq_span;

typedef struct zt_aq_fields {
    zt_aq_span f[ZT_AQF_COUNT];
} zt_aq_fields;

#define ZT_AQ_MAX_DEPTH 32 /* nesting the scanner accepts in a line */

/* Walk one line (one JSON object, no newline) and pick out the fields. false when the line is
 * not a syntactically valid JSON object (nothing else may be trusted then). */
bool zt_aq_scan_line(const char *line, size_t len, zt_aq_fields *out);
/* A span as a NUL-terminated string (escapes decoded, \u0000 and invalid text as U+FFFD) into
 * buf; "" when absent. Returns buf. */
const char *zt_aq_span_str(const zt_aq_span *s, char *buf, size_t cap);
/* A span holding an integer; def when absent or not one. */
int64_t zt_aq_span_int(const zt_aq_span *s, int64_t def);

/* ---- filters ---- */

#define ZT_AQ_MAX_ALLOWED 4096 /* users in a scoped admin's set */

typedef struct zt_aq_filter {
    int64_t since_us, until_us; /* `time`, inclusive; INT64_MIN / INT64_MAX = open */
    const char *user;           /* email (ASCII case ignored) or user id / name, exactly */
    const char *device;         /* device.uid */
    bool have_ip;
    zt_cidr ip;                       /* src_endpoint.ip inside */
    long class_uid;                   /* 0 = any */
    const char *decision;             /* allow, block, challenge, sign_in, error; report_only_X */
    const char *ref;                  /* metadata.uid or metadata.correlation_uid */
    const char *app;                  /* app.name */
    const char *policy;               /* named in `policies` (report-only too) or policy.name */
    const char *text;                 /* anywhere in the line, ASCII case ignored */
    const char *const *allowed_users; /* scoped admins: only records naming one of these user
                                         ids or emails (user.* or actor.user.*) and no user
                                         outside them; NULL = all */
    size_t n_allowed;
    bool allowed_any; /* one of allowed_users named suffices, others may be too (one user's own
                         figures, `ztgate audit stats --user`); never for a scoped admin */
} zt_aq_filter;

/* A filter that matches everything. */
void zt_aq_filter_init(zt_aq_filter *f);
/* A decision name the filter accepts (with or without report_only_). */
bool zt_aq_decision_valid(const char *d);
/* Checkpoints never match. fields may be NULL (then the line is scanned here). */
bool zt_aq_match(const zt_aq_filter *f, const char *line, size_t len, const zt_aq_fields *fields);

/* ---- search ---- */

typedef struct zt_aq_hit {
    uint64_t seq;
    char *line; /* the record as stored, NUL-terminated, no newline */
    size_t len;
} zt_aq_hit;

typedef struct zt_aq_result {
    zt_aq_hit *hits;
    size_t n;
    bool more;            /* there are older (newest_first) / newer matches beyond the limit */
    uint64_t next_cursor; /* pass as cursor to go on: the seq of the last hit */
    uint64_t scanned;     /* lines looked at */
    uint64_t malformed;   /* lines that were not JSON objects */
    uint64_t elapsed_us;
} zt_aq_result;

typedef struct zt_aq_search_opts {
    zt_aq_filter filter;
    size_t limit;      /* 0 = no limit (use with care: every hit is copied) */
    bool oldest_first; /* chain order; default newest first */
    uint64_t cursor;   /* 0 = from the newest (oldest); else only seq < cursor (> cursor) */
    /* Called for each line that is not a JSON object (NULL: only counted). lineno is 1-based
     * in oldest_first order, 0 when not known (newest first). */
    void (*malformed)(void *arg, const char *file, uint64_t lineno);
    void *malformed_arg;
} zt_aq_search_opts;

/* Search the files (oldest first, as zt_aq_log_files lists them). 0, or a negative errno of
 * the first file that could not be read (the others are still searched; results kept). */
int zt_aq_search(const char *const *files, size_t n, const zt_aq_search_opts *o, zt_aq_result *out);
void zt_aq_result_dispose(zt_aq_result *r);

/* Streaming form for the CLI: every match in the order asked, no copy. on_hit returns false to
 * stop. Same return as zt_aq_search; counters in out (hits not filled). */
typedef bool (*zt_aq_hit_fn)(void *arg, const char *line, size_t len, const zt_aq_fields *fields);
int zt_aq_each(const char *const *files, size_t n, const zt_aq_search_opts *o, zt_aq_hit_fn fn,
               void *arg, zt_aq_result *out);

/* ---- statistics ---- */

typedef enum zt_aq_counter {
    ZT_AQC_ALLOW,
    ZT_AQC_BLOCK,
    ZT_AQC_CHALLENGE,
    ZT_AQC_SIGN_IN, /* decision "sign_in": sent to the sign-in page */
    ZT_AQC_ERROR,
    ZT_AQC_OTHER_DECISION,
    ZT_AQC_SIGNIN_OK, /* Authentication, Logon, first factor (is_mfa false) */
    ZT_AQC_SIGNIN_FAIL,
    ZT_AQC_MFA_OK, /* Authentication, Logon, is_mfa true: one MFA prompt answered */
    ZT_AQC_MFA_FAIL,
    ZT_AQC_DETECTIONS,     /* Detection Finding, Create (not the incident's copies) */
    ZT_AQC_RESP_AUTO,      /* playbook actions (incident.event "action") */
    ZT_AQC_RESP_MANUAL,    /* an administrator's response: disable, revoke, reset MFA, ... */
    ZT_AQC_RO_WOULD_BLOCK, /* report_only.decision block */
    ZT_AQC_RECORDS,        /* every record (checkpoints excluded) */
    ZT_AQC_COUNT
} zt_aq_counter;

/* Stable names ("allow", "signin_ok", "mfa_fail", "detections", ...) for JSON and the CLI. */
const char *zt_aq_counter_name(zt_aq_counter c);

/* Counts by name, summed over the period: detections by type, report-only would-block by
 * policy, decisions by app / by applicable policy (outcome in sub), and the busiest user-days
 * of MFA prompts when asked (sub = day number since the epoch). */
typedef enum zt_aq_kind {
    ZT_AQK_DETECTION_TYPE,
    ZT_AQK_RO_BLOCK_POLICY,
    ZT_AQK_APP_DECISION,    /* sub: zt_aq_counter ALLOW..OTHER_DECISION */
    ZT_AQK_POLICY_DECISION, /* sub: same */
    ZT_AQK_USER_MFA_DAY,    /* name: user id (or email); sub: day since 1970-01-01 */
    ZT_AQK_COUNT
} zt_aq_kind;

#define ZT_AQ_NAME_MAX 128 /* bytes kept of a name (longer ones are cut) */

typedef struct zt_aq_named {
    zt_aq_kind kind;
    uint32_t sub;
    uint64_t count;
    char name[ZT_AQ_NAME_MAX + 1];
} zt_aq_named;

typedef struct zt_aq_bucket {
    int64_t start_us;
    uint64_t c[ZT_AQC_COUNT];
} zt_aq_bucket;

#define ZT_AQ_MAX_BUCKETS 4096
#define ZT_AQ_MAX_NAMED 65536

typedef struct zt_aq_stats_req {
    int64_t since_us, until_us; /* [since, until) */
    int64_t bucket_s;           /* bucket width, a multiple of 60 (e.g. 3600, 86400) */
    size_t mfa_top;             /* list the busiest user-days (ZT_AQK_USER_MFA_DAY), at most
                                   1024; 0 = only the MFA figures below */
} zt_aq_stats_req;

typedef struct zt_aq_stats {
    zt_aq_bucket *buckets; /* ceil((until - since) / bucket) of them, oldest first */
    size_t n_buckets;
    uint64_t total[ZT_AQC_COUNT];
    zt_aq_named *named; /* sorted: kind, then count descending, then name */
    size_t n_named;
    /* MFA prompts per user per day over the period: user-days with at least one prompt, the
     * prompts in them, and the busiest user-day. */
    uint64_t mfa_user_days, mfa_prompts, mfa_max_per_user_day;
    uint64_t mfa_users;    /* distinct users with at least one prompt in the period (exact, not
                              limited by mfa_top) */
    uint64_t records_seen; /* records folded into the answer (scan) or held (rollup) */
    uint64_t elapsed_us;
} zt_aq_stats;

void zt_aq_stats_dispose(zt_aq_stats *s);

/* ---- the rollup ---- */

typedef struct zt_aq_rollup zt_aq_rollup;

/* A rollup for the log whose live file is `live` (nothing read yet). scope: only records it
 * accepts are counted (its time range is ignored); NULL = all. The filter's strings are
 * copied. */
zt_aq_rollup *zt_aq_rollup_new(const char *live, const zt_aq_filter *scope);
/* Read what was appended since the last call (the rotated files and the live file on the
 * first call; the rest of a file that was rotated away, then the new live file). Thread-safe;
 * one update at a time, queries go on meanwhile. 0 or negative errno. */
int zt_aq_rollup_update(zt_aq_rollup *r);
/* Fold lines into the rollup directly (tests, fuzzing, a rollup over an explicit file list). */
void zt_aq_rollup_feed(zt_aq_rollup *r, const char *data, size_t len);
int zt_aq_rollup_feed_file(zt_aq_rollup *r, const char *path);
/* Answer from the counters. 0, -EINVAL (bad request), -ENOMEM. */
int zt_aq_rollup_stats(zt_aq_rollup *r, const zt_aq_stats_req *req, zt_aq_stats *out);
/* Records folded in, and bytes of memory the counters use. */
void zt_aq_rollup_size(zt_aq_rollup *r, uint64_t *records, size_t *bytes);
/* Make an update running on another thread stop at its next chunk (and every later one), so
 * a process can end without reading the rest of a large log; the counters are then partial.
 * The rollup is only fit to be freed afterwards. */
void zt_aq_rollup_cancel(zt_aq_rollup *r);
void zt_aq_rollup_free(zt_aq_rollup *r);

/* Statistics by reading the files once (CLI, assessment, scoped admins): a private rollup fed
 * with the files, then asked. scope as for zt_aq_rollup_new. */
int zt_aq_stats_files(const char *const *files, size_t n, const zt_aq_filter *scope,
                      const zt_aq_stats_req *req, zt_aq_stats *out);

/* ---- on an event loop (console) ---- */

struct uv_loop_s;
/* Run the search / the stats on the libuv thread pool; cb runs on the loop's thread with the
 * answer (owned by the callee until cb returns: dispose it there or copy it). rc as the
 * blocking calls. The filter's strings must stay valid until cb. live: the live file (its
 * rotated siblings are found in the worker). rollup NULL for stats = scan the files. */
typedef void (*zt_aq_search_cb)(void *arg, int rc, zt_aq_result *res);
typedef void (*zt_aq_stats_cb)(void *arg, int rc, zt_aq_stats *st);
int zt_aq_search_async(struct uv_loop_s *loop, const char *live, const zt_aq_search_opts *o,
                       zt_aq_search_cb cb, void *arg);
int zt_aq_stats_async(struct uv_loop_s *loop, zt_aq_rollup *rollup, const char *live,
                      const zt_aq_filter *scope, const zt_aq_stats_req *req, zt_aq_stats_cb cb,
                      void *arg);

#endif
