/* TOTP (RFC 6238 vectors, window, replay), enrolment encodings (base32, otpauth URI, QR SVG),
 * recovery codes, and secrets at rest (secretbox round trip, tampering, key file rules). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <errno.h>
#include <liboath/oath.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "identity/secretbox.h"
#include "identity/totp.h"
#include "lib/secure.h"

static const unsigned char rfc_secret[] = "12345678901234567890"; /* RFC 6238 App. B, SHA-1 */
#define RFC_LEN 20

static char tmpdir[64];

static int setup(void **state)
{
    if (!zt_secure_init())
        return -1;
    snprintf(tmpdir, sizeof(tmpdir), "%s", "/tmp/zt-totp-XXXXXX");
    return mkdtemp(tmpdir) != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
    return system(cmd) == 0 ? 0 : -1;
}

static void test_rfc6238_vectors(void **state)
{
    static const struct {
        int64_t t;
        const char *code;
    } v[] = {
        {59, "94287082"},         {1111111109, "07081804"}, {1111111111, "14050471"},
        {1234567890, "89005924"}, {2000000000, "69279037"}, {20000000000, "65353130"},
    };
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        char out[9];
        assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, v[i].t, 8, 30, out), 0);
        assert_string_equal(out, v[i].code);
        /* 6 digits are the last 6 of the same truncated value. */
        assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, v[i].t, 6, 30, out), 0);
        assert_string_equal(out, v[i].code + 2);
    }
    char out[10];
    assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, 59, 5, 30, out), -EINVAL);
    assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, 59, 9, 30, out), -EINVAL);
    assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, -1, 6, 30, out), -EINVAL);
    assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, 59, 6, 0, out), -EINVAL);
}

static void code_at(int64_t t, char out[7])
{
    assert_int_equal(zt_totp_generate(rfc_secret, RFC_LEN, t, 6, 30, out), 0);
}

static void test_window(void **state)
{
    const int64_t now = 1111111111; /* step 37037037, 1 s into it */
    const int64_t cur = now / 30;
    char c[7];
    int64_t step = 0;
    for (int d = -1; d <= 1; d++) {
        code_at(now + 30 * d, c);
        assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now, 0, &step), ZT_TOTP_OK);
        assert_int_equal(step, cur + d);
    }
    code_at(now - 60, c);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now, 0, &step), ZT_TOTP_WRONG);
    code_at(now + 60, c);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now, 0, &step), ZT_TOTP_WRONG);
    /* Spaces are fine ("123 456"); anything else that is not 6 digits is wrong. */
    code_at(now, c);
    char spaced[9] = {c[0], c[1], c[2], ' ', c[3], c[4], c[5], '\0'};
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, spaced, now, 0, &step), ZT_TOTP_OK);
    static const char *const bad[] = {
        "", "12345", "1234567", "12a456", "-12345", "１２３４５６", "123456                  "};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, bad[i], now, 0, &step), ZT_TOTP_WRONG);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, NULL, now, 0, &step), ZT_TOTP_WRONG);
    /* Another secret does not accept this code. */
    const unsigned char other[] = "09876543210987654321";
    assert_int_equal(zt_totp_verify(other, 20, c, now, 0, &step), ZT_TOTP_WRONG);
}

static void test_replay(void **state)
{
    const int64_t now = 2000000000;
    const int64_t cur = now / 30;
    char c[7];
    int64_t step = 0, last = 0;
    code_at(now, c);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now, last, &step), ZT_TOTP_OK);
    last = step;
    /* Same code again, now and 20 s later (still in the window): replay. */
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now, last, &step), ZT_TOTP_REPLAY);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now + 20, last, &step), ZT_TOTP_REPLAY);
    /* The previous step's code is older than the last used one: replay too. */
    code_at(now - 30, c);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now, last, &step), ZT_TOTP_REPLAY);
    /* The next step's code is new. */
    code_at(now + 30, c);
    assert_int_equal(zt_totp_verify(rfc_secret, RFC_LEN, c, now + 30, last, &step), ZT_TOTP_OK);
    assert_int_equal(step, cur + 1);
}

static void test_secret_and_base32(void **state)
{
    static const struct {
        const char *in, *out;
    } v[] = {{"", ""},
             {"f", "MY"},
             {"fo", "MZXQ"},
             {"foo", "MZXW6"},
             {"foob", "MZXW6YQ"},
             {"fooba", "MZXW6YTB"},
             {"foobar", "MZXW6YTBOI"}};
    char out[64];
    for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
        assert_int_equal(
            zt_totp_base32((const unsigned char *)v[i].in, strlen(v[i].in), out, sizeof(out)), 0);
        assert_string_equal(out, v[i].out);
    }
    assert_int_equal(zt_totp_base32((const unsigned char *)"foobar", 6, out, 10), -ENOSPC);

    unsigned char a[ZT_TOTP_SECRET_LEN], b[ZT_TOTP_SECRET_LEN];
    zt_totp_secret_new(a);
    zt_totp_secret_new(b);
    assert_memory_not_equal(a, b, sizeof(a));
    /* liboath decodes what we encode. */
    assert_int_equal(zt_totp_base32(a, sizeof(a), out, sizeof(out)), 0);
    assert_int_equal(strlen(out), 32);
    char *dec = NULL;
    size_t declen = 0;
    assert_int_equal(oath_base32_decode(out, strlen(out), &dec, &declen), OATH_OK);
    assert_int_equal(declen, sizeof(a));
    assert_memory_equal(dec, a, sizeof(a));
    free(dec);
}

static void test_uri(void **state)
{
    zt_buf b;
    zt_buf_init(&b, 4096);
    assert_int_equal(zt_totp_uri(&b, "ztgate Example", "alice@example.com", rfc_secret, RFC_LEN),
                     0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data, "otpauth://totp/ztgate%20Example:alice%40example.com"
                                "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ&issuer=ztgate%20Example"
                                "&algorithm=SHA1&digits=6&period=30");
    zt_buf_reset(&b);
    /* Reserved characters and UTF-8 (a Japanese school) are percent-encoded byte by byte. */
    assert_int_equal(zt_totp_uri(&b, "学校:A&B", "t.yamada+x/y?z=1#", rfc_secret, RFC_LEN), 0);
    assert_int_equal(zt_buf_cstr(&b), 0);
    assert_string_equal(b.data,
                        "otpauth://totp/%E5%AD%A6%E6%A0%A1%3AA%26B:t.yamada%2Bx%2Fy%3Fz%3D1%23"
                        "?secret=GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"
                        "&issuer=%E5%AD%A6%E6%A0%A1%3AA%26B&algorithm=SHA1&digits=6&period=30");
    zt_buf_reset(&b);
    assert_int_equal(zt_totp_uri(&b, "i", "a", rfc_secret, 0), -EINVAL);
    zt_buf_dispose(&b);
}

static void test_qr_svg(void **state)
{
    zt_buf uri, svg;
    zt_buf_init(&uri, 4096);
    zt_buf_init(&svg, 1 << 20);
    unsigned char s[ZT_TOTP_SECRET_LEN];
    zt_totp_secret_new(s);
    assert_int_equal(zt_totp_uri(&uri, "ztgate", "alice@example.com", s, sizeof(s)), 0);
    assert_int_equal(zt_buf_cstr(&uri), 0);
    assert_int_equal(zt_totp_qr_svg(&svg, uri.data), 0);
    assert_int_equal(zt_buf_cstr(&svg), 0);
    const char *d = svg.data;
    static const char head[] = "<svg xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 ";
    assert_true(strncmp(d, head, sizeof(head) - 1) == 0);
    assert_non_null(strstr(d, "<path fill=\"#000\" d=\"M"));
    assert_null(strstr(strstr(d, "<path") + 1, "<path")); /* exactly one path */
    assert_true(svg.len > 9 && strcmp(d + svg.len - 9, "\"/></svg>") == 0);
    assert_null(strstr(d, "href"));   /* no external resources */
    assert_null(strstr(d, "<image")); /* no raster */
    assert_true(svg.len < 16384);     /* small enough to inline */
    /* The viewBox includes the 4-module quiet zone: the first module is at (4,4) (finder). */
    assert_non_null(strstr(d, "d=\"M4 4h7v1h-7z"));
    print_message("      svg for a %zu-byte URI: %zu bytes\n", uri.len, svg.len);

    /* Too long for any QR version. */
    char *big = malloc(8000);
    assert_non_null(big);
    memset(big, 'x', 7999);
    big[7999] = '\0';
    zt_buf_reset(&svg);
    assert_int_equal(zt_totp_qr_svg(&svg, big), -EINVAL);
    free(big);
    zt_buf_dispose(&uri);
    zt_buf_dispose(&svg);
}

static void test_recovery(void **state)
{
    unsigned char key[ZT_TOTP_RECOVERY_KEY_LEN], key2[ZT_TOTP_RECOVERY_KEY_LEN];
    zt_random(key, sizeof(key));
    zt_random(key2, sizeof(key2));
    char codes[ZT_TOTP_RECOVERY_COUNT][ZT_TOTP_RECOVERY_LEN + 1];
    zt_totp_recovery st;
    zt_totp_recovery_new(key, "alice", codes, &st);
    assert_int_equal(zt_totp_recovery_left(&st), 10);
    for (int i = 0; i < ZT_TOTP_RECOVERY_COUNT; i++) {
        assert_int_equal(strlen(codes[i]), 14);
        for (int j = 0; j < 14; j++) {
            if (j == 4 || j == 9)
                assert_int_equal(codes[i][j], '-');
            else
                assert_non_null(strchr("0123456789abcdefghjkmnpqrstvwxyz", codes[i][j]));
        }
        for (int k = 0; k < i; k++)
            assert_string_not_equal(codes[i], codes[k]);
    }
    unsigned slot = 99;
    /* Wrong user, wrong key, malformed: no. */
    assert_false(zt_totp_recovery_use(key, "bob", codes[3], &st, &slot));
    assert_false(zt_totp_recovery_use(key2, "alice", codes[3], &st, &slot));
    assert_false(zt_totp_recovery_use(key, "alice", "", &st, &slot));
    assert_false(zt_totp_recovery_use(key, "alice", "abcd-efgh-jkm", &st, &slot));
    assert_false(zt_totp_recovery_use(key, "alice", "abcd-efgh-jkmn-p", &st, &slot));
    assert_false(zt_totp_recovery_use(key, "alice", "abcd-efgh-jkmu", &st, &slot));
    assert_int_equal(zt_totp_recovery_left(&st), 10);
    /* Right code: once. */
    assert_true(zt_totp_recovery_use(key, "alice", codes[3], &st, &slot));
    assert_int_equal(slot, 3);
    assert_false(zt_totp_recovery_use(key, "alice", codes[3], &st, &slot));
    assert_int_equal(zt_totp_recovery_left(&st), 9);
    /* Typed sloppily: upper case, spaces, O for 0, L/I for 1. */
    char typed[32];
    size_t n = 0;
    for (const char *p = codes[7]; *p != '\0'; p++) {
        char c = *p;
        if (c == '-') {
            typed[n++] = ' ';
            continue;
        }
        c = c == '0' ? 'O' : c == '1' ? (n % 2 ? 'L' : 'i') : c;
        typed[n++] = (c >= 'a' && c <= 'z') ? (char)(c - 'a' + 'A') : c;
    }
    typed[n] = '\0';
    assert_true(zt_totp_recovery_use(key, "alice", typed, &st, &slot));
    assert_int_equal(slot, 7);
    assert_false(zt_totp_recovery_use(key, "alice", codes[7], &st, &slot));
    /* All of them, once each. */
    for (int i = 0; i < ZT_TOTP_RECOVERY_COUNT; i++) {
        bool ok = zt_totp_recovery_use(key, "alice", codes[i], &st, &slot);
        assert_int_equal(ok, i != 3 && i != 7);
    }
    assert_int_equal(zt_totp_recovery_left(&st), 0);
}

/* ---- secrets at rest ---- */

static const char *key_path(const char *name)
{
    static char p[128];
    snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
    return p;
}

static void test_secretbox_roundtrip(void **state)
{
    char err[256];
    const char *path = key_path("rt.key");
    zt_secretbox *box = zt_secretbox_load_key(path, true, err, sizeof(err));
    assert_non_null(box);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_mode & 07777, 0600);
    assert_int_equal(st.st_size, 32);

    unsigned char secret[ZT_TOTP_SECRET_LEN];
    zt_totp_secret_new(secret);
    unsigned char sealed[ZT_TOTP_SECRET_LEN + ZT_SECRETBOX_OVERHEAD], sealed2[sizeof(sealed)];
    size_t n = 0, n2 = 0;
    assert_int_equal(
        zt_secretbox_seal(box, "totp:alice", secret, sizeof(secret), sealed, sizeof(sealed), &n),
        0);
    assert_int_equal(n, sizeof(sealed));
    assert_int_equal(
        zt_secretbox_seal(box, "totp:alice", secret, sizeof(secret), sealed2, sizeof(sealed2), &n2),
        0);
    assert_memory_not_equal(sealed, sealed2, n); /* fresh nonce each time */
    assert_int_equal(zt_secretbox_seal(box, "totp:alice", secret, sizeof(secret), sealed,
                                       sizeof(sealed) - 1, &n),
                     -ENOSPC);
    assert_int_equal(
        zt_secretbox_seal(box, "totp:alice", secret, sizeof(secret), sealed, sizeof(sealed), &n),
        0);

    unsigned char out[64];
    size_t outlen = 0;
    assert_int_equal(zt_secretbox_open(box, "totp:alice", sealed, n, out, sizeof(out), &outlen), 0);
    assert_int_equal(outlen, sizeof(secret));
    assert_memory_equal(out, secret, sizeof(secret));
    assert_int_equal(zt_secretbox_open(box, "totp:alice", sealed, n, out, 10, &outlen), -ENOSPC);

    /* Reloading the same file gives the same key. */
    zt_secretbox *again = zt_secretbox_load_key(path, false, err, sizeof(err));
    assert_non_null(again);
    assert_int_equal(zt_secretbox_open(again, "totp:alice", sealed, n, out, sizeof(out), &outlen),
                     0);
    unsigned char d1[32], d2[32], d3[32];
    zt_secretbox_derive(box, "ztgate recovery-code v1", d1);
    zt_secretbox_derive(again, "ztgate recovery-code v1", d2);
    zt_secretbox_derive(box, "other", d3);
    assert_memory_equal(d1, d2, 32);
    assert_memory_not_equal(d1, d3, 32);
    zt_secretbox_free(again);

    /* Tampering: every single flipped bit is detected, out is left wiped. */
    for (size_t i = 0; i < n; i++) {
        unsigned char t[sizeof(sealed)];
        memcpy(t, sealed, n);
        t[i] ^= 0x01;
        memset(out, 0xAA, sizeof(out));
        assert_int_equal(zt_secretbox_open(box, "totp:alice", t, n, out, sizeof(out), &outlen),
                         -EBADMSG);
        for (size_t j = 0; j < sizeof(secret); j++)
            assert_int_equal(out[j], 0);
    }
    /* Truncated, other context, other key. */
    for (size_t cut = 0; cut < n; cut++)
        assert_int_equal(
            zt_secretbox_open(box, "totp:alice", sealed, cut, out, sizeof(out), &outlen), -EBADMSG);
    assert_int_equal(zt_secretbox_open(box, "totp:bob", sealed, n, out, sizeof(out), &outlen),
                     -EBADMSG);
    zt_secretbox *other = zt_secretbox_load_key(key_path("other.key"), true, err, sizeof(err));
    assert_non_null(other);
    assert_int_equal(zt_secretbox_open(other, "totp:alice", sealed, n, out, sizeof(out), &outlen),
                     -EBADMSG);
    zt_secretbox_free(other);
    zt_secretbox_free(box);
    zt_secretbox_free(NULL);
}

static void test_secretbox_key_file(void **state)
{
    char err[256], want[512];
    const char *path = key_path("perm.key");
    /* Missing and not to be created. */
    assert_null(zt_secretbox_load_key(path, false, err, sizeof(err)));
    snprintf(want, sizeof(want), "%s: No such file or directory", path);
    assert_string_equal(err, want);
    zt_secretbox *box = zt_secretbox_load_key(path, true, err, sizeof(err));
    assert_non_null(box);
    zt_secretbox_free(box);

    /* Group- or other-readable: refused, with the fix in the message. */
    static const mode_t modes[] = {0640, 0604, 0644, 0660, 0602};
    for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++) {
        assert_int_equal(chmod(path, modes[i]), 0);
        assert_null(zt_secretbox_load_key(path, true, err, sizeof(err)));
        snprintf(want, sizeof(want),
                 "%s: mode %04o lets group or others read the key; chmod 600 it", path,
                 (unsigned)modes[i]);
        assert_string_equal(err, want);
    }
    assert_int_equal(chmod(path, 0400), 0);
    box = zt_secretbox_load_key(path, false, err, sizeof(err));
    assert_non_null(box);
    zt_secretbox_free(box);

    /* Wrong size. */
    const char *shortp = key_path("short.key");
    FILE *f = fopen(shortp, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite("0123456789", 1, 10, f), 10);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(shortp, 0600), 0);
    assert_null(zt_secretbox_load_key(shortp, false, err, sizeof(err)));
    assert_non_null(strstr(err, "exactly 32 random bytes, this one 10"));

    /* A symlink is not followed; a directory is not a key. */
    char link_path[160];
    snprintf(link_path, sizeof(link_path), "%s/link.key", tmpdir);
    assert_int_equal(symlink(path, link_path), 0);
    assert_null(zt_secretbox_load_key(link_path, false, err, sizeof(err)));
    assert_null(zt_secretbox_load_key(tmpdir, false, err, sizeof(err)));
    assert_non_null(strstr(err, "not a regular file"));
    /* A missing folder cannot be created into. */
    assert_null(zt_secretbox_load_key(key_path("nope/x.key"), true, err, sizeof(err)));
    assert_non_null(strstr(err, "cannot create key file"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rfc6238_vectors),
        cmocka_unit_test(test_window),
        cmocka_unit_test(test_replay),
        cmocka_unit_test(test_secret_and_base32),
        cmocka_unit_test(test_uri),
        cmocka_unit_test(test_qr_svg),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_secretbox_roundtrip),
        cmocka_unit_test(test_secretbox_key_file),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
