/* The services every loop and handler shares, opened once at start (the store, keys, sessions,
 * password hashing, throttle, risk engine and feeds, incidents and playbooks, devices, the
 * admin token), and the main-thread timers that keep them current. */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>
#include <unistd.h>

#include "admin/admin.h"
#include "cluster/cluster.h"
#include "core/log.h"
#include "device/device.h"
#include "gateway/gateway_int.h"
#include "identity/breach.h"
#include "identity/keys.h"
#include "identity/password.h"
#include "identity/secretbox.h"
#include "federation/federation.h"
#include "idp/idp.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "lifecycle/lifecycle.h"
#include "directory/directory.h"
#include "response/incident.h"
#include "response/playbook.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "session/session.h"
#include "session/throttle.h"
#include "store/store.h"

static void throttle_cfg_from(const zt_config *cfg, zt_throttle_cfg *tc)
{
    *tc = (zt_throttle_cfg){
        .account_failure_limit = cfg->auth.account_failure_limit,
        .source_failures_per_minute = cfg->auth.source_failures_per_minute,
    };
}

static void feeds_refresh(zt_gateway *gw, const zt_config *cfg, bool force);

/* ---- shared counters ---- */

/* How often a gateway copies the sources other gateways flagged into its memory (the bound on
 * how long a flag takes to reach every gateway, docs/CLUSTER.md). */
#define ZT_COUNTERS_SYNC_MS 2000

/* Several gateways on one database must seal and open with one auth.secrets_key: a TOTP secret
 * sealed by one is opened by another, and the shared counters are keyed with it. The first
 * gateway leaves a check value of its key (a keyed hash: nothing about the key can be learnt
 * from it) in the database; a gateway whose key gives another value does not start, rather
 * than failing some people's second factor on some gateways. */
/* 1 when this gateway's value of `name` is the one the first gateway on the database left
 * there (or this gateway is the first), 0 when it differs, -1 on a store error (logged). */
static int cluster_agrees(zt_services *svc, const char *name, const char *mine)
{
    char stored[ZT_STORE_SHARED_VALUE_MAX + 1];
    int rc = zt_store_shared_claim(svc->store, name, mine, stored, sizeof(stored));
    if (rc != 0) {
        zt_error("not starting: store: %s", zt_store_errmsg());
        return -1;
    }
    return strcmp(stored, mine) == 0;
}

static int secrets_agree(zt_gateway *gw, const char *key_path)
{
    zt_services *svc = &gw->svc;
    if (!zt_store_counter_shared(svc->store))
        return 0;
    unsigned char check[ZT_SECRETBOX_KEY_LEN];
    char mine[2 * 16 + 1];
    zt_secretbox_derive(svc->secrets, "ztgate cluster key check v1", check);
    sodium_bin2hex(mine, sizeof(mine), check, 16);
    zt_wipe(check, sizeof(check));
    int agree = cluster_agrees(svc, "secrets-check", mine);
    if (agree == 0)
        zt_error("not starting: auth.secrets_key (%s) is not the key the other gateways on this "
                 "database use: copy their key file here (docs/CLUSTER.md)",
                 key_path);
    return agree == 1 ? 0 : -1;
}

/* Likewise the device CA: a device enrolled through one gateway shows a certificate that
 * every other must verify. Compared by the certificate's SHA-256 (it is public). */
static int device_ca_agrees(zt_gateway *gw, const char *ca_dir)
{
    zt_services *svc = &gw->svc;
    if (!zt_store_counter_shared(svc->store))
        return 0;
    char mine[65];
    if (zt_devices_ca_fingerprint(svc->devices, mine) != 0) {
        zt_error("not starting: devices: the device CA certificate cannot be read");
        return -1;
    }
    int agree = cluster_agrees(svc, "device-ca", mine);
    if (agree == 0)
        zt_error("not starting: devices.ca_dir (%s) holds another device CA than the other "
                 "gateways on this database use: copy their device CA directory here "
                 "(docs/CLUSTER.md)",
                 ca_dir);
    return agree == 1 ? 0 : -1;
}

/* Several gateways on one database: the throttle and the spray tracking count there, hashed
 * with keys every gateway derives from the same auth.secrets_key. A single gateway (SQLite)
 * keeps counting in memory. */
static int counters_share(zt_gateway *gw, const zt_risk_cfg *risk_cfg)
{
    zt_services *svc = &gw->svc;
    if (!zt_store_counter_shared(svc->store))
        return 0;
    unsigned char key[ZT_SECRETBOX_KEY_LEN];
    zt_secretbox_derive(svc->secrets, "ztgate throttle v1", key);
    int rc = zt_throttle_set_shared(svc->throttle, svc->store, key);
    zt_secretbox_derive(svc->secrets, "ztgate spray v1", key);
    if (rc == 0)
        rc = zt_risk_set_shared(svc->risk, key);
    zt_wipe(key, sizeof(key));
    if (rc != 0) {
        zt_error("not starting: shared counters: %s", strerror(-rc));
        return -1;
    }
    gw->counters_shared = true;
    gw->counters_keep_s = risk_cfg->spray_window_s > risk_cfg->reputation_window_s
                              ? risk_cfg->spray_window_s
                              : risk_cfg->reputation_window_s;
    zt_info("throttle and password-spray tracking are shared through the database");
    return 0;
}

static void on_counters_timer(uv_timer_t *t)
{
    zt_gateway *gw = t->data;
    int rc = zt_risk_sync(gw->svc.risk, (int64_t)(zt_wall_us() / 1000000));
    if (rc != 0 && !gw->counters_sync_failed)
        zt_warn("risk: copying flagged sources from the database failed (retrying every %d ms): "
                "%s",
                ZT_COUNTERS_SYNC_MS, zt_store_errmsg());
    else if (rc == 0 && gw->counters_sync_failed)
        zt_info("risk: flagged sources are copied from the database again");
    gw->counters_sync_failed = rc != 0;
}

/* Rows that no longer count (expired ones are never counted: this only bounds the tables). */
static void counters_sweep(zt_gateway *gw, int64_t now_ms)
{
    uint64_t n = 0;
    if (gw->counters_shared &&
        zt_store_counter_sweep(gw->svc.store, now_ms, ZT_THROTTLE_ACCOUNT_RESET_MS,
                               gw->counters_keep_s, &n) != 0)
        zt_warn("throttle: sweeping the shared counters failed: %s", zt_store_errmsg());
}

void zt_gw_services_reconfigure(zt_gateway *gw, const zt_config *cfg)
{
    zt_throttle_cfg tc;
    throttle_cfg_from(cfg, &tc);
    zt_throttle_configure(gw->svc.throttle, &tc);
    zt_sessions_set_expiry(gw->svc.sessions, (int64_t)(cfg->auth.session_idle_ms / 1000),
                           (int64_t)(cfg->auth.session_absolute_ms / 1000));
    feeds_refresh(gw, cfg, true);
    zt_cluster_config_reloaded(gw->cluster, gw->config_path);
    if (!zt_directories_match(gw->svc.directories, cfg->ldap_directories, cfg->n_ldap_directories))
        zt_warn("reload: ldap_directories changed; that needs a restart (the directories of the "
                "start stay in use)");
}

/* ---- feeds ---- */

/* The zt_feeds_cfg view of the config (arrays live in `files`, sized by the caller). */
void zt_gw_feeds_cfg_from(const zt_config *cfg, zt_feeds_cfg *fc, zt_feed_file *files)
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

bool zt_gw_feeds_configured(const zt_config *cfg)
{
    const zt_risk_settings *r = &cfg->risk;
    return r->geoip_city || r->geoip_asn || r->leaked_credentials || r->n_anonymous_ips ||
           r->n_malicious_ips;
}

/* Load (or reload, when something changed) and publish a snapshot. The one it replaces is
 * kept until the next replacement: requests use a snapshot for microseconds, reloads are at
 * least feed_check_interval apart. */
static void feeds_refresh(zt_gateway *gw, const zt_config *cfg, bool force)
{
    zt_services *svc = &gw->svc;
    zt_feeds *cur = atomic_load(&svc->feeds);
    if (!zt_gw_feeds_configured(cfg)) {
        if (cur != NULL) {
            atomic_store(&svc->feeds, NULL);
            zt_feeds_free(gw->feeds_old);
            gw->feeds_old = cur;
        }
        return;
    }
    zt_feed_file files[128];
    zt_feeds_cfg fc;
    zt_gw_feeds_cfg_from(cfg, &fc, files);
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
    zt_feeds_free(gw->feeds_old);
    gw->feeds_old = cur;
}

static void on_feeds_timer(uv_timer_t *t)
{
    zt_gateway *gw = t->data;
    feeds_refresh(gw, zt_proxy_config(gw->proxy), false);
    uv_timer_set_repeat(t, zt_proxy_config(gw->proxy)->risk.feed_check_ms);
}

void zt_gw_risk_cfg_from(const zt_config *cfg, zt_risk_cfg *rc)
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

/* Audit records other processes queued (the CLI's changes): appended in the order they were
 * written, each file removed once the log accepted it. A file that is not a record is kept
 * aside (renamed *.bad) and reported, never lost silently. */
static int spool_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

void zt_gw_audit_spool_drain(zt_gateway *gw)
{
    if (gw->audit == NULL || gw->svc.state_dir == NULL)
        return;
    char dir[4096];
    snprintf(dir, sizeof(dir), "%s/%s", gw->svc.state_dir, ZT_AUDIT_SPOOL_DIR);
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
        if (shaped && zt_audit_submit(gw->audit, b.data, b.len) > 0) {
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
static void audit_health_report(zt_gateway *gw)
{
    if (gw->audit == NULL)
        return;
    bool failed = zt_audit_failed(gw->audit);
    if (failed == gw->audit_was_failed)
        return;
    gw->audit_was_failed = failed;
    if (failed)
        zt_error("audit log failed: %s; %s until it can be written again (retried every second)",
                 zt_audit_failure(gw->audit),
                 gw->audit_fail_open ? "serving unaudited (fail_open)"
                                     : "refusing requests with 503 (fail_closed)");
    else
        zt_info("audit log: writable again; serving (see the \"audit log resumed\" record)");
}

/* Incident timelines and playbook actions are audit records like any other decision. */
static int response_audit(void *ctx, const char *json, size_t len)
{
    zt_gateway *gw = ctx;
    if (gw->audit == NULL)
        return 0;
    return zt_audit_submit(gw->audit, json, len) > 0 ? 0 : -EIO;
}

/* Grants of ended sessions: back-channel logout and refresh tokens refused. Every way a session
 * ends bumps the revocation counter or passes an expiry the sweep sees, so these two timers
 * catch every cause. */
static void idp_sessions_check(zt_gateway *gw)
{
    if (!zt_cluster_job_mine(gw->cluster, ZT_JOB_IDP_SESSIONS))
        return; /* another gateway on the database tells the relying parties */
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    /* SAML service providers: told by SOAP LogoutRequests (also without an OIDC provider). */
    (void)zt_idp_saml_sessions_check(zt_proxy_config(gw->proxy), gw->svc.store, now, response_audit,
                                     gw);
    if (gw->idp == NULL)
        return;
    uint64_t n = zt_idp_sessions_check(gw->idp, zt_proxy_config(gw->proxy), gw->svc.store, now,
                                       response_audit, gw);
    if (n > 0)
        zt_info("oidc: %" PRIu64 " grant(s) of ended sessions closed", n);
}

static void on_revoked_timer(uv_timer_t *t)
{
    zt_gateway *gw = t->data;
    audit_health_report(gw);
    if (++gw->spool_ticks % 4 == 0)
        zt_gw_audit_spool_drain(gw); /* about once a second */
    uint64_t now = zt_sessions_revocation(gw->svc.sessions);
    /* Sessions end by revocation (the counter moves: at once) or by expiry (noticed at the
     * first tick and then every 30 s): either way their relying parties are told. */
    bool moved = now != gw->revoked_seen;
    if (moved || gw->spool_ticks % 120 == 1)
        idp_sessions_check(gw);
    if (!moved)
        return;
    gw->revoked_seen = now;
    zt_devices_refresh_revoked(gw->svc.devices);
}

void zt_gw_services_close(zt_gateway *gw)
{
    zt_services *svc = &gw->svc;
    zt_cluster_stop(gw->cluster); /* before the sessions it reports to */
    gw->cluster = NULL;
    zt_directory_sync_stop(gw->ldap_sync); /* before the store it writes to closes */
    gw->ldap_sync = NULL;
    zt_directories_close(svc->directories);
    svc->directories = NULL;
    zt_idp_free(gw->idp);
    gw->idp = NULL;
    zt_federation_free(gw->fed);
    gw->fed = NULL;
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
    zt_feeds_free(gw->feeds_old);
    gw->feeds_old = NULL;
}

/* Gateways sharing a PostgreSQL database hear of each other's changes through the cluster
 * thread (docs/CLUSTER.md); alone on SQLite the revocation counter file is enough. */
static int cluster_start(zt_gateway *gw, const zt_config *cfg)
{
    if (cfg->store.backend != ZT_STORE_POSTGRES)
        return 0;
    char err[512] = "";
    char *dsn = zt_store_config_dsn(cfg, err, sizeof(err));
    if (dsn == NULL) {
        zt_error("not starting: %s", err);
        return -1;
    }
    zt_cluster_cfg cc = {.dsn = dsn,
                         .node_name = cfg->store.node_name,
                         .config_path = gw->config_path,
                         .sessions = gw->svc.sessions,
                         .store = gw->svc.store,
                         .resync_ms = cfg->store.resync_ms,
                         .outage_grace_ms = cfg->store.outage_grace_ms,
                         .timeout_ms = cfg->store.timeout_ms};
    gw->cluster = zt_cluster_start(&cc, err, sizeof(err));
    zt_store_config_dsn_free(dsn);
    if (gw->cluster == NULL) {
        zt_error("not starting: %s", err);
        return -1;
    }
    return 0;
}

/* Everything sign-in needs, opened before any loop runs; a missing piece stops the start with
 * a message that says which file or setting is wrong. */
int zt_gw_services_open(zt_gateway *gw, const zt_config *cfg)
{
    zt_services *svc = &gw->svc;
    char err[512] = "";
    const char *why = NULL;
    /* A copy: this generation of the config is freed after the next reload (local.h). */
    svc->state_dir = strdup(cfg->state_dir);
    if (svc->state_dir == NULL) {
        zt_error("not starting: out of memory");
        return -1;
    }
    svc->audit = gw->audit;
    svc->audit_fail_open = gw->audit_fail_open;
    svc->store = zt_store_open_config(cfg, err, sizeof(err));
    if (svc->store == NULL) {
        zt_error("not starting: %s", err); /* err starts with "store: " */
        return -1;
    }
    svc->secrets = zt_secretbox_load_key(cfg->auth.secrets_key, true, err, sizeof(err));
    if (svc->secrets == NULL) {
        zt_error("not starting: auth.secrets_key: %s", err);
        return -1;
    }
    if (secrets_agree(gw, cfg->auth.secrets_key) != 0)
        return -1;
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
        .duty = cfg->auth.hash_duty,
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
    if (cluster_start(gw, cfg) != 0)
        return -1;
    zt_throttle_cfg tc;
    throttle_cfg_from(cfg, &tc);
    svc->throttle = zt_throttle_new(&tc);
    if (svc->throttle == NULL) {
        zt_error("not starting: out of memory");
        return -1;
    }
    zt_risk_cfg rc;
    zt_gw_risk_cfg_from(cfg, &rc);
    if (zt_risk_cfg_check(&rc, err, sizeof(err)) < 0 ||
        (svc->risk = zt_risk_new(&rc, svc->store, err, sizeof(err))) == NULL) {
        zt_error("not starting: risk: %s", err);
        return -1;
    }
    if (counters_share(gw, &rc) != 0)
        return -1;
    unsigned char notify_key[32];
    zt_secretbox_derive(svc->secrets, "ztgate webhook v1", notify_key);
    zt_response_cfg respc = {.config = cfg,
                             .store = svc->store,
                             .risk = svc->risk,
                             .state_dir = cfg->state_dir,
                             .notify_key = notify_key,
                             .notify_key_len = sizeof(notify_key),
                             .audit = response_audit,
                             .audit_ctx = gw};
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
    if (device_ca_agrees(gw, dc.ca_dir) != 0)
        return -1;
    gw->revoked_seen = zt_sessions_revocation(svc->sessions);
    svc->directories =
        zt_directories_open(cfg->ldap_directories, cfg->n_ldap_directories, err, sizeof(err));
    if (svc->directories == NULL) {
        zt_error("not starting: %s", err);
        return -1;
    }
    if (zt_idp_open(cfg, &gw->idp, err, sizeof(err)) != 0) {
        zt_error("not starting: identity provider: %s", err);
        return -1;
    }
    if ((gw->fed = zt_federation_new()) == NULL) {
        zt_error("not starting: upstream sign-in: out of memory");
        return -1;
    }
    svc->upstream_logout = zt_federation_logout_url;
    svc->upstream_logout_ctx = gw->fed;
    zt_gw_audit_spool_drain(gw); /* what the CLI queued while the gateway was down */
    feeds_refresh(gw, cfg, true);
    if (zt_gw_feeds_configured(cfg) && atomic_load(&svc->feeds) == NULL) {
        zt_error("not starting: the risk feeds could not be loaded");
        return -1;
    }
    if (cfg->admin.address != NULL && cfg->admin.bootstrap_token &&
        zt_admin_token_init(cfg->admin.token_file, svc->admin_token_hash, err, sizeof(err)) < 0) {
        zt_error("not starting: admin.token_file: %s", err);
        return -1;
    }
    /* The SCIM token is read like the admin token, and must never be the same token. */
    if (cfg->admin.address == NULL && cfg->scim.token_file != NULL)
        zt_warn("scim.token_file is set but admin.listen is not: SCIM is off");
    if (cfg->admin.address != NULL && cfg->scim.token_file != NULL) {
        if (zt_admin_token_init(cfg->scim.token_file, svc->scim_token_hash, err, sizeof(err)) < 0) {
            zt_error("not starting: scim.token_file: %s", err);
            return -1;
        }
        if (strcmp(svc->scim_token_hash, svc->admin_token_hash) == 0) {
            zt_error("not starting: scim.token_file holds the admin token; give SCIM its own");
            return -1;
        }
    }
    return 0;
}

/* state_dir and any missing parent, 0700 (what check-config's preflight expects). */

/* ---- main-thread timers ------------------------------------------------------------------ */

/* Expired sessions are refused on lookup anyway; sweeping keeps the table from growing. */
#define ZT_SWEEP_INTERVAL_MS (5 * 60 * 1000)
/* How soon a node without a job's lease looks again (job_mine_now). */
#define ZT_JOB_RETRY_MS 1000

/* Whether this node runs a run-once job now (it holds the job's lease, docs/CLUSTER.md). When
 * not, its timer looks again in a second rather than a whole period later: at start the first
 * tick comes before the cluster thread has taken any lease, and when the holder dies its leases
 * move here after their ttl; either way the job must start then, not up to a period late. */
static bool job_mine_now(zt_gateway *gw, uv_timer_t *t, uv_timer_cb cb, zt_cluster_job job)
{
    if (zt_cluster_job_mine(gw->cluster, job))
        return true;
    uv_timer_start(t, cb, ZT_JOB_RETRY_MS, uv_timer_get_repeat(t));
    return false;
}

static void on_sweep(uv_timer_t *t)
{
    zt_gateway *gw = t->data;
    if (!job_mine_now(gw, t, on_sweep, ZT_JOB_SESSION_SWEEP))
        return; /* another gateway on the database sweeps */
    uint64_t n = 0;
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    int rc = zt_store_session_delete_expired(gw->svc.store, now, &n);
    if (rc < 0)
        zt_warn("sessions: deleting expired sessions failed: %s", zt_store_errmsg());
    else if (n > 0)
        zt_info("sessions: deleted %" PRIu64 " expired session(s)", n);
    if (gw->idp != NULL)
        zt_idp_sweep(gw->idp, gw->svc.store, now);
    counters_sweep(gw, (int64_t)(zt_wall_us() / 1000));
}

/* Device signals no request brings (a silent agent, a report gone stale) come from this timer,
 * so they fire while nobody uses the device. */
static void on_device_sweep(uv_timer_t *t)
{
    zt_gateway *gw = t->data;
    if (!job_mine_now(gw, t, on_device_sweep, ZT_JOB_DEVICE_SWEEP))
        return;
    zt_devices_sweep_result res;
    int64_t now = (int64_t)(zt_wall_us() / 1000000);
    int rc = zt_devices_sweep(gw->svc.devices, gw->svc.response, now, response_audit, gw, &res);
    if (rc < 0)
        zt_warn("devices: the silent-agent sweep failed: %s", strerror(-rc));
    else if (res.silent + res.stale > 0)
        zt_info("devices: %u silent agent(s), %u stale posture report(s) signalled", res.silent,
                res.stale);
}

/* Expired accounts: their sessions are refused on lookup already; this ends them through the
 * account service, so the end has its audit record (actor System "lifecycle") and every gateway
 * and relying party hears of it through the revocation counter. */
static void on_lifecycle_sweep(uv_timer_t *t)
{
    zt_gateway *gw = t->data;
    if (!job_mine_now(gw, t, on_lifecycle_sweep, ZT_JOB_LIFECYCLE_SWEEP))
        return;
    zt_account_env env = {.store = gw->svc.store,
                          .state_dir = gw->svc.state_dir,
                          .audit = {.write = response_audit, .ctx = gw}};
    zt_lifecycle_sweep_result res;
    int rc = zt_lifecycle_sweep(&env, (int64_t)(zt_wall_us() / 1000000), &res);
    if (rc < 0)
        zt_warn("lifecycle: the expiry sweep failed: %s", zt_store_errmsg());
    if (res.ended > 0)
        zt_info("lifecycle: the sessions of %u expired account(s) ended", res.ended);
    if (res.failed > 0)
        zt_warn("lifecycle: %u expired account(s) could not be ended or recorded; retried at "
                "the next sweep when nothing was saved",
                res.failed);
    /* A full batch: the rest a second from now, then the usual period again. */
    if (res.more)
        uv_timer_start(t, on_lifecycle_sweep, ZT_LIFECYCLE_SWEEP_AGAIN_MS, ZT_LIFECYCLE_SWEEP_MS);
}

static void timer_start(zt_gateway *gw, uv_timer_t *t, uv_timer_cb cb, uint64_t first,
                        uint64_t every)
{
    uv_timer_init(gw->main_loop, t);
    t->data = gw;
    uv_timer_start(t, cb, first, every);
}

/* Called from the directory sync thread: an atomic read. */
static bool ldap_sync_mine(void *ctx)
{
    zt_gateway *gw = ctx;
    return zt_cluster_job_mine(gw->cluster, ZT_JOB_LDAP_SYNC);
}

void zt_gw_timers_start(zt_gateway *gw, const zt_config *cfg)
{
    uint64_t every = cfg->risk.feed_check_ms;
    timer_start(gw, &gw->sweep, on_sweep, ZT_SWEEP_INTERVAL_MS, ZT_SWEEP_INTERVAL_MS);
    timer_start(gw, &gw->revoked_timer, on_revoked_timer, 250, 250);
    timer_start(gw, &gw->feeds_timer, on_feeds_timer, every, every);
    timer_start(gw, &gw->device_sweep, on_device_sweep, 0,
                zt_devices_sweep_interval_ms(gw->svc.devices));
    timer_start(gw, &gw->lifecycle_sweep, on_lifecycle_sweep, 0, ZT_LIFECYCLE_SWEEP_MS);
    timer_start(gw, &gw->counters_timer, on_counters_timer, 0, ZT_COUNTERS_SYNC_MS);
    if (!gw->counters_shared)
        uv_timer_stop(&gw->counters_timer);
    /* Directory sync: its own thread (libldap blocks), records through the writer. */
    zt_account_env env = {.store = gw->svc.store,
                          .state_dir = gw->svc.state_dir,
                          .audit = {.write = response_audit, .ctx = gw}};
    gw->ldap_sync = zt_directory_sync_start(gw->svc.directories, &env, ldap_sync_mine, gw);
}

void zt_gw_timers_close(zt_gateway *gw)
{
    uv_close((uv_handle_t *)&gw->sweep, NULL);
    uv_close((uv_handle_t *)&gw->feeds_timer, NULL);
    uv_close((uv_handle_t *)&gw->revoked_timer, NULL);
    uv_close((uv_handle_t *)&gw->device_sweep, NULL);
    uv_close((uv_handle_t *)&gw->lifecycle_sweep, NULL);
    uv_close((uv_handle_t *)&gw->counters_timer, NULL);
}
