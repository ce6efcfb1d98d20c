/* Malware scanning with libclamav and the remediation flow around a detection:
 * report detected → quarantine → report quarantined → rescan the path → report clean_scan.
 * Files are opened without following symlinks and scanned and hashed through one descriptor,
 * so what is reported is what was scanned. */
#include "agent/agent.h"

#include <clamav.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

struct zta_scanner {
    struct cl_engine *engine;
    unsigned sigs;
};

enum { SCAN_CLEAN = 0, SCAN_VIRUS = 1, SCAN_GONE = 2, SCAN_SKIP = 3, SCAN_ERROR = -1 };

const char *zta_db_dir(const zta_ctx *ctx, const char *opt)
{
    if (opt != NULL && opt[0] != '\0')
        return opt;
    if (ctx != NULL && ctx->conf.db_dir[0] != '\0')
        return ctx->conf.db_dir;
    return ZTA_DEFAULT_DB_DIR;
}

zta_scanner *zta_scanner_new(const char *db_dir)
{
    static bool inited;
    cl_error_t e;
    if (!inited) {
        if ((e = cl_init(CL_INIT_DEFAULT)) != CL_SUCCESS) {
            fprintf(stderr, "ztagent: libclamav init failed: %s\n", cl_strerror(e));
            return NULL;
        }
        inited = true;
    }
    zta_scanner *s = calloc(1, sizeof *s);
    if (s == NULL)
        return NULL;
    s->engine = cl_engine_new();
    if (s->engine == NULL) {
        free(s);
        return NULL;
    }
    if ((e = cl_load(db_dir, s->engine, &s->sigs, CL_DB_STDOPT)) != CL_SUCCESS) {
        fprintf(stderr, "ztagent: cannot load the ClamAV database from %s: %s\n", db_dir,
                cl_strerror(e));
        goto fail;
    }
    if (s->sigs == 0) {
        fprintf(stderr, "ztagent: the ClamAV database in %s holds no signatures\n", db_dir);
        goto fail;
    }
    if ((e = cl_engine_compile(s->engine)) != CL_SUCCESS) {
        fprintf(stderr, "ztagent: cannot compile the ClamAV engine: %s\n", cl_strerror(e));
        goto fail;
    }
    return s;
fail:
    zta_scanner_free(s);
    return NULL;
}

void zta_scanner_free(zta_scanner *s)
{
    if (s == NULL)
        return;
    if (s->engine != NULL)
        cl_engine_free(s->engine);
    free(s);
}

static int sha256_fd(int fd, char hex[65])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    unsigned char buf[65536], out[32];
    unsigned outlen = 0;
    int rc = -1;
    if (md == NULL || EVP_DigestInit_ex(md, EVP_sha256(), NULL) != 1 || lseek(fd, 0, SEEK_SET) != 0)
        goto out;
    for (;;) {
        ssize_t r = read(fd, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            goto out;
        if (r == 0)
            break;
        if (EVP_DigestUpdate(md, buf, (size_t)r) != 1)
            goto out;
    }
    if (EVP_DigestFinal_ex(md, out, &outlen) != 1 || outlen != 32)
        goto out;
    for (unsigned i = 0; i < 32; i++)
        snprintf(hex + 2 * i, 3, "%02x", out[i]);
    rc = 0;
out:
    EVP_MD_CTX_free(md);
    return rc;
}

/* Scans one regular file by descriptor. On SCAN_VIRUS fills sig and sha256. */
static int scan_one(zta_scanner *s, const char *path, char *sig, size_t siglen, char sha[65])
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT)
            return SCAN_GONE;
        if (errno == ELOOP)
            return SCAN_SKIP; /* a symlink: its target is scanned where it lives */
        fprintf(stderr, "ztagent: cannot open %s: %s\n", path, strerror(errno));
        return SCAN_ERROR;
    }
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return SCAN_SKIP;
    }
    struct cl_scan_options opts = {
        .general = CL_SCAN_GENERAL_HEURISTICS,
        .parse = ~0u,
        .heuristic = 0,
    };
    const char *virname = NULL;
    unsigned long scanned = 0;
    cl_error_t e = cl_scandesc(fd, path, &virname, &scanned, s->engine, &opts);
    int rc;
    if (e == CL_CLEAN) {
        rc = SCAN_CLEAN;
    } else if (e == CL_VIRUS) {
        snprintf(sig, siglen, "%s", virname ? virname : "unknown");
        rc = sha256_fd(fd, sha) == 0 ? SCAN_VIRUS : SCAN_ERROR;
        if (rc == SCAN_ERROR)
            fprintf(stderr, "ztagent: cannot hash %s: %s\n", path, strerror(errno));
    } else {
        fprintf(stderr, "ztagent: scanning %s failed: %s\n", path, cl_strerror(e));
        rc = SCAN_ERROR;
    }
    close(fd);
    return rc;
}

static int alert(zta_ctx *ctx, const char *event, const char *path, const char *sha,
                 const char *sig)
{
    if (!ctx->enrolled)
        return 0; /* scanning works before enrolment; nobody to tell */
    return zta_send_alert(ctx, event, path, sha, sig);
}

/* The whole flow for one infected file. ZTA_EXIT_FAIL when handled, ZTA_EXIT_ERR otherwise. */
static int handle_detection(zta_ctx *ctx, zta_scanner *s, const char *path, const char *sig,
                            const char *sha)
{
    int rc = ZTA_EXIT_FAIL;
    printf("%s: %s FOUND (sha256 %s)\n", path, sig, sha);
    fflush(stdout);
    zta_log("detected %s in %s", sig, path);
    if (alert(ctx, "detected", path, sha, sig) != 0)
        rc = ZTA_EXIT_ERR;
    char id[40];
    if (zta_quarantine_add(ctx, path, sha, sig, id, sizeof id) != 0)
        return ZTA_EXIT_ERR;
    printf("%s: moved to quarantine as %s\n", path, id);
    fflush(stdout);
    if (alert(ctx, "quarantined", path, sha, sig) != 0)
        rc = ZTA_EXIT_ERR;
    /* Rescan the original path: gone or clean resolves the alert on the server. */
    char sig2[256], sha2[65];
    int r = scan_one(s, path, sig2, sizeof sig2, sha2);
    if (r == SCAN_CLEAN || r == SCAN_GONE || r == SCAN_SKIP) {
        printf("%s: rescan clean\n", path);
        if (alert(ctx, "clean_scan", path, sha, sig) != 0)
            rc = ZTA_EXIT_ERR;
    } else if (r == SCAN_VIRUS) {
        /* Something infected landed there again: handle it as a new detection. */
        int again = handle_detection(ctx, s, path, sig2, sha2);
        if (again == ZTA_EXIT_ERR)
            rc = ZTA_EXIT_ERR;
    } else {
        rc = ZTA_EXIT_ERR;
    }
    if (!ctx->enrolled)
        fprintf(stderr, "ztagent: not enrolled: the detection was not reported to a gateway\n");
    return rc;
}

static int scan_file(zta_ctx *ctx, zta_scanner *s, const char *path)
{
    char sig[256], sha[65];
    int r = scan_one(s, path, sig, sizeof sig, sha);
    if (r == SCAN_VIRUS)
        return handle_detection(ctx, s, path, sig, sha);
    if (r == SCAN_ERROR)
        return ZTA_EXIT_ERR;
    return ZTA_EXIT_OK;
}

/* nftw has no user pointer: the walk's state lives here for its duration only. */
static struct {
    zta_ctx *ctx;
    zta_scanner *s;
    char qdir[ZTA_PATH_MAX];
    int worst;
} walk;

static int worse(int a, int b)
{
    if (a == ZTA_EXIT_ERR || b == ZTA_EXIT_ERR)
        return ZTA_EXIT_ERR;
    return a > b ? a : b;
}

static int walk_cb(const char *fpath, const struct stat *sb, int type, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    if (type == FTW_D && strcmp(fpath, walk.qdir) == 0)
        return FTW_SKIP_SUBTREE; /* never rescan our own quarantine */
    if (type == FTW_F)
        walk.worst = worse(walk.worst, scan_file(walk.ctx, walk.s, fpath));
    else if (type == FTW_DNR || type == FTW_NS)
        walk.worst = worse(walk.worst, ZTA_EXIT_ERR);
    return FTW_CONTINUE;
}

int zta_scan_path(zta_ctx *ctx, zta_scanner *s, const char *path)
{
    char abs[PATH_MAX];
    struct stat st;
    if (lstat(path, &st) != 0) {
        fprintf(stderr, "ztagent: %s: %s\n", path, strerror(errno));
        return ZTA_EXIT_ERR;
    }
    /* Report absolute paths: the directory is resolved, the file name kept as it is. */
    char *slash = strrchr(path, '/');
    char dir[PATH_MAX];
    const char *base = path;
    if (slash != NULL) {
        size_t dl = (size_t)(slash - path);
        if (dl == 0)
            dl = 1;
        if (dl >= sizeof dir)
            return ZTA_EXIT_ERR;
        memcpy(dir, path, dl);
        dir[dl] = '\0';
        base = slash + 1;
    } else {
        snprintf(dir, sizeof dir, ".");
    }
    char rdir[PATH_MAX];
    if (realpath(dir, rdir) == NULL) {
        fprintf(stderr, "ztagent: %s: %s\n", dir, strerror(errno));
        return ZTA_EXIT_ERR;
    }
    int w = base[0] ? snprintf(abs, sizeof abs, "%s%s%s", rdir, strcmp(rdir, "/") ? "/" : "", base)
                    : snprintf(abs, sizeof abs, "%s", rdir);
    if (w < 0 || (size_t)w >= sizeof abs)
        return ZTA_EXIT_ERR;
    if (!S_ISDIR(st.st_mode))
        return scan_file(ctx, s, abs);
    walk.ctx = ctx;
    walk.s = s;
    walk.worst = ZTA_EXIT_OK;
    if (!zta_path(ctx, "quarantine", walk.qdir, sizeof walk.qdir))
        return ZTA_EXIT_ERR;
    if (nftw(abs, walk_cb, 32, FTW_PHYS | FTW_ACTIONRETVAL) != 0)
        walk.worst = worse(walk.worst, ZTA_EXIT_ERR);
    return walk.worst;
}
