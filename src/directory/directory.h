/* LDAP / Active Directory as an identity source (docs/LDAP.md), over OpenLDAP's libldap.
 *
 * A directory user signs in with the password the directory holds: ztgate finds the entry with
 * its service account (search), then binds as that entry with the password typed (search then
 * bind). Every connection is LDAPv3 over TLS with the server's certificate verified: ldaps://
 * from the first byte, ldap:// only after StartTLS succeeded; a simple bind never travels in
 * clear text. An empty password is refused before any bind (RFC 4513 §5.1.2: it would be an
 * unauthenticated bind that servers report as a success). Referrals are not chased. Every value
 * put into a filter is escaped (RFC 4515).
 *
 * libldap blocks: the calls marked "blocking" run on the libuv pool (zt_directory_auth_async)
 * or on the sync thread (zt_directory_sync_start), never on an event loop.
 *
 * Users the directory brings in have source "ldap:NAME" and the entry's entryUUID (OpenLDAP) or
 * objectGUID (AD, hex) as external id. Groups: every group the user is in, nested groups
 * followed (AD: the in-chain matching rule 1.2.840.113556.1.4.1941; OpenLDAP: `member` walked
 * transitively here). Disabled: AD userAccountControl bit 2 (ACCOUNTDISABLE), or the configured
 * attribute holding the configured value. */
#ifndef ZT_DIRECTORY_DIRECTORY_H
#define ZT_DIRECTORY_DIRECTORY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/config.h"
#include "core/config_schema.h"
#include "session/account.h"

struct uv_loop_s;

extern const zt_config_module zt_ldap_config_module;

#define ZT_DIR_DN_MAX 1024
#define ZT_DIR_GROUPS_MAX 512 /* groups of one user kept; more are a config mistake */
#define ZT_DIR_NEST_MAX 16    /* nesting levels followed (OpenLDAP walk) */

/* RFC 4515 §3: the value of an assertion in a filter, escaped: '*' '(' ')' '\' NUL as \2a \28
 * \29 \5c \00; every other byte as is (UTF-8 stays UTF-8). out gets at most 3 * len + 1 bytes.
 * 0, or -ENOSPC when cap is too small (out is then ""). */
int zt_ldap_filter_escape(const char *in, size_t len, char *out, size_t cap);

/* AD userAccountControl (decimal text as the directory sends it) has ACCOUNTDISABLE (0x2) set.
 * Anything that is not a whole decimal number in 32 bits: false (the attribute says nothing). */
bool zt_dir_uac_disabled(const char *text);

/* One group as ztgate keeps it: name is the [A-Za-z0-9._-] identifier policies use (the cn
 * when it is one, else "ldap-" and a digest of the DN), display the cn or description as
 * written (e.g. "3年1組"), dn the group's DN (external id). */
typedef struct zt_dir_group {
    char name[ZT_STORE_GROUP_MAX + 1];
    char display[256];
    char dn[ZT_DIR_DN_MAX];
} zt_dir_group;
/* Fill g from a group entry's DN, cn and description (cn, desc nullable; any bytes). */
void zt_dir_group_fill(zt_dir_group *g, const char *dn, const char *cn, const char *desc);

/* A directory user as read: heap strings owned by the struct (zt_dir_user_dispose). */
typedef struct zt_dir_user {
    char *dn, *external_id, *email, *name;
    bool disabled;
    zt_dir_group *groups;
    size_t n_groups;
} zt_dir_user;
void zt_dir_user_dispose(zt_dir_user *u);

/* One configured directory with its settings copied (services outlive config generations) and
 * its service account's password read. */
typedef struct zt_directory zt_directory;
/* All of them, in config order. */
typedef struct zt_directories zt_directories;

/* Opens every `ldap_directories:` entry (reads the password files; connects to nothing). NULL
 * with a message in err when a password file cannot be read. n == 0: an empty set. */
zt_directories *zt_directories_open(const zt_ldap_cfg *cfgs, size_t n, char *err, size_t errlen);
void zt_directories_close(zt_directories *ds);
/* Whether ds was opened from settings equal to cfgs (a reload compares; a change needs a
 * restart). */
bool zt_directories_match(const zt_directories *ds, const zt_ldap_cfg *cfgs, size_t n);
size_t zt_directories_count(const zt_directories *ds);
/* The directory named NAME (source "ldap:NAME" → NAME), or NULL. */
zt_directory *zt_directories_find(zt_directories *ds, const char *name);
zt_directory *zt_directories_find_at(zt_directories *ds, size_t i); /* NULL past the end */
/* The directory an unknown e-mail signs in at: the first whose domains list the e-mail's
 * domain, or the first without a domains list; NULL when none (a local sign-in then). */
zt_directory *zt_directories_for_email(zt_directories *ds, const char *email);
const char *zt_directory_name(const zt_directory *d);
const char *zt_directory_source(const zt_directory *d); /* "ldap:NAME" */
bool zt_directory_jit(const zt_directory *d);

/* Outcomes of a sign-in bind. */
typedef enum zt_dir_auth {
    ZT_DIR_AUTH_OK = 0,      /* the password is the entry's; user filled */
    ZT_DIR_AUTH_WRONG,       /* no such entry, more than one, wrong or empty password */
    ZT_DIR_AUTH_DISABLED,    /* right password, disabled in the directory; user filled */
    ZT_DIR_AUTH_UNREACHABLE, /* connect, TLS (certificate) or service bind failed, timeout */
} zt_dir_auth;

/* Blocking: search then bind for login (matched against login_attribute), then the user's
 * attributes and groups. The password is never logged. */
zt_dir_auth zt_directory_authenticate(zt_directory *d, const char *login, const char *pw,
                                      size_t pw_len, zt_dir_user *user);

/* The same on the libuv pool of loop; done runs on the loop with the outcome and the user
 * (borrowed for the call). The password is copied and wiped. 0, -ENOMEM, or -EBUSY when
 * ZT_DIR_IN_FLIGHT_MAX binds of this directory already wait (a slow directory must not pile up
 * requests without bound: the caller fails closed). */
#define ZT_DIR_IN_FLIGHT_MAX 256
typedef void (*zt_dir_auth_cb)(void *ctx, zt_dir_auth a, const zt_dir_user *user);
int zt_directory_authenticate_async(zt_directory *d, struct uv_loop_s *loop, const char *login,
                                    const char *pw, size_t pw_len, zt_dir_auth_cb done, void *ctx);

/* Blocking: every user under base_dn matching user_filter, with groups (paged reads). 0, or a
 * negative errno (-EHOSTUNREACH: the directory cannot be reached); *users malloc'd. */
int zt_directory_fetch_all(zt_directory *d, zt_dir_user **users, size_t *n);
void zt_dir_users_free(zt_dir_user *users, size_t n);

/* ---- applying what the directory says to ztgate's accounts (all through session/account.h) */

/* What one sync did. */
typedef struct zt_dir_sync_stats {
    unsigned created, updated, disabled, enabled, groups_changed, unchanged, failed;
} zt_dir_sync_stats;

/* The directory's view of one user made true in ztgate: created (when create), profile and
 * external id updated, memberships made by this source replaced by the directory's groups
 * (groups created as needed), disabled or enabled as the directory says (disabling ends the
 * user's sessions). out (nullable) gets the user afterwards. -ENOENT: not in ztgate and not
 * created; -EEXIST: the e-mail belongs to a user of another source (never taken over). */
int zt_directory_apply_user(const zt_account_env *env, const zt_directory *d, const zt_dir_user *u,
                            bool create, zt_user *out, zt_dir_sync_stats *st);

/* One full sync: fetch, apply every user (created only when jit), and disable users of this
 * source the directory no longer has. Blocking. 0 or a negative errno (nothing changed when the
 * directory could not be read). */
int zt_directory_sync(const zt_account_env *env, zt_directory *d, zt_dir_sync_stats *st);

/* The scheduled sync: one thread that syncs every directory with a sync_interval, each on its
 * own schedule, until stopped. env's strings and sink must outlive it. mine (nullable, called
 * on the sync thread) says whether this gateway runs the sync now: gateways sharing a database
 * sync on one node at a time (a lease, docs/CLUSTER.md); a due sync that is not ours is looked
 * at again within ZT_DIR_SYNC_RECHECK_MS. */
#define ZT_DIR_SYNC_RECHECK_MS 10000
typedef struct zt_dir_syncer zt_dir_syncer;
typedef bool (*zt_dir_sync_mine_fn)(void *ctx);
zt_dir_syncer *zt_directory_sync_start(zt_directories *ds, const zt_account_env *env,
                                       zt_dir_sync_mine_fn mine, void *mine_ctx);
void zt_directory_sync_stop(zt_dir_syncer *s);

#endif
