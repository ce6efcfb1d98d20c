/* `ztgate user ACTION`: add, list, show, disable, enable, delete, passwd, reset-mfa, sessions,
 * revoke-sessions, tap. Users are named by email on the command line. Every change is the account
 * service's (session/account.h), as through the admin API: the store change, its audit record
 * (queued in the spool, the actor the Unix user) and the revocation bump that makes running
 * gateways drop their session caches; if the record or the bump fails the command says so and
 * exits 1 although the change is saved. This file only parses, asks and prints. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_util.h"
#include "cli/cmd_identity.h"
#include "cli/cmd_lifecycle.h"
#include "cli/cmd_whatif.h"
#include "cli/commands.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "session/account.h"
#include "session/session.h"

#define UA_COLUMN_CHARS 40  /* user agent shown in the sessions table */
#define SESSION_ID_CHARS 16 /* prefix of the session hash shown in the table */

static int find_user(zt_store *st, const char *email, zt_user *u)
{
    int rc = zt_store_user_get_by_email(st, email, u);
    return rc == 0 ? 0 : zt_cli_store_fail(rc, "user", email);
}

/* ---- what `list` and `show` print about a user ---- */

typedef struct user_info {
    zt_user u;
    json_t *groups; /* array of names */
    bool totp;
    unsigned recovery_left, recovery_total;
    unsigned sessions_active;
} user_info;

static int add_group_cb(void *ctx, const char *name)
{
    return json_array_append_new(ctx, json_string(name)) == 0 ? 0 : -ENOMEM;
}

static int count_recovery_cb(void *ctx, const zt_store_recovery *r)
{
    user_info *info = ctx;
    info->recovery_total++;
    info->recovery_left += r->used_at == 0;
    return 0;
}

static bool session_active(const zt_store_session *s, int64_t now)
{
    return !s->user_disabled && s->user_epoch == s->user_epoch_now && s->idle_expires_at > now &&
           s->absolute_expires_at > now;
}

static int count_sessions_cb(void *ctx, const zt_store_session *s)
{
    user_info *info = ctx;
    info->sessions_active += session_active(s, (zt_wall_us() / 1000000));
    return 0;
}

static int user_info_load(zt_store *st, const zt_user *u, user_info *info)
{
    memset(info, 0, sizeof(*info));
    info->u = *u;
    info->groups = json_array();
    if (info->groups == NULL)
        return -ENOMEM;
    zt_store_totp totp;
    int rc = zt_store_user_groups(st, u->id, add_group_cb, info->groups);
    if (rc == 0) {
        rc = zt_store_totp_get(st, u->id, &totp);
        info->totp = rc == 0;
        rc = rc == -ENOENT ? 0 : rc;
        zt_store_totp_dispose(&totp);
    }
    if (rc == 0)
        rc = zt_store_recovery_list(st, u->id, count_recovery_cb, info);
    if (rc == 0)
        rc = zt_store_session_list_by_user(st, u->id, count_sessions_cb, info);
    return rc;
}

static void user_info_dispose(user_info *info)
{
    zt_user_dispose(&info->u);
    json_decref(info->groups);
    info->groups = NULL;
}

/* "a, b" from the groups array; "-" when none. */
static void groups_text(const json_t *groups, char *out, size_t cap)
{
    size_t i, off = 0;
    json_t *g;
    snprintf(out, cap, "-");
    json_array_foreach(groups, i, g)
    {
        int n = snprintf(out + off, cap - off, "%s%s", i ? ", " : "", json_string_value(g));
        if (n < 0 || (size_t)n >= cap - off)
            break;
        off += (size_t)n;
    }
}

static const char *mfa_text(const user_info *info, char *buf, size_t cap)
{
    if (!info->totp)
        return "none";
    snprintf(buf, cap, "totp (%u/%u recovery codes left)", info->recovery_left,
             info->recovery_total);
    return buf;
}

static json_t *user_json_base(const user_info *info);

/* The account's lifecycle fields (cmd_lifecycle.c) added to the base view. */
static json_t *user_json(const user_info *info)
{
    json_t *j = user_json_base(info);
    if (j != NULL && zt_cli_lifecycle_json(j, &info->u) != 0) {
        json_decref(j);
        return NULL;
    }
    return j;
}

static json_t *user_json_base(const user_info *info)
{
    const zt_user *u = &info->u;
    return json_pack(
        "{s:s, s:s, s:s, s:s, s:O, s:{s:b, s:i, s:i}, s:i, s:b, s:o, s:I, s:o, s:o}", "id", u->id,
        "email", u->email, "name", u->name, "status", u->disabled ? "disabled" : "active", "groups",
        info->groups, "mfa", "totp", info->totp, "recovery_codes_left", (int)info->recovery_left,
        "recovery_codes_total", (int)info->recovery_total, "active_sessions",
        (int)info->sessions_active, "password_set", u->password_hash[0] != '\0',
        "password_changed_at", zt_cli_json_time(u->password_changed_at), "revocation_epoch",
        (json_int_t)u->revocation_epoch, "created_at", zt_cli_json_time(u->created_at),
        "updated_at", zt_cli_json_time(u->updated_at));
}

/* ---- add ---- */

/* Checked before the password is asked for, so a typo costs no typing. */
static int check_groups_exist(zt_store *st, const zt_cli_args *a)
{
    zt_store_group g;
    for (size_t i = 0; i < a->n_groups; i++) {
        int rc = zt_store_group_get(st, a->groups[i], &g);
        if (rc == -ENOENT)
            return zt_cli_fail(ZT_CLI_FAIL,
                               "group %s not found (create it first: ztgate group "
                               "add %s)",
                               a->groups[i], a->groups[i]);
        if (rc != 0)
            return zt_cli_store_fail(rc, "group", NULL);
    }
    return 0;
}

static int user_add(zt_store *st, const zt_cli_args *a)
{
    const char *email = a->pos[0];
    zt_user u;
    int rc = zt_store_user_get_by_email(st, email, &u);
    zt_user_dispose(&u);
    if (rc == 0)
        return zt_cli_fail(ZT_CLI_FAIL, "user %s already exists", email);
    if (rc != -ENOENT)
        return zt_cli_store_fail(rc, "user", NULL);
    int64_t expires = 0;
    const char *sponsor = NULL;
    if (zt_cli_lifecycle_args(a, &expires, &sponsor) != ZT_CLI_OK)
        return ZT_CLI_USAGE;
    if (check_groups_exist(st, a) != 0)
        return ZT_CLI_FAIL;
    char hash[ZT_CLI_HASH_MAX];
    if (zt_cli_password_stdin(hash, sizeof(hash)) != 0)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_new n = {.email = email,
                        .name = a->name,
                        .password_hash = hash,
                        .groups = a->groups,
                        .n_groups = a->n_groups,
                        .sponsor = sponsor,
                        .expires_at = expires};
    zt_account_result res;
    rc = zt_account_create(&env, zt_cli_actor(), &n, &res);
    zt_wipe(hash, sizeof(hash));
    if (rc == -ENOENT && res.missing_group[0] != '\0')
        return zt_cli_fail(ZT_CLI_FAIL, "group %s not found", res.missing_group);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", rc == -EEXIST ? email : NULL);
    printf("added user %s (id %s)\n", res.email, res.user_id);
    return zt_cli_account_done(&res);
}

/* ---- list and show ---- */

typedef struct user_vec {
    zt_user *v;
    size_t n, cap;
} user_vec;

/* Copy out: the store may not be called from inside its own callback. */
static int collect_user_cb(void *ctx, const zt_user *u)
{
    user_vec *vec = ctx;
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 32;
        zt_user *v = realloc(vec->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        vec->v = v;
        vec->cap = cap;
    }
    vec->v[vec->n++] = *u;
    return 0;
}

static void user_vec_dispose(user_vec *vec)
{
    for (size_t i = 0; i < vec->n; i++)
        zt_user_dispose(&vec->v[i]);
    free(vec->v);
}

static int list_row(zt_cli_table *t, json_t *arr, const user_info *info)
{
    if (arr != NULL)
        return json_array_append_new(arr, user_json(info)) == 0 ? 0 : -ENOMEM;
    char groups[1024], created[32];
    groups_text(info->groups, groups, sizeof(groups));
    zt_cli_time(info->u.created_at, created);
    char sessions[24];
    snprintf(sessions, sizeof(sessions), "%u", info->sessions_active);
    const char *row[] = {
        info->u.email, info->u.name[0] ? info->u.name : "-", zt_cli_lifecycle_status(&info->u),
        groups,        info->totp ? "totp" : "none",         sessions,
        created};
    return zt_cli_table_add(t, row);
}

static int list_print(zt_store *st, const user_vec *vec, bool json)
{
    static const char *const head[] = {"EMAIL", "NAME",     "STATUS", "GROUPS",
                                       "MFA",   "SESSIONS", "CREATED"};
    zt_cli_table t = {0};
    json_t *arr = json ? json_array() : NULL;
    int rc = json && arr == NULL ? -ENOMEM : zt_cli_table_init(&t, 7, head);
    for (size_t i = 0; rc == 0 && i < vec->n; i++) {
        user_info info;
        rc = user_info_load(st, &vec->v[i], &info);
        if (rc == 0)
            rc = list_row(&t, arr, &info);
        user_info_dispose(&info);
    }
    if (rc != 0) {
        json_decref(arr);
        zt_cli_table_dispose(&t);
        return rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                             : zt_cli_store_fail(rc, "user", NULL);
    }
    rc = json ? zt_cli_json_print(arr) : zt_cli_table_print(&t);
    zt_cli_table_dispose(&t);
    return rc;
}

static int user_list(zt_store *st, const zt_cli_args *a)
{
    user_vec vec = {0};
    int rc = zt_store_user_list(st, collect_user_cb, &vec);
    if (rc != 0)
        rc = rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                           : zt_cli_store_fail(rc, "user", NULL);
    else
        rc = list_print(st, &vec, a->json);
    user_vec_dispose(&vec);
    return rc;
}

static void show_text(const user_info *info)
{
    const zt_user *u = &info->u;
    char groups[1024], mfa[64], changed[32], created[32], updated[32];
    groups_text(info->groups, groups, sizeof(groups));
    zt_cli_time(u->password_changed_at, changed);
    zt_cli_time(u->created_at, created);
    zt_cli_time(u->updated_at, updated);
    printf("%-18s %s\n", "id:", u->id);
    printf("%-18s %s\n", "email:", u->email);
    printf("%-18s %s\n", "name:", u->name[0] ? u->name : "-");
    printf("%-18s %s\n", "status:", zt_cli_lifecycle_status(u));
    printf("%-18s %s\n", "groups:", groups);
    printf("%-18s %s\n", "mfa:", mfa_text(info, mfa, sizeof(mfa)));
    printf("%-18s %s\n", "password changed:", u->password_hash[0] ? changed : "(no password)");
    printf("%-18s %lld\n", "revocation epoch:", (long long)u->revocation_epoch);
    printf("%-18s %u\n", "active sessions:", info->sessions_active);
    printf("%-18s %s\n", "created:", created);
    printf("%-18s %s\n", "updated:", updated);
    zt_cli_lifecycle_text(u);
}

/* The user's Temporary Access Pass as `show` reports it (never the pass itself): null when
 * none, else its status, expiry and uses. New reference; NULL when out of memory. */
static json_t *tap_json(const zt_store_tap *t, bool has)
{
    if (!has)
        return json_null();
    return json_pack("{s:s, s:o, s:i, s:i}", "status",
                     zt_store_tap_status(t, zt_wall_us() / 1000000), "expires_at",
                     zt_cli_json_time(t->expires_at), "uses", t->uses, "uses_left",
                     t->uses == ZT_STORE_TAP_UNLIMITED ? 0 : t->uses_left);
}

static void tap_text(const zt_store_tap *t, bool has)
{
    char when[32];
    if (!has) {
        printf("%-18s %s\n", "access pass:", "none");
        return;
    }
    zt_cli_time(t->expires_at, when);
    if (t->uses == ZT_STORE_TAP_UNLIMITED)
        printf("%-18s %s (expires %s, any number of uses)\n",
               "access pass:", zt_store_tap_status(t, zt_wall_us() / 1000000), when);
    else
        printf("%-18s %s (expires %s, %d of %d uses left)\n",
               "access pass:", zt_store_tap_status(t, zt_wall_us() / 1000000), when, t->uses_left,
               t->uses);
}

static int user_show(zt_store *st, const zt_cli_args *a)
{
    zt_user u;
    user_info info;
    if (find_user(st, a->pos[0], &u) != 0)
        return ZT_CLI_FAIL;
    int rc = user_info_load(st, &u, &info);
    zt_user_dispose(&u);
    zt_store_tap tap;
    int trc = rc == 0 ? zt_store_tap_get(st, info.u.id, &tap) : 0;
    if (rc == 0 && trc != 0 && trc != -ENOENT)
        rc = trc;
    if (rc != 0) {
        rc = zt_cli_store_fail(rc, "user", a->pos[0]);
    } else if (a->json) {
        json_t *j = user_json(&info);
        if (j != NULL &&
            json_object_set_new(j, "temporary_access_pass", tap_json(&tap, trc == 0)) != 0) {
            json_decref(j);
            j = NULL; /* zt_cli_json_print reports it */
        }
        rc = zt_cli_json_print(j);
    } else {
        show_text(&info);
        tap_text(&tap, trc == 0);
    }
    user_info_dispose(&info);
    return rc;
}

/* ---- changes ---- */

typedef int (*account_fn)(const zt_account_env *env, const zt_actor *who, const char *user_id,
                          zt_account_result *res);

/* How user_change reports: plain, or with the new epoch (and that sessions went). */
typedef enum { SHOW_PLAIN, SHOW_REVOKED, SHOW_EPOCH } change_report;

/* Resolve the email, let the account service apply fn, report `done` ("disabled user X"). */
static int user_change(zt_store *st, const char *email, account_fn fn, const char *done,
                       change_report how)
{
    zt_user u;
    if (find_user(st, email, &u) != 0)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    int rc = fn(&env, zt_cli_actor(), u.id, &res);
    zt_user_dispose(&u);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", email);
    if (how != SHOW_PLAIN)
        printf("%s %s (%srevocation epoch %lld)\n", done, res.email,
               how == SHOW_REVOKED ? "sessions revoked, " : "", (long long)res.epoch);
    else
        printf("%s %s\n", done, res.email);
    return zt_cli_account_done(&res);
}

static int user_disable(zt_store *st, const zt_cli_args *a)
{
    return user_change(st, a->pos[0], zt_account_disable, "disabled user", SHOW_REVOKED);
}

static int user_enable(zt_store *st, const zt_cli_args *a)
{
    return user_change(st, a->pos[0], zt_account_enable, "enabled user", SHOW_PLAIN);
}

static int user_reset_mfa(zt_store *st, const zt_cli_args *a)
{
    return user_change(st, a->pos[0], zt_account_reset_mfa, "removed TOTP and recovery codes of",
                       SHOW_REVOKED);
}

static int user_revoke_sessions(zt_store *st, const zt_cli_args *a)
{
    return user_change(st, a->pos[0], zt_account_revoke_sessions, "revoked every session of",
                       SHOW_EPOCH);
}

static int user_delete(zt_store *st, const zt_cli_args *a)
{
    zt_user u;
    if (find_user(st, a->pos[0], &u) != 0)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    int rc = zt_account_delete(&env, zt_cli_actor(), u.id, &res);
    zt_user_dispose(&u);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    printf("deleted user %s\n", res.email);
    return zt_cli_account_done(&res);
}

static int user_passwd(zt_store *st, const zt_cli_args *a)
{
    zt_user u;
    if (find_user(st, a->pos[0], &u) != 0)
        return ZT_CLI_FAIL;
    char hash[ZT_CLI_HASH_MAX];
    int rc = zt_cli_password_stdin(hash, sizeof(hash));
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    if (rc == 0 && (rc = zt_account_set_password(&env, zt_cli_actor(), u.id, hash, &res)) != 0)
        rc = zt_cli_store_fail(rc, "user", a->pos[0]);
    else if (rc == 0) {
        printf("changed the password of %s (sessions revoked, revocation epoch %lld)\n", res.email,
               (long long)res.epoch);
        rc = zt_cli_account_done(&res);
    }
    zt_wipe(hash, sizeof(hash));
    zt_user_dispose(&u);
    return rc;
}

/* ---- sessions ---- */

static const char *session_status(const zt_store_session *s, int64_t now)
{
    if (s->user_disabled)
        return "disabled";
    if (s->user_epoch != s->user_epoch_now)
        return "revoked";
    return session_active(s, now) ? "active" : "expired";
}

/* At most max_chars code points of s (whole characters only), "..." appended when cut. */
static void truncate_utf8(const char *s, size_t max_chars, char *out, size_t cap)
{
    size_t i = 0, chars = 0;
    while (s[i] != '\0' && chars < max_chars) {
        i++;
        while ((s[i] & 0xc0) == 0x80)
            i++;
        chars++;
    }
    snprintf(out, cap, "%.*s%s", (int)i, s, s[i] != '\0' ? "..." : "");
}

typedef struct sessions_out {
    zt_cli_table t;
    json_t *arr; /* NULL for the table */
    int64_t now;
} sessions_out;

static json_t *session_json(const zt_store_session *s, int64_t now)
{
    char amr[ZT_AMR_TEXT_MAX + 1];
    zt_amr_text(zt_amr_parse(s->amr, s->mfa_time), amr);
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:s?, s:s, s:s, s:o, s:o, s:s?, s:I, s:s}", "id_hash",
        s->id_hash, "status", session_status(s, now), "created_at", zt_cli_json_time(s->created_at),
        "auth_time", zt_cli_json_time(s->auth_time), "mfa_time", zt_cli_json_time(s->mfa_time),
        "mfa_method", s->mfa_method[0] ? s->mfa_method : NULL, "ip", s->ip, "user_agent",
        s->user_agent, "idle_expires_at", zt_cli_json_time(s->idle_expires_at),
        "absolute_expires_at", zt_cli_json_time(s->absolute_expires_at), "device_id",
        s->device_id[0] ? s->device_id : NULL, "user_epoch", (json_int_t)s->user_epoch, "amr", amr);
}

static int session_row_cb(void *ctx, const zt_store_session *s)
{
    sessions_out *o = ctx;
    if (o->arr != NULL)
        return json_array_append_new(o->arr, session_json(s, o->now)) == 0 ? 0 : -ENOMEM;
    char id[SESSION_ID_CHARS + 4], created[32], idle[32], abs[32], ua[UA_COLUMN_CHARS * 4 + 4];
    snprintf(id, sizeof(id), "%.*s...", SESSION_ID_CHARS, s->id_hash);
    zt_cli_time(s->created_at, created);
    zt_cli_time(s->idle_expires_at, idle);
    zt_cli_time(s->absolute_expires_at, abs);
    truncate_utf8(s->user_agent, UA_COLUMN_CHARS, ua, sizeof(ua));
    const char *row[] = {id,
                         session_status(s, o->now),
                         created,
                         idle,
                         abs,
                         s->mfa_method[0] ? s->mfa_method : NULL,
                         s->ip[0] ? s->ip : NULL,
                         s->device_id[0] ? s->device_id : NULL,
                         ua[0] ? ua : NULL};
    return zt_cli_table_add(&o->t, row);
}

static int user_sessions(zt_store *st, const zt_cli_args *a)
{
    static const char *const head[] = {"SESSION", "STATUS", "CREATED", "IDLE-EXPIRES", "EXPIRES",
                                       "MFA",     "IP",     "DEVICE",  "USER-AGENT"};
    zt_user u;
    if (find_user(st, a->pos[0], &u) != 0)
        return ZT_CLI_FAIL;
    sessions_out o = {.arr = a->json ? json_array() : NULL, .now = (zt_wall_us() / 1000000)};
    int rc = a->json && o.arr == NULL ? -ENOMEM : zt_cli_table_init(&o.t, 9, head);
    if (rc == 0)
        rc = zt_store_session_list_by_user(st, u.id, session_row_cb, &o);
    if (rc != 0) {
        json_decref(o.arr);
        rc = rc == -ENOMEM ? zt_cli_fail(ZT_CLI_FAIL, "out of memory")
                           : zt_cli_store_fail(rc, "user", a->pos[0]);
    } else {
        rc = a->json ? zt_cli_json_print(o.arr) : zt_cli_table_print(&o.t);
    }
    zt_cli_table_dispose(&o.t);
    zt_user_dispose(&u);
    return rc;
}

/* ---- Temporary Access Pass ---- */

/* --uses: 1..ZT_STORE_TAP_USES_MAX or "unlimited" (any number until it expires). */
static bool parse_uses(const char *s, int *out)
{
    if (s == NULL) {
        *out = 1;
        return true;
    }
    if (strcmp(s, "unlimited") == 0) {
        *out = ZT_STORE_TAP_UNLIMITED;
        return true;
    }
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0' || v < 1 || v > ZT_STORE_TAP_USES_MAX)
        return false;
    *out = (int)v;
    return true;
}

static int tap_revoke(zt_store *st, const zt_cli_args *a)
{
    if (a->lifetime != NULL || a->uses != NULL)
        return zt_cli_fail(ZT_CLI_USAGE, "--revoke takes no --lifetime or --uses");
    zt_user u;
    if (find_user(st, a->pos[0], &u) != 0)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    int rc = zt_account_tap_revoke(&env, zt_cli_actor(), u.id, &res);
    zt_user_dispose(&u);
    if (rc == -ENOENT)
        return zt_cli_fail(ZT_CLI_FAIL, "%s has no temporary access pass", a->pos[0]);
    if (rc == -EALREADY)
        return zt_cli_fail(ZT_CLI_FAIL, "the temporary access pass of %s is revoked already",
                           a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    if (a->json) {
        int rc2 =
            zt_cli_json_print(json_pack("{s:s, s:b, s:I}", "email", res.email, "revoked", true,
                                        "sessions_ended", (json_int_t)res.sessions_revoked));
        int done = zt_cli_account_done(&res);
        return rc2 != ZT_CLI_OK ? rc2 : done;
    }
    printf("revoked the temporary access pass of %s (%llu session%s opened with it ended)\n",
           res.email, (unsigned long long)res.sessions_revoked,
           res.sessions_revoked == 1 ? "" : "s");
    return zt_cli_account_done(&res);
}

/* Print the pass once: it is stored hashed and cannot be shown again. */
static int tap_print(const zt_cli_args *a, const zt_account_result *res, const char *pass,
                     int64_t expires, int uses)
{
    char when[32];
    zt_cli_time(expires, when);
    if (a->json)
        return zt_cli_json_print(json_pack("{s:s, s:s, s:o, s:i}", "email", res->email, "pass",
                                           pass, "expires_at", zt_cli_json_time(expires), "uses",
                                           uses));
    printf("temporary access pass for %s: %s\n", res->email, pass);
    printf("%-12s %s\n", "expires:", when);
    if (uses == ZT_STORE_TAP_UNLIMITED)
        printf("%-12s %s\n", "uses:", "any number until it expires");
    else
        printf("%-12s %d\n", "uses:", uses);
    printf("It is shown only now. The user types it in the password field of the sign-in page\n"
           "to register a passkey or set up an authenticator app; any earlier pass is replaced.\n");
    return ZT_CLI_OK;
}

static int user_tap(zt_store *st, const zt_cli_args *a)
{
    if (a->revoke)
        return tap_revoke(st, a);
    int64_t life = ZT_STORE_TAP_LIFETIME_DEFAULT_S;
    int uses = 1;
    if (a->lifetime != NULL &&
        (!zt_whatif_parse_duration(a->lifetime, &life) || life < ZT_STORE_TAP_LIFETIME_MIN_S ||
         life > ZT_STORE_TAP_LIFETIME_MAX_S))
        return zt_cli_fail(ZT_CLI_USAGE, "--lifetime: '%s' is not a duration from 10m to 30d",
                           a->lifetime);
    if (!parse_uses(a->uses, &uses))
        return zt_cli_fail(ZT_CLI_USAGE, "--uses: '%s' is not 1..%d or 'unlimited'", a->uses,
                           ZT_STORE_TAP_USES_MAX);
    zt_user u;
    if (find_user(st, a->pos[0], &u) != 0)
        return ZT_CLI_FAIL;
    zt_account_env env = zt_cli_account_env(st);
    zt_account_result res;
    char pass[ZT_STORE_TAP_TEXT_LEN + 1];
    int64_t expires = 0;
    int rc = zt_account_tap_issue(&env, zt_cli_actor(), u.id, life, uses, pass, &expires, &res);
    zt_user_dispose(&u);
    if (rc == -EPERM)
        return zt_cli_fail(
            ZT_CLI_FAIL, "%s is disabled or expired: enable (or extend) the user first", a->pos[0]);
    if (rc != 0)
        return zt_cli_store_fail(rc, "user", a->pos[0]);
    rc = tap_print(a, &res, pass, expires, uses);
    zt_wipe(pass, sizeof(pass));
    int done = zt_cli_account_done(&res);
    return rc != ZT_CLI_OK ? rc : done;
}

static const zt_cli_action user_actions[] = {
    {"add",
     "add EMAIL [--name N] [--group G]... [--expires DATE] [--sponsor EMAIL] --password-stdin",
     "create a user",
     ZT_CLI_OPT_NAME | ZT_CLI_OPT_GROUP | ZT_CLI_OPT_PASSWORD_STDIN | ZT_CLI_OPT_LIFECYCLE, 1,
     user_add},
    {"set", "set EMAIL [--name N] [--expires DATE|never] [--sponsor EMAIL|none]",
     "change a user's name, expiry or sponsor (expired: sessions end)",
     ZT_CLI_OPT_NAME | ZT_CLI_OPT_LIFECYCLE, 1, zt_cli_user_set},
    {"inactive", "inactive --days N [--format table|csv|json]",
     "accounts not signed in for N days (never: since created)", ZT_CLI_OPT_REPORT, 0,
     zt_cli_user_inactive},
    {"list", "list [--json]", "list users", ZT_CLI_OPT_JSON, 0, user_list},
    {"show", "show EMAIL [--json]", "show one user", ZT_CLI_OPT_JSON, 1, user_show},
    {"disable", "disable EMAIL", "block sign-in and revoke sessions", 0, 1, user_disable},
    {"enable", "enable EMAIL", "allow sign-in again", 0, 1, user_enable},
    {"delete", "delete EMAIL", "delete a user and everything they own", 0, 1, user_delete},
    {"passwd", "passwd EMAIL --password-stdin", "set a password and revoke sessions",
     ZT_CLI_OPT_PASSWORD_STDIN, 1, user_passwd},
    {"reset-mfa", "reset-mfa EMAIL", "remove TOTP and recovery codes, revoke sessions", 0, 1,
     user_reset_mfa},
    {"sessions", "sessions EMAIL [--json]", "list a user's sessions", ZT_CLI_OPT_JSON, 1,
     user_sessions},
    {"revoke-sessions", "revoke-sessions EMAIL", "end every session of a user", 0, 1,
     user_revoke_sessions},
    {"tap", "tap EMAIL [--lifetime D --uses N | --revoke] [--json]",
     "issue a Temporary Access Pass (D: 10m-30d, default 1h; N: 1-1000 or unlimited, default 1), "
     "or revoke it",
     ZT_CLI_OPT_TAP | ZT_CLI_OPT_JSON, 1, user_tap},
};

int zt_cmd_user(int argc, char **argv)
{
    return zt_cli_dispatch("user", user_actions, sizeof(user_actions) / sizeof(user_actions[0]),
                           argc, argv);
}
