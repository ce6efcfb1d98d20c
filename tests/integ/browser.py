"""Real-browser tests: Debian's Chromium driven by npm playwright-core (tests/browser/driver.mjs)
from the integration harness. A test does what a person does (open a page, type, press the
button) and reads what the page shows; every page it sees is saved as a PNG under
BUILD_DIR/browser-shots/TEST/.

Set-up comes from scripts/setup.sh (the chromium and fonts-noto-cjk packages, `npm ci` in
tests/browser). When something is missing the test is skipped with the reason, except under CI
(CI=true), where a missing browser is a failure: the suite must never pass by not running.
"""
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import time

from harness import Skip, _live_procs, check, eq

HERE = os.path.dirname(os.path.abspath(__file__))
DRIVER_DIR = os.path.join(os.path.dirname(HERE), "browser")
SRC_DIR = os.path.dirname(os.path.dirname(HERE))
CHROMIUM = "/usr/bin/chromium"
_CATALOGUE = {}


def _missing(what):
    msg = "browser suite: %s (run scripts/setup.sh)" % what
    if os.environ.get("CI") == "true":
        raise AssertionError(msg)
    raise Skip(msg)


def _ensure_setup():
    if not os.access(CHROMIUM, os.X_OK):
        _missing("%s not installed (Debian package chromium)" % CHROMIUM)
    if shutil.which("node") is None:
        _missing("node not installed")
    if not os.path.exists(os.path.join(DRIVER_DIR, "node_modules", "playwright-core",
                                       "package.json")):
        if shutil.which("npm") is None:
            _missing("npm not installed")
        res = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                             cwd=DRIVER_DIR, capture_output=True, text=True, timeout=240)
        if res.returncode != 0:
            _missing("npm ci in tests/browser failed: %s" % res.stderr.strip()[-400:])


def spki_sha256(cert_path):
    """base64(SHA-256(SubjectPublicKeyInfo DER)) of a PEM certificate, as Chromium's
    --ignore-certificate-errors-spki-list wants it."""
    pub = subprocess.run(["openssl", "x509", "-in", cert_path, "-noout", "-pubkey"],
                         check=True, capture_output=True).stdout
    der = subprocess.run(["openssl", "pkey", "-pubin", "-outform", "DER"], input=pub,
                         check=True, capture_output=True).stdout
    return base64.b64encode(hashlib.sha256(der).digest()).decode()


def make_cert(h, hosts, name="browser-tls"):
    """A self-signed P-256 certificate for every name in hosts: (cert, key, spki)."""
    cert, key = h.path(name + ".crt"), h.path(name + ".key")
    san = ",".join("DNS:" + x for x in hosts)
    subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                    "ec_paramgen_curve:P-256", "-nodes", "-days", "2", "-keyout", key,
                    "-out", cert, "-subj", "/CN=" + hosts[0], "-addext",
                    "subjectAltName=" + san], check=True, capture_output=True)
    return cert, key, spki_sha256(cert)


def _c_strings(text):
    """The value of adjacent C string literals ("a" "b" -> "ab"); only \\ and \" escapes."""
    parts = re.findall(r'"((?:[^"\\]|\\.)*)"', text)
    return "".join(re.sub(r"\\(.)", r"\1", x) for x in parts)


def catalogue():
    """{id: (english, japanese)} of every message in the one catalogue, src/core/i18n.h: the
    pages' texts come from there, so a Japanese page can be checked against all English ones."""
    if not _CATALOGUE:
        src = ""
        core = os.path.join(SRC_DIR, "src", "core")
        # i18n.h and the message groups it includes (i18n_admin.h, i18n_console.h, ...).
        for name in ["i18n.h"] + sorted(n for n in os.listdir(core)
                                        if n.startswith("i18n_") and n.endswith(".h")):
            with open(os.path.join(core, name), encoding="utf-8") as f:
                src += re.sub(r"/\*.*?\*/", "", f.read(), flags=re.S) + "\n"
        src = re.sub(r"\\\n", "\n", src)
        lit = r'(?:\s*"(?:[^"\\]|\\.)*")+'
        for m in re.finditer(r"X\(\s*(\w+)\s*,(%s)\s*,(%s)\s*\)" % (lit, lit), src):
            _CATALOGUE[m.group(1)] = (_c_strings(m.group(2)), _c_strings(m.group(3)))
        check(len(_CATALOGUE) > 100, "read the catalogue: %d messages" % len(_CATALOGUE))
    return _CATALOGUE


def msg(msg_id, lang="en"):
    return catalogue()[msg_id][0 if lang == "en" else 1]


def check_japanese(page, title_id, what):
    """A page a Japanese browser got: in Japanese, titled for its outcome (document title and
    heading are the catalogue's Japanese text of title_id), and without any English text of
    the catalogue (compared without surrounding spaces; a few words shorter than 4 letters
    would match inside other words and are left out)."""
    want = msg(title_id, "ja")
    eq((page.lang, page.title, page.h1), ("ja", want, want),
       "%s: a Japanese page titled for the outcome (%s)" % (what, msg(title_id)))
    shown = page.title + "\n" + page.text
    left = sorted({en.strip() for en, ja in catalogue().values()
                   if len(en.strip()) >= 4 and en.strip() != ja.strip()
                   and en.strip() in shown})
    check(not left, "%s: English catalogue text on the Japanese page: %r\n%s"
          % (what, left, page.text[:800]))


class BrowserError(AssertionError):
    pass


class _DriverProc:
    """The node driver (and the Chromium it starts) as one of the harness's processes: stopped
    after the test even when it fails. Closing stdin makes the driver close Chromium and exit;
    SIGTERM makes playwright close it too."""

    def __init__(self, h, argv):
        self.name = "chromium-driver"
        self.err_path = h.path("chromium-driver.stderr")
        self._err = open(self.err_path, "wb")
        self.p = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                  stderr=self._err, cwd=DRIVER_DIR, start_new_session=True)
        self.pid = self.p.pid
        self.exit_problem = None
        self.killed_on_purpose = False
        _live_procs.append(self)
        h.procs.append(self)

    def stderr_text(self):
        try:
            with open(self.err_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except FileNotFoundError:
            return ""

    def stdout_text(self):
        return ""

    def stop(self, grace_s=8.0):
        if self.p.poll() is None:
            try:
                self.p.stdin.close()
            except OSError:
                pass
            try:
                self.p.wait(timeout=grace_s)
            except subprocess.TimeoutExpired:
                self.exit_problem = "did not exit within %.0fs of closing stdin; killed" % grace_s
                try:
                    os.killpg(self.pid, 9)
                except ProcessLookupError:
                    pass
                self.p.wait()
        self._err.close()
        if self in _live_procs:
            _live_procs.remove(self)
        return 0


class Page(dict):
    """What one navigation showed: status, url, title, h1, lang, text."""

    def __getattr__(self, name):
        try:
            return self[name]
        except KeyError:
            raise AttributeError(name)


class Chromium:
    """One headless Chromium for a test. Contexts are separate browsers (cookie jars): a person
    on another computer, or in another language."""

    def __init__(self, h, spki=(), name=None):
        _ensure_setup()
        self.h = h
        test = (name or h.test_name).replace("test_browser_", "").replace(".", "-")
        self.shots = os.path.join(h.build_dir, "browser-shots", test)
        shutil.rmtree(self.shots, ignore_errors=True)
        opts = {"executable": CHROMIUM, "shots": self.shots, "spki": list(spki)}
        self.proc = _DriverProc(h, ["node", os.path.join(DRIVER_DIR, "driver.mjs"),
                                    json.dumps(opts)])
        hello = self._read()
        check(hello.get("ready"), "chromium driver did not start: %r" % hello)
        self.version = hello.get("version")

    def _read(self):
        line = self.proc.p.stdout.readline()
        if not line:
            raise BrowserError("chromium driver exited:\n" + self.proc.stderr_text()[-3000:])
        return json.loads(line)

    def cmd(self, op, **kw):
        t0 = time.monotonic()
        try:
            return self._cmd(op, **kw)
        finally:
            if os.environ.get("ZT_BROWSER_TRACE"):
                print("    browser %s %s %.2fs" % (op, kw.get("url") or kw.get("name") or "",
                                                    time.monotonic() - t0), flush=True)

    def _cmd(self, op, **kw):
        kw["op"] = op
        self.proc.p.stdin.write((json.dumps(kw) + "\n").encode())
        self.proc.p.stdin.flush()
        ans = self._read()
        if not ans.pop("ok"):
            raise BrowserError("browser %s %r failed: %s" % (op, kw, ans.get("error")))
        return ans

    def context(self, name="main", locale="en-US", viewport=None):
        """viewport: (width, height) in CSS pixels, e.g. (768, 1024) for a tablet held upright;
        the default is a small laptop window (900 x 700)."""
        kw = {"viewport": {"width": viewport[0], "height": viewport[1]}} if viewport else {}
        self.cmd("context", ctx=name, locale=locale, **kw)
        return Tab(self, name)


class Tab:
    """One browser context with its page. Every navigation is screenshotted, under `shot` (a
    short name of the step) when given, so a person can look at every page the test saw."""

    def __init__(self, chromium, name):
        self.c = chromium
        self.name = name
        self.page = None

    def _nav(self, op, shot, **kw):
        """Every page the test sees is kept as a screenshot, named by the step when the test
        gives a name (the driver numbers them in order)."""
        self.page = Page(self.c.cmd(op, ctx=self.name, **kw))
        self.screenshot(shot or "unnamed-" + op)
        return self.page

    def goto(self, url, shot):
        return self._nav("goto", shot, url=url)

    def submit(self, shot, button=None, **fields):
        kw = {"fields": fields}
        if button:
            kw["button"] = button
        return self._nav("submit", shot, **kw)

    def click(self, selector, shot):
        return self._nav("click", shot, selector=selector)

    def screenshot(self, name):
        return self.c.cmd("screenshot", ctx=self.name, name="%s-%s" % (self.name, name))["path"]

    def html(self):
        return self.c.cmd("html", ctx=self.name)["html"]

    def attr(self, selector, name):
        return self.c.cmd("attr", ctx=self.name, selector=selector, name=name)["values"]

    def texts(self, selector):
        return self.c.cmd("texts", ctx=self.name, selector=selector)["values"]

    def value(self, selector):
        return self.c.cmd("value", ctx=self.name, selector=selector)["value"]

    def cookies(self):
        return self.c.cmd("cookies", ctx=self.name)["cookies"]

    def posts(self):
        return self.c.cmd("posts", ctx=self.name)["posts"]

    def goto_and_wait_post(self, url, target):
        return self.c.cmd("gotoAndWaitPost", ctx=self.name, url=url, target=target)

    def cdp(self, method, **params):
        """A Chrome DevTools Protocol command on this context's page (e.g. WebAuthn.*)."""
        return self.c.cmd("cdp", ctx=self.name, method=method, params=params)["result"]

    def evaluate(self, expr):
        """The JSON value of a JavaScript expression in the page (a promise is awaited)."""
        return self.c.cmd("evaluate", ctx=self.name, expr=expr)["value"]

    def click_alert(self, selector, shot, timeout_ms=20000):
        """Click a button that does not navigate and wait for the page's role=alert text;
        the page (with .alert) is screenshotted."""
        self.page = Page(self.c.cmd("clickAlert", ctx=self.name, selector=selector,
                                    timeout=timeout_ms))
        self.screenshot(shot)
        return self.page

    def click_outcome(self, selector, shot, timeout_ms=20000):
        """Click a passkey button: .navigated (the ceremony passed, the page moved on) or
        .alert (the text the page shows when refused)."""
        self.page = Page(self.c.cmd("clickOutcome", ctx=self.name, selector=selector,
                                    timeout=timeout_ms))
        self.screenshot(shot)
        return self.page

    def visible(self, selector):
        return self.c.cmd("visible", ctx=self.name, selector=selector)["values"]

    def axe(self):
        """axe-core's WCAG 2.1 A/AA and best-practice violations on the current page: a list of
        {id, impact, help, nodes}."""
        return self.c.cmd("axe", ctx=self.name)["violations"]

    def check_accessible(self, what):
        """No serious or critical axe-core violation on the current page (minor and moderate
        ones are printed, not failed: axe ranks them as annoyances, not barriers)."""
        found = self.axe()
        for v in found:
            if v["impact"] not in ("serious", "critical"):
                print("axe (%s) on %s: %s %s" % (v["impact"], what, v["id"], v["nodes"][:3]))
        bad = [v for v in found if v["impact"] in ("serious", "critical")]
        check(not bad, "%s: accessibility violations (axe-core): %s" % (
            what, "; ".join("%s [%s] %s at %s" % (v["id"], v["impact"], v["help"], v["nodes"][:3])
                            for v in bad)))

    def close(self):
        self.c.cmd("close", ctx=self.name)
