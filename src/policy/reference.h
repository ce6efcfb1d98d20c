/* Reference evaluator: the obvious loop over the parsed policies, straight from zt_config, with
 * no index. Slow and allocation-free only by accident; used by tests (to check zt_policy_eval
 * on random inputs) and by whatif. Never on the request path. */
#ifndef ZT_POLICY_REFERENCE_H
#define ZT_POLICY_REFERENCE_H

#include "core/config.h"
#include "policy/policy.h"

typedef struct zt_policy_ref zt_policy_ref;

/* Borrows cfg, which must outlive the result. NULL with a message in err (time zones). */
zt_policy_ref *zt_policy_ref_new(const zt_config *cfg, char *err, size_t errlen);
void zt_policy_ref_free(zt_policy_ref *r);
/* Same contract as zt_policy_eval; misses (cfg->n_policies entries) may be NULL. */
void zt_policy_ref_eval(const zt_policy_ref *r, const zt_policy_input *in, zt_policy_result *out,
                        zt_policy_miss *misses);

/* Whether policy p's app assignment takes in app (included by "all", its name or
 * "sensitivity:LEVEL", and not excluded), whatever its users and conditions: the console's
 * "policies that apply to this app". Same matching as the evaluators. */
bool zt_policy_cfg_targets_app(const zt_policy_cfg *p, const zt_app_cfg *app);

#endif
