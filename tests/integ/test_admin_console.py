"""The console's `/admins` page (docs/ADMINS.md): an administrator sees their roles and their
own API tokens, makes a token (shown once, in the answer to the POST, never in a URL; it works on
the admin API with the permissions ticked) and revokes it; the records are the service layer's
(admin_token.create / admin_token.revoke) naming the person and the console session; another
person's token cannot be revoked (404); bad input is refused; a scoped help desk does not see
the administrators' table."""
import json
import os
import re

from admin_auth import call
from harness import check, eq, free_port, port_open, timeout, wait_until
from portal_client import add_user
from test_console import CONSOLE, console_browser, make_admin, post

ADMIN, HELPER = "root@example.test", "help@example.test"


def _gateway(h):
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    port = free_port()
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    cfg = h.config([app], extra={"audit": {"path": audit},
                                 "admin": {"listen": "127.0.0.1:%d" % port}})
    gw = h.gateway(cfg)
    check(wait_until(lambda: port_open(port), 10.0), "admin port never opened")
    return gw, audit, port


def _records(audit, op):
    with open(audit, errors="replace") as f:
        return [r for r in (json.loads(line) for line in f if line.endswith("\n") and line.strip())
                if r.get("unmapped", {}).get("operation") == op]


@timeout(120)
def test_console_admins_page_tokens(h):
    gw, audit, api_port = _gateway(h)
    add_user(h, gw, ADMIN)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    r = a.get("/admins")
    eq(r.status, 200, "admins page: %r" % r.body[-500:])
    check(b"Global administrator" in r.body, "my role")
    check(b"My API tokens" in r.body and b"Administrators" in r.body, "sections")
    check(b"<script" not in r.body.lower(), "no script")
    check("全体管理者".encode() in a.get("/admins?lang=ja").body, "Japanese role name")
    a.get("/admins?lang=en")

    # Make a token with two permissions: shown once in the POST's answer, never in a URL.
    r = post(a, "/admins", {"action": "create", "name": "nightly export", "expires": "30d",
                            "perm0": "1", "perm4": "1"})
    eq(r.status, 200, "create: %r" % r.body[-600:])
    eq(r.header("Cache-Control"), "no-store", "not cached")
    m = re.search(rb'<code class="secret">(ztg_[0-9a-f]{16}_[A-Za-z0-9_-]{43})</code>', r.body)
    check(m, "the token shown: %r" % r.body[-800:])
    token = m.group(1).decode()
    check(r.header("Location") is None, "no redirect carrying it")
    status, doc = call(api_port, "GET", "/api/v1/users", token)
    eq(status, 200, "the token reads users: %r" % doc)
    status, doc = call(api_port, "POST", "/api/v1/users", token, {"email": "x@example.test"})
    eq(status, 403, "and nothing else: %r" % doc)
    r = a.get("/admins")
    check(b"nightly export" in r.body and token.encode() not in r.body, "listed, not shown")
    check(b"<code>users:read</code> <code>devices:read</code>" in r.body, "its scopes")

    # Records: the service layer's, naming the person and the console session.
    check(wait_until(lambda: _records(audit, "admin_token.create"), 5.0), "create record")
    rec = _records(audit, "admin_token.create")[-1]
    eq(rec["actor"]["user"]["name"], "admin:" + ADMIN, "actor")
    check(rec["actor"]["user"]["credential_uid"].startswith("console:"), "console credential")
    with open(audit, errors="replace") as f:
        check(token.split("_", 2)[2] not in f.read(), "no token in the audit log")

    # Bad input: no name, a lifetime not offered, no permission, a permission not held.
    for fields in ({"action": "create", "name": "", "expires": "30d", "perm0": "1"},
                   {"action": "create", "name": "t", "expires": "10y", "perm0": "1"},
                   {"action": "create", "name": "t", "expires": "30d"},
                   {"action": "create", "name": "t", "expires": "30d", "perm99": "1"},
                   {"action": "launch"}):
        eq(post(a, "/admins", fields).status, 400, "refused: %r" % fields)
    eq(post(a, "/admins", {"action": "create", "name": "t", "expires": "30d", "perm0": "1"},
            csrf="x" * 43).status, 403, "wrong CSRF")

    # Another person's token: not found; mine: revoked, then dead on the API.
    add_user(h, gw, HELPER)
    make_admin(h, gw, HELPER, role="helpdesk", scope=None)
    r = h.cli("admin", "token", "create", HELPER, "--name", "theirs", "--json",
              "--config", gw.config_path)
    eq(r.returncode, 0, r.stderr)
    theirs = json.loads(r.stdout)["id"]
    hb = console_browser(h, gw, HELPER, create=False)
    eq(post(hb, "/admins", {"action": "revoke", "id": token.split("_")[1]}).status, 404,
       "someone else's token")
    r = hb.get("/admins")
    check(b"Administrators</h2>" not in r.body, "a help desk does not see the admin table")
    r = post(a, "/admins", {"action": "revoke", "id": token.split("_")[1]})
    eq(r.status, 303, "revoke: %r" % r.body[-300:])
    eq(call(api_port, "GET", "/api/v1/users", token)[0], 401, "revoked on the API")
    check(wait_until(lambda: _records(audit, "admin_token.revoke"), 5.0), "revoke record")
    # A global admin may revoke anyone's (admins permission).
    eq(post(a, "/admins", {"action": "revoke", "id": theirs}).status, 303, "anyone's, as admin")
