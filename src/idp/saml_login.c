/* The Lasso side of SAML Web Browser SSO at the IdP: read and verify an AuthnRequest, then
 * answer it with a signed Response (assertion signed, then the response: RSA-SHA256,
 * exclusive C14N) or with an error status. Every function here runs with the server lock held
 * (saml_server.c) and hands back plain C copies, so no Lasso object outlives the lock. The
 * request parser is what fuzz/fuzz_saml_request.c drives. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lasso/lasso.h>
#include <lasso/xml/misc_text_node.h>
#include <lasso/xml/saml-2.0/saml2_assertion.h>
#include <lasso/xml/saml-2.0/saml2_attribute.h>
#include <lasso/xml/saml-2.0/saml2_attribute_statement.h>
#include <lasso/xml/saml-2.0/saml2_attribute_value.h>
#include <lasso/xml/saml-2.0/saml2_authn_statement.h>
#include <lasso/xml/saml-2.0/saml2_name_id.h>
#include <lasso/xml/saml-2.0/samlp2_authn_request.h>
#include <lasso/xml/saml-2.0/samlp2_name_id_policy.h>
#include <lasso/xml/saml-2.0/samlp2_status.h>
#include <lasso/xml/saml-2.0/samlp2_status_code.h>
#include <lasso/xml/saml-2.0/samlp2_status_response.h>

#include "core/log.h"
#include "idp/saml_login.h"

static void copy_str(char *dst, size_t cap, const char *src)
{
    size_t n = src ? strlen(src) : 0;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src ? src : "", n);
    dst[n] = '\0';
}

/* Lasso reads the Redirect binding from the whole query (SAMLRequest, RelayState, SigAlg,
 * Signature as received) and the POST binding from the base64 form value. */
static int saml_read_authn_request(LassoLogin *login, const char *msg)
{
    LassoProfile *prof = LASSO_PROFILE(login);
    lasso_profile_set_signature_verify_hint(prof, LASSO_PROFILE_SIGNATURE_VERIFY_HINT_MAYBE);
    zt_saml_lasso_leaks_begin();
    int rc = lasso_login_process_authn_request_msg(login, msg);
    zt_saml_lasso_leaks_end();
    return rc;
}

static void read_info(LassoLogin *login, int rc, zt_saml_req_info *info)
{
    LassoProfile *prof = LASSO_PROFILE(login);
    info->rc = rc;
    info->signature_status = prof->signature_status;
    copy_str(info->sp, sizeof(info->sp), prof->remote_providerID);
    if (!LASSO_IS_SAMLP2_AUTHN_REQUEST(prof->request))
        return;
    LassoSamlp2AuthnRequest *req = LASSO_SAMLP2_AUTHN_REQUEST(prof->request);
    info->force_authn = req->ForceAuthn;
    info->is_passive = req->IsPassive;
    if (req->NameIDPolicy != NULL)
        copy_str(info->name_id_format, sizeof(info->name_id_format), req->NameIDPolicy->Format);
    LassoSamlp2RequestAbstract *ra = LASSO_SAMLP2_REQUEST_ABSTRACT(req);
    copy_str(info->request_id, sizeof(info->request_id), ra->ID);
    copy_str(info->issue_instant, sizeof(info->issue_instant), ra->IssueInstant);
    copy_str(info->destination, sizeof(info->destination), ra->Destination);
}

int zt_saml_authn_parse(LassoServer *server, const char *msg, zt_saml_req_info *info)
{
    memset(info, 0, sizeof(*info));
    LassoLogin *login = lasso_login_new(server);
    if (login == NULL)
        return info->rc = -1;
    int rc = saml_read_authn_request(login, msg);
    read_info(login, rc, info);
    lasso_login_destroy(login);
    return info->rc;
}

/* ---- the answer ---- */

static LassoSaml2Attribute *attribute(const char *name, const char *const *values, size_t n)
{
    LassoSaml2Attribute *a = LASSO_SAML2_ATTRIBUTE(lasso_saml2_attribute_new());
    a->Name = g_strdup(name);
    a->NameFormat = g_strdup(LASSO_SAML2_ATTRIBUTE_NAME_FORMAT_BASIC);
    for (size_t i = 0; i < n; i++) {
        LassoSaml2AttributeValue *v = lasso_saml2_attribute_value_new();
        LassoMiscTextNode *text = lasso_misc_text_node_new_with_string(values[i]);
        text->text_child = TRUE; /* the value itself, not an element around it */
        v->any = g_list_append(v->any, text);
        a->AttributeValue = g_list_append(a->AttributeValue, v);
    }
    return a;
}

static void add_attributes(LassoSaml2Assertion *as, const zt_saml_subject *subj)
{
    LassoSaml2AttributeStatement *st =
        LASSO_SAML2_ATTRIBUTE_STATEMENT(lasso_saml2_attribute_statement_new());
    const zt_saml_attrs_cfg *names = subj->attrs;
    if (names->email != NULL && subj->email[0] != '\0')
        st->Attribute = g_list_append(st->Attribute, attribute(names->email, &subj->email, 1));
    if (names->display_name != NULL && subj->display_name[0] != '\0')
        st->Attribute =
            g_list_append(st->Attribute, attribute(names->display_name, &subj->display_name, 1));
    if (names->groups != NULL && subj->n_groups > 0)
        st->Attribute =
            g_list_append(st->Attribute, attribute(names->groups, subj->groups, subj->n_groups));
    if (st->Attribute == NULL) {
        g_object_unref(st);
        return;
    }
    as->AttributeStatement = g_list_append(as->AttributeStatement, st);
}

static void set_name_id(LassoSaml2Assertion *as, const zt_saml_subject *subj, const char *sp)
{
    LassoSaml2NameID *nid =
        LASSO_SAML2_NAME_ID(lasso_saml2_name_id_new_with_string((char *)subj->name_id));
    nid->Format = g_strdup(subj->name_id_format);
    if (strcmp(subj->name_id_format, ZT_SAML_FMT_PERSISTENT) == 0)
        nid->SPNameQualifier = g_strdup(sp);
    lasso_saml2_assertion_set_subject_name_id(as, LASSO_NODE(nid));
    g_object_unref(nid);
}

/* SessionNotOnOrAfter (Lasso 2.8 ignores its reauthenticateOnOrAfter for SAML 2.0): the SP's
 * session ends when the ztgate session does. */
static void set_session_end(LassoSaml2Assertion *as, const char *when)
{
    for (GList *l = as->AuthnStatement; l != NULL; l = l->next) {
        if (!LASSO_IS_SAML2_AUTHN_STATEMENT(l->data))
            continue;
        LassoSaml2AuthnStatement *st = LASSO_SAML2_AUTHN_STATEMENT(l->data);
        g_free(st->SessionNotOnOrAfter);
        st->SessionNotOnOrAfter = g_strdup(when);
    }
}

/* Replace the response's status by TOP[/SECOND]. */
static void set_status(LassoProfile *prof, const char *top, const char *second)
{
    if (!LASSO_IS_SAMLP2_STATUS_RESPONSE(prof->response))
        return;
    LassoSamlp2StatusResponse *resp = LASSO_SAMLP2_STATUS_RESPONSE(prof->response);
    LassoSamlp2Status *st = LASSO_SAMLP2_STATUS(lasso_samlp2_status_new());
    st->StatusCode = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
    st->StatusCode->Value = g_strdup(top);
    if (second != NULL) {
        st->StatusCode->StatusCode = LASSO_SAMLP2_STATUS_CODE(lasso_samlp2_status_code_new());
        st->StatusCode->StatusCode->Value = g_strdup(second);
    }
    if (resp->Status != NULL)
        g_object_unref(resp->Status);
    resp->Status = st;
}

/* The SP's metadata lists url as an AssertionConsumerService location. */
static bool acs_known(LassoServer *server, const char *sp, const char *url)
{
    LassoProvider *p = lasso_server_get_provider(server, sp);
    if (p == NULL || url == NULL)
        return false;
    bool found = false;
    GList *keys = lasso_provider_get_metadata_keys_for_role(p, LASSO_PROVIDER_ROLE_SP);
    for (GList *k = keys; k != NULL && !found; k = k->next) {
        if (k->data == NULL || strncmp(k->data, "AssertionConsumerService ", 25) != 0)
            continue;
        GList *vals = lasso_provider_get_metadata_list_for_role(p, LASSO_PROVIDER_ROLE_SP, k->data);
        for (GList *v = vals; v != NULL && !found; v = v->next)
            found = v->data != NULL && strcmp(v->data, url) == 0;
    }
    g_list_free_full(keys, g_free);
    return found;
}

/* Our NameID instead of Lasso's: the SP may ask for none, unspecified, or the format the app
 * is configured with; a transient policy is what Lasso then builds on (we replace it). */
static int name_id_policy(LassoProfile *prof, const zt_saml_subject *subj)
{
    LassoSamlp2AuthnRequest *req = LASSO_SAMLP2_AUTHN_REQUEST(prof->request);
    if (req->NameIDPolicy == NULL) /* Lasso's path without a policy leaks a string */
        req->NameIDPolicy = LASSO_SAMLP2_NAME_ID_POLICY(lasso_samlp2_name_id_policy_new());
    LassoSamlp2NameIDPolicy *pol = req->NameIDPolicy;
    const char *f = pol->Format;
    bool ok = f == NULL || strcmp(f, LASSO_SAML2_NAME_IDENTIFIER_FORMAT_UNSPECIFIED) == 0 ||
              strcmp(f, subj->name_id_format) == 0;
    if (!ok)
        return -1;
    g_free(pol->Format);
    pol->Format = g_strdup(LASSO_SAML2_NAME_IDENTIFIER_FORMAT_TRANSIENT);
    pol->AllowCreate = TRUE;
    return 0;
}

static int build_success(LassoLogin *login, const zt_saml_subject *subj, zt_saml_out *out)
{
    LassoProfile *prof = LASSO_PROFILE(login);
    if (name_id_policy(prof, subj) < 0) {
        lasso_login_validate_request_msg(login, FALSE, FALSE);
        set_status(prof, LASSO_SAML2_STATUS_CODE_REQUESTER,
                   LASSO_SAML2_STATUS_CODE_INVALID_NAME_ID_POLICY);
        out->status = ZT_SAML_ST_BAD_NAMEID_POLICY;
        return 0;
    }
    int rc = lasso_login_validate_request_msg(login, TRUE, TRUE);
    if (rc != 0)
        return rc;
    char instant[32], not_before[32], not_after[32], session_end[32];
    zt_saml_iso_time(subj->auth_time, instant);
    zt_saml_iso_time(subj->now - ZT_SAML_SKEW_S, not_before);
    zt_saml_iso_time(subj->now + ZT_SAML_ASSERTION_TTL_S, not_after);
    zt_saml_iso_time(subj->session_expires, session_end);
    /* Lasso puts the window in Conditions and the bearer SubjectConfirmationData: an
     * assertion is accepted for a few minutes only. */
    rc = lasso_login_build_assertion(login, zt_saml_authn_class(subj->amr), instant, NULL,
                                     not_before, not_after);
    LassoNode *node = rc == 0 ? lasso_login_get_assertion(login) : NULL;
    if (node == NULL)
        return rc ? rc : -1;
    LassoSaml2Assertion *as = LASSO_SAML2_ASSERTION(node);
    set_name_id(as, subj, prof->remote_providerID);
    add_attributes(as, subj);
    set_session_end(as, session_end);
    copy_str(out->name_id, sizeof(out->name_id), subj->name_id);
    copy_str(out->assertion_id, sizeof(out->assertion_id), as->ID);
    g_object_unref(node);
    out->status = ZT_SAML_ST_SUCCESS;
    return 0;
}

static int build_failure(LassoLogin *login, zt_saml_status st, zt_saml_out *out)
{
    LassoProfile *prof = LASSO_PROFILE(login);
    lasso_login_validate_request_msg(login, FALSE, FALSE);
    set_status(prof, LASSO_SAML2_STATUS_CODE_RESPONDER,
               st == ZT_SAML_ST_NO_PASSIVE ? LASSO_SAML2_STATUS_CODE_NO_PASSIVE
                                           : LASSO_SAML2_STATUS_CODE_REQUEST_DENIED);
    out->status = st;
    return 0;
}

/* IdP-initiated: an unsolicited request made on the SP's behalf (POST to its default ACS). */
static int init_unsolicited(LassoLogin *login, const char *sp)
{
    int rc = lasso_login_init_idp_initiated_authn_request(login, sp);
    if (rc != 0)
        return rc;
    LassoSamlp2AuthnRequest *req = LASSO_SAMLP2_AUTHN_REQUEST(LASSO_PROFILE(login)->request);
    g_free(req->ProtocolBinding);
    req->ProtocolBinding = g_strdup(LASSO_SAML2_METADATA_BINDING_POST);
    if (req->NameIDPolicy != NULL) { /* ours to choose: the app's format (name_id_policy) */
        g_free(req->NameIDPolicy->Format);
        req->NameIDPolicy->Format = NULL;
    }
    return lasso_login_process_authn_request_msg(login, NULL);
}

static int finish(LassoServer *server, LassoLogin *login, const char *relay, zt_saml_out *out)
{
    LassoProfile *prof = LASSO_PROFILE(login);
    lasso_profile_set_signature_hint(prof, LASSO_PROFILE_SIGNATURE_HINT_FORCE);
    g_free(prof->msg_relayState);
    prof->msg_relayState = relay && relay[0] ? g_strdup(relay) : NULL;
    int rc = lasso_login_build_authn_response_msg(login);
    if (rc != 0)
        return rc;
    if (!acs_known(server, prof->remote_providerID, prof->msg_url))
        return ZT_SAML_E_ACS; /* never post an assertion to a URL the SP did not publish */
    out->url = g_strdup(prof->msg_url);
    out->body = g_strdup(prof->msg_body);
    LassoSession *sess = lasso_profile_get_session(prof);
    out->session_dump = sess != NULL ? lasso_session_dump(sess) : NULL;
    copy_str(out->sp, sizeof(out->sp), prof->remote_providerID);
    return 0;
}

int zt_saml_authn_answer(LassoServer *server, const zt_saml_answer_in *in, zt_saml_out *out)
{
    memset(out, 0, sizeof(*out));
    LassoLogin *login = lasso_login_new(server);
    if (login == NULL)
        return -1;
    LassoProfile *prof = LASSO_PROFILE(login);
    if (in->session_dump != NULL)
        lasso_profile_set_session_from_dump(prof, in->session_dump);
    int rc =
        in->msg != NULL ? saml_read_authn_request(login, in->msg) : init_unsolicited(login, in->sp);
    if (rc == 0 && in->status == ZT_SAML_ST_SUCCESS)
        rc = build_success(login, in->subject, out);
    else if (rc == 0)
        rc = build_failure(login, in->status, out);
    rc = rc ? rc : finish(server, login, in->relay, out);
    lasso_login_destroy(login);
    if (rc != 0)
        zt_saml_out_dispose(out);
    return rc;
}

void zt_saml_out_dispose(zt_saml_out *out)
{
    g_free(out->url);
    g_free(out->body);
    g_free(out->session_dump);
    out->url = out->body = out->session_dump = NULL;
}

const char *zt_saml_strerror(int rc)
{
    if (rc == ZT_SAML_E_ACS)
        return "the AssertionConsumerService URL is not in the SP's metadata";
    return lasso_strerror(rc);
}

/* LeakSanitizer (ASan builds: `make asan`, the fuzzers): Lasso 2.8.1 (Debian 2.8.1-1+deb12u1)
 * leaks one 259-byte buffer each time it verifies the signature of an HTTP-Redirect binding
 * message (SigAlg/Signature in the query). Allocations made inside the two Lasso calls that read
 * an incoming message are therefore not leak-checked; everything else is, Lasso objects ztgate
 * forgets to free included. The hooks exist only in sanitizer builds (weak: NULL elsewhere). */
void __lsan_disable(void) __attribute__((weak));
void __lsan_enable(void) __attribute__((weak));

void zt_saml_lasso_leaks_begin(void)
{
    if (__lsan_disable != NULL)
        __lsan_disable();
}

void zt_saml_lasso_leaks_end(void)
{
    if (__lsan_enable != NULL)
        __lsan_enable();
}

/* Lasso reports through lasso_log(), and some of its checks of incoming messages log at
 * G_LOG_LEVEL_ERROR, which GLib makes fatal: a LogoutRequest without a NameID would abort the
 * gateway (found by fuzz_saml_request). ztgate's own lasso_log takes its place (Lasso calls it
 * through the PLT): every level becomes a warning or debug line and nothing aborts; Lasso then
 * returns its error code as usual and ztgate refuses the message. */
void lasso_log(GLogLevelFlags level, const char *filename, int line, const char *function,
               const char *format, ...) __attribute__((format(printf, 5, 6)));

void lasso_log(GLogLevelFlags level, const char *filename, int line, const char *function,
               const char *format, ...)
{
    (void)filename, (void)line;
    char text[512];
    va_list ap;
    va_start(ap, format);
    vsnprintf(text, sizeof(text), format, ap);
    va_end(ap);
    if ((level & (G_LOG_LEVEL_ERROR | G_LOG_LEVEL_CRITICAL)) != 0)
        zt_warn("saml: lasso: %s: %s", function ? function : "?", text);
    else
        zt_debug("saml: lasso: %s: %s", function ? function : "?", text);
}
