"""Revocation to close for tunnels (bench/tunnel/run.sh): serves a target on TARGET_PORT that
accepts and holds connections (the app `hold`), opens N connections to the local port of
`ztagent tunnel --listen` for it, waits until the gateway has written an Open record (OCSF 4001)
for each, runs the given revoke command and times until every connection was ended (EOF or
reset). Prints one line (reason: the reasons of the Close records, counted):
    REVOKE open=N closed=N first_ms=F p50_ms=P last_ms=L reason=TEXT

    python3 revoke_latency.py TARGET_PORT PORT N AUDIT_LOG -- REVOKE COMMAND...
"""
import json
import selectors
import socket
import subprocess
import sys
import threading
import time
from collections import Counter


def opens(audit, since=0):
    n, reasons = 0, Counter()
    try:
        with open(audit) as f:
            for line in f:
                try:
                    r = json.loads(line)
                except ValueError:
                    continue
                if r.get("class_uid") != 4001:
                    continue
                if r.get("activity_id") == 1:
                    n += 1
                elif r.get("activity_id") == 2 and n > since:
                    why = r.get("reasons") or ""
                    reasons["; ".join(map(str, why)) if isinstance(why, list) else str(why)] += 1
    except OSError:
        pass
    return n, ", ".join("%s (%d)" % kv for kv in reasons.most_common())


def hold_target(port, held):
    srv = socket.create_server(("127.0.0.1", port), backlog=1024)
    while True:
        conn, _ = srv.accept()
        held.append(conn)


def main():
    target, port, n, audit = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    cmd = sys.argv[sys.argv.index("--") + 1:]
    held = []
    threading.Thread(target=hold_target, args=(target, held), daemon=True).start()
    time.sleep(0.2)
    before, _ = opens(audit)
    socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(n)]
    deadline = time.monotonic() + 30
    while opens(audit)[0] < before + n and time.monotonic() < deadline:
        time.sleep(0.05)
    opened = opens(audit)[0] - before
    sel = selectors.DefaultSelector()
    for s in socks:
        s.setblocking(False)
        sel.register(s, selectors.EVENT_READ)
    t0 = time.monotonic()
    subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30)
    ended = []
    deadline = t0 + 30
    while sel.get_map() and time.monotonic() < deadline:
        for key, _ in sel.select(timeout=0.5):
            try:
                data = key.fileobj.recv(65536)
            except BlockingIOError:
                continue
            except ConnectionResetError:
                data = b""
            if data:
                continue  # bytes from the target (none expected): not the end yet
            ended.append((time.monotonic() - t0) * 1000)
            sel.unregister(key.fileobj)
            key.fileobj.close()
    ended.sort()
    time.sleep(0.5)  # the Close records
    reason = opens(audit, before)[1]
    if ended:
        print("REVOKE open=%d closed=%d first_ms=%.0f p50_ms=%.0f last_ms=%.0f reason=%s" %
              (opened, len(ended), ended[0], ended[len(ended) // 2], ended[-1], reason))
    else:
        print("REVOKE open=%d closed=0 reason=%s" % (opened, reason))


if __name__ == "__main__":
    main()
