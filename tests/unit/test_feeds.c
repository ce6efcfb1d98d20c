/* Threat-intelligence feeds: line formats with exact FILE:LINE reports, the CIDR set (edges and
 * a brute-force cross-check), lookups, leaked pairs, GeoIP from mmdb files generated at test
 * time by tests/tools/make_mmdb.pl, reload keeping old data, change detection, and timing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "lib/buf.h"
#include "risk/cidr.h"
#include "risk/feeds.h"

static char tmpdir[64];

static int setup(void **state)
{
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/zt-feeds-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

/* Paths live in a small ring so a test can hold several at once. */
static const char *tmp_path(const char *name)
{
    static char ring[8][160];
    static unsigned next;
    char *p = ring[next++ % 8];
    snprintf(p, sizeof(ring[0]), "%s/%s", tmpdir, name);
    return p;
}

static const char *write_file(const char *name, const char *text)
{
    const char *path = tmp_path(name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
    assert_int_equal(fclose(f), 0);
    return path;
}

static struct sockaddr_storage ss;

static const struct sockaddr *addr(const char *ip)
{
    memset(&ss, 0, sizeof(ss));
    struct sockaddr_in *in = (struct sockaddr_in *)&ss;
    struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&ss;
    if (inet_pton(AF_INET, ip, &in->sin_addr) == 1) {
        in->sin_family = AF_INET;
    } else {
        assert_int_equal(inet_pton(AF_INET6, ip, &in6->sin6_addr), 1);
        in6->sin6_family = AF_INET6;
    }
    return (const struct sockaddr *)&ss;
}

static void sha1_of(const char *s, unsigned char md[20])
{
    unsigned int n = 0;
    assert_int_equal(EVP_Digest(s, strlen(s), md, &n, EVP_sha1(), NULL), 1);
}

static void sha1_hex(const char *s, bool upper, char out[41])
{
    unsigned char md[20];
    sha1_of(s, md);
    for (int i = 0; i < 20; i++)
        snprintf(out + 2 * i, 3, upper ? "%02X" : "%02x", md[i]);
}

static const char *report_str(zt_buf *b)
{
    assert_int_equal(zt_buf_cstr(b), 0);
    return b->data;
}

/* ---- formats ---------------------------------------------------------------------------- */

static void test_tor_format(void **state)
{
    const char *text = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                       "Published 2026-11-01 11:37:27\n"
                       "LastStatus 2026-11-01 12:00:00\n"
                       "ExitAddress 198.51.100.7 2026-11-01 12:07:50\n"
                       "ExitNode 00A1\n"
                       "ExitAddress 2001:db8::7 2026-11-01 12:07:50\r\n"
                       "ExitAddress 198.51.100.300 2026-11-01 12:07:50\n"
                       "ExitAddress 198.51.100.0/24 2026-11-01 12:00:00\n"
                       "ExitAddress 198.51.100.8\n"
                       "ExitAddress 198.51.100.9 2026-11-1 12:00:00\n"
                       "ExitNode\n"
                       "ExitAddress\n"
                       "ExitAddress 198.51.100.10 2026-11-01 12:00:00 extra\n";
    zt_buf rep;
    zt_buf_init(&rep, 0);
    zt_feed_data *d = zt_feeds_parse_list_mem("tor.txt", text, strlen(text), &rep);
    assert_non_null(d);
    assert_string_equal(report_str(&rep),
                        "tor.txt:7: ExitAddress: not an IP address or CIDR block\n"
                        "tor.txt:8: ExitAddress: expected a single address, not a block\n"
                        "tor.txt:9: ExitAddress: expected ADDRESS DATE TIME\n"
                        "tor.txt:10: ExitAddress: bad date or time\n"
                        "tor.txt:11: Tor exit list keyword without a value\n"
                        "tor.txt:12: ExitAddress: missing address\n"
                        "tor.txt:13: ExitAddress: expected ADDRESS DATE TIME\n");
    assert_int_equal(zt_feed_data_count(d), 2);
    assert_int_equal(zt_feed_data_bad_lines(d), 7);
    assert_true(zt_feed_data_has_ip(d, addr("198.51.100.7")));
    assert_true(zt_feed_data_has_ip(d, addr("2001:db8::7")));
    assert_true(zt_feed_data_has_ip(d, addr("::ffff:198.51.100.7")));
    assert_false(zt_feed_data_has_ip(d, addr("198.51.100.8")));
    assert_false(zt_feed_data_has_ip(d, addr("198.51.100.10")));
    zt_feed_data_unref(d);
    zt_buf_dispose(&rep);
}

static void test_plain_list(void **state)
{
    char longline[1100];
    memset(longline, 'a', sizeof(longline) - 1);
    longline[sizeof(longline) - 1] = '\0';
    zt_buf text;
    zt_buf_init(&text, 0);
    assert_int_equal(zt_buf_printf(&text,
                                   "# a comment\n"
                                   "   \n"
                                   "  203.0.113.0/24  \n"
                                   "10.0.0.0/8 # inline comment\n"
                                   "\t2001:db8:1::/48\r\n"
                                   "10.1.2.3/8\n"
                                   "1.2.3.4/33\n"
                                   "1.2.3.4/\n"
                                   "nonsense\n"
                                   "1.2.3.4 5.6.7.8\n"
                                   "%s\n"
                                   "2001:db8::1/129\n"
                                   "1.2.3.4/x\n"
                                   "192.0.2.1",
                                   longline),
                     0);
    zt_buf rep;
    zt_buf_init(&rep, 0);
    zt_feed_data *d = zt_feeds_parse_list_mem("list.txt", text.data, text.len, &rep);
    assert_non_null(d);
    assert_string_equal(report_str(&rep),
                        "list.txt:6: host bits set after the prefix\n"
                        "list.txt:7: prefix length out of range\n"
                        "list.txt:8: bad prefix length\n"
                        "list.txt:9: not an IP address or CIDR block\n"
                        "list.txt:10: expected one IP address or CIDR block per line\n"
                        "list.txt:11: line longer than 1024 bytes\n"
                        "list.txt:12: prefix length out of range\n"
                        "list.txt:13: bad prefix length\n");
    assert_int_equal(zt_feed_data_count(d), 4);
    assert_true(zt_feed_data_has_ip(d, addr("203.0.113.255")));
    assert_true(zt_feed_data_has_ip(d, addr("10.200.0.1")));
    assert_true(zt_feed_data_has_ip(d, addr("2001:db8:1:ffff::1")));
    assert_true(zt_feed_data_has_ip(d, addr("192.0.2.1")));
    assert_false(zt_feed_data_has_ip(d, addr("192.0.2.2")));
    assert_false(zt_feed_data_has_ip(d, addr("2001:db8:2::1")));
    zt_feed_data_unref(d);

    /* An empty file and a comments-only file are fine and empty. */
    zt_buf_reset(&rep);
    d = zt_feeds_parse_list_mem("empty", "", 0, &rep);
    assert_non_null(d);
    assert_int_equal(zt_feed_data_count(d), 0);
    assert_int_equal(rep.len, 0);
    zt_feed_data_unref(d);
    zt_buf_dispose(&rep);
    zt_buf_dispose(&text);
}

static void test_report_cap(void **state)
{
    zt_buf text, rep;
    zt_buf_init(&text, 0);
    zt_buf_init(&rep, 0);
    for (int i = 0; i < ZT_FEEDS_MAX_REPORTED + 5; i++)
        assert_int_equal(zt_buf_append_str(&text, "bad\n"), 0);
    zt_feed_data *d = zt_feeds_parse_list_mem("f", text.data, text.len, &rep);
    assert_non_null(d);
    assert_int_equal(zt_feed_data_bad_lines(d), ZT_FEEDS_MAX_REPORTED + 5);
    const char *r = report_str(&rep);
    assert_non_null(strstr(r, "f:100: not an IP"));
    assert_null(strstr(r, "f:101:"));
    assert_non_null(strstr(r, "f: 5 more bad lines not shown\n"));
    zt_feed_data_unref(d);
    zt_buf_dispose(&rep);
    zt_buf_dispose(&text);
}

static void test_leaked_format(void **state)
{
    char up[41], low[41], other[41];
    sha1_hex("hunter2", true, up);
    sha1_hex("correct horse", false, low);
    sha1_hex("letmein", false, other);
    zt_buf text;
    zt_buf_init(&text, 0);
    assert_int_equal(zt_buf_printf(&text,
                                   "Alice@Example.org:%s\n"
                                   "  bob@example.org:%s  \n"
                                   "# comment\n"
                                   "carol@example.org\n"
                                   ":%s\n"
                                   "dave@example.org:ABC\n"
                                   "eve@example.org:%.39sg\n"
                                   "bad user@example.org:%s\n"
                                   "odd:user@example.org:%s\n"
                                   "\n"
                                   "bob@example.org:%s",
                                   up, low, up, up, up, other, other),
                     0);
    zt_buf rep;
    zt_buf_init(&rep, 0);
    zt_feed_data *d = zt_feeds_parse_leaked_mem("leaked.txt", text.data, text.len, &rep);
    assert_non_null(d);
    assert_string_equal(report_str(&rep), "leaked.txt:4: expected USER:SHA1HEX\n"
                                          "leaked.txt:5: empty user\n"
                                          "leaked.txt:6: SHA-1 is not 40 hex digits\n"
                                          "leaked.txt:7: SHA-1 is not 40 hex digits\n"
                                          "leaked.txt:8: user contains blanks or control "
                                          "characters\n");
    assert_int_equal(zt_feed_data_count(d), 4);
    unsigned char h_hunter[20], h_horse[20], h_letmein[20];
    sha1_of("hunter2", h_hunter);
    sha1_of("correct horse", h_horse);
    sha1_of("letmein", h_letmein);
    /* Users compare case-insensitively; hex case does not matter. */
    assert_true(zt_feed_data_has_pair(d, "alice@example.org", h_hunter));
    assert_true(zt_feed_data_has_pair(d, "ALICE@EXAMPLE.ORG", h_hunter));
    assert_true(zt_feed_data_has_pair(d, "bob@example.org", h_horse));
    assert_true(zt_feed_data_has_pair(d, "bob@example.org", h_letmein));
    assert_true(zt_feed_data_has_pair(d, "Odd:User@example.org", h_letmein));
    assert_false(zt_feed_data_has_pair(d, "alice@example.org", h_horse));
    assert_false(zt_feed_data_has_pair(d, "bob@example.org", h_hunter));
    assert_false(zt_feed_data_has_pair(d, "mallory@example.org", h_hunter));
    assert_false(zt_feed_data_has_pair(d, "alice@example.or", h_hunter));
    assert_false(zt_feed_data_has_pair(d, "", h_hunter));
    zt_feed_data_unref(d);
    zt_buf_dispose(&rep);
    zt_buf_dispose(&text);
}

/* ---- CIDR set --------------------------------------------------------------------------- */

static void add(zt_cidrset *s, const char *text, uint16_t v)
{
    zt_cidr c;
    const char *why = zt_cidr_parse_n(text, strlen(text), &c);
    if (why != NULL)
        fail_msg("%s: %s", text, why);
    assert_int_equal(zt_cidrset_add(s, &c, v), 0);
}

/* Value found for ip, or -1. */
static int find(const zt_cidrset *s, const char *ip)
{
    uint16_t v = 0;
    return zt_cidrset_lookup(s, addr(ip), &v) ? v : -1;
}

static void test_cidr_edges(void **state)
{
    zt_cidrset *s = zt_cidrset_new();
    assert_non_null(s);
    assert_int_equal(find(s, "10.0.0.1"), -1); /* not frozen */
    add(s, "10.1.2.3/32", 4);
    add(s, "0.0.0.0/0", 1);
    add(s, "10.1.0.0/16", 3);
    add(s, "10.0.0.0/8", 2);
    add(s, "192.0.2.0/25", 5);
    add(s, "192.0.2.128/25", 6);
    add(s, "255.255.255.255/32", 12);
    add(s, "2001:db8::/32", 8);
    add(s, "::/0", 7);
    add(s, "2001:db8::1/128", 9);
    add(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128", 10);
    add(s, "::ffff:198.51.100.0/120", 11); /* IPv4-mapped block: stored as IPv4 */
    add(s, "10.0.0.0/8", 13);              /* duplicate: the first value stays */
    assert_int_equal(zt_cidrset_freeze(s), 0);
    assert_int_equal(zt_cidrset_count(s), 13);

    assert_int_equal(find(s, "10.1.2.3"), 4);
    assert_int_equal(find(s, "10.1.2.2"), 3);
    assert_int_equal(find(s, "10.1.2.4"), 3);
    assert_int_equal(find(s, "10.1.255.255"), 3);
    assert_int_equal(find(s, "10.2.0.0"), 2);
    assert_int_equal(find(s, "10.0.255.255"), 2);
    assert_int_equal(find(s, "10.255.255.255"), 2);
    assert_int_equal(find(s, "9.255.255.255"), 1);
    assert_int_equal(find(s, "11.0.0.0"), 1);
    assert_int_equal(find(s, "0.0.0.0"), 1);
    assert_int_equal(find(s, "255.255.255.254"), 1);
    assert_int_equal(find(s, "255.255.255.255"), 12);
    assert_int_equal(find(s, "192.0.2.0"), 5);
    assert_int_equal(find(s, "192.0.2.127"), 5);
    assert_int_equal(find(s, "192.0.2.128"), 6);
    assert_int_equal(find(s, "192.0.2.255"), 6);
    assert_int_equal(find(s, "192.0.3.0"), 1);
    assert_int_equal(find(s, "198.51.100.77"), 11);
    /* IPv4-mapped IPv6 goes to the IPv4 ranges, never to ::/0. */
    assert_int_equal(find(s, "::ffff:10.1.2.3"), 4);
    assert_int_equal(find(s, "::ffff:198.51.100.1"), 11);
    assert_int_equal(find(s, "::"), 7);
    assert_int_equal(find(s, "::1"), 7);
    assert_int_equal(find(s, "2001:db8::"), 8);
    assert_int_equal(find(s, "2001:db8::1"), 9);
    assert_int_equal(find(s, "2001:db8::2"), 8);
    assert_int_equal(find(s, "2001:db8:ffff:ffff:ffff:ffff:ffff:ffff"), 8);
    assert_int_equal(find(s, "2001:db9::"), 7);
    assert_int_equal(find(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:fffe"), 7);
    assert_int_equal(find(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 10);
    assert_int_equal(zt_cidrset_add(s, NULL, 0), -EINVAL); /* frozen */
    zt_cidrset_free(s);

    /* A /128 at the very top; same-valued blocks with gaps between them. */
    s = zt_cidrset_new();
    add(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 3);
    add(s, "2001:db8::/127", 4);
    add(s, "2001:db8::8/127", 4); /* same value across a gap: the gap stays empty */
    add(s, "192.0.2.0/31", 5);
    add(s, "192.0.2.4/31", 5);
    assert_int_equal(zt_cidrset_freeze(s), 0);
    assert_int_equal(find(s, "2001:db8::4"), -1);
    assert_int_equal(find(s, "2001:db8::9"), 4);
    assert_int_equal(find(s, "192.0.2.2"), -1);
    assert_int_equal(find(s, "192.0.2.5"), 5);
    assert_int_equal(find(s, "1.2.3.4"), -1);
    assert_int_equal(find(s, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"), 3);
    assert_int_equal(find(s, "2001:db8::1"), 4);
    assert_int_equal(find(s, "2001:db8::2"), -1);
    assert_int_equal(find(s, "2001:db7:ffff:ffff:ffff:ffff:ffff:ffff"), -1);
    zt_cidrset_free(s);

    /* Empty set. */
    s = zt_cidrset_new();
    assert_int_equal(zt_cidrset_freeze(s), 0);
    assert_int_equal(find(s, "1.2.3.4"), -1);
    assert_int_equal(find(s, "::1"), -1);
    zt_cidrset_free(s);
    zt_cidrset_free(NULL);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

typedef struct ref_block {
    zt_cidr c;
    uint16_t v;
} ref_block;

/* Brute force: the longest block holding ip; on equal blocks the first added. */
static int ref_find(const ref_block *b, size_t n, const struct sockaddr *ip)
{
    int best = -1, best_len = -1;
    for (size_t i = 0; i < n; i++)
        if (b[i].c.prefix > best_len && zt_cidr_contains(&b[i].c, ip)) {
            best = b[i].v;
            best_len = b[i].c.prefix;
        }
    return best;
}

/* Random nested and overlapping blocks inside a small space, so nesting is dense, checked
 * against brute force at random addresses and at every block edge. */
static void test_cidr_random(void **state)
{
    for (int round = 0; round < 20; round++) {
        size_t n = 1 + rnd() % 300;
        ref_block *b = calloc(n, sizeof(*b));
        zt_cidrset *s = zt_cidrset_new();
        assert_non_null(b);
        for (size_t i = 0; i < n; i++) {
            bool v6 = rnd() % 3 == 0;
            b[i].c.family = v6 ? AF_INET6 : AF_INET;
            int bits = v6 ? 128 : 32;
            /* Addresses share a prefix so blocks collide often. */
            if (v6) {
                b[i].c.addr[0] = 0x20;
                b[i].c.addr[1] = 0x01;
            } else {
                b[i].c.addr[0] = 10;
            }
            for (int k = (v6 ? 14 : 2); k < bits / 8; k++)
                b[i].c.addr[k] = (uint8_t)(rnd() & (rnd() % 2 ? 0x0f : 0xff));
            int prefix = (int)(rnd() % (bits + 1));
            if (rnd() % 8 == 0)
                prefix = 0;
            b[i].c.prefix = (uint8_t)prefix;
            for (int k = prefix; k < bits; k++)
                b[i].c.addr[k / 8] &= (uint8_t) ~(0x80 >> (k % 8));
            b[i].v = (uint16_t)(rnd() % 50);
            assert_int_equal(zt_cidrset_add(s, &b[i].c, b[i].v), 0);
        }
        assert_int_equal(zt_cidrset_freeze(s), 0);
        for (size_t q = 0; q < 2000 + n * 4; q++) {
            struct sockaddr_storage a;
            memset(&a, 0, sizeof(a));
            const ref_block *e = &b[rnd() % n];
            uint8_t bytes[16];
            memcpy(bytes, e->c.addr, 16);
            int bits = e->c.family == AF_INET ? 32 : 128;
            switch (q % 4) {
            case 0: /* block start */
                break;
            case 1: /* block end */
                for (int k = e->c.prefix; k < bits; k++)
                    bytes[k / 8] |= (uint8_t)(0x80 >> (k % 8));
                break;
            case 2: /* just past the end, or random low bits */
            default:
                for (int k = bits / 8 - 2; k < bits / 8; k++)
                    bytes[k] ^= (uint8_t)rnd();
                break;
            }
            if (e->c.family == AF_INET) {
                struct sockaddr_in *in = (struct sockaddr_in *)&a;
                in->sin_family = AF_INET;
                memcpy(&in->sin_addr, bytes, 4);
            } else {
                struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&a;
                in6->sin6_family = AF_INET6;
                memcpy(&in6->sin6_addr, bytes, 16);
            }
            uint16_t got = 0;
            int g = zt_cidrset_lookup(s, (struct sockaddr *)&a, &got) ? got : -1;
            int want = ref_find(b, n, (struct sockaddr *)&a);
            if (g != want)
                fail_msg("round %d query %zu: got %d want %d", round, q, g, want);
        }
        zt_cidrset_free(s);
        free(b);
    }
}

/* ---- snapshots -------------------------------------------------------------------------- */

static const char *tor_text = "ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                              "Published 2026-11-01 11:37:27\n"
                              "LastStatus 2026-11-01 12:00:00\n"
                              "ExitAddress 198.51.100.7 2026-11-01 12:07:50\n"
                              "ExitAddress 2001:db8::7 2026-11-01 12:07:50\n";

static void test_lookup_sources(void **state)
{
    zt_feed_file anon[] = {{write_file("tor.txt", tor_text), NULL},
                           {write_file("vpn.txt", "203.0.113.0/24\n"), "vpn"}};
    zt_feed_file mal[] = {{write_file("spam.txt", "192.0.2.0/24\n10.0.0.0/8\n"), "spamhaus"},
                          {write_file("fail.txt", "192.0.2.0/24\n192.0.2.66\nbad\n"), "failures"},
                          {write_file("nosrc.txt", "2001:db8:bad::/48\n"), NULL}};
    zt_feeds_cfg cfg = {.anonymous = anon, .n_anonymous = 2, .malicious = mal, .n_malicious = 3};
    zt_buf rep;
    zt_buf_init(&rep, 0);
    char err[256];
    zt_feeds *f = zt_feeds_load(&cfg, NULL, &rep, err, sizeof(err));
    assert_non_null(f);
    char want[256];
    snprintf(want, sizeof(want), "%s:3: not an IP address or CIDR block\n", mal[1].path);
    assert_string_equal(report_str(&rep), want);

    zt_ip_info info;
    zt_feeds_lookup(f, addr("198.51.100.7"), &info);
    assert_true(info.anonymous);
    assert_false(info.malicious);
    assert_string_equal(info.malicious_source, "");
    assert_string_equal(info.country, "");
    zt_feeds_lookup(f, addr("::ffff:198.51.100.7"), &info);
    assert_true(info.anonymous);
    zt_feeds_lookup(f, addr("2001:db8::7"), &info);
    assert_true(info.anonymous);
    zt_feeds_lookup(f, addr("203.0.113.9"), &info);
    assert_true(info.anonymous);
    zt_feeds_lookup(f, addr("198.51.100.8"), &info);
    assert_false(info.anonymous);

    /* Same block in two lists: the first listed names it; a more specific block wins. */
    zt_feeds_lookup(f, addr("192.0.2.1"), &info);
    assert_true(info.malicious);
    assert_string_equal(info.malicious_source, "spamhaus");
    zt_feeds_lookup(f, addr("192.0.2.66"), &info);
    assert_string_equal(info.malicious_source, "failures");
    zt_feeds_lookup(f, addr("10.9.9.9"), &info);
    assert_string_equal(info.malicious_source, "spamhaus");
    zt_feeds_lookup(f, addr("2001:db8:bad::1"), &info);
    assert_true(info.malicious);
    /* No source name: the path, cut to the field. */
    assert_int_equal(strncmp(info.malicious_source, mal[2].path, sizeof(info.malicious_source) - 1),
                     0);
    zt_feeds_lookup(f, addr("8.8.8.8"), &info);
    assert_false(info.malicious);
    assert_false(info.anonymous);

    zt_feeds_stats st;
    zt_feeds_get_stats(f, &st);
    assert_int_equal(st.anonymous_ranges, 3);
    assert_int_equal(st.malicious_ranges, 5);
    assert_int_equal(st.bad_lines, 1);
    assert_false(st.geoip_city);
    zt_feeds_free(f);

    /* NULL snapshot: all unknown. */
    zt_feeds_lookup(NULL, addr("198.51.100.7"), &info);
    assert_false(info.anonymous);
    unsigned char md[20] = {0};
    assert_false(zt_feeds_leaked(NULL, "a@b", md));
    zt_buf_dispose(&rep);
}

static void test_leaked_snapshot(void **state)
{
    char hex[41];
    sha1_hex("Tr0ub4dor&3", false, hex);
    char line[128];
    snprintf(line, sizeof(line), "Carol@Example.ORG:%s\n", hex);
    zt_feeds_cfg cfg = {.leaked_credentials = write_file("pairs.txt", line)};
    zt_buf rep;
    zt_buf_init(&rep, 0);
    zt_feeds *f = zt_feeds_load(&cfg, NULL, &rep, NULL, 0);
    assert_non_null(f);
    assert_int_equal(rep.len, 0);
    unsigned char md[20], other[20];
    sha1_of("Tr0ub4dor&3", md);
    sha1_of("tr0ub4dor&3", other);
    assert_true(zt_feeds_leaked(f, "carol@example.org", md));
    assert_true(zt_feeds_leaked(f, "CAROL@EXAMPLE.ORG", md));
    assert_false(zt_feeds_leaked(f, "carol@example.org", other));
    assert_false(zt_feeds_leaked(f, "dave@example.org", md));
    zt_feeds_stats st;
    zt_feeds_get_stats(f, &st);
    assert_int_equal(st.leaked_pairs, 1);
    zt_feeds_free(f);
    zt_buf_dispose(&rep);
}

/* ---- GeoIP ------------------------------------------------------------------------------ */

static const char *city_json =
    "{\"layout\": \"city\", \"networks\": {\n"
    " \"127.0.0.10/32\": {\"country\": \"JP\", \"city\": \"Tokyo\", \"latitude\": 35.68,\n"
    "                   \"longitude\": 139.69, \"accuracy_radius\": 20},\n"
    " \"127.0.0.20/32\": {\"country\": \"BR\", \"city\": \"S\\u00e3o Paulo\",\n"
    "                   \"latitude\": -23.55, \"longitude\": -46.63, \"accuracy_radius\": 50},\n"
    " \"127.0.0.30/32\": {\"country\": \"US\"},\n"
    " \"2001:db8::/32\": {\"country\": \"DE\", \"latitude\": 52.52, \"longitude\": 13.40}}}\n";

static const char *asn_json =
    "{\"layout\": \"asn\", \"networks\": {\n"
    " \"127.0.0.0/24\": {\"asn\": 64500, \"organization\": \"Example Net\"},\n"
    " \"127.0.0.20/32\": {\"asn\": 64501, \"organization\": "
    "\"Exemplo Telecomunicacoes Ltda, uma organizacao muito longa, SP\\u00e7\\u00e3o\"}}}\n";

/* Run tests/tools/make_mmdb.pl; false (with a message) when perl or the module is missing. */
static bool make_mmdb(const char *json_name, const char *json, const char *out_name,
                      const char **out)
{
    if (system("perl -MMaxMind::DB::Writer::Tree -MJSON::PP -e 1 >/dev/null 2>&1") != 0) {
        print_message("perl or MaxMind::DB::Writer::Tree missing "
                      "(apt-get install libmaxmind-db-writer-perl): skipping\n");
        return false;
    }
    const char *srcdir = getenv("ZT_TEST_SRCDIR");
    if (srcdir == NULL)
        srcdir = ".";
    const char *in = write_file(json_name, json);
    *out = tmp_path(out_name);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "perl '%s/tests/tools/make_mmdb.pl' '%s' '%s'", srcdir, in, *out);
    assert_int_equal(system(cmd), 0);
    return true;
}

static void test_geoip(void **state)
{
    const char *city = NULL, *asn = NULL;
    if (!make_mmdb("city.json", city_json, "city.mmdb", &city) ||
        !make_mmdb("asn.json", asn_json, "asn.mmdb", &asn)) {
        skip();
    }
    zt_feeds_cfg cfg = {.geoip_city = city, .geoip_asn = asn};
    zt_buf rep;
    zt_buf_init(&rep, 0);
    char err[256];
    zt_feeds *f = zt_feeds_load(&cfg, NULL, &rep, err, sizeof(err));
    assert_non_null(f);
    assert_int_equal(rep.len, 0);
    zt_feeds_stats st;
    zt_feeds_get_stats(f, &st);
    assert_true(st.geoip_city);
    assert_true(st.geoip_asn);

    zt_ip_info info;
    zt_feeds_lookup(f, addr("127.0.0.10"), &info);
    assert_string_equal(info.country, "JP");
    assert_true(info.has_location);
    assert_true(fabs(info.latitude - 35.68) < 1e-9);
    assert_true(fabs(info.longitude - 139.69) < 1e-9);
    assert_true(fabs(info.accuracy_km - 20) < 1e-9);
    assert_int_equal(info.asn, 64500);
    assert_string_equal(info.as_org, "Example Net");

    zt_feeds_lookup(f, addr("::ffff:127.0.0.20"), &info);
    assert_string_equal(info.country, "BR");
    assert_true(fabs(info.latitude + 23.55) < 1e-9);
    assert_true(fabs(info.longitude + 46.63) < 1e-9);
    assert_int_equal(info.asn, 64501);
    /* Cut to 63 bytes at a character boundary: never half a UTF-8 sequence. */
    assert_true(strlen(info.as_org) <= 63);
    assert_string_equal(info.as_org,
                        "Exemplo Telecomunicacoes Ltda, uma organizacao muito longa, SP");

    zt_feeds_lookup(f, addr("127.0.0.30"), &info);
    assert_string_equal(info.country, "US");
    assert_false(info.has_location);
    assert_true(info.accuracy_km == 0);

    zt_feeds_lookup(f, addr("2001:db8::99"), &info);
    assert_string_equal(info.country, "DE");
    assert_true(info.has_location);
    assert_int_equal(info.asn, 0);

    zt_feeds_lookup(f, addr("127.0.1.1"), &info);
    assert_string_equal(info.country, "");
    assert_false(info.has_location);
    assert_int_equal(info.asn, 0);
    assert_string_equal(info.as_org, "");
    zt_feeds_free(f);

    /* A file that is not an mmdb stops the load with a reason. */
    cfg.geoip_city = write_file("bogus.mmdb", "not a database\n");
    f = zt_feeds_load(&cfg, NULL, &rep, err, sizeof(err));
    assert_null(f);
    assert_non_null(strstr(err, "bogus.mmdb: not a MaxMind DB"));

    /* A missing one without previous data: a snapshot without it, and a report line. */
    cfg.geoip_city = tmp_path("absent.mmdb");
    zt_buf_reset(&rep);
    f = zt_feeds_load(&cfg, NULL, &rep, err, sizeof(err));
    assert_non_null(f);
    char want[256];
    snprintf(want, sizeof(want),
             "%s: cannot read: No such file or directory \u2014 no previous data\n",
             cfg.geoip_city);
    assert_string_equal(report_str(&rep), want);
    zt_feeds_get_stats(f, &st);
    assert_false(st.geoip_city);
    assert_true(st.geoip_asn);
    zt_feeds_free(f);
    zt_buf_dispose(&rep);
}

/* ---- reload and change detection -------------------------------------------------------- */

static void test_reload_keeps_previous(void **state)
{
    char hex[41], pairs[128];
    sha1_hex("pw", false, hex);
    snprintf(pairs, sizeof(pairs), "x@example.org:%s\n", hex);
    zt_feed_file anon[] = {{write_file("r-tor.txt", tor_text), NULL}};
    zt_feed_file mal[] = {{write_file("r-mal.txt", "192.0.2.0/24\n"), "blocklist"}};
    const char *city = NULL;
    bool geo = make_mmdb("r-city.json", city_json, "r-city.mmdb", &city);
    zt_feeds_cfg cfg = {.anonymous = anon,
                        .n_anonymous = 1,
                        .malicious = mal,
                        .n_malicious = 1,
                        .leaked_credentials = write_file("r-pairs.txt", pairs),
                        .geoip_city = geo ? city : NULL};
    zt_buf rep;
    zt_buf_init(&rep, 0);
    zt_feeds *old = zt_feeds_load(&cfg, NULL, &rep, NULL, 0);
    assert_non_null(old);
    assert_int_equal(rep.len, 0);

    assert_int_equal(unlink(anon[0].path), 0);
    assert_int_equal(unlink(cfg.leaked_credentials), 0);
    if (geo)
        assert_int_equal(unlink(city), 0);
    assert_int_equal(chmod(mal[0].path, 0), 0);
    bool root = access(mal[0].path, R_OK) == 0; /* root reads mode-0 files anyway */

    zt_feeds *f = zt_feeds_load(&cfg, old, &rep, NULL, 0);
    assert_non_null(f);
    zt_feeds_free(old); /* the new snapshot must not depend on the old one being alive */

    char want[1024];
    int n = snprintf(want, sizeof(want),
                     "%s: cannot read: No such file or directory \u2014 keeping the previous "
                     "data (2 entries)\n",
                     anon[0].path);
    if (!root)
        n += snprintf(want + n, sizeof(want) - (size_t)n,
                      "%s: cannot read: Permission denied \u2014 keeping the previous data (1 "
                      "entries)\n",
                      mal[0].path);
    n += snprintf(want + n, sizeof(want) - (size_t)n,
                  "%s: cannot read: No such file or directory \u2014 keeping the previous data "
                  "(1 entries)\n",
                  cfg.leaked_credentials);
    const char *r = report_str(&rep);
    if (geo) {
        char geo_line[256];
        snprintf(geo_line, sizeof(geo_line),
                 "%s: cannot read: No such file or directory \u2014 keeping the previous "
                 "database\n",
                 city);
        assert_int_equal(strncmp(r, geo_line, strlen(geo_line)), 0);
        r += strlen(geo_line);
    }
    assert_string_equal(r, want);

    zt_ip_info info;
    zt_feeds_lookup(f, addr("198.51.100.7"), &info);
    assert_true(info.anonymous);
    zt_feeds_lookup(f, addr("192.0.2.9"), &info);
    assert_true(info.malicious);
    assert_string_equal(info.malicious_source, "blocklist");
    unsigned char md[20];
    sha1_of("pw", md);
    assert_true(zt_feeds_leaked(f, "X@example.org", md));
    if (geo) {
        zt_feeds_lookup(f, addr("127.0.0.10"), &info);
        assert_string_equal(info.country, "JP");
    }

    /* A third generation still borrows the same data through the second. */
    zt_buf_reset(&rep);
    zt_feeds *third = zt_feeds_load(&cfg, f, &rep, NULL, 0);
    zt_feeds_free(f);
    assert_non_null(third);
    zt_feeds_lookup(third, addr("2001:db8::7"), &info);
    assert_true(info.anonymous);
    zt_feeds_free(third);

    /* No previous snapshot: the feed is empty and the report says so. */
    zt_buf_reset(&rep);
    zt_feed_file gone[] = {{anon[0].path, NULL}};
    zt_feeds_cfg only = {.anonymous = gone, .n_anonymous = 1};
    f = zt_feeds_load(&only, NULL, &rep, NULL, 0);
    assert_non_null(f);
    snprintf(want, sizeof(want),
             "%s: cannot read: No such file or directory \u2014 no previous data\n", anon[0].path);
    assert_string_equal(report_str(&rep), want);
    zt_feeds_free(f);
    chmod(mal[0].path, 0644);
    zt_buf_dispose(&rep);
}

static void test_changed(void **state)
{
    zt_feed_file anon[] = {{write_file("c-list.txt", "198.51.100.0/24\n"), NULL}};
    zt_feeds_cfg cfg = {.anonymous = anon, .n_anonymous = 1};
    zt_feeds *f = zt_feeds_load(&cfg, NULL, NULL, NULL, 0);
    assert_non_null(f);
    assert_false(zt_feeds_changed(f, &cfg));
    assert_true(zt_feeds_changed(NULL, &cfg));

    /* Same size, new mtime. */
    struct timespec ts[2] = {{.tv_sec = 1000000000, .tv_nsec = 0},
                             {.tv_sec = 1000000000, .tv_nsec = 0}};
    assert_int_equal(utimensat(AT_FDCWD, anon[0].path, ts, 0), 0);
    assert_true(zt_feeds_changed(f, &cfg));
    zt_feeds *g = zt_feeds_load(&cfg, f, NULL, NULL, 0);
    zt_feeds_free(f);
    f = g;
    assert_false(zt_feeds_changed(f, &cfg));

    /* Only the nanoseconds of the mtime differ. */
    ts[0].tv_nsec = ts[1].tv_nsec = 500;
    assert_int_equal(utimensat(AT_FDCWD, anon[0].path, ts, 0), 0);
    assert_true(zt_feeds_changed(f, &cfg));
    g = zt_feeds_load(&cfg, f, NULL, NULL, 0);
    zt_feeds_free(f);
    f = g;
    assert_false(zt_feeds_changed(f, &cfg));

    /* Rewritten with the same mtime but another size. */
    write_file("c-list.txt", "198.51.100.0/24\n203.0.113.0/24\n");
    assert_int_equal(utimensat(AT_FDCWD, anon[0].path, ts, 0), 0);
    assert_true(zt_feeds_changed(f, &cfg));
    g = zt_feeds_load(&cfg, f, NULL, NULL, 0);
    zt_feeds_free(f);
    f = g;
    assert_false(zt_feeds_changed(f, &cfg));

    /* Replaced by rename (new inode), same size and mtime. */
    const char *tmp = write_file("c-new.txt", "198.51.100.0/24\n192.0.2.0/24\n\n");
    assert_int_equal(utimensat(AT_FDCWD, tmp, ts, 0), 0);
    assert_int_equal(rename(tmp, anon[0].path), 0);
    assert_true(zt_feeds_changed(f, &cfg));
    g = zt_feeds_load(&cfg, f, NULL, NULL, 0);
    zt_feeds_free(f);
    f = g;
    zt_ip_info info;
    zt_feeds_lookup(f, addr("192.0.2.1"), &info);
    assert_true(info.anonymous);

    /* Gone: changed once; after a reload (keeping old data) it stays quiet. */
    assert_int_equal(unlink(anon[0].path), 0);
    assert_true(zt_feeds_changed(f, &cfg));
    g = zt_feeds_load(&cfg, f, NULL, NULL, 0);
    zt_feeds_free(f);
    f = g;
    assert_false(zt_feeds_changed(f, &cfg));
    zt_feeds_lookup(f, addr("192.0.2.1"), &info);
    assert_true(info.anonymous);

    /* Another configuration: other file list or a new feed. */
    zt_feeds_cfg more = cfg;
    more.leaked_credentials = anon[0].path;
    assert_true(zt_feeds_changed(f, &more));
    more = cfg;
    more.n_anonymous = 0;
    assert_true(zt_feeds_changed(f, &more));
    zt_feeds_free(f);
}

/* ---- timing ----------------------------------------------------------------------------- */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void test_lookup_timing(void **state)
{
    enum { RANGES = 100000, QUERIES = 1000000 };
    zt_cidrset *s = zt_cidrset_new();
    assert_non_null(s);
    for (int i = 0; i < RANGES; i++) {
        zt_cidr c = {0};
        uint64_t r = rnd();
        if (i % 4 == 3) {
            c.family = AF_INET6;
            c.addr[0] = 0x20;
            for (int k = 1; k < 6; k++)
                c.addr[k] = (uint8_t)(r >> (8 * k));
            c.prefix = 48;
        } else {
            c.family = AF_INET;
            memcpy(c.addr, &r, 3);
            c.prefix = (uint8_t)(16 + (r >> 32) % 17);
        }
        assert_int_equal(zt_cidrset_add(s, &c, (uint16_t)(i % 7)), 0);
    }
    double t0 = now_ns();
    assert_int_equal(zt_cidrset_freeze(s), 0);
    double t1 = now_ns();
    uint8_t(*q)[16] = malloc((size_t)QUERIES * 16);
    assert_non_null(q);
    for (int i = 0; i < QUERIES; i++) {
        uint64_t a = rnd(), b = rnd();
        memcpy(q[i], &a, 8);
        memcpy(q[i] + 8, &b, 8);
        q[i][0] = i % 4 == 3 ? 0x20 : q[i][0];
    }
    size_t hits = 0;
    double t2 = now_ns();
    for (int i = 0; i < QUERIES; i++)
        hits += zt_cidrset_lookup_addr(s, i % 4 == 3 ? AF_INET6 : AF_INET, q[i], NULL);
    double t3 = now_ns();
    print_message("cidrset: %d blocks frozen in %.1f ms; %d lookups: %.1f ns/lookup (%zu hits)\n",
                  RANGES, (t1 - t0) / 1e6, QUERIES, (t3 - t2) / QUERIES, hits);
    free(q);
    zt_cidrset_free(s);

    /* The same scale through a file and the snapshot lookup (no GeoIP). */
    zt_buf text;
    zt_buf_init(&text, 0);
    for (int i = 0; i < RANGES; i++) {
        uint64_t r = rnd();
        assert_int_equal(zt_buf_printf(&text, "%u.%u.%u.0/24\n", (unsigned)(r & 0xff),
                                       (unsigned)(r >> 8 & 0xff), (unsigned)(r >> 16 & 0xff)),
                         0);
    }
    assert_int_equal(zt_buf_cstr(&text), 0);
    zt_feed_file mal[] = {{write_file("big.txt", text.data), "big"}};
    zt_buf_dispose(&text);
    zt_feeds_cfg cfg = {.malicious = mal, .n_malicious = 1};
    t0 = now_ns();
    zt_feeds *f = zt_feeds_load(&cfg, NULL, NULL, NULL, 0);
    t1 = now_ns();
    assert_non_null(f);
    struct sockaddr_in in = {.sin_family = AF_INET};
    zt_ip_info info;
    hits = 0;
    t2 = now_ns();
    for (int i = 0; i < QUERIES; i++) {
        in.sin_addr.s_addr = (uint32_t)rnd();
        zt_feeds_lookup(f, (struct sockaddr *)&in, &info);
        hits += info.malicious;
    }
    t3 = now_ns();
    print_message("feeds: %d-line list loaded in %.1f ms; zt_feeds_lookup %.1f ns/lookup (%zu "
                  "hits)\n",
                  RANGES, (t1 - t0) / 1e6, (t3 - t2) / QUERIES, hits);
    zt_feeds_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tor_format),     cmocka_unit_test(test_plain_list),
        cmocka_unit_test(test_report_cap),     cmocka_unit_test(test_leaked_format),
        cmocka_unit_test(test_cidr_edges),     cmocka_unit_test(test_cidr_random),
        cmocka_unit_test(test_lookup_sources), cmocka_unit_test(test_leaked_snapshot),
        cmocka_unit_test(test_geoip),          cmocka_unit_test(test_reload_keeps_previous),
        cmocka_unit_test(test_changed),        cmocka_unit_test(test_lookup_timing),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
