/* Device signals for incident response: a compliance verdict that breaks or is restored, an
 * agent that falls silent or reports again. Each is one audit record (built here, submitted by
 * the caller, which knows whether it may fail closed) and one zt_signal for src/response. */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "audit/event.h"
#include "core/metrics.h"
#include "device/device_int.h"
#include "lib/time.h"
#include "response/incident.h"

#define SIGNAL_SUMMARY_MAX 400

static const char *const type_names[] = {"device_noncompliant", "device_compliant", "device_silent",
                                         "agent_reported"};

const char *zt_dev_signal_type(zt_dev_signal_kind k)
{
    return (unsigned)k <= ZT_DS_REPORTING ? type_names[k] : "unknown";
}

static bool is_detection(zt_dev_signal_kind k)
{
    return k == ZT_DS_NONCOMPLIANT || k == ZT_DS_SILENT;
}

/* "45 seconds", "3 minutes", "2 hours", "4 days": coarse, for one line of a timeline. */
static void quiet_words(int64_t s, char *out, size_t cap)
{
    if (s >= 2 * 86400)
        snprintf(out, cap, "%" PRId64 " days", s / 86400);
    else if (s >= 2 * 3600)
        snprintf(out, cap, "%" PRId64 " hours", s / 3600);
    else if (s >= 120)
        snprintf(out, cap, "%" PRId64 " minutes", s / 60);
    else
        snprintf(out, cap, "%" PRId64 " second%s", s, s == 1 ? "" : "s");
}

static void summary_of(const zt_dev_signal *s, char *out, size_t cap)
{
    char words[48], reasons[SIGNAL_SUMMARY_MAX];
    switch (s->kind) {
    case ZT_DS_NONCOMPLIANT:
        zt_compliance_summary(s->failed, reasons, 360);
        snprintf(out, cap, "device not compliant: %.360s", reasons);
        return;
    case ZT_DS_COMPLIANT:
        snprintf(out, cap, "device compliant again");
        return;
    case ZT_DS_SILENT:
        quiet_words(s->quiet_s, words, sizeof(words));
        snprintf(out, cap, "agent silent: no report for %s", words);
        return;
    case ZT_DS_REPORTING:
        quiet_words(s->quiet_s, words, sizeof(words));
        snprintf(out, cap, "agent reported again after %s of silence", words);
        return;
    }
    snprintf(out, cap, "device signal");
}

int zt_dev_signal_record(const zt_dev_signal *s, zt_buf *b)
{
    bool det = is_detection(s->kind);
    bool compliance = s->kind == ZT_DS_NONCOMPLIANT || s->kind == ZT_DS_COMPLIANT;
    char summary[SIGNAL_SUMMARY_MAX], rules[256] = "";
    summary_of(s, summary, sizeof(summary));
    zt_event ev;
    zt_event_begin(&ev, b, compliance ? ZT_EV_COMPLIANCE_FINDING : ZT_EV_DETECTION_FINDING,
                   det ? ZT_ACT_FINDING_CREATE : ZT_ACT_FINDING_CLOSE,
                   det ? ZT_SEV_MEDIUM : ZT_SEV_INFO);
    zt_event_status(&ev, ZT_STATUS_SUCCESS);
    zt_event_metadata(&ev, s->request_id, NULL);
    zt_event_str(&ev, "message", summary);
    zt_event_str(&ev, "finding_info.title", summary);
    zt_event_str(&ev, "finding_info.types", zt_dev_signal_type(s->kind));
    zt_event_str(&ev, "actor.user.uid", s->dev->user_id[0] ? s->dev->user_id : NULL);
    zt_event_str(&ev, "actor.user.email_addr", s->dev->email[0] ? s->dev->email : NULL);
    zt_event_str(&ev, "device.uid", s->dev->id);
    zt_event_str(&ev, "device.hostname", s->dev->name[0] ? s->dev->name : NULL);
    zt_event_str(&ev, "unmapped.signal_type", zt_dev_signal_type(s->kind));
    if (s->kind == ZT_DS_NONCOMPLIANT) {
        zt_compliance_rules_list(s->failed, rules, sizeof(rules));
        zt_event_str(&ev, "unmapped.rules", rules);
    }
    if (!compliance) {
        zt_event_int(&ev, "unmapped.quiet_s", s->quiet_s);
        zt_event_int(&ev, "unmapped.last_seen", s->last_seen);
    }
    return zt_event_end(&ev);
}

int zt_dev_signal_respond(struct zt_response *resp, const zt_dev_signal *s)
{
    if (resp == NULL)
        return 0;
    bool det = is_detection(s->kind);
    char summary[SIGNAL_SUMMARY_MAX], rules[256] = "", evidence[512];
    summary_of(s, summary, sizeof(summary));
    if (s->kind == ZT_DS_NONCOMPLIANT) {
        zt_compliance_rules_list(s->failed, rules, sizeof(rules));
        snprintf(evidence, sizeof(evidence), "{\"rules\":\"%s\"}", rules); /* ids: [a-z_,] */
    } else if (!det && s->kind == ZT_DS_COMPLIANT) {
        snprintf(evidence, sizeof(evidence), "{}");
    } else {
        snprintf(evidence, sizeof(evidence), "{\"quiet_s\":%" PRId64 ",\"last_seen\":%" PRId64 "}",
                 s->quiet_s, s->last_seen);
    }
    if (det)
        zt_metric_detection(zt_dev_signal_type(s->kind));
    /* A remediation names only the device, so it never closes an incident of the same user
     * about something else (a sign-in, another device). */
    zt_signal sig = {.kind = det ? ZT_SIGNAL_DETECTION : ZT_SIGNAL_REMEDIATION,
                     .type = zt_dev_signal_type(s->kind),
                     .severity = det ? ZT_RISK_MEDIUM : ZT_RISK_NONE,
                     .user_id = det && s->dev->user_id[0] ? s->dev->user_id : NULL,
                     .email = det && s->dev->email[0] ? s->dev->email : NULL,
                     .device_id = s->dev->id,
                     .device_name = s->dev->name[0] ? s->dev->name : NULL,
                     .summary = summary,
                     .evidence = evidence,
                     .request_id = s->request_id,
                     .resolves = !det && s->resolves,
                     .now = s->now};
    zt_response_result res;
    return zt_response_signal(resp, &sig, &res);
}

bool zt_devices_was_silent(zt_devices *d, const zt_store_device *dev, int64_t *quiet_s)
{
    int64_t last = dev->last_seen_at > 0 ? dev->last_seen_at : dev->enrolled_at;
    int64_t now = zt_wall_us() / 1000000;
    *quiet_s = now > last ? now - last : 0;
    if (d->silent_after_s <= 0 || last <= 0 || last > INT64_MAX - d->silent_after_s ||
        last + d->silent_after_s > now)
        return false;
    /* Silent long enough; signalled once a sweep (ours, or another gateway's on the same state
     * directory) covered that moment. */
    int64_t swept = zt_devices_swept_until(d);
    return last + d->silent_after_s <= swept;
}
