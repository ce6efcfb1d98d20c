/* `ztgate serve`: one libuv event loop per worker thread, each with its own SO_REUSEPORT
 * listening sockets so the kernel spreads connections; the main thread only handles signals:
 * SIGHUP builds a new config generation and hands it to every loop (a bad config is refused
 * and the old one keeps serving), SIGTERM/SIGINT stop accepting and drain. */
#include "proxy/proxy.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "admin/admin.h"
#include "device/device.h"
#include "identity/breach.h"
#include "identity/keys.h"
#include "identity/password.h"
#include "identity/secretbox.h"
#include "lib/net.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "proxy/proxy_int.h"
#include "response/incident.h"
#include "response/playbook.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "session/session.h"
#include "session/throttle.h"
#include "store/store.h"

/* ---- config generations ------------------------------------------------------------------ */

zt_runtime *zt_runtime_acquire(zt_runtime *rt)
{
    atomic_fetch_add_explicit(&rt->refs, 1, memory_order_relaxed);
    return rt;
}

static void runtime_free(zt_runtime *rt)
{
    if (rt->tls != NULL) {
        for (size_t i = 0; i <= rt->cfg->n_listeners; i++)
            SSL_CTX_free(rt->tls[i]);
        free(rt->tls);
    }
    zt_routes_free(rt->routes);
    zt_policy_set_free(rt->policies);
    zt_config_free(rt->cfg);
    free(rt->portal_form_action);
    free(rt);
}

void zt_runtime_release(zt_runtime *rt)
{
    if (rt != NULL && atomic_fetch_sub_explicit(&rt->refs, 1, memory_order_acq_rel) == 1)
        runtime_free(rt);
}

/* Hosts a portal form may end up on: this one and every app host (any port, either scheme).
 * Beyond ZT_FORM_ACTION_HOSTS hosts the directive is left out rather than made huge. */
#define ZT_FORM_ACTION_HOSTS 100

static char *portal_form_action(const zt_config *cfg)
{
    zt_buf b;
    zt_buf_init(&b, 64 * 1024);
    int rc = zt_buf_append_str(&b, "'self'");
    size_t hosts = 0;
    for (size_t i = 0; i < cfg->n_apps && rc == 0; i++) {
        const char *h = cfg->apps[i].host;
        bool seen = h == NULL;
        for (size_t j = 0; j < i && !seen; j++)
            seen = cfg->apps[j].host != NULL && strcmp(cfg->apps[j].host, h) == 0;
        if (seen)
            continue;
        if (++hosts > ZT_FORM_ACTION_HOSTS) {
            zt_buf_reset(&b);
            rc = zt_buf_append_str(&b, "*");
            break;
        }
        rc = zt_buf_printf(&b, " http://%s:* https://%s:*", h, h);
    }
    char *out = rc == 0 && zt_buf_cstr(&b) == 0 ? strdup(b.data) : NULL;
    zt_buf_dispose(&b);
    return out;
}

/* Everything derived from a config, built before anything is swapped so a failure leaves the
 * running generation untouched. */
static zt_runtime *runtime_build(zt_config *cfg, uint64_t generation)
{
    zt_runtime *rt = calloc(1, sizeof(*rt));
    if (rt == NULL) {
        zt_config_free(cfg);
        return NULL;
    }
    atomic_init(&rt->refs, 1);
    rt->cfg = cfg;
    rt->generation = generation;
    rt->routes = zt_routes_build(cfg);
    char perr[512] = "";
    rt->policies = zt_policy_compile(cfg, perr, sizeof(perr));
    if (rt->policies == NULL) {
        zt_error("%s: policies: %s", cfg->path, perr[0] ? perr : "cannot compile");
        runtime_free(rt);
        return NULL;
    }
    if (cfg->auth.portal_host != NULL) {
        rt->portal_form_action = portal_form_action(cfg);
        if (rt->portal_form_action == NULL) {
            runtime_free(rt);
            return NULL;
        }
    }
    rt->tls = calloc(cfg->n_listeners + 1, sizeof(*rt->tls)); /* + the admin listener */
    if (rt->routes == NULL || rt->tls == NULL) {
        runtime_free(rt);
        return NULL;
    }
    for (size_t i = 0; i < cfg->n_listeners; i++) {
        if (!cfg->listeners[i].tls)
            continue;
        char err[512];
        rt->tls[i] = zt_tls_server_ctx(&cfg->listeners[i].tls_cfg, err, sizeof(err));
        if (rt->tls[i] == NULL) {
            zt_error("%s: listener %s: %s", cfg->path, cfg->listeners[i].address, err);
            runtime_free(rt);
            return NULL;
        }
    }
    if (cfg->admin.address != NULL && cfg->admin.tls) {
        char err[512];
        rt->tls[cfg->n_listeners] = zt_tls_server_ctx(&cfg->admin.tls_cfg, err, sizeof(err));
        if (rt->tls[cfg->n_listeners] == NULL) {
            zt_error("%s: admin listener %s: %s", cfg->path, cfg->admin.address, err);
            runtime_free(rt);
            return NULL;
        }
    }
    return rt;
}

static zt_config *load_config(const char *path)
{
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (cfg != NULL && zt_config_check_grants(cfg, &diags) > 0) {
        zt_config_free(cfg); /* the same refusal as check-config: it cannot be enforced */
        cfg = NULL;
    }
    if (cfg == NULL && diags.text.len > 0) {
        /* One error-log line per diagnostic, each already FILE:LINE:COL: message. */
        zt_buf_cstr(&diags.text);
        char *line = diags.text.data;
        while (line != NULL && *line != '\0') {
            char *nl = strchr(line, '\n');
            if (nl != NULL)
                *nl = '\0';
            zt_error("%s", line);
            line = nl ? nl + 1 : NULL;
        }
    }
    zt_diags_dispose(&diags);
    return cfg;
}

/* ---- listeners --------------------------------------------------------------------------- */

static int open_listen_socket(const struct sockaddr_storage *addr)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    /* Each loop gets its own socket on the same port; the kernel balances between them. */
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    if (addr->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    socklen_t len =
        addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    if (bind(fd, (const struct sockaddr *)addr, len) < 0 || listen(fd, 1024) < 0) {
        int e = errno;
        close(fd);
        return -e;
    }
    return fd;
}

static void on_connection(uv_stream_t *server, int status)
{
    zt_listener *l = server->data;
    if (status < 0 || l->w->stopping)
        return;
    zt_conn_accept(l);
}

static void on_listener_closed(uv_handle_t *h)
{
    zt_listener *l = h->data;
    l->w->n_listeners_open--;
}

/* Listener i < n_listeners is a gateway listener; i == n_listeners is the admin API. */
static int worker_listen(zt_worker *w, const zt_config *cfg)
{
    size_t n = cfg->n_listeners + (cfg->admin.address != NULL ? 1 : 0);
    w->listeners = calloc(n, sizeof(*w->listeners));
    if (w->listeners == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < n; i++) {
        zt_listener *l = &w->listeners[i];
        bool admin = i == cfg->n_listeners;
        const char *address = admin ? cfg->admin.address : cfg->listeners[i].address;
        l->w = w;
        l->index = (unsigned)i;
        int fd = open_listen_socket(admin ? &cfg->admin.addr : &cfg->listeners[i].addr);
        if (fd < 0) {
            zt_error("cannot listen on %s: %s", address, strerror(-fd));
            return fd;
        }
        uv_tcp_init(&w->loop, &l->tcp);
        l->tcp.data = l;
        w->n_listeners++;
        w->n_listeners_open++;
        if (uv_tcp_open(&l->tcp, fd) < 0 ||
            uv_listen((uv_stream_t *)&l->tcp, 1024, on_connection) < 0) {
            zt_error("cannot listen on %s", address);
            return -EINVAL;
        }
    }
    return 0;
}

/* ---- worker loops ------------------------------------------------------------------------ */

static void worker_close_own_handles(zt_worker *w);

/* Called whenever a client or upstream connection is gone: a stopping loop ends when none is
 * left. */
void zt_worker_maybe_done(zt_worker *w)
{
    if (w->stopping && w->conns == NULL && w->n_up == 0)
        worker_close_own_handles(w);
}

void zt_worker_conn_closed(zt_worker *w)
{
    w->n_conns--;
    atomic_fetch_sub(&w->server->n_conns, 1);
    zt_worker_maybe_done(w);
}

static void worker_take_new_runtime(zt_worker *w)
{
    zt_runtime *next = atomic_exchange(&w->next_rt, NULL);
    if (next == NULL)
        return;
    zt_runtime *old = w->rt;
    w->rt = next;
    zt_runtime_release(old);
}

static void on_drain_timeout(uv_timer_t *t)
{
    zt_worker *w = t->data;
    if (w->conns != NULL)
        zt_warn("worker %u: drain time over, closing %zu connection(s)", w->id, w->n_conns);
    while (w->conns != NULL)
        zt_conn_close(w->conns);
}

static void worker_begin_stop(zt_worker *w)
{
    if (w->stopping)
        return;
    w->stopping = true;
    for (size_t i = 0; i < w->n_listeners; i++)
        uv_close((uv_handle_t *)&w->listeners[i].tcp, on_listener_closed);
    zt_upstream_close_idle(w);
    for (zt_conn *c = w->conns, *next; c != NULL; c = next) {
        next = c->next;
        zt_conn_drain(c);
    }
    uv_timer_start(&w->drain_timer, on_drain_timeout, w->rt->cfg->timeouts.drain_ms, 0);
    if (w->conns == NULL && w->n_up == 0)
        worker_close_own_handles(w);
}

static void on_wake(uv_async_t *a)
{
    zt_worker *w = a->data;
    worker_take_new_runtime(w);
    if (atomic_load(&w->stop_requested))
        worker_begin_stop(w);
}

static void on_audit_wake(uv_async_t *a)
{
    zt_conn_audit_written(a->data);
}

static void on_flush_timer(uv_timer_t *t)
{
    zt_worker *w = t->data;
    zt_access_flush(&w->access);
}

static void worker_close_own_handles(zt_worker *w)
{
    if (uv_is_closing((uv_handle_t *)&w->wake))
        return;
    zt_access_flush(&w->access);
    if (w->audit_watched) {
        zt_audit_unwatch_async(w->server->audit, &w->audit_wake);
        w->audit_watched = false;
    }
    uv_close((uv_handle_t *)&w->audit_wake, NULL);
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_close((uv_handle_t *)&w->flush_timer, NULL);
    uv_close((uv_handle_t *)&w->drain_timer, NULL);
}

static void worker_main(void *arg)
{
    zt_worker *w = arg;
    uv_run(&w->loop, UV_RUN_DEFAULT);
    zt_access_flush(&w->access);
}

static int worker_init(zt_worker *w, zt_server *srv, unsigned id)
{
    w->id = id;
    w->server = srv;
    if (uv_loop_init(&w->loop) < 0)
        return -ENOMEM;
    w->rt = zt_runtime_acquire(srv->rt);
    atomic_init(&w->next_rt, NULL);
    atomic_init(&w->stop_requested, false);
    zt_access_buf_init(&w->access);
    zt_buf_init(&w->scratch, 64 * 1024);
    zt_buf_init(&w->event, 64 * 1024);
    zt_buf_init(&w->tls_out, 0);
    uv_async_init(&w->loop, &w->wake, on_wake);
    w->wake.data = w;
    uv_async_init(&w->loop, &w->audit_wake, on_audit_wake);
    w->audit_wake.data = w;
    if (srv->audit != NULL && zt_audit_watch_async(srv->audit, &w->audit_wake) == 0)
        w->audit_watched = true;
    w->sessions = zt_session_cache_new(srv->svc.sessions, 65536);
    if (w->sessions == NULL)
        return -ENOMEM;
    uv_timer_init(&w->loop, &w->flush_timer);
    w->flush_timer.data = w;
    uv_timer_start(&w->flush_timer, on_flush_timer, 200, 200);
    uv_unref((uv_handle_t *)&w->flush_timer);
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    uv_unref((uv_handle_t *)&w->drain_timer);
    return worker_listen(w, srv->rt->cfg);
}

static void close_any(uv_handle_t *h, void *arg)
{
    if (!uv_is_closing(h))
        uv_close(h, NULL);
}

static void worker_dispose(zt_worker *w)
{
    /* Whatever is still open (after a failed start, or stray handles) is closed so the loop
     * can be freed cleanly. */
    if (w->audit_watched) {
        zt_audit_unwatch_async(w->server->audit, &w->audit_wake);
        w->audit_watched = false;
    }
    uv_walk(&w->loop, close_any, NULL);
    uv_run(&w->loop, UV_RUN_DEFAULT);
    uv_loop_close(&w->loop);
    zt_runtime_release(w->rt);
    zt_runtime_release(atomic_exchange(&w->next_rt, NULL));
    zt_access_buf_dispose(&w->access);
    zt_buf_dispose(&w->scratch);
    zt_buf_dispose(&w->event);
    zt_buf_dispose(&w->tls_out);
    zt_session_cache_free(w->sessions);
    zt_conn_pool_dispose(w);
    free(w->listeners);
}

/* ---- services shared by every loop ------------------------------------------------------- */

static void throttle_cfg_from(const zt_config *cfg, zt_throttle_cfg *tc)
{
    *tc = (zt_throttle_cfg){
        .account_failure_limit = cfg->auth.account_failure_limit,
        .source_failures_per_minute = cfg->auth.source_failures_per_minute,
    };
}

/* Settings that may change on reload. */
static void services_configure(zt_server *srv, const zt_config *cfg)
{
    zt_throttle_cfg tc;
    throttle_cfg_from(cfg, &tc);
    zt_throttle_configure(srv->svc.throttle, &tc);
    zt_sessions_set_expiry(srv->svc.sessions, (int64_t)(cfg->auth.session_idle_ms / 1000),
                           (int64_t)(cfg->auth.session_absolute_ms / 1000));
}

/* ---- feeds ---- */

/* The zt_feeds_cfg view of the config (arrays live in `files`, sized by the caller). */
static void feeds_cfg_from(const zt_config *cfg, zt_feeds_cfg *fc, zt_feed_file *files)
{
    const zt_risk_settings *r = &cfg->risk;
    size_t k = 0;
    *fc = (zt_feeds_cfg){.geoip_city = r->geoip_city,
                         .geoip_asn = r->geoip_asn,
                         .leaked_credentials = r->leaked_credentials};
    fc->anonymous = files + k;
    for (size_t i = 0; i < r->n_anonymous_ips; i++, k++)
        files[k] = (zt_feed_file){r->anonymous_ips[i].path, r->anonymous_ips[i].source};
    fc->n_anonymous = r->n_anonymous_ips;
    fc->malicious = files + k;
    for (size_t i = 0; i < r->n_malicious_ips; i++, k++)
        files[k] = (zt_feed_file){r->malicious_ips[i].path, r->malicious_ips[i].source};
    fc->n_malicious = r->n_malicious_ips;
}

static bool feeds_configured(const zt_config *cfg)
{
    const zt_risk_settings *r = &cfg->risk;
    return r->geoip_city || r->geoip_asn || r->leaked_credentials || r->n_anonymous_ips ||
           r->n_malicious_ips;
}

/* Load (or reload, when something changed) and publish a snapshot. The one it replaces is
 * kept until the next replacement: requests use a snapshot for microseconds, reloads are at
 * least feed_check_interval apart. */
static void feeds_refresh(zt_server *srv, const zt_config *cfg, bool force)
{
    zt_services *svc = &srv->svc;
    zt_feeds *cur = atomic_load(&svc->feeds);
    if (!feeds_configured(cfg)) {
        if (cur != NULL) {
            atomic_store(&svc->feeds, NULL);
            zt_feeds_free(srv->feeds_old);
            srv->feeds_old = cur;
        }
        return;
    }
    zt_feed_file files[128];
    zt_feeds_cfg fc;
    feeds_cfg_from(cfg, &fc, files);
    if (cur != NULL && !force && !zt_feeds_changed(cur, &fc))
        return;
    zt_buf report;
    zt_buf_init(&report, 64 * 1024);
    char err[512] = "";
    zt_feeds *next = zt_feeds_load(&fc, cur, &report, err, sizeof(err));
    if (report.len > 0 && zt_buf_cstr(&report) == 0) {
        for (char *line = report.data, *nl; line != NULL && *line; line = nl ? nl + 1 : NULL) {
            nl = strchr(line, '\n');
            if (nl != NULL)
                *nl = '\0';
            zt_warn("feeds: %s", line);
        }
    }
    zt_buf_dispose(&report);
    if (next == NULL) {
        zt_error("feeds: %s; keeping the previous data", err[0] ? err : "cannot load");
        return;
    }
    zt_feeds_stats st;
    zt_feeds_get_stats(next, &st);
    zt_info("feeds: %zu anonymous and %zu malicious ranges, %zu leaked pairs, GeoIP %s/%s",
            st.anonymous_ranges, st.malicious_ranges, st.leaked_pairs, st.geoip_city ? "city" : "-",
            st.geoip_asn ? "asn" : "-");
    atomic_store(&svc->feeds, next);
    zt_feeds_free(srv->feeds_old);
    srv->feeds_old = cur;
}

static void on_feeds_timer(uv_timer_t *t)
{
    zt_server *srv = t->data;
    feeds_refresh(srv, srv->rt->cfg, false);
    uv_timer_set_repeat(t, srv->rt->cfg->risk.feed_check_ms);
}

static void risk_cfg_from(const zt_config *cfg, zt_risk_cfg *rc)
{
    const zt_risk_settings *r = &cfg->risk;
    zt_risk_cfg_defaults(rc);
    rc->travel_kmh = r->impossible_travel_kmh;
    rc->spray_accounts = r->spray_accounts;
    rc->spray_passwords = r->spray_passwords;
    rc->spray_window_s = (int64_t)(r->spray_window_ms / 1000);
    rc->reputation_accounts = r->reputation_accounts;
    rc->reputation_window_s = (int64_t)(r->reputation_window_ms / 1000);
    rc->reputation_ttl_s = (int64_t)(r->reputation_ttl_ms / 1000);
    rc->learning_s = (int64_t)(r->learning_period_ms / 1000);
    rc->learning_sign_ins = r->learning_sign_ins;
}

/* Device client certificates on every gateway TLS listener of a config generation. */
static int runtime_devices_tls(zt_runtime *rt, zt_devices *d)
{
    for (size_t i = 0; d != NULL && i < rt->cfg->n_listeners; i++) {
        char err[512];
        if (rt->tls[i] != NULL && zt_device_tls_configure(d, rt->tls[i], err, sizeof(err)) < 0) {
            zt_error("listener %s: device certificates: %s", rt->cfg->listeners[i].address, err);
            return -1;
        }
    }
    return 0;
}

/* Audit records other processes queued (the CLI's changes): appended in the order they were
 * written, each file removed once the log accepted it. A file that is not a record is kept
 * aside (renamed *.bad) and reported, never lost silently. */
static int spool_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static void audit_spool_drain(zt_server *srv)
{
    if (srv->audit == NULL || srv->svc.state_dir == NULL)
        return;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", srv->svc.state_dir, ZT_AUDIT_SPOOL_DIR);
    DIR *d = opendir(dir);
    if (d == NULL)
        return;
    char *names[256];
    size_t n = 0;
    for (struct dirent *e; n < 256 && (e = readdir(d)) != NULL;) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || len <= 5 || strcmp(e->d_name + len - 5, ".json") != 0)
            continue;
        names[n] = strdup(e->d_name);
        if (names[n] != NULL)
            n++;
    }
    closedir(d);
    qsort(names, n, sizeof(*names), spool_name_cmp);
    bool stop = false;
    for (size_t i = 0; i < n; i++) {
        char path[4400];
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        free(names[i]);
        if (stop)
            continue;
        zt_buf b;
        zt_buf_init(&b, ZT_AUDIT_MAX_EVENT);
        FILE *f = fopen(path, "rb");
        char chunk[4096];
        size_t got;
        int rc = f != NULL ? 0 : -errno;
        while (rc == 0 && (got = fread(chunk, 1, sizeof(chunk), f)) > 0)
            rc = zt_buf_append(&b, chunk, got);
        if (f != NULL)
            fclose(f);
        /* One JSON object on one line is a record; anything else never will be. */
        bool shaped = rc == 0 && b.len >= 2 && b.data[0] == '{' && b.data[b.len - 1] == '}' &&
                      memchr(b.data, '\n', b.len) == NULL && memchr(b.data, '\r', b.len) == NULL;
        if (shaped && zt_audit_submit(srv->audit, b.data, b.len) > 0) {
            unlink(path);
        } else if (shaped) {
            /* The log is down or its queue is full: the record waits, in order, for a later
             * tick rather than being set aside. */
            stop = true;
        } else {
            char bad[4500];
            snprintf(bad, sizeof(bad), "%s.bad", path);
            rename(path, bad);
            zt_error("audit spool: %s is not an acceptable record; kept as %s", path, bad);
        }
        zt_buf_dispose(&b);
    }
}

/* A revoked device must fail its next handshake: reload the revoked serials when the shared
 * revocation counter (bumped by `ztgate device revoke`, the admin API, ...) moves. */
/* The operator learns from the error log when the audit log fails and when it takes writes
 * again (the writer retries by itself). */
static void audit_health_report(zt_server *srv)
{
    if (srv->audit == NULL)
        return;
    bool failed = zt_audit_failed(srv->audit);
    if (failed == srv->audit_was_failed)
        return;
    srv->audit_was_failed = failed;
    if (failed)
        zt_error("audit log failed: %s; %s until it can be written again (retried every second)",
                 zt_audit_failure(srv->audit),
                 srv->audit_fail_open ? "serving unaudited (fail_open)"
                                      : "refusing requests with 503 (fail_closed)");
    else
        zt_info("audit log: writable again; serving (see the \"audit log resumed\" record)");
}

static void on_revoked_timer(uv_timer_t *t)
{
    zt_server *srv = t->data;
    audit_health_report(srv);
    if (++srv->spool_ticks % 4 == 0)
        audit_spool_drain(srv); /* about once a second */
    uint64_t now = zt_sessions_revocation(srv->svc.sessions);
    if (now == srv->revoked_seen)
        return;
    srv->revoked_seen = now;
    zt_devices_refresh_revoked(srv->svc.devices);
}

/* Incident timelines and playbook actions are audit records like any other decision. */
static int response_audit(void *ctx, const char *json, size_t len)
{
    zt_server *srv = ctx;
    if (srv->audit == NULL)
        return 0;
    return zt_audit_submit(srv->audit, json, len) > 0 ? 0 : -EIO;
}

static void services_close(zt_services *svc)
{
    zt_response_free(svc->response);
    zt_devices_free(svc->devices);
    zt_risk_free(svc->risk);
    zt_feeds_free(atomic_exchange(&svc->feeds, NULL));
    zt_throttle_free(svc->throttle);
    zt_sessions_free(svc->sessions);
    zt_password_pool_free(svc->passwords);
    zt_breach_close(svc->breach);
    zt_keys_free(svc->keys);
    zt_secretbox_free(svc->secrets);
    zt_store_close(svc->store);
    free(svc->state_dir);
    memset(svc, 0, sizeof(*svc));
}

/* Everything sign-in needs, opened before any loop runs; a missing piece stops the start with
 * a message that says which file or setting is wrong. */
static int services_open(zt_server *srv, const zt_config *cfg)
{
    zt_services *svc = &srv->svc;
    char err[512] = "";
    const char *why = NULL;
    /* A copy: this generation of the config is freed after the next reload (local.h). */
    svc->state_dir = strdup(cfg->state_dir);
    if (svc->state_dir == NULL) {
        zt_error("not starting: out of memory");
        return -1;
    }
    svc->audit = srv->audit;
    svc->audit_fail_open = srv->audit_fail_open;
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = cfg->state_dir};
    svc->store = zt_store_open(&sc, err, sizeof(err));
    if (svc->store == NULL) {
        zt_error("not starting: store: %s", err);
        return -1;
    }
    svc->secrets = zt_secretbox_load_key(cfg->auth.secrets_key, true, err, sizeof(err));
    if (svc->secrets == NULL) {
        zt_error("not starting: auth.secrets_key: %s", err);
        return -1;
    }
    if (zt_keys_open(cfg->auth.keys_dir, &svc->keys, err, sizeof(err)) < 0) {
        zt_error("not starting: auth.keys_dir: %s", err);
        return -1;
    }
    if (cfg->auth.breach_corpus != NULL) {
        svc->breach = zt_breach_open(cfg->auth.breach_corpus, 0, err, sizeof(err));
        if (svc->breach == NULL) {
            zt_error("not starting: auth.breached_passwords: %s", err);
            return -1;
        }
    }
    zt_password_pool_cfg pc = {
        .params = {cfg->auth.argon2_passes, (size_t)cfg->auth.argon2_memory},
        .max_in_flight = cfg->auth.hash_queue,
        .threads = cfg->auth.hash_threads,
        .nice = (int)cfg->auth.hash_nice,
    };
    svc->passwords = zt_password_pool_new(&pc, &why);
    if (svc->passwords == NULL) {
        zt_error("not starting: password hashing: %s", why ? why : "cannot start");
        return -1;
    }
    zt_sessions_cfg ssc = {
        .store = svc->store,
        .state_dir = cfg->state_dir,
        .secrets = svc->secrets,
        .idle_s = (int64_t)(cfg->auth.session_idle_ms / 1000),
        .absolute_s = (int64_t)(cfg->auth.session_absolute_ms / 1000),
    };
    svc->sessions = zt_sessions_new(&ssc, err, sizeof(err));
    if (svc->sessions == NULL) {
        zt_error("not starting: sessions: %s", err);
        return -1;
    }
    zt_throttle_cfg tc;
    throttle_cfg_from(cfg, &tc);
    svc->throttle = zt_throttle_new(&tc);
    if (svc->throttle == NULL) {
        zt_error("not starting: out of memory");
        return -1;
    }
    zt_risk_cfg rc;
    risk_cfg_from(cfg, &rc);
    if (zt_risk_cfg_check(&rc, err, sizeof(err)) < 0 ||
        (svc->risk = zt_risk_new(&rc, svc->store, err, sizeof(err))) == NULL) {
        zt_error("not starting: risk: %s", err);
        return -1;
    }
    unsigned char notify_key[32];
    zt_secretbox_derive(svc->secrets, "ztgate webhook v1", notify_key);
    zt_response_cfg respc = {.config = cfg,
                             .store = svc->store,
                             .risk = svc->risk,
                             .state_dir = cfg->state_dir,
                             .notify_key = notify_key,
                             .notify_key_len = sizeof(notify_key),
                             .audit = response_audit,
                             .audit_ctx = srv};
    svc->response = zt_response_new(&respc, err, sizeof(err));
    zt_wipe(notify_key, sizeof(notify_key));
    if (svc->response == NULL) {
        zt_error("not starting: incidents/playbooks: %s", err);
        return -1;
    }
    zt_devices_cfg dc;
    zt_devices_cfg_words words;
    if (zt_devices_cfg_from_config(cfg, svc->store, &dc, &words, err, sizeof(err)) < 0 ||
        (svc->devices = zt_devices_new(&dc, err, sizeof(err))) == NULL) {
        zt_error("not starting: devices: %s", err);
        return -1;
    }
    if (runtime_devices_tls(srv->rt, svc->devices) < 0)
        return -1;
    srv->revoked_seen = zt_sessions_revocation(svc->sessions);
    audit_spool_drain(srv); /* what the CLI queued while the gateway was down */
    feeds_refresh(srv, cfg, true);
    if (feeds_configured(cfg) && atomic_load(&svc->feeds) == NULL) {
        zt_error("not starting: the risk feeds could not be loaded");
        return -1;
    }
    if (cfg->admin.address != NULL &&
        zt_admin_token_init(cfg->admin.token_file, svc->admin_token_hash, err, sizeof(err)) < 0) {
        zt_error("not starting: admin.token_file: %s", err);
        return -1;
    }
    return 0;
}

/* state_dir and any missing parent, 0700 (what check-config's preflight expects). */
static int state_dir_create(const char *dir)
{
    char p[4096];
    int n = snprintf(p, sizeof(p), "%s", dir);
    if (n < 0 || (size_t)n >= sizeof(p))
        return -ENAMETOOLONG;
    for (char *s = p + 1; *s != '\0'; s++) {
        if (*s != '/')
            continue;
        *s = '\0';
        if (mkdir(p, 0700) < 0 && errno != EEXIST)
            return -errno;
        *s = '/';
    }
    if (mkdir(p, 0700) < 0 && errno != EEXIST)
        return -errno;
    return 0;
}

/* ---- the start without serving: check-config's preflight, tests, fuzzing ---------------- */

/* zt_errf, then -1: one line for each refusal below. */
static int preflight_fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static int preflight_fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* dir's parent ("." for a bare name, "/" for "/x"), in out. */
static void preflight_parent(const char *dir, char out[4096])
{
    snprintf(out, 4096, "%s", dir);
    char *slash = strrchr(out, '/');
    if (slash == NULL)
        snprintf(out, 4096, ".");
    else
        slash[slash == out ? 1 : 0] = '\0';
}

/* a and b name the same directory as written, trailing slashes aside. */
static bool preflight_same_dir(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b);
    while (na > 1 && a[na - 1] == '/')
        na--;
    while (nb > 1 && b[nb - 1] == '/')
        nb--;
    return na == nb && memcmp(a, b, na) == 0;
}

/* True when dir is a directory we may create entries in, or is state_dir, which serve creates
 * with its parents (state_dir_create) before anything else. */
static bool preflight_dir_usable(const char *dir, const char *state_dir)
{
    struct stat st;
    char at[4096];
    snprintf(at, sizeof(at), "%s", dir);
    while (stat(at, &st) != 0) {
        if (errno != ENOENT || !preflight_same_dir(dir, state_dir) || strcmp(at, ".") == 0 ||
            strcmp(at, "/") == 0)
            return false;
        char up[4096];
        preflight_parent(at, up);
        memcpy(at, up, sizeof(at));
    }
    return S_ISDIR(st.st_mode) && access(at, W_OK | X_OK) == 0;
}

/* A state file or directory serve opens: it exists as that kind and can be read, or a first
 * start can create it. mkdir_p: its opener creates missing parents (the audit log). */
static int preflight_path(const char *key, const char *path, bool dir, bool mkdir_p,
                          const char *state_dir, char *err, size_t errlen)
{
    struct stat st;
    if (path == NULL || path[0] == '\0')
        return preflight_fail(err, errlen, "%s is not set", key);
    if (stat(path, &st) == 0) {
        bool kind = dir ? S_ISDIR(st.st_mode) : S_ISREG(st.st_mode);
        if (!kind || access(path, dir ? R_OK | X_OK : R_OK) != 0)
            return preflight_fail(err, errlen, "%s: %s is not a readable %s", key, path,
                                  dir ? "directory" : "file");
        return 0;
    }
    if (errno != ENOENT)
        return preflight_fail(err, errlen, "%s: %s: %s", key, path, strerror(errno));
    char parent[4096];
    preflight_parent(path, parent);
    /* The audit log's opener creates missing parents: the nearest existing one must do. */
    while (mkdir_p && !preflight_same_dir(parent, state_dir) && stat(parent, &st) != 0 &&
           errno == ENOENT && strcmp(parent, ".") != 0 && strcmp(parent, "/") != 0) {
        char up[4096];
        preflight_parent(parent, up);
        memcpy(parent, up, sizeof(parent));
    }
    if (preflight_dir_usable(parent, state_dir))
        return 0;
    return preflight_fail(err, errlen, "%s: cannot create %s: %s is not a writable directory", key,
                          path, parent);
}

/* A log destination: "-", "off", an existing file (or device) it may append to, or a new
 * file in a directory that exists or is state_dir. */
static int preflight_log(const char *key, const char *path, const char *state_dir, char *err,
                         size_t errlen)
{
    struct stat st;
    if (path == NULL || strcmp(path, "-") == 0 || strcmp(path, "off") == 0)
        return 0;
    if (stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode) || access(path, W_OK) != 0)
            return preflight_fail(err, errlen, "%s: %s is not a file ztgate may write", key, path);
        return 0;
    }
    bool missing = errno == ENOENT;
    char parent[4096];
    preflight_parent(path, parent);
    if (missing && preflight_dir_usable(parent, state_dir))
        return 0;
    return preflight_fail(err, errlen, "%s: cannot create %s: %s is not a writable directory", key,
                          path, parent);
}

/* Two settings naming one path: the first to be created would be in the other's way. */
static int preflight_distinct(const zt_config *cfg, bool audit, char *err, size_t errlen)
{
    const struct {
        const char *key, *path;
    } p[] = {
        {"state_dir", cfg->state_dir},
        {"auth.secrets_key", cfg->auth.secrets_key},
        {"auth.keys_dir", cfg->auth.keys_dir},
        {"devices.ca_dir", cfg->devices.ca_dir},
        {"audit.path", audit ? cfg->audit.path : NULL},
        {"audit.signing_key", audit ? cfg->audit.signing_key_file : NULL},
        {"admin.token_file", cfg->admin.address != NULL ? cfg->admin.token_file : NULL},
    };
    size_t n = sizeof(p) / sizeof(p[0]);
    for (size_t i = 0; i < n; i++)
        for (size_t j = i + 1; j < n; j++)
            if (p[i].path != NULL && p[j].path != NULL && preflight_same_dir(p[i].path, p[j].path))
                return preflight_fail(err, errlen, "%s and %s are the same path: %s", p[i].key,
                                      p[j].key, p[i].path);
    return 0;
}

static int preflight_paths(const zt_config *cfg, char *err, size_t errlen)
{
    const char *sd = cfg->state_dir;
    bool audit = cfg->audit.path == NULL || strcmp(cfg->audit.path, "off") != 0;
    if (preflight_distinct(cfg, audit, err, errlen) < 0 ||
        preflight_log("log.access", cfg->log.access_path, sd, err, errlen) < 0 ||
        preflight_log("log.error", cfg->log.error_path, sd, err, errlen) < 0)
        return -1;
    if (preflight_path("state_dir", sd, true, true, sd, err, errlen) < 0 ||
        preflight_path("auth.secrets_key", cfg->auth.secrets_key, false, false, sd, err, errlen) <
            0 ||
        preflight_path("auth.keys_dir", cfg->auth.keys_dir, true, false, sd, err, errlen) < 0 ||
        preflight_path("devices.ca_dir", cfg->devices.ca_dir, true, false, sd, err, errlen) < 0)
        return -1;
    if (audit && (preflight_path("audit.path", cfg->audit.path, false, true, sd, err, errlen) < 0 ||
                  preflight_path("audit.signing_key", cfg->audit.signing_key_file, false, true, sd,
                                 err, errlen) < 0))
        return -1;
    if (cfg->admin.address != NULL && preflight_path("admin.token_file", cfg->admin.token_file,
                                                     false, false, sd, err, errlen) < 0)
        return -1;
    return 0;
}

/* TLS contexts as serve builds them; a self-signed pair still to be created is left alone. */
static int preflight_tls(const char *what, const zt_tls_cfg *tc, char *err, size_t errlen)
{
    if (tc->self_signed && access(tc->cert_file, F_OK) != 0 && access(tc->key_file, F_OK) != 0)
        return 0;
    char why[512] = "";
    SSL_CTX *ctx = zt_tls_server_ctx(tc, why, sizeof(why));
    if (ctx == NULL)
        return preflight_fail(err, errlen, "%s: %s", what, why);
    SSL_CTX_free(ctx);
    return 0;
}

/* What serve derives from the config before it opens anything, built and thrown away. */
static int preflight_derived(const zt_config *cfg, char *err, size_t errlen)
{
    char why[512] = "";
    zt_policy_set *ps = zt_policy_compile(cfg, why, sizeof(why));
    if (ps == NULL)
        return preflight_fail(err, errlen, "policies: %s", why[0] ? why : "cannot compile");
    zt_policy_set_free(ps);
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (cfg->listeners[i].tls &&
            preflight_tls(cfg->listeners[i].address, &cfg->listeners[i].tls_cfg, err, errlen) < 0)
            return -1;
    if (cfg->admin.address != NULL && cfg->admin.tls &&
        preflight_tls("admin listener", &cfg->admin.tls_cfg, err, errlen) < 0)
        return -1;
    zt_password_params pp = {cfg->auth.argon2_passes, (size_t)cfg->auth.argon2_memory};
    const char *pwhy = NULL;
    if (!zt_password_params_ok(&pp, &pwhy))
        return preflight_fail(err, errlen, "password hashing: %s", pwhy ? pwhy : "bad parameters");
    zt_risk_cfg rc;
    risk_cfg_from(cfg, &rc);
    if (zt_risk_cfg_check(&rc, why, sizeof(why)) < 0)
        return preflight_fail(err, errlen, "risk: %s", why);
    zt_devices_cfg dc;
    zt_devices_cfg_words words;
    if (zt_devices_cfg_from_config(cfg, NULL, &dc, &words, why, sizeof(why)) < 0)
        return preflight_fail(err, errlen, "devices: %s", why);
    zt_playbook *pbs = calloc(ZT_PB_MAX, sizeof(*pbs));
    size_t n_pbs = 0;
    int rc_pb = pbs == NULL
                    ? -ENOMEM
                    : zt_playbooks_from_config(cfg, pbs, ZT_PB_MAX, &n_pbs, why, sizeof(why));
    free(pbs);
    if (rc_pb != 0)
        return preflight_fail(err, errlen, "playbooks: %s",
                              rc_pb == -ENOMEM ? "out of memory" : why);
    return 0;
}

/* Files serve reads as they are (nothing here creates or changes a file). */
static int preflight_files(const zt_config *cfg, char *err, size_t errlen)
{
    char why[512] = "";
    if (access(cfg->auth.secrets_key, F_OK) == 0) {
        zt_secretbox *box = zt_secretbox_load_key(cfg->auth.secrets_key, false, why, sizeof(why));
        if (box == NULL)
            return preflight_fail(err, errlen, "auth.secrets_key: %s", why);
        zt_secretbox_free(box);
    }
    if (cfg->auth.breach_corpus != NULL) {
        zt_breach *b = zt_breach_open(cfg->auth.breach_corpus, 0, why, sizeof(why));
        if (b == NULL)
            return preflight_fail(err, errlen, "auth.breached_passwords: %s", why);
        zt_breach_close(b);
    }
    if (!feeds_configured(cfg))
        return 0;
    zt_feed_file files[128];
    zt_feeds_cfg fc;
    feeds_cfg_from(cfg, &fc, files);
    zt_buf report;
    zt_buf_init(&report, 64 * 1024);
    zt_feeds *f = zt_feeds_load(&fc, NULL, &report, why, sizeof(why));
    zt_buf_dispose(&report);
    if (f == NULL)
        return preflight_fail(err, errlen, "risk feeds: %s", why[0] ? why : "cannot load");
    zt_feeds_free(f);
    return 0;
}

int zt_proxy_preflight(const zt_config *cfg, char *err, size_t errlen)
{
    if (!zt_secure_init())
        return preflight_fail(err, errlen, "libsodium could not be initialised");
    if (preflight_paths(cfg, err, errlen) < 0 || preflight_derived(cfg, err, errlen) < 0 ||
        preflight_files(cfg, err, errlen) < 0)
        return -1;
    return 0;
}

int zt_proxy_start_trial(zt_config *cfg)
{
    if (!zt_secure_init()) {
        zt_config_free(cfg);
        return -1;
    }
    zt_server srv = {.config_path = cfg->path};
    atomic_init(&srv.n_conns, 0);
    char err[512] = "";
    int mk = state_dir_create(cfg->state_dir);
    if (mk < 0) {
        zt_error("%s: cannot create state_dir: %s", cfg->state_dir, strerror(-mk));
        zt_config_free(cfg);
        return -1;
    }
    srv.rt = runtime_build(cfg, 1); /* owns cfg from here, even when it fails */
    if (srv.rt == NULL)
        return -1;
    srv.audit_fail_open = cfg->audit.fail_open;
    int rc = 0;
    if (strcmp(cfg->audit.path, "off") != 0 &&
        (srv.audit = zt_audit_open(&cfg->audit, err, sizeof(err))) == NULL) {
        zt_error("not starting: audit log: %s", err);
        rc = -1;
    }
    if (rc == 0 && services_open(&srv, cfg) < 0)
        rc = -1;
    services_close(&srv.svc);
    zt_feeds_free(srv.feeds_old);
    zt_audit_close(srv.audit);
    zt_runtime_release(srv.rt);
    return rc;
}

/* ---- main thread: signals, reload, stop -------------------------------------------------- */

static bool listeners_changed(const zt_config *a, const zt_config *b)
{
    if (a->n_listeners != b->n_listeners ||
        (a->admin.address == NULL) != (b->admin.address == NULL))
        return true;
    if (a->admin.address != NULL &&
        (strcmp(a->admin.address, b->admin.address) != 0 || a->admin.tls != b->admin.tls))
        return true;
    for (size_t i = 0; i < a->n_listeners; i++)
        if (strcmp(a->listeners[i].address, b->listeners[i].address) != 0 ||
            a->listeners[i].tls != b->listeners[i].tls)
            return true;
    return false;
}

static void server_reload(zt_server *srv)
{
    zt_info("reload: reading %s", srv->config_path);
    zt_config *cfg = load_config(srv->config_path);
    if (cfg == NULL) {
        zt_error("reload: %s has errors; still serving the previous configuration",
                 srv->config_path);
        return;
    }
    if (listeners_changed(srv->rt->cfg, cfg)) {
        zt_error("reload: listen addresses changed; that needs a restart. Still serving the "
                 "previous configuration");
        zt_config_free(cfg);
        return;
    }
    /* The store, keys, revocation counter and audit spool were opened there at start. */
    if (strcmp(cfg->state_dir, srv->svc.state_dir) != 0) {
        zt_error("reload: state_dir changed; that needs a restart. Still serving the previous "
                 "configuration");
        zt_config_free(cfg);
        return;
    }
    zt_runtime *rt = runtime_build(cfg, srv->generation + 1);
    if (rt == NULL || runtime_devices_tls(rt, srv->svc.devices) < 0) {
        zt_runtime_release(rt);
        zt_error("reload: still serving the previous configuration");
        return;
    }
    char err[512] = "";
    if (zt_log_open(&rt->cfg->log, err, sizeof(err)) < 0)
        zt_error("reload: %s (logs keep their previous destinations)", err);
    srv->generation++;
    services_configure(srv, rt->cfg);
    feeds_refresh(srv, rt->cfg, true);
    for (unsigned i = 0; i < srv->n_workers; i++) {
        zt_worker *w = &srv->workers[i];
        zt_runtime_release(atomic_exchange(&w->next_rt, zt_runtime_acquire(rt)));
        uv_async_send(&w->wake);
    }
    zt_runtime_release(srv->rt);
    srv->rt = rt;
    zt_info("reload: configuration generation %" PRIu64 " active (%zu apps)", srv->generation,
            rt->cfg->n_apps);
}

static void server_stop(zt_server *srv, const char *why)
{
    if (srv->stopping)
        return;
    srv->stopping = true;
    zt_info("%s: no longer accepting; draining in-flight requests (up to %" PRIu64 " ms)", why,
            srv->rt->cfg->timeouts.drain_ms);
    for (unsigned i = 0; i < srv->n_workers; i++) {
        atomic_store(&srv->workers[i].stop_requested, true);
        uv_async_send(&srv->workers[i].wake);
    }
    uv_close((uv_handle_t *)&srv->sig_hup, NULL);
    uv_close((uv_handle_t *)&srv->sig_term, NULL);
    uv_close((uv_handle_t *)&srv->sig_int, NULL);
    uv_close((uv_handle_t *)&srv->sweep, NULL);
    uv_close((uv_handle_t *)&srv->feeds_timer, NULL);
    uv_close((uv_handle_t *)&srv->revoked_timer, NULL);
    uv_close((uv_handle_t *)&srv->device_sweep, NULL);
}

static void on_signal(uv_signal_t *s, int signum)
{
    zt_server *srv = s->data;
    if (signum == SIGHUP)
        server_reload(srv);
    else
        server_stop(srv, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

static int start_workers(zt_server *srv)
{
    unsigned n = srv->rt->cfg->workers ? srv->rt->cfg->workers : 1;
    srv->workers = calloc(n, sizeof(*srv->workers));
    if (srv->workers == NULL)
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++) {
        srv->n_workers++;
        int rc = worker_init(&srv->workers[i], srv, i);
        if (rc < 0)
            return rc;
    }
    for (unsigned i = 0; i < n; i++) {
        if (uv_thread_create(&srv->workers[i].thread, worker_main, &srv->workers[i]) < 0)
            return -EAGAIN;
    }
    return 0;
}

static void stop_workers(zt_server *srv, bool started)
{
    for (unsigned i = 0; i < srv->n_workers; i++) {
        zt_worker *w = &srv->workers[i];
        if (started)
            uv_thread_join(&w->thread);
        worker_dispose(w);
    }
    free(srv->workers);
}

/* Expired sessions are refused on lookup anyway; sweeping keeps the table from growing. */
#define ZT_SWEEP_INTERVAL_MS (5 * 60 * 1000)

static void on_sweep(uv_timer_t *t)
{
    zt_server *srv = t->data;
    uint64_t n = 0;
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    int rc = zt_store_session_delete_expired(srv->svc.store, now, &n);
    if (rc < 0)
        zt_warn("sessions: deleting expired sessions failed: %s", zt_store_errmsg());
    else if (n > 0)
        zt_info("sessions: deleted %" PRIu64 " expired session(s)", n);
}

/* Device signals no request brings (a silent agent, a report gone stale) come from this timer,
 * so they fire while nobody uses the device. */
static void on_device_sweep(uv_timer_t *t)
{
    zt_server *srv = t->data;
    zt_devices_sweep_result res;
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    int rc = zt_devices_sweep(srv->svc.devices, srv->svc.response, now, response_audit, srv, &res);
    if (rc < 0)
        zt_warn("devices: the silent-agent sweep failed: %s", strerror(-rc));
    else if (res.silent + res.stale > 0)
        zt_info("devices: %u silent agent(s), %u stale posture report(s) signalled", res.silent,
                res.stale);
}

/* Installed before the workers start listening: a SIGTERM that arrives as soon as the port
 * accepts connections must drain, not kill the process with the default action. */
static void install_signals(zt_server *srv)
{
    uv_loop_t *loop = uv_default_loop();
    srv->main_loop = loop;
    uv_signal_init(loop, &srv->sig_hup);
    uv_signal_init(loop, &srv->sig_term);
    uv_signal_init(loop, &srv->sig_int);
    srv->sig_hup.data = srv->sig_term.data = srv->sig_int.data = srv;
    uv_signal_start(&srv->sig_hup, on_signal, SIGHUP);
    uv_signal_start(&srv->sig_term, on_signal, SIGTERM);
    uv_signal_start(&srv->sig_int, on_signal, SIGINT);
    uv_timer_init(loop, &srv->sweep);
    srv->sweep.data = srv;
    uv_timer_start(&srv->sweep, on_sweep, ZT_SWEEP_INTERVAL_MS, ZT_SWEEP_INTERVAL_MS);
    uint64_t every = srv->rt->cfg->risk.feed_check_ms;
    uv_timer_init(loop, &srv->revoked_timer);
    srv->revoked_timer.data = srv;
    uv_timer_start(&srv->revoked_timer, on_revoked_timer, 250, 250);
    uv_timer_init(loop, &srv->feeds_timer);
    srv->feeds_timer.data = srv;
    uv_timer_start(&srv->feeds_timer, on_feeds_timer, every, every);
    uint64_t sweep = zt_devices_sweep_interval_ms(srv->svc.devices);
    uv_timer_init(loop, &srv->device_sweep);
    srv->device_sweep.data = srv;
    uv_timer_start(&srv->device_sweep, on_device_sweep, 0, sweep);
}

int zt_proxy_serve(const char *config_path)
{
    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit must surface as a failed write (the audit log then fails closed and
     * retries), not kill the gateway. */
    signal(SIGXFSZ, SIG_IGN);
    if (!zt_secure_init()) {
        zt_error("libsodium could not be initialised");
        return 1;
    }
    /* Tests of expiry (sessions, codes, lockouts) move the wall clock instead of sleeping. */
    const char *offset = getenv("ZTGATE_TEST_CLOCK_OFFSET_S");
    if (offset != NULL && *offset != '\0') {
        char *end = NULL;
        long long s = strtoll(offset, &end, 10);
        if (*end != '\0' || s < -(1LL << 40) || s > (1LL << 40)) {
            zt_error("ZTGATE_TEST_CLOCK_OFFSET_S: not a number of seconds: %s", offset);
            return 1;
        }
        zt_time_set_offset_us((int64_t)s * 1000000);
        zt_warn("test clock offset of %lld s in effect (ZTGATE_TEST_CLOCK_OFFSET_S)", s);
    }
    zt_server srv = {.config_path = config_path};
    atomic_init(&srv.n_conns, 0);
    zt_random_hex(srv.boot_id, 4);
    zt_config *cfg = load_config(config_path);
    if (cfg == NULL) {
        zt_error("%s: not starting: the configuration has errors", config_path);
        return 1;
    }
    char err[512] = "";
    /* State (logs, keys, database) lives under state_dir: create it private on first start. */
    int mk = state_dir_create(cfg->state_dir);
    if (mk < 0) {
        zt_error("%s: cannot create state_dir: %s", cfg->state_dir, strerror(-mk));
        zt_config_free(cfg);
        return 1;
    }
    if (zt_log_open(&cfg->log, err, sizeof(err)) < 0) {
        zt_error("%s", err);
        zt_config_free(cfg);
        return 1;
    }
    srv.rt = runtime_build(cfg, 1);
    if (srv.rt == NULL)
        return 1;
    srv.generation = 1;
    srv.audit_fail_open = srv.rt->cfg->audit.fail_open;
    if (strcmp(srv.rt->cfg->audit.path, "off") != 0) {
        /* No audit, no service: a gateway that cannot record its decisions does not start. */
        srv.audit = zt_audit_open(&srv.rt->cfg->audit, err, sizeof(err));
        if (srv.audit == NULL) {
            zt_error("not starting: audit log: %s", err);
            zt_runtime_release(srv.rt);
            return 1;
        }
    }
    if (services_open(&srv, srv.rt->cfg) < 0) {
        services_close(&srv.svc);
        zt_audit_close(srv.audit);
        zt_runtime_release(srv.rt);
        return 1;
    }
    install_signals(&srv);
    srv.share = zt_conn_share_new();
    int rc = srv.share != NULL ? start_workers(&srv) : -ENOMEM;
    if (rc < 0) {
        zt_error("not starting: %s", strerror(-rc));
        stop_workers(&srv, false);
        zt_conn_share_free(srv.share);
        services_close(&srv.svc);
        zt_audit_close(srv.audit);
        zt_runtime_release(srv.rt);
        return 1;
    }
    for (size_t i = 0; i < srv.rt->cfg->n_listeners; i++)
        zt_info("listening on %s://%s", srv.rt->cfg->listeners[i].tls ? "https" : "http",
                srv.rt->cfg->listeners[i].address);
    if (srv.rt->cfg->admin.address != NULL)
        zt_info("admin API on %s://%s/api/v1/", srv.rt->cfg->admin.tls ? "https" : "http",
                srv.rt->cfg->admin.address);
    zt_info("ztgate %s serving %zu app(s) with %u worker(s); pid %d", ZT_VERSION,
            srv.rt->cfg->n_apps, srv.n_workers, (int)getpid());
    uv_run(srv.main_loop, UV_RUN_DEFAULT);
    stop_workers(&srv, true);
    zt_conn_share_free(srv.share);
    audit_spool_drain(&srv); /* CLI records queued since the last tick go in before the end */
    zt_info("event loops stopped; closing the store, feeds and logs");
    services_close(&srv.svc);
    zt_feeds_free(srv.feeds_old);
    if (srv.audit != NULL && zt_audit_close(srv.audit) < 0)
        zt_error("audit log: closed after a failure; run `ztgate audit verify`");
    uv_loop_close(srv.main_loop);
    zt_runtime_release(srv.rt);
    zt_info("stopped");
    zt_log_close();
    return 0;
}
