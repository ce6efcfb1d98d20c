/* The start without serving: check-config's preflight (everything serve would refuse, checked
 * without side effects) and the trial start used by tests and fuzzing. */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "core/log.h"
#include "device/device.h"
#include "directory/directory.h"
#include "identity/breach.h"
#include "identity/password.h"
#include "identity/secretbox.h"
#include "policy/policy.h"
#include "proxy/tls.h"
#include "response/playbook.h"
#include "response/webhook.h"
#include "risk/feeds.h"
#include "risk/risk.h"
#include "gateway/gateway.h"
#include "gateway/gateway_int.h"
#include "lib/secure.h"

/* state_dir and any missing parent, 0700 (what check-config's preflight expects). */
int zt_gw_state_dir_create(const char *dir)
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

/* A file serve creates needs a name of its own as its last component: "x/", "x/." and "x/.."
 * name directories, so creating them as files fails at start. */
static bool preflight_leaf_ok(const char *path)
{
    const char *slash = strrchr(path, '/');
    const char *leaf = slash != NULL ? slash + 1 : path;
    return leaf[0] != '\0' && strcmp(leaf, ".") != 0 && strcmp(leaf, "..") != 0;
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
    if (!dir && !preflight_leaf_ok(path))
        return preflight_fail(err, errlen, "%s: %s names a directory, not a file", key, path);
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
    if (missing && !preflight_leaf_ok(path))
        return preflight_fail(err, errlen, "%s: %s names a directory, not a file", key, path);
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
        {"admin.token_file",
         cfg->admin.address != NULL && cfg->admin.bootstrap_token ? cfg->admin.token_file : NULL},
        {"scim.token_file", cfg->admin.address != NULL ? cfg->scim.token_file : NULL},
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
    if (cfg->admin.address != NULL && cfg->admin.bootstrap_token &&
        preflight_path("admin.token_file", cfg->admin.token_file, false, false, sd, err, errlen) <
            0)
        return -1;
    if (cfg->admin.address != NULL && cfg->scim.token_file != NULL &&
        preflight_path("scim.token_file", cfg->scim.token_file, false, false, sd, err, errlen) < 0)
        return -1;
    return 0;
}

/* A self-signed pair still to be created: two distinct file names, neither inside the other,
 * each creatable (zt_tls_make_self_signed makes missing parents). */
static int preflight_self_signed(const char *what, const zt_tls_cfg *tc, const char *state_dir,
                                 char *err, size_t errlen)
{
    size_t nc = strlen(tc->cert_file), nk = strlen(tc->key_file);
    bool nested =
        (nc < nk && strncmp(tc->cert_file, tc->key_file, nc) == 0 && tc->key_file[nc] == '/') ||
        (nk < nc && strncmp(tc->key_file, tc->cert_file, nk) == 0 && tc->cert_file[nk] == '/');
    if (preflight_same_dir(tc->cert_file, tc->key_file) || nested)
        return preflight_fail(err, errlen,
                              "%s: the certificate %s and key %s are in each other's way", what,
                              tc->cert_file, tc->key_file);
    char key[256];
    snprintf(key, sizeof(key), "%s: tls.cert", what);
    if (preflight_path(key, tc->cert_file, false, true, state_dir, err, errlen) < 0)
        return -1;
    snprintf(key, sizeof(key), "%s: tls.key", what);
    return preflight_path(key, tc->key_file, false, true, state_dir, err, errlen);
}

/* TLS contexts as serve builds them; a self-signed pair still to be created is checked for
 * being creatable. */
static int preflight_tls(const char *what, const zt_tls_cfg *tc, const char *state_dir, char *err,
                         size_t errlen)
{
    if (tc->self_signed && access(tc->cert_file, F_OK) != 0 && access(tc->key_file, F_OK) != 0)
        return preflight_self_signed(what, tc, state_dir, err, errlen);
    char why[512] = "";
    SSL_CTX *ctx = zt_tls_server_ctx(tc, why, sizeof(why));
    if (ctx == NULL)
        return preflight_fail(err, errlen, "%s: %s", what, why);
    SSL_CTX_free(ctx);
    return 0;
}

/* The https:// upstreams' client contexts, as each generation builds them (proxy/server.c). */
static int preflight_upstream_tls(const zt_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *app = &cfg->apps[i];
        if (app->kind != ZT_APP_HTTP || !app->upstream.tls)
            continue;
        char why[512] = "";
        SSL_CTX *ctx =
            zt_tls_client_ctx(&app->upstream.tls_cfg, app->upstream.host, why, sizeof(why));
        if (ctx == NULL) {
            const zt_upstream_tls_cfg *t = &app->upstream.tls_cfg;
            bool at = app->upstream.has_tls_cfg;
            return preflight_fail(err, errlen, "%s:%u:%u: app '%s': upstream_tls: %s", cfg->path,
                                  at ? t->line : app->line, at ? t->col : app->col, app->name, why);
        }
        SSL_CTX_free(ctx);
    }
    return 0;
}

/* What serve derives from the config before it opens anything, built and thrown away. */
/* The notifier start checks its URL and CA file; a stand-in key is enough for that (the real
 * one is read or derived at start). */
static int preflight_webhook(const zt_config *cfg, char *err, size_t errlen)
{
    if (!cfg->incidents.has_notify)
        return 0;
    unsigned char key[ZT_WEBHOOK_KEY_MIN] = {0};
    char why[512] = "";
    zt_webhook *w = zt_webhook_new(&cfg->incidents.notify, key, sizeof(key), why, sizeof(why));
    if (w == NULL)
        return preflight_fail(err, errlen, "incidents.notify: %s", why);
    zt_webhook_free(w);
    return 0;
}

static int preflight_derived(const zt_config *cfg, char *err, size_t errlen)
{
    char why[512] = "";
    zt_policy_set *ps = zt_policy_compile(cfg, why, sizeof(why));
    if (ps == NULL)
        return preflight_fail(err, errlen, "policies: %s", why[0] ? why : "cannot compile");
    zt_policy_set_free(ps);
    for (size_t i = 0; i < cfg->n_listeners; i++)
        if (cfg->listeners[i].tls &&
            preflight_tls(cfg->listeners[i].address, &cfg->listeners[i].tls_cfg, cfg->state_dir,
                          err, errlen) < 0)
            return -1;
    if (cfg->admin.address != NULL && cfg->admin.tls &&
        preflight_tls("admin listener", &cfg->admin.tls_cfg, cfg->state_dir, err, errlen) < 0)
        return -1;
    if (preflight_upstream_tls(cfg, err, errlen) < 0)
        return -1;
    zt_password_params pp = {cfg->auth.argon2_passes, (size_t)cfg->auth.argon2_memory};
    const char *pwhy = NULL;
    if (!zt_password_params_ok(&pp, &pwhy))
        return preflight_fail(err, errlen, "password hashing: %s", pwhy ? pwhy : "bad parameters");
    zt_risk_cfg rc;
    zt_gw_risk_cfg_from(cfg, &rc);
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
    return preflight_webhook(cfg, err, errlen);
}

/* Files serve reads as they are (nothing here creates or changes a file). */
static int preflight_files(const zt_config *cfg, char *err, size_t errlen)
{
    char why[512] = "";
    /* The directories' service passwords are read at start (nothing is connected here). */
    zt_directories *ds =
        zt_directories_open(cfg->ldap_directories, cfg->n_ldap_directories, why, sizeof(why));
    if (ds == NULL)
        return preflight_fail(err, errlen, "%s", why);
    zt_directories_close(ds);
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
    if (!zt_gw_feeds_configured(cfg))
        return 0;
    zt_feed_file files[128];
    zt_feeds_cfg fc;
    zt_gw_feeds_cfg_from(cfg, &fc, files);
    zt_buf report;
    zt_buf_init(&report, 64 * 1024);
    zt_feeds *f = zt_feeds_load(&fc, NULL, &report, why, sizeof(why));
    zt_buf_dispose(&report);
    if (f == NULL)
        return preflight_fail(err, errlen, "risk feeds: %s", why[0] ? why : "cannot load");
    zt_feeds_free(f);
    return 0;
}

int zt_gateway_preflight(const zt_config *cfg, char *err, size_t errlen)
{
    if (!zt_secure_init())
        return preflight_fail(err, errlen, "libsodium could not be initialised");
    if (preflight_paths(cfg, err, errlen) < 0 || preflight_derived(cfg, err, errlen) < 0 ||
        preflight_files(cfg, err, errlen) < 0)
        return -1;
    return 0;
}

int zt_gateway_start_trial(zt_config *cfg)
{
    if (!zt_secure_init()) {
        zt_config_free(cfg);
        return -1;
    }
    zt_gateway gw = {.config_path = cfg->path};
    char err[512] = "";
    int mk = zt_gw_state_dir_create(cfg->state_dir);
    if (mk < 0) {
        zt_error("%s: cannot create state_dir: %s", cfg->state_dir, strerror(-mk));
        zt_config_free(cfg);
        return -1;
    }
    gw.proxy = zt_proxy_new(cfg, cfg->path); /* owns cfg from here, even when it fails */
    if (gw.proxy == NULL)
        return -1;
    cfg = NULL;
    const zt_config *c = zt_proxy_config(gw.proxy);
    gw.audit_fail_open = c->audit.fail_open;
    int rc = 0;
    if (strcmp(c->audit.path, "off") != 0 &&
        (gw.audit = zt_audit_open(&c->audit, err, sizeof(err))) == NULL) {
        zt_error("not starting: audit log: %s", err);
        rc = -1;
    }
    if (rc == 0 && zt_gw_services_open(&gw, c) < 0)
        rc = -1;
    zt_gw_handlers_build(&gw);
    if (rc == 0 && zt_proxy_attach(gw.proxy, &gw.svc, &gw.handlers) < 0)
        rc = -1;
    zt_gw_services_close(&gw);
    zt_audit_close(gw.audit);
    zt_proxy_free(gw.proxy);
    return rc;
}
