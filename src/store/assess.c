/* Backend-independent half of the assessment's records (store_assess.h): the shape checks, done
 * once before the backend's ops run so a refused call writes nothing. */
#include <errno.h>
#include <string.h>

#include "store/store_int.h"

#define ASSESS_ENTER(st)                                                                           \
    do {                                                                                           \
        zt_store_seterr(0, "%s", "");                                                              \
        if ((st) == NULL)                                                                          \
            return zt_store_seterr(-EINVAL, "store is not open");                                  \
        if ((st)->ops->assess == NULL)                                                             \
            return zt_store_seterr(-EIO, "this store backend has no assessment records");          \
    } while (0)

static bool word_ok(const char *s, size_t max, const char *extra)
{
    size_t n = s != NULL ? strlen(s) : 0;
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              (extra != NULL && strchr(extra, c) != NULL)))
            return false;
    }
    return true;
}

static bool actor_ok(const char *s)
{
    size_t n = strlen(s);
    return n <= ZT_STORE_ASSESS_ACTOR_MAX && zt_store_text_ok(s, n);
}

int zt_store_assess_answer_set(zt_store *st, const zt_store_assess_answer *a)
{
    ASSESS_ENTER(st);
    if (a == NULL || !word_ok(a->key, ZT_STORE_ASSESS_KEY_MAX, ".") ||
        !word_ok(a->value, ZT_STORE_ASSESS_VALUE_MAX, NULL) || !actor_ok(a->actor))
        return zt_store_seterr(-EINVAL, "assessment answer: bad key, value or actor");
    return st->ops->assess->answer_set(st, a);
}

int zt_store_assess_answer_list(zt_store *st, zt_store_assess_answer_cb cb, void *ctx)
{
    ASSESS_ENTER(st);
    if (cb == NULL)
        return zt_store_seterr(-EINVAL, "no callback");
    return st->ops->assess->answer_list(st, cb, ctx);
}

static bool stages_ok(const char *s)
{
    if (strlen(s) != ZT_STORE_ASSESS_PILLARS)
        return false;
    for (size_t i = 0; i < ZT_STORE_ASSESS_PILLARS; i++)
        if (s[i] < '0' || s[i] > '3')
            return false;
    return true;
}

int zt_store_assess_run_add(zt_store *st, zt_store_assess_run *r)
{
    ASSESS_ENTER(st);
    if (r == NULL || !stages_ok(r->stages) || r->at <= 0 || !actor_ok(r->actor))
        return zt_store_seterr(-EINVAL, "assessment run: bad stages, time or actor");
    return st->ops->assess->run_add(st, r);
}

int zt_store_assess_run_list(zt_store *st, uint64_t limit, zt_store_assess_run_cb cb, void *ctx)
{
    ASSESS_ENTER(st);
    if (cb == NULL)
        return zt_store_seterr(-EINVAL, "no callback");
    return st->ops->assess->run_list(st, limit, cb, ctx);
}

int zt_store_assess_mfa_counts(zt_store *st, zt_store_assess_mfa *out)
{
    ASSESS_ENTER(st);
    if (out == NULL)
        return zt_store_seterr(-EINVAL, "no output");
    memset(out, 0, sizeof(*out));
    return st->ops->assess->mfa_counts(st, out);
}
