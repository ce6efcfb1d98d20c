#include "core/levels.h"

#include <string.h>

const char *const zt_risk_names[ZT_RISK_LEVELS + 1] = {"none", "low", "medium", "high", NULL};

const char *zt_risk_name(zt_risk r)
{
    return (unsigned)r < ZT_RISK_LEVELS ? zt_risk_names[r] : "unknown";
}

bool zt_risk_parse(const char *s, zt_risk *out)
{
    for (int i = 0; s != NULL && i < ZT_RISK_LEVELS; i++)
        if (strcmp(s, zt_risk_names[i]) == 0) {
            *out = (zt_risk)i;
            return true;
        }
    return false;
}
