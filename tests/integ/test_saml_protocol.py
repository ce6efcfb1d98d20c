"""ztgate's SAML 2.0 identity provider at the protocol level, against a hand-made SP
(saml_sp.py): metadata, SP-initiated SSO over HTTP-Redirect and HTTP-POST, IdP-initiated SSO,
the signed Response (xmlsec1 checks the assertion's and the response's signatures with the
certificate from the metadata), NameID email and persistent, attributes, ForceAuthn, IsPassive,
single logout, and every bad input of issue 13: unsigned where signing is required, a wrong
key, a tampered request, an unknown issuer, an ACS URL outside the metadata, DTD/entities,
huge and malformed messages - each a 4xx with a log line, never a crash and never a Response.
The real SP (Apache mod_auth_mellon in Chromium) is test_saml_mellon.py."""
import base64
import calendar
import json
import os
import re
import subprocess
import time
import urllib.parse
import zlib

from harness import check, eq, free_port
from portal_client import EMAIL, Browser, add_user, sign_in
from saml_sp import SP, idp_cert_pem, post_page_fields, verify

PORTAL = "auth.test"
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def _gateway(h, sps, extra_apps=(), policies=None, groups=("staff",), audit=False):
    apps = [{"name": sp.name, "kind": "saml", "sensitivity": "internal",
             "saml": dict({"metadata_file": sp.metadata_path}, **getattr(sp, "cfg", {}))}
            for sp in sps]
    up = h.upstream()
    apps.append(h.app(up, sensitivity="internal"))
    extra = {"auth": {"portal_host": PORTAL, "mfa": "optional", "argon2_passes": 2,
                      "argon2_memory": "19MiB"}}
    if policies:
        extra["policies"] = policies
    cfg = h.config(apps + list(extra_apps), extra=extra)
    if audit:
        cfg["audit"] = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    gw = h.gateway(cfg)
    add_user(h, gw, groups=groups)
    gw.base = "http://%s:%d" % (PORTAL, gw.port)
    return gw


def _metadata(gw):
    b = Browser(gw.port, host=PORTAL)
    r = b.get("/.ztgate/saml/metadata")
    eq(r.status, 200, "metadata")
    return r, r.body.decode()


def _signed_in(gw):
    b = Browser(gw.port, host=PORTAL)
    r = sign_in(b)
    eq(r.status, 303, "sign-in")
    return b


def _response_xml(fields):
    return base64.b64decode(fields["SAMLResponse"]).decode()


def _follow_to_post(b, r, limit=6):
    """Follow 303s on the portal host until the auto-POST page."""
    for _ in range(limit):
        if r.status != 303:
            break
        loc = r.header("Location")
        path = urllib.parse.urlsplit(loc)
        r = b.get(path.path + ("?" + path.query if path.query else ""))
    return r


def _when(xml, pattern):
    m = re.search(pattern, xml)
    check(m, "%s missing in %s" % (pattern, xml[:600]))
    return calendar.timegm(time.strptime(m.group(1), "%Y-%m-%dT%H:%M:%SZ"))


def _check_validity(xml):
    """The assertion expires: NotBefore now-1min and NotOnOrAfter now+5min in Conditions, the
    same NotOnOrAfter on the bearer confirmation, SessionNotOnOrAfter = the session's end (a new
    session: the default 12 h absolute lifetime). Wide margins: only the presence and the
    order of magnitude are checked, not the clock."""
    now = time.time()
    nb = _when(xml, r'<saml:Conditions[^>]* NotBefore="([^"]+)"')
    na = _when(xml, r'<saml:Conditions[^>]* NotOnOrAfter="([^"]+)"')
    eq(na - nb, 360, "Conditions window: 1 min before .. 5 min after")
    check(abs(nb + 60 - now) < 120, "NotBefore near now")
    eq(_when(xml, r'<saml:SubjectConfirmationData[^>]* NotOnOrAfter="([^"]+)"'), na,
       "the bearer confirmation expires with the assertion")
    sess = _when(xml, r'<saml:AuthnStatement[^>]* SessionNotOnOrAfter="([^"]+)"')
    check(abs(sess - (now + 12 * 3600)) < 600, "SessionNotOnOrAfter: the session's expiry")


def test_saml_metadata(h):
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp])
    r, xml = _metadata(gw)
    eq(r.header("Content-Type"), "application/samlmetadata+xml", "media type")
    eid = "%s/.ztgate/saml/metadata" % gw.base
    check('entityID="%s"' % eid in xml, "entityID %s in %s" % (eid, xml[:300]))
    for binding in ("HTTP-Redirect", "HTTP-POST"):
        for svc, path in (("SingleSignOnService", "sso"), ("SingleLogoutService", "slo")):
            want = ('<md:%s Binding="urn:oasis:names:tc:SAML:2.0:bindings:%s" Location="%s/'
                    '.ztgate/saml/%s"/>' % (svc, binding, gw.base, path))
            check(want in xml, "%s missing" % want)
    check('WantAuthnRequestsSigned="false"' in xml, "no SP requires signed requests")
    check("nameid-format:emailAddress" in xml and "nameid-format:persistent" in xml, "formats")
    key = os.path.join(h.dir, "state", "idp-saml.key")
    eq(oct(os.stat(key).st_mode & 0o777), "0o600", "key file mode")
    out = h.cli("check-config", "--config", gw.config_path)  # metadata also parses for Lasso
    eq(out.returncode, 0, "check-config")


def test_saml_sp_initiated_redirect(h):
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp])
    _, md = _metadata(gw)
    b = Browser(gw.port, host=PORTAL)
    q = sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso"), relay="/after")
    r = b.get("/.ztgate/saml/sso?" + q)
    eq(r.status, 303, "no session: to the sign-in page")
    loc = r.header("Location")
    check(loc.startswith("/.ztgate/login?rd=%2F.ztgate%2Fsaml%2Fsso%3Fresume%3D"), loc)
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["rd"][0]
    r = sign_in(b, rd=rd)
    r = _follow_to_post(b, r)
    eq(r.status, 200, "the auto-POST page")
    csp = r.header("Content-Security-Policy")
    check("form-action %s;" % sp.acs in csp, "form-action is the ACS: %s" % csp)
    check("script-src 'self'" in csp and "unsafe-inline" not in csp.split("script-src")[1]
          .split(";")[0], csp)
    action, fields = post_page_fields(r.body)
    eq(action, sp.acs, "posted to the ACS")
    eq(fields.get("RelayState"), "/after", "RelayState back unchanged")
    xml = _response_xml(fields)
    check('InResponseTo="%s"' % sp.last_id in xml, "InResponseTo")
    check("urn:oasis:names:tc:SAML:2.0:status:Success" in xml, "Success")
    check(re.search(r'<saml:NameID[^>]*Format="urn:oasis:names:tc:SAML:1.1:nameid-format:'
                    r'emailAddress"[^>]*>%s</saml:NameID>' % re.escape(EMAIL), xml), xml)
    check("<saml:Audience>%s</saml:Audience>" % sp.entity_id in xml, "audience")
    check("PasswordProtectedTransport" in xml, "AuthnContextClassRef")
    check(re.search(r'Name="groups"[^>]*>.*staff', xml), "groups attribute")
    check(re.search(r'Name="email"[^>]*>.*%s' % re.escape(EMAIL), xml), "email attribute")
    check("SessionIndex=" in xml, "SessionIndex")
    _check_validity(xml)
    cert = idp_cert_pem(h, md)
    check(verify(h, xml, cert, "Assertion"), "assertion signature")
    check(verify(h, xml, cert, "Response"), "response signature")
    check("rsa-sha256" in xml and "xml-exc-c14n" in xml, "RSA-SHA256, exc-c14n")
    # A second SSO with the session: no sign-in, straight to the form.
    q = sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso"))
    r = b.get("/.ztgate/saml/sso?" + q)
    eq(r.status, 200, "single sign-on")


def test_saml_sp_initiated_post_binding(h):
    sp = SP(h, "sp1", signed=True)
    gw = _gateway(h, [sp])
    b = Browser(gw.port, host=PORTAL)
    fields = sp.post_form(sp.authn_request(gw.base + "/.ztgate/saml/sso"), relay="rs1", sign=True)
    r = b.post("/.ztgate/saml/sso", fields)
    eq(r.status, 303, "no session: kept, to the sign-in page")
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location")).query)["rd"][0]
    r = _follow_to_post(b, sign_in(b, rd=rd))
    eq(r.status, 200, "resumed after sign-in")
    _, f = post_page_fields(r.body)
    eq(f.get("RelayState"), "rs1", "RelayState kept server-side")
    check('InResponseTo="%s"' % sp.last_id in _response_xml(f), "InResponseTo")


def test_saml_idp_initiated_and_persistent(h):
    sp = SP(h, "sp1")
    sp.cfg = {"name_id_format": "persistent", "attributes": {"display_name": "cn"}}
    sp2 = SP(h, "sp2")
    sp2.cfg = {"name_id_format": "persistent"}
    gw = _gateway(h, [sp, sp2])
    b = _signed_in(gw)
    ids = []
    for s in (sp, sp, sp2):
        r = b.get("/.ztgate/saml/init?app=%s&RelayState=%%2Fhome" % s.name)
        eq(r.status, 200, "IdP-initiated")
        action, f = post_page_fields(r.body)
        eq(action, s.acs, "default ACS")
        xml = _response_xml(f)
        check("InResponseTo" not in xml.split("<saml:Assertion")[0], "unsolicited")
        nid = re.search(r"<saml:NameID[^>]*nameid-format:persistent[^>]*>([^<]+)<", xml)
        check(nid, "persistent NameID: %s" % xml)
        ids.append(nid.group(1))
        check(EMAIL not in nid.group(1), "opaque")
    eq(ids[0], ids[1], "stable per SP")
    check(ids[0] != ids[2], "different per SP")
    r = b.get("/.ztgate/saml/init?app=nope")
    eq(r.status, 404, "unknown app")


def test_saml_force_authn_and_passive(h):
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp])
    anon = Browser(gw.port, host=PORTAL)
    q = sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso", passive=True))
    r = anon.get("/.ztgate/saml/sso?" + q)
    eq(r.status, 200, "IsPassive without session: answered, no sign-in page")
    xml = _response_xml(post_page_fields(r.body)[1])
    check("status:NoPassive" in xml, "NoPassive: %s" % xml)
    check("<saml:Assertion" not in xml, "no assertion")
    b = _signed_in(gw)
    q = sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso", force=True))
    r = b.get("/.ztgate/saml/sso?" + q)
    eq(r.status, 303, "ForceAuthn: a fresh sign-in")
    check(r.header("Location").startswith("/.ztgate/login?prompt=login&rd="), "prompt=login")


# ---- bad input: each a 4xx and a log line, no Response -----------------------------------------

def _refused(gw, r, status, log_word, what):
    eq(r.status, status, what)
    check(b"saml-post" not in r.body, "%s: no Response was sent" % what)
    check(log_word in gw.stderr_text(), "%s: log line '%s'" % (what, log_word))
    check(gw.alive(), "%s: ztgate still running" % what)


def test_saml_signed_requests_required(h):
    sp = SP(h, "sp1")
    sp.cfg = {"require_signed_requests": True}
    other = SP(h, "other")
    gw = _gateway(h, [sp])
    _, md = _metadata(gw)
    check('WantAuthnRequestsSigned="true"' in md, "metadata says signed requests wanted")
    b = _signed_in(gw)
    dest = gw.base + "/.ztgate/saml/sso"
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest)))
    _refused(gw, r, 400, "AuthnRequest signature", "unsigned Redirect request")
    r = b.post("/.ztgate/saml/sso", sp.post_form(sp.authn_request(dest)))
    _refused(gw, r, 400, "AuthnRequest signature", "unsigned POST request")
    q = sp.redirect_query(sp.authn_request(dest), sign=True, key=other.key)
    _refused(gw, b.get("/.ztgate/saml/sso?" + q), 400, "saml: app 'sp1'", "other key")
    r = b.post("/.ztgate/saml/sso", sp.post_form(sp.authn_request(dest), sign=True,
                                                   key=other.key))
    _refused(gw, r, 400, "saml: app 'sp1'", "POST signed with another key")
    # Tampered: signed, then the ACS changed in the query's XML (the signature covers it).
    q = sp.redirect_query(sp.authn_request(dest), sign=True)
    xml = sp.authn_request(dest, acs="https://evil.test/acs", req_id=sp.last_id)
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    tampered = urllib.parse.quote(base64.b64encode(c.compress(xml.encode()) + c.flush()), safe="")
    q2 = re.sub(r"SAMLRequest=[^&]+", "SAMLRequest=" + tampered, q)
    _refused(gw, b.get("/.ztgate/saml/sso?" + q2), 400, "saml: app 'sp1'", "tampered Redirect")
    signed = sp.xml_sign(sp.authn_request(dest), sp.key)
    tampered_post = signed.replace(sp.acs, "https://evil.test/acs")
    r = b.post("/.ztgate/saml/sso", {"SAMLRequest": base64.b64encode(tampered_post.encode())})
    _refused(gw, r, 400, "saml: app 'sp1'", "tampered POST")
    # Correctly signed: accepted.
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest), sign=True))
    eq(r.status, 200, "signed Redirect request accepted")
    r = b.post("/.ztgate/saml/sso", sp.post_form(sp.authn_request(dest), sign=True))
    eq(r.status, 200, "signed POST request accepted")


def test_saml_bad_requests(h):
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp])
    b = _signed_in(gw)
    dest = gw.base + "/.ztgate/saml/sso"
    q = sp.redirect_query(sp.authn_request(dest, issuer="https://unknown.test/sp"))
    _refused(gw, b.get("/.ztgate/saml/sso?" + q), 400, "unknown service provider",
             "unknown issuer")
    q = sp.redirect_query(sp.authn_request(dest, acs="https://evil.test/acs"))
    _refused(gw, b.get("/.ztgate/saml/sso?" + q), 400, "saml: app 'sp1'", "ACS not in metadata")
    xxe = ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>')
    q = sp.redirect_query(sp.authn_request(dest, extra_head=xxe, extra_body="<x>&x;</x>"))
    r = b.get("/.ztgate/saml/sso?" + q)
    check(r.status in (400,), "DTD/entity refused (%d)" % r.status)
    check(b"root:" not in r.body, "no file content")
    cases = {
        "not base64": "SAMLRequest=%%%%%%",
        "not base64 2": "SAMLRequest=!!!!",
        "not deflate": "SAMLRequest=" + urllib.parse.quote(base64.b64encode(b"hello world")),
        "not XML": "SAMLRequest=" + urllib.parse.quote(base64.b64encode(
            zlib.compress(b"not xml at all")[2:-4])),
        "empty": "SAMLRequest=",
        "twice": sp.redirect_query(sp.authn_request(dest)) + "&SAMLRequest=x",
        "no request": "RelayState=x",
        "relay control": sp.redirect_query(sp.authn_request(dest), relay="a\nb"),
    }
    for what, q in cases.items():
        r = b.get("/.ztgate/saml/sso?" + q)
        check(400 <= r.status < 500, "%s: %d" % (what, r.status))
        check(b"saml-post" not in r.body, "%s: no Response" % what)
    huge = "SAMLRequest=" + "A" * 60000
    r = b.get("/.ztgate/saml/sso?" + huge)
    check(400 <= r.status < 500, "huge Redirect: %d" % r.status)
    r = b.post("/.ztgate/saml/sso", None, raw=("SAMLRequest=" + "A" * 60000).encode(),
               headers=(FORM,))
    check(400 <= r.status < 500, "huge POST: %d" % r.status)
    r = b.post("/.ztgate/saml/sso", {"SAMLRequest": base64.b64encode(b"<a" * 5000)})
    check(400 <= r.status < 500, "malformed POST XML: %d" % r.status)
    r = b.get("/.ztgate/saml/sso?resume=" + "0" * 32)
    eq(r.status, 400, "unknown resume id")
    # Lasso logs this one at GLib's fatal ERROR level: it must not stop the gateway.
    no_name = ('<samlp:LogoutRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
               'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" ID="_x" Version="2.0" '
               'IssueInstant="2026-01-01T00:00:00Z"><saml:Issuer>%s</saml:Issuer>'
               '</samlp:LogoutRequest>' % sp.entity_id)
    r = b.get("/.ztgate/saml/slo?" + sp.redirect_query(no_name))
    check(400 <= r.status < 500, "LogoutRequest without NameID: %d" % r.status)
    r = b.post("/.ztgate/saml/slo", {"SAMLRequest": base64.b64encode(no_name.encode())})
    check(400 <= r.status < 500, "POST LogoutRequest without NameID: %d" % r.status)
    r = b.get("/.ztgate/saml/slo?SAMLResponse=x&RelayState=" + "0" * 32)
    eq(r.status, 200, "a LogoutResponse that is none of ours: the signed-out page")
    check(gw.alive(), "still running")
    r = b.get("/.ztgate/saml/metadata")
    eq(r.status, 200, "still serving")


def test_saml_single_logout(h):
    sp = SP(h, "sp1")
    sp2 = SP(h, "sp2")
    gw = _gateway(h, [sp, sp2])
    b = _signed_in(gw)
    dest = gw.base + "/.ztgate/saml/sso"
    xmls = []
    for s in (sp, sp2):
        r = b.get("/.ztgate/saml/sso?" + s.redirect_query(s.authn_request(dest)))
        eq(r.status, 200, "SSO to %s" % s.name)
        xmls.append(_response_xml(post_page_fields(r.body)[1]))
    idx = re.search(r'SessionIndex="([^"]+)"', xmls[0]).group(1)
    lr = sp.logout_request(gw.base + "/.ztgate/saml/slo", EMAIL, idx,
                           "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress")
    r = b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr, relay="bye", sign=True))
    eq(r.status, 303, "on to the other SP first")
    loc = r.header("Location")
    check(loc.startswith(sp2.slo + "?SAMLRequest="), "a LogoutRequest to sp2: %s" % loc)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    check("Signature" in q and "SigAlg" in q and "RelayState" in q, "signed, with RelayState")
    req2 = zlib.decompress(base64.b64decode(q["SAMLRequest"][0]), -15).decode()
    check(EMAIL in req2, "sp2's NameID in its LogoutRequest: %s" % req2)
    req2_id = re.search(r' ID="([^"]+)"', req2).group(1)
    # sp2 answers (signed, Redirect) with the RelayState it got.
    lresp = sp2.logout_response(gw.base + "/.ztgate/saml/slo", req2_id)
    r = b.get("/.ztgate/saml/slo?" + sp2.redirect_query(lresp, relay=q["RelayState"][0],
                                                         sign=True, field="SAMLResponse"))
    eq(r.status, 303, "LogoutResponse to the initiator by Redirect")
    loc = r.header("Location")
    check(loc.startswith(sp.slo + "?SAMLResponse="), loc)
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)
    check("Signature" in q and "SigAlg" in q, "signed LogoutResponse")
    eq(q.get("RelayState"), ["bye"], "the initiator's RelayState")
    resp = zlib.decompress(base64.b64decode(q["SAMLResponse"][0]), -15).decode()
    check('InResponseTo="%s"' % sp.last_id in resp, "InResponseTo")
    check("status:Success" in resp and "PartialLogout" not in resp, "all told: %s" % resp)
    check(not any("ztgate_session" in k for k in b.cookies), "session cookie cleared")
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest)))
    eq(r.status, 303, "signed out: sign in again")


# ---- Conditional Access at SSO ------------------------------------------------------------------

def _audit(h, gw):
    gw.proc.stop()
    with open(os.path.join(h.dir, "state", "audit", "audit.log")) as f:
        return [json.loads(x) for x in f if '"saml.' in x]


def test_saml_blocked_by_policy(h):
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp], audit=True, policies=[
        {"name": "no-staff-on-sp1", "state": "on", "users": {"include": ["group:staff"]},
         "apps": {"include": ["sp1"]}, "grant": {"block": True}},
        {"name": "would-block-all", "state": "report_only", "users": {"include": ["all"]},
         "apps": {"include": ["all"]}, "grant": {"block": True}}])
    b = _signed_in(gw)
    q = sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso"), relay="rs")
    r = b.get("/.ztgate/saml/sso?" + q, headers=(("Accept", "text/html"),))
    eq(r.status, 403, "the block page")
    body = r.body.decode()
    check("no-staff-on-sp1" in body and "Access blocked" in body, "names the policy")
    check(b"saml-post" not in r.body, "no Response yet")
    back = re.search(r'href="([^"]*deny=1[^"]*)"', body)
    check(back, "a link back to the application: %s" % body[:1500])
    r = b.get(back.group(1).replace("&amp;", "&"))
    eq(r.status, 200, "back to the app: the error Response")
    action, f = post_page_fields(r.body)
    eq(action, sp.acs, "to the ACS")
    eq(f.get("RelayState"), "rs", "RelayState")
    xml = _response_xml(f)
    check("status:Responder" in xml and "status:RequestDenied" in xml, "RequestDenied: %s" % xml)
    check('InResponseTo="%s"' % sp.last_id in xml, "InResponseTo")
    check("<saml:Assertion" not in xml, "no assertion")
    ja = Browser(gw.port, host=PORTAL, lang="ja")
    ja.cookies = dict(b.cookies)
    r = ja.get("/.ztgate/saml/sso?" + sp.redirect_query(
        sp.authn_request(gw.base + "/.ztgate/saml/sso")), headers=(("Accept", "text/html"),))
    check("アクセスがブロックされました" in r.body.decode(), "Japanese block page")
    recs = _audit(h, gw)
    blocks = [x for x in recs if x.get("message") == "saml.sso.block"]
    check(blocks and blocks[0].get("policy", {}).get("name") == "no-staff-on-sp1", recs[:2])
    eq(blocks[0].get("app", {}).get("name"), "sp1", "app named")
    eq(blocks[0].get("class_uid"), 3002, "OCSF Authentication")
    errs = [x for x in recs if x.get("message") == "saml.response.error"]
    check(errs and errs[0].get("status_detail") == "RequestDenied", "the denial audited")


def test_saml_step_up_and_report_only(h):
    sp = SP(h, "sp1")
    sp2 = SP(h, "sp2")
    gw = _gateway(h, [sp, sp2], audit=True, policies=[
        {"name": "mfa-for-sp1", "state": "on", "users": {"include": ["all"]},
         "apps": {"include": ["sp1"]}, "grant": {"controls": ["mfa"]}},
        {"name": "would-block-sp2", "state": "report_only", "users": {"include": ["all"]},
         "apps": {"include": ["sp2"]}, "grant": {"block": True}}])
    b = _signed_in(gw)
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(
        sp.authn_request(gw.base + "/.ztgate/saml/sso")))
    eq(r.status, 303, "step-up")
    loc = r.header("Location")
    check(loc.startswith("/.ztgate/mfa?rd=%2F.ztgate%2Fsaml%2Fsso%3Fresume%3D"), loc)
    r = b.get("/.ztgate/saml/sso?" + sp2.redirect_query(
        sp2.authn_request(gw.base + "/.ztgate/saml/sso")))
    eq(r.status, 200, "report-only is not enforced")
    recs = _audit(h, gw)
    ch = [x for x in recs if x.get("message") == "saml.sso.challenge"]
    check(ch and ch[0].get("policy", {}).get("name") == "mfa-for-sp1", "challenge audited")
    ok = [x for x in recs if x.get("message") == "saml.sso.allow"]
    check(ok and ok[0].get("report_only", {}).get("decision") == "block", "report-only recorded")
    issued = [x for x in recs if x.get("message") == "saml.assertion"]
    check(issued and issued[0].get("service", {}).get("uid") == sp2.entity_id, "assertion audited")


def test_saml_reload_adds_and_removes_sps(h):
    """A reload rebuilds the IdP from the new generation: a new SP is answered, a removed one is
    refused, the key stays (run on build-asan: no read of a freed generation)."""
    sp, sp2 = SP(h, "sp1"), SP(h, "sp2")
    gw = _gateway(h, [sp])
    _, md1 = _metadata(gw)
    b = _signed_in(gw)
    dest = gw.base + "/.ztgate/saml/sso"
    r = b.get("/.ztgate/saml/sso?" + sp2.redirect_query(sp2.authn_request(dest)))
    eq(r.status, 400, "sp2 not configured yet")
    cfg = json.loads(json.dumps(gw.config))
    cfg["apps"] = [a for a in cfg["apps"] if a.get("kind") != "saml"] + [
        {"name": "sp2", "kind": "saml", "sensitivity": "internal",
         "saml": {"metadata_file": sp2.metadata_path}}]
    gw.reload(cfg)
    from harness import wait_until

    def answered():
        x = b.get("/.ztgate/saml/sso?" + sp2.redirect_query(sp2.authn_request(dest)))
        return x.status == 200
    check(wait_until(answered, 10), "sp2 answered after the reload")
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest)))
    eq(r.status, 400, "sp1 removed by the reload")
    _, md2 = _metadata(gw)
    eq(re.findall(r"X509Certificate>([^<]+)<", md1), re.findall(r"X509Certificate>([^<]+)<", md2),
       "the same signing certificate")


def test_saml_logout_signature_rules(h):
    """LogoutRequests follow the AuthnRequest rules: unsigned refused when the app requires
    signatures, a wrong key refused always; a refused one ends nothing."""
    sp = SP(h, "sp1")
    sp.cfg = {"require_signed_requests": True}
    other = SP(h, "other")
    gw = _gateway(h, [sp])
    b = _signed_in(gw)
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(
        sp.authn_request(gw.base + "/.ztgate/saml/sso"), sign=True))
    xml = _response_xml(post_page_fields(r.body)[1])
    idx = re.search(r'SessionIndex="([^"]+)"', xml).group(1)
    fmt = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    lr = sp.logout_request(gw.base + "/.ztgate/saml/slo", EMAIL, idx, fmt)
    _refused(gw, b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr)), 400,
             "LogoutRequest refused", "unsigned LogoutRequest")
    lr = sp.logout_request(gw.base + "/.ztgate/saml/slo", EMAIL, idx, fmt)
    _refused(gw, b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr, sign=True, key=other.key)),
             400, "LogoutRequest refused", "LogoutRequest signed with another key")
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(
        sp.authn_request(gw.base + "/.ztgate/saml/sso"), sign=True))
    eq(r.status, 200, "still signed in")
    lr = sp.logout_request(gw.base + "/.ztgate/saml/slo", EMAIL, idx, fmt)
    r = b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr, sign=True))
    eq(r.status, 303, "a signed LogoutRequest is answered")


def _sso_index(gw, b, sp):
    """One SSO to sp with browser b: the assertion's SessionIndex."""
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso")))
    eq(r.status, 200, "SSO with a session")
    return re.search(r'SessionIndex="([^"]+)"', _response_xml(post_page_fields(r.body)[1])).group(1)


def _logout_status(r):
    """The status codes of the LogoutResponse in a Redirect-binding 303."""
    eq(r.status, 303, "a LogoutResponse")
    q = urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location")).query)
    xml = zlib.decompress(base64.b64decode(q["SAMLResponse"][0]), -15).decode()
    return re.findall(r'StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:(\w+)"', xml)


def _signed_in_still(gw, b, sp):
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(gw.base + "/.ztgate/saml/sso")))
    return r.status == 200


def test_saml_logout_request_must_name_this_session(h):
    """A signed LogoutRequest ends the browser's session only when it names that session's SAML
    sign-in (NameID and SessionIndex), is fresh (IssueInstant within 5 minutes, NotOnOrAfter
    not passed), is meant for us (Destination) and was not accepted before. Otherwise the
    session stays: Requester / UnknownPrincipal for another principal, 400 for the rest."""
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp])
    slo = gw.base + "/.ztgate/saml/slo"
    fmt = "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    b = _signed_in(gw)
    idx = _sso_index(gw, b, sp)
    # Unsigned, even for an SP that need not sign: Lasso refuses it on both bindings (docs).
    lr = sp.logout_request(slo, EMAIL, idx, fmt)
    eq(b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr)).status, 400, "unsigned Redirect")
    eq(b.post("/.ztgate/saml/slo", {"SAMLRequest": base64.b64encode(lr.encode())}).status, 400,
       "unsigned POST")
    check(_signed_in_still(gw, b, sp), "the session stays (unsigned)")
    # Another NameID, or the right one with a SessionIndex of no SSO of this browser.
    for name, index in (("nobody@evil.test", idx), (EMAIL, "bogus-index")):
        lr = sp.logout_request(slo, name, index, fmt)
        eq(_logout_status(b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr, sign=True))),
           ["Requester", "UnknownPrincipal"], "not this session: %s / %s" % (name, index))
        check(_signed_in_still(gw, b, sp), "the session stays (%s / %s)" % (name, index))
    # Stale, expired, or addressed elsewhere: refused.
    stale = sp.logout_request(slo, EMAIL, idx, fmt)
    stale = re.sub(r'IssueInstant="[^"]+"', 'IssueInstant="2001-01-01T00:00:00Z"', stale)
    expired = sp.logout_request(slo, EMAIL, idx, fmt).replace(
        'Destination=', 'NotOnOrAfter="2001-01-01T00:05:00Z" Destination=')
    elsewhere = sp.logout_request("https://elsewhere.test/slo", EMAIL, idx, fmt)
    for what, lr in (("IssueInstant 2001", stale), ("NotOnOrAfter passed", expired),
                     ("Destination elsewhere", elsewhere)):
        r = b.get("/.ztgate/saml/slo?" + sp.redirect_query(lr, sign=True))
        eq(r.status, 400, what)
        check(_signed_in_still(gw, b, sp), "the session stays (%s)" % what)
    check("IssueInstant too far" in gw.stderr_text() and "Destination is not" in gw.stderr_text(),
          "log lines say why")
    # The right one ends it ...
    q = sp.redirect_query(sp.logout_request(slo, EMAIL, idx, fmt), sign=True)
    eq(_logout_status(b.get("/.ztgate/saml/slo?" + q)), ["Success"], "this session's logout")
    check(not _signed_in_still(gw, b, sp), "signed out")
    # ... once: replayed at another session of the same user, it is refused as a replay.
    b2 = _signed_in(gw)
    _sso_index(gw, b2, sp)
    eq(b2.get("/.ztgate/saml/slo?" + q).status, 400, "a replayed LogoutRequest")
    check("replayed" in gw.stderr_text(), "logged as a replay")
    check(_signed_in_still(gw, b2, sp), "the other session stays")


def test_saml_reload_adds_the_first_sp(h):
    """A gateway started without SAML apps: a reload that adds the first one makes a working
    IdP (Lasso set up at start anyway, the key and certificate created at first use)."""
    from harness import wait_until
    sp = SP(h, "sp1")
    gw = _gateway(h, [])
    b = _signed_in(gw)
    cfg = json.loads(json.dumps(gw.config))
    cfg["apps"] = cfg["apps"] + [{"name": "sp1", "kind": "saml", "sensitivity": "internal",
                                  "saml": {"metadata_file": sp.metadata_path}}]
    gw.reload(cfg)
    dest = gw.base + "/.ztgate/saml/sso"

    def reloaded():
        return b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest))).status != 404
    check(wait_until(reloaded, 10), "the reload took effect")
    r = b.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest)))
    eq(r.status, 200, "SSO to the first SP added by a reload")
    action, fields = post_page_fields(r.body)
    eq(action, sp.acs, "posted to the ACS")
    _, md = _metadata(gw)
    check(verify(h, _response_xml(fields), idp_cert_pem(h, md), "Assertion"),
          "signed with the key created after the reload")
    check(gw.alive(), "still running")


def test_saml_authn_request_fresh_once_no_sha1(h):
    """An AuthnRequest must be fresh (IssueInstant within 5 minutes), meant for us (Destination)
    and, when signed, not signed with SHA-1 and never seen before: else 400 and a log line."""
    sp = SP(h, "sp1")
    sp.cfg = {"require_signed_requests": True}
    gw = _gateway(h, [sp])
    b = _signed_in(gw)
    dest = gw.base + "/.ztgate/saml/sso"
    # RSA-SHA1 over the Redirect binding (SigAlg), correctly signed.
    c = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = c.compress(sp.authn_request(dest).encode()) + c.flush()
    q = "SAMLRequest=" + urllib.parse.quote(base64.b64encode(raw).decode(), safe="")
    q += "&SigAlg=" + urllib.parse.quote("http://www.w3.org/2000/09/xmldsig#rsa-sha1", safe="")
    sig = subprocess.run(["openssl", "dgst", "-sha1", "-sign", sp.key], input=q.encode(),
                         capture_output=True, check=True).stdout
    q += "&Signature=" + urllib.parse.quote(base64.b64encode(sig).decode(), safe="")
    _refused(gw, b.get("/.ztgate/saml/sso?" + q), 400, "SHA-1", "an RSA-SHA1 signature")
    # Stale, and addressed to another IdP.
    stale = re.sub(r'IssueInstant="[^"]+"', 'IssueInstant="2001-01-01T00:00:00Z"',
                   sp.authn_request(dest))
    _refused(gw, b.get("/.ztgate/saml/sso?" + sp.redirect_query(stale, sign=True)), 400,
             "IssueInstant too far", "IssueInstant 2001")
    _refused(gw, b.get("/.ztgate/saml/sso?" + sp.redirect_query(
        sp.authn_request("https://elsewhere.test/sso"), sign=True)), 400, "Destination is not",
        "Destination elsewhere")
    # A good one is answered once; the same signed request again is a replay.
    q = sp.redirect_query(sp.authn_request(dest), sign=True)
    r = b.get("/.ztgate/saml/sso?" + q)
    eq(r.status, 200, "a fresh signed request")
    _refused(gw, b.get("/.ztgate/saml/sso?" + q), 400, "replayed", "the same request again")


def test_saml_resume_id_single_use_and_never_evicted(h):
    """A kept request's resume id answers once (no second Response, no RequestDenied after a
    success), and a flood of requests that fills the table is refused (503) instead of evicting
    the sign-ins under way."""
    sp = SP(h, "sp1")
    gw = _gateway(h, [sp])
    dest = gw.base + "/.ztgate/saml/sso"
    anon = Browser(gw.port, host=PORTAL)

    def kept(relay):
        r = anon.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest), relay=relay))
        eq(r.status, 303, "no session: kept, to the sign-in page")
        return urllib.parse.parse_qs(urllib.parse.urlsplit(r.header("Location")).query)["rd"][0]
    first = kept("r1")
    b = _signed_in(gw)
    r = b.get(first)
    eq(r.status, 200, "resumed after sign-in")
    check(b"saml-post" in r.body, "a Response")
    for what, url in (("the same resume again", first), ("deny after success", first + "&deny=1")):
        r = b.get(url)
        eq(r.status, 400, what)
        check(b"saml-post" not in r.body, "%s: no second Response" % what)
    # Fill the table (1024 entries) with requests that wait for a browser.
    pending = kept("pending")
    for i in range(1023):
        anon.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest)))
    r = anon.get("/.ztgate/saml/sso?" + sp.redirect_query(sp.authn_request(dest)))
    eq(r.status, 503, "the table is full: refused")
    check("requests are waiting for their browsers already" in gw.stderr_text(), "log line")
    r = b.get(pending)
    eq(r.status, 200, "the sign-in under way was not evicted")
    check(b"saml-post" in r.body, "its Response")
