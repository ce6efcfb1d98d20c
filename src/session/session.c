/* Sessions: the shared handle (store, expiry settings, revocation mapping, MAC keys), random
 * ids and their hashes, creating and ending session records. The cookie value never reaches
 * the store or a log: only SHA-256(cookie) as hex does. */
#define ZT_SESSION_INTERNAL
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "identity/secretbox.h"
#include "lib/secure.h"
#include "session/account.h"
#include "session/session.h"
#include "store/store.h"

#define DEFAULT_IDLE_S 1800
#define DEFAULT_ABSOLUTE_S 43200
#define KEYS_LEN (2 * crypto_auth_hmacsha256_KEYBYTES)

_Static_assert(ZT_SECRETBOX_KEY_LEN == crypto_auth_hmacsha256_KEYBYTES, "derived key size");
_Static_assert(ZT_SESSION_HASH_LEN == 2 * crypto_hash_sha256_BYTES, "hash length");

const char *zt_session_status_name(zt_session_status st)
{
    switch (st) {
    case ZT_SESSION_VALID:
        return "valid";
    case ZT_SESSION_NONE:
        return "none";
    case ZT_SESSION_UNKNOWN:
        return "unknown";
    case ZT_SESSION_EXPIRED:
        return "expired";
    case ZT_SESSION_REVOKED:
        return "revoked";
    case ZT_SESSION_WRONG_HOST:
        return "wrong_host";
    case ZT_SESSION_ERROR:
        return "error";
    }
    return "?";
}

/* ---- base64url ---- */

void zt_session_b64(const unsigned char *in, size_t n, char *out, size_t outcap)
{
    sodium_bin2base64(out, outcap, in, n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool zt_session_unb64(const char *in, size_t len, unsigned char *out, size_t want)
{
    size_t got = 0;
    const char *end = NULL;
    if (len != sodium_base64_ENCODED_LEN(want, sodium_base64_VARIANT_URLSAFE_NO_PADDING) - 1)
        return false;
    if (sodium_base642bin(out, want, in, len, NULL, &got, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0)
        return false;
    return got == want && end == in + len;
}

static bool is_b64url(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
           c == '_';
}

int zt_session_hash_cookie(const char *value, size_t len, char hash_out[ZT_SESSION_HASH_LEN + 1])
{
    if (value == NULL || len != ZT_SESSION_COOKIE_LEN)
        return -EINVAL;
    for (size_t i = 0; i < len; i++)
        if (!is_b64url(value[i]))
            return -EINVAL;
    /* The last char carries 2 padding bits that must be zero: only the one canonical
     * spelling of an id is accepted. */
    if (strchr("AEIMQUYcgkosw048", value[len - 1]) == NULL)
        return -EINVAL;
    unsigned char h[crypto_hash_sha256_BYTES];
    crypto_hash_sha256(h, (const unsigned char *)value, len);
    sodium_bin2hex(hash_out, ZT_SESSION_HASH_LEN + 1, h, sizeof(h));
    return 0;
}

/* ---- the shared handle ---- */

zt_sessions *zt_sessions_new(const zt_sessions_cfg *cfg, char *err, size_t errlen)
{
    if (cfg == NULL || cfg->store == NULL || cfg->secrets == NULL || cfg->state_dir == NULL) {
        zt_errf(err, errlen, "sessions: store, secrets and state_dir are required");
        return NULL;
    }
    zt_sessions *s = calloc(1, sizeof(*s));
    if (s == NULL) {
        zt_errf(err, errlen, "sessions: out of memory");
        return NULL;
    }
    s->store = cfg->store;
    atomic_store(&s->serve_until, INT64_MAX);
    atomic_store(&s->store_reachable, true);
    zt_sessions_set_expiry(s, cfg->idle_s, cfg->absolute_s);
    pthread_mutex_init(&s->used_mu, NULL);
    s->keys = sodium_malloc(KEYS_LEN);
    if (s->keys == NULL) {
        zt_errf(err, errlen, "sessions: out of memory");
        zt_sessions_free(s);
        return NULL;
    }
    zt_secretbox_derive(cfg->secrets, "session-code", ZT_SESSION_CODE_KEY(s));
    zt_secretbox_derive(cfg->secrets, "known-device", ZT_SESSION_DEVICE_KEY(s));
    sodium_mprotect_readonly(s->keys);
    int rc = zt_revocation_map(cfg->state_dir, &s->revocation);
    if (rc != 0) {
        zt_errf(err, errlen, "sessions: cannot map %s/%s: %s", cfg->state_dir, ZT_REVOCATION_FILE,
                strerror(-rc));
        zt_sessions_free(s);
        return NULL;
    }
    return s;
}

void zt_sessions_free(zt_sessions *s)
{
    if (s == NULL)
        return;
    zt_revocation_unmap(s->revocation);
    sodium_free(s->keys); /* wipes */
    pthread_mutex_destroy(&s->used_mu);
    free(s);
}

void zt_sessions_set_expiry(zt_sessions *s, int64_t idle_s, int64_t absolute_s)
{
    if (absolute_s <= 0)
        absolute_s = DEFAULT_ABSOLUTE_S;
    if (idle_s <= 0)
        idle_s = DEFAULT_IDLE_S;
    if (idle_s > absolute_s)
        idle_s = absolute_s;
    atomic_store(&s->idle_s, idle_s);
    atomic_store(&s->absolute_s, absolute_s);
}

void zt_sessions_set_contact(zt_sessions *s, int64_t serve_until, bool reachable)
{
    atomic_store(&s->serve_until, serve_until);
    atomic_store(&s->store_reachable, reachable);
}

bool zt_sessions_store_reachable(const zt_sessions *s)
{
    return s == NULL || atomic_load_explicit(&s->store_reachable, memory_order_relaxed);
}

void zt_sessions_bump(zt_sessions *s)
{
    atomic_fetch_add(s->revocation, 1);
}

uint64_t zt_sessions_revocation(const zt_sessions *s)
{
    return atomic_load(s->revocation);
}

/* ---- creating and ending ---- */

/* Copy a peer's User-Agent as printable, valid UTF-8 of at most ZT_STORE_UA_MAX bytes, cut
 * only between characters: the store refuses anything else, and a sign-in must not fail over
 * a browser's odd header. Bad bytes and controls become '?'. */
static void ua_clean(const char *in, char *out)
{
    size_t o = 0;
    const unsigned char *p = (const unsigned char *)(in != NULL ? in : "");
    while (*p != '\0') {
        unsigned c = p[0];
        size_t k = c < 0x80                 ? 1
                   : c >= 0xc2 && c <= 0xdf ? 2
                   : c >= 0xe0 && c <= 0xef ? 3
                   : c >= 0xf0 && c <= 0xf4 ? 4
                                            : 0;
        for (size_t i = 1; i < k; i++)
            if ((p[i] & 0xc0) != 0x80)
                k = 0;
        if (k >= 3 && ((c == 0xe0 && p[1] < 0xa0) || (c == 0xed && p[1] > 0x9f) ||
                       (c == 0xf0 && p[1] < 0x90) || (c == 0xf4 && p[1] > 0x8f)))
            k = 0;
        bool bad = k == 0 || (k == 1 && (c < 0x20 || c == 0x7f));
        size_t w = bad ? 1 : k;
        if (o + w > ZT_STORE_UA_MAX)
            break;
        if (bad)
            out[o] = '?';
        else
            memcpy(out + o, p, k);
        o += w;
        p += w;
    }
    out[o] = '\0';
}

static int copy_field(char *dst, size_t cap, const char *src)
{
    size_t n = src != NULL ? strlen(src) : 0;
    if (n >= cap)
        return -EINVAL;
    memcpy(dst, src != NULL ? src : "", n);
    dst[n] = '\0';
    return 0;
}

static void lower_ascii(char *p)
{
    for (; *p != '\0'; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
}

static int fill_record(zt_sessions *s, const zt_session_new *in, int64_t now, int64_t cap_absolute,
                       zt_store_session *r)
{
    memset(r, 0, sizeof(*r));
    if (in == NULL || in->user_id == NULL || in->host == NULL || in->host[0] == '\0' || now <= 0)
        return -EINVAL;
    zt_user u;
    int rc = zt_store_user_get_by_id(s->store, in->user_id, &u);
    if (rc != 0)
        return rc;
    bool disabled = u.disabled || zt_account_expired(&u, now); /* expired: as disabled */
    r->user_epoch = u.revocation_epoch;
    zt_user_dispose(&u);
    if (disabled)
        return -EACCES;
    int64_t idle = atomic_load(&s->idle_s), abs = atomic_load(&s->absolute_s);
    r->created_at = now;
    r->auth_time = in->auth_time > 0 ? in->auth_time : now;
    r->mfa_time = in->mfa_time;
    r->absolute_expires_at = now + abs;
    if (cap_absolute > 0 && r->absolute_expires_at > cap_absolute)
        r->absolute_expires_at = cap_absolute;
    r->idle_expires_at = now + idle;
    if (r->idle_expires_at > r->absolute_expires_at)
        r->idle_expires_at = r->absolute_expires_at;
    r->mfa_pending = in->mfa_pending;
    if (copy_field(r->user_id, sizeof(r->user_id), in->user_id) != 0 ||
        copy_field(r->host, sizeof(r->host), in->host) != 0 ||
        copy_field(r->mfa_method, sizeof(r->mfa_method),
                   in->mfa_time > 0 || in->mfa_pending ? in->mfa_method : "") != 0 ||
        copy_field(r->ip, sizeof(r->ip), in->ip) != 0 ||
        copy_field(r->parent_hash, sizeof(r->parent_hash), in->parent_hash) != 0 ||
        copy_field(r->device_id, sizeof(r->device_id), in->device_id) != 0)
        return -EINVAL;
    if (in->amr == 0 && in->mfa_pending && in->mfa_method != NULL &&
        strcmp(in->mfa_method, ZT_SESSION_PURPOSE_TAP) == 0)
        /* A pass proves none of RFC 8176's methods; the record says what it was ("tap" is no
         * amr word, so it reads back as no method, never as the legacy "pwd"). */
        snprintf(r->amr, sizeof(r->amr), "%s", ZT_SESSION_PURPOSE_TAP);
    else
        zt_amr_text(in->amr != 0 ? in->amr : zt_amr_parse("", in->mfa_time), r->amr);
    if (in->passkey_aaguid != NULL)
        zt_session_aaguid_hex(in->passkey_aaguid, r->passkey_aaguid);
    lower_ascii(r->host);
    ua_clean(in->user_agent, r->user_agent);
    return 0;
}

int zt_session_create_capped(zt_sessions *s, const zt_session_new *in, int64_t now,
                             int64_t cap_absolute, char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                             char hash_out[ZT_SESSION_HASH_LEN + 1])
{
    zt_store_session r;
    int rc = s != NULL && cookie_out != NULL ? fill_record(s, in, now, cap_absolute, &r) : -EINVAL;
    if (rc != 0)
        return rc;
    unsigned char id[ZT_SESSION_ID_BYTES];
    char cookie[ZT_SESSION_COOKIE_LEN + 1];
    zt_random(id, sizeof(id));
    zt_session_b64(id, sizeof(id), cookie, sizeof(cookie));
    zt_wipe(id, sizeof(id));
    rc = zt_session_hash_cookie(cookie, ZT_SESSION_COOKIE_LEN, r.id_hash);
    if (rc == 0)
        rc = zt_store_session_create(s->store, &r);
    if (rc == 0) {
        memcpy(cookie_out, cookie, sizeof(cookie));
        if (hash_out != NULL)
            memcpy(hash_out, r.id_hash, ZT_SESSION_HASH_LEN + 1);
    }
    zt_wipe(cookie, sizeof(cookie));
    return rc;
}

int zt_session_create(zt_sessions *s, const zt_session_new *in, int64_t now,
                      char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                      char hash_out[ZT_SESSION_HASH_LEN + 1])
{
    return zt_session_create_capped(s, in, now, 0, cookie_out, hash_out);
}

int zt_session_destroy(zt_sessions *s, const char *id_hash)
{
    if (s == NULL || id_hash == NULL)
        return -EINVAL;
    int rc = zt_store_session_delete_tree(s->store, id_hash, NULL);
    if (rc == -ENOENT)
        rc = 0;
    /* Other loops and processes may hold it in their caches: make them all look again. */
    if (rc == 0)
        atomic_fetch_add(s->revocation, 1);
    return rc;
}

int zt_session_carry_over(zt_sessions *s, const char *from_hash, const char *to_hash)
{
    if (s == NULL || from_hash == NULL || to_hash == NULL)
        return -EINVAL;
    return zt_store_saml_move(s->store, from_hash, to_hash);
}

int zt_session_mfa_done(zt_sessions *s, const char *id_hash, int64_t mfa_time,
                        const char *mfa_method)
{
    if (s == NULL || id_hash == NULL)
        return -EINVAL;
    return zt_store_session_set_mfa(s->store, id_hash, mfa_time, mfa_method);
}

/* ---- the passkey's AAGUID ---- */

void zt_session_aaguid_hex(const unsigned char id[16], char out[33])
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < 16; i++) {
        out[2 * i] = digits[id[i] >> 4];
        out[2 * i + 1] = digits[id[i] & 15];
    }
    out[32] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

bool zt_session_aaguid_parse_hex(const char *hex, unsigned char out[16])
{
    if (hex == NULL || strlen(hex) != 32)
        return false;
    for (size_t i = 0; i < 16; i++) {
        int hi = hex_value(hex[2 * i]), lo = hex_value(hex[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return false;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return true;
}

/* ---- authentication methods (RFC 8176 amr) ---- */

static const struct {
    unsigned bit;
    const char *word;
} amr_words[] = {{ZT_AMR_PWD, "pwd"},
                 {ZT_AMR_OTP, "otp"},
                 {ZT_AMR_HWK, "hwk"},
                 {ZT_AMR_SWK, "swk"},
                 {ZT_AMR_MFA, "mfa"}};
#define AMR_N_WORDS (sizeof(amr_words) / sizeof(amr_words[0]))

unsigned zt_amr_of_method(const char *m)
{
    if (m == NULL)
        return 0;
    if (strcmp(m, "totp") == 0 || strcmp(m, "recovery") == 0)
        return ZT_AMR_OTP;
    if (strcmp(m, "hwk") == 0)
        return ZT_AMR_HWK;
    if (strcmp(m, "swk") == 0)
        return ZT_AMR_SWK;
    return 0;
}

unsigned zt_amr_of_passkey(bool backup_eligible, bool user_verified)
{
    return (backup_eligible ? ZT_AMR_SWK : ZT_AMR_HWK) | (user_verified ? ZT_AMR_MFA : 0);
}

unsigned zt_amr_add(unsigned amr, unsigned proven)
{
    unsigned all = amr | proven;
    int kinds = ((all & ZT_AMR_PWD) != 0) + ((all & ZT_AMR_OTP) != 0) +
                ((all & (ZT_AMR_HWK | ZT_AMR_SWK)) != 0);
    return kinds >= 2 ? all | ZT_AMR_MFA : all;
}

bool zt_amr_phishing_resistant(unsigned amr)
{
    return (amr & (ZT_AMR_HWK | ZT_AMR_SWK)) != 0 && (amr & ZT_AMR_MFA) != 0;
}

void zt_amr_text(unsigned amr, char out[ZT_AMR_TEXT_MAX + 1])
{
    size_t n = 0;
    out[0] = '\0';
    for (size_t i = 0; i < AMR_N_WORDS; i++) {
        if ((amr & amr_words[i].bit) == 0)
            continue;
        if (n > 0)
            out[n++] = ',';
        memcpy(out + n, amr_words[i].word, 4); /* three letters and the NUL */
        n += 3;
    }
}

unsigned zt_amr_parse(const char *text, int64_t mfa_time)
{
    if (text == NULL || text[0] == '\0')
        return ZT_AMR_PWD | (mfa_time > 0 ? ZT_AMR_OTP | ZT_AMR_MFA : 0);
    unsigned amr = 0;
    for (const char *p = text; *p != '\0';) {
        size_t w = strcspn(p, ",");
        for (size_t i = 0; i < AMR_N_WORDS; i++)
            if (w == 3 && memcmp(p, amr_words[i].word, 3) == 0)
                amr |= amr_words[i].bit;
        p += w + (p[w] == ',');
    }
    return amr;
}
