"""A hand-made SAML service provider for the protocol tests of ztgate's SAML IdP
(test_saml_protocol.py): its key, certificate and metadata, AuthnRequests and LogoutRequests in
the HTTP-Redirect binding (raw DEFLATE, base64, signature over the query with `openssl dgst`) and
the HTTP-POST binding (base64, enveloped XML signature with the `xmlsec1` CLI), and a reader of
the SAMLResponse ztgate posts back (signatures checked with `xmlsec1 --verify` against the
IdP's certificate from its metadata). Standard library plus the openssl and xmlsec1 commands.
"""
import base64
import datetime
import os
import re
import secrets
import subprocess
import urllib.parse
import zlib

from harness import check

NS = {"samlp": "urn:oasis:names:tc:SAML:2.0:protocol",
      "saml": "urn:oasis:names:tc:SAML:2.0:assertion"}
RSA_SHA256 = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"


def now_iso():
    return datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class SP:
    """entity_id, acs, slo; .key / .cert files; .metadata_path for ztgate's saml.metadata_file."""

    def __init__(self, h, name="sp1", signed=False, acs=None):
        self.h = h
        self.name = name
        self.entity_id = "https://%s.test/saml/metadata" % name
        self.acs = acs or "https://%s.test/saml/acs" % name
        self.slo = "https://%s.test/saml/slo" % name
        self.key, self.cert = self._keypair(name)
        self.metadata_path = h.path(name + "-metadata.xml")
        with open(self.metadata_path, "w") as f:
            f.write(self.metadata(signed))

    def _keypair(self, name):
        key, cert = self.h.path(name + ".key"), self.h.path(name + ".crt")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-keyout", key, "-out", cert, "-subj", "/CN=" + name],
                       check=True, capture_output=True)
        return key, cert

    def cert_body(self, path=None):
        with open(path or self.cert) as f:
            return "".join(f.read().strip().splitlines()[1:-1])

    def metadata(self, signed):
        return """<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{eid}">
 <md:SPSSODescriptor AuthnRequestsSigned="{signed}" WantAssertionsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="{slo}"/>
  <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
  <md:AssertionConsumerService index="0" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>
""".format(eid=self.entity_id, signed="true" if signed else "false", cert=self.cert_body(),
           slo=self.slo, acs=self.acs)

    def authn_request(self, destination, acs=None, issuer=None, force=False, passive=False,
                      name_id_format=None, req_id=None, extra_head="", extra_body=""):
        attrs = ""
        if force:
            attrs += ' ForceAuthn="true"'
        if passive:
            attrs += ' IsPassive="true"'
        if acs is not False:
            attrs += ' AssertionConsumerServiceURL="%s" ProtocolBinding="%s"' % (
                acs or self.acs, "urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST")
        policy = ""
        if name_id_format:
            policy = '<samlp:NameIDPolicy Format="%s" AllowCreate="true"/>' % name_id_format
        self.last_id = req_id or "_" + secrets.token_hex(16)
        return ('%s<samlp:AuthnRequest xmlns:samlp="%s" xmlns:saml="%s" ID="%s" Version="2.0" '
                'IssueInstant="%s" Destination="%s"%s><saml:Issuer>%s</saml:Issuer>%s%s'
                '</samlp:AuthnRequest>' % (extra_head, NS["samlp"], NS["saml"], self.last_id,
                                           now_iso(), destination, attrs, issuer or self.entity_id,
                                           policy, extra_body))

    def logout_request(self, destination, name_id, session_index, fmt):
        self.last_id = "_" + secrets.token_hex(16)
        return ('<samlp:LogoutRequest xmlns:samlp="%s" xmlns:saml="%s" ID="%s" Version="2.0" '
                'IssueInstant="%s" Destination="%s"><saml:Issuer>%s</saml:Issuer>'
                '<saml:NameID Format="%s">%s</saml:NameID><samlp:SessionIndex>%s'
                '</samlp:SessionIndex></samlp:LogoutRequest>'
                % (NS["samlp"], NS["saml"], self.last_id, now_iso(), destination,
                   self.entity_id, fmt, name_id, session_index))

    def logout_response(self, destination, in_response_to, status="Success"):
        return ('<samlp:LogoutResponse xmlns:samlp="%s" xmlns:saml="%s" ID="_%s" Version="2.0" '
                'IssueInstant="%s" Destination="%s" InResponseTo="%s"><saml:Issuer>%s'
                '</saml:Issuer><samlp:Status><samlp:StatusCode Value="urn:oasis:names:tc:SAML:'
                '2.0:status:%s"/></samlp:Status></samlp:LogoutResponse>'
                % (NS["samlp"], NS["saml"], secrets.token_hex(16), now_iso(), destination,
                   in_response_to, self.entity_id, status))

    # ---- bindings

    def redirect_query(self, xml, relay=None, sign=False, key=None, field="SAMLRequest"):
        """The HTTP-Redirect query: raw DEFLATE + base64; signed over the encoded values."""
        c = zlib.compressobj(9, zlib.DEFLATED, -15)
        raw = c.compress(xml.encode()) + c.flush()
        q = field + "=" + urllib.parse.quote(base64.b64encode(raw).decode(), safe="")
        if relay is not None:
            q += "&RelayState=" + urllib.parse.quote(relay, safe="")
        if sign:
            q += "&SigAlg=" + urllib.parse.quote(RSA_SHA256, safe="")
            sig = subprocess.run(["openssl", "dgst", "-sha256", "-sign", key or self.key],
                                 input=q.encode(), capture_output=True, check=True).stdout
            q += "&Signature=" + urllib.parse.quote(base64.b64encode(sig).decode(), safe="")
        return q

    def post_form(self, xml, relay=None, sign=False, key=None):
        """The HTTP-POST binding's form fields (an enveloped signature by xmlsec1 when sign)."""
        if sign:
            xml = self.xml_sign(xml, key or self.key)
        fields = {"SAMLRequest": base64.b64encode(xml.encode()).decode()}
        if relay is not None:
            fields["RelayState"] = relay
        return fields

    def xml_sign(self, xml, key):
        """Insert a signature template after the Issuer and sign it with xmlsec1."""
        m = re.search(r' ID="([^"]+)"', xml)
        tmpl = ('<ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignedInfo>'
                '<ds:CanonicalizationMethod Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
                '<ds:SignatureMethod Algorithm="%s"/><ds:Reference URI="#%s"><ds:Transforms>'
                '<ds:Transform Algorithm="http://www.w3.org/2000/09/xmldsig#enveloped-signature"/>'
                '<ds:Transform Algorithm="http://www.w3.org/2001/10/xml-exc-c14n#"/>'
                '</ds:Transforms><ds:DigestMethod Algorithm="http://www.w3.org/2001/04/xmlenc#sha256"/>'
                '<ds:DigestValue/></ds:Reference></ds:SignedInfo><ds:SignatureValue/>'
                '</ds:Signature>' % (RSA_SHA256, m.group(1)))
        xml = xml.replace("</saml:Issuer>", "</saml:Issuer>" + tmpl, 1)
        src = self.h.path("tosign-%s.xml" % secrets.token_hex(4))
        with open(src, "w") as f:
            f.write(xml)
        root = re.match(r"<samlp:(\w+)", xml).group(1)
        r = subprocess.run(["xmlsec1", "--sign", "--privkey-pem", key, "--id-attr:ID",
                            "urn:oasis:names:tc:SAML:2.0:protocol:" + root, src],
                           capture_output=True, text=True)
        check(r.returncode == 0, "xmlsec1 --sign: %s" % r.stderr)
        return r.stdout


def post_page_fields(body):
    """(action, {field: value}) of ztgate's auto-POST page."""
    text = body.decode()
    action = re.search(r'<form id="saml-post" method="post" action="([^"]+)"', text)
    check(action, "no SAML post form in:\n%s" % text[:2000])
    fields = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)"', text))
    unesc = lambda s: (s.replace("&quot;", '"').replace("&#39;", "'").replace("&lt;", "<")
                       .replace("&gt;", ">").replace("&amp;", "&"))
    return unesc(action.group(1)), {k: unesc(v) for k, v in fields.items()}


def idp_cert_pem(h, metadata_xml):
    body = re.search(r"<ds:X509Certificate>([^<]+)</ds:X509Certificate>", metadata_xml).group(1)
    path = h.path("idp-cert-%s.pem" % secrets.token_hex(4))
    with open(path, "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\n")
        for i in range(0, len(body), 64):
            f.write(body[i:i + 64] + "\n")
        f.write("-----END CERTIFICATE-----\n")
    return path


def verify(h, xml, cert_pem, node):
    """xmlsec1 --verify of the signature on `node` (Response or Assertion) with the IdP's
    certificate as the only trusted key; True when valid."""
    path = h.path("verify-%s.xml" % secrets.token_hex(4))
    with open(path, "w") as f:
        f.write(xml)
    ns = NS["samlp"] if node == "Response" else NS["saml"]
    r = subprocess.run(["xmlsec1", "--verify", "--pubkey-cert-pem", cert_pem,
                        "--id-attr:ID", "%s:%s" % (ns, node), "--enabled-reference-uris",
                        "same-doc", "--node-xpath",
                        "/*[local-name()='Response']/*[local-name()='Signature']" if node ==
                        "Response" else "//*[local-name()='Assertion']/*[local-name()='Signature']",
                        path], capture_output=True, text=True)
    return r.returncode == 0
