#include "core/levels.h"

const char *zt_risk_name(zt_risk r)
{
    static const char *const names[ZT_RISK_LEVELS] = {"none", "low", "medium", "high"};
    return (unsigned)r < ZT_RISK_LEVELS ? names[r] : "unknown";
}
