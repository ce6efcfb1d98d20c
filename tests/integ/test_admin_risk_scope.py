"""A scoped admin's risk list (GET /api/v1/risk) is filtered by scope before it is cut to its
row limit (1000): with more out-of-scope detections than the limit, newer than the in-scope
ones, every in-scope detection still appears, and no out-of-scope one."""
import os
import time

from admin_auth import call
from harness import check, eq
from test_admin_roles import ALICE, BOB, PW, _cli, _gateway, _token

SECA = "secop-a@city.test"
LIMIT = 1000


def _add_detections(h, email, n, created_at):
    """Detections written straight into the store (the engine keeps 1000 per user; the rows
    here stay under that per user), all at_risk, oldest first."""
    db = h.store_db()
    try:
        (uid,) = db.execute("SELECT id FROM users WHERE email = ?", (email,)).fetchone()
        db.executemany(
            "INSERT INTO risk_detections (user_id, type, activity, level, state, created_at,"
            " updated_at) VALUES (?, 'anomalous_token', 'signin', 2, 'at_risk', ?, ?)",
            [(uid, created_at + i, created_at + i) for i in range(n)])
        db.commit()
    finally:
        db.close()


def test_scoped_risk_list_filters_before_the_limit(h):
    gw, port = _gateway(h)
    for g in ("school-a", "school-b"):
        _cli(h, gw, "group", "add", g)
    _cli(h, gw, "user", "add", ALICE, "--group", "school-a", "--password-stdin")
    _cli(h, gw, "user", "add", BOB, "--group", "school-b", "--password-stdin")
    carol = "carol@school-b.test"
    _cli(h, gw, "user", "add", carol, "--group", "school-b", "--password-stdin")
    _cli(h, gw, "user", "add", SECA, "--password-stdin")
    _cli(h, gw, "admin", "add", SECA, "--role", "security_operator", "--scope", "school-a")
    now = int(time.time())
    _add_detections(h, ALICE, 5, now - 7200)       # in scope, oldest
    _add_detections(h, BOB, 700, now - 3600)       # out of scope, newer: 1200 > the limit
    _add_detections(h, carol, 500, now - 1800)
    tok = _token(h, gw, SECA)
    status, doc = call(port, "GET", "/api/v1/risk", tok)
    eq(status, 200, "scoped list: %r" % (doc,))
    emails = [d["email"] for d in doc["detections"]]
    eq(emails, [ALICE] * 5, "every in-scope detection and nothing else")
    status, doc = call(port, "GET", "/api/v1/risk?state=at_risk", tok)
    eq(len(doc["detections"]), 5, "with a state filter too")
    # An unscoped admin still gets at most the limit, newest first.
    _cli(h, gw, "user", "add", "boss@city.test", "--password-stdin")
    _cli(h, gw, "admin", "add", "boss@city.test", "--role", "global_admin")
    status, doc = call(port, "GET", "/api/v1/risk", _token(h, gw, "boss@city.test"))
    eq(len(doc["detections"]), LIMIT, "unscoped list keeps its limit")
    check(all(d["email"] != ALICE for d in doc["detections"]), "newest first")
