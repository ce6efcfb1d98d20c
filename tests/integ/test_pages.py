"""What a person or a script sees when ztgate refuses (docs/PORTAL.md, "Refusals"): API clients
get one JSON shape for every refusal, browsers an HTML page whose title fits the outcome and
whose every text is in their language; the reference on a page finds its audit record with
`ztgate audit search --ref`; the enrolment command the device page prints works when copied
verbatim into a shell."""
import html
import json
import os
import re
import shlex
import shutil
import subprocess

from harness import Skip, check, eq, free_port
from portal_client import PASSWORD, Browser, add_user, complete_sign_in, signed_in_browser

HTML = [("Accept", "text/html")]
JSON = [("Accept", "application/json")]
BLOCK = "no-contractors"
DEVICE = "finance-needs-a-device"
ENROLL = "/.ztgate/device/enroll"


def _gateway(h, policies, sensitivity="confidential"):
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity=sensitivity)],
                   extra={"auth": {"argon2_memory": "19MiB", "argon2_passes": 2}})
    cfg["audit"] = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    cfg["policies"] = policies
    return h.gateway(cfg)


def _block_policy():
    return {"name": BLOCK, "state": "on", "users": {"include": ["group:contractors"]},
            "apps": {"include": ["sensitivity:confidential"]}, "grant": {"block": True}}


def _ref(page):
    m = re.search(r'<span id="ztgate-ref">([^<]+)</span>', page)
    check(m, "the page shows a reference: %r" % page[:300])
    return html.unescape(m.group(1))


def test_api_client_gets_json_refusals(h):
    gw = _gateway(h, [_block_policy(), {
        "name": DEVICE, "state": "on", "users": {"include": ["group:finance"]},
        "apps": {"include": ["sensitivity:confidential"]},
        "grant": {"controls": ["compliant_device"]}}])
    eve = signed_in_browser(h, gw, "eve@example.test", PASSWORD, groups=["contractors"])
    for headers, what in ((JSON, "Accept: application/json"), ([], "no Accept"),
                          ([("Accept", "*/*"), ("Sec-Fetch-Mode", "cors")], "fetch()")):
        r = eve.get("/records/1", headers=headers)
        eq(r.status, 403, what)
        check(r.header("Content-Type", "").startswith("application/json"), what)
        doc = json.loads(r.body)
        eq(doc["error"], "blocked", what)
        eq(doc["policy"], BLOCK, what)
        eq(doc["request_id"], r.header("X-Request-Id"), "%s: the reference" % what)
        check(doc["reason"] and doc["action"], "%s: why and what to do: %r" % (what, doc))
    # A browser navigation still gets the page, whatever its Accept says.
    r = eve.get("/records/1", headers=[("Sec-Fetch-Mode", "navigate")])
    check(r.header("Content-Type", "").startswith("text/html"), "navigation gets HTML")
    # Japanese texts in the JSON too.
    r = eve.get("/records/1", headers=JSON + [("Accept-Language", "ja")])
    doc = json.loads(r.body)
    eq(doc["lang"], "ja", "lang")
    check("組織のポリシー" in doc["reason"], "Japanese reason: %r" % doc)

    fin = signed_in_browser(h, gw, "fay@example.test", PASSWORD, groups=["finance"])
    r = fin.get("/books", headers=JSON)
    doc = json.loads(r.body)
    check("error" in doc, "%d %r" % (r.status, doc))
    eq(r.status, 403, "no device")
    eq(doc["error"], "compliant_device_required", "device control")
    eq(doc["policy"], DEVICE, "policy")
    check("enrolled device" in doc["reason"], "why: %r" % doc)

    # Hygiene refusals and the default-deny 404 are JSON too.
    nobody = Browser(gw.port, host="nowhere.test")
    r = nobody.get("/x", headers=JSON)
    eq(r.status, 404, "no app")
    eq(json.loads(r.body)["error"], "not_found", "404 code")
    r = nobody.get("/x", headers=JSON + [("Content-Length", "x")])
    eq(r.status, 400, "malformed head")
    check(r.header("Content-Type", "").startswith("application/json"), "400 as JSON")


def test_titles_fit_the_outcome(h):
    gw = _gateway(h, [_block_policy(), {
        "name": DEVICE, "state": "on", "users": {"include": ["group:finance"]},
        "apps": {"include": ["sensitivity:confidential"]},
        "grant": {"controls": ["compliant_device"]}}])
    eve = signed_in_browser(h, gw, "eve@example.test", PASSWORD, groups=["contractors"])
    fay = signed_in_browser(h, gw, "fay@example.test", PASSWORD, groups=["finance"])
    title = lambda r: re.search(r"<title>([^<]*)</title>", r.body.decode()).group(1)
    eq(title(eve.get("/", headers=HTML)), "Access blocked", "block")
    eq(title(fay.get("/", headers=HTML)), "A trusted device is needed", "device control")
    eq(title(fay.get("/", headers=HTML + [("Accept-Language", "ja")])),
       "信頼済みデバイスが必要です", "device control, ja")


def test_japanese_block_page_has_no_english(h):
    gw = _gateway(h, [_block_policy()])
    eve = signed_in_browser(h, gw, "eve@example.test", PASSWORD, groups=["contractors"])
    page = eve.get("/", headers=HTML + [("Accept-Language", "ja")]).body.decode()
    for english in ("a policy blocks this access", "Reason", "Policy", "What you can do",
                    "Reference", "Access blocked", "policy of your organisation"):
        check(english not in page, "English %r on the Japanese page" % english)
    check("組織のポリシーによって" in page, "the reason in Japanese")


def test_page_reference_finds_the_audit_record(h):
    gw = _gateway(h, [_block_policy()])
    eve = signed_in_browser(h, gw, "eve@example.test", PASSWORD, groups=["contractors"])
    page = eve.get("/records/9", headers=HTML)
    eq(page.status, 403, "blocked")
    ref = _ref(page.body.decode())
    eq(ref, page.header("X-Request-Id"), "the page shows the request id")
    gw.proc.stop()  # the log is final
    r = h.cli("audit", "search", "--ref", ref, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "audit search --ref: " + r.stderr)
    recs = [json.loads(x) for x in r.stdout.splitlines() if x.strip()]
    eq(len(recs), 1, "exactly the record of that request: %r" % recs)
    eq(recs[0]["metadata"]["uid"], ref, "its id")
    eq(recs[0]["decision"], "block", "its decision")
    check(BLOCK in recs[0].get("policies", ""), "its policy")
    eq(recs[0]["http_request"]["url"]["path"], "/records/9", "its path")
    r = h.cli("audit", "search", "--ref", ref + "x", "--json", "--config", gw.config_path)
    eq(r.stdout.strip(), "", "another id finds nothing")
    check("access log" in r.stderr, "and says where else to look: %r" % r.stderr)
    r = h.cli("audit", "search", "--config", gw.config_path, "--ref")
    eq(r.returncode, 2, "--ref without a value")


def _device_gateway(h):
    if shutil.which("openssl") is None:
        raise Skip("needs openssl")
    up = h.upstream()
    tls_dir = h.path("state/tls")
    listen = [{"address": "127.0.0.1:%d" % free_port(),
               "tls": {"cert": os.path.join(tls_dir, "cert.pem"),
                       "key": os.path.join(tls_dir, "key.pem"), "self_signed": True}}]
    cfg = h.config([h.app(up, name="vault", host="localhost", sensitivity="confidential")],
                   listen=listen,
                   extra={"audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
                          "devices": {}})
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, "alice@example.test", PASSWORD)
    gw.start()
    return gw


def test_enrolment_command_works_verbatim(h):
    agent = os.path.join(h.build_dir, "ztagent")
    if not os.path.exists(agent):
        raise Skip("build has no ztagent")
    gw = _device_gateway(h)
    b = Browser(gw.tls_port, host="localhost:%d" % gw.tls_port, tls=True)
    complete_sign_in(b, "alice@example.test", PASSWORD)
    for lang in ("en", "ja"):
        b.lang = lang
        tok, page = b.csrf(ENROLL)
        body = page.body.decode()
        check("<style>" in body and "<footer>" in body, "%s: the portal's layout" % lang)
        r = b.post(ENROLL, {"csrf_token": tok})
        eq(r.status, 200, "code page")
        m = re.search(r'<code id="enrol-command">([^<]+)</code>', r.body.decode())
        check(m, "the page prints a command: %r" % r.body[:600])
        if lang == "ja":
            for english in ("Enrol a device", "Your enrolment code", "On the device, run",
                            "Get another code", "Protected by ztgate", "It is valid for"):
                check(english not in r.body.decode(), "English %r on the Japanese page" % english)
        command = html.unescape(m.group(1))
        check("--insecure-first-use" not in command, "no trust-on-first-use")
        check("--server-sha256" in command, "pins the gateway's certificate: " + command)
        argv = shlex.split(command)
        eq(argv[0], "ztagent", "the command runs ztagent")
        env = dict(os.environ, ZTAGENT_DIR=h.path("agent-" + lang))
        out = subprocess.run([agent] + argv[1:], env=env, capture_output=True, text=True,
                             timeout=60)
        eq(out.returncode, 0, "%s: the printed command enrols (stderr: %s)" % (lang, out.stderr))
        check("enrolled: device" in out.stdout, out.stdout)
        conf = open(os.path.join(env["ZTAGENT_DIR"], "agent.conf")).read()
        check("server_sha256" in conf, "later calls keep the pin")
    # A wrong pin is refused before the code leaves the device.
    bad = argv[1:]
    bad[bad.index("--server-sha256") + 1] = "00" * 32
    out = subprocess.run([agent] + bad, env=dict(os.environ, ZTAGENT_DIR=h.path("agent-bad")),
                         capture_output=True, text=True, timeout=60)
    check(out.returncode != 0 and "does not match the pinned" in out.stderr, out.stderr)


def test_portal_refusals_json_only_when_asked(h):
    gw = _gateway(h, [])
    b = Browser(gw.port)
    form = ("Content-Type", "application/x-www-form-urlencoded")
    r = b.post("/.ztgate/login", {"username": "x@example.test", "password": "p"},
               headers=(form, ("Accept", "application/json")))
    eq(r.status, 403, "no CSRF token")
    doc = json.loads(r.body)
    eq(doc["error"], "forbidden", "code")
    eq(doc["request_id"], r.header("X-Request-Id"), "reference")
    # A form posted by a person (no Accept, or a navigation) keeps its HTML page.
    r = b.post("/.ztgate/login", {"username": "x@example.test", "password": "p"},
               headers=(form,))
    eq(r.status, 403, "no CSRF token, form")
    check(r.header("Content-Type", "").startswith("text/html"), "HTML for the form")


def test_agent_pin_option_usage(h):
    agent = os.path.join(h.build_dir, "ztagent")
    if not os.path.exists(agent):
        raise Skip("build has no ztagent")
    env = dict(os.environ, ZTAGENT_DIR=h.path("agent"))
    base = [agent, "enroll", "--server", "https://127.0.0.1:1", "--code", "ABCDE-FGHJK"]
    fp = "AB:" * 31 + "CD"
    for extra, what in ((["--server-sha256", "zz"], "not hex"),
                        (["--server-sha256", "ab" * 31], "too short"),
                        (["--server-sha256", fp, "--insecure-first-use"], "two trust options"),
                        (["--server-sha256", fp, "--ca-file", "/dev/null"], "pin and CA file")):
        r = subprocess.run(base + extra, env=env, capture_output=True, text=True, timeout=30)
        eq(r.returncode, 2, "%s: usage error (%s)" % (what, r.stderr))
    # The colon form `openssl x509 -fingerprint` prints is accepted (then the connection fails).
    r = subprocess.run(base + ["--server-sha256", fp], env=env, capture_output=True, text=True,
                       timeout=30)
    check("--server-sha256" not in r.stderr and "enrolment failed" in r.stderr, r.stderr)
