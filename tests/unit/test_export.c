/* SIEM export: RFC 5424 and CEF formatting (PRI, escaping of CR/LF/NUL/ESC/]/|/=/non-ASCII,
 * fields), octet-counting framing, the `audit.export` config, and the exporter's threads against
 * local TCP and UDP sockets (delivery, truncation, drops when a collector is down, bounded stop).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "audit/event.h"
#include "audit/export.h"
#include "audit/format.h"
#include "core/config.h"
#include "lib/buf.h"
#include "lib/time.h"

#define FFFD "\xEF\xBF\xBD"
#define HASH                                                                                       \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" \
    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"

/* ---- helpers ---- */

static char *cstr(zt_buf *b)
{
    assert_int_equal(zt_buf_cstr(b), 0);
    return b->data;
}

static void expect_sd(const char *in, size_t n, const char *want)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_fmt_sd_value(&b, in, n, 1000), 0);
    assert_string_equal(cstr(&b), want);
    zt_buf_dispose(&b);
}

static void expect_cef_hdr(const char *in, size_t n, const char *want)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_fmt_cef_header(&b, in, n, 1000), 0);
    assert_string_equal(cstr(&b), want);
    zt_buf_dispose(&b);
}

static void expect_cef_val(const char *in, size_t n, const char *want)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_fmt_cef_value(&b, in, n, 1000), 0);
    assert_string_equal(cstr(&b), want);
    zt_buf_dispose(&b);
}

/* A record line as the writer frames it: {"seq":N,"prev":"0..0",<event body>,"hash":"a..a"}. */
static void wrap(zt_buf *line, uint64_t seq, const zt_buf *ev)
{
    zt_buf_reset(line);
    zt_buf_printf(line, "{\"seq\":%llu,\"prev\":\"%.64s\",", (unsigned long long)seq, HASH);
    zt_buf_append(line, ev->data + 1, ev->len - 2);
    zt_buf_printf(line, ",\"hash\":\"%.64s\"}", HASH);
}

/* An HTTP Activity record whose client-controlled strings carry every hostile byte. */
static void http_record(zt_buf *line, uint64_t seq, const char *path, size_t pathlen,
                        const char *user)
{
    zt_buf ev;
    zt_event e;
    zt_buf_init(&ev, 0);
    zt_event_begin(&e, &ev, ZT_EV_HTTP_ACTIVITY, 3, ZT_SEV_LOW);
    zt_event_status(&e, ZT_STATUS_FAILURE);
    zt_event_str(&e, "message", "request refused");
    zt_event_str(&e, "src_endpoint.ip", "203.0.113.7");
    zt_event_uint(&e, "src_endpoint.port", 50123);
    zt_event_str(&e, "http_request.http_method", "GET");
    zt_event_str(&e, "http_request.url.hostname", "app.test");
    zt_event_strn(&e, "http_request.url.path", path, pathlen);
    zt_event_str(&e, "http_request.url.scheme", "https");
    zt_event_str(&e, "app.name", "wiki");
    zt_event_str(&e, "actor.user.uid", "u-1");
    zt_event_str(&e, "actor.user.email_addr", user);
    zt_event_str(&e, "decision", "block");
    zt_event_str(&e, "reasons", "policy p-17 denied");
    zt_event_metadata(&e, "req-42", NULL);
    assert_int_equal(zt_event_end(&e), 0);
    wrap(line, seq, &ev);
    zt_buf_dispose(&ev);
}

static void no_line_breaks(const zt_buf *b)
{
    for (size_t i = 0; i < b->len; i++) {
        unsigned char c = (unsigned char)b->data[i];
        if (c < 0x20 || c == 0x7F)
            fail_msg("control byte 0x%02x at %zu in %.*s", c, i, (int)b->len, b->data);
    }
}

/* ---- PRI, severities, facilities ---- */

static void test_pri(void **state)
{
    assert_int_equal(zt_fmt_pri(10, 6), 86); /* authpriv.info */
    assert_int_equal(zt_fmt_pri(4, 2), 34);  /* RFC 5424 example: auth.crit */
    assert_int_equal(zt_fmt_pri(20, 5), 165);
    assert_int_equal(zt_fmt_pri(23, 7), 191);
    assert_int_equal(zt_fmt_pri(0, 0), 0);
    assert_int_equal(zt_fmt_pri(99, 6), 86); /* bad facility: authpriv */
    assert_int_equal(zt_fmt_facility("kern"), 0);
    assert_int_equal(zt_fmt_facility("auth"), 4);
    assert_int_equal(zt_fmt_facility("authpriv"), 10);
    assert_int_equal(zt_fmt_facility("audit"), 13);
    assert_int_equal(zt_fmt_facility("local0"), 16);
    assert_int_equal(zt_fmt_facility("local7"), 23);
    assert_int_equal(zt_fmt_facility("Auth"), -1);
    assert_int_equal(zt_fmt_facility(NULL), -1);
}

static void test_severity_maps(void **state)
{
    static const unsigned syslog_sev[] = {5, 6, 5, 4, 3, 2, 1};
    static const unsigned cef_sev[] = {5, 1, 3, 5, 7, 9, 10};
    for (int i = 0; i <= 6; i++) {
        assert_int_equal(zt_fmt_syslog_severity(i), syslog_sev[i]);
        assert_int_equal(zt_fmt_cef_severity(i), cef_sev[i]);
    }
    assert_int_equal(zt_fmt_syslog_severity(99), 5);
    assert_int_equal(zt_fmt_cef_severity(99), 5);
    assert_int_equal(zt_fmt_syslog_severity(-1), 5);
    assert_int_equal(zt_fmt_cef_severity(7), 5);
}

/* ---- escaping ---- */

static void test_sd_escaping(void **state)
{
    expect_sd("plain", 5, "plain");
    expect_sd("a\"b\\c]d", 7, "a\\\"b\\\\c\\]d");
    expect_sd("[x=y]", 5, "[x=y\\]");
    expect_sd("a\r\nb", 4, "a" FFFD FFFD "b");
    expect_sd("a\0b", 3, "a" FFFD "b");
    expect_sd("\x1b[31mred", 8, FFFD "[31mred");
    expect_sd("caf\xC3\xA9 \xE2\x82\xAC", 9, "caf\xC3\xA9 \xE2\x82\xAC"); /* é € pass */
    expect_sd("\xC3\x28", 2, FFFD "(");                                   /* invalid UTF-8 */
    expect_sd("\xC0\xAF", 2, FFFD FFFD);                                  /* overlong '/' */
    expect_sd("\xED\xA0\x80", 3, FFFD FFFD FFFD);                         /* surrogate */
    expect_sd("\xC2\x9B"
              "1m",
              4, FFFD "1m"); /* C1 CSI */
    expect_sd("a\xE2\x80\xA8"
              "b",
              5, "a" FFFD "b"); /* U+2028 */
}

static void test_escape_cut_at_char_boundary(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    /* "ab" then "é" (2 bytes): a 3-byte limit keeps "ab", never half of é. */
    assert_int_equal(zt_fmt_sd_value(&b, "ab\xC3\xA9", 4, 3), 0);
    assert_string_equal(cstr(&b), "ab");
    zt_buf_reset(&b);
    /* An escape is never split either: `a\"` needs 3 bytes. */
    assert_int_equal(zt_fmt_sd_value(&b, "a\"", 2, 2), 0);
    assert_string_equal(cstr(&b), "a");
    zt_buf_dispose(&b);
    assert_int_equal(zt_fmt_utf8_cut("a\xC3\xA9", 3, 2), 1);
    assert_int_equal(zt_fmt_utf8_cut("a\xC3\xA9", 3, 3), 3);
    assert_int_equal(zt_fmt_utf8_cut("\xE2\x82\xAC\xE2\x82\xAC", 6, 5), 3);
    assert_int_equal(zt_fmt_utf8_cut("abc", 3, 10), 3);
}

static void test_cef_header_escaping(void **state)
{
    expect_cef_hdr("a|b\\c", 5, "a\\|b\\\\c");
    expect_cef_hdr("x=y", 3, "x=y"); /* '=' is literal in the header */
    expect_cef_hdr("a\nb\rc", 5, "a" FFFD "b" FFFD "c");
    expect_cef_hdr("\xC3\xA9", 2, "\xC3\xA9");
}

static void test_cef_value_escaping(void **state)
{
    expect_cef_val("a=b", 3, "a\\=b");
    expect_cef_val("c:\\dir", 6, "c:\\\\dir");
    expect_cef_val("a\r\nb", 4, "a\\r\\nb");
    expect_cef_val("p|q", 3, "p|q"); /* '|' needs no escape in extensions */
    expect_cef_val("x\0y\x1b", 4, "x" FFFD "y" FFFD);
    expect_cef_val(" suser=root act=allow", 21, " suser\\=root act\\=allow");
    expect_cef_val("\xF0\x9F\x94\x91", 4, "\xF0\x9F\x94\x91"); /* emoji passes */
    expect_cef_val("\xFF", 1, FFFD);
}

/* ---- RFC 5424 messages ---- */

static void test_syslog_http_record(void **state)
{
    zt_buf line, out;
    zt_fmt_origin o;
    zt_fmt_rec r;
    zt_buf_init(&line, 0);
    zt_buf_init(&out, 0);
    static const char path[] = "/a\r\nforged] x=\"1\"\0tail";
    http_record(&line, 7, path, sizeof(path) - 1, "eve\"]\\@x.test");
    zt_fmt_origin_init(&o, "gw1.example", "ztgate", 1234, 10);
    assert_int_equal(zt_fmt_rec_parse(&r, line.data, line.len), 0);
    assert_int_equal(zt_fmt_syslog(&out, &o, &r, false), 0);
    zt_fmt_rec_dispose(&r);
    no_line_breaks(&out);
    char *s = cstr(&out);
    /* PRI: authpriv (10) * 8 + notice (5, from OCSF Low). */
    assert_memory_equal(s, "<85>1 ", 6);
    const char *host = strstr(s, " gw1.example ztgate 1234 HTTPActivity [ztgate@32473 ");
    assert_non_null(host);
    /* The timestamp is the record's own time field: 2026-..T..Z right after "<85>1 ". */
    assert_true(s[6 + 4] == '-' && s[6 + 10] == 'T' && host[-1] == 'Z');
    assert_non_null(strstr(s, "seq=\"7\" class_uid=\"4002\" activity_id=\"3\" severity_id=\"2\""));
    assert_non_null(strstr(s, " status=\"Failure\" decision=\"block\" "));
    assert_non_null(strstr(s, " user=\"eve\\\"\\]\\\\@x.test\" src=\"203.0.113.7\" "));
    assert_non_null(strstr(s, " app=\"wiki\" request_id=\"req-42\" hash=\"aaaa"));
    /* SD ends with ']', then one space, then the record byte for byte. */
    const char *msg = strstr(s, "\"] {\"seq\":7,");
    assert_non_null(msg);
    msg += 3;
    assert_int_equal(strlen(msg), line.len);
    assert_memory_equal(msg, line.data, line.len);
    zt_buf_dispose(&line);
    zt_buf_dispose(&out);
}

static void test_syslog_checkpoint_and_junk(void **state)
{
    static const char cp[] = "{\"seq\":10,\"prev\":\"00\",\"type\":\"checkpoint\","
                             "\"time\":\"2026-01-02T03:04:05.123456Z\",\"head\":\"00\","
                             "\"count\":9,\"key_id\":\"k\",\"sig\":\"s\",\"hash\":\"h\"}";
    zt_buf out;
    zt_fmt_origin o;
    zt_fmt_rec r;
    zt_buf_init(&out, 0);
    zt_fmt_origin_init(&o, "host with space", NULL, 0, 4);
    zt_fmt_rec_parse(&r, cp, sizeof(cp) - 1);
    assert_int_equal(zt_fmt_syslog(&out, &o, &r, false), 0);
    zt_fmt_rec_dispose(&r);
    /* auth (4) * 8 + info (6); no app name or pid given: NILVALUEs. */
    static const char want[] = "<38>1 2026-01-02T03:04:05.123456Z hostwithspace - - Checkpoint "
                               "[ztgate@32473 seq=\"10\" type=\"checkpoint\" hash=\"h\"] ";
    assert_int_equal(out.len, sizeof(want) - 1 + sizeof(cp) - 1);
    assert_memory_equal(out.data, want, sizeof(want) - 1);
    assert_memory_equal(out.data + sizeof(want) - 1, cp, sizeof(cp) - 1);

    /* Not JSON (and a bare LF in it): NILVALUE SD, current time, the line with the LF blanked. */
    static const char junk[] = "not json\nat all";
    zt_buf_reset(&out);
    zt_fmt_rec_parse(&r, junk, sizeof(junk) - 1);
    assert_null(r.root);
    assert_int_equal(zt_fmt_syslog(&out, &o, &r, false), 0);
    zt_fmt_rec_dispose(&r);
    no_line_breaks(&out);
    assert_non_null(strstr(cstr(&out), " - - - - not json at all"));
    zt_buf_dispose(&out);
}

static void test_syslog_bad_time_uses_now(void **state)
{
    static const char rec[] = "{\"seq\":1,\"class_uid\":3002,\"activity_id\":1,"
                              "\"time\":\"yesterday\\n<13>1 forged\",\"severity_id\":4}";
    zt_buf out;
    zt_fmt_origin o;
    zt_fmt_rec r;
    zt_buf_init(&out, 0);
    zt_fmt_origin_init(&o, "h", "app", 1, 13);
    zt_fmt_rec_parse(&r, rec, sizeof(rec) - 1);
    assert_int_equal(zt_fmt_syslog(&out, &o, &r, false), 0);
    zt_fmt_rec_dispose(&r);
    char *s = cstr(&out);
    /* audit (13) * 8 + error (3, from OCSF High) = 107; a real RFC 3339 time follows. */
    assert_memory_equal(s, "<107>1 20", 9);
    assert_non_null(strstr(s, "Z h app 1 Authentication [ztgate@32473 seq=\"1\""));
    zt_buf_dispose(&out);
}

static void test_octet_framing(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 0);
    assert_int_equal(zt_fmt_frame(&b, "<86>1 - - - - - -", 17), 0);
    assert_int_equal(zt_fmt_frame(&b, "caf\xC3\xA9", 5), 0); /* bytes, not characters */
    assert_int_equal(zt_fmt_frame(&b, "", 0), 0);
    assert_string_equal(cstr(&b), "17 <86>1 - - - - - -5 caf\xC3\xA9"
                                  "0 ");
    zt_buf_dispose(&b);
}

/* ---- CEF ---- */

typedef struct cef_kv {
    char key[40];
    char val[600];
} cef_kv;

/* Unescape a CEF extension value (\= \\ \r \n). */
static void cef_unescape(const char *s, size_t n, char *out, size_t cap)
{
    size_t o = 0;
    for (size_t i = 0; i < n && o + 1 < cap; i++) {
        if (s[i] == '\\' && i + 1 < n) {
            i++;
            out[o++] = s[i] == 'n' ? '\n' : s[i] == 'r' ? '\r' : s[i];
        } else {
            out[o++] = s[i];
        }
    }
    out[o] = '\0';
}

/* A strict reader, as a SIEM would parse: 7 header fields split on unescaped '|', then
 * extension pairs where a key is [A-Za-z0-9]+ after a space and before an unescaped '='. */
static size_t cef_parse(const char *line, char hdr[7][128], cef_kv *kv, size_t max)
{
    const char *p = line;
    for (int f = 0; f < 7; f++) {
        size_t n = 0;
        while (*p != '\0' && *p != '|') {
            if (*p == '\\' && p[1] != '\0')
                hdr[f][n++] = *++p, p++;
            else
                hdr[f][n++] = *p++;
            assert_true(n < 128);
        }
        hdr[f][n] = '\0';
        assert_int_equal(*p, '|');
        p++;
    }
    size_t count = 0;
    while (*p != '\0' && count < max) {
        const char *eq = p;
        while (*eq != '=' && *eq != '\0')
            eq++;
        assert_int_equal(*eq, '=');
        snprintf(kv[count].key, sizeof(kv[count].key), "%.*s", (int)(eq - p), p);
        for (const char *k = p; k < eq; k++)
            assert_true((*k >= 'a' && *k <= 'z') || (*k >= 'A' && *k <= 'Z') ||
                        (*k >= '0' && *k <= '9'));
        const char *v = eq + 1, *end = v;
        /* The value ends at the last space before the next unescaped '='. */
        const char *last_space = NULL;
        for (; *end != '\0'; end++) {
            if (*end == '\\' && end[1] != '\0') {
                end++;
                continue;
            }
            if (*end == ' ')
                last_space = end;
            if (*end == '=')
                break;
        }
        const char *vend = *end == '\0' ? end : last_space;
        assert_non_null(vend);
        cef_unescape(v, (size_t)(vend - v), kv[count].val, sizeof(kv[count].val));
        count++;
        p = *vend == '\0' ? vend : vend + 1;
    }
    return count;
}

static const char *kv_get(const cef_kv *kv, size_t n, const char *key)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(kv[i].key, key) == 0)
            return kv[i].val;
    return NULL;
}

static void test_cef_http_record(void **state)
{
    zt_buf line, out;
    zt_fmt_rec r;
    char hdr[7][128];
    cef_kv kv[40];
    zt_buf_init(&line, 0);
    zt_buf_init(&out, 0);
    static const char path[] = "/x suser=root act=allow\r\nCEF:0|evil|x|1|2|3|10|\0\\end";
    http_record(&line, 3, path, sizeof(path) - 1, "bob|x=y@ex.test");
    zt_fmt_rec_parse(&r, line.data, line.len);
    assert_int_equal(zt_fmt_cef(&out, &r, "gw1"), 0);
    zt_fmt_rec_dispose(&r);
    no_line_breaks(&out);
    size_t n = cef_parse(cstr(&out), hdr, kv, 40);
    assert_string_equal(hdr[0], "CEF:0");
    assert_string_equal(hdr[1], "ztgate");
    assert_string_equal(hdr[2], "ztgate");
    assert_string_equal(hdr[3], ZT_VERSION);
    assert_string_equal(hdr[4], "4002:3");
    assert_string_equal(hdr[5], "HTTP Activity: Get");
    assert_string_equal(hdr[6], "3"); /* OCSF Low */
    assert_string_equal(kv_get(kv, n, "src"), "203.0.113.7");
    assert_string_equal(kv_get(kv, n, "spt"), "50123");
    assert_string_equal(kv_get(kv, n, "suser"), "bob|x=y@ex.test");
    assert_string_equal(kv_get(kv, n, "suid"), "u-1");
    assert_string_equal(kv_get(kv, n, "requestMethod"), "GET");
    assert_string_equal(kv_get(kv, n, "act"), "block");
    assert_string_equal(kv_get(kv, n, "outcome"), "failure");
    assert_string_equal(kv_get(kv, n, "externalId"), "req-42");
    assert_string_equal(kv_get(kv, n, "cs2Label"), "app");
    assert_string_equal(kv_get(kv, n, "cs2"), "wiki");
    assert_string_equal(kv_get(kv, n, "cn1"), "3");
    assert_string_equal(kv_get(kv, n, "dvchost"), "gw1");
    assert_string_equal(kv_get(kv, n, "cat"), "HTTP Activity");
    assert_non_null(kv_get(kv, n, "rt"));
    assert_true(strtoll(kv_get(kv, n, "rt"), NULL, 10) > 1700000000000LL);
    /* The hostile path survives as one value: CR LF come back, NUL became U+FFFD, and the
     * " suser=root act=allow" inside it added no keys. */
    assert_string_equal(kv_get(kv, n, "request"), "https://app.test/x suser=root act=allow\r\n"
                                                  "CEF:0|evil|x|1|2|3|10|" FFFD "\\end");
    size_t users = 0, acts = 0;
    for (size_t i = 0; i < n; i++) {
        users += strcmp(kv[i].key, "suser") == 0;
        acts += strcmp(kv[i].key, "act") == 0;
    }
    assert_int_equal(users, 1);
    assert_int_equal(acts, 1);
    zt_buf_dispose(&line);
    zt_buf_dispose(&out);
}

static void test_cef_in_syslog_and_checkpoint(void **state)
{
    static const char cp[] = "{\"seq\":10,\"prev\":\"00\",\"type\":\"checkpoint\","
                             "\"time\":\"2026-01-02T03:04:05.123456Z\",\"head\":\"00\","
                             "\"count\":9,\"key_id\":\"k\",\"sig\":\"s\",\"hash\":\"h1\"}";
    zt_buf out;
    zt_fmt_origin o;
    zt_fmt_rec r;
    char hdr[7][128];
    cef_kv kv[40];
    zt_buf_init(&out, 0);
    zt_fmt_origin_init(&o, "gw", "ztgate", 9, 10);
    zt_fmt_rec_parse(&r, cp, sizeof(cp) - 1);
    assert_int_equal(zt_fmt_syslog(&out, &o, &r, true), 0);
    zt_fmt_rec_dispose(&r);
    char *s = cstr(&out);
    const char *cef = strstr(s, "] CEF:0|");
    assert_non_null(cef);
    assert_memory_equal(s, "<86>1 2026-01-02T03:04:05.123456Z gw ztgate 9 Checkpoint [", 58);
    size_t n = cef_parse(cef + 2, hdr, kv, 40);
    assert_string_equal(hdr[4], "checkpoint");
    assert_string_equal(hdr[6], "1");
    assert_string_equal(kv_get(kv, n, "rt"), "1767323045123");
    assert_string_equal(kv_get(kv, n, "cs5"), "h1");
    assert_string_equal(kv_get(kv, n, "cn2"), "9");
    assert_string_equal(kv_get(kv, n, "cat"), "Audit Checkpoint");
    zt_buf_dispose(&out);
}

static void test_cef_account_change_users(void **state)
{
    zt_buf ev, line, out;
    zt_event e;
    zt_fmt_rec r;
    char hdr[7][128];
    cef_kv kv[40];
    zt_buf_init(&ev, 0);
    zt_buf_init(&line, 0);
    zt_buf_init(&out, 0);
    zt_event_begin(&e, &ev, ZT_EV_ACCOUNT_CHANGE, 9, ZT_SEV_CRITICAL);
    zt_event_str(&e, "actor.user.name", "admin");
    zt_event_str(&e, "user.name", "alice");
    zt_event_str(&e, "user.uid", "u-7");
    assert_int_equal(zt_event_end(&e), 0);
    wrap(&line, 1, &ev);
    zt_fmt_rec_parse(&r, line.data, line.len);
    assert_int_equal(zt_fmt_cef(&out, &r, "-"), 0);
    zt_fmt_rec_dispose(&r);
    size_t n = cef_parse(cstr(&out), hdr, kv, 40);
    assert_string_equal(hdr[4], "3001:9");
    assert_string_equal(hdr[5], "Account Change: Lock");
    assert_string_equal(hdr[6], "9");
    assert_string_equal(kv_get(kv, n, "suser"), "admin");
    assert_string_equal(kv_get(kv, n, "duser"), "alice");
    assert_string_equal(kv_get(kv, n, "duid"), "u-7");
    assert_null(kv_get(kv, n, "dvchost"));
    zt_buf_dispose(&ev);
    zt_buf_dispose(&line);
    zt_buf_dispose(&out);
}

/* ---- config ---- */

#define BASE                                                                                       \
    "gateway:\n"                                                                                   \
    "  listen:\n"                                                                                  \
    "    - address: 127.0.0.1:8080\n"                                                              \
    "apps:\n"                                                                                      \
    "  - {name: a, upstream: \"http://127.0.0.1:8081\"}\n"

static zt_config *load(const char *yaml, zt_diags *d)
{
    zt_diags_init(d);
    zt_config *cfg = zt_config_load_mem("t.yaml", yaml, strlen(yaml), d);
    zt_buf_cstr(&d->text);
    return cfg;
}

static void test_config_exports(void **state)
{
    zt_diags d;
    zt_config *cfg = load(BASE "audit:\n"
                               "  export:\n"
                               "    - name: siem\n"
                               "      type: cef\n"
                               "      transport: tls\n"
                               "      address: 127.0.0.1:6514\n"
                               "      insecure_skip_verify: true\n"
                               "      server_name: SIEM.Example\n"
                               "      facility: local4\n"
                               "      queue_limit: 50\n"
                               "      app_name: zt-gw\n"
                               "    - name: udp\n"
                               "      transport: udp\n"
                               "      address: 10.0.0.1:514\n",
                          &d);
    if (cfg == NULL)
        fail_msg("%s", d.text.data);
    assert_int_equal(cfg->audit.n_exports, 2);
    const zt_export_cfg *x = &cfg->audit.exports[0];
    assert_string_equal(x->name, "siem");
    assert_int_equal(x->type, ZT_EXPORT_CEF);
    assert_int_equal(x->transport, ZT_EXPORT_TLS);
    assert_true(x->insecure_skip_verify);
    assert_string_equal(x->server_name, "siem.example");
    assert_int_equal(x->facility, 20);
    assert_int_equal(x->queue_limit, 50);
    assert_string_equal(x->app_name, "zt-gw");
    assert_int_equal(x->line, 8);
    x = &cfg->audit.exports[1];
    assert_int_equal(x->type, ZT_EXPORT_SYSLOG);
    assert_int_equal(x->transport, ZT_EXPORT_UDP);
    assert_int_equal(x->facility, 10);
    assert_int_equal(x->queue_limit, 10000);
    assert_string_equal(x->app_name, "ztgate");
    assert_int_equal(((struct sockaddr_in *)&x->addr)->sin_port, htons(514));
    zt_config_free(cfg);
    zt_diags_dispose(&d);

    cfg = load(BASE, &d);
    assert_non_null(cfg);
    assert_int_equal(cfg->audit.n_exports, 0);
    zt_config_free(cfg);
    zt_diags_dispose(&d);
}

static void expect_errors(const char *yaml, const char *want)
{
    zt_diags d;
    zt_config *cfg = load(yaml, &d);
    assert_null(cfg);
    if (strstr(d.text.data, want) == NULL)
        fail_msg("expected %s in:\n%s", want, d.text.data);
    zt_diags_dispose(&d);
}

static void test_config_export_errors(void **state)
{
    expect_errors(BASE "audit:\n  export:\n    - name: s\n      transport: tls\n"
                       "      address: 127.0.0.1:1\n",
                  "t.yaml:8:7: 'audit.export[0]' uses transport: tls and needs 'ca'");
    expect_errors(BASE "audit:\n  export:\n    - name: s\n      address: 127.0.0.1:1\n"
                       "      ca: /nonexistent/ca.pem\n",
                  "t.yaml:10:11: 'audit.export[0].ca' only applies to transport: tls");
    expect_errors(BASE "audit:\n  export:\n    - name: s\n      transport: tls\n"
                       "      address: 127.0.0.1:1\n      ca: /nonexistent/ca.pem\n",
                  "t.yaml:11:11: 'audit.export[0].ca' file '/nonexistent/ca.pem' cannot be read");
    expect_errors(BASE "audit:\n  export:\n    - {name: s, address: \"127.0.0.1:1\"}\n"
                       "    - {name: s, address: \"127.0.0.1:2\", transport: udp}\n",
                  "t.yaml:9:7: duplicate export name 's' (first at line 8)");
    expect_errors(BASE "audit:\n  export:\n    - {name: s, address: \"127.0.0.1:1\", "
                       "facility: security}\n",
                  "'audit.export[0].facility' must be one of");
    expect_errors(BASE "audit:\n  export:\n    - {name: s, address: \"siem.example:514\"}\n",
                  "'audit.export[0].address' must be IP:PORT");
    expect_errors(BASE "audit:\n  export:\n    - {name: s, address: \"127.0.0.1:1\", "
                       "app_name: \"zt gate\"}\n",
                  "'audit.export[0].app_name' must be 1 to 48 printable ASCII");
    expect_errors(BASE "audit:\n  export:\n    - {name: s, address: \"127.0.0.1:1\", "
                       "transport: quic}\n",
                  "'audit.export[0].transport' must be one of");
    expect_errors(BASE "audit:\n  export:\n    - {name: s, address: \"127.0.0.1:1\", port: 1}\n",
                  "unknown key 'port' in 'audit.export[0]'");
    expect_errors(BASE "audit:\n  export:\n    - {address: \"127.0.0.1:1\"}\n",
                  "missing required key 'name' in 'audit.export[0]'");
}

/* ---- exporter threads against local sockets ---- */

static int listen_on(int type, uint16_t *port)
{
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof(a);
    int fd = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    if (type == SOCK_STREAM)
        assert_int_equal(listen(fd, 4), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    *port = ntohs(a.sin_port);
    return fd;
}

static zt_export_cfg sink_cfg(const char *name, zt_export_transport t, uint16_t port,
                              uint32_t limit)
{
    zt_export_cfg c = {.name = (char *)name,
                       .transport = t,
                       .queue_limit = limit,
                       .facility = 10,
                       .app_name = "ztgate",
                       .address = "127.0.0.1"};
    struct sockaddr_in *in = (struct sockaddr_in *)&c.addr;
    in->sin_family = AF_INET;
    in->sin_port = htons(port);
    in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return c;
}

/* Read octet-counted frames from fd until n arrived; returns how many. */
static size_t read_frames(int fd, size_t n, char msgs[][512])
{
    char buf[16384];
    size_t have = 0, got = 0;
    uint64_t deadline = zt_mono_us() + 5000000;
    while (got < n && zt_mono_us() < deadline) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        if (poll(&p, 1, 100) <= 0)
            continue;
        ssize_t r = recv(fd, buf + have, sizeof(buf) - have, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
        for (;;) {
            char *sp = memchr(buf, ' ', have);
            if (sp == NULL)
                break;
            size_t len = strtoul(buf, NULL, 10), hl = (size_t)(sp - buf) + 1;
            if (have < hl + len)
                break;
            snprintf(msgs[got++], 512, "%.*s", (int)len, sp + 1);
            memmove(buf, buf + hl + len, have - hl - len);
            have -= hl + len;
        }
    }
    return got;
}

/* The counter moves after send() returned, so a test may see the bytes first. */
static void wait_sent(zt_exporter *x, uint64_t n, zt_export_sink_stats *st)
{
    for (int i = 0; i < 500; i++) {
        zt_export_stats(x, 0, st);
        if (st->sent >= n)
            return;
        usleep(10000);
    }
}

static void test_export_tcp_delivers_framed(void **state)
{
    uint16_t port;
    int lfd = listen_on(SOCK_STREAM, &port);
    zt_export_cfg c = sink_cfg("t", ZT_EXPORT_TCP, port, 100);
    char err[256];
    zt_exporter *x = zt_export_new(&c, 1, err, sizeof(err));
    assert_non_null(x);
    assert_int_equal(zt_export_count(x), 1);
    static const char lines[] = "{\"seq\":1,\"class_uid\":3002,\"severity_id\":1}\n"
                                "{\"seq\":2,\"class_uid\":4002,\"severity_id\":5}\n"
                                "{\"seq\":3,\"class_uid\":6002}\n";
    zt_export_submit_lines(x, lines, sizeof(lines) - 1);
    struct pollfd p = {.fd = lfd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    int cfd = accept(lfd, NULL, NULL);
    assert_true(cfd >= 0);
    char msgs[3][512];
    assert_int_equal(read_frames(cfd, 3, msgs), 3);
    assert_memory_equal(msgs[0], "<86>1 ", 6);
    assert_non_null(strstr(msgs[0], " Authentication [ztgate@32473 seq=\"1\""));
    assert_non_null(strstr(msgs[0], "] {\"seq\":1,\"class_uid\":3002,\"severity_id\":1}"));
    assert_memory_equal(msgs[1], "<82>1 ", 6); /* authpriv.crit */
    assert_non_null(strstr(msgs[2], " ApplicationLifecycle "));
    zt_export_sink_stats st;
    wait_sent(x, 3, &st);
    assert_int_equal(st.sent, 3);
    assert_int_equal(st.dropped, 0);
    assert_true(st.connected);
    assert_string_equal(st.name, "t");
    zt_export_free(x);
    close(cfd);
    close(lfd);
}

static void test_export_udp_truncates(void **state)
{
    uint16_t port;
    int fd = listen_on(SOCK_DGRAM, &port);
    zt_export_cfg c = sink_cfg("u", ZT_EXPORT_UDP, port, 100);
    c.type = ZT_EXPORT_SYSLOG;
    zt_exporter *x = zt_export_new(&c, 1, NULL, 0);
    assert_non_null(x);
    /* A 20 KB record whose bytes around the cut are 2-byte characters. */
    zt_buf big;
    zt_buf_init(&big, 0);
    zt_buf_append_str(&big, "{\"seq\":1,\"message\":\"");
    for (int i = 0; i < 10000; i++)
        zt_buf_append_str(&big, "\xC3\xA9");
    zt_buf_append_str(&big, "\"}");
    zt_export_submit(x, big.data, big.len);
    zt_export_submit(x, "{\"seq\":2}", 9);
    char d[65536];
    struct pollfd p = {.fd = fd, .events = POLLIN};
    assert_int_equal(poll(&p, 1, 5000), 1);
    ssize_t n = recv(fd, d, sizeof(d), 0);
    /* Cut at the limit or one byte before it, never inside "é" (C3 A9). */
    assert_true(n >= ZT_EXPORT_UDP_MAX - 1 && n <= ZT_EXPORT_UDP_MAX);
    assert_int_equal((unsigned char)d[n - 2], 0xC3);
    assert_int_equal((unsigned char)d[n - 1], 0xA9);
    assert_int_equal(poll(&p, 1, 5000), 1);
    n = recv(fd, d, sizeof(d), 0);
    assert_true(n > 0);
    d[n] = '\0';
    assert_non_null(strstr(d, "] {\"seq\":2}"));
    zt_export_sink_stats st;
    wait_sent(x, 2, &st);
    assert_int_equal(st.truncated, 1);
    assert_int_equal(st.sent, 2);
    zt_export_free(x);
    zt_buf_dispose(&big);
    close(fd);
}

static void test_export_down_drops_and_stops_in_time(void **state)
{
    uint16_t port;
    int lfd = listen_on(SOCK_STREAM, &port);
    close(lfd); /* nothing listens there now: connections are refused */
    zt_export_cfg c = sink_cfg("down", ZT_EXPORT_TCP, port, 3);
    zt_exporter *x = zt_export_new(&c, 1, NULL, 0);
    assert_non_null(x);
    uint64_t t0 = zt_mono_us();
    for (int i = 0; i < 10; i++)
        zt_export_submit(x, "{\"seq\":1}", 9);
    /* Submitting never waited for the dead collector. */
    assert_true(zt_mono_us() - t0 < 100000);
    zt_export_sink_stats st;
    usleep(400000);
    zt_export_stats(x, 0, &st);
    assert_int_equal(st.queued, 3);
    assert_int_equal(st.dropped, 7);
    assert_int_equal(st.sent, 0);
    assert_false(st.connected);
    assert_true(st.connect_failed >= 2);
    assert_true(st.reconnects >= 1);
    t0 = zt_mono_us();
    zt_export_free(x);
    assert_true(zt_mono_us() - t0 < 3000000);
}

static void test_export_bad_ca_refused(void **state)
{
    zt_export_cfg c = sink_cfg("tls", ZT_EXPORT_TLS, 1, 10);
    c.ca_file = "/nonexistent/ca.pem";
    char err[256];
    assert_null(zt_export_new(&c, 1, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot load CA bundle /nonexistent/ca.pem"));
    assert_null(zt_export_new(&c, 0, err, sizeof(err)));
    assert_string_equal(err, "");
    zt_export_free(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pri),
        cmocka_unit_test(test_severity_maps),
        cmocka_unit_test(test_sd_escaping),
        cmocka_unit_test(test_escape_cut_at_char_boundary),
        cmocka_unit_test(test_cef_header_escaping),
        cmocka_unit_test(test_cef_value_escaping),
        cmocka_unit_test(test_syslog_http_record),
        cmocka_unit_test(test_syslog_checkpoint_and_junk),
        cmocka_unit_test(test_syslog_bad_time_uses_now),
        cmocka_unit_test(test_octet_framing),
        cmocka_unit_test(test_cef_http_record),
        cmocka_unit_test(test_cef_in_syslog_and_checkpoint),
        cmocka_unit_test(test_cef_account_change_users),
        cmocka_unit_test(test_config_exports),
        cmocka_unit_test(test_config_export_errors),
        cmocka_unit_test(test_export_tcp_delivers_framed),
        cmocka_unit_test(test_export_udp_truncates),
        cmocka_unit_test(test_export_down_drops_and_stops_in_time),
        cmocka_unit_test(test_export_bad_ca_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
