/* The proxy's server: one libuv event loop per worker thread, each with its own SO_REUSEPORT
 * listening sockets so the kernel spreads connections; config generations built here are
 * handed to every loop on reload (a bad config is refused and the old one keeps serving);
 * stop makes the loops stop accepting and drain. The main thread (signals, timers) belongs to
 * the composition root, src/gateway. */
#include "proxy/proxy.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/ssl.h>

#include "device/device.h"
#include "lib/net.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "proxy/proxy_int.h"
#include "session/session.h"

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
    if (rt->up_tls != NULL) {
        for (size_t i = 0; i < rt->cfg->n_apps; i++)
            SSL_CTX_free(rt->up_tls[i]);
        free(rt->up_tls);
    }
    zt_routes_free(rt->routes);
    zt_policy_set_free(rt->policies);
    free(rt->policy_counters);
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

/* " SCHEME://AUTHORITY" of an absolute URI (config-checked: no spaces, quotes or ';'). */
static int append_origin(zt_buf *b, const char *uri)
{
    const char *p = strstr(uri, "://");
    if (p == NULL)
        return 0;
    size_t n = (size_t)(p + 3 - uri) + strcspn(p + 3, "/?#");
    return zt_buf_printf(b, " %.*s", (int)n, uri);
}

/* The identity provider's clients: the sign-in form's redirect chain ends at a registered
 * redirect URI (the code) or, after the logout confirmation, a post-logout URI. */
static int oidc_form_action(zt_buf *b, const zt_oidc_client_cfg *o)
{
    int rc = 0;
    for (size_t i = 0; i < o->n_redirect_uris && rc == 0; i++)
        rc = append_origin(b, o->redirect_uris[i].s);
    for (size_t i = 0; i < o->n_post_logout_redirect_uris && rc == 0; i++)
        rc = append_origin(b, o->post_logout_redirect_uris[i].s);
    return rc;
}

static char *portal_form_action(const zt_config *cfg)
{
    zt_buf b;
    zt_buf_init(&b, 64 * 1024);
    int rc = zt_buf_append_str(&b, "'self'");
    size_t hosts = 0;
    for (size_t i = 0; i < cfg->n_apps && rc == 0; i++) {
        const char *h = cfg->apps[i].host;
        if (cfg->apps[i].kind == ZT_APP_OIDC) {
            rc = oidc_form_action(&b, &cfg->apps[i].oidc);
            continue;
        }
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

/* The client contexts of the https:// upstreams: a new generation starts with new contexts
 * (CA, client certificate and sessions as the file now says). A file that cannot be used
 * refuses the generation, as a bad listener certificate does. */
static int runtime_upstream_tls(zt_runtime *rt)
{
    const zt_config *cfg = rt->cfg;
    rt->up_tls = calloc(cfg->n_apps + 1, sizeof(*rt->up_tls));
    if (rt->up_tls == NULL)
        return -1;
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *app = &cfg->apps[i];
        if (app->kind != ZT_APP_HTTP || !app->upstream.tls)
            continue;
        char err[512];
        rt->up_tls[i] =
            zt_tls_client_ctx(&app->upstream.tls_cfg, app->upstream.host, err, sizeof(err));
        if (rt->up_tls[i] == NULL) {
            zt_error("%s:%u:%u: app '%s': upstream_tls: %s", cfg->path,
                     app->upstream.has_tls_cfg ? app->upstream.tls_cfg.line : app->line,
                     app->upstream.has_tls_cfg ? app->upstream.tls_cfg.col : app->col, app->name,
                     err);
            return -1;
        }
    }
    return 0;
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
    /* Looked up once per generation, not by name on every request. */
    size_t n_policies = zt_policy_count(rt->policies);
    rt->policy_counters = calloc(n_policies + 1, sizeof(*rt->policy_counters));
    if (rt->policy_counters == NULL) {
        runtime_free(rt);
        return NULL;
    }
    for (size_t i = 0; i < n_policies; i++)
        rt->policy_counters[i] = zt_metric_policy_counter(zt_policy_name(rt->policies, i));
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
    return runtime_upstream_tls(rt) < 0 ? (runtime_free(rt), NULL) : rt;
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
    /* Streams would hold the drain for its whole time: they end now, audited. */
    zt_stream_close_all(w, "gateway shutting down", 1001);
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

/* The decisions of this iteration were queued without waking the writer thread: write them
 * here, together, and release what waited for them. If another thread is writing, its
 * notification (on_audit_wake) releases them instead. */
static void write_owed_records(zt_worker *w)
{
    if (!w->audit_owed)
        return;
    w->audit_owed = false;
    if (zt_audit_write_now(w->server->audit, &w->audit_wake))
        zt_conn_audit_written(w);
}

static void on_audit_check(uv_check_t *h)
{
    write_owed_records(h->data);
}

static void on_audit_prepare(uv_prepare_t *h)
{
    write_owed_records(h->data);
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
    uv_close((uv_handle_t *)&w->audit_check, NULL);
    uv_close((uv_handle_t *)&w->audit_prepare, NULL);
    uv_close((uv_handle_t *)&w->wake, NULL);
    uv_close((uv_handle_t *)&w->flush_timer, NULL);
    uv_close((uv_handle_t *)&w->drain_timer, NULL);
    zt_stream_worker_close(w);
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
    uv_check_init(&w->loop, &w->audit_check);
    w->audit_check.data = w;
    uv_prepare_init(&w->loop, &w->audit_prepare);
    w->audit_prepare.data = w;
    if (srv->audit != NULL) {
        uv_check_start(&w->audit_check, on_audit_check);
        uv_prepare_start(&w->audit_prepare, on_audit_prepare);
    }
    uv_unref((uv_handle_t *)&w->audit_check);
    uv_unref((uv_handle_t *)&w->audit_prepare);
    w->sessions = zt_session_cache_new(srv->svc->sessions, 65536);
    if (w->sessions == NULL)
        return -ENOMEM;
    uv_timer_init(&w->loop, &w->flush_timer);
    w->flush_timer.data = w;
    uv_timer_start(&w->flush_timer, on_flush_timer, 200, 200);
    uv_unref((uv_handle_t *)&w->flush_timer);
    uv_timer_init(&w->loop, &w->drain_timer);
    w->drain_timer.data = w;
    uv_unref((uv_handle_t *)&w->drain_timer);
    zt_stream_worker_init(w);
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

/* SO_REUSEPORT lets any process of the same user join a port and take a share of its
 * connections, so a second gateway started by mistake would serve part of the traffic with
 * another config. A plain bind first finds an address already in use, and serve refuses. */
static int probe_address(const char *address, const struct sockaddr_storage *addr)
{
    int fd = socket(addr->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    int one = 1;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (addr->ss_family == AF_INET6)
        setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
    socklen_t len =
        addr->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
    int rc = bind(fd, (const struct sockaddr *)addr, len) < 0 ? -errno : 0;
    close(fd);
    if (rc == -EADDRINUSE)
        zt_error("cannot listen on %s: another process is already listening there", address);
    else if (rc < 0)
        zt_error("cannot listen on %s: %s", address, strerror(-rc));
    return rc;
}

static int probe_addresses(const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (probe_address(cfg->listeners[i].address, &cfg->listeners[i].addr) < 0)
            return -EADDRINUSE;
    if (cfg->admin.address != NULL && probe_address(cfg->admin.address, &cfg->admin.addr) < 0)
        return -EADDRINUSE;
    return 0;
}

static int start_workers(zt_server *srv)
{
    if (probe_addresses(srv->rt->cfg) < 0)
        return -EADDRINUSE;
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

/* ---- the proxy's API to the composition root (proxy.h) ---------------------------------- */

zt_proxy *zt_proxy_new(zt_config *cfg, const char *config_path)
{
    zt_server *srv = calloc(1, sizeof(*srv));
    if (srv == NULL) {
        zt_config_free(cfg);
        return NULL;
    }
    srv->config_path = config_path;
    atomic_init(&srv->n_conns, 0);
    zt_random_hex(srv->boot_id, 4);
    srv->rt = runtime_build(cfg, 1); /* owns cfg from here, even when it fails */
    if (srv->rt == NULL) {
        free(srv);
        return NULL;
    }
    srv->generation = 1;
    return srv;
}

const zt_config *zt_proxy_config(const zt_proxy *p)
{
    return p->rt->cfg;
}

int zt_proxy_attach(zt_proxy *p, zt_services *svc, const zt_handlers *handlers)
{
    p->svc = svc;
    p->handlers = handlers;
    p->audit = svc->audit;
    p->audit_fail_open = svc->audit_fail_open;
    return runtime_devices_tls(p->rt, svc->devices);
}

int zt_proxy_start(zt_proxy *p)
{
    p->share = zt_conn_share_new();
    return p->share != NULL ? start_workers(p) : -ENOMEM;
}

unsigned zt_proxy_workers(const zt_proxy *p)
{
    return p->n_workers;
}

zt_runtime *zt_proxy_reload_prepare(zt_proxy *p, zt_config *cfg)
{
    if (listeners_changed(p->rt->cfg, cfg)) {
        zt_error("reload: listen addresses changed; that needs a restart. Still serving the "
                 "previous configuration");
        zt_config_free(cfg);
        return NULL;
    }
    zt_runtime *rt = runtime_build(cfg, p->generation + 1);
    if (rt == NULL || runtime_devices_tls(rt, p->svc->devices) < 0) {
        zt_runtime_release(rt);
        zt_error("reload: still serving the previous configuration");
        return NULL;
    }
    return rt;
}

const zt_config *zt_runtime_config(const zt_runtime *rt)
{
    return rt->cfg;
}

void zt_proxy_reload_commit(zt_proxy *p, zt_runtime *rt)
{
    p->generation++;
    for (unsigned i = 0; i < p->n_workers; i++) {
        zt_worker *w = &p->workers[i];
        zt_runtime_release(atomic_exchange(&w->next_rt, zt_runtime_acquire(rt)));
        uv_async_send(&w->wake);
    }
    zt_runtime_release(p->rt);
    p->rt = rt;
    zt_info("reload: configuration generation %" PRIu64 " active (%zu apps)", p->generation,
            rt->cfg->n_apps);
}

void zt_proxy_stop(zt_proxy *p)
{
    if (p->stopping)
        return;
    p->stopping = true;
    for (unsigned i = 0; i < p->n_workers; i++) {
        atomic_store(&p->workers[i].stop_requested, true);
        uv_async_send(&p->workers[i].wake);
    }
}

void zt_proxy_join(zt_proxy *p)
{
    stop_workers(p, true);
    p->workers = NULL;
    p->n_workers = 0;
}

void zt_proxy_free(zt_proxy *p)
{
    if (p == NULL)
        return;
    stop_workers(p, false); /* a start that failed half-way */
    zt_conn_share_free(p->share);
    zt_runtime_release(p->rt);
    free(p);
}
