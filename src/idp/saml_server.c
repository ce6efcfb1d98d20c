/* The one LassoServer of the process and the lock around every Lasso call (saml.h says why).
 * It is built from our own metadata document (saml_meta.c), the key and certificate, and every
 * `kind: saml` app's SP metadata, and rebuilt when any of those changes. */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>

#include <lasso/lasso.h>
#include <openssl/evp.h>

#include "core/log.h"
#include "idp/saml.h"
#include "lib/file.h"

#define SAML_SPS_MAX 256

typedef struct saml_sp {
    char *app;       /* the app's name (copy) */
    char *entity_id; /* from its metadata (copy) */
    bool wants_signed;
} saml_sp;

static struct {
    pthread_mutex_t lock;
    LassoServer *server;
    unsigned char fp[32]; /* what server was built from */
    saml_sp sps[SAML_SPS_MAX];
    size_t n_sps;
} g = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- the fingerprint of what the server is built from ---- */

static void fp_str(EVP_MD_CTX *md, const char *s)
{
    if (s == NULL)
        s = "";
    EVP_DigestUpdate(md, s, strlen(s) + 1);
}

static void fp_file(EVP_MD_CTX *md, const char *path)
{
    struct stat st;
    memset(&st, 0, sizeof(st));
    fp_str(md, path);
    if (path != NULL && stat(path, &st) == 0) {
        int64_t v[4] = {(int64_t)st.st_ino, (int64_t)st.st_size, (int64_t)st.st_mtim.tv_sec,
                        (int64_t)st.st_mtim.tv_nsec};
        EVP_DigestUpdate(md, v, sizeof(v));
    }
}

static void fingerprint(const zt_config *cfg, unsigned char out[32])
{
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    EVP_DigestInit_ex(md, EVP_sha256(), NULL);
    fp_str(md, cfg->idp.saml_entity_id);
    fp_str(md, cfg->idp.issuer);
    fp_file(md, cfg->idp.saml_cert);
    fp_file(md, cfg->idp.saml_key);
    for (size_t i = 0; i < cfg->n_apps; i++) {
        const zt_app_cfg *a = &cfg->apps[i];
        if (a->kind != ZT_APP_SAML)
            continue;
        fp_str(md, a->name);
        fp_file(md, a->saml.metadata_file);
        unsigned char sig = a->saml.require_signed_requests;
        EVP_DigestUpdate(md, &sig, 1);
    }
    EVP_DigestFinal_ex(md, out, NULL);
    EVP_MD_CTX_free(md);
}

/* ---- building ---- */

static bool any_requires_signed(const zt_config *cfg)
{
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_SAML && cfg->apps[i].saml.require_signed_requests)
            return true;
    return false;
}

int zt_saml_metadata_of(const zt_config *cfg, zt_buf *out, bool for_lasso)
{
    zt_buf cert;
    zt_buf_init(&cert, 64 * 1024);
    int rc = zt_read_file(cfg->idp.saml_cert, &cert);
    rc = rc ? rc : zt_buf_cstr(&cert);
    zt_saml_meta_in in = {.entity_id = cfg->idp.saml_entity_id,
                          .base_url = cfg->idp.issuer,
                          .cert_pem = cert.data,
                          .want_signed = !for_lasso && any_requires_signed(cfg)};
    rc = rc ? rc : zt_saml_metadata(out, &in);
    rc = rc ? rc : zt_buf_cstr(out);
    zt_buf_dispose(&cert);
    return rc;
}

static void sps_clear(void)
{
    for (size_t i = 0; i < g.n_sps; i++) {
        g_free(g.sps[i].app);
        g_free(g.sps[i].entity_id);
    }
    g.n_sps = 0;
}

static bool sp_wants_signed_in(const char *metadata)
{
    /* Lasso keeps this flag private; the SP's descriptor carries it as an attribute. */
    return strstr(metadata, "AuthnRequestsSigned=\"true\"") != NULL ||
           strstr(metadata, "AuthnRequestsSigned=\"1\"") != NULL;
}

/* One SP into server; its entity id must be new. -1: logged, the SP is left out. */
static int add_sp(LassoServer *server, const zt_app_cfg *app)
{
    zt_buf md;
    zt_buf_init(&md, 1024 * 1024);
    int rc = zt_read_file(app->saml.metadata_file, &md);
    rc = rc ? rc : zt_buf_cstr(&md);
    const char *xml = rc == 0 ? md.data : NULL;
    LassoProvider *p =
        xml ? lasso_provider_new_from_buffer(LASSO_PROVIDER_ROLE_SP, xml, NULL, NULL) : NULL;
    if (p == NULL || p->ProviderID == NULL) {
        zt_error("saml: app '%s': %s is not SAML 2.0 SP metadata Lasso can read; the app is "
                 "unavailable",
                 app->name, app->saml.metadata_file);
        rc = -1;
    } else if (lasso_server_get_provider(server, p->ProviderID) != NULL) {
        zt_error("saml: app '%s': entity id %s is already another app's; the app is unavailable",
                 app->name, p->ProviderID);
        rc = -1;
    } else if (g.n_sps < SAML_SPS_MAX) {
        g.sps[g.n_sps++] =
            (saml_sp){g_strdup(app->name), g_strdup(p->ProviderID), sp_wants_signed_in(xml)};
        lasso_server_add_provider2(server, p);
    }
    if (p != NULL)
        g_object_unref(p);
    zt_buf_dispose(&md);
    return rc;
}

static LassoServer *build(const zt_config *cfg)
{
    zt_buf meta;
    zt_buf_init(&meta, 256 * 1024);
    LassoServer *s = NULL;
    /* Lasso's copy says WantAuthnRequestsSigned="false": Lasso would then demand a signature from
     * every SP, while ztgate decides per SP (require_signed_requests, AuthnRequestsSigned). */
    int rc = zt_saml_metadata_of(cfg, &meta, true);
    /* The key and certificate by path, not content: at every signature xmlsec first tries the
     * string as a file name and leaks a BIO when it is not one (fuzz_saml_request found it). */
    if (rc == 0)
        s = lasso_server_new_from_buffers(meta.data, cfg->idp.saml_key, NULL, cfg->idp.saml_cert);
    zt_buf_dispose(&meta);
    if (s == NULL) {
        zt_error("saml: cannot load the identity provider's key, certificate or metadata (%s, "
                 "%s)",
                 cfg->idp.saml_key, cfg->idp.saml_cert);
        return NULL;
    }
    s->signature_method = LASSO_SIGNATURE_METHOD_RSA_SHA256;
    sps_clear();
    for (size_t i = 0; i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_SAML)
            (void)add_sp(s, &cfg->apps[i]);
    return s;
}

/* Before a (re)build: the key and certificate exist and match, created when both are missing.
 * A reload can add the first SAML app or name new key files, and only start made them before. */
static int keys_ready(const zt_config *cfg, unsigned char fp[32])
{
    char err[512] = "";
    if (zt_saml_keys_ensure(cfg->idp.saml_cert, cfg->idp.saml_key, cfg->auth.portal_host, err,
                            sizeof(err)) < 0) {
        zt_error("saml: %s; the identity provider is unavailable", err);
        return -1;
    }
    fingerprint(cfg, fp); /* the files may be new */
    return 0;
}

LassoServer *zt_saml_server_lock(const zt_config *cfg)
{
    unsigned char fp[32];
    fingerprint(cfg, fp);
    pthread_mutex_lock(&g.lock);
    if (g.server != NULL && memcmp(fp, g.fp, sizeof(fp)) == 0)
        return g.server;
    if (g.server != NULL)
        lasso_server_destroy(g.server);
    g.server = keys_ready(cfg, fp) == 0 ? build(cfg) : NULL;
    if (g.server == NULL) {
        memset(g.fp, 0, sizeof(g.fp));
        sps_clear();
        pthread_mutex_unlock(&g.lock);
        return NULL;
    }
    memcpy(g.fp, fp, sizeof(fp));
    zt_info("saml: identity provider %s ready with %zu service provider(s)",
            cfg->idp.saml_entity_id, g.n_sps);
    return g.server;
}

LassoServer *zt_saml_server_lock_current(void)
{
    pthread_mutex_lock(&g.lock);
    if (g.server != NULL)
        return g.server;
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

void zt_saml_server_unlock(void)
{
    pthread_mutex_unlock(&g.lock);
}

static const saml_sp *sp_by_entity(const char *entity_id)
{
    for (size_t i = 0; entity_id != NULL && i < g.n_sps; i++)
        if (strcmp(g.sps[i].entity_id, entity_id) == 0)
            return &g.sps[i];
    return NULL;
}

const zt_app_cfg *zt_saml_app_of(const zt_config *cfg, const char *entity_id)
{
    const saml_sp *sp = sp_by_entity(entity_id);
    for (size_t i = 0; sp != NULL && i < cfg->n_apps; i++)
        if (cfg->apps[i].kind == ZT_APP_SAML && strcmp(cfg->apps[i].name, sp->app) == 0)
            return &cfg->apps[i];
    return NULL;
}

const char *zt_saml_entity_of(const char *app_name)
{
    for (size_t i = 0; i < g.n_sps; i++)
        if (strcmp(g.sps[i].app, app_name) == 0)
            return g.sps[i].entity_id;
    return NULL;
}

bool zt_saml_sp_wants_signed(const char *entity_id)
{
    const saml_sp *sp = sp_by_entity(entity_id);
    return sp != NULL && sp->wants_signed;
}

void zt_saml_server_free(void)
{
    pthread_mutex_lock(&g.lock);
    if (g.server != NULL)
        lasso_server_destroy(g.server);
    g.server = NULL;
    sps_clear();
    pthread_mutex_unlock(&g.lock);
}
