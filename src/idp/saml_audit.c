/* The SAML IdP's audit records: OCSF Authentication (3002), one per SSO decision, assertion
 * issued and logout, naming the app and the SP's entity id (docs/AUDIT.md). */
#include "audit/event.h"
#include "http/handler.h"
#include "idp/saml.h"
#include "portal/portal.h"

static void subject(zt_event *ev, const zt_saml_audit_ev *e)
{
    if (e->sess == NULL || !e->sess->valid)
        return;
    zt_event_str(ev, "user.email_addr", e->sess->email);
    zt_event_str(ev, "user.uid", e->sess->user_id);
    zt_event_bool(ev, "is_mfa", (e->sess->amr & ZT_AMR_MFA) != 0);
}

bool zt_saml_audit(zt_local_req *r, const zt_saml_audit_ev *e)
{
    zt_buf b;
    zt_buf_init(&b, 16 * 1024);
    zt_event ev;
    zt_event_begin(&ev, &b, ZT_EV_AUTHENTICATION, e->activity,
                   e->success ? ZT_SEV_INFO : ZT_SEV_LOW);
    zt_event_status(&ev, e->success ? ZT_STATUS_SUCCESS : ZT_STATUS_FAILURE);
    zt_event_str(&ev, "message", e->message);
    zt_event_str(&ev, "status_detail", e->reason);
    zt_event_str(&ev, "auth_protocol", "SAML");
    subject(&ev, e);
    zt_event_str(&ev, "app.name", e->app);
    zt_event_str(&ev, "service.name", e->app);
    zt_event_str(&ev, "service.uid", e->sp);
    zt_event_str(&ev, "decision", e->decision);
    zt_event_str(&ev, "policy.name", e->policy);
    zt_event_str(&ev, "policies", e->policies);
    zt_event_str(&ev, "report_only.decision", e->report_only);
    zt_event_str(&ev, "unmapped.saml_name_id", e->name_id);
    zt_event_str(&ev, "unmapped.saml_assertion_id", e->assertion);
    zt_event_str(&ev, "src_endpoint.ip", r->ip);
    zt_event_str(&ev, "dst_endpoint.hostname", r->host);
    zt_event_str(&ev, "http_request.url.path", r->path);
    zt_event_metadata(&ev, r->request_id, NULL);
    bool ok = zt_event_end(&ev) != 0 ? r->svc->audit_fail_open : zt_local_audit(r, b.data, b.len);
    zt_buf_dispose(&b);
    return ok;
}
