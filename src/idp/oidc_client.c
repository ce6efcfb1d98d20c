/* Client authentication at the token, revocation and introspection endpoints: exactly one
 * method per request (RFC 6749 2.3), and it must be the one the client is configured for:
 * client_secret_basic (id and secret form-urlencoded before base64), client_secret_post,
 * private_key_jwt (a client assertion verified against the client's JWKS file, its jti kept
 * until it expires), or none (a public client names itself and must use PKCE). Secrets are
 * compared in constant time, through their hashes so the length leaks nothing either. */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "core/log.h"
#include "identity/jws.h"
#include "idp/oidc.h"
#include "lib/b64.h"
#include "lib/file.h"
#include "lib/secure.h"

#define JWT_BEARER "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"

typedef enum auth_method {
    M_NONE_GIVEN = 0,
    M_BASIC,
    M_POST,
    M_JWT,
    M_PUBLIC,
} auth_method;

typedef struct client_creds {
    auth_method method;
    char id[ZT_STORE_OIDC_CLIENT_MAX + 1];
    char secret[ZT_OIDC_SECRET_MAX + 1];
    const char *assertion;
    size_t assertion_len;
} client_creds;

static void fail(zt_local_req *r, bool basic, int status, const char *code, const char *why)
{
    if (basic)
        zt_buf_append_str(&r->resp_headers, "WWW-Authenticate: Basic realm=\"ztgate\"\r\n");
    zt_oidc_json_error(r, status, code, why);
}

static void copy(char *dst, size_t cap, const char *s, size_t n)
{
    n = n < cap - 1 ? n : cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Which method the request uses; false (answered) when it uses two or a malformed one. */
static bool read_creds(zt_local_req *r, const zt_form *f, client_creds *c)
{
    const zt_span *auth = zt_local_header_get(r, "Authorization");
    size_t id_n = 0, sec_n = 0, type_n = 0;
    const char *id = zt_form_get(f, "client_id", &id_n);
    const char *secret = zt_form_get(f, "client_secret", &sec_n);
    const char *type = zt_form_get(f, "client_assertion_type", &type_n);
    c->assertion = zt_form_get(f, "client_assertion", &c->assertion_len);
    unsigned methods = (auth != NULL) + (secret != NULL) + (c->assertion != NULL);
    if (methods > 1) {
        fail(r, false, 400, "invalid_request", "more than one client authentication method");
        return false;
    }
    if (auth != NULL) {
        c->method = M_BASIC;
        if (!zt_oidc_basic_parse(auth->p, auth->n, c->id, sizeof(c->id), c->secret,
                                 sizeof(c->secret)) ||
            (id != NULL && (strlen(c->id) != id_n || memcmp(c->id, id, id_n) != 0))) {
            fail(r, true, 401, "invalid_client", "malformed Basic client authentication");
            return false;
        }
        return true;
    }
    if (c->assertion != NULL &&
        (type == NULL || type_n != strlen(JWT_BEARER) || memcmp(type, JWT_BEARER, type_n) != 0)) {
        fail(r, false, 400, "invalid_request", "client_assertion_type must be jwt-bearer");
        return false;
    }
    if (secret != NULL && sec_n > ZT_OIDC_SECRET_MAX) {
        fail(r, false, 400, "invalid_client", "client_secret too long");
        return false;
    }
    c->method = c->assertion != NULL ? M_JWT
                : secret != NULL     ? M_POST
                : id != NULL         ? M_PUBLIC
                                     : M_NONE_GIVEN;
    if (id != NULL)
        copy(c->id, sizeof(c->id), id, id_n);
    if (secret != NULL)
        copy(c->secret, sizeof(c->secret), secret, sec_n);
    return true;
}

/* ---- the configured secrets ----
 * The token endpoint used to read client_secret_file on every request. Now the SHA-256 of its
 * first line is kept per path with the identity of the file it came from (device, inode, size,
 * mtime); the file is stat'ed at most once a second and read again only when that identity
 * changed, so a rotated secret is still seen without a reload, within a second. Only the hash
 * is kept (wiped when freed); everything runs on the event loop, hence no lock. */

#define SECRET_RECHECK_MS 1000

typedef struct secret_entry {
    char *path;
    dev_t dev;
    ino_t ino;
    off_t size;
    struct timespec mtime;
    uint64_t checked_ms; /* monotonic time of the last stat */
    bool nonempty;       /* the first line has at least one byte */
    unsigned char hash[crypto_hash_sha256_BYTES];
} secret_entry;

struct zt_oidc_secrets {
    secret_entry *v;
    size_t n, cap;
};

static uint64_t mono_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static bool same_file(const secret_entry *e, const struct stat *st)
{
    return e->dev == st->st_dev && e->ino == st->st_ino && e->size == st->st_size &&
           e->mtime.tv_sec == st->st_mtim.tv_sec && e->mtime.tv_nsec == st->st_mtim.tv_nsec;
}

/* Read path's first line into e (hash and identity of what was read); 0 or -errno. */
static int secret_load(const char *path, secret_entry *e)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    zt_buf b;
    zt_buf_init(&b, 4096);
    int rc = fstat(fd, &st) != 0 ? -errno : zt_read_fd(fd, &b);
    close(fd);
    if (rc == 0) {
        size_t n = 0;
        while (n < b.len && b.data[n] != '\n' && b.data[n] != '\r')
            n++;
        crypto_hash_sha256(e->hash, (const unsigned char *)b.data, n);
        e->nonempty = n > 0;
        e->dev = st.st_dev;
        e->ino = st.st_ino;
        e->size = st.st_size;
        e->mtime = st.st_mtim;
    }
    zt_wipe(b.data, b.len);
    zt_buf_dispose(&b);
    return rc;
}

static secret_entry *secret_find(struct zt_oidc_secrets *s, const char *path)
{
    for (size_t i = 0; s != NULL && i < s->n; i++)
        if (strcmp(s->v[i].path, path) == 0)
            return &s->v[i];
    return NULL;
}

/* A new entry for path, or NULL (out of memory: the caller works uncached). */
static secret_entry *secret_add(zt_idp *idp, const char *path)
{
    if (idp == NULL)
        return NULL;
    if (idp->secrets == NULL && (idp->secrets = calloc(1, sizeof(*idp->secrets))) == NULL)
        return NULL;
    struct zt_oidc_secrets *s = idp->secrets;
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 4;
        secret_entry *v = realloc(s->v, cap * sizeof(*v));
        if (v == NULL)
            return NULL;
        s->v = v;
        s->cap = cap;
    }
    secret_entry *e = &s->v[s->n];
    *e = (secret_entry){.path = strdup(path)};
    if (e->path == NULL)
        return NULL;
    s->n++;
    return e;
}

/* The cached (or fresh) entry of path; NULL when the file cannot be read. tmp holds an
 * uncached entry when there is no room to cache one. */
static const secret_entry *secret_get(zt_idp *idp, const char *path, secret_entry *tmp)
{
    secret_entry *e = secret_find(idp ? idp->secrets : NULL, path);
    uint64_t now = mono_ms();
    if (e != NULL && e->checked_ms != 0 && now - e->checked_ms < SECRET_RECHECK_MS)
        return e;
    struct stat st;
    if (e != NULL && stat(path, &st) == 0 && same_file(e, &st)) {
        e->checked_ms = now;
        return e;
    }
    if (e == NULL && (e = secret_add(idp, path)) == NULL)
        e = tmp;
    e->checked_ms = 0; /* until read, nothing to trust */
    if (secret_load(path, e) != 0) {
        char *keep = e->path; /* forget the identity too: nothing of it may match again */
        zt_wipe(e, sizeof(*e));
        e->path = keep;
        e->size = -1;
        return NULL;
    }
    e->checked_ms = now ? now : 1;
    return e;
}

void zt_oidc_secrets_free(struct zt_oidc_secrets *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++) {
        free(s->v[i].path);
        zt_wipe(&s->v[i], sizeof(s->v[i]));
    }
    free(s->v);
    free(s);
}

/* The configured secret: the first line of client_secret_file, compared through hashes. */
static bool secret_matches(zt_idp *idp, const zt_oidc_client_cfg *o, const char *given)
{
    secret_entry tmp = {0};
    const secret_entry *e =
        o->client_secret_file != NULL ? secret_get(idp, o->client_secret_file, &tmp) : NULL;
    if (e == NULL) {
        zt_error("oidc: client %s: cannot read client_secret_file %s", o->client_id,
                 o->client_secret_file ? o->client_secret_file : "(none)");
        return false;
    }
    unsigned char got[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(got, (const unsigned char *)given, strlen(given));
    bool ok = e->nonempty && zt_ct_eq(e->hash, got, sizeof(got));
    zt_wipe(&tmp, sizeof(tmp));
    zt_wipe(got, sizeof(got));
    return ok;
}

static auth_method configured(const zt_oidc_client_cfg *o)
{
    switch (o->client_auth) {
    case ZT_OIDC_AUTH_SECRET_BASIC:
        return M_BASIC;
    case ZT_OIDC_AUTH_SECRET_POST:
        return M_POST;
    case ZT_OIDC_AUTH_PRIVATE_KEY_JWT:
        return M_JWT;
    default:
        return M_PUBLIC;
    }
}

#define ASSERTION_LEEWAY_S 30

/* The client's registered public keys (its jwks_file), read per use so a rotated file is seen
 * without a reload. NULL when unreadable or invalid (logged). */
static zt_jws_jwks *client_jwks(const zt_oidc_client_cfg *o)
{
    zt_buf b;
    zt_buf_init(&b, ZT_JWS_MAX_JWKS);
    zt_jws_jwks *jwks = NULL;
    const char *why = "unreadable";
    if (o->jwks_file != NULL && zt_read_file(o->jwks_file, &b) == 0 &&
        zt_jws_client_jwks_parse(b.data, b.len, &jwks, &why) != ZT_JWS_OK)
        jwks = NULL;
    if (jwks == NULL)
        zt_error("oidc: client %s: jwks_file %s: %s", o->client_id,
                 o->jwks_file ? o->jwks_file : "(none)", why);
    zt_buf_dispose(&b);
    return jwks;
}

/* A client assertion for app (private_key_jwt): signed by one of its keys with an accepted alg
 * (never none or HMAC), iss = sub = client_id, aud the issuer or the endpoint, unexpired, and
 * its jti never seen before (kept until it expires). */
static bool assertion_ok(zt_local_req *r, const zt_app_cfg *app, const char *assertion, size_t n,
                         const char **why)
{
    char token_url[512], here[512];
    snprintf(token_url, sizeof(token_url), "%s%s", zt_oidc_issuer(r), ZT_OIDC_TOKEN);
    snprintf(here, sizeof(here), "%s%s", zt_oidc_issuer(r), r->path);
    const char *auds[] = {zt_oidc_issuer(r), token_url, here};
    zt_jws_client_expect want = {.client_id = app->oidc.client_id,
                                 .audiences = auds,
                                 .naudiences = 3,
                                 .now = zt_portal_now(),
                                 .leeway_s = ASSERTION_LEEWAY_S};
    zt_jws_client_assertion got;
    zt_jws_jwks *jwks = client_jwks(&app->oidc);
    zt_jws_status st = jwks == NULL
                           ? ZT_JWS_BAD_JWKS
                           : zt_jws_verify_client_assertion(jwks, assertion, n, &want, &got, why);
    zt_jws_jwks_free(jwks);
    if (jwks == NULL)
        *why = "the client's jwks_file cannot be used";
    if (st != ZT_JWS_OK)
        return false;
    int rc = zt_store_oidc_jti_use(r->svc->store, app->oidc.client_id, got.jti,
                                   got.exp + ASSERTION_LEEWAY_S, want.now);
    *why = rc == -EALREADY ? "client assertion replayed (jti seen before)"
           : rc != 0       ? "client assertion could not be recorded"
                           : NULL;
    return rc == 0;
}

/* The iss of an assertion, to find the client when client_id was not sent; the verification
 * that follows checks it with that client's keys. */
static bool assertion_issuer(const char *a, size_t n, char *out, size_t cap)
{
    const char *dot1 = memchr(a, '.', n);
    const char *dot2 = dot1 ? memchr(dot1 + 1, '.', n - (size_t)(dot1 + 1 - a)) : NULL;
    unsigned char payload[ZT_JWS_MAX_ASSERTION];
    size_t pn = 0;
    if (dot2 == NULL || n > ZT_JWS_MAX_ASSERTION ||
        !zt_b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), payload, sizeof(payload), &pn))
        return false;
    json_t *o = json_loadb((const char *)payload, pn, JSON_REJECT_DUPLICATES, NULL);
    const char *iss = json_string_value(json_object_get(o, "iss"));
    bool ok = iss != NULL && strlen(iss) < cap;
    if (ok)
        snprintf(out, cap, "%s", iss);
    json_decref(o);
    return ok;
}

const zt_app_cfg *zt_oidc_authenticate_client(zt_idp *idp, zt_local_req *r, const zt_form *form)
{
    client_creds c = {0};
    if (!read_creds(r, form, &c))
        return NULL;
    if (c.method == M_JWT && c.id[0] == '\0')
        assertion_issuer(c.assertion, c.assertion_len, c.id, sizeof(c.id));
    const zt_app_cfg *app = zt_oidc_client(r->cfg, c.id, strlen(c.id));
    bool basic = c.method == M_BASIC;
    const char *why = "unknown client";
    bool ok = app != NULL && c.method != M_NONE_GIVEN;
    if (ok && configured(&app->oidc) != c.method) {
        why = "client authentication method not the one registered for this client";
        ok = false;
    } else if (ok && (c.method == M_BASIC || c.method == M_POST) &&
               !secret_matches(idp, &app->oidc, c.secret)) {
        why = "wrong client secret";
        ok = false;
    } else if (ok && c.method == M_JWT &&
               !assertion_ok(r, app, c.assertion, c.assertion_len, &why)) {
        ok = false;
    }
    zt_wipe(c.secret, sizeof(c.secret));
    if (!ok) {
        zt_info("request %s: oidc client authentication failed for '%s': %s", r->request_id, c.id,
                why);
        zt_oidc_event e = {.event = "client_auth",
                           .app = app ? app->name : NULL,
                           .client_id = app ? app->oidc.client_id : NULL,
                           .message = "oidc client authentication failed",
                           .reason = why};
        (void)zt_oidc_audit(r, &e); /* refused either way */
        /* RFC 6749 5.2: 401 with WWW-Authenticate when the client used (or could have used)
         * the Authorization header; a client that authenticated in the body gets 400, since a
         * 401 without a challenge is not valid HTTP (RFC 9110 15.5.2). */
        bool challenge = basic || c.method == M_NONE_GIVEN;
        fail(r, challenge, challenge ? 401 : 400, "invalid_client", why);
        return NULL;
    }
    return app;
}
