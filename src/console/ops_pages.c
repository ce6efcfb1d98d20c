/* Shared parts of the operations pages (ops_pages.h). */
#include "console/ops_pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http/api.h"
#include "lib/buf.h"
#include "lib/time.h"
#include "store/store.h"

void cop_th(zt_console_ctx *cx, zt_msg m)
{
    zt_console_printf(cx, "<th scope=\"col\">");
    zt_console_msg(cx, m);
    zt_console_printf(cx, "</th>");
}

const char *cop_audit_live(const zt_console_ctx *cx)
{
    const char *live = cx->r->cfg->audit.path;
    return live != NULL && strcmp(live, "off") != 0 ? live : NULL;
}

int64_t cop_record_time(const zt_aq_fields *f)
{
    const zt_aq_span *s = &f->f[ZT_AQF_TIME];
    int64_t us;
    if (s->p == NULL || !s->string || s->escaped || !zt_parse_rfc3339(s->p, s->n, 0, &us))
        return 0;
    return us / 1000000;
}

/* ---- a scoped admin's users ---- */

typedef struct user_vec {
    char (*id)[ZT_STORE_ID_LEN + 1];
    char (*email)[ZT_STORE_EMAIL_MAX + 1];
    size_t n, cap;
} user_vec;

static int user_cb(void *ctx, const zt_user *u)
{
    user_vec *k = ctx;
    if (k->n == k->cap) {
        size_t cap = k->cap ? k->cap * 2 : 64;
        void *a = realloc(k->id, cap * sizeof(*k->id));
        if (a == NULL)
            return -ENOMEM;
        k->id = a;
        void *b = realloc(k->email, cap * sizeof(*k->email));
        if (b == NULL)
            return -ENOMEM;
        k->email = b;
        k->cap = cap;
    }
    snprintf(k->id[k->n], sizeof(k->id[0]), "%s", u->id);
    snprintf(k->email[k->n], sizeof(k->email[0]), "%s", u->email);
    k->n++;
    return 0;
}

static int scope_add(cop_scope *s, const char *v)
{
    if (s->n >= ZT_AQ_MAX_ALLOWED)
        return -E2BIG; /* a partial set would hide records silently: refuse */
    if ((s->users[s->n] = strdup(v)) == NULL)
        return -ENOMEM;
    s->n++;
    return 0;
}

/* Users are copied out first: the scope check queries the store, which its own list callback
 * may not. */
int cop_scope_users(zt_console_ctx *cx, cop_scope *out)
{
    memset(out, 0, sizeof(*out));
    if (zt_console_grant(cx)->everywhere)
        return 0;
    out->limited = true;
    user_vec all = {0};
    int rc = zt_store_user_list(zt_console_store(cx), user_cb, &all);
    if (rc == 0 && (out->users = calloc(ZT_AQ_MAX_ALLOWED, sizeof(char *))) == NULL)
        rc = -ENOMEM;
    for (size_t i = 0; rc == 0 && i < all.n; i++) {
        int in = zt_console_user_in_scope(cx, all.id[i]);
        if (in < 0)
            rc = in;
        else if (in == 1 && (rc = scope_add(out, all.id[i])) == 0)
            rc = scope_add(out, all.email[i]);
    }
    free(all.id);
    free(all.email);
    if (rc != 0)
        cop_scope_free(out);
    return rc;
}

void cop_scope_apply(const cop_scope *s, zt_aq_filter *f)
{
    if (!s->limited)
        return;
    /* A scoped admin with nobody in scope sees nothing: an impossible user keeps the list
     * non-empty (an empty list would read as "no restriction"). */
    static const char *const nobody[] = {"-"};
    f->allowed_users = s->n > 0 ? (const char *const *)s->users : nobody;
    f->n_allowed = s->n > 0 ? s->n : 1;
}

void cop_scope_free(cop_scope *s)
{
    for (size_t i = 0; i < s->n; i++)
        free(s->users[i]);
    free(s->users);
    memset(s, 0, sizeof(*s));
}
