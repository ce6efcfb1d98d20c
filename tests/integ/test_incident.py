"""Incidents and playbooks (Core 6 items 4-5) through the real binary.

The CLI half always runs: a config with `incidents:` and `playbooks:` is accepted, `ztgate
incident list/show/resolve` answer on an empty store with the documented exit statuses.

The flow half drives a real detection: an admin confirms a user compromised through the admin
API, which must (once the lead wires src/response into the admin API) open an incident whose
playbook revokes sessions, records itself and notifies a webhook. The webhook receiver answers
500 to the first two POSTs and 204 afterwards, so the notifier must retry with backoff; every
POST's X-ZT-Signature must be HMAC-SHA256 of the body under the configured key. When no
incident appears after the triggering action the detection hook is not wired yet, and the test
is skipped saying so."""
import hashlib
import hmac
import http.server
import json
import os
import threading
import time

from admin_auth import personal_token
from harness import Skip, check, eq, free_port, wait_until
from portal_client import PASSWORD, add_user
from test_admin_api import Api

ALICE = "alice@example.test"
HOOK_KEY = b"integration-test-webhook-key-0123456789"


class Receiver:
    """A webhook endpoint: fails the first `fail_first` POSTs with 500, then answers 204."""

    def __init__(self, fail_first=2):
        self.posts = []  # (monotonic time, headers dict, body bytes, status sent)
        self.fail_first = fail_first
        self.lock = threading.Lock()
        outer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                n = int(self.headers.get("Content-Length", "0"))
                body = self.rfile.read(n)
                with outer.lock:
                    status = 500 if len(outer.posts) < outer.fail_first else 204
                    outer.posts.append((time.monotonic(), dict(self.headers.items()), body,
                                        status))
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.port = free_port()
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


def _config(h, hook_port, admin_port=None):
    key = h.path("hook.key")
    with open(key, "wb") as f:
        f.write(HOOK_KEY)
    os.chmod(key, 0o600)
    extra = {
        "incidents": {
            "correlation_window": "1h",
            "notify": {"url": "http://127.0.0.1:%d/hook" % hook_port, "timeout": "2s",
                       "retries": 5, "backoff": "200ms", "secret_file": key},
        },
        "playbooks": [
            {"name": "stolen-password",
             "on": {"types": ["admin_confirmed_compromised", "leaked_credentials",
                              "impossible_travel", "password_spray"]},
             "actions": ["revoke_sessions", "open_incident", "notify"]},
            {"name": "compromised-device",
             "on": {"types": ["malware"], "min_severity": "high"},
             "actions": ["isolate_device", "open_incident"], "undo_on_remediation": True},
        ],
    }
    if admin_port is not None:
        extra["admin"] = {"listen": "127.0.0.1:%d" % admin_port}
    return h.config([h.app("http://127.0.0.1:9", name="app", host="app.test")], extra=extra)


def _incidents(h, gw, *args):
    r = h.cli("incident", "list", "--json", *args, "--config", gw.config_path)
    eq(r.returncode, 0, "incident list: " + r.stderr)
    return json.loads(r.stdout)


def test_incident_cli_config_and_usage(h):
    gw = h.gateway(_config(h, free_port()), start=False)
    conf = ("--config", gw.config_path)
    r = h.cli("check-config", *conf)
    eq(r.returncode, 0, "check-config: " + r.stdout + r.stderr)
    eq(_incidents(h, gw), [], "no incidents yet")
    r = h.cli("incident", "list", *conf)
    eq(r.returncode, 0, r.stderr)
    check("TITLE" in r.stdout, r.stdout)
    for args in (["incident", "show", "abc"], ["incident", "show", "-1"],
                 ["incident", "resolve", "1x"], ["incident", "list", "--status", "bogus"],
                 ["incident", "list", "--status"], ["incident", "frobnicate"],
                 ["incident", "show"], ["incident", "list", "--nope"]):
        r = h.cli(*args, *conf)
        eq(r.returncode, 2, "%s: %s" % (" ".join(args), r.stderr))
    for args in (["incident", "show", "999"], ["incident", "resolve", "999"]):
        r = h.cli(*args, *conf)
        eq(r.returncode, 1, "%s: %s" % (" ".join(args), r.stderr))
        check("not found" in r.stderr, r.stderr)


def test_incident_cli_rejects_bad_playbooks(h):
    cfg = _config(h, free_port())
    cfg["playbooks"][0]["actions"] = ["revoke_sessions", "launch_missiles"]
    gw = h.gateway(cfg, start=False)
    r = h.cli("check-config", "--config", gw.config_path)
    check(r.returncode != 0, "bad action accepted")
    check("'launch_missiles' is not an action" in r.stdout + r.stderr, r.stdout + r.stderr)


def test_incident_from_admin_confirmed_compromise(h):
    rv = Receiver(fail_first=2)
    try:
        _flow(h, rv)
    finally:
        rv.close()


def _flow(h, rv):
    admin_port = free_port()
    gw = h.gateway(_config(h, rv.port, admin_port))
    conf = ("--config", gw.config_path)
    add_user(h, gw, ALICE, PASSWORD)
    token_path = os.path.join(gw.config["state_dir"], "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 10.0), "no admin token file")
    with open(token_path) as f:
        api = Api(admin_port, personal_token(admin_port, bootstrap=f.read().strip()))
    r = api.req("POST", "/api/v1/users/%s/confirm-compromised" % ALICE)
    eq(r.status, 200, "confirm-compromised: %r" % r.body)

    found = []
    wait_until(lambda: found.extend(_incidents(h, gw)) or found, 5.0, interval=0.25)
    if not found:
        raise Skip("`ztgate incident list --json` stays empty after an admin confirmed a user "
                   "compromised: zt_response_signal is not wired into the admin API yet")
    eq(len(found), 1, json.dumps(found))
    inc = found[0]
    eq(inc["title"], "Account confirmed compromised for " + ALICE, json.dumps(inc))
    eq(inc["severity"], "high", json.dumps(inc))
    eq(inc["status"], "contained", "revoke_sessions contains the incident")
    eq(inc["email"], ALICE, json.dumps(inc))
    iid = str(inc["id"])

    r = h.cli("incident", "show", iid, "--json", *conf)
    eq(r.returncode, 0, r.stderr)
    tl = json.loads(r.stdout)["timeline"]
    steps = [(e["kind"], e.get("playbook"), e["detail"].get("action")) for e in tl]
    eq(steps[0][0], "detection", json.dumps(tl))
    actions = [(p, a) for k, p, a in steps if k == "action"]
    eq(actions, [("stolen-password", "revoke_sessions"), ("stolen-password", "open_incident"),
                 ("stolen-password", "notify")], json.dumps(tl))
    check(all(e["detail"].get("result") == "done" for e in tl if e["kind"] == "action"),
          json.dumps(tl))
    eq([e["at"] for e in tl], sorted(e["at"] for e in tl), "timeline in time order")
    r = h.cli("incident", "show", iid, *conf)
    eq(r.returncode, 0, r.stderr)
    out = r.stdout
    check(out.index("detection") < out.index("revoked every session") < out.index("notification"),
          out)
    eq([i["id"] for i in _incidents(h, gw, "--status", "contained")], [inc["id"]], "filter")
    eq(_incidents(h, gw, "--status", "resolved"), [], "filter")

    # The webhook: two 500s, then accepted; delays grow (backoff 200 ms, doubling).
    check(wait_until(lambda: len(rv.posts) >= 3, 15.0), "webhook got %d POSTs" % len(rv.posts))
    time.sleep(0.5)
    eq(len(rv.posts), 3, "no POST after the accepted one")
    eq([p[3] for p in rv.posts], [500, 500, 204], "answers")
    check(rv.posts[1][0] - rv.posts[0][0] >= 0.18, "first retry waited the backoff")
    check(rv.posts[2][0] - rv.posts[1][0] >= 0.36, "second retry waited twice as long")
    for _, headers, body, _ in rv.posts:
        want = "sha256=" + hmac.new(HOOK_KEY, body, hashlib.sha256).hexdigest()
        got = {k.lower(): v for k, v in headers.items()}.get("x-zt-signature")
        eq(got, want, "X-ZT-Signature")
    eq(rv.posts[0][2], rv.posts[2][2], "retries send the same document")
    doc = json.loads(rv.posts[2][2])
    eq(doc["playbook"], "stolen-password", json.dumps(doc))
    eq(doc["incident_id"], inc["id"], json.dumps(doc))
    eq(doc["title"], inc["title"], json.dumps(doc))
    eq(doc["severity"], "high", json.dumps(doc))
    eq(doc["user"]["email"], ALICE, json.dumps(doc))
    check(doc["time"].endswith("Z"), json.dumps(doc))

    r = h.cli("incident", "resolve", iid, *conf)
    eq(r.returncode, 0, "resolve: " + r.stderr)
    eq(_incidents(h, gw)[0]["status"], "resolved", "resolved")
    r = h.cli("incident", "resolve", iid, *conf)
    eq(r.returncode, 1, "resolving twice")
    check("already resolved" in r.stderr, r.stderr)
    r = h.cli("incident", "show", iid, "--json", *conf)
    last = json.loads(r.stdout)["timeline"][-1]
    eq((last["kind"], last["detail"].get("to")), ("status", "resolved"), json.dumps(last))
