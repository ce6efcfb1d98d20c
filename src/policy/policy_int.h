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
    const unsigned char (*aaguids)[16]; /* authentication strength; n_aaguids 0 = none */
    uint32_t n_aaguids;
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

/* Bitset rows are whole vectors of two words (16-byte aligned, as the arena allocates), so the
 * passes over them use SIMD where the target has it; the padding words stay zero. */
typedef uint64_t zt_vec __attribute__((vector_size(16)));
#define ZT_VEC_WORDS 2

/* A set of policy indices: a dense bitset of n_vecs vectors when w is set, otherwise n sorted
 * indices. Sets with at least one member per 64 policies are dense (at most twice the memory of
 * the list, and OR-ed a word at a time). */
typedef struct zt_pbits {
    uint64_t *w;
    uint32_t *idx;
    uint32_t n;
} zt_pbits;

/* One user or group name (ASCII case-insensitive: "Staff" and "staff" are one entry) and the
 * policies (state on or report-only) that include and that exclude it. */
typedef struct zt_name_ent {
    uint64_t hash;
    const char *name;
    zt_pbits in, out;
} zt_name_ent;

/* Names by hash, open addressing; slot holds an entry index + 1 (0 = empty). */
typedef struct zt_name_index {
    uint32_t *slot;
    size_t n_slots; /* a power of two, or 0 */
    zt_name_ent *ent;
    size_t n_ent;
} zt_name_index;

/* Condition bitsets: for each value a request can carry, the policies whose condition passes
 * with it (unset conditions pass). Values out of range have their own row (only unset passes). */
enum {
    ZT_C_USER_RISK = 0,    /* zt_risk 0..3, 4 = other */
    ZT_C_SIGN_IN_RISK = 5, /* likewise */
    ZT_C_ENROLLED = 10,    /* false, true */
    ZT_C_COMPLIANT = 12,   /* false, true */
    ZT_C_DEVICE_RISK = 14, /* zt_risk 0..3, 4 = other */
    ZT_C_PLATFORM = 19,    /* zt_platform 0..6, 7 = other */
    ZT_C_ANONYMOUS = 27,   /* false, true */
    ZT_C_CLIENT = 29,      /* zt_client_type 0..1, 2 = other */
    ZT_C_COUNT = 32,
};

#define ZT_PWORDS_MAX ((ZT_POLICY_MAX + 63) / 64)
#define ZT_PVECS_MAX ((ZT_PWORDS_MAX + ZT_VEC_WORDS - 1) / ZT_VEC_WORDS)

/* What an applicable policy contributes, 16 bytes so the walk over applicable policies stays in
 * cache and branch-free. unmet holds, for each set of satisfied controls sat (0..15), the
 * controls left unmet in bits 4 * sat .. 4 * sat + 3 (sat 0: the policy's controls). */
typedef struct zt_effect {
    uint64_t unmet;
    uint32_t freq_s; /* UINT32_MAX = none (the config allows at most 366 days) */
    uint8_t restrict_flags, report_only, block;
    uint8_t strength; /* has an authentication strength: see zt_policy_sat_for */
} zt_effect;

/* A time condition, likewise compact; tz indexes zt_policy_set.tz. */
typedef struct zt_ptime {
    uint16_t from_min, to_min, tz;
    uint8_t days;
    bool has_window;
} zt_ptime;

struct zt_policy_set {
    zt_arena arena; /* everything below except the growable trie and the time zones */
    zt_cpol *pol;
    size_t n;
    zt_app_slot *apps; /* open addressing, n_app_slots a power of two */
    size_t n_app_slots;
    /* Bitsets over policy indices (n_vecs vectors each): a policy applies to a request when it
     * is live, its assignments include and do not exclude the request, every condition bitset
     * for the request's values has it, and (when it is in slow) its location and time tests
     * pass. */
    size_t n_words, n_vecs;
    /* By request sensitivity (0..3, 4 = other): include = apps "all" or that sensitivity;
     * exclude = apps "all" or that sensitivity, or users "all". */
    uint64_t *inc_base[ZT_SENS_RESTRICTED + 2], *exc_base[ZT_SENS_RESTRICTED + 2];
    zt_pbits *app_in, *app_out; /* per app index */
    uint64_t *user_all_in;
    zt_name_index emails, groups;
    uint64_t *cond[ZT_C_COUNT];
    /* Location conditions: a policy passes when it has none (loc_free), or when its include
     * (all, or a location the request is in) holds and its exclude does not. */
    uint64_t *loc_free, *loc_all_in, *loc_all_out;
    zt_pbits *loc_in, *loc_out; /* per location id ("trusted" expanded) */
    size_t n_locs;
    uint64_t *timed; /* has a time condition: tested one by one */
    zt_effect *eff;  /* per policy */
    zt_ptime *ptime; /* per policy (set where timed) */
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
/* What the request satisfies for policy p: sat, less phishing_resistant_mfa when p has an
 * authentication strength the session's passkey is not listed in. */
unsigned zt_policy_sat_for(const zt_cpol *p, const zt_policy_input *in, unsigned sat);
/* True when sign_in_frequency freq_s (0 = every_time) asks for a new sign-in. */
bool zt_policy_reauth(const zt_policy_input *in, int64_t freq_s);
/* Lowest set bit of unmet, in the fixed order (the enum order of zt_control). */
zt_control zt_policy_first(unsigned unmet);
/* The entry for name (hash h = zt_policy_hash(name)), or NULL. */
const zt_name_ent *zt_policy_name_find(const zt_name_index *ix, uint64_t h, const char *name);

#endif
