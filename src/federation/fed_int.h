/* What signin.c and upstream.c share: the runtime's caches and pending sign-ins. Private to
 * src/federation. */
#ifndef ZT_FEDERATION_FED_INT_H
#define ZT_FEDERATION_FED_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "federation/federation.h"
#include "identity/jws.h"

#define FED_RAND_LEN 43           /* 32 random bytes, base64url */
#define FED_PENDING_MAX 10000     /* sign-ins started and not yet back */
#define FED_PENDING_PER_SOURCE 32 /* ... from one client address */
#define FED_PENDING_TTL_S 600     /* a sign-in at the provider may take this long */
#define FED_METADATA_TTL_S 3600   /* discovery documents are read again after this */
#define FED_JWKS_REFRESH_S 60     /* an unknown kid refetches the JWKS at most this often */
#define FED_HTTP_TIMEOUT_MS 5000
#define FED_NOTES_MAX 10000 /* sessions remembered for logout */
#define FED_HINT_MAX 8192   /* the longest ID token kept as id_token_hint */
#define FED_RD_MAX 2048
#define FED_REDIRECT_MAX 512
#define FED_ID_TOKEN_MAX ZT_JWS_MAX_TOKEN

/* A sign-in sent to a provider, waiting for its answer at the callback. */
typedef struct fed_pending {
    char state[FED_RAND_LEN + 1];
    char nonce[FED_RAND_LEN + 1];
    char verifier[FED_RAND_LEN + 1]; /* PKCE code_verifier */
    char provider[ZT_FED_NAME_MAX + 1];
    char rd[FED_RD_MAX + 1];
    char redirect_uri[FED_REDIRECT_MAX + 1];
    char source[46]; /* the client address that started it */
    int64_t created;
} fed_pending;

void fed_random(char out[FED_RAND_LEN + 1]);
/* 0 or -ENOMEM. Never refuses for room: an address with FED_PENDING_PER_SOURCE pending loses
 * its oldest, a full table its oldest overall, so a flood of starts from a few addresses cannot
 * lock everybody else out of upstream sign-in. */
int fed_pending_put(zt_federation *f, const fed_pending *p, int64_t now);
/* Removes and returns the pending sign-in of state (once); false when unknown or expired. */
bool fed_pending_take(zt_federation *f, const char *state, fed_pending *out, int64_t now);

/* Blocking (the libuv pool): the provider's endpoints, from the cache or its discovery
 * document. 0 or a negative errno with the reason in err. */
int fed_metadata(zt_federation *f, const zt_oidc_provider_cfg *p, int64_t now, zt_fed_metadata *out,
                 char *err, size_t errlen);
/* Non-blocking: the endpoints if discovery has been read (and is not stale). */
bool fed_metadata_cached(zt_federation *f, const zt_oidc_provider_cfg *p, zt_fed_metadata *out);
/* Blocking: verify token's signature with the provider's JWKS (fetched, cached; an unknown kid
 * fetches it again at most every FED_JWKS_REFRESH_S). */
zt_jws_status fed_verify(zt_federation *f, const zt_oidc_provider_cfg *p, const zt_fed_metadata *m,
                         const char *token, size_t len, zt_jws_token_kind kind, int64_t now,
                         char **payload, size_t *n, const char **why);

/* A session opened through a provider: remembered for RP-initiated and back-channel logout. */
typedef struct fed_note {
    char session_hash[65];
    char user_id[33];
    char provider[ZT_FED_NAME_MAX + 1];
    char sub[ZT_FED_SUB_MAX + 1];
    char sid[ZT_FED_CLAIM_MAX + 1];
    char *id_token; /* the id_token_hint for RP-initiated logout */
} fed_note;
void fed_note_add(zt_federation *f, const char *hash, const char *user_id, const char *provider,
                  const char *sub, const char *sid, const char *id_token);
/* Removes the note of hash or, when none, the newest of user_id (a second factor has replaced
 * the session since); out gets it (the caller frees out->id_token). */
bool fed_note_take(zt_federation *f, const char *hash, const char *user_id, fed_note *out);
/* Removes the notes of (provider, sid); their user ids go to cb. Returns how many. */
size_t fed_note_take_sid(zt_federation *f, const char *provider, const char *sid,
                         void (*cb)(void *ctx, const char *user_id), void *ctx);

/* A logout token's jti seen before (within FED_JTI_TTL_S): a replay. Otherwise it is recorded
 * and false is returned. */
#define FED_JTI_MAX 4096
#define FED_JTI_TTL_S 600
bool fed_jti_replayed(zt_federation *f, const char *provider, const char *jti, int64_t now);

/* private_key_jwt: the provider's key directory, opened (created) at first use and kept. NULL
 * with the reason in err. */
struct zt_keys;
struct zt_keys *fed_client_keys(zt_federation *f, const zt_oidc_provider_cfg *p, char *err,
                                size_t errlen);
/* GET /.ztgate/upstream/jwks/NAME: the public keys to register at the provider (logout.c). */
struct zt_local_req;
void zt_fed_jwks(zt_federation *f, struct zt_local_req *r);

struct zt_local_req;
/* POST /.ztgate/upstream/backchannel/NAME (logout.c). */
void zt_fed_backchannel(zt_federation *f, struct zt_local_req *r);
#endif
