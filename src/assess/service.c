/* The changes the assessment makes (assess.h "service"), once for every front-end: the CLI and
 * the console call these, so the same change has the same effect and the same audit record
 * but for the actor. Each checks its input, writes the store, then writes one Account Change
 * record (activity 99 Other, unmapped.operation "assess.answer" / "assess.keep") through the
 * account env's audit sink. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "assess/assess.h"
#include "audit/event.h"

static bool has(const char *s)
{
    return s != NULL && s[0] != '\0';
}

static int record(const zt_account_env *env, const zt_actor *who, const char *op, const char *k1,
                  const char *v1, const char *k2, const char *v2)
{
    if (env->audit.write == NULL)
        return 0;
    zt_buf b;
    char msg[64];
    snprintf(msg, sizeof(msg), "account change: %s", op);
    zt_event ev;
    zt_actor_event_begin(&ev, &b, ZT_EV_ACCOUNT_CHANGE, 99, msg, who);
    zt_event_str(&ev, "unmapped.operation", op);
    zt_event_str(&ev, k1, v1);
    zt_event_str(&ev, k2, v2);
    return zt_actor_event_write(&ev, &b, env->audit, who);
}

int zt_assess_answer(const zt_account_env *env, const zt_actor *who, const char *key,
                     const char *value, int64_t now, int *audit_rc)
{
    const zt_assess_question *q = zt_assess_question_find(key, NULL);
    if (q == NULL)
        return -ENOENT;
    if (zt_assess_answer_index(q, value) < 0)
        return -EINVAL;
    zt_store_assess_answer a = {.updated_at = now};
    snprintf(a.key, sizeof(a.key), "%s", q->key);
    snprintf(a.value, sizeof(a.value), "%s", value);
    snprintf(a.actor, sizeof(a.actor), "%s", has(who->name) ? who->name : "?");
    int rc = zt_store_assess_answer_set(env->store, &a);
    if (rc != 0)
        return rc;
    int arc = record(env, who, "assess.answer", "unmapped.assess.key", a.key,
                     "unmapped.assess.value", a.value);
    if (audit_rc != NULL)
        *audit_rc = arc;
    return 0;
}

int zt_assess_keep(const zt_account_env *env, const zt_actor *who, const zt_assess_result *r,
                   int64_t now, int *audit_rc)
{
    zt_store_assess_run run = {.at = now};
    zt_assess_stages_string(r, run.stages);
    snprintf(run.actor, sizeof(run.actor), "%s", has(who->name) ? who->name : "?");
    int rc = zt_store_assess_run_add(env->store, &run);
    if (rc != 0)
        return rc;
    char id[24];
    snprintf(id, sizeof(id), "%lld", (long long)run.id);
    int arc = record(env, who, "assess.keep", "unmapped.assess.run", id, "unmapped.assess.stages",
                     run.stages);
    if (audit_rc != NULL)
        *audit_rc = arc;
    return 0;
}
