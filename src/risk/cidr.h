/* A set of IPv4 and IPv6 CIDR blocks, each carrying a small value (e.g. which feed file it came
 * from), answering "which most specific block holds this address?" in one binary search.
 * Built once, then frozen and read-only: lookups take no lock and allocate nothing. It never
 * reads files; parsing of feed lines lives in feeds.c. */
#ifndef ZT_RISK_CIDR_H
#define ZT_RISK_CIDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "lib/net.h"

/* Most blocks one set accepts; adding past it is -E2BIG (feeds are outside input). */
#define ZT_CIDRSET_MAX_BLOCKS (16u * 1024u * 1024u)

typedef struct zt_cidrset zt_cidrset;

zt_cidrset *zt_cidrset_new(void);
void zt_cidrset_free(zt_cidrset *s);
/* Add one block before zt_cidrset_freeze. The same block added twice keeps the value added
 * first. 0, -ENOMEM, -E2BIG, -EINVAL (bad family/prefix, or already frozen). */
int zt_cidrset_add(zt_cidrset *s, const zt_cidr *c, uint16_t value);
/* Flatten the blocks into sorted disjoint ranges; afterwards only lookups. 0 or -ENOMEM. */
int zt_cidrset_freeze(zt_cidrset *s);
/* Blocks added (not the flattened range count). */
size_t zt_cidrset_count(const zt_cidrset *s);

/* Longest-prefix match on a frozen set. IPv4-mapped IPv6 addresses (::ffff:a.b.c.d) are looked
 * up as IPv4. False when nothing matches, the set is NULL/not frozen, or sa is not AF_INET(6). */
bool zt_cidrset_lookup(const zt_cidrset *s, const struct sockaddr *sa, uint16_t *value);
/* Same on raw bytes: family AF_INET (4 bytes at addr) or AF_INET6 (16 bytes). */
bool zt_cidrset_lookup_addr(const zt_cidrset *s, int family, const uint8_t *addr, uint16_t *value);

#endif
