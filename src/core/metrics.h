/* Process-wide metrics for the Prometheus endpoint (/metrics on the admin listener): counters
 * and gauges any thread updates with relaxed atomics, and the text exposition format 0.0.4.
 * Updating never takes a lock, allocates or fails on the request path; it must never hold
 * anything a peer chooses as a label (IPs, emails, paths): labels are fixed sets or names from
 * the configuration, and every dynamic family has a cap.
 *
 * Fixed label sets are X-macro lists below. Dynamic names (policies, detection types) go into a
 * capped family: lookups are lock-free over an open-addressing table; only the first sighting
 * of a name takes the family mutex to insert it. Names stay until exit (a policy removed by a
 * reload keeps its last count, as Prometheus expects of a counter). */
#ifndef ZT_CORE_METRICS_H
#define ZT_CORE_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"

#define ZT_METRICS_LABELS_MAX 10240 /* distinct names in one dynamic family (≥ ZT_POLICY_MAX) */
#define ZT_METRICS_LABEL_MAX 128    /* bytes of one dynamic label value; longer ones dropped */

/* ---- fixed label sets: X(ENUM_SUFFIX, "label value") ---- */

#define ZT_METRIC_STATUS_CLASSES(X)                                                                \
    X(1XX, "1xx")                                                                                  \
    X(2XX, "2xx")                                                                                  \
    X(3XX, "3xx")                                                                                  \
    X(4XX, "4xx")                                                                                  \
    X(5XX, "5xx")

/* The first three have zt_outcome's values (policy/policy.h): ALLOW 0, CHALLENGE 1, BLOCK 2. */
#define ZT_METRIC_DECISIONS(X)                                                                     \
    X(ALLOW, "allow")                                                                              \
    X(CHALLENGE, "challenge")                                                                      \
    X(BLOCK, "block")                                                                              \
    X(REPORT_ONLY_BLOCK, "report_only_block")                                                      \
    X(REPORT_ONLY_CHALLENGE, "report_only_challenge")

#define ZT_METRIC_SIGN_INS(X)                                                                      \
    X(SUCCESS, "success")                                                                          \
    X(FAILURE, "failure")                                                                          \
    X(THROTTLED, "throttled")                                                                      \
    X(MFA_SUCCESS, "mfa_success")                                                                  \
    X(MFA_FAILURE, "mfa_failure")

#define ZT_METRIC_COMPLIANCE(X)                                                                    \
    X(COMPLIANT, "compliant")                                                                      \
    X(NONCOMPLIANT, "noncompliant")                                                                \
    X(UNKNOWN, "unknown")

/* TLS handshakes towards https:// upstreams. */
#define ZT_METRIC_UPSTREAM_TLS(X)                                                                  \
    X(FULL, "full")                                                                                \
    X(RESUMED, "resumed")                                                                          \
    X(FAILED, "failed")
#define ZT_METRIC_ENUM_STATUS(id, text) ZT_M_STATUS_##id,
#define ZT_METRIC_ENUM_DECISION(id, text) ZT_M_DECISION_##id,
#define ZT_METRIC_ENUM_SIGN_IN(id, text) ZT_M_SIGN_IN_##id,
#define ZT_METRIC_ENUM_COMPLIANCE(id, text) ZT_M_DEVICE_##id,
typedef enum zt_metric_status_class {
    ZT_METRIC_STATUS_CLASSES(ZT_METRIC_ENUM_STATUS) ZT_M_STATUS_N
} zt_metric_status_class;
typedef enum zt_metric_outcome {
    ZT_METRIC_DECISIONS(ZT_METRIC_ENUM_DECISION) ZT_M_DECISION_N
} zt_metric_outcome;
typedef enum zt_metric_sign_in_result {
    ZT_METRIC_SIGN_INS(ZT_METRIC_ENUM_SIGN_IN) ZT_M_SIGN_IN_N
} zt_metric_sign_in_result;
#define ZT_METRIC_ENUM_UPSTREAM_TLS(id, text) ZT_M_UPSTREAM_TLS_##id,
typedef enum zt_metric_upstream_tls_result {
    ZT_METRIC_UPSTREAM_TLS(ZT_METRIC_ENUM_UPSTREAM_TLS) ZT_M_UPSTREAM_TLS_N
} zt_metric_upstream_tls_result;
typedef enum zt_metric_compliance {
    ZT_METRIC_COMPLIANCE(ZT_METRIC_ENUM_COMPLIANCE) ZT_M_DEVICE_N
} zt_metric_compliance;

/* ---- updates: any thread, lock-free, never fail ---- */

/* One answered request (proxied or local) by its HTTP status; statuses outside 100..599 are
 * not counted. */
void zt_metric_request(int status);
/* One enforced decision; outcome is a zt_outcome (0 allow, 1 challenge, 2 block). */
void zt_metric_decision(int outcome);
/* What report-only policies would have done (zt_policy_result.report_only_outcome): challenge
 * and block are counted as report_only_*, allow is not counted. */
void zt_metric_report_only(int outcome);
/* ztgate_policy_matches_total: policy `name`'s counter, created at 0 (names are from the
 * configuration: each config generation looks its policies up once, taking a mutex for a new
 * one); NULL when the family is full or the name unusable. Valid until zt_metrics_reset.
 * zt_metric_policy_count adds one decision in which the policy applied; NULL counts a label
 * dropped. */
typedef _Atomic uint64_t zt_metric_counter;
zt_metric_counter *zt_metric_policy_counter(const char *name);
void zt_metric_policy_count(zt_metric_counter *c);
void zt_metric_sign_in(zt_metric_sign_in_result result);
/* A detection fired; type is a fixed detection name ("impossible_travel"), never user input. */
void zt_metric_detection(const char *type);
/* Device inventory by compliance, set by whoever counts devices. */
void zt_metric_devices_set(zt_metric_compliance c, uint64_t n);
/* One TLS handshake with an https:// upstream ended: full, resumed or failed. */
void zt_metric_upstream_tls(zt_metric_upstream_tls_result result);
/* Client connections open now: +1 on accept, -1 on close. */
void zt_metric_conn_open(void);
void zt_metric_conn_close(void);
/* Streams (kind 0 websocket, 1 tunnel: zt_stream_kind): opened; closed with their payload
 * bytes (in: client to upstream); one continuous re-evaluation. */
#define ZT_M_STREAM_KIND_N 2
void zt_metric_stream_open(unsigned kind);
void zt_metric_stream_close(unsigned kind, uint64_t bytes_in, uint64_t bytes_out);
void zt_metric_stream_evaluation(void);
/* One audit fdatasync that took `us` microseconds (histogram ztgate_audit_fsync_seconds). */
void zt_metric_audit_fsync_us(uint64_t us);

/* ---- scraping ---- */

/* Values the caller reads from other modules at scrape time (core depends on neither the
 * store nor the audit log). A family whose have_* is false is left out. */
typedef struct zt_metrics_extra {
    bool have_sessions;
    uint64_t active_sessions;
    bool have_audit;
    uint64_t audit_queue_depth;
    uint64_t audit_records; /* records written, checkpoints included */
    uint64_t audit_checkpoints;
    uint64_t audit_drops;
    uint64_t audit_bytes;
    uint64_t audit_rotations;
    uint64_t audit_fsync_max_us;
    bool audit_failed;
} zt_metrics_extra;

/* Append every metric in the text exposition format 0.0.4 to out. 0, or -ENOMEM / -E2BIG from
 * the buffer (out then holds a partial document: do not send it). */
int zt_metrics_render(zt_buf *out, const zt_metrics_extra *x);

/* Append s as a label value: \ " and newline escaped as \\ \" \n. */
int zt_metrics_escape_label(zt_buf *out, const char *s, size_t n);

/* Sign-ins whose result is `r` so far (tests, status pages). */
uint64_t zt_metrics_sign_ins(zt_metric_sign_in_result r);

/* Forget every value and dynamic name. Tests only: nothing may update metrics meanwhile. */
void zt_metrics_reset(void);

#endif
