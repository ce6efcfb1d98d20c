/* The `auth:` section of the config file (sign-in: portal host, sessions, passwords, MFA,
 * secrets and keys, brute-force limits), read by the engine in core/config.c through this
 * table. */
#include <stddef.h>
#include <unistd.h>

#include "core/config_schema.h"
#include "identity/webauthn.h"
#include "session/passkey.h"
#include "session/session.h"

/* Each AAGUID well-formed; attestation required only with a bundle of trust anchors. */
static void check_passkey_keys(zt_config_ctx *c, const zt_config_walk *w, const zt_auth_cfg *auth)
{
    unsigned char id[16];
    for (size_t i = 0; i < auth->n_passkey_aaguids; i++)
        if (auth->passkey_aaguids[i].s != NULL &&
            !zt_passkey_aaguid_parse(auth->passkey_aaguids[i].s, id))
            zt_config_word_err(c, &auth->passkey_aaguids[i],
                               "is not an AAGUID (8-4-4-4-12 hex digits)");
    const char *roots = auth->passkey_attestation_roots;
    if (auth->passkey_attestation_required && roots == NULL)
        zt_config_err(c, zt_config_seen(w, "passkey_attestation"),
                      "'passkey_attestation: required' needs 'passkey_attestation_roots' (a PEM "
                      "bundle of trusted attestation root certificates)");
    if (roots == NULL)
        return;
    if (access(roots, R_OK) != 0) {
        zt_config_check_file(c, w, "passkey_attestation_roots", roots, "");
        return;
    }
    const char *why = NULL;
    X509_STORE *store = zt_webauthn_roots_load(roots, &why);
    if (store == NULL)
        zt_config_err(c, zt_config_seen(w, "passkey_attestation_roots"),
                      "'auth.passkey_attestation_roots' file '%s' %s", roots, why);
    X509_STORE_free(store);
}

static void check_auth(zt_config_ctx *c, const zt_config_walk *w)
{
    const zt_auth_cfg *auth = (const zt_auth_cfg *)(void *)w->target;
    check_passkey_keys(c, w, auth);
    if (auth->breach_corpus != NULL)
        zt_config_check_file(c, w, "breached_passwords", auth->breach_corpus, "");
    if (auth->password_min_chars > auth->password_max_chars)
        zt_config_err(c, zt_config_seen(w, "password_min_length"),
                      "'password_min_length' is larger than 'password_max_length'");
    /* Each hashing thread holds argon2_memory while it runs: the product is the peak. */
    if (auth->argon2_memory * auth->hash_threads > (1ull << 30)) {
        const yaml_node_t *at = zt_config_seen(w, "hash_threads");
        if (at == NULL)
            at = zt_config_seen(w, "argon2_memory");
        zt_config_err(c, at != NULL ? at : w->map,
                      "'hash_threads' (%u) x 'argon2_memory' is above 1 GiB of hashing memory",
                      auth->hash_threads);
    }
}

static const char *const mfa_modes[] = {"required", "optional", NULL};
static const char *const passkey_registration_modes[] = {"signed_in", "tap", NULL};
static const char *const passkey_attestation_modes[] = {"none", "required", NULL};

static const zt_config_key auth_keys[] = {
    {"portal_host", ZT_K_HOST, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, portal_host)},
    {"issuer", ZT_K_STR, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, issuer), .def = "ztgate"},
    {"session_idle_timeout", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, session_idle_ms),
     .min = ZT_MS_M, .max = 24 * ZT_MS_H, .def = "30m"},
    {"session_lifetime", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, session_absolute_ms),
     .min = 5 * ZT_MS_M, .max = 30 * 24 * ZT_MS_H, .def = "12h"},
    {"assertion_ttl", ZT_K_DURATION, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, assertion_ttl_ms),
     .min = 2 * ZT_MS_M, .max = 5 * ZT_MS_M, .def = "5m"},
    {"password_min_length", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, password_min_chars),
     .min = 8, .max = 64, .def = "12"},
    {"password_max_length", ZT_K_UINT, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, password_max_chars),
     .min = 64, .max = 1024, .def = "128"},
    {"breached_passwords", ZT_K_STR, 0, ZT_FIELD(zt_auth_cfg, breach_corpus)},
    {"argon2_passes", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, argon2_passes), .min = 2, .max = 20,
     .def = "3"},
    {"argon2_memory", ZT_K_SIZE, 0, ZT_FIELD(zt_auth_cfg, argon2_memory), .min = 19ull << 20,
     .max = 4ull << 30, .def = "64MiB"},
    {"hash_queue", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_queue), .min = 1, .max = 4096,
     .def = "64"},
    {"hash_threads", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_threads), .min = 1, .max = 16,
     .def = "1"},
    {"hash_nice", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_nice), .min = 0, .max = 19, .def = "10"},
    {"hash_duty", ZT_K_UINT, 0, ZT_FIELD(zt_auth_cfg, hash_duty), .min = 10, .max = 100,
     .def = "50"},
    {"mfa", ZT_K_ENUM, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, mfa_optional), .def = "required",
     .names = mfa_modes},
    {"passkeys", ZT_K_BOOL, ZT_CFG_RELOAD, ZT_FIELD(zt_auth_cfg, passkeys), .def = "true"},
    {"passkey_registration", ZT_K_ENUM, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, passkey_registration_tap), .def = "signed_in",
     .names = passkey_registration_modes},
    {"passkey_aaguids", ZT_K_STRS, ZT_CFG_RELOAD, .off = offsetof(zt_auth_cfg, passkey_aaguids),
     .aux = offsetof(zt_auth_cfg, n_passkey_aaguids), .min = 0, .max = 256},
    {"passkey_attestation", ZT_K_ENUM, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, passkey_attestation_required), .def = "none",
     .names = passkey_attestation_modes},
    {"passkey_attestation_roots", ZT_K_STR, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, passkey_attestation_roots)},
    {"secrets_key", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_auth_cfg, secrets_key),
     .def = "secrets.key"},
    {"keys_dir", ZT_K_STR, ZT_CFG_IN_STATE_DIR, ZT_FIELD(zt_auth_cfg, keys_dir), .def = "keys"},
    {"account_failure_limit", ZT_K_UINT, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, account_failure_limit), .min = 5, .max = 100, .def = "100"},
    {"source_failures_per_minute", ZT_K_UINT, ZT_CFG_RELOAD,
     ZT_FIELD(zt_auth_cfg, source_failures_per_minute), .min = 1, .max = 100000, .def = "30"},
};
ZT_CONFIG_SECTION(auth_section, auth_keys, check_auth);

const zt_config_module zt_auth_config_module = {"auth", &auth_section, NULL};
