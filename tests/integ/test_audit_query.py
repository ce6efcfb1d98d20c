"""The audit query engine behind `ztgate audit search` and `ztgate audit stats`, against what a
real gateway wrote: the console's filters (--app, --policy, --text, --class), newest first with
--limit and a --cursor that pages through every match exactly once, and statistics that agree
with an independent count of the log."""
import datetime
import json

from harness import check, eq
from test_audit_search import _events, _populate, _search, _seqs


def test_search_console_filters_and_paging(h):
    gw, log = _populate(h)
    ev = _events(log)

    def want(pred):
        return [r["seq"] for r in ev if pred(r)]

    app_recs = want(lambda r: r.get("app", {}).get("name") == "app")
    check(len(app_recs) >= 2, "records of the app")
    eq(_seqs(_search(h, gw, "--json", "--app", "app")), app_recs, "--app")
    eq(_seqs(_search(h, gw, "--json", "--app", "ap")), [], "--app is exact")
    eq(_seqs(_search(h, gw, "--json", "--class", "authentication")),
       want(lambda r: r["class_uid"] == 3002), "--class is --type")
    wrong = want(lambda r: "WRONG PASSWORD" in json.dumps(r).upper())
    check(len(wrong) >= 1, "a record mentions the wrong password")
    eq(_seqs(_search(h, gw, "--json", "--text", "Wrong Password")), wrong, "--text, any case")
    eq(_seqs(_search(h, gw, "--json", "--policy", "nothing-like-it")), [], "--policy none")

    # Newest first, two at a time, following the cursor: every event once, in reverse.
    pages, cursor = [], None
    for _ in range(len(ev) + 2):
        args = ["--json", "--newest-first", "--limit", "2"]
        if cursor:
            args += ["--cursor", str(cursor)]
        res = _search(h, gw, *args)
        got = _seqs(res)
        pages += got
        more = [ln for ln in res.stderr.splitlines() if ln.startswith("more: ")]
        if not more:
            break
        cursor = int(more[0].split()[-1])
        eq(cursor, got[-1], "the cursor is the last seq shown")
    eq(pages, [r["seq"] for r in reversed(ev)], "pages cover every event newest first")

    res = _search(h, gw, "--verbose", "--decision", "block")
    check("scanned " in res.stderr and " records in " in res.stderr, "scan summary: " + res.stderr)
    for args, word in [(["--limit", "many"], "--limit"), (["--cursor", "0"], "--cursor"),
                       (["--class", "bogus"], "--class")]:
        res = _search(h, gw, *args)
        eq(res.returncode, 2, "exit status for %r" % args)
        check(word in res.stderr, "message names %s: %r" % (word, res.stderr))


def _stats(h, gw, *args):
    res = h.cli("audit", "stats", "--config", gw.config_path, *args)
    eq(res.returncode, 0, "stats exit status (%s)" % res.stderr)
    return res


def test_stats_agree_with_the_log(h):
    gw, log = _populate(h)
    ev = _events(log)
    res = _stats(h, gw, "--json", "--since", "1h", "--bucket", "15m")
    st = json.loads(res.stdout)
    tot = st["totals"]

    def count(pred):
        return sum(1 for r in ev if pred(r))

    eq(tot["allow"], count(lambda r: r.get("decision") == "allow"), "allowed")
    eq(tot["block"], count(lambda r: r.get("decision") == "block"), "blocked")
    eq(tot["records"], len(ev), "records")
    signin = [r for r in ev if r["class_uid"] == 3002 and r["activity_id"] == 1
              and not r.get("is_mfa") and "decision" not in r]
    eq(tot["signin_ok"], sum(1 for r in signin if r["status_id"] == 1), "sign-ins ok")
    eq(tot["signin_fail"], sum(1 for r in signin if r["status_id"] != 1), "sign-ins failed")
    eq(len(st["buckets"]), 4, "an hour in 15-minute buckets")
    eq(sum(b["records"] for b in st["buckets"]), len(ev), "buckets add up")
    eq(st["decisions_by_app"].get("app", {}).get("allow"), tot["allow"] - count(
        lambda r: r.get("decision") == "allow" and r.get("app", {}).get("name") != "app"),
       "allowed by app")

    # Scoped to one user: only the records naming her.
    def names_her(r):
        users = [r.get("user") or {}, (r.get("actor") or {}).get("user") or {}]
        return any(u.get("email_addr", "").lower() == "alice@example.test" for u in users)

    mine = count(names_her)
    check(mine >= 2, "records naming the user")
    st = json.loads(_stats(h, gw, "--json", "--since", "1h", "--user",
                           "ALICE@example.test").stdout)
    eq(st["totals"]["records"], mine, "records naming the user")

    # A period before the log: all zero. The text form names every figure.
    old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(days=3))
    st = json.loads(_stats(h, gw, "--json", "--until", old.strftime("%Y-%m-%dT%H:%M:%SZ"),
                           "--since", "4d").stdout)
    eq(st["totals"]["records"], 0, "nothing three days ago")
    text = _stats(h, gw).stdout
    for word in ["decisions:", "sign-ins:", "MFA prompts:", "detections:", "responses:",
                 "report-only would have blocked", "BUCKET"]:
        check(word in text, "text output has %r" % word)
    for args, word in [(["--bucket", "90s"], "--bucket"), (["--since", "soon"], "--since"),
                       (["--bucket", "1m", "--since", "30d"], "buckets"), (["--nope"], "unknown")]:
        res = h.cli("audit", "stats", "--config", gw.config_path, *args)
        eq(res.returncode, 2, "exit status for %r" % args)
        check(word in res.stderr, "message names %s: %r" % (word, res.stderr))
