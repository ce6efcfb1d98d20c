/* The quarantine: infected files moved into AGENT_DIR/quarantine (0700) as read-only files
 * named by a random id, with an index (index.json) recording where each came from. Restoring
 * never overwrites: it refuses when something already exists at the original path. */
#include "agent/agent.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/rand.h>

#define INDEX_MAX (8 * 1024 * 1024)
#define ENTRIES_MAX 10000
#define ID_HEX 16

static bool qpath(const zta_ctx *ctx, const char *name, char *out, size_t outlen)
{
    int w = name ? snprintf(out, outlen, "%s/quarantine/%s", ctx->dir, name)
                 : snprintf(out, outlen, "%s/quarantine", ctx->dir);
    return w > 0 && (size_t)w < outlen;
}

static int ensure_qdir(const zta_ctx *ctx)
{
    char dir[ZTA_PATH_MAX];
    struct stat st;
    if (!qpath(ctx, NULL, dir, sizeof dir))
        return -1;
    if (mkdir(ctx->dir, 0755) != 0 && errno != EEXIST)
        goto fail;
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        goto fail;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ztagent: %s is not a directory\n", dir);
        return -1;
    }
    if ((st.st_mode & 0777) != 0700 && chmod(dir, 0700) != 0)
        goto fail;
    return 0;
fail:
    fprintf(stderr, "ztagent: cannot create %s: %s\n", dir, strerror(errno));
    return -1;
}

static bool valid_entry(json_t *e)
{
    const char *id = json_string_value(json_object_get(e, "id"));
    const char *sha = json_string_value(json_object_get(e, "sha256"));
    const char *st = json_string_value(json_object_get(e, "state"));
    return id != NULL && strlen(id) == ID_HEX && zta_is_lower_hex(id, ID_HEX) && sha != NULL &&
           strlen(sha) == 64 && json_is_string(json_object_get(e, "path")) &&
           json_is_string(json_object_get(e, "signature")) &&
           json_is_string(json_object_get(e, "quarantined_at")) &&
           json_is_integer(json_object_get(e, "mode")) && st != NULL &&
           (strcmp(st, "quarantined") == 0 || strcmp(st, "restored") == 0 ||
            strcmp(st, "requarantined") == 0);
}

/* The index's entries array (new reference), empty when there is no index yet; NULL when
 * the index exists but is damaged (never silently replaced). */
static json_t *load_index(const zta_ctx *ctx)
{
    char path[ZTA_PATH_MAX];
    size_t len;
    if (!qpath(ctx, "index.json", path, sizeof path))
        return NULL;
    char *text = zta_read_file(path, INDEX_MAX, &len);
    if (text == NULL) {
        if (errno == ENOENT)
            return json_array();
        fprintf(stderr, "ztagent: cannot read %s: %s\n", path, strerror(errno));
        return NULL;
    }
    json_error_t jerr;
    json_t *root = json_loadb(text, len, JSON_REJECT_DUPLICATES, &jerr);
    free(text);
    json_t *entries = json_object_get(root, "entries");
    bool ok = json_is_array(entries) && json_array_size(entries) <= ENTRIES_MAX;
    size_t i;
    json_t *e;
    if (ok)
        json_array_foreach(entries, i, e) ok = ok && valid_entry(e);
    if (!ok) {
        fprintf(stderr, "ztagent: %s is damaged; fix or move it aside\n", path);
        json_decref(root);
        return NULL;
    }
    json_incref(entries);
    json_decref(root);
    return entries;
}

static int save_index(const zta_ctx *ctx, json_t *entries)
{
    char path[ZTA_PATH_MAX];
    json_t *root = json_pack("{s:i, s:O}", "version", 1, "entries", entries);
    char *text = root ? json_dumps(root, JSON_INDENT(1)) : NULL;
    json_decref(root);
    int rc = -1;
    if (text != NULL && qpath(ctx, "index.json", path, sizeof path)) {
        rc = zta_write_file(path, text, strlen(text), 0600);
        if (rc != 0)
            fprintf(stderr, "ztagent: cannot write %s: %s\n", path, strerror(-rc));
    }
    free(text);
    return rc;
}

/* Copies src to a new file dst (O_EXCL) for moves across file systems. */
static int copy_file(const char *src, const char *dst, mode_t mode)
{
    int in = open(src, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (in < 0)
        return -1;
    int out = open(dst, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        close(in);
        return -1;
    }
    char buf[65536];
    int rc = 0;
    for (;;) {
        ssize_t r = read(in, buf, sizeof buf);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? -1 : 0;
            break;
        }
        for (ssize_t off = 0; off < r;) {
            ssize_t w = write(out, buf + off, (size_t)(r - off));
            if (w < 0 && errno == EINTR)
                continue;
            if (w < 0) {
                rc = -1;
                break;
            }
            off += w;
        }
        if (rc != 0)
            break;
    }
    if (rc == 0 && fsync(out) != 0)
        rc = -1;
    close(in);
    if (close(out) != 0)
        rc = -1;
    if (rc != 0)
        unlink(dst);
    return rc;
}

/* rename(2) without replacing dst; falls back to copy + unlink across file systems. */
static int move_noreplace(const char *src, const char *dst, mode_t mode)
{
    if (renameat2(AT_FDCWD, src, AT_FDCWD, dst, RENAME_NOREPLACE) == 0)
        return 0;
    if (errno == EINVAL) {
        /* File system without RENAME_NOREPLACE: link + unlink refuses to replace too. */
        if (link(src, dst) == 0)
            return unlink(src);
        if (errno != EXDEV)
            return -1;
    } else if (errno != EXDEV) {
        return -1;
    }
    if (copy_file(src, dst, mode) != 0)
        return -1;
    return unlink(src);
}

int zta_quarantine_add(zta_ctx *ctx, const char *path, const char *sha256, const char *signature,
                       char *id, size_t idlen)
{
    unsigned char rnd[ID_HEX / 2];
    char qfile[ZTA_PATH_MAX];
    struct stat st;
    if (idlen < ID_HEX + 1 || ensure_qdir(ctx) != 0)
        return -1;
    json_t *entries = load_index(ctx);
    if (entries == NULL)
        return -1;
    int rc = -1;
    if (json_array_size(entries) >= ENTRIES_MAX) {
        fprintf(stderr, "ztagent: the quarantine holds %d entries; clean it up\n", ENTRIES_MAX);
        goto out;
    }
    if (RAND_bytes(rnd, sizeof rnd) != 1)
        goto out;
    for (size_t i = 0; i < sizeof rnd; i++)
        snprintf(id + 2 * i, 3, "%02x", rnd[i]);
    if (lstat(path, &st) != 0 || !S_ISREG(st.st_mode)) {
        fprintf(stderr, "ztagent: cannot quarantine %s: no longer a regular file\n", path);
        goto out;
    }
    if (!qpath(ctx, id, qfile, sizeof qfile) || move_noreplace(path, qfile, 0400) != 0) {
        fprintf(stderr, "ztagent: cannot move %s into the quarantine: %s\n", path, strerror(errno));
        goto out;
    }
    if (chmod(qfile, 0400) != 0)
        fprintf(stderr, "ztagent: cannot make %s read-only: %s\n", qfile, strerror(errno));
    /* A restored file caught again: its earlier restore no longer counts as an active alert. */
    size_t i;
    json_t *old;
    json_array_foreach(entries, i, old)
    {
        if (strcmp(json_string_value(json_object_get(old, "state")), "restored") == 0 &&
            strcmp(json_string_value(json_object_get(old, "path")), path) == 0)
            json_object_set_new(old, "state", json_string("requarantined"));
    }
    char ts[21];
    zta_rfc3339(time(NULL), ts);
    json_t *e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:i, s:s}", "id", id, "path", path, "sha256",
                          sha256, "signature", signature, "quarantined_at", ts, "mode",
                          (int)(st.st_mode & 07777), "state", "quarantined");
    if (e == NULL || json_array_append_new(entries, e) != 0 || save_index(ctx, entries) != 0) {
        /* Keep the file and the record together: put it back rather than lose track of it. */
        if (move_noreplace(qfile, path, st.st_mode & 0777) != 0)
            fprintf(stderr, "ztagent: %s stays in the quarantine as %s without an index entry\n",
                    path, qfile);
        goto out;
    }
    rc = 0;
out:
    json_decref(entries);
    return rc;
}

int zta_quarantine_active(const zta_ctx *ctx)
{
    char path[ZTA_PATH_MAX];
    if (!qpath(ctx, "index.json", path, sizeof path) || access(path, F_OK) != 0)
        return 0;
    json_t *entries = load_index(ctx);
    if (entries == NULL)
        return -1;
    int n = 0;
    size_t i;
    json_t *e;
    json_array_foreach(entries, i, e)
    {
        if (strcmp(json_string_value(json_object_get(e, "state")), "restored") == 0)
            n++;
    }
    json_decref(entries);
    return n;
}

int zta_quarantine_list(zta_ctx *ctx, bool json)
{
    json_t *entries = load_index(ctx);
    if (entries == NULL)
        return ZTA_EXIT_ERR;
    if (json) {
        json_dumpf(entries, stdout, JSON_INDENT(2));
        putchar('\n');
    } else if (json_array_size(entries) == 0) {
        printf("quarantine is empty\n");
    } else {
        printf("%-16s  %-11s  %-20s  %-30s  %s\n", "ID", "STATE", "QUARANTINED_AT", "SIGNATURE",
               "PATH");
        size_t i;
        json_t *e;
        json_array_foreach(entries, i, e)
        {
            printf("%-16s  %-11s  %-20s  %-30s  %s\n", json_string_value(json_object_get(e, "id")),
                   json_string_value(json_object_get(e, "state")),
                   json_string_value(json_object_get(e, "quarantined_at")),
                   json_string_value(json_object_get(e, "signature")),
                   json_string_value(json_object_get(e, "path")));
        }
    }
    json_decref(entries);
    return ZTA_EXIT_OK;
}

int zta_quarantine_restore(zta_ctx *ctx, const char *id)
{
    if (strlen(id) != ID_HEX || !zta_is_lower_hex(id, ID_HEX)) {
        fprintf(stderr, "ztagent: a quarantine id is %d lowercase hex digits\n", ID_HEX);
        return ZTA_EXIT_ERR;
    }
    json_t *entries = load_index(ctx);
    if (entries == NULL)
        return ZTA_EXIT_ERR;
    int rc = ZTA_EXIT_ERR;
    json_t *e = NULL;
    size_t i;
    json_t *it;
    json_array_foreach(entries, i, it)
    {
        if (strcmp(json_string_value(json_object_get(it, "id")), id) == 0)
            e = it;
    }
    if (e == NULL || strcmp(json_string_value(json_object_get(e, "state")), "quarantined") != 0) {
        fprintf(stderr, "ztagent: no quarantined file with id %s\n", id);
        goto out;
    }
    const char *path = json_string_value(json_object_get(e, "path"));
    mode_t mode = (mode_t)json_integer_value(json_object_get(e, "mode")) & 0777;
    char qfile[ZTA_PATH_MAX];
    if (!qpath(ctx, id, qfile, sizeof qfile))
        goto out;
    if (move_noreplace(qfile, path, mode) != 0) {
        fprintf(stderr, "ztagent: cannot restore %s to %s: %s\n", id, path,
                errno == EEXIST ? "something already exists there" : strerror(errno));
        goto out;
    }
    if (chmod(path, mode) != 0)
        fprintf(stderr, "ztagent: cannot reset the mode of %s: %s\n", path, strerror(errno));
    char ts[21];
    zta_rfc3339(time(NULL), ts);
    json_object_set_new(e, "state", json_string("restored"));
    json_object_set_new(e, "restored_at", json_string(ts));
    if (save_index(ctx, entries) != 0)
        goto out;
    printf("restored %s to %s\n", id, path);
    fprintf(stderr, "ztagent: warning: %s is known to be infected (%s)\n", path,
            json_string_value(json_object_get(e, "signature")));
    rc = ZTA_EXIT_OK;
    if (ctx->enrolled &&
        zta_send_alert(ctx, "restored", path, json_string_value(json_object_get(e, "sha256")),
                       json_string_value(json_object_get(e, "signature"))) != 0)
        rc = ZTA_EXIT_ERR;
out:
    json_decref(entries);
    return rc;
}
