/* The `store:` section of the config file (docs/STORE.md, docs/CLUSTER.md), read by the engine
 * in core/config.c through this table, and opening the store it describes. */
#include <errno.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/config_schema.h"
#include "lib/file.h"
#include "lib/secure.h"
#include "store/store.h"

static const char *const backends[] = {"sqlite", "postgresql", NULL};

/* 1 when the connection string parses and carries a password, 0 when it parses without one;
 * the parser's message in why otherwise. */
static int dsn_has_password(const char *dsn, char *why, size_t cap)
{
    char *err = NULL;
    PQconninfoOption *opts = PQconninfoParse(dsn, &err);
    if (opts == NULL) {
        snprintf(why, cap, "%s", err != NULL ? err : "out of memory");
        why[strcspn(why, "\n")] = '\0';
        PQfreemem(err);
        return -1;
    }
    int found = 0;
    for (PQconninfoOption *o = opts; o->keyword != NULL; o++)
        if (strcmp(o->keyword, "password") == 0 && o->val != NULL && o->val[0] != '\0')
            found = 1;
    PQconninfoFree(opts);
    return found;
}

static void check_dsn(zt_config_ctx *c, const zt_config_walk *w, const zt_store_settings *s)
{
    char why[256];
    int pw = dsn_has_password(s->dsn, why, sizeof(why));
    if (pw < 0)
        zt_config_err(c, zt_config_seen(w, "dsn"),
                      "'store.dsn' is not a PostgreSQL connection "
                      "string: %s",
                      why);
    else if (pw > 0)
        zt_config_err(c, zt_config_seen(w, "dsn"),
                      "'store.dsn' carries a password: a config file is read by many and "
                      "copied into backups; put the password in a passfile (passfile=PATH in "
                      "the string) or the whole string in 'dsn_file' (mode 0600)");
}

static void check_store(zt_config_ctx *c, const zt_config_walk *w)
{
    zt_store_settings *s = (zt_store_settings *)(void *)w->target;
    zt_config_mark(w, &s->line, &s->col);
    bool pg = s->backend == ZT_STORE_POSTGRES;
    const yaml_node_t *at = zt_config_seen(w, "backend");
    if (!pg) {
        const char *extra = s->dsn != NULL ? "dsn" : s->dsn_file != NULL ? "dsn_file" : NULL;
        if (extra != NULL)
            zt_config_err(c, zt_config_seen(w, extra),
                          "'store.%s' needs 'backend: postgresql' (the backend is sqlite)", extra);
        return;
    }
    if ((s->dsn == NULL) == (s->dsn_file == NULL)) {
        zt_config_err(c, at != NULL ? at : w->map,
                      "'backend: postgresql' needs exactly one of 'dsn' (a libpq connection "
                      "string without a password) and 'dsn_file' (a file holding it)");
        return;
    }
    if (s->dsn != NULL)
        check_dsn(c, w, s);
    else
        zt_config_check_file(c, w, "dsn_file", s->dsn_file, "");
}

static const zt_config_key store_keys[] = {
    {"backend", ZT_K_ENUM, 0, ZT_FIELD(zt_store_settings, backend), .def = "sqlite",
     .names = backends},
    {"dsn", ZT_K_STR, 0, ZT_FIELD(zt_store_settings, dsn)},
    {"dsn_file", ZT_K_STR, 0, ZT_FIELD(zt_store_settings, dsn_file)},
    {"timeout", ZT_K_DURATION, 0, ZT_FIELD(zt_store_settings, timeout_ms), .min = 100,
     .max = 60 * ZT_MS_S, .def = "5s"},
    {"node_name", ZT_K_STR, 0, ZT_FIELD(zt_store_settings, node_name)},
    {"outage_grace", ZT_K_DURATION, 0, ZT_FIELD(zt_store_settings, outage_grace_ms), .min = 0,
     .max = 3600 * ZT_MS_S, .def = "60s"},
    {"resync_interval", ZT_K_DURATION, 0, ZT_FIELD(zt_store_settings, resync_ms), .min = 100,
     .max = 300 * ZT_MS_S, .def = "5s"},
};
ZT_CONFIG_SECTION(store_section, store_keys, check_store);

const zt_config_module zt_store_config_module = {"store", &store_section, NULL};

/* The connection string from dsn_file: the first line, trimmed; the file must not be readable
 * by group or others when it may hold a password. */
static char *read_dsn_file(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(err, errlen, "store: cannot read dsn_file %s: %s", path, strerror(errno));
        return NULL;
    }
    if ((sb.st_mode & 077) != 0) {
        snprintf(err, errlen,
                 "store: dsn_file %s is readable by group or others (mode %03o); it may hold a "
                 "password: chmod 600 it",
                 path, (unsigned)(sb.st_mode & 0777));
        return NULL;
    }
    zt_buf b;
    zt_buf_init(&b, 64 * 1024);
    int rc = zt_read_file(path, &b);
    if (rc == 0)
        rc = zt_buf_cstr(&b);
    if (rc != 0) {
        snprintf(err, errlen, "store: cannot read dsn_file %s: %s", path, strerror(-rc));
        zt_buf_dispose(&b);
        return NULL;
    }
    char *text = b.data; /* ours now: wiped and freed by the caller */
    text[strcspn(text, "\r\n")] = '\0';
    if (text[0] == '\0') {
        snprintf(err, errlen, "store: dsn_file %s is empty", path);
        zt_buf_dispose(&b);
        return NULL;
    }
    return text;
}

char *zt_store_config_dsn(const zt_config *cfg, char *err, size_t errlen)
{
    if (cfg->store.backend != ZT_STORE_POSTGRES) {
        snprintf(err, errlen, "store: the backend is sqlite (no connection string)");
        return NULL;
    }
    if (cfg->store.dsn_file != NULL)
        return read_dsn_file(cfg->store.dsn_file, err, errlen);
    char *dsn = cfg->store.dsn != NULL ? strdup(cfg->store.dsn) : NULL;
    if (dsn == NULL)
        snprintf(err, errlen, "store: %s",
                 cfg->store.dsn == NULL ? "no PostgreSQL connection string" : "out of memory");
    return dsn;
}

void zt_store_config_dsn_free(char *dsn)
{
    if (dsn == NULL)
        return;
    zt_wipe(dsn, strlen(dsn));
    free(dsn);
}

zt_store *zt_store_open_config(const zt_config *cfg, char *err, size_t errlen)
{
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = cfg->state_dir};
    if (cfg->store.backend != ZT_STORE_POSTGRES)
        return zt_store_open(&sc, err, errlen);
    char *dsn = zt_store_config_dsn(cfg, err, errlen);
    if (dsn == NULL)
        return NULL;
    sc.backend = ZT_STORE_POSTGRES;
    sc.busy_timeout_ms = (unsigned)cfg->store.timeout_ms;
    sc.dsn = dsn;
    zt_store *st = zt_store_open(&sc, err, errlen);
    zt_store_config_dsn_free(dsn);
    return st;
}
