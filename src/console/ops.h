/* The pure parts of the console's operations pages (apps, policies, what-if, risk, incidents,
 * audit, reference lookup): policies in words, the what-if form read into a simulated request,
 * words for decisions and the advice for a refused request. Private to src/console; no request,
 * no store writes, no I/O: everything here is unit-tested (tests/unit/test_console_ops.c). */
#ifndef ZT_CONSOLE_OPS_H
#define ZT_CONSOLE_OPS_H

#include <stdbool.h>
#include <stddef.h>

#include "access/whatif.h"
#include "audit/query.h"
#include "core/config.h"
#include "core/i18n.h"
#include "lib/buf.h"
#include "policy/policy.h"

/* ---- words ---- */

zt_msg cop_state_msg(zt_policy_state s);
zt_msg cop_miss_msg(zt_policy_miss m);
/* "Allowed", "Blocked", "Multi-factor authentication required", ..., "Sign in again". */
zt_msg cop_verdict_msg(const zt_policy_result *res);
/* The catalogue word of one grant control (one bit of zt_control). */
zt_msg cop_control_msg(zt_control c);
/* A verdict word of zt_whatif_verdict ("allow", "mfa", ...) or an audit record's decision
 * ("block", "challenge", ...); MSG_NONE when unknown. */
zt_msg cop_verdict_word_msg(const char *word);

/* Policy p of cfg as HTML (a <dl>: state, users, apps, conditions, grant, session) in lang,
 * every configured value escaped. 0 or a negative errno of the buffer. */
int cop_policy_words(zt_buf *b, zt_lang lang, const zt_policy_cfg *p);

/* "a, b, c" of a list of config words into b, escaped; "all" as the catalogue's word. */
int cop_words_list(zt_buf *b, zt_lang lang, const zt_cfg_word *v, size_t n);

/* ---- the what-if form ---- */

/* The form's fields as typed (NULL or "" = not given). */
typedef struct cop_whatif_form {
    const char *user, *groups, *app, *ip, *country, *device, *platform, *client, *at, *auth_age;
    const char *sign_in_risk, *user_risk, *device_risk;
    bool mfa, phishing_resistant, anonymous_ip, password_change;
} cop_whatif_form;

/* Fill w (zt_whatif_init'ed with now) from the form as `ztgate whatif` does from its flags.
 * 0; -EINVAL with *bad the label of the first field that is not valid; -ENOENT with *bad
 * COP_WF_NO_USER / COP_WF_NO_APP; other negative errnos for a store failure (err says). */
int cop_whatif_build(zt_whatif_env *env, zt_whatif *w, const cop_whatif_form *f, zt_msg *bad,
                     char *err, size_t errlen);

/* ---- the audit search form ---- */

/* Event classes the form offers (name for the form, OCSF class_uid); NULL-terminated. */
typedef struct cop_class {
    const char *name;
    long uid;
} cop_class;
extern const cop_class cop_classes[];

#define COP_FIELD_MAX 256 /* bytes of one filter field */

/* The filters as typed (NULL or "" = not given). */
typedef struct cop_audit_form {
    const char *from, *to, *user, *device, *ip, *decision, *cls, *app, *ref, *text, *cursor;
} cop_audit_form;

/* Fill f (zt_aq_filter_init'ed here; its strings point into form) and *cursor (0 = newest)
 * from the form. MSG_NONE, or the label of the first field that is not valid. */
zt_msg cop_audit_filter(const cop_audit_form *form, zt_aq_filter *f, uint64_t *cursor);

/* A reference id as block pages show it: 1..64 of [A-Za-z0-9-]. */
bool cop_ref_valid(const char *s);

/* ---- advice for a refused request ---- */

/* What to do about a decision record: its decision ("block", "challenge", ...) and reasons
 * text (the record's `reasons`). Up to max messages into out; their number. */
size_t cop_ref_advice(const char *decision, const char *reasons, zt_msg *out, size_t max);

/* true when text names policy `name` among `policies` ("a,b (report-only),c") as report-only. */
bool cop_lists_report_only(const char *policies, const char *name);

#endif
