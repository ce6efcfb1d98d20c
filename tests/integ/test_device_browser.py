"""A browser tied to an enrolled device by the device cookie (docs/DEVICES.md, "Browsers on an
enrolled device"), on a real gateway.

A signed-in browser WITHOUT a client certificate asks the portal for an enrolment code (it gets
a pending cookie), the "agent" enrols with that code (openssl + curl, as ztagent does), the
same browser comes back to the enrolment page and gets the binding cookie. An app that needs a
compliant device then opens for that browser once the device reported a compliant posture.
Refused with the policy's block page: a modified or forged cookie, the cookie in another user's
session, and any request after the device was revoked. The cookies never reach the app."""
import base64
import json
import os
import re
import shutil
import subprocess

from harness import Skip, check, eq, free_port, wait_until
from portal_client import PASSWORD, add_user, complete_sign_in
from test_case1_device import DeviceBrowser
from test_device_server import POSTURE, _curl

ALICE = "alice@example.test"
BOB = "bob@example.test"
POLICY = "vault-needs-compliant-device"
BIND = "__Host-ztgate_devbind"
PENDING = "__Host-ztgate_devenrol"
ENROLL = "/.ztgate/device/enroll"


def _gateway(h):
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    up = h.upstream()
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    policies = [{"name": POLICY, "users": {"include": ["all"]},
                 "apps": {"include": ["sensitivity:confidential"]},
                 "grant": {"controls": ["compliant_device"]}}]
    cfg = h.config([h.app(up, name="vault", sensitivity="confidential")], listen=listen,
                   extra={"audit": {"path": audit},
                          "devices": {"require_antivirus": True},
                          "policies": policies})
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, ALICE, PASSWORD)
    add_user(h, gw, BOB, "bob's long passphrase for the vault")
    gw.start()
    return gw, audit


def _app(b):
    return b.get("/", headers=[("Accept", "text/html")])


def _blocked(r, what):
    eq(r.status, 403, what)
    check(POLICY.encode() in r.body, "%s: the block page names the policy" % what)


def _enrol_agent(h, gw, code):
    key, csr = h.path("device.key"), h.path("device.csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=laptop"], check=True, capture_output=True)
    body = {"code": code, "csr": open(csr).read(), "hostname": "laptop", "platform": "linux"}
    rc, status, out = _curl("https://127.0.0.1:%d/.ztgate/device/enroll" % gw.tls_port, body)
    eq(status, 201, "agent enrolment: %r" % (out,))
    cert = h.path("device.pem")
    with open(cert, "w") as f:
        f.write(out["certificate"])
    return out["device_id"], cert, key


def _set_cookie(b, name):
    """The last Set-Cookie header for `name` this browser received, or None."""
    got = [v for v in b.set_cookies if v.split("=", 1)[0] == name]
    return got[-1] if got else None


def _flip(value):
    """The same base64url value with one byte of the payload changed."""
    raw = bytearray(base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)))
    raw[20] ^= 0x01
    return base64.urlsafe_b64encode(bytes(raw)).decode().rstrip("=")


def test_device_browser_binding(h):
    gw, audit = _gateway(h)
    b = DeviceBrowser(gw.tls_port, None)  # never presents a client certificate
    complete_sign_in(b, ALICE, PASSWORD)
    _blocked(_app(b), "signed in, no device")

    # 1. The portal page mints a code and sets the pending cookie (HttpOnly, Secure, __Host-).
    tok, page = b.csrf(ENROLL)
    check(b"device-bound" not in page.body, "not bound yet")
    r = b.post(ENROLL, {"csrf_token": tok})
    eq(r.status, 200, "code page")
    m = re.search(rb"<code>([A-Z2-9]{5}-[A-Z2-9]{5})</code>", r.body)
    check(m, "the page shows a code: %r" % r.body[:500])
    code = m.group(1).decode()
    sc = _set_cookie(b, PENDING)
    check(sc is not None, "pending cookie set: %r" % b.set_cookies)
    for attr in ("HttpOnly", "Secure", "Path=/", "SameSite=Lax", "Max-Age="):
        check(attr in sc, "pending cookie has %s: %s" % (attr, sc))
    check(b"device-continue" in r.body, "a continue link")

    # Back too early: the device has not enrolled yet.
    r = b.get(ENROLL)
    eq(r.status, 200, "continue before the agent enrolled")
    check(b"device-continue" in r.body and b"device-bound" not in r.body, "waiting page")
    check(_set_cookie(b, BIND) is None, "no binding yet")
    _blocked(_app(b), "pending only")

    # 2. The agent enrols with the code.
    device_id, cert, key = _enrol_agent(h, gw, code)

    # 3. The same browser continues and is tied to the device.
    r = b.get(ENROLL)
    eq(r.status, 200, "continue after enrolment")
    check(b"device-bound" in r.body and b"laptop" in r.body, "bound page: %r" % r.body[:600])
    sc = _set_cookie(b, BIND)
    check(sc is not None, "binding cookie set")
    for attr in ("HttpOnly", "Secure", "Path=/", "SameSite=Lax"):
        check(attr in sc, "binding cookie has %s: %s" % (attr, sc))
    max_age = int(re.search(r"Max-Age=(\d+)", sc).group(1))
    check(300 * 86400 < max_age <= 366 * 86400, "Max-Age is the certificate's lifetime: %d"
          % max_age)
    check(PENDING not in b.cookies, "the pending cookie is gone")
    binding = b.cookies[BIND]
    eq(len(binding), 98, "binding cookie length")

    # No posture yet: the device is known but not compliant.
    r = _app(b)
    _blocked(r, "bound, no posture yet")
    check(b"posture" in r.body, "the block page says why: %r" % r.body[:800])

    # 4. The device reports a compliant posture: the browser gets in without a certificate.
    rc, status, out = _curl("https://127.0.0.1:%d/.ztgate/device/posture" % gw.tls_port,
                            POSTURE, cert, key)
    eq((status, out.get("compliant")), (200, True), "posture: %r" % (out,))
    r = _app(b)
    eq(r.status, 200, "compliant device via the binding cookie: %r" % r.body[:300])
    echo = r.json()
    cookies = " ".join(v for n, v in echo["headers"] if n.lower() == "cookie")
    check("ztgate_" not in cookies, "no ztgate cookie reaches the app: %r" % cookies)

    # 5. Refused: a modified cookie, a forged one, the cookie in bob's session.
    for bad, what in ((_flip(binding), "modified cookie"),
                      (binding[:-2] + ("AA" if binding[-2:] != "AA" else "BB"), "forged MAC"),
                      ("x" * 98, "garbage"), (binding + "A", "too long")):
        forged = DeviceBrowser(gw.tls_port, None)
        forged.cookies = dict(b.cookies, **{BIND: bad})
        _blocked(_app(forged), what)
    bob = DeviceBrowser(gw.tls_port, None)
    complete_sign_in(bob, BOB, "bob's long passphrase for the vault")
    _blocked(_app(bob), "bob without a binding")
    bob.cookies[BIND] = binding
    _blocked(_app(bob), "alice's binding cookie in bob's session")
    # Without the session the cookie is nothing (sign-in first).
    anon = DeviceBrowser(gw.tls_port, None)
    anon.cookies = {BIND: binding}
    r = _app(anon)
    check(r.status in (302, 303, 401), "no session: sign-in first (%d)" % r.status)
    eq(_app(b).status, 200, "alice still gets in")

    # 6. Revoking the device makes the cookie worthless.
    r = h.cli("device", "revoke", device_id, "--config", gw.config_path)
    eq(r.returncode, 0, "revoke: " + r.stderr)
    # Running gateways notice the revocation counter within 250 ms.
    check(wait_until(lambda: _app(b).status == 403, 5.0), "refused after the revocation")
    _blocked(_app(b), "after the device was revoked")
    r = b.get(ENROLL)
    eq(r.status, 200, "enrolment page still works")

    # The audit log records the binding with how the device was proven.
    with open(audit, errors="replace") as f:
        recs = [json.loads(ln) for ln in f if ln.strip()]
    bound = [x for x in recs if x.get("message") == "browser tied to enrolled device"]
    eq(len(bound), 1, "one binding record")
    eq((bound[0]["device"]["uid"], bound[0]["unmapped"]["device_proof"]), (device_id, "cookie"),
       "binding record")
    with open(audit, errors="replace") as f:
        text = f.read()
    check(binding not in text, "the cookie value is not in the audit log")


def test_device_browser_cookie_needs_own_code(h):
    """Bob's pending cookie does not bind bob's browser to alice's device, and a deleted
    device's binding stops working."""
    gw, _ = _gateway(h)
    alice = DeviceBrowser(gw.tls_port, None)
    complete_sign_in(alice, ALICE, PASSWORD)
    tok, _ = alice.csrf(ENROLL)
    r = alice.post(ENROLL, {"csrf_token": tok})
    code = re.search(rb"<code>([A-Z2-9-]{11})</code>", r.body).group(1).decode()
    pending = alice.cookies[PENDING]
    device_id, cert, key = _enrol_agent(h, gw, code)

    bob = DeviceBrowser(gw.tls_port, None)
    complete_sign_in(bob, BOB, "bob's long passphrase for the vault")
    bob.cookies[PENDING] = pending
    r = bob.get(ENROLL)
    eq(r.status, 200, "bob's enrolment page")
    check(b"device-bound" not in r.body and BIND not in bob.cookies,
          "alice's pending cookie does not bind bob's browser")

    r = alice.get(ENROLL)
    check(BIND in alice.cookies, "alice is bound")
    rc, status, _ = _curl("https://127.0.0.1:%d/.ztgate/device/posture" % gw.tls_port,
                          POSTURE, cert, key)
    eq(status, 200, "posture")
    eq(_app(alice).status, 200, "alice's bound browser gets in")
    r = h.cli("device", "delete", device_id, "--config", gw.config_path)
    eq(r.returncode, 0, "delete: " + r.stderr)
    check(wait_until(lambda: _app(alice).status == 403, 5.0), "refused after the deletion")
    _blocked(_app(alice), "after the device was deleted")
