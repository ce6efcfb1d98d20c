"""Admin API on its own listener: token file, bearer auth, users and groups end to end, strict
JSON errors, audit records for every call, and the same over TLS with a self-signed cert."""
import hashlib
import json
import os
import stat
import time
import urllib.parse

from admin_auth import FIRST_ADMIN, personal_token
from harness import Conn, check, eq, free_port, port_open, wait_until

GOOD_PW = "correct horse battery staple"


def _admin_gateway(h, tls=False, audit=False):
    """A gateway with the admin API on a free port; returns (gateway, admin port, token): the
    personal token of the first global admin, made with the bootstrap token file."""
    up = h.upstream()
    port = free_port()
    admin = {"listen": "127.0.0.1:%d" % port}
    if tls:
        admin["tls"] = {"cert": os.path.join(h.dir, "state", "admin.crt"),
                        "key": os.path.join(h.dir, "state", "admin.key"),
                        "self_signed": True}
    extra = {"admin": admin}
    if audit:
        extra["audit"] = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    gw = h.gateway(h.config([h.app(up)], extra=extra))
    check(wait_until(lambda: port_open(port), 10.0), "admin port %d never opened" % port)
    token_path = os.path.join(h.dir, "state", "admin.token")
    check(wait_until(lambda: os.path.exists(token_path), 5.0), "no admin token file")
    mode = stat.S_IMODE(os.stat(token_path).st_mode)
    eq(mode, 0o600, "admin token file mode")
    with open(token_path) as f:
        token = f.read().strip()
    check(len(token) >= 32, "admin token too short: %d" % len(token))
    return gw, port, personal_token(port, bootstrap=token, tls=tls)


class Api:
    def __init__(self, port, token, tls=False):
        self.port, self.token, self.tls = port, token, tls

    def req(self, method, path, body=None, token=True, ctype=True, raw=None):
        headers = []
        if token:
            headers.append(("Authorization", "Bearer %s" % (self.token if token is True
                                                             else token)))
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            headers.append(("Content-Type", "application/json"))
        c = Conn(self.port, tls=self.tls, server_name="localhost")
        try:
            r = c.request(method, path, host="127.0.0.1:%d" % self.port, headers=headers,
                          body=data)
        finally:
            c.close()
        check(r is not None, "no response to %s %s" % (method, path))
        if r.status == 413:
            return r  # refused by the connection layer before the API runs
        if r.status != 204:
            eq(r.header("Content-Type", "").split(";")[0], "application/json",
               "Content-Type of %s %s" % (method, path))
        eq(r.header("Cache-Control"), "no-store", "Cache-Control")
        eq(r.header("X-Content-Type-Options"), "nosniff", "X-Content-Type-Options")
        return r


def _audit_lines(h):
    path = os.path.join(h.dir, "state", "audit", "audit.log")
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def test_admin_auth(h):
    gw, port, token = _admin_gateway(h)
    api = Api(port, token)
    r = api.req("GET", "/api/v1/health", token=False)
    eq(r.status, 401, "no token")
    eq(r.json()["error"], "unauthorized", "error code")
    check(r.header("WWW-Authenticate", "").startswith("Bearer"), "WWW-Authenticate")
    eq(api.req("GET", "/api/v1/users", token="x" * 43).status, 401, "wrong token")
    r = api.req("GET", "/api/v1/health")
    eq(r.status, 200, "health with the token")
    eq(r.json(), {"status": "ok"}, "health body")
    eq(api.req("GET", "/nothing/here").status, 404, "outside /api/v1/")
    eq(api.req("GET", "/api/v1/nothing").status, 404, "unknown endpoint")
    r = api.req("DELETE", "/api/v1/users")
    eq(r.status, 405, "wrong method")
    eq(r.header("Allow"), "GET, POST", "Allow")
    check(token not in gw.stderr_text(), "the token appeared in the error log")


def test_admin_users_and_groups(h):
    gw, port, token = _admin_gateway(h, audit=True)
    api = Api(port, token)
    eq(api.req("POST", "/api/v1/groups", {"name": "eng"}).status, 201, "create group")
    eq(api.req("POST", "/api/v1/groups", {"name": "ENG"}).status, 409, "duplicate group")
    r = api.req("POST", "/api/v1/users", {"email": "ann@example.test", "name": "Ann",
                                          "groups": ["eng"], "password": GOOD_PW})
    eq(r.status, 201, "create user (%s)" % r.body[:200])
    user = r.json()
    eq(user["email"], "ann@example.test", "email")
    eq(user["groups"], ["eng"], "groups")
    eq(user["password_set"], True, "password_set")
    check(GOOD_PW.encode() not in r.body, "password echoed")
    eq(api.req("POST", "/api/v1/users", {"email": "ANN@example.test"}).status, 409, "dup user")
    r = api.req("POST", "/api/v1/users", {"email": "bob@example.test", "password": "short"})
    eq(r.status, 400, "weak password")
    check("password" in r.json()["message"], "message names the field")

    # Addressed by percent-encoded email and by id.
    r = api.req("GET", "/api/v1/users/" + urllib.parse.quote("ann@example.test", safe=""))
    eq(r.status, 200, "get by encoded email")
    eq(r.json()["id"], user["id"], "same user")
    eq(api.req("GET", "/api/v1/users/" + user["id"]).status, 200, "get by id")
    r = api.req("GET", "/api/v1/users")
    eq([u["email"] for u in r.json()["users"] if u["email"] != FIRST_ADMIN],
       ["ann@example.test"], "list (besides the admin calling)")
    r = api.req("GET", "/api/v1/users/ann@example.test/sessions")
    eq(r.status, 200, "sessions")
    eq(r.json()["sessions"], [], "no sessions yet")

    for action in ("disable", "enable", "reset-mfa", "revoke-sessions"):
        r = api.req("POST", "/api/v1/users/ann@example.test/" + action)
        eq(r.status, 200, action)
    r = api.req("POST", "/api/v1/users/ann@example.test/disable", {})
    eq(r.json()["user"]["disabled"], True, "disabled")
    r = api.req("POST", "/api/v1/users/ann@example.test/password", {"password": GOOD_PW + "!"})
    eq(r.status, 200, "set password")

    r = api.req("GET", "/api/v1/groups/eng")
    eq([m["email"] for m in r.json()["members"]], ["ann@example.test"], "members")
    eq(api.req("DELETE", "/api/v1/groups/eng/members/ann%40example.test").status, 204,
       "remove member")
    eq(api.req("POST", "/api/v1/groups/eng/members", {"user": user["id"]}).status, 200,
       "add member by id")
    eq(api.req("DELETE", "/api/v1/groups/eng").status, 204, "delete group")
    eq(api.req("DELETE", "/api/v1/users/" + user["id"]).status, 204, "delete user")
    eq(api.req("GET", "/api/v1/users/" + user["id"]).status, 404, "gone")

    # Every call is one audit record; none holds the token or a password.
    time.sleep(0.3)
    events = [e for e in _audit_lines(h) if e.get("api", {}).get("operation")]
    check(len(events) >= 18, "expected an audit record per call, got %d" % len(events))
    # The actor of each call is the person whose token made it, the token by its public id
    # (never the token); the first call was the bootstrap token's.
    token_id = token.split("_")[1]
    for e in events:
        if e["api"]["operation"] == "admin.first":
            check(e["actor"]["user"]["name"].startswith("bootstrap-token:"), "bootstrap actor")
            continue
        want = "admin:" + FIRST_ADMIN if e["http_response"]["code"] != 401 else "unauthenticated"
        eq(e["actor"]["user"]["name"], want, "actor of %s" % e["api"]["operation"])
        if want != "unauthenticated":
            eq(e["actor"]["user"]["credential_uid"], "token:" + token_id, "credential")
    text = json.dumps(events)
    check(token not in text, "token in the audit log")
    check(GOOD_PW not in text, "password in the audit log")
    changes = [e for e in events if e.get("class_uid") == 3001]
    check(any(e.get("user", {}).get("email_addr") == "ann@example.test" for e in changes),
          "account change events name the user")


def test_admin_json_errors(h):
    gw, port, token = _admin_gateway(h)
    api = Api(port, token)
    cases = [
        (b"{", "invalid_json"),
        (b"[]", "invalid_json"),
        (b'{"name":"a","name":"b"}', "invalid_json"),
        (b'{"name":"a","extra":1}', "unknown_field"),
        (b'{"name":5}', "invalid_field"),
        (b"{}", "missing_field"),
    ]
    for raw, code in cases:
        r = api.req("POST", "/api/v1/groups", raw=raw)
        eq(r.status, 400, "status for %r" % raw)
        eq(r.json()["error"], code, "error for %r" % raw)
    r = api.req("POST", "/api/v1/groups", raw=b'{"name":"a"}', ctype=False)
    eq(r.status, 415, "POST without application/json")
    r = api.req("POST", "/api/v1/groups", raw=b'{"name":"' + b"a" * (70 * 1024) + b'"}')
    eq(r.status, 413, "body over 64 KiB")


def test_admin_tls_self_signed(h):
    gw, port, token = _admin_gateway(h, tls=True)
    api = Api(port, token, tls=True)
    eq(api.req("GET", "/api/v1/health", token=False).status, 401, "TLS without token")
    r = api.req("GET", "/api/v1/health")
    eq(r.status, 200, "TLS health")
    eq(r.json()["status"], "ok", "TLS health body")
    check(os.path.exists(os.path.join(h.dir, "state", "admin.crt")), "self-signed cert made")
