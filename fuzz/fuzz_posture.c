/* libFuzzer target for the posture parser, the compliance rules and the summary: any bytes
 * either parse into a report whose every field is within its documented bounds or are refused
 * with a printable reason and an all-zero struct; evaluating and summarising any accepted report
 * stays within the result's limits; version comparison is a consistent ordering. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "device/posture.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond))                                                                               \
            __builtin_trap();                                                                      \
    } while (0)

#define TERMINATED(a) CHECK(memchr((a), '\0', sizeof(a)) != NULL)

static void check_text(const char *s)
{
    for (; *s != '\0'; s++)
        CHECK((unsigned char)*s >= 0x20 && *s != 0x7f);
}

static void check_posture(const zt_posture *p)
{
    TERMINATED(p->agent_version);
    TERMINATED(p->os_id);
    TERMINATED(p->os_version);
    TERMINATED(p->os_pretty);
    TERMINATED(p->kernel);
    TERMINATED(p->disk_encryption);
    TERMINATED(p->av_engine);
    TERMINATED(p->av_engine_version);
    CHECK(p->agent_version[0] != '\0' && p->os_id[0] != '\0' && p->os_version[0] != '\0');
    check_text(p->agent_version);
    check_text(p->os_pretty);
    check_text(p->kernel);
    check_text(p->av_engine);
    check_text(p->av_engine_version);
    for (const char *s = p->os_id; *s; s++)
        CHECK((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') || strchr("._-", *s));
    CHECK(strcmp(p->disk_encryption, "luks") == 0 || strcmp(p->disk_encryption, "none") == 0 ||
          strcmp(p->disk_encryption, "unknown") == 0);
    CHECK(p->collected_at > 0);
    CHECK(p->last_package_update >= 0 && p->av_signature_time >= 0);
    CHECK(p->firewall_rules >= -1 && p->firewall_rules <= 1000000);
    CHECK(p->av_signature_version >= 0 && p->av_signature_version <= 1000000000);
    CHECK(p->alerts_active >= 0 && p->alerts_active <= 1000000);
    CHECK(p->firewall_active <= ZT_YES && p->screen_lock <= ZT_YES && p->av_on_access <= ZT_YES);
}

static void check_compliance(const zt_posture *p)
{
    zt_compliance_rules r;
    memset(&r, 0, sizeof r);
    memcpy(r.min_os[0].os_id, p->os_id, sizeof r.min_os[0].os_id);
    memcpy(r.min_os[0].min_version, "12.4", 5);
    r.n_min_os = 1;
    r.max_signature_age_s = 7 * 86400;
    r.require_disk_encryption = r.require_firewall = r.require_antivirus = true;
    r.max_update_age_s = 30 * 86400;
    r.max_report_age_s = 86400;
    zt_compliance c;
    zt_compliance_eval(&r, p, p->collected_at, p->collected_at + 90000, &c);
    CHECK(c.n_failed <= ZT_COMPLIANCE_MAX_FAILED);
    CHECK(c.compliant == (c.n_failed == 0));
    for (size_t i = 0; i < c.n_failed; i++) {
        TERMINATED(c.failed[i].rule);
        TERMINATED(c.failed[i].message);
        CHECK(c.failed[i].message[0] != '\0');
    }
    static const size_t caps[] = {1, 2, 5, 64, 512};
    char out[512];
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        zt_compliance_summary(&c, out, caps[i]);
        CHECK(strlen(out) < caps[i]);
    }
}

/* The input split at its first NUL into two version strings. */
static void check_versions(const uint8_t *data, size_t size)
{
    char a[64], b[64];
    const uint8_t *nul = memchr(data, '\0', size);
    size_t la = nul ? (size_t)(nul - data) : size;
    size_t lb = nul ? size - la - 1 : 0;
    if (la >= sizeof a || lb >= sizeof b || memchr(data + la + (nul ? 1 : 0), '\0', lb))
        return;
    memcpy(a, data, la);
    a[la] = '\0';
    memcpy(b, data + la + (nul ? 1 : 0), lb);
    b[lb] = '\0';
    int ab = 2, ba = 2, aa = 2;
    bool ok = zt_posture_version_cmp(a, b, &ab);
    CHECK(zt_posture_version_cmp(b, a, &ba) == ok);
    if (ok) {
        CHECK(ab >= -1 && ab <= 1 && ab == -ba);
        CHECK(zt_posture_version_cmp(a, a, &aa) && aa == 0);
    } else {
        CHECK(ab == 2 && ba == 2);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    zt_posture p;
    const char *why = NULL;
    memset(&p, 0xa5, sizeof p);
    if (zt_posture_parse((const char *)data, size, &p, &why) == 0) {
        CHECK(why == NULL);
        check_posture(&p);
        check_compliance(&p);
    } else {
        static const zt_posture zero;
        CHECK(why != NULL && why[0] != '\0' && strstr(why, ": ") != NULL);
        check_text(why);
        CHECK(memcmp(&p, &zero, sizeof p) == 0);
    }
    check_versions(data, size);
    return 0;
}
