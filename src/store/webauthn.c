/* Backend-independent half of the WebAuthn credential store: every argument is checked against
 * the limits in store_webauthn.h here, once, before the backend's ops run, so a refused call
 * writes nothing. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

/* Same contract as store.c's ENTER: no stale message, no NULL store, a backend that has it. */
#define WA_ENTER(st)                                                                               \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->webauthn == NULL)                                                           \
            return zt_store_seterr(-EIO, "this store backend has no passkey records");             \
    } while (0)

static int check_user_id(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n != ZT_STORE_ID_LEN || strspn(id, "0123456789abcdef") != n)
        return zt_store_seterr(-EINVAL, "user id must be %d lowercase hex characters",
                               ZT_STORE_ID_LEN);
    return 0;
}

static int check_cred_id(const unsigned char *id, size_t len)
{
    if (id == NULL || len == 0 || len > ZT_STORE_WA_CRED_ID_MAX)
        return zt_store_seterr(-EINVAL, "credential id must be 1..%d bytes",
                               ZT_STORE_WA_CRED_ID_MAX);
    return 0;
}

/* The user's label: 1..64 bytes, no control characters (UTF-8 passes through as bytes). */
static int check_name(const char *s)
{
    size_t n = s != NULL ? strnlen(s, ZT_STORE_WA_NAME_MAX + 1) : 0;
    if (n == 0 || n > ZT_STORE_WA_NAME_MAX)
        return zt_store_seterr(-EINVAL, "passkey name must be 1..%d bytes", ZT_STORE_WA_NAME_MAX);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c < 0x20 || c == 0x7f)
            return zt_store_seterr(-EINVAL, "passkey name contains a control character");
    }
    return 0;
}

static bool is_transport(const char *w, size_t n)
{
    static const char *const words[] = {ZT_STORE_WA_TRANSPORT_WORDS};
    for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i]) == n && memcmp(words[i], w, n) == 0)
            return true;
    return false;
}

/* "" or known words joined by single commas, each at most once. */
static int check_transports(const char *s)
{
    size_t n = strnlen(s, ZT_STORE_WA_TRANSPORTS_MAX + 1);
    if (n > ZT_STORE_WA_TRANSPORTS_MAX)
        return zt_store_seterr(-EINVAL, "transports must be at most %d bytes",
                               ZT_STORE_WA_TRANSPORTS_MAX);
    for (size_t at = 0; n > 0 && at <= n;) {
        size_t w = strcspn(s + at, ",");
        if (!is_transport(s + at, w))
            return zt_store_seterr(-EINVAL,
                                   "transports must be a comma list of usb, nfc, ble, internal, "
                                   "hybrid, smart-card, cable");
        for (size_t prev = 0; prev < at;) {
            size_t pw = strcspn(s + prev, ",");
            if (pw == w && memcmp(s + prev, s + at, w) == 0)
                return zt_store_seterr(-EINVAL, "transports list \"%.*s\" twice", (int)w, s + at);
            prev += pw + 1;
        }
        at += w + 1;
    }
    return 0;
}

static int check_fields(const zt_store_webauthn_cred *c)
{
    size_t fmt = strnlen(c->fmt, sizeof(c->fmt));
    size_t att = strnlen(c->attestation_type, sizeof(c->attestation_type));
    if (fmt == 0 || fmt == sizeof(c->fmt) ||
        strspn(c->fmt, "abcdefghijklmnopqrstuvwxyz0123456789-") != fmt)
        return zt_store_seterr(-EINVAL, "attestation format must be 1..%d characters of [a-z0-9-]",
                               ZT_STORE_WA_FMT_MAX);
    if (att == 0 || att == sizeof(c->attestation_type))
        return zt_store_seterr(-EINVAL, "attestation type must be 1..%d bytes",
                               ZT_STORE_WA_ATT_TYPE_MAX);
    for (size_t i = 0; i < att; i++)
        if ((unsigned char)c->attestation_type[i] < 0x20 ||
            (unsigned char)c->attestation_type[i] >= 0x7f)
            return zt_store_seterr(-EINVAL, "attestation type must be printable ASCII");
    if (strnlen(c->transports, sizeof(c->transports)) == sizeof(c->transports))
        return zt_store_seterr(-EINVAL, "transports must be at most %d bytes",
                               ZT_STORE_WA_TRANSPORTS_MAX);
    return check_transports(c->transports);
}

static int check_cred(const zt_store_webauthn_cred *c)
{
    if (c == NULL)
        return zt_store_seterr(-EINVAL, "no credential given");
    int rc = check_cred_id(c->id, c->id_len);
    if (rc == 0)
        rc = check_user_id(strnlen(c->user_id, sizeof(c->user_id)) < sizeof(c->user_id) ? c->user_id
                                                                                        : NULL);
    if (rc == 0 && strnlen(c->name, sizeof(c->name)) == sizeof(c->name))
        rc = zt_store_seterr(-EINVAL, "passkey name must be 1..%d bytes", ZT_STORE_WA_NAME_MAX);
    if (rc == 0)
        rc = check_name(c->name);
    if (rc == 0 && (c->cose_key_len == 0 || c->cose_key_len > ZT_STORE_WA_COSE_MAX))
        rc = zt_store_seterr(-EINVAL, "COSE key must be 1..%d bytes", ZT_STORE_WA_COSE_MAX);
    if (rc == 0 && c->alg != -7 && c->alg != -8 && c->alg != -257)
        rc = zt_store_seterr(-EINVAL, "algorithm must be -7 (ES256), -8 (EdDSA) or -257 (RS256)");
    if (rc == 0 && c->bs && !c->be)
        rc = zt_store_seterr(-EINVAL, "a credential cannot be backed up without being eligible");
    if (rc == 0)
        rc = check_fields(c);
    if (rc == 0 && c->created_at <= 0)
        rc = zt_store_seterr(-EINVAL, "created_at must be a positive time");
    return rc;
}

int zt_store_webauthn_handle(zt_store *st, const char *user_id, bool create,
                             unsigned char out[ZT_STORE_WA_HANDLE_LEN])
{
    WA_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->webauthn->handle(st, user_id, create, out);
}

int zt_store_webauthn_user_by_handle(zt_store *st, const unsigned char *handle, size_t len,
                                     char user_id_out[ZT_STORE_ID_LEN + 1])
{
    WA_ENTER(st);
    if (handle == NULL || len != ZT_STORE_WA_HANDLE_LEN)
        return zt_store_seterr(-EINVAL, "user handle must be %d bytes", ZT_STORE_WA_HANDLE_LEN);
    if (user_id_out == NULL)
        return zt_store_seterr(-EINVAL, "no output given");
    return st->ops->webauthn->user_by_handle(st, handle, user_id_out);
}

int zt_store_webauthn_add(zt_store *st, const zt_store_webauthn_cred *c)
{
    WA_ENTER(st);
    int rc = check_cred(c);
    return rc != 0 ? rc : st->ops->webauthn->add(st, c);
}

int zt_store_webauthn_get(zt_store *st, const unsigned char *cred_id, size_t len,
                          zt_store_webauthn_cred *out)
{
    WA_ENTER(st);
    int rc = check_cred_id(cred_id, len);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->webauthn->get(st, cred_id, len, out);
}

int zt_store_webauthn_list(zt_store *st, const char *user_id, zt_store_webauthn_cb cb, void *ctx)
{
    WA_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && cb == NULL)
        rc = zt_store_seterr(-EINVAL, "no callback given");
    return rc != 0 ? rc : st->ops->webauthn->list(st, user_id, cb, ctx);
}

int zt_store_webauthn_used(zt_store *st, const unsigned char *cred_id, size_t len,
                           uint32_t verified_count, uint32_t new_count, bool uv, bool bs,
                           int64_t now)
{
    WA_ENTER(st);
    int rc = check_cred_id(cred_id, len);
    /* §7.2 step 21: a counter that does not move forward (unless both are 0) is a clone sign;
     * the verifier refuses it before this, so reaching here with one is a caller bug. */
    if (rc == 0 && new_count <= verified_count && (new_count != 0 || verified_count != 0))
        rc = zt_store_seterr(-EINVAL, "the new sign counter must be above the verified one");
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "now must be a positive time");
    return rc != 0
               ? rc
               : st->ops->webauthn->used(st, cred_id, len, verified_count, new_count, uv, bs, now);
}

int zt_store_webauthn_rename(zt_store *st, const char *user_id, const unsigned char *cred_id,
                             size_t len, const char *name)
{
    WA_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_cred_id(cred_id, len);
    if (rc == 0)
        rc = check_name(name);
    return rc != 0 ? rc : st->ops->webauthn->rename(st, user_id, cred_id, len, name);
}

int zt_store_webauthn_delete(zt_store *st, const char *user_id, const unsigned char *cred_id,
                             size_t len)
{
    WA_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_cred_id(cred_id, len);
    return rc != 0 ? rc : st->ops->webauthn->remove(st, user_id, cred_id, len);
}

int zt_store_webauthn_count(zt_store *st, const char *user_id, uint64_t *n_out)
{
    WA_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && n_out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->webauthn->count(st, user_id, n_out);
}

int zt_store_webauthn_mark_cloned(zt_store *st, const unsigned char *cred_id, size_t len,
                                  int64_t now)
{
    WA_ENTER(st);
    int rc = check_cred_id(cred_id, len);
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "now must be a positive time");
    return rc != 0 ? rc : st->ops->webauthn->mark_cloned(st, cred_id, len, now);
}

/* ---- ceremony challenges ---- */

static int check_binding(const char *b)
{
    size_t n = b != NULL ? strnlen(b, ZT_STORE_WA_BINDING_LEN + 1) : 0;
    if (n != ZT_STORE_WA_BINDING_LEN || strspn(b, "0123456789abcdef") != n)
        return zt_store_seterr(-EINVAL, "challenge binding must be %d lowercase hex characters",
                               ZT_STORE_WA_BINDING_LEN);
    return 0;
}

static int check_purpose(const char *p)
{
    if (p == NULL || (strcmp(p, "register") != 0 && strcmp(p, "login") != 0))
        return zt_store_seterr(-EINVAL, "challenge purpose must be register or login");
    return 0;
}

static int check_challenge(const zt_store_webauthn_challenge *c, int64_t now)
{
    int rc = check_binding(c->binding);
    if (rc == 0)
        rc = check_purpose(c->purpose);
    if (rc == 0 && c->user_id[0] != '\0')
        rc = check_user_id(c->user_id);
    size_t hn = strnlen(c->session_hash, sizeof(c->session_hash));
    if (rc == 0 &&
        (hn == sizeof(c->session_hash) || strspn(c->session_hash, "0123456789abcdef") != hn))
        rc = zt_store_seterr(-EINVAL, "challenge session hash must be lowercase hex");
    size_t rn = strnlen(c->rd, sizeof(c->rd));
    if (rc == 0 && rn == sizeof(c->rd))
        rc = zt_store_seterr(-EINVAL, "rd is longer than %d bytes", ZT_STORE_WA_RD_MAX);
    for (size_t i = 0; rc == 0 && i < rn; i++)
        if ((unsigned char)c->rd[i] < 0x20 || c->rd[i] == 0x7f)
            rc = zt_store_seterr(-EINVAL, "rd contains a control character");
    if (rc == 0 && (now <= 0 || c->expires_at <= now))
        rc = zt_store_seterr(-EINVAL, "a challenge must expire after now");
    return rc;
}

int zt_store_webauthn_challenge_put(zt_store *st, const zt_store_webauthn_challenge *c, int64_t now)
{
    WA_ENTER(st);
    int rc = c != NULL ? check_challenge(c, now) : zt_store_seterr(-EINVAL, "no challenge given");
    return rc != 0 ? rc : st->ops->webauthn->challenge_put(st, c, now);
}

int zt_store_webauthn_challenge_take(zt_store *st, const char *binding, const char *purpose,
                                     int64_t now, zt_store_webauthn_challenge *out)
{
    WA_ENTER(st);
    int rc = check_binding(binding);
    if (rc == 0)
        rc = check_purpose(purpose);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->webauthn->challenge_take(st, binding, purpose, now, out);
}
