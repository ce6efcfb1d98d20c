/* Audit writer benchmark: appends/s of the real writer (zt_audit_open: hash chain, Ed25519
 * checkpoints, group fsync) with 1, 2 and 4 producer threads.
 *
 *   audit_bench [--seconds S] [--dir DIR] [--proxy-rps R] [--proxy-source TEXT] [THREADS...]
 *   audit_bench --print-event          (one of the events, to see what is measured)
 *
 * For each producer count: a fresh log in a new directory under DIR (default $TMPDIR or /tmp)
 * with the default settings (checkpoint every 1000 records or 10 s, fsync window 5 ms, 64 MiB
 * rotation, queue of 65536); every producer submits pre-built ~600-byte HTTP Activity events
 * (src/audit/event.h, the fields the proxy writes) in a closed loop for S seconds. A refused
 * submit (queue full) makes that producer wait for the writer and is counted. The clock stops when
 * the last accepted event is fdatasync'ed, so appends/s = events accepted / (start .. all synced).
 * zt_audit_submit is timed on every call (clock_gettime(CLOCK_MONOTONIC) around it; the timer's own
 * cost is printed) into a log-linear histogram (3 % resolution). fsync count and latency come from
 * zt_audit_metrics_get.
 *
 * With --proxy-rps, each row and the summary also give appends/s ÷ the proxy's peak req/s (goal:
 * >= 1.5). Performance is printed, never asserted: the exit status is 0 unless the log itself
 * failed. */
#include <errno.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statfs.h>
#include <time.h>
#include <unistd.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "lib/buf.h"

#define AB_EVENTS_PER_THREAD 1024u
#define AB_MAX_THREADS 64u
#define AB_HBUCKETS 2048u /* log-linear: 32 sub-buckets per power of two */
#define AB_SYNC_TIMEOUT_MS 60000u

static uint64_t ab_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- latency histogram ---- */

static unsigned ab_bucket(uint64_t v)
{
    if (v < 32)
        return (unsigned)v;
    unsigned msb = 63u - (unsigned)__builtin_clzll(v);
    unsigned shift = msb - 5u;
    return (msb - 4u) * 32u + (unsigned)((v >> shift) & 31u);
}

/* Middle of a bucket's range. */
static uint64_t ab_bucket_value(unsigned b)
{
    if (b < 32)
        return b;
    unsigned shift = b / 32u - 1u;
    uint64_t lo = (uint64_t)(32u + b % 32u) << shift;
    return lo + ((1ull << shift) >> 1);
}

static uint64_t ab_percentile(const uint64_t *hist, uint64_t total, double p)
{
    if (total == 0)
        return 0;
    uint64_t want = (uint64_t)(p * (double)total);
    if (want >= total)
        want = total - 1;
    uint64_t seen = 0;
    for (unsigned b = 0; b < AB_HBUCKETS; b++) {
        seen += hist[b];
        if (seen > want)
            return ab_bucket_value(b);
    }
    return ab_bucket_value(AB_HBUCKETS - 1);
}

/* ---- events ---- */

/* One HTTP Activity event as the proxy writes it (src/proxy/conn.c audit_decision), for request
 * number i of producer t: ~600 bytes. */
static int ab_build_event(zt_buf *b, unsigned t, unsigned i)
{
    char path[256], ip[64], uid[64], email[96], rid[64];
    switch (i % 4) {
    case 0:
        snprintf(path, sizeof(path), "/api/v2/projects/%u/reports/summary?page=%u", 1000u + i,
                 t * 7919u + i);
        break;
    case 1:
        snprintf(path, sizeof(path), "/static/js/vendor.%08x.min.js", i * 2654435761u);
        break;
    case 2:
        snprintf(path, sizeof(path), "/dashboard/teams/%u/members/%u", t + 1u, i);
        break;
    default:
        snprintf(path, sizeof(path), "/graphql?op=ListInvoices&first=%u", i % 100u);
        break;
    }
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", 20u + t, (i >> 8) & 255u, i & 255u);
    snprintf(uid, sizeof(uid), "usr_%04u%08x", t, i * 2654435761u);
    snprintf(email, sizeof(email), "user%u.%u@example.com", t, i % 997u);
    snprintf(rid, sizeof(rid), "%08x-%u-%u", 0x5eed0000u + t, t + 1u, i + 1u);

    zt_buf_reset(b);
    zt_event ev;
    zt_event_begin(&ev, b, ZT_EV_HTTP_ACTIVITY, 3, ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_str(&ev, "message", "request allowed");
    zt_event_str(&ev, "src_endpoint.ip", ip);
    zt_event_uint(&ev, "src_endpoint.port", 32768u + (i * 37u) % 28000u);
    zt_event_str(&ev, "http_request.http_method", "GET");
    zt_event_str(&ev, "http_request.url.hostname", "reports.example.com");
    zt_event_str(&ev, "http_request.url.path", path);
    zt_event_str(&ev, "http_request.url.scheme", "https");
    zt_event_str(&ev, "app.name", "reports");
    zt_event_str(&ev, "actor.user.uid", uid);
    zt_event_str(&ev, "actor.user.email_addr", email);
    zt_event_str(&ev, "decision", "allow");
    zt_event_str(&ev, "reasons", "signed in; every applicable policy satisfied");
    zt_event_str(&ev, "policies", "require-mfa");
    zt_event_metadata(&ev, rid, NULL);
    return zt_event_end(&ev);
}

/* ---- producers ---- */

typedef struct ab_thread {
    pthread_t tid;
    zt_audit *a;
    unsigned id;
    uint64_t duration_ns;
    pthread_barrier_t *start;
    char *ev[AB_EVENTS_PER_THREAD];
    size_t evlen[AB_EVENTS_PER_THREAD];
    uint64_t accepted, full, last_seq;
    bool failed;
    uint64_t hist[AB_HBUCKETS];
} ab_thread;

static void *ab_producer(void *arg)
{
    ab_thread *t = arg;
    pthread_barrier_wait(t->start);
    uint64_t now = ab_ns();
    uint64_t deadline = now + t->duration_ns;
    unsigned i = 0;
    while (now < deadline) {
        unsigned k = i++ % AB_EVENTS_PER_THREAD;
        uint64_t t0 = ab_ns();
        uint64_t seq = zt_audit_submit(t->a, t->ev[k], t->evlen[k]);
        now = ab_ns();
        if (seq > 0) {
            t->hist[ab_bucket(now - t0)]++;
            t->accepted++;
            t->last_seq = seq;
            continue;
        }
        if (zt_audit_failed(t->a)) {
            t->failed = true;
            break;
        }
        /* Queue full: wait for the writer (this producer's last record written, or at least
         * the next write) instead of spinning on the queue lock. */
        t->full++;
        uint64_t target = t->last_seq;
        if (target <= zt_audit_durable_seq(t->a))
            target = zt_audit_durable_seq(t->a) + 1;
        if (!zt_audit_wait(t->a, target, false, 1000))
            usleep(100);
        now = ab_ns();
    }
    return NULL;
}

/* ---- one run ---- */

typedef struct ab_result {
    unsigned threads;
    double seconds;                /* start .. last event synced */
    double produce_s;              /* the producers' loop */
    uint64_t accepted;             /* events */
    uint64_t full;                 /* refused submits (queue full), retried */
    uint64_t p50, p99, p999, pmax; /* enqueue ns */
    zt_audit_metrics m;
    double event_bytes;
    bool ok;
} ab_result;

static int ab_rm(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static bool ab_run(const char *base, unsigned nthreads, double seconds, ab_result *res)
{
    memset(res, 0, sizeof(*res));
    res->threads = nthreads;
    char dir[4096], path[4200], key[4200];
    snprintf(dir, sizeof(dir), "%s/audit-bench-XXXXXX", base);
    if (mkdtemp(dir) == NULL) {
        fprintf(stderr, "audit_bench: mkdtemp in %s: %s\n", base, strerror(errno));
        return false;
    }
    snprintf(path, sizeof(path), "%s/log/audit.log", dir);
    snprintf(key, sizeof(key), "%s/keys/signing.key", dir);
    /* The defaults of config.c (audit.* keys): what a gateway runs with. */
    zt_audit_cfg cfg = {.path = path,
                        .signing_key_file = key,
                        .checkpoint_every = 1000,
                        .checkpoint_interval_ms = 10000,
                        .fsync_interval_ms = 5,
                        .rotate_bytes = 64ull << 20,
                        .queue_limit = 65536};
    char err[512];
    zt_audit *a = zt_audit_open(&cfg, err, sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "audit_bench: zt_audit_open: %s\n", err);
        nftw(dir, ab_rm, 16, FTW_DEPTH | FTW_PHYS);
        return false;
    }

    ab_thread *th = calloc(nthreads, sizeof(*th));
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, nthreads + 1);
    zt_buf b;
    zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
    uint64_t ev_bytes = 0, ev_count = 0;
    bool ok = th != NULL;
    for (unsigned t = 0; ok && t < nthreads; t++) {
        th[t].a = a;
        th[t].id = t;
        th[t].duration_ns = (uint64_t)(seconds * 1e9);
        th[t].start = &start;
        for (unsigned i = 0; ok && i < AB_EVENTS_PER_THREAD; i++) {
            if (ab_build_event(&b, t, i) < 0 || (th[t].ev[i] = malloc(b.len)) == NULL) {
                fprintf(stderr, "audit_bench: could not build an event\n");
                ok = false;
                break;
            }
            memcpy(th[t].ev[i], b.data, b.len);
            th[t].evlen[i] = b.len;
            ev_bytes += b.len;
            ev_count++;
        }
    }
    zt_buf_dispose(&b);
    if (!ok) {
        zt_audit_close(a);
        nftw(dir, ab_rm, 16, FTW_DEPTH | FTW_PHYS);
        free(th);
        return false;
    }
    res->event_bytes = (double)ev_bytes / (double)ev_count;

    for (unsigned t = 0; t < nthreads; t++)
        pthread_create(&th[t].tid, NULL, ab_producer, &th[t]);
    pthread_barrier_wait(&start);
    uint64_t t_start = ab_ns();
    uint64_t max_seq = 0;
    static uint64_t hist[AB_HBUCKETS];
    memset(hist, 0, sizeof(hist));
    for (unsigned t = 0; t < nthreads; t++) {
        pthread_join(th[t].tid, NULL);
        res->accepted += th[t].accepted;
        res->full += th[t].full;
        if (th[t].last_seq > max_seq)
            max_seq = th[t].last_seq;
        for (unsigned k = 0; k < AB_HBUCKETS; k++)
            hist[k] += th[t].hist[k];
        if (th[t].failed)
            ok = false;
    }
    uint64_t t_produced = ab_ns();
    /* Every accepted event on disk and fdatasync'ed before the clock stops. */
    if (max_seq > 0 && !zt_audit_wait(a, max_seq, true, AB_SYNC_TIMEOUT_MS)) {
        fprintf(stderr, "audit_bench: seq %llu not synced: %s\n", (unsigned long long)max_seq,
                zt_audit_failure(a));
        ok = false;
    }
    uint64_t t_end = ab_ns();
    zt_audit_metrics_get(a, &res->m);
    if (res->m.failed) {
        fprintf(stderr, "audit_bench: the log failed: %s\n", zt_audit_failure(a));
        ok = false;
    }
    if (zt_audit_close(a) != 0)
        ok = false;

    res->seconds = (double)(t_end - t_start) / 1e9;
    res->produce_s = (double)(t_produced - t_start) / 1e9;
    res->p50 = ab_percentile(hist, res->accepted, 0.50);
    res->p99 = ab_percentile(hist, res->accepted, 0.99);
    res->p999 = ab_percentile(hist, res->accepted, 0.999);
    for (unsigned k = AB_HBUCKETS; k-- > 0;)
        if (hist[k]) {
            res->pmax = ab_bucket_value(k);
            break;
        }
    res->ok = ok;

    for (unsigned t = 0; t < nthreads; t++)
        for (unsigned i = 0; i < AB_EVENTS_PER_THREAD; i++)
            free(th[t].ev[i]);
    free(th);
    pthread_barrier_destroy(&start);
    nftw(dir, ab_rm, 16, FTW_DEPTH | FTW_PHYS);
    return ok;
}

/* Cost of the clock_gettime pair around each submit (included in the latencies). */
static uint64_t ab_timer_overhead(void)
{
    uint64_t best = UINT64_MAX;
    for (int r = 0; r < 5; r++) {
        uint64_t t0 = ab_ns();
        for (int i = 0; i < 100000; i++)
            (void)ab_ns();
        uint64_t per = (ab_ns() - t0) / 100000u;
        if (per < best)
            best = per;
    }
    return best;
}

static const char *ab_fs_name(const char *dir)
{
    struct statfs s;
    if (statfs(dir, &s) != 0)
        return "?";
    switch ((unsigned long)s.f_type) {
    case 0xEF53:
        return "ext4";
    case 0x58465342:
        return "xfs";
    case 0x9123683E:
        return "btrfs";
    case 0x01021994:
        return "tmpfs (fsync is free: not representative)";
    case 0x794c7630:
        return "overlayfs";
    default:
        return "other";
    }
}

static void ab_us(char *out, size_t n, uint64_t ns)
{
    snprintf(out, n, "%.2f", (double)ns / 1000.0);
}

int main(int argc, char **argv)
{
    double seconds = 5.0, proxy_rps = 0.0;
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    const char *proxy_source = NULL;
    unsigned threads[16];
    size_t nthreads = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--seconds") == 0 && i + 1 < argc)
            seconds = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(argv[i], "--proxy-rps") == 0 && i + 1 < argc)
            proxy_rps = strtod(argv[++i], NULL);
        else if (strcmp(argv[i], "--proxy-source") == 0 && i + 1 < argc)
            proxy_source = argv[++i];
        else if (strcmp(argv[i], "--print-event") == 0) {
            zt_buf b;
            zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
            int rc = ab_build_event(&b, 0, 0);
            if (rc == 0)
                printf("%.*s\n(%zu bytes)\n", (int)b.len, b.data, b.len);
            zt_buf_dispose(&b);
            return rc == 0 ? 0 : 1;
        } else if (argv[i][0] != '-' && nthreads < 16) {
            unsigned long v = strtoul(argv[i], NULL, 10);
            if (v == 0 || v > AB_MAX_THREADS) {
                fprintf(stderr, "audit_bench: producer count must be 1..%u\n", AB_MAX_THREADS);
                return 2;
            }
            threads[nthreads++] = (unsigned)v;
        } else {
            fprintf(stderr, "usage: audit_bench [--seconds S] [--dir DIR] [--proxy-rps R] "
                            "[--proxy-source TEXT] [THREADS...] | --print-event\n");
            return 2;
        }
    }
    if (!(seconds > 0.0) || seconds > 3600.0) {
        fprintf(stderr, "audit_bench: --seconds must be in (0, 3600]\n");
        return 2;
    }
    if (nthreads == 0) {
        threads[0] = 1;
        threads[1] = 2;
        threads[2] = 4;
        nthreads = 3;
    }

    uint64_t timer = ab_timer_overhead();
    printf("audit writer: %.1f s per row, checkpoint every 1000 / 10 s, fsync window 5 ms, "
           "log on %s (%s)\n",
           seconds, dir, ab_fs_name(dir));
    printf("enqueue latency = clock_gettime around each zt_audit_submit (timer overhead %llu ns "
           "included); appends/s = events / (start .. last event fdatasync'ed)\n",
           (unsigned long long)timer);

    ab_result res[16];
    bool all_ok = true;
    for (size_t r = 0; r < nthreads; r++) {
        if (!ab_run(dir, threads[r], seconds, &res[r]))
            all_ok = false;
    }

    printf("\n%-9s %11s %10s %9s %6s %9s %9s %9s %9s %7s %10s %9s %6s %8s %8s\n", "producers",
           "appends/s", "events", "ev bytes", "full", "enq p50", "enq p99", "p99.9", "max",
           "fsyncs", "fsync mean", "fsync max", "ckpts", "MB/s", "drain");
    printf("%-9s %11s %10s %9s %6s %9s %9s %9s %9s %7s %10s %9s %6s %8s %8s\n", "", "", "", "", "",
           "(us)", "(us)", "(us)", "(us)", "", "(us)", "(us)", "", "", "(ms)");
    double worst = 0.0, best = 0.0;
    unsigned worst_t = 0, best_t = 0;
    for (size_t r = 0; r < nthreads; r++) {
        ab_result *x = &res[r];
        char p50[32], p99[32], p999[32], pmax[32];
        ab_us(p50, sizeof(p50), x->p50);
        ab_us(p99, sizeof(p99), x->p99);
        ab_us(p999, sizeof(p999), x->p999);
        ab_us(pmax, sizeof(pmax), x->pmax);
        double rate = x->seconds > 0 ? (double)x->accepted / x->seconds : 0.0;
        double fmean = x->m.fsyncs ? (double)x->m.fsync_us_total / (double)x->m.fsyncs : 0.0;
        printf("%-9u %11.0f %10llu %9.0f %6llu %9s %9s %9s %9s %7llu %10.0f %9llu %6llu %8.1f "
               "%8.0f%s\n",
               x->threads, rate, (unsigned long long)x->accepted, x->event_bytes,
               (unsigned long long)x->full, p50, p99, p999, pmax, (unsigned long long)x->m.fsyncs,
               fmean, (unsigned long long)x->m.fsync_us_max, (unsigned long long)x->m.checkpoints,
               x->seconds > 0 ? (double)x->m.bytes / x->seconds / 1e6 : 0.0,
               (x->seconds - x->produce_s) * 1e3, x->ok ? "" : "  (FAILED)");
        if (r == 0 || rate < worst) {
            worst = rate;
            worst_t = x->threads;
        }
        if (r == 0 || rate > best) {
            best = rate;
            best_t = x->threads;
        }
    }
    printf("full = submits refused (queue of 65536 full), the producer then waited for the "
           "writer; drain = producers stopped .. last event fdatasync'ed\n\n");

    if (proxy_rps > 0.0) {
        double ratio = worst / proxy_rps;
        printf(
            "audit summary: %.0f..%.0f appends/s (%u..%u producers); proxy peak %.0f req/s%s%s%s;"
            " appends/s / req/s = %.2fx at worst, %.2fx at best (goal >= 1.5x: %s)\n",
            worst, best, worst_t, best_t, proxy_rps, proxy_source ? " (" : "",
            proxy_source ? proxy_source : "", proxy_source ? ")" : "", ratio, best / proxy_rps,
            ratio >= 1.5 ? "met" : "MISSED");
    } else {
        printf("audit summary: %.0f..%.0f appends/s (%u..%u producers); proxy peak req/s "
               "unknown (pass --proxy-rps or BENCH_PROXY_RPS): no ratio\n",
               worst, best, worst_t, best_t);
    }
    return all_ok ? 0 : 1;
}
