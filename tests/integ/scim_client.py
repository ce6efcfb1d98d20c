"""A SCIM 2.0 client for the tests: a gateway with the admin listener and a `scim:` token, and
requests that check what every SCIM answer must carry (media type, no-store)."""
import json
import os
import stat

from harness import Conn, check, eq, free_port, port_open, wait_until

SCIM = "/scim/v2"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCHOP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def _read_token(path):
    check(wait_until(lambda: os.path.exists(path), 5.0), "no token file %s" % path)
    eq(stat.S_IMODE(os.stat(path).st_mode), 0o600, "token file mode of %s" % path)
    with open(path) as f:
        return f.read().strip()


def scim_gateway(h, audit=True, **app_kw):
    """A gateway with the admin listener and SCIM on; returns (gateway, Scim, admin token)."""
    up = h.upstream()
    port = free_port()
    extra = {"admin": {"listen": "127.0.0.1:%d" % port}, "scim": {"token_file": os.path.join(h.dir, "state", "scim.token")}}
    if audit:
        extra["audit"] = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    apps = [h.app(up, **app_kw)]
    gw = h.gateway(h.config(apps, extra=extra))
    check(wait_until(lambda: port_open(port), 10.0), "admin port %d never opened" % port)
    admin_token = _read_token(os.path.join(h.dir, "state", "admin.token"))
    scim_token = _read_token(os.path.join(h.dir, "state", "scim.token"))
    check(admin_token != scim_token, "SCIM and admin tokens differ")
    return gw, Scim(port, scim_token), admin_token


class Scim:
    def __init__(self, port, token):
        self.port, self.token = port, token

    def req(self, method, path, body=None, token=True, headers=(), raw=None,
            ctype="application/scim+json"):
        hdrs = list(headers)
        if token:
            hdrs.append(("Authorization", "Bearer %s" % (self.token if token is True else token)))
        data = raw
        if body is not None:
            data = json.dumps(body).encode()
        if data is not None and ctype:
            hdrs.append(("Content-Type", ctype))
        c = Conn(self.port, server_name="localhost")
        try:
            r = c.request(method, SCIM + path, host="127.0.0.1:%d" % self.port, headers=hdrs,
                          body=data)
        finally:
            c.close()
        check(r is not None, "no response to %s %s" % (method, path))
        if r.status not in (204, 304, 413):
            eq(r.header("Content-Type", "").split(";")[0], "application/scim+json",
               "Content-Type of %s %s (%d %s)" % (method, path, r.status, r.body[:200]))
            eq(r.header("Cache-Control"), "no-store", "Cache-Control")
        return r

    def ok(self, method, path, body=None, status=200, **kw):
        r = self.req(method, path, body, **kw)
        eq(r.status, status, "%s %s: %s" % (method, path, r.body[:300]))
        return r.json() if r.body else None

    def error(self, method, path, body=None, status=400, scim_type=None, **kw):
        r = self.req(method, path, body, **kw)
        eq(r.status, status, "%s %s refused: %s" % (method, path, r.body[:300]))
        e = r.json()
        eq(e["schemas"], [ERROR], "error schema")
        eq(e["status"], str(status), "status is a string")
        if scim_type is not None:
            eq(e.get("scimType"), scim_type, "scimType of %s %s" % (method, path))
        check(e.get("detail"), "error detail")
        return e

    def find(self, filt, what="Users", **q):
        import urllib.parse
        qs = {"filter": filt}
        qs.update(q)
        return self.ok("GET", "/%s?%s" % (what, urllib.parse.urlencode(qs)))

    def patch(self, what, rid, ops, status=None, **kw):
        st = status if status is not None else (204 if what == "Groups" else 200)
        return self.ok("PATCH", "/%s/%s" % (what, rid), {"schemas": [PATCHOP], "Operations": ops},
                       status=st, **kw)


def audit_lines(h):
    path = os.path.join(h.dir, "state", "audit", "audit.log")
    if not os.path.exists(path):
        return []
    with open(path, errors="replace") as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]
