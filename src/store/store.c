/* Backend-independent half of the store: argument checks against the named limits in store.h,
 * the per-thread error message, and dispatch through the backend's ops table. Checking here
 * means every backend refuses exactly the same input with exactly the same message. */
#include "store/store_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "lib/secure.h"
#include "lib/time.h"

/* Per thread because the store is shared by threads and a message belongs to one call. */
static _Thread_local char err_msg[512];

int zt_store_seterr(int rc, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof(err_msg), fmt, ap);
    va_end(ap);
    return rc;
}

const char *zt_store_errmsg(void)
{
    return err_msg;
}

int64_t zt_store_now(void)
{
    return zt_wall_us() / 1000000;
}

/* Start of every public call: a message from an earlier call must not outlive it. */
static void clear_err(void)
{
    err_msg[0] = '\0';
}

zt_store *zt_store_open(const zt_store_cfg *cfg, char *err, size_t errlen)
{
    clear_err();
    if (cfg == NULL) {
        snprintf(err, errlen, "store: no configuration");
        return NULL;
    }
    switch (cfg->backend) {
    case ZT_STORE_SQLITE:
        return zt_store_sqlite_open(cfg, err, errlen);
    case ZT_STORE_POSTGRES:
        return zt_store_pg_open(cfg, err, errlen);
    }
    snprintf(err, errlen, "store: unknown backend %d", (int)cfg->backend);
    return NULL;
}

void zt_store_close(zt_store *st)
{
    if (st != NULL)
        st->ops->close(st);
}

void zt_store_reachable_again(zt_store *st)
{
    if (st != NULL && st->ops->reachable_again != NULL)
        st->ops->reachable_again(st);
}

const char *zt_store_backend_name(const zt_store *st)
{
    return st != NULL ? st->ops->name : "none";
}

void zt_user_dispose(zt_user *u)
{
    if (u != NULL)
        zt_wipe(u, sizeof(*u));
}

void zt_store_totp_dispose(zt_store_totp *t)
{
    if (t != NULL)
        zt_wipe(t, sizeof(*t));
}

/* ---- argument checks ---- */

/* Length of the UTF-8 sequence starting at s (at most n bytes), 0 if invalid: no overlong
 * forms, no surrogates, nothing past U+10FFFF. */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c < 0x80                 ? 1
                 : c >= 0xc2 && c <= 0xdf ? 2
                 : c >= 0xe0 && c <= 0xef ? 3
                 : c >= 0xf0 && c <= 0xf4 ? 4
                                          : 0;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    if ((c == 0xe0 && s[1] < 0xa0) || (c == 0xed && s[1] > 0x9f) || (c == 0xf0 && s[1] < 0x90) ||
        (c == 0xf4 && s[1] > 0x8f))
        return 0;
    return len;
}

/* Valid UTF-8 without C0 controls or DEL: safe to print and to put in a header or log. */
static bool text_ok(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        if (p[i] < 0x20 || p[i] == 0x7f)
            return false;
        size_t k = utf8_seq(p + i, n - i);
        if (k == 0)
            return false;
        i += k;
    }
    return true;
}

static bool all_in(const char *s, const char *set)
{
    return s[strspn(s, set)] == '\0';
}

#define LOWER_HEX "0123456789abcdef"

static int check_len(const char *what, const char *s, size_t min, size_t max, size_t *len)
{
    if (s == NULL || (s[0] == '\0' && min > 0))
        return zt_store_seterr(-EINVAL, "%s is empty", what);
    *len = strnlen(s, max + 1);
    if (*len > max)
        return zt_store_seterr(-EINVAL, "%s is longer than %zu bytes", what, max);
    if (*len < min)
        return zt_store_seterr(-EINVAL, "%s is shorter than %zu bytes", what, min);
    return 0;
}

static int check_email(const char *e)
{
    size_t n;
    int rc = check_len("email", e, 1, ZT_STORE_EMAIL_MAX, &n);
    if (rc != 0)
        return rc;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c <= 0x20 || c == 0x7f || strchr("\"(),:;<>[\\]", c) != NULL)
            return zt_store_seterr(-EINVAL, "email contains a space, control or special character");
    }
    if (!text_ok(e, n))
        return zt_store_seterr(-EINVAL, "email is not valid UTF-8");
    const char *at = strchr(e, '@');
    const char *dom = at != NULL ? at + 1 : NULL;
    if (at == NULL || at == e || *dom == '\0' || strchr(dom, '@') != NULL)
        return zt_store_seterr(-EINVAL, "email '%s' needs one '@' with text on both sides", e);
    if (dom[0] == '.' || e[n - 1] == '.' || strstr(dom, "..") != NULL)
        return zt_store_seterr(-EINVAL, "email '%s' has an invalid domain", e);
    return 0;
}

static int check_name(const char *name)
{
    if (name == NULL)
        return 0;
    size_t n;
    int rc = check_len("display name", name, 0, ZT_STORE_NAME_MAX, &n);
    if (rc == 0 && !text_ok(name, n))
        rc = zt_store_seterr(-EINVAL, "display name has control characters or invalid UTF-8");
    return rc;
}

/* Encoded hashes ("$argon2id$v=19$...") are printable ASCII without spaces. */
static int check_hash(const char *what, const char *h, bool required)
{
    if (!required && (h == NULL || h[0] == '\0'))
        return 0;
    size_t n;
    int rc = check_len(what, h, 1, ZT_STORE_HASH_MAX, &n);
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (h[i] < 0x21 || h[i] > 0x7e)
            rc = zt_store_seterr(-EINVAL, "%s must be printable ASCII", what);
    return rc;
}

static int check_user_id(const char *id)
{
    size_t n;
    int rc = check_len("user id", id, ZT_STORE_ID_LEN, ZT_STORE_ID_LEN, &n);
    if (rc == 0 && !all_in(id, LOWER_HEX))
        rc = zt_store_seterr(-EINVAL, "user id must be lowercase hex");
    return rc;
}

static int check_group(const char *g)
{
    size_t n;
    int rc = check_len("group name", g, 1, ZT_STORE_GROUP_MAX, &n);
    if (rc != 0)
        return rc;
    /* Names end up in X-ZT-Groups (comma-separated) and policies: keep them plain tokens. */
    if (!all_in(g, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789._-") ||
        g[0] == '.' || g[0] == '-' || g[0] == '_')
        return zt_store_seterr(-EINVAL,
                               "group name may use only letters, digits, '.', '_' and '-', "
                               "starting with a letter or digit");
    return 0;
}

static int check_groups(const char *const *groups, size_t n)
{
    if (n > 0 && groups == NULL)
        return zt_store_seterr(-EINVAL, "group list is missing");
    if (n > ZT_STORE_USER_GROUPS_MAX)
        return zt_store_seterr(-EINVAL, "more than %d groups", ZT_STORE_USER_GROUPS_MAX);
    for (size_t i = 0; i < n; i++) {
        int rc = check_group(groups[i]);
        if (rc != 0)
            return rc;
        for (size_t j = 0; j < i; j++)
            if (strcasecmp(groups[i], groups[j]) == 0)
                return zt_store_seterr(-EINVAL, "group '%s' given twice", groups[i]);
    }
    return 0;
}

static int check_session_hash(const char *h)
{
    size_t n;
    int rc = check_len("session hash", h, ZT_STORE_SESSION_HASH_MIN, ZT_STORE_SESSION_HASH_MAX, &n);
    if (rc == 0 && !all_in(h, LOWER_HEX))
        rc = zt_store_seterr(-EINVAL, "session hash must be lowercase hex");
    return rc;
}

static int check_mfa(int64_t mfa_time, const char *method)
{
    size_t n;
    if (mfa_time < 0)
        return zt_store_seterr(-EINVAL, "MFA time is negative");
    int rc = check_len("MFA method", method, mfa_time > 0 ? 1 : 0, ZT_STORE_MFA_METHOD_MAX, &n);
    if (rc == 0 && !all_in(method, "abcdefghijklmnopqrstuvwxyz0123456789_-"))
        rc = zt_store_seterr(-EINVAL, "MFA method may use only a-z, 0-9, '_' and '-'");
    if (rc == 0 && mfa_time == 0 && n > 0)
        rc = zt_store_seterr(-EINVAL, "MFA method given without an MFA time");
    return rc;
}

/* amr: RFC 8176 words joined by commas, at most ZT_STORE_AMR_MAX bytes ("" = not recorded). */
static int check_amr(const char *amr)
{
    size_t n;
    int rc = check_len("amr", amr, 0, ZT_STORE_AMR_MAX, &n);
    if (rc == 0 && !all_in(amr, "abcdefghijklmnopqrstuvwxyz,"))
        rc = zt_store_seterr(-EINVAL, "amr may use only a-z and ','");
    return rc;
}

static int check_session_text(const zt_store_session *s)
{
    size_t n;
    int rc = check_len("IP address", s->ip, 0, ZT_STORE_IP_MAX, &n);
    if (rc == 0 && !all_in(s->ip, "0123456789abcdefABCDEF.:"))
        rc = zt_store_seterr(-EINVAL, "IP address has invalid characters");
    if (rc == 0)
        rc = check_len("user agent", s->user_agent, 0, ZT_STORE_UA_MAX, &n);
    if (rc == 0 && !text_ok(s->user_agent, n))
        rc = zt_store_seterr(-EINVAL, "user agent has control characters or invalid UTF-8");
    if (rc == 0)
        rc = check_len("device id", s->device_id, 0, ZT_STORE_DEVICE_ID_MAX, &n);
    if (rc == 0 && !all_in(s->device_id, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
                                         "0123456789._:-"))
        rc = zt_store_seterr(-EINVAL, "device id has invalid characters");
    return rc;
}

/* Hosts end up compared with request hosts and shown to admins: DNS names or [IPv6]. */
static int check_host(const char *h)
{
    size_t n;
    int rc = check_len("session host", h, 0, ZT_STORE_HOST_MAX, &n);
    if (rc == 0 &&
        !all_in(h, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789.-_:[]"))
        rc = zt_store_seterr(-EINVAL, "session host has invalid characters");
    return rc;
}

static int check_session(const zt_store_session *s)
{
    if (s == NULL)
        return zt_store_seterr(-EINVAL, "session is missing");
    int rc = check_session_hash(s->id_hash);
    if (rc == 0)
        rc = check_user_id(s->user_id);
    /* A pending session may name its purpose instead ("tap": a Temporary Access Pass). */
    bool purpose = s->mfa_pending && s->mfa_time == 0 && strcmp(s->mfa_method, "tap") == 0;
    if (rc == 0 && !purpose)
        rc = check_mfa(s->mfa_time, s->mfa_method);
    if (rc == 0)
        rc = check_session_text(s);
    if (rc == 0)
        rc = check_amr(s->amr);
    if (rc == 0 && s->passkey_aaguid[0] != '\0' &&
        (strlen(s->passkey_aaguid) != 32 || !all_in(s->passkey_aaguid, "0123456789abcdef")))
        rc = zt_store_seterr(-EINVAL, "passkey AAGUID must be 32 lowercase hex digits or empty");
    if (rc == 0)
        rc = check_host(s->host);
    if (rc == 0 && s->parent_hash[0] != '\0')
        rc = check_session_hash(s->parent_hash);
    if (rc == 0 && s->parent_hash[0] != '\0' && strcmp(s->parent_hash, s->id_hash) == 0)
        rc = zt_store_seterr(-EINVAL, "a session cannot be its own parent");
    if (rc == 0 && (s->created_at <= 0 || s->auth_time <= 0 || s->idle_expires_at <= 0 ||
                    s->absolute_expires_at <= 0 || s->user_epoch < 0))
        rc = zt_store_seterr(-EINVAL, "session times must be positive");
    return rc;
}

static int check_out(const void *p)
{
    return p != NULL ? 0 : zt_store_seterr(-EINVAL, "output argument is missing");
}

static int check_cb(bool present)
{
    return present ? 0 : zt_store_seterr(-EINVAL, "callback is missing");
}

/* Every public call starts here: clear the last message, refuse a NULL store. */
#define ENTER(st)                                                                                  \
    do {                                                                                           \
        clear_err();                                                                               \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
    } while (0)

int zt_store_check_email(const char *email)
{
    return check_email(email);
}

int zt_store_check_name(const char *name)
{
    return check_name(name);
}

int zt_store_check_user_id(const char *id)
{
    return check_user_id(id);
}

int zt_store_check_group(const char *group)
{
    return check_group(group);
}

int zt_store_check_groups(const char *const *groups, size_t n)
{
    return check_groups(groups, n);
}

int zt_store_check_hash(const char *what, const char *hash, bool required)
{
    return check_hash(what, hash, required);
}

bool zt_store_text_ok(const char *s, size_t n)
{
    return text_ok(s, n);
}

/* ---- users ---- */

int zt_store_user_add(zt_store *st, const char *email, const char *name, const char *password_hash,
                      const char *const *groups, size_t n_groups, zt_user *out)
{
    ENTER(st);
    int rc = check_email(email);
    if (rc == 0)
        rc = check_name(name);
    if (rc == 0)
        rc = check_hash("password hash", password_hash, false);
    if (rc == 0)
        rc = check_groups(groups, n_groups);
    if (rc != 0)
        return rc;
    return st->ops->user_add(st, email, name != NULL ? name : "",
                             password_hash != NULL ? password_hash : "", groups, n_groups, out);
}

int zt_store_user_get_by_id(zt_store *st, const char *id, zt_user *out)
{
    ENTER(st);
    int rc = check_user_id(id);
    if (rc == 0)
        rc = check_out(out);
    return rc != 0 ? rc : st->ops->user_get(st, false, id, out);
}

int zt_store_user_get_by_email(zt_store *st, const char *email, zt_user *out)
{
    ENTER(st);
    int rc = check_email(email);
    if (rc == 0)
        rc = check_out(out);
    return rc != 0 ? rc : st->ops->user_get(st, true, email, out);
}

int zt_store_user_list(zt_store *st, zt_store_user_cb cb, void *ctx)
{
    ENTER(st);
    int rc = check_cb(cb != NULL);
    return rc != 0 ? rc : st->ops->user_list(st, cb, ctx);
}

int zt_store_user_groups(zt_store *st, const char *user_id, zt_store_name_cb cb, void *ctx)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_cb(cb != NULL);
    return rc != 0 ? rc : st->ops->user_groups(st, user_id, cb, ctx);
}

int zt_store_user_delete(zt_store *st, const char *id)
{
    ENTER(st);
    int rc = check_user_id(id);
    return rc != 0 ? rc : st->ops->user_delete(st, id);
}

static int user_revoke(zt_store *st, const char *id, zt_store_revoke what, const char *pw_hash,
                       int64_t *epoch_out)
{
    int rc = check_user_id(id);
    if (rc == 0 && what == ZT_REVOKE_PASSWORD)
        rc = check_hash("password hash", pw_hash, true);
    return rc != 0 ? rc : st->ops->user_revoke(st, id, what, pw_hash, epoch_out);
}

int zt_store_user_set_disabled(zt_store *st, const char *id, bool disabled, int64_t *epoch_out)
{
    ENTER(st);
    return user_revoke(st, id, disabled ? ZT_REVOKE_DISABLE : ZT_REVOKE_ENABLE, NULL, epoch_out);
}

int zt_store_user_set_password(zt_store *st, const char *id, const char *password_hash,
                               int64_t *epoch_out)
{
    ENTER(st);
    return user_revoke(st, id, ZT_REVOKE_PASSWORD, password_hash, epoch_out);
}

int zt_store_user_rehash_password(zt_store *st, const char *id, const char *old_hash,
                                  const char *new_hash)
{
    ENTER(st);
    int rc = check_user_id(id);
    rc = rc ? rc : check_hash("password hash", old_hash, true);
    rc = rc ? rc : check_hash("password hash", new_hash, true);
    return rc != 0 ? rc : st->ops->user_rehash(st, id, old_hash, new_hash);
}

int zt_store_user_reset_mfa(zt_store *st, const char *id, int64_t *epoch_out)
{
    ENTER(st);
    return user_revoke(st, id, ZT_REVOKE_RESET_MFA, NULL, epoch_out);
}

int zt_store_user_bump_epoch(zt_store *st, const char *id, int64_t *epoch_out)
{
    ENTER(st);
    return user_revoke(st, id, ZT_REVOKE_SESSIONS, NULL, epoch_out);
}

/* ---- groups ---- */

int zt_store_group_add(zt_store *st, const char *name)
{
    ENTER(st);
    int rc = check_group(name);
    return rc != 0 ? rc : st->ops->group_add(st, name);
}

int zt_store_group_get(zt_store *st, const char *name, zt_store_group *out)
{
    ENTER(st);
    int rc = check_group(name);
    if (rc == 0)
        rc = check_out(out);
    return rc != 0 ? rc : st->ops->group_get(st, name, out);
}

int zt_store_group_delete(zt_store *st, const char *name)
{
    ENTER(st);
    int rc = check_group(name);
    return rc != 0 ? rc : st->ops->group_delete(st, name);
}

int zt_store_group_list(zt_store *st, zt_store_group_cb cb, void *ctx)
{
    ENTER(st);
    int rc = check_cb(cb != NULL);
    return rc != 0 ? rc : st->ops->group_list(st, cb, ctx);
}

int zt_store_group_members(zt_store *st, const char *group, zt_store_user_cb cb, void *ctx)
{
    ENTER(st);
    int rc = check_group(group);
    if (rc == 0)
        rc = check_cb(cb != NULL);
    return rc != 0 ? rc : st->ops->group_members(st, group, cb, ctx);
}

static int group_member(zt_store *st, const char *group, const char *user_id, bool add)
{
    int rc = check_group(group);
    if (rc == 0)
        rc = check_user_id(user_id);
    return rc != 0 ? rc : st->ops->group_member(st, group, user_id, add);
}

int zt_store_group_member_add(zt_store *st, const char *group, const char *user_id)
{
    ENTER(st);
    return group_member(st, group, user_id, true);
}

int zt_store_group_member_remove(zt_store *st, const char *group, const char *user_id)
{
    ENTER(st);
    return group_member(st, group, user_id, false);
}

/* ---- TOTP and recovery codes ---- */

int zt_store_totp_set(zt_store *st, const char *user_id, const void *secret_enc, size_t len)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && (secret_enc == NULL || len == 0))
        rc = zt_store_seterr(-EINVAL, "TOTP secret is empty");
    if (rc == 0 && len > ZT_STORE_TOTP_BLOB_MAX)
        rc =
            zt_store_seterr(-EINVAL, "TOTP secret is longer than %d bytes", ZT_STORE_TOTP_BLOB_MAX);
    return rc != 0 ? rc : st->ops->totp_set(st, user_id, secret_enc, len);
}

int zt_store_totp_get(zt_store *st, const char *user_id, zt_store_totp *out)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_out(out);
    return rc != 0 ? rc : st->ops->totp_get(st, user_id, out);
}

int zt_store_totp_use_step(zt_store *st, const char *user_id, int64_t step)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && step <= 0)
        rc = zt_store_seterr(-EINVAL, "TOTP step must be positive");
    return rc != 0 ? rc : st->ops->totp_use_step(st, user_id, step);
}

int zt_store_recovery_set(zt_store *st, const char *user_id, const char *const *code_hashes,
                          size_t n)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && n > ZT_STORE_RECOVERY_MAX)
        rc = zt_store_seterr(-EINVAL, "more than %d recovery codes", ZT_STORE_RECOVERY_MAX);
    if (rc == 0 && n > 0 && code_hashes == NULL)
        rc = zt_store_seterr(-EINVAL, "recovery code list is missing");
    for (size_t i = 0; rc == 0 && i < n; i++)
        rc = check_hash("recovery code hash", code_hashes[i], true);
    return rc != 0 ? rc : st->ops->recovery_set(st, user_id, code_hashes, n);
}

int zt_store_recovery_list(zt_store *st, const char *user_id, zt_store_recovery_cb cb, void *ctx)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_cb(cb != NULL);
    return rc != 0 ? rc : st->ops->recovery_list(st, user_id, cb, ctx);
}

int zt_store_recovery_use(zt_store *st, const char *user_id, int64_t code_id)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0 && code_id <= 0)
        rc = zt_store_seterr(-EINVAL, "recovery code id must be positive");
    return rc != 0 ? rc : st->ops->recovery_use(st, user_id, code_id);
}

/* ---- sessions ---- */

int zt_store_session_create(zt_store *st, const zt_store_session *s)
{
    ENTER(st);
    int rc = check_session(s);
    return rc != 0 ? rc : st->ops->session_create(st, s);
}

int zt_store_session_get(zt_store *st, const char *id_hash, zt_store_session *out)
{
    ENTER(st);
    int rc = check_session_hash(id_hash);
    if (rc == 0)
        rc = check_out(out);
    return rc != 0 ? rc : st->ops->session_get(st, id_hash, out);
}

int zt_store_session_touch(zt_store *st, const char *id_hash, int64_t idle_expires_at)
{
    ENTER(st);
    int rc = check_session_hash(id_hash);
    if (rc == 0 && idle_expires_at <= 0)
        rc = zt_store_seterr(-EINVAL, "idle expiry must be positive");
    return rc != 0 ? rc : st->ops->session_touch(st, id_hash, idle_expires_at);
}

int zt_store_session_set_mfa(zt_store *st, const char *id_hash, int64_t mfa_time,
                             const char *mfa_method)
{
    ENTER(st);
    int rc = check_session_hash(id_hash);
    if (rc == 0 && mfa_time <= 0)
        rc = zt_store_seterr(-EINVAL, "MFA time must be positive");
    if (rc == 0)
        rc = check_mfa(mfa_time, mfa_method);
    return rc != 0 ? rc : st->ops->session_set_mfa(st, id_hash, mfa_time, mfa_method);
}

int zt_store_session_delete(zt_store *st, const char *id_hash)
{
    ENTER(st);
    int rc = check_session_hash(id_hash);
    return rc != 0 ? rc : st->ops->session_delete(st, id_hash);
}

int zt_store_session_delete_tree(zt_store *st, const char *id_hash, uint64_t *n_out)
{
    ENTER(st);
    int rc = check_session_hash(id_hash);
    return rc != 0 ? rc : st->ops->session_delete_tree(st, id_hash, n_out);
}

int zt_store_session_list_by_user(zt_store *st, const char *user_id, zt_store_session_cb cb,
                                  void *ctx)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_cb(cb != NULL);
    return rc != 0 ? rc : st->ops->session_list_by_user(st, user_id, cb, ctx);
}

int zt_store_session_delete_by_user(zt_store *st, const char *user_id, uint64_t *n_out)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    return rc != 0 ? rc : st->ops->session_delete_by_user(st, user_id, n_out);
}

int zt_store_session_delete_expired(zt_store *st, int64_t now, uint64_t *n_out)
{
    ENTER(st);
    if (now <= 0)
        return zt_store_seterr(-EINVAL, "time must be positive");
    return st->ops->session_delete_expired(st, now, n_out);
}

int zt_store_session_count(zt_store *st, int64_t now, uint64_t *n)
{
    ENTER(st);
    if (now <= 0 || n == NULL)
        return zt_store_seterr(-EINVAL, "time must be positive and n set");
    return st->ops->session_count(st, now, n);
}

/* ---- risk state ---- */

const char *zt_store_risk_state_name(zt_store_risk_state s)
{
    static const char *const names[] = {"at_risk", "remediated", "dismissed",
                                        "confirmed_compromised"};
    return (unsigned)s < ZT_STORE_RISK_N_STATES ? names[s] : "unknown";
}

bool zt_store_risk_state_parse(const char *s, zt_store_risk_state *out)
{
    for (int i = 0; s != NULL && i < ZT_STORE_RISK_N_STATES; i++) {
        if (strcmp(s, zt_store_risk_state_name((zt_store_risk_state)i)) == 0) {
            *out = (zt_store_risk_state)i;
            return true;
        }
    }
    return false;
}

const char *zt_store_prop_name(zt_store_prop p)
{
    static const char *const names[] = {"ip_prefix", "asn", "country", "device", "ua"};
    return (unsigned)p < ZT_STORE_N_PROPS ? names[p] : "unknown";
}

static int check_ip(const char *ip)
{
    size_t n;
    int rc = check_len("IP address", ip, 0, ZT_STORE_IP_MAX, &n);
    if (rc == 0 && !all_in(ip, "0123456789abcdefABCDEF.:"))
        rc = zt_store_seterr(-EINVAL, "IP address has invalid characters");
    return rc;
}

static int check_detection(const zt_store_detection *d)
{
    size_t n;
    if (d == NULL)
        return zt_store_seterr(-EINVAL, "detection is missing");
    int rc = check_user_id(d->user_id);
    rc = rc ? rc : check_len("detection type", d->type, 1, ZT_STORE_RISK_TYPE_MAX, &n);
    if (rc == 0 && !all_in(d->type, "abcdefghijklmnopqrstuvwxyz_"))
        rc = zt_store_seterr(-EINVAL, "detection type may use only a-z and '_'");
    if (rc == 0 && (d->level < 1 || d->level > 3))
        rc = zt_store_seterr(-EINVAL, "detection level must be 1 (low) to 3 (high)");
    if (rc == 0 && (unsigned)d->state >= ZT_STORE_RISK_N_STATES)
        rc = zt_store_seterr(-EINVAL, "detection state is out of range");
    rc = rc ? rc : check_len("detection detail", d->detail, 0, ZT_STORE_RISK_DETAIL_MAX, &n);
    if (rc == 0 && !all_in(d->detail, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"))
        rc = zt_store_seterr(-EINVAL, "detection detail may use only letters and '_'");
    rc = rc ? rc : check_len("evidence", d->evidence, 0, ZT_STORE_RISK_EVIDENCE_MAX, &n);
    if (rc == 0 && !text_ok(d->evidence, n))
        rc = zt_store_seterr(-EINVAL, "evidence has control characters or invalid UTF-8");
    rc = rc ? rc : check_ip(d->ip);
    if (rc == 0 && d->session_hash[0] != '\0')
        rc = check_session_hash(d->session_hash);
    if (rc == 0 && d->created_at <= 0)
        rc = zt_store_seterr(-EINVAL, "detection time must be positive");
    return rc;
}

static int check_signin(const zt_store_signin *si)
{
    size_t n;
    if (si == NULL)
        return zt_store_seterr(-EINVAL, "sign-in is missing");
    int rc = check_user_id(si->user_id);
    rc = rc ? rc : check_ip(si->ip);
    for (int i = 0; rc == 0 && i < ZT_STORE_N_PROPS; i++) {
        rc = check_len(zt_store_prop_name((zt_store_prop)i), si->props[i], 0,
                       ZT_STORE_RISK_PROP_MAX, &n);
        if (rc == 0 && !text_ok(si->props[i], n))
            rc = zt_store_seterr(-EINVAL, "%s has control characters or invalid UTF-8",
                                 zt_store_prop_name((zt_store_prop)i));
    }
    if (rc == 0 && si->at <= 0)
        rc = zt_store_seterr(-EINVAL, "sign-in time must be positive");
    if (rc == 0 && si->has_location &&
        !(si->lat >= -90 && si->lat <= 90 && si->lon >= -180 && si->lon <= 180 &&
          si->accuracy_km >= 0))
        rc = zt_store_seterr(-EINVAL, "sign-in location is out of range");
    return rc;
}

int zt_store_detection_add(zt_store *st, zt_store_detection *d)
{
    ENTER(st);
    int rc = check_detection(d);
    return rc != 0 ? rc : st->ops->detection_add(st, d);
}

int zt_store_detection_get(zt_store *st, int64_t id, zt_store_detection *out)
{
    ENTER(st);
    int rc = check_out(out);
    if (rc == 0 && id <= 0)
        rc = zt_store_seterr(-EINVAL, "detection id must be positive");
    return rc != 0 ? rc : st->ops->detection_get(st, id, out);
}

int zt_store_detection_list(zt_store *st, const zt_store_risk_filter *f, zt_store_detection_cb cb,
                            void *ctx)
{
    ENTER(st);
    zt_store_risk_filter all = {NULL, -1, 0};
    if (f == NULL)
        f = &all;
    int rc = check_cb(cb != NULL);
    if (rc == 0 && f->user_id != NULL)
        rc = check_user_id(f->user_id);
    if (rc == 0 && (f->state < -1 || f->state >= ZT_STORE_RISK_N_STATES))
        rc = zt_store_seterr(-EINVAL, "detection state is out of range");
    return rc != 0 ? rc : st->ops->detection_list(st, f, cb, ctx);
}

int zt_store_detection_update(zt_store *st, const zt_store_risk_update *u, uint64_t *n_out)
{
    ENTER(st);
    size_t n;
    if (u == NULL)
        return zt_store_seterr(-EINVAL, "update is missing");
    int rc = 0;
    if (u->id <= 0 && u->user_id == NULL && u->session_hash == NULL)
        rc = zt_store_seterr(-EINVAL, "a risk update needs a detection, user or session");
    if (rc == 0 && u->id < 0)
        rc = zt_store_seterr(-EINVAL, "detection id must be positive");
    if (rc == 0 && u->user_id != NULL)
        rc = check_user_id(u->user_id);
    if (rc == 0 && u->session_hash != NULL)
        rc = check_session_hash(u->session_hash);
    if (rc == 0 && ((unsigned)u->to >= ZT_STORE_RISK_N_STATES || u->from_mask == 0 ||
                    u->from_mask >= 1u << ZT_STORE_RISK_N_STATES))
        rc = zt_store_seterr(-EINVAL, "risk state change is out of range");
    rc = rc ? rc : check_len("detection detail", u->detail, 1, ZT_STORE_RISK_DETAIL_MAX, &n);
    if (rc == 0 && !all_in(u->detail, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_"))
        rc = zt_store_seterr(-EINVAL, "detection detail may use only letters and '_'");
    if (rc == 0 && u->now <= 0)
        rc = zt_store_seterr(-EINVAL, "time must be positive");
    return rc != 0 ? rc : st->ops->detection_update(st, u, n_out);
}

int zt_store_user_risk(zt_store *st, const char *user_id, int64_t now, int *level_out)
{
    ENTER(st);
    int rc = check_user_id(user_id);
    if (rc == 0)
        rc = check_out(level_out);
    return rc != 0 ? rc : st->ops->user_risk(st, user_id, now, level_out);
}

int zt_store_signin_profile_get(zt_store *st, const zt_store_signin *q,
                                zt_store_signin_profile *out)
{
    ENTER(st);
    int rc = check_signin(q);
    if (rc == 0)
        rc = check_out(out);
    return rc != 0 ? rc : st->ops->signin_profile(st, q, out);
}

int zt_store_signin_record(zt_store *st, const zt_store_signin *si, bool learn,
                           const char *pending_hash, zt_store_detection *dets, size_t n_dets)
{
    ENTER(st);
    int rc = check_signin(si);
    if (rc == 0 && pending_hash != NULL)
        rc = check_session_hash(pending_hash);
    if (rc == 0 && n_dets > 0 && dets == NULL)
        rc = zt_store_seterr(-EINVAL, "detection list is missing");
    for (size_t i = 0; rc == 0 && i < n_dets; i++) {
        rc = check_detection(&dets[i]);
        if (rc == 0 && strcmp(dets[i].user_id, si->user_id) != 0)
            rc = zt_store_seterr(-EINVAL, "detection is for another user than the sign-in");
    }
    return rc != 0 ? rc : st->ops->signin_record(st, si, learn, pending_hash, dets, n_dets);
}

int zt_store_signin_learn_pending(zt_store *st, const char *session_hash, int64_t now,
                                  bool *learned)
{
    ENTER(st);
    int rc = check_session_hash(session_hash);
    if (rc == 0 && now <= 0)
        rc = zt_store_seterr(-EINVAL, "time must be positive");
    return rc != 0 ? rc : st->ops->signin_learn_pending(st, session_hash, now, learned);
}
