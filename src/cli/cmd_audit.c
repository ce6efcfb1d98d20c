/* `ztgate audit verify|tail`: check the hash chain and signed checkpoints of the local audit
 * log, and read its newest records. */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "cli/cmd_identity.h"
#include "cli/commands.h"
#include "core/config.h"
#include "lib/str.h"

#define MAX_AUDIT_FILES 4096

typedef struct rotated {
    unsigned long long first_seq;
    char *path;
} rotated;

static int by_first_seq(const void *a, const void *b)
{
    const rotated *x = a, *y = b;
    return x->first_seq < y->first_seq ? -1 : x->first_seq > y->first_seq;
}

/* The chain in order: audit.log.<first seq> files by that seq, then the live audit.log. */
static size_t collect_log_files(const char *live, char **out, size_t cap)
{
    char dir[4096], base[256];
    const char *slash = strrchr(live, '/');
    size_t dn = slash ? (size_t)(slash - live) : 1;
    if (dn >= sizeof(dir) || strlen(slash ? slash + 1 : live) >= sizeof(base))
        return 0;
    memcpy(dir, slash ? live : ".", dn);
    dir[dn] = '\0';
    snprintf(base, sizeof(base), "%s.", slash ? slash + 1 : live);
    rotated *rot = calloc(cap, sizeof(*rot));
    size_t n = 0;
    DIR *d = rot ? opendir(dir) : NULL;
    struct dirent *e;
    while (d != NULL && (e = readdir(d)) != NULL && n + 1 < cap) {
        size_t bn = strlen(base);
        if (strncmp(e->d_name, base, bn) != 0)
            continue;
        unsigned long long seq;
        const char *num = e->d_name + bn;
        if (!zt_parse_u64(num, strlen(num), UINT64_MAX, &seq))
            continue;
        size_t len = strlen(dir) + strlen(e->d_name) + 2;
        rot[n].path = malloc(len);
        if (rot[n].path == NULL)
            break;
        snprintf(rot[n].path, len, "%s/%s", dir, e->d_name);
        rot[n].first_seq = seq;
        n++;
    }
    if (d != NULL)
        closedir(d);
    if (rot != NULL)
        qsort(rot, n, sizeof(*rot), by_first_seq);
    for (size_t i = 0; i < n; i++)
        out[i] = rot[i].path;
    free(rot);
    out[n++] = strdup(live);
    return n;
}

static const char *arg_value(int argc, char **argv, const char *name)
{
    for (int i = 1; i + 1 < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return argv[i + 1];
    return NULL;
}

static bool has_flag(int argc, char **argv, const char *name)
{
    for (int i = 1; i < argc; i++)
        if (strcmp(argv[i], name) == 0)
            return true;
    return false;
}

static zt_config *load_cfg(int argc, char **argv)
{
    const char *path = zt_cli_config_path(argc, argv);
    zt_diags diags;
    zt_diags_init(&diags);
    zt_config *cfg = zt_config_load(path, &diags);
    if (cfg == NULL)
        fprintf(stderr, "%.*s", (int)diags.text.len, diags.text.data ? diags.text.data : "");
    zt_diags_dispose(&diags);
    return cfg;
}

static int audit_verify(int argc, char **argv)
{
    char *files[MAX_AUDIT_FILES];
    size_t n = 0;
    for (int i = 1; i < argc && n < MAX_AUDIT_FILES; i++) {
        if (strcmp(argv[i], "--config") == 0 || strcmp(argv[i], "--pubkey") == 0) {
            i++;
            continue;
        }
        if (argv[i][0] != '-')
            files[n++] = strdup(argv[i]);
    }
    const char *pub = arg_value(argc, argv, "--pubkey");
    char pubbuf[4096];
    zt_config *cfg = NULL;
    if (n == 0 || pub == NULL) {
        cfg = load_cfg(argc, argv);
        if (cfg == NULL) {
            fprintf(stderr, "ztgate: give the log files and --pubkey, or a valid --config\n");
            return 2;
        }
        if (n == 0)
            n = collect_log_files(cfg->audit.path, files, MAX_AUDIT_FILES);
        if (pub == NULL) {
            snprintf(pubbuf, sizeof(pubbuf), "%s.pub", cfg->audit.signing_key_file);
            pub = pubbuf;
        }
    }
    unsigned flags = has_flag(argc, argv, "--sealed") ? ZT_AUDIT_VERIFY_SEALED : 0;
    if (has_flag(argc, argv, "--from-genesis"))
        flags |= ZT_AUDIT_VERIFY_FROM_GENESIS;
    int rc = zt_audit_verify((const char *const *)files, n, pub, flags, stdout);
    for (size_t i = 0; i < n; i++)
        free(files[i]);
    zt_config_free(cfg);
    return rc == 0 ? 0 : 1;
}

static int audit_tail(int argc, char **argv)
{
    const char *nstr = arg_value(argc, argv, "-n");
    unsigned long long count = 20;
    if (nstr != NULL && !zt_parse_u64(nstr, strlen(nstr), 1000000, &count)) {
        fprintf(stderr, "ztgate: -n wants a number of records\n");
        return 2;
    }
    zt_config *cfg = load_cfg(argc, argv);
    if (cfg == NULL)
        return 2;
    int rc = zt_audit_tail(cfg->audit.path, (size_t)count, stdout);
    if (rc < 0)
        fprintf(stderr, "ztgate: %s: %s\n", cfg->audit.path, strerror(-rc));
    zt_config_free(cfg);
    return rc < 0 ? 1 : 0;
}

int zt_cmd_audit(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "verify") == 0)
        return audit_verify(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "tail") == 0)
        return audit_tail(argc - 1, argv + 1);
    fprintf(stderr, "usage: ztgate audit verify [FILES...] [--pubkey FILE] [--sealed] "
                    "[--from-genesis] [--config FILE]\n"
                    "       ztgate audit tail [-n N] [--config FILE]\n"
                    "Without FILES, verify checks the configured log with its rotated files, "
                    "oldest first, against <signing_key>.pub.\n");
    return 2;
}
