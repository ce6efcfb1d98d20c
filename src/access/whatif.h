/* "What if": simulate one sign-in against the compiled Conditional Access policies of a config
 * and explain the outcome policy by policy (Entra's What If tool, specs.md §2.8). One module for
 * every front: `ztgate whatif` and `ztgate policy test` (src/cli) and the console's what-if form
 * (src/console). The decision is zt_policy_eval over a compiled set — the console gives the
 * gateway's own, the CLI compiles the same file — so the answer is what the gateway enforces.
 * It only reads: the store is used for user look-ups and nothing is written to it. */
#ifndef ZT_ACCESS_WHATIF_H
#define ZT_ACCESS_WHATIF_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>

#include "core/config.h"
#include "policy/policy.h"
#include "store/store.h"

#define ZT_WHATIF_GROUPS_MAX 1024 /* groups of one simulated user (store or --groups) */

/* The config being questioned, its compiled policies and its store. The gateway's console gives
 * its running generation (config, compiled set) and store; the CLI loads a file and opens the
 * store on first need through open_store. */
typedef struct zt_whatif_env {
    const zt_config *cfg;
    const zt_policy_set *set;
    zt_store *st;       /* NULL: no users (every look-up is "not found") */
    bool store_missing; /* the CLI's: no database in state_dir */
    /* Called before a store look-up (nullable): 0 with st set or left NULL, or a negative
     * errno with the reason in err. */
    int (*open_store)(struct zt_whatif_env *env, char *err, size_t errlen);
} zt_whatif_env;

/* One simulated request. Owns the group names; in.* points into the struct itself, so it must
 * not be copied after zt_whatif_user/zt_whatif_groups filled it. */
typedef struct zt_whatif {
    zt_policy_input in;
    const zt_app_cfg *app;
    bool hypothetical; /* groups given by hand, not read from the store */
    bool disabled;     /* the store says the account is disabled */
    char email[ZT_STORE_EMAIL_MAX + 1];
    char user_id[ZT_STORE_ID_LEN + 1];
    char **groups;
    size_t n_groups;
    struct sockaddr_storage ip;
    bool has_ip;
    unsigned char passkey_aaguid[16]; /* in.passkey_aaguid points here when one was given */
} zt_whatif;

/* Defaults as in Entra's What If: every condition "none", a browser, platform unknown, no
 * device, signed in just now without MFA, at `now`. */
void zt_whatif_init(zt_whatif *w, int64_t now);
void zt_whatif_dispose(zt_whatif *w);

/* Look the user up in the store: id and groups. -ENOENT when absent (message in err), other
 * negative codes for store failures. */
int zt_whatif_user(zt_whatif_env *env, zt_whatif *w, const char *email, char *err, size_t errlen);
/* A hypothetical user: this email (may be NULL) and these groups. 0 or -E2BIG/-ENOMEM. */
int zt_whatif_groups(zt_whatif *w, const char *email, const char *const *groups, size_t n);
/* The same from "a,b" (empty string: a user in no group; empty names are skipped). */
int zt_whatif_groups_list(zt_whatif *w, const char *email, const char *list);
/* The app by name; false when the config has no such app. */
bool zt_whatif_app(const zt_whatif_env *env, zt_whatif *w, const char *name);

/* Word and value parsers shared by the flags and the test file; false on bad input. */
bool zt_whatif_parse_risk(const char *s, zt_risk *out);
bool zt_whatif_parse_platform(const char *s, zt_platform *out);
bool zt_whatif_parse_client(const char *s, zt_client_type *out);
bool zt_whatif_parse_device(const char *s, zt_whatif *w); /* compliant|noncompliant|unknown */
bool zt_whatif_parse_ip(const char *s, zt_whatif *w);
bool zt_whatif_parse_country(const char *s, zt_whatif *w);
/* The AAGUID (8-4-4-4-12) of the passkey the session was proven with: a passkey session, so
 * MFA and phishing-resistant too (call after zt_whatif_set_session). */
bool zt_whatif_parse_passkey_aaguid(const char *s, zt_whatif *w);
/* RFC 3339 date-time ("2026-11-24T09:00:00+09:00", "…Z", optional fraction) to Unix seconds. */
bool zt_whatif_parse_time(const char *s, int64_t *out);
/* "90s", "15m", "8h", "7d" to seconds. */
bool zt_whatif_parse_duration(const char *s, int64_t *out);
/* Sign-in age and MFA: applied after `now` is final. */
void zt_whatif_set_session(zt_whatif *w, int64_t auth_age_s, bool mfa, bool phishing_resistant);

/* The decision and the per-policy verdicts (misses: zt_policy_count entries). */
typedef struct zt_whatif_answer {
    zt_policy_result res;
    zt_policy_miss *misses;
    /* The reference evaluator (policy/reference.h) asked too: a disagreement is an engine bug
     * the front-end reports ("please report this"), not a verdict to trust. */
    bool ref_disagrees;
    zt_outcome ref_outcome;
} zt_whatif_answer;

/* 0, or -ENOMEM. */
int zt_whatif_eval(const zt_whatif_env *env, const zt_whatif *w, zt_whatif_answer *ans);
void zt_whatif_answer_dispose(zt_whatif_answer *ans);

/* "allow", "block", "mfa", …, "reauth": the word `policy test` compares `expect:` with. */
const char *zt_whatif_verdict(const zt_policy_result *res);
/* The explanation as text, each line starting with indent. */
void zt_whatif_print(const zt_whatif_env *env, const zt_whatif *w, const zt_whatif_answer *ans,
                     const char *indent, FILE *f);
/* The same as a JSON object; new reference, NULL on out of memory. */
json_t *zt_whatif_json(const zt_whatif_env *env, const zt_whatif *w, const zt_whatif_answer *ans);
/* "8h", "every_time", "-" (none) into out. */
void zt_whatif_freq(int64_t s, char out[24]);

#endif
