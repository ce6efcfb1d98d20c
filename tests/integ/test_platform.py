"""`conditions.device.platforms` enforced on the real request path as `whatif` explains it
(issue 10, finding 4): a policy blocking Windows blocks a real Windows browser (Chrome, Edge;
User-Agent or Sec-CH-UA-Platform), names itself in the audit record with the platform it saw
and where that came from, and lets other platforms through; an iPad in desktop mode reads as
macOS (docs/POLICY.md says why). An enrolled device's posture beats what its browser claims."""
import json
import os
import shutil
import subprocess

from harness import Skip, check, eq, free_port
from portal_client import PASSWORD, add_user, complete_sign_in, signed_in_browser
from test_case1_device import DeviceBrowser
from test_device_server import POSTURE, _curl

EMAIL = "wendy@example.test"
BLOCK = "no-windows-on-records"
TRIAL = "trial-no-phones"
CHROME = "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36"
WINDOWS_CHROME = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) " + CHROME
WINDOWS_EDGE = WINDOWS_CHROME + " Edg/131.0.0.0"
IPAD_DESKTOP = ("Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, "
                "like Gecko) Version/18.1 Safari/605.1.15")
LINUX_CHROME = "Mozilla/5.0 (X11; Linux x86_64) " + CHROME
HTML = [("Accept", "text/html")]
POLICIES = [
    {"name": BLOCK, "users": {"include": ["all"]}, "apps": {"include": ["all"]},
     "conditions": {"device": {"platforms": ["windows"]}}, "grant": {"block": True}},
    {"name": TRIAL, "state": "report_only", "users": {"include": ["all"]},
     "apps": {"include": ["all"]},
     "conditions": {"device": {"platforms": ["ios", "android"]}}, "grant": {"block": True}},
]


def _audit(h, path):
    with open(os.path.join(h.dir, "state", "audit", "audit.log")) as f:
        recs = [json.loads(ln) for ln in f if '"%s"' % path in ln and '"http_request"' in ln]
    check(len(recs) == 1, "one audit record for %s: %r" % (path, recs))
    return recs[0]


def _os(rec):
    dev = rec.get("device", {})
    return dev.get("os", {}).get("type"), dev.get("os", {}).get("type_source")


def test_platform_policy_blocks_real_windows_browsers(h):
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity="confidential")], extra={
        "auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2},
        "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
        "policies": POLICIES})
    gw = h.gateway(cfg)
    b = signed_in_browser(h, gw, EMAIL, PASSWORD)
    r = h.cli("whatif", "--config", gw.config_path, "--user", EMAIL, "--app", "app",
              "--platform", "windows", "--json")
    eq(json.loads(r.stdout)["verdict"], "block", "whatif says a Windows browser is blocked")

    cases = [  # path, headers, status, platform, source, report-only decision
        ("/w-chrome", [("User-Agent", WINDOWS_CHROME)], 403, "windows", "user_agent", None),
        ("/w-edge", [("User-Agent", WINDOWS_EDGE), ("Sec-CH-UA-Platform", '"Windows"'),
                     ("Sec-CH-UA-Mobile", "?0")], 403, "windows", "client_hint", None),
        ("/w-hint-only", [("User-Agent", LINUX_CHROME), ("Sec-CH-UA-Platform", '"Windows"')],
         403, "windows", "client_hint", None),
        ("/ipad-desktop", [("User-Agent", IPAD_DESKTOP)], 200, "macos", "user_agent", None),
        ("/android-desktop-site", [("User-Agent", LINUX_CHROME),
                                   ("Sec-CH-UA-Platform", '"Android"')],
         200, "android", "client_hint", "block"),
        ("/linux", [("User-Agent", LINUX_CHROME)], 200, "linux", "user_agent", None),
        ("/two-user-agents", [("User-Agent", WINDOWS_CHROME), ("User-Agent", LINUX_CHROME)],
         200, "unknown", "none", None),
        ("/no-user-agent", [], 200, "unknown", "none", None),
    ]
    for path, headers, status, platform, source, trial in cases:
        r = b.get(path, headers=HTML + headers)
        eq(r.status, status, "%s: status" % path)
        if status == 403:
            check(BLOCK.encode() in r.body, "%s: the block page names the policy" % path)
    gw.proc.stop()
    for path, headers, status, platform, source, trial in cases:
        rec = _audit(h, path)
        eq(_os(rec), (platform, source), "%s: platform in the audit record" % path)
        if status == 403:
            eq(rec.get("reasons"), "blocked by policy " + BLOCK, "%s: audit reason" % path)
        report_only = rec.get("report_only", {})
        eq(report_only.get("decision") if isinstance(report_only, dict) else None, trial,
           "%s: report-only trial" % path)


def _enrol_device(h, gw, os_id):
    r = h.cli("device", "enroll-code", "--user", EMAIL, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "enroll-code: " + r.stderr)
    code = json.loads(r.stdout)["code"]
    key, csr = h.path("device.key"), h.path("device.csr")
    subprocess.run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", csr,
                    "-subj", "/CN=laptop"], check=True, capture_output=True)
    base = "https://127.0.0.1:%d/.ztgate/device/" % gw.tls_port
    body = {"code": code, "csr": open(csr).read(), "hostname": "laptop", "platform": "linux"}
    rc, status, out = _curl(base + "enroll", body)
    eq(status, 201, "device enrolment: %r" % (out,))
    cert = h.path("device.pem")
    with open(cert, "w") as f:
        f.write(out["certificate"])
    posture = dict(POSTURE, os=dict(POSTURE["os"], id=os_id))
    rc, status, out = _curl(base + "posture", posture, cert, key)
    eq(status, 200, "posture: %r" % (out,))
    return cert, key


def test_posture_platform_beats_the_user_agent(h):
    if shutil.which("curl") is None or shutil.which("openssl") is None:
        raise Skip("needs curl and openssl")
    up = h.upstream()
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    cfg = h.config([h.app(up, sensitivity="confidential")], listen=listen, extra={
        "auth": {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2},
        "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
        "policies": POLICIES})
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, EMAIL, PASSWORD)
    gw.start()
    cert, key = _enrol_device(h, gw, "chromeos")
    dev = DeviceBrowser(gw.tls_port, (cert, key))
    complete_sign_in(dev, EMAIL, PASSWORD)
    eq(dev.get("/dev-windows-ua", headers=HTML + [("User-Agent", WINDOWS_CHROME)]).status, 200,
       "the device's posture (ChromeOS) beats a Windows User-Agent")
    nodev = DeviceBrowser(gw.tls_port, None)
    nodev.cookies = dict(dev.cookies)
    eq(nodev.get("/nodev-windows-ua", headers=HTML + [("User-Agent", WINDOWS_CHROME)]).status,
       403, "the same session without the device: the User-Agent decides")
    gw.proc.stop()
    eq(_os(_audit(h, "/dev-windows-ua")), ("chromeos", "posture"), "posture in the audit")
    eq(_os(_audit(h, "/nodev-windows-ua")), ("windows", "user_agent"), "UA in the audit")
