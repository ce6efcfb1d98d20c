/* Per-address connection shares: how many client connections each address holds, counted over
 * every worker loop (SO_REUSEPORT spreads one address's connections over all of them), so one
 * address cannot take the whole max_connections and starve everybody else. It never keeps an
 * entry for an address without a connection, so its memory is bounded by the connection cap. */
#ifndef ZT_PROXY_SHARE_H
#define ZT_PROXY_SHARE_H

#include <stdbool.h>
#include <sys/socket.h>

typedef struct zt_conn_share zt_conn_share;

zt_conn_share *zt_conn_share_new(void);
void zt_conn_share_free(zt_conn_share *s);

/* Count one more connection from addr unless its address already holds `limit`; true when it
 * was counted (then zt_conn_share_release must follow when the connection ends). IPv4 (also
 * IPv4-mapped) addresses count one by one, IPv6 addresses by their /64: one host usually owns
 * a whole /64. Thread-safe. */
bool zt_conn_share_take(zt_conn_share *s, const struct sockaddr *addr, unsigned limit);
void zt_conn_share_release(zt_conn_share *s, const struct sockaddr *addr);
/* Connections counted for addr's address (tests, metrics). */
unsigned zt_conn_share_count(zt_conn_share *s, const struct sockaddr *addr);

/* The share in effect: `configured`, or when 0 (the default) a quarter of max_connections but
 * never fewer than 64 (nor more than max_connections): a small cap stays usable from one
 * address, a large one cannot be filled by one. */
unsigned zt_conn_share_limit(unsigned max_connections, unsigned configured);

#endif
