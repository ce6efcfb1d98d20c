#!/usr/bin/env python3
"""Add N sessions to a ztgate store by copying one real session row, and write their cookies.

usage: add_sessions.py STORE_DB TEMPLATE_COOKIE N COOKIES_OUT

The template is a session made by a real sign-in through the portal; each copy gets a new
random cookie (32 random bytes, base64url, as zt_session_create makes them) and the row's
id_hash = SHA-256 hex of the cookie, as zt_session_hash_cookie computes it; every other
column (user, host, times, epoch, ...) is the template's, whatever the schema holds. One
transaction, so 100,000 rows take about a second instead of 100,000 sign-ins (argon2id each).
The cookies go to COOKIES_OUT, one per line."""
import base64
import hashlib
import os
import sqlite3
import sys


def cookie_hash(cookie):
    return hashlib.sha256(cookie.encode()).hexdigest()


def main():
    if len(sys.argv) != 5:
        sys.exit("usage: add_sessions.py STORE_DB TEMPLATE_COOKIE N COOKIES_OUT")
    db, template, n, out = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    con = sqlite3.connect(db, timeout=30)
    cols = [r[1] for r in con.execute("PRAGMA table_info(sessions)")]
    if "id_hash" not in cols:
        sys.exit("add_sessions: no sessions.id_hash column in %s" % db)
    row = con.execute("SELECT %s FROM sessions WHERE id_hash = ?" % ", ".join(cols),
                      (cookie_hash(template),)).fetchone()
    if row is None:
        sys.exit("add_sessions: the template session is not in %s" % db)
    at = cols.index("id_hash")
    sql = "INSERT INTO sessions (%s) VALUES (%s)" % (", ".join(cols), ", ".join("?" * len(cols)))
    with open(out, "w") as f, con:
        for _ in range(n):
            cookie = base64.urlsafe_b64encode(os.urandom(32)).rstrip(b"=").decode()
            values = list(row)
            values[at] = cookie_hash(cookie)
            con.execute(sql, values)
            f.write(cookie + "\n")
    total = con.execute("SELECT count(*) FROM sessions").fetchone()[0]
    print("added %d sessions (%d in the store)" % (n, total))


if __name__ == "__main__":
    main()
