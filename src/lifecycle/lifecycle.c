/* Account lifecycle (lifecycle.h): expiry words, the sweep, the inactive-accounts report. */
#include "lifecycle/lifecycle.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/secure.h"
#include "lib/time.h"

#define DAY_S 86400
/* 10000-01-01T00:00:00Z: RFC 3339 has four-digit years, so an expiry is written before it. */
#define EXPIRY_END 253402300800LL

bool zt_lifecycle_parse_expiry(const char *s, int64_t *out)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s);
    if (n == 0 || strcmp(s, "never") == 0) {
        *out = 0;
        return true;
    }
    int64_t us = 0;
    if (n == 10) { /* YYYY-MM-DD: through that day, UTC */
        char full[32];
        snprintf(full, sizeof(full), "%sT00:00:00Z", s);
        if (!zt_parse_rfc3339(full, strlen(full), ZT_RFC3339_UPPER, &us) || us < 0)
            return false;
        if (us / 1000000 + DAY_S >= EXPIRY_END)
            return false;
        *out = us / 1000000 + DAY_S;
        return true;
    }
    if (!zt_parse_rfc3339(s, n, 0, &us) || us <= 0)
        return false;
    /* A fraction of a second would be refused a second later than written: round up. */
    int64_t t = us / 1000000 + (us % 1000000 != 0);
    if (t >= EXPIRY_END)
        return false;
    *out = t;
    return true;
}

void zt_lifecycle_expiry_text(int64_t t, char out[32])
{
    if (t <= 0) {
        snprintf(out, 32, "never");
        return;
    }
    char full[40];
    size_t n = zt_rfc3339(t * 1000000, full, sizeof(full));
    /* Whole seconds: "2027-04-01T00:00:00.000000Z" -> "2027-04-01T00:00:00Z". */
    char *dot = memchr(full, '.', n);
    size_t keep = dot != NULL ? (size_t)(dot - full) : n;
    if (keep > 0 && full[keep - 1] == 'Z')
        keep--;
    if (keep > 30)
        keep = 30;
    memcpy(out, full, keep);
    out[keep] = 'Z';
    out[keep + 1] = '\0';
}

const char *zt_lifecycle_status(const zt_user *u, int64_t now)
{
    if (u->disabled)
        return "disabled";
    return zt_account_expired(u, now) ? "expired" : "active";
}

bool zt_lifecycle_sponsor_ok(const char *s)
{
    if (s == NULL)
        return false;
    size_t n = strlen(s), at = 0, n_at = 0;
    if (n == 0)
        return true;
    if (n > ZT_STORE_EMAIL_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c <= 0x20 || c == 0x7f || c == ',' || c == ';' || c == '"' || c == '<' || c == '>')
            return false;
        if (c == '@') {
            at = i;
            n_at++;
        }
    }
    return n_at == 1 && at > 0 && at + 1 < n;
}

/* ---- users, copied out (the store may not be called from its own callbacks) ---- */

typedef struct user_vec {
    zt_user *v;
    size_t n, cap;
    int64_t expired_at; /* > 0: keep only accounts expired at this time (the sweep's) */
} user_vec;

static int collect_cb(void *ctx, const zt_user *u)
{
    user_vec *vec = ctx;
    if (vec->expired_at > 0 && !zt_account_expired(u, vec->expired_at))
        return 0; /* the sweep copies the few that matter, not every account every minute */
    if (vec->n == vec->cap) {
        size_t cap = vec->cap ? vec->cap * 2 : 64;
        zt_user *v = realloc(vec->v, cap * sizeof(*v));
        if (v == NULL)
            return -ENOMEM;
        vec->v = v;
        vec->cap = cap;
    }
    zt_user *d = &vec->v[vec->n++];
    *d = *u;
    zt_wipe(d->password_hash, sizeof(d->password_hash)); /* nobody here needs it */
    return 0;
}

static void user_vec_free(user_vec *vec)
{
    free(vec->v);
    memset(vec, 0, sizeof(*vec));
}

/* ---- the sweep ---- */

/* Sessions outlive their account's expiry by at most their absolute lifetime; past this the
 * sweep stops looking for rows (the lookup refuses them anyway). The store picks the accounts
 * still due (zt_store_user_list_expired): expired and not changed since, or expired within this
 * window and still holding session rows (another change, a directory sync's, came first). */
#define SWEEP_ROWS_WINDOW_S (7 * DAY_S)

int zt_lifecycle_sweep(const zt_account_env *env, int64_t now, zt_lifecycle_sweep_result *res)
{
    memset(res, 0, sizeof(*res));
    user_vec vec = {.expired_at = now > 0 ? now : 1};
    int rc = zt_store_user_list_expired(env->store, vec.expired_at, SWEEP_ROWS_WINDOW_S, collect_cb,
                                        &vec);
    unsigned tried = 0;
    static const zt_actor who = {
        .name = ZT_LIFECYCLE_ACTOR, .type = "System", .process = "expiry sweep"};
    for (size_t i = 0; rc == 0 && i < vec.n; i++) {
        if (tried++ == ZT_LIFECYCLE_SWEEP_BATCH) {
            res->more = true;
            break;
        }
        zt_account_result r;
        int arc = zt_account_revoke_sessions(env, &who, vec.v[i].id, &r);
        if (arc == -ENOENT)
            continue; /* deleted meanwhile */
        if (arc != 0 || r.audit_rc != 0 || r.revocation_rc != 0)
            res->failed++;
        if (arc == 0)
            res->ended++;
    }
    user_vec_free(&vec);
    return rc;
}

/* ---- accounts nobody uses ---- */

int zt_lifecycle_inactive_list(zt_store *st, int64_t now, unsigned days,
                               zt_lifecycle_inactive_cb cb, void *ctx)
{
    user_vec vec = {0};
    int rc = zt_store_user_list(st, collect_cb, &vec);
    for (size_t i = 0; rc == 0 && i < vec.n; i++) {
        const zt_user *u = &vec.v[i];
        int64_t last = u->last_sign_in_at > 0 ? u->last_sign_in_at : u->created_at;
        int64_t idle = now > last ? (now - last) / DAY_S : 0;
        if (idle < (int64_t)days)
            continue;
        zt_lifecycle_inactive row = {
            .u = u, .last_active = last, .idle_days = idle, .status = zt_lifecycle_status(u, now)};
        rc = cb(ctx, &row);
    }
    user_vec_free(&vec);
    return rc;
}
