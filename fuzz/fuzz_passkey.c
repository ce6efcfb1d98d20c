/* The passkey service (session/passkey.h) on arbitrary JSON bodies, as the portal's
 * /.ztgate/webauthn/{register,login}/verify endpoints receive them; must never crash, leak or
 * hit UB. The first byte picks the ceremony (even: registration, odd: sign-in), the rest is the
 * body. A store in a temp directory (under /dev/shm when there is one) holds one user, one
 * registered credential and, before each run, a fresh challenge for the fuzzer's browser, so the
 * input reaches the credential lookup, the user-handle check and the verifier. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "session/passkey.h"
#include "store/store.h"

#define NOW 1800000000

static zt_store *st;
static char dir[64];
static char user_id[ZT_STORE_ID_LEN + 1];
static const char binding[] = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
static const char session[] = "ffeeddccbbaa99887766554433221100ffeeddccbbaa99887766554433221100";
static const zt_passkey_rp rp = {
    .rp_id = "example.test", .origin = "https://example.test", .name = "ztgate"};

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

/* The temp store goes when the fuzzer exits. */
static void cleanup(void)
{
    zt_store_close(st);
    nftw(dir, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup_store(void)
{
    snprintf(dir, sizeof(dir), "%s/zt-fuzz-passkey-XXXXXX",
             access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp");
    if (mkdtemp(dir) == NULL)
        abort();
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = dir};
    char err[256];
    st = zt_store_open(&cfg, err, sizeof(err));
    zt_user u;
    if (st == NULL || zt_store_user_add(st, "fuzz@example.test", "", "", NULL, 0, &u) != 0)
        abort();
    atexit(cleanup);
    memcpy(user_id, u.id, sizeof(user_id));
    zt_user_dispose(&u);
    /* A credential whose id is "AAAA" (base64url "QUFBQQ") to look up. */
    zt_store_webauthn_cred c = {.id = "AAAA", .id_len = 4, .alg = -7, .sign_count = 7};
    memcpy(c.user_id, user_id, sizeof(c.user_id));
    snprintf(c.name, sizeof(c.name), "key");
    /* A valid P-256 COSE key is not needed: a bad stored key is refused like a bad signature. */
    memset(c.cose_key, 0xa0, 1);
    c.cose_key_len = 1;
    snprintf(c.fmt, sizeof(c.fmt), "none");
    snprintf(c.attestation_type, sizeof(c.attestation_type), "none");
    c.created_at = NOW;
    unsigned char h[ZT_STORE_WA_HANDLE_LEN];
    if (zt_store_webauthn_add(st, &c) != 0 || zt_store_webauthn_handle(st, user_id, true, h) != 0)
        abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (st == NULL)
        setup_store();
    if (size < 1)
        return 0;
    bool reg = (data[0] & 1) == 0;
    json_error_t jerr;
    json_t *body = json_loadb((const char *)data + 1, size - 1, JSON_REJECT_DUPLICATES, &jerr);
    if (body == NULL)
        return 0;
    zt_store_webauthn_challenge c = {.uv_required = true, .expires_at = NOW + 300};
    memcpy(c.binding, binding, sizeof(binding));
    snprintf(c.purpose, sizeof(c.purpose), "%s", reg ? "register" : "login");
    memset(c.challenge, 'c', sizeof(c.challenge));
    if (reg) {
        memcpy(c.user_id, user_id, sizeof(c.user_id));
        memcpy(c.session_hash, session, sizeof(session));
    }
    if (zt_store_webauthn_challenge_put(st, &c, NOW) != 0)
        abort();
    if (reg) {
        zt_passkey_who who = {.binding = binding, .user_id = user_id, .session_hash = session};
        zt_passkey_registered out;
        zt_passkey_register_verify(st, &rp, &who, body, NOW, &out);
    } else {
        zt_passkey_login out;
        zt_passkey_login_verify(st, &rp, binding, body, NOW, &out);
    }
    json_decref(body);
    return 0;
}
