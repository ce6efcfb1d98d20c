/* Cookie header parsing, session-id hashing, one-time code redemption and the known-device
 * check on arbitrary input; must never crash, leak or hit UB, and must never accept what it
 * did not issue. The first byte picks the target:
 *   0: the rest is a Cookie header: find the session and device cookies, hash what is found
 *   1: the rest is a cookie value for zt_session_hash_cookie
 *   2: the rest is a code redeemed on app.example.com (a forged code must fail)
 *   3: the rest is "HOST\nREDEEM-HOST": a real code issued for HOST is redeemed on
 *      REDEEM-HOST, reaching the checks behind the MAC (its parent does not exist, so it
 *      must still fail)
 *   4: the rest is a Cookie header for zt_known_device_check (a forgery must fail)
 * A throwaway store and secrets key live in a temp directory made at start-up. */
#include <ftw.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "identity/secretbox.h"
#include "lib/secure.h"
#include "session/session.h"
#include "store/store.h"

#define FUZZ_NOW 1767225600
#define PARENT "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define USER "0123456789abcdef0123456789abcdef"

static char tmp_root[64];
static zt_store *store;
static zt_secretbox *box;
static zt_sessions *sessions;

static int rm_entry(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    return remove(p);
}

static void cleanup(void)
{
    zt_sessions_free(sessions);
    zt_secretbox_free(box);
    zt_store_close(store);
    if (tmp_root[0] != '\0')
        nftw(tmp_root, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
}

static void setup(void)
{
    char state[128], key[128], err[256];
    snprintf(tmp_root, sizeof(tmp_root), "/tmp/zt-fuzz-cookie-XXXXXX");
    if (!zt_secure_init() || mkdtemp(tmp_root) == NULL)
        abort();
    atexit(cleanup);
    snprintf(state, sizeof(state), "%s/state", tmp_root);
    snprintf(key, sizeof(key), "%s/secrets.key", tmp_root);
    zt_store_cfg sc = {.backend = ZT_STORE_SQLITE, .state_dir = state};
    if ((store = zt_store_open(&sc, err, sizeof(err))) == NULL ||
        (box = zt_secretbox_load_key(key, true, err, sizeof(err))) == NULL)
        abort();
    zt_sessions_cfg cfg = {.store = store, .state_dir = state, .secrets = box};
    if ((sessions = zt_sessions_new(&cfg, err, sizeof(err))) == NULL)
        abort();
}

static void find_and_hash(const zt_span *h, const char *name)
{
    zt_span v;
    char hash[ZT_SESSION_HASH_LEN + 1];
    if (!zt_cookie_find(h, name, &v))
        return;
    if (v.n > h->n || v.p < h->p || v.p + v.n > h->p + h->n)
        abort(); /* a value must lie inside the header */
    if (zt_session_hash_cookie(v.p, v.n, hash) == 0 && strlen(hash) != ZT_SESSION_HASH_LEN)
        abort();
}

static void redeem_must_fail(const char *code, size_t n, const char *host)
{
    char cookie[ZT_SESSION_COOKIE_LEN + 1], hash[ZT_SESSION_HASH_LEN + 1];
    if (zt_session_code_redeem(sessions, code, n, host, "app.test", "192.0.2.1", "fuzz", FUZZ_NOW,
                               cookie, hash) == 0)
        abort();
}

static void issued_code(const char *p, size_t n)
{
    char hosts[2][300] = {"", ""}, code[256];
    const char *nl = memchr(p, '\n', n);
    size_t a = nl != NULL ? (size_t)(nl - p) : n;
    size_t b = nl != NULL ? n - a - 1 : 0;
    if (a >= sizeof(hosts[0]) || b >= sizeof(hosts[1]))
        return;
    memcpy(hosts[0], p, a);
    if (nl != NULL)
        memcpy(hosts[1], nl + 1, b);
    if (memchr(hosts[0], '\0', a) != NULL || memchr(hosts[1], '\0', b) != NULL)
        return;
    if (zt_session_code_issue(sessions, PARENT, hosts[0], FUZZ_NOW, code, sizeof(code)) == 0)
        redeem_must_fail(code, strlen(code), hosts[1]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (sessions == NULL)
        setup();
    if (size == 0)
        return 0;
    const char *p = (const char *)data + 1;
    size_t n = size - 1;
    zt_span h = {p, n};
    char hash[ZT_SESSION_HASH_LEN + 1];
    switch (data[0] % 5) {
    case 0:
        find_and_hash(&h, ZT_COOKIE_SESSION_HTTPS);
        find_and_hash(&h, ZT_COOKIE_SESSION_HTTP);
        find_and_hash(&h, ZT_COOKIE_DEVICE_HTTPS);
        break;
    case 1:
        (void)zt_session_hash_cookie(p, n, hash);
        break;
    case 2:
        redeem_must_fail(p, n, "app.example.com");
        break;
    case 3:
        issued_code(p, n);
        break;
    default:
        if (zt_known_device_check(sessions, &h, USER, true, FUZZ_NOW) ||
            zt_known_device_check(sessions, &h, USER, false, FUZZ_NOW))
            abort();
        break;
    }
    return 0;
}
