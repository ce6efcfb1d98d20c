/* The assessment's audit statistics (assess_int.h): one pass over the log files of the window,
 * one JSON parse per line (jansson), a bounded set of distinct users. */
#include <dirent.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "assess/assess_int.h"
#include "lib/time.h"

#define LINE_MAX_BYTES (1024 * 1024) /* a record longer than this is skipped */
#define USERS_SLOTS (1u << 17)       /* distinct users counted; beyond it they count once more */
#define FILES_MAX 4096

typedef struct stats {
    zt_assess_facts *f;
    int64_t since_us;
    uint64_t *users; /* FNV-1a of the user's key; 0 = free */
    size_t n_users;
} stats;

static uint64_t fnv(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s != '\0'; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h != 0 ? h : 1;
}

static void user_seen(stats *s, const char *key)
{
    if (key == NULL || key[0] == '\0' || s->users == NULL)
        return;
    uint64_t h = fnv(key);
    for (size_t i = 0, at = h & (USERS_SLOTS - 1); i < USERS_SLOTS;
         i++, at = (at + 1) & (USERS_SLOTS - 1)) {
        if (s->users[at] == h)
            return;
        if (s->users[at] == 0) {
            if (s->n_users + 1 >= USERS_SLOTS / 2) /* keep probing short: stop adding */
                return;
            s->users[at] = h;
            s->n_users++;
            return;
        }
    }
}

static const char *path_str(json_t *o, const char *a, const char *b)
{
    json_t *v = json_object_get(o, a);
    if (b != NULL)
        v = json_object_get(v, b);
    return json_string_value(v);
}

static void count_record(stats *s, json_t *rec)
{
    const char *t = json_string_value(json_object_get(rec, "time"));
    int64_t us;
    if (t == NULL || !zt_parse_rfc3339(t, strlen(t), 0, &us) || us < s->since_us)
        return;
    zt_assess_facts *f = s->f;
    f->records++;
    long cls = (long)json_integer_value(json_object_get(rec, "class_uid"));
    const char *decision = json_string_value(json_object_get(rec, "decision"));
    if (decision != NULL && strcmp(decision, "block") == 0)
        f->blocks++;
    if (cls == 2004 && json_integer_value(json_object_get(rec, "activity_id")) == 1)
        f->detections_logged++;
    if (cls != 3002 || json_object_get(rec, "auth_factors") == NULL)
        return;
    bool ok = json_integer_value(json_object_get(rec, "status_id")) == 1;
    if (json_is_true(json_object_get(rec, "is_mfa"))) {
        f->mfa_prompts++;
        const char *who = path_str(rec, "user", "uid");
        user_seen(s, who != NULL ? who : path_str(rec, "user", "email_addr"));
    } else if (ok) {
        f->signins_ok++;
    } else {
        f->signins_failed++;
    }
}

static void read_file(stats *s, const char *path)
{
    FILE *fp = fopen(path, "re");
    if (fp == NULL)
        return;
    char *line = NULL;
    size_t cap = 0;
    ssize_t n;
    while ((n = getline(&line, &cap, fp)) > 0) {
        if (n > LINE_MAX_BYTES)
            continue;
        json_t *rec = json_loadb(line, (size_t)n, 0, NULL);
        if (rec != NULL)
            count_record(s, rec);
        json_decref(rec);
    }
    free(line);
    fclose(fp);
}

/* Rotated files of the live log: BASE.<digits> in its directory. */
static void read_rotated(stats *s, const char *live)
{
    char dir[4096];
    const char *slash = strrchr(live, '/');
    size_t dn = slash != NULL ? (size_t)(slash - live) : 1;
    if (dn == 0)
        dn = 1; /* the root directory */
    if (dn >= sizeof(dir))
        return;
    memcpy(dir, slash != NULL ? live : ".", dn);
    dir[dn] = '\0';
    const char *base = slash != NULL ? slash + 1 : live;
    size_t bn = strlen(base);
    DIR *d = opendir(dir);
    struct dirent *e;
    unsigned files = 0;
    while (d != NULL && (e = readdir(d)) != NULL && files < FILES_MAX) {
        const char *nm = e->d_name;
        if (strncmp(nm, base, bn) != 0 || nm[bn] != '.' || nm[bn + 1] == '\0' ||
            strspn(nm + bn + 1, "0123456789") != strlen(nm + bn + 1))
            continue;
        char p[8192];
        if ((size_t)snprintf(p, sizeof(p), "%s/%s", dir, nm) >= sizeof(p))
            continue;
        read_file(s, p);
        files++;
    }
    if (d != NULL)
        closedir(d);
}

void zt_assess_audit_stats(const char *path, int64_t since, zt_assess_facts *f)
{
    FILE *probe = fopen(path, "re");
    f->audit_read = probe != NULL;
    if (probe == NULL)
        return;
    fclose(probe);
    stats s = {.f = f, .since_us = since * 1000000, .users = calloc(USERS_SLOTS, sizeof(uint64_t))};
    read_rotated(&s, path);
    read_file(&s, path);
    f->users_prompted = s.n_users;
    if (s.n_users > 0 && f->window_days > 0)
        f->prompts_per_user_day = (double)f->mfa_prompts / (double)s.n_users / f->window_days;
    free(s.users);
}
