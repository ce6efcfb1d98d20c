/* Roster import and export: a CSV of users (the April churn of a school, a hospital's staff
 * list) read into entries, compared with the store into a plan of changes (create, update,
 * group moves, disable), and that plan printed and applied in one store transaction
 * (store/store_roster.h), with one audit record per change after the commit, in the account
 * service's record shape. The pieces are apart so each is tested alone: zt_roster_read and
 * zt_roster_plan_make are pure; zt_roster_load/apply talk to the store.
 *
 * Columns (header row required; names case-insensitive, English or Japanese, surrounding
 * spaces ignored; unknown names refused so a misspelt column is not silently dropped):
 *   email    (メールアドレス, メール, Eメール, e-mail, mail)  required, one row per user
 *   name     (氏名, 名前, 表示名, display name)
 *   family, given (姓, 名; last name, first name): instead of name, joined "FAMILY GIVEN"
 *   groups   (グループ, 所属グループ, group)   group names separated by ';', '|', ',' or spaces
 *   expires  (有効期限, 期限, expiry, expires_at)  YYYY-MM-DD or YYYY/MM/DD (valid through that
 *            day, UTC), or an RFC 3339 time; empty = never
 *   sponsor  (責任者, スポンサー)                    an email
 *   id       (外部ID, external_id, sourcedId)      the source system's stable id
 * A column that is present sets its field for every row (an empty cell clears it); an absent
 * column leaves the field as it is. Groups: the file's groups are the user's memberships made
 * by the import source; memberships an admin made by hand stay, and a group the user already
 * holds by hand is not added again. */
#ifndef ZT_ROSTER_ROSTER_H
#define ZT_ROSTER_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/buf.h"
#include "roster/csv.h"
#include "session/account.h"
#include "store/store.h"

#define ZT_ROSTER_SOURCE_DEFAULT "import"
#define ZT_ROSTER_SOURCE_MAX 64
#define ZT_ROSTER_EXTERNAL_ID_MAX 255
#define ZT_ROSTER_GROUPS_MAX ZT_STORE_USER_GROUPS_MAX /* groups in one cell */
/* A cell starting with one of these is written with a leading ' (and read without it). */
#define ZT_ROSTER_FORMULA_CHARS "=+-@\t\r"

enum {
    ZT_ROSTER_COL_EMAIL = 1u << 0,
    ZT_ROSTER_COL_NAME = 1u << 1,
    ZT_ROSTER_COL_GROUPS = 1u << 2,
    ZT_ROSTER_COL_EXPIRES = 1u << 3,
    ZT_ROSTER_COL_SPONSOR = 1u << 4,
    ZT_ROSTER_COL_ID = 1u << 5,
    ZT_ROSTER_COL_FAMILY =
        1u << 6, /* 姓: the name is "FAMILY GIVEN" when there is no name column */
    ZT_ROSTER_COL_GIVEN = 1u << 7, /* 名 */
};
#define ZT_ROSTER_N_COLS 8

/* One row of the file; strings point into the parsed CSV. */
typedef struct zt_roster_entry {
    size_t row, line;
    const char *email, *name, *sponsor, *external_id; /* "" when the column is absent */
    char *joined_name;   /* owned: name made from the family and given columns */
    int64_t expires_at;  /* 0 = never */
    const char **groups; /* sorted, no duplicates; owned array */
    size_t n_groups;
} zt_roster_entry;

typedef struct zt_roster {
    zt_csv csv;
    unsigned columns;                /* ZT_ROSTER_COL_* present in the header */
    size_t col_of[ZT_ROSTER_N_COLS]; /* field index of each column, by bit number */
    zt_roster_entry *entries;
    size_t n;
} zt_roster;

/* Read a parsed CSV (taken over: freed by zt_roster_dispose, also on failure) into entries.
 * Refused, naming the row and column: a missing or unknown or repeated header, an invalid
 * email, sponsor, date, group name or id, an email (case-insensitive) or id given twice (both
 * rows named). 0, -EINVAL (err filled) or -ENOMEM. */
int zt_roster_read(zt_csv *csv, zt_roster *out, zt_csv_error *err);
void zt_roster_dispose(zt_roster *r);

/* ---- the store as the planner sees it ---- */

typedef struct zt_roster_user {
    char id[ZT_STORE_ID_LEN + 1];
    char *email, *name, *source, *external_id, *sponsor;
    int64_t expires_at;
    bool disabled;
    char **groups;   /* every membership, sorted */
    bool *by_source; /* per group: made by the import source */
    size_t n_groups;
} zt_roster_user;

typedef struct zt_roster_snapshot {
    zt_roster_user *users; /* sorted by email, ASCII case-insensitively */
    size_t n, cap;
    char **groups; /* every group name, sorted case-insensitively */
    size_t n_groups, groups_cap;
} zt_roster_snapshot;

/* Add one user (copied) / one group name; then zt_roster_snapshot_sort before planning. */
int zt_roster_snapshot_add_user(zt_roster_snapshot *s, const zt_roster_user *u);
int zt_roster_snapshot_add_group(zt_roster_snapshot *s, const char *name);
void zt_roster_snapshot_sort(zt_roster_snapshot *s);
void zt_roster_snapshot_dispose(zt_roster_snapshot *s);

/* ---- the plan ---- */

typedef enum zt_roster_kind {
    ZT_ROSTER_CREATE,
    ZT_ROSTER_UPDATE,
    ZT_ROSTER_DISABLE,
} zt_roster_kind;

enum {
    ZT_ROSTER_CH_NAME = 1u << 0,
    ZT_ROSTER_CH_EXPIRES = 1u << 1,
    ZT_ROSTER_CH_SPONSOR = 1u << 2,
    ZT_ROSTER_CH_EXTERNAL_ID = 1u << 3,
    ZT_ROSTER_CH_SOURCE = 1u << 4, /* a "local" user taken over by the import source */
    ZT_ROSTER_CH_GROUPS = 1u << 5,
};

typedef struct zt_roster_change {
    zt_roster_kind kind;
    unsigned what;                 /* ZT_ROSTER_CH_*; create: the fields given */
    const zt_roster_entry *entry;  /* create, update */
    const zt_roster_user *user;    /* update, disable: as it is now */
    const char **added, **removed; /* group moves (borrowed strings) */
    size_t n_added, n_removed;
} zt_roster_change;

typedef struct zt_roster_opts {
    const char *source;   /* "import" or --source NAME */
    bool disable_missing; /* disable this source's users the file no longer lists */
    bool create_groups;   /* make groups the store does not have, instead of refusing */
} zt_roster_opts;

typedef struct zt_roster_plan {
    zt_roster_change *changes; /* creates and updates in file order, then disables by email */
    size_t n, cap;
    size_t n_create, n_update, n_disable, n_unchanged;
    size_t n_still_disabled; /* listed but disabled: left disabled (enable is an admin's act) */
    const char **new_groups; /* groups to create (create_groups), sorted */
    size_t n_new_groups;
} zt_roster_plan;

/* The diff. Refused, naming the row: a user that belongs to another source (not "local" and
 * not this one), an id another user of this source has, a group the store lacks (without
 * create_groups); and disable_missing with a file of no rows (it would disable everyone). 0,
 * -EINVAL (err filled) or -ENOMEM. The plan borrows from r and snap. */
int zt_roster_plan_make(const zt_roster *r, const zt_roster_snapshot *snap, const zt_roster_opts *o,
                        zt_roster_plan *out, zt_csv_error *err);
void zt_roster_plan_dispose(zt_roster_plan *p);

/* The plan as text for the admin, one line a change and a summary line, into a malloc'd
 * NUL-terminated string (NULL when out of memory). */
char *zt_roster_plan_text(const zt_roster_plan *p, const zt_roster_opts *o);

/* ---- with the store ---- */

/* Fill snap (empty on entry) from the store: every user with their memberships (which of them
 * `source` made) and every group name, sorted. 0 or a store error. */
int zt_roster_load(zt_store *st, const char *source, zt_roster_snapshot *snap);

typedef struct zt_roster_outcome {
    size_t records;          /* audit records written */
    int audit_rc;            /* 0, or the first record's failure (the changes stand) */
    int revocation_rc;       /* 0, or why gateways could not be told (likewise) */
    uint64_t sessions_ended; /* session rows of disabled or expired users */
} zt_roster_outcome;

/* Apply the plan in one store transaction (store_roster.h), then write one audit record per
 * change in the account service's shapes (user.create, user.update, user.groups.sync,
 * user.disable: what the one-user operations write for the same change) and tell gateways once
 * when memberships changed or sessions ended. On a failure nothing is written and err names
 * the row (a disable: the user) and the store's reason. 0, or the store's code. */
int zt_roster_apply(const zt_account_env *env, const zt_actor *who, const zt_roster_plan *p,
                    const zt_roster_opts *o, zt_roster_outcome *out, zt_csv_error *err);

/* ---- export ---- */

/* The users of snap (only source's when source is not NULL) as the CSV import reads (header
 * email,name,groups,expires,sponsor,id; groups ';'-separated, every membership), UTF-8, into
 * out. Importing it back changes nothing. 0 or -ENOMEM/-E2BIG. */
int zt_roster_export_csv(const zt_roster_snapshot *snap, const char *source, zt_buf *out);
/* The same as a JSON array of objects (also source and disabled), UTF-8, indented. */
int zt_roster_export_json(const zt_roster_snapshot *snap, const char *source, zt_buf *out);

/* ---- dates ---- */

/* YYYY-MM-DD, YYYY/MM/DD (the end of that day, UTC: the next midnight) or RFC 3339. */
bool zt_roster_parse_expiry(const char *s, int64_t *out);
/* The inverse for export: a date when t is a midnight (the day before it), else RFC 3339;
 * "" for 0. */
void zt_roster_format_expiry(int64_t t, char out[40]);

#endif
