/* The cluster thread (cluster.h): one libpq connection of its own, driven without blocking
 * (poll on its socket and on a stop pipe, every wait bounded by store.timeout), so a database
 * that stops answering is noticed within the timeout and a stop is prompt. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libpq-fe.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cluster/cluster.h"
#include "cluster/cluster_int.h"
#include "core/log.h"
#include "lib/buf.h"
#include "lib/file.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/session.h"
#include "store/store.h"

#define NODE_NAME_MAX 128
#define ERR_MAX 256

static const char *const job_names[ZT_JOB_COUNT] = {
    "session-sweep", "device-sweep", "lifecycle-sweep", "idp-sessions", "ldap-sync",
};

struct zt_cluster {
    pthread_t thread;
    int stop_pipe[2]; /* written once by zt_cluster_stop; the thread polls the read end */
    char *dsn;
    char node[NODE_NAME_MAX];
    char instance[17];               /* random per process start */
    char holder[NODE_NAME_MAX + 20]; /* node/instance: the lease holder */
    pthread_mutex_t mu;              /* guards config_sha */
    char config_sha[65];
    zt_sessions *sessions;
    zt_store *store;
    uint64_t resync_ms, grace_ms, timeout_ms;
    int64_t started_ms;
    _Atomic uint64_t held_until_us[ZT_JOB_COUNT]; /* monotonic; 0 = not held */
    /* The thread's own state. */
    PGconn *pg;
    bool up;       /* connected and answering (for the log lines on a change) */
    bool have_seq; /* seq holds the last read of ztgate_change_seq */
    int64_t seq;
    bool wrote_node;
    bool clash_reported;
    char mismatch[512];
    int64_t contact_ms; /* wall clock of the last successful contact */
    char why[ERR_MAX];  /* the last failure, for the log line when contact is lost */
};

const char *zt_cluster_job_name(zt_cluster_job job)
{
    return (unsigned)job < ZT_JOB_COUNT ? job_names[job] : "?";
}

bool zt_cluster_job_mine(const zt_cluster *c, zt_cluster_job job)
{
    if (c == NULL)
        return true;
    if ((unsigned)job >= ZT_JOB_COUNT)
        return false;
    return atomic_load(&c->held_until_us[job]) > zt_mono_us();
}

/* ---- config hash ---- */

static int hash_config(const char *path, char out[65])
{
    zt_buf b;
    zt_buf_init(&b, 16 * 1024 * 1024);
    int rc = zt_read_file(path, &b);
    if (rc == 0) {
        unsigned char h[crypto_hash_sha256_BYTES];
        crypto_hash_sha256(h, (const unsigned char *)b.data, b.len);
        sodium_bin2hex(out, 65, h, sizeof(h));
    }
    zt_buf_dispose(&b);
    return rc;
}

void zt_cluster_config_reloaded(zt_cluster *c, const char *config_path)
{
    char sha[65];
    if (c == NULL || config_path == NULL || hash_config(config_path, sha) != 0)
        return;
    pthread_mutex_lock(&c->mu);
    memcpy(c->config_sha, sha, sizeof(sha));
    pthread_mutex_unlock(&c->mu);
}

/* ---- waiting ---- */

static bool stopping(const zt_cluster *c)
{
    struct pollfd p = {.fd = c->stop_pipe[0], .events = POLLIN};
    return poll(&p, 1, 0) > 0;
}

/* Wait for `events` on fd (-1: none, just sleep) until deadline_us (monotonic). 1 ready,
 * 0 deadline, -1 stop asked (or poll failed). */
static int wait_io(zt_cluster *c, int fd, short events, uint64_t deadline_us)
{
    for (;;) {
        uint64_t now = zt_mono_us();
        if (now >= deadline_us)
            return 0;
        uint64_t left_ms = (deadline_us - now + 999) / 1000;
        struct pollfd p[2] = {{.fd = c->stop_pipe[0], .events = POLLIN},
                              {.fd = fd, .events = events}};
        int n = poll(p, fd >= 0 ? 2 : 1, left_ms > 60000 ? 60000 : (int)left_ms);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || (p[0].revents & POLLIN))
            return -1;
        if (n > 0 && fd >= 0 && p[1].revents != 0)
            return 1;
    }
}

/* ---- contact ---- */

static void set_why(zt_cluster *c, const char *what, const char *msg)
{
    snprintf(c->why, sizeof(c->why), "%s: %s", what, msg != NULL && msg[0] ? msg : "failed");
    c->why[strcspn(c->why, "\r\n")] = '\0';
}

static void contact(zt_cluster *c)
{
    c->contact_ms = zt_wall_us() / 1000;
    zt_sessions_set_contact(
        c->sessions,
        zt_cluster_serve_until(c->contact_ms, c->resync_ms, c->timeout_ms, c->grace_ms), true);
}

static void drop_leases(zt_cluster *c)
{
    for (int j = 0; j < ZT_JOB_COUNT; j++)
        atomic_store(&c->held_until_us[j], 0);
}

/* The connection failed or the database stopped answering: cached sessions keep the bound of
 * the last contact; sign-ins are refused now; jobs stop. */
static void lost(zt_cluster *c)
{
    if (c->pg != NULL) {
        PQfinish(c->pg);
        c->pg = NULL;
    }
    zt_sessions_set_contact(
        c->sessions,
        zt_cluster_serve_until(c->contact_ms, c->resync_ms, c->timeout_ms, c->grace_ms), false);
    drop_leases(c);
    c->have_seq = false;
    if (c->up && !stopping(c)) /* a stop cuts a query short: nothing was lost */
        zt_error("cluster: lost the database (%s); cached sessions are served for at most "
                 "store.outage_grace (%" PRIu64 " ms) more, new sign-ins are refused; "
                 "reconnecting",
                 c->why, c->grace_ms);
    c->up = false;
}

/* ---- talking to the database ---- */

/* libpq prints server notices to stderr by default; the reason goes in c->why instead. */
static void quiet(void *arg, const char *message)
{
    (void)arg;
    (void)message;
}

static bool connect_db(zt_cluster *c)
{
    char ctimeout[24];
    snprintf(ctimeout, sizeof(ctimeout), "%" PRIu64, (c->timeout_ms + 999) / 1000);
    /* Defaults under the configured string (expanded after these, so it wins), as the store's
     * own connections: TLS verified, keepalives so a cut network is noticed. */
    const char *keys[] = {"sslmode",
                          "connect_timeout",
                          "keepalives",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "application_name",
                          "dbname",
                          NULL};
    const char *vals[] = {"verify-full", ctimeout,         "1",    "5", "2", "3",
                          "10000",       "ztgate-cluster", c->dsn, NULL};
    c->pg = PQconnectStartParams(keys, vals, 1);
    if (c->pg == NULL || PQstatus(c->pg) == CONNECTION_BAD) {
        set_why(c, "connecting", c->pg != NULL ? PQerrorMessage(c->pg) : "out of memory");
        return false;
    }
    uint64_t deadline = zt_mono_us() + c->timeout_ms * 1000;
    PostgresPollingStatusType st = PGRES_POLLING_WRITING;
    while (st != PGRES_POLLING_OK) {
        if (st == PGRES_POLLING_FAILED) {
            set_why(c, "connecting", PQerrorMessage(c->pg));
            return false;
        }
        short ev = st == PGRES_POLLING_READING ? POLLIN : POLLOUT;
        int w = wait_io(c, PQsocket(c->pg), ev, deadline);
        if (w <= 0) {
            set_why(c, "connecting", w == 0 ? "timed out" : "stopped");
            return false;
        }
        st = PQconnectPoll(c->pg);
    }
    PQsetNoticeProcessor(c->pg, quiet, NULL);
    if (PQsetnonblocking(c->pg, 1) != 0 || PQsetClientEncoding(c->pg, "UTF8") != 0) {
        set_why(c, "connecting", PQerrorMessage(c->pg));
        return false;
    }
    return true;
}

/* Notifications that arrived (with a query's answer or on their own): one bump for all. */
static void drain_notifies(zt_cluster *c)
{
    unsigned n = 0;
    for (PGnotify *nf; (nf = PQnotifies(c->pg)) != NULL; n++)
        PQfreemem(nf);
    if (n > 0) {
        zt_sessions_bump(c->sessions);
        contact(c);
    }
}

/* Run one statement and wait for its answer, bounded by store.timeout. NULL on any failure
 * (c->why says what), the connection then being unusable. */
static PGresult *query(zt_cluster *c, const char *sql, int n, const char *const *vals,
                       const char *what)
{
    if (!PQsendQueryParams(c->pg, sql, n, NULL, vals, NULL, NULL, 0)) {
        set_why(c, what, PQerrorMessage(c->pg));
        return NULL;
    }
    uint64_t deadline = zt_mono_us() + c->timeout_ms * 1000;
    int f;
    while ((f = PQflush(c->pg)) == 1) {
        int w = wait_io(c, PQsocket(c->pg), POLLOUT | POLLIN, deadline);
        if (w <= 0 || !PQconsumeInput(c->pg)) {
            set_why(c, what, w == 0 ? "timed out" : PQerrorMessage(c->pg));
            return NULL;
        }
    }
    PGresult *res = NULL;
    bool failed = f < 0;
    for (;;) {
        while (!failed && !PQisBusy(c->pg)) {
            PGresult *r = PQgetResult(c->pg);
            if (r == NULL) {
                drain_notifies(c);
                return res;
            }
            ExecStatusType st = PQresultStatus(r);
            if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
                set_why(c, what, PQresultErrorMessage(r));
                PQclear(r);
                PQclear(res);
                return NULL; /* the connection is dropped: no result is left half read */
            }
            PQclear(res);
            res = r;
        }
        int w = failed ? -1 : wait_io(c, PQsocket(c->pg), POLLIN, deadline);
        if (w <= 0 || !PQconsumeInput(c->pg)) {
            set_why(c, what, w == 0 ? "timed out" : PQerrorMessage(c->pg));
            PQclear(res);
            return NULL;
        }
    }
}

static bool run(zt_cluster *c, const char *sql, int n, const char *const *vals, const char *what)
{
    PGresult *r = query(c, sql, n, vals, what);
    PQclear(r);
    return r != NULL;
}

/* ---- one resync ---- */

static bool resync_seq(zt_cluster *c)
{
    PGresult *r = query(c, "SELECT last_value FROM ztgate_change_seq", 0, NULL,
                        "reading the change sequence");
    if (r == NULL)
        return false;
    int64_t v = PQntuples(r) == 1 ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    /* A move nobody notified us of (a notification lost on the way): reload now. */
    if (c->have_seq && v != c->seq)
        zt_sessions_bump(c->sessions);
    c->seq = v;
    c->have_seq = true;
    return true;
}

static bool register_node(zt_cluster *c, const char *sha)
{
    char pid[24], started[24];
    snprintf(pid, sizeof(pid), "%ld", (long)getpid());
    snprintf(started, sizeof(started), "%" PRId64, c->started_ms);
    const char *v[] = {c->node, c->instance, sha, ZT_VERSION, pid, started};
    /* The CTE reads the row as it was before this statement: whose instance wrote it last. */
    PGresult *r = query(c,
                        "WITH prev AS (SELECT instance FROM ztgate_nodes WHERE name = $1) "
                        "INSERT INTO ztgate_nodes (name, instance, config_sha256, version, pid, "
                        "started_at, seen_at) VALUES ($1, $2, $3, $4, $5::bigint, $6::bigint, "
                        "ztgate_now_ms()) ON CONFLICT (name) DO UPDATE SET instance = "
                        "EXCLUDED.instance, config_sha256 = EXCLUDED.config_sha256, version = "
                        "EXCLUDED.version, pid = EXCLUDED.pid, started_at = EXCLUDED.started_at, "
                        "seen_at = EXCLUDED.seen_at RETURNING (SELECT instance FROM prev)",
                        6, v, "registering this node");
    if (r == NULL)
        return false;
    const char *prev = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0) ? PQgetvalue(r, 0, 0) : NULL;
    bool clash = zt_cluster_name_clash(prev, c->instance, c->wrote_node);
    PQclear(r);
    if (clash && !c->clash_reported)
        zt_error("cluster: another running gateway uses the node name '%s' (its registry row "
                 "was rewritten since our last resync); give each gateway its own "
                 "store.node_name",
                 c->node);
    c->clash_reported = clash;
    c->wrote_node = true;
    return true;
}

static bool check_configs(zt_cluster *c, const char *sha)
{
    char window[24];
    snprintf(window, sizeof(window), "%" PRIu64, zt_cluster_live_window_ms(c->resync_ms));
    const char *v[] = {c->node, window, sha};
    PGresult *r = query(c,
                        "SELECT name FROM ztgate_nodes WHERE name <> $1 AND seen_at >= "
                        "ztgate_now_ms() - $2::bigint AND config_sha256 <> $3 ORDER BY name",
                        3, v, "reading the node registry");
    if (r == NULL)
        return false;
    char names[sizeof(c->mismatch)] = "";
    size_t used = 0;
    for (int i = 0; i < PQntuples(r) && used < sizeof(names); i++) {
        int k = snprintf(names + used, sizeof(names) - used, "%s%s", i > 0 ? ", " : "",
                         PQgetvalue(r, i, 0));
        used += k > 0 ? (size_t)k : 0;
    }
    PQclear(r);
    int say = zt_cluster_mismatch_update(c->mismatch, sizeof(c->mismatch), names);
    if (say > 0)
        zt_warn("cluster: node(s) %s run a configuration other than this node's (config "
                "SHA-256 %.12s...); gateways sharing a database should share one config file "
                "(see ztgate_nodes)",
                names, sha);
    else if (say < 0)
        zt_info("cluster: every live node runs this node's configuration again");
    return true;
}

static bool renew_leases(zt_cluster *c)
{
    char ttl[24];
    uint64_t ttl_ms = zt_cluster_lease_ttl_ms(c->resync_ms);
    snprintf(ttl, sizeof(ttl), "%" PRIu64, ttl_ms);
    for (int j = 0; j < ZT_JOB_COUNT; j++) {
        /* Sent before the database's clock starts the lease: held locally until sent + ttl,
         * which ends no later than the row's expires_at. */
        uint64_t sent = zt_mono_us();
        const char *v[] = {job_names[j], c->holder, ttl};
        PGresult *r = query(c,
                            "INSERT INTO ztgate_leases (name, holder, expires_at) VALUES ($1, "
                            "$2, ztgate_now_ms() + $3::bigint) ON CONFLICT (name) DO UPDATE SET "
                            "holder = EXCLUDED.holder, expires_at = EXCLUDED.expires_at WHERE "
                            "ztgate_leases.holder = EXCLUDED.holder OR ztgate_leases.expires_at "
                            "< ztgate_now_ms() RETURNING 1",
                            3, v, "renewing leases");
        if (r == NULL)
            return false;
        bool held = PQntuples(r) == 1;
        PQclear(r);
        atomic_store(&c->held_until_us[j], held ? sent + ttl_ms * 1000 : 0);
    }
    return true;
}

static bool resync(zt_cluster *c)
{
    char sha[65];
    pthread_mutex_lock(&c->mu);
    memcpy(sha, c->config_sha, sizeof(sha));
    pthread_mutex_unlock(&c->mu);
    if (!resync_seq(c) || !register_node(c, sha) || !check_configs(c, sha) || !renew_leases(c))
        return false;
    contact(c);
    return true;
}

/* Connect and LISTEN, then bump: a change committed after LISTEN is notified, one before it is
 * covered by the bump, so nothing falls between (and changes made while we were away, whose
 * notifications are lost, are covered too). */
static bool reconnect(zt_cluster *c)
{
    if (!connect_db(c) || !run(c, "LISTEN ztgate_change", 0, NULL, "listening"))
        return false;
    /* The resync below offers sign-in again (contact): the store's threads must not still be
     * failing fast on their own last failed connect when that sign-in comes. */
    zt_store_reachable_again(c->store);
    zt_sessions_bump(c->sessions);
    if (!resync(c))
        return false;
    zt_info("cluster: node '%s' connected to the change feed%s", c->node,
            c->contact_ms > 0 && c->why[0] ? " again; caches reloaded" : "");
    c->up = true;
    return true;
}

static void *thread_main(void *arg)
{
    zt_cluster *c = arg;
    uint64_t backoff_ms = 0;
    uint64_t next_resync = 0;
    while (!stopping(c)) {
        if (c->pg == NULL) {
            if (!reconnect(c)) {
                lost(c);
                backoff_ms = zt_cluster_backoff_ms(backoff_ms);
                if (wait_io(c, -1, 0, zt_mono_us() + backoff_ms * 1000) < 0)
                    break;
                continue;
            }
            backoff_ms = 0;
            next_resync = zt_mono_us() + c->resync_ms * 1000;
        }
        if (zt_mono_us() >= next_resync) {
            if (!resync(c)) {
                lost(c);
                continue;
            }
            next_resync = zt_mono_us() + c->resync_ms * 1000;
        }
        int w = wait_io(c, PQsocket(c->pg), POLLIN, next_resync);
        if (w < 0)
            break;
        if (w > 0) {
            if (!PQconsumeInput(c->pg)) {
                set_why(c, "listening", PQerrorMessage(c->pg));
                lost(c);
                continue;
            }
            drain_notifies(c);
        }
    }
    return NULL;
}

/* ---- start and stop ---- */

static void give_up_leases(zt_cluster *c)
{
    if (c->pg == NULL || !c->up)
        return;
    const char *v[] = {c->holder};
    (void)run(c, "DELETE FROM ztgate_leases WHERE holder = $1", 1, v, "giving up leases");
}

static void cluster_free(zt_cluster *c)
{
    if (c->pg != NULL)
        PQfinish(c->pg);
    if (c->dsn != NULL) {
        zt_wipe(c->dsn, strlen(c->dsn));
        free(c->dsn);
    }
    for (int i = 0; i < 2; i++)
        if (c->stop_pipe[i] >= 0)
            close(c->stop_pipe[i]);
    pthread_mutex_destroy(&c->mu);
    free(c);
}

static int node_name(const char *configured, char *out, size_t cap)
{
    if (configured != NULL && configured[0] != '\0') {
        snprintf(out, cap, "%s", configured);
        return 0;
    }
    if (gethostname(out, cap) != 0)
        return -errno;
    out[cap - 1] = '\0';
    return 0;
}

zt_cluster *zt_cluster_start(const zt_cluster_cfg *cfg, char *err, size_t errlen)
{
    zt_cluster *c = calloc(1, sizeof(*c));
    if (c == NULL) {
        snprintf(err, errlen, "cluster: out of memory");
        return NULL;
    }
    c->stop_pipe[0] = c->stop_pipe[1] = -1;
    pthread_mutex_init(&c->mu, NULL);
    c->sessions = cfg->sessions;
    c->store = cfg->store;
    c->resync_ms = cfg->resync_ms;
    c->grace_ms = cfg->outage_grace_ms;
    c->timeout_ms = cfg->timeout_ms > 0 ? cfg->timeout_ms : 5000;
    c->started_ms = zt_wall_us() / 1000;
    zt_random_hex(c->instance, 8);
    int rc = node_name(cfg->node_name, c->node, sizeof(c->node));
    if (rc == 0)
        rc = hash_config(cfg->config_path, c->config_sha);
    if (rc == 0 && (c->dsn = strdup(cfg->dsn)) == NULL)
        rc = -ENOMEM;
    if (rc == 0 && pipe2(c->stop_pipe, O_CLOEXEC) != 0)
        rc = -errno;
    if (rc != 0) {
        snprintf(err, errlen, "cluster: cannot start: %s", strerror(-rc));
        cluster_free(c);
        return NULL;
    }
    snprintf(c->holder, sizeof(c->holder), "%s/%s", c->node, c->instance);
    contact(c); /* the store was opened just now */
    if (pthread_create(&c->thread, NULL, thread_main, c) != 0) {
        snprintf(err, errlen, "cluster: cannot start its thread");
        cluster_free(c);
        return NULL;
    }
    pthread_setname_np(c->thread, "ztgate-cluster");
    return c;
}

void zt_cluster_stop(zt_cluster *c)
{
    if (c == NULL)
        return;
    char one = 1;
    while (write(c->stop_pipe[1], &one, 1) < 0 && errno == EINTR) {
    }
    pthread_join(c->thread, NULL);
    /* The stop pipe now always reads ready, which would end give_up_leases' waits at once: a
     * fresh one gives the DELETE its (bounded) wait. */
    close(c->stop_pipe[0]);
    close(c->stop_pipe[1]);
    if (pipe2(c->stop_pipe, O_CLOEXEC) != 0)
        c->stop_pipe[0] = c->stop_pipe[1] = -1;
    give_up_leases(c);
    cluster_free(c);
}
