/* Backend interface of the store, private to src/store. store.c validates every argument once,
 * then calls the backend through this table; a backend trusts its inputs are within the limits
 * in store.h and only maps database results to the error codes there. */
#ifndef ZT_STORE_STORE_INT_H
#define ZT_STORE_STORE_INT_H

#include <stdarg.h>

#include "lib/buf.h"
#include "store/store.h"
#include "store/store_roster.h"
#include "store/store_saml.h"
#include "store/store_source.h"

/* What a revoking user update changes besides the epoch (ENABLE changes no epoch). */
typedef enum zt_store_revoke {
    ZT_REVOKE_DISABLE,
    ZT_REVOKE_ENABLE,
    ZT_REVOKE_PASSWORD,
    ZT_REVOKE_RESET_MFA,
    ZT_REVOKE_SESSIONS,
} zt_store_revoke;

typedef struct zt_store_ops {
    const char *name;
    void (*close)(zt_store *st);

    int (*user_add)(zt_store *st, const char *email, const char *name, const char *pw_hash,
                    const char *const *groups, size_t n_groups, zt_user *out);
    int (*user_get)(zt_store *st, bool by_email, const char *key, zt_user *out);
    int (*user_list)(zt_store *st, zt_store_user_cb cb, void *ctx);
    int (*user_groups)(zt_store *st, const char *user_id, zt_store_name_cb cb, void *ctx);
    int (*user_delete)(zt_store *st, const char *id);
    /* pw_hash only for ZT_REVOKE_PASSWORD. */
    int (*user_revoke)(zt_store *st, const char *id, zt_store_revoke what, const char *pw_hash,
                       int64_t *epoch_out);
    int (*user_rehash)(zt_store *st, const char *id, const char *old_hash, const char *new_hash);

    int (*group_add)(zt_store *st, const char *name);
    int (*group_get)(zt_store *st, const char *name, zt_store_group *out);
    int (*group_delete)(zt_store *st, const char *name);
    int (*group_list)(zt_store *st, zt_store_group_cb cb, void *ctx);
    int (*group_members)(zt_store *st, const char *group, zt_store_user_cb cb, void *ctx);
    int (*group_member)(zt_store *st, const char *group, const char *user_id, bool add);

    int (*totp_set)(zt_store *st, const char *user_id, const void *blob, size_t len);
    int (*totp_get)(zt_store *st, const char *user_id, zt_store_totp *out);
    int (*totp_use_step)(zt_store *st, const char *user_id, int64_t step);

    int (*recovery_set)(zt_store *st, const char *user_id, const char *const *hashes, size_t n);
    int (*recovery_list)(zt_store *st, const char *user_id, zt_store_recovery_cb cb, void *ctx);
    int (*recovery_use)(zt_store *st, const char *user_id, int64_t code_id);

    int (*session_create)(zt_store *st, const zt_store_session *s);
    int (*session_get)(zt_store *st, const char *id_hash, zt_store_session *out);
    int (*session_touch)(zt_store *st, const char *id_hash, int64_t idle_expires_at);
    int (*session_set_mfa)(zt_store *st, const char *id_hash, int64_t mfa_time, const char *method);
    int (*session_delete)(zt_store *st, const char *id_hash);
    int (*session_delete_tree)(zt_store *st, const char *id_hash, uint64_t *n_out);
    int (*session_list_by_user)(zt_store *st, const char *user_id, zt_store_session_cb cb,
                                void *ctx);
    int (*session_delete_by_user)(zt_store *st, const char *user_id, uint64_t *n_out);
    int (*session_delete_expired)(zt_store *st, int64_t now, uint64_t *n_out);
    int (*session_count)(zt_store *st, int64_t now, uint64_t *n);

    int (*detection_add)(zt_store *st, zt_store_detection *d);
    int (*detection_get)(zt_store *st, int64_t id, zt_store_detection *out);
    int (*detection_list)(zt_store *st, const zt_store_risk_filter *f, zt_store_detection_cb cb,
                          void *ctx);
    int (*detection_update)(zt_store *st, const zt_store_risk_update *u, uint64_t *n_out);
    int (*user_risk)(zt_store *st, const char *user_id, int64_t now, int *level_out);
    int (*signin_profile)(zt_store *st, const zt_store_signin *q, zt_store_signin_profile *out);
    int (*signin_record)(zt_store *st, const zt_store_signin *si, bool learn,
                         const char *pending_hash, zt_store_detection *dets, size_t n_dets);
    int (*signin_learn_pending)(zt_store *st, const char *session_hash, int64_t now, bool *learned);

    const struct zt_store_device_ops *device;     /* device trust (store_device.h) */
    const struct zt_store_incident_ops *incident; /* incidents (store_incident.h) */
    const struct zt_store_webauthn_ops *webauthn; /* passkeys (store_webauthn.h) */
    const struct zt_store_tap_ops *tap;           /* temporary access passes (store_tap.h) */
    const struct zt_store_oidc_ops *oidc;         /* the OpenID Connect provider (store_oidc.h) */
    const struct zt_store_saml_ops *saml;         /* SAML IdP sessions (store_saml.h) */
    const struct zt_store_source_ops *source;     /* identity sources (store_source.h) */
    const struct zt_store_roster_ops *roster;     /* roster import batches (store_roster.h) */
    const struct zt_store_admin_ops *admin;       /* admin roles and tokens (store_admin.h) */
    const struct zt_store_assess_ops *assess;     /* the assessment's records (store_assess.h) */
    const struct zt_store_counter_ops *counter;   /* shared counters (store_counter.h); NULL:
                                                     the backend has none (SQLite) */
    const struct zt_store_agent_ops *agent;       /* pending agent sign-ins (store_agent.h) */
    void (*reachable_again)(zt_store *st);        /* zt_store_reachable_again; NULL: nothing */
} zt_store_ops;

/* Device trust records (store_device.h), a table of its own so the main one stays readable. */
typedef struct zt_store_device_ops {
    int (*code_add)(zt_store *st, const char *code_hash, const char *user_id, int64_t now,
                    int64_t expires_at);
    int (*code_use)(zt_store *st, const char *code_hash, int64_t now, char *user_id_out);
    int (*create)(zt_store *st, const zt_store_device *d);
    int (*enroll)(zt_store *st, const char *code_hash, int64_t now, zt_store_device *d);
    int (*get)(zt_store *st, const char *id, zt_store_device *out);
    int (*list)(zt_store *st, const char *user_id, zt_store_device_cb cb, void *ctx);
    int (*revoke)(zt_store *st, const char *id, int64_t now);
    int (*remove)(zt_store *st, const char *id, int64_t now);
    int (*revoked_serials)(zt_store *st, int64_t now, zt_store_name_cb cb, void *ctx);
    int (*posture_add)(zt_store *st, const char *id, int64_t now, const char *json, bool compliant,
                       const char *failed);
    int (*posture_get)(zt_store *st, const char *id, char **json_out, int64_t *at_out);
    int (*alert_add)(zt_store *st, zt_store_alert *a);
    int (*alert_set_path)(zt_store *st, const char *device_id, const char *path,
                          zt_store_alert_state to, int64_t now, uint64_t *n_out);
    int (*alert_list_active)(zt_store *st, const char *device_id, zt_store_alert_cb cb, void *ctx);
} zt_store_device_ops;

/* Incidents and their timelines (store_incident.h). */
typedef struct zt_store_incident_ops {
    int (*find_open)(zt_store *st, const char *user_id, const char *device_id, int64_t since,
                     zt_store_incident *out);
    int (*append)(zt_store *st, int64_t id, const zt_store_incident_update *u,
                  zt_store_incident_event *ev);
    int (*get)(zt_store *st, int64_t id, zt_store_incident *out);
    int (*list)(zt_store *st, const zt_store_incident_filter *f, zt_store_incident_cb cb,
                void *ctx);
    int (*events)(zt_store *st, int64_t id, zt_store_incident_event_cb cb, void *ctx);
    int (*join_or_open)(zt_store *st, zt_store_incident *inc, int64_t since,
                        const zt_store_incident_update *u, bool may_open,
                        zt_store_incident_event *ev, bool *opened);
} zt_store_incident_ops;

/* WebAuthn credentials and user handles (store_webauthn.h). */
typedef struct zt_store_webauthn_ops {
    int (*handle)(zt_store *st, const char *user_id, bool create, unsigned char *out);
    int (*user_by_handle)(zt_store *st, const unsigned char *handle, char *user_id_out);
    int (*add)(zt_store *st, const zt_store_webauthn_cred *c);
    int (*get)(zt_store *st, const unsigned char *id, size_t len, zt_store_webauthn_cred *out);
    int (*list)(zt_store *st, const char *user_id, zt_store_webauthn_cb cb, void *ctx);
    int (*used)(zt_store *st, const unsigned char *id, size_t len, uint32_t verified_count,
                uint32_t new_count, bool uv, bool bs, int64_t now);
    int (*rename)(zt_store *st, const char *user_id, const unsigned char *id, size_t len,
                  const char *name);
    int (*remove)(zt_store *st, const char *user_id, const unsigned char *id, size_t len);
    int (*count)(zt_store *st, const char *user_id, uint64_t *n_out);
    int (*mark_cloned)(zt_store *st, const unsigned char *id, size_t len, int64_t now);
    int (*challenge_put)(zt_store *st, const zt_store_webauthn_challenge *c, int64_t now);
    int (*challenge_take)(zt_store *st, const char *binding, const char *purpose, int64_t now,
                          zt_store_webauthn_challenge *out);
} zt_store_webauthn_ops;

/* Identity sources (store_source.h); arguments checked by source.c. */
typedef struct zt_store_source_ops {
    int (*user_create)(zt_store *st, const zt_store_user_new *n, zt_user *out);
    int (*user_by_external)(zt_store *st, const char *source, const char *external_id,
                            zt_user *out);
    int (*user_list_by_source)(zt_store *st, const char *source, zt_store_user_cb cb, void *ctx);
    int (*user_update)(zt_store *st, const char *id, const zt_store_user_profile *p);
    int (*user_touch)(zt_store *st, const char *id, int64_t when);
    int (*user_list_expired)(zt_store *st, int64_t now, int64_t window_s, zt_store_user_cb cb,
                             void *ctx);
    int (*attrs_get)(zt_store *st, const char *id, char **json_out);
    int (*attrs_set)(zt_store *st, const char *id, const char *json);
    int (*sync_groups)(zt_store *st, const char *user_id, const char *source,
                       const char *const *groups, size_t n, bool create_missing, bool *changed);
    int (*group_set_meta)(zt_store *st, const char *name, const zt_store_group_meta *m);
    int (*group_rename)(zt_store *st, const char *name, const char *new_name);
    int (*group_by_external)(zt_store *st, const char *source, const char *external_id,
                             zt_store_group *out);
} zt_store_source_ops;

/* Roster import batches (store_roster.h); arguments checked by roster.c. */
typedef struct zt_store_roster_ops {
    int (*snapshot)(zt_store *st, zt_store_roster_cb cb, void *ctx);
    int (*apply)(zt_store *st, const char *source, const char *const *new_groups, size_t n_new,
                 zt_store_roster_op *ops, size_t n_ops, size_t *failed_at);
} zt_store_roster_ops;

/* Temporary Access Passes (store_tap.h). */
typedef struct zt_store_tap_ops {
    int (*put)(zt_store *st, const zt_store_tap *t, const unsigned char *hash);
    int (*get)(zt_store *st, const char *user_id, zt_store_tap *out);
    int (*revoke)(zt_store *st, const char *user_id, int64_t now);
    int (*redeem)(zt_store *st, const char *user_id, const unsigned char *hash, int64_t now,
                  zt_store_tap *out);
} zt_store_tap_ops;

/* Admin roles and personal API tokens (store_admin.h); arguments checked by admins.c. */
typedef struct zt_store_admin_ops {
    int (*role_add)(zt_store *st, const zt_store_admin_role *r, bool only_first);
    int (*role_remove)(zt_store *st, const char *user_id, const char *role, const char *scope,
                       uint64_t *n_out);
    int (*role_list)(zt_store *st, const char *user_id, zt_store_admin_role_cb cb, void *ctx);
    int (*count)(zt_store *st, uint64_t *n_out);
    int (*token_add)(zt_store *st, const zt_store_admin_token *t, const unsigned char *hash);
    int (*token_get)(zt_store *st, const char *id, zt_store_admin_token *out,
                     unsigned char *hash_out);
    int (*token_list)(zt_store *st, const char *user_id, zt_store_admin_token_cb cb, void *ctx);
    int (*token_revoke)(zt_store *st, const char *id, int64_t now,
                        zt_store_admin_cascade *more); /* *more zeroed by the caller */
    int (*token_touch)(zt_store *st, const char *id, int64_t now);
} zt_store_admin_ops;
/* Count one more revoked offspring, naming it while there is room (both backends' revoke). */
void zt_store_admin_cascade_add(zt_store_admin_cascade *more, const char *id, const char *user_id);

/* Pending `ztagent tunnel` sign-ins (store_agent.h); arguments checked by agent.c. */
typedef struct zt_store_agent_ops {
    int (*put)(zt_store *st, const zt_store_agent_signin *s, int64_t now);
    int (*get)(zt_store *st, bool by_device_code, const char *hash, zt_store_agent_signin *out);
    int (*polled)(zt_store *st, const char *device_hash, int64_t last_poll_ms, int interval_s);
    int (*take)(zt_store *st, const char *device_hash, int state);
    int (*decide)(zt_store *st, const char *user_hash, const char *device_id, int64_t now, int from,
                  const zt_store_agent_signin *d);
} zt_store_agent_ops;

/* The OpenID Connect provider's records (store_oidc.h); kind is a zt_store_oidc_kind. */
typedef struct zt_store_oidc_ops {
    int (*grant_add)(zt_store *st, const zt_store_oidc_grant *g);
    int (*grant_get)(zt_store *st, const char *id, zt_store_oidc_grant *out);
    int (*grant_revoke)(zt_store *st, const char *id, int64_t now);
    int (*code_add)(zt_store *st, const unsigned char *hash, const zt_store_oidc_code *c);
    int (*grant_code_add)(zt_store *st, const zt_store_oidc_grant *g, const unsigned char *hash,
                          const zt_store_oidc_code *c);
    int (*code_take)(zt_store *st, const unsigned char *hash, int64_t now,
                     zt_store_oidc_code *code_out, zt_store_oidc_grant *grant_out);
    int (*token_add)(zt_store *st, const unsigned char *hash, const char *grant_id, int kind,
                     int64_t now, int64_t exp);
    int (*tokens_add)(zt_store *st, const char *grant_id, int64_t now,
                      const zt_store_oidc_new_token *t, size_t n);
    int (*token_get)(zt_store *st, const unsigned char *hash, int64_t now, int *kind_out,
                     int64_t *iat_out, int64_t *exp_out, zt_store_oidc_grant *grant_out);
    int (*id_token_find)(zt_store *st, const unsigned char *hash, zt_store_oidc_grant *grant_out);
    int (*refresh_rotate)(zt_store *st, const unsigned char *old_hash,
                          const unsigned char *new_hash, int64_t now, int64_t new_exp,
                          zt_store_oidc_grant *grant_out);
    int (*token_revoke)(zt_store *st, const unsigned char *hash, const char *client_id,
                        int64_t now);
    int (*jti_use)(zt_store *st, const char *client_id, const char *jti, int64_t exp, int64_t now);
    int (*end_orphans)(zt_store *st, int64_t now, zt_store_oidc_grant_cb cb, void *ctx,
                       uint64_t *n_out);
    int (*sweep)(zt_store *st, int64_t now, uint64_t *n_out);
} zt_store_oidc_ops;
/* The SAML identity provider's session dumps (store_saml.h). */
typedef struct zt_store_saml_ops {
    int (*put)(zt_store *st, const char *session_hash, const char *dump, int64_t now);
    int (*get)(zt_store *st, const char *session_hash, zt_buf *out);
    int (*del)(zt_store *st, const char *session_hash);
    int (*move)(zt_store *st, const char *from_hash, const char *to_hash);
    int (*take_ended)(zt_store *st, int64_t now, zt_store_saml_ended_cb cb, void *ctx,
                      uint64_t *n_out);
} zt_store_saml_ops;

/* The assessment's answers, kept runs and counts (store_assess.h). */
typedef struct zt_store_assess_ops {
    int (*answer_set)(zt_store *st, const zt_store_assess_answer *a);
    int (*answer_list)(zt_store *st, zt_store_assess_answer_cb cb, void *ctx);
    int (*run_add)(zt_store *st, zt_store_assess_run *r);
    int (*run_list)(zt_store *st, uint64_t limit, zt_store_assess_run_cb cb, void *ctx);
    int (*mfa_counts)(zt_store *st, zt_store_assess_mfa *out);
} zt_store_assess_ops;

/* Counters shared by gateways (store_counter.h); arguments checked by counter.c. */
typedef struct zt_store_counter_ops {
    int (*throttle_admit)(zt_store *st, const unsigned char *account_key, int side,
                          const unsigned char *source_key, int64_t now_ms, int64_t hold_until_ms,
                          zt_store_throttle_seen *out);
    int (*throttle_unhold)(zt_store *st, int64_t hold1, int64_t hold2);
    int (*throttle_settle)(zt_store *st, const unsigned char *account_key, int side,
                           const unsigned char *source_key, bool success, int64_t now_ms,
                           int64_t reset_ms, int64_t hold1, int64_t hold2);
    int (*risk_failure)(zt_store *st, const unsigned char *source, const unsigned char *account,
                        const unsigned char *pw_tag, int64_t now, const zt_store_spray_rule *rule,
                        zt_store_source_flags *out);
    int (*risk_flags)(zt_store *st, int64_t now, zt_store_source_flags_cb cb, void *ctx);
    int (*sweep)(zt_store *st, int64_t now_ms, int64_t reset_ms, int64_t risk_keep_s,
                 uint64_t *n_out);
    int (*shared_claim)(zt_store *st, const char *name, const char *value, char *stored,
                        size_t cap);
} zt_store_counter_ops;

/* Every backend's handle starts with this. */
struct zt_store {
    const zt_store_ops *ops;
};

zt_store *zt_store_sqlite_open(const zt_store_cfg *cfg, char *err, size_t errlen);
/* pg.c: the PostgreSQL backend (cfg->dsn). */
zt_store *zt_store_pg_open(const zt_store_cfg *cfg, char *err, size_t errlen);

/* Set this thread's message for zt_store_errmsg(); returns rc so callers can `return seterr()`. */
int zt_store_seterr(int rc, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Now in Unix seconds (wall clock with any test offset). */
int64_t zt_store_now(void);
/* store.c's argument checks, for the other front halves (source.c): 0 or -EINVAL with the
 * message set. */
int zt_store_check_email(const char *email);
int zt_store_check_name(const char *name);
int zt_store_check_user_id(const char *id);
int zt_store_check_group(const char *group);
int zt_store_check_groups(const char *const *groups, size_t n);
int zt_store_check_hash(const char *what, const char *hash, bool required);
bool zt_store_text_ok(const char *s, size_t n);

#endif
