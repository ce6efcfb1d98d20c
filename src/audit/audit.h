/* Tamper-evident audit log: one hash-chained JSON line per event, written by a dedicated thread
 * (or an event loop, for the records it queued) with group commit, sealed by Ed25519-signed
 * checkpoints, plus the offline verifier. Submitting never blocks on I/O. When a write fails the
 * log refuses further events, so callers fail closed; the records not yet written are lost (their
 * tickets say so) and the writer tries again every second, going on with the chain once the file
 * takes writes again. A failed fsync (or rotation) stays failed until a restart. It never writes
 * the signing key anywhere. */
#ifndef ZT_AUDIT_AUDIT_H
#define ZT_AUDIT_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "core/config.h"

typedef struct zt_audit zt_audit;

#define ZT_AUDIT_MAX_EVENT (64 * 1024) /* bytes of one submitted event */
/* STATE_DIR/audit-spool: records other processes (the CLI) queue for the gateway to append,
 * one complete JSON object per *.json file. */
#define ZT_AUDIT_SPOOL_DIR "audit-spool"
#define ZT_AUDIT_MAX_WATCHERS 64 /* zt_audit_watch registrations */

/* Open (or continue) the log at cfg->path and start the writer thread. Creates the directories
 * 0700, the signing key 0600 and <key>.pub on first use; recovers seq and chain head from the
 * last record (cutting a torn last line), then writes an "audit started" event and a checkpoint.
 * NULL with a message in err on failure. cfg is copied. */
zt_audit *zt_audit_open(const zt_audit_cfg *cfg, char *err, size_t errlen);

/* Queue one event (a JSON object as made by zt_event_end, at most ZT_AUDIT_MAX_EVENT bytes, no
 * CR/LF, first key not seq/prev/hash/type). Thread-safe, never waits for I/O. Returns a ticket
 * (> 0) for zt_audit_ticket_state, or 0 when it cannot be accepted (queue full, failed,
 * closing, malformed): the caller must then treat the action as unaudited. Until the log has
 * failed once, the ticket is the seq the record will carry. */
uint64_t zt_audit_submit(zt_audit *a, const char *json, size_t len);
/* zt_audit_submit without waking the writer thread: the caller (an event loop) promises to call
 * zt_audit_write_now before it next sleeps, so the records of one loop iteration are written
 * together by the loop itself, with no thread hand-off in between. */
uint64_t zt_audit_submit_batched(zt_audit *a, const char *json, size_t len);
/* Write what is queued now, in the calling thread, unless someone else is writing (then the
 * writer thread is woken for it and false returned). Watchers are notified as after any write,
 * except the one registered with skip_arg (the caller, which looks at its tickets on return). */
bool zt_audit_write_now(zt_audit *a, const void *skip_arg);

typedef enum zt_audit_state {
    ZT_AUDIT_PENDING, /* queued, not written yet */
    ZT_AUDIT_WRITTEN, /* write(2) returned: survives kill -9 */
    ZT_AUDIT_LOST,    /* the log failed first: it will never be written */
} zt_audit_state;
/* Where a submitted record is. Lock-free; call from any thread (event loops call it from their
 * zt_audit_watch wake-up). */
zt_audit_state zt_audit_ticket_state(const zt_audit *a, uint64_t ticket);

/* Highest seq whose write(2) returned (survives kill -9) / that was also fdatasync'ed (survives
 * power loss). Lock-free; call from any thread. */
uint64_t zt_audit_durable_seq(const zt_audit *a);
uint64_t zt_audit_synced_seq(const zt_audit *a);

/* Block until the ticket's record is durable (or synced); false on failure or timeout. Not for
 * event loops: they use zt_audit_watch and compare zt_audit_durable_seq in their wake-up callback.
 */
bool zt_audit_wait(zt_audit *a, uint64_t ticket, bool synced, uint64_t timeout_ms);

/* Called by the writer (its thread, or an event loop in zt_audit_write_now) after each write, each
 * fsync and on failure. Must be thread-safe and quick (uv_async_send is both); it must not call
 * back into zt_audit_watch/unwatch. Stays registered until zt_audit_unwatch (after which it is
 * never called again) or zt_audit_close. */
typedef void (*zt_audit_notify_fn)(void *arg);
int zt_audit_watch(zt_audit *a, zt_audit_notify_fn fn, void *arg);
int zt_audit_unwatch(zt_audit *a, zt_audit_notify_fn fn, void *arg);
struct uv_async_s;
/* zt_audit_watch with uv_async_send(async): wakes that loop to release held responses. Unwatch
 * before closing the handle. */
int zt_audit_watch_async(zt_audit *a, struct uv_async_s *async);
int zt_audit_unwatch_async(zt_audit *a, struct uv_async_s *async);

bool zt_audit_failed(const zt_audit *a);
/* Why it failed ("write audit.log: No space left on device"), "" while healthy. The string stays
 * valid until zt_audit_close. */
const char *zt_audit_failure(const zt_audit *a);

/* Ask for a checkpoint now (admin "seal"); 0, or -EAGAIN when failed/closing. */
int zt_audit_checkpoint(zt_audit *a);

typedef struct zt_audit_metrics {
    uint64_t queue_depth; /* events waiting or being written */
    uint64_t appended;    /* records written, checkpoints included */
    uint64_t checkpoints;
    uint64_t fsyncs;
    uint64_t fsync_us_total;
    uint64_t fsync_us_max;
    uint64_t drops; /* submits refused */
    uint64_t bytes;
    uint64_t rotations;
    bool failed;
} zt_audit_metrics;

void zt_audit_metrics_get(zt_audit *a, zt_audit_metrics *m);

/* Drain the queue, write an "audit stopped" event and a final checkpoint, fsync, join the writer
 * and free. 0, or -EIO when the log had failed. NULL is fine. */
int zt_audit_close(zt_audit *a);

/* Test hook: after `bytes` more bytes, writes come up short and then fail with ENOSPC. */
void zt_audit_test_fail_after(zt_audit *a, uint64_t bytes);

/* ---- Verification (offline; also used by `ztgate audit verify`) ---- */

typedef enum zt_audit_problem {
    ZT_AUDIT_OK = 0,
    ZT_AUDIT_MALFORMED,      /* a line is not a record */
    ZT_AUDIT_MODIFIED,       /* hash mismatch */
    ZT_AUDIT_CHAIN_BROKEN,   /* prev does not match the previous record */
    ZT_AUDIT_DELETED,        /* seq gap from..to */
    ZT_AUDIT_REORDERED,      /* the expected seq appears later */
    ZT_AUDIT_INSERTED,       /* a seq repeats */
    ZT_AUDIT_TRUNCATED,      /* partial line, or a file ends without its checkpoint */
    ZT_AUDIT_BAD_CHECKPOINT, /* checkpoint fields inconsistent (head, count, format) */
    ZT_AUDIT_FOREIGN_KEY,    /* checkpoint signed by another key */
    ZT_AUDIT_BAD_SIGNATURE,  /* records from..to were altered and re-chained */
    ZT_AUDIT_FILE_ORDER,     /* files out of order or from another log */
    ZT_AUDIT_IO,             /* cannot read a file or the public key */
} zt_audit_problem;

typedef struct zt_audit_report {
    zt_audit_problem problem;
    uint64_t seq;      /* where the problem was found (0 when OK) */
    uint64_t from, to; /* affected range for DELETED and BAD_SIGNATURE */
    uint64_t records;  /* good records seen, checkpoints included */
    uint64_t checkpoints;
    uint64_t first_seq, last_seq, last_checkpoint_seq;
    size_t file_index; /* which file, and line in it (1-based), of the problem */
    uint64_t line;
    bool signatures_checked;
    char detail[320]; /* one line: "seq 1234: modified (hash mismatch)" */
} zt_audit_report;

/* Also fail when the last file does not end with a checkpoint (a closed log always does). */
#define ZT_AUDIT_VERIFY_SEALED 1u
/* Also fail when the first record is not seq 1 (all files kept, nothing cut from the head). */
#define ZT_AUDIT_VERIFY_FROM_GENESIS 2u

/* Public key file: 64 hex chars (written by zt_audit_open as <signing_key_file>.pub). */
int zt_audit_load_pubkey(const char *file, unsigned char pk[32], char *err, size_t errlen);
/* Check files in chain order (oldest first). pk NULL = chain only. 0 when intact, -EBADMSG when
 * tampering was found, another negative errno when a file cannot be read; details in rep. */
int zt_audit_verify_files(const char *const *files, size_t n, const unsigned char *pk,
                          unsigned flags, zt_audit_report *rep);
/* Same for one in-memory log (fuzzing, streaming from elsewhere). */
int zt_audit_verify_buf(const char *data, size_t len, const unsigned char *pk, unsigned flags,
                        zt_audit_report *rep);
/* "OK: N records, M checkpoints, last seq S" or "FAIL: <detail>". */
void zt_audit_report_print(const zt_audit_report *rep, FILE *out);
/* Load pubkey_file (NULL = chain only), verify, print; 0 when intact. */
int zt_audit_verify(const char *const *files, size_t n, const char *pubkey_file, unsigned flags,
                    FILE *out);

/* ---- Reading helpers for the CLI ---- */

/* Print the last n records of file. 0 or negative errno. */
int zt_audit_tail(const char *file, size_t n, FILE *out);
/* Print records whose field at dotted `path` ("user.name", "seq") equals value (strings
 * compared exactly, numbers by their decimal text). Returns matches, or negative errno. */
long zt_audit_search(const char *const *files, size_t n, const char *path, const char *value,
                     FILE *out);

/* The `audit:` section's key table (audit_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_audit_config_module;

#endif
