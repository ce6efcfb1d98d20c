/* Client assertion verifier (private_key_jwt) and client JWKS parser on arbitrary input; must
 * never crash, leak or hit UB. The first byte picks the entry point so one corpus covers all:
 *   0: the rest is a client assertion, verified against a fixed JWKS (an RSA and an EC key)
 *   1: byte 1 picks ES256 or RS256, the rest is a payload signed with the fixed private keys,
 *      then verified: only signed bytes reach the claim checks, so without this the fuzzer
 *      could never get past the signature
 *   2: the rest is a JWKS document for zt_jws_client_jwks_parse
 *   3: the rest is "JWKS 0xff TOKEN": a JWKS of the input's choosing, then a token against it
 * The fixed keys are throwaway test keys, written to a temp key directory at start-up. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "identity/jws.h"
#include "identity/keys.h"
#include "lib/secure.h"

/* 2026-01-01T00:00:00Z; seed assertions are issued then, so they verify at FUZZ_NOW. */
#define FUZZ_IAT 1767225600
#define FUZZ_NOW (FUZZ_IAT + 1)

static const char ec_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                             "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg7NruMqThttATUFg5\n"
                             "wg94F5rBRjfNcmaZ+EmkZ0Zmft+hRANCAARAGgJD4pOX3BiC9nZII8AYwJClWAlN\n"
                             "rRdJjozBWaeLttMHYNOfvhYKJ0MPWSZZO2586wYUmn4XaJLP6QOGidne\n"
                             "-----END PRIVATE KEY-----\n";
static const char rsa_pem[] = "-----BEGIN PRIVATE KEY-----\n"
                              "MIIEvwIBADANBgkqhkiG9w0BAQEFAASCBKkwggSlAgEAAoIBAQDLd3XyJO65OJx4\n"
                              "Soq4La3uidocQb/W/KpupRvU75RiGlP96sIMG+g9Bt12lMsWtEOO0fjbhrt0o1hE\n"
                              "zTh3j0pzLG+fnRdmazUhpe889nHyM6WiGYKF2xJG/N0kDvzq6UMQDFo7oz1ka2xd\n"
                              "E5DvsVl+MU17ap8+Ij1vM5feKT6cJDURf7+YA5xWUNs6Ko5D/QRNzlPhAMaujn4H\n"
                              "ujHrOeWbkMgATE7gj2oWzZpcPm7g+dCqsZdH9xGslPONH2jTMdHI0aJhZie524MD\n"
                              "xmQrGZkFdhfd9apyuZgJNRHE8Tca91srfelliJ+8hMrEo27f/d4GJaQ2AtRvqWKH\n"
                              "yg0paDhBAgMBAAECggEAA50Omps7zyJ5gEG9/B6O5dCLxQUzlEHz/+zi6pGfsRdW\n"
                              "cbPAjakAOKHoKdHjgnbMnVskIDf2GSXz1x2i7gKnjUCXMek/EA9W3U8JCZbh4q3h\n"
                              "TZibjWeHh/xigWBabwyZ/OK58TBevStoPFtGL2+W+eCuci2XAD+Tl5I9v/u7tC0A\n"
                              "p49yGedHQmo6ySu+OkZJEa7V6+T5DQSZtSXSb1c1XhxPGPOgdEKHBsvN0kg6Grv7\n"
                              "iIG6AHlWypwRXdMFeXAh0EJBKm+rUvDpMD32ioS+oo+8aswTN0x2TNebAC4E2xI3\n"
                              "Tv16JdNafzFQFOZAu1YgQULhjP+H6GwavpW06AuVwQKBgQDyYmJnfxQW/nNw4cv4\n"
                              "rYL1OcltmTA/O8N8g0B1gNd60nxvCZVrUMJDFrMbLNGu92IZN6cyG1tYqGhwosGX\n"
                              "vyYwvanbWldhpZvPJ66TnDUU0/zg/o7W8uubZ5iRTHuvHyV+BNaXo5gjBZpvPaRY\n"
                              "1HbI6YU2B39NhUj2BEj66FctUQKBgQDW5WtjyavVQF6gdKm3811oldPBTBJg7Ex8\n"
                              "nWooFJw3pqMjlmuBJFx+q3YPgayh71QrsZhVHFSfF5jJGjFlIUFn4aAa5TjfftEF\n"
                              "vO/sdXZq3mFWIm6mU/DmZ5pM3ex1sJ5nho+bqp/vGFtxDcTKJMeP1JUbmY4WOKgg\n"
                              "aDRwpc3f8QKBgQC0FJqN0GFpsASuwmObz7XzYcqgrealpE5aDN3wLxho/UdL6+/i\n"
                              "em7KD2xkbUkgWFW+7JVA6ghU91IZFSMGDhNetRskiJtRRgxbvVy7+JuLbPB9bUNM\n"
                              "udCIdlBo600dT+O4G/ofUYEvy/LwYPjgsoHKRY0eFjXjr3oEpixelg5m8QKBgQDU\n"
                              "xXjL5608SyymIHy+hrbQy7BLbj+wOacNp2qpXqbCLzrODKxKxK7UOH5/ofxEpcuo\n"
                              "K4JRmuhqURnU3BtWL1QsP+ifWKA0IcNhtA22CSODcsXbW+JEy031Q1UykHUEnihp\n"
                              "BoGANrN+L5ayXFihcUMqNOih2Csn81b8J1DszC4IcQKBgQDLUc0b/KyXiyfe0O2T\n"
                              "+JlIiXL8VAdJIRakUeXf96VZe4d0hHdDkGWAUAYcl5mYu6AuVjXYkUaPbO3kd0Zi\n"
                              "/b2JDrlLQidO/0TZPlW4Rdq7u4YSqIOcjhqMUFZBvglj8UIPx8rU8E7xpmRcXweK\n"
                              "RcvZIB+d3KAfonED3Si33LZ0FQ==\n"
                              "-----END PRIVATE KEY-----\n";

static const char *const audiences[] = {"https://sso.example.test",
                                        "https://sso.example.test/.ztgate/oidc/token"};

static char tmp_root[64];
static zt_keys *keys;
static zt_jws_jwks *jwks;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(p);
}

static void cleanup(void)
{
    zt_jws_jwks_free(jwks);
    zt_keys_free(keys);
    if (tmp_root[0] != '\0')
        nftw(tmp_root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void write_pem(const char *dir, const char *name, const char *pem)
{
    char path[160];
    snprintf(path, sizeof(path), "%s/%s", dir, name);
    FILE *f = fopen(path, "w");
    if (f == NULL)
        abort();
    fputs(pem, f);
    fclose(f);
    if (chmod(path, 0600) != 0)
        abort();
}

static void setup(void)
{
    char dir[128], err[256];
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/zt-fuzz-ca-XXXXXX");
    if (!zt_secure_init() || mkdtemp(tmp_root) == NULL)
        abort();
    atexit(cleanup);
    snprintf(dir, sizeof(dir), "%s/keys", tmp_root);
    if (mkdir(dir, 0700) != 0)
        abort();
    write_pem(dir, "active.pem", ec_pem);
    write_pem(dir, "rsa-active.pem", rsa_pem);
    zt_buf doc;
    zt_buf_init(&doc, 0);
    if (zt_keys_open_with(dir, ZT_KEYS_WITH_RSA, &keys, err, sizeof(err)) != 0 ||
        zt_keys_jwks(keys, &doc) != 0 ||
        zt_jws_client_jwks_parse(doc.data, doc.len, &jwks, NULL) != ZT_JWS_OK)
        abort();
    zt_buf_dispose(&doc);
}

static void verify(const zt_jws_jwks *j, const char *t, size_t n)
{
    zt_jws_client_expect x = {.client_id = "fuzz-client",
                              .audiences = audiences,
                              .naudiences = 2,
                              .now = FUZZ_NOW,
                              .leeway_s = 5};
    zt_jws_client_assertion a;
    const char *why = NULL;
    zt_jws_status st = zt_jws_verify_client_assertion(j, t, n, &x, &a, &why);
    if (why == NULL || strcmp(zt_jws_status_name(st), "unknown") == 0)
        abort();
    /* Every accepted assertion is complete and within the rules the caller relies on. */
    if (st == ZT_JWS_OK && (a.jti[0] == '\0' || a.exp <= FUZZ_NOW - 5 ||
                            a.exp > FUZZ_NOW + ZT_JWS_ASSERTION_MAX_LIFETIME_S + 5))
        abort();
}

static void sign_then_verify(const uint8_t *data, size_t size)
{
    if (size < 1)
        return;
    zt_jws_alg alg = (data[0] & 1) ? ZT_JWS_RS256 : ZT_JWS_ES256;
    zt_buf tok;
    zt_buf_init(&tok, 0);
    if (zt_jws_sign_json(keys, alg, "JWT", (const char *)data + 1, size - 1, &tok, NULL) == 0)
        verify(jwks, tok.data, tok.len);
    zt_buf_dispose(&tok);
}

static void own_jwks(const uint8_t *data, size_t size)
{
    const uint8_t *sep = memchr(data, 0xff, size);
    zt_jws_jwks *j = NULL;
    size_t jn = sep ? (size_t)(sep - data) : size;
    if (zt_jws_client_jwks_parse((const char *)data, jn, &j, NULL) == ZT_JWS_OK && sep != NULL)
        verify(j, (const char *)sep + 1, size - jn - 1);
    zt_jws_jwks_free(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (keys == NULL)
        setup();
    if (size < 1)
        return 0;
    const char *rest = (const char *)data + 1;
    switch (data[0] % 4) {
    case 0:
        verify(jwks, rest, size - 1);
        break;
    case 1:
        sign_then_verify(data + 1, size - 1);
        break;
    case 2: {
        zt_jws_jwks *j = NULL;
        const char *why = NULL;
        zt_jws_status st = zt_jws_client_jwks_parse(rest, size - 1, &j, &why);
        if ((st == ZT_JWS_OK) != (j != NULL) || why == NULL)
            abort();
        zt_jws_jwks_free(j);
        break;
    }
    default:
        own_jwks(data + 1, size - 1);
        break;
    }
    return 0;
}
