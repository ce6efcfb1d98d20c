"""`ztgate store migrate` end to end (docs/STORE.md "Moving from SQLite to PostgreSQL"): a
SQLite deployment made through the real CLI and portal (users with passwords, one with TOTP and
recovery codes, groups, a signed-in session, an enrolment code) is refused while its gateway
runs, then copied into a throwaway PostgreSQL with a count and checksum per table; a second
run is refused (target not empty); a gateway on PostgreSQL then signs the same user in with the
same password and TOTP, and the browser signed in before the move is still signed in."""
import copy
import json
import os

import harness
import pgcluster
from harness import check, eq
from portal_client import (Browser, _fresh_step, add_user, mfa, session_cookie, sign_in,
                           signed_in_browser, totp)

ALICE = "alice@example.test"
BOB = "bob@example.test"
PASSWORD = "correct horse battery staple"


def _cli(h, config_path, *args, ok=True, stdin=None):
    r = h.cli(*(list(args) + ["--config", config_path]), input=stdin, timeout_s=120)
    if ok:
        eq(r.returncode, 0, "ztgate %s (%s)" % (" ".join(args), (r.stdout + r.stderr).strip()))
    return r


def _pg_config(h, cfg, pg):
    new = copy.deepcopy(cfg)
    new["store"] = {"backend": "postgresql", "dsn": pg.tcp_dsn()}
    path = h.path("ztgate-pg.yaml")
    with open(path, "w") as f:
        f.write(harness.yaml_dump(new) + "\n")
    return new, path


def _sqlite_config(h, up):
    """A SQLite deployment even when the suite runs on PostgreSQL (ZT_INTEG_PG_DSN)."""
    cfg = h.config([h.app(up, sensitivity="internal")])
    cfg["store"] = {"backend": "sqlite"}
    cfg["audit"] = {"path": os.path.join(cfg["state_dir"], "audit", "audit.log")}
    return cfg


def _audit(cfg):
    with open(cfg["audit"]["path"]) as f:
        return [json.loads(line) for line in f if line.endswith("\n") and line.strip()]


def _sqlite_deployment(h):
    up = h.upstream()
    cfg = _sqlite_config(h, up)
    gw = h.gateway(cfg)
    alice = signed_in_browser(h, gw, ALICE, PASSWORD, groups=("staff", "eng"))
    check(alice.secret, "alice enrolled TOTP on her first sign-in")
    add_user(h, gw, BOB, PASSWORD + " too", groups=("staff",))
    _cli(h, gw.config_path, "device", "enroll-code", "--user", BOB)
    return gw, up, cfg, alice


@harness.timeout(240)
def test_migrate_sqlite_deployment_to_postgresql(h):
    gw, up, cfg, alice = _sqlite_deployment(h)
    pg = pgcluster.PgServer(h)
    _, pg_path = _pg_config(h, cfg, pg)

    r = _cli(h, pg_path, "store", "migrate", ok=False)
    eq(r.returncode, 1, "migrate while the gateway runs (%s)" % r.stderr.strip())
    check("stop the gateway first" in r.stderr, "refusal says why: %r" % r.stderr)
    eq(pg.sql("SELECT count(*) FROM users").strip(), "0", "nothing copied while refused")

    gw.proc.stop()
    r = _cli(h, pg_path, "store", "migrate", "--json")
    report = json.loads(r.stdout)
    check(report["ok"], "migrate reports ok")
    rows = {t["table"]: t for t in report["tables"]}
    for name, n in (("users", 2), ("groups", 2), ("memberships", 3), ("totp_credentials", 1),
                    ("recovery_codes", 10), ("sessions", 1), ("enroll_codes", 1)):
        eq((rows[name]["rows_sqlite"], rows[name]["rows_postgresql"]), (n, n), name + " rows")
    for t in report["tables"]:
        eq(t["sha256_postgresql"], t["sha256_sqlite"], t["table"] + " checksum")
    eq(pg.sql("SELECT count(*) FROM users").strip(), "2", "users in PostgreSQL")

    r = _cli(h, pg_path, "store", "migrate", ok=False)
    eq(r.returncode, 1, "a second migrate into the same database")
    check("not empty" in r.stderr, "refused as not empty: %r" % r.stderr)
    eq(pg.sql("SELECT count(*) FROM users").strip(), "2", "the refusal changed nothing")

    gw_pg = h.gateway(_pg_config(h, cfg, pg)[0], name="ztgate-pg")
    # The browser signed in before the move keeps its session (same keys, session copied).
    before = Browser(gw_pg.port)
    before.cookies = dict(alice.cookies)
    eq(before.get("/").status, 200, "the session made on SQLite, served from PostgreSQL")
    # A fresh sign-in: same password, same TOTP secret (asked, not enrolled again).
    b = Browser(gw_pg.port)
    r = sign_in(b, ALICE, PASSWORD)
    eq(r.status, 303, "the password set on SQLite accepted on PostgreSQL")
    check(r.header("Location", "").startswith("/.ztgate/mfa"),
          "the TOTP enrolled on SQLite is asked for (not a new enrolment): %r"
          % r.header("Location", ""))
    step = _fresh_step(alice.secret)
    check(step is not None, "an unused TOTP time step")
    r = mfa(b, totp(alice.secret, at=step * 30))
    eq(r.status, 303, "the TOTP code of the secret enrolled on SQLite accepted")
    check(session_cookie(b), "signed in on the PostgreSQL gateway")
    eq(b.get("/").status, 200, "the app through the PostgreSQL gateway")
    r = _cli(h, pg_path, "user", "list", "--json")
    check(BOB in r.stdout and ALICE in r.stdout, "the CLI on PostgreSQL lists both users")
    # The migration is on record: queued by the command, appended by the gateway on the new
    # store (the refused attempts wrote nothing and left no record).
    def migrate_records():
        return [r for r in _audit(cfg)
                if r.get("message") == "ztgate store migrate (command line)"]
    check(harness.wait_until(lambda: migrate_records(), 10.0), "the migration's audit record")
    recs = migrate_records()
    eq(len(recs), 1, "one audit record of the migration: %r" % recs)
    check("store migrate --json" in recs[0]["unmapped"]["command_line"], recs[0])


@harness.timeout(120)
def test_migrate_refuses_what_it_cannot_copy(h):
    cfg = _sqlite_config(h, h.upstream())
    gw = h.gateway(cfg, start=False)
    gw.write_config(cfg)
    add_user(h, gw, ALICE, PASSWORD, groups=("staff",))
    pg = pgcluster.PgServer(h)
    _, pg_path = _pg_config(h, cfg, pg)
    # The old config names SQLite: migrate wants the PostgreSQL one.
    r = _cli(h, gw.config_path, "store", "migrate", ok=False)
    eq(r.returncode, 1, "migrate with a SQLite config")
    check("not postgresql" in r.stderr, "says the config must name PostgreSQL: %r" % r.stderr)
    # A source directory without a store.
    empty = h.path("empty")
    os.mkdir(empty, 0o700)
    r = _cli(h, pg_path, "store", "migrate", "--from", empty, ok=False)
    eq(r.returncode, 1, "migrate from a directory without a store")
    check("no SQLite store" in r.stderr, "says there is no store: %r" % r.stderr)
    eq(pg.sql("SELECT count(*) FROM users").strip(), "0", "nothing copied")
