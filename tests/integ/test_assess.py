"""`ztgate assess` on a real state directory and audit log: users who enrol MFA through the portal
move the identity figures (store) and the MFA prompt figures (audit log); promoting a report-only
policy makes its measure disappear; every proposed command runs; questionnaire answers and kept
runs make a history; --json keeps its schema, --html is self-contained (no script) with names
escaped, in English and Japanese; bad input is refused with a clear message and changes
nothing."""
import json
import os
import shutil

import html as htmllib
import re

from browser import catalogue
from harness import check, eq
from portal_client import PASSWORD, Browser, add_user, complete_sign_in, signed_in_browser

USERS = ["u%d@example.test" % i for i in range(4)]
TRY_MFA = {"name": "try-mfa", "state": "report_only", "users": {"include": ["all"]},
           "apps": {"include": ["all"]}, "grant": {"controls": ["mfa"]}}


def _config(h, state="report_only", sensitivity="internal"):
    up = "http://127.0.0.1:9"
    audit = {"path": os.path.join(h.dir, "state", "audit", "audit.log")}
    return h.config([h.app(up, sensitivity=sensitivity)],
                    extra={"audit": audit, "policies": [dict(TRY_MFA, state=state)]})


def _assess(h, gw, *args, env=None):
    r = h.cli("assess", "--json", "--config", gw.config_path, *args)
    eq(r.returncode, 0, "assess --json: " + r.stderr)
    return json.loads(r.stdout)


def _criterion(doc, cid):
    for p in doc["pillars"]:
        for c in p["criteria"]:
            if c["id"] == cid:
                return c
    raise AssertionError("no criterion " + cid)


def _measure_ids(doc):
    return [m["id"] for m in doc["measures"]]


def _stage(doc, pillar):
    return [p for p in doc["pillars"] if p["key"] == pillar][0]["stage"]


def test_assess_measures_enrolment_and_promotion(h):
    gw = h.gateway(_config(h))
    for u in USERS:
        add_user(h, gw, u, PASSWORD)

    doc = _assess(h, gw)
    eq(doc["schema"], "ztgate.assess/1", "schema")
    eq(doc["figures"]["store"]["users"], 4, "users counted")
    eq(doc["figures"]["store"]["users_mfa"], 0, "nobody enrolled yet")
    eq(_criterion(doc, "identity.mfa_half")["figure"], "0/4 users with MFA (0%)", "figure")
    check("applications.report_only" in _measure_ids(doc), "report-only policy flagged")
    ro = [m for m in doc["measures"] if m["id"] == "applications.report_only"][0]
    check("policy try-mfa" in ro["fix"] and "state: on" in ro["fix"], ro["fix"])
    check(gw.config_path in ro["fix"], "the fix names the file: " + ro["fix"])

    # two users sign in and enrol TOTP at the portal (auth.mfa: required); one signs in again
    # and answers an MFA prompt
    browsers = [signed_in_browser(h, gw, u, PASSWORD, create=False) for u in USERS[:2]]
    again = Browser(gw.port)
    complete_sign_in(again, USERS[0], PASSWORD, secret=browsers[0].secret,
                     codes=browsers[0].recovery_codes)
    doc = _assess(h, gw)
    eq(doc["figures"]["store"]["users_mfa"], 2, "two enrolled")
    c = _criterion(doc, "identity.mfa_half")
    eq(c["figure"], "2/4 users with MFA (50%)", "figure moved")
    check(c["met"], "half the users have MFA: met")
    audit = doc["figures"]["audit"]
    eq(audit["mfa_prompts"], 1, "MFA prompts from the audit log: %r" % audit)
    eq(audit["users_prompted"], 1, "one user prompted")
    check(audit["mfa_prompts_per_user_per_day"] >= 1.0, "per user per day: %r" % audit)

    # every proposed command names a real action (the placeholder EMAIL replaced)
    ran = 0
    for m in doc["measures"]:
        if m["kind"] != "command" or m["id"].startswith(("data.", "networks.segmentation")):
            continue
        argv = m["fix"].strip().replace("EMAIL", USERS[3]).split()[1:]
        r = h.cli(*argv, "--config", gw.config_path)
        check(r.returncode != 2, "%s: %s -> %s" % (m["id"], m["fix"], r.stderr))
        ran += 1
    check(ran >= 2, "commands proposed and run: %d" % ran)

    # promote the report-only policy: its measure goes, MFA covers the app
    gw.reload(_config(h, state="on"))
    doc = _assess(h, gw)
    check("applications.report_only" not in _measure_ids(doc), "promoted: measure gone")
    eq(doc["figures"]["config"]["apps_mfa"], 1, "the app always asks MFA now")
    check(_criterion(doc, "applications.mfa_all")["met"], "every app asks MFA")


def english_left(text):
    """English catalogue text left in a Japanese output: whole messages (4 letters or more,
    not the same in Japanese), and the fixed words of the figure templates (ASM_F_*: the parts
    between their {N} placeholders that hold a space and are not in the Japanese text)."""
    left = set()
    for mid, (en, ja) in catalogue().items():
        # whole words only: "days" inside "--days 30", "active" inside "inactive" are commands
        if (len(en.strip()) >= 4 and en.strip() != ja.strip()
                and re.search(r"(?<![\w-])%s(?![\w-])" % re.escape(en.strip()), text)):
            left.add(en.strip())
        if mid.startswith("ASM_F_"):
            for piece in re.split(r"\{\d\}", en):
                piece = piece.strip(" ()")
                if " " in piece and piece not in ja and piece in text:
                    left.add(piece)
    return sorted(left)


def test_assess_answers_history_and_outputs(h):
    gw = h.gateway(_config(h, sensitivity="confidential"), start=False)
    conf = ("--config", gw.config_path)
    r = h.cli("assess", "--save", *conf)
    eq(r.returncode, 0, r.stderr)
    check("Stage per pillar" in r.stdout, r.stdout)
    eq(_stage(_assess(h, gw), "data"), "traditional", "data before the answers")

    for key, value in (("data.classification", "manual"), ("data.backups", "tested")):
        r = h.cli("assess", "answer", key, value, *conf)
        eq(r.returncode, 0, r.stderr)
        eq(r.stdout.strip(), "%s = %s" % (key, value), "answer echoed")
    doc = _assess(h, gw, "--save")
    q = {x["key"]: x["answer"] for x in doc["questionnaire"]}
    eq(q["data.backups"], "tested", "answer kept")
    eq(q["networks.segmentation"], None, "unanswered is null")
    check("data.backups" not in _measure_ids(doc), "answered: no longer a measure")

    r = h.cli("assess", "history", "--json", *conf)
    eq(r.returncode, 0, r.stderr)
    hist = json.loads(r.stdout)
    eq(len(hist), 2, "two kept runs")
    eq(hist[0]["stages"]["data"], "traditional", "first run")
    eq(hist[1]["stages"]["data"], "initial", "data moved: %r" % hist[1])
    r = h.cli("assess", "history", *conf)
    eq(len(r.stdout.strip().splitlines()), 3, "header and two runs: " + r.stdout)

    # a self-contained HTML report, names escaped, with the trend; in Japanese too
    odd = h.path("x<&>.yaml")
    shutil.copy(gw.config_path, odd)
    for lang, word in (("en", "Zero Trust assessment"), ("ja", "ゼロトラスト")):
        out = h.path("report-%s.html" % lang)
        r = h.cli("assess", "--html", out, "--lang", lang, "--config", odd)
        eq(r.returncode, 0, r.stderr)
        html = open(out, encoding="utf-8").read()
        check(word in html, "title in " + lang)
        check("<script" not in html.lower(), "no script")
        check("x&lt;&amp;&gt;.yaml" in html and "x<&>" not in html, "config path escaped")
        check("<polyline" in html, "trend drawn from the history")
        low = html.lower()
        check("src=" not in low and "<link" not in low and "@import" not in low
              and "url(" not in low, "nothing loaded from outside")
    # Japanese text output from LANG
    r = h.cli("assess", "--lang", "ja", *conf)
    check("柱ごとの段階" in r.stdout, r.stdout[:200])
    # every figure and evidence line in Japanese too; the JSON's figures the same in both
    eq(english_left(r.stdout), [], "English left in the Japanese text")
    ja_html = htmllib.unescape(open(h.path("report-ja.html"), encoding="utf-8").read())
    eq(english_left(ja_html), [], "English left in the Japanese HTML")
    figures = {}
    for lang in ("en", "ja"):
        doc = json.loads(h.cli("assess", "--json", "--lang", lang, *conf).stdout)
        figures[lang] = ({c["id"]: c["figure"] for p in doc["pillars"] for c in p["criteria"]},
                         doc["figures"])
    eq(figures["ja"], figures["en"], "the JSON's figures do not follow --lang")


def test_assess_bad_input(h):
    gw = h.gateway(_config(h), start=False)
    conf = ("--config", gw.config_path)
    eq(h.cli("assess", "answer", "data.backups", "offsite", *conf).returncode, 0, "answer")

    r = h.cli("assess", "answer", "data.nothing", "yes", *conf)
    eq(r.returncode, 2, "unknown key")
    check("no question 'data.nothing'" in r.stderr and "data.backups" in r.stderr, r.stderr)
    r = h.cli("assess", "answer", "data.backups", "sometimes", *conf)
    eq(r.returncode, 2, "bad value")
    check("none offsite tested" in r.stderr, r.stderr)
    r = h.cli("assess", "answer", "data.backups", *conf)
    eq(r.returncode, 2, "missing value")
    q = {x["key"]: x["answer"] for x in _assess(h, gw)["questionnaire"]}
    eq(q["data.backups"], "offsite", "refused answers changed nothing")

    eq(h.cli("assess", "--json", "--html", h.path("r.html"), *conf).returncode, 2, "both")
    eq(h.cli("assess", "--window", "0", *conf).returncode, 2, "window 0")
    eq(h.cli("assess", "--lang", "fr", *conf).returncode, 2, "lang fr")
    eq(h.cli("assess", "--bogus", *conf).returncode, 2, "unknown option")

    # an unwritable report path: clear error, no run kept, an older report left whole
    blocker = h.path("afile")
    open(blocker, "w").write("x")
    r = h.cli("assess", "--save", "--html", os.path.join(blocker, "r.html"), *conf)
    eq(r.returncode, 1, "unwritable path")
    check("cannot write" in r.stderr and "r.html" in r.stderr, r.stderr)
    r = h.cli("assess", "history", "--json", *conf)
    eq(json.loads(r.stdout), [], "nothing kept after the failure")
    good = h.path("ok.html")
    eq(h.cli("assess", "--html", good, *conf).returncode, 0, "a first report")
    before = open(good, "rb").read()
    os.chmod(h.dir, 0o500)
    try:
        r = h.cli("assess", "--html", good, *conf)
    finally:
        os.chmod(h.dir, 0o700)
    if r.returncode != 0:  # root ignores the mode: then the report is simply rewritten
        check("cannot write" in r.stderr, r.stderr)
        eq(open(good, "rb").read(), before, "the older report is left whole")
    check(not [f for f in os.listdir(h.dir) if ".tmp" in f], "no temporary file left")
