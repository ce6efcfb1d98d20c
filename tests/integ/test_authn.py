"""Authentication on the proxy path: who gets through to a protected app without a valid
session (nobody), what browsers and API clients are told, and that forged, malformed and
oversized session cookies are refused without reaching the app or crashing the gateway."""
import base64
import json
import os
import urllib.parse

from harness import APP_HOST, check, eq, get

BROWSER = [("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")]


def _protected(h, sensitivity="internal", extra=None):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity=sensitivity)], extra=extra))
    return gw, up


def test_browser_without_session_is_sent_to_sign_in(h):
    gw, up = _protected(h)
    r = get(gw.port, "/reports/q3?year=2026&x=%2Fy", headers=BROWSER)
    eq(r.status, 302, "status")
    loc = r.header("Location")
    check(loc is not None and loc.startswith("/.ztgate/login?rd="), "Location %r" % loc)
    rd = urllib.parse.parse_qs(urllib.parse.urlsplit(loc).query)["rd"][0]
    eq(rd, "http://%s/reports/q3?year=2026&x=%%2Fy" % APP_HOST, "rd is the page asked for")
    eq(r.header("Cache-Control"), "no-store", "Cache-Control")
    eq(up.requests(), [], "the app must not see an unauthenticated request")


def test_api_client_without_session_gets_401_json(h):
    gw, up = _protected(h)
    for headers, method in (([("Accept", "application/json")], "GET"), ([], "GET"),
                            (BROWSER, "POST"), (BROWSER, "DELETE")):
        r = get(gw.port, "/api/items", headers=headers, method=method,
                body=b"x=1" if method == "POST" else None)
        eq(r.status, 401, "status for %s with %r" % (method, headers))
        body = r.json()
        eq(body["error"], "unauthenticated", "error code")
        check(body["login_url"].startswith("/.ztgate/login?rd="), "login_url %r" % body)
        check(r.header("WWW-Authenticate") is not None, "401 without WWW-Authenticate")
    eq(up.requests(), [], "the app must not see an unauthenticated request")


def test_portal_host_receives_the_sign_in(h):
    gw, up = _protected(h, extra={"auth": {"portal_host": "auth.test",
                                           "argon2_memory": "19MiB", "argon2_passes": 2}})
    r = get(gw.port, "/doc", host="%s:%d" % (APP_HOST, gw.port), headers=BROWSER)
    eq(r.status, 302, "status")
    loc = r.header("Location")
    prefix = "http://auth.test:%d/.ztgate/login?rd=" % gw.port
    check(loc.startswith(prefix), "Location %r should start with %r" % (loc, prefix))
    rd = urllib.parse.unquote(loc[len(prefix):])
    eq(rd, "http://%s:%d/doc" % (APP_HOST, gw.port), "rd")


def test_public_app_needs_no_session_and_gets_no_identity(h):
    gw, up = _protected(h, sensitivity="public")
    r = get(gw.port, "/", headers=[("X-ZT-User", "spoofed"), ("Cookie", "ztgate_session=x")])
    eq(r.status, 200, "status")
    names = [n.lower() for n, _ in r.json()["headers"]]
    for hdr in ("x-zt-user", "x-zt-email", "x-zt-groups", "x-zt-assertion"):
        check(hdr not in names, "%s forwarded for an anonymous request" % hdr)


def _b64(raw):
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_forged_and_malformed_session_cookies_are_refused(h):
    gw, up = _protected(h)
    cookies = [
        "ztgate_session=",
        "ztgate_session=abc",
        "ztgate_session=" + _b64(os.urandom(32)),            # well-formed, unknown
        "ztgate_session=" + _b64(os.urandom(32)) + "A",      # one char too long
        "ztgate_session=" + "!" * 43,                        # not base64url
        "ztgate_session=" + _b64(os.urandom(3000)),          # oversized
        "ztgate_session=\"" + _b64(os.urandom(32)) + "\"",  # quoted
        "__Host-ztgate_session=" + _b64(os.urandom(32)),     # HTTPS name on plain HTTP
        "a=b; ztgate_session=%00%0d%0a; c=d",
        ";;;; = ; ztgate_session",
    ]
    for ck in cookies:
        r = get(gw.port, "/", headers=BROWSER + [("Cookie", ck)])
        eq(r.status, 302, "status for Cookie %r" % ck[:60])
    eq(up.requests(), [], "no forged cookie may reach the app")
    eq(get(gw.port, "/", headers=BROWSER).status, 302, "gateway still answers")


def test_denials_are_audited(h):
    up = h.upstream()
    cfg = h.config([h.app(up, sensitivity="confidential")])
    audit_dir = os.path.join(h.dir, "state", "audit")
    cfg["audit"] = {"path": os.path.join(audit_dir, "audit.log")}
    gw = h.gateway(cfg)
    eq(get(gw.port, "/secret", headers=BROWSER).status, 302, "status")
    gw.proc.stop()
    with open(os.path.join(audit_dir, "audit.log")) as f:
        records = [json.loads(line) for line in f if '"http_request"' in line]
    eq(len(records), 1, "one decision record")
    eq(records[0]["decision"], "block", "decision")
    check("sign-in required" in records[0]["reasons"], "reason %r" % records[0]["reasons"])
