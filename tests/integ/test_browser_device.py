"""A person's device in Chromium (docs/DEVICES.md, "Browsers on an enrolled device"): the app
needs a compliant device, so the page says a trusted device is needed and links to the
enrolment page; there the person presses the button, gets a code and a `ztagent enroll`
command, runs that command as it is on the device (the real build/ztagent), presses
"Done - continue" and the browser is tied to the device; once the device reports a compliant
posture the app opens. The same pages in Japanese, with no English left on them.
Screenshots under BUILD_DIR/browser-shots/device-*/.

The app is published as `localhost` (not app.test as elsewhere): the command names the host the
page was opened with, and ztagent runs outside the browser, where only real names resolve."""
import os
import re
import shlex
import socket
import subprocess

from browser import Chromium, check_japanese, make_cert, msg
from harness import Skip, check, eq, free_port, timeout, wait_until
from portal_client import add_user
from test_agent import SANITIZER
from test_device_browser import POLICY
from test_device_server import POSTURE, _curl

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
ENROLL = "/.ztgate/device/enroll"
BUTTON = "form button[type=submit]"
ENROL_LINK = "main a[href='%s']" % ENROLL


def _agent(h):
    path = os.path.join(h.build_dir, "ztagent")
    if not os.path.exists(path):
        raise Skip("build has no ztagent")
    return path


def _gateway(h):
    cert, key, spki = make_cert(h, ["localhost"])
    up = h.upstream()
    listen = [{"address": "127.0.0.1:%d" % free_port(), "tls": {"cert": cert, "key": key}}]
    policies = [{"name": POLICY, "users": {"include": ["all"]},
                 "apps": {"include": ["sensitivity:confidential"]},
                 "grant": {"controls": ["compliant_device"]}}]
    cfg = h.config([h.app(up, name="vault", host="localhost", sensitivity="confidential")],
                   listen=listen,
                   extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                   "argon2_passes": 2},
                          "audit": {"path": h.path("state/audit/audit.log")},
                          "devices": {"require_antivirus": True},
                          "policies": policies})
    gw = h.gateway(cfg)
    add_user(h, gw, EMAIL, PASSWORD)
    return gw, up, spki, "https://localhost:%d" % gw.tls_port


def _signed_in(chromium, base, locale, shot):
    tab = chromium.context(locale, locale=locale)
    tab.goto(base + "/vault", None)
    p = tab.submit(shot, username=EMAIL, password=PASSWORD)
    return tab, p


def _copy_command(tab):
    """The command the code page shows, as the person sees it (text, not HTML)."""
    shown = tab.texts("#enrol-command")
    eq(len(shown), 1, "one command on the page")
    return shown[0]


def _run_command(h, command, agent_dir):
    """Runs the command copied from the page verbatim with the real ztagent; returns the
    enrolled device's id and the agent's directory."""
    shown = [command]
    argv = shlex.split(command)
    eq(argv[:2], ["ztagent", "enroll"], "the command runs ztagent enroll: %r" % shown[0])
    check("--server-sha256" in argv and "--insecure-first-use" not in argv,
          "the command pins the gateway's certificate: %r" % shown[0])
    env = dict(os.environ, ZTAGENT_DIR=h.path(agent_dir))
    r = subprocess.run([_agent(h)] + argv[1:], env=env, capture_output=True, text=True,
                       timeout=60, stdin=subprocess.DEVNULL)
    eq(r.returncode, 0, "the command as shown enrols the device: %s\n%s" % (shown[0], r.stderr))
    check(not SANITIZER.search(r.stderr), "sanitizer report from ztagent:\n" + r.stderr)
    m = re.search(r"enrolled: device (\S+) for %s" % re.escape(EMAIL), r.stdout)
    check(m, "ztagent says it enrolled: %r" % r.stdout)
    return m.group(1), env["ZTAGENT_DIR"]


@timeout(150)
def test_browser_device_enrolment_and_binding(h):
    gw, up, spki, base = _gateway(h)
    chromium = Chromium(h, spki=[spki])
    device_name = socket.gethostname()

    # The app needs a compliant device: the page says so, names the policy, links to enrolment.
    tab, p = _signed_in(chromium, base, "en-US", "device-block")
    eq((p.status, p.title, p.h1), (403, msg("MSG_DEVICE_TITLE"), msg("MSG_DEVICE_TITLE")),
       "the device page, titled for its outcome")
    check(POLICY in p.text and msg("MSG_DO_COMPLIANT_DEVICE") in p.text,
          "the page says why and what to do: %s" % p.text[:500])
    eq(tab.texts(ENROL_LINK), [msg("MSG_ENROL_DEVICE_LINK")], "a link to the enrolment page")

    # The person follows the link; a button gives a code and the command for the device.
    p = tab.click(ENROL_LINK, "enrol-page")
    eq((p.status, p.url, p.h1), (200, base + ENROLL, msg("DM_TITLE")), "the enrolment page")
    p = tab.submit("enrol-code", button=BUTTON)
    eq(p.status, 200, "the code page")
    code = re.search(r"\b([A-Z2-9]{5}-[A-Z2-9]{5})\b", p.text)
    check(code, "a code on the page: %s" % p.text[:500])
    command = _copy_command(tab)
    check(code.group(1) in command, "the command carries the code: %r" % command)
    check([c for c in tab.cookies() if c["name"] == "__Host-ztgate_devenrol"],
          "the pending cookie")

    # Too early: the device has not enrolled yet.
    p = tab.click("#device-continue", "enrol-waiting")
    check(not tab.attr("#device-bound", "id"), "not bound before the agent enrolled")
    check(msg("DM_WAITING") in p.text, "the page says to run the command first: %s"
          % p.text[:400])

    # The command, copied from the page, enrols the device; the browser is tied to it.
    device_id, agent_dir = _run_command(h, command, "agent-en")
    p = tab.click("#device-continue", "enrol-bound")
    check(tab.attr("#device-bound", "id"), "bound: %s" % p.text[:500])
    check(device_name in p.text, "the page names the device (%s): %s"
          % (device_name, p.text[:500]))
    check([c for c in tab.cookies() if c["name"] == "__Host-ztgate_devbind"], "binding cookie")

    # No posture yet: still refused, now for what the device lacks, with no enrolment link.
    p = tab.goto(base + "/vault", "device-no-posture")
    eq((p.status, p.h1), (403, msg("MSG_DEVICE_TITLE")), "bound, but no posture yet")
    check(msg("MSG_DEV_NO_REPORT") in p.text, "the page says no report came: %s" % p.text[:500])
    eq(tab.texts(ENROL_LINK), [], "an enrolled device is not sent to enrol again")
    # The posture report is sent with the agent's own certificate and key, but with a
    # compliant posture: the machine running the tests need not pass the policy's checks.
    rc, status, out = _curl("https://127.0.0.1:%d/.ztgate/device/posture" % gw.tls_port,
                            POSTURE, os.path.join(agent_dir, "device.pem"),
                            os.path.join(agent_dir, "device.key"))
    eq((status, out.get("compliant")), (200, True), "posture: %r" % (out,))
    p = tab.goto(base + "/vault", "device-app")
    eq((p.status, p.url), (200, base + "/vault"), "the app on a compliant device")
    check("/vault" in up.paths(), "the app got the request")

    # Revoked: blocked again at once.
    r = h.cli("device", "revoke", device_id, "--config", gw.config_path)
    eq(r.returncode, 0, "revoke: " + r.stderr)
    check(wait_until(lambda: tab.goto(base + "/vault", None).status == 403, 5.0),
          "blocked after the revocation")
    tab.screenshot("device-revoked")

    # The same way in Japanese (another browser of the same person, another device): every
    # page in Japanese, titled for its outcome, with no English catalogue text.
    ja, p = _signed_in(chromium, base, "ja-JP", "ja-device-block")
    eq(p.status, 403, "the Japanese device page")
    check_japanese(p, "MSG_DEVICE_TITLE", "device needed (ja)")
    eq(ja.texts(ENROL_LINK), [msg("MSG_ENROL_DEVICE_LINK", "ja")], "the link, in Japanese")
    p = ja.click(ENROL_LINK, "ja-enrol-page")
    eq(p.status, 200, "the Japanese enrolment page")
    check_japanese(p, "DM_TITLE", "enrolment page (ja)")
    p = ja.submit("ja-enrol-code", button=BUTTON)
    check_japanese(p, "DM_TITLE", "code page (ja)")
    check(msg("DM_RUN", "ja") in p.text, "the Japanese code page: %s" % p.text[:500])
    command = _copy_command(ja)
    p = ja.click("#device-continue", "ja-enrol-waiting")
    check_japanese(p, "DM_TITLE", "waiting page (ja)")
    _run_command(h, command, "agent-ja")
    p = ja.click("#device-continue", "ja-enrol-bound")
    check(ja.attr("#device-bound", "id"), "bound (ja): %s" % p.text[:500])
    check_japanese(p, "DM_TITLE", "bound page (ja)")
    p = ja.goto(base + "/vault", "ja-device-no-posture")
    eq(p.status, 403, "the second device has sent no posture")
    check_japanese(p, "MSG_DEVICE_TITLE", "device without a report (ja)")
    check(msg("MSG_DEV_NO_REPORT", "ja") in p.text, "the finding in Japanese: %s" % p.text[:500])
