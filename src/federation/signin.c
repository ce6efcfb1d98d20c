/* Upstream sign-in over HTTP: /.ztgate/upstream/start sends the browser to the provider with state,
 * nonce and a PKCE challenge; /.ztgate/upstream/callback takes the code back, exchanges it on the
 * libuv pool (the token endpoint, the JWKS and the discovery document are blocking HTTPS calls),
 * checks the ID token and then, on the loop, signs the user in through the same steps as a
 * password: user lookup (or just-in-time creation) and group sync through the account service,
 * the risk assessment, ztgate's second factor unless the provider's MFA is trusted, and
 * zt_signin_open_session. Every failure ends in one page (en/ja) and one audit record naming the
 * reason; nothing the provider sent is echoed. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>
#include <uv.h>

#include <jansson.h>

#include "core/log.h"
#include "core/metrics.h"
#include "federation/fed_int.h"
#include "identity/jws.h"
#include "identity/keys.h"
#include "http/handler.h"
#include "lib/secure.h"
#include "portal/portal.h"
#include "response/webhook.h"
#include "risk/risk.h"
#include "session/account.h"
#include "session/signin.h"
#include "store/store.h"
#include "store/store_source.h"

#define FED_COOKIE_HTTPS "__Host-ztgate_oidc"
#define FED_COOKIE_HTTP "ztgate_oidc"
#define FED_SECRET_MAX 1024
#define FED_LEEWAY_S 120

static const zt_oidc_provider_cfg *provider_named(const zt_config *cfg, const char *name, size_t n)
{
    for (size_t i = 0; i < cfg->n_oidc_providers; i++) {
        const zt_oidc_provider_cfg *p = &cfg->oidc_providers[i];
        if (strlen(p->name) == n && memcmp(p->name, name, n) == 0)
            return p;
    }
    return NULL;
}

static const char *cookie_name(const zt_local_req *r)
{
    return r->https ? FED_COOKIE_HTTPS : FED_COOKIE_HTTP;
}

static void fail_page(zt_local_req *r, int status, zt_msg body, const char *detail)
{
    r->log_detail = detail;
    zt_portal_page(r, status, FED_TITLE_FAILED, body, ZT_PORTAL_LOGIN, FED_LINK_SIGN_IN);
}

/* The audit record of a refused upstream sign-in, then its page. */
static void refuse(zt_local_req *r, const char *provider, const char *email, const char *user_id,
                   const char *reason, int status, zt_msg body)
{
    char factor[ZT_FED_NAME_MAX + 8];
    snprintf(factor, sizeof(factor), "oidc:%s", provider ? provider : "?");
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = email,
                          .user_id = user_id,
                          .factor = factor,
                          .message = "upstream sign-in refused",
                          .reason = reason};
    zt_metric_sign_in(ZT_M_SIGN_IN_FAILURE);
    zt_warn("oidc %s: sign-in refused: %s (request %s)", provider ? provider : "?", reason,
            r->request_id);
    if (!zt_portal_audit(r, &ev))
        zt_portal_unavailable(r, "audit log unavailable");
    else
        fail_page(r, status, body, reason);
}

/* ---- start: to the provider ---- */

typedef struct start_job {
    uv_work_t work;
    zt_local_req *r;
    zt_federation *fed;
    const zt_oidc_provider_cfg *p; /* the request's config generation: alive until it answers */
    zt_fed_metadata meta;
    int rc;
    char err[256];
    char rd[ZT_RD_MAX + 1];
    char login_hint[256];
} start_job;

static void start_work(uv_work_t *w)
{
    start_job *j = w->data;
    j->rc = fed_metadata(j->fed, j->p, zt_portal_now(), &j->meta, j->err, sizeof(j->err));
}

static int pkce_challenge(const char *verifier, char out[FED_RAND_LEN + 1])
{
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)verifier, strlen(verifier));
    sodium_bin2base64(out, FED_RAND_LEN + 1, h, sizeof(h),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return 0;
}

static int append_param(zt_buf *b, const char *name, const char *value)
{
    int rc = zt_buf_printf(b, "&%s=", name);
    return rc ? rc : zt_url_encode(b, value, strlen(value), false);
}

static int redirect_uri(zt_local_req *r, char out[FED_REDIRECT_MAX + 1])
{
    zt_buf b;
    zt_buf_init(&b, FED_REDIRECT_MAX);
    int rc = zt_portal_origin(r, r->host, &b);
    rc = rc ? rc : zt_buf_append_str(&b, ZT_FED_CALLBACK);
    if (rc == 0)
        snprintf(out, FED_REDIRECT_MAX + 1, "%.*s", (int)b.len, b.data);
    zt_buf_dispose(&b);
    return rc;
}

static int authorize_url(const start_job *j, const fed_pending *pe, zt_buf *u)
{
    char challenge[FED_RAND_LEN + 1];
    pkce_challenge(pe->verifier, challenge);
    zt_buf scope;
    zt_buf_init(&scope, 1024);
    int rc = 0;
    for (size_t i = 0; i < j->p->n_scopes && rc == 0; i++)
        rc = zt_buf_printf(&scope, "%s%s", i ? " " : "", j->p->scopes[i].s);
    if (rc == 0 && j->p->n_scopes == 0)
        rc = zt_buf_append_str(&scope, "openid email profile");
    rc = rc ? rc : zt_buf_cstr(&scope);
    const char *m = j->meta.authorization_endpoint;
    rc = rc ? rc : zt_buf_printf(u, "%s%sresponse_type=code", m, strchr(m, '?') ? "&" : "?");
    rc = rc ? rc : append_param(u, "client_id", j->p->client_id);
    rc = rc ? rc : append_param(u, "redirect_uri", pe->redirect_uri);
    rc = rc ? rc : append_param(u, "scope", scope.data);
    rc = rc ? rc : append_param(u, "state", pe->state);
    rc = rc ? rc : append_param(u, "nonce", pe->nonce);
    rc = rc ? rc : append_param(u, "code_challenge", challenge);
    rc = rc ? rc : append_param(u, "code_challenge_method", "S256");
    if (rc == 0 && j->login_hint[0] != '\0')
        rc = append_param(u, "login_hint", j->login_hint);
    if (rc == 0 && j->p->hosted_domain != NULL)
        rc = append_param(u, "hd", j->p->hosted_domain);
    rc = rc ? rc : zt_buf_cstr(u);
    zt_buf_dispose(&scope);
    return rc;
}

static void start_done(uv_work_t *w, int status)
{
    start_job *j = w->data;
    zt_local_req *r = j->r;
    fed_pending pe;
    memset(&pe, 0, sizeof(pe));
    zt_buf u;
    zt_buf_init(&u, 8192);
    if (status != 0 || j->rc != 0) {
        zt_warn("oidc provider %s unavailable: %s", j->p->name, j->err);
        fail_page(r, 503, FED_BODY_UNAVAILABLE, "upstream provider unavailable");
    } else {
        fed_random(pe.state);
        fed_random(pe.nonce);
        fed_random(pe.verifier);
        snprintf(pe.provider, sizeof(pe.provider), "%s", j->p->name);
        snprintf(pe.rd, sizeof(pe.rd), "%s", j->rd);
        snprintf(pe.source, sizeof(pe.source), "%s", r->ip);
        int rc = redirect_uri(r, pe.redirect_uri);
        rc = rc ? rc : authorize_url(j, &pe, &u);
        rc = rc ? rc : fed_pending_put(j->fed, &pe, zt_portal_now());
        rc = rc ? rc
                : zt_cookie_set(&r->resp_headers, cookie_name(r), pe.state, r->https,
                                FED_PENDING_TTL_S);
        if (rc != 0) {
            zt_portal_unavailable(r, "could not start the upstream sign-in");
        } else {
            r->log_detail = "to the upstream provider";
            zt_portal_redirect(r, u.data);
        }
    }
    zt_wipe(&pe, sizeof(pe));
    zt_buf_dispose(&u);
    free(j);
}

static void start(zt_federation *fed, zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false) || zt_portal_go_central(r))
        return;
    zt_form q;
    memset(&q, 0, sizeof(q));
    if (zt_form_parse(&q, r->query, r->query_len) != ZT_FORM_OK) {
        zt_form_dispose(&q);
        fail_page(r, 400, FED_BODY_UNKNOWN_PROVIDER, "bad query");
        return;
    }
    size_t n = 0, hn = 0;
    const char *name = zt_form_get(&q, "provider", &n);
    const char *hint = zt_form_get(&q, "login_hint", &hn);
    const zt_oidc_provider_cfg *p = name ? provider_named(r->cfg, name, n) : NULL;
    start_job *j = p != NULL ? calloc(1, sizeof(*j)) : NULL;
    if (j != NULL) {
        j->r = r;
        j->fed = fed;
        j->p = p;
        j->work.data = j;
        zt_portal_rd(r, &q, j->rd);
        if (hint != NULL && hn < sizeof(j->login_hint))
            memcpy(j->login_hint, hint, hn + 1);
    }
    zt_form_dispose(&q);
    if (name == NULL) {
        fail_page(r, 400, FED_BODY_UNKNOWN_PROVIDER, "no provider named");
    } else if (p == NULL) {
        fail_page(r, 404, FED_BODY_UNKNOWN_PROVIDER, "unknown upstream provider");
    } else if (j == NULL) {
        zt_portal_unavailable(r, "out of memory");
    } else if (uv_queue_work(r->loop, &j->work, start_work, start_done) != 0) {
        free(j);
        zt_portal_unavailable(r, "could not queue the upstream sign-in");
    }
}

/* ---- callback: back from the provider ---- */

typedef struct callback_job {
    uv_work_t work;
    zt_local_req *r;
    zt_federation *fed;
    const zt_oidc_provider_cfg *p;
    fed_pending pe;
    char *code;
    /* results of the pool's part */
    const char *reason; /* static; NULL: the token was good */
    zt_msg page;
    int status;
    char *id_token;
    zt_fed_claims *claims;
    char replaced[ZT_SESSION_HASH_LEN + 1]; /* the browser's session the sign-in replaces */
} callback_job;

static void callback_free(callback_job *j)
{
    zt_wipe(&j->pe, sizeof(j->pe));
    free(j->code);
    free(j->id_token);
    free(j->claims);
    free(j);
}

static int read_secret(const char *file, char out[FED_SECRET_MAX + 1])
{
    FILE *fp = fopen(file, "re");
    if (fp == NULL)
        return -errno;
    size_t n = fread(out, 1, FED_SECRET_MAX, fp);
    fclose(fp);
    while (n > 0 && (out[n - 1] == '\n' || out[n - 1] == '\r' || out[n - 1] == ' '))
        n--;
    out[n] = '\0';
    return n > 0 ? 0 : -EINVAL;
}

/* client_secret_basic (RFC 6749 2.3.1): both parts form-urlencoded, then base64. */
static int basic_header(const char *id, const char *secret, zt_buf *out)
{
    zt_buf raw;
    zt_buf_init(&raw, 4096);
    int rc = zt_url_encode(&raw, id, strlen(id), false);
    rc = rc ? rc : zt_buf_append_char(&raw, ':');
    rc = rc ? rc : zt_url_encode(&raw, secret, strlen(secret), false);
    size_t cap = sodium_base64_ENCODED_LEN(raw.len, sodium_base64_VARIANT_ORIGINAL);
    char *b64 = rc == 0 ? malloc(cap) : NULL;
    if (rc == 0 && b64 == NULL)
        rc = -ENOMEM;
    if (rc == 0) {
        sodium_bin2base64(b64, cap, (const unsigned char *)raw.data, raw.len,
                          sodium_base64_VARIANT_ORIGINAL);
        rc = zt_buf_printf(out, "Authorization: Basic %s", b64);
        zt_wipe(b64, cap);
    }
    free(b64);
    zt_wipe(raw.data, raw.len);
    zt_buf_dispose(&raw);
    return rc;
}

static void job_fail(callback_job *j, const char *reason, zt_msg page, int status)
{
    j->reason = reason;
    j->page = page;
    j->status = status;
}

/* The token endpoint's answer: the id_token string. */
static void read_token_answer(callback_job *j, const zt_buf *answer)
{
    json_t *doc = json_loadb(answer->data, answer->len, JSON_REJECT_DUPLICATES, NULL);
    const char *t = json_string_value(json_object_get(doc, "id_token"));
    if (t == NULL || strlen(t) > FED_ID_TOKEN_MAX)
        job_fail(j, "token endpoint answered without a usable id_token", FED_BODY_FAILED, 502);
    else if ((j->id_token = strdup(t)) == NULL)
        job_fail(j, "out of memory", FED_BODY_FAILED, 503);
    json_decref(doc);
}

/* private_key_jwt (RFC 7523 2.2, OIDC Core 9): a client assertion signed with the active RS256
 * key of private_key_dir, for the token endpoint only, living 60 s. */
static int client_assertion(callback_job *j, const zt_fed_metadata *m, zt_buf *body)
{
    char err[300];
    zt_keys *keys = fed_client_keys(j->fed, j->p, err, sizeof(err));
    if (keys == NULL) {
        zt_warn("oidc provider %s: %s", j->p->name, err);
        return -EIO;
    }
    char jti[FED_RAND_LEN + 1];
    fed_random(jti);
    int64_t now = zt_portal_now();
    json_t *claims = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I}", "iss", j->p->client_id, "sub",
                               j->p->client_id, "aud", m->token_endpoint, "jti", jti, "iat",
                               (json_int_t)now, "exp", (json_int_t)now + 60);
    char *text = claims ? json_dumps(claims, JSON_COMPACT) : NULL;
    json_decref(claims);
    zt_buf jwt;
    zt_buf_init(&jwt, 0);
    int rc = text ? zt_jws_sign_json(keys, ZT_JWS_RS256, "JWT", text, strlen(text), &jwt, NULL)
                  : -ENOMEM;
    free(text);
    rc = rc ? rc : zt_buf_cstr(&jwt);
    rc = rc ? rc : append_param(body, "client_id", j->p->client_id);
    rc = rc ? rc
            : append_param(body, "client_assertion_type",
                           "urn:ietf:params:oauth:client-assertion-type:jwt-bearer");
    rc = rc ? rc : append_param(body, "client_assertion", jwt.data);
    zt_buf_dispose(&jwt);
    return rc;
}

/* client_secret_basic: the Authorization header line; private_key_jwt: the assertion in body. */
static int client_auth(callback_job *j, const zt_fed_metadata *m, zt_buf *auth, zt_buf *body)
{
    if (j->p->private_key_dir != NULL)
        return client_assertion(j, m, body);
    char secret[FED_SECRET_MAX + 1];
    int rc = read_secret(j->p->client_secret_file, secret);
    rc = rc ? rc : basic_header(j->p->client_id, secret, auth);
    zt_wipe(secret, sizeof(secret));
    return rc;
}

static void exchange(callback_job *j, const zt_fed_metadata *m)
{
    zt_buf body, auth, answer;
    zt_buf_init(&body, 32768);
    zt_buf_init(&auth, 8192);
    zt_buf_init(&answer, 256 * 1024);
    int rc = zt_buf_append_str(&body, "grant_type=authorization_code");
    rc = rc ? rc : append_param(&body, "code", j->code);
    rc = rc ? rc : append_param(&body, "redirect_uri", j->pe.redirect_uri);
    rc = rc ? rc : append_param(&body, "code_verifier", j->pe.verifier);
    rc = rc ? rc : client_auth(j, m, &auth, &body);
    rc = rc ? rc : zt_buf_cstr(&auth);
    int http = rc == 0 ? zt_http_post_read(m->token_endpoint, "application/x-www-form-urlencoded",
                                           auth.len > 0 ? auth.data : NULL, body.data, body.len,
                                           FED_HTTP_TIMEOUT_MS, j->p->ca_file, &answer)
                       : rc;
    if (rc != 0)
        job_fail(j, "client credentials unusable (secret file or key directory)",
                 FED_BODY_UNAVAILABLE, 503);
    else if (http != 200)
        job_fail(j, http <= 0 ? "token endpoint unreachable" : "token endpoint refused the code",
                 http <= 0 ? FED_BODY_UNAVAILABLE : FED_BODY_FAILED, http <= 0 ? 503 : 502);
    else
        read_token_answer(j, &answer);
    zt_wipe(auth.data, auth.len);
    zt_buf_dispose(&auth);
    zt_buf_dispose(&body);
    zt_buf_dispose(&answer);
}

static const char *jws_reason(zt_jws_status st)
{
    switch (st) {
    case ZT_JWS_BAD_ALG:
        return "id_token: alg refused";
    case ZT_JWS_UNKNOWN_KID:
        return "id_token: key not in the provider's JWKS";
    case ZT_JWS_BAD_SIGNATURE:
        return "id_token: bad signature";
    case ZT_JWS_BAD_JWKS:
        return "id_token: the provider's JWKS is unusable";
    default:
        return "id_token: malformed";
    }
}

static const char *claims_reason(zt_fed_status st)
{
    static const char *const r[] = {
        [ZT_FED_OK] = "ok",
        [ZT_FED_MALFORMED] = "id_token: malformed claims",
        [ZT_FED_WRONG_ISS] = "id_token: wrong issuer",
        [ZT_FED_WRONG_AUD] = "id_token: wrong audience",
        [ZT_FED_EXPIRED] = "id_token: expired",
        [ZT_FED_NOT_YET_VALID] = "id_token: not yet valid",
        [ZT_FED_BAD_NONCE] = "id_token: nonce mismatch",
        [ZT_FED_BAD_CLAIMS] = "id_token: no usable sub or e-mail",
        [ZT_FED_WRONG_HD] = "id_token: wrong hosted domain",
    };
    return (size_t)st < sizeof(r) / sizeof(r[0]) ? r[st] : "id_token: refused";
}

static void check_token(callback_job *j, const zt_fed_metadata *m)
{
    char *payload = NULL;
    size_t n = 0;
    const char *why = "";
    int64_t now = zt_portal_now();
    zt_jws_status st = fed_verify(j->fed, j->p, m, j->id_token, strlen(j->id_token),
                                  ZT_JWS_ID_TOKEN, now, &payload, &n, &why);
    if (st != ZT_JWS_OK) {
        zt_info("oidc provider %s: id_token refused: %s", j->p->name, why);
        job_fail(j, jws_reason(st), FED_BODY_FAILED, 502);
        return;
    }
    j->claims = malloc(sizeof(*j->claims));
    zt_fed_expect x = {.issuer = j->p->issuer,
                       .client_id = j->p->client_id,
                       .nonce = j->pe.nonce,
                       .now = now,
                       .leeway_s = FED_LEEWAY_S,
                       .email_claim = j->p->email_claim,
                       .name_claim = j->p->name_claim,
                       .groups_claim = j->p->groups_claim,
                       .hosted_domain = j->p->hosted_domain};
    zt_fed_status cs =
        j->claims != NULL ? zt_fed_id_claims(payload, n, &x, j->claims, &why) : ZT_FED_MALFORMED;
    free(payload);
    if (j->claims == NULL)
        job_fail(j, "out of memory", FED_BODY_FAILED, 503);
    else if (cs != ZT_FED_OK)
        job_fail(j, claims_reason(cs), FED_BODY_FAILED, 502);
}

static void callback_work(uv_work_t *w)
{
    callback_job *j = w->data;
    zt_fed_metadata m;
    char err[256];
    if (fed_metadata(j->fed, j->p, zt_portal_now(), &m, err, sizeof(err)) != 0) {
        zt_warn("oidc provider %s unavailable: %s", j->p->name, err);
        job_fail(j, "upstream provider unavailable", FED_BODY_UNAVAILABLE, 503);
        return;
    }
    exchange(j, &m);
    if (j->reason == NULL)
        check_token(j, &m);
}

/* ---- the sign-in proper, on the loop ---- */

typedef struct fed_user {
    zt_user u;
    char source[ZT_FED_NAME_MAX + 8];
} fed_user;

static bool domain_is_home(const zt_oidc_provider_cfg *p, const char *email)
{
    const char *at = strrchr(email, '@');
    if (at == NULL)
        return false;
    for (size_t i = 0; i < p->n_domains; i++)
        if (strcmp(at + 1, p->domains[i].s) == 0)
            return true;
    return p->hosted_domain != NULL && strcmp(at + 1, p->hosted_domain) == 0;
}

/* The ztgate groups the token's group values map to (unlisted values are ignored). */
static size_t mapped_groups(const zt_oidc_provider_cfg *p, const zt_fed_claims *c, const char **out,
                            size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < p->n_group_map; i++) {
        const char *e = p->group_map[i].s;
        const char *eq = strrchr(e, '=');
        size_t vn = (size_t)(eq - e);
        bool hit = false;
        for (size_t g = 0; g < c->n_groups && !hit; g++)
            hit = strlen(c->groups[g]) == vn && memcmp(c->groups[g], e, vn) == 0;
        bool dup = false;
        for (size_t k = 0; k < n && hit; k++)
            dup = dup || strcmp(out[k], eq + 1) == 0;
        if (hit && !dup && n < cap)
            out[n++] = eq + 1;
    }
    return n;
}

/* Find the user: by (source, sub) first, then by e-mail for a domain the provider is home to
 * (an account of another domain is never taken over by a provider that merely asserts its
 * e-mail); create one when jit is create. 0, -ENOENT (no account: refused), -EPERM (e-mail
 * owned by another account), or a store error. */
static int resolve_user(zt_local_req *r, const zt_oidc_provider_cfg *p, const zt_fed_claims *c,
                        fed_user *fu, zt_actor *who)
{
    zt_store *st = r->svc->store;
    int rc = zt_store_user_get_by_external(st, fu->source, c->sub, &fu->u);
    if (rc != -ENOENT)
        return rc;
    rc = zt_store_user_get_by_email(st, c->email, &fu->u);
    if (rc == 0 && !domain_is_home(p, c->email))
        return -EPERM;
    if (rc == 0 && p->jit != ZT_OIDC_JIT_OFF) {
        zt_store_user_profile link = {.source = fu->source, .external_id = c->sub};
        zt_account_env env = zt_portal_account_env(r);
        zt_account_result res;
        rc = zt_account_update(&env, who, fu->u.id, &link, &res);
        return rc ? rc : zt_store_user_get_by_id(st, fu->u.id, &fu->u);
    }
    if (rc != -ENOENT || p->jit != ZT_OIDC_JIT_CREATE)
        return rc;
    zt_account_new n = {.email = c->email,
                        .name = c->name[0] ? c->name : NULL,
                        .source = fu->source,
                        .external_id = c->sub};
    zt_account_env env = zt_portal_account_env(r);
    zt_account_result res;
    rc = zt_account_create(&env, who, &n, &res);
    return rc ? rc : zt_store_user_get_by_id(st, res.user_id, &fu->u);
}

/* jit create or update: the name, the e-mail and the provider's groups follow the token. */
static int update_user(zt_local_req *r, const zt_oidc_provider_cfg *p, const zt_fed_claims *c,
                       fed_user *fu, zt_actor *who)
{
    if (p->jit == ZT_OIDC_JIT_OFF)
        return 0;
    zt_account_env env = zt_portal_account_env(r);
    zt_account_result res;
    bool new_email = strcmp(fu->u.email, c->email) != 0;
    bool new_name = c->name[0] != '\0' && strcmp(fu->u.name, c->name) != 0;
    if (new_email || new_name) {
        zt_store_user_profile prof = {.email = new_email ? c->email : NULL,
                                      .name = new_name ? c->name : NULL};
        int rc = zt_account_update(&env, who, fu->u.id, &prof, &res);
        if (rc != 0)
            return rc;
    }
    if (c->groups_overage) {
        zt_warn("oidc provider %s: %s has too many groups for the token (overage): groups "
                "left as they were",
                p->name, c->email);
    } else {
        const char *groups[ZT_FED_GROUPS_MAX];
        size_t n = mapped_groups(p, c, groups, ZT_FED_GROUPS_MAX);
        int rc = zt_account_sync_groups(&env, who, fu->u.id, fu->source, groups, n, true, &res);
        if (rc != 0)
            return rc;
    }
    return zt_store_user_get_by_id(r->svc->store, fu->u.id, &fu->u);
}

static unsigned session_amr(const zt_fed_claims *c, bool trusted)
{
    unsigned amr = ZT_AMR_PWD;
    if (!trusted)
        return amr;
    if (c->amr & ZT_FED_AMR_OTP)
        amr |= ZT_AMR_OTP;
    if (c->amr & ZT_FED_AMR_HWK)
        amr |= ZT_AMR_HWK;
    return amr | ZT_AMR_MFA;
}

typedef struct decision {
    bool trusted_mfa; /* the provider's MFA counts as ztgate's second factor */
    bool risky;
    bool has_factor;
    zt_signin_state next;
} decision;

static int decide(zt_local_req *r, const zt_oidc_provider_cfg *p, const zt_fed_claims *c,
                  const zt_user *u, const zt_risk_assessment *a, decision *d)
{
    zt_store_totp t;
    int rc = zt_store_totp_get(r->svc->store, u->id, &t);
    zt_store_totp_dispose(&t);
    uint64_t passkeys = 0;
    int prc = zt_portal_passkey_count(r, u->id, &passkeys);
    if ((rc != 0 && rc != -ENOENT) || prc != 0)
        return rc != 0 && rc != -ENOENT ? rc : prc;
    d->has_factor = rc == 0 || passkeys > 0;
    d->risky = r->svc->risk != NULL && a->level >= ZT_RISK_MEDIUM;
    d->trusted_mfa =
        p->trust_upstream_mfa && (c->amr & (ZT_FED_AMR_MFA | ZT_FED_AMR_OTP | ZT_FED_AMR_HWK));
    /* Upstream MFA satisfies the second factor a risky sign-in owes, as a passkey does. */
    d->next = d->trusted_mfa
                  ? ZT_SIGNIN_SESSION
                  : zt_signin_on_risk(d->risky, d->has_factor, r->cfg->auth.mfa_optional);
    return 0;
}

typedef struct opened {
    char cookie[ZT_SESSION_COOKIE_LEN + 1];
    char hash[ZT_SESSION_HASH_LEN + 1];
} opened;

static int open_session(zt_local_req *r, callback_job *j, const zt_user *u, const decision *d,
                        const zt_fed_claims *c, zt_risk_sign_in *in, zt_risk_assessment *a,
                        opened *o)
{
    int64_t now = zt_portal_now();
    char ua[ZT_STORE_UA_MAX + 1];
    zt_portal_user_agent(r, ua, sizeof(ua));
    zt_portal_sess old;
    zt_portal_session(r, &old);
    if (old.valid)
        memcpy(j->replaced, old.id_hash, sizeof(j->replaced));
    bool pending = d->next == ZT_SIGNIN_SECOND_FACTOR;
    zt_signin_session q = {.session = {.user_id = u->id,
                                       .host = r->host,
                                       .auth_time = now,
                                       .mfa_time = d->trusted_mfa ? now : 0,
                                       .mfa_method = d->trusted_mfa ? "upstream" : NULL,
                                       .mfa_pending = pending,
                                       .amr = session_amr(c, d->trusted_mfa),
                                       .ip = r->ip,
                                       .user_agent = ua},
                           .replaces_hash = old.valid ? old.id_hash : NULL,
                           .cache = r->sessions,
                           .risk_in = r->svc->risk != NULL ? in : NULL,
                           .assessment = r->svc->risk != NULL ? a : NULL,
                           .state_dir = r->svc->state_dir};
    return zt_signin_open_session(r->svc->sessions, r->svc->risk, &q, now, o->cookie, o->hash);
}

static const char *success_message(const decision *d)
{
    if (d->trusted_mfa)
        return d->risky ? "signed in upstream with MFA; sign-in risk remediated by it"
                        : "signed in upstream with MFA";
    if (d->next == ZT_SIGNIN_SECOND_FACTOR)
        return d->risky ? "signed in upstream; risky sign-in: second factor demanded"
                        : "signed in upstream; second factor pending";
    return "signed in upstream";
}

static void blocked(zt_local_req *r, callback_job *j, const zt_user *u, zt_risk_sign_in *in,
                    zt_risk_assessment *a)
{
    in->session_hash = NULL;
    if (zt_risk_record(r->svc->risk, in, a) != 0) {
        zt_portal_unavailable(r, "store error");
        return;
    }
    if (a->reload_sessions)
        zt_revocation_bump(r->svc->state_dir);
    if (zt_portal_audit_detections(r, u, a))
        refuse(r, j->p->name, u->email, u->id, "sign-in risk", 403, PM_BODY_RISK_BLOCKED);
    else
        zt_portal_unavailable(r, "audit log unavailable");
}

static void signed_in(zt_local_req *r, callback_job *j, const zt_user *u, const decision *d,
                      zt_risk_assessment *a, opened *o)
{
    char factor[ZT_FED_NAME_MAX + 8];
    snprintf(factor, sizeof(factor), "oidc:%s", j->p->name);
    zt_risk_event rev;
    memset(&rev, 0, sizeof(rev));
    int64_t now = zt_portal_now();
    int rrc = d->trusted_mfa && d->risky
                  ? zt_risk_remediate_sign_in(r->svc->risk, o->hash, now, &rev)
                  : 0;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = true,
                          .email = u->email,
                          .user_id = u->id,
                          .factor = factor,
                          .message = success_message(d)};
    if (rrc != 0 || !zt_portal_audit(r, &ev) || !zt_portal_audit_detections(r, u, a) ||
        !zt_portal_risk_event(r, &rev, u->email)) {
        zt_session_destroy(r->svc->sessions, o->hash);
        zt_portal_unavailable(r, "audit log unavailable");
        return;
    }
    zt_metric_sign_in(ZT_M_SIGN_IN_SUCCESS);
    (void)zt_store_user_touch_sign_in(r->svc->store, u->id, now);
    fed_note n;
    if (j->replaced[0] != '\0' && fed_note_take(j->fed, j->replaced, NULL, &n))
        free(n.id_token); /* that session is gone: its note too */
    fed_note_add(j->fed, o->hash, u->id, j->p->name, j->claims->sub, j->claims->sid, j->id_token);
    zt_cookie_set(&r->resp_headers, zt_session_cookie_name(r->https), o->cookie, r->https, -1);
    zt_known_device_set(r->svc->sessions, &r->resp_headers, u->id, r->https, now);
    r->log_detail =
        d->next == ZT_SIGNIN_SECOND_FACTOR ? "upstream ok, MFA pending" : "signed in upstream";
    if (d->next != ZT_SIGNIN_SECOND_FACTOR)
        zt_portal_finish(r, o->hash, j->pe.rd);
    else
        zt_portal_redirect_with_rd(r, d->has_factor ? ZT_PORTAL_MFA : ZT_PORTAL_TOTP, j->pe.rd);
}

/* The same steps as a password that proved right: the risk assessment, the second factor's
 * decision, the session step; then the proxy's device check and Conditional Access. */
static void sign_in(zt_local_req *r, callback_job *j, const zt_user *u)
{
    zt_signin flow;
    zt_signin_init(&flow, r->request_id);
    zt_risk_sign_in in;
    zt_ip_info info;
    zt_risk_assessment *a = calloc(1, sizeof(*a));
    char ua[ZT_STORE_UA_MAX + 1];
    zt_portal_user_agent(r, ua, sizeof(ua));
    zt_signin_env env = {.risk = r->svc->risk,
                         .feeds = atomic_load(&r->svc->feeds),
                         .secrets = r->svc->secrets,
                         .vpn_egress = r->cfg->risk.vpn_egress,
                         .n_vpn_egress = r->cfg->risk.n_vpn_egress};
    decision d;
    opened o;
    if (a == NULL || (r->svc->risk != NULL &&
                      zt_signin_assess(&env, u, "", 0, zt_portal_client_sa(r), ua, r->device_id,
                                       zt_portal_now(), &in, &info, a) != 0)) {
        zt_portal_unavailable(r, "risk assessment failed");
    } else if (decide(r, j->p, j->claims, u, a, &d) != 0) {
        zt_portal_unavailable(r, "store error");
    } else if (!zt_signin_go(&flow, ZT_SIGNIN_CREDENTIAL) || !zt_signin_go(&flow, ZT_SIGNIN_RISK) ||
               !zt_signin_go(&flow, d.next)) {
        zt_portal_unavailable(r, "sign-in state machine");
    } else if (d.next == ZT_SIGNIN_BLOCKED) {
        blocked(r, j, u, &in, a);
    } else if (open_session(r, j, u, &d, j->claims, &in, a, &o) != 0) {
        zt_portal_unavailable(r, "could not open the session (or record the sign-in's risk)");
    } else {
        signed_in(r, j, u, &d, a, &o);
        zt_wipe(&o, sizeof(o));
    }
    free(a);
}

static void callback_done(uv_work_t *w, int status)
{
    callback_job *j = w->data;
    zt_local_req *r = j->r;
    const zt_fed_claims *c = j->claims;
    if (status != 0) {
        zt_portal_unavailable(r, "upstream sign-in cancelled");
    } else if (j->reason != NULL) {
        refuse(r, j->p->name, NULL, NULL, j->reason, j->status, j->page);
    } else if (zt_local_cancelled(r)) {
        zt_local_respond(r);
    } else {
        fed_user fu;
        memset(&fu, 0, sizeof(fu));
        snprintf(fu.source, sizeof(fu.source), "oidc:%s", j->p->name);
        zt_actor who = {.name = fu.source, .type = "System", .request_id = r->request_id};
        int rc = resolve_user(r, j->p, c, &fu, &who);
        /* A disabled or expired account is refused before the token changes anything. */
        bool usable = rc == 0 && !fu.u.disabled &&
                      (fu.u.expires_at == 0 || fu.u.expires_at > zt_portal_now());
        if (usable)
            rc = update_user(r, j->p, c, &fu, &who);
        if (rc == -ENOENT)
            refuse(r, j->p->name, c->email, NULL, "no account and jit does not create one", 403,
                   FED_BODY_NO_ACCOUNT);
        else if (rc == -EPERM || rc == -EEXIST)
            refuse(r, j->p->name, c->email, fu.u.id[0] ? fu.u.id : NULL,
                   "e-mail belongs to an account this provider is not home to", 403,
                   FED_BODY_NO_ACCOUNT);
        else if (rc != 0)
            zt_portal_unavailable(r, "store error");
        else if (!usable)
            refuse(r, j->p->name, fu.u.email, fu.u.id,
                   fu.u.disabled ? "account disabled" : "account expired", 403,
                   FED_BODY_NO_ACCOUNT);
        else
            sign_in(r, j, &fu.u);
    }
    callback_free(j);
}

/* The state cookie must name the state the provider sent back: a callback made in another
 * browser (login CSRF, a stolen code's replay) has neither. */
static bool state_cookie_ok(zt_local_req *r, const char *state, size_t n)
{
    const zt_span *cookies = zt_portal_cookies(r);
    zt_span v;
    return cookies != NULL && zt_cookie_find(cookies, cookie_name(r), &v) && v.n == n &&
           n == FED_RAND_LEN && zt_ct_eq(v.p, state, n);
}

static void callback(zt_federation *fed, zt_local_req *r)
{
    if (!zt_portal_method_ok(r, false))
        return;
    zt_form q;
    memset(&q, 0, sizeof(q));
    size_t sn = 0, cn = 0;
    bool parsed = zt_form_parse(&q, r->query, r->query_len) == ZT_FORM_OK;
    const char *state = parsed ? zt_form_get(&q, "state", &sn) : NULL;
    const char *code = parsed ? zt_form_get(&q, "code", &cn) : NULL;
    const char *error = parsed ? zt_form_get(&q, "error", NULL) : NULL;
    callback_job *j = calloc(1, sizeof(*j));
    bool cookie_ok = state != NULL && state_cookie_ok(r, state, sn);
    bool known = cookie_ok && j != NULL && fed_pending_take(fed, state, &j->pe, zt_portal_now());
    /* The state is spent either way: clear the cookie. */
    zt_cookie_set(&r->resp_headers, cookie_name(r), "x", r->https, 0);
    const zt_oidc_provider_cfg *p =
        known ? provider_named(r->cfg, j->pe.provider, strlen(j->pe.provider)) : NULL;
    if (j == NULL) {
        zt_portal_unavailable(r, "out of memory");
    } else if (!known || p == NULL) {
        refuse(r, known ? j->pe.provider : NULL, NULL, NULL,
               state == NULL ? "callback without state"
               : !cookie_ok  ? "state does not match this browser's cookie"
                             : "state unknown, used or expired",
               400, FED_BODY_EXPIRED);
    } else if (error != NULL || code == NULL || cn == 0 || cn > 4096) {
        refuse(r, p->name, NULL, NULL, error != NULL ? "provider answered an error" : "no code",
               403, FED_BODY_DENIED);
    } else if ((j->code = strndup(code, cn)) == NULL) {
        zt_portal_unavailable(r, "out of memory");
    } else {
        j->r = r;
        j->fed = fed;
        j->p = p;
        j->work.data = j;
        if (uv_queue_work(r->loop, &j->work, callback_work, callback_done) == 0) {
            zt_form_dispose(&q);
            return;
        }
        zt_portal_unavailable(r, "could not queue the upstream sign-in");
    }
    if (j != NULL)
        callback_free(j);
    zt_form_dispose(&q);
}

void zt_federation_handle(void *ctx, zt_local_req *r)
{
    zt_federation *fed = ctx;
    if (strcmp(r->path, ZT_FED_START) == 0)
        start(fed, r);
    else if (strcmp(r->path, ZT_FED_CALLBACK) == 0)
        callback(fed, r);
    else if (strncmp(r->path, ZT_FED_BACKCHANNEL, strlen(ZT_FED_BACKCHANNEL)) == 0)
        zt_fed_backchannel(fed, r);
    else if (strncmp(r->path, ZT_FED_JWKS, strlen(ZT_FED_JWKS)) == 0)
        zt_fed_jwks(fed, r);
    else
        fail_page(r, 404, FED_BODY_UNKNOWN_PROVIDER, "no such upstream sign-in path");
}
