"""The web console (issue 16, deliverable 2; docs/CONSOLE.md): an app of kind console that ztgate
answers itself behind the whole pipeline. A signed-in user who is not an administrator gets the
403 page; an administrator gets the pages their role allows, in English or Japanese; every change
is a POST with this session's CSRF token from the console's own origin and goes through the same
account service as the CLI (the same audit record but the actor); a sign-in older than
session_max_age is sent to sign in again; the CSP allows no script at all."""
import json
import os
import re
import time
import urllib.parse

from harness import check, eq, free_port, timeout, wait_until
from portal_client import FORM, PASSWORD, Browser, add_user, complete_sign_in

CONSOLE = "console.test"
ADMIN, HELPER, USER = "root@example.test", "help@example.test", "user@example.test"
CSP = ("default-src 'none'; style-src 'self'; img-src 'self' data:; form-action 'self'; "
       "frame-ancestors 'none'; base-uri 'none'")


def _gateway(h, max_age=None, extra_apps=()):
    audit = os.path.join(h.dir, "state", "audit", "audit.log")
    app = {"name": "console", "kind": "console", "host": CONSOLE}
    if max_age:
        app["session_max_age"] = max_age
    cfg = h.config([app] + list(extra_apps), extra={"audit": {"path": audit}})
    gw = h.gateway(cfg)
    return gw, audit


def make_admin(h, gw, email):
    """Global administrator. Until the admins foundation lands: the group ztgate-admins."""
    r = h.cli("admin", "add", email, "--role", "global_admin", "--config", gw.config_path)
    if r.returncode != 0:
        add = h.cli("group", "add", "ztgate-admins", "--config", gw.config_path)
        r = h.cli("group", "member-add", "ztgate-admins", email, "--config", gw.config_path)
        eq(r.returncode, 0, "make admin %s: %s" % (email, r.stdout + r.stderr + add.stderr))


def console_browser(h, gw, email, lang=None, create=True):
    if create:
        add_user(h, gw, email, PASSWORD)
    b = Browser(gw.port, host=CONSOLE, lang=lang)
    b.secret, b.recovery_codes = None, []
    complete_sign_in(b, email, PASSWORD)
    return b


def origin(b):
    return ("Origin", "http://%s" % CONSOLE)


def console_csrf(b, path):
    r = b.get(path)
    eq(r.status, 200, "GET %s" % path)
    m = re.search(rb'name="csrf" value="([^"]+)"', r.body)
    check(m, "no csrf field on %s" % path)
    return m.group(1).decode()


@timeout(90)
def test_console_frame_admin_and_not_admin(h):
    gw, audit = _gateway(h)
    # Not an administrator: the 403 page, no nav.
    u = console_browser(h, gw, USER)
    r = u.get("/")
    eq(r.status, 403, "non-admin dashboard")
    check(b"Not an administrator" in r.body, "403 page text: %r" % r.body[:400])
    check(b"<nav" not in r.body, "no nav for a non-admin")
    eq(r.header("Content-Security-Policy"), CSP, "CSP on the 403 page")
    # Administrator: the dashboard, nav, CSS, exact CSP, en and ja.
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    r = a.get("/")
    eq(r.status, 200, "admin dashboard")
    eq(r.header("Content-Security-Policy"), CSP, "CSP")
    eq(r.header("Cache-Control"), "no-store", "no-store")
    eq(r.header("X-Frame-Options"), "DENY", "no framing")
    check(b"<script" not in r.body.lower(), "no script on the dashboard")
    check(b'<link rel="stylesheet" href="/console.css">' in r.body, "stylesheet link")
    check(b"Dashboard" in r.body, "English title")
    css = a.get("/console.css")
    eq(css.status, 200, "stylesheet")
    check(css.header("Content-Type", "").startswith("text/css"), "css content type")
    r = a.get("/?lang=ja")
    eq(r.status, 200, "ja")
    check("ダッシュボード".encode() in r.body, "Japanese title")
    check(b'lang="ja"' in r.body, "html lang ja")
    check(any("ztc_lang=ja" in c for c in a.set_cookies), "language kept in a cookie")
    r = a.get("/")
    check("ダッシュボード".encode() in r.body, "language cookie honoured")
    # Unknown page: 404 in the frame; bad query: 400 with a clear message.
    eq(a.get("/nope").status, 404, "unknown page")
    r = a.get("/?lang=en&period=forever")
    eq(r.status, 400, "bad period")
    check(b"24h, 7d or 30d" in r.body, "period message")
    r = a.get("/?a=%zz")
    eq(r.status, 400, "malformed query")
    # A client-sent identity header means nothing.
    r = u.get("/", headers=(("X-ZT-User", ADMIN), ("X-ZT-Assertion", "x")))
    eq(r.status, 403, "identity header ignored")


@timeout(90)
def test_console_stale_sign_in_reauth(h):
    gw, audit = _gateway(h, max_age="1m")
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    a = console_browser(h, gw, ADMIN, create=False)
    eq(a.get("/").status, 200, "fresh sign-in")
    # Age the session's sign-in in the store: the console asks to sign in again.
    import sqlite3
    db = sqlite3.connect(os.path.join(h.dir, "state", "ztgate.db"))
    cols = [r[1] for r in db.execute("PRAGMA table_info(sessions)")]
    check("auth_time" in cols, "sessions.auth_time column: %r" % cols)
    db.execute("UPDATE sessions SET auth_time = auth_time - 600")
    db.commit()
    db.close()
    # The session cache may hold the old row for a moment; wait for the store's answer.
    def stale():
        r = a.get("/users", headers=(("Accept", "text/html"),))
        return r.status in (302, 303) and "prompt=login" in r.header("Location", "")
    check(wait_until(stale, 15.0, 0.5), "stale sign-in not sent to re-authenticate")
