/* The skeleton the four throttled portal flows share (portal.h "one throttled flow"): start a
 * job from a POST form, admit it through the brute-force throttle, hold it for the throttle's
 * delay, free it wiped. Each flow keeps only its own fields, checks and verdict. */
#include <stdlib.h>

#include "core/metrics.h"
#include "lib/secure.h"
#include "lib/time.h"
#include "portal/portal.h"
#include "proxy/local.h"

/* A refused attempt waits this long when the throttle names no time. */
#define DEFAULT_WAIT_S 60

bool zt_portal_refusal(zt_local_req *r, const char *email, uint64_t retry_after_s, uint64_t *wait_s)
{
    *wait_s = retry_after_s > 0 ? retry_after_s : DEFAULT_WAIT_S;
    zt_portal_event ev = {.cls = ZT_EV_AUTHENTICATION,
                          .activity = ZT_ACT_AUTH_LOGON,
                          .success = false,
                          .email = email,
                          .message = "attempt refused",
                          .reason = "throttled"};
    zt_metric_sign_in(ZT_M_SIGN_IN_THROTTLED);
    if (!zt_portal_audit(r, &ev)) {
        zt_portal_unavailable(r, "audit log unavailable");
        return false;
    }
    zt_buf_printf(&r->resp_headers, "Retry-After: %llu\r\n", (unsigned long long)*wait_s);
    r->log_detail = "sign-in throttled";
    return true;
}

void zt_portal_too_many(zt_local_req *r, const char *email, uint64_t retry_after_s)
{
    uint64_t wait_s = 0;
    if (!zt_portal_refusal(r, email, retry_after_s, &wait_s))
        return;
    zt_buf_reset(&r->resp_body);
    r->status = 429;
    if (zt_render_wait(&r->resp_body, r->lang, wait_s) != 0) {
        zt_portal_unavailable(r, "out of memory");
        return;
    }
    zt_local_respond(r);
}

void *zt_portal_flow_start(zt_local_req *r, size_t size)
{
    zt_portal_flow *f = size >= sizeof(*f) ? calloc(1, size) : NULL;
    if (f == NULL) {
        zt_portal_unavailable(r, "out of memory");
        return NULL;
    }
    f->r = r;
    f->size = size;
    if (!zt_portal_read_form(r, &f->form) || !zt_portal_csrf_ok(r, &f->form)) {
        zt_portal_flow_free(f);
        return NULL;
    }
    zt_portal_rd(r, &f->form, f->rd);
    return f;
}

void zt_portal_flow_free(void *job)
{
    zt_portal_flow *f = job;
    if (f == NULL)
        return;
    zt_throttle_release(f->throttle, &f->ticket);
    zt_form_dispose(&f->form);
    size_t size = f->size;
    zt_wipe(f, size);
    free(f);
}

void zt_portal_flow_admit(void *job, const char *email, const char *user_id,
                          const zt_portal_flow_ops *ops)
{
    zt_portal_flow *f = job;
    zt_local_req *r = f->r;
    int64_t now = zt_portal_now();
    zt_portal_account_key(email, f->account);
    f->known = user_id != NULL && zt_known_device_check(r->svc->sessions, zt_portal_cookies(r),
                                                        user_id, r->https, now);
    f->throttle = r->svc->throttle;
    f->verdict = zt_throttle_admit(f->throttle, f->account, r->ip, f->known, zt_wall_us() / 1000,
                                   &f->ticket);
    f->limited = f->verdict.result == ZT_THROTTLE_ACCOUNT;
    if (ops->admitted != NULL)
        ops->admitted(job);
    if (f->verdict.result == ZT_THROTTLE_SOURCE || f->verdict.result == ZT_THROTTLE_WAIT) {
        if (ops->refused != NULL)
            ops->refused(job, f->verdict.retry_after_s);
        else
            zt_portal_too_many(r, email, f->verdict.retry_after_s);
        zt_portal_flow_free(job);
        return;
    }
    if (zt_portal_hold(r, f->verdict.delay_ms, ops->verify, job) != 0) {
        zt_portal_unavailable(r, "could not hold the answer");
        zt_portal_flow_free(job);
    }
}
