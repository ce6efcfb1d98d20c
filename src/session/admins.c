/* Named administrators (admins.h): roles and permissions, grants and scopes, personal tokens. */
#include "session/admins.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "lib/secure.h"
#include "lib/time.h"

#define TOKEN_ID_BYTES (ZT_STORE_ADMIN_TOKEN_ID_LEN / 2)
#define TOKEN_SECRET_BYTES 32
#define TOUCH_EVERY_S 60 /* last_used_at is written at most this often: reads stay reads */
#define FIRST_TOKEN_NAME "first token"

_Static_assert(ZT_ROLE_COUNT <= 8 * sizeof(unsigned), "role bits fit in grant.roles");
_Static_assert(ZT_STORE_GROUP_MAX <= ZT_STORE_NAME_MAX, "a scope fits in grant.scopes");

/* ---- roles and permissions ---- */

static const char *const role_names[ZT_ROLE_COUNT] = {
    [ZT_ROLE_GLOBAL_ADMIN] = "global_admin",
    [ZT_ROLE_SECURITY_OPERATOR] = "security_operator",
    [ZT_ROLE_HELPDESK] = "helpdesk",
    [ZT_ROLE_AUDITOR] = "auditor",
};

static const zt_perms role_perms[ZT_ROLE_COUNT] = {
    [ZT_ROLE_GLOBAL_ADMIN] = ZT_PERM_ALL,
    [ZT_ROLE_SECURITY_OPERATOR] =
        ZT_PERM_USERS_READ | ZT_PERM_SESSIONS_REVOKE | ZT_PERM_DEVICES_READ |
        ZT_PERM_DEVICES_WRITE | ZT_PERM_RISK_READ | ZT_PERM_RISK_WRITE | ZT_PERM_INCIDENTS_READ |
        ZT_PERM_INCIDENTS_WRITE | ZT_PERM_AUDIT_READ | ZT_PERM_POLICY_READ | ZT_PERM_ASSESS,
    [ZT_ROLE_HELPDESK] = ZT_PERM_USERS_READ | ZT_PERM_USERS_WRITE | ZT_PERM_CREDENTIALS |
                         ZT_PERM_SESSIONS_REVOKE | ZT_PERM_DEVICES_READ,
    [ZT_ROLE_AUDITOR] = ZT_PERM_USERS_READ | ZT_PERM_DEVICES_READ | ZT_PERM_RISK_READ |
                        ZT_PERM_INCIDENTS_READ | ZT_PERM_AUDIT_READ | ZT_PERM_POLICY_READ,
};

/* Bit i of a permission mask. */
static const char *const perm_names[ZT_PERM_COUNT] = {
    "users:read",    "users:write", "credentials", "sessions:revoke", "devices:read",
    "devices:write", "risk:read",   "risk:write",  "incidents:read",  "incidents:write",
    "audit:read",    "policy:read", "assess",      "admins",
};

static const zt_msg role_msgs[ZT_ROLE_COUNT] = {
    [ZT_ROLE_GLOBAL_ADMIN] = ADM_ROLE_GLOBAL_ADMIN,
    [ZT_ROLE_SECURITY_OPERATOR] = ADM_ROLE_SECURITY_OPERATOR,
    [ZT_ROLE_HELPDESK] = ADM_ROLE_HELPDESK,
    [ZT_ROLE_AUDITOR] = ADM_ROLE_AUDITOR,
};

static const zt_msg perm_msgs[ZT_PERM_COUNT] = {
    ADM_PERM_USERS_READ,      ADM_PERM_USERS_WRITE,  ADM_PERM_CREDENTIALS,
    ADM_PERM_SESSIONS_REVOKE, ADM_PERM_DEVICES_READ, ADM_PERM_DEVICES_WRITE,
    ADM_PERM_RISK_READ,       ADM_PERM_RISK_WRITE,   ADM_PERM_INCIDENTS_READ,
    ADM_PERM_INCIDENTS_WRITE, ADM_PERM_AUDIT_READ,   ADM_PERM_POLICY_READ,
    ADM_PERM_ASSESS,          ADM_PERM_ADMINS,
};

zt_msg zt_admins_role_msg(zt_admin_role r)
{
    return (unsigned)r < ZT_ROLE_COUNT ? role_msgs[r] : MSG_NONE;
}

zt_msg zt_admins_perm_msg(zt_perms one)
{
    for (int i = 0; i < ZT_PERM_COUNT; i++)
        if (one == (1u << i))
            return perm_msgs[i];
    return MSG_NONE;
}

const char *zt_admins_role_name(zt_admin_role r)
{
    return (unsigned)r < ZT_ROLE_COUNT ? role_names[r] : "unknown";
}

int zt_admins_role_parse(const char *s, zt_admin_role *out)
{
    for (int r = 0; s != NULL && r < ZT_ROLE_COUNT; r++) {
        if (strcmp(s, role_names[r]) == 0) {
            *out = (zt_admin_role)r;
            return 0;
        }
    }
    return -EINVAL;
}

zt_perms zt_admins_role_perms(zt_admin_role r)
{
    return (unsigned)r < ZT_ROLE_COUNT ? role_perms[r] : 0;
}

const char *zt_admins_perm_name(zt_perms one)
{
    for (int i = 0; i < ZT_PERM_COUNT; i++)
        if (one == (1u << i))
            return perm_names[i];
    return NULL;
}

static int perm_lookup(const char *s, size_t n, zt_perms *out)
{
    if (n == 3 && memcmp(s, "all", 3) == 0) {
        *out = ZT_PERM_ALL;
        return 0;
    }
    for (int i = 0; i < ZT_PERM_COUNT; i++) {
        if (strlen(perm_names[i]) == n && memcmp(perm_names[i], s, n) == 0) {
            *out = 1u << i;
            return 0;
        }
    }
    return -EINVAL;
}

int zt_admins_perms_parse(const char *csv, zt_perms *out, char *bad, size_t badcap)
{
    *out = 0;
    if (bad != NULL && badcap > 0)
        bad[0] = '\0';
    const char *p = csv != NULL ? csv : "";
    bool any = false;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        const char *s = p;
        while (n > 0 && *s == ' ')
            s++, n--;
        while (n > 0 && s[n - 1] == ' ')
            n--;
        zt_perms one = 0;
        if (perm_lookup(s, n, &one) != 0) {
            if (bad != NULL && badcap > 0)
                snprintf(bad, badcap, "%.*s", (int)(n < 48 ? n : 48), s);
            *out = 0;
            return -EINVAL;
        }
        *out |= one;
        any = true;
        if (comma == NULL)
            break;
        p = comma + 1;
    }
    return any ? 0 : -EINVAL;
}

void zt_admins_perms_format(zt_perms p, char *out, size_t cap)
{
    if (cap == 0)
        return;
    out[0] = '\0';
    size_t at = 0;
    for (int i = 0; i < ZT_PERM_COUNT; i++) {
        if (!(p & (1u << i)))
            continue;
        int w = snprintf(out + at, cap - at, "%s%s", at > 0 ? "," : "", perm_names[i]);
        if (w < 0 || (size_t)w >= cap - at)
            return;
        at += (size_t)w;
    }
}

int zt_admins_lifetime_parse(const char *s, int64_t *secs_out)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n < 2 || n > 8 || strspn(s, "0123456789") != n - 1)
        return -EINVAL;
    int64_t v = 0;
    for (size_t i = 0; i + 1 < n; i++)
        v = v * 10 + (s[i] - '0');
    int64_t unit = s[n - 1] == 'm' ? 60 : s[n - 1] == 'h' ? 3600 : s[n - 1] == 'd' ? 86400 : 0;
    if (unit == 0 || v <= 0 || v > ZT_ADMINS_TOKEN_LIFETIME_MAX_S / unit)
        return -EINVAL;
    v *= unit;
    if (v < ZT_ADMINS_TOKEN_LIFETIME_MIN_S)
        return -EINVAL;
    *secs_out = v;
    return 0;
}

/* ---- grants ---- */

typedef struct grant_build {
    zt_admin_grant *g;
    zt_perms scoped; /* permissions held only through scoped roles */
    int rc;
} grant_build;

static int add_scope(zt_admin_grant *g, const char *scope)
{
    for (size_t i = 0; i < g->n_scopes; i++)
        if (strcasecmp(g->scopes[i], scope) == 0)
            return 0;
    if (g->n_scopes == ZT_ADMINS_SCOPES_MAX)
        return -ENOSPC;
    snprintf(g->scopes[g->n_scopes++], sizeof(g->scopes[0]), "%s", scope);
    return 0;
}

static int grant_row(void *ctx, const zt_store_admin_role *r)
{
    grant_build *b = ctx;
    zt_admin_role role;
    if (zt_admins_role_parse(r->role, &role) != 0)
        return -EIO; /* a row the schema's CHECK should have refused: fail closed */
    zt_perms p = role_perms[role];
    b->g->perms |= p;
    b->g->roles |= 1u << role;
    if (r->scope[0] == '\0') {
        b->g->perms_everywhere |= p;
        return 0;
    }
    b->scoped |= p;
    return add_scope(b->g, r->scope);
}

int zt_admins_grant_of(zt_store *st, const char *user_id, zt_admin_grant *out)
{
    memset(out, 0, sizeof(*out));
    zt_user u;
    int rc = zt_store_user_get_by_id(st, user_id, &u);
    if (rc != 0)
        return rc == -EINVAL ? -ENOENT : rc;
    bool dead = u.disabled || zt_account_expired(&u, zt_wall_us() / 1000000);
    snprintf(out->user_id, sizeof(out->user_id), "%s", u.id);
    snprintf(out->email, sizeof(out->email), "%s", u.email);
    zt_user_dispose(&u);
    grant_build b = {.g = out};
    rc = zt_store_admin_role_list(st, user_id, grant_row, &b);
    if (rc == 0 && out->roles == 0)
        rc = -ENOENT;
    if (rc == 0 && dead)
        rc = -EPERM;
    if (rc != 0) {
        zt_perms none = 0;
        out->perms = out->perms_everywhere = none;
        out->everywhere = false;
        out->n_scopes = 0;
        out->roles = 0;
        return rc;
    }
    out->everywhere = (out->perms & ~out->perms_everywhere) == 0;
    return 0;
}

bool zt_admins_may(const zt_admin_grant *g, zt_perms p)
{
    return g != NULL && p != 0 && (g->perms & p) == p;
}

typedef struct scope_walk {
    const zt_admin_grant *g;
    bool in;
} scope_walk;

static int scope_group(void *ctx, const char *name)
{
    scope_walk *w = ctx;
    if (zt_admins_group_in_scope(w->g, name) == 1)
        w->in = true;
    return 0;
}

int zt_admins_user_in_scope(zt_store *st, const zt_admin_grant *g, const char *user_id)
{
    if (g == NULL || g->roles == 0)
        return 0;
    if (g->everywhere)
        return 1;
    scope_walk w = {.g = g};
    int rc = zt_store_user_groups(st, user_id, scope_group, &w);
    if (rc == -ENOENT || rc == -EINVAL)
        return 0;
    return rc < 0 ? rc : w.in ? 1 : 0;
}

static int count_role(void *ctx, const zt_store_admin_role *r)
{
    (void)r;
    (*(size_t *)ctx)++;
    return 0;
}

int zt_admins_may_change_person(zt_store *st, const zt_admin_grant *g, zt_perms p,
                                const char *user_id)
{
    if (g == NULL || (p & ZT_ADMINS_PERMS_OVER_ADMINS) == 0 ||
        (g->perms_everywhere & ZT_PERM_ADMINS) == ZT_PERM_ADMINS)
        return 1;
    size_t roles = 0;
    int rc = zt_store_admin_role_list(st, user_id, count_role, &roles);
    if (rc == -ENOENT || rc == -EINVAL)
        return 1; /* no such user: nothing to protect; the caller answers 404 */
    return rc < 0 ? rc : roles == 0 ? 1 : 0;
}

int zt_admins_may_on_user(zt_store *st, const zt_admin_grant *g, zt_perms p, const char *user_id)
{
    if (!zt_admins_may(g, p))
        return 0;
    int in = (g->perms_everywhere & p) == p ? 1 : zt_admins_user_in_scope(st, g, user_id);
    return in != 1 ? in : zt_admins_may_change_person(st, g, p, user_id);
}

int zt_admins_group_in_scope(const zt_admin_grant *g, const char *group)
{
    if (g == NULL || g->roles == 0 || group == NULL)
        return 0;
    if (g->everywhere)
        return 1;
    for (size_t i = 0; i < g->n_scopes; i++)
        if (strcasecmp(g->scopes[i], group) == 0)
            return 1;
    return 0;
}

typedef struct visible_groups {
    const zt_admin_grant *g;
    zt_store_name_cb cb;
    void *ctx;
} visible_groups;

static int visible_group_cb(void *ctx, const char *name)
{
    visible_groups *v = ctx;
    return zt_admins_group_in_scope(v->g, name) == 1 ? v->cb(v->ctx, name) : 0;
}

int zt_admins_user_groups(zt_store *st, const zt_admin_grant *g, const char *user_id,
                          zt_store_name_cb cb, void *ctx)
{
    if (g != NULL && (g->everywhere || (g->perms_everywhere & ZT_PERM_USERS_READ) != 0))
        return zt_store_user_groups(st, user_id, cb, ctx);
    visible_groups v = {.g = g, .cb = cb, .ctx = ctx};
    return zt_store_user_groups(st, user_id, visible_group_cb, &v);
}

void zt_admins_actor(const zt_admin_grant *g, const char *cred, char name_buf[ZT_ADMINS_ACTOR_MAX],
                     const char *request_id, zt_actor *out)
{
    snprintf(name_buf, ZT_ADMINS_ACTOR_MAX, "admin:%s", g->email);
    *out = (zt_actor){
        .name = name_buf, .type = "Admin", .credential_uid = cred, .request_id = request_id};
}

/* ---- changes ---- */

static bool env_ok(const zt_account_env *env, const zt_actor *who, zt_account_result *res)
{
    if (res != NULL)
        memset(res, 0, sizeof(*res));
    return env != NULL && env->store != NULL && who != NULL && res != NULL && who->name != NULL;
}

/* The record of a saved change; its failure is the caller's to report (res->audit_rc). */
static void record(const zt_account_env *env, const zt_actor *who, zt_account_op op,
                   zt_account_result *res)
{
    res->audit_rc = zt_account_record(env, who, op, res);
}

static int user_of(zt_store *st, const char *user_id, zt_account_result *res)
{
    zt_user u;
    int rc = zt_store_user_get_by_id(st, user_id, &u);
    if (rc == 0) {
        snprintf(res->user_id, sizeof(res->user_id), "%s", u.id);
        snprintf(res->email, sizeof(res->email), "%s", u.email);
        zt_user_dispose(&u);
    }
    return rc == -EINVAL ? -ENOENT : rc;
}

static int count_scopes(void *ctx, const zt_store_admin_role *r)
{
    size_t *n = ctx;
    if (r->scope[0] != '\0')
        (*n)++;
    return 0;
}

/* The scope group's canonical name, after checking the person's scopes stay within the cap. */
static int scope_canonical(zt_store *st, const char *user_id, const char *scope, char *out,
                           size_t cap, zt_account_result *res)
{
    zt_store_group grp;
    int rc = zt_store_group_get(st, scope, &grp); /* checks the name's shape too */
    if (rc == -ENOENT)
        snprintf(res->missing_group, sizeof(res->missing_group), "%s", scope);
    if (rc != 0)
        return rc;
    size_t scoped = 0;
    rc = zt_store_admin_role_list(st, user_id, count_scopes, &scoped);
    if (rc == 0 && scoped >= ZT_ADMINS_SCOPES_MAX)
        rc = -ENOSPC;
    snprintf(out, cap, "%s", grp.name);
    return rc;
}

static int grant_store(const zt_account_env *env, const zt_actor *who, const char *user_id,
                       zt_admin_role role, const char *scope, bool only_first,
                       zt_account_result *res)
{
    if ((unsigned)role >= ZT_ROLE_COUNT)
        return -EINVAL;
    int rc = user_of(env->store, user_id, res);
    if (rc != 0)
        return rc;
    zt_store_admin_role r = {.created_at = zt_wall_us() / 1000000};
    if (scope != NULL && scope[0] != '\0') {
        rc = scope_canonical(env->store, res->user_id, scope, r.scope, sizeof(r.scope), res);
        if (rc != 0)
            return rc;
    }
    snprintf(r.user_id, sizeof(r.user_id), "%s", res->user_id);
    snprintf(r.role, sizeof(r.role), "%s", role_names[role]);
    snprintf(r.created_by, sizeof(r.created_by), "%s", who->name);
    rc = zt_store_admin_role_add(env->store, &r, only_first);
    if (rc != 0)
        return rc;
    snprintf(res->group, sizeof(res->group), "%s", r.scope);
    snprintf(res->change, sizeof(res->change), "role %s granted %s%s", role_names[role],
             r.scope[0] ? "in " : "everywhere", r.scope);
    record(env, who, ZT_ACCOUNT_ADMIN_GRANT, res);
    return 0;
}

int zt_admins_grant(const zt_account_env *env, const zt_actor *who, const char *user_id,
                    zt_admin_role role, const char *scope, zt_account_result *res)
{
    if (!env_ok(env, who, res))
        return -EINVAL;
    return grant_store(env, who, user_id, role, scope, false, res);
}

/* Unscoped global_admin rows: held by the user, and by anyone else. */
typedef struct global_count {
    const char *user_id;
    size_t mine, others;
} global_count;

static int count_global(void *ctx, const zt_store_admin_role *r)
{
    global_count *g = ctx;
    if (strcmp(r->role, role_names[ZT_ROLE_GLOBAL_ADMIN]) == 0 && r->scope[0] == '\0') {
        if (strcmp(r->user_id, g->user_id) == 0)
            g->mine++;
        else
            g->others++;
    }
    return 0;
}

/* Whether this removal would take away the last unscoped global admin: nobody could then
 * grant roles through the API or the console (only root on the gateway host). A store error
 * counts as "would" (fail closed). */
static bool would_orphan(zt_store *st, const char *user_id, zt_admin_role role, const char *scope)
{
    if ((role != ZT_ROLE_COUNT && role != ZT_ROLE_GLOBAL_ADMIN) || (scope != NULL && scope[0]))
        return false;
    global_count g = {.user_id = user_id};
    if (zt_store_admin_role_list(st, NULL, count_global, &g) != 0)
        return true;
    return g.mine > 0 && g.others == 0;
}

int zt_admins_revoke(const zt_account_env *env, const zt_actor *who, const char *user_id,
                     zt_admin_role role, const char *scope, zt_account_result *res)
{
    if (!env_ok(env, who, res) || (unsigned)role > ZT_ROLE_COUNT)
        return -EINVAL;
    int rc = user_of(env->store, user_id, res);
    if (rc == 0 && would_orphan(env->store, res->user_id, role, scope))
        return -EMLINK;
    uint64_t n = 0;
    const char *name = role == ZT_ROLE_COUNT ? NULL : role_names[role];
    if (rc == 0)
        rc = zt_store_admin_role_remove(env->store, res->user_id, name, scope, &n);
    if (rc != 0)
        return rc;
    snprintf(res->group, sizeof(res->group), "%s", scope != NULL ? scope : "");
    snprintf(res->change, sizeof(res->change), "%s removed%s%s (%llu)",
             name != NULL ? name : "every role", scope != NULL && scope[0] ? " in " : "",
             scope != NULL ? scope : "", (unsigned long long)n);
    record(env, who, ZT_ACCOUNT_ADMIN_REVOKE, res);
    return 0;
}

/* ---- tokens ---- */

static void token_hash(const char *tok, size_t n, unsigned char out[ZT_STORE_ADMIN_TOKEN_HASH_LEN])
{
    crypto_hash_sha256(out, (const unsigned char *)tok, n);
}

bool zt_admins_token_shaped(const char *tok, size_t n)
{
    const size_t pre = sizeof(ZT_ADMINS_TOKEN_PREFIX) - 1;
    if (tok == NULL || n != ZT_ADMINS_TOKEN_LEN || memcmp(tok, ZT_ADMINS_TOKEN_PREFIX, pre) != 0)
        return false;
    for (size_t i = pre; i < pre + ZT_STORE_ADMIN_TOKEN_ID_LEN; i++)
        if (!((tok[i] >= '0' && tok[i] <= '9') || (tok[i] >= 'a' && tok[i] <= 'f')))
            return false;
    if (tok[pre + ZT_STORE_ADMIN_TOKEN_ID_LEN] != '_')
        return false;
    for (size_t i = pre + ZT_STORE_ADMIN_TOKEN_ID_LEN + 1; i < n; i++) {
        char c = tok[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_'))
            return false;
    }
    return true;
}

static void token_make(char id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1], char out[ZT_ADMINS_TOKEN_LEN + 1])
{
    unsigned char secret[TOKEN_SECRET_BYTES];
    char b64[ZT_ADMINS_TOKEN_SECRET_CHARS + 2];
    zt_random_hex(id, TOKEN_ID_BYTES);
    zt_random(secret, sizeof(secret));
    sodium_bin2base64(b64, sizeof(b64), secret, sizeof(secret),
                      sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    const size_t pre = sizeof(ZT_ADMINS_TOKEN_PREFIX) - 1;
    memcpy(out, ZT_ADMINS_TOKEN_PREFIX, pre);
    memcpy(out + pre, id, ZT_STORE_ADMIN_TOKEN_ID_LEN);
    out[pre + ZT_STORE_ADMIN_TOKEN_ID_LEN] = '_';
    memcpy(out + pre + ZT_STORE_ADMIN_TOKEN_ID_LEN + 1, b64, ZT_ADMINS_TOKEN_SECRET_CHARS);
    out[ZT_ADMINS_TOKEN_LEN] = '\0';
    zt_wipe(secret, sizeof(secret));
    zt_wipe(b64, sizeof(b64));
}

static int token_store(const zt_account_env *env, const zt_actor *who, const zt_admins_token_new *n,
                       char token_out[ZT_ADMINS_TOKEN_LEN + 1], zt_store_admin_token *out,
                       zt_account_result *res)
{
    zt_admin_grant g;
    int rc = zt_admins_grant_of(env->store, n->user_id, &g);
    if (rc != 0)
        return rc == -EPERM ? -EPERM : rc == -EINVAL ? -ENOENT : rc;
    if ((n->scopes & ~g.perms) != 0)
        return -EPERM;
    int64_t life = n->lifetime_s == 0 ? ZT_ADMINS_TOKEN_LIFETIME_DEFAULT_S : n->lifetime_s;
    if (life < ZT_ADMINS_TOKEN_LIFETIME_MIN_S || life > ZT_ADMINS_TOKEN_LIFETIME_MAX_S)
        return -EINVAL;
    zt_store_admin_token t = {.scopes = n->scopes != 0 ? n->scopes : g.perms,
                              .created_at = zt_wall_us() / 1000000};
    t.expires_at = t.created_at + life;
    snprintf(t.user_id, sizeof(t.user_id), "%s", g.user_id);
    snprintf(t.email, sizeof(t.email), "%s", g.email);
    if (n->name == NULL || strlen(n->name) >= sizeof(t.name))
        return -EINVAL;
    snprintf(t.name, sizeof(t.name), "%s", n->name);
    snprintf(t.created_by, sizeof(t.created_by), "%s", who->name);
    if (n->parent_id != NULL && strlen(n->parent_id) >= sizeof(t.parent_id))
        return -EINVAL;
    snprintf(t.parent_id, sizeof(t.parent_id), "%s", n->parent_id != NULL ? n->parent_id : "");
    unsigned char h[ZT_STORE_ADMIN_TOKEN_HASH_LEN];
    token_make(t.id, token_out);
    token_hash(token_out, strlen(token_out), h);
    rc = zt_store_admin_token_add(env->store, &t, h);
    zt_wipe(h, sizeof(h));
    if (rc != 0) {
        zt_wipe(token_out, ZT_ADMINS_TOKEN_LEN + 1);
        return rc;
    }
    if (out != NULL)
        *out = t;
    snprintf(res->user_id, sizeof(res->user_id), "%s", g.user_id);
    snprintf(res->email, sizeof(res->email), "%s", g.email);
    snprintf(res->change, sizeof(res->change), "token %s created, expires in %lld days", t.id,
             (long long)(life / 86400));
    record(env, who, ZT_ACCOUNT_ADMIN_TOKEN_CREATE, res);
    return 0;
}

int zt_admins_token_create(const zt_account_env *env, const zt_actor *who,
                           const zt_admins_token_new *n, char token_out[ZT_ADMINS_TOKEN_LEN + 1],
                           zt_store_admin_token *out, zt_account_result *res)
{
    if (!env_ok(env, who, res) || n == NULL || n->user_id == NULL || token_out == NULL)
        return -EINVAL;
    token_out[0] = '\0';
    return token_store(env, who, n, token_out, out, res);
}

/* One record per revoked offspring, on its owner. A record that cannot be written is reported
 * through res->audit_rc like the token's own. */
static void record_offspring(const zt_account_env *env, const zt_actor *who, const char *root,
                             const zt_store_admin_cascade *more, zt_account_result *res)
{
    size_t named = more->n < ZT_STORE_ADMIN_CASCADE_NAMED ? more->n : ZT_STORE_ADMIN_CASCADE_NAMED;
    for (size_t i = 0; i < named; i++) {
        zt_account_result one = {.audit_rc = 0};
        if (user_of(env->store, more->named[i].user_id, &one) != 0)
            snprintf(one.user_id, sizeof(one.user_id), "%s", more->named[i].user_id);
        snprintf(one.change, sizeof(one.change), "token %s revoked: made from token %s",
                 more->named[i].id, root);
        record(env, who, ZT_ACCOUNT_ADMIN_TOKEN_REVOKE, &one);
        if (one.audit_rc != 0 && res->audit_rc == 0)
            res->audit_rc = one.audit_rc;
    }
}

int zt_admins_token_revoke(const zt_account_env *env, const zt_actor *who, const char *id,
                           zt_account_result *res, zt_store_admin_cascade *more)
{
    zt_store_admin_cascade ignored;
    if (more == NULL)
        more = &ignored;
    memset(more, 0, sizeof(*more));
    if (!env_ok(env, who, res))
        return -EINVAL;
    zt_store_admin_token t;
    int rc = zt_store_admin_token_get(env->store, id, &t, NULL);
    if (rc == -EINVAL)
        rc = -ENOENT;
    rc = rc ? rc : zt_store_admin_token_revoke(env->store, id, zt_wall_us() / 1000000, more);
    if (rc != 0)
        return rc;
    snprintf(res->user_id, sizeof(res->user_id), "%s", t.user_id);
    snprintf(res->email, sizeof(res->email), "%s", t.email);
    if (more->n == 0)
        snprintf(res->change, sizeof(res->change), "token %s revoked", t.id);
    else if (t.revoked_at != 0) /* revoked before; only its offspring were left */
        snprintf(res->change, sizeof(res->change),
                 "token %s was revoked already; %zu made from it revoked now", t.id, more->n);
    else
        snprintf(res->change, sizeof(res->change), "token %s revoked, with %zu made from it", t.id,
                 more->n);
    record(env, who, ZT_ACCOUNT_ADMIN_TOKEN_REVOKE, res);
    record_offspring(env, who, t.id, more, res);
    return 0;
}

int zt_admins_token_verify(zt_store *st, const char *tok, size_t n, int64_t now,
                           zt_admins_auth *out)
{
    memset(out, 0, sizeof(*out));
    if (!zt_admins_token_shaped(tok, n))
        return -EINVAL;
    char id[ZT_STORE_ADMIN_TOKEN_ID_LEN + 1];
    memcpy(id, tok + sizeof(ZT_ADMINS_TOKEN_PREFIX) - 1, ZT_STORE_ADMIN_TOKEN_ID_LEN);
    id[ZT_STORE_ADMIN_TOKEN_ID_LEN] = '\0';
    unsigned char stored[ZT_STORE_ADMIN_TOKEN_HASH_LEN], given[ZT_STORE_ADMIN_TOKEN_HASH_LEN];
    int rc = zt_store_admin_token_get(st, id, &out->token, stored);
    if (rc != 0)
        return rc == -ENOENT ? -EACCES : rc;
    token_hash(tok, n, given);
    bool match = zt_ct_eq(stored, given, sizeof(stored));
    zt_wipe(stored, sizeof(stored));
    zt_wipe(given, sizeof(given));
    if (!match)
        rc = -EACCES;
    else if (out->token.revoked_at != 0)
        rc = -ECANCELED;
    else if (now >= out->token.expires_at)
        rc = -ETIMEDOUT;
    else if ((rc = zt_admins_grant_of(st, out->token.user_id, &out->grant)) != 0)
        rc = rc == -ENOENT || rc == -EPERM ? -EPERM : rc;
    if (rc != 0) {
        memset(&out->grant, 0, sizeof(out->grant));
        return rc;
    }
    zt_admin_grant *g = &out->grant;
    g->perms &= out->token.scopes;
    g->perms_everywhere &= out->token.scopes;
    g->everywhere = (g->perms & ~g->perms_everywhere) == 0;
    if (now - out->token.last_used_at >= TOUCH_EVERY_S &&
        zt_store_admin_token_touch(st, id, now) == 0)
        out->token.last_used_at = now;
    return 0;
}

int zt_admins_first(const zt_account_env *env, const zt_actor *who, const char *user_id,
                    char token_out[ZT_ADMINS_TOKEN_LEN + 1], zt_store_admin_token *out,
                    zt_account_result *res)
{
    if (!env_ok(env, who, res) || token_out == NULL)
        return -EINVAL;
    token_out[0] = '\0';
    int rc = grant_store(env, who, user_id, ZT_ROLE_GLOBAL_ADMIN, NULL, true, res);
    if (rc != 0)
        return rc;
    int audit_rc = res->audit_rc;
    zt_admins_token_new n = {.user_id = user_id, .name = FIRST_TOKEN_NAME};
    rc = token_store(env, who, &n, token_out, out, res);
    if (res->audit_rc == 0)
        res->audit_rc = audit_rc;
    return rc;
}
