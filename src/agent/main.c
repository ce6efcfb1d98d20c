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

int zta_cmd_quarantine(int argc, char **argv)
{
    static const struct option longopts[] = {{"dir", required_argument, NULL, 'd'},
                                             {"json", no_argument, NULL, 'j'},
                                             {NULL, 0, NULL, 0}};
    const char *dir = NULL;
    bool json = false;
    int c;
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        if (c == 'd')
            dir = optarg;
        else if (c == 'j')
            json = true;
        else
            return ZTA_EXIT_ERR;
    }
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

int main(int argc, char **argv)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        {"enroll", zta_cmd_enroll}, {"report", zta_cmd_report},         {"scan", zta_cmd_scan},
        {"daemon", zta_cmd_daemon}, {"quarantine", zta_cmd_quarantine},
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
