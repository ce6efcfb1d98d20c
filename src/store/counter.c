/* Backend-independent half of the shared counters (store_counter.h): the argument checks, done
 * once before the backend runs. A backend without counters (SQLite) answers -ENOTSUP, which
 * callers take as "keep counting in memory". */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

#define COUNTER_ENTER(st)                                                                          \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->counter == NULL)                                                            \
            return zt_store_seterr(-ENOTSUP, "this store backend keeps no shared counters");       \
    } while (0)

bool zt_store_counter_shared(zt_store *st)
{
    return st != NULL && st->ops->counter != NULL;
}

int zt_store_throttle_admit(zt_store *st, const unsigned char *account_key, int side,
                            const unsigned char *source_key, int64_t now_ms, int64_t hold_until_ms,
                            zt_store_throttle_seen *out)
{
    COUNTER_ENTER(st);
    if (out == NULL || (account_key != NULL && side != 0 && side != 1) || hold_until_ms < 0)
        return zt_store_seterr(-EINVAL, "throttle admission: bad arguments");
    return st->ops->counter->throttle_admit(st, account_key, side, source_key, now_ms,
                                            hold_until_ms, out);
}

int zt_store_throttle_unhold(zt_store *st, int64_t hold1, int64_t hold2)
{
    COUNTER_ENTER(st);
    if (hold1 < 0 || hold2 < 0)
        return zt_store_seterr(-EINVAL, "throttle reservation: bad id");
    if (hold1 == 0 && hold2 == 0)
        return 0;
    return st->ops->counter->throttle_unhold(st, hold1, hold2);
}

int zt_store_throttle_settle(zt_store *st, const unsigned char *account_key, int side,
                             const unsigned char *source_key, bool success, int64_t now_ms,
                             int64_t reset_ms, int64_t hold1, int64_t hold2)
{
    COUNTER_ENTER(st);
    if ((account_key != NULL && side != 0 && side != 1) || reset_ms <= 0 || hold1 < 0 || hold2 < 0)
        return zt_store_seterr(-EINVAL, "throttle verdict: bad arguments");
    return st->ops->counter->throttle_settle(st, account_key, side, source_key, success, now_ms,
                                             reset_ms, hold1, hold2);
}

int zt_store_risk_failure(zt_store *st, const unsigned char *source, const unsigned char *account,
                          const unsigned char *pw_tag, int64_t now, const zt_store_spray_rule *rule,
                          zt_store_source_flags *out)
{
    COUNTER_ENTER(st);
    if (source == NULL || account == NULL || rule == NULL || out == NULL ||
        rule->spray_window_s <= 0 || rule->reputation_window_s <= 0 || rule->ttl_s <= 0)
        return zt_store_seterr(-EINVAL, "risk failure: bad arguments");
    return st->ops->counter->risk_failure(st, source, account, pw_tag, now, rule, out);
}

int zt_store_risk_flags(zt_store *st, int64_t now, zt_store_source_flags_cb cb, void *ctx)
{
    COUNTER_ENTER(st);
    if (cb == NULL)
        return zt_store_seterr(-EINVAL, "risk flags: no callback");
    return st->ops->counter->risk_flags(st, now, cb, ctx);
}

int zt_store_counter_sweep(zt_store *st, int64_t now_ms, int64_t reset_ms, int64_t risk_keep_s,
                           uint64_t *n_out)
{
    if (n_out != NULL)
        *n_out = 0;
    COUNTER_ENTER(st);
    if (reset_ms <= 0 || risk_keep_s <= 0)
        return zt_store_seterr(-EINVAL, "counter sweep: bad arguments");
    return st->ops->counter->sweep(st, now_ms, reset_ms, risk_keep_s, n_out);
}

static bool claim_text_ok(const char *s, size_t max, bool name)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        unsigned char ch = (unsigned char)s[i];
        bool ok = name ? (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || ch == '.' ||
                             ch == '_' || ch == '-'
                       : ch > 0x20 && ch < 0x7f;
        if (!ok)
            return false;
    }
    return true;
}

int zt_store_shared_claim(zt_store *st, const char *name, const char *value, char *stored,
                          size_t cap)
{
    COUNTER_ENTER(st);
    if (!claim_text_ok(name, 64, true) || !claim_text_ok(value, ZT_STORE_SHARED_VALUE_MAX, false) ||
        stored == NULL || cap <= ZT_STORE_SHARED_VALUE_MAX)
        return zt_store_seterr(-EINVAL, "shared value: bad arguments");
    return st->ops->counter->shared_claim(st, name, value, stored, cap);
}
