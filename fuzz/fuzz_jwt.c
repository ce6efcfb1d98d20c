/* Assertion verifier and JWKS parser on arbitrary input; must never crash, leak or hit UB.
 * The first byte picks the target so one corpus covers three entry points:
 *   0: the rest is a token for zt_jwt_verify against a fixed JWKS
 *   1: the rest is a payload, signed with the fixed key, then verified: only signed bytes reach
 *      the claim checks, so without this the fuzzer could never get past the signature
 *   2: the rest is a JWKS document for zt_jwt_jwks_parse
 * The fixed key is a throwaway test key, written to a temp key directory at start-up. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "identity/jwt.h"
#include "identity/keys.h"
#include "lib/secure.h"

/* 2026-01-01T00:00:00Z; seed tokens are issued then, so they verify at FUZZ_NOW. */
#define FUZZ_IAT 1767225600
#define FUZZ_NOW (FUZZ_IAT + 1)

static const char test_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgOJiMVIRwvlvErMCW\n"
    "cu54sYTXdbo8S2VIfpjM9oNDca6hRANCAASawVteeoQr2MuzCHMUyNX82jZRVCdw\n"
    "uf3Evxu4+4AQcN7an9qby66gv6/HajgSMg1DfKhh1u/Y6ddTtnQLqhr+\n"
    "-----END PRIVATE KEY-----\n";

static char tmp_root[64];
static zt_keys *keys;
static zt_jwt_jwks *jwks;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void cleanup(void)
{
    zt_jwt_jwks_free(jwks);
    zt_keys_free(keys);
    if (tmp_root[0] != '\0')
        nftw(tmp_root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    char dir[128], path[160], err[256];
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/zt-fuzz-jwt-XXXXXX");
    if (!zt_secure_init() || mkdtemp(tmp_root) == NULL)
        abort();
    atexit(cleanup);
    snprintf(dir, sizeof(dir), "%s/keys", tmp_root);
    snprintf(path, sizeof(path), "%s/active.pem", dir);
    FILE *f = NULL;
    if (mkdir(dir, 0700) != 0 || (f = fopen(path, "w")) == NULL)
        abort();
    fputs(test_key_pem, f);
    fclose(f);
    zt_buf doc;
    zt_buf_init(&doc, 0);
    if (chmod(path, 0600) != 0 || zt_keys_open(dir, &keys, err, sizeof(err)) != 0 ||
        zt_keys_jwks(keys, &doc) != 0 ||
        zt_jwt_jwks_parse(doc.data, doc.len, &jwks, NULL) != ZT_JWT_OK)
        abort();
    zt_buf_dispose(&doc);
}

static void verify(const char *t, size_t n)
{
    zt_jwt_expect want = {
        .iss = "https://gw.example.test", .aud = "wiki", .now = FUZZ_NOW, .leeway_s = 5};
    zt_assertion a;
    const char *why = NULL;
    zt_jwt_status st = zt_jwt_verify(jwks, t, n, &want, &a, &why);
    if (why == NULL)
        abort();
    if (st == ZT_JWT_OK) {
        /* Every accepted assertion must be complete. */
        if (a.iss == NULL || a.sub == NULL || a.jti == NULL || a.exp <= a.iat ||
            (a.ngroups > 0 && a.groups == NULL))
            abort();
        for (size_t i = 0; i < a.ngroups; i++)
            if (a.groups[i] == NULL)
                abort();
        zt_jwt_assertion_dispose(&a);
    } else if (a.owned_ != NULL) {
        abort();
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (keys == NULL)
        setup();
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    switch (data[0] % 3) {
    case 0:
        verify(p, n);
        break;
    case 1: {
        zt_buf tok;
        zt_buf_init(&tok, 0);
        if (zt_jwt_sign_payload(keys, p, n, &tok) == 0)
            verify(tok.data, tok.len);
        zt_buf_dispose(&tok);
        break;
    }
    default: {
        zt_jwt_jwks *j = NULL;
        if (zt_jwt_jwks_parse(p, n, &j, NULL) == ZT_JWT_OK && j == NULL)
            abort();
        zt_jwt_jwks_free(j);
        break;
    }
    }
    return 0;
}
