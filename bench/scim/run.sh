#!/bin/bash
# SCIM creates per second through the real gateway (issue 14 item 7): POST /scim/v2/Users alone,
# and the pair Entra ID sends for each new user (a userName filter that finds nothing, then the
# POST). Audit log on, as in production: each create writes its call record and the account
# service's user.create record before it is answered.
#   usage: bench/scim/run.sh [BUILD_DIR]     knobs: SCIM_DURATION (s, 10), SCIM_CLIENTS (4),
#                                                   SCIM_WORKERS (2)
set -euo pipefail

build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
if [ ! -x "$build/ztgate" ]; then
    echo "SCIM bench: $build/ztgate not found; build it first (make)" >&2
    exit 1
fi
build=$(cd "$build" && pwd)
SECS=${SCIM_DURATION:-10}
CLIENTS=${SCIM_CLIENTS:-4}
WORKERS=${SCIM_WORKERS:-2}
OUT=${BENCH_OUT:-$build/bench}/scim
mkdir -p "$OUT"
command -v python3 >/dev/null 2>&1 || { echo "SCIM bench: skipped: python3 is missing" | tee "$OUT/results.txt"; exit 0; }

work=$(mktemp -d "${TMPDIR:-/tmp}/ztgate-scim-bench.XXXXXX")
pid=""
cleanup() {
    if [ -n "$pid" ]; then
        kill -TERM "$pid" 2>/dev/null || true
        for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
admin=$(free_port)
cat >"$work/ztgate.yaml" <<YAML
state_dir: $work/state
gateway:
  listen:
    - address: "127.0.0.1:$port"
  workers: $WORKERS
log:
  access: "off"
  error: $work/error.log
  level: warn
admin:
  listen: "127.0.0.1:$admin"
scim:
  token_file: $work/state/scim.token
apps:
  - name: app
    host: app.test
    upstream: http://127.0.0.1:9
    sensitivity: internal
YAML
"$build/ztgate" serve --config "$work/ztgate.yaml" &
pid=$!
for _ in $(seq 100); do [ -s "$work/state/scim.token" ] && break; sleep 0.1; done
python3 - "$admin" <<'PY'
import socket, sys, time
for _ in range(100):
    try:
        socket.create_connection(("127.0.0.1", int(sys.argv[1])), 0.2).close(); break
    except OSError:
        time.sleep(0.1)
PY
python3 "$here/creates.py" "$admin" "$work/state/scim.token" "$SECS" "$CLIENTS" | tee "$OUT/results.txt"
