/* Many gateways on one PostgreSQL database (docs/CLUSTER.md). Started by the gateway when
 * store.backend is postgresql; one thread with its own libpq connection:
 *
 * - change feed: LISTEN ztgate_change (the schema's triggers NOTIFY it on every change that
 *   cached decisions depend on, whoever writes); each notification bumps this node's
 *   revocation counter, so every session cache of the node reloads on its next request.
 *   LISTEN comes before the bump at every (re)connect, so no change falls between them; every
 *   store.resync_interval the sequence ztgate_change_seq is read and a move since the last read
 *   bumps too (a notification lost on the way is repaired within one interval).
 * - outage grace: every successful contact tells the sessions how long cached sessions may be
 *   served without another one (zt_sessions_set_contact); past that, they are refused.
 * - node registry (ztgate_nodes): upserted at every resync; a live node with another config
 *   hash is logged (a warning, once per change), two live processes with one node_name too
 *   (an error).
 * - leases (ztgate_leases) for run-once jobs: taken and renewed at every resync; the gateway's
 *   timers ask zt_cluster_job_mine before running a job.
 *
 * Never prints the connection string. Thread-safe: zt_cluster_job_mine from any thread. */
#ifndef ZT_CLUSTER_CLUSTER_H
#define ZT_CLUSTER_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_cluster zt_cluster;
typedef struct zt_sessions zt_sessions;
typedef struct zt_store zt_store;

/* The periodic jobs that must run on one node at a time (lease names in ztgate_leases). */
typedef enum zt_cluster_job {
    ZT_JOB_SESSION_SWEEP = 0, /* expired sessions and OIDC rows deleted */
    ZT_JOB_DEVICE_SWEEP,      /* silent agents, stale posture reports */
    ZT_JOB_LIFECYCLE_SWEEP,   /* expired accounts ended */
    ZT_JOB_IDP_SESSIONS,      /* OIDC/SAML relying parties told of ended sessions */
    ZT_JOB_LDAP_SYNC,         /* scheduled directory sync */
    ZT_JOB_COUNT
} zt_cluster_job;

typedef struct zt_cluster_cfg {
    const char *dsn;         /* copied; the copy is wiped at stop */
    const char *node_name;   /* NULL or "" = the host name */
    const char *config_path; /* its bytes are hashed (SHA-256) into the registry */
    zt_sessions *sessions;   /* counter to bump, contact to report; outlives the cluster */
    zt_store *store;         /* told when the database is reachable again; outlives it */
    uint64_t resync_ms;      /* store.resync_interval */
    uint64_t outage_grace_ms;
    uint64_t timeout_ms; /* store.timeout: connect and statement bound */
} zt_cluster_cfg;

/* Start the thread (it connects by itself, retrying with backoff). NULL with err set when the
 * thread or the config file cannot be had. */
zt_cluster *zt_cluster_start(const zt_cluster_cfg *cfg, char *err, size_t errlen);
/* Stop the thread, give up this node's leases (so another node takes them at once), free.
 * Accepts NULL. */
void zt_cluster_stop(zt_cluster *c);
/* After a reload: hash the config file again. */
void zt_cluster_config_reloaded(zt_cluster *c, const char *config_path);
/* Whether this node should run `job` now: it holds the job's lease. true when c is NULL
 * (a gateway alone runs everything). */
bool zt_cluster_job_mine(const zt_cluster *c, zt_cluster_job job);
/* The job's lease name ("session-sweep", ...). */
const char *zt_cluster_job_name(zt_cluster_job job);

#endif
