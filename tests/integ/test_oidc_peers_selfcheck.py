"""The OpenID Connect relying parties of the harness work: Apache httpd with mod_auth_openidc
(tests/integ/apache.py) and the openid-client app (tests/integ/oidc_rp, oidc_peers.OidcRp) each
sign a person in through npm oidc-provider (a stand-in OP on https with the test's certificate,
tests/integ/oidc_op), in Chromium. Then the openid-client app refreshes, reads userinfo,
introspects, revokes, and the OP's back-channel logout reaches both RPs after an RP-initiated
logout. The tests of ztgate's OP use these same peers; if this test fails, theirs say nothing."""
import json
import re

import apache
from browser import Chromium, make_cert
from harness import check, eq, free_port, timeout, wait_until
from oidc_peers import OidcProvider, OidcRp, make_client_key

USER = "alice@example.test"


def _clients(ap, rp_port, jwt_port, jwks_file):
    rp_base = "http://rp.test:%d" % rp_port
    with open(jwks_file) as f:
        jwks = json.load(f)
    # Back-channel logout URIs by address (as a test of ztgate, which cannot resolve test host
    # names, must register them).
    return [
        {"client_id": "apache", "client_secret": "apache-secret-1",
         "token_endpoint_auth_method": "client_secret_basic",
         "redirect_uris": [ap.redirect_uri], "post_logout_redirect_uris": [ap.url("/loggedout")],
         "backchannel_logout_uri": ap.backchannel_uri_loopback,
         "backchannel_logout_session_required": True, "grant_types": ["authorization_code"]},
        {"client_id": "node-rp", "client_secret": "node-rp-secret-1",
         "token_endpoint_auth_method": "client_secret_basic",
         "redirect_uris": [rp_base + "/cb"], "post_logout_redirect_uris": [rp_base + "/logged-out"],
         "backchannel_logout_uri": "http://127.0.0.1:%d/bcl" % rp_port,
         "backchannel_logout_session_required": True,
         "grant_types": ["authorization_code", "refresh_token"]},
        {"client_id": "node-rp-jwt", "token_endpoint_auth_method": "private_key_jwt",
         "jwks": jwks, "redirect_uris": ["https://rp2.test:%d/cb" % jwt_port],
         "grant_types": ["authorization_code"]},
    ]


def _sign_in_at_op(tab, page, what):
    """oidc-provider's devInteractions page: any login and password."""
    check("/interaction/" in page.url, "%s: the OP's sign-in page, not %s\n%s"
          % (what, page.url, page.text[:400]))
    return tab.submit(what + "-op-login", button="button[type=submit]", login=USER,
                      password="anything")


@timeout(120)
def test_oidc_peers_selfcheck(h):
    cert, key, spki = make_cert(h, ["op.test"], name="op-tls")
    rp2_cert, rp2_key, rp2_spki = make_cert(h, ["rp2.test"], name="rp2-tls")
    op_port, rp_port, jwt_port = free_port(), free_port(), free_port()
    issuer = "https://op.test:%d" % op_port
    ap = apache.openidc(h, issuer, "apache", "apache-secret-1", ca_file=cert, start=False)
    jwk, jwks_file = make_client_key(h, "node-rp-jwt", "ES256")
    op = OidcProvider(h, _clients(ap, rp_port, jwt_port, jwks_file), cert=cert, key=key,
                      port=op_port, rp_ca_file=ap.cert)
    eq(op.issuer, issuer, "issuer")
    ap.start(ap.conf_lines)
    rp = OidcRp(h, issuer, "node-rp", "node-rp-secret-1", ca_file=cert, port=rp_port)

    rp_jwt = OidcRp(h, issuer, "node-rp-jwt", auth="private_key_jwt", private_key_jwk=jwk,
                    ca_file=cert, port=jwt_port, host="rp2.test", tls=(rp2_cert, rp2_key),
                    name="oidc-rp-jwt")

    browser = Chromium(h, spki=[spki, ap.spki, rp2_spki], name="oidc-peers-selfcheck")
    tab = browser.context()

    # 1. Apache: /protected/ sends the browser to the OP; after signing in, the CGI sees the
    #    user (REMOTE_USER = email claim) and the claims.
    p = tab.goto(ap.url("/protected/"), "apache-to-op")
    p = _sign_in_at_op(tab, p, "apache")
    eq((p.status, p.url.split("?")[0]), (200, ap.url("/protected/")), "apache after sign-in\n" +
       p.text[:400] + "\n" + ap.logs())
    env = json.loads(p.text)
    eq(env.get("REMOTE_USER"), USER, "apache REMOTE_USER")
    eq(env.get("OIDC_CLAIM_email"), USER, "apache OIDC_CLAIM_email")
    eq(env.get("OIDC_CLAIM_iss"), issuer, "apache OIDC_CLAIM_iss")
    check(any("CONNECT op.test:%d" % op_port in x for x in ap.proxy.log),
          "apache reached the OP through the host-map proxy: %r" % ap.proxy.log)

    # 2. openid-client: the same browser has an OP session now: no sign-in page; PKCE, state,
    #    nonce and the ID token are checked by the library.
    p = tab.goto(rp.login_url(), "node-rp")
    if "/interaction/" in p.url:
        p = _sign_in_at_op(tab, p, "node-rp")
    eq(p.status, 200, "openid-client callback: %s" % p.text[:600])
    got = json.loads(p.text)
    eq((got["claims"]["sub"], got["claims"]["iss"], got["claims"]["aud"]),
       (USER, issuer, "node-rp"), "ID token claims seen by openid-client")
    eq(got["userinfo"]["email"], USER, "userinfo through openid-client")
    st = rp.state()
    check(st["tokens"].get("refresh_token"), "a refresh token: %r" % st["tokens"])

    # 2b. private_key_jwt at the token endpoint, from an RP served on https.
    p = tab.goto(rp_jwt.login_url(), "node-rp-private-key-jwt")
    eq((p.status, p.url.split("?")[0]), (200, rp_jwt.redirect_uri),
       "private_key_jwt callback: %s" % p.text[:600])
    eq(json.loads(p.text)["claims"]["aud"], "node-rp-jwt", "ID token of the private_key_jwt RP")

    # 3. Refresh, introspection, revocation through the library.
    status, ref = rp.get("/refresh")
    eq(status, 200, "refresh: %r" % ref)
    status, intro = rp.get("/introspect")
    eq((status, intro.get("active"), intro.get("client_id")), (200, True, "node-rp"),
       "introspection of the access token")
    eq(rp.get("/revoke")[0], 200, "revocation")
    status, intro = rp.get("/introspect")
    eq((status, intro.get("active")), (200, False), "introspection after revocation")

    # 3b. A refusal reaches the RP as an error it reports: another browser cancels at the OP.
    other = browser.context("other")
    p = other.goto(rp.login_url(), "node-rp-cancel")
    p = other.click("a[href*='/abort']", "node-rp-cancelled")
    eq((p.status, json.loads(p.text).get("error")), (400, "access_denied"),
       "the RP shows the OP's access_denied: %s" % p.text[:300])
    eq(rp.state()["error"]["where"], "cb", "the error is kept in /state")
    other.close()

    # 4. RP-initiated logout from the openid-client app: the OP asks to confirm, then sends
    #    logout tokens to both RPs' back-channel URIs; Apache's session is gone.
    p = tab.goto(rp.base + "/logout", "end-session")
    if "logout" in p.url and "/logged-out" not in p.url:
        p = tab.submit("end-session-confirm", button="button[name=logout]")
    check(p.url.startswith(rp.base + "/logged-out"), "back at the RP after logout: %s\n%s"
          % (p.url, p.text[:400]))
    wait_until(lambda: rp.state()["backchannel"], 10)
    bcl = rp.state()["backchannel"]
    eq(len(bcl), 1, "one verified logout token at the openid-client app: %r" % rp.state())
    eq((bcl[0]["sub"], bcl[0]["sid"] == got["claims"].get("sid")), (USER, True),
       "logout token names the user and the session of the ID token")
    check(wait_until(lambda: re.search(r"POST /protected/redirect_uri\?logout=backchannel\S* "
                                       r"HTTP/1.1\" 200", _access(ap)), 10),
          "apache accepted the back-channel logout:\n" + ap.logs())
    p = tab.goto(ap.url("/protected/"), "apache-after-logout")
    check("/interaction/" in p.url, "apache's session ended by back-channel logout: %s" % p.url)


def _access(ap):
    try:
        with open(ap.dir + "/access.log") as f:
            return f.read()
    except FileNotFoundError:
        return ""


IDP_METADATA = """<?xml version="1.0"?>
<EntityDescriptor xmlns="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://idp.test:{port}/.ztgate/saml/metadata">
  <IDPSSODescriptor WantAuthnRequestsSigned="true" protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
    <KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{cert}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></KeyDescriptor>
    <SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test:{port}/.ztgate/saml/slo"/>
    <SingleSignOnService Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Redirect" Location="https://idp.test:{port}/.ztgate/saml/sso"/>
  </IDPSSODescriptor>
</EntityDescriptor>
"""


@timeout(60)
def test_mellon_sp_selfcheck(h):
    """Apache with mod_auth_mellon starts from the harness's SP key, certificate and metadata
    and an IdP's metadata (here a made-up IdP: no SAML IdP stand-in exists), and /secret/ sends
    the browser to the IdP's SSO URL with an AuthnRequest signed (Redirect binding, RSA-SHA256)
    by the key whose certificate is in the SP metadata a test gives ztgate."""
    import base64
    import subprocess
    import urllib.parse
    import zlib
    sp = apache.mellon(h)
    with open(sp.sp_metadata_path) as f:
        md = f.read()
    check(('entityID="%s"' % sp.entity_id) in md and sp.acs_url in md, "SP metadata:\n" + md)
    idp_key, idp_cert = h.path("idp.key"), h.path("idp.crt")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-keyout", idp_key, "-out", idp_cert, "-subj", "/CN=idp.test"],
                   check=True, capture_output=True)
    with open(idp_cert) as f:
        body = "".join(f.read().strip().splitlines()[1:-1])
    idp_md = h.path("idp-metadata.xml")
    with open(idp_md, "w") as f:
        f.write(IDP_METADATA.format(port=8443, cert=body))
    sp.start_with_idp(idp_md)

    status, headers, _ = apache.fetch(sp, "/secret/")
    eq(status, 303, "mellon sends an unauthenticated request to its login:\n" + sp.logs())
    check(headers["location"].startswith(sp.url("/mellon/login?")), headers["location"])
    cookie = headers.get("set-cookie", "").split(";")[0]
    status, headers, _ = apache.fetch(sp, headers["location"][len(sp.url("")):], cookie)
    eq(status, 303, "mellon's login sends the browser to the IdP:\n" + sp.logs())
    loc = headers["location"]
    check(loc.startswith("https://idp.test:8443/.ztgate/saml/sso?"), "to the IdP's SSO: " + loc)
    raw = loc.split("?", 1)[1]
    q = urllib.parse.parse_qs(raw)
    eq(q["SigAlg"], ["http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"], "SigAlg")
    req = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    check('AssertionConsumerServiceURL="%s"' % sp.acs_url in req and sp.entity_id in req,
          "AuthnRequest names the ACS and the SP:\n" + req)
    # The Redirect-binding signature covers SAMLRequest=..&RelayState=..&SigAlg=.. as sent.
    signed = "&".join(p for p in raw.split("&") if not p.startswith("Signature="))
    sig = h.path("sig.bin")
    with open(sig, "wb") as f:
        f.write(base64.b64decode(q["Signature"][0]))
    pub = subprocess.run(["openssl", "x509", "-in", sp.sp_cert, "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    with open(h.path("sp.pub"), "wb") as f:
        f.write(pub)
    res = subprocess.run(["openssl", "dgst", "-sha256", "-verify", h.path("sp.pub"),
                          "-signature", sig], input=signed.encode(), capture_output=True)
    eq(res.returncode, 0, "AuthnRequest signature verifies with the SP metadata's certificate: %r"
       % (res.stdout + res.stderr))
    status, headers, body = apache.fetch(sp, "/mellon/metadata")
    eq(status, 200, "mellon serves its metadata")
    check(sp.entity_id.encode() in body, "served metadata is the harness's")


@timeout(90)
def test_apache_private_key_jwt_selfcheck(h):
    """mod_auth_openidc authenticates at the token endpoint with private_key_jwt: the OP reads
    its public key from the JWKS Apache publishes (.jwks_uri), the sign-in completes."""
    cert, key, spki = make_cert(h, ["op.test"], name="op-tls")
    op_port = free_port()
    issuer = "https://op.test:%d" % op_port
    ap = apache.openidc(h, issuer, "apache-jwt", ca_file=cert, auth="private_key_jwt",
                        start=False)
    client = {"client_id": "apache-jwt", "token_endpoint_auth_method": "private_key_jwt",
              "token_endpoint_auth_signing_alg": "RS256", "jwks_uri": ap.jwks_uri,
              "redirect_uris": [ap.redirect_uri], "grant_types": ["authorization_code"]}
    OidcProvider(h, [client], cert=cert, key=key, port=op_port, rp_ca_file=ap.cert)
    ap.start(ap.conf_lines)
    status, _, body = apache.fetch(ap, ap.jwks_uri[len(ap.url("")):])
    eq(status, 200, "apache publishes its JWKS")
    jwks = json.loads(body)
    eq([k.get("kid") for k in jwks["keys"]], ["apache-client-key"], "apache's JWKS: %r" % jwks)
    tab = Chromium(h, spki=[spki, ap.spki], name="oidc-peers-apache-jwt").context()
    p = tab.goto(ap.url("/protected/"), "apache-jwt-to-op")
    p = _sign_in_at_op(tab, p, "apache-jwt")
    eq((p.status, p.url.split("?")[0]), (200, ap.url("/protected/")),
       "apache (private_key_jwt) after sign-in\n" + p.text[:400] + "\n" + ap.logs())
    eq(json.loads(p.text).get("REMOTE_USER"), USER, "REMOTE_USER")


@timeout(90)
def test_mellon_sso_selfcheck(h):
    """mod_auth_mellon signs in and out for real through a SAML IdP built on Lasso (the library
    ztgate's IdP uses; tests/integ/saml_idp.py): the IdP verifies the SP's signed AuthnRequest
    against the harness's SP metadata, its signed Response is auto-posted cross-site to the ACS
    (the SameSite=None cookies of mellon must survive that), the CGI sees the NameID and the
    attributes; SP-initiated single logout ends the SP session."""
    sp = apache.mellon(h)
    idp = apache.LassoIdp(h, sp.sp_metadata_path, USER)
    sp.start_with_idp(idp.metadata_path)
    tab = Chromium(h, spki=[sp.spki, idp.spki], name="oidc-peers-mellon").context()
    tab.goto(sp.url("/secret/"), "mellon-sso")
    p = apache.wait_page(tab, sp.url("/secret/"))
    eq(p["url"].split("?")[0], sp.url("/secret/"),
       "mellon after the IdP's POST\n%s\n%s\n%s" % (p["text"][:400], sp.logs(),
                                                   idp.proc.stderr_text()[-2000:]))
    env = json.loads(p["text"])
    eq((env.get("REMOTE_USER"), env.get("MELLON_mail"), env.get("AUTH_TYPE")),
       (USER, USER, "Mellon"), "mellon's user and attributes: %r" % env)
    eq(idp.sso_count(), 1, "one AuthnRequest")
    p = tab.goto(sp.url("/secret/"), "mellon-session")
    eq((p.status, idp.sso_count()), (200, 1), "the SP session holds: no second AuthnRequest")
    p = tab.goto(sp.logout_url(), "mellon-slo")
    check(p.url.startswith(sp.url("/loggedout")), "back at the SP after single logout: %s\n%s"
          % (p.url, sp.logs()))
    check("logout:" not in idp.proc.stderr_text(), "the IdP accepted the LogoutRequest for its "
          "session:\n" + idp.proc.stderr_text()[-1500:])
    tab.goto(sp.url("/secret/"), "mellon-after-slo")
    p = apache.wait_page(tab, sp.url("/secret/"))
    eq((p["url"], idp.sso_count()), (sp.url("/secret/"), 2),
       "after logout the SP asks the IdP again")
