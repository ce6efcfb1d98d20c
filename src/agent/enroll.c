/* `ztagent enroll`: make the device key and CSR, trade an enrolment code for a device
 * certificate, and store what later calls need. Nothing is written to AGENT_DIR unless the
 * server issued a certificate for our key. */
#include "agent/agent.h"
#include "agent/client.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#define CODE_MAX 64

typedef struct enroll_opts {
    const char *server;
    const char *code;
    const char *ca_file;
    const char *pin; /* --server-sha256 as given; pin_hex normalised */
    char pin_hex[65];
    const char *dir;
    bool tofu;
    bool force;
} enroll_opts;

/* PEM of a BIO's contents as a NUL-terminated heap string. */
static char *bio_string(BIO *b)
{
    char *p;
    long n = BIO_get_mem_data(b, &p);
    char *s = n >= 0 ? malloc((size_t)n + 1) : NULL;
    if (s != NULL) {
        memcpy(s, p, (size_t)n);
        s[n] = '\0';
    }
    return s;
}

static char *make_csr(EVP_PKEY *key, const char *hostname)
{
    X509_REQ *req = X509_REQ_new();
    X509_NAME *name = X509_NAME_new();
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    /* The CN is a placeholder: the server sets the real subject (the device id). */
    if (req == NULL || name == NULL || b == NULL || X509_REQ_set_version(req, 0) != 1 ||
        X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, (const unsigned char *)hostname, -1,
                                   -1, 0) != 1 ||
        X509_REQ_set_subject_name(req, name) != 1 || X509_REQ_set_pubkey(req, key) != 1 ||
        X509_REQ_sign(req, key, EVP_sha256()) <= 0 || PEM_write_bio_X509_REQ(b, req) != 1)
        goto out;
    pem = bio_string(b);
out:
    BIO_free(b);
    X509_NAME_free(name);
    X509_REQ_free(req);
    return pem;
}

static char *key_pem(EVP_PKEY *key)
{
    BIO *b = BIO_new(BIO_s_mem());
    char *pem = NULL;
    if (b != NULL && PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) == 1)
        pem = bio_string(b);
    BIO_free(b);
    return pem;
}

/* The issued certificate must parse and be for our key; the CA must parse. */
static int check_issued(const char *cert_pem, const char *ca_pem, EVP_PKEY *key)
{
    BIO *b = BIO_new_mem_buf(cert_pem, -1);
    X509 *cert = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    b = BIO_new_mem_buf(ca_pem, -1);
    X509 *ca = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
    BIO_free(b);
    int rc = -1;
    if (cert == NULL)
        fprintf(stderr, "ztagent: the server's certificate is not a PEM certificate\n");
    else if (ca == NULL)
        fprintf(stderr, "ztagent: the server's CA is not a PEM certificate\n");
    else if (X509_check_private_key(cert, key) != 1)
        fprintf(stderr, "ztagent: the server issued a certificate for another key\n");
    else if (X509_verify(cert, X509_get0_pubkey(ca)) != 1)
        fprintf(stderr, "ztagent: the issued certificate is not signed by the returned CA\n");
    else
        rc = 0;
    ERR_clear_error();
    X509_free(cert);
    X509_free(ca);
    return rc;
}

static int validate_answer(json_t *ans, EVP_PKEY *key)
{
    const char *id = json_string_value(json_object_get(ans, "device_id"));
    const char *cert = json_string_value(json_object_get(ans, "certificate"));
    const char *ca = json_string_value(json_object_get(ans, "ca"));
    const char *user = json_string_value(json_object_get(ans, "user"));
    if (id == NULL || strlen(id) != 32 || !zta_is_lower_hex(id, 32)) {
        fprintf(stderr, "ztagent: the server's answer has no valid device_id\n");
        return -1;
    }
    if (cert == NULL || ca == NULL || strlen(cert) > 16384 || strlen(ca) > 16384) {
        fprintf(stderr, "ztagent: the server's answer lacks certificate/ca\n");
        return -1;
    }
    if (user == NULL || strlen(user) == 0 || strlen(user) > 255) {
        fprintf(stderr, "ztagent: the server's answer has no valid user\n");
        return -1;
    }
    for (const char *p = user; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f) {
            fprintf(stderr, "ztagent: the server's answer has control bytes in user\n");
            return -1;
        }
    return check_issued(cert, ca, key);
}

static void print_fingerprint_warning(const char *fp)
{
    fprintf(stderr, "\n"
                    "  *** WARNING: --insecure-first-use ***\n"
                    "  The gateway's TLS certificate was NOT verified for this enrolment call.\n"
                    "  Its SHA-256 fingerprint is now pinned for every later call:\n"
                    "      ");
    for (int i = 0; i < 32; i++)
        fprintf(stderr, "%.2s%s", fp + 2 * i, i < 31 ? ":" : "\n");
    fprintf(stderr, "  Compare it with the gateway's certificate out of band, e.g.\n"
                    "      openssl x509 -noout -fingerprint -sha256 -in GATEWAY_CERT.pem\n"
                    "  If they differ, this device enrolled with an impostor: delete the agent\n"
                    "  directory and enrol again with --ca-file.\n\n");
}

static int save_all(zta_ctx *ctx, const enroll_opts *o, EVP_PKEY *key, json_t *ans, const char *fp)
{
    char path[ZTA_PATH_MAX];
    char *kp = key_pem(key);
    int rc = -1;
    if (kp == NULL)
        goto out;
    const char *cert = json_string_value(json_object_get(ans, "certificate"));
    const char *ca = json_string_value(json_object_get(ans, "ca"));
    if (!zta_path(ctx, "device.key", path, sizeof path) ||
        zta_write_file(path, kp, strlen(kp), 0600) != 0)
        goto fail;
    if (!zta_path(ctx, "device.pem", path, sizeof path) ||
        zta_write_file(path, cert, strlen(cert), 0644) != 0)
        goto fail;
    if (!zta_path(ctx, "ca.pem", path, sizeof path) ||
        zta_write_file(path, ca, strlen(ca), 0644) != 0)
        goto fail;
    memset(&ctx->conf, 0, sizeof ctx->conf);
    snprintf(ctx->conf.server, sizeof ctx->conf.server, "%s", o->server);
    size_t sl = strlen(ctx->conf.server);
    if (sl > 0 && ctx->conf.server[sl - 1] == '/')
        ctx->conf.server[sl - 1] = '\0';
    if (o->ca_file != NULL) {
        size_t len;
        char *text = zta_read_file(o->ca_file, 256 * 1024, &len);
        if (text == NULL || !zta_path(ctx, "server-ca.pem", path, sizeof path) ||
            zta_write_file(path, text, len, 0644) != 0) {
            free(text);
            goto fail;
        }
        free(text);
        snprintf(ctx->conf.server_ca, sizeof ctx->conf.server_ca, "server-ca.pem");
    } else {
        memcpy(ctx->conf.server_sha256, fp, 65);
    }
    memcpy(ctx->conf.device_id, json_string_value(json_object_get(ans, "device_id")), 33);
    snprintf(ctx->conf.user, sizeof ctx->conf.user, "%s",
             json_string_value(json_object_get(ans, "user")));
    if (zta_conf_save(ctx) != 0)
        goto out;
    rc = 0;
    goto out;
fail:
    fprintf(stderr, "ztagent: cannot write %s: %s\n", path, strerror(errno));
out:
    if (kp != NULL) {
        OPENSSL_cleanse(kp, strlen(kp));
        free(kp);
    }
    return rc;
}

/* "AB:CD:..." or "abcd..." (what the enrolment page and `openssl x509 -fingerprint -sha256`
 * print) into 64 lower-case hex digits. */
static bool pin_normalise(const char *in, char out[65])
{
    size_t n = 0;
    for (const char *p = in; *p != '\0'; p++) {
        char ch = *p;
        if (ch == ':')
            continue;
        if (ch >= 'A' && ch <= 'F')
            ch = (char)(ch - 'A' + 'a');
        if (!((ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'f')) || n == 64)
            return false;
        out[n++] = ch;
    }
    out[n] = '\0';
    return n == 64;
}

static int parse_opts(int argc, char **argv, enroll_opts *o)
{
    static const struct option longopts[] = {{"server", required_argument, NULL, 's'},
                                             {"code", required_argument, NULL, 'c'},
                                             {"ca-file", required_argument, NULL, 'a'},
                                             {"insecure-first-use", no_argument, NULL, 'i'},
                                             {"server-sha256", required_argument, NULL, 'p'},
                                             {"dir", required_argument, NULL, 'd'},
                                             {"force", no_argument, NULL, 'f'},
                                             {NULL, 0, NULL, 0}};
    int c;
    memset(o, 0, sizeof *o);
    while ((c = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
        switch (c) {
        case 's':
            o->server = optarg;
            break;
        case 'c':
            o->code = optarg;
            break;
        case 'a':
            o->ca_file = optarg;
            break;
        case 'i':
            o->tofu = true;
            break;
        case 'p':
            o->pin = optarg;
            break;
        case 'd':
            o->dir = optarg;
            break;
        case 'f':
            o->force = true;
            break;
        default:
            return -1;
        }
    }
    if (optind != argc || o->server == NULL || o->code == NULL) {
        fprintf(stderr, "usage: ztagent enroll --server URL --code CODE "
                        "(--ca-file FILE | --server-sha256 HEX | --insecure-first-use) "
                        "[--dir DIR] [--force]\n");
        return -1;
    }
    if ((o->ca_file != NULL) + (o->pin != NULL) + o->tofu != 1) {
        fprintf(stderr, "ztagent: give exactly one of --ca-file FILE, --server-sha256 HEX or "
                        "--insecure-first-use\n");
        return -1;
    }
    if (o->pin != NULL && !pin_normalise(o->pin, o->pin_hex)) {
        fprintf(stderr, "ztagent: --server-sha256 wants the 64 hex digits of the gateway "
                        "certificate's SHA-256 (colons allowed)\n");
        return -1;
    }
    size_t n = strlen(o->code);
    if (n == 0 || n > CODE_MAX) {
        fprintf(stderr, "ztagent: the enrolment code must be 1 to %d characters\n", CODE_MAX);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if (!((o->code[i] >= 'A' && o->code[i] <= 'Z') ||
              (o->code[i] >= 'a' && o->code[i] <= 'z') ||
              (o->code[i] >= '0' && o->code[i] <= '9') || o->code[i] == '-')) {
            fprintf(stderr, "ztagent: the enrolment code has characters other than letters, "
                            "digits and '-'\n");
            return -1;
        }
    return 0;
}

static int ensure_dir(const char *dir)
{
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
        fprintf(stderr, "ztagent: cannot create %s: %s\n", dir, strerror(errno));
        return -1;
    }
    struct stat st;
    if (lstat(dir, &st) != 0 || !S_ISDIR(st.st_mode)) {
        fprintf(stderr, "ztagent: %s is not a directory\n", dir);
        return -1;
    }
    return 0;
}

int zta_cmd_enroll(int argc, char **argv)
{
    enroll_opts o;
    zta_ctx ctx;
    if (parse_opts(argc, argv, &o) != 0 || zta_ctx_init(&ctx, o.dir) != 0)
        return ZTA_EXIT_ERR;
    char host_chk[256];
    unsigned port;
    if (zta_url_parse(o.server, host_chk, sizeof host_chk, &port) != 0) {
        fprintf(stderr, "ztagent: --server must be https://HOST[:PORT]\n");
        return ZTA_EXIT_ERR;
    }
    char path[ZTA_PATH_MAX];
    if (!o.force && zta_path(&ctx, "device.pem", path, sizeof path) && access(path, F_OK) == 0) {
        fprintf(stderr, "ztagent: %s is already enrolled; --force enrols again (new key)\n",
                ctx.dir);
        return ZTA_EXIT_ERR;
    }
    if (ensure_dir(ctx.dir) != 0)
        return ZTA_EXIT_ERR;

    int rc = ZTA_EXIT_ERR;
    char hostname[256] = "localhost";
    char *csr = NULL, *text = NULL;
    json_t *body = NULL, *ans = NULL;
    zt_buf resp;
    zt_buf_init(&resp, ZTA_BODY_MAX);
    EVP_PKEY *key = EVP_EC_gen("P-256");
    if (key == NULL) {
        fprintf(stderr, "ztagent: cannot generate a P-256 key\n");
        goto out;
    }
    if (gethostname(hostname, sizeof hostname - 1) != 0 || hostname[0] == '\0')
        snprintf(hostname, sizeof hostname, "localhost");
    csr = make_csr(key, hostname);
    body = csr ? json_pack("{s:s, s:s, s:s, s:s}", "code", o.code, "csr", csr, "hostname", hostname,
                           "platform", "linux")
               : NULL;
    text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    if (text == NULL) {
        fprintf(stderr, "ztagent: cannot build the enrolment request\n");
        goto out;
    }
    zta_tls tls = {
        .ca_file = o.ca_file, .pin_sha256 = o.pin ? o.pin_hex : NULL, .insecure = o.tofu};
    char fp[65] = "", err[512];
    int status = 0;
    if (zta_https(o.server, &tls, "POST", "/.ztgate/device/enroll", text, strlen(text), &status,
                  &resp, fp, err, sizeof err) != 0) {
        fprintf(stderr, "ztagent: enrolment failed: %s\n", err);
        goto out;
    }
    if (status == 403) {
        fprintf(stderr, "ztagent: enrolment refused: the code is unknown, expired or already "
                        "used (403); ask for a new code\n");
        rc = ZTA_EXIT_FAIL;
        goto out;
    }
    json_error_t jerr;
    ans = json_loadb(resp.data ? resp.data : "", resp.len, JSON_REJECT_DUPLICATES, &jerr);
    if (status != 201) {
        const char *m = json_string_value(json_object_get(ans, "message"));
        fprintf(stderr, "ztagent: enrolment failed: server answered %d%s%.300s\n", status,
                m ? ": " : " (no JSON error message)", m ? m : "");
        rc = status >= 400 && status < 500 ? ZTA_EXIT_FAIL : ZTA_EXIT_ERR;
        goto out;
    }
    if (!json_is_object(ans)) {
        fprintf(stderr, "ztagent: enrolment failed: the server's answer is not a JSON object\n");
        goto out;
    }
    if (validate_answer(ans, key) != 0 || save_all(&ctx, &o, key, ans, fp) != 0)
        goto out;
    if (o.tofu)
        print_fingerprint_warning(fp);
    printf("enrolled: device %s for %s; files in %s\n", ctx.conf.device_id, ctx.conf.user, ctx.dir);
    rc = ZTA_EXIT_OK;
out:
    json_decref(ans);
    json_decref(body);
    free(text);
    free(csr);
    EVP_PKEY_free(key);
    zt_buf_dispose(&resp);
    return rc;
}
