#!/usr/bin/env python3
"""Revocation propagation across gateways sharing one PostgreSQL (bench/cluster/run.sh).

usage: revoke_rounds.py ZTGATE CONFIG_A HOST EMAIL PASSWORD ROUNDS CAP_S PORT_A PORT_B [PORT...]

Each round: sign EMAIL in on the first gateway (the portal form), use the cookie once on every
other gateway (so each has the session cached), revoke with `ztgate user revoke-sessions` against
CONFIG_A, then poll every other gateway with the cookie over a kept-alive connection until it is
no longer let through (anything but 200), up to CAP_S seconds. The latency is from the moment
the CLI exited (its transaction committed) to the first refused answer on that gateway.
Prints one line per round and a summary line:
  ZTREVOKE rounds=N samples=M p50_ms=… p99_ms=… max_ms=… missed=K cli_p50_ms=…
"""
import http.client
import re
import subprocess
import sys
import time
import urllib.parse


def request(conn, method, path, host, headers=None, body=None):
    h = {"Host": host}
    h.update(headers or {})
    conn.request(method, path, body=body, headers=h)
    r = conn.getresponse()
    data = r.read()
    return r.status, r.getheaders(), data


def cookie(headers, name):
    for k, v in headers:
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v.split(";", 1)[0].split("=", 1)[1]
    return ""


def sign_in(port, host, email, password):
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    _, hs, body = request(c, "GET", "/.ztgate/login", host)
    csrf = cookie(hs, "ztgate_csrf")
    token = re.search(rb'name="csrf_token" value="([^"]+)"', body).group(1).decode()
    form = urllib.parse.urlencode({"username": email, "password": password, "csrf_token": token})
    status, hs, _ = request(c, "POST", "/.ztgate/login", host,
                            {"Cookie": "ztgate_csrf=" + csrf,
                             "Content-Type": "application/x-www-form-urlencoded"}, form)
    c.close()
    session = cookie(hs, "ztgate_session")
    if status != 303 or not session:
        raise SystemExit("sign-in on port %d failed (status %d)" % (port, status))
    return session


def pct(values, p):
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100.0 * (len(s) - 1))))]


def main():
    ztgate, config_a, host, email, password = sys.argv[1:6]
    rounds, cap_s = int(sys.argv[6]), float(sys.argv[7])
    ports = [int(p) for p in sys.argv[8:]]
    others = ports[1:]
    lat, cli_ms, missed = [], [], 0
    for rnd in range(1, rounds + 1):
        session = sign_in(ports[0], host, email, password)
        auth = {"Cookie": "ztgate_session=" + session}
        conns = {p: http.client.HTTPConnection("127.0.0.1", p, timeout=10) for p in others}
        for p in others:
            status, _, _ = request(conns[p], "GET", "/1k.html", host, auth)
            if status != 200:
                raise SystemExit("round %d: the session is not accepted on port %d (%d) before "
                                 "the revocation" % (rnd, p, status))
        t_cli = time.monotonic()
        r = subprocess.run([ztgate, "user", "revoke-sessions", email, "--config", config_a],
                           capture_output=True, text=True, timeout=60)
        t0 = time.monotonic()
        if r.returncode != 0:
            raise SystemExit("revoke-sessions failed: " + r.stderr.strip())
        cli_ms.append((t0 - t_cli) * 1000)
        pending = set(others)
        seen = {}
        while pending and time.monotonic() - t0 < cap_s:
            for p in list(pending):
                status, _, _ = request(conns[p], "GET", "/1k.html", host, auth)
                if status != 200:
                    seen[p] = (time.monotonic() - t0) * 1000
                    pending.discard(p)
        for p in others:
            if p in seen:
                lat.append(seen[p])
            else:
                missed += 1
        print("round %d: %s; cli %.0f ms" % (rnd, ", ".join(
            "port %d %s" % (p, "%.1f ms" % seen[p] if p in seen else "NOT refused in %.0f s" % cap_s)
            for p in others), cli_ms[-1]), flush=True)
        for c in conns.values():
            c.close()
    print("ZTREVOKE rounds=%d samples=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f missed=%d "
          "cli_p50_ms=%.0f" % (rounds, len(lat), pct(lat, 50), pct(lat, 99),
                               max(lat) if lat else float("nan"), missed, pct(cli_ms, 50)))


if __name__ == "__main__":
    main()
