/* Shared vocabulary of risk levels. Identity Protection (risk), device compliance (device), the
 * Conditional Access evaluator (policy) and incident response (response) all speak in these
 * levels; they live here, below all of them, so none has to include another's header for them.
 * Stored and configured values use this order (0 none .. 3 high). */
#ifndef ZT_CORE_LEVELS_H
#define ZT_CORE_LEVELS_H

#include <stdbool.h>

typedef enum zt_risk {
    ZT_RISK_NONE = 0, /* also "unknown": no signal yet */
    ZT_RISK_LOW,
    ZT_RISK_MEDIUM,
    ZT_RISK_HIGH,
} zt_risk;

#define ZT_RISK_LEVELS 4

/* "none", "low", "medium", "high" in zt_risk order, NULL-terminated: the one spelling the config
 * file, the CLI, the audit records and the APIs use. */
extern const char *const zt_risk_names[ZT_RISK_LEVELS + 1];

/* The name of r; "unknown" for anything else. */
const char *zt_risk_name(zt_risk r);
/* A level from its name (exact, lower case); false for anything else. */
bool zt_risk_parse(const char *s, zt_risk *out);

#endif
