/* `ztgate serve`: one libuv event loop per worker thread, each with its own SO_REUSEPORT
 * listening sockets so the kernel spreads connections; the main thread only handles signals:
 * SIGHUP builds a new config generation and hands it to every loop (a bad config is refused
 * and the old one keeps serving), SIGTERM/SIGINT stop accepting and drain. */
#include "proxy/proxy.h"

#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <signal.h>
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
    const zt_risk_cfg_ *r = &cfg->risk;
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
    const zt_risk_cfg_ *r = &cfg->risk;
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
    const zt_risk_cfg_ *r = &cfg->risk;
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
    if (srv->audit == NULL)
        return;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", srv->rt->cfg->state_dir, ZT_AUDIT_SPOOL_DIR);
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
static void on_revoked_timer(uv_timer_t *t)
{
    zt_server *srv = t->data;
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
    zt_devices_install(NULL);
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
    memset(svc, 0, sizeof(*svc));
}

/* Everything sign-in needs, opened before any loop runs; a missing piece stops the start with
 * a message that says which file or setting is wrong. */
static int services_open(zt_server *srv, const zt_config *cfg)
{
    zt_services *svc = &srv->svc;
    char err[512] = "";
    const char *why = NULL;
    svc->state_dir = cfg->state_dir;
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
    zt_devices_install(svc->devices);
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
}

int zt_proxy_serve(const char *config_path)
{
    signal(SIGPIPE, SIG_IGN);
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
    if (mkdir(cfg->state_dir, 0700) < 0 && errno != EEXIST) {
        zt_error("%s: cannot create state_dir: %s", cfg->state_dir, strerror(errno));
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
    int rc = start_workers(&srv);
    if (rc < 0) {
        zt_error("not starting: %s", strerror(-rc));
        stop_workers(&srv, false);
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
