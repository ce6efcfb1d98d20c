"""Account lifecycle (issue 14, item 5; docs/LIFECYCLE.md) through the real binaries.

- A guest made with `ztgate user add --expires DATE --sponsor EMAIL` signs in and reaches the
  app; the sign-in is noted (`user inactive`). Two days later (the gateway restarted with
  ZTGATE_TEST_CLOCK_OFFSET_S) the guest's session is refused, the gateway's sweep ends it with an
  audit record by the System actor "lifecycle", and the right password ends on the very page a
  wrong one gets (en and ja): nothing more is said than for a disabled account. The audit
  record of the attempt says "account expired". Extending (`user set --expires never`) lets
  the guest in again.
- The admin API: POST /users with expires_at and sponsor, the fields in every view, POST
  /users/{u}/profile with an expiry in the past ending the sessions at once.
- A passkey of an expired account: 403 account_expired (said only to the key's holder, as
  account_disabled is).
- `ztgate user inactive --days N --format csv|json` and `ztgate access review --format
  csv|json`; the review equals `ztgate whatif --json` for every user x app (differential)."""
import csv
import io
import json
import os
import re
import time

import subprocess

from browser import msg
from admin_auth import LazyToken
from harness import check, eq, free_port, port_open, timeout, wait_until
from portal_client import PASSWORD, Browser, add_user, sign_in
from test_admin_api import Api

GUEST, HOST_USER, BOSS = "guest@example.test", "sam@example.test", "boss@example.test"
DAY = 86400


def _gateway(h, policies=None, more_apps=False):
    up = h.upstream()
    admin_port = free_port()
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    extra = {"audit": {"path": audit}, "admin": {"listen": "127.0.0.1:%d" % admin_port},
             "auth": {"argon2_memory": "19MiB", "argon2_passes": 2, "mfa": "optional"}}
    if policies is not None:
        extra["policies"] = policies
    apps = [h.app(up, sensitivity="internal")]
    if more_apps:
        apps += [h.app(up, name="hr", host="hr.test", sensitivity="confidential"),
                 h.app(up, name="wiki", host="wiki.test", sensitivity="public")]
    gw = h.gateway(h.config(apps, extra=extra))
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")
    token_path = os.path.join(h.dir, "state", "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 5.0), "no admin token")
    # Made on the first API call: tests that only use the CLI count no admin among their users.
    api = Api(admin_port, LazyToken(admin_port, bootstrap=open(token_path).read().strip()))
    return gw, up, api, audit, admin_port


def _restart(gw, offset_s, admin_port):
    gw.proc.stop()
    old = os.environ.get("ZTGATE_TEST_CLOCK_OFFSET_S")
    os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = str(offset_s)
    try:
        gw.start()
    finally:
        if old is None:
            os.environ.pop("ZTGATE_TEST_CLOCK_OFFSET_S", None)
        else:
            os.environ["ZTGATE_TEST_CLOCK_OFFSET_S"] = old
    check("test clock offset" in gw.stderr_text(), "the gateway took the clock offset")
    check(wait_until(lambda: port_open(admin_port), 10.0), "admin port never opened")


def _records(audit, pred, wait_s=5.0):
    def read():
        if not os.path.exists(audit):
            return []
        with open(audit, errors="replace") as f:
            return [r for r in (json.loads(x) for x in f if x.strip()) if pred(r)]
    wait_until(lambda: read(), wait_s)
    return read()


def _page(r, email):
    """The failure page without what differs by design: the e-mail typed, the CSRF token."""
    body = r.body.replace(('value="%s"' % email).encode(), b'value=""')
    return re.sub(rb'name="csrf_token" value="[^"]*"', b'name="csrf_token" value=""', body)


def _cli_json(h, gw, *args):
    r = h.cli(*args, "--config", gw.config_path)
    eq(r.returncode, 0, " ".join(args) + ": " + r.stdout + r.stderr)
    return json.loads(r.stdout)


@timeout(120)
def test_expired_guest_signed_out_and_refused(h):
    gw, up, api, audit, admin_port = _gateway(h)
    tomorrow = time.strftime("%Y-%m-%d", time.gmtime(time.time() + DAY))
    r = h.cli("user", "add", GUEST, "--name", "ゲスト", "--expires", tomorrow, "--sponsor",
              HOST_USER, "--password-stdin", "--config", gw.config_path, input=PASSWORD + "\n")
    eq(r.returncode, 0, "user add --expires: " + r.stdout + r.stderr)
    # Bad words are refused before any password is asked for.
    for bad in (["--expires", "next week"], ["--expires", "2027-02-30"], ["--sponsor", "sam"]):
        r = h.cli("user", "add", "x@example.test", *bad, "--password-stdin", "--config",
                  gw.config_path, input=PASSWORD + "\n")
        eq(r.returncode, 2, "refused: %s (%s)" % (bad, r.stderr))
    shown = _cli_json(h, gw, "user", "show", GUEST, "--json")
    eq((shown["status"], shown["sponsor"], shown["source"], shown["last_sign_in_at"]),
       ("active", HOST_USER, "local", None), "user show")
    check(shown["expires_at"].startswith(time.strftime("%Y-%m-%d",
                                                       time.gmtime(time.time() + 2 * DAY))),
          "valid through tomorrow: expires at the next midnight UTC (%s)" % shown["expires_at"])

    b = Browser(gw.port)
    r = sign_in(b, GUEST)
    eq(r.status, 303, "the guest signs in")
    eq(b.get("/work").status, 200, "and reaches the app")
    rows = _cli_json(h, gw, "user", "inactive", "--days", "0", "--format", "json")
    guest = [x for x in rows if x["email"] == GUEST][0]
    check(guest["last_sign_in_at"] is not None, "the sign-in was noted: %r" % guest)
    eq(_cli_json(h, gw, "user", "inactive", "--days", "1", "--format", "json"), [],
       "nobody idle for a day yet")

    # Two days on: the account has expired.
    _restart(gw, 2 * DAY, admin_port)
    r = b.get("/work", headers=[("Accept", "text/html")])
    check(r.status in (302, 303), "the expired guest's session is refused (%d)" % r.status)
    check("/.ztgate/login" in r.header("Location", ""), r.header("Location", ""))
    ended = _records(audit, lambda x: x.get("class_uid") == 3001 and
                     x.get("actor", {}).get("user", {}).get("name") == "lifecycle" and
                     x.get("user", {}).get("email_addr") == GUEST)
    eq(len(ended), 1, "one record of the sweep ending the sessions")
    eq(ended[0]["actor"]["user"]["type"], "System", "the sweep is a System actor")
    eq(ended[0]["unmapped"]["operation"], "user.revoke_sessions", "through the account service")
    check("test clock offset" in gw.stderr_text() and
          "sessions of 1 expired account" in gw.stderr_text(), "the sweep's log line")
    r = h.cli("user", "sessions", GUEST, "--json", "--config", gw.config_path)
    eq(json.loads(r.stdout), [], "no session row left")

    # The right password: the same page as a wrong one, in English and Japanese.
    for lang in ("en", "ja"):
        right = sign_in(Browser(gw.port, lang=lang), GUEST)
        wrong = sign_in(Browser(gw.port, lang=lang), GUEST, "not the password at all 1")
        eq((right.status, wrong.status), (200, 200), "both on the sign-in page (%s)" % lang)
        eq(_page(right, GUEST), _page(wrong, GUEST), "nothing tells the two apart (%s)" % lang)
        check(msg("PM_ERR_SIGN_IN", lang).encode() in right.body,
              "the failure notice in %s" % lang)
    fails = _records(audit, lambda x: x.get("class_uid") == 3002 and
                     x.get("user", {}).get("email_addr") == GUEST and x.get("status") == "Failure")
    eq([x.get("status_detail") for x in fails], ["account expired"] * 4,
       "the records say why (the account's state first, as for a disabled one)")

    # Extended by an admin (the CLI on the real clock): the guest is let in again.
    r = h.cli("user", "set", GUEST, "--expires", "never", "--config", gw.config_path)
    eq(r.returncode, 0, "user set --expires never: " + r.stdout + r.stderr)
    eq(sign_in(Browser(gw.port), GUEST).status, 303, "signed in after the extension")


@timeout(90)
def test_admin_api_fields_and_profile(h):
    gw, up, api, audit, admin_port = _gateway(h)
    r = api.req("POST", "/api/v1/users", {"email": GUEST, "password": PASSWORD,
                                          "expires_at": "2099-03-31", "sponsor": HOST_USER})
    eq(r.status, 201, "create with expiry and sponsor: %s" % r.body)
    u = json.loads(r.body)
    eq((u["expires_at"], u["sponsor"], u["status"], u["source"], u["last_sign_in_at"]),
       ("2099-04-01T00:00:00Z", HOST_USER, "active", "local", None), "the new fields")
    for body, what in (({"email": "y@example.test", "expires_at": "soon"}, "expires_at"),
                       ({"email": "y@example.test", "sponsor": "nobody"}, "sponsor")):
        r = api.req("POST", "/api/v1/users", body)
        eq(r.status, 400, "bad %s refused" % what)
        check(what in json.loads(r.body)["message"], r.body)
    b = Browser(gw.port)
    eq(sign_in(b, GUEST).status, 303, "signed in")
    eq(b.get("/x").status, 200, "the app")
    r = api.req("GET", "/api/v1/users/%s" % GUEST)
    check(json.loads(r.body)["last_sign_in_at"] is not None, "last sign-in in the API view")
    r = api.req("POST", "/api/v1/users/%s/profile" % GUEST, {"sponsor": "none", "name": "G"})
    eq(r.status, 200, "profile: %s" % r.body)
    eq((json.loads(r.body)["user"]["sponsor"], json.loads(r.body)["user"]["name"]), (None, "G"),
       "sponsor cleared, name set")
    eq(b.get("/x").status, 200, "a profile change keeps the session")
    r = api.req("POST", "/api/v1/users/%s/profile" % GUEST,
                {"expires_at": "2020-01-01T00:00:00Z"})
    eq(r.status, 200, "expiry in the past: %s" % r.body)
    out = json.loads(r.body)
    eq((out["user"]["status"], out["sessions_revoked"]), ("expired", 1), "ended at once")
    check(b.get("/x").status in (302, 303, 401), "the session is gone")
    rec = _records(audit, lambda x: x.get("class_uid") == 3001 and
                   x.get("unmapped", {}).get("operation") == "user.update")
    check(len(rec) >= 2, "user.update records: %d" % len(rec))


POLICIES = [
    {"name": "guests-blocked", "users": {"include": ["group:guests"]},
     "apps": {"include": ["app"]}, "grant": {"block": True}},
    {"name": "boss-mfa", "users": {"include": [BOSS.upper()]}, "apps": {"include": ["all"]},
     "grant": {"controls": ["mfa"]}},
    {"name": "everyone-8h", "users": {"include": ["all"], "exclude": ["group:guests"]},
     "apps": {"include": ["all"]}, "session": {"sign_in_frequency": "8h"}},
    {"name": "tor-block", "users": {"include": ["all"]}, "apps": {"include": ["all"]},
     "conditions": {"anonymous_ip": True}, "grant": {"block": True}},
    {"name": "confidential-device", "users": {"include": ["all"], "exclude": [BOSS]},
     "apps": {"include": ["sensitivity:confidential"]},
     "grant": {"controls": ["compliant_device"]}},
    {"name": "shadow", "state": "report_only", "users": {"include": ["group:staff"]},
     "apps": {"include": ["all"]}, "grant": {"controls": ["mfa", "compliant_device"],
                                             "operator": "OR"}},
]


@timeout(120)
def test_inactive_report_and_access_review(h):
    gw, up, api, audit, admin_port = _gateway(h, POLICIES, more_apps=True)
    add_user(h, gw, GUEST, groups=("guests",))
    add_user(h, gw, BOSS, groups=("staff",))
    add_user(h, gw, "staff@example.test", groups=("staff",))
    add_user(h, gw, "=1+2@example.test")  # a spreadsheet formula for an address
    eq(sign_in(Browser(gw.port), "staff@example.test").status, 303, "staff signs in")

    # Inactive: CSV with a header, the never-signed-in ones counted from creation.
    r = h.cli("user", "inactive", "--days", "0", "--format", "csv", "--config", gw.config_path)
    eq(r.returncode, 0, r.stderr)
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    eq(len(rows), 4, "every account at 0 days")
    staff = [x for x in rows if x["email"] == "staff@example.test"][0]
    check(staff["last_sign_in_at"] != "", "staff's sign-in: %r" % staff)
    evil = [x for x in rows if "1+2" in x["email"]][0]
    check(evil["email"].startswith("'="), "a formula cell is neutralised: %r" % evil["email"])
    raw = subprocess.run([h.ztgate, "user", "inactive", "--days", "0", "--format", "csv",
                          "--config", gw.config_path], capture_output=True, cwd=h.dir).stdout
    check(raw.startswith(b"email,name,") and raw.count(b"\r\n") == 5,
          "a header and CRLF line ends (RFC 4180)")
    for bad in (["--days", "-1"], ["--days", "x"], ["--days", "5", "--format", "xml"], []):
        r = h.cli("user", "inactive", *bad, "--config", gw.config_path)
        eq(r.returncode, 2, "usage error for %s: %s" % (bad, r.stderr))

    # The review: every user x app, and equal to whatif's answer for each.
    review = _cli_json(h, gw, "access", "review", "--format", "json")
    eq(len(review), 12, "4 users x 3 apps")
    eq({x["sign_in_required"] for x in review if x["app"]["name"] == "wiki"}, {False},
       "the public app")
    by = {x["user"]["email"]: x for x in review if x["app"]["name"] == "app"}
    hr = {x["user"]["email"]: x for x in review if x["app"]["name"] == "hr"}
    eq((hr["staff@example.test"]["verdict"], hr["staff@example.test"]["policy"]),
       ("compliant_device", "confidential-device"), "staff on the confidential app")
    eq((hr[BOSS]["verdict"], hr[BOSS]["policy"]), ("mfa", "boss-mfa"),
       "the boss is excluded from the device policy, not from his own")
    eq((by[GUEST]["verdict"], by[GUEST]["policy"], by[GUEST]["assigned_by"], by[GUEST]["grant"]),
       ("block", "guests-blocked", "group:guests", "block"), "the guest")
    eq((by[BOSS]["verdict"], by[BOSS]["policy"], by[BOSS]["assigned_by"], by[BOSS]["grant"]),
       ("mfa", "boss-mfa", "user", "mfa"), "the boss, named by e-mail")
    st = by["staff@example.test"]
    eq((st["verdict"], st["policy"], st["assigned_by"], st["grant"]),
       ("allow", "everyone-8h", "all", ""), "staff: allowed, the first applicable policy")
    eq(st["conditional_policies"], ["tor-block"], "tor-block applies on other requests")
    eq(by[GUEST]["sign_in_required"], True, "an internal app needs a sign-in")
    for row in review:
        email, app = row["user"]["email"], row["app"]["name"]
        w = _cli_json(h, gw, "whatif", "--user", email, "--app", app, "--json")
        eq((row["decision"], row["verdict"], row["cause"]), (w["decision"], w["verdict"],
                                                            w["policy"]),
           "review = whatif for %s x %s" % (email, app))
        first = w["policy"] or next((p["name"] for p in w["policies"] if p["applies"]), None)
        eq(row["policy"], first, "the policy the gateway names, for %s" % email)

    # CSV: the same rows.
    r = h.cli("access", "review", "--format", "csv", "--config", gw.config_path)
    eq(r.returncode, 0, r.stderr)
    rows = list(csv.DictReader(io.StringIO(r.stdout, newline="")))
    eq([(x["verdict"], x["policy"]) for x in rows],
       [(x["verdict"], x["policy"] or "") for x in review], "CSV and JSON agree")
    eq(h.cli("access", "review", "--format", "pdf", "--config", gw.config_path).returncode, 2,
       "unknown format")
    eq(h.cli("access", "nothing", "--config", gw.config_path).returncode, 2, "unknown action")


@timeout(90)
def test_expired_passkey_refused(h):
    """A passkey proves its holder: the holder of an expired account's key is told it has
    expired (403 account_expired, en and ja), as the holder of a disabled one is told that."""
    from portal_client import signed_in_browser
    from test_webauthn_api import Authenticator, gateway, passwordless, refused, register
    gw, up = gateway(h, auth={"mfa": "optional"})
    b = signed_in_browser(h, gw, email=GUEST)
    key = Authenticator()
    register(b, key)
    r, _ = passwordless(Browser(gw.port), key)
    eq(r.status, 200, "the passkey signs in before the expiry (%r)" % r.body[:200])
    r = h.cli("user", "set", GUEST, "--expires", "2020-01-01", "--config", gw.config_path)
    eq(r.returncode, 0, "user set --expires in the past: " + r.stdout + r.stderr)
    check("expired" in r.stdout, r.stdout)
    for lang in ("en", "ja"):
        r, _ = passwordless(Browser(gw.port, lang=lang), key)
        refused(r, 403, "account_expired", "an expired account's passkey (%s)" % lang)
        eq(r.obj["message"], msg("WA_ACCOUNT_EXPIRED", lang), "the message in %s" % lang)
    check(b.get("/x").status in (302, 303, 401), "the earlier session ended with the expiry")
