/* Private to src/cluster: the decisions of the cluster thread that need no database (rules.c),
 * kept apart so unit tests can check them. */
#ifndef ZT_CLUSTER_INT_H
#define ZT_CLUSTER_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ZT_CLUSTER_BACKOFF_MIN_MS 250
#define ZT_CLUSTER_BACKOFF_MAX_MS 10000
#define ZT_CLUSTER_LIVE_INTERVALS 3 /* a node seen within this many resyncs is live */
#define ZT_CLUSTER_LEASE_INTERVALS 3
#define ZT_CLUSTER_LEASE_MIN_MS 1000

/* The wait before the next connection attempt after one that failed (prev_ms 0: the first
 * failure): doubling from 250 ms up to 10 s. */
uint64_t zt_cluster_backoff_ms(uint64_t prev_ms);

/* Unix seconds from which cached sessions are refused after a successful contact at
 * contact_wall_ms: the next contact is due within one resync and may take up to the timeout,
 * and only then does the outage grace start to run. Rounded up to whole seconds (the session
 * caches compare seconds). */
int64_t zt_cluster_serve_until(int64_t contact_wall_ms, uint64_t resync_ms, uint64_t timeout_ms,
                               uint64_t grace_ms);

/* How long a lease is taken for: a few resyncs, so one missed renewal does not lose it. */
uint64_t zt_cluster_lease_ttl_ms(uint64_t resync_ms);

/* The window in which another node counts as live (for the config and name checks). */
uint64_t zt_cluster_live_window_ms(uint64_t resync_ms);

/* Another process writes under our node name when the row we wrote at the previous resync
 * now names another instance. prev_instance: the row's instance before our upsert (NULL: no
 * row); wrote_before: we upserted it at an earlier resync. */
bool zt_cluster_name_clash(const char *prev_instance, const char *mine, bool wrote_before);

/* The config check's report: `now` is the comma-separated list of live nodes whose config hash
 * differs ("" none), `last` the list reported before (updated). 1: warn about `now`; -1: the
 * mismatch is over (say so once); 0: nothing new to say. */
int zt_cluster_mismatch_update(char *last, size_t cap, const char *now);

#endif
