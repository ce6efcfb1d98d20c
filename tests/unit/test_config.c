/* Config loader: the quickstart, defaults, units, normalisation, and one test per error path with
 * the exact "FILE:LINE:COL: message" text a user would see. Upstream names go through an
 * offline resolver so the tests never touch DNS. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <dirent.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/config_schema.h"
#include "lib/buf.h"
#include "policy/policy.h"

#define NAME "t.yaml"

/* The smallest valid config (lines 1-5); tests append sections after it. */
#define BASE                                                                                       \
    "gateway:\n"                                                                                   \
    "  listen:\n"                                                                                  \
    "    - address: 127.0.0.1:8080\n"                                                              \
    "apps:\n"                                                                                      \
    "  - {name: a, upstream: \"http://127.0.0.1:8081\"}\n"

/* "backend.test" (any case, like DNS) is the only name that resolves. */
static int fake_resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    if (strcasecmp(host, "backend.test") != 0)
        return EAI_NONAME;
    memset(out, 0, sizeof(*out));
    in->sin_family = AF_INET;
    inet_pton(AF_INET, "10.1.2.3", &in->sin_addr);
    return 0;
}

static const char *srcdir(void)
{
    const char *d = getenv("ZT_TEST_SRCDIR");
    return d != NULL ? d : ".";
}

static zt_config *load_ok(const char *yaml)
{
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
    if (cfg == NULL)
        print_error("unexpected errors:\n%s", d.text.data ? d.text.data : "(none)");
    assert_non_null(cfg);
    assert_int_equal(d.errors, 0);
    zt_diags_dispose(&d);
    return cfg;
}

static void expect_errors(const char *yaml, const char *want)
{
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
    assert_null(cfg);
    assert_non_null(d.text.data);
    assert_string_equal(d.text.data, want);
    zt_diags_dispose(&d);
}

static void assert_addr(const struct sockaddr_storage *ss, const char *ip, int port)
{
    char buf[ZT_IP_STRLEN];
    zt_sockaddr_ip((const struct sockaddr *)ss, buf);
    assert_string_equal(buf, ip);
    assert_int_equal(zt_sockaddr_port((const struct sockaddr *)ss), port);
}

/* ------------------------------------------------------------------------------------------- */

/* The quickstart's OIDC client secret (./data/demo-oidc.secret, made by `make run`) must exist
 * with mode 0600 for the file to load: the test loads it from a temporary directory that has
 * one, as `make run` does from the repository root. */
static char *quickstart_dir(void)
{
    char tmpl[] = "/tmp/zt-quickstart-XXXXXX";
    char *dir = mkdtemp(tmpl) ? strdup(tmpl) : NULL;
    assert_non_null(dir);
    char sub[4096], file[4096];
    snprintf(sub, sizeof(sub), "%s/data", dir);
    snprintf(file, sizeof(file), "%s/data/demo-oidc.secret", dir);
    assert_int_equal(mkdir(sub, 0700), 0);
    int fd = open(file, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "quickstart-test-secret\n", 23), 23);
    close(fd);
    return dir;
}

static void remove_quickstart_dir(char *dir)
{
    char p[4096];
    snprintf(p, sizeof(p), "%s/data/demo-oidc.secret", dir);
    unlink(p);
    snprintf(p, sizeof(p), "%s/data", dir);
    rmdir(p);
    rmdir(dir);
    free(dir);
}

static zt_config *load_quickstart(const char *path, zt_diags *d)
{
    char cwd[4096];
    assert_non_null(getcwd(cwd, sizeof(cwd)));
    char *dir = quickstart_dir();
    assert_int_equal(chdir(dir), 0);
    zt_config *cfg = zt_config_load(path, d);
    assert_int_equal(chdir(cwd), 0);
    remove_quickstart_dir(dir);
    return cfg;
}

static void test_quickstart(void **state)
{
    char path[4096];
    zt_diags d;
    snprintf(path, sizeof(path), "%s/examples/quickstart.yaml", srcdir());
    zt_diags_init(&d);
    zt_config *cfg = load_quickstart(path, &d);
    if (cfg == NULL)
        print_error("%s", d.text.data);
    assert_non_null(cfg);
    assert_string_equal(cfg->path, path);
    assert_string_equal(cfg->state_dir, "./data");

    assert_int_equal(cfg->n_listeners, 2);
    assert_string_equal(cfg->listeners[0].address, "127.0.0.1:8080");
    assert_addr(&cfg->listeners[0].addr, "127.0.0.1", 8080);
    assert_false(cfg->listeners[0].tls);
    assert_true(cfg->listeners[1].tls);
    assert_addr(&cfg->listeners[1].addr, "127.0.0.1", 8443);
    assert_string_equal(cfg->listeners[1].tls_cfg.cert_file, "./data/tls/gateway-cert.pem");
    assert_string_equal(cfg->listeners[1].tls_cfg.key_file, "./data/tls/gateway-key.pem");
    assert_true(cfg->listeners[1].tls_cfg.self_signed);
    assert_true(cfg->workers >= 1 && cfg->workers <= 64);
    assert_int_equal(cfg->n_trusted_proxies, 0);
    assert_int_equal(cfg->limits.max_header_bytes, 32 * 1024);

    assert_string_equal(cfg->log.access_path, "./data/access.log");
    assert_string_equal(cfg->log.error_path, "-");
    assert_int_equal(cfg->log.level, ZT_LOG_INFO);

    assert_string_equal(cfg->admin.address, "127.0.0.1:9444");
    assert_addr(&cfg->admin.addr, "127.0.0.1", 9444);
    assert_true(cfg->admin.tls);
    assert_true(cfg->admin.tls_cfg.self_signed);
    assert_string_equal(cfg->admin.tls_cfg.cert_file, "./data/tls/admin-cert.pem");
    assert_string_equal(cfg->admin.tls_cfg.key_file, "./data/tls/admin-key.pem");
    assert_string_equal(cfg->admin.token_file, "./data/admin.token");
    assert_string_equal(cfg->audit.path, "./data/audit/audit.log");
    assert_false(cfg->audit.fail_open);

    assert_string_equal(cfg->auth.portal_host, "sso.localhost");
    assert_int_equal(cfg->n_apps, 3);
    const zt_app_cfg *app = &cfg->apps[0];
    assert_string_equal(app->name, "demo");
    assert_string_equal(app->host, "app.localhost");
    assert_string_equal(app->path_prefix, "/");
    assert_string_equal(app->upstream.url, "http://127.0.0.1:8081");
    assert_string_equal(app->upstream.host_header, "127.0.0.1:8081");
    assert_string_equal(app->upstream.base_path, "");
    assert_addr(&app->upstream.addr, "127.0.0.1", 8081);
    assert_int_equal(app->sensitivity, ZT_SENS_INTERNAL);
    assert_string_equal(zt_sensitivity_name(app->sensitivity), "internal");
    assert_true(app->line > 0);

    /* The OpenID Connect demo app, and the issuer derived from the portal host and the TLS
     * listener (the URL examples/oidc_demo/server.mjs uses by default). */
    /* The web console on its own host, with the default fresh-sign-in age (1 h). */
    const zt_app_cfg *console = NULL;
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (strcmp(cfg->apps[i].name, "console") == 0)
            console = &cfg->apps[i];
    assert_non_null(console);
    assert_int_equal(console->kind, ZT_APP_CONSOLE);
    assert_string_equal(console->host, "console.localhost");
    assert_int_equal(console->session_max_age_ms, 3600 * 1000);
    const zt_app_cfg *rp = &cfg->apps[2];
    assert_string_equal(rp->name, "demo-oidc");
    assert_int_equal(rp->kind, ZT_APP_OIDC);
    assert_int_equal(rp->sensitivity, ZT_SENS_INTERNAL);
    assert_null(rp->host);
    assert_string_equal(rp->oidc.client_id, "demo-oidc");
    assert_int_equal(rp->oidc.client_auth, ZT_OIDC_AUTH_SECRET_BASIC);
    assert_string_equal(rp->oidc.client_secret_file, "./data/demo-oidc.secret");
    assert_int_equal(rp->oidc.n_redirect_uris, 1);
    assert_string_equal(rp->oidc.redirect_uris[0].s, "http://127.0.0.1:8082/callback");
    assert_int_equal(rp->oidc.n_post_logout_redirect_uris, 1);
    assert_string_equal(rp->oidc.post_logout_redirect_uris[0].s,
                        "http://127.0.0.1:8082/signed-out");
    assert_string_equal(rp->oidc.backchannel_logout_uri,
                        "http://127.0.0.1:8082/backchannel-logout");
    assert_int_equal(rp->oidc.id_token_alg, ZT_ID_TOKEN_RS256);
    assert_string_equal(cfg->idp.issuer, "https://sso.localhost:8443");
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

static void test_minimal_fixture_and_defaults(void **state)
{
    char path[4096];
    zt_diags d;
    snprintf(path, sizeof(path), "%s/tests/unit/configs/minimal.yaml", srcdir());
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load(path, &d);
    assert_non_null(cfg);
    assert_string_equal(cfg->state_dir, "./data");
    assert_false(cfg->listeners[0].tls);
    assert_null(cfg->listeners[0].tls_cfg.cert_file);
    assert_int_equal(cfg->workers,
                     sysconf(_SC_NPROCESSORS_ONLN) > 64 ? 64 : sysconf(_SC_NPROCESSORS_ONLN));
    assert_int_equal(cfg->limits.max_header_bytes, 32768);
    assert_int_equal(cfg->limits.max_headers, 100);
    assert_int_equal(cfg->limits.max_connections, 10000);
    assert_int_equal(cfg->limits.max_body_bytes, 0);
    assert_int_equal(cfg->timeouts.header_read_ms, 10000);
    assert_int_equal(cfg->timeouts.keepalive_ms, 60000);
    assert_int_equal(cfg->timeouts.body_read_ms, 60000);
    assert_int_equal(cfg->timeouts.upstream_connect_ms, 5000);
    assert_int_equal(cfg->timeouts.upstream_response_ms, 60000);
    assert_int_equal(cfg->timeouts.drain_ms, 30000);
    assert_string_equal(cfg->log.access_path, "-");
    assert_string_equal(cfg->log.error_path, "-");
    assert_int_equal(cfg->log.level, ZT_LOG_INFO);
    assert_null(cfg->admin.address);
    assert_false(cfg->admin.tls);
    assert_string_equal(cfg->admin.token_file, "./data/admin.token");
    assert_string_equal(cfg->audit.path, "./data/audit/audit.log");
    assert_string_equal(cfg->audit.signing_key_file, "./data/audit/signing.key");
    assert_int_equal(cfg->audit.checkpoint_every, 1000);
    assert_int_equal(cfg->audit.checkpoint_interval_ms, 10000);
    assert_int_equal(cfg->audit.fsync_interval_ms, 5);
    assert_int_equal(cfg->audit.rotate_bytes, 64u << 20);
    assert_int_equal(cfg->audit.queue_limit, 65536);
    assert_false(cfg->audit.fail_open);
    const zt_app_cfg *app = &cfg->apps[0];
    assert_null(app->host);
    assert_string_equal(app->path_prefix, "/");
    assert_int_equal(app->sensitivity, ZT_SENS_INTERNAL);
    assert_false(app->preserve_host);
    assert_false(app->allow_encoded_slash);
    assert_int_equal(app->line, 6);
    assert_int_equal(app->col, 5);
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

/* Keys of issue 10's proxy fixes: per-address share, first_byte, path_match. */
static void test_secproxy_keys(void **state)
{
    (void)state;
    zt_config *cfg = load_ok(BASE);
    assert_int_equal(cfg->limits.max_connections_per_address, 0); /* automatic */
    assert_int_equal(cfg->timeouts.first_byte_ms, 5000);
    assert_int_equal(cfg->apps[0].path_match, 0); /* strict */
    zt_config_free(cfg);
    cfg = load_ok("gateway:\n"
                  "  listen: [{address: 127.0.0.1:8080}]\n"
                  "  limits: {max_connections_per_address: 32}\n"
                  "  timeouts: {first_byte: 2s}\n"
                  "apps:\n"
                  "  - {name: a, upstream: \"http://127.0.0.1:8081\",\n"
                  "     path_match: [case_insensitive, trim_dots]}\n");
    assert_int_equal(cfg->limits.max_connections_per_address, 32);
    assert_int_equal(cfg->timeouts.first_byte_ms, 2000);
    assert_int_equal(cfg->apps[0].path_match,
                     ZT_PATH_MATCH_CASE_INSENSITIVE | ZT_PATH_MATCH_TRIM_DOTS);
    zt_config_free(cfg);
    zt_diags d;
    zt_diags_init(&d);
    const char *bad = "gateway:\n"
                      "  listen: [{address: 127.0.0.1:8080}]\n"
                      "apps:\n"
                      "  - {name: a, upstream: \"http://127.0.0.1:8081\", path_match: [exact, "
                      "strip_params]}\n";
    assert_null(zt_config_load_mem(NAME, bad, strlen(bad), &d));
    assert_non_null(strstr(d.text.data, ":4:5: app 'a': path_match 'exact' cannot be combined"));
    zt_diags_dispose(&d);
}

/* WebSocket keys (issue 15): on by default, origins stored normalised, bad origins and the keys
 * on a non-proxied app refused at their line. */
static void test_websocket_keys(void **state)
{
    (void)state;
    zt_config *cfg = load_ok(BASE);
    assert_true(cfg->apps[0].websocket);
    assert_int_equal(cfg->apps[0].n_websocket_origins, 0);
    zt_config_free(cfg);
    cfg =
        load_ok("gateway:\n"
                "  listen: [{address: 127.0.0.1:8080}]\n"
                "apps:\n"
                "  - {name: a, upstream: \"http://127.0.0.1:8081\", websocket: false}\n"
                "  - name: b\n"
                "    host: b.example\n"
                "    upstream: \"http://127.0.0.1:8082\"\n"
                "    websocket_origins: [\"HTTPS://Portal.Example:443\", \"http://[::1]:3000\"]\n");
    assert_false(cfg->apps[0].websocket);
    assert_true(cfg->apps[1].websocket);
    assert_int_equal(cfg->apps[1].n_websocket_origins, 2);
    assert_string_equal(cfg->apps[1].websocket_origins[0].s, "https://portal.example");
    assert_string_equal(cfg->apps[1].websocket_origins[1].s, "http://[::1]:3000");
    zt_config_free(cfg);
    static const char *const bad[] = {"*", "https://a.example/", "a.example", "wss://a.example",
                                      "null"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char yaml[512], want[256];
        snprintf(yaml, sizeof(yaml),
                 "gateway:\n"
                 "  listen: [{address: 127.0.0.1:8080}]\n"
                 "apps:\n"
                 "  - name: a\n"
                 "    upstream: \"http://127.0.0.1:8081\"\n"
                 "    websocket_origins: [\"%s\"]\n",
                 bad[i]);
        snprintf(want, sizeof(want),
                 NAME ":6:25: app 'a': websocket_origins entry '%s' is not an origin (http:// or "
                      "https:// HOST[:PORT], nothing after)\n",
                 bad[i]);
        expect_errors(yaml, want);
    }
    zt_diags d;
    zt_diags_init(&d);
    const char *oidc = "gateway:\n"
                       "  listen: [{address: 127.0.0.1:8080}]\n"
                       "apps:\n"
                       "  - name: rp\n"
                       "    kind: oidc\n"
                       "    websocket: true\n";
    assert_null(zt_config_load_mem(NAME, oidc, strlen(oidc), &d));
    assert_non_null(
        strstr(d.text.data, ":6:16: app 'rp': 'websocket' is only for proxied (kind http) apps"));
    zt_diags_dispose(&d);
}

static void test_state_dir_paths(void **state)
{
    zt_config *cfg = load_ok(BASE "state_dir: /var/lib/ztgate/\n"
                                  "audit: {path: \"off\", on_audit_failure: fail_open}\n");
    assert_string_equal(cfg->state_dir, "/var/lib/ztgate/");
    assert_string_equal(cfg->admin.token_file, "/var/lib/ztgate/admin.token");
    assert_string_equal(cfg->audit.path, "off");
    assert_string_equal(cfg->audit.signing_key_file, "/var/lib/ztgate/audit/signing.key");
    assert_true(cfg->audit.fail_open);
    zt_config_free(cfg);

    cfg = load_ok("state_dir: st\n" BASE "admin: {token_file: tok}\n");
    assert_string_equal(cfg->admin.token_file, "tok");
    assert_string_equal(cfg->audit.path, "st/audit/audit.log");
    zt_config_free(cfg);
}

#define REFUSED UINT64_MAX

typedef struct num_case {
    const char *text;
    uint64_t want; /* REFUSED: must be an error */
} num_case;

/* Loads "<gateway with `key: `><case text>}<apps>" for each case and compares get(cfg). */
static void run_num_cases(const char *key, const num_case *cases, size_t n,
                          uint64_t (*get)(const zt_config *))
{
    for (size_t i = 0; i < n; i++) {
        char yaml[512];
        zt_diags d;
        snprintf(yaml, sizeof(yaml),
                 "gateway:\n  listen: [{address: \"*:80\"}]\n  %s%s}\n"
                 "apps: [{name: a, upstream: \"http://127.0.0.1:1\"}]\n",
                 key, cases[i].text);
        zt_diags_init(&d);
        zt_config *cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
        if (cases[i].want == REFUSED && cfg != NULL)
            print_error("accepted '%s'\n", cases[i].text);
        if (cases[i].want != REFUSED && cfg == NULL)
            print_error("refused '%s': %s", cases[i].text, d.text.data);
        if (cases[i].want == REFUSED) {
            assert_null(cfg);
        } else {
            assert_non_null(cfg);
            assert_int_equal(get(cfg), cases[i].want);
        }
        zt_config_free(cfg);
        zt_diags_dispose(&d);
    }
}

static uint64_t get_body(const zt_config *cfg)
{
    return cfg->limits.max_body_bytes;
}

static uint64_t get_upstream_response(const zt_config *cfg)
{
    return cfg->timeouts.upstream_response_ms;
}

static uint64_t get_drain(const zt_config *cfg)
{
    return cfg->timeouts.drain_ms;
}

static void test_sizes(void **state)
{
    static const num_case cases[] = {
        {"0", 0},
        {"1", 1},
        {"1B", 1},
        {"1KiB", 1024},
        {"64MiB", 64ull << 20},
        {"2GiB", 2ull << 30},
        {"3TiB", 3ull << 40},
        {"16777215TiB", 16777215ull << 40},
        {"16777216TiB", REFUSED}, /* 2^64: overflow */
        {"99999999999999999999", REFUSED},
        {"1KB", REFUSED},
        {"1k", REFUSED},
        {"1kib", REFUSED},
        {"1 KiB", REFUSED},
        {"1.5MiB", REFUSED},
        {"-1", REFUSED},
        {"KiB", REFUSED},
        {"0x10", REFUSED},
    };
    run_num_cases("limits: {max_body_bytes: ", cases, sizeof(cases) / sizeof(cases[0]), get_body);
}

static void test_durations(void **state)
{
    static const num_case cases[] = {
        {"100ms", 100},    {"500ms", 500},     {"10s", 10000},     {"5m", 300000},
        {"12h", 43200000}, {"24h", 86400000},  {"99ms", REFUSED},  {"25h", REFUSED},
        {"10", REFUSED},   {"0", REFUSED},     {"10sec", REFUSED}, {"1d", REFUSED},
        {"10S", REFUSED},  {"1h30m", REFUSED}, {"s", REFUSED},     {"1.5s", REFUSED},
    };
    run_num_cases("timeouts: {upstream_response: ", cases, sizeof(cases) / sizeof(cases[0]),
                  get_upstream_response);
    /* Zero needs no unit where zero is allowed. */
    static const num_case drain[] = {{"0", 0}, {"0s", 0}, {"1h", 3600000}, {"61m", REFUSED}};
    run_num_cases("timeouts: {drain: ", drain, sizeof(drain) / sizeof(drain[0]), get_drain);
}

static void test_values_normalised(void **state)
{
    zt_config *cfg = load_ok("gateway:\n"
                             "  listen: [{address: \"[::1]:8443\"}, {address: \"*:80\"}]\n"
                             "  workers: 3\n"
                             "  trusted_proxies: [10.0.0.0/8, \"2001:db8::/32\", 192.0.2.7]\n"
                             "log: {level: debug, access: \"off\"}\n"
                             "apps:\n"
                             "  - name: One.app_2-x\n"
                             "    host: App.Example.COM\n"
                             "    path_prefix: /Api/v1/\n"
                             "    upstream: http://Backend.test:9000/base/\n"
                             "    sensitivity: restricted\n"
                             "    preserve_host: true\n"
                             "    allow_encoded_slash: true\n"
                             "  - name: v6\n"
                             "    host: \"::1\"\n"
                             "    upstream: \"http://[::1]\"\n"
                             "  - name: v4\n"
                             "    host: 192.0.2.1\n"
                             "    upstream: http://192.0.2.2:8080/\n");
    assert_addr(&cfg->listeners[0].addr, "::1", 8443);
    assert_addr(&cfg->listeners[1].addr, "0.0.0.0", 80);
    assert_int_equal(cfg->workers, 3);
    assert_int_equal(cfg->n_trusted_proxies, 3);
    assert_int_equal(cfg->trusted_proxies[1].family, AF_INET6);
    assert_int_equal(cfg->trusted_proxies[1].prefix, 32);
    assert_int_equal(cfg->trusted_proxies[2].prefix, 32);
    assert_int_equal(cfg->log.level, ZT_LOG_DEBUG);

    const zt_app_cfg *a = &cfg->apps[0];
    assert_string_equal(a->name, "One.app_2-x");
    assert_string_equal(a->host, "app.example.com");
    assert_string_equal(a->path_prefix, "/Api/v1");
    assert_string_equal(a->upstream.url, "http://Backend.test:9000/base/");
    assert_string_equal(a->upstream.host_header, "Backend.test:9000");
    assert_string_equal(a->upstream.base_path, "/base");
    assert_addr(&a->upstream.addr, "10.1.2.3", 9000);
    assert_int_equal(a->sensitivity, ZT_SENS_RESTRICTED);
    assert_true(a->preserve_host);
    assert_true(a->allow_encoded_slash);
    assert_int_equal(a->line, 7);
    assert_int_equal(a->col, 5);

    assert_string_equal(cfg->apps[1].host, "[::1]");
    assert_string_equal(cfg->apps[1].upstream.host_header, "[::1]");
    assert_addr(&cfg->apps[1].upstream.addr, "::1", 80);
    assert_string_equal(cfg->apps[2].host, "192.0.2.1");
    assert_string_equal(cfg->apps[2].upstream.base_path, "");
    assert_addr(&cfg->apps[2].upstream.addr, "192.0.2.2", 8080);
    zt_config_free(cfg);
}

static void test_getaddrinfo(void **state)
{
    zt_config_set_resolver(NULL);
    zt_config *cfg =
        load_ok(BASE "  - {name: b, path_prefix: /b, upstream: \"http://localhost:81\"}\n");
    assert_int_equal(zt_sockaddr_port((const struct sockaddr *)&cfg->apps[1].upstream.addr), 81);
    zt_config_free(cfg);
    zt_config_set_resolver(fake_resolve);
}

static void test_names(void **state)
{
    assert_string_equal(zt_sensitivity_name(ZT_SENS_PUBLIC), "public");
    assert_string_equal(zt_sensitivity_name(ZT_SENS_CONFIDENTIAL), "confidential");
    assert_string_equal(zt_sensitivity_name(ZT_SENS_RESTRICTED), "restricted");
    assert_string_equal(zt_sensitivity_name((zt_sensitivity)42), "unknown");
    zt_config_free(NULL);
    zt_diags_dispose(NULL);
    /* No diags: still refused, nothing printed. */
    assert_null(zt_config_load_mem(NAME, "x: 1\n", 5, NULL));
}

/* ------------------------------------------------------------------------------------------- *
 * Error paths: exact text, line and column. */

/* kind tcp: host + target (resolved at load), port defaulting to the target's, idle_timeout on
 * any app, the stream timeouts. */
static void test_tcp_apps(void **state)
{
    zt_config *cfg = load_ok("gateway:\n"
                             "  listen: [{address: \"127.0.0.1:8443\"}]\n"
                             "  timeouts: {stream_idle: 20m, stream_close: 2s}\n"
                             "apps:\n"
                             "  - {name: web, upstream: \"http://127.0.0.1:1\", idle_timeout: 5m}\n"
                             "  - name: ssh\n"
                             "    kind: tcp\n"
                             "    host: SSH.Hospital.Example\n"
                             "    target: \"10.20.0.5:22\"\n"
                             "  - {name: db, kind: tcp, host: db.example, port: 15432, "
                             "target: \"backend.test:5432\"}\n");
    assert_int_equal(cfg->timeouts.stream_idle_ms, 20 * 60 * 1000);
    assert_int_equal(cfg->timeouts.stream_close_ms, 2000);
    assert_int_equal(cfg->apps[0].idle_timeout_ms, 5 * 60 * 1000);
    assert_int_equal(cfg->apps[1].kind, ZT_APP_TCP);
    assert_string_equal(cfg->apps[1].host, "ssh.hospital.example");
    assert_addr(&cfg->apps[1].target.addr, "10.20.0.5", 22);
    assert_int_equal(cfg->apps[1].port, 22);
    assert_addr(&cfg->apps[2].target.addr, "10.1.2.3", 5432);
    assert_int_equal(cfg->apps[2].port, 15432);
    zt_config_free(cfg);
    cfg = load_ok(BASE);
    assert_int_equal(cfg->timeouts.stream_idle_ms, 15 * 60 * 1000);
    assert_int_equal(cfg->timeouts.stream_close_ms, 1000);
    zt_config_free(cfg);
}

static void test_err_tcp_apps(void **state)
{
    expect_errors("gateway: {listen: [{address: \"*:80\"}]}\n"
                  "apps:\n"
                  "  - {name: a, kind: tcp, host: a.example}\n"
                  "  - {name: b, kind: tcp, target: \"10.0.0.1:22\"}\n"
                  "  - {name: c, kind: tcp, host: c.example, target: \"10.0.0.1\"}\n"
                  "  - {name: d, kind: tcp, host: d.example, target: \"10.0.0.1:22\", "
                  "upstream: \"http://127.0.0.1:1\", path_prefix: /x}\n"
                  "  - {name: e, upstream: \"http://127.0.0.1:1\", target: \"10.0.0.1:22\", "
                  "port: 22}\n"
                  "  - {name: f, kind: tcp, host: a.example, port: 22, target: \"10.0.0.2:2222\"}\n"
                  "  - {name: g, kind: tcp, host: a.example, target: \"10.0.0.3:22\"}\n"
                  "  - {name: h, kind: tcp, host: h.example, target: \"nowhere.test:22\"}\n",
                  NAME
                  ":3:5: app 'a' is of kind tcp: missing required key 'target' (HOST:PORT)\n" NAME
                  ":4:5: app 'b' is of kind tcp: missing required key 'host' (the name clients "
                  "give to ztagent tunnel)\n" NAME
                  ":5:51: 'apps[2].target' must name the port (HOST:PORT) (got '10.0.0.1')\n" NAME
                  ":6:111: app 'd' is of kind tcp: 'path_prefix' is only for proxied (kind "
                  "http) apps\n" NAME
                  ":6:76: app 'd' is of kind tcp: 'upstream' is only for proxied (kind http) "
                  "apps\n" NAME ":7:55: app 'e': 'target' needs 'kind: tcp'\n" NAME
                  ":7:76: app 'e': 'port' needs 'kind: tcp'\n" NAME
                  ":10:51: 'apps[7].target' host 'nowhere.test' does not resolve: Name or "
                  "service not known\n" NAME
                  ":9:5: app 'g' has the same host and port as app 'f' (line 8)\n");
}

static void test_err_unknown_key(void **state)
{
    expect_errors(
        "gateway:\n"
        "  listne:\n"
        "    - address: 127.0.0.1:8080\n"
        "  listen: [{address: \"*:80\"}]\n"
        "apps: [{name: a, upstream: \"http://127.0.0.1:1\"}]\n"
        "aps: []\n",
        NAME
        ":2:3: unknown key 'listne' in 'gateway' (expected one of: listen, workers, "
        "trusted_proxies, limits, timeouts)\n" NAME
        ":6:1: unknown key 'aps' at top level (expected one of: state_dir, "
        "gateway, log, admin, store, audit, auth, devices, risk, idp, apps, locations, policies, "
        "incidents, playbooks, scim, oidc_providers, ldap_directories)\n");
}

static void test_err_wrong_type(void **state)
{
    expect_errors(BASE "  - {name: b, path_prefix: /b, upstream: \"http://127.0.0.1:1\", "
                       "preserve_host: yes}\n"
                       "log: [a]\n"
                       "admin:\n"
                       "  listen: {a: 1}\n"
                       "audit:\n"
                       "  checkpoint_every: many\n"
                       "  path:\n",
                  NAME ":6:79: 'apps[1].preserve_host' must be true or false (got 'yes')\n" NAME
                       ":7:6: 'log' must be a mapping (got a list)\n" NAME
                       ":9:11: 'admin.listen' must be IP:PORT like 127.0.0.1:8443 or [::1]:8443 "
                       "(got a mapping)\n" NAME
                       ":11:21: 'audit.checkpoint_every' must be a whole number (got 'many')\n" NAME
                       ":12:8: 'audit.path' must be a string (got no value)\n");
}

static void test_err_out_of_range(void **state)
{
    expect_errors("gateway:\n"
                  "  listen: [{address: \"*:80\"}]\n"
                  "  workers: 65\n"
                  "  limits:\n"
                  "    max_header_bytes: 2MiB\n"
                  "    max_headers: 0\n"
                  "  timeouts: {keepalive: 50ms}\n"
                  "apps: [{name: a, upstream: \"http://127.0.0.1:1\"}]\n",
                  NAME
                  ":3:12: 'gateway.workers' must be between 0 and 64 (got '65')\n" NAME
                  ":5:23: 'gateway.limits.max_header_bytes' must be between 1KiB and 1MiB "
                  "(got '2MiB')\n" NAME
                  ":6:18: 'gateway.limits.max_headers' must be between 1 and 1024 (got '0')\n" NAME
                  ":7:25: 'gateway.timeouts.keepalive' must be between 100ms and 24h (got "
                  "'50ms')\n");
}

static void test_err_enum(void **state)
{
    expect_errors(BASE "log: {level: verbose}\n",
                  NAME ":6:14: 'log.level' must be one of: debug, info, warn, error (got "
                       "'verbose')\n");
}

/* Hashing memory is hash_threads x argon2_memory, refused above 1 GiB where it is set. */
static void test_err_hash_memory(void **state)
{
    expect_errors(BASE "auth: {hash_threads: 3, argon2_memory: 512MiB}\n",
                  NAME ":6:22: 'hash_threads' (3) x 'argon2_memory' is above 1 GiB of hashing "
                       "memory\n");
    expect_errors(BASE "auth: {argon2_memory: 2GiB}\n",
                  NAME ":6:23: 'hash_threads' (1) x 'argon2_memory' is above 1 GiB of hashing "
                       "memory\n");
    zt_config *cfg = load_ok(BASE "auth: {hash_threads: 16, hash_nice: 19}\n");
    assert_int_equal(cfg->auth.hash_threads, 16);
    assert_int_equal(cfg->auth.hash_nice, 19);
    zt_config_free(cfg);
}

static void test_err_bad_cidr(void **state)
{
    expect_errors("gateway:\n"
                  "  listen: [{address: \"*:80\"}]\n"
                  "  trusted_proxies:\n"
                  "    - 10.0.0.0/8\n"
                  "    - 10.0.0.1/8\n"
                  "    - 300.0.0.0/8\n"
                  "    - [x]\n"
                  "apps: [{name: a, upstream: \"http://127.0.0.1:1\"}]\n",
                  NAME ":5:7: 'gateway.trusted_proxies[1]' must be a CIDR block like 10.0.0.0/8 "
                       "with the host bits zero (got '10.0.0.1/8')\n" NAME
                       ":6:7: 'gateway.trusted_proxies[2]' must be a CIDR block like 10.0.0.0/8 "
                       "with the host bits zero (got '300.0.0.0/8')\n" NAME
                       ":7:7: 'gateway.trusted_proxies[3]' must be a CIDR block (got a list)\n");
}

static void test_err_bad_address(void **state)
{
    expect_errors("gateway:\n"
                  "  listen:\n"
                  "    - address: localhost:8080\n"
                  "    - address: 127.0.0.1\n"
                  "apps: [{name: a, upstream: \"http://127.0.0.1:1\"}]\n"
                  "admin: {listen: \"[::1]:99999\"}\n",
                  NAME ":3:16: 'gateway.listen[0].address' must be IP:PORT like 127.0.0.1:8443 "
                       "or [::1]:8443 (got 'localhost:8080')\n" NAME
                       ":4:16: 'gateway.listen[1].address' must be IP:PORT like 127.0.0.1:8443 "
                       "or [::1]:8443 (got '127.0.0.1')\n" NAME
                       ":6:17: 'admin.listen' must be IP:PORT like 127.0.0.1:8443 or [::1]:8443 "
                       "(got '[::1]:99999')\n");
}

static void test_err_bad_url(void **state)
{
    expect_errors("gateway: {listen: [{address: \"*:80\"}]}\n"
                  "apps:\n"
                  "  - path_prefix: /a\n"
                  "    upstream: ftp://127.0.0.1\n"
                  "    name: a\n"
                  "  - path_prefix: /b\n"
                  "    upstream: http://127.0.0.1:0\n"
                  "    name: b\n"
                  "  - path_prefix: /c\n"
                  "    upstream: http://user@127.0.0.1/\n"
                  "    name: c\n"
                  "  - path_prefix: /d\n"
                  "    upstream: http://127.0.0.1/a//b\n"
                  "    name: d\n"
                  "  - path_prefix: /e\n"
                  "    upstream: http://nowhere.test\n"
                  "    name: e\n"
                  "  - path_prefix: /f\n"
                  "    upstream: http://bad_host-.test\n"
                  "    name: f\n",
                  NAME ":4:15: 'apps[0].upstream' must be a URL like http://127.0.0.1:8081 (got "
                       "'ftp://127.0.0.1')\n" NAME
                       ":7:15: 'apps[1].upstream' must have a port from 1 to 65535 (got "
                       "'http://127.0.0.1:0')\n" NAME
                       ":10:15: 'apps[2].upstream' must be a URL like http://127.0.0.1:8081 (got "
                       "'http://user@127.0.0.1/')\n" NAME
                       ":13:15: 'apps[3].upstream' path must not contain '//' (got "
                       "'http://127.0.0.1/a//b')\n" NAME
                       ":16:15: 'apps[4].upstream' host 'nowhere.test' does not resolve: Name or "
                       "service not known\n" NAME
                       ":19:15: 'apps[5].upstream' must have a valid host name or IP address (got "
                       "'http://bad_host-.test')\n");
}

/* https:// upstreams (default port 443) and their upstream_tls block. */
static void test_https_upstream(void **state)
{
    (void)state;
    zt_config *cfg = load_ok("gateway: {listen: [{address: \"127.0.0.1:80\"}]}\n"
                             "apps:\n"
                             "  - name: a\n"
                             "    upstream: HTTPS://backend.test\n"
                             "  - name: b\n"
                             "    host: b.test\n"
                             "    upstream: https://[::1]:8443/base\n"
                             "    upstream_tls:\n"
                             "      server_name: app.internal\n"
                             "      verify_name: 10.0.0.5\n"
                             "      tls_min: 1.3\n"
                             "  - {name: c, host: c.test, upstream: \"http://127.0.0.1:81\"}\n");
    const zt_app_cfg *a = &cfg->apps[0], *b = &cfg->apps[1], *c = &cfg->apps[2];
    assert_true(a->upstream.tls);
    assert_false(a->upstream.has_tls_cfg);
    assert_string_equal(a->upstream.host, "backend.test");
    assert_addr(&a->upstream.addr, "10.1.2.3", 443);
    assert_int_equal(a->upstream.tls_cfg.tls_min, ZT_TLS_MIN_12);
    assert_null(a->upstream.tls_cfg.ca_file);
    assert_true(b->upstream.tls);
    assert_true(b->upstream.has_tls_cfg);
    assert_string_equal(b->upstream.host, "::1");
    assert_string_equal(b->upstream.base_path, "/base");
    assert_addr(&b->upstream.addr, "::1", 8443);
    assert_string_equal(b->upstream.tls_cfg.server_name, "app.internal");
    assert_string_equal(b->upstream.tls_cfg.verify_name, "10.0.0.5");
    assert_int_equal(b->upstream.tls_cfg.tls_min, ZT_TLS_MIN_13);
    assert_false(c->upstream.tls);
    assert_addr(&c->upstream.addr, "127.0.0.1", 81);
    zt_config_free(cfg);
}

static void test_err_upstream_tls(void **state)
{
    (void)state;
    expect_errors(
        "gateway: {listen: [{address: \"*:80\"}]}\n"
        "apps:\n"
        "  - name: a\n"
        "    upstream: http://127.0.0.1:8443\n"
        "    upstream_tls: {tls_min: \"1.3\"}\n"
        "  - name: b\n"
        "    host: b.test\n"
        "    upstream: https://127.0.0.1\n"
        "    upstream_tls:\n"
        "      client_cert: /etc/hostname\n"
        "      tls_min: \"1.1\"\n"
        "      server_name: 10.0.0.1\n"
        "      verify_name: \"*.internal\"\n"
        "      ca_file: /nonexistent/ca.pem\n"
        "      bogus: 1\n",
        NAME ":5:19: app 'a': 'upstream_tls' needs an https:// upstream\n" NAME
             ":11:16: 'apps[1].upstream_tls.tls_min' must be one of: 1.2, 1.3 (got "
             "'1.1')\n" NAME
             ":15:7: unknown key 'bogus' in 'apps[1].upstream_tls' (expected one of: "
             "ca_file, server_name, verify_name, client_cert, client_key, tls_min)\n" NAME
             ":14:16: 'apps[1].upstream_tls.ca_file' file '/nonexistent/ca.pem' cannot "
             "be read: No such file or directory\n" NAME
             ":10:7: 'apps[1].upstream_tls' needs both client_cert and client_key, or "
             "neither\n" NAME ":12:20: 'apps[1].upstream_tls.server_name' must be a DNS name (SNI "
             "carries no IP address or "
             "port)\n" NAME
             ":13:20: 'apps[1].upstream_tls.verify_name' must be a DNS name or an IP address\n");
}

static void test_err_bad_host_and_prefix(void **state)
{
    expect_errors("gateway: {listen: [{address: \"*:80\"}]}\n"
                  "apps:\n"
                  "  - name: a\n"
                  "    host: http://app.example.com\n"
                  "    path_prefix: app\n"
                  "    upstream: http://127.0.0.1:1\n"
                  "  - name: b\n"
                  "    host: app.example.com:443\n"
                  "    path_prefix: /a/../b\n"
                  "    upstream: http://127.0.0.1:1\n"
                  "  - name: not ok\n"
                  "    host: -bad.example.com\n"
                  "    path_prefix: /a?b\n"
                  "    upstream: http://127.0.0.1:1\n",
                  NAME ":4:11: 'apps[0].host' must be a host name without a scheme (got "
                       "'http://app.example.com')\n" NAME
                       ":5:18: 'apps[0].path_prefix' must start with '/' (got 'app')\n" NAME
                       ":8:11: 'apps[1].host' must be a host name without a port (got "
                       "'app.example.com:443')\n" NAME
                       ":9:18: 'apps[1].path_prefix' must not contain '..' or '.' segments (got "
                       "'/a/../b')\n" NAME
                       ":11:11: 'apps[2].name' must be 1 to 64 letters, digits, '_', '.' or '-' "
                       "(got 'not ok')\n" NAME
                       ":12:11: 'apps[2].host' must be a host name or IP address (got "
                       "'-bad.example.com')\n" NAME
                       ":13:18: 'apps[2].path_prefix' must be printable ASCII without spaces, "
                       "'?', '#', '%' or '\\' (got '/a?b')\n");
}

static void test_err_duplicate_key(void **state)
{
    expect_errors("gateway:\n"
                  "  listen: [{address: \"*:80\"}]\n"
                  "  workers: 2\n"
                  "  workers: 3\n"
                  "apps: [{name: a, upstream: \"http://127.0.0.1:1\", name: b}]\n",
                  NAME ":4:3: duplicate key 'gateway.workers' (first at line 3)\n" NAME
                       ":5:50: duplicate key 'apps[0].name' (first at line 5)\n");
}

static void test_err_duplicate_app(void **state)
{
    expect_errors("gateway: {listen: [{address: \"*:80\"}]}\n"
                  "apps:\n"
                  "  - name: a\n"
                  "    host: a.example\n"
                  "    upstream: http://127.0.0.1:1\n"
                  "  - name: a\n"
                  "    host: b.example\n"
                  "    upstream: http://127.0.0.1:1\n",
                  NAME ":6:5: duplicate app name 'a' (first at line 3)\n");
}

static void test_err_duplicate_route(void **state)
{
    expect_errors("gateway: {listen: [{address: \"*:80\"}]}\n"
                  "apps:\n"
                  "  - name: a\n"
                  "    host: App.Example\n"
                  "    path_prefix: /x\n"
                  "    upstream: http://127.0.0.1:1\n"
                  "  - name: b\n"
                  "    host: app.example\n"
                  "    path_prefix: /x/\n"
                  "    upstream: http://127.0.0.1:2\n"
                  "  - {name: c, upstream: \"http://127.0.0.1:3\"}\n"
                  "  - {name: d, upstream: \"http://127.0.0.1:4\", path_prefix: /}\n",
                  NAME ":7:5: app 'b' has the same host and path_prefix as app 'a' (line 3)\n" NAME
                       ":12:5: app 'd' has the same host and path_prefix as app 'c' (line 11)\n");
}

static void test_err_overlapping_listeners(void **state)
{
    expect_errors("gateway:\n"
                  "  listen:\n"
                  "    - address: 127.0.0.1:8080\n"
                  "    - address: 0.0.0.0:8080\n"
                  "    - address: \"[::1]:8080\"\n"
                  "    - address: 127.0.0.2:8081\n"
                  "admin: {listen: \"127.0.0.2:8081\"}\n"
                  "apps: [{name: a, upstream: \"http://127.0.0.1:1\"}]\n",
                  NAME ":4:7: listener 0.0.0.0:8080 overlaps listener 127.0.0.1:8080 (line 3): "
                       "one address, one listener\n" NAME
                       ":7:17: admin.listen 127.0.0.2:8081 overlaps gateway listener "
                       "127.0.0.2:8081 (line 6): the admin API needs an address of its own\n");
}

/* Apps of kind oidc and saml: defaults derived from the portal host and the listeners. */
static void test_idp_apps(void **state)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             "gateway:\n"
             "  listen:\n"
             "    - address: 127.0.0.1:8080\n"
             "auth: {portal_host: sso.test}\n"
             "apps:\n"
             "  - name: cli\n"
             "    kind: oidc\n"
             "    sensitivity: confidential\n"
             "    oidc:\n"
             "      client_id: cli-app\n"
             "      client_auth: none\n"
             "      redirect_uris: [\"http://127.0.0.1:5000/cb\", https://app.test/cb?x=1]\n"
             "  - name: sp\n"
             "    kind: saml\n"
             "    saml: {metadata_file: \"%s/README.md\", name_id_format: persistent}\n",
             srcdir());
    zt_config *cfg = load_ok(yaml);
    assert_int_equal(cfg->n_apps, 2);
    const zt_app_cfg *o = &cfg->apps[0], *s = &cfg->apps[1];
    assert_int_equal(o->kind, ZT_APP_OIDC);
    assert_int_equal(o->oidc.client_auth, ZT_OIDC_AUTH_NONE);
    assert_int_equal(o->oidc.id_token_alg, ZT_ID_TOKEN_RS256);
    assert_int_equal(o->oidc.n_redirect_uris, 2);
    assert_int_equal(o->sensitivity, ZT_SENS_CONFIDENTIAL);
    assert_int_equal(s->kind, ZT_APP_SAML);
    assert_int_equal(s->saml.name_id_format, ZT_SAML_NAMEID_PERSISTENT);
    assert_string_equal(s->saml.attributes.groups, "groups");
    assert_string_equal(cfg->idp.issuer, "http://sso.test:8080");
    assert_string_equal(cfg->idp.saml_entity_id, "http://sso.test:8080/.ztgate/saml/metadata");
    assert_int_equal(cfg->idp.access_token_ttl_ms, 10 * 60 * 1000);
    assert_int_equal(cfg->idp.refresh_token_ttl_ms, 8 * 3600 * 1000);
    zt_config_free(cfg);
}

static void test_err_idp_apps(void **state)
{
    expect_errors(
        "gateway:\n"
        "  listen:\n"
        "    - address: 127.0.0.1:8080\n"
        "apps:\n"
        "  - name: o\n"
        "    kind: oidc\n"
        "    upstream: http://127.0.0.1:1\n"
        "    oidc:\n"
        "      client_id: c\n"
        "      client_auth: none\n"
        "      redirect_uris: [http://evil.test/cb, \"https://a.test/#f\", https://a.test/, "
        "http://127.evil.test/cb, http://127.0.0.1:9/cb]\n"
        "      backchannel_logout_uri: ftp://x\n"
        "  - name: p\n"
        "    kind: oidc\n"
        "    oidc: {client_id: c, client_auth: none, redirect_uris: [https://b.test/]}\n"
        "  - name: s\n"
        "    kind: saml\n"
        "  - {name: h, oidc: {client_id: d, client_auth: none, redirect_uris: "
        "[https://c.test/]}}\n"
        "idp: {issuer: \"https://sso.test/\"}\n",
        NAME ":11:23: 'http://evil.test/cb' must use https:// (http:// only on a "
             "loopback host)\n" NAME
             ":11:44: 'https://a.test/#f' must not contain a fragment ('#')\n" NAME
             ":11:82: 'http://127.evil.test/cb' must use https:// (http:// only on a "
             "loopback host)\n" NAME
             ":12:31: 'backchannel_logout_uri' must start with https:// (or http:// on a "
             "loopback host)\n" NAME
             ":7:15: app 'o' is of kind oidc: 'upstream' is only for proxied (kind http) "
             "apps\n" NAME ":16:5: app 's' is of kind saml: missing 'saml:' block\n" NAME
             ":18:5: app 'h': missing required key 'upstream'\n" NAME
             ":18:21: app 'h': 'oidc:' needs 'kind: oidc'\n" NAME
             ":19:15: 'idp.issuer' must not end with '/'\n" NAME
             ":15:11: client_id 'c' is already the client_id of app 'o' (line 5)\n" NAME
             ":5:5: app 'o' is of kind oidc: ztgate signs its users in on the portal "
             "host, so 'auth.portal_host' must be set\n");
}

/* The issuer names the portal host, without a path; client ids fit the store. */
static void test_err_idp_issuer(void **state)
{
    (void)state;
    char yaml[1024], id[300];
    memset(id, 'c', 256);
    id[256] = '\0';
    snprintf(yaml, sizeof(yaml),
             "gateway: {listen: [{address: 127.0.0.1:8080}]}\n"
             "auth: {portal_host: sso.test}\n"
             "apps:\n"
             "  - name: o\n"
             "    kind: oidc\n"
             "    oidc: {client_id: %s, client_auth: none, redirect_uris: [https://a.test/]}\n"
             "idp: {issuer: \"https://sso.test\"}\n",
             id);
    expect_errors(yaml, NAME ":6:23: 'client_id' is longer than 255 bytes\n");
    expect_errors("gateway: {listen: [{address: 127.0.0.1:8080}]}\n"
                  "auth: {portal_host: sso.test}\n"
                  "apps:\n"
                  "  - name: o\n"
                  "    kind: oidc\n"
                  "    oidc: {client_id: c, client_auth: none, redirect_uris: [https://a.test/]}\n"
                  "idp: {issuer: \"https://other.test:8443\"}\n",
                  NAME ": 'idp.issuer' (https://other.test:8443) must name the portal host "
                       "'sso.test': every endpoint is served there\n");
    expect_errors("gateway: {listen: [{address: 127.0.0.1:8080}]}\n"
                  "auth: {portal_host: sso.test}\n"
                  "apps:\n"
                  "  - name: o\n"
                  "    kind: oidc\n"
                  "    oidc: {client_id: c, client_auth: none, redirect_uris: [https://a.test/]}\n"
                  "idp: {issuer: \"https://sso.test/op\"}\n",
                  NAME ":7:15: 'idp.issuer' must be SCHEME://HOST[:PORT] without a path: the "
                       "endpoints are at fixed paths\n");
}

static void test_err_missing_required(void **state)
{
    expect_errors("gateway:\n"
                  "  listen:\n"
                  "    - tls: {cert: a, key: b, self_signed: true}\n"
                  "state_dir: x\n",
                  NAME ":3:7: missing required key 'address' in 'gateway.listen[0]'\n" NAME
                       ":1:1: missing required key 'apps'\n");
    expect_errors("log: {}\n"
                  "apps: []\n",
                  NAME ":2:7: 'apps' must have 1 to 10000 entries (got 0)\n" NAME
                       ":1:1: missing required key 'gateway'\n");
    expect_errors(BASE "  - upstream: http://127.0.0.1:1\n",
                  NAME ":6:5: missing required key 'name' in 'apps[1]'\n");
}

/* Every default the documentation promises, section by section: the same whether a section is
 * left out, written empty (`auth: {}`) or written with nothing under it (`auth:`). */
static void assert_section_defaults(const zt_config *cfg)
{
    assert_string_equal(cfg->state_dir, "./data");
    assert_string_equal(cfg->log.access_path, "-");
    assert_string_equal(cfg->log.error_path, "-");
    assert_int_equal(cfg->log.level, ZT_LOG_INFO);
    assert_null(cfg->admin.address);
    assert_string_equal(cfg->admin.token_file, "./data/admin.token");
    assert_string_equal(cfg->audit.path, "./data/audit/audit.log");
    assert_string_equal(cfg->audit.signing_key_file, "./data/audit/signing.key");
    assert_int_equal(cfg->audit.queue_limit, 65536);
    assert_int_equal(cfg->audit.n_exports, 0);
    assert_string_equal(cfg->auth.issuer, "ztgate");
    assert_string_equal(cfg->auth.secrets_key, "./data/secrets.key");
    assert_string_equal(cfg->auth.keys_dir, "./data/keys");
    assert_null(cfg->auth.portal_host);
    assert_null(cfg->auth.breach_corpus);
    assert_int_equal(cfg->auth.session_idle_ms, 30 * 60000);
    assert_int_equal(cfg->auth.session_absolute_ms, 12 * 3600000);
    assert_int_equal(cfg->auth.argon2_passes, 3);
    assert_int_equal(cfg->auth.argon2_memory, 64u << 20);
    assert_int_equal(cfg->auth.hash_queue, 64);
    assert_int_equal(cfg->auth.hash_threads, 1);
    assert_int_equal(cfg->auth.hash_nice, 10);
    assert_false(cfg->auth.mfa_optional);
    assert_int_equal(cfg->auth.account_failure_limit, 100);
    assert_int_equal(cfg->auth.source_failures_per_minute, 30);
    assert_string_equal(cfg->devices.ca_dir, "./data/device-ca");
    assert_int_equal(cfg->devices.certificate_lifetime_ms, 8760ull * 3600000);
    assert_int_equal(cfg->devices.posture_max_age_ms, 24 * 3600000);
    assert_int_equal(cfg->risk.feed_check_ms, 60000);
    assert_int_equal(cfg->risk.impossible_travel_kmh, 900);
    assert_null(cfg->risk.geoip_city);
    assert_int_equal(cfg->incidents.correlation_window_ms, 3600000);
    assert_int_equal(cfg->incidents.min_severity, 2);
    assert_false(cfg->incidents.has_notify);
    assert_int_equal(cfg->n_locations, 0);
    assert_int_equal(cfg->n_policies, 0);
    assert_int_equal(cfg->n_playbooks, 0);
}

static void test_sections_absent_or_empty(void **state)
{
    static const char *const sections[] = {"log",     "admin", "audit",    "auth",
                                           "devices", "risk",  "incidents"};
    static const char *const lists[] = {"locations", "policies", "playbooks"};
    char yaml[1024];
    zt_config *cfg = load_ok(BASE);
    assert_section_defaults(cfg);
    zt_config_free(cfg);
    for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
        for (int form = 0; form < 2; form++) {
            snprintf(yaml, sizeof(yaml), BASE "%s:%s\n", sections[i], form ? " {}" : "");
            cfg = load_ok(yaml);
            assert_section_defaults(cfg);
            zt_config_free(cfg);
        }
    }
    for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
        for (int form = 0; form < 2; form++) {
            snprintf(yaml, sizeof(yaml), BASE "%s:%s\n", lists[i], form ? " []" : "");
            cfg = load_ok(yaml);
            assert_section_defaults(cfg);
            zt_config_free(cfg);
        }
    }
}

/* The paths under state_dir were joined from a list of at most 4: with audit and auth left out
 * (or an admin listener added) auth.keys_dir stayed NULL and `serve` crashed. */
static void test_state_paths_every_section(void **state)
{
    zt_config *cfg = load_ok("state_dir: /s\n" BASE "admin: {listen: 127.0.0.1:9444}\n");
    assert_string_equal(cfg->admin.token_file, "/s/admin.token");
    assert_string_equal(cfg->audit.path, "/s/audit/audit.log");
    assert_string_equal(cfg->audit.signing_key_file, "/s/audit/signing.key");
    assert_string_equal(cfg->auth.secrets_key, "/s/secrets.key");
    assert_string_equal(cfg->auth.keys_dir, "/s/keys");
    assert_string_equal(cfg->devices.ca_dir, "/s/device-ca");
    zt_config_free(cfg);
    /* Written sections get the same defaults for what they leave out. */
    cfg = load_ok(BASE "audit: {queue_limit: 10}\nauth: {mfa: optional}\nstate_dir: /s\n");
    assert_string_equal(cfg->audit.path, "/s/audit/audit.log");
    assert_string_equal(cfg->auth.keys_dir, "/s/keys");
    assert_string_equal(cfg->auth.secrets_key, "/s/secrets.key");
    assert_true(cfg->auth.mfa_optional);
    zt_config_free(cfg);
}

/* An empty required section or list is reported where it was written. */
static void test_err_empty_required(void **state)
{
    expect_errors("gateway:\n"
                  "apps:\n"
                  "  - {name: a, upstream: \"http://127.0.0.1:8081\"}\n",
                  NAME ":1:9: missing required key 'listen' in 'gateway'\n");
    expect_errors("gateway: {listen: [{address: 127.0.0.1:8080}]}\n"
                  "apps:\n",
                  NAME ":2:6: 'apps' must have 1 to 10000 entries (got 0)\n");
    /* A list word that is not a string is reported once, and later checks skip it. */
    expect_errors(BASE "playbooks:\n  - {name: p, on: {}, actions: [revoke_sessions, {x: 1}]}\n",
                  NAME ":7:50: 'playbooks[0].actions[1]' must be a string (got a mapping)\n");
    expect_errors(BASE "incidents: {notify: }\n",
                  NAME ":6:21: missing required key 'url' in 'incidents.notify'\n");
}

static void test_err_tls_files(void **state)
{
    char yaml[2048], want[2048];
    /* Readable files pass; a missing one is reported at its value. */
    snprintf(yaml, sizeof(yaml),
             BASE "admin:\n"
                  "  listen: 127.0.0.1:9444\n"
                  "  tls:\n"
                  "    cert: %s/tests/unit/configs/readable.pem\n"
                  "    key: %s/tests/unit/configs/missing-key.pem\n",
             srcdir(), srcdir());
    snprintf(want, sizeof(want),
             NAME ":10:10: 'admin.tls.key' file '%s/tests/unit/configs/missing-key.pem' cannot be "
                  "read: No such file or directory (or set self_signed: true to create it)\n",
             srcdir());
    expect_errors(yaml, want);
    /* self_signed: missing files are fine (the server creates them); a directory is not a file. */
    zt_config *cfg = load_ok(BASE "admin:\n"
                                  "  tls: {cert: /nonexistent/c.pem, key: /nonexistent/k.pem, "
                                  "self_signed: true}\n");
    assert_true(cfg->admin.tls);
    assert_null(cfg->admin.address);
    zt_config_free(cfg);
    expect_errors(BASE "admin:\n"
                       "  tls: {cert: /, key: /}\n",
                  NAME ":7:15: 'admin.tls.cert' file '/' cannot be read: not a regular file (or "
                       "set self_signed: true to create it)\n" NAME
                       ":7:23: 'admin.tls.key' file '/' cannot be read: not a regular file (or set "
                       "self_signed: true to create it)\n");
    expect_errors(BASE "admin:\n"
                       "  tls: {self_signed: true}\n",
                  NAME ":7:8: missing required key 'cert' in 'admin.tls'\n" NAME
                       ":7:8: missing required key 'key' in 'admin.tls'\n");
}

static void test_err_yaml_syntax(void **state)
{
    expect_errors("gateway:\n"
                  "  listen: [\n"
                  "apps: x\n",
                  NAME ":4:1: YAML syntax error: did not find expected ',' or ']' while parsing a "
                       "flow sequence at line 2 column 11\n");
    expect_errors("gateway:\n"
                  "\tlisten: []\n",
                  NAME ":2:1: YAML syntax error: found character that cannot start any token "
                       "while scanning for the next token\n");
    expect_errors("a: b: c\n", NAME ":1:5: YAML syntax error: mapping values are not allowed in "
                                    "this context\n");
    expect_errors("ok: 1\nbad: \"\xff\"\n",
                  NAME ":2:7: YAML syntax error: invalid leading UTF-8 octet\n");
}

static void test_err_yaml_features(void **state)
{
    expect_errors("x: &a {y: 1}\n"
                  "z: *a\n",
                  NAME ":1:4: YAML anchors and aliases are not supported\n");
    expect_errors(BASE "---\n"
                       "a: 1\n",
                  NAME ":7:1: only one YAML document is allowed\n");
    expect_errors("", NAME ":1:1: the configuration is empty\n");
    expect_errors("# only a comment\n", NAME ":1:1: the configuration is empty\n");
    expect_errors("- a\n", NAME ":1:1: 'configuration' must be a mapping of keys (got a list)\n");
    expect_errors(BASE "log: {access: \"a\\0b\"}\n",
                  NAME ":6:15: 'log.access' must not contain NUL bytes\n");
    expect_errors(BASE "? [a]\n: 1\n", NAME ":6:3: keys must be plain names (got a list)\n");
}

static void test_err_many_at_once(void **state)
{
    expect_errors("gateway:\n"
                  "  listen:\n"
                  "    - address: nowhere\n"
                  "  workers: -1\n"
                  "  bogus: 1\n"
                  "log: {level: loud}\n"
                  "apps:\n"
                  "  - name: a\n"
                  "    upstream: ftp://x\n"
                  "  - name: a\n"
                  "    upstream: http://127.0.0.1:1\n",
                  NAME ":3:16: 'gateway.listen[0].address' must be IP:PORT like 127.0.0.1:8443 or "
                       "[::1]:8443 (got 'nowhere')\n" NAME
                       ":4:12: 'gateway.workers' must be a whole number (got '-1')\n" NAME
                       ":5:3: unknown key 'bogus' in 'gateway' (expected one of: listen, workers, "
                       "trusted_proxies, limits, timeouts)\n" NAME
                       ":6:14: 'log.level' must be one of: debug, info, warn, error (got "
                       "'loud')\n" NAME
                       ":9:15: 'apps[0].upstream' must be a URL like http://127.0.0.1:8081 (got "
                       "'ftp://x')\n" NAME ":10:5: duplicate app name 'a' (first at line 8)\n");
}

static void test_err_too_many(void **state)
{
    zt_buf yaml;
    zt_diags d;
    zt_buf_init(&yaml, 0);
    zt_buf_append_str(&yaml, BASE);
    for (int i = 0; i < 300; i++)
        zt_buf_printf(&yaml, "k%d: 1\n", i);
    zt_diags_init(&d);
    assert_null(zt_config_load_mem(NAME, yaml.data, yaml.len, &d));
    assert_int_equal(d.errors, 300);
    assert_non_null(strstr(d.text.data, NAME ": too many errors; only the first 200 are shown\n"));
    assert_null(strstr(d.text.data, "'k200'"));
    zt_diags_dispose(&d);
    zt_buf_dispose(&yaml);
}

static void test_err_unreadable_file(void **state)
{
    zt_diags d;
    zt_diags_init(&d);
    assert_null(zt_config_load("/nonexistent/ztgate.yaml", &d));
    assert_string_equal(d.text.data,
                        "/nonexistent/ztgate.yaml: cannot read: No such file or directory\n");
    zt_diags_dispose(&d);
}

/* Every fuzz seed must load or fail cleanly (the corpus doubles as a regression suite). */
static void test_fuzz_corpus(void **state)
{
    char dir[4096], path[8192];
    snprintf(dir, sizeof(dir), "%s/fuzz/corpus/fuzz_config", srcdir());
    DIR *dp = opendir(dir);
    if (dp == NULL)
        skip();
    struct dirent *e;
    while ((e = readdir(dp)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
        zt_diags d;
        zt_diags_init(&d);
        zt_config_free(zt_config_load(path, &d));
        zt_diags_dispose(&d);
    }
    closedir(dp);
}

/* Deployment check: an enforced policy asking for a control nothing can meet is refused at the
 * `controls` key, with why and what to do; report_only, off, OR with a meetable alternative and
 * the other controls pass. */
static unsigned grant_errors_with(const char *extra, const char *policy, zt_diags *d)
{
    char yaml[2048];
    snprintf(yaml, sizeof(yaml),
             BASE "%spolicies:\n  - {name: p, users: {include: [all]},\n"
                  "     apps: {include: [all]}, %s}\n",
             extra, policy);
    zt_config *cfg = load_ok(yaml);
    zt_diags_init(d);
    unsigned n = zt_config_check_grants(cfg, d);
    assert_int_equal(n, d->errors);
    zt_config_free(cfg);
    return n;
}

static unsigned grant_errors(const char *policy, zt_diags *d)
{
    return grant_errors_with("", policy, d);
}

static void test_grants_satisfiable(void **state)
{
    (void)state;
    zt_diags d;
    /* Passkeys are on by default: phishing_resistant_mfa can be met. */
    assert_int_equal(grant_errors("grant: {controls: [phishing_resistant_mfa]}", &d), 0);
    zt_diags_dispose(&d);
    assert_int_equal(grant_errors_with("auth: {passkeys: false}\n",
                                       "grant: {controls: [phishing_resistant_mfa]}", &d),
                     1);
    if (strstr(d.text.data, "policy 'p' is on and requires phishing_resistant_mfa, but no enabled "
                            "sign-in method is phishing-resistant (auth.passkeys is false): "
                            "every request it applies to would be refused; set auth.passkeys: "
                            "true") == NULL)
        fail_msg("%s", d.text.data);
    zt_diags_dispose(&d);
    assert_int_equal(grant_errors_with("auth: {passkeys: false}\n",
                                       "grant: {controls: [mfa, phishing_resistant_mfa]}", &d),
                     1);
    zt_diags_dispose(&d);
    static const char *const fine[] = {
        "state: report_only, grant: {controls: [phishing_resistant_mfa]}",
        "state: off, grant: {controls: [phishing_resistant_mfa]}",
        "grant: {controls: [mfa, phishing_resistant_mfa], operator: OR}",
        "grant: {controls: [mfa, compliant_device, password_change]}",
        "grant: {block: true}",
    };
    for (size_t i = 0; i < sizeof(fine) / sizeof(fine[0]); i++) {
        if (grant_errors(fine[i], &d) != 0)
            fail_msg("%s: %s", fine[i], d.text.data);
        zt_diags_dispose(&d);
    }
    assert_int_equal(zt_config_check_grants(NULL, &d), 0);
}

/* Module-owned sections: every registered module names a section once, and every module slot
 * in the file reaches its module's table (an unknown key lists the module's keys, which would
 * be an empty list if the slot found no module). */
static void test_module_sections(void **state)
{
    (void)state;
    for (size_t i = 0; i < zt_config_n_modules; i++) {
        const zt_config_module *m = zt_config_modules[i];
        assert_non_null(m->name);
        assert_non_null(m->section);
        assert_true(m->section->n > 0);
        for (size_t j = 0; j < i; j++)
            assert_string_not_equal(zt_config_modules[j]->name, m->name);
    }
    static const struct {
        const char *yaml, *want;
    } cases[] = {
        {"risk:\n  zz: 1\n", "in 'risk' (expected one of: geoip_city, "},
        {"devices:\n  zz: 1\n", "in 'devices' (expected one of: ca_dir, "},
        {"incidents:\n  zz: 1\n", "in 'incidents' (expected one of: correlation_window, "},
        {"playbooks:\n  - zz: 1\n", "in 'playbooks[0]' (expected one of: name, "},
        {"locations:\n  - zz: 1\n", "in 'locations[0]' (expected one of: name, cidrs, "},
        {"policies:\n  - zz: 1\n", "in 'policies[0]' (expected one of: name, state, "},
        {"audit:\n  zz: 1\n", "in 'audit' (expected one of: path, signing_key, "},
        {"admin:\n  zz: 1\n",
         "in 'admin' (expected one of: listen, tls, token_file, bootstrap_token)"},
        {"auth:\n  zz: 1\n", "in 'auth' (expected one of: portal_host, issuer, "},
        /* a leading '-': the whole file, not appended to BASE */
        {"-gateway:\n  zz: 1\n  listen:\n    - address: 127.0.0.1:8080\n"
         "apps:\n  - {name: a, upstream: \"http://127.0.0.1:8081\", zz: 1}\n",
         "in 'gateway' (expected one of: listen, workers, "},
        {"-gateway:\n  listen:\n    - address: 127.0.0.1:8080\n"
         "apps:\n  - {name: a, upstream: \"http://127.0.0.1:8081\", zz: 1}\n",
         "in 'apps[0]' (expected one of: name, host, "},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char yaml[1024];
        snprintf(yaml, sizeof(yaml), "%s%s", cases[i].yaml[0] == '-' ? "" : BASE,
                 cases[i].yaml[0] == '-' ? cases[i].yaml + 1 : cases[i].yaml);
        zt_diags d;
        zt_diags_init(&d);
        zt_config *cfg = zt_config_load_mem(NAME, yaml, strlen(yaml), &d);
        assert_null(cfg);
        if (d.text.data == NULL || strstr(d.text.data, cases[i].want) == NULL)
            fail_msg("%s: %s", cases[i].want, d.text.data ? d.text.data : "(none)");
        zt_diags_dispose(&d);
    }
}

int main(void)
{
    zt_config_set_resolver(fake_resolve);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quickstart),
        cmocka_unit_test(test_minimal_fixture_and_defaults),
        cmocka_unit_test(test_state_dir_paths),
        cmocka_unit_test(test_secproxy_keys),
        cmocka_unit_test(test_websocket_keys),
        cmocka_unit_test(test_sizes),
        cmocka_unit_test(test_durations),
        cmocka_unit_test(test_values_normalised),
        cmocka_unit_test(test_getaddrinfo),
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_err_unknown_key),
        cmocka_unit_test(test_err_wrong_type),
        cmocka_unit_test(test_err_out_of_range),
        cmocka_unit_test(test_err_enum),
        cmocka_unit_test(test_err_hash_memory),
        cmocka_unit_test(test_err_bad_cidr),
        cmocka_unit_test(test_err_bad_address),
        cmocka_unit_test(test_err_bad_url),
        cmocka_unit_test(test_https_upstream),
        cmocka_unit_test(test_err_upstream_tls),
        cmocka_unit_test(test_tcp_apps),
        cmocka_unit_test(test_err_tcp_apps),
        cmocka_unit_test(test_err_bad_host_and_prefix),
        cmocka_unit_test(test_err_duplicate_key),
        cmocka_unit_test(test_err_overlapping_listeners),
        cmocka_unit_test(test_err_duplicate_app),
        cmocka_unit_test(test_err_duplicate_route),
        cmocka_unit_test(test_err_missing_required),
        cmocka_unit_test(test_idp_apps),
        cmocka_unit_test(test_err_idp_apps),
        cmocka_unit_test(test_err_idp_issuer),
        cmocka_unit_test(test_sections_absent_or_empty),
        cmocka_unit_test(test_state_paths_every_section),
        cmocka_unit_test(test_err_empty_required),
        cmocka_unit_test(test_err_tls_files),
        cmocka_unit_test(test_err_yaml_syntax),
        cmocka_unit_test(test_err_yaml_features),
        cmocka_unit_test(test_err_many_at_once),
        cmocka_unit_test(test_err_too_many),
        cmocka_unit_test(test_err_unreadable_file),
        cmocka_unit_test(test_fuzz_corpus),
        cmocka_unit_test(test_grants_satisfiable),
        cmocka_unit_test(test_module_sections),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
