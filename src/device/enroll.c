/* Enrolment: single-use codes (10 characters from an alphabet without look-alikes, shown as
 * XXXXX-XXXXX, stored as SHA-256 only) and the agent's POST /.ztgate/device/enroll, which
 * checks everything before it touches the store: the certificate is made first, then the code
 * is used and the device stored in one transaction, so a failure leaves nothing behind. */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "device/device_int.h"
#include "lib/secure.h"
#include "store/store.h"

#define ENROLL_CODE_FIELD_MAX 32 /* bytes of the "code" string as typed (dashes, spaces) */

void zt_enroll_code_hash(const char code[ZT_ENROLL_CODE_CHARS + 1], char out[65])
{
    static const char digits[] = "0123456789abcdef";
    unsigned char md[32];
    unsigned int n = 0;
    if (EVP_Digest(code, ZT_ENROLL_CODE_CHARS, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        memset(md, 0, sizeof(md)); /* cannot happen with the default provider */
    for (size_t i = 0; i < 32; i++) {
        out[2 * i] = digits[md[i] >> 4];
        out[2 * i + 1] = digits[md[i] & 15];
    }
    out[64] = '\0';
}

/* A code as typed into a field: dashes and spaces dropped, lower case raised, only the alphabet's
 * characters and exactly `want` of them. Shared by the enrolment and the agent's sign-in codes. */
bool zt_code_normalise(const char *in, size_t len, size_t want, char *out)
{
    size_t n = 0;
    if (len > ENROLL_CODE_FIELD_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == '\0' || strchr(ZT_ENROLL_ALPHABET, c) == NULL || n == want)
            return false;
        out[n++] = c;
    }
    out[n] = '\0';
    return n == want;
}

bool zt_enroll_code_normalise(const char *in, size_t len, char out[ZT_ENROLL_CODE_CHARS + 1])
{
    return zt_code_normalise(in, len, ZT_ENROLL_CODE_CHARS, out);
}

int zt_device_enroll_code(zt_store *st, const char *user_id, int64_t ttl_s, int64_t now,
                          char code_out[ZT_ENROLL_CODE_DISPLAY_LEN + 1])
{
    const size_t na = sizeof(ZT_ENROLL_ALPHABET) - 1;
    char code[ZT_ENROLL_CODE_CHARS + 1];
    size_t n = 0;
    /* Rejection sampling keeps every character equally likely. */
    while (n < ZT_ENROLL_CODE_CHARS) {
        unsigned char b[16];
        zt_random(b, sizeof(b));
        for (size_t i = 0; i < sizeof(b) && n < ZT_ENROLL_CODE_CHARS; i++)
            if (b[i] < 256 - 256 % na)
                code[n++] = ZT_ENROLL_ALPHABET[b[i] % na];
    }
    code[n] = '\0';
    char hash[65];
    zt_enroll_code_hash(code, hash);
    int rc = zt_store_enroll_code_add(st, hash, user_id, now, now + (ttl_s > 0 ? ttl_s : 900));
    if (rc == 0)
        snprintf(code_out, ZT_ENROLL_CODE_DISPLAY_LEN + 1, "%.5s-%.5s", code, code + 5);
    else
        code_out[0] = '\0';
    zt_wipe(code, sizeof(code));
    return rc;
}

/* ---- the agent's request ---- */

typedef struct enroll_req {
    const char *code, *csr, *hostname, *platform;
    size_t code_len, csr_len;
} enroll_req;

static bool all_in(const char *s, const char *set)
{
    for (; *s != '\0'; s++)
        if (strchr(set, *s) == NULL)
            return false;
    return true;
}

/* Exactly the four string fields; anything else is a 400 naming the field. */
static int read_fields(json_t *root, enroll_req *q, const char **why)
{
    static const char *const names[] = {"code", "csr", "hostname", "platform"};
    const char **dst[] = {&q->code, &q->csr, &q->hostname, &q->platform};
    if (!json_is_object(root)) {
        *why = "the body must be a JSON object";
        return -1;
    }
    const char *key;
    json_t *v;
    json_object_foreach(root, key, v)
    {
        size_t i = 0;
        while (i < 4 && strcmp(key, names[i]) != 0)
            i++;
        if (i == 4) {
            *why = "unknown field in the request";
            return -1;
        }
        if (!json_is_string(v)) {
            static const char *const not_str[] = {"code: not a string", "csr: not a string",
                                                  "hostname: not a string",
                                                  "platform: not a string"};
            *why = not_str[i];
            return -1;
        }
        *dst[i] = json_string_value(v);
        if (i == 0)
            q->code_len = json_string_length(v);
        if (i == 1)
            q->csr_len = json_string_length(v);
    }
    if (q->code == NULL || q->csr == NULL || q->hostname == NULL || q->platform == NULL) {
        *why = q->code == NULL       ? "code: missing"
               : q->csr == NULL      ? "csr: missing"
               : q->hostname == NULL ? "hostname: missing"
                                     : "platform: missing";
        return -1;
    }
    size_t hn = strlen(q->hostname), pn = strlen(q->platform);
    if (hn == 0 || hn > ZT_STORE_DEV_NAME_MAX ||
        !all_in(q->hostname, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_")) {
        *why = "hostname: 1..64 characters of A-Z a-z 0-9 . - _";
        return -1;
    }
    if (pn == 0 || pn > ZT_STORE_DEV_PLATFORM_MAX ||
        !all_in(q->platform, "abcdefghijklmnopqrstuvwxyz0123456789_-")) {
        *why = "platform: 1..16 characters of a-z 0-9 _ -";
        return -1;
    }
    return 0;
}

zt_enroll_err zt_enroll_run(zt_devices *d, const char *body, size_t len, int64_t now,
                            zt_enroll_result *res, const char **why)
{
    return zt_enroll_run_keyed(d, NULL, body, len, now, res, why);
}

zt_enroll_err zt_enroll_run_keyed(zt_devices *d, const zt_secretbox *secrets, const char *body,
                                  size_t len, int64_t now, zt_enroll_result *res, const char **why)
{
    memset(res, 0, sizeof(*res));
    *why = NULL;
    json_error_t jerr;
    enroll_req q = {0};
    X509_REQ *req = NULL;
    zt_enroll_err e = ZT_ENROLL_BAD_REQUEST;
    char code[ZT_ENROLL_CODE_CHARS + 1] = "", hash[65];
    json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
    if (root == NULL) {
        *why = "the body is not valid JSON (or repeats a field)";
        goto out;
    }
    if (read_fields(root, &q, why) != 0)
        goto out;
    /* The CSR is judged before the code is spent: a broken agent must not burn a code. */
    if (zt_csr_parse(q.csr, q.csr_len, &req, why) != 0)
        goto out;
    if (!zt_enroll_code_normalise(q.code, q.code_len, code)) {
        e = ZT_ENROLL_BAD_CODE;
        goto out;
    }
    zt_enroll_code_hash(code, hash);
    if (secrets != NULL)
        zt_device_id_from_code(secrets, code, res->device_id);
    else
        zt_random_hex(res->device_id, ZT_DEVICE_ID_LEN / 2);
    pthread_mutex_lock(&d->sign_mu);
    int rc = zt_ca_sign(&d->ca, req, res->device_id, now, d->cert_lifetime_s, &res->cert);
    pthread_mutex_unlock(&d->sign_mu);
    if (rc != 0) {
        *why = "the certificate could not be issued";
        e = ZT_ENROLL_FAILED;
        goto out;
    }
    zt_store_device dev = {.enrolled_at = now, .cert_not_after = res->cert.not_after};
    memcpy(dev.id, res->device_id, sizeof(dev.id));
    snprintf(dev.name, sizeof(dev.name), "%s", q.hostname);
    snprintf(dev.platform, sizeof(dev.platform), "%s", q.platform);
    snprintf(dev.cert_serial, sizeof(dev.cert_serial), "%s", res->cert.serial);
    snprintf(dev.cert_sha256, sizeof(dev.cert_sha256), "%s", res->cert.sha256);
    rc = zt_store_device_enroll(d->store, hash, now, &dev);
    if (rc == -EACCES) {
        e = ZT_ENROLL_BAD_CODE;
        goto out;
    }
    if (rc != 0) {
        *why = "the device could not be stored";
        e = ZT_ENROLL_FAILED;
        goto out;
    }
    snprintf(res->email, sizeof(res->email), "%s", dev.email);
    e = ZT_ENROLL_OK;
out:
    if (e != ZT_ENROLL_OK)
        zt_issued_dispose(&res->cert);
    if (e == ZT_ENROLL_BAD_CODE)
        *why = "the enrolment code is unknown, expired or already used";
    zt_wipe(code, sizeof(code));
    X509_REQ_free(req);
    json_decref(root);
    return e;
}
