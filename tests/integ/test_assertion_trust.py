"""The `trust` claim of X-ZT-Assertion (docs/ASSERTION.md) and the X-ZT-Trust / X-ZT-Device
headers carry the device trust the decision used, on every request: within one session and one
app, as the same browser moves from no device to an enrolled, a compliant and an at-risk device,
the app sees each change on the next request (the signed token is cached, but never across a
change of trust or device)."""
import base64
import json
import shutil

from harness import Skip, eq, free_port
from portal_client import PASSWORD, add_user, complete_sign_in
from test_case1_device import DeviceBrowser
from test_device_browser import _enrol_agent
from test_device_server import POSTURE, _curl

ALICE = "alice@example.test"


def _claims(token):
    part = token.split(".")[1]
    return json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))


def _seen(b):
    """(trust claim, device claim, X-ZT-Trust, X-ZT-Device) the app received."""
    r = b.get("/", headers=[("Accept", "text/html")])
    eq(r.status, 200, "the app answers: %r" % r.body[:300])
    headers = {n.lower(): v for n, v in r.json()["headers"]}
    claims = _claims(headers["x-zt-assertion"])
    return (claims.get("trust"), claims.get("device"), headers.get("x-zt-trust"),
            headers.get("x-zt-device"))


def test_assertion_carries_the_decision_trust(h):
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    up = h.upstream()
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": tls_dir + "/cert.pem", "key": tls_dir + "/key.pem",
                       "self_signed": True}}]
    cfg = h.config([h.app(up, sensitivity="internal")], listen=listen,
                   extra={"devices": {"require_antivirus": True}})
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, ALICE, PASSWORD)
    gw.start()
    base = "https://127.0.0.1:%d/.ztgate/device/" % gw.tls_port

    b = DeviceBrowser(gw.tls_port, None)
    complete_sign_in(b, ALICE, PASSWORD)
    eq(_seen(b), ("unmanaged", None, "unmanaged", None), "no device")

    r = h.cli("device", "enroll-code", "--user", ALICE, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "enroll-code: " + r.stderr)
    device_id, cert, key = _enrol_agent(h, gw, json.loads(r.stdout)["code"])
    b.cert = (cert, key)  # the same session, now over connections that prove the device
    eq(_seen(b), ("noncompliant", device_id, "noncompliant", device_id),
       "enrolled, no posture report yet")

    rc, status, out = _curl(base + "posture", POSTURE, cert, key)
    eq((status, out.get("compliant")), (200, True), "posture: %r" % (out,))
    eq(_seen(b), ("compliant", device_id, "compliant", device_id), "compliant posture")

    alert = {"event": "detected", "path": "/home/alice/Downloads/x.com", "sha256": "ab" * 32,
             "signature": "Eicar-Test-Signature", "detected_at": "2026-11-23T10:05:00Z"}
    rc, status, out = _curl(base + "alert", alert, cert, key)
    eq((status, out.get("risk")), (200, "high"), "alert: %r" % (out,))
    eq(_seen(b), ("at_risk", device_id, "at_risk", device_id), "malware alert")

    b.cert = None  # the same session from a connection without the device
    eq(_seen(b), ("unmanaged", None, "unmanaged", None), "device not proven")
