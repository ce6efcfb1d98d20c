"""ztgate as OpenID Connect provider for real relying parties, driven by Chromium (issue 13,
deliverable 4): Apache httpd with mod_auth_openidc protecting /protected/ and the npm
openid-client app (tests/integ/oidc_rp), both against ztgate's portal on https.

- one sign-in, two relying parties (English), then the same in Japanese;
- RP-initiated logout from the openid-client app: back-channel logout tokens reach both RPs,
  Apache's session ends, and the next refresh is refused;
- step-up through acr_values=urn:ztgate:acr:mfa (TOTP enrolled on the way, acr in the token);
- blocked from an anonymous IP (risk.anonymous_ips lists 127.0.0.1, a block policy for the
  app): the block page, and its link takes the user back to the RP with access_denied.
Screenshots under BUILD_DIR/browser-shots/oidc-peers-*/."""
import json
import os
import re
import subprocess

import apache
from browser import Chromium, check_japanese, make_cert, msg, spki_sha256
from harness import check, eq, free_port, timeout, wait_until
from oidc_client import write_secret
from oidc_peers import OidcRp, make_client_key
from portal_client import EMAIL, PASSWORD, _fresh_step, add_user, totp

PORTAL = "auth.test"
BLOCK = "no-anonymous-sign-in-to-wiki"


def _cert_with_ip(h, host, name):
    """A self-signed certificate for host and IP 127.0.0.1 (back-channel logout is sent to the
    loopback address): (cert, key, spki)."""
    cert, key = h.path(name + ".crt"), h.path(name + ".key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-keyout", key, "-out",
                    cert, "-subj", "/CN=" + host, "-addext",
                    "subjectAltName=DNS:%s,IP:127.0.0.1" % host],
                   check=True, capture_output=True)
    return cert, key, spki_sha256(cert)


def _ca_bundle(h, certs):
    """The system CAs plus the RPs' certificates: what ztgate trusts for back-channel logout
    (OpenSSL reads SSL_CERT_FILE for its default verify paths)."""
    path = h.path("bcl-ca.pem")
    with open(path, "w") as out:
        for c in ["/etc/ssl/certs/ca-certificates.crt"] + list(certs):
            if os.path.exists(c):
                with open(c) as f:
                    out.write(f.read() + "\n")
    return path


class Setup:
    """ztgate on https://auth.test:PORT with two oidc apps (Apache "wiki", openid-client
    "notes"), the two RPs, Chromium."""

    def __init__(self, h, policies=(), risk=None, tor=None):
        self.h = h
        op_cert, op_key, op_spki = make_cert(h, [PORTAL], name="op-tls")
        rp_cert, rp_key, rp_spki = _cert_with_ip(h, "rp2.test", "rp-tls")
        port = free_port()
        self.issuer = "https://%s:%d" % (PORTAL, port)
        self.ap = apache.openidc(h, self.issuer, "wiki", "wiki-secret-1", ca_file=op_cert,
                                 start=False)
        rp_port = free_port()
        rp_base = "https://rp2.test:%d" % rp_port
        apps = [
            {"name": "wiki", "kind": "oidc", "sensitivity": "internal",
             "oidc": {"client_id": "wiki", "client_secret_file": write_secret(h, "wiki.secret",
                                                                               "wiki-secret-1"),
                      "redirect_uris": [self.ap.redirect_uri],
                      "post_logout_redirect_uris": [self.ap.url("/loggedout")],
                      "backchannel_logout_uri": self.ap.backchannel_uri_loopback}},
            {"name": "notes", "kind": "oidc", "sensitivity": "internal",
             "oidc": {"client_id": "notes", "client_secret_file": write_secret(h, "notes.secret",
                                                                                "notes-secret-1"),
                      "redirect_uris": [rp_base + "/cb"],
                      "post_logout_redirect_uris": [rp_base + "/logged-out"],
                      "backchannel_logout_uri": "https://127.0.0.1:%d/bcl" % rp_port}},
        ]
        extra = {"auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
                          "portal_host": PORTAL},
                 "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
                 "policies": list(policies)}
        if risk:
            extra["risk"] = risk
        listen = [{"address": "127.0.0.1:%d" % port, "tls": {"cert": op_cert, "key": op_key}}]
        self.cfg = h.config(apps, listen=listen, extra=extra)
        bundle = _ca_bundle(h, [self.ap.cert, rp_cert])
        old = os.environ.get("SSL_CERT_FILE")
        os.environ["SSL_CERT_FILE"] = bundle
        try:
            self.gw = h.gateway(self.cfg)
        finally:
            if old is None:
                os.environ.pop("SSL_CERT_FILE", None)
            else:
                os.environ["SSL_CERT_FILE"] = old
        add_user(h, self.gw)
        self.ap.start(self.ap.conf_lines)
        self.rp = OidcRp(h, self.issuer, "notes", "notes-secret-1", ca_file=op_cert,
                         host="rp2.test", port=rp_port, tls=(rp_cert, rp_key),
                         scope="openid email profile groups")
        self.chromium = Chromium(h, spki=[op_spki, self.ap.spki, rp_spki],
                                 name="oidc-peers-" + h.test_name.split(".")[-1].replace("test_oidc_peers_", ""))

    def audit(self):
        try:
            with open(os.path.join(self.h.dir, "state", "audit", "audit.log")) as f:
                return [json.loads(x) for x in f if x.strip()]
        except FileNotFoundError:
            return []


def _sign_in(tab, p, shot, lang="en"):
    check("/.ztgate/login" in p.url, "%s: ztgate's sign-in page, not %s\n%s"
          % (shot, p.url, p.text[:300]))
    if lang == "ja":
        check_japanese(p, "PM_TITLE_SIGN_IN", "the sign-in page (ja)")
    return tab.submit(shot, username=EMAIL, password=PASSWORD)


def _apache_access(ap):
    try:
        with open(ap.dir + "/access.log") as f:
            return f.read()
    except FileNotFoundError:
        return ""


@timeout(150)
def test_oidc_peers_sso_logout_refresh(h):
    s = Setup(h)
    ap, rp = s.ap, s.rp
    tab = s.chromium.context("en", locale="en-US")
    # 1. Apache: /protected/ → ztgate sign-in → back with the user.
    p = tab.goto(ap.url("/protected/"), "apache-to-ztgate")
    p = _sign_in(tab, p, "apache-signed-in")
    eq((p.status, p.url.split("?")[0]), (200, ap.url("/protected/")),
       "apache after sign-in: %s\n%s" % (p.text[:400], ap.logs()[-2000:]))
    env = json.loads(p.text)
    eq(env.get("REMOTE_USER"), EMAIL, "apache REMOTE_USER")
    eq(env.get("OIDC_CLAIM_iss"), s.issuer, "iss seen by mod_auth_openidc")
    # 2. openid-client: no second sign-in (single sign-on).
    p = tab.goto(rp.login_url(), "notes-sso")
    eq(p.status, 200, "openid-client callback without a sign-in page: %s" % p.text[:600])
    got = json.loads(p.text)
    c = got["claims"]
    eq((c["iss"], c["aud"], c["email"]), (s.issuer, "notes", EMAIL), "claims in openid-client")
    eq(c["amr"], ["pwd"], "amr")
    eq(got["userinfo"]["email"], EMAIL, "userinfo through openid-client")
    status, ref = rp.get("/refresh")
    eq(status, 200, "refresh through openid-client: %r" % ref)
    status, intro = rp.get("/introspect")
    eq((status, intro.get("active")), (200, True), "introspection: %r" % intro)
    # 3. The same in Japanese, in another browser.
    ja = s.chromium.context("ja", locale="ja-JP")
    p = ja.goto(rp.login_url(), "ja-notes-to-ztgate")
    eq(p.lang, "ja", "the sign-in page in Japanese")
    p = _sign_in(ja, p, "ja-notes-signed-in", lang="ja")
    eq(p.status, 200, "openid-client after a Japanese sign-in: %s" % p.text[:300])
    # 4. RP-initiated logout from openid-client (id_token_hint): back-channel logout reaches
    #    both RPs of the session, Apache's session ends, the refresh token is refused. The
    #    Japanese sign-in left openid-client holding the other browser's tokens: sign in again
    #    here first (single sign-on), so the hint names this browser's session (a hint of
    #    another session only gets the confirmation page).
    p = tab.goto(rp.login_url(), "notes-sso-again")
    eq(p.status, 200, "openid-client again, single sign-on: %s" % p.text[:300])
    rp.get("/state")
    p = tab.goto(rp.base + "/logout", "end-session")
    check(p.url.startswith(rp.base + "/logged-out"), "back at the RP after logout: %s\n%s"
          % (p.url, p.text[:300]))
    check(wait_until(lambda: rp.state()["backchannel"], 15),
          "openid-client verified a logout token: %r" % rp.state())
    bcl = rp.state()["backchannel"][0]
    eq((bcl["sub"], bcl["sid"]), (c["sub"], c["sid"]), "logout token names the ID token's sid")
    check(wait_until(lambda: re.search(r"POST /protected/redirect_uri\?logout=backchannel\S* "
                                       r"HTTP/1.1\" 200", _apache_access(ap)), 15),
          "apache accepted the back-channel logout:\n" + ap.logs()[-2000:])
    p = tab.goto(ap.url("/protected/"), "apache-after-logout")
    check("/.ztgate/login" in p.url, "apache's session ended, ztgate's too: %s" % p.url)
    status, ref = rp.get("/refresh")
    check(status != 200, "refresh after logout refused: %r" % ref)
    events = [e for e in s.audit() if e.get("unmapped", {}).get("oidc")]
    kinds = {e["unmapped"]["oidc"]["event"] for e in events}
    check({"authorize", "token", "refresh", "logout", "backchannel_logout"} <= kinds,
          "audit records of the OIDC events: %r" % kinds)
    check(all(e.get("app", {}).get("name") in ("wiki", "notes") for e in events
              if e["unmapped"]["oidc"]["event"] in ("authorize", "token")),
          "the records name the app")


@timeout(150)
def test_oidc_peers_step_up_acr(h):
    s = Setup(h)
    rp = s.rp
    tab = s.chromium.context("en", locale="en-US")
    p = tab.goto(rp.login_url(), "notes-first")
    p = _sign_in(tab, p, "notes-password-only")
    eq(json.loads(p.text)["claims"]["acr"], "urn:ztgate:acr:pwd", "password only: acr pwd")
    # The RP asks for MFA: ztgate steps the session up (TOTP enrolled on the way) and comes back.
    p = tab.goto(rp.login_url(acr_values="urn:ztgate:acr:mfa"), "notes-acr-mfa")
    check("/.ztgate/" in p.url, "a second factor is asked for: %s" % p.url)
    if "/.ztgate/totp" in p.url:
        secret = tab.texts(".mono strong")[0].replace(" ", "")
        p = tab.submit("totp-enrolled", code=totp(secret, at=_fresh_step(secret) * 30))
        link = tab.attr("main a[href^='/.ztgate/']", "href")
        check(link, "a way on after the recovery codes")
        p = tab.click("main a[href^='/.ztgate/login']", "continue")
    eq(p.status, 200, "back at the RP after the step-up: %s %s" % (p.url, p.text[:400]))
    c = json.loads(p.text)["claims"]
    eq(c["acr"], "urn:ztgate:acr:mfa", "acr after the step-up")
    check("otp" in c["amr"] and "mfa" in c["amr"], "amr after the step-up: %r" % c["amr"])


@timeout(150)
def test_oidc_peers_blocked_from_anonymous_ip(h):
    tor = h.path("tor-exits.txt")
    with open(tor, "w") as f:
        f.write("")
    policies = [{"name": BLOCK, "state": "on", "users": {"include": ["all"]},
                 "apps": {"include": ["notes"]}, "conditions": {"anonymous_ip": True},
                 "grant": {"block": True}}]
    s = Setup(h, policies=policies, risk={"anonymous_ips": [{"path": tor, "source": "tor"}]})
    rp = s.rp
    tab = s.chromium.context("en", locale="en-US")
    ja = s.chromium.context("ja", locale="ja-JP")
    for t, shot in ((tab, "en"), (ja, "ja")):
        p = t.goto(rp.login_url(), shot + "-notes")
        p = _sign_in(t, p, shot + "-signed-in", lang=shot)
        eq(p.status, 200, "allowed from a normal address (%s)" % shot)
    # Now 127.0.0.1 is a Tor exit (the feed is re-read on reload).
    with open(tor, "w") as f:
        f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                "ExitAddress 127.0.0.1 2026-11-01 12:07:50\n")
    s.gw.reload(s.cfg)
    for t, lang in ((tab, "en"), (ja, "ja")):
        def blocked():
            return t.goto(rp.login_url(), lang + "-notes-blocked").status == 403
        check(wait_until(blocked, 15, interval=0.5), "blocked once the address is anonymous")
        p = t.page
        check(BLOCK in p.text, "the block page names the policy: %s" % p.text[:300])
        if lang == "ja":
            check_japanese(p, "MSG_BLOCKED_TITLE", "the block page (ja)")
        else:
            eq(p.h1, msg("MSG_BLOCKED_TITLE"), "the block page's title")
        p = t.click("main a[href*='error=access_denied']", lang + "-back-to-rp")
        eq((p.status, json.loads(p.text).get("error")), (400, "access_denied"),
           "the RP is told access_denied: %s" % p.text[:300])
    decisions = [e.get("decision") for e in s.audit()
                 if e.get("unmapped", {}).get("oidc", {}).get("event") == "authorize"]
    check("block" in decisions and "allow" in decisions, "audited decisions: %r" % decisions)


@timeout(120)
def test_oidc_peers_private_key_jwt_es256(h):
    """openid-client authenticates with private_key_jwt (an RS256 client assertion made by the
    library) and expects ES256 ID tokens (id_token_alg: ES256): the library verifies the
    signature against ztgate's JWKS."""
    op_cert, op_key, op_spki = make_cert(h, [PORTAL], name="op-tls")
    rp_cert, rp_key, rp_spki = _cert_with_ip(h, "rp3.test", "rp3-tls")
    port, rp_port = free_port(), free_port()
    issuer = "https://%s:%d" % (PORTAL, port)
    jwk, jwks_file = make_client_key(h, "notes-jwt", "RS256")
    apps = [{"name": "notes-jwt", "kind": "oidc", "sensitivity": "internal",
             "oidc": {"client_id": "notes-jwt", "client_auth": "private_key_jwt",
                      "jwks_file": jwks_file, "id_token_alg": "ES256",
                      "redirect_uris": ["https://rp3.test:%d/cb" % rp_port]}}]
    extra = {"auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
                      "portal_host": PORTAL}}
    listen = [{"address": "127.0.0.1:%d" % port, "tls": {"cert": op_cert, "key": op_key}}]
    gw = h.gateway(h.config(apps, listen=listen, extra=extra))
    add_user(h, gw)
    rp = OidcRp(h, issuer, "notes-jwt", auth="private_key_jwt", private_key_jwk=jwk,
                ca_file=op_cert, host="rp3.test", port=rp_port, tls=(rp_cert, rp_key),
                id_token_alg="ES256", name="oidc-rp-jwt")
    tab = Chromium(h, spki=[op_spki, rp_spki], name="oidc-peers-private-key-jwt").context()
    p = tab.goto(rp.login_url(), "notes-jwt")
    p = _sign_in(tab, p, "notes-jwt-signed-in")
    eq(p.status, 200, "openid-client with private_key_jwt: %s" % p.text[:600])
    got = json.loads(p.text)
    eq((got["claims"]["aud"], got["claims"]["email"]), ("notes-jwt", EMAIL), "claims")
    status, ref = rp.get("/refresh")
    eq(status, 200, "refresh with a fresh client assertion: %r" % ref)
