/* Device trust, server side: the CA (create, reopen, refusal of a readable key and of a
 * symlink), CSR checks (good, RSA, bad signature, oversized), issued certificates, the revoked
 * serial set, enrolment codes (single use, expiry, one error for every code problem), the
 * whole agent enrolment, posture and alerts in the store, revoke/delete ending sessions, and
 * the in-place upgrade of an older database. Each test owns a temp dir; the store-facing ones
 * run again against PostgreSQL when ZT_TEST_PG_DSN is set (a schema per test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <jansson.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "device/device_int.h"
#include "http/handler.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "pg_fixture.h"
#include "store/store.h"

typedef struct fixture {
    char root[64];
    char state[128];
    char ca_dir[160];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* "" = SQLite in state/ */
    zt_store *st;
    zt_devices *d;
    char user_id[ZT_STORE_ID_LEN + 1];
} fixture;

static int64_t now_s(void)
{
    return zt_wall_us() / 1000000;
}

static zt_devices *devices_open(fixture *f)
{
    zt_devices_cfg cfg = {.store = f->st,
                          .ca_dir = f->ca_dir,
                          .cert_lifetime_s = 86400,
                          .enroll_code_ttl_s = 900,
                          .posture_max_age_s = 3600};
    char err[512] = "";
    zt_devices *d = zt_devices_new(&cfg, err, sizeof(err));
    if (d == NULL)
        print_message("zt_devices_new: %s\n", err);
    return d;
}

/* The store in a temp dir (SQLite) or in a schema of the test's own (PostgreSQL, when
 * ZT_TEST_PG_DSN is set); the CA and the sweep file are in the temp dir either way. */
static int setup_with(void **state, bool pg)
{
    fixture *f = calloc(1, sizeof(*f));
    assert_non_null(f);
    snprintf(f->root, sizeof(f->root), "/tmp/zt-device-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    snprintf(f->ca_dir, sizeof(f->ca_dir), "%s/device-ca", f->state);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    char err[256] = "";
    if (pg) {
        assert_int_equal(mkdir(f->state, 0700), 0);
        f->st = zt_test_pg_open(f->schema, err, sizeof(err));
    } else {
        f->st = zt_store_open(&sc, err, sizeof(err));
    }
    if (f->st == NULL)
        fail_msg("open: %s", err);
    zt_user u;
    assert_int_equal(zt_store_user_add(f->st, "alice@example.org", "Alice", "", NULL, 0, &u), 0);
    memcpy(f->user_id, u.id, sizeof(f->user_id));
    zt_user_dispose(&u);
    f->d = devices_open(f);
    assert_non_null(f->d);
    *state = f;
    return 0;
}

static int setup(void **state)
{
    return setup_with(state, false);
}

static int setup_pg(void **state)
{
    return setup_with(state, true);
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_devices_free(f->d);
    zt_store_close(f->st);
    if (f->schema[0] != '\0')
        zt_test_pg_drop(f->schema);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* ---- CSR helpers ---- */

static char *csr_pem(EVP_PKEY *pub, EVP_PKEY *signer)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *n = X509_NAME_new();
    X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC, (const unsigned char *)"pc-17", -1, -1, 0);
    X509_REQ_set_subject_name(req, n);
    X509_REQ_set_pubkey(req, pub);
    assert_true(X509_REQ_sign(req, signer, EVP_sha256()) > 0);
    BIO *b = BIO_new(BIO_s_mem());
    PEM_write_bio_X509_REQ(b, req);
    char *data = NULL;
    long len = BIO_get_mem_data(b, &data);
    char *out = strndup(data, (size_t)len);
    BIO_free(b);
    X509_NAME_free(n);
    X509_REQ_free(req);
    return out;
}

static char *good_csr(void)
{
    EVP_PKEY *k = EVP_EC_gen("P-256");
    char *pem = csr_pem(k, k);
    EVP_PKEY_free(k);
    return pem;
}

static char *enroll_body(const char *code, const char *csr, const char *extra)
{
    json_t *v = json_pack("{s:s, s:s, s:s, s:s}", "code", code, "csr", csr, "hostname", "pc-17",
                          "platform", "linux");
    if (extra != NULL)
        json_object_set_new(v, extra, json_string("x"));
    char *s = json_dumps(v, JSON_COMPACT);
    json_decref(v);
    return s;
}

/* ---- CA ---- */

static void test_ca_create_and_reopen(void **state)
{
    fixture *f = *state;
    char path[256];
    struct stat sb;
    snprintf(path, sizeof(path), "%s/ca.key", f->ca_dir);
    assert_int_equal(stat(path, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0600);
    assert_int_equal(stat(f->ca_dir, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0700);
    assert_true(X509_check_ca(f->d->ca.cert) > 0);
    /* Validity: about ten years. */
    int days = 0, secs = 0;
    assert_int_equal(ASN1_TIME_diff(&days, &secs, X509_get0_notBefore(f->d->ca.cert),
                                    X509_get0_notAfter(f->d->ca.cert)),
                     1);
    assert_true(days >= 3650 && days <= 3655);
    /* Reopening loads the same CA. */
    char *pem = strdup(f->d->ca.pem);
    zt_devices_free(f->d);
    f->d = devices_open(f);
    assert_non_null(f->d);
    assert_string_equal(pem, f->d->ca.pem);
    free(pem);
}

static void test_ca_refuses_readable_key_and_symlink(void **state)
{
    fixture *f = *state;
    char key[256], err[512];
    snprintf(key, sizeof(key), "%s/ca.key", f->ca_dir);
    zt_ca ca;
    assert_int_equal(chmod(key, 0640), 0);
    assert_int_equal(zt_ca_open(f->ca_dir, now_s(), &ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "readable by group or others"));
    assert_int_equal(chmod(key, 0600), 0);
    /* A symlinked key is refused. */
    char moved[256];
    snprintf(moved, sizeof(moved), "%s/real.key", f->root);
    assert_int_equal(rename(key, moved), 0);
    assert_int_equal(symlink(moved, key), 0);
    assert_int_equal(zt_ca_open(f->ca_dir, now_s(), &ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "symlink"));
    /* A half-created CA (certificate without key) is refused, not replaced. */
    unlink(key);
    assert_int_equal(zt_ca_open(f->ca_dir, now_s(), &ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "half-created"));
    /* A symlinked directory is refused. */
    char link_dir[256];
    snprintf(link_dir, sizeof(link_dir), "%s/ca-link", f->root);
    assert_int_equal(symlink(f->ca_dir, link_dir), 0);
    assert_int_equal(zt_ca_open(link_dir, now_s(), &ca, err, sizeof(err)), -1);
    assert_non_null(strstr(err, "symlink"));
}

/* ---- CSR and signing ---- */

static void test_csr_checks(void **state)
{
    (void)state;
    X509_REQ *req = NULL;
    const char *why = NULL;
    char *pem = good_csr();
    assert_int_equal(zt_csr_parse(pem, strlen(pem), &req, &why), 0);
    X509_REQ_free(req);
    free(pem);

    EVP_PKEY *rsa = EVP_RSA_gen(2048);
    pem = csr_pem(rsa, rsa);
    assert_int_equal(zt_csr_parse(pem, strlen(pem), &req, &why), -1);
    assert_non_null(strstr(why, "P-256"));
    free(pem);
    EVP_PKEY_free(rsa);

    EVP_PKEY *p384 = EVP_EC_gen("P-384");
    pem = csr_pem(p384, p384);
    assert_int_equal(zt_csr_parse(pem, strlen(pem), &req, &why), -1);
    free(pem);
    EVP_PKEY_free(p384);

    /* Signed by another key than the one it carries: the signature does not verify. */
    EVP_PKEY *a = EVP_EC_gen("P-256"), *b = EVP_EC_gen("P-256");
    pem = csr_pem(b, a);
    assert_int_equal(zt_csr_parse(pem, strlen(pem), &req, &why), -1);
    assert_non_null(strstr(why, "signature"));
    free(pem);
    EVP_PKEY_free(a);
    EVP_PKEY_free(b);

    char big[ZT_CSR_MAX_BYTES + 2];
    memset(big, 'A', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    assert_int_equal(zt_csr_parse(big, strlen(big), &req, &why), -1);
    assert_non_null(strstr(why, "8 KiB"));
    assert_int_equal(zt_csr_parse("garbage", 7, &req, &why), -1);
}

static void test_sign_device_cert(void **state)
{
    fixture *f = *state;
    char *pem = good_csr();
    X509_REQ *req = NULL;
    const char *why;
    assert_int_equal(zt_csr_parse(pem, strlen(pem), &req, &why), 0);
    zt_issued is;
    const char *id = "0123456789abcdef0123456789abcdef";
    int64_t now = now_s();
    assert_int_equal(zt_ca_sign(&f->d->ca, req, id, now, 86400, &is), 0);
    assert_true(strlen(is.serial) >= 24 && strlen(is.serial) <= 32);
    assert_int_equal(strlen(is.sha256), 64);
    BIO *b = BIO_new_mem_buf(is.pem, -1);
    X509 *x = PEM_read_bio_X509(b, NULL, NULL, NULL);
    BIO_free(b);
    assert_non_null(x);
    /* Chains to the CA, is a client certificate, names the device in the SAN URI. */
    X509_STORE *store = X509_STORE_new();
    X509_STORE_add_cert(store, f->d->ca.cert);
    X509_STORE_CTX *ctx = X509_STORE_CTX_new();
    X509_STORE_CTX_init(ctx, store, x, NULL);
    X509_STORE_CTX_set_purpose(ctx, X509_PURPOSE_SSL_CLIENT);
    assert_int_equal(X509_verify_cert(ctx), 1);
    X509_STORE_CTX_free(ctx);
    X509_STORE_free(store);
    assert_int_equal(X509_check_ca(x), 0);
    GENERAL_NAMES *gens = X509_get_ext_d2i(x, NID_subject_alt_name, NULL, NULL);
    assert_non_null(gens);
    const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, 0);
    assert_int_equal(g->type, GEN_URI);
    assert_string_equal((const char *)ASN1_STRING_get0_data(g->d.uniformResourceIdentifier),
                        "urn:ztgate:device:0123456789abcdef0123456789abcdef");
    GENERAL_NAMES_free(gens);
    assert_int_equal(ASN1_TIME_cmp_time_t(X509_get0_notBefore(x), (time_t)(now - 299)), -1);
    char serial[ZT_SERIAL_HEX_MAX + 1];
    assert_true(zt_cert_serial_hex(x, serial));
    assert_string_equal(serial, is.serial);
    X509_free(x);
    zt_issued_dispose(&is);
    X509_REQ_free(req);
    free(pem);
}

/* ---- codes and enrolment ---- */

static void test_enroll_code_single_use_and_expiry(void **state)
{
    fixture *f = *state;
    char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1], norm[ZT_ENROLL_CODE_CHARS + 1], hash[65];
    char uid[ZT_STORE_ID_LEN + 1];
    int64_t now = now_s();
    assert_int_equal(zt_device_enroll_code(f->st, f->user_id, 900, now, code), 0);
    assert_int_equal(strlen(code), 11);
    assert_int_equal(code[5], '-');
    for (size_t i = 0; i < 11; i++)
        assert_true(i == 5 || strchr(ZT_ENROLL_ALPHABET, code[i]) != NULL);
    assert_true(zt_enroll_code_normalise(code, strlen(code), norm));
    zt_enroll_code_hash(norm, hash);
    assert_int_equal(zt_store_enroll_code_use(f->st, hash, now, uid), 0);
    assert_string_equal(uid, f->user_id);
    assert_int_equal(zt_store_enroll_code_use(f->st, hash, now, uid), -EACCES);
    char used_msg[256];
    snprintf(used_msg, sizeof(used_msg), "%s", zt_store_errmsg());
    /* Expired. */
    assert_int_equal(zt_device_enroll_code(f->st, f->user_id, 60, now, code), 0);
    assert_true(zt_enroll_code_normalise(code, strlen(code), norm));
    zt_enroll_code_hash(norm, hash);
    assert_int_equal(zt_store_enroll_code_use(f->st, hash, now + 61, uid), -EACCES);
    assert_string_equal(zt_store_errmsg(), used_msg);
    /* Unknown. */
    memset(hash, 'a', 64);
    assert_int_equal(zt_store_enroll_code_use(f->st, hash, now, uid), -EACCES);
    assert_string_equal(zt_store_errmsg(), used_msg);
    /* Normalisation: lowercase and dashes are fine, look-alikes are not. */
    assert_true(zt_enroll_code_normalise("abcde-fghjk", 11, norm));
    assert_string_equal(norm, "ABCDEFGHJK");
    assert_false(zt_enroll_code_normalise("ABCDE-FGHI0", 11, norm));
    assert_false(zt_enroll_code_normalise("ABCDE", 5, norm));
}

/* Several gateways (store handles of their own) racing to use one enrolment code: exactly
 * one gets the user, the others the one refusal. */
#define CODE_RACERS 4

typedef struct code_racer {
    zt_store *st;
    const char *hash;
    int64_t now;
    int rc;
} code_racer;

static void *code_race_thread(void *p)
{
    code_racer *r = p;
    char uid[ZT_STORE_ID_LEN + 1];
    r->rc = zt_store_enroll_code_use(r->st, r->hash, r->now, uid);
    return NULL;
}

static void test_enroll_code_race(void **state)
{
    fixture *f = *state;
    char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1], norm[ZT_ENROLL_CODE_CHARS + 1], hash[65];
    int64_t now = now_s();
    assert_int_equal(zt_device_enroll_code(f->st, f->user_id, 900, now, code), 0);
    assert_true(zt_enroll_code_normalise(code, strlen(code), norm));
    zt_enroll_code_hash(norm, hash);
    code_racer r[CODE_RACERS];
    pthread_t th[CODE_RACERS];
    for (int i = 0; i < CODE_RACERS; i++) {
        char err[256] = "";
        zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
        r[i] = (code_racer){.hash = hash, .now = now};
        r[i].st = f->schema[0] != '\0' ? zt_test_pg_reopen(f->schema, err, sizeof(err))
                                       : zt_store_open(&sc, err, sizeof(err));
        if (r[i].st == NULL)
            fail_msg("open: %s", err);
    }
    for (int i = 0; i < CODE_RACERS; i++)
        assert_int_equal(pthread_create(&th[i], NULL, code_race_thread, &r[i]), 0);
    int ok = 0, refused = 0;
    for (int i = 0; i < CODE_RACERS; i++) {
        pthread_join(th[i], NULL);
        ok += r[i].rc == 0;
        refused += r[i].rc == -EACCES;
        zt_store_close(r[i].st);
    }
    assert_int_equal(ok, 1);
    assert_int_equal(refused, CODE_RACERS - 1);
}

static void test_enroll_run(void **state)
{
    fixture *f = *state;
    int64_t now = now_s();
    char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1];
    assert_int_equal(zt_device_enroll_code(f->st, f->user_id, 900, now, code), 0);
    char *csr = good_csr();
    zt_enroll_result res;
    const char *why;

    /* Unknown key and a broken CSR are 400 and do not spend the code. */
    char *body = enroll_body(code, csr, "extra");
    assert_int_equal(zt_enroll_run(f->d, body, strlen(body), now, &res, &why),
                     ZT_ENROLL_BAD_REQUEST);
    free(body);
    body = enroll_body(code, "-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n", NULL);
    assert_int_equal(zt_enroll_run(f->d, body, strlen(body), now, &res, &why),
                     ZT_ENROLL_BAD_REQUEST);
    free(body);
    body = enroll_body("ZZZZZ-ZZZZZ", csr, NULL);
    assert_int_equal(zt_enroll_run(f->d, body, strlen(body), now, &res, &why), ZT_ENROLL_BAD_CODE);
    free(body);
    const char *not_obj = "[1]";
    assert_int_equal(zt_enroll_run(f->d, not_obj, 3, now, &res, &why), ZT_ENROLL_BAD_REQUEST);

    body = enroll_body(code, csr, NULL);
    assert_int_equal(zt_enroll_run(f->d, body, strlen(body), now, &res, &why), ZT_ENROLL_OK);
    assert_string_equal(res.email, "alice@example.org");
    assert_int_equal(strlen(res.device_id), 32);
    zt_store_device dev;
    assert_int_equal(zt_store_device_get(f->st, res.device_id, &dev), 0);
    assert_string_equal(dev.user_id, f->user_id);
    assert_string_equal(dev.cert_serial, res.cert.serial);
    assert_string_equal(dev.name, "pc-17");
    zt_issued_dispose(&res.cert);
    /* The same code again: 403, and no second device. */
    assert_int_equal(zt_enroll_run(f->d, body, strlen(body), now, &res, &why), ZT_ENROLL_BAD_CODE);
    free(body);
    free(csr);

    zt_device_state st;
    assert_int_equal(zt_devices_state(f->d, dev.id, now, &st), 0);
    assert_true(st.known);
    assert_false(st.compliant); /* no posture report yet */
    assert_string_equal(st.user_id, f->user_id);
}

/* ---- store: revoke, delete, posture, alerts ---- */

static void make_device(fixture *f, const char *id, const char *serial, zt_store_device *out)
{
    zt_store_device d = {.enrolled_at = now_s(), .cert_not_after = now_s() + 86400};
    snprintf(d.id, sizeof(d.id), "%s", id);
    memcpy(d.user_id, f->user_id, sizeof(d.user_id));
    snprintf(d.name, sizeof(d.name), "pc-1");
    snprintf(d.platform, sizeof(d.platform), "linux");
    snprintf(d.cert_serial, sizeof(d.cert_serial), "%s", serial);
    memset(d.cert_sha256, 'b', 64);
    assert_int_equal(zt_store_device_create(f->st, &d), 0);
    assert_int_equal(zt_store_device_get(f->st, id, out), 0);
}

static void test_revoked_set(void **state)
{
    fixture *f = *state;
    zt_store_device a, b;
    make_device(f, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "abc123", &a);
    make_device(f, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "def456", &b);
    /* A session bound to device a. */
    zt_store_session s = {.created_at = now_s(),
                          .auth_time = now_s(),
                          .idle_expires_at = now_s() + 600,
                          .absolute_expires_at = now_s() + 3600};
    memset(s.id_hash, 'c', 64);
    memcpy(s.user_id, f->user_id, sizeof(s.user_id));
    memcpy(s.device_id, a.id, sizeof(a.id));
    snprintf(s.host, sizeof(s.host), "app.example.org");
    assert_int_equal(zt_store_session_create(f->st, &s), 0);

    zt_devices_refresh_revoked(f->d);
    assert_false(zt_devices_serial_revoked(f->d, "abc123"));
    assert_int_equal(zt_store_device_revoke(f->st, a.id, now_s()), 0);
    assert_int_equal(zt_store_device_revoke(f->st, a.id, now_s()), -EALREADY);
    zt_store_session got;
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &got), -ENOENT);
    assert_false(zt_devices_serial_revoked(f->d, "abc123")); /* not until refreshed */
    zt_devices_refresh_revoked(f->d);
    assert_true(zt_devices_serial_revoked(f->d, "abc123"));
    assert_false(zt_devices_serial_revoked(f->d, "def456"));
    zt_device_state st;
    assert_int_equal(zt_devices_state(f->d, a.id, now_s(), &st), 0);
    assert_false(st.known);

    /* Deleting keeps the serial revoked; so does deleting the user (trigger). */
    assert_int_equal(zt_store_device_delete(f->st, b.id, now_s()), 0);
    assert_int_equal(zt_store_device_get(f->st, b.id, &b), -ENOENT);
    zt_devices_refresh_revoked(f->d);
    assert_true(zt_devices_serial_revoked(f->d, "def456"));
    make_device(f, "cccccccccccccccccccccccccccccccc", "0fed", &b);
    assert_int_equal(zt_store_user_delete(f->st, f->user_id), 0);
    zt_devices_refresh_revoked(f->d);
    assert_true(zt_devices_serial_revoked(f->d, "0fed"));
}

static int count_alert(void *ctx, const zt_store_alert *a)
{
    (*(int *)ctx)++;
    return 0;
}

static void test_posture_and_alerts(void **state)
{
    fixture *f = *state;
    zt_store_device d;
    make_device(f, "dddddddddddddddddddddddddddddddd", "1234", &d);
    int64_t now = now_s();
    assert_int_equal(zt_store_device_posture_add(f->st, d.id, now, "{\"a\":1}", true, ""), 0);
    char *json = NULL;
    int64_t at = 0;
    assert_int_equal(zt_store_device_posture_get(f->st, d.id, &json, &at), 0);
    assert_string_equal(json, "{\"a\":1}");
    assert_int_equal(at, now);
    free(json);

    zt_store_alert a = {.detected_at = now, .updated_at = now};
    memcpy(a.device_id, d.id, sizeof(a.device_id));
    snprintf(a.path, sizeof(a.path), "/home/alice/x.com");
    memset(a.sha256, 'e', 64);
    snprintf(a.signature, sizeof(a.signature), "Eicar-Test-Signature");
    assert_int_equal(zt_store_device_alert_add(f->st, &a), 0);
    assert_int_equal(zt_store_device_get(f->st, d.id, &d), 0);
    assert_int_equal(d.risk, 3);
    assert_int_equal(d.unresolved_alerts, 1);
    /* The same detection again does not make a second alert. */
    assert_int_equal(zt_store_device_alert_add(f->st, &a), 0);
    uint64_t n = 0;
    assert_int_equal(
        zt_store_device_alert_set_path(f->st, d.id, a.path, ZT_STORE_ALERT_QUARANTINED, now, &n),
        0);
    assert_int_equal(n, 1);
    assert_int_equal(zt_store_device_get(f->st, d.id, &d), 0);
    assert_int_equal(d.risk, 3); /* quarantined but not yet clean */
    int active = 0;
    assert_int_equal(zt_store_device_alert_list_active(f->st, d.id, count_alert, &active), 0);
    assert_int_equal(active, 1);
    assert_int_equal(
        zt_store_device_alert_set_path(f->st, d.id, a.path, ZT_STORE_ALERT_RESOLVED, now, &n), 0);
    assert_int_equal(zt_store_device_get(f->st, d.id, &d), 0);
    assert_int_equal(d.risk, 0);
    assert_int_equal(d.unresolved_alerts, 0);

    /* A revoked device takes neither posture nor alerts. */
    assert_int_equal(zt_store_device_revoke(f->st, d.id, now), 0);
    assert_int_equal(zt_store_device_posture_add(f->st, d.id, now, "{}", true, ""), -ENOENT);
    assert_int_equal(zt_store_device_alert_add(f->st, &a), -ENOENT);
}

/* ---- silent agents: the sweep ---- */

typedef struct records {
    int n;
    char last[8192];
} records;

static int collect(void *ctx, const char *json, size_t len)
{
    records *r = ctx;
    r->n++;
    snprintf(r->last, sizeof(r->last), "%.*s", (int)len, json);
    return 0;
}

static const char *record_str(const char *json, const char *obj, const char *key)
{
    static char out[256];
    json_t *v = json_loads(json, 0, NULL);
    json_t *o = obj ? json_object_get(v, obj) : v;
    snprintf(out, sizeof(out), "%s", json_string_value(json_object_get(o, key)) ?: "");
    json_decref(v);
    return out;
}

static void test_silent_sweep(void **state)
{
    fixture *f = *state;
    char sweep[200];
    snprintf(sweep, sizeof(sweep), "%s/device-sweep", f->state);
    zt_devices_cfg cfg = {.store = f->st,
                          .ca_dir = f->ca_dir,
                          .posture_max_age_s = 600,
                          .silent_after_s = 60,
                          .sweep_file = sweep};
    char err[512] = "";
    zt_devices *d = zt_devices_new(&cfg, err, sizeof(err));
    assert_non_null(d);
    assert_int_equal(zt_devices_sweep_interval_ms(d), 15000);
    zt_store_device dev;
    make_device(f, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "5678", &dev);
    int64_t t0 = now_s();
    assert_int_equal(zt_store_device_posture_add(f->st, dev.id, t0, "{}", true, ""), 0);
    records rec = {0};
    zt_devices_sweep_result res;

    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 30, collect, &rec, &res), 0);
    assert_int_equal(res.silent + res.stale + rec.n, 0);
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 61, collect, &rec, &res), 0);
    assert_int_equal(res.silent, 1);
    assert_int_equal(rec.n, 1);
    assert_string_equal(record_str(rec.last, "unmapped", "signal_type"), "device_silent");
    assert_string_equal(record_str(rec.last, "device", "uid"), dev.id);
    /* Once per silence, also for a fresh zt_devices (a restart) reading the same file. */
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 200, collect, &rec, &res), 0);
    assert_int_equal(res.silent, 0);
    zt_devices_free(d);
    d = zt_devices_new(&cfg, err, sizeof(err));
    assert_non_null(d);
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 300, collect, &rec, &res), 0);
    assert_int_equal(rec.n, 1);

    /* Posture passes posture_max_age: compliance broke by time (and it is no news later). */
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 601, collect, &rec, &res), 0);
    assert_int_equal(res.stale, 1);
    assert_string_equal(record_str(rec.last, "unmapped", "rules"), "posture_stale");
    assert_string_equal(record_str(rec.last, "unmapped", "signal_type"), "device_noncompliant");

    /* The agent reports again: a new silence is a new signal. */
    assert_int_equal(zt_store_device_posture_add(f->st, dev.id, t0 + 700, "{}", true, ""), 0);
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 790, collect, &rec, &res), 0);
    assert_int_equal(res.silent, 1);
    assert_int_equal(rec.n, 3);

    /* Another process sweeping (it holds the lock): this one skips, signalling nothing. */
    int fd = open(sweep, O_RDWR);
    assert_true(fd >= 0);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 5000, collect, &rec, &res), 0);
    assert_true(res.skipped);
    assert_int_equal(rec.n, 3);
    close(fd);
    /* A revoked device is never silent. */
    assert_int_equal(zt_store_device_revoke(f->st, dev.id, t0), 0);
    assert_int_equal(zt_devices_sweep(d, NULL, t0 + 9000, collect, &rec, &res), 0);
    assert_int_equal(res.silent + res.stale, 0);
    zt_devices_free(d);
}

/* The agent's next report asks whether its silence was signalled: only once a sweep (of this
 * process or another one, through the sweep file) covered it. */
static void test_was_silent(void **state)
{
    fixture *f = *state;
    char sweep[200];
    snprintf(sweep, sizeof(sweep), "%s/device-sweep", f->state);
    zt_devices_cfg cfg = {
        .store = f->st, .ca_dir = f->ca_dir, .silent_after_s = 60, .sweep_file = sweep};
    char err[512] = "";
    zt_devices *d = zt_devices_new(&cfg, err, sizeof(err));
    zt_devices *other = zt_devices_new(&cfg, err, sizeof(err));
    assert_non_null(d);
    assert_non_null(other);
    zt_store_device dev;
    make_device(f, "ffffffffffffffffffffffffffffffff", "9abc", &dev);
    int64_t now = now_s(), quiet = 0;
    assert_int_equal(zt_store_device_posture_add(f->st, dev.id, now - 1000, "{}", true, ""), 0);
    assert_int_equal(zt_store_device_get(f->st, dev.id, &dev), 0);
    assert_false(zt_devices_was_silent(d, &dev, &quiet)); /* silent, but not signalled yet */
    zt_devices_sweep_result res;
    assert_int_equal(zt_devices_sweep(other, NULL, now, NULL, NULL, &res), 0);
    assert_int_equal(res.silent, 1);
    assert_true(zt_devices_was_silent(d, &dev, &quiet)); /* the other one's sweep counts */
    assert_true(quiet >= 1000 && quiet < 1100);
    assert_int_equal(zt_store_device_posture_add(f->st, dev.id, now, "{}", true, ""), 0);
    assert_int_equal(zt_store_device_get(f->st, dev.id, &dev), 0);
    assert_false(zt_devices_was_silent(d, &dev, &quiet)); /* it reported just now */
    zt_devices_free(other);
    zt_devices_free(d);
}

static void test_store_rejects_bad_input(void **state)
{
    fixture *f = *state;
    zt_store_device d = {.enrolled_at = 1, .cert_not_after = 2};
    snprintf(d.id, sizeof(d.id), "NOT-HEX");
    assert_int_equal(zt_store_device_create(f->st, &d), -EINVAL);
    assert_int_equal(zt_store_enroll_code_add(f->st, "xyz", f->user_id, 1, 2), -EINVAL);
}

/* ---- migration from the previous schema ---- */

static void test_migration_from_older_db(void **state)
{
    fixture *f = *state;
    zt_devices_free(f->d);
    f->d = NULL;
    zt_store_close(f->st);
    f->st = NULL;
    /* Turn the database back into the previous schema: no device tables, older version. */
    char db[256];
    snprintf(db, sizeof(db), "%s/ztgate.db", f->state);
    sqlite3 *h = NULL;
    assert_int_equal(sqlite3_open(db, &h), SQLITE_OK);
    char sql[2048];
    snprintf(sql, sizeof(sql),
             "DROP INDEX admin_tokens_parent; ALTER TABLE admin_tokens DROP COLUMN parent_id;"
             "DROP INDEX users_external; DROP INDEX users_source; DROP INDEX users_expires;"
             "DROP INDEX groups_external; ALTER TABLE users DROP COLUMN source;"
             "ALTER TABLE users DROP COLUMN external_id; ALTER TABLE users DROP COLUMN expires_at;"
             "ALTER TABLE users DROP COLUMN sponsor; ALTER TABLE users DROP COLUMN last_sign_in_at;"
             "ALTER TABLE users DROP COLUMN attrs; ALTER TABLE memberships DROP COLUMN source;"
             "ALTER TABLE groups DROP COLUMN source; ALTER TABLE groups DROP COLUMN external_id;"
             "ALTER TABLE groups DROP COLUMN display_name;"
             "ALTER TABLE sessions DROP COLUMN passkey_aaguid; "
             "ALTER TABLE sessions DROP COLUMN amr; DROP TABLE webauthn_challenges; "
             "ALTER TABLE webauthn_credentials DROP COLUMN cloned_at; "
             "DROP TABLE device_alerts; DROP TABLE device_posture_history; DROP TABLE "
             "devices; DROP TABLE enroll_codes; DROP TABLE device_revoked_certs; "
             "PRAGMA user_version = %d;",
             3); /* migration 4 created the device tables */
    assert_int_equal(sqlite3_exec(h, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(h);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    char err[256] = "";
    f->st = zt_store_open(&sc, err, sizeof(err));
    assert_non_null(f->st);
    zt_store_device d;
    make_device(f, "eeeeeeeeeeeeeeeeeeeeeeeeeeeeeeee", "99", &d);
    assert_string_equal(d.email, "alice@example.org");
    f->d = devices_open(f);
    assert_non_null(f->d);
}

/* The sign-in of `ztagent tunnel`: what the agent may name and what a person may type. */
static void test_agent_signin_inputs(void **state)
{
    (void)state;
    assert_true(zt_agent_app_valid("ssh.hospital.example:22"));
    assert_true(zt_agent_app_valid("db-1.internal:5432"));
    const char *bad_apps[] = {"",
                              "ssh.test",
                              ":22",
                              "ssh.test:",
                              "ssh.test:0",
                              "ssh.test:65536",
                              "SSH.test:22",
                              "ssh test:22",
                              "ssh.test:22x",
                              "[::1]:22",
                              "ssh.test:-1",
                              "a/b:22"};
    for (size_t i = 0; i < sizeof(bad_apps) / sizeof(bad_apps[0]); i++)
        assert_false(zt_agent_app_valid(bad_apps[i]));
    char code[ZT_AGENT_USER_CODE_CHARS + 1];
    assert_true(zt_agent_user_code_normalise("kdmw-7qpx", 9, code));
    assert_string_equal(code, "KDMW7QPX");
    assert_true(zt_agent_user_code_normalise(" KDMW 7QPX ", 11, code));
    const char *bad_codes[] = {"KDMW-7QP",  "KDMW-7QPXX", "KDMW-7QP0" /* 0 is a look-alike */,
                               "KDMW-7QPI", "KDMW_7QPX",  ""};
    for (size_t i = 0; i < sizeof(bad_codes) / sizeof(bad_codes[0]); i++)
        assert_false(zt_agent_user_code_normalise(bad_codes[i], strlen(bad_codes[i]), code));
    char nul[] = "KDMW\0"
                 "7QPX";
    assert_false(zt_agent_user_code_normalise(nul, 9, code));
}

/* Wrong agent sign-in codes are counted per user in a fixed table. A crowd of users with one
 * typo each must not throttle a newcomer (the oldest small counter gives way), and a user who
 * reached the limit stays throttled however many others come after. */
static void test_agent_signin_wrong_code_table(void **state)
{
    fixture *f = *state;
    zt_services svc = {0}; /* no audit log: records are accepted and dropped */
    zt_local_req req = {.svc = &svc, .request_id = "test", .ip = "127.0.0.1"}, *r = &req;
    zt_agent_pending p;
    char user[32];
    int64_t now = 1000000;
    for (int i = 0; i < 5; i++)
        assert_int_equal(zt_agent_signin_lookup(f->d, r, "attacker", "a@x", "BBBB-BBBB", now, &p),
                         ZT_AGENT_LOOKUP_BAD_CODE);
    assert_int_equal(zt_agent_signin_lookup(f->d, r, "attacker", "a@x", "BBBB-BBBB", now, &p),
                     ZT_AGENT_LOOKUP_THROTTLED);
    for (int i = 0; i < 300; i++) {
        snprintf(user, sizeof(user), "user-%d", i);
        assert_int_equal(zt_agent_signin_lookup(f->d, r, user, "u@x", "BBBB-BBBB", now + i, &p),
                         ZT_AGENT_LOOKUP_BAD_CODE);
    }
    assert_int_equal(zt_agent_signin_lookup(f->d, r, "attacker", "a@x", "BBBB-BBBB", now + 400, &p),
                     ZT_AGENT_LOOKUP_THROTTLED);
    /* The window ends: the attacker may try again. */
    assert_int_equal(zt_agent_signin_lookup(f->d, r, "attacker", "a@x", "BBBB-BBBB", now + 901, &p),
                     ZT_AGENT_LOOKUP_BAD_CODE);
}

int main(void)
{
    if (!zt_secure_init())
        return 1;
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_ca_create_and_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_ca_refuses_readable_key_and_symlink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_csr_checks, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sign_device_cert, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_code_single_use_and_expiry, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_code_race, setup, teardown),
        cmocka_unit_test_setup_teardown(test_enroll_run, setup, teardown),
        cmocka_unit_test_setup_teardown(test_revoked_set, setup, teardown),
        cmocka_unit_test_setup_teardown(test_posture_and_alerts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_silent_sweep, setup, teardown),
        cmocka_unit_test_setup_teardown(test_was_silent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_rejects_bad_input, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migration_from_older_db, setup, teardown),
        cmocka_unit_test(test_agent_signin_inputs),
        cmocka_unit_test_setup_teardown(test_agent_signin_wrong_code_table, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    /* The store-facing tests again; the CA, CSR and SQLite upgrade tests do not touch it. */
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown)
        PG_TEST(test_enroll_code_single_use_and_expiry),
        PG_TEST(test_enroll_code_race),
        PG_TEST(test_enroll_run),
        PG_TEST(test_revoked_set),
        PG_TEST(test_posture_and_alerts),
        PG_TEST(test_silent_sweep),
        PG_TEST(test_was_silent),
        PG_TEST(test_store_rejects_bad_input),
        PG_TEST(test_agent_signin_wrong_code_table),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
