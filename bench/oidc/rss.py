"""bench/oidc/rss.py PID: samples the resident memory of PID and all its descendants every
100 ms until SIGTERM, then prints "RSS pid=PID idle_kib=FIRST peak_kib=MAX samples=N"."""
import os
import signal
import sys
import time


def rss_kib(pid):
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        try:
            with open("/proc/%d/status" % p) as f:
                total += next(int(x.split()[1]) for x in f if x.startswith("VmRSS:"))
            for tid in os.listdir("/proc/%d/task" % p):
                with open("/proc/%d/task/%s/children" % (p, tid)) as f:
                    todo.extend(int(c) for c in f.read().split())
        except (OSError, StopIteration):
            pass
    return total


pid = int(sys.argv[1])
first = rss_kib(pid)
peak, n, stop = first, 1, []
signal.signal(signal.SIGTERM, lambda *_: stop.append(1))
while not stop:
    time.sleep(0.1)
    peak = max(peak, rss_kib(pid))
    n += 1
print("RSS pid=%d idle_kib=%d peak_kib=%d samples=%d" % (pid, first, peak, n), flush=True)
