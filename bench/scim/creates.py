"""SCIM creates/s against a running ztgate (bench/scim/run.sh starts it).
Two rows, each CLIENTS keep-alive connections for SECS seconds:
  post   - POST /scim/v2/Users only
  entra  - what Entra ID sends per new user: GET /Users?filter=userName eq "..." (no match),
           then POST /Users with its usual body (enterprise extension, nulls)
usage: creates.py PORT TOKEN_FILE SECS CLIENTS"""
import http.client
import json
import sys
import threading
import time
import urllib.parse

ENT = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"


def body(n):
    return json.dumps({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENT],
        "externalId": "u%d" % n, "userName": "user%d@bench.test" % n, "active": True,
        "displayName": "User %d" % n, "name": {"givenName": "User", "familyName": str(n)},
        "emails": [{"primary": True, "type": "work", "value": "user%d@bench.test" % n}],
        "title": None, ENT: {"department": "Bench"}}).encode()


def run(port, token, secs, clients, mode, base):
    counts = [0] * clients
    errors = [0] * clients
    stop_at = time.monotonic() + secs
    hdrs = {"Authorization": "Bearer " + token, "Content-Type": "application/scim+json"}

    def worker(i):
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        n = base + i * 10_000_000
        while time.monotonic() < stop_at:
            n += 1
            try:
                if mode == "entra":
                    q = urllib.parse.urlencode({"filter": 'userName eq "user%d@bench.test"' % n})
                    c.request("GET", "/scim/v2/Users?" + q, headers=hdrs)
                    r = c.getresponse()
                    r.read()
                    if r.status != 200:
                        errors[i] += 1
                        continue
                c.request("POST", "/scim/v2/Users", body=body(n), headers=hdrs)
                r = c.getresponse()
                r.read()
                if r.status == 201:
                    counts[i] += 1
                else:
                    errors[i] += 1
            except (OSError, http.client.HTTPException):
                errors[i] += 1
                c.close()
                c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        c.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    took = time.monotonic() - t0
    return sum(counts), sum(errors), took


def main():
    port, token_file, secs, clients = (int(sys.argv[1]), sys.argv[2], float(sys.argv[3]),
                                       int(sys.argv[4]))
    token = open(token_file).read().strip()
    run(port, token, min(2.0, secs), clients, "post", base=3_000_000_000)  # warm-up, not counted
    for k, mode in enumerate(("post", "entra")):
        n, err, took = run(port, token, secs, clients, mode, base=k * 1_000_000_000)
        print("scim %-6s creates/s %8.1f  (%d users in %.1f s, %d clients, %d errors)" %
              (mode, n / took, n, took, clients, err))


if __name__ == "__main__":
    main()
