"""`check-config` OK must mean `serve` starts (issue 10, finding 3). For every top-level section:
written, left out, written empty (`auth: {}` / `policies: []`) and written with nothing under it
(`auth:`). Each variant is checked by `ztgate check-config`, then started with `ztgate serve` in
a directory of its own; the two verdicts must agree, and a gateway that starts must answer on its
listener (and on the admin listener when one is configured). gateway and apps are required:
check-config must refuse those variants, and serve must refuse to start too."""
import os
import subprocess

from harness import Proc, check, eq, free_port, get, port_open, wait_until

REQUIRED = ("gateway", "apps")


def _sections(h, d, up, port, admin_port):
    """The written form of each top-level section, in file order."""
    return [
        ("state_dir", "state_dir: %s" % os.path.join(d, "state")),
        ("gateway", "gateway:\n  listen:\n    - address: 127.0.0.1:%d\n  workers: 1\n"
                    "  timeouts: {drain: 2s}" % port),
        ("log", "log: {level: info, access: %s}" % os.path.join(d, "access.log")),
        ("admin", "admin: {listen: 127.0.0.1:%d}" % admin_port),
        ("audit", "audit: {path: %s, on_audit_failure: fail_closed}"
                  % os.path.join(d, "audit", "audit.log")),
        ("auth", "auth: {argon2_memory: 19MiB, argon2_passes: 2, mfa: optional}"),
        ("devices", "devices: {posture_max_age: 1h}"),
        ("risk", "risk: {impossible_travel_kmh: 1000}"),
        ("apps", "apps:\n  - {name: web, host: app.test, sensitivity: public, upstream: \"%s\"}"
                 % up.url),
        ("locations", "locations:\n  - {name: office, cidrs: [10.0.0.0/8]}"),
        ("policies", "policies:\n  - name: watch\n    state: report_only\n"
                     "    users: {include: [all]}\n    apps: {include: [all]}\n"
                     "    grant: {block: true}"),
        ("incidents", "incidents: {correlation_window: 30m}"),
        ("playbooks", "playbooks:\n  - name: contain\n    on: {types: [malware]}\n"
                      "    actions: [revoke_sessions, open_incident]"),
        # Beside the config, not in the state dir: the state_dir matrix moves that.
        ("scim", "scim: {token_file: %s}" % os.path.join(d, "scim.token")),
    ]


LISTS = ("apps", "locations", "policies", "playbooks")


def _variants(name):
    """written; absent; empty: `auth: {}` or `policies: []`; null: `auth:` with nothing."""
    if name == "state_dir":
        return ("written", "absent")  # a scalar: it has no empty form that means anything
    return ("written", "absent", "empty", "null")


def _text(sections, name, variant):
    """The config with section `name` (or every optional section, for name "*") as `variant`."""
    out = []
    for n, written in sections:
        chosen = n == name or (name == "*" and n not in REQUIRED and n != "state_dir")
        if not chosen or variant == "written":
            out.append(written)
        elif variant == "empty":
            out.append("%s: %s" % (n, "[]" if n in LISTS else "{}"))
        elif variant == "null":
            out.append("%s:" % n)
    return "\n".join(out) + "\n"


def _check_config(h, path, cwd):
    r = subprocess.run([h.ztgate, "check-config", path], capture_output=True, text=True,
                       timeout=60, cwd=cwd, stdin=subprocess.DEVNULL)
    return r.returncode == 0, (r.stdout + r.stderr).strip()


def _serve(h, path, cwd, tag, port, admin_port):
    """True when serve started and answered; False when it exited without listening."""
    p = Proc("ztgate-" + tag, [h.ztgate, "serve", "--config", path], cwd, cwd=cwd)
    h.procs.append(p)
    ports = [port] + ([admin_port] if admin_port else [])
    up = wait_until(lambda: not p.alive() or all(port_open(x) for x in ports),
                    90 if h.sanitized else 30)
    check(up, "%s: serve neither listened nor exited" % tag)
    if not p.alive():
        check("AddressSanitizer" not in p.stderr_text(), "%s: sanitizer report" % tag)
        check(p.p.returncode not in (None, 0) and p.p.returncode > 0,
              "%s: serve refused with a clean exit status, not a crash (%r)"
              % (tag, p.p.returncode))
        p.stop()
        h.procs.remove(p)
        return False, p.stderr_text()
    eq(get(port, "/", host="app.test").status, 200, "%s: the app answers" % tag)
    if admin_port:
        r = get(admin_port, "/api/v1/health", host="127.0.0.1:%d" % admin_port)
        check(r.status in (200, 401), "%s: the admin API answers (%d)" % (tag, r.status))
    eq(p.stop(), 0, "%s: serve exits 0 on SIGTERM" % tag)
    return True, p.stderr_text()


def _matrix(h, name):
    up = h.upstream()
    for variant in _variants(name):
        tag = "%s-%s" % ("all" if name == "*" else name, variant)
        d = os.path.join(h.dir, tag)
        os.makedirs(d)
        port = free_port()
        admin_port = free_port()
        sections = _sections(h, d, up, port, admin_port)
        has_admin = not (name in ("admin", "*") and variant != "written")
        path = os.path.join(d, "ztgate.yaml")
        with open(path, "w") as f:
            f.write(_text(sections, name, variant))
        ok, said = _check_config(h, path, d)
        expect_ok = variant == "written" or name not in REQUIRED
        check(ok == expect_ok, "%s: check-config %s:\n%s"
              % (tag, "refused" if not ok else "accepted", said))
        started, log = _serve(h, path, d, tag, port, admin_port if has_admin else None)
        check(started == ok, "%s: check-config %s but serve %s:\n%s"
              % (tag, "OK" if ok else "refused", "started" if started else "did not start",
                 log[-2000:]))
        if started and name in ("auth", "*"):
            check(os.path.isdir(os.path.join(d, "state", "keys")),
                  "%s: the default auth.keys_dir STATE_DIR/keys was created" % tag)


def _make(name):
    def test(h):
        _matrix(h, name)
    test.__name__ = "test_config_matrix_" + ("every_optional_section" if name == "*" else name)
    test.timeout = 120
    return test


for _name in ("state_dir", "gateway", "log", "admin", "audit", "auth", "devices", "risk", "apps",
              "locations", "policies", "incidents", "playbooks", "scim", "*"):
    globals()[_make(_name).__name__] = _make(_name)


def test_check_config_sees_what_serve_opens(h):
    """Beyond the file itself: state that serve opens at start. check-config refuses exactly
    when serve does, with a message naming the setting."""
    up = h.upstream()
    cases = [
        # (tag, prepare(d), extra config lines, expected check-config words or None for OK)
        ("nested-state-dir", lambda d: None, "state_dir: %(d)s/a/b/c/state", None),
        ("file-in-the-way", lambda d: open(os.path.join(d, "blocker"), "w").close(),
         "state_dir: %(d)s/blocker/state", "state_dir"),
        ("bad-secrets-key", lambda d: _write(os.path.join(d, "state", "secrets.key"), "short\n"),
         "state_dir: %(d)s/state", "auth.secrets_key"),
        ("keys-dir-is-a-file", lambda d: _write(os.path.join(d, "state", "keys"), "x"),
         "state_dir: %(d)s/state", "auth.keys_dir"),
        ("log-in-missing-dir", lambda d: None,
         "state_dir: %(d)s/state\nlog: {access: %(d)s/no/such/dir/access.log}", "log.access"),
        ("log-under-state-dir", lambda d: None,
         "state_dir: %(d)s/state\nlog: {error: %(d)s/state/error.log}", None),
        ("breach-corpus-bad", lambda d: _write(os.path.join(d, "pwned.txt"), "not a corpus\n"),
         "state_dir: %(d)s/state\nauth: {breached_passwords: %(d)s/pwned.txt}",
         "auth.breached_passwords"),
        # Found by fuzz_config_start: the notifier refused its URL only at start.
        ("bad-notify-url", lambda d: None,
         "state_dir: %(d)s/state\nincidents: {notify: {url: \"http://127.0.0.o1:o/k9h\"}}",
         "incidents.notify"),
        # Found by fuzz_config_start: a file path whose last component is "." (or empty) names
        # a directory; serve failed to create it as a file.
        ("self-signed-key-dir", lambda d: None,
         "state_dir: %%(d)s/state\nadmin: {listen: 127.0.0.1:%d, tls: {cert: %%(d)s/state/a.crt, "
         "key: %%(d)s/state/a.key/./, self_signed: true}}" % free_port(), "tls.key"),
        ("self-signed-pair-nested", lambda d: None,
         "state_dir: %%(d)s/state\nadmin: {listen: 127.0.0.1:%d, tls: {cert: %%(d)s/state/a, "
         "key: %%(d)s/state/a/k, self_signed: true}}" % free_port(), "in each other's way"),
        ("self-signed-fine", lambda d: None,
         "state_dir: %%(d)s/state\nadmin: {listen: 127.0.0.1:%d, tls: {cert: %%(d)s/state/t/a.crt, "
         "key: %%(d)s/state/t/a.key, self_signed: true}}" % free_port(), None),
    ]
    for tag, prepare, extra, refusal in cases:
        d = os.path.join(h.dir, tag)
        os.makedirs(d)
        prepare(d)
        port = free_port()
        path = os.path.join(d, "ztgate.yaml")
        with open(path, "w") as f:
            f.write("gateway:\n  listen:\n    - address: 127.0.0.1:%d\n  workers: 1\n"
                    "audit: {path: \"off\"}\n%s\n"
                    "apps:\n  - {name: web, host: app.test, sensitivity: public, "
                    "upstream: \"%s\"}\n" % (port, extra % {"d": d}, up.url))
        ok, said = _check_config(h, path, d)
        if refusal is None:
            check(ok, "%s: check-config refused:\n%s" % (tag, said))
        else:
            check(not ok and refusal in said,
                  "%s: check-config should refuse naming %s:\n%s" % (tag, refusal, said))
        started, log = _serve(h, path, d, tag, port, None)
        check(started == ok, "%s: check-config %s but serve %s:\n%s"
              % (tag, "OK" if ok else "refused", "started" if started else "did not start",
                 log[-2000:]))


def _write(path, text):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)
