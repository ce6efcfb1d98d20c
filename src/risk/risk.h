/* Risk detections and risk state, after Microsoft Entra ID Protection: each sign-in is assessed
 * against feeds, ztgate's own failure telemetry and the user's learned history, yielding
 * detections (type, level, evidence) whose maximum is the sign-in risk; open detections make up
 * the user risk, which remediation (MFA, secure password change) and admins close.
 *
 * It never calls the proxy or the portal, never sees a password (only a keyed tag and the
 * leaked-feed verdict) and never prints or audits: every state change is handed back as a
 * zt_risk_event for the caller to audit, and changes that alter a user's risk set
 * reload_sessions so the caller bumps the revocation counter (session caches hold user_risk).
 *
 * Threads: a zt_risk_engine is shared by every thread. Time is always passed in (`now`, Unix
 * seconds) so tests drive the clock. */
#ifndef ZT_RISK_RISK_H
#define ZT_RISK_RISK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/levels.h"
#include "risk/feeds.h"
#include "store/store.h"

#define ZT_RISK_DETECTIONS_MAX 8 /* detections one sign-in can yield (one per type at most) */
#define ZT_RISK_TAG_LEN 16       /* keyed password tag: e.g. HMAC(secret, password)[0..16) */
#define ZT_RISK_TRACK_MAX 64     /* accounts remembered per source: bounds the thresholds */
#define ZT_RISK_TRACK_PW 8       /* password tags remembered per source */
#define ZT_RISK_SOURCES_DEFAULT 4096
#define ZT_RISK_SOURCES_MAX (1u << 20)
#define ZT_RISK_REPUTATION_SOURCE                                                                  \
    "ztgate-reputation" /* malicious_ip evidence from our telemetry                                \
                         */

/* Detection types; names are ours, entra_name the Graph riskEventType alias for exports. */
typedef enum zt_risk_type {
    ZT_DET_LEAKED_CREDENTIALS = 0,
    ZT_DET_ANONYMOUS_IP,
    ZT_DET_MALICIOUS_IP,
    ZT_DET_PASSWORD_SPRAY,
    ZT_DET_IMPOSSIBLE_TRAVEL,
    ZT_DET_ATYPICAL_TRAVEL,
    ZT_DET_UNFAMILIAR_SIGN_IN,
    ZT_DET_ADMIN_CONFIRMED_COMPROMISED,
    /* A passkey's sign counter went backwards or stood still: its private key may have been
     * copied to another authenticator (WebAuthn §6.1.1). High user risk. */
    ZT_DET_CLONED_CREDENTIAL,
    ZT_DET_USER_REPORTED_SUSPICIOUS, /* "this wasn't me" on the security page */
    ZT_DET_N_TYPES,
} zt_risk_type;

const char *zt_risk_type_name(zt_risk_type t);  /* "leaked_credentials", ... */
const char *zt_risk_type_entra(zt_risk_type t); /* "leakedCredentials", ... */
bool zt_risk_type_parse(const char *s, zt_risk_type *out);
/* User risk (compromised credentials: remediated by a secure password change) or sign-in risk
 * (remediated by MFA on that sign-in). */
bool zt_risk_type_is_user(zt_risk_type t);

typedef zt_store_risk_state zt_risk_state; /* ZT_STORE_RISK_AT_RISK, ... */

/* The one transition function of the risk state machine: may a detection in `from` move to
 * `to`? at_risk -> remediated | dismissed | confirmed_compromised; confirmed_compromised ->
 * remediated | dismissed; remediated and dismissed are final. */
bool zt_risk_transition_ok(zt_risk_state from, zt_risk_state to);
/* Bits (1u << state) of every state that may move to `to`. */
unsigned zt_risk_transition_from(zt_risk_state to);

/* Thresholds. zt_risk_cfg_defaults fills the values in the comments. */
typedef struct zt_risk_cfg {
    /* password spray: one source, >= spray_accounts distinct accounts, <= spray_passwords
     * distinct passwords, within spray_window_s */
    unsigned spray_accounts;  /* 10 (1..ZT_RISK_TRACK_MAX) */
    unsigned spray_passwords; /* 2 (1..ZT_RISK_TRACK_PW - 1) */
    int64_t spray_window_s;   /* 600 */
    /* reputation: a source failing against >= reputation_accounts distinct accounts within
     * reputation_window_s is malicious for reputation_ttl_s (spray flags share the TTL) */
    unsigned reputation_accounts; /* 10 (1..ZT_RISK_TRACK_MAX) */
    int64_t reputation_window_s;  /* 600 */
    int64_t reputation_ttl_s;     /* 86400 */
    size_t sources_max;           /* ZT_RISK_SOURCES_DEFAULT; least recently seen evicted */
    /* travel */
    double travel_kmh;         /* 900: faster is impossible travel */
    double travel_min_km;      /* 100: closer hops are never impossible */
    double travel_accuracy_km; /* 200: locations less accurate than this are ignored */
    /* familiarity learning: until the earlier of learning_s since the first learned sign-in or
     * learning_sign_ins learned sign-ins, no unfamiliar/atypical detections */
    int64_t learning_s;         /* 14 days */
    uint64_t learning_sign_ins; /* 10 */
    unsigned unfamiliar_medium; /* 3: this many new properties make unfamiliar medium */
} zt_risk_cfg;

void zt_risk_cfg_defaults(zt_risk_cfg *cfg);
/* 0, or -EINVAL with the reason in err. */
int zt_risk_cfg_check(const zt_risk_cfg *cfg, char *err, size_t errlen);

typedef struct zt_risk_detection {
    zt_risk_type type;
    zt_risk level;
    char evidence[ZT_STORE_RISK_EVIDENCE_MAX + 1]; /* JSON object */
    int64_t id;                                    /* store id once recorded; 0 before */
} zt_risk_detection;

typedef struct zt_risk_assessment {
    zt_risk level; /* sign-in risk: the highest detection level */
    size_t n;
    zt_risk_detection det[ZT_RISK_DETECTIONS_MAX];
    /* Filled by zt_risk_record: */
    bool learned;         /* sign-in became history (no detection) */
    bool parked;          /* kept to learn once remediated (zt_risk_remediate_sign_in) */
    bool reload_sessions; /* detections were stored: the user's risk may have risen */
} zt_risk_assessment;

/* ---- pure detection core (detect.c): inputs in, detections out, no state ---- */

/* Everything one assessment looks at. */
typedef struct zt_risk_facts {
    int64_t now;
    const zt_ip_info *ip;   /* nullable: unknown */
    bool leaked;            /* (email, sha1(password)) is in the leaked-credentials feed */
    bool vpn_egress;        /* source is a configured VPN egress: no travel detections */
    bool spray_source;      /* the source is flagged for password spray (zt_risk_on_failure) */
    bool reputation_source; /* the source is flagged by ztgate's failure reputation */
    const zt_store_signin_profile *history; /* nullable: no history */
    bool known_props[ZT_STORE_N_PROPS];     /* the sign-in carries this property */
} zt_risk_facts;

/* Append the detections for facts to out (cap ZT_RISK_DETECTIONS_MAX); returns how many and
 * sets out->level. Deterministic; each detection's evidence says why it fired. */
size_t zt_risk_detect(const zt_risk_cfg *cfg, const zt_risk_facts *f, zt_risk_assessment *out);
/* Great-circle distance (haversine, mean Earth radius 6371.0088 km). */
double zt_risk_haversine_km(double lat1, double lon1, double lat2, double lon2);
/* Learning over? (earlier of learning_s since the first sign-in or learning_sign_ins). */
bool zt_risk_learned(const zt_risk_cfg *cfg, const zt_store_signin_profile *h, int64_t now);
/* "chrome/windows", "firefox/linux", "curl/other", "other/other"... from a User-Agent. */
void zt_risk_ua_family(const char *ua, char *out, size_t cap);
/* "203.0.113.0/24" or "2001:db8:1::/48"; "" when sa is NULL or not IP. */
void zt_risk_ip_prefix(const struct sockaddr *sa, char *out, size_t cap);

/* ---- engine ---- */

typedef struct zt_risk_engine zt_risk_engine;

/* cfg NULL = defaults. store is borrowed and must outlive the engine. NULL on bad
 * configuration (err says why) or out of memory. */
zt_risk_engine *zt_risk_new(const zt_risk_cfg *cfg, zt_store *store, char *err, size_t errlen);
/* Accepts NULL. */
void zt_risk_free(zt_risk_engine *eng);

/* Source-level results of zt_risk_on_failure, as bits, set only when newly flagged. */
enum {
    ZT_RISK_SRC_SPRAY = 1u << 0,      /* password spray from this source (medium) */
    ZT_RISK_SRC_REPUTATION = 1u << 1, /* malicious by ztgate's own reputation (medium) */
};

/* A failed sign-in from ip against account (email as typed; compared case-insensitively).
 * pw_tag (ZT_RISK_TAG_LEN bytes, nullable) is a keyed tag of the attempted password, never
 * the password. Returns ZT_RISK_SRC_* bits newly raised (for the caller's audit), 0 if none.
 * Memory is bounded by cfg.sources_max. */
unsigned zt_risk_on_failure(zt_risk_engine *eng, const char *account, const struct sockaddr *ip,
                            const unsigned char *pw_tag, int64_t now);

/* Several gateways on one database (store/store_counter.h; PostgreSQL only): from now on
 * failures are recorded in the engine's store and the spray and reputation rules run there
 * over every gateway's failures, hashed with key (which every gateway must share; derived
 * from auth.secrets_key). A flag raised by one gateway reaches the others' memory through
 * zt_risk_sync. -ENOTSUP when the store keeps no shared counters (SQLite): all stays in
 * memory. Call before the first failure. */
#define ZT_RISK_SHARED_KEY_LEN 32
int zt_risk_set_shared(zt_risk_engine *eng, const unsigned char key[ZT_RISK_SHARED_KEY_LEN]);
/* Copy every source flagged in the database into memory (a gateway's timer; tests). 0 or the
 * store's error; 0 at once when not shared. */
int zt_risk_sync(zt_risk_engine *eng, int64_t now);
/* Failures the database could not record (then counted in this gateway's memory only). */
uint64_t zt_risk_shared_errors(zt_risk_engine *eng);

/* Per-request risk of a source address: anonymous or malicious feed entry, or flagged by our
 * reputation or spray tracking -> MEDIUM, else NONE. No store access; a mutex only. info may
 * be NULL (feeds unknown). */
zt_risk zt_risk_ip_level(zt_risk_engine *eng, const zt_ip_info *info, const struct sockaddr *ip,
                         int64_t now);

typedef struct zt_risk_sign_in {
    const char *user_id; /* store id */
    const char *email;
    const struct sockaddr *ip; /* nullable */
    const zt_ip_info *info;    /* nullable */
    const char *user_agent;    /* nullable */
    const char *device_id;     /* nullable / "" = none */
    const char *session_hash;  /* the sign-in's session, nullable (then nothing is parked) */
    bool leaked;               /* zt_feeds_leaked(feeds, email, sha1(password)) */
    bool vpn_egress;           /* ip is in a configured VPN egress range */
    int64_t now;
} zt_risk_sign_in;

/* Assess a successful primary sign-in: reads the user's history, computes detections. No
 * write. 0 or a negative errno (store failure: callers fail closed). */
int zt_risk_assess(zt_risk_engine *eng, const zt_risk_sign_in *in, zt_risk_assessment *out);
/* Persist an assessment: its detections (at_risk, tied to in->session_hash), and the sign-in
 * as history when it had no detection, else parked under in->session_hash. */
int zt_risk_record(zt_risk_engine *eng, const zt_risk_sign_in *in, zt_risk_assessment *a);
/* assess + record, for callers that already have the session hash. */
int zt_risk_on_sign_in(zt_risk_engine *eng, const zt_risk_sign_in *in, zt_risk_assessment *out);

/* The user's risk now (highest open detection). */
int zt_risk_user_level(zt_risk_engine *eng, const char *user_id, int64_t now, zt_risk *out);

/* ---- state changes: each fills ev (nullable) for the caller to audit ---- */

typedef enum zt_risk_event_kind {
    ZT_RISK_EV_DETECTED = 0,
    ZT_RISK_EV_REMEDIATED,
    ZT_RISK_EV_DISMISSED,
    ZT_RISK_EV_CONFIRMED_COMPROMISED,
} zt_risk_event_kind;

const char *zt_risk_event_name(zt_risk_event_kind k); /* "risk.detected", ... */

typedef struct zt_risk_event {
    zt_risk_event_kind kind;
    char user_id[ZT_STORE_ID_LEN + 1];         /* "" when a single detection was named by id only */
    int64_t detection_id;                      /* the one detection named, or the one created; 0 */
    uint64_t n;                                /* detections whose state changed */
    char detail[ZT_STORE_RISK_DETAIL_MAX + 1]; /* Graph riskDetail */
    bool reload_sessions; /* user risk may have changed: zt_revocation_bump(state_dir) */
} zt_risk_event;

/* MFA passed on a risky sign-in: its sign-in detections become remediated
 * (userPassedMFADrivenByRiskBasedPolicy) and the parked sign-in is learned. */
int zt_risk_remediate_sign_in(zt_risk_engine *eng, const char *session_hash, int64_t now,
                              zt_risk_event *ev);
/* Secure password change: every open detection of the user becomes remediated
 * (userPerformedSecuredPasswordChange). */
int zt_risk_remediate_user(zt_risk_engine *eng, const char *user_id, int64_t now,
                           zt_risk_event *ev);
/* Admin dismisses one detection (adminDismissedRiskForSignIn / adminDismissedAllRiskForUser
 * for user detections). -ENOENT unknown id, -EALREADY already closed. */
int zt_risk_dismiss(zt_risk_engine *eng, int64_t id, int64_t now, zt_risk_event *ev);
/* Admin dismisses all risk of a user (adminDismissedAllRiskForUser). */
int zt_risk_dismiss_user(zt_risk_engine *eng, const char *user_id, int64_t now, zt_risk_event *ev);
/* Admin confirms the user compromised: open detections become confirmed_compromised and an
 * admin_confirmed_compromised (high) detection is added (adminConfirmedUserCompromised). The
 * caller should also revoke the user's sessions. evidence (nullable) is a JSON object. */
int zt_risk_confirm_compromised(zt_risk_engine *eng, const char *user_id, const char *evidence,
                                int64_t now, zt_risk_event *ev);
/* The user reports a sign-in or activity as not theirs (Entra's userReportedSuspiciousActivity):
 * a high user_reported_suspicious detection is added, open (at_risk), so the user risk is high
 * until a secure password change remediates it or an admin dismisses or confirms it. Nothing
 * else changes state. evidence (nullable) is a JSON object. */
int zt_risk_report_suspicious(zt_risk_engine *eng, const char *user_id, const char *evidence,
                              int64_t now, zt_risk_event *ev);

/* A passkey assertion whose sign counter did not grow (the credential may be cloned): a high
 * user-risk detection, at_risk, with evidence (a JSON object: credential, counters). Works on
 * the store alone, so it is raised whether or not a risk engine is configured. */
int zt_risk_cloned_credential(zt_store *st, const char *user_id, const char *evidence, int64_t now,
                              zt_risk_event *ev);

/* ---- internals shared by the files of src/risk; callers never define this ---- */
#ifdef ZT_RISK_INTERNAL
/* Failure telemetry per source (state.c): bounded table, own lock. */
typedef struct zt_risk_sources zt_risk_sources;

zt_risk_sources *zt_risk_sources_new(const zt_risk_cfg *cfg);
void zt_risk_sources_free(zt_risk_sources *s);
unsigned zt_risk_sources_failure(zt_risk_sources *s, const char *account, const struct sockaddr *ip,
                                 const unsigned char *pw_tag, int64_t now);
/* Current flags (ZT_RISK_SRC_*) of a source. */
unsigned zt_risk_sources_flags(zt_risk_sources *s, const struct sockaddr *ip, int64_t now);
int zt_risk_sources_share(zt_risk_sources *s, zt_store *store,
                          const unsigned char key[ZT_RISK_SHARED_KEY_LEN]);
int zt_risk_sources_sync(zt_risk_sources *s, int64_t now);
uint64_t zt_risk_sources_shared_errors(zt_risk_sources *s);
#endif

/* The `risk:` section's key table (risk_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_risk_config_module;

#endif
