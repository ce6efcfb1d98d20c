"""A stand-in SAML 2.0 IdP on Lasso (Debian python3-lasso, the library ztgate's IdP uses), so
test_oidc_peers_selfcheck.py can show the mod_auth_mellon SP of apache.py signs in and out for
real, before ztgate's IdP exists. Not a test of anything but the harness.

    /usr/bin/python3 saml_idp.py '{"port": N, "host": "idp.test", "tls_cert": F, "tls_key": F,
        "sign_cert": F, "sign_key": F, "sp_metadata": F, "metadata_out": F,
        "user": "alice@example.test"}'

Writes its metadata to metadata_out (entityID https://HOST:PORT/metadata, SSO and SLO with the
HTTP-Redirect binding, WantAuthnRequestsSigned), prints "PORT N" when it listens, then:
  GET /sso?SAMLRequest=..   verifies the AuthnRequest (signature by the SP's metadata) and
                            answers the auto-posting form of a signed Response (NameID = user,
                            email format; attributes mail, displayName) to the SP's ACS;
  GET /slo?SAMLRequest=..   verifies the LogoutRequest, ends the session, redirects to the SP
                            with a signed LogoutResponse.
There is no sign-in page: every AuthnRequest is answered for `user`.
"""
import html
import http.server
import json
import ssl
import sys
import time
import urllib.parse

import lasso

METADATA = """<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata"
    xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="{base}/metadata">
  <IDPSSODescriptor WantAuthnRequestsSigned="true"
      protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data>
      <ds:X509Certificate>{cert}</ds:X509Certificate>
    </ds:X509Data></ds:KeyInfo></KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/slo"/>
    <NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</NameIDFormat>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect"
        Location="{base}/sso"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""

opts = json.loads(sys.argv[1])
base = "https://%s:%d" % (opts["host"], opts["port"])
with open(opts["sign_cert"]) as f:
    cert_b64 = "".join(f.read().strip().splitlines()[1:-1])
with open(opts["metadata_out"], "w") as f:
    f.write(METADATA.format(base=base, cert=cert_b64))

sessions = {}  # NameID -> Lasso session dump, for single logout


def server():
    s = lasso.Server(opts["metadata_out"], opts["sign_key"], None, opts["sign_cert"])
    s.signatureMethod = lasso.SIGNATURE_METHOD_RSA_SHA256
    s.addProvider(lasso.PROVIDER_ROLE_SP, opts["sp_metadata"])
    return s


def text_value(s):
    node = lasso.MiscTextNode.newWithString(s)
    node.textChild = True
    v = lasso.Saml2AttributeValue()
    v.any = [node]
    return v


def attribute(name, value):
    a = lasso.Saml2Attribute()
    a.name = name
    a.nameFormat = lasso.SAML2_ATTRIBUTE_NAME_FORMAT_BASIC
    a.attributeValue = [text_value(value)]
    return a


def sso(query):
    login = lasso.Login(server())
    login.processAuthnRequestMsg(query)
    login.validateRequestMsg(True, True)
    nid = lasso.Saml2NameID()
    nid.format = lasso.SAML2_NAME_IDENTIFIER_FORMAT_EMAIL
    nid.content = opts["user"]
    login.nameIdentifier = nid
    now = time.time()
    iso = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))  # noqa: E731
    login.buildAssertion(lasso.SAML2_AUTHN_CONTEXT_PASSWORD_PROTECTED_TRANSPORT, iso(now),
                         None, iso(now - 60), iso(now + 300))
    # buildAssertion takes the NameID of the federation Lasso made (empty for the email
    # format, which it cannot make up): put the user's in the assertion itself.
    login.assertion.subject.nameID = nid
    st = lasso.Saml2AttributeStatement()
    st.attribute = [attribute("mail", opts["user"]), attribute("displayName", "Alice Test")]
    login.assertion.attributeStatement = [st]
    login.buildAuthnResponseMsg()
    if login.session:
        sessions[opts["user"]] = login.session.dump()
    fields = '<input type="hidden" name="SAMLResponse" value="%s">' % html.escape(login.msgBody)
    if login.msgRelayState:
        fields += '<input type="hidden" name="RelayState" value="%s">' % html.escape(
            login.msgRelayState)
    return ("<!doctype html><html><body onload=\"document.forms[0].submit()\">"
            "<form method=\"post\" action=\"%s\">%s<noscript><button>Continue</button>"
            "</noscript></form></body></html>" % (html.escape(login.msgUrl), fields))


def slo(query):
    logout = lasso.Logout(server())
    logout.processRequestMsg(query)
    dump = sessions.pop(opts["user"], None)
    if dump:
        logout.setSessionFromDump(dump)
    try:
        logout.validateRequest()
    except lasso.Error as e:  # no session here: the Response still says so, signed
        sys.stderr.write("saml-idp: logout: %s\n" % e)
    logout.buildResponseMsg()
    return logout.msgUrl


class Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        path, _, query = self.path.partition("?")
        try:
            if path == "/sso":
                body = sso(query).encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            elif path == "/slo":
                self.send_response(302)
                self.send_header("Location", slo(query))
                self.send_header("Content-Length", "0")
                self.end_headers()
            else:
                self.send_error(404)
        except lasso.Error as e:
            sys.stderr.write("saml-idp: %s %s: %s\n" % (path, urllib.parse.unquote(query)[:200], e))
            self.send_error(400, "SAML error: %s" % e)

    def log_message(self, fmt, *args):
        sys.stderr.write("saml-idp: " + (fmt % args) + "\n")


httpd = http.server.ThreadingHTTPServer(("127.0.0.1", opts["port"]), Handler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(opts["tls_cert"], opts["tls_key"])
httpd.socket = ctx.wrap_socket(httpd.socket, server_side=True)
print("PORT %d" % opts["port"], flush=True)
httpd.serve_forever()
