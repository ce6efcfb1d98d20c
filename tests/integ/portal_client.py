"""A browser-like client for the sign-in portal under /.ztgate/, shared by the portal and identity
tests: a cookie jar over the harness's raw client, RFC 6238 TOTP, and the sign-in, enrolment and
MFA steps. signed_in_browser() creates a user with the real CLI and signs it in completely.
"""
import base64
import hashlib
import hmac
import re
import struct
import time
import urllib.parse

from harness import APP_HOST, check, eq, get

EMAIL = "alice@example.test"
PASSWORD = "correct horse battery staple"
FORM = ("Content-Type", "application/x-www-form-urlencoded")


def totp(secret_b32, at=None, step_offset=0):
    """RFC 6238 (HMAC-SHA-1, 6 digits, 30 s)."""
    key = base64.b32decode(secret_b32 + "=" * (-len(secret_b32) % 8))
    counter = int((at or time.time()) // 30) + step_offset
    mac = hmac.new(key, struct.pack(">Q", counter), hashlib.sha1).digest()
    off = mac[-1] & 0x0F
    code = (struct.unpack(">I", mac[off:off + 4])[0] & 0x7FFFFFFF) % 1000000
    return "%06d" % code


class Browser:
    """A cookie jar over the harness's raw client (no redirects followed). One jar per Host:
    cookies are host-only, so a browser for another host is another Browser. tls=True talks
    HTTPS to `port` (certificate not checked)."""

    def __init__(self, port, host=APP_HOST, lang=None, tls=False):
        self.port = port
        self.host = host
        self.cookies = {}
        self.lang = lang
        self.tls = tls
        self.set_cookies = []  # every Set-Cookie header value received, in order

    def _headers(self, extra=()):
        hs = list(extra)
        if self.cookies:
            hs.append(("Cookie", "; ".join("%s=%s" % kv for kv in self.cookies.items())))
        if self.lang:
            hs.append(("Accept-Language", self.lang))
        return hs

    def _keep(self, r):
        for n, v in r.headers:
            if n.lower() != "set-cookie":
                continue
            self.set_cookies.append(v)
            pair = v.split(";", 1)[0]
            name, _, value = pair.partition("=")
            if re.search(r"(?i)max-age=0\b", v) or value == "":
                self.cookies.pop(name, None)
            else:
                self.cookies[name] = value
        return r

    def get(self, path, headers=()):
        return self._keep(get(self.port, path, host=self.host, headers=self._headers(headers),
                              tls=self.tls))

    def post(self, path, fields, headers=(FORM,), raw=None):
        body = raw if raw is not None else urllib.parse.urlencode(fields).encode()
        return self._keep(get(self.port, path, host=self.host, method="POST", body=body,
                              headers=self._headers(headers), tls=self.tls))

    def csrf(self, path):
        r = self.get(path)
        eq(r.status, 200, "GET %s" % path)
        m = re.search(rb'name="csrf_token" value="([^"]+)"', r.body)
        check(m, "no csrf_token in %s" % path)
        return m.group(1).decode(), r

    def logout(self):
        tok, _ = self.csrf("/.ztgate/logout")
        return self.post("/.ztgate/logout", {"csrf_token": tok})


def session_cookie(b):
    return {k: v for k, v in b.cookies.items() if "ztgate_session" in k}


def add_user(h, gw, email=EMAIL, password=PASSWORD, groups=()):
    """`ztgate user add` against the gateway's config; groups are created first when missing."""
    for g in groups:
        r = h.cli("group", "add", g, "--config", gw.config_path)
        check(r.returncode == 0 or "exist" in (r.stdout + r.stderr),
              "group add %s (%s)" % (g, r.stdout + r.stderr))
    args = ["user", "add", email, "--password-stdin", "--config", gw.config_path]
    for g in groups:
        args += ["--group", g]
    r = h.cli(*args, input=password + "\n")
    eq(r.returncode, 0, "user add (%s)" % (r.stdout + r.stderr))


def sign_in(b, email=EMAIL, password=PASSWORD, rd=None):
    tok, _ = b.csrf("/.ztgate/login" + ("?rd=" + urllib.parse.quote(rd, safe="") if rd else ""))
    fields = {"username": email, "password": password, "csrf_token": tok}
    if rd is not None:
        fields["rd"] = rd
    return b.post("/.ztgate/login", fields)


def enrol(b):
    """On /.ztgate/totp with a pending session: returns (secret, recovery codes, response)."""
    r = b.get("/.ztgate/totp")
    eq(r.status, 200, "enrolment page")
    check(b"<svg" in r.body, "QR code on the enrolment page")
    check(b"otpauth://totp/" in r.body, "otpauth URI on the enrolment page")
    secret = re.search(rb'class="mono"><strong>([A-Z2-7 ]+)</strong>', r.body).group(1)
    secret = secret.decode().replace(" ", "")
    tok = re.search(rb'name="csrf_token" value="([^"]+)"', r.body).group(1).decode()
    sealed = re.search(rb'name="enrol" value="([^"]+)"', r.body).group(1).decode()
    step = _fresh_step(secret)
    r = b.post("/.ztgate/totp", {"csrf_token": tok, "enrol": sealed,
                                 "code": totp(secret, at=step * 30)})
    eq(r.status, 200, "enrolment confirmed")
    codes = re.findall(rb"<li>([0-9a-z]{4}-[0-9a-z]{4}-[0-9a-z]{4})</li>", r.body)
    eq(len(codes), 10, "recovery codes shown")
    return secret, [c.decode() for c in codes], r


_used_steps = {}  # TOTP secret -> time steps this process has spent (a code works once)


def _fresh_step(secret):
    """This or the next 30 s time step (the gateway accepts one step of drift), whichever this
    process has not used yet for `secret`; None when both are spent. Marks it used."""
    now = int(time.time() // 30)
    used = _used_steps.setdefault(secret, set())
    for step in (now, now + 1):
        if step not in used:
            used.add(step)
            return step
    return None


def mfa(b, code):
    tok, _ = b.csrf("/.ztgate/mfa")
    return b.post("/.ztgate/mfa", {"csrf_token": tok, "code": code})


def complete_sign_in(b, email=EMAIL, password=PASSWORD, secret=None, codes=None, rd=None):
    """Password, then whatever second factor the portal asks for: enrolment (sets b.secret and
    b.recovery_codes) or a TOTP code for b.secret / `secret`, falling back to the first of
    `codes` (a recovery code, removed from that list) when the current time step was used
    already. Returns the last response."""
    r = sign_in(b, email, password, rd=rd)
    eq(r.status, 303, "password accepted for %s" % email)
    loc = r.header("Location", "")
    if loc.startswith("/.ztgate/totp"):
        b.secret, b.recovery_codes, r = enrol(b)
    elif loc.startswith("/.ztgate/mfa"):
        b.secret = secret or getattr(b, "secret", None)
        # The caller's list itself: a code used here is gone for the next sign-in too.
        b.recovery_codes = codes if codes is not None else getattr(b, "recovery_codes", [])
        check(b.secret, "MFA asked for but no TOTP secret known")
        r = None
        step = _fresh_step(b.secret)
        if step is not None:
            r = mfa(b, totp(b.secret, at=step * 30))
        if (r is None or r.status != 303) and b.recovery_codes:
            r = mfa(b, b.recovery_codes.pop(0))  # both usable time steps are spent
        check(r is not None, "no unused TOTP step and no recovery code left")
        eq(r.status, 303, "second factor accepted")
    check(session_cookie(b), "a session cookie after signing in as %s" % email)
    return r


def signed_in_browser(h, gw, email=EMAIL, password=PASSWORD, groups=(), port=None,
                      host=APP_HOST, tls=False, create=True):
    """Creates the user with the CLI (with `groups`, created when missing) and returns a Browser
    for `host` that has completed sign-in there, TOTP enrolment included when required. The
    browser keeps .secret and .recovery_codes when it enrolled."""
    if create:
        add_user(h, gw, email, password, groups)
    if port is None:
        port = gw.tls_port if tls else gw.port
    b = Browser(port, host=host, tls=tls)
    b.secret, b.recovery_codes = None, []
    complete_sign_in(b, email, password)
    return b


def csrf_from(port, ip, path="/.ztgate/login", host=APP_HOST):
    """The CSRF cookie and token a visitor at source address `ip` gets from the sign-in page:
    (cookie value, token). On plain HTTP the cookie is bound to the client address, so a client
    posting from 127.0.0.x must fetch its own."""
    import http.client
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30, source_address=(ip, 0))
    try:
        c.request("GET", path, headers={"Host": host})
        r = c.getresponse()
        body = r.read()
        cookie = None
        for n, v in r.getheaders():
            if n.lower() == "set-cookie" and v.startswith("ztgate_csrf="):
                cookie = v.split(";", 1)[0].partition("=")[2]
    finally:
        c.close()
    m = re.search(rb'name="csrf_token" value="([^"]+)"', body)
    check(cookie and m, "CSRF cookie and token from %s (%d)" % (ip, r.status))
    return cookie, m.group(1).decode()
