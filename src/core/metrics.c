/* The metrics registry: static atomics for fixed label sets, capped lock-free-read hash tables
 * for dynamic names, and the Prometheus text renderer. */
#include "core/metrics.h"

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ZT_VERSION
#define ZT_VERSION "0.0.0"
#endif

#define RELAXED memory_order_relaxed
#define DYN_SLOTS 16384u /* power of two; load stays under 2/3 at ZT_METRICS_LABELS_MAX */

_Static_assert((DYN_SLOTS & (DYN_SLOTS - 1)) == 0, "DYN_SLOTS must be a power of two");
_Static_assert(ZT_METRICS_LABELS_MAX * 3 <= DYN_SLOTS * 2, "dynamic table too full");

#define ZT_METRIC_TEXT(id, text) text,
static const char *const status_text[] = {ZT_METRIC_STATUS_CLASSES(ZT_METRIC_TEXT)};
static const char *const decision_text[] = {ZT_METRIC_DECISIONS(ZT_METRIC_TEXT)};
static const char *const sign_in_text[] = {ZT_METRIC_SIGN_INS(ZT_METRIC_TEXT)};
static const char *const compliance_text[] = {ZT_METRIC_COMPLIANCE(ZT_METRIC_TEXT)};
static const char *const upstream_tls_text[] = {ZT_METRIC_UPSTREAM_TLS(ZT_METRIC_TEXT)};

/* ---- dynamic families ---- */

typedef struct dyn_slot {
    _Atomic(char *) name; /* set once (release), never changed until reset */
    _Atomic uint64_t value;
} dyn_slot;

typedef struct dyn_family {
    const char *metric, *help, *label;
    pthread_mutex_t mu;        /* serialises inserts */
    _Atomic(dyn_slot *) slots; /* DYN_SLOTS entries, allocated at the first insert */
    size_t used;               /* under mu */
    _Atomic uint64_t dropped;  /* names refused: family full, too long, or out of memory */
} dyn_family;

static dyn_family policy_family = {
    .metric = "ztgate_policy_matches_total",
    .help = "Decisions in which the policy applied (enforced or report-only).",
    .label = "policy",
    .mu = PTHREAD_MUTEX_INITIALIZER,
};
static dyn_family detection_family = {
    .metric = "ztgate_detections_total",
    .help = "Risk detections raised, by detection type.",
    .label = "type",
    .mu = PTHREAD_MUTEX_INITIALIZER,
};

/* ---- fixed metrics ---- */

/* Upper bounds of the fsync histogram in microseconds, and the same as Prometheus text. */
static const uint64_t fsync_le_us[] = {100,   250,   500,    1000,   2500,   5000,    10000,
                                       25000, 50000, 100000, 250000, 500000, 1000000, 2500000};
static const char *const fsync_le_text[] = {"0.0001", "0.00025", "0.0005", "0.001", "0.0025",
                                            "0.005",  "0.01",    "0.025",  "0.05",  "0.1",
                                            "0.25",   "0.5",     "1",      "2.5"};
#define FSYNC_BUCKETS (sizeof(fsync_le_us) / sizeof(fsync_le_us[0]))
_Static_assert(sizeof(fsync_le_text) / sizeof(fsync_le_text[0]) == FSYNC_BUCKETS,
               "one text per fsync bucket");

static struct {
    _Atomic uint64_t requests[ZT_M_STATUS_N];
    _Atomic uint64_t decisions[ZT_M_DECISION_N];
    _Atomic uint64_t sign_ins[ZT_M_SIGN_IN_N];
    _Atomic uint64_t devices[ZT_M_DEVICE_N];
    _Atomic uint64_t upstream_tls[ZT_M_UPSTREAM_TLS_N];
    _Atomic int64_t connections;
    _Atomic int64_t streams_open[ZT_M_STREAM_KIND_N];
    _Atomic uint64_t stream_closes[ZT_M_STREAM_KIND_N];
    _Atomic uint64_t stream_bytes_in[ZT_M_STREAM_KIND_N], stream_bytes_out[ZT_M_STREAM_KIND_N];
    _Atomic uint64_t stream_evaluations;
    _Atomic uint64_t fsync_buckets[FSYNC_BUCKETS + 1]; /* per bucket, not cumulative; last +Inf */
    _Atomic uint64_t fsync_sum_us;
} m;

static void add(_Atomic uint64_t *c)
{
    atomic_fetch_add_explicit(c, 1, RELAXED);
}

void zt_metric_request(int status)
{
    if (status >= 100 && status <= 599)
        add(&m.requests[status / 100 - 1]);
}

void zt_metric_decision(int outcome)
{
    if (outcome >= ZT_M_DECISION_ALLOW && outcome <= ZT_M_DECISION_BLOCK)
        add(&m.decisions[outcome]);
}

void zt_metric_report_only(int outcome)
{
    if (outcome == ZT_M_DECISION_CHALLENGE)
        add(&m.decisions[ZT_M_DECISION_REPORT_ONLY_CHALLENGE]);
    else if (outcome == ZT_M_DECISION_BLOCK)
        add(&m.decisions[ZT_M_DECISION_REPORT_ONLY_BLOCK]);
}

void zt_metric_sign_in(zt_metric_sign_in_result result)
{
    if ((unsigned)result < ZT_M_SIGN_IN_N)
        add(&m.sign_ins[result]);
}

uint64_t zt_metrics_sign_ins(zt_metric_sign_in_result r)
{
    return (unsigned)r < ZT_M_SIGN_IN_N ? atomic_load_explicit(&m.sign_ins[r], RELAXED) : 0;
}

void zt_metric_devices_set(zt_metric_compliance c, uint64_t n)
{
    if ((unsigned)c < ZT_M_DEVICE_N)
        atomic_store_explicit(&m.devices[c], n, RELAXED);
}

void zt_metric_upstream_tls(zt_metric_upstream_tls_result result)
{
    if ((unsigned)result < ZT_M_UPSTREAM_TLS_N)
        add(&m.upstream_tls[result]);
}

void zt_metric_conn_open(void)
{
    atomic_fetch_add_explicit(&m.connections, 1, RELAXED);
}

void zt_metric_conn_close(void)
{
    atomic_fetch_sub_explicit(&m.connections, 1, RELAXED);
}

void zt_metric_audit_fsync_us(uint64_t us)
{
    size_t i = 0;
    while (i < FSYNC_BUCKETS && us > fsync_le_us[i])
        i++;
    add(&m.fsync_buckets[i]);
    atomic_fetch_add_explicit(&m.fsync_sum_us, us, RELAXED);
}

/* ---- dynamic family lookup ---- */

static uint64_t fnv1a(const char *s, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

/* The counter for name in table t, or NULL when absent; *free_at gets the empty slot ending
 * the probe (DYN_SLOTS when the table is full). Safe without the mutex: slots only ever go
 * from empty to named. */
static _Atomic uint64_t *dyn_probe(dyn_slot *t, const char *name, size_t n, uint64_t h,
                                   size_t *free_at)
{
    *free_at = DYN_SLOTS;
    for (size_t i = 0; i < DYN_SLOTS; i++) {
        size_t at = (size_t)(h + i) & (DYN_SLOTS - 1);
        const char *s = atomic_load_explicit(&t[at].name, memory_order_acquire);
        if (s == NULL) {
            *free_at = at;
            return NULL;
        }
        if (strncmp(s, name, n) == 0 && s[n] == '\0')
            return &t[at].value;
    }
    return NULL;
}

static _Atomic uint64_t *dyn_insert(dyn_family *f, const char *name, size_t n, uint64_t h)
{
    _Atomic uint64_t *c = NULL;
    pthread_mutex_lock(&f->mu);
    dyn_slot *t = atomic_load_explicit(&f->slots, memory_order_acquire);
    if (t == NULL) {
        t = calloc(DYN_SLOTS, sizeof(*t));
        if (t != NULL)
            atomic_store_explicit(&f->slots, t, memory_order_release);
    }
    size_t at = DYN_SLOTS;
    if (t != NULL)
        c = dyn_probe(t, name, n, h, &at); /* another thread may have added it meanwhile */
    if (c == NULL && at < DYN_SLOTS && f->used < ZT_METRICS_LABELS_MAX) {
        char *copy = strndup(name, n);
        if (copy != NULL) {
            atomic_store_explicit(&t[at].name, copy, memory_order_release);
            f->used++;
            c = &t[at].value;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return c;
}

static void dyn_inc(dyn_family *f, const char *name)
{
    size_t n = name != NULL ? strnlen(name, ZT_METRICS_LABEL_MAX + 1) : 0;
    if (n == 0 || n > ZT_METRICS_LABEL_MAX) {
        add(&f->dropped);
        return;
    }
    uint64_t h = fnv1a(name, n);
    size_t at;
    dyn_slot *t = atomic_load_explicit(&f->slots, memory_order_acquire);
    _Atomic uint64_t *c = t != NULL ? dyn_probe(t, name, n, h, &at) : NULL;
    if (c == NULL)
        c = dyn_insert(f, name, n, h);
    if (c == NULL)
        add(&f->dropped);
    else
        add(c);
}

static _Atomic uint64_t *dyn_counter(dyn_family *f, const char *name)
{
    size_t n = name != NULL ? strnlen(name, ZT_METRICS_LABEL_MAX + 1) : 0;
    if (n == 0 || n > ZT_METRICS_LABEL_MAX)
        return NULL;
    uint64_t h = fnv1a(name, n);
    size_t at;
    dyn_slot *t = atomic_load_explicit(&f->slots, memory_order_acquire);
    _Atomic uint64_t *c = t != NULL ? dyn_probe(t, name, n, h, &at) : NULL;
    return c != NULL ? c : dyn_insert(f, name, n, h);
}

zt_metric_counter *zt_metric_policy_counter(const char *name)
{
    return dyn_counter(&policy_family, name);
}

void zt_metric_policy_count(zt_metric_counter *c)
{
    add(c != NULL ? c : &policy_family.dropped);
}

void zt_metric_detection(const char *type)
{
    dyn_inc(&detection_family, type);
}

static void dyn_reset(dyn_family *f)
{
    pthread_mutex_lock(&f->mu);
    dyn_slot *t = atomic_exchange(&f->slots, NULL);
    for (size_t i = 0; t != NULL && i < DYN_SLOTS; i++)
        free(atomic_load(&t[i].name));
    free(t);
    f->used = 0;
    atomic_store(&f->dropped, 0);
    pthread_mutex_unlock(&f->mu);
}

static const char *const stream_kind_text[ZT_M_STREAM_KIND_N] = {"websocket", "tunnel"};

void zt_metric_stream_open(unsigned kind)
{
    if (kind < ZT_M_STREAM_KIND_N)
        atomic_fetch_add_explicit(&m.streams_open[kind], 1, RELAXED);
}

void zt_metric_stream_close(unsigned kind, uint64_t bytes_in, uint64_t bytes_out)
{
    if (kind >= ZT_M_STREAM_KIND_N)
        return;
    atomic_fetch_sub_explicit(&m.streams_open[kind], 1, RELAXED);
    add(&m.stream_closes[kind]);
    atomic_fetch_add_explicit(&m.stream_bytes_in[kind], bytes_in, RELAXED);
    atomic_fetch_add_explicit(&m.stream_bytes_out[kind], bytes_out, RELAXED);
}

void zt_metric_stream_evaluation(void)
{
    add(&m.stream_evaluations);
}

void zt_metrics_reset(void)
{
    dyn_reset(&policy_family);
    dyn_reset(&detection_family);
    for (size_t i = 0; i < ZT_M_STATUS_N; i++)
        atomic_store(&m.requests[i], 0);
    for (size_t i = 0; i < ZT_M_DECISION_N; i++)
        atomic_store(&m.decisions[i], 0);
    for (size_t i = 0; i < ZT_M_SIGN_IN_N; i++)
        atomic_store(&m.sign_ins[i], 0);
    for (size_t i = 0; i < ZT_M_DEVICE_N; i++)
        atomic_store(&m.devices[i], 0);
    for (size_t i = 0; i < ZT_M_STREAM_KIND_N; i++) {
        atomic_store(&m.stream_closes[i], 0);
        atomic_store(&m.stream_bytes_in[i], 0);
        atomic_store(&m.stream_bytes_out[i], 0);
    }
    atomic_store(&m.stream_evaluations, 0);
    for (size_t i = 0; i <= FSYNC_BUCKETS; i++)
        atomic_store(&m.fsync_buckets[i], 0);
    atomic_store(&m.connections, 0);
    atomic_store(&m.fsync_sum_us, 0);
}

/* ---- rendering ---- */

/* A sticky-error writer: after the first failure every call is a no-op. */
typedef struct out {
    zt_buf *b;
    int rc;
} out;

static void emit(out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void emit(out *o, const char *fmt, ...)
{
    if (o->rc != 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    o->rc = zt_buf_vprintf(o->b, fmt, ap);
    va_end(ap);
}

int zt_metrics_escape_label(zt_buf *b, const char *s, size_t n)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        if (s[i] == '\\')
            rc = zt_buf_append(b, "\\\\", 2);
        else if (s[i] == '"')
            rc = zt_buf_append(b, "\\\"", 2);
        else if (s[i] == '\n')
            rc = zt_buf_append(b, "\\n", 2);
        else
            rc = zt_buf_append_char(b, s[i]);
    }
    return rc;
}

static void head(out *o, const char *name, const char *type, const char *help)
{
    emit(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* name{label="value"} v; value escaped. */
static void sample(out *o, const char *name, const char *label, const char *value, uint64_t v)
{
    emit(o, "%s{%s=\"", name, label);
    if (o->rc == 0)
        o->rc = zt_metrics_escape_label(o->b, value, strlen(value));
    emit(o, "\"} %llu\n", (unsigned long long)v);
}

static void plain(out *o, const char *name, const char *type, const char *help, uint64_t v)
{
    head(o, name, type, help);
    emit(o, "%s %llu\n", name, (unsigned long long)v);
}

static void fixed(out *o, const char *name, const char *type, const char *help, const char *label,
                  const char *const *texts, _Atomic uint64_t *vals, size_t n)
{
    head(o, name, type, help);
    for (size_t i = 0; i < n; i++)
        sample(o, name, label, texts[i], atomic_load_explicit(&vals[i], RELAXED));
}

typedef struct dyn_row {
    const char *name;
    uint64_t value;
} dyn_row;

static int by_name(const void *a, const void *b)
{
    return strcmp(((const dyn_row *)a)->name, ((const dyn_row *)b)->name);
}

/* Rows sorted by name so scrapes are stable; the mutex keeps reset away while we read. */
static void dynamic(out *o, dyn_family *f)
{
    head(o, f->metric, "counter", f->help);
    pthread_mutex_lock(&f->mu);
    dyn_slot *t = atomic_load_explicit(&f->slots, memory_order_acquire);
    dyn_row *rows = f->used > 0 ? calloc(f->used, sizeof(*rows)) : NULL;
    size_t n = 0;
    if (f->used > 0 && rows == NULL && o->rc == 0)
        o->rc = -ENOMEM;
    for (size_t i = 0; rows != NULL && t != NULL && i < DYN_SLOTS && n < f->used; i++) {
        const char *s = atomic_load_explicit(&t[i].name, memory_order_acquire);
        if (s != NULL)
            rows[n++] = (dyn_row){s, atomic_load_explicit(&t[i].value, RELAXED)};
    }
    if (n > 1)
        qsort(rows, n, sizeof(*rows), by_name);
    for (size_t i = 0; i < n; i++)
        sample(o, f->metric, f->label, rows[i].name, rows[i].value);
    pthread_mutex_unlock(&f->mu);
    free(rows);
}

static void fsync_histogram(out *o)
{
    const char *name = "ztgate_audit_fsync_seconds";
    head(o, name, "histogram", "Time spent in audit log fdatasync.");
    uint64_t cum = 0;
    for (size_t i = 0; i < FSYNC_BUCKETS; i++) {
        cum += atomic_load_explicit(&m.fsync_buckets[i], RELAXED);
        emit(o, "%s_bucket{le=\"%s\"} %llu\n", name, fsync_le_text[i], (unsigned long long)cum);
    }
    cum += atomic_load_explicit(&m.fsync_buckets[FSYNC_BUCKETS], RELAXED);
    uint64_t sum = atomic_load_explicit(&m.fsync_sum_us, RELAXED);
    /* _count is the +Inf bucket, so the two always agree within one scrape. */
    emit(o, "%s_bucket{le=\"+Inf\"} %llu\n", name, (unsigned long long)cum);
    emit(o, "%s_sum %llu.%06llu\n", name, (unsigned long long)(sum / 1000000),
         (unsigned long long)(sum % 1000000));
    emit(o, "%s_count %llu\n", name, (unsigned long long)cum);
}

static void audit_metrics(out *o, const zt_metrics_extra *x)
{
    plain(o, "ztgate_audit_queue_depth", "gauge", "Audit events queued or being written.",
          x->audit_queue_depth);
    plain(o, "ztgate_audit_records_total", "counter",
          "Audit records written since start, checkpoints included.", x->audit_records);
    plain(o, "ztgate_audit_checkpoints_total", "counter",
          "Signed audit checkpoints written since start.", x->audit_checkpoints);
    plain(o, "ztgate_audit_bytes_total", "counter", "Bytes appended to the audit log.",
          x->audit_bytes);
    plain(o, "ztgate_audit_rotations_total", "counter", "Audit log files rotated.",
          x->audit_rotations);
    plain(o, "ztgate_audit_drops_total", "counter",
          "Audit events refused (queue full, log failed or closing).", x->audit_drops);
    plain(o, "ztgate_audit_failed", "gauge",
          "1 when the audit log has failed for good and refuses events.", x->audit_failed);
    head(o, "ztgate_audit_fsync_max_seconds", "gauge", "Longest audit fdatasync since start.");
    emit(o, "ztgate_audit_fsync_max_seconds %llu.%06llu\n",
         (unsigned long long)(x->audit_fsync_max_us / 1000000),
         (unsigned long long)(x->audit_fsync_max_us % 1000000));
}

/* Streams by kind: open now, closed, payload bytes each way, re-evaluations. */
static void render_streams(out *o)
{
    head(o, "ztgate_streams_open", "gauge", "WebSockets and tunnels open now, by kind.");
    for (unsigned k = 0; k < ZT_M_STREAM_KIND_N; k++)
        sample(o, "ztgate_streams_open", "kind", stream_kind_text[k],
               (uint64_t)atomic_load_explicit(&m.streams_open[k], RELAXED));
    fixed(o, "ztgate_stream_closes_total", "counter", "Streams closed, by kind.", "kind",
          stream_kind_text, m.stream_closes, ZT_M_STREAM_KIND_N);
    head(o, "ztgate_stream_bytes_total", "counter",
         "Stream payload bytes, by kind and direction (in: client to upstream).");
    for (unsigned k = 0; k < ZT_M_STREAM_KIND_N; k++) {
        emit(o, "ztgate_stream_bytes_total{kind=\"%s\",direction=\"in\"} %llu\n",
             stream_kind_text[k],
             (unsigned long long)atomic_load_explicit(&m.stream_bytes_in[k], RELAXED));
        emit(o, "ztgate_stream_bytes_total{kind=\"%s\",direction=\"out\"} %llu\n",
             stream_kind_text[k],
             (unsigned long long)atomic_load_explicit(&m.stream_bytes_out[k], RELAXED));
    }
    plain(o, "ztgate_stream_evaluations_total", "counter",
          "Live streams re-evaluated (continuous access evaluation).",
          atomic_load_explicit(&m.stream_evaluations, RELAXED));
}

int zt_metrics_render(zt_buf *b, const zt_metrics_extra *x)
{
    out o = {b, 0};
    head(&o, "ztgate_build_info", "gauge", "Build information; always 1.");
    emit(&o, "ztgate_build_info{version=\"");
    if (o.rc == 0)
        o.rc = zt_metrics_escape_label(b, ZT_VERSION, strlen(ZT_VERSION));
    emit(&o, "\"} 1\n");
    head(&o, "ztgate_connections", "gauge", "Client connections open now.");
    emit(&o, "ztgate_connections %lld\n", (long long)atomic_load_explicit(&m.connections, RELAXED));
    render_streams(&o);
    fixed(&o, "ztgate_requests_total", "counter", "Requests answered, by HTTP status class.",
          "status_class", status_text, m.requests, ZT_M_STATUS_N);
    fixed(&o, "ztgate_decisions_total", "counter",
          "Access decisions, and what report-only policies would have done.", "outcome",
          decision_text, m.decisions, ZT_M_DECISION_N);
    dynamic(&o, &policy_family);
    fixed(&o, "ztgate_sign_ins_total", "counter", "Sign-in attempts at the portal, by result.",
          "result", sign_in_text, m.sign_ins, ZT_M_SIGN_IN_N);
    dynamic(&o, &detection_family);
    fixed(&o, "ztgate_devices", "gauge", "Known devices by compliance state.", "compliance",
          compliance_text, m.devices, ZT_M_DEVICE_N);
    fixed(&o, "ztgate_upstream_tls_handshakes_total", "counter",
          "TLS handshakes with https:// upstreams, by result.", "result", upstream_tls_text,
          m.upstream_tls, ZT_M_UPSTREAM_TLS_N);
    head(&o, "ztgate_metrics_labels_dropped_total", "counter",
         "Label values not recorded because a family was full (or the value too long).");
    sample(&o, "ztgate_metrics_labels_dropped_total", "family", policy_family.metric,
           atomic_load_explicit(&policy_family.dropped, RELAXED));
    sample(&o, "ztgate_metrics_labels_dropped_total", "family", detection_family.metric,
           atomic_load_explicit(&detection_family.dropped, RELAXED));
    if (x != NULL && x->have_sessions)
        plain(&o, "ztgate_active_sessions", "gauge",
              "Sessions in the store that are unexpired, unrevoked and fully signed in.",
              x->active_sessions);
    if (x != NULL && x->have_audit)
        audit_metrics(&o, x);
    fsync_histogram(&o);
    return o.rc;
}
