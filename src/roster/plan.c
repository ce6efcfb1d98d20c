/* The diff between a roster and the store, and its text (roster.h). */
#include "roster/roster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/buf.h"

#define PLAN_TEXT_MAX (64u * 1024 * 1024)

/* ---- snapshot ---- */

static char *dup_or_empty(const char *s)
{
    return strdup(s != NULL ? s : "");
}

static void user_free(zt_roster_user *u)
{
    free(u->email);
    free(u->name);
    free(u->source);
    free(u->external_id);
    free(u->sponsor);
    for (size_t i = 0; i < u->n_groups; i++)
        free(u->groups[i]);
    free(u->groups);
    free(u->by_source);
}

int zt_roster_snapshot_add_user(zt_roster_snapshot *s, const zt_roster_user *u)
{
    if (s->n == s->cap && zt_array_grow(&s->users, &s->cap, sizeof(*s->users), 256) != 0)
        return -ENOMEM;
    zt_roster_user c = {.expires_at = u->expires_at, .disabled = u->disabled};
    snprintf(c.id, sizeof(c.id), "%s", u->id);
    c.email = dup_or_empty(u->email);
    c.name = dup_or_empty(u->name);
    c.source = dup_or_empty(u->source);
    c.external_id = dup_or_empty(u->external_id);
    c.sponsor = dup_or_empty(u->sponsor);
    c.groups = calloc(u->n_groups + 1, sizeof(*c.groups));
    c.by_source = calloc(u->n_groups + 1, sizeof(*c.by_source));
    bool ok =
        c.email && c.name && c.source && c.external_id && c.sponsor && c.groups && c.by_source;
    for (size_t i = 0; ok && i < u->n_groups; i++) {
        ok = (c.groups[i] = strdup(u->groups[i])) != NULL;
        c.by_source[i] = u->by_source[i];
        c.n_groups += ok;
    }
    if (!ok) {
        user_free(&c);
        return -ENOMEM;
    }
    s->users[s->n++] = c;
    return 0;
}

int zt_roster_snapshot_add_group(zt_roster_snapshot *s, const char *name)
{
    if (s->n_groups == s->groups_cap &&
        zt_array_grow(&s->groups, &s->groups_cap, sizeof(*s->groups), 64) != 0)
        return -ENOMEM;
    char *c = strdup(name);
    if (c == NULL)
        return -ENOMEM;
    s->groups[s->n_groups++] = c;
    return 0;
}

static int cmp_user(const void *a, const void *b)
{
    return strcasecmp(((const zt_roster_user *)a)->email, ((const zt_roster_user *)b)->email);
}

static int cmp_str_ci(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

void zt_roster_snapshot_sort(zt_roster_snapshot *s)
{
    if (s->n > 0) /* qsort and bsearch want a real array even for 0 items */
        qsort(s->users, s->n, sizeof(*s->users), cmp_user);
    if (s->n_groups > 0)
        qsort(s->groups, s->n_groups, sizeof(*s->groups), cmp_str_ci);
}

void zt_roster_snapshot_dispose(zt_roster_snapshot *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n; i++)
        user_free(&s->users[i]);
    free(s->users);
    for (size_t i = 0; i < s->n_groups; i++)
        free(s->groups[i]);
    free(s->groups);
    memset(s, 0, sizeof(*s));
}

static const zt_roster_user *find_user(const zt_roster_snapshot *s, const char *email)
{
    zt_roster_user key = {.email = (char *)email};
    return s->n > 0 ? bsearch(&key, s->users, s->n, sizeof(*s->users), cmp_user) : NULL;
}

static bool group_exists(const zt_roster_snapshot *s, const char *name)
{
    return s->n_groups > 0 &&
           bsearch(&name, s->groups, s->n_groups, sizeof(*s->groups), cmp_str_ci) != NULL;
}

/* ---- plan ---- */

static int push(zt_roster_plan *p, const zt_roster_change *c)
{
    if (p->n == p->cap && zt_array_grow(&p->changes, &p->cap, sizeof(*p->changes), 64) != 0)
        return -ENOMEM;
    p->changes[p->n++] = *c;
    return 0;
}

static int group_col(const zt_roster *r)
{
    return (int)r->col_of[__builtin_ctz(ZT_ROSTER_COL_GROUPS)] + 1;
}

/* Groups the file names that the store lacks: refused, or collected for creation. */
static int check_groups(const zt_roster *r, const zt_roster_snapshot *snap, const zt_roster_opts *o,
                        zt_roster_plan *p, zt_csv_error *err)
{
    for (size_t i = 0; i < r->n; i++) {
        const zt_roster_entry *e = &r->entries[i];
        for (size_t g = 0; g < e->n_groups; g++) {
            if (group_exists(snap, e->groups[g]))
                continue;
            if (!o->create_groups)
                return zt_csv_fail(
                    err, e->row, e->line, (size_t)group_col(r),
                    "group '%s' does not exist (create it with `ztgate group add`, or "
                    "pass --create-groups)",
                    e->groups[g]);
            bool seen = false;
            for (size_t k = 0; k < p->n_new_groups && !seen; k++)
                seen = strcasecmp(p->new_groups[k], e->groups[g]) == 0;
            if (seen)
                continue;
            if (p->n_new_groups % 64 == 0) {
                const char **ng =
                    realloc(p->new_groups, (p->n_new_groups + 64) * sizeof(*p->new_groups));
                if (ng == NULL)
                    return -ENOMEM;
                p->new_groups = ng;
            }
            p->new_groups[p->n_new_groups++] = e->groups[g];
        }
    }
    if (p->n_new_groups > 0)
        qsort(p->new_groups, p->n_new_groups, sizeof(*p->new_groups), cmp_str_ci);
    return 0;
}

static bool holds(const zt_roster_user *u, const char *g, bool *by_source)
{
    for (size_t i = 0; i < u->n_groups; i++)
        if (strcasecmp(u->groups[i], g) == 0) {
            *by_source = u->by_source[i];
            return true;
        }
    return false;
}

static bool listed(const zt_roster_entry *e, const char *g)
{
    for (size_t i = 0; i < e->n_groups; i++)
        if (strcasecmp(e->groups[i], g) == 0)
            return true;
    return false;
}

/* Added: listed but not held at all. Removed: held by the source but no longer listed. */
static int group_moves(const zt_roster_entry *e, const zt_roster_user *u, zt_roster_change *c)
{
    c->added = calloc(e->n_groups + 1, sizeof(*c->added));
    c->removed = calloc(u->n_groups + 1, sizeof(*c->removed));
    if (c->added == NULL || c->removed == NULL)
        return -ENOMEM;
    bool by_source;
    for (size_t i = 0; i < e->n_groups; i++)
        if (!holds(u, e->groups[i], &by_source))
            c->added[c->n_added++] = e->groups[i];
    for (size_t i = 0; i < u->n_groups; i++)
        if (u->by_source[i] && !listed(e, u->groups[i]))
            c->removed[c->n_removed++] = u->groups[i];
    if (c->n_added + c->n_removed > 0)
        c->what |= ZT_ROSTER_CH_GROUPS;
    return 0;
}

static int update_of(const zt_roster *r, const zt_roster_entry *e, const zt_roster_user *u,
                     const zt_roster_opts *o, zt_roster_change *c)
{
    *c = (zt_roster_change){.kind = ZT_ROSTER_UPDATE, .entry = e, .user = u};
    if ((r->columns & ZT_ROSTER_COL_NAME) && strcmp(e->name, u->name) != 0)
        c->what |= ZT_ROSTER_CH_NAME;
    if ((r->columns & ZT_ROSTER_COL_EXPIRES) && e->expires_at != u->expires_at)
        c->what |= ZT_ROSTER_CH_EXPIRES;
    if ((r->columns & ZT_ROSTER_COL_SPONSOR) && strcasecmp(e->sponsor, u->sponsor) != 0)
        c->what |= ZT_ROSTER_CH_SPONSOR;
    if ((r->columns & ZT_ROSTER_COL_ID) && strcmp(e->external_id, u->external_id) != 0)
        c->what |= ZT_ROSTER_CH_EXTERNAL_ID;
    if (strcmp(u->source, o->source) != 0)
        c->what |= ZT_ROSTER_CH_SOURCE;
    return (r->columns & ZT_ROSTER_COL_GROUPS) ? group_moves(e, u, c) : 0;
}

/* The source's users that have an id, sorted by it: who holds the id a row gives. */
typedef struct id_index {
    const zt_roster_user **u;
    size_t n;
} id_index;

static int cmp_by_id(const void *a, const void *b)
{
    return strcmp((*(const zt_roster_user *const *)a)->external_id,
                  (*(const zt_roster_user *const *)b)->external_id);
}

static int id_index_make(const zt_roster_snapshot *snap, const char *source, id_index *ix)
{
    ix->n = 0;
    ix->u = calloc(snap->n + 1, sizeof(*ix->u));
    if (ix->u == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < snap->n; i++)
        if (snap->users[i].external_id[0] != '\0' && strcmp(snap->users[i].source, source) == 0)
            ix->u[ix->n++] = &snap->users[i];
    qsort(ix->u, ix->n, sizeof(*ix->u), cmp_by_id);
    return 0;
}

static const zt_roster_user *id_taken(const id_index *ix, const zt_roster_entry *e,
                                      const zt_roster_user *self)
{
    if (e->external_id[0] == '\0')
        return NULL;
    zt_roster_user key = {.external_id = (char *)e->external_id};
    const zt_roster_user *k = &key;
    const zt_roster_user *const *hit = bsearch(&k, ix->u, ix->n, sizeof(*ix->u), cmp_by_id);
    return hit != NULL && *hit != self ? *hit : NULL;
}

static int plan_row(const zt_roster *r, const zt_roster_snapshot *snap, const zt_roster_opts *o,
                    const id_index *ix, const zt_roster_entry *e, zt_roster_plan *p,
                    zt_csv_error *err)
{
    const zt_roster_user *u = find_user(snap, e->email);
    size_t email_col = r->col_of[0] + 1;
    if (u != NULL && strcmp(u->source, o->source) != 0 && strcmp(u->source, "local") != 0)
        return zt_csv_fail(err, e->row, e->line, email_col,
                           "%s belongs to source '%s', not '%s' (that source keeps it up to date)",
                           e->email, u->source, o->source);
    const zt_roster_user *other = (r->columns & ZT_ROSTER_COL_ID) ? id_taken(ix, e, u) : NULL;
    if (other != NULL)
        return zt_csv_fail(err, e->row, e->line, r->col_of[5] + 1, "id '%s' belongs to %s already",
                           e->external_id, other->email);
    zt_roster_change c;
    if (u == NULL) {
        c = (zt_roster_change){.kind = ZT_ROSTER_CREATE, .entry = e, .what = r->columns};
        p->n_create++;
        return push(p, &c);
    }
    if (u->disabled)
        p->n_still_disabled++;
    int rc = update_of(r, e, u, o, &c);
    if (rc == 0 && c.what != 0) {
        p->n_update++;
        return push(p, &c);
    }
    free(c.added);
    free(c.removed);
    p->n_unchanged += rc == 0;
    return rc;
}

/* Rows by email, to find the source's users the file no longer lists. */
static bool in_file(const zt_roster *r, const char *const *sorted, const char *email)
{
    (void)r;
    return bsearch(&email, sorted, r->n, sizeof(*sorted), cmp_str_ci) != NULL;
}

static int plan_disables(const zt_roster *r, const zt_roster_snapshot *snap,
                         const zt_roster_opts *o, zt_roster_plan *p)
{
    const char **sorted = calloc(r->n + 1, sizeof(*sorted));
    if (sorted == NULL)
        return -ENOMEM;
    for (size_t i = 0; i < r->n; i++)
        sorted[i] = r->entries[i].email;
    qsort(sorted, r->n, sizeof(*sorted), cmp_str_ci);
    int rc = 0;
    for (size_t i = 0; i < snap->n && rc == 0; i++) {
        const zt_roster_user *u = &snap->users[i];
        if (u->disabled || strcmp(u->source, o->source) != 0 || in_file(r, sorted, u->email))
            continue;
        zt_roster_change c = {.kind = ZT_ROSTER_DISABLE, .user = u};
        rc = push(p, &c);
        p->n_disable += rc == 0;
    }
    free(sorted);
    return rc;
}

int zt_roster_plan_make(const zt_roster *r, const zt_roster_snapshot *snap, const zt_roster_opts *o,
                        zt_roster_plan *out, zt_csv_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    /* A header-only file (a botched export, the wrong sheet) would disable every user. */
    if (o->disable_missing && r->n == 0)
        return zt_csv_fail(err, 0, 0, 0,
                           "the file lists no users: --disable-missing would disable every user of "
                           "source '%s'",
                           o->source);
    id_index ix = {0};
    int rc = check_groups(r, snap, o, out, err);
    if (rc == 0)
        rc = id_index_make(snap, o->source, &ix);
    for (size_t i = 0; i < r->n && rc == 0; i++)
        rc = plan_row(r, snap, o, &ix, &r->entries[i], out, err);
    free(ix.u);
    if (rc == 0 && o->disable_missing)
        rc = plan_disables(r, snap, o, out);
    if (rc != 0)
        zt_roster_plan_dispose(out);
    return rc;
}

void zt_roster_plan_dispose(zt_roster_plan *p)
{
    if (p == NULL)
        return;
    for (size_t i = 0; i < p->n; i++) {
        free(p->changes[i].added);
        free(p->changes[i].removed);
    }
    free(p->changes);
    free(p->new_groups);
    memset(p, 0, sizeof(*p));
}

/* ---- text ---- */

static void list_groups(zt_buf *b, const char *sign, const char **g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        zt_buf_printf(b, " %s%s", sign, g[i]);
}

static void create_text(zt_buf *b, const zt_roster_change *c)
{
    const zt_roster_entry *e = c->entry;
    zt_buf_printf(b, "+ create  %s", e->email);
    if (e->name[0] != '\0')
        zt_buf_printf(b, "  name \"%s\"", e->name);
    if (e->n_groups > 0) {
        zt_buf_append_str(b, "  groups");
        list_groups(b, "", e->groups, e->n_groups);
    }
    char when[40];
    zt_roster_format_expiry(e->expires_at, when);
    if (when[0] != '\0')
        zt_buf_printf(b, "  expires %s", when);
    if (e->sponsor[0] != '\0')
        zt_buf_printf(b, "  sponsor %s", e->sponsor);
    if (e->external_id[0] != '\0')
        zt_buf_printf(b, "  id %s", e->external_id);
    zt_buf_printf(b, "   (row %zu)\n", e->row);
}

static void update_text(zt_buf *b, const zt_roster_change *c, const zt_roster_opts *o)
{
    const zt_roster_entry *e = c->entry;
    const zt_roster_user *u = c->user;
    zt_buf_printf(b, "~ update  %s", u->email);
    if (c->what & ZT_ROSTER_CH_NAME)
        zt_buf_printf(b, "  name \"%s\" -> \"%s\"", u->name, e->name);
    if (c->what & ZT_ROSTER_CH_GROUPS) {
        zt_buf_append_str(b, "  groups");
        list_groups(b, "+", c->added, c->n_added);
        list_groups(b, "-", c->removed, c->n_removed);
    }
    char was[40], now[40];
    zt_roster_format_expiry(u->expires_at, was);
    zt_roster_format_expiry(e->expires_at, now);
    if (c->what & ZT_ROSTER_CH_EXPIRES)
        zt_buf_printf(b, "  expires %s -> %s", was[0] ? was : "never", now[0] ? now : "never");
    if (c->what & ZT_ROSTER_CH_SPONSOR)
        zt_buf_printf(b, "  sponsor %s -> %s", u->sponsor[0] ? u->sponsor : "-",
                      e->sponsor[0] ? e->sponsor : "-");
    if (c->what & ZT_ROSTER_CH_EXTERNAL_ID)
        zt_buf_printf(b, "  id %s -> %s", u->external_id[0] ? u->external_id : "-",
                      e->external_id[0] ? e->external_id : "-");
    if (c->what & ZT_ROSTER_CH_SOURCE)
        zt_buf_printf(b, "  source %s -> %s", u->source, o->source);
    zt_buf_printf(b, "   (row %zu)\n", e->row);
}

char *zt_roster_plan_text(const zt_roster_plan *p, const zt_roster_opts *o)
{
    zt_buf b;
    zt_buf_init(&b, PLAN_TEXT_MAX);
    for (size_t i = 0; i < p->n_new_groups; i++)
        zt_buf_printf(&b, "+ group   %s\n", p->new_groups[i]);
    for (size_t i = 0; i < p->n; i++) {
        const zt_roster_change *c = &p->changes[i];
        if (c->kind == ZT_ROSTER_CREATE)
            create_text(&b, c);
        else if (c->kind == ZT_ROSTER_UPDATE)
            update_text(&b, c, o);
        else
            zt_buf_printf(&b, "- disable %s  (source %s, not in the file; sessions end)\n",
                          c->user->email, c->user->source);
    }
    zt_buf_printf(&b,
                  "plan: %zu to create, %zu to update, %zu to disable, %zu unchanged, "
                  "%zu group(s) to create\n",
                  p->n_create, p->n_update, p->n_disable, p->n_unchanged, p->n_new_groups);
    if (p->n_still_disabled > 0)
        zt_buf_printf(&b,
                      "note: %zu listed user(s) are disabled and stay so (ztgate user enable "
                      "EMAIL)\n",
                      p->n_still_disabled);
    if (zt_buf_cstr(&b) != 0) {
        zt_buf_dispose(&b);
        return NULL;
    }
    return b.data;
}
