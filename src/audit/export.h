/* SIEM export of audit records: each configured sink (syslog or CEF over UDP, TCP or TLS) has
 * its own thread and a bounded queue. Submitting copies the record and never waits for I/O; a
 * full queue drops the record and counts it. A slow or dead sink never holds up the audit
 * writer, the other sinks or requests. It never exports anything the local log lacks: the
 * writer hands records over only after write(2) returned. */
#ifndef ZT_AUDIT_EXPORT_H
#define ZT_AUDIT_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"

typedef struct zt_exporter zt_exporter;

#define ZT_EXPORT_MAX_SINKS 16
#define ZT_EXPORT_UDP_MAX 8192 /* bytes of one datagram; longer messages are cut */
#define ZT_EXPORT_QUEUE_BYTES_MIN (4u << 20)
#define ZT_EXPORT_QUEUE_BYTES_PER_RECORD 2048u /* byte cap = max(min, queue_limit * this) */
#define ZT_EXPORT_BACKOFF_MIN_MS 100
#define ZT_EXPORT_BACKOFF_MAX_MS 30000
#define ZT_EXPORT_IO_TIMEOUT_MS 5000 /* connect, TLS handshake, one blocked send */
#define ZT_EXPORT_STOP_MS 2000       /* how long zt_export_free lets sinks flush */

/* Start one thread per sink. cfg and its strings are copied. A CA bundle that cannot be loaded
 * is an error (NULL with a message in err); an unreachable collector is not (it is retried with
 * exponential backoff up to 30 s). n == 0 gives NULL with err "". */
zt_exporter *zt_export_new(const zt_export_cfg *cfg, size_t n, char *err, size_t errlen);

/* Queue one record (a JSON line without its newline) to every sink. O(1) per sink, thread-safe,
 * never blocks on I/O. */
void zt_export_submit(zt_exporter *x, const char *line, size_t len);
/* Split a buffer of newline-terminated records and submit each. */
void zt_export_submit_lines(zt_exporter *x, const char *data, size_t len);

typedef struct zt_export_sink_stats {
    const char *name;        /* valid until zt_export_free */
    uint64_t queued;         /* records waiting now */
    uint64_t sent;           /* records handed to the transport */
    uint64_t dropped;        /* queue full, UDP send failed, or still queued when stopped */
    uint64_t truncated;      /* UDP messages cut at ZT_EXPORT_UDP_MAX */
    uint64_t reconnects;     /* connection attempts after the first (TCP/TLS) */
    uint64_t connect_failed; /* attempts that failed (refused, timeout, TLS verification) */
    uint64_t bytes;          /* bytes written to the transport, framing included */
    bool connected;
} zt_export_sink_stats;

size_t zt_export_count(const zt_exporter *x);
/* Counters of sink i (< zt_export_count); zeroes for a bad index. Lock-free except the queue
 * depth (one short lock). */
void zt_export_stats(const zt_exporter *x, size_t i, zt_export_sink_stats *out);

/* Stop accepting, let every sink send what is queued for up to ZT_EXPORT_STOP_MS, then drop the
 * rest (counted), log each sink's counters, join the threads and free. NULL is fine. */
void zt_export_free(zt_exporter *x);

#endif
