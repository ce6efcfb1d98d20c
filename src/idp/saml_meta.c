/* The IdP's SAML metadata (saml-metadata-2.0-os): what an SP imports to trust us. Pure: from
 * the entity id, the portal's base URL and the certificate, so it is unit-tested as text and
 * Lasso builds its own LassoServer from the very same document. */
#include <errno.h>
#include <string.h>

#include "http/pages.h"
#include "idp/saml.h"

#define BINDING_REDIRECT "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
#define BINDING_POST "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"

int zt_saml_pem_body(zt_buf *out, const char *pem)
{
    const char *begin = strstr(pem, "-----BEGIN CERTIFICATE-----");
    const char *end = begin ? strstr(begin, "-----END CERTIFICATE-----") : NULL;
    if (end == NULL)
        return -EINVAL;
    int rc = 0;
    for (const char *p = begin + strlen("-----BEGIN CERTIFICATE-----"); p < end && rc == 0; p++)
        if (*p != '\n' && *p != '\r' && *p != ' ' && *p != '\t')
            rc = zt_buf_append_char(out, *p);
    return rc;
}

/* `<md:TAG Binding="B" Location="BASE PATH"/>` */
static int endpoint(zt_buf *b, const char *tag, const char *binding, const char *base,
                    const char *path)
{
    int rc = zt_buf_printf(b, "<md:%s Binding=\"%s\" Location=\"", tag, binding);
    rc = rc ? rc : zt_html_escape(b, base);
    rc = rc ? rc : zt_buf_append_str(b, path);
    return rc ? rc : zt_buf_append_str(b, "\"/>");
}

static int key_descriptor(zt_buf *b, const char *cert_pem)
{
    int rc = zt_buf_append_str(b, "<md:KeyDescriptor use=\"signing\"><ds:KeyInfo><ds:X509Data>"
                                  "<ds:X509Certificate>");
    rc = rc ? rc : zt_saml_pem_body(b, cert_pem);
    return rc ? rc
              : zt_buf_append_str(b, "</ds:X509Certificate></ds:X509Data></ds:KeyInfo>"
                                     "</md:KeyDescriptor>");
}

int zt_saml_metadata(zt_buf *b, const zt_saml_meta_in *in)
{
    int rc = zt_buf_append_str(b, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
                                  "<md:EntityDescriptor "
                                  "xmlns:md=\"urn:oasis:names:tc:SAML:2.0:metadata\" "
                                  "xmlns:ds=\"http://www.w3.org/2000/09/xmldsig#\" entityID=\"");
    rc = rc ? rc : zt_html_escape(b, in->entity_id);
    rc = rc ? rc
            : zt_buf_printf(b,
                            "\"><md:IDPSSODescriptor WantAuthnRequestsSigned=\"%s\" "
                            "protocolSupportEnumeration=\"urn:oasis:names:tc:SAML:2.0:protocol\">",
                            in->want_signed ? "true" : "false");
    rc = rc ? rc : key_descriptor(b, in->cert_pem);
    rc = rc ? rc : endpoint(b, "SingleLogoutService", BINDING_REDIRECT, in->base_url, ZT_SAML_SLO);
    rc = rc ? rc : endpoint(b, "SingleLogoutService", BINDING_POST, in->base_url, ZT_SAML_SLO);
    rc = rc ? rc
            : zt_buf_append_str(b, "<md:NameIDFormat>" ZT_SAML_FMT_EMAIL "</md:NameIDFormat>"
                                   "<md:NameIDFormat>" ZT_SAML_FMT_PERSISTENT "</md:NameIDFormat>");
    rc = rc ? rc : endpoint(b, "SingleSignOnService", BINDING_REDIRECT, in->base_url, ZT_SAML_SSO);
    rc = rc ? rc : endpoint(b, "SingleSignOnService", BINDING_POST, in->base_url, ZT_SAML_SSO);
    return rc ? rc : zt_buf_append_str(b, "</md:IDPSSODescriptor></md:EntityDescriptor>\n");
}
