/* The process-wide runtime of upstream sign-in: each provider's discovery document and JWKS
 * (fetched on the libuv pool, cached, the JWKS refetched when a token names a kid it does not
 * hold: providers rotate keys), the sign-ins waiting for their callback, and the sessions opened
 * through a provider (for logout). Shared by every loop under one mutex; nothing here points
 * into a zt_config (the config generation may be freed while these live). */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "core/log.h"
#include "federation/fed_int.h"
#include "identity/keys.h"
#include "lib/buf.h"
#include "lib/secure.h"
#include "response/webhook.h"

#define FED_CACHE_MAX 64
#define FED_DOC_MAX (256 * 1024)

typedef struct fed_cache {
    char name[ZT_FED_NAME_MAX + 1];
    char issuer[ZT_FED_URL_MAX + 1];
    zt_fed_metadata meta;
    int64_t meta_at; /* 0: none */
    zt_jws_jwks *jwks;
    char jwks_uri[ZT_FED_URL_MAX + 1];
    int64_t jwks_at;
} fed_cache;

#define FED_KEYDIRS_MAX 64

typedef struct fed_keydir {
    char *dir;
    zt_keys *keys;
} fed_keydir;

struct zt_federation {
    pthread_mutex_t mu;
    fed_cache cache[FED_CACHE_MAX];
    size_t n_cache;
    fed_pending *pending;
    size_t n_pending, cap_pending;
    fed_note *notes;
    size_t n_notes, cap_notes;
    fed_keydir keydirs[FED_KEYDIRS_MAX];
    size_t n_keydirs;
    struct {
        unsigned char tag[32]; /* SHA-256 of provider NUL jti */
        int64_t at;
    } jtis[FED_JTI_MAX];
    size_t n_jtis, next_jti; /* a ring: the oldest is overwritten when full */
};

zt_federation *zt_federation_new(void)
{
    zt_federation *f = calloc(1, sizeof(*f));
    if (f != NULL && pthread_mutex_init(&f->mu, NULL) != 0) {
        free(f);
        return NULL;
    }
    return f;
}

void zt_federation_free(zt_federation *f)
{
    if (f == NULL)
        return;
    for (size_t i = 0; i < f->n_cache; i++)
        zt_jws_jwks_free(f->cache[i].jwks);
    for (size_t i = 0; i < f->n_notes; i++)
        free(f->notes[i].id_token);
    for (size_t i = 0; i < f->n_keydirs; i++) {
        zt_keys_free(f->keydirs[i].keys);
        free(f->keydirs[i].dir);
    }
    zt_wipe(f->pending, f->cap_pending * sizeof(*f->pending));
    free(f->pending);
    free(f->notes);
    pthread_mutex_destroy(&f->mu);
    free(f);
}

void fed_random(char out[FED_RAND_LEN + 1])
{
    unsigned char raw[32];
    zt_random(raw, sizeof(raw));
    sodium_bin2base64(out, FED_RAND_LEN + 1, raw, sizeof(raw),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    zt_wipe(raw, sizeof(raw));
}

/* ---- pending sign-ins ---- */

/* In creation order, so the expired ones are a prefix. */
static void drop_expired(zt_federation *f, int64_t now)
{
    size_t k = 0;
    while (k < f->n_pending && now - f->pending[k].created >= FED_PENDING_TTL_S)
        k++;
    if (k == 0)
        return;
    zt_wipe(f->pending, k * sizeof(f->pending[0]));
    memmove(&f->pending[0], &f->pending[k], (f->n_pending - k) * sizeof(f->pending[0]));
    f->n_pending -= k;
}

static void pending_remove_at(zt_federation *f, size_t i)
{
    zt_wipe(&f->pending[i], sizeof(f->pending[i]));
    memmove(&f->pending[i], &f->pending[i + 1], (f->n_pending - i - 1) * sizeof(f->pending[0]));
    f->n_pending--;
}

/* The table is in creation order: the first match is the oldest. */
static void make_room(zt_federation *f, const char *source)
{
    size_t mine = 0, oldest_mine = f->n_pending;
    for (size_t i = 0; i < f->n_pending; i++)
        if (strcmp(f->pending[i].source, source) == 0 && mine++ == 0)
            oldest_mine = i;
    if (mine >= FED_PENDING_PER_SOURCE)
        pending_remove_at(f, oldest_mine);
    else if (f->n_pending >= FED_PENDING_MAX)
        pending_remove_at(f, 0);
}

int fed_pending_put(zt_federation *f, const fed_pending *p, int64_t now)
{
    int rc = 0;
    pthread_mutex_lock(&f->mu);
    drop_expired(f, now);
    make_room(f, p->source);
    if (f->n_pending == f->cap_pending)
        rc = zt_array_grow(&f->pending, &f->cap_pending, sizeof(*f->pending), 64);
    if (rc == 0) {
        f->pending[f->n_pending] = *p;
        f->pending[f->n_pending++].created = now;
    }
    pthread_mutex_unlock(&f->mu);
    return rc;
}

bool fed_pending_take(zt_federation *f, const char *state, fed_pending *out, int64_t now)
{
    bool found = false;
    size_t n = strlen(state);
    if (n != FED_RAND_LEN)
        return false;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_pending && !found; i++) {
        if (!zt_ct_eq(f->pending[i].state, state, n))
            continue;
        found = now - f->pending[i].created < FED_PENDING_TTL_S;
        if (found)
            *out = f->pending[i];
        pending_remove_at(f, i);
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return found;
}

/* ---- discovery and JWKS ---- */

static fed_cache *cache_for(zt_federation *f, const zt_oidc_provider_cfg *p)
{
    for (size_t i = 0; i < f->n_cache; i++)
        if (strcmp(f->cache[i].name, p->name) == 0 && strcmp(f->cache[i].issuer, p->issuer) == 0)
            return &f->cache[i];
    if (f->n_cache == FED_CACHE_MAX) { /* providers renamed on reload: forget the oldest */
        zt_jws_jwks_free(f->cache[0].jwks);
        memmove(&f->cache[0], &f->cache[1], (FED_CACHE_MAX - 1) * sizeof(f->cache[0]));
        f->n_cache--;
    }
    fed_cache *c = &f->cache[f->n_cache++];
    memset(c, 0, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "%s", p->name);
    snprintf(c->issuer, sizeof(c->issuer), "%s", p->issuer);
    return c;
}

/* GET url; 0 with the body in out (NUL-terminated) on a 200. */
static int fetch(const zt_oidc_provider_cfg *p, const char *url, zt_buf *out, char *err,
                 size_t errlen)
{
    zt_buf_init(out, FED_DOC_MAX);
    int rc = zt_http_get_read(url, FED_HTTP_TIMEOUT_MS, p->ca_file, out);
    if (rc == 200 && zt_buf_cstr(out) == 0)
        return 0;
    snprintf(err, errlen, "GET %s: %s %d", url, rc < 0 ? "error" : "HTTP status", rc);
    zt_buf_dispose(out);
    return rc < 0 ? rc : -EPROTO;
}

bool fed_metadata_cached(zt_federation *f, const zt_oidc_provider_cfg *p, zt_fed_metadata *out)
{
    pthread_mutex_lock(&f->mu);
    fed_cache *c = cache_for(f, p);
    bool have = c->meta_at != 0;
    if (have)
        *out = c->meta;
    pthread_mutex_unlock(&f->mu);
    return have;
}

int fed_metadata(zt_federation *f, const zt_oidc_provider_cfg *p, int64_t now, zt_fed_metadata *out,
                 char *err, size_t errlen)
{
    pthread_mutex_lock(&f->mu);
    fed_cache *c = cache_for(f, p);
    bool fresh = c->meta_at != 0 && now - c->meta_at < FED_METADATA_TTL_S;
    if (fresh)
        *out = c->meta;
    pthread_mutex_unlock(&f->mu);
    if (fresh)
        return 0;
    char url[ZT_FED_URL_MAX + 64];
    snprintf(url, sizeof(url), "%s/.well-known/openid-configuration", p->issuer);
    zt_buf doc;
    int rc = fetch(p, url, &doc, err, errlen);
    if (rc != 0)
        return rc;
    const char *why = "";
    zt_fed_status st = zt_fed_discovery_parse(doc.data, doc.len, p->issuer, out, &why);
    zt_buf_dispose(&doc);
    if (st != ZT_FED_OK) {
        snprintf(err, errlen, "discovery document of %s: %s", p->issuer, why);
        return -EPROTO;
    }
    pthread_mutex_lock(&f->mu);
    c = cache_for(f, p);
    c->meta = *out;
    c->meta_at = now;
    pthread_mutex_unlock(&f->mu);
    return 0;
}

/* Fetch and install the JWKS (under no lock while fetching). */
static zt_jws_status refresh_jwks(zt_federation *f, const zt_oidc_provider_cfg *p,
                                  const zt_fed_metadata *m, int64_t now, const char **why)
{
    char err[256];
    zt_buf doc;
    if (fetch(p, m->jwks_uri, &doc, err, sizeof(err)) != 0) {
        zt_warn("oidc provider %s: %s", p->name, err);
        *why = "the provider's JWKS could not be fetched";
        return ZT_JWS_BAD_JWKS;
    }
    zt_jws_jwks *j = NULL;
    zt_jws_status st = zt_jws_client_jwks_parse(doc.data, doc.len, &j, why);
    zt_buf_dispose(&doc);
    if (st != ZT_JWS_OK) {
        zt_warn("oidc provider %s: JWKS refused: %s", p->name, *why);
        return st;
    }
    pthread_mutex_lock(&f->mu);
    fed_cache *c = cache_for(f, p);
    zt_jws_jwks_free(c->jwks);
    c->jwks = j;
    c->jwks_at = now;
    snprintf(c->jwks_uri, sizeof(c->jwks_uri), "%s", m->jwks_uri);
    pthread_mutex_unlock(&f->mu);
    return ZT_JWS_OK;
}

/* Verify under the lock, so the key set cannot be replaced while in use. */
static zt_jws_status verify_cached(zt_federation *f, const zt_oidc_provider_cfg *p,
                                   const zt_fed_metadata *m, const char *token, size_t len,
                                   zt_jws_token_kind kind, char **payload, size_t *n,
                                   const char **why, int64_t *jwks_at)
{
    pthread_mutex_lock(&f->mu);
    fed_cache *c = cache_for(f, p);
    zt_jws_status st = ZT_JWS_BAD_JWKS;
    *jwks_at = 0;
    *why = "no JWKS yet";
    if (c->jwks != NULL && strcmp(c->jwks_uri, m->jwks_uri) == 0) {
        *jwks_at = c->jwks_at;
        st = zt_jws_verify_signed(c->jwks, token, len, kind, payload, n, why);
    }
    pthread_mutex_unlock(&f->mu);
    return st;
}

zt_jws_status fed_verify(zt_federation *f, const zt_oidc_provider_cfg *p, const zt_fed_metadata *m,
                         const char *token, size_t len, zt_jws_token_kind kind, int64_t now,
                         char **payload, size_t *n, const char **why)
{
    int64_t at = 0;
    zt_jws_status st = verify_cached(f, p, m, token, len, kind, payload, n, why, &at);
    bool retry =
        st == ZT_JWS_BAD_JWKS || (st == ZT_JWS_UNKNOWN_KID && now - at >= FED_JWKS_REFRESH_S);
    if (!retry)
        return st;
    zt_jws_status rs = refresh_jwks(f, p, m, now, why);
    if (rs != ZT_JWS_OK)
        return rs;
    return verify_cached(f, p, m, token, len, kind, payload, n, why, &at);
}

/* ---- sessions opened through a provider ---- */

void fed_note_add(zt_federation *f, const char *hash, const char *user_id, const char *provider,
                  const char *sub, const char *sid, const char *id_token)
{
    fed_note n;
    memset(&n, 0, sizeof(n));
    snprintf(n.session_hash, sizeof(n.session_hash), "%s", hash);
    snprintf(n.user_id, sizeof(n.user_id), "%s", user_id);
    snprintf(n.provider, sizeof(n.provider), "%s", provider);
    snprintf(n.sub, sizeof(n.sub), "%s", sub);
    snprintf(n.sid, sizeof(n.sid), "%s", sid ? sid : "");
    /* Kept for id_token_hint; a very large token (many groups) is not kept: logout then goes
     * without the hint (the provider asks the person to confirm). */
    n.id_token = id_token && strlen(id_token) <= FED_HINT_MAX ? strdup(id_token) : NULL;
    pthread_mutex_lock(&f->mu);
    if (f->n_notes == FED_NOTES_MAX) { /* the oldest is forgotten: its logout stays local */
        free(f->notes[0].id_token);
        memmove(&f->notes[0], &f->notes[1], (FED_NOTES_MAX - 1) * sizeof(f->notes[0]));
        f->n_notes--;
    }
    if (f->n_notes < f->cap_notes ||
        zt_array_grow(&f->notes, &f->cap_notes, sizeof(*f->notes), 64) == 0)
        f->notes[f->n_notes++] = n;
    else
        free(n.id_token);
    pthread_mutex_unlock(&f->mu);
}

static void note_remove_at(zt_federation *f, size_t i)
{
    memmove(&f->notes[i], &f->notes[i + 1], (f->n_notes - i - 1) * sizeof(f->notes[0]));
    f->n_notes--;
}

bool fed_note_take(zt_federation *f, const char *hash, const char *user_id, fed_note *out)
{
    pthread_mutex_lock(&f->mu);
    size_t at = f->n_notes;
    for (size_t i = 0; i < f->n_notes && at == f->n_notes; i++)
        if (strcmp(f->notes[i].session_hash, hash) == 0)
            at = i;
    for (size_t i = f->n_notes; i > 0 && at == f->n_notes && user_id != NULL; i--)
        if (strcmp(f->notes[i - 1].user_id, user_id) == 0)
            at = i - 1;
    bool found = at < f->n_notes;
    if (found) {
        *out = f->notes[at];
        note_remove_at(f, at);
    }
    pthread_mutex_unlock(&f->mu);
    return found;
}

size_t fed_note_take_sid(zt_federation *f, const char *provider, const char *sid,
                         void (*cb)(void *ctx, const char *user_id), void *ctx)
{
    size_t n = 0;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_notes;) {
        const fed_note *e = &f->notes[i];
        if (strcmp(e->provider, provider) != 0 || strcmp(e->sid, sid) != 0) {
            i++;
            continue;
        }
        cb(ctx, e->user_id);
        free(f->notes[i].id_token);
        note_remove_at(f, i);
        n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

/* ---- private_key_jwt keys ---- */

zt_keys *fed_client_keys(zt_federation *f, const zt_oidc_provider_cfg *p, char *err, size_t errlen)
{
    zt_keys *k = NULL;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_keydirs && k == NULL; i++)
        if (strcmp(f->keydirs[i].dir, p->private_key_dir) == 0)
            k = f->keydirs[i].keys;
    if (k == NULL && f->n_keydirs == FED_KEYDIRS_MAX)
        snprintf(err, errlen, "more than %d private_key_dir directories", FED_KEYDIRS_MAX);
    else if (k == NULL) {
        char why[256] = "";
        char *dir = strdup(p->private_key_dir);
        if (dir != NULL &&
            zt_keys_open_with(p->private_key_dir, ZT_KEYS_WITH_RSA, &k, why, sizeof(why)) == 0) {
            f->keydirs[f->n_keydirs++] = (fed_keydir){dir, k};
        } else {
            free(dir);
            k = NULL;
            snprintf(err, errlen, "private_key_dir %s: %s", p->private_key_dir,
                     why[0] ? why : "out of memory");
        }
    }
    pthread_mutex_unlock(&f->mu);
    return k;
}

/* ---- logout token replay ---- */

bool fed_jti_replayed(zt_federation *f, const char *provider, const char *jti, int64_t now)
{
    unsigned char tag[32];
    crypto_hash_sha256_state st;
    crypto_hash_sha256_init(&st);
    crypto_hash_sha256_update(&st, (const unsigned char *)provider, strlen(provider) + 1);
    crypto_hash_sha256_update(&st, (const unsigned char *)jti, strlen(jti));
    crypto_hash_sha256_final(&st, tag);
    bool seen = false;
    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->n_jtis && !seen; i++)
        seen = now - f->jtis[i].at < FED_JTI_TTL_S && memcmp(f->jtis[i].tag, tag, sizeof(tag)) == 0;
    if (!seen) {
        memcpy(f->jtis[f->next_jti].tag, tag, sizeof(tag));
        f->jtis[f->next_jti].at = now;
        f->next_jti = (f->next_jti + 1) % FED_JTI_MAX;
        if (f->n_jtis < FED_JTI_MAX)
            f->n_jtis++;
    }
    pthread_mutex_unlock(&f->mu);
    return seen;
}
