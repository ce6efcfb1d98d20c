"""Driver of bench/ldap/run.sh: one ztgate with a local slapd (tests/integ/slapd.py: LDAPS, test
CA, memberof) as an `ldap_directories` entry, LDAP_USERS directory users and as many local users;
wrk (bench/signin.lua) posts valid sign-ins for one kind of user at a time. Prints one
"RESULT kind okps p50 p99 ok other errors" line per kind for run.sh."""
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(REPO, "tests", "integ"))
import harness  # noqa: E402
import slapd  # noqa: E402

HOST = "bench.test"


class Box:
    """What slapd.Slapd needs from a test harness: a temp dir and a list of processes."""

    def __init__(self, d):
        self.dir = d
        self.procs = []


def csrf_pair(port):
    req = urllib.request.Request("http://127.0.0.1:%d/.ztgate/login" % port, headers={"Host": HOST})
    with urllib.request.urlopen(req, timeout=10) as r:
        body = r.read().decode()
        cookie = ""
        for v in r.headers.get_all("Set-Cookie") or []:
            m = re.match(r"ztgate_csrf=([^;]+)", v)
            if m:
                cookie = m.group(1)
    token = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    return cookie, token


def wrk(args, creds, port, secs, warmup):
    env = dict(os.environ, SIGNIN_CREDS=creds, SIGNIN_HOST=HOST)
    lua = os.path.join(REPO, "bench", "signin.lua")
    url = "http://127.0.0.1:%d/.ztgate/login" % port
    base = ["wrk", "-t%d" % args["threads"], "-c%d" % args["conns"], "--timeout", "30s", "-s", lua]
    subprocess.run(base + ["-d%s" % warmup, url], env=env, capture_output=True)
    r = subprocess.run(base + ["-d%s" % secs, "--latency", url], env=env, capture_output=True,
                       text=True)
    m = re.search(r"^ZTBENCH .*$", r.stdout, re.M)
    if not m:
        return None
    f = dict(kv.split("=") for kv in m.group(0).split()[1:])
    errs = sum(int(f[k]) for k in ("connect", "read", "write", "timeout"))
    return (float(f["okps"]), int(f["p50"]) / 1000, int(f["p99"]) / 1000, int(f["ok"]),
            int(f["other"]), errs)


def main():
    build, n_users, secs, warmup = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
    args = {"threads": int(os.environ.get("LDAP_THREADS", "2")),
            "conns": int(os.environ.get("LDAP_CONNS", "8"))}
    mem = os.environ.get("LDAP_ARGON2_MEMORY", "64MiB")
    passes = os.environ.get("LDAP_ARGON2_PASSES", "3")
    work = tempfile.mkdtemp(prefix="ztgate-ldap-bench-")
    box = Box(work)
    gw = None
    try:
        users = {"u%d" % i: ("ldap%d@bench.test" % i, "利用者 %d" % i, "ldap-pass-%d" % i, None)
                 for i in range(n_users)}
        groups = {"bench-all": ("全員", [("uid", u) for u in users])}
        d = slapd.Slapd(box, users=users, groups=groups)
        pwfile = os.path.join(work, "svc.pw")
        with open(pwfile, "w") as f:
            f.write(d.svc_pw + "\n")
        os.chmod(pwfile, 0o600)
        port = harness.free_port()
        cfg = os.path.join(work, "ztgate.yaml")
        with open(cfg, "w") as f:
            f.write("""state_dir: %(w)s/state
gateway:
  listen:
    - address: "127.0.0.1:%(port)d"
  workers: %(workers)s
log:
  access: "off"
  error: %(w)s/error.log
  level: warn
audit:
  path: "off"
auth:
  mfa: optional
  argon2_memory: %(mem)s
  argon2_passes: %(passes)s
apps:
  - name: bench
    host: %(host)s
    upstream: "http://127.0.0.1:9"
    sensitivity: internal
ldap_directories:
  - name: bench
    url: %(url)s
    ca_file: %(ca)s
    bind_dn: %(bind)s
    bind_password_file: %(pw)s
    base_dn: ou=people,%(suffix)s
    group_base_dn: ou=groups,%(suffix)s
    domains: [bench.test]
    sync_interval: 0s
""" % {"w": work, "port": port, "workers": os.environ.get("LDAP_WORKERS", "2"), "mem": mem,
                "passes": passes, "host": HOST, "url": d.ldaps_url, "ca": d.ca, "bind": d.svc_dn,
                "pw": pwfile, "suffix": d.suffix})
        for i in range(n_users):
            r = subprocess.run([os.path.join(build, "ztgate"), "user", "add",
                                "local%d@local.test" % i, "--password-stdin", "--config", cfg],
                               input="local-pass-%d\n" % i, capture_output=True, text=True)
            if r.returncode != 0:
                print("NOTE user add failed: " + r.stderr.strip())
                return 1
        gw = subprocess.Popen([os.path.join(build, "ztgate"), "serve", "--config", cfg],
                              stdout=open(os.path.join(work, "ztgate.out"), "wb"),
                              stderr=subprocess.STDOUT, start_new_session=True)
        if not harness.wait_until(lambda: harness.port_open(port), 20):
            print("NOTE ztgate did not start")
            return 1
        for kind, fmt, pfmt in (("ldap", "ldap%d@bench.test", "ldap-pass-%d"),
                                ("local", "local%d@local.test", "local-pass-%d")):
            creds = os.path.join(work, kind + ".tsv")
            with open(creds, "w") as f:
                for i in range(n_users):
                    c, t = csrf_pair(port)
                    f.write("%s\t%s\t%s\t%s\n" % (fmt % i, pfmt % i, c, t))
            res = wrk(args, creds, port, secs, warmup)
            if res is None:
                print("NOTE wrk failed for %s" % kind)
                continue
            print("RESULT %s %.1f %.1f %.1f %d %d %d" % ((kind,) + res))
        return 0
    finally:
        if gw is not None:
            os.killpg(gw.pid, signal.SIGTERM)
            try:
                gw.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(gw.pid, signal.SIGKILL)
        for p in box.procs:
            p.stop()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
