"""Temporary Access Pass (issue 12, item 3): an admin issues a pass with `ztgate user tap` or
`POST /api/v1/users/{u}/tap`; the user types it in the password field of the sign-in form. The
session it opens is limited to enrolment: the TOTP enrolment page works, the MFA page and the
account page send it back there, and a proxied app refuses it (sign-in again). Enrolling ends
that session; the user then signs in with password + TOTP. Expired, used-up, revoked, wrong and
another user's passes, and a disabled user's, each end on the one generic failure page with an
audit record that says why; a risky pass sign-in (from a Tor exit) is refused; guesses are
throttled like passwords."""
import json
import os
import re
import time

from admin_auth import personal_token
from harness import check, eq, free_port, port_open, timeout, wait_until
from portal_client import (PASSWORD, Browser, add_user, enrol, mfa, session_cookie, sign_in,
                           totp, _fresh_step)
from test_admin_api import Api

ALICE, BOB, CAROL = "alice@example.test", "bob@example.test", "carol@example.test"
TOR_EXIT = "127.0.0.30"
PASS_RE = r"[A-HJ-NP-Z2-9]{5}(?:-[A-HJ-NP-Z2-9]{5}){3}"


def _gateway(h, tor=False):
    up = h.upstream()
    admin_port = free_port()
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    extra = {"audit": {"path": audit}, "admin": {"listen": "127.0.0.1:%d" % admin_port}}
    if tor:
        path = h.path("tor-exits.txt")
        with open(path, "w") as f:
            f.write("ExitNode 0011BD2485AD45D984EC4159C88FC066E5E3300E\n"
                    "Published 2026-11-01 11:37:27\n"
                    "LastStatus 2026-11-01 12:00:00\n"
                    "ExitAddress %s 2026-11-01 12:07:50\n" % TOR_EXIT)
        extra["risk"] = {"anonymous_ips": [{"path": path}]}
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra=extra))
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")
    token_path = os.path.join(h.dir, "state", "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 5.0), "no admin token")
    api = Api(admin_port, personal_token(admin_port, bootstrap=open(token_path).read().strip()))
    return gw, up, api, audit


def _cli_tap(h, gw, email, *args):
    r = h.cli("user", "tap", email, *args, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user tap %s: %s" % (email, r.stdout + r.stderr))
    out = json.loads(r.stdout)
    check(re.fullmatch(PASS_RE, out["pass"]), "pass shape: %r" % out["pass"])
    return out


def _records(audit, pred):
    """Audit records matching pred; the CLI's reach the log through the spool, so wait a
    little for them."""
    def read():
        if not os.path.exists(audit):
            return []
        with open(audit, errors="replace") as f:
            return [r for r in (json.loads(x) for x in f if x.strip()) if pred(r)]
    wait_until(lambda: read(), 5.0)
    return read()


def _sign_in_records(audit, email):
    return _records(audit, lambda r: r.get("class_uid") == 3002 and
                    r.get("user", {}).get("email_addr") == email and
                    r.get("http_request", {}).get("url", {}).get("path") == "/.ztgate/login")


def _failure_body(r, email):
    """The page without what differs by design: the e-mail typed and the CSRF token."""
    body = r.body.replace(('value="%s"' % email).encode(), b'value=""')
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token" value=""', body)


@timeout(90)
def test_tap_sign_in_enrols_totp_only(h):
    gw, up, api, audit = _gateway(h)
    add_user(h, gw, ALICE)

    # Issued with the CLI: shown once, with its expiry, in words and as JSON.
    r = h.cli("user", "tap", ALICE, "--config", gw.config_path)
    eq(r.returncode, 0, "user tap: " + r.stdout + r.stderr)
    check(re.search("temporary access pass for %s: %s" % (ALICE, PASS_RE), r.stdout), r.stdout)
    check("expires:" in r.stdout and "uses:" in r.stdout, r.stdout)
    tap = _cli_tap(h, gw, ALICE)  # a new pass replaces that one
    first = re.search(PASS_RE, r.stdout).group(0)

    # The replaced pass no longer signs in; the current one does, typed in lower case.
    b = Browser(gw.port)
    r = sign_in(b, ALICE, first)
    eq(r.status, 200, "the replaced pass: the failure page")
    check(b"notice error" in r.body, "failure notice")
    r = sign_in(b, ALICE, tap["pass"].lower())
    eq(r.status, 303, "pass accepted")
    eq(r.header("Location"), "/.ztgate/totp", "to enrolment")
    check(session_cookie(b), "a (limited) session")
    r = h.cli("user", "sessions", ALICE, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "user sessions: " + r.stderr)
    rows = json.loads(r.stdout)
    rows = rows.get("sessions", rows) if isinstance(rows, dict) else rows
    eq([(x.get("mfa_method"), x.get("amr")) for x in rows], [("tap", "")],
       "the pass session records no RFC 8176 method, never pwd")

    # Limited: the app, the account page and the MFA page do not accept it.
    r = b.get("/", headers=[("Accept", "text/html")])
    eq(r.status in (302, 303), True, "the proxied app sends it to sign in: %d" % r.status)
    check("/.ztgate/login" in r.header("Location", ""), r.header("Location", ""))
    eq(b.get("/").status, 401, "an API client: 401")
    eq(up.requests(), [], "nothing reached the app")
    r = b.get("/.ztgate/")
    eq(r.status, 303, "account page: redirect")
    r = b.get("/.ztgate/mfa")
    eq((r.status, r.header("Location")), (303, "/.ztgate/totp"), "MFA page: back to enrolment")
    r = b.get("/.ztgate/password")
    check(r.status != 200, "password change refused (%d)" % r.status)
    r = b.get("/.ztgate/totp")
    eq(r.status, 200, "the enrolment page accepts it")
    check(b"temporary access pass" in r.body, "the page says why it is limited")

    # Enrol TOTP with it: the pass's session ends, the next sign-in is password + code.
    secret, codes, r = enrol(b)
    check(b"temporary access pass session has ended" in r.body, "the page says sign in again")
    check(b'href="/.ztgate/login"' in r.body, "continue leads to sign-in")
    check(not session_cookie(b), "the pass's session cookie is cleared")
    eq(b.get("/").status, 401, "still no access to the app")
    b2 = Browser(gw.port)
    r = sign_in(b2, ALICE, PASSWORD)
    eq((r.status, r.header("Location")), (303, "/.ztgate/mfa"), "password, then the code")
    r = mfa(b2, totp(secret, at=_fresh_step(secret) * 30))
    eq(r.status, 303, "code accepted")
    eq(b2.get("/").status, 200, "the app with the new method")

    # One use only: the same pass again is refused, recorded as used up.
    b3 = Browser(gw.port)
    r = sign_in(b3, ALICE, tap["pass"])
    eq(r.status, 200, "used-up pass: the failure page")
    check(not session_cookie(b3), "no session")

    gw.proc.stop()  # the CLI's records reach the log through the spool: final log now
    recs = _sign_in_records(audit, ALICE)
    got = [(x["status"], x.get("status_detail"), x["auth_factors"][0]["factor_type"])
           for x in recs]
    eq(got[0], ("Failure", "wrong temporary access pass", "tap"), "the replaced pass")
    eq(got[1][0:3:2], ("Success", "tap"), "the pass sign-in")
    check(all(not x["is_mfa"] for x in recs[:2]), "a pass is one factor")
    eq(got[-1], ("Failure", "temporary access pass used up", "tap"), "the used-up pass")
    ops = _records(audit, lambda x: x.get("class_uid") == 3001 and
                   x.get("unmapped", {}).get("operation") == "user.tap_issue")
    eq(len(ops), 2, "two issues recorded")
    check(all(first not in json.dumps(x) and tap["pass"] not in json.dumps(x) for x in ops),
          "the pass is in no record")
    enrolled = _records(audit, lambda x: x.get("message") ==
                        "TOTP enrolled with a temporary access pass")
    eq(len(enrolled), 1, "the enrolment is recorded as made with a pass")


@timeout(90)
def test_tap_refusals_are_one_generic_page(h):
    gw, up, api, audit = _gateway(h)
    add_user(h, gw, ALICE)
    add_user(h, gw, BOB)
    # Carol has no password at all (first day): created through the admin API.
    r = api.req("POST", "/api/v1/users", {"email": CAROL})
    eq(r.status, 201, "carol created")

    # Issued with the admin API: shown once in the answer.
    r = api.req("POST", "/api/v1/users/%s/tap" % CAROL, {"lifetime_minutes": 10, "uses": 0})
    eq(r.status, 201, "issue: %r" % r.body)
    carol = json.loads(r.body)
    check(re.fullmatch(PASS_RE, carol["pass"]), carol["pass"])
    eq((carol["email"], carol["uses"], carol["lifetime_minutes"]), (CAROL, 0, 10), "answer")
    alice = _cli_tap(h, gw, ALICE, "--lifetime", "2h", "--uses", "2")

    # Bounds and errors of the API and the CLI.
    for body in ({"lifetime_minutes": 9}, {"lifetime_minutes": 43201}, {"uses": 1001},
                 {"uses": "1"}, {"lifetime": "1h"}):
        eq(api.req("POST", "/api/v1/users/%s/tap" % BOB, body).status, 400, repr(body))
    eq(api.req("POST", "/api/v1/users/nobody@example.test/tap", {}).status, 404, "unknown")
    eq(api.req("DELETE", "/api/v1/users/%s/tap" % BOB).status, 404, "bob has no pass")
    eq(api.req("GET", "/api/v1/users/%s/tap" % BOB).status, 405, "GET is not a method here")
    for args in (("--lifetime", "5m"), ("--lifetime", "31d"), ("--uses", "1001"),
                 ("--uses", "many")):
        r = h.cli("user", "tap", BOB, *args, "--config", gw.config_path)
        eq(r.returncode, 2, "user tap %s: %s" % (" ".join(args), r.stderr))

    # The reference failure: a wrong password.
    ref = sign_in(Browser(gw.port), BOB, "not bob's password at all")
    eq(ref.status, 200, "wrong password")

    def refused(email, typed, why):
        b = Browser(gw.port)
        r = sign_in(b, email, typed)
        eq(r.status, 200, "%s: the failure page" % why)
        eq(_failure_body(r, email), _failure_body(ref, BOB), "%s: the one generic page" % why)
        check(not session_cookie(b), "%s: no session" % why)
        last = _sign_in_records(audit, email)[-1]
        eq((last["status"], last.get("status_detail")), ("Failure", why), "audit: " + why)

    # Wrong pass (well shaped), a pass of another user, carol's pass typed for alice.
    refused(ALICE, "ABCDE-FGHJK-MNPQR-STUVW", "wrong temporary access pass")
    refused(BOB, alice["pass"], "wrong password")  # bob has no pass: it was a password
    refused(ALICE, carol["pass"], "wrong temporary access pass")

    # Carol's multi-use pass works twice (no password needed), then expires.
    for i in range(2):
        b = Browser(gw.port)
        r = sign_in(b, CAROL, carol["pass"])
        eq((r.status, r.header("Location")), (303, "/.ztgate/totp"), "carol's pass, use %d" % i)
    # The pass's sessions end when the pass does (10 minutes), not after the usual 12 hours;
    # the admin sees them as "tap" sessions.
    sess = json.loads(api.req("GET", "/api/v1/users/%s/sessions" % CAROL).body)["sessions"]
    eq([(x["mfa_method"], x["absolute_expires_at"]) for x in sess],
       [("tap", carol["expires_at"])] * 2, "carol's two pass sessions")
    db = h.store_db()
    with db:  # the clock cannot be moved under a running gateway: the expiry moves instead
        db.execute("UPDATE temporary_access_passes SET expires_at = ?, created_at = ? "
                   "WHERE user_id = (SELECT id FROM users WHERE email = ?)",
                   (int(time.time()) - 1, int(time.time()) - 700, CAROL))
    db.close()
    refused(CAROL, carol["pass"], "temporary access pass expired")

    # Revoked (API DELETE; twice is a conflict): refused as revoked.
    eq(api.req("DELETE", "/api/v1/users/%s/tap" % ALICE).status, 204, "revoke")
    eq(api.req("DELETE", "/api/v1/users/%s/tap" % ALICE).status, 409, "revoked already")
    refused(ALICE, alice["pass"], "temporary access pass revoked")

    # What admins see of passes (never the pass): the CLI's show and the API's user.
    r = h.cli("user", "show", ALICE, "--json", "--config", gw.config_path)
    shown = json.loads(r.stdout)["temporary_access_pass"]
    eq((shown["status"], shown["uses"], shown["uses_left"]), ("revoked", 2, 2), "alice's pass")
    user = json.loads(api.req("GET", "/api/v1/users/%s" % CAROL).body)
    eq(user["temporary_access_pass"]["status"], "expired", "carol's pass via the API")
    eq(json.loads(api.req("GET", "/api/v1/users/%s" % BOB).body)["temporary_access_pass"], None,
       "bob has none yet")
    r = h.cli("user", "show", CAROL, "--config", gw.config_path)
    check("access pass:       expired" in r.stdout, r.stdout)
    check(carol["pass"] not in r.stdout and alice["pass"] not in json.dumps(shown), "no pass")

    # A disabled user: a pass issued before is never redeemed; no new one is issued.
    bob = _cli_tap(h, gw, BOB)
    r = h.cli("user", "disable", BOB, "--config", gw.config_path)
    eq(r.returncode, 0, "disable bob")
    refused(BOB, bob["pass"], "disabled")
    eq(api.req("POST", "/api/v1/users/%s/tap" % BOB, {}).status, 409, "disabled: no pass")
    r = h.cli("user", "tap", BOB, "--config", gw.config_path)
    eq(r.returncode, 1, "CLI: disabled: " + r.stderr)
    h.cli("user", "enable", BOB, "--config", gw.config_path)
    b = Browser(gw.port)
    eq(sign_in(b, BOB, bob["pass"]).status, 303, "enabled again: the untouched pass works")

    eq(b.get("/.ztgate/totp").status, 200, "bob's pass session is at enrolment")
    other = Browser(gw.port)
    eq(sign_in(other, BOB, PASSWORD).status, 303, "bob's password sign-in, another browser")

    # CLI revoke: it ends the session the pass opened (not bob's other one); the records.
    r = h.cli("user", "tap", BOB, "--revoke", "--json", "--config", gw.config_path)
    eq(r.returncode, 0, "CLI revoke: " + r.stderr)
    eq(json.loads(r.stdout), {"email": BOB, "revoked": True, "sessions_ended": 1}, "CLI answer")
    r = b.get("/.ztgate/totp")
    eq((r.status, r.header("Location", "").startswith("/.ztgate/login")), (303, True),
       "the pass's session ended with the pass")
    eq(other.get("/.ztgate/totp").status, 200, "bob's password session stays")
    gw.proc.stop()  # the CLI's records reach the log through the spool: final log now
    ops = [x["unmapped"]["operation"] for x in _records(
        audit, lambda x: x.get("class_uid") == 3001 and
        x.get("unmapped", {}).get("operation", "").startswith("user.tap"))]
    eq(sorted(ops), sorted(["user.tap_issue"] * 3 + ["user.tap_revoke"] * 2), "records")


@timeout(60)
def test_tap_risky_sign_in_refused(h):
    from test_risk_e2e import SrcBrowser
    gw, up, api, audit = _gateway(h, tor=True)
    add_user(h, gw, ALICE)
    tap = _cli_tap(h, gw, ALICE, "--uses", "unlimited")
    b = SrcBrowser(gw.port, TOR_EXIT)
    r = sign_in(b, ALICE, tap["pass"])
    eq(r.status, 403, "a pass from a Tor exit: refused")
    check(not session_cookie(b), "no session")
    last = _sign_in_records(audit, ALICE)[-1]
    eq((last["status"], last.get("status_detail"), last["auth_factors"][0]["factor_type"]),
       ("Failure", "sign-in risk", "tap"), "recorded as a risky pass sign-in")
    b = Browser(gw.port)
    eq(sign_in(b, ALICE, tap["pass"]).status, 303, "from home the same pass works")


@timeout(90)
def test_tap_guesses_are_throttled_like_passwords(h):
    """Passes go through the sign-in throttle: after the source's failure limit the right pass
    from that address is refused (429) before anything is redeemed, and still works from
    elsewhere."""
    from test_risk_e2e import SrcBrowser
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")], extra={
        "auth": {"source_failures_per_minute": 3, "argon2_memory": "19MiB", "argon2_passes": 2}}))
    add_user(h, gw, ALICE)
    tap = _cli_tap(h, gw, ALICE)
    guesser = SrcBrowser(gw.port, "127.0.4.1")
    for guess in ("ABCDE-FGHJK-MNPQR-STUVW", "BCDEF-GHJKM-NPQRS-TUVWX", "CDEFG-HJKMN-PQRST-UVWXY"):
        eq(sign_in(guesser, ALICE, guess).status, 200, "a wrong pass: the failure page")
    r = sign_in(guesser, ALICE, tap["pass"])
    eq(r.status, 429, "the source is throttled, even for the right pass")
    check(not session_cookie(guesser), "no session")
    owner = SrcBrowser(gw.port, "127.0.4.2")
    r = sign_in(owner, ALICE, tap["pass"])
    eq((r.status, r.header("Location")), (303, "/.ztgate/totp"), "not redeemed by the refusal")
