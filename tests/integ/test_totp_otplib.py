"""TOTP interoperability with otplib (npm), an independent implementation playing the
authenticator app: it reads the otpauth:// URI from the enrolment page the way apps do, and its
codes complete enrolment and later sign-ins; a code it made for an earlier time step is refused.
Also the RFC 6238 test vectors live in tests/unit/test_totp.c."""
import html
import json
import os
import re
import shutil
import subprocess

from harness import Skip, check, eq
from portal_client import Browser, add_user, mfa, session_cookie, sign_in

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL_DIR = os.path.join(HERE, "totp")
EMAIL = "nori@example.test"
PASSWORD = "correct horse battery staple"


def _otp(*args):
    if shutil.which("node") is None or shutil.which("npm") is None:
        raise Skip("node/npm not installed")
    if not os.path.exists(os.path.join(TOOL_DIR, "node_modules", "otplib", "package.json")):
        subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=TOOL_DIR,
                       check=True, capture_output=True, timeout=240)
    res = subprocess.run(["node", os.path.join(TOOL_DIR, "otp.mjs")] + list(args),
                         capture_output=True, text=True, timeout=30)
    check(res.returncode == 0, "otplib: %s" % res.stderr)
    return res.stdout.strip()


def test_otplib_enrols_and_signs_in(h):
    _otp("code", "JBSWY3DPEHPK3PXP")  # installs otplib before the gateway starts
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"argon2_memory": "19MiB", "argon2_passes": 2,
                                            "issuer": "Example School"}}))
    add_user(h, gw, EMAIL, PASSWORD)
    b = Browser(gw.port)
    r = sign_in(b, EMAIL, PASSWORD)
    eq(r.status, 303, "password accepted")
    check(r.header("Location", "").startswith("/.ztgate/totp"), "enrolment required")
    page = b.get("/.ztgate/totp")
    eq(page.status, 200, "enrolment page")
    uri = re.search(rb'(otpauth://totp/[^"<\s]+)', page.body)
    check(uri, "otpauth URI on the page")
    app = json.loads(_otp("uri", html.unescape(uri.group(1).decode())))
    eq(app["issuer"], "Example School", "issuer as an app shows it")
    eq(app["account"], EMAIL, "account as an app shows it")
    shown = re.search(rb'class="mono"><strong>([A-Z2-7 ]+)</strong>', page.body).group(1)
    eq(app["secret"], shown.decode().replace(" ", ""), "the URI's secret is the one displayed")
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', page.body).group(1).decode()
    sealed = re.search(rb'name="enrol" value="([^"]+)"', page.body).group(1).decode()
    r = b.post("/.ztgate/totp", {"csrf_token": tok, "enrol": sealed, "code": app["code"]})
    eq(r.status, 200, "an otplib code confirms enrolment")
    check(session_cookie(b), "signed in after enrolment")
    eq(b.get("/", headers=[("Accept", "text/html")]).status, 200, "the app is reachable")
    # A later sign-in: the same code (same time step) is refused as a replay...
    b2 = Browser(gw.port)
    eq(sign_in(b2, EMAIL, PASSWORD).status, 303, "password again")
    r = mfa(b2, _otp("code", app["secret"]))
    check(r.status != 303, "a code of an already used time step is refused (got %d)" % r.status)
    # ...and a wrong one too; neither leaves a session behind.
    r = mfa(b2, "000000" if app["code"] != "000000" else "111111")
    check(r.status != 303, "a wrong code is refused")
    eq(b2.get("/", headers=[("Accept", "text/html")]).status, 302, "still not signed in")
