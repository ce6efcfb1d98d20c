/* `ztagent daemon`: posture every interval and whenever it changes; inotify on configured
 * folders so a file that lands there is scanned at once (IN_CLOSE_WRITE, IN_MOVED_TO).
 * One thread, one poll loop; SIGTERM/SIGINT end it cleanly through a signalfd. */
#include "agent/agent.h"

#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/signalfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define WATCH_MAX 64
#define CHANGE_CHECK_S 60 /* posture is compared with the last report this often */
#define RETRY_S 30        /* after a failed report */

typedef struct daemon_opts {
    const char *dir;
    const char *db;
    unsigned interval;
    const char *watch[WATCH_MAX];
    size_t nwatch;
} daemon_opts;

typedef struct daemon_state {
    zta_ctx ctx;
    zta_scanner *scanner;
    int ifd, sfd;
    int wd[WATCH_MAX];
    const char *wdir[WATCH_MAX];
    size_t nwatch;
    char *last_sent; /* posture without collected_at, as last reported */
    time_t next_report, next_check;
} daemon_state;

static time_t now_mono(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec;
}

static int parse_opts(int argc, char **argv, daemon_opts *o)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"interval", required_argument, NULL, 'i'},
                                             {"watch", required_argument, NULL, 'w'},
                                             {NULL, 0, NULL, 0}};
    memset(o, 0, sizeof *o);
    o->interval = 15 * 60;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 'd':
            o->dir = optarg;
            break;
        case 'b':
            o->db = optarg;
            break;
        case 'i':
            if (zta_interval_parse(optarg, &o->interval) != 0) {
                fprintf(stderr, "ztagent: --interval must be like 90s, 15m or 1h (at most 7d)\n");
                return -1;
            }
            break;
        case 'w':
            if (o->nwatch == WATCH_MAX) {
                fprintf(stderr, "ztagent: at most %d --watch folders\n", WATCH_MAX);
                return -1;
            }
            o->watch[o->nwatch++] = optarg;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc) {
        fprintf(stderr, "usage: ztagent daemon [--interval 15m] [--watch DIR]... [--db DIR] "
                        "[--dir DIR]\n");
        return -1;
    }
    return 0;
}

/* Sends posture when forced or when it differs from the last report. */
static void maybe_report(daemon_state *st, const char *db_dir, bool force)
{
    json_t *p = zta_posture_collect(&st->ctx, db_dir);
    if (p == NULL) {
        zta_log("cannot collect posture");
        return;
    }
    json_t *cmp = json_deep_copy(p);
    json_object_del(cmp, "collected_at");
    char *key = json_dumps(cmp, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(cmp);
    bool changed = key == NULL || st->last_sent == NULL || strcmp(key, st->last_sent) != 0;
    if (force || changed) {
        if (!force)
            zta_log("posture changed: reporting now");
        if (zta_posture_send(&st->ctx, p, true) == ZTA_EXIT_ERR) {
            /* Retry soon; the last-sent copy stays the old one so the change is not lost. */
            st->next_report = now_mono() + RETRY_S;
            free(key);
            key = NULL;
        } else {
            free(st->last_sent);
            st->last_sent = key;
            key = NULL;
            st->next_report = 0;
        }
    }
    free(key);
    json_decref(p);
}

static void on_inotify(daemon_state *st)
{
    char buf[sizeof(struct inotify_event) + NAME_MAX + 1]
        __attribute__((aligned(__alignof__(struct inotify_event))));
    for (;;) {
        ssize_t n = read(st->ifd, buf, sizeof buf);
        if (n <= 0)
            return;
        for (char *p = buf; p < buf + n;) {
            struct inotify_event *ev = (struct inotify_event *)p;
            p += sizeof *ev + ev->len;
            if (ev->mask & IN_Q_OVERFLOW) {
                zta_log("inotify queue overflow: rescanning the watched folders");
                for (size_t i = 0; i < st->nwatch; i++)
                    zta_scan_path(&st->ctx, st->scanner, st->wdir[i]);
                continue;
            }
            if (ev->len == 0 || (ev->mask & IN_ISDIR))
                continue;
            for (size_t i = 0; i < st->nwatch; i++) {
                if (st->wd[i] != ev->wd)
                    continue;
                char path[PATH_MAX];
                int w = snprintf(path, sizeof path, "%s/%s", st->wdir[i], ev->name);
                if (w > 0 && (size_t)w < sizeof path)
                    zta_scan_path(&st->ctx, st->scanner, path);
            }
        }
    }
}

static int setup(daemon_state *st, const daemon_opts *o)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 ||
        (st->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
        fprintf(stderr, "ztagent: signalfd: %s\n", strerror(errno));
        return -1;
    }
    signal(SIGPIPE, SIG_IGN);
    if (o->nwatch == 0)
        return 0;
    st->scanner = zta_scanner_new(zta_db_dir(&st->ctx, o->db));
    if (st->scanner == NULL)
        return -1;
    st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (st->ifd < 0) {
        fprintf(stderr, "ztagent: inotify: %s\n", strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < o->nwatch; i++) {
        st->wd[i] =
            inotify_add_watch(st->ifd, o->watch[i], IN_CLOSE_WRITE | IN_MOVED_TO | IN_ONLYDIR);
        if (st->wd[i] < 0) {
            fprintf(stderr, "ztagent: cannot watch %s: %s\n", o->watch[i], strerror(errno));
            return -1;
        }
        st->wdir[i] = o->watch[i];
        st->nwatch++;
    }
    return 0;
}

int zta_cmd_daemon(int argc, char **argv)
{
    daemon_opts o;
    daemon_state st;
    memset(&st, 0, sizeof st);
    st.ifd = st.sfd = -1;
    if (parse_opts(argc, argv, &o) != 0 || zta_ctx_init(&st.ctx, o.dir) != 0 ||
        zta_ctx_require_enrolled(&st.ctx) != 0)
        return ZTA_EXIT_ERR;
    int rc = ZTA_EXIT_ERR;
    const char *db_dir = zta_db_dir(&st.ctx, o.db);
    if (setup(&st, &o) != 0)
        goto out;
    zta_log("daemon started: device %s, server %s, posture every %us, watching %zu folder(s)",
            st.ctx.conf.device_id, st.ctx.conf.server, o.interval, st.nwatch);
    /* Files that landed while the agent was not running. */
    for (size_t i = 0; i < st.nwatch; i++)
        zta_scan_path(&st.ctx, st.scanner, st.wdir[i]);
    maybe_report(&st, db_dir, true);
    time_t t = now_mono();
    if (st.next_report == 0)
        st.next_report = t + o.interval;
    unsigned check = o.interval < CHANGE_CHECK_S ? o.interval : CHANGE_CHECK_S;
    st.next_check = t + check;
    for (;;) {
        struct pollfd fds[2] = {{.fd = st.sfd, .events = POLLIN}, {.fd = st.ifd, .events = POLLIN}};
        t = now_mono();
        time_t next = st.next_report < st.next_check ? st.next_report : st.next_check;
        int timeout = next > t ? (int)(next - t) * 1000 : 0;
        int pr = poll(fds, st.ifd >= 0 ? 2 : 1, timeout);
        if (pr < 0 && errno != EINTR) {
            zta_log("poll: %s", strerror(errno));
            goto out;
        }
        if (pr > 0 && (fds[0].revents & POLLIN)) {
            struct signalfd_siginfo si;
            if (read(st.sfd, &si, sizeof si) == (ssize_t)sizeof si) {
                zta_log("signal %u: stopping", si.ssi_signo);
                rc = ZTA_EXIT_OK;
                goto out;
            }
        }
        if (pr > 0 && st.ifd >= 0 && (fds[1].revents & POLLIN))
            on_inotify(&st);
        t = now_mono();
        if (t >= st.next_report) {
            maybe_report(&st, db_dir, true);
            if (st.next_report == 0)
                st.next_report = t + o.interval;
            st.next_check = t + check;
        } else if (t >= st.next_check) {
            maybe_report(&st, db_dir, false);
            if (st.next_report == 0)
                st.next_report = t + o.interval;
            st.next_check = t + check;
        }
    }
out:
    if (st.ifd >= 0)
        close(st.ifd);
    if (st.sfd >= 0)
        close(st.sfd);
    zta_scanner_free(st.scanner);
    free(st.last_sent);
    return rc;
}
