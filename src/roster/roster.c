/* Roster rows: header names, cell checks, duplicates (roster.h). */
#include "roster/roster.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistr.h>

#include "lib/str.h"
#include "lib/time.h"

#define DAY_S 86400

static const struct {
    unsigned col;
    const char *names[8];
} headers[] = {
    {ZT_ROSTER_COL_EMAIL,
     {"email", "e-mail", "mail", "email address", "メールアドレス", "メール", "Eメール", NULL}},
    {ZT_ROSTER_COL_NAME, {"name", "display name", "displayname", "氏名", "名前", "表示名", NULL}},
    {ZT_ROSTER_COL_GROUPS, {"groups", "group", "グループ", "所属グループ", NULL}},
    {ZT_ROSTER_COL_EXPIRES, {"expires", "expiry", "expires_at", "有効期限", "期限", NULL}},
    {ZT_ROSTER_COL_SPONSOR, {"sponsor", "責任者", "スポンサー", NULL}},
    {ZT_ROSTER_COL_ID, {"id", "external_id", "sourcedid", "外部id", NULL}},
    {ZT_ROSTER_COL_FAMILY, {"family name", "familyname", "last name", "姓", NULL}},
    {ZT_ROSTER_COL_GIVEN, {"given name", "givenname", "first name", "名", NULL}},
};
#define N_HEADERS (sizeof(headers) / sizeof(headers[0]))

/* Surrounding ASCII spaces and tabs (and a full-width space in a header) are no part of a
 * value: spreadsheets keep what a typist left there. Trims in place. */
static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

/* Export guards a cell a spreadsheet would run as a formula with a leading apostrophe (OWASP
 * CSV injection); reading takes it off again, so an export imports back unchanged. */
static char *unguard(char *s)
{
    return s[0] == '\'' && s[1] != '\0' && strchr(ZT_ROSTER_FORMULA_CHARS, s[1]) != NULL ? s + 1
                                                                                         : s;
}

static int bit_no(unsigned col)
{
    return __builtin_ctz(col);
}

static int read_header(zt_roster *r, zt_csv_error *err)
{
    const zt_csv_row *h = &r->csv.rows[0];
    for (size_t i = 0; i < h->n; i++) {
        char *name = trim(h->fields[i]);
        unsigned col = 0;
        for (size_t k = 0; k < N_HEADERS && col == 0; k++)
            for (size_t j = 0; headers[k].names[j] != NULL && col == 0; j++)
                if (strcasecmp(name, headers[k].names[j]) == 0)
                    col = headers[k].col;
        if (col == 0)
            return zt_csv_fail(
                err, 1, h->line, i + 1,
                "unknown column '%s' (known: email, name, family name, given name, "
                "groups, expires, sponsor, id or メールアドレス, 氏名, 姓, 名, グループ, "
                "有効期限, 責任者, 外部ID)",
                name);
        if (r->columns & col)
            return zt_csv_fail(err, 1, h->line, i + 1, "column '%s' given twice", name);
        r->columns |= col;
        r->col_of[bit_no(col)] = i;
    }
    if (!(r->columns & ZT_ROSTER_COL_EMAIL))
        return zt_csv_fail(err, 1, h->line, 0, "no email column (email or メールアドレス)");
    if ((r->columns & ZT_ROSTER_COL_NAME) &&
        (r->columns & (ZT_ROSTER_COL_FAMILY | ZT_ROSTER_COL_GIVEN)))
        return zt_csv_fail(
            err, 1, h->line, 0,
            "a name column and family/given name columns (姓/名): give one or the other");
    return 0;
}

/* The store's rules for an email (store.c check_email), checked here too so the row is named
 * before anything reaches the store. */
static const char *email_problem(const char *e)
{
    size_t n = strlen(e);
    if (n == 0)
        return "empty email";
    if (n > ZT_STORE_EMAIL_MAX)
        return "email longer than 254 bytes";
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)e[i];
        if (c <= 0x20 || c == 0x7f || strchr("\"(),:;<>[\\]", c) != NULL)
            return "email contains a space, control or special character";
    }
    const char *at = strchr(e, '@');
    if (at == NULL || at == e || at[1] == '\0' || strchr(at + 1, '@') != NULL)
        return "email needs one '@' with text on both sides";
    if (at[1] == '.' || e[n - 1] == '.' || strstr(at, "..") != NULL)
        return "email has an invalid domain";
    return NULL;
}

static bool text_ok(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p; p++)
        if (*p < 0x20 || *p == 0x7f)
            return false;
    return u8_check((const uint8_t *)s, strlen(s)) == NULL;
}

static bool group_name_ok(const char *g, size_t n)
{
    if (n == 0 || n > ZT_STORE_GROUP_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = g[i];
        bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
        if (!alnum && (i == 0 || (c != '.' && c != '_' && c != '-')))
            return false;
    }
    return true;
}

static int cmp_ci(const void *a, const void *b)
{
    return strcasecmp(*(const char *const *)a, *(const char *const *)b);
}

/* Split a groups cell in place into e->groups: sorted, duplicates (any case) dropped. */
static int read_groups(zt_roster_entry *e, char *cell, size_t column, zt_csv_error *err)
{
    const char **g = calloc(ZT_ROSTER_GROUPS_MAX, sizeof(*g));
    if (g == NULL)
        return -ENOMEM;
    e->groups = g;
    for (char *p = cell; *p != '\0';) {
        size_t skip = strspn(p, ";|, \t");
        p += skip;
        size_t n = strcspn(p, ";|, \t");
        if (n == 0)
            break;
        char *name = p;
        p += n;
        if (*p != '\0')
            *p++ = '\0';
        if (!group_name_ok(name, n))
            return zt_csv_fail(
                err, e->row, e->line, column,
                "'%s' is not a group name (letters, digits, '.', '_' and '-', up to %d; "
                "the name policies use, not a display name)",
                name, ZT_STORE_GROUP_MAX);
        if (e->n_groups == ZT_ROSTER_GROUPS_MAX)
            return zt_csv_fail(err, e->row, e->line, column, "more than %d groups",
                               ZT_ROSTER_GROUPS_MAX);
        g[e->n_groups++] = name;
    }
    qsort(g, e->n_groups, sizeof(*g), cmp_ci);
    size_t w = 0;
    for (size_t i = 0; i < e->n_groups; i++)
        if (w == 0 || strcasecmp(g[w - 1], g[i]) != 0)
            g[w++] = g[i];
    e->n_groups = w;
    return 0;
}

static bool parse_date(const char *s, int64_t *out)
{
    int y, m, d, used = 0;
    char sep1, sep2;
    if (sscanf(s, "%4d%c%2d%c%2d%n", &y, &sep1, &m, &sep2, &d, &used) != 5 || s[used] != '\0' ||
        sep1 != sep2 || (sep1 != '-' && sep1 != '/') || strlen(s) < 8)
        return false;
    static const int mdays[] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1 || d > mdays[m - 1] ||
        (m == 2 && d == 29 && !leap))
        return false;
    *out = (zt_days_from_civil(y, m, d) + 1) * DAY_S;
    return true;
}

bool zt_roster_parse_expiry(const char *s, int64_t *out)
{
    if (s[0] == '\0') {
        *out = 0;
        return true;
    }
    if (parse_date(s, out))
        return true;
    int64_t us;
    if (!zt_parse_rfc3339(s, strlen(s), 0, &us) || us <= 0)
        return false;
    *out = us / 1000000;
    return *out > 0;
}

void zt_roster_format_expiry(int64_t t, char out[40])
{
    out[0] = '\0';
    if (t <= 0)
        return;
    char full[40];
    zt_rfc3339((t % DAY_S == 0 ? t - DAY_S : t) * 1000000, full, sizeof(full));
    if (t % DAY_S == 0) {
        snprintf(out, 40, "%.10s", full);
    } else {
        snprintf(out, 40, "%.19sZ", full); /* whole seconds */
    }
}

static int read_cells(zt_roster *r, zt_roster_entry *e, const zt_csv_row *row, zt_csv_error *err)
{
    char *cell[ZT_ROSTER_N_COLS] = {NULL};
    for (int b = 0; b < ZT_ROSTER_N_COLS; b++)
        if (r->columns & (1u << b))
            cell[b] = unguard(trim(row->fields[r->col_of[b]]));
#define COL(bit) (r->col_of[bit_no(bit)] + 1)
    e->email = cell[bit_no(ZT_ROSTER_COL_EMAIL)];
    const char *why = email_problem(e->email);
    if (why != NULL)
        return zt_csv_fail(err, e->row, e->line, COL(ZT_ROSTER_COL_EMAIL), "%s: '%s'", why,
                           e->email);
    e->name = cell[bit_no(ZT_ROSTER_COL_NAME)] ? cell[bit_no(ZT_ROSTER_COL_NAME)] : "";
    unsigned name_col = ZT_ROSTER_COL_NAME;
    if (r->columns & (ZT_ROSTER_COL_FAMILY | ZT_ROSTER_COL_GIVEN)) {
        const char *fam = cell[bit_no(ZT_ROSTER_COL_FAMILY)],
                   *giv = cell[bit_no(ZT_ROSTER_COL_GIVEN)];
        fam = fam != NULL ? fam : "";
        giv = giv != NULL ? giv : "";
        size_t n = strlen(fam) + strlen(giv) + 2;
        if ((e->joined_name = malloc(n)) == NULL)
            return -ENOMEM;
        snprintf(e->joined_name, n, "%s%s%s", fam, fam[0] && giv[0] ? " " : "", giv);
        e->name = e->joined_name;
        name_col = (r->columns & ZT_ROSTER_COL_FAMILY) ? ZT_ROSTER_COL_FAMILY : ZT_ROSTER_COL_GIVEN;
    }
    if (strlen(e->name) > ZT_STORE_NAME_MAX || !text_ok(e->name))
        return zt_csv_fail(err, e->row, e->line, COL(name_col),
                           "name longer than %d bytes or with control characters",
                           ZT_STORE_NAME_MAX);
    e->sponsor = cell[bit_no(ZT_ROSTER_COL_SPONSOR)] ? cell[bit_no(ZT_ROSTER_COL_SPONSOR)] : "";
    if (e->sponsor[0] != '\0' && (why = email_problem(e->sponsor)) != NULL)
        return zt_csv_fail(err, e->row, e->line, COL(ZT_ROSTER_COL_SPONSOR), "sponsor: %s: '%s'",
                           why, e->sponsor);
    e->external_id = cell[bit_no(ZT_ROSTER_COL_ID)] ? cell[bit_no(ZT_ROSTER_COL_ID)] : "";
    if (strlen(e->external_id) > ZT_ROSTER_EXTERNAL_ID_MAX || !text_ok(e->external_id))
        return zt_csv_fail(err, e->row, e->line, COL(ZT_ROSTER_COL_ID),
                           "id longer than %d bytes or with control characters",
                           ZT_ROSTER_EXTERNAL_ID_MAX);
    const char *exp = cell[bit_no(ZT_ROSTER_COL_EXPIRES)];
    if (exp != NULL && !zt_roster_parse_expiry(exp, &e->expires_at))
        return zt_csv_fail(err, e->row, e->line, COL(ZT_ROSTER_COL_EXPIRES),
                           "'%s' is not a date (YYYY-MM-DD, YYYY/MM/DD or 2027-03-31T12:00:00Z)",
                           exp);
    char *groups = cell[bit_no(ZT_ROSTER_COL_GROUPS)];
    return read_groups(e, groups != NULL ? groups : (char *)"", COL(ZT_ROSTER_COL_GROUPS), err);
#undef COL
}

/* Entry indexes sorted by a key, to find rows that repeat one. */
typedef struct keyed {
    const char *key;
    size_t i;
} keyed;

static int cmp_keyed(const void *a, const void *b)
{
    const keyed *x = a, *y = b;
    int c = strcasecmp(x->key, y->key);
    return c != 0 ? c : (x->i > y->i) - (x->i < y->i);
}

static int find_repeats(zt_roster *r, bool by_id, zt_csv_error *err)
{
    keyed *k = calloc(r->n + 1, sizeof(*k));
    if (k == NULL)
        return -ENOMEM;
    size_t n = 0;
    for (size_t i = 0; i < r->n; i++) {
        const char *key = by_id ? r->entries[i].external_id : r->entries[i].email;
        if (key[0] != '\0')
            k[n++] = (keyed){key, i};
    }
    qsort(k, n, sizeof(*k), cmp_keyed);
    int rc = 0;
    for (size_t i = 1; i < n && rc == 0; i++) {
        if (strcasecmp(k[i - 1].key, k[i].key) != 0)
            continue;
        const zt_roster_entry *a = &r->entries[k[i - 1].i], *b = &r->entries[k[i].i];
        unsigned col = by_id ? ZT_ROSTER_COL_ID : ZT_ROSTER_COL_EMAIL;
        rc = zt_csv_fail(err, b->row, b->line, r->col_of[bit_no(col)] + 1,
                         "%s '%s' is also on row %zu (one row per user)", by_id ? "id" : "email",
                         b->email, a->row);
        if (by_id)
            snprintf(err->msg, sizeof(err->msg), "id '%s' is also on row %zu (one row per user)",
                     b->external_id, a->row);
    }
    free(k);
    return rc;
}

int zt_roster_read(zt_csv *csv, zt_roster *out, zt_csv_error *err)
{
    memset(out, 0, sizeof(*out));
    memset(err, 0, sizeof(*err));
    out->csv = *csv;
    memset(csv, 0, sizeof(*csv));
    int rc;
    if (out->csv.n_rows == 0) {
        rc =
            zt_csv_fail(err, 0, 0, 0, "the file is empty (a header row is needed: email,name,...)");
        goto out;
    }
    if ((rc = read_header(out, err)) != 0)
        goto out;
    out->entries = calloc(out->csv.n_rows, sizeof(*out->entries));
    if (out->entries == NULL) {
        rc = -ENOMEM;
        goto out;
    }
    for (size_t i = 1; i < out->csv.n_rows && rc == 0; i++) {
        zt_roster_entry *e = &out->entries[out->n++];
        e->row = i + 1;
        e->line = out->csv.rows[i].line;
        rc = read_cells(out, e, &out->csv.rows[i], err);
    }
    if (rc == 0)
        rc = find_repeats(out, false, err);
    if (rc == 0)
        rc = find_repeats(out, true, err);
    if (out->columns & (ZT_ROSTER_COL_FAMILY | ZT_ROSTER_COL_GIVEN))
        out->columns |= ZT_ROSTER_COL_NAME; /* the joined name sets the name like a column */
out:
    if (rc != 0)
        zt_roster_dispose(out);
    return rc;
}

void zt_roster_dispose(zt_roster *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->n; i++) {
        free(r->entries[i].groups);
        free(r->entries[i].joined_name);
    }
    free(r->entries);
    zt_csv_dispose(&r->csv);
    memset(r, 0, sizeof(*r));
}
