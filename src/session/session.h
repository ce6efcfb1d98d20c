/* Sessions: random ids in cookies, server-side records in the store, a per-worker cache that
 * keeps the proxy path off the disk, revocation that reaches every cache on the next request,
 * the signed one-time code that carries a sign-in from the portal host to an app host, and the
 * signed "known device" cookie that keeps brute force against an account from locking its
 * owner out.
 *
 * Ids: 32 bytes from the CSPRNG, base64url without padding in the cookie (43 chars). The store
 * only ever sees SHA-256(id) as lowercase hex (64 chars), so a database leak yields no usable
 * cookie.
 *
 * Revocation: every change that can invalidate sessions (disable, password, MFA reset, revoke,
 * delete, group change; from the CLI, another process, or the admin API) calls
 * zt_revocation_bump(state_dir). That increments a counter in STATE_DIR/revocation, which every
 * gateway process maps into memory; a cache whose remembered counter differs drops its entries
 * before answering, so the change applies on the very next request without any disk access on
 * the hit path. The store's per-user epoch is checked on every (re)load.
 *
 * Threads: zt_sessions is shared and thread-safe. A zt_session_cache belongs to one loop thread. */
#ifndef ZT_SESSION_SESSION_H
#define ZT_SESSION_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "lib/str.h"

#define ZT_SESSION_ID_BYTES 32
#define ZT_SESSION_COOKIE_LEN 43 /* base64url of 32 bytes, no padding */
#define ZT_SESSION_HASH_LEN 64   /* SHA-256 hex */
#define ZT_SESSION_MAX_GROUPS 64
#define ZT_SESSION_CODE_TTL_S 60    /* one-time code from portal host to app host */
#define ZT_SESSION_TOUCH_EVERY_S 60 /* idle expiry is written back at most this often */
#define ZT_KNOWN_DEVICE_TTL_S (180 * 24 * 3600)
#define ZT_SESSION_CODE_MAX 255       /* code length bound (the real one is 119 chars) */
#define ZT_SESSION_CODE_USED_MAX 4096 /* redeemed codes remembered until they expire */
#define ZT_SESSION_ASSERT_SLOTS 4     /* cached assertions per session (apps) */
#define ZT_SESSION_ASSERT_MAX 8192    /* bytes of one cached assertion */
#define ZT_SESSION_APP_MAX 128        /* bytes of an assertion cache key (app, trust, device) */
#define ZT_SESSION_CACHE_DEFAULT 4096 /* entries when zt_session_cache_new gets 0 */
#define ZT_SESSION_CACHE_MAX (1u << 20)
#define ZT_REVOCATION_FILE "revocation"
/* The host of sessions minted for `ztagent tunnel` (their token goes in Proxy-Authorization,
 * never in a cookie): no browser request can name this host, so an agent token is no browser
 * session and a browser cookie is no agent token. */
#define ZT_SESSION_HOST_AGENT ".ztgate-agent"
/* mfa_method of a pending session opened with a Temporary Access Pass (mfa_time 0). */
#define ZT_SESSION_PURPOSE_TAP "tap"

/* Cookie names. "__Host-" on HTTPS makes browsers refuse the cookie unless it is Secure,
 * host-only and Path=/, so a sibling subdomain cannot plant or shadow it. */
#define ZT_COOKIE_SESSION_HTTPS "__Host-ztgate_session"
#define ZT_COOKIE_SESSION_HTTP "ztgate_session"
#define ZT_COOKIE_DEVICE_HTTPS "__Host-ztgate_device"
#define ZT_COOKIE_DEVICE_HTTP "ztgate_device"

typedef struct zt_store zt_store;
typedef struct zt_secretbox zt_secretbox;
typedef struct zt_sessions zt_sessions;
typedef struct zt_session_cache zt_session_cache;

typedef struct zt_sessions_cfg {
    zt_store *store;
    const char *state_dir;       /* for the revocation counter file */
    const zt_secretbox *secrets; /* MAC keys for codes and known-device cookies are derived */
    int64_t idle_s;              /* idle expiry; default 1800 */
    int64_t absolute_s;          /* absolute expiry; default 43200 */
} zt_sessions_cfg;

zt_sessions *zt_sessions_new(const zt_sessions_cfg *cfg, char *err, size_t errlen);
void zt_sessions_free(zt_sessions *s);
/* Reload: new expiry settings apply to sessions created or touched from now on. */
void zt_sessions_set_expiry(zt_sessions *s, int64_t idle_s, int64_t absolute_s);

/* ---- authentication methods: RFC 8176 amr values, as a bit set ----
 * Every sign-in and second factor adds its method; "mfa" is added when two different kinds of
 * factor were used (password and a code, password and a passkey) or by a user-verified passkey
 * alone (possession of the authenticator plus its PIN or biometric, checked on the device).
 * hwk = a key bound to one authenticator (security key, device-bound passkey: not backup
 * eligible); swk = a synced passkey (backup eligible): both are phishing-resistant, since the
 * browser binds the assertion to the origin. A recovery code is a single-use password the user
 * printed: it counts as "otp" (RFC 8176: one-time password), never as phishing-resistant. */
#define ZT_AMR_PWD 0x01u   /* password */
#define ZT_AMR_OTP 0x02u   /* TOTP code or recovery code */
#define ZT_AMR_HWK 0x04u   /* passkey or security key bound to one device */
#define ZT_AMR_SWK 0x08u   /* synced passkey */
#define ZT_AMR_MFA 0x10u   /* two kinds of factor, or a user-verified passkey */
#define ZT_AMR_TEXT_MAX 31 /* "pwd,otp,hwk,swk,mfa" */

/* The methods of a second factor named as the store's mfa_method ("totp", "recovery", "hwk",
 * "swk"); 0 for anything else. */
unsigned zt_amr_of_method(const char *mfa_method);
/* The methods a passkey assertion proves: hwk or swk by its backup eligibility, plus mfa when
 * the authenticator verified the user. */
unsigned zt_amr_of_passkey(bool backup_eligible, bool user_verified);
/* amr plus the methods just proven, with mfa added when two kinds of factor are now present. */
unsigned zt_amr_add(unsigned amr, unsigned proven);
/* Whether the methods include a phishing-resistant one proven as MFA (hwk or swk, and mfa). */
bool zt_amr_phishing_resistant(unsigned amr);
/* "pwd,otp,mfa" (RFC 8176 words in a fixed order, comma-joined; "" for 0). */
void zt_amr_text(unsigned amr, char out[ZT_AMR_TEXT_MAX + 1]);
/* The inverse; unknown words are ignored. "" on a record made before amr existed: derived
 * from its other fields (a password, plus otp and mfa when it has an MFA time). */
unsigned zt_amr_parse(const char *text, int64_t mfa_time);

/* An AAGUID as the store keeps it (32 lowercase hex digits) and back; "" reads as none
 * (false). */
void zt_session_aaguid_hex(const unsigned char id[16], char out[33]);
bool zt_session_aaguid_parse_hex(const char *hex, unsigned char out[16]);

/* A validated session as the proxy and the portal see it. */
typedef struct zt_session_info {
    char id_hash[ZT_SESSION_HASH_LEN + 1];
    char user_id[33];
    char email[255];
    char name[129];
    const char *const *groups; /* names, ordered; owned by the cache entry */
    size_t n_groups;
    const char *groups_csv; /* "a,b,c" ("" when none), for X-ZT-Groups */
    char host[256];         /* host the cookie was issued for */
    int64_t auth_time;      /* password */
    int64_t mfa_time;       /* 0 = no second factor on this session */
    char mfa_method[17];    /* "totp", "recovery", "" */
    bool mfa_pending; /* password ok, second factor owed: only MFA/enrolment pages accept it */
    /* While mfa_pending, mfa_method may say why the session is limited: ZT_SESSION_PURPOSE_TAP
     * for a Temporary Access Pass sign-in, which only enrols (it never completes to a full
     * session, not even with a code). */
    int64_t idle_expires_at;
    int64_t absolute_expires_at;
    /* When this session stops being valid unless touched: the earliest of the idle and absolute
     * expiries and the account's expiry (live streams close then). */
    int64_t expires_at;
    char device_id[65]; /* "" = none (Core 5) */
    /* Identity Protection, zt_risk values (0 none .. 3 high), read with the record on a cache
     * miss; risk changes bump the revocation counter, so caches reload them. */
    int user_risk;    /* the user's highest open detection */
    int sign_in_risk; /* this sign-in's open sign-in detections (MFA remediates them) */
    unsigned amr;     /* ZT_AMR_* bits: how this session was signed in */
    /* The passkey that signed this session in or stepped it up (policies' authentication
     * strengths read it); has_passkey_aaguid false = none or unknown. */
    bool has_passkey_aaguid;
    unsigned char passkey_aaguid[16];
    /* Assertion cache for the proxy (X-ZT-Assertion), keyed by app name; managed by the caller
     * through zt_session_assertion_get/put. */
} zt_session_info;

typedef enum zt_session_status {
    ZT_SESSION_VALID = 0,
    ZT_SESSION_NONE,       /* no session cookie, or one that is not a well-formed id */
    ZT_SESSION_UNKNOWN,    /* well-formed but no such session (logged out, forged, deleted) */
    ZT_SESSION_EXPIRED,    /* idle or absolute expiry passed */
    ZT_SESSION_REVOKED,    /* user disabled, epoch moved (password, MFA reset, revoke) */
    ZT_SESSION_WRONG_HOST, /* cookie issued for another host */
    ZT_SESSION_ERROR,      /* the store failed: callers fail closed */
} zt_session_status;

const char *zt_session_status_name(zt_session_status st);

/* ---- creating and ending sessions (any thread) ---- */

typedef struct zt_session_new {
    const char *user_id;
    const char *host; /* host the cookie is for (lowercase, no port) */
    int64_t auth_time;
    int64_t mfa_time;       /* 0 = none */
    const char *mfa_method; /* "" or NULL when mfa_time is 0, but for ZT_SESSION_PURPOSE_TAP */
    bool mfa_pending;
    const char *ip;
    const char *user_agent;  /* truncated to the store's limit */
    const char *parent_hash; /* code exchange: the portal-host session it came from; NULL */
    const char *device_id;   /* "" or NULL = none */
    /* ZT_AMR_* methods used. 0: derived as for records older than amr (a password, plus otp
     * and mfa when mfa_time is set), which is what the password and TOTP paths mean. */
    unsigned amr;
    /* The AAGUID (16 bytes) of the passkey this sign-in or step-up was proven with; NULL =
     * none. A step-up by another method keeps the previous session's (its amr keeps the
     * passkey too). */
    const unsigned char *passkey_aaguid;
} zt_session_new;

/* New random id; the record gets the configured expiries from `now`. cookie_out receives the
 * cookie value (43 chars + NUL), hash_out (nullable) the id hash. 0 or a negative errno. */
int zt_session_create(zt_sessions *s, const zt_session_new *in, int64_t now,
                      char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                      char hash_out[ZT_SESSION_HASH_LEN + 1]);
/* Create with the absolute expiry also capped at cap_absolute (0 = no cap): a child never
 * outlives its parent (an agent token never outlives the sign-in that
 * approved it). */
int zt_session_create_capped(zt_sessions *s, const zt_session_new *in, int64_t now,
                             int64_t cap_absolute, char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                             char hash_out[ZT_SESSION_HASH_LEN + 1]);
/* Delete a session and every session made from it by code exchange (logout). Also bumps the
 * revocation counter so every cache (other loops, other processes) forgets them at once.
 * 0 (also when it was already gone) or a negative errno. */
int zt_session_destroy(zt_sessions *s, const char *id_hash);
/* A session replaced by a new one of the same user (sign-in again, step-up) hands its identity
 * provider state (the SAML SPs it signed in to) to the new one: call before destroying the old
 * one, so back-channel logout never sees it end. Nothing moves to another user's session. */
int zt_session_carry_over(zt_sessions *s, const char *from_hash, const char *to_hash);
/* Record the completed second factor on a session (clears mfa_pending). Pending sessions are
 * never served from a cache, so the change is seen on the next request on every loop. */
int zt_session_mfa_done(zt_sessions *s, const char *id_hash, int64_t mfa_time,
                        const char *mfa_method);
/* Bump the shared revocation counter through this handle's mapping (what zt_revocation_bump
 * does without opening the file): every cache of every process on this state_dir reloads. */
void zt_sessions_bump(zt_sessions *s);
/* Current value of the shared revocation counter. */
uint64_t zt_sessions_revocation(const zt_sessions *s);
/* Outage grace (src/cluster, docs/CLUSTER.md). A gateway alone serves cached sessions as long
 * as they are valid. A clustered one learns of revocations elsewhere only from the database, so
 * its cluster thread sets, at every successful contact, the Unix time until which cached
 * sessions may still be served without another contact (last contact + resync + timeout +
 * outage_grace), and whether the database is reachable now. From serve_until on every lookup
 * is refused (ZT_SESSION_ERROR: fail closed) until contact is back; while unreachable, cached
 * sessions are served without writing their idle expiry back. Two atomic stores. */
void zt_sessions_set_contact(zt_sessions *s, int64_t serve_until, bool reachable);
/* False when a clustered gateway's database is known unreachable (sign-in pages then answer
 * with their own 503 page); always true alone. */
bool zt_sessions_store_reachable(const zt_sessions *s);
/* SHA-256 hex of a cookie value; -EINVAL if it is not a well-formed id. */
int zt_session_hash_cookie(const char *value, size_t len, char hash_out[ZT_SESSION_HASH_LEN + 1]);

/* ---- lookup (one loop thread per cache) ---- */

zt_session_cache *zt_session_cache_new(zt_sessions *s, size_t capacity);
void zt_session_cache_free(zt_session_cache *c);
/* Find and validate the session named by the session cookie in a Cookie header value
 * (cookie_header may be NULL). A hit costs no disk access; a miss reads the store once.
 * Expired sessions are deleted. *out (on VALID, and on any status where a record was found)
 * stays valid until the next call on this cache: it is one slot per cache, rewritten by every
 * lookup, so a caller that waits (for I/O, for another request) copies what it needs first.
 * `host` is the request host: a session is accepted only on the host it was issued for. */
zt_session_status zt_session_lookup(zt_session_cache *c, const zt_span *cookie_header, bool https,
                                    const char *host, int64_t now, const zt_session_info **out);
/* The same check for a session named by its id hash (a live stream re-checking the session it
 * was opened with; an agent token hashed with zt_session_hash_cookie). touch: extend the idle
 * expiry as a request would (a stream that moved bytes since its last check); false leaves
 * it, so an idle stream does not keep its session alive. */
zt_session_status zt_session_lookup_hash(zt_session_cache *c, const char *id_hash, const char *host,
                                         int64_t now, bool touch, const zt_session_info **out);
/* Forget one entry (after logout or MFA on this loop). */
void zt_session_cache_forget(zt_session_cache *c, const char *id_hash);

/* Per-entry assertion cache: the proxy signs one JWT per (session, app) and reuses it until
 * close to expiry. get returns NULL when absent or when now >= refresh time. */
const char *zt_session_assertion_get(zt_session_cache *c, const zt_session_info *info,
                                     const char *app, int64_t now, size_t *len);
void zt_session_assertion_put(zt_session_cache *c, const zt_session_info *info, const char *app,
                              const char *jwt, size_t len, int64_t refresh_at);

/* ---- revocation counter (any process) ---- */

/* Bump STATE_DIR/revocation (created 0600 if missing). 0 or a negative errno. */
int zt_revocation_bump(const char *state_dir);

/* ---- internals shared by the files of src/session; callers never define this ---- */
#ifdef ZT_SESSION_INTERNAL
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>

typedef struct zt_used_code {
    unsigned char nonce[16];
    int64_t expires_at;
} zt_used_code;

struct zt_sessions {
    zt_store *store;
    _Atomic int64_t idle_s, absolute_s;
    _Atomic int64_t serve_until; /* INT64_MAX alone; see zt_sessions_set_contact */
    _Atomic bool store_reachable;
    _Atomic uint64_t *revocation; /* 8-byte MAP_SHARED mapping of STATE_DIR/revocation */
    unsigned char *keys;          /* sodium_malloc: code key, then known-device key */
    pthread_mutex_t used_mu;      /* guards used[] */
    zt_used_code used[ZT_SESSION_CODE_USED_MAX];
};

#define ZT_SESSION_CODE_KEY(s) ((s)->keys)
#define ZT_SESSION_DEVICE_KEY(s) ((s)->keys + crypto_auth_hmacsha256_KEYBYTES)

/* Open or create STATE_DIR/revocation (0600, repaired to 8 bytes) and map it shared. */
int zt_revocation_map(const char *state_dir, _Atomic uint64_t **out);
void zt_revocation_unmap(_Atomic uint64_t *map);
/* base64url without padding; out needs 4 * ceil(n / 3) + 1 bytes. */
void zt_session_b64(const unsigned char *in, size_t n, char *out, size_t outcap);
/* Strict decode of exactly `want` bytes from exactly `len` base64url chars; false otherwise. */
bool zt_session_unb64(const char *in, size_t len, unsigned char *out, size_t want);
#endif

/* ---- cookies ---- */

/* Value of cookie `name` in a Cookie header value; false if absent. The first one wins. */
bool zt_cookie_find(const zt_span *cookie_header, const char *name, zt_span *value);
/* Append "Set-Cookie: NAME=VALUE; Path=/; HttpOnly; SameSite=Lax[; Secure][; Max-Age=N]\r\n".
 * max_age_s < 0 omits Max-Age (session cookie); 0 deletes the cookie. */
int zt_cookie_set(zt_buf *headers, const char *name, const char *value, bool https,
                  int64_t max_age_s);
const char *zt_session_cookie_name(bool https);

/* ---- one-time code exchange: portal host -> app host ---- */

/* Issue a code that lets the app origin `target_origin` ("scheme://host:port", the port
 * always written; compared case-insensitively) get its own session for the same sign-in as the
 * session `id_hash`. MACed, bound to that origin, valid ZT_SESSION_CODE_TTL_S, redeemable
 * once. out must hold 256 bytes. */
int zt_session_code_issue(zt_sessions *s, const char *id_hash, const char *target_origin,
                          int64_t now, char *out, size_t outcap);
/* Check the code (MAC, expiry, origin, not used before, parent session still valid) and create
 * a child session on `host`. `origin` is the origin the code arrived on, built from the
 * connection's scheme, the host and the port. -EACCES for any bad, expired, reused or foreign
 * code, including one issued for another scheme or port of the same host. */
int zt_session_code_redeem(zt_sessions *s, const char *code, size_t len, const char *origin,
                           const char *host, const char *ip, const char *user_agent, int64_t now,
                           char cookie_out[ZT_SESSION_COOKIE_LEN + 1],
                           char hash_out[ZT_SESSION_HASH_LEN + 1]);

/* ---- known-device cookie ---- */

/* Append the Set-Cookie line for a browser where user_id just signed in successfully. */
int zt_known_device_set(zt_sessions *s, zt_buf *headers, const char *user_id, bool https,
                        int64_t now);
/* True when the Cookie header carries a valid, unexpired known-device cookie for user_id. */
bool zt_known_device_check(zt_sessions *s, const zt_span *cookie_header, const char *user_id,
                           bool https, int64_t now);

/* The `auth:` section's key table (session_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_auth_config_module;

#endif
