"""Runs the integration tests: every test_* function of every tests/integ/test_*.py, in file
and definition order, each with a fresh Harness. Prints one line per test and finally exactly
"N passed, M failed"; exits 1 when any failed.

    runner.py BUILD_DIR [-j N] [SUBSTRING...]   (only tests whose "file.function" contains a
                                                 substring)
With -j N (default: ZT_INTEG_JOBS, else one more than the number of cores) N files run at once, each in its own
worker process; a file's output is printed whole when it ends, and the files that took longest
last time (BUILD_DIR/integ-times.json) start first. -j 1 runs everything in this process.
Environment: ZT_INTEG_KEEP=1 keeps the temp dirs of failed tests; ZT_INTEG_PG_DSN runs every
gateway on PostgreSQL there (a schema per test; tests marked harness.sqlite_only are skipped).
"""
import importlib
import inspect
import json
import os
import selectors
import signal
import subprocess
import sys
import time
import traceback

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import harness  # noqa: E402


class TestTimeout(Exception):
    pass


def _on_alarm(signum, frame):
    raise TestTimeout("test exceeded its time limit")


def discover(filters, modules=None):
    tests = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
            continue
        if modules is not None and fname[:-3] not in modules:
            continue
        mod = importlib.import_module(fname[:-3])
        fns = [f for n, f in inspect.getmembers(mod, inspect.isfunction)
               if n.startswith("test_") and f.__module__ == mod.__name__]
        fns.sort(key=lambda f: f.__code__.co_firstlineno)
        for f in fns:
            full = "%s.%s" % (mod.__name__, f.__name__)
            if not filters or any(s in full for s in filters):
                tests.append((full, f))
    return tests


def run_one(build, full, fn):
    h = harness.Harness(build, full)
    limit = getattr(fn, "timeout", 60)
    if h.sanitized:
        limit *= 3
    start = time.monotonic()
    outcome, detail = "PASS", ""
    signal.alarm(int(limit))
    try:
        if harness.pg_dsn() and getattr(fn, "sqlite_only", None):
            raise harness.Skip("SQLite only: " + fn.sqlite_only)
        fn(h)
    except harness.Skip as e:
        outcome, detail = "SKIP", str(e)
    except BaseException as e:  # noqa: B902 - report anything, including timeouts
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            signal.alarm(0)
            h.cleanup()
            h.remove_dir()
            raise
        outcome = "FAIL"
        detail = "".join(traceback.format_exception(type(e), e, e.__traceback__)).rstrip()
    finally:
        signal.alarm(0)
        problems = h.cleanup()
    if problems and outcome != "FAIL":
        outcome = "FAIL"
        detail = "after the test: " + "; ".join(problems)
    elif problems:
        detail += "\nafter the test: " + "; ".join(problems)
    elapsed = time.monotonic() - start
    line = "%s %s (%.2fs)" % (outcome, full, elapsed)
    if outcome == "SKIP":
        line += ": " + detail
    print(line, flush=True)
    if outcome == "FAIL":
        print(_indent(detail), flush=True)
        rep = h.report()
        if rep:
            print(_indent(rep), flush=True)
        if os.environ.get("ZT_INTEG_KEEP"):
            h.keep_dir = True
            print("    temp dir kept: " + h.dir, flush=True)
    h.remove_dir()
    return outcome


def _indent(text):
    return "\n".join("    " + line for line in text.splitlines())


def _run_serially(build, tests):
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for full, fn in tests:
        counts[run_one(build, full, fn)] += 1
    return counts


COUNTS_MARK = "@@integ-counts "


class _Worker:
    """One file's tests in a child runner.py; its output is kept until it ends."""

    def __init__(self, build, module, tests, slot, slots):
        env = dict(os.environ, ZT_INTEG_PORT_SLICE="%d/%d" % (slot, slots))
        names = [full for full, _ in tests]
        self.module, self.slot, self.count = module, slot, len(names)
        self.start = time.monotonic()
        self.out = bytearray()
        self.proc = subprocess.Popen(
            [sys.executable, "-u", os.path.abspath(__file__), build, "--worker"] + names,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=HERE)

    def result(self):
        """(text to print, counts) once the child has ended."""
        text = self.out.decode(errors="replace")
        for line in text.splitlines():
            if line.startswith(COUNTS_MARK):
                counts = json.loads(line[len(COUNTS_MARK):])
                shown = "\n".join(x for x in text.splitlines() if not x.startswith(COUNTS_MARK))
                return shown, counts
        # The child died before its tally (killed, or the runner itself failed): every test of
        # the file counts as failed, and what it printed is shown.
        return ("FAIL %s (worker exited %s before finishing)\n%s" % (
            self.module, self.proc.returncode, text.rstrip()),
            {"PASS": 0, "FAIL": self.count, "SKIP": 0})


def _load_times(path):
    try:
        with open(path) as f:
            times = json.load(f)
        return times if isinstance(times, dict) else {}
    except (OSError, ValueError):
        return {}


def _run_in_workers(build, tests, jobs):
    by_module = {}
    for full, fn in tests:
        by_module.setdefault(full.split(".", 1)[0], []).append((full, fn))
    times_path = os.path.join(build, "integ-times.json")
    times = _load_times(times_path)
    queue = sorted(by_module, key=lambda m: -float(times.get(m, 0)))
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    sel = selectors.DefaultSelector()
    free_slots = list(range(jobs))
    running = []
    try:
        while queue or running:
            while queue and free_slots:
                mod = queue.pop(0)
                w = _Worker(build, mod, by_module[mod], free_slots.pop(0), jobs)
                sel.register(w.proc.stdout, selectors.EVENT_READ, w)
                running.append(w)
            for key, _ in sel.select():
                w = key.data
                chunk = os.read(key.fileobj.fileno(), 65536)
                if chunk:
                    w.out += chunk
                    continue
                sel.unregister(key.fileobj)
                key.fileobj.close()
                w.proc.wait()
                running.remove(w)
                free_slots.append(w.slot)
                text, got = w.result()
                if text:
                    print(text, flush=True)
                for k in counts:
                    counts[k] += int(got.get(k, 0))
                times[w.module] = round(time.monotonic() - w.start, 2)
    finally:
        for w in running:  # interrupted: the children stop their own servers on SIGTERM
            w.proc.terminate()
        for w in running:
            w.proc.wait()
    try:
        with open(times_path + ".tmp", "w") as f:
            json.dump(times, f, indent=0, sort_keys=True)
        os.replace(times_path + ".tmp", times_path)
    except OSError:
        pass  # only an ordering hint for the next run
    return counts


def _jobs(argv):
    """(-j value or None, the remaining arguments)."""
    rest, jobs = [], None
    it = iter(argv)
    for a in it:
        if a == "-j":
            jobs = next(it, "")
        elif a.startswith("-j") and a[2:].isdigit():
            jobs = a[2:]
        else:
            rest.append(a)
    if jobs is None:
        # One more than the cores: a test spends much of its time waiting on a peer, a timer
        # or a browser, and on 2 cores 3 files at a time took the suite from 440 s to 343 s.
        jobs = os.environ.get("ZT_INTEG_JOBS") or str((os.cpu_count() or 1) + 1)
    if not jobs.isdigit() or int(jobs) < 1:
        raise SystemExit("runner.py: -j wants a positive number, got %r" % jobs)
    return int(jobs), rest


def main(argv):
    if len(argv) < 2:
        print("usage: runner.py BUILD_DIR [-j N] [SUBSTRING...]", file=sys.stderr)
        return 2
    build = argv[1]
    signal.signal(signal.SIGALRM, _on_alarm)
    # A SIGTERM to the runner still stops every server through the atexit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    if argv[2:3] == ["--worker"]:
        # A worker of a parallel run: exactly the named tests, then the tally for the parent.
        wanted = set(argv[3:])
        tests = [t for t in discover([], {n.split(".", 1)[0] for n in wanted}) if t[0] in wanted]
        counts = _run_serially(build, tests)
        print(COUNTS_MARK + json.dumps(counts), flush=True)
        return 0
    jobs, filters = _jobs(argv[2:])
    ztgate = os.path.join(build, "ztgate")
    if not os.access(ztgate, os.X_OK):
        print("integ: %s not found; build it first (make)" % ztgate, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    tests = discover(filters)
    sanitized = " (sanitizer build: time limits x3)" if harness.is_sanitized(ztgate) else ""
    files = len({full.split(".", 1)[0] for full, _ in tests})
    jobs = min(jobs, files) or 1
    print("integ: %d tests against %s%s, store %s%s" % (
        len(tests), ztgate, sanitized, harness.store_name(),
        ", %d files at a time" % jobs if jobs > 1 else ""), flush=True)
    started = time.monotonic()
    if jobs > 1:
        counts = _run_in_workers(os.path.abspath(build), tests, jobs)
    else:
        counts = _run_serially(build, tests)
    if counts["SKIP"]:
        print("%d skipped" % counts["SKIP"])
    print("store: %s; %.0f s" % (harness.store_name(), time.monotonic() - started))
    print("%d passed, %d failed" % (counts["PASS"], counts["FAIL"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
