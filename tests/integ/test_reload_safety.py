"""Reload safety (issue 10, finding 2): many SIGHUP reloads while users sign in, change their
passwords and an admin ends sessions through the admin API. Every action must take effect on the
very next request, and nothing long-lived may keep pointing into a freed config generation. Run
it under ASan (tests/integ/run.sh build-asan reload_safety): the harness fails the test on any
sanitizer report, which is how a read of freed memory shows up even when the action happened to
work."""
import os
import re
import signal
import threading
import urllib.parse

from admin_auth import personal_token
from harness import check, eq, free_port, get, port_open, wait_until
from portal_client import Browser, session_cookie, sign_in
from test_admin_api import Api

BROWSER = ("Accept", "text/html,application/xhtml+xml;q=0.9,*/*;q=0.8")
ROUNDS = 30  # reloads; each is followed by sign-ins, a revocation and (every 3rd) a password change
OVERLAP_RELOADS = 20  # then reloads sent while the same actions run
USERS = ("ann@example.test", "ben@example.test", "cho@example.test")


def _config(h, up, port):
    return h.config([h.app(up, sensitivity="internal")], extra={
        "admin": {"listen": "127.0.0.1:%d" % port},
        "audit": {"path": os.path.join(h.dir, "state", "audit", "audit.log")},
        "auth": {"argon2_memory": "19MiB", "argon2_passes": 2, "mfa": "optional"},
    })


def _reload(h, gw, cfg, n):
    """The reloaded config differs each time (log level, an extra app) so every reload builds
    a real new generation and frees the one before."""
    cfg = dict(cfg, apps=list(cfg["apps"]), log=dict(cfg["log"]))
    if n % 2:
        cfg["log"]["level"] = "debug"
        cfg["apps"].append(dict(cfg["apps"][0], name="extra", host="extra.test"))
    gw.reload(cfg)
    done = re.compile(r"configuration generation %d active" % (n + 1))
    check(wait_until(lambda: done.search(gw.stderr_text()) or "reload: still serving" in
                     gw.stderr_text() or not gw.alive(), 60) and done.search(gw.stderr_text()),
          "reload %d did not become active" % n)
    check(gw.alive(), "ztgate died on reload %d" % n)


def _reaches_app(b, what):
    """Fresh connections, so every worker's session cache learns the session."""
    for i in range(4):
        r = b.get("/page", [BROWSER])
        eq(r.status, 200, "%s: request %d reaches the app" % (what, i + 1))


def _sent_to_sign_in(b, what):
    for i in range(4):
        r = b.get("/page", [BROWSER])
        eq(r.status, 302, "%s: browser request %d" % (what, i + 1))
        check("/.ztgate/login" in (r.header("Location") or ""), "%s: sent to sign in" % what)
    eq(b.get("/page").status, 401, "%s: API client" % what)


def _signed_in(gw, email, password, what):
    b = Browser(gw.port)
    r = sign_in(b, email, password)
    eq(r.status, 303, "%s: password accepted" % what)
    check(session_cookie(b), "%s: a session cookie" % what)
    _reaches_app(b, what)
    return b


def _change_password(b, old, new, what):
    tok, _ = b.csrf("/.ztgate/password")
    r = b.post("/.ztgate/password", {"csrf_token": tok, "current_password": old,
                                     "new_password": new, "confirm_password": new})
    eq(r.status, 200, "%s: password changed" % what)
    _reaches_app(b, "%s: the changing browser keeps its (new) session" % what)


def test_reload_while_signing_in_revoking_and_changing_passwords(h):
    up = h.upstream()
    port = free_port()
    cfg = _config(h, up, port)
    gw = h.gateway(cfg)
    check(wait_until(lambda: port_open(port), 30), "admin port never opened")
    api = Api(port, personal_token(port, os.path.join(h.dir, "state")))
    passwords = {}
    for i, email in enumerate(USERS):
        passwords[email] = "first passphrase number %d" % i
        r = api.req("POST", "/api/v1/users", {"email": email, "password": passwords[email]})
        eq(r.status, 201, "create %s" % email)

    for n in range(1, ROUNDS + 1):
        email = USERS[n % len(USERS)]
        what = "round %d (%s)" % (n, email)
        _reload(h, gw, cfg, n)

        # Admin revocation after the generation that started the services was freed.
        b = _signed_in(gw, email, passwords[email], what)
        other = _signed_in(gw, USERS[(n + 1) % len(USERS)],
                           passwords[USERS[(n + 1) % len(USERS)]], what + " other user")
        r = api.req("POST", "/api/v1/users/%s/revoke-sessions" % urllib.parse.quote(email, ""))
        eq(r.status, 200, "%s: revoke-sessions" % what)
        _sent_to_sign_in(b, what + " after revoke-sessions")
        _reaches_app(other, what + ": another user's session survives")

        if n % 3 == 0:
            b = _signed_in(gw, email, passwords[email], what + " before password change")
            old, new = passwords[email], "changed passphrase %d for %s" % (n, email)
            _change_password(b, old, new, what)
            passwords[email] = new
            eq(sign_in(Browser(gw.port), email, old).status, 200,
               "%s: the old password is refused (form shown again)" % what)
            _signed_in(gw, email, new, what + " with the new password")

    # Reloads that land in the middle of sign-ins, password hashing and admin calls: a thread
    # sends SIGHUP (the file stays as it is, each one still builds a new generation) while the
    # same actions run, each checked as above.
    stop = threading.Event()
    sent = []

    def active():
        return len(re.findall(r"configuration generation \d+ active", gw.stderr_text()))

    def hup():
        # One at a time (a second SIGHUP while one is pending would merge with it), the next
        # as soon as the last is active: they still land amid the requests below.
        while not stop.is_set() and len(sent) < OVERLAP_RELOADS:
            before = active()
            gw.proc.signal(signal.SIGHUP)
            sent.append(1)
            if not wait_until(lambda: active() > before or stop.is_set(), 60):
                return

    t = threading.Thread(target=hup)
    t.start()
    try:
        n = 0
        while t.is_alive() or n < 2:
            n += 1
            email = USERS[n % len(USERS)]
            b = _signed_in(gw, email, passwords[email], "overlap %d" % n)
            r = api.req("POST", "/api/v1/users/%s/revoke-sessions" % urllib.parse.quote(email, ""))
            eq(r.status, 200, "overlap %d: revoke-sessions" % n)
            _sent_to_sign_in(b, "overlap %d after revoke-sessions" % n)
    finally:
        stop.set()
        t.join()
    last = re.compile(r"configuration generation %d active" % (ROUNDS + len(sent) + 1))
    check(len(sent) == OVERLAP_RELOADS and wait_until(lambda: last.search(gw.stderr_text()), 60),
          "all %d overlapping reloads became active (%d sent)" % (OVERLAP_RELOADS, len(sent)))
    check(gw.alive(), "ztgate alive after %d reloads" % (ROUNDS + len(sent)))


def test_reload_refuses_a_new_state_dir(h):
    """The store, keys, revocation counter and audit spool were opened in state_dir at start: a
    reload that moves it is refused whole, and the gateway keeps serving."""
    gw, up = h.simple()
    cfg = dict(gw.config, state_dir=os.path.join(h.dir, "elsewhere"))
    gw.reload(cfg)
    check(wait_until(lambda: "state_dir changed; that needs a restart" in gw.stderr_text(), 20),
          "no error naming state_dir after SIGHUP")
    check(gw.alive(), "ztgate exited on a refused reload")
    eq(get(gw.port, "/").status, 200, "the previous configuration still serves")
