/* Device trust, server side: the internal device CA, enrolment, device records, posture,
 * compliance and EDR alerts. Protocol with the agent: docs/DEVICE_PROTOCOL.md.
 *
 * Threads: a zt_devices is shared by every loop; functions are thread-safe. The TLS listeners
 * verify client certificates through zt_device_tls_configure (called on each SSL_CTX at config
 * load); the verify callback consults an in-memory set of revoked serials that
 * zt_devices_refresh_revoked rebuilds from the store (the proxy calls it when the shared
 * revocation counter moves, so a revoked device fails its very next handshake). */
#ifndef ZT_DEVICE_DEVICE_H
#define ZT_DEVICE_DEVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>
#include <sys/socket.h>

#include "core/i18n.h"
#include "lib/buf.h"
#include "lib/str.h"
#include "session/account.h"
#include "store/store_device.h"

#define ZT_DEVICE_ID_LEN 32 /* 16 random bytes, lowercase hex */

typedef struct zt_store zt_store;
typedef struct zt_devices zt_devices;
typedef struct zt_local_req zt_local_req;

typedef struct zt_devices_cfg {
    zt_store *store;
    const char *ca_dir;        /* STATE_DIR/device-ca: ca.key (0600) + ca.pem, created once */
    int64_t cert_lifetime_s;   /* issued device certificates; default 365 days */
    int64_t enroll_code_ttl_s; /* default 900 */
    int64_t posture_max_age_s; /* older posture = non-compliant ("stale"); default 24 h */
    int64_t silent_after_s;    /* no report this long: device_silent; 0 = off */
    const char *sweep_file;    /* STATE_DIR/device-sweep: the interval swept so far; NULL =
                                  no sweeps (zt_devices_sweep does nothing) */
    /* Compliance rules (config `devices.compliance`); zero/false = rule off. */
    struct {
        const char
            *min_os_version[8][2]; /* {os id, minimum version_id} pairs, e.g. {"debian","12"} */
        size_t n_min_os_version;
        int64_t max_signature_age_s; /* antivirus signatures at most this old */
        bool require_disk_encryption;
        bool require_firewall;
        bool require_antivirus;
        int64_t max_update_age_s; /* last package update at most this old */
    } compliance;
} zt_devices_cfg;

/* Storage for the strings zt_devices_cfg_from_config points into (the caller keeps it alive
 * until zt_devices_new returns; zt_devices_new copies what it keeps). */
typedef struct zt_devices_cfg_words {
    char ca_dir[4096];
    char sweep_file[4096];
    char words[8][2][33];
} zt_devices_cfg_words;

typedef struct zt_config zt_config;
/* Fill *out from the `devices:` section of a loaded configuration (ca_dir defaults to
 * STATE_DIR/device-ca; "debian:12" words become {os id, version} pairs). 0 or -1 with err. */
int zt_devices_cfg_from_config(const zt_config *c, zt_store *st, zt_devices_cfg *out,
                               zt_devices_cfg_words *w, char *err, size_t errlen);

/* Opens (creating at first start) the CA in cfg->ca_dir and loads the revoked serials. */
zt_devices *zt_devices_new(const zt_devices_cfg *cfg, char *err, size_t errlen);
void zt_devices_free(zt_devices *d);
/* SHA-256 of the device CA certificate (DER), lowercase hex: gateways sharing a database compare
 * it, since a device enrolled through one must be trusted by every other. 0, or -1 when the
 * certificate cannot be encoded. */
int zt_devices_ca_fingerprint(const zt_devices *d, char out[65]);

/* TLS: ask for an optional client certificate and verify it against the device CA and the
 * revoked set. A presented but invalid certificate fails the handshake. */
int zt_device_tls_configure(zt_devices *d, SSL_CTX *ctx, char *err, size_t errlen);
/* After the handshake: the device id of the verified peer certificate, else false. */
bool zt_device_tls_peer(SSL *ssl, char device_id[ZT_DEVICE_ID_LEN + 1]);
/* After a failed handshake: the id of the revoked device whose certificate it refused. */
bool zt_device_tls_refused(SSL *ssl, char device_id[ZT_DEVICE_ID_LEN + 1]);
void zt_devices_refresh_revoked(zt_devices *d);

/* Revoking a device, the one path of `ztgate device revoke`, POST /api/v1/devices/{id}/revoke
 * and the console's devices page: the store's revoke (its certificate refused, its sessions
 * ended), this process's revoked serials reloaded (devs; NULL in the CLI), one Account Change
 * record (unmapped.operation "device.revoke", naming who) through env->audit, and the
 * revocation bump that tells running gateways. Records through every front-end are equal but
 * for the actor, times and ids. -ENOENT unknown device, -EALREADY revoked already, else a store
 * error; after the change is saved, failures come back in res (the change stands). */
typedef struct zt_device_revoke_result {
    zt_store_device device; /* as stored after the revoke (owner's email filled) */
    char change[160];       /* the record's summary */
    int audit_rc;           /* 0, or why the record could not be written */
    int revocation_rc;      /* 0, or why STATE_DIR/revocation could not be bumped */
} zt_device_revoke_result;
int zt_device_revoke_service(const zt_account_env *env, zt_devices *devs, const zt_actor *who,
                             const char *device_id, zt_device_revoke_result *res);
/* A counter that moves whenever a device's state may have changed (zt_devices_invalidate,
 * zt_devices_refresh_revoked): live streams poll it to re-evaluate their device (one atomic
 * load). 0 for NULL. */
uint64_t zt_devices_epoch(const zt_devices *d);

/* What the policy engine needs about a device, cheap enough for every request (cached;
 * refreshed when the revocation counter moves or a posture/alert arrives). */
#define ZT_DEVICE_WHY_MAX 8

typedef struct zt_device_state {
    bool known; /* enrolled and not revoked */
    char user_id[33];
    bool compliant;
    int risk;         /* zt_risk: 0 none .. 3 high */
    char failed[512]; /* plain-words reasons (English), "; "-separated, for logs/JSON */
    unsigned n_why;   /* the same as catalogue texts, for the page in any language */
    zt_msg why[ZT_DEVICE_WHY_MAX];
    char facts[200];        /* names in the findings (malware signature and file), any language */
    int64_t cert_not_after; /* the device certificate's expiry (a browser binding ends then) */
    char os_id[33];         /* os-release ID from its last valid posture report, "" = none */
} zt_device_state;
int zt_devices_state(zt_devices *d, const char *device_id, int64_t now, zt_device_state *out);
/* Judge a device afresh (cache bypassed and refreshed later), with the detailed failures
 * (struct from device/posture.h), for `ztagent status` and the admin API. */
typedef struct zt_compliance zt_compliance;
int zt_devices_compliance(zt_devices *d, const char *device_id, int64_t now, zt_device_state *out,
                          zt_compliance *comp);
/* The configured enrolment code lifetime (seconds). */
int64_t zt_devices_code_ttl(const zt_devices *d);

/* /.ztgate/device/... requests (enroll, posture, alert, status; the browser page is the portal's).
 * r->device_id holds the connection's verified client certificate's device id ("" if none). */
void zt_device_handle_with(zt_devices *d, zt_local_req *r);

/* ---- signals without a request (silent.c; docs/DEVICES.md "Signals") ----
 * A timer in the gateway sweeps the enrolled devices: an agent that fell silent since the last
 * sweep (no posture or alert for devices.silent_after) raises `device_silent`; a device judged
 * compliant whose last report passed posture_max_age since then raises `device_noncompliant`
 * (posture_stale). Each is one audit record (through audit) and one signal for resp (opens or
 * joins an incident, runs playbooks). The end of the swept interval is kept in cfg->sweep_file
 * under an exclusive lock, so a restart, and gateways sharing the state directory, signal each
 * silence once. The agent's next report is the remediation (handlers.c). */

struct zt_response;
typedef int (*zt_devices_audit_fn)(void *ctx, const char *json, size_t len);

typedef struct zt_devices_sweep_result {
    unsigned silent; /* device_silent raised */
    unsigned stale;  /* device_noncompliant (posture_stale) raised */
    unsigned failed; /* signals or records that could not be made (logged) */
    bool skipped;    /* another process holds the sweep lock, or sweeps are off */
} zt_devices_sweep_result;

/* One sweep at `now` (Unix seconds). 0, or a negative errno when the sweep file or the store
 * could not be used (nothing was signalled; the next sweep covers the interval). */
int zt_devices_sweep(zt_devices *d, struct zt_response *resp, int64_t now,
                     zt_devices_audit_fn audit, void *audit_ctx, zt_devices_sweep_result *out);
/* How often to sweep: a quarter of silent_after, between 250 ms and 60 s. */
uint64_t zt_devices_sweep_interval_ms(const zt_devices *d);

/* ---- enrolment codes (portal page and `ztgate device enroll-code`) ---- */

#define ZT_ENROLL_CODE_DISPLAY_LEN 11 /* "XXXXX-XXXXX" */

/* Mint a single-use code for user_id valid ttl_s (<= 0: 900) from now; the store keeps only
 * its SHA-256. code_out gets the display form. 0 or a negative errno (store error). */
int zt_device_enroll_code(zt_store *st, const char *user_id, int64_t ttl_s, int64_t now,
                          char code_out[ZT_ENROLL_CODE_DISPLAY_LEN + 1]);

/* ---- browsers tied to an enrolled device (binding.c; docs/DEVICES.md) ----
 * The portal's enrolment page sets a short-lived pending cookie with the code; once the agent
 * has enrolled with that code, the same browser gets a long-lived binding cookie naming the
 * device. A request without a device certificate whose binding cookie is valid, for the
 * session's user and names a known (not revoked) device, gets that device's posture and risk.
 * A certificate is bound to a key the browser cannot export; a cookie can be copied by whoever
 * controls the browser profile: policies that need strong device proof should rely on
 * certificates. Both cookies are ztgate's own and never go upstream. */

#define ZT_DEVBIND_COOKIE_HTTPS "__Host-ztgate_devbind"
#define ZT_DEVBIND_COOKIE_HTTP "ztgate_devbind"
#define ZT_DEVENROL_COOKIE_HTTPS "__Host-ztgate_devenrol"
#define ZT_DEVENROL_COOKIE_HTTP "ztgate_devenrol"
#define ZT_DEVBIND_FUTURE_SKEW_S 300 /* a binding "issued" later than now by more is refused */

typedef struct zt_secretbox zt_secretbox;
/* The device id named by a valid binding cookie (MAC under the "device-binding" key, issued
 * for user_id, not issued in the future) in a Cookie header value; false otherwise. The device
 * itself (known, owner, expiry) is for the caller to check with zt_devices_state. */
bool zt_device_binding_check(const zt_secretbox *secrets, const zt_span *cookie_header,
                             const char *user_id, bool https, int64_t now,
                             char device_id_out[ZT_DEVICE_ID_LEN + 1]);

/* ---- the enrolment page's actions (the portal draws the page: portal/device_page.c) ---- */

typedef struct zt_store_device zt_store_device;

typedef enum zt_device_bind {
    ZT_BIND_NONE,    /* this browser waits for no device */
    ZT_BIND_WAITING, /* it asked for a code whose device is not enrolled yet */
    ZT_BIND_DONE,    /* the device exists: binding cookie set in r->resp_headers, audited */
    ZT_BIND_FAILED,  /* store or audit log unavailable: answer 503 */
} zt_device_bind;

/* Ties this browser (its pending cookie, from the Cookie header `cookies`) to the device its
 * code enrolled; dev receives that device when ZT_BIND_DONE. */
zt_device_bind zt_device_page_bind(zt_devices *d, zt_local_req *r, const zt_span *cookies,
                                   const char *user_id, const char *email, int64_t now,
                                   zt_store_device *dev);
/* Mints a code for the signed-in user (shown once), remembers in a pending cookie which device
 * it will enrol (*pending), and audits it. 0; -EIO: store error; -EPIPE: the audit log refused
 * the record (no cookie was set). */
int zt_device_page_mint(zt_devices *d, zt_local_req *r, const char *user_id, const char *email,
                        int64_t now, char code[ZT_ENROLL_CODE_DISPLAY_LEN + 1], bool *pending);

/* ---- `ztagent tunnel` sign-in (agent_signin.c; docs/TUNNELS.md) ----
 * The agent asks for a user code over its device-certificate connection, its user approves the
 * code on the portal's page (portal/agent_approve.c), the agent polls and gets a token: a session
 * for the host ".ztgate-agent", bound to the device. Pending sign-ins live in memory. */

#define ZT_AGENT_USER_CODE_CHARS 8 /* shown as XXXX-XXXX, alphabet of the enrolment codes */
#define ZT_AGENT_APP_MAX 260       /* "host:port" */

typedef struct zt_agent_signins zt_agent_signins;
zt_agent_signins *zt_agent_signins_new(void);
void zt_agent_signins_free(zt_agent_signins *t);

/* POST /.ztgate/agent/signin/start and /poll (ctx: the zt_devices). */
void zt_agent_signin_handle(void *devices, zt_local_req *r);
/* "XXXX-XXXX" as typed (case, dashes and spaces aside) into its 8 characters; false if not one. */
bool zt_agent_user_code_normalise(const char *in, size_t len,
                                  char out[ZT_AGENT_USER_CODE_CHARS + 1]);
/* "host:port": a lowercase DNS name and a port 1..65535. */
bool zt_agent_app_valid(const char *app);

/* A pending sign-in as the approval page shows it. */
typedef struct zt_agent_pending {
    char code[ZT_AGENT_USER_CODE_CHARS + 1]; /* normalised, to approve or deny it */
    char device_id[ZT_DEVICE_ID_LEN + 1];
    char device_name[256];
    char platform[64];
    char app[ZT_AGENT_APP_MAX + 1];
    char ip[64]; /* the agent's address when it asked */
    struct sockaddr_storage addr;
    int64_t expires;
} zt_agent_pending;

typedef enum zt_agent_lookup {
    ZT_AGENT_LOOKUP_OK = 0,
    ZT_AGENT_LOOKUP_BAD_CODE,  /* unknown, expired or used (one answer) */
    ZT_AGENT_LOOKUP_NOT_OWNER, /* the device is not this user's */
    ZT_AGENT_LOOKUP_THROTTLED, /* too many wrong codes lately */
    ZT_AGENT_LOOKUP_ERROR,     /* store or audit log unavailable */
} zt_agent_lookup;

/* The pending sign-in named by the code user_id typed; wrong codes count against user_id and
 * every refusal is audited. */
zt_agent_lookup zt_agent_signin_lookup(zt_devices *d, zt_local_req *r, const char *user_id,
                                       const char *email, const char *typed, int64_t now,
                                       zt_agent_pending *out);

/* Who approves: the approving session's sign-in, carried into the agent's session. */
typedef struct zt_agent_approval {
    bool approve; /* false: deny */
    char user_id[33];
    char email[255];
    int64_t auth_time, mfa_time;
    /* The approving session's absolute expiry: the agent's token never outlives the sign-in
     * that approved it (a new session, not a new sign-in). */
    int64_t expires_cap;
    char mfa_method[17];
    unsigned amr;
    bool has_aaguid;
    unsigned char aaguid[16];
} zt_agent_approval;

/* Approve or deny p (audited). 0; -ENOENT: no longer pending; -EPIPE: the audit log refused
 * the record (nothing was approved); -EIO: the store failed (nothing was decided). */
int zt_agent_signin_decide(zt_devices *d, zt_local_req *r, const zt_agent_pending *p,
                           const zt_agent_approval *by, int64_t now);
/* One audit record of the sign-in (event: "agent_signin_..."); false: the log refused it. */
bool zt_agent_signin_audit(zt_local_req *r, const char *event, bool success, const char *user_id,
                           const char *email, const char *device_id, const char *app);

/* The `devices:` section's key table (device_config.c), listed in src/config_tables.c. */
struct zt_config_module;
extern const struct zt_config_module zt_devices_config_module;

#endif
