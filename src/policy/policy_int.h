/* Policy engine internals: the compiled, read-only form shared by compile.c (builds it) and
 * eval.c (reads it). Nothing outside src/policy includes this. */
#ifndef ZT_POLICY_POLICY_INT_H
#define ZT_POLICY_POLICY_INT_H

#include <stdbool.h>
#include <stdint.h>

#include "core/config.h"
#include "lib/arena.h"
#include "policy/policy.h"
#include "policy/tz.h"

#define ZT_LOC_MAX 256 /* named locations; matches config.c's limit */
#define ZT_LOC_WORDS (ZT_LOC_MAX / 64)
#define ZT_COUNTRIES (26 * 26)
#define ZT_GROUP_HASHES 64 /* input group hashes kept on the stack; more are hashed as needed */

/* A set of location ids. */
typedef struct zt_locset {
    uint64_t w[ZT_LOC_WORDS];
} zt_locset;

/* Names (emails, groups) by ASCII-lowercase FNV-1a hash, sorted by hash; equal hashes are
 * confirmed with a case-insensitive compare, so a collision never grants or excuses. */
typedef struct zt_nameset {
    const uint64_t *hash;
    const char *const *name;
    size_t n;
} zt_nameset;

typedef struct zt_cpol {
    const char *name;
    zt_policy_state state;
    /* assignments */
    bool users_all_in, users_all_out;
    zt_nameset email_in, email_out, group_in, group_out;
    bool apps_all_in, apps_all_out;
    unsigned sens_in, sens_out;       /* 1 << zt_sensitivity */
    const uint32_t *app_in, *app_out; /* app indices, sorted */
    size_t n_app_in, n_app_out;
    /* conditions: 0 masks and -1 tri-states mean "not set" */
    unsigned user_risk, sign_in_risk;
    int8_t enrolled, compliant;
    unsigned device_risk, platforms;
    bool has_loc, loc_all_in, loc_all_out;
    zt_locset loc_in, loc_out; /* "trusted" already expanded */
    int8_t anonymous_ip;
    unsigned clients;
    bool has_time, has_window;
    unsigned days; /* bit 0 = Monday; 0 = every day */
    uint16_t from_min, to_min;
    const zt_tz *tz;
    /* access controls */
    bool block, op_or;
    unsigned controls;
    int64_t freq_s; /* -1 = none */
    unsigned restrict_flags;
} zt_cpol;

/* Binary trie over address bits (IPv4 and IPv6 apart); a node where a block ends carries the
 * set of locations that list it. */
typedef struct zt_trie_node {
    uint32_t child[2]; /* 0 = none (the root is never a child) */
    int32_t set;       /* index into sets, -1 = none */
} zt_trie_node;

typedef struct zt_app_slot {
    uint64_t hash;
    const char *name; /* NULL = empty */
    uint32_t app;
} zt_app_slot;

struct zt_policy_set {
    zt_arena arena; /* everything below except the growable trie and the time zones */
    zt_cpol *pol;
    size_t n;
    /* candidates: policies (state on or report-only) that may include an app, by reason */
    zt_app_slot *apps; /* open addressing, n_app_slots a power of two */
    size_t n_app_slots;
    const uint32_t **by_app; /* per app index */
    size_t *n_by_app;
    const uint32_t *by_sens[ZT_SENS_RESTRICTED + 1];
    size_t n_by_sens[ZT_SENS_RESTRICTED + 1];
    const uint32_t *all;
    size_t n_all;
    /* locations */
    bool need_loc;
    zt_trie_node *nodes;
    size_t n_nodes, cap_nodes;
    uint32_t root4, root6;
    zt_locset *sets;
    size_t n_sets, cap_sets;
    zt_locset *country; /* ZT_COUNTRIES entries, or NULL when no location names countries */
    zt_tz *tz;          /* one per distinct time zone */
    size_t n_tz;
};

uint64_t zt_policy_hash(const char *s); /* ASCII-lowercase FNV-1a */
bool zt_policy_ieq(const char *a, const char *b);
/* Local day (0 = Monday) and minute of day of `now` in tz. */
void zt_policy_local(const zt_tz *tz, int64_t now, unsigned *wday, unsigned *minute);
/* The controls the request already satisfies (zt_control bits). */
unsigned zt_policy_satisfied(const zt_policy_input *in);
/* True when sign_in_frequency freq_s (0 = every_time) asks for a new sign-in. */
bool zt_policy_reauth(const zt_policy_input *in, int64_t freq_s);
/* Lowest set bit of unmet, in the fixed order (the enum order of zt_control). */
zt_control zt_policy_first(unsigned unmet);

#endif
