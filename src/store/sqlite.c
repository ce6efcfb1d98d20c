/* SQLite backend of the store: STATE_DIR/ztgate.db in WAL mode with synchronous=FULL, so a
 * committed user record survives a crash or power loss; the identity provider's short-lived
 * records in STATE_DIR/ztgate-idp.db (sq_idp_schema_sql). One connection per calling thread,
 * each with its own cache of prepared statements; schema migrations are embedded and applied
 * in one transaction at open. Never prints; errors go through zt_store_seterr. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/file.h"
#include "lib/secure.h"
#include "store/store_int.h"

#define SQ_DB_FILE "ztgate.db"
#define SQ_IDP_FILE "ztgate-idp.db"
#define SQ_DEFAULT_BUSY_MS 5000
/* A writer waiting for the write lock retries at each commit of this process (sq_wal_hook) and
 * at least this often, for a lock held by another process (the CLI) or released by a rollback. */
#define SQ_BUSY_POLL_US 2000
/* SQLite's own automatic checkpoint threshold; ours runs in sq_wal_hook, which replaces it. */
#define SQ_CHECKPOINT_FRAMES 1000
/* How long a checkpoint waits for readers of an older snapshot before it gives up for now. */
#define SQ_CHECKPOINT_WAIT_US 20000
/* PRAGMA application_id marks the file as ours ("ztgw"), so a stray SQLite file is refused. */
#define SQ_APP_ID 0x7a746777

/* ---- schema ---- */

typedef struct sq_migration {
    int version;
    const char *sql;
} sq_migration;

/* Append-only: a released step never changes; a new schema is a new step. STRICT tables make
 * SQLite refuse a value of the wrong type instead of storing it. */
static const sq_migration sq_migrations[] = {
    {1, "CREATE TABLE users ("
        "  id TEXT PRIMARY KEY NOT NULL,"
        "  email TEXT NOT NULL COLLATE NOCASE UNIQUE,"
        "  name TEXT NOT NULL DEFAULT '',"
        "  password_hash TEXT,"
        "  disabled INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),"
        "  password_changed_at INTEGER NOT NULL DEFAULT 0,"
        "  revocation_epoch INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE TABLE groups ("
        "  id INTEGER PRIMARY KEY,"
        "  name TEXT NOT NULL COLLATE NOCASE UNIQUE,"
        "  created_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE TABLE memberships ("
        "  group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  created_at INTEGER NOT NULL,"
        "  PRIMARY KEY (group_id, user_id)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX memberships_user ON memberships(user_id);"
        "CREATE TABLE totp_credentials ("
        "  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  secret_enc BLOB NOT NULL,"
        "  last_used_step INTEGER NOT NULL DEFAULT 0,"
        "  created_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE TABLE recovery_codes ("
        "  id INTEGER PRIMARY KEY,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  code_hash TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  used_at INTEGER"
        ") STRICT;"
        "CREATE INDEX recovery_codes_user ON recovery_codes(user_id);"
        "CREATE TABLE sessions ("
        "  id_hash TEXT PRIMARY KEY NOT NULL,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  created_at INTEGER NOT NULL,"
        "  auth_time INTEGER NOT NULL,"
        "  mfa_time INTEGER NOT NULL DEFAULT 0,"
        "  mfa_method TEXT NOT NULL DEFAULT '',"
        "  ip TEXT NOT NULL DEFAULT '',"
        "  user_agent TEXT NOT NULL DEFAULT '',"
        "  idle_expires_at INTEGER NOT NULL,"
        "  absolute_expires_at INTEGER NOT NULL,"
        "  user_epoch INTEGER NOT NULL,"
        "  device_id TEXT,"
        "  CHECK (idle_expires_at <= absolute_expires_at)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX sessions_user ON sessions(user_id);"
        /* idle <= absolute always holds, so this one index finds every expired session. */
        "CREATE INDEX sessions_idle ON sessions(idle_expires_at);"
        "PRAGMA application_id = 2054449015;"},
    /* Sessions learn their host (a cookie is accepted only there), the portal session a code
     * exchange made them from (logout ends the children too) and a pending second factor.
     * Existing rows get host '' and no parent; the session layer treats host '' as foreign. */
    {2, "ALTER TABLE sessions ADD COLUMN host TEXT NOT NULL DEFAULT '';"
        "ALTER TABLE sessions ADD COLUMN parent_hash TEXT;"
        "ALTER TABLE sessions ADD COLUMN mfa_pending INTEGER NOT NULL DEFAULT 0"
        "  CHECK (mfa_pending IN (0, 1));"
        "CREATE INDEX sessions_parent ON sessions(parent_hash) WHERE parent_hash IS NOT NULL;"},
    /* Risk state: detections (Entra riskDetection: type, level, state, evidence), the learned
     * sign-in history that familiarity and travel detections compare against, and sign-ins
     * parked until their risk is remediated (an attacker's sign-in must not become familiar). */
    {3, "CREATE TABLE risk_detections ("
        "  id INTEGER PRIMARY KEY,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  type TEXT NOT NULL,"
        "  activity TEXT NOT NULL CHECK (activity IN ('signin', 'user')),"
        "  level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 3),"
        "  state TEXT NOT NULL CHECK (state IN ('at_risk', 'remediated', 'dismissed',"
        "    'confirmed_compromised')),"
        "  detail TEXT NOT NULL DEFAULT '',"
        "  evidence TEXT NOT NULL DEFAULT '{}',"
        "  ip TEXT NOT NULL DEFAULT '',"
        "  session_hash TEXT,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE INDEX risk_detections_user ON risk_detections(user_id, state);"
        "CREATE INDEX risk_detections_session ON risk_detections(session_hash)"
        "  WHERE session_hash IS NOT NULL;"
        "CREATE TABLE risk_properties ("
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  kind TEXT NOT NULL CHECK (kind IN ('ip_prefix', 'asn', 'country', 'device', 'ua')),"
        "  value TEXT NOT NULL,"
        "  first_seen INTEGER NOT NULL,"
        "  last_seen INTEGER NOT NULL,"
        "  count INTEGER NOT NULL,"
        "  PRIMARY KEY (user_id, kind, value)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE TABLE risk_sign_ins ("
        "  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  first_at INTEGER NOT NULL,"
        "  count INTEGER NOT NULL,"
        "  last_at INTEGER NOT NULL,"
        "  last_ip TEXT NOT NULL DEFAULT '',"
        "  has_location INTEGER NOT NULL DEFAULT 0 CHECK (has_location IN (0, 1)),"
        "  lat REAL NOT NULL DEFAULT 0,"
        "  lon REAL NOT NULL DEFAULT 0,"
        "  accuracy_km REAL NOT NULL DEFAULT 0,"
        "  location_at INTEGER NOT NULL DEFAULT 0,"
        "  location_country TEXT NOT NULL DEFAULT ''"
        ") STRICT;"
        "CREATE TABLE risk_pending ("
        "  session_hash TEXT PRIMARY KEY NOT NULL,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  at INTEGER NOT NULL,"
        "  ip TEXT NOT NULL,"
        "  ip_prefix TEXT NOT NULL, asn TEXT NOT NULL, country TEXT NOT NULL,"
        "  device TEXT NOT NULL, ua TEXT NOT NULL,"
        "  has_location INTEGER NOT NULL CHECK (has_location IN (0, 1)),"
        "  lat REAL NOT NULL, lon REAL NOT NULL, accuracy_km REAL NOT NULL"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX risk_pending_at ON risk_pending(at);"},
    /* Device trust: enrolled devices with their latest posture and verdict, single-use
     * enrolment codes (hashed), posture history, EDR alerts, and the serials of revoked device
     * certificates. A deleted device (also through its user) keeps its serial revoked until the
     * certificate expires, so its certificate cannot be used again. IF NOT EXISTS: tests that
     * rebuild an older schema by undoing earlier steps leave these tables in place. */
    {4, "CREATE TABLE IF NOT EXISTS devices ("
        "  id TEXT PRIMARY KEY NOT NULL,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL,"
        "  platform TEXT NOT NULL,"
        "  cert_serial TEXT NOT NULL UNIQUE,"
        "  cert_sha256 TEXT NOT NULL,"
        "  enrolled_at INTEGER NOT NULL,"
        "  cert_not_after INTEGER NOT NULL,"
        "  revoked_at INTEGER,"
        "  last_seen_at INTEGER,"
        "  posture_json TEXT,"
        "  posture_at INTEGER,"
        "  compliant INTEGER NOT NULL DEFAULT 0 CHECK (compliant IN (0, 1)),"
        "  failed_text TEXT NOT NULL DEFAULT '',"
        "  risk INTEGER NOT NULL DEFAULT 0 CHECK (risk BETWEEN 0 AND 3)"
        ") STRICT, WITHOUT ROWID;"
        "CREATE INDEX IF NOT EXISTS devices_user ON devices(user_id);"
        "CREATE TABLE IF NOT EXISTS enroll_codes ("
        "  code_hash TEXT PRIMARY KEY NOT NULL,"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL,"
        "  used_at INTEGER"
        ") STRICT, WITHOUT ROWID;"
        "CREATE TABLE IF NOT EXISTS device_posture_history ("
        "  id INTEGER PRIMARY KEY,"
        "  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        "  received_at INTEGER NOT NULL,"
        "  json TEXT NOT NULL"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS device_posture_history_device ON "
        "device_posture_history(device_id, id);"
        "CREATE TABLE IF NOT EXISTS device_alerts ("
        "  id INTEGER PRIMARY KEY,"
        "  device_id TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,"
        "  path TEXT NOT NULL,"
        "  sha256 TEXT NOT NULL DEFAULT '',"
        "  signature TEXT NOT NULL,"
        "  state TEXT NOT NULL CHECK (state IN ('active', 'quarantined', 'resolved')),"
        "  detected_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS device_alerts_device ON device_alerts(device_id, state, path);"
        "CREATE TABLE IF NOT EXISTS device_revoked_certs ("
        "  serial TEXT PRIMARY KEY NOT NULL,"
        "  device_id TEXT NOT NULL,"
        "  not_after INTEGER NOT NULL,"
        "  revoked_at INTEGER NOT NULL"
        ") STRICT, WITHOUT ROWID;"
        "CREATE TRIGGER IF NOT EXISTS devices_keep_revoked BEFORE DELETE ON devices BEGIN"
        "  INSERT OR IGNORE INTO device_revoked_certs (serial, device_id, not_after, revoked_at)"
        "  VALUES (old.cert_serial, old.id, old.cert_not_after,"
        "    COALESCE(old.revoked_at, old.last_seen_at, old.enrolled_at));"
        "END;"},
    /* Incidents: correlated detections of one user or device with an ordered timeline. No
     * foreign keys to users or devices: an incident is the record of what happened and
     * outlives both. */
    {5, "CREATE TABLE IF NOT EXISTS incidents ("
        "  id INTEGER PRIMARY KEY,"
        "  title TEXT NOT NULL,"
        "  severity INTEGER NOT NULL CHECK (severity BETWEEN 1 AND 3),"
        "  status TEXT NOT NULL CHECK (status IN ('open', 'contained', 'resolved')),"
        "  user_id TEXT,"
        "  device_id TEXT,"
        "  created_at INTEGER NOT NULL,"
        "  updated_at INTEGER NOT NULL"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS incidents_user ON incidents(user_id, status, updated_at);"
        "CREATE INDEX IF NOT EXISTS incidents_device ON incidents(device_id, status, updated_at);"
        "CREATE TABLE IF NOT EXISTS incident_events ("
        "  id INTEGER PRIMARY KEY,"
        "  incident_id INTEGER NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,"
        "  at INTEGER NOT NULL,"
        "  kind TEXT NOT NULL,"
        "  summary TEXT NOT NULL,"
        "  detail TEXT NOT NULL DEFAULT '{}',"
        "  playbook TEXT,"
        "  request_id TEXT"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS incident_events_incident "
        "ON incident_events(incident_id, at, id);"},
    /* WebAuthn credentials. The credential id is the primary key because it must be unique
     * across all users (WebAuthn §7.1 step 22): a registration presenting an id that anyone
     * holds is refused by the key itself, and an assertion finds its credential by id before
     * it knows the user. A rowid table, not WITHOUT ROWID: rows carry up to 2 KB of key. */
    {6, "CREATE TABLE IF NOT EXISTS webauthn_credentials ("
        "  id BLOB PRIMARY KEY NOT NULL CHECK (length(id) BETWEEN 1 AND 1023),"
        "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  name TEXT NOT NULL CHECK (length(CAST(name AS BLOB)) BETWEEN 1 AND 64),"
        "  cose_key BLOB NOT NULL CHECK (length(cose_key) BETWEEN 1 AND 1024),"
        "  alg INTEGER NOT NULL,"
        "  sign_count INTEGER NOT NULL CHECK (sign_count BETWEEN 0 AND 4294967295),"
        "  uv INTEGER NOT NULL CHECK (uv IN (0, 1)),"
        "  be INTEGER NOT NULL CHECK (be IN (0, 1)),"
        "  bs INTEGER NOT NULL CHECK (bs IN (0, 1) AND bs <= be),"
        "  aaguid BLOB NOT NULL CHECK (length(aaguid) = 16),"
        "  fmt TEXT NOT NULL,"
        "  attestation_type TEXT NOT NULL,"
        "  transports TEXT NOT NULL DEFAULT '',"
        "  created_at INTEGER NOT NULL,"
        "  last_used_at INTEGER NOT NULL DEFAULT 0"
        ") STRICT;"
        "CREATE INDEX IF NOT EXISTS webauthn_credentials_user "
        "ON webauthn_credentials(user_id, created_at);"
        /* The user.id given to authenticators: random, never the user id or e-mail (§14.6.1). */
        "CREATE TABLE IF NOT EXISTS webauthn_user_handles ("
        "  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  handle BLOB UNIQUE NOT NULL CHECK (length(handle) = 32),"
        "  created_at INTEGER NOT NULL"
        ") STRICT;"},
    /* WebAuthn ceremonies (issue 12): the methods each session was signed in with (RFC 8176
     * amr, "pwd,otp,mfa"; '' on older rows, read as what their MFA fields say), and the
     * outstanding challenges, and when a passkey's counter went backwards (cloned_at: it is
     * refused from then on). A challenge lives in the store, not in a worker's memory, so
     * either event loop (or another gateway on the same state) can take it, and taking it
     * deletes it: single use. One per browser binding and purpose; a new one replaces it. */
    {7,
     "ALTER TABLE sessions ADD COLUMN amr TEXT NOT NULL DEFAULT '';"
     "ALTER TABLE webauthn_credentials ADD COLUMN cloned_at INTEGER NOT NULL DEFAULT 0;"
     "CREATE TABLE IF NOT EXISTS webauthn_challenges ("
     "  binding TEXT NOT NULL CHECK (length(binding) = 64),"
     "  purpose TEXT NOT NULL CHECK (purpose IN ('register', 'login')),"
     "  challenge BLOB NOT NULL CHECK (length(challenge) = 32),"
     "  user_id TEXT NOT NULL DEFAULT '',"
     "  session_hash TEXT NOT NULL DEFAULT '',"
     "  rd TEXT NOT NULL DEFAULT '',"
     "  uv_required INTEGER NOT NULL CHECK (uv_required IN (0, 1)),"
     "  expires_at INTEGER NOT NULL,"
     "  PRIMARY KEY (binding, purpose)"
     ") STRICT, WITHOUT ROWID;"
     "CREATE INDEX IF NOT EXISTS webauthn_challenges_expiry ON webauthn_challenges(expires_at);"},
    /* Temporary Access Passes: one row per user (a new pass replaces the old). The pass is
     * stored as a SHA-256 of 100 CSPRNG bits bound to the user (store_tap.h says why that is
     * enough); uses 0 = any number until expires_at. A revoked row stays until replaced, so a
     * sign-in with it is recorded as revoked. */
    {8, "CREATE TABLE IF NOT EXISTS temporary_access_passes ("
        "  user_id TEXT PRIMARY KEY NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
        "  pass_hash BLOB NOT NULL CHECK (length(pass_hash) = 32),"
        "  created_by TEXT NOT NULL,"
        "  created_at INTEGER NOT NULL,"
        "  expires_at INTEGER NOT NULL CHECK (expires_at > created_at),"
        "  uses INTEGER NOT NULL CHECK (uses BETWEEN 0 AND 1000),"
        "  uses_left INTEGER NOT NULL CHECK (uses_left BETWEEN 0 AND uses),"
        "  last_used_at INTEGER NOT NULL DEFAULT 0,"
        "  revoked_at INTEGER NOT NULL DEFAULT 0"
        ") STRICT, WITHOUT ROWID;"},
    /* Authentication strengths (issue 12): the AAGUID of the passkey that signed the session
     * in or stepped it up, 32 lowercase hex digits; '' = none, or a row made before (unknown:
     * it meets no strength). */
    {9, "ALTER TABLE sessions ADD COLUMN passkey_aaguid TEXT NOT NULL DEFAULT '';"},
    /* Version 10 created the OpenID Connect provider's tables here before its first release;
     * they live in their own file since (sq_idp_schema), so the step is empty. */
    {10, ""},
    /* The SAML identity provider (issue 13, store_saml.h): per ztgate session, Lasso's dump of
     * the assertions issued in it (for single logout); it goes with its session. */
    {11, "CREATE TABLE IF NOT EXISTS saml_sessions ("
         "  session_hash TEXT PRIMARY KEY NOT NULL REFERENCES sessions(id_hash) ON DELETE CASCADE,"
         "  dump TEXT NOT NULL CHECK (length(dump) BETWEEN 1 AND 262144),"
         "  updated_at INTEGER NOT NULL"
         ") STRICT, WITHOUT ROWID;"},
    /* SAML back-channel logout (store_saml.h): a row outlives its session, with its user, until
     * the gateway's timer takes it to tell the SPs (SOAP LogoutRequests). SQLite cannot drop a
     * foreign key, so the table is rebuilt without one. */
    {12, "CREATE TABLE saml_sessions_v12 ("
         "  session_hash TEXT PRIMARY KEY NOT NULL,"
         "  user_id TEXT NOT NULL DEFAULT '',"
         "  dump TEXT NOT NULL CHECK (length(dump) BETWEEN 1 AND 262144),"
         "  updated_at INTEGER NOT NULL"
         ") STRICT, WITHOUT ROWID;"
         "INSERT INTO saml_sessions_v12 (session_hash, user_id, dump, updated_at) "
         "  SELECT t.session_hash, s.user_id, t.dump, t.updated_at FROM saml_sessions t "
         "  JOIN sessions s ON s.id_hash = t.session_hash;"
         "DROP TABLE saml_sessions;"
         "ALTER TABLE saml_sessions_v12 RENAME TO saml_sessions;"},
    /* Identity sources (issue 14, store_source.h): where a user, a group and a membership come
     * from, the source's id of the user or group, an account expiry and sponsor, the last
     * sign-in, and source attributes kept as one JSON object (checked by the statement that
     * writes it: schema CHECKs may not call json functions with trusted_schema off). Existing
     * rows are "local". */
    {13, "ALTER TABLE users ADD COLUMN source TEXT NOT NULL DEFAULT 'local';"
         "ALTER TABLE users ADD COLUMN external_id TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE users ADD COLUMN expires_at INTEGER NOT NULL DEFAULT 0"
         "  CHECK (expires_at >= 0);"
         "ALTER TABLE users ADD COLUMN sponsor TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE users ADD COLUMN last_sign_in_at INTEGER NOT NULL DEFAULT 0;"
         "ALTER TABLE users ADD COLUMN attrs TEXT NOT NULL DEFAULT '{}';"
         "CREATE UNIQUE INDEX users_external ON users(source, external_id)"
         "  WHERE external_id != '';"
         "CREATE INDEX users_source ON users(source, email);"
         "CREATE INDEX users_expires ON users(expires_at) WHERE expires_at != 0;"
         "ALTER TABLE memberships ADD COLUMN source TEXT NOT NULL DEFAULT 'local';"
         "ALTER TABLE groups ADD COLUMN source TEXT NOT NULL DEFAULT 'local';"
         "ALTER TABLE groups ADD COLUMN external_id TEXT NOT NULL DEFAULT '';"
         "ALTER TABLE groups ADD COLUMN display_name TEXT NOT NULL DEFAULT '';"
         "CREATE UNIQUE INDEX groups_external ON groups(source, external_id)"
         "  WHERE external_id != '';"},
    /* Named administrators (issue 16, store_admin.h): the roles a user holds, each scoped to a
     * group by name ('' = everywhere), and personal API tokens kept as SHA-256 of the token
     * text; scopes is a permission mask (session/admins.h). Both go with their user. */
    {14, "CREATE TABLE IF NOT EXISTS admin_roles ("
         "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
         "  role TEXT NOT NULL CHECK (role IN ('global_admin', 'security_operator', "
         "    'helpdesk', 'auditor')),"
         "  scope TEXT NOT NULL DEFAULT '',"
         "  created_by TEXT NOT NULL,"
         "  created_at INTEGER NOT NULL,"
         "  PRIMARY KEY (user_id, role, scope)"
         ") STRICT, WITHOUT ROWID;"
         "CREATE TABLE IF NOT EXISTS admin_tokens ("
         "  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 16),"
         "  user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
         "  name TEXT NOT NULL,"
         "  token_hash BLOB NOT NULL CHECK (length(token_hash) = 32),"
         "  scopes INTEGER NOT NULL CHECK (scopes >= 0),"
         "  created_by TEXT NOT NULL,"
         "  created_at INTEGER NOT NULL,"
         "  expires_at INTEGER NOT NULL CHECK (expires_at > created_at),"
         "  last_used_at INTEGER NOT NULL DEFAULT 0,"
         "  revoked_at INTEGER NOT NULL DEFAULT 0"
         ") STRICT, WITHOUT ROWID;"
         "CREATE INDEX IF NOT EXISTS admin_tokens_user ON admin_tokens(user_id);"},
    /* The Zero Trust assessment (issue 16, store_assess.h): the questionnaire's answers, one
     * row per question, and the kept runs, one digit 0..3 per pillar. */
    {15, "CREATE TABLE IF NOT EXISTS assess_answers ("
         "  key TEXT PRIMARY KEY NOT NULL CHECK (length(key) BETWEEN 1 AND 64),"
         "  value TEXT NOT NULL CHECK (length(value) BETWEEN 1 AND 32),"
         "  actor TEXT NOT NULL DEFAULT '',"
         "  updated_at INTEGER NOT NULL"
         ") STRICT, WITHOUT ROWID;"
         "CREATE TABLE IF NOT EXISTS assess_history ("
         "  id INTEGER PRIMARY KEY,"
         "  at INTEGER NOT NULL,"
         "  stages TEXT NOT NULL CHECK (length(stages) = 7 AND stages NOT GLOB '*[^0-3]*'),"
         "  actor TEXT NOT NULL DEFAULT ''"
         ") STRICT;"},
    /* Token lineage (store_admin.h): the token that made a token through the admin API, so
     * revoking a leaked token revokes its offspring. Older rows have no parent. */
    {16, "ALTER TABLE admin_tokens ADD COLUMN parent_id TEXT NOT NULL DEFAULT '';"
         "CREATE INDEX admin_tokens_parent ON admin_tokens(parent_id) WHERE parent_id != '';"},
};

/* The identity provider's short-lived records (store_oidc.h) live in STATE_DIR/ztgate-idp.db,
 * attached to every connection as schema "idp", with synchronous = NORMAL: a commit there is
 * not fsynced (a process crash keeps it; an OS crash or power loss may lose the last ones, see
 * docs/STORE.md) so issuing a code or a token costs no disk flush. Its own version and id, so
 * a lost file is simply created again. Grants (one per authorization, the refresh family
 * too), codes and tokens kept as SHA-256 of 256 random bits, and the jti replay cache of
 * client assertions. A used code stays (used_at) until it expires so a replay is recognised
 * and revokes its grant. A grant does not go with its user: a deleted user's sessions are
 * gone, so their grants end like any other (back-channel logout), and the sweep deletes them
 * later. The DROPs remove the tables a development build of schema 10 made in the main file
 * (never released; a table there would hide the idp one of the same name). Version 2 adds the
 * pending agent sign-ins (store_agent.h): CREATE ... IF NOT EXISTS brings a version 1 file up. */
#define SQ_IDP_VERSION 2
#define SQ_IDP_APP_ID 0x7a746769 /* "ztgi" */
static const char sq_idp_schema_sql[] =
    "DROP TABLE IF EXISTS main.oidc_jtis; DROP TABLE IF EXISTS main.oidc_tokens;"
    "DROP TABLE IF EXISTS main.oidc_codes; DROP TABLE IF EXISTS main.oidc_grants;"
    "CREATE TABLE IF NOT EXISTS idp.oidc_grants ("
    "  id TEXT PRIMARY KEY NOT NULL CHECK (length(id) = 32),"
    "  client_id TEXT NOT NULL,"
    "  app TEXT NOT NULL,"
    "  user_id TEXT NOT NULL,"
    "  session_hash TEXT NOT NULL,"
    "  sid TEXT NOT NULL,"
    "  scope TEXT NOT NULL,"
    "  nonce TEXT NOT NULL DEFAULT '',"
    "  acr TEXT NOT NULL DEFAULT '',"
    "  amr INTEGER NOT NULL DEFAULT 0,"
    "  auth_time INTEGER NOT NULL,"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0,"
    "  ended_at INTEGER NOT NULL DEFAULT 0,"
    "  replayed INTEGER NOT NULL DEFAULT 0 CHECK (replayed IN (0, 1))"
    ") STRICT;"
    "CREATE INDEX IF NOT EXISTS idp.oidc_grants_live ON oidc_grants(session_hash) "
    "  WHERE ended_at = 0;"
    "CREATE INDEX IF NOT EXISTS idp.oidc_grants_user ON oidc_grants(user_id);"
    "CREATE TABLE IF NOT EXISTS idp.oidc_codes ("
    "  code_hash BLOB PRIMARY KEY NOT NULL CHECK (length(code_hash) = 32),"
    "  grant_id TEXT NOT NULL REFERENCES oidc_grants(id) ON DELETE CASCADE,"
    "  redirect_uri TEXT NOT NULL,"
    "  code_challenge TEXT NOT NULL DEFAULT '',"
    "  expires_at INTEGER NOT NULL,"
    "  used_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS idp.oidc_codes_grant ON oidc_codes(grant_id);"
    "CREATE TABLE IF NOT EXISTS idp.oidc_tokens ("
    "  token_hash BLOB PRIMARY KEY NOT NULL CHECK (length(token_hash) = 32),"
    "  grant_id TEXT NOT NULL REFERENCES oidc_grants(id) ON DELETE CASCADE,"
    "  kind INTEGER NOT NULL CHECK (kind IN (0, 1, 2)),"
    "  created_at INTEGER NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  rotated_at INTEGER NOT NULL DEFAULT 0,"
    "  revoked_at INTEGER NOT NULL DEFAULT 0"
    ") STRICT, WITHOUT ROWID;"
    "CREATE INDEX IF NOT EXISTS idp.oidc_tokens_grant ON oidc_tokens(grant_id);"
    "CREATE INDEX IF NOT EXISTS idp.oidc_tokens_expiry ON oidc_tokens(expires_at);"
    "CREATE TABLE IF NOT EXISTS idp.oidc_jtis ("
    "  client_id TEXT NOT NULL,"
    "  jti TEXT NOT NULL,"
    "  expires_at INTEGER NOT NULL,"
    "  PRIMARY KEY (client_id, jti)"
    ") STRICT, WITHOUT ROWID;"
    /* Version 2: pending `ztagent tunnel` sign-ins (store_agent.h), one per device. */
    "CREATE TABLE IF NOT EXISTS idp.agent_signins ("
    "  device_hash TEXT PRIMARY KEY NOT NULL CHECK (length(device_hash) = 64),"
    "  user_hash TEXT NOT NULL UNIQUE CHECK (length(user_hash) = 64),"
    "  device_id TEXT NOT NULL UNIQUE,"
    "  app TEXT NOT NULL,"
    "  ip TEXT NOT NULL DEFAULT '',"
    "  expires INTEGER NOT NULL,"
    "  last_poll_ms INTEGER NOT NULL,"
    "  interval_s INTEGER NOT NULL CHECK (interval_s > 0),"
    "  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 1, 2)),"
    "  user_id TEXT NOT NULL DEFAULT '',"
    "  email TEXT NOT NULL DEFAULT '',"
    "  auth_time INTEGER NOT NULL DEFAULT 0,"
    "  mfa_time INTEGER NOT NULL DEFAULT 0,"
    "  expires_cap INTEGER NOT NULL DEFAULT 0,"
    "  mfa_method TEXT NOT NULL DEFAULT '',"
    "  amr INTEGER NOT NULL DEFAULT 0,"
    "  aaguid TEXT NOT NULL DEFAULT ''"
    ") STRICT, WITHOUT ROWID;"
    "PRAGMA idp.application_id = 2054449001; PRAGMA idp.user_version = 2;";
_Static_assert(SQ_IDP_APP_ID == 2054449001, "idp.application_id must match SQ_IDP_APP_ID");

#define SQ_N_MIGRATIONS (sizeof(sq_migrations) / sizeof(sq_migrations[0]))
/* Steps are numbered 1..N in order, so the schema version this build writes is the count. */
_Static_assert(SQ_N_MIGRATIONS == ZT_STORE_SCHEMA_VERSION,
               "ZT_STORE_SCHEMA_VERSION must equal the number of migrations");

_Static_assert(SQ_APP_ID == 2054449015, "application_id in migration 1 must match SQ_APP_ID");

/* ---- statements, prepared once per connection ---- */

#define SQ_USER_COLS                                                                               \
    "u.id, u.email, u.name, COALESCE(u.password_hash, ''), u.disabled, u.created_at, "             \
    "u.updated_at, u.password_changed_at, u.revocation_epoch, u.source, u.external_id, "           \
    "u.expires_at, u.sponsor, u.last_sign_in_at"
/* The sign-in's risk: highest open sign-in detection recorded for this session, or for the
 * portal session a code-exchange child was made from. */
#define SQ_SIGN_IN_RISK                                                                            \
    "SELECT COALESCE(MAX(d.level), 0) FROM risk_detections d WHERE d.session_hash IN "             \
    "(s.id_hash, s.parent_hash) AND d.activity = 'signin' AND d.state = 'at_risk'"
/* The account cannot be used at `now`: disabled, or expired (schema 13: expires_at, 0 never). */
#define SQ_USER_OFF(now) "(u.disabled OR (u.expires_at > 0 AND u.expires_at <= " now "))"
#define SQ_USER_OFF_3 SQ_USER_OFF("?3")
#define SQ_SESSION_COLS                                                                            \
    "s.id_hash, s.user_id, s.created_at, s.auth_time, s.mfa_time, s.mfa_method, s.ip, "            \
    "s.user_agent, s.idle_expires_at, s.absolute_expires_at, s.user_epoch, "                       \
    "COALESCE(s.device_id, ''), u.revocation_epoch, " SQ_USER_OFF_3 ", s.host, "                   \
    "COALESCE(s.parent_hash, ''), s.mfa_pending, "                                                 \
    "(" SQ_USER_RISK("s.user_id", "?2") "), (" SQ_SIGN_IN_RISK "), s.amr, "                        \
                                        "s.passkey_aaguid, u.expires_at"
/* The user's risk level: highest open detection; low ones before the cutoff have aged out. */
#define SQ_USER_RISK(user, cutoff)                                                                 \
    "SELECT COALESCE(MAX(d.level), 0) FROM risk_detections d WHERE d.user_id = " user              \
    " AND d.state IN ('at_risk', 'confirmed_compromised') AND (d.level > 1 OR d.created_at "       \
    "> " cutoff ")"
#define SQ_DET_COLS                                                                                \
    "d.id, d.user_id, u.email, d.type, d.activity = 'user', d.level, d.state, d.detail, "          \
    "d.evidence, d.ip, COALESCE(d.session_hash, ''), d.created_at, d.updated_at"
#define SQ_STATE_BIT                                                                               \
    "(1 << CASE state WHEN 'at_risk' THEN 0 WHEN 'remediated' THEN 1 WHEN 'dismissed' THEN 2 "     \
    "ELSE 3 END)"
#define SQ_GROUP_COLS                                                                              \
    "g.name, g.created_at, (SELECT count(*) FROM memberships m WHERE m.group_id = g.id), "         \
    "g.source, g.external_id, g.display_name"
#define SQ_BUMP "revocation_epoch = revocation_epoch + 1, updated_at = ?2"

#define SQ_STMTS(X)                                                                                \
    X(BEGIN, "BEGIN IMMEDIATE")                                                                    \
    X(COMMIT, "COMMIT")                                                                            \
    X(ROLLBACK, "ROLLBACK")                                                                        \
    X(USER_INSERT, "INSERT INTO users (id, email, name, password_hash, password_changed_at, "      \
                   "created_at, updated_at) VALUES (?1, ?2, ?3, NULLIF(?4, ''), "                  \
                   "CASE WHEN ?4 = '' THEN 0 ELSE ?5 END, ?5, ?5)")                                \
    X(USER_BY_ID, "SELECT " SQ_USER_COLS " FROM users u WHERE u.id = ?1")                          \
    X(USER_BY_EMAIL, "SELECT " SQ_USER_COLS " FROM users u WHERE u.email = ?1")                    \
    X(USER_LIST, "SELECT " SQ_USER_COLS " FROM users u ORDER BY u.email")                          \
    X(USER_EXISTS, "SELECT 1 FROM users WHERE id = ?1")                                            \
    X(USER_DELETE, "DELETE FROM users WHERE id = ?1")                                              \
    X(USER_DISABLE,                                                                                \
      "UPDATE users SET disabled = 1, " SQ_BUMP " WHERE id = ?1 RETURNING revocation_epoch")       \
    X(USER_ENABLE, "UPDATE users SET disabled = 0, updated_at = ?2 WHERE id = ?1 "                 \
                   "RETURNING revocation_epoch")                                                   \
    X(USER_PASSWORD, "UPDATE users SET password_hash = ?3, password_changed_at = ?2, " SQ_BUMP     \
                     " WHERE id = ?1 RETURNING revocation_epoch")                                  \
    X(USER_BUMP, "UPDATE users SET " SQ_BUMP " WHERE id = ?1 RETURNING revocation_epoch")          \
    X(USER_REHASH, "UPDATE users SET password_hash = ?3, updated_at = ?2 "                         \
                   "WHERE id = ?1 AND password_hash = ?4")                                         \
    X(USER_GROUPS, "SELECT g.name FROM groups g JOIN memberships m ON m.group_id = g.id "          \
                   "WHERE m.user_id = ?1 ORDER BY g.name")                                         \
    X(GROUP_INSERT, "INSERT INTO groups (name, created_at) VALUES (?1, ?2)")                       \
    X(GROUP_GET, "SELECT " SQ_GROUP_COLS " FROM groups g WHERE g.name = ?1")                       \
    X(GROUP_LIST, "SELECT " SQ_GROUP_COLS " FROM groups g ORDER BY g.name")                        \
    X(GROUP_DELETE, "DELETE FROM groups WHERE name = ?1")                                          \
    X(GROUP_MEMBERS, "SELECT " SQ_USER_COLS " FROM users u JOIN memberships m ON "                 \
                     "m.user_id = u.id JOIN groups g ON g.id = m.group_id WHERE g.name = ?1 "      \
                     "ORDER BY u.email")                                                           \
    X(MEMBER_ADD, "INSERT INTO memberships (group_id, user_id, created_at) "                       \
                  "SELECT id, ?2, ?3 FROM groups WHERE name = ?1")                                 \
    X(MEMBER_REMOVE, "DELETE FROM memberships WHERE user_id = ?2 AND group_id = "                  \
                     "(SELECT id FROM groups WHERE name = ?1)")                                    \
    X(TOTP_UPSERT, "INSERT INTO totp_credentials (user_id, secret_enc, last_used_step, "           \
                   "created_at) VALUES (?1, ?2, 0, ?3) ON CONFLICT (user_id) DO UPDATE SET "       \
                   "secret_enc = excluded.secret_enc, last_used_step = 0, "                        \
                   "created_at = excluded.created_at")                                             \
    X(TOTP_GET, "SELECT secret_enc, last_used_step, created_at FROM totp_credentials "             \
                "WHERE user_id = ?1")                                                              \
    X(TOTP_USE, "UPDATE totp_credentials SET last_used_step = ?2 "                                 \
                "WHERE user_id = ?1 AND last_used_step < ?2")                                      \
    X(TOTP_EXISTS, "SELECT 1 FROM totp_credentials WHERE user_id = ?1")                            \
    X(TOTP_DELETE, "DELETE FROM totp_credentials WHERE user_id = ?1")                              \
    X(RECOVERY_DELETE, "DELETE FROM recovery_codes WHERE user_id = ?1")                            \
    X(RECOVERY_INSERT, "INSERT INTO recovery_codes (user_id, code_hash, created_at) "              \
                       "VALUES (?1, ?2, ?3)")                                                      \
    X(RECOVERY_LIST, "SELECT id, code_hash, created_at, COALESCE(used_at, 0) "                     \
                     "FROM recovery_codes WHERE user_id = ?1 ORDER BY id")                         \
    X(RECOVERY_USE, "UPDATE recovery_codes SET used_at = ?3 "                                      \
                    "WHERE user_id = ?1 AND id = ?2 AND used_at IS NULL")                          \
    X(RECOVERY_EXISTS, "SELECT 1 FROM recovery_codes WHERE user_id = ?1 AND id = ?2")              \
    X(SESSION_INSERT,                                                                              \
      "INSERT INTO sessions (id_hash, user_id, created_at, auth_time, mfa_time, "                  \
      "mfa_method, ip, user_agent, idle_expires_at, absolute_expires_at, "                         \
      "user_epoch, device_id, host, parent_hash, mfa_pending, amr, passkey_aaguid) VALUES (?1, "   \
      "?2, ?3, ?4, ?5, ?6, ?7, ?8, MIN(?9, ?10), ?10, ?11, NULLIF(?12, ''), ?13, "                 \
      "NULLIF(?14, ''), ?15, ?16, ?17)")                                                           \
    X(SESSION_GET, "SELECT " SQ_SESSION_COLS " FROM sessions s JOIN users u ON u.id = s.user_id "  \
                   "WHERE s.id_hash = ?1")                                                         \
    X(SESSION_TOUCH, "UPDATE sessions SET idle_expires_at = MIN(?2, absolute_expires_at) "         \
                     "WHERE id_hash = ?1")                                                         \
    X(SESSION_SET_MFA, "UPDATE sessions SET mfa_time = ?2, mfa_method = ?3, mfa_pending = 0 "      \
                       "WHERE id_hash = ?1")                                                       \
    X(SESSION_DELETE, "DELETE FROM sessions WHERE id_hash = ?1")                                   \
    X(SESSION_DELETE_TREE, "WITH RECURSIVE tree(h) AS (SELECT ?1 UNION SELECT s.id_hash "          \
                           "FROM sessions s JOIN tree ON s.parent_hash = tree.h) "                 \
                           "DELETE FROM sessions WHERE id_hash IN (SELECT h FROM tree)")           \
    X(SESSION_LIST_USER, "SELECT " SQ_SESSION_COLS " FROM sessions s JOIN users u ON "             \
                         "u.id = s.user_id WHERE s.user_id = ?1 ORDER BY s.created_at, s.id_hash") \
    X(SESSION_DELETE_USER, "DELETE FROM sessions WHERE user_id = ?1")                              \
    X(SESSION_DELETE_EXPIRED, "DELETE FROM sessions WHERE idle_expires_at <= ?1")                  \
    X(SESSION_COUNT, "SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "           \
                     "WHERE s.idle_expires_at > ?1 AND s.user_epoch = u.revocation_epoch "         \
                     "AND NOT " SQ_USER_OFF("?1") " AND s.mfa_pending = 0")                        \
    X(DET_INSERT, "INSERT INTO risk_detections (user_id, type, activity, level, state, detail, "   \
                  "evidence, ip, session_hash, created_at, updated_at) VALUES (?1, ?2, "           \
                  "CASE WHEN ?3 THEN 'user' ELSE 'signin' END, ?4, ?5, ?6, ?7, ?8, "               \
                  "NULLIF(?9, ''), ?10, ?10)")                                                     \
    X(DET_CAP, "DELETE FROM risk_detections WHERE id IN (SELECT id FROM risk_detections "          \
               "WHERE user_id = ?1 ORDER BY state IN ('at_risk', 'confirmed_compromised'), "       \
               "level, id LIMIT max(0, (SELECT count(*) FROM risk_detections WHERE "               \
               "user_id = ?1) - ?2))")                                                             \
    X(DET_GET, "SELECT " SQ_DET_COLS " FROM risk_detections d JOIN users u ON u.id = d.user_id "   \
               "WHERE d.id = ?1")                                                                  \
    X(DET_LIST, "SELECT " SQ_DET_COLS " FROM risk_detections d JOIN users u ON "                   \
                "u.id = d.user_id WHERE (?1 IS NULL OR d.user_id = ?1) AND (?2 IS NULL OR "        \
                "d.state = ?2) ORDER BY d.id DESC LIMIT ?3")                                       \
    X(DET_UPDATE, "UPDATE risk_detections SET state = ?1, detail = ?2, updated_at = ?3 WHERE "     \
                  "(?4 = 0 OR id = ?4) AND (?5 IS NULL OR user_id = ?5) AND (?6 IS NULL OR "       \
                  "session_hash = ?6) AND (?7 = 0 OR activity = 'signin') AND "                    \
                  "(" SQ_STATE_BIT " & ?8) != 0")                                                  \
    X(DET_EXISTS, "SELECT 1 FROM risk_detections WHERE id = ?1")                                   \
    X(USER_RISK, SQ_USER_RISK("?1", "?2"))                                                         \
    X(SIGNIN_GET, "SELECT count, first_at, last_at, last_ip, has_location, lat, lon, "             \
                  "accuracy_km, location_at, location_country FROM risk_sign_ins "                 \
                  "WHERE user_id = ?1")                                                            \
    X(PROP_SEEN, "SELECT 1 FROM risk_properties WHERE user_id = ?1 AND kind = ?2 AND value = ?3")  \
    X(SIGNIN_UPSERT,                                                                               \
      "INSERT INTO risk_sign_ins (user_id, first_at, count, last_at, last_ip, has_location, "      \
      "lat, lon, accuracy_km, location_at, location_country) VALUES (?1, ?2, 1, ?2, ?3, ?4, ?5, "  \
      "?6, ?7, CASE WHEN ?4 THEN ?2 ELSE 0 END, CASE WHEN ?4 THEN ?8 ELSE '' END) "                \
      "ON CONFLICT (user_id) DO UPDATE SET count = count + 1, "                                    \
      "first_at = MIN(first_at, excluded.first_at), last_at = MAX(last_at, excluded.last_at), "    \
      "last_ip = excluded.last_ip, has_location = MAX(has_location, excluded.has_location), "      \
      "lat = iif(excluded.has_location, excluded.lat, lat), "                                      \
      "lon = iif(excluded.has_location, excluded.lon, lon), "                                      \
      "accuracy_km = iif(excluded.has_location, excluded.accuracy_km, accuracy_km), "              \
      "location_at = iif(excluded.has_location, excluded.location_at, location_at), "              \
      "location_country = iif(excluded.has_location, excluded.location_country, "                  \
      "location_country)")                                                                         \
    X(PROP_UPSERT, "INSERT INTO risk_properties (user_id, kind, value, first_seen, last_seen, "    \
                   "count) VALUES (?1, ?2, ?3, ?4, ?4, 1) ON CONFLICT DO UPDATE SET "              \
                   "last_seen = MAX(last_seen, excluded.last_seen), count = count + 1")            \
    X(PROP_CAP, "DELETE FROM risk_properties WHERE user_id = ?1 AND kind = ?2 AND value NOT IN "   \
                "(SELECT value FROM risk_properties WHERE user_id = ?1 AND kind = ?2 "             \
                "ORDER BY last_seen DESC, count DESC LIMIT ?3)")                                   \
    X(PENDING_PUT, "INSERT OR REPLACE INTO risk_pending (session_hash, user_id, at, ip, "          \
                   "ip_prefix, asn, country, device, ua, has_location, lat, lon, accuracy_km) "    \
                   "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)")              \
    X(PENDING_EXPIRE, "DELETE FROM risk_pending WHERE at <= ?1")                                   \
    X(PENDING_TAKE, "DELETE FROM risk_pending WHERE session_hash = ?1 RETURNING user_id, at, ip, " \
                    "ip_prefix, asn, country, device, ua, has_location, lat, lon, accuracy_km")

#define SQ_ENUM(id, sql) SQ_##id,
#define SQ_TEXT(id, sql) [SQ_##id] = sql,
enum { SQ_STMTS(SQ_ENUM) SQ_N_STMTS };
static const char *const sq_sql[SQ_N_STMTS] = {SQ_STMTS(SQ_TEXT)};

/* ---- handle and per-thread connections ---- */

/* The statements of sqd_run, prepared once per connection, found by the address of their SQL
 * text (always a string literal there). */
#define SQ_RUN_CACHE_N 64
typedef struct sq_run_cached {
    const char *sql;
    sqlite3_stmt *stmt;
} sq_run_cached;

typedef struct sq_conn {
    sqlite3 *db;
    struct sq_store *store;
    sqlite3_stmt *stmt[SQ_N_STMTS];
    sq_run_cached run_cache[SQ_RUN_CACHE_N];
    struct sq_conn *next;
    bool in_cb;            /* a list callback is running on this connection */
    bool checkpointing;    /* in sq_wal_hook's checkpoint: sq_busy waits less */
    uint64_t commits_seen; /* sq_store.commits when this connection last tried */
    int64_t busy_since;    /* monotonic µs of the first refusal of the current wait */
} sq_conn;

typedef struct sq_store {
    zt_store base;
    char *path;
    char *idp_path; /* STATE_DIR/ztgate-idp.db, attached as "idp" (sq_idp_schema_sql) */
    int busy_ms;
    pthread_key_t key;  /* this thread's sq_conn */
    pthread_mutex_t mu; /* guards conns */
    sq_conn *conns;     /* every connection ever made, closed together at zt_store_close */
    /* Writers of this process waiting for SQLite's write lock sleep on commit_cv until a commit
     * (sq_wal_hook) bumps commits: the wait costs the other writer's transaction, not one of
     * SQLite's 1..100 ms busy sleeps. */
    pthread_mutex_t commit_mu;
    pthread_cond_t commit_cv; /* CLOCK_MONOTONIC */
    _Atomic uint64_t commits;
    /* WAL size (frames) at the last checkpoint of main [0] and idp [1] (sq_wal_hook). */
    _Atomic int checkpointed_at[2];
} sq_store;

static void sq_conn_free(sq_conn *c)
{
    if (c == NULL)
        return;
    for (int i = 0; i < SQ_N_STMTS; i++)
        sqlite3_finalize(c->stmt[i]);
    for (int i = 0; i < SQ_RUN_CACHE_N; i++)
        sqlite3_finalize(c->run_cache[i].stmt);
    sqlite3_close(c->db);
    free(c);
}

/* Map a SQLite result to our codes and set the message; `what` names the operation. */
static int sq_fail(sq_conn *c, int src, const char *what)
{
    const char *msg = c != NULL ? sqlite3_errmsg(c->db) : sqlite3_errstr(src);
    int rc;
    switch (src) {
    case SQLITE_CONSTRAINT_UNIQUE:
    case SQLITE_CONSTRAINT_PRIMARYKEY:
        rc = -EEXIST;
        break;
    case SQLITE_CONSTRAINT_FOREIGNKEY:
        rc = -ENOENT;
        break;
    case SQLITE_CONSTRAINT_CHECK:
        rc = -EINVAL;
        break;
    case SQLITE_NOMEM:
        rc = -ENOMEM;
        break;
    default:
        rc = (src & 0xff) == SQLITE_BUSY || (src & 0xff) == SQLITE_LOCKED ? -EBUSY : -EIO;
        break;
    }
    return zt_store_seterr(rc, "%s: %s", what, msg);
}

static int sq_exec(sq_conn *c, const char *sql, const char *what)
{
    c->commits_seen = atomic_load(&c->store->commits);
    int src = sqlite3_exec(c->db, sql, NULL, NULL, NULL);
    return src == SQLITE_OK ? 0 : sq_fail(c, sqlite3_extended_errcode(c->db), what);
}

/* Run a one-value query (PRAGMA, count); -EIO if it yields no row. */
static int sq_query_int(sq_conn *c, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(c->db, sql, -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    int rc = 0;
    if (src == SQLITE_ROW)
        *out = sqlite3_column_int64(s, 0);
    else
        rc = src == SQLITE_DONE ? zt_store_seterr(-EIO, "%s: no result", sql)
                                : sq_fail(c, sqlite3_extended_errcode(c->db), sql);
    sqlite3_finalize(s);
    return rc;
}

static int64_t sq_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* A commit of this process released the write lock: wake the writers waiting for it. */
static void sq_wake_writers(sq_store *s)
{
    pthread_mutex_lock(&s->commit_mu);
    atomic_fetch_add(&s->commits, 1);
    pthread_cond_broadcast(&s->commit_cv);
    pthread_mutex_unlock(&s->commit_mu);
}

/* Called by SQLite after each commit to a WAL database, once the write lock is released. It
 * replaces SQLite's automatic checkpoint, a PASSIVE one after every commit once the WAL holds
 * 1000 frames: while the other event loop keeps writing, the WAL never starts over (a writer
 * always finds frames not yet copied), so it grew by hundreds of MB and every commit paid a
 * checkpoint with two fsyncs (strace: 787 WAL and 257 database fsyncs for 956 code exchanges).
 * A RESTART checkpoint each time the WAL has grown by SQ_CHECKPOINT_FRAMES waits (briefly, see
 * sq_busy) for readers of older snapshots, so the next writer starts the WAL over. */
static int sq_wal_hook(void *arg, sqlite3 *db, const char *schema, int frames)
{
    sq_conn *c = arg;
    sq_wake_writers(c->store);
    _Atomic int *last = &c->store->checkpointed_at[strcmp(schema, "main") != 0];
    int at = atomic_load(last);
    if (frames < at) /* the WAL started over */
        at = 0;
    if (frames < at + SQ_CHECKPOINT_FRAMES) {
        if (at == 0)
            atomic_store(last, 0);
        return SQLITE_OK;
    }
    atomic_store(last, frames);
    c->checkpointing = true;
    sqlite3_wal_checkpoint_v2(db, schema, SQLITE_CHECKPOINT_RESTART, NULL, NULL);
    c->checkpointing = false;
    return SQLITE_OK;
}

/* SQLite's busy handler: 1 = try the lock again, 0 = give up (SQLITE_BUSY) after busy_ms, as
 * sqlite3_busy_timeout would. Instead of its sleeps of 1, 2, 5 ... 100 ms it waits for the next
 * commit of this process (or SQ_BUSY_POLL_US for a lock another process holds). A commit since
 * this connection's last try (commits_seen, taken before each statement) means retry at once. */
static int sq_busy(void *arg, int count)
{
    sq_conn *c = arg;
    sq_store *s = c->store;
    int64_t now = sq_mono_us();
    if (count == 0)
        c->busy_since = now;
    int64_t limit = c->checkpointing ? SQ_CHECKPOINT_WAIT_US : (int64_t)s->busy_ms * 1000;
    if (now - c->busy_since >= limit)
        return 0;
    pthread_mutex_lock(&s->commit_mu);
    if (atomic_load(&s->commits) == c->commits_seen) {
        int64_t until = now + SQ_BUSY_POLL_US;
        struct timespec ts = {.tv_sec = until / 1000000, .tv_nsec = until % 1000000 * 1000};
        pthread_cond_timedwait(&s->commit_cv, &s->commit_mu, &ts);
    }
    c->commits_seen = atomic_load(&s->commits);
    pthread_mutex_unlock(&s->commit_mu);
    return 1;
}

/* Run a journal_mode pragma; anything but "wal" back is an error. */
static int sq_wal(sq_conn *c, const char *pragma)
{
    sqlite3_stmt *s = NULL;
    int rc = 0, src = sqlite3_prepare_v2(c->db, pragma, -1, &s, NULL);
    if (src == SQLITE_OK)
        src = sqlite3_step(s);
    const char *mode = src == SQLITE_ROW ? (const char *)sqlite3_column_text(s, 0) : NULL;
    bool wal = mode != NULL && strcmp(mode, "wal") == 0;
    if (src != SQLITE_ROW)
        rc = sq_fail(c, sqlite3_extended_errcode(c->db), "enabling WAL");
    else if (!wal)
        rc = zt_store_seterr(-EIO, "the database cannot use WAL mode (network file system?)");
    sqlite3_finalize(s);
    return rc;
}

/* ATTACH opens with this connection's flags (no CREATE): sq_prepare_file made the file. */
static int sq_attach_idp(sq_conn *c)
{
    sqlite3_stmt *s = NULL;
    int src = sqlite3_prepare_v2(c->db, "ATTACH DATABASE ?1 AS idp", -1, &s, NULL);
    if (src == SQLITE_OK) {
        sqlite3_bind_text(s, 1, c->store->idp_path, -1, SQLITE_STATIC);
        src = sqlite3_step(s);
    }
    sqlite3_finalize(s);
    return src == SQLITE_DONE
               ? 0
               : sq_fail(c, sqlite3_extended_errcode(c->db), "attaching the idp database");
}

/* Per-connection settings; journal_mode is persistent, the others are per connection. */
static int sq_conn_setup(sq_conn *c)
{
    sqlite3_extended_result_codes(c->db, 1);
    sqlite3_busy_handler(c->db, sq_busy, c);
    sqlite3_wal_hook(c->db, sq_wal_hook, c);
    /* Not trusting the schema keeps SQL functions with side effects out of views/triggers. */
    int rc = sq_exec(c,
                     "PRAGMA trusted_schema = OFF; PRAGMA foreign_keys = ON;"
                     "PRAGMA synchronous = FULL; PRAGMA secure_delete = ON",
                     "configuring the database");
    if (rc != 0)
        return rc;
    rc = sq_wal(c, "PRAGMA journal_mode = WAL");
    rc = rc ? rc : sq_attach_idp(c);
    rc = rc ? rc : sq_wal(c, "PRAGMA idp.journal_mode = WAL");
    /* See sq_idp_schema_sql for what NORMAL means here; secure_delete is inherited. */
    /* Under a steady stream of authorizes the WAL cannot start over (a writer always finds
     * frames not yet checkpointed) and grows; once it does start over, the file is cut back. */
    rc =
        rc ? rc
           : sq_exec(c, "PRAGMA idp.synchronous = NORMAL; PRAGMA idp.journal_size_limit = 67108864",
                     "configuring the idp database");
    int64_t fk = 0;
    if (rc == 0)
        rc = sq_query_int(c, "PRAGMA foreign_keys", &fk);
    if (rc == 0 && fk != 1)
        rc = zt_store_seterr(-EIO, "this SQLite was built without foreign key support");
    return rc;
}

static int sq_conn_open(sq_store *s, sq_conn **out)
{
    sq_conn *c = calloc(1, sizeof(*c));
    if (c == NULL)
        return zt_store_seterr(-ENOMEM, "out of memory");
    /* NOMUTEX: a connection is only ever used by the thread that made it. No CREATE: the file
     * was made 0600 at open and must not silently reappear elsewhere. */
    c->store = s;
    int src = sqlite3_open_v2(s->path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL);
    int rc = src == SQLITE_OK
                 ? sq_conn_setup(c)
                 : zt_store_seterr(src == SQLITE_NOMEM ? -ENOMEM : -EIO, "opening %s: %s", s->path,
                                   c->db ? sqlite3_errmsg(c->db) : sqlite3_errstr(src));
    if (rc != 0) {
        sq_conn_free(c);
        return rc;
    }
    *out = c;
    return 0;
}

static void sq_conn_register(sq_store *s, sq_conn *c)
{
    pthread_mutex_lock(&s->mu);
    c->next = s->conns;
    s->conns = c;
    pthread_mutex_unlock(&s->mu);
    pthread_setspecific(s->key, c);
}

/* This thread's connection, made on first use. */
static int sq_enter(zt_store *st, sq_conn **out)
{
    sq_store *s = (sq_store *)st;
    sq_conn *c = pthread_getspecific(s->key);
    if (c != NULL && c->in_cb)
        return zt_store_seterr(-EDEADLK, "store called from inside one of its list callbacks");
    if (c == NULL) {
        int rc = sq_conn_open(s, &c);
        if (rc != 0)
            return rc;
        sq_conn_register(s, c);
    }
    *out = c;
    return 0;
}

/* ---- statement helpers ---- */

static int sq_stmt(sq_conn *c, int id, sqlite3_stmt **out)
{
    if (c->stmt[id] == NULL) {
        int src = sqlite3_prepare_v3(c->db, sq_sql[id], -1, SQLITE_PREPARE_PERSISTENT, &c->stmt[id],
                                     NULL);
        if (src != SQLITE_OK)
            return sq_fail(c, sqlite3_extended_errcode(c->db), "preparing a statement");
    }
    *out = c->stmt[id];
    return 0;
}

/* sql's statement from this connection's cache, prepared on first use; *owned when the cache
 * is full and the caller must finalize it. */
static int sq_run_stmt(sq_conn *c, const char *sql, sqlite3_stmt **out, bool *owned)
{
    size_t h = (size_t)((uintptr_t)sql >> 3);
    sq_run_cached *slot = NULL;
    for (size_t i = 0; i < SQ_RUN_CACHE_N && slot == NULL; i++) {
        sq_run_cached *e = &c->run_cache[(h + i) % SQ_RUN_CACHE_N];
        if (e->sql == sql || e->sql == NULL)
            slot = e;
    }
    *owned = slot == NULL;
    if (slot != NULL && slot->sql == sql) {
        *out = slot->stmt;
        return 0;
    }
    *out = NULL;
    int src = sqlite3_prepare_v3(c->db, sql, -1, *owned ? 0 : SQLITE_PREPARE_PERSISTENT, out, NULL);
    if (src != SQLITE_OK)
        return sq_fail(c, sqlite3_extended_errcode(c->db), "preparing");
    if (slot != NULL)
        *slot = (sq_run_cached){sql, *out};
    return 0;
}

static void sq_done(sqlite3_stmt *s)
{
    if (s != NULL) {
        sqlite3_reset(s);
        sqlite3_clear_bindings(s);
    }
}

/* Strings stay alive until sq_done, so SQLite need not copy them. */
static void sq_text(sqlite3_stmt *s, int i, const char *v)
{
    sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* Step once: 1 for a row, 0 when done, negative on error (message set). */
static int sq_step(sq_conn *c, sqlite3_stmt *s, const char *what)
{
    c->commits_seen = atomic_load(&c->store->commits);
    int src = sqlite3_step(s);
    if (src == SQLITE_ROW)
        return 1;
    if (src == SQLITE_DONE)
        return 0;
    return sq_fail(c, sqlite3_extended_errcode(c->db), what);
}

/* Run a statement to completion; its row count goes to *changes when non-NULL. */
static int sq_run(sq_conn *c, sqlite3_stmt *s, const char *what, int64_t *changes)
{
    int rc = sq_step(c, s, what);
    if (rc >= 0 && changes != NULL)
        *changes = sqlite3_changes64(c->db);
    sq_done(s);
    return rc < 0 ? rc : 0;
}

/* Copy a text column; false when it does not fit (a record we did not write: fail closed). */
static bool sq_col(sqlite3_stmt *s, int col, char *dst, size_t cap)
{
    const unsigned char *t = sqlite3_column_text(s, col);
    size_t n = (size_t)sqlite3_column_bytes(s, col);
    if (t == NULL)
        n = 0;
    if (n >= cap) {
        dst[0] = '\0';
        return false;
    }
    if (n > 0)
        memcpy(dst, t, n);
    dst[n] = '\0';
    return true;
}

static int sq_corrupt(const char *what)
{
    return zt_store_seterr(-EIO, "stored %s does not fit its limit (database edited by hand?)",
                           what);
}

static int sq_row_user(sqlite3_stmt *s, zt_user *u)
{
    memset(u, 0, sizeof(*u));
    bool ok = sq_col(s, 0, u->id, sizeof(u->id)) && sq_col(s, 1, u->email, sizeof(u->email)) &&
              sq_col(s, 2, u->name, sizeof(u->name)) &&
              sq_col(s, 3, u->password_hash, sizeof(u->password_hash));
    u->disabled = sqlite3_column_int64(s, 4) != 0;
    u->created_at = sqlite3_column_int64(s, 5);
    u->updated_at = sqlite3_column_int64(s, 6);
    u->password_changed_at = sqlite3_column_int64(s, 7);
    u->revocation_epoch = sqlite3_column_int64(s, 8);
    ok = ok && sq_col(s, 9, u->source, sizeof(u->source)) &&
         sq_col(s, 10, u->external_id, sizeof(u->external_id)) &&
         sq_col(s, 12, u->sponsor, sizeof(u->sponsor));
    u->expires_at = sqlite3_column_int64(s, 11);
    u->last_sign_in_at = sqlite3_column_int64(s, 13);
    return ok ? 0 : sq_corrupt("user");
}

static int sq_row_session(sqlite3_stmt *st, zt_store_session *s)
{
    memset(s, 0, sizeof(*s));
    bool ok = sq_col(st, 0, s->id_hash, sizeof(s->id_hash)) &&
              sq_col(st, 1, s->user_id, sizeof(s->user_id)) &&
              sq_col(st, 5, s->mfa_method, sizeof(s->mfa_method)) &&
              sq_col(st, 6, s->ip, sizeof(s->ip)) &&
              sq_col(st, 7, s->user_agent, sizeof(s->user_agent)) &&
              sq_col(st, 11, s->device_id, sizeof(s->device_id)) &&
              sq_col(st, 14, s->host, sizeof(s->host)) &&
              sq_col(st, 15, s->parent_hash, sizeof(s->parent_hash)) &&
              sq_col(st, 19, s->amr, sizeof(s->amr)) &&
              sq_col(st, 20, s->passkey_aaguid, sizeof(s->passkey_aaguid));
    s->created_at = sqlite3_column_int64(st, 2);
    s->auth_time = sqlite3_column_int64(st, 3);
    s->mfa_time = sqlite3_column_int64(st, 4);
    s->idle_expires_at = sqlite3_column_int64(st, 8);
    s->absolute_expires_at = sqlite3_column_int64(st, 9);
    s->user_epoch = sqlite3_column_int64(st, 10);
    s->user_epoch_now = sqlite3_column_int64(st, 12);
    s->user_disabled = sqlite3_column_int64(st, 13) != 0;
    s->user_expires_at = sqlite3_column_int64(st, 21);
    s->mfa_pending = sqlite3_column_int64(st, 16) != 0;
    s->user_risk = (int)sqlite3_column_int64(st, 17);
    s->sign_in_risk = (int)sqlite3_column_int64(st, 18);
    return ok ? 0 : sq_corrupt("session");
}

/* Low detections created at or before this have aged out of the user's risk. */
static int64_t sq_low_cutoff(int64_t now)
{
    return now - ZT_STORE_RISK_LOW_RETENTION_S;
}

/* ---- transactions ---- */

typedef int (*sq_txn_fn)(sq_conn *c, void *arg);

static void sq_rollback(sq_conn *c)
{
    sqlite3_stmt *s = NULL;
    /* Some errors (I/O, full disk) already rolled back; a second ROLLBACK would only fail. */
    if (!sqlite3_get_autocommit(c->db) && sq_stmt(c, SQ_ROLLBACK, &s) == 0) {
        sqlite3_step(s);
        sq_done(s);
        sq_wake_writers(c->store); /* the lock is free without a commit to say so */
    }
}

/* BEGIN IMMEDIATE takes the write lock up front: a deferred transaction that later upgrades
 * can fail with SQLITE_BUSY that no busy timeout resolves. */
static int sq_txn(sq_conn *c, sq_txn_fn fn, void *arg)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_BEGIN, &s);
    if (rc == 0)
        rc = sq_run(c, s, "starting a transaction", NULL);
    if (rc != 0)
        return rc;
    rc = fn(c, arg);
    if (rc == 0 && (rc = sq_stmt(c, SQ_COMMIT, &s)) == 0)
        rc = sq_run(c, s, "committing", NULL);
    if (rc != 0)
        sq_rollback(c);
    return rc;
}

/* Make every commit so far to the idp database durable: an fsync of its WAL (synchronous =
 * NORMAL leaves that to checkpoints), for the writes whose loss would bring a revoked or used
 * credential back. Outside any transaction, so other writers are not held up meanwhile. */
static int sq_idp_sync(sq_conn *c)
{
    sqlite3_file *f = NULL;
    int src = sqlite3_file_control(c->db, "idp", SQLITE_FCNTL_JOURNAL_POINTER, &f);
    if (src == SQLITE_OK && f != NULL && f->pMethods != NULL)
        src = f->pMethods->xSync(f, SQLITE_SYNC_NORMAL);
    return src == SQLITE_OK ? 0 : sq_fail(c, src, "syncing the idp database");
}

static int sq_user_exists(sq_conn *c, const char *id)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_USER_EXISTS, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id);
    rc = sq_step(c, s, "looking up a user");
    sq_done(s);
    if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    return rc < 0 ? rc : 0;
}

/* ---- users ---- */

typedef struct user_add_args {
    const char *email, *name, *pw_hash;
    const char *const *groups;
    size_t n_groups;
    zt_user *out;
} user_add_args;

static int sq_member_insert(sq_conn *c, const char *group, const char *user_id)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_MEMBER_ADD, &s);
    if (rc != 0)
        return rc;
    int64_t n = 0;
    sq_text(s, 1, group);
    sq_text(s, 2, user_id);
    sqlite3_bind_int64(s, 3, zt_store_now());
    rc = sq_run(c, s, "adding a group member", &n);
    if (rc == -EEXIST)
        return zt_store_seterr(rc, "user %s is already a member of group %s", user_id, group);
    if (rc == -ENOENT)
        return zt_store_seterr(rc, "user %s not found", user_id);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", group);
    return rc;
}

static int sq_user_read(sq_conn *c, bool by_email, const char *key, zt_user *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, by_email ? SQ_USER_BY_EMAIL : SQ_USER_BY_ID, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, key);
    rc = sq_step(c, s, "reading a user");
    if (rc == 1)
        rc = sq_row_user(s, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", key);
    sq_done(s);
    return rc;
}

static int sq_user_add_txn(sq_conn *c, void *arg)
{
    user_add_args *a = arg;
    char id[ZT_STORE_ID_LEN + 1];
    zt_random_hex(id, ZT_STORE_ID_LEN / 2);
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_USER_INSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id);
    sq_text(s, 2, a->email);
    sq_text(s, 3, a->name);
    sq_text(s, 4, a->pw_hash);
    sqlite3_bind_int64(s, 5, zt_store_now());
    rc = sq_run(c, s, "adding a user", NULL);
    if (rc == -EEXIST)
        return zt_store_seterr(rc, "user %s already exists", a->email);
    for (size_t i = 0; rc == 0 && i < a->n_groups; i++)
        rc = sq_member_insert(c, a->groups[i], id);
    if (rc == 0 && a->out != NULL)
        rc = sq_user_read(c, false, id, a->out);
    return rc;
}

static int sq_user_add(zt_store *st, const char *email, const char *name, const char *pw_hash,
                       const char *const *groups, size_t n_groups, zt_user *out)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    if (rc != 0)
        return rc;
    user_add_args a = {email, name, pw_hash, groups, n_groups, out};
    rc = sq_txn(c, sq_user_add_txn, &a);
    if (rc != 0 && out != NULL)
        zt_user_dispose(out);
    return rc;
}

static int sq_user_get(zt_store *st, bool by_email, const char *key, zt_user *out)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_user_read(c, by_email, key, out);
    if (rc != 0)
        zt_user_dispose(out);
    return rc;
}

/* Walk the rows of a prepared statement, handing each user to cb. */
static int sq_walk_users(sq_conn *c, sqlite3_stmt *s, zt_store_user_cb cb, void *ctx)
{
    int rc;
    zt_user u;
    while ((rc = sq_step(c, s, "listing users")) == 1) {
        rc = sq_row_user(s, &u);
        if (rc == 0) {
            c->in_cb = true;
            rc = cb(ctx, &u);
            c->in_cb = false;
        }
        zt_user_dispose(&u);
        if (rc != 0)
            break;
    }
    sq_done(s);
    return rc;
}

static int sq_user_list(zt_store *st, zt_store_user_cb cb, void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_USER_LIST, &s);
    return rc != 0 ? rc : sq_walk_users(c, s, cb, ctx);
}

static int sq_user_groups(zt_store *st, const char *user_id, zt_store_name_cb cb, void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_user_exists(c, user_id);
    if (rc == 0)
        rc = sq_stmt(c, SQ_USER_GROUPS, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    char name[ZT_STORE_GROUP_MAX + 1];
    while ((rc = sq_step(c, s, "listing a user's groups")) == 1) {
        if (!sq_col(s, 0, name, sizeof(name))) {
            rc = sq_corrupt("group name");
            break;
        }
        c->in_cb = true;
        rc = cb(ctx, name);
        c->in_cb = false;
        if (rc != 0)
            break;
    }
    sq_done(s);
    return rc;
}

static int sq_user_delete(zt_store *st, const char *id)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_USER_DELETE, &s);
    if (rc != 0)
        return rc;
    /* One statement: memberships, TOTP, recovery codes and sessions go by ON DELETE CASCADE. */
    sq_text(s, 1, id);
    rc = sq_run(c, s, "deleting a user", &n);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", id);
    return rc;
}

typedef struct revoke_args {
    const char *id;
    zt_store_revoke what;
    const char *pw_hash;
    int64_t epoch;
} revoke_args;

static int sq_delete_by_user(sq_conn *c, int stmt, const char *user_id, int64_t *n)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, stmt, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    return sq_run(c, s, "deleting a user's records", n);
}

static int sq_revoke_update(sq_conn *c, revoke_args *a)
{
    static const int stmt_of[] = {
        [ZT_REVOKE_DISABLE] = SQ_USER_DISABLE,   [ZT_REVOKE_ENABLE] = SQ_USER_ENABLE,
        [ZT_REVOKE_PASSWORD] = SQ_USER_PASSWORD, [ZT_REVOKE_RESET_MFA] = SQ_USER_BUMP,
        [ZT_REVOKE_SESSIONS] = SQ_USER_BUMP,
    };
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, stmt_of[a->what], &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, a->id);
    sqlite3_bind_int64(s, 2, zt_store_now());
    if (a->what == ZT_REVOKE_PASSWORD)
        sq_text(s, 3, a->pw_hash);
    rc = sq_step(c, s, "updating a user");
    if (rc == 1)
        a->epoch = sqlite3_column_int64(s, 0);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s not found", a->id);
    /* Drain so the UPDATE ... RETURNING statement completes before the next one. */
    while (rc == 1)
        rc = sq_step(c, s, "updating a user");
    sq_done(s);
    return rc;
}

static int sq_revoke_txn(sq_conn *c, void *arg)
{
    revoke_args *a = arg;
    int rc = sq_revoke_update(c, a);
    if (rc == 0 && a->what == ZT_REVOKE_RESET_MFA)
        rc = sq_delete_by_user(c, SQ_TOTP_DELETE, a->id, NULL);
    if (rc == 0 && a->what == ZT_REVOKE_RESET_MFA)
        rc = sq_delete_by_user(c, SQ_RECOVERY_DELETE, a->id, NULL);
    if (rc == 0 && a->what != ZT_REVOKE_ENABLE)
        rc = sq_delete_by_user(c, SQ_SESSION_DELETE_USER, a->id, NULL);
    return rc;
}

static int sq_user_revoke(zt_store *st, const char *id, zt_store_revoke what, const char *pw_hash,
                          int64_t *epoch_out)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    if (rc != 0)
        return rc;
    revoke_args a = {id, what, pw_hash, 0};
    rc = sq_txn(c, sq_revoke_txn, &a);
    if (rc == 0 && epoch_out != NULL)
        *epoch_out = a.epoch;
    return rc;
}

static int sq_user_rehash(zt_store *st, const char *id, const char *old_hash, const char *new_hash)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_USER_REHASH, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id);
    sqlite3_bind_int64(s, 2, zt_store_now());
    sq_text(s, 3, new_hash);
    sq_text(s, 4, old_hash);
    int64_t n = 0;
    rc = sq_run(c, s, "upgrading a password hash", &n);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user not found or password changed meanwhile");
    return rc;
}

/* ---- groups ---- */

static int sq_group_add(zt_store *st, const char *name)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_GROUP_INSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, name);
    sqlite3_bind_int64(s, 2, zt_store_now());
    rc = sq_run(c, s, "adding a group", NULL);
    if (rc == -EEXIST)
        rc = zt_store_seterr(rc, "group %s already exists", name);
    return rc;
}

static int sq_row_group(sqlite3_stmt *s, zt_store_group *g)
{
    memset(g, 0, sizeof(*g));
    g->created_at = sqlite3_column_int64(s, 1);
    g->n_members = (uint64_t)sqlite3_column_int64(s, 2);
    bool ok = sq_col(s, 0, g->name, sizeof(g->name)) &&
              sq_col(s, 3, g->source, sizeof(g->source)) &&
              sq_col(s, 4, g->external_id, sizeof(g->external_id)) &&
              sq_col(s, 5, g->display_name, sizeof(g->display_name));
    return ok ? 0 : sq_corrupt("group");
}

static int sq_group_read(sq_conn *c, const char *name, zt_store_group *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_GROUP_GET, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, name);
    rc = sq_step(c, s, "reading a group");
    if (rc == 1)
        rc = sq_row_group(s, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", name);
    sq_done(s);
    return rc;
}

static int sq_group_get(zt_store *st, const char *name, zt_store_group *out)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    return rc != 0 ? rc : sq_group_read(c, name, out);
}

static int sq_group_delete(zt_store *st, const char *name)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_GROUP_DELETE, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, name);
    rc = sq_run(c, s, "deleting a group", &n);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "group %s not found", name);
    return rc;
}

static int sq_group_list(zt_store *st, zt_store_group_cb cb, void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_GROUP_LIST, &s);
    if (rc != 0)
        return rc;
    zt_store_group g;
    while ((rc = sq_step(c, s, "listing groups")) == 1) {
        rc = sq_row_group(s, &g);
        if (rc == 0) {
            c->in_cb = true;
            rc = cb(ctx, &g);
            c->in_cb = false;
        }
        if (rc != 0)
            break;
    }
    sq_done(s);
    return rc;
}

static int sq_group_members(zt_store *st, const char *group, zt_store_user_cb cb, void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    zt_store_group g;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_group_read(c, group, &g);
    if (rc == 0)
        rc = sq_stmt(c, SQ_GROUP_MEMBERS, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, group);
    return sq_walk_users(c, s, cb, ctx);
}

typedef struct member_args {
    const char *group, *user_id;
} member_args;

static int sq_member_remove_txn(sq_conn *c, void *arg)
{
    member_args *a = arg;
    zt_store_group g;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_group_read(c, a->group, &g);
    if (rc == 0)
        rc = sq_user_exists(c, a->user_id);
    if (rc == 0)
        rc = sq_stmt(c, SQ_MEMBER_REMOVE, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, a->group);
    sq_text(s, 2, a->user_id);
    rc = sq_run(c, s, "removing a group member", &n);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "user %s is not a member of group %s", a->user_id, a->group);
    return rc;
}

static int sq_group_member(zt_store *st, const char *group, const char *user_id, bool add)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    if (rc != 0)
        return rc;
    member_args a = {group, user_id};
    return add ? sq_member_insert(c, group, user_id) : sq_txn(c, sq_member_remove_txn, &a);
}

/* ---- TOTP ---- */

static int sq_totp_set(zt_store *st, const char *user_id, const void *blob, size_t len)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_TOTP_UPSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    sqlite3_bind_blob(s, 2, blob, (int)len, SQLITE_STATIC);
    sqlite3_bind_int64(s, 3, zt_store_now());
    rc = sq_run(c, s, "saving a TOTP credential", NULL);
    if (rc == -ENOENT)
        rc = zt_store_seterr(rc, "user %s not found", user_id);
    return rc;
}

static int sq_totp_get(zt_store *st, const char *user_id, zt_store_totp *out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_TOTP_GET, &s);
    if (rc != 0)
        return rc;
    memset(out, 0, sizeof(*out));
    sq_text(s, 1, user_id);
    rc = sq_step(c, s, "reading a TOTP credential");
    if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "user %s has no TOTP credential", user_id);
    if (rc == 1) {
        size_t n = (size_t)sqlite3_column_bytes(s, 0);
        const void *p = sqlite3_column_blob(s, 0);
        rc = n == 0 || n > sizeof(out->secret_enc) || p == NULL ? sq_corrupt("TOTP secret") : 0;
        if (rc == 0) {
            memcpy(out->secret_enc, p, n);
            out->secret_enc_len = n;
            out->last_used_step = sqlite3_column_int64(s, 1);
            out->created_at = sqlite3_column_int64(s, 2);
        }
    }
    sq_done(s);
    return rc;
}

/* 1 if statement `stmt` finds a row for user_id (and id, when it takes one), 0 if not, or an
 * error. */
static int sq_exists2(sq_conn *c, int stmt, const char *user_id, int64_t id)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, stmt, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    if (sqlite3_bind_parameter_count(s) >= 2)
        sqlite3_bind_int64(s, 2, id);
    rc = sq_step(c, s, "looking up a credential");
    sq_done(s);
    return rc;
}

static int sq_totp_use_step(zt_store *st, const char *user_id, int64_t step)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_TOTP_USE, &s);
    if (rc != 0)
        return rc;
    /* One conditional UPDATE is the atomic compare-and-set that stops a replay. */
    sq_text(s, 1, user_id);
    sqlite3_bind_int64(s, 2, step);
    rc = sq_run(c, s, "recording a TOTP step", &n);
    if (rc != 0 || n == 1)
        return rc;
    rc = sq_exists2(c, SQ_TOTP_EXISTS, user_id, 0);
    if (rc == 1)
        return zt_store_seterr(-EALREADY, "TOTP code for this time step was already used");
    return rc < 0 ? rc : zt_store_seterr(-ENOENT, "user %s has no TOTP credential", user_id);
}

/* ---- recovery codes ---- */

typedef struct recovery_args {
    const char *user_id;
    const char *const *hashes;
    size_t n;
} recovery_args;

static int sq_recovery_set_txn(sq_conn *c, void *arg)
{
    recovery_args *a = arg;
    sqlite3_stmt *s = NULL;
    int rc = sq_user_exists(c, a->user_id);
    if (rc == 0)
        rc = sq_delete_by_user(c, SQ_RECOVERY_DELETE, a->user_id, NULL);
    if (rc == 0)
        rc = sq_stmt(c, SQ_RECOVERY_INSERT, &s);
    for (size_t i = 0; rc == 0 && i < a->n; i++) {
        sq_text(s, 1, a->user_id);
        sq_text(s, 2, a->hashes[i]);
        sqlite3_bind_int64(s, 3, zt_store_now());
        rc = sq_run(c, s, "saving a recovery code", NULL);
    }
    return rc;
}

static int sq_recovery_set(zt_store *st, const char *user_id, const char *const *hashes, size_t n)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    recovery_args a = {user_id, hashes, n};
    return rc != 0 ? rc : sq_txn(c, sq_recovery_set_txn, &a);
}

static int sq_recovery_list(zt_store *st, const char *user_id, zt_store_recovery_cb cb, void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_user_exists(c, user_id);
    if (rc == 0)
        rc = sq_stmt(c, SQ_RECOVERY_LIST, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    zt_store_recovery r;
    while ((rc = sq_step(c, s, "listing recovery codes")) == 1) {
        memset(&r, 0, sizeof(r));
        r.id = sqlite3_column_int64(s, 0);
        r.created_at = sqlite3_column_int64(s, 2);
        r.used_at = sqlite3_column_int64(s, 3);
        rc = sq_col(s, 1, r.code_hash, sizeof(r.code_hash)) ? 0 : sq_corrupt("recovery code");
        if (rc == 0) {
            c->in_cb = true;
            rc = cb(ctx, &r);
            c->in_cb = false;
        }
        if (rc != 0)
            break;
    }
    sq_done(s);
    return rc;
}

static int sq_recovery_use(zt_store *st, const char *user_id, int64_t code_id)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_RECOVERY_USE, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    sqlite3_bind_int64(s, 2, code_id);
    sqlite3_bind_int64(s, 3, zt_store_now());
    rc = sq_run(c, s, "using a recovery code", &n);
    if (rc != 0 || n == 1)
        return rc;
    rc = sq_exists2(c, SQ_RECOVERY_EXISTS, user_id, code_id);
    if (rc == 1)
        return zt_store_seterr(-EALREADY, "recovery code was already used");
    return rc < 0 ? rc : zt_store_seterr(-ENOENT, "no such recovery code");
}

/* ---- sessions ---- */

static int sq_session_create(zt_store *st, const zt_store_session *ss)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_INSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, ss->id_hash);
    sq_text(s, 2, ss->user_id);
    sqlite3_bind_int64(s, 3, ss->created_at);
    sqlite3_bind_int64(s, 4, ss->auth_time);
    sqlite3_bind_int64(s, 5, ss->mfa_time);
    sq_text(s, 6, ss->mfa_method);
    sq_text(s, 7, ss->ip);
    sq_text(s, 8, ss->user_agent);
    sqlite3_bind_int64(s, 9, ss->idle_expires_at);
    sqlite3_bind_int64(s, 10, ss->absolute_expires_at);
    sqlite3_bind_int64(s, 11, ss->user_epoch);
    sq_text(s, 12, ss->device_id);
    sq_text(s, 13, ss->host);
    sq_text(s, 14, ss->parent_hash);
    sqlite3_bind_int(s, 15, ss->mfa_pending ? 1 : 0);
    sq_text(s, 16, ss->amr);
    sq_text(s, 17, ss->passkey_aaguid);
    rc = sq_run(c, s, "creating a session", NULL);
    if (rc == -EEXIST)
        rc = zt_store_seterr(rc, "a session with this id hash already exists");
    else if (rc == -ENOENT)
        rc = zt_store_seterr(rc, "user %s not found", ss->user_id);
    return rc;
}

static int sq_session_get(zt_store *st, const char *id_hash, zt_store_session *out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_GET, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id_hash);
    int64_t now = zt_store_now(); /* the process's clock: test offsets apply */
    sqlite3_bind_int64(s, 2, sq_low_cutoff(now));
    sqlite3_bind_int64(s, 3, now);
    rc = sq_step(c, s, "reading a session");
    if (rc == 1)
        rc = sq_row_session(s, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "session not found");
    sq_done(s);
    return rc;
}

/* An UPDATE or DELETE keyed by session hash that must hit exactly one row. */
static int sq_session_write(sq_conn *c, sqlite3_stmt *s, const char *what)
{
    int64_t n = 0;
    int rc = sq_run(c, s, what, &n);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "session not found");
    return rc;
}

static int sq_session_touch(zt_store *st, const char *id_hash, int64_t idle_expires_at)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_TOUCH, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id_hash);
    sqlite3_bind_int64(s, 2, idle_expires_at);
    return sq_session_write(c, s, "touching a session");
}

static int sq_session_set_mfa(zt_store *st, const char *id_hash, int64_t mfa_time,
                              const char *method)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_SET_MFA, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id_hash);
    sqlite3_bind_int64(s, 2, mfa_time);
    sq_text(s, 3, method);
    return sq_session_write(c, s, "recording MFA on a session");
}

static int sq_session_delete(zt_store *st, const char *id_hash)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_DELETE, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, id_hash);
    return sq_session_write(c, s, "deleting a session");
}

static int sq_session_delete_tree(zt_store *st, const char *id_hash, uint64_t *n_out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_DELETE_TREE, &s);
    if (rc != 0)
        return rc;
    /* One statement is one implicit transaction: the tree goes together or not at all. */
    sq_text(s, 1, id_hash);
    rc = sq_run(c, s, "deleting a session and its children", &n);
    if (rc == 0 && n == 0)
        rc = zt_store_seterr(-ENOENT, "session not found");
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)n;
    return rc;
}

static int sq_session_list_by_user(zt_store *st, const char *user_id, zt_store_session_cb cb,
                                   void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_user_exists(c, user_id);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_LIST_USER, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    int64_t now = zt_store_now();
    sqlite3_bind_int64(s, 2, sq_low_cutoff(now));
    sqlite3_bind_int64(s, 3, now);
    zt_store_session ss;
    while ((rc = sq_step(c, s, "listing sessions")) == 1) {
        rc = sq_row_session(s, &ss);
        if (rc == 0) {
            c->in_cb = true;
            rc = cb(ctx, &ss);
            c->in_cb = false;
        }
        if (rc != 0)
            break;
    }
    sq_done(s);
    return rc;
}

typedef struct del_user_args {
    const char *user_id;
    int64_t n;
} del_user_args;

static int sq_session_delete_user_txn(sq_conn *c, void *arg)
{
    del_user_args *a = arg;
    int rc = sq_user_exists(c, a->user_id);
    return rc != 0 ? rc : sq_delete_by_user(c, SQ_SESSION_DELETE_USER, a->user_id, &a->n);
}

static int sq_session_delete_by_user(zt_store *st, const char *user_id, uint64_t *n_out)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    del_user_args a = {user_id, 0};
    if (rc == 0)
        rc = sq_txn(c, sq_session_delete_user_txn, &a);
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)a.n;
    return rc;
}

static int sq_session_delete_expired(zt_store *st, int64_t now, uint64_t *n_out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int64_t n = 0;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_DELETE_EXPIRED, &s);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, now);
    rc = sq_run(c, s, "deleting expired sessions", &n);
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)n;
    return rc;
}

static int sq_session_count(zt_store *st, int64_t now, uint64_t *n)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SESSION_COUNT, &s);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, now);
    rc = sq_step(c, s, "counting sessions");
    if (rc == 1)
        *n = (uint64_t)sqlite3_column_int64(s, 0);
    sq_done(s);
    return rc == 1 ? 0 : rc < 0 ? rc : zt_store_seterr(-EIO, "counting sessions: no result");
}

/* ---- risk state ---- */

static int sq_row_detection(sqlite3_stmt *s, zt_store_detection *d)
{
    memset(d, 0, sizeof(*d));
    char state[32];
    d->id = sqlite3_column_int64(s, 0);
    bool ok = sq_col(s, 1, d->user_id, sizeof(d->user_id)) &&
              sq_col(s, 2, d->email, sizeof(d->email)) && sq_col(s, 3, d->type, sizeof(d->type)) &&
              sq_col(s, 6, state, sizeof(state)) && sq_col(s, 7, d->detail, sizeof(d->detail)) &&
              sq_col(s, 8, d->evidence, sizeof(d->evidence)) &&
              sq_col(s, 9, d->ip, sizeof(d->ip)) &&
              sq_col(s, 10, d->session_hash, sizeof(d->session_hash)) &&
              zt_store_risk_state_parse(state, &d->state);
    d->user_activity = sqlite3_column_int64(s, 4) != 0;
    d->level = (int)sqlite3_column_int64(s, 5);
    d->created_at = sqlite3_column_int64(s, 11);
    d->updated_at = sqlite3_column_int64(s, 12);
    return ok ? 0 : sq_corrupt("risk detection");
}

static int sq_detection_insert(sq_conn *c, zt_store_detection *d)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_DET_INSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, d->user_id);
    sq_text(s, 2, d->type);
    sqlite3_bind_int(s, 3, d->user_activity ? 1 : 0);
    sqlite3_bind_int(s, 4, d->level);
    sq_text(s, 5, zt_store_risk_state_name(d->state));
    sq_text(s, 6, d->detail);
    sq_text(s, 7, d->evidence[0] != '\0' ? d->evidence : "{}");
    sq_text(s, 8, d->ip);
    sq_text(s, 9, d->session_hash);
    sqlite3_bind_int64(s, 10, d->created_at);
    rc = sq_run(c, s, "adding a risk detection", NULL);
    if (rc == -ENOENT)
        return zt_store_seterr(rc, "user %s not found", d->user_id);
    if (rc != 0)
        return rc;
    d->id = sqlite3_last_insert_rowid(c->db);
    d->updated_at = d->created_at;
    if ((rc = sq_stmt(c, SQ_DET_CAP, &s)) != 0)
        return rc;
    sq_text(s, 1, d->user_id);
    sqlite3_bind_int(s, 2, ZT_STORE_RISK_DETECTIONS_MAX);
    return sq_run(c, s, "trimming a user's risk detections", NULL);
}

static int sq_detection_add_txn(sq_conn *c, void *arg)
{
    return sq_detection_insert(c, arg);
}

static int sq_detection_add(zt_store *st, zt_store_detection *d)
{
    sq_conn *c = NULL;
    int rc = sq_enter(st, &c);
    return rc != 0 ? rc : sq_txn(c, sq_detection_add_txn, d);
}

static int sq_detection_get(zt_store *st, int64_t id, zt_store_detection *out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_DET_GET, &s);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, id);
    rc = sq_step(c, s, "reading a risk detection");
    if (rc == 1)
        rc = sq_row_detection(s, out);
    else if (rc == 0)
        rc = zt_store_seterr(-ENOENT, "risk detection %lld not found", (long long)id);
    sq_done(s);
    return rc;
}

static int sq_detection_list(zt_store *st, const zt_store_risk_filter *f, zt_store_detection_cb cb,
                             void *ctx)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_DET_LIST, &s);
    if (rc != 0)
        return rc;
    if (f->user_id != NULL)
        sq_text(s, 1, f->user_id);
    if (f->state >= 0)
        sq_text(s, 2, zt_store_risk_state_name((zt_store_risk_state)f->state));
    sqlite3_bind_int64(s, 3, f->limit > 0 && f->limit <= INT64_MAX ? (int64_t)f->limit : -1);
    zt_store_detection d;
    while ((rc = sq_step(c, s, "listing risk detections")) == 1) {
        rc = sq_row_detection(s, &d);
        if (rc == 0) {
            c->in_cb = true;
            rc = cb(ctx, &d);
            c->in_cb = false;
        }
        if (rc != 0)
            break;
    }
    sq_done(s);
    return rc;
}

typedef struct det_update_args {
    const zt_store_risk_update *u;
    int64_t n;
} det_update_args;

static int sq_detection_update_txn(sq_conn *c, void *arg)
{
    det_update_args *a = arg;
    const zt_store_risk_update *u = a->u;
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_DET_UPDATE, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, zt_store_risk_state_name(u->to));
    sq_text(s, 2, u->detail);
    sqlite3_bind_int64(s, 3, u->now);
    sqlite3_bind_int64(s, 4, u->id);
    if (u->user_id != NULL)
        sq_text(s, 5, u->user_id);
    if (u->session_hash != NULL)
        sq_text(s, 6, u->session_hash);
    sqlite3_bind_int(s, 7, u->sign_in_only ? 1 : 0);
    sqlite3_bind_int(s, 8, (int)u->from_mask);
    rc = sq_run(c, s, "changing risk state", &a->n);
    if (rc != 0 || a->n > 0 || u->id == 0)
        return rc;
    /* Nothing changed for one named detection: say whether it exists at all. */
    if ((rc = sq_stmt(c, SQ_DET_EXISTS, &s)) != 0)
        return rc;
    sqlite3_bind_int64(s, 1, u->id);
    rc = sq_step(c, s, "reading a risk detection");
    sq_done(s);
    if (rc == 1)
        return zt_store_seterr(-EALREADY, "risk detection %lld is not in a state that allows this",
                               (long long)u->id);
    return rc < 0 ? rc
                  : zt_store_seterr(-ENOENT, "risk detection %lld not found", (long long)u->id);
}

static int sq_detection_update(zt_store *st, const zt_store_risk_update *u, uint64_t *n_out)
{
    sq_conn *c = NULL;
    det_update_args a = {u, 0};
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_txn(c, sq_detection_update_txn, &a);
    if (rc == 0 && n_out != NULL)
        *n_out = (uint64_t)a.n;
    return rc;
}

static int sq_user_risk(zt_store *st, const char *user_id, int64_t now, int *level_out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_USER_RISK, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    sqlite3_bind_int64(s, 2, sq_low_cutoff(now));
    rc = sq_step(c, s, "reading a user's risk");
    if (rc == 1)
        *level_out = (int)sqlite3_column_int64(s, 0);
    sq_done(s);
    return rc == 1 ? 0 : rc < 0 ? rc : zt_store_seterr(-EIO, "reading a user's risk: no result");
}

static int sq_prop_seen(sq_conn *c, const char *user_id, zt_store_prop p, const char *value,
                        bool *seen)
{
    sqlite3_stmt *s = NULL;
    *seen = false;
    if (value[0] == '\0')
        return 0;
    int rc = sq_stmt(c, SQ_PROP_SEEN, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, user_id);
    sq_text(s, 2, zt_store_prop_name(p));
    sq_text(s, 3, value);
    rc = sq_step(c, s, "reading sign-in history");
    sq_done(s);
    *seen = rc == 1;
    return rc < 0 ? rc : 0;
}

static int sq_signin_profile(zt_store *st, const zt_store_signin *q, zt_store_signin_profile *out)
{
    sq_conn *c = NULL;
    sqlite3_stmt *s = NULL;
    memset(out, 0, sizeof(*out));
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_stmt(c, SQ_SIGNIN_GET, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, q->user_id);
    rc = sq_step(c, s, "reading sign-in history");
    if (rc == 1) {
        out->count = (uint64_t)sqlite3_column_int64(s, 0);
        out->first_at = sqlite3_column_int64(s, 1);
        out->last_at = sqlite3_column_int64(s, 2);
        out->has_location = sqlite3_column_int64(s, 4) != 0;
        out->lat = sqlite3_column_double(s, 5);
        out->lon = sqlite3_column_double(s, 6);
        out->accuracy_km = sqlite3_column_double(s, 7);
        out->location_at = sqlite3_column_int64(s, 8);
        rc = sq_col(s, 3, out->last_ip, sizeof(out->last_ip)) &&
                     sq_col(s, 9, out->location_country, sizeof(out->location_country))
                 ? 0
                 : sq_corrupt("sign-in history");
    }
    sq_done(s);
    for (int i = 0; rc == 0 && i < ZT_STORE_N_PROPS; i++)
        rc = sq_prop_seen(c, q->user_id, (zt_store_prop)i, q->props[i], &out->seen[i]);
    return rc;
}

static int sq_prop_learn(sq_conn *c, const zt_store_signin *si, zt_store_prop p)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_PROP_UPSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, si->user_id);
    sq_text(s, 2, zt_store_prop_name(p));
    sq_text(s, 3, si->props[p]);
    sqlite3_bind_int64(s, 4, si->at);
    if ((rc = sq_run(c, s, "learning a sign-in property", NULL)) != 0)
        return rc;
    if ((rc = sq_stmt(c, SQ_PROP_CAP, &s)) != 0)
        return rc;
    sq_text(s, 1, si->user_id);
    sq_text(s, 2, zt_store_prop_name(p));
    sqlite3_bind_int(s, 3, ZT_STORE_RISK_PROPS_PER_KIND);
    return sq_run(c, s, "trimming sign-in history", NULL);
}

static int sq_signin_learn(sq_conn *c, const zt_store_signin *si)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_SIGNIN_UPSERT, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, si->user_id);
    sqlite3_bind_int64(s, 2, si->at);
    sq_text(s, 3, si->ip);
    sqlite3_bind_int(s, 4, si->has_location ? 1 : 0);
    sqlite3_bind_double(s, 5, si->lat);
    sqlite3_bind_double(s, 6, si->lon);
    sqlite3_bind_double(s, 7, si->accuracy_km);
    sq_text(s, 8, si->props[ZT_STORE_PROP_COUNTRY]);
    rc = sq_run(c, s, "learning a sign-in", NULL);
    if (rc == -ENOENT)
        return zt_store_seterr(rc, "user %s not found", si->user_id);
    for (int i = 0; rc == 0 && i < ZT_STORE_N_PROPS; i++)
        if (si->props[i][0] != '\0')
            rc = sq_prop_learn(c, si, (zt_store_prop)i);
    return rc;
}

static int sq_pending_put(sq_conn *c, const zt_store_signin *si, const char *hash)
{
    sqlite3_stmt *s = NULL;
    int rc = sq_stmt(c, SQ_PENDING_EXPIRE, &s);
    if (rc != 0)
        return rc;
    sqlite3_bind_int64(s, 1, si->at - ZT_STORE_RISK_PENDING_TTL_S);
    if ((rc = sq_run(c, s, "expiring parked sign-ins", NULL)) != 0)
        return rc;
    if ((rc = sq_stmt(c, SQ_PENDING_PUT, &s)) != 0)
        return rc;
    sq_text(s, 1, hash);
    sq_text(s, 2, si->user_id);
    sqlite3_bind_int64(s, 3, si->at);
    sq_text(s, 4, si->ip);
    for (int i = 0; i < ZT_STORE_N_PROPS; i++)
        sq_text(s, 5 + i, si->props[i]);
    sqlite3_bind_int(s, 10, si->has_location ? 1 : 0);
    sqlite3_bind_double(s, 11, si->lat);
    sqlite3_bind_double(s, 12, si->lon);
    sqlite3_bind_double(s, 13, si->accuracy_km);
    rc = sq_run(c, s, "parking a sign-in", NULL);
    return rc == -ENOENT ? zt_store_seterr(rc, "user %s not found", si->user_id) : rc;
}

typedef struct signin_args {
    const zt_store_signin *si;
    bool learn;
    const char *pending_hash;
    zt_store_detection *dets;
    size_t n_dets;
} signin_args;

static int sq_signin_record_txn(sq_conn *c, void *arg)
{
    signin_args *a = arg;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < a->n_dets; i++)
        rc = sq_detection_insert(c, &a->dets[i]);
    if (rc == 0 && a->learn)
        rc = sq_signin_learn(c, a->si);
    else if (rc == 0 && a->pending_hash != NULL)
        rc = sq_pending_put(c, a->si, a->pending_hash);
    return rc;
}

static int sq_signin_record(zt_store *st, const zt_store_signin *si, bool learn,
                            const char *pending_hash, zt_store_detection *dets, size_t n_dets)
{
    sq_conn *c = NULL;
    signin_args a = {si, learn, pending_hash, dets, n_dets};
    int rc = sq_enter(st, &c);
    return rc != 0 ? rc : sq_txn(c, sq_signin_record_txn, &a);
}

typedef struct pending_args {
    const char *hash;
    int64_t now;
    bool learned;
} pending_args;

static int sq_pending_row(sqlite3_stmt *s, zt_store_signin *si)
{
    memset(si, 0, sizeof(*si));
    bool ok =
        sq_col(s, 0, si->user_id, sizeof(si->user_id)) && sq_col(s, 2, si->ip, sizeof(si->ip));
    for (int i = 0; ok && i < ZT_STORE_N_PROPS; i++)
        ok = sq_col(s, 3 + i, si->props[i], sizeof(si->props[i]));
    si->at = sqlite3_column_int64(s, 1);
    si->has_location = sqlite3_column_int64(s, 8) != 0;
    si->lat = sqlite3_column_double(s, 9);
    si->lon = sqlite3_column_double(s, 10);
    si->accuracy_km = sqlite3_column_double(s, 11);
    return ok ? 0 : sq_corrupt("parked sign-in");
}

static int sq_learn_pending_txn(sq_conn *c, void *arg)
{
    pending_args *a = arg;
    sqlite3_stmt *s = NULL;
    zt_store_signin si;
    int rc = sq_stmt(c, SQ_PENDING_TAKE, &s);
    if (rc != 0)
        return rc;
    sq_text(s, 1, a->hash);
    rc = sq_step(c, s, "taking a parked sign-in");
    bool found = rc == 1;
    if (found)
        rc = sq_pending_row(s, &si);
    while (rc == 1) /* drain the DELETE ... RETURNING */
        rc = sq_step(c, s, "taking a parked sign-in");
    sq_done(s);
    if (rc != 0 || !found || si.at <= a->now - ZT_STORE_RISK_PENDING_TTL_S)
        return rc;
    a->learned = true;
    return sq_signin_learn(c, &si);
}

static int sq_signin_learn_pending(zt_store *st, const char *session_hash, int64_t now,
                                   bool *learned)
{
    sq_conn *c = NULL;
    pending_args a = {session_hash, now, false};
    int rc = sq_enter(st, &c);
    if (rc == 0)
        rc = sq_txn(c, sq_learn_pending_txn, &a);
    if (learned != NULL)
        *learned = rc == 0 && a.learned;
    return rc;
}

/* ---- device trust (store_device.h) ---- */

#include "store/sqlite_device.inc"

/* ---- incidents (store_incident.h) ---- */

#include "store/sqlite_incident.inc"

/* ---- passkeys (store_webauthn.h) ---- */

#include "store/sqlite_webauthn.inc"

/* ---- temporary access passes (store_tap.h) ---- */

#include "store/sqlite_tap.inc"
#include "store/sqlite_source.inc"
#include "store/sqlite_roster.inc"
#include "store/sqlite_admin.inc"

/* ---- the OpenID Connect provider's records (store_oidc.h) ---- */

#include "store/sqlite_oidc.inc"

/* ---- SAML identity provider sessions (store_saml.h) ---- */

#include "store/sqlite_saml.inc"

/* ---- the Zero Trust assessment (store_assess.h) ---- */

#include "store/sqlite_assess.inc"

/* ---- pending agent sign-ins (store_agent.h) ---- */

#include "store/sqlite_agent.inc"

/* ---- open, migrate, close ---- */

static int sq_migrate_txn(sq_conn *c, void *arg)
{
    int64_t v = 0;
    /* Re-read inside the write lock: another process may have migrated meanwhile. */
    int rc = sq_query_int(c, "PRAGMA user_version", &v);
    for (size_t i = 0; rc == 0 && i < SQ_N_MIGRATIONS; i++) {
        if (sq_migrations[i].version <= v)
            continue;
        rc = sq_exec(c, sq_migrations[i].sql, "migrating the schema");
        if (rc == 0) {
            char sql[64];
            snprintf(sql, sizeof(sql), "PRAGMA user_version = %d", sq_migrations[i].version);
            rc = sq_exec(c, sql, "recording the schema version");
        }
        if (rc != 0) {
            char why[256]; /* copied: the message buffer is also the destination */
            snprintf(why, sizeof(why), "%s", zt_store_errmsg());
            zt_store_seterr(rc, "migrating the schema to version %d: %s", sq_migrations[i].version,
                            why);
        }
    }
    return rc;
}

/* Refuse a file that is not ours or that a newer ztgate wrote; then bring it up to date. */
static int sq_check_and_migrate(sq_conn *c, const char *path)
{
    int64_t app = 0, v = 0, tables = 0;
    int rc = sq_query_int(c, "PRAGMA application_id", &app);
    if (rc == 0)
        rc = sq_query_int(c, "PRAGMA user_version", &v);
    if (rc == 0)
        rc = sq_query_int(c, "SELECT count(*) FROM sqlite_schema", &tables);
    if (rc != 0)
        return rc;
    if (app != SQ_APP_ID && (app != 0 || v != 0 || tables != 0))
        return zt_store_seterr(-EIO, "%s is not a ztgate database; refusing to use it", path);
    if (v > ZT_STORE_SCHEMA_VERSION)
        return zt_store_seterr(-EIO,
                               "%s has schema version %lld but this ztgate knows only up to %d; "
                               "it was written by a newer ztgate: upgrade ztgate or restore a "
                               "backup (refusing to open it)",
                               path, (long long)v, ZT_STORE_SCHEMA_VERSION);
    return v == ZT_STORE_SCHEMA_VERSION ? 0 : sq_txn(c, sq_migrate_txn, NULL);
}

static int sq_idp_create_txn(sq_conn *c, void *arg)
{
    (void)arg;
    return sq_exec(c, sq_idp_schema_sql, "creating the idp database's tables");
}

/* The idp file has its own id and version (sq_idp_schema_sql): refuse another file, then
 * create what is missing, also in a file lost or deleted since (its records are short-lived). */
static int sq_idp_check_and_create(sq_conn *c, const char *path)
{
    int64_t app = 0, v = 0, tables = 0, old = 0;
    int rc = sq_query_int(c, "PRAGMA idp.application_id", &app);
    rc = rc ? rc : sq_query_int(c, "PRAGMA idp.user_version", &v);
    rc = rc ? rc : sq_query_int(c, "SELECT count(*) FROM idp.sqlite_schema", &tables);
    rc = rc ? rc
            : sq_query_int(c, "SELECT count(*) FROM main.sqlite_schema WHERE name LIKE 'oidc%'",
                           &old);
    if (rc != 0)
        return rc;
    if (app != SQ_IDP_APP_ID && (app != 0 || v != 0 || tables != 0))
        return zt_store_seterr(-EIO, "%s is not a ztgate idp database; refusing to use it", path);
    if (v > SQ_IDP_VERSION)
        return zt_store_seterr(-EIO,
                               "%s has version %lld but this ztgate knows only up to %d; it was "
                               "written by a newer ztgate: upgrade ztgate (refusing to open it)",
                               path, (long long)v, SQ_IDP_VERSION);
    return v == SQ_IDP_VERSION && old == 0 ? 0 : sq_txn(c, sq_idp_create_txn, NULL);
}

/* mkdir -p with 0700 for every directory we create; existing ones are left as they are. */
static int sq_mkdir_p(const char *dir)
{
    char failed[PATH_MAX];
    if (dir[0] == '\0' || strlen(dir) >= sizeof(failed))
        return zt_store_seterr(-EINVAL, "state directory path is empty or too long");
    int rc = zt_mkdir_p(dir, 0700, failed, sizeof(failed));
    if (rc < 0)
        return zt_store_seterr(rc, "creating %s: %s", failed, strerror(-rc));
    struct stat sb;
    if (stat(dir, &sb) < 0 || !S_ISDIR(sb.st_mode))
        return zt_store_seterr(-ENOTDIR, "%s is not a directory", dir);
    return 0;
}

/* fsync the directory so a freshly created database file survives a crash. */
static void sq_sync_dir(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

/* Create the file ourselves with 0600 (SQLite would use 0644 less umask); SQLite gives the -wal
 * and -shm files the database file's mode. An existing looser file is tightened. */
static int sq_prepare_file(const char *dir, const char *path)
{
    bool created = true;
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0 && errno == EEXIST) {
        created = false;
        fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
    }
    if (fd < 0)
        return zt_store_seterr(-errno, "opening %s: %s", path, strerror(errno));
    struct stat sb;
    int rc = 0;
    if (fstat(fd, &sb) < 0 || !S_ISREG(sb.st_mode))
        rc = zt_store_seterr(-EINVAL, "%s is not a regular file", path);
    else if ((sb.st_mode & 077) != 0 && fchmod(fd, 0600) < 0)
        rc = zt_store_seterr(-errno, "making %s private: %s", path, strerror(errno));
    close(fd);
    if (rc == 0 && created)
        sq_sync_dir(dir);
    return rc;
}

static void sq_close(zt_store *st)
{
    sq_store *s = (sq_store *)st;
    pthread_mutex_lock(&s->mu);
    sq_conn *c = s->conns;
    s->conns = NULL;
    pthread_mutex_unlock(&s->mu);
    while (c != NULL) {
        sq_conn *next = c->next;
        sq_conn_free(c);
        c = next;
    }
    pthread_key_delete(s->key);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->commit_cv);
    pthread_mutex_destroy(&s->commit_mu);
    free(s->idp_path);
    free(s->path);
    free(s);
}

static const zt_store_ops sq_ops = {
    .name = "sqlite",
    .close = sq_close,
    .user_add = sq_user_add,
    .user_get = sq_user_get,
    .user_list = sq_user_list,
    .user_groups = sq_user_groups,
    .user_delete = sq_user_delete,
    .user_revoke = sq_user_revoke,
    .user_rehash = sq_user_rehash,
    .group_add = sq_group_add,
    .group_get = sq_group_get,
    .group_delete = sq_group_delete,
    .group_list = sq_group_list,
    .group_members = sq_group_members,
    .group_member = sq_group_member,
    .totp_set = sq_totp_set,
    .totp_get = sq_totp_get,
    .totp_use_step = sq_totp_use_step,
    .recovery_set = sq_recovery_set,
    .recovery_list = sq_recovery_list,
    .recovery_use = sq_recovery_use,
    .session_create = sq_session_create,
    .session_get = sq_session_get,
    .session_touch = sq_session_touch,
    .session_set_mfa = sq_session_set_mfa,
    .session_delete = sq_session_delete,
    .session_delete_tree = sq_session_delete_tree,
    .session_list_by_user = sq_session_list_by_user,
    .session_delete_by_user = sq_session_delete_by_user,
    .session_delete_expired = sq_session_delete_expired,
    .session_count = sq_session_count,
    .detection_add = sq_detection_add,
    .detection_get = sq_detection_get,
    .detection_list = sq_detection_list,
    .detection_update = sq_detection_update,
    .user_risk = sq_user_risk,
    .signin_profile = sq_signin_profile,
    .signin_record = sq_signin_record,
    .signin_learn_pending = sq_signin_learn_pending,
    .device = &sqd_ops,
    .incident = &sqi_ops,
    .webauthn = &sqw_ops,
    .tap = &sqt_ops,
    .admin = &sqa_ops,
    .oidc = &sqo_ops,

    .saml = &sqs_ops,
    .source = &sqsrc_ops,
    .roster = &sqr_ops,
    .assess = &sqas_ops,
    .agent = &sqag_ops,
};

static sq_store *sq_store_new(const zt_store_cfg *cfg)
{
    sq_store *s = calloc(1, sizeof(*s));
    size_t n = strlen(cfg->state_dir) + sizeof("/" SQ_IDP_FILE);
    if (s == NULL || (s->path = malloc(n)) == NULL || (s->idp_path = malloc(n)) == NULL) {
        if (s != NULL)
            free(s->path);
        free(s);
        return NULL;
    }
    snprintf(s->path, n, "%s/%s", cfg->state_dir, SQ_DB_FILE);
    snprintf(s->idp_path, n, "%s/%s", cfg->state_dir, SQ_IDP_FILE);
    s->base.ops = &sq_ops;
    s->busy_ms = cfg->busy_timeout_ms > 0 && cfg->busy_timeout_ms <= INT_MAX
                     ? (int)cfg->busy_timeout_ms
                     : SQ_DEFAULT_BUSY_MS;
    if (pthread_key_create(&s->key, NULL) != 0) {
        free(s->idp_path);
        free(s->path);
        free(s);
        return NULL;
    }
    pthread_mutex_init(&s->mu, NULL);
    pthread_mutex_init(&s->commit_mu, NULL);
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&s->commit_cv, &ca);
    pthread_condattr_destroy(&ca);
    return s;
}

zt_store *zt_store_sqlite_open(const zt_store_cfg *cfg, char *err, size_t errlen)
{
    if (cfg->state_dir == NULL || cfg->state_dir[0] == '\0') {
        snprintf(err, errlen, "store: state_dir is not set");
        return NULL;
    }
    if (!sqlite3_threadsafe()) {
        snprintf(err, errlen, "store: this SQLite library was built without thread support");
        return NULL;
    }
    sq_store *s = sq_store_new(cfg);
    if (s == NULL) {
        snprintf(err, errlen, "store: out of memory");
        return NULL;
    }
    sq_conn *c = NULL;
    int rc = sq_mkdir_p(cfg->state_dir);
    if (rc == 0)
        rc = sq_prepare_file(cfg->state_dir, s->path);
    if (rc == 0)
        rc = sq_prepare_file(cfg->state_dir, s->idp_path);
    if (rc == 0)
        rc = sq_conn_open(s, &c);
    if (rc == 0) {
        sq_conn_register(s, c);
        rc = sq_check_and_migrate(c, s->path);
    }
    if (rc == 0)
        rc = sq_idp_check_and_create(c, s->idp_path);
    if (rc != 0) {
        snprintf(err, errlen, "store: %s", zt_store_errmsg());
        sq_close(&s->base);
        return NULL;
    }
    return &s->base;
}
