"""Personal admin tokens for integration tests (docs/ADMINS.md).

The file STATE_DIR/admin.token is only the bootstrap token: it may call POST /api/v1/admins/first
once, which makes the first global admin and answers with that person's first personal token.
Tests that drive the admin API turn the bootstrap token into that personal token here and use it
for everything else, as an operator would."""
import json
import os

from harness import Conn, check, eq, wait_until

FIRST_ADMIN = "first-admin@example.test"
_made = {}  # bootstrap token -> personal token: the bootstrap makes the first admin only once


def read_bootstrap(state_dir, timeout_s=10.0):
    """The bootstrap token the gateway wrote into STATE_DIR/admin.token."""
    path = os.path.join(state_dir, "admin.token")
    check(wait_until(lambda: os.path.exists(path), timeout_s), "no admin token file %s" % path)
    with open(path) as f:
        return f.read().strip()


def call(port, method, path, token, body=None, tls=False):
    """One admin API call; returns (status, parsed JSON or None)."""
    headers = [("Authorization", "Bearer %s" % token)]
    data = None
    if body is not None:
        data = json.dumps(body).encode()
        headers.append(("Content-Type", "application/json"))
    c = Conn(port, tls=tls, server_name="localhost")
    try:
        r = c.request(method, path, host="127.0.0.1:%d" % port, headers=headers, body=data)
    finally:
        c.close()
    check(r is not None, "no response to %s %s" % (method, path))
    try:
        doc = json.loads(r.body) if r.body else None
    except ValueError:
        doc = None
    return r.status, doc


def first_admin(port, bootstrap, email=FIRST_ADMIN, tls=False):
    """POST /api/v1/admins/first with the bootstrap token: EMAIL (made when missing) becomes the
    first global admin. Returns the answer (its "token" is the personal token, shown once)."""
    status, doc = call(port, "POST", "/api/v1/admins/first", bootstrap, {"user": email}, tls=tls)
    eq(status, 201, "POST /api/v1/admins/first: %r" % (doc,))
    check(doc["token"].startswith("ztg_"), "a personal token: %r" % doc)
    return doc


def personal_token(port, state_dir=None, bootstrap=None, email=FIRST_ADMIN, tls=False):
    """A global admin's personal token for a gateway whose admin API listens on `port`: the
    bootstrap token (read from state_dir/admin.token unless given) makes EMAIL the first
    admin."""
    if bootstrap is None:
        bootstrap = read_bootstrap(state_dir)
    if bootstrap not in _made:  # a restarted gateway keeps its store, hence its first admin
        _made[bootstrap] = first_admin(port, bootstrap, email=email, tls=tls)["token"]
    return _made[bootstrap]


def gateway_token(h, port, tls=False, email=FIRST_ADMIN):
    """personal_token for the usual test layout (STATE_DIR = h.dir/state)."""
    return personal_token(port, os.path.join(h.dir, "state"), email=email, tls=tls)


class LazyToken:
    """A personal token made on first use (str()), for helpers whose callers may never call the
    admin API: the first admin then does not appear in their user lists."""

    def __init__(self, port, state_dir=None, bootstrap=None, tls=False):
        self.args = (port, state_dir, bootstrap)
        self.tls = tls

    def __str__(self):
        port, state_dir, bootstrap = self.args
        return personal_token(port, state_dir, bootstrap=bootstrap, tls=self.tls)
