"""The PostgreSQL store end to end (docs/STORE.md "PostgreSQL"): a gateway over TCP with TLS
verify-full signs a user in that the CLI created; refusals at start (wrong CA, foreign tables,
a newer schema, the database down); check-config errors for the store: section. Also checks
tests/integ/pgcluster.py's relay, which the multi-gateway tests rely on."""
import os
import subprocess

import harness
import pgcluster
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
