"""Login CSRF by a cookie planter on plain HTTP (issue 10, finding 9): the CSRF cookie cannot
carry the __Host- prefix there, so someone able to plant a cookie (a sibling host, a network
position on HTTP) could choose its value, get the matching token from the gateway and sign the
victim's browser in to the planter's account. Now only cookies the gateway issued, for this
client address, are accepted."""
from harness import check, eq
from portal_client import EMAIL, PASSWORD, Browser, add_user, csrf_from, session_cookie

ATTACKER_IP = "127.0.0.5"


def _gateway(h):
    up = h.upstream()
    gw = h.gateway(h.config([h.app(up, sensitivity="internal")],
                            extra={"auth": {"mfa": "optional", "argon2_passes": 2,
                                            "argon2_memory": "19MiB"}}))
    add_user(h, gw)  # the attacker's own account
    return gw


def test_planted_csrf_cookie_is_refused(h):
    gw = _gateway(h)
    # 1. A value the planter chose: the gateway does not hand out a token for it.
    chosen = "A" * 43
    attacker = Browser(gw.port)
    attacker.cookies["ztgate_csrf"] = chosen
    tok, r = attacker.csrf("/.ztgate/login")
    check(any(v.startswith("ztgate_csrf=") and not v.startswith("ztgate_csrf=" + chosen)
              for v in attacker.set_cookies), "a chosen value is replaced by a fresh cookie")
    victim = Browser(gw.port)
    victim.cookies["ztgate_csrf"] = chosen  # planted
    r = victim.post("/.ztgate/login", {"username": EMAIL, "password": PASSWORD,
                                       "csrf_token": tok})
    eq(r.status, 403, "sign-in with a planted chosen cookie")
    check(not session_cookie(victim), "no session for the victim's browser")

    # 2. The planter's own genuine cookie and token, planted in a browser at another address.
    cookie, tok = csrf_from(gw.port, ATTACKER_IP)
    victim = Browser(gw.port)
    victim.cookies["ztgate_csrf"] = cookie
    r = victim.post("/.ztgate/login", {"username": EMAIL, "password": PASSWORD,
                                       "csrf_token": tok})
    eq(r.status, 403, "sign-in with the planter's own cookie from another address")
    check(not session_cookie(victim), "no session for the victim's browser")

    # The honest path still works: the browser's own cookie and token.
    b = Browser(gw.port)
    tok, _ = b.csrf("/.ztgate/login")
    r = b.post("/.ztgate/login", {"username": EMAIL, "password": PASSWORD, "csrf_token": tok})
    eq(r.status, 303, "own cookie and token")
