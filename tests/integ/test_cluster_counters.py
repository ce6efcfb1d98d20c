"""The brute-force throttle and password-spray tracking shared by three gateways on one
PostgreSQL (docs/CLUSTER.md "Shared counters"): an attacker who spreads his attempts over the
gateways gets no more than against one.

- A password spray spread round-robin over gw-a, gw-b and gw-c (four accounts each, twelve in
  all, one password) is seen as one spray: exactly one gateway raises the source flag (one
  risk.source_flagged finding among the three audit logs), the database holds it, and a
  gateway that did not raise it applies it: a correct sign-in from the flagged source there
  gets a password_spray detection. With counters in memory, no gateway would have seen more
  than four accounts (the rule needs ten).
- Guesses against one account spread over the three gateways reach the account limit at the
  same total as on one gateway: account_failure_limit wrong guesses in all lock the account
  for unknown browsers on every gateway (the right password is then refused and recorded as
  throttled), while limit - 1 wrong guesses in all do not (the right password still works)."""
import json
import os
import time

import harness
import pgcluster
from harness import check, eq
from portal_client import Browser, add_user, session_cookie

ACCOUNT_LIMIT = 5  # auth.account_failure_limit (config minimum 5)
PASSWORD = "the real passphrase of this user 7"
SPRAYED = "Welcome-Autumn-2026!"


def _audit(gw):
    path = os.path.join(gw.config["state_dir"], "audit", "audit.log")
    out = []
    if os.path.exists(path):
        with open(path, errors="replace") as f:
            for line in f:
                try:
                    out.append(json.loads(line))
                except ValueError:
                    pass
    return out


def _config(h, up):
    # One auth.secrets_key for all three, as a cluster must have (sealed TOTP secrets live in
    # the shared database): the counters' keys are derived from it. gw-a creates it.
    auth = {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2,
            "account_failure_limit": ACCOUNT_LIMIT, "source_failures_per_minute": 10000,
            "secrets_key": os.path.join(h.dir, "secrets.key")}
    return h.config([h.app(up, sensitivity="internal")],
                    extra={"auth": auth, "audit": {"path": os.path.join(h.dir, "audit.log")}})


def _attempt(gw, email, password):
    """One sign-in from a new browser (no known-device cookie); waits out a 429 (the throttle's
    delays). Returns the browser."""
    for _ in range(20):
        b = Browser(gw.port)
        tok, _ = b.csrf("/.ztgate/login")
        r = b.post("/.ztgate/login", {"username": email, "password": password,
                                      "csrf_token": tok})
        if r.status != 429:
            eq(r.status in (200, 302, 303, 403), True, "sign-in answer on %s: %d" % (gw.node_name,
                                                                                r.status))
            return b
        time.sleep(min(float(r.header("retry-after") or 1), 5))
    raise AssertionError("still refused with 429 after 20 tries on " + gw.node_name)


def _findings(gws, title, type_):
    return [(g.node_name, r) for g in gws for r in _audit(g)
            if r.get("finding_info", {}).get("title") == title
            and json.dumps(r).find(type_) >= 0]


@harness.timeout(180)
def test_spray_over_three_gateways_is_one_spray(h):
    up = h.upstream()
    gws = pgcluster.start_gateways(h, 3, _config(h, up))
    add_user(h, gws[0], "real@example.test", PASSWORD)
    accounts = ["sprayed%02d@example.test" % i for i in range(12)]
    for i, a in enumerate(accounts):
        _attempt(gws[i % 3], a, SPRAYED)
    flagged, took = pgcluster.wait_for(
        lambda: _findings(gws, "risk.source_flagged", "password_spray"), 20)
    check(flagged, "no risk.source_flagged password_spray finding on any gateway")
    eq(len(flagged), 1, "one spray finding in all, not one per gateway: %r"
       % [n for n, _ in flagged])
    raiser = flagged[0][0]
    print("spray flagged by %s, finding seen after %.2f s" % (raiser, took))
    rows = gws[0].pg.sql("SELECT count(*) FROM risk_source_flags WHERE spray_until > "
                         "extract(epoch FROM now())::bigint").strip()
    eq(rows, "1", "flagged sources in the database")
    accts = gws[0].pg.sql("SELECT count(*) FROM risk_source_accounts").strip()
    eq(accts, "12", "accounts failed against, counted over the three gateways")
    # A gateway that did not raise the flag applies it (copied within 2 s).
    other = next(g for g in gws if g.node_name != raiser)
    time.sleep(2.5)
    _attempt(other, "real@example.test", PASSWORD)
    dets, took = pgcluster.wait_for(lambda: gws[0].pg.sql(
        "SELECT count(*) FROM risk_detections WHERE type = 'password_spray'").strip() != "0", 10)
    check(dets, "no password_spray detection for a sign-in from the flagged source on %s"
          % other.node_name)


@harness.timeout(180)
def test_guesses_over_three_gateways_hit_the_one_gateway_limit(h):
    up = h.upstream()
    gws = pgcluster.start_gateways(h, 3, _config(h, up))
    add_user(h, gws[0], "victim@example.test", PASSWORD)
    add_user(h, gws[0], "control@example.test", PASSWORD)
    # limit - 1 wrong guesses in all: the right password still opens a session.
    for i in range(ACCOUNT_LIMIT - 1):
        _attempt(gws[i % 3], "control@example.test", "wrong guess %d" % i)
    b = _attempt(gws[(ACCOUNT_LIMIT - 1) % 3], "control@example.test", PASSWORD)
    check(session_cookie(b), "limit - 1 guesses over three gateways locked the account")
    # limit wrong guesses in all (no gateway saw more than two): locked on every gateway.
    for i in range(ACCOUNT_LIMIT):
        _attempt(gws[i % 3], "victim@example.test", "wrong guess %d" % i)
    for g in gws:
        b = _attempt(g, "victim@example.test", PASSWORD)
        check(not session_cookie(b), "%s let the right password in after %d guesses over "
              "three gateways" % (g.node_name, ACCOUNT_LIMIT))
    throttled = [r for g in gws for r in _audit(g)
                 if r.get("status_detail") == "throttled"]
    check(len(throttled) >= 3, "right-password attempts recorded as throttled: %d"
          % len(throttled))
    sides = gws[0].pg.sql("SELECT fails FROM throttle_sides ORDER BY fails DESC LIMIT 1").strip()
    print("account side failures in the database: %s" % sides)
