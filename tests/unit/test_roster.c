/* Roster import: the RFC 4180 reader (quoting, line ends, bad quoting named by row and column),
 * the encodings (BOM, CP932's Microsoft mappings, mixed files refused), the header names in
 * English and Japanese, and the planner's diff. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "roster/csv.h"

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
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
