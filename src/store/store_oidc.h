/* Store records of the OpenID Connect provider (src/idp), schema 10 onwards: grants, one per
 * authorization (client, user, the ztgate session it came from, what was authenticated), the
 * authorization codes and tokens issued under them, and the jti replay cache of client
 * assertions. Included by store/store.h; the error codes and threading rules there apply.
 *
 * Secrets are never stored: a code, an access token or a refresh token is 256 CSPRNG bits and
 * the row keeps its SHA-256 (a fast hash is enough for 256 random bits, as for sessions).
 *
 * A grant is the refresh-token family too: rotation keeps the grant and replaces the token;
 * presenting a code twice, or a refresh token already rotated, revokes the grant, and every
 * token of a revoked grant is dead. A grant whose ztgate session ended (logout, revocation,
 * disabled user, expiry) is ended by zt_store_oidc_end_orphans, which hands it to the caller
 * for back-channel logout. A deleted user's grants end the same way (their sessions went
 * with them) and are swept a day later. */
#ifndef ZT_STORE_STORE_OIDC_H
#define ZT_STORE_STORE_OIDC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct zt_store zt_store;

#define ZT_STORE_OIDC_HASH_LEN 32 /* SHA-256 of a code or token */
#define ZT_STORE_OIDC_ID_LEN 32   /* grant id: 16 random bytes, lowercase hex */
#define ZT_STORE_OIDC_CLIENT_MAX 255
#define ZT_STORE_OIDC_APP_MAX 127
#define ZT_STORE_OIDC_SID_MAX 64
#define ZT_STORE_OIDC_SCOPE_MAX 511
#define ZT_STORE_OIDC_NONCE_MAX 511
#define ZT_STORE_OIDC_ACR_MAX 63
#define ZT_STORE_OIDC_URI_MAX 2047
#define ZT_STORE_OIDC_PKCE_MAX 128 /* S256 challenge: 43 characters */
#define ZT_STORE_OIDC_JTI_MAX 255

typedef enum zt_store_oidc_kind {
    ZT_STORE_OIDC_ACCESS = 0,
    ZT_STORE_OIDC_REFRESH = 1,
    ZT_STORE_OIDC_ID_TOKEN = 2, /* kept to recognise an id_token_hint at logout, never bearer */
} zt_store_oidc_kind;

typedef struct zt_store_oidc_grant {
    char id[ZT_STORE_OIDC_ID_LEN + 1];
    char client_id[ZT_STORE_OIDC_CLIENT_MAX + 1];
    char app[ZT_STORE_OIDC_APP_MAX + 1];
    char user_id[32 + 1];
    char session_hash[64 + 1]; /* the ztgate session it was authorized in */
    char sid[ZT_STORE_OIDC_SID_MAX + 1];
    char scope[ZT_STORE_OIDC_SCOPE_MAX + 1];
    char nonce[ZT_STORE_OIDC_NONCE_MAX + 1]; /* "" = none sent */
    char acr[ZT_STORE_OIDC_ACR_MAX + 1];
    unsigned amr;       /* ZT_AMR_* bits of the session */
    int64_t auth_time;  /* the session's sign-in */
    int64_t created_at; /* the authorization */
    int64_t expires_at; /* end of the refresh-token family (absolute) */
    int64_t revoked_at; /* 0 = live */
    int64_t ended_at;   /* its session ended: back-channel logout handed out */
    bool replayed;      /* code replay revoked it */
} zt_store_oidc_grant;

typedef struct zt_store_oidc_code {
    char grant_id[ZT_STORE_OIDC_ID_LEN + 1];
    char redirect_uri[ZT_STORE_OIDC_URI_MAX + 1];
    char code_challenge[ZT_STORE_OIDC_PKCE_MAX + 1]; /* S256; "" = none sent */
    int64_t expires_at;
} zt_store_oidc_code;

/* A new grant (g->id set by the caller, random). */
int zt_store_oidc_grant_add(zt_store *st, const zt_store_oidc_grant *g);
int zt_store_oidc_grant_get(zt_store *st, const char *id, zt_store_oidc_grant *out);
/* Revoke a grant (and so every token under it). 0 also when it was revoked already. */
int zt_store_oidc_grant_revoke(zt_store *st, const char *id, int64_t now);

int zt_store_oidc_code_add(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                           const zt_store_oidc_code *c);
/* A new grant and its first code in one transaction (one commit per authorize): both or
 * neither. c->grant_id must be g->id. */
int zt_store_oidc_grant_code_add(zt_store *st, const zt_store_oidc_grant *g,
                                 const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                                 const zt_store_oidc_code *c);
/* Take a code, once: 0 with the code and its grant. -ENOENT unknown or expired; -EALREADY the
 * code was taken before: its grant is revoked now (RFC 6749 4.1.2), *grant_out says which;
 * -ECANCELED its grant was revoked or its ztgate session has ended. */
int zt_store_oidc_code_take(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                            int64_t now, zt_store_oidc_code *code_out,
                            zt_store_oidc_grant *grant_out);

int zt_store_oidc_token_add(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                            const char *grant_id, zt_store_oidc_kind kind, int64_t now,
                            int64_t expires_at);
/* An active token (unexpired, not rotated or revoked, its grant live): 0 with its kind, expiry
 * and grant; -ENOENT otherwise. */
/* Tokens of one grant issued together (access, refresh, ID token of one answer), in one
 * transaction: all or none. */
typedef struct zt_store_oidc_new_token {
    unsigned char hash[ZT_STORE_OIDC_HASH_LEN];
    zt_store_oidc_kind kind;
    int64_t expires_at;
} zt_store_oidc_new_token;
#define ZT_STORE_OIDC_BATCH_MAX 4
int zt_store_oidc_tokens_add(zt_store *st, const char *grant_id, int64_t now,
                             const zt_store_oidc_new_token *t, size_t n);
int zt_store_oidc_token_get(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                            int64_t now, zt_store_oidc_kind *kind_out, int64_t *iat_out,
                            int64_t *exp_out, zt_store_oidc_grant *grant_out);
/* The grant an ID token we issued belongs to, whatever the state of either (an expired ID
 * token is a good id_token_hint at logout). -ENOENT: not one of ours. */
int zt_store_oidc_id_token_find(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                                zt_store_oidc_grant *grant_out);
/* Rotate a refresh token: the old one is marked rotated and new_hash stored with new_exp (at
 * most the grant's expiry: the family's lifetime is absolute), in one transaction. -ENOENT unknown,
 * expired or revoked; -EALREADY it was rotated before (reuse): the grant is revoked now; -ECANCELED
 * the grant's ztgate session ended or its user is disabled: the grant is revoked now. grant_out is
 * filled on 0 and on those refusals. */
int zt_store_oidc_refresh_rotate(zt_store *st, const unsigned char old_hash[ZT_STORE_OIDC_HASH_LEN],
                                 const unsigned char new_hash[ZT_STORE_OIDC_HASH_LEN], int64_t now,
                                 int64_t new_exp, zt_store_oidc_grant *grant_out);
/* RFC 7009 for client_id: a refresh token revokes its grant, an access token itself. 0 also for
 * an unknown token or one of another client (nothing changes then). */
int zt_store_oidc_token_revoke(zt_store *st, const unsigned char hash[ZT_STORE_OIDC_HASH_LEN],
                               const char *client_id, int64_t now);

/* Record a client assertion's jti until expires_at. -EALREADY: seen before (a replay). */
int zt_store_oidc_jti_use(zt_store *st, const char *client_id, const char *jti, int64_t expires_at,
                          int64_t now);

/* Grants not yet ended whose ztgate session is gone, expired, or whose user is disabled or
 * revoked: each is marked ended and revoked, then handed to cb (after the transaction). */
typedef int (*zt_store_oidc_grant_cb)(void *ctx, const zt_store_oidc_grant *g);
int zt_store_oidc_end_orphans(zt_store *st, int64_t now, zt_store_oidc_grant_cb cb, void *ctx,
                              uint64_t *n_out);
/* Delete expired codes, tokens and jtis, and grants expired or ended a day ago. */
int zt_store_oidc_sweep(zt_store *st, int64_t now, uint64_t *n_out);

#endif
