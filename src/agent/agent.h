/* ztagent: the endpoint agent. Declarations shared by its modules (conf, client, enrolment,
 * posture, scanning, quarantine, daemon). The agent never sends file contents anywhere: only
 * paths, SHA-256 digests and signature names leave the device. */
#ifndef ZT_AGENT_AGENT_H
#define ZT_AGENT_AGENT_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "agent/client.h"
#include "agent/parse.h"

#define ZTA_DEFAULT_DIR "/var/lib/ztagent"
#define ZTA_DEFAULT_DB_DIR "/var/lib/clamav"

/* Exit codes shared by every subcommand. */
enum { ZTA_EXIT_OK = 0, ZTA_EXIT_FAIL = 1, ZTA_EXIT_ERR = 2 };

typedef struct zta_ctx {
    char dir[ZTA_PATH_MAX]; /* AGENT_DIR */
    zta_conf conf;
    bool enrolled; /* agent.conf read and device.pem/device.key present */
} zta_ctx;

/* agent dir and config (conf.c) */
int zta_ctx_init(zta_ctx *ctx, const char *dir_opt);
/* Reads AGENT_DIR/agent.conf; 0, or -1 with a message on stderr. */
int zta_ctx_load(zta_ctx *ctx);
int zta_ctx_require_enrolled(zta_ctx *ctx);
int zta_conf_save(const zta_ctx *ctx);
/* AGENT_DIR/name into out; false when it does not fit. */
bool zta_path(const zta_ctx *ctx, const char *name, char *out, size_t outlen);
/* Write a whole file atomically (tmp + fsync + rename) with the given mode. */
int zta_write_file(const char *path, const void *data, size_t n, unsigned mode);
/* Read a whole file of at most limit bytes, NUL-terminated; caller frees. */
char *zta_read_file(const char *path, size_t limit, size_t *len_out);
void zta_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Server calls over mutual TLS (client.c). The answer body is parsed into *answer; a non-2xx
 * status with a JSON error body is reported as an error. */
int zta_call(const zta_ctx *ctx, const char *method, const char *path, json_t *body,
             int expect_status, json_t **answer);
bool zta_valid_risk(const char *s);
/* The TLS settings of agent.conf (server CA or pin) with the device certificate and key; the
 * paths live in files. 0, or -1 when a path does not fit. */
typedef struct zta_tls_files {
    char ca[ZTA_PATH_MAX], cert[ZTA_PATH_MAX], key[ZTA_PATH_MAX];
} zta_tls_files;
int zta_ctx_tls(const zta_ctx *ctx, zta_tls *tls, zta_tls_files *files);
/* POST /.ztgate/device/alert; event is detected|quarantined|restored|clean_scan. */
int zta_send_alert(const zta_ctx *ctx, const char *event, const char *path, const char *sha256,
                   const char *signature);

/* Posture (posture.c): a new object following docs/DEVICE_PROTOCOL.md. */
json_t *zta_posture_collect(const zta_ctx *ctx, const char *db_dir);
int zta_posture_send(const zta_ctx *ctx, json_t *posture, bool quiet);

/* Scanning (scan.c) */
typedef struct zta_scanner zta_scanner;
zta_scanner *zta_scanner_new(const char *db_dir);
void zta_scanner_free(zta_scanner *s);
const char *zta_db_dir(const zta_ctx *ctx, const char *opt);
/* Scans one path (file or directory tree); on detections runs the whole flow: report detected,
 * quarantine, report quarantined, rescan, report clean_scan. Returns ZTA_EXIT_*. */
int zta_scan_path(zta_ctx *ctx, zta_scanner *s, const char *path);

/* Quarantine (quarantine.c) */
/* Moves path into the quarantine; writes the new entry's id (17 bytes) into id. */
int zta_quarantine_add(zta_ctx *ctx, const char *path, const char *sha256, const char *signature,
                       char *id, size_t idlen);
int zta_quarantine_list(zta_ctx *ctx, bool json);
int zta_quarantine_restore(zta_ctx *ctx, const char *id);
/* Restored entries: known-infected files back on disk (alerts_active in posture). */
int zta_quarantine_active(const zta_ctx *ctx);

/* Tunnels (tunnel.c, signin.c; docs/TUNNELS.md) */
#define ZTA_TOKEN_LEN 43 /* a gateway session id */
/* Where the tunnel token of this device is cached: $XDG_STATE_HOME/ztagent/tunnel-DEVICE.token
 * (default ~/.local/state). false when there is no place (no HOME) or it does not fit. */
bool zta_token_path(const zta_ctx *ctx, char *out, size_t outlen);
/* The cached token, or false. */
bool zta_token_load(const zta_ctx *ctx, char out[ZTA_TOKEN_LEN + 1]);
void zta_token_forget(const zta_ctx *ctx);
/* The device-code sign-in for app ("host:port"): asks the gateway for a code, tells the user on
 * stderr where to approve it, polls, and caches the token. ZTA_EXIT_OK, ZTA_EXIT_FAIL (denied,
 * expired) or ZTA_EXIT_ERR. */
int zta_signin(const zta_ctx *ctx, const char *app);

/* Subcommands */
int zta_cmd_enroll(int argc, char **argv);
int zta_cmd_report(int argc, char **argv);
int zta_cmd_scan(int argc, char **argv);
int zta_cmd_quarantine(int argc, char **argv);
int zta_cmd_daemon(int argc, char **argv);
int zta_cmd_status(int argc, char **argv);
int zta_cmd_signin(int argc, char **argv);
int zta_cmd_tunnel(int argc, char **argv);

#endif
