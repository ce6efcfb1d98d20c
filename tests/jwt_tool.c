/* Test-only helper around src/identity for tests/integ/jwt/check.sh and for measuring:
 *   jwt_tool jwks KEYDIR                      print the JWKS (creates the key set if missing)
 *   jwt_tool kid KEYDIR                       print the active kid
 *   jwt_tool rotate KEYDIR [force|revoke]
 *   jwt_tool sign KEYDIR ISS AUD SUB [--ttl S] [--iat-offset S] [--nbf-offset S] [--count N]
 *                 [--email E] [--device D] [--trust T] [--group G]...
 *   jwt_tool verify JWKS_FILE ISS AUD [TOKEN]  token from argv, or one per line on stdin; one
 *                                              result line each; exit 0 only when all are valid
 *   jwt_tool bench KEYDIR [N] [THREADS]        µs per signature and per verification
 * The identity provider's JOSE (src/identity/jws.h), for tests/integ/jwt/check_idp.sh:
 *   jwt_tool idp-jwks KEYDIR                   JWKS of a key set with RSA (creates it if missing)
 *   jwt_tool idp-rotate KEYDIR [force]
 *   jwt_tool idp-sign KEYDIR ES256|RS256 TYP   signs the JSON payload read from stdin
 *   jwt_tool at-hash ALG ACCESS_TOKEN
 *   jwt_tool client-verify JWKS_FILE CLIENT_ID AUD...   client assertions, one per line on
 *                                              stdin; prints "ok jti=..." or "STATUS: why" each;
 *                                              exit 0 only when all are valid
 * Never part of the daemon. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "identity/jws.h"
#include "identity/jwt.h"
#include "identity/keys.h"
#include "lib/secure.h"
#include "lib/str.h"
#include "lib/time.h"

static int usage(void)
{
    fputs("usage: jwt_tool jwks|kid|rotate|sign|verify|bench|idp-jwks|idp-rotate|idp-sign|"
          "at-hash|client-verify ... (see tests/jwt_tool.c)\n",
          stderr);
    return 2;
}

static bool parse_i64(const char *s, int64_t *out)
{
    bool neg = s[0] == '-';
    unsigned long long v = 0;
    if (!zt_parse_u64(s + neg, strlen(s + neg), INT64_MAX, &v))
        return false;
    *out = neg ? -(int64_t)v : (int64_t)v;
    return true;
}

static zt_keys *open_keys(const char *dir)
{
    char err[512];
    zt_keys *k = NULL;
    if (zt_keys_open(dir, &k, err, sizeof(err)) != 0)
        fprintf(stderr, "jwt_tool: %s\n", err);
    return k;
}

static int cmd_jwks(zt_keys *k, bool kid_only)
{
    const zt_keyset *s = zt_keys_acquire(k);
    puts(kid_only ? zt_keyset_kid(s) : zt_keyset_jwks(s, NULL));
    zt_keyset_release(s);
    return 0;
}

static int cmd_rotate(zt_keys *k, const char *mode)
{
    unsigned flags = 0;
    if (mode != NULL && strcmp(mode, "force") == 0)
        flags = ZT_KEYS_ROTATE_FORCE;
    else if (mode != NULL && strcmp(mode, "revoke") == 0)
        flags = ZT_KEYS_ROTATE_REVOKE;
    else if (mode != NULL)
        return usage();
    char err[512];
    if (zt_keys_rotate(k, flags, err, sizeof(err)) != 0) {
        fprintf(stderr, "jwt_tool: %s\n", err);
        return 1;
    }
    return cmd_jwks(k, true);
}

static int cmd_sign(zt_keys *k, int argc, char **argv)
{
    const char *groups[ZT_JWT_MAX_GROUPS];
    int64_t now = zt_wall_us() / 1000000, ttl = 300, iat_off = 0, nbf_off = 0, count = 1;
    bool nbf = false;
    zt_assertion c = {.iss = argv[0], .aud = argv[1], .sub = argv[2], .groups = groups};
    for (int i = 3; i < argc; i += 2) {
        const char *opt = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL)
            return usage();
        if (strcmp(opt, "--ttl") == 0 && parse_i64(val, &ttl))
            continue;
        if (strcmp(opt, "--iat-offset") == 0 && parse_i64(val, &iat_off))
            continue;
        if (strcmp(opt, "--count") == 0 && parse_i64(val, &count) && count > 0)
            continue;
        if (strcmp(opt, "--nbf-offset") == 0 && parse_i64(val, &nbf_off)) {
            nbf = true;
            continue;
        }
        if (strcmp(opt, "--email") == 0)
            c.email = val;
        else if (strcmp(opt, "--device") == 0)
            c.device = val;
        else if (strcmp(opt, "--trust") == 0)
            c.trust = val;
        else if (strcmp(opt, "--group") == 0 && c.ngroups < ZT_JWT_MAX_GROUPS)
            groups[c.ngroups++] = val;
        else
            return usage();
    }
    c.iat = now + iat_off;
    c.exp = c.iat + ttl;
    c.nbf = nbf ? now + nbf_off : 0;
    zt_buf b;
    zt_buf_init(&b, 0);
    int rc = 0;
    for (int64_t i = 0; i < count && rc == 0; i++) {
        zt_buf_reset(&b);
        rc = zt_jwt_sign_assertion(k, &c, &b);
        if (rc == 0 && (rc = zt_buf_cstr(&b)) == 0)
            puts(b.data);
    }
    if (rc != 0)
        fprintf(stderr, "jwt_tool: sign: %s\n", strerror(-rc));
    zt_buf_dispose(&b);
    return rc == 0 ? 0 : 1;
}

static int read_file(const char *path, zt_buf *b)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL)
        return -errno;
    char chunk[4096];
    size_t n;
    int rc = 0;
    while (rc == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        rc = zt_buf_append(b, chunk, n);
    if (f != stdin)
        fclose(f);
    return rc == 0 ? zt_buf_cstr(b) : rc;
}

static zt_jwt_status verify_one(const zt_jwt_jwks *j, const zt_jwt_expect *want, const char *t,
                                size_t n)
{
    zt_assertion a;
    const char *why = NULL;
    zt_jwt_status st = zt_jwt_verify(j, t, n, want, &a, &why);
    if (st == ZT_JWT_OK) {
        printf("ok sub=%s exp=%lld ngroups=%zu\n", a.sub, (long long)a.exp, a.ngroups);
        zt_jwt_assertion_dispose(&a);
    } else {
        printf("%s: %s\n", zt_jwt_status_name(st), why);
    }
    return st;
}

static int cmd_verify(int argc, char **argv)
{
    zt_buf doc, in;
    zt_buf_init(&doc, ZT_JWT_MAX_JWKS);
    zt_buf_init(&in, 64u << 20);
    int rc = read_file(argv[0], &doc);
    if (rc == 0)
        rc = argc > 3 ? zt_buf_append_str(&in, argv[3]) : read_file("-", &in);
    if (rc == 0)
        rc = zt_buf_cstr(&in);
    if (rc < 0) {
        fprintf(stderr, "jwt_tool: read: %s\n", strerror(-rc));
        return 2;
    }
    zt_jwt_jwks *j = NULL;
    const char *why = NULL;
    if (zt_jwt_jwks_parse(doc.data, doc.len, &j, &why) != ZT_JWT_OK) {
        printf("bad_jwks: %s\n", why);
        zt_buf_dispose(&doc);
        zt_buf_dispose(&in);
        return 1;
    }
    zt_jwt_expect want = {.iss = argv[1], .aud = argv[2], .now = zt_wall_us() / 1000000};
    size_t total = 0, bad = 0;
    if (argc > 3) {
        total = 1;
        bad = verify_one(j, &want, in.data, in.len) != ZT_JWT_OK;
    } else {
        /* One token per line; the line ending is not part of the token. */
        char *p = in.data, *end = in.data + in.len;
        while (p < end) {
            char *nl = memchr(p, '\n', (size_t)(end - p));
            size_t n = (size_t)((nl ? nl : end) - p);
            if (n > 0 && p[n - 1] == '\r')
                n--;
            if (n > 0) {
                total++;
                bad += verify_one(j, &want, p, n) != ZT_JWT_OK;
            }
            p = nl ? nl + 1 : end;
        }
    }
    zt_jwt_jwks_free(j);
    zt_buf_dispose(&doc);
    zt_buf_dispose(&in);
    return total > 0 && bad == 0 ? 0 : 1;
}

typedef struct bench_arg {
    zt_keys *keys;
    long n;
    int failures;
} bench_arg;

static const char *const bench_groups[] = {"staff", "engineering", "wiki-admins"};

static zt_assertion bench_claims(void)
{
    int64_t now = zt_wall_us() / 1000000;
    return (zt_assertion){.iss = "https://gw.example.test",
                          .aud = "wiki",
                          .sub = "user-0123456789",
                          .email = "alice@example.test",
                          .groups = bench_groups,
                          .ngroups = 3,
                          .device = "dev-42",
                          .trust = "managed",
                          .iat = now,
                          .exp = now + 300};
}

static void *bench_sign(void *arg)
{
    bench_arg *a = arg;
    zt_assertion c = bench_claims();
    zt_buf b;
    zt_buf_init(&b, 0);
    for (long i = 0; i < a->n; i++) {
        zt_buf_reset(&b);
        a->failures += zt_jwt_sign_assertion(a->keys, &c, &b) != 0;
    }
    zt_buf_dispose(&b);
    return NULL;
}

static int cmd_bench(zt_keys *k, long n, long threads)
{
    bench_arg one = {.keys = k, .n = n};
    uint64_t t0 = zt_mono_us();
    bench_sign(&one);
    double sign_us = (double)(zt_mono_us() - t0) / (double)n;

    zt_assertion c = bench_claims();
    zt_buf tok, doc;
    zt_buf_init(&tok, 0);
    zt_buf_init(&doc, 0);
    if (zt_jwt_sign_assertion(k, &c, &tok) != 0 || zt_keys_jwks(k, &doc) != 0)
        return 1;
    zt_jwt_jwks *j = NULL;
    if (zt_jwt_jwks_parse(doc.data, doc.len, &j, NULL) != ZT_JWT_OK)
        return 1;
    zt_jwt_expect want = {.iss = c.iss, .aud = c.aud, .now = c.iat};
    t0 = zt_mono_us();
    for (long i = 0; i < n; i++)
        one.failures += zt_jwt_verify(j, tok.data, tok.len, &want, NULL, NULL) != ZT_JWT_OK;
    double verify_us = (double)(zt_mono_us() - t0) / (double)n;
    t0 = zt_mono_us();
    for (long i = 0; i < n / 10 + 1; i++) {
        zt_jwt_jwks *jj = NULL;
        one.failures += zt_jwt_jwks_parse(doc.data, doc.len, &jj, NULL) != ZT_JWT_OK;
        zt_jwt_jwks_free(jj);
    }
    double parse_us = (double)(zt_mono_us() - t0) / (double)(n / 10 + 1);

    pthread_t t[64];
    bench_arg args[64];
    if (threads > 64)
        threads = 64;
    t0 = zt_mono_us();
    for (long i = 0; i < threads; i++) {
        args[i] = (bench_arg){.keys = k, .n = n};
        pthread_create(&t[i], NULL, bench_sign, &args[i]);
    }
    for (long i = 0; i < threads; i++) {
        pthread_join(t[i], NULL);
        one.failures += args[i].failures;
    }
    double mt = (double)(zt_mono_us() - t0);
    printf("token %zu bytes\n", tok.len);
    printf("sign   %.1f us/op (1 thread, %ld ops)\n", sign_us, n);
    printf("verify %.1f us/op (1 thread, parsed JWKS)\n", verify_us);
    printf("jwks   %.1f us/parse\n", parse_us);
    printf("sign   %.0f ops/s with %ld threads\n", (double)(n * threads) / mt * 1e6, threads);
    zt_jwt_jwks_free(j);
    zt_buf_dispose(&tok);
    zt_buf_dispose(&doc);
    return one.failures ? 1 : 0;
}

static zt_keys *open_idp_keys(const char *dir)
{
    char err[512];
    zt_keys *k = NULL;
    if (zt_keys_open_with(dir, ZT_KEYS_WITH_RSA, &k, err, sizeof(err)) != 0)
        fprintf(stderr, "jwt_tool: %s\n", err);
    return k;
}

static bool alg_arg(const char *s, zt_jws_alg *alg)
{
    return zt_jws_alg_parse(s, strlen(s), alg);
}

static int cmd_idp_sign(zt_keys *k, const char *algname, const char *typ)
{
    zt_jws_alg alg;
    zt_buf in, out;
    zt_buf_init(&in, 1u << 20);
    zt_buf_init(&out, 0);
    int rc = alg_arg(algname, &alg) ? read_file("-", &in) : -EINVAL;
    /* The payload is one JSON document; a trailing newline from the shell is not part of it. */
    while (rc == 0 && in.len > 0 && (in.data[in.len - 1] == '\n' || in.data[in.len - 1] == '\r'))
        in.len--;
    if (rc == 0)
        rc = zt_jws_sign_json(k, alg, typ, in.data, in.len, &out, NULL);
    if (rc == 0)
        rc = zt_buf_cstr(&out);
    if (rc == 0)
        puts(out.data);
    else
        fprintf(stderr, "jwt_tool: idp-sign: %s\n", strerror(-rc));
    zt_buf_dispose(&in);
    zt_buf_dispose(&out);
    return rc == 0 ? 0 : 1;
}

static int cmd_idp(const char *cmd, int argc, char **argv)
{
    zt_keys *k = open_idp_keys(argv[0]);
    if (k == NULL)
        return 1;
    int rc;
    if (strcmp(cmd, "idp-jwks") == 0)
        rc = cmd_jwks(k, false);
    else if (strcmp(cmd, "idp-rotate") == 0)
        rc = cmd_rotate(k, argc > 1 ? argv[1] : NULL);
    else
        rc = argc == 3 ? cmd_idp_sign(k, argv[1], argv[2]) : usage();
    zt_keys_free(k);
    return rc;
}

static int cmd_at_hash(const char *algname, const char *token)
{
    zt_jws_alg alg;
    char out[ZT_JWS_AT_HASH_LEN + 1];
    if (!alg_arg(algname, &alg) || zt_jws_at_hash(alg, token, strlen(token), out) != 0)
        return usage();
    puts(out);
    return 0;
}

static int client_verify_line(const zt_jws_jwks *j, const zt_jws_client_expect *x, const char *t,
                              size_t n)
{
    zt_jws_client_assertion a;
    const char *why = NULL;
    zt_jws_status st = zt_jws_verify_client_assertion(j, t, n, x, &a, &why);
    if (st == ZT_JWS_OK)
        printf("ok jti=%s alg=%s kid=%s\n", a.jti, zt_jws_alg_name(a.alg), a.kid);
    else
        printf("%s: %s\n", zt_jws_status_name(st), why);
    return st == ZT_JWS_OK ? 0 : 1;
}

static int cmd_client_verify(int argc, char **argv)
{
    zt_buf doc, in;
    zt_buf_init(&doc, ZT_JWS_MAX_JWKS);
    zt_buf_init(&in, 16u << 20);
    int rc = read_file(argv[0], &doc);
    if (rc == 0)
        rc = read_file("-", &in);
    zt_jws_jwks *j = NULL;
    const char *why = NULL;
    zt_jws_status st =
        rc == 0 ? zt_jws_client_jwks_parse(doc.data, doc.len, &j, &why) : ZT_JWS_BAD_JWKS;
    if (st != ZT_JWS_OK) {
        printf("bad_jwks: %s\n", rc == 0 ? why : strerror(-rc));
        zt_buf_dispose(&doc);
        zt_buf_dispose(&in);
        return 1;
    }
    zt_jws_client_expect x = {.client_id = argv[1],
                              .audiences = (const char *const *)argv + 2,
                              .naudiences = (size_t)argc - 2,
                              .now = zt_wall_us() / 1000000,
                              .leeway_s = 5};
    size_t total = 0, bad = 0;
    for (char *p = in.data, *end = in.data + in.len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = (size_t)((nl ? nl : end) - p);
        if (n > 0) {
            total++;
            bad += (size_t)client_verify_line(j, &x, p, n);
        }
        p = nl ? nl + 1 : end;
    }
    zt_jws_jwks_free(j);
    zt_buf_dispose(&doc);
    zt_buf_dispose(&in);
    return total > 0 && bad == 0 ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 3 || !zt_secure_init())
        return usage();
    const char *cmd = argv[1];
    if (strncmp(cmd, "idp-", 4) == 0)
        return cmd_idp(cmd, argc - 2, argv + 2);
    if (strcmp(cmd, "at-hash") == 0)
        return argc == 4 ? cmd_at_hash(argv[2], argv[3]) : usage();
    if (strcmp(cmd, "client-verify") == 0)
        return argc >= 5 ? cmd_client_verify(argc - 2, argv + 2) : usage();
    if (strcmp(cmd, "verify") == 0)
        return argc >= 5 ? cmd_verify(argc - 2, argv + 2) : usage();
    if (strcmp(cmd, "sign") == 0 && argc < 6)
        return usage();
    zt_keys *k = open_keys(argv[2]);
    if (k == NULL)
        return 1;
    int rc;
    if (strcmp(cmd, "jwks") == 0 || strcmp(cmd, "kid") == 0) {
        rc = cmd_jwks(k, cmd[0] == 'k');
    } else if (strcmp(cmd, "rotate") == 0) {
        rc = cmd_rotate(k, argc > 3 ? argv[3] : NULL);
    } else if (strcmp(cmd, "sign") == 0) {
        rc = cmd_sign(k, argc - 3, argv + 3);
    } else if (strcmp(cmd, "bench") == 0) {
        int64_t n = 20000, th = 2;
        if ((argc > 3 && (!parse_i64(argv[3], &n) || n <= 0)) ||
            (argc > 4 && (!parse_i64(argv[4], &th) || th <= 0)))
            rc = usage();
        else
            rc = cmd_bench(k, (long)n, (long)th);
    } else {
        rc = usage();
    }
    zt_keys_free(k);
    return rc;
}
