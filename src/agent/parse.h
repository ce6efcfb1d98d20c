/* ztagent's parsers for its own files and the device's: agent.conf, os-release, ClamAV
 * CVD/CLD headers, intervals, RFC 3339 times. Pure functions over byte strings (libc only),
 * table-tested in tests/unit/test_agent.c; they never allocate and never print. */
#ifndef ZT_AGENT_PARSE_H
#define ZT_AGENT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#define ZTA_PATH_MAX 1024
#define ZTA_URL_MAX 512
#define ZTA_CONF_MAX (16 * 1024)

/* AGENT_DIR/agent.conf: "key=value" lines, '#' comments, unknown keys are errors. */
typedef struct zta_conf {
    char server[ZTA_URL_MAX];     /* https://HOST[:PORT] */
    char server_ca[ZTA_PATH_MAX]; /* CA file verifying the server ("" when pinned) */
    char server_sha256[65];       /* pinned server certificate SHA-256, lowercase hex (TOFU) */
    char device_id[33];           /* 32 lowercase hex */
    char user[256];
    char db_dir[ZTA_PATH_MAX]; /* ClamAV database directory ("" = default) */
} zta_conf;

/* 0, or -1 with "line N: ..." in err. */
int zta_conf_parse(const char *text, size_t n, zta_conf *out, char *err, size_t errlen);
/* Formats conf as agent.conf text; length written, or -1 when out is too small. */
int zta_conf_format(const zta_conf *conf, char *out, size_t outlen);

typedef struct zta_os_release {
    char id[64];
    char version_id[64];
    char pretty_name[256];
} zta_os_release;

/* os-release(5): KEY=VALUE, values optionally quoted ('...' literal, "..." with \ escapes).
 * Missing keys stay "". 0, or -1 on a malformed line. */
int zta_os_release_parse(const char *text, size_t n, zta_os_release *out);

/* ClamAV database header: the first 512 bytes of a .cvd/.cld file,
 * "ClamAV-VDB:buildtime:version:sigs:fl:md5:dsig:builder:stime", space padded. */
typedef struct zta_cvd_header {
    unsigned version;
    unsigned sigs;
    unsigned fl;
    time_t build_time; /* from stime when present, else from the buildtime text */
} zta_cvd_header;

#define ZTA_CVD_HEADER_LEN 512

int zta_cvd_header_parse(const char *hdr, size_t n, zta_cvd_header *out);
/* "22 Nov 2026 08-14 +0000" (ClamAV's own build time format); -1 when malformed. */
int zta_cvd_time_parse(const char *s, size_t n, time_t *out);

/* "90", "30s", "15m", "2h", "1d" → seconds in [1, 7 days]; -1 otherwise. */
int zta_interval_parse(const char *s, unsigned *secs);
/* "YYYY-MM-DDTHH:MM:SSZ" (21 bytes with NUL). */
void zta_rfc3339(time_t t, char out[21]);
bool zta_is_lower_hex(const char *s, size_t n);
/* Splits https://HOST[:PORT][/] into host and port (default 443). IPv6 as [addr]. */
int zta_url_parse(const char *url, char *host, size_t hostlen, unsigned *port);

/* `ztagent tunnel` arguments. "HOST[:PORT]" into host (a DNS name, lowercased) and port
 * (default 22); false when malformed. */
bool zta_parse_app(const char *arg, char *host, size_t hostlen, unsigned *port);
/* --listen "127.0.0.1:PORT" / "[::1]:PORT" (any 127/8 address): 0; -1 malformed; -2 an address
 * that is not loopback (a tunnel is its user's, never the LAN's). */
struct sockaddr_storage;
int zta_listen_parse(const char *spec, struct sockaddr_storage *ss, unsigned *len);
/* The gateway's answer head to CONNECT, through its blank line: status and Content-Length
 * (0 when absent). -1 when it is not a well-formed HTTP/1.x head (or names two lengths). */
/* The value of a header line "Name: value" (n bytes, no CRLF) when its name is `name` (any
 * case), without the blanks around it, *vn bytes long; NULL otherwise. */
const char *zta_header_value(const char *line, size_t n, const char *name, size_t *vn);
int zta_connect_answer_parse(const char *head, size_t n, unsigned *status, size_t *body_len);
#endif
