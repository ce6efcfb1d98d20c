"""The console's shared audit rollup is counted on a thread of its own from start-up (issue 16,
deliverable 5; console/rollup.c): a dashboard asked for after a restart shows the figures of the
log written before the start, the same as `ztgate audit stats` reading the files once. The page
may say it is still counting first (class "counting"); it is asked again until it does not."""
import datetime
import json
import re

from harness import check, eq, timeout, wait_until
from test_console import ADMIN, USER, _gateway, console_browser, make_admin
from portal_client import PASSWORD, add_user


def _figures(body):
    m = re.search(rb"Sign-ins: (\d+)", body)
    return int(m.group(1)) if m else None


@timeout(120)
def test_console_rollup_counted_at_start_for_an_old_log(h):
    gw, audit = _gateway(h)
    add_user(h, gw, ADMIN, PASSWORD)
    make_admin(h, gw, ADMIN)
    console_browser(h, gw, USER)  # records written before the restart
    console_browser(h, gw, ADMIN, create=False)
    gw.proc.stop()
    gw.start()  # the same log: counted from start-up, before any page asks
    a = console_browser(h, gw, ADMIN, create=False)
    page = {}

    def counted():
        r = a.get("/?period=24h")
        eq(r.status, 200, "dashboard")
        page["body"] = r.body
        return b'class="card counting"' not in r.body

    check(wait_until(counted, 60.0), "the rollup's first count never ended")
    shown = _figures(page["body"])
    now = datetime.datetime.now(datetime.timezone.utc)
    since = (now - datetime.timedelta(days=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    until = (now + datetime.timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ")
    r = h.cli("audit", "stats", "--json", "--since", since, "--until", until, "--bucket", "1h",
              audit)
    eq(r.returncode, 0, "audit stats: %s" % r.stderr)
    want = json.loads(r.stdout)["totals"]["signin_ok"]
    check(want >= 3, "three sign-ins in the log (two before the restart): %d" % want)
    eq(shown, want, "dashboard sign-ins against `ztgate audit stats` over the same log")
    check(wait_until(lambda: "audit figures ready" in gw.stderr_text(), 10.0),
          "the count at start-up is logged")
