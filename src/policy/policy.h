/* Conditional Access: the policy decision point. Policies (config `policies:`, named locations
 * in `locations:`) compile at load into a read-only zt_policy_set; zt_policy_eval is a pure
 * function of (request attributes, compiled set): it allocates nothing and takes no lock, so
 * every loop thread evaluates concurrently. Reload builds a new set; requests in flight keep
 * the one they started with (it lives in the config generation).
 *
 * Semantics (Microsoft Entra Conditional Access, ../shared/reference/specs.md §2):
 *  - A policy applies when its assignments include the user and the app, no exclusion matches
 *    (exclusions beat inclusions), and every condition it sets matches. Unset conditions match.
 *  - Every applicable enforced (state on) policy must be satisfied. block wins. Otherwise the
 *    required grant controls are the union; a policy with operator OR is satisfied by any one of
 *    its controls. Unmet controls are asked in a fixed order: mfa → phishing_resistant_mfa →
 *    compliant_device → password_change. A policy's authentication strength (a list of
 *    AAGUIDs) is its phishing_resistant_mfa made stricter: for that policy only, the control
 *    counts as met when the session's passkey has one of the listed AAGUIDs.
 *  - Session controls take the most restrictive value: the shortest sign_in_frequency
 *    (every_time shortest of all), and restrict no_download > read_only > none... both may apply
 *    (they are flags).
 *  - report_only policies are evaluated on every request and their would-have result is
 *    reported, never enforced. state off: ignored entirely.
 *  - No applicable policy: allow (the proxy still requires a signed-in user unless the app is
 *    public). */
#ifndef ZT_POLICY_POLICY_H
#define ZT_POLICY_POLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>

#include "core/config.h"
#include "core/levels.h"

#define ZT_POLICY_MAX 10000    /* policies in one config */
#define ZT_POLICY_MATCH_MAX 64 /* applicable policies reported per decision */
#define ZT_POLICY_NAME_MAX 64
#define ZT_POLICY_FRESH_S 60 /* every_time: a sign-in at most this old counts as fresh */

typedef enum zt_platform {
    ZT_PLATFORM_UNKNOWN = 0,
    ZT_PLATFORM_WINDOWS,
    ZT_PLATFORM_MACOS,
    ZT_PLATFORM_LINUX,
    ZT_PLATFORM_IOS,
    ZT_PLATFORM_ANDROID,
    ZT_PLATFORM_CHROMEOS,
} zt_platform;

typedef enum zt_client_type {
    ZT_CLIENT_BROWSER = 0,
    ZT_CLIENT_API,
} zt_client_type;

/* Grant controls, as bits; the enum order is the order they are asked in. */
typedef enum zt_control {
    ZT_CTL_MFA = 1u << 0,
    ZT_CTL_PHISHING_RESISTANT_MFA = 1u << 1,
    ZT_CTL_COMPLIANT_DEVICE = 1u << 2,
    ZT_CTL_PASSWORD_CHANGE = 1u << 3,
} zt_control;

/* Session restrictions, as bits. */
typedef enum zt_restrict {
    ZT_RESTRICT_NONE = 0,
    ZT_RESTRICT_READ_ONLY = 1u << 0,   /* unsafe methods refused with 403 */
    ZT_RESTRICT_NO_DOWNLOAD = 1u << 1, /* attachments / listed content types refused */
} zt_restrict;

typedef enum zt_outcome {
    ZT_OUTCOME_ALLOW = 0, /* every applicable policy satisfied (maybe with restrictions) */
    ZT_OUTCOME_CHALLENGE, /* a grant control is unmet: result.next_control says which */
    ZT_OUTCOME_BLOCK,     /* a block policy applies, or a control can never be met here */
} zt_outcome;

/* Everything a decision may look at. Filled by the proxy from the session, the request and
 * (later) the risk and device modules; unknown risk/device read as NONE/unknown. */
typedef struct zt_policy_input {
    const char *user_id;
    const char *email;         /* policies name users by email (ASCII case-insensitive) */
    const char *const *groups; /* group names (case-insensitive) */
    size_t n_groups;
    const char *app;           /* app name */
    int sensitivity;           /* zt_sensitivity of the app */
    const struct sockaddr *ip; /* client address (NULL = unknown: matches no location) */
    char country[3];           /* ISO 3166-1 alpha-2, uppercase; "" = unknown */
    bool anonymous_ip;         /* Tor exit, anonymising VPN, public proxy */
    zt_risk user_risk;
    zt_risk sign_in_risk;
    bool device_known; /* a device identity was presented */
    bool device_enrolled;
    bool device_compliant;
    zt_risk device_risk;
    zt_platform platform;
    zt_client_type client;
    int64_t now; /* Unix seconds */
    /* What the session already satisfies: */
    int64_t auth_time;           /* primary authentication (0 = none) */
    int64_t mfa_time;            /* 0 = no second factor in this session */
    bool mfa_phishing_resistant; /* the second factor was a passkey / FIDO2 */
    /* The AAGUID (16 bytes) of the passkey that signed the session in or stepped it up; NULL =
     * none or unknown. A policy's authentication strength (grant.authentication_strength) is
     * met only by a phishing-resistant session whose key has one of its AAGUIDs. */
    const unsigned char *passkey_aaguid;
    bool password_change_required; /* an admin or playbook requires a new password */
} zt_policy_input;

/* Why a policy did not apply: the first condition that failed, in evaluation order. */
typedef enum zt_policy_miss {
    ZT_MISS_NONE = 0, /* it applied */
    ZT_MISS_STATE_OFF,
    ZT_MISS_USER_NOT_INCLUDED,
    ZT_MISS_USER_EXCLUDED,
    ZT_MISS_APP_NOT_INCLUDED,
    ZT_MISS_APP_EXCLUDED,
    ZT_MISS_USER_RISK,
    ZT_MISS_SIGN_IN_RISK,
    ZT_MISS_DEVICE,
    ZT_MISS_PLATFORM,
    ZT_MISS_LOCATION,
    ZT_MISS_ANONYMOUS_IP,
    ZT_MISS_CLIENT,
    ZT_MISS_TIME,
} zt_policy_miss;

const char *zt_policy_miss_text(zt_policy_miss m); /* plain words: "user is excluded" */

typedef struct zt_policy_result {
    zt_outcome outcome;
    unsigned required;           /* union of grant controls of applicable enforced policies */
    unsigned unmet;              /* required controls not yet satisfied */
    zt_control next_control;     /* first unmet in the fixed order (CHALLENGE); 0 otherwise */
    unsigned restrict_flags;     /* zt_restrict bits */
    int64_t sign_in_frequency_s; /* shortest; -1 = none; 0 = every_time */
    bool reauth_required;        /* sign_in_frequency exceeded: sign in again */
    int block_policy;            /* index of the (first) blocking policy, -1 = none */
    /* Applicable policies (enforced and report-only), indices into the set. */
    int matched[ZT_POLICY_MATCH_MAX];
    size_t n_matched;
    bool matched_truncated;
    /* Report-only: what would have happened had they been enforced. */
    zt_outcome report_only_outcome;
    unsigned report_only_unmet;
} zt_policy_result;

typedef struct zt_policy_set zt_policy_set;

/* Evaluate. Never fails; set may be NULL (no policies: allow). */
void zt_policy_eval(const zt_policy_set *set, const zt_policy_input *in, zt_policy_result *out);

/* For explanations (whatif, block pages, logs): per-policy verdict. misses must hold
 * zt_policy_count(set) entries. */
void zt_policy_explain(const zt_policy_set *set, const zt_policy_input *in, zt_policy_miss *misses);

/* The enforced policy that explains a decision, as an index into the set: the blocking one, or
 * for a challenge the first applicable policy left unmet by next_control (or, for reauth, with
 * the winning sign_in_frequency); -1 for allow. The gateway's pages and audit records and
 * `ztgate whatif` name this same policy. */
int zt_policy_cause(const zt_policy_set *set, const zt_policy_input *in,
                    const zt_policy_result *res);

size_t zt_policy_count(const zt_policy_set *set);
const char *zt_policy_name(const zt_policy_set *set, int index);
bool zt_policy_report_only(const zt_policy_set *set, int index);
bool zt_policy_is_block(const zt_policy_set *set, int index);
const char *zt_control_name(zt_control c); /* "mfa", "compliant_device", ... */
const char *zt_outcome_name(zt_outcome o); /* "allow", "challenge", "block" */

/* Built from the parsed config by zt_policy_compile (config.h holds the parsed form);
 * freed with the config generation. */
struct zt_config;
zt_policy_set *zt_policy_compile(const struct zt_config *cfg, char *err, size_t errlen);
void zt_policy_set_free(zt_policy_set *set);

/* The `locations:` and `policies:` key tables and their checks across the file
 * (policy_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_locations_config_module;
extern const struct zt_config_module zt_policies_config_module;

/* What this deployment can do, beyond what the file says: every policy in state `on` must ask
 * only for grant controls some sign-in method enabled here can meet (phishing_resistant_mfa
 * has none until passkeys exist). Errors go to diags as FILE:LINE:COL; returns their number.
 * Apart from zt_config_load (in policy_config.c, beside the policy schema) so the policy engine's
 * own tests can still compile any grant; check-config, serve and every reload call it, so what
 * check-config accepts is what runs. */
unsigned zt_config_check_grants(const zt_config *cfg, zt_diags *diags);

#endif
