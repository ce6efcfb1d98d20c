/* Roster import: the RFC 4180 reader (quoting, line ends, bad quoting named by row and column),
 * the encodings (BOM, CP932's Microsoft mappings, mixed files refused), the header names in
 * English and Japanese, the planner's diff, and batches applied to a store (SQLite, then
 * PostgreSQL when ZT_TEST_PG_DSN is set: a schema per test). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "pg_fixture.h"
#include "roster/csv.h"
#include "roster/roster.h"
#include "store/store_roster.h"

static zt_csv parse_ok(const char *text)
{
    zt_csv c;
    zt_csv_error e;
    int rc = zt_csv_parse(text, strlen(text), &c, &e);
    if (rc != 0) {
        char msg[300];
        zt_csv_error_text(&e, msg, sizeof(msg));
        fail_msg("parse failed: %s", msg);
    }
    return c;
}

static zt_csv_error parse_bad(const char *text)
{
    zt_csv c;
    zt_csv_error e;
    assert_int_equal(zt_csv_parse(text, strlen(text), &c, &e), -EINVAL);
    assert_int_equal(c.n_rows, 0);
    assert_null(c.rows);
    return e;
}

static void test_csv_plain_and_quoted(void **state)
{
    (void)state;
    zt_csv c = parse_ok("email,name\r\n"
                        "a@example.jp,\"Yamada, Taro\"\r\n"
                        "b@example.jp,\"say \"\"hi\"\"\"\r\n"
                        "c@example.jp,\"two\r\nlines\"\r\n"
                        "d@example.jp, spaced \n"
                        "e@example.jp,");
    assert_int_equal(c.n_rows, 6);
    assert_string_equal(c.rows[1].fields[1], "Yamada, Taro");
    assert_string_equal(c.rows[2].fields[1], "say \"hi\"");
    assert_string_equal(c.rows[3].fields[1], "two\r\nlines");
    assert_int_equal(c.rows[3].line, 4);
    assert_int_equal(c.rows[4].line, 6); /* the quoted line break counted */
    assert_string_equal(c.rows[4].fields[1], " spaced ");
    assert_string_equal(c.rows[5].fields[1], "");
    zt_csv_dispose(&c);
}

static void test_csv_empty_lines_and_end(void **state)
{
    (void)state;
    zt_csv c = parse_ok("a,b\r\n\r\n1,2\r\n\n");
    assert_int_equal(c.n_rows, 2);
    assert_int_equal(c.rows[1].line, 3);
    zt_csv_dispose(&c);
    c = parse_ok("");
    assert_int_equal(c.n_rows, 0);
    zt_csv_dispose(&c);
    c = parse_ok("\"\"");
    assert_int_equal(c.n_rows, 1);
    assert_string_equal(c.rows[0].fields[0], "");
    zt_csv_dispose(&c);
}

static void test_csv_bad_quoting_named(void **state)
{
    (void)state;
    zt_csv_error e = parse_bad("email,name\na@x.jp,Ya\"mada\n");
    assert_int_equal(e.row, 2);
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "quote inside an unquoted field"));

    e = parse_bad("email,name\na@x.jp,\"Yamada\"x\n");
    assert_int_equal(e.row, 2);
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "after a closing quote"));

    e = parse_bad("email,name\na@x.jp,ok\nb@x.jp,\"never closed\nc@x.jp,z\n");
    assert_int_equal(e.row, 3);
    assert_int_equal(e.line, 3);
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "not closed"));

    e = parse_bad("a,b\n1,2,3\n");
    assert_int_equal(e.row, 2);
    assert_non_null(strstr(e.msg, "3 fields"));

    e = parse_bad("a,b\r1,2\n");
    assert_non_null(strstr(e.msg, "carriage return"));

    char text[] = "a,b\n1,X\n";
    text[6] = '\0';
    zt_csv c;
    assert_int_equal(zt_csv_parse(text, sizeof(text) - 1, &c, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "NUL"));
}

static void test_csv_error_text(void **state)
{
    (void)state;
    zt_csv_error e = {.row = 5, .line = 6, .column = 3};
    snprintf(e.msg, sizeof(e.msg), "boom");
    char out[100];
    zt_csv_error_text(&e, out, sizeof(out));
    assert_string_equal(out, "row 5 (line 6), column 3: boom");
    e = (zt_csv_error){.line = 4};
    snprintf(e.msg, sizeof(e.msg), "bad");
    zt_csv_error_text(&e, out, sizeof(out));
    assert_string_equal(out, "line 4: bad");
}

static void test_csv_limits(void **state)
{
    (void)state;
    size_t n = ZT_CSV_FIELD_MAX + 10;
    char *big = malloc(n + 1);
    memset(big, 'x', n);
    big[n] = '\0';
    zt_csv_error e = parse_bad(big);
    assert_non_null(strstr(e.msg, "longer than"));
    free(big);
}

/* ---- encodings ---- */

static char *decode_ok(const char *in, size_t len, zt_csv_encoding enc)
{
    char *out = NULL;
    size_t n = 0;
    zt_csv_error e;
    int rc = zt_csv_decode(in, len, enc, &out, &n, &e);
    if (rc != 0)
        fail_msg("decode failed (%d): %s", rc, e.msg);
    assert_int_equal(strlen(out), n);
    return out;
}

static void test_decode_utf8_bom(void **state)
{
    (void)state;
    const char in[] = "\xEF\xBB\xBF"
                      "email,氏名\r\n";
    char *out = decode_ok(in, sizeof(in) - 1, ZT_CSV_UTF8);
    assert_string_equal(out, "email,氏名\r\n");
    free(out);
}

static void test_decode_cp932_microsoft(void **state)
{
    (void)state;
    /* 山田 (8E 52 93 63), ～ 0x8160 -> U+FF5E, － 0x817C -> U+FF0D, ① 0x8740, 髙 0xFBFC. */
    const char in[] = "\x8E\x52\x93\x63,\x81\x60\x81\x7C\x87\x40\xFB\xFC\r\n";
    char *out = decode_ok(in, sizeof(in) - 1, ZT_CSV_CP932);
    assert_string_equal(out, "山田,\xEF\xBD\x9E\xEF\xBC\x8D①髙\r\n");
    free(out);
    /* And back, the way export writes it. */
    char *enc = NULL;
    size_t n = 0, bad = 0;
    assert_int_equal(
        zt_csv_encode("山田,①髙～", strlen("山田,①髙～"), ZT_CSV_CP932, false, &enc, &n, &bad), 0);
    assert_int_equal(n, 11);
    assert_memory_equal(enc, "\x8E\x52\x93\x63,\x87\x40\xFB\xFC\x81\x60", 11);
    free(enc);
    /* A character CP932 has none for. */
    assert_int_equal(zt_csv_encode("a😀", strlen("a😀"), ZT_CSV_CP932, false, &enc, &n, &bad),
                     -EILSEQ);
    assert_int_equal(bad, 1);
}

static void test_decode_refusals(void **state)
{
    (void)state;
    char *out = NULL;
    size_t n = 0;
    zt_csv_error e;
    /* CP932 bytes read as UTF-8: a hint. */
    const char sjis[] = "email,name\na@x.jp,\x8E\x52\x93\x63\n";
    assert_int_equal(zt_csv_decode(sjis, sizeof(sjis) - 1, ZT_CSV_UTF8, &out, &n, &e), -EINVAL);
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(e.msg, "--encoding cp932"));
    /* UTF-8 said to be CP932. */
    const char utf8[] = "email,name\na@x.jp,山田\n";
    assert_int_equal(zt_csv_decode(utf8, sizeof(utf8) - 1, ZT_CSV_CP932, &out, &n, &e), -EINVAL);
    assert_int_equal(e.line, 2);
    /* Mixed: line 2 UTF-8, line 3 CP932, whichever encoding is asked for. */
    const char mixed[] = "email,name\na@x.jp,山田\nb@x.jp,\x8E\x52\x93\x63\n";
    assert_int_equal(zt_csv_decode(mixed, sizeof(mixed) - 1, ZT_CSV_UTF8, &out, &n, &e), -EINVAL);
    assert_int_equal(e.line, 3);
    assert_non_null(strstr(e.msg, "mixed encodings"));
    assert_non_null(strstr(e.msg, "line 2"));
    assert_int_equal(zt_csv_decode(mixed, sizeof(mixed) - 1, ZT_CSV_CP932, &out, &n, &e), -EINVAL);
    assert_int_equal(e.line, 2);
    assert_non_null(strstr(e.msg, "mixed encodings"));
    /* A BOM with cp932; a lead byte without its trail byte; UTF-16's NULs. */
    const char bom[] = "\xEF\xBB\xBF"
                       "a\n";
    assert_int_equal(zt_csv_decode(bom, sizeof(bom) - 1, ZT_CSV_CP932, &out, &n, &e), -EINVAL);
    const char cut[] = "a\nb\x8E";
    assert_int_equal(zt_csv_decode(cut, sizeof(cut) - 1, ZT_CSV_CP932, &out, &n, &e), -EINVAL);
    assert_int_equal(e.line, 2);
    const char u16[] = "a\0,\0b\0";
    assert_int_equal(zt_csv_decode(u16, sizeof(u16) - 1, ZT_CSV_UTF8, &out, &n, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "NUL"));
}

static void test_encoding_names(void **state)
{
    (void)state;
    zt_csv_encoding e;
    assert_true(zt_csv_encoding_parse("UTF-8", &e) && e == ZT_CSV_UTF8);
    assert_true(zt_csv_encoding_parse("Shift_JIS", &e) && e == ZT_CSV_CP932);
    assert_true(zt_csv_encoding_parse("cp932", &e) && e == ZT_CSV_CP932);
    assert_false(zt_csv_encoding_parse("latin1", &e));
}

/* ---- rows ---- */

static int read_text(const char *text, zt_roster *r, zt_csv_error *e)
{
    zt_csv c;
    int rc = zt_csv_parse(text, strlen(text), &c, e);
    return rc != 0 ? rc : zt_roster_read(&c, r, e);
}

static void read_ok(const char *text, zt_roster *r)
{
    zt_csv_error e;
    if (read_text(text, r, &e) != 0) {
        char msg[300];
        zt_csv_error_text(&e, msg, sizeof(msg));
        fail_msg("read failed: %s", msg);
    }
}

static zt_csv_error read_bad(const char *text)
{
    zt_roster r;
    zt_csv_error e;
    assert_int_equal(read_text(text, &r, &e), -EINVAL);
    return e;
}

static void test_read_japanese_headers(void **state)
{
    (void)state;
    zt_roster r;
    read_ok(
        " メールアドレス ,氏名,グループ,有効期限,責任者,外部ID\r\n"
        "taro@example.jp,山田　太郎,class-1a; staff|Class-1A,2027/03/31,hanako@example.jp,S001\r\n",
        &r);
    assert_int_equal(r.n, 1);
    assert_int_equal(r.columns, 0x3f);
    const zt_roster_entry *e = &r.entries[0];
    assert_string_equal(e->email, "taro@example.jp");
    assert_string_equal(e->name, "山田　太郎"); /* the full-width space is the name's */
    assert_int_equal(e->n_groups, 2);           /* Class-1A is class-1a again */
    assert_string_equal(e->groups[0], "class-1a");
    assert_string_equal(e->groups[1], "staff");
    assert_int_equal(e->expires_at, 1806537600); /* 2027-04-01T00:00:00Z */
    assert_string_equal(e->sponsor, "hanako@example.jp");
    assert_string_equal(e->external_id, "S001");
    assert_int_equal(e->row, 2);
    zt_roster_dispose(&r);
}

static void test_read_family_given(void **state)
{
    (void)state;
    zt_roster r;
    read_ok("メールアドレス,姓,名\na@x.jp,山田,太郎\nb@x.jp,,花子\n", &r);
    assert_string_equal(r.entries[0].name, "山田 太郎");
    assert_string_equal(r.entries[1].name, "花子");
    assert_true(r.columns & ZT_ROSTER_COL_NAME); /* the planner compares names */
    zt_roster_dispose(&r);
    zt_csv_error e = read_bad("email,name,姓\na@x.jp,A,B\n");
    assert_non_null(strstr(e.msg, "one or the other"));
}

static void test_read_refusals_named(void **state)
{
    (void)state;
    zt_csv_error e = read_bad("email,nmae\na@x.jp,A\n");
    assert_int_equal(e.row, 1);
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "unknown column 'nmae'"));
    e = read_bad("name\nA\n");
    assert_non_null(strstr(e.msg, "no email column"));
    e = read_bad("email,mail\na,b\n");
    assert_non_null(strstr(e.msg, "twice"));
    e = read_bad("email,name\na@x.jp,A\nnot-an-email,B\n");
    assert_int_equal(e.row, 3);
    assert_int_equal(e.column, 1);
    e = read_bad("name,email\nA,a@x.jp\nB,b@x.jp\nC,A@X.JP\n");
    assert_int_equal(e.row, 4);
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "also on row 2"));
    e = read_bad("email,id\na@x.jp,7\nb@x.jp,7\n");
    assert_int_equal(e.row, 3);
    assert_non_null(strstr(e.msg, "id '7' is also on row 2"));
    e = read_bad("email,groups\na@x.jp,3年1組\n");
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "not a group name"));
    e = read_bad("email,expires\na@x.jp,2027-02-30\n");
    assert_int_equal(e.column, 2);
    e = read_bad("email,sponsor\na@x.jp,nobody\n");
    assert_non_null(strstr(e.msg, "sponsor"));
    e = read_bad("");
    assert_non_null(strstr(e.msg, "empty"));
}

static void test_expiry_round_trip(void **state)
{
    (void)state;
    int64_t t;
    char out[40];
    assert_true(zt_roster_parse_expiry("2027-03-31", &t));
    zt_roster_format_expiry(t, out);
    assert_string_equal(out, "2027-03-31");
    assert_true(zt_roster_parse_expiry("2027-03-31T12:30:00+09:00", &t));
    zt_roster_format_expiry(t, out);
    assert_string_equal(out, "2027-03-31T03:30:00Z");
    assert_true(zt_roster_parse_expiry("", &t) && t == 0);
    zt_roster_format_expiry(0, out);
    assert_string_equal(out, "");
    assert_false(zt_roster_parse_expiry("2027-3-31x", &t));
    assert_false(zt_roster_parse_expiry("2027-03/31", &t));
    assert_false(zt_roster_parse_expiry("2026-02-29", &t));
    assert_true(zt_roster_parse_expiry("2028-02-29", &t));
}

/* ---- planner ---- */

static void add_user(zt_roster_snapshot *s, const char *id, const char *email, const char *name,
                     const char *source, bool disabled, const char *const *groups,
                     const bool *by_source, size_t n)
{
    zt_roster_user u = {.email = (char *)email,
                        .name = (char *)name,
                        .source = (char *)source,
                        .external_id = "",
                        .sponsor = "",
                        .disabled = disabled,
                        .groups = (char **)groups,
                        .by_source = (bool *)by_source,
                        .n_groups = n};
    snprintf(u.id, sizeof(u.id), "%s", id);
    assert_int_equal(zt_roster_snapshot_add_user(s, &u), 0);
}

static zt_roster_snapshot school(void)
{
    zt_roster_snapshot s = {0};
    static const char *const g_old[] = {"class-1a", "library"};
    static const bool by_old[] = {true, false};
    add_user(&s, "u1", "old@x.jp", "Old", "import", false, NULL, NULL, 0);
    add_user(&s, "u2", "move@x.jp", "Mover", "import", false, g_old, by_old, 2);
    add_user(&s, "u3", "admin@x.jp", "Admin", "local", false, NULL, NULL, 0);
    add_user(&s, "u4", "ldap@x.jp", "L", "ldap:corp", false, NULL, NULL, 0);
    add_user(&s, "u5", "gone@x.jp", "Gone", "import", true, NULL, NULL, 0);
    add_user(&s, "u6", "same@x.jp", "Same", "import", false, NULL, NULL, 0);
    const char *groups[] = {"class-1a", "class-2a", "library"};
    for (size_t i = 0; i < 3; i++)
        zt_roster_snapshot_add_group(&s, groups[i]);
    zt_roster_snapshot_sort(&s);
    return s;
}

static void test_plan_diff(void **state)
{
    (void)state;
    zt_roster_snapshot s = school();
    zt_roster r;
    read_ok("email,name,groups\n"
            "new@x.jp,New,class-1a\n"
            "MOVE@x.jp,Mover,class-2a library\n"
            "admin@x.jp,Admin,\n"
            "same@x.jp,Same,\n",
            &r);
    zt_roster_opts o = {.source = "import", .disable_missing = true};
    zt_roster_plan p;
    zt_csv_error e;
    assert_int_equal(zt_roster_plan_make(&r, &s, &o, &p, &e), 0);
    assert_int_equal(p.n_create, 1);
    assert_int_equal(p.n_update, 2);  /* move@ groups, admin@ taken over from local */
    assert_int_equal(p.n_disable, 1); /* old@ (gone@ is disabled already) */
    assert_int_equal(p.n_unchanged, 1);
    assert_int_equal(p.changes[0].kind, ZT_ROSTER_CREATE);
    const zt_roster_change *mv = &p.changes[1];
    assert_int_equal(mv->what, ZT_ROSTER_CH_GROUPS);
    assert_int_equal(mv->n_added, 1);
    assert_string_equal(mv->added[0], "class-2a");
    assert_int_equal(mv->n_removed, 1); /* library was the admin's: it stays */
    assert_string_equal(mv->removed[0], "class-1a");
    assert_int_equal(p.changes[2].what, ZT_ROSTER_CH_SOURCE);
    assert_int_equal(p.changes[3].kind, ZT_ROSTER_DISABLE);
    assert_string_equal(p.changes[3].user->email, "old@x.jp");
    char *text = zt_roster_plan_text(&p, &o);
    assert_non_null(strstr(text, "+ create  new@x.jp  name \"New\"  groups class-1a   (row 2)"));
    assert_non_null(strstr(text, "~ update  move@x.jp  groups +class-2a -class-1a   (row 3)"));
    assert_non_null(strstr(text, "- disable old@x.jp"));
    assert_non_null(strstr(text, "plan: 1 to create, 2 to update, 1 to disable, 1 unchanged"));
    free(text);
    zt_roster_plan_dispose(&p);
    /* Without --disable-missing nobody is disabled. */
    o.disable_missing = false;
    assert_int_equal(zt_roster_plan_make(&r, &s, &o, &p, &e), 0);
    assert_int_equal(p.n_disable, 0);
    zt_roster_plan_dispose(&p);
    zt_roster_dispose(&r);
    zt_roster_snapshot_dispose(&s);
}

static void test_plan_refusals(void **state)
{
    (void)state;
    zt_roster_snapshot s = school();
    zt_roster_opts o = {.source = "import"};
    zt_roster_plan p;
    zt_csv_error e;
    zt_roster r;
    read_ok("email,groups\nnew@x.jp,class-9z\n", &r);
    assert_int_equal(zt_roster_plan_make(&r, &s, &o, &p, &e), -EINVAL);
    assert_int_equal(e.row, 2);
    assert_int_equal(e.column, 2);
    assert_non_null(strstr(e.msg, "class-9z"));
    o.create_groups = true;
    assert_int_equal(zt_roster_plan_make(&r, &s, &o, &p, &e), 0);
    assert_int_equal(p.n_new_groups, 1);
    zt_roster_plan_dispose(&p);
    zt_roster_dispose(&r);

    read_ok("email\n", &r);
    o.disable_missing = true;
    assert_int_equal(zt_roster_plan_make(&r, &s, &o, &p, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "would disable every user"));
    o.disable_missing = false;
    zt_roster_dispose(&r);

    read_ok("email\nnew@x.jp\nldap@x.jp\n", &r);
    assert_int_equal(zt_roster_plan_make(&r, &s, &o, &p, &e), -EINVAL);
    assert_int_equal(e.row, 3);
    assert_non_null(strstr(e.msg, "source 'ldap:corp'"));
    zt_roster_dispose(&r);
    zt_roster_snapshot_dispose(&s);
}

/* ---- against a real store ---- */

typedef struct fixture {
    char root[64], state[128];
    char schema[ZT_TEST_PG_SCHEMA_MAX]; /* PostgreSQL runs: the test's schema, else "" */
    zt_store *st;
    unsigned records;
    char last[4096];
} fixture;

static int setup(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/zt-roster-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    char err[256] = "";
    zt_store_cfg cfg = {.backend = ZT_STORE_SQLITE, .state_dir = f->state};
    f->st = zt_store_open(&cfg, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    assert_int_equal(zt_store_group_add(f->st, "class-1a"), 0);
    assert_int_equal(zt_store_group_add(f->st, "library"), 0);
    *state = f;
    return 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

/* The store tests again against PostgreSQL (ZT_TEST_PG_DSN): a schema of the test's own; the
 * account service still gets a state dir (the local revocation counter lives there). */
static int setup_pg(void **state)
{
    fixture *f = calloc(1, sizeof(*f));
    snprintf(f->root, sizeof(f->root), "/tmp/zt-roster-XXXXXX");
    assert_non_null(mkdtemp(f->root));
    snprintf(f->state, sizeof(f->state), "%s/state", f->root);
    assert_int_equal(mkdir(f->state, 0700), 0);
    char err[256] = "";
    f->st = zt_test_pg_open(f->schema, err, sizeof(err));
    if (f->st == NULL)
        fail_msg("open: %s", err);
    assert_int_equal(zt_store_group_add(f->st, "class-1a"), 0);
    assert_int_equal(zt_store_group_add(f->st, "library"), 0);
    *state = f;
    return 0;
}

static int teardown_pg(void **state)
{
    fixture *f = *state;
    zt_store_close(f->st);
    zt_test_pg_drop(f->schema);
    nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
    free(f);
    return 0;
}

static int count_cb(void *ctx, const zt_user *u)
{
    (void)u;
    ++*(size_t *)ctx;
    return 0;
}

static size_t n_users(zt_store *st)
{
    size_t n = 0;
    assert_int_equal(zt_store_user_list(st, count_cb, &n), 0);
    return n;
}

static void test_store_batch_all_or_nothing(void **state)
{
    fixture *f = *state;
    const char *g[] = {"class-1a"};
    const char *new_groups[] = {"class-9z"};
    zt_store_roster_op ops[3] = {
        {.kind = ZT_STORE_ROSTER_CREATE, .create = {.email = "a@x.jp", .groups = g, .n_groups = 1}},
        {.kind = ZT_STORE_ROSTER_CREATE, .create = {.email = "b@x.jp"}},
        {.kind = ZT_STORE_ROSTER_CREATE, .create = {.email = "A@X.JP"}}, /* a's email again */
    };
    size_t at = 99;
    assert_int_equal(zt_store_roster_apply(f->st, "import", new_groups, 1, ops, 3, &at), -EEXIST);
    assert_int_equal(at, 2);
    assert_int_equal(n_users(f->st), 0); /* the first two rolled back */
    zt_store_group grp;
    assert_int_equal(zt_store_group_get(f->st, "class-9z", &grp), -ENOENT);
    assert_string_equal(ops[0].user_id_out, "");
    /* A refused argument names its op before anything runs. */
    ops[2].create.email = "not an email";
    assert_int_equal(zt_store_roster_apply(f->st, "import", NULL, 0, ops, 3, &at), -EINVAL);
    assert_int_equal(at, 2);
    assert_int_equal(zt_store_roster_apply(f->st, "scim!", NULL, 0, ops, 2, &at), -EINVAL);
    /* Without the bad op it all lands, with the memberships made by the source. */
    assert_int_equal(zt_store_roster_apply(f->st, "import", new_groups, 1, ops, 2, &at), 0);
    assert_int_equal(n_users(f->st), 2);
    assert_int_equal(strlen(ops[0].user_id_out), ZT_STORE_ID_LEN);
    assert_int_equal(zt_store_group_get(f->st, "class-9z", &grp), 0);
    zt_user u;
    assert_int_equal(zt_store_user_get_by_email(f->st, "a@x.jp", &u), 0);
    assert_string_equal(u.source, "import");
    zt_user_dispose(&u);
}

/* An expiry set in the past ends the user's sessions in the same transaction; a future one
 * does not. */
static void test_store_batch_past_expiry_revokes(void **state)
{
    fixture *f = *state;
    zt_store_roster_op op = {.kind = ZT_STORE_ROSTER_CREATE, .create = {.email = "a@x.jp"}};
    size_t at;
    assert_int_equal(zt_store_roster_apply(f->st, "import", NULL, 0, &op, 1, &at), 0);
    zt_store_session s;
    memset(&s, 0, sizeof(s));
    memset(s.id_hash, 'a', 64);
    snprintf(s.user_id, sizeof(s.user_id), "%s", op.user_id_out);
    s.created_at = s.auth_time = 1000;
    s.idle_expires_at = 2000;
    s.absolute_expires_at = 5000;
    snprintf(s.ip, sizeof(s.ip), "192.0.2.1");
    assert_int_equal(zt_store_session_create(f->st, &s), 0);
    char id[ZT_STORE_ID_LEN + 1];
    snprintf(id, sizeof(id), "%s", op.user_id_out);
    zt_store_roster_op later = {.kind = ZT_STORE_ROSTER_UPDATE,
                                .user_id = id,
                                .profile = {.set_expires = true, .expires_at = 4102444800}};
    assert_int_equal(zt_store_roster_apply(f->st, "import", NULL, 0, &later, 1, &at), 0);
    assert_false(later.revoked);
    zt_store_roster_op past = {.kind = ZT_STORE_ROSTER_UPDATE,
                               .user_id = id,
                               .profile = {.set_expires = true, .expires_at = 946684800}};
    assert_int_equal(zt_store_roster_apply(f->st, "import", NULL, 0, &past, 1, &at), 0);
    assert_true(past.revoked);
    assert_int_equal(past.sessions_out, 1);
    assert_int_equal(past.epoch_out, 1);
    zt_store_session got;
    assert_int_equal(zt_store_session_get(f->st, s.id_hash, &got), -ENOENT);
    zt_user u;
    assert_int_equal(zt_store_user_get_by_id(f->st, id, &u), 0);
    assert_false(u.disabled); /* expired, not disabled */
    assert_int_equal(u.expires_at, 946684800);
    zt_user_dispose(&u);
}

static const zt_actor who = {.name = "root", .type = "Admin", .process = "ztgate-cli"};

static int sink(void *ctx, const char *json, size_t len)
{
    fixture *f = ctx;
    f->records++;
    snprintf(f->last, sizeof(f->last), "%.*s", (int)len, json);
    return 0;
}

/* Import text into f's store; returns the plan's summary counts as "c/u/d/n". */
static void import(fixture *f, const char *text, bool disable_missing, char out[64])
{
    zt_roster r;
    read_ok(text, &r);
    zt_roster_opts o = {.source = "import", .disable_missing = disable_missing};
    zt_roster_snapshot snap;
    assert_int_equal(zt_roster_load(f->st, o.source, &snap), 0);
    zt_roster_plan p;
    zt_csv_error e;
    assert_int_equal(zt_roster_plan_make(&r, &snap, &o, &p, &e), 0);
    snprintf(out, 64, "%zu/%zu/%zu/%zu", p.n_create, p.n_update, p.n_disable, p.n_unchanged);
    zt_account_env env = {.store = f->st, .state_dir = f->state, .audit = {sink, f}};
    zt_roster_outcome oc;
    assert_int_equal(zt_roster_apply(&env, &who, &p, &o, &oc, &e), 0);
    assert_int_equal(oc.audit_rc, 0);
    assert_int_equal(oc.revocation_rc, 0);
    zt_roster_plan_dispose(&p);
    zt_roster_snapshot_dispose(&snap);
    zt_roster_dispose(&r);
}

static void test_apply_idempotent_with_records(void **state)
{
    fixture *f = *state;
    const char *file = "email,name,groups,expires\n"
                       "a@x.jp,山田,class-1a,2027-03-31\n"
                       "b@x.jp,鈴木,class-1a library,\n";
    char sum[64];
    import(f, file, false, sum);
    assert_string_equal(sum, "2/0/0/0");
    assert_int_equal(f->records, 2);
    assert_non_null(strstr(f->last, "\"operation\":\"user.create\""));
    import(f, file, false, sum);
    assert_string_equal(sum, "0/0/0/2"); /* idempotent */
    assert_int_equal(f->records, 2);
    /* b leaves the library and a is not listed: a disabled, with its record. */
    import(f, "email,name,groups\nb@x.jp,鈴木,class-1a\n", true, sum);
    assert_string_equal(sum, "0/1/1/0");
    assert_int_equal(f->records, 4);
    assert_non_null(strstr(f->last, "\"operation\":\"user.disable\""));
    assert_non_null(strstr(f->last, "disabled; sessions revoked"));
    zt_user u;
    assert_int_equal(zt_store_user_get_by_email(f->st, "a@x.jp", &u), 0);
    assert_true(u.disabled);
    assert_int_equal(u.expires_at, 1806537600);
    zt_user_dispose(&u);
    /* Export and import back: nothing changes. */
    zt_roster_snapshot snap;
    assert_int_equal(zt_roster_load(f->st, "import", &snap), 0);
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_roster_export_csv(&snap, NULL, &b), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_non_null(strstr(b.data, "a@x.jp,山田,class-1a,2027-03-31,,\r\n"));
    zt_roster_snapshot_dispose(&snap);
    import(f, b.data, false, sum);
    assert_string_equal(sum, "0/0/0/2");
    zt_buf_dispose(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_csv_plain_and_quoted),
        cmocka_unit_test(test_csv_empty_lines_and_end),
        cmocka_unit_test(test_csv_bad_quoting_named),
        cmocka_unit_test(test_csv_error_text),
        cmocka_unit_test(test_csv_limits),
        cmocka_unit_test(test_decode_utf8_bom),
        cmocka_unit_test(test_decode_cp932_microsoft),
        cmocka_unit_test(test_decode_refusals),
        cmocka_unit_test(test_encoding_names),
        cmocka_unit_test(test_read_japanese_headers),
        cmocka_unit_test(test_read_refusals_named),
        cmocka_unit_test(test_read_family_given),
        cmocka_unit_test(test_expiry_round_trip),
        cmocka_unit_test(test_plan_diff),
        cmocka_unit_test(test_plan_refusals),
        cmocka_unit_test_setup_teardown(test_store_batch_all_or_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_batch_past_expiry_revokes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_apply_idempotent_with_records, setup, teardown),
    };
    int failed = cmocka_run_group_tests_name("sqlite", tests, NULL, NULL);
    if (!zt_test_pg_enabled()) {
        printf("postgresql: skipped (ZT_TEST_PG_DSN not set)\n");
        return failed;
    }
    const struct CMUnitTest pg_tests[] = {
#define PG_TEST(t) cmocka_unit_test_setup_teardown(t, setup_pg, teardown_pg)
        PG_TEST(test_store_batch_all_or_nothing),
        PG_TEST(test_store_batch_past_expiry_revokes),
        PG_TEST(test_apply_idempotent_with_records),
#undef PG_TEST
    };
    return failed + cmocka_run_group_tests_name("postgresql", pg_tests, NULL, NULL);
}
