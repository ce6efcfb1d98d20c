/* Console benchmark helper (bench/console/run.sh).
 *   console_bench gen DIR N        write DIR/audit.log (+ rotated files): N decision records as
 *                                  the pipeline writes them, plus a sign-in, MFA or detection
 *                                  record every 20, spread evenly over the last 30 days, through
 *                                  the real event builder and hash-chained writer. Prints the
 *                                  user, reference and time window the searches ask for.
 *   console_bench rollup LIVE      what the console holds: build the rollup over the log (cold),
 *                                  then answer the dashboard questions from it (warm), and print
 *                                  the times and the process's RSS. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/event.h"
#include "audit/query.h"
#include "lib/time.h"

#define DAY_US 86400000000LL
#define USERS 2000
#define APPS 8
#define POLICIES 20

static const char *const apps[APPS] = {"mail",  "wiki",    "payroll", "grades",
                                       "files", "library", "hr",      "console"};
static const char *const outcomes[] = {"allow", "block", "challenge", "sign_in"};
static const char *const detections[] = {"impossible_travel", "anonymous_ip", "password_spray",
                                         "malware", "leaked_credentials"};

static uint64_t rng = 0x9E3779B97F4A7C15ull;

static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* 85 % allow, 5 % block, 7 % challenge, 3 % sign-in. */
static const char *pick_outcome(void)
{
    unsigned r = (unsigned)(next_rand() % 100);
    return r < 85 ? outcomes[0] : r < 90 ? outcomes[1] : r < 97 ? outcomes[2] : outcomes[3];
}

static void decision(zt_event *ev, zt_buf *b, uint64_t i, unsigned user)
{
    char email[64], uid[40], ip[32], ref[48], path[64], dev[40], pol[160];
    const char *oc = pick_outcome();
    bool allowed = strcmp(oc, "allow") == 0;
    unsigned app = (unsigned)(next_rand() % APPS), p = (unsigned)(next_rand() % POLICIES);
    snprintf(email, sizeof(email), "user%04u@school.example", user);
    snprintf(uid, sizeof(uid), "%032x", user * 2654435761u);
    snprintf(ip, sizeof(ip), "10.%u.%u.%u", user % 200, (user / 200) % 250, (unsigned)(i % 250));
    snprintf(ref, sizeof(ref), "%08x-%u-%llx", (unsigned)(user * 40503u), (unsigned)(i % 4),
             (unsigned long long)i);
    snprintf(path, sizeof(path), "/docs/%llu", (unsigned long long)(next_rand() % 100000));
    snprintf(dev, sizeof(dev), "dev-%05u", user);
    /* the applicable policies: two enforced, and a report-only one every third request */
    snprintf(pol, sizeof(pol), "require-mfa-%02u,compliant-device-%02u%s", p, (p + 7) % POLICIES,
             i % 3 == 0 ? ",after-hours-block (report-only)" : "");
    zt_event_begin(ev, b, ZT_EV_HTTP_ACTIVITY, 3, allowed ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(ev, allowed ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(ev, "message", allowed ? "request allowed" : "request refused");
    zt_event_str(ev, "src_endpoint.ip", ip);
    zt_event_str(ev, "src_endpoint.location.country", "JP");
    zt_event_uint(ev, "src_endpoint.port", 30000 + i % 30000);
    zt_event_str(ev, "http_request.http_method", "GET");
    zt_event_str(ev, "http_request.url.hostname", apps[app]);
    zt_event_str(ev, "http_request.url.path", path);
    zt_event_str(ev, "http_request.url.scheme", "https");
    zt_event_str(ev, "app.name", apps[app]);
    zt_event_str(ev, "actor.user.uid", uid);
    zt_event_str(ev, "actor.user.email_addr", email);
    zt_event_str(ev, "device.uid", dev);
    zt_event_str(ev, "device.os.type", "windows");
    zt_event_str(ev, "device.os.type_source", "posture");
    zt_event_str(ev, "decision", oc);
    zt_event_str(ev, "reasons",
                 allowed ? "signed in; every applicable policy satisfied"
                         : "policy require-mfa requires mfa");
    zt_event_str(ev, "policies", pol);
    if (i % 3 == 0 && next_rand() % 4 == 0)
        zt_event_str(ev, "report_only.decision", "block");
    zt_event_metadata(ev, ref, NULL);
}

/* A sign-in, an MFA prompt or a detection, for the user. */
static void other(zt_event *ev, zt_buf *b, uint64_t i, unsigned user)
{
    char email[64], uid[40];
    snprintf(email, sizeof(email), "user%04u@school.example", user);
    snprintf(uid, sizeof(uid), "%032x", user * 2654435761u);
    unsigned kind = (unsigned)(i / 20 % 10);
    if (kind < 8) {
        bool mfa = kind >= 4, ok = next_rand() % 10 != 0;
        zt_event_begin(ev, b, ZT_EV_AUTHENTICATION, ZT_ACT_AUTH_LOGON,
                       ok ? ZT_SEV_INFO : ZT_SEV_LOW);
        zt_event_status(ev, ok ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
        zt_event_str(ev, "message",
                     mfa ? (ok ? "second factor accepted" : "second factor refused")
                         : (ok ? "password accepted; second factor pending" : "sign-in failed"));
        zt_event_str(ev, "user.email_addr", email);
        zt_event_str(ev, "user.uid", uid);
        zt_event_str(ev, "src_endpoint.ip", "10.9.8.7");
        zt_event_bool(ev, "is_mfa", mfa);
        return;
    }
    zt_event_begin(ev, b, ZT_EV_DETECTION_FINDING, ZT_ACT_FINDING_CREATE, ZT_SEV_MEDIUM);
    zt_event_status(ev, ZT_STATUS_SUCCESS);
    zt_event_str(ev, "message", "sign-in risk detected");
    zt_event_str(ev, "finding_info.title", "risk.detected");
    zt_event_arr_begin(ev, "finding_info.types");
    zt_event_str(ev, NULL, detections[next_rand() % 5]);
    zt_event_close(ev);
    zt_event_str(ev, "user.email_addr", email);
    zt_event_str(ev, "user.uid", uid);
}

static int gen(const char *dir, uint64_t n)
{
    char path[4096], key[4096], err[256];
    snprintf(path, sizeof(path), "%s/audit.log", dir);
    snprintf(key, sizeof(key), "%s/signing.key", dir);
    zt_audit_cfg cfg = {.path = path,
                        .signing_key_file = key,
                        .checkpoint_every = 1000,
                        .checkpoint_interval_ms = 10000,
                        .fsync_interval_ms = 50,
                        .rotate_bytes = 256ull << 20,
                        .queue_limit = 65536};
    int64_t end = zt_wall_us() - 60000000LL, start = end - 30 * DAY_US;
    zt_time_set_offset_us(start - zt_wall_us());
    zt_audit *a = zt_audit_open(&cfg, err, sizeof(err));
    if (a == NULL) {
        fprintf(stderr, "console_bench: %s\n", err);
        return 1;
    }
    zt_buf b;
    zt_buf_init(&b, 65536);
    uint64_t total = n + n / 20, last = 0, decisions = 0, rel = 0;
    unsigned probe_user = 42;
    char probe_ref[64] = "";
    int64_t probe_time = 0;
    for (uint64_t i = 0; i < total; i++) {
        int64_t t = start + (int64_t)((double)(end - start) * (double)i / (double)total);
        zt_time_set_offset_us(0);
        zt_time_set_offset_us(t - zt_wall_us());
        unsigned user = (unsigned)(next_rand() % USERS);
        zt_event ev;
        zt_buf_reset(&b);
        bool dec = i % 21 != 20 && decisions < n;
        if (dec) {
            decision(&ev, &b, i, user);
            decisions++;
        } else {
            other(&ev, &b, i, user);
        }
        if (zt_event_end(&ev) != 0)
            return 1;
        if (dec && user == probe_user && i > total / 2 && probe_ref[0] == '\0') {
            /* the reference a page showed, half-way through the month */
            const char *m = strstr(b.data, "\"uid\":\"");
            const char *meta = strstr(b.data, "\"metadata\":");
            m = meta ? strstr(meta, "\"uid\":\"") : m;
            if (m != NULL)
                snprintf(probe_ref, sizeof(probe_ref), "%.*s", (int)strcspn(m + 7, "\""), m + 7);
            probe_time = t;
        }
        uint64_t tk;
        while ((tk = zt_audit_submit(a, b.data, b.len)) == 0) {
            if (last == 0 || !zt_audit_wait(a, last, false, 10000)) {
                fprintf(stderr, "console_bench: the writer does not keep up\n");
                return 1;
            }
        }
        last = tk;
        rel++;
    }
    zt_audit_wait(a, last, false, 60000);
    zt_time_set_offset_us(0);
    zt_audit_close(a);
    zt_buf_dispose(&b);
    char t0[40], t1[40];
    zt_rfc3339(probe_time - 3600000000LL, t0, sizeof(t0));
    zt_rfc3339(probe_time + 3600000000LL, t1, sizeof(t1));
    printf("records %llu decisions %llu\n", (unsigned long long)rel, (unsigned long long)decisions);
    printf("user user%04u@school.example\nref %s\nsince %s\nuntil %s\n", probe_user, probe_ref, t0,
           t1);
    return 0;
}

static long rss_kib(const char *what)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    long kb = -1;
    size_t n = strlen(what);
    while (f != NULL && fgets(line, sizeof(line), f) != NULL)
        if (strncmp(line, what, n) == 0)
            kb = strtol(line + n, NULL, 10);
    if (f != NULL)
        fclose(f);
    return kb;
}

static int rollup(const char *live)
{
    long before = rss_kib("VmRSS:");
    zt_aq_rollup *r = zt_aq_rollup_new(live, NULL);
    uint64_t t0 = zt_mono_us();
    int rc = zt_aq_rollup_update(r);
    uint64_t cold = zt_mono_us() - t0;
    if (rc != 0) {
        fprintf(stderr, "console_bench: %s: %s\n", live, strerror(-rc));
        return 1;
    }
    int64_t now = zt_wall_us();
    zt_aq_stats_req day = {.since_us = now - DAY_US, .until_us = now, .bucket_s = 3600};
    zt_aq_stats_req month = {.since_us = now - 30 * DAY_US, .until_us = now, .bucket_s = 86400};
    enum { REPEAT = 200 };
    uint64_t blocks = 0;
    t0 = zt_mono_us();
    for (int i = 0; i < REPEAT; i++) {
        zt_aq_stats a, b;
        zt_aq_rollup_update(r); /* what the console does first: read what was appended */
        zt_aq_rollup_stats(r, &day, &a);
        zt_aq_rollup_stats(r, &month, &b);
        blocks = b.total[ZT_AQC_BLOCK];
        zt_aq_stats_dispose(&a);
        zt_aq_stats_dispose(&b);
    }
    uint64_t warm = (zt_mono_us() - t0) / REPEAT;
    uint64_t records;
    size_t bytes;
    zt_aq_rollup_size(r, &records, &bytes);
    printf("rollup_records %llu\nrollup_cold_ms %.1f\ndashboard_warm_us %llu\n"
           "blocks_30d %llu\nrollup_bytes %zu\nrss_kib %ld\nrss_before_kib %ld\nhwm_kib %ld\n",
           (unsigned long long)records, (double)cold / 1000.0, (unsigned long long)warm,
           (unsigned long long)blocks, bytes, rss_kib("VmRSS:"), before, rss_kib("VmHWM:"));
    zt_aq_rollup_free(r);
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "gen") == 0) {
        char *end;
        unsigned long long n = strtoull(argv[3], &end, 10);
        if (*end != '\0' || n == 0)
            return 2;
        return gen(argv[2], n);
    }
    if (argc == 3 && strcmp(argv[1], "rollup") == 0)
        return rollup(argv[2]);
    fprintf(stderr, "usage: console_bench gen DIR N | rollup LIVE\n");
    return 2;
}
