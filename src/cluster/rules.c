/* The cluster thread's decisions that need no database: backoff, the outage bound, lease and
 * liveness windows, and when a registry observation is worth a log line. */
#include <stdio.h>
#include <string.h>

#include "cluster/cluster_int.h"

uint64_t zt_cluster_backoff_ms(uint64_t prev_ms)
{
    if (prev_ms < ZT_CLUSTER_BACKOFF_MIN_MS)
        return ZT_CLUSTER_BACKOFF_MIN_MS;
    uint64_t next = prev_ms * 2;
    return next > ZT_CLUSTER_BACKOFF_MAX_MS ? ZT_CLUSTER_BACKOFF_MAX_MS : next;
}

int64_t zt_cluster_serve_until(int64_t contact_wall_ms, uint64_t resync_ms, uint64_t timeout_ms,
                               uint64_t grace_ms)
{
    int64_t until_ms = contact_wall_ms + (int64_t)(resync_ms + timeout_ms + grace_ms);
    return (until_ms + 999) / 1000;
}

uint64_t zt_cluster_lease_ttl_ms(uint64_t resync_ms)
{
    uint64_t ttl = resync_ms * ZT_CLUSTER_LEASE_INTERVALS;
    return ttl < ZT_CLUSTER_LEASE_MIN_MS ? ZT_CLUSTER_LEASE_MIN_MS : ttl;
}

uint64_t zt_cluster_live_window_ms(uint64_t resync_ms)
{
    return resync_ms * ZT_CLUSTER_LIVE_INTERVALS;
}

bool zt_cluster_name_clash(const char *prev_instance, const char *mine, bool wrote_before)
{
    /* Before our first write the row may be our own previous run's (a restart): no clash. */
    return wrote_before && prev_instance != NULL && strcmp(prev_instance, mine) != 0;
}

int zt_cluster_mismatch_update(char *last, size_t cap, const char *now)
{
    if (strcmp(last, now) == 0)
        return 0;
    bool was = last[0] != '\0';
    snprintf(last, cap, "%s", now);
    if (now[0] != '\0')
        return 1;
    return was ? -1 : 0;
}
