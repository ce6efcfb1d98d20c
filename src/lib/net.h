/* Addresses: "host:port" listen addresses, CIDR blocks, printable IPs. Numeric only: names are
 * resolved by the caller at config load, never on a request path. */
#ifndef ZT_LIB_NET_H
#define ZT_LIB_NET_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/socket.h>

typedef struct zt_cidr {
    int family; /* AF_INET or AF_INET6 */
    uint8_t addr[16];
    uint8_t prefix;
} zt_cidr;

#define ZT_IP_STRLEN 46

/* "10.0.0.0/8", "2001:db8::/32", or a single address (full prefix). Host bits must be zero. */
bool zt_cidr_parse(const char *s, zt_cidr *out);
/* The same from n bytes (no NUL needed). NULL on success, else a fixed reason for an error
 * line ("host bits set after the prefix", "prefix length out of range", ...). */
const char *zt_cidr_parse_n(const char *s, size_t n, zt_cidr *out);
/* IPv4-mapped IPv6 peers match IPv4 blocks. */
bool zt_cidr_contains(const zt_cidr *c, const struct sockaddr *sa);
/* "127.0.0.1:8080", "[::1]:8443", "*:80" (any IPv4). Port required. */
bool zt_addr_parse(const char *s, struct sockaddr_storage *out);
/* Printable IP (no port) into out[ZT_IP_STRLEN]. */
void zt_sockaddr_ip(const struct sockaddr *sa, char *out);
int zt_sockaddr_port(const struct sockaddr *sa);

/* An absolute http(s) URL a config may name (an issuer, a redirect or logout URI): https, or
 * http only on a loopback host (127.x literal, localhost, [::1]); a host and no user name; no
 * spaces, controls, backslashes or fragment; a query only when allow_query; at most max_len
 * bytes (0 = any). Returns why not, or NULL. */
const char *zt_url_problem(const char *s, size_t max_len, bool allow_query);

#endif
