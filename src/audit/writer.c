/* The audit writer: submitters append to a pending batch under one mutex (sequence numbers are
 * assigned there, in queue order, so the returned seq is the record's seq); whoever holds the
 * writer role swaps the batch out, chains and writes it with a single write(2). The role is the
 * writer thread's, which also fsyncs on the group-commit window, checkpoints and rotates; an
 * event loop takes it too (zt_audit_write_now) to write the records it queued during one
 * iteration itself, without two thread hand-offs per request. Checkpoints are queue markers
 * that take a seq like any record. */
#include "audit/audit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>
#include <uv.h>

#include "audit/chain.h"
#include "audit/event.h"
#include "audit/export.h"
#include "core/metrics.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/str.h"
#include "lib/time.h"

#define DEFAULT_QUEUE_LIMIT 65536u
#define QUEUE_BYTES_MIN (1u << 20)
#define QUEUE_BYTES_PER_EVENT 2048u
#define OUT_FLUSH_BYTES (4u << 20) /* write early when one batch grows past this */
#define KEEP_BYTES (1u << 20)      /* a batch buffer larger than this is freed once written */
#define KEEP_ITEMS 8192u
#define TAIL_WINDOW (2 * (ZT_AUDIT_MAX_EVENT + 1024)) /* a whole last record always fits */
#define KEY_FILE_MAX 256
#define RETRY_US 1000000u /* a failed log tries to write again this often */
/* A ticket is a record's seq with, above it, the epoch: how many times the log had failed
 * before the record was submitted. After a failure the seqs of the lost records are given
 * again (the chain stays gap-free), so only the epoch tells an old ticket from a new one. */
#define TICKET_SEQ_BITS 48
#define TICKET_SEQ_MASK ((UINT64_C(1) << TICKET_SEQ_BITS) - 1)
#define EPOCHS_KEPT 8u /* where earlier epochs ended, for tickets still being waited on */

typedef enum { ITEM_EVENT, ITEM_CHECKPOINT, ITEM_ROTATE } item_kind;

typedef struct item {
    uint64_t seq;
    size_t off;
    uint32_t len;
    uint8_t kind;
} item;

/* Event bodies (without their braces) back to back, and where each one is. */
typedef struct batch {
    zt_buf bytes;
    item *items;
    size_t n, cap;
    size_t events;
} batch;

typedef struct watcher {
    zt_audit_notify_fn fn;
    void *arg;
} watcher;

/* Recovered state of an existing log. */
typedef struct resume {
    uint64_t last_seq;
    uint64_t truncated_bytes;
    bool unclean; /* last record is not a checkpoint: the previous run did not close */
} resume;

struct zt_audit {
    char *path;
    char *key_path;
    char *dir;
    uint32_t checkpoint_every;
    uint64_t cp_interval_us;
    uint64_t fsync_interval_us;
    uint64_t rotate_bytes;
    uint64_t rotate_interval_us; /* 0 = by size only */
    uint64_t file_opened_us;     /* monotonic: when the current file was started */
    uint32_t queue_limit;

    unsigned char *sk; /* sodium_malloc, PROT_NONE except while signing */
    char key_id[ZT_AUDIT_KEY_ID_HEX + 1];

    pthread_mutex_t mu; /* guards everything down to `unsynced_since_us` */
    pthread_cond_t wake;
    pthread_cond_t done;
    batch q;
    uint64_t next_seq;
    uint32_t since_cp;
    uint64_t last_cp_us;
    size_t inflight;
    unsigned waiters;
    bool closing;
    bool writer_waiting;
    bool unsynced; /* written since the last fsync; set by the role holder */
    uint64_t unsynced_since_us;

    /* Held by whoever chains and writes (the writer thread, or an event loop writing what it
     * queued); guards everything down to `thread_started` (open and close run without it,
     * before and after the writer thread). */
    pthread_mutex_t role;
    batch w;
    zt_buf out;
    size_t out_records;
    uint64_t out_first_seq, out_last_seq;
    int fd;
    bool regular;
    uint64_t file_bytes;
    uint64_t file_first_seq;
    char head[ZT_AUDIT_HEX + 1];
    bool rotate_queued;
    const void *notify_skip; /* the event loop writing: it looks at its held requests itself */
    bool notify_skipping;
    pthread_t thread;
    bool thread_started;

    _Atomic uint64_t durable, synced;
    _Atomic bool failed;
    char reason[256];
    /* Failure and resumption (writer thread, epoch_end and epoch also read by observers). */
    char written_head[ZT_AUDIT_HEX + 1]; /* chain head of the last record on disk */
    bool resumable;                      /* the file was cut back cleanly: retry later (mu) */
    uint64_t retry_at_us;                /* (mu) */
    _Atomic uint64_t epoch;
    _Atomic uint64_t epoch_end[EPOCHS_KEPT]; /* last seq written in epoch e, at [e % KEPT] */
    _Atomic uint64_t fail_budget;

    _Atomic uint64_t m_appended, m_checkpoints, m_fsyncs, m_fsync_us, m_fsync_max, m_drops, m_bytes,
        m_rotations;

    pthread_mutex_t wmu;
    watcher watchers[ZT_AUDIT_MAX_WATCHERS];
    size_t nwatchers;

    zt_exporter *exp; /* SIEM sinks; NULL when none are configured */
};

/* ---- batches ---- */

static void batch_init(batch *b, size_t byte_limit)
{
    zt_buf_init(&b->bytes, byte_limit);
    b->items = NULL;
    b->n = b->cap = b->events = 0;
}

static void batch_dispose(batch *b)
{
    zt_buf_dispose(&b->bytes);
    free(b->items);
    b->items = NULL;
}

static void batch_reset(batch *b)
{
    zt_buf_reset(&b->bytes);
    b->n = b->events = 0;
}

static int batch_push(batch *b, item it, const char *body, size_t len)
{
    if (b->n == b->cap && zt_array_grow(&b->items, &b->cap, sizeof(*b->items), 256) < 0)
        return -ENOMEM;
    it.off = b->bytes.len;
    it.len = (uint32_t)len;
    int rc = zt_buf_append(&b->bytes, body, len);
    if (rc < 0)
        return rc;
    b->items[b->n++] = it;
    if (it.kind == ITEM_EVENT)
        b->events++;
    return 0;
}

/* ---- notification ---- */

static void wake_writer_locked(zt_audit *a)
{
    if (a->writer_waiting) {
        /* One wake-up per batch: the submitters that follow before the writer runs find the
         * flag clear and add to the same batch without another futex call. */
        a->writer_waiting = false;
        pthread_cond_signal(&a->wake);
    }
}

static void notify(zt_audit *a)
{
    /* Calls happen under wmu so that after zt_audit_unwatch returns, none is still running. */
    pthread_mutex_lock(&a->wmu);
    for (size_t i = 0; i < a->nwatchers; i++)
        if (!a->notify_skipping || a->watchers[i].arg != a->notify_skip)
            a->watchers[i].fn(a->watchers[i].arg);
    pthread_mutex_unlock(&a->wmu);
    pthread_mutex_lock(&a->mu);
    if (a->waiters > 0)
        pthread_cond_broadcast(&a->done);
    pthread_mutex_unlock(&a->mu);
}

/* Writer thread. The records not yet written are lost: their epoch ends here (their tickets
 * read LOST), the queue is emptied, the chain goes back to the last record on disk and the
 * next seq follows it. Only a write failure whose partial record was cut off cleanly may be
 * retried (`resumable`); anything else (fsync: the kernel may have dropped the pages, a failed
 * rotation) stays failed until a restart. The reason is written before the flag is set. */
static void fail_ex(zt_audit *a, const char *what, int errnum, bool resumable)
{
    if (atomic_load(&a->failed)) {
        pthread_mutex_lock(&a->mu);
        a->resumable = a->resumable && resumable;
        pthread_mutex_unlock(&a->mu);
        return;
    }
    snprintf(a->reason, sizeof(a->reason), "%s %s: %s", what, a->path, strerror(errnum));
    memcpy(a->head, a->written_head, sizeof(a->head));
    a->rotate_queued = false;
    pthread_mutex_lock(&a->mu);
    a->resumable = resumable;
    a->retry_at_us = zt_mono_us() + RETRY_US;
    wake_writer_locked(a); /* the retries are the writer thread's, whoever failed */
    uint64_t durable = atomic_load(&a->durable);
    uint64_t e = atomic_load(&a->epoch);
    atomic_store(&a->epoch_end[e % EPOCHS_KEPT], durable);
    atomic_store(&a->epoch, e + 1);
    atomic_store_explicit(&a->failed, true, memory_order_release);
    if (a->q.events > 0)
        atomic_fetch_add(&a->m_drops, a->q.events);
    batch_reset(&a->q);
    a->next_seq = durable + 1;
    a->since_cp = 0;
    pthread_mutex_unlock(&a->mu);
    notify(a);
}

static void fail(zt_audit *a, const char *what, int errnum)
{
    fail_ex(a, what, errnum, false);
}

/* ---- queue (caller holds mu) ---- */

static uint64_t enqueue_nowake_locked(zt_audit *a, item_kind kind, const char *body, size_t len)
{
    item it = {.seq = a->next_seq, .kind = (uint8_t)kind};
    if (batch_push(&a->q, it, body, len) < 0)
        return 0;
    a->next_seq++;
    if (kind != ITEM_EVENT) {
        a->since_cp = 0;
        a->last_cp_us = zt_mono_us();
    }
    return it.seq;
}

static uint64_t enqueue_locked(zt_audit *a, item_kind kind, const char *body, size_t len)
{
    uint64_t seq = enqueue_nowake_locked(a, kind, body, len);
    if (seq != 0)
        wake_writer_locked(a);
    return seq;
}

static bool event_acceptable(const char *json, size_t len)
{
    if (json == NULL || len < 2 || len > ZT_AUDIT_MAX_EVENT || json[0] != '{' ||
        json[len - 1] != '}')
        return false;
    if (memchr(json, '\n', len) != NULL || memchr(json, '\r', len) != NULL)
        return false;
    /* The first key sits right after our own seq/prev: a body starting with "type" could pass
     * for a checkpoint, one starting with seq/prev/hash would shadow the frame. */
    size_t i = 1;
    while (i < len && (json[i] == ' ' || json[i] == '\t'))
        i++;
    static const char *const bad[] = {"\"type\"", "\"seq\"", "\"prev\"", "\"hash\""};
    for (size_t k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
        size_t n = strlen(bad[k]);
        if (len - i >= n && memcmp(json + i, bad[k], n) == 0)
            return false;
    }
    return true;
}

static uint64_t submit(zt_audit *a, const char *json, size_t len, bool wake)
{
    if (a == NULL)
        return 0;
    uint64_t seq = 0;
    bool ok = event_acceptable(json, len);
    pthread_mutex_lock(&a->mu);
    if (ok && !atomic_load(&a->failed) && !a->closing && a->q.events < a->queue_limit) {
        seq = wake ? enqueue_locked(a, ITEM_EVENT, json + 1, len - 2)
                   : enqueue_nowake_locked(a, ITEM_EVENT, json + 1, len - 2);
        if (seq != 0) {
            a->since_cp++;
            seq |= atomic_load(&a->epoch) << TICKET_SEQ_BITS;
        }
        if (seq != 0 && a->checkpoint_every != 0 && a->since_cp >= a->checkpoint_every)
            enqueue_nowake_locked(a, ITEM_CHECKPOINT, NULL, 0);
    }
    pthread_mutex_unlock(&a->mu);
    if (seq == 0)
        atomic_fetch_add(&a->m_drops, 1);
    return seq;
}

uint64_t zt_audit_submit(zt_audit *a, const char *json, size_t len)
{
    return submit(a, json, len, true);
}

uint64_t zt_audit_submit_batched(zt_audit *a, const char *json, size_t len)
{
    return submit(a, json, len, false);
}

int zt_audit_checkpoint(zt_audit *a)
{
    int rc = -EAGAIN;
    pthread_mutex_lock(&a->mu);
    if (!atomic_load(&a->failed) && !a->closing && enqueue_locked(a, ITEM_CHECKPOINT, NULL, 0))
        rc = 0;
    pthread_mutex_unlock(&a->mu);
    return rc;
}

/* ---- chained records (writer) ---- */

/* `{"seq":N,"prev":"<head>"[,body],"hash":"<h>"}\n` with h over prev-hash, "\n", the record
 * up to the hash field and "}"; see docs/AUDIT.md. */
static int append_record(zt_audit *a, uint64_t seq, const char *body, size_t len)
{
    zt_buf *b = &a->out;
    size_t start = b->len;
    int rc = zt_buf_append_str(b, "{\"seq\":");
    if (rc == 0)
        rc = zt_buf_append_u64(b, seq);
    if (rc == 0)
        rc = zt_buf_append_str(b, ",\"prev\":\"");
    if (rc == 0)
        rc = zt_buf_append(b, a->head, ZT_AUDIT_HEX);
    if (rc == 0)
        rc = zt_buf_append_char(b, '"');
    if (rc == 0 && len > 0) {
        rc = zt_buf_append_char(b, ',');
        if (rc == 0)
            rc = zt_buf_append(b, body, len);
    }
    if (rc < 0) {
        b->len = start;
        return rc;
    }
    char hash[ZT_AUDIT_HEX + 1];
    if (!zt_audit_line_hash(a->head, b->data + start, b->len - start, hash)) {
        b->len = start; /* the digest could not be computed: the log fails, closed */
        return -EIO;
    }
    rc = zt_buf_append_str(b, ",\"hash\":\"");
    if (rc == 0)
        rc = zt_buf_append(b, hash, ZT_AUDIT_HEX);
    if (rc == 0)
        rc = zt_buf_append(b, "\"}\n", 3);
    if (rc < 0) {
        b->len = start;
        return rc;
    }
    memcpy(a->head, hash, sizeof(hash));
    if (a->out_records++ == 0)
        a->out_first_seq = seq;
    a->out_last_seq = seq;
    return 0;
}

static int sign(zt_audit *a, const zt_buf *msg, unsigned char sig[crypto_sign_BYTES])
{
    sodium_mprotect_readonly(a->sk);
    int rc = crypto_sign_detached(sig, NULL, (const unsigned char *)msg->data, msg->len, a->sk);
    sodium_mprotect_noaccess(a->sk);
    return rc == 0 ? 0 : -EINVAL;
}

/* A checkpoint commits to the first seq-1 records, whose last hash is the current head. */
static int append_checkpoint(zt_audit *a, uint64_t seq)
{
    char ts[40];
    size_t tn = zt_rfc3339(zt_wall_us(), ts, sizeof(ts));
    zt_buf msg;
    zt_buf_init(&msg, 0);
    unsigned char sig[crypto_sign_BYTES];
    int rc = zt_audit_cp_message(&msg, seq, seq - 1, a->head, ts, tn);
    if (rc == 0)
        rc = sign(a, &msg, sig);
    zt_buf_dispose(&msg);
    if (rc < 0)
        return rc;
    char sighex[ZT_AUDIT_SIG_HEX + 1];
    sodium_bin2hex(sighex, sizeof(sighex), sig, sizeof(sig));
    char body[512];
    int n = snprintf(body, sizeof(body),
                     "\"type\":\"checkpoint\",\"time\":\"%s\",\"head\":\"%s\",\"count\":%llu,"
                     "\"key_id\":\"%s\",\"sig\":\"%s\"",
                     ts, a->head, (unsigned long long)(seq - 1), a->key_id, sighex);
    if (n < 0 || (size_t)n >= sizeof(body))
        return -E2BIG;
    rc = append_record(a, seq, body, (size_t)n);
    if (rc == 0)
        atomic_fetch_add(&a->m_checkpoints, 1);
    return rc;
}

/* ---- file I/O (writer) ---- */

static ssize_t budget_write(zt_audit *a, const char *p, size_t n)
{
    uint64_t budget = atomic_load(&a->fail_budget);
    if (budget != UINT64_MAX) {
        if (budget == 0) {
            errno = ENOSPC;
            return -1;
        }
        if (n > budget)
            n = (size_t)budget;
        atomic_store(&a->fail_budget, budget - n);
    }
    return write(a->fd, p, n);
}

static int write_all(zt_audit *a, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = budget_write(a, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (w == 0)
            return -EIO;
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* Write what is chained in `out`; on error cut the file back so no half record stays. */
static int flush_out(zt_audit *a)
{
    if (a->out.len == 0)
        return 0;
    int rc = write_all(a, a->out.data, a->out.len);
    if (rc < 0) {
        /* If even the cut fails, the next open finds the torn tail and cuts it then; until
         * then nothing more may be appended after it. */
        bool cut =
            a->regular && ftruncate(a->fd, (off_t)a->file_bytes) == 0 && fdatasync(a->fd) == 0;
        fail_ex(a, "write", -rc, cut);
        return rc;
    }
    if (a->file_bytes == 0)
        a->file_first_seq = a->out_first_seq;
    a->file_bytes += a->out.len;
    atomic_fetch_add(&a->m_bytes, a->out.len);
    atomic_fetch_add(&a->m_appended, a->out_records);
    memcpy(a->written_head, a->head, sizeof(a->head));
    atomic_store_explicit(&a->durable, a->out_last_seq, memory_order_release);
    /* Only what the log holds is exported: the copy is queued after write(2) returned. */
    zt_export_submit_lines(a->exp, a->out.data, a->out.len);
    zt_buf_reset(&a->out);
    a->out_records = 0;
    pthread_mutex_lock(&a->mu);
    if (!a->unsynced) {
        /* The writer thread owes an fsync now: it may be asleep when an event loop wrote. */
        a->unsynced = true;
        a->unsynced_since_us = zt_mono_us();
        wake_writer_locked(a);
    }
    pthread_mutex_unlock(&a->mu);
    notify(a);
    return 0;
}

static bool is_unsynced(zt_audit *a)
{
    pthread_mutex_lock(&a->mu);
    bool u = a->unsynced;
    pthread_mutex_unlock(&a->mu);
    return u;
}

/* What is synced now: what was durable when the sync began, all of it. The flag is cleared
 * in the same breath, so a record written during the sync leaves it set for the next one. */
static uint64_t begin_sync(zt_audit *a)
{
    pthread_mutex_lock(&a->mu);
    uint64_t upto = atomic_load(&a->durable);
    a->unsynced = false;
    pthread_mutex_unlock(&a->mu);
    return upto;
}

static void synced_upto(zt_audit *a, uint64_t upto, uint64_t dt)
{
    atomic_fetch_add(&a->m_fsyncs, 1);
    atomic_fetch_add(&a->m_fsync_us, dt);
    if (dt > atomic_load(&a->m_fsync_max))
        atomic_store(&a->m_fsync_max, dt);
    zt_metric_audit_fsync_us(dt);
    /* A rotation's sync may have finished a later point meanwhile: never move back. */
    uint64_t cur = atomic_load(&a->synced);
    while (cur < upto && !atomic_compare_exchange_weak(&a->synced, &cur, upto))
        ;
    notify(a);
}

/* The role holder syncs (rotation, closing). */
static int sync_file(zt_audit *a)
{
    if (!is_unsynced(a))
        return 0;
    uint64_t upto = begin_sync(a);
    uint64_t t0 = zt_mono_us();
    if (a->regular && fdatasync(a->fd) < 0) {
        /* fsyncgate: the kernel may have dropped the pages; never retry and carry on. */
        int e = errno;
        fail(a, "fsync", e);
        return -e;
    }
    synced_upto(a, upto, zt_mono_us() - t0);
    return 0;
}

/* The writer thread's group fsync: the role is let go for the length of fdatasync, so event
 * loops keep writing while the disk works (on a duplicate descriptor: a rotation meanwhile
 * may close the file's own). Called and returns with the role held. */
static void sync_file_unlocked(zt_audit *a)
{
    int fd = a->regular ? dup(a->fd) : -1;
    if (fd < 0) {
        sync_file(a);
        return;
    }
    uint64_t upto = begin_sync(a);
    pthread_mutex_unlock(&a->role);
    uint64_t t0 = zt_mono_us();
    int rc = fdatasync(fd);
    int e = errno;
    uint64_t dt = zt_mono_us() - t0;
    close(fd);
    pthread_mutex_lock(&a->role);
    if (rc < 0)
        fail(a, "fsync", e); /* fsyncgate, as in sync_file */
    else
        synced_upto(a, upto, dt);
}

static int sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return rc;
}

static int open_log(const char *path, bool excl, int *fd_out)
{
    int flags = O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW | (excl ? O_EXCL : 0);
    int fd = open(path, flags, 0600);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && flock(fd, LOCK_EX | LOCK_NB) < 0) {
        int e = errno == EWOULDBLOCK ? EBUSY : errno;
        close(fd);
        return -e;
    }
    *fd_out = fd;
    return 0;
}

/* The file ends with the checkpoint just written: rename it to <path>.<first seq> and start a
 * new one; the chain simply continues into it. */
/* The current file is full (rotate_size) or old enough (rotate_interval) to be closed. An
 * empty file is never rotated for its age alone. */
static bool rotate_due(const zt_audit *a, size_t pending)
{
    if (!a->regular)
        return false;
    if (a->rotate_bytes != 0 && a->file_bytes + pending >= a->rotate_bytes)
        return true;
    return a->rotate_interval_us != 0 && a->file_bytes + pending > 0 &&
           zt_mono_us() - a->file_opened_us >= a->rotate_interval_us;
}

static int rotate(zt_audit *a)
{
    a->rotate_queued = false;
    if (sync_file(a) < 0)
        return -EIO;
    char old[PATH_MAX];
    int n = snprintf(old, sizeof(old), "%s.%llu", a->path, (unsigned long long)a->file_first_seq);
    if (n < 0 || (size_t)n >= sizeof(old)) {
        fail(a, "rotate", ENAMETOOLONG);
        return -ENAMETOOLONG;
    }
    if (renameat2(AT_FDCWD, a->path, AT_FDCWD, old, RENAME_NOREPLACE) < 0) {
        fail(a, "rotate", errno);
        return -EIO;
    }
    int fd;
    int rc = open_log(a->path, true, &fd);
    if (rc == 0)
        rc = sync_dir(a->dir);
    if (rc < 0) {
        fail(a, "rotate", -rc);
        return rc;
    }
    close(a->fd);
    a->fd = fd;
    a->file_bytes = 0;
    a->file_first_seq = 0;
    a->file_opened_us = zt_mono_us();
    atomic_fetch_add(&a->m_rotations, 1);
    return 0;
}

/* ---- writer thread ---- */

static uint64_t earliest(uint64_t x, uint64_t y)
{
    return x < y ? x : y;
}

static void wait_until(zt_audit *a, uint64_t deadline_us)
{
    a->writer_waiting = true;
    if (deadline_us == UINT64_MAX) {
        pthread_cond_wait(&a->wake, &a->mu);
    } else {
        struct timespec ts = {.tv_sec = (time_t)(deadline_us / 1000000),
                              .tv_nsec = (long)(deadline_us % 1000000) * 1000};
        pthread_cond_timedwait(&a->wake, &a->mu, &ts);
    }
    a->writer_waiting = false;
}

/* The writer thread waits for work: records queued, an fsync or checkpoint due, a failed log
 * due for another try (*retry). True when closing and nothing is left. */
static bool wait_for_work(zt_audit *a, bool *retry)
{
    bool stop = false;
    *retry = false;
    pthread_mutex_lock(&a->mu);
    for (;;) {
        if (a->q.n > 0)
            break;
        if (a->closing) {
            stop = true;
            break;
        }
        uint64_t now = zt_mono_us();
        uint64_t deadline = UINT64_MAX;
        bool healthy = !atomic_load(&a->failed);
        if (!healthy && a->resumable) {
            if (now >= a->retry_at_us) {
                *retry = true;
                break;
            }
            deadline = a->retry_at_us;
        }
        if (healthy && a->unsynced) {
            uint64_t due = a->unsynced_since_us + a->fsync_interval_us;
            if (now >= due)
                break;
            deadline = earliest(deadline, due);
        }
        if (healthy && a->cp_interval_us != 0 && a->since_cp > 0) {
            uint64_t due = a->last_cp_us + a->cp_interval_us;
            if (now >= due) {
                enqueue_locked(a, ITEM_CHECKPOINT, NULL, 0);
                break;
            }
            deadline = earliest(deadline, due);
        }
        wait_until(a, deadline);
    }
    pthread_mutex_unlock(&a->mu);
    return stop;
}

/* The role holder takes the pending batch (perhaps empty: an event loop may have written it
 * meanwhile). */
static void take_queue(zt_audit *a)
{
    pthread_mutex_lock(&a->mu);
    batch tmp = a->w;
    a->w = a->q;
    a->q = tmp;
    batch_reset(&a->q);
    a->inflight = a->w.events;
    pthread_mutex_unlock(&a->mu);
}

static void queue_written(zt_audit *a)
{
    pthread_mutex_lock(&a->mu);
    a->inflight = 0;
    pthread_mutex_unlock(&a->mu);
}

static int write_item(zt_audit *a, const batch *b, const item *it)
{
    int rc = it->kind == ITEM_EVENT ? append_record(a, it->seq, b->bytes.data + it->off, it->len)
                                    : append_checkpoint(a, it->seq);
    if (rc < 0) {
        fail(a, "encode record for", -rc);
        return rc;
    }
    /* Any checkpoint past the size or age limit ends the file, so rotated files always close
     * with a signed checkpoint; ITEM_ROTATE only forces one when none came in time. */
    if (it->kind != ITEM_EVENT && rotate_due(a, a->out.len)) {
        rc = flush_out(a);
        return rc == 0 ? rotate(a) : rc;
    }
    return a->out.len >= OUT_FLUSH_BYTES ? flush_out(a) : 0;
}

/* The queue grows on demand up to queue_limit records; after a burst its buffers go back to
 * the allocator instead of staying at their high-water mark (an idle gateway holds none). */
static void batch_shrink(batch *b)
{
    if (b->bytes.cap > KEEP_BYTES)
        zt_buf_dispose(&b->bytes);
    if (b->cap > KEEP_ITEMS) {
        free(b->items);
        b->items = NULL;
        b->cap = 0;
    }
}

static void write_batch(zt_audit *a, batch *b)
{
    int rc = 0;
    for (size_t i = 0; i < b->n && rc == 0 && !atomic_load(&a->failed); i++)
        rc = write_item(a, b, &b->items[i]);
    if (rc == 0 && !atomic_load(&a->failed))
        flush_out(a);
    zt_buf_reset(&a->out);
    if (a->out.cap > KEEP_BYTES)
        zt_buf_dispose(&a->out);
    a->out_records = 0;
    if (atomic_load(&a->failed) && b->events > 0)
        atomic_fetch_add(&a->m_drops, b->events);
    batch_reset(b);
    batch_shrink(b);
}

static bool fsync_due(zt_audit *a, bool stopping)
{
    pthread_mutex_lock(&a->mu);
    bool due = a->unsynced && (stopping || a->fsync_interval_us == 0 ||
                               zt_mono_us() >= a->unsynced_since_us + a->fsync_interval_us);
    pthread_mutex_unlock(&a->mu);
    return due;
}

static void after_batch(zt_audit *a, bool stopping)
{
    if (atomic_load(&a->failed))
        return;
    if (fsync_due(a, stopping)) {
        if (stopping)
            sync_file(a);
        else
            sync_file_unlocked(a);
    }
    if (atomic_load(&a->failed))
        return;
    if (!stopping && !a->rotate_queued && rotate_due(a, 0)) {
        pthread_mutex_lock(&a->mu);
        a->rotate_queued = enqueue_locked(a, ITEM_ROTATE, NULL, 0) != 0;
        pthread_mutex_unlock(&a->mu);
    }
}

/* Cut a failed attempt off again; false when even that failed (then no more tries). */
static bool cut_back(zt_audit *a)
{
    memcpy(a->head, a->written_head, sizeof(a->head));
    zt_buf_reset(&a->out);
    a->out_records = 0;
    return ftruncate(a->fd, (off_t)a->file_bytes) == 0 && fdatasync(a->fd) == 0;
}

/* The log failed on a write: try to append an "audit log resumed" record and a checkpoint, and
 * fsync them. Success makes the log healthy again (the chain simply goes on: the lost records'
 * seqs were never written); a failure waits RETRY_US for the next try. */
static void try_resume(zt_audit *a)
{
    zt_buf ev;
    zt_buf_init(&ev, ZT_AUDIT_MAX_EVENT);
    zt_event e;
    zt_event_begin(&e, &ev, ZT_EV_APP_LIFECYCLE, ZT_ACT_APP_START, ZT_SEV_HIGH);
    zt_event_status(&e, ZT_STATUS_SUCCESS);
    zt_event_str(&e, "message",
                 "audit log resumed after a failure; what was refused meanwhile "
                 "was never answered");
    zt_event_str(&e, "app.name", "ztgate-audit");
    zt_event_str(&e, "unmapped.audit.failure", a->reason);
    zt_event_str(&e, "unmapped.audit.key_id", a->key_id);
    uint64_t seq = atomic_load(&a->durable) + 1;
    int rc = zt_event_end(&e);
    rc = rc ? rc : append_record(a, seq, ev.data + 1, ev.len - 2);
    rc = rc ? rc : append_checkpoint(a, seq + 1);
    zt_buf_dispose(&ev);
    rc = rc ? rc : write_all(a, a->out.data, a->out.len);
    if (rc < 0) {
        bool cut = cut_back(a);
        pthread_mutex_lock(&a->mu);
        a->resumable = cut;
        a->retry_at_us = zt_mono_us() + RETRY_US;
        pthread_mutex_unlock(&a->mu);
        return;
    }
    if (fdatasync(a->fd) < 0) {
        snprintf(a->reason, sizeof(a->reason), "fsync %s: %s", a->path, strerror(errno));
        pthread_mutex_lock(&a->mu);
        a->resumable = false; /* fsyncgate: never carry on after a failed fsync */
        pthread_mutex_unlock(&a->mu);
        return;
    }
    a->file_bytes += a->out.len;
    atomic_fetch_add(&a->m_bytes, a->out.len);
    atomic_fetch_add(&a->m_appended, a->out_records);
    zt_export_submit_lines(a->exp, a->out.data, a->out.len);
    zt_buf_reset(&a->out);
    a->out_records = 0;
    memcpy(a->written_head, a->head, sizeof(a->head));
    pthread_mutex_lock(&a->mu);
    a->unsynced = false;
    atomic_store(&a->durable, seq + 1);
    atomic_store(&a->synced, seq + 1);
    a->next_seq = seq + 2;
    a->since_cp = 0;
    a->last_cp_us = zt_mono_us();
    atomic_store_explicit(&a->failed, false, memory_order_release);
    pthread_mutex_unlock(&a->mu);
    notify(a);
}

static void *writer_main(void *arg)
{
    zt_audit *a = arg;
    for (;;) {
        bool retry;
        bool stop = wait_for_work(a, &retry);
        pthread_mutex_lock(&a->role);
        if (retry)
            try_resume(a);
        take_queue(a);
        write_batch(a, &a->w);
        queue_written(a);
        after_batch(a, stop);
        pthread_mutex_unlock(&a->role);
        if (stop)
            break;
    }
    return NULL;
}

bool zt_audit_write_now(zt_audit *a, const void *skip_arg)
{
    if (pthread_mutex_trylock(&a->role) != 0) {
        /* Someone is writing; what was queued after their batch is the writer thread's. */
        pthread_mutex_lock(&a->mu);
        if (a->q.n > 0)
            wake_writer_locked(a);
        pthread_mutex_unlock(&a->mu);
        return false;
    }
    a->notify_skip = skip_arg;
    a->notify_skipping = true;
    take_queue(a);
    write_batch(a, &a->w);
    queue_written(a);
    a->notify_skipping = false;
    pthread_mutex_unlock(&a->role);
    return true;
}

/* ---- signing key ---- */

static char *dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (slash == NULL)
        return strdup(".");
    if (slash == path)
        return strdup("/");
    return strndup(path, (size_t)(slash - path));
}

static int write_file_atomic(const char *path, const char *data, size_t len, mode_t mode)
{
    char tmp[PATH_MAX];
    int n = snprintf(tmp, sizeof(tmp), "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof(tmp))
        return -ENAMETOOLONG;
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, mode);
    if (fd < 0)
        return -errno;
    int rc = zt_write_all(fd, data, len);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0)
        unlink(tmp);
    return rc;
}

static int create_seed(const char *path, unsigned char seed[32])
{
    randombytes_buf(seed, 32);
    char hex[65 + 1];
    sodium_bin2hex(hex, 65, seed, 32);
    hex[64] = '\n';
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    int rc = fd < 0 ? -errno : zt_write_all(fd, hex, 65);
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    if (fd >= 0)
        close(fd);
    sodium_memzero(hex, sizeof(hex));
    return rc;
}

static int read_seed(int fd, unsigned char seed[32], char *err, size_t errlen, const char *path)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
        zt_errf(err, errlen, "signing key %s must be a regular file with mode 0600", path);
        return -EPERM;
    }
    char hex[KEY_FILE_MAX];
    size_t n = 0;
    int rc = zt_read_upto(fd, hex, sizeof(hex), &n);
    while (rc == 0 && n > 0 && (hex[n - 1] == '\n' || hex[n - 1] == '\r' || hex[n - 1] == ' '))
        n--;
    size_t got = 0;
    if (rc == 0 &&
        (n != 64 || sodium_hex2bin(seed, 32, hex, n, NULL, &got, NULL) != 0 || got != 32)) {
        zt_errf(err, errlen, "signing key %s: expected 64 hex characters", path);
        rc = -EINVAL;
    }
    sodium_memzero(hex, sizeof(hex));
    return rc;
}

static int load_seed(const char *path, unsigned char seed[32], char *err, size_t errlen)
{
    int rc = zt_mkdir_parent(path, 0700);
    if (rc < 0) {
        zt_errf(err, errlen, "create directory of %s: %s", path, strerror(-rc));
        return rc;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && errno == ENOENT) {
        rc = create_seed(path, seed);
        if (rc < 0)
            zt_errf(err, errlen, "create signing key %s: %s", path, strerror(-rc));
        return rc;
    }
    if (fd < 0) {
        rc = -errno;
        zt_errf(err, errlen, "open signing key %s: %s", path, strerror(errno));
        return rc;
    }
    rc = read_seed(fd, seed, err, errlen, path);
    close(fd);
    if (rc < 0 && err != NULL && err[0] == '\0')
        zt_errf(err, errlen, "read signing key %s: %s", path, strerror(-rc));
    return rc;
}

/* Keep <key>.pub in step with the key so verifiers can always find it. */
static int write_pubkey(const char *key_path, const unsigned char pk[32])
{
    char path[PATH_MAX];
    int n = snprintf(path, sizeof(path), "%s.pub", key_path);
    if (n < 0 || (size_t)n >= sizeof(path))
        return -ENAMETOOLONG;
    char hex[66];
    sodium_bin2hex(hex, 65, pk, 32);
    hex[64] = '\n';
    char cur[80];
    size_t len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd >= 0) {
        int rc = zt_read_upto(fd, cur, sizeof(cur), &len);
        close(fd);
        if (rc == 0 && len == 65 && memcmp(cur, hex, 65) == 0)
            return 0;
    }
    return write_file_atomic(path, hex, 65, 0644);
}

static int load_key(zt_audit *a, char *err, size_t errlen)
{
    unsigned char seed[32];
    unsigned char pk[crypto_sign_PUBLICKEYBYTES];
    int rc = load_seed(a->key_path, seed, err, errlen);
    if (rc < 0)
        return rc;
    a->sk = sodium_malloc(crypto_sign_SECRETKEYBYTES);
    if (a->sk == NULL) {
        sodium_memzero(seed, sizeof(seed));
        zt_errf(err, errlen, "out of memory");
        return -ENOMEM;
    }
    crypto_sign_seed_keypair(pk, a->sk, seed);
    sodium_memzero(seed, sizeof(seed));
    sodium_mprotect_noaccess(a->sk);
    zt_audit_key_id(pk, a->key_id);
    rc = write_pubkey(a->key_path, pk);
    if (rc < 0)
        zt_errf(err, errlen, "write %s.pub: %s", a->key_path, strerror(-rc));
    return rc;
}

/* ---- recovery ---- */

static int pread_all(int fd, char *buf, size_t n, uint64_t off)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = pread(fd, buf + got, n - got, (off_t)(off + got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -errno;
        if (r == 0)
            return -EIO;
        got += (size_t)r;
    }
    return 0;
}

/* Continue the chain from the last complete record, after checking it matches its own hash. */
static int adopt_last(zt_audit *a, const char *line, size_t len, resume *r, char *err,
                      size_t errlen)
{
    zt_audit_line l;
    char h[ZT_AUDIT_HEX + 1];
    if (!zt_audit_line_parse(line, len, &l)) {
        zt_errf(err, errlen, "%s: last record is malformed; run `ztgate audit verify`", a->path);
        return -EBADMSG;
    }
    zt_audit_line_hash(l.prev, line, l.hashed_len, h);
    if (memcmp(h, l.hash, ZT_AUDIT_HEX) != 0) {
        zt_errf(err, errlen,
                "%s: last record (seq %llu) does not match its hash; run `ztgate audit verify`",
                a->path, (unsigned long long)l.seq);
        return -EBADMSG;
    }
    memcpy(a->head, l.hash, ZT_AUDIT_HEX);
    a->head[ZT_AUDIT_HEX] = '\0';
    a->next_seq = l.seq + 1;
    r->last_seq = l.seq;
    r->unclean = !l.checkpoint;
    return 0;
}

/* Chain state from the last complete line of a file of `size` bytes. A torn tail (bytes after
 * the last newline, from a crash mid-write) is cut when `cut` is set; those records were never
 * reported durable. *empty is set when no complete record remains. */
static int recover_file(zt_audit *a, int fd, uint64_t size, bool cut, resume *r, bool *empty,
                        char *err, size_t errlen)
{
    size_t win = size < TAIL_WINDOW ? (size_t)size : TAIL_WINDOW;
    uint64_t base = size - win;
    char *buf = malloc(win + 1);
    if (buf == NULL)
        return -ENOMEM;
    int rc = pread_all(fd, buf, win, base);
    size_t end = win; /* one past the last complete line's newline */
    while (rc == 0 && end > 0 && buf[end - 1] != '\n')
        end--;
    if (rc == 0 && end == 0 && base > 0) {
        zt_errf(err, errlen, "%s: no complete record in the last %zu bytes", a->path, win);
        rc = -EBADMSG;
    }
    if (rc == 0 && end < win) {
        if (!cut) {
            zt_errf(err, errlen, "%s: rotated file ends with a partial record", a->path);
            rc = -EBADMSG;
        } else if (ftruncate(fd, (off_t)(base + end)) < 0 || fdatasync(fd) < 0) {
            rc = -errno;
            zt_errf(err, errlen, "cut torn tail of %s: %s", a->path, strerror(errno));
        } else {
            r->truncated_bytes = win - end;
        }
    }
    *empty = rc == 0 && end == 0;
    if (rc == 0 && end > 0) {
        size_t s = end - 1;
        while (s > 0 && buf[s - 1] != '\n')
            s--;
        if (s == 0 && base > 0) {
            zt_errf(err, errlen, "%s: last record longer than %zu bytes", a->path, win);
            rc = -EBADMSG;
        } else {
            rc = adopt_last(a, buf + s, end - 1 - s, r, err, errlen);
        }
    }
    free(buf);
    return rc;
}

static int first_seq_of(zt_audit *a, uint64_t size, char *err, size_t errlen)
{
    char buf[64];
    size_t n = size < sizeof(buf) ? (size_t)size : sizeof(buf);
    int rc = pread_all(a->fd, buf, n, 0);
    a->file_first_seq = rc == 0 ? zt_audit_line_seq(buf, n) : 0;
    if (a->file_first_seq == 0) {
        zt_errf(err, errlen, "%s: first record is malformed; run `ztgate audit verify`", a->path);
        return -EBADMSG;
    }
    return 0;
}

/* Highest N among <log name>.N in the log's directory; 0 when there is none. */
static uint64_t newest_rotated(zt_audit *a)
{
    const char *slash = strrchr(a->path, '/');
    const char *base = slash ? slash + 1 : a->path;
    size_t bl = strlen(base);
    DIR *d = opendir(a->dir);
    uint64_t best = 0;
    if (d == NULL)
        return 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        size_t n = strlen(e->d_name);
        unsigned long long v;
        if (n > bl + 1 && memcmp(e->d_name, base, bl) == 0 && e->d_name[bl] == '.' &&
            zt_parse_u64(e->d_name + bl + 1, n - bl - 1, UINT64_MAX, &v) && v > best)
            best = v;
    }
    closedir(d);
    return best;
}

/* The live file is empty (fresh, or a crash right after rotation): continue from the newest
 * rotated file, or start the chain at seq 1. */
static int recover_rotated(zt_audit *a, resume *r, char *err, size_t errlen)
{
    uint64_t n = newest_rotated(a);
    if (n == 0)
        return 0;
    char path[PATH_MAX];
    int len = snprintf(path, sizeof(path), "%s.%llu", a->path, (unsigned long long)n);
    if (len < 0 || (size_t)len >= sizeof(path))
        return -ENAMETOOLONG;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        zt_errf(err, errlen, "open %s: %s", path, strerror(errno));
        return -errno;
    }
    struct stat st;
    bool empty = true;
    int rc = fstat(fd, &st) < 0 ? -errno : 0;
    if (rc == 0 && st.st_size > 0)
        rc = recover_file(a, fd, (uint64_t)st.st_size, false, r, &empty, err, errlen);
    close(fd);
    if (rc == 0 && empty) {
        zt_errf(err, errlen, "%s is empty", path);
        rc = -EBADMSG;
    }
    return rc;
}

static int recover(zt_audit *a, resume *r, char *err, size_t errlen)
{
    struct stat st;
    if (fstat(a->fd, &st) < 0) {
        zt_errf(err, errlen, "stat %s: %s", a->path, strerror(errno));
        return -errno;
    }
    a->regular = S_ISREG(st.st_mode);
    if (!a->regular) /* a device (tests use /dev/full): nothing to resume, never rotated */
        return 0;
    uint64_t size = (uint64_t)st.st_size;
    if (size > 0) {
        bool empty;
        int rc = recover_file(a, a->fd, size, true, r, &empty, err, errlen);
        if (rc < 0 || !empty) {
            a->file_bytes = size - r->truncated_bytes;
            return rc < 0 ? rc : first_seq_of(a, a->file_bytes, err, errlen);
        }
    }
    return recover_rotated(a, r, err, errlen);
}

/* ---- lifecycle ---- */

static int lifecycle_event(zt_buf *b, unsigned activity, zt_event_severity sev, const char *msg,
                           const resume *r, const char *key_id)
{
    zt_event ev;
    zt_event_begin(&ev, b, ZT_EV_APP_LIFECYCLE, activity, sev);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", msg);
    zt_event_str(&ev, "app.name", "ztgate-audit");
    if (r != NULL) {
        zt_event_uint(&ev, "unmapped.audit.resumed_after_seq", r->last_seq);
        zt_event_bool(&ev, "unmapped.audit.unclean_shutdown", r->unclean);
        zt_event_uint(&ev, "unmapped.audit.truncated_bytes", r->truncated_bytes);
    }
    zt_event_str(&ev, "unmapped.audit.key_id", key_id);
    return zt_event_end(&ev);
}

/* Queue an internal event and a checkpoint, bypassing the queue limit. Caller holds mu. */
static int enqueue_sealed(zt_audit *a, const zt_buf *ev)
{
    if (enqueue_locked(a, ITEM_EVENT, ev->data + 1, ev->len - 2) == 0 ||
        enqueue_locked(a, ITEM_CHECKPOINT, NULL, 0) == 0)
        return -ENOMEM;
    return 0;
}

static int start_log(zt_audit *a, const resume *r)
{
    zt_buf b;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    bool bad = r->unclean || r->truncated_bytes > 0;
    int rc = lifecycle_event(&b, ZT_ACT_APP_START, bad ? ZT_SEV_MEDIUM : ZT_SEV_INFO,
                             r->truncated_bytes > 0 ? "audit log opened; torn last record cut"
                                                    : "audit log opened",
                             r, a->key_id);
    if (rc == 0) {
        pthread_mutex_lock(&a->mu);
        rc = enqueue_sealed(a, &b);
        pthread_mutex_unlock(&a->mu);
    }
    zt_buf_dispose(&b);
    memcpy(a->written_head, a->head, sizeof(a->head));
    if (rc == 0)
        rc = -pthread_create(&a->thread, NULL, writer_main, a);
    a->thread_started = rc == 0;
    return rc;
}

static void free_audit(zt_audit *a)
{
    zt_export_free(a->exp); /* the writer has stopped: flushes what it handed over */
    if (a->fd >= 0)
        close(a->fd);
    batch_dispose(&a->q);
    batch_dispose(&a->w);
    zt_buf_dispose(&a->out);
    if (a->sk != NULL)
        sodium_free(a->sk);
    pthread_mutex_destroy(&a->mu);
    pthread_mutex_destroy(&a->role);
    pthread_mutex_destroy(&a->wmu);
    pthread_cond_destroy(&a->wake);
    pthread_cond_destroy(&a->done);
    free(a->path);
    free(a->key_path);
    free(a->dir);
    free(a);
}

static zt_audit *alloc_audit(const zt_audit_cfg *cfg)
{
    zt_audit *a = calloc(1, sizeof(*a));
    if (a == NULL)
        return NULL;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&a->mu, NULL);
    pthread_mutex_init(&a->role, NULL);
    pthread_mutex_init(&a->wmu, NULL);
    pthread_cond_init(&a->wake, &ca);
    pthread_cond_init(&a->done, &ca);
    pthread_condattr_destroy(&ca);
    a->fd = -1;
    a->next_seq = 1;
    memcpy(a->head, ZT_AUDIT_GENESIS, sizeof(a->head));
    a->checkpoint_every = cfg->checkpoint_every;
    a->cp_interval_us = cfg->checkpoint_interval_ms * 1000;
    a->fsync_interval_us = cfg->fsync_interval_ms * 1000;
    a->rotate_bytes = cfg->rotate_bytes;
    a->rotate_interval_us = cfg->rotate_interval_ms * 1000;
    a->file_opened_us = zt_mono_us();
    a->queue_limit = cfg->queue_limit ? cfg->queue_limit : DEFAULT_QUEUE_LIMIT;
    size_t qbytes = (size_t)a->queue_limit * QUEUE_BYTES_PER_EVENT;
    qbytes = qbytes < QUEUE_BYTES_MIN ? QUEUE_BYTES_MIN : qbytes;
    batch_init(&a->q, qbytes);
    batch_init(&a->w, qbytes);
    zt_buf_init(&a->out, 0);
    atomic_store(&a->fail_budget, UINT64_MAX);
    a->last_cp_us = zt_mono_us();
    a->path = strdup(cfg->path);
    a->key_path = strdup(cfg->signing_key_file);
    a->dir = dir_of(cfg->path);
    if (a->path == NULL || a->key_path == NULL || a->dir == NULL) {
        free_audit(a);
        return NULL;
    }
    return a;
}

static int open_files(zt_audit *a, char *err, size_t errlen)
{
    int rc = zt_mkdir_p(a->dir, 0700, NULL, 0);
    if (rc < 0) {
        zt_errf(err, errlen, "create directory %s: %s", a->dir, strerror(-rc));
        return rc;
    }
    rc = load_key(a, err, errlen);
    if (rc < 0)
        return rc;
    rc = open_log(a->path, false, &a->fd);
    if (rc == -EBUSY)
        zt_errf(err, errlen, "%s is in use by another process", a->path);
    else if (rc < 0)
        zt_errf(err, errlen, "open %s: %s", a->path, strerror(-rc));
    return rc;
}

zt_audit *zt_audit_open(const zt_audit_cfg *cfg, char *err, size_t errlen)
{
    zt_errf(err, errlen, "%s", "");
    if (cfg == NULL || cfg->path == NULL || strcmp(cfg->path, "off") == 0 ||
        cfg->signing_key_file == NULL) {
        zt_errf(err, errlen, "audit: path and signing_key_file are required");
        return NULL;
    }
    if (sodium_init() < 0) {
        zt_errf(err, errlen, "audit: libsodium failed to initialise");
        return NULL;
    }
    zt_audit *a = alloc_audit(cfg);
    if (a == NULL) {
        zt_errf(err, errlen, "audit: out of memory");
        return NULL;
    }
    resume r = {0};
    int rc = open_files(a, err, errlen);
    if (rc == 0)
        rc = recover(a, &r, err, errlen);
    if (rc == 0 && cfg->n_exports > 0 &&
        (a->exp = zt_export_new(cfg->exports, cfg->n_exports, err, errlen)) == NULL)
        rc = -EINVAL;
    if (rc == 0) {
        rc = start_log(a, &r);
        if (rc < 0)
            zt_errf(err, errlen, "audit: start writer: %s", strerror(-rc));
    }
    if (rc < 0) {
        free_audit(a);
        return NULL;
    }
    return a;
}

int zt_audit_close(zt_audit *a)
{
    if (a == NULL)
        return 0;
    if (a->thread_started) {
        zt_buf b;
        zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
        int rc =
            lifecycle_event(&b, ZT_ACT_APP_STOP, ZT_SEV_INFO, "audit log closed", NULL, a->key_id);
        pthread_mutex_lock(&a->mu);
        if (rc == 0 && !atomic_load(&a->failed))
            enqueue_sealed(a, &b);
        a->closing = true;
        pthread_cond_signal(&a->wake);
        pthread_mutex_unlock(&a->mu);
        zt_buf_dispose(&b);
        pthread_join(a->thread, NULL);
    }
    int rc = atomic_load(&a->failed) ? -EIO : 0;
    free_audit(a);
    return rc;
}

/* ---- observers ---- */

uint64_t zt_audit_durable_seq(const zt_audit *a)
{
    return atomic_load_explicit(&a->durable, memory_order_acquire);
}

uint64_t zt_audit_synced_seq(const zt_audit *a)
{
    return atomic_load_explicit(&a->synced, memory_order_acquire);
}

bool zt_audit_failed(const zt_audit *a)
{
    return atomic_load_explicit(&a->failed, memory_order_acquire);
}

const char *zt_audit_failure(const zt_audit *a)
{
    return zt_audit_failed(a) ? a->reason : "";
}

zt_audit_state zt_audit_ticket_state(const zt_audit *a, uint64_t ticket)
{
    uint64_t e = ticket >> TICKET_SEQ_BITS;
    uint64_t seq = ticket & TICKET_SEQ_MASK;
    for (;;) {
        uint64_t cur = atomic_load(&a->epoch);
        if (e > cur || cur - e >= EPOCHS_KEPT)
            return ZT_AUDIT_LOST;
        if (e < cur)
            return seq <= atomic_load(&a->epoch_end[e % EPOCHS_KEPT]) ? ZT_AUDIT_WRITTEN
                                                                      : ZT_AUDIT_LOST;
        uint64_t durable = atomic_load(&a->durable);
        /* A failure in between may have given this seq to a newer record: look again. */
        if (atomic_load(&a->epoch) == cur)
            return seq <= durable ? ZT_AUDIT_WRITTEN : ZT_AUDIT_PENDING;
    }
}

bool zt_audit_wait(zt_audit *a, uint64_t ticket, bool synced, uint64_t timeout_ms)
{
    uint64_t seq = ticket & TICKET_SEQ_MASK;
    uint64_t now = zt_mono_us();
    uint64_t deadline =
        timeout_ms < (UINT64_MAX - now) / 1000 ? now + timeout_ms * 1000 : UINT64_MAX;
    bool ok = false;
    pthread_mutex_lock(&a->mu);
    a->waiters++;
    for (;;) {
        zt_audit_state st = zt_audit_ticket_state(a, ticket);
        if (st == ZT_AUDIT_WRITTEN && (!synced || zt_audit_synced_seq(a) >= seq)) {
            ok = true;
            break;
        }
        if (st == ZT_AUDIT_LOST || zt_audit_failed(a) || zt_mono_us() >= deadline)
            break;
        struct timespec ts = {.tv_sec = (time_t)(deadline / 1000000),
                              .tv_nsec = (long)(deadline % 1000000) * 1000};
        if (deadline == UINT64_MAX)
            pthread_cond_wait(&a->done, &a->mu);
        else
            pthread_cond_timedwait(&a->done, &a->mu, &ts);
    }
    a->waiters--;
    pthread_mutex_unlock(&a->mu);
    return ok;
}

int zt_audit_watch(zt_audit *a, zt_audit_notify_fn fn, void *arg)
{
    if (fn == NULL)
        return -EINVAL;
    int rc = 0;
    pthread_mutex_lock(&a->wmu);
    if (a->nwatchers == ZT_AUDIT_MAX_WATCHERS)
        rc = -ENOSPC;
    else
        a->watchers[a->nwatchers++] = (watcher){fn, arg};
    pthread_mutex_unlock(&a->wmu);
    return rc;
}

int zt_audit_unwatch(zt_audit *a, zt_audit_notify_fn fn, void *arg)
{
    int rc = -ENOENT;
    pthread_mutex_lock(&a->wmu);
    for (size_t i = 0; i < a->nwatchers; i++) {
        if (a->watchers[i].fn == fn && a->watchers[i].arg == arg) {
            a->watchers[i] = a->watchers[--a->nwatchers];
            rc = 0;
            break;
        }
    }
    pthread_mutex_unlock(&a->wmu);
    return rc;
}

static void wake_loop(void *arg)
{
    uv_async_send(arg);
}

int zt_audit_watch_async(zt_audit *a, struct uv_async_s *async)
{
    return zt_audit_watch(a, wake_loop, async);
}

int zt_audit_unwatch_async(zt_audit *a, struct uv_async_s *async)
{
    return zt_audit_unwatch(a, wake_loop, async);
}

void zt_audit_metrics_get(zt_audit *a, zt_audit_metrics *m)
{
    pthread_mutex_lock(&a->mu);
    m->queue_depth = a->q.events + a->inflight;
    pthread_mutex_unlock(&a->mu);
    m->appended = atomic_load(&a->m_appended);
    m->checkpoints = atomic_load(&a->m_checkpoints);
    m->fsyncs = atomic_load(&a->m_fsyncs);
    m->fsync_us_total = atomic_load(&a->m_fsync_us);
    m->fsync_us_max = atomic_load(&a->m_fsync_max);
    m->drops = atomic_load(&a->m_drops);
    m->bytes = atomic_load(&a->m_bytes);
    m->rotations = atomic_load(&a->m_rotations);
    m->failed = zt_audit_failed(a);
}

void zt_audit_test_fail_after(zt_audit *a, uint64_t bytes)
{
    atomic_store(&a->fail_budget, bytes);
}
