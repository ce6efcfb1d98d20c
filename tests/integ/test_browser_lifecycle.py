"""An expired guest in Chromium (docs/LIFECYCLE.md): signed in and at the app, then the account
expires; the next page sends the person to sign in, and the right password ends on the one
failure notice a wrong password gets, in English and in Japanese (nothing more is said than
for a disabled account). Extended, the guest signs in again."""
from browser import Chromium, check_japanese, msg
from harness import check, eq, timeout
from portal_client import add_user

GUEST = "guest@example.test"
PASSWORD = "correct horse battery staple"


def _expired_page(tab, shot, password):
    p = tab.submit(shot, username=GUEST, password=password)
    return p, tab.texts(".notice.error"), tab.value("input[name=username]")


@timeout(120)
def test_browser_expired_guest(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "argon2_memory": "19MiB",
                                            "argon2_passes": 2}}))
    add_user(h, gw, GUEST, PASSWORD)
    r = h.cli("user", "set", GUEST, "--expires", "2099-03-31", "--sponsor", "sam@example.test",
              "--config", gw.config_path)
    eq(r.returncode, 0, "user set: " + r.stdout + r.stderr)
    chromium = Chromium(h)
    base = "http://app.test:%d" % gw.port
    tab = chromium.context("en")
    tab.goto(base + "/hello", "sign-in")
    p = tab.submit("signed-in", username=GUEST, password=PASSWORD)
    eq((p.status, p.url), (200, base + "/hello"), "the guest reaches the app")

    r = h.cli("user", "set", GUEST, "--expires", "2020-01-01", "--config", gw.config_path)
    eq(r.returncode, 0, "user set --expires in the past: " + r.stdout + r.stderr)
    p = tab.goto(base + "/hello", "expired-next-page")
    eq((p.status, p.h1), (200, msg("PM_TITLE_SIGN_IN")), "sent to sign in")
    check("/.ztgate/login" in p.url, p.url)
    right, right_notice, kept = _expired_page(tab, "expired-right-password", PASSWORD)
    wrong, wrong_notice, _ = _expired_page(tab, "expired-wrong-password", "not it at all 123")
    eq((right.status, right.h1), (wrong.status, wrong.h1), "the same page")
    eq(right_notice, [msg("PM_ERR_SIGN_IN")], "the one failure notice")
    eq(right_notice, wrong_notice, "right and wrong password read the same")
    eq(kept, GUEST, "the e-mail is kept, as for any failure")
    eq([x for x in up.paths() if x == "/hello"], ["/hello"],
       "only the signed-in visit reached the app")

    ja = chromium.context("ja", locale="ja-JP")
    p = ja.goto(base + "/hello", "ja-sign-in")
    check_japanese(p, "PM_TITLE_SIGN_IN", "the Japanese sign-in page")
    p = ja.submit("ja-expired", username=GUEST, password=PASSWORD)
    check_japanese(p, "PM_TITLE_SIGN_IN", "the Japanese failure page")
    eq(ja.texts(".notice.error"), [msg("PM_ERR_SIGN_IN", "ja")], "the notice in Japanese")

    r = h.cli("user", "set", GUEST, "--expires", "never", "--config", gw.config_path)
    eq(r.returncode, 0, "extended: " + r.stdout + r.stderr)
    p = tab.submit("extended", username=GUEST, password=PASSWORD)
    eq((p.status, p.url), (200, base + "/hello"), "signed in again after the extension")


@timeout(180)
def test_browser_expired_passkey_japanese(h):
    """A Japanese person with a passkey on a laptop: the account expires; the passkey button
    says, in Japanese, that the account has expired and whom to ask (after the key proved its
    holder, as a disabled account's key is told it is disabled), and nothing is reached."""
    from test_browser_passkey import OWNER, PLATFORM, _passkey_sign_in, _register_and_sign_in
    gw, up, base, chromium, tab, auth_id = _register_and_sign_in(h, "ja-JP", "ja", PLATFORM,
                                                                  "ノートPC")
    r = h.cli("user", "set", OWNER, "--expires", "2020-01-01", "--config", gw.config_path)
    eq(r.returncode, 0, "user set --expires in the past: " + r.stdout + r.stderr)
    p = tab.goto(base + "/after-expiry", "expired-next-page")
    check("/.ztgate/login" in p.url, "the session ended with the expiry: %s" % p.url)
    tab.goto(base + "/.ztgate/login?rd=%2Fexpired", "expired-login")
    p = tab.click_alert(".passkey[data-passkey=login] button", "expired-passkey")
    eq(p.alert, msg("WA_ACCOUNT_EXPIRED", "ja"), "the refusal, in Japanese")
    check_japanese(p, "PM_TITLE_SIGN_IN", "the sign-in page after the refusal (ja)")
    check("/expired" not in up.paths() and "/after-expiry" not in up.paths(),
          "nothing reached after the expiry")
