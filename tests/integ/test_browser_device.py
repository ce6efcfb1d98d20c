"""A person's device in Chromium (docs/DEVICES.md, "Browsers on an enrolled device"): the app
needs a compliant device, so the block page says so; the person opens the enrolment page,
presses the button, gets a code (the agent enrols with it, done here with openssl + curl as
ztagent does), presses "Done - continue" and the browser is tied to the device; once the device
reports a compliant posture the app opens. The enrolment and block pages also in Japanese.
Screenshots under BUILD_DIR/browser-shots/device-*/."""
import re

from browser import Chromium, make_cert
from harness import check, eq, free_port, timeout, wait_until
from portal_client import add_user
from test_device_browser import POLICY, _enrol_agent
from test_device_server import POSTURE, _curl

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
ENROLL = "/.ztgate/device/enroll"
BUTTON = "form button[type=submit]"


def _gateway(h):
    cert, key, spki = make_cert(h, ["app.test"])
    up = h.upstream()
    listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
    policies = [{"name": POLICY, "users": {"include": ["all"]},
                 "apps": {"include": ["sensitivity:confidential"]},
                 "grant": {"controls": ["compliant_device"]}}]
    cfg = h.config([h.app(up, name="vault", sensitivity="confidential")], listen=listen,
                   extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                   "argon2_passes": 2},
                          "audit": {"path": h.path("state/audit/audit.log")},
                          "devices": {"require_antivirus": True},
                          "policies": policies})
    gw = h.gateway(cfg)
    add_user(h, gw, EMAIL, PASSWORD)
    return gw, up, spki, "https://app.test:%d" % gw.tls_port


def _signed_in(chromium, base, locale, shot):
    tab = chromium.context(locale, locale=locale)
    tab.goto(base + "/vault", None)
    p = tab.submit(shot, username=EMAIL, password=PASSWORD)
    return tab, p


@timeout(120)
def test_browser_device_enrolment_and_binding(h):
    gw, up, spki, base = _gateway(h)
    chromium = Chromium(h, spki=[spki])

    # The app needs a compliant device: the block page names the policy and what to do.
    tab, p = _signed_in(chromium, base, "en-US", "device-block")
    eq((p.status, p.h1), (403, "Access blocked"), "the device block page")
    check(POLICY in p.text and "device" in p.text, "the page says why: %s" % p.text[:500])

    # The enrolment page: a button gives a code and the command for the device.
    p = tab.goto(base + ENROLL, "enrol-page")
    eq(p.status, 200, "the enrolment page")
    p = tab.submit("enrol-code", button=BUTTON)
    eq(p.status, 200, "the code page")
    code = re.search(r"\b([A-Z2-9]{5}-[A-Z2-9]{5})\b", p.text)
    check(code, "a code on the page: %s" % p.text[:500])
    code = code.group(1)
    check("ztagent enroll" in p.text and code in p.text, "the command to run: %s" % p.text[:600])
    check([c for c in tab.cookies() if c["name"] == "__Host-ztgate_devenrol"],
          "the pending cookie")

    # Too early: the device has not enrolled yet.
    p = tab.click("#device-continue", "enrol-waiting")
    check(not tab.attr("#device-bound", "id"), "not bound before the agent enrolled")

    # The agent enrols with the code; the same browser continues and is tied to the device.
    device_id, cert, key = _enrol_agent(h, gw, code)
    p = tab.click("#device-continue", "enrol-bound")
    check(tab.attr("#device-bound", "id"), "bound: %s" % p.text[:500])
    check("laptop" in p.text, "the page names the device: %s" % p.text[:500])
    check([c for c in tab.cookies() if c["name"] == "__Host-ztgate_devbind"], "binding cookie")

    # No posture yet: still blocked; a compliant report opens the app.
    p = tab.goto(base + "/vault", "device-no-posture")
    eq(p.status, 403, "bound, but no posture yet")
    rc, status, out = _curl("https://127.0.0.1:%d/.ztgate/device/posture" % gw.tls_port,
                            POSTURE, cert, key)
    eq((status, out.get("compliant")), (200, True), "posture: %r" % (out,))
    p = tab.goto(base + "/vault", "device-app")
    eq((p.status, p.url), (200, base + "/vault"), "the app on a compliant device")

    # Revoked: blocked again at once.
    r = h.cli("device", "revoke", device_id, "--config", gw.config_path)
    eq(r.returncode, 0, "revoke: " + r.stderr)
    check(wait_until(lambda: tab.goto(base + "/vault", None).status == 403, 5.0),
          "blocked after the revocation")
    tab.screenshot("device-revoked")

    # The same pages in Japanese (another browser of the same person).
    ja, p = _signed_in(chromium, base, "ja-JP", "ja-device-block")
    eq((p.status, p.h1, p.lang), (403, "アクセスがブロックされました", "ja"),
       "the Japanese block page")
    p = ja.goto(base + ENROLL, "ja-enrol-page")
    eq((p.status, p.lang), (200, "ja"), "the Japanese enrolment page")
    p = ja.submit("ja-enrol-code", button=BUTTON)
    check(re.search(r"\b[A-Z2-9]{5}-[A-Z2-9]{5}\b", p.text), "a code: %s" % p.text[:500])
