"""SAML back-channel single logout with the real mod_auth_mellon (Apache, tests/integ/apache.py),
driven by Chromium: a user signs in to mellon's /secret/ through ztgate, then the ztgate session
ends without mellon starting it, and ztgate tells mellon by a signed SOAP LogoutRequest
(/mellon/logout, listed in the SP's metadata with Binding SOAP): (a) an admin revokes the
user's sessions, (b) the user is disabled, (c) the user signs out at ztgate's portal, (e) an
admin confirms the account compromised (risk: its sessions deleted). Each
time the next /secret/ request goes back to the IdP, and the audit log has one
saml.logout.backchannel record for mellon. A sign-in again (the session replaced by a new one
of the same user) tells mellon nothing. Bad peers: an SP whose SOAP endpoint answers garbage
and one that never answers are recorded as failures and hold up neither mellon's logout nor the
gateway."""
import json
import os
import socket
import ssl
import subprocess
import threading

import apache
from browser import Chromium, make_cert
from harness import check, eq, free_port, get, timeout, wait_until
from portal_client import EMAIL, PASSWORD, add_user

PORTAL = "auth.test"


def _ca_bundle(h, certs):
    """The system CAs plus the SPs' certificates: what ztgate trusts for the SOAP calls (OpenSSL
    reads SSL_CERT_FILE for its default verify paths)."""
    path = h.path("bcl-ca.pem")
    with open(path, "w") as out:
        for c in ["/etc/ssl/certs/ca-certificates.crt"] + list(certs):
            if os.path.exists(c):
                with open(c) as f:
                    out.write(f.read() + "\n")
    return path


def _ip_cert(h, name):
    cert, key = h.path(name + ".crt"), h.path(name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-keyout", key, "-out",
                    cert, "-subj", "/CN=" + name, "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


class BadPeer:
    """A SOAP endpoint on 127.0.0.1 that answers garbage over TLS (mode "garbage") or accepts the
    connection and never says a word (mode "silent"). .hits counts connections."""

    def __init__(self, h, mode):
        self.mode = mode
        self.cert, self.key = _ip_cert(h, "bad-" + mode)
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.hits = 0
        self.held = []
        self.stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def url(self):
        return "https://127.0.0.1:%d/soap" % self.port

    def _run(self):
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        while not self.stop:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            self.hits += 1
            if self.mode == "silent":
                self.held.append(c)  # never read, never answered
                continue
            try:
                c.settimeout(5)
                t = ctx.wrap_socket(c, server_side=True)
                t.recv(65536)
                t.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nConnection: close\r\n"
                          b"\r\n<soap:Envelope>\x00\xff not a LogoutResponse")
                t.close()
            except (OSError, ssl.SSLError):
                c.close()

    def close(self):
        self.stop = True
        try:
            self.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept loop (tcp_target.stop)
        except OSError:
            pass
        self.sock.close()
        for c in self.held:
            c.close()


def _fake_sp_metadata(h, name, soap_url, acs):
    """SP metadata for a peer ztgate signs in to only through IdP-initiated SSO."""
    cert, _ = _ip_cert(h, name + "-signing")
    with open(cert) as f:
        body = "".join(f.read().strip().splitlines()[1:-1])
    path = h.path(name + "-metadata.xml")
    with open(path, "w") as f:
        f.write("""<?xml version="1.0"?>
<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" xmlns:ds="http://www.w3.org/2000/09/xmldsig#" entityID="https://{n}.test/saml">
 <md:SPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
  <md:KeyDescriptor use="signing"><ds:KeyInfo><ds:X509Data><ds:X509Certificate>{c}</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
  <md:SingleLogoutService Binding="urn:oasis:names:tc:SAML:2.0:bindings:SOAP" Location="{soap}"/>
  <md:NameIDFormat>urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress</md:NameIDFormat>
  <md:AssertionConsumerService index="0" isDefault="true" Binding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST" Location="{acs}"/>
 </md:SPSSODescriptor>
</md:EntityDescriptor>
""".format(n=name, c=body, soap=soap_url, acs=acs))
    return path


def _mellon(h):
    """mellon ties its session to the cookie's domain, taken from the request's Host unless set:
    the SOAP call comes to 127.0.0.1 (ztgate cannot resolve sp.test), so it is set."""
    return apache.mellon(h, extra=("MellonCookieDomain sp.test",))


def _gateway(h, sp, extra_apps=(), extra_certs=()):
    cert, key, spki = make_cert(h, [PORTAL], name="ztgate-tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
    apps = [{"name": "mellon", "kind": "saml", "sensitivity": "confidential",
             "saml": {"metadata_file": sp.sp_metadata_path}}] + list(extra_apps)
    extra = {"auth": {"portal_host": PORTAL, "mfa": "optional", "argon2_passes": 2,
                      "argon2_memory": "19MiB"},
             "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")}}
    bundle = _ca_bundle(h, [sp.cert] + list(extra_certs))
    old = os.environ.get("SSL_CERT_FILE")
    os.environ["SSL_CERT_FILE"] = bundle
    try:
        gw = h.gateway(h.config(apps, listen=listen, extra=extra))
    finally:
        if old is None:
            os.environ.pop("SSL_CERT_FILE", None)
        else:
            os.environ["SSL_CERT_FILE"] = old
    add_user(h, gw)
    gw.base = "https://%s:%d" % (PORTAL, gw.tls_port)
    r = get(gw.tls_port, "/.ztgate/saml/metadata", host=PORTAL, tls=True)
    eq(r.status, 200, "IdP metadata")
    path = h.path("ztgate-idp-metadata.xml")
    with open(path, "wb") as f:
        f.write(r.body)
    sp.start_with_idp(path)
    return gw, spki


def _bcl_records(h):
    path = os.path.join(h.dir, "state", "audit", "audit.log")
    if not os.path.exists(path):
        return []
    return [json.loads(x) for x in open(path) if '"saml.logout.backchannel"' in x]


def _sign_in(tab, sp, shot):
    p = tab.goto(sp.url("/secret/"), shot + "-to-idp")
    check("/.ztgate/login" in p.url, "mellon sends the browser to ztgate: %s" % p.url)
    tab.submit(shot + "-signed-in", username=EMAIL, password=PASSWORD)
    p = apache.wait_page(tab, sp.url("/secret/"))
    env = json.loads(p["text"])
    eq(env.get("REMOTE_USER"), EMAIL, "%s: signed in at mellon" % shot)


def _told(h, sp, before, what):
    """Waits for the next successful record for mellon; then mellon has no session."""
    def done():
        recs = _bcl_records(h)[before:]
        return [r for r in recs if r["service"]["uid"] == sp.entity_id] or None
    recs = wait_until(done, 30)
    check(recs, "%s: a saml.logout.backchannel record for mellon\n%s" % (what, sp.logs()))
    r = recs[0]
    eq(r["status_id"], 1, "%s: mellon confirmed (%r)\n%s" % (what, r, sp.error_log()[-3000:]))
    eq(r["app"]["name"], "mellon", "the record names the app")
    check(r["user"]["uid"], "the record names the user")
    log = open(os.path.join(sp.dir, "access.log")).read()
    check('"POST /mellon/logout HTTP/1.1" 200' in log,
          "%s: mellon got the SOAP LogoutRequest:\n%s" % (what, log[-2000:]))


def _back_to_idp(tab, sp, shot, what):
    p = tab.goto(sp.url("/secret/"), shot)
    check("/.ztgate/login" in p.url, "%s: mellon's session is gone (%s)" % (what, p.url))


@timeout(240)
def test_saml_backchannel_mellon_revoke_disable_logout(h):
    sp = _mellon(h)
    gw, spki = _gateway(h, sp)
    tab = Chromium(h, spki=[spki, sp.spki]).context()

    _sign_in(tab, sp, "a")
    # Signing in again at the portal replaces the ztgate session with a new one of the same user:
    # mellon's sign-in moves to it, so mellon is not told anything.
    p = tab.goto(gw.base + "/.ztgate/login?prompt=login", "again-login")
    tab.submit("again-signed-in", username=EMAIL, password=PASSWORD)
    check(not wait_until(lambda: _bcl_records(h) or None, 3),
          "a sign-in again is no logout: %r" % _bcl_records(h))
    check("POST /mellon/logout" not in open(os.path.join(sp.dir, "access.log")).read(),
          "mellon was not sent a LogoutRequest")

    # (a) An admin revokes the user's sessions.
    n = len(_bcl_records(h))
    r = h.cli("user", "revoke-sessions", EMAIL, "--config", gw.config_path)
    eq(r.returncode, 0, "revoke-sessions: %s" % r.stderr)
    _told(h, sp, n, "revoked")
    _back_to_idp(tab, sp, "a-after", "revoked")

    # (b) The user is disabled (then enabled again for the next step).
    tab.submit("b-signed-in", username=EMAIL, password=PASSWORD)
    apache.wait_page(tab, sp.url("/secret/"))
    n = len(_bcl_records(h))
    r = h.cli("user", "disable", EMAIL, "--config", gw.config_path)
    eq(r.returncode, 0, "disable: %s" % r.stderr)
    _told(h, sp, n, "disabled")
    _back_to_idp(tab, sp, "b-after", "disabled")
    r = h.cli("user", "enable", EMAIL, "--config", gw.config_path)
    eq(r.returncode, 0, "enable: %s" % r.stderr)

    # (c) The user signs out at ztgate's own sign-out page.
    tab.submit("c-signed-in", username=EMAIL, password=PASSWORD)
    apache.wait_page(tab, sp.url("/secret/"))
    n = len(_bcl_records(h))
    tab.goto(gw.base + "/.ztgate/logout", "c-logout-confirm")
    tab.submit("c-signed-out")
    _told(h, sp, n, "portal sign-out")
    _back_to_idp(tab, sp, "c-after", "portal sign-out")

    # An SP-initiated logout is told through the browser, never twice by back channel.
    tab.submit("d-signed-in", username=EMAIL, password=PASSWORD)
    apache.wait_page(tab, sp.url("/secret/"))
    n = len(_bcl_records(h))
    p = tab.goto(sp.logout_url(), "d-slo")
    check(p.url.startswith(sp.url("/loggedout")), "front-channel SLO: %s" % p.url)
    r = h.cli("user", "revoke-sessions", EMAIL, "--config", gw.config_path)  # moves the timer
    eq(r.returncode, 0, "revoke-sessions")
    check(not wait_until(lambda: _bcl_records(h)[n:] or None, 3),
          "no back-channel logout after an SP-initiated one: %r" % _bcl_records(h)[n:])

    # (e) Risk: an admin confirms the account compromised (its sessions are deleted).
    _sign_in(tab, sp, "e")
    n = len(_bcl_records(h))
    r = h.cli("risk", "confirm-compromised", EMAIL, "--config", gw.config_path)
    eq(r.returncode, 0, "confirm-compromised: %s" % r.stderr)
    _told(h, sp, n, "confirmed compromised")
    _back_to_idp(tab, sp, "e-after", "confirmed compromised")


@timeout(240)
def test_saml_backchannel_bad_peers_do_not_block(h):
    sp = _mellon(h)
    garbage, silent = BadPeer(h, "garbage"), BadPeer(h, "silent")
    acs = sp.url("/loggedout")
    apps = [{"name": name, "kind": "saml", "sensitivity": "internal",
             "saml": {"metadata_file": _fake_sp_metadata(h, name, peer.url(), acs)}}
            for name, peer in (("garbage", garbage), ("silent", silent))]
    gw, spki = _gateway(h, sp, apps, [garbage.cert, silent.cert])
    tab = Chromium(h, spki=[spki, sp.spki]).context()
    _sign_in(tab, sp, "bad")
    for name in ("silent", "garbage"):  # the session signs in to the bad SPs too
        tab.goto("%s/.ztgate/saml/init?app=%s" % (gw.base, name), "init-" + name)
    wait_until(lambda: open(os.path.join(h.dir, "state", "audit", "audit.log")).read().count(
        '"saml.assertion"') >= 3 or None, 10)
    r = h.cli("user", "revoke-sessions", EMAIL, "--config", gw.config_path)
    eq(r.returncode, 0, "revoke-sessions")
    _told(h, sp, 0, "revoked, with bad peers")
    _back_to_idp(tab, sp, "bad-after", "revoked, with bad peers")
    recs = {r["service"]["uid"]: r for r in _bcl_records(h)}
    g = wait_until(lambda: recs.update({r["service"]["uid"]: r for r in _bcl_records(h)}) or
                   recs.get("https://garbage.test/saml"), 30)
    check(g and g["status_id"] == 2, "the garbage answer is a failure: %r" % g)
    # The gateway answers while the silent peer holds a sender.
    eq(get(gw.tls_port, "/.ztgate/saml/metadata", host=PORTAL, tls=True).status, 200,
       "the gateway serves meanwhile")
    s = wait_until(lambda: recs.update({r["service"]["uid"]: r for r in _bcl_records(h)}) or
                   recs.get("https://silent.test/saml"), 60)
    check(s and s["status_id"] == 2 and "answer" in s.get("status_detail", ""),
          "the silent peer is a failure after its attempts: %r" % s)
    check(silent.hits == 3, "three attempts at the silent peer: %d" % silent.hits)
    silent.close()
    garbage.close()
