/* Policy engine: names for logs and pages, and the small pure helpers both evaluators share
 * (what a request already satisfies, sign-in frequency, local time). */
#include <string.h>

#include "policy/policy_int.h"

/* The config's word lists are defined in this enum order (config.h); keep them in step. */
_Static_assert(ZT_RISK_HIGH == 3 && ZT_PLATFORM_CHROMEOS == 6 && ZT_CLIENT_API == 1,
               "config.c word lists follow these enums");
_Static_assert(ZT_CTL_MFA == 1 && ZT_CTL_PHISHING_RESISTANT_MFA == 2 &&
                   ZT_CTL_COMPLIANT_DEVICE == 4 && ZT_CTL_PASSWORD_CHANGE == 8,
               "grant controls are bit i for the i-th config word");
_Static_assert(ZT_RESTRICT_READ_ONLY == 1 && ZT_RESTRICT_NO_DOWNLOAD == 2,
               "restrictions are bit i for the i-th config word");

const char *zt_policy_miss_text(zt_policy_miss m)
{
    static const char *const text[] = {
        [ZT_MISS_NONE] = "applies",
        [ZT_MISS_STATE_OFF] = "policy is off",
        [ZT_MISS_USER_NOT_INCLUDED] = "user is not included",
        [ZT_MISS_USER_EXCLUDED] = "user is excluded",
        [ZT_MISS_APP_NOT_INCLUDED] = "app is not included",
        [ZT_MISS_APP_EXCLUDED] = "app is excluded",
        [ZT_MISS_USER_RISK] = "user risk does not match",
        [ZT_MISS_SIGN_IN_RISK] = "sign-in risk does not match",
        [ZT_MISS_DEVICE] = "device state does not match",
        [ZT_MISS_PLATFORM] = "device platform does not match",
        [ZT_MISS_LOCATION] = "location does not match",
        [ZT_MISS_ANONYMOUS_IP] = "anonymous IP condition does not match",
        [ZT_MISS_CLIENT] = "client type does not match",
        [ZT_MISS_TIME] = "outside the policy's time window",
    };
    return (unsigned)m < sizeof(text) / sizeof(text[0]) ? text[m] : "unknown";
}

const char *zt_control_name(zt_control c)
{
    switch (c) {
    case ZT_CTL_MFA:
        return "mfa";
    case ZT_CTL_PHISHING_RESISTANT_MFA:
        return "phishing_resistant_mfa";
    case ZT_CTL_COMPLIANT_DEVICE:
        return "compliant_device";
    case ZT_CTL_PASSWORD_CHANGE:
        return "password_change";
    }
    return "none";
}

const char *zt_outcome_name(zt_outcome o)
{
    static const char *const names[] = {"allow", "challenge", "block"};
    return (unsigned)o < 3 ? names[o] : "unknown";
}

static char zt_policy_lower(char c)
{
    return c >= 'A' && c <= 'Z' ? (char)(c + 32) : c;
}

uint64_t zt_policy_hash(const char *s)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (; *s != '\0'; s++) {
        h ^= (unsigned char)zt_policy_lower(*s);
        h *= 0x100000001b3ull;
    }
    return h;
}

bool zt_policy_ieq(const char *a, const char *b)
{
    for (; *a != '\0' && *b != '\0'; a++, b++)
        if (zt_policy_lower(*a) != zt_policy_lower(*b))
            return false;
    return *a == *b;
}

void zt_policy_local(const zt_tz *tz, int64_t now, unsigned *wday, unsigned *minute)
{
    int64_t local = now + zt_tz_offset(tz, now);
    int64_t days = local >= 0 ? local / 86400 : (local - 86399) / 86400;
    int64_t sec = local - days * 86400;
    *wday = (unsigned)(((days + 3) % 7 + 7) % 7); /* 1970-01-01 was a Thursday */
    *minute = (unsigned)(sec / 60);
}

unsigned zt_policy_satisfied(const zt_policy_input *in)
{
    unsigned sat = 0;
    if (in->mfa_time > 0)
        sat |= ZT_CTL_MFA;
    if (in->mfa_phishing_resistant)
        sat |= ZT_CTL_PHISHING_RESISTANT_MFA;
    if (in->device_known && in->device_compliant)
        sat |= ZT_CTL_COMPLIANT_DEVICE;
    if (!in->password_change_required)
        sat |= ZT_CTL_PASSWORD_CHANGE;
    return sat;
}

unsigned zt_policy_sat_for(const zt_cpol *p, const zt_policy_input *in, unsigned sat)
{
    if (p->n_aaguids == 0)
        return sat;
    for (uint32_t i = 0; in->passkey_aaguid != NULL && i < p->n_aaguids; i++)
        if (memcmp(p->aaguids[i], in->passkey_aaguid, 16) == 0)
            return sat;
    return sat & ~(unsigned)ZT_CTL_PHISHING_RESISTANT_MFA;
}

bool zt_policy_reauth(const zt_policy_input *in, int64_t freq_s)
{
    if (freq_s < 0)
        return false;
    if (in->auth_time <= 0)
        return true;
    int64_t age = in->now - in->auth_time;
    /* every_time: only a sign-in that just happened counts (Entra allows 5 min of skew). */
    return age > (freq_s == 0 ? ZT_POLICY_FRESH_S : freq_s);
}

zt_control zt_policy_first(unsigned unmet)
{
    return (zt_control)(unmet & (0u - unmet));
}

const zt_name_ent *zt_policy_name_find(const zt_name_index *ix, uint64_t h, const char *name)
{
    if (ix->n_slots == 0)
        return NULL;
    size_t mask = ix->n_slots - 1;
    for (size_t j = (size_t)h & mask; ix->slot[j] != 0; j = (j + 1) & mask) {
        const zt_name_ent *e = &ix->ent[ix->slot[j] - 1];
        if (e->hash == h && zt_policy_ieq(e->name, name))
            return e;
    }
    return NULL;
}
