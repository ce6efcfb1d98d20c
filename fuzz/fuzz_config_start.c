/* libFuzzer target for config load + service open (issue 10): a config that loads and passes
 * check-config's preflight must also open everything `serve` opens before it listens (TLS
 * contexts, audit log, store, keys, sessions, devices, feeds, admin token), and open and close
 * without crashes or leaks. Each input starts from an empty scratch directory (the working
 * directory, made at initialisation); configs that name a path outside it (absolute or "..")
 * or that would send anything over the network (audit export sinks) are skipped. Password
 * hashing runs at the cheapest cost the config allows so a start stays fast. */
#include <dirent.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config.h"
#include "core/log.h"
#include "gateway/gateway.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char scratch[4096];

/* Every name is 127.0.0.1 except *.invalid, as in fuzz_config. */
static int fuzz_resolve(const char *host, uint16_t port, struct sockaddr_storage *out)
{
    struct sockaddr_in *in = (struct sockaddr_in *)out;
    size_t n = strlen(host);
    if (n >= 8 && strcmp(host + n - 8, ".invalid") == 0)
        return EAI_NONAME;
    memset(out, 0, sizeof(*out));
    in->sin_family = AF_INET;
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return 0;
}

/* Inside the scratch directory: relative and without a ".." component. */
static bool confined(const char *p)
{
    if (p == NULL)
        return true;
    if (p[0] == '/' || p[0] == '~')
        return false;
    for (const char *s = p; (s = strstr(s, "..")) != NULL; s += 2)
        if ((s == p || s[-1] == '/') && (s[2] == '\0' || s[2] == '/'))
            return false;
    return true;
}

static bool log_confined(const char *p)
{
    return p == NULL || strcmp(p, "-") == 0 || strcmp(p, "off") == 0 || confined(p);
}

static bool tls_confined(const zt_tls_cfg *t)
{
    return confined(t->cert_file) && confined(t->key_file);
}

static bool feeds_confined(const zt_feed_file_cfg *f, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!confined(f[i].path))
            return false;
    return true;
}

static bool usable(const zt_config *c)
{
    bool ok = confined(c->state_dir) && log_confined(c->log.access_path) &&
              log_confined(c->log.error_path) && confined(c->admin.token_file) &&
              tls_confined(&c->admin.tls_cfg) && confined(c->audit.path) &&
              confined(c->audit.signing_key_file) && c->audit.n_exports == 0 &&
              confined(c->auth.breach_corpus) && confined(c->auth.secrets_key) &&
              confined(c->auth.keys_dir) && confined(c->devices.ca_dir) &&
              confined(c->risk.geoip_city) && confined(c->risk.geoip_asn) &&
              confined(c->risk.leaked_credentials) &&
              feeds_confined(c->risk.anonymous_ips, c->risk.n_anonymous_ips) &&
              feeds_confined(c->risk.malicious_ips, c->risk.n_malicious_ips) &&
              confined(c->incidents.notify.secret_file) && confined(c->incidents.notify.ca_file);
    for (size_t i = 0; ok && i < c->n_listeners; i++)
        ok = tls_confined(&c->listeners[i].tls_cfg);
    return ok;
}

static void remove_tree(const char *path)
{
    DIR *d = opendir(path);
    if (d == NULL) {
        unlink(path);
        return;
    }
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
            continue;
        char child[8192];
        snprintf(child, sizeof(child), "%s/%s", path, e->d_name);
        struct stat st;
        if (lstat(child, &st) == 0 && S_ISDIR(st.st_mode)) {
            remove_tree(child);
            rmdir(child);
        } else {
            unlink(child);
        }
    }
    closedir(d);
}

static void cleanup_scratch(void)
{
    remove_tree(scratch);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    zt_config_set_resolver(fuzz_resolve);
    const char *tmp = getenv("TMPDIR");
    snprintf(scratch, sizeof(scratch), "%s/ztgate-fuzz-start.XXXXXX", tmp ? tmp : "/tmp");
    if (mkdtemp(scratch) == NULL || chdir(scratch) != 0)
        abort();
    atexit(cleanup_scratch);
    /* Refusals are expected; keep the fuzzer's output readable (ZT_FUZZ_VERBOSE=1 shows them,
     * to see why a start failed after its preflight passed). */
    bool verbose = getenv("ZT_FUZZ_VERBOSE") != NULL;
    zt_log_cfg quiet = {.access_path = "off",
                        .error_path = verbose ? "-" : "/dev/null",
                        .level = verbose ? ZT_LOG_INFO : ZT_LOG_ERROR};
    char err[256];
    zt_log_open(&quiet, err, sizeof(err));
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_diags d;
    zt_diags_init(&d);
    zt_config *cfg = zt_config_load_mem("fuzz.yaml", (const char *)data, size, &d);
    zt_diags_dispose(&d);
    if (cfg == NULL)
        return 0;
    if (!usable(cfg)) {
        zt_config_free(cfg);
        return 0;
    }
    cfg->auth.argon2_passes = 2;
    cfg->auth.argon2_memory = 19u << 20;
    remove_tree(scratch);
    char err[1024];
    bool preflight_ok = zt_gateway_preflight(cfg, err, sizeof(err)) == 0;
    int started = zt_gateway_start_trial(cfg); /* consumes cfg */
    /* check-config's OK must mean serve starts. */
    if (preflight_ok && started != 0) {
        fprintf(stderr, "preflight passed, the start failed (ZT_FUZZ_VERBOSE=1 says why)\n");
        __builtin_trap();
    }
    return 0;
}
