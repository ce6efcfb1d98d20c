"""The quickstart as a person runs it (`make run`), in Chromium: examples/quickstart.yaml copied
with the harness's ports, state in the test's directory, examples/demo_app.py behind the proxy
and examples/oidc_demo/server.mjs (openid-client) signing in through ztgate's OpenID Connect
provider on the portal host, sso.localhost.

1. The proxied demo app: app.localhost sends the person to sign in on the portal host; the
   password, TOTP enrolment (mfa: required) and the way back to the app.
2. The OIDC demo app: "Sign in with ztgate" -> the portal's sign-in -> back at the demo app,
   which shows the e-mail, acr/amr and the verified ID token claims; "Sign out" (RP-initiated
   logout) -> signed out at ztgate too; signed in again, then signed out at ztgate's own sign-out
   page -> the back-channel logout ends the demo app's session.
"""
import glob
import os
import re

from browser import Chromium, spki_sha256
from harness import Proc, Skip, check, eq, free_port, port_open, timeout, wait_until
from portal_client import _fresh_step, add_user, totp
from test_quickstart import QUICKSTART, ROOT, client_secret

EMAIL = "mika@example.test"
PASSWORD = "mika's long quickstart passphrase"
OIDC_DIR = os.path.join(ROOT, "examples", "oidc_demo")


def _replace(text, old, new, what):
    check(old in text, "the quickstart still has %s (%r)" % (what, old))
    return text.replace(old, new)


def _config_text(ports):
    """The quickstart with this test's ports; cheap password hashing and a short drain so the
    test stays quick; everything else exactly as shipped (state under ./data, relative to the
    gateway's working directory, the test's directory)."""
    with open(QUICKSTART) as f:
        text = f.read()
    text = _replace(text, "127.0.0.1:8080", "127.0.0.1:%d" % ports["http"], "the HTTP listener")
    text = _replace(text, "127.0.0.1:8443", "127.0.0.1:%d" % ports["https"], "the TLS listener")
    text = _replace(text, "127.0.0.1:9444", "127.0.0.1:%d" % ports["admin"], "the admin API")
    text = _replace(text, "http://127.0.0.1:8081", "http://127.0.0.1:%d" % ports["demo"],
                    "the demo app's upstream")
    text = _replace(text, "http://127.0.0.1:8082/", "http://127.0.0.1:%d/" % ports["oidc"],
                    "the OIDC demo app's URLs")
    text = _replace(text, "  workers: 0", "  workers: 2", "the worker count")
    text = _replace(text, "drain: 30s", "drain: 3s", "the drain timeout")
    return _replace(text, "  password_min_length: 12\n",
                    "  password_min_length: 12\n  argon2_memory: 19MiB\n  argon2_passes: 2\n",
                    "the auth section")


def _quickstart(h, with_oidc_demo):
    ports = {k: free_port() for k in ("http", "https", "admin", "demo", "oidc")}
    client_secret(h)
    gw = h.gateway(_config_text(ports), start=False, name="ztgate")
    gw.ports, gw.tls_ports = [ports["http"]], [ports["https"]]
    gw.port, gw.tls_port = ports["http"], ports["https"]
    gw.start()
    demo = Proc("demo-app", ["python3", os.path.join(ROOT, "examples", "demo_app.py"),
                             str(ports["demo"])], h.dir, cwd=h.dir)
    h.procs.append(demo)
    apps = [(demo, ports["demo"])]
    oidc = None
    if with_oidc_demo:
        if not os.path.isdir(os.path.join(OIDC_DIR, "node_modules", "openid-client")):
            raise Skip("examples/oidc_demo has no node_modules (run scripts/setup.sh)")
        oidc = Proc("oidc-demo", [
            "node", os.path.join(OIDC_DIR, "server.mjs"), "--port", str(ports["oidc"]),
            "--issuer", "https://sso.localhost:%d" % ports["https"], "--client-id", "demo-oidc",
            "--secret-file", "./data/demo-oidc.secret",
            "--ca", "./data/tls/gateway-cert.pem"], h.dir, cwd=h.dir)
        h.procs.append(oidc)
        apps.append((oidc, ports["oidc"]))
    for proc, port in apps:
        check(wait_until(lambda: port_open(port) or not proc.alive(), 15.0) and proc.alive(),
              "%s did not start:\n%s" % (proc.name, proc.stderr_text()))
    add_user(h, gw, EMAIL, PASSWORD)
    spki = spki_sha256(os.path.join(h.dir, "data", "tls", "gateway-cert.pem"))
    return ports, oidc, Chromium(h, spki=[spki])


def _code(secret):
    step = _fresh_step(secret)
    check(step is not None, "an unused TOTP time step")
    return totp(secret, at=step * 30)


def _first_sign_in(tab, portal):
    """On the portal's sign-in page: password, TOTP enrolment, recovery codes, continue.
    Returns the page the person lands on and the TOTP key."""
    check(tab.page.url.startswith(portal + "/.ztgate/login"),
          "signed in on the portal host %s: %s" % (portal, tab.page.url))
    p = tab.submit("enrol", username=EMAIL, password=PASSWORD)
    check(tab.attr("a[href^='otpauth://totp/']", "href"),
          "the quickstart asks for TOTP enrolment (mfa: required): %s" % p.text[:300])
    secret = tab.texts(".mono strong")[0].replace(" ", "")
    p = tab.submit("recovery-codes", code=_code(secret))
    check(len(tab.texts("ul.codes li")) == 10, "recovery codes shown: %s" % p.text[:300])
    return tab.click("main a[href^='/.ztgate/login']", "continue"), secret


@timeout(180)
def test_quickstart_sign_in_on_the_portal_host(h):
    """auth.portal_host: sso.localhost moves the sign-in of app.localhost to the portal host;
    the person comes back to the demo app signed in, and the app sees who it is."""
    ports, _, chromium = _quickstart(h, with_oidc_demo=False)
    tab = chromium.context()
    app = "http://app.localhost:%d" % ports["http"]
    portal = "http://sso.localhost:%d" % ports["http"]
    p = tab.goto(app + "/records", "sign-in")
    eq(p.status, 200, "the sign-in page")
    p, _ = _first_sign_in(tab, portal)
    eq((p.status, p.url), (200, app + "/records"), "back at the demo app, at the page asked for")
    check("Hello from the demo app behind ztgate" in p.text, "the demo app answers: %s"
          % p.text[:300])
    check(re.search(r"X-ZT-Email\s+%s" % re.escape(EMAIL), p.text),
          "the demo app sees the signed-in user: %s" % p.text[:1500])


def _oidc_provider_built():
    return glob.glob(os.path.join(ROOT, "src", "idp", "oidc*.c"))


@timeout(240)
def test_quickstart_oidc_sign_in_and_out(h):
    if not _oidc_provider_built():
        raise Skip("ztgate's OpenID Connect provider (src/idp/oidc*.c, issue 13) is not on this "
                   "branch yet: the OIDC demo app has no provider to sign in with")
    ports, oidc, chromium = _quickstart(h, with_oidc_demo=True)
    tab = chromium.context()
    rp = "http://127.0.0.1:%d" % ports["oidc"]
    issuer = "https://sso.localhost:%d" % ports["https"]

    # 1. Sign in with ztgate: the portal's sign-in on the issuer's host, then back.
    p = tab.goto(rp + "/", "oidc-demo")
    check("Sign in with ztgate" in p.text, "the demo app offers to sign in: %s" % p.text[:300])
    p = tab.click("#sign-in", "oidc-sign-in")
    p, secret = _first_sign_in(tab, issuer)
    eq((p.status, p.url), (200, rp + "/"), "back at the OIDC demo app, signed in")
    eq(p.h1, "Signed in with ztgate", "the demo app's signed-in page")
    eq(tab.texts("#email"), [EMAIL], "the e-mail from the ID token")
    amr = tab.texts("#amr")[0]
    check("otp" in amr or "mfa" in amr, "amr names the second factor: %r" % amr)
    claims = tab.texts("#id-token-claims td")
    check(issuer in claims and "demo-oidc" in claims,
          "the ID token's iss and aud, verified by openid-client: %r" % claims)

    # 2. One sign-in: the proxied app on the same portal (HTTPS, where the session cookie is)
    # needs none.
    app = "https://app.localhost:%d" % ports["https"]
    p = tab.goto(app + "/", "app-single-sign-on")
    eq((p.status, p.url), (200, app + "/"), "the proxied demo app without a second sign-in")

    # 3. Sign out (RP-initiated logout): back at the demo app, signed out at ztgate too.
    p = tab.goto(rp + "/", "oidc-demo-again")
    p = tab.click("#sign-out", "signed-out")
    check(p.url.startswith(rp + "/signed-out"), "back at the post-logout URI: %s" % p.url)
    check("You are signed out of this app and of ztgate." in p.text, p.text[:300])
    p = tab.click("#sign-in", "sign-in-after-sign-out")
    check(p.url.startswith(issuer + "/.ztgate/login"),
          "ztgate asks for the password again: signed out there: %s" % p.url)

    # 4. Signed in again; signed out at ztgate's own sign-out page: ztgate's back-channel
    # logout token ends the demo app's session (verified by the app: signature, iss, aud,
    # events, no nonce).
    tab.submit("password-again", username=EMAIL, password=PASSWORD)
    p = tab.submit("totp-again", code=_code(secret))
    eq((p.status, p.url, p.h1), (200, rp + "/", "Signed in with ztgate"), "signed in again")
    tab.goto(issuer + "/.ztgate/logout", "ztgate-sign-out")
    tab.submit("ztgate-signed-out")

    def demo_signed_out():
        return "Sign in with ztgate" in tab.goto(rp + "/", "after-back-channel").text

    check(wait_until(demo_signed_out, 15.0, interval=0.5),
          "the back-channel logout ended the demo app's session:\n%s"
          % oidc.stderr_text()[-2000:])
    check("back-channel logout" in tab.page.text or "back-channel" in tab.page.text,
          "the demo app says why: %s" % tab.page.text[:400])
    check(re.search(r"back-channel logout \(sid [^)]+\): 1 session", oidc.stderr_text()),
          "the demo app ended exactly one session: %s" % oidc.stderr_text()[-1500:])
