/* Threat-intelligence feeds read from local files (nothing reaches the network): GeoIP and ASN
 * (MaxMind mmdb via libmaxminddb), anonymous IPs (Tor exit lists `ExitAddress IP DATE`, plain
 * IP/CIDR lists), malicious IPs (CIDR lists, each with a source name), and leaked credential
 * pairs (user + SHA-1 of a password).
 *
 * A zt_feeds is an immutable snapshot: built whole from the files, then published; lookups on
 * any thread take no lock and allocate nothing. Reload (SIGHUP, or a file whose mtime/size
 * changed, checked by zt_feeds_changed) builds a new snapshot; a file that cannot be read keeps
 * its previous data and says so; a bad line is reported as "FILE:LINE: reason" and skipped. */
#ifndef ZT_RISK_FEEDS_H
#define ZT_RISK_FEEDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/buf.h"

typedef struct zt_feeds zt_feeds;

typedef struct zt_feed_file {
    const char *path;
    const char *source; /* malicious lists: the source name shown in detections */
} zt_feed_file;

typedef struct zt_feeds_cfg {
    const char *geoip_city; /* mmdb with country + coordinates (GeoLite2-City layout); NULL */
    const char *geoip_asn;  /* mmdb with autonomous_system_number/_organization; NULL */
    const zt_feed_file *anonymous; /* Tor exit lists or plain IP/CIDR lists */
    size_t n_anonymous;
    const zt_feed_file *malicious;
    size_t n_malicious;
    const char *leaked_credentials; /* lines "user@example.org:SHA1HEX" (SHA-1 of the password) */
} zt_feeds_cfg;

/* Load every configured file. Problems (bad lines, unreadable files) are appended to `report`
 * as "FILE:LINE: reason\n" lines; the result is NULL only when memory runs out or a GeoIP file
 * is not an mmdb at all (then err says why). prev (nullable): keep its data for files that
 * cannot be read now. */
zt_feeds *zt_feeds_load(const zt_feeds_cfg *cfg, const zt_feeds *prev, zt_buf *report, char *err,
                        size_t errlen);
void zt_feeds_free(zt_feeds *f);
/* True when any configured file changed (mtime, size or inode) since this snapshot. */
bool zt_feeds_changed(const zt_feeds *f, const zt_feeds_cfg *cfg);

typedef struct zt_ip_info {
    char country[3]; /* ISO 3166-1 alpha-2, "" = unknown */
    bool has_location;
    double latitude, longitude; /* degrees */
    double accuracy_km;         /* 0 = unknown */
    uint32_t asn;               /* 0 = unknown */
    char as_org[64];
    bool anonymous;            /* Tor exit / anonymiser list */
    bool malicious;            /* a malicious list */
    char malicious_source[32]; /* which list (source name), "" if not malicious */
} zt_ip_info;

/* Everything the feeds know about one address. f may be NULL (all unknown). */
void zt_feeds_lookup(const zt_feeds *f, const struct sockaddr *ip, zt_ip_info *out);

/* Leaked credentials: is (user, password) in the leaked-pairs feed? The caller passes the
 * SHA-1 of the password (never the password): sha1 of the NFKC-normalised password bytes. */
bool zt_feeds_leaked(const zt_feeds *f, const char *user_email, const unsigned char sha1[20]);

typedef struct zt_feeds_stats {
    size_t anonymous_ranges, malicious_ranges, leaked_pairs;
    bool geoip_city, geoip_asn;
    size_t bad_lines;
} zt_feeds_stats;
void zt_feeds_get_stats(const zt_feeds *f, zt_feeds_stats *out);

/* Named limits on what a feed file may make us hold. A longer line is a bad line; a larger
 * file is treated as unreadable (previous data kept); past the entry cap lines are bad. */
#define ZT_FEEDS_MAX_LINE 1024
#define ZT_FEEDS_MAX_FILE_BYTES (2ull * 1024 * 1024 * 1024)
#define ZT_FEEDS_MAX_ENTRIES (16u * 1024 * 1024) /* ranges or pairs, per file */
#define ZT_FEEDS_MAX_FILES 256                   /* per list (anonymous, malicious) */
#define ZT_FEEDS_MAX_REPORTED 100 /* bad lines reported per file; then one summary line */

/* The parsed contents of one list file, shared (reference-counted) between snapshots so a file
 * that cannot be read on reload keeps what an older snapshot parsed. Also the entry points the
 * fuzzer drives: parse from memory, report bad lines as "NAME:LINE: reason". NULL only when
 * memory runs out. */
typedef struct zt_feed_data zt_feed_data;
/* Tor exit list and/or plain IP/CIDR list (one parser accepts both, line by line). */
zt_feed_data *zt_feeds_parse_list_mem(const char *name, const void *data, size_t n, zt_buf *report);
/* Leaked pairs, "user:SHA1HEX" per line. */
zt_feed_data *zt_feeds_parse_leaked_mem(const char *name, const void *data, size_t n,
                                        zt_buf *report);
size_t zt_feed_data_count(const zt_feed_data *d); /* blocks or pairs kept */
size_t zt_feed_data_bad_lines(const zt_feed_data *d);
/* Does a parsed list hold this address (IPv4-mapped IPv6 as IPv4)? Linear; for tests/fuzzing. */
bool zt_feed_data_has_ip(const zt_feed_data *d, const struct sockaddr *ip);
/* Is (user, sha1) in a parsed leaked-pairs file? Same rules as zt_feeds_leaked. */
bool zt_feed_data_has_pair(const zt_feed_data *d, const char *user_email,
                           const unsigned char sha1[20]);
void zt_feed_data_unref(zt_feed_data *d);

#endif
