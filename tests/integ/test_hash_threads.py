"""Password hashing on its own threads below the event loops (issue 11, item 7: a sign-in storm
must leave proxied traffic its CPU). The real binary, as `ps -L` sees it: `auth.hash_threads`
threads named ztgate-hash at SCHED_BATCH and nice `auth.hash_nice`, every other thread (the
event loops among them) untouched; a sign-in still completes through them; `check-config`
refuses more hashing memory than 1 GiB (hash_threads x argon2_memory)."""
import os
import subprocess

from harness import check, eq, yaml_dump
from portal_client import Browser, add_user, sign_in

SCHED_OTHER = 0
SCHED_BATCH = 3
EMAIL = "hash@example.test"
PASSWORD = "hash threads password 1"


def _threads(pid):
    """[(name, nice, policy)] of every thread of pid (fields 19 and 41 of its stat)."""
    out = []
    task = "/proc/%d/task" % pid
    for tid in os.listdir(task):
        try:
            with open(os.path.join(task, tid, "stat")) as f:
                stat = f.read()
        except FileNotFoundError:
            continue  # a thread that just ended
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3
        out.append((name, int(fields[19 - 3]), int(fields[41 - 3])))
    return out


def _gateway(h, **auth):
    up = h.upstream()
    a = {"mfa": "optional", "argon2_memory": "19MiB", "argon2_passes": 2}
    a.update(auth)
    return h.gateway(h.config([h.app(up, sensitivity="internal")], extra={"auth": a}))


def _check_priorities(gw, threads, nice):
    seen = _threads(gw.pid)
    hashers = [t for t in seen if t[0] == "ztgate-hash"]
    eq(len(hashers), threads, "hashing threads (%r)" % seen)
    for t in hashers:
        eq((t[1], t[2]), (nice, SCHED_BATCH), "hashing thread nice and policy")
    for t in seen:
        if t[0] != "ztgate-hash":
            eq((t[1], t[2]), (0, SCHED_OTHER), "thread %s keeps the default priority" % t[0])


def test_hash_threads_default(h):
    gw = _gateway(h)
    _check_priorities(gw, 1, 10)


def test_hash_threads_configured_and_sign_in(h):
    gw = _gateway(h, hash_threads=2, hash_nice=5)
    _check_priorities(gw, 2, 5)
    add_user(h, gw, EMAIL, PASSWORD)
    b = Browser(gw.port)
    r = sign_in(b, EMAIL, PASSWORD)
    eq(r.status, 303, "sign-in through the hashing threads")
    r = sign_in(Browser(gw.port), EMAIL, "not the password 1")
    eq(r.status, 200, "a wrong password is the form again")


def test_hash_memory_refused(h):
    path = os.path.join(h.dir, "heavy.yaml")
    up = h.upstream()
    cfg = h.config([h.app(up)], extra={"auth": {"hash_threads": 3, "argon2_memory": "512MiB"}})
    with open(path, "w") as f:
        f.write(yaml_dump(cfg) + "\n")
    r = subprocess.run([h.ztgate, "check-config", path], capture_output=True, text=True,
                       timeout=60, cwd=h.dir, stdin=subprocess.DEVNULL)
    check(r.returncode != 0, "check-config accepted 3 x 512 MiB of hashing memory")
    check("'hash_threads' (3) x 'argon2_memory' is above 1 GiB" in r.stdout + r.stderr,
          "the reason is given: %s" % (r.stdout + r.stderr))
