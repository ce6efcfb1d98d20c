"""Conditional Access enforced on every proxied request: block pages that say which policy and
what to do, step-up MFA that returns to the page asked for, read-only and no-download sessions
enforced by ztgate itself, report-only policies logged but never enforced, and a change of
group membership applied on the very next request."""
import json
import os
import urllib.parse

from harness import APP_HOST, check, eq, get
from portal_client import enrol, signed_in_browser

PASSWORD = "correct horse battery staple"
HTML = [("Accept", "text/html")]


def _gateway(h, policies, mfa_mode="optional", sensitivity="confidential", locations=None):
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity=sensitivity)],
                   extra={"auth": {"mfa": mfa_mode, "argon2_memory": "19MiB",
                                   "argon2_passes": 2}})
    cfg["audit"] = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    cfg["policies"] = policies
    if locations is not None:
        cfg["locations"] = locations
    return h.gateway(cfg), up


def _decisions(h, gw):
    gw.proc.stop()
    path = os.path.join(h.dir, "state", "audit", "audit.log")
    with open(path) as f:
        return [json.loads(line) for line in f if '"http_request"' in line]


def test_block_policy_page_names_policy_and_reference(h):
    gw, up = _gateway(h, [{
        "name": "no-contractors-on-records", "state": "on",
        "users": {"include": ["group:contractors"]},
        "apps": {"include": ["sensitivity:confidential"]},
        "grant": {"block": True}}])
    b = signed_in_browser(h, gw, "eve@example.test", PASSWORD, groups=["contractors"])
    r = b.get("/records/1", headers=HTML)
    eq(r.status, 403, "status")
    body = r.body.decode()
    check("no-contractors-on-records" in body, "the page names the policy")
    check(r.header("X-Request-Id", "") in body, "the page shows the reference id")
    check("Access blocked" in body, "English title")
    ja = b.get("/records/1", headers=HTML + [("Accept-Language", "ja")])
    check("アクセスがブロックされました" in ja.body.decode(), "Japanese block page")
    other = signed_in_browser(h, gw, "frank@example.test", PASSWORD, groups=["staff"])
    eq(other.get("/records/1", headers=HTML).status, 200, "a user outside the group passes")
    eq([p for p in up.paths() if p.startswith("/records")], ["/records/1"],
       "only the allowed request reached the app")
    recs = _decisions(h, gw)
    blocked = [x for x in recs if x.get("decision") == "block"]
    check(blocked and "no-contractors-on-records" in blocked[0].get("policies", ""),
          "audit names the policy: %r" % blocked[:1])


def test_step_up_mfa_then_the_original_request_continues(h):
    gw, up = _gateway(h, [{
        "name": "mfa-for-confidential", "state": "on",
        "users": {"include": ["all"]},
        "apps": {"include": ["sensitivity:confidential"]},
        "grant": {"controls": ["mfa"]}}])
    b = signed_in_browser(h, gw, "gina@example.test", PASSWORD)  # mfa optional: password only
    r = b.get("/chart?id=7", headers=HTML)
    eq(r.status, 302, "step-up redirect")
    loc = r.header("Location")
    check(loc.startswith("/.ztgate/mfa?rd="), "to the MFA prompt: %r" % loc)
    rd = urllib.parse.unquote(loc.split("rd=", 1)[1])
    eq(rd, "http://%s/chart?id=7" % APP_HOST, "rd is the original request")
    # No authenticator yet: the prompt sends her to enrolment, which completes the step-up.
    r = b.get(loc)
    eq(r.status, 303, "MFA prompt without an authenticator")
    check(r.header("Location", "").startswith("/.ztgate/totp"), "to enrolment")
    enrol(b)
    r = b.get("/chart?id=7", headers=HTML)
    eq(r.status, 200, "after the second factor the request goes through")
    api = b.get("/chart?id=7", headers=[("Accept", "application/json")])
    eq(api.status, 200, "API call in the same session")


def test_api_client_gets_json_step_up(h):
    gw, up = _gateway(h, [{
        "name": "mfa-all", "state": "on", "users": {"include": ["all"]},
        "apps": {"include": ["all"]}, "grant": {"controls": ["mfa"]}}])
    b = signed_in_browser(h, gw, "hal@example.test", PASSWORD)
    r = b.get("/api/x", headers=[("Accept", "application/json")])
    eq(r.status, 401, "status")
    body = r.json()
    eq(body["error"], "step_up_required", "error")
    eq(body["required"], "mfa", "required control")


def test_read_only_session(h):
    gw, up = _gateway(h, [{
        "name": "read-only-for-students", "state": "on",
        "users": {"include": ["group:students"]},
        "apps": {"include": ["all"]},
        "session": {"restrict": ["read_only"]}}])
    b = signed_in_browser(h, gw, "ivy@example.test", PASSWORD, groups=["students"])
    r = b.get("/grades", headers=HTML)
    eq(r.status, 200, "GET allowed")
    hdrs = {n.lower(): v for n, v in r.json()["headers"]}
    eq(hdrs.get("x-zt-restrict"), "read_only", "X-ZT-Restrict upstream")
    for method in ("POST", "PUT", "DELETE", "PATCH"):
        r = get(b.port, "/grades/1", method=method, body=b"x=1",
                headers=b._headers([("Content-Type", "application/x-www-form-urlencoded")]))
        eq(r.status, 403, "%s refused in a read-only session" % method)
    eq([p for p in up.paths() if p.startswith("/grades/1")], [], "no write reached the app")


def test_no_download_session(h):
    gw, up = _gateway(h, [{
        "name": "no-downloads-off-site", "state": "on",
        "users": {"include": ["all"]}, "apps": {"include": ["all"]},
        "session": {"restrict": ["no_download"]}}])
    b = signed_in_browser(h, gw, "jay@example.test", PASSWORD)
    eq(b.get("/file?type=text/html", headers=HTML).status, 200, "a page is fine")
    for q in ("/file?type=text/plain&attachment=1", "/file?type=application/zip",
              "/file?type=application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"):
        r = b.get(q, headers=HTML)
        eq(r.status, 403, "download %s refused" % q)
        check(b"file contents" not in r.body, "no file bytes reach the client")
    eq(b.get("/after", headers=HTML).status, 200, "the connection and session still work")


def test_report_only_is_logged_not_enforced(h):
    gw, up = _gateway(h, [{
        "name": "would-block-everyone", "state": "report_only",
        "users": {"include": ["all"]}, "apps": {"include": ["all"]},
        "grant": {"block": True}}])
    b = signed_in_browser(h, gw, "kim@example.test", PASSWORD)
    eq(b.get("/x", headers=HTML).status, 200, "report-only never blocks")
    recs = _decisions(h, gw)
    allowed = [x for x in recs if x.get("decision") == "allow"]
    check(allowed, "an allow decision was logged")
    eq(allowed[-1].get("report_only", {}).get("decision") if isinstance(
        allowed[-1].get("report_only"), dict) else allowed[-1].get("report_only.decision"),
       "block", "the would-have result is logged: %r" % allowed[-1])


def test_group_change_applies_on_next_request(h):
    gw, up = _gateway(h, [{
        "name": "block-suspended", "state": "on",
        "users": {"include": ["group:suspended"]}, "apps": {"include": ["all"]},
        "grant": {"block": True}}])
    b = signed_in_browser(h, gw, "lee@example.test", PASSWORD)
    eq(b.get("/x", headers=HTML).status, 200, "before")
    h.cli("group", "add", "suspended", "--config", gw.config_path)
    r = h.cli("group", "member-add", "suspended", "lee@example.test", "--config", gw.config_path)
    eq(r.returncode, 0, "member-add (%s)" % (r.stdout + r.stderr))
    eq(b.get("/x", headers=HTML).status, 403, "the very next request is blocked")
    r = h.cli("group", "member-remove", "suspended", "lee@example.test",
              "--config", gw.config_path)
    eq(r.returncode, 0, "member-remove")
    eq(b.get("/x", headers=HTML).status, 200, "and allowed again after removal")


def test_sign_in_frequency_forces_a_fresh_password(h):
    policies = [{
        "name": "recent-sign-in-for-payroll", "state": "on",
        "users": {"include": ["all"]}, "apps": {"include": ["all"]},
        "session": {"sign_in_frequency": "10m"}}]
    gw, up = _gateway(h, policies)
    b = signed_in_browser(h, gw, "max@example.test", PASSWORD)
    eq(b.get("/pay", headers=HTML).status, 200, "fresh sign-in")
    cfg = dict(gw.config)
    gw.proc.stop()
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = "900"  # 15 minutes later; idle limit is 30
    try:
        later = h.gateway(cfg, name="ztgate-later")
    finally:
        if old is None:
            del os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"]
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old
    b.port = later.port
    r = b.get("/pay", headers=HTML)
    eq(r.status, 302, "sign-in older than 10 minutes")
    loc = r.header("Location", "")
    check(loc.startswith("/.ztgate/login?prompt=login&rd="), "to a fresh sign-in: %r" % loc)
    page = b.get(loc)
    eq(page.status, 200, "the sign-in form is shown despite the session (no single sign-on)")
    check(b'name="password"' in page.body, "password field on the page")
    import re
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', page.body).group(1).decode()
    r = b.post("/.ztgate/login", {"username": "max@example.test", "password": PASSWORD,
                                  "csrf_token": tok, "rd": "/pay"})
    eq(r.status, 303, "password accepted again")
    eq(b.get("/pay", headers=HTML).status, 200, "fresh again")
