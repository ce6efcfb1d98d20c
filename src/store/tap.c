/* Backend-independent half of the Temporary Access Pass store (store_tap.h): the pass text
 * (generation, shape, hash) and the argument checks, done once before the backend's ops run so
 * a refused call writes nothing. */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "lib/secure.h"
#include "store/store_int.h"

#define TAP_ENTER(st)                                                                              \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->tap == NULL)                                                                \
            return zt_store_seterr(-EIO, "this store backend has no temporary access passes");     \
    } while (0)

#define TAP_GROUP 5
#define TAP_DOMAIN "ztgate-tap-v1"

_Static_assert(sizeof(ZT_STORE_TAP_ALPHABET) - 1 == 32, "the alphabet gives 5 bits a letter");
_Static_assert(ZT_STORE_TAP_LETTERS * 5 == ZT_STORE_TAP_BITS, "bits of a pass");
_Static_assert(ZT_STORE_TAP_TEXT_LEN == ZT_STORE_TAP_LETTERS + ZT_STORE_TAP_LETTERS / TAP_GROUP - 1,
               "shown length: letters and the dashes between groups");

void zt_store_tap_generate(char out[ZT_STORE_TAP_TEXT_LEN + 1])
{
    unsigned char r[ZT_STORE_TAP_LETTERS];
    zt_random(r, sizeof(r));
    size_t at = 0;
    for (size_t i = 0; i < ZT_STORE_TAP_LETTERS; i++) {
        if (i > 0 && i % TAP_GROUP == 0)
            out[at++] = '-';
        out[at++] = ZT_STORE_TAP_ALPHABET[r[i] & 31]; /* 256 is a multiple of 32: no bias */
    }
    out[at] = '\0';
    zt_wipe(r, sizeof(r));
}

/* The letters of typed text, upper-cased, dashes and spaces dropped; false when any other
 * character appears or the count is not ZT_STORE_TAP_LETTERS. */
static bool normalise(const char *typed, size_t len, char out[ZT_STORE_TAP_LETTERS])
{
    if (typed == NULL || len > ZT_STORE_TAP_TYPED_MAX)
        return false;
    size_t n = 0;
    for (size_t i = 0; i < len; i++) {
        char c = typed[i];
        if (c == '-' || c == ' ')
            continue;
        if (c >= 'a' && c <= 'z')
            c = (char)(c - 'a' + 'A');
        if (c == '\0' || strchr(ZT_STORE_TAP_ALPHABET, c) == NULL || n == ZT_STORE_TAP_LETTERS)
            return false;
        out[n++] = c;
    }
    return n == ZT_STORE_TAP_LETTERS;
}

bool zt_store_tap_shaped(const char *typed, size_t len)
{
    char letters[ZT_STORE_TAP_LETTERS];
    bool ok = normalise(typed, len, letters);
    zt_wipe(letters, sizeof(letters));
    return ok;
}

int zt_store_tap_hash(const char *user_id, const char *typed, size_t len,
                      unsigned char out[ZT_STORE_TAP_HASH_LEN])
{
    char letters[ZT_STORE_TAP_LETTERS];
    if (user_id == NULL || out == NULL || !normalise(typed, len, letters))
        return -EINVAL;
    crypto_hash_sha256_state h;
    crypto_hash_sha256_init(&h);
    crypto_hash_sha256_update(&h, (const unsigned char *)TAP_DOMAIN, sizeof(TAP_DOMAIN));
    crypto_hash_sha256_update(&h, (const unsigned char *)user_id, strlen(user_id) + 1);
    crypto_hash_sha256_update(&h, (const unsigned char *)letters, sizeof(letters));
    crypto_hash_sha256_final(&h, out);
    zt_wipe(&h, sizeof(h));
    zt_wipe(letters, sizeof(letters));
    return 0;
}

const char *zt_store_tap_status(const zt_store_tap *t, int64_t now)
{
    if (t->revoked_at != 0)
        return "revoked";
    if (now >= t->expires_at)
        return "expired";
    if (t->uses != ZT_STORE_TAP_UNLIMITED && t->uses_left <= 0)
        return "used_up";
    return "active";
}

static int check_user_id(const char *id)
{
    size_t n = id != NULL ? strlen(id) : 0;
    if (n != ZT_STORE_ID_LEN || strspn(id, "0123456789abcdef") != n)
        return zt_store_seterr(-EINVAL, "user id must be %d lowercase hex characters",
                               ZT_STORE_ID_LEN);
    return 0;
}

static int check_tap(const zt_store_tap *t)
{
    if (t == NULL)
        return zt_store_seterr(-EINVAL, "no pass given");
    int rc = check_user_id(strnlen(t->user_id, sizeof(t->user_id)) < sizeof(t->user_id) ? t->user_id
                                                                                        : NULL);
    size_t actor = strnlen(t->created_by, sizeof(t->created_by));
    if (rc == 0 && (actor == 0 || actor == sizeof(t->created_by)))
        rc = zt_store_seterr(-EINVAL, "issuer must be 1..%d bytes", ZT_STORE_TAP_ACTOR_MAX);
    for (size_t i = 0; rc == 0 && i < actor; i++)
        if ((unsigned char)t->created_by[i] < 0x20 || t->created_by[i] == 0x7f)
            rc = zt_store_seterr(-EINVAL, "issuer contains a control character");
    if (rc == 0 && t->created_at <= 0)
        rc = zt_store_seterr(-EINVAL, "created_at must be a positive time");
    int64_t life = t->expires_at - t->created_at;
    if (rc == 0 && (life < ZT_STORE_TAP_LIFETIME_MIN_S || life > ZT_STORE_TAP_LIFETIME_MAX_S))
        rc = zt_store_seterr(-EINVAL, "a pass lives %d seconds to %d days",
                             ZT_STORE_TAP_LIFETIME_MIN_S, ZT_STORE_TAP_LIFETIME_MAX_S / 86400);
    if (rc == 0 && (t->uses < 0 || t->uses > ZT_STORE_TAP_USES_MAX))
        rc = zt_store_seterr(-EINVAL, "uses must be 1..%d, or 0 for any number until it expires",
                             ZT_STORE_TAP_USES_MAX);
    return rc;
}

int zt_store_tap_put(zt_store *st, const zt_store_tap *t,
                     const unsigned char hash[ZT_STORE_TAP_HASH_LEN])
{
    TAP_ENTER(st);
    int rc = check_tap(t);
    if (rc == 0 && hash == NULL)
        rc = zt_store_seterr(-EINVAL, "no hash given");
    return rc != 0 ? rc : st->ops->tap->put(st, t, hash);
}

int zt_store_tap_get(zt_store *st, const char *user_id, zt_store_tap *out)
{
    TAP_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && out == NULL)
        rc = zt_store_seterr(-EINVAL, "no output given");
    return rc != 0 ? rc : st->ops->tap->get(st, user_id, out);
}

int zt_store_tap_revoke(zt_store *st, const char *user_id, int64_t now)
{
    TAP_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "now must be a positive time");
    return rc != 0 ? rc : st->ops->tap->revoke(st, user_id, now);
}

int zt_store_tap_redeem(zt_store *st, const char *user_id,
                        const unsigned char hash[ZT_STORE_TAP_HASH_LEN], int64_t now,
                        zt_store_tap *out)
{
    TAP_ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && hash == NULL)
        rc = zt_store_seterr(-EINVAL, "no hash given");
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "now must be a positive time");
    zt_store_tap scratch;
    return rc != 0 ? rc : st->ops->tap->redeem(st, user_id, hash, now, out ? out : &scratch);
}
