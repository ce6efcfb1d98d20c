/* Store records of the Zero Trust assessment (schema 15 onwards, src/assess): the questionnaire's
 * answers (what cannot be measured: one row per question key) and the history of kept runs (the
 * stage of every pillar at one time, so progress shows as a trend). Plus the few aggregate
 * counts the assessment measures that no other store call answers in one query (users with any
 * MFA and with a passkey). Included by store/store.h; the error codes and threading rules there
 * apply. Which keys and values mean something is decided by src/assess: the store only checks
 * their shape. */
#ifndef ZT_STORE_STORE_ASSESS_H
#define ZT_STORE_STORE_ASSESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_ASSESS_KEY_MAX 64      /* [a-z0-9_.]: "data.backups" */
#define ZT_STORE_ASSESS_VALUE_MAX 32    /* [a-z0-9_]: "tested" */
#define ZT_STORE_ASSESS_ACTOR_MAX 127   /* who answered or kept the run */
#define ZT_STORE_ASSESS_PILLARS 7       /* stages string length: one digit 0..3 per pillar */
#define ZT_STORE_ASSESS_HISTORY_MAX 500 /* kept runs: beyond it the oldest go */

typedef struct zt_store_assess_answer {
    char key[ZT_STORE_ASSESS_KEY_MAX + 1];
    char value[ZT_STORE_ASSESS_VALUE_MAX + 1];
    char actor[ZT_STORE_ASSESS_ACTOR_MAX + 1];
    int64_t updated_at;
} zt_store_assess_answer;

typedef struct zt_store_assess_run {
    int64_t id; /* set by the store */
    int64_t at;
    char stages[ZT_STORE_ASSESS_PILLARS + 1]; /* "1201300": pillar i's stage is stages[i]-'0' */
    char actor[ZT_STORE_ASSESS_ACTOR_MAX + 1];
} zt_store_assess_run;

/* Enabled users, and of them those with a second factor (TOTP or a passkey) and those with a
 * passkey (phishing-resistant). */
typedef struct zt_store_assess_mfa {
    uint64_t users, users_mfa, users_passkey;
} zt_store_assess_mfa;

typedef int (*zt_store_assess_answer_cb)(void *ctx, const zt_store_assess_answer *a);
typedef int (*zt_store_assess_run_cb)(void *ctx, const zt_store_assess_run *r);

/* Store (insert or replace) the answer to a->key. -EINVAL: a key, value or actor of the wrong
 * shape. */
int zt_store_assess_answer_set(zt_store *st, const zt_store_assess_answer *a);
/* Every answer, ordered by key. */
int zt_store_assess_answer_list(zt_store *st, zt_store_assess_answer_cb cb, void *ctx);
/* Keep one run (r->id is set). -EINVAL: stages not ZT_STORE_ASSESS_PILLARS digits 0..3. */
int zt_store_assess_run_add(zt_store *st, zt_store_assess_run *r);
/* The newest `limit` runs (0 = all kept), oldest first: the order of a trend. */
int zt_store_assess_run_list(zt_store *st, uint64_t limit, zt_store_assess_run_cb cb, void *ctx);
int zt_store_assess_mfa_counts(zt_store *st, zt_store_assess_mfa *out);

#endif
