"""One "confirm compromised" for every front-end (issue 10, finding 6): the same verdict is given
once through the admin API and once with `ztgate risk confirm-compromised`, on two identical
setups (a gateway, a signed-in user, a playbook that revokes, requires a password change,
disables, opens an incident and notifies a webhook). Afterwards the two stores (incidents with
their timelines, detections, the user, sessions), the audit logs (every Detection Finding except
the front-end's own record of the call, without times, ids and the actor) and the webhook
documents (without time) must be equal. Before the fix the CLI ran no playbook: no incident,
no notification, the user not disabled."""
import json
import os

from admin_auth import personal_token
from harness import APP_HOST, check, eq, free_port, wait_until
from portal_client import add_user, signed_in_browser
from test_admin_api import Api
from test_incident import HOOK_KEY, Receiver

ALICE = "alice@example.test"


def _setup(h, name, rv):
    state = h.path("state-" + name)
    key = h.path("hook-%s.key" % name)
    with open(key, "wb") as f:
        f.write(HOOK_KEY)
    os.chmod(key, 0o600)
    admin_port = free_port()
    extra = {
        "state_dir": state,
        "audit": {"path": os.path.join(state, "audit", "audit.log")},
        "admin": {"listen": "127.0.0.1:%d" % admin_port},
        "incidents": {"notify": {"url": "http://127.0.0.1:%d/hook" % rv.port, "timeout": "2s",
                                 "retries": 3, "backoff": "200ms", "secret_file": key}},
        "playbooks": [{"name": "stolen-password",
                       "on": {"types": ["admin_confirmed_compromised"]},
                       "actions": ["revoke_sessions", "require_password_change", "disable_user",
                                   "open_incident", "notify"]}],
    }
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host=APP_HOST)], extra=extra)
    gw = h.gateway(cfg, name="ztgate-" + name)
    signed_in_browser(h, gw, ALICE)
    return gw, admin_port


def _cli(h, gw, *args):
    r = h.cli(*args, "--json", "--config", gw.config_path)
    eq(r.returncode, 0, " ".join(args) + ": " + r.stderr)
    return json.loads(r.stdout)


DROP = {"id", "at", "created_at", "updated_at", "request_id", "time", "seq", "prev", "hash",
        "actor", "last_sign_in_at", "password_changed_at"}


def _strip(v):
    """v without times, ids and the actor (evidence.by names the front-end)."""
    if isinstance(v, dict):
        out = {k: _strip(x) for k, x in v.items() if k not in DROP}
        if isinstance(out.get("evidence"), dict):
            out["evidence"].pop("by", None)
        if isinstance(out.get("metadata"), dict):
            out["metadata"].pop("uid", None)
            # The verdict's own record (src/response) points at the front-end's record of the
            # call: an id like the others.
            if "operation" in out.get("unmapped", {}):
                out["metadata"].pop("correlation_uid", None)
        if "user_id" in out or "uid" in out:
            out.pop("user_id", None)
            out.pop("uid", None)
        return out
    if isinstance(v, list):
        return [_strip(x) for x in v]
    return v


def _store(h, gw):
    incs = _cli(h, gw, "incident", "list")
    timelines = [_cli(h, gw, "incident", "show", str(i["id"]))["timeline"] for i in incs]
    return {"incidents": _strip(incs), "timelines": _strip(timelines),
            "detections": _strip(_cli(h, gw, "risk", "list")),
            "user": _strip(_cli(h, gw, "user", "show", ALICE)),
            "sessions": _strip(_cli(h, gw, "user", "sessions", ALICE))}


def _findings(gw):
    """Detection Findings, minus the front-end's own record of the call."""
    out = []
    with open(gw.config["audit"]["path"], errors="replace") as f:
        for line in f:
            rec = json.loads(line)
            if rec.get("class_uid") != 2004 or "api" in rec:
                continue
            out.append(_strip(rec))
    return out


def test_confirm_compromised_same_through_cli_and_admin_api(h):
    # Each receiver refuses the first POST: both notifiers must retry the same document.
    rv_api, rv_cli = Receiver(fail_first=1), Receiver(fail_first=1)
    try:
        gw_api, admin_port = _setup(h, "api", rv_api)
        gw_cli, _ = _setup(h, "cli", rv_cli)
        eq(len(_cli(h, gw_api, "user", "sessions", ALICE)), 1, "a session to revoke")
        eq(len(_cli(h, gw_cli, "user", "sessions", ALICE)), 1, "a session to revoke")

        token = personal_token(admin_port, gw_api.config["state_dir"])
        r = Api(admin_port, token).req("POST", "/api/v1/users/%s/confirm-compromised" % ALICE)
        eq(r.status, 200, "admin API: %r" % r.body)
        r = h.cli("risk", "confirm-compromised", ALICE, "--config", gw_cli.config_path)
        eq(r.returncode, 0, "CLI: " + r.stdout + r.stderr)
        check("incident 1 opened" in r.stdout, r.stdout)
        eq([p[3] for p in rv_cli.posts], [500, 204], "the CLI delivered (with a retry) before exiting")

        api, cli = _store(h, gw_api), _store(h, gw_cli)
        eq(len(api["incidents"]), 1, json.dumps(api["incidents"]))
        for part in ("incidents", "timelines", "detections", "user", "sessions"):
            eq(cli[part], api[part], "store: " + part)
        eq(api["user"]["status"], "disabled", json.dumps(api["user"]))

        check(wait_until(lambda: len(rv_api.posts) >= 2, 10.0), "the gateway retried")
        docs = [[_strip(json.loads(p[2])) for p in rv.posts] for rv in (rv_api, rv_cli)]
        eq(docs[1], docs[0], "webhook documents")
        eq(docs[0][0]["type"], "admin_confirmed_compromised", json.dumps(docs[0]))

        # An admin resolves both incidents with the CLI: its records are queued for the log too.
        for gw in (gw_api, gw_cli):
            r = h.cli("incident", "resolve", "1", "--config", gw.config_path)
            eq(r.returncode, 0, "incident resolve: " + r.stderr)
        # The CLI's records reach the log through the spool: stop both to read final logs.
        gw_api.proc.stop()
        gw_cli.proc.stop()
        fa, fc = _findings(gw_api), _findings(gw_cli)
        check(any(f.get("incident", {}).get("action") == "disable_user" for f in fa),
              json.dumps(fa))
        eq(fc, fa, "audit: Detection Findings")
        last = [f for f in fa if "incident" in f][-1]  # the resolution's own record comes after
        eq((last["activity_id"], last["incident"]["status"]), (3, "resolved"), json.dumps(last))
    finally:
        rv_api.close()
        rv_cli.close()


def test_confirm_compromised_cli_reports_an_undelivered_notification(h):
    """Nobody listens at the webhook: the verdict and the incident stand, the CLI says the
    notification was not delivered and exits 1."""
    rv = Receiver(fail_first=0)
    rv.close()  # its port is now closed
    cfg = h.config([h.app("http://127.0.0.1:9", name="app", host=APP_HOST)],
                   extra={"incidents": {"notify": {"url": "http://127.0.0.1:%d/hook" % rv.port,
                                                   "timeout": "500ms", "retries": 1,
                                                   "backoff": "100ms"}},
                          "playbooks": [{"name": "tell-soc",
                                         "on": {"types": ["admin_confirmed_compromised"]},
                                         "actions": ["open_incident", "notify"]}]})
    gw = h.gateway(cfg, start=False)
    add_user(h, gw, ALICE)
    gw.start()  # makes auth.secrets_key, from which the webhook key is derived
    r = h.cli("risk", "confirm-compromised", ALICE, "--config", gw.config_path)
    eq(r.returncode, 1, r.stdout + r.stderr)
    check("1 webhook notification(s) could not be delivered" in r.stderr, r.stderr)
    eq([i["status"] for i in _cli(h, gw, "incident", "list")], ["open"], "the incident stands")
    eq(_cli(h, gw, "risk", "list")[0]["state"], "confirmed_compromised", "the verdict stands")
