"""The PostgreSQL store end to end (docs/STORE.md "PostgreSQL"): a gateway over TCP with TLS
verify-full signs a user in that the CLI created; refusals at start (wrong CA, foreign tables,
a newer schema, the database down); check-config errors for the store: section. Also checks
tests/integ/pgcluster.py's relay, which the multi-gateway tests rely on."""
import os
import subprocess

import harness
import pgcluster
import portal_client
from harness import check, eq

PSQL_TIMEOUT = "connect_timeout=2"


def _psql_ok(pg, port):
    r = subprocess.run(["psql", pg.tcp_dsn(port, extra=PSQL_TIMEOUT), "-qAtc", "SELECT 42"],
                       capture_output=True, text=True, timeout=30)
    return r.returncode == 0 and r.stdout.strip() == "42"


@harness.timeout(90)
def test_pgcluster_relay_cut_restore_and_restart(h):
    pg = pgcluster.PgServer(h)
    relay = pgcluster.Relay(h, pg.port)
    check(_psql_ok(pg, relay.port), "psql through the relay (TLS verify-full) failed")
    relay.cut()
    check(not _psql_ok(pg, relay.port), "psql got through a cut relay")
    relay.restore()
    check(_psql_ok(pg, relay.port), "psql through the restored relay failed")
    pg.restart()
    check(_psql_ok(pg, relay.port), "psql after a server restart failed")
    pg.pause()
    check(not _psql_ok(pg, pg.port), "psql reached a stopped server")
    pg.start()
    check(_psql_ok(pg, pg.port), "psql after start failed")


@harness.timeout(90)
def test_pgcluster_gateways_share_one_database(h):
    up = h.upstream()
    gws = pgcluster.start_gateways(h, 2, h.config([h.app(up)]))
    eq([g.node_name for g in gws], ["gw-a", "gw-b"], "node names")
    check(gws[0].port != gws[1].port, "each gateway has its own port")
    check(gws[0].config["state_dir"] != gws[1].config["state_dir"], "own state dirs")
    for g in gws:
        eq(harness.get(g.port, "/").status, 200, "public app through " + g.node_name)
    tables = gws[0].pg.sql("SELECT count(*) FROM pg_tables WHERE tablename = 'ztgate_meta'")
    eq(tables.strip(), "1", "one ztgate schema in the shared database")


# ---- one gateway on PostgreSQL

def _pg_config(h, up, store, sensitivity="internal"):
    """A gateway config whose store: section is exactly `store` (whatever ZT_INTEG_PG_DSN)."""
    return h.config([h.app(up, sensitivity=sensitivity)], extra={"store": store})


def _serve_refused(h, cfg, name="refused"):
    """`ztgate serve` with cfg must exit non-zero without listening: its stderr."""
    g = harness.Gateway(h, cfg, name)
    r = subprocess.run([h.ztgate, "serve", "--config", g.config_path], capture_output=True,
                       text=True, timeout=60, cwd=h.dir, stdin=subprocess.DEVNULL)
    check(r.returncode != 0, "serve started (status 0) with %s:\n%s" % (name, r.stderr))
    check(r.returncode > 0, "serve crashed (status %d) with %s:\n%s"
          % (r.returncode, name, r.stderr))
    check(not harness.port_open(g.port), "serve still listens after refusing")
    return r.stderr


def _check_config(h, text, name="store-check.yaml"):
    path = h.path(name)
    with open(path, "w") as f:
        f.write(text)
    r = subprocess.run([h.ztgate, "check-config", path], capture_output=True, text=True,
                       timeout=30, cwd=h.dir)
    return r.returncode, (r.stdout + r.stderr).strip(), path


@harness.timeout(120)
def test_gateway_over_tls_verify_full_signs_a_user_in(h):
    pg = pgcluster.PgServer(h)
    up = h.upstream()
    gw = h.gateway(_pg_config(h, up, {"backend": "postgresql", "dsn": pg.tcp_dsn()}))
    b = portal_client.signed_in_browser(h, gw)  # the user made by the CLI on the same config
    r = b.get("/hello")
    eq(r.status, 200, "the signed-in user reaches the app")
    seen = up.requests()[-1]
    eq(harness.header_values(seen, "X-ZT-Email"), [portal_client.EMAIL],
       "identity the upstream saw")
    rows = pg.sql("SELECT email FROM users")
    eq(rows.split(), [portal_client.EMAIL], "the user is a row in PostgreSQL")
    sessions = int(pg.sql("SELECT count(*) FROM sessions"))
    check(sessions >= 1, "the session is a row in PostgreSQL (%d)" % sessions)
    ssl_conns = int(pg.sql("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a "
                           "USING (pid) WHERE s.ssl AND a.application_name = 'ztgate'"))
    plain = int(pg.sql("SELECT count(*) FROM pg_stat_ssl s JOIN pg_stat_activity a "
                       "USING (pid) WHERE NOT s.ssl AND a.application_name = 'ztgate'"))
    check(ssl_conns >= 1 and plain == 0,
          "the gateway's connections use TLS (%d with, %d without)" % (ssl_conns, plain))
    check(not os.path.exists(os.path.join(gw.config["state_dir"], "ztgate.db")),
          "no SQLite file beside a PostgreSQL store")


@harness.timeout(90)
def test_refuses_a_server_certificate_from_another_ca(h):
    pg = pgcluster.PgServer(h)
    other_ca, _ = harness.gen_cert(h.dir, cn="localhost", name="other-ca")
    up = h.upstream()
    dsn = pg.tcp_dsn().replace(pg.ca_file, other_ca)
    err = _serve_refused(h, _pg_config(h, up, {"backend": "postgresql", "dsn": dsn}), "wrong-ca")
    check("certificate" in err.lower() and "store" in err.lower(),
          "the refusal names the certificate problem:\n" + err)


@harness.timeout(90)
def test_refuses_a_database_holding_foreign_tables(h):
    pg = pgcluster.PgServer(h)
    pg.sql("CREATE TABLE public.invoices (id int PRIMARY KEY)")
    up = h.upstream()
    err = _serve_refused(h, _pg_config(h, up, {"backend": "postgresql", "dsn": pg.tcp_dsn()}),
                         "foreign-tables")
    check("not ztgate's" in err and "refusing" in err, "foreign tables refusal:\n" + err)
    eq(pg.sql("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").strip(), "1",
       "nothing created beside the foreign table")


@harness.timeout(90)
def test_refuses_a_schema_written_by_a_newer_ztgate(h):
    pg = pgcluster.PgServer(h)
    pg.sql("CREATE TABLE ztgate_meta (key text PRIMARY KEY, value text NOT NULL); "
           "INSERT INTO ztgate_meta VALUES ('application', 'ztgate'), ('schema_version', '999')")
    up = h.upstream()
    err = _serve_refused(h, _pg_config(h, up, {"backend": "postgresql", "dsn": pg.tcp_dsn()}),
                         "newer-schema")
    check("999" in err and "newer ztgate" in err, "newer schema refusal:\n" + err)
    eq(pg.sql("SELECT value FROM ztgate_meta WHERE key = 'schema_version'").strip(), "999",
       "the version is left as it was")


@harness.timeout(90)
def test_serve_with_the_database_down_exits_with_a_clear_error(h):
    pg = pgcluster.PgServer(h)
    pg.pause()
    up = h.upstream()
    err = _serve_refused(h, _pg_config(h, up, {"backend": "postgresql", "dsn": pg.tcp_dsn()}),
                         "database-down")
    check("cannot reach the database" in err, "database down at start:\n" + err)


# ---- the store: section in check-config and at open

def _store_text(h, store_lines):
    up = h.upstream() if not hasattr(h, "_cfg_up") else h._cfg_up
    h._cfg_up = up
    return ("state_dir: %s\ngateway:\n  listen:\n    - address: 127.0.0.1:%d\n"
            "apps:\n  - {name: web, host: app.test, sensitivity: public, upstream: \"%s\"}\n"
            "store:\n%s\n" % (h.path("state"), harness.free_port(), up.url, store_lines))


def test_check_config_refuses_a_password_in_the_dsn(h):
    secret = "hunter2-not-for-logs"
    text = _store_text(h, "  backend: postgresql\n  dsn: \"host=localhost user=zt "
                          "password=%s dbname=zt\"" % secret)
    rc, out, path = _check_config(h, text)
    check(rc != 0, "check-config accepted a password in store.dsn:\n" + out)
    check("%s:9:" % path in out and "carries a password" in out,
          "FILE:LINE:COL and the reason:\n" + out)
    check("dsn_file" in out and "passfile" in out, "the message says what to do:\n" + out)
    check(secret not in out, "the password is echoed in the error:\n" + out)


def test_check_config_refuses_dsn_and_dsn_file_together(h):
    dsn_file = h.path("dsn")
    with open(dsn_file, "w") as f:
        f.write("host=localhost dbname=zt\n")
    os.chmod(dsn_file, 0o600)
    text = _store_text(h, "  backend: postgresql\n  dsn: \"host=localhost dbname=zt\"\n"
                          "  dsn_file: %s" % dsn_file)
    rc, out, path = _check_config(h, text)
    check(rc != 0, "check-config accepted dsn and dsn_file together:\n" + out)
    check(path + ":" in out and "exactly one of 'dsn'" in out, "the reason:\n" + out)


def test_check_config_refuses_a_dsn_without_backend_postgresql(h):
    for lines in ("  dsn: \"host=localhost dbname=zt\"",
                  "  backend: sqlite\n  dsn: \"host=localhost dbname=zt\""):
        rc, out, path = _check_config(h, _store_text(h, lines))
        check(rc != 0, "check-config accepted a dsn on SQLite:\n" + out)
        check(path + ":" in out and "needs 'backend: postgresql'" in out,
              "the reason:\n" + out)


@harness.timeout(90)
def test_a_dsn_file_readable_by_others_is_refused_at_open(h):
    pg = pgcluster.PgServer(h)
    dsn_file = h.path("store.dsn")
    with open(dsn_file, "w") as f:
        f.write(pg.tcp_dsn() + "\n")
    os.chmod(dsn_file, 0o644)
    up = h.upstream()
    cfg = _pg_config(h, up, {"backend": "postgresql", "dsn_file": dsn_file})
    err = _serve_refused(h, cfg, "dsn-file-0644")
    check("chmod 600" in err and dsn_file in err, "the refusal names chmod 600:\n" + err)
    r = h.cli("user", "list", "--config", h.path("dsn-file-0644.yaml"))
    check(r.returncode != 0 and "chmod 600" in r.stderr, "the CLI refuses it too:\n" + r.stderr)
    os.chmod(dsn_file, 0o600)
    gw = h.gateway(cfg, name="dsn-file-0600")
    eq(harness.get(gw.port, "/.ztgate/login").status, 200, "the gateway starts once it is 0600")
