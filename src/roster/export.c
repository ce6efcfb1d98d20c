/* Users out as the roster import reads them (roster.h). */
#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "roster/roster.h"

static int cell(zt_buf *b, const char *s, bool last)
{
    bool guard = s[0] != '\0' && strchr(ZT_ROSTER_FORMULA_CHARS, s[0]) != NULL;
    bool quote = guard || strpbrk(s, ",\"\r\n") != NULL || s[0] == ' ' ||
                 (s[0] != '\0' && s[strlen(s) - 1] == ' ');
    int rc = quote ? zt_buf_append_char(b, '"') : 0;
    if (rc == 0 && guard)
        rc = zt_buf_append_char(b, '\'');
    for (const char *p = s; rc == 0 && *p != '\0'; p++)
        rc = *p == '"' ? zt_buf_append(b, "\"\"", 2) : zt_buf_append_char(b, *p);
    if (rc == 0 && quote)
        rc = zt_buf_append_char(b, '"');
    if (rc == 0)
        rc = last ? zt_buf_append(b, "\r\n", 2) : zt_buf_append_char(b, ',');
    return rc;
}

static bool wanted(const zt_roster_user *u, const char *source)
{
    return source == NULL || strcmp(u->source, source) == 0;
}

static int groups_text(const zt_roster_user *u, zt_buf *g)
{
    zt_buf_reset(g);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < u->n_groups; i++) {
        if (i > 0)
            rc = zt_buf_append_char(g, ';');
        if (rc == 0)
            rc = zt_buf_append_str(g, u->groups[i]);
    }
    return rc == 0 ? zt_buf_cstr(g) : rc;
}

int zt_roster_export_csv(const zt_roster_snapshot *snap, const char *source, zt_buf *out)
{
    int rc = zt_buf_append_str(out, "email,name,groups,expires,sponsor,id\r\n");
    zt_buf g;
    zt_buf_init(&g, 0);
    for (size_t i = 0; rc == 0 && i < snap->n; i++) {
        const zt_roster_user *u = &snap->users[i];
        if (!wanted(u, source))
            continue;
        char when[40];
        zt_roster_format_expiry(u->expires_at, when);
        rc = groups_text(u, &g);
        rc = rc ? rc : cell(out, u->email, false);
        rc = rc ? rc : cell(out, u->name, false);
        rc = rc ? rc : cell(out, g.data != NULL ? g.data : "", false);
        rc = rc ? rc : cell(out, when, false);
        rc = rc ? rc : cell(out, u->sponsor, false);
        rc = rc ? rc : cell(out, u->external_id, true);
    }
    zt_buf_dispose(&g);
    return rc;
}

static json_t *user_json(const zt_roster_user *u)
{
    char when[40];
    zt_roster_format_expiry(u->expires_at, when);
    json_t *groups = json_array();
    for (size_t i = 0; groups != NULL && i < u->n_groups; i++)
        json_array_append_new(groups, json_string(u->groups[i]));
    return json_pack("{s:s, s:s, s:o*, s:o, s:s, s:s, s:s, s:b}", "email", u->email, "name",
                     u->name, "groups", groups, "expires",
                     when[0] ? json_string(when) : json_null(), "sponsor", u->sponsor, "id",
                     u->external_id, "source", u->source, "disabled", u->disabled);
}

int zt_roster_export_json(const zt_roster_snapshot *snap, const char *source, zt_buf *out)
{
    json_t *arr = json_array();
    int rc = arr != NULL ? 0 : -ENOMEM;
    for (size_t i = 0; rc == 0 && i < snap->n; i++)
        if (wanted(&snap->users[i], source))
            rc = json_array_append_new(arr, user_json(&snap->users[i])) == 0 ? 0 : -ENOMEM;
    char *text = rc == 0 ? json_dumps(arr, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    if (rc == 0 && text == NULL)
        rc = -ENOMEM;
    if (rc == 0)
        rc = zt_buf_append_str(out, text);
    if (rc == 0)
        rc = zt_buf_append_char(out, '\n');
    free(text);
    json_decref(arr);
    return rc;
}
