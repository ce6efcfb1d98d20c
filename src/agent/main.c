/* ztagent: the endpoint agent's command line. One function per subcommand; exit codes are
 * 0 (ok/clean/compliant), 1 (refused/infected/not compliant), 2 (error). */
#include "agent/agent.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <clamav.h>
#include <openssl/crypto.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

static void usage(FILE *f)
{
    fprintf(f, "usage: ztagent COMMAND [OPTIONS]\n"
               "  enroll --server URL --code CODE (--ca-file FILE | --server-sha256 HEX |\n"
               "         --insecure-first-use)\n"
               "         [--dir DIR] [--force]\n"
               "  report [--dir DIR] [--db DIR] [--json | --dry-run]\n"
               "  scan PATH... [--db DIR] [--dir DIR]\n"
               "  daemon [--interval 15m] [--watch DIR]... [--db DIR] [--dir DIR]\n"
               "  quarantine list [--json] [--dir DIR]\n"
               "  quarantine restore ID [--dir DIR]\n"
               "  status [--dir DIR] [--json]\n"
               "  tunnel HOST[:PORT] (--stdio | --listen 127.0.0.1:PORT) [--dir DIR]\n"
               "  signin HOST[:PORT] [--dir DIR]\n"
               "  --version\n"
               "AGENT_DIR: --dir, else $ZTAGENT_DIR, else " ZTA_DEFAULT_DIR "\n");
}

int zta_cmd_report(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {"json", no_argument, NULL, 'j'},
                                             {"dry-run", no_argument, NULL, 'j'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *db = NULL;
    bool dry = false;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'b')
            db = optarg;
        else if (c == 'j')
            dry = true;
        else
            return ZTA_EXIT_ERR;
    }
    if (optind != argc) {
        usage(stderr);
        return ZTA_EXIT_ERR;
    }
    zta_ctx ctx;
    if (zta_ctx_init(&ctx, dir) != 0)
        return ZTA_EXIT_ERR;
    if (dry ? zta_ctx_load(&ctx) < 0 : zta_ctx_require_enrolled(&ctx) != 0)
        return ZTA_EXIT_ERR;
    json_t *p = zta_posture_collect(&ctx, zta_db_dir(&ctx, db));
    if (p == NULL) {
        fprintf(stderr, "ztagent: cannot collect posture\n");
        return ZTA_EXIT_ERR;
    }
    int rc;
    if (dry) {
        rc = json_dumpf(p, stdout, JSON_INDENT(2)) == 0 ? ZTA_EXIT_OK : ZTA_EXIT_ERR;
        putchar('\n');
    } else {
        rc = zta_posture_send(&ctx, p, false);
    }
    json_decref(p);
    return rc;
}

int zta_cmd_scan(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"db", required_argument, NULL, 'b'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL, *db = NULL;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'b')
            db = optarg;
        else
            return ZTA_EXIT_ERR;
    }
    if (optind == argc) {
        usage(stderr);
        return ZTA_EXIT_ERR;
    }
    zta_ctx ctx;
    if (zta_ctx_init(&ctx, dir) != 0 || zta_ctx_load(&ctx) < 0)
        return ZTA_EXIT_ERR;
    if (ctx.enrolled && zta_ctx_require_enrolled(&ctx) != 0)
        return ZTA_EXIT_ERR;
    zta_scanner *s = zta_scanner_new(zta_db_dir(&ctx, db));
    if (s == NULL)
        return ZTA_EXIT_ERR;
    int rc = ZTA_EXIT_OK;
    for (int i = optind; i < argc; i++) {
        int r = zta_scan_path(&ctx, s, argv[i]);
        if (r == ZTA_EXIT_ERR || rc == ZTA_EXIT_ERR)
            rc = ZTA_EXIT_ERR;
        else if (r > rc)
            rc = r;
    }
    zta_scanner_free(s);
    return rc;
}

/* The options quarantine and status share: --dir DIR and --json. */
static int dir_json_options(int argc, char **argv, const char **dir, bool *json)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {NULL, 0, NULL, 0}};
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            *dir = optarg;
        else if (c == 'j')
            *json = true;
        else
            return -1;
    }
    return 0;
}

int zta_cmd_quarantine(int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    if (dir_json_options(argc, argv, &dir, &json) != 0)
        return ZTA_EXIT_ERR;
    int left = argc - optind;
    char **rest = argv + optind;
    zta_ctx ctx;
    if (zta_ctx_init(&ctx, dir) != 0 || zta_ctx_load(&ctx) < 0)
        return ZTA_EXIT_ERR;
    if (left == 1 && strcmp(rest[0], "list") == 0)
        return zta_quarantine_list(&ctx, json);
    if (left == 2 && strcmp(rest[0], "restore") == 0) {
        if (ctx.enrolled && zta_ctx_require_enrolled(&ctx) != 0)
            return ZTA_EXIT_ERR;
        return zta_quarantine_restore(&ctx, rest[1]);
    }
    usage(stderr);
    return ZTA_EXIT_ERR;
}

/* The device certificate's expiry as RFC 3339 into out; false when it cannot be read. */
static bool cert_not_after(const zta_ctx *ctx, char out[21])
{
    char path[ZTA_PATH_MAX];
    if (!zta_path(ctx, "device.pem", path, sizeof path))
        return false;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return false;
    X509 *x = PEM_read_X509(f, NULL, NULL, NULL);
    fclose(f);
    struct tm tm;
    bool ok = x != NULL && ASN1_TIME_to_tm(X509_get0_notAfter(x), &tm) == 1;
    if (ok)
        zta_rfc3339(timegm(&tm), out);
    X509_free(x);
    return ok;
}

/* A string member of an answer, or fallback (answers come from the network). */
static const char *member(const json_t *o, const char *key, const char *fallback)
{
    const char *v = json_string_value(json_object_get(o, key));
    return v != NULL ? v : fallback;
}

/* What this device knows locally, then the gateway's verdict (GET /.ztgate/device/status). */
static void status_print(const zta_ctx *ctx, const char *not_after, const json_t *ans)
{
    printf("enrolled:     yes, device %s of %s\n", ctx->conf.device_id, ctx->conf.user);
    printf("gateway:      %s\n", ctx->conf.server);
    printf("certificate:  valid until %s\n", not_after[0] ? not_after : "(unreadable)");
    printf("quarantine:   %d restored file(s) still flagged\n", zta_quarantine_active(ctx));
    if (ans == NULL) {
        printf("verdict:      unknown (the gateway could not be asked)\n");
        return;
    }
    printf("last report:  %s\n", member(ans, "last_report_at", "never (run `ztagent report`)"));
    bool ok = json_is_true(json_object_get(ans, "compliant"));
    printf("compliance:   %s\n", ok ? "compliant" : "NOT compliant");
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(ans, "failed"), i, f)
    {
        printf("  - %.100s: %.500s\n", member(f, "rule", "?"), member(f, "message", ""));
    }
    printf("device risk:  %s\n", member(ans, "risk", "?"));
    json_t *alerts = json_object_get(ans, "active_alerts");
    printf("alerts:       %zu active\n", json_array_size(alerts));
    json_array_foreach(alerts, i, f)
    {
        if (json_is_string(f))
            printf("  - %.500s\n", json_string_value(f));
        else
            printf("  - %.100s in %.500s\n", member(f, "signature", "?"), member(f, "path", "?"));
    }
}

static int status_json(const zta_ctx *ctx, const char *not_after, json_t *ans)
{
    json_t *out = json_pack("{s:b, s:s, s:s, s:s, s:s?, s:i, s:O?}", "enrolled", true, "device_id",
                            ctx->conf.device_id, "user", ctx->conf.user, "gateway",
                            ctx->conf.server, "cert_not_after", not_after[0] ? not_after : NULL,
                            "quarantine_active", zta_quarantine_active(ctx), "gateway_status", ans);
    int rc = out != NULL && json_dumpf(out, stdout, JSON_INDENT(2)) == 0 ? 0 : -1;
    putchar('\n');
    json_decref(out);
    return rc;
}

int zta_cmd_status(int argc, char **argv)
{
    const char *dir = NULL;
    bool json = false;
    if (dir_json_options(argc, argv, &dir, &json) != 0)
        return ZTA_EXIT_ERR;
    if (optind != argc) {
        usage(stderr);
        return ZTA_EXIT_ERR;
    }
    zta_ctx ctx;
    if (zta_ctx_init(&ctx, dir) != 0 || zta_ctx_load(&ctx) < 0)
        return ZTA_EXIT_ERR;
    if (!ctx.enrolled) {
        if (json)
            puts("{\"enrolled\": false}");
        else
            printf("not enrolled (no agent.conf/device.pem in %s)\n", ctx.dir);
        return ZTA_EXIT_FAIL;
    }
    char not_after[21] = "";
    (void)cert_not_after(&ctx, not_after);
    json_t *ans = NULL;
    bool asked = zta_call(&ctx, "GET", "/.ztgate/device/status", NULL, 200, &ans) == 0;
    int rc = json ? status_json(&ctx, not_after, asked ? ans : NULL) : 0;
    if (!json)
        status_print(&ctx, not_after, asked ? ans : NULL);
    bool compliant = asked && json_is_true(json_object_get(ans, "compliant"));
    json_decref(ans);
    if (!asked || rc != 0)
        return ZTA_EXIT_ERR;
    return compliant ? ZTA_EXIT_OK : ZTA_EXIT_FAIL;
}

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"enroll", zta_cmd_enroll}, {"report", zta_cmd_report},         {"scan", zta_cmd_scan},
        {"daemon", zta_cmd_daemon}, {"quarantine", zta_cmd_quarantine}, {"status", zta_cmd_status},
        {"tunnel", zta_cmd_tunnel}, {"signin", zta_cmd_signin},
    };
    if (argc < 2) {
        usage(stderr);
        return ZTA_EXIT_ERR;
    }
    if (strcmp(argv[1], "--version") == 0) {
        printf("ztagent %s (libclamav %s, %s)\n", ZT_VERSION, cl_retver(),
               OpenSSL_version(OPENSSL_VERSION));
        return ZTA_EXIT_OK;
    }
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
        usage(stdout);
        return ZTA_EXIT_OK;
    }
    /* Files the agent creates are never group/world writable, whatever the caller's umask. */
    umask(022);
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++)
        if (strcmp(argv[1], cmds[i].name) == 0)
            return cmds[i].fn(argc - 1, argv + 1);
    fprintf(stderr, "ztagent: unknown command '%s'\n", argv[1]);
    usage(stderr);
    return ZTA_EXIT_ERR;
}
