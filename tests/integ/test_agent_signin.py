"""The device-code sign-in of `ztagent tunnel` (docs/TUNNELS.md), on the real ztgate and ztagent:
the agent's /.ztgate/agent/signin/{start,poll} over its device certificate, the portal's approval
page, and every refusal: deny, a code typed by a user who does not own the device, wrong codes
(throttled after five), polling too fast (slow_down), polling with another device, no
certificate, an app that is no tcp app, a policy that blocks the app. Every step is audited.
With three gateways on one database, the start, the approval and the poll reach three of them."""
import json
import os

from agent_signin import (APPROVE, Agent, approve, approver, audit_records, tcp_app,
                          tls_listen, tunnel_gateway)
from harness import check, eq, free_port, timeout
from portal_client import add_user
from test_case1_device import _tls_request

EMAIL = "rin@example.test"
PASSWORD = "rin's long passphrase for tunnels"
OTHER = "kai@example.test"
OTHER_PASSWORD = "kai's long passphrase for tunnels"
APP = "ssh.test:22"
JSON = ("Content-Type", "application/json")


def _gateway(h, policies=None):
    # The target is never connected to by the sign-in: any free port will do.
    gw = tunnel_gateway(h, [tcp_app("ssh", "ssh.test", 22, free_port())], policies=policies,
                        start=False)
    add_user(h, gw, EMAIL, PASSWORD)
    add_user(h, gw, OTHER, OTHER_PASSWORD)
    gw.start()
    return gw


def _device_post(gw, path, body, cert):
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    return _tls_request(gw.tls_port, "POST", path, [JSON], raw, cert)


@timeout(120)
def test_signin_approved(h):
    gw = _gateway(h)
    agent = Agent(h, gw, EMAIL)
    b = approver(h, gw, EMAIL, PASSWORD)
    p, code = agent.start_sign_in(APP)
    # The confirmation page shows what asked before anything is approved.
    tok, _ = b.csrf(APPROVE)
    r = b.post(APPROVE, {"csrf_token": tok, "code": code.lower().replace("-", " ")})
    eq(r.status, 200, "code accepted (case, dash aside)")
    for needle in (b'id="agent-approve"', b'id="agent-deny"', APP.encode(),
                   b"127.0.0.1"):
        check(needle in r.body, "confirmation page shows %r" % needle)
    r = approve(b, code)
    check(b'id="agent-approved"' in r.body, "approved: %r" % r.body[:300])
    rc, err = agent.finish(p)
    eq(rc, 0, "signin exit status: " + err)
    token = agent.token()
    check(token is not None and len(token) == 43, "token cached")
    # The code worked once.
    r = approve(b, code)
    eq(r.status, 400, "a used code is refused")
    events = [x["unmapped"]["event"] for x in audit_records(gw) if
              x.get("unmapped", {}).get("event", "").startswith("agent_")]
    for want in ("agent_signin_requested", "agent_signin_approved", "agent_token_issued",
                 "agent_signin_wrong_code"):
        check(want in events, "audited %s (got %s)" % (want, events))
    approved = audit_records(gw, "agent_signin_approved")[0]
    eq(approved["device"]["uid"], agent.device_id, "the approval names the device")
    eq(approved["actor"]["user"]["email_addr"], EMAIL, "and who approved")
    check(token not in open(gw.audit_path).read(), "the token is in no audit record")


@timeout(120)
def test_signin_denied(h):
    gw = _gateway(h)
    agent = Agent(h, gw, EMAIL)
    b = approver(h, gw, EMAIL, PASSWORD)
    p, code = agent.start_sign_in(APP)
    r = approve(b, code, action="deny")
    check(b'id="agent-denied"' in r.body, "denied page")
    rc, err = agent.finish(p)
    eq(rc, 1, "signin exit status after a deny")
    check("denied" in err, "the agent says so: %r" % err)
    check(agent.token() is None, "no token")
    check(audit_records(gw, "agent_signin_denied"), "deny audited")


@timeout(120)
def test_signin_other_users_device_and_throttle(h):
    gw = _gateway(h)
    agent = Agent(h, gw, EMAIL)
    other = approver(h, gw, OTHER, OTHER_PASSWORD)
    p, code = agent.start_sign_in(APP)
    try:
        # The phishing case: someone else's code typed by a victim approves nothing.
        r = approve(other, code)
        eq(r.status, 403, "another user's device")
        check(b"agent-approve" not in r.body, "no approve button")
        check(audit_records(gw, "agent_signin_not_owner"), "audited")
        # Five wrong codes, then even the right one is refused.
        mine = approver(h, gw, EMAIL, PASSWORD)
        for i in range(5):
            r = approve(mine, "ZZZZ-ZZZ%d" % (i + 2))
            eq(r.status, 400, "wrong code %d" % (i + 1))
        r = approve(mine, code)
        eq(r.status, 429, "throttled after five wrong codes")
        check(audit_records(gw, "agent_signin_throttled"), "throttle audited")
    finally:
        p.kill()
        p.wait()


@timeout(60)
def test_signin_page_ja(h):
    gw = _gateway(h)
    b = approver(h, gw, EMAIL, PASSWORD)
    b.lang = "ja"
    r = b.get(APPROVE)
    eq(r.status, 200, "page")
    check("デバイスのサインインを承認".encode() in r.body, "Japanese title")
    b.lang = None
    r = b.get(APPROVE)
    check(b"Approve a device sign-in" in r.body, "English title")


@timeout(60)
def test_signin_needs_session(h):
    gw = _gateway(h)
    from portal_client import Browser
    b = Browser(gw.tls_port, tls=True)
    r = b.get(APPROVE)
    eq(r.status, 303, "no session: to the sign-in page")
    check("/.ztgate/login" in r.header("Location", ""), "sign-in with rd")


@timeout(120)
def test_device_endpoints_raw(h):
    gw = _gateway(h)
    a1 = Agent(h, gw, EMAIL, name="agent1")
    a2 = Agent(h, gw, OTHER, name="agent2")
    r = _device_post(gw, "/.ztgate/agent/signin/start", {"app": APP}, None)
    eq(r.status, 401, "no device certificate")
    r = _device_post(gw, "/.ztgate/agent/signin/start", {"app": "Not A Host"}, a1.cert)
    eq(r.status, 400, "bad app")
    r = _device_post(gw, "/.ztgate/agent/signin/start", b"{", a1.cert)
    eq(r.status, 400, "bad JSON")
    r = _tls_request(gw.tls_port, "GET", "/.ztgate/agent/signin/start", [], None, a1.cert)
    eq(r.status, 405, "GET")
    r = _device_post(gw, "/.ztgate/agent/signin/start", {"app": APP}, a1.cert)
    eq(r.status, 200, "start: %r" % r.body)
    ans = r.json()
    check(set(ans) == {"device_code", "user_code", "interval", "expires_in"},
          "RFC 8628 fields only (no verification URI): %r" % ans)
    eq(ans["interval"], 5, "interval")
    dc = {"device_code": ans["device_code"]}
    r = _device_post(gw, "/.ztgate/agent/signin/poll", dc, a1.cert)
    eq((r.status, r.json()["error"]), (400, "slow_down"), "polling at once")
    r = _device_post(gw, "/.ztgate/agent/signin/poll", dc, a2.cert)
    eq((r.status, r.json()["error"]), (403, "wrong_device"), "another device polls")
    r = _device_post(gw, "/.ztgate/agent/signin/poll", {"device_code": "nope"}, a1.cert)
    eq((r.status, r.json()["error"]), (400, "expired_token"), "unknown code")
    check(audit_records(gw, "agent_signin_wrong_device"), "wrong device audited")
    for rec in audit_records(gw):
        check(ans["device_code"] not in json.dumps(rec), "no device code in the audit log")


@timeout(120)
def test_signin_refused_by_policy_or_app(h):
    block = [{"name": "no-ssh", "users": {"include": ["all"]}, "apps": {"include": ["ssh"]},
              "grant": {"block": True}}]
    gw = _gateway(h, policies=block)
    agent = Agent(h, gw, EMAIL)
    b = approver(h, gw, EMAIL, PASSWORD)
    p, code = agent.start_sign_in(APP)
    r = approve(b, code)
    eq(r.status, 403, "blocked by policy")
    check(b"no-ssh" in r.body, "the page names the policy")
    rc, err = agent.finish(p)
    eq(rc, 1, "the agent is told: " + err)
    # A host:port that is no tcp app.
    p, code = agent.start_sign_in("web.test:443")
    r = approve(b, code)
    eq(r.status, 403, "no such tcp app")
    rc, _ = agent.finish(p)
    eq(rc, 1, "agent exit status")


@timeout(120)
def test_signin_step_up_and_device_policy(h):
    """Approval runs the app's Conditional Access for the approving session *and the agent's
    device*: a policy asking for MFA sends a password-only session to the second factor first; a
    policy asking for a compliant device refuses a device that never reported posture."""
    policies = [{"name": "ssh-mfa", "users": {"include": ["all"]}, "apps": {"include": ["ssh"]},
                 "grant": {"controls": ["mfa"]}},
                {"name": "db-device", "users": {"include": ["all"]}, "apps": {"include": ["db"]},
                 "grant": {"controls": ["compliant_device"]}}]
    apps = [tcp_app("ssh", "ssh.test", 22, free_port()), tcp_app("db", "db.test", 5432, free_port())]
    gw = tunnel_gateway(h, apps, policies=policies, start=False,
                        extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                        "argon2_passes": 2}})
    add_user(h, gw, EMAIL, PASSWORD)
    gw.start()
    agent = Agent(h, gw, EMAIL)
    from portal_client import Browser, sign_in
    b = Browser(gw.tls_port, tls=True)
    r = sign_in(b, EMAIL, PASSWORD)
    eq(r.status, 303, "password only (MFA optional)")
    p, code = agent.start_sign_in("ssh.test:22")
    try:
        r = approve(b, code)
        eq(r.status, 200, "step-up page")
        check(b"/.ztgate/mfa?rd=/.ztgate/agent/approve" in r.body, "a link to the second factor")
        check(b"agent-approve" not in r.body, "nothing to approve yet")
    finally:
        p.kill()
        p.wait()
    p, code = agent.start_sign_in("db.test:5432")
    r = approve(b, code)
    eq(r.status, 403, "the agent's device is not compliant (no posture)")
    check(b"db-device" in r.body, "the page names the policy")
    rc, _ = agent.finish(p)
    eq(rc, 1, "the agent is told")


@timeout(180)
def test_signin_across_gateways(h):
    """Three gateways on one database: the agent asks one, its person approves on a second and
    the agent's poll reaches the third. The pending sign-in lives in the database, not in the
    memory of the gateway that gave the code; the decision is handed out once."""
    import time

    import pgcluster
    cfg = h.config([tcp_app("ssh", "ssh.test", 22, free_port())], listen=tls_listen(h),
                   extra={"audit": {"path": h.path("state/audit/audit.log")}})
    a, b, c = pgcluster.start_gateways(h, 3, cfg, start=False)
    add_user(h, a, EMAIL, PASSWORD)
    for g in (a, b, c):
        g.start()
    agent = Agent(h, a, EMAIL)
    r = _device_post(a, "/.ztgate/agent/signin/start", {"app": APP}, agent.cert)
    eq(r.status, 200, "start on %s: %r" % (a.node_name, r.body))
    ans = r.json()
    browser = approver(h, b, EMAIL, PASSWORD)
    r = approve(browser, ans["user_code"])
    check(b'id="agent-approved"' in r.body,
          "the code given by %s is approved on %s: %r" % (a.node_name, b.node_name, r.body[:400]))
    time.sleep(ans["interval"])  # the first poll after the interval, as the agent would
    dc = {"device_code": ans["device_code"]}
    r = _device_post(c, "/.ztgate/agent/signin/poll", dc, agent.cert)
    eq(r.status, 200, "the poll on %s gets the token: %r" % (c.node_name, r.body))
    check(len(r.json()["token"]) == 43, "a session token: %r" % r.json())
    r = _device_post(a, "/.ztgate/agent/signin/poll", dc, agent.cert)
    eq((r.status, r.json()["error"]), (400, "expired_token"), "handed out once, on any gateway")
    # Each step is in the audit log of the gateway that took it.
    for g, event in ((a, "agent_signin_requested"), (b, "agent_signin_approved"),
                     (c, "agent_token_issued")):
        g.audit_path = os.path.join(g.config["state_dir"], "audit", "audit.log")
        check(audit_records(g, event), "%s audited on %s" % (event, g.node_name))
