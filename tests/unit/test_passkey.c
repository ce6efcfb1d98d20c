/* The passkey service (session/passkey.h) over a real store in a temp dir, with a software
 * ES256 authenticator written here: challenges used once, expiring, bound to the browser and
 * to the session that asked; options as the contract shapes them; registration and
 * passwordless sign-in; the user handle and the owner checked; a counter going backwards
 * refused with a cloned_credential detection stored; status codes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <sodium.h>

#include "session/passkey.h"
#include "session/session.h"
#include "store/store.h"

#define T0 1800000000
static const char *const ORIGIN = "https://portal.example";

typedef struct fixture {
    char root[64];
    zt_store *st;
    zt_user alice, bob;
    zt_passkey_rp rp;
    char bind_a[ZT_STORE_WA_BINDING_LEN + 1], bind_b[ZT_STORE_WA_BINDING_LEN + 1];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/zt-passkey-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->root};
    char err[256] = "";
    f->st = zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    assert_int_equal(zt_store_user_add(f->st, "alice@example.com", "Alice", "", NULL, 0, &f->alice),
                     0);
    assert_int_equal(zt_store_user_add(f->st, "bob@example.com", "Bob", "", NULL, 0, &f->bob), 0);
    f->rp = (zt_passkey_rp){.rp_id = "portal.example", .origin = ORIGIN, .name = "ztgate"};
    char cookie[ZT_PASSKEY_BINDING_COOKIE_LEN + 1];
    zt_passkey_binding_new(cookie, f->bind_a);
    zt_passkey_binding_new(cookie, f->bind_b);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_user_dispose(&f->alice);
    zt_user_dispose(&f->bob);
    nftw(f->root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- a software authenticator ---- */

typedef struct authenticator {
    EVP_PKEY *key;
    unsigned char id[16];
    unsigned char handle[ZT_STORE_WA_HANDLE_LEN];
    uint32_t counter;
} authenticator;

static void b64(const unsigned char *p, size_t n, char *out, size_t cap)
{
    sodium_bin2base64(out, cap, p, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

static size_t unb64(const char *s, unsigned char *out, size_t cap)
{
    size_t n = 0;
    assert_int_equal(sodium_base642bin(out, cap, s, strlen(s), NULL, &n, NULL,
                                       sodium_base64_VARIANT_URLSAFE_NO_PADDING),
                     0);
    return n;
}

static void auth_new(authenticator *a)
{
    memset(a, 0, sizeof(*a));
    a->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
    assert_non_null(a->key);
    randombytes_buf(a->id, sizeof(a->id));
}

static size_t put(unsigned char *p, size_t at, const void *src, size_t n)
{
    memcpy(p + at, src, n);
    return at + n;
}

/* rpIdHash | flags | counter [| aaguid | id length | id | COSE key] */
static size_t auth_data(authenticator *a, uint8_t flags, unsigned char *out)
{
    size_t n = 0;
    crypto_hash_sha256(out, (const unsigned char *)"portal.example", 14);
    n = 32;
    out[n++] = flags;
    unsigned char c[4] = {a->counter >> 24, a->counter >> 16, a->counter >> 8, a->counter};
    n = put(out, n, c, 4);
    if ((flags & 0x40) == 0)
        return n;
    memset(out + n, 0, 16);
    n += 16;
    unsigned char len[2] = {0, sizeof(a->id)};
    n = put(out, n, len, 2);
    n = put(out, n, a->id, sizeof(a->id));
    BIGNUM *x = NULL, *y = NULL;
    assert_int_equal(EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_X, &x), 1);
    assert_int_equal(EVP_PKEY_get_bn_param(a->key, OSSL_PKEY_PARAM_EC_PUB_Y, &y), 1);
    static const unsigned char head[] = {0xa5, 0x01, 0x02, 0x03, 0x26,
                                         0x20, 0x01, 0x21, 0x58, 0x20};
    n = put(out, n, head, sizeof(head));
    BN_bn2binpad(x, out + n, 32);
    n += 32;
    out[n++] = 0x22;
    out[n++] = 0x58;
    out[n++] = 0x20;
    BN_bn2binpad(y, out + n, 32);
    n += 32;
    BN_free(x);
    BN_free(y);
    return n;
}

static size_t client_data(const char *type, const char *challenge, const char *origin, char *out,
                          size_t cap)
{
    int n = snprintf(out, cap, "{\"type\":\"%s\",\"challenge\":\"%s\",\"origin\":\"%s\"}", type,
                     challenge, origin);
    return (size_t)n;
}

static json_t *create(authenticator *a, const json_t *opts, const char *name)
{
    unb64(json_string_value(json_object_get(json_object_get(opts, "user"), "id")), a->handle,
          sizeof(a->handle));
    unsigned char ad[512], att[600];
    size_t adn = auth_data(a, 0x45, ad);
    static const unsigned char head[] = {0xa3, 0x63, 'f', 'm', 't', 0x64, 'n', 'o', 'n',  'e',
                                         0x67, 'a',  't', 't', 'S', 't',  'm', 't', 0xa0, 0x68,
                                         'a',  'u',  't', 'h', 'D', 'a',  't', 'a', 0x58};
    size_t n = put(att, 0, head, sizeof(head));
    att[n++] = (unsigned char)adn;
    n = put(att, n, ad, adn);
    char cd[512], cd64[700], att64[900], id64[40];
    size_t cdn =
        client_data("webauthn.create", json_string_value(json_object_get(opts, "challenge")),
                    ORIGIN, cd, sizeof(cd));
    b64((unsigned char *)cd, cdn, cd64, sizeof(cd64));
    b64(att, n, att64, sizeof(att64));
    b64(a->id, sizeof(a->id), id64, sizeof(id64));
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:[s]}, s:s}", "id", id64, "rawId", id64, "type",
                     "public-key", "response", "clientDataJSON", cd64, "attestationObject", att64,
                     "transports", "usb", "name", name);
}

static json_t *get(authenticator *a, const json_t *opts, uint32_t counter,
                   const unsigned char *handle)
{
    a->counter = counter;
    unsigned char ad[64], msg[128], sig[128];
    size_t adn = auth_data(a, 0x05, ad);
    char cd[512], cd64[700], ad64[100], sig64[200], id64[40], uh64[64];
    size_t cdn = client_data("webauthn.get", json_string_value(json_object_get(opts, "challenge")),
                             ORIGIN, cd, sizeof(cd));
    memcpy(msg, ad, adn);
    crypto_hash_sha256(msg + adn, (unsigned char *)cd, cdn);
    size_t sn = sizeof(sig);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, a->key), 1);
    assert_int_equal(EVP_DigestSign(md, sig, &sn, msg, adn + 32), 1);
    EVP_MD_CTX_free(md);
    b64((unsigned char *)cd, cdn, cd64, sizeof(cd64));
    b64(ad, adn, ad64, sizeof(ad64));
    b64(sig, sn, sig64, sizeof(sig64));
    b64(a->id, sizeof(a->id), id64, sizeof(id64));
    b64(handle != NULL ? handle : a->handle, ZT_STORE_WA_HANDLE_LEN, uh64, sizeof(uh64));
    return json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s}}", "id", id64, "rawId", id64, "type",
                     "public-key", "response", "clientDataJSON", cd64, "authenticatorData", ad64,
                     "signature", sig64, "userHandle", uh64);
}

static zt_passkey_who who_alice(fixture *f, const char *binding, const char *session)
{
    return (zt_passkey_who){.binding = binding,
                            .user_id = f->alice.id,
                            .session_hash = session,
                            .email = "alice@example.com"};
}

#define SESS_A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define SESS_B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"

static void register_alice(fixture *f, authenticator *a)
{
    zt_passkey_who w = who_alice(f, f->bind_a, SESS_A);
    json_t *opts = NULL;
    assert_int_equal(zt_passkey_register_options(f->st, &f->rp, &w, NULL, T0, &opts),
                     ZT_PASSKEY_OK);
    json_t *body = create(a, opts, "Key");
    zt_passkey_registered reg;
    zt_passkey_status s = zt_passkey_register_verify(f->st, &f->rp, &w, body, T0 + 1, &reg);
    if (s != ZT_PASSKEY_OK)
        fail_msg("register: %s (%s)", zt_passkey_status_code(s), reg.why ? reg.why : "");
    assert_string_equal(reg.name, "Key");
    json_decref(body);
    json_decref(opts);
}

/* ---- tests ---- */

static void test_bindings_and_codes(void **state)
{
    (void)state;
    char cookie[ZT_PASSKEY_BINDING_COOKIE_LEN + 1], b1[65], b2[65];
    zt_passkey_binding_new(cookie, b1);
    assert_int_equal(strlen(cookie), ZT_PASSKEY_BINDING_COOKIE_LEN);
    assert_true(zt_passkey_binding_of(cookie, strlen(cookie), b2));
    assert_string_equal(b1, b2);
    assert_false(zt_passkey_binding_of(cookie, strlen(cookie) - 1, b2));
    cookie[3] = '!';
    assert_false(zt_passkey_binding_of(cookie, strlen(cookie), b2));
    assert_string_equal(zt_passkey_status_code(ZT_PASSKEY_NO_CHALLENGE), "invalid_challenge");
    assert_int_equal(zt_passkey_status_http(ZT_PASSKEY_CLONED), 401);
    assert_int_equal(zt_passkey_status_http(ZT_PASSKEY_EXISTS), 409);
    assert_int_equal(zt_passkey_status_http(ZT_PASSKEY_ERROR), 503);
    assert_int_equal(zt_passkey_status_http((zt_passkey_status)99), 503);
}

/* Used once (a failed verify uses it up too), for its browser only, for its session only,
 * never after it expired. */
static void test_challenge_rules(void **state)
{
    fixture *f = *state;
    authenticator a;
    auth_new(&a);
    zt_passkey_who w = who_alice(f, f->bind_a, SESS_A);
    zt_passkey_registered reg;
    json_t *opts = NULL, *body = NULL;

    /* Another browser's binding finds nothing. */
    assert_int_equal(zt_passkey_register_options(f->st, &f->rp, &w, NULL, T0, &opts),
                     ZT_PASSKEY_OK);
    body = create(&a, opts, "Key");
    zt_passkey_who other = who_alice(f, f->bind_b, SESS_A);
    assert_int_equal(zt_passkey_register_verify(f->st, &f->rp, &other, body, T0, &reg),
                     ZT_PASSKEY_NO_CHALLENGE);
    /* Another session of the same browser: refused, and the challenge is gone. */
    zt_passkey_who sess_b = who_alice(f, f->bind_a, SESS_B);
    assert_int_equal(zt_passkey_register_verify(f->st, &f->rp, &sess_b, body, T0, &reg),
                     ZT_PASSKEY_WRONG_SESSION);
    assert_int_equal(zt_passkey_register_verify(f->st, &f->rp, &w, body, T0, &reg),
                     ZT_PASSKEY_NO_CHALLENGE);
    json_decref(body);
    json_decref(opts);

    /* Expired. */
    assert_int_equal(zt_passkey_register_options(f->st, &f->rp, &w, NULL, T0, &opts),
                     ZT_PASSKEY_OK);
    body = create(&a, opts, "Key");
    assert_int_equal(
        zt_passkey_register_verify(f->st, &f->rp, &w, body, T0 + ZT_PASSKEY_TIMEOUT_S, &reg),
        ZT_PASSKEY_EXPIRED);
    json_decref(body);
    json_decref(opts);

    /* A malformed body uses the challenge up: the good one then finds nothing. */
    assert_int_equal(zt_passkey_register_options(f->st, &f->rp, &w, NULL, T0, &opts),
                     ZT_PASSKEY_OK);
    body = create(&a, opts, "Key");
    json_t *bad = json_pack("{s:s}", "type", "public-key");
    assert_int_equal(zt_passkey_register_verify(f->st, &f->rp, &w, bad, T0, &reg),
                     ZT_PASSKEY_BAD_INPUT);
    assert_int_equal(zt_passkey_register_verify(f->st, &f->rp, &w, body, T0, &reg),
                     ZT_PASSKEY_NO_CHALLENGE);
    json_decref(bad);
    json_decref(body);
    json_decref(opts);
    EVP_PKEY_free(a.key);
}

static void test_options_shape(void **state)
{
    fixture *f = *state;
    authenticator a;
    auth_new(&a);
    register_alice(f, &a);
    zt_passkey_who w = who_alice(f, f->bind_a, SESS_A);
    json_t *o = NULL;
    assert_int_equal(zt_passkey_register_options(f->st, &f->rp, &w, "platform", T0, &o),
                     ZT_PASSKEY_OK);
    assert_string_equal(json_string_value(json_object_get(json_object_get(o, "rp"), "id")),
                        "portal.example");
    assert_int_equal(json_array_size(json_object_get(o, "excludeCredentials")), 1);
    json_t *sel = json_object_get(o, "authenticatorSelection");
    assert_string_equal(json_string_value(json_object_get(sel, "residentKey")), "required");
    assert_string_equal(json_string_value(json_object_get(sel, "authenticatorAttachment")),
                        "platform");
    assert_int_equal(json_array_size(json_object_get(o, "pubKeyCredParams")), 3);
    unsigned char raw[64];
    assert_int_equal(unb64(json_string_value(json_object_get(o, "challenge")), raw, sizeof(raw)),
                     32);
    json_decref(o);

    zt_passkey_who anon = {.binding = f->bind_b};
    assert_int_equal(zt_passkey_login_options(f->st, &f->rp, &anon, "/x", T0, &o), ZT_PASSKEY_OK);
    assert_int_equal(json_array_size(json_object_get(o, "allowCredentials")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "userVerification")), "required");
    json_decref(o);
    assert_int_equal(zt_passkey_login_options(f->st, &f->rp, &w, NULL, T0, &o), ZT_PASSKEY_OK);
    assert_int_equal(json_array_size(json_object_get(o, "allowCredentials")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "userVerification")), "preferred");
    json_decref(o);
    EVP_PKEY_free(a.key);
}

static zt_passkey_status sign_in(fixture *f, authenticator *a, uint32_t counter,
                                 const unsigned char *handle, zt_passkey_login *out)
{
    zt_passkey_who anon = {.binding = f->bind_b};
    json_t *o = NULL;
    assert_int_equal(zt_passkey_login_options(f->st, &f->rp, &anon, "/app", T0, &o), ZT_PASSKEY_OK);
    json_t *body = get(a, o, counter, handle);
    zt_passkey_status s = zt_passkey_login_verify(f->st, &f->rp, f->bind_b, body, T0 + 2, out);
    json_decref(body);
    json_decref(o);
    return s;
}

static int count_cloned(void *ctx, const zt_store_detection *d)
{
    if (strcmp(d->type, "cloned_credential") == 0)
        (*(int *)ctx)++;
    return 0;
}

static void test_passwordless(void **state)
{
    fixture *f = *state;
    authenticator a;
    auth_new(&a);
    register_alice(f, &a);
    zt_passkey_login l;
    zt_passkey_status s = sign_in(f, &a, 5, NULL, &l);
    if (s != ZT_PASSKEY_OK)
        fail_msg("sign-in: %s (%s)", zt_passkey_status_code(s), l.why ? l.why : "");
    assert_true(l.passwordless);
    assert_string_equal(l.user_id, f->alice.id);
    assert_string_equal(l.rd, "/app");
    assert_int_equal(l.amr, ZT_AMR_HWK | ZT_AMR_MFA);

    /* The same assertion again: its challenge is gone. */
    zt_passkey_who anon = {.binding = f->bind_b};
    json_t *o = NULL;
    assert_int_equal(zt_passkey_login_options(f->st, &f->rp, &anon, NULL, T0, &o), ZT_PASSKEY_OK);
    json_t *body = get(&a, o, 6, NULL);
    assert_int_equal(zt_passkey_login_verify(f->st, &f->rp, f->bind_b, body, T0, &l),
                     ZT_PASSKEY_OK);
    assert_int_equal(zt_passkey_login_verify(f->st, &f->rp, f->bind_b, body, T0, &l),
                     ZT_PASSKEY_NO_CHALLENGE);
    json_decref(body);
    json_decref(o);

    /* Bob's handle on Alice's credential. */
    unsigned char bob[ZT_STORE_WA_HANDLE_LEN];
    assert_int_equal(zt_store_webauthn_handle(f->st, f->bob.id, true, bob), 0);
    assert_int_equal(sign_in(f, &a, 7, bob, &l), ZT_PASSKEY_USER_MISMATCH);

    /* An unknown credential. */
    authenticator stranger;
    auth_new(&stranger);
    memcpy(stranger.handle, a.handle, sizeof(a.handle));
    assert_int_equal(sign_in(f, &stranger, 1, NULL, &l), ZT_PASSKEY_UNKNOWN_CRED);

    /* The counter going backwards: refused, a detection stored. */
    assert_int_equal(sign_in(f, &a, 3, NULL, &l), ZT_PASSKEY_CLONED);
    assert_true(l.detection_id > 0);
    int n = 0;
    zt_store_risk_filter rf = {.user_id = f->alice.id, .state = -1};
    assert_int_equal(zt_store_detection_list(f->st, &rf, count_cloned, &n), 0);
    assert_int_equal(n, 1);
    /* Marked: refused from now on whatever its counter, with no second detection. */
    assert_int_equal(sign_in(f, &a, 100, NULL, &l), ZT_PASSKEY_CLONED);
    assert_int_equal(l.detection_id, 0);
    n = 0;
    assert_int_equal(zt_store_detection_list(f->st, &rf, count_cloned, &n), 0);
    assert_int_equal(n, 1);
    zt_store_webauthn_cred got;
    assert_int_equal(zt_store_webauthn_get(f->st, a.id, sizeof(a.id), &got), 0);
    assert_int_equal(got.cloned_at, T0 + 2);
    assert_int_equal(got.sign_count, 6);
    /* A cloned credential is no usable factor: it leaves the count. */
    uint64_t usable = 99;
    assert_int_equal(zt_store_webauthn_count(f->st, f->alice.id, &usable), 0);
    assert_int_equal(usable, 0);
    EVP_PKEY_free(a.key);
    EVP_PKEY_free(stranger.key);
}

/* auth.passkey_aaguids: the AAGUID syntax, and the list at registration and at sign-in (a key
 * registered while allowed is refused once the list no longer names it). */
static void test_aaguid_rules(void **state)
{
    fixture *f = *state;
    unsigned char id[16];
    assert_true(zt_passkey_aaguid_parse("ee882879-721c-4913-9775-3dfcce97072a", id));
    assert_int_equal(id[0], 0xee);
    assert_int_equal(id[15], 0x2a);
    assert_true(zt_passkey_aaguid_parse("EE882879-721C-4913-9775-3DFCCE97072A", id));
    static const char *const bad[] = {"",
                                      "ee882879721c491397753dfcce97072a",
                                      "ee882879-721c-4913-9775-3dfcce97072",
                                      "ee882879-721c-4913-9775-3dfcce97072aa",
                                      "ge882879-721c-4913-9775-3dfcce97072a",
                                      "ee88287-9721c-4913-9775-3dfcce97072a"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_false(zt_passkey_aaguid_parse(bad[i], id));

    zt_cfg_word other[] = {{.s = "ee882879-721c-4913-9775-3dfcce97072a"}};
    zt_cfg_word zero[] = {{.s = "00000000-0000-0000-0000-000000000000"}, other[0]};
    zt_passkey_rules rules = {.aaguids = other, .n_aaguids = 1};
    f->rp.rules = &rules;
    authenticator a;
    auth_new(&a);
    zt_passkey_who w = who_alice(f, f->bind_a, SESS_A);
    json_t *opts = NULL;
    assert_int_equal(zt_passkey_register_options(f->st, &f->rp, &w, NULL, T0, &opts),
                     ZT_PASSKEY_OK);
    json_t *body = create(&a, opts, "Key");
    zt_passkey_registered reg;
    assert_int_equal(zt_passkey_register_verify(f->st, &f->rp, &w, body, T0 + 1, &reg),
                     ZT_PASSKEY_NOT_ALLOWED);
    assert_string_equal(zt_passkey_status_code(ZT_PASSKEY_NOT_ALLOWED), "key_not_allowed");
    assert_int_equal(zt_passkey_status_http(ZT_PASSKEY_NOT_ALLOWED), 403);
    json_decref(body);
    json_decref(opts);
    uint64_t n = 99;
    assert_int_equal(zt_store_webauthn_count(f->st, f->alice.id, &n), 0);
    assert_int_equal(n, 0);

    rules = (zt_passkey_rules){.aaguids = zero, .n_aaguids = 2};
    register_alice(f, &a);
    zt_passkey_login l;
    assert_int_equal(sign_in(f, &a, 5, NULL, &l), ZT_PASSKEY_OK);
    rules = (zt_passkey_rules){.aaguids = other, .n_aaguids = 1};
    assert_int_equal(sign_in(f, &a, 6, NULL, &l), ZT_PASSKEY_NOT_ALLOWED);
    assert_non_null(l.why);
    rules.n_aaguids = 0; /* an empty list: any key */
    assert_int_equal(sign_in(f, &a, 7, NULL, &l), ZT_PASSKEY_OK);
    assert_string_equal(zt_passkey_status_code(ZT_PASSKEY_ATTESTATION), "attestation_required");
    EVP_PKEY_free(a.key);
}

int main(void)
{
    if (sodium_init() < 0)
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bindings_and_codes),
        cmocka_unit_test_setup_teardown(test_challenge_rules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_options_shape, setup, teardown),
        cmocka_unit_test_setup_teardown(test_passwordless, setup, teardown),
        cmocka_unit_test_setup_teardown(test_aaguid_rules, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
