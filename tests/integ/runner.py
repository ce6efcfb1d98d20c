"""Runs the integration tests: every test_* function of every tests/integ/test_*.py, in file
and definition order, each with a fresh Harness. Prints one line per test and finally exactly
"N passed, M failed"; exits 1 when any failed.

    runner.py BUILD_DIR [SUBSTRING...]   (only tests whose "file.function" contains a substring)
Environment: ZT_INTEG_KEEP=1 keeps the temp dirs of failed tests; ZT_INTEG_PG_DSN runs every
gateway on PostgreSQL there (a schema per test; tests marked harness.sqlite_only are skipped).
"""
import importlib
import inspect
import os
import signal
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


def discover(filters):
    tests = []
    for fname in sorted(os.listdir(HERE)):
        if not (fname.startswith("test_") and fname.endswith(".py")):
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


def main(argv):
    if len(argv) < 2:
        print("usage: runner.py BUILD_DIR [SUBSTRING...]", file=sys.stderr)
        return 2
    build = argv[1]
    ztgate = os.path.join(build, "ztgate")
    if not os.access(ztgate, os.X_OK):
        print("integ: %s not found; build it first (make)" % ztgate, file=sys.stderr)
        print("0 passed, 1 failed")
        return 1
    signal.signal(signal.SIGALRM, _on_alarm)
    # A SIGTERM to the runner still stops every server through the atexit hook.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    tests = discover(argv[2:])
    sanitized = " (sanitizer build: time limits x3)" if harness.is_sanitized(ztgate) else ""
    print("integ: %d tests against %s%s, store %s" % (len(tests), ztgate, sanitized,
                                                       harness.store_name()), flush=True)
    counts = {"PASS": 0, "FAIL": 0, "SKIP": 0}
    for full, fn in tests:
        counts[run_one(build, full, fn)] += 1
    if counts["SKIP"]:
        print("%d skipped" % counts["SKIP"])
    print("store: %s" % harness.store_name())
    print("%d passed, %d failed" % (counts["PASS"], counts["FAIL"]))
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
