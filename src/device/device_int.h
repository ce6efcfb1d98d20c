/* Internals shared by the files of src/device: the CA (ca.c), enrolment codes (enroll.c), the
 * zt_devices object with its revoked set and state cache (devices.c) and the request handlers
 * (handlers.c). Never included outside src/device and its unit test. */
#ifndef ZT_DEVICE_DEVICE_INT_H
#define ZT_DEVICE_DEVICE_INT_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

#include "device/device.h"
#include "device/posture.h"
#include "store/store.h"

#define ZT_CA_KEY_FILE "ca.key"
#define ZT_CA_CERT_FILE "ca.pem"
#define ZT_CA_LIFETIME_S (10LL * 365 * 86400 + 2 * 86400) /* ten years, leap days included */
#define ZT_CSR_MAX_BYTES 8192
#define ZT_CERT_BACKDATE_S 300 /* not_before = now - 5 min: clients with a slow clock */
#define ZT_DEVICE_URI_PREFIX "urn:ztgate:device:"
#define ZT_SERIAL_HEX_MAX 40       /* 128 random bits are 32 hex digits; room for 20 octets */
#define ZT_REVOKED_MAX 100000      /* serials held in memory; more is a configuration problem */
#define ZT_DEVICE_CACHE_SLOTS 4096 /* direct-mapped state cache (bounded by construction) */
#define ZT_DEVICE_CACHE_TTL_S                                                                      \
    30 /* staleness rules depend on time: re-judge at least this often                             \
        */

/* ---- ca.c ---- */

typedef struct zt_ca {
    EVP_PKEY *key;
    X509 *cert;
    char *pem; /* ca.pem as text, for enrolment answers */
} zt_ca;

/* Open dir/ca.key + dir/ca.pem, creating both (dir 0700, key 0600) when neither exists.
 * Refuses a symlink, a key readable by group or others, a half-created pair, a key that does
 * not match the certificate. 0 or -1 with err. */
int zt_ca_open(const char *dir, int64_t now, zt_ca *ca, char *err, size_t errlen);
void zt_ca_dispose(zt_ca *ca);

/* Parse and check a CSR: PEM, at most ZT_CSR_MAX_BYTES, an EC P-256 key, a valid
 * self-signature. 0 with *out (caller frees), or -1 with a static reason. */
int zt_csr_parse(const char *pem, size_t len, X509_REQ **out, const char **why);

typedef struct zt_issued {
    char *pem;                          /* malloc'd */
    char serial[ZT_SERIAL_HEX_MAX + 1]; /* lowercase hex, no leading zeros */
    char sha256[65];                    /* of the DER certificate, lowercase hex */
    int64_t not_after;
} zt_issued;

/* Issue a device certificate for the CSR's key (see docs/DEVICE_PROTOCOL.md). 0 or -1. */
int zt_ca_sign(const zt_ca *ca, X509_REQ *req, const char *device_id, int64_t now,
               int64_t lifetime_s, zt_issued *out);
void zt_issued_dispose(zt_issued *is);

/* Serial of a certificate as stored: lowercase hex without leading zeros. false if too long. */
bool zt_cert_serial_hex(const X509 *x, char out[ZT_SERIAL_HEX_MAX + 1]);

/* ---- devices.c: the revoked set, read on every handshake ---- */

/* Sorted serials; replaced whole by zt_devices_refresh_revoked, never edited in place. */
typedef struct zt_revoked_set {
    size_t n;
    char (*serial)[ZT_SERIAL_HEX_MAX + 1];
} zt_revoked_set;

typedef struct zt_device_cache_slot {
    bool used;
    char id[ZT_DEVICE_ID_LEN + 1];
    int64_t computed_at;
    zt_device_state st;
} zt_device_cache_slot;

struct zt_devices {
    zt_store *store;
    zt_ca ca;
    int64_t cert_lifetime_s;
    int64_t code_ttl_s;
    zt_compliance_rules rules;
    int64_t silent_after_s;      /* 0 = no silent-agent signal */
    char *sweep_file;            /* NULL = no sweeps */
    _Atomic int64_t swept_until; /* silences up to here were signalled (by a sweep of ours) */
    pthread_mutex_t sign_mu;     /* one signing at a time with the CA key */
    /* Readers hold the read lock only for a binary search; a refresh reads the store with no
     * lock held and takes the write lock just to swap the pointer. */
    pthread_rwlock_t rev_lock;
    zt_revoked_set *revoked;
    pthread_mutex_t cache_mu;
    zt_device_cache_slot *cache; /* ZT_DEVICE_CACHE_SLOTS */
    _Atomic uint64_t epoch;      /* zt_devices_epoch: moves with every invalidation */
    zt_agent_signins *signins;   /* pending `ztagent tunnel` sign-ins (agent_signin.c) */
};

bool zt_devices_serial_revoked(zt_devices *d, const char *serial_hex);
void zt_devices_invalidate(zt_devices *d, const char *device_id);
/* The rules of cfg in the evaluator's form. */
void zt_devices_rules_from_cfg(const zt_devices_cfg *cfg, zt_compliance_rules *out);

/* ---- signals.c: device signals for incident response ---- */

typedef enum zt_dev_signal_kind {
    ZT_DS_NONCOMPLIANT = 0, /* detection device_noncompliant (Compliance Finding, create) */
    ZT_DS_COMPLIANT,        /* remediation device_compliant (Compliance Finding, close) */
    ZT_DS_SILENT,           /* detection device_silent (Detection Finding, create) */
    ZT_DS_REPORTING,        /* remediation agent_reported (Detection Finding, close) */
} zt_dev_signal_kind;

typedef struct zt_dev_signal {
    zt_dev_signal_kind kind;
    const zt_store_device *dev;
    const zt_compliance *failed; /* NONCOMPLIANT: the rules that broke */
    int64_t quiet_s;             /* SILENT, REPORTING: how long the agent said nothing */
    int64_t last_seen;           /* SILENT, REPORTING: its last report (0 = never) */
    bool resolves;               /* remediations: nothing is left wrong with the device */
    const char *request_id;      /* the audit record's metadata.uid */
    int64_t now;
} zt_dev_signal;

/* The signal's type name ("device_noncompliant", "device_compliant", "device_silent",
 * "agent_reported"). */
const char *zt_dev_signal_type(zt_dev_signal_kind k);
/* Its audit record (a JSON object, as zt_event_end makes) into b. 0 or negative errno. */
int zt_dev_signal_record(const zt_dev_signal *s, zt_buf *b);
/* Hand it to incident response (NULL resp: nothing). 0 or what zt_response_signal says. */
int zt_dev_signal_respond(struct zt_response *resp, const zt_dev_signal *s);
/* Was the agent of dev silent long enough that a sweep signalled it? quiet_s: for how long. */
bool zt_devices_was_silent(zt_devices *d, const zt_store_device *dev, int64_t *quiet_s);
/* The end of the time swept so far: the sweep file's mark (what any gateway swept), else what
 * this process last swept. */
int64_t zt_devices_swept_until(zt_devices *d);

/* ---- enroll.c ---- */

#define ZT_ENROLL_ALPHABET "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
#define ZT_ENROLL_CODE_CHARS 10

/* Normalise what a person typed (dashes and spaces dropped, lowercase raised) to the 10 code
 * characters; false when it cannot be a code. */
/* The device endpoints' JSON answer (handlers.c): status, `v` (consumed; NULL = 500), no-store,
 * the body text wiped after it is copied. */
typedef struct json_t json_t;
void zt_device_json_answer(zt_local_req *r, int status, json_t *v);

/* A typed code (dashes, spaces, any case) made exactly `want` characters of ZT_ENROLL_ALPHABET;
 * out holds want + 1 bytes. false when it cannot be. */
bool zt_code_normalise(const char *in, size_t len, size_t want, char *out);
bool zt_enroll_code_normalise(const char *in, size_t len, char out[ZT_ENROLL_CODE_CHARS + 1]);
/* SHA-256 hex of the normalised code: what the store keeps. */
void zt_enroll_code_hash(const char code[ZT_ENROLL_CODE_CHARS + 1], char out[65]);

typedef struct zt_enroll_result {
    char device_id[ZT_DEVICE_ID_LEN + 1];
    char email[255];
    zt_issued cert;
} zt_enroll_result;

typedef enum zt_enroll_err {
    ZT_ENROLL_OK = 0,
    ZT_ENROLL_BAD_REQUEST = -1, /* 400: why says what */
    ZT_ENROLL_BAD_CODE = -2,    /* 403: unknown, expired or used (one answer) */
    ZT_ENROLL_FAILED = -3,      /* 500/503: the store or the CA failed */
} zt_enroll_err;

/* The whole agent enrolment: validate the JSON body strictly, check the CSR, sign, then use
 * the code and store the device in one transaction. On any error nothing is stored and the
 * code stays usable unless it was the code that failed. res->cert must be disposed on OK. */
zt_enroll_err zt_enroll_run(zt_devices *d, const char *body, size_t len, int64_t now,
                            zt_enroll_result *res, const char **why);
/* The same, with the device id derived from the code under the secrets key
 * (zt_device_id_from_code) so the browser that asked for the code can find the device; NULL
 * secrets: a random id, as zt_enroll_run. */
zt_enroll_err zt_enroll_run_keyed(zt_devices *d, const zt_secretbox *secrets, const char *body,
                                  size_t len, int64_t now, zt_enroll_result *res, const char **why);

/* ---- binding.c ---- */

/* The id the device enrolled with `code` (normalised) gets. */
void zt_device_id_from_code(const zt_secretbox *sb, const char code[ZT_ENROLL_CODE_CHARS + 1],
                            char out[ZT_DEVICE_ID_LEN + 1]);
/* Pending enrolment cookie: this browser asked for the code that will enrol device_id. Max-Age
 * runs to expires_at. 0 or -EINVAL. */
int zt_device_pending_set(const zt_secretbox *sb, zt_buf *headers, const char *user_id,
                          const char *device_id, bool https, int64_t now, int64_t expires_at);
/* The expected device id of a valid, unexpired pending cookie for user_id; false otherwise. */
bool zt_device_pending_check(const zt_secretbox *sb, const zt_span *cookie_header,
                             const char *user_id, bool https, int64_t now,
                             char device_id_out[ZT_DEVICE_ID_LEN + 1]);
int zt_device_pending_clear(zt_buf *headers, bool https);
/* Binding cookie for device_id and user_id issued now, Max-Age max_age_s. 0 or -EINVAL. */
int zt_device_binding_set(const zt_secretbox *sb, zt_buf *headers, const char *device_id,
                          const char *user_id, bool https, int64_t now, int64_t max_age_s);

#endif
