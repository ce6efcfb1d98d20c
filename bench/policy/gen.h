/* Policy benchmark generator: one deterministic universe (users, groups, apps, named locations),
 * one deterministic set of requests, and per size a random set of Conditional Access policies,
 * written twice: as ztgate YAML (`locations:` + `policies:`) and as the equivalent Cedar policy
 * set. Requests are written as JSON for the Cedar side (principal, resource, context, entity
 * slice). Same seed, same files, on every machine. */
#ifndef ZT_BENCH_POLICY_GEN_H
#define ZT_BENCH_POLICY_GEN_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "policy/policy.h"

#define PB_USERS 1000
#define PB_GROUPS 50
#define PB_APPS 50
#define PB_USER_GROUPS_MAX 3

typedef struct pb_user {
    char email[32];
    int groups[PB_USER_GROUPS_MAX];
    const char *group_names[PB_USER_GROUPS_MAX]; /* input form for zt_policy_input */
    int n_groups;
} pb_user;

typedef struct pb_app {
    char name[16];
    int sens; /* zt_sensitivity */
} pb_app;

typedef struct pb_req {
    int user, app;
    struct sockaddr_storage addr;
    char ip[48]; /* text form, for Cedar's ip() */
    zt_policy_input in;
} pb_req;

typedef struct pb_world {
    pb_user users[PB_USERS];
    char group_names[PB_GROUPS][8];
    pb_app apps[PB_APPS];
    pb_req *reqs;
    size_t n_reqs;
} pb_world;

/* Build users, groups, apps and n_reqs requests (deterministic). */
void pb_world_init(pb_world *w, size_t n_reqs, uint64_t seed);
void pb_world_free(pb_world *w);

/* The whole config for n policies: gateway, apps, locations, policies. Caller frees. Also writes
 * the Cedar translation of the same policies to cedar (may be NULL). Counts by kind go to
 * stats: [0] on, [1] report_only, [2] off, [3] block, [4] controls. */
char *pb_config(const pb_world *w, size_t n_policies, uint64_t seed, FILE *cedar, size_t stats[5]);

/* Requests as a JSON array for the Cedar side (principal, resource, context, entity slice). */
void pb_requests_json(const pb_world *w, FILE *out);

#endif
