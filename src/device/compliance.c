/* Compliance rules over one parsed posture report: each rule that fails adds its id and a
 * sentence a user can act on. Pure: the caller passes the clock. A value the device did not
 * report fails every rule that needs it (unknown is never compliant). */
#include "device/posture.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MINUTE 60
#define HOUR (60 * MINUTE)
#define DAY (24 * HOUR)

static void add(zt_compliance *c, const char *rule, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add(zt_compliance *c, const char *rule, const char *fmt, ...)
{
    c->compliant = false;
    if (c->n_failed >= ZT_COMPLIANCE_MAX_FAILED)
        return;
    snprintf(c->failed[c->n_failed].rule, sizeof c->failed[0].rule, "%s", rule);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(c->failed[c->n_failed].message, sizeof c->failed[0].message, fmt, ap);
    va_end(ap);
    c->n_failed++;
}

/* "30 hours", "9 days": the largest unit that still reads as at least two of it. */
static void age_words(int64_t s, char *out, size_t cap)
{
    if (s >= 2 * DAY)
        snprintf(out, cap, "%lld days", (long long)(s / DAY));
    else if (s >= 2 * HOUR)
        snprintf(out, cap, "%lld hours", (long long)(s / HOUR));
    else if (s >= 2 * MINUTE)
        snprintf(out, cap, "%lld minutes", (long long)(s / MINUTE));
    else
        snprintf(out, cap, "%lld second%s", (long long)s, s == 1 ? "" : "s");
}

/* Device clocks drift: a time slightly in the future counts as brand new, not as negative age. */
static int64_t age(int64_t now, int64_t t)
{
    return t >= now ? 0 : now - t;
}

static bool valid_version(const char *s)
{
    if (s[0] == '\0' || s[0] == '.')
        return false;
    for (size_t i = 0; s[i] != '\0'; i++) {
        if (s[i] == '.') {
            if (s[i + 1] == '.' || s[i + 1] == '\0')
                return false;
        } else if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

/* Next component of *s without leading zeros ("" for zero or when s is used up). */
static void next_component(const char **s, const char **start, size_t *len)
{
    const char *p = *s;
    while (*p == '0' && p[1] >= '0' && p[1] <= '9')
        p++;
    if (*p == '0')
        p++;
    *start = p;
    while (*p >= '0' && *p <= '9')
        p++;
    *len = (size_t)(p - *start);
    if (*p == '.')
        p++;
    *s = p;
}

bool zt_posture_version_cmp(const char *a, const char *b, int *cmp)
{
    if (a == NULL || b == NULL || !valid_version(a) || !valid_version(b))
        return false;
    while (*a != '\0' || *b != '\0') {
        const char *ca, *cb;
        size_t la, lb;
        next_component(&a, &ca, &la);
        next_component(&b, &cb, &lb);
        /* Without leading zeros, the longer digit string is the larger number. */
        int r = la != lb ? (la < lb ? -1 : 1) : memcmp(ca, cb, la);
        if (r != 0) {
            *cmp = r < 0 ? -1 : 1;
            return true;
        }
    }
    *cmp = 0;
    return true;
}

static void rule_os(const zt_compliance_rules *r, const zt_posture *p, zt_compliance *c)
{
    /* Only the first entry for the device's OS applies; an OS not listed has no minimum. */
    for (size_t i = 0; i < r->n_min_os && i < sizeof r->min_os / sizeof r->min_os[0]; i++) {
        if (strcmp(r->min_os[i].os_id, p->os_id) != 0)
            continue;
        int cmp;
        if (!zt_posture_version_cmp(p->os_version, r->min_os[i].min_version, &cmp))
            add(c, "os_version",
                "Operating system %s version \"%s\" cannot be checked against the required %s",
                p->os_id, p->os_version, r->min_os[i].min_version);
        else if (cmp < 0)
            add(c, "os_version", "Operating system %s %s is older than the required %s", p->os_id,
                p->os_version, r->min_os[i].min_version);
        return;
    }
}

static void rule_disk(const zt_posture *p, zt_compliance *c)
{
    if (strcmp(p->disk_encryption, "luks") == 0)
        return;
    if (strcmp(p->disk_encryption, "none") == 0)
        add(c, "disk_encryption", "Disk encryption is off — encrypt the system disk");
    else
        add(c, "disk_encryption", "Disk encryption status is unknown");
}

static void rule_firewall(const zt_posture *p, zt_compliance *c)
{
    if (p->firewall_active == ZT_YES)
        return;
    if (p->firewall_active == ZT_NO)
        add(c, "firewall", "The firewall is off");
    else
        add(c, "firewall", "Firewall status is unknown");
}

static void rule_signatures(const zt_compliance_rules *r, const zt_posture *p, int64_t now,
                            zt_compliance *c)
{
    if (p->av_signature_time <= 0) {
        add(c, "antivirus_signatures", "Antivirus signature age is unknown");
        return;
    }
    int64_t a = age(now, p->av_signature_time);
    if (a <= r->max_signature_age_s)
        return;
    char words[48];
    age_words(a, words, sizeof words);
    add(c, "antivirus_signatures", "Antivirus signatures are %s old — %s", words,
        strcmp(p->av_engine, "clamav") == 0 ? "run freshclam" : "update them");
}

static void rule_updates(const zt_compliance_rules *r, const zt_posture *p, int64_t now,
                         zt_compliance *c)
{
    if (p->last_package_update <= 0) {
        add(c, "updates", "The time of the last package update is unknown");
        return;
    }
    int64_t a = age(now, p->last_package_update);
    if (a <= r->max_update_age_s)
        return;
    char words[48];
    age_words(a, words, sizeof words);
    add(c, "updates", "The last package update was %s ago — install updates", words);
}

void zt_compliance_eval(const zt_compliance_rules *rules, const zt_posture *p, int64_t reported_at,
                        int64_t now, zt_compliance *out)
{
    memset(out, 0, sizeof *out);
    out->compliant = true;
    if (p == NULL) {
        add(out, "posture_missing", "no posture report yet");
        return;
    }
    if (rules == NULL)
        return;
    /* Staleness uses the server's receive time: a device clock cannot make a report fresh. */
    if (rules->max_report_age_s > 0 && age(now, reported_at) > rules->max_report_age_s) {
        char words[48];
        age_words(age(now, reported_at), words, sizeof words);
        add(out, "posture_stale", "The device has not reported for %s", words);
    }
    rule_os(rules, p, out);
    if (rules->require_disk_encryption)
        rule_disk(p, out);
    if (rules->require_firewall)
        rule_firewall(p, out);
    if (rules->require_antivirus && p->av_engine[0] == '\0')
        add(out, "antivirus", "No antivirus engine reported");
    if (rules->max_signature_age_s > 0)
        rule_signatures(rules, p, now, out);
    if (rules->max_update_age_s > 0)
        rule_updates(rules, p, now, out);
}

/* Joined text that does not fit ends in "…" at a UTF-8 character boundary, never mid-way
 * through a multi-byte sequence such as the messages' em dashes. */
void zt_compliance_summary(const zt_compliance *c, char *out, size_t cap)
{
    static const char ellipsis[] = "\xe2\x80\xa6";
    char full[ZT_COMPLIANCE_MAX_FAILED * (sizeof c->failed[0].message + 2) + 1];
    size_t n = 0;

    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++) {
        const char *m = c->failed[i].message;
        size_t len = strnlen(m, sizeof c->failed[i].message);
        if (i > 0) {
            memcpy(full + n, "; ", 2);
            n += 2;
        }
        memcpy(full + n, m, len);
        n += len;
    }
    full[n] = '\0';
    if (n < cap) {
        memcpy(out, full, n + 1);
        return;
    }
    size_t room = sizeof ellipsis - 1;
    size_t keep = cap - 1 >= room ? cap - 1 - room : cap - 1;
    while (keep > 0 && ((unsigned char)full[keep] & 0xc0) == 0x80)
        keep--;
    while (keep > 0 && (full[keep - 1] == ' ' || full[keep - 1] == ';'))
        keep--;
    memcpy(out, full, keep);
    if (cap - 1 >= room) {
        memcpy(out + keep, ellipsis, room);
        keep += room;
    }
    out[keep] = '\0';
}

void zt_compliance_rules_list(const zt_compliance *c, char *out, size_t cap)
{
    size_t n = 0;
    if (out == NULL || cap == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; c != NULL && i < c->n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++) {
        int w = snprintf(out + n, cap - n, "%s%s", i > 0 ? "," : "", c->failed[i].rule);
        if (w < 0 || (size_t)w >= cap - n) {
            out[n] = '\0'; /* whole ids only */
            return;
        }
        n += (size_t)w;
    }
}

static bool failed_rule(const zt_compliance *c, const char *rule)
{
    for (size_t i = 0; c != NULL && i < c->n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++)
        if (strcmp(c->failed[i].rule, rule) == 0)
            return true;
    return false;
}

zt_compliance_change zt_compliance_compare(const zt_compliance *before, const zt_compliance *now,
                                           zt_compliance *newly_failed)
{
    zt_compliance scratch;
    zt_compliance *nf = newly_failed != NULL ? newly_failed : &scratch;
    memset(nf, 0, sizeof *nf);
    nf->compliant = true;
    if (now->compliant)
        return before != NULL && !before->compliant ? ZT_COMPLIANCE_RESTORED : ZT_COMPLIANCE_SAME;
    /* A rule that failed before was signalled then (or the device was never compliant with
     * it): only a rule failing anew is news. */
    for (size_t i = 0; i < now->n_failed && i < ZT_COMPLIANCE_MAX_FAILED; i++) {
        bool old = before != NULL && !before->compliant && failed_rule(before, now->failed[i].rule);
        if (!old && nf->n_failed < ZT_COMPLIANCE_MAX_FAILED) {
            nf->failed[nf->n_failed++] = now->failed[i];
            nf->compliant = false;
        }
    }
    return nf->n_failed > 0 ? ZT_COMPLIANCE_BROKE : ZT_COMPLIANCE_SAME;
}

bool zt_device_silence_began(int64_t last_seen, int64_t silent_after_s, int64_t from, int64_t to)
{
    if (last_seen <= 0 || silent_after_s <= 0 || last_seen > INT64_MAX - silent_after_s)
        return false;
    int64_t at = last_seen + silent_after_s;
    return at > from && at <= to;
}
