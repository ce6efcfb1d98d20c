"""LDAP / Active Directory (docs/LDAP.md) against a real slapd the tests start (slapd.py): sign-in
by search then bind over LDAPS and StartTLS with the certificate verified, just-in-time users with
nested groups, filter injection, empty passwords, the directory going away (sessions go on, new
sign-ins fail closed with their own page in English and Japanese), and the scheduled sync
(users, groups, disabled accounts with their sessions ended)."""
import json
import os
import socket
import subprocess

import slapd
from harness import APP_HOST, Skip, check, eq, get, port_open, wait_until
from harness import free_port as harness_free_port
from harness import yaml_dump as harness_yaml
from portal_client import Browser, add_user, session_cookie, sign_in

BASE_AUTH = {"argon2_passes": 2, "argon2_memory": "19MiB", "mfa": "optional"}


def directory_cfg(h, d, url=None, ca=None, **kw):
    pw = h.path("ldap-svc.pw")
    with open(pw, "w") as f:
        f.write(d.svc_pw + "\n")
    os.chmod(pw, 0o600)
    c = {"name": "corp", "url": url or d.ldaps_url, "ca_file": ca or d.ca,
         "bind_dn": d.svc_dn, "bind_password_file": pw,
         "base_dn": "ou=people," + d.suffix, "group_base_dn": "ou=groups," + d.suffix,
         "disabled_attribute": "employeeType", "disabled_value": "disabled",
         "domains": ["example.test"], "timeout": "2s", "sync_interval": "0s"}
    c.update(kw)
    return c


def gateway(h, dirs):
    up = h.upstream()
    app = h.app(up, sensitivity="internal")
    gw = h.gateway(h.config([app], extra={"auth": dict(BASE_AUTH), "ldap_directories": dirs}))
    return gw, up


def user_json(h, gw, email):
    r = h.cli("user", "show", email, "--json", "--config", gw.config_path)
    if r.returncode != 0:
        return None
    return json.loads(r.stdout)


def groups_of(h, gw, email):
    u = user_json(h, gw, email) or {}
    return sorted(u.get("groups", []))


def need_slapd():
    if not slapd.available():
        raise Skip("slapd not installed (scripts/setup.sh)")


# ---------------------------------------------------------------------------------------------

def test_ldap_sign_in_creates_user_with_nested_groups(h):
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d)])
    b = Browser(gw.port)
    r = sign_in(b, "taro@example.test", "taro-pass-1")
    eq(r.status, 303, "directory password accepted")
    check(session_cookie(b), "a session after the bind")
    eq(b.get("/").status, 200, "the app behind the gateway")
    u = user_json(h, gw, "taro@example.test")
    check(u is not None, "the user was created at the first sign-in")
    eq(u.get("name"), "山田 太郎", "display name from the directory")
    # grade1 directly; teachers contains grade1; staff-all contains teachers
    eq(groups_of(h, gw, "taro@example.test"), ["grade1", "staff-all", "teachers"], "groups")
    # a second sign-in finds the same user (by entryUUID), no duplicate
    b2 = Browser(gw.port)
    eq(sign_in(b2, "taro@example.test", "taro-pass-1").status, 303, "second sign-in")
    r = h.cli("user", "list", "--json", "--config", gw.config_path)
    emails = [x["email"] for x in json.loads(r.stdout)]
    eq(emails.count("taro@example.test"), 1, "one user for the entry")
    # Sync at sign-in (no scheduled sync here): taro leaves grade1, and so teachers and
    # staff-all, at the next sign-in.
    d.remove_member("grade1", slapd.user_dn("taro"))
    eq(groups_of(h, gw, "taro@example.test"), ["grade1", "staff-all", "teachers"], "not yet")
    eq(sign_in(Browser(gw.port), "taro@example.test", "taro-pass-1").status, 303, "third")
    eq(groups_of(h, gw, "taro@example.test"), [], "groups updated at sign-in")


def test_ldap_wrong_empty_and_injected_passwords_refused(h):
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d)])
    cases = [("taro@example.test", "wrong-password"),
             ("taro@example.test", ""),                 # unauthenticated bind: refused before
             ("*@example.test", "taro-pass-1"),         # wildcard in the filter
             ("*)(mail=taro@example.test", "taro-pass-1"),
             ("taro@example.test)(|(mail=*", "taro-pass-1"),
             ("nobody@example.test", "x")]
    for email, pw in cases:
        b = Browser(gw.port)
        r = sign_in(b, email, pw)
        eq(r.status, 200, "refused: %r" % email)
        check(not session_cookie(b), "no session for %r" % email)
    check(user_json(h, gw, "taro@example.test") is None, "nobody was created")
    # The entry whose mail holds a filter metacharacter signs in as itself, escaped (RFC 4515).
    b = Browser(gw.port)
    eq(sign_in(b, "evil*star@example.test", "evil-pass-4").status, 303, "escaped mail")
    check(user_json(h, gw, "evil*star@example.test") is not None, "that entry, not another")
    check(user_json(h, gw, "taro@example.test") is None, "no one else")


def test_ldap_disabled_in_directory_refused(h):
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d)])
    b = Browser(gw.port)
    eq(sign_in(b, "jiro@example.test", "jiro-pass-3").status, 200, "disabled entry refused")
    check(not session_cookie(b), "no session")
    check(user_json(h, gw, "jiro@example.test") is None, "a disabled entry is not brought in")


def test_ldap_starttls_and_certificate_verified(h):
    need_slapd()
    d = slapd.Slapd(h)
    good = directory_cfg(h, d, url=d.ldap_url)                       # StartTLS, right CA
    bad = directory_cfg(h, d, name="other", ca=d.other_ca, domains=["other.test"])
    gw, up = gateway(h, [good, bad])
    b = Browser(gw.port)
    eq(sign_in(b, "hanako@example.test", "hanako-pass-2").status, 303, "StartTLS bind")
    # A directory whose certificate does not chain to the configured CA: no bind at all.
    d.add("dn: uid=ken,ou=people,%s\nobjectClass: inetOrgPerson\nuid: ken\ncn: Ken\nsn: K\n"
          "mail: ken@other.test\nuserPassword: ken-pass-5\n" % d.suffix)
    b = Browser(gw.port)
    r = sign_in(b, "ken@other.test", "ken-pass-5")
    eq(r.status, 503, "untrusted certificate: fail closed")
    check("Directory unavailable" in r.body.decode(), "the directory page")


def test_ldap_certificate_host_name_checked(h):
    """The right CA but an address the certificate does not name (127.0.0.2): refused."""
    need_slapd()
    d = slapd.Slapd(h)
    check(port_open(d.wrong_name_port, "127.0.0.2"), "slapd listens there too")
    # ldapsearch with the same CA connects there only when told not to check the name
    env = dict(os.environ, LDAPTLS_CACERT=d.ca, LDAPTLS_REQCERT="never")
    r = subprocess.run(["ldapsearch", "-x", "-H", d.wrong_name_url, "-D", d.svc_dn, "-w",
                        d.svc_pw, "-b", d.suffix, "-s", "base"], capture_output=True, env=env)
    eq(r.returncode, 0, "the server answers there")
    gw, up = gateway(h, [directory_cfg(h, d, url=d.wrong_name_url)])
    r = sign_in(Browser(gw.port), "taro@example.test", "taro-pass-1")
    eq(r.status, 503, "host name not in the certificate: fail closed")


def test_ldap_unreachable_sessions_go_on_new_sign_ins_fail_closed(h):
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d)])
    b = Browser(gw.port)
    eq(sign_in(b, "taro@example.test", "taro-pass-1").status, 303, "signed in")
    d.stop()
    eq(b.get("/").status, 200, "the existing session goes on without the directory")
    b2 = Browser(gw.port)
    r = sign_in(b2, "taro@example.test", "taro-pass-1")
    eq(r.status, 503, "new directory sign-in fails closed")
    body = r.body.decode()
    check("Directory unavailable" in body and "already signed in" in body, "English page")
    check(not session_cookie(b2), "no session")
    b3 = Browser(gw.port, lang="ja")
    r = sign_in(b3, "hanako@example.test", "hanako-pass-2")
    eq(r.status, 503, "Japanese too")
    check("ディレクトリに接続できません" in r.body.decode(), "Japanese page")
    d.start()
    b4 = Browser(gw.port)
    eq(sign_in(b4, "taro@example.test", "taro-pass-1").status, 303, "back when it is back")


def test_ldap_sync_users_groups_and_disabled(h):
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d, sync_interval="1s")])
    ok = wait_until(lambda: user_json(h, gw, "hanako@example.test") is not None, 20)
    check(ok, "the scheduled sync brought the users in")
    eq(groups_of(h, gw, "hanako@example.test"), ["grade1", "staff-all", "teachers"],
       "hanako's groups (direct teachers, and through grade1)")
    check(user_json(h, gw, "jiro@example.test") is None, "disabled entries are not created")
    b = Browser(gw.port)
    eq(sign_in(b, "hanako@example.test", "hanako-pass-2").status, 303, "signed in")
    eq(b.get("/").status, 200, "session works")
    # Membership change in the directory: hanako leaves teachers (still in it through grade1),
    # taro leaves grade1 (and so teachers and staff-all).
    d.remove_member("grade1", slapd.user_dn("taro"))
    ok = wait_until(lambda: groups_of(h, gw, "taro@example.test") == [], 20)
    check(ok, "taro's groups follow the directory: %r" % groups_of(h, gw, "taro@example.test"))
    # An admin's own membership stays through syncs.
    r = h.cli("group", "add", "local-extra", "--config", gw.config_path)
    eq(r.returncode, 0, "group add")
    r = h.cli("group", "member-add", "local-extra", "taro@example.test", "--config",
              gw.config_path)
    eq(r.returncode, 0, "member-add")
    # Disabled in the directory: disabled here and the session ended within a sync.
    d.set_disabled("hanako")
    ok = wait_until(lambda: (user_json(h, gw, "hanako@example.test") or {}).get("status") == "disabled",
                    20)
    check(ok, "disabled by the sync")
    ok = wait_until(lambda: b.get("/").status != 200, 10)
    check(ok, "the session was revoked")
    eq(groups_of(h, gw, "taro@example.test"), ["local-extra"], "the admin's membership stayed")
    # An entry removed from the directory: its user is disabled (not deleted).
    check(user_json(h, gw, "evil*star@example.test") is not None, "evil was synced")
    d.delete(slapd.user_dn("evil"))
    ok = wait_until(lambda: (user_json(h, gw, "evil*star@example.test") or {}).get("status") ==
                    "disabled", 20)
    check(ok, "a user the directory no longer lists is disabled")
    # Enabled again in the directory: enabled again here (the directory had disabled it).
    d.set_disabled("hanako", False)
    ok = wait_until(lambda: (user_json(h, gw, "hanako@example.test") or {}).get("status") ==
                    "active", 20)
    check(ok, "enabled by the sync")
    b = Browser(gw.port)
    eq(sign_in(b, "hanako@example.test", "hanako-pass-2").status, 303, "signs in again")
    # The directory goes away: the syncs that cannot read it change nothing.
    d.stop()
    ok = wait_until(lambda: gw.stderr_text().count("sync skipped") >= 2, 20)
    check(ok, "two syncs skipped")
    eq((user_json(h, gw, "hanako@example.test") or {}).get("status"), "active", "still active")
    eq(b.get("/").status, 200, "her session goes on")


def test_ldap_silent_directory_times_out(h):
    """A directory that accepts connections and never says a word (TLS never starts): the
    sign-in ends at the configured timeout with the directory page, it does not hang."""
    need_slapd()
    d = slapd.Slapd(h, start=False)  # only its CA and password file are used
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)  # connections complete in the kernel; nobody reads or writes
    try:
        port = silent.getsockname()[1]
        c = directory_cfg(h, d, url="ldaps://127.0.0.1:%d" % port, timeout="1s")
        c2 = directory_cfg(h, d, name="starttls", url="ldap://127.0.0.1:%d" % port,
                           timeout="1s", domains=["other.test"])
        gw, up = gateway(h, [c, c2])
        for email in ("taro@example.test", "ken@other.test"):  # LDAPS, then StartTLS
            b = Browser(gw.port)
            r = sign_in(b, email, "some-password")
            eq(r.status, 503, "fail closed after the timeout (%s)" % email)
            check("Directory unavailable" in r.body.decode(), "the directory page")
        # the gateway still answers other requests
        eq(get(gw.port, "/.ztgate/login", host=APP_HOST).status, 200, "portal still up")
    finally:
        silent.close()


def test_ldap_ad_user_account_control(h):
    """`kind: ad` reads userAccountControl (bit 2: disabled) and objectGUID: emulated on slapd
    with AD's attribute definitions (tests/integ/slapd.py AD_SCHEMA). Sync path only: slapd has
    no in-chain matching rule for the sign-in's group lookup."""
    need_slapd()
    d = slapd.Slapd(h, ad_schema=True)
    for uid, uac, guid in (("adok", 512, "AAECAwQFBgcICQoLDA0ODw=="),
                           ("adoff", 514, "EBESExQVFhcYGRobHB0eHw==")):
        d.add("dn: uid=%s,ou=people,%s\nobjectClass: inetOrgPerson\nobjectClass: ztAdUser\n"
              "uid: %s\ncn: %s\nsn: %s\nmail: %s@example.test\nuserPassword: %s-pass\n"
              "userAccountControl: %d\nobjectGUID:: %s\n"
              % (uid, d.suffix, uid, uid, uid, uid, uid, uac, guid))
    d.add_member("nurses", "uid=adok,ou=people," + d.suffix)
    c = directory_cfg(h, d, kind="ad", sync_interval="1s", user_filter="(objectClass=ztAdUser)",
                      group_filter="(objectClass=groupOfNames)")
    del c["disabled_attribute"], c["disabled_value"]
    gw, up = gateway(h, [c])
    ok = wait_until(lambda: user_json(h, gw, "adok@example.test") is not None, 20)
    check(ok, "the AD-shaped user was synced")
    eq(groups_of(h, gw, "adok@example.test"), ["nurses"], "groups from member values")
    check(user_json(h, gw, "adoff@example.test") is None, "userAccountControl 514: not created")
    d.modify("dn: uid=adok,ou=people,%s\nchangetype: modify\nreplace: userAccountControl\n"
             "userAccountControl: 514\n" % d.suffix)
    ok = wait_until(lambda: (user_json(h, gw, "adok@example.test") or {}).get("status") ==
                    "disabled", 20)
    check(ok, "ACCOUNTDISABLE in the directory disables the user here")


def test_ldap_cli_check_and_sync(h):
    """`ztgate ldap check NAME` reads without changing anything; `ztgate ldap sync` applies."""
    need_slapd()
    d = slapd.Slapd(h)
    good = directory_cfg(h, d)
    bad = directory_cfg(h, d, name="other", ca=d.other_ca, domains=["other.test"])
    gw, up = gateway(h, [good, bad])
    r = h.cli("ldap", "check", "corp", "--config", gw.config_path)
    eq(r.returncode, 0, "check (%s)" % r.stderr)
    check("4 users (1 disabled" in r.stdout, "counts: %r" % r.stdout)
    check(user_json(h, gw, "taro@example.test") is None, "check changes nothing")
    r = h.cli("ldap", "check", "other", "--config", gw.config_path)
    eq(r.returncode, 1, "a certificate from another CA: check fails")
    r = h.cli("ldap", "check", "nope", "--config", gw.config_path)
    eq(r.returncode, 1, "unknown directory")
    r = h.cli("ldap", "sync", "corp", "--config", gw.config_path)
    eq(r.returncode, 0, "sync (%s)" % r.stderr)
    check("3 created" in r.stdout, "3 users created (jiro is disabled): %r" % r.stdout)
    eq(groups_of(h, gw, "hanako@example.test"), ["grade1", "staff-all", "teachers"], "groups")
    r = h.cli("ldap", "sync", "corp", "--config", gw.config_path)
    check("0 created" in r.stdout and "3 unchanged" in r.stdout, "idempotent: %r" % r.stdout)


def test_ldap_long_japanese_name_cut_at_a_character(h):
    """A display name longer than ztgate keeps (128 bytes) is cut between characters, not in
    the middle of one (which the store would refuse, and the sign-in with it)."""
    need_slapd()
    d = slapd.Slapd(h)
    long_name = "寿限無" * 20  # 180 bytes of UTF-8
    d.add("dn: uid=jugemu,ou=people,%s\nobjectClass: inetOrgPerson\nuid: jugemu\ncn: %s\n"
          "sn: 寿\ndisplayName: %s\nmail: jugemu@example.test\nuserPassword: jugemu-pass\n"
          % (d.suffix, long_name, long_name))
    gw, up = gateway(h, [directory_cfg(h, d)])
    eq(sign_in(Browser(gw.port), "jugemu@example.test", "jugemu-pass").status, 303, "signed in")
    name = (user_json(h, gw, "jugemu@example.test") or {}).get("name", "")
    eq(name, long_name[:42], "cut to 42 characters (126 bytes)")


def test_ldap_never_takes_over_a_local_account(h):
    """A local account whose e-mail a directory entry also has stays local: signed in with its
    own password only, not synced, not disabled, its groups untouched."""
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d)])
    add_user(h, gw, "hanako@example.test", "local-password-123")
    b = Browser(gw.port)
    eq(sign_in(b, "hanako@example.test", "hanako-pass-2").status, 200, "directory pw refused")
    r = h.cli("ldap", "sync", "corp", "--config", gw.config_path)
    eq(r.returncode, 1, "the entry that collides is reported as failed")
    check("2 created" in r.stdout and "1 failed" in r.stdout, "counts: %r" % r.stdout)
    eq(groups_of(h, gw, "hanako@example.test"), [], "no directory groups on the local account")
    d.set_disabled("hanako")
    h.cli("ldap", "sync", "corp", "--config", gw.config_path)
    eq((user_json(h, gw, "hanako@example.test") or {}).get("status"), "active", "not disabled")
    b = Browser(gw.port)
    eq(sign_in(b, "hanako@example.test", "local-password-123").status, 303, "local pw works")


def test_ldap_paged_read_of_many_users(h):
    """1200 users: more than one page (500) and more than slapd's default total size limit (the
    harness grants the service account unlimited paged results, as docs/LDAP.md says)."""
    need_slapd()
    users = {"u%d" % i: ("u%d@example.test" % i, "生徒 %d" % i, "pw-%d" % i, None)
             for i in range(1200)}
    d = slapd.Slapd(h, users=users, groups={"g": ("G", [("uid", "u1199")])})
    gw, up = gateway(h, [directory_cfg(h, d)])
    r = h.cli("ldap", "check", "corp", "--config", gw.config_path)
    eq(r.returncode, 0, "check (%s)" % r.stderr)
    check("1200 users (0 disabled, 1 in at least one group)" in r.stdout, r.stdout)


def test_ldap_password_change_page_points_to_the_directory(h):
    """A directory user's password is the directory's: the portal's password page says so (en,
    ja) and changes nothing."""
    need_slapd()
    d = slapd.Slapd(h)
    gw, up = gateway(h, [directory_cfg(h, d)])
    b = Browser(gw.port)
    eq(sign_in(b, "taro@example.test", "taro-pass-1").status, 303, "signed in")
    r = b.get("/.ztgate/password")
    eq(r.status, 200, "password page")
    check("directory password" in r.body.decode(), "it says where to change it")
    tok, _ = b.csrf("/.ztgate/password")
    r = b.post("/.ztgate/password", {"csrf_token": tok, "current_password": "taro-pass-1",
                                     "new_password": "a-new-password-123",
                                     "confirm_password": "a-new-password-123"})
    eq(r.status, 200, "refused with the page")
    check("directory password" in r.body.decode(), "the notice again")
    eq((user_json(h, gw, "taro@example.test") or {}).get("password_set"), False, "no local pw")
    b.lang = "ja"
    check("ディレクトリのパスワード" in b.get("/.ztgate/password").body.decode(), "Japanese")
    eq(sign_in(Browser(gw.port), "taro@example.test", "taro-pass-1").status, 303, "same pw")


def test_ldap_check_config_reads_the_password_file(h):
    """check-config says serve would not start when a service password file is empty."""
    need_slapd()
    d = slapd.Slapd(h, start=False)
    c = directory_cfg(h, d)
    with open(c["bind_password_file"], "w") as f:
        f.write("\n")
    cfg = h.config([h.app("http://127.0.0.1:9")], extra={"ldap_directories": [c]})
    path = h.path("check.yaml")
    with open(path, "w") as f:
        f.write(harness_yaml(cfg))
    r = h.cli("check-config", path)
    eq(r.returncode, 1, "refused")
    check("is empty: the service account needs a password" in r.stderr, r.stderr)


def test_ldap_second_server_when_the_first_refuses(h):
    """url with two servers: the first refuses connections (nothing listens), the second
    answers."""
    need_slapd()
    d = slapd.Slapd(h)
    closed = harness_free_port()
    c = directory_cfg(h, d, url="ldaps://127.0.0.1:%d %s" % (closed, d.ldaps_url))
    gw, up = gateway(h, [c])
    eq(sign_in(Browser(gw.port), "taro@example.test", "taro-pass-1").status, 303, "fail-over")
