/* `ztgate serve`: the composition root. Loads the configuration, opens the shared services,
 * registers the handlers, starts the proxy's loops, and then runs the main thread: SIGHUP
 * builds a new config generation and hands it to every loop (a bad config is refused and the
 * old one keeps serving), SIGTERM/SIGINT stop accepting and drain. */
#include "gateway/gateway.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "admin/admin.h"
#include "console/console.h"
#include "scim/scim.h"
#include "core/log.h"
#include "device/device.h"
#include "gateway/gateway_int.h"
#include "federation/federation.h"
#include "idp/idp.h"
#include "lib/secure.h"
#include "policy/policy.h"
#include "lib/time.h"
#include "portal/portal.h"

zt_config *zt_gw_load_config(const char *path)
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

/* ---- the handler table ------------------------------------------------------------------- */

static void portal_entry(void *ctx, zt_local_req *r)
{
    (void)ctx;
    zt_portal_handle(r);
}

static void admin_entry(void *ctx, zt_local_req *r)
{
    (void)ctx;
    if (zt_scim_path_is_scim(r->path, r->path_len) && r->svc->scim_token_hash[0] != '\0')
        zt_scim_handle(r);
    else
        zt_admin_handle(r);
}

static void device_entry(void *ctx, zt_local_req *r)
{
    zt_device_handle_with(ctx, r);
}

/* Every request ztgate answers itself; the more specific prefix first. A new front-end is one
 * more line here. */
void zt_gw_handlers_build(zt_gateway *gw)
{
    zt_handler *e = gw->handler_entries;
    size_t n = 0;
    e[n++] = (zt_handler){ZT_LOCAL_DEVICE, "/.ztgate/device/enroll", zt_portal_device_enrol,
                          gw->svc.devices, false};
    e[n++] = (zt_handler){ZT_LOCAL_DEVICE, "/.ztgate/device", device_entry, gw->svc.devices, false};
    e[n++] = (zt_handler){ZT_LOCAL_DEVICE, "/.ztgate/agent/signin", zt_agent_signin_handle,
                          gw->svc.devices, false};
    e[n++] = (zt_handler){ZT_LOCAL_PORTAL, "/.ztgate/agent/approve", zt_portal_agent_approve,
                          gw->svc.devices, false};
    if (gw->idp != NULL) {
        e[n++] = (zt_handler){ZT_LOCAL_PORTAL, "/.ztgate/oidc", zt_idp_handle, gw->idp, false};
        e[n++] = (zt_handler){ZT_LOCAL_PORTAL, "/.well-known/openid-configuration",
                              zt_idp_discovery_handle, gw->idp, true};
    }
    e[n++] = (zt_handler){ZT_LOCAL_PORTAL, "/.ztgate/saml", zt_idp_saml_handle, NULL, false};
    e[n++] = (zt_handler){ZT_LOCAL_PORTAL, ZT_FED_PREFIX, zt_federation_handle, gw->fed, false};
    e[n++] = (zt_handler){ZT_LOCAL_PORTAL, "/.ztgate", portal_entry, NULL, false};
    e[n++] = (zt_handler){ZT_LOCAL_ADMIN, NULL, admin_entry, NULL, false};
    /* Reached only through the pipeline of an app of kind console (no prefix). */
    e[n++] = (zt_handler){ZT_LOCAL_CONSOLE, NULL, zt_console_handle, NULL, false};
    gw->handlers = (zt_handlers){e, n};
}

/* ---- main thread: signals, reload, stop -------------------------------------------------- */

static void gateway_reload(zt_gateway *gw)
{
    zt_info("reload: reading %s", gw->config_path);
    zt_config *cfg = zt_gw_load_config(gw->config_path);
    if (cfg == NULL) {
        zt_error("reload: %s has errors; still serving the previous configuration",
                 gw->config_path);
        return;
    }
    /* The store, keys, revocation counter and audit spool were opened there at start. */
    if (strcmp(cfg->state_dir, gw->svc.state_dir) != 0) {
        zt_error("reload: state_dir changed; that needs a restart. Still serving the previous "
                 "configuration");
        zt_config_free(cfg);
        return;
    }
    zt_runtime *rt = zt_proxy_reload_prepare(gw->proxy, cfg);
    if (rt == NULL)
        return;
    const zt_config *next = zt_runtime_config(rt);
    char err[512] = "";
    if (zt_log_open(&next->log, err, sizeof(err)) < 0)
        zt_error("reload: %s (logs keep their previous destinations)", err);
    zt_gw_services_reconfigure(gw, next);
    zt_proxy_reload_commit(gw->proxy, rt);
}

static void gateway_stop(zt_gateway *gw, const char *why)
{
    if (gw->stopping)
        return;
    gw->stopping = true;
    zt_info("%s: no longer accepting; draining in-flight requests (up to %" PRIu64 " ms)", why,
            zt_proxy_config(gw->proxy)->timeouts.drain_ms);
    zt_proxy_stop(gw->proxy);
    uv_close((uv_handle_t *)&gw->sig_hup, NULL);
    uv_close((uv_handle_t *)&gw->sig_term, NULL);
    uv_close((uv_handle_t *)&gw->sig_int, NULL);
    zt_gw_timers_close(gw);
}

static void on_signal(uv_signal_t *s, int signum)
{
    zt_gateway *gw = s->data;
    if (signum == SIGHUP)
        gateway_reload(gw);
    else
        gateway_stop(gw, signum == SIGTERM ? "SIGTERM" : "SIGINT");
}

/* Installed before the workers start listening: a SIGTERM that arrives as soon as the port
 * accepts connections must drain, not kill the process with the default action. */
static void install_signals(zt_gateway *gw)
{
    uv_loop_t *loop = uv_default_loop();
    gw->main_loop = loop;
    uv_signal_init(loop, &gw->sig_hup);
    uv_signal_init(loop, &gw->sig_term);
    uv_signal_init(loop, &gw->sig_int);
    gw->sig_hup.data = gw->sig_term.data = gw->sig_int.data = gw;
    uv_signal_start(&gw->sig_hup, on_signal, SIGHUP);
    uv_signal_start(&gw->sig_term, on_signal, SIGTERM);
    uv_signal_start(&gw->sig_int, on_signal, SIGINT);
    zt_gw_timers_start(gw, zt_proxy_config(gw->proxy));
}

/* ---- start and end ----------------------------------------------------------------------- */

/* Tests of expiry (sessions, codes, lockouts) move the wall clock instead of sleeping. */
static int test_clock_from_env(void)
{
    const char *offset = getenv("ZTGATE_TEST_CLOCK_OFFSET_S");
    if (offset == NULL || *offset == '\0')
        return 0;
    char *end = NULL;
    long long s = strtoll(offset, &end, 10);
    if (*end != '\0' || s < -(1LL << 40) || s > (1LL << 40)) {
        zt_error("ZTGATE_TEST_CLOCK_OFFSET_S: not a number of seconds: %s", offset);
        return -1;
    }
    zt_time_set_offset_us((int64_t)s * 1000000);
    zt_warn("test clock offset of %lld s in effect (ZTGATE_TEST_CLOCK_OFFSET_S)", s);
    return 0;
}

/* Config, state_dir, logs and the first generation; NULL: logged. */
static zt_proxy *gateway_load(const char *config_path)
{
    zt_config *cfg = zt_gw_load_config(config_path);
    if (cfg == NULL) {
        zt_error("%s: not starting: the configuration has errors", config_path);
        return NULL;
    }
    char err[512] = "";
    /* State (logs, keys, database) lives under state_dir: create it private on first start. */
    int mk = zt_gw_state_dir_create(cfg->state_dir);
    if (mk < 0) {
        zt_error("%s: cannot create state_dir: %s", cfg->state_dir, strerror(-mk));
        zt_config_free(cfg);
        return NULL;
    }
    if (zt_log_open(&cfg->log, err, sizeof(err)) < 0) {
        zt_error("%s", err);
        zt_config_free(cfg);
        return NULL;
    }
    return zt_proxy_new(cfg, config_path);
}

/* Audit log, services, handlers; -1: logged. */
static int gateway_open(zt_gateway *gw)
{
    const zt_config *cfg = zt_proxy_config(gw->proxy);
    char err[512] = "";
    gw->audit_fail_open = cfg->audit.fail_open;
    /* Directory binds are the only work on the libuv pool; its default of 4 threads would let
     * four binds to a slow directory hold every other one. Set before any thread starts (libuv
     * reads it at the first queued work); an operator's own setting wins. */
    if (cfg->n_ldap_directories > 0)
        setenv("UV_THREADPOOL_SIZE", "16", 0);
    if (strcmp(cfg->audit.path, "off") != 0) {
        /* No audit, no service: a gateway that cannot record its decisions does not start. */
        gw->audit = zt_audit_open(&cfg->audit, err, sizeof(err));
        if (gw->audit == NULL) {
            zt_error("not starting: audit log: %s", err);
            return -1;
        }
    }
    if (zt_gw_services_open(gw, cfg) < 0)
        return -1;
    if (zt_idp_saml_start(cfg) < 0)
        return -1;
    zt_gw_handlers_build(gw);
    return zt_proxy_attach(gw->proxy, &gw->svc, &gw->handlers);
}

static void gateway_close(zt_gateway *gw)
{
    zt_idp_saml_stop();
    zt_gw_services_close(gw);
    if (gw->audit != NULL && zt_audit_close(gw->audit) < 0)
        zt_error("audit log: closed after a failure; run `ztgate audit verify`");
    zt_proxy_free(gw->proxy);
}

static void log_serving(zt_gateway *gw)
{
    const zt_config *cfg = zt_proxy_config(gw->proxy);
    for (size_t i = 0; i < cfg->n_listeners; i++)
        zt_info("listening on %s://%s", cfg->listeners[i].tls ? "https" : "http",
                cfg->listeners[i].address);
    if (cfg->admin.address != NULL)
        zt_info("admin API on %s://%s/api/v1/", cfg->admin.tls ? "https" : "http",
                cfg->admin.address);
    zt_info("ztgate %s serving %zu app(s) with %u worker(s); pid %d", ZT_VERSION, cfg->n_apps,
            zt_proxy_workers(gw->proxy), (int)getpid());
}

int zt_gateway_serve(const char *config_path)
{
    signal(SIGPIPE, SIG_IGN);
    /* A file-size limit must surface as a failed write (the audit log then fails closed and
     * retries), not kill the gateway. */
    signal(SIGXFSZ, SIG_IGN);
    if (!zt_secure_init()) {
        zt_error("libsodium could not be initialised");
        return 1;
    }
    if (test_clock_from_env() < 0)
        return 1;
    zt_gateway gw = {.config_path = config_path};
    gw.proxy = gateway_load(config_path);
    if (gw.proxy == NULL)
        return 1;
    if (gateway_open(&gw) < 0) {
        gateway_close(&gw);
        return 1;
    }
    install_signals(&gw);
    int rc = zt_proxy_start(gw.proxy);
    if (rc < 0) {
        zt_error("not starting: %s", strerror(-rc));
        gateway_close(&gw);
        return 1;
    }
    log_serving(&gw);
    zt_console_rollup_start(zt_proxy_config(gw.proxy)); /* counts on its own thread */
    uv_run(gw.main_loop, UV_RUN_DEFAULT);
    zt_proxy_join(gw.proxy);
    zt_console_rollup_stop();
    zt_gw_audit_spool_drain(&gw); /* CLI records queued since the last tick go in before the end */
    zt_info("event loops stopped; closing the store, feeds and logs");
    gateway_close(&gw);
    uv_loop_close(gw.main_loop);
    zt_info("stopped");
    zt_log_close();
    return 0;
}
