"""`ztgate user import` / `ztgate user export` (issue 14, item 4) through the real binary on a
real state directory: the plan printed first, --dry-run writing nothing, one transaction,
idempotence, group moves that leave an admin's memberships alone, --disable-missing ending the
sessions of a signed-in user, CP932 files made with iconv (Microsoft's mappings: ～ ① 髙),
export round trips, 10,000 rows of Japanese names in one command, and bad files (bad quoting,
duplicate e-mails, mixed encodings, unknown groups) refused naming the row with nothing
written."""
import glob
import json
import os
import subprocess
import time

from harness import APP_HOST, check, eq, wait_until
from portal_client import PASSWORD, add_user, signed_in_browser


def _gw(h, start=False, audit=True):
    state = h.path("state")
    extra = {"audit": {"path": os.path.join(state, "audit", "audit.log")}} if audit else {}
    up = h.upstream() if start else "http://127.0.0.1:9"
    cfg = h.config([h.app(up, name="app", host=APP_HOST, sensitivity="internal")], extra=extra)
    return h.gateway(cfg, start=start)


def _cli(h, gw, *args):
    return h.cli(*args, "--config", gw.config_path, timeout_s=300)


def _ok(h, gw, *args):
    r = _cli(h, gw, *args)
    eq(r.returncode, 0, " ".join(args) + ": " + r.stdout + r.stderr)
    return r


def _bad(h, gw, *args, says=()):
    r = _cli(h, gw, *args)
    eq(r.returncode, 1, " ".join(args) + " must fail: " + r.stdout + r.stderr)
    for s in says:
        check(s in r.stderr, "%r in the error: %s" % (s, r.stderr))
    return r


def _write(h, name, text, encoding="utf-8"):
    path = h.path(name)
    with open(path, "wb") as f:
        f.write(text.encode(encoding) if isinstance(text, str) else text)
    return path


def _db(gw):
    return gw.h.store_db(os.path.join(gw.config["state_dir"], "ztgate.db"))


def _users(gw):
    with _db(gw) as db:
        return {r[0]: r[1:] for r in db.execute(
            "SELECT email, name, source, disabled, expires_at, external_id FROM users")}


def _groups_of(gw, email):
    with _db(gw) as db:
        return sorted(db.execute(
            "SELECT g.name, m.source FROM memberships m JOIN groups g ON g.id = m.group_id "
            "JOIN users u ON u.id = m.user_id WHERE u.email = ?", (email,)).fetchall())


def _records(gw, op):
    """The account service's records of `op`: waiting in the audit spool, or already in the
    audit log when a running gateway drained them (about once a second)."""
    state = gw.config["state_dir"]
    texts = []
    for p in glob.glob(os.path.join(state, "audit-spool", "*.json")):
        with open(p) as f:
            texts.append(f.read())
    for p in glob.glob(os.path.join(state, "audit", "audit.log*")):
        with open(p, errors="replace") as f:
            texts.extend(f.read().splitlines())
    out = []
    for t in texts:
        try:
            rec = json.loads(t)
        except ValueError:
            continue
        if isinstance(rec, dict) and rec.get("unmapped", {}).get("operation") == op:
            out.append(rec)
    return out


def _shape(rec, prefix=""):
    """A record's field names and values, without what differs between two records of the same
    change: times, ids, the chain, the user, the session count."""
    out = {}
    for k, v in rec.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(_shape(v, key + "."))
        elif key not in ("time", "seq", "prev", "metadata.uid", "metadata.correlation_uid",
                         "user.uid", "user.email_addr", "unmapped.sessions_revoked",
                         "metadata.logged_time", "sig"):
            out[key] = v
    return out


def _revocation(gw):
    path = os.path.join(gw.config["state_dir"], "revocation")
    return open(path, "rb").read() if os.path.exists(path) else b""


ROSTER = ("メールアドレス,氏名,グループ,有効期限,外部ID\r\n"
          "taro@example.jp,山田 太郎,class-1a,2027-03-31,S001\r\n"
          "hanako@example.jp,\"鈴木, 花子\",class-1a;staff,,S002\r\n"
          "jiro@example.jp,\"佐藤 \"\"ジロー\"\" 次郎\",class-2a,,S003\r\n")


def test_roster_import_plan_dry_run_apply_idempotent(h):
    gw = _gw(h)
    for g in ("class-1a", "class-2a", "staff"):
        _ok(h, gw, "group", "add", g)
    path = _write(h, "roster.csv", ROSTER)

    r = _ok(h, gw, "user", "import", path, "--dry-run")
    check("+ create  taro@example.jp  name \"山田 太郎\"  groups class-1a  expires 2027-03-31"
          in r.stdout, r.stdout)
    check("plan: 3 to create, 0 to update, 0 to disable" in r.stdout, r.stdout)
    check("dry run: nothing was changed" in r.stdout, r.stdout)
    eq(_users(gw), {}, "a dry run writes nothing")

    r = _ok(h, gw, "user", "import", path)
    check(r.stdout.index("plan:") < r.stdout.index("applied in one transaction"),
          "the plan is printed before it is applied: " + r.stdout)
    users = _users(gw)
    eq(sorted(users), ["hanako@example.jp", "jiro@example.jp", "taro@example.jp"], "created")
    eq(users["jiro@example.jp"][0], "佐藤 \"ジロー\" 次郎", "a doubled quote is one quote")
    eq(users["taro@example.jp"][1:], ("import", 0, 1806537600, "S001"),
       "source, enabled, expiry 2027-03-31 (through that day, UTC), external id")
    eq(_groups_of(gw, "hanako@example.jp"), [("class-1a", "import"), ("staff", "import")],
       "memberships made by the import")
    created = _records(gw, "user.create")
    eq(len(created), 3, "one user.create record per created user")
    rec = created[0]
    for key in ("actor", "user", "metadata", "unmapped"):
        check(key in rec, "record has %s: %s" % (key, rec))
    check(rec["unmapped"]["change"].startswith("created") and "from import" in
          rec["unmapped"]["change"], rec["unmapped"]["change"])

    r = _ok(h, gw, "user", "import", path)
    check("plan: 0 to create, 0 to update, 0 to disable, 3 unchanged" in r.stdout, r.stdout)
    check("nothing to change" in r.stdout, r.stdout)
    eq(len(_records(gw, "user.create")), 3, "a second run records nothing new")

    # A group the store lacks: refused without --create-groups, made (tagged import) with it.
    club = _write(h, "club.csv", "email,groups\r\ntaro@example.jp,class-1a club-go\r\n")
    _bad(h, gw, "user", "import", club, says=("row 2, column 2", "club-go"))
    r = _ok(h, gw, "user", "import", club, "--create-groups")
    check("+ group   club-go" in r.stdout, r.stdout)
    with _db(gw) as db:
        eq(db.execute("SELECT source FROM groups WHERE name = 'club-go'").fetchall(),
           [("import",)], "the group made by the import")
    eq(_groups_of(gw, "taro@example.jp"), [("class-1a", "import"), ("club-go", "import")],
       "and the membership")


def test_roster_moves_updates_and_disable_missing(h):
    gw = _gw(h, start=True)
    for g in ("class-1a", "class-2a", "staff", "library"):
        _ok(h, gw, "group", "add", g)
    # An admin made this user by hand, signed in, and put them in "library".
    b = signed_in_browser(h, gw, "taro@example.jp", PASSWORD)
    _ok(h, gw, "group", "member-add", "library", "taro@example.jp")
    eq(b.get("/").status, 200, "signed in")
    _ok(h, gw, "user", "import", _write(h, "april.csv", ROSTER))
    eq(_users(gw)["taro@example.jp"][1], "import", "the hand-made user is taken over")

    # Next April: taro moves to class-2a and gets a new name; jiro leaves; a new pupil arrives.
    nxt = ("email,name,groups,expires,id\r\n"
           "taro@example.jp,山田 太郎丸,class-2a,2028-03-31,S001\r\n"
           "hanako@example.jp,\"鈴木, 花子\",class-1a;staff,,S002\r\n"
           "saburo@example.jp,高橋 三郎,class-1a,,S004\r\n")
    path = _write(h, "next.csv", nxt)
    before = _revocation(gw)
    r = _ok(h, gw, "user", "import", path, "--disable-missing")
    check("~ update  taro@example.jp  name \"山田 太郎\" -> \"山田 太郎丸\"  groups +class-2a "
          "-class-1a  expires 2027-03-31 -> 2028-03-31" in r.stdout, r.stdout)
    check("- disable jiro@example.jp" in r.stdout, r.stdout)
    check("plan: 1 to create, 1 to update, 1 to disable, 1 unchanged" in r.stdout, r.stdout)
    eq(_groups_of(gw, "taro@example.jp"), [("class-2a", "import"), ("library", "local")],
       "the import's membership moved; the admin's stayed")
    eq(_users(gw)["jiro@example.jp"][2], 1, "jiro disabled")
    check(_revocation(gw) != before, "gateways told")
    upd = sorted(x["unmapped"]["change"] for x in _records(gw, "user.update"))
    eq(upd, ["name, expiry changed", "name, source, external id, expiry changed"],
       "one user.update record per import that changed taro (taken over, then renamed)")
    sync = _records(gw, "user.groups.sync")
    eq(sorted(s["unmapped"]["change"] for s in sync), ["+class-1a", "+class-2a -class-1a"],
       "the group records: taken over into class-1a, then moved")
    eq(len(_records(gw, "user.disable")), 1, "one user.disable record")

    # taro is not in the next file: disabled, and the running session ends.
    _ok(h, gw, "user", "import", _write(h, "last.csv", "email\r\nhanako@example.jp\r\n"),
        "--disable-missing")
    eq(_users(gw)["taro@example.jp"][2], 1, "taro disabled")
    with _db(gw) as db:
        n = db.execute("SELECT count(*) FROM sessions s JOIN users u ON u.id = s.user_id "
                       "WHERE u.email = 'taro@example.jp'").fetchone()[0]
    eq(n, 0, "taro's sessions are gone")
    dis = [x for x in _records(gw, "user.disable")
           if x["user"].get("email_addr") == "taro@example.jp"]
    eq(len(dis), 1, "taro's disable record")
    check(dis[0]["unmapped"]["sessions_revoked"] >= 1, "the record counts the ended session")
    r = b.get("/")
    check(r.status in (302, 303, 401, 403), "the signed-in browser is out: %d" % r.status)
    # The import's records have the shape of the one-user command's: same fields, same values
    # but for the user, the times and the ids.
    _ok(h, gw, "user", "disable", "hanako@example.jp")
    one = [x for x in _records(gw, "user.disable")
           if x["user"].get("email_addr") == "hanako@example.jp"][0]
    eq(_shape(dis[0]), _shape(one), "import and `user disable` write the same record")
    _ok(h, gw, "user", "enable", "hanako@example.jp")
    eq(_users(gw)["hanako@example.jp"][2], 0, "listed users stay enabled")
    # The running gateway takes the queued records into its hash-chained log.
    spool = os.path.join(gw.config["state_dir"], "audit-spool")
    check(wait_until(lambda: not glob.glob(os.path.join(spool, "*.json")), 30),
          "the gateway drains the spool")
    check(not glob.glob(os.path.join(spool, "*.bad")), "no record set aside as malformed")
    eq(len(_records(gw, "user.disable")), 4,
       "jiro, taro, saburo (imports) and hanako (user disable): the records are in the log")


def test_roster_cp932_iconv_and_export_round_trip(h):
    gw = _gw(h)
    for g in ("class-1a", "staff"):
        _ok(h, gw, "group", "add", g)
    text = ("メールアドレス,氏名,グループ\r\n"
            "a@example.jp,髙橋 ①～−,class-1a\r\n"
            "b@example.jp,﨑山 ㈱,staff\r\n")
    utf8 = _write(h, "u8.csv", text)
    sjis = h.path("cp932.csv")
    with open(sjis, "wb") as f:
        subprocess.run(["iconv", "-f", "UTF-8", "-t", "CP932", utf8], stdout=f, check=True)
    # Read as UTF-8 it is refused with the hint, naming the line.
    _bad(h, gw, "user", "import", sjis, says=("line 1", "--encoding cp932"))
    _ok(h, gw, "user", "import", sjis, "--encoding", "cp932")
    users = _users(gw)
    # CP932 maps 0x8160 to U+FF5E and 0x817C to U+FF0D (Shift_JIS would give U+301C, U+2212).
    eq(users["a@example.jp"][0], "髙橋 ①\uff5e\uff0d", "Microsoft's mappings")
    eq(users["b@example.jp"][0], "﨑山 ㈱", "IBM and NEC extensions")

    # Export in CP932 and import it back: nothing changes.
    out = h.path("export.csv")
    _ok(h, gw, "user", "export", "--encoding", "cp932", "--output", out)
    raw = open(out, "rb").read()
    check(raw.decode("cp932").startswith("email,name,groups"), raw[:40])
    r = _ok(h, gw, "user", "import", out, "--encoding", "cp932")
    check("nothing to change" in r.stdout, r.stdout)
    # UTF-8 with a BOM for Excel, and JSON.
    out2 = h.path("export-bom.csv")
    _ok(h, gw, "user", "export", "--bom", "--output", out2)
    check(open(out2, "rb").read().startswith(b"\xef\xbb\xbf"), "BOM written")
    r = _ok(h, gw, "user", "import", out2)
    check("nothing to change" in r.stdout, r.stdout)
    js = json.loads(_ok(h, gw, "user", "export", "--format", "json").stdout)
    eq([u["email"] for u in js], ["a@example.jp", "b@example.jp"], "json export")
    eq(js[0]["groups"], ["class-1a"], "json groups")
    # A UTF-8 file said to be CP932 is refused rather than read as mojibake.
    _bad(h, gw, "user", "import", utf8, "--encoding", "cp932", says=("UTF-8, not CP932",))


def test_roster_export_guards_formulas(h):
    gw = _gw(h)
    path = _write(h, "f.csv", "email,name\r\nx@example.jp,\"=HYPERLINK(\"\"http://evil\"\")\"\r\n")
    _ok(h, gw, "user", "import", path)
    r = _ok(h, gw, "user", "export")
    check("\"'=HYPERLINK(\"\"http://evil\"\")\"" in r.stdout, r.stdout)
    out = _write(h, "back.csv", r.stdout)
    r = _ok(h, gw, "user", "import", out)
    check("nothing to change" in r.stdout, "the guard comes off on import: " + r.stdout)


def test_roster_bad_files_write_nothing(h):
    gw = _gw(h)
    _ok(h, gw, "group", "add", "class-1a")
    good = "taro@example.jp,山田,class-1a\r\n"
    cases = [
        ("quote.csv", "email,name,groups\r\n" + good + "b@example.jp,Ya\"mada,class-1a\r\n",
         ("row 3, column 2", "quote inside an unquoted field")),
        ("after.csv", "email,name,groups\r\n" + good + "b@example.jp,\"Yamada\"x,class-1a\r\n",
         ("row 3, column 2", "after a closing quote")),
        ("open.csv", "email,name,groups\r\n" + good + "b@example.jp,\"Yamada,class-1a\r\n",
         ("row 3, column 2", "not closed")),
        ("dup.csv", "email,name,groups\r\n" + good + "TARO@example.jp,山田,class-1a\r\n",
         ("row 3, column 1", "also on row 2")),
        ("group.csv", "email,name,groups\r\n" + good + "b@example.jp,B,class-9z\r\n",
         ("row 3, column 3", "class-9z", "--create-groups")),
        ("width.csv", "email,name,groups\r\n" + good + "b@example.jp,B\r\n",
         ("row 3", "2 fields")),
        ("newline.csv", "email,name,groups\r\n" + good + "b@example.jp,\"two\r\nlines\",class-1a\r\n",
         ("row 3, column 2", "control characters")),
        ("header.csv", "email,nmae\r\na@example.jp,A\r\n", ("row 1, column 2", "nmae")),
        ("date.csv", "email,expires\r\na@example.jp,2027-02-30\r\n", ("row 2, column 2",)),
        ("email.csv", "email\r\nnot-an-email\r\n", ("row 2, column 1",)),
    ]
    for name, text, says in cases:
        _bad(h, gw, "user", "import", _write(h, name, text), says=says)
    mixed = ("email,name\r\n".encode() + "a@example.jp,山田\r\n".encode("utf-8") +
             "b@example.jp,鈴木\r\n".encode("cp932"))
    _bad(h, gw, "user", "import", _write(h, "mixed.csv", mixed), says=("line 3", "mixed"))
    _bad(h, gw, "user", "import", _write(h, "mixed.csv", mixed), "--encoding", "cp932",
         says=("line 2", "mixed"))
    _bad(h, gw, "user", "import", _write(h, "u16.csv", "email\r\na@example.jp\r\n", "utf-16"),
         says=("NUL",))
    _bad(h, gw, "user", "import", _write(h, "empty.csv", "email,name\r\n"), "--disable-missing",
         says=("would disable every user",))
    eq(_users(gw), {}, "nothing written by any refused file")
    # A user another source keeps is refused too, and nothing of the file is written.
    with _db(gw) as db:
        db.execute("INSERT INTO users (id, email, name, created_at, updated_at, source) VALUES "
                   "('0123456789abcdef0123456789abcdef', 'ldap@example.jp', 'L', 1, 1, "
                   "'ldap:corp')")
    _bad(h, gw, "user", "import", _write(h, "src.csv", "email\r\nnew@example.jp\r\n"
                                          "ldap@example.jp\r\n"),
         says=("row 3", "ldap:corp"))
    eq(sorted(_users(gw)), ["ldap@example.jp"], "nothing written")
    # Usage errors are status 2.
    eq(_cli(h, gw, "user", "import").returncode, 2, "no file")
    eq(_cli(h, gw, "user", "import", "x.csv", "--encoding", "latin1").returncode, 2, "encoding")
    eq(_cli(h, gw, "user", "export", "--format", "xml").returncode, 2, "format")
    # BOM-prefixed UTF-8 (Excel's "CSV UTF-8") is fine.
    _ok(h, gw, "user", "import", _write(h, "bom.csv", "\ufeffemail,name\r\nbom@example.jp,B\r\n"))
    eq(_users(gw)["bom@example.jp"][0], "B", "BOM file imported")


def test_roster_ten_thousand_japanese_rows(h):
    gw = _gw(h, audit=False)
    for g in ("grade-1", "grade-2", "grade-3"):
        _ok(h, gw, "group", "add", g)
    family = "山田鈴木佐藤高橋田中伊藤渡辺中村小林加藤"
    given = "太郎花子次郎三郎陽菜結衣蓮湊"
    rows = ["メールアドレス,氏名,グループ,有効期限,外部ID"]
    for i in range(10000):
        name = family[(i * 2) % 20:(i * 2) % 20 + 2] + "　" + given[(i * 2) % 14:(i * 2) % 14 + 2]
        rows.append("p%05d@school.example.jp,%s %d,grade-%d,2027-03-31,P%05d" %
                    (i, name, i, i % 3 + 1, i))
    path = _write(h, "big.csv", "\r\n".join(rows) + "\r\n")
    t0 = time.monotonic()
    r = _ok(h, gw, "user", "import", path)
    took = time.monotonic() - t0
    check("plan: 10000 to create" in r.stdout, r.stdout[-300:])
    with _db(gw) as db:
        eq(db.execute("SELECT count(*) FROM users").fetchone()[0], 10000, "all rows in")
        eq(db.execute("SELECT count(*) FROM memberships").fetchone()[0], 10000, "groups")
    print("    10,000 rows imported in %.2f s (%.0f rows/s)" % (took, 10000 / took))
    r = _ok(h, gw, "user", "import", path)
    check("plan: 0 to create, 0 to update, 0 to disable, 10000 unchanged" in r.stdout,
          r.stdout[-300:])
