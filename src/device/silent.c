/* Device signals that no request brings (device.h "signals without a request"): a timer in the
 * gateway sweeps the devices; each sweep covers the interval since the previous one, kept in
 * the sweep file, so every silence and every staleness is signalled exactly once. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "core/log.h"
#include "device/device_int.h"
#include "lib/secure.h"

#define SWEEP_RECORD_MAX 8192

uint64_t zt_devices_sweep_interval_ms(const zt_devices *d)
{
    uint64_t ms = d != NULL ? (uint64_t)d->silent_after_s * 1000 / 4 : 60000;
    return ms < 250 ? 250 : ms > 60000 ? 60000 : ms;
}

/* Devices whose silence or staleness began in the interval (copied: signalling writes the
 * store, which a listing callback must not). */
typedef struct found {
    zt_store_device *dev;
    bool *stale; /* else silent */
    size_t n, cap;
    int64_t from, to, silent_after, max_age;
} found;

static int keep(found *f, const zt_store_device *dev, bool stale)
{
    if (f->n == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 16;
        zt_store_device *d = realloc(f->dev, cap * sizeof(*d));
        if (d == NULL)
            return -ENOMEM;
        f->dev = d;
        bool *s = realloc(f->stale, cap * sizeof(*s));
        if (s == NULL)
            return -ENOMEM;
        f->stale = s;
        f->cap = cap;
    }
    f->dev[f->n] = *dev;
    f->stale[f->n++] = stale;
    return 0;
}

static int consider(void *ctx, const zt_store_device *dev)
{
    found *f = ctx;
    if (dev->revoked_at != 0)
        return 0;
    int64_t last = dev->last_seen_at > 0 ? dev->last_seen_at : dev->enrolled_at;
    int rc = 0;
    if (zt_device_silence_began(last, f->silent_after, f->from, f->to))
        rc = keep(f, dev, false);
    /* Judged compliant at its last report, and that report just went stale: compliance broke
     * by time alone. (A device already non-compliant was signalled when it broke.) */
    if (rc == 0 && dev->compliant && dev->posture_at > 0 &&
        zt_device_silence_began(dev->posture_at, f->max_age, f->from, f->to))
        rc = keep(f, dev, true);
    return rc;
}

static void signal_one(zt_devices *d, struct zt_response *resp, const zt_store_device *dev,
                       bool stale, int64_t now, zt_devices_audit_fn audit, void *ctx,
                       zt_devices_sweep_result *out)
{
    char id[33];
    zt_random_hex(id, 16);
    int64_t last = dev->last_seen_at > 0 ? dev->last_seen_at : dev->enrolled_at;
    zt_compliance failed = {.compliant = false, .n_failed = 1};
    snprintf(failed.failed[0].rule, sizeof(failed.failed[0].rule), "posture_stale");
    snprintf(failed.failed[0].message, sizeof(failed.failed[0].message),
             "The device has not reported for longer than %" PRId64 " minutes",
             d->rules.max_report_age_s / 60);
    zt_dev_signal s = {.kind = stale ? ZT_DS_NONCOMPLIANT : ZT_DS_SILENT,
                       .dev = dev,
                       .failed = &failed,
                       .quiet_s = now > last ? now - last : 0,
                       .last_seen = dev->last_seen_at,
                       .request_id = id,
                       .now = now};
    zt_buf b;
    zt_buf_init(&b, SWEEP_RECORD_MAX);
    int rc = zt_dev_signal_record(&s, &b);
    if (rc == 0 && audit != NULL)
        rc = audit(ctx, b.data, b.len);
    zt_buf_dispose(&b);
    if (rc != 0)
        zt_error("device %s: the %s record could not be audited: %s", dev->id,
                 zt_dev_signal_type(s.kind), strerror(-rc));
    int src = zt_dev_signal_respond(resp, &s);
    if (src != 0)
        zt_error("device %s: incident response for %s failed: %s", dev->id,
                 zt_dev_signal_type(s.kind), strerror(-src));
    zt_devices_invalidate(d, dev->id); /* a playbook may have isolated it */
    out->failed += rc != 0 || src != 0;
    out->silent += !stale;
    out->stale += stale;
}

/* The end of the interval swept so far: 0 when the file is new or unreadable as a number. */
static int64_t read_mark(int fd)
{
    char buf[32];
    ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);
    if (n <= 0)
        return 0;
    buf[n] = '\0';
    char *end = NULL;
    long long v = strtoll(buf, &end, 10);
    return end != buf && (*end == '\n' || *end == '\0') && v > 0 ? v : 0;
}

int64_t zt_devices_swept_until(zt_devices *d)
{
    int64_t mine = atomic_load(&d->swept_until);
    int fd = d->sweep_file != NULL ? open(d->sweep_file, O_RDONLY | O_CLOEXEC | O_NOFOLLOW) : -1;
    if (fd < 0)
        return mine;
    int64_t mark = read_mark(fd);
    close(fd);
    return mark > mine ? mark : mine;
}

static int write_mark(int fd, int64_t t)
{
    char buf[32];
    int n = snprintf(buf, sizeof(buf), "%" PRId64 "\n", t);
    if (pwrite(fd, buf, (size_t)n, 0) != n || ftruncate(fd, n) != 0)
        return -errno;
    return 0;
}

int zt_devices_sweep(zt_devices *d, struct zt_response *resp, int64_t now,
                     zt_devices_audit_fn audit, void *audit_ctx, zt_devices_sweep_result *out)
{
    zt_devices_sweep_result ignored;
    out = out != NULL ? out : &ignored;
    memset(out, 0, sizeof(*out));
    if (d == NULL || d->sweep_file == NULL || d->silent_after_s <= 0) {
        out->skipped = true;
        return 0;
    }
    int fd = open(d->sweep_file, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int e = errno;
        close(fd);
        out->skipped = e == EWOULDBLOCK;
        return out->skipped ? 0 : -e;
    }
    /* A clock that went back sweeps nothing until it passes the mark again. */
    int64_t from = read_mark(fd);
    int rc = 0;
    if (from < now) {
        found f = {.from = from,
                   .to = now,
                   .silent_after = d->silent_after_s,
                   .max_age = d->rules.max_report_age_s};
        rc = zt_store_device_list(d->store, NULL, consider, &f);
        if (rc == 0)
            rc = write_mark(fd, now);
        /* Marked first: a crash while signalling loses signals rather than repeating them. */
        for (size_t i = 0; rc == 0 && i < f.n; i++)
            signal_one(d, resp, &f.dev[i], f.stale[i], now, audit, audit_ctx, out);
        free(f.dev);
        free(f.stale);
    }
    if (rc == 0 || from >= now)
        atomic_store(&d->swept_until, now > from ? now : from);
    flock(fd, LOCK_UN);
    close(fd);
    return rc;
}
