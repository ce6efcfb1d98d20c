/* Arbitrary bytes as an audit log: the verifier must report, never crash. The first byte picks
 * the flags and whether the harness first repairs each line's prev/hash (as an attacker without
 * the key would), so mutations also reach the checkpoint and signature checks past the hashes. */
#include <sodium.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "audit/audit.h"
#include "audit/chain.h"

/* Recompute prev and hash of every line that has the record frame, in place. */
static void rechain(char *data, size_t len)
{
    char head[ZT_AUDIT_HEX + 1];
    memcpy(head, ZT_AUDIT_GENESIS, sizeof(head));
    for (char *p = data, *end = data + len; p < end;) {
        char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);
        zt_audit_line l;
        if (zt_audit_line_parse(p, n, &l)) {
            memcpy((char *)l.prev, head, ZT_AUDIT_HEX);
            zt_audit_line_hash(head, p, l.hashed_len, head);
            memcpy((char *)l.hash, head, ZT_AUDIT_HEX);
        }
        p += n + 1;
    }
}

/* The key whose seed is 32 bytes of 0x5a, so seed logs written with that key have checkpoints
 * that verify and mutations start from valid signatures. */
static const unsigned char *fuzz_pk(void)
{
    static unsigned char pk[32];
    static int ready;
    if (!ready) {
        unsigned char seed[32], sk[64];
        memset(seed, 0x5a, sizeof(seed));
        if (sodium_init() < 0)
            abort();
        crypto_sign_seed_keypair(pk, sk, seed);
        ready = 1;
    }
    return pk;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    uint8_t mode = data[0];
    char *buf = malloc(size);
    if (buf == NULL)
        return 0;
    memcpy(buf, data + 1, size - 1);
    if (mode & 1)
        rechain(buf, size - 1);
    zt_audit_report rep;
    unsigned flags = (mode & 2) ? ZT_AUDIT_VERIFY_SEALED : 0;
    if (mode & 8)
        flags |= ZT_AUDIT_VERIFY_FROM_GENESIS;
    zt_audit_verify_buf(buf, size - 1, (mode & 4) ? NULL : fuzz_pk(), flags, &rep);
    free(buf);
    return 0;
}
